package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/kizuna-chat/kizuna/sqlite"
	"github.com/kizuna-chat/kizuna/sqlstore"
)

// dbFile is the embedded store's file name inside the data directory.
const dbFile = "kizuna.db"

// manifestName is the archive entry that describes the others. It comes
// last: the checksums are computed while the files stream into the
// archive, so nothing is read twice and a file that changes meanwhile is
// recorded as it was archived.
const manifestName = "manifest.json"

// errPostgresBackup points PostgreSQL users to the standard tools: a
// logical dump of a shared database is the operator's database tooling's
// job, not something a node should do behind the cluster's back.
var errPostgresBackup = errors.New("kizuna backup covers the embedded SQLite store only; for PostgreSQL use pg_dump and pg_restore (see \"Backup and restore\" in the README), e.g. pg_dump --format=custom --file=kizuna.dump \"$KIZUNA_DATABASE_URL\"")

// Manifest describes a backup archive.
type Manifest struct {
	// Format is the archive layout's version.
	Format int `json:"format"`
	// Engine is "sqlite".
	Engine string `json:"engine"`
	// SchemaVersion is the store's migration version in the archive.
	SchemaVersion int64 `json:"schema_version"`
	// KizunaVersion is the version of the binary that made the backup.
	KizunaVersion string    `json:"kizuna_version"`
	CreatedAt     time.Time `json:"created_at"`
	// Files lists every file of the data directory in the archive.
	Files []ManifestFile `json:"files"`
}

// ManifestFile is one archived file, by its slash-separated path relative
// to the data directory.
type ManifestFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func runBackup(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("kizuna backup", flag.ContinueOnError)
	var dest string
	c, err := loadConfig(fs, args, func(c *Config) {
		c.storeFlags(fs)
		fs.StringVar(&dest, "out", "", "archive to write (default kizuna-backup-YYYYMMDD-HHMMSS.tar.gz in the current directory)")
	})
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return err
	}
	if c.UsesPostgres() {
		return errPostgresBackup
	}
	if dest == "" {
		dest = "kizuna-backup-" + time.Now().UTC().Format("20060102-150405") + ".tar.gz"
	}
	start := time.Now()
	m, err := Backup(ctx, c.DataDir, dest)
	if err != nil {
		return err
	}
	var total int64
	for _, f := range m.Files {
		total += f.Size
	}
	fmt.Fprintf(out, "backup written to %s: %d files, %s uncompressed, schema version %d, in %s\n",
		dest, len(m.Files), humanBytes(total), m.SchemaVersion, time.Since(start).Round(time.Millisecond))
	return nil
}

// Backup writes a consistent archive of the data directory dataDir to
// dest while a server may be running on it. The database is copied with
// VACUUM INTO, which reads one snapshot (a WAL read transaction) and so
// never sees half a commit and never blocks the server's writer; the other
// files (the mail outbox) are copied as they are.
func Backup(ctx context.Context, dataDir, dest string) (*Manifest, error) {
	dbPath := filepath.Join(dataDir, dbFile)
	if _, err := os.Stat(dbPath); err != nil {
		return nil, fmt.Errorf("no Kizuna store in %s: %w", dataDir, err)
	}
	absData, _ := filepath.Abs(dataDir)
	absDest, _ := filepath.Abs(dest)
	if rel, err := filepath.Rel(absData, absDest); err == nil && !strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("write the backup outside the data directory (%s is inside %s)", dest, dataDir)
	}

	// The snapshot goes next to the archive: the data directory may be on
	// a volume the server needs free space on.
	tmpDir, err := os.MkdirTemp(filepath.Dir(absDest), ".kizuna-backup-")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	snapshot := filepath.Join(tmpDir, dbFile)
	if err := snapshotSQLite(ctx, dbPath, snapshot); err != nil {
		return nil, err
	}
	version, err := sqliteSchemaVersion(ctx, snapshot)
	if err != nil {
		return nil, err
	}

	// Write to a temporary name and rename at the end, so that a failed
	// backup never leaves a file that looks complete.
	partial := absDest + ".partial"
	f, err := os.OpenFile(partial, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(partial)
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	m := &Manifest{Format: 1, Engine: "sqlite", SchemaVersion: version, KizunaVersion: Version, CreatedAt: time.Now().UTC().Truncate(time.Second)}

	mf, err := addFile(tw, dbFile, snapshot)
	if err != nil {
		return nil, err
	}
	m.Files = append(m.Files, mf)
	err = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// A file removed while we walk (an outbox file being
			// rewritten) is not an error of the backup.
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, err := filepath.Rel(dataDir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		// The live database and its WAL and shared-memory files are
		// replaced by the snapshot.
		if name == dbFile || strings.HasPrefix(name, dbFile+"-") || !d.Type().IsRegular() {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		mf, err := addFile(tw, name, p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		m.Files = append(m.Files, mf)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(b)), ModTime: m.CreatedAt, Typeflag: tar.TypeReg}); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if _, err := tw.Write(b); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := errors.Join(tw.Close(), gz.Close()); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(partial, absDest); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// openSQLiteFile opens a database file without migrating it: a backup or a
// restore must not change the schema under a server of another version.
func openSQLiteFile(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// snapshotSQLite copies the database at src into the new file dst from one
// read snapshot.
func snapshotSQLite(ctx context.Context, src, dst string) error {
	db, err := openSQLiteFile(src)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("copying the database: %w", err)
	}
	return nil
}

// sqliteSchemaVersion reads the migration version recorded in a database
// file.
func sqliteSchemaVersion(ctx context.Context, path string) (int64, error) {
	db, err := openSQLiteFile(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	v, err := sqlstore.New(db, db, sqlite.Dialect()).SchemaVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	return v, nil
}

// newestSchema is the newest migration this binary knows for an engine.
func newestSchema(d sqlstore.Dialect) (int64, error) {
	// The provider only lists the embedded sources; it needs a handle but
	// does not use it here.
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	p, err := goose.NewProvider(d.Goose, db, d.Migrations)
	if err != nil {
		return 0, err
	}
	src := p.ListSources()
	if len(src) == 0 {
		return 0, nil
	}
	return src[len(src)-1].Version, nil
}

// addFile streams one file into the archive and returns its manifest
// entry, hashed from the bytes written.
func addFile(tw *tar.Writer, name, src string) (ManifestFile, error) {
	f, err := os.Open(src)
	if err != nil {
		return ManifestFile{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ManifestFile{}, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg}); err != nil {
		return ManifestFile{}, err
	}
	h := sha256.New()
	// Exactly the size announced in the header: a file that grows while
	// it is archived (an outbox file being written) is cut at that size,
	// and its checksum covers what was archived.
	n, err := io.Copy(io.MultiWriter(tw, h), io.LimitReader(f, st.Size()))
	if err != nil {
		return ManifestFile{}, err
	}
	if n != st.Size() {
		return ManifestFile{}, fmt.Errorf("%s shrank while it was archived", name)
	}
	return ManifestFile{Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func runRestore(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("kizuna restore", flag.ContinueOnError)
	var from string
	var force bool
	c, err := loadConfig(fs, args, func(c *Config) {
		fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory to restore into (KIZUNA_DATA)")
		fs.StringVar(&from, "from", "", "backup archive written by kizuna backup")
		fs.BoolVar(&force, "force", false, "restore into a non-empty data directory (its contents are moved aside, not deleted)")
	})
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return err
	}
	if from == "" {
		return errors.New("restore: --from ARCHIVE is required")
	}
	if c.UsesPostgres() {
		return errors.New("kizuna restore writes the embedded SQLite store; for PostgreSQL use pg_restore (see \"Backup and restore\" in the README)")
	}
	start := time.Now()
	res, err := Restore(ctx, from, c.DataDir, force)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "restored %d files (schema version %d, backed up %s by kizuna %s) into %s in %s\n",
		len(res.Manifest.Files), res.Manifest.SchemaVersion, res.Manifest.CreatedAt.Format(time.RFC3339), res.Manifest.KizunaVersion,
		c.DataDir, time.Since(start).Round(time.Millisecond))
	if res.MovedAside != "" {
		fmt.Fprintf(out, "the previous contents of the data directory are in %s; delete it once the restore is checked\n", res.MovedAside)
	}
	return nil
}

// Errors of Restore.
var (
	errTargetNotEmpty = errors.New("the data directory is not empty")
	errBadArchive     = errors.New("the archive is damaged or not a Kizuna backup")
)

// Restored is the outcome of a restore.
type Restored struct {
	Manifest *Manifest
	// MovedAside is where the previous contents went (with force).
	MovedAside string
}

// Restore unpacks the archive at from into dataDir. Everything is checked
// before anything is put in place: the files are extracted into a staging
// directory next to dataDir, their checksums compared with the manifest,
// the database's integrity checked and its schema compared with this
// binary's; only then does the staging directory take dataDir's place. A
// non-empty dataDir is refused unless force, and then moved aside rather
// than deleted. The server must not be running on dataDir.
func Restore(ctx context.Context, from, dataDir string, force bool) (*Restored, error) {
	dataDir = filepath.Clean(dataDir)
	empty, err := dirEmpty(dataDir)
	if err != nil {
		return nil, err
	}
	if !empty && !force {
		return nil, fmt.Errorf("%w: %s (stop the server and pass --force to replace it; its contents are moved aside)", errTargetNotEmpty, dataDir)
	}
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o700); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	staging, err := os.MkdirTemp(filepath.Dir(dataDir), "."+filepath.Base(dataDir)+".restore-")
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(staging)
		}
	}()
	m, err := extract(ctx, from, staging)
	if err != nil {
		return nil, err
	}
	if m.Engine != "sqlite" || m.Format != 1 {
		return nil, fmt.Errorf("%w: engine %q, format %d", errBadArchive, m.Engine, m.Format)
	}
	newest, err := newestSchema(sqlite.Dialect())
	if err != nil {
		return nil, err
	}
	if m.SchemaVersion > newest {
		return nil, fmt.Errorf("%w: the backup is at schema version %d (kizuna %s), this binary knows up to %d; restore it with a newer Kizuna",
			sqlstore.ErrSchemaTooNew, m.SchemaVersion, m.KizunaVersion, newest)
	}
	if err := checkSQLite(ctx, filepath.Join(staging, dbFile), m.SchemaVersion); err != nil {
		return nil, err
	}

	res := &Restored{Manifest: m}
	if _, err := os.Stat(dataDir); err == nil {
		if empty {
			if err := os.Remove(dataDir); err != nil {
				return nil, fmt.Errorf("restore: %w", err)
			}
		} else {
			res.MovedAside = dataDir + ".before-restore-" + time.Now().UTC().Format("20060102-150405")
			if err := os.Rename(dataDir, res.MovedAside); err != nil {
				return nil, fmt.Errorf("restore: moving the current data aside: %w", err)
			}
		}
	}
	if err := os.Rename(staging, dataDir); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	done = true
	return res, nil
}

func dirEmpty(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("restore: %w", err)
	}
	return len(entries) == 0, nil
}

// extract unpacks the archive into dir, hashing every file, and returns
// the manifest once every file matches it exactly (no file missing, none
// extra, every size and checksum equal).
func extract(ctx context.Context, from, dir string) (*Manifest, error) {
	f, err := os.Open(from)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadArchive, err)
	}
	tr := tar.NewReader(gz)
	got := map[string]ManifestFile{}
	var m *Manifest
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errBadArchive, err)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: unexpected entry %q", errBadArchive, h.Name)
		}
		if h.Name == manifestName {
			m = &Manifest{}
			if err := json.NewDecoder(io.LimitReader(tr, 64<<20)).Decode(m); err != nil {
				return nil, fmt.Errorf("%w: manifest: %w", errBadArchive, err)
			}
			continue
		}
		// Only plain relative paths: an archive must not write outside
		// the staging directory.
		name := h.Name
		if name != path.Clean(name) || path.IsAbs(name) || name == "." || strings.HasPrefix(name, "../") || name == ".." || strings.Contains(name, "\\") {
			return nil, fmt.Errorf("%w: unsafe path %q", errBadArchive, name)
		}
		if _, dup := got[name]; dup {
			return nil, fmt.Errorf("%w: %q appears twice", errBadArchive, name)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		out, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		hash := sha256.New()
		n, err := io.Copy(io.MultiWriter(out, hash), tr)
		if err == nil {
			// The restored files must survive a crash right after the
			// restore reports success.
			err = out.Sync()
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("restore: %s: %w", name, err)
		}
		got[name] = ManifestFile{Path: name, Size: n, SHA256: hex.EncodeToString(hash.Sum(nil))}
	}
	if m == nil {
		return nil, fmt.Errorf("%w: no %s", errBadArchive, manifestName)
	}
	var problems []string
	for _, want := range m.Files {
		have, ok := got[want.Path]
		switch {
		case !ok:
			problems = append(problems, want.Path+": missing")
		case have.Size != want.Size || have.SHA256 != want.SHA256:
			problems = append(problems, want.Path+": checksum mismatch")
		}
		delete(got, want.Path)
	}
	for name := range got {
		problems = append(problems, name+": not in the manifest")
	}
	if _, ok := findFile(m, dbFile); !ok {
		problems = append(problems, dbFile+": missing")
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%w: %s", errBadArchive, strings.Join(problems, "; "))
	}
	return m, nil
}

func findFile(m *Manifest, name string) (ManifestFile, bool) {
	for _, f := range m.Files {
		if f.Path == name {
			return f, true
		}
	}
	return ManifestFile{}, false
}

// checkSQLite runs SQLite's integrity check on the restored database and
// confirms the schema version the manifest announced.
func checkSQLite(ctx context.Context, path string, want int64) error {
	db, err := openSQLiteFile(path)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := integrityCheck(ctx, db); err != nil {
		return err
	}
	v, err := sqlstore.New(db, db, sqlite.Dialect()).SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("%w: reading the schema version: %w", errBadArchive, err)
	}
	if v != want {
		return fmt.Errorf("%w: the database is at schema version %d, the manifest says %d", errBadArchive, v, want)
	}
	return nil
}

// integrityCheck runs PRAGMA integrity_check, which answers a single "ok"
// or the list of problems.
func integrityCheck(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("%w: integrity check: %w", errBadArchive, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: integrity check: %w", errBadArchive, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: integrity check failed: %s", errBadArchive, strings.Join(problems, "; "))
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
