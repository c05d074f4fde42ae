package password

import (
	"context"
	"os"
	"runtime/debug"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/internal/gcpolicy"
)

// gcPercent reads GOGC (setting it back at once).
func gcPercent() int {
	v := debug.SetGCPercent(100)
	debug.SetGCPercent(v)
	return v
}

// TestGCRaisedWhileHashing: GOGC goes up while a hash holds a slot, stays
// up between the hashes of a storm, and goes back once the hasher has
// been idle for gcRestoreAfter.
func TestGCRaisedWhileHashing(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set: the hasher leaves the collector alone")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	h := NewHasher(Params{MemoryKiB: 64, Time: 1, Threads: 1}, 1)
	ctx := context.Background()
	if err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if got := gcPercent(); got != gcpolicy.Hashing {
		t.Fatalf("GOGC while hashing = %d, want %d", got, gcpolicy.Hashing)
	}
	h.release()
	if got := gcPercent(); got != gcpolicy.Hashing {
		t.Fatalf("GOGC right after a hash = %d: it must not drop between the hashes of a storm", got)
	}
	if _, err := h.Hash(ctx, "another one"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(gcRestoreAfter + 2*time.Second)
	for gcPercent() != 100 {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC = %d %v after the last hash, want 100 back", gcPercent(), gcRestoreAfter+2*time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
