package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// stream is one WebSocket connection of a client.
type stream struct {
	s     *Server
	conn  *websocket.Conn
	token string

	mu     sync.Mutex
	actors map[string]*kizuna.Actor // held accounts by ID

	sub     *hub.Subscription
	out     chan []byte // replies from the reader: acks, errors
	lastPos int64
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
	loopStarted := false
	defer func() {
		if !loopStarted {
			release()
		}
	}()
	token, _ := bearerToken(r)
	if token == "" {
		token = r.URL.Query().Get("access_token")
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return nil // Accept has answered the client
	}
	if rec, ok := w.(*statusRecorder); ok {
		rec.status = http.StatusSwitchingProtocols
	}
	conn.SetReadLimit(MaxFrameBytes)
	st := &stream{s: s, conn: conn, token: token, actors: map[string]*kizuna.Actor{}, out: make(chan []byte, 64)}
	for _, a := range actors {
		st.actors[a.Account.ID] = a
	}
	// The request's context ends when the handler returns; the stream
	// lives on its own until either side closes.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	if !st.start(ctx, resume, after) {
		cancel()
		st.conn.CloseNow()
		if st.sub != nil {
			st.sub.Close()
		}
		return nil
	}
	// The connection's life goes on in a goroutine of its own, and this
	// one ends: the queries above grew its stack, which an idle
	// connection would otherwise keep for hours (most of the memory of an
	// idle connection).
	loopStarted = true
	go func() {
		defer release()
		defer cancel()
		defer st.conn.CloseNow()
		defer st.sub.Close()
		st.loop(ctx)
	}()
	return nil
}

func (st *stream) accountIDs() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	ids := make([]string, 0, len(st.actors))
	for id := range st.actors {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (st *stream) write(ctx context.Context, frame []byte) error {
	ctx, cancel := context.WithTimeout(ctx, writeWait)
	defer cancel()
	return st.conn.Write(ctx, websocket.MessageText, frame)
}

// maxMessageBytes bounds one WebSocket message of several frames.
const maxMessageBytes = 32 << 10

// writeFrames sends frames, several per WebSocket message (separated by
// newlines) when they queue up: under load a connection then costs one
// write per batch rather than one per event.
func (st *stream) writeFrames(ctx context.Context, frames [][]byte) error {
	var buf []byte
	for _, f := range frames {
		if len(buf) > 0 && len(buf)+1+len(f) > maxMessageBytes {
			if err := st.write(ctx, buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		if len(buf) > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, f...)
	}
	if len(buf) == 0 {
		return nil
	}
	return st.write(ctx, buf)
}

func (st *stream) writeJSON(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return st.write(ctx, b)
}

// start subscribes first and catches up second, so that nothing
// committed in between is lost; live events at or before the caught-up
// position are then skipped by loop, so nothing arrives twice. It reports
// whether the stream goes on.
func (st *stream) start(ctx context.Context, resume bool, after int64) bool {
	ids := st.accountIDs()
	st.sub = st.s.svc.Talk.Subscribe(ids)

	hello := helloFrame{Type: "hello", Accounts: ids, Resumed: resume}
	var catchup *service.Catchup
	var err error
	if resume {
		catchup, err = st.s.svc.Talk.Catchup(ctx, after, ids)
	} else {
		catchup, err = st.s.svc.Talk.Catchup(ctx, 0, nil)
		if err == nil {
			catchup.Frames, catchup.Reset, catchup.ResetAll = nil, nil, false
		}
	}
	if err != nil {
		e := kizuna.AsError(err)
		st.writeJSON(ctx, frameError("", e.Code, e.Message))
		st.conn.Close(CloseBadResume, e.Code)
		return false
	}
	hello.Pos, hello.ResetAll = catchup.Pos, catchup.ResetAll
	st.lastPos = catchup.Pos
	if err := st.writeJSON(ctx, hello); err != nil {
		return false
	}
	for _, room := range catchup.Reset {
		if err := st.writeJSON(ctx, roomResetFrame{Type: "room.reset", RoomID: room, Pos: catchup.Pos}); err != nil {
			return false
		}
	}
	return st.writeFrames(ctx, catchup.Frames) == nil
}

// loop writes live events and replies until either side closes.
func (st *stream) loop(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var frames [][]byte
	go st.readLoop(ctx, cancel)
	ticker := time.NewTicker(heartbeat)
	defer ticker.Stop()
	beating := make(chan struct{}, 1) // one beat at a time

	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			select {
			case beating <- struct{}{}:
				go func() { st.beat(ctx, cancel); <-beating }()
			default:
			}
		case <-st.s.closing:
			st.conn.Close(websocket.StatusGoingAway, "server shutting down: reconnect with after=last position seen")
			return
		case <-st.sub.Lagged():
			st.conn.Close(CloseTooSlow, "too slow: resume with after=last position seen")
			return
		case b := <-st.out:
			// An ack follows its message's event: the event was published
			// before the ack was queued, so write what waits first (the
			// select alone would pick either at random).
			select {
			case <-st.sub.Ready():
				if !st.writeEvents(ctx, &frames) {
					return
				}
			default:
			}
			if err := st.write(ctx, b); err != nil {
				return
			}
		case <-st.sub.Ready():
			if !st.writeEvents(ctx, &frames) {
				return
			}
		}
	}
}

// writeEvents writes the events waiting in the subscription, in one
// message when they fit; false when the stream must end.
func (st *stream) writeEvents(ctx context.Context, frames *[][]byte) bool {
	evs := st.sub.Take()
	*frames = (*frames)[:0]
	for _, ev := range evs {
		if ev.Control == service.ControlSessionsChanged {
			// A sign-out, reissue or removal, on any node: check now.
			if !st.refreshAccounts(ctx) {
				st.conn.Close(CloseSessionEnded, "session ended: sign in again")
				return false
			}
			continue
		}
		if ev.Control != "" || (ev.Pos != 0 && ev.Pos <= st.lastPos) {
			continue
		}
		if ev.Pos != 0 {
			st.lastPos = ev.Pos
		}
		*frames = append(*frames, ev.Frame)
	}
	return st.writeFrames(ctx, *frames) == nil
}

// beat pings the client and re-checks the sessions the stream serves: a
// revoked session ends the stream, accounts signed in or out on the
// client change what it carries. It runs on its own goroutine only for
// the moment of the ping, so an idle connection costs two goroutines.
func (st *stream) beat(ctx context.Context, cancel context.CancelFunc) {
	pctx, pcancel := context.WithTimeout(ctx, pingTimeout)
	err := st.conn.Ping(pctx)
	pcancel()
	if err != nil {
		cancel()
		return
	}
	if !st.refreshAccounts(ctx) {
		st.conn.Close(CloseSessionEnded, "session ended: sign in again")
		cancel()
	}
}

// refreshAccounts reloads the held accounts; false when the stream's own
// session has ended.
func (st *stream) refreshAccounts(ctx context.Context) bool {
	actor, err := st.s.svc.Auth.Authenticate(ctx, st.token)
	if err != nil {
		return !errors.Is(err, kizuna.ErrUnauthorized) // keep going through a database hiccup
	}
	actors, err := st.s.svc.Auth.StreamActors(kizuna.WithActor(ctx, actor))
	if err != nil {
		return !errors.Is(err, kizuna.ErrUnauthorized)
	}
	before := st.accountIDs()
	st.mu.Lock()
	st.actors = map[string]*kizuna.Actor{}
	for _, a := range actors {
		st.actors[a.Account.ID] = a
	}
	st.mu.Unlock()
	after := st.accountIDs()
	if !slices.Equal(before, after) {
		st.sub.SetAccounts(after)
		st.reply(accountsFrame{Type: "accounts", Accounts: after})
	}
	return true
}

// reply queues a frame for the writer; a client that does not read its
// replies is cut off rather than blocking its own reader forever.
func (st *stream) reply(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	select {
	case st.out <- b:
	case <-time.After(writeWait):
		st.conn.CloseNow()
	}
}

// readLoop handles client frames one at a time, so a client's own
// messages are stored in the order it sent them. A frame that is not
// understood is answered with an error frame and the connection stays;
// one over MaxFrameBytes ends it (the library answers 1009).
func (st *stream) readLoop(ctx context.Context, cancel context.CancelFunc) {
	defer cancel()
	for {
		typ, data, err := st.conn.Read(ctx)
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
		st.handle(ctx, f)
	}
}

func (st *stream) handle(ctx context.Context, f clientFrame) {
	fail := func(err error) {
		if ctx.Err() != nil {
			return // the connection is going away; nobody to answer
		}
		e := kizuna.AsError(err)
		if e.Kind == kizuna.ErrInternal {
			st.s.log.Error("stream frame failed", "type", f.Type, "err", err)
		}
		st.reply(frameError(f.Ref, e.Code, e.Message))
	}
	switch f.Type {
	case "ping":
		st.reply(map[string]string{"type": "pong", "ref": f.Ref})
		return
	case "sync":
		if !st.refreshAccounts(ctx) {
			st.conn.Close(CloseSessionEnded, "session ended: sign in again")
		}
		return
	case "send", "read":
	default:
		fail(kizuna.Errorf(kizuna.ErrInvalid, "invalid_frame", "Unknown frame type %q.", truncate(f.Type, 40)))
		return
	}
	st.mu.Lock()
	actor := st.actors[f.AccountID]
	st.mu.Unlock()
	if actor == nil {
		fail(kizuna.Errorf(kizuna.ErrForbidden, "account_not_held", "account_id must be one of the accounts signed in on this connection."))
		return
	}
	actx := kizuna.WithActor(ctx, actor)
	if f.Type == "read" {
		if err := st.s.svc.Talk.MarkRead(actx, f.RoomID, f.Seq); err != nil {
			fail(err)
			return
		}
		st.reply(ackFrame{Type: "ack", Ref: f.Ref})
		return
	}
	m, dup, err := st.s.svc.Talk.Send(actx, f.RoomID, service.SendInput{ClientMsgID: f.ClientMsgID, Body: f.Body, ReplyTo: f.ReplyTo, Mentions: f.Mentions})
	if err != nil {
		fail(err)
		return
	}
	st.reply(ackFrame{Type: "ack", Ref: f.Ref, Message: m, Duplicate: dup})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
