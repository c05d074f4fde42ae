package kizuna

import "github.com/oklog/ulid/v2"

// NewID returns a new stable key: a ULID, which sorts by creation time so
// that "after this ID" is a stable pagination cursor.
func NewID() string { return ulid.Make().String() }
