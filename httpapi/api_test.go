package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kizuna-chat/kizuna/httpapi"
	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/service"
	"github.com/kizuna-chat/kizuna/sqlstore"
)

// fastHash keeps argon2id cheap in tests; production uses password.OWASP.
var fastHash = password.Params{MemoryKiB: 64, Time: 1, Threads: 1}

// world is a running API over a fresh store with two tenants:
// Acme (acme.example and a department domain dept.acme.example) and
// Partner Co (partner.example).
type world struct {
	t      *testing.T
	srv    *httptest.Server
	store  *sqlstore.DB
	svc    *service.Services
	api    *httpapi.Server
	tokens map[string]string // actor name → session token
	ids    map[string]string // actor name → account ID
}

const ownerPassword = "owner passphrase 1"

func newWorld(t *testing.T, open func(testing.TB) *sqlstore.DB, opts ...func(*service.Config)) *world {
	t.Helper()
	st := open(t)
	cfg := service.Config{}
	for _, o := range opts {
		o(&cfg)
	}
	svc := service.New(st, password.NewHasher(fastHash, 0), cfg, slog.New(slog.DiscardHandler))
	api := httpapi.New(svc, slog.New(slog.DiscardHandler), "http://kizuna.test", st)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	t.Cleanup(svc.Close)
	w := &world{t: t, srv: srv, store: st, svc: svc, api: api, tokens: map[string]string{}, ids: map[string]string{}}
	ctx := context.Background()
	for _, tn := range []struct{ name, domain, owner, actor string }{
		{"Acme", "acme.example", "boss", "owner"},
		{"Partner Co", "partner.example", "tanaka", "other_admin"},
	} {
		if _, err := svc.Tenants.Create(ctx, service.NewTenant{TenantName: tn.name, Domain: tn.domain, OwnerLocal: tn.owner, OwnerPassword: ownerPassword}); err != nil {
			t.Fatalf("creating %s: %v", tn.name, err)
		}
		w.signIn(tn.actor, tn.owner+"@"+tn.domain, ownerPassword)
	}
	w.must("owner", "POST", "/api/v1/domains", `{"name":"dept.acme.example"}`, 201)
	w.addMember("admin", "adm", "acme.example", "admin")
	w.addMember("member", "sato", "dept.acme.example", "member")
	return w
}

// addMember adds a member as the owner and takes it through the forced
// password change, so the actor has a full session.
func (w *world) addMember(actor, local, domain, role string) {
	w.t.Helper()
	var added struct {
		Member          struct{ ID string } `json:"member"`
		InitialPassword string              `json:"initial_password"`
	}
	w.decode(w.must("owner", "POST", "/api/v1/members", `{"local":"`+local+`","domain":"`+domain+`","role":"`+role+`"}`, 201), &added)
	w.signIn(actor+"_pending", local+"@"+domain, added.InitialPassword)
	var s struct{ Token string }
	w.decode(w.must(actor+"_pending", "POST", "/api/v1/me/password", `{"current_password":"`+added.InitialPassword+`","new_password":"a fine new passphrase"}`, 200), &s)
	w.tokens[actor] = s.Token
	w.ids[actor] = added.Member.ID
}

func (w *world) signIn(actor, id, pw string) {
	w.t.Helper()
	var s struct {
		Token   string
		Account struct{ ID string }
	}
	w.decode(w.must("", "POST", "/api/v1/login", `{"id":"`+id+`","password":"`+pw+`"}`, 200), &s)
	w.tokens[actor] = s.Token
	w.ids[actor] = s.Account.ID
}

// do sends a request as an actor ("" for anonymous) and returns status and body.
func (w *world) do(actor, method, path, body string) (int, string) {
	w.t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+path, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if tok := w.tokens[actor]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (w *world) must(actor, method, path, body string, status int) string {
	w.t.Helper()
	got, b := w.do(actor, method, path, body)
	if got != status {
		w.t.Fatalf("%s %s as %q: status %d, want %d: %s", method, path, actor, got, status, b)
	}
	return b
}

func (w *world) decode(body string, v any) {
	w.t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		w.t.Fatalf("decoding %s: %v", body, err)
	}
}

// scenario is one row of a table-driven API test.
type scenario struct {
	name   string
	actor  string
	method string
	path   string // "{member}" etc. are replaced by account IDs
	body   string
	status int
	want   []string // fragments the body must contain
	absent []string // fragments it must not contain
}

func (w *world) run(t *testing.T, scenarios []scenario) {
	for _, sc := range scenarios {
		path := sc.path
		for actor, id := range w.ids {
			path = strings.ReplaceAll(path, "{"+actor+"}", id)
		}
		status, body := w.do(sc.actor, sc.method, path, sc.body)
		if status != sc.status {
			t.Errorf("%s: %s %s as %q: status %d, want %d: %s", sc.name, sc.method, path, sc.actor, status, sc.status, body)
			continue
		}
		if status >= 500 {
			t.Errorf("%s: 5xx: %s", sc.name, body)
		}
		for _, f := range sc.want {
			if !strings.Contains(body, f) {
				t.Errorf("%s: body lacks %q: %s", sc.name, f, body)
			}
		}
		for _, f := range sc.absent {
			if strings.Contains(body, f) {
				t.Errorf("%s: body must not contain %q: %s", sc.name, f, body)
			}
		}
	}
}

func TestAPI(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, eng.Open)
			t.Run("scenarios", func(t *testing.T) { w.run(t, coreScenarios) })
			t.Run("bad input changes nothing", func(t *testing.T) { badInputChangesNothing(t, w) })
			t.Run("pagination", func(t *testing.T) { pagination(t, w) })
			t.Run("member lifecycle", func(t *testing.T) { memberLifecycle(t, w) })
		})
	}
}

var long = strings.Repeat("a", 300)

var coreScenarios = []scenario{
	{"health", "", "GET", "/healthz", "", 200, []string{`"ok"`}, nil},
	{"ready", "", "GET", "/readyz", "", 200, []string{`"ready"`}, nil},
	{"openapi", "", "GET", "/api/openapi.json", "", 200, []string{`"openapi"`}, nil},
	{"unknown route", "", "GET", "/api/v1/nope", "", 404, []string{`"route_not_found"`}, nil},
	{"wrong method", "", "PUT", "/api/v1/members", "", 405, []string{`"method_not_allowed"`}, nil},
	{"anonymous me", "", "GET", "/api/v1/me", "", 401, []string{`"unauthorized"`}, nil},
	{"bad token", "", "GET", "/api/v1/me", "", 401, []string{`"unauthorized"`}, nil},

	{"me", "member", "GET", "/api/v1/me", "", 200, []string{`"sign_in_id":"sato@dept.acme.example"`, `"relation":"internal"`}, nil},
	{"tenant", "member", "GET", "/api/v1/tenant", "", 200, []string{`"name":"Acme"`}, nil},
	{"domains", "member", "GET", "/api/v1/domains", "", 200, []string{`"acme.example"`, `"dept.acme.example"`}, []string{"partner.example"}},

	// Classification (R3): a department domain is internal, another
	// tenant's member is external, with the reason.
	{"department member is internal", "owner", "GET", "/api/v1/members/{member}", "", 200,
		[]string{`"relation":"internal"`, `"relation_reason":"internal: domain dept.acme.example belongs to your tenant Acme"`}, nil},
	{"other tenant's member is external", "owner", "GET", "/api/v1/people/lookup?id=tanaka@partner.example", "", 200,
		[]string{`"relation":"external_member"`, `"relation_reason":"external: domain partner.example belongs to tenant Partner Co"`}, []string{`"role"`, `"status"`}},
	{"lookup is case-insensitive", "member", "GET", "/api/v1/people/lookup?id=TANAKA@Partner.Example", "", 200, []string{`"external_member"`}, nil},
	{"lookup unknown", "member", "GET", "/api/v1/people/lookup?id=nobody@partner.example", "", 404, []string{`"not_found"`}, nil},
	{"lookup malformed", "member", "GET", "/api/v1/people/lookup?id=a%20b@x", "", 422, []string{`"invalid_local_part"`}, nil},
	{"lookup missing", "member", "GET", "/api/v1/people/lookup", "", 400, []string{`"invalid_query"`}, nil},

	// Tenant isolation: another tenant's member answers exactly like a
	// missing one.
	{"other tenant's member by key", "other_admin", "GET", "/api/v1/members/{member}", "", 404, []string{`"not_found"`}, []string{"sato"}},
	{"missing member", "other_admin", "GET", "/api/v1/members/01HZZZZZZZZZZZZZZZZZZZZZZZ", "", 404, []string{`"not_found"`}, nil},
	{"other tenant's list", "other_admin", "GET", "/api/v1/members", "", 200, []string{"tanaka"}, []string{"sato", "boss"}},
	{"suspend other tenant's member", "other_admin", "POST", "/api/v1/members/{member}/suspend", "", 404, nil, nil},
	{"add member in another tenant's domain", "other_admin", "POST", "/api/v1/members", `{"local":"spy","domain":"acme.example"}`, 404, []string{`"domain_not_found"`}, nil},

	// Admin-only acts.
	{"member adds member", "member", "POST", "/api/v1/members", `{"local":"x","domain":"acme.example"}`, 403, []string{`"admin_required"`}, nil},
	{"member adds domain", "member", "POST", "/api/v1/domains", `{"name":"x.example"}`, 403, []string{`"admin_required"`}, nil},
	{"member renames tenant", "member", "PATCH", "/api/v1/tenant", `{"name":"Evil"}`, 403, []string{`"admin_required"`}, nil},
	{"admin makes an owner", "admin", "POST", "/api/v1/members", `{"local":"o2","domain":"acme.example","role":"owner"}`, 403, []string{`"owner_required"`}, nil},
	{"member renames self", "member", "PATCH", "/api/v1/members/{member}", `{"display_name":"Sato Hanako"}`, 200, []string{`"Sato Hanako"`}, nil},
	{"member renames other", "member", "PATCH", "/api/v1/members/{admin}", `{"display_name":"x"}`, 403, []string{`"admin_required"`}, nil},
	{"member grants self admin", "member", "PATCH", "/api/v1/members/{member}", `{"role":"admin"}`, 403, []string{`"admin_required"`}, nil},
	{"owner removes self", "owner", "DELETE", "/api/v1/members/{owner}", "", 422, []string{`"cannot_remove_self"`}, nil},
	{"last owner demoted", "owner", "PATCH", "/api/v1/members/{owner}", `{"role":"member"}`, 409, []string{`"last_owner"`}, nil},

	// Bad input: stable 4xx codes, never 500.
	{"invalid domain spaces", "owner", "POST", "/api/v1/domains", `{"name":"bad domain.example"}`, 422, []string{`"invalid_domain"`}, nil},
	{"leading hyphen", "owner", "POST", "/api/v1/domains", `{"name":"-x.example"}`, 422, []string{`"invalid_domain"`}, nil},
	{"single label", "owner", "POST", "/api/v1/domains", `{"name":"localhost"}`, 422, []string{`"invalid_domain"`}, nil},
	{"too long domain", "owner", "POST", "/api/v1/domains", `{"name":"` + strings.Repeat("abcdefghi.", 26) + `example"}`, 422, []string{`"invalid_domain"`}, nil},
	{"domain of other tenant", "owner", "POST", "/api/v1/domains", `{"name":"partner.example"}`, 409, []string{`"domain_taken"`}, nil},
	{"mixed-case duplicate", "owner", "POST", "/api/v1/domains", `{"name":"Dept.ACME.example"}`, 409, []string{`"domain_taken"`}, nil},
	{"full-width duplicate", "owner", "POST", "/api/v1/domains", `{"name":"ｐａｒｔｎｅｒ.example"}`, 409, []string{`"domain_taken"`}, nil},
	{"malformed json", "owner", "POST", "/api/v1/domains", `{"name":`, 400, []string{`"invalid_json"`}, nil},
	{"unknown field", "owner", "POST", "/api/v1/domains", `{"name":"y.example","x":1}`, 400, []string{`"unknown_field"`}, nil},
	{"wrong type", "owner", "POST", "/api/v1/domains", `{"name":1}`, 400, []string{`"invalid_type"`}, nil},
	{"trailing data", "owner", "POST", "/api/v1/domains", `{"name":"y.example"} {}`, 400, []string{`"invalid_json"`}, nil},
	{"empty body", "owner", "POST", "/api/v1/domains", ``, 400, []string{`"invalid_json"`}, nil},
	{"invalid utf-8", "owner", "POST", "/api/v1/domains", "{\"name\":\"\xff.example\"}", 400, []string{`"invalid_json"`}, nil},
	{"oversize body", "owner", "POST", "/api/v1/domains", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, 413, []string{`"body_too_large"`}, nil},
	{"spaces in local part", "owner", "POST", "/api/v1/members", `{"local":"a b","domain":"acme.example"}`, 422, []string{`"invalid_local_part"`}, nil},
	{"over-long local part", "owner", "POST", "/api/v1/members", `{"local":"` + long + `","domain":"acme.example"}`, 422, []string{`"invalid_local_part"`}, nil},
	{"taken ID", "owner", "POST", "/api/v1/members", `{"local":"SATO","domain":"dept.acme.example"}`, 409, []string{`"id_taken"`}, nil},
	{"same local in another domain", "owner", "POST", "/api/v1/members", `{"local":"sato","domain":"acme.example"}`, 201, []string{`"sato@acme.example"`, `"initial_password"`}, nil},
	{"unknown role", "owner", "POST", "/api/v1/members", `{"local":"r1","domain":"acme.example","role":"king"}`, 422, []string{`"invalid_role"`}, nil},
	{"weak typed password", "owner", "POST", "/api/v1/members", `{"local":"w1","domain":"acme.example","password":"password123"}`, 422, []string{`"weak_password"`}, nil},
	{"empty tenant name", "owner", "PATCH", "/api/v1/tenant", `{"name":"  "}`, 422, []string{`"invalid_tenant_name"`}, nil},
	{"bad limit", "owner", "GET", "/api/v1/members?limit=abc", "", 400, []string{`"invalid_query"`}, nil},
	{"huge limit", "owner", "GET", "/api/v1/members?limit=100000", "", 422, []string{`"invalid_limit"`}, nil},

	// Sign-in.
	{"wrong password", "", "POST", "/api/v1/login", `{"id":"boss@acme.example","password":"nope nope nope"}`, 401, []string{`"invalid_credentials"`}, nil},
	{"unknown id", "", "POST", "/api/v1/login", `{"id":"ghost@acme.example","password":"nope nope nope"}`, 401, []string{`"invalid_credentials"`}, nil},
	{"malformed id", "", "POST", "/api/v1/login", `{"id":"@@","password":"x"}`, 401, []string{`"invalid_credentials"`}, nil},
	{"setup after setup", "", "POST", "/api/v1/setup", `{"setup_token":"x","tenant_name":"T","domain":"t.example","owner_local":"o"}`, 403, []string{`"setup_done"`}, nil},
	{"signup closed", "", "POST", "/api/v1/tenants", `{"tenant_name":"T","domain":"t.example","owner_local":"o"}`, 403, []string{`"signup_closed"`}, nil},
}

// badInputChangesNothing checks that refused requests leave the store as it was.
func badInputChangesNothing(t *testing.T, w *world) {
	before := w.must("owner", "GET", "/api/v1/domains", "", 200)
	membersBefore := w.must("owner", "GET", "/api/v1/members?limit=500", "", 200)
	for _, body := range []string{`{"name":"partner.example"}`, `{"name":"-x.example"}`, `{"name":`, `{"name":"ok.example","bad":1}`} {
		w.do("owner", "POST", "/api/v1/domains", body)
	}
	for _, body := range []string{`{"local":"sato","domain":"dept.acme.example"}`, `{"local":"x","domain":"partner.example"}`, `{"local":"","domain":"acme.example"}`} {
		w.do("owner", "POST", "/api/v1/members", body)
	}
	if after := w.must("owner", "GET", "/api/v1/domains", "", 200); after != before {
		t.Errorf("domains changed:\n%s\n%s", before, after)
	}
	if after := w.must("owner", "GET", "/api/v1/members?limit=500", "", 200); after != membersBefore {
		t.Errorf("members changed:\n%s\n%s", membersBefore, after)
	}
}

func pagination(t *testing.T, w *world) {
	for i := 0; i < 7; i++ {
		w.must("owner", "POST", "/api/v1/members", `{"local":"page`+string(rune('a'+i))+`","domain":"acme.example"}`, 201)
	}
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		var page struct {
			Items []struct {
				ID       string
				SignInID string `json:"sign_in_id"`
			}
			NextCursor string `json:"next_cursor"`
		}
		w.decode(w.must("owner", "GET", "/api/v1/members?limit=3&cursor="+cursor, "", 200), &page)
		pages++
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatalf("member %s listed twice", it.SignInID)
			}
			seen[it.ID] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	var all struct{ Items []any }
	w.decode(w.must("owner", "GET", "/api/v1/members?limit=500", "", 200), &all)
	if len(seen) != len(all.Items) || pages < 3 {
		t.Errorf("paged %d members in %d pages, listed %d at once", len(seen), pages, len(all.Items))
	}
}

func memberLifecycle(t *testing.T, w *world) {
	w.addMember("temp", "temp", "acme.example", "member")
	w.must("temp", "GET", "/api/v1/me", "", 200)
	// Suspension signs the member out everywhere and blocks sign-in.
	w.must("admin", "POST", "/api/v1/members/"+w.ids["temp"]+"/suspend", "", 200)
	w.must("temp", "GET", "/api/v1/me", "", 401)
	if st, b := w.do("", "POST", "/api/v1/login", `{"id":"temp@acme.example","password":"a fine new passphrase"}`); st != 403 || !strings.Contains(b, "account_suspended") {
		t.Errorf("suspended sign-in: %d %s", st, b)
	}
	w.must("admin", "POST", "/api/v1/members/"+w.ids["temp"]+"/restore", "", 200)
	w.signIn("temp", "temp@acme.example", "a fine new passphrase")
	// Deleting frees the ID: the person can be added again (R13).
	w.must("admin", "DELETE", "/api/v1/members/"+w.ids["temp"], "", 204)
	w.must("temp", "GET", "/api/v1/me", "", 401)
	w.must("admin", "GET", "/api/v1/members/"+w.ids["temp"], "", 404)
	w.must("admin", "POST", "/api/v1/members", `{"local":"temp","domain":"acme.example"}`, 201)
	// Sign-out ends only that session.
	w.signIn("boss2", "boss@acme.example", ownerPassword)
	w.must("boss2", "POST", "/api/v1/logout", "", 204)
	w.must("boss2", "GET", "/api/v1/me", "", 401)
	w.must("owner", "GET", "/api/v1/me", "", 200)
}

func TestForcedPasswordChange(t *testing.T) {
	w := newWorld(t, testdb.SQLite)
	var added struct {
		InitialPassword string `json:"initial_password"`
	}
	w.decode(w.must("owner", "POST", "/api/v1/members", `{"local":"newbie","domain":"acme.example"}`, 201), &added)
	w.signIn("newbie", "newbie@acme.example", added.InitialPassword)
	// The first session may do nothing but change the password (R6).
	for _, path := range []string{"/api/v1/members", "/api/v1/tenant", "/api/v1/domains"} {
		if st, b := w.do("newbie", "GET", path, ""); st != 403 || !strings.Contains(b, "password_change_required") {
			t.Errorf("GET %s before the change: %d %s", path, st, b)
		}
	}
	w.must("newbie", "GET", "/api/v1/me", "", 200)
	w.run(t, []scenario{
		{"reuse", "newbie", "POST", "/api/v1/me/password", `{"current_password":"` + added.InitialPassword + `","new_password":"` + added.InitialPassword + `"}`, 422, []string{`"password_reused"`}, nil},
		{"weak", "newbie", "POST", "/api/v1/me/password", `{"current_password":"` + added.InitialPassword + `","new_password":"short"}`, 422, []string{`"weak_password"`}, nil},
		{"contains ID", "newbie", "POST", "/api/v1/me/password", `{"current_password":"` + added.InitialPassword + `","new_password":"newbie-is-me-2026"}`, 422, []string{`"weak_password"`}, nil},
		{"wrong current", "newbie", "POST", "/api/v1/me/password", `{"current_password":"wrong","new_password":"a fine new passphrase"}`, 401, []string{`"invalid_credentials"`}, nil},
	})
	var s struct{ Token string }
	w.decode(w.must("newbie", "POST", "/api/v1/me/password", `{"current_password":"`+added.InitialPassword+`","new_password":"a fine new passphrase"}`, 200), &s)
	// The old session is gone, the new one works, the initial password never works again.
	w.must("newbie", "GET", "/api/v1/me", "", 401)
	w.tokens["newbie"] = s.Token
	w.must("newbie", "GET", "/api/v1/members", "", 200)
	w.must("", "POST", "/api/v1/login", `{"id":"newbie@acme.example","password":"`+added.InitialPassword+`"}`, 401)
	w.signIn("newbie", "newbie@acme.example", "a fine new passphrase")
}

func TestOpenSignup(t *testing.T) {
	w := newWorld(t, testdb.SQLite, func(c *service.Config) { c.OpenSignup = true })
	body := w.must("", "POST", "/api/v1/tenants", `{"tenant_name":"Joint Project","domain":"project.example","owner_local":"lead"}`, 201)
	var created struct {
		InitialPassword string `json:"initial_password"`
	}
	w.decode(body, &created)
	if created.InitialPassword == "" {
		t.Fatal("no initial password")
	}
	w.run(t, []scenario{
		{"domain taken", "", "POST", "/api/v1/tenants", `{"tenant_name":"X","domain":"ACME.example","owner_local":"x"}`, 409, []string{`"domain_taken"`}, nil},
	})
	// A failed tenant creation leaves no tenant behind.
	if n, err := w.store.CountTenants(context.Background()); err != nil || n != 3 {
		t.Errorf("tenants: %d, %v; want 3", n, err)
	}
}

func TestSetupToken(t *testing.T) {
	st := testdb.SQLite(t)
	svc := service.New(st, password.NewHasher(fastHash, 0), service.Config{}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(httpapi.New(svc, slog.New(slog.DiscardHandler), "http://kizuna.test", st))
	defer srv.Close()
	token, err := svc.Tenants.SetupToken(context.Background())
	if err != nil || token == "" {
		t.Fatalf("setup token: %q %v", token, err)
	}
	post := func(tok string) (int, string) {
		res, err := http.Post(srv.URL+"/api/v1/setup", "application/json", bytes.NewBufferString(`{"setup_token":"`+tok+`","tenant_name":"Acme","domain":"acme.example","owner_local":"admin"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if st, b := post("wrong"); st != 401 || !strings.Contains(b, "invalid_setup_token") {
		t.Errorf("wrong token: %d %s", st, b)
	}
	if st, b := post(token); st != 201 || !strings.Contains(b, `"admin@acme.example"`) {
		t.Errorf("setup: %d %s", st, b)
	}
	if st, b := post(token); st != 403 || !strings.Contains(b, "setup_done") {
		t.Errorf("second setup: %d %s", st, b)
	}
	if again, _ := svc.Tenants.SetupToken(context.Background()); again != "" {
		t.Error("a set-up server printed a new setup token")
	}
}
