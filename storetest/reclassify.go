package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// reclassificationCases are the suite's tests of store.Reclassification.
func reclassificationCases() []suiteCase {
	return []suiteCase{
		{"ReclassifySharedRooms", testSharedRooms},
		{"ReclassifyReplaceMember", testReplaceMember},
		{"ReclassifyHandover", testHandover},
	}
}

func directRoom(t *testing.T, st store.Store, a, b string) store.TalkResult {
	t.Helper()
	return applyOne(t, st, store.TalkOp{Kind: store.OpCreateRoom, ActorID: a, AccountIDs: []string{a, b},
		Room: &kizuna.Room{ID: kizuna.NewID(), Kind: kizuna.RoomDirect, DirectKey: kizuna.DirectKey(a, b), CreatedBy: a}})
}

func testSharedRooms(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	ctx := context.Background()
	d := directRoom(t, st, w.x.ID, w.a.ID)
	g := groupRoom(t, st, w.x.ID, w.a.ID, w.b.ID)
	groupRoom(t, st, w.x.ID) // x alone: shares nothing
	all, err := st.SharedRooms(ctx, w.x.ID, w.tenant, false)
	must(t, err)
	if len(all) != 2 {
		t.Fatalf("shared rooms = %+v, want the direct and the group room", all)
	}
	for _, sh := range all {
		want := 1
		if sh.Room.ID == g.ID {
			want = 2
		}
		if len(sh.Others) != want {
			t.Errorf("room %s others = %v, want %d", sh.Room.ID, sh.Others, want)
		}
	}
	direct, err := st.SharedRooms(ctx, w.x.ID, w.tenant, true)
	must(t, err)
	if len(direct) != 1 || direct[0].Room.ID != d.Room.ID {
		t.Errorf("direct only = %+v", direct)
	}
}

func testReplaceMember(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	ctx := context.Background()
	d := directRoom(t, st, w.x.ID, w.a.ID)
	applyOne(t, st, sendOp(d.Room.ID, w.x.ID, "1", "from x"))
	applyOne(t, st, store.TalkOp{Kind: store.OpRead, ActorID: w.x.ID, RoomID: d.Room.ID, Seq: 1})
	res := applyOne(t, st, store.TalkOp{Kind: store.OpReplaceMember, ActorID: w.a.ID, RoomID: d.Room.ID, AccountID: w.x.ID, AccountIDs: []string{w.b.ID}})
	if len(res.Events) != 2 || res.Events[0].Kind != kizuna.EventMemberLeft || res.Events[1].Kind != kizuna.EventMemberJoined {
		t.Errorf("events = %+v", res.Events)
	}
	if res.Room.DirectKey != kizuna.DirectKey(w.a.ID, w.b.ID) {
		t.Errorf("direct key = %q", res.Room.DirectKey)
	}
	m, err := st.Membership(ctx, d.Room.ID, w.b.ID)
	must(t, err)
	if m.LastReadSeq != 1 {
		t.Errorf("read position carried = %d, want 1", m.LastReadSeq)
	}
	_, err = st.Membership(ctx, d.Room.ID, w.x.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	msgs, err := st.Messages(ctx, d.Room.ID, store.MessageFilter{Limit: 10})
	must(t, err)
	if len(msgs) != 1 || msgs[0].SenderID != w.x.ID {
		t.Errorf("history = %+v, want x's message kept", msgs)
	}
	// a and b now have their direct room; x's new room with a cannot take
	// b's place in it.
	d2 := directRoom(t, st, w.x.ID, w.a.ID)
	err = apply(t, st, store.TalkOp{Kind: store.OpReplaceMember, ActorID: w.a.ID, RoomID: d2.Room.ID, AccountID: w.x.ID, AccountIDs: []string{w.b.ID}})[0].Err
	wantErr(t, err, kizuna.ErrConflict, "direct_room_exists")
	err = apply(t, st, store.TalkOp{Kind: store.OpReplaceMember, ActorID: w.a.ID, RoomID: d2.Room.ID, AccountID: w.x.ID, AccountIDs: []string{w.a.ID}})[0].Err
	wantErr(t, err, kizuna.ErrConflict, "direct_room_exists")
}

func testHandover(t *testing.T, st store.Store) {
	w := newTalkWorld(t, st)
	ctx := context.Background()
	must(t, st.CreateSession(ctx, newSession(w.b.ID, time.Now().Add(time.Hour))))
	h := &kizuna.Handover{ID: kizuna.NewID(), TenantID: w.tenant, FromID: w.b.ID, ToID: w.x.ID}
	must(t, st.CreateHandover(ctx, h, &kizuna.AuditEntry{ID: kizuna.NewID(), TenantID: w.tenant, Action: "member.handover_offer"}))
	if _, err := st.AccountByID(ctx, w.b.ID); err == nil {
		t.Error("the member is still live after the offer")
	}
	former, err := st.FormerAccount(ctx, w.tenant, w.b.ID)
	must(t, err)
	if former.Status != kizuna.StatusDeleted {
		t.Errorf("former account = %+v", former)
	}
	// Not twice (the member is gone), and not for another tenant's member.
	wantErr(t, st.CreateHandover(ctx, &kizuna.Handover{ID: kizuna.NewID(), TenantID: w.tenant, FromID: w.b.ID, ToID: w.x.ID}, nil), kizuna.ErrNotFound, "not_found")
	wantErr(t, st.CreateHandover(ctx, &kizuna.Handover{ID: kizuna.NewID(), TenantID: w.tenant, FromID: w.x.ID, ToID: w.a.ID}, nil), kizuna.ErrNotFound, "not_found")
	list, err := st.Handovers(ctx, "", w.x.ID)
	must(t, err)
	if len(list) != 1 || list[0].Status != kizuna.HandoverPending {
		t.Errorf("offers to x = %+v", list)
	}
	done, err := st.FinishHandover(ctx, h.ID, kizuna.HandoverAccepted, nil)
	must(t, err)
	if done.Status != kizuna.HandoverAccepted || done.DecidedAt.IsZero() {
		t.Errorf("finished = %+v", done)
	}
	_, err = st.FinishHandover(ctx, h.ID, kizuna.HandoverDeclined, nil)
	wantErr(t, err, kizuna.ErrConflict, "handover_not_pending")
	_, err = st.FinishHandover(ctx, kizuna.NewID(), kizuna.HandoverDeclined, nil)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
}
