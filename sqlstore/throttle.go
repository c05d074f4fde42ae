package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// LoginThrottle implements store.Throttle.
func (db *DB) LoginThrottle(ctx context.Context, keys []string) (time.Time, bool, error) {
	if len(keys) == 0 {
		return time.Time{}, false, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	var until sql.NullInt64
	var rows int
	err := db.queryRow(ctx, `SELECT MAX(locked_until), COUNT(*) FROM login_throttle WHERE key IN (`+placeholders(len(keys))+`)`, args...).Scan(&until, &rows)
	if err != nil {
		return time.Time{}, false, db.mapErr(err)
	}
	if !until.Valid || until.Int64 <= millis(db.Now()) {
		return time.Time{}, rows > 0, nil
	}
	return fromMillis(until.Int64), rows > 0, nil
}

// RecordLoginFailure implements store.Throttle.
func (db *DB) RecordLoginFailure(ctx context.Context, key string, window time.Duration, max int, lockFor time.Duration) (time.Time, error) {
	var locked time.Time
	err := db.inTx(ctx, func(tx *Tx) error {
		var failures int
		var start, until int64
		err := tx.queryRow(ctx, `SELECT failures, window_start, locked_until FROM login_throttle WHERE key = ?`, key).Scan(&failures, &start, &until)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			failures, start, until = 0, millis(tx.now), 0
		case err != nil:
			return err
		}
		if millis(tx.now)-start > window.Milliseconds() {
			failures, start = 0, millis(tx.now)
		}
		failures++
		if failures >= max {
			until = millis(tx.now.Add(lockFor))
			failures, start = 0, millis(tx.now)
		}
		if until > millis(tx.now) {
			locked = fromMillis(until)
		}
		_, err = tx.exec(ctx, `INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start,
			locked_until = excluded.locked_until`, key, failures, start, until)
		return err
	})
	return locked, err
}

// ClearLoginFailures implements store.Throttle.
func (db *DB) ClearLoginFailures(ctx context.Context, key string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `DELETE FROM login_throttle WHERE key = ? AND locked_until <= ?`, key, millis(tx.now))
		return err
	})
}

// AppendAudit implements store.Audit.
func (db *DB) AppendAudit(ctx context.Context, e *kizuna.AuditEntry) error {
	return db.inTx(ctx, func(tx *Tx) error { return insertAudit(ctx, tx, e) })
}

func insertAudit(ctx context.Context, tx *Tx, e *kizuna.AuditEntry) error {
	if e.ID == "" {
		e.ID = kizuna.NewID()
	}
	e.CreatedAt = tx.now
	_, err := tx.exec(ctx, `INSERT INTO audit_log (id, tenant_id, actor_id, action, target_id, target, source_addr, details, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, nullable(e.TenantID), nullable(e.ActorID), e.Action, e.TargetID, e.Target,
		e.SourceAddr, e.Details, millis(tx.now))
	return err
}

func scanAudit(row scanner) (*kizuna.AuditEntry, error) {
	var e kizuna.AuditEntry
	var created int64
	if err := row.Scan(&e.ID, &e.TenantID, &e.ActorID, &e.Action, &e.TargetID, &e.Target, &e.SourceAddr, &e.Details, &created); err != nil {
		return nil, err
	}
	e.CreatedAt = fromMillis(created)
	return &e, nil
}

// AuditLog implements store.Audit.
func (db *DB) AuditLog(ctx context.Context, tenantID string, f store.AuditFilter) ([]*kizuna.AuditEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	query := `SELECT id, COALESCE(tenant_id, ''), COALESCE(actor_id, ''), action, target_id, target, source_addr, details, created_at
		FROM audit_log WHERE tenant_id = ?`
	args := []any{tenantID}
	if f.Before != "" {
		query += ` AND id < ?`
		args = append(args, f.Before)
	}
	if f.Action != "" {
		query += ` AND action = ?`
		args = append(args, f.Action)
	}
	args = append(args, f.Limit)
	return queryAll(ctx, db, scanAudit, query+` ORDER BY id DESC LIMIT ?`, args...)
}

// PutSheetTicket implements store.SheetTickets.
func (db *DB) PutSheetTicket(ctx context.Context, id, tenantID string, ciphertext []byte, expires time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM sheet_tickets WHERE expires_at <= ?`, millis(tx.now)); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO sheet_tickets (id, tenant_id, ciphertext, expires_at) VALUES (?, ?, ?, ?)`,
			id, tenantID, ciphertext, millis(expires))
		return err
	})
}

// SheetTicket implements store.SheetTickets.
func (db *DB) SheetTicket(ctx context.Context, tenantID, id string) ([]byte, error) {
	var c []byte
	err := db.queryRow(ctx, `SELECT ciphertext FROM sheet_tickets WHERE id = ? AND tenant_id = ? AND expires_at > ?`,
		id, tenantID, millis(db.Now())).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Sheet")
	}
	return c, db.mapErr(err)
}

// DeleteAuditBefore implements store.Audit. It deletes in batches so that
// a first run over years of entries does not hold the writer for long.
func (db *DB) DeleteAuditBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE created_at < ? ORDER BY id LIMIT ?)`, millis(t), limit)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
