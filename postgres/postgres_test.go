package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/kizuna-chat/kizuna/postgres"
	"github.com/kizuna-chat/kizuna/sqlstore"
	"github.com/kizuna-chat/kizuna/store"
	"github.com/kizuna-chat/kizuna/storetest"
)

// envURL names the variable holding the test server's URL.
const envURL = "KIZUNA_TEST_DATABASE_URL"

// clocked lets the store suite set the store's clock.
type clocked struct{ *sqlstore.DB }

func (c clocked) SetNow(now func() time.Time) { c.DB.Now = now }

var _ storetest.Clock = clocked{}

// freshURL creates an empty schema for one test on the server at
// KIZUNA_TEST_DATABASE_URL, drops it when the test ends, and returns a URL
// whose connections use it. It skips the test when the variable is unset.
func freshURL(tb testing.TB) string {
	tb.Helper()
	u, drop := newSchema(tb)
	// Cleanups run last-in first-out: this one, registered before the
	// store's, runs after the store is closed.
	tb.Cleanup(func() {
		if err := drop(); err != nil {
			tb.Errorf("dropping the test schema: %v", err)
		}
	})
	return u
}

// newSchema creates an empty schema and returns a URL that uses it and a
// function that drops it.
func newSchema(tb testing.TB) (string, func() error) {
	tb.Helper()
	base := os.Getenv(envURL)
	if base == "" {
		tb.Skip(envURL + " not set: skipping PostgreSQL store suite; .ci/run sets it")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "kz_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		tb.Fatalf("creating schema: %v", err)
	}
	drop := func() error {
		defer admin.Close()
		_, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`)
		return err
	}
	return withSearchPath(tb, base, schema), drop
}

// withSearchPath adds search_path to a URL or a keyword/value DSN; pgx
// sends unknown settings to the server as run-time parameters.
func withSearchPath(tb testing.TB, base, schema string) string {
	if !strings.Contains(base, "://") {
		return base + " search_path=" + schema
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", envURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), freshURL(tb), postgres.Options{MaxConns: 4})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	if os.Getenv(envURL) == "" {
		t.Skip(envURL + " not set: skipping PostgreSQL store suite; .ci/run sets it")
	}
	storetest.Run(t, func(t *testing.T) store.Store { return clocked{open(t)} })
}

// TestSchemaTooNew checks that a node refuses a database migrated by a newer
// Kizuna (STYLE.md 11).
func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	u := freshURL(t)
	db, err := postgres.Open(ctx, u, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.WriteDB().ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, true)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = postgres.Open(ctx, u, postgres.Options{})
	if err == nil {
		db.Close()
		t.Fatal("Open accepted a database at schema version 9999")
	}
	if !errors.Is(err, sqlstore.ErrSchemaTooNew) {
		t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
	}
}

// Benchmarks reuse one schema per benchmark across its runs (the testing
// package calls a benchmark several times with growing b.N), so the
// 100,000-member fixture is built once; TestMain drops them.
var (
	benchMu    sync.Mutex
	benchDBs   = map[string]*sqlstore.DB{}
	benchDrops []func() error
)

func benchStore(b *testing.B) store.Store {
	benchMu.Lock()
	defer benchMu.Unlock()
	if db, ok := benchDBs[b.Name()]; ok {
		return db
	}
	u, drop := newSchema(b)
	benchDrops = append(benchDrops, drop)
	db, err := postgres.Open(context.Background(), u, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchDBs[b.Name()] = db
	return db
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, db := range benchDBs {
		db.Close()
	}
	for _, drop := range benchDrops {
		if err := drop(); err != nil {
			fmt.Fprintln(os.Stderr, "dropping a benchmark schema:", err)
		}
	}
	os.Exit(code)
}

func BenchmarkAddMembers100k(b *testing.B)      { storetest.BenchAddMembers(b, benchStore(b)) }
func BenchmarkClassifyByID(b *testing.B)        { storetest.BenchClassifyByID(b, benchStore(b)) }
func BenchmarkListPage(b *testing.B)            { storetest.BenchListPage(b, benchStore(b)) }
func BenchmarkRenameDomain100k(b *testing.B)    { storetest.BenchRenameDomain(b, benchStore(b)) }
func BenchmarkDeletionPreview100k(b *testing.B) { storetest.BenchDeletionPreview(b, benchStore(b)) }
func BenchmarkMoveMembers100k(b *testing.B)     { storetest.BenchMoveMembers(b, benchStore(b)) }
func BenchmarkSendBatchMixed(b *testing.B)      { storetest.BenchSendBatchMixed(b, benchStore(b)) }
func BenchmarkDirectorySearch1M(b *testing.B)   { storetest.BenchDirectorySearch(b, benchStore(b)) }
func BenchmarkBoardList200Groups(b *testing.B)  { storetest.BenchBoardList(b, benchStore(b)) }
