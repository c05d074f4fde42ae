package kizuna

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// domainOfLength returns a domain of 63-character labels joined by dots,
// the last one shorter, exactly total characters long. Callers pick totals
// that do not end just after a dot.
func domainOfLength(total int) string {
	var b strings.Builder
	for b.Len() < total {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		n := min(63, total-b.Len())
		b.WriteString(strings.Repeat("a", n))
	}
	return b.String()
}

func TestNormalizeDomain(t *testing.T) {
	d253 := domainOfLength(253)
	if len(d253) != 253 {
		t.Fatalf("fixture has %d characters", len(d253))
	}
	valid := []struct{ in, want string }{
		{"example.com", "example.com"},
		{"Example.COM", "example.com"},
		{"EXAMPLE.COM", "example.com"},
		{"sales.acme.example", "sales.acme.example"},
		{"a-b.example", "a-b.example"},
		{"123.example", "123.example"},
		{"example.com.", "example.com"}, // the root label
		{"ｅｘａｍｐｌｅ.com", "example.com"},
		{"ＥＸＡＭＰＬＥ。ＣＯＭ", "example.com"}, // full-width letters and dot
		{"bücher.example", "xn--bcher-kva.example"},
		{"BÜCHER.example", "xn--bcher-kva.example"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"例え.テスト", "xn--r8jz45g.xn--zckzah"},
		{"faß.de", "xn--fa-hia.de"}, // non-transitional: ß stays
		{strings.Repeat("a", 63) + ".com", strings.Repeat("a", 63) + ".com"},
		{d253, d253},
		{d253 + ".", d253},
	}
	for _, tc := range valid {
		got, err := NormalizeDomain(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}

	invalid := []struct{ name, in string }{
		{"empty", ""},
		{"an IP address", "1.2.3.4"},
		{"space inside", "exa mple.com"},
		{"leading space", " example.com"},
		{"trailing space", "example.com "},
		{"leading hyphen", "-example.com"},
		{"trailing hyphen", "example-.com"},
		{"hyphen TLD", "example.-com"},
		{"hyphens at 3-4", "ab--cd.com"},
		{"empty label", "a..com"},
		{"leading dot", ".example.com"},
		{"two trailing dots", "example.com.."},
		{"only a dot", "."},
		{"single label", "localhost"},
		{"single label with dot", "com."},
		{"label of 64", strings.Repeat("a", 64) + ".com"},
		{"254 characters", domainOfLength(254)},
		{"far too long", strings.Repeat("a.", 600) + "com"},
		{"invalid UTF-8", "\xff.com"},
		{"invalid UTF-8 inside", "ex\xc3ample.com"},
		{"underscore", "a_b.com"},
		{"at sign", "a@b.com"},
		{"wildcard", "*.example.com"},
		{"percent", "ex%41mple.com"},
		{"slash", "example.com/x"},
		{"bad punycode", "xn--zz.com"},
		{"control character", "exa\x00mple.com"},
	}
	for _, tc := range invalid {
		got, err := NormalizeDomain(tc.in)
		if err == nil {
			t.Errorf("%s: NormalizeDomain(%q) = %q, want an error", tc.name, tc.in, got)
			continue
		}
		if !errors.Is(err, ErrInvalid) || ErrorCode(err) != "invalid_domain" {
			t.Errorf("%s: error %v, want invalid_domain", tc.name, err)
		}
		if m := AsError(err).Message; len(m) > 300 || !utf8.ValidString(m) {
			t.Errorf("%s: message is not short valid text: %q", tc.name, m)
		}
	}
}

func TestNormalizeLocalPart(t *testing.T) {
	valid := []struct{ in, want string }{
		{"taro", "taro"},
		{"Taro.Yamada", "taro.yamada"},
		{"ken_sato-2", "ken_sato-2"},
		{"a", "a"},
		{"7", "7"},
		{"a.b.c", "a.b.c"},
		{"a-_-b", "a-_-b"},
		{strings.Repeat("x", 64), strings.Repeat("x", 64)},
		{"ｔａｒｏ", "taro"}, // full-width letters fold to ASCII, as in domains
	}
	for _, tc := range valid {
		got, err := NormalizeLocalPart(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeLocalPart(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	invalid := []string{
		"",
		strings.Repeat("x", 65),
		"a..b",
		"a...b",
		".taro",
		"taro.",
		"-taro",
		"taro_",
		"ta ro",
		" taro",
		"taro@example.com",
		"a+b",
		"tarō",
		"\xff",
		"ta\x00ro",
	}
	for _, in := range invalid {
		got, err := NormalizeLocalPart(in)
		if err == nil {
			t.Errorf("NormalizeLocalPart(%q) = %q, want an error", in, got)
			continue
		}
		if !errors.Is(err, ErrInvalid) || ErrorCode(err) != "invalid_local_part" {
			t.Errorf("NormalizeLocalPart(%q): error %v, want invalid_local_part", in, err)
		}
	}
}

func TestNormalizeHandle(t *testing.T) {
	if h, err := NormalizeHandle("Taro.Y"); err != nil || h != "taro.y" {
		t.Errorf("NormalizeHandle = %q, %v", h, err)
	}
	for _, in := range []string{"", "taro@example.com", "a..b", strings.Repeat("h", 65)} {
		_, err := NormalizeHandle(in)
		if ErrorCode(err) != "invalid_handle" || !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizeHandle(%q): %v, want invalid_handle", in, err)
		}
		if strings.Contains(AsError(err).Message, "before @") {
			t.Errorf("NormalizeHandle(%q) message speaks of IDs: %q", in, AsError(err).Message)
		}
	}
}

func TestParseID(t *testing.T) {
	valid := []struct{ in, local, domain string }{
		{"taro@example.com", "taro", "example.com"},
		{"Taro.Yamada@Example.COM", "taro.yamada", "example.com"},
		{"taro@ｅｘａｍｐｌｅ.com", "taro", "example.com"},
		{"taro@bücher.example", "taro", "xn--bcher-kva.example"},
		{"taro@example.com.", "taro", "example.com"},
		{strings.Repeat("x", 64) + "@" + domainOfLength(189), strings.Repeat("x", 64), domainOfLength(189)}, // 254
	}
	for _, tc := range valid {
		local, domain, err := ParseID(tc.in)
		if err != nil || local != tc.local || domain != tc.domain {
			t.Errorf("ParseID(%q) = %q, %q, %v; want %q, %q", tc.in, local, domain, err, tc.local, tc.domain)
		}
	}
	invalid := []struct{ in, code string }{
		{"", "invalid_id"},
		{"taro", "invalid_id"},
		{"taro.example.com", "invalid_id"},
		{"@example.com", "invalid_local_part"},
		{"taro@", "invalid_domain"},
		{"a..b@example.com", "invalid_local_part"},
		{strings.Repeat("x", 65) + "@example.com", "invalid_local_part"},
		{"a@b@example.com", "invalid_local_part"},
		{"taro@localhost", "invalid_domain"},
		{"taro@exa mple.com", "invalid_domain"},
		{"taro@-example.com", "invalid_domain"},
		{"taro@example..com", "invalid_domain"},
		{"taro@\xffexample.com", "invalid_domain"},
		{"ta\xffro@example.com", "invalid_local_part"},
		{strings.Repeat("x", 64) + "@" + domainOfLength(190), "invalid_id"}, // 255
		{strings.Repeat("x@", 2000), "invalid_id"},
	}
	for _, tc := range invalid {
		local, domain, err := ParseID(tc.in)
		if err == nil {
			t.Errorf("ParseID(%.80q) = %q, %q; want %s", tc.in, local, domain, tc.code)
			continue
		}
		if got := ErrorCode(err); got != tc.code || !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseID(%.80q): %v, want code %s", tc.in, err, tc.code)
		}
		if local != "" || domain != "" {
			t.Errorf("ParseID(%.80q) returned parts %q, %q with an error", tc.in, local, domain)
		}
	}
}

func TestDisplayDomain(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"xn--bcher-kva.example", "bücher.example"},
		{"example.com", "example.com"},
		{"xn--r8jz45g.xn--zckzah", "例え.テスト"},
	} {
		if got := DisplayDomain(tc.in); got != tc.want {
			t.Errorf("DisplayDomain(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzParseID checks that ParseID never panics and that what it accepts is
// canonical: parsing its own output again gives the same parts, within the
// length limits.
func FuzzParseID(f *testing.F) {
	for _, seed := range []string{
		"taro@example.com",
		"Taro.Yamada@Example.COM",
		"taro@ｅｘａｍｐｌｅ.com",
		"taro@ＥＸＡＭＰＬＥ。ＣＯＭ",
		"taro@bücher.example",
		"taro@xn--bcher-kva.example",
		"taro@例え.テスト",
		"taro@faß.de",
		"taro@example.com.",
		"a..b@example.com",
		"@example.com",
		"taro@",
		"taro",
		"a@b@c",
		"taro@-x.com",
		"taro@xn--zz.com",
		"\xff@\xfe.com",
		strings.Repeat("x", 64) + "@" + domainOfLength(189),
		strings.Repeat("x", 65) + "@example.com",
		"taro@" + domainOfLength(254),
		"x@a\u200d.com",
		"x@\u0627\u0644.com",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		local, domain, err := ParseID(id)
		if err != nil {
			if local != "" || domain != "" {
				t.Fatalf("ParseID(%q) returned parts with an error", id)
			}
			if e := AsError(err); e.Kind != ErrInvalid || e.Code == "internal" {
				t.Fatalf("ParseID(%q): %v is not an invalid-input error", id, err)
			}
			return
		}
		if len(local) == 0 || len(local) > MaxLocalPartLength {
			t.Fatalf("ParseID(%q): local part %q of %d bytes", id, local, len(local))
		}
		if len(domain) == 0 || len(domain) > MaxDomainLength || len(local)+1+len(domain) > MaxIDLength {
			t.Fatalf("ParseID(%q): domain %q of %d bytes, ID of %d", id, domain, len(domain), len(local)+1+len(domain))
		}
		for i := 0; i < len(domain); i++ {
			c := domain[i]
			if c >= 0x80 || c >= 'A' && c <= 'Z' {
				t.Fatalf("ParseID(%q): domain %q is not lower-case ASCII", id, domain)
			}
		}
		local2, domain2, err := ParseID(local + "@" + domain)
		if err != nil || local2 != local || domain2 != domain {
			t.Fatalf("ParseID(%q) = %q@%q, but that parses as %q@%q, %v", id, local, domain, local2, domain2, err)
		}
		if d, err := NormalizeDomain(domain); err != nil || d != domain {
			t.Fatalf("NormalizeDomain(%q) = %q, %v; not idempotent", domain, d, err)
		}
	})
}
