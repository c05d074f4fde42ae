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
//   - Hashing (400) while password hashes run: each allocates its 19 MiB
//     afresh (see package password).
//   - Quiet (50) while allocation is slow enough that collections at 50
//     would still come no more than every quietCycle.
//   - Busy (200 or more) while allocation is fast enough that collections
//     at 100 would come more often than every busyCycle: a server under
//     load has memory to spare for the garbage, and each collection slows
//     every goroutine while it marks. The percent is what spaces
//     collections busyCycle apart (see BusyPercent), as long as the
//     garbage stays within busyHeadroom.
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
	Busy    = 200
	Hashing = 400
)

// quietCycle is the shortest interval between collections at Quiet for
// the process to count as quiet. Marking a live heap of 50 MiB (10,000
// idle connections) takes a few dozen milliseconds of CPU: a fraction of
// a percent at one collection every ten seconds.
const quietCycle = 10 * time.Second

// busyCycle is the interval between collections at Normal below which
// the process counts as busy, and the interval Busy aims for. At 5,000
// messages/s the talk profile collected about 4.5 times a second, each
// marking for about 20 ms with every goroutine paying write barriers and
// assists meanwhile; at 200, half as often, p99 send-to-delivery fell
// from 26.6-27.2 ms to 19.4-20.4 ms for about 60 MiB more heap. Its live
// heap is only 8-9 MiB, so 200 still collected 2.7 times a second; once a
// second (about 700) gave 17.1-18.2 ms against 17.4-26.0 (BENCHMARKS.md).
const busyCycle = time.Second

// busyHeadroom bounds the garbage Busy lets pile up beyond the live heap:
// a server with a large live heap stays at Busy's floor.
const busyHeadroom = 128 << 20

// BusyPercent is the percent at which allocating allocPerSecond bytes a
// second, with live bytes of live heap, collects once every busyCycle:
// at least Busy, and at most what lets garbage reach busyHeadroom (unless
// that is under Busy).
func BusyPercent(allocPerSecond, live float64) int {
	live = max(live, 1<<20) // a heap just starting would get no bound
	need := allocPerSecond * busyCycle.Seconds() / live * 100
	return int(max(min(need, busyHeadroom/live*100), Busy))
}

// Allocation is how fast the process makes garbage, as Watch sees it.
type Allocation int

const (
	AllocationNormal Allocation = iota
	AllocationSlow              // collections at Quiet would be quietCycle apart or more
	AllocationFast              // collections at Normal would be under busyCycle apart
)

// Policy holds what the process is doing and applies the percent it
// calls for.
type Policy struct {
	mu      sync.Mutex
	enabled bool
	set     func(int) int // debug.SetGCPercent, or a test's
	hashing bool
	alloc   Allocation
	busy    int // the percent while allocation is fast
	current int
}

// New returns a policy that applies percents with set, or changes
// nothing when not enabled. It assumes the process runs at Normal.
func New(enabled bool, set func(int) int) *Policy {
	return &Policy{enabled: enabled, set: set, busy: Busy, current: Normal}
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

// SetAllocation records how fast the process allocates (see
// ClassifyAllocation).
func (p *Policy) SetAllocation(a Allocation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.alloc = a
	p.apply()
}

// SetBusyPercent sets the percent while allocation is fast (see
// BusyPercent); below Busy counts as Busy.
func (p *Policy) SetBusyPercent(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.busy = max(n, Busy)
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
	case p.alloc == AllocationFast:
		want = p.busy
	case p.alloc == AllocationSlow:
		want = Quiet
	}
	if want != p.current {
		p.set(want)
		p.current = want
	}
}

// ClassifyAllocation says whether allocating allocPerSecond bytes a
// second, with live bytes of live heap, is slow (a collection at Quiet no
// more often than every quietCycle), fast (one at Normal more often than
// every busyCycle) or neither.
func ClassifyAllocation(allocPerSecond, live float64) Allocation {
	switch {
	case allocPerSecond*quietCycle.Seconds() < live*Quiet/100:
		return AllocationSlow
	case allocPerSecond*busyCycle.Seconds() > live*Normal/100:
		return AllocationFast
	}
	return AllocationNormal
}

// Watch samples the allocation rate every interval until ctx ends. The
// process counts as slow after two slow samples in a row, and as fast or
// normal after one such sample: a burst gets its percent at once, and one
// lull between bursts does not drop it to Quiet.
func (p *Policy) Watch(ctx context.Context, every time.Duration) {
	samples := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(samples)
	lastAlloc, lastAt := samples[0].Value.Uint64(), time.Now()
	slowRuns := 0
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
		live := float64(samples[1].Value.Uint64())
		a := ClassifyAllocation(rate, live)
		if a == AllocationSlow {
			slowRuns++
			if slowRuns < 2 {
				a = AllocationNormal
			}
		} else {
			slowRuns = 0
		}
		if a == AllocationFast {
			p.SetBusyPercent(BusyPercent(rate, live))
		}
		p.SetAllocation(a)
	}
}
