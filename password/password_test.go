package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna"
)

// small keeps argon2id cheap in tests; one test uses OWASP.
var small = Params{MemoryKiB: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(small, 2)
	hash, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string with the hasher's params", hash)
	}
	if strings.Contains(hash, "correct horse") {
		t.Fatal("the hash contains the password")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"correct horse battery staple", true},
		{"correct horse battery staplE", false},
		{"correct horse battery stapl", false},
		{"", false},
	} {
		ok, err := h.Verify(ctx, hash, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	// Salted: the same password hashes differently each time.
	again, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil || again == hash {
		t.Fatalf("two hashes of one password are equal (%v)", err)
	}
	// The parameters stored in a hash are used, whatever the hasher's own.
	other := NewHasher(Params{MemoryKiB: 128, Time: 2, Threads: 2}, 1)
	if ok, err := other.Verify(ctx, hash, "correct horse battery staple"); err != nil || !ok {
		t.Fatalf("a hasher with other params fails to verify: %v, %v", ok, err)
	}
	if other.Params() != (Params{MemoryKiB: 128, Time: 2, Threads: 2}) || h.Params() != small {
		t.Fatal("Params() does not return the hasher's params")
	}
}

func TestHashOWASP(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(OWASP, 1)
	hash, err := h.Hash(ctx, "tea at noon under the ginkgo")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("OWASP hash = %q", hash)
	}
	if ok, err := h.Verify(ctx, hash, "tea at noon under the ginkgo"); err != nil || !ok {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	if ok, err := h.Verify(ctx, hash, "tea at noon under the maple"); err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v", ok, err)
	}
}

func TestGeneratedHash(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(small, 1)
	pw := Generate()
	hash := HashGenerated(pw)
	if !strings.HasPrefix(hash, "$sha256$") || strings.Contains(hash, pw) {
		t.Fatalf("HashGenerated = %q", hash)
	}
	if HashGenerated(pw) == hash {
		t.Fatal("HashGenerated is not salted")
	}
	if ok, err := h.Verify(ctx, hash, pw); err != nil || !ok {
		t.Fatalf("Verify(generated) = %v, %v", ok, err)
	}
	if ok, err := h.Verify(ctx, hash, Generate()); err != nil || ok {
		t.Fatalf("Verify(other generated) = %v, %v", ok, err)
	}
	if ok, err := h.Verify(ctx, hash, strings.ToLower(pw)); err != nil || ok && strings.ToLower(pw) != pw {
		t.Fatalf("Verify(lower-cased) = %v, %v", ok, err)
	}
}

func TestVerifyNoHash(t *testing.T) {
	h := NewHasher(small, 1)
	for _, pw := range []string{"", "anything", "dummy"} {
		ok, err := h.Verify(context.Background(), "", pw)
		if err != nil || ok {
			t.Errorf("Verify(no hash, %q) = %v, %v; want false, nil", pw, ok, err)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := NewHasher(small, 1)
	good, err := h.Hash(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	for _, hash := range []string{
		"plaintext",
		"$2a$10$bcryptbcryptbcryptbcrypt",
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$extra",
		"$argon2id$v=19$m=sixty,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$!!!$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$!!!",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key, // argon2 would panic
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key, // argon2 would panic
		"$sha256$onlysalt",
		"$sha256$!!!$abcd",
		"$sha256$c2FsdA$!!!",
	} {
		ok, err := h.Verify(context.Background(), hash, "x")
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, %v; want ErrMalformedHash", hash, ok, err)
		}
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		pw := Generate()
		if len(pw) != 19 {
			t.Fatalf("Generate() = %q: %d characters, want 19", pw, len(pw))
		}
		for i, c := range pw {
			if i == 4 || i == 9 || i == 14 {
				if c != '-' {
					t.Fatalf("Generate() = %q: want a dash at %d", pw, i)
				}
				continue
			}
			if strings.ContainsRune("0Oo1lI", c) {
				t.Fatalf("Generate() = %q contains the look-alike %q", pw, c)
			}
			if !strings.ContainsRune(generatedAlphabet, c) {
				t.Fatalf("Generate() = %q contains %q, not in the alphabet", pw, c)
			}
		}
		if seen[pw] {
			t.Fatalf("Generate() repeated %q", pw)
		}
		seen[pw] = true
		if err := CheckPolicy(pw); err != nil {
			t.Fatalf("a generated password fails the policy: %q: %v", pw, err)
		}
	}
	if strings.ContainsAny(generatedAlphabet, "0Oo1lI-") {
		t.Fatal("the alphabet has look-alike characters")
	}
}

func TestCheckPolicy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pw    string
		avoid []string
		ok    bool
	}{
		{"fine passphrase", "correct horse battery staple", nil, true},
		{"fine with avoid words elsewhere", "tea at noon under the ginkgo", []string{"taro", "Taro Yamada"}, true},
		{"exactly the minimum", "k7#pQ2vmxz", nil, true},
		{"exactly the maximum", strings.Repeat("abc7", 32), nil, true},
		{"Japanese passphrase", "きずなの庭で朝のお茶を", nil, true},
		{"avoid words under four characters are ignored", "bob's garden party", []string{"bob"}, true},
		{"empty", "", nil, false},
		{"short", "abc123", nil, false},
		{"nine characters", "k7#pQ2vmx", nil, false},
		{"too long", strings.Repeat("abc7", 32) + "x", nil, false},
		{"invalid UTF-8", "correct horse \xff battery", nil, false},
		{"common", "password123", nil, false},
		{"common, any case", "PassWord123", nil, false},
		{"common, kizuna", "kizuna1234", nil, false},
		{"contains the ID", "my taro.yamada pass", []string{"taro.yamada", "Taro Yamada"}, false},
		{"contains the ID, other case", "Taro.Yamada-2026", []string{"taro.yamada"}, false},
		{"contains the display name", "i am taro yamada!", []string{"taro.yamada", "Taro Yamada"}, false},
		{"repetitive", "aaaaaaaaaa", nil, false},
		{"repetitive, upper case", "AAAAAAAAAAAA", nil, false},
		{"repetitive pairs", "abababababab", nil, false},
		{"repetitive triples", "xyzxyzxyzxyz", nil, false},
		{"sequential", "1234567890", nil, false},
		{"sequential letters", "abcdefghijklm", nil, false},
		{"sequential, descending", "9876543210", nil, false},
		{"sequential digits wrapping around", "2345678901", nil, false},
		{"sequential digits wrapping down", "3210987654", nil, false},
	} {
		err := CheckPolicy(tc.pw, tc.avoid...)
		if tc.ok {
			if err != nil {
				t.Errorf("%s: CheckPolicy(%q) = %v, want nil", tc.name, tc.pw, err)
			}
			continue
		}
		if !errors.Is(err, kizuna.ErrInvalid) || kizuna.ErrorCode(err) != "weak_password" {
			t.Errorf("%s: CheckPolicy(%q) = %v, want weak_password", tc.name, tc.pw, err)
		}
	}
}

// TestConcurrencyBound checks that at most maxConcurrent argon2id runs are
// in flight and that a caller waiting for a slot gives up with its context.
func TestConcurrencyBound(t *testing.T) {
	h := NewHasher(small, 1)
	good, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}

	// A canceled context never runs argon2id, even with a free slot.
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for range 50 {
		if _, err := h.Hash(canceled, "pw"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash(canceled) = %v, want context.Canceled", err)
		}
		if _, err := h.Verify(canceled, good, "pw"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Verify(canceled) = %v, want context.Canceled", err)
		}
	}

	// Take the only slot: every caller now waits.
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	short, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	if _, err := h.Hash(short, "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash while the slot is taken = %v, want context.DeadlineExceeded", err)
	}
	if ok, err := h.Verify(canceled, "", "pw"); ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify(no hash) while the slot is taken = %v, %v; want context.Canceled", ok, err)
	}

	// Two concurrent Hash calls wait for the slot, then both finish.
	var wg sync.WaitGroup
	done := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			_, err := h.Hash(context.Background(), "pw")
			done <- err
		})
	}
	select {
	case err := <-done:
		t.Fatalf("a Hash call finished (%v) while the only slot was taken", err)
	case <-time.After(100 * time.Millisecond):
	}
	h.release()
	wg.Wait()
	close(done)
	for err := range done {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.slots); n != 0 {
		t.Fatalf("%d slots still taken after every call returned", n)
	}
}

func TestNewHasherDefault(t *testing.T) {
	if h := NewHasher(small, 0); cap(h.slots) < 1 {
		t.Fatalf("NewHasher(…, 0) allows %d concurrent runs", cap(h.slots))
	}
}
