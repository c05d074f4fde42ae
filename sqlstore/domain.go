package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kizuna-chat/kizuna"
)

func insertDomain(ctx context.Context, tx *Tx, d *kizuna.Domain) error {
	if err := checkNotReserved(ctx, tx, d.Name, ""); err != nil {
		return err
	}
	d.CreatedAt = tx.now
	_, err := tx.exec(ctx, `INSERT INTO domains (id, tenant_id, name, created_at, verification_token) VALUES (?, ?, ?, ?, ?)`,
		d.ID, d.TenantID, d.Name, millis(tx.now), d.VerificationToken)
	if err != nil && tx.db.dialect.IsUniqueViolation(err) {
		return kizuna.Errorf(kizuna.ErrConflict, "domain_taken", "The domain %s is already in use.", kizuna.DisplayDomain(d.Name))
	}
	if err != nil && tx.db.dialect.IsForeignKeyViolation(err) {
		return kizuna.NotFound("Tenant")
	}
	return err
}

// AddDomain implements store.Domains.
func (db *DB) AddDomain(ctx context.Context, d *kizuna.Domain) error {
	return db.inTx(ctx, func(tx *Tx) error { return insertDomain(ctx, tx, d) })
}

const domainColumns = `id, tenant_id, name, created_at, verification_token, verified_at, deleted_at, purge_after`

func scanDomain(row scanner) (*kizuna.Domain, error) {
	var d kizuna.Domain
	var created, verified, deleted, purge int64
	if err := row.Scan(&d.ID, &d.TenantID, &d.Name, &created, &d.VerificationToken, &verified, &deleted, &purge); err != nil {
		return nil, err
	}
	d.CreatedAt, d.VerifiedAt = fromMillis(created), fromOptMillis(verified)
	d.DeletedAt, d.PurgeAfter = fromOptMillis(deleted), fromOptMillis(purge)
	return &d, nil
}

// scanDomainValue is scanDomain for lists of values.
func scanDomainValue(row scanner) (kizuna.Domain, error) {
	d, err := scanDomain(row)
	if err != nil {
		return kizuna.Domain{}, err
	}
	return *d, nil
}

// Domains implements store.Domains.
func (db *DB) Domains(ctx context.Context, tenantID string) ([]kizuna.Domain, error) {
	return queryAll(ctx, db, scanDomainValue, `SELECT `+domainColumns+` FROM domains WHERE tenant_id = ? AND deleted_at = 0 ORDER BY name`, tenantID)
}

// DomainByName implements store.Domains.
func (db *DB) DomainByName(ctx context.Context, name string) (*kizuna.Domain, error) {
	// A cancelled tenant's domains belong to nobody: nothing can be moved
	// to, offered to or joined through them. Their rows still reserve
	// the names (AddDomain and RenameDomain hit the unique index).
	d, err := scanDomain(db.queryRow(ctx, `SELECT `+domainColumns+` FROM domains WHERE name = ? AND deleted_at = 0
		AND tenant_id IN (SELECT id FROM tenants WHERE cancelled_at = 0)`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Domain")
	}
	return d, db.mapErr(err)
}

// DomainOwners implements store.Domains. A cancelled tenant owns nothing
// (R13): its members classify as external, their domain belonging to no
// tenant, for every viewer at once.
func (db *DB) DomainOwners(ctx context.Context, domainIDs []string) (map[string]kizuna.DomainOwner, error) {
	out := make(map[string]kizuna.DomainOwner, len(domainIDs))
	ids := make([]any, 0, len(domainIDs))
	seen := map[string]bool{}
	for _, id := range domainIDs {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 500)]
		ids = ids[len(batch):]
		rows, err := db.query(ctx, `SELECT d.id, d.name, t.id, t.name FROM domains d JOIN tenants t ON t.id = d.tenant_id
			WHERE d.deleted_at = 0 AND t.cancelled_at = 0 AND d.id IN (`+placeholders(len(batch))+`)`, batch...)
		if err != nil {
			return nil, db.mapErr(err)
		}
		for rows.Next() {
			var id string
			var o kizuna.DomainOwner
			if err := rows.Scan(&id, &o.DomainName, &o.TenantID, &o.TenantName); err != nil {
				rows.Close()
				return nil, db.mapErr(err)
			}
			out[id] = o
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, db.mapErr(err)
		}
	}
	return out, nil
}

// checkNotReserved refuses a name that is a live former name of a domain
// other than exceptDomainID.
func checkNotReserved(ctx context.Context, tx *Tx, name, exceptDomainID string) error {
	var holder string
	err := tx.queryRow(ctx, `SELECT domain_id FROM domain_aliases WHERE name = ? AND expires_at > ?`, name, millis(tx.now)).Scan(&holder)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && holder == exceptDomainID) {
		return nil
	}
	if err != nil {
		return err
	}
	return kizuna.Errorf(kizuna.ErrConflict, "domain_taken", "The domain %s was renamed recently and stays reserved during its grace period.", kizuna.DisplayDomain(name))
}

// RenameDomain implements store.Domains. It touches the domain's row and
// one alias row, whatever the number of members: IDs refer to the domain.
func (db *DB) RenameDomain(ctx context.Context, tenantID, domainID, newName string, graceUntil time.Time, audit *kizuna.AuditEntry) (*kizuna.Domain, error) {
	var d *kizuna.Domain
	err := db.inTx(ctx, func(tx *Tx) error {
		// Lock the row first, so concurrent renames of one domain run one
		// after the other (PostgreSQL row lock; SQLite has one writer).
		if _, err := tx.exec(ctx, `UPDATE domains SET name = name WHERE id = ? AND tenant_id = ?`, domainID, tenantID); err != nil {
			return err
		}
		var err error
		d, err = scanDomain(tx.queryRow(ctx, `SELECT `+domainColumns+` FROM domains WHERE id = ? AND tenant_id = ? AND deleted_at = 0`, domainID, tenantID))
		if errors.Is(err, sql.ErrNoRows) {
			return kizuna.NotFound("Domain")
		}
		if err != nil {
			return err
		}
		if d.Name == newName {
			return nil
		}
		if err := checkNotReserved(ctx, tx, newName, domainID); err != nil {
			return err
		}
		old := d.Name
		// The new name may be one of this domain's former names: it stops
		// being an alias. Expired aliases of the old name are replaced.
		if _, err := tx.exec(ctx, `DELETE FROM domain_aliases WHERE name = ? OR (name = ? AND expires_at <= ?)`, newName, old, millis(tx.now)); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE domains SET name = ? WHERE id = ?`, newName, domainID); err != nil {
			if tx.db.dialect.IsUniqueViolation(err) {
				return kizuna.Errorf(kizuna.ErrConflict, "domain_taken", "The domain %s is already in use.", kizuna.DisplayDomain(newName))
			}
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO domain_aliases (name, domain_id, expires_at, created_at) VALUES (?, ?, ?, ?)`,
			old, domainID, millis(graceUntil), millis(tx.now)); err != nil {
			return err
		}
		d.Name = newName
		if audit != nil {
			return insertAudit(ctx, tx, audit)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// MarkDomainVerified implements store.Domains.
func (db *DB) MarkDomainVerified(ctx context.Context, tenantID, domainID string) (*kizuna.Domain, error) {
	var d *kizuna.Domain
	err := db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE domains SET verified_at = ? WHERE id = ? AND tenant_id = ?`, millis(tx.now), domainID, tenantID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.NotFound("Domain")
		}
		d, err = scanDomain(tx.queryRow(ctx, `SELECT `+domainColumns+` FROM domains WHERE id = ?`, domainID))
		return err
	})
	return d, err
}

// Domain implements store.Domains.
func (db *DB) Domain(ctx context.Context, tenantID, domainID string) (*kizuna.Domain, error) {
	d, err := scanDomain(db.queryRow(ctx, `SELECT `+domainColumns+` FROM domains WHERE id = ? AND tenant_id = ?`, domainID, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Domain")
	}
	return d, db.mapErr(err)
}

// DeletedDomains implements store.Domains.
func (db *DB) DeletedDomains(ctx context.Context, tenantID string) ([]kizuna.Domain, error) {
	return queryAll(ctx, db, scanDomainValue, `SELECT `+domainColumns+` FROM domains WHERE tenant_id = ? AND deleted_at <> 0 ORDER BY deleted_at DESC`, tenantID)
}

// DomainImpact implements store.Domains.
func (db *DB) DomainImpact(ctx context.Context, tenantID, domainID, moveTo string) (*kizuna.DomainImpact, error) {
	var imp *kizuna.DomainImpact
	err := db.inTx(ctx, func(tx *Tx) error {
		var err error
		imp, err = domainImpact(ctx, tx, tenantID, domainID, moveTo)
		return err
	})
	return imp, err
}

func domainImpact(ctx context.Context, tx *Tx, tenantID, domainID, moveTo string) (*kizuna.DomainImpact, error) {
	imp := &kizuna.DomainImpact{MemberIDs: []string{}, Conflicts: []string{}}
	var name string
	err := tx.queryRow(ctx, `SELECT name FROM domains WHERE id = ? AND tenant_id = ? AND deleted_at = 0`, domainID, tenantID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Domain")
	}
	if err != nil {
		return nil, err
	}
	counts := []struct {
		dst   *int
		query string
		args  []any
	}{
		// "kind = 'member'" lets the engines answer from the partial
		// unique index on (domain_id, local).
		{&imp.Members, `SELECT COUNT(*) FROM accounts WHERE domain_id = ? AND kind = 'member' AND status <> 'deleted'`, []any{domainID}},
		{&imp.OwnersInDomain, `SELECT COUNT(*) FROM accounts WHERE domain_id = ? AND role = 'owner' AND status = 'active'`, []any{domainID}},
		{&imp.OwnersElsewhere, `SELECT COUNT(*) FROM accounts a JOIN domains d ON d.id = a.domain_id
			WHERE d.tenant_id = ? AND d.deleted_at = 0 AND a.domain_id <> ? AND a.status = 'active' AND a.role = 'owner'`, []any{tenantID, domainID}},
		{&imp.InviteLinks, `SELECT COUNT(*) FROM invite_links WHERE tenant_id = ? AND revoked_at = 0 AND expires_at > ? AND uses < max_uses
			AND (',' || domain_ids || ',') LIKE ?`, []any{tenantID, millis(tx.now), "%," + domainID + ",%"}},
		{&imp.PendingMail, `SELECT COUNT(*) FROM outgoing_mail m JOIN accounts a ON a.id = m.account_id
			WHERE a.domain_id = ? AND m.status = 'pending'`, []any{domainID}},
	}
	for _, c := range counts {
		if err := tx.queryRow(ctx, c.query, c.args...).Scan(c.dst); err != nil {
			return nil, err
		}
	}
	var live int
	if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM domains WHERE tenant_id = ? AND deleted_at = 0`, tenantID).Scan(&live); err != nil {
		return nil, err
	}
	imp.IsLastDomain = live <= 1
	rows, err := tx.query(ctx, `SELECT local FROM accounts WHERE domain_id = ? AND kind = 'member' AND status <> 'deleted' ORDER BY local LIMIT 100`, domainID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			rows.Close()
			return nil, err
		}
		imp.MemberIDs = append(imp.MemberIDs, l+"@"+name)
	}
	rows.Close()
	if moveTo != "" {
		conflict := `FROM accounts a JOIN accounts b ON b.local = a.local AND b.domain_id = ? AND b.kind = 'member' AND b.status <> 'deleted'
			WHERE a.domain_id = ? AND a.kind = 'member' AND a.status <> 'deleted'`
		if err := tx.queryRow(ctx, `SELECT COUNT(*) `+conflict, moveTo, domainID).Scan(&imp.ConflictCount); err != nil {
			return nil, err
		}
		rows, err := tx.query(ctx, `SELECT a.local `+conflict+` ORDER BY a.local LIMIT 100`, moveTo, domainID)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				rows.Close()
				return nil, err
			}
			imp.Conflicts = append(imp.Conflicts, l)
		}
		rows.Close()
	}
	return imp, rows.Err()
}

// DeleteDomain implements store.Domains.
func (db *DB) DeleteDomain(ctx context.Context, tenantID, domainID, moveTo string, purgeAfter time.Time, audit *kizuna.AuditEntry) error {
	return db.inTx(ctx, func(tx *Tx) error {
		// Lock the tenant's domains in a stable order, so two admins
		// deleting domains at once cannot both leave none.
		if _, err := tx.exec(ctx, `UPDATE tenants SET updated_at = updated_at WHERE id = ?`, tenantID); err != nil {
			return err
		}
		imp, err := domainImpact(ctx, tx, tenantID, domainID, moveTo)
		if err != nil {
			return err
		}
		if imp.IsLastDomain {
			return kizuna.Errorf(kizuna.ErrConflict, "last_domain", "A tenant keeps at least one domain; add another before deleting this one.")
		}
		if moveTo != "" {
			var ok int
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM domains WHERE id = ? AND tenant_id = ? AND deleted_at = 0`, moveTo, tenantID).Scan(&ok); err != nil {
				return err
			}
			if ok == 0 || moveTo == domainID {
				return kizuna.Errorf(kizuna.ErrInvalid, "invalid_move_target", "Members can move only to another of this tenant's domains.")
			}
			if imp.ConflictCount > 0 {
				return kizuna.Errorf(kizuna.ErrConflict, "local_part_taken", "%d members' IDs are taken in the target domain (%s…); resolve them first.", imp.ConflictCount, imp.Conflicts[0])
			}
			if _, err := tx.exec(ctx, `UPDATE accounts SET domain_id = ?, updated_at = ? WHERE domain_id = ? AND status <> 'deleted'`, moveTo, millis(tx.now), domainID); err != nil {
				return err
			}
		} else {
			if imp.OwnersInDomain > 0 && imp.OwnersElsewhere == 0 {
				return kizuna.Errorf(kizuna.ErrConflict, "last_owner", "The tenant's only owners are in this domain; move them or make someone else owner first.")
			}
			if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE account_id IN (SELECT id FROM accounts WHERE domain_id = ? AND status <> 'deleted')`, domainID); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `UPDATE accounts SET status = 'deleted', deleted_with_domain = ?, updated_at = ? WHERE domain_id = ? AND status <> 'deleted'`,
				domainID, millis(tx.now), domainID); err != nil {
				return err
			}
		}
		res, err := tx.exec(ctx, `UPDATE domains SET deleted_at = ?, purge_after = ? WHERE id = ? AND deleted_at = 0`, millis(tx.now), millis(purgeAfter), domainID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.NotFound("Domain")
		}
		if audit != nil {
			return insertAudit(ctx, tx, audit)
		}
		return nil
	})
}

// RestoreDomain implements store.Domains.
func (db *DB) RestoreDomain(ctx context.Context, tenantID, domainID string, audit *kizuna.AuditEntry) (*kizuna.Domain, error) {
	var d *kizuna.Domain
	err := db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE domains SET deleted_at = 0, purge_after = 0 WHERE id = ? AND tenant_id = ? AND deleted_at <> 0 AND purge_after > ?`,
			domainID, tenantID, millis(tx.now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.Errorf(kizuna.ErrNotFound, "not_restorable", "No deleted domain to restore: it does not exist, is not deleted, or its retention period is over.")
		}
		if _, err := tx.exec(ctx, `UPDATE accounts SET status = 'active', deleted_with_domain = NULL, updated_at = ? WHERE deleted_with_domain = ?`,
			millis(tx.now), domainID); err != nil {
			if tx.db.dialect.IsUniqueViolation(err) {
				return kizuna.Errorf(kizuna.ErrConflict, "id_taken", "Some members' IDs were issued again meanwhile; the domain cannot be restored as it was.")
			}
			return err
		}
		if audit != nil {
			if err := insertAudit(ctx, tx, audit); err != nil {
				return err
			}
		}
		d, err = scanDomain(tx.queryRow(ctx, `SELECT `+domainColumns+` FROM domains WHERE id = ?`, domainID))
		return err
	})
	return d, err
}
