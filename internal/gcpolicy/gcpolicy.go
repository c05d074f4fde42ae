// Package gcpolicy sets the collector's GOGC from what the process is
// doing, in one place.
//
// GOGC trades memory for the collector's CPU: a collection costs about the
// marking of the live heap, and a higher GOGC makes collections rarer by
// letting garbage grow further, up to (1 + GOGC/100) times the live heap.
// The trade pays only while garbage comes fast. A chat server spends most
// of its life holding idle connections that make little garbage: there a
// collection every few seconds costs nothing worth counting, while the
// garbage allowed to pile up is memory every connection pays for (at the
// default GOGC, about 2 KiB of an idle WebSocket's 16). So:
//
//   - Hashing (200) while password hashes run: each allocates its 19 MiB
//     afresh (see package password).
//   - Quiet (50) while allocation is slow enough that collections at 50
//     would still come no more than every quietCycle.
//   - Normal (100, Go's default) otherwise.
//
// An operator who sets GOGC keeps it: the policy then changes nothing.
package gcpolicy

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"
)

// The percents the policy chooses between.
const (
	Quiet   = 50
	Normal  = 100
	Hashing = 200
)

// quietCycle is the shortest interval between collections at Quiet for
// the process to count as quiet. Marking a live heap of 50 MiB (10,000
// idle connections) takes a few dozen milliseconds of CPU: a fraction of
// a percent at one collection every ten seconds.
const quietCycle = 10 * time.Second

// Policy holds what the process is doing and applies the percent it
// calls for.
type Policy struct {
	mu      sync.Mutex
	enabled bool
	set     func(int) int // debug.SetGCPercent, or a test's
	hashing bool
	quiet   bool
	current int
}

// New returns a policy that applies percents with set, or changes
// nothing when not enabled. It assumes the process runs at Normal.
func New(enabled bool, set func(int) int) *Policy {
	return &Policy{enabled: enabled, set: set, current: Normal}
}

// Process is the policy of this process; it is disabled when the GOGC
// environment variable is set.
var Process = processPolicy(os.Getenv("GOGC"))

func processPolicy(env string) *Policy {
	p := New(env == "", debug.SetGCPercent)
	switch n, err := strconv.Atoi(env); {
	case env == "off":
		p.current = -1
	case err == nil:
		p.current = n
	}
	return p
}

// SetHashing records whether password hashes are running.
func (p *Policy) SetHashing(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hashing = on
	p.apply()
}

// SetQuiet records whether allocation is slow (see QuietAllocation).
func (p *Policy) SetQuiet(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.quiet = on
	p.apply()
}

// Percent returns the percent in force: the policy's choice, or the GOGC
// the operator set (-1 for off).
func (p *Policy) Percent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
}

func (p *Policy) apply() {
	if !p.enabled {
		return
	}
	want := Normal
	switch {
	case p.hashing:
		want = Hashing
	case p.quiet:
		want = Quiet
	}
	if want != p.current {
		p.set(want)
		p.current = want
	}
}

// QuietAllocation reports whether allocating allocPerSecond bytes a
// second, with live bytes of live heap, would start a collection at Quiet
// no more often than every quietCycle.
func QuietAllocation(allocPerSecond, live float64) bool {
	return allocPerSecond*quietCycle.Seconds() < live*Quiet/100
}

// Watch samples the allocation rate every interval until ctx ends, and
// marks the process quiet after two quiet samples in a row, busy again
// after one busy sample: a burst gets Normal at once, and one lull
// between bursts does not drop it.
func (p *Policy) Watch(ctx context.Context, every time.Duration) {
	samples := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(samples)
	lastAlloc, lastAt := samples[0].Value.Uint64(), time.Now()
	quietRuns := 0
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(samples)
		alloc, now := samples[0].Value.Uint64(), time.Now()
		rate := float64(alloc-lastAlloc) / now.Sub(lastAt).Seconds()
		lastAlloc, lastAt = alloc, now
		if QuietAllocation(rate, float64(samples[1].Value.Uint64())) {
			quietRuns++
		} else {
			quietRuns = 0
		}
		p.SetQuiet(quietRuns >= 2)
	}
}
