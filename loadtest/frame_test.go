package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/coder/websocket"
)

// TestParseFrameOnServerFrames checks the scanner against frames the real
// server writes — every kind of event, acks with and without a message,
// errors, pongs, several frames to a message — with bodies and
// client_msg_ids made to trip a scanner up: it must read each as
// encoding/json does, and take its fast path for the message events and
// acks that are the load test's traffic, so that a change of shape on the
// server shows here rather than as a slower generator.
func TestParseFrameOnServerFrames(t *testing.T) {
	api, token := StartTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fx, err := Prepare(ctx, api, Setup{SetupToken: token, Clients: 3}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := fx.Accounts[0], fx.Accounts[1], fx.Accounts[2]
	var room struct{ ID string }
	if err := api.Do(ctx, a.Token, "POST", "/api/v1/rooms", map[string]any{"name": "frames", "members": []string{b.ID, c.ID}}, &room); err != nil {
		t.Fatal(err)
	}

	// Every frame each of a and b receives, one a line as the server
	// batches them.
	var mu sync.Mutex
	var frames [][]byte
	conns := map[string]*websocket.Conn{}
	var readers sync.WaitGroup
	for _, acct := range []Account{a, b} {
		conn, err := api.Dial(ctx, acct.Token, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		conns[acct.ID] = conn
		readers.Add(1)
		go func() {
			defer readers.Done()
			var buf []byte
			for {
				_, r, err := conn.Reader(ctx)
				if err == nil {
					buf, err = readMessage(r, buf)
				}
				if err != nil {
					return
				}
				mu.Lock()
				for _, line := range bytes.Split(buf, []byte{'\n'}) {
					frames = append(frames, bytes.Clone(line))
				}
				mu.Unlock()
			}
		}()
	}
	// Waits until the frames received, by kind, are what ok wants.
	waitFor := func(ok func(map[frameKind]int) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			kinds := map[frameKind]int{}
			for _, f := range frames {
				kinds[decodeFrame(f).kind]++
			}
			mu.Unlock()
			if ok(kinds) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("frames received by kind: %v", kinds)
			}
		}
	}
	// The server subscribes a stream just before its hello: a message sent
	// before both hellos arrive might reach only one of them.
	waitFor(func(k map[frameKind]int) bool { return k[frameOther] == 2 })
	write := func(v any) {
		t.Helper()
		data, _ := json.Marshal(v)
		if err := conns[a.ID].Write(ctx, websocket.MessageText, data); err != nil {
			t.Fatal(err)
		}
	}
	bodies := []string{
		"plain",
		`a quote " and a key "sender_id":"x","client_msg_id":"y"`,
		"a backslash \\ and a newline\nand a tab\t",
		"日本語の本文 \u2028 <b>&amp;</b>",
		`{"type":"ack"}`,
	}
	cids := []string{"lt-1", `quote"in-id`, `back\slash`, "x<y&z>", "n-" + strings.Repeat("9", 60)}
	for i, body := range bodies {
		write(map[string]any{"type": "send", "ref": fmt.Sprint("r", i), "account_id": a.ID, "room_id": room.ID, "client_msg_id": cids[i], "body": body})
	}
	write(map[string]any{"type": "send", "ref": "dup", "account_id": a.ID, "room_id": room.ID, "client_msg_id": cids[0], "body": "again"})
	write(map[string]any{"type": "send", "ref": "bad", "account_id": a.ID, "room_id": "no-such-room", "client_msg_id": "lt-bad", "body": "x"})
	write(map[string]any{"type": "read", "ref": "read", "account_id": a.ID, "room_id": room.ID, "seq": 1})
	write(map[string]any{"type": "ping", "ref": "ping"})
	write(map[string]any{"type": "nonsense"})
	// The messages are stored (and seen by both) before they are edited.
	waitFor(func(k map[frameKind]int) bool {
		return k[frameMessage] == 2*len(bodies) && k[frameAck] == len(bodies)+2 && k[frameError] == 2
	})
	if err := api.Do(ctx, a.Token, "PATCH", "/api/v1/rooms/"+room.ID+"/messages/1", map[string]any{"body": "edited"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := api.Do(ctx, a.Token, "DELETE", "/api/v1/rooms/"+room.ID+"/messages/2", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := api.Do(ctx, a.Token, "PATCH", "/api/v1/rooms/"+room.ID, map[string]any{"name": "renamed \"room\""}, nil); err != nil {
		t.Fatal(err)
	}
	if err := api.Do(ctx, a.Token, "DELETE", "/api/v1/rooms/"+room.ID+"/members/"+c.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := api.Do(ctx, a.Token, "POST", "/api/v1/rooms/"+room.ID+"/members", map[string]any{"members": []string{c.ID}}, nil); err != nil {
		t.Fatal(err)
	}

	// Edited, deleted, renamed, left and joined again, seen by both.
	waitFor(func(k map[frameKind]int) bool { return k[frameOtherEvent] >= 2*5 })
	for _, conn := range conns {
		conn.CloseNow()
	}
	readers.Wait()

	fast := 0
	for _, f := range frames {
		want, got := decodeFrame(f), parseFrame(f)
		if got.kind != want.kind || got.pos != want.pos || !bytes.Equal(got.senderID, want.senderID) || !bytes.Equal(got.clientMsg, want.clientMsg) || got.code != want.code {
			t.Errorf("frame %s\nscanned %+v\ndecoded %+v", f, got, want)
		}
		scanned, ok := scanFrame(f)
		if ok {
			fast++
			if scanned.kind != want.kind {
				t.Errorf("fast path read %s as %v, encoding/json as %v", f, scanned.kind, want.kind)
			}
		}
		// The generator's own client_msg_ids need no escapes: their
		// events and every ack must not fall back to encoding/json.
		plain := want.kind == frameMessage && bytes.Contains(f, []byte(`"client_msg_id":"`+string(want.clientMsg)+`"`))
		if (plain || want.kind == frameAck) && !ok {
			t.Errorf("not on the fast path: %s", f)
		}
	}
	t.Logf("%d frames, %d on the fast path", len(frames), fast)
}

// TestParseFrameEdges covers shapes the server does not write today but a
// scanner could misread.
func TestParseFrameEdges(t *testing.T) {
	for _, tc := range []struct {
		frame string
		want  serverFrame
	}{
		{`{"type":"ack"}`, serverFrame{kind: frameAck}},
		{`{"type":"acknowledged"}`, serverFrame{kind: frameOther}},
		{`{"type":"error","ref":"r","error":{"code":"not_found","message":"m"}}`, serverFrame{kind: frameError, code: "not_found"}},
		{`{"type":"error"}`, serverFrame{kind: frameError, code: "unknown"}},
		{`{"type":"hello","accounts":["a"],"pos":3,"resumed":false}`, serverFrame{kind: frameOther}},
		{`{"type":"event","pos":7,"kind":"read.updated","room_id":"r","account_id":"a","seq":3,"at":"2026-01-01T00:00:00Z"}`, serverFrame{kind: frameOtherEvent, pos: 7}},
		// Fields in another order: read by encoding/json, same answer.
		{`{"pos":7,"type":"event","kind":"message.created","message":{"client_msg_id":"c","sender_id":"s"}}`, serverFrame{kind: frameMessage, pos: 7, senderID: []byte("s"), clientMsg: []byte("c")}},
		{`{"type":"event","pos":7,"kind":"message.created","room_id":"r","message":{"id":"m","sender_id":"s","body":"b","client_msg_id":"c"}}`, serverFrame{kind: frameMessage, pos: 7, senderID: []byte("s"), clientMsg: []byte("c")}},
		// An escaped kind.
		{`{"type":"event","pos":7,"kind":"message\u002ecreated","message":{"sender_id":"s","client_msg_id":"c"}}`, serverFrame{kind: frameMessage, pos: 7, senderID: []byte("s"), clientMsg: []byte("c")}},
		{`{"type":"event","pos":`, serverFrame{kind: frameUnreadable}},
		{`not json`, serverFrame{kind: frameUnreadable}},
		{``, serverFrame{kind: frameUnreadable}},
	} {
		got := parseFrame([]byte(tc.frame))
		if got.kind != tc.want.kind || got.pos != tc.want.pos || !bytes.Equal(got.senderID, tc.want.senderID) || !bytes.Equal(got.clientMsg, tc.want.clientMsg) || got.code != tc.want.code {
			t.Errorf("%s: got %+v, want %+v", tc.frame, got, tc.want)
		}
	}
}

// TestReadMessage reads messages in small pieces into a reused buffer.
func TestReadMessage(t *testing.T) {
	var buf []byte
	for _, msg := range []string{"", "short", strings.Repeat("long message ", 1000), "short again"} {
		got, err := readMessage(iotest.OneByteReader(strings.NewReader(msg)), buf)
		if err != nil || string(got) != msg {
			t.Fatalf("read %q, %v; want %q", got, err, msg)
		}
		buf = got
	}
	if _, err := readMessage(iotest.ErrReader(context.Canceled), nil); err != context.Canceled {
		t.Errorf("error = %v", err)
	}
}

// BenchmarkParseFrame is the cost of reading one message event, the
// frame every simulated client receives tens of times a second.
func BenchmarkParseFrame(b *testing.B) {
	frame := []byte(`{"type":"event","pos":123456,"kind":"message.created","room_id":"01JD7K3Z8X9Q2W3E4R5T6Y7U8I","seq":4242,"message":{"id":"01JD7K3Z8X9Q2W3E4R5T6Y7U8J","room_id":"01JD7K3Z8X9Q2W3E4R5T6Y7U8I","seq":4242,"sender_id":"01JD7K3Z8X9Q2W3E4R5T6Y7U8K","client_msg_id":"a1b2c3-17-4242","body":"` + strings.Repeat("x", 100) + `","mentions":[],"created_at":"2026-12-03T07:46:41.123456789Z","deleted":false},"at":"2026-12-03T07:46:41.123456789Z"}`)
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if parseFrame(frame).kind != frameMessage {
				b.Fatal("not a message")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if decodeFrame(frame).kind != frameMessage {
				b.Fatal("not a message")
			}
		}
	})
}

// TestParseClientMsgID reads back the generator's own client_msg_ids and
// ignores any other: an earlier run's, a client's, a sender out of range.
func TestParseClientMsgID(t *testing.T) {
	tr := &talkRun{cidPrefix: []byte("a1b2c3-"), inFlight: make([]inFlight, 3)}
	for _, tc := range []struct {
		cid  string
		k    int
		seq  int64
		want bool
	}{
		{"a1b2c3-2-17", 2, 17, true},
		{"a1b2c3-0-0", 0, 0, true},
		{"a1b2c3-3-1", 0, 0, false},
		{"ffffff-1-1", 0, 0, false},
		{"a1b2c3-1-", 0, 0, false},
		{"a1b2c3--1", 0, 0, false},
		{"a1b2c3-1-x", 0, 0, false},
		{"a1b2c3-1-1-1", 0, 0, false},
		{"a1b2c3-1-9999999999999999999", 0, 0, false},
		{"", 0, 0, false},
	} {
		k, seq, ok := tr.parseClientMsgID([]byte(tc.cid))
		if ok != tc.want || k != tc.k || seq != tc.seq {
			t.Errorf("%q: %d %d %v", tc.cid, k, seq, ok)
		}
	}
}
