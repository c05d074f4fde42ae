package sheet

import (
	"bytes"
	"errors"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"
)

var jst = time.FixedZone("JST", 9*60*60)

func sampleEntry() Entry {
	return Entry{
		TenantName:        "株式会社アクメ",
		DisplayName:       "佐藤 花子",
		SignInID:          "hanako.sato@acme.example",
		InitialPassword:   "Kq7m-xT3c-9aPd-Wb4e",
		SignInURL:         "https://kizuna.example.jp/signin",
		PasswordExpiresAt: time.Date(2025, 4, 8, 9, 0, 0, 0, jst),
	}
}

func renderHTML(t *testing.T, entries []Entry, lang string) string {
	t.Helper()
	var b bytes.Buffer
	if err := HTML(&b, entries, lang); err != nil {
		t.Fatalf("HTML(%s): %v", lang, err)
	}
	return b.String()
}

var scriptTag = regexp.MustCompile(`(?i)<\s*script`)

func TestHTMLContent(t *testing.T) {
	e := sampleEntry()
	for _, lang := range []string{LangJA, LangEN} {
		out := renderHTML(t, []Entry{e}, lang)
		for _, want := range []string{e.SignInID, e.InitialPassword, e.SignInURL, e.TenantName, e.DisplayName,
			`href="https://kizuna.example.jp/signin"`, `<html lang="` + lang + `">`, "<style>", "page-break-after"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: HTML lacks %q", lang, want)
			}
		}
		if scriptTag.MatchString(out) {
			t.Errorf("%s: HTML has a script tag", lang)
		}
		if strings.Contains(out, "<link") || strings.Contains(out, "src=") {
			t.Errorf("%s: HTML loads an external resource", lang)
		}
		if !strings.Contains(out, html.EscapeString(e.PasswordExpiresAt.Format(messages[lang]["date_layout"]))) {
			t.Errorf("%s: HTML lacks the expiry date", lang)
		}
	}
	ja := renderHTML(t, []Entry{e}, LangJA)
	if !strings.Contains(ja, "2025年4月8日 09:00 (JST)") {
		t.Errorf("ja expiry not in Japanese format")
	}
}

func TestHTMLPasswordGrouping(t *testing.T) {
	e := sampleEntry()
	e.InitialPassword = "abcdEFGH2345xy"
	out := renderHTML(t, []Entry{e}, LangEN)
	want := `<span class="g">abcd</span><span class="g">EFGH</span><span class="g">2345</span><span class="g">xy</span>`
	if !strings.Contains(out, want) {
		t.Errorf("password not grouped; want %s", want)
	}
	if !strings.Contains(out, messages[LangEN]["pw_gaps"]) {
		t.Errorf("grouped password lacks the note about gaps")
	}
	if strings.Contains(out, messages[LangEN]["pw_hyphen"]) {
		t.Errorf("hyphen note shown for a password without hyphens")
	}
}

func TestHTMLEscapes(t *testing.T) {
	e := sampleEntry()
	e.DisplayName = `<script>alert("x")</script>`
	e.TenantName = `Acme & <b>Sons</b>`
	e.SignInURL = `javascript:alert(1)`
	out := renderHTML(t, []Entry{e}, LangEN)
	if scriptTag.MatchString(out) {
		t.Fatalf("unescaped script tag in output:\n%s", out)
	}
	if !strings.Contains(out, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("display name not escaped as text")
	}
	if !strings.Contains(out, "Acme &amp; &lt;b&gt;Sons&lt;/b&gt;") {
		t.Errorf("tenant name not escaped")
	}
	if strings.Contains(out, `href="javascript:`) {
		t.Errorf("javascript: URL left in href")
	}
}

func TestHTMLMissingPassword(t *testing.T) {
	e := sampleEntry()
	e.InitialPassword = ""
	for _, lang := range []string{LangJA, LangEN} {
		out := renderHTML(t, []Entry{e}, lang)
		msg := messages[lang]
		if !strings.Contains(html.UnescapeString(out), msg["pw_reissue"]) {
			t.Errorf("%s: no reissue note", lang)
		}
		if !strings.Contains(html.UnescapeString(out), msg["step2_reissue"]) {
			t.Errorf("%s: step 2 does not mention the reissue", lang)
		}
		if strings.Contains(out, `class="mono pw"`) || strings.Contains(out, `class="g"`) {
			t.Errorf("%s: empty password box rendered", lang)
		}
		if strings.Contains(html.UnescapeString(out), msg["expires"]) {
			t.Errorf("%s: expiry shown without a password", lang)
		}
	}
}

func TestHTMLBatch(t *testing.T) {
	a, b, c := sampleEntry(), sampleEntry(), sampleEntry()
	b.SignInID, c.SignInID = "b@acme.example", "c@acme.example"
	c.InitialPassword = ""
	out := renderHTML(t, []Entry{a, b, c}, LangJA)
	if n := strings.Count(out, `<section class="sheet">`); n != 3 {
		t.Errorf("got %d sheets, want 3", n)
	}
}

func TestHTMLErrors(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, nil, LangJA); !errors.Is(err, ErrNoEntries) {
		t.Errorf("no entries: err = %v", err)
	}
	if err := HTML(&b, []Entry{sampleEntry()}, "fr"); !errors.Is(err, ErrLang) {
		t.Errorf("fr: err = %v", err)
	}
	if b.Len() != 0 {
		t.Errorf("wrote output on error")
	}
	if err := HTML(&b, []Entry{sampleEntry()}, ""); err != nil {
		t.Errorf("default lang: %v", err)
	}
}

// Every key exists, non-empty, in both languages.
func TestCatalogueComplete(t *testing.T) {
	for lang, msg := range messages {
		for other, omsg := range messages {
			for k := range omsg {
				if strings.TrimSpace(msg[k]) == "" {
					t.Errorf("key %q is in %q but missing or empty in %q", k, other, lang)
				}
			}
		}
	}
	for _, k := range append(pdfKeys, "date_layout") {
		for lang, msg := range messages {
			if _, ok := msg[k]; !ok {
				t.Errorf("pdf key %q missing in %q", k, lang)
			}
		}
		// English is the PDF's no-CJK-font fallback: it must be Latin-1.
		if _, ok := latin1(messages[LangEN][k]); !ok {
			t.Errorf("en %q is not Latin-1: %q", k, messages[LangEN][k])
		}
	}
	for lang, msg := range messages {
		if got := time.Date(2025, 4, 8, 9, 5, 0, 0, jst).Format(msg["date_layout"]); !strings.Contains(got, "2025") || !strings.Contains(got, "09:05") {
			t.Errorf("%s date_layout gives %q", lang, got)
		}
	}
}

// Each catalogue text shows up in the HTML of each language (the keys only
// the PDF uses aside).
func TestHTMLRendersEveryKey(t *testing.T) {
	pdfOnly := map[string]bool{"date_layout": true, "name_fallback": true, "text_fallback": true}
	withGaps := sampleEntry()
	withGaps.InitialPassword = "abcdEFGH2345"
	noPW := sampleEntry()
	noPW.InitialPassword = ""
	for lang, msg := range messages {
		out := html.UnescapeString(renderHTML(t, []Entry{sampleEntry(), withGaps, noPW}, lang))
		for k, text := range msg {
			if pdfOnly[k] {
				continue
			}
			if !strings.Contains(out, text) {
				t.Errorf("%s: HTML lacks %q (%q)", lang, k, text)
			}
		}
	}
}

func TestNormalizeLang(t *testing.T) {
	for in, want := range map[string]string{"": "ja", "ja-JP": "ja", "EN": "en", "en-US": "en", "en_GB": "en", "fr": "ja", "eng": "ja"} {
		if got := NormalizeLang(in); got != want {
			t.Errorf("NormalizeLang(%q) = %q, want %q", in, got, want)
		}
	}
}
