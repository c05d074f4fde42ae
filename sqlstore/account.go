package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// accountSelect reads accounts with their current domain and tenant names;
// personal accounts have neither, hence the outer joins.
const accountSelect = `SELECT a.id, a.kind, COALESCE(d.tenant_id, ''), COALESCE(a.domain_id, ''), a.local,
	COALESCE(d.name, ''), COALESCE(t.name, ''), a.display_name, a.contact_mail, a.role, a.status, a.must_change_password,
	a.external_talk, a.created_at, a.updated_at
	FROM accounts a LEFT JOIN domains d ON d.id = a.domain_id LEFT JOIN tenants t ON t.id = d.tenant_id `

func scanAccount(row scanner) (*kizuna.Account, error) {
	var a kizuna.Account
	var created, updated int64
	err := row.Scan(&a.ID, &a.Kind, &a.TenantID, &a.DomainID, &a.Local, &a.DomainName, &a.TenantName,
		&a.DisplayName, &a.ContactMail, &a.Role, &a.Status, &a.MustChangePassword, &a.ExternalTalk, &created, &updated)
	if err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &a, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func insertAccount(ctx context.Context, tx *Tx, tenantID string, a *kizuna.Account, c kizuna.Credential) error {
	ins := &accountInserter{tx: tx, tenantID: tenantID}
	defer ins.close()
	return ins.insert(ctx, a, c)
}

// accountInserter adds accounts within one transaction: it prepares the
// insert once and checks each domain once, which is what makes bulk
// imports of 100,000 members fast.
type accountInserter struct {
	tx       *Tx
	tenantID string
	stmt     *sql.Stmt
	domains  map[string]string // domain ID → name, for the tenant's domains seen so far
}

func (ins *accountInserter) close() {
	if ins.stmt != nil {
		ins.stmt.Close()
	}
}

func (ins *accountInserter) insert(ctx context.Context, a *kizuna.Account, c kizuna.Credential) error {
	tx := ins.tx
	if a.Kind == kizuna.KindMember {
		// The domain must be the tenant's: checked in the same transaction
		// so that a concurrent domain move cannot slip a member into
		// another tenant.
		name, ok := ins.domains[a.DomainID]
		if !ok {
			// A cancelled tenant takes no new members: its domains belong
			// to nobody until it is restored.
			err := tx.queryRow(ctx, `SELECT d.name FROM domains d JOIN tenants t ON t.id = d.tenant_id
				WHERE d.id = ? AND d.tenant_id = ? AND d.deleted_at = 0 AND t.cancelled_at = 0`, a.DomainID, ins.tenantID).Scan(&name)
			if errors.Is(err, sql.ErrNoRows) {
				return kizuna.Errorf(kizuna.ErrNotFound, "domain_not_found", "The domain is not one of this tenant's domains.")
			}
			if err != nil {
				return err
			}
			if ins.domains == nil {
				ins.domains = map[string]string{}
			}
			ins.domains[a.DomainID] = name
		}
		a.DomainName, a.TenantID = name, ins.tenantID
	}
	a.CreatedAt, a.UpdatedAt = tx.now, tx.now
	if c.SetAt.IsZero() {
		c.SetAt = tx.now
	}
	if ins.stmt == nil {
		stmt, err := tx.tx.PrepareContext(ctx, tx.db.q(`INSERT INTO accounts (id, kind, domain_id, local, display_name, contact_mail, role, status,
			must_change_password, password_hash, password_initial, password_set_at, password_expires_at, created_at, updated_at, name_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return err
		}
		ins.stmt = stmt
	}
	_, err := ins.stmt.ExecContext(ctx, a.ID, a.Kind, nullable(a.DomainID), a.Local, a.DisplayName, a.ContactMail, a.Role, a.Status,
		a.MustChangePassword, c.Hash, c.Initial, millis(c.SetAt), optMillis(c.ExpiresAt), millis(tx.now), millis(tx.now), kizuna.SearchKey(a.DisplayName))
	if err != nil && tx.db.dialect.IsUniqueViolation(err) {
		return kizuna.Errorf(kizuna.ErrConflict, "id_taken", "The ID %s is already in use.", a.Address())
	}
	return err
}

// AddAccount implements store.Accounts.
func (db *DB) AddAccount(ctx context.Context, tenantID string, a *kizuna.Account, c kizuna.Credential) error {
	return db.inTx(ctx, func(tx *Tx) error { return insertAccount(ctx, tx, tenantID, a, c) })
}

// AddAccounts implements store.Accounts.
func (db *DB) AddAccounts(ctx context.Context, tenantID string, as []*kizuna.Account, cs []kizuna.Credential) error {
	if len(as) != len(cs) {
		return errors.New("sqlstore: AddAccounts needs one credential per account")
	}
	return db.inTx(ctx, func(tx *Tx) error {
		ins := &accountInserter{tx: tx, tenantID: tenantID}
		defer ins.close()
		for i, a := range as {
			if err := ins.insert(ctx, a, cs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Account implements store.Accounts.
func (db *DB) Account(ctx context.Context, tenantID, id string) (*kizuna.Account, error) {
	var row *sql.Row
	if tenantID == "" {
		row = db.queryRow(ctx, accountSelect+`WHERE a.id = ? AND a.kind = 'personal' AND a.status <> 'deleted'`, id)
	} else {
		row = db.queryRow(ctx, accountSelect+`WHERE a.id = ? AND d.tenant_id = ? AND a.status <> 'deleted'`, id, tenantID)
	}
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Member")
	}
	return a, db.mapErr(err)
}

// liveTenant keeps out members of cancelled tenants (R13): they cannot
// sign in, and sessions that survived cancellation do not authenticate.
// Personal accounts have no tenant row.
const liveTenant = ` AND COALESCE(t.cancelled_at, 0) = 0`

// AccountByID implements store.Accounts.
func (db *DB) AccountByID(ctx context.Context, id string) (*kizuna.Account, error) {
	a, err := scanAccount(db.queryRow(ctx, accountSelect+`WHERE a.id = ? AND a.status <> 'deleted'`+liveTenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Account")
	}
	return a, db.mapErr(err)
}

// AccountByAddress implements store.Accounts.
func (db *DB) AccountByAddress(ctx context.Context, local, domain string) (*kizuna.Account, error) {
	var row *sql.Row
	if domain == "" {
		row = db.queryRow(ctx, accountSelect+`WHERE a.local = ? AND a.kind = 'personal' AND a.status <> 'deleted'`, local)
	} else {
		// "kind = 'member'" lets the engine use the partial unique index
		// on (domain_id, local) instead of scanning the whole domain.
		row = db.queryRow(ctx, accountSelect+`WHERE d.name = ? AND a.local = ? AND a.kind = 'member' AND a.status <> 'deleted' AND d.deleted_at = 0`+liveTenant, domain, local)
		a, err := scanAccount(row)
		if errors.Is(err, sql.ErrNoRows) {
			// A renamed domain's former name still signs in during its
			// grace period.
			row = db.queryRow(ctx, accountSelect+`WHERE a.domain_id = (SELECT domain_id FROM domain_aliases WHERE name = ? AND expires_at > ?)
				AND a.local = ? AND a.kind = 'member' AND a.status <> 'deleted' AND d.deleted_at = 0`+liveTenant, domain, millis(db.Now()), local)
		} else {
			return a, db.mapErr(err)
		}
	}
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Account")
	}
	return a, db.mapErr(err)
}

// Credential implements store.Accounts.
func (db *DB) Credential(ctx context.Context, accountID string) (kizuna.Credential, error) {
	var c kizuna.Credential
	var set, expires int64
	err := db.queryRow(ctx, `SELECT password_hash, password_initial, password_set_at, password_expires_at FROM accounts WHERE id = ? AND status <> 'deleted'`, accountID).
		Scan(&c.Hash, &c.Initial, &set, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return c, kizuna.NotFound("Account")
	}
	c.SetAt, c.ExpiresAt = fromMillis(set), fromOptMillis(expires)
	return c, db.mapErr(err)
}

// SetCredential implements store.Accounts.
func (db *DB) SetCredential(ctx context.Context, accountID string, c kizuna.Credential, mustChange, revokeSessions bool) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if c.SetAt.IsZero() {
			c.SetAt = tx.now
		}
		res, err := tx.exec(ctx, `UPDATE accounts SET password_hash = ?, password_initial = ?, password_set_at = ?,
			password_expires_at = ?, must_change_password = ?, updated_at = ? WHERE id = ? AND status <> 'deleted'`,
			c.Hash, c.Initial, millis(c.SetAt), optMillis(c.ExpiresAt), mustChange, millis(tx.now), accountID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.NotFound("Account")
		}
		if revokeSessions {
			_, err = tx.exec(ctx, `DELETE FROM sessions WHERE account_id = ?`, accountID)
		}
		return err
	})
}

// Accounts implements store.Accounts.
func (db *DB) Accounts(ctx context.Context, tenantID string, f store.AccountFilter) ([]*kizuna.Account, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	// One query per domain of the tenant, each reading its page in ID
	// order straight from the (domain_id, id) index, then a merge: a single
	// query over all the tenant's domains sorts every account after the
	// cursor, which costs tens of milliseconds in a 100,000-member tenant.
	domainIDs, err := db.tenantDomainIDs(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	query := accountSelect + `WHERE a.domain_id = ? AND a.id > ?`
	if !f.IncludeDeleted {
		query += ` AND a.status <> 'deleted'`
	}
	query += ` ORDER BY a.id LIMIT ?`
	out := []*kizuna.Account{}
	for _, domainID := range domainIDs {
		page, err := db.accountPage(ctx, query, domainID, f.After, f.Limit)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	slices.SortFunc(out, func(a, b *kizuna.Account) int { return strings.Compare(a.ID, b.ID) })
	return out[:min(len(out), f.Limit)], nil
}

// tenantDomainIDs returns the IDs of a tenant's domains.
func (db *DB) tenantDomainIDs(ctx context.Context, tenantID string) ([]string, error) {
	rows, err := db.query(ctx, `SELECT id FROM domains WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return nil, db.mapErr(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, db.mapErr(err)
		}
		ids = append(ids, id)
	}
	return ids, db.mapErr(rows.Err())
}

func (db *DB) accountPage(ctx context.Context, query string, args ...any) ([]*kizuna.Account, error) {
	return queryAll(ctx, db, scanAccount, query, args...)
}

// UpdateAccount implements store.Accounts.
func (db *DB) UpdateAccount(ctx context.Context, tenantID, id string, u store.AccountUpdate) (*kizuna.Account, error) {
	var a *kizuna.Account
	err := db.inTx(ctx, func(tx *Tx) error {
		var err error
		a, err = scanAccount(tx.queryRow(ctx, accountSelect+`WHERE a.id = ? AND d.tenant_id = ? AND a.status <> 'deleted'`, id, tenantID))
		if errors.Is(err, sql.ErrNoRows) {
			return kizuna.NotFound("Member")
		}
		if err != nil {
			return err
		}
		if u.DisplayName != nil {
			a.DisplayName = *u.DisplayName
		}
		if u.Role != nil {
			a.Role = *u.Role
		}
		if u.Status != nil {
			a.Status = *u.Status
		}
		a.UpdatedAt = tx.now
		_, err = tx.exec(ctx, `UPDATE accounts SET display_name = ?, name_key = ?, role = ?, status = ?, updated_at = ? WHERE id = ?`,
			a.DisplayName, kizuna.SearchKey(a.DisplayName), a.Role, a.Status, millis(tx.now), id)
		if err != nil {
			return err
		}
		if a.Status != kizuna.StatusActive {
			// A suspended or deleted account is signed out everywhere.
			_, err = tx.exec(ctx, `DELETE FROM sessions WHERE account_id = ?`, id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// CountOwners implements store.Accounts.
func (db *DB) CountOwners(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM accounts a JOIN domains d ON d.id = a.domain_id
		WHERE d.tenant_id = ? AND a.role = 'owner' AND a.status = 'active'`, tenantID).Scan(&n)
	return n, db.mapErr(err)
}

// ExistingLocals implements store.Accounts.
func (db *DB) ExistingLocals(ctx context.Context, domainID string, locals []string) (map[string]bool, error) {
	out := map[string]bool{}
	for len(locals) > 0 {
		batch := locals[:min(len(locals), 500)]
		locals = locals[len(batch):]
		args := make([]any, 0, len(batch)+1)
		args = append(args, domainID)
		for _, l := range batch {
			args = append(args, l)
		}
		rows, err := db.query(ctx, `SELECT local FROM accounts WHERE domain_id = ? AND status <> 'deleted'
			AND local IN (`+placeholders(len(batch))+`)`, args...)
		if err != nil {
			return nil, db.mapErr(err)
		}
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				rows.Close()
				return nil, db.mapErr(err)
			}
			out[l] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, db.mapErr(err)
		}
	}
	return out, nil
}
