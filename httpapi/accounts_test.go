package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/service"
	"github.com/kizuna-chat/kizuna/store"
)

func TestReissueRevokesLiveSession(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			w := newWorld(t, eng.Open)
			w.must("member", "GET", "/api/v1/members", "", 200)
			var re struct {
				InitialPassword string `json:"initial_password"`
				SheetTicket     string `json:"sheet_ticket"`
			}
			w.decode(w.must("admin", "POST", "/api/v1/members/"+w.ids["member"]+"/reissue", "", 200), &re)
			// The very next request of the member's live session fails.
			if st, b := w.do("member", "GET", "/api/v1/members", ""); st != 401 || !strings.Contains(b, "invalid_session") {
				t.Fatalf("session after reissue: %d %s", st, b)
			}
			// The old password no longer works; the new one opens a
			// password-change-only session.
			w.must("", "POST", "/api/v1/login", `{"id":"sato@dept.acme.example","password":"a fine new passphrase"}`, 401)
			w.signIn("member", "sato@dept.acme.example", re.InitialPassword)
			w.must("member", "GET", "/api/v1/members", "", 403)
			// Reissuing again makes the previous initial password useless.
			var re2 struct {
				InitialPassword string `json:"initial_password"`
			}
			w.decode(w.must("admin", "POST", "/api/v1/members/"+w.ids["member"]+"/reissue", "", 200), &re2)
			w.must("", "POST", "/api/v1/login", `{"id":"sato@dept.acme.example","password":"`+re.InitialPassword+`"}`, 401)
			w.signIn("member", "sato@dept.acme.example", re2.InitialPassword)
			// Only admins reissue; another tenant's admin cannot even see the member.
			w.must("member", "POST", "/api/v1/members/"+w.ids["admin"]+"/reissue", "", 403)
			w.must("other_admin", "POST", "/api/v1/members/"+w.ids["member"]+"/reissue", "", 404)
		})
	}
}

func TestInvitationSheets(t *testing.T) {
	w := newWorld(t, testdb.SQLite)
	var added struct {
		Member          struct{ ID string } `json:"member"`
		InitialPassword string              `json:"initial_password"`
		SheetTicket     string              `json:"sheet_ticket"`
	}
	w.decode(w.must("owner", "POST", "/api/v1/members", `{"local":"kato","domain":"acme.example","display_name":"加藤 <b>"}`, 201), &added)
	html := w.must("owner", "POST", "/api/v1/sheets", `{"ticket":"`+added.SheetTicket+`","format":"html"}`, 200)
	for _, want := range []string{"kato@acme.example", added.InitialPassword, "加藤 &lt;b&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("fresh sheet lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") {
		t.Error("sheet holds a script")
	}
	pdf := w.must("owner", "POST", "/api/v1/sheets", `{"ticket":"`+added.SheetTicket+`","format":"pdf"}`, 200)
	if !strings.HasPrefix(pdf, "%PDF-") {
		t.Errorf("not a PDF: %.20q", pdf)
	}
	csv := w.must("owner", "POST", "/api/v1/sheets", `{"ticket":"`+added.SheetTicket+`","format":"csv"}`, 200)
	if !strings.Contains(csv, "kato@acme.example,") || !strings.Contains(csv, added.InitialPassword) {
		t.Errorf("password CSV: %s", csv)
	}
	// A later sheet, without the ticket, shows no password.
	later := w.must("owner", "GET", "/api/v1/members/"+added.Member.ID+"/sheet?format=html", "", 200)
	if strings.Contains(later, added.InitialPassword) || !strings.Contains(later, "kato@acme.example") {
		t.Error("a later sheet showed the password or lost the ID")
	}
	// Once the member has changed the password, even the ticket shows none.
	w.signIn("kato", "kato@acme.example", added.InitialPassword)
	w.must("kato", "POST", "/api/v1/me/password", `{"current_password":"`+added.InitialPassword+`","new_password":"a private passphrase"}`, 200)
	after := w.must("owner", "POST", "/api/v1/sheets", `{"ticket":"`+added.SheetTicket+`"}`, 200)
	if strings.Contains(after, added.InitialPassword) {
		t.Error("the sheet still shows a password that was changed")
	}
	w.run(t, []scenario{
		{"forged ticket", "owner", "POST", "/api/v1/sheets", `{"ticket":"kzt_forged"}`, 404, []string{`"sheet_expired"`}, nil},
		{"other tenant's ticket", "other_admin", "POST", "/api/v1/sheets", `{"ticket":"` + added.SheetTicket + `"}`, 404, []string{`"sheet_expired"`}, nil},
		{"member prints", "member", "POST", "/api/v1/sheets", `{"ticket":"` + added.SheetTicket + `"}`, 403, []string{`"admin_required"`}, nil},
		{"bad format", "owner", "GET", "/api/v1/members/{member}/sheet?format=docx", "", 422, []string{`"invalid_format"`}, nil},
	})
}

func TestFiveAccountsPerClient(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			w := newWorld(t, eng.Open)
			var c struct {
				ClientToken string `json:"client_token"`
			}
			w.decode(w.must("", "POST", "/api/v1/clients", "", 201), &c)
			ids := []string{"boss@acme.example", "tanaka@partner.example"}
			pws := []string{ownerPassword, ownerPassword}
			for _, local := range []string{"c1", "c2", "c3", "c4"} {
				w.addMember(local, local, "acme.example", "member")
				ids, pws = append(ids, local+"@acme.example"), append(pws, "a fine new passphrase")
			}
			tokens := map[string]string{}
			for i := 0; i < 5; i++ {
				var s struct{ Token string }
				w.decode(w.must("", "POST", "/api/v1/login", `{"id":"`+ids[i]+`","password":"`+pws[i]+`","client_token":"`+c.ClientToken+`"}`, 200), &s)
				tokens[ids[i]] = s.Token
			}
			// Signing in again with an account the client holds replaces it.
			w.must("", "POST", "/api/v1/login", `{"id":"`+ids[0]+`","password":"`+pws[0]+`","client_token":"`+c.ClientToken+`"}`, 200)
			// The sixth is refused, with the list of what the client holds.
			st, body := w.do("", "POST", "/api/v1/login", `{"id":"`+ids[5]+`","password":"`+pws[5]+`","client_token":"`+c.ClientToken+`"}`)
			if st != 409 || !strings.Contains(body, `"too_many_accounts"`) {
				t.Fatalf("sixth account: %d %s", st, body)
			}
			var refusal struct {
				Error struct {
					Details struct {
						MaxAccounts int `json:"max_accounts"`
						Accounts    []struct {
							SignInID string `json:"sign_in_id"`
						}
					}
				}
			}
			json.Unmarshal([]byte(body), &refusal)
			if refusal.Error.Details.MaxAccounts != 5 || len(refusal.Error.Details.Accounts) != 5 {
				t.Errorf("refusal details: %s", body)
			}
			// All five work side by side: switching needs no sign-in.
			w.tokens["acct2"] = tokens[ids[1]]
			w.tokens["acct3"] = tokens[ids[2]]
			w.must("acct2", "GET", "/api/v1/me", "", 200)
			w.must("acct3", "GET", "/api/v1/me", "", 200)
			list := w.must("acct2", "GET", "/api/v1/client/accounts", "", 200)
			if strings.Count(list, `"sign_in_id"`) != 5 {
				t.Errorf("client accounts: %s", list)
			}
			// Signing one out leaves the others and frees a slot.
			var acct3 struct{ Account struct{ ID string } }
			w.decode(w.must("acct3", "GET", "/api/v1/me", "", 200), &acct3)
			w.must("acct2", "DELETE", "/api/v1/client/accounts/"+acct3.Account.ID, "", 204)
			w.must("acct3", "GET", "/api/v1/me", "", 401)
			w.must("acct2", "GET", "/api/v1/me", "", 200)
			w.must("", "POST", "/api/v1/login", `{"id":"`+ids[5]+`","password":"`+pws[5]+`","client_token":"`+c.ClientToken+`"}`, 200)
			w.run(t, []scenario{
				{"unknown client", "", "POST", "/api/v1/login", `{"id":"boss@acme.example","password":"` + ownerPassword + `","client_token":"kzc_nope"}`, 401, []string{`"invalid_client"`}, nil},
				{"session without client", "owner", "GET", "/api/v1/client/accounts", "", 422, []string{`"no_client"`}, nil},
			})
		})
	}
}

func TestConcurrentSignInsRespectClientLimit(t *testing.T) {
	w := newWorld(t, testdb.SQLite)
	var c struct {
		ClientToken string `json:"client_token"`
	}
	w.decode(w.must("", "POST", "/api/v1/clients", "", 201), &c)
	var ids []string
	for i := 0; i < 8; i++ {
		local := "p" + string(rune('a'+i))
		w.addMember(local, local, "acme.example", "member")
		ids = append(ids, local+"@acme.example")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _ := w.do("", "POST", "/api/v1/login", `{"id":"`+id+`","password":"a fine new passphrase","client_token":"`+c.ClientToken+`"}`)
			mu.Lock()
			defer mu.Unlock()
			if st == 200 {
				ok++
			}
		}()
	}
	wg.Wait()
	if ok != 5 {
		t.Errorf("%d concurrent sign-ins succeeded on one client, want 5", ok)
	}
}

func TestBruteForceLockout(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			w := newWorld(t, eng.Open)
			for _, id := range []string{"boss@acme.example", "ghost@acme.example"} {
				for i := 0; i < 4; i++ {
					w.must("", "POST", "/api/v1/login", `{"id":"`+id+`","password":"wrong wrong wrong"}`, 401)
				}
				req, _ := http.NewRequest("POST", w.srv.URL+"/api/v1/login", strings.NewReader(`{"id":"`+id+`","password":"wrong wrong wrong"}`))
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				// A known and an unknown ID lock alike: no enumeration.
				if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
					t.Errorf("%s: 5th failure: %d Retry-After=%q", id, res.StatusCode, res.Header.Get("Retry-After"))
				}
			}
			// Locked means locked: even the right password waits.
			w.must("", "POST", "/api/v1/login", `{"id":"boss@acme.example","password":"`+ownerPassword+`"}`, 429)
			// Other accounts are unaffected.
			w.signIn("member2", "adm@acme.example", "a fine new passphrase")
			entries, err := w.store.AuditLog(context.Background(), tenantOf(t, w, "owner"), store.AuditFilter{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var failures, lockouts int
			for _, e := range entries {
				switch e.Action {
				case "auth.login_failed":
					failures++
				case "auth.lockout":
					lockouts++
				}
				if strings.Contains(e.Details+e.Target, "wrong wrong") || strings.Contains(e.Details, ownerPassword) {
					t.Errorf("audit entry holds a password: %+v", e)
				}
			}
			if failures < 5 || lockouts != 1 {
				t.Errorf("audit: %d failures, %d lockouts in Acme's log", failures, lockouts)
			}
		})
	}
}

func tenantOf(t *testing.T, w *world, actor string) string {
	var me struct {
		Account struct {
			Tenant struct{ ID string }
		}
	}
	w.decode(w.must(actor, "GET", "/api/v1/me", "", 200), &me)
	return me.Account.Tenant.ID
}

func TestInitialPasswordExpiryAndSettings(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := newWorld(t, testdb.SQLite, func(c *service.Config) { c.Now = clock })
	w.run(t, []scenario{
		{"member changes settings", "member", "PATCH", "/api/v1/tenant/settings", `{"initial_password_ttl_hours":1}`, 403, []string{`"admin_required"`}, nil},
		{"negative ttl", "owner", "PATCH", "/api/v1/tenant/settings", `{"initial_password_ttl_hours":-1}`, 422, []string{`"invalid_setting"`}, nil},
		{"ttl one day", "owner", "PATCH", "/api/v1/tenant/settings", `{"initial_password_ttl_hours":24,"allow_typed_initial_passwords":false}`, 200,
			[]string{`"initial_password_ttl_hours":24`, `"allow_typed_initial_passwords":false`}, nil},
		{"typed password forbidden", "owner", "POST", "/api/v1/members", `{"local":"typed","domain":"acme.example","password":"a typed passphrase"}`, 403, []string{`"typed_password_forbidden"`}, nil},
	})
	var added struct {
		InitialPassword   string    `json:"initial_password"`
		PasswordExpiresAt time.Time `json:"password_expires_at"`
	}
	w.decode(w.must("owner", "POST", "/api/v1/members", `{"local":"late","domain":"acme.example"}`, 201), &added)
	if d := added.PasswordExpiresAt.Sub(now); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("expiry in %v, want 24h", d)
	}
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	if st, b := w.do("", "POST", "/api/v1/login", `{"id":"late@acme.example","password":"`+added.InitialPassword+`"}`); st != 403 || !strings.Contains(b, "initial_password_expired") {
		t.Errorf("expired initial password: %d %s", st, b)
	}
}

func TestInviteLinks(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			w := newWorld(t, eng.Open)
			var link struct {
				ID   string
				Code string
				URL  string
			}
			w.decode(w.must("admin", "POST", "/api/v1/invite-links", `{"domains":["dept.acme.example"],"max_uses":1}`, 201), &link)
			if !strings.Contains(link.URL, link.Code) {
				t.Errorf("link URL %q lacks the code", link.URL)
			}
			info := w.must("", "GET", "/api/v1/invites/"+link.Code, "", 200)
			if !strings.Contains(info, `"tenant_name":"Acme"`) || !strings.Contains(info, "dept.acme.example") || strings.Contains(info, `"acme.example"`) {
				t.Errorf("invite info: %s", info)
			}
			w.run(t, []scenario{
				{"domain not allowed", "", "POST", "/api/v1/invites/" + link.Code + "/accept", `{"local":"newp","domain":"acme.example","password":"partner passphrase"}`, 422, []string{`"domain_not_allowed"`}, nil},
				{"other tenant's domain", "", "POST", "/api/v1/invites/" + link.Code + "/accept", `{"local":"newp","domain":"partner.example","password":"partner passphrase"}`, 422, []string{`"domain_not_allowed"`}, nil},
				{"weak password", "", "POST", "/api/v1/invites/" + link.Code + "/accept", `{"local":"newp","domain":"dept.acme.example","password":"123"}`, 422, []string{`"weak_password"`}, nil},
				{"taken ID", "", "POST", "/api/v1/invites/" + link.Code + "/accept", `{"local":"sato","domain":"dept.acme.example","password":"partner passphrase"}`, 409, []string{`"id_taken"`}, nil},
			})
			// A failed accept consumed nothing: the single use is still there.
			body := w.must("", "POST", "/api/v1/invites/"+link.Code+"/accept", `{"local":"newp","domain":"dept.acme.example","display_name":"New Partner","password":"partner passphrase"}`, 201)
			if !strings.Contains(body, `"relation":"internal"`) || !strings.Contains(body, `"password_change_required":false`) {
				t.Errorf("accept: %s", body)
			}
			w.run(t, []scenario{
				{"used up", "", "POST", "/api/v1/invites/" + link.Code + "/accept", `{"local":"newq","domain":"dept.acme.example","password":"partner passphrase"}`, 404, []string{`"invite_unusable"`}, nil},
				{"used up info", "", "GET", "/api/v1/invites/" + link.Code, "", 404, []string{`"invite_unusable"`}, nil},
				{"unknown code", "", "GET", "/api/v1/invites/kzi_nope", "", 404, []string{`"invite_unusable"`}, nil},
				{"member creates link", "member", "POST", "/api/v1/invite-links", `{}`, 403, []string{`"invite_links_admin_only"`}, nil},
				{"too many uses", "admin", "POST", "/api/v1/invite-links", `{"max_uses":1000000}`, 422, []string{`"invalid_invite"`}, nil},
				{"foreign domain", "admin", "POST", "/api/v1/invite-links", `{"domains":["partner.example"]}`, 404, []string{`"domain_not_found"`}, nil},
				{"list", "admin", "GET", "/api/v1/invite-links", "", 200, []string{`"uses":1`}, []string{`"code"`}},
				{"other tenant lists", "other_admin", "GET", "/api/v1/invite-links", "", 200, nil, []string{link.ID}},
				{"other tenant revokes", "other_admin", "DELETE", "/api/v1/invite-links/" + link.ID, "", 404, nil, nil},
			})
			// Revoking ends a link at once; members may create links when allowed.
			w.must("owner", "PATCH", "/api/v1/tenant/settings", `{"members_create_invite_links":true}`, 200)
			var l2 struct{ ID, Code string }
			w.decode(w.must("member", "POST", "/api/v1/invite-links", `{"max_uses":5}`, 201), &l2)
			w.must("admin", "DELETE", "/api/v1/invite-links/"+l2.ID, "", 204)
			w.must("", "POST", "/api/v1/invites/"+l2.Code+"/accept", `{"local":"late","domain":"acme.example","password":"partner passphrase"}`, 404)
		})
	}
}

func TestPersonalAccounts(t *testing.T) {
	w := newWorld(t, testdb.SQLite)
	body := w.must("", "POST", "/api/v1/personal-accounts", `{"handle":"Yuki_Line","display_name":"ゆき","password":"yuki's passphrase"}`, 201)
	if !strings.Contains(body, `"kind":"personal"`) || !strings.Contains(body, `"sign_in_id":"yuki_line"`) {
		t.Errorf("sign-up: %s", body)
	}
	w.signIn("yuki", "yuki_line", "yuki's passphrase")
	w.run(t, []scenario{
		{"personal is external to members", "member", "GET", "/api/v1/people/lookup?id=yuki_line", "", 200,
			[]string{`"relation":"external_personal"`, `"relation_reason":"external: a personal account, not a member of any tenant"`}, nil},
		{"members are external to personal", "yuki", "GET", "/api/v1/people/lookup?id=sato@dept.acme.example", "", 200,
			[]string{`"relation":"external_member"`, "belongs to tenant Acme"}, []string{`"role"`}},
		{"personal has no directory", "yuki", "GET", "/api/v1/members", "", 403, []string{`"member_required"`}, nil},
		{"handle taken", "", "POST", "/api/v1/personal-accounts", `{"handle":"YUKI_LINE","password":"another passphrase"}`, 409, []string{`"id_taken"`}, nil},
		{"handle with @", "", "POST", "/api/v1/personal-accounts", `{"handle":"a@b.example","password":"another passphrase"}`, 422, []string{`"invalid_handle"`}, nil},
	})
}

func TestAuditLog(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			w := newWorld(t, eng.Open)
			w.addMember("victim", "victim", "acme.example", "member")
			w.must("admin", "POST", "/api/v1/members/"+w.ids["victim"]+"/reissue", "", 200)
			w.must("", "POST", "/api/v1/login", `{"id":"boss@acme.example","password":"not the password"}`, 401)
			w.must("owner", "PATCH", "/api/v1/tenant/settings", `{"initial_password_ttl_hours":48}`, 200)
			var page struct {
				Items []struct {
					ID     string `json:"id"`
					Action string `json:"action"`
				}
				NextCursor string `json:"next_cursor"`
			}
			body := w.must("owner", "GET", "/api/v1/audit?limit=2", "", 200)
			w.decode(body, &page)
			if len(page.Items) != 2 || page.NextCursor == "" || !strings.Contains(body, `"action":"tenant.settings"`) {
				t.Fatalf("first page: %s", body)
			}
			all := w.must("owner", "GET", "/api/v1/audit?limit=500", "", 200)
			for _, want := range []string{`"member.reissue_password"`, `"auth.login_failed"`, `"member.add"`, `"tenant.settings"`} {
				if !strings.Contains(all, want) {
					t.Errorf("audit lacks %s", want)
				}
			}
			if strings.Contains(all, "not the password") || strings.Contains(all, ownerPassword) {
				t.Error("the audit log holds a password")
			}
			filtered := w.must("owner", "GET", "/api/v1/audit?action=member.reissue_password", "", 200)
			if strings.Count(filtered, `"action"`) != 1 {
				t.Errorf("filter: %s", filtered)
			}
			csv := w.must("owner", "GET", "/api/v1/audit/export?format=csv", "", 200)
			jsonl := w.must("owner", "GET", "/api/v1/audit/export?format=jsonl", "", 200)
			if !strings.HasPrefix(csv, "id,time,action,") || strings.Count(csv, "\n") != strings.Count(all, `"action"`)+1 ||
				strings.Count(jsonl, "\n") != strings.Count(all, `"action"`) {
				t.Errorf("export:\n%s\n%s", csv, jsonl)
			}
			w.run(t, []scenario{
				{"member reads audit", "member", "GET", "/api/v1/audit", "", 403, []string{`"admin_required"`}, nil},
				{"other tenant sees none of it", "other_admin", "GET", "/api/v1/audit?limit=500", "", 200, nil, []string{"reissue_password", w.ids["victim"]}},
				{"bad export format", "owner", "GET", "/api/v1/audit/export?format=xml", "", 422, []string{`"invalid_format"`}, nil},
			})
		})
	}
}

func TestAuditRetention(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			now := time.Now()
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			w := newWorld(t, eng.Open, func(c *service.Config) { c.Now = clock; c.AuditRetention = 30 * 24 * time.Hour })
			w.store.Now = clock
			for i := 0; i < 3; i++ {
				w.must("", "POST", "/api/v1/login", `{"id":"ghost@acme.example","password":"wrong wrong"}`, 401)
			}
			if n, err := w.svc.Audit.PurgeExpired(context.Background()); err != nil || n != 0 {
				t.Fatalf("fresh entries purged: %d %v", n, err)
			}
			mu.Lock()
			now = now.Add(31 * 24 * time.Hour)
			mu.Unlock()
			w.signIn("owner", "boss@acme.example", ownerPassword)                                         // 30-day sessions ended meanwhile
			w.must("owner", "PATCH", "/api/v1/tenant/settings", `{"initial_password_ttl_hours":48}`, 200) // a fresh entry
			n, err := w.svc.Audit.PurgeExpired(context.Background())
			if err != nil || n == 0 {
				t.Fatalf("purge: %d %v", n, err)
			}
			left := w.must("owner", "GET", "/api/v1/audit?limit=500", "", 200)
			if strings.Count(left, `"action"`) != 1 || !strings.Contains(left, "tenant.settings") {
				t.Errorf("after retention: %s", left)
			}
		})
	}
}
