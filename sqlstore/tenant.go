package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// CreateTenant implements store.Tenants.
func (db *DB) CreateTenant(ctx context.Context, nt store.NewTenant) error {
	return db.inTx(ctx, func(tx *Tx) error {
		nt.Tenant.CreatedAt, nt.Tenant.UpdatedAt = tx.now, tx.now
		// A policy without a contact mode was never chosen (callers that
		// build settings by hand leave it zero): the tenant gets the default
		// rather than a closed policy nobody decided on.
		if !nt.Tenant.Settings.External.AddContacts.Valid() {
			nt.Tenant.Settings.External = kizuna.DefaultExternalPolicy
		}
		st := nt.Tenant.Settings
		if _, err := tx.exec(ctx, `INSERT INTO tenants (id, name, initial_password_ttl_hours, allow_typed_initial_passwords,
			members_create_invite_links, allow_external_personal, allow_other_tenants, external_contacts, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			nt.Tenant.ID, nt.Tenant.Name, st.InitialPasswordTTLHours, st.AllowTypedInitialPasswords,
			st.MembersCreateInviteLinks, st.External.AllowPersonal, st.External.AllowOtherTenants, st.External.AddContacts,
			millis(tx.now), millis(tx.now)); err != nil {
			return err
		}
		nt.Domain.TenantID = nt.Tenant.ID
		if err := insertDomain(ctx, tx, nt.Domain); err != nil {
			return err
		}
		nt.Owner.DomainID = nt.Domain.ID
		return insertAccount(ctx, tx, nt.Tenant.ID, nt.Owner, nt.Credential)
	})
}

// Tenant implements store.Tenants. A cancelled tenant is found, with its
// cancellation dates: only its members' sign-in and its domains'
// ownership stop (see AccountByAddress and DomainOwners).
func (db *DB) Tenant(ctx context.Context, id string) (*kizuna.Tenant, error) {
	t, err := scanTenant(db.queryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Tenant")
	}
	if err != nil {
		return nil, db.mapErr(err)
	}
	return t, nil
}

const tenantColumns = `id, name, initial_password_ttl_hours, allow_typed_initial_passwords,
	members_create_invite_links, allow_external_personal, allow_other_tenants, external_contacts, created_at, updated_at,
	cancelled_at, purge_after`

func scanTenant(row scanner) (*kizuna.Tenant, error) {
	var t kizuna.Tenant
	var created, updated, cancelled, purge int64
	err := row.Scan(&t.ID, &t.Name, &t.Settings.InitialPasswordTTLHours, &t.Settings.AllowTypedInitialPasswords,
		&t.Settings.MembersCreateInviteLinks, &t.Settings.External.AllowPersonal, &t.Settings.External.AllowOtherTenants,
		&t.Settings.External.AddContacts, &created, &updated, &cancelled, &purge)
	if err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = fromMillis(created), fromMillis(updated)
	t.CancelledAt, t.PurgeAfter = fromOptMillis(cancelled), fromOptMillis(purge)
	return &t, nil
}

// RenameTenant implements store.Tenants.
func (db *DB) RenameTenant(ctx context.Context, id, name string) (*kizuna.Tenant, error) {
	err := db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE tenants SET name = ?, updated_at = ? WHERE id = ?`, name, millis(tx.now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.NotFound("Tenant")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.Tenant(ctx, id)
}

// CountTenants implements store.Tenants.
func (db *DB) CountTenants(ctx context.Context) (int, error) {
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM tenants`).Scan(&n); err != nil {
		return 0, db.mapErr(err)
	}
	return n, nil
}

// UpdateTenantSettings implements store.Tenants. It leaves the
// external-talk policy alone: that changes only through SetExternalPolicy,
// audited in its own transaction, so a settings change made from a stale
// read cannot undo a policy change.
func (db *DB) UpdateTenantSettings(ctx context.Context, id string, st kizuna.TenantSettings) (*kizuna.Tenant, error) {
	err := db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE tenants SET initial_password_ttl_hours = ?, allow_typed_initial_passwords = ?,
			members_create_invite_links = ?, updated_at = ? WHERE id = ?`,
			st.InitialPasswordTTLHours, st.AllowTypedInitialPasswords, st.MembersCreateInviteLinks, millis(tx.now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.NotFound("Tenant")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.Tenant(ctx, id)
}
