package httpapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kizuna-chat/kizuna/httpapi"
	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/service"
)

// lockedBuffer collects log output from concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSecretsStayOut runs every flow that handles a password or a token —
// set-up, typed and generated initial passwords, wrong and right
// sign-ins, the forced change, reissue, invite links — with debug logging
// on, then looks for each secret in the logs, in the audit log export, and
// in every text column of every table of the database: none may appear.
func TestSecretsStayOut(t *testing.T) {
	st := testdb.SQLite(t)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc := service.New(st, password.NewHasher(fastHash, 0), service.Config{}, log)
	t.Cleanup(svc.Close)
	srv := httptest.NewServer(httpapi.New(svc, log, "http://kizuna.test", st))
	t.Cleanup(srv.Close)
	w := &world{t: t, srv: srv, store: st, svc: svc, tokens: map[string]string{}, ids: map[string]string{}}

	secrets := []string{ownerPassword, "a fine new passphrase", "typed initial pass 7", "wrong guess passphrase", "invitee passphrase 3"}
	if _, err := svc.Tenants.Create(context.Background(), service.NewTenant{TenantName: "Acme", Domain: "acme.example", OwnerLocal: "boss", OwnerPassword: ownerPassword}); err != nil {
		t.Fatal(err)
	}
	w.signIn("owner", "boss@acme.example", ownerPassword)
	secrets = append(secrets, w.tokens["owner"])
	w.do("", "POST", "/api/v1/login", `{"id":"boss@acme.example","password":"wrong guess passphrase"}`)
	w.do("", "POST", "/api/v1/login", `{"id":"nobody@acme.example","password":"wrong guess passphrase"}`)

	var added struct {
		Member          struct{ ID string } `json:"member"`
		InitialPassword string              `json:"initial_password"`
	}
	w.decode(w.must("owner", "POST", "/api/v1/members", `{"local":"sato","domain":"acme.example","password":"typed initial pass 7"}`, 201), &added)
	w.signIn("pending", "sato@acme.example", "typed initial pass 7")
	secrets = append(secrets, w.tokens["pending"])
	w.must("pending", "POST", "/api/v1/me/password", `{"current_password":"typed initial pass 7","new_password":"a fine new passphrase"}`, 200)
	var re struct {
		InitialPassword string `json:"initial_password"`
	}
	w.decode(w.must("owner", "POST", "/api/v1/members/"+added.Member.ID+"/reissue", `{}`, 200), &re)
	if re.InitialPassword == "" {
		t.Fatal("the reissue showed no password")
	}
	secrets = append(secrets, re.InitialPassword)
	var link struct{ Code string }
	w.decode(w.must("owner", "POST", "/api/v1/invite-links", `{}`, 201), &link)
	secrets = append(secrets, link.Code)
	w.must("", "POST", "/api/v1/invites/"+link.Code+"/accept", `{"local":"newbie","domain":"acme.example","password":"invitee passphrase 3"}`, 201)

	audit := w.must("owner", "GET", "/api/v1/audit/export?format=jsonl", "", 200)
	if !strings.Contains(audit, "member.reissue") && !strings.Contains(audit, "reissue") {
		t.Fatalf("the audit export misses the reissue: %s", audit)
	}
	tables := dumpTextColumns(t, w)
	if !strings.Contains(tables, "newbie") || !strings.Contains(logs.String(), "/api/v1/login") {
		t.Fatal("the database dump or the logs are empty: the search below would prove nothing")
	}
	for _, s := range secrets {
		for where, text := range map[string]string{"the logs": logs.String(), "the audit export": audit, "the database": tables} {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the secret %q", where, s)
			}
		}
	}
}

// dumpTextColumns returns every text value of every table, concatenated.
func dumpTextColumns(t *testing.T, w *world) string {
	db := w.store.WriteDB()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	var out strings.Builder
	for _, n := range names {
		rs, err := db.Query(`SELECT * FROM "` + n + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rs.Next() {
			rs.Scan(ptrs...)
			for _, v := range vals {
				switch x := v.(type) {
				case string:
					out.WriteString(x + "\n")
				case []byte:
					out.Write(x)
					out.WriteString("\n")
				}
			}
		}
		rs.Close()
	}
	return out.String()
}
