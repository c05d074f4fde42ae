package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kizuna-chat/kizuna/httpapi"
	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/service"
	"github.com/kizuna-chat/kizuna/sqlstore"
	"github.com/kizuna-chat/kizuna/web"
)

// browserClient is an HTTP client that behaves like the page: a cookie
// jar, and the CSRF token from GET /web/session echoed on changes.
type browserClient struct {
	t    *testing.T
	url  string
	http *http.Client
	csrf string
}

func newSite(t *testing.T, open func(testing.TB) *sqlstore.DB) (*httptest.Server, *service.Services) {
	t.Helper()
	st := open(t)
	log := slog.New(slog.DiscardHandler)
	svc := service.New(st, password.NewHasher(fastHash, 0), service.Config{}, log)
	api := httpapi.New(svc, log, "http://kizuna.test", st)
	srv := httptest.NewServer(web.New(api, svc.Auth, log, "http://kizuna.test"))
	t.Cleanup(func() { api.CloseStreams(); srv.Close(); svc.Close() })
	return srv, svc
}

func newBrowserClient(t *testing.T, url string) *browserClient {
	jar, _ := cookiejar.New(nil)
	b := &browserClient{t: t, url: url, http: &http.Client{Jar: jar}}
	b.refresh()
	return b
}

type sessionBody struct {
	Accounts []struct {
		AccountID              string `json:"account_id"`
		SignInID               string `json:"sign_in_id"`
		PasswordChangeRequired bool   `json:"password_change_required"`
	} `json:"accounts"`
	CSRFToken string `json:"csrf_token"`
}

func (b *browserClient) refresh() sessionBody {
	b.t.Helper()
	var s sessionBody
	st, body := b.do("GET", "/web/session", "", nil)
	if st != 200 {
		b.t.Fatalf("GET /web/session: %d %s", st, body)
	}
	json.Unmarshal([]byte(body), &s)
	b.csrf = s.CSRFToken
	return s
}

// do sends a request with the CSRF header (unless headers override it).
func (b *browserClient) do(method, path, body string, headers map[string]string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.url+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.csrf != "" {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

func (b *browserClient) must(method, path, body string, headers map[string]string, want int) string {
	b.t.Helper()
	st, out := b.do(method, path, body, headers)
	if st != want {
		b.t.Fatalf("%s %s: got %d, want %d: %s", method, path, st, want, out)
	}
	return out
}

// TestBrowserSession covers the cookie session on both engines: sign-in
// without the page ever seeing a token, CSRF on every change, acting as a
// chosen account, five accounts at most, a password change rotating the
// cookie, signing one account out, and API clients with bearer tokens
// passing untouched.
func TestBrowserSession(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			srv, svc := newSite(t, eng.Open)
			ctx := context.Background()
			_, err := svc.Tenants.Create(ctx, service.NewTenant{TenantName: "Acme", Domain: "acme.example", OwnerLocal: "boss", OwnerPassword: "owner passphrase 1"})
			if err != nil {
				t.Fatal(err)
			}
			b := newBrowserClient(t, srv.URL)

			// Signing in answers the account, never a token; the cookies
			// are HttpOnly and SameSite=Strict.
			req, _ := http.NewRequest("POST", srv.URL+"/web/session", strings.NewReader(`{"id":"boss@acme.example","password":"owner passphrase 1"}`))
			req.Header.Set("X-CSRF-Token", b.csrf)
			for _, c := range b.http.Jar.Cookies(req.URL) {
				req.AddCookie(c)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || strings.Contains(string(body), "kzs_") || strings.Contains(string(body), "token") {
				t.Fatalf("sign-in answer: %d %s", res.StatusCode, body)
			}
			for _, c := range res.Cookies() {
				if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
					t.Errorf("cookie %s: HttpOnly %v SameSite %v", c.Name, c.HttpOnly, c.SameSite)
				}
			}
			b.http.Jar.SetCookies(req.URL, res.Cookies())
			s := b.refresh()
			if len(s.Accounts) != 1 || s.Accounts[0].SignInID != "boss@acme.example" {
				t.Fatalf("session: %+v", s)
			}
			boss := s.Accounts[0].AccountID

			// The API answers the page through its cookies.
			if out := b.must("GET", "/api/v1/me", "", nil, 200); !strings.Contains(out, "boss@acme.example") {
				t.Fatalf("me: %s", out)
			}
			// A change without the CSRF token, with a wrong one, or from
			// another origin is refused, and nothing changes.
			for name, h := range map[string]map[string]string{
				"no token":     {"X-CSRF-Token": ""},
				"wrong token":  {"X-CSRF-Token": "x" + b.csrf},
				"other origin": {"Origin": "https://evil.example"},
			} {
				st, out := b.do("POST", "/api/v1/members", `{"local":"mallory","domain":"acme.example","display_name":"M"}`, h)
				if st != 403 || !strings.Contains(out, `"csrf_failed"`) {
					t.Errorf("%s: %d %s", name, st, out)
				}
				st, out = b.do("DELETE", "/web/session/"+boss, "", h)
				if st != 403 {
					t.Errorf("%s sign-out: %d %s", name, st, out)
				}
			}
			if out := b.must("GET", "/api/v1/members?q=mallory", "", nil, 200); strings.Contains(out, "mallory") {
				t.Fatalf("a refused request added a member: %s", out)
			}
			// With the token it works.
			var added struct {
				Member struct {
					SignInID string `json:"sign_in_id"`
				} `json:"member"`
				InitialPassword string `json:"initial_password"`
			}
			json.Unmarshal([]byte(b.must("POST", "/api/v1/members", `{"local":"sato","domain":"acme.example","display_name":"Sato"}`, nil, 201)), &added)

			// Add the member as a second account: forced password change
			// first; the page acts as whichever account it names.
			b.must("POST", "/web/session", `{"id":"sato@acme.example","password":"`+added.InitialPassword+`"}`, nil, 200)
			s = b.refresh()
			if len(s.Accounts) != 2 || !s.Accounts[1].PasswordChangeRequired {
				t.Fatalf("after second sign-in: %+v", s)
			}
			sato := s.Accounts[1].AccountID
			st, out := b.do("GET", "/api/v1/rooms", "", map[string]string{"X-Kizuna-Account": sato})
			if st != 403 || !strings.Contains(out, "password_change_required") {
				t.Fatalf("change-only session: %d %s", st, out)
			}
			b.must("POST", "/web/session/"+sato+"/password", `{"current_password":"`+added.InitialPassword+`","new_password":"a brand new passphrase"}`, nil, 200)
			if out := b.must("GET", "/api/v1/me", "", map[string]string{"X-Kizuna-Account": sato}, 200); !strings.Contains(out, "sato@acme.example") {
				t.Fatalf("as sato: %s", out)
			}
			if out := b.must("GET", "/api/v1/me?as="+sato, "", nil, 200); !strings.Contains(out, "sato@acme.example") {
				t.Fatalf("GET ?as=: %s", out)
			}
			if s = b.refresh(); s.Accounts[1].PasswordChangeRequired {
				t.Fatal("the jar kept the change-only session")
			}
			// The event stream's handshake carries the cookies; another
			// site's page cannot open it (cross-site WebSocket hijacking).
			ws := map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
				"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": "https://evil.example"}
			if st, out := b.do("GET", "/api/v1/events?as="+sato, "", ws); st != 403 || !strings.Contains(out, "csrf_failed") {
				t.Fatalf("cross-site stream: %d %s", st, out)
			}
			req, _ = http.NewRequest("GET", srv.URL+"/api/v1/events?as="+sato, nil)
			for k, v := range ws {
				req.Header.Set(k, v)
			}
			req.Header.Set("Origin", srv.URL)
			res, err = b.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close() // the upgraded connection: don't read it
			if res.StatusCode != 101 {
				t.Fatalf("same-site stream: %d", res.StatusCode)
			}

			// An account the browser does not hold cannot be named.
			if st, out := b.do("GET", "/api/v1/me", "", map[string]string{"X-Kizuna-Account": "01NOTHELD"}); st != 401 || !strings.Contains(out, "account_not_held") {
				t.Fatalf("not held: %d %s", st, out)
			}

			// Five accounts at most; the sixth is refused with
			// too_many_accounts and the five stay.
			for _, local := range []string{"m3", "m4", "m5", "m6"} {
				var a struct {
					InitialPassword string `json:"initial_password"`
				}
				json.Unmarshal([]byte(b.must("POST", "/api/v1/members", `{"local":"`+local+`","domain":"acme.example","display_name":"`+local+`"}`, map[string]string{"X-Kizuna-Account": boss}, 201)), &a)
				want := 200
				if local == "m6" {
					want = 409
				}
				out := b.must("POST", "/web/session", `{"id":"`+local+`@acme.example","password":"`+a.InitialPassword+`"}`, nil, want)
				if want == 409 && !strings.Contains(out, `"too_many_accounts"`) {
					t.Fatalf("sixth: %s", out)
				}
			}
			if s = b.refresh(); len(s.Accounts) != 5 {
				t.Fatalf("held %d accounts", len(s.Accounts))
			}

			// Signing one out frees its place and leaves the others.
			b.must("DELETE", "/web/session/"+sato, "", nil, 204)
			if s = b.refresh(); len(s.Accounts) != 4 {
				t.Fatalf("after sign-out: %d", len(s.Accounts))
			}
			if st, _ := b.do("GET", "/api/v1/me", "", map[string]string{"X-Kizuna-Account": sato}); st != 401 {
				t.Fatalf("signed-out account still acts: %d", st)
			}

			// An API client with its own bearer token passes untouched
			// and needs no CSRF token.
			si, err := svc.Auth.Login(ctx, service.LoginInput{ID: "boss@acme.example", Password: "owner passphrase 1"})
			if err != nil {
				t.Fatal(err)
			}
			api := &browserClient{t: t, url: srv.URL, http: &http.Client{}}
			api.must("PATCH", "/api/v1/tenant", `{"name":"Acme Corp"}`, map[string]string{"Authorization": "Bearer " + si.Token}, 200)
		})
	}
}

// TestPageHeaders: the page and its assets carry a Content-Security-Policy
// without inline script, refuse framing, and revalidate with ETags.
func TestPageHeaders(t *testing.T) {
	srv, _ := newSite(t, testdb.SQLite)
	for _, path := range []string{"/", "/assets/js/main.js", "/assets/css/app.css", "/assets/i18n/ja/common.json"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		csp := res.Header.Get("Content-Security-Policy")
		if res.StatusCode != 200 || !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-eval") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d CSP %q", path, res.StatusCode, csp)
		}
		etag := res.Header.Get("ETag")
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("If-None-Match", etag)
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if etag == "" || res.StatusCode != 304 {
			t.Errorf("%s: ETag %q, revalidation %d", path, etag, res.StatusCode)
		}
	}
	for _, path := range []string{"/assets/nothing.js", "/assets/index.html", "/index.html"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
	}
	// No script in the page is inline: the CSP would block it.
	res, _ := http.Get(srv.URL + "/")
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(page), "<script>") || strings.Count(string(page), "<script") != 1 {
		t.Errorf("the page has inline script:\n%s", page)
	}
}
