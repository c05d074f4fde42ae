package gcpolicy

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// recorder is a SetGCPercent that remembers what it was given.
type recorder struct{ calls []int }

func (r *recorder) set(p int) int {
	r.calls = append(r.calls, p)
	return 0
}

func TestPolicyChoosesPercent(t *testing.T) {
	var r recorder
	p := New(true, r.set)
	steps := []struct {
		name      string
		do        func()
		want      int
		wantCalls int
	}{
		{"quiet", func() { p.SetAllocation(AllocationSlow) }, Quiet, 1},
		{"hashing wins over quiet", func() { p.SetHashing(true) }, Hashing, 2},
		{"normal while hashing changes nothing", func() { p.SetAllocation(AllocationNormal) }, Hashing, 2},
		{"hashing ends, normal", func() { p.SetHashing(false) }, Normal, 3},
		{"normal again is no call", func() { p.SetAllocation(AllocationNormal) }, Normal, 3},
		{"fast allocation", func() { p.SetAllocation(AllocationFast) }, Busy, 4},
		{"hashing while busy", func() { p.SetHashing(true) }, Hashing, 5},
		{"hashing ends, still busy", func() { p.SetHashing(false) }, Busy, 6},
		{"busy with a small live heap", func() { p.SetBusyPercent(700) }, 700, 7},
		{"hashing while busier than hashing", func() { p.SetHashing(true) }, Hashing, 8},
		{"hashing ends, busy at 700 again", func() { p.SetHashing(false) }, 700, 9},
		{"under Busy counts as Busy", func() { p.SetBusyPercent(120) }, Busy, 10},
		{"quiet again", func() { p.SetAllocation(AllocationSlow) }, Quiet, 11},
		{"a busy percent while quiet waits for busy", func() { p.SetBusyPercent(900) }, Quiet, 11},
		{"busy again", func() { p.SetAllocation(AllocationFast) }, 900, 12},
	}
	for _, s := range steps {
		s.do()
		if got := p.Percent(); got != s.want {
			t.Errorf("%s: percent %d, want %d", s.name, got, s.want)
		}
		if len(r.calls) != s.wantCalls {
			t.Errorf("%s: %d calls to SetGCPercent (%v), want %d", s.name, len(r.calls), r.calls, s.wantCalls)
		}
	}
}

// TestOperatorGOGCStands: a disabled policy (GOGC set) never calls
// SetGCPercent.
func TestOperatorGOGCStands(t *testing.T) {
	var r recorder
	p := New(false, r.set)
	p.SetAllocation(AllocationSlow)
	p.SetAllocation(AllocationFast)
	p.SetHashing(true)
	if len(r.calls) != 0 || p.Percent() != Normal {
		t.Errorf("disabled policy called SetGCPercent %v, percent %d", r.calls, p.Percent())
	}
}

func TestProcessPolicyReportsOperatorGOGC(t *testing.T) {
	for env, want := range map[string]int{"": Normal, "400": 400, "off": -1, "junk": Normal} {
		p := processPolicy(env)
		if p.enabled != (env == "") || p.Percent() != want {
			t.Errorf("GOGC=%q: enabled %v, percent %d; want %v, %d", env, p.enabled, p.Percent(), env == "", want)
		}
	}
}

func TestClassifyAllocation(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		alloc, live float64
		want        Allocation
	}{
		{1 * mib, 50 * mib, AllocationSlow},    // 10,000 idle connections: a cycle at 50 every 25 s
		{5 * mib, 50 * mib, AllocationNormal},  // every 5 s at 50, every 10 s at 100
		{40 * mib, 60 * mib, AllocationNormal}, // a cycle at 100 every 1.5 s
		{270 * mib, 60 * mib, AllocationFast},  // 4.5 cycles a second at 100, as the talk profile at 5,000/s
		{0, 0, AllocationNormal},               // nothing live, nothing to save
	} {
		if got := ClassifyAllocation(c.alloc, c.live); got != c.want {
			t.Errorf("ClassifyAllocation(%.0f MiB/s, %.0f MiB live) = %v, want %v", c.alloc/mib, c.live/mib, got, c.want)
		}
	}
}

func TestBusyPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		alloc, live float64
		want        int
	}{
		{58 * mib, 8 * mib, 725},     // the talk profile at 5,000/s: once a second
		{300 * mib, 8 * mib, 1600},   // faster still: the garbage stops at busyHeadroom
		{12 * mib, 8 * mib, Busy},    // a cycle every 2 s at 200 already
		{300 * mib, 200 * mib, Busy}, // a large live heap stays at the floor
		{100 * mib, 0, 10000},        // nothing live yet: counted as 1 MiB
	} {
		if got := BusyPercent(c.alloc, c.live); got != c.want {
			t.Errorf("BusyPercent(%.0f MiB/s, %.0f MiB live) = %d, want %d", c.alloc/mib, c.live/mib, got, c.want)
		}
	}
}

// TestWatchMarksQuietAndBusy runs the watcher on this process: quiet
// after two idle samples, busy as soon as a sample sees fast allocation,
// and back to quiet when it stops.
func TestWatchMarksQuietAndBusy(t *testing.T) {
	var r recorder
	p := New(true, r.set)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A live heap big enough that the test's own garbage is slow beside it.
	ballast := make([][]byte, 64)
	for i := range ballast {
		ballast[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	go p.Watch(ctx, 50*time.Millisecond)
	waitFor(t, p, Quiet)
	// Allocate fast: about 64 MiB in each sample.
	stop := make(chan struct{})
	go func() {
		var sink []byte
		for {
			select {
			case <-stop:
				return
			default:
				sink = make([]byte, 1<<20)
				_ = sink
			}
		}
	}()
	waitFor(t, p, Busy)
	close(stop)
	waitFor(t, p, Quiet)
	runtime.KeepAlive(ballast)
}

func waitFor(t *testing.T, p *Policy, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.Percent() != want {
		if time.Now().After(deadline) {
			t.Fatalf("percent %d after 5 s, want %d", p.Percent(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
