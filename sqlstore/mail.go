package sqlstore

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

const mailColumns = `id, tenant_id, COALESCE(account_id, ''), kind, recipient, subject, body, status, attempts, last_error, next_attempt_at, created_at, sent_at`

func scanMail(row scanner) (*store.OutgoingMail, error) {
	var m store.OutgoingMail
	var next, created, sent int64
	if err := row.Scan(&m.ID, &m.TenantID, &m.AccountID, &m.Kind, &m.To, &m.Subject, &m.Text, &m.Status, &m.Attempts, &m.LastError, &next, &created, &sent); err != nil {
		return nil, err
	}
	m.NextAttemptAt, m.CreatedAt, m.SentAt = fromOptMillis(next), fromMillis(created), fromOptMillis(sent)
	return &m, nil
}

// EnqueueMail implements store.MailQueue.
func (db *DB) EnqueueMail(ctx context.Context, m *store.OutgoingMail) error {
	return db.inTx(ctx, func(tx *Tx) error {
		m.Status, m.CreatedAt, m.NextAttemptAt = store.MailPending, tx.now, tx.now
		_, err := tx.exec(ctx, `INSERT INTO outgoing_mail (id, tenant_id, account_id, kind, recipient, subject, body, status, next_attempt_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, m.TenantID, nullable(m.AccountID), m.Kind, m.To, m.Subject, m.Text, m.Status, millis(tx.now), millis(tx.now))
		return err
	})
}

// ClaimDueMail implements store.MailQueue. Each row is claimed with its own
// conditional update, so of two workers racing for a row exactly one
// changes it, on either engine. Rows are taken in (next_attempt_at, id)
// order, so two PostgreSQL transactions lock them in the same order and
// cannot deadlock.
func (db *DB) ClaimDueMail(ctx context.Context, limit int, lease time.Duration) ([]*store.OutgoingMail, error) {
	if limit <= 0 {
		limit = 1
	}
	var claimed []*store.OutgoingMail
	err := db.inTx(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+mailColumns+` FROM outgoing_mail WHERE status = 'pending' AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ?`, millis(tx.now), limit)
		if err != nil {
			return err
		}
		var due []*store.OutgoingMail
		for rows.Next() {
			m, err := scanMail(rows)
			if err != nil {
				rows.Close()
				return err
			}
			due = append(due, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		until := tx.now.Add(lease)
		for _, m := range due {
			res, err := tx.exec(ctx, `UPDATE outgoing_mail SET next_attempt_at = ?, attempts = attempts + 1
				WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?`, millis(until), m.ID, millis(tx.now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				m.Attempts++
				m.NextAttemptAt = until
				claimed = append(claimed, m)
			}
		}
		return nil
	})
	return claimed, err
}

// MarkMailSent implements store.MailQueue.
func (db *DB) MarkMailSent(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE outgoing_mail SET status = 'sent', body = '', last_error = '', sent_at = ?, next_attempt_at = 0 WHERE id = ?`, millis(tx.now), id)
		return err
	})
}

// MarkMailFailed implements store.MailQueue.
func (db *DB) MarkMailFailed(ctx context.Context, id, lastError string, retryAt time.Time) error {
	lastError = clipText(lastError, 1000)
	return db.inTx(ctx, func(tx *Tx) error {
		status := store.MailPending
		if retryAt.IsZero() {
			status = store.MailFailed
		}
		_, err := tx.exec(ctx, `UPDATE outgoing_mail SET status = ?, last_error = ?, next_attempt_at = ? WHERE id = ?`, status, lastError, optMillis(retryAt), id)
		return err
	})
}

// ListMail implements store.MailQueue.
func (db *DB) ListMail(ctx context.Context, tenantID, status, before string, limit int) ([]*store.OutgoingMail, error) {
	if limit <= 0 {
		limit = 50
	}
	query := `SELECT ` + mailColumns + ` FROM outgoing_mail WHERE tenant_id = ?`
	args := []any{tenantID}
	if status != "" {
		query += ` AND status = ?`
		args = append(args, status)
	}
	if before != "" {
		query += ` AND id < ?`
		args = append(args, before)
	}
	return queryAll(ctx, db, scanMail, query+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
}

// RetryMail implements store.MailQueue.
func (db *DB) RetryMail(ctx context.Context, tenantID, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE outgoing_mail SET status = 'pending', next_attempt_at = ? WHERE id = ? AND tenant_id = ? AND status = 'failed'`,
			millis(tx.now), id, tenantID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.NotFound("Failed mail")
		}
		return nil
	})
}

// clipText makes s valid UTF-8 (PostgreSQL refuses anything else, and a
// server's error text is not to be trusted) of at most n bytes, cut at a
// character boundary.
func clipText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
