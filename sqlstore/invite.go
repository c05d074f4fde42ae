package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/kizuna-chat/kizuna"
)

const inviteColumns = `id, tenant_id, created_by, domain_ids, expires_at, max_uses, uses, revoked_at, created_at`

func scanInvite(row scanner) (*kizuna.InviteLink, error) {
	var l kizuna.InviteLink
	var domains string
	var expires, revoked, created int64
	if err := row.Scan(&l.ID, &l.TenantID, &l.CreatedBy, &domains, &expires, &l.MaxUses, &l.Uses, &revoked, &created); err != nil {
		return nil, err
	}
	l.DomainIDs = strings.Split(domains, ",")
	l.ExpiresAt, l.RevokedAt, l.CreatedAt = fromMillis(expires), fromOptMillis(revoked), fromMillis(created)
	return &l, nil
}

// CreateInviteLink implements store.InviteLinks.
func (db *DB) CreateInviteLink(ctx context.Context, l *kizuna.InviteLink, codeHash []byte) error {
	return db.inTx(ctx, func(tx *Tx) error {
		l.CreatedAt = tx.now
		_, err := tx.exec(ctx, `INSERT INTO invite_links (id, tenant_id, code_hash, created_by, domain_ids, expires_at, max_uses, uses, revoked_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?)`, l.ID, l.TenantID, codeHash, l.CreatedBy, strings.Join(l.DomainIDs, ","),
			millis(l.ExpiresAt), l.MaxUses, millis(tx.now))
		return err
	})
}

// InviteLinks implements store.InviteLinks.
func (db *DB) InviteLinks(ctx context.Context, tenantID string) ([]*kizuna.InviteLink, error) {
	return queryAll(ctx, db, scanInvite, `SELECT `+inviteColumns+` FROM invite_links WHERE tenant_id = ? ORDER BY id DESC LIMIT 500`, tenantID)
}

// RevokeInviteLink implements store.InviteLinks.
func (db *DB) RevokeInviteLink(ctx context.Context, tenantID, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE invite_links SET revoked_at = ? WHERE id = ? AND tenant_id = ? AND revoked_at = 0`, millis(tx.now), id, tenantID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var exists int
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM invite_links WHERE id = ? AND tenant_id = ?`, id, tenantID).Scan(&exists); err != nil {
				return err
			}
			if exists == 0 {
				return kizuna.NotFound("Invite link")
			}
		}
		return nil
	})
}

// InviteLinkByCodeHash implements store.InviteLinks.
func (db *DB) InviteLinkByCodeHash(ctx context.Context, hash []byte) (*kizuna.InviteLink, error) {
	l, err := scanInvite(db.queryRow(ctx, `SELECT `+inviteColumns+` FROM invite_links WHERE code_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Invite link")
	}
	return l, db.mapErr(err)
}

// UseInviteLink implements store.InviteLinks.
func (db *DB) UseInviteLink(ctx context.Context, linkID string, a *kizuna.Account, c kizuna.Credential) error {
	return db.inTx(ctx, func(tx *Tx) error {
		var tenantID string
		err := tx.queryRow(ctx, `UPDATE invite_links SET uses = uses + 1
			WHERE id = ? AND revoked_at = 0 AND expires_at > ? AND uses < max_uses RETURNING tenant_id`, linkID, millis(tx.now)).Scan(&tenantID)
		if errors.Is(err, sql.ErrNoRows) {
			return kizuna.Errorf(kizuna.ErrConflict, "invite_unusable", "This invite link has expired, been used up or been revoked; ask for a new one.")
		}
		if err != nil {
			return err
		}
		return insertAccount(ctx, tx, tenantID, a, c)
	})
}
