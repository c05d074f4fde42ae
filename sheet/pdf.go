package sheet

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
)

// PDF writes one A4 page per entry, with the same content as HTML. It
// embeds a CJK font found by FindCJKFont; without one it still succeeds,
// printing English texts in a Latin-1 core font and replacing any name it
// cannot print with a note that the name is on the web sheet.
func PDF(w io.Writer, entries []Entry, lang string) error {
	return WritePDF(w, entries, Options{Lang: lang})
}

// WritePDF is PDF with Options.
func WritePDF(w io.Writer, entries []Entry, opt Options) error {
	lang, err := checkLang(opt.Lang)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return ErrNoEntries
	}
	var buf bytes.Buffer
	if font := loadFont(opt); font != nil {
		err = renderPDF(&buf, entries, lang, font)
		if err == nil {
			_, err = buf.WriteTo(w)
			return err
		}
		// The font could not be used (fpdf rejected it or failed on it):
		// fall back to the core font rather than fail the sheet.
		buf.Reset()
	}
	if err := renderPDF(&buf, entries, lang, nil); err != nil {
		return err
	}
	_, err = buf.WriteTo(w)
	return err
}

const (
	cjkFamily  = "kizunacjk"
	pageW      = 210.0
	marginX    = 20.0
	contentW   = pageW - 2*marginX
	boxPadX    = 5.0
	boxPadY    = 3.5
	boxInnerW  = contentW - 2*boxPadX
	ptToMM     = 25.4 / 72
	lineFactor = 1.45
)

// renderPDF lays out the document; font nil means core fonts only.
func renderPDF(w io.Writer, entries []Entry, lang string, font []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sheet: pdf: %v", r)
		}
	}()
	f := fpdf.New("P", "mm", "A4", "")
	f.SetCompression(true)
	f.SetCellMargin(0)
	f.SetMargins(marginX, 18, marginX)
	f.SetAutoPageBreak(false, 0)
	d := &pdfDoc{f: f, cjk: font != nil}
	if d.cjk {
		f.AddUTF8FontFromBytes(cjkFamily, "", font)
		if err := f.Error(); err != nil {
			return fmt.Errorf("sheet: pdf font: %w", err)
		}
	} else {
		// Core fonts are Latin-1: print the English texts.
		lang = LangEN
	}
	d.msg = catalogue(lang)
	f.SetTitle(d.msg["title"], true)
	f.SetSubject(d.msg["title"], true)
	f.SetCreator("Kizuna", true)
	f.SetProducer("Kizuna", true)
	f.SetLang(lang)
	for i, e := range entries {
		d.page(e, i+1, len(entries))
		if err := f.Error(); err != nil {
			return fmt.Errorf("sheet: pdf: %w", err)
		}
	}
	if err := f.Output(w); err != nil {
		return fmt.Errorf("sheet: pdf: %w", err)
	}
	return nil
}

type pdfDoc struct {
	f   *fpdf.Fpdf
	cjk bool
	msg map[string]string
	// utf8Font: the current font is the embedded UTF-8 one.
	utf8Font bool
	// mono: the current font is the one for IDs, passwords and URLs.
	mono bool
}

// Colours.
var (
	colText  = [3]int{26, 29, 33}
	colMuted = [3]int{85, 93, 107}
	colRule  = [3]int{195, 200, 208}
	colFill  = [3]int{243, 244, 247}
)

func (d *pdfDoc) color(c [3]int) { d.f.SetTextColor(c[0], c[1], c[2]) }

// textFont selects the font for catalogue texts and names. Only one CJK
// style is embedded; "B" is bold with the core font only.
func (d *pdfDoc) textFont(style string, size float64) {
	d.utf8Font, d.mono = d.cjk, false
	if d.cjk {
		d.f.SetFont(cjkFamily, "", size)
		return
	}
	d.f.SetFont("Helvetica", style, size)
}

func (d *pdfDoc) monoFont(size float64) {
	d.utf8Font, d.mono = false, true
	d.f.SetFont("Courier", "B", size)
}

func lineH(size float64) float64 { return size * ptToMM * lineFactor }

// latin1 converts s to the single-byte encoding of the core fonts; ok is
// false when s has a character outside printable Latin-1.
func latin1(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return "", false
		case r < 0x20 || (r >= 0x7f && r < 0xa0) || r > 0xff:
			return "", false
		}
		b = append(b, byte(r))
	}
	return string(b), true
}

// printable reports whether the current document can print s.
func (d *pdfDoc) printable(s string) bool {
	if d.cjk {
		return utf8.ValidString(s)
	}
	_, ok := latin1(s)
	return ok
}

// enc converts a printable UTF-8 string for the current font.
func (d *pdfDoc) enc(s string) string {
	if d.utf8Font {
		return s
	}
	b, _ := latin1(s)
	return b
}

// split wraps printable UTF-8 text s at width w in the current font and
// returns the lines (still UTF-8). (fpdf's SplitText drops the character
// at a break between CJK characters, so wrapping is done here.)
func (d *pdfDoc) split(s string, w float64) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		out = append(out, d.wrap([]rune(para), w)...)
	}
	return out
}

func (d *pdfDoc) width(rs []rune) float64 {
	s := string(rs)
	if !d.utf8Font {
		s, _ = latin1(s)
	}
	return d.f.GetStringWidth(s)
}

// wrap breaks rs greedily at spaces and between CJK characters, keeping
// closing punctuation off the start of a line and opening punctuation off
// its end; a run with no break opportunity is cut where it overflows.
func (d *pdfDoc) wrap(rs []rune, w float64) []string {
	if len(rs) == 0 {
		return []string{""}
	}
	var lines []string
	start := 0
	for start < len(rs) {
		end, lastBreak := start+1, -1
		for end < len(rs) && d.width(rs[start:end+1]) <= w {
			end++
			if end < len(rs) && d.canBreak(rs, end) {
				lastBreak = end
			}
		}
		if end < len(rs) && lastBreak > start && rs[end] != ' ' && !d.canBreak(rs, end) {
			end = lastBreak
		}
		lines = append(lines, strings.TrimRight(string(rs[start:end]), " "))
		start = end
		for start < len(rs) && rs[start] == ' ' {
			start++
		}
	}
	return lines
}

// canBreak reports whether a line may break before rs[i]. IDs and URLs
// never break after a hyphen, which would read as a hyphenation.
func (d *pdfDoc) canBreak(rs []rune, i int) bool {
	prev, next := rs[i-1], rs[i]
	if next == ' ' {
		return false
	}
	after := "/-"
	if d.mono {
		after = "/?&@."
	}
	if prev == ' ' || strings.ContainsRune(after, prev) {
		return true
	}
	if !isWide(prev) && !isWide(next) {
		return false
	}
	return !strings.ContainsRune(noLineStart, next) && !strings.ContainsRune(noLineEnd, prev)
}

const (
	noLineStart = "、。,.,.)]}」』】〕〉》)ー・:;!?!?ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々…"
	noLineEnd   = "([{「『【〔〈《("
)

// isWide reports whether r is a CJK character (a line may break next to it).
func isWide(r rune) bool {
	return r >= 0x2E80 && r <= 0x9FFF || r >= 0xAC00 && r <= 0xD7AF || r >= 0xF900 && r <= 0xFAFF || r >= 0xFF00 && r <= 0xFFEF
}

// para prints wrapped text at (x, y) and returns the y below it.
func (d *pdfDoc) para(x, y, w float64, s string, size float64) float64 {
	lh := lineH(size)
	for _, l := range d.split(s, w) {
		d.f.SetXY(x, y)
		d.f.CellFormat(w, lh, d.enc(l), "", 0, "LM", false, 0, "")
		y += lh
	}
	return y
}

// paraHeight is the height para would use.
func (d *pdfDoc) paraHeight(w float64, s string, size float64) float64 {
	return float64(len(d.split(s, w))) * lineH(size)
}

// userText returns s if the document can print it, else the note that the
// text is on the web sheet.
func (d *pdfDoc) userText(s string) string {
	if d.printable(s) {
		return s
	}
	return d.msg["name_fallback"]
}

// otherText is userText for values other than names.
func (d *pdfDoc) otherText(s string) string {
	if d.printable(s) {
		return s
	}
	return d.msg["text_fallback"]
}

// label prints a small caption and returns the y below it.
func (d *pdfDoc) label(x, y float64, key string) float64 {
	d.color(colMuted)
	d.textFont("B", 9)
	y = d.para(x, y, boxInnerW, d.msg[key], 9)
	d.color(colText)
	return y + 0.5
}

// fitMono picks the largest size in [min, max] at which s fits w in the
// mono font; it returns min when nothing fits (the text then wraps).
func (d *pdfDoc) fitMono(s string, w, max, min float64) float64 {
	for size := max; size > min; size -= 0.5 {
		d.monoFont(size)
		if d.f.GetStringWidth(s) <= w {
			return size
		}
	}
	d.monoFont(min)
	return min
}

// monoValue prints an ASCII value (ID, URL) in the mono font, shrinking
// it to fit and wrapping as a last resort. A value the core font cannot
// print (never the case for IDs and URLs) is replaced by the web-sheet note.
func (d *pdfDoc) monoValue(x, y float64, s string, max, min float64) float64 {
	if _, ok := latin1(s); !ok {
		d.textFont("", 11)
		return d.para(x, y, boxInnerW, d.otherText(s), 11)
	}
	enc, _ := latin1(s)
	size := d.fitMono(enc, boxInnerW, max, min)
	return d.para(x, y, boxInnerW, s, size)
}

func (d *pdfDoc) monoHeight(s string, max, min float64) float64 {
	if _, ok := latin1(s); !ok {
		d.textFont("", 11)
		return d.paraHeight(boxInnerW, d.otherText(s), 11)
	}
	enc, _ := latin1(s)
	size := d.fitMono(enc, boxInnerW, max, min)
	return d.paraHeight(boxInnerW, s, size)
}

func (d *pdfDoc) box(y, h float64, fill bool) {
	d.f.SetLineWidth(0.45)
	d.f.SetDrawColor(colText[0], colText[1], colText[2])
	style := "D"
	if fill {
		d.f.SetFillColor(colFill[0], colFill[1], colFill[2])
		style = "FD"
		d.f.SetDashPattern([]float64{1.6, 1.2}, 0)
	}
	d.f.RoundedRect(marginX, y, contentW, h, 2.5, "1234", style)
	d.f.SetDashPattern(nil, 0)
}

func (d *pdfDoc) page(e Entry, n, total int) {
	f := d.f
	f.AddPage()
	x := marginX
	ix := marginX + boxPadX

	// Accent bar.
	f.SetFillColor(0, 110, 120)
	f.Rect(0, 0, pageW, 5, "F")

	y := 16.0
	d.color(colText)
	d.textFont("B", 20)
	y = d.para(x, y, contentW, d.msg["title"], 20) + 2

	// Tenant.
	d.color(colMuted)
	d.textFont("B", 9)
	y = d.para(x, y, contentW, d.msg["tenant"], 9)
	d.color(colText)
	d.textFont("", 13)
	y = d.para(x, y, contentW, d.userText(e.TenantName), 13) + 2
	f.SetLineWidth(0.6)
	f.SetDrawColor(colText[0], colText[1], colText[2])
	f.Line(x, y, x+contentW, y)
	y += 5

	// Name.
	d.color(colMuted)
	d.textFont("B", 9)
	y = d.para(x, y, contentW, d.msg["name"], 9)
	d.color(colText)
	d.textFont("", 16)
	y = d.para(x, y, contentW, d.userText(e.DisplayName), 16) + 5

	// Sign-in ID.
	d.textFont("B", 9)
	h := boxPadY*2 + d.paraHeight(boxInnerW, d.msg["id"], 9) + 0.5 + d.monoHeight(e.SignInID, 18, 10)
	d.box(y, h, false)
	yy := d.label(ix, y+boxPadY, "id")
	d.monoValue(ix, yy, e.SignInID, 18, 10)
	y += h + 4

	// Initial password, or the note to ask for a reissue.
	if e.InitialPassword != "" {
		y = d.passwordBox(e, y)
	} else {
		d.textFont("B", 9)
		lh := d.paraHeight(boxInnerW, d.msg["password"], 9) + 0.5
		d.textFont("B", 12)
		h := boxPadY*2 + lh + d.paraHeight(boxInnerW, d.msg["pw_reissue"], 12)
		d.box(y, h, true)
		yy := d.label(ix, y+boxPadY, "password")
		d.textFont("B", 12)
		d.para(ix, yy, boxInnerW, d.msg["pw_reissue"], 12)
		y += h + 4
	}

	// Sign-in URL.
	d.textFont("B", 9)
	h = boxPadY*2 + d.paraHeight(boxInnerW, d.msg["url"], 9) + 0.5 + d.monoHeight(e.SignInURL, 14, 9)
	d.box(y, h, false)
	yy = d.label(ix, y+boxPadY, "url")
	d.monoValue(ix, yy, e.SignInURL, 14, 9)
	y += h + 7

	// Steps.
	d.textFont("B", 13)
	y = d.para(x, y, contentW, d.msg["steps"], 13) + 1.5
	step2 := "step2"
	if e.InitialPassword == "" {
		step2 = "step2_reissue"
	}
	const numW = 8.0
	for i, key := range []string{"step1", step2, "step3"} {
		d.textFont("B", 11.5)
		f.SetXY(x, y)
		f.CellFormat(numW, lineH(11.5), strconv.Itoa(i+1)+".", "", 0, "LM", false, 0, "")
		d.textFont("", 11.5)
		y = d.para(x+numW, y, contentW-numW, d.msg[key], 11.5) + 1.5
	}

	// Footer, pinned to the bottom of the page.
	d.textFont("", 9.5)
	fh := d.paraHeight(contentW, d.msg["keep_private"], 9.5) + 1 + d.paraHeight(contentW, d.msg["footer"], 9.5)
	fy := max(297-16-fh, y+6)
	f.SetLineWidth(0.3)
	f.SetDrawColor(colRule[0], colRule[1], colRule[2])
	f.Line(x, fy-3, x+contentW, fy-3)
	d.color(colMuted)
	fy = d.para(x, fy, contentW, d.msg["keep_private"], 9.5) + 1
	d.para(x, fy, contentW, d.msg["footer"], 9.5)
	if total > 1 {
		d.textFont("", 8)
		f.SetXY(x, 297-9)
		f.CellFormat(contentW, 4, fmt.Sprintf("%d / %d", n, total), "", 0, "RM", false, 0, "")
	}
	d.color(colText)
}

// passwordBox prints the initial password in groups, its notes and its
// expiry; it returns the y below the box.
func (d *pdfDoc) passwordBox(e Entry, y float64) float64 {
	f := d.f
	ix := marginX + boxPadX
	pw := e.InitialPassword
	_, ok := latin1(pw)
	groups := passwordGroups(pw)
	notes := passwordNotes(pw)
	expires := formatExpiry(e.PasswordExpiresAt, d.msg)

	// Size the password so that it fits on one line.
	size := 26.0
	gap := func() float64 { return f.GetStringWidth("m") * 0.9 }
	width := func() float64 {
		wd := 0.0
		for _, g := range groups {
			s, _ := latin1(g)
			wd += f.GetStringWidth(s)
		}
		return wd + gap()*float64(len(groups)-1)
	}
	if ok {
		for ; size > 12; size -= 1 {
			d.monoFont(size)
			if width() <= boxInnerW {
				break
			}
		}
	}

	// Measure.
	d.textFont("B", 9)
	h := boxPadY*2 + d.paraHeight(boxInnerW, d.msg["password"], 9) + 0.5
	if ok {
		h += lineH(size)
	} else {
		d.textFont("", 11)
		h += d.paraHeight(boxInnerW, d.otherText(pw), 11)
	}
	d.textFont("", 9.5)
	h += 1
	for _, k := range notes {
		h += d.paraHeight(boxInnerW, d.msg[k], 9.5)
	}
	if expires != "" {
		d.textFont("B", 10.5)
		h += 1.5 + d.paraHeight(boxInnerW, d.msg["expires"]+": "+expires, 10.5)
	}

	// Draw.
	d.box(y, h, false)
	yy := d.label(ix, y+boxPadY, "password")
	if ok {
		d.monoFont(size)
		xx := ix
		for _, g := range groups {
			s, _ := latin1(g)
			f.SetXY(xx, yy)
			wd := f.GetStringWidth(s)
			f.CellFormat(wd, lineH(size), s, "", 0, "LM", false, 0, "")
			xx += wd + gap()
		}
		yy += lineH(size)
	} else {
		// Passwords are ASCII; anything else goes in the text font, or
		// as the web-sheet note when that cannot print it either.
		d.textFont("", 11)
		yy = d.para(ix, yy, boxInnerW, d.otherText(pw), 11)
	}
	d.color(colMuted)
	d.textFont("", 9.5)
	yy += 1
	for _, k := range notes {
		yy = d.para(ix, yy, boxInnerW, d.msg[k], 9.5)
	}
	d.color(colText)
	if expires != "" {
		d.textFont("B", 10.5)
		d.para(ix, yy+1.5, boxInnerW, d.msg["expires"]+": "+expires, 10.5)
	}
	return y + h + 4
}
