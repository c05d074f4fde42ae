package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
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
	Senders int
	// RampUp spreads the senders' first messages over this long, before
	// the warm-up: the offered load climbs from nothing to Rate (or, as
	// fast as acknowledged, sender by sender). Not measured.
	RampUp   time.Duration
	Warmup   time.Duration
	Duration time.Duration
	// Messages, when set, ends the measured window once that many
	// messages have been accepted; Duration then only bounds it.
	Messages int64
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
	// RampUpSeconds is the ramp-up before the warm-up.
	RampUpSeconds float64 `json:"ramp_up_seconds,omitempty"`
	// TargetMessages is the message count that was to end the window
	// (--messages); Accepted below it means Duration ended it first.
	TargetMessages int64 `json:"target_messages,omitempty"`

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
	// Reconnects are the dropped connections that resumed.
	Reconnects int64 `json:"reconnects"`

	ServerBefore *Process `json:"server_before,omitempty"`
	ServerAfter  *Process `json:"server_after,omitempty"`
	// GeneratorBefore and GeneratorAfter are the load generator itself,
	// read at the same moments as the server.
	GeneratorBefore *Process `json:"generator_before,omitempty"`
	GeneratorAfter  *Process `json:"generator_after,omitempty"`
	// GeneratorProcs is how many CPUs the generator ran Go code on.
	GeneratorProcs int `json:"generator_procs,omitempty"`
	// CPU is the generator's and the server's CPU time while measuring.
	CPU *CPU `json:"cpu_while_measuring,omitempty"`
	// IdleBytesPerConnection is the server's memory growth per open
	// connection (idle profile).
	IdleBytesPerConnection float64 `json:"idle_bytes_per_connection,omitempty"`
	// Timeline is send-to-delivery latency second by second.
	Timeline []Point `json:"timeline,omitempty"`

	// Admin is the admin work done while the talk traffic ran (admin and
	// mixed profiles).
	Admin *AdminReport `json:"admin,omitempty"`
	// SignIn is the sign-in storm run alongside (mixed profile).
	SignIn *Report `json:"signin,omitempty"`
}

// sent is a message sent while measuring whose deliveries are awaited.
type sent struct {
	at      time.Time
	pending int32 // recipients still to hear of it
}

// inFlight is one sender's measured messages by sequence number. It is
// kept per sender, so the readers of different rooms do not contend for
// it, and keyed by number, so a delivery finds its message without
// building a string.
type inFlight struct {
	mu sync.Mutex
	m  map[int64]sent
}

type talkClient struct {
	acct Account
	api  *API // the node it connects to
	// mu guards conn, which the reader replaces when it reconnects.
	mu      sync.Mutex
	conn    *websocket.Conn
	room    string
	members int
	// acks carries the answers to the client's sends: "" for an ack, the
	// code of an error otherwise.
	acks chan string
	// buf holds the last message read; its storage is reused for the
	// next.
	buf []byte
	// lastPos is the last event position the reader saw, where a
	// reconnect resumes (only the reader touches it).
	lastPos int64
	// resend tells the sender that the connection was replaced: a send
	// still waiting for its ack goes again (the same client_msg_id: the
	// server stores it once and acks the retry).
	resend chan struct{}
}

func (c *talkClient) socket() *websocket.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn
}

// RunTalk runs the talk profile with fx's accounts. With several APIs
// (the nodes of a cluster), client i connects to apis[i % len(apis)], so
// members of one room sit on different nodes.
func RunTalk(ctx context.Context, apis []*API, fx *Fixture, o Talk, progress func(string, ...any)) (*Report, error) {
	t, err := startTalk(ctx, apis, fx, o, progress)
	if err != nil {
		return nil, err
	}
	defer t.close()
	if err := t.measure(ctx, nil); err != nil {
		return nil, err
	}
	return t.finish(), nil
}

// talkRun is a talk profile under way: rooms made, sockets open, senders
// sending. The admin and mixed profiles measure their own work while one
// runs.
type talkRun struct {
	o        Talk
	n        int
	clients  []*talkClient
	rep      *Report
	progress func(string, ...any)

	inFlight          []inFlight // by sender
	cidPrefix         []byte     // client_msg_ids are run-sender-seq: "run-"
	measuring         atomic.Bool
	accepted          atomic.Int64
	delivered         atomic.Int64
	disconnects       atomic.Int64
	reconnects        atomic.Int64
	ack, del, lastDel Latencies
	errs              Errors
	timeline          atomic.Pointer[Timeline]
	cpu               cpuMeter
	cpuUsed           *CPU

	runCtx      context.Context
	stop        context.CancelFunc
	stopSending context.CancelFunc
	reached     chan struct{} // closed when Messages were accepted
	readers     sync.WaitGroup
	senders     sync.WaitGroup
	start       time.Time
	elapsed     time.Duration
}

// startTalk makes the rooms, connects every client, starts the readers
// and senders and returns once the warm-up is over.
func startTalk(ctx context.Context, apis []*API, fx *Fixture, o Talk, progress func(string, ...any)) (*talkRun, error) {
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
	t := &talkRun{o: o, n: n, progress: progress, reached: make(chan struct{})}
	t.timeline.Store(NewTimeline())
	clients := make([]*talkClient, n)
	for i := range clients {
		clients[i] = &talkClient{acct: fx.Accounts[i], members: o.RoomSize, acks: make(chan string, 4), resend: make(chan struct{}, 1)}
	}
	t.clients = clients
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
		api := apis[i%len(apis)]
		c, err := api.Dial(ctx, clients[i].acct.Token, 0)
		if err != nil {
			return err
		}
		_, b, err := c.Read(ctx)
		if err != nil {
			return err
		}
		// The hello's position is where a reconnect resumes until the
		// first event arrives. Frames the server had waiting may follow
		// it in the same message, a line each.
		var hello struct{ Pos int64 }
		first, _, _ := bytes.Cut(b, []byte("\n"))
		if err := json.Unmarshal(first, &hello); err != nil {
			return fmt.Errorf("reading the hello: %w", err)
		}
		clients[i].api, clients[i].conn, clients[i].lastPos = api, c, hello.Pos
		return nil
	}); err != nil {
		t.close()
		return nil, fmt.Errorf("connecting: %w", err)
	}

	t.rep = &Report{Profile: "talk", Nodes: len(apis), Clients: n, Rooms: n / o.RoomSize, RoomSize: o.RoomSize, Senders: o.Senders, Rate: o.Rate,
		RampUpSeconds: o.RampUp.Seconds(), TargetMessages: o.Messages}
	if o.PID > 0 {
		if p, err := ReadProcess(o.PID); err == nil {
			t.rep.ServerBefore = &p
		}
	}
	self := ReadSelf()
	t.rep.GeneratorBefore = &self
	t.runCtx, t.stop = context.WithCancel(ctx)
	for _, c := range clients {
		t.readers.Add(1)
		go t.read(c)
	}

	body := strings.Repeat("x", o.BodyBytes)
	t.inFlight = make([]inFlight, o.Senders)
	for k := range t.inFlight {
		t.inFlight[k].m = map[int64]sent{}
	}
	perSender := time.Duration(0)
	if o.Rate > 0 {
		perSender = time.Duration(float64(time.Second) * float64(o.Senders) / o.Rate)
	}
	sendCtx, stopSending := context.WithCancel(t.runCtx)
	t.stopSending = stopSending
	// Senders are spread over the rooms: every room gets its share.
	stride := max(1, n/o.Senders)
	t.cidPrefix = []byte(randomHex(3) + "-") // client_msg_ids are new on every run
	start := time.Now()
	for k := range o.Senders {
		c := clients[(k*stride)%n]
		t.senders.Add(1)
		go t.send(sendCtx, c, k, body, perSender, start.Add(rampOffset(k, o.Senders, o.RampUp)))
	}

	if o.RampUp > 0 {
		progress("ramping up %d senders over %v", o.Senders, o.RampUp)
	}
	progress("warming up for %v", o.Warmup)
	select {
	case <-time.After(o.RampUp + o.Warmup):
	case <-ctx.Done():
		t.close()
		return nil, ctx.Err()
	}
	return t, nil
}

// read follows one client's socket and counts the deliveries of measured
// messages.
func (t *talkRun) read(c *talkClient) {
	defer t.readers.Done()
	for {
		// No context: the library registers a context's cancellation on
		// every read of a frame, a good share of the generator's CPU.
		// Closing the socket is what ends the read (close).
		_, r, err := c.socket().Reader(context.Background())
		if err == nil {
			c.buf, err = readMessage(r, c.buf)
		}
		if err != nil {
			if t.runCtx.Err() != nil {
				return
			}
			t.disconnects.Add(1)
			if !t.reconnect(c) {
				return
			}
			continue
		}
		// Under load the server sends several frames per message, one a
		// line.
		for msg := c.buf; len(msg) > 0; {
			line := msg
			if i := bytes.IndexByte(msg, '\n'); i >= 0 {
				line, msg = msg[:i], msg[i+1:]
			} else {
				msg = nil
			}
			f := parseFrame(line)
			if f.pos > c.lastPos {
				c.lastPos = f.pos
			}
			switch f.kind {
			case frameMessage:
				if string(f.senderID) != c.acct.ID {
					t.delivery(f.clientMsg)
				}
			case frameAck, frameError:
				select {
				case c.acks <- f.code:
				default:
				}
			case frameUnreadable:
				t.errs.Add("unreadable_frame")
			}
		}
	}
}

// delivery counts one recipient's copy of message cid, if it was sent
// while measuring.
func (t *talkRun) delivery(cid []byte) {
	k, seq, ok := t.parseClientMsgID(cid)
	if !ok {
		return
	}
	fl := &t.inFlight[k]
	fl.mu.Lock()
	s, ok := fl.m[seq]
	if ok {
		s.pending--
		if s.pending == 0 {
			delete(fl.m, seq)
		} else {
			fl.m[seq] = s
		}
	}
	fl.mu.Unlock()
	if !ok {
		return
	}
	lat := time.Since(s.at)
	t.del.Add(lat)
	t.timeline.Load().Add(lat)
	t.delivered.Add(1)
	if s.pending == 0 {
		t.lastDel.Add(lat)
	}
}

// parseClientMsgID reads the sender and sequence number of one of this
// run's client_msg_ids (run-sender-seq).
func (t *talkRun) parseClientMsgID(cid []byte) (k int, seq int64, ok bool) {
	rest, ok := bytes.CutPrefix(cid, t.cidPrefix)
	if !ok {
		return 0, 0, false
	}
	i := bytes.IndexByte(rest, '-')
	if i < 0 {
		return 0, 0, false
	}
	sender, ok1 := parseDecimal(rest[:i])
	seq, ok2 := parseDecimal(rest[i+1:])
	if !ok1 || !ok2 || sender >= int64(len(t.inFlight)) {
		return 0, 0, false
	}
	return int(sender), seq, true
}

// parseDecimal reads a non-negative decimal of up to 18 digits.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// rampOffset is when sender k of n starts within a ramp-up of d: evenly
// spread, the first at once.
func rampOffset(k, n int, d time.Duration) time.Duration {
	if d <= 0 || n <= 0 {
		return 0
	}
	return time.Duration(int64(d) * int64(k) / int64(n))
}

// send is one sender: at its share of the rate, or as fast as its acks
// come back.
func (t *talkRun) send(ctx context.Context, c *talkClient, k int, body string, perSender time.Duration, first time.Time) {
	defer t.senders.Done()
	fl := &t.inFlight[k]
	// The frame is the same but for its client_msg_id (also its ref):
	// everything before that is encoded once, and the buffer is reused.
	head, _ := json.Marshal(map[string]string{"type": "send", "account_id": c.acct.ID, "room_id": c.room, "body": body})
	head = append(head[:len(head)-1], `,"ref":"`...)
	frame := slices.Clip(head)
	// One timer per sender, for the pace and the ack's deadline, rather
	// than one made for every send.
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// The first message comes at the sender's turn in the ramp-up; paced
	// senders then spread over their interval, so that they do not all
	// send in the same millisecond.
	next := first
	if perSender > 0 {
		next = next.Add(time.Duration(rand.Int64N(int64(max(perSender, time.Millisecond)))))
	} else if wait := time.Until(first); wait > 0 {
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
	}
	for seq := int64(0); ctx.Err() == nil; seq++ {
		if perSender > 0 {
			if wait := time.Until(next); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
			}
			next = next.Add(perSender)
		}
		frame = append(frame[:len(head)], t.cidPrefix...)
		frame = strconv.AppendInt(frame, int64(k), 10)
		frame = append(frame, '-')
		frame = strconv.AppendInt(frame, seq, 10)
		cid := frame[len(head):]
		frame = append(frame, `","client_msg_id":"`...)
		frame = append(frame, cid...)
		frame = append(frame, `"}`...)

		at := time.Now()
		measured := t.measuring.Load()
		if measured {
			// Stored before the write: a delivery may come back before
			// the write returns.
			fl.mu.Lock()
			fl.m[seq] = sent{at: at, pending: int32(c.members - 1)}
			fl.mu.Unlock()
		}
		// A reconnect before this message is no reason to send it twice.
		select {
		case <-c.resend:
		default:
		}
		code, ok := t.sendOne(ctx, c, frame, timer)
		if !ok {
			return
		}
		switch {
		case code != "":
			t.errs.Add(code)
			// A refused send brings no deliveries; one unanswered may
			// still.
			if code != ackTimeout {
				fl.mu.Lock()
				delete(fl.m, seq)
				fl.mu.Unlock()
			}
		case measured:
			t.ack.Add(time.Since(at))
			if n := t.accepted.Add(1); n == t.o.Messages {
				close(t.reached)
			}
		}
	}
}

// ackTimeout is the error counted for a send never answered.
const ackTimeout = "ack_timeout"

// sendOne writes one send frame and waits for its answer: "" for an ack,
// an error's code, or ackTimeout. When the connection drops meanwhile
// it sends the frame again on the reader's new one. false: the run is
// over.
func (t *talkRun) sendOne(ctx context.Context, c *talkClient, frame []byte, timer *time.Timer) (string, bool) {
	for {
		// No context here either (see read); a write cancelled midway
		// would close the WebSocket, and stopping the senders must not.
		if err := c.socket().Write(context.Background(), websocket.MessageText, frame); err != nil {
			// The reader notices the drop too and reconnects.
			select {
			case <-c.resend:
				continue
			case <-ctx.Done():
				return "", false
			}
		}
		timer.Reset(10 * time.Second)
		select {
		case code := <-c.acks:
			return code, true
		case <-c.resend:
			continue
		case <-timer.C:
			return ackTimeout, true
		case <-ctx.Done():
			return "", false
		}
	}
}

// reconnect replaces a dropped client's connection, resuming from the
// last position it saw as a client does (the server then sends what was
// missed), backing off from 100 ms to 2 s between tries for as long as
// the run lasts. It reports whether it did.
func (t *talkRun) reconnect(c *talkClient) bool {
	wait := 100 * time.Millisecond
	for {
		conn, err := c.api.Dial(t.runCtx, c.acct.Token, c.lastPos)
		if err == nil {
			c.mu.Lock()
			if t.runCtx.Err() != nil {
				// close has begun (it cancels first, then closes every
				// client's connection under its lock): this one would be
				// left open.
				c.mu.Unlock()
				conn.CloseNow()
				return false
			}
			c.conn.CloseNow()
			c.conn = conn
			c.mu.Unlock()
			t.reconnects.Add(1)
			select {
			case c.resend <- struct{}{}:
			default:
			}
			return true
		}
		select {
		case <-time.After(wait):
		case <-t.runCtx.Done():
			return false
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// measure counts for the profile's duration and, when until is not nil,
// until it is closed too, printing progress every second.
func (t *talkRun) measure(ctx context.Context, until <-chan struct{}) error {
	t.timeline.Store(NewTimeline())
	t.cpu = startCPU(t.o.PID)
	t.measuring.Store(true)
	t.start = time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.After(t.o.Duration)
	ended := false
	var prevAcc, prevDel int64
	for !ended || until != nil {
		select {
		case <-tick.C:
			a, d := t.accepted.Load(), t.delivered.Load()
			t.progress("%5.0fs  accepted %7d/s  delivered %8d/s  errors %v", time.Since(t.start).Seconds(), a-prevAcc, d-prevDel, t.errs.Map())
			prevAcc, prevDel = a, d
		case <-end:
			ended = true
		case <-t.reached:
			ended, t.reached = true, nil
		case <-until:
			until = nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	t.measuring.Store(false)
	t.elapsed = time.Since(t.start)
	t.cpuUsed = t.cpu.stop(t.delivered.Load())
	return nil
}

// finish stops the senders, waits for the last deliveries and reports.
func (t *talkRun) finish() *Report {
	t.stopSending()
	t.senders.Wait()
	// Let the last deliveries land.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && t.delivered.Load() < t.accepted.Load()*int64(t.o.RoomSize-1) {
		time.Sleep(20 * time.Millisecond)
	}
	t.close()

	rep := t.rep
	rep.Seconds = t.elapsed.Seconds()
	rep.Accepted = t.accepted.Load()
	rep.AcceptedPerSecond = float64(rep.Accepted) / rep.Seconds
	rep.Delivered = t.delivered.Load()
	rep.Expected = rep.Accepted * int64(t.o.RoomSize-1)
	rep.DeliveredPerSec = float64(rep.Delivered) / rep.Seconds
	rep.Ack, rep.Delivery, rep.LastDelivery = t.ack.Summary(), t.del.Summary(), t.lastDel.Summary()
	rep.Errors = t.errs.Map()
	rep.Disconnects, rep.Reconnects = t.disconnects.Load(), t.reconnects.Load()
	rep.Timeline = t.timeline.Load().Points()
	if t.o.PID > 0 {
		if p, err := ReadProcess(t.o.PID); err == nil {
			rep.ServerAfter = &p
		}
	}
	self := ReadSelf()
	rep.GeneratorAfter = &self
	rep.CPU = t.cpuUsed
	return rep
}

// close stops everything and closes the sockets. Reads and writes run
// without a context (see read), so closing a socket is what ends them:
// the sockets close before the senders and readers are waited for.
func (t *talkRun) close() {
	if t.stop != nil {
		t.stopSending()
		t.stop()
	}
	for _, c := range t.clients {
		if conn := c.socket(); conn != nil {
			conn.CloseNow()
		}
	}
	t.senders.Wait()
	t.readers.Wait()
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
	switch r.Profile {
	case "signin":
		return r.signInText()
	case "idle":
		return r.idleText()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "profile %s: %d clients on %d node(s), %d rooms of %d, %d senders, offered %s, measured %.1fs%s\n",
		r.Profile, r.Clients, max(r.Nodes, 1), r.Rooms, r.RoomSize, r.Senders, rateText(r.Rate), r.Seconds, r.windowText())
	fmt.Fprintf(&b, "  messages accepted   %9d  (%.0f/s)\n", r.Accepted, r.AcceptedPerSecond)
	fmt.Fprintf(&b, "  deliveries          %9d  (%.0f/s; expected %d)\n", r.Delivered, r.DeliveredPerSec, r.Expected)
	fmt.Fprintf(&b, "  send → ack          %s\n", r.Ack)
	fmt.Fprintf(&b, "  send → delivery     %s\n", r.Delivery)
	fmt.Fprintf(&b, "  send → last member  %s\n", r.LastDelivery)
	fmt.Fprintf(&b, "  errors %v, disconnects %d, reconnects %d\n", r.Errors, r.Disconnects, r.Reconnects)
	if r.ServerAfter != nil && r.ServerBefore != nil {
		fmt.Fprintf(&b, "  server: RSS %.0f MiB (peak %.0f MiB), CPU %.1fs during the run\n",
			r.ServerAfter.RSSMiB, r.ServerAfter.PeakRSSMiB, r.ServerAfter.CPUSeconds-r.ServerBefore.CPUSeconds)
	}
	b.WriteString(r.generatorText())
	if r.CPU != nil {
		b.WriteString(r.CPU.text("deliveries"))
	}
	if r.IdleBytesPerConnection > 0 {
		fmt.Fprintf(&b, "  server memory per idle connection: %.1f KiB\n", r.IdleBytesPerConnection/1024)
	}
	if a := r.Admin; a != nil {
		fmt.Fprintf(&b, "admin work (domain %s), while the talk above ran:\n", a.Domain)
		fmt.Fprintf(&b, "  CSV import          %9d members in %.2fs (%.0f/s)\n", a.ImportRows, a.ImportSeconds, a.ImportPerSecond)
		fmt.Fprintf(&b, "  domain rename       at %d members: %s\n", a.RenameMembers, a.Rename)
		if a.MoreImports > 0 {
			fmt.Fprintf(&b, "  more imports        %d, %.1fs, to %d members\n", a.MoreImports, a.MoreImportsSeconds, a.DirectoryMembers)
		}
		fmt.Fprintf(&b, "  directory search    at %d members: %s\n", a.DirectoryMembers, a.Directory)
		fmt.Fprintf(&b, "  errors %v\n", a.Errors)
	}
	if s := r.SignIn; s != nil {
		fmt.Fprintf(&b, "sign-in storm alongside, %d at once:\n", s.Senders)
		fmt.Fprintf(&b, "  sign-ins            %9d  (%.1f/s)\n", s.Accepted, s.AcceptedPerSecond)
		fmt.Fprintf(&b, "  latency             %s\n", s.Ack)
		fmt.Fprintf(&b, "  errors %v\n", s.Errors)
	}
	return b.String()
}

// windowText says how the measured window came about, when it was not
// just a duration after the warm-up.
func (r *Report) windowText() string {
	var s string
	if r.TargetMessages > 0 {
		if r.Accepted >= r.TargetMessages {
			s += fmt.Sprintf(" until %d messages", r.TargetMessages)
		} else {
			s += fmt.Sprintf(" (stopped at the time limit, short of %d messages)", r.TargetMessages)
		}
	}
	if r.RampUpSeconds > 0 {
		s += fmt.Sprintf(", after a %v ramp-up", time.Duration(r.RampUpSeconds*float64(time.Second)).Round(time.Millisecond))
	}
	return s
}

// generatorText is the generator's line beside the server's, when it was
// read.
func (r *Report) generatorText() string {
	if r.GeneratorAfter == nil || r.GeneratorBefore == nil {
		return ""
	}
	procs := ""
	if r.GeneratorProcs > 0 {
		procs = fmt.Sprintf(" on %d CPU%s", r.GeneratorProcs, map[bool]string{true: "s"}[r.GeneratorProcs > 1])
	}
	return fmt.Sprintf("  generator%s: RSS %.0f MiB (peak %.0f MiB), CPU %.1fs during the run\n",
		procs, r.GeneratorAfter.RSSMiB, r.GeneratorAfter.PeakRSSMiB, r.GeneratorAfter.CPUSeconds-r.GeneratorBefore.CPUSeconds)
}

func rateText(r float64) string {
	if r == 0 {
		return "as fast as acknowledged"
	}
	return fmt.Sprintf("%.0f msg/s", r)
}
