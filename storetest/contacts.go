package storetest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// contactCases are the suite's tests of store.Contacts.
func contactCases() []suiteCase {
	return []suiteCase{
		{"ContactOnePerPair", testContactOnePerPair},
		{"ContactScopedToParties", testContactScoped},
		{"ContactChangeIsCompareAndSet", testContactChange},
		{"ContactApprovalQueueScopedToTenant", testContactApprovals},
		{"CountingContacts", testCountingContacts},
		{"ContactsOfDeletedAccountsVanish", testContactsDeletedAccount},
		{"ContactsPagination", testContactsPagination},
		{"ContactCodes", testContactCodes},
		{"ExternalPolicy", testExternalPolicy},
		{"ExternalTalkException", testExternalTalkException},
		{"TalkParties", testTalkParties},
	}
}

// contactWorld is two tenants and a personal account.
type contactWorld struct {
	acme, partner tenantFixture
	sato, tanaka  *kizuna.Account // a member of each tenant
	hana          *kizuna.Account // personal
}

func newContactWorld(t *testing.T, st store.Store) contactWorld {
	t.Helper()
	w := contactWorld{acme: createTenant(t, st, "Acme", "acme.example"), partner: createTenant(t, st, "Partner Co", "partner.example")}
	w.sato = addMember(t, st, w.acme.Tenant.ID, w.acme.Domain, "sato")
	w.tanaka = addMember(t, st, w.partner.Tenant.ID, w.partner.Domain, "tanaka")
	w.hana = personal("hana")
	must(t, st.AddAccount(context.Background(), "", w.hana, cred()))
	return w
}

func request(from, to *kizuna.Account) *kizuna.Contact {
	return &kizuna.Contact{ID: kizuna.NewID(), RequesterID: from.ID, TargetID: to.ID, Status: kizuna.ContactAwaitingAcceptance}
}

func testContactOnePerPair(t *testing.T, st store.Store) {
	ctx := context.Background()
	w := newContactWorld(t, st)
	c := request(w.sato, w.tanaka)
	must(t, st.CreateContact(ctx, c, ""))
	if c.CreatedAt.IsZero() {
		t.Error("CreatedAt not set")
	}
	// The reverse direction is the same pair.
	wantErr(t, st.CreateContact(ctx, request(w.tanaka, w.sato), ""), kizuna.ErrConflict, "contact_exists")
	wantErr(t, st.CreateContact(ctx, request(w.sato, w.tanaka), ""), kizuna.ErrConflict, "contact_exists")
	for _, pair := range [][2]string{{w.sato.ID, w.tanaka.ID}, {w.tanaka.ID, w.sato.ID}} {
		got, err := st.ContactBetween(ctx, pair[0], pair[1])
		must(t, err)
		if got.ID != c.ID || got.RequesterID != w.sato.ID || got.Status != kizuna.ContactAwaitingAcceptance ||
			got.Requester == nil || got.Target == nil || got.Target.Address() != "tanaka@partner.example" {
			t.Fatalf("ContactBetween = %+v", got)
		}
	}
	_, err := st.ContactBetween(ctx, w.sato.ID, w.hana.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	// Replacing removes the old contact in the same transaction.
	next := request(w.tanaka, w.sato)
	must(t, st.CreateContact(ctx, next, c.ID))
	got, err := st.ContactBetween(ctx, w.sato.ID, w.tanaka.ID)
	must(t, err)
	if got.ID != next.ID || got.RequesterID != w.tanaka.ID {
		t.Fatalf("after replace: %+v", got)
	}
	// Replacing a contact of another pair removes nothing, so the pair
	// rule still holds.
	other := request(w.sato, w.hana)
	must(t, st.CreateContact(ctx, other, ""))
	wantErr(t, st.CreateContact(ctx, request(w.hana, w.sato), next.ID), kizuna.ErrConflict, "contact_exists")
	if _, err := st.Contact(ctx, w.sato.ID, next.ID); err != nil {
		t.Fatalf("a failed create removed another pair's contact: %v", err)
	}
	// Unknown accounts are refused by the database.
	bad := &kizuna.Contact{ID: kizuna.NewID(), RequesterID: w.sato.ID, TargetID: kizuna.NewID(), Status: kizuna.ContactAwaitingAcceptance}
	if err := st.CreateContact(ctx, bad, ""); err == nil {
		t.Fatal("a contact with an unknown account was stored")
	}
}

func testContactScoped(t *testing.T, st store.Store) {
	ctx := context.Background()
	w := newContactWorld(t, st)
	c := request(w.sato, w.tanaka)
	must(t, st.CreateContact(ctx, c, ""))
	for _, party := range []*kizuna.Account{w.sato, w.tanaka} {
		if _, err := st.Contact(ctx, party.ID, c.ID); err != nil {
			t.Fatalf("party %s: %v", party.Local, err)
		}
	}
	_, err := st.Contact(ctx, w.hana.ID, c.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	wantErr(t, st.DeleteContact(ctx, w.hana.ID, c.ID), kizuna.ErrNotFound, "not_found")
	_, err = st.ChangeContact(ctx, w.hana.ID, "", c.ID, store.ContactChange{From: c.Status, To: kizuna.ContactAccepted}, nil)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	// Either party deletes it for both.
	must(t, st.DeleteContact(ctx, w.tanaka.ID, c.ID))
	for _, party := range []*kizuna.Account{w.sato, w.tanaka} {
		_, err := st.Contact(ctx, party.ID, c.ID)
		wantErr(t, err, kizuna.ErrNotFound, "not_found")
	}
	wantErr(t, st.DeleteContact(ctx, w.sato.ID, c.ID), kizuna.ErrNotFound, "not_found")
}

func testContactChange(t *testing.T, st store.Store) {
	ctx := context.Background()
	w := newContactWorld(t, st)
	c := request(w.sato, w.tanaka)
	must(t, st.CreateContact(ctx, c, ""))
	accept := store.ContactChange{From: kizuna.ContactAwaitingAcceptance, To: kizuna.ContactAwaitingApproval,
		Stage: kizuna.StageAcceptance, ApproverTenantID: w.partner.Tenant.ID}
	got, err := st.ChangeContact(ctx, w.tanaka.ID, "", c.ID, accept, nil)
	must(t, err)
	if got.Status != kizuna.ContactAwaitingApproval || got.Stage != kizuna.StageAcceptance || got.ApproverTenantID != w.partner.Tenant.ID {
		t.Fatalf("after accept: %+v", got)
	}
	// A second decision made from the old state loses.
	decline := store.ContactChange{From: kizuna.ContactAwaitingAcceptance, To: kizuna.ContactDeclined, DeclinedBy: "target"}
	_, err = st.ChangeContact(ctx, w.tanaka.ID, "", c.ID, decline, nil)
	wantErr(t, err, kizuna.ErrConflict, "contact_changed")
	// The stage is part of the state: an approval decided for the request
	// stage does not apply to the acceptance stage.
	wrongStage := store.ContactChange{From: kizuna.ContactAwaitingApproval, FromStage: kizuna.StageRequest, To: kizuna.ContactAwaitingAcceptance}
	_, err = st.ChangeContact(ctx, "", w.partner.Tenant.ID, c.ID, wrongStage, nil)
	wantErr(t, err, kizuna.ErrConflict, "contact_changed")

	// The approving admin's act and its audit entry commit together.
	expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Millisecond)
	audit := &kizuna.AuditEntry{TenantID: w.partner.Tenant.ID, ActorID: w.partner.Owner.ID, Action: "contact.approve", TargetID: c.ID, Details: "before=x after=y"}
	approve := store.ContactChange{From: kizuna.ContactAwaitingApproval, FromStage: kizuna.StageAcceptance, To: kizuna.ContactAccepted, ExpiresAt: &expires}
	got, err = st.ChangeContact(ctx, "", w.partner.Tenant.ID, c.ID, approve, audit)
	must(t, err)
	if got.Status != kizuna.ContactAccepted || got.Stage != "" || got.ApproverTenantID != "" || !got.ExpiresAt.Equal(expires) {
		t.Fatalf("after approve: %+v", got)
	}
	entries, err := st.AuditLog(ctx, w.partner.Tenant.ID, store.AuditFilter{Action: "contact.approve"})
	must(t, err)
	if len(entries) != 1 || entries[0].Details != "before=x after=y" {
		t.Fatalf("audit = %+v", entries)
	}
	// A failed change writes no audit entry.
	_, err = st.ChangeContact(ctx, "", w.partner.Tenant.ID, c.ID, approve, &kizuna.AuditEntry{TenantID: w.partner.Tenant.ID, Action: "contact.approve"})
	wantErr(t, err, kizuna.ErrNotFound, "not_found") // no longer in the queue
	entries, _ = st.AuditLog(ctx, w.partner.Tenant.ID, store.AuditFilter{Action: "contact.approve"})
	if len(entries) != 1 {
		t.Fatalf("a refused change left an audit entry: %d", len(entries))
	}
	// A nil expiry keeps it; a zero one clears it.
	keep := store.ContactChange{From: kizuna.ContactAccepted, To: kizuna.ContactAccepted}
	got, err = st.ChangeContact(ctx, w.sato.ID, "", c.ID, keep, nil)
	must(t, err)
	if !got.ExpiresAt.Equal(expires) {
		t.Fatalf("expiry lost: %v", got.ExpiresAt)
	}
	var never time.Time
	keep.ExpiresAt = &never
	got, err = st.ChangeContact(ctx, w.sato.ID, "", c.ID, keep, nil)
	must(t, err)
	if !got.ExpiresAt.IsZero() {
		t.Fatalf("expiry not cleared: %v", got.ExpiresAt)
	}
}

func testContactApprovals(t *testing.T, st store.Store) {
	ctx := context.Background()
	w := newContactWorld(t, st)
	c := request(w.sato, w.hana)
	c.Status, c.Stage, c.ApproverTenantID = kizuna.ContactAwaitingApproval, kizuna.StageRequest, w.acme.Tenant.ID
	must(t, st.CreateContact(ctx, c, ""))
	must(t, st.CreateContact(ctx, request(w.tanaka, w.hana), ""))

	list, err := st.PendingApprovals(ctx, w.acme.Tenant.ID, store.ContactFilter{})
	must(t, err)
	if len(list) != 1 || list[0].ID != c.ID || list[0].Requester.Address() != "sato@acme.example" || list[0].Target.Address() != "hana" {
		t.Fatalf("Acme's queue = %+v", list)
	}
	if list, err := st.PendingApprovals(ctx, w.partner.Tenant.ID, store.ContactFilter{}); err != nil || len(list) != 0 {
		t.Fatalf("Partner's queue = %+v, %v", list, err)
	}
	if _, err := st.PendingApproval(ctx, w.acme.Tenant.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	// Another tenant's queue answers like a missing item.
	_, err = st.PendingApproval(ctx, w.partner.Tenant.ID, c.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	_, err = st.ChangeContact(ctx, "", w.partner.Tenant.ID, c.ID, store.ContactChange{From: c.Status, FromStage: c.Stage, To: kizuna.ContactDeclined, DeclinedBy: "admin"}, nil)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	got, err := st.ChangeContact(ctx, "", w.acme.Tenant.ID, c.ID, store.ContactChange{From: c.Status, FromStage: c.Stage, To: kizuna.ContactDeclined, DeclinedBy: "admin"}, nil)
	must(t, err)
	if got.Status != kizuna.ContactDeclined || got.DeclinedBy != "admin" {
		t.Fatalf("after reject: %+v", got)
	}
	if list, _ := st.PendingApprovals(ctx, w.acme.Tenant.ID, store.ContactFilter{}); len(list) != 0 {
		t.Fatalf("a decided contact stays in the queue: %+v", list)
	}
}

func testCountingContacts(t *testing.T, st store.Store) {
	ctx := context.Background()
	w := newContactWorld(t, st)
	third := addMember(t, st, w.partner.Tenant.ID, w.partner.Domain, "suzuki")
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	accepted := request(w.tanaka, w.sato) // sato is the target here: both directions count
	accepted.Status = kizuna.ContactAccepted
	must(t, st.CreateContact(ctx, accepted, ""))
	expiring := request(w.sato, w.hana)
	expiring.Status, expiring.ExpiresAt = kizuna.ContactAccepted, now.Add(time.Hour)
	must(t, st.CreateContact(ctx, expiring, ""))
	must(t, st.CreateContact(ctx, request(w.sato, third), "")) // pending: does not count

	others := []string{w.tanaka.ID, w.hana.ID, third.ID, kizuna.NewID()}
	got, err := st.CountingContacts(ctx, w.sato.ID, others, now)
	must(t, err)
	if !got[w.tanaka.ID] || !got[w.hana.ID] || got[third.ID] || len(got) != 2 {
		t.Fatalf("before expiry: %v", got)
	}
	got, err = st.CountingContacts(ctx, w.sato.ID, others, now.Add(time.Hour))
	must(t, err)
	if !got[w.tanaka.ID] || got[w.hana.ID] || len(got) != 1 {
		t.Fatalf("at expiry: %v", got)
	}
	// Someone else's contacts never count for sato.
	got, err = st.CountingContacts(ctx, third.ID, []string{w.tanaka.ID, w.hana.ID}, now)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("third's contacts: %v", got)
	}
	if got, err := st.CountingContacts(ctx, w.sato.ID, nil, now); err != nil || len(got) != 0 {
		t.Fatalf("no others: %v %v", got, err)
	}
}

func testContactsDeletedAccount(t *testing.T, st store.Store) {
	ctx := context.Background()
	w := newContactWorld(t, st)
	c := request(w.sato, w.tanaka)
	c.Status = kizuna.ContactAccepted
	must(t, st.CreateContact(ctx, c, ""))
	deleted := kizuna.StatusDeleted
	_, err := st.UpdateAccount(ctx, w.partner.Tenant.ID, w.tanaka.ID, store.AccountUpdate{Status: &deleted})
	must(t, err)
	list, err := st.ListContacts(ctx, w.sato.ID, store.ContactFilter{})
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("a deleted account's contact is listed: %+v", list)
	}
	_, err = st.Contact(ctx, w.sato.ID, c.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
}

func testContactsPagination(t *testing.T, st store.Store) {
	ctx := context.Background()
	w := newContactWorld(t, st)
	var want []string
	for i := 0; i < 7; i++ {
		p := personal("p" + string(rune('a'+i)))
		must(t, st.AddAccount(ctx, "", p, cred()))
		c := request(w.sato, p)
		if i%2 == 1 {
			c = request(p, w.sato) // incoming ones list too
		}
		must(t, st.CreateContact(ctx, c, ""))
		want = append(want, c.ID)
	}
	must(t, st.CreateContact(ctx, request(w.tanaka, w.hana), "")) // not sato's
	var got []string
	after := ""
	for {
		page, err := st.ListContacts(ctx, w.sato.ID, store.ContactFilter{After: after, Limit: 3})
		must(t, err)
		for _, c := range page {
			if c.Other(w.sato.ID) == nil || c.Other(w.sato.ID).ID == w.sato.ID {
				t.Fatalf("contact %s has no other party", c.ID)
			}
			got = append(got, c.ID)
		}
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].ID
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("paged %v, want %v", got, want)
	}
}

func testContactCodes(t *testing.T, st store.Store) {
	ctx := context.Background()
	w := newContactWorld(t, st)
	first, second := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	must(t, st.SetContactCode(ctx, w.sato.ID, first))
	got, err := st.AccountByContactCode(ctx, first)
	must(t, err)
	if got.ID != w.sato.ID {
		t.Fatalf("code finds %s", got.Address())
	}
	// Rotating retires the old code at once.
	must(t, st.SetContactCode(ctx, w.sato.ID, second))
	_, err = st.AccountByContactCode(ctx, first)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	if got, err := st.AccountByContactCode(ctx, second); err != nil || got.ID != w.sato.ID {
		t.Fatalf("rotated code: %v %v", got, err)
	}
	// A code is one account's: another account cannot take it.
	if err := st.SetContactCode(ctx, w.hana.ID, second); err == nil {
		t.Fatal("two accounts hold one code")
	}
	must(t, st.SetContactCode(ctx, w.hana.ID, first))
	// A deleted account's code finds nobody.
	deleted := kizuna.StatusDeleted
	_, err = st.UpdateAccount(ctx, w.acme.Tenant.ID, w.sato.ID, store.AccountUpdate{Status: &deleted})
	must(t, err)
	_, err = st.AccountByContactCode(ctx, second)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
}

func testExternalPolicy(t *testing.T, st store.Store) {
	ctx := context.Background()
	w := newContactWorld(t, st)
	tn, err := st.Tenant(ctx, w.acme.Tenant.ID)
	must(t, err)
	if tn.Settings.External != kizuna.DefaultExternalPolicy {
		t.Fatalf("a new tenant's policy = %+v", tn.Settings.External)
	}
	closed := kizuna.ExternalPolicy{AllowPersonal: false, AllowOtherTenants: true, AddContacts: kizuna.ContactsApproval}
	audit := &kizuna.AuditEntry{TenantID: w.acme.Tenant.ID, ActorID: w.acme.Owner.ID, Action: "tenant.external_policy", Details: "before/after"}
	tn, err = st.SetExternalPolicy(ctx, w.acme.Tenant.ID, kizuna.DefaultExternalPolicy, closed, audit)
	must(t, err)
	if tn.Settings.External != closed {
		t.Fatalf("after set: %+v", tn.Settings.External)
	}
	// A change decided on a stale read is refused and writes no audit.
	_, err = st.SetExternalPolicy(ctx, w.acme.Tenant.ID, kizuna.DefaultExternalPolicy, kizuna.ExternalPolicy{AddContacts: kizuna.ContactsAdminsOnly},
		&kizuna.AuditEntry{TenantID: w.acme.Tenant.ID, Action: "tenant.external_policy"})
	wantErr(t, err, kizuna.ErrConflict, "policy_changed")
	entries, err := st.AuditLog(ctx, w.acme.Tenant.ID, store.AuditFilter{Action: "tenant.external_policy"})
	must(t, err)
	if len(entries) != 1 {
		t.Fatalf("audit entries: %d, want 1", len(entries))
	}
	_, err = st.SetExternalPolicy(ctx, kizuna.NewID(), closed, closed, nil)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	// Other settings changes leave the policy as it is.
	tn.Settings.InitialPasswordTTLHours = 5
	tn.Settings.External = kizuna.DefaultExternalPolicy
	tn, err = st.UpdateTenantSettings(ctx, w.acme.Tenant.ID, tn.Settings)
	must(t, err)
	if tn.Settings.External != closed || tn.Settings.InitialPasswordTTLHours != 5 {
		t.Fatalf("after a settings update: %+v", tn.Settings)
	}
	// Partner's policy is untouched.
	if p, _ := st.Tenant(ctx, w.partner.Tenant.ID); p.Settings.External != kizuna.DefaultExternalPolicy {
		t.Fatalf("another tenant's policy changed: %+v", p.Settings.External)
	}
}

func testExternalTalkException(t *testing.T, st store.Store) {
	ctx := context.Background()
	w := newContactWorld(t, st)
	audit := &kizuna.AuditEntry{TenantID: w.acme.Tenant.ID, ActorID: w.acme.Owner.ID, Action: "member.external_talk", TargetID: w.sato.ID}
	a, err := st.SetExternalTalk(ctx, w.acme.Tenant.ID, w.sato.ID, kizuna.ExternalTalkDefault, kizuna.ExternalTalkDeny, audit)
	must(t, err)
	if a.ExternalTalk != kizuna.ExternalTalkDeny {
		t.Fatalf("returned %+v", a)
	}
	got, err := st.Account(ctx, w.acme.Tenant.ID, w.sato.ID)
	must(t, err)
	if got.ExternalTalk != kizuna.ExternalTalkDeny {
		t.Fatalf("read back %q", got.ExternalTalk)
	}
	_, err = st.SetExternalTalk(ctx, w.acme.Tenant.ID, w.sato.ID, kizuna.ExternalTalkDefault, kizuna.ExternalTalkAllow, nil)
	wantErr(t, err, kizuna.ErrConflict, "policy_changed")
	// Another tenant's member and personal accounts answer not_found.
	_, err = st.SetExternalTalk(ctx, w.partner.Tenant.ID, w.sato.ID, kizuna.ExternalTalkDeny, kizuna.ExternalTalkAllow, nil)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	_, err = st.SetExternalTalk(ctx, w.acme.Tenant.ID, w.hana.ID, kizuna.ExternalTalkDefault, kizuna.ExternalTalkAllow, nil)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	entries, err := st.AuditLog(ctx, w.acme.Tenant.ID, store.AuditFilter{Action: "member.external_talk"})
	must(t, err)
	if len(entries) != 1 || entries[0].TargetID != w.sato.ID {
		t.Fatalf("audit = %+v", entries)
	}
}

func testTalkParties(t *testing.T, st store.Store) {
	ctx := context.Background()
	w := newContactWorld(t, st)
	closed := kizuna.ExternalPolicy{AllowPersonal: false, AllowOtherTenants: false, AddContacts: kizuna.ContactsAdminsOnly}
	_, err := st.SetExternalPolicy(ctx, w.partner.Tenant.ID, kizuna.DefaultExternalPolicy, closed, nil)
	must(t, err)
	_, err = st.SetExternalTalk(ctx, w.partner.Tenant.ID, w.tanaka.ID, "", kizuna.ExternalTalkAllow, nil)
	must(t, err)
	gone := addMember(t, st, w.acme.Tenant.ID, w.acme.Domain, "gone")
	deleted := kizuna.StatusDeleted
	_, err = st.UpdateAccount(ctx, w.acme.Tenant.ID, gone.ID, store.AccountUpdate{Status: &deleted})
	must(t, err)

	got, err := st.TalkParties(ctx, []string{w.sato.ID, w.tanaka.ID, w.hana.ID, gone.ID, kizuna.NewID(), w.sato.ID})
	must(t, err)
	want := map[string]kizuna.TalkParty{
		w.sato.ID: {Kind: kizuna.KindMember, Address: "sato@acme.example", TenantID: w.acme.Tenant.ID, TenantName: "Acme", Policy: kizuna.DefaultExternalPolicy},
		w.tanaka.ID: {Kind: kizuna.KindMember, Address: "tanaka@partner.example", TenantID: w.partner.Tenant.ID, TenantName: "Partner Co",
			Policy: closed, Exception: kizuna.ExternalTalkAllow},
		w.hana.ID: {Kind: kizuna.KindPersonal, Address: "hana"},
	}
	if len(got) != len(want) {
		t.Fatalf("TalkParties returned %d parties, want %d: %+v", len(got), len(want), got)
	}
	for id, p := range want {
		if got[id] != p {
			t.Errorf("party %s = %+v, want %+v", p.Address, got[id], p)
		}
	}
}
