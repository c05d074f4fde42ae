package storetest

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// lifecycleCases are the suite's tests of store.TenantLifecycle.
func lifecycleCases() []suiteCase {
	return []suiteCase{
		{"TenantCancel", testTenantCancel},
		{"TenantRestore", testTenantRestore},
		{"TenantPurge", testTenantPurge},
		{"TenantPurgeConcurrent", testTenantPurgeConcurrent},
		{"DomainPurge", testDomainPurge},
	}
}

// lifecycleWorld is a tenant to cancel (Acme: acme.example and
// dept.acme.example, its owner and sato) beside a tenant that must stay
// untouched (Partner Co: its owner and tanaka) and a personal account,
// with rooms, contacts, invite links, mail and sessions on both sides.
type lifecycleWorld struct {
	acme, partner   tenantFixture
	dept            *kizuna.Domain
	sato, tanaka    *kizuna.Account
	hana            *kizuna.Account
	shared          *kizuna.Room // sato and tanaka
	internal        *kizuna.Room // Acme's owner and sato
	withHana        *kizuna.Room // sato and hana
	sessions        map[string]*kizuna.Session
	acmeLink        *kizuna.InviteLink
	partnerLink     *kizuna.InviteLink
	acmeMail        *store.OutgoingMail
	partnerMail     *store.OutgoingMail
	code, wrongCode []byte
}

func newLifecycleWorld(t *testing.T, st store.Store) *lifecycleWorld {
	t.Helper()
	ctx := context.Background()
	w := &lifecycleWorld{acme: createTenant(t, st, "Acme", "acme.example"), partner: createTenant(t, st, "Partner Co", "partner.example"),
		sessions: map[string]*kizuna.Session{}, code: bytes.Repeat([]byte{7}, 32), wrongCode: bytes.Repeat([]byte{8}, 32)}
	w.dept = addDomain(t, st, w.acme.Tenant.ID, "dept.acme.example")
	w.sato = addMember(t, st, w.acme.Tenant.ID, w.dept, "sato")
	w.tanaka = addMember(t, st, w.partner.Tenant.ID, w.partner.Domain, "tanaka")
	w.hana = personal("hana")
	must(t, st.AddAccount(ctx, "", w.hana, cred()))
	for _, a := range []*kizuna.Account{w.acme.Owner, w.sato, w.tanaka, w.hana} {
		s := newSession(a.ID, fixedNow.Add(365*24*time.Hour))
		must(t, st.CreateSession(ctx, s))
		w.sessions[a.ID] = s
	}
	w.shared = groupRoom(t, st, w.sato.ID, w.tanaka.ID)
	w.internal = groupRoom(t, st, w.acme.Owner.ID, w.sato.ID)
	w.withHana = groupRoom(t, st, w.hana.ID, w.sato.ID)
	applyOne(t, st, sendOp(w.shared.ID, w.sato.ID, "s1", "from sato"))
	applyOne(t, st, sendOp(w.shared.ID, w.tanaka.ID, "t1", "from tanaka"))
	applyOne(t, st, sendOp(w.internal.ID, w.sato.ID, "s2", "internal"))
	must(t, st.CreateContact(ctx, request(w.sato, w.tanaka), ""))
	must(t, st.SetContactCode(ctx, w.sato.ID, bytes.Repeat([]byte{3}, 32)))
	link := func(f tenantFixture, d *kizuna.Domain, b byte) *kizuna.InviteLink {
		l := &kizuna.InviteLink{ID: kizuna.NewID(), TenantID: f.Tenant.ID, CreatedBy: f.Owner.ID, DomainIDs: []string{d.ID},
			ExpiresAt: fixedNow.Add(24 * time.Hour), MaxUses: 5}
		must(t, st.CreateInviteLink(ctx, l, bytes.Repeat([]byte{b}, 32)))
		return l
	}
	w.acmeLink, w.partnerLink = link(w.acme, w.dept, 4), link(w.partner, w.partner.Domain, 5)
	w.acmeMail = newMail(w.acme.Tenant.ID, "sato@mail.example")
	w.acmeMail.AccountID = w.sato.ID
	enqueue(t, st, w.acmeMail)
	w.partnerMail = enqueue(t, st, newMail(w.partner.Tenant.ID, "tanaka@mail.example"))
	return w
}

// cancel cancels Acme, restorable for 30 days.
func (w *lifecycleWorld) cancel(t *testing.T, st store.Store) {
	t.Helper()
	must(t, st.CancelTenant(context.Background(), w.acme.Tenant.ID, fixedNow.Add(30*24*time.Hour), w.code,
		&kizuna.AuditEntry{ID: kizuna.NewID(), TenantID: w.acme.Tenant.ID, ActorID: w.acme.Owner.ID, Action: "tenant.cancel"}))
}

// partnerUntouched fails unless everything of Partner Co still works.
func (w *lifecycleWorld) partnerUntouched(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	if a, err := st.AccountByAddress(ctx, "tanaka", "partner.example"); err != nil || a.ID != w.tanaka.ID {
		t.Errorf("tanaka signs in: %v, %v", a, err)
	}
	if _, err := st.SessionByTokenHash(ctx, w.sessions[w.tanaka.ID].TokenHash); err != nil {
		t.Errorf("tanaka's session: %v", err)
	}
	if _, err := st.SessionByTokenHash(ctx, w.sessions[w.hana.ID].TokenHash); err != nil {
		t.Errorf("hana's session: %v", err)
	}
	owners, err := st.DomainOwners(ctx, []string{w.partner.Domain.ID})
	must(t, err)
	if owners[w.partner.Domain.ID].TenantID != w.partner.Tenant.ID {
		t.Errorf("partner.example owners = %+v", owners)
	}
	if got := listMail(t, st, w.partner.Tenant.ID, store.MailPending); len(got) != 1 || got[0].ID != w.partnerMail.ID {
		t.Errorf("partner's pending mail = %+v", got)
	}
	links, err := st.InviteLinks(ctx, w.partner.Tenant.ID)
	must(t, err)
	if len(links) != 1 || links[0].ID != w.partnerLink.ID || !links[0].RevokedAt.IsZero() {
		t.Errorf("partner's invite links = %+v", links)
	}
	if _, err := st.Membership(ctx, w.shared.ID, w.tanaka.ID); err != nil {
		t.Errorf("tanaka left the shared room: %v", err)
	}
}

func testTenantCancel(t *testing.T, st store.Store) {
	ctx := context.Background()
	setClock(st)
	w := newLifecycleWorld(t, st)

	imp, err := st.TenantImpact(ctx, w.acme.Tenant.ID)
	must(t, err)
	want := kizuna.TenantImpact{Members: 2, Domains: []string{"acme.example", "dept.acme.example"}, DeletedDomains: []string{},
		Rooms: 3, SharedRooms: 2, InviteLinks: 1, PendingMail: 1}
	if imp.Members != want.Members || !slices.Equal(imp.Domains, want.Domains) || len(imp.DeletedDomains) != 0 || imp.Rooms != want.Rooms ||
		imp.SharedRooms != want.SharedRooms || imp.InviteLinks != want.InviteLinks || imp.PendingMail != want.PendingMail {
		t.Fatalf("impact = %+v\nwant     %+v", *imp, want)
	}
	_, err = st.TenantImpact(ctx, kizuna.NewID())
	wantErr(t, err, kizuna.ErrNotFound, "not_found")

	w.cancel(t, st)
	tn, err := st.Tenant(ctx, w.acme.Tenant.ID)
	must(t, err)
	if tn.CancelledAt.IsZero() || !tn.PurgeAfter.Equal(fixedNow.Add(30*24*time.Hour)) {
		t.Errorf("cancelled tenant = %+v", tn)
	}
	// Once only, and no dry run of a cancelled tenant.
	wantErr(t, st.CancelTenant(ctx, w.acme.Tenant.ID, fixedNow, w.wrongCode, nil), kizuna.ErrNotFound, "not_found")
	_, err = st.TenantImpact(ctx, w.acme.Tenant.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")

	// Everyone is signed out and cannot sign in, also under the key.
	for _, a := range []*kizuna.Account{w.acme.Owner, w.sato} {
		_, err := st.SessionByTokenHash(ctx, w.sessions[a.ID].TokenHash)
		wantErr(t, err, kizuna.ErrNotFound, "not_found")
		_, err = st.AccountByAddress(ctx, a.Local, a.DomainName)
		wantErr(t, err, kizuna.ErrNotFound, "not_found")
		_, err = st.AccountByID(ctx, a.ID)
		wantErr(t, err, kizuna.ErrNotFound, "not_found")
	}
	// Nobody owns its domains: its members are external to everyone,
	// with the reason Classify gives for a domain of nobody.
	owners, err := st.DomainOwners(ctx, []string{w.acme.Domain.ID, w.dept.ID, w.partner.Domain.ID})
	must(t, err)
	if _, ok := owners[w.dept.ID]; ok || len(owners) != 1 {
		t.Errorf("owners after cancellation = %+v, want partner.example only", owners)
	}
	m := kizuna.DomainMapFunc(func(id string) (kizuna.DomainOwner, bool) { o, ok := owners[id]; return o, ok })
	c := kizuna.Classify(kizuna.PartyOf(w.tanaka), kizuna.PartyOf(w.sato), m)
	if c.Relation != kizuna.RelationExternalMember || c.Reason != "external: the account's domain no longer belongs to any tenant" {
		t.Errorf("sato for tanaka = %+v", c)
	}
	// The names stay reserved, and nothing can join the tenant meanwhile.
	for _, name := range []string{"acme.example", "dept.acme.example"} {
		err := st.AddDomain(ctx, &kizuna.Domain{ID: kizuna.NewID(), TenantID: w.partner.Tenant.ID, Name: name})
		wantErr(t, err, kizuna.ErrConflict, "domain_taken")
		_, err = st.RenameDomain(ctx, w.partner.Tenant.ID, w.partner.Domain.ID, name, fixedNow.Add(time.Hour), nil)
		wantErr(t, err, kizuna.ErrConflict, "domain_taken")
		_, err = st.DomainByName(ctx, name)
		wantErr(t, err, kizuna.ErrNotFound, "not_found")
	}
	err = st.AddAccount(ctx, w.acme.Tenant.ID, Member(w.dept, "newcomer"), cred())
	wantErr(t, err, kizuna.ErrNotFound, "domain_not_found")
	// Its pending mail does not go out; the act is on its audit trail.
	if got := listMail(t, st, w.acme.Tenant.ID, store.MailFailed); len(got) != 1 || got[0].ID != w.acmeMail.ID {
		t.Errorf("acme's failed mail = %+v", got)
	}
	entries, err := st.AuditLog(ctx, w.acme.Tenant.ID, store.AuditFilter{Action: "tenant.cancel", Limit: 10})
	must(t, err)
	if len(entries) != 1 {
		t.Errorf("audit = %+v", entries)
	}
	w.partnerUntouched(t, st)
}

func testTenantRestore(t *testing.T, st store.Store) {
	ctx := context.Background()
	move := setClock(st)
	if move == nil {
		t.Skip("the store has no settable clock")
	}
	w := newLifecycleWorld(t, st)
	w.cancel(t, st)

	list, err := st.CancelledTenants(ctx)
	must(t, err)
	if len(list) != 1 || list[0].Tenant.ID != w.acme.Tenant.ID || !slices.Equal(list[0].Domains, []string{"acme.example", "dept.acme.example"}) || list[0].Members != 2 {
		t.Fatalf("cancelled tenants = %+v", list)
	}
	_, err = st.TenantByRestoreCode(ctx, w.wrongCode)
	wantErr(t, err, kizuna.ErrNotFound, "not_restorable")
	found, err := st.TenantByRestoreCode(ctx, w.code)
	must(t, err)
	if found.ID != w.acme.Tenant.ID {
		t.Fatalf("code finds %+v", found)
	}
	// The code must match; another tenant cannot be restored with it.
	_, err = st.RestoreTenant(ctx, w.acme.Tenant.ID, w.wrongCode, nil)
	wantErr(t, err, kizuna.ErrNotFound, "not_restorable")
	_, err = st.RestoreTenant(ctx, w.partner.Tenant.ID, w.code, nil)
	wantErr(t, err, kizuna.ErrNotFound, "not_restorable")

	move(29 * 24 * time.Hour)
	audit := &kizuna.AuditEntry{ID: kizuna.NewID(), Action: "tenant.restore"}
	got, err := st.RestoreTenant(ctx, w.acme.Tenant.ID, w.code, audit)
	must(t, err)
	if !got.CancelledAt.IsZero() || !got.PurgeAfter.IsZero() || got.Name != "Acme" {
		t.Errorf("restored = %+v", got)
	}
	if audit.TenantID != w.acme.Tenant.ID {
		t.Errorf("audit entry's tenant = %q", audit.TenantID)
	}
	// Members sign in again, their domains are the tenant's again.
	if a, err := st.AccountByAddress(ctx, "sato", "dept.acme.example"); err != nil || a.ID != w.sato.ID {
		t.Errorf("sato after restore: %v, %v", a, err)
	}
	owners, err := st.DomainOwners(ctx, []string{w.dept.ID})
	must(t, err)
	if owners[w.dept.ID].TenantID != w.acme.Tenant.ID {
		t.Errorf("dept owner after restore = %+v", owners)
	}
	// The code worked once.
	_, err = st.TenantByRestoreCode(ctx, w.code)
	wantErr(t, err, kizuna.ErrNotFound, "not_restorable")
	_, err = st.RestoreTenant(ctx, w.acme.Tenant.ID, w.code, nil)
	wantErr(t, err, kizuna.ErrNotFound, "not_restorable")
	if list, _ := st.CancelledTenants(ctx); len(list) != 0 {
		t.Errorf("cancelled after restore = %+v", list)
	}

	// Past the purge date nobody restores, not even the operator.
	w.cancel(t, st) // purge date: fixedNow + 30 days, a day from now
	move(24 * time.Hour)
	_, err = st.RestoreTenant(ctx, w.acme.Tenant.ID, nil, nil)
	wantErr(t, err, kizuna.ErrNotFound, "not_restorable")
}

func testTenantPurge(t *testing.T, st store.Store) {
	ctx := context.Background()
	setClock(st)
	w := newLifecycleWorld(t, st)
	// A deleted domain of the tenant goes with it, whenever its own
	// purge date.
	old := addDomain(t, st, w.acme.Tenant.ID, "old.acme.example")
	addMember(t, st, w.acme.Tenant.ID, old, "gone")
	must(t, st.DeleteDomain(ctx, w.acme.Tenant.ID, old.ID, "", fixedNow.Add(90*24*time.Hour), nil))
	w.cancel(t, st)
	due := fixedNow.Add(30 * 24 * time.Hour)

	// Not before its date.
	if ids, err := st.ExpiredTenants(ctx, due.Add(-time.Millisecond), 10); err != nil || len(ids) != 0 {
		t.Fatalf("expired before the date = %v, %v", ids, err)
	}
	if c, err := st.PurgeTenant(ctx, w.acme.Tenant.ID, due.Add(-time.Millisecond)); err != nil || c != (store.PurgeCounts{}) {
		t.Fatalf("early purge = %+v, %v", c, err)
	}
	// A live tenant is never purged.
	if c, err := st.PurgeTenant(ctx, w.partner.Tenant.ID, due.Add(time.Hour)); err != nil || c != (store.PurgeCounts{}) {
		t.Fatalf("purging a live tenant = %+v, %v", c, err)
	}

	ids, err := st.ExpiredTenants(ctx, due, 10)
	must(t, err)
	if !slices.Equal(ids, []string{w.acme.Tenant.ID}) {
		t.Fatalf("expired = %v", ids)
	}
	c, err := st.PurgeTenant(ctx, w.acme.Tenant.ID, due)
	must(t, err)
	if want := (store.PurgeCounts{Tenants: 1, Domains: 3, Accounts: 3, Rooms: 1}); c != want {
		t.Errorf("purge = %+v, want %+v", c, want)
	}
	// A second run finds nothing.
	if c, err := st.PurgeTenant(ctx, w.acme.Tenant.ID, due); err != nil || c != (store.PurgeCounts{}) {
		t.Errorf("second purge = %+v, %v", c, err)
	}
	if ids, _ := st.ExpiredTenants(ctx, due, 10); len(ids) != 0 {
		t.Errorf("expired after the purge = %v", ids)
	}
	_, err = st.Tenant(ctx, w.acme.Tenant.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	_, err = st.RestoreTenant(ctx, w.acme.Tenant.ID, nil, nil)
	wantErr(t, err, kizuna.ErrNotFound, "not_restorable")
	_, err = st.TenantByRestoreCode(ctx, w.code)
	wantErr(t, err, kizuna.ErrNotFound, "not_restorable")

	// The room with Acme only is gone; the shared rooms stay with the
	// others in them, and sato's message stays under his ID.
	_, err = st.Room(ctx, w.internal.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	members, err := st.RoomMemberships(ctx, w.shared.ID)
	must(t, err)
	if len(members) != 1 || members[0].AccountID != w.tanaka.ID {
		t.Errorf("shared room members = %+v", members)
	}
	if ms, err := st.RoomMemberships(ctx, w.withHana.ID); err != nil || len(ms) != 1 || ms[0].AccountID != w.hana.ID {
		t.Errorf("hana's room members = %+v, %v", ms, err)
	}
	msgs, err := st.Messages(ctx, w.shared.ID, store.MessageFilter{Limit: 10})
	must(t, err)
	senders := map[string]bool{}
	for _, m := range msgs {
		senders[m.SenderID] = true
	}
	if len(msgs) != 2 || !senders[w.sato.ID] || !senders[w.tanaka.ID] {
		t.Errorf("shared history = %+v", msgs)
	}
	_, err = st.ContactBetween(ctx, w.sato.ID, w.tanaka.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	w.partnerUntouched(t, st)

	// Every name is free: another tenant takes them, and issues IDs in
	// them.
	for _, name := range []string{"acme.example", "dept.acme.example", "old.acme.example"} {
		d := addDomain(t, st, w.partner.Tenant.ID, name)
		addMember(t, st, w.partner.Tenant.ID, d, "sato")
	}
}

func testTenantPurgeConcurrent(t *testing.T, st store.Store) {
	setClock(st)
	w := newLifecycleWorld(t, st)
	w.cancel(t, st)
	due := fixedNow.Add(30 * 24 * time.Hour)
	var wg sync.WaitGroup
	counts := make([]store.PurgeCounts, 4)
	errs := make([]error, len(counts))
	for i := range counts {
		wg.Go(func() { counts[i], errs[i] = st.PurgeTenant(context.Background(), w.acme.Tenant.ID, due) })
	}
	wg.Wait()
	var total store.PurgeCounts
	for i := range counts {
		must(t, errs[i])
		total = total.Add(counts[i])
	}
	if total.Tenants != 1 || total.Accounts != 2 {
		t.Errorf("concurrent purges removed %+v in all, want one tenant with two accounts", total)
	}
	w.partnerUntouched(t, st)
}

func testDomainPurge(t *testing.T, st store.Store) {
	ctx := context.Background()
	setClock(st)
	w := newLifecycleWorld(t, st)
	due := fixedNow.Add(30 * 24 * time.Hour)
	// One member left before, one goes with the domain.
	left := addMember(t, st, w.acme.Tenant.ID, w.dept, "left")
	deleted := kizuna.StatusDeleted
	_, err := st.UpdateAccount(ctx, w.acme.Tenant.ID, left.ID, store.AccountUpdate{Status: &deleted})
	must(t, err)
	must(t, st.DeleteDomain(ctx, w.acme.Tenant.ID, w.dept.ID, "", due, nil))

	if ids, err := st.ExpiredDomains(ctx, due.Add(-time.Millisecond), 10); err != nil || len(ids) != 0 {
		t.Fatalf("expired before the date = %v, %v", ids, err)
	}
	if c, err := st.PurgeDomain(ctx, w.dept.ID, due.Add(-time.Millisecond), nil); err != nil || c != (store.PurgeCounts{}) {
		t.Fatalf("early purge = %+v, %v", c, err)
	}
	// A live domain is never purged.
	if c, err := st.PurgeDomain(ctx, w.acme.Domain.ID, due, nil); err != nil || c != (store.PurgeCounts{}) {
		t.Fatalf("purging a live domain = %+v, %v", c, err)
	}
	ids, err := st.ExpiredDomains(ctx, due, 10)
	must(t, err)
	if !slices.Equal(ids, []string{w.dept.ID}) {
		t.Fatalf("expired = %v", ids)
	}
	audit := &kizuna.AuditEntry{ID: kizuna.NewID(), Action: "domain.purge"}
	c, err := st.PurgeDomain(ctx, w.dept.ID, due, audit)
	must(t, err)
	if want := (store.PurgeCounts{Domains: 1, Accounts: 2}); c != want {
		t.Errorf("purge = %+v, want %+v", c, want)
	}
	if c, err := st.PurgeDomain(ctx, w.dept.ID, due, nil); err != nil || c != (store.PurgeCounts{}) {
		t.Errorf("second purge = %+v, %v", c, err)
	}
	_, err = st.RestoreDomain(ctx, w.acme.Tenant.ID, w.dept.ID, nil)
	wantErr(t, err, kizuna.ErrNotFound, "not_restorable")
	entries, err := st.AuditLog(ctx, w.acme.Tenant.ID, store.AuditFilter{Action: "domain.purge", Limit: 10})
	must(t, err)
	if len(entries) != 1 || entries[0].Target != "dept.acme.example" {
		t.Errorf("audit = %+v", entries)
	}

	// The rest of the tenant stays: its owner, the internal room (the
	// owner is still in it) and its history.
	if a, err := st.AccountByAddress(ctx, "admin", "acme.example"); err != nil || a.ID != w.acme.Owner.ID {
		t.Errorf("owner after the purge: %v, %v", a, err)
	}
	if ms, err := st.RoomMemberships(ctx, w.internal.ID); err != nil || len(ms) != 1 || ms[0].AccountID != w.acme.Owner.ID {
		t.Errorf("internal room members = %+v, %v", ms, err)
	}
	if msgs, err := st.Messages(ctx, w.internal.ID, store.MessageFilter{Limit: 10}); err != nil || len(msgs) != 1 || msgs[0].SenderID != w.sato.ID {
		t.Errorf("internal history = %+v, %v", msgs, err)
	}
	_, err = st.ContactBetween(ctx, w.sato.ID, w.tanaka.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	ds, err := st.Domains(ctx, w.acme.Tenant.ID)
	must(t, err)
	if len(ds) != 1 || ds[0].ID != w.acme.Domain.ID {
		t.Errorf("acme's domains = %+v", ds)
	}
	w.partnerUntouched(t, st)

	// The name is released: another tenant takes it and reuses the IDs.
	d := addDomain(t, st, w.partner.Tenant.ID, "dept.acme.example")
	addMember(t, st, w.partner.Tenant.ID, d, "sato")
	addMember(t, st, w.partner.Tenant.ID, d, "left")
}
