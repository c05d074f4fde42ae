package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/hub"
	"github.com/kizuna-chat/kizuna/service"
)

// WebSocket settings.
const (
	// MaxFrameBytes bounds a client frame; a bigger one closes the
	// connection with 1009 (message too big).
	MaxFrameBytes = 64 << 10
	// heartbeat is how often the server pings and re-checks the sessions a
	// connection serves; a peer that does not answer a ping within
	// pingTimeout is gone.
	heartbeat   = 25 * time.Second
	pingTimeout = 10 * time.Second
	writeWait   = 10 * time.Second
)

// Close codes of the event stream (4000–4999 are the application's).
const (
	// CloseTooSlow: the connection fell too far behind; resume with
	// after=<last position seen>.
	CloseTooSlow websocket.StatusCode = 4008
	// CloseSessionEnded: the session was revoked or expired; sign in.
	CloseSessionEnded websocket.StatusCode = 4001
	// CloseBadResume: the after position is not valid; start afresh.
	CloseBadResume websocket.StatusCode = 4400
)

// helloFrame opens every stream: the accounts it serves and the position
// the client is at once the frames that follow (resets, missed events)
// are applied.
type helloFrame struct {
	Type     string   `json:"type"` // "hello"
	Accounts []string `json:"accounts"`
	Pos      int64    `json:"pos"`
	Resumed  bool     `json:"resumed"`
	// ResetAll: the position was older than the log keeps; reload every
	// room.
	ResetAll bool `json:"reset_all,omitempty"`
}

// roomResetFrame tells the client it missed too much of a room: reload
// its history instead of waiting for the events.
type roomResetFrame struct {
	Type   string `json:"type"` // "room.reset"
	RoomID string `json:"room_id"`
	Pos    int64  `json:"pos"`
}

// clientFrame is what a client may send.
type clientFrame struct {
	Type        string   `json:"type"` // "send", "read", "ping", "sync"
	Ref         string   `json:"ref,omitempty"`
	AccountID   string   `json:"account_id,omitempty"`
	RoomID      string   `json:"room_id,omitempty"`
	ClientMsgID string   `json:"client_msg_id,omitempty"`
	Body        string   `json:"body,omitempty"`
	ReplyTo     int64    `json:"reply_to,omitempty"`
	Mentions    []string `json:"mentions,omitempty"`
	Seq         int64    `json:"seq,omitempty"`
}

type ackFrame struct {
	Type      string               `json:"type"` // "ack"
	Ref       string               `json:"ref,omitempty"`
	Message   *service.MessageView `json:"message,omitempty"`
	Duplicate bool                 `json:"duplicate,omitempty"`
}

// errorFrame answers a client frame, or ends the stream, with the same
// error shape as the HTTP API.
type errorFrame struct {
	Type  string      `json:"type"` // "error"
	Ref   string      `json:"ref,omitempty"`
	Error errorDetail `json:"error"`
}

func frameError(ref, code, message string) errorFrame {
	return errorFrame{Type: "error", Ref: ref, Error: errorDetail{Code: code, Message: message}}
}

type accountsFrame struct {
	Type     string   `json:"type"` // "accounts"
	Accounts []string `json:"accounts"`
}

// maxPending bounds the sends and reads of one connection that wait for
// their commit. A client past it gets too_many_pending for the frame and
// keeps its connection: it is waiting on the database, not misbehaving.
const maxPending = 64

// maxReplies bounds the answers waiting to be written; a client that
// keeps sending frames without reading the answers is cut off.
const maxReplies = 4 * maxPending

// stream is one WebSocket connection of a client. It costs one goroutine
// while idle, the reader. The writer runs only while something waits to be
// written (see kick), the heartbeat is a timer, and shutdown finds it in
// the server's set of streams.
type stream struct {
	s     *Server
	conn  *websocket.Conn
	sock  *socketWriter
	token string
	sub   *hub.Subscription

	release func() // the connection's place (see OpenStream)

	mu        sync.Mutex
	actors    []*kizuna.Actor // held accounts (at most a client's five): a slice costs less than a map
	replies   []any           // answers to write, in order
	pending   int             // sends and reads waiting for their commit
	writing   bool            // a writer runs, or start still writes
	dirty     bool            // something arrived while the writer ran
	ended     bool
	heartbeat *time.Timer
	beats     int // heartbeats so far

	lastPos int64 // the last event position written; only the writer touches it
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		slices.ContainsFunc(strings.Split(r.Header.Get("Connection"), ","), func(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "upgrade") })
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	// A session still owing its password change gets nothing else, the
	// stream included (R6): refuse it before looking at the request.
	if a := kizuna.ActorFrom(r.Context()); a != nil && a.Session.PasswordChangeOnly {
		return kizuna.Errorf(kizuna.ErrForbidden, "password_change_required", "Set a new password before doing anything else.")
	}
	if !isWebSocket(r) {
		return kizuna.Errorf(kizuna.ErrInvalid, "websocket_required", "This endpoint speaks WebSocket: upgrade the connection.")
	}
	resume := r.URL.Query().Has("after")
	after, err := queryInt64(r, "after")
	if err != nil {
		return err
	}
	actors, err := s.svc.Auth.StreamActors(r.Context())
	if err != nil {
		return err
	}
	release, err := s.svc.Talk.OpenStream(actors)
	if err != nil {
		return err
	}
	started := false
	defer func() {
		if !started {
			release()
		}
	}()
	token, _ := bearerToken(r)
	if token == "" {
		token = r.URL.Query().Get("access_token")
	}
	sb := &smallBuffers{ResponseWriter: w}
	conn, err := websocket.Accept(sb, r, nil)
	if err != nil {
		return nil // Accept has answered the client
	}
	if rec, ok := w.(*statusRecorder); ok {
		rec.status = http.StatusSwitchingProtocols
	}
	conn.SetReadLimit(MaxFrameBytes)
	// The stream outlives the request and keeps nothing of its context:
	// that chain holds net/http's contexts, the channels the handshake's
	// queries made them allocate and, for a client's session, a second
	// copy of the own account and session (the stream's are in actors):
	// 650 bytes to 1.3 KiB an idle connection would keep for hours. What
	// the stream asks of the services runs on a background context with
	// the actor of the frame at hand; it is never cancelled, since each
	// such call is short.
	st := &stream{s: s, conn: conn, sock: sb.sock, token: token, release: release, actors: actors, writing: true}
	if !st.start(resume, after) {
		conn.CloseNow()
		if st.sub != nil {
			st.sub.Close()
		}
		return nil
	}
	started = true
	st.mu.Lock()
	// The first beat comes at a random point of the first period: clients
	// that all reconnect at once (after a restart) must not ping and
	// re-check their sessions at once ever after.
	st.heartbeat = time.AfterFunc(heartbeat/2+rand.N(heartbeat/2), st.beat)
	st.mu.Unlock()
	if !s.streams.add(st) {
		go st.goAway() // shutting down already
	}
	// The reader runs on a fresh goroutine and this one ends: the queries
	// above grew its stack, which an idle connection would otherwise keep
	// for hours.
	go st.readLoop()
	// Events that arrived during the catch-up, then the writer starts on
	// demand.
	st.flush()
	return nil
}

// actor returns the held account with ID id, or nil. Called with st.mu
// held.
func (st *stream) actor(id string) *kizuna.Actor {
	for _, a := range st.actors {
		if a.Account.ID == id {
			return a
		}
	}
	return nil
}

// goAway closes the connection for a server shutdown.
func (st *stream) goAway() {
	st.conn.Close(websocket.StatusGoingAway, "server shutting down: reconnect with after=last position seen")
}

func (st *stream) accountIDs() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	ids := make([]string, 0, len(st.actors))
	for _, a := range st.actors {
		ids = append(ids, a.Account.ID)
	}
	slices.Sort(ids)
	return ids
}

// maxMessageBytes bounds one WebSocket message of several frames.
const maxMessageBytes = 32 << 10

// sendEvery bounds what the socket writer gathers before writing it out
// (a long catch-up goes out in pieces).
const sendEvery = 64 << 10

// writeFrames sends frames, several per WebSocket message (separated by
// newlines), all in one write to the socket when they fit: under load a
// connection costs one system call per batch rather than one per event.
// Only the writer (or start, before it) calls it.
func (st *stream) writeFrames(frames [][]byte) error {
	if len(frames) == 0 {
		return nil
	}
	bp := batchBuffers.Get().(*[]byte)
	defer batchBuffers.Put(bp)
	st.sock.gather()
	write := func(msg []byte) error {
		if err := st.conn.Write(context.Background(), websocket.MessageText, msg); err != nil {
			return err
		}
		if st.sock.gathered() >= sendEvery {
			if err := st.sock.send(); err != nil {
				return err
			}
			st.sock.gather()
		}
		return nil
	}
	buf := (*bp)[:0]
	for _, f := range frames {
		if len(buf) > 0 && len(buf)+1+len(f) > maxMessageBytes {
			if err := write(buf); err != nil {
				st.sock.send()
				return err
			}
			buf = buf[:0]
		}
		if len(buf) > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, f...)
	}
	err := write(buf)
	if cap(buf) <= maxPooledBatch {
		*bp = buf[:0]
	}
	if serr := st.sock.send(); err == nil {
		err = serr
	}
	return err
}

func (st *stream) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return st.writeFrames([][]byte{b})
}

// start subscribes first and catches up second, so that nothing
// committed in between is lost; live events at or before the caught-up
// position are then skipped by the writer, so nothing arrives twice. It
// reports whether the stream goes on.
func (st *stream) start(resume bool, after int64) bool {
	ids := st.accountIDs()
	st.sub = st.s.svc.Talk.Subscribe(ids)
	st.sub.OnReady(st.kick) // kicks only mark the stream dirty until start ends

	hello := helloFrame{Type: "hello", Accounts: ids, Resumed: resume}
	var catchup *service.Catchup
	var err error
	if resume {
		catchup, err = st.s.svc.Talk.Catchup(context.Background(), after, ids)
	} else {
		catchup, err = st.s.svc.Talk.Catchup(context.Background(), 0, nil)
		if err == nil {
			catchup.Frames, catchup.Reset, catchup.ResetAll = nil, nil, false
		}
	}
	if err != nil {
		e := kizuna.AsError(err)
		st.writeJSON(frameError("", e.Code, e.Message))
		code := CloseBadResume
		if e.Kind != kizuna.ErrInvalid {
			// The database is away, not the position wrong: the client
			// should come back with the same one.
			code = websocket.StatusTryAgainLater
		}
		st.conn.Close(code, e.Code)
		return false
	}
	hello.Pos, hello.ResetAll = catchup.Pos, catchup.ResetAll
	st.lastPos = catchup.Pos
	b, err := json.Marshal(hello)
	if err != nil {
		return false
	}
	frames := [][]byte{b}
	for _, room := range catchup.Reset {
		b, err := json.Marshal(roomResetFrame{Type: "room.reset", RoomID: room, Pos: catchup.Pos})
		if err != nil {
			return false
		}
		frames = append(frames, b)
	}
	return st.writeFrames(append(frames, catchup.Frames...)) == nil
}

// kick makes sure a writer runs: it starts one unless one is running,
// which then goes round again. Called when events start waiting (from the
// publisher, under the subscription's lock) and when an answer is queued.
func (st *stream) kick() {
	st.mu.Lock()
	if st.writing || st.ended {
		st.dirty = true
		st.mu.Unlock()
		return
	}
	st.writing = true
	st.mu.Unlock()
	go st.flush()
}

// flush writes what waits, events before answers (an ack follows its
// message's event: the event was published before the ack was queued),
// until nothing is left; then the stream has no writer until kicked.
func (st *stream) flush() {
	var frames [][]byte
	for {
		st.mu.Lock()
		replies := st.replies
		st.replies = nil
		st.dirty = false
		ended := st.ended
		st.mu.Unlock()
		if ended {
			return // writing stays set: no writer starts again
		}
		select {
		case <-st.sub.Lagged():
			st.conn.Close(CloseTooSlow, "too slow: resume with after=last position seen")
			return
		default:
		}
		frames = frames[:0]
		for _, ev := range st.sub.Take() {
			if ev.Control == service.ControlSessionsChanged {
				// A sign-out, reissue or removal, on any node: check now.
				if !st.refreshAccounts() {
					st.conn.Close(CloseSessionEnded, "session ended: sign in again")
					return
				}
				continue
			}
			if ev.Control != "" || (ev.Pos != 0 && ev.Pos <= st.lastPos) {
				continue
			}
			if ev.Pos != 0 {
				st.lastPos = ev.Pos
			}
			frames = append(frames, ev.Frame)
		}
		for _, r := range replies {
			b, err := json.Marshal(r)
			if err != nil {
				st.s.log.Error("stream reply", "err", err)
				continue
			}
			frames = append(frames, b)
		}
		if len(frames) > 0 {
			if err := st.writeFrames(frames); err != nil {
				st.conn.CloseNow()
				return
			}
			continue
		}
		st.mu.Lock()
		if !st.dirty {
			st.writing = false
			st.mu.Unlock()
			return
		}
		st.mu.Unlock()
	}
}

// reply queues an answer for the writer.
func (st *stream) reply(v any) { st.queue(v, false) }

// queue queues an answer; answered says it ends a pending send or read.
func (st *stream) queue(v any, answered bool) {
	st.mu.Lock()
	if answered {
		st.pending--
	}
	if st.ended {
		st.mu.Unlock()
		return
	}
	if len(st.replies) >= maxReplies {
		st.mu.Unlock()
		st.conn.CloseNow() // it does not read what it asked for
		return
	}
	st.replies = append(st.replies, v)
	st.mu.Unlock()
	st.kick()
}

// beat pings the client and, when a session it serves has expired or
// every sessionCheckEvery beats, re-checks them: an ended session ends
// the stream, accounts signed in or out on the client change what it
// carries. It runs on the timer's goroutine, for the
// moment of the ping.
func (st *stream) beat() {
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	err := st.conn.Ping(ctx)
	cancel()
	if err != nil {
		st.conn.CloseNow()
		return
	}
	st.mu.Lock()
	st.beats++
	check := st.beats%sessionCheckEvery == 0 || st.expired(time.Now())
	st.mu.Unlock()
	if check && !st.refreshAccounts() {
		st.conn.Close(CloseSessionEnded, "session ended: sign in again")
		return
	}
	st.mu.Lock()
	if !st.ended {
		st.heartbeat.Reset(heartbeat)
	}
	st.mu.Unlock()
}

// sessionCheckEvery is how many beats go by between re-reads of the
// stream's sessions when none has expired. Sign-outs, revocations and
// removals reach the stream at once (ControlSessionsChanged); the re-read
// is the safety net for one that did not (a bus outage), and doing it on
// every beat made each idle connection produce garbage enough to grow
// the server's memory by a few KiB a connection.
const sessionCheckEvery = 8

// expired reports whether a session the stream carries (its own is among
// them, see StreamActors) has expired by now. Called with st.mu held.
func (st *stream) expired(now time.Time) bool {
	for _, a := range st.actors {
		if a.Session != nil && !a.Session.ExpiresAt.IsZero() && !now.Before(a.Session.ExpiresAt) {
			return true
		}
	}
	return false
}

// refreshAccounts reloads the held accounts; false when the stream's own
// session has ended.
func (st *stream) refreshAccounts() bool {
	actor, err := st.s.svc.Auth.Authenticate(context.Background(), st.token)
	if err != nil {
		return !errors.Is(err, kizuna.ErrUnauthorized) // keep going through a database hiccup
	}
	actors, err := st.s.svc.Auth.StreamActors(kizuna.WithActor(context.Background(), actor))
	if err != nil {
		return !errors.Is(err, kizuna.ErrUnauthorized)
	}
	before := st.accountIDs()
	st.mu.Lock()
	st.actors = actors
	st.mu.Unlock()
	after := st.accountIDs()
	if !slices.Equal(before, after) {
		st.sub.SetAccounts(after)
		st.reply(accountsFrame{Type: "accounts", Accounts: after})
	}
	return true
}

// end releases everything the stream holds once its connection is gone.
// The reader calls it: whoever ends the stream closes the connection,
// and the reader's next read fails.
func (st *stream) end() {
	st.mu.Lock()
	st.ended = true
	st.heartbeat.Stop()
	st.mu.Unlock()
	st.s.streams.remove(st)
	st.sub.Close()
	st.conn.CloseNow()
	st.release()
}

// readLoop reads client frames until the connection closes. It never
// waits for the database to commit (sends and reads are handed over, see
// handle), so pings are answered and the connection lives through a long
// write such as a big import. A frame that is not understood is answered
// with an error frame and the connection stays; one over MaxFrameBytes
// ends it (the library answers 1009).
func (st *stream) readLoop() {
	defer st.end()
	for {
		// No context: the read ends when the connection is closed, and a
		// context would cost a callback registration per frame.
		typ, data, err := st.conn.Read(context.Background())
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			st.reply(frameError("", "invalid_frame", "Frames are JSON text."))
			continue
		}
		if !utf8.Valid(data) {
			st.reply(frameError("", "invalid_frame", "The frame is not valid UTF-8."))
			continue
		}
		var f clientFrame
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			st.reply(frameError("", "invalid_frame", "The frame is not a JSON object this server understands."))
			continue
		}
		st.handle(f)
	}
}

var errTooManyPending = kizuna.Errorf(kizuna.ErrUnavailable, "too_many_pending",
	"This connection has %d sends and reads waiting to be stored; wait for their acks.", maxPending)

// answer turns the outcome of a frame into its reply.
func (st *stream) answer(f clientFrame, err error) any {
	e := kizuna.AsError(err)
	st.mu.Lock()
	ended := st.ended
	st.mu.Unlock()
	if e.Kind == kizuna.ErrInternal && !ended { // once ended, nobody to answer
		st.s.log.Error("stream frame failed", "type", f.Type, "err", err)
	}
	return frameError(f.Ref, e.Code, e.Message)
}

// handle answers one client frame. Sends and reads are checked now and
// stored by the talk writer, which answers them when committed: a
// client's own messages are stored in the order it sent them, and their
// acks come in that order, but a pong or an error may overtake an ack
// still waiting for its commit (answers carry the frame's ref).
func (st *stream) handle(f clientFrame) {
	switch f.Type {
	case "ping":
		st.reply(map[string]string{"type": "pong", "ref": f.Ref})
		return
	case "sync":
		if !st.refreshAccounts() {
			st.conn.Close(CloseSessionEnded, "session ended: sign in again")
		}
		return
	case "send", "read":
	default:
		st.reply(st.answer(f, kizuna.Errorf(kizuna.ErrInvalid, "invalid_frame", "Unknown frame type %q.", truncate(f.Type, 40))))
		return
	}
	st.mu.Lock()
	actor := st.actor(f.AccountID)
	full := st.pending >= maxPending
	if actor != nil && !full {
		st.pending++
	}
	st.mu.Unlock()
	if actor == nil {
		st.reply(st.answer(f, kizuna.Errorf(kizuna.ErrForbidden, "account_not_held", "account_id must be one of the accounts signed in on this connection.")))
		return
	}
	if full {
		st.reply(st.answer(f, errTooManyPending))
		return
	}
	actx := kizuna.WithActor(context.Background(), actor)
	var err error
	if f.Type == "read" {
		err = st.s.svc.Talk.MarkReadAsync(actx, f.RoomID, f.Seq, func(err error) {
			if err != nil {
				st.queue(st.answer(f, err), true)
				return
			}
			st.queue(ackFrame{Type: "ack", Ref: f.Ref}, true)
		})
	} else {
		in := service.SendInput{ClientMsgID: f.ClientMsgID, Body: f.Body, ReplyTo: f.ReplyTo, Mentions: f.Mentions}
		err = st.s.svc.Talk.SendAsync(actx, f.RoomID, in, func(m *service.MessageView, dup bool, err error) {
			if err != nil {
				st.queue(st.answer(f, err), true)
				return
			}
			st.queue(ackFrame{Type: "ack", Ref: f.Ref, Message: m, Duplicate: dup}, true)
		})
	}
	if err != nil {
		st.queue(st.answer(f, err), true)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
