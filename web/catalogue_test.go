package web_test

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kizuna-chat/kizuna/web"
)

// sameInBothLanguages are texts that are rightly identical in English and
// Japanese (names of languages, the ID label, product names).
var sameInBothLanguages = map[string]bool{
	"common.language_en": true, "common.language_ja": true, "signin.id": true,
}

func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	all := map[string]string{}
	files, _ := fs.Glob(web.Assets(), "i18n/"+lang+"/*.json")
	if len(files) == 0 {
		t.Fatalf("no catalogue for %s", lang)
	}
	for _, f := range files {
		raw, err := fs.ReadFile(web.Assets(), f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k, v := range m {
			if _, dup := all[k]; dup {
				t.Errorf("%s: key %s is defined in two files", f, k)
			}
			all[k] = v
		}
	}
	return all
}

// keyUse matches t('key', …) with a literal key in the scripts.
var keyUse = regexp.MustCompile("\\bt\\(\\s*['\"`]([a-z0-9_.]+)['\"`]")

var placeholder = regexp.MustCompile(`\{(\w+)\}`)

// TestCatalogueComplete is the static half of "the Japanese UI has no
// untranslated keys": every key a script asks for exists in English and
// Japanese, both catalogues hold the same keys with the same placeholders,
// and no Japanese text is a copy of the English one. The browser half
// (TestJapaneseScreens) walks the screens and fails on any key the page
// looked up and did not find.
func TestCatalogueComplete(t *testing.T) {
	en, ja := catalogue(t, "en"), catalogue(t, "ja")
	used := map[string][]string{}
	fs.WalkDir(web.Assets(), "js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		src, _ := fs.ReadFile(web.Assets(), p)
		for _, m := range keyUse.FindAllStringSubmatch(string(src), -1) {
			used[m[1]] = append(used[m[1]], p)
		}
		return nil
	})
	if len(used) < 20 {
		t.Fatalf("found only %d keys in the scripts: is the pattern still right?", len(used))
	}
	var untranslated []string
	for k, files := range used {
		_, inEN := en[k]
		_, inJA := ja[k]
		// A key used with a count may be split into .one/.other.
		if !inEN {
			_, inEN = en[k+".other"]
		}
		if !inJA {
			_, inJA = ja[k+".other"]
		}
		if !inEN {
			t.Errorf("key %s (used in %s) is missing from the English catalogue", k, files[0])
		}
		if !inJA {
			untranslated = append(untranslated, k)
		}
	}
	for k, v := range en {
		j, ok := ja[k]
		switch {
		case !ok:
			untranslated = append(untranslated, k)
		case strings.TrimSpace(j) == "":
			untranslated = append(untranslated, k)
		case j == v && !sameInBothLanguages[k]:
			t.Errorf("key %s: the Japanese text is the English one (%q)", k, v)
		}
		if ok && !slices.Equal(placeholders(v), placeholders(j)) {
			t.Errorf("key %s: placeholders differ: en %v, ja %v", k, placeholders(v), placeholders(j))
		}
	}
	for k := range ja {
		if _, ok := en[k]; !ok {
			t.Errorf("key %s is in Japanese only", k)
		}
	}
	slices.Sort(untranslated)
	untranslated = slices.Compact(untranslated)
	if len(untranslated) > 0 {
		t.Errorf("%d keys have no Japanese text:\n  %s", len(untranslated), strings.Join(untranslated, "\n  "))
	}
}

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}
