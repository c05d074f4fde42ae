// Package storetest holds the one test suite every store engine must pass
// (STYLE.md 14, after mattermost's store/storetest). An engine's own test
// calls Run with a function that opens a fresh, empty, migrated store; the
// suite never knows which engine it is talking to.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/store"
)

// Clock is implemented by stores whose clock a test may set. When the
// store given to Run implements it, the suite also checks timestamps and
// session expiry against a fixed clock; otherwise those checks use the
// real time.
type Clock interface {
	SetNow(now func() time.Time)
}

// Run runs the suite. open must return a fresh, empty, migrated store for
// each call and arrange (with t.Cleanup) for it to be closed and removed.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []suiteCase{
		{"Ping", testPing},
		{"CreateTenant", testCreateTenant},
		{"CreateTenantDomainTakenLeavesNothing", testCreateTenantDomainTaken},
		{"CreateTenantOwnerFailsLeavesNothing", testCreateTenantOwnerFails},
		{"TenantNotFound", testTenantNotFound},
		{"RenameTenant", testRenameTenant},
		{"AddDomain", testAddDomain},
		{"DomainsListsOnlyTheTenants", testDomainsScoped},
		{"DomainByName", testDomainByName},
		{"DomainOwners", testDomainOwners},
		{"DomainOwnersBatches", testDomainOwnersBatches},
		{"AddAccount", testAddAccount},
		{"AddAccountDomainNotTenants", testAddAccountDomainNotTenants},
		{"DeletedAccountFreesID", testDeletedAccountFreesID},
		{"PersonalAccounts", testPersonalAccounts},
		{"AddAccountsAllOrNothing", testAddAccountsAllOrNothing},
		{"AccountScopedToTenant", testAccountScoped},
		{"AccountByID", testAccountByID},
		{"AccountByAddress", testAccountByAddress},
		{"Credential", testCredential},
		{"AccountsPagination", testAccountsPagination},
		{"UpdateAccount", testUpdateAccount},
		{"CountOwners", testCountOwners},
		{"Sessions", testSessions},
		{"SessionExpiry", testSessionExpiry},
		{"SetupToken", testSetupToken},
		{"Leases", testLeases},
	}
	tests = append(tests, talkCases()...)
	tests = append(tests, contactCases()...)
	tests = append(tests, lifecycleCases()...)
	tests = append(tests, reclassificationCases()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// suiteCase is one test of the suite, run on a fresh store.
type suiteCase struct {
	name string
	fn   func(t *testing.T, st store.Store)
}

// fixedNow is the clock the suite sets on stores that implement Clock: a
// whole millisecond in UTC, so that stored times read back equal.
var fixedNow = time.Date(2026, 4, 1, 9, 30, 0, 0, time.UTC)

// setClock sets st's clock to a movable time and returns a function that
// moves it, or nil when st has no settable clock.
func setClock(st store.Store) func(d time.Duration) {
	c, ok := st.(Clock)
	if !ok {
		return nil
	}
	now := fixedNow
	c.SetNow(func() time.Time { return now })
	return func(d time.Duration) { now = now.Add(d) }
}

// wantErr fails unless err carries the kind and code.
func wantErr(t *testing.T, err error, kind error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s (%v)", code, kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("got %v, want an error of kind %v", err, kind)
	}
	if got := kizuna.ErrorCode(err); got != code {
		t.Fatalf("got code %q (%v), want %q", got, err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// cred returns a credential like the ones the service stores for a
// generated initial password.
func cred() kizuna.Credential {
	return kizuna.Credential{Hash: password.HashGenerated(password.Generate()), Initial: true}
}

// Member returns a new active member account with the given local part.
// Benchmarks and engine tests build fixtures with it.
func Member(d *kizuna.Domain, local string) *kizuna.Account {
	return &kizuna.Account{
		ID:          kizuna.NewID(),
		Kind:        kizuna.KindMember,
		DomainID:    d.ID,
		Local:       local,
		DisplayName: "Member " + local,
		Role:        kizuna.RoleMember,
		Status:      kizuna.StatusActive,
	}
}

func personal(handle string) *kizuna.Account {
	return &kizuna.Account{
		ID:          kizuna.NewID(),
		Kind:        kizuna.KindPersonal,
		Local:       handle,
		DisplayName: "Personal " + handle,
		Role:        kizuna.RoleMember,
		Status:      kizuna.StatusActive,
	}
}

// tenantFixture is a tenant created through CreateTenant.
type tenantFixture struct {
	Tenant *kizuna.Tenant
	Domain *kizuna.Domain
	Owner  *kizuna.Account
}

// NewTenant returns the arguments of a CreateTenant for a tenant named name
// with one domain and an owner "admin@domain".
func NewTenant(name, domain string) store.NewTenant {
	d := &kizuna.Domain{ID: kizuna.NewID(), Name: domain}
	owner := Member(d, "admin")
	owner.Role = kizuna.RoleOwner
	owner.MustChangePassword = true
	return store.NewTenant{
		Tenant:     &kizuna.Tenant{ID: kizuna.NewID(), Name: name},
		Domain:     d,
		Owner:      owner,
		Credential: cred(),
	}
}

func createTenant(t testing.TB, st store.Store, name, domain string) tenantFixture {
	t.Helper()
	nt := NewTenant(name, domain)
	if err := st.CreateTenant(context.Background(), nt); err != nil {
		t.Fatalf("CreateTenant(%s, %s): %v", name, domain, err)
	}
	return tenantFixture{Tenant: nt.Tenant, Domain: nt.Domain, Owner: nt.Owner}
}

func addDomain(t *testing.T, st store.Store, tenantID, name string) *kizuna.Domain {
	t.Helper()
	d := &kizuna.Domain{ID: kizuna.NewID(), TenantID: tenantID, Name: name}
	if err := st.AddDomain(context.Background(), d); err != nil {
		t.Fatalf("AddDomain(%s): %v", name, err)
	}
	return d
}

func addMember(t testing.TB, st store.Store, tenantID string, d *kizuna.Domain, local string) *kizuna.Account {
	t.Helper()
	a := Member(d, local)
	if err := st.AddAccount(context.Background(), tenantID, a, cred()); err != nil {
		t.Fatalf("AddAccount(%s@%s): %v", local, d.Name, err)
	}
	return a
}

func countTenants(t *testing.T, st store.Store) int {
	t.Helper()
	n, err := st.CountTenants(context.Background())
	must(t, err)
	return n
}

func listAll(t *testing.T, st store.Store, tenantID string, includeDeleted bool) []*kizuna.Account {
	t.Helper()
	as, err := st.Accounts(context.Background(), tenantID, store.AccountFilter{Limit: 1000, IncludeDeleted: includeDeleted})
	must(t, err)
	return as
}

func ids(as []*kizuna.Account) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func newSession(accountID string, expires time.Time) *kizuna.Session {
	id := kizuna.NewID()
	return &kizuna.Session{
		ID:        id,
		AccountID: accountID,
		TokenHash: []byte("token-hash-" + id),
		ExpiresAt: expires,
	}
}

func testPing(t *testing.T, st store.Store) {
	must(t, st.Ping(context.Background()))
}

func testCreateTenant(t *testing.T, st store.Store) {
	ctx := context.Background()
	setClock(st)
	if n := countTenants(t, st); n != 0 {
		t.Fatalf("fresh store has %d tenants, want 0", n)
	}
	f := createTenant(t, st, "Acme", "acme.example")
	if n := countTenants(t, st); n != 1 {
		t.Fatalf("CountTenants = %d, want 1", n)
	}

	got, err := st.Tenant(ctx, f.Tenant.ID)
	must(t, err)
	if got.ID != f.Tenant.ID || got.Name != "Acme" {
		t.Fatalf("Tenant = %+v, want ID %s name Acme", got, f.Tenant.ID)
	}
	if _, ok := st.(Clock); ok && (!got.CreatedAt.Equal(fixedNow) || !got.UpdatedAt.Equal(fixedNow)) {
		t.Errorf("Tenant times = %v, %v; want the store clock %v", got.CreatedAt, got.UpdatedAt, fixedNow)
	}
	if got.CreatedAt.IsZero() {
		t.Error("Tenant.CreatedAt is zero")
	}

	ds, err := st.Domains(ctx, f.Tenant.ID)
	must(t, err)
	if len(ds) != 1 || ds[0].ID != f.Domain.ID || ds[0].Name != "acme.example" || ds[0].TenantID != f.Tenant.ID {
		t.Fatalf("Domains = %+v, want the one domain acme.example", ds)
	}

	owner, err := st.Account(ctx, f.Tenant.ID, f.Owner.ID)
	must(t, err)
	want := kizuna.Account{
		ID: f.Owner.ID, Kind: kizuna.KindMember, TenantID: f.Tenant.ID, DomainID: f.Domain.ID,
		Local: "admin", DomainName: "acme.example", TenantName: "Acme", DisplayName: f.Owner.DisplayName,
		Role: kizuna.RoleOwner, Status: kizuna.StatusActive, MustChangePassword: true,
		CreatedAt: owner.CreatedAt, UpdatedAt: owner.UpdatedAt,
	}
	if *owner != want {
		t.Fatalf("owner = %+v\nwant    %+v", *owner, want)
	}
	if owner.Address() != "admin@acme.example" {
		t.Errorf("owner.Address() = %q", owner.Address())
	}
	if n, err := st.CountOwners(ctx, f.Tenant.ID); err != nil || n != 1 {
		t.Fatalf("CountOwners = %d, %v; want 1", n, err)
	}
}

func testCreateTenantDomainTaken(t *testing.T, st store.Store) {
	ctx := context.Background()
	createTenant(t, st, "Acme", "acme.example")

	nt := NewTenant("Impostor", "acme.example")
	err := st.CreateTenant(ctx, nt)
	wantErr(t, err, kizuna.ErrConflict, "domain_taken")

	if n := countTenants(t, st); n != 1 {
		t.Fatalf("after a failed CreateTenant, CountTenants = %d, want 1: the tenant row was left behind", n)
	}
	_, err = st.Tenant(ctx, nt.Tenant.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	_, err = st.AccountByID(ctx, nt.Owner.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	ds, err := st.Domains(ctx, nt.Tenant.ID)
	must(t, err)
	if len(ds) != 0 {
		t.Fatalf("failed tenant has domains %+v", ds)
	}
}

// testCreateTenantOwnerFails makes the last step (the owner) fail and
// checks that the tenant and its domain are rolled back with it.
func testCreateTenantOwnerFails(t *testing.T, st store.Store) {
	ctx := context.Background()
	first := createTenant(t, st, "Acme", "acme.example")

	nt := NewTenant("Second", "second.example")
	nt.Owner.ID = first.Owner.ID // the account key is taken
	if err := st.CreateTenant(ctx, nt); err == nil {
		t.Fatal("CreateTenant with a duplicate owner key succeeded")
	} else if errors.Is(err, kizuna.ErrInternal) || kizuna.ErrorCode(err) == "internal" {
		t.Fatalf("duplicate owner key gave an internal error %v, want a conflict", err)
	}
	if n := countTenants(t, st); n != 1 {
		t.Fatalf("CountTenants = %d, want 1", n)
	}
	_, err := st.DomainByName(ctx, "second.example")
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	// The domain is free: a retry with a fresh owner succeeds.
	createTenant(t, st, "Second", "second.example")
}

func testTenantNotFound(t *testing.T, st store.Store) {
	_, err := st.Tenant(context.Background(), kizuna.NewID())
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	_, err = st.Tenant(context.Background(), "")
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
}

func testRenameTenant(t *testing.T, st store.Store) {
	ctx := context.Background()
	advance := setClock(st)
	f := createTenant(t, st, "Acme", "acme.example")
	other := createTenant(t, st, "Other", "other.example")
	if advance != nil {
		advance(time.Hour)
	}

	got, err := st.RenameTenant(ctx, f.Tenant.ID, "Acme Holdings")
	must(t, err)
	if got.Name != "Acme Holdings" || got.ID != f.Tenant.ID {
		t.Fatalf("RenameTenant returned %+v", got)
	}
	if advance != nil && (!got.UpdatedAt.Equal(fixedNow.Add(time.Hour)) || !got.CreatedAt.Equal(fixedNow)) {
		t.Errorf("after rename CreatedAt = %v, UpdatedAt = %v; want %v, %v", got.CreatedAt, got.UpdatedAt, fixedNow, fixedNow.Add(time.Hour))
	}
	read, err := st.Tenant(ctx, f.Tenant.ID)
	must(t, err)
	if read.Name != "Acme Holdings" {
		t.Fatalf("Tenant after rename = %q", read.Name)
	}
	// Names are read at read time: the owner shows the new tenant name.
	owner, err := st.Account(ctx, f.Tenant.ID, f.Owner.ID)
	must(t, err)
	if owner.TenantName != "Acme Holdings" {
		t.Errorf("owner.TenantName = %q after rename", owner.TenantName)
	}
	if o, _ := st.Tenant(ctx, other.Tenant.ID); o.Name != "Other" {
		t.Errorf("renaming one tenant renamed another: %q", o.Name)
	}

	_, err = st.RenameTenant(ctx, kizuna.NewID(), "Ghost")
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	if n := countTenants(t, st); n != 2 {
		t.Fatalf("CountTenants = %d, want 2", n)
	}
}

func testAddDomain(t *testing.T, st store.Store) {
	ctx := context.Background()
	setClock(st)
	a := createTenant(t, st, "Acme", "acme.example")
	b := createTenant(t, st, "Partner Co", "partner.example")

	sales := addDomain(t, st, a.Tenant.ID, "sales.acme.example")
	if _, ok := st.(Clock); ok && !sales.CreatedAt.Equal(fixedNow) {
		t.Errorf("AddDomain CreatedAt = %v, want %v", sales.CreatedAt, fixedNow)
	}
	ds, err := st.Domains(ctx, a.Tenant.ID)
	must(t, err)
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
		if d.TenantID != a.Tenant.ID {
			t.Errorf("domain %s has tenant %s, want %s", d.Name, d.TenantID, a.Tenant.ID)
		}
	}
	if want := []string{"acme.example", "sales.acme.example"}; !slices.Equal(names, want) {
		t.Fatalf("Domains = %v, want %v (by name)", names, want)
	}

	// A name owned by another tenant, or by the same tenant, is taken.
	for _, tc := range []struct{ tenant, name string }{
		{a.Tenant.ID, "partner.example"},
		{b.Tenant.ID, "acme.example"},
		{a.Tenant.ID, "sales.acme.example"},
	} {
		err := st.AddDomain(ctx, &kizuna.Domain{ID: kizuna.NewID(), TenantID: tc.tenant, Name: tc.name})
		wantErr(t, err, kizuna.ErrConflict, "domain_taken")
	}
	// The failed attempts changed nothing.
	if d, err := st.DomainByName(ctx, "partner.example"); err != nil || d.TenantID != b.Tenant.ID {
		t.Fatalf("partner.example after conflicts = %+v, %v", d, err)
	}

	err = st.AddDomain(ctx, &kizuna.Domain{ID: kizuna.NewID(), TenantID: kizuna.NewID(), Name: "ghost.example"})
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	_, err = st.DomainByName(ctx, "ghost.example")
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
}

func testDomainsScoped(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	b := createTenant(t, st, "Partner Co", "partner.example")
	addDomain(t, st, b.Tenant.ID, "b2.partner.example")
	addDomain(t, st, a.Tenant.ID, "zz.acme.example")

	for _, tc := range []struct {
		tenant string
		want   []string
	}{
		{a.Tenant.ID, []string{"acme.example", "zz.acme.example"}},
		{b.Tenant.ID, []string{"b2.partner.example", "partner.example"}},
		{kizuna.NewID(), nil},
	} {
		ds, err := st.Domains(ctx, tc.tenant)
		must(t, err)
		var names []string
		for _, d := range ds {
			names = append(names, d.Name)
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("Domains(%s) = %v, want %v", tc.tenant, names, tc.want)
		}
	}
}

func testDomainByName(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	idn := addDomain(t, st, a.Tenant.ID, "xn--bcher-kva.example")

	d, err := st.DomainByName(ctx, "acme.example")
	must(t, err)
	if d.ID != a.Domain.ID || d.TenantID != a.Tenant.ID || d.Name != "acme.example" || d.CreatedAt.IsZero() {
		t.Fatalf("DomainByName = %+v", d)
	}
	d, err = st.DomainByName(ctx, "xn--bcher-kva.example")
	must(t, err)
	if d.ID != idn.ID {
		t.Fatalf("DomainByName(IDN) = %+v, want %s", d, idn.ID)
	}
	for _, name := range []string{"missing.example", "", "example"} {
		_, err = st.DomainByName(ctx, name)
		wantErr(t, err, kizuna.ErrNotFound, "not_found")
	}
}

func testDomainOwners(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	b := createTenant(t, st, "Partner Co", "partner.example")
	sales := addDomain(t, st, a.Tenant.ID, "sales.acme.example")
	ghost := kizuna.NewID()

	got, err := st.DomainOwners(ctx, []string{a.Domain.ID, sales.ID, b.Domain.ID, ghost, a.Domain.ID, ""})
	must(t, err)
	want := map[string]kizuna.DomainOwner{
		a.Domain.ID: {DomainName: "acme.example", TenantID: a.Tenant.ID, TenantName: "Acme"},
		sales.ID:    {DomainName: "sales.acme.example", TenantID: a.Tenant.ID, TenantName: "Acme"},
		b.Domain.ID: {DomainName: "partner.example", TenantID: b.Tenant.ID, TenantName: "Partner Co"},
	}
	if len(got) != len(want) {
		t.Fatalf("DomainOwners = %+v, want %+v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("DomainOwners[%s] = %+v, want %+v", id, got[id], w)
		}
	}
	if _, ok := got[ghost]; ok {
		t.Error("an unknown domain ID is in the map")
	}

	// The mapping is current: a tenant rename shows at once.
	_, err = st.RenameTenant(ctx, b.Tenant.ID, "Partner Holdings")
	must(t, err)
	got, err = st.DomainOwners(ctx, []string{b.Domain.ID})
	must(t, err)
	if got[b.Domain.ID].TenantName != "Partner Holdings" {
		t.Errorf("after rename DomainOwners = %+v", got)
	}

	for _, in := range [][]string{nil, {}, {ghost}} {
		got, err := st.DomainOwners(ctx, in)
		must(t, err)
		if got == nil || len(got) != 0 {
			t.Errorf("DomainOwners(%v) = %#v, want an empty map", in, got)
		}
	}
}

// testDomainOwnersBatches asks for more IDs than one query may carry, with
// known IDs in every batch and at the batch edges.
func testDomainOwnersBatches(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	known := map[int]*kizuna.Domain{0: a.Domain}
	for _, i := range []int{1, 499, 500, 501, 999, 1000, 1001, 1499, 1500, 2049} {
		known[i] = addDomain(t, st, a.Tenant.ID, fmt.Sprintf("d%d.acme.example", i))
	}
	in := make([]string, 2050)
	for i := range in {
		if d, ok := known[i]; ok {
			in[i] = d.ID
		} else {
			in[i] = kizuna.NewID()
		}
	}
	got, err := st.DomainOwners(ctx, in)
	must(t, err)
	if len(got) != len(known) {
		t.Fatalf("DomainOwners of %d IDs returned %d entries, want %d", len(in), len(got), len(known))
	}
	for i, d := range known {
		if o, ok := got[d.ID]; !ok || o.DomainName != d.Name || o.TenantID != a.Tenant.ID {
			t.Errorf("ID at position %d: got %+v, %v", i, o, ok)
		}
	}
}

func testAddAccount(t *testing.T, st store.Store) {
	ctx := context.Background()
	setClock(st)
	a := createTenant(t, st, "Acme", "acme.example")
	sales := addDomain(t, st, a.Tenant.ID, "sales.acme.example")

	taro := Member(a.Domain, "taro")
	taro.DisplayName = "山田 太郎"
	must(t, st.AddAccount(ctx, a.Tenant.ID, taro, cred()))
	if taro.TenantID != a.Tenant.ID || taro.DomainName != "acme.example" {
		t.Errorf("AddAccount did not fill TenantID/DomainName: %+v", taro)
	}
	if _, ok := st.(Clock); ok && (!taro.CreatedAt.Equal(fixedNow) || !taro.UpdatedAt.Equal(fixedNow)) {
		t.Errorf("AddAccount times %v, %v; want %v", taro.CreatedAt, taro.UpdatedAt, fixedNow)
	}
	got, err := st.Account(ctx, a.Tenant.ID, taro.ID)
	must(t, err)
	if got.DisplayName != "山田 太郎" || got.Address() != "taro@acme.example" || got.Kind != kizuna.KindMember ||
		got.Role != kizuna.RoleMember || got.Status != kizuna.StatusActive || got.MustChangePassword {
		t.Fatalf("Account = %+v", got)
	}
	if _, ok := st.(Clock); ok && (!got.CreatedAt.Equal(fixedNow) || !got.UpdatedAt.Equal(fixedNow)) {
		t.Errorf("stored times %v, %v; want %v", got.CreatedAt, got.UpdatedAt, fixedNow)
	}

	// The same local part in the same domain is taken, whatever the key.
	err = st.AddAccount(ctx, a.Tenant.ID, Member(a.Domain, "taro"), cred())
	wantErr(t, err, kizuna.ErrConflict, "id_taken")
	if !strings.Contains(kizuna.AsError(err).Message, "taro@acme.example") {
		t.Errorf("id_taken message %q does not name the ID", kizuna.AsError(err).Message)
	}
	// The same local part in another domain is another ID (R4: a
	// department with its own domain).
	other := addMember(t, st, a.Tenant.ID, sales, "taro")
	if other.Address() != "taro@sales.acme.example" {
		t.Errorf("second taro address = %q", other.Address())
	}
	// And in another tenant's domain, too.
	b := createTenant(t, st, "Partner Co", "partner.example")
	addMember(t, st, b.Tenant.ID, b.Domain, "taro")

	if as := listAll(t, st, a.Tenant.ID, true); len(as) != 3 {
		t.Fatalf("tenant has %d accounts, want 3 (owner and two taros): %v", len(as), ids(as))
	}
}

func testAddAccountDomainNotTenants(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	b := createTenant(t, st, "Partner Co", "partner.example")

	// A member in another tenant's domain would belong to that tenant
	// (R2): the store refuses it.
	spy := Member(b.Domain, "spy")
	err := st.AddAccount(ctx, a.Tenant.ID, spy, cred())
	wantErr(t, err, kizuna.ErrNotFound, "domain_not_found")
	// A domain that does not exist at all answers the same.
	err = st.AddAccount(ctx, a.Tenant.ID, Member(&kizuna.Domain{ID: kizuna.NewID()}, "ghost"), cred())
	wantErr(t, err, kizuna.ErrNotFound, "domain_not_found")
	// So does a tenant that does not exist.
	err = st.AddAccount(ctx, kizuna.NewID(), Member(a.Domain, "lost"), cred())
	wantErr(t, err, kizuna.ErrNotFound, "domain_not_found")

	_, err = st.AccountByID(ctx, spy.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	_, err = st.AccountByAddress(ctx, "spy", "partner.example")
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	if as := listAll(t, st, b.Tenant.ID, true); len(as) != 1 {
		t.Fatalf("partner has %d accounts, want only its owner", len(as))
	}
}

func testDeletedAccountFreesID(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	old := addMember(t, st, a.Tenant.ID, a.Domain, "hanako")
	sess := newSession(old.ID, time.Now().Add(time.Hour))
	must(t, st.CreateSession(ctx, sess))

	deleted := kizuna.StatusDeleted
	_, err := st.UpdateAccount(ctx, a.Tenant.ID, old.ID, store.AccountUpdate{Status: &deleted})
	must(t, err)
	_, err = st.Account(ctx, a.Tenant.ID, old.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	_, err = st.AccountByID(ctx, old.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	_, err = st.Credential(ctx, old.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	_, err = st.SessionByTokenHash(ctx, sess.TokenHash)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")

	// R13: the person can be added again at once, under a new key.
	again := addMember(t, st, a.Tenant.ID, a.Domain, "hanako")
	got, err := st.AccountByAddress(ctx, "hanako", "acme.example")
	must(t, err)
	if got.ID != again.ID {
		t.Fatalf("AccountByAddress = %s, want the new account %s", got.ID, again.ID)
	}
	// A deleted account cannot be changed any more.
	name := "Zombie"
	_, err = st.UpdateAccount(ctx, a.Tenant.ID, old.ID, store.AccountUpdate{DisplayName: &name})
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	err = st.SetCredential(ctx, old.ID, cred(), false, true)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")

	live := listAll(t, st, a.Tenant.ID, false)
	all := listAll(t, st, a.Tenant.ID, true)
	if len(live) != 2 || len(all) != 3 {
		t.Fatalf("live %v, all %v; want 2 and 3", ids(live), ids(all))
	}
	if slices.Contains(ids(live), old.ID) {
		t.Error("the deleted account is listed")
	}
	var seen bool
	for _, x := range all {
		if x.ID == old.ID {
			seen = true
			if x.Status != kizuna.StatusDeleted {
				t.Errorf("deleted account listed with status %s", x.Status)
			}
		}
	}
	if !seen {
		t.Error("IncludeDeleted does not list the deleted account")
	}
}

func testPersonalAccounts(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")

	p := personal("taro")
	must(t, st.AddAccount(ctx, "", p, cred()))
	got, err := st.Account(ctx, "", p.ID)
	must(t, err)
	if got.Kind != kizuna.KindPersonal || got.TenantID != "" || got.DomainID != "" || got.DomainName != "" ||
		got.TenantName != "" || got.Address() != "taro" {
		t.Fatalf("personal account = %+v", got)
	}
	// A personal account is nobody's member.
	_, err = st.Account(ctx, a.Tenant.ID, p.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	_, err = st.Account(ctx, "", a.Owner.ID)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	if as := listAll(t, st, a.Tenant.ID, true); len(as) != 1 {
		t.Fatalf("tenant lists %d accounts, want only its owner", len(as))
	}

	// Handles are unique.
	err = st.AddAccount(ctx, "", personal("taro"), cred())
	wantErr(t, err, kizuna.ErrConflict, "id_taken")
	// A member's local part does not clash with a handle, nor the reverse.
	addMember(t, st, a.Tenant.ID, a.Domain, "taro")
	must(t, st.AddAccount(ctx, "", personal("admin"), cred()))

	byAddr, err := st.AccountByAddress(ctx, "taro", "")
	must(t, err)
	if byAddr.ID != p.ID {
		t.Fatalf("AccountByAddress(taro, \"\") = %s, want the personal account %s", byAddr.ID, p.ID)
	}
	byAddr, err = st.AccountByAddress(ctx, "taro", "acme.example")
	must(t, err)
	if byAddr.Kind != kizuna.KindMember {
		t.Fatalf("AccountByAddress(taro, acme.example) = %+v", byAddr)
	}
	byID, err := st.AccountByID(ctx, p.ID)
	must(t, err)
	if byID.Kind != kizuna.KindPersonal {
		t.Fatalf("AccountByID = %+v", byID)
	}
}

func testAddAccountsAllOrNothing(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	b := createTenant(t, st, "Partner Co", "partner.example")

	batch := func(locals ...string) ([]*kizuna.Account, []kizuna.Credential) {
		as := make([]*kizuna.Account, len(locals))
		cs := make([]kizuna.Credential, len(locals))
		for i, l := range locals {
			as[i], cs[i] = Member(a.Domain, l), cred()
		}
		return as, cs
	}

	// A duplicate inside the batch: nothing is stored.
	as, cs := batch("m1", "m2", "m3", "m1", "m5")
	err := st.AddAccounts(ctx, a.Tenant.ID, as, cs)
	wantErr(t, err, kizuna.ErrConflict, "id_taken")
	// A clash with an existing account: nothing is stored.
	as, cs = batch("m1", "m2", "admin")
	err = st.AddAccounts(ctx, a.Tenant.ID, as, cs)
	wantErr(t, err, kizuna.ErrConflict, "id_taken")
	// One row in another tenant's domain: nothing is stored.
	as, cs = batch("m1", "m2")
	as = append(as, Member(b.Domain, "m3"))
	cs = append(cs, cred())
	err = st.AddAccounts(ctx, a.Tenant.ID, as, cs)
	wantErr(t, err, kizuna.ErrNotFound, "domain_not_found")
	// Mismatched lengths are refused.
	as, cs = batch("m1", "m2")
	if err := st.AddAccounts(ctx, a.Tenant.ID, as, cs[:1]); err == nil {
		t.Fatal("AddAccounts with fewer credentials than accounts succeeded")
	}
	if got := listAll(t, st, a.Tenant.ID, true); len(got) != 1 {
		t.Fatalf("after failed batches the tenant has %d accounts %v, want only the owner", len(got), ids(got))
	}
	if got := listAll(t, st, b.Tenant.ID, true); len(got) != 1 {
		t.Fatalf("after failed batches the partner has %d accounts, want only the owner", len(got))
	}

	// The same batch, corrected, is stored whole.
	as, cs = batch("m1", "m2", "m3", "m4", "m5")
	must(t, st.AddAccounts(ctx, a.Tenant.ID, as, cs))
	if got := listAll(t, st, a.Tenant.ID, false); len(got) != 6 {
		t.Fatalf("after a good batch the tenant has %d accounts, want 6", len(got))
	}
	for _, x := range as {
		if _, err := st.AccountByAddress(ctx, x.Local, "acme.example"); err != nil {
			t.Errorf("%s: %v", x.Local, err)
		}
	}
	// An empty batch is no error.
	must(t, st.AddAccounts(ctx, a.Tenant.ID, nil, nil))
}

func testAccountScoped(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	b := createTenant(t, st, "Partner Co", "partner.example")
	theirs := addMember(t, st, b.Tenant.ID, b.Domain, "secret")

	_, errOther := st.Account(ctx, a.Tenant.ID, theirs.ID)
	_, errMissing := st.Account(ctx, a.Tenant.ID, kizuna.NewID())
	wantErr(t, errOther, kizuna.ErrNotFound, "not_found")
	wantErr(t, errMissing, kizuna.ErrNotFound, "not_found")
	if kizuna.AsError(errOther).Message != kizuna.AsError(errMissing).Message {
		t.Errorf("another tenant's account answers %q, a missing one %q: they must be the same",
			kizuna.AsError(errOther).Message, kizuna.AsError(errMissing).Message)
	}

	name := "Hijacked"
	suspended := kizuna.StatusSuspended
	_, errOther = st.UpdateAccount(ctx, a.Tenant.ID, theirs.ID, store.AccountUpdate{DisplayName: &name, Status: &suspended})
	_, errMissing = st.UpdateAccount(ctx, a.Tenant.ID, kizuna.NewID(), store.AccountUpdate{DisplayName: &name})
	wantErr(t, errOther, kizuna.ErrNotFound, "not_found")
	wantErr(t, errMissing, kizuna.ErrNotFound, "not_found")
	if kizuna.AsError(errOther).Message != kizuna.AsError(errMissing).Message {
		t.Errorf("UpdateAccount: another tenant's account answers %q, a missing one %q",
			kizuna.AsError(errOther).Message, kizuna.AsError(errMissing).Message)
	}
	got, err := st.Account(ctx, b.Tenant.ID, theirs.ID)
	must(t, err)
	if got.DisplayName == "Hijacked" || got.Status != kizuna.StatusActive {
		t.Fatalf("another tenant changed the account: %+v", got)
	}

	if slices.Contains(ids(listAll(t, st, a.Tenant.ID, true)), theirs.ID) {
		t.Error("Accounts lists another tenant's member")
	}
	if n, err := st.CountOwners(ctx, a.Tenant.ID); err != nil || n != 1 {
		t.Errorf("CountOwners(a) = %d, %v; want 1", n, err)
	}
}

func testAccountByID(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	b := createTenant(t, st, "Partner Co", "partner.example")
	m := addMember(t, st, b.Tenant.ID, b.Domain, "hana")
	p := personal("solo")
	must(t, st.AddAccount(ctx, "", p, cred()))

	for _, want := range []*kizuna.Account{a.Owner, m, p} {
		got, err := st.AccountByID(ctx, want.ID)
		must(t, err)
		if got.ID != want.ID || got.Local != want.Local || got.TenantID != want.TenantID {
			t.Errorf("AccountByID(%s) = %+v", want.ID, got)
		}
	}
	got, _ := st.AccountByID(ctx, m.ID)
	if got.TenantName != "Partner Co" || got.DomainName != "partner.example" {
		t.Errorf("AccountByID names = %q, %q", got.TenantName, got.DomainName)
	}

	// A suspended account is still found (the service decides what it may do).
	suspended := kizuna.StatusSuspended
	_, err := st.UpdateAccount(ctx, b.Tenant.ID, m.ID, store.AccountUpdate{Status: &suspended})
	must(t, err)
	got, err = st.AccountByID(ctx, m.ID)
	must(t, err)
	if got.Status != kizuna.StatusSuspended {
		t.Errorf("status = %s, want suspended", got.Status)
	}

	_, err = st.AccountByID(ctx, kizuna.NewID())
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
}

func testAccountByAddress(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	b := createTenant(t, st, "Partner Co", "partner.example")
	mine := addMember(t, st, a.Tenant.ID, a.Domain, "ken.sato")
	theirs := addMember(t, st, b.Tenant.ID, b.Domain, "ken.sato")

	for _, tc := range []struct {
		local, domain string
		want          *kizuna.Account
	}{
		{"ken.sato", "acme.example", mine},
		{"ken.sato", "partner.example", theirs},
		{"admin", "acme.example", a.Owner},
	} {
		got, err := st.AccountByAddress(ctx, tc.local, tc.domain)
		must(t, err)
		if got.ID != tc.want.ID || got.Address() != tc.local+"@"+tc.domain {
			t.Errorf("AccountByAddress(%s, %s) = %s (%s), want %s", tc.local, tc.domain, got.ID, got.Address(), tc.want.ID)
		}
	}
	for _, tc := range []struct{ local, domain string }{
		{"ken.sato", "missing.example"},
		{"nobody", "acme.example"},
		{"ken.sato", ""}, // members are not personal handles
		{"", "acme.example"},
	} {
		_, err := st.AccountByAddress(ctx, tc.local, tc.domain)
		wantErr(t, err, kizuna.ErrNotFound, "not_found")
	}
}

func testCredential(t *testing.T, st store.Store) {
	ctx := context.Background()
	advance := setClock(st)
	a := createTenant(t, st, "Acme", "acme.example")
	m := Member(a.Domain, "taro")
	m.MustChangePassword = true
	initial := cred()
	must(t, st.AddAccount(ctx, a.Tenant.ID, m, initial))

	c, err := st.Credential(ctx, m.ID)
	must(t, err)
	if c.Hash != initial.Hash || !c.Initial || c.SetAt.IsZero() {
		t.Fatalf("Credential = %+v, want hash %q initial", c, initial.Hash)
	}
	if advance != nil && !c.SetAt.Equal(fixedNow) {
		t.Errorf("SetAt = %v, want the store clock %v", c.SetAt, fixedNow)
	}

	s1 := newSession(m.ID, time.Now().Add(time.Hour))
	s2 := newSession(m.ID, time.Now().Add(time.Hour))
	other := newSession(a.Owner.ID, time.Now().Add(time.Hour))
	for _, s := range []*kizuna.Session{s1, s2, other} {
		must(t, st.CreateSession(ctx, s))
	}

	// The member sets a password: the initial one is gone, sessions stay
	// (the caller revokes the password-change-only session itself).
	if advance != nil {
		advance(time.Minute)
	}
	chosen := kizuna.Credential{Hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$a2V5"}
	must(t, st.SetCredential(ctx, m.ID, chosen, false, false))
	c, err = st.Credential(ctx, m.ID)
	must(t, err)
	if c.Hash != chosen.Hash || c.Initial {
		t.Fatalf("after SetCredential Credential = %+v", c)
	}
	if advance != nil && !c.SetAt.Equal(fixedNow.Add(time.Minute)) {
		t.Errorf("SetAt = %v, want %v", c.SetAt, fixedNow.Add(time.Minute))
	}
	got, err := st.Account(ctx, a.Tenant.ID, m.ID)
	must(t, err)
	if got.MustChangePassword {
		t.Error("MustChangePassword still set")
	}
	if _, err := st.SessionByTokenHash(ctx, s1.TokenHash); err != nil {
		t.Fatalf("SetCredential without revokeSessions revoked a session: %v", err)
	}

	// An admin reissues an initial password: signed out everywhere (R6).
	reissued := kizuna.Credential{Hash: password.HashGenerated("x"), Initial: true, SetAt: fixedNow.Add(48 * time.Hour)}
	must(t, st.SetCredential(ctx, m.ID, reissued, true, true))
	c, err = st.Credential(ctx, m.ID)
	must(t, err)
	if c.Hash != reissued.Hash || !c.Initial || !c.SetAt.Equal(reissued.SetAt) {
		t.Fatalf("after reissue Credential = %+v, want %+v", c, reissued)
	}
	got, err = st.Account(ctx, a.Tenant.ID, m.ID)
	must(t, err)
	if !got.MustChangePassword {
		t.Error("MustChangePassword not set by reissue")
	}
	for _, s := range []*kizuna.Session{s1, s2} {
		_, err := st.SessionByTokenHash(ctx, s.TokenHash)
		wantErr(t, err, kizuna.ErrNotFound, "not_found")
	}
	if _, err := st.SessionByTokenHash(ctx, other.TokenHash); err != nil {
		t.Fatalf("revoking one account's sessions revoked another's: %v", err)
	}

	_, err = st.Credential(ctx, kizuna.NewID())
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	err = st.SetCredential(ctx, kizuna.NewID(), chosen, false, true)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
}

func testAccountsPagination(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	b := createTenant(t, st, "Partner Co", "partner.example")
	sales := addDomain(t, st, a.Tenant.ID, "sales.acme.example")
	all := []string{a.Owner.ID}
	for i := range 11 {
		d := a.Domain
		if i%3 == 0 {
			d = sales
		}
		all = append(all, addMember(t, st, a.Tenant.ID, d, fmt.Sprintf("user%02d", i)).ID)
		addMember(t, st, b.Tenant.ID, b.Domain, fmt.Sprintf("user%02d", i))
	}
	deleted := kizuna.StatusDeleted
	gone := all[5]
	_, err := st.UpdateAccount(ctx, a.Tenant.ID, gone, store.AccountUpdate{Status: &deleted})
	must(t, err)
	suspended := kizuna.StatusSuspended
	_, err = st.UpdateAccount(ctx, a.Tenant.ID, all[7], store.AccountUpdate{Status: &suspended})
	must(t, err)

	slices.Sort(all)
	live := slices.DeleteFunc(slices.Clone(all), func(id string) bool { return id == gone })

	page := func(f store.AccountFilter) []string {
		t.Helper()
		as, err := st.Accounts(ctx, a.Tenant.ID, f)
		must(t, err)
		for _, x := range as {
			if x.TenantID != a.Tenant.ID {
				t.Fatalf("Accounts returned %s of tenant %s", x.ID, x.TenantID)
			}
		}
		return ids(as)
	}
	walk := func(limit int, includeDeleted bool) []string {
		var out []string
		f := store.AccountFilter{Limit: limit, IncludeDeleted: includeDeleted}
		for n := 0; ; n++ {
			if n > 100 {
				t.Fatal("pagination does not end")
			}
			p := page(f)
			if len(p) > limit {
				t.Fatalf("page of %d with Limit %d", len(p), limit)
			}
			out = append(out, p...)
			if len(p) < limit {
				return out
			}
			f.After = p[len(p)-1]
		}
	}
	for _, limit := range []int{1, 3, 4, 11, 12, 100} {
		if got := walk(limit, false); !slices.Equal(got, live) {
			t.Errorf("Limit %d: walked %v\nwant %v", limit, got, live)
		}
		if got := walk(limit, true); !slices.Equal(got, all) {
			t.Errorf("Limit %d, IncludeDeleted: walked %v\nwant %v", limit, got, all)
		}
	}
	if got := page(store.AccountFilter{}); !slices.Equal(got, live) {
		t.Errorf("zero filter (default limit) = %v, want %v", got, live)
	}
	if got := page(store.AccountFilter{After: live[3], Limit: 2}); !slices.Equal(got, live[4:6]) {
		t.Errorf("After %s Limit 2 = %v, want %v", live[3], got, live[4:6])
	}
	// A cursor that is not an account's ID still works: it is a position.
	if got := page(store.AccountFilter{After: gone, Limit: 100}); !slices.Equal(got, live[slices.Index(all, gone):]) {
		t.Errorf("After a deleted ID = %v", got)
	}
	if got := page(store.AccountFilter{After: all[len(all)-1]}); len(got) != 0 {
		t.Errorf("After the last ID = %v, want nothing", got)
	}
	as, err := st.Accounts(ctx, kizuna.NewID(), store.AccountFilter{})
	must(t, err)
	if len(as) != 0 {
		t.Errorf("unknown tenant lists %d accounts", len(as))
	}
}

func testUpdateAccount(t *testing.T, st store.Store) {
	ctx := context.Background()
	advance := setClock(st)
	a := createTenant(t, st, "Acme", "acme.example")
	m := addMember(t, st, a.Tenant.ID, a.Domain, "taro")
	if advance != nil {
		advance(time.Hour)
	}

	name := "Taro Yamada"
	got, err := st.UpdateAccount(ctx, a.Tenant.ID, m.ID, store.AccountUpdate{DisplayName: &name})
	must(t, err)
	if got.DisplayName != name || got.Role != kizuna.RoleMember || got.Status != kizuna.StatusActive {
		t.Fatalf("UpdateAccount(name) = %+v", got)
	}
	if advance != nil && (!got.UpdatedAt.Equal(fixedNow.Add(time.Hour)) || !got.CreatedAt.Equal(fixedNow)) {
		t.Errorf("times after update = %v, %v", got.CreatedAt, got.UpdatedAt)
	}

	admin := kizuna.RoleAdmin
	got, err = st.UpdateAccount(ctx, a.Tenant.ID, m.ID, store.AccountUpdate{Role: &admin})
	must(t, err)
	if got.Role != kizuna.RoleAdmin || got.DisplayName != name {
		t.Fatalf("UpdateAccount(role) = %+v: unset fields must stay", got)
	}
	read, err := st.Account(ctx, a.Tenant.ID, m.ID)
	must(t, err)
	if read.Role != kizuna.RoleAdmin || read.DisplayName != name {
		t.Fatalf("stored after update = %+v", read)
	}

	// Suspending signs the member out everywhere.
	s := newSession(m.ID, time.Now().Add(time.Hour))
	ownerSession := newSession(a.Owner.ID, time.Now().Add(time.Hour))
	must(t, st.CreateSession(ctx, s))
	must(t, st.CreateSession(ctx, ownerSession))
	suspended := kizuna.StatusSuspended
	got, err = st.UpdateAccount(ctx, a.Tenant.ID, m.ID, store.AccountUpdate{Status: &suspended})
	must(t, err)
	if got.Status != kizuna.StatusSuspended {
		t.Fatalf("status = %s", got.Status)
	}
	_, err = st.SessionByTokenHash(ctx, s.TokenHash)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	if _, err := st.SessionByTokenHash(ctx, ownerSession.TokenHash); err != nil {
		t.Fatalf("suspending a member revoked the owner's session: %v", err)
	}
	// Restoring keeps everything else.
	active := kizuna.StatusActive
	got, err = st.UpdateAccount(ctx, a.Tenant.ID, m.ID, store.AccountUpdate{Status: &active})
	must(t, err)
	if got.Status != kizuna.StatusActive || got.Role != kizuna.RoleAdmin || got.Address() != "taro@acme.example" {
		t.Fatalf("restored = %+v", got)
	}

	_, err = st.UpdateAccount(ctx, a.Tenant.ID, kizuna.NewID(), store.AccountUpdate{DisplayName: &name})
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
}

func testCountOwners(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	b := createTenant(t, st, "Partner Co", "partner.example")
	sales := addDomain(t, st, a.Tenant.ID, "sales.acme.example")
	count := func(tenant string) int {
		t.Helper()
		n, err := st.CountOwners(ctx, tenant)
		must(t, err)
		return n
	}
	if count(a.Tenant.ID) != 1 || count(b.Tenant.ID) != 1 {
		t.Fatal("each new tenant has one owner")
	}
	owner := kizuna.RoleOwner
	second := addMember(t, st, a.Tenant.ID, sales, "boss")
	_, err := st.UpdateAccount(ctx, a.Tenant.ID, second.ID, store.AccountUpdate{Role: &owner})
	must(t, err)
	if n := count(a.Tenant.ID); n != 2 {
		t.Fatalf("CountOwners = %d, want 2 (owners in every domain of the tenant count)", n)
	}
	if n := count(b.Tenant.ID); n != 1 {
		t.Fatalf("other tenant's CountOwners = %d, want 1", n)
	}
	suspended := kizuna.StatusSuspended
	_, err = st.UpdateAccount(ctx, a.Tenant.ID, a.Owner.ID, store.AccountUpdate{Status: &suspended})
	must(t, err)
	if n := count(a.Tenant.ID); n != 1 {
		t.Fatalf("a suspended owner counts: %d, want 1", n)
	}
	deleted := kizuna.StatusDeleted
	_, err = st.UpdateAccount(ctx, a.Tenant.ID, second.ID, store.AccountUpdate{Status: &deleted})
	must(t, err)
	if n := count(a.Tenant.ID); n != 0 {
		t.Fatalf("a deleted owner counts: %d, want 0", n)
	}
	if n := count(kizuna.NewID()); n != 0 {
		t.Fatalf("unknown tenant has %d owners", n)
	}
}

func testSessions(t *testing.T, st store.Store) {
	ctx := context.Background()
	setClock(st)
	a := createTenant(t, st, "Acme", "acme.example")
	m := addMember(t, st, a.Tenant.ID, a.Domain, "taro")
	expires := fixedNow.Add(24 * time.Hour)
	if _, ok := st.(Clock); !ok {
		expires = time.Now().Add(24 * time.Hour).Truncate(time.Millisecond).UTC()
	}

	s := newSession(m.ID, expires)
	s.PasswordChangeOnly = true
	must(t, st.CreateSession(ctx, s))
	got, err := st.SessionByTokenHash(ctx, s.TokenHash)
	must(t, err)
	if got.ID != s.ID || got.AccountID != m.ID || string(got.TokenHash) != string(s.TokenHash) ||
		!got.PasswordChangeOnly || !got.ExpiresAt.Equal(expires) || got.CreatedAt.IsZero() {
		t.Fatalf("SessionByTokenHash = %+v, want %+v", got, s)
	}
	if _, ok := st.(Clock); ok && !got.CreatedAt.Equal(fixedNow) {
		t.Errorf("session CreatedAt = %v, want %v", got.CreatedAt, fixedNow)
	}

	// Binary hashes are compared as bytes, not strings.
	bin := newSession(m.ID, expires)
	bin.TokenHash = []byte{0, 0xff, 0x80, 0, 1}
	must(t, st.CreateSession(ctx, bin))
	if got, err := st.SessionByTokenHash(ctx, []byte{0, 0xff, 0x80, 0, 1}); err != nil || got.ID != bin.ID {
		t.Fatalf("binary hash lookup = %+v, %v", got, err)
	}
	_, err = st.SessionByTokenHash(ctx, []byte{0, 0xff, 0x80, 0})
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	_, err = st.SessionByTokenHash(ctx, []byte("no such token"))
	wantErr(t, err, kizuna.ErrNotFound, "not_found")

	// A token hash is unique.
	dup := newSession(m.ID, expires)
	dup.TokenHash = s.TokenHash
	if err := st.CreateSession(ctx, dup); err == nil {
		t.Fatal("a second session with the same token hash was stored")
	}

	must(t, st.DeleteSession(ctx, s.ID))
	_, err = st.SessionByTokenHash(ctx, s.TokenHash)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	must(t, st.DeleteSession(ctx, s.ID))
	must(t, st.DeleteSession(ctx, kizuna.NewID()))

	owner1 := newSession(a.Owner.ID, expires)
	owner2 := newSession(a.Owner.ID, expires)
	must(t, st.CreateSession(ctx, owner1))
	must(t, st.CreateSession(ctx, owner2))
	must(t, st.DeleteAccountSessions(ctx, a.Owner.ID))
	for _, x := range []*kizuna.Session{owner1, owner2} {
		_, err = st.SessionByTokenHash(ctx, x.TokenHash)
		wantErr(t, err, kizuna.ErrNotFound, "not_found")
	}
	if _, err := st.SessionByTokenHash(ctx, bin.TokenHash); err != nil {
		t.Fatalf("DeleteAccountSessions revoked another account's session: %v", err)
	}
	must(t, st.DeleteAccountSessions(ctx, kizuna.NewID()))
}

func testSessionExpiry(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")

	// Against the real clock: a session that expired a minute ago is gone.
	past := newSession(a.Owner.ID, time.Now().Add(-time.Minute))
	future := newSession(a.Owner.ID, time.Now().Add(time.Hour))
	must(t, st.CreateSession(ctx, past))
	must(t, st.CreateSession(ctx, future))
	_, err := st.SessionByTokenHash(ctx, past.TokenHash)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	if _, err := st.SessionByTokenHash(ctx, future.TokenHash); err != nil {
		t.Fatalf("live session: %v", err)
	}

	// Against the store's clock, when it can be set: a session lives until
	// its expiry and not a millisecond longer.
	advance := setClock(st)
	if advance == nil {
		return
	}
	s := newSession(a.Owner.ID, fixedNow.Add(time.Hour))
	must(t, st.CreateSession(ctx, s))
	advance(time.Hour - time.Millisecond)
	if _, err := st.SessionByTokenHash(ctx, s.TokenHash); err != nil {
		t.Fatalf("a millisecond before expiry: %v", err)
	}
	advance(time.Millisecond)
	_, err = st.SessionByTokenHash(ctx, s.TokenHash)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
}

func testSetupToken(t *testing.T, st store.Store) {
	ctx := context.Background()
	_, err := st.SetupTokenHash(ctx)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
	must(t, st.DeleteSetupToken(ctx))

	first := []byte{1, 2, 3, 0, 0xfe}
	must(t, st.PutSetupToken(ctx, first))
	got, err := st.SetupTokenHash(ctx)
	must(t, err)
	if string(got) != string(first) {
		t.Fatalf("SetupTokenHash = %x, want %x", got, first)
	}
	second := []byte("second token hash")
	must(t, st.PutSetupToken(ctx, second))
	got, err = st.SetupTokenHash(ctx)
	must(t, err)
	if string(got) != string(second) {
		t.Fatalf("after replace SetupTokenHash = %x, want %x", got, second)
	}
	must(t, st.DeleteSetupToken(ctx))
	_, err = st.SetupTokenHash(ctx)
	wantErr(t, err, kizuna.ErrNotFound, "not_found")
}
