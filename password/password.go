// Package password hashes and verifies account secrets.
//
// Passwords people choose are hashed with argon2id at OWASP's recommended
// parameters (19 MiB, 2 passes, 1 lane). Each hash takes that much memory,
// so a Hasher bounds how many run at once: a flood of sign-ins waits in
// line instead of exhausting memory.
//
// Generated initial passwords carry at least 80 bits of entropy; guessing
// one is hopeless with any hash, so they are stored with salted SHA-256 and
// a bulk import of 100,000 members does not spend 100,000 argon2 runs.
package password

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// OWASP is the OWASP Password Storage Cheat Sheet's argon2id setting.
var OWASP = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// Hasher hashes and verifies passwords with a bound on concurrent argon2id
// runs. The zero value is not usable; call NewHasher.
type Hasher struct {
	params Params
	slots  chan struct{}
	// dummy is a valid hash verified when there is no real one, so that an
	// unknown ID costs as much time as a known one.
	dummy string
}

// NewHasher returns a hasher with at most maxConcurrent argon2id runs in
// flight; 0 means one per CPU.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{params: p, slots: make(chan struct{}, maxConcurrent)}
	h.dummy = h.encodeArgon2(make([]byte, 16), argon2.IDKey([]byte("dummy"), make([]byte, 16), p.Time, p.MemoryKiB, p.Threads, 32))
	return h
}

// Params returns the hasher's argon2id parameters.
func (h *Hasher) Params() Params { return h.params }

func (h *Hasher) acquire(ctx context.Context) error {
	// A select with a free slot and a done context picks either at random:
	// check first, so that a caller who has gone never runs argon2id.
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.slots <- struct{}{}:
		hashingGC.start()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() {
	hashingGC.end()
	<-h.slots
}

// Hash returns the argon2id hash of a chosen password in PHC string form.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, 32)
	return h.encodeArgon2(salt, key), nil
}

func (h *Hasher) encodeArgon2(salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.MemoryKiB, h.params.Time, h.params.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// HashGenerated returns a fast salted SHA-256 hash, for generated
// high-entropy initial passwords only (see the package comment).
func HashGenerated(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	sum := sha256.Sum256(append(salt, password...))
	b64 := base64.RawStdEncoding
	return "$sha256$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(sum[:])
}

// ErrMalformedHash is returned for a stored hash this package cannot read.
var ErrMalformedHash = errors.New("password: malformed hash")

// Verify reports whether password matches the stored hash. With an empty
// hash (no such account) it still does one argon2id run and returns false,
// so callers spend the same time on unknown IDs. Verifying a fast hash also
// spends one argon2id run, for the same reason.
func (h *Hasher) Verify(ctx context.Context, hash, password string) (bool, error) {
	switch {
	case hash == "":
		_, err := h.verifyArgon2(ctx, h.dummy, password)
		return false, err
	case strings.HasPrefix(hash, "$sha256$"):
		ok, err := verifySHA256(hash, password)
		if err != nil {
			return false, err
		}
		if _, err := h.verifyArgon2(ctx, h.dummy, password); err != nil {
			return false, err
		}
		return ok, nil
	case strings.HasPrefix(hash, "$argon2id$"):
		return h.verifyArgon2(ctx, hash, password)
	}
	return false, ErrMalformedHash
}

func verifySHA256(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$") // "", "sha256", salt, sum
	if len(parts) != 4 {
		return false, ErrMalformedHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[2])
	want, err2 := b64.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false, ErrMalformedHash
	}
	got := sha256.Sum256(append(salt, password...))
	return subtle.ConstantTimeCompare(got[:], want) == 1, nil
}

func (h *Hasher) verifyArgon2(ctx context.Context, hash, password string) (bool, error) {
	parts := strings.Split(hash, "$") // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 {
		return false, ErrMalformedHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil || p.Time < 1 || p.Threads < 1 {
		// argon2.IDKey panics on zero passes or lanes.
		return false, ErrMalformedHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, ErrMalformedHash
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// generatedAlphabet has no look-alike characters (no 0/O, 1/l/I).
const generatedAlphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY346789"

// Generate returns a readable random password of four groups of four
// characters ("Kq7m-xT3c-..."): about 90 bits of entropy.
func Generate() string {
	var b strings.Builder
	buf := make([]byte, 16)
	rand.Read(buf)
	for i, c := range buf {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		// 256 % 51 bias is below 0.4% per character; entropy stays ~90 bits.
		b.WriteByte(generatedAlphabet[int(c)%len(generatedAlphabet)])
	}
	return b.String()
}
