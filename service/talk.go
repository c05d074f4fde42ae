package service

import (
	"context"
	"encoding/json"
	"errors"
	"hash/maphash"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/hub"
	"github.com/kizuna-chat/kizuna/store"
)

// TalkService runs rooms and messages (issue 5). Every write goes through
// one writer goroutine that commits whatever has queued up in one
// transaction (group commit); a publisher goroutine then delivers each
// batch's events and answers its writes in commit order, so live delivery
// and the resumable event log agree, while the writer commits the next.
type TalkService struct {
	*deps
	hub   hub.Hub
	queue chan *pendingOp
	// cluster is set when several nodes share the store: the writer then
	// announces commits, and every node's tailer delivers from the log.
	cluster  hub.Cluster
	tailWake chan struct{}
	tailPos  int64

	startOnce   sync.Once
	stopOnce    sync.Once
	stop        chan struct{}
	stopped     chan struct{}
	tailing     bool
	tailStopped chan struct{}
}

// maxBatch bounds one group commit: large enough to amortize the commit,
// small enough that the first sender of a batch does not wait long.
const maxBatch = 512

// queueLimit bounds the writes waiting for the writer. WebSocket readers
// hand sends over without waiting (see SendAsync) and, when the queue is
// full (one long transaction such as a big import holds the database),
// are told server_busy rather than made to wait: their connections keep
// answering pings. Each connection has its own, smaller bound.
const queueLimit = 64 * maxBatch

type pendingOp struct {
	op   store.TalkOp
	res  store.TalkResult
	err  error
	done chan struct{}
	// then, when set, is called instead of closing done (see SendAsync).
	then func(store.TalkResult, error)
}

// finish hands the op's outcome to whoever waits for it.
func (p *pendingOp) finish() {
	if p.then != nil {
		err := p.err
		if err == nil {
			err = p.res.Err
		}
		p.then(p.res, err)
		return
	}
	close(p.done)
}

func newTalkService(d *deps, h hub.Hub) *TalkService {
	t := &TalkService{deps: d, hub: h, queue: make(chan *pendingOp, queueLimit), stop: make(chan struct{}), stopped: make(chan struct{}),
		tailWake: make(chan struct{}, 1), tailStopped: make(chan struct{})}
	if c, ok := h.(hub.Cluster); ok {
		t.cluster = c
		c.OnCommitted(func(int64) { t.wakeTailer() })
	}
	if ctl, ok := h.(interface{ OnControl(func(hub.Event)) }); ok {
		ctl.OnControl(t.control)
	}
	return t
}

// Control events the talk service acts on.
const (
	// controlRoomsReset drops every node's cached room members.
	controlRoomsReset = "rooms.reset"
	// ControlSessionsChanged tells connections holding an account to check
	// its sessions again now (a sign-out, reissue or removal).
	ControlSessionsChanged = "sessions.changed"
)

func (t *TalkService) control(ev hub.Event) {
	if ev.Control == controlRoomsReset {
		t.rooms.reset()
	}
}

// StartTailing starts delivering from the event log (cluster mode): from
// the log's current end, then whenever a node announces a commit, and at
// least every second, so that events still arrive while the bus is away.
func (t *TalkService) StartTailing(ctx context.Context) error {
	if t.cluster == nil {
		return nil
	}
	_, last, err := t.store.EventBounds(ctx)
	if err != nil {
		return err
	}
	t.tailPos = last
	t.tailing = true
	go t.runTailer()
	return nil
}

func (t *TalkService) wakeTailer() {
	select {
	case t.tailWake <- struct{}{}:
	default:
	}
}

func (t *TalkService) runTailer() {
	defer close(t.tailStopped)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-t.tailWake:
		case <-tick.C:
		}
		t.tail()
	}
}

// tail delivers what the log holds after tailPos, in order, to this
// node's connections.
func (t *TalkService) tail() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		evs, err := t.store.EventsSince(ctx, t.tailPos, replayPage)
		if err != nil {
			t.log.Warn("reading the event log", "err", err)
			return
		}
		if len(evs) == 0 {
			return
		}
		t.cluster.Local().Publish(t.hubEvents(ctx, evs))
		t.tailPos = evs[len(evs)-1].Pos
		if len(evs) < replayPage {
			return
		}
	}
}

// newTalk creates the talk service and lets the other services reach it.
func (d *deps) newTalk(h hub.Hub) *TalkService {
	d.talkSvc = newTalkService(d, h)
	return d.talkSvc
}

// Hub returns the hub the service publishes to.
func (t *TalkService) Hub() hub.Hub { return t.hub }

// Close stops the writer after the queued writes are committed.
func (t *TalkService) Close() {
	t.stopOnce.Do(func() {
		close(t.stop)
		t.startOnce.Do(func() { close(t.stopped) })
	})
	<-t.stopped
	if t.tailing {
		<-t.tailStopped
	}
}

// submit queues one write and waits for its commit. A caller that gives up
// (ctx done) may still see the write committed; retrying a send with the
// same client_msg_id is safe.
func (t *TalkService) submit(ctx context.Context, op store.TalkOp) (store.TalkResult, error) {
	p := &pendingOp{op: op, done: make(chan struct{})}
	if err := t.enqueue(ctx, p); err != nil {
		return store.TalkResult{}, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return store.TalkResult{}, ctx.Err()
	}
	if p.err != nil {
		return store.TalkResult{}, p.err
	}
	return p.res, p.res.Err
}

// submitAsync queues one write without waiting: then is called on the
// publisher's goroutine once it is committed and its events published, or
// refused. Writes queued by one goroutine commit in the order queued.
func (t *TalkService) submitAsync(op store.TalkOp, then func(store.TalkResult, error)) error {
	t.startWriter()
	select {
	case <-t.stop:
		return errShuttingDown
	default:
	}
	select {
	case t.queue <- &pendingOp{op: op, then: then}:
		return nil
	default:
		return errBusy
	}
}

func (t *TalkService) enqueue(ctx context.Context, p *pendingOp) error {
	t.startWriter()
	select {
	case t.queue <- p:
		return nil
	case <-t.stop:
		return errShuttingDown
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startWriter starts the writer with the first write.
func (t *TalkService) startWriter() { t.startOnce.Do(func() { go t.run() }) }

var errBusy = kizuna.Errorf(kizuna.ErrUnavailable, "server_busy", "The server has too many writes waiting; try again in a moment.")

var errShuttingDown = kizuna.Errorf(kizuna.ErrUnavailable, "shutting_down", "The server is shutting down; try again in a moment.")

func (t *TalkService) run() {
	// The publisher delivers each batch's events and answers its writes,
	// in commit order, while the writer commits the next batch: the
	// writer is the one goroutine every send waits for.
	published := make(chan committedBatch, publishAhead)
	publisherDone := make(chan struct{})
	go func() {
		defer close(publisherDone)
		for b := range published {
			t.publish(b)
		}
	}()
	defer func() {
		close(published)
		<-publisherDone
		close(t.stopped)
	}()
	batch := make([]*pendingOp, 0, maxBatch)
	window := time.NewTimer(time.Hour)
	window.Stop()
	var policy gatherPolicy
	for {
		select {
		case p := <-t.queue:
			batch = append(batch[:0], p)
		drain:
			for len(batch) < maxBatch {
				select {
				case p := <-t.queue:
					batch = append(batch, p)
				default:
					break drain
				}
			}
			if policy.wait(len(batch), time.Now()) {
				batch = t.gather(batch, window)
			}
			published <- t.commit(slices.Clone(batch))
			policy.committed(batch, time.Now())
		case <-t.stop:
			for {
				select {
				case p := <-t.queue:
					published <- t.commit([]*pendingOp{p})
				default:
					return
				}
			}
		}
	}
}

// publishAhead is how many committed batches may wait for the publisher
// before the writer waits for it.
const publishAhead = 4

// gatherPolicy decides when the writer waits a moment for more writes
// before committing, so that one commit carries several. A commit
// rewrites every page it touches (each room's leaf in three indexes, the
// room row, the tables' last pages) and costs a WAL write per page: at
// 5,000 messages/s in 100 rooms of 10, commits carried 1.8 sends each,
// and waiting gatherFor cut the server's CPU by 8% and p99
// send-to-delivery from 34-36 ms to 20-25 ms (three 20 s runs each,
// 2-core host of 2026-12-03). It waits only when waiting can gather:
//
//   - traffic is steady (the last commit ended within steadyWithin): a
//     lone message after a quiet spell goes at once;
//   - the batch is small: a busy writer gathers by itself meanwhile;
//   - many accounts have been writing lately. A few busy senders (a hot
//     room of 8) each wait for their last message's acknowledgement
//     before the next, so nothing more would come: waiting halved that
//     room's rate, because an idle runtime rounds a sub-millisecond
//     timer up to a millisecond.
type gatherPolicy struct {
	lastCommit time.Time
	// seen sketches the accounts that wrote in the current period: bit
	// hash(account) mod 64 each. A full period sets about 60 bits when
	// hundreds write, at most 8 when 8 do.
	seen    uint64
	batches int
	many    bool // many accounts wrote in the last full period
}

const (
	gatherFor    = 500 * time.Microsecond
	steadyWithin = 5 * time.Millisecond
	gatherBelow  = 8   // batches this large commit without waiting
	sketchPeriod = 256 // batches per period of the sketch
	manyWriters  = 32  // bits of the sketch that mean many accounts
)

// wait says whether a batch of n writes, ready at now, should gather more.
func (g *gatherPolicy) wait(n int, now time.Time) bool {
	return g.many && n < gatherBelow && now.Sub(g.lastCommit) < steadyWithin
}

// committed records a batch committed at now.
func (g *gatherPolicy) committed(batch []*pendingOp, now time.Time) {
	g.lastCommit = now
	for _, p := range batch {
		g.seen |= 1 << (maphash.String(sketchSeed, p.op.ActorID) % 64)
	}
	if g.batches++; g.batches == sketchPeriod {
		g.many = bits.OnesCount64(g.seen) >= manyWriters
		g.seen, g.batches = 0, 0
	}
}

var sketchSeed = maphash.MakeSeed()

// gather adds to batch what arrives within gatherFor, until it is full.
func (t *TalkService) gather(batch []*pendingOp, window *time.Timer) []*pendingOp {
	window.Reset(gatherFor)
	defer window.Stop()
	for len(batch) < maxBatch {
		select {
		case p := <-t.queue:
			batch = append(batch, p)
		case <-window.C:
			return batch
		}
	}
	return batch
}

// committedBatch is a batch whose transaction has ended, waiting to be
// published and answered.
type committedBatch struct {
	ops     []*pendingOp
	results []store.TalkResult
	began   time.Time
}

// commit runs a batch's transaction; publish then delivers and answers it.
func (t *TalkService) commit(batch []*pendingOp) committedBatch {
	began := time.Now()
	ops := make([]store.TalkOp, len(batch))
	for i, p := range batch {
		ops[i] = p.op
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results, err := t.store.ApplyTalk(ctx, ops)
	if err != nil {
		t.log.Error("talk batch failed", "ops", len(ops), "err", err)
		for _, p := range batch {
			p.err = err
		}
		return committedBatch{ops: batch, began: began}
	}
	t.countSent(ops, results)
	return committedBatch{ops: batch, results: results, began: began}
}

// publish delivers a committed batch's events and then answers its
// writes.
func (t *TalkService) publish(b committedBatch) {
	defer func() { t.counters.observeTalkCommit(len(b.ops), time.Since(b.began)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var events []hub.Event
	var last int64
	for i, r := range b.results {
		if r.Err == nil && len(r.Events) > 0 {
			events = append(events, t.hubEvents(ctx, r.Events)...)
			last = max(last, r.Events[len(r.Events)-1].Pos)
		}
		b.ops[i].res = r
	}
	// Publish before answering: recipients hear of a message no later
	// than its sender's acknowledgement. In a cluster every node, this one
	// included, delivers from the log in order once told.
	switch {
	case t.cluster != nil && last > 0:
		t.cluster.Committed(last)
	case len(events) > 0:
		t.hub.Publish(events)
	}
	for _, p := range b.ops {
		p.finish()
	}
}

// hubEvents turns committed events into frames addressed to the rooms'
// members, keeping the room cache in step with membership changes.
func (t *TalkService) hubEvents(ctx context.Context, evs []kizuna.RoomEvent) []hub.Event {
	out := make([]hub.Event, 0, len(evs))
	for _, e := range evs {
		switch e.Kind {
		case kizuna.EventMemberJoined:
			t.rooms.joined(ctx, t.store, e.RoomID, e.AccountID)
		case kizuna.EventMemberLeft:
			t.rooms.left(e.RoomID, e.AccountID)
		case kizuna.EventRoomUpdated:
			t.rooms.forget(e.RoomID)
		}
		entry, err := t.rooms.get(ctx, t.store, e.RoomID)
		if err != nil {
			// The event is in the log; clients catch up when they resume.
			t.log.Warn("room members unavailable for live delivery", "room", e.RoomID, "err", err)
			continue
		}
		recipients := entry.memberIDs()
		if e.Kind == kizuna.EventMemberLeft {
			recipients = append(recipients, e.AccountID)
		}
		out = append(out, hub.Event{Pos: e.Pos, Recipients: recipients, Frame: encodeFrame(e)})
	}
	return out
}

// EventFrame is an event as the WebSocket sends it.
type EventFrame struct {
	Type      string           `json:"type"` // "event"
	Pos       int64            `json:"pos"`
	Kind      kizuna.EventKind `json:"kind"`
	RoomID    string           `json:"room_id"`
	AccountID string           `json:"account_id,omitempty"`
	Seq       int64            `json:"seq,omitempty"`
	Message   *MessageView     `json:"message,omitempty"`
	RoomName  string           `json:"room_name,omitempty"`
	At        time.Time        `json:"at"`
}

func encodeFrame(e kizuna.RoomEvent) []byte {
	f := EventFrame{Type: "event", Pos: e.Pos, Kind: e.Kind, RoomID: e.RoomID, AccountID: e.AccountID, Seq: e.Seq, RoomName: e.RoomName, At: e.CreatedAt}
	if e.Message != nil {
		v := viewMessage(e.Message)
		f.Message = &v
	}
	b, _ := json.Marshal(f) // plain structs: cannot fail
	return b
}

// MessageView is a message as clients see it.
type MessageView struct {
	ID          string     `json:"id"`
	RoomID      string     `json:"room_id"`
	Seq         int64      `json:"seq"`
	SenderID    string     `json:"sender_id"`
	ClientMsgID string     `json:"client_msg_id"`
	Body        string     `json:"body"`
	ReplyTo     int64      `json:"reply_to,omitempty"`
	Mentions    []string   `json:"mentions"`
	CreatedAt   time.Time  `json:"created_at"`
	EditedAt    *time.Time `json:"edited_at,omitempty"`
	Deleted     bool       `json:"deleted"`
	// ReadBy counts the other members who have read the message (history
	// pages only).
	ReadBy *int `json:"read_by,omitempty"`
}

func viewMessage(m *kizuna.Message) MessageView {
	v := MessageView{ID: m.ID, RoomID: m.RoomID, Seq: m.Seq, SenderID: m.SenderID, ClientMsgID: m.ClientMsgID, Body: m.Body,
		ReplyTo: m.ReplyTo, Mentions: m.Mentions, CreatedAt: m.CreatedAt, Deleted: m.Deleted()}
	if v.Mentions == nil {
		v.Mentions = []string{}
	}
	if !m.EditedAt.IsZero() {
		at := m.EditedAt
		v.EditedAt = &at
	}
	return v
}

// RoomView is a room as one of its members sees it.
type RoomView struct {
	ID          string          `json:"id"`
	Kind        kizuna.RoomKind `json:"kind"`
	Name        string          `json:"name"`
	CreatedAt   time.Time       `json:"created_at"`
	ActiveAt    time.Time       `json:"active_at"`
	LastSeq     int64           `json:"last_seq"`
	Role        kizuna.RoomRole `json:"role"`
	LastReadSeq int64           `json:"last_read_seq"`
	Unread      int             `json:"unread"`
	MemberCount int             `json:"member_count"`
	// External tells whether the room holds anybody external to the
	// viewer (R3); ExternalCount how many.
	External      bool `json:"external"`
	ExternalCount int  `json:"external_count"`
	// Peer is the other person of a direct room.
	Peer *Person `json:"-"`
	// ReadOnly is set when the external-talk policy no longer lets the
	// viewer write here (R9); nothing was deleted.
	ReadOnly       bool             `json:"read_only"`
	ReadOnlyReason string           `json:"read_only_reason,omitempty"`
	Members        []RoomMemberView `json:"-"`
}

// RoomMemberView is a member of a room as a viewer sees them.
type RoomMemberView struct {
	Person
	Role        kizuna.RoomRole
	LastReadSeq int64
}

// roomID validates a path's room ID cheaply before any query.
func roomIDOK(id string) bool { return len(id) > 0 && len(id) <= 64 }

// withTalk returns the signed-in actor; personal accounts talk too.
func withTalk(ctx context.Context) (*kizuna.Actor, error) { return signedIn(ctx) }

// resolveAccounts finds accounts named by account ID or sign-in ID.
// Errors: not_found naming the first unknown one.
func (t *TalkService) resolveAccounts(ctx context.Context, refs []string) ([]*kizuna.Account, error) {
	out := make([]*kizuna.Account, 0, len(refs))
	seen := map[string]bool{}
	for _, ref := range refs {
		ref = strings.TrimSpace(ref)
		var a *kizuna.Account
		var err error
		if kizuna.IsID(ref) {
			a, err = t.store.AccountByID(ctx, ref)
		}
		if a == nil { // not a key, or no account has it: try it as a sign-in ID
			local, domain, perr := parseSignInID(ref)
			if perr != nil {
				return nil, kizuna.Errorf(kizuna.ErrNotFound, "account_not_found", "No account has the ID %q.", truncateForLog(ref))
			}
			a, err = t.store.AccountByAddress(ctx, local, domain)
		}
		if errors.Is(err, kizuna.ErrNotFound) || (err == nil && a.Status != kizuna.StatusActive) {
			return nil, kizuna.Errorf(kizuna.ErrNotFound, "account_not_found", "No active account has the ID %q.", truncateForLog(ref))
		}
		if err != nil {
			return nil, err
		}
		if !seen[a.ID] {
			seen[a.ID] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// mayJoin checks that the actor may bring each account into a room: its
// own tenant's members freely, anyone else only as an accepted external
// contact that both policies allow (R9).
func (t *TalkService) mayJoin(ctx context.Context, actor *kizuna.Account, accounts []*kizuna.Account) error {
	return t.talkCheck(ctx, actor, accounts, true)
}

// CreateGroup creates a named room with the actor as its manager.
// Errors: invalid "invalid_room_name"; not_found "account_not_found";
// forbidden "contact_required", "external_talk_forbidden".
func (t *TalkService) CreateGroup(ctx context.Context, name string, members []string) (*RoomView, error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return nil, err
	}
	name, err = kizuna.NormalizeRoomName(name)
	if err != nil {
		return nil, err
	}
	if len(members) >= kizuna.MaxRoomMembers {
		return nil, errRoomTooBig
	}
	accounts, err := t.resolveAccounts(ctx, members)
	if err != nil {
		return nil, err
	}
	accounts = slices.DeleteFunc(accounts, func(a *kizuna.Account) bool { return a.ID == actor.Account.ID })
	if err := t.mayJoin(ctx, actor.Account, accounts); err != nil {
		return nil, err
	}
	ids := []string{actor.Account.ID}
	for _, a := range accounts {
		ids = append(ids, a.ID)
	}
	room := &kizuna.Room{ID: kizuna.NewID(), Kind: kizuna.RoomGroup, Name: name, CreatedBy: actor.Account.ID}
	res, err := t.submit(ctx, store.TalkOp{Kind: store.OpCreateRoom, ActorID: actor.Account.ID, Room: room, AccountIDs: ids})
	if err != nil {
		return nil, err
	}
	return t.Room(ctx, res.Room.ID)
}

var errRoomTooBig = kizuna.Errorf(kizuna.ErrInvalid, "room_full", "A room holds at most %d members.", kizuna.MaxRoomMembers)

// OpenDirect returns the actor's one-to-one room with another account,
// creating it the first time; created tells which. Errors: not_found
// "account_not_found"; invalid "cannot_talk_to_self"; forbidden
// "contact_required", "external_talk_forbidden".
func (t *TalkService) OpenDirect(ctx context.Context, with string) (*RoomView, bool, error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return nil, false, err
	}
	accounts, err := t.resolveAccounts(ctx, []string{with})
	if err != nil {
		return nil, false, err
	}
	peer := accounts[0]
	if peer.ID == actor.Account.ID {
		return nil, false, kizuna.Errorf(kizuna.ErrInvalid, "cannot_talk_to_self", "A direct room needs another account.")
	}
	if err := t.mayJoin(ctx, actor.Account, accounts); err != nil {
		return nil, false, err
	}
	room := &kizuna.Room{ID: kizuna.NewID(), Kind: kizuna.RoomDirect, DirectKey: kizuna.DirectKey(actor.Account.ID, peer.ID), CreatedBy: actor.Account.ID}
	res, err := t.submit(ctx, store.TalkOp{Kind: store.OpCreateRoom, ActorID: actor.Account.ID, Room: room, AccountIDs: []string{actor.Account.ID, peer.ID}})
	if err != nil {
		return nil, false, err
	}
	v, err := t.Room(ctx, res.Room.ID)
	return v, !res.Duplicate, err
}

// roomCursor encodes a room list position.
func roomCursor(r kizuna.Room) string {
	return strconv.FormatInt(r.ActiveAt.UnixMilli(), 10) + "." + r.ID
}

func parseRoomCursor(c string) (time.Time, string, error) {
	ms, id, ok := strings.Cut(c, ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", kizuna.Errorf(kizuna.ErrInvalid, "invalid_cursor", "The cursor is not one this server gave out.")
	}
	return time.UnixMilli(n).UTC(), id, nil
}

// Rooms lists the actor's rooms, most recently active first, with unread
// counts and the external mark.
func (t *TalkService) Rooms(ctx context.Context, cursor string, limit int) (*Page[RoomView], error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit); err != nil {
		return nil, err
	}
	f := store.RoomFilter{ViewerTenantID: actor.Account.TenantID, Limit: limit + 1}
	if cursor != "" {
		if f.BeforeActive, f.BeforeID, err = parseRoomCursor(cursor); err != nil {
			return nil, err
		}
	}
	rows, err := t.store.RoomsOf(ctx, actor.Account.ID, f)
	if err != nil {
		return nil, err
	}
	page := &Page[RoomView]{Items: []RoomView{}}
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = roomCursor(rows[limit-1].Room)
	}
	var peers []string
	for _, r := range rows {
		if r.Room.Kind == kizuna.RoomDirect {
			peers = append(peers, directPeer(r.Room, actor.Account.ID))
		}
	}
	peerPeople, err := t.peopleByID(ctx, actor.Account, peers)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		v := roomView(r)
		if r.Room.Kind == kizuna.RoomDirect {
			if p, ok := peerPeople[directPeer(r.Room, actor.Account.ID)]; ok {
				v.Peer = &p
			}
		}
		page.Items = append(page.Items, v)
	}
	return page, nil
}

func directPeer(r kizuna.Room, self string) string {
	a, b, _ := strings.Cut(r.DirectKey, "|")
	if a == self {
		return b
	}
	return a
}

func roomView(r store.RoomSummary) RoomView {
	return RoomView{ID: r.Room.ID, Kind: r.Room.Kind, Name: r.Room.Name, CreatedAt: r.Room.CreatedAt, ActiveAt: r.Room.ActiveAt,
		LastSeq: r.Room.LastSeq, Role: r.Membership.Role, LastReadSeq: r.Membership.LastReadSeq, Unread: r.Unread,
		MemberCount: r.MemberCount, External: r.ExternalCount > 0, ExternalCount: r.ExternalCount}
}

// peopleByID classifies accounts (by ID) for a viewer; unknown or deleted
// ones are absent.
func (t *TalkService) peopleByID(ctx context.Context, viewer *kizuna.Account, ids []string) (map[string]Person, error) {
	out := map[string]Person{}
	if len(ids) == 0 {
		return out, nil
	}
	accounts, err := t.store.AccountsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	list := make([]*kizuna.Account, 0, len(accounts))
	for _, a := range accounts {
		list = append(list, a)
	}
	people, err := t.people(ctx, viewer, list...)
	if err != nil {
		return nil, err
	}
	for _, p := range people {
		out[p.ID] = p
	}
	return out, nil
}

// Room returns one of the actor's rooms with its members, each classified
// relative to the actor, and whether the actor may still write there.
// Errors: not_found, also for rooms the actor is not in.
func (t *TalkService) Room(ctx context.Context, id string) (*RoomView, error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return nil, err
	}
	if !roomIDOK(id) {
		return nil, errRoomNotFound
	}
	room, err := t.store.Room(ctx, id)
	if err != nil {
		return nil, err
	}
	memberships, err := t.store.RoomMemberships(ctx, id)
	if err != nil {
		return nil, err
	}
	var mine *kizuna.RoomMembership
	ids := make([]string, 0, len(memberships))
	for i := range memberships {
		if memberships[i].AccountID == actor.Account.ID {
			mine = &memberships[i]
		}
		ids = append(ids, memberships[i].AccountID)
	}
	if mine == nil {
		return nil, errRoomNotFound
	}
	people, err := t.peopleByID(ctx, actor.Account, ids)
	if err != nil {
		return nil, err
	}
	unread, err := t.store.RoomUnread(ctx, room.ID, actor.Account.ID)
	if err != nil {
		return nil, err
	}
	v := RoomView{ID: room.ID, Kind: room.Kind, Name: room.Name, CreatedAt: room.CreatedAt, ActiveAt: room.ActiveAt, LastSeq: room.LastSeq,
		Role: mine.Role, LastReadSeq: mine.LastReadSeq, Unread: unread, MemberCount: len(memberships)}
	var others []*kizuna.Account
	for _, m := range memberships {
		p, ok := people[m.AccountID]
		if !ok {
			continue // deleted since
		}
		v.Members = append(v.Members, RoomMemberView{Person: p, Role: m.Role, LastReadSeq: m.LastReadSeq})
		if m.AccountID == actor.Account.ID {
			continue
		}
		others = append(others, p.Account)
		if p.Relation != kizuna.RelationInternal {
			v.ExternalCount++
		}
		if room.Kind == kizuna.RoomDirect {
			pp := p
			v.Peer = &pp
		}
	}
	v.External = v.ExternalCount > 0
	if err := t.talkCheck(ctx, actor.Account, others, room.Kind == kizuna.RoomDirect); err != nil {
		if !errors.Is(err, kizuna.ErrForbidden) {
			return nil, err
		}
		v.ReadOnly, v.ReadOnlyReason = true, kizuna.AsError(err).Message
	}
	return &v, nil
}

// member returns the actor's cached view of a room it is in. Errors:
// not_found for rooms it is not in.
func (t *TalkService) roomOf(ctx context.Context, actor *kizuna.Account, roomID string) (*roomEntry, error) {
	if !roomIDOK(roomID) {
		return nil, errRoomNotFound
	}
	e, err := t.rooms.get(ctx, t.store, roomID)
	if errors.Is(err, kizuna.ErrNotFound) {
		return nil, errRoomNotFound
	}
	if err != nil {
		return nil, err
	}
	if _, ok := e.members[actor.ID]; !ok {
		return nil, errRoomNotFound
	}
	return e, nil
}

var errRoomNotFound = kizuna.NotFound("Room")

// Rename renames a group room (its managers). Errors: not_found;
// forbidden "room_manager_required"; invalid "invalid_room_name",
// "direct_room".
func (t *TalkService) Rename(ctx context.Context, id, name string) (*RoomView, error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return nil, err
	}
	e, err := t.roomOf(ctx, actor.Account, id)
	if err != nil {
		return nil, err
	}
	if e.room.Kind == kizuna.RoomDirect {
		return nil, errDirectRoom
	}
	if e.roles[actor.Account.ID] != kizuna.RoomManager {
		return nil, errManagerOnly
	}
	if name, err = kizuna.NormalizeRoomName(name); err != nil {
		return nil, err
	}
	if _, err := t.submit(ctx, store.TalkOp{Kind: store.OpRenameRoom, ActorID: actor.Account.ID, RoomID: id, Name: name}); err != nil {
		return nil, err
	}
	return t.Room(ctx, id)
}

var (
	errDirectRoom  = kizuna.Errorf(kizuna.ErrInvalid, "direct_room", "A direct room always holds its two people; start a group room to talk with more.")
	errManagerOnly = kizuna.Errorf(kizuna.ErrForbidden, "room_manager_required", "Only the room's managers can do this.")
)

// AddMembers invites accounts into a group room; any member may invite.
// Errors: not_found; invalid "direct_room", "room_full"; those of
// CreateGroup.
func (t *TalkService) AddMembers(ctx context.Context, id string, members []string) (*RoomView, error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return nil, err
	}
	e, err := t.roomOf(ctx, actor.Account, id)
	if err != nil {
		return nil, err
	}
	if e.room.Kind == kizuna.RoomDirect {
		return nil, errDirectRoom
	}
	if err := t.notGroupRoom(ctx, id); err != nil {
		return nil, err
	}
	if len(members) == 0 || len(members) > kizuna.MaxRoomMembers {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_members", "Name between 1 and %d accounts to add.", kizuna.MaxRoomMembers)
	}
	accounts, err := t.resolveAccounts(ctx, members)
	if err != nil {
		return nil, err
	}
	accounts = slices.DeleteFunc(accounts, func(a *kizuna.Account) bool { _, in := e.members[a.ID]; return in })
	if err := t.mayJoin(ctx, actor.Account, accounts); err != nil {
		return nil, err
	}
	ids := make([]string, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	if len(ids) > 0 {
		if _, err := t.submit(ctx, store.TalkOp{Kind: store.OpAddMembers, ActorID: actor.Account.ID, RoomID: id, AccountIDs: ids}); err != nil {
			return nil, err
		}
	}
	return t.Room(ctx, id)
}

// RemoveMember takes an account out of a group room: a manager removes
// anybody, every member may leave. Errors: not_found; forbidden
// "room_manager_required"; invalid "direct_room".
func (t *TalkService) RemoveMember(ctx context.Context, id, accountID string) error {
	actor, err := withTalk(ctx)
	if err != nil {
		return err
	}
	e, err := t.roomOf(ctx, actor.Account, id)
	if err != nil {
		return err
	}
	if e.room.Kind == kizuna.RoomDirect {
		return errDirectRoom
	}
	if err := t.notGroupRoom(ctx, id); err != nil {
		return err
	}
	if accountID != actor.Account.ID && e.roles[actor.Account.ID] != kizuna.RoomManager {
		return errManagerOnly
	}
	if _, ok := e.members[accountID]; !ok {
		return kizuna.NotFound("Room member")
	}
	_, err = t.submit(ctx, store.TalkOp{Kind: store.OpRemoveMember, ActorID: actor.Account.ID, RoomID: id, AccountID: accountID})
	return err
}

// notGroupRoom refuses membership changes of a group's room: its members
// follow the group (R10).
func (t *TalkService) notGroupRoom(ctx context.Context, roomID string) error {
	g, err := t.store.GroupOfRoom(ctx, roomID)
	if err != nil || g == "" {
		return err
	}
	return kizuna.Errorf(kizuna.ErrInvalid, "group_room", "This room follows its group's members: add or remove them in the group.")
}

// SendInput is a message to send.
type SendInput struct {
	ClientMsgID string
	Body        string
	ReplyTo     int64
	Mentions    []string
}

// Send stores a message in a room the actor is in. A retry with the same
// client_msg_id returns the stored message with duplicate set. Errors:
// not_found (room); invalid "invalid_message", "invalid_client_msg_id",
// "invalid_reply_to", "invalid_mentions"; too_large "message_too_long";
// forbidden "external_talk_forbidden", "contact_required"; rate_limited
// "rate_limited".
func (t *TalkService) Send(ctx context.Context, roomID string, in SendInput) (*MessageView, bool, error) {
	op, err := t.sendOp(ctx, roomID, in)
	if err != nil {
		return nil, false, err
	}
	res, err := t.submit(ctx, op)
	if err != nil {
		return nil, false, err
	}
	v := viewMessage(res.Message)
	return &v, res.Duplicate, nil
}

// SendAsync is Send for a caller that must not wait for the commit, such
// as a WebSocket reader that has to go on reading (pings, further frames)
// while the database is busy. The checks run now and their error is
// returned (also unavailable "server_busy" when too many writes wait);
// otherwise done is called once the message is committed and published
// (or refused by the store), on the writer's goroutine, so it must not
// block. Sends of one goroutine are stored in the order made.
func (t *TalkService) SendAsync(ctx context.Context, roomID string, in SendInput, done func(*MessageView, bool, error)) error {
	op, err := t.sendOp(ctx, roomID, in)
	if err != nil {
		return err
	}
	return t.submitAsync(op, func(res store.TalkResult, err error) {
		if err != nil {
			done(nil, false, err)
			return
		}
		v := viewMessage(res.Message)
		done(&v, res.Duplicate, nil)
	})
}

// sendOp checks a send and turns it into the store's operation.
func (t *TalkService) sendOp(ctx context.Context, roomID string, in SendInput) (store.TalkOp, error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return store.TalkOp{}, err
	}
	if err := t.allowMessage(actor.Account.ID); err != nil {
		return store.TalkOp{}, err
	}
	if err := kizuna.CheckClientMsgID(in.ClientMsgID); err != nil {
		return store.TalkOp{}, err
	}
	if err := kizuna.CheckMessageBody(in.Body); err != nil {
		return store.TalkOp{}, err
	}
	e, err := t.roomOf(ctx, actor.Account, roomID)
	if err != nil {
		return store.TalkOp{}, err
	}
	if in.ReplyTo < 0 {
		return store.TalkOp{}, kizuna.Errorf(kizuna.ErrInvalid, "invalid_reply_to", "reply_to must be the seq of a message in the same room.")
	}
	mentions, err := checkMentions(e, in.Mentions)
	if err != nil {
		return store.TalkOp{}, err
	}
	if err := t.talkCheck(ctx, actor.Account, e.others(actor.Account.ID), e.room.Kind == kizuna.RoomDirect); err != nil {
		return store.TalkOp{}, err
	}
	m := &kizuna.Message{ID: kizuna.NewID(), RoomID: roomID, SenderID: actor.Account.ID, ClientMsgID: in.ClientMsgID,
		Body: in.Body, ReplyTo: in.ReplyTo, Mentions: mentions}
	return store.TalkOp{Kind: store.OpSend, ActorID: actor.Account.ID, RoomID: roomID, Message: m}, nil
}

func checkMentions(e *roomEntry, ids []string) ([]string, error) {
	if len(ids) > kizuna.MaxMentions {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_mentions", "A message mentions at most %d members.", kizuna.MaxMentions)
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := e.members[id]; !ok {
			return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_mentions", "Mentions must name members of the room by account ID.")
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// Edit replaces the text of the actor's message. Errors: not_found;
// forbidden "not_sender"; conflict "message_deleted"; the body's errors.
func (t *TalkService) Edit(ctx context.Context, roomID string, seq int64, body string) (*MessageView, error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return nil, err
	}
	if err := kizuna.CheckMessageBody(body); err != nil {
		return nil, err
	}
	e, err := t.roomOf(ctx, actor.Account, roomID)
	if err != nil {
		return nil, err
	}
	if err := t.talkCheck(ctx, actor.Account, e.others(actor.Account.ID), e.room.Kind == kizuna.RoomDirect); err != nil {
		return nil, err
	}
	res, err := t.submit(ctx, store.TalkOp{Kind: store.OpEdit, ActorID: actor.Account.ID, RoomID: roomID, Seq: seq, Body: body})
	if err != nil {
		return nil, err
	}
	v := viewMessage(res.Message)
	return &v, nil
}

// Delete deletes the actor's message: it stays in the history, shown as
// deleted, without its text. Deleting twice is no error. Errors:
// not_found; forbidden "not_sender".
func (t *TalkService) Delete(ctx context.Context, roomID string, seq int64) error {
	actor, err := withTalk(ctx)
	if err != nil {
		return err
	}
	if _, err := t.roomOf(ctx, actor.Account, roomID); err != nil {
		return err
	}
	_, err = t.submit(ctx, store.TalkOp{Kind: store.OpDelete, ActorID: actor.Account.ID, RoomID: roomID, Seq: seq})
	return err
}

// MarkRead moves the actor's read position forward (never back). Errors:
// not_found; invalid "invalid_seq".
func (t *TalkService) MarkRead(ctx context.Context, roomID string, seq int64) error {
	op, err := t.readOp(ctx, roomID, seq)
	if err != nil {
		return err
	}
	_, err = t.submit(ctx, op)
	return err
}

// MarkReadAsync is MarkRead without waiting for the commit; see SendAsync.
func (t *TalkService) MarkReadAsync(ctx context.Context, roomID string, seq int64, done func(error)) error {
	op, err := t.readOp(ctx, roomID, seq)
	if err != nil {
		return err
	}
	return t.submitAsync(op, func(_ store.TalkResult, err error) { done(err) })
}

func (t *TalkService) readOp(ctx context.Context, roomID string, seq int64) (store.TalkOp, error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return store.TalkOp{}, err
	}
	if seq < 0 {
		return store.TalkOp{}, kizuna.Errorf(kizuna.ErrInvalid, "invalid_seq", "seq must be a message's sequence number.")
	}
	if _, err := t.roomOf(ctx, actor.Account, roomID); err != nil {
		return store.TalkOp{}, err
	}
	return store.TalkOp{Kind: store.OpRead, ActorID: actor.Account.ID, RoomID: roomID, Seq: seq}, nil
}

// History is a page of a room's messages in ascending seq order.
type History struct {
	Messages []MessageView `json:"messages"`
	// HasMore tells whether more messages lie beyond the page in the
	// direction asked.
	HasMore bool `json:"has_more"`
}

// History pages through a room: before (newest first, the default) or
// after a seq; each message carries how many others have read it.
func (t *TalkService) History(ctx context.Context, roomID string, before, after int64, limit int) (*History, error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit); err != nil {
		return nil, err
	}
	if before < 0 || after < 0 || (before > 0 && after > 0) {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_range", "Give before or after (a seq), not both.")
	}
	if _, err := t.roomOf(ctx, actor.Account, roomID); err != nil {
		return nil, err
	}
	msgs, err := t.store.Messages(ctx, roomID, store.MessageFilter{Before: before, After: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	h := &History{Messages: []MessageView{}}
	if len(msgs) > limit {
		msgs, h.HasMore = msgs[:limit], true
	}
	if after == 0 {
		slices.Reverse(msgs)
	}
	memberships, err := t.store.RoomMemberships(ctx, roomID)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		v := viewMessage(m)
		n := 0
		for _, mem := range memberships {
			if mem.AccountID != m.SenderID && mem.LastReadSeq >= m.Seq {
				n++
			}
		}
		v.ReadBy = &n
		h.Messages = append(h.Messages, v)
	}
	return h, nil
}

// Unread is the actor's unread counts.
type Unread struct {
	Total int            `json:"total"`
	Rooms map[string]int `json:"rooms"`
}

// Unread returns the unread count of each room with unread messages and
// their total.
func (t *TalkService) Unread(ctx context.Context) (*Unread, error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := t.store.UnreadCounts(ctx, actor.Account.ID)
	if err != nil {
		return nil, err
	}
	u := &Unread{Rooms: counts}
	for _, n := range counts {
		u.Total += n
	}
	return u, nil
}

// Search finds messages containing text in the actor's rooms, newest
// first. Errors: invalid "invalid_query".
func (t *TalkService) Search(ctx context.Context, text, cursor string, limit int) (*Page[MessageView], error) {
	actor, err := withTalk(ctx)
	if err != nil {
		return nil, err
	}
	text = strings.TrimSpace(text)
	if text == "" || len(text) > 200 {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_query", "Search for 1 to 200 bytes of text.")
	}
	if limit, err = pageLimit(limit); err != nil {
		return nil, err
	}
	msgs, err := t.store.SearchMessages(ctx, actor.Account.ID, text, cursor, limit+1)
	if err != nil {
		return nil, err
	}
	page := &Page[MessageView]{Items: []MessageView{}}
	if len(msgs) > limit {
		msgs = msgs[:limit]
		page.NextCursor = msgs[limit-1].ID
	}
	for _, m := range msgs {
		page.Items = append(page.Items, viewMessage(m))
	}
	return page, nil
}

// Replay limits for a resuming client.
const (
	// MaxReplayPerRoom is how many missed events of one room are replayed;
	// a room with more is reset (the client reloads its history).
	MaxReplayPerRoom = 500
	replayPage       = 1000
)

// Catchup is what a client resuming after a position missed.
type Catchup struct {
	// Frames are the missed events of rooms within the replay limit, in
	// position order.
	Frames [][]byte
	// Reset lists rooms with too much missed: reload their history.
	Reset []string
	// ResetAll says the position is older than the log keeps: reload
	// everything.
	ResetAll bool
	// Pos is the position the client is at after applying all this.
	Pos int64
}

var errFuturePos = kizuna.Errorf(kizuna.ErrInvalid, "resume_position_invalid", "The resume position is ahead of this server's event log; reload and start from the position the server gives.")

// Catchup returns what accounts missed after pos. Subscribe first, then
// call Catchup, then deliver live events after Catchup.Pos: nothing is lost
// in between and nothing is sent twice.
func (t *TalkService) Catchup(ctx context.Context, after int64, accounts []string) (*Catchup, error) {
	first, last, err := t.store.EventBounds(ctx)
	if err != nil {
		return nil, err
	}
	c := &Catchup{Pos: last}
	if after < 0 || after > last {
		return nil, errFuturePos
	}
	if after == last {
		return c, nil
	}
	if first > 0 && after < first-1 {
		c.ResetAll = true
		return c, nil
	}
	counts, err := t.store.EventCountsAfter(ctx, after, accounts)
	if err != nil {
		return nil, err
	}
	reset := map[string]bool{}
	for room, n := range counts {
		if n > MaxReplayPerRoom && room != "" {
			reset[room] = true
			c.Reset = append(c.Reset, room)
		}
	}
	slices.Sort(c.Reset)
	pos := after
	for pos < last {
		evs, err := t.store.EventsAfter(ctx, pos, accounts, replayPage)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			pos = e.Pos
			if e.Pos > last {
				break
			}
			if reset[e.RoomID] && e.Kind != kizuna.EventMemberLeft {
				continue
			}
			c.Frames = append(c.Frames, encodeFrame(e))
		}
	}
	return c, nil
}

// Subscribe registers a connection for the events of accounts.
func (t *TalkService) Subscribe(accounts []string) *hub.Subscription {
	return t.hub.Subscribe(accounts)
}

// notify sends a live-only notice to the connections of accounts.
func (d *deps) notify(kind string, payload map[string]any, accounts ...string) {
	frame := map[string]any{"type": "notice", "kind": kind}
	for k, v := range payload {
		frame[k] = v
	}
	b, err := json.Marshal(frame)
	if err != nil {
		d.log.Error("encoding a notice", "kind", kind, "err", err)
		return
	}
	d.cfg.Hub.Publish([]hub.Event{{Recipients: accounts, Frame: b}})
}

// roomsChanged drops cached room members and tells every connection to
// refresh: a domain changed tenant, was deleted or restored, so members'
// classification may differ for anybody.
func (d *deps) roomsChanged() {
	d.rooms.reset()
	b, _ := json.Marshal(map[string]string{"type": "notice", "kind": kizuna.NoticeReclassified})
	d.cfg.Hub.Publish([]hub.Event{{Everyone: true, Frame: b}, {Control: controlRoomsReset}})
}

// sessionsChanged tells the connections holding these accounts, on every
// node, to check their sessions now rather than at the next heartbeat.
func (d *deps) sessionsChanged(accountIDs ...string) {
	d.cfg.Hub.Publish([]hub.Event{{Recipients: accountIDs, Control: ControlSessionsChanged}})
}

// roomEntry is a cached, immutable snapshot of a room's members; a change
// replaces the snapshot.
type roomEntry struct {
	room    kizuna.Room
	members map[string]*kizuna.Account
	roles   map[string]kizuna.RoomRole
}

func (e *roomEntry) memberIDs() []string {
	ids := make([]string, 0, len(e.members))
	for id := range e.members {
		ids = append(ids, id)
	}
	return ids
}

func (e *roomEntry) others(self string) []*kizuna.Account {
	out := make([]*kizuna.Account, 0, len(e.members))
	for id, a := range e.members {
		if id != self {
			out = append(out, a)
		}
	}
	return out
}

// roomCache keeps room membership in memory: every send checks it and
// every event is addressed with it, and reading it from the database each
// time would cost more than the message itself.
type roomCache struct {
	mu    sync.Mutex
	rooms map[string]*roomEntry
}

// maxCachedRooms bounds the cache; past it the cache starts over.
const maxCachedRooms = 100_000

func newRoomCache() *roomCache { return &roomCache{rooms: map[string]*roomEntry{}} }

func (c *roomCache) get(ctx context.Context, st store.Store, id string) (*roomEntry, error) {
	c.mu.Lock()
	e := c.rooms[id]
	c.mu.Unlock()
	if e != nil {
		return e, nil
	}
	room, err := st.Room(ctx, id)
	if err != nil {
		return nil, err
	}
	ms, err := st.RoomMemberships(ctx, id)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.AccountID
	}
	accounts, err := st.AccountsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	e = &roomEntry{room: *room, members: make(map[string]*kizuna.Account, len(ms)), roles: make(map[string]kizuna.RoomRole, len(ms))}
	for _, m := range ms {
		if a, ok := accounts[m.AccountID]; ok {
			e.members[m.AccountID] = a
			e.roles[m.AccountID] = m.Role
		}
	}
	c.mu.Lock()
	if len(c.rooms) >= maxCachedRooms {
		c.rooms = map[string]*roomEntry{}
	}
	c.rooms[id] = e
	c.mu.Unlock()
	return e, nil
}

// joined adds a member to a cached room; an uncached room is loaded on
// its next use.
func (c *roomCache) joined(ctx context.Context, st store.Store, roomID, accountID string) {
	c.mu.Lock()
	e := c.rooms[roomID]
	c.mu.Unlock()
	if e == nil {
		return
	}
	accounts, err := st.AccountsByIDs(ctx, []string{accountID})
	a, ok := accounts[accountID]
	if err != nil || !ok {
		c.forget(roomID)
		return
	}
	// Rooms are created with their members (loaded whole on first use);
	// anyone who joins later is a plain member.
	c.replace(roomID, e, func(n *roomEntry) { n.members[accountID] = a; n.roles[accountID] = kizuna.RoomMember })
}

func (c *roomCache) left(roomID, accountID string) {
	// A manager leaving may promote somebody: reload rather than guess.
	c.forget(roomID)
}

func (c *roomCache) replace(roomID string, old *roomEntry, change func(*roomEntry)) {
	n := &roomEntry{room: old.room, members: make(map[string]*kizuna.Account, len(old.members)+1), roles: make(map[string]kizuna.RoomRole, len(old.roles)+1)}
	for k, v := range old.members {
		n.members[k] = v
	}
	for k, v := range old.roles {
		n.roles[k] = v
	}
	change(n)
	c.mu.Lock()
	if c.rooms[roomID] == old {
		c.rooms[roomID] = n
	} else {
		delete(c.rooms, roomID)
	}
	c.mu.Unlock()
}

func (c *roomCache) forget(roomID string) {
	c.mu.Lock()
	delete(c.rooms, roomID)
	c.mu.Unlock()
}

func (c *roomCache) reset() {
	c.mu.Lock()
	c.rooms = map[string]*roomEntry{}
	c.mu.Unlock()
}
