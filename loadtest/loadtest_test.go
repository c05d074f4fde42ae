package loadtest_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"strings"
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
