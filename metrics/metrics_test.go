package metrics_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/kizuna-chat/kizuna/hub"
	"github.com/kizuna-chat/kizuna/metrics"
	"github.com/kizuna-chat/kizuna/service"
)

type fakeServices struct{ s service.Stats }

func (f fakeServices) Stats() service.Stats { return f.s }

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("content type %q", ct)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetricsSeries(t *testing.T) {
	m := metrics.New()
	m.ObserveRequest("GET", "/api/v1/rooms/{id}", 200, 3*time.Millisecond)
	m.ObserveRequest("GET", "/api/v1/rooms/{id}", 404, time.Millisecond)
	m.JobRan("audit_retention", nil)
	m.JobRan("audit_retention", errors.New("disk full"))
	m.JobRan("audit_retention", context.Canceled) // shutting down is not a failure

	h := hub.NewLocal()
	sub := h.Subscribe([]string{"a1"})
	h.Publish([]hub.Event{{Pos: 1, Recipients: []string{"a1"}, Frame: []byte("{}")}})
	m.WatchHub(h)
	m.WatchServices(fakeServices{service.Stats{MessagesSent: 7, SignInFailures: 2, TalkOps: 9,
		TalkCommits: service.Histogram{Bounds: []float64{.001, .01}, Counts: []uint64{2, 1}, Count: 4, Sum: 0.75}}})
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m.WatchDB(map[string]*sql.DB{"read": db})

	body := scrape(t, m)
	for _, want := range []string{
		`kizuna_http_requests_total{method="GET",route="/api/v1/rooms/{id}",status="200"} 1`,
		`kizuna_http_requests_total{method="GET",route="/api/v1/rooms/{id}",status="404"} 1`,
		`kizuna_http_request_duration_seconds_count{method="GET",route="/api/v1/rooms/{id}"} 2`,
		`kizuna_http_request_duration_seconds_bucket{method="GET",route="/api/v1/rooms/{id}",le="0.005"} 2`,
		`kizuna_job_runs_total{job="audit_retention",result="ok"} 2`,
		`kizuna_job_runs_total{job="audit_retention",result="error"} 1`,
		"kizuna_websocket_connections 1",
		"kizuna_events_delivered_total 1",
		"kizuna_subscriptions_dropped_total 0",
		"kizuna_messages_sent_total 7",
		"kizuna_signin_failures_total 2",
		`kizuna_talk_commit_seconds_bucket{le="0.001"} 2`,
		`kizuna_talk_commit_seconds_bucket{le="0.01"} 3`,
		`kizuna_talk_commit_seconds_bucket{le="+Inf"} 4`,
		"kizuna_talk_commit_seconds_sum 0.75",
		"kizuna_talk_writes_total 9",
		`go_sql_open_connections{db_name="kizuna_read"}`,
		`go_sql_wait_count_total{db_name="kizuna_read"} 0`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	// The gauge follows the hub: a closed connection is no longer counted.
	sub.Close()
	if body := scrape(t, m); !strings.Contains(body, "kizuna_websocket_connections 0") {
		t.Errorf("connection gauge after close:\n%s", grep(body, "kizuna_websocket"))
	}
}

// Two registries side by side: each Main owns its own, so tests (and
// several servers in one process) never collide on registration.
func TestMetricsIndependentRegistries(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.ObserveRequest("GET", "/healthz", 200, time.Millisecond)
	if strings.Contains(scrape(t, b), `route="/healthz"`) {
		t.Error("a request observed on one registry shows on another")
	}
}

func grep(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
