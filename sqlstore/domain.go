package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
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

const domainColumns = `id, tenant_id, name, created_at, verification_token, verified_at`

func scanDomain(row interface{ Scan(...any) error }) (*kizuna.Domain, error) {
	var d kizuna.Domain
	var created, verified int64
	if err := row.Scan(&d.ID, &d.TenantID, &d.Name, &created, &d.VerificationToken, &verified); err != nil {
		return nil, err
	}
	d.CreatedAt, d.VerifiedAt = fromMillis(created), fromOptMillis(verified)
	return &d, nil
}

// Domains implements store.Domains.
func (db *DB) Domains(ctx context.Context, tenantID string) ([]kizuna.Domain, error) {
	rows, err := db.query(ctx, `SELECT `+domainColumns+` FROM domains WHERE tenant_id = ? ORDER BY name`, tenantID)
	if err != nil {
		return nil, db.mapErr(err)
	}
	defer rows.Close()
	out := []kizuna.Domain{}
	for rows.Next() {
		d, err := scanDomain(rows)
		if err != nil {
			return nil, db.mapErr(err)
		}
		out = append(out, *d)
	}
	return out, db.mapErr(rows.Err())
}

// DomainByName implements store.Domains.
func (db *DB) DomainByName(ctx context.Context, name string) (*kizuna.Domain, error) {
	d, err := scanDomain(db.queryRow(ctx, `SELECT `+domainColumns+` FROM domains WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Domain")
	}
	return d, db.mapErr(err)
}

// DomainOwners implements store.Domains.
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
			WHERE d.id IN (?`+strings.Repeat(", ?", len(batch)-1)+`)`, batch...)
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
		d, err = scanDomain(tx.queryRow(ctx, `SELECT `+domainColumns+` FROM domains WHERE id = ? AND tenant_id = ?`, domainID, tenantID))
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
