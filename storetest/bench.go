package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/internal/proccpu"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/store"
)

// Sizes of the benchmark fixtures.
const (
	// BenchMembers is the size of the large tenant's directory.
	BenchMembers = 100_000
	// BenchPartnerMembers is the size of the second tenant's directory.
	BenchPartnerMembers = 1_000
	// BenchBatch is how many members one AddAccounts call stores, as a
	// CSV import would.
	BenchBatch = 1_000
	// BenchPage is the page size of a directory listing.
	BenchPage = 50
)

// Domain names of the directory fixture.
const (
	benchDomainA = "a.bench.example"
	benchDomainB = "b.bench.example"
)

// BenchAddMembers measures a bulk import: each iteration adds BenchMembers
// members with generated initial passwords to a new tenant, in batches of
// BenchBatch (one transaction each). Hashing the generated passwords is
// part of the measured work, as it is in a real import. It reports
// members/s.
func BenchAddMembers(b *testing.B, st store.Store) {
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		suffix := strings.ToLower(kizuna.NewID()[16:])
		f := createTenant(b, st, "Bulk "+suffix, "bulk-"+suffix+".example")
		b.StartTimer()
		addMembers(b, st, f.Tenant.ID, f.Domain, "m", BenchMembers)
	}
	b.StopTimer()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(BenchMembers*b.N)/s, "members/s")
	}
}

// BenchClassifyByID measures what showing one person costs (R3): look the
// account up by its address, read the current domain→tenant mapping of
// viewer and target, and classify. The directory has BenchMembers members
// in tenant A and BenchPartnerMembers in tenant B; the viewer is in A and
// one target in ten is B's.
func BenchClassifyByID(b *testing.B, st store.Store) {
	ctx := context.Background()
	dir := benchDirectory(b, st)
	viewer, err := st.AccountByAddress(ctx, "admin", benchDomainA)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		local, domain, want := fmt.Sprintf("m%06d", rng.IntN(len(dir.membersA))), benchDomainA, kizuna.RelationInternal
		if i%10 == 9 {
			local, domain, want = fmt.Sprintf("p%06d", rng.IntN(BenchPartnerMembers)), benchDomainB, kizuna.RelationExternalMember
		}
		target, err := st.AccountByAddress(ctx, local, domain)
		if err != nil {
			b.Fatalf("AccountByAddress(%s, %s): %v", local, domain, err)
		}
		owners, err := st.DomainOwners(ctx, []string{viewer.DomainID, target.DomainID})
		if err != nil {
			b.Fatal(err)
		}
		m := kizuna.DomainMapFunc(func(id string) (kizuna.DomainOwner, bool) { o, ok := owners[id]; return o, ok })
		if c := kizuna.Classify(kizuna.PartyOf(viewer), kizuna.PartyOf(target), m); c.Relation != want {
			b.Fatalf("%s@%s classified %+v, want %s", local, domain, c, want)
		}
	}
}

// BenchListPage measures one page of BenchPage members of a
// BenchMembers-member directory, at a random cursor.
func BenchListPage(b *testing.B, st store.Store) {
	ctx := context.Background()
	dir := benchDirectory(b, st)
	rng := rand.New(rand.NewPCG(3, 4))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		after := dir.membersA[rng.IntN(len(dir.membersA)-BenchPage)]
		as, err := st.Accounts(ctx, dir.tenantA, store.AccountFilter{After: after, Limit: BenchPage})
		if err != nil {
			b.Fatal(err)
		}
		if len(as) != BenchPage {
			b.Fatalf("page after %s has %d members, want %d", after, len(as), BenchPage)
		}
	}
}

// directory is the fixture of the read benchmarks.
type directory struct {
	tenantA  string
	membersA []string // member IDs of tenant A in ID order, owner excluded
}

// benchDirectory builds the directory fixture in st, or finds it when an
// earlier run of the same benchmark built it in the same store (engine
// tests may reuse one store across the runs of a benchmark, so that the
// fixture is built once). It runs with the timer stopped.
func benchDirectory(b *testing.B, st store.Store) *directory {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	ctx := context.Background()
	d, err := st.DomainByName(ctx, benchDomainA)
	if errors.Is(err, kizuna.ErrNotFound) {
		a := createTenant(b, st, "Acme", benchDomainA)
		p := createTenant(b, st, "Partner Co", benchDomainB)
		dir := &directory{tenantA: a.Tenant.ID}
		dir.membersA = addMembers(b, st, a.Tenant.ID, a.Domain, "m", BenchMembers)
		addMembers(b, st, p.Tenant.ID, p.Domain, "p", BenchPartnerMembers)
		slices.Sort(dir.membersA)
		return dir
	}
	if err != nil {
		b.Fatal(err)
	}
	dir := &directory{tenantA: d.TenantID}
	f := store.AccountFilter{Limit: 5000}
	for {
		page, err := st.Accounts(ctx, d.TenantID, f)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range page {
			if a.Role != kizuna.RoleOwner {
				dir.membersA = append(dir.membersA, a.ID)
			}
		}
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].ID
	}
	if len(dir.membersA) != BenchMembers {
		b.Fatalf("the stored fixture has %d members, want %d", len(dir.membersA), BenchMembers)
	}
	return dir
}

// addMembers adds n members prefix000000… to a tenant's domain in batches
// of BenchBatch and returns their IDs in order.
func addMembers(tb testing.TB, st store.Store, tenantID string, d *kizuna.Domain, prefix string, n int) []string {
	tb.Helper()
	ctx := context.Background()
	out := make([]string, 0, n)
	as := make([]*kizuna.Account, 0, BenchBatch)
	cs := make([]kizuna.Credential, 0, BenchBatch)
	for i := 0; i < n; {
		as, cs = as[:0], cs[:0]
		for ; i < n && len(as) < BenchBatch; i++ {
			a := Member(d, fmt.Sprintf("%s%06d", prefix, i))
			a.MustChangePassword = true
			as = append(as, a)
			cs = append(cs, kizuna.Credential{Hash: password.HashGenerated(password.Generate()), Initial: true})
			out = append(out, a.ID)
		}
		if err := st.AddAccounts(ctx, tenantID, as, cs); err != nil {
			tb.Fatalf("AddAccounts: %v", err)
		}
	}
	return out
}

// BenchRenameDomain renames a domain of 100,000 members back and forth: a
// rename touches the domain's row and one alias row, whatever the number
// of members (R12), so the time per op must not grow with them.
func BenchRenameDomain(b *testing.B, st store.Store) {
	ctx := context.Background()
	b.StopTimer()
	names := []string{"rename-a.example", "rename-b.example"}
	var d *kizuna.Domain
	for _, n := range names {
		if found, err := st.DomainByName(ctx, n); err == nil {
			d = found
		}
	}
	if d == nil {
		t := createTenant(b, st, "Rename Co", names[0])
		addMembers(b, st, t.Tenant.ID, t.Domain, "r", BenchMembers)
		d = t.Domain
	}
	grace := time.Now().Add(30 * 24 * time.Hour)
	b.StartTimer()
	for i := 0; i < b.N; i++ {
		next := names[0]
		if d.Name == names[0] {
			next = names[1]
		}
		renamed, err := st.RenameDomain(ctx, d.TenantID, d.ID, next, grace, nil)
		if err != nil {
			b.Fatal(err)
		}
		d = renamed
	}
}

// BenchDeletionPreview measures the dry run of deleting a domain of
// 100,000 members, with the clash check against an empty target domain.
func BenchDeletionPreview(b *testing.B, st store.Store) {
	ctx := context.Background()
	b.StopTimer()
	from, to := moveFixture(b, st, "preview")
	b.StartTimer()
	for i := 0; i < b.N; i++ {
		imp, err := st.DomainImpact(ctx, from.TenantID, from.ID, to.ID)
		if err != nil {
			b.Fatal(err)
		}
		if imp.Members != BenchMembers+1 { // and the owner
			b.Fatalf("preview counts %d members", imp.Members)
		}
	}
}

// BenchMoveMembers measures deleting a domain of 100,000 members and
// moving them all to another domain of the tenant, in one transaction.
func BenchMoveMembers(b *testing.B, st store.Store) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		from, to := moveFixture(b, st, fmt.Sprintf("move%d-%d", i, time.Now().UnixNano()))
		b.StartTimer()
		if err := st.DeleteDomain(ctx, from.TenantID, from.ID, to.ID, time.Now().Add(time.Hour), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// moveFixture returns a domain of 100,000 members and an empty second
// domain of the same tenant, built once per prefix in a store.
func moveFixture(b *testing.B, st store.Store, prefix string) (from, to *kizuna.Domain) {
	ctx := context.Background()
	fromName, toName := prefix+"-from.example", prefix+"-to.example"
	if d, err := st.DomainByName(ctx, fromName); err == nil {
		t, err := st.DomainByName(ctx, toName)
		if err != nil {
			b.Fatal(err)
		}
		return d, t
	}
	t := createTenant(b, st, "Move Co", fromName)
	addMembers(b, st, t.Tenant.ID, t.Domain, "v", BenchMembers)
	to = &kizuna.Domain{ID: kizuna.NewID(), TenantID: t.Tenant.ID, Name: toName}
	if err := st.AddDomain(ctx, to); err != nil {
		b.Fatal(err)
	}
	return t.Domain, to
}

// BenchSendBatch measures the store's share of a message send: each
// iteration commits one ApplyTalk batch of size sends spread over 100
// rooms of 10, as the group-committing writer does under load. It reports
// messages/s.
func BenchSendBatch(b *testing.B, st store.Store, size int) {
	benchSend(b, st, func(int) int { return size }, strings.Repeat("x", 100))
}

// BenchSendBatchMixed is BenchSendBatch with the batch sizes of a loaded
// server: the writer commits whatever queued during the previous commit,
// so consecutive batches differ in length (here 50 to 512, the writer's
// maximum, in a fixed pseudo-random order) and so, unless the store bounds
// them, in the text of their multi-row statements. Bodies are 40 bytes,
// the size of a typical chat line.
func BenchSendBatchMixed(b *testing.B, st store.Store) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := make([]int, 64)
	for i := range sizes {
		sizes[i] = 50 + r.IntN(512-50+1)
	}
	benchSend(b, st, func(i int) int { return sizes[i%len(sizes)] }, strings.Repeat("x", 40))
}

func benchSend(b *testing.B, st store.Store, size func(i int) int, body string) {
	ctx := context.Background()
	suffix := strings.ToLower(kizuna.NewID()[16:])
	f := createTenant(b, st, "Talk "+suffix, "talk-"+suffix+".example")
	members := make([]*kizuna.Account, 1000)
	for i := range members {
		members[i] = Member(f.Domain, fmt.Sprintf("t%04d", i))
	}
	creds := make([]kizuna.Credential, len(members))
	for i := range creds {
		creds[i] = cred()
	}
	if err := st.AddAccounts(ctx, f.Tenant.ID, members, creds); err != nil {
		b.Fatal(err)
	}
	rooms := make([]string, 100)
	for k := range rooms {
		ids := make([]string, 10)
		for j := range ids {
			ids[j] = members[k*10+j].ID
		}
		r := &kizuna.Room{ID: kizuna.NewID(), Kind: kizuna.RoomGroup, Name: "bench", CreatedBy: ids[0]}
		res, err := st.ApplyTalk(ctx, []store.TalkOp{{Kind: store.OpCreateRoom, ActorID: ids[0], Room: r, AccountIDs: ids}})
		if err != nil || res[0].Err != nil {
			b.Fatal(err, res)
		}
		rooms[k] = r.ID
	}
	b.ResetTimer()
	cpu0, cpuKnown := proccpu.Time()
	n, sent := 0, 0
	for i := 0; i < b.N; i++ {
		ops := make([]store.TalkOp, size(i))
		for j := range ops {
			n++
			room := n % 100
			sender := members[room*10+n%10].ID
			ops[j] = store.TalkOp{Kind: store.OpSend, ActorID: sender, RoomID: rooms[room], Message: &kizuna.Message{
				ID: kizuna.NewID(), RoomID: rooms[room], SenderID: sender, ClientMsgID: fmt.Sprint("b", n), Body: body}}
		}
		sent += len(ops)
		res, err := st.ApplyTalk(ctx, ops)
		if err != nil {
			b.Fatal(err)
		}
		if res[0].Err != nil {
			b.Fatal(res[0].Err)
		}
	}
	b.StopTimer()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(sent)/s, "messages/s")
	}
	// The process's CPU, not only the calling goroutine's time: work the
	// store moves to a background goroutine (a checkpointer) still counts.
	if cpu1, ok := proccpu.Time(); ok && cpuKnown {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

// BenchDirectoryMembers is the size of the directory-search fixture.
const BenchDirectoryMembers = 1_000_000

var (
	benchFamilies = []string{"佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "サトウ", "スズキ", "タナカ", "ヤマモト", "Sato", "Suzuki", "Takahashi", "Tanaka", "Ito", "Watanabe", "Smith", "Jones", "Garcia", "Miller", "Brown"}
	benchGiven    = []string{"太郎", "花子", "一郎", "美咲", "健太", "ハルト", "ユイ", "Taro", "Hanako", "Ken", "Yui", "Emma", "Noah", "Olivia", "Liam"}
)

// BenchDirectorySearch measures directory prefix search (issue 6) in a
// tenant of BenchDirectoryMembers members over two domains, with Japanese
// and Latin names: each op is one search for a random prefix of one to
// three characters of a name or an ID, returning the first 50 matches. It
// reports p50 and p99 latency.
func BenchDirectorySearch(b *testing.B, st store.Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	tenantID := benchDirectory1M(b, st, rng)
	var prefixes []string
	for _, n := range benchFamilies {
		r := []rune(kizuna.SearchKey(n))
		for l := 1; l <= 3 && l <= len(r); l++ {
			prefixes = append(prefixes, string(r[:l]))
		}
	}
	prefixes = append(prefixes, "u", "u0", "u01", "u012", "u0999")
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := prefixes[rng.IntN(len(prefixes))]
		start := time.Now()
		got, err := st.SearchDirectory(ctx, tenantID, p, BenchPage)
		durations = append(durations, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if len(got) == 0 {
			b.Fatalf("prefix %q found nobody", p)
		}
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds())/1000, "p99-ms")
}

// benchDirectory1M builds the directory fixture once per store and
// returns its tenant.
func benchDirectory1M(b *testing.B, st store.Store, rng *rand.Rand) string {
	ctx := context.Background()
	if d, err := st.DomainByName(ctx, "dir-a.example"); err == nil {
		return d.TenantID
	}
	f := createTenant(b, st, "Directory", "dir-a.example")
	d2 := &kizuna.Domain{ID: kizuna.NewID(), TenantID: f.Tenant.ID, Name: "dir-b.example"}
	if err := st.AddDomain(ctx, d2); err != nil {
		b.Fatal(err)
	}
	hash := password.HashGenerated(password.Generate())
	as := make([]*kizuna.Account, 0, BenchBatch)
	cs := make([]kizuna.Credential, 0, BenchBatch)
	for i := 0; i < BenchDirectoryMembers; {
		as, cs = as[:0], cs[:0]
		for ; i < BenchDirectoryMembers && len(as) < BenchBatch; i++ {
			d := f.Domain
			if i%2 == 1 {
				d = d2
			}
			a := Member(d, fmt.Sprintf("u%07d", i))
			a.DisplayName = benchFamilies[rng.IntN(len(benchFamilies))] + " " + benchGiven[rng.IntN(len(benchGiven))]
			as = append(as, a)
			cs = append(cs, kizuna.Credential{Hash: hash, Initial: true})
		}
		if err := st.AddAccounts(ctx, f.Tenant.ID, as, cs); err != nil {
			b.Fatal(err)
		}
	}
	return f.Tenant.ID
}

// BenchBoardList measures listing the boards a member may read when the
// member belongs to 200 groups of a tenant with 200 group boards and 200
// other boards (issue 6): the member's groups and the tenant's boards with
// their rules are read, and kizuna.Viewer decides.
func BenchBoardList(b *testing.B, st store.Store) {
	ctx := context.Background()
	suffix := strings.ToLower(kizuna.NewID()[16:])
	f := createTenant(b, st, "Boards "+suffix, "boards-"+suffix+".example")
	m := addMember(b, st, f.Tenant.ID, f.Domain, "busy")
	for i := range 200 {
		g := &kizuna.Group{ID: kizuna.NewID(), TenantID: f.Tenant.ID, Name: fmt.Sprintf("g%03d", i)}
		if err := st.CreateGroup(ctx, g, f.Owner.ID); err != nil {
			b.Fatal(err)
		}
		if err := st.AddGroupMembers(ctx, f.Tenant.ID, g.ID, []string{m.ID}, kizuna.GroupMember); err != nil {
			b.Fatal(err)
		}
		for _, rule := range []kizuna.BoardRule{{Right: kizuna.RightWrite, Kind: kizuna.PrincipalGroup, ID: g.ID}, {Right: kizuna.RightRead, Kind: kizuna.PrincipalMember, ID: f.Owner.ID}} {
			if err := st.CreateBoard(ctx, &kizuna.Board{ID: kizuna.NewID(), TenantID: f.Tenant.ID, Name: fmt.Sprintf("b%03d", i), GroupID: g.ID, Rules: []kizuna.BoardRule{rule}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		groups, err := st.GroupsOf(ctx, m.ID)
		if err != nil {
			b.Fatal(err)
		}
		v := kizuna.Viewer{AccountID: m.ID, TenantID: f.Tenant.ID, Groups: map[string]bool{}, Restrictions: kizuna.DefaultRestrictions}
		for _, g := range groups {
			v.Groups[g] = true
		}
		boards, err := st.TenantBoards(ctx, f.Tenant.ID)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, bd := range boards {
			if r, _, _ := v.BoardRights(bd); r {
				n++
			}
		}
		if n != 200 {
			b.Fatalf("member reads %d boards, want 200", n)
		}
	}
}
