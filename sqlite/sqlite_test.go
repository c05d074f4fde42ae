package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/sqlite"
	"github.com/kizuna-chat/kizuna/sqlstore"
	"github.com/kizuna-chat/kizuna/store"
	"github.com/kizuna-chat/kizuna/storetest"
)

// clocked lets the store suite set the store's clock.
type clocked struct{ *sqlstore.DB }

func (c clocked) SetNow(now func() time.Time) { c.DB.Now = now }

var _ storetest.Clock = clocked{}

func open(t testing.TB, path string) *sqlstore.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db := open(t, filepath.Join(t.TempDir(), "kizuna.db"))
		t.Cleanup(func() { db.Close() })
		return clocked{db}
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kizuna.db")
	db := open(t, path)
	nt := storetest.NewTenant("Acme", "acme.example")
	if err := db.CreateTenant(ctx, nt); err != nil {
		t.Fatal(err)
	}
	before, err := db.SchemaVersion(ctx)
	if err != nil || before < 1 {
		t.Fatalf("SchemaVersion = %d, %v", before, err)
	}
	db.Close()

	db = open(t, path)
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil || v != before {
		t.Fatalf("SchemaVersion after reopen = %d, %v; want %d", v, err, before)
	}
	if _, err := db.Tenant(ctx, nt.Tenant.ID); err != nil {
		t.Fatalf("tenant lost on reopen: %v", err)
	}
}

// TestSchemaTooNew checks that a node refuses a database migrated by a newer
// Kizuna (STYLE.md 11) and leaves it alone.
func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kizuna.db")
	db := open(t, path)
	if _, err := db.WriteDB().ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err == nil {
		db.Close()
		t.Fatal("Open accepted a database at schema version 9999")
	}
	if !errors.Is(err, sqlstore.ErrSchemaTooNew) {
		t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
	}
}

func TestOptions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if db, err := sqlite.Open(ctx, filepath.Join(dir, "bad.db"), sqlite.Options{Synchronous: "OFF"}); err == nil {
		db.Close()
		t.Fatal("Synchronous OFF was accepted")
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "full.db"), sqlite.Options{Synchronous: sqlite.SyncFull, Readers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.WriteDB().QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := db.WriteDB().QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v; want 1", fk, err)
	}
}

// TestCheckpointer checks that the writer never checkpoints (its commits
// would pay for it) and that the background checkpointer keeps the WAL
// bounded under a stream of writes (starting it over past RestartWAL) and
// empties it once they stop.
func TestCheckpointer(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kizuna.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{CheckpointEvery: 20 * time.Millisecond, RestartWAL: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := db.WriteDB()
	var auto int
	if err := w.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer's wal_autocheckpoint = %d, %v; want 0", auto, err)
	}
	// The writer truncates a WAL past journal_size_limit inside its commit;
	// twice the restart size keeps that off a steady load's path.
	var limit int64
	if err := w.QueryRowContext(ctx, `PRAGMA journal_size_limit`).Scan(&limit); err != nil || limit != 8<<20 {
		t.Fatalf("writer's journal_size_limit = %d, %v; want %d", limit, err, 8<<20)
	}
	if _, err := w.ExecContext(ctx, `CREATE TABLE bulk (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	walSize := func() int64 {
		st, err := os.Stat(path + "-wal")
		if errors.Is(err, os.ErrNotExist) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	// 64 transactions of about 1 MiB: with no checkpoints at all the WAL
	// would end past 64 MiB.
	const rounds, mib = 64, 1 << 20
	var largest int64
	for range rounds {
		if _, err := w.ExecContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 256)
			INSERT INTO bulk SELECT randomblob(4000) FROM c`); err != nil {
			t.Fatal(err)
		}
		largest = max(largest, walSize())
	}
	t.Logf("largest WAL while writing %d MiB: %.1f MiB", rounds, float64(largest)/mib)
	if largest > rounds*mib/2 {
		t.Errorf("the WAL grew to %d bytes while %d MiB were written: checkpoints do not keep up", largest, rounds)
	}
	// Quiet now: the checkpointer truncates the WAL within a few rounds.
	deadline := time.Now().Add(5 * time.Second)
	for walSize() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("WAL still %d bytes 5 s after the last write", walSize())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var n int
	if err := w.QueryRowContext(ctx, `SELECT COUNT(*) FROM bulk`).Scan(&n); err != nil || n != rounds*256 {
		t.Fatalf("rows after checkpoints = %d, %v; want %d", n, err, rounds*256)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// Benchmarks reuse one database per benchmark across its runs (the testing
// package calls a benchmark several times with growing b.N), so the
// 100,000-member fixture is built once; TestMain removes them.
var (
	benchMu  sync.Mutex
	benchDir string
	benchDBs = map[string]*sqlstore.DB{}
)

func benchStore(b *testing.B) store.Store {
	benchMu.Lock()
	defer benchMu.Unlock()
	if db, ok := benchDBs[b.Name()]; ok {
		return db
	}
	if benchDir == "" {
		d, err := os.MkdirTemp("", "kizuna-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = d
	}
	db := open(b, filepath.Join(benchDir, filepath.Base(b.Name())+".db"))
	benchDBs[b.Name()] = db
	return db
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, db := range benchDBs {
		db.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func BenchmarkAddMembers100k(b *testing.B)      { storetest.BenchAddMembers(b, benchStore(b)) }
func BenchmarkClassifyByID(b *testing.B)        { storetest.BenchClassifyByID(b, benchStore(b)) }
func BenchmarkListPage(b *testing.B)            { storetest.BenchListPage(b, benchStore(b)) }
func BenchmarkRenameDomain100k(b *testing.B)    { storetest.BenchRenameDomain(b, benchStore(b)) }
func BenchmarkDeletionPreview100k(b *testing.B) { storetest.BenchDeletionPreview(b, benchStore(b)) }
func BenchmarkMoveMembers100k(b *testing.B)     { storetest.BenchMoveMembers(b, benchStore(b)) }
func BenchmarkSendBatch1(b *testing.B)          { storetest.BenchSendBatch(b, benchStore(b), 1) }
func BenchmarkSendBatch100(b *testing.B)        { storetest.BenchSendBatch(b, benchStore(b), 100) }
func BenchmarkSendBatch500(b *testing.B)        { storetest.BenchSendBatch(b, benchStore(b), 500) }
func BenchmarkSendBatchMixed(b *testing.B)      { storetest.BenchSendBatchMixed(b, benchStore(b)) }
func BenchmarkDirectorySearch1M(b *testing.B)   { storetest.BenchDirectorySearch(b, benchStore(b)) }
func BenchmarkBoardList200Groups(b *testing.B)  { storetest.BenchBoardList(b, benchStore(b)) }

// BenchmarkSendBatch12 is what the writer's commits carry at 5,000
// messages/s in 100 rooms of 10: a dozen sends to a dozen rooms.
func BenchmarkSendBatch12(b *testing.B) { storetest.BenchSendBatch(b, benchStore(b), 12) }
