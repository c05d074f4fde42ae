// Package sqlite opens Kizuna's embedded default store: one SQLite file in
// the data directory, through the pure-Go modernc.org/sqlite driver, in WAL
// mode with foreign keys on. Writes go through a single connection (SQLite
// has one writer anyway, and this avoids busy retries between our own
// connections); reads use a pool; a third connection checkpoints the WAL
// in the background, so that the writer's commits never do.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"time"

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
	// CheckpointEvery is how often the background checkpointer copies the
	// WAL into the database file; 0 means every 250 ms.
	CheckpointEvery time.Duration
	// RestartWAL is the WAL size past which the checkpointer makes the WAL
	// start over even while writes keep coming, holding the writer for the
	// moment that takes (a median 3.7 ms at 5,000 msg/s, mostly two syncs); 0
	// means 512 MiB (about five seconds of talk at 5,000 messages/s). The
	// WAL file keeps its size for the next round up to twice this, so
	// that starting over does not truncate it.
	// At 5,000 msg/s, p99 send-to-delivery over alternating runs:
	// 17.8-20.8 ms at 512 MiB, 22.5-24.3 ms at 128 MiB.
	RestartWAL int64
	// Log receives checkpoint failures; nil means slog.Default().
	Log *slog.Logger
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
	useFdatasync()
	if o.CheckpointEvery <= 0 {
		// Four times a second rather than once: each checkpoint then
		// syncs a quarter of the pages, and the sync holds up the
		// writer's own WAL writes less. At 5,000 messages/s, p99
		// send-to-delivery over four alternating runs each: 18.9-22.7 ms
		// against 18.6-35.9 ms at one second.
		o.CheckpointEvery = 250 * time.Millisecond
	}
	if o.RestartWAL <= 0 {
		o.RestartWAL = 512 << 20
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	dsn := func(extra ...string) string {
		v := url.Values{}
		// temp_store(MEMORY) keeps statement journals off the disk: a
		// multi-row insert inside a transaction journals the pages it
		// touches so it can be undone alone, and a file for that cost a
		// write syscall per page. cache_size is in KiB when negative.
		for _, p := range append([]string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(" + o.Synchronous + ")",
			"temp_store(MEMORY)", "cache_size(-32768)"}, extra...) {
			v.Add("_pragma", p)
		}
		return "file:" + path + "?" + v.Encode()
	}
	// wal_autocheckpoint(0): by default the connection whose commit takes
	// the WAL past 1,000 pages copies it back into the database file and
	// syncs it, inside that commit. With one writer that is the writer,
	// every few commits: 7% of the server's CPU at 5,000 messages/s, all
	// of it on the goroutine that bounds the write rate. The checkpointer
	// below does it from its own connection instead.
	// journal_size_limit gives back the disk a burst (an import) grew the
	// WAL to, when the WAL next starts over, even if the server is never
	// quiet enough for the checkpointer to truncate it. It is twice the
	// restart size because the writer truncates inside its commit: at 64
	// MiB, under a steady 5,000 messages/s, every start-over shrank a
	// 116 MiB WAL and the ftruncate held the writer for 12-16 ms.
	write, err := sql.Open("sqlite", dsn("wal_autocheckpoint(0)", fmt.Sprintf("journal_size_limit(%d)", 2*o.RestartWAL))+"&_txlock=immediate")
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
	read, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	read.SetMaxOpenConns(o.Readers)
	read.SetMaxIdleConns(o.Readers)
	db := sqlstore.New(write, read, Dialect())
	// A checkpoint does not need the write lock, and SQLite allows it on
	// a query_only connection; a connection of its own keeps its syncs
	// from holding up a reader. Its short busy timeout bounds how long a
	// truncating checkpoint waits for readers, since the writer waits for
	// it meanwhile (see startCheckpointer).
	cp, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{"_pragma": {"busy_timeout(100)", "query_only(1)", "cache_size(-256)"}}.Encode())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	cp.SetMaxOpenConns(1)
	cp.SetMaxIdleConns(1)
	cp.SetConnMaxLifetime(0)
	cp.SetConnMaxIdleTime(0)
	// The checkpointer syncs the database file through a descriptor of
	// its own (see startCheckpointer). Closing any descriptor of a file
	// drops every POSIX lock the process holds on it, SQLite's included,
	// so this one is closed only after SQLite's connections are.
	file, err := os.Open(path)
	if err != nil {
		cp.Close()
		db.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	stop := startCheckpointer(cp, write, file, o.CheckpointEvery, int(o.RestartWAL/pageSize), o.Log)
	db.OnClose(func() error {
		stop()
		return cp.Close()
	})
	db.AfterClose(file.Close)
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// useFdatasync makes SQLite sync with fdatasync(2) instead of fsync(2),
// process-wide, where the platform has it (the transpiled library keeps
// SQLite's source default, fsync; C builds on Linux use fdatasync).
// fdatasync writes the data and the size, as fsync does, but not the
// timestamps. On ext4 that matters beyond the sync itself: every write
// to the WAL changes its mtime, so each checkpoint's fsync forced a
// journal commit, and while a commit is locked the writer's own WAL writes
// (which must log their mtime too) waited: 8-14 ms stalls of the talk
// writer in _unixWrite, a few times a second at 5,000 messages/s.
func useFdatasync() {
	_, _ = sqlite.Fdatasync(true) // unavailable (macOS, Windows): fsync stays
}

// quietAfter is how long the WAL must stay unchanged before the
// checkpointer truncates it, holding the writer while it waits for
// readers: a pause between bursts of a busy server is not quiet.
const quietAfter = time.Second

// pageSize is SQLite's default page size, which the store keeps: a WAL
// frame holds one page (and a 24-byte header).
const pageSize = 4096

// startCheckpointer checkpoints the WAL every interval until the returned
// function is called (which waits for a checkpoint in progress to end).
//
// Each round runs a PASSIVE checkpoint from cp: it copies what no reader
// still needs and never blocks the writer, and with nothing to copy it
// costs microseconds, so it simply runs every round rather than guessing
// the WAL's size from outside.
//
// Copying is not enough to bound the WAL: the writer starts it over only
// when, at the start of its transaction, every frame has been copied, and
// a writer that commits back to back always adds frames while a checkpoint
// runs, so the WAL grew without end under load. Past restartFrames, and
// when the WAL has not changed for quietAfter (the server is quiet), a
// round therefore takes the write pool's only connection, so no commit
// can land in between, and checkpoints again: PASSIVE under load, which
// (after catchUp) only has the last moments' frames left to copy, after
// which the next transaction starts the WAL over; TRUNCATE when quiet,
// which also empties the file, so an idle server does not keep the
// high-water mark of its last burst. Under load the database file is
// synced (through file, a descriptor of its own) before the writer is
// held: see syncBeforeHold. Holding the connection makes the
// writer wait in the pool's queue, woken the moment the checkpoint ends,
// rather than fail on SQLite's write lock and sleep in its busy handler.
func startCheckpointer(cp, write *sql.DB, file *os.File, every time.Duration, restartFrames int, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		lastFrames, changedAt := -1, time.Now()
		var failing error
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			frames, err := checkpoint(ctx, cp, "PASSIVE")
			if frames != lastFrames {
				changedAt = time.Now()
			}
			quiet := time.Since(changedAt) >= quietAfter
			if err == nil && frames > 0 && (quiet || frames >= restartFrames) {
				mode := "TRUNCATE"
				if !quiet {
					mode = "PASSIVE"
					frames, err = catchUp(ctx, cp, frames)
					if err == nil {
						frames, err = syncBeforeHold(ctx, cp, file, frames)
					}
				}
				if err == nil {
					frames, err = checkpointAlone(ctx, cp, write, mode)
				}
			}
			if ctx.Err() != nil {
				return
			}
			// Log a failure once, and its end, rather than every round.
			switch {
			case err != nil && failing == nil:
				log.Warn("sqlite: checkpoint failed; the WAL grows until one succeeds", "err", err)
			case err == nil && failing != nil:
				log.Info("sqlite: checkpoints succeed again")
			}
			failing = err
			lastFrames = frames
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// checkpoint runs one checkpoint in mode and returns the WAL's length in
// frames. A checkpoint that could not finish because of readers or the
// writer (busy) is not a failure: the next round goes on from there.
func checkpoint(ctx context.Context, cp *sql.DB, mode string) (frames int, err error) {
	var busy, done int
	err = cp.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &frames, &done)
	return frames, err
}

// catchUpFrames and catchUpRounds bound what a checkpoint that holds the
// writer has left to copy. At 5,000 messages/s the WAL grows by about
// 28,000 frames a second; a round's first checkpoint copied them in
// 70-130 ms while the writer added about 2,000 more, and copying those
// with the writer held stopped every send for 16-28 ms: the talk
// profile's slowest percent. Checkpointing again without the writer
// until a pass finds few new frames leaves the held one little to copy;
// what it still costs is mostly its two syncs (the WAL's, then the
// database file's; see syncBeforeHold), a few ms on this machine's disk.
const (
	catchUpFrames = 256
	catchUpRounds = 8
)

// catchUp checkpoints again, without holding the writer, until a pass
// finds at most catchUpFrames frames added since the one before (frames
// is the WAL's length the last pass saw), or catchUpRounds passes. It
// returns the WAL's length its last pass saw.
func catchUp(ctx context.Context, cp *sql.DB, frames int) (int, error) {
	for range catchUpRounds {
		more, err := checkpoint(ctx, cp, "PASSIVE")
		if err != nil || more < frames || more-frames <= catchUpFrames {
			// more < frames: the WAL started over meanwhile.
			return more, err
		}
		frames = more
	}
	return frames, nil
}

// syncBeforeHold flushes the database file to disk, then catches up
// again, without holding the writer. SQLite syncs the database file only
// when a checkpoint has copied the whole WAL, which under load is the
// held one: the passive passes of the five seconds before left their
// pages dirty in the page cache, and the held pass's sync wrote them all
// out with every send waiting. At 5,000 messages/s (three alternating
// 30 s runs, a hold every 5.5 s) holds took 3.6-32.5 ms, median 9;
// synced first, 0.02-6.8 ms, median 3.7, and p99 send-to-delivery
// 18.9-24.2 ms against 21.9-25.1.
func syncBeforeHold(ctx context.Context, cp *sql.DB, file *os.File, frames int) (int, error) {
	if err := datasync(file); err != nil {
		return frames, err
	}
	return catchUp(ctx, cp, frames)
}

// checkpointAlone runs a checkpoint while holding the write pool's
// connection, between two of the writer's transactions.
func checkpointAlone(ctx context.Context, cp, write *sql.DB, mode string) (int, error) {
	conn, err := write.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return checkpoint(ctx, cp, mode)
}
