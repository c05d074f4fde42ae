package sqlstore

import (
	"context"
	"time"
)

// TakeLease implements store.Leases. The conditional update and the
// insert that does nothing on conflict make two nodes asking at once get
// one yes between them.
func (db *DB) TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	var got bool
	err := db.inTx(ctx, func(tx *Tx) error {
		until := millis(tx.now.Add(ttl))
		res, err := tx.exec(ctx, `UPDATE job_leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)`,
			holder, until, name, holder, millis(tx.now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			got = n == 1
			return err
		}
		res, err = tx.exec(ctx, `INSERT INTO job_leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`, name, holder, until)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		got = n == 1
		return err
	})
	return got, err
}
