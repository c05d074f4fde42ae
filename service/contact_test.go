package service

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/password"
	"github.com/kizuna-chat/kizuna/store"
)

// countingStore counts the reads talkCheck makes, to hold it to its
// promise that colleagues cost no query and others one batch.
type countingStore struct {
	store.Store
	parties, contacts atomic.Int32
}

func (c *countingStore) TalkParties(ctx context.Context, ids []string) (map[string]kizuna.TalkParty, error) {
	c.parties.Add(1)
	return c.Store.TalkParties(ctx, ids)
}

func (c *countingStore) CountingContacts(ctx context.Context, id string, others []string, now time.Time) (map[string]bool, error) {
	c.contacts.Add(1)
	return c.Store.CountingContacts(ctx, id, others, now)
}

func as(a *kizuna.Account) context.Context {
	return kizuna.WithActor(context.Background(), &kizuna.Actor{Account: a, Session: &kizuna.Session{}})
}

func TestTalkCheck(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			db := eng.Open(t)
			now := time.Now().UTC().Truncate(time.Second)
			clock := func() time.Time { return now }
			db.Now = clock
			st := &countingStore{Store: db}
			svc := New(st, password.NewHasher(password.Params{MemoryKiB: 64, Time: 1, Threads: 1}, 0), Config{Now: clock}, slog.New(slog.DiscardHandler))
			ctx := context.Background()
			tenant := func(name, domain string) *kizuna.Account {
				ct, err := svc.Tenants.Create(ctx, NewTenant{TenantName: name, Domain: domain, OwnerLocal: "boss", OwnerPassword: "owner passphrase 1"})
				if err != nil {
					t.Fatal(err)
				}
				return ct.Owner.Account
			}
			acme, partner := tenant("Acme", "acme.example"), tenant("Partner Co", "partner.example")
			added, err := svc.Members.Add(as(acme), NewMember{Local: "sato", Domain: "acme.example"})
			if err != nil {
				t.Fatal(err)
			}
			sato := added.Account
			yuki := &kizuna.Account{ID: kizuna.NewID(), Kind: kizuna.KindPersonal, Local: "yuki", DisplayName: "Yuki", Role: kizuna.RoleMember, Status: kizuna.StatusActive}
			if err := db.AddAccount(ctx, "", yuki, kizuna.Credential{Hash: "x"}); err != nil {
				t.Fatal(err)
			}
			d := svc.Contacts.deps
			check := func(a *kizuna.Account, others []*kizuna.Account, needContact bool, code string) {
				t.Helper()
				err := d.talkCheck(ctx, a, others, needContact)
				if got := kizuna.ErrorCode(err); got != code {
					t.Fatalf("talkCheck(%s → %d others, contact=%v) = %v, want %q", a.Address(), len(others), needContact, err, code)
				}
			}

			// Colleagues pass without a query, even across the tenant's domains.
			check(acme, []*kizuna.Account{sato, acme}, true, "")
			if st.parties.Load() != 0 || st.contacts.Load() != 0 {
				t.Fatalf("colleagues cost %d policy and %d contact reads", st.parties.Load(), st.contacts.Load())
			}
			// Others: one batched read of policies, one of contacts.
			check(sato, []*kizuna.Account{partner, yuki, acme}, false, "")
			check(sato, []*kizuna.Account{partner, yuki}, true, "contact_required")
			if st.parties.Load() != 2 || st.contacts.Load() != 1 {
				t.Fatalf("external checks cost %d policy and %d contact reads, want 2 and 1", st.parties.Load(), st.contacts.Load())
			}

			// An accepted contact lets the two talk; expiry ends it.
			until := now.Add(time.Hour)
			c, _, err := svc.Contacts.Request(as(sato), ContactRequest{ID: "boss@partner.example", ExpiresAt: until})
			if err != nil {
				t.Fatal(err)
			}
			check(sato, []*kizuna.Account{partner}, true, "contact_required") // asked, not accepted
			if _, err := svc.Contacts.Accept(as(partner), c.ID); err != nil {
				t.Fatal(err)
			}
			check(sato, []*kizuna.Account{partner}, true, "")
			check(partner, []*kizuna.Account{sato}, true, "") // both directions

			// A policy flip on either side takes effect on the next check,
			// even with the accounts the caller already holds.
			if _, err := svc.Contacts.SetPolicy(as(partner), kizuna.ExternalPolicy{AllowPersonal: true, AllowOtherTenants: false, AddContacts: kizuna.ContactsFree}); err != nil {
				t.Fatal(err)
			}
			err = d.talkCheck(ctx, sato, []*kizuna.Account{partner}, true)
			if kizuna.ErrorCode(err) != "external_talk_forbidden" || !strings.Contains(err.Error(), "boss@partner.example") ||
				!strings.Contains(err.Error(), "Partner Co does not allow talk with other companies") {
				t.Fatalf("after Partner's flip: %v", err)
			}
			check(sato, []*kizuna.Account{yuki}, false, "") // personal accounts still allowed by both
			// A member exception "allow" on the closed side reopens it.
			if _, err := svc.Contacts.SetExternalTalk(as(partner), partner.ID, kizuna.ExternalTalkAllow); err != nil {
				t.Fatal(err)
			}
			check(sato, []*kizuna.Account{partner}, true, "")
			// "deny" on the open side closes it again.
			if _, err := svc.Contacts.SetExternalTalk(as(acme), sato.ID, kizuna.ExternalTalkDeny); err != nil {
				t.Fatal(err)
			}
			check(sato, []*kizuna.Account{partner}, false, "external_talk_forbidden")
			check(sato, []*kizuna.Account{yuki}, false, "external_talk_forbidden")
			check(sato, []*kizuna.Account{acme}, false, "") // never inside the tenant
			if _, err := svc.Contacts.SetExternalTalk(as(acme), sato.ID, kizuna.ExternalTalkDefault); err != nil {
				t.Fatal(err)
			}
			check(sato, []*kizuna.Account{partner}, true, "")

			// Expiry: the contact stops counting at expires_at.
			now = until
			check(sato, []*kizuna.Account{partner}, true, "contact_required")
			check(sato, []*kizuna.Account{partner}, false, "")

			// A deleted account cannot be talked to.
			if err := svc.Members.Delete(as(acme), sato.ID); err != nil {
				t.Fatal(err)
			}
			check(yuki, []*kizuna.Account{sato}, false, "external_talk_forbidden")
		})
	}
}
