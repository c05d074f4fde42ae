package httpapi_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/service"
)

func TestDomainRename(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			now := time.Now()
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			w := newWorld(t, eng.Open, func(c *service.Config) { c.Now = clock; c.DomainGracePeriod = 48 * time.Hour })
			w.store.Now = clock
			var dept struct{ ID string }
			for _, d := range domainsOf(t, w, "owner") {
				if d.Name == "dept.acme.example" {
					dept.ID = d.ID
				}
			}
			before := w.must("member", "GET", "/api/v1/me", "", 200)
			room := w.room("owner", "Before the rename", "sato@dept.acme.example")
			w.send("member", room.ID, "pre-rename", "sent as sato@dept")
			historyBefore := w.must("owner", "GET", "/api/v1/rooms/"+room.ID+"/messages", "", 200)
			w.must("owner", "PATCH", "/api/v1/domains/"+dept.ID, `{"name":"Sales.Acme.example"}`, 200)
			// Rooms and history are untouched; the member shows under the new ID.
			if got := w.must("owner", "GET", "/api/v1/rooms/"+room.ID+"/messages", "", 200); got != historyBefore {
				t.Errorf("history changed by the rename:\n%s\n%s", historyBefore, got)
			}
			if got := w.must("owner", "GET", "/api/v1/rooms/"+room.ID, "", 200); !strings.Contains(got, `"sato@sales.acme.example"`) || strings.Contains(got, "dept.acme.example") {
				t.Errorf("room after the rename: %s", got)
			}
			w.send("member", room.ID, "post-rename", "sent as sato@sales")
			// Every ID moved at once; the live session goes on.
			me := w.must("member", "GET", "/api/v1/me", "", 200)
			if !strings.Contains(me, `"sign_in_id":"sato@sales.acme.example"`) || strings.Contains(me, "dept.acme.example") {
				t.Errorf("after rename: %s (before: %s)", me, before)
			}
			// The former ID still signs in during the grace period, the new one too.
			w.signIn("old", "sato@dept.acme.example", "a fine new passphrase")
			w.signIn("new", "sato@sales.acme.example", "a fine new passphrase")
			w.run(t, []scenario{
				{"lookup by former ID", "owner", "GET", "/api/v1/people/lookup?id=sato@dept.acme.example", "", 200, []string{`"sato@sales.acme.example"`}, nil},
				{"former name reserved for others", "other_admin", "POST", "/api/v1/domains", `{"name":"dept.acme.example"}`, 409, []string{`"domain_taken"`}, nil},
				{"rename onto another tenant's domain", "owner", "PATCH", "/api/v1/domains/" + dept.ID, `{"name":"partner.example"}`, 409, []string{`"domain_taken"`}, nil},
				{"rename another tenant's domain", "other_admin", "PATCH", "/api/v1/domains/" + dept.ID, `{"name":"x.example"}`, 404, nil, nil},
				{"member renames", "member", "PATCH", "/api/v1/domains/" + dept.ID, `{"name":"x.example"}`, 403, []string{`"admin_required"`}, nil},
				{"invalid name", "owner", "PATCH", "/api/v1/domains/" + dept.ID, `{"name":"-x.example"}`, 422, []string{`"invalid_domain"`}, nil},
				{"unknown domain", "owner", "PATCH", "/api/v1/domains/01HZZZZZZZZZZZZZZZZZZZZZZZ", `{"name":"y.example"}`, 404, nil, nil},
			})
			audit := w.must("owner", "GET", "/api/v1/audit?action=domain.rename", "", 200)
			if !strings.Contains(audit, `"target":"sales.acme.example"`) {
				t.Errorf("audit: %s", audit)
			}
			// After the grace period the former ID stops working and the
			// name is free for anyone.
			mu.Lock()
			now = now.Add(49 * time.Hour)
			mu.Unlock()
			w.must("", "POST", "/api/v1/login", `{"id":"sato@dept.acme.example","password":"a fine new passphrase"}`, 401)
			w.signIn("new2", "sato@sales.acme.example", "a fine new passphrase")
			w.must("other_admin", "POST", "/api/v1/domains", `{"name":"dept.acme.example"}`, 201)
		})
	}
}

func TestConcurrentDomainRenames(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			w := newWorld(t, eng.Open)
			var id string
			for _, d := range domainsOf(t, w, "owner") {
				if d.Name == "dept.acme.example" {
					id = d.ID
				}
			}
			var wg sync.WaitGroup
			statuses := make([]int, 6)
			for i := range statuses {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i], _ = w.do("owner", "PATCH", "/api/v1/domains/"+id, `{"name":"r`+string(rune('a'+i))+`.acme.example"}`)
				}()
			}
			wg.Wait()
			for i, st := range statuses {
				if st != 200 {
					t.Errorf("rename %d: status %d", i, st)
				}
			}
			// One name won; the member has exactly one current ID, and
			// every former name still reaches the same account.
			var me struct {
				Account struct {
					SignInID string `json:"sign_in_id"`
				}
			}
			w.decode(w.must("member", "GET", "/api/v1/me", "", 200), &me)
			if !strings.HasSuffix(me.Account.SignInID, ".acme.example") || !strings.HasPrefix(me.Account.SignInID, "sato@r") {
				t.Errorf("current ID %q", me.Account.SignInID)
			}
			for i := range statuses {
				w.signIn("x", "sato@r"+string(rune('a'+i))+".acme.example", "a fine new passphrase")
			}
			w.signIn("x", "sato@dept.acme.example", "a fine new passphrase")
		})
	}
}

type domainRow struct {
	ID   string
	Name string
}

func domainsOf(t *testing.T, w *world, actor string) []domainRow {
	var list struct{ Items []domainRow }
	w.decode(w.must(actor, "GET", "/api/v1/domains", "", 200), &list)
	return list.Items
}

// fakeDNS answers TXT lookups from a map: there is no DNS to ask here.
type fakeDNS struct {
	mu      sync.Mutex
	records map[string][]string
}

func (f *fakeDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.records[name]; ok {
		return r, nil
	}
	return nil, errors.New("no such host")
}

func TestDomainVerification(t *testing.T) {
	dns := &fakeDNS{records: map[string][]string{}}
	w := newWorld(t, testdb.SQLite, func(c *service.Config) { c.Resolver = dns })
	var d struct {
		ID                 string
		VerificationRecord string `json:"verification_record"`
	}
	w.decode(w.must("owner", "POST", "/api/v1/domains", `{"name":"verify.example"}`, 201), &d)
	if !strings.HasPrefix(d.VerificationRecord, "kizuna-verification=") {
		t.Fatalf("record %q", d.VerificationRecord)
	}
	w.run(t, []scenario{
		{"no record yet", "owner", "POST", "/api/v1/domains/" + d.ID + "/verify", "", 422, []string{`"verification_failed"`}, nil},
		{"member verifies", "member", "POST", "/api/v1/domains/" + d.ID + "/verify", "", 403, []string{`"admin_required"`}, nil},
		{"other tenant verifies", "other_admin", "POST", "/api/v1/domains/" + d.ID + "/verify", "", 404, nil, nil},
	})
	dns.mu.Lock()
	dns.records["verify.example"] = []string{"v=spf1 -all", "kizuna-verification=wrong"}
	dns.mu.Unlock()
	w.must("owner", "POST", "/api/v1/domains/"+d.ID+"/verify", "", 422)
	dns.mu.Lock()
	dns.records["verify.example"] = append(dns.records["verify.example"], d.VerificationRecord)
	dns.mu.Unlock()
	body := w.must("owner", "POST", "/api/v1/domains/"+d.ID+"/verify", "", 200)
	if !strings.Contains(body, `"verified_at"`) {
		t.Errorf("verified: %s", body)
	}
	// Without a resolver the server says so.
	w2 := newWorld(t, testdb.SQLite)
	var d2 struct{ ID string }
	w2.decode(w2.must("owner", "POST", "/api/v1/domains", `{"name":"verify.example"}`, 201), &d2)
	w2.must("owner", "POST", "/api/v1/domains/"+d2.ID+"/verify", "", 403)
}

func TestDomainDeletion(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			now := time.Now()
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			w := newWorld(t, eng.Open, func(c *service.Config) { c.Now = clock; c.DeletedRetention = 72 * time.Hour })
			w.store.Now = clock
			ids := map[string]string{}
			for _, d := range domainsOf(t, w, "owner") {
				ids[d.Name] = d.ID
			}
			dept := ids["dept.acme.example"]
			w.must("owner", "POST", "/api/v1/members", `{"local":"sato","domain":"acme.example"}`, 201)

			prev := w.must("owner", "GET", "/api/v1/domains/"+dept+"/deletion-preview?move_to=acme.example", "", 200)
			for _, want := range []string{`"members":1`, `"sato@dept.acme.example"`, `"move_conflicts":["sato"]`, `"is_last_domain":false`} {
				if !strings.Contains(prev, want) {
					t.Errorf("preview lacks %s: %s", want, prev)
				}
			}
			w.run(t, []scenario{
				{"no confirmation", "owner", "DELETE", "/api/v1/domains/" + dept, `{"members":"delete","confirm":"wrong.example"}`, 422, []string{`"confirmation_required"`}, nil},
				{"no choice", "owner", "DELETE", "/api/v1/domains/" + dept, `{"members":"keep","confirm":"dept.acme.example"}`, 422, []string{`"invalid_members_choice"`}, nil},
				{"move onto taken IDs", "owner", "DELETE", "/api/v1/domains/" + dept, `{"members":"move","move_to":"acme.example","confirm":"dept.acme.example"}`, 409, []string{`"local_part_taken"`}, nil},
				{"move to another tenant", "owner", "DELETE", "/api/v1/domains/" + dept, `{"members":"move","move_to":"partner.example","confirm":"dept.acme.example"}`, 422, []string{`"invalid_move_target"`}, nil},
				{"other tenant previews", "other_admin", "GET", "/api/v1/domains/" + dept + "/deletion-preview", "", 404, nil, nil},
				{"other tenant deletes", "other_admin", "DELETE", "/api/v1/domains/" + dept, `{"members":"delete","confirm":"dept.acme.example"}`, 404, nil, nil},
				{"member deletes", "member", "DELETE", "/api/v1/domains/" + dept, `{"members":"delete","confirm":"dept.acme.example"}`, 403, nil, nil},
			})
			w.must("member", "GET", "/api/v1/me", "", 200) // refused attempts changed nothing

			// Delete with the members: they are signed out and cannot sign in.
			w.must("owner", "DELETE", "/api/v1/domains/"+dept, `{"members":"delete","confirm":"dept.acme.example"}`, 204)
			w.must("member", "GET", "/api/v1/me", "", 401)
			w.must("", "POST", "/api/v1/login", `{"id":"sato@dept.acme.example","password":"a fine new passphrase"}`, 401)
			if list := w.must("owner", "GET", "/api/v1/domains", "", 200); strings.Contains(list, "dept.acme.example") {
				t.Errorf("deleted domain still listed: %s", list)
			}
			if del := w.must("owner", "GET", "/api/v1/deleted-domains", "", 200); !strings.Contains(del, `"restorable_until"`) {
				t.Errorf("deleted domains: %s", del)
			}
			// The name stays reserved; nobody can add members there.
			w.must("other_admin", "POST", "/api/v1/domains", `{"name":"dept.acme.example"}`, 409)
			w.must("owner", "POST", "/api/v1/members", `{"local":"new","domain":"dept.acme.example"}`, 404)

			// Restore brings the domain and its members back as they were.
			w.must("owner", "POST", "/api/v1/domains/"+dept+"/restore", "", 200)
			w.signIn("member", "sato@dept.acme.example", "a fine new passphrase")
			w.must("owner", "POST", "/api/v1/domains/"+dept+"/restore", "", 404)

			// Move instead: once the clash is gone, sato@dept becomes sato@acme.
			var list struct {
				Items []struct {
					ID       string
					SignInID string `json:"sign_in_id"`
				}
			}
			w.decode(w.must("owner", "GET", "/api/v1/members?limit=500", "", 200), &list)
			for _, m := range list.Items {
				if m.SignInID == "sato@acme.example" {
					w.must("owner", "DELETE", "/api/v1/members/"+m.ID, "", 204)
				}
			}
			w.must("owner", "DELETE", "/api/v1/domains/"+dept, `{"members":"move","move_to":"acme.example","confirm":"dept.acme.example"}`, 204)
			me := w.must("member", "GET", "/api/v1/me", "", 200)
			if !strings.Contains(me, `"sato@acme.example"`) {
				t.Errorf("moved member: %s", me)
			}

			// The last domain and the last owner stay.
			w.must("owner", "POST", "/api/v1/domains", `{"name":"ops.acme.example"}`, 201)
			w.addMember("ops", "ops", "ops.acme.example", "admin")
			w.run(t, []scenario{
				{"last owner", "ops", "DELETE", "/api/v1/domains/" + ids["acme.example"], `{"members":"delete","confirm":"acme.example"}`, 409, []string{`"last_owner"`}, nil},
				{"own domain", "owner", "DELETE", "/api/v1/domains/" + ids["acme.example"], `{"members":"delete","confirm":"acme.example"}`, 409, []string{`"cannot_remove_self"`}, nil},
			})
			var ops struct{ ID string }
			for _, d := range domainsOf(t, w, "owner") {
				if d.Name == "ops.acme.example" {
					ops.ID = d.ID
				}
			}
			w.must("owner", "DELETE", "/api/v1/domains/"+ops.ID, `{"members":"move","move_to":"acme.example","confirm":"ops.acme.example"}`, 204)
			w.run(t, []scenario{
				{"last domain", "owner", "DELETE", "/api/v1/domains/" + ids["acme.example"], `{"members":"move","move_to":"acme.example","confirm":"acme.example"}`, 409, []string{`"last_domain"`}, nil},
			})
			// After the retention period, restore is refused.
			mu.Lock()
			now = now.Add(73 * time.Hour)
			mu.Unlock()
			w.must("owner", "POST", "/api/v1/domains/"+ops.ID+"/restore", "", 404)
			audit := w.must("owner", "GET", "/api/v1/audit?action=domain.delete", "", 200)
			if strings.Count(audit, `"domain.delete"`) != 3 {
				t.Errorf("audit: %s", audit)
			}
		})
	}
}

func TestInviteLinkOfDeletedDomain(t *testing.T) {
	w := newWorld(t, testdb.SQLite)
	var link struct{ Code string }
	w.decode(w.must("owner", "POST", "/api/v1/invite-links", `{"domains":["dept.acme.example","acme.example"],"max_uses":5}`, 201), &link)
	var dept string
	for _, d := range domainsOf(t, w, "owner") {
		if d.Name == "dept.acme.example" {
			dept = d.ID
		}
	}
	w.must("owner", "DELETE", "/api/v1/domains/"+dept, `{"members":"move","move_to":"acme.example","confirm":"dept.acme.example"}`, 204)
	info := w.must("", "GET", "/api/v1/invites/"+link.Code, "", 200)
	if strings.Contains(info, "dept.acme.example") || !strings.Contains(info, `"acme.example"`) {
		t.Errorf("invite info offers a deleted domain: %s", info)
	}
	w.must("", "POST", "/api/v1/invites/"+link.Code+"/accept", `{"local":"late","domain":"dept.acme.example","password":"a partner passphrase"}`, 422)
}

// TestDomainTransfer hands Acme's department domain to Partner Co: the
// member in it becomes internal to Partner Co and external to Acme at
// once, keeps their ID and session, and loses their Acme role.
func TestDomainTransfer(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			w := newWorld(t, eng.Open)
			var dept string
			for _, d := range domainsOf(t, w, "owner") {
				if d.Name == "dept.acme.example" {
					dept = d.ID
				}
			}
			var link struct{ ID, Code string }
			w.decode(w.must("owner", "POST", "/api/v1/invite-links", `{"domains":["dept.acme.example"]}`, 201), &link)
			w.run(t, []scenario{
				{"member offers", "member", "POST", "/api/v1/domains/" + dept + "/transfer", `{"to_tenant_of":"partner.example"}`, 403, nil, nil},
				{"to itself", "owner", "POST", "/api/v1/domains/" + dept + "/transfer", `{"to_tenant_of":"acme.example"}`, 422, []string{`"same_tenant"`}, nil},
				{"unknown tenant", "owner", "POST", "/api/v1/domains/" + dept + "/transfer", `{"to_tenant_of":"nobody.example"}`, 404, []string{`"tenant_not_found"`}, nil},
				{"another tenant's domain", "other_admin", "POST", "/api/v1/domains/" + dept + "/transfer", `{"to_tenant_of":"acme.example"}`, 404, nil, nil},
			})
			w.must("owner", "PATCH", "/api/v1/members/"+w.ids["member"], `{"role":"admin"}`, 200)
			var offer struct {
				Transfer struct{ ID string }
				Summary  []string
			}
			w.decode(w.must("owner", "POST", "/api/v1/domains/"+dept+"/transfer", `{"to_tenant_of":"partner.example"}`, 201), &offer)
			if len(offer.Summary) == 0 || !strings.Contains(offer.Summary[0], "1 member in dept.acme.example moves from Acme to Partner Co") ||
				!strings.Contains(offer.Summary[1], "will see them as external") {
				t.Errorf("summary: %q", offer.Summary)
			}
			// Only the receiving tenant accepts.
			w.must("owner", "POST", "/api/v1/domain-transfers/"+offer.Transfer.ID+"/accept", "", 404)
			if in := w.must("other_admin", "GET", "/api/v1/domain-transfers", "", 200); !strings.Contains(in, offer.Transfer.ID) {
				t.Errorf("incoming offers: %s", in)
			}
			w.must("other_admin", "POST", "/api/v1/domain-transfers/"+offer.Transfer.ID+"/accept", "", 200)
			w.must("other_admin", "POST", "/api/v1/domain-transfers/"+offer.Transfer.ID+"/accept", "", 404)

			// Reclassified for every viewer at once; ID and session continue.
			w.run(t, []scenario{
				{"internal to Partner Co", "other_admin", "GET", "/api/v1/people/lookup?id=sato@dept.acme.example", "", 200,
					[]string{`"relation":"internal"`, "belongs to your tenant Partner Co"}, nil},
				{"external to Acme", "owner", "GET", "/api/v1/people/lookup?id=sato@dept.acme.example", "", 200,
					[]string{`"relation":"external_member"`, "belongs to tenant Partner Co"}, []string{`"role"`}},
				{"session continues", "member", "GET", "/api/v1/me", "", 200, []string{`"name":"Partner Co"`, `"role":"member"`}, nil},
				{"no longer Acme's", "owner", "GET", "/api/v1/members/" + w.ids["member"], "", 404, nil, nil},
				{"Partner Co's now", "other_admin", "GET", "/api/v1/members/" + w.ids["member"], "", 200, []string{`"sato@dept.acme.example"`}, nil},
				{"not an admin of Partner Co", "member", "GET", "/api/v1/audit", "", 403, nil, nil},
				{"Acme's invite link revoked", "", "GET", "/api/v1/invites/" + link.Code, "", 404, nil, nil},
				{"audit in Acme", "owner", "GET", "/api/v1/audit?action=domain.transfer_out", "", 200, []string{`"dept.acme.example"`}, nil},
				{"audit in Partner Co", "other_admin", "GET", "/api/v1/audit?action=domain.transfer_in", "", 200, []string{`"dept.acme.example"`}, nil},
			})
			// A tenant cannot give away its last domain.
			var pd string
			for _, d := range domainsOf(t, w, "other_admin") {
				if d.Name == "partner.example" {
					pd = d.ID
				}
			}
			w.must("other_admin", "POST", "/api/v1/domains/"+dept+"/transfer", `{"to_tenant_of":"acme.example"}`, 201)
			w.must("other_admin", "POST", "/api/v1/domains/"+pd+"/transfer", `{"to_tenant_of":"acme.example"}`, 201)
			var offers struct{ Items []struct{ ID, Domain string } }
			w.decode(w.must("owner", "GET", "/api/v1/domain-transfers", "", 200), &offers)
			if len(offers.Items) != 2 {
				t.Fatalf("offers: %+v", offers)
			}
			for _, o := range offers.Items {
				if o.Domain == "dept.acme.example" {
					w.must("owner", "POST", "/api/v1/domain-transfers/"+o.ID+"/accept", "", 200)
				}
			}
			for _, o := range offers.Items {
				if o.Domain == "partner.example" {
					w.run(t, []scenario{{"last domain", "owner", "POST", "/api/v1/domain-transfers/" + o.ID + "/accept", "", 409, []string{`"last_domain"`}, nil}})
					w.must("owner", "POST", "/api/v1/domain-transfers/"+o.ID+"/cancel", "", 204)
				}
			}
		})
	}
}
