// Package sqlstore implements package store on database/sql. The SQLite and
// PostgreSQL engines share these queries; each engine package (sqlite,
// postgres) opens the connections and supplies a Dialect with its
// migrations and its driver's error codes.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// Dialect is what differs between engines.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// Goose is the migration tool's name for the engine.
	Goose goose.Dialect
	// Migrations holds the engine's numbered .sql migrations.
	Migrations fs.FS
	// DollarParams rewrites "?" placeholders to "$1", "$2", ….
	DollarParams bool
	// IsUniqueViolation and IsForeignKeyViolation classify driver errors by
	// their codes, never by message text.
	IsUniqueViolation     func(error) bool
	IsForeignKeyViolation func(error) bool
	// IsUnavailable, when set, tells errors of a database that is down or
	// unreachable (answered 503 "database_unavailable", not 500).
	IsUnavailable func(error) bool
	// IsUnstorableText, when set, tells text the engine refuses to hold
	// (PostgreSQL: a NUL character or invalid UTF-8) from a failure: it is
	// the client's input, answered as invalid "invalid_text", not 500.
	IsUnstorableText func(error) bool
	// DriverCachesStatements says the driver already prepares each query
	// text once per connection and keeps it (pgx does, and re-prepares
	// after a schema change), so the hot write paths send text rather than
	// keep prepared statements of their own on every pooled connection.
	DriverCachesStatements bool
}

// DB is a store on one database. SQLite gets a single writer connection and
// a pool of readers; PostgreSQL uses one pool for both.
type DB struct {
	write, read *sql.DB
	dialect     Dialect
	// Now is the clock; tests replace it.
	Now func() time.Time

	mu      sync.Mutex
	rebound map[string]string

	// stmts keeps the talk writer's statements prepared across
	// transactions; nil when the driver caches statements itself.
	stmts *stmtCache
	// closers run first on Close: the engine's background work on the
	// connections (SQLite's checkpointer). afterClose runs last, once the
	// connections are closed.
	closers    []func() error
	afterClose []func() error
}

var _ store.Store = (*DB)(nil)

// New wraps open connections. read may equal write.
func New(write, read *sql.DB, d Dialect) *DB {
	db := &DB{write: write, read: read, dialect: d, Now: time.Now, rebound: map[string]string{}}
	if !d.DriverCachesStatements {
		db.stmts = newStmtCache(write)
	}
	return db
}

// OnClose registers fn to run when the store closes, before its
// connections do (and so before anything fn still uses them for). Engines
// use it to stop work they run in the background. It is not safe to call
// concurrently with Close.
func (db *DB) OnClose(fn func() error) { db.closers = append(db.closers, fn) }

// AfterClose registers fn to run when the store closes, after its
// connections have (SQLite's extra file descriptor, whose closing would
// drop the locks the connections hold). It is not safe to call
// concurrently with Close.
func (db *DB) AfterClose(fn func() error) { db.afterClose = append(db.afterClose, fn) }

// WriteDB returns the connection pool used for writes (for tools such as
// backups and integrity checks).
func (db *DB) WriteDB() *sql.DB { return db.write }

// ErrSchemaTooNew is returned by Migrate when the database was migrated by
// a newer Kizuna than this binary.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// Migrate applies pending migrations, each in its own transaction. It
// refuses a database whose schema version is newer than the newest
// migration this binary knows.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := goose.NewProvider(db.dialect.Goose, db.write, db.dialect.Migrations)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	sources := p.ListSources()
	newest := int64(0)
	if len(sources) > 0 {
		newest = sources[len(sources)-1].Version
	}
	if current > newest {
		return fmt.Errorf("%w: the database is at schema version %d, this binary knows up to %d; upgrade Kizuna", ErrSchemaTooNew, current, newest)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	return nil
}

// SchemaVersion returns the applied schema version.
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	p, err := goose.NewProvider(db.dialect.Goose, db.write, db.dialect.Migrations)
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

// Ping implements store.Store.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// Close implements store.Store.
func (db *DB) Close() error {
	var errs []error
	for _, fn := range db.closers {
		errs = append(errs, fn())
	}
	db.closers = nil
	if db.stmts != nil {
		errs = append(errs, db.stmts.close())
	}
	err := errors.Join(append(errs, db.write.Close())...)
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	for _, fn := range db.afterClose {
		err = errors.Join(err, fn())
	}
	db.afterClose = nil
	return err
}

// q returns the query in the engine's placeholder style.
func (db *DB) q(query string) string {
	if !db.dialect.DollarParams {
		return query
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if r, ok := db.rebound[query]; ok {
		return r
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	db.rebound[query] = b.String()
	return b.String()
}

// Tx is a write transaction with the store's placeholder rewriting.
type Tx struct {
	tx  *sql.Tx
	db  *DB
	now time.Time
}

func (t *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.db.q(query), args...)
}

func (t *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.db.q(query), args...)
}

func (t *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.db.q(query), args...)
}

// inTx runs fn in a write transaction and commits it when fn succeeds.
func (db *DB) inTx(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.mapErr(fmt.Errorf("begin: %w", err))
	}
	tx := &Tx{tx: sqlTx, db: db, now: db.Now().UTC().Truncate(time.Millisecond)}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return db.mapErr(err)
	}
	if err := sqlTx.Commit(); err != nil {
		return db.mapErr(fmt.Errorf("commit: %w", err))
	}
	return nil
}

func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, db.q(query), args...)
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, db.q(query), args...)
}

// mapErr turns errors that reached the top of a store method into
// application errors: application errors pass through, context errors keep
// their identity, and anything else becomes internal (its text is logged,
// never shown).
func (db *DB) mapErr(err error) error {
	if err == nil {
		return nil
	}
	var ae *kizuna.Error
	if errors.As(err, &ae) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if db.dialect.IsUniqueViolation(err) {
		return &wrapped{kizuna.Errorf(kizuna.ErrConflict, "conflict", "This conflicts with existing data."), err}
	}
	if db.dialect.IsUnavailable != nil && db.dialect.IsUnavailable(err) {
		return &wrapped{kizuna.Errorf(kizuna.ErrUnavailable, "database_unavailable", "The database is not answering; try again in a moment."), err}
	}
	if db.dialect.IsForeignKeyViolation(err) {
		return &wrapped{kizuna.Errorf(kizuna.ErrInvalid, "invalid_reference", "A referenced item does not exist."), err}
	}
	if db.dialect.IsUnstorableText != nil && db.dialect.IsUnstorableText(err) {
		return &wrapped{kizuna.Errorf(kizuna.ErrInvalid, "invalid_text", "The request holds text that cannot be stored: a NUL character or invalid UTF-8."), err}
	}
	return fmt.Errorf("%s store: %w", db.dialect.Name, err)
}

// wrapped is an application error that keeps the driver error for logs.
type wrapped struct {
	app    *kizuna.Error
	driver error
}

func (w *wrapped) Error() string   { return w.app.Error() + " (" + w.driver.Error() + ")" }
func (w *wrapped) Unwrap() []error { return []error{w.app, w.driver} }

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// optMillis stores a zero time as 0 ("never").
func optMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromOptMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMillis(ms)
}

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// queryAll runs a read query and scans every row with scan. The result is
// never nil, so an empty list reads as [] in JSON.
func queryAll[T any](ctx context.Context, db *DB, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, db.mapErr(err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, db.mapErr(err)
		}
		out = append(out, v)
	}
	return out, db.mapErr(rows.Err())
}
