// Package postgres opens Kizuna's scale-out store: PostgreSQL (or a
// PostgreSQL-wire engine) through pgx. Several Kizuna nodes may share one
// database.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"

	"github.com/kizuna-chat/kizuna/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SQLSTATE codes of integrity violations.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
	// Text PostgreSQL cannot hold: invalid UTF-8 or NUL (22021), and
	// "\u0000" in JSON (22P05).
	characterNotInRepertoire = "22021"
	untranslatableCharacter  = "22P05"
)

// Dialect returns the PostgreSQL dialect for sqlstore.
func Dialect() sqlstore.Dialect {
	sub, _ := fs.Sub(migrations, "migrations")
	return sqlstore.Dialect{
		Name:         "postgres",
		Goose:        goose.DialectPostgres,
		Migrations:   sub,
		DollarParams: true,
		// pgx's default mode prepares each query text once per
		// connection and keeps it.
		DriverCachesStatements: true,
		IsUniqueViolation:      hasCode(uniqueViolation),
		IsForeignKeyViolation:  hasCode(foreignKeyViolation),
		IsUnavailable:          unavailable,
		IsUnstorableText: func(err error) bool {
			return hasCode(characterNotInRepertoire)(err) || hasCode(untranslatableCharacter)(err)
		},
	}
}

// unavailable tells a database that is down or unreachable from a bad
// request: the answer is then 503 and the client retries.
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case errors.As(err, &pe):
		// Class 08: connection exceptions; 57P0x: the server is shutting
		// down or not accepting connections yet.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P0")
	}
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err)
}

func hasCode(code string) func(error) bool {
	return func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == code
	}
}

// Options tune the connection pool.
type Options struct {
	// MaxConns bounds the pool; 0 means 20.
	MaxConns int
}

// Open connects to the database at url (postgres://…) and applies
// migrations.
func Open(ctx context.Context, url string, o Options) (*sqlstore.DB, error) {
	if o.MaxConns <= 0 {
		o.MaxConns = 20
	}
	// Fail fast when the server is unreachable: requests answer 503 in
	// seconds instead of waiting for TCP to give up.
	if !strings.Contains(url, "connect_timeout=") {
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		url += sep + "connect_timeout=5"
	}
	pool, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool.SetMaxOpenConns(o.MaxConns)
	pool.SetMaxIdleConns(o.MaxConns)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connecting: %w", err)
	}
	db := sqlstore.New(pool, pool, Dialect())
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
