package kizuna_test

import (
	"strings"
	"testing"

	"github.com/kizuna-chat/kizuna"
)

// FuzzNormalizeDomain checks the domain parser (R1) on arbitrary input: it
// never panics, refuses with an invalid-input error only, and what it
// accepts is canonical — normalizing it again gives itself, an ID in it
// parses back to the same domain, and its display form maps back to it.
// The seeds in testdata/fuzz/FuzzNormalizeDomain run with every go test;
// FuzzParseID (id_test.go) covers whole IDs the same way.
func FuzzNormalizeDomain(f *testing.F) {
	for _, seed := range []string{
		"example.com", "Example.COM", "ｅｘａｍｐｌｅ.com", "ＥＸＡＭＰＬＥ。ＣＯＭ",
		"bücher.example", "xn--bcher-kva.example", "例え.テスト", "faß.de",
		"example.com.", "-x.com", "x-.com", "xn--zz.com", "a..b", ".", "",
		"localhost", "1.2.3.4", "a.123", "\xff.com", "a\u200d.com",
		"\u0627\u0644.com", "a\x00.com", strings.Repeat("a", 63) + ".com",
		strings.Repeat("a", 64) + ".com", strings.Repeat("abcdefghi.", 26) + "com",
		"%2e%2e/etc/passwd", "a.b.c.d.e.f.g.h", "xn--.com", "A.B",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		d, err := kizuna.NormalizeDomain(name)
		if err != nil {
			if d != "" {
				t.Fatalf("NormalizeDomain(%q) returned %q with an error", name, d)
			}
			if e := kizuna.AsError(err); e.Code != "invalid_domain" {
				t.Fatalf("NormalizeDomain(%q): %v, want code invalid_domain", name, err)
			}
			return
		}
		if len(d) > kizuna.MaxDomainLength || !strings.Contains(d, ".") {
			t.Fatalf("NormalizeDomain(%q) = %q: too long or a single label", name, d)
		}
		for i := 0; i < len(d); i++ {
			if c := d[i]; c >= 0x80 || c >= 'A' && c <= 'Z' {
				t.Fatalf("NormalizeDomain(%q) = %q: not lower-case ASCII", name, d)
			}
		}
		if again, err := kizuna.NormalizeDomain(d); err != nil || again != d {
			t.Fatalf("NormalizeDomain(%q) = %q, but normalizing that gives %q, %v", name, d, again, err)
		}
		// A whole ID is at most 254 characters (as a mail address), so
		// the longest domains hold no ID at all; that is a refusal, not a
		// mismatch.
		if id := "x@" + d; len(id) > 254 {
			if _, _, err := kizuna.ParseID(id); err == nil {
				t.Fatalf("ParseID accepted %d characters", len(id))
			}
		} else if _, domain, err := kizuna.ParseID(id); err != nil || domain != d {
			t.Fatalf("NormalizeDomain(%q) = %q, but x@%s parses to domain %q, %v", name, d, d, domain, err)
		}
		if back, err := kizuna.NormalizeDomain(kizuna.DisplayDomain(d)); err != nil || back != d {
			t.Fatalf("NormalizeDomain(%q) = %q, displayed as %q, which normalizes to %q, %v", name, d, kizuna.DisplayDomain(d), back, err)
		}
	})
}

// FuzzNormalizeLocalPart checks the part of an ID before "@": no panic,
// invalid-input errors only, and an accepted value is its own normal form
// and parses back inside an ID.
func FuzzNormalizeLocalPart(f *testing.F) {
	for _, seed := range []string{"taro", "Taro.Yamada", "ｔａｒｏ", "a..b", ".a", "a.", "a b", "", "a_b-c", strings.Repeat("x", 64), strings.Repeat("x", 65), "\xff", "ａ．ｂ", "İ", "K"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, local string) {
		l, err := kizuna.NormalizeLocalPart(local)
		if err != nil {
			if e := kizuna.AsError(err); e.Code != "invalid_local_part" {
				t.Fatalf("NormalizeLocalPart(%q): %v, want code invalid_local_part", local, err)
			}
			return
		}
		if l == "" || len(l) > kizuna.MaxLocalPartLength {
			t.Fatalf("NormalizeLocalPart(%q) = %q", local, l)
		}
		if again, err := kizuna.NormalizeLocalPart(l); err != nil || again != l {
			t.Fatalf("NormalizeLocalPart(%q) = %q, but normalizing that gives %q, %v", local, l, again, err)
		}
		if got, _, err := kizuna.ParseID(l + "@example.com"); err != nil || got != l {
			t.Fatalf("NormalizeLocalPart(%q) = %q, but %s@example.com parses to %q, %v", local, l, l, got, err)
		}
	})
}
