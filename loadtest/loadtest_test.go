package loadtest_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/loadtest"
)

// TestTalkProfile drives a real server (HTTP and WebSockets) from an empty
// store: the tool creates its tenant with the setup token, prepares
// members through the forced password change, and counts every delivery.
func TestTalkProfile(t *testing.T) {
	api, token := loadtest.StartTestServer(t)
	ctx := context.Background()
	fx, err := loadtest.Prepare(ctx, api, loadtest.Setup{SetupToken: token, Clients: 20, StatePath: t.TempDir() + "/state.json"}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := loadtest.RunTalk(ctx, []*loadtest.API{api}, fx, loadtest.Talk{RoomSize: 5, Warmup: 200 * time.Millisecond, Duration: time.Second, Rate: 200}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted < 50 || rep.Rooms != 4 || len(rep.Errors) != 0 || rep.Disconnects != 0 {
		t.Errorf("report = %s", rep.Text())
	}
	if rep.Delivered < rep.Expected || rep.Delivery.Count == 0 || rep.Delivery.P99 <= 0 {
		t.Errorf("deliveries %d of %d expected: %s", rep.Delivered, rep.Expected, rep.Text())
	}
	// The chart is well-formed SVG with a line per percentile.
	var doc struct {
		XMLName xml.Name
		Lines   []struct{} `xml:"polyline"`
	}
	if err := xml.Unmarshal([]byte(loadtest.SVG("talk", rep.Timeline)), &doc); err != nil || doc.XMLName.Local != "svg" || len(doc.Lines) != 3 {
		t.Errorf("chart: %v %+v", err, doc)
	}
	// A message count ends the window instead of the duration (here a
	// generous limit), after a ramp-up that is not measured.
	var said []string
	logf := func(format string, args ...any) { said = append(said, format); t.Logf(format, args...) }
	began := time.Now()
	counted, err := loadtest.RunTalk(ctx, []*loadtest.API{api}, fx, loadtest.Talk{RoomSize: 5, RampUp: 300 * time.Millisecond, Warmup: 100 * time.Millisecond,
		Duration: 20 * time.Second, Messages: 60, Rate: 200}, logf)
	if err != nil {
		t.Fatal(err)
	}
	if counted.Accepted < 60 || counted.Seconds > 10 || counted.Delivered < counted.Expected || len(counted.Errors) != 0 ||
		!strings.Contains(counted.Text(), "measured "+fmt.Sprintf("%.1f", counted.Seconds)+"s until 60 messages, after a 300ms ramp-up") {
		t.Errorf("a run of 60 messages: %s", counted.Text())
	}
	if took := time.Since(began); took < 400*time.Millisecond || !slices.Contains(said, "ramping up %d senders over %v") {
		t.Errorf("the ramp-up and warm-up took %v; said %q", took, said)
	}
	// The sign-in storm signs the prepared members in with their passwords.
	si, err := loadtest.RunSignIn(ctx, api, fx, 4, 100*time.Millisecond, 500*time.Millisecond, 0, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if si.Accepted == 0 || len(si.Errors) != 0 {
		t.Errorf("sign-in storm: %s", si.Text())
	}
	// The idle profile holds connections open and reads the server's
	// memory: here the server is this test's own process. Its report shows
	// memory, not empty traffic rows.
	idle, err := loadtest.RunIdle(ctx, api, fx, 30, 0, os.Getpid(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if text := idle.Text(); idle.ServerAfter == nil || !strings.Contains(text, "30 WebSockets held open") ||
		!strings.Contains(text, "per idle connection") || strings.Contains(text, "messages accepted") {
		t.Errorf("idle report:\n%s", text)
	}
	// Without credentials or a state file there is nothing to run with.
	again, err := loadtest.Prepare(ctx, api, loadtest.Setup{Clients: 20, StatePath: t.TempDir() + "/none.json"}, t.Logf)
	if err == nil || again != nil {
		t.Error("preparing without credentials or state must fail with a clear error")
	}
	// The tool made this tenant with the setup token: cleaning up cancels
	// it whole (restorable with the code), and its sessions end.
	cleaned, err := loadtest.Cleanup(ctx, api, fx, loadtest.Setup{}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if cleaned.Tenant != "Load test" || cleaned.RestoreCode == "" || !strings.Contains(cleaned.Text(), cleaned.RestoreCode) {
		t.Errorf("cleanup of the tool's tenant: %+v", cleaned)
	}
	for _, tok := range []string{fx.AdminToken, fx.Accounts[0].Token} {
		if err := api.Do(ctx, tok, "GET", "/api/v1/me", nil, nil); err == nil {
			t.Error("a session of the cancelled test tenant still works")
		}
	}
}

// TestCleanupInExistingTenant prepares members in a tenant the tool did
// not make, runs the admin profile, and cleans up from the state file:
// the test members and the admin profile's domain go, the admin and the
// tenant stay, and a second cleanup finds everything gone.
func TestCleanupInExistingTenant(t *testing.T) {
	api, token := loadtest.StartTestServer(t)
	ctx := context.Background()
	err := api.Do(ctx, "", "POST", "/api/v1/setup", map[string]string{"setup_token": token, "tenant_name": "Acme",
		"domain": "acme.example", "owner_local": "boss", "owner_password": "a sturdy owner phrase"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir() + "/state.json"
	setup := loadtest.Setup{AdminID: "boss@acme.example", AdminPassword: "a sturdy owner phrase", Clients: 6, StatePath: state, Concurrency: 3}
	fx, err := loadtest.Prepare(ctx, api, setup, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	talk := loadtest.Talk{RoomSize: 3, Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond, Rate: 20}
	if _, err := loadtest.RunWhileTalking(ctx, []*loadtest.API{api}, fx, talk, loadtest.Admin{ImportRows: 40, Renames: 1, Searches: 5}, 0, t.Logf); err != nil {
		t.Fatal(err)
	}
	if err := loadtest.RecordDomains(state, fx.Domains); err != nil {
		t.Fatal(err)
	}
	saved, err := loadtest.ReadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if saved.OwnsTenant || saved.OwnerPassword != "" || len(saved.Domains) != 1 || len(saved.Accounts) != 6 {
		t.Fatalf("state file: owns %v, owner password kept %v, domains %v, %d accounts", saved.OwnsTenant, saved.OwnerPassword != "", saved.Domains, len(saved.Accounts))
	}
	domainsBefore := domainNames(t, api, fx.AdminToken)

	rep, err := loadtest.Cleanup(ctx, api, saved, setup, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tenant != "" || rep.Domains != 1 || rep.Members != 6 || rep.Gone != 0 {
		t.Errorf("cleanup: %+v", rep)
	}
	var apiErr *loadtest.APIError
	if err := api.Do(ctx, fx.AdminToken, "GET", "/api/v1/members/"+fx.Accounts[0].ID, nil, nil); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("a test member after cleanup: %v", err)
	}
	after := domainNames(t, api, fx.AdminToken)
	if len(after) != len(domainsBefore)-1 || !slices.Contains(after, "acme.example") {
		t.Errorf("domains %v before cleanup, %v after", domainsBefore, after)
	}
	// Running it again changes nothing and says so.
	again, err := loadtest.Cleanup(ctx, api, saved, setup, t.Logf)
	if err != nil || again.Members != 0 || again.Domains != 0 || again.Gone != 7 {
		t.Errorf("second cleanup: %+v, %v", again, err)
	}
}

func domainNames(t *testing.T, api *loadtest.API, token string) []string {
	t.Helper()
	var list struct{ Items []struct{ Name string } }
	if err := api.Do(context.Background(), token, "GET", "/api/v1/domains", nil, &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range list.Items {
		names = append(names, d.Name)
	}
	return names
}

// TestAdminAndMixedProfiles runs the admin work — a CSV import into a
// domain of its own, renames, more imports and directory searches, all
// through the public API — while talk traffic runs, then again with a
// sign-in storm alongside, and checks that every figure was measured and
// nothing was lost.
func TestAdminAndMixedProfiles(t *testing.T) {
	api, token := loadtest.StartTestServer(t)
	ctx := context.Background()
	fx, err := loadtest.Prepare(ctx, api, loadtest.Setup{SetupToken: token, Clients: 10}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	talk := loadtest.Talk{RoomSize: 5, Warmup: 100 * time.Millisecond, Duration: 300 * time.Millisecond, Rate: 50}
	admin := loadtest.Admin{ImportRows: 300, DirectoryMembers: 700, Renames: 3, Searches: 40, SearchConcurrency: 2}
	for _, storm := range []int{0, 2} {
		rep, err := loadtest.RunWhileTalking(ctx, []*loadtest.API{api}, fx, talk, admin, storm, t.Logf)
		if err != nil {
			t.Fatal(err)
		}
		a := rep.Admin
		if a == nil || a.ImportRows != 300 || a.ImportSeconds <= 0 || a.RenameMembers != 300 || a.Rename.Count != 3 ||
			a.MoreImports != 2 || a.DirectoryMembers != 700 || a.Directory.Count != 40 || len(a.Errors) != 0 {
			t.Errorf("admin work, storm %d: %s", storm, rep.Text())
		}
		if rep.Accepted == 0 || rep.Delivered < rep.Expected || len(rep.Errors) != 0 || rep.Disconnects != 0 {
			t.Errorf("talk alongside the admin work, storm %d: %s", storm, rep.Text())
		}
		if storm > 0 && (rep.SignIn == nil || rep.SignIn.Accepted == 0 || len(rep.SignIn.Errors) != 0) {
			t.Errorf("sign-in storm alongside: %s", rep.Text())
		}
		if storm == 0 && rep.SignIn != nil {
			t.Errorf("the admin profile ran a sign-in storm: %s", rep.Text())
		}
		// The domain carries its last name: the renames went through.
		var domains json.RawMessage
		if err := api.Do(ctx, fx.AdminToken, "GET", "/api/v1/domains", nil, &domains); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(domains), `"`+a.Domain+`"`) {
			t.Errorf("domain %s not among %s", a.Domain, domains)
		}
	}
}

// TestTalkReconnects cuts every connection in the middle of a run, as a
// node restart or a network blip would: each client resumes from the last
// position it saw, sends again what waited for an ack, and nothing is
// lost or counted as an error.
func TestTalkReconnects(t *testing.T) {
	api, token := loadtest.StartTestServer(t)
	ctx := context.Background()
	fx, err := loadtest.Prepare(ctx, api, loadtest.Setup{SetupToken: token, Clients: 20}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startCutProxy(t, strings.TrimPrefix(api.Base, "http://"))
	via := loadtest.NewAPI("http://" + proxy.ln.Addr().String())
	cut := make(chan int, 1)
	go func() {
		time.Sleep(700 * time.Millisecond) // past the warm-up, while measuring
		cut <- proxy.cut()
	}()
	rep, err := loadtest.RunTalk(ctx, []*loadtest.API{via}, fx, loadtest.Talk{RoomSize: 5, Warmup: 200 * time.Millisecond, Duration: 1500 * time.Millisecond, Rate: 200}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if n := <-cut; n < 20 {
		t.Fatalf("cut %d connections, want the 20 WebSockets at least", n)
	}
	if rep.Disconnects < 20 || rep.Reconnects != rep.Disconnects || len(rep.Errors) != 0 {
		t.Errorf("after the cut: %s", rep.Text())
	}
	if rep.Accepted < 100 || rep.Delivered < rep.Expected {
		t.Errorf("deliveries across the cut: %s", rep.Text())
	}
}

// cutProxy forwards TCP connections to a server until cut closes them all.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

// cut closes every connection forwarded so far and says how many.
func (p *cutProxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	n := len(p.conns) / 2
	p.conns = nil
	return n
}
