package sheet

import (
	"bytes"
	"io"
	"os"
	"strings"
)

// FontEnv names the environment variable that points at a TrueType font
// with CJK glyphs; it is tried before the usual system paths.
const FontEnv = "KIZUNA_PDF_FONT"

// CJKFontCandidates are the paths FindCJKFont tries, in order, after
// $KIZUNA_PDF_FONT. The first ones come from Debian's fonts-ipaexfont-gothic
// (which CI installs) and fonts-ipafont-gothic; the alternatives link
// /usr/share/fonts/truetype/fonts-japanese-gothic.ttf points at whichever
// Japanese Gothic font is installed.
var CJKFontCandidates = []string{
	"/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
	"/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
	"/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
	"/usr/share/fonts/truetype/ipafont-gothic/ipag.ttf",
	"/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
	"/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf",
	"/usr/share/fonts/truetype/takao-gothic/TakaoGothic.ttf",
	"/usr/share/fonts/truetype/vlgothic/VL-Gothic-Regular.ttf",
}

// FindCJKFont returns the path of a usable TrueType font with CJK glyphs:
// $KIZUNA_PDF_FONT if it names one, else the first usable entry of
// CJKFontCandidates, else "". Usable means a TrueType-outline font file
// (not an OpenType/CFF .otf nor a .ttc collection, which fpdf cannot embed).
func FindCJKFont() string {
	if p := strings.TrimSpace(os.Getenv(FontEnv)); p != "" && isTrueTypeFile(p) {
		return p
	}
	for _, p := range CJKFontCandidates {
		if isTrueTypeFile(p) {
			return p
		}
	}
	return ""
}

// isTrueTypeFile reports whether path is a regular file that starts like a
// single TrueType font.
func isTrueTypeFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return false
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		return false
	}
	return isTrueType(head)
}

func isTrueType(b []byte) bool {
	return bytes.HasPrefix(b, []byte{0, 1, 0, 0}) || bytes.HasPrefix(b, []byte("true"))
}

// loadFont reads the font the options ask for; nil means none is usable.
func loadFont(opt Options) []byte {
	path := opt.FontPath
	switch path {
	case NoCJKFont:
		return nil
	case "":
		path = FindCJKFont()
		if path == "" {
			return nil
		}
	}
	b, err := os.ReadFile(path)
	if err != nil || !isTrueType(b) {
		return nil
	}
	return b
}
