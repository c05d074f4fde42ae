// Package sheet renders invitation sheets: the page an administrator prints
// (or hands over as a PDF) for a member they have just added, with the
// member's sign-in ID, the initial password, the sign-in URL and short
// instructions for the first sign-in.
//
// The initial password is printed only on a sheet made right after it was
// issued or reissued (the server keeps only its hash); an Entry with an
// empty InitialPassword yields a sheet that tells the member to ask the
// administrator to reissue one.
//
// Both outputs are bilingual-capable: lang "ja" or "en" chooses the texts of
// the package's message catalogue; names and tenant names may be Japanese.
// The PDF embeds a CJK TrueType font when one is installed (see
// FindCJKFont) and otherwise falls back to a Latin-1 core font.
package sheet

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Entry is one member's sheet.
type Entry struct {
	TenantName  string // e.g. "株式会社アクメ"
	DisplayName string // e.g. "佐藤 花子"
	SignInID    string // local@domain
	// InitialPassword is printed as is; "" means the password is not known
	// any more and the sheet says to ask the administrator to reissue it.
	InitialPassword string
	SignInURL       string
	// PasswordExpiresAt is when the initial password stops working; it is
	// printed in its own location (pass tenant-local time). Zero: not shown.
	PasswordExpiresAt time.Time
}

// Options tunes rendering.
type Options struct {
	// Lang is "ja" or "en" ("" means "ja").
	Lang string
	// FontPath is the TrueType font with CJK glyphs the PDF embeds.
	// "" finds one with FindCJKFont; NoCJKFont forces the Latin-1
	// fallback. A path that cannot be used also falls back, without error.
	FontPath string
}

// NoCJKFont as Options.FontPath makes PDF use the Latin-1 fallback.
const NoCJKFont = "-"

// ErrNoEntries is returned when there is no entry to render.
var ErrNoEntries = errors.New("sheet: no entries")

// ErrLang is returned for a language the catalogue does not have.
var ErrLang = errors.New("sheet: unsupported language")

// NormalizeLang maps a language tag ("ja-JP", "en_US", "EN", "") to a
// supported language, defaulting to Japanese.
func NormalizeLang(tag string) string {
	t := strings.ToLower(strings.TrimSpace(tag))
	if t == "en" || strings.HasPrefix(t, "en-") || strings.HasPrefix(t, "en_") {
		return LangEN
	}
	return LangJA
}

func checkLang(lang string) (string, error) {
	if lang == "" {
		return LangJA, nil
	}
	if _, ok := messages[lang]; !ok {
		return "", fmt.Errorf("%w: %q", ErrLang, lang)
	}
	return lang, nil
}

// passwordGroups splits a password for display. A password that already
// carries its own separators (hyphens, as password.Generate makes) is shown
// as one group: the hyphens are part of it. Otherwise it is cut into groups
// of four characters, shown with gaps that are not part of the password.
func passwordGroups(pw string) []string {
	if strings.ContainsAny(pw, "- \t") {
		return []string{pw}
	}
	r := []rune(pw)
	if len(r) <= 6 {
		return []string{pw}
	}
	var g []string
	for len(r) > 0 {
		n := min(4, len(r))
		g = append(g, string(r[:n]))
		r = r[n:]
	}
	return g
}

// passwordNotes lists the catalogue keys of the notes under a password.
func passwordNotes(pw string) []string {
	notes := []string{"pw_case"}
	if strings.Contains(pw, "-") {
		notes = append(notes, "pw_hyphen")
	}
	if len(passwordGroups(pw)) > 1 {
		notes = append(notes, "pw_gaps")
	}
	return notes
}

func formatExpiry(t time.Time, msg map[string]string) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(msg["date_layout"])
}
