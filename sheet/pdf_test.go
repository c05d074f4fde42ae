package sheet

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// needTool returns the path of a poppler-utils tool. Missing, it skips the
// test locally and fails it in CI (CI installs poppler-utils).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: CI must install the Debian package poppler-utils", name)
		}
		t.Skipf("%s not found (apt-get install -y poppler-utils)", name)
	}
	return p
}

// needCJKFont returns the CJK font path, skipping locally / failing in CI
// when there is none.
func needCJKFont(t *testing.T) string {
	t.Helper()
	p := FindCJKFont()
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no CJK font found: CI must install the Debian package fonts-ipaexfont-gothic")
		}
		t.Skip("no CJK font (apt-get install -y fonts-ipaexfont-gothic)")
	}
	return p
}

func writeTemp(t *testing.T, pdf []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sheet.pdf")
	if err := os.WriteFile(p, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pdfText extracts the text of pdf with pdftotext.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	tool := needTool(t, "pdftotext")
	out, err := exec.Command(tool, "-enc", "UTF-8", writeTemp(t, pdf), "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// pdfInfo returns pdfinfo's fields.
func pdfInfo(t *testing.T, pdf []byte) map[string]string {
	t.Helper()
	tool := needTool(t, "pdfinfo")
	out, err := exec.Command(tool, writeTemp(t, pdf)).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// squash drops all white space: line wrapping, the gaps between password
// groups and the spaces pdftotext infers are not part of what is checked.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func renderPDF_(t *testing.T, entries []Entry, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WritePDF(&b, entries, opt); err != nil {
		t.Fatalf("WritePDF: %v", err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", b.Bytes()[:min(20, b.Len())])
	}
	return b.Bytes()
}

func assertText(t *testing.T, text string, want ...string) {
	t.Helper()
	sq := squash(text)
	for _, w := range want {
		if !strings.Contains(sq, squash(w)) {
			t.Errorf("PDF text lacks %q; text:\n%s", w, text)
		}
	}
}

func assertNoText(t *testing.T, text string, bad ...string) {
	t.Helper()
	sq := squash(text)
	for _, b := range bad {
		if strings.Contains(sq, squash(b)) {
			t.Errorf("PDF text has %q; text:\n%s", b, text)
		}
	}
}

func TestPDFWithCJKFont(t *testing.T) {
	font := needCJKFont(t)
	e := sampleEntry()
	for _, lang := range []string{LangJA, LangEN} {
		text := pdfText(t, renderPDF_(t, []Entry{e}, Options{Lang: lang, FontPath: font}))
		msg := messages[lang]
		assertText(t, text, e.SignInID, e.SignInURL, e.InitialPassword, "佐藤 花子", "株式会社アクメ",
			msg["title"], msg["step1"], msg["step3"], e.PasswordExpiresAt.Format(msg["date_layout"]))
		assertNoText(t, text, msg["pw_reissue"], "\uFFFD")
	}
}

func TestPDFDefaultFindsFont(t *testing.T) {
	needCJKFont(t)
	text := pdfText(t, renderPDF_(t, []Entry{sampleEntry()}, Options{Lang: LangJA}))
	assertText(t, text, "佐藤 花子", messages[LangJA]["title"])
}

// Without a CJK font: English texts in a core font, the Japanese names
// replaced by a note, never mojibake, and never an error.
func TestPDFFallbackWithoutCJKFont(t *testing.T) {
	e := sampleEntry()
	bogus := filepath.Join(t.TempDir(), "not-a-font.ttf")
	if err := os.WriteFile(bogus, []byte("\x00\x01\x00\x00 this is not a font"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]Options{
		"none":       {Lang: LangJA, FontPath: NoCJKFont},
		"missing":    {Lang: LangJA, FontPath: filepath.Join(t.TempDir(), "nope.ttf")},
		"broken-ttf": {Lang: LangJA, FontPath: bogus},
	} {
		t.Run(name, func(t *testing.T) {
			text := pdfText(t, renderPDF_(t, []Entry{e}, opt))
			en := messages[LangEN]
			assertText(t, text, e.SignInID, e.SignInURL, e.InitialPassword, en["title"], en["name_fallback"], en["step3"])
			assertNoText(t, text, "佐藤", "株式会社", "\uFFFD", "?")
			if strings.ContainsFunc(text, func(r rune) bool { return r > 0xff }) {
				t.Errorf("non-Latin-1 text in fallback PDF:\n%s", text)
			}
		})
	}
}

func TestPDFFallbackKeepsLatinNames(t *testing.T) {
	e := sampleEntry()
	e.DisplayName, e.TenantName = "José Müller", "Acme GmbH"
	text := pdfText(t, renderPDF_(t, []Entry{e}, Options{Lang: LangEN, FontPath: NoCJKFont}))
	assertText(t, text, "José Müller", "Acme GmbH")
	assertNoText(t, text, messages[LangEN]["name_fallback"])
}

func TestPDFWithoutPassword(t *testing.T) {
	e := sampleEntry()
	pw := e.InitialPassword
	e.InitialPassword = ""
	opts := map[string]Options{"fallback": {Lang: LangEN, FontPath: NoCJKFont}}
	if font := FindCJKFont(); font != "" {
		opts["cjk-ja"] = Options{Lang: LangJA, FontPath: font}
		opts["cjk-en"] = Options{Lang: LangEN, FontPath: font}
	}
	for name, opt := range opts {
		t.Run(name, func(t *testing.T) {
			text := pdfText(t, renderPDF_(t, []Entry{e}, opt))
			msg := messages[opt.Lang]
			assertText(t, text, e.SignInID, e.SignInURL, msg["pw_reissue"], msg["step2_reissue"])
			assertNoText(t, text, pw, msg["expires"])
		})
	}
}

var pageObj = regexp.MustCompile(`/Type\s*/Page[^s]`)

func TestPDFBatchPages(t *testing.T) {
	a, b, c := sampleEntry(), sampleEntry(), sampleEntry()
	b.SignInID, b.DisplayName = "taro.suzuki@acme.example", "鈴木 太郎"
	c.SignInID, c.InitialPassword = "jiro.tanaka@acme.example", ""
	opts := map[string]Options{"fallback": {Lang: LangJA, FontPath: NoCJKFont}}
	if font := FindCJKFont(); font != "" {
		opts["cjk"] = Options{Lang: LangJA, FontPath: font}
	}
	for name, opt := range opts {
		t.Run(name, func(t *testing.T) {
			pdf := renderPDF_(t, []Entry{a, b, c}, opt)
			if n := len(pageObj.FindAll(pdf, -1)); n != 3 {
				t.Errorf("%d page objects, want 3", n)
			}
			info := pdfInfo(t, pdf)
			if info["Pages"] != "3" {
				t.Errorf("pdfinfo Pages = %q, want 3", info["Pages"])
			}
			if info["Creator"] != "Kizuna" {
				t.Errorf("Creator = %q", info["Creator"])
			}
			if info["Title"] == "" {
				t.Errorf("no Title")
			}
			if !strings.HasPrefix(info["Page size"], "595.28 x 841.89") {
				t.Errorf("page size %q is not A4", info["Page size"])
			}
			text := pdfText(t, pdf)
			assertText(t, text, a.SignInID, b.SignInID, c.SignInID)
			// pdftotext separates pages with form feeds.
			pages := strings.Split(strings.TrimRight(text, "\f\n"), "\f")
			if len(pages) != 3 {
				t.Fatalf("%d pages of text, want 3", len(pages))
			}
			for i, e := range []Entry{a, b, c} {
				assertText(t, pages[i], e.SignInID)
			}
			assertNoText(t, pages[2], a.InitialPassword)
		})
	}
}

func longEntry() Entry {
	e := sampleEntry()
	e.SignInID = "a.very.long.sign-in.identifier.for.testing@subsidiary.example-corporation.co.jp"
	e.SignInURL = "https://kizuna.example-corporation.co.jp/tenants/acme-holdings/signin?from=invitation-sheet&lang=ja"
	e.InitialPassword = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMN"
	e.DisplayName = strings.Repeat("佐藤 花子 ", 20)
	e.TenantName = "株式会社アクメ・ホールディングス(グループ共通プロジェクト「きずな」推進室)"
	return e
}

func TestPDFLongValuesFit(t *testing.T) {
	e := longEntry()
	text := pdfText(t, renderPDF_(t, []Entry{e}, Options{Lang: LangEN, FontPath: FindCJKFont()}))
	assertText(t, text, e.SignInID, e.SignInURL, e.InitialPassword)
}

func TestPDFErrors(t *testing.T) {
	var b bytes.Buffer
	if err := PDF(&b, nil, LangJA); !errors.Is(err, ErrNoEntries) {
		t.Errorf("no entries: err = %v", err)
	}
	if err := PDF(&b, []Entry{sampleEntry()}, "de"); !errors.Is(err, ErrLang) {
		t.Errorf("de: err = %v", err)
	}
}

func TestFindCJKFont(t *testing.T) {
	dir := t.TempDir()
	otf := filepath.Join(dir, "font.otf")
	os.WriteFile(otf, []byte("OTTO\x00\x00"), 0o600)
	ttc := filepath.Join(dir, "font.ttc")
	os.WriteFile(ttc, []byte("ttcf\x00\x00"), 0o600)
	ttf := filepath.Join(dir, "font.ttf")
	os.WriteFile(ttf, []byte("\x00\x01\x00\x00rest"), 0o600)
	for _, p := range []string{otf, ttc, filepath.Join(dir, "missing.ttf"), dir} {
		if isTrueTypeFile(p) {
			t.Errorf("isTrueTypeFile(%s) = true", p)
		}
	}
	if !isTrueTypeFile(ttf) {
		t.Errorf("isTrueTypeFile(ttf) = false")
	}
	t.Setenv(FontEnv, ttf)
	if got := FindCJKFont(); got != ttf {
		t.Errorf("with %s set: FindCJKFont() = %q", FontEnv, got)
	}
	t.Setenv(FontEnv, otf)
	if got := FindCJKFont(); got == otf {
		t.Errorf("FindCJKFont returned an OpenType/CFF font")
	}
}

// TestWriteSamples writes sample sheets to $SHEET_SAMPLE_DIR for a person
// to look at (pdftoppm -png -r 60 sample-ja.pdf page).
func TestWriteSamples(t *testing.T) {
	dir := os.Getenv("SHEET_SAMPLE_DIR")
	if dir == "" {
		t.Skip("SHEET_SAMPLE_DIR not set")
	}
	b := sampleEntry()
	b.SignInID, b.DisplayName, b.InitialPassword = "taro.suzuki@acme.example", "鈴木 太郎", ""
	for name, opt := range map[string]Options{
		"ja": {Lang: LangJA}, "en": {Lang: LangEN}, "fallback": {Lang: LangJA, FontPath: NoCJKFont},
	} {
		var pdf, page bytes.Buffer
		if err := WritePDF(&pdf, []Entry{sampleEntry(), b}, opt); err != nil {
			t.Fatal(err)
		}
		if err := WriteHTML(&page, []Entry{sampleEntry(), b}, opt); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "sample-"+name+".pdf"), pdf.Bytes(), 0o644)
		os.WriteFile(filepath.Join(dir, "sample-"+name+".html"), page.Bytes(), 0o644)
	}
	var long bytes.Buffer
	if err := WritePDF(&long, []Entry{longEntry()}, Options{Lang: LangJA}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "sample-long.pdf"), long.Bytes(), 0o644)
}
