// Package testdb opens throwaway stores for tests: a SQLite file in a
// temporary directory, or a fresh schema in the PostgreSQL server named by
// KIZUNA_TEST_DATABASE_URL (skipped with a clear message when unset).
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for schema set-up

	"github.com/kizuna-chat/kizuna/postgres"
	"github.com/kizuna-chat/kizuna/sqlite"
	"github.com/kizuna-chat/kizuna/sqlstore"
)

// EnvPostgres names the PostgreSQL server used by tests.
const EnvPostgres = "KIZUNA_TEST_DATABASE_URL"

// Engine opens a fresh, empty store for one test.
type Engine struct {
	Name string
	Open func(t testing.TB) *sqlstore.DB
}

// Engines returns both engines; the PostgreSQL one skips its tests when
// KIZUNA_TEST_DATABASE_URL is unset.
func Engines() []Engine {
	return []Engine{{"sqlite", SQLite}, {"postgres", Postgres}}
}

// SQLite opens a store in a new file under t.TempDir().
func SQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kizuna.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("opening sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL returns the test server's URL or skips the test.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvPostgres)
	if u == "" {
		t.Skipf("%s is not set: skipping the PostgreSQL run (.ci/run sets it; locally try %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", EnvPostgres, EnvPostgres)
	}
	return u
}

// Postgres opens a store in a new schema of the test server; the schema is
// dropped when the test ends.
func Postgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), PostgresSchemaURL(t), postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("opening postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresSchemaURL creates an empty schema on the test server and returns
// a URL whose connections use it; the schema is dropped when the test ends.
func PostgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	rand.Read(b)
	schema := "kz_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("postgres: creating schema: %v", err)
	}
	t.Cleanup(func() { admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres: bad %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
