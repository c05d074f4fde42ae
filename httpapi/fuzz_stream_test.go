package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kizuna-chat/kizuna/httpapi"
	"github.com/kizuna-chat/kizuna/hub"
	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/service"
)

// frameSep splits one fuzz input into several client frames.
const frameSep = "\x1e"

// FuzzStreamFrames sends arbitrary bytes as client WebSocket frames to a
// live event stream over a real connection. The server must not panic (a
// panic on the stream's goroutines ends the whole process), must answer
// what it does not understand with an error frame of the API's error shape
// or close with a proper status (1009 for an oversize frame), must still
// answer a ping afterwards, and must release the connection once the
// client leaves.
//
// One server and tenant serve the whole fuzzing process; every input gets
// its own connection. "{me}" and "{room}" in an input stand for the
// member's account ID and a room it is in, so seeds can reach the send and
// read paths. repeat repeats the input's bytes (up to 128 KB) to reach the
// frame size limit.
func FuzzStreamFrames(f *testing.F) {
	h := hub.NewLocal()
	st := testdb.SQLite(f)
	svc := service.New(st, password.NewHasher(fastHash, 0), service.Config{Hub: h}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(httpapi.New(svc, slog.New(slog.DiscardHandler), "http://kizuna.test", st))
	f.Cleanup(srv.Close)
	f.Cleanup(svc.Close)
	ctx := context.Background()
	if _, err := svc.Tenants.Create(ctx, service.NewTenant{TenantName: "Fuzz", Domain: "fuzz.example", OwnerLocal: "boss", OwnerPassword: ownerPassword}); err != nil {
		f.Fatal(err)
	}
	call := func(method, path, token, body string, v any) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			f.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 300 || json.Unmarshal(b, v) != nil {
			f.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
	}
	var session struct {
		Token   string
		Account struct{ ID string }
	}
	call("POST", "/api/v1/login", "", `{"id":"boss@fuzz.example","password":"`+ownerPassword+`"}`, &session)
	var room struct{ ID string }
	call("POST", "/api/v1/rooms", session.Token, `{"name":"Fuzz","members":[]}`, &room)
	expand := strings.NewReplacer("{me}", session.Account.ID, "{room}", room.ID)

	for _, seed := range []struct {
		binary bool
		repeat uint16
		data   string
	}{
		{false, 0, `{"type":"ping","ref":"a"}`},
		{false, 0, `{"type":"sync"}`},
		{false, 0, `{"type":"send","ref":"s","account_id":"{me}","room_id":"{room}","client_msg_id":"c1","body":"hello"}`},
		{false, 0, `{"type":"send","ref":"s","account_id":"{me}","room_id":"{room}","client_msg_id":"c1","body":"hello","reply_to":-1,"mentions":["{me}","x"]}`},
		{false, 0, `{"type":"read","account_id":"{me}","room_id":"{room}","seq":9223372036854775807}`},
		{false, 0, `{"type":"read","account_id":"someone else","room_id":"{room}","seq":1}`},
		{false, 0, `{"type":"send","account_id":"{me}","room_id":"../../etc/passwd","client_msg_id":"\u0000","body":"x"}`},
		{false, 0, `{"type":"launch_missiles"}` + frameSep + `[1,2,3]` + frameSep + `null`},
		{false, 0, `{"type":1}` + frameSep + `{"type":"send","seq":"1"}` + frameSep + `{"type":"ping","extra":true}`},
		{false, 0, "\xff\xfe{}"},
		{false, 0, ""},
		{true, 0, "\x00\x01\x02"},
		{false, 0, `{"type":"ping"}{"type":"ping"}`},
		{false, 0, strings.Repeat("[", 10001)},
		{false, 2000, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{false, 0, `{"type":"send","account_id":"{me}","room_id":"{room}","client_msg_id":"long","body":"` + strings.Repeat("x", 10001) + `"}`},
	} {
		f.Add(seed.binary, seed.repeat, []byte(seed.data))
	}

	f.Fuzz(func(t *testing.T, binary bool, repeat uint16, data []byte) {
		data = []byte(expand.Replace(string(data)))
		if n := 1 + int(repeat)%2048; n > 1 && len(data) > 0 {
			data = bytes.Repeat(data, min(n, 128<<10/len(data)+1))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/events"
		c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + session.Token}}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		c.SetReadLimit(1 << 20)
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		var frames [][]byte
		if len(data) > httpapi.MaxFrameBytes {
			frames = [][]byte{data}
		} else {
			frames = bytes.Split(data, []byte(frameSep))
		}
		oversize := false
		for _, fr := range frames {
			oversize = oversize || len(fr) > httpapi.MaxFrameBytes
			if err := c.Write(ctx, typ, fr); err != nil {
				break // the server may close mid-write on an oversize frame
			}
		}
		if !oversize {
			c.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","ref":"fuzz-end"}`))
		}
		for done := false; !done; {
			_, msg, err := c.Read(ctx)
			if err != nil {
				status := websocket.CloseStatus(err)
				if !oversize || status != websocket.StatusMessageTooBig {
					t.Fatalf("stream ended with %v (status %d) after %q; oversize=%v", err, status, truncateBytes(data), oversize)
				}
				break
			}
			for _, line := range bytes.Split(msg, []byte("\n")) {
				var fr struct {
					Type  string
					Ref   string
					Error *struct{ Code, Message string }
				}
				if err := json.Unmarshal(line, &fr); err != nil || fr.Type == "" {
					t.Fatalf("server frame %q is not a typed JSON object", line)
				}
				if fr.Type == "error" && (fr.Error == nil || fr.Error.Code == "" || fr.Error.Message == "") {
					t.Fatalf("error frame %s lacks the error shape", line)
				}
				if fr.Error != nil && fr.Error.Code == "internal" {
					t.Fatalf("input %q caused an internal error: %s", truncateBytes(data), line)
				}
				done = done || (fr.Type == "pong" && fr.Ref == "fuzz-end")
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
		// The server lets go of the connection: the hub's count returns to
		// zero (this input's connection was the only one).
		for deadline := time.Now().Add(5 * time.Second); h.Stats().Connections != 0; {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections still open after the client left", h.Stats().Connections)
			}
			time.Sleep(time.Millisecond)
		}
	})
}

func truncateBytes(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
