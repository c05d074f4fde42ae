package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/kizuna-chat/kizuna"
)

const transferSelect = `SELECT x.id, x.domain_id, d.name, x.from_tenant, f.name, x.to_tenant, t.name, x.created_by, x.status, x.created_at, x.expires_at
	FROM domain_transfers x JOIN domains d ON d.id = x.domain_id JOIN tenants f ON f.id = x.from_tenant JOIN tenants t ON t.id = x.to_tenant `

func scanTransfer(row scanner) (*kizuna.DomainTransfer, error) {
	var x kizuna.DomainTransfer
	var created, expires int64
	if err := row.Scan(&x.ID, &x.DomainID, &x.DomainName, &x.FromTenant, &x.FromName, &x.ToTenant, &x.ToName, &x.CreatedBy, &x.Status, &created, &expires); err != nil {
		return nil, err
	}
	x.CreatedAt, x.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &x, nil
}

// CreateDomainTransfer implements store.Domains.
func (db *DB) CreateDomainTransfer(ctx context.Context, x *kizuna.DomainTransfer) error {
	return db.inTx(ctx, func(tx *Tx) error {
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM domains WHERE id = ? AND tenant_id = ? AND deleted_at = 0`, x.DomainID, x.FromTenant).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return kizuna.NotFound("Domain")
		}
		x.Status, x.CreatedAt = "pending", tx.now
		_, err := tx.exec(ctx, `INSERT INTO domain_transfers (id, domain_id, from_tenant, to_tenant, created_by, status, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`, x.ID, x.DomainID, x.FromTenant, x.ToTenant, x.CreatedBy, millis(tx.now), millis(x.ExpiresAt))
		return err
	})
}

// DomainTransfers implements store.Domains.
func (db *DB) DomainTransfers(ctx context.Context, tenantID string) ([]*kizuna.DomainTransfer, error) {
	return queryAll(ctx, db, scanTransfer, transferSelect+`WHERE (x.from_tenant = ? OR x.to_tenant = ?) AND x.status = 'pending' AND x.expires_at > ?
		ORDER BY x.id DESC`, tenantID, tenantID, millis(db.Now()))
}

// AcceptDomainTransfer implements store.Domains.
func (db *DB) AcceptDomainTransfer(ctx context.Context, toTenant, id string, audit []*kizuna.AuditEntry) (*kizuna.DomainTransfer, error) {
	var x *kizuna.DomainTransfer
	err := db.inTx(ctx, func(tx *Tx) error {
		var err error
		x, err = scanTransfer(tx.queryRow(ctx, transferSelect+`WHERE x.id = ? AND x.to_tenant = ? AND x.status = 'pending' AND x.expires_at > ?`,
			id, toTenant, millis(tx.now)))
		if errors.Is(err, sql.ErrNoRows) {
			return kizuna.NotFound("Domain transfer")
		}
		if err != nil {
			return err
		}
		// Lock the source tenant: its domain count and owners are checked
		// against concurrent deletions and transfers.
		if _, err := tx.exec(ctx, `UPDATE tenants SET updated_at = updated_at WHERE id = ?`, x.FromTenant); err != nil {
			return err
		}
		imp, err := domainImpact(ctx, tx, x.FromTenant, x.DomainID, "")
		if errors.Is(err, kizuna.ErrNotFound) {
			return kizuna.NotFound("Domain transfer")
		}
		if err != nil {
			return err
		}
		if imp.IsLastDomain {
			return kizuna.Errorf(kizuna.ErrConflict, "last_domain", "The domain is its tenant's last; that tenant must add another domain first.")
		}
		if imp.OwnersInDomain > 0 && imp.OwnersElsewhere == 0 {
			return kizuna.Errorf(kizuna.ErrConflict, "last_owner", "The source tenant's only owners are in this domain; it must name another owner first.")
		}
		steps := []struct {
			query string
			args  []any
		}{
			{`UPDATE domains SET tenant_id = ? WHERE id = ?`, []any{toTenant, x.DomainID}},
			// Roles belong to a tenant: nobody arrives as the new tenant's admin.
			{`UPDATE accounts SET role = 'member', updated_at = ? WHERE domain_id = ? AND role <> 'member'`, []any{millis(tx.now), x.DomainID}},
			{`UPDATE invite_links SET revoked_at = ? WHERE tenant_id = ? AND revoked_at = 0 AND (',' || domain_ids || ',') LIKE ?`,
				[]any{millis(tx.now), x.FromTenant, "%," + x.DomainID + ",%"}},
			{`UPDATE domain_transfers SET status = 'accepted', decided_at = ? WHERE id = ?`, []any{millis(tx.now), id}},
			{`UPDATE domain_transfers SET status = 'cancelled', decided_at = ? WHERE domain_id = ? AND status = 'pending'`, []any{millis(tx.now), x.DomainID}},
		}
		for _, st := range steps {
			if _, err := tx.exec(ctx, st.query, st.args...); err != nil {
				return err
			}
		}
		for _, e := range audit {
			if err := insertAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		x.Status = "accepted"
		return nil
	})
	return x, err
}

// CancelDomainTransfer implements store.Domains.
func (db *DB) CancelDomainTransfer(ctx context.Context, tenantID, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE domain_transfers SET status = 'cancelled', decided_at = ?
			WHERE id = ? AND (from_tenant = ? OR to_tenant = ?) AND status = 'pending'`, millis(tx.now), id, tenantID, tenantID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.NotFound("Domain transfer")
		}
		return nil
	})
}

// CountMembers implements store.Domains.
func (db *DB) CountMembers(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM accounts a JOIN domains d ON d.id = a.domain_id
		WHERE d.tenant_id = ? AND d.deleted_at = 0 AND a.kind = 'member' AND a.status <> 'deleted'`, tenantID).Scan(&n)
	return n, db.mapErr(err)
}
