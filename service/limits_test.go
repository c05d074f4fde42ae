package service

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/password"
)

func TestMessageRateLimit(t *testing.T) {
	t.Parallel()
	l := newLimiter(Limits{})
	now := time.Unix(1_700_000_000, 0)
	for i := range DefaultMessageBurst {
		if err := l.allowMessage("a", now); err != nil {
			t.Fatalf("message %d of the burst: %v", i+1, err)
		}
	}
	err := l.allowMessage("a", now)
	e := kizuna.AsError(err)
	if e.Code != "rate_limited" || e.RetryAfterSeconds != 1 {
		t.Fatalf("message past the burst: %+v, want rate_limited with Retry-After 1", e)
	}
	if err := l.allowMessage("b", now); err != nil {
		t.Fatalf("another account is limited too: %v", err)
	}
	// A second refills DefaultMessagesPerSecond tokens, no more.
	now = now.Add(time.Second)
	for i := range DefaultMessagesPerSecond {
		if err := l.allowMessage("a", now); err != nil {
			t.Fatalf("message %d after a second: %v", i+1, err)
		}
	}
	if l.allowMessage("a", now) == nil {
		t.Fatal("more than the rate was allowed")
	}
	// Idle buckets are forgotten once full again.
	now = now.Add(time.Hour)
	l.allowMessage("c", now)
	if len(l.senders) != 1 {
		t.Errorf("%d buckets kept after an hour idle, want only the new one", len(l.senders))
	}
	off := newLimiter(Limits{MessagesPerSecond: -1})
	for range 1000 {
		if err := off.allowMessage("a", now); err != nil {
			t.Fatal("a limit turned off still limits")
		}
	}
}

func TestStreamLimit(t *testing.T) {
	t.Parallel()
	l := newLimiter(Limits{StreamsPerAccount: 2})
	r1, err := l.openStream([]string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.openStream([]string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	// All or none: a stream of b and a full a counts against neither.
	if _, err := l.openStream([]string{"b", "a"}); kizuna.ErrorCode(err) != "too_many_connections" {
		t.Fatalf("third stream of a: %v", err)
	}
	if l.streams["b"] != 1 {
		t.Fatalf("a refused stream was counted against b: %d", l.streams["b"])
	}
	r1()
	r1() // a second release is harmless
	if _, err := l.openStream([]string{"a"}); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if l.streams["a"] != 2 {
		t.Fatalf("a holds %d streams, want 2", l.streams["a"])
	}
}

// TestInviteGuessing locks an address after maxInviteAddrFailures unusable
// codes and a code after maxInviteCodeFailures lookups from any address;
// a locked address gets 429 even for a good code, other addresses do not.
func TestInviteGuessing(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			db := eng.Open(t)
			now := time.Now().UTC().Truncate(time.Second)
			clock := func() time.Time { return now }
			db.Now = clock
			svc := New(db, password.NewHasher(password.Params{MemoryKiB: 64, Time: 1, Threads: 1}, 0), Config{Now: clock}, slog.New(slog.DiscardHandler))
			t.Cleanup(svc.Close)
			ctx := context.Background()
			ct, err := svc.Tenants.Create(ctx, NewTenant{TenantName: "Acme", Domain: "acme.example", OwnerLocal: "boss", OwnerPassword: "owner passphrase 1"})
			if err != nil {
				t.Fatal(err)
			}
			link, err := svc.Invites.Create(as(ct.Owner.Account), NewInviteLink{})
			if err != nil {
				t.Fatal(err)
			}
			from := func(addr string) context.Context { return WithSourceAddr(ctx, addr) }

			guesser := from("198.51.100.7")
			for i := range maxInviteAddrFailures {
				_, err := svc.Invites.Info(guesser, fmt.Sprintf("kzi_guess%d", i))
				want := "invite_unusable"
				if i == maxInviteAddrFailures-1 {
					want = "too_many_attempts"
				}
				if got := kizuna.ErrorCode(err); got != want {
					t.Fatalf("guess %d: %v, want %s", i+1, err, want)
				}
			}
			_, err = svc.Invites.Info(guesser, link.Code)
			if e := kizuna.AsError(err); e.Code != "too_many_attempts" || e.RetryAfterSeconds < 60 {
				t.Fatalf("a good code from a locked address: %+v", e)
			}
			if _, err := svc.Invites.Accept(guesser, AcceptInvite{Code: link.Code, Local: "x", Domain: "acme.example", Password: "a fine passphrase"}); kizuna.ErrorCode(err) != "too_many_attempts" {
				t.Fatalf("accepting from a locked address: %v", err)
			}
			if _, err := svc.Invites.Info(from("198.51.100.8"), link.Code); err != nil {
				t.Fatalf("another address: %v", err)
			}

			// One code tried from many addresses.
			for i := range maxInviteCodeFailures {
				_, err := svc.Invites.Info(from(fmt.Sprintf("203.0.113.%d", i)), "kzi_popular")
				if i < maxInviteCodeFailures-1 && kizuna.ErrorCode(err) != "invite_unusable" {
					t.Fatalf("lookup %d of one code: %v", i+1, err)
				}
				if i == maxInviteCodeFailures-1 && kizuna.ErrorCode(err) != "too_many_attempts" {
					t.Fatalf("lookup %d of one code: %v, want too_many_attempts", i+1, err)
				}
			}

			// The locks end.
			now = now.Add(inviteLockFor + time.Second)
			if _, err := svc.Invites.Info(guesser, link.Code); err != nil {
				t.Fatalf("after the lock: %v", err)
			}
		})
	}
}
