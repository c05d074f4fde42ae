package httpapi_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/service"
)

// contactWorld is the API world plus a movable clock, a plain member of
// Partner Co (ken) and two personal accounts (yuki, mei).
type contactWorld struct {
	*world
	mu  sync.Mutex
	now time.Time
}

func (cw *contactWorld) clock() time.Time { cw.mu.Lock(); defer cw.mu.Unlock(); return cw.now }

func (cw *contactWorld) advance(d time.Duration) {
	cw.mu.Lock()
	cw.now = cw.now.Add(d)
	cw.mu.Unlock()
}

func newContactWorld(t *testing.T, eng testdb.Engine) *contactWorld {
	cw := &contactWorld{now: time.Now().UTC().Truncate(time.Second)}
	cw.world = newWorld(t, eng.Open, func(c *service.Config) { c.Now = cw.clock })
	cw.store.Now = cw.clock
	w := cw.world
	// ken is a plain member of Partner Co, added by its owner.
	var added struct {
		Member          struct{ ID string } `json:"member"`
		InitialPassword string              `json:"initial_password"`
	}
	w.decode(w.must("other_admin", "POST", "/api/v1/members", `{"local":"ken","domain":"partner.example"}`, 201), &added)
	w.signIn("ken_pending", "ken@partner.example", added.InitialPassword)
	var s struct{ Token string }
	w.decode(w.must("ken_pending", "POST", "/api/v1/me/password", `{"current_password":"`+added.InitialPassword+`","new_password":"a fine new passphrase"}`, 200), &s)
	w.tokens["ken"], w.ids["ken"] = s.Token, added.Member.ID
	for _, h := range []string{"yuki", "mei"} {
		var si struct {
			Token   string
			Account struct{ ID string }
		}
		w.decode(w.must("", "POST", "/api/v1/personal-accounts", `{"handle":"`+h+`","password":"a long personal passphrase"}`, 201), &si)
		w.tokens[h], w.ids[h] = si.Token, si.Account.ID
	}
	return cw
}

type contactOut struct {
	ID     string
	Status string
	Person struct {
		ID             string
		SignInID       string `json:"sign_in_id"`
		Relation       string
		RelationReason string `json:"relation_reason"`
	}
	Direction      string
	ApprovalStage  string     `json:"approval_stage"`
	ApproverTenant string     `json:"approver_tenant"`
	DeclinedBy     string     `json:"declined_by"`
	ExpiresAt      *time.Time `json:"expires_at"`
	Expired        bool
}

// contact sends a contact request and decodes the answer.
func (cw *contactWorld) contact(actor, body string, status int) contactOut {
	cw.t.Helper()
	var c contactOut
	cw.decode(cw.must(actor, "POST", "/api/v1/contacts", body, status), &c)
	return c
}

func (cw *contactWorld) act(actor, method, path string, status int) contactOut {
	cw.t.Helper()
	var c contactOut
	if b := cw.must(actor, method, path, "", status); status < 300 {
		cw.decode(b, &c)
	}
	return c
}

func (cw *contactWorld) list(actor string) map[string]contactOut {
	cw.t.Helper()
	var page struct{ Items []contactOut }
	cw.decode(cw.must(actor, "GET", "/api/v1/contacts?limit=500", "", 200), &page)
	out := map[string]contactOut{}
	for _, c := range page.Items {
		out[c.ID] = c
	}
	return out
}

func (cw *contactWorld) policy(actor, body string) {
	cw.t.Helper()
	cw.must(actor, "PUT", "/api/v1/tenant/external-policy", body, 200)
}

func TestContacts(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("free mode, by ID", func(t *testing.T) { contactsFree(t, newContactWorld(t, eng)) })
			t.Run("bad input", func(t *testing.T) { contactsBadInput(t, newContactWorld(t, eng)) })
			t.Run("contact codes", func(t *testing.T) { contactCodes(t, newContactWorld(t, eng)) })
			t.Run("decline and ask again", func(t *testing.T) { contactsDecline(t, newContactWorld(t, eng)) })
			t.Run("approval queue", func(t *testing.T) { contactsApproval(t, newContactWorld(t, eng)) })
			t.Run("admins only", func(t *testing.T) { contactsAdminsOnly(t, newContactWorld(t, eng)) })
			t.Run("policy and exceptions", func(t *testing.T) { contactsPolicy(t, newContactWorld(t, eng)) })
			t.Run("expiry", func(t *testing.T) { contactsExpiry(t, newContactWorld(t, eng)) })
			t.Run("isolation and deletion", func(t *testing.T) { contactsIsolation(t, newContactWorld(t, eng)) })
		})
	}
}

func contactsFree(t *testing.T, cw *contactWorld) {
	c := cw.contact("member", `{"id":"KEN@Partner.example"}`, 201)
	if c.Status != "awaiting_acceptance" || c.Direction != "outgoing" || c.Person.SignInID != "ken@partner.example" ||
		c.Person.Relation != "external_member" || c.Person.RelationReason != "external: domain partner.example belongs to tenant Partner Co" {
		t.Fatalf("request: %+v", c)
	}
	// Asking again returns the same contact.
	if again := cw.contact("member", `{"id":"ken@partner.example"}`, 200); again.ID != c.ID {
		t.Fatalf("repeat made another contact: %+v", again)
	}
	in := cw.list("ken")[c.ID]
	if in.Direction != "incoming" || in.Person.SignInID != "sato@dept.acme.example" || in.Person.Relation != "external_member" {
		t.Fatalf("ken sees %+v", in)
	}
	// Only the person asked decides.
	cw.must("member", "POST", "/api/v1/contacts/"+c.ID+"/accept", "", 403)
	if got := cw.act("ken", "POST", "/api/v1/contacts/"+c.ID+"/accept", 200); got.Status != "accepted" {
		t.Fatalf("accept: %+v", got)
	}
	if got := cw.list("member")[c.ID]; got.Status != "accepted" || got.Expired {
		t.Fatalf("sato sees %+v", got)
	}
	cw.run(t, []scenario{
		{"accept twice", "ken", "POST", "/api/v1/contacts/" + c.ID + "/accept", "", 409, []string{`"contact_not_pending"`}, nil},
		{"decline accepted", "ken", "POST", "/api/v1/contacts/" + c.ID + "/decline", "", 409, []string{`"contact_not_pending"`}, nil},
	})
	// Asking someone who asked you accepts theirs.
	k := cw.contact("ken", `{"id":"yuki"}`, 201)
	if got := cw.contact("yuki", `{"id":"ken@partner.example"}`, 200); got.ID != k.ID || got.Status != "accepted" || got.Direction != "incoming" ||
		got.Person.Relation != "external_member" {
		t.Fatalf("mirror request: %+v", got)
	}
	// Personal accounts add each other freely.
	if got := cw.contact("yuki", `{"id":"mei"}`, 201); got.Person.Relation != "external_personal" {
		t.Fatalf("personal to personal: %+v", got)
	}
}

func contactsBadInput(t *testing.T, cw *contactWorld) {
	past := cw.clock().Add(-time.Hour).Format(time.RFC3339)
	cw.run(t, []scenario{
		{"nothing named", "member", "POST", "/api/v1/contacts", `{}`, 422, []string{`"invalid_contact_request"`}, nil},
		{"both named", "member", "POST", "/api/v1/contacts", `{"id":"yuki","code":"ABCD-EFGH-JKLM-NPQR"}`, 422, []string{`"invalid_contact_request"`}, nil},
		{"colleague", "member", "POST", "/api/v1/contacts", `{"id":"boss@acme.example"}`, 422, []string{`"not_external"`, "internal"}, nil},
		{"self", "member", "POST", "/api/v1/contacts", `{"id":"sato@dept.acme.example"}`, 422, []string{`"not_external"`}, nil},
		{"personal self", "yuki", "POST", "/api/v1/contacts", `{"id":"yuki"}`, 422, []string{`"not_external"`}, nil},
		{"malformed ID", "member", "POST", "/api/v1/contacts", `{"id":"a b@x.example"}`, 422, []string{`"invalid_local_part"`}, nil},
		{"unknown ID", "member", "POST", "/api/v1/contacts", `{"id":"nobody@partner.example"}`, 404, []string{`"not_found"`}, nil},
		{"malformed code", "member", "POST", "/api/v1/contacts", `{"code":"0000"}`, 422, []string{`"invalid_contact_code"`}, nil},
		{"unknown code", "member", "POST", "/api/v1/contacts", `{"code":"ABCD-EFGH-JKLM-NPQR"}`, 404, []string{`"not_found"`}, nil},
		{"past expiry", "member", "POST", "/api/v1/contacts", `{"id":"yuki","expires_at":"` + past + `"}`, 422, []string{`"invalid_expiry"`}, nil},
		{"bad time", "member", "POST", "/api/v1/contacts", `{"id":"yuki","expires_at":"tomorrow"}`, 400, []string{`"invalid_json"`}, nil},
		{"unknown field", "member", "POST", "/api/v1/contacts", `{"id":"yuki","x":1}`, 400, []string{`"unknown_field"`}, nil},
		{"wrong type", "member", "POST", "/api/v1/contacts", `{"id":1}`, 400, []string{`"invalid_type"`}, nil},
		{"anonymous", "", "GET", "/api/v1/contacts", "", 401, []string{`"unauthorized"`}, nil},
		{"bad limit", "member", "GET", "/api/v1/contacts?limit=x", "", 400, []string{`"invalid_query"`}, nil},
		{"huge limit", "member", "GET", "/api/v1/contacts?limit=100000", "", 422, []string{`"invalid_limit"`}, nil},
		{"unknown contact", "member", "POST", "/api/v1/contacts/01HZZZZZZZZZZZZZZZZZZZZZZZ/accept", "", 404, []string{`"not_found"`}, nil},
		{"bad policy mode", "owner", "PUT", "/api/v1/tenant/external-policy", `{"allow_personal":true,"allow_other_tenants":true,"add_contacts":"never"}`, 422, []string{`"invalid_policy"`}, nil},
		{"partial policy", "owner", "PUT", "/api/v1/tenant/external-policy", `{"allow_personal":false}`, 422, []string{`"invalid_policy"`}, nil},
		{"bad exception", "owner", "PUT", "/api/v1/members/{member}/external-talk", `{"mode":"sometimes"}`, 422, []string{`"invalid_external_talk"`}, nil},
		{"missing exception", "owner", "PUT", "/api/v1/members/{member}/external-talk", `{}`, 422, []string{`"invalid_external_talk"`}, nil},
		{"approve with bad body", "owner", "POST", "/api/v1/contact-approvals/01HZZZZZZZZZZZZZZZZZZZZZZZ/approve", `{"expires_at":5}`, 400, []string{`"invalid_json"`}, nil},
	})
	if got := cw.list("member"); len(got) != 0 {
		t.Errorf("refused requests stored contacts: %+v", got)
	}
	var pol struct {
		AddContacts string `json:"add_contacts"`
	}
	cw.decode(cw.must("owner", "GET", "/api/v1/tenant/external-policy", "", 200), &pol)
	if pol.AddContacts != "free" {
		t.Errorf("a refused policy changed it: %+v", pol)
	}
}

func contactCodes(t *testing.T, cw *contactWorld) {
	var code struct {
		Code      string
		QRPayload string `json:"qr_payload"`
	}
	cw.decode(cw.must("yuki", "POST", "/api/v1/me/contact-code", "", 201), &code)
	if len(code.Code) != 19 || code.QRPayload != "kizuna-contact:"+code.Code {
		t.Fatalf("code: %+v", code)
	}
	// A scanned payload, or the code typed in lower case without dashes.
	typed := strings.ToLower(strings.ReplaceAll(code.Code, "-", ""))
	if c := cw.contact("member", `{"code":"`+code.QRPayload+`"}`, 201); c.Person.SignInID != "yuki" {
		t.Fatalf("by QR payload: %+v", c)
	}
	if c := cw.contact("ken", `{"code":"`+typed+`"}`, 201); c.Person.SignInID != "yuki" {
		t.Fatalf("by typed code: %+v", c)
	}
	// Rotating retires the old code at once.
	var next struct{ Code string }
	cw.decode(cw.must("yuki", "POST", "/api/v1/me/contact-code", "", 201), &next)
	if next.Code == code.Code {
		t.Fatal("rotation kept the code")
	}
	cw.must("mei", "POST", "/api/v1/contacts", `{"code":"`+code.Code+`"}`, 404)
	cw.contact("mei", `{"code":"`+next.Code+`"}`, 201)
	// A code of a colleague is still internal.
	var boss struct{ Code string }
	cw.decode(cw.must("owner", "POST", "/api/v1/me/contact-code", "", 201), &boss)
	cw.must("member", "POST", "/api/v1/contacts", `{"code":"`+boss.Code+`"}`, 422)
}

func contactsDecline(t *testing.T, cw *contactWorld) {
	c := cw.contact("other_admin", `{"id":"sato@dept.acme.example"}`, 201)
	if got := cw.act("member", "POST", "/api/v1/contacts/"+c.ID+"/decline", 200); got.Status != "declined" || got.DeclinedBy != "target" {
		t.Fatalf("decline: %+v", got)
	}
	cw.run(t, []scenario{
		{"requester declines own", "other_admin", "POST", "/api/v1/contacts/" + c.ID + "/decline", "", 403, []string{`"not_contact_target"`}, nil},
		{"accept declined", "member", "POST", "/api/v1/contacts/" + c.ID + "/accept", "", 409, []string{`"contact_not_pending"`}, nil},
	})
	// The one declined cannot ask again; the one who declined may.
	if again := cw.contact("other_admin", `{"id":"sato@dept.acme.example"}`, 200); again.ID != c.ID || again.Status != "declined" {
		t.Fatalf("asking again after a no: %+v", again)
	}
	back := cw.contact("member", `{"id":"tanaka@partner.example"}`, 201)
	if back.ID == c.ID || back.Status != "awaiting_acceptance" || back.Direction != "outgoing" {
		t.Fatalf("asking back: %+v", back)
	}
	if got := cw.list("other_admin"); len(got) != 1 || got[back.ID].Direction != "incoming" {
		t.Fatalf("tanaka sees %+v", got)
	}
}

func contactsApproval(t *testing.T, cw *contactWorld) {
	cw.policy("owner", `{"allow_personal":true,"allow_other_tenants":true,"add_contacts":"approval"}`)
	audit := cw.must("owner", "GET", "/api/v1/audit?action=tenant.external_policy", "", 200)
	if !strings.Contains(audit, "before={allow_personal:true allow_other_tenants:true add_contacts:free} after={allow_personal:true allow_other_tenants:true add_contacts:approval}") {
		t.Errorf("policy audit: %s", audit)
	}
	// Stage 1: Acme's admins approve what its members ask.
	c := cw.contact("member", `{"id":"ken@partner.example"}`, 201)
	if c.Status != "awaiting_approval" || c.ApprovalStage != "request" || c.ApproverTenant != "Acme" {
		t.Fatalf("request under approval: %+v", c)
	}
	// An admin's own request needs nobody's approval.
	if own := cw.contact("admin", `{"id":"yuki"}`, 201); own.Status != "awaiting_acceptance" {
		t.Fatalf("admin's own request: %+v", own)
	}
	var queue struct {
		Items []struct {
			ID            string
			ApprovalStage string `json:"approval_stage"`
			Requester     struct {
				SignInID string `json:"sign_in_id"`
				Relation string
			}
			Target struct {
				SignInID string `json:"sign_in_id"`
				Relation string
			}
		}
	}
	cw.decode(cw.must("admin", "GET", "/api/v1/contact-approvals", "", 200), &queue)
	if len(queue.Items) != 1 || queue.Items[0].ID != c.ID || queue.Items[0].Requester.Relation != "internal" ||
		queue.Items[0].Target.SignInID != "ken@partner.example" || queue.Items[0].Target.Relation != "external_member" {
		t.Fatalf("queue: %+v", queue)
	}
	cw.run(t, []scenario{
		{"member reads queue", "member", "GET", "/api/v1/contact-approvals", "", 403, []string{`"admin_required"`}, nil},
		{"personal reads queue", "yuki", "GET", "/api/v1/contact-approvals", "", 403, []string{`"member_required"`}, nil},
		{"other tenant's queue", "other_admin", "GET", "/api/v1/contact-approvals", "", 200, []string{`"items":[]`}, nil},
		{"other tenant approves", "other_admin", "POST", "/api/v1/contact-approvals/" + c.ID + "/approve", "", 404, []string{`"not_found"`}, nil},
		{"other tenant rejects", "other_admin", "POST", "/api/v1/contact-approvals/" + c.ID + "/reject", "", 404, []string{`"not_found"`}, nil},
		{"member approves", "member", "POST", "/api/v1/contact-approvals/" + c.ID + "/approve", "", 403, []string{`"admin_required"`}, nil},
		{"target accepts too early", "ken", "POST", "/api/v1/contacts/" + c.ID + "/accept", "", 409, []string{`"contact_not_pending"`}, nil},
		{"past expiry", "admin", "POST", "/api/v1/contact-approvals/" + c.ID + "/approve", `{"expires_at":"2001-01-01T00:00:00Z"}`, 422, []string{`"invalid_expiry"`}, nil},
	})
	until := cw.clock().Add(30 * 24 * time.Hour)
	var approved struct {
		Status    string
		ExpiresAt time.Time `json:"expires_at"`
	}
	cw.decode(cw.must("admin", "POST", "/api/v1/contact-approvals/"+c.ID+"/approve", `{"expires_at":"`+until.Format(time.RFC3339)+`"}`, 200), &approved)
	if approved.Status != "awaiting_acceptance" || !approved.ExpiresAt.Equal(until) {
		t.Fatalf("approved: %+v", approved)
	}
	cw.must("admin", "POST", "/api/v1/contact-approvals/"+c.ID+"/approve", "", 404) // gone from the queue
	if got := cw.act("ken", "POST", "/api/v1/contacts/"+c.ID+"/accept", 200); got.Status != "accepted" {
		t.Fatalf("accept after approval: %+v", got)
	}
	audit = cw.must("owner", "GET", "/api/v1/audit?action=contact.approve", "", 200)
	if !strings.Contains(audit, "sato@dept.acme.example → ken@partner.example") || !strings.Contains(audit, "before=status:awaiting_approval/request expires:never after=status:awaiting_acceptance expires:"+until.Format(time.RFC3339)) {
		t.Errorf("approval audit: %s", audit)
	}

	// Stage 2: Partner Co approves what its members accept.
	cw.policy("other_admin", `{"allow_personal":true,"allow_other_tenants":true,"add_contacts":"approval"}`)
	p := cw.contact("yuki", `{"id":"ken@partner.example"}`, 201) // personal accounts need nobody's approval
	if p.Status != "awaiting_acceptance" {
		t.Fatalf("personal request: %+v", p)
	}
	got := cw.act("ken", "POST", "/api/v1/contacts/"+p.ID+"/accept", 200)
	if got.Status != "awaiting_approval" || got.ApprovalStage != "acceptance" || got.ApproverTenant != "Partner Co" {
		t.Fatalf("accept under approval: %+v", got)
	}
	// The target cannot take it back by declining once accepted; its admin decides.
	cw.must("ken", "POST", "/api/v1/contacts/"+p.ID+"/decline", "", 409)
	cw.must("admin", "POST", "/api/v1/contact-approvals/"+p.ID+"/approve", "", 404)
	cw.must("other_admin", "POST", "/api/v1/contact-approvals/"+p.ID+"/approve", "", 200)
	if got := cw.list("yuki")[p.ID]; got.Status != "accepted" {
		t.Fatalf("after the target's admin approved: %+v", got)
	}

	// Rejection declines, and is audited.
	r := cw.contact("member", `{"id":"mei"}`, 201)
	var rejected struct{ Status string }
	cw.decode(cw.must("owner", "POST", "/api/v1/contact-approvals/"+r.ID+"/reject", "", 200), &rejected)
	if rejected.Status != "declined" {
		t.Fatalf("reject: %+v", rejected)
	}
	if got := cw.list("member")[r.ID]; got.Status != "declined" || got.DeclinedBy != "admin" {
		t.Fatalf("sato sees %+v", got)
	}
	cw.must("owner", "POST", "/api/v1/contact-approvals/"+r.ID+"/reject", "", 404)
	if audit := cw.must("owner", "GET", "/api/v1/audit?action=contact.reject", "", 200); !strings.Contains(audit, "sato@dept.acme.example → mei") {
		t.Errorf("reject audit: %s", audit)
	}
}

func contactsAdminsOnly(t *testing.T, cw *contactWorld) {
	pending := cw.contact("yuki", `{"id":"ken@partner.example"}`, 201)
	cw.policy("other_admin", `{"allow_personal":true,"allow_other_tenants":true,"add_contacts":"admins_only"}`)
	cw.run(t, []scenario{
		{"member asks", "ken", "POST", "/api/v1/contacts", `{"id":"mei"}`, 403, []string{`"contact_adding_restricted"`, "Partner Co"}, nil},
		{"outsider asks a member", "mei", "POST", "/api/v1/contacts", `{"id":"ken@partner.example"}`, 403, []string{`"contact_adding_restricted"`}, nil},
		{"member accepts an older request", "ken", "POST", "/api/v1/contacts/" + pending.ID + "/accept", "", 403, []string{`"contact_adding_restricted"`}, nil},
		{"admin asks", "other_admin", "POST", "/api/v1/contacts", `{"id":"mei"}`, 201, []string{`"awaiting_acceptance"`}, nil},
		{"outsider asks an admin", "yuki", "POST", "/api/v1/contacts", `{"id":"tanaka@partner.example"}`, 201, nil, nil},
	})
}

func contactsPolicy(t *testing.T, cw *contactWorld) {
	cw.run(t, []scenario{
		{"tenant shows the policy", "member", "GET", "/api/v1/tenant", "", 200, []string{`"external_policy":{"allow_personal":true,"allow_other_tenants":true,"add_contacts":"free"}`}, nil},
		{"member reads policy", "member", "GET", "/api/v1/tenant/external-policy", "", 200, []string{`"add_contacts":"free"`}, nil},
		{"personal reads policy", "yuki", "GET", "/api/v1/tenant/external-policy", "", 403, []string{`"member_required"`}, nil},
		{"member sets policy", "member", "PUT", "/api/v1/tenant/external-policy", `{"allow_personal":false,"allow_other_tenants":false,"add_contacts":"free"}`, 403, []string{`"admin_required"`}, nil},
		{"member sets exception", "member", "PUT", "/api/v1/members/{member}/external-talk", `{"mode":"allow"}`, 403, []string{`"admin_required"`}, nil},
		{"exception for another tenant's member", "owner", "PUT", "/api/v1/members/{ken}/external-talk", `{"mode":"allow"}`, 404, []string{`"not_found"`}, nil},
		{"exception for a personal account", "owner", "PUT", "/api/v1/members/{yuki}/external-talk", `{"mode":"allow"}`, 404, []string{`"not_found"`}, nil},
	})
	// A request made while allowed cannot be accepted once a policy says no.
	early := cw.contact("yuki", `{"id":"tanaka@partner.example"}`, 201)
	cw.policy("other_admin", `{"allow_personal":false,"allow_other_tenants":true,"add_contacts":"free"}`)
	cw.run(t, []scenario{
		{"personal asks", "mei", "POST", "/api/v1/contacts", `{"id":"ken@partner.example"}`, 403,
			[]string{`"external_talk_forbidden"`, "Partner Co does not allow talk with personal accounts"}, nil},
		{"accept after the flip", "other_admin", "POST", "/api/v1/contacts/" + early.ID + "/accept", "", 403, []string{`"external_talk_forbidden"`}, nil},
		{"other companies still fine", "member", "POST", "/api/v1/contacts", `{"id":"ken@partner.example"}`, 201, nil, nil},
	})
	// An exception "allow" overrides the tenant's no, and is audited.
	var ex struct {
		Mode   string
		Member struct {
			SignInID string `json:"sign_in_id"`
		}
	}
	cw.decode(cw.must("other_admin", "PUT", "/api/v1/members/"+cw.ids["ken"]+"/external-talk", `{"mode":"allow"}`, 200), &ex)
	if ex.Mode != "allow" || ex.Member.SignInID != "ken@partner.example" {
		t.Fatalf("exception: %+v", ex)
	}
	cw.contact("mei", `{"id":"ken@partner.example"}`, 201)
	if audit := cw.must("other_admin", "GET", "/api/v1/audit?action=member.external_talk", "", 200); !strings.Contains(audit, `before=\"\" after=\"allow\"`) {
		t.Errorf("exception audit: %s", audit)
	}
	// An exception "deny" overrides the tenant's yes, on either side.
	cw.must("owner", "PUT", "/api/v1/members/"+cw.ids["member"]+"/external-talk", `{"mode":"deny"}`, 200)
	cw.run(t, []scenario{
		{"denied member asks", "member", "POST", "/api/v1/contacts", `{"id":"yuki"}`, 403, []string{`"external_talk_forbidden"`, "Acme has turned off talk outside the tenant for sato@dept.acme.example"}, nil},
		{"someone asks the denied member", "yuki", "POST", "/api/v1/contacts", `{"id":"sato@dept.acme.example"}`, 403, []string{`"external_talk_forbidden"`}, nil},
		{"colleagues unaffected", "admin", "POST", "/api/v1/contacts", `{"id":"yuki"}`, 201, nil, nil},
		{"the member shows its exception", "owner", "GET", "/api/v1/members/{member}", "", 200, []string{`"external_talk":"deny"`}, nil},
	})
	cw.must("owner", "PUT", "/api/v1/members/"+cw.ids["member"]+"/external-talk", `{"mode":""}`, 200)
	cw.contact("yuki", `{"id":"sato@dept.acme.example"}`, 201)
	// Setting the same policy again changes nothing and audits nothing.
	before := cw.must("other_admin", "GET", "/api/v1/audit?action=tenant.external_policy", "", 200)
	cw.policy("other_admin", `{"allow_personal":false,"allow_other_tenants":true,"add_contacts":"free"}`)
	if after := cw.must("other_admin", "GET", "/api/v1/audit?action=tenant.external_policy", "", 200); after != before {
		t.Errorf("a no-op policy change was audited")
	}
}

func contactsExpiry(t *testing.T, cw *contactWorld) {
	until := cw.clock().Add(time.Hour)
	c := cw.contact("member", `{"id":"yuki","expires_at":"`+until.Format(time.RFC3339)+`"}`, 201)
	if c.ExpiresAt == nil || !c.ExpiresAt.Equal(until) {
		t.Fatalf("expiry not kept: %+v", c)
	}
	cw.act("yuki", "POST", "/api/v1/contacts/"+c.ID+"/accept", 200)
	if got := cw.list("member")[c.ID]; got.Expired {
		t.Fatalf("expired early: %+v", got)
	}
	// A request that expires before it is answered cannot be accepted.
	late := cw.contact("member", `{"id":"mei","expires_at":"`+until.Format(time.RFC3339)+`"}`, 201)
	cw.advance(2 * time.Hour)
	if got := cw.list("member")[c.ID]; !got.Expired || got.Status != "accepted" {
		t.Fatalf("after expiry: %+v", got)
	}
	cw.must("mei", "POST", "/api/v1/contacts/"+late.ID+"/accept", "", 409)
	// Asking again after expiry starts a fresh contact.
	again := cw.contact("yuki", `{"id":"sato@dept.acme.example"}`, 201)
	if again.ID == c.ID || again.Status != "awaiting_acceptance" || again.Expired || again.ExpiresAt != nil {
		t.Fatalf("fresh request: %+v", again)
	}
	if _, ok := cw.list("member")[c.ID]; ok {
		t.Fatal("the expired contact is still listed next to the fresh one")
	}
}

func contactsIsolation(t *testing.T, cw *contactWorld) {
	c := cw.contact("member", `{"id":"ken@partner.example"}`, 201)
	cw.run(t, []scenario{
		{"outsider accepts", "yuki", "POST", "/api/v1/contacts/" + c.ID + "/accept", "", 404, []string{`"not_found"`}, nil},
		{"colleague accepts", "owner", "POST", "/api/v1/contacts/" + c.ID + "/accept", "", 404, []string{`"not_found"`}, nil},
		{"ken's colleague declines", "other_admin", "POST", "/api/v1/contacts/" + c.ID + "/decline", "", 404, []string{`"not_found"`}, nil},
		{"outsider deletes", "other_admin", "DELETE", "/api/v1/contacts/" + c.ID, "", 404, []string{`"not_found"`}, nil},
		{"colleague's list", "owner", "GET", "/api/v1/contacts", "", 200, []string{`"items":[]`}, []string{c.ID}},
	})
	// Pages.
	for _, h := range []string{"yuki", "mei", "tanaka@partner.example"} {
		cw.contact("member", `{"id":"`+h+`"}`, 201)
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		var page struct {
			Items      []contactOut
			NextCursor string `json:"next_cursor"`
		}
		cw.decode(cw.must("member", "GET", "/api/v1/contacts?limit=3&cursor="+cursor, "", 200), &page)
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatalf("contact listed twice: %s", it.ID)
			}
			seen[it.ID] = true
		}
		if page.NextCursor == "" {
			if len(seen) != 4 || pages != 1 {
				t.Fatalf("paged %d contacts in %d pages", len(seen), pages+1)
			}
			break
		}
		cursor = page.NextCursor
	}
	// Deleting removes it for both.
	cw.must("ken", "DELETE", "/api/v1/contacts/"+c.ID, "", 204)
	if _, ok := cw.list("member")[c.ID]; ok {
		t.Fatal("deleted contact still listed for the requester")
	}
	cw.must("member", "DELETE", "/api/v1/contacts/"+c.ID, "", 404)
	cw.contact("member", `{"id":"ken@partner.example"}`, 201)
}
