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
		{"quiet", func() { p.SetQuiet(true) }, Quiet, 1},
		{"hashing wins over quiet", func() { p.SetHashing(true) }, Hashing, 2},
		{"busy while hashing changes nothing", func() { p.SetQuiet(false) }, Hashing, 2},
		{"hashing ends, busy", func() { p.SetHashing(false) }, Normal, 3},
		{"busy again is no call", func() { p.SetQuiet(false) }, Normal, 3},
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
	p.SetQuiet(true)
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

func TestQuietAllocation(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		alloc, live float64
		want        bool
	}{
		{1 * mib, 50 * mib, true},    // 10,000 idle connections: a cycle every 25 s
		{5 * mib, 50 * mib, false},   // every 5 s: busy
		{100 * mib, 60 * mib, false}, // talk under load
		{0, 0, false},                // nothing live, nothing to save
	} {
		if got := QuietAllocation(c.alloc, c.live); got != c.want {
			t.Errorf("QuietAllocation(%.0f MiB/s, %.0f MiB live) = %v, want %v", c.alloc/mib, c.live/mib, got, c.want)
		}
	}
}

// TestWatchMarksQuietAndBusy runs the watcher on this process: quiet
// after two idle samples, busy as soon as a sample sees fast allocation.
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
	waitFor(t, p, Normal)
	close(stop)
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
