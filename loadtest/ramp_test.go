package loadtest

import (
	"testing"
	"time"
)

// TestRampOffset: the senders start evenly over the ramp-up, the first at
// once and the last one step before its end; no ramp-up starts them all.
func TestRampOffset(t *testing.T) {
	for _, c := range []struct {
		k, n int
		d    time.Duration
		want time.Duration
	}{
		{0, 4, 4 * time.Second, 0},
		{1, 4, 4 * time.Second, time.Second},
		{3, 4, 4 * time.Second, 3 * time.Second},
		{999, 1000, 10 * time.Second, 9990 * time.Millisecond},
		{5, 10, 0, 0},
		{0, 0, time.Second, 0},
	} {
		if got := rampOffset(c.k, c.n, c.d); got != c.want {
			t.Errorf("rampOffset(%d, %d, %v) = %v, want %v", c.k, c.n, c.d, got, c.want)
		}
	}
}
