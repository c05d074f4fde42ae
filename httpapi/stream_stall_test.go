package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/service"
)

// TestStreamAnswersWhileTheDatabaseIsHeld: while a long write (a big
// import, say) holds the database, a connection's sends wait for their
// commit but the connection does not: it answers WebSocket pings and its
// own frames, refuses sends past its pending bound with too_many_pending
// instead of blocking, and acknowledges every waiting send, in order,
// once the database is free. Before, the reader waited for each commit,
// stopped answering pings, and the server's heartbeat dropped the client.
func TestStreamAnswersWhileTheDatabaseIsHeld(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			// No message rate limit: the test sends past it on purpose.
			w := newWorld(t, eng.Open, func(c *service.Config) { c.Limits.MessagesPerSecond = -1 })
			r := w.room("owner", "Held", "sato@dept.acme.example")
			c := w.dial("owner", "")
			readFrame(t, c)

			// Hold the write side: SQLite's one writer connection in an
			// immediate transaction; on PostgreSQL the lock that orders
			// the event log ("kizuna" as a number).
			ctx := context.Background()
			tx, err := w.store.WriteDB().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			held := true
			defer func() {
				if held {
					tx.Rollback()
				}
			}()
			if eng.Name == "postgres" {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(118100770254433)`); err != nil {
					t.Fatal(err)
				}
			}

			// A reader of its own, so that WebSocket pings get their
			// pongs read whatever the test waits for.
			frames := make(chan frameOut, 256)
			go func() {
				defer close(frames)
				for {
					_, msg, err := c.Read(ctx)
					if err != nil {
						return
					}
					for _, line := range bytes.Split(msg, []byte("\n")) {
						var f frameOut
						if json.Unmarshal(line, &f) == nil {
							frames <- f
						}
					}
				}
			}()
			next := func() frameOut {
				t.Helper()
				select {
				case f, ok := <-frames:
					if !ok {
						t.Fatal("the stream ended")
					}
					return f
				case <-time.After(5 * time.Second):
					t.Fatal("no frame in 5 s")
				}
				return frameOut{}
			}

			const pending = 64 // the server's per-connection bound
			for i := range pending + 1 {
				writeFrame(t, c, map[string]any{"type": "send", "ref": fmt.Sprint("s-", i), "account_id": w.ids["owner"],
					"room_id": r.ID, "client_msg_id": fmt.Sprint("held-", i), "body": fmt.Sprint("while held ", i)})
			}
			writeFrame(t, c, map[string]any{"type": "ping", "ref": "p"})
			got := map[string]frameOut{}
			for got["p"].Type == "" || got[fmt.Sprint("s-", pending)].Type == "" {
				f := next()
				if f.Type == "ack" || f.Type == "event" {
					t.Fatalf("%s while the database is held: %+v", f.Type, f)
				}
				got[f.Ref] = f
			}
			if f := got[fmt.Sprint("s-", pending)]; f.Type != "error" || f.Error.Code != "too_many_pending" {
				t.Errorf("send past the bound = %+v, want too_many_pending", f)
			}
			if got["p"].Type != "pong" {
				t.Errorf("ping frame = %+v", got["p"])
			}
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			if err := c.Ping(pctx); err != nil {
				t.Fatalf("WebSocket ping while the database is held: %v", err)
			}

			tx.Rollback()
			held = false
			acked := 0
			for acked < pending {
				f := next()
				if f.Type != "ack" {
					continue
				}
				if f.Ref != fmt.Sprint("s-", acked) || f.Message == nil || f.Message.Seq != int64(acked+1) {
					t.Fatalf("ack %d = %+v (ref %s), want s-%d stored as seq %d", acked, f, f.Ref, acked, acked+1)
				}
				acked++
			}
		})
	}
}

// TestStreamReadsFramesSentWithTheHandshake: a client may send its first
// frame in the same packet as the upgrade request; the bytes net/http has
// already buffered must reach the stream (the upgrade hands the
// connection smaller buffers of its own).
func TestStreamReadsFramesSentWithTheHandshake(t *testing.T) {
	w := newWorld(t, testdb.SQLite)
	conn, err := net.Dial("tcp", strings.TrimPrefix(w.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	payload := []byte(`{"type":"ping","ref":"early"}`)
	mask := [4]byte{1, 2, 3, 4}
	frame := append([]byte{0x81, 0x80 | byte(len(payload))}, mask[:]...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	req := "GET /api/v1/events HTTP/1.1\r\nHost: kizuna.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer " + w.tokens["member"] + "\r\n\r\n"
	if _, err := conn.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	// Server frames are unmasked text frames: read them until the pong.
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("reading a frame: %v (the early frame was lost?)", err)
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			io.ReadFull(br, ext[:])
			n = int(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			io.ReadFull(br, ext[:])
			n = int(binary.BigEndian.Uint64(ext[:]))
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(body, []byte(`"pong"`)) {
			if !bytes.Contains(body, []byte(`"early"`)) {
				t.Fatalf("pong = %s", body)
			}
			return
		}
	}
}
