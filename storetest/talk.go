package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// talkCases are the suite's tests of store.Talk.
func talkCases() []suiteCase {
	return []suiteCase{
		{"TalkSendNumbersPerRoom", testTalkSendNumbers},
		{"TalkRetriedSendStoredOnce", testTalkIdempotentSend},
		{"TalkRefusedOpLeavesBatch", testTalkRefusedOp},
		{"TalkDirectRoomUnique", testTalkDirectUnique},
		{"TalkEditDelete", testTalkEditDelete},
		{"TalkReadState", testTalkReadState},
		{"TalkMembership", testTalkMembership},
		{"TalkHistoryPaging", testTalkHistoryPaging},
		{"TalkEventsAfter", testTalkEventsAfter},
		{"TalkRoomsOfAndExternal", testTalkRoomsOf},
		{"TalkSearch", testTalkSearch},
	}
}

// talkWorld is two members of one tenant and one of another.
type talkWorld struct {
	a, b, x *kizuna.Account
	tenant  string
}

func newTalkWorld(t *testing.T, st store.Store) talkWorld {
	acme := createTenant(t, st, "Acme", "acme.example")
	other := createTenant(t, st, "Other", "other.example")
	return talkWorld{
		a:      acme.Owner,
		b:      addMember(t, st, acme.Tenant.ID, acme.Domain, "bob"),
		x:      other.Owner,
		tenant: acme.Tenant.ID,
	}
}

func apply(t *testing.T, st store.Store, ops ...store.TalkOp) []store.TalkResult {
	t.Helper()
	res, err := st.ApplyTalk(context.Background(), ops)
	if err != nil {
		t.Fatalf("ApplyTalk: %v", err)
	}
	if len(res) != len(ops) {
		t.Fatalf("ApplyTalk returned %d results for %d ops", len(res), len(ops))
	}
	return res
}

func applyOne(t *testing.T, st store.Store, op store.TalkOp) store.TalkResult {
	t.Helper()
	r := apply(t, st, op)[0]
	if r.Err != nil {
		t.Fatalf("op %d: %v", op.Kind, r.Err)
	}
	return r
}

func groupRoom(t *testing.T, st store.Store, creator string, members ...string) *kizuna.Room {
	t.Helper()
	r := &kizuna.Room{ID: kizuna.NewID(), Kind: kizuna.RoomGroup, Name: "Team", CreatedBy: creator}
	res := applyOne(t, st, store.TalkOp{Kind: store.OpCreateRoom, ActorID: creator, Room: r, AccountIDs: append([]string{creator}, members...)})
	return res.Room
}

func sendOp(room, sender, clientID, body string) store.TalkOp {
	return store.TalkOp{Kind: store.OpSend, ActorID: sender, RoomID: room, Message: &kizuna.Message{
		ID: kizuna.NewID(), RoomID: room, SenderID: sender, ClientMsgID: clientID, Body: body}}
}

func testTalkSendNumbers(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	r1 := groupRoom(t, st, w.a.ID, w.b.ID)
	r2 := groupRoom(t, st, w.a.ID, w.b.ID)
	var ops []store.TalkOp
	for i := range 6 {
		room := r1.ID
		if i%2 == 1 {
			room = r2.ID
		}
		ops = append(ops, sendOp(room, w.a.ID, fmt.Sprintf("c%d", i), fmt.Sprintf("hello %d", i)))
	}
	res := apply(t, st, ops...)
	var seqs1, seqs2 []int64
	var lastPos int64
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("send %d: %v", i, r.Err)
		}
		if len(r.Events) != 1 || r.Events[0].Kind != kizuna.EventMessageCreated || r.Events[0].Pos <= lastPos {
			t.Fatalf("send %d: events %+v, want one message.created after pos %d", i, r.Events, lastPos)
		}
		lastPos = r.Events[0].Pos
		if r.Message.RoomID == r1.ID {
			seqs1 = append(seqs1, r.Message.Seq)
		} else {
			seqs2 = append(seqs2, r.Message.Seq)
		}
	}
	if !slices.Equal(seqs1, []int64{1, 2, 3}) || !slices.Equal(seqs2, []int64{1, 2, 3}) {
		t.Errorf("seqs = %v and %v, want 1 2 3 in each room", seqs1, seqs2)
	}
	room, err := st.Room(context.Background(), r1.ID)
	must(t, err)
	if room.LastSeq != 3 {
		t.Errorf("LastSeq = %d, want 3", room.LastSeq)
	}
}

func testTalkIdempotentSend(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	r := groupRoom(t, st, w.a.ID, w.b.ID)
	first := applyOne(t, st, sendOp(r.ID, w.a.ID, "same", "once"))
	// The retry arrives in a batch with another copy of itself.
	res := apply(t, st, sendOp(r.ID, w.a.ID, "same", "once"), sendOp(r.ID, w.a.ID, "same", "once"))
	for i, again := range res {
		if again.Err != nil || !again.Duplicate || again.Message.ID != first.Message.ID || len(again.Events) != 0 {
			t.Errorf("retry %d = %+v, want the first message as a duplicate with no event", i, again)
		}
	}
	// Another sender may use the same key.
	other := applyOne(t, st, sendOp(r.ID, w.b.ID, "same", "mine"))
	if other.Duplicate || other.Message.Seq != 2 {
		t.Errorf("b's send = %+v, want a new message with seq 2", other)
	}
	// Keys are per room: the same key elsewhere is another message.
	r2 := groupRoom(t, st, w.a.ID)
	if res := applyOne(t, st, sendOp(r2.ID, w.a.ID, "same", "x")); res.Duplicate || res.Message.Seq != 1 {
		t.Errorf("same key in another room = %+v, want a new message", res)
	}
}

func testTalkRefusedOp(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	r := groupRoom(t, st, w.a.ID, w.b.ID)
	bad := sendOp(r.ID, w.x.ID, "x1", "not a member")
	badReply := sendOp(r.ID, w.a.ID, "a2", "reply to nothing")
	badReply.Message.ReplyTo = 99
	res := apply(t, st, sendOp(r.ID, w.a.ID, "a1", "ok"), bad, badReply, sendOp(r.ID, w.b.ID, "b1", "ok too"))
	if res[0].Err != nil || res[3].Err != nil {
		t.Fatalf("good ops failed: %v, %v", res[0].Err, res[3].Err)
	}
	wantErr(t, res[1].Err, kizuna.ErrNotFound, "not_found")
	wantErr(t, res[2].Err, kizuna.ErrInvalid, "invalid_reply_to")
	if res[3].Message.Seq != 2 {
		t.Errorf("seq after refused ops = %d, want 2 (refused ops take no number)", res[3].Message.Seq)
	}
	msgs, err := st.Messages(context.Background(), r.ID, store.MessageFilter{Limit: 10})
	must(t, err)
	if len(msgs) != 2 {
		t.Errorf("stored %d messages, want 2", len(msgs))
	}
}

func testTalkDirectUnique(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	mk := func(actor, peer string) store.TalkOp {
		return store.TalkOp{Kind: store.OpCreateRoom, ActorID: actor, AccountIDs: []string{actor, peer},
			Room: &kizuna.Room{ID: kizuna.NewID(), Kind: kizuna.RoomDirect, DirectKey: kizuna.DirectKey(actor, peer), CreatedBy: actor}}
	}
	// Both sides open the pair's room at once, in one batch.
	res := apply(t, st, mk(w.a.ID, w.b.ID), mk(w.b.ID, w.a.ID))
	if res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("errors: %v, %v", res[0].Err, res[1].Err)
	}
	if res[0].Room.ID != res[1].Room.ID || res[0].Duplicate || !res[1].Duplicate {
		t.Errorf("rooms %s (dup %v) and %s (dup %v), want one room found again", res[0].Room.ID, res[0].Duplicate, res[1].Room.ID, res[1].Duplicate)
	}
	ms, err := st.RoomMemberships(context.Background(), res[0].Room.ID)
	must(t, err)
	if len(ms) != 2 {
		t.Errorf("direct room has %d members, want 2", len(ms))
	}
}

func testTalkEditDelete(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	r := groupRoom(t, st, w.a.ID, w.b.ID)
	applyOne(t, st, sendOp(r.ID, w.a.ID, "a1", "typo"))
	wantErr(t, apply(t, st, store.TalkOp{Kind: store.OpEdit, ActorID: w.b.ID, RoomID: r.ID, Seq: 1, Body: "hijack"})[0].Err, kizuna.ErrForbidden, "not_sender")
	wantErr(t, apply(t, st, store.TalkOp{Kind: store.OpEdit, ActorID: w.a.ID, RoomID: r.ID, Seq: 7, Body: "x"})[0].Err, kizuna.ErrNotFound, "not_found")
	ed := applyOne(t, st, store.TalkOp{Kind: store.OpEdit, ActorID: w.a.ID, RoomID: r.ID, Seq: 1, Body: "fixed"})
	if ed.Message.Body != "fixed" || ed.Message.EditedAt.IsZero() || ed.Events[0].Kind != kizuna.EventMessageEdited {
		t.Errorf("edit = %+v", ed)
	}
	del := applyOne(t, st, store.TalkOp{Kind: store.OpDelete, ActorID: w.a.ID, RoomID: r.ID, Seq: 1})
	if !del.Message.Deleted() || del.Message.Body != "" || del.Events[0].Kind != kizuna.EventMessageDeleted {
		t.Errorf("delete = %+v", del)
	}
	again := applyOne(t, st, store.TalkOp{Kind: store.OpDelete, ActorID: w.a.ID, RoomID: r.ID, Seq: 1})
	if len(again.Events) != 0 {
		t.Errorf("deleting twice logged %d events, want none", len(again.Events))
	}
	wantErr(t, apply(t, st, store.TalkOp{Kind: store.OpEdit, ActorID: w.a.ID, RoomID: r.ID, Seq: 1, Body: "revive"})[0].Err, kizuna.ErrConflict, "message_deleted")
	m, err := st.Message(context.Background(), r.ID, 1)
	must(t, err)
	if !m.Deleted() || m.Body != "" || m.Seq != 1 {
		t.Errorf("stored message = %+v, want kept in place as deleted without text", m)
	}
}

func testTalkReadState(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	r := groupRoom(t, st, w.a.ID, w.b.ID)
	for i := range 5 {
		applyOne(t, st, sendOp(r.ID, w.a.ID, fmt.Sprint(i), "m"))
	}
	applyOne(t, st, sendOp(r.ID, w.b.ID, "own", "b's own message is never unread for b"))
	ctx := context.Background()
	counts, err := st.UnreadCounts(ctx, w.b.ID)
	must(t, err)
	if counts[r.ID] != 5 {
		t.Errorf("b unread = %d, want 5", counts[r.ID])
	}
	other := groupRoom(t, st, w.a.ID, w.b.ID)
	applyOne(t, st, sendOp(other.ID, w.a.ID, "elsewhere", "unread in another room"))
	if n, err := st.RoomUnread(ctx, r.ID, w.b.ID); err != nil || n != 5 {
		t.Errorf("RoomUnread(b) = %d, %v; want 5, counting this room only", n, err)
	}
	if n, err := st.RoomUnread(ctx, r.ID, w.a.ID); err != nil || n != 1 {
		t.Errorf("RoomUnread(a) = %d, %v; want 1 (b's message; a's own never count)", n, err)
	}
	if n, err := st.RoomUnread(ctx, r.ID, w.x.ID); err != nil || n != 0 {
		t.Errorf("RoomUnread(non-member) = %d, %v; want 0", n, err)
	}
	rd := applyOne(t, st, store.TalkOp{Kind: store.OpRead, ActorID: w.b.ID, RoomID: r.ID, Seq: 3})
	if len(rd.Events) != 1 || rd.Events[0].Seq != 3 || rd.Events[0].AccountID != w.b.ID {
		t.Errorf("read events = %+v", rd.Events)
	}
	back := applyOne(t, st, store.TalkOp{Kind: store.OpRead, ActorID: w.b.ID, RoomID: r.ID, Seq: 2})
	if len(back.Events) != 0 {
		t.Errorf("moving the read position back logged an event")
	}
	applyOne(t, st, store.TalkOp{Kind: store.OpRead, ActorID: w.b.ID, RoomID: r.ID, Seq: 1000})
	m, err := st.Membership(ctx, r.ID, w.b.ID)
	must(t, err)
	if m.LastReadSeq != 6 {
		t.Errorf("read beyond the end stored %d, want the newest seq 6", m.LastReadSeq)
	}
	counts, err = st.UnreadCounts(ctx, w.b.ID)
	must(t, err)
	if len(counts) != 1 || counts[other.ID] != 1 {
		t.Errorf("unread after reading all of one room = %v, want only the other room's 1", counts)
	}
	if n, err := st.RoomUnread(ctx, r.ID, w.b.ID); err != nil || n != 0 {
		t.Errorf("RoomUnread after reading all = %d, %v; want 0", n, err)
	}
}

func testTalkMembership(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	r := groupRoom(t, st, w.a.ID)
	ctx := context.Background()
	add := applyOne(t, st, store.TalkOp{Kind: store.OpAddMembers, ActorID: w.a.ID, RoomID: r.ID, AccountIDs: []string{w.b.ID, w.x.ID, w.b.ID}})
	if len(add.Events) != 2 {
		t.Errorf("adding b, x, b logged %d joins, want 2", len(add.Events))
	}
	wantErr(t, apply(t, st, store.TalkOp{Kind: store.OpAddMembers, ActorID: kizuna.NewID(), RoomID: r.ID, AccountIDs: []string{w.b.ID}})[0].Err, kizuna.ErrNotFound, "not_found")
	// The manager leaves: the longest-standing member takes over.
	applyOne(t, st, store.TalkOp{Kind: store.OpRemoveMember, ActorID: w.a.ID, RoomID: r.ID, AccountID: w.a.ID})
	ms, err := st.RoomMemberships(ctx, r.ID)
	must(t, err)
	if len(ms) != 2 || ms[0].Role != kizuna.RoomManager {
		t.Errorf("members after the manager left = %+v, want 2 with a new manager", ms)
	}
	_, err = st.Membership(ctx, r.ID, w.a.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	wantErr(t, apply(t, st, store.TalkOp{Kind: store.OpRemoveMember, ActorID: w.b.ID, RoomID: r.ID, AccountID: w.a.ID})[0].Err, kizuna.ErrNotFound, "not_found")
	ren := applyOne(t, st, store.TalkOp{Kind: store.OpRenameRoom, ActorID: w.b.ID, RoomID: r.ID, Name: "Renamed"})
	if ren.Room.Name != "Renamed" || ren.Events[0].RoomName != "Renamed" {
		t.Errorf("rename = %+v", ren)
	}
}

func testTalkHistoryPaging(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	r := groupRoom(t, st, w.a.ID, w.b.ID)
	var ops []store.TalkOp
	for i := range 25 {
		ops = append(ops, sendOp(r.ID, w.a.ID, fmt.Sprint(i), fmt.Sprint("m", i+1)))
	}
	apply(t, st, ops...)
	ctx := context.Background()
	seqs := func(ms []*kizuna.Message) []int64 {
		var out []int64
		for _, m := range ms {
			out = append(out, m.Seq)
		}
		return out
	}
	newest, err := st.Messages(ctx, r.ID, store.MessageFilter{Limit: 3})
	must(t, err)
	if !slices.Equal(seqs(newest), []int64{25, 24, 23}) {
		t.Errorf("newest = %v", seqs(newest))
	}
	older, err := st.Messages(ctx, r.ID, store.MessageFilter{Before: 23, Limit: 3})
	must(t, err)
	if !slices.Equal(seqs(older), []int64{22, 21, 20}) {
		t.Errorf("before 23 = %v", seqs(older))
	}
	after, err := st.Messages(ctx, r.ID, store.MessageFilter{After: 23, Limit: 5})
	must(t, err)
	if !slices.Equal(seqs(after), []int64{24, 25}) {
		t.Errorf("after 23 = %v", seqs(after))
	}
}

func testTalkEventsAfter(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	ctx := context.Background()
	r := groupRoom(t, st, w.a.ID, w.b.ID)
	elsewhere := groupRoom(t, st, w.x.ID)
	_, start, err := st.EventBounds(ctx)
	must(t, err)
	applyOne(t, st, sendOp(r.ID, w.a.ID, "1", "one"))
	applyOne(t, st, sendOp(elsewhere.ID, w.x.ID, "2", "not for b"))
	applyOne(t, st, store.TalkOp{Kind: store.OpEdit, ActorID: w.a.ID, RoomID: r.ID, Seq: 1, Body: "one, edited"})
	applyOne(t, st, store.TalkOp{Kind: store.OpRemoveMember, ActorID: w.a.ID, RoomID: r.ID, AccountID: w.b.ID})
	applyOne(t, st, sendOp(r.ID, w.a.ID, "3", "after b left"))

	evs, err := st.EventsAfter(ctx, start, []string{w.b.ID}, 100)
	must(t, err)
	var kinds []kizuna.EventKind
	for i, e := range evs {
		kinds = append(kinds, e.Kind)
		if i > 0 && e.Pos <= evs[i-1].Pos {
			t.Errorf("events out of order: %d after %d", e.Pos, evs[i-1].Pos)
		}
	}
	// b left the room: of its events b hears only that (the client drops
	// the room), and nothing of rooms b was never in.
	if want := []kizuna.EventKind{kizuna.EventMemberLeft}; !slices.Equal(kinds, want) {
		t.Fatalf("b's events = %v, want %v", kinds, want)
	}
	evs, err = st.EventsAfter(ctx, start, []string{w.a.ID}, 100)
	must(t, err)
	kinds = nil
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	want := []kizuna.EventKind{kizuna.EventMessageCreated, kizuna.EventMessageEdited, kizuna.EventMemberLeft, kizuna.EventMessageCreated}
	if !slices.Equal(kinds, want) {
		t.Fatalf("a's events = %v, want %v", kinds, want)
	}
	if evs[0].Message == nil || evs[0].Message.Body != "one, edited" {
		t.Errorf("replayed message = %+v, want its current text", evs[0].Message)
	}
	counts, err := st.EventCountsAfter(ctx, start, []string{w.a.ID})
	must(t, err)
	if counts[r.ID] != 4 || len(counts) != 1 {
		t.Errorf("counts = %v", counts)
	}
	page, err := st.EventsAfter(ctx, start, []string{w.a.ID, w.b.ID}, 2)
	must(t, err)
	if len(page) != 2 {
		t.Errorf("limit 2 gave %d", len(page))
	}
	first, last, err := st.EventBounds(ctx)
	must(t, err)
	if first < 1 || last < first+4 {
		t.Errorf("bounds = %d, %d", first, last)
	}
}

func testTalkRoomsOf(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	ctx := context.Background()
	tick := setClock(st)
	if tick == nil {
		tick = func(time.Duration) { time.Sleep(2 * time.Millisecond) }
	}
	internal := groupRoom(t, st, w.a.ID, w.b.ID)
	tick(time.Second)
	mixed := groupRoom(t, st, w.a.ID, w.b.ID, w.x.ID)
	tick(time.Second)
	applyOne(t, st, sendOp(internal.ID, w.b.ID, "1", "newest activity"))
	rows, err := st.RoomsOf(ctx, w.a.ID, store.RoomFilter{ViewerTenantID: w.tenant, Limit: 10})
	must(t, err)
	if len(rows) != 2 || rows[0].Room.ID != internal.ID {
		t.Fatalf("rooms = %+v, want the active room first", rows)
	}
	if rows[0].ExternalCount != 0 || rows[1].ExternalCount != 1 || rows[1].MemberCount != 3 {
		t.Errorf("external counts = %d, %d; members %d", rows[0].ExternalCount, rows[1].ExternalCount, rows[1].MemberCount)
	}
	if rows[0].Unread != 1 {
		t.Errorf("unread = %d, want 1", rows[0].Unread)
	}
	// For x, both Acme members of the mixed room are external.
	xs, err := st.RoomsOf(ctx, w.x.ID, store.RoomFilter{ViewerTenantID: "other", Limit: 10})
	must(t, err)
	if len(xs) != 1 || xs[0].Room.ID != mixed.ID || xs[0].ExternalCount != 2 {
		t.Errorf("x's rooms = %+v", xs)
	}
	next, err := st.RoomsOf(ctx, w.a.ID, store.RoomFilter{ViewerTenantID: w.tenant, Limit: 1, BeforeActive: rows[0].Room.ActiveAt, BeforeID: rows[0].Room.ID})
	must(t, err)
	if len(next) != 1 || next[0].Room.ID != mixed.ID {
		t.Errorf("second page = %+v", next)
	}
}

func testTalkSearch(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	r := groupRoom(t, st, w.a.ID, w.b.ID)
	hidden := groupRoom(t, st, w.x.ID)
	applyOne(t, st, sendOp(r.ID, w.a.ID, "1", "明日の会議は10時から"))
	applyOne(t, st, sendOp(r.ID, w.a.ID, "2", "Budget REVIEW at 10"))
	applyOne(t, st, sendOp(r.ID, w.a.ID, "3", "100% sure"))
	applyOne(t, st, sendOp(hidden.ID, w.x.ID, "4", "会議 in another tenant"))
	ctx := context.Background()
	for _, tc := range []struct {
		q    string
		want int
	}{{"会議", 1}, {"review", 1}, {"10", 3}, {"%", 1}, {"_", 0}} {
		got, err := st.SearchMessages(ctx, w.b.ID, tc.q, "", 10)
		must(t, err)
		if len(got) != tc.want {
			t.Errorf("search %q found %d, want %d", tc.q, len(got), tc.want)
		}
	}
}
