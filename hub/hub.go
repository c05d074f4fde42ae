// Package hub delivers committed events to the connections of the
// accounts they concern. The store is the source of truth: the hub only
// carries what was already committed, and a client that misses something
// (slow, disconnected, on another node) catches up from the store's event
// log. Local fans out within one process; a cluster puts a message bus in
// front of it behind the same interface.
package hub

import (
	"sync"
	"sync/atomic"
)

// Event is one committed change, encoded once and shared by every
// connection it goes to.
type Event struct {
	// Pos is the event's position in the store's log (0 for live-only
	// notices that are not logged).
	Pos int64
	// Recipients are the account IDs the event concerns.
	Recipients []string
	// Everyone sends the event to every connection instead (notices that
	// carry no data, such as "classifications changed: refresh").
	Everyone bool
	// Frame is the encoded message sent to clients as is.
	Frame []byte
	// Control, when set, makes the event an instruction to the server
	// rather than a message for clients: connections of the recipients
	// receive it (e.g. "sessions.changed": re-check your sessions), and the
	// hub's control handler sees every one (e.g. "rooms.reset").
	Control string
}

// Hub publishes events and subscribes connections.
type Hub interface {
	// Publish hands events to their recipients' subscriptions, in order.
	// It never blocks on a subscriber.
	Publish(events []Event)
	// Subscribe registers a connection for the events of accounts.
	Subscribe(accounts []string) *Subscription
}

// DefaultQueueLimit is how many undelivered events a subscription may hold
// before it is dropped as too slow.
const DefaultQueueLimit = 1024

// Local is the in-process hub. The zero value is ready to use.
type Local struct {
	// QueueLimit bounds each subscription's queue; 0 means
	// DefaultQueueLimit.
	QueueLimit int

	publish sync.Mutex // one publisher at a time keeps every queue in order
	serial  uint64     // numbers published events, to queue each once per connection
	mu      sync.RWMutex
	subs    map[string]map[*Subscription]struct{}

	onControl atomic.Pointer[func(Event)]

	connections atomic.Int64
	delivered   atomic.Int64
	dropped     atomic.Int64
}

// NewLocal returns an empty in-process hub.
func NewLocal() *Local {
	return &Local{subs: map[string]map[*Subscription]struct{}{}}
}

var _ Hub = (*Local)(nil)

// Subscription is one connection's queue. The queue grows only while
// events wait, so an idle connection costs a few words, and it is bounded:
// a connection that falls QueueLimit events behind is dropped (Lagged is
// closed) rather than slowing the publisher and everybody else.
type Subscription struct {
	hub *Local

	mu         sync.Mutex
	accounts   []string
	queue      []Event
	lastSerial uint64 // dedupes an event that names two of the held accounts
	ended      bool

	lagged chan struct{} // closed when dropped for being slow
	wake   func()        // see OnReady
}

// OnReady sets a function called whenever events start waiting and when
// the subscription is dropped as too slow. When events start waiting it is
// called with the subscription's lock held, from the publisher, so it must
// be quick and must not call back into the subscription: a connection uses
// it to start its writer instead of keeping a goroutine waiting.
func (s *Subscription) OnReady(fn func()) {
	s.mu.Lock()
	s.wake = fn
	s.mu.Unlock()
}

// Subscribe implements Hub.
func (h *Local) Subscribe(accounts []string) *Subscription {
	s := &Subscription{hub: h, lagged: make(chan struct{})}
	h.mu.Lock()
	s.accounts = append([]string(nil), accounts...)
	for _, a := range s.accounts {
		h.add(a, s)
	}
	h.mu.Unlock()
	h.connections.Add(1)
	return s
}

func (h *Local) add(account string, s *Subscription) {
	if h.subs == nil {
		h.subs = map[string]map[*Subscription]struct{}{}
	}
	m := h.subs[account]
	if m == nil {
		m = map[*Subscription]struct{}{}
		h.subs[account] = m
	}
	m[s] = struct{}{}
}

func (h *Local) remove(s *Subscription) {
	for _, a := range s.accounts {
		if m := h.subs[a]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(h.subs, a)
			}
		}
	}
}

// OnControl sets the handler of control events (see Event.Control).
func (h *Local) OnControl(fn func(Event)) { h.onControl.Store(&fn) }

// Publish implements Hub.
func (h *Local) Publish(events []Event) {
	if fn := h.onControl.Load(); fn != nil {
		for _, ev := range events {
			if ev.Control != "" {
				(*fn)(ev)
			}
		}
	}
	h.publish.Lock()
	defer h.publish.Unlock()
	limit := h.QueueLimit
	if limit <= 0 {
		limit = DefaultQueueLimit
	}
	var slow []*Subscription
	h.mu.RLock()
	for i := range events {
		ev := &events[i]
		h.serial++
		serial := h.serial
		if ev.Everyone {
			seen := map[*Subscription]bool{}
			for _, subs := range h.subs {
				for s := range subs {
					if !seen[s] {
						seen[s] = true
						if !s.offer(ev, serial, limit) {
							slow = append(slow, s)
						}
					}
				}
			}
			continue
		}
		for _, a := range ev.Recipients {
			for s := range h.subs[a] {
				if !s.offer(ev, serial, limit) {
					slow = append(slow, s)
				}
			}
		}
	}
	h.mu.RUnlock()
	for _, s := range slow {
		s.drop()
	}
}

// offer queues ev unless it is already queued (two held accounts in one
// room) or the queue is full; it reports false when the subscriber is too
// slow.
func (s *Subscription) offer(ev *Event, serial uint64, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || serial == s.lastSerial {
		return true
	}
	if len(s.queue) >= limit {
		return false
	}
	s.lastSerial = serial
	s.queue = append(s.queue, *ev)
	s.hub.delivered.Add(1)
	if len(s.queue) == 1 && s.wake != nil {
		s.wake()
	}
	return true
}

func (s *Subscription) drop() {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.queue = nil
	wake := s.wake
	s.mu.Unlock()
	close(s.lagged)
	if wake != nil {
		wake()
	}
	s.hub.dropped.Add(1)
	s.hub.mu.Lock()
	s.hub.remove(s)
	s.hub.mu.Unlock()
	s.hub.connections.Add(-1)
}

// Lagged is closed when the subscription was dropped for being slow: the
// connection should tell its client to resume from its last position.
func (s *Subscription) Lagged() <-chan struct{} { return s.lagged }

// Take returns and clears the waiting events, oldest first.
func (s *Subscription) Take() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// SetAccounts changes the accounts the subscription follows (an account
// signed in or out on the client).
func (s *Subscription) SetAccounts(accounts []string) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if ended {
		return
	}
	h.remove(s)
	s.accounts = append([]string(nil), accounts...)
	for _, a := range s.accounts {
		h.add(a, s)
	}
}

// Accounts returns the accounts followed.
func (s *Subscription) Accounts() []string {
	s.hub.mu.RLock()
	defer s.hub.mu.RUnlock()
	return append([]string(nil), s.accounts...)
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.queue = nil
	s.mu.Unlock()
	s.hub.mu.Lock()
	s.hub.remove(s)
	s.hub.mu.Unlock()
	s.hub.connections.Add(-1)
}

// Stats are the hub's counters, for metrics.
type Stats struct {
	Connections int64 // open subscriptions
	Delivered   int64 // events queued to subscriptions
	Dropped     int64 // subscriptions dropped for being slow
}

// Stats returns the counters.
func (h *Local) Stats() Stats {
	return Stats{Connections: h.connections.Load(), Delivered: h.delivered.Load(), Dropped: h.dropped.Load()}
}
