package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/internal/testdb"
)

type importJob struct {
	ID          string
	State       string
	Phase       string
	Rows        int
	Created     int
	LinesRead   int    `json:"lines_read"`
	SheetTicket string `json:"sheet_ticket"`
	Warnings    []string
	Errors      []struct {
		Line int
		Code string
	}
	Failure *struct{ Code string }
}

// runImport uploads a CSV and waits for the job to finish.
func (w *world) runImport(t testing.TB, actor, csv string, dryRun bool) importJob {
	t.Helper()
	var job importJob
	w.decode(w.must(actor, "POST", fmt.Sprintf("/api/v1/member-imports?dry_run=%v", dryRun), csv, 202), &job)
	deadline := time.Now().Add(2 * time.Minute)
	for job.State == "running" {
		if time.Now().After(deadline) {
			t.Fatalf("import still running: %+v", job)
		}
		time.Sleep(20 * time.Millisecond)
		w.decode(w.must(actor, "GET", "/api/v1/member-imports/"+job.ID, "", 200), &job)
	}
	return job
}

func TestMemberImport(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			w := newWorld(t, eng.Open)
			before := w.must("owner", "GET", "/api/v1/members?limit=500", "", 200)
			bad := "local,domain,display_name,mail,role\n" +
				"new1,acme.example,新人 一号,new1@mail.example,member\n" +
				"sato,dept.acme.example,,,\n" + // taken
				"new2,partner.example,,,\n" + // another tenant's domain
				"new3,acme.example,,,boss\n" // bad role
			job := w.runImport(t, "owner", bad, true)
			got := ""
			for _, e := range job.Errors {
				got += fmt.Sprintf("%d:%s ", e.Line, e.Code)
			}
			if job.State != "done" || got != "3:id_taken 4:domain_not_found 5:invalid_role " {
				t.Fatalf("dry run: %+v (%s)", job, got)
			}
			// The real run with errors writes nothing.
			job = w.runImport(t, "owner", bad, false)
			if len(job.Errors) != 3 || job.Created != 0 {
				t.Fatalf("real run with errors: %+v", job)
			}
			if after := w.must("owner", "GET", "/api/v1/members?limit=500", "", 200); after != before {
				t.Fatal("a refused import changed the members")
			}
			good := "\ufeffid,表示名,メール,groups\nnew1@acme.example,新人 一号,new1@mail.example,営業\nnew2@dept.acme.example,,,\n"
			job = w.runImport(t, "owner", good, false)
			if job.State != "done" || job.Created != 2 || job.SheetTicket == "" || len(job.Warnings) != 1 {
				t.Fatalf("import: %+v", job)
			}
			// The passwords come back once, as CSV or sheets, and work.
			pwCSV := w.must("owner", "POST", "/api/v1/sheets", `{"ticket":"`+job.SheetTicket+`","format":"csv"}`, 200)
			lines := strings.Split(strings.TrimSpace(pwCSV), "\n")
			if len(lines) != 3 {
				t.Fatalf("password CSV: %s", pwCSV)
			}
			fields := strings.Split(lines[1], ",")
			w.signIn("new1", fields[0], fields[2])
			w.must("new1", "GET", "/api/v1/members", "", 403) // must change first
			export := w.must("owner", "GET", "/api/v1/members/export", "", 200)
			if !strings.HasPrefix(export, "local,domain,display_name,mail,role,") || !strings.Contains(export, "new1,acme.example,新人 一号,new1@mail.example,member,new1@acme.example,active,") {
				t.Errorf("export:\n%s", export)
			}
			w.run(t, []scenario{
				{"member imports", "member", "POST", "/api/v1/member-imports", good, 403, []string{`"admin_required"`}, nil},
				{"member exports", "member", "GET", "/api/v1/members/export", "", 403, []string{`"admin_required"`}, nil},
				{"other tenant reads job", "other_admin", "GET", "/api/v1/member-imports/" + job.ID, "", 404, nil, nil},
				{"bad dry_run", "owner", "POST", "/api/v1/member-imports?dry_run=maybe", good, 400, []string{`"invalid_query"`}, nil},
			})
			var failed importJob
			failed = w.runImport(t, "owner", "shoe_size\n42\n", true)
			if failed.State != "failed" || failed.Failure == nil || failed.Failure.Code != "invalid_header" {
				t.Errorf("bad header: %+v", failed)
			}
		})
	}
}

// BenchmarkImport100k imports 100,000 members with generated passwords
// through the API, as an admin would, and waits for the job to finish.
func BenchmarkImport100k(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("local,domain,display_name,mail,role\n")
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&buf, "user%06d,acme.example,利用者 %d,user%d@mail.example,member\n", i, i, i)
	}
	csv := buf.String()
	for b.Loop() {
		b.StopTimer()
		w := newWorld(&testing.T{}, testdb.SQLite)
		b.StartTimer()
		req, _ := http.NewRequest("POST", w.srv.URL+"/api/v1/member-imports", strings.NewReader(csv))
		req.Header.Set("Authorization", "Bearer "+w.tokens["owner"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var job importJob
		json.NewDecoder(res.Body).Decode(&job)
		res.Body.Close()
		for job.State == "running" {
			time.Sleep(50 * time.Millisecond)
			r2, _ := http.NewRequest("GET", w.srv.URL+"/api/v1/member-imports/"+job.ID, nil)
			r2.Header.Set("Authorization", "Bearer "+w.tokens["owner"])
			res, err := http.DefaultClient.Do(r2)
			if err != nil {
				b.Fatal(err)
			}
			json.NewDecoder(res.Body).Decode(&job)
			res.Body.Close()
		}
		if job.Created != 100000 {
			b.Fatalf("import: %+v", job)
		}
	}
	b.ReportMetric(100000*float64(b.N)/b.Elapsed().Seconds(), "members/s")
}
