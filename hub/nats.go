package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Cluster is a hub shared by several server nodes. Events with a position
// are not carried between nodes: the store is the source of truth, so a
// node only announces how far the event log is committed, and every node
// (itself included) reads the log from where it was, in order, and
// delivers to its own connections. Notices and control events travel as
// they are.
type Cluster interface {
	Hub
	// Committed announces that the event log is committed up to pos.
	Committed(pos int64)
	// OnCommitted sets what this node does when any node announces.
	OnCommitted(fn func(pos int64))
	// OnControl sets the handler of control events from any node.
	OnControl(fn func(Event))
	// Local is this node's own fan-out, where the node delivers what it
	// reads from the log.
	Local() *Local
}

// NATS is the Cluster over a NATS server.
type NATS struct {
	local   *Local
	nc      *nats.Conn
	sub     *nats.Subscription
	subject string
	node    string
	log     *slog.Logger

	mu          sync.Mutex
	onCommitted func(pos int64)
}

var _ Cluster = (*NATS)(nil)

// wire is what nodes send each other on the subject.
type wire struct {
	Node      string      `json:"node"`
	Committed int64       `json:"committed,omitempty"`
	Events    []wireEvent `json:"events,omitempty"`
}

type wireEvent struct {
	Recipients []string `json:"r,omitempty"`
	Everyone   bool     `json:"all,omitempty"`
	Frame      []byte   `json:"f,omitempty"`
	Control    string   `json:"c,omitempty"`
}

// NewNATS connects to the NATS server at url. node names this server
// among the others; subject is shared by all the nodes of one
// installation. The connection reconnects by itself forever: while NATS
// is away, nodes keep serving and the store-backed catch-up fills the gap.
func NewNATS(url, subject, node string, local *Local, log *slog.Logger) (*NATS, error) {
	if log == nil {
		log = slog.Default()
	}
	h := &NATS{local: local, subject: subject, node: node, log: log}
	nc, err := nats.Connect(url,
		nats.Name("kizuna "+node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("NATS disconnected", "err", err) }),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "url", c.ConnectedUrl()) }),
	)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", url, err)
	}
	h.nc = nc
	h.sub, err = nc.Subscribe(subject, h.receive)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("subscribing to %s: %w", subject, err)
	}
	return h, nil
}

// Local returns the node's own fan-out.
func (h *NATS) Local() *Local { return h.local }

// Subscribe implements Hub: connections are always local.
func (h *NATS) Subscribe(accounts []string) *Subscription { return h.local.Subscribe(accounts) }

// Publish implements Hub for events without a position (notices and
// controls): delivered here at once and sent to the other nodes.
func (h *NATS) Publish(events []Event) {
	var out []wireEvent
	var local []Event
	for _, ev := range events {
		if ev.Pos != 0 {
			continue // positional events reach every node through the store
		}
		local = append(local, ev)
		out = append(out, wireEvent{Recipients: ev.Recipients, Everyone: ev.Everyone, Frame: ev.Frame, Control: ev.Control})
	}
	if len(local) == 0 {
		return
	}
	h.local.Publish(local)
	h.send(wire{Node: h.node, Events: out})
}

// Committed implements Cluster.
func (h *NATS) Committed(pos int64) {
	h.mu.Lock()
	fn := h.onCommitted
	h.mu.Unlock()
	if fn != nil {
		fn(pos)
	}
	h.send(wire{Node: h.node, Committed: pos})
}

// OnCommitted implements Cluster.
func (h *NATS) OnCommitted(fn func(pos int64)) {
	h.mu.Lock()
	h.onCommitted = fn
	h.mu.Unlock()
}

// OnControl implements Cluster.
func (h *NATS) OnControl(fn func(Event)) { h.local.OnControl(fn) }

func (h *NATS) send(w wire) {
	b, err := json.Marshal(w)
	if err != nil {
		h.log.Error("encoding a hub message", "err", err)
		return
	}
	// While disconnected the client buffers; if even that fails, the other
	// nodes still catch up from the store within their poll interval.
	if err := h.nc.Publish(h.subject, b); err != nil {
		h.log.Warn("publishing to NATS", "err", err)
	}
}

func (h *NATS) receive(m *nats.Msg) {
	var w wire
	if err := json.Unmarshal(m.Data, &w); err != nil {
		h.log.Warn("unreadable hub message", "err", err)
		return
	}
	if w.Node == h.node {
		return // delivered here when sent
	}
	if w.Committed > 0 {
		h.mu.Lock()
		fn := h.onCommitted
		h.mu.Unlock()
		if fn != nil {
			fn(w.Committed)
		}
	}
	if len(w.Events) > 0 {
		evs := make([]Event, len(w.Events))
		for i, e := range w.Events {
			evs[i] = Event{Recipients: e.Recipients, Everyone: e.Everyone, Frame: e.Frame, Control: e.Control}
		}
		h.local.Publish(evs)
	}
}

// Ping reports whether NATS is connected (for /readyz).
func (h *NATS) Ping(ctx context.Context) error {
	if st := h.nc.Status(); st != nats.CONNECTED {
		return errors.New("NATS is " + st.String())
	}
	return nil
}

// Close ends the connection.
func (h *NATS) Close() {
	if h.sub != nil {
		h.sub.Unsubscribe()
	}
	h.nc.Close()
}

// Stats returns this node's counters (its own connections).
func (h *NATS) Stats() Stats { return h.local.Stats() }
