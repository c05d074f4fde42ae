package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// contactSelect reads contacts whose two accounts are not deleted: a
// deleted account's contacts vanish with it, and come back with it if its
// domain is restored.
const contactSelect = `SELECT c.id, c.requester_id, c.target_id, c.status, c.stage, COALESCE(c.approver_tenant_id, ''),
	c.declined_by, c.expires_at, c.created_at, c.updated_at
	FROM contacts c JOIN accounts r ON r.id = c.requester_id AND r.status <> 'deleted'
	JOIN accounts g ON g.id = c.target_id AND g.status <> 'deleted' `

func scanContact(row scanner) (*kizuna.Contact, error) {
	var c kizuna.Contact
	var expires, created, updated int64
	if err := row.Scan(&c.ID, &c.RequesterID, &c.TargetID, &c.Status, &c.Stage, &c.ApproverTenantID,
		&c.DeclinedBy, &expires, &created, &updated); err != nil {
		return nil, err
	}
	c.ExpiresAt, c.CreatedAt, c.UpdatedAt = fromOptMillis(expires), fromMillis(created), fromMillis(updated)
	return &c, nil
}

// pair orders two account IDs, so that A→B and B→A share one key.
func pair(a, b string) (string, string) {
	if a < b {
		return a, b
	}
	return b, a
}

// withAccounts attaches both accounts to each contact with one query.
func (db *DB) withAccounts(ctx context.Context, cs []*kizuna.Contact) ([]*kizuna.Contact, error) {
	if len(cs) == 0 {
		return cs, nil
	}
	seen := map[string]bool{}
	var ids []any
	for _, c := range cs {
		for _, id := range []string{c.RequesterID, c.TargetID} {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	byID := make(map[string]*kizuna.Account, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 500)]
		ids = ids[len(batch):]
		as, err := queryAll(ctx, db, scanAccount, accountSelect+`WHERE a.id IN (`+placeholders(len(batch))+`)`, batch...)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			byID[a.ID] = a
		}
	}
	for _, c := range cs {
		c.Requester, c.Target = byID[c.RequesterID], byID[c.TargetID]
	}
	return cs, nil
}

func (db *DB) oneContact(ctx context.Context, query string, args ...any) (*kizuna.Contact, error) {
	c, err := scanContact(db.queryRow(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Contact")
	}
	if err != nil {
		return nil, db.mapErr(err)
	}
	cs, err := db.withAccounts(ctx, []*kizuna.Contact{c})
	if err != nil {
		return nil, err
	}
	return cs[0], nil
}

// CreateContact implements store.Contacts.
func (db *DB) CreateContact(ctx context.Context, c *kizuna.Contact, replaceID string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		low, high := pair(c.RequesterID, c.TargetID)
		if replaceID != "" {
			if _, err := tx.exec(ctx, `DELETE FROM contacts WHERE id = ? AND pair_low = ? AND pair_high = ?`, replaceID, low, high); err != nil {
				return err
			}
		}
		c.CreatedAt, c.UpdatedAt = tx.now, tx.now
		_, err := tx.exec(ctx, `INSERT INTO contacts (id, requester_id, target_id, pair_low, pair_high, status, stage, approver_tenant_id,
			declined_by, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.RequesterID, c.TargetID, low, high, c.Status, c.Stage, nullable(c.ApproverTenantID), c.DeclinedBy,
			optMillis(c.ExpiresAt), millis(tx.now), millis(tx.now))
		if err != nil && tx.db.dialect.IsUniqueViolation(err) {
			return kizuna.Errorf(kizuna.ErrConflict, "contact_exists", "A contact between these two accounts exists already.")
		}
		return err
	})
}

// Contact implements store.Contacts.
func (db *DB) Contact(ctx context.Context, accountID, id string) (*kizuna.Contact, error) {
	return db.oneContact(ctx, contactSelect+`WHERE c.id = ? AND (c.requester_id = ? OR c.target_id = ?)`, id, accountID, accountID)
}

// ContactBetween implements store.Contacts.
func (db *DB) ContactBetween(ctx context.Context, a, b string) (*kizuna.Contact, error) {
	low, high := pair(a, b)
	return db.oneContact(ctx, contactSelect+`WHERE c.pair_low = ? AND c.pair_high = ?`, low, high)
}

// ListContacts implements store.Contacts. The two sides are two index
// range reads, merged by the engine.
func (db *DB) ListContacts(ctx context.Context, accountID string, f store.ContactFilter) ([]*kizuna.Contact, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	cs, err := queryAll(ctx, db, scanContact, contactSelect+`WHERE (c.requester_id = ? OR c.target_id = ?) AND c.id > ? ORDER BY c.id LIMIT ?`,
		accountID, accountID, f.After, f.Limit)
	if err != nil {
		return nil, err
	}
	return db.withAccounts(ctx, cs)
}

// ChangeContact implements store.Contacts.
func (db *DB) ChangeContact(ctx context.Context, accountID, approverTenantID, id string, ch store.ContactChange, audit *kizuna.AuditEntry) (*kizuna.Contact, error) {
	scope, args := `c.id = ? AND (c.requester_id = ? OR c.target_id = ?)`, []any{id, accountID, accountID}
	if accountID == "" {
		scope, args = `c.id = ? AND c.approver_tenant_id = ? AND c.status = 'awaiting_approval'`, []any{id, approverTenantID}
	}
	err := db.inTx(ctx, func(tx *Tx) error {
		c, err := scanContact(tx.queryRow(ctx, contactSelect+`WHERE `+scope, args...))
		if errors.Is(err, sql.ErrNoRows) {
			return kizuna.NotFound("Contact")
		}
		if err != nil {
			return err
		}
		expires := optMillis(c.ExpiresAt)
		if ch.ExpiresAt != nil {
			expires = optMillis(*ch.ExpiresAt)
		}
		// The state in the WHERE clause makes the change a compare-and-set:
		// of two racing decisions only the first finds the row as decided.
		res, err := tx.exec(ctx, `UPDATE contacts SET status = ?, stage = ?, approver_tenant_id = ?, declined_by = ?, expires_at = ?, updated_at = ?
			WHERE id = ? AND status = ? AND stage = ?`,
			ch.To, ch.Stage, nullable(ch.ApproverTenantID), ch.DeclinedBy, expires, millis(tx.now), id, ch.From, ch.FromStage)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.Errorf(kizuna.ErrConflict, "contact_changed", "The contact changed meanwhile; load it again.")
		}
		if audit != nil {
			return insertAudit(ctx, tx, audit)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.oneContact(ctx, contactSelect+`WHERE c.id = ?`, id)
}

// DeleteContact implements store.Contacts.
func (db *DB) DeleteContact(ctx context.Context, accountID, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `DELETE FROM contacts WHERE id = ? AND (requester_id = ? OR target_id = ?)`, id, accountID, accountID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.NotFound("Contact")
		}
		return nil
	})
}

// PendingApprovals implements store.Contacts.
func (db *DB) PendingApprovals(ctx context.Context, tenantID string, f store.ContactFilter) ([]*kizuna.Contact, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	cs, err := queryAll(ctx, db, scanContact, contactSelect+`WHERE c.approver_tenant_id = ? AND c.status = 'awaiting_approval' AND c.id > ?
		ORDER BY c.id LIMIT ?`, tenantID, f.After, f.Limit)
	if err != nil {
		return nil, err
	}
	return db.withAccounts(ctx, cs)
}

// PendingApproval implements store.Contacts.
func (db *DB) PendingApproval(ctx context.Context, tenantID, id string) (*kizuna.Contact, error) {
	return db.oneContact(ctx, contactSelect+`WHERE c.id = ? AND c.approver_tenant_id = ? AND c.status = 'awaiting_approval'`, id, tenantID)
}

// CountingContacts implements store.Contacts.
func (db *DB) CountingContacts(ctx context.Context, accountID string, others []string, now time.Time) (map[string]bool, error) {
	out := make(map[string]bool, len(others))
	for len(others) > 0 {
		batch := others[:min(len(others), 500)]
		others = others[len(batch):]
		in := make([]any, len(batch))
		for i, o := range batch {
			in[i] = o
		}
		args := append([]any{accountID, millis(now), accountID}, in...)
		args = append(append(args, accountID), in...)
		list := placeholders(len(batch))
		ids, err := queryAll(ctx, db, scanString, `SELECT CASE WHEN c.requester_id = ? THEN c.target_id ELSE c.requester_id END
			FROM contacts c WHERE c.status = 'accepted' AND (c.expires_at = 0 OR c.expires_at > ?)
			AND ((c.requester_id = ? AND c.target_id IN (`+list+`)) OR (c.target_id = ? AND c.requester_id IN (`+list+`)))`, args...)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			out[id] = true
		}
	}
	return out, nil
}

func scanString(row scanner) (string, error) {
	var s string
	err := row.Scan(&s)
	return s, err
}

// SetContactCode implements store.Contacts.
func (db *DB) SetContactCode(ctx context.Context, accountID string, hash []byte) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM contact_codes WHERE account_id = ?`, accountID); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO contact_codes (account_id, code_hash, created_at) VALUES (?, ?, ?)`, accountID, hash, millis(tx.now))
		if err != nil && tx.db.dialect.IsForeignKeyViolation(err) {
			return kizuna.NotFound("Account")
		}
		return err
	})
}

// AccountByContactCode implements store.Contacts.
func (db *DB) AccountByContactCode(ctx context.Context, hash []byte) (*kizuna.Account, error) {
	a, err := scanAccount(db.queryRow(ctx, accountSelect+`JOIN contact_codes k ON k.account_id = a.id WHERE k.code_hash = ? AND a.status <> 'deleted'`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Contact code")
	}
	return a, db.mapErr(err)
}

// SetExternalPolicy implements store.Contacts.
func (db *DB) SetExternalPolicy(ctx context.Context, tenantID string, before, after kizuna.ExternalPolicy, audit *kizuna.AuditEntry) (*kizuna.Tenant, error) {
	err := db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE tenants SET allow_external_personal = ?, allow_other_tenants = ?, external_contacts = ?, updated_at = ?
			WHERE id = ? AND allow_external_personal = ? AND allow_other_tenants = ? AND external_contacts = ?`,
			after.AllowPersonal, after.AllowOtherTenants, after.AddContacts, millis(tx.now),
			tenantID, before.AllowPersonal, before.AllowOtherTenants, before.AddContacts)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.queryRow(ctx, `SELECT 1 FROM tenants WHERE id = ?`, tenantID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return kizuna.NotFound("Tenant")
			} else if err != nil {
				return err
			}
			return errPolicyChanged
		}
		if audit != nil {
			return insertAudit(ctx, tx, audit)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.Tenant(ctx, tenantID)
}

var errPolicyChanged = kizuna.Errorf(kizuna.ErrConflict, "policy_changed", "Another admin changed this meanwhile; load it again.")

// SetExternalTalk implements store.Contacts.
func (db *DB) SetExternalTalk(ctx context.Context, tenantID, accountID string, before, after kizuna.ExternalTalk, audit *kizuna.AuditEntry) (*kizuna.Account, error) {
	var a *kizuna.Account
	err := db.inTx(ctx, func(tx *Tx) error {
		var err error
		a, err = scanAccount(tx.queryRow(ctx, accountSelect+`WHERE a.id = ? AND d.tenant_id = ? AND a.status <> 'deleted'`, accountID, tenantID))
		if errors.Is(err, sql.ErrNoRows) {
			return kizuna.NotFound("Member")
		}
		if err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE accounts SET external_talk = ?, updated_at = ? WHERE id = ? AND external_talk = ?`,
			after, millis(tx.now), accountID, before)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errPolicyChanged
		}
		a.ExternalTalk, a.UpdatedAt = after, tx.now
		if audit != nil {
			return insertAudit(ctx, tx, audit)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// TalkParties implements store.Contacts.
func (db *DB) TalkParties(ctx context.Context, accountIDs []string) (map[string]kizuna.TalkParty, error) {
	out := make(map[string]kizuna.TalkParty, len(accountIDs))
	seen := map[string]bool{}
	var ids []any
	for _, id := range accountIDs {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 500)]
		ids = ids[len(batch):]
		rows, err := db.query(ctx, `SELECT a.id, a.kind, a.local, COALESCE(d.name, ''), COALESCE(t.id, ''), COALESCE(t.name, ''),
			COALESCE(t.allow_external_personal, `+db.falseLiteral()+`), COALESCE(t.allow_other_tenants, `+db.falseLiteral()+`),
			COALESCE(t.external_contacts, ''), a.external_talk
			FROM accounts a LEFT JOIN domains d ON d.id = a.domain_id LEFT JOIN tenants t ON t.id = d.tenant_id
			WHERE a.status <> 'deleted' AND a.id IN (`+placeholders(len(batch))+`)`, batch...)
		if err != nil {
			return nil, db.mapErr(err)
		}
		for rows.Next() {
			var id, local, domain string
			var p kizuna.TalkParty
			if err := rows.Scan(&id, &p.Kind, &local, &domain, &p.TenantID, &p.TenantName, &p.Policy.AllowPersonal,
				&p.Policy.AllowOtherTenants, &p.Policy.AddContacts, &p.Exception); err != nil {
				rows.Close()
				return nil, db.mapErr(err)
			}
			p.Address = local
			if domain != "" {
				p.Address = local + "@" + domain
			}
			out[id] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, db.mapErr(err)
		}
	}
	return out, nil
}

// falseLiteral is the engine's false for boolean columns (SQLite stores
// 0/1, PostgreSQL has a boolean type and refuses COALESCE(bool, 0)).
func (db *DB) falseLiteral() string {
	if db.dialect.Name == "postgres" {
		return "FALSE"
	}
	return "0"
}
