package service

import (
	"sync/atomic"

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
}

// counters are the live values behind Stats, shared by every service.
type counters struct {
	messagesSent   atomic.Int64
	signInFailures atomic.Int64
}

// Stats returns the counts so far.
func (s *Services) Stats() Stats {
	c := &s.Auth.deps.counters
	return Stats{MessagesSent: c.messagesSent.Load(), SignInFailures: c.signInFailures.Load()}
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
