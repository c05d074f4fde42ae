package sqlstore

import "database/sql"

// Pools returns the store's connection pools by role, for pool metrics:
// "write" and "read" on SQLite, one "shared" pool on PostgreSQL.
func (db *DB) Pools() map[string]*sql.DB {
	if db.read == db.write {
		return map[string]*sql.DB{"shared": db.write}
	}
	return map[string]*sql.DB{"write": db.write, "read": db.read}
}
