// Package sqlite opens Kizuna's embedded default store: one SQLite file in
// the data directory, through the pure-Go modernc.org/sqlite driver, in WAL
// mode with foreign keys on. Writes go through a single connection (SQLite
// has one writer anyway, and this avoids busy retries between our own
// connections); reads use a pool.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kizuna-chat/kizuna/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Synchronous modes. NORMAL (the default) survives a killed process; FULL
// also survives a power loss, at a large cost in write rate.
const (
	SyncNormal = "NORMAL"
	SyncFull   = "FULL"
)

// Options tune the engine.
type Options struct {
	// Synchronous is SyncNormal (default) or SyncFull.
	Synchronous string
	// Readers is the size of the read pool; 0 means 2×CPUs.
	Readers int
}

// Dialect returns the SQLite dialect for sqlstore.
func Dialect() sqlstore.Dialect {
	sub, _ := fs.Sub(migrations, "migrations")
	return sqlstore.Dialect{
		Name:                  "sqlite",
		Goose:                 goose.DialectSQLite3,
		Migrations:            sub,
		IsUniqueViolation:     hasCode(sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY),
		IsForeignKeyViolation: hasCode(sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY),
	}
}

func hasCode(codes ...int) func(error) bool {
	return func(err error) bool {
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return false
		}
		for _, c := range codes {
			if se.Code() == c {
				return true
			}
		}
		return false
	}
}

// Open opens (creating if needed) the database file at path and applies
// migrations.
func Open(ctx context.Context, path string, o Options) (*sqlstore.DB, error) {
	if o.Synchronous == "" {
		o.Synchronous = SyncNormal
	}
	if o.Synchronous != SyncNormal && o.Synchronous != SyncFull {
		return nil, fmt.Errorf("sqlite: synchronous must be NORMAL or FULL, not %q", o.Synchronous)
	}
	if o.Readers <= 0 {
		o.Readers = 2 * runtime.GOMAXPROCS(0)
	}
	dsn := func(extra string) string {
		v := url.Values{}
		// temp_store(MEMORY) keeps statement journals off the disk: a
		// multi-row insert inside a transaction journals the pages it
		// touches so it can be undone alone, and a file for that cost a
		// write syscall per page. cache_size is in KiB when negative.
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(" + o.Synchronous + ")",
			"temp_store(MEMORY)", "cache_size(-32768)"} {
			v.Add("_pragma", p)
		}
		return "file:" + path + "?" + v.Encode() + extra
	}
	write, err := sql.Open("sqlite", dsn("&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Create the file and switch it to WAL before readers open it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn("&_pragma=query_only(1)"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	read.SetMaxOpenConns(o.Readers)
	read.SetMaxIdleConns(o.Readers)
	db := sqlstore.New(write, read, Dialect())
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
