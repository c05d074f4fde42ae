package password

import (
	"sync"
	"time"

	"github.com/kizuna-chat/kizuna/internal/gcpolicy"
)

// While argon2id runs the collector runs at gcpolicy.Hashing (GOGC 400).
// Each run allocates its memory (19 MiB at OWASP's parameters) afresh,
// pointer-free and dead a few milliseconds later, yet it counts toward the
// heap growth that starts a collection, and each collection scans the
// stacks of every sign-in waiting for a slot. At the default GOGC of 100 a
// storm on a server with a modest live heap collected every few hashes,
// which cost about a fifth of the sign-in rate. The live heap during a
// storm is about 48 MB, two in-flight hashes of it: at 200 the server
// collected every six hashes (136 collections, 0.95 s of marking in a
// 13 s storm of 500 sign-ins at once, 3.6% of its CPU); at 400 every
// eleven (76, 0.52 s, 2.0%), for a peak RSS of 339 MiB instead of 225.
// The heap stays bounded either way, since the hasher bounds the runs in
// flight (BENCHMARKS.md, eighth session).

// gcRestoreAfter is how long the hasher must be idle before the policy
// hears that hashing ended: lowering GOGC can start a collection at once,
// which should not happen between two hashes of a storm.
const gcRestoreAfter = time.Second

// gcTuner tells the process's GC policy while hashes run.
type gcTuner struct {
	policy  *gcpolicy.Policy
	mu      sync.Mutex
	running int
	idle    *time.Timer
}

var hashingGC = &gcTuner{policy: gcpolicy.Process}

func (g *gcTuner) start() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running++
	if g.idle != nil {
		g.idle.Stop()
	}
	g.policy.SetHashing(true) // changes GOGC only the first time
}

func (g *gcTuner) end() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	if g.running > 0 {
		return
	}
	if g.idle == nil {
		g.idle = time.AfterFunc(gcRestoreAfter, g.restore)
	} else {
		g.idle.Reset(gcRestoreAfter)
	}
}

// restore ends hashing once no hash has run for gcRestoreAfter.
func (g *gcTuner) restore() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running == 0 {
		g.policy.SetHashing(false)
	}
}
