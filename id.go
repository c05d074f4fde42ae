package kizuna

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/width"
)

// Limits on the parts of an ID. A full ID stays within the 254 characters
// of an e-mail address so that it can also serve as a contact address.
const (
	MaxLocalPartLength = 64
	MaxDomainLength    = 253
	MaxIDLength        = 254
)

// domainProfile validates and maps domain names the way browsers and DNS
// registries do (UTS #46, non-transitional): it lower-cases, folds width
// and normalizes, so "ＥＸＡＭＰＬＥ.com" and "Example.COM" are the same domain.
var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
)

var displayProfile = idna.New(idna.MapForLookup(), idna.Transitional(false))

// NormalizeDomain validates a domain name (R1) and returns its canonical,
// lower-case ASCII form (Unicode labels become "xn--" labels). It returns an
// invalid_domain error for anything that is not a DNS host name with at
// least two labels.
func NormalizeDomain(name string) (string, error) {
	if name == "" {
		return "", Errorf(ErrInvalid, "invalid_domain", "A domain name is required.")
	}
	if !utf8.ValidString(name) {
		return "", Errorf(ErrInvalid, "invalid_domain", "The domain name is not valid UTF-8.")
	}
	if len(name) > 4*MaxDomainLength {
		return "", Errorf(ErrInvalid, "invalid_domain", "The domain name is longer than %d characters.", MaxDomainLength)
	}
	ascii, err := domainProfile.ToASCII(name)
	if err != nil {
		return "", Errorf(ErrInvalid, "invalid_domain", "%q is not a valid domain name: use letters, digits and hyphens in dot-separated labels, none starting or ending with a hyphen.", truncate(name, 80))
	}
	ascii = strings.TrimSuffix(ascii, ".")
	if len(ascii) > MaxDomainLength {
		return "", Errorf(ErrInvalid, "invalid_domain", "The domain name is longer than %d characters.", MaxDomainLength)
	}
	if !strings.Contains(ascii, ".") {
		return "", Errorf(ErrInvalid, "invalid_domain", "%q needs at least two labels, such as example.com.", truncate(name, 80))
	}
	labels := strings.Split(ascii, ".")
	for _, label := range labels {
		if label == "" {
			return "", Errorf(ErrInvalid, "invalid_domain", "%q has an empty label.", truncate(name, 80))
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", Errorf(ErrInvalid, "invalid_domain", "%q looks like an address, not a domain name.", truncate(name, 80))
	}
	return ascii, nil
}

// DisplayDomain returns the Unicode form of a canonical domain for people to
// read; it returns the input unchanged if it cannot be decoded.
func DisplayDomain(ascii string) string {
	u, err := displayProfile.ToUnicode(ascii)
	if err != nil {
		return ascii
	}
	return u
}

// NormalizeLocalPart validates the part of an ID before "@" and returns it
// lower-cased. Allowed: ASCII letters, digits, ".", "_" and "-", 1 to 64
// characters, starting and ending with a letter or digit, no "..".
func NormalizeLocalPart(local string) (string, error) {
	if local == "" {
		return "", Errorf(ErrInvalid, "invalid_local_part", "The part of the ID before @ is required.")
	}
	if len(local) > MaxLocalPartLength {
		return "", Errorf(ErrInvalid, "invalid_local_part", "The part of the ID before @ is longer than %d characters.", MaxLocalPartLength)
	}
	// Full-width letters and digits ("ｔａｒｏ") are the same ID as their
	// ASCII forms, as they are for domains.
	lower := strings.ToLower(width.Narrow.String(local))
	for i := 0; i < len(lower); i++ {
		c := lower[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if alnum {
			continue
		}
		if c != '.' && c != '_' && c != '-' {
			return "", Errorf(ErrInvalid, "invalid_local_part", "%q may contain only letters, digits, '.', '_' and '-'.", truncate(local, 80))
		}
		if i == 0 || i == len(lower)-1 {
			return "", Errorf(ErrInvalid, "invalid_local_part", "%q must start and end with a letter or digit.", truncate(local, 80))
		}
		if c == '.' && lower[i-1] == '.' {
			return "", Errorf(ErrInvalid, "invalid_local_part", "%q must not contain '..'.", truncate(local, 80))
		}
	}
	return lower, nil
}

// ParseID splits and normalizes a member ID "local@domain".
func ParseID(id string) (local, domain string, err error) {
	if len(id) > 4*MaxIDLength {
		return "", "", Errorf(ErrInvalid, "invalid_id", "The ID is longer than %d characters.", MaxIDLength)
	}
	at := strings.LastIndexByte(id, '@')
	if at < 0 {
		return "", "", Errorf(ErrInvalid, "invalid_id", "An ID has the form name@domain.")
	}
	if local, err = NormalizeLocalPart(id[:at]); err != nil {
		return "", "", err
	}
	if domain, err = NormalizeDomain(id[at+1:]); err != nil {
		return "", "", err
	}
	if len(local)+1+len(domain) > MaxIDLength {
		return "", "", Errorf(ErrInvalid, "invalid_id", "The ID is longer than %d characters.", MaxIDLength)
	}
	return local, domain, nil
}

// NormalizeHandle validates the handle of a personal account. Handles share
// the local-part alphabet and never contain "@", so a sign-in name tells
// members ("x@domain") and personal accounts ("x") apart.
func NormalizeHandle(handle string) (string, error) {
	h, err := NormalizeLocalPart(handle)
	if err != nil {
		e := AsError(err)
		return "", Errorf(ErrInvalid, "invalid_handle", "%s", strings.Replace(e.Message, "The part of the ID before @", "The handle", 1))
	}
	return h, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
