package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/kizuna-chat/kizuna"
)

// SharedRooms implements store.Reclassification.
func (db *DB) SharedRooms(ctx context.Context, accountID, tenantID string, directOnly bool) ([]kizuna.RoomShare, error) {
	q := `SELECT ` + roomCols + `, o.account_id FROM room_members m
		JOIN rooms r ON r.id = m.room_id
		JOIN room_members o ON o.room_id = m.room_id AND o.account_id <> m.account_id
		JOIN accounts a ON a.id = o.account_id AND a.status <> 'deleted'
		JOIN domains d ON d.id = a.domain_id AND d.deleted_at = 0 AND d.tenant_id = ?
		WHERE m.account_id = ?`
	if directOnly {
		q += ` AND r.kind = 'direct'`
	}
	q += ` ORDER BY r.id, o.account_id`
	type row struct {
		room  *kizuna.Room
		other string
	}
	rows, err := queryAll(ctx, db, func(sc scanner) (row, error) {
		var r kizuna.Room
		var created, active int64
		var other string
		err := sc.Scan(&r.ID, &r.Kind, &r.Name, &r.DirectKey, &r.CreatedBy, &created, &r.LastSeq, &active, &other)
		r.CreatedAt, r.ActiveAt = fromMillis(created), fromMillis(active)
		return row{&r, other}, err
	}, q, tenantID, accountID)
	if err != nil {
		return nil, err
	}
	out := []kizuna.RoomShare{}
	for _, r := range rows {
		if n := len(out); n > 0 && out[n-1].Room.ID == r.room.ID {
			out[n-1].Others = append(out[n-1].Others, r.other)
			continue
		}
		out = append(out, kizuna.RoomShare{Room: *r.room, Others: []string{r.other}})
	}
	return out, nil
}

const handoverCols = `id, tenant_id, from_id, to_id, status, created_at, decided_at`

func scanHandover(sc scanner) (*kizuna.Handover, error) {
	var h kizuna.Handover
	var created, decided int64
	if err := sc.Scan(&h.ID, &h.TenantID, &h.FromID, &h.ToID, &h.Status, &created, &decided); err != nil {
		return nil, err
	}
	h.CreatedAt, h.DecidedAt = fromMillis(created), optTime(decided)
	return &h, nil
}

// CreateHandover implements store.Reclassification.
func (db *DB) CreateHandover(ctx context.Context, h *kizuna.Handover, audit *kizuna.AuditEntry) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE accounts SET status = 'deleted', updated_at = ? WHERE id = ? AND status <> 'deleted'
			AND domain_id IN (SELECT id FROM domains WHERE tenant_id = ? AND deleted_at = 0)`, millis(tx.now), h.FromID, h.TenantID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, kizuna.NotFound("Member"))
		}
		if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE account_id = ?`, h.FromID); err != nil {
			return err
		}
		h.Status, h.CreatedAt = kizuna.HandoverPending, tx.now
		if _, err := tx.exec(ctx, `INSERT INTO handovers (`+handoverCols+`) VALUES (?, ?, ?, ?, ?, ?, 0)`,
			h.ID, h.TenantID, h.FromID, h.ToID, string(h.Status), millis(tx.now)); err != nil {
			if db.dialect.IsUniqueViolation(err) {
				return kizuna.Errorf(kizuna.ErrConflict, "handover_pending", "A hand-over of this member's rooms is already waiting.")
			}
			return err
		}
		if audit != nil {
			return insertAudit(ctx, tx, audit)
		}
		return nil
	})
}

// Handover implements store.Reclassification.
func (db *DB) Handover(ctx context.Context, id string) (*kizuna.Handover, error) {
	h, err := scanHandover(db.queryRow(ctx, `SELECT `+handoverCols+` FROM handovers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Hand-over")
	}
	return h, db.mapErr(err)
}

// Handovers implements store.Reclassification.
func (db *DB) Handovers(ctx context.Context, tenantID, toID string) ([]*kizuna.Handover, error) {
	if tenantID != "" {
		return queryAll(ctx, db, scanHandover, `SELECT `+handoverCols+` FROM handovers WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT 500`, tenantID)
	}
	return queryAll(ctx, db, scanHandover, `SELECT `+handoverCols+` FROM handovers WHERE to_id = ? ORDER BY created_at DESC, id DESC LIMIT 500`, toID)
}

// FinishHandover implements store.Reclassification.
func (db *DB) FinishHandover(ctx context.Context, id string, status kizuna.HandoverStatus, audit *kizuna.AuditEntry) (*kizuna.Handover, error) {
	var h *kizuna.Handover
	err := db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE handovers SET status = ?, decided_at = ? WHERE id = ? AND status = 'pending'`, string(status), millis(tx.now), id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		h, err = scanHandover(tx.queryRow(ctx, `SELECT `+handoverCols+` FROM handovers WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return kizuna.NotFound("Hand-over")
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return kizuna.Errorf(kizuna.ErrConflict, "handover_not_pending", "This hand-over was already %s.", h.Status)
		}
		if audit != nil {
			return insertAudit(ctx, tx, audit)
		}
		return nil
	})
	return h, err
}

// FormerAccount implements store.Reclassification.
func (db *DB) FormerAccount(ctx context.Context, tenantID, id string) (*kizuna.Account, error) {
	a, err := scanAccount(db.queryRow(ctx, accountSelect+`WHERE a.id = ? AND d.tenant_id = ?`, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.NotFound("Member")
	}
	return a, db.mapErr(err)
}
