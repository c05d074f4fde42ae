package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/kizuna-chat/kizuna"
)

// CreateClient implements store.Clients.
func (db *DB) CreateClient(ctx context.Context, c *kizuna.Client) error {
	return db.inTx(ctx, func(tx *Tx) error {
		c.CreatedAt = tx.now
		_, err := tx.exec(ctx, `INSERT INTO clients (id, token_hash, created_at) VALUES (?, ?, ?)`, c.ID, c.TokenHash, millis(tx.now))
		return err
	})
}

// ClientByTokenHash implements store.Clients.
func (db *DB) ClientByTokenHash(ctx context.Context, hash []byte) (*kizuna.Client, error) {
	var c kizuna.Client
	var created int64
	err := db.queryRow(ctx, `SELECT id, token_hash, created_at FROM clients WHERE token_hash = ?`, hash).Scan(&c.ID, &c.TokenHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Client")
	}
	c.CreatedAt = fromMillis(created)
	return &c, db.mapErr(err)
}

// OpenClientSession implements store.Clients.
func (db *DB) OpenClientSession(ctx context.Context, s *kizuna.Session, max int) error {
	return db.inTx(ctx, func(tx *Tx) error {
		// Lock the client row first: concurrent sign-ins on one client
		// then count one after another (PostgreSQL row lock; SQLite has a
		// single writer anyway).
		res, err := tx.exec(ctx, `UPDATE clients SET created_at = created_at WHERE id = ?`, s.ClientID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.NotFound("Client")
		}
		if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE client_id = ? AND (account_id = ? OR expires_at <= ?)`,
			s.ClientID, s.AccountID, millis(tx.now)); err != nil {
			return err
		}
		var held int
		if err := tx.queryRow(ctx, `SELECT COUNT(DISTINCT account_id) FROM sessions WHERE client_id = ?`, s.ClientID).Scan(&held); err != nil {
			return err
		}
		if held >= max {
			return kizuna.Errorf(kizuna.ErrConflict, "too_many_accounts", "This client already holds %d accounts; sign one out first.", max)
		}
		return insertSession(ctx, tx, s)
	})
}

// ClientSessions implements store.Clients.
func (db *DB) ClientSessions(ctx context.Context, clientID string) ([]*kizuna.Session, error) {
	return queryAll(ctx, db, scanSession, `SELECT `+sessionColumns+` FROM sessions WHERE client_id = ? AND expires_at > ? ORDER BY created_at, id`,
		clientID, millis(db.Now()))
}

func placeholders(n int) string { return "?" + strings.Repeat(", ?", n-1) }
