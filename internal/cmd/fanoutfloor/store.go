package main

import (
	"database/sql"
	"fmt"
	"log"
	"net/url"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite"
)

// store is the least any durable chat server does per message with the
// embedded store: one row in one B-tree keyed by (room, seq), written by
// a single writer that commits whatever has arrived in one transaction
// (WAL, synchronous=NORMAL, as Kizuna's store), and each message
// delivered and acked only after its commit. As in Kizuna, a publisher
// delivers one batch while the writer commits the next, and the WAL is
// copied back into the database by a checkpointer on a connection of its
// own, not by the writer's commits (this floor never starts the WAL over,
// which Kizuna does every 512 MiB, holding its writer for a moment). No
// dedup index, no event log, no membership lookup, no JSON: what Kizuna
// adds beyond this is its own.
type store struct {
	db *sql.DB
	in chan received
	// inserts are the multi-row inserts by row count, prepared once, as
	// Kizuna keeps its writer's statements: parsing one costs about as
	// much as running it.
	inserts map[int]*sql.Stmt
}

// insert returns the statement inserting n rows.
func (s *store) insert(n int) (*sql.Stmt, error) {
	if st := s.inserts[n]; st != nil {
		return st, nil
	}
	st, err := s.db.Prepare("INSERT INTO messages (room, seq, body) VALUES " + strings.Repeat("(?, ?, ?), ", n-1) + "(?, ?, ?)")
	if err == nil {
		s.inserts[n] = st
	}
	return st, err
}

// received is a message waiting for its commit.
type received struct {
	sender int
	msg    []byte
}

// removeDatabase removes an SQLite database and its WAL files.
func removeDatabase(path string) {
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		os.Remove(f)
	}
}

func openStore(path string) (*store, error) {
	removeDatabase(path)
	v := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "temp_store(MEMORY)", "cache_size(-32768)"} {
		v.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode()+"&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE messages (room INTEGER NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (room, seq)) WITHOUT ROWID`); err != nil {
		return nil, fmt.Errorf("fanoutfloor: %w", err)
	}
	cp, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(100)")
	if err != nil {
		return nil, err
	}
	cp.SetMaxOpenConns(1)
	go func() {
		for range time.Tick(250 * time.Millisecond) {
			cp.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}()
	return &store{db: db, in: make(chan received, 4096), inserts: map[int]*sql.Stmt{}}, nil
}

// run commits what has arrived, then delivers it, until the process ends.
func (s *store) run(roomSize int, deliver func(sender int, msg []byte)) {
	committed := make(chan []received, 4)
	go func() {
		for batch := range committed {
			for _, r := range batch {
				deliver(r.sender, r.msg)
			}
		}
	}()
	seq := map[int]int64{}
	var args []any
	for r := range s.in {
		batch := []received{r}
	gather:
		for len(batch) < 256 {
			select {
			case r := <-s.in:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		args = args[:0]
		for _, r := range batch {
			room := r.sender / roomSize
			seq[room]++
			args = append(args, room, seq[room], r.msg)
		}
		// Prepared before the transaction: the pool's one connection is
		// the transaction's once it begins.
		insert, err := s.insert(len(batch))
		if err != nil {
			log.Fatalf("fanoutfloor: preparing an insert: %v", err)
		}
		tx, err := s.db.Begin()
		if err == nil {
			if _, err = tx.Stmt(insert).Exec(args...); err == nil {
				err = tx.Commit()
			} else {
				tx.Rollback()
			}
		}
		if err != nil {
			log.Fatalf("fanoutfloor: storing a batch: %v", err)
		}
		committed <- batch
	}
}
