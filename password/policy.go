package password

import (
	_ "embed"
	"strings"
	"unicode/utf8"

	"github.com/kizuna-chat/kizuna"
)

// Policy limits, after NIST SP 800-63B: a minimum length, a generous
// maximum, a block list of common passwords, and no composition rules.
const (
	MinLength = 10
	MaxLength = 128
)

//go:embed common.txt
var commonList string

var common = func() map[string]bool {
	m := make(map[string]bool)
	for _, line := range strings.Split(commonList, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
}()

// CheckPolicy returns an invalid "weak_password" error when pw is too short,
// too long, common, or is built from one of the avoid words (the account's
// ID or name).
func CheckPolicy(pw string, avoid ...string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return kizuna.Errorf(kizuna.ErrInvalid, "weak_password", "The password is not valid UTF-8.")
	case n < MinLength:
		return kizuna.Errorf(kizuna.ErrInvalid, "weak_password", "The password must have at least %d characters.", MinLength)
	case n > MaxLength:
		return kizuna.Errorf(kizuna.ErrInvalid, "weak_password", "The password must have at most %d characters.", MaxLength)
	}
	lower := strings.ToLower(pw)
	if common[lower] || isRepetitive(lower) {
		return kizuna.Errorf(kizuna.ErrInvalid, "weak_password", "This password is too common or too easy to guess; choose another.")
	}
	for _, w := range avoid {
		if w = strings.ToLower(w); len(w) >= 4 && strings.Contains(lower, w) {
			return kizuna.Errorf(kizuna.ErrInvalid, "weak_password", "The password must not contain your ID or name.")
		}
	}
	return nil
}

// isRepetitive catches "aaaaaaaaaa", "ababababab" and "1234567890"-style runs.
func isRepetitive(s string) bool {
	for period := 1; period <= 3; period++ {
		same := true
		for i := period; i < len(s); i++ {
			if s[i] != s[i-period] {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	// Digits wrap around as on a keyboard row: "1234567890", "3210987654".
	up, down := true, true
	for i := 1; i < len(s); i++ {
		up = up && (s[i] == s[i-1]+1 || s[i-1] == '9' && s[i] == '0')
		down = down && (s[i] == s[i-1]-1 || s[i-1] == '0' && s[i] == '9')
	}
	return up || down
}
