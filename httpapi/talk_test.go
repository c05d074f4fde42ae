package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kizuna-chat/kizuna/hub"
	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/service"
)

// roomOut is the part of a room response the tests look at.
type roomOut struct {
	ID             string
	Kind           string
	Name           string
	LastSeq        int64 `json:"last_seq"`
	Unread         int
	External       bool
	ReadOnly       bool   `json:"read_only"`
	ReadOnlyReason string `json:"read_only_reason"`
	Members        []struct {
		ID       string
		Relation string
		RoomRole string `json:"room_role"`
	}
}

type messageOut struct {
	ID        string
	Seq       int64
	SenderID  string `json:"sender_id"`
	Body      string
	ReplyTo   int64 `json:"reply_to"`
	Deleted   bool
	EditedAt  *time.Time `json:"edited_at"`
	ReadBy    *int       `json:"read_by"`
	CreatedAt time.Time  `json:"created_at"`
	Duplicate bool
}

func (w *world) room(actor, name string, members ...string) roomOut {
	w.t.Helper()
	b, _ := json.Marshal(map[string]any{"name": name, "members": members})
	var r roomOut
	w.decode(w.must(actor, "POST", "/api/v1/rooms", string(b), 201), &r)
	return r
}

func (w *world) send(actor, room, clientID, body string) messageOut {
	w.t.Helper()
	b, _ := json.Marshal(map[string]any{"client_msg_id": clientID, "body": body})
	var m messageOut
	w.decode(w.must(actor, "POST", "/api/v1/rooms/"+room+"/messages", string(b), 201), &m)
	return m
}

func TestTalk(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, eng.Open)
			t.Run("rooms and messages", func(t *testing.T) { roomsAndMessages(t, w) })
			t.Run("stream delivers and resumes", func(t *testing.T) { streamResumes(t, w) })
			// Last: it closes the server's streams for good.
			t.Run("shutdown closes streams going away", func(t *testing.T) { streamsGoAway(t, w) })
		})
	}
}

// streamsGoAway checks that a shutdown closes every open stream with
// 1001 going away (clients reconnect elsewhere), and any opened after it.
func streamsGoAway(t *testing.T, w *world) {
	open := []*websocket.Conn{w.dial("owner", ""), w.dial("member", "")}
	for _, c := range open {
		if f := readFrame(t, c); f.Type != "hello" {
			t.Fatalf("first frame = %+v, want hello", f)
		}
	}
	w.api.CloseStreams()
	late := w.dial("owner", "")
	for i, c := range append(open, late) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		for err == nil { // the late one may say hello first
			_, _, err = c.Read(ctx)
		}
		cancel()
		if st := websocket.CloseStatus(err); st != websocket.StatusGoingAway {
			t.Errorf("stream %d ended with %v (status %d), want going away", i, err, st)
		}
	}
}

func roomsAndMessages(t *testing.T, w *world) {
	r := w.room("owner", "Launch", "sato@dept.acme.example", w.ids["admin"])
	if len(r.Members) != 3 || r.Members[0].RoomRole != "manager" || r.External {
		t.Fatalf("room = %+v, want 3 internal members with the creator as manager", r)
	}
	path := "/api/v1/rooms/" + r.ID
	m1 := w.send("owner", r.ID, "c-1", "おはようございます")
	if m1.Seq != 1 {
		t.Errorf("first seq = %d", m1.Seq)
	}
	// A retried send is stored once and answered with the same message.
	code, body := w.do("owner", "POST", path+"/messages", `{"client_msg_id":"c-1","body":"おはようございます"}`)
	var again messageOut
	w.decode(body, &again)
	if code != 200 || !again.Duplicate || again.ID != m1.ID {
		t.Errorf("retry: %d %s", code, body)
	}
	w.must("member", "POST", path+"/messages", `{"client_msg_id":"s-1","body":"reply","reply_to":1}`, 201)
	w.must("admin", "POST", path+"/messages", fmt.Sprintf(`{"client_msg_id":"a-1","body":"@sato see above","mentions":[%q]}`, w.ids["member"]), 201)

	for _, tc := range []struct {
		name, actor, method, path, body string
		status                          int
		code                            string
	}{
		{"not in the room", "other_admin", "POST", path + "/messages", `{"client_msg_id":"x","body":"hi"}`, 404, "not_found"},
		{"not in the room reads", "other_admin", "GET", path + "/messages", "", 404, "not_found"},
		{"unknown room", "owner", "GET", "/api/v1/rooms/01ARZ3NDEKTSV4RRFFQ69G5FAV", "", 404, "not_found"},
		{"empty body", "owner", "POST", path + "/messages", `{"client_msg_id":"e","body":"  "}`, 422, "invalid_message"},
		{"too long", "owner", "POST", path + "/messages", `{"client_msg_id":"l","body":"` + strings.Repeat("長", 10001) + `"}`, 413, "message_too_long"},
		{"no client id", "owner", "POST", path + "/messages", `{"body":"hi"}`, 422, "invalid_client_msg_id"},
		{"reply to nothing", "owner", "POST", path + "/messages", `{"client_msg_id":"r","body":"hi","reply_to":99}`, 422, "invalid_reply_to"},
		{"mention outsider", "owner", "POST", path + "/messages", fmt.Sprintf(`{"client_msg_id":"m","body":"hi","mentions":[%q]}`, w.ids["other_admin"]), 422, "invalid_mentions"},
		{"forged sender field", "owner", "POST", path + "/messages", `{"client_msg_id":"f","body":"hi","sender_id":"someone"}`, 400, "unknown_field"},
		{"edit someone else's", "member", "PATCH", path + "/messages/1", `{"body":"mine now"}`, 403, "not_sender"},
		{"edit missing", "owner", "PATCH", path + "/messages/77", `{"body":"x"}`, 404, "not_found"},
		{"bad seq", "owner", "PATCH", path + "/messages/abc", `{"body":"x"}`, 404, "not_found"},
		{"member renames", "member", "PATCH", path, `{"name":"Mine"}`, 403, "room_manager_required"},
		{"member removes another", "member", "DELETE", path + "/members/" + w.ids["admin"], "", 403, "room_manager_required"},
		{"history both ways", "owner", "GET", path + "/messages?before=2&after=1", "", 422, "invalid_range"},
		{"talk to self", "owner", "POST", "/api/v1/rooms/direct", fmt.Sprintf(`{"with":%q}`, w.ids["owner"]), 422, "cannot_talk_to_self"},
		{"direct with nobody", "owner", "POST", "/api/v1/rooms/direct", `{"with":"nobody@acme.example"}`, 404, "account_not_found"},
		{"empty search", "owner", "GET", "/api/v1/messages/search?q=", "", 400, "invalid_query"},
		{"events without upgrade", "owner", "GET", "/api/v1/events", "", 422, "websocket_required"},
	} {
		code, body := w.do(tc.actor, tc.method, tc.path, tc.body)
		if code != tc.status || !strings.Contains(body, `"`+tc.code+`"`) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, body, tc.status, tc.code)
		}
	}

	// Read state: sato has read nothing yet: two messages from others.
	var u service.Unread
	w.decode(w.must("member", "GET", "/api/v1/unread", "", 200), &u)
	if u.Total != 2 || u.Rooms[r.ID] != 2 {
		t.Errorf("sato's unread = %+v, want 2 in the room", u)
	}
	w.must("member", "POST", path+"/read", `{"seq":3}`, 204)
	w.must("admin", "POST", path+"/read", `{"seq":1}`, 204)
	w.must("member", "POST", path+"/read", `{"seq":1}`, 204) // never back
	var h service.History
	w.decode(w.must("owner", "GET", path+"/messages", "", 200), &h)
	if len(h.Messages) != 3 || h.Messages[0].Seq != 1 || *h.Messages[0].ReadBy != 2 || *h.Messages[2].ReadBy != 1 {
		b, _ := json.Marshal(h)
		t.Errorf("history = %s, want 3 messages, the first read by 2 and the last by 1", b)
	}
	w.decode(w.must("member", "GET", "/api/v1/unread", "", 200), &u)
	if u.Total != 0 {
		t.Errorf("unread after reading = %+v", u)
	}

	// Edit and delete by the sender: kept in place, shown as such.
	var ed messageOut
	w.decode(w.must("owner", "PATCH", path+"/messages/1", `{"body":"おはよう!"}`, 200), &ed)
	if ed.EditedAt == nil || ed.Body != "おはよう!" {
		t.Errorf("edited = %+v", ed)
	}
	w.must("member", "DELETE", path+"/messages/2", "", 204)
	w.decode(w.must("admin", "GET", path+"/messages?after=1&limit=1", "", 200), &h)
	if len(h.Messages) != 1 || !h.Messages[0].Deleted || h.Messages[0].Body != "" || !h.HasMore {
		t.Errorf("after 1 = %+v, want the deleted message without text and more to come", h)
	}

	// Search sees only the searcher's rooms.
	var found struct{ Items []messageOut }
	w.decode(w.must("member", "GET", "/api/v1/messages/search?q=%E3%81%8A%E3%81%AF%E3%82%88%E3%81%86", "", 200), &found)
	if len(found.Items) != 1 {
		t.Errorf("search found %+v", found.Items)
	}
	w.decode(w.must("other_admin", "GET", "/api/v1/messages/search?q=%E3%81%8A%E3%81%AF%E3%82%88%E3%81%86", "", 200), &found)
	if len(found.Items) != 0 {
		t.Errorf("another tenant's search found %+v", found.Items)
	}

	// One direct room per pair, found again from either side.
	var d1, d2 roomOut
	w.decode(w.must("owner", "POST", "/api/v1/rooms/direct", `{"with":"sato@dept.acme.example"}`, 201), &d1)
	w.decode(w.must("member", "POST", "/api/v1/rooms/direct", `{"with":"boss@acme.example"}`, 200), &d2)
	if d1.ID != d2.ID || d1.Kind != "direct" {
		t.Errorf("direct rooms %s and %s", d1.ID, d2.ID)
	}
	w.must("owner", "POST", "/api/v1/rooms/"+d1.ID+"/members", fmt.Sprintf(`{"members":[%q]}`, w.ids["admin"]), 422)

	// Leaving: the member's room list no longer has the room.
	w.must("admin", "DELETE", path+"/members/"+w.ids["admin"], "", 204)
	w.must("admin", "GET", path, "", 404)
	var list struct {
		Items      []roomOut
		NextCursor string `json:"next_cursor"`
	}
	w.decode(w.must("owner", "GET", "/api/v1/rooms?limit=1", "", 200), &list)
	if len(list.Items) != 1 || list.Items[0].ID != d1.ID || list.NextCursor == "" {
		t.Errorf("first page = %+v", list)
	}
	w.decode(w.must("owner", "GET", "/api/v1/rooms?limit=1&cursor="+list.NextCursor, "", 200), &list)
	if len(list.Items) != 1 || list.Items[0].ID != r.ID {
		t.Errorf("second page = %+v", list)
	}
}

// dial opens the event stream as an actor.
func (w *world) dial(actor, query string) *websocket.Conn {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(w.srv.URL, "http") + "/api/v1/events" + query
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + w.tokens[actor]}}})
	if err != nil {
		w.t.Fatalf("dial as %s: %v", actor, err)
	}
	c.SetReadLimit(1 << 20)
	w.t.Cleanup(func() { c.CloseNow() })
	return c
}

type frameOut struct {
	Type     string
	Pos      int64
	Kind     string
	RoomID   string `json:"room_id"`
	Accounts []string
	Error    struct{ Code string }
	Ref      string
	Message  *messageOut
}

// pendingFrames holds the frames of a WebSocket message not read yet: a
// message carries one or more frames, one per line.
var pendingFrames sync.Map // *websocket.Conn → [][]byte

func readFrame(t *testing.T, c *websocket.Conn) frameOut {
	t.Helper()
	var b []byte
	if v, ok := pendingFrames.Load(c); ok && len(v.([][]byte)) > 0 {
		lines := v.([][]byte)
		b = lines[0]
		pendingFrames.Store(c, lines[1:])
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading a frame: %v", err)
		}
		lines := bytes.Split(msg, []byte("\n"))
		b = lines[0]
		pendingFrames.Store(c, lines[1:])
	}
	var f frameOut
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %s: %v", b, err)
	}
	return f
}

func writeFrame(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := c.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

func streamResumes(t *testing.T, w *world) {
	r := w.room("owner", "Stream", "sato@dept.acme.example")
	c := w.dial("member", "")
	hello := readFrame(t, c)
	if hello.Type != "hello" || len(hello.Accounts) != 1 || hello.Accounts[0] != w.ids["member"] {
		t.Fatalf("hello = %+v", hello)
	}
	sent := w.send("owner", r.ID, "live-1", "live one")
	f := readFrame(t, c)
	if f.Kind != "message.created" || f.Message == nil || f.Message.ID != sent.ID || f.Pos <= hello.Pos {
		t.Fatalf("live frame = %+v", f)
	}
	last := f.Pos

	// Sending over the stream: acknowledged with the stored message; a
	// frame for an account the connection does not hold is refused, and
	// garbage is answered without ending the connection.
	writeFrame(t, c, map[string]any{"type": "send", "ref": "q1", "account_id": w.ids["member"], "room_id": r.ID, "client_msg_id": "ws-1", "body": "from the socket"})
	writeFrame(t, c, map[string]any{"type": "send", "ref": "q2", "account_id": w.ids["owner"], "room_id": r.ID, "client_msg_id": "ws-2", "body": "forged"})
	if err := c.Write(context.Background(), websocket.MessageText, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	got := map[string]frameOut{}
	for len(got) < 4 {
		f := readFrame(t, c)
		switch {
		case f.Type == "event":
			got["event"] = f
			last = f.Pos
		case f.Ref != "":
			got[f.Ref] = f
		default:
			got[f.Error.Code] = f
		}
	}
	if got["q1"].Type != "ack" || got["q1"].Message == nil || got["q1"].Message.Seq != 2 {
		t.Errorf("ack = %+v", got["q1"])
	}
	if got["q2"].Error.Code != "account_not_held" || got["invalid_frame"].Type != "error" {
		t.Errorf("refusals = %+v, %+v", got["q2"], got["invalid_frame"])
	}

	// The client dies; three messages and an edit happen meanwhile.
	c.CloseNow()
	var missed []string
	for i := range 3 {
		missed = append(missed, w.send("owner", r.ID, fmt.Sprint("away-", i), fmt.Sprint("while away ", i)).ID)
	}
	w.must("owner", "PATCH", "/api/v1/rooms/"+r.ID+"/messages/1", `{"body":"live one (edited)"}`, 200)

	c2 := w.dial("member", fmt.Sprintf("?after=%d", last))
	if h := readFrame(t, c2); h.Type != "hello" || h.Pos <= last {
		t.Fatalf("resume hello = %+v", h)
	}
	var kinds []string
	var ids []string
	prev := last
	for range 4 {
		f := readFrame(t, c2)
		if f.Pos <= prev {
			t.Errorf("frame at %d after %d: out of order or repeated", f.Pos, prev)
		}
		prev = f.Pos
		kinds = append(kinds, f.Kind)
		if f.Kind == "message.created" {
			ids = append(ids, f.Message.ID)
		}
	}
	if strings.Join(ids, ",") != strings.Join(missed, ",") || kinds[3] != "message.edited" {
		t.Errorf("resumed with %v %v, want the 3 missed messages then the edit", kinds, ids)
	}
	// Then live again, with nothing repeated.
	next := w.send("owner", r.ID, "after-resume", "back")
	if f := readFrame(t, c2); f.Message == nil || f.Message.ID != next.ID {
		t.Errorf("live after resume = %+v", f)
	}

	// A position from the future is refused with a clear code.
	c3 := w.dial("member", "?after=999999999")
	if f := readFrame(t, c3); f.Error.Code != "resume_position_invalid" {
		t.Errorf("future position = %+v", f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c3.Read(ctx); websocket.CloseStatus(err) != 4400 {
		t.Errorf("future position closed with %v, want 4400", err)
	}
}

// TestSlowReaderDoesNotSlowTheRoom has one member stop reading its socket
// while the others keep receiving promptly; the slow one is cut off and
// catches up when it resumes.
func TestSlowReaderDoesNotSlowTheRoom(t *testing.T) {
	h := &hub.Local{QueueLimit: 32}
	w := newWorld(t, testdb.SQLite, func(c *service.Config) { c.Hub = h; c.Limits.MessagesPerSecond = -1 })
	r := w.room("owner", "Busy", "sato@dept.acme.example", w.ids["admin"])
	slow := w.dial("member", "")
	fast := w.dial("admin", "")
	readFrame(t, slow)
	readFrame(t, fast)

	// Big messages fill the slow socket's buffers quickly.
	body := strings.Repeat("重", 9000)
	const n = 300
	var worst time.Duration
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			f := readFrame(t, fast)
			if f.Message == nil {
				t.Errorf("fast reader got %+v", f)
				return
			}
			mu.Lock()
			worst = max(worst, time.Since(f.Message.CreatedAt))
			mu.Unlock()
		}
	}()
	for i := range n {
		w.send("owner", r.ID, fmt.Sprint("b", i), body)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the fast reader did not get every message")
	}
	if worst > 2*time.Second {
		t.Errorf("slowest delivery to the fast reader took %v", worst)
	}
	// The slow reader was dropped: draining its socket ends in 4008.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var slowLast int64
	for {
		_, msg, err := slow.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != 4008 {
				t.Fatalf("slow reader ended with %v, want close 4008", err)
			}
			break
		}
		for _, b := range bytes.Split(msg, []byte("\n")) {
			var f frameOut
			json.Unmarshal(b, &f)
			if f.Pos > 0 {
				slowLast = f.Pos
			}
		}
	}
	if stats := h.Stats(); stats.Dropped < 1 {
		t.Errorf("hub stats = %+v, want a dropped subscription", stats)
	}
	// Resuming gets exactly the rest.
	c := w.dial("member", fmt.Sprintf("?after=%d", slowLast))
	hello := readFrame(t, c)
	for pos := slowLast; pos < hello.Pos; {
		f := readFrame(t, c)
		if f.Type == "room.reset" {
			break // more than the replay limit: reload instead
		}
		if f.Pos <= pos {
			t.Fatalf("resume frame %d after %d", f.Pos, pos)
		}
		pos = f.Pos
	}
}

// TestExternalTalkPolicy has members of two tenants talk over real
// WebSockets once both policies allow it, then flips each side's policy:
// new messages are refused with a clear code, the room turns read-only
// for the viewer with the reason, and nothing stored is lost.
func TestExternalTalkPolicy(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, eng.Open)
			// Without a contact, no direct room with an outsider.
			w.must("owner", "POST", "/api/v1/rooms/direct", `{"with":"tanaka@partner.example"}`, 403)
			tanaka := w.dial("other_admin", "")
			readFrame(t, tanaka)
			var c struct{ ID, Status string }
			w.decode(w.must("owner", "POST", "/api/v1/contacts", `{"id":"tanaka@partner.example"}`, 201), &c)
			// The request reaches tanaka live, as a notice.
			if f := readFrame(t, tanaka); f.Type != "notice" || f.Kind != "contact.updated" {
				t.Errorf("tanaka's notice = %+v", f)
			}
			w.must("other_admin", "POST", "/api/v1/contacts/"+c.ID+"/accept", "", 200)
			if f := readFrame(t, tanaka); f.Type != "notice" {
				t.Errorf("tanaka's notice of the acceptance = %+v", f)
			}

			var r roomOut
			w.decode(w.must("owner", "POST", "/api/v1/rooms/direct", `{"with":"tanaka@partner.example"}`, 201), &r)
			if !r.External || r.ReadOnly {
				t.Fatalf("direct room = %+v, want external and writable", r)
			}
			for range 2 { // tanaka hears of the new room: both joins
				if f := readFrame(t, tanaka); f.Kind != "member.joined" || f.RoomID != r.ID {
					t.Errorf("tanaka got %+v, want the room's joins", f)
				}
			}
			first := w.send("owner", r.ID, "p-1", "お世話になっております")
			if f := readFrame(t, tanaka); f.Message == nil || f.Message.ID != first.ID {
				t.Fatalf("tanaka got %+v", f)
			}
			writeFrame(t, tanaka, map[string]any{"type": "send", "ref": "t1", "account_id": w.ids["other_admin"], "room_id": r.ID, "client_msg_id": "t-1", "body": "こちらこそ"})
			for {
				if f := readFrame(t, tanaka); f.Ref == "t1" {
					if f.Type != "ack" {
						t.Fatalf("tanaka's send = %+v", f)
					}
					break
				}
			}

			stored := 2
			for _, flip := range []struct{ admin, other string }{{"other_admin", "owner"}, {"owner", "other_admin"}} {
				w.must(flip.admin, "PUT", "/api/v1/tenant/external-policy", `{"allow_personal":true,"allow_other_tenants":false,"add_contacts":"free"}`, 200)
				for _, sender := range []string{"owner", "other_admin"} {
					code, body := w.do(sender, "POST", "/api/v1/rooms/"+r.ID+"/messages", `{"client_msg_id":"blocked-`+flip.admin+sender+`","body":"still there?"}`)
					if code != 403 || !strings.Contains(body, `"external_talk_forbidden"`) {
						t.Errorf("%s's send after %s's flip: %d %s", sender, flip.admin, code, body)
					}
				}
				// Over the socket too, with the same code; the connection stays.
				writeFrame(t, tanaka, map[string]any{"type": "send", "ref": "t2", "account_id": w.ids["other_admin"], "room_id": r.ID, "client_msg_id": "t-2" + flip.admin, "body": "blocked"})
				for {
					if f := readFrame(t, tanaka); f.Ref == "t2" {
						if f.Error.Code != "external_talk_forbidden" {
							t.Errorf("socket send after the flip = %+v", f)
						}
						break
					}
				}
				var view roomOut
				w.decode(w.must(flip.other, "GET", "/api/v1/rooms/"+r.ID, "", 200), &view)
				if !view.ReadOnly || !strings.Contains(view.ReadOnlyReason, "not allow") {
					t.Errorf("room after the flip = %+v, want read-only with the reason", view)
				}
				var h service.History
				w.decode(w.must(flip.other, "GET", "/api/v1/rooms/"+r.ID+"/messages", "", 200), &h)
				if len(h.Messages) != stored {
					t.Errorf("history after the flip has %d messages, want the %d sent before", len(h.Messages), stored)
				}
				w.must(flip.admin, "PUT", "/api/v1/tenant/external-policy", `{"allow_personal":true,"allow_other_tenants":true,"add_contacts":"free"}`, 200)
				w.send(flip.other, r.ID, "again-"+flip.admin, "talking again")
				stored++
			}
		})
	}
}

// TestStreamBadInput sends the event stream garbage: frames it does not
// understand are answered and the connection stays; a 100 MB frame ends
// that connection with 1009 and nothing else.
func TestStreamBadInput(t *testing.T) {
	w := newWorld(t, testdb.SQLite)
	r := w.room("owner", "Garbage", "sato@dept.acme.example")
	c := w.dial("member", "")
	readFrame(t, c)
	ctx := context.Background()
	for _, bad := range []struct {
		typ  websocket.MessageType
		data []byte
	}{
		{websocket.MessageText, []byte{0xff, 0xfe, '{', '}'}},
		{websocket.MessageBinary, []byte{1, 2, 3}},
		{websocket.MessageText, []byte(`{"type":"launch_missiles"}`)},
		{websocket.MessageText, []byte(`[1,2,3]`)},
		{websocket.MessageText, []byte(`{"type":"send","account_id":"` + w.ids["member"] + `","room_id":"` + r.ID + `","client_msg_id":"u","body":"` + strings.Repeat("x", 10001) + `"}`)},
	} {
		if err := c.Write(ctx, bad.typ, bad.data); err != nil {
			t.Fatal(err)
		}
		f := readFrame(t, c)
		if f.Type != "error" || (f.Error.Code != "invalid_frame" && f.Error.Code != "message_too_long") {
			t.Errorf("%q answered %+v", bad.data[:min(len(bad.data), 40)], f)
		}
	}
	// Still alive: a proper send works on the same connection.
	writeFrame(t, c, map[string]any{"type": "send", "ref": "ok", "account_id": w.ids["member"], "room_id": r.ID, "client_msg_id": "ok", "body": "still here"})
	for {
		if f := readFrame(t, c); f.Ref == "ok" {
			if f.Type != "ack" {
				t.Fatalf("send after garbage = %+v", f)
			}
			break
		}
	}

	big := w.dial("member", "")
	readFrame(t, big)
	wr, err := big.Writer(ctx, websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("A"), 1<<20)
	for range 100 {
		if _, err := wr.Write(chunk); err != nil {
			break // the server closed the connection mid-frame
		}
	}
	wr.Close()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		_, _, err := big.Read(rctx)
		if err != nil {
			if s := websocket.CloseStatus(err); s != websocket.StatusMessageTooBig {
				t.Errorf("100 MB frame ended the stream with %v, want 1009", err)
			}
			break
		}
	}
	// The first connection and the server are unharmed.
	w.send("owner", r.ID, "after-big", "after the big frame")
	if f := readFrame(t, c); f.Message == nil || f.Message.Body != "after the big frame" {
		t.Errorf("after the big frame = %+v", f)
	}
}
