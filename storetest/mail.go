package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// RunMail runs the suite of the mail queue (store.MailQueue), like Run:
// open must return a fresh, empty, migrated store for each call. The
// checks of due times and leases need a store that implements Clock and
// are skipped on one that does not.
func RunMail(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"EnqueueAndList", testMailEnqueueAndList},
		{"EnqueueUnknownTenant", testMailEnqueueUnknownTenant},
		{"ListScopedToTenant", testMailListScoped},
		{"ListPagesNewestFirst", testMailListPages},
		{"ClaimRespectsDueTimeAndLease", testMailClaimLease},
		{"ClaimLimit", testMailClaimLimit},
		{"ConcurrentClaimersNeverShare", testMailConcurrentClaims},
		{"SentErasesText", testMailSent},
		{"FailedBackoffAndPermanent", testMailFailed},
		{"FailedErrorTextClipped", testMailErrorText},
		{"Retry", testMailRetry},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func newMail(tenantID, to string) *store.OutgoingMail {
	return &store.OutgoingMail{ID: kizuna.NewID(), TenantID: tenantID, Kind: "invitation", To: to,
		Subject: "[Acme] ログイン情報のご案内", Text: "初期パスワード: Kq7m-xT3c\n"}
}

func enqueue(t *testing.T, st store.Store, m *store.OutgoingMail) *store.OutgoingMail {
	t.Helper()
	must(t, st.EnqueueMail(context.Background(), m))
	return m
}

func listMail(t *testing.T, st store.Store, tenantID, status string) []*store.OutgoingMail {
	t.Helper()
	ms, err := st.ListMail(context.Background(), tenantID, status, "", 100)
	must(t, err)
	return ms
}

// mailByID lists the tenant's mail and returns the one with the ID.
func mailByID(t *testing.T, st store.Store, tenantID, id string) *store.OutgoingMail {
	t.Helper()
	for _, m := range listMail(t, st, tenantID, "") {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("mail %s not listed", id)
	return nil
}

func mailIDs(ms []*store.OutgoingMail) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// needClock sets st's clock or skips the test.
func needClock(t *testing.T, st store.Store) func(time.Duration) {
	t.Helper()
	advance := setClock(st)
	if advance == nil {
		t.Skip("the store's clock cannot be set")
	}
	return advance
}

func testMailEnqueueAndList(t *testing.T, st store.Store) {
	clocked := setClock(st) != nil
	ctx := context.Background()
	f := createTenant(t, st, "Acme", "acme.example")
	m := newMail(f.Tenant.ID, "sato@mail.example")
	m.AccountID = f.Owner.ID
	enqueue(t, st, m)
	if m.Status != store.MailPending || m.CreatedAt.IsZero() || m.NextAttemptAt.After(m.CreatedAt) {
		t.Errorf("after enqueue: status %q created %v next %v", m.Status, m.CreatedAt, m.NextAttemptAt)
	}
	other := enqueue(t, st, newMail(f.Tenant.ID, "suzuki@mail.example")) // no account
	got := mailByID(t, st, f.Tenant.ID, m.ID)
	if got.TenantID != f.Tenant.ID || got.AccountID != f.Owner.ID || got.Kind != "invitation" || got.To != "sato@mail.example" ||
		got.Subject != m.Subject || got.Text != m.Text || got.Status != store.MailPending || got.Attempts != 0 ||
		got.LastError != "" || !got.SentAt.IsZero() || got.NextAttemptAt.IsZero() {
		t.Errorf("listed %+v", got)
	}
	if clocked && (!got.CreatedAt.Equal(fixedNow) || !got.NextAttemptAt.Equal(fixedNow)) {
		t.Errorf("created %v, next attempt %v; want both %v", got.CreatedAt, got.NextAttemptAt, fixedNow)
	}
	if a := mailByID(t, st, f.Tenant.ID, other.ID).AccountID; a != "" {
		t.Errorf("mail without an account lists account %q", a)
	}
	wantErr(t, st.EnqueueMail(ctx, m), kizuna.ErrConflict, "conflict")
	bad := newMail(f.Tenant.ID, "x@mail.example")
	bad.AccountID = kizuna.NewID()
	wantErr(t, st.EnqueueMail(ctx, bad), kizuna.ErrInvalid, "invalid_reference")
}

func testMailEnqueueUnknownTenant(t *testing.T, st store.Store) {
	err := st.EnqueueMail(context.Background(), newMail(kizuna.NewID(), "sato@mail.example"))
	wantErr(t, err, kizuna.ErrInvalid, "invalid_reference")
}

func testMailListScoped(t *testing.T, st store.Store) {
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	b := createTenant(t, st, "Beta", "beta.example")
	ma := enqueue(t, st, newMail(a.Tenant.ID, "sato@mail.example"))
	mb := enqueue(t, st, newMail(b.Tenant.ID, "tanaka@mail.example"))
	if got := mailIDs(listMail(t, st, a.Tenant.ID, "")); len(got) != 1 || got[0] != ma.ID {
		t.Errorf("tenant A lists %v, want only %s", got, ma.ID)
	}
	if got := mailIDs(listMail(t, st, b.Tenant.ID, "")); len(got) != 1 || got[0] != mb.ID {
		t.Errorf("tenant B lists %v, want only %s", got, mb.ID)
	}
	if got := listMail(t, st, kizuna.NewID(), ""); len(got) != 0 {
		t.Errorf("unknown tenant lists %v", mailIDs(got))
	}
	// Status filter.
	must(t, st.MarkMailFailed(ctx, ma.ID, "550 no such user", time.Time{}))
	if got := mailIDs(listMail(t, st, a.Tenant.ID, store.MailFailed)); len(got) != 1 || got[0] != ma.ID {
		t.Errorf("failed mail of A: %v", got)
	}
	if got := listMail(t, st, a.Tenant.ID, store.MailPending); len(got) != 0 {
		t.Errorf("pending mail of A: %v", mailIDs(got))
	}
	if got := listMail(t, st, b.Tenant.ID, store.MailFailed); len(got) != 0 {
		t.Errorf("B sees failed mail %v", mailIDs(got))
	}
}

func testMailListPages(t *testing.T, st store.Store) {
	ctx := context.Background()
	f := createTenant(t, st, "Acme", "acme.example")
	var want []string
	for i := range 7 {
		m := enqueue(t, st, newMail(f.Tenant.ID, fmt.Sprintf("m%d@mail.example", i)))
		want = append([]string{m.ID}, want...) // newest first
	}
	var got []string
	before := ""
	for range 10 {
		page, err := st.ListMail(ctx, f.Tenant.ID, "", before, 3)
		must(t, err)
		if len(page) > 3 {
			t.Fatalf("page of %d, limit 3", len(page))
		}
		got = append(got, mailIDs(page)...)
		if len(page) < 3 {
			break
		}
		before = page[len(page)-1].ID
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("pages gave\n%v\nwant\n%v", got, want)
	}
}

func testMailClaimLease(t *testing.T, st store.Store) {
	advance := needClock(t, st)
	ctx := context.Background()
	f := createTenant(t, st, "Acme", "acme.example")
	m := enqueue(t, st, newMail(f.Tenant.ID, "sato@mail.example"))

	got, err := st.ClaimDueMail(ctx, 10, 5*time.Minute)
	must(t, err)
	if len(got) != 1 || got[0].ID != m.ID || got[0].Attempts != 1 || got[0].Text != m.Text || got[0].To != m.To ||
		!got[0].NextAttemptAt.Equal(fixedNow.Add(5*time.Minute)) {
		t.Fatalf("first claim: %+v", got)
	}
	// While the lease runs nobody else gets it.
	advance(4 * time.Minute)
	if again, err := st.ClaimDueMail(ctx, 10, 5*time.Minute); err != nil || len(again) != 0 {
		t.Fatalf("claim during the lease: %v %v", mailIDs(again), err)
	}
	listed := mailByID(t, st, f.Tenant.ID, m.ID)
	if listed.Status != store.MailPending || listed.Attempts != 1 {
		t.Errorf("claimed mail lists as %q with %d attempts", listed.Status, listed.Attempts)
	}
	// The claimer died: once the lease ends the mail is claimed again.
	advance(time.Minute)
	again, err := st.ClaimDueMail(ctx, 10, 5*time.Minute)
	must(t, err)
	if len(again) != 1 || again[0].Attempts != 2 {
		t.Fatalf("claim after the lease: %+v", again)
	}
	// A mail due later is not claimed before its time.
	must(t, st.MarkMailFailed(ctx, m.ID, "421 busy", fixedNow.Add(time.Hour)))
	advance(50 * time.Minute)
	if early, err := st.ClaimDueMail(ctx, 10, time.Minute); err != nil || len(early) != 0 {
		t.Fatalf("claim before the retry time: %v %v", mailIDs(early), err)
	}
	advance(5 * time.Minute)
	if due, err := st.ClaimDueMail(ctx, 10, time.Minute); err != nil || len(due) != 1 || due[0].Attempts != 3 || due[0].LastError != "421 busy" {
		t.Fatalf("claim at the retry time: %+v %v", due, err)
	}
}

func testMailClaimLimit(t *testing.T, st store.Store) {
	ctx := context.Background()
	f := createTenant(t, st, "Acme", "acme.example")
	for i := range 5 {
		enqueue(t, st, newMail(f.Tenant.ID, fmt.Sprintf("m%d@mail.example", i)))
	}
	first, err := st.ClaimDueMail(ctx, 3, time.Hour)
	must(t, err)
	second, err := st.ClaimDueMail(ctx, 3, time.Hour)
	must(t, err)
	third, err := st.ClaimDueMail(ctx, 3, time.Hour)
	must(t, err)
	if len(first) != 3 || len(second) != 2 || len(third) != 0 {
		t.Errorf("claims of 3 from 5: %d, %d, %d", len(first), len(second), len(third))
	}
}

func testMailConcurrentClaims(t *testing.T, st store.Store) {
	ctx := context.Background()
	const n, workers = 40, 4
	tenants := []tenantFixture{createTenant(t, st, "Acme", "acme.example"), createTenant(t, st, "Beta", "beta.example")}
	for i := range n {
		enqueue(t, st, newMail(tenants[i%2].Tenant.ID, fmt.Sprintf("m%d@mail.example", i)))
	}
	var (
		mu    sync.Mutex
		seen  = map[string]int{}
		errs  []error
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for range workers {
		wg.Go(func() {
			<-start
			for {
				got, err := st.ClaimDueMail(ctx, 3, time.Hour)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for _, m := range got {
					seen[m.ID]++
				}
				mu.Unlock()
				if err != nil || len(got) == 0 {
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Errorf("claim: %v", err)
	}
	if len(seen) != n {
		t.Errorf("%d of %d mails claimed", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("mail %s claimed %d times", id, k)
		}
	}
}

func testMailSent(t *testing.T, st store.Store) {
	advance := needClock(t, st)
	ctx := context.Background()
	f := createTenant(t, st, "Acme", "acme.example")
	m := enqueue(t, st, newMail(f.Tenant.ID, "sato@mail.example"))
	_, err := st.ClaimDueMail(ctx, 1, time.Minute)
	must(t, err)
	must(t, st.MarkMailFailed(ctx, m.ID, "421 busy", fixedNow))
	_, err = st.ClaimDueMail(ctx, 1, time.Minute)
	must(t, err)
	advance(10 * time.Second)
	must(t, st.MarkMailSent(ctx, m.ID))
	got := mailByID(t, st, f.Tenant.ID, m.ID)
	if got.Status != store.MailSent || got.Attempts != 2 || got.Text != "" || got.LastError != "" ||
		!got.SentAt.Equal(fixedNow.Add(10*time.Second)) || got.Subject != m.Subject || got.To != m.To {
		t.Errorf("sent mail: %+v", got)
	}
	advance(24 * time.Hour)
	if again, err := st.ClaimDueMail(ctx, 10, time.Minute); err != nil || len(again) != 0 {
		t.Errorf("sent mail claimed again: %v %v", mailIDs(again), err)
	}
}

func testMailFailed(t *testing.T, st store.Store) {
	advance := needClock(t, st)
	ctx := context.Background()
	f := createTenant(t, st, "Acme", "acme.example")
	m := enqueue(t, st, newMail(f.Tenant.ID, "sato@mail.example"))
	_, err := st.ClaimDueMail(ctx, 1, time.Minute)
	must(t, err)
	retryAt := fixedNow.Add(5 * time.Minute)
	must(t, st.MarkMailFailed(ctx, m.ID, "dial tcp: connection refused", retryAt))
	got := mailByID(t, st, f.Tenant.ID, m.ID)
	if got.Status != store.MailPending || got.LastError != "dial tcp: connection refused" || !got.NextAttemptAt.Equal(retryAt) ||
		got.Text != m.Text || got.Attempts != 1 {
		t.Errorf("after a temporary failure: %+v", got)
	}
	advance(5 * time.Minute)
	claimed, err := st.ClaimDueMail(ctx, 1, time.Minute)
	must(t, err)
	if len(claimed) != 1 {
		t.Fatalf("retry not claimed")
	}
	must(t, st.MarkMailFailed(ctx, m.ID, "550 5.1.1 no such user", time.Time{}))
	got = mailByID(t, st, f.Tenant.ID, m.ID)
	if got.Status != store.MailFailed || got.LastError != "550 5.1.1 no such user" || got.Attempts != 2 || !got.NextAttemptAt.IsZero() {
		t.Errorf("after a permanent failure: %+v", got)
	}
	advance(30 * 24 * time.Hour)
	if again, err := st.ClaimDueMail(ctx, 10, time.Minute); err != nil || len(again) != 0 {
		t.Errorf("failed mail claimed again: %v %v", mailIDs(again), err)
	}
}

func testMailErrorText(t *testing.T, st store.Store) {
	ctx := context.Background()
	f := createTenant(t, st, "Acme", "acme.example")
	m := enqueue(t, st, newMail(f.Tenant.ID, "sato@mail.example"))
	// A server's answer may be long, in Japanese, or not UTF-8 at all.
	long := "550 " + strings.Repeat("宛先不明 ", 300) + "\xff\xfe"
	must(t, st.MarkMailFailed(ctx, m.ID, long, time.Time{}))
	got := mailByID(t, st, f.Tenant.ID, m.ID).LastError
	if len(got) > 1000 || !utf8.ValidString(got) || !strings.HasPrefix(got, "550 宛先不明 ") {
		t.Errorf("stored error text: %d bytes, valid UTF-8 %v, %.40q", len(got), utf8.ValidString(got), got)
	}
	m2 := enqueue(t, st, newMail(f.Tenant.ID, "suzuki@mail.example"))
	must(t, st.MarkMailFailed(ctx, m2.ID, "bad \xff byte", time.Time{}))
	if got := mailByID(t, st, f.Tenant.ID, m2.ID).LastError; !utf8.ValidString(got) || !strings.HasPrefix(got, "bad ") {
		t.Errorf("stored error text %q", got)
	}
}

func testMailRetry(t *testing.T, st store.Store) {
	advance := needClock(t, st)
	ctx := context.Background()
	a := createTenant(t, st, "Acme", "acme.example")
	b := createTenant(t, st, "Beta", "beta.example")
	m := enqueue(t, st, newMail(a.Tenant.ID, "sato@mail.example"))

	// Only a failed mail can be retried.
	wantErr(t, st.RetryMail(ctx, a.Tenant.ID, m.ID), kizuna.ErrNotFound, "not_found")
	_, err := st.ClaimDueMail(ctx, 1, time.Minute)
	must(t, err)
	must(t, st.MarkMailFailed(ctx, m.ID, "550 no such user", time.Time{}))

	// Another tenant's mail answers like a missing one.
	wantErr(t, st.RetryMail(ctx, b.Tenant.ID, m.ID), kizuna.ErrNotFound, "not_found")
	wantErr(t, st.RetryMail(ctx, a.Tenant.ID, kizuna.NewID()), kizuna.ErrNotFound, "not_found")
	if got := mailByID(t, st, a.Tenant.ID, m.ID); got.Status != store.MailFailed {
		t.Fatalf("another tenant's retry changed the mail: %+v", got)
	}

	advance(time.Hour)
	must(t, st.RetryMail(ctx, a.Tenant.ID, m.ID))
	got := mailByID(t, st, a.Tenant.ID, m.ID)
	if got.Status != store.MailPending || !got.NextAttemptAt.Equal(fixedNow.Add(time.Hour)) || got.LastError != "550 no such user" || got.Attempts != 1 {
		t.Errorf("after retry: %+v", got)
	}
	claimed, err := st.ClaimDueMail(ctx, 10, time.Minute)
	must(t, err)
	if len(claimed) != 1 || claimed[0].ID != m.ID || claimed[0].Attempts != 2 {
		t.Errorf("retried mail claims as %+v", claimed)
	}
	wantErr(t, st.RetryMail(ctx, a.Tenant.ID, m.ID), kizuna.ErrNotFound, "not_found")
}
