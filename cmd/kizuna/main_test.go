package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/kizuna-chat/kizuna/internal/testdb"
)

// runMain starts the real server on a free port with the given config.
func runMain(t *testing.T, c Config) (*Main, *bytes.Buffer) {
	t.Helper()
	m := NewMain()
	c.Addr = "127.0.0.1:0"
	m.Config = c
	out := &bytes.Buffer{}
	m.Out = out
	m.Logger = slog.New(slog.DiscardHandler)
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m, out
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	b, _ := io.ReadAll(res.Body)
	json.Unmarshal(b, &v)
	return res.StatusCode, v
}

func TestServeFirstRunSetup(t *testing.T) {
	c := DefaultConfig()
	c.DataDir = t.TempDir()
	m, out := runMain(t, c)

	res, err := http.Get(m.URL() + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	token := regexp.MustCompile(`setup token: (\S+)`).FindStringSubmatch(out.String())
	if token == nil {
		t.Fatalf("no setup token printed:\n%s", out)
	}
	status, body := post(t, m.URL()+"/api/v1/setup", `{"setup_token":"`+token[1]+`","tenant_name":"Acme","domain":"acme.example","owner_local":"admin"}`)
	if status != 201 {
		t.Fatalf("setup: %d %v", status, body)
	}
	pw, _ := body["initial_password"].(string)
	status, body = post(t, m.URL()+"/api/v1/login", `{"id":"admin@acme.example","password":"`+pw+`"}`)
	if status != 200 || body["password_change_required"] != true {
		t.Fatalf("login: %d %v", status, body)
	}

	// A restart keeps the data and prints no setup token.
	m.Close()
	m2, out2 := runMain(t, c)
	if strings.Contains(out2.String(), "setup token") {
		t.Errorf("a set-up server printed a setup token:\n%s", out2)
	}
	if status, body := post(t, m2.URL()+"/api/v1/login", `{"id":"admin@acme.example","password":"`+pw+`"}`); status != 200 {
		t.Errorf("login after restart: %d %v", status, body)
	}
}

func TestServePostgres(t *testing.T) {
	c := DefaultConfig()
	c.DatabaseURL = testdb.PostgresSchemaURL(t)
	m, out := runMain(t, c)
	if !strings.Contains(out.String(), "setup token") {
		t.Errorf("an empty PostgreSQL store printed no setup token:\n%s", out)
	}
	res, err := http.Get(m.URL() + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz on postgres: %v %v", res, err)
	}
}

func TestSetupCommand(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	err := runSetup(context.Background(), []string{"--data", dir, "--tenant", "Acme", "--domain", "Acme.Example", "--owner", "Admin"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "owner ID:         admin@acme.example") || !regexp.MustCompile(`initial password: \S{19}`).MatchString(out.String()) {
		t.Errorf("setup output:\n%s", out.String())
	}
	// The same domain again is refused with its code.
	err = runSetup(context.Background(), []string{"--data", dir, "--tenant", "Other", "--domain", "acme.example", "--owner", "x"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "domain_taken") {
		t.Errorf("second setup: %v", err)
	}
}

func TestConfig(t *testing.T) {
	env := map[string]string{"KIZUNA_ADDR": "0.0.0.0:9000", "KIZUNA_DATA": "/var/lib/kizuna", "KIZUNA_OPEN_SIGNUP": "true"}
	c := DefaultConfig()
	if err := c.applyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9000" || c.DataDir != "/var/lib/kizuna" || !c.OpenSignup || c.UsesPostgres() {
		t.Errorf("env not applied: %+v", c)
	}
	for _, bad := range []map[string]string{
		{"KIZUNA_DATABASE_URL": "mysql://x"},
		{"KIZUNA_SQLITE_SYNCHRONOUS": "OFF"},
		{"KIZUNA_LOG_FORMAT": "xml"},
	} {
		c := DefaultConfig()
		c.applyEnv(func(k string) string { return bad[k] })
		if c.Validate() == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	c = DefaultConfig()
	if err := c.applyEnv(func(k string) string { return map[string]string{"KIZUNA_OPEN_SIGNUP": "maybe"}[k] }); err == nil {
		t.Error("KIZUNA_OPEN_SIGNUP=maybe accepted")
	}
}
