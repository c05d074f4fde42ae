package service

import (
	"testing"
	"time"
)

// TestTalkCommitHistogram: each commit lands in the first bucket whose
// bound it does not exceed; one past the last bound counts only in the
// total (Prometheus's +Inf).
func TestTalkCommitHistogram(t *testing.T) {
	if got, want := len(counters{}.talkCommits), len(talkCommitBounds)+1; got != want {
		t.Fatalf("%d commit buckets for %d bounds: want %d", got, len(talkCommitBounds), want)
	}
	s := &Services{Auth: &AuthService{deps: &deps{}}}
	c := &s.Auth.deps.counters
	c.observeTalkCommit(3, 300*time.Microsecond) // ≤ 0.5 ms
	c.observeTalkCommit(1, time.Millisecond)     // exactly 1 ms: the 1 ms bucket
	c.observeTalkCommit(50, 40*time.Millisecond) // ≤ 50 ms
	c.observeTalkCommit(2, time.Minute)          // past every bound
	st := s.Stats()
	h := st.TalkCommits
	at := func(bound float64) uint64 {
		for i, b := range h.Bounds {
			if b == bound {
				return h.Counts[i]
			}
		}
		t.Fatalf("no bound %v", bound)
		return 0
	}
	if at(.0005) != 1 || at(.001) != 1 || at(.05) != 1 || at(.025) != 0 {
		t.Errorf("buckets = %v over %v", h.Counts, h.Bounds)
	}
	if h.Count != 4 || st.TalkOps != 56 {
		t.Errorf("count %d, ops %d; want 4 and 56", h.Count, st.TalkOps)
	}
	if want := (300*time.Microsecond + time.Millisecond + 40*time.Millisecond + time.Minute).Seconds(); h.Sum < want-1e-9 || h.Sum > want+1e-9 {
		t.Errorf("sum = %v, want %v", h.Sum, want)
	}
}
