package service

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// AuditService lets admins read and export their tenant's audit trail
// (R14).
type AuditService struct{ *deps }

// List returns a page of the tenant's audit entries, newest first (admins
// only). before is the last ID of the previous page; action filters by
// exact action ("member.reissue_password", "auth.lockout", …).
func (s *AuditService) List(ctx context.Context, before, action string, limit int) (*Page[*kizuna.AuditEntry], error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit); err != nil {
		return nil, err
	}
	entries, err := s.store.AuditLog(ctx, a.Account.TenantID, store.AuditFilter{Before: before, Action: action, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	page := &Page[*kizuna.AuditEntry]{Items: entries}
	if len(entries) > limit {
		page.Items = entries[:limit]
		page.NextCursor = entries[limit-1].ID
	}
	return page, nil
}

// AuditColumns are the audit export's CSV columns.
var AuditColumns = []string{"id", "time", "action", "actor_id", "target_id", "target", "source_addr", "details"}

// Export writes the whole audit trail of the tenant, newest first, as CSV
// or JSON Lines (format "csv" or "jsonl"), a page at a time (admins only).
func (s *AuditService) Export(ctx context.Context, w io.Writer, format string) error {
	a, err := admin(ctx)
	if err != nil {
		return err
	}
	if format != "csv" && format != "jsonl" {
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_format", "The format must be csv or jsonl.")
	}
	cw := csv.NewWriter(w)
	enc := json.NewEncoder(w)
	if format == "csv" {
		cw.Write(AuditColumns)
	}
	before := ""
	for {
		page, err := s.store.AuditLog(ctx, a.Account.TenantID, store.AuditFilter{Before: before, Limit: 1000})
		if err != nil {
			return err
		}
		for _, e := range page {
			if format == "csv" {
				cw.Write([]string{e.ID, e.CreatedAt.UTC().Format(time.RFC3339Nano), e.Action, e.ActorID, e.TargetID, e.Target, e.SourceAddr, e.Details})
			} else if err := enc.Encode(e); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if len(page) < 1000 {
			return nil
		}
		before = page[len(page)-1].ID
	}
}

// PurgeExpired deletes audit entries older than the retention period, in
// batches, and returns how many went. Deleting is idempotent, so it may
// run on every node.
func (s *AuditService) PurgeExpired(ctx context.Context) (int, error) {
	if s.cfg.AuditRetention <= 0 {
		return 0, nil
	}
	before := s.now().Add(-s.cfg.AuditRetention)
	total := 0
	for {
		n, err := s.store.DeleteAuditBefore(ctx, before, 1000)
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}
