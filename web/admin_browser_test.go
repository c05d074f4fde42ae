package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The admin console's checks of issue 7: adding a member and printing the
// sheet leads that member into the client; deleting a domain shows who is
// in it, needs the name typed, and can be restored.

const adminPassphrase = "a long enough admin passphrase"

// setupAdmin runs first-run setup in a browser (tenant Acme, domain
// acme.example, owner boss) and leaves the owner in the console.
func setupAdmin(t *testing.T, e *env) *page {
	t.Helper()
	p := e.browser("admin")
	p.open("/setup?token=" + e.setupToken())
	p.fill(test("setup-tenant"), "Acme")
	p.fill(test("setup-domain"), "acme.example")
	p.fill(test("setup-owner"), "boss")
	p.fill(test("setup-owner-name"), "Boss Acme")
	p.click(test("setup-submit"))
	initial := p.text(test("setup-initial-password"))
	p.click(test("setup-continue"))
	p.waitHash("/password")
	p.fill(test("password-current"), initial)
	p.fill(test("password-new"), adminPassphrase)
	p.fill(test("password-repeat"), adminPassphrase)
	p.click(test("password-submit"))
	p.waitHash("/app")
	p.click(test("nav-admin"))
	p.waitHash("/admin/members")
	p.waitVisible(test("admin-members"))
	return p
}

// evalString evaluates a JavaScript expression (awaiting a promise) and
// returns its string value.
func (p *page) evalString(js string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail(err)
	}
	return s
}

func (p *page) evalBool(js string) bool {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	b, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		p.fail(err)
	}
	return b
}

// apiCall calls the JSON API from the page as the account on screen, the
// way the console does (cookies, CSRF, X-Kizuna-Account), and decodes the
// answer into out (if not nil). It answers the error code, "" on success.
func (p *page) apiCall(method, path string, body any, out any) string {
	p.t.Helper()
	b, _ := json.Marshal(body)
	if body == nil {
		b = []byte("undefined")
	}
	js := fmt.Sprintf(`(async () => {
		const { request } = await import('/assets/js/core/api.js');
		const { state } = await import('/assets/js/core/state.js');
		try {
			const r = await request(%q, '/api/v1' + %q, { account: state.current, body: %s });
			return JSON.stringify({ ok: r });
		} catch (e) { return JSON.stringify({ code: e.code || String(e) }); }
	})()`, method, path, b)
	var res struct {
		OK   json.RawMessage `json:"ok"`
		Code string          `json:"code"`
	}
	if err := json.Unmarshal([]byte(p.evalString(js)), &res); err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	if res.Code == "" && out != nil {
		if err := json.Unmarshal(res.OK, out); err != nil {
			p.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.Code
}

// TestAdminAddsMemberWhoSignsIn is check (1) of issue 7: setup, the admin
// adds a member and prints the sheet, and the member signs in with the
// sheet's password, must choose a new one, and lands in the client.
func TestAdminAddsMemberWhoSignsIn(t *testing.T) {
	e := newEnv(t)
	p := setupAdmin(t, e)
	p.waitText(test("members-table"), "boss@acme.example")

	p.click(test("member-add-open"))
	p.fill(test("member-local"), "hanako")
	p.fill(test("member-name"), "Hanako Sato")
	p.click(test("member-add-submit"))
	p.waitVisible(test("member-added"))
	id := p.text(test("member-sign-in-id"))
	initial := p.text(test("member-initial-password"))
	if id != "hanako@acme.example" || len(initial) < 12 {
		t.Fatalf("added %q with initial password %q", id, initial)
	}
	// The list shows the new member, not yet signed in.
	p.waitText(`[data-test="member-row"][data-member="hanako@acme.example"]`, "Hanako Sato")
	p.shot("admin-members")

	// The printed sheet carries the ID and the initial password.
	p.click(test("print-sheet"))
	p.waitVisible(test("sheet-frame"))
	sheetText := `(() => { const f = document.querySelector('[data-test="sheet-frame"]'); const d = f && f.contentDocument; return d && d.body ? d.body.innerText : "" })()`
	p.waitFor(sheetText+`.includes("hanako@acme.example")`, "the sheet")
	pw := p.evalString(`document.querySelector('[data-test="sheet-frame"]').contentDocument.querySelector(".pw").textContent.replace(/\s+/g, "")`)
	if pw != strings.Join(strings.Fields(initial), "") {
		t.Fatalf("the sheet shows password %q, the console %q", pw, initial)
	}
	if !strings.Contains(p.evalString(sheetText), "Hanako Sato") {
		t.Fatal("the sheet does not name the member")
	}
	p.click(test("sheet-close"))

	// The member, on their own machine, signs in with the sheet.
	m := e.browser("hanako")
	m.open("/signin")
	m.fill(test("signin-id"), id)
	m.fill(test("signin-password"), initial)
	m.click(test("signin-submit"))
	m.waitHash("/password")
	m.waitText("main", "hanako@acme.example")
	m.fill(test("password-current"), initial)
	m.fill(test("password-new"), "spring rain on the tiled roof")
	m.fill(test("password-repeat"), "spring rain on the tiled roof")
	m.click(test("password-submit"))
	m.waitHash("/app")
	m.waitVisible(test("account-switcher"))
	if m.evalBool(`!!document.querySelector('[data-test="nav-admin"]')`) {
		t.Fatal("a member sees the admin console link")
	}

	// The console no longer marks her as awaiting the first sign-in.
	p.goTo("/admin/members?q=hanako")
	p.waitText(`[data-test="member-row"][data-member="hanako@acme.example"]`, "Active")
	if strings.Contains(p.text(`[data-test="member-row"][data-member="hanako@acme.example"]`), "Not signed in yet") {
		t.Fatal("hanako still shows as not signed in")
	}
	if keys := p.missingKeys(); len(keys) > 0 {
		t.Fatalf("missing translations: %v", keys)
	}
}

type domainItem struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
}

func (p *page) domainNames(path string) []string {
	p.t.Helper()
	var list struct{ Items []domainItem }
	if code := p.apiCall("GET", path, nil, &list); code != "" {
		p.t.Fatalf("GET %s: %s", path, code)
	}
	var names []string
	for _, d := range list.Items {
		names = append(names, d.DisplayName)
	}
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestAdminDeletesAndRestoresDomain is check (3) of issue 7: the impact
// preview lists the domain's members, deleting needs the name typed (and
// cancelling deletes nothing), and the deleted domain is restored from the
// list of deleted domains.
func TestAdminDeletesAndRestoresDomain(t *testing.T) {
	e := newEnv(t)
	p := setupAdmin(t, e)
	p.click(test("admin-nav-domains"))
	p.waitHash("/admin/domains")
	p.waitText(test("domains-deleted"), "No deleted domains")

	p.fill(test("domain-name"), "project.example")
	p.click(test("domain-add-submit"))
	row := `[data-test="domain-row"][data-domain="project.example"]`
	p.waitVisible(row)
	for _, local := range []string{"ichiro", "jiro"} {
		if code := p.apiCall("POST", "/members", map[string]string{"local": local, "domain": "project.example"}, nil); code != "" {
			t.Fatalf("adding %s: %s", local, code)
		}
	}
	p.shot("admin-domains")

	// The preview lists the members; the button waits for the name.
	del := `[data-test="domain-delete"][data-domain="project.example"]`
	p.click(del)
	p.waitText(test("domain-impact"), "ichiro@project.example")
	p.waitText(test("domain-impact"), "jiro@project.example")
	p.waitText(test("domain-impact"), "2 members")
	okDisabled := `document.querySelector('[data-test="confirm-ok"]').disabled`
	if !p.evalBool(okDisabled) {
		t.Fatal("the delete button is enabled before the name is typed")
	}
	p.fill(test("confirm-input"), "project.exampl")
	if !p.evalBool(okDisabled) {
		t.Fatal("the delete button is enabled with the wrong name")
	}
	p.shot("admin-domain-delete")
	p.click(test("confirm-cancel"))
	p.waitFor(`!document.querySelector('[data-test="confirm-ok"]')`, "the dialog to close")
	if names := p.domainNames("/domains"); !contains(names, "project.example") {
		t.Fatalf("cancelling deleted the domain: %v", names)
	}
	if names := p.domainNames("/deleted-domains"); len(names) != 0 {
		t.Fatalf("deleted domains after cancelling: %v", names)
	}
	if code := p.apiCall("GET", "/people/lookup?id=ichiro@project.example", nil, nil); code != "" {
		t.Fatalf("after cancelling, ichiro: %s", code)
	}

	// Now for real.
	p.click(del)
	p.waitText(test("domain-impact"), "ichiro@project.example")
	p.fill(test("confirm-input"), "project.example")
	if p.evalBool(okDisabled) {
		t.Fatal("the delete button stays disabled with the name typed")
	}
	p.click(test("confirm-ok"))
	deletedRow := `[data-test="deleted-domain-row"][data-domain="project.example"]`
	p.waitVisible(deletedRow)
	p.waitFor(`!document.querySelector('`+row+`')`, "the domain to leave the live list")
	if names := p.domainNames("/domains"); contains(names, "project.example") {
		t.Fatalf("still live after deletion: %v", names)
	}
	if code := p.apiCall("GET", "/people/lookup?id=ichiro@project.example", nil, nil); code == "" {
		t.Fatal("ichiro is still there after the domain was deleted")
	}

	// Restore within retention brings the domain and its members back.
	p.click(`[data-test="domain-restore"][data-domain="project.example"]`)
	p.waitVisible(row)
	p.waitText(test("domains-deleted"), "No deleted domains")
	if names := p.domainNames("/domains"); !contains(names, "project.example") {
		t.Fatalf("not live after restore: %v", names)
	}
	if code := p.apiCall("GET", "/people/lookup?id=ichiro@project.example", nil, nil); code != "" {
		t.Fatalf("after restore, ichiro: %s", code)
	}
	if keys := p.missingKeys(); len(keys) > 0 {
		t.Fatalf("missing translations: %v", keys)
	}
}

// TestAdminImportPolicyAudit walks the other main screens: a CSV dry run
// lists each row's problems and writes nothing, the corrected file
// imports; the external-talk policy is saved; the audit log filters by
// action.
func TestAdminImportPolicyAudit(t *testing.T) {
	e := newEnv(t)
	p := setupAdmin(t, e)

	p.click(test("admin-nav-import"))
	p.waitHash("/admin/import")
	bad := "local,domain,display_name\nsuzuki,acme.example,Suzuki\nbad local!,acme.example,Bad\ntanaka,nowhere.example,Tanaka\n"
	p.fill(test("import-text"), bad)
	p.click(test("import-check"))
	p.waitVisible(test("import-errors"))
	errs := p.text(test("import-errors"))
	if !strings.Contains(errs, "3") || !strings.Contains(errs, "4") {
		t.Fatalf("the errors table does not name lines 3 and 4:\n%s", errs)
	}
	p.waitText(test("import-has-errors"), "nothing was written")
	if code := p.apiCall("GET", "/people/lookup?id=suzuki@acme.example", nil, nil); code == "" {
		t.Fatal("the dry run added suzuki")
	}
	p.shot("admin-import")

	p.fill(test("import-text"), "local,domain,display_name\nsuzuki,acme.example,Suzuki\ntanaka,acme.example,Tanaka\n")
	p.click(test("import-check"))
	p.waitText(test("import-ready"), "2 members are ready")
	p.click(test("import-run"))
	p.waitText(test("import-done"), "2 members were added")
	p.waitVisible(test("print-sheet"))
	if code := p.apiCall("GET", "/people/lookup?id=tanaka@acme.example", nil, nil); code != "" {
		t.Fatalf("after the import, tanaka: %s", code)
	}

	// The external-talk policy: contacts need approval.
	p.click(test("admin-nav-policy"))
	p.waitHash("/admin/policy")
	p.waitText(test("approvals"), "Nothing awaits approval")
	p.click(test("policy-mode-approval"))
	p.click(test("policy-submit"))
	p.waitText(test("toast"), "saved")
	var policy struct {
		AddContacts string `json:"add_contacts"`
	}
	if code := p.apiCall("GET", "/tenant/external-policy", nil, &policy); code != "" || policy.AddContacts != "approval" {
		t.Fatalf("policy after saving: %+v %s", policy, code)
	}
	p.shot("admin-policy")

	// The audit log, filtered to the import.
	p.click(test("admin-nav-audit"))
	p.waitHash("/admin/audit")
	p.waitVisible(test("audit-table"))
	p.fill(test("audit-action"), "member.import")
	p.click(test("audit-filter"))
	p.waitHash("/admin/audit?action=member.import")
	p.waitVisible(`[data-test="audit-row"][data-action="member.import"]`)
	if p.evalBool(`[...document.querySelectorAll('[data-test="audit-row"]')].some((r) => r.dataset.action !== "member.import")`) {
		t.Fatal("the filtered audit log shows other actions")
	}
	p.shot("admin-audit")
	p.click(test("audit-export-csv"))
	p.waitText("#toasts", "export was downloaded")
	if keys := p.missingKeys(); len(keys) > 0 {
		t.Fatalf("missing translations: %v", keys)
	}
}

// TestAdminScreensInJapanese opens every console section in Japanese:
// each draws without an error and asks for no missing translation.
func TestAdminScreensInJapanese(t *testing.T) {
	e := newEnv(t)
	p := setupAdmin(t, e)
	p.useLanguage("ja")
	for _, name := range []string{"members", "import", "domains", "policy", "groups", "reclassify", "settings", "audit"} {
		p.goTo("/admin/" + name)
		p.waitVisible(test("admin-" + name))
		p.waitFor(`!document.querySelector("main .loading")`, name+" to load")
		if p.evalBool(`!!document.querySelector('main [data-test="error"]')`) {
			p.fail(fmt.Errorf("section %s shows an error", name))
		}
	}
	p.goTo("/admin/members")
	p.click(`[data-test="member-manage"][data-member="boss@acme.example"]`)
	p.waitVisible(test("member-dialog"))
	p.waitText(test("member-dialog"), "パスワードを再発行")
	p.click(test("member-dialog-close"))

	// A group, then a board its members read.
	p.goTo("/admin/groups")
	p.waitText(test("groups"), "グループはまだありません")
	p.click(test("groups") + " summary")
	p.fill(test("group-name"), "営業部")
	p.click(test("group-add-submit"))
	p.waitText(test("groups"), "営業部")
	p.click(test("board-add"))
	p.waitVisible(test("board-form"))
	p.fill(test("board-form")+` [name="name"]`, "全社連絡")
	p.click(test("board-form-submit"))
	p.waitText(test("boards"), "全社連絡")
	p.waitText(test("boards"), "組織の全員")
	if keys := p.missingKeys(); len(keys) > 0 {
		t.Fatalf("missing Japanese translations: %v", keys)
	}
}
