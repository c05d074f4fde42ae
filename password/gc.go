package password

import (
	"os"
	"runtime/debug"
	"sync"
	"time"
)

// gcPercentWhileHashing is the collector's GOGC while argon2id runs.
// Each run allocates its memory (19 MiB at OWASP's parameters) afresh,
// pointer-free and dead a few milliseconds later, yet it counts toward the
// heap growth that starts a collection: at the default GOGC of 100 a
// sign-in storm on a server with a modest live heap collected every few
// hashes, and each collection scanned the stacks of every sign-in waiting
// for a slot, which cost about a fifth of the sign-in rate. Letting the
// heap grow to three times the live size while hashes run (a few dozen
// MiB more, bounded, since the hasher bounds the runs in flight) brings
// the rate back to within a few percent of the raw hash rate.
const gcPercentWhileHashing = 200

// gcRestoreAfter is how long the hasher must be idle before GOGC goes
// back: lowering it can start a collection at once, which should not
// happen between two hashes of a storm.
const gcRestoreAfter = time.Second

// gcTuner raises GOGC while hashes run. It does nothing when the operator
// set GOGC: their choice stands.
type gcTuner struct {
	mu      sync.Mutex
	enabled bool
	running int
	raised  bool
	saved   int
	idle    *time.Timer
}

var hashingGC = &gcTuner{enabled: os.Getenv("GOGC") == ""}

func (g *gcTuner) start() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.enabled {
		return
	}
	g.running++
	if g.idle != nil {
		g.idle.Stop()
	}
	if !g.raised {
		g.saved = debug.SetGCPercent(gcPercentWhileHashing)
		g.raised = true
	}
}

func (g *gcTuner) end() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.enabled {
		return
	}
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

// restore puts GOGC back once no hash has run for gcRestoreAfter.
func (g *gcTuner) restore() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running == 0 && g.raised {
		debug.SetGCPercent(g.saved)
		g.raised = false
	}
}
