package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/service"
)

type reclassOut struct {
	Rooms []struct {
		RoomID string `json:"room_id"`
		Moved  bool
		Reason string
	}
	People  int
	Summary string
}

// contact makes two accounts accepted external contacts.
func (w *world) contact(a, b, bID string) {
	w.t.Helper()
	var c struct{ ID string }
	w.decode(w.must(a, "POST", "/api/v1/contacts", `{"id":"`+bID+`"}`, 201), &c)
	w.must(b, "POST", "/api/v1/contacts/"+c.ID+"/accept", "", 200)
}

func TestReclassification(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, eng.Open)
			t.Run("external to internal", func(t *testing.T) { externalToInternal(t, w) })
			t.Run("internal to external", func(t *testing.T) { internalToExternal(t, w) })
		})
	}
}

// externalToInternal: tanaka of Partner Co talks with two Acme members,
// then gets an Acme ID; the direct rooms continue there.
func externalToInternal(t *testing.T, w *world) {
	w.contact("owner", "other_admin", "tanaka@partner.example")
	w.contact("member", "other_admin", "tanaka@partner.example")
	var withBoss, withSato roomOut
	w.decode(w.must("owner", "POST", "/api/v1/rooms/direct", `{"with":"tanaka@partner.example"}`, 201), &withBoss)
	w.decode(w.must("member", "POST", "/api/v1/rooms/direct", `{"with":"tanaka@partner.example"}`, 201), &withSato)
	w.send("owner", withBoss.ID, "x-1", "お見積りの件")
	w.send("other_admin", withBoss.ID, "x-2", "承知しました")
	w.send("other_admin", withSato.ID, "x-3", "sato-san, hello")
	historyBefore := w.must("owner", "GET", "/api/v1/rooms/"+withBoss.ID+"/messages", "", 200)

	w.addMember("tanaka_in", "tanaka", "acme.example", "member")
	path := "/api/v1/reclassifications/carry-over"
	var p reclassOut
	w.decode(w.must("owner", "GET", path+"?from=tanaka@partner.example&to=tanaka@acme.example", "", 200), &p)
	if len(p.Rooms) != 2 || p.People != 2 || !strings.Contains(p.Summary, "2 direct rooms with tanaka@partner.example continue with tanaka@acme.example; 2 members will see") {
		t.Fatalf("preview = %+v", p)
	}
	for _, tc := range []struct {
		name, actor, body string
		status            int
		code              string
	}{
		{"member asks", "member", `{"from":"tanaka@partner.example","to":"tanaka@acme.example"}`, 403, "admin_required"},
		{"from is internal", "owner", `{"from":"sato@dept.acme.example","to":"tanaka@acme.example"}`, 422, "not_external"},
		{"to is not ours", "owner", `{"from":"tanaka@partner.example","to":"tanaka@partner.example"}`, 404, "member_not_found"},
		{"from unknown", "owner", `{"from":"nobody@partner.example","to":"tanaka@acme.example"}`, 404, "account_not_found"},
		{"other tenant's admin", "other_admin", `{"from":"boss@acme.example","to":"tanaka@acme.example"}`, 404, "member_not_found"},
	} {
		code, body := w.do(tc.actor, "POST", path, tc.body)
		if code != tc.status || !strings.Contains(body, `"`+tc.code+`"`) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, body, tc.status, tc.code)
		}
	}
	w.decode(w.must("owner", "POST", path, `{"from":"tanaka@partner.example","to":"tanaka@acme.example"}`, 200), &p)
	for _, r := range p.Rooms {
		if !r.Moved {
			t.Errorf("room %s not moved: %s", r.RoomID, r.Reason)
		}
	}
	// The same room, now internal, with its history; the new ID talks
	// without any contact, and the external ID no longer sees it.
	var r roomOut
	w.decode(w.must("owner", "GET", "/api/v1/rooms/"+withBoss.ID, "", 200), &r)
	if r.External || len(r.Members) != 2 || r.ReadOnly {
		t.Errorf("room after carry-over = %+v", r)
	}
	if got := w.must("tanaka_in", "GET", "/api/v1/rooms/"+withBoss.ID+"/messages", "", 200); got != historyBefore {
		t.Errorf("history differs:\n%s\n%s", historyBefore, got)
	}
	w.send("tanaka_in", withBoss.ID, "in-1", "今日から社内IDです")
	w.must("other_admin", "GET", "/api/v1/rooms/"+withBoss.ID, "", 404)
	var again roomOut
	w.decode(w.must("owner", "POST", "/api/v1/rooms/direct", `{"with":"tanaka@acme.example"}`, 200), &again)
	if again.ID != withBoss.ID {
		t.Errorf("the pair's direct room is %s, want the carried %s", again.ID, withBoss.ID)
	}
	// Running it again has nothing left to move.
	w.decode(w.must("owner", "POST", path, `{"from":"tanaka@partner.example","to":"tanaka@acme.example"}`, 200), &p)
	if len(p.Rooms) != 0 {
		t.Errorf("second carry-over = %+v", p)
	}
}

// internalToExternal: sato leaves Acme; the rooms sato shared with Acme
// members go to tanaka@partner.example standing in for sato's own
// company ID, once that account accepts.
func internalToExternal(t *testing.T, w *world) {
	w.addMember("leaver", "leaver", "acme.example", "member")
	group := w.room("owner", "Project", "leaver@acme.example", w.ids["admin"])
	var direct roomOut
	w.decode(w.must("owner", "POST", "/api/v1/rooms/direct", `{"with":"leaver@acme.example"}`, 201), &direct)
	w.send("leaver", group.ID, "l-1", "引き継ぎ資料です")
	w.send("leaver", direct.ID, "l-2", "private note")
	groupBefore := w.must("owner", "GET", "/api/v1/rooms/"+group.ID+"/messages", "", 200)
	leaver := w.ids["leaver"]

	var p reclassOut
	w.decode(w.must("owner", "GET", "/api/v1/members/"+leaver+"/handover-preview?to=tanaka@partner.example", "", 200), &p)
	if len(p.Rooms) != 2 || p.People != 2 || !strings.Contains(p.Summary, "2 members will see leaver as external") {
		t.Fatalf("preview = %+v", p)
	}
	for _, tc := range []struct {
		name, actor, path, body string
		status                  int
		code                    string
	}{
		{"to is internal", "owner", "/api/v1/members/" + leaver + "/handover", `{"to":"boss@acme.example"}`, 422, "not_external"},
		{"member asks", "member", "/api/v1/members/" + leaver + "/handover", `{"to":"tanaka@partner.example"}`, 403, "admin_required"},
		{"other tenant's member", "other_admin", "/api/v1/members/" + leaver + "/handover", `{"to":"boss@acme.example"}`, 404, "not_found"},
		{"self", "owner", "/api/v1/members/" + w.ids["owner"] + "/handover", `{"to":"tanaka@partner.example"}`, 422, "cannot_remove_self"},
	} {
		code, body := w.do(tc.actor, "POST", tc.path, tc.body)
		if code != tc.status || !strings.Contains(body, `"`+tc.code+`"`) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, body, tc.status, tc.code)
		}
	}
	var h struct {
		ID, Status string
		Preview    reclassOut
	}
	w.decode(w.must("owner", "POST", "/api/v1/members/"+leaver+"/handover", `{"to":"tanaka@partner.example"}`, 201), &h)
	if h.Status != "pending" || len(h.Preview.Rooms) != 2 {
		t.Fatalf("offer = %+v", h)
	}
	// The member is gone at once: the session ends, the ID is free.
	w.must("leaver", "GET", "/api/v1/me", "", 401)
	w.must("owner", "GET", "/api/v1/members/"+leaver, "", 404)
	w.must("owner", "POST", "/api/v1/members/"+leaver+"/handover", `{"to":"tanaka@partner.example"}`, 404)
	w.must("member", "POST", "/api/v1/handovers/"+h.ID+"/accept", "", 404)
	w.must("other_admin", "POST", "/api/v1/handovers/"+h.ID+"/cancel", "", 404)

	var list struct{ Items []struct{ ID, Status string } }
	w.decode(w.must("other_admin", "GET", "/api/v1/handovers", "", 200), &list)
	if len(list.Items) != 1 || list.Items[0].ID != h.ID {
		t.Errorf("tanaka's hand-overs = %+v", list)
	}
	w.decode(w.must("other_admin", "POST", "/api/v1/handovers/"+h.ID+"/accept", "", 200), &h)
	if h.Status != "accepted" {
		t.Errorf("accepted = %+v", h)
	}
	w.must("other_admin", "POST", "/api/v1/handovers/"+h.ID+"/accept", "", 409)

	// Same rooms, same history; the person is external now, with the reason.
	if got := w.must("other_admin", "GET", "/api/v1/rooms/"+group.ID+"/messages", "", 200); got != groupBefore {
		t.Errorf("history differs:\n%s\n%s", groupBefore, got)
	}
	var g roomOut
	w.decode(w.must("owner", "GET", "/api/v1/rooms/"+group.ID, "", 200), &g)
	if !g.External || len(g.Members) != 3 {
		t.Errorf("group after the hand-over = %+v", g)
	}
	w.send("other_admin", group.ID, "t-9", fmt.Sprint("continuing from Partner Co"))
	// A direct room with an outsider needs a contact; boss and tanaka
	// became contacts earlier, so this one goes on at once.
	var d roomOut
	w.decode(w.must("other_admin", "GET", "/api/v1/rooms/"+direct.ID, "", 200), &d)
	if !d.External || d.ReadOnly {
		t.Errorf("direct room after the hand-over = %+v", d)
	}
	w.send("other_admin", direct.ID, "t-10", "same thread, other company")
	var hist service.History
	w.decode(w.must("owner", "GET", "/api/v1/rooms/"+direct.ID+"/messages", "", 200), &hist)
	if len(hist.Messages) != 2 || hist.Messages[0].Body != "private note" {
		t.Errorf("direct history = %+v", hist)
	}
}
