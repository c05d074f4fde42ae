package kizuna

import "github.com/oklog/ulid/v2"

// NewID returns a new stable key: a ULID, which sorts by creation time so
// that "after this ID" is a stable pagination cursor.
func NewID() string { return ulid.Make().String() }

// IsID reports whether s has the form of a key made by NewID (26
// characters of Crockford's base32), telling account keys from sign-in
// IDs in requests that accept either.
func IsID(s string) bool {
	if len(s) != ulid.EncodedSize {
		return false
	}
	_, err := ulid.ParseStrict(s)
	return err == nil
}
