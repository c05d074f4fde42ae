package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/kizuna-chat/kizuna/internal/testdb"
)

// node is a `kizuna serve` process of the cluster test.
type node struct {
	url string
	cmd *exec.Cmd
	out *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startNode(t *testing.T, bin string, env []string) *node {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(append(os.Environ(), env...), "KIZUNA_ADDR="+addr, "KIZUNA_LOG_FORMAT=text")
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &node{url: "http://" + addr, cmd: cmd, out: out}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("node %s output:\n%s", addr, out.String())
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		res, err := http.Get(n.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not ready: %v\n%s", addr, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func call(t *testing.T, base, token, method, path, body string, want int, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s%s: %d, want %d: %s", method, base, path, res.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
}

// clusterSignIn signs in and goes through the forced password change.
func clusterSignIn(t *testing.T, base, id, pw string) string {
	t.Helper()
	var s struct {
		Token                  string
		PasswordChangeRequired bool `json:"password_change_required"`
	}
	call(t, base, "", "POST", "/api/v1/login", fmt.Sprintf(`{"id":%q,"password":%q}`, id, pw), 200, &s)
	if !s.PasswordChangeRequired {
		return s.Token
	}
	call(t, base, s.Token, "POST", "/api/v1/me/password", fmt.Sprintf(`{"current_password":%q,"new_password":"cluster test passphrase 9"}`, pw), 200, &s)
	return s.Token
}

// TestClusterTwoNodes starts two kizuna serve processes on one PostgreSQL
// schema and one NATS server: a message sent through node 1 arrives on a
// WebSocket held on node 2; NATS restarts during a send load and no
// acknowledged message is missing or doubled once the client resumes; and
// a reissue on node 2 ends, within a second, a session used on node 1.
func TestClusterTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts two servers")
	}
	dbURL := testdb.PostgresSchemaURL(t)
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS did not start")
	}
	t.Cleanup(ns.Shutdown)

	dir := t.TempDir()
	bin := filepath.Join(dir, "kizuna")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The send load below is one account sending as fast as it can: no
	// message rate limit for this test.
	env := []string{"KIZUNA_DATABASE_URL=" + dbURL, "KIZUNA_NATS_URL=" + ns.ClientURL(), "KIZUNA_DATA=" + dir, "KIZUNA_MESSAGE_RATE=off"}
	setup := exec.Command(bin, "setup", "--tenant", "Acme", "--domain", "acme.example", "--owner", "boss")
	setup.Env = append(os.Environ(), env...)
	out, err := setup.CombinedOutput()
	if err != nil {
		t.Fatalf("kizuna setup: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`initial password:\s+(\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no initial password in:\n%s", out)
	}
	n1 := startNode(t, bin, append(env, "KIZUNA_NODE=n1"))
	n2 := startNode(t, bin, append(env, "KIZUNA_NODE=n2"))

	boss := clusterSignIn(t, n1.url, "boss@acme.example", string(m[1]))
	var added struct {
		Member          struct{ ID string } `json:"member"`
		InitialPassword string              `json:"initial_password"`
	}
	call(t, n1.url, boss, "POST", "/api/v1/members", `{"local":"sato","domain":"acme.example"}`, 201, &added)
	sato := clusterSignIn(t, n2.url, "sato@acme.example", added.InitialPassword)
	var room struct{ ID string }
	call(t, n1.url, boss, "POST", "/api/v1/rooms", `{"name":"Across nodes","members":["sato@acme.example"]}`, 201, &room)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dial := func(base, token string) (*websocket.Conn, *bufio.Scanner) {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/events", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c, nil
	}
	// next reads frames until one satisfies ok, within the deadline.
	next := func(c *websocket.Conn, within time.Duration, ok func(map[string]any) bool) error {
		rctx, rcancel := context.WithTimeout(ctx, within)
		defer rcancel()
		for {
			_, msg, err := c.Read(rctx)
			if err != nil {
				return err
			}
			for _, line := range bytes.Split(msg, []byte("\n")) {
				var f map[string]any
				if json.Unmarshal(line, &f) == nil && ok(f) {
					return nil
				}
			}
		}
	}
	onN2, _ := dial(n2.url, sato)
	// A fresh stream delivers what commits after its hello (the position it
	// starts from); sending before the hello raced with it.
	if err := next(onN2, 5*time.Second, func(f map[string]any) bool { return f["type"] == "hello" }); err != nil {
		t.Fatalf("no hello on node 2: %v", err)
	}
	call(t, n1.url, boss, "POST", "/api/v1/rooms/"+room.ID+"/messages", `{"client_msg_id":"x-1","body":"from node 1"}`, 201, nil)
	if err := next(onN2, 5*time.Second, func(f map[string]any) bool {
		msg, _ := f["message"].(map[string]any)
		return f["kind"] == "message.created" && msg != nil && msg["body"] == "from node 1"
	}); err != nil {
		t.Fatalf("the message sent on node 1 did not reach node 2: %v", err)
	}

	// NATS restarts in the middle of a send load: no acknowledged message
	// is missing on node 2 once the client resumes, and none comes twice.
	natsPort := ns.Addr().(*net.TCPAddr).Port
	type seen struct {
		pos int64
		id  string
	}
	frames := make(chan seen, 1000)
	readAll := func(c *websocket.Conn) {
		for {
			_, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			for _, line := range bytes.Split(msg, []byte("\n")) {
				var f struct {
					Pos     int64
					Kind    string
					Message struct{ ID string }
				}
				if json.Unmarshal(line, &f) == nil && f.Kind == "message.created" {
					frames <- seen{f.Pos, f.Message.ID}
				}
			}
		}
	}
	go readAll(onN2)
	var acked []string
	for i := range 60 {
		switch i {
		case 20:
			ns.Shutdown()
		case 40:
			ns, err = natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: natsPort, NoSigs: true})
			if err != nil {
				t.Fatal(err)
			}
			go ns.Start()
			t.Cleanup(ns.Shutdown)
			if !ns.ReadyForConnections(10 * time.Second) {
				t.Fatal("NATS did not restart")
			}
		}
		var sent struct{ ID string }
		call(t, n1.url, boss, "POST", "/api/v1/rooms/"+room.ID+"/messages", fmt.Sprintf(`{"client_msg_id":"load-%d","body":"message %d"}`, i, i), 201, &sent)
		acked = append(acked, sent.ID)
	}
	got := map[string]int{}
	var last int64
	collect := func(within time.Duration) {
		deadline := time.After(within)
		for len(got) < len(acked) {
			select {
			case f := <-frames:
				got[f.id]++
				last = max(last, f.pos)
			case <-deadline:
				return
			}
		}
	}
	collect(2 * time.Second)
	// The client drops and resumes from the last position it saw.
	onN2.CloseNow()
	resumed, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(n2.url, "http")+fmt.Sprintf("/api/v1/events?after=%d", last),
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + sato}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resumed.CloseNow() })
	go readAll(resumed)
	collect(10 * time.Second)
	for _, id := range acked {
		if got[id] != 1 {
			t.Errorf("acknowledged message %s arrived %d times on node 2", id, got[id])
		}
	}
	waitReady := func(n *node) {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if res, err := http.Get(n.url + "/readyz"); err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s not ready again after NATS came back", n.url)
			}
		}
	}
	waitReady(n1)
	waitReady(n2)

	// sato's session in use on node 1; the reissue happens on node 2.
	onN1, _ := dial(n1.url, sato)
	if err := next(onN1, 5*time.Second, func(f map[string]any) bool { return f["type"] == "hello" }); err != nil {
		t.Fatal(err)
	}
	bossOn2 := clusterSignIn(t, n2.url, "boss@acme.example", "cluster test passphrase 9")
	start := time.Now()
	call(t, n2.url, bossOn2, "POST", "/api/v1/members/"+added.Member.ID+"/reissue", `{}`, 200, nil)
	err = next(onN1, 3*time.Second, func(map[string]any) bool { return false })
	if websocket.CloseStatus(err) != 4001 {
		t.Fatalf("the stream on node 1 ended with %v, want close 4001 (session ended)", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the reissue took %v to end the stream on the other node, want under a second", took)
	}
	call(t, n1.url, sato, "GET", "/api/v1/me", "", 401, nil)
}
