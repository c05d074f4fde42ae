package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// throwawayPostgres runs a PostgreSQL cluster of the test's own, which the
// test may stop and start; it needs the Debian server binaries and root
// (the server itself runs as the postgres user).
type throwawayPostgres struct {
	t        *testing.T
	bin, dir string
	port     int
}

func newThrowawayPostgres(t *testing.T) *throwawayPostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 || os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run this test: it needs the PostgreSQL server binaries (apt-get install postgresql) and root")
		}
		t.Skip("needs the PostgreSQL server binaries and root, to stop and start a cluster of its own")
	}
	dir, err := os.MkdirTemp("", "kizuna-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &throwawayPostgres{t: t, bin: filepath.Dir(bins[0]), dir: dir}
	p.port = freePort(t)
	p.run("chown", "postgres", dir)
	p.asPostgres("initdb", "-D", dir+"/data", "-U", "postgres", "--auth=trust")
	p.start()
	t.Cleanup(func() { p.asPostgres("pg_ctl", "-D", dir+"/data", "-m", "immediate", "-w", "stop") })
	return p
}

func freePort(t *testing.T) int {
	addr := freeAddr(t)
	var port int
	fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &port)
	return port
}

func (p *throwawayPostgres) run(name string, args ...string) {
	p.t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		p.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func (p *throwawayPostgres) asPostgres(tool string, args ...string) {
	p.t.Helper()
	p.run("runuser", append([]string{"-u", "postgres", "--", filepath.Join(p.bin, tool)}, args...)...)
}

// start starts the server with its log in a file: a server writing to
// the pipe this test reads would keep the pipe open forever.
func (p *throwawayPostgres) start() {
	p.asPostgres("pg_ctl", "-D", p.dir+"/data", "-l", p.dir+"/server.log",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", p.port, p.dir), "-w", "start")
}

func (p *throwawayPostgres) stop() {
	p.asPostgres("pg_ctl", "-D", p.dir+"/data", "-m", "fast", "-w", "stop")
}

func (p *throwawayPostgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// TestPostgresOutage stops PostgreSQL under a running node: requests
// answer 503 database_unavailable quickly meanwhile, /readyz says so, and
// everything works again when PostgreSQL is back, without restarting the
// node.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a PostgreSQL cluster")
	}
	pg := newThrowawayPostgres(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "kizuna")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := []string{"KIZUNA_DATABASE_URL=" + pg.url(), "KIZUNA_DATA=" + dir}
	setup := exec.Command(bin, "setup", "--tenant", "Acme", "--domain", "acme.example", "--owner", "boss")
	setup.Env = append(os.Environ(), env...)
	out, err := setup.CombinedOutput()
	if err != nil {
		t.Fatalf("kizuna setup: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`initial password:\s+(\S+)`).FindSubmatch(out)
	n := startNode(t, bin, env)
	boss := clusterSignIn(t, n.url, "boss@acme.example", string(m[1]))
	call(t, n.url, boss, "GET", "/api/v1/members", "", 200, nil)

	// A client holds a stream: it is told when the database goes and
	// when it is back.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(n.url, "http")+"/api/v1/events", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + boss}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	notices := make(chan string, 10)
	hello := make(chan struct{})
	go func() {
		for first := true; ; first = false {
			_, msg, err := ws.Read(ctx)
			if err != nil {
				notices <- "stream ended: " + err.Error()
				close(notices)
				return
			}
			if first {
				close(hello) // the stream has caught up: the outage comes after
			}
			var f struct{ Type, Kind, Reason string }
			if json.Unmarshal(msg, &f) == nil && f.Type == "notice" {
				notices <- f.Kind + " " + f.Reason
			}
		}
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-notices:
			if strings.TrimSpace(got) != want {
				t.Errorf("notice %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("no %q notice", want)
		}
	}

	select {
	case <-hello:
	case <-time.After(10 * time.Second):
		t.Fatal("no hello on the stream")
	}
	pg.stop()
	start := time.Now()
	var body struct{ Error struct{ Code string } }
	call(t, n.url, boss, "GET", "/api/v1/members", "", 503, &body)
	if body.Error.Code != "database_unavailable" {
		t.Errorf("code while the database is down = %q", body.Error.Code)
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("the 503 took %v; requests must fail fast", took)
	}
	if res, err := http.Get(n.url + "/readyz"); err != nil || res.StatusCode != 503 {
		t.Errorf("/readyz while the database is down: %v %v", res.StatusCode, err)
	} else {
		res.Body.Close()
	}

	expect("service.degraded database_unavailable")
	pg.start()
	expect("service.recovered")
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequest("GET", n.url+"/api/v1/members", nil)
		req.Header.Set("Authorization", "Bearer "+boss)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node did not recover after PostgreSQL came back: %v", err)
		}
	}
	call(t, n.url, boss, "POST", "/api/v1/members", `{"local":"after","domain":"acme.example"}`, 201, nil)
}
