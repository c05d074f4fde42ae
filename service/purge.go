package service

import (
	"context"
	"errors"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// purgeBatch is how many expired items one listing returns.
const purgeBatch = 100

// PurgeExpired deletes for good what outlived its retention period: the
// cancelled tenants past their purge date, with everything of theirs, and
// the deleted domains past theirs, with the accounts deleted with them
// (R11, R13). Their domain names are free again afterwards. It returns
// what went.
//
// Each item is tried at most once per run, in its own transaction; one
// that fails is logged and left for the next run, the others go on. The
// store's deletes are conditional, so a run on another node at the same
// time purges each item once between them, and a second run finds
// nothing.
func (s *TenantService) PurgeExpired(ctx context.Context) (store.PurgeCounts, error) {
	now := s.now()
	var total store.PurgeCounts
	var errs []error
	// Tenants first: their deleted domains go with them, so the domain
	// pass does not purge those one by one.
	passes := []struct {
		what  string
		list  func(context.Context, time.Time, int) ([]string, error)
		purge func(context.Context, string, time.Time) (store.PurgeCounts, error)
	}{
		{"tenant", s.store.ExpiredTenants, s.store.PurgeTenant},
		{"domain", s.store.ExpiredDomains, func(ctx context.Context, id string, t time.Time) (store.PurgeCounts, error) {
			audit := &kizuna.AuditEntry{ID: kizuna.NewID(), Action: "domain.purge",
				Details: "the retention period of the deleted domain ended: its accounts were deleted and its name released"}
			return s.store.PurgeDomain(ctx, id, t, audit)
		}},
	}
	for _, p := range passes {
		tried := map[string]bool{}
		for {
			ids, err := p.list(ctx, now, purgeBatch)
			if err != nil {
				errs = append(errs, err)
				break
			}
			fresh := 0
			for _, id := range ids {
				if tried[id] {
					continue
				}
				tried[id], fresh = true, fresh+1
				c, err := p.purge(ctx, id, now)
				if err != nil {
					if ctx.Err() != nil {
						return total, errors.Join(append(errs, err)...)
					}
					s.log.Error("purge failed; the next run tries again", p.what, id, "err", err)
					errs = append(errs, err)
					continue
				}
				if c != (store.PurgeCounts{}) {
					// The tenant's own audit trail went with it: the
					// server log is where the purge stays on record.
					s.log.Info("purged", p.what, id, "accounts", c.Accounts, "domains", c.Domains, "rooms", c.Rooms)
				}
				total = total.Add(c)
			}
			// A listing of items already tried holds only failures (the
			// others are gone): stop rather than try them twice.
			if fresh == 0 || len(ids) < purgeBatch {
				break
			}
		}
	}
	if total != (store.PurgeCounts{}) {
		s.roomsChanged() // rooms lost members; cached snapshots are stale
	}
	return total, errors.Join(errs...)
}
