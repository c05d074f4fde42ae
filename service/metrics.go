package service

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/kizuna-chat/kizuna/store"
)

// Stats are counts of what the services did since they started, for
// metrics. They are plain atomics read at scrape time, so the send and
// sign-in paths pay one atomic add and know nothing of Prometheus.
type Stats struct {
	// MessagesSent counts committed sends; a retried send answered with
	// the stored message (same client_msg_id) is not counted again.
	MessagesSent int64
	// SignInFailures counts sign-ins refused for a wrong ID or password.
	SignInFailures int64
	// TalkCommits is how long the talk writer's commits took (the store's
	// transaction, then publishing and answering): every talk write waits
	// for one, so its tail is the tail of sending. TalkOps counts the
	// writes they carried (ops per commit is the batching).
	TalkCommits Histogram
	TalkOps     int64
}

// Histogram is a distribution of seconds: Counts[i] observations at most
// Bounds[i] (not cumulative), Count and Sum over all of them.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// talkCommitBounds reach from a small batch on an idle server to a commit
// stuck behind a large import.
var talkCommitBounds = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// counters are the live values behind Stats, shared by every service.
type counters struct {
	messagesSent   atomic.Int64
	signInFailures atomic.Int64

	talkCommits     [15]atomic.Uint64 // per talkCommitBounds (14), then above the last
	talkCommitNanos atomic.Int64
	talkOps         atomic.Int64
}

// observeTalkCommit records one commit of ops writes that took d.
func (c *counters) observeTalkCommit(ops int, d time.Duration) {
	i, _ := slices.BinarySearch(talkCommitBounds, d.Seconds())
	c.talkCommits[i].Add(1)
	c.talkCommitNanos.Add(int64(d))
	c.talkOps.Add(int64(ops))
}

// Stats returns the counts so far.
func (s *Services) Stats() Stats {
	c := &s.Auth.deps.counters
	h := Histogram{Bounds: talkCommitBounds, Counts: make([]uint64, len(talkCommitBounds))}
	for i := range c.talkCommits {
		n := c.talkCommits[i].Load()
		if i < len(h.Counts) {
			h.Counts[i] = n
		}
		h.Count += n
	}
	h.Sum = time.Duration(c.talkCommitNanos.Load()).Seconds()
	return Stats{MessagesSent: c.messagesSent.Load(), SignInFailures: c.signInFailures.Load(), TalkCommits: h, TalkOps: c.talkOps.Load()}
}

// countSent counts the committed, first-time sends of a talk batch.
func (d *deps) countSent(ops []store.TalkOp, results []store.TalkResult) {
	n := int64(0)
	for i, op := range ops {
		if op.Kind == store.OpSend && i < len(results) && results[i].Err == nil && !results[i].Duplicate {
			n++
		}
	}
	if n > 0 {
		d.counters.messagesSent.Add(n)
	}
}
