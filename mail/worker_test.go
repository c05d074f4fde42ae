package mail_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/internal/smtptest"
	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/mail"
	"github.com/kizuna-chat/kizuna/sqlstore"
	"github.com/kizuna-chat/kizuna/store"
)

// clock is a fake time shared by a store and a worker.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(db *sqlstore.DB) *clock {
	c := &clock{now: time.Date(2026, 4, 1, 9, 30, 0, 0, time.UTC)}
	db.Now = c.Now
	return c
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// scripted fails with errs, one per call, then hands messages to inner.
type scripted struct {
	mu    sync.Mutex
	errs  []error
	calls []mail.Message
	inner mail.Transport
}

func (s *scripted) Send(ctx context.Context, m mail.Message) error {
	s.mu.Lock()
	s.calls = append(s.calls, m)
	var err error
	if len(s.errs) > 0 {
		err, s.errs = s.errs[0], s.errs[1:]
	}
	s.mu.Unlock()
	if err != nil || s.inner == nil {
		return err
	}
	return s.inner.Send(ctx, m)
}

func (s *scripted) Calls() []mail.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mail.Message(nil), s.calls...)
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func runOnce(t *testing.T, w *mail.Worker, want int) {
	t.Helper()
	n, err := w.RunOnce(context.Background())
	if err != nil || n != want {
		t.Fatalf("RunOnce: %d mails, %v; want %d", n, err, want)
	}
}

func only(t *testing.T, st store.MailQueue, tenantID string) *store.OutgoingMail {
	t.Helper()
	list, err := st.ListMail(context.Background(), tenantID, "", "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListMail: %d mails, %v", len(list), err)
	}
	return list[0]
}

// TestWorkerRetriesThenDelivers: a mail whose first two deliveries fail is
// retried on the backoff schedule, an admin sees its state and last error
// meanwhile, and the third attempt reaches a real SMTP server; the text
// (it holds the initial password) is erased once sent.
func TestWorkerRetriesThenDelivers(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			st := eng.Open(t)
			clk := newClock(st)
			ctx := context.Background()
			tenant := newTenant(t, st)
			srv := smtptest.Start(t)
			tr := &scripted{errs: []error{errors.New("421 4.3.0 try again later"), errors.New("dial tcp 127.0.0.1:25: connection refused")},
				inner: smtpTransport(srv)}
			w := mail.NewWorker(st, tr, quiet())
			w.Now = clk.Now
			t0 := clk.Now()

			m := &store.OutgoingMail{ID: kizuna.NewID(), TenantID: tenant, Kind: "invitation", To: "sato@mail.example",
				Subject: "ログイン情報のご案内", Text: "初期パスワード: Kq7m-xT3c\n"}
			if err := st.EnqueueMail(ctx, m); err != nil {
				t.Fatal(err)
			}
			runOnce(t, w, 1)
			got := only(t, st, tenant)
			if got.Status != store.MailPending || got.Attempts != 1 || got.LastError != "421 4.3.0 try again later" ||
				!got.NextAttemptAt.Equal(t0.Add(time.Minute)) {
				t.Fatalf("after the first failure: %+v", got)
			}
			runOnce(t, w, 0) // not due yet
			clk.Advance(59 * time.Second)
			runOnce(t, w, 0)
			clk.Advance(time.Second)
			runOnce(t, w, 1)
			got = only(t, st, tenant)
			if got.Status != store.MailPending || got.Attempts != 2 || !strings.Contains(got.LastError, "connection refused") ||
				!got.NextAttemptAt.Equal(t0.Add(6*time.Minute)) {
				t.Fatalf("after the second failure: %+v", got)
			}
			if len(srv.Received()) != 0 {
				t.Fatal("the server received mail before the third attempt")
			}
			clk.Advance(5 * time.Minute)
			runOnce(t, w, 1)
			got = only(t, st, tenant)
			if got.Status != store.MailSent || got.Attempts != 3 || got.LastError != "" || got.Text != "" ||
				!got.SentAt.Equal(t0.Add(6*time.Minute)) {
				t.Fatalf("after delivery: %+v", got)
			}
			calls := tr.Calls()
			if len(calls) != 3 {
				t.Fatalf("%d sends, want 3", len(calls))
			}
			for _, c := range calls {
				if c.ID != m.ID || c.To != m.To || c.Subject != m.Subject || c.Text != m.Text {
					t.Errorf("sent %+v", c)
				}
			}
			if rcv := srv.Received(); len(rcv) != 1 || rcv[0].To[0] != "sato@mail.example" {
				t.Errorf("server received %+v", rcv)
			}
			clk.Advance(24 * time.Hour)
			runOnce(t, w, 0)
		})
	}
}

// TestWorkerPermanentFailure: a refused recipient fails for good at once;
// an admin's retry sends it again.
func TestWorkerPermanentFailure(t *testing.T) {
	st := testdb.SQLite(t)
	clk := newClock(st)
	ctx := context.Background()
	tenant := newTenant(t, st)
	srv := smtptest.Start(t)
	srv.RejectRcpt = "nobody"
	w := mail.NewWorker(st, smtpTransport(srv), quiet())
	w.Now = clk.Now
	m := &store.OutgoingMail{ID: kizuna.NewID(), TenantID: tenant, Kind: "invitation", To: "nobody@mail.example", Subject: "s", Text: "t"}
	if err := st.EnqueueMail(ctx, m); err != nil {
		t.Fatal(err)
	}
	runOnce(t, w, 1)
	got := only(t, st, tenant)
	if got.Status != store.MailFailed || got.Attempts != 1 || !strings.Contains(got.LastError, "550") {
		t.Fatalf("after a 550: %+v", got)
	}
	clk.Advance(7 * 24 * time.Hour)
	runOnce(t, w, 0)

	srv.RejectRcpt = ""
	if err := st.RetryMail(ctx, tenant, m.ID); err != nil {
		t.Fatal(err)
	}
	runOnce(t, w, 1)
	if got := only(t, st, tenant); got.Status != store.MailSent || got.Attempts != 2 {
		t.Fatalf("after the admin's retry: %+v", got)
	}
}

// TestWorkerGivesUp: a mail that keeps failing is tried MaxAttempts times
// on the backoff schedule, then failed for good.
func TestWorkerGivesUp(t *testing.T) {
	st := testdb.SQLite(t)
	clk := newClock(st)
	ctx := context.Background()
	tenant := newTenant(t, st)
	var errs []error
	for range 20 {
		errs = append(errs, errors.New("451 4.4.1 no answer from host"))
	}
	tr := &scripted{errs: errs}
	w := mail.NewWorker(st, tr, quiet())
	w.Now = clk.Now
	if err := st.EnqueueMail(ctx, &store.OutgoingMail{ID: kizuna.NewID(), TenantID: tenant, Kind: "invitation", To: "a@mail.example", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 6 * time.Hour, 6 * time.Hour}
	for attempt := 1; attempt <= mail.MaxAttempts; attempt++ {
		before := clk.Now()
		runOnce(t, w, 1)
		got := only(t, st, tenant)
		if got.Attempts != attempt {
			t.Fatalf("attempt %d: %+v", attempt, got)
		}
		if attempt == mail.MaxAttempts {
			if got.Status != store.MailFailed || !got.NextAttemptAt.IsZero() {
				t.Fatalf("after the last attempt: %+v", got)
			}
			break
		}
		if got.Status != store.MailPending || got.NextAttemptAt.Sub(before) != want[attempt-1] {
			t.Fatalf("after attempt %d: %s wait, status %s; want %s", attempt, got.NextAttemptAt.Sub(before), got.Status, want[attempt-1])
		}
		clk.Advance(want[attempt-1])
	}
	clk.Advance(30 * 24 * time.Hour)
	runOnce(t, w, 0)
	if n := len(tr.Calls()); n != mail.MaxAttempts {
		t.Errorf("%d sends, want %d", n, mail.MaxAttempts)
	}
}

func TestRetryAt(t *testing.T) {
	now := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	w := mail.NewWorker(nil, nil, quiet())
	w.Now = func() time.Time { return now }
	temp := errors.New("421")
	for attempt, want := range map[int]time.Duration{0: time.Minute, 1: time.Minute, 2: 5 * time.Minute, 5: 6 * time.Hour, 7: 6 * time.Hour} {
		if got := w.RetryAt(attempt, temp); !got.Equal(now.Add(want)) {
			t.Errorf("attempt %d: retry at %v, want %v", attempt, got, now.Add(want))
		}
	}
	if got := w.RetryAt(8, temp); !got.IsZero() {
		t.Errorf("attempt 8 retried at %v", got)
	}
	if got := w.RetryAt(1, mail.Permanent(temp)); !got.IsZero() {
		t.Errorf("permanent error retried at %v", got)
	}
	if got := w.RetryAt(1, fmtWrap(mail.Permanent(temp))); !got.IsZero() {
		t.Errorf("wrapped permanent error retried at %v", got)
	}
}

func fmtWrap(err error) error { return errors.Join(errors.New("sending"), err) }

// TestWorkerNotify: Run sleeps long between polls, yet a Notify after an
// enqueue has the mail delivered at once; cancelling ctx stops Run.
func TestWorkerNotify(t *testing.T) {
	st := testdb.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	tenant := newTenant(t, st)
	srv := smtptest.Start(t)
	w := mail.NewWorker(st, smtpTransport(srv), quiet())
	w.Poll = time.Hour
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()

	time.Sleep(50 * time.Millisecond) // let Run find the queue empty and sleep
	if err := st.EnqueueMail(ctx, &store.OutgoingMail{ID: kizuna.NewID(), TenantID: tenant, Kind: "invitation", To: "sato@mail.example", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	w.Notify()
	w.Notify() // never blocks, even with a wake-up pending
	if got := srv.Wait(1, 10*time.Second); len(got) != 1 {
		t.Fatalf("no delivery after Notify")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}
