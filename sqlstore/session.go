package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/kizuna-chat/kizuna"
)

// CreateSession implements store.Sessions.
func (db *DB) CreateSession(ctx context.Context, s *kizuna.Session) error {
	return db.inTx(ctx, func(tx *Tx) error {
		return insertSession(ctx, tx, s)
	})
}

func insertSession(ctx context.Context, tx *Tx, s *kizuna.Session) error {
	s.CreatedAt = tx.now
	_, err := tx.exec(ctx, `INSERT INTO sessions (id, account_id, token_hash, password_change_only, client_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.ID, s.AccountID, s.TokenHash, s.PasswordChangeOnly, nullable(s.ClientID), millis(tx.now), millis(s.ExpiresAt))
	return err
}

const sessionColumns = `id, account_id, token_hash, password_change_only, COALESCE(client_id, ''), created_at, expires_at`

func scanSession(row scanner) (*kizuna.Session, error) {
	var s kizuna.Session
	var created, expires int64
	if err := row.Scan(&s.ID, &s.AccountID, &s.TokenHash, &s.PasswordChangeOnly, &s.ClientID, &created, &expires); err != nil {
		return nil, err
	}
	s.CreatedAt, s.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &s, nil
}

// SessionByTokenHash implements store.Sessions.
func (db *DB) SessionByTokenHash(ctx context.Context, hash []byte) (*kizuna.Session, error) {
	s, err := scanSession(db.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ? AND expires_at > ?`, hash, millis(db.Now())))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Session")
	}
	return s, db.mapErr(err)
}

// DeleteSession implements store.Sessions.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `DELETE FROM sessions WHERE id = ?`, id)
		return err
	})
}

// DeleteAccountSessions implements store.Sessions.
func (db *DB) DeleteAccountSessions(ctx context.Context, accountID string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `DELETE FROM sessions WHERE account_id = ?`, accountID)
		return err
	})
}

// PutSetupToken implements store.Setup.
func (db *DB) PutSetupToken(ctx context.Context, hash []byte) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO setup_tokens (id, token_hash, created_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`, hash, millis(tx.now))
		return err
	})
}

// SetupTokenHash implements store.Setup.
func (db *DB) SetupTokenHash(ctx context.Context) ([]byte, error) {
	var h []byte
	err := db.queryRow(ctx, `SELECT token_hash FROM setup_tokens WHERE id = 1`).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Setup token")
	}
	return h, db.mapErr(err)
}

// DeleteSetupToken implements store.Setup.
func (db *DB) DeleteSetupToken(ctx context.Context) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `DELETE FROM setup_tokens`)
		return err
	})
}
