package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

var _ store.TenantLifecycle = (*DB)(nil)

// tenantAccounts selects the keys of every account in a tenant's domains,
// deleted ones and those in soft-deleted domains included: after a purge
// nothing may refer to the tenant's domains.
const tenantAccounts = `SELECT a.id FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE d.tenant_id = ?`

func errNotRestorable() error {
	return kizuna.Errorf(kizuna.ErrNotFound, "not_restorable", "No cancelled tenant to restore: the code was used, the retention period is over, or the tenant was purged.")
}

// reader is what a read needs from a *DB or a *Tx.
type reader interface {
	queryRow(ctx context.Context, query string, args ...any) *sql.Row
	query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// TenantImpact implements store.TenantLifecycle.
func (db *DB) TenantImpact(ctx context.Context, tenantID string) (*kizuna.TenantImpact, error) {
	imp, err := tenantImpact(ctx, db, tenantID, db.Now())
	return imp, db.mapErr(err)
}

func tenantImpact(ctx context.Context, r reader, tenantID string, now time.Time) (*kizuna.TenantImpact, error) {
	var cancelled int64
	err := r.queryRow(ctx, `SELECT cancelled_at FROM tenants WHERE id = ?`, tenantID).Scan(&cancelled)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && cancelled != 0) {
		return nil, kizuna.NotFound("Tenant")
	}
	if err != nil {
		return nil, err
	}
	imp := &kizuna.TenantImpact{Domains: []string{}, DeletedDomains: []string{}}
	counts := []struct {
		dst   *int
		query string
		args  []any
	}{
		{&imp.Members, `SELECT COUNT(*) FROM accounts a JOIN domains d ON d.id = a.domain_id
			WHERE d.tenant_id = ? AND a.kind = 'member' AND a.status <> 'deleted'`, []any{tenantID}},
		{&imp.Rooms, `SELECT COUNT(DISTINCT rm.room_id) FROM room_members rm JOIN accounts a ON a.id = rm.account_id
			JOIN domains d ON d.id = a.domain_id WHERE d.tenant_id = ?`, []any{tenantID}},
		// A room is shared when someone outside the tenant (another
		// tenant's member or a personal account) is in it too.
		{&imp.SharedRooms, `SELECT COUNT(DISTINCT rm.room_id) FROM room_members rm JOIN accounts a ON a.id = rm.account_id
			JOIN domains d ON d.id = a.domain_id WHERE d.tenant_id = ? AND EXISTS (
				SELECT 1 FROM room_members o JOIN accounts oa ON oa.id = o.account_id LEFT JOIN domains od ON od.id = oa.domain_id
				WHERE o.room_id = rm.room_id AND (od.tenant_id IS NULL OR od.tenant_id <> ?))`, []any{tenantID, tenantID}},
		{&imp.InviteLinks, `SELECT COUNT(*) FROM invite_links WHERE tenant_id = ? AND revoked_at = 0 AND expires_at > ? AND uses < max_uses`,
			[]any{tenantID, millis(now)}},
		{&imp.PendingMail, `SELECT COUNT(*) FROM outgoing_mail WHERE tenant_id = ? AND status = 'pending'`, []any{tenantID}},
	}
	for _, c := range counts {
		if err := r.queryRow(ctx, c.query, c.args...).Scan(c.dst); err != nil {
			return nil, err
		}
	}
	rows, err := r.query(ctx, `SELECT name, deleted_at FROM domains WHERE tenant_id = ? ORDER BY name`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var deleted int64
		if err := rows.Scan(&name, &deleted); err != nil {
			return nil, err
		}
		if deleted == 0 {
			imp.Domains = append(imp.Domains, name)
		} else {
			imp.DeletedDomains = append(imp.DeletedDomains, name)
		}
	}
	return imp, rows.Err()
}

// CancelTenant implements store.TenantLifecycle.
func (db *DB) CancelTenant(ctx context.Context, tenantID string, purgeAfter time.Time, restoreCodeHash []byte, audit *kizuna.AuditEntry) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE tenants SET cancelled_at = ?, purge_after = ?, restore_code_hash = ?, updated_at = ?
			WHERE id = ? AND cancelled_at = 0`, millis(tx.now), millis(purgeAfter), restoreCodeHash, millis(tx.now), tenantID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.NotFound("Tenant")
		}
		steps := []struct {
			query string
			args  []any
		}{
			// Everyone is signed out with the change, not after it.
			{`DELETE FROM sessions WHERE account_id IN (` + tenantAccounts + `)`, []any{tenantID}},
			// Nobody may act for the tenant now, so offers made by or to it
			// could only be accepted by the other side: a cancelled
			// tenant would lose or gain a domain behind its owner's back.
			{`UPDATE domain_transfers SET status = 'cancelled', decided_at = ? WHERE status = 'pending' AND (from_tenant = ? OR to_tenant = ?)`,
				[]any{millis(tx.now), tenantID, tenantID}},
			// Invitations to accounts that cannot sign in must not go out;
			// after a restore admins can send them again.
			{`UPDATE outgoing_mail SET status = 'failed', last_error = 'tenant cancelled' WHERE tenant_id = ? AND status = 'pending'`, []any{tenantID}},
		}
		for _, s := range steps {
			if _, err := tx.exec(ctx, s.query, s.args...); err != nil {
				return err
			}
		}
		if audit != nil {
			return insertAudit(ctx, tx, audit)
		}
		return nil
	})
}

// TenantByRestoreCode implements store.TenantLifecycle.
func (db *DB) TenantByRestoreCode(ctx context.Context, codeHash []byte) (*kizuna.Tenant, error) {
	t, err := scanTenant(db.queryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE restore_code_hash = ? AND cancelled_at <> 0`, codeHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotRestorable()
	}
	return t, db.mapErr(err)
}

// RestoreTenant implements store.TenantLifecycle.
func (db *DB) RestoreTenant(ctx context.Context, tenantID string, codeHash []byte, audit *kizuna.AuditEntry) (*kizuna.Tenant, error) {
	var t *kizuna.Tenant
	err := db.inTx(ctx, func(tx *Tx) error {
		// The purge date is checked against now, not left to the purge
		// job: a tenant past it is being deleted, whether the job ran yet
		// or not.
		query := `UPDATE tenants SET cancelled_at = 0, purge_after = 0, restore_code_hash = NULL, updated_at = ?
			WHERE id = ? AND cancelled_at <> 0 AND purge_after > ?`
		args := []any{millis(tx.now), tenantID, millis(tx.now)}
		if codeHash != nil {
			query += ` AND restore_code_hash = ?`
			args = append(args, codeHash)
		}
		res, err := tx.exec(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNotRestorable()
		}
		if t, err = scanTenant(tx.queryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = ?`, tenantID)); err != nil {
			return err
		}
		if audit != nil {
			audit.TenantID, audit.TargetID, audit.Target = t.ID, t.ID, t.Name
			return insertAudit(ctx, tx, audit)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// CancelledTenants implements store.TenantLifecycle.
func (db *DB) CancelledTenants(ctx context.Context) ([]store.CancelledTenant, error) {
	tenants, err := queryAll(ctx, db, scanTenant, `SELECT `+tenantColumns+` FROM tenants WHERE cancelled_at <> 0 ORDER BY purge_after, id`)
	if err != nil {
		return nil, err
	}
	// Cancelled tenants are few and this is an operator's command: a
	// query per tenant is simpler than a grouped one and costs nothing.
	out := make([]store.CancelledTenant, 0, len(tenants))
	for _, t := range tenants {
		c := store.CancelledTenant{Tenant: t}
		if c.Domains, err = queryAll(ctx, db, scanString, `SELECT name FROM domains WHERE tenant_id = ? ORDER BY name`, t.ID); err != nil {
			return nil, err
		}
		if err := db.queryRow(ctx, `SELECT COUNT(*) FROM accounts a JOIN domains d ON d.id = a.domain_id
			WHERE d.tenant_id = ? AND a.status <> 'deleted'`, t.ID).Scan(&c.Members); err != nil {
			return nil, db.mapErr(err)
		}
		out = append(out, c)
	}
	return out, nil
}

// ExpiredTenants implements store.TenantLifecycle.
func (db *DB) ExpiredTenants(ctx context.Context, t time.Time, limit int) ([]string, error) {
	return queryAll(ctx, db, scanString, `SELECT id FROM tenants WHERE cancelled_at <> 0 AND purge_after <= ? ORDER BY purge_after, id LIMIT ?`, millis(t), limit)
}

// ExpiredDomains implements store.TenantLifecycle.
func (db *DB) ExpiredDomains(ctx context.Context, t time.Time, limit int) ([]string, error) {
	return queryAll(ctx, db, scanString, `SELECT id FROM domains WHERE deleted_at <> 0 AND purge_after <= ? ORDER BY purge_after, id LIMIT ?`, millis(t), limit)
}

// PurgeTenant implements store.TenantLifecycle.
func (db *DB) PurgeTenant(ctx context.Context, tenantID string, t time.Time) (store.PurgeCounts, error) {
	var c store.PurgeCounts
	err := db.inTx(ctx, func(tx *Tx) error {
		// Claim the tenant first. A second runner on another node waits
		// on this row lock (PostgreSQL; SQLite has one writer) and then
		// finds the row gone; a restore that won the race leaves
		// cancelled_at at 0. Either way nothing is deleted twice.
		res, err := tx.exec(ctx, `UPDATE tenants SET updated_at = updated_at WHERE id = ? AND cancelled_at <> 0 AND purge_after <= ?`, tenantID, millis(t))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		rooms, accounts, err := purgeAccounts(ctx, tx, tenantAccounts, tenantID)
		if err != nil {
			return err
		}
		c.Accounts = accounts
		tenantDomains := `SELECT id FROM domains WHERE tenant_id = ?`
		tenantBoards := `SELECT id FROM boards WHERE tenant_id = ?`
		tenantPosts := `SELECT p.id FROM posts p JOIN boards b ON b.id = p.board_id WHERE b.tenant_id = ?`
		steps := []struct {
			query string
			args  []any
		}{
			{`DELETE FROM sheet_tickets WHERE tenant_id = ?`, []any{tenantID}},
			{`DELETE FROM outgoing_mail WHERE tenant_id = ?`, []any{tenantID}},
			{`DELETE FROM invite_links WHERE tenant_id = ?`, []any{tenantID}},
			{`DELETE FROM contacts WHERE approver_tenant_id = ?`, []any{tenantID}},
			{`DELETE FROM handovers WHERE tenant_id = ?`, []any{tenantID}},
			{`DELETE FROM restricted_members WHERE tenant_id = ?`, []any{tenantID}},
			{`DELETE FROM tenant_restrictions WHERE tenant_id = ?`, []any{tenantID}},
			{`DELETE FROM post_comments WHERE post_id IN (` + tenantPosts + `)`, []any{tenantID}},
			{`DELETE FROM post_reads WHERE post_id IN (` + tenantPosts + `)`, []any{tenantID}},
			{`DELETE FROM posts WHERE board_id IN (` + tenantBoards + `)`, []any{tenantID}},
			{`DELETE FROM board_rules WHERE board_id IN (` + tenantBoards + `)`, []any{tenantID}},
			{`DELETE FROM boards WHERE tenant_id = ?`, []any{tenantID}},
			{`DELETE FROM group_members WHERE group_id IN (SELECT id FROM tenant_groups WHERE tenant_id = ?)`, []any{tenantID}},
			// Group rooms go with their groups when nobody else is in them
			// (deleteEmptyRooms spares rooms a group still names).
			{`DELETE FROM tenant_groups WHERE tenant_id = ?`, []any{tenantID}},
			{`DELETE FROM domain_transfers WHERE from_tenant = ? OR to_tenant = ? OR domain_id IN (` + tenantDomains + `)`, []any{tenantID, tenantID, tenantID}},
			{`DELETE FROM domain_aliases WHERE domain_id IN (` + tenantDomains + `)`, []any{tenantID}},
			// The trail is the tenant's, read only by its admins, who are
			// gone; the purge itself is logged by the job.
			{`DELETE FROM audit_log WHERE tenant_id = ?`, []any{tenantID}},
		}
		for _, s := range steps {
			if _, err := tx.exec(ctx, s.query, s.args...); err != nil {
				return err
			}
		}
		if c.Domains, err = execCount(ctx, tx, `DELETE FROM domains WHERE tenant_id = ?`, tenantID); err != nil {
			return err
		}
		if c.Rooms, err = deleteEmptyRooms(ctx, tx, rooms); err != nil {
			return err
		}
		if c.Tenants, err = execCount(ctx, tx, `DELETE FROM tenants WHERE id = ? AND cancelled_at <> 0`, tenantID); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return store.PurgeCounts{}, err
	}
	return c, nil
}

// PurgeDomain implements store.TenantLifecycle.
func (db *DB) PurgeDomain(ctx context.Context, domainID string, t time.Time, audit *kizuna.AuditEntry) (store.PurgeCounts, error) {
	var c store.PurgeCounts
	err := db.inTx(ctx, func(tx *Tx) error {
		// Claimed like a tenant in PurgeTenant; a restore that came first
		// set deleted_at back to 0.
		res, err := tx.exec(ctx, `UPDATE domains SET purge_after = purge_after WHERE id = ? AND deleted_at <> 0 AND purge_after <= ?`, domainID, millis(t))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if audit != nil {
			if err := tx.queryRow(ctx, `SELECT tenant_id, name FROM domains WHERE id = ?`, domainID).Scan(&audit.TenantID, &audit.Target); err != nil {
				return err
			}
			audit.TargetID = domainID
			if err := insertAudit(ctx, tx, audit); err != nil {
				return err
			}
		}
		// Every account still in the domain goes: those deleted with it
		// (deleted_with_domain) and those deleted before, whose rows
		// only history referred to. Members moved out at deletion are
		// in another domain by now.
		rooms, accounts, err := purgeAccounts(ctx, tx, `SELECT id FROM accounts WHERE domain_id = ?`, domainID)
		if err != nil {
			return err
		}
		c.Accounts = accounts
		for _, q := range []string{`DELETE FROM domain_transfers WHERE domain_id = ?`, `DELETE FROM domain_aliases WHERE domain_id = ?`} {
			if _, err := tx.exec(ctx, q, domainID); err != nil {
				return err
			}
		}
		if c.Domains, err = execCount(ctx, tx, `DELETE FROM domains WHERE id = ? AND deleted_at <> 0`, domainID); err != nil {
			return err
		}
		c.Rooms, err = deleteEmptyRooms(ctx, tx, rooms)
		return err
	})
	if err != nil {
		return store.PurgeCounts{}, err
	}
	return c, nil
}

// purgeAccounts deletes the accounts that sel (a query with one
// parameter, arg) selects and every row that refers to them. It returns
// the rooms they were in, for deleteEmptyRooms, and how many accounts
// went. Messages and room events stay: they name their sender by ID.
func purgeAccounts(ctx context.Context, tx *Tx, sel, arg string) (rooms []string, n int, err error) {
	in := ` IN (` + sel + `)`
	rows, err := tx.query(ctx, `SELECT DISTINCT room_id FROM room_members WHERE account_id`+in, arg)
	if err != nil {
		return nil, 0, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, 0, err
		}
		rooms = append(rooms, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	steps := []struct {
		query string
		args  []any
	}{
		{`DELETE FROM sessions WHERE account_id` + in, []any{arg}},
		// Contacts with people of other tenants go too: one side of them
		// no longer exists.
		{`DELETE FROM contacts WHERE requester_id` + in + ` OR target_id` + in, []any{arg, arg}},
		{`DELETE FROM contact_codes WHERE account_id` + in, []any{arg}},
		{`DELETE FROM handovers WHERE from_id` + in + ` OR to_id` + in, []any{arg, arg}},
		{`DELETE FROM restricted_members WHERE account_id` + in, []any{arg}},
		{`DELETE FROM group_members WHERE account_id` + in, []any{arg}},
		{`DELETE FROM post_reads WHERE account_id` + in, []any{arg}},
		{`DELETE FROM board_rules WHERE kind = 'member' AND ref_id` + in, []any{arg}},
		{`DELETE FROM room_members WHERE account_id` + in, []any{arg}},
		{`DELETE FROM outgoing_mail WHERE account_id` + in, []any{arg}},
		// Links and transfer offers they made cannot outlive their
		// maker (the rows refer to the account).
		{`DELETE FROM invite_links WHERE created_by` + in, []any{arg}},
		{`DELETE FROM domain_transfers WHERE created_by` + in, []any{arg}},
	}
	for _, s := range steps {
		if _, err := tx.exec(ctx, s.query, s.args...); err != nil {
			return nil, 0, err
		}
	}
	n, err = execCount(ctx, tx, `DELETE FROM accounts WHERE id`+in, arg)
	return rooms, n, err
}

// deleteEmptyRooms deletes those of the rooms that nobody is in any more,
// with their messages and events, and returns how many went. A room that
// a group names stays with its group.
func deleteEmptyRooms(ctx context.Context, tx *Tx, rooms []string) (int, error) {
	total := 0
	for len(rooms) > 0 {
		batch := rooms[:min(len(rooms), 500)]
		rooms = rooms[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		rows, err := tx.query(ctx, `SELECT id FROM rooms r WHERE id IN (`+placeholders(len(batch))+`)
			AND NOT EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = r.id)
			AND NOT EXISTS (SELECT 1 FROM tenant_groups g WHERE g.room_id = r.id)`, args...)
		if err != nil {
			return 0, err
		}
		var empty []any
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, err
			}
			empty = append(empty, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		if len(empty) == 0 {
			continue
		}
		list := `(` + placeholders(len(empty)) + `)`
		for _, q := range []string{`DELETE FROM messages WHERE room_id IN ` + list, `DELETE FROM room_events WHERE room_id IN ` + list} {
			if _, err := tx.exec(ctx, q, empty...); err != nil {
				return 0, err
			}
		}
		n, err := execCount(ctx, tx, `DELETE FROM rooms WHERE id IN `+list, empty...)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// execCount runs a statement and returns how many rows it changed.
func execCount(ctx context.Context, tx *Tx, query string, args ...any) (int, error) {
	res, err := tx.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
