package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-chat/kizuna/internal/testdb"
	"github.com/kizuna-chat/kizuna/postgres"
)

// fillRemaining inserts one row into every table the API scenario left
// empty, so the copy is checked on every table and every column type
// (NULLs, BLOBs, booleans both ways, non-ASCII text).
func fillRemaining(t *testing.T, db *sql.DB, w world) {
	t.Helper()
	var tenantID, domainID string
	if err := db.QueryRow("SELECT tenant_id, id FROM domains LIMIT 1").Scan(&tenantID, &domainID); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	inserts := map[string][]any{
		"setup_tokens":        {"INSERT INTO setup_tokens (id, token_hash, created_at) VALUES (1, ?, ?)", []byte{0, 1, 2, 255}, now},
		"sheet_tickets":       {"INSERT INTO sheet_tickets (id, tenant_id, ciphertext, expires_at) VALUES ('st1', ?, ?, ?)", tenantID, []byte("\x00secret\xff"), now},
		"invite_links":        {"INSERT INTO invite_links (id, tenant_id, code_hash, created_by, domain_ids, expires_at, max_uses, uses, revoked_at, created_at) VALUES ('il1', ?, ?, ?, ?, ?, 10, 2, 0, ?)", tenantID, []byte{9, 9}, w.ownerID, domainID, now, now},
		"clients":             {"INSERT INTO clients (id, token_hash, created_at) VALUES ('c1', ?, ?)", []byte{7, 7, 7}, now},
		"domain_aliases":      {"INSERT INTO domain_aliases (name, domain_id, expires_at, created_at) VALUES ('old.example', ?, ?, ?)", domainID, now, now},
		"domain_transfers":    {"INSERT INTO domain_transfers (id, domain_id, from_tenant, to_tenant, created_by, status, created_at, expires_at) VALUES ('dt1', ?, ?, ?, ?, 'cancelled', ?, ?)", domainID, tenantID, tenantID, w.ownerID, now, now},
		"contacts":            {"INSERT INTO contacts (id, requester_id, target_id, pair_low, pair_high, status, created_at, updated_at) VALUES ('ct1', ?, ?, ?, ?, 'accepted', ?, ?)", w.ownerID, w.memberID, min(w.ownerID, w.memberID), max(w.ownerID, w.memberID), now, now},
		"contact_codes":       {"INSERT INTO contact_codes (account_id, code_hash, created_at) VALUES (?, ?, ?)", w.memberID, []byte{1, 2, 3}, now},
		"handovers":           {"INSERT INTO handovers (id, tenant_id, from_id, to_id, status, created_at) VALUES ('h1', ?, ?, ?, 'declined', ?)", tenantID, w.ownerID, w.memberID, now},
		"restricted_members":  {"INSERT INTO restricted_members (account_id, tenant_id, since) VALUES (?, ?, ?)", w.memberID, tenantID, now},
		"tenant_restrictions": {"INSERT INTO tenant_restrictions (tenant_id, hide_boards, limit_directory, no_invite_links, no_external_contacts) VALUES (?, 1, 0, 1, 0)", tenantID},
		"tenant_groups":       {"INSERT INTO tenant_groups (id, tenant_id, name, created_at) VALUES ('g1', ?, '営業部', ?)", tenantID, now},
		"group_members":       {"INSERT INTO group_members (group_id, account_id, role) VALUES ('g1', ?, 'member')", w.memberID},
		"boards":              {"INSERT INTO boards (id, tenant_id, name, allow_restricted, created_at) VALUES ('b1', ?, 'News', 1, ?)", tenantID, now},
		"board_rules":         {"INSERT INTO board_rules (board_id, rights, kind, ref_id) VALUES ('b1', 'read', 'group', 'g1')"},
		"posts":               {"INSERT INTO posts (id, board_id, author_id, title, body, pinned, must_read, created_at, updated_at) VALUES ('p1', 'b1', ?, 'Hello', 'Body', 1, 0, ?, ?)", w.ownerID, now, now},
		"post_comments":       {"INSERT INTO post_comments (id, post_id, author_id, body, created_at) VALUES ('pc1', 'p1', ?, 'Nice', ?)", w.memberID, now},
		"post_reads":          {"INSERT INTO post_reads (post_id, account_id, read_at) VALUES ('p1', ?, ?)", w.memberID, now},
	}
	// Parents before children, as foreign keys require.
	order := []string{"setup_tokens", "sheet_tickets", "invite_links", "clients", "domain_aliases", "domain_transfers", "contacts", "contact_codes",
		"handovers", "restricted_members", "tenant_restrictions", "tenant_groups", "group_members", "boards", "board_rules", "posts", "post_comments", "post_reads"}
	for _, table := range order {
		var n int
		db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n)
		if n > 0 {
			continue
		}
		ins := inserts[table]
		if _, err := db.Exec(ins[0].(string), ins[1:]...); err != nil {
			t.Fatalf("filling %s: %v", table, err)
		}
	}
	// A cancelled tenant with a restore code: a nullable BLOB column set.
	if _, err := db.Exec("UPDATE tenants SET allow_external_personal = 0, restore_code_hash = ? WHERE id = ?", []byte{0xde, 0xad}, tenantID); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateStore fills a SQLite installation through the API (and SQL
// for what the scenario does not reach), moves it into a fresh PostgreSQL
// schema, and reads it back through the store.
func TestMigrateStore(t *testing.T) {
	pgURL := testdb.PostgresSchemaURL(t)
	ctx := context.Background()
	c := DefaultConfig()
	c.DataDir = t.TempDir()
	m, out := runMain(t, c)
	w := populate(t, m, out.String())
	var maxPos int64
	m.Store.WriteDB().QueryRow("SELECT MAX(pos) FROM room_events").Scan(&maxPos)
	m.Close()

	src, err := openSQLiteFile(filepath.Join(c.DataDir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	fillRemaining(t, src, w)
	tx, _ := src.Begin()
	tables, err := sourceTables(ctx, tx)
	tx.Rollback()
	if err != nil {
		t.Fatal(err)
	}
	var empty []string
	for _, tb := range tables {
		var n int
		src.QueryRow("SELECT COUNT(*) FROM " + quoteIdent(tb.name)).Scan(&n)
		if n == 0 {
			empty = append(empty, tb.name)
		}
	}
	src.Close()
	if len(empty) > 0 {
		t.Fatalf("tables without rows (add them to fillRemaining): %s", strings.Join(empty, ", "))
	}

	var progress bytes.Buffer
	start := time.Now()
	results, err := MigrateStore(ctx, c.DataDir, pgURL, &progress)
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, progress.String())
	}
	t.Logf("migrated %d tables in %s", len(results), time.Since(start))
	if len(results) != len(tables) {
		t.Errorf("%d tables verified, %d in the source", len(results), len(tables))
	}
	for _, r := range results {
		if !r.OK() || r.SourceRows == 0 {
			t.Errorf("%s: %+v", r.Table, r)
		}
	}
	var table bytes.Buffer
	printResults(&table, results)
	if !strings.Contains(table.String(), "messages") || strings.Contains(table.String(), "MISMATCH") {
		t.Errorf("results table:\n%s", table.String())
	}

	// The data reads back through the store on PostgreSQL.
	pg, err := postgres.Open(ctx, pgURL, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if n, err := pg.CountTenants(ctx); err != nil || n != 1 {
		t.Errorf("tenants on PostgreSQL: %d %v", n, err)
	}
	acct, err := pg.AccountByAddress(ctx, "hana", "acme.example")
	if err != nil || acct.ID != w.memberID || acct.DisplayName != "Hana 花" {
		t.Errorf("member on PostgreSQL: %+v %v", acct, err)
	}
	var body string
	var mustChange bool
	if err := pg.WriteDB().QueryRow("SELECT body FROM messages WHERE room_id = $1 AND seq = 5", w.roomID).Scan(&body); err != nil || body != "hello 4 🌸" {
		t.Errorf("message on PostgreSQL: %q %v", body, err)
	}
	if err := pg.WriteDB().QueryRow("SELECT must_change_password FROM accounts WHERE id = $1", w.memberID).Scan(&mustChange); err != nil || !mustChange {
		t.Errorf("boolean after a reissue: %v %v", mustChange, err)
	}
	// The event log's sequence continues after the copied positions.
	var pos int64
	if err := pg.WriteDB().QueryRow("INSERT INTO room_events (room_id, kind, created_at) VALUES ($1, 'room.updated', 0) RETURNING pos", w.roomID).Scan(&pos); err != nil || pos <= maxPos {
		t.Errorf("next event position %d (copied up to %d): %v", pos, maxPos, err)
	}

	// A target with data is refused, whatever it holds.
	if _, err := MigrateStore(ctx, c.DataDir, pgURL, &progress); !errors.Is(err, errTargetHasData) {
		t.Errorf("second migration into the same database: %v", err)
	}
}
