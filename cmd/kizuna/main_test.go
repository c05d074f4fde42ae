package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/internal/smtptest"
	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/service"
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
	env := map[string]string{"KIZUNA_ADDR": "0.0.0.0:9000", "KIZUNA_DATA": "/var/lib/kizuna", "KIZUNA_OPEN_SIGNUP": "true", "KIZUNA_SQLITE_WAL_RESTART": "64MiB"}
	c := DefaultConfig()
	if err := c.applyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9000" || c.DataDir != "/var/lib/kizuna" || !c.OpenSignup || c.UsesPostgres() || c.SQLiteWALRestartMiB != 64 {
		t.Errorf("env not applied: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid env refused: %v", err)
	}
	for _, bad := range []map[string]string{
		{"KIZUNA_DATABASE_URL": "mysql://x"},
		{"KIZUNA_SQLITE_SYNCHRONOUS": "OFF"},
		{"KIZUNA_SQLITE_WAL_RESTART": "1"},
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
	c = DefaultConfig()
	if err := c.applyEnv(func(k string) string { return map[string]string{"KIZUNA_SQLITE_WAL_RESTART": "big"}[k] }); err == nil {
		t.Error("KIZUNA_SQLITE_WAL_RESTART=big accepted")
	}
}

// TestInvitationMail runs the real server against a real SMTP server: an
// admin adds a member with send_invitation and the mail arrives with the
// ID, the initial password and the sign-in URL, without the admin's
// request waiting for it.
func TestInvitationMail(t *testing.T) {
	srv := smtptest.Start(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.DataDir = t.TempDir()
	c.SMTPURL = fmt.Sprintf("smtp://%s:%s@%s?tls=starttls&from=kizuna@acme.example&ca=%s", srv.Username, srv.Password, srv.Addr, ca)
	m, _ := runMain(t, c)
	if _, err := m.Services.Tenants.Create(context.Background(), service.NewTenant{TenantName: "Acme", Domain: "acme.example", OwnerLocal: "boss", OwnerPassword: "a strong owner phrase"}); err != nil {
		t.Fatal(err)
	}
	_, login := post(t, m.URL()+"/api/v1/login", `{"id":"boss@acme.example","password":"a strong owner phrase"}`)
	token, _ := login["token"].(string)
	req, _ := http.NewRequest("POST", m.URL()+"/api/v1/members", strings.NewReader(`{"local":"sato","domain":"acme.example","display_name":"佐藤","contact_mail":"sato@mail.example","send_invitation":true}`))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var added struct {
		InitialPassword string `json:"initial_password"`
	}
	json.NewDecoder(res.Body).Decode(&added)
	res.Body.Close()
	if res.StatusCode != 201 || added.InitialPassword == "" {
		t.Fatalf("add member: %d", res.StatusCode)
	}
	got := srv.Wait(1, 10*time.Second)
	if len(got) != 1 || got[0].To[0] != "sato@mail.example" {
		t.Fatalf("received %+v", got)
	}
	body := got[0].Data
	for _, want := range []string{"sato@acme.example", added.InitialPassword, m.URL()} {
		if !strings.Contains(strings.ReplaceAll(body, "=\r\n", ""), want) {
			t.Errorf("the mail lacks %q:\n%s", want, body)
		}
	}
}
