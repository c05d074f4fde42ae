package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// apiClient drives a running Main over HTTP, as a user would.
type apiClient struct {
	t     *testing.T
	base  string
	token string
	id    string // the signed-in account
}

func (c *apiClient) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var v map[string]any
	json.Unmarshal(b, &v)
	return res.StatusCode, v
}

// must calls do and fails the test unless the status is want.
func (c *apiClient) must(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	status, v := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: %d, want %d: %v", method, path, status, want, v)
	}
	return v
}

// signIn signs in and, for an initial password, sets newPassword.
func signIn(t *testing.T, base, id, password, newPassword string) *apiClient {
	t.Helper()
	c := &apiClient{t: t, base: base}
	v := c.must(200, "POST", "/api/v1/login", map[string]string{"id": id, "password": password})
	c.token = v["token"].(string)
	c.id = v["account"].(map[string]any)["id"].(string)
	if v["password_change_required"] == true {
		v = c.must(200, "POST", "/api/v1/me/password", map[string]string{"current_password": password, "new_password": newPassword})
		c.token = v["token"].(string)
	}
	return c
}

// world is what populate created.
type world struct {
	owner, member *apiClient
	ownerID       string
	memberID      string
	roomID        string
}

// populate sets up a tenant through the first-run setup and fills it
// through the API: a member, a room with messages, a direct room, a failed
// sign-in (audit, throttle), an invitation mail in the outbox.
func populate(t *testing.T, m *Main, setupOutput string) world {
	t.Helper()
	token := regexp.MustCompile(`setup token: (\S+)`).FindStringSubmatch(setupOutput)
	if token == nil {
		t.Fatalf("no setup token printed:\n%s", setupOutput)
	}
	anon := &apiClient{t: t, base: m.URL()}
	v := anon.must(201, "POST", "/api/v1/setup", map[string]string{"setup_token": token[1], "tenant_name": "Acme — 株式会社", "domain": "acme.example", "owner_local": "admin"})
	pw := v["initial_password"].(string)
	w := world{}
	w.owner = signIn(t, m.URL(), "admin@acme.example", pw, "correct horse battery staple 1")
	w.ownerID = w.owner.id
	added := w.owner.must(201, "POST", "/api/v1/members", map[string]any{"local": "hana", "domain": "acme.example", "display_name": "Hana 花", "password": "initial pass phrase 42", "contact_mail": "hana@mail.example"})
	w.memberID = added["member"].(map[string]any)["id"].(string)
	w.member = signIn(t, m.URL(), "hana@acme.example", "initial pass phrase 42", "correct horse battery staple 2")
	room := w.owner.must(201, "POST", "/api/v1/rooms", map[string]any{"name": "General", "members": []string{w.memberID}})
	w.roomID = room["id"].(string)
	for i := range 5 {
		w.owner.must(201, "POST", "/api/v1/rooms/"+w.roomID+"/messages", map[string]any{"client_msg_id": fmt.Sprintf("m%d", i), "body": fmt.Sprintf("hello %d 🌸", i)})
	}
	w.member.must(204, "POST", "/api/v1/rooms/"+w.roomID+"/read", map[string]any{"seq": 3})
	w.member.must(201, "POST", "/api/v1/rooms/direct", map[string]any{"with": "admin@acme.example"})
	if status, _ := anon.do("POST", "/api/v1/login", map[string]string{"id": "hana@acme.example", "password": "wrong"}); status != 401 {
		t.Fatalf("a wrong password answered %d", status)
	}
	w.owner.must(200, "POST", "/api/v1/members/"+w.memberID+"/reissue", map[string]any{"send_mail": true})
	return w
}

// TestMetricsEndpoint scrapes /metrics of a real server after requests, a
// failed sign-in, sends and a WebSocket connection.
func TestMetricsEndpoint(t *testing.T) {
	c := DefaultConfig()
	c.DataDir = t.TempDir()
	m, out := runMain(t, c)
	w := populate(t, m, out.String())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(m.URL(), "http") + "/api/v1/events?access_token=" + w.owner.token
	conn, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("websocket: %v", err)
	}
	defer conn.CloseNow()
	// The stream subscribes after the handshake, and says hello once it
	// has: a message committed before that is the client's to fetch (it
	// is at or before the hello's position), not the stream's to deliver.
	if _, hello, err := conn.Read(ctx); err != nil || !strings.Contains(string(hello), `"hello"`) {
		t.Fatalf("first frame %s, %v; want hello", hello, err)
	}
	// A message sent while the stream is open is delivered to it.
	w.owner.must(201, "POST", "/api/v1/rooms/"+w.roomID+"/messages", map[string]any{"client_msg_id": "live", "body": "live"})

	var body string
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := http.Get(m.URL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("/metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		body = string(b)
		if metricValue(body, "kizuna_events_delivered_total") >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	checks := []struct {
		series string
		min    float64
	}{
		{`kizuna_http_requests_total{method="POST",route="/api/v1/login",status="200"}`, 2},
		{`kizuna_http_requests_total{method="POST",route="/api/v1/login",status="401"}`, 1},
		{`kizuna_http_requests_total{method="POST",route="/api/v1/rooms/{id}/messages",status="201"}`, 6},
		{`kizuna_http_request_duration_seconds_count{method="POST",route="/api/v1/rooms/{id}/messages"}`, 6},
		{"kizuna_websocket_connections", 1},
		{"kizuna_messages_sent_total", 6},
		{"kizuna_talk_writes_total", 6},
		{"kizuna_talk_commit_seconds_count", 1},
		{`kizuna_talk_commit_seconds_bucket{le="+Inf"}`, 1},
		{"kizuna_events_delivered_total", 1},
		{"kizuna_signin_failures_total", 1},
		{"kizuna_gc_percent", 1}, // 50, 100 or 200 (or the GOGC the run was given)
		{`kizuna_job_runs_total{job="audit_retention",result="ok"}`, 1},
		{`go_sql_max_open_connections{db_name="kizuna_write"}`, 1},
		{`go_sql_open_connections{db_name="kizuna_read"}`, 1},
	}
	for _, c := range checks {
		if v := metricValue(body, c.series); v < c.min {
			t.Errorf("%s = %v, want at least %v", c.series, v, c.min)
		}
	}
	if v := metricValue(body, "kizuna_messages_sent_total"); v != 6 {
		t.Errorf("messages sent = %v, want exactly 6", v)
	}
	if !strings.Contains(body, "kizuna_subscriptions_dropped_total 0") {
		t.Error("no dropped-subscriptions series")
	}
	if strings.Contains(body, `kizuna_http_request_duration_seconds_count{method="GET",route="/api/v1/events"}`) {
		t.Error("an event stream was timed as a request")
	}

	// A closed stream is counted once it ends, and leaves the gauge.
	conn.Close(websocket.StatusNormalClosure, "")
	stream := `kizuna_http_requests_total{method="GET",route="/api/v1/events",status="101"}`
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		body = scrapeBody(t, m.URL())
		if metricValue(body, stream) == 1 && metricValue(body, "kizuna_websocket_connections") == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing the stream: %s = %v, connections = %v", stream, metricValue(body, stream), metricValue(body, "kizuna_websocket_connections"))
		}
	}
}

func scrapeBody(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// metricValue returns the value of the series line starting with name, or
// -1 when there is none.
func metricValue(body, series string) float64 {
	for _, l := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(l, series+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return -1
}
