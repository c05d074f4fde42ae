package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/kizuna-chat/kizuna"
)

func insertDomain(ctx context.Context, tx *Tx, d *kizuna.Domain) error {
	d.CreatedAt = tx.now
	_, err := tx.exec(ctx, `INSERT INTO domains (id, tenant_id, name, created_at) VALUES (?, ?, ?, ?)`,
		d.ID, d.TenantID, d.Name, millis(tx.now))
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

const domainColumns = `id, tenant_id, name, created_at`

func scanDomain(row interface{ Scan(...any) error }) (*kizuna.Domain, error) {
	var d kizuna.Domain
	var created int64
	if err := row.Scan(&d.ID, &d.TenantID, &d.Name, &created); err != nil {
		return nil, err
	}
	d.CreatedAt = fromMillis(created)
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
