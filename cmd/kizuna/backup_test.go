package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/sqlite"
	"github.com/kizuna-chat/kizuna/sqlstore"
)

// openStoreAt opens (creating) the SQLite store of a data directory.
func openStoreAt(t *testing.T, dir string) *sqlstore.DB {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestBackupWhileWriting backs up a store that a writer keeps changing:
// every transaction adds a tenant and its domain, so a consistent snapshot
// holds as many of one as of the other.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	st := openStoreAt(t, dir)
	os.MkdirAll(filepath.Join(dir, "outbox"), 0o700)
	mailBody := []byte("Subject: welcome\r\n\r\n初めまして\r\n")
	os.WriteFile(filepath.Join(dir, "outbox", "m1.eml"), mailBody, 0o600)

	ctx := context.Background()
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tx, err := st.WriteDB().BeginTx(ctx, nil)
			if err != nil {
				t.Error(err)
				return
			}
			id := "t" + itoa(i)
			now := time.Now().UnixMilli()
			_, err = tx.ExecContext(ctx, "INSERT INTO tenants (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)", id, "Tenant "+itoa(i), now, now)
			if err == nil {
				_, err = tx.ExecContext(ctx, "INSERT INTO domains (id, tenant_id, name, created_at) VALUES (?, ?, ?, ?)", "d"+id, id, "d"+itoa(i)+".example", now)
			}
			if err != nil {
				tx.Rollback()
				t.Error(err)
				return
			}
			if err := tx.Commit(); err != nil {
				t.Error(err)
				return
			}
			written.Add(1)
		}
	}()
	for written.Load() < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	archive := filepath.Join(t.TempDir(), "backup.tar.gz")
	m, err := Backup(ctx, dir, archive)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if m.SchemaVersion < 1 || len(m.Files) != 2 {
		t.Errorf("manifest: %+v", m)
	}

	target := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(ctx, archive, target, false); err != nil {
		t.Fatalf("restore: %v", err)
	}
	restored := openStoreAt(t, target)
	if err := integrityCheck(ctx, restored.WriteDB()); err != nil {
		t.Fatal(err)
	}
	var tenants, domains int64
	restored.WriteDB().QueryRow("SELECT COUNT(*) FROM tenants").Scan(&tenants)
	restored.WriteDB().QueryRow("SELECT COUNT(*) FROM domains").Scan(&domains)
	if tenants < 200 || tenants != domains || tenants > written.Load() {
		t.Errorf("restored %d tenants and %d domains of %d written", tenants, domains, written.Load())
	}
	if got, _ := os.ReadFile(filepath.Join(target, "outbox", "m1.eml")); !bytes.Equal(got, mailBody) {
		t.Errorf("outbox file: %q", got)
	}
	t.Logf("backed up %d of %d tenants written during the backup", tenants, written.Load())
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openStoreAt(t, dir)
	os.MkdirAll(filepath.Join(dir, "outbox"), 0o700)
	os.WriteFile(filepath.Join(dir, "outbox", "m1.eml"), []byte("hello"), 0o600)
	archive := filepath.Join(t.TempDir(), "ok.tar.gz")
	if _, err := Backup(ctx, dir, archive); err != nil {
		t.Fatal(err)
	}

	t.Run("non-empty target", func(t *testing.T) {
		target := t.TempDir()
		os.WriteFile(filepath.Join(target, "keep.txt"), []byte("mine"), 0o600)
		if _, err := Restore(ctx, archive, target, false); !errors.Is(err, errTargetNotEmpty) {
			t.Fatalf("restore into a non-empty directory: %v", err)
		}
		// --force moves the old contents aside instead of deleting them.
		res, err := Restore(ctx, archive, target, true)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(res.MovedAside, "keep.txt")); string(b) != "mine" {
			t.Errorf("previous contents not kept in %q", res.MovedAside)
		}
		if _, err := os.Stat(filepath.Join(target, dbFile)); err != nil {
			t.Error(err)
		}
	})

	t.Run("bad checksum", func(t *testing.T) {
		bad := rewriteArchive(t, archive, func(name string, b []byte) []byte {
			if name == "outbox/m1.eml" {
				return []byte("HELLO")
			}
			return b
		})
		target := filepath.Join(t.TempDir(), "data")
		_, err := Restore(ctx, bad, target, false)
		if !errors.Is(err, errBadArchive) || !strings.Contains(err.Error(), "outbox/m1.eml: checksum mismatch") {
			t.Fatalf("restore of a damaged archive: %v", err)
		}
		if _, err := os.Stat(target); !os.IsNotExist(err) {
			t.Error("a refused restore left the target behind")
		}
	})

	t.Run("newer schema", func(t *testing.T) {
		if _, err := st.WriteDB().Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)"); err != nil {
			t.Fatal(err)
		}
		newer := filepath.Join(t.TempDir(), "newer.tar.gz")
		m, err := Backup(ctx, dir, newer)
		if err != nil {
			t.Fatal(err)
		}
		if m.SchemaVersion != 9999 {
			t.Fatalf("manifest schema %d", m.SchemaVersion)
		}
		if _, err := Restore(ctx, newer, filepath.Join(t.TempDir(), "data"), false); !errors.Is(err, sqlstore.ErrSchemaTooNew) {
			t.Fatalf("restore of a newer schema: %v", err)
		}
	})

	t.Run("postgres", func(t *testing.T) {
		err := runBackup(ctx, []string{"--database-url", "postgres://x@127.0.0.1/db"}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "pg_dump") {
			t.Fatalf("backup with PostgreSQL: %v", err)
		}
	})
}

// rewriteArchive copies an archive, changing files' contents with edit and
// keeping the manifest as it was.
func rewriteArchive(t *testing.T, src string, edit func(name string, b []byte) []byte) string {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	dst := filepath.Join(t.TempDir(), "edited.tar.gz")
	out, _ := os.Create(dst)
	defer out.Close()
	gw := gzip.NewWriter(out)
	tw := tar.NewWriter(gw)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		b = edit(h.Name, b)
		h.Size = int64(len(b))
		tw.WriteHeader(h)
		tw.Write(b)
	}
	tw.Close()
	gw.Close()
	return dst
}
