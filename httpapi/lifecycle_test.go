package httpapi_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/service"
	"github.com/kizuna-chat/kizuna/store"
)

// lifecycleWorld is the API world with a movable clock and a three-day
// retention period.
type lifecycleWorld struct {
	*world
	mu  sync.Mutex
	now time.Time
}

func (lw *lifecycleWorld) clock() time.Time { lw.mu.Lock(); defer lw.mu.Unlock(); return lw.now }

func (lw *lifecycleWorld) advance(d time.Duration) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.now = lw.now.Add(d)
}

func newLifecycleWorld(t *testing.T, eng testdb.Engine) *lifecycleWorld {
	lw := &lifecycleWorld{now: time.Now().UTC().Truncate(time.Second)}
	lw.world = newWorld(t, eng.Open, func(c *service.Config) { c.Now = lw.clock; c.DeletedRetention = 72 * time.Hour })
	lw.store.Now = lw.clock
	return lw
}

// purge runs the purge job once, as `kizuna serve` does every hour.
func (lw *lifecycleWorld) purge(t *testing.T) store.PurgeCounts {
	t.Helper()
	c, err := lw.svc.Tenants.PurgeExpired(context.Background())
	if err != nil {
		t.Fatalf("purge: %v", err)
	}
	return c
}

func TestTenantCancellation(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			w := newLifecycleWorld(t, eng)
			// Sato (Acme) talks with tanaka (Partner Co): after Acme's
			// purge the room stays with tanaka, and sato's message in it.
			w.contact("member", "other_admin", "tanaka@partner.example")
			var shared roomOut
			w.decode(w.must("member", "POST", "/api/v1/rooms/direct", `{"with":"tanaka@partner.example"}`, 201), &shared)
			w.send("member", shared.ID, "c-1", "before the cancellation")
			w.room("owner", "Acme only", "sato@dept.acme.example")

			w.run(t, []scenario{
				{"preview anonymous", "", "GET", "/api/v1/tenant/cancellation-preview", "", 401, []string{`"unauthorized"`}, nil},
				{"preview by an admin", "admin", "GET", "/api/v1/tenant/cancellation-preview", "", 403, []string{`"owner_required"`}, nil},
				{"preview by a member", "member", "GET", "/api/v1/tenant/cancellation-preview", "", 403, []string{`"owner_required"`}, nil},
				{"preview", "owner", "GET", "/api/v1/tenant/cancellation-preview", "", 200,
					[]string{`"members":3`, `"domains":["acme.example","dept.acme.example"]`, `"rooms":2`, `"shared_rooms":1`, `"purge_after":"` + w.clock().Add(72*time.Hour).Format(time.RFC3339)}, []string{"partner.example"}},
				{"cancel by an admin", "admin", "DELETE", "/api/v1/tenant", `{"confirm":"Acme"}`, 403, []string{`"owner_required"`}, nil},
				{"cancel by a member", "member", "DELETE", "/api/v1/tenant", `{"confirm":"Acme"}`, 403, []string{`"owner_required"`}, nil},
				{"wrong confirm", "owner", "DELETE", "/api/v1/tenant", `{"confirm":"acme"}`, 422, []string{`"confirmation_required"`}, nil},
				{"no confirm", "owner", "DELETE", "/api/v1/tenant", `{}`, 422, []string{`"confirmation_required"`}, nil},
				{"confirm with spaces", "owner", "DELETE", "/api/v1/tenant", `{"confirm":" Acme "}`, 422, []string{`"confirmation_required"`}, nil},
				{"no body", "owner", "DELETE", "/api/v1/tenant", ``, 400, []string{`"invalid_json"`}, nil},
				{"confirm of wrong type", "owner", "DELETE", "/api/v1/tenant", `{"confirm":1}`, 400, []string{`"invalid_type"`}, nil},
				{"unknown field", "owner", "DELETE", "/api/v1/tenant", `{"confirm":"Acme","force":true}`, 400, []string{`"unknown_field"`}, nil},
				// Another tenant's owner can only ever cancel their own.
				{"other owner names Acme", "other_admin", "DELETE", "/api/v1/tenant", `{"confirm":"Acme"}`, 422, []string{`"confirmation_required"`}, nil},
				{"restore with garbage", "", "POST", "/api/v1/tenant-restores", `{"code":"hello"}`, 422, []string{`"invalid_code"`}, nil},
				{"restore with no code", "", "POST", "/api/v1/tenant-restores", `{}`, 422, []string{`"invalid_code"`}, nil},
				{"restore with an unknown code", "", "POST", "/api/v1/tenant-restores", `{"code":"kzr_` + strings.Repeat("A", 43) + `"}`, 404, []string{`"not_restorable"`}, nil},
				{"restore with bad json", "", "POST", "/api/v1/tenant-restores", `{"code":`, 400, []string{`"invalid_json"`}, nil},
				{"restore a live tenant's code field as number", "", "POST", "/api/v1/tenant-restores", `{"code":5}`, 400, []string{`"invalid_type"`}, nil},
			})
			w.must("owner", "GET", "/api/v1/me", "", 200) // nothing happened yet

			var cancelled struct {
				Tenant struct {
					ID          string
					CancelledAt time.Time `json:"cancelled_at"`
				}
				RestoreCode string    `json:"restore_code"`
				PurgeAfter  time.Time `json:"purge_after"`
				Impact      struct{ Members int }
			}
			w.decode(w.must("owner", "DELETE", "/api/v1/tenant", `{"confirm":"Acme"}`, 200), &cancelled)
			if !strings.HasPrefix(cancelled.RestoreCode, "kzr_") || !cancelled.PurgeAfter.Equal(w.clock().Add(72*time.Hour)) ||
				cancelled.Tenant.CancelledAt.IsZero() || cancelled.Impact.Members != 3 {
				t.Fatalf("cancellation = %+v", cancelled)
			}
			roomAsTanaka := "/api/v1/rooms/" + shared.ID
			w.run(t, []scenario{
				// Everyone of Acme is signed out and cannot sign in.
				{"owner's session", "owner", "GET", "/api/v1/me", "", 401, []string{`"invalid_session"`}, nil},
				{"admin's session", "admin", "GET", "/api/v1/me", "", 401, []string{`"invalid_session"`}, nil},
				{"member's session", "member", "GET", "/api/v1/me", "", 401, []string{`"invalid_session"`}, nil},
				{"owner signs in", "", "POST", "/api/v1/login", `{"id":"boss@acme.example","password":"` + ownerPassword + `"}`, 401, []string{`"invalid_credentials"`}, nil},
				{"member signs in", "", "POST", "/api/v1/login", `{"id":"sato@dept.acme.example","password":"a fine new passphrase"}`, 401, []string{`"invalid_credentials"`}, nil},
				// Tanaka sees sato as external, belonging to nobody.
				{"shared room", "other_admin", "GET", roomAsTanaka, "", 200,
					[]string{`"sato@dept.acme.example"`, `"relation_reason":"external: the account's domain no longer belongs to any tenant"`}, []string{"belongs to tenant Acme"}},
				{"history stays", "other_admin", "GET", roomAsTanaka + "/messages", "", 200, []string{"before the cancellation"}, nil},
				// The names stay reserved.
				{"take acme.example", "other_admin", "POST", "/api/v1/domains", `{"name":"acme.example"}`, 409, []string{`"domain_taken"`}, nil},
				{"rename onto dept.acme.example", "other_admin", "PATCH", "/api/v1/domains/" + domainID(t, w.world, "other_admin", "partner.example"), `{"name":"dept.acme.example"}`, 409, []string{`"domain_taken"`}, nil},
				// Partner Co goes on.
				{"partner signs in", "", "POST", "/api/v1/login", `{"id":"tanaka@partner.example","password":"` + ownerPassword + `"}`, 200, nil, nil},
			})

			// The code restores once.
			w.must("", "POST", "/api/v1/tenant-restores", `{"code":"`+cancelled.RestoreCode+`"}`, 200)
			w.run(t, []scenario{{"code used twice", "", "POST", "/api/v1/tenant-restores", `{"code":"` + cancelled.RestoreCode + `"}`, 404, []string{`"not_restorable"`}, nil}})
			w.signIn("owner", "boss@acme.example", ownerPassword)
			w.signIn("member", "sato@dept.acme.example", "a fine new passphrase")
			w.run(t, []scenario{
				{"tenant after restore", "owner", "GET", "/api/v1/tenant", "", 200, []string{`"name":"Acme"`}, []string{"cancelled_at", "purge_after"}},
				{"internal again", "other_admin", "GET", roomAsTanaka, "", 200, []string{`"relation_reason":"external: domain dept.acme.example belongs to tenant Acme"`}, nil},
				{"audit: cancel", "owner", "GET", "/api/v1/audit?action=tenant.cancel", "", 200, []string{`"target":"Acme"`, `"actor_id":"` + w.ids["owner"] + `"`, "restorable until"}, nil},
				{"audit: restore", "owner", "GET", "/api/v1/audit?action=tenant.restore", "", 200, []string{`"target":"Acme"`, "restore code"}, nil},
			})
			if c := w.purge(t); c != (store.PurgeCounts{}) {
				t.Errorf("purge of a restored tenant = %+v", c)
			}

			// Cancelled again and left past its retention: the code no
			// longer restores, the purge deletes it, its names are free.
			w.decode(w.must("owner", "DELETE", "/api/v1/tenant", `{"confirm":"Acme"}`, 200), &cancelled)
			w.advance(71 * time.Hour)
			if c := w.purge(t); c != (store.PurgeCounts{}) {
				t.Errorf("purge before the date = %+v", c)
			}
			w.advance(2 * time.Hour)
			w.run(t, []scenario{{"restore too late", "", "POST", "/api/v1/tenant-restores", `{"code":"` + cancelled.RestoreCode + `"}`, 404, []string{`"not_restorable"`}, nil}})
			if c := w.purge(t); c.Tenants != 1 || c.Domains != 2 || c.Accounts != 3 || c.Rooms != 1 {
				t.Errorf("purge = %+v, want Acme with 2 domains, 3 accounts and its own room", c)
			}
			if c := w.purge(t); c != (store.PurgeCounts{}) {
				t.Errorf("second purge = %+v", c)
			}
			w.run(t, []scenario{
				{"restore after purge", "", "POST", "/api/v1/tenant-restores", `{"code":"` + cancelled.RestoreCode + `"}`, 404, []string{`"not_restorable"`}, nil},
				{"shared room after purge", "other_admin", "GET", roomAsTanaka + "/messages", "", 200, []string{"before the cancellation", `"sender_id":"` + w.ids["member"] + `"`}, nil},
				{"acme.example is free", "other_admin", "POST", "/api/v1/domains", `{"name":"acme.example"}`, 201, nil, nil},
				{"dept.acme.example is free", "other_admin", "POST", "/api/v1/domains", `{"name":"dept.acme.example"}`, 201, nil, nil},
				{"IDs are free", "other_admin", "POST", "/api/v1/members", `{"local":"sato","domain":"dept.acme.example"}`, 201, []string{`"sato@dept.acme.example"`}, nil},
			})
		})
	}
}

func TestDomainPurgeJob(t *testing.T) {
	for _, eng := range testdb.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			w := newLifecycleWorld(t, eng)
			dept := domainID(t, w.world, "owner", "dept.acme.example")
			w.must("owner", "DELETE", "/api/v1/domains/"+dept, `{"members":"delete","confirm":"dept.acme.example"}`, 204)
			w.advance(72*time.Hour - time.Second)
			if c := w.purge(t); c != (store.PurgeCounts{}) {
				t.Errorf("purge within retention = %+v", c)
			}
			w.advance(time.Second)
			if c := w.purge(t); c != (store.PurgeCounts{Domains: 1, Accounts: 1}) {
				t.Errorf("purge = %+v, want the domain and sato", c)
			}
			if c := w.purge(t); c != (store.PurgeCounts{}) {
				t.Errorf("second purge = %+v", c)
			}
			w.run(t, []scenario{
				{"restore after purge", "owner", "POST", "/api/v1/domains/" + dept + "/restore", "", 404, []string{`"not_restorable"`}, nil},
				{"no longer listed as deleted", "owner", "GET", "/api/v1/deleted-domains", "", 200, nil, []string{"dept.acme.example"}},
				{"audit: purge", "owner", "GET", "/api/v1/audit?action=domain.purge", "", 200, []string{`"target":"dept.acme.example"`}, nil},
				{"the tenant goes on", "admin", "GET", "/api/v1/members", "", 200, []string{"boss@acme.example"}, []string{"sato"}},
				{"the name is free", "other_admin", "POST", "/api/v1/domains", `{"name":"dept.acme.example"}`, 201, nil, nil},
			})
		})
	}
}

// domainID returns the ID of one of the actor's tenant's domains.
func domainID(t *testing.T, w *world, actor, name string) string {
	t.Helper()
	for _, d := range domainsOf(t, w, actor) {
		if d.Name == name {
			return d.ID
		}
	}
	t.Fatalf("%s has no domain %s", actor, name)
	return ""
}
