package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Talk configures the talk profile: every client holds a WebSocket, rooms
// of RoomSize clients, and Senders of them send messages over their
// sockets.
type Talk struct {
	RoomSize int
	// Rate is the total messages per second to offer; 0 sends as fast as
	// the server acknowledges (each sender waits for its ack).
	Rate float64
	// Senders is how many clients send (0: all).
	Senders  int
	Warmup   time.Duration
	Duration time.Duration
	// BodyBytes is the size of each message text.
	BodyBytes int
	// PID is the server's process on this machine, for memory and CPU.
	PID int
}

// Report is what a run measured.
type Report struct {
	Profile  string  `json:"profile"`
	Nodes    int     `json:"nodes,omitempty"`
	Clients  int     `json:"clients"`
	Rooms    int     `json:"rooms"`
	RoomSize int     `json:"room_size"`
	Senders  int     `json:"senders"`
	Rate     float64 `json:"offered_rate"`
	Seconds  float64 `json:"measured_seconds"`

	Accepted          int64   `json:"messages_accepted"`
	AcceptedPerSecond float64 `json:"messages_accepted_per_second"`
	Delivered         int64   `json:"deliveries"`
	Expected          int64   `json:"deliveries_expected"`
	DeliveredPerSec   float64 `json:"deliveries_per_second"`
	Ack               Summary `json:"send_to_ack"`
	Delivery          Summary `json:"send_to_delivery"`
	// LastDelivery is the time from send to its last recipient.
	LastDelivery Summary        `json:"send_to_last_delivery"`
	Errors       map[string]int `json:"errors"`
	Disconnects  int64          `json:"disconnects"`

	ServerBefore *Process `json:"server_before,omitempty"`
	ServerAfter  *Process `json:"server_after,omitempty"`
	// IdleBytesPerConnection is the server's memory growth per open
	// connection (idle profile).
	IdleBytesPerConnection float64 `json:"idle_bytes_per_connection,omitempty"`
	// Timeline is send-to-delivery latency second by second.
	Timeline []Point `json:"timeline,omitempty"`
}

type sent struct {
	at      time.Time
	pending atomic.Int32 // recipients still to hear of it
}

type talkClient struct {
	acct    Account
	conn    *websocket.Conn
	room    string
	members int
	acks    chan frame
}

// RunTalk runs the talk profile with fx's accounts. With several APIs
// (the nodes of a cluster), client i connects to apis[i % len(apis)], so
// members of one room sit on different nodes.
func RunTalk(ctx context.Context, apis []*API, fx *Fixture, o Talk, progress func(string, ...any)) (*Report, error) {
	api := apis[0]
	if o.RoomSize < 2 {
		o.RoomSize = 10
	}
	n := len(fx.Accounts) / o.RoomSize * o.RoomSize
	if n == 0 {
		return nil, fmt.Errorf("%d accounts do not fill a room of %d", len(fx.Accounts), o.RoomSize)
	}
	if o.Senders <= 0 || o.Senders > n {
		o.Senders = n
	}
	if o.BodyBytes <= 0 {
		o.BodyBytes = 100
	}
	clients := make([]*talkClient, n)
	for i := range clients {
		clients[i] = &talkClient{acct: fx.Accounts[i], members: o.RoomSize, acks: make(chan frame, 4)}
	}
	progress("creating %d rooms of %d", n/o.RoomSize, o.RoomSize)
	if err := parallel(ctx, n/o.RoomSize, 8, func(k int) error {
		members := make([]string, 0, o.RoomSize-1)
		for _, c := range clients[k*o.RoomSize+1 : (k+1)*o.RoomSize] {
			members = append(members, c.acct.ID)
		}
		var room struct{ ID string }
		if err := api.Do(ctx, clients[k*o.RoomSize].acct.Token, "POST", "/api/v1/rooms", map[string]any{"name": fmt.Sprintf("load %d", k), "members": members}, &room); err != nil {
			return err
		}
		for _, c := range clients[k*o.RoomSize : (k+1)*o.RoomSize] {
			c.room = room.ID
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("creating rooms: %w", err)
	}
	progress("connecting %d WebSockets", n)
	if err := parallel(ctx, n, 32, func(i int) error {
		c, err := apis[i%len(apis)].Dial(ctx, clients[i].acct.Token, 0)
		if err != nil {
			return err
		}
		if _, _, err := c.Read(ctx); err != nil { // hello
			return err
		}
		clients[i].conn = c
		return nil
	}); err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	defer func() {
		for _, c := range clients {
			if c.conn != nil {
				c.conn.CloseNow()
			}
		}
	}()

	rep := &Report{Profile: "talk", Nodes: len(apis), Clients: n, Rooms: n / o.RoomSize, RoomSize: o.RoomSize, Senders: o.Senders, Rate: o.Rate}
	if o.PID > 0 {
		if p, err := ReadProcess(o.PID); err == nil {
			rep.ServerBefore = &p
		}
	}
	var (
		inFlight          sync.Map // client_msg_id → *sent, for messages sent while measuring
		measuring         atomic.Bool
		accepted          atomic.Int64
		delivered         atomic.Int64
		disconnects       atomic.Int64
		ack, del, lastDel Latencies
		errs              Errors
		timeline          *Timeline
	)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var readers sync.WaitGroup
	for _, c := range clients {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				_, msg, err := c.conn.Read(runCtx)
				if err != nil {
					if runCtx.Err() == nil {
						disconnects.Add(1)
					}
					return
				}
				for _, b := range bytes.Split(msg, []byte{'\n'}) {
					// Message events are most of the traffic: read the two
					// fields needed without decoding the frame, so that the
					// generator leaves the CPU to the server it measures.
					if bytes.HasPrefix(b, eventPrefix) {
						if !bytes.Contains(b, createdKind) || stringField(b, senderKey) == c.acct.ID {
							continue
						}
						cid := stringField(b, clientMsgKey)
						v, ok := inFlight.Load(cid)
						if !ok {
							continue
						}
						s := v.(*sent)
						lat := time.Since(s.at)
						del.Add(lat)
						timeline.Add(lat)
						delivered.Add(1)
						if s.pending.Add(-1) == 0 {
							lastDel.Add(lat)
							inFlight.Delete(cid)
						}
						continue
					}
					var f frame
					if json.Unmarshal(b, &f) != nil {
						errs.Add("unreadable_frame")
						continue
					}
					switch f.Type {
					case "ack", "error":
						select {
						case c.acks <- f:
						default:
						}
					case "event":
						if f.Kind != "message.created" || f.Message == nil || f.Message.SenderID == c.acct.ID {
							continue
						}
						v, ok := inFlight.Load(f.Message.ClientMsgID)
						if !ok {
							continue
						}
						s := v.(*sent)
						lat := time.Since(s.at)
						del.Add(lat)
						timeline.Add(lat)
						delivered.Add(1)
						if s.pending.Add(-1) == 0 {
							lastDel.Add(lat)
							inFlight.Delete(f.Message.ClientMsgID)
						}
					}
				}
			}
		}()
	}

	body := strings.Repeat("x", o.BodyBytes)
	perSender := time.Duration(0)
	if o.Rate > 0 {
		perSender = time.Duration(float64(time.Second) * float64(o.Senders) / o.Rate)
	}
	sendCtx, stopSending := context.WithCancel(runCtx)
	defer stopSending()
	var senders sync.WaitGroup
	// Senders are spread over the rooms: every room gets its share.
	stride := max(1, n/o.Senders)
	run := randomHex(3) // client_msg_ids are new on every run
	for k := range o.Senders {
		c := clients[(k*stride)%n]
		senders.Add(1)
		go func() {
			defer senders.Done()
			next := time.Now().Add(time.Duration(rand.Int64N(int64(max(perSender, time.Millisecond)))))
			for seq := 0; sendCtx.Err() == nil; seq++ {
				if perSender > 0 {
					if wait := time.Until(next); wait > 0 {
						select {
						case <-time.After(wait):
						case <-sendCtx.Done():
							return
						}
					}
					next = next.Add(perSender)
				}
				cid := fmt.Sprintf("%s-%d-%d", run, k, seq)
				s := &sent{at: time.Now()}
				s.pending.Store(int32(c.members - 1))
				measured := measuring.Load()
				if measured {
					inFlight.Store(cid, s)
				}
				b, _ := json.Marshal(map[string]any{"type": "send", "ref": cid, "account_id": c.acct.ID, "room_id": c.room, "client_msg_id": cid, "body": body})
				// The write gets the run's context: cancelling a write midway
				// closes the WebSocket, and stopping the senders must not.
				if err := c.conn.Write(runCtx, websocket.MessageText, b); err != nil {
					return
				}
				select {
				case f := <-c.acks:
					if f.Type == "error" {
						code := "unknown"
						if f.Error != nil {
							code = f.Error.Code
						}
						errs.Add(code)
						inFlight.Delete(cid)
						continue
					}
					if measured {
						ack.Add(time.Since(s.at))
						accepted.Add(1)
					}
				case <-time.After(10 * time.Second):
					errs.Add("ack_timeout")
				case <-sendCtx.Done():
					return
				}
			}
		}()
	}

	progress("warming up for %v", o.Warmup)
	select {
	case <-time.After(o.Warmup):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	timeline = NewTimeline()
	measuring.Store(true)
	start := time.Now()
	tick := time.NewTicker(time.Second)
	end := time.After(o.Duration)
	var prevAcc, prevDel int64
wait:
	for {
		select {
		case <-tick.C:
			a, d := accepted.Load(), delivered.Load()
			progress("%5.0fs  accepted %7d/s  delivered %8d/s  errors %v", time.Since(start).Seconds(), a-prevAcc, d-prevDel, errs.Map())
			prevAcc, prevDel = a, d
		case <-end:
			break wait
		case <-ctx.Done():
			tick.Stop()
			return nil, ctx.Err()
		}
	}
	tick.Stop()
	measuring.Store(false)
	elapsed := time.Since(start)
	stopSending()
	senders.Wait()
	// Let the last deliveries land.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && delivered.Load() < accepted.Load()*int64(o.RoomSize-1) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	readers.Wait()

	rep.Seconds = elapsed.Seconds()
	rep.Accepted = accepted.Load()
	rep.AcceptedPerSecond = float64(rep.Accepted) / rep.Seconds
	rep.Delivered = delivered.Load()
	rep.Expected = rep.Accepted * int64(o.RoomSize-1)
	rep.DeliveredPerSec = float64(rep.Delivered) / rep.Seconds
	rep.Ack, rep.Delivery, rep.LastDelivery = ack.Summary(), del.Summary(), lastDel.Summary()
	rep.Errors = errs.Map()
	rep.Disconnects = disconnects.Load()
	rep.Timeline = timeline.Points()
	if o.PID > 0 {
		if p, err := ReadProcess(o.PID); err == nil {
			rep.ServerAfter = &p
		}
	}
	return rep, nil
}

var (
	eventPrefix  = []byte(`{"type":"event"`)
	createdKind  = []byte(`"kind":"message.created"`)
	senderKey    = []byte(`"sender_id":"`)
	clientMsgKey = []byte(`"client_msg_id":"`)
)

// stringField returns the value of a string field of a JSON frame whose
// values hold no escapes (IDs and the generator's own client IDs), or "".
func stringField(b, key []byte) string {
	i := bytes.Index(b, key)
	if i < 0 {
		return ""
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// parallel runs fn for 0..n-1 with at most width at once and returns the
// first error.
func parallel(ctx context.Context, n, width int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var first error
	var once sync.Once
	var failed atomic.Bool
	sem := make(chan struct{}, width)
	for i := range n {
		if failed.Load() || ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				once.Do(func() { first = err })
				failed.Store(true)
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// Text renders a report as a table for people.
func (r *Report) Text() string {
	if r.Profile == "signin" {
		return r.signInText()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "profile %s: %d clients on %d node(s), %d rooms of %d, %d senders, offered %s, measured %.1fs\n",
		r.Profile, r.Clients, max(r.Nodes, 1), r.Rooms, r.RoomSize, r.Senders, rateText(r.Rate), r.Seconds)
	fmt.Fprintf(&b, "  messages accepted   %9d  (%.0f/s)\n", r.Accepted, r.AcceptedPerSecond)
	fmt.Fprintf(&b, "  deliveries          %9d  (%.0f/s; expected %d)\n", r.Delivered, r.DeliveredPerSec, r.Expected)
	fmt.Fprintf(&b, "  send → ack          %s\n", r.Ack)
	fmt.Fprintf(&b, "  send → delivery     %s\n", r.Delivery)
	fmt.Fprintf(&b, "  send → last member  %s\n", r.LastDelivery)
	fmt.Fprintf(&b, "  errors %v, disconnects %d\n", r.Errors, r.Disconnects)
	if r.ServerAfter != nil && r.ServerBefore != nil {
		fmt.Fprintf(&b, "  server: RSS %.0f MiB (peak %.0f MiB), CPU %.1fs during the run\n",
			r.ServerAfter.RSSMiB, r.ServerAfter.PeakRSSMiB, r.ServerAfter.CPUSeconds-r.ServerBefore.CPUSeconds)
	}
	if r.IdleBytesPerConnection > 0 {
		fmt.Fprintf(&b, "  server memory per idle connection: %.1f KiB\n", r.IdleBytesPerConnection/1024)
	}
	return b.String()
}

func rateText(r float64) string {
	if r == 0 {
		return "as fast as acknowledged"
	}
	return fmt.Sprintf("%.0f msg/s", r)
}
