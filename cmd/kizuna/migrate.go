package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kizuna-chat/kizuna/postgres"
	"github.com/kizuna-chat/kizuna/sqlite"
	"github.com/kizuna-chat/kizuna/sqlstore"
)

// progressEvery is how many rows of one table pass between progress lines.
const progressEvery = 100_000

func runMigrateStore(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("kizuna migrate-store", flag.ContinueOnError)
	var from, to string
	fs.StringVar(&from, "from", "", "the SQLite store: its data directory or its kizuna.db file")
	fs.StringVar(&to, "to", "", "postgres:// URL of the target database (empty, or freshly created)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if from == "" || to == "" {
		return errors.New("migrate-store: --from (SQLite data directory or file) and --to (postgres:// URL) are required")
	}
	if c := (Config{DatabaseURL: to}); !c.UsesPostgres() {
		return errors.New("migrate-store: --to must be a postgres:// or postgresql:// URL")
	}
	start := time.Now()
	results, err := MigrateStore(ctx, from, to, out)
	if results != nil {
		printResults(out, results)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "migrated %d tables in %s; point KIZUNA_DATABASE_URL at the target and start kizuna serve\n", len(results), time.Since(start).Round(time.Millisecond))
	return nil
}

// Errors of MigrateStore.
var (
	errTargetHasData  = errors.New("the target database already holds Kizuna data")
	errVerifyMismatch = errors.New("the copy does not match the source")
)

// TableResult is the verification of one table.
type TableResult struct {
	Table                  string
	SourceRows, TargetRows int64
	SourceSum, TargetSum   string
}

// OK reports whether both sides hold the same rows.
func (r TableResult) OK() bool {
	return r.SourceRows == r.TargetRows && r.SourceSum == r.TargetSum
}

// table is one table to copy, as both engines describe it.
type table struct {
	name    string
	columns []string
	// kinds are the target's column types, which decide how source values
	// are converted (SQLite keeps booleans as 0/1).
	kinds []colKind
	// key lists the primary key's column indexes, in key order.
	key  []int
	deps []string
}

type colKind int

const (
	kindInt colKind = iota
	kindBool
	kindText
	kindBytes
	kindFloat
)

// MigrateStore copies the SQLite store at from (a data directory or the
// database file) into the PostgreSQL database at to, then verifies every
// table. The target is migrated to this binary's schema and must hold no
// Kizuna rows. All rows are copied in one PostgreSQL transaction, so a
// failed run leaves the target empty and can simply be run again. The
// source is read in one SQLite read transaction (a consistent snapshot);
// stop the server first, or writes made after the snapshot are not copied.
func MigrateStore(ctx context.Context, from, to string, progress io.Writer) ([]TableResult, error) {
	path := from
	if st, err := os.Stat(from); err != nil {
		return nil, fmt.Errorf("migrate-store: the source: %w", err)
	} else if st.IsDir() {
		path = filepath.Join(from, dbFile)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("migrate-store: no Kizuna store in %s: %w", from, err)
		}
	}
	src, err := openSQLiteFile(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if err := sameSchema(ctx, src); err != nil {
		return nil, err
	}

	// postgres.Open applies the migrations (and refuses a newer schema);
	// the rows are then copied on a plain pgx connection for COPY.
	pgStore, err := postgres.Open(ctx, to, postgres.Options{MaxConns: 2})
	if err != nil {
		return nil, fmt.Errorf("migrate-store: the target: %w", err)
	}
	pgStore.Close()
	dst, err := pgx.Connect(ctx, to)
	if err != nil {
		return nil, fmt.Errorf("migrate-store: the target: %w", err)
	}
	defer dst.Close(context.WithoutCancel(ctx))
	if err := refuseNonEmpty(ctx, dst); err != nil {
		return nil, err
	}

	// One read transaction holds the snapshot for the copy and the
	// verification alike.
	rtx, err := src.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate-store: %w", err)
	}
	defer rtx.Rollback()
	tables, err := sourceTables(ctx, rtx)
	if err != nil {
		return nil, err
	}
	if err := describeTarget(ctx, dst, tables); err != nil {
		return nil, err
	}
	tables, err = dependencyOrder(tables)
	if err != nil {
		return nil, err
	}

	wtx, err := dst.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate-store: %w", err)
	}
	defer wtx.Rollback(context.WithoutCancel(ctx))
	for _, t := range tables {
		if err := copyTable(ctx, rtx, wtx, t, progress); err != nil {
			return nil, fmt.Errorf("migrate-store: copying %s: %w", t.name, err)
		}
	}
	if err := resetSequences(ctx, wtx); err != nil {
		return nil, err
	}
	if err := wtx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("migrate-store: committing: %w", err)
	}

	fmt.Fprintln(progress, "verifying…")
	var results []TableResult
	failed := false
	for _, t := range tables {
		r := TableResult{Table: t.name}
		if r.SourceRows, r.SourceSum, err = checksumSQLite(ctx, rtx, t); err != nil {
			return results, fmt.Errorf("migrate-store: verifying %s in SQLite: %w", t.name, err)
		}
		if r.TargetRows, r.TargetSum, err = checksumPostgres(ctx, dst, t); err != nil {
			return results, fmt.Errorf("migrate-store: verifying %s in PostgreSQL: %w", t.name, err)
		}
		failed = failed || !r.OK()
		results = append(results, r)
	}
	if failed {
		return results, errVerifyMismatch
	}
	return results, nil
}

// sameSchema refuses a source whose schema differs from this binary's: the
// target is migrated to this binary's schema, and the columns must match.
func sameSchema(ctx context.Context, src *sql.DB) error {
	v, err := sqlstore.New(src, src, sqlite.Dialect()).SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate-store: reading the source's schema version: %w", err)
	}
	newest, err := newestSchema(sqlite.Dialect())
	if err != nil {
		return err
	}
	if v > newest {
		return fmt.Errorf("%w: the SQLite store is at schema version %d, this binary knows up to %d; use a newer Kizuna", sqlstore.ErrSchemaTooNew, v, newest)
	}
	if v < newest {
		return fmt.Errorf("migrate-store: the SQLite store is at schema version %d, this binary at %d: start this version's kizuna serve on it once (it migrates the store), stop it, and run migrate-store again", v, newest)
	}
	return nil
}

// refuseNonEmpty refuses a target with a row in any of its tables: merging
// two installations is not a copy.
func refuseNonEmpty(ctx context.Context, dst *pgx.Conn) error {
	rows, err := dst.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'goose_db_version' ORDER BY table_name`)
	if err != nil {
		return fmt.Errorf("migrate-store: listing the target's tables: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("migrate-store: listing the target's tables: %w", err)
	}
	var full []string
	for _, n := range names {
		var has bool
		if err := dst.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+pgx.Identifier{n}.Sanitize()+")").Scan(&has); err != nil {
			return fmt.Errorf("migrate-store: reading %s: %w", n, err)
		}
		if has {
			full = append(full, n)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w (rows in %s): migrate into a new, empty database", errTargetHasData, strings.Join(full, ", "))
	}
	return nil
}

// sourceTables lists the SQLite store's tables (without the migration
// tool's own) with their columns, primary keys and references.
func sourceTables(ctx context.Context, tx *sql.Tx) ([]*table, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("migrate-store: listing tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var tables []*table
	for _, n := range names {
		t := &table{name: n}
		type keyCol struct{ pos, idx int }
		var keys []keyCol
		rows, err := tx.QueryContext(ctx, "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", n)
		if err != nil {
			return nil, fmt.Errorf("migrate-store: describing %s: %w", n, err)
		}
		for rows.Next() {
			var col string
			var pk int
			if err := rows.Scan(&col, &pk); err != nil {
				rows.Close()
				return nil, err
			}
			if pk > 0 {
				keys = append(keys, keyCol{pk, len(t.columns)})
			}
			t.columns = append(t.columns, col)
		}
		rows.Close()
		sort.Slice(keys, func(i, j int) bool { return keys[i].pos < keys[j].pos })
		for _, k := range keys {
			t.key = append(t.key, k.idx)
		}
		if len(t.key) == 0 {
			// No primary key: every column orders the rows.
			for i := range t.columns {
				t.key = append(t.key, i)
			}
		}
		rows, err = tx.QueryContext(ctx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, n)
		if err != nil {
			return nil, fmt.Errorf("migrate-store: describing %s: %w", n, err)
		}
		for rows.Next() {
			var ref string
			if err := rows.Scan(&ref); err != nil {
				rows.Close()
				return nil, err
			}
			if ref != n {
				t.deps = append(t.deps, ref)
			}
		}
		rows.Close()
		tables = append(tables, t)
	}
	return tables, nil
}

// describeTarget reads the target's column types and checks that both
// sides have the same tables and columns.
func describeTarget(ctx context.Context, dst *pgx.Conn, tables []*table) error {
	for _, t := range tables {
		rows, err := dst.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1`, t.name)
		if err != nil {
			return fmt.Errorf("migrate-store: describing %s in the target: %w", t.name, err)
		}
		types := map[string]string{}
		for rows.Next() {
			var col, typ string
			if err := rows.Scan(&col, &typ); err != nil {
				rows.Close()
				return err
			}
			types[col] = typ
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(types) == 0 {
			return fmt.Errorf("migrate-store: the target has no table %s", t.name)
		}
		if len(types) != len(t.columns) {
			return fmt.Errorf("migrate-store: %s has %d columns in SQLite and %d in PostgreSQL", t.name, len(t.columns), len(types))
		}
		t.kinds = make([]colKind, len(t.columns))
		for i, col := range t.columns {
			typ, ok := types[col]
			if !ok {
				return fmt.Errorf("migrate-store: the target's %s has no column %s", t.name, col)
			}
			switch typ {
			case "bigint", "integer", "smallint":
				t.kinds[i] = kindInt
			case "boolean":
				t.kinds[i] = kindBool
			case "text", "character varying", "character":
				t.kinds[i] = kindText
			case "bytea":
				t.kinds[i] = kindBytes
			case "double precision", "real":
				t.kinds[i] = kindFloat
			default:
				return fmt.Errorf("migrate-store: %s.%s has type %s in the target, which this tool does not convert", t.name, col, typ)
			}
		}
	}
	return nil
}

// dependencyOrder sorts tables so that every table comes after the tables
// it references (foreign keys are checked row by row as they are copied).
func dependencyOrder(tables []*table) ([]*table, error) {
	byName := map[string]*table{}
	for _, t := range tables {
		byName[t.name] = t
	}
	var order []*table
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(t *table) error
	visit = func(t *table) error {
		switch state[t.name] {
		case 1:
			return fmt.Errorf("migrate-store: the tables' references form a cycle through %s", t.name)
		case 2:
			return nil
		}
		state[t.name] = 1
		deps := append([]string(nil), t.deps...)
		sort.Strings(deps)
		for _, d := range deps {
			if dt, ok := byName[d]; ok {
				if err := visit(dt); err != nil {
					return err
				}
			}
		}
		state[t.name] = 2
		order = append(order, t)
		return nil
	}
	for _, t := range tables {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// copyTable streams one table into the target with COPY.
func copyTable(ctx context.Context, rtx *sql.Tx, wtx pgx.Tx, t *table, progress io.Writer) error {
	start := time.Now()
	rows, err := rtx.QueryContext(ctx, "SELECT "+quoteList(t.columns)+" FROM "+quoteIdent(t.name))
	if err != nil {
		return err
	}
	defer rows.Close()
	src := &rowSource{rows: rows, t: t, progress: progress, raw: make([]any, len(t.columns))}
	n, err := wtx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, src)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "copied %-22s %10d rows in %s\n", t.name, n, time.Since(start).Round(time.Millisecond))
	return nil
}

// rowSource feeds SQLite rows to COPY, converted to the target's types.
type rowSource struct {
	rows     *sql.Rows
	t        *table
	progress io.Writer
	raw      []any
	vals     []any
	n        int64
	err      error
}

func (s *rowSource) Next() bool {
	if s.err != nil || !s.rows.Next() {
		return false
	}
	ptrs := make([]any, len(s.raw))
	for i := range s.raw {
		ptrs[i] = &s.raw[i]
	}
	if s.err = s.rows.Scan(ptrs...); s.err != nil {
		return false
	}
	s.vals, s.err = convertRow(s.t, s.raw)
	if s.err != nil {
		return false
	}
	s.n++
	if s.n%progressEvery == 0 {
		fmt.Fprintf(s.progress, "copying %s: %d rows…\n", s.t.name, s.n)
	}
	return true
}

func (s *rowSource) Values() ([]any, error) { return s.vals, nil }

func (s *rowSource) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.rows.Err()
}

// convertRow turns a row as SQLite returns it into the target's Go types.
// Anything that would not survive exactly (a boolean column holding 2, a
// fraction in an integer column) is an error, never rounded.
func convertRow(t *table, raw []any) ([]any, error) {
	out := make([]any, len(raw))
	for i, v := range raw {
		c, err := convertValue(t.kinds[i], v)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", t.columns[i], err)
		}
		out[i] = c
	}
	return out, nil
}

func convertValue(k colKind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kindInt:
		if n, ok := v.(int64); ok {
			return n, nil
		}
	case kindBool:
		if n, ok := v.(int64); ok && (n == 0 || n == 1) {
			return n == 1, nil
		}
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case kindText:
		switch s := v.(type) {
		case string:
			return s, nil
		case []byte:
			return string(s), nil
		}
	case kindBytes:
		switch b := v.(type) {
		case []byte:
			return b, nil
		case string:
			return []byte(b), nil
		}
	case kindFloat:
		switch f := v.(type) {
		case float64:
			return f, nil
		case int64:
			return float64(f), nil
		}
	}
	return nil, fmt.Errorf("value %v of type %T does not fit the target's column", v, v)
}

// resetSequences moves every serial column's sequence past the copied
// rows, so the next insert (room_events.pos) does not collide.
func resetSequences(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name)
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("migrate-store: listing sequences: %w", err)
	}
	type seq struct{ table, column, name string }
	seqs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (seq, error) {
		var s seq
		return s, r.Scan(&s.table, &s.column, &s.name)
	})
	if err != nil {
		return fmt.Errorf("migrate-store: listing sequences: %w", err)
	}
	for _, s := range seqs {
		q := fmt.Sprintf("SELECT setval($1, COALESCE(MAX(%s), 0) + 1, false) FROM %s", pgx.Identifier{s.column}.Sanitize(), pgx.Identifier{s.table}.Sanitize())
		if _, err := tx.Exec(ctx, q, s.name); err != nil {
			return fmt.Errorf("migrate-store: resetting %s: %w", s.name, err)
		}
	}
	return nil
}

// checksumSQLite counts and hashes a table's rows in key order.
func checksumSQLite(ctx context.Context, tx *sql.Tx, t *table) (int64, string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+quoteList(t.columns)+" FROM "+quoteIdent(t.name)+" ORDER BY "+orderBy(t, false))
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	h := sha256.New()
	raw := make([]any, len(t.columns))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	var n int64
	var buf []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, "", err
		}
		vals, err := convertRow(t, raw)
		if err != nil {
			return 0, "", err
		}
		if buf, err = appendCanonical(buf[:0], vals); err != nil {
			return 0, "", err
		}
		h.Write(buf)
		n++
	}
	return n, hex.EncodeToString(h.Sum(nil)), rows.Err()
}

// checksumPostgres counts and hashes a table's rows in the same order and
// rendering as checksumSQLite.
func checksumPostgres(ctx context.Context, conn *pgx.Conn, t *table) (int64, string, error) {
	cols := make([]string, len(t.columns))
	for i, c := range t.columns {
		cols[i] = pgx.Identifier{c}.Sanitize()
	}
	rows, err := conn.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+pgx.Identifier{t.name}.Sanitize()+" ORDER BY "+orderBy(t, true))
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	h := sha256.New()
	var n int64
	var buf []byte
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return 0, "", err
		}
		for i, v := range vals {
			switch x := v.(type) {
			case int16:
				vals[i] = int64(x)
			case int32:
				vals[i] = int64(x)
			case float32:
				vals[i] = float64(x)
			}
		}
		if buf, err = appendCanonical(buf[:0], vals); err != nil {
			return 0, "", err
		}
		h.Write(buf)
		n++
	}
	return n, hex.EncodeToString(h.Sum(nil)), rows.Err()
}

// orderBy orders by the primary key. Text keys compare bytes on both
// sides (SQLite's BINARY collation, PostgreSQL's "C"), since the
// database's own collation would order them differently.
func orderBy(t *table, postgres bool) string {
	parts := make([]string, len(t.key))
	for i, k := range t.key {
		if postgres {
			parts[i] = pgx.Identifier{t.columns[k]}.Sanitize()
			if t.kinds[k] == kindText {
				parts[i] += ` COLLATE "C"`
			}
		} else {
			parts[i] = quoteIdent(t.columns[k])
		}
	}
	return strings.Join(parts, ", ")
}

// appendCanonical renders a row unambiguously: a type tag per value,
// lengths before strings and bytes, so no two different rows render alike.
func appendCanonical(b []byte, vals []any) ([]byte, error) {
	for _, v := range vals {
		switch x := v.(type) {
		case nil:
			b = append(b, 'N')
		case bool:
			if x {
				b = append(b, 'T')
			} else {
				b = append(b, 'F')
			}
		case int64:
			b = append(b, 'i')
			b = strconv.AppendInt(b, x, 10)
		case float64:
			b = append(b, 'f')
			b = strconv.AppendFloat(b, x, 'g', -1, 64)
		case string:
			b = append(b, 's')
			b = strconv.AppendInt(b, int64(len(x)), 10)
			b = append(b, ':')
			b = append(b, x...)
		case []byte:
			b = append(b, 'b')
			b = strconv.AppendInt(b, int64(len(x)), 10)
			b = append(b, ':')
			b = append(b, x...)
		default:
			return nil, fmt.Errorf("unexpected value type %T", v)
		}
		b = append(b, ';')
	}
	return append(b, '\n'), nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = quoteIdent(c)
	}
	return strings.Join(q, ", ")
}

// printResults prints the verification table.
func printResults(out io.Writer, results []TableResult) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSQLITE ROWS\tPOSTGRES ROWS\tCHECKSUM\tRESULT")
	for _, r := range results {
		result := "ok"
		if !r.OK() {
			result = "MISMATCH"
		}
		sum := r.SourceSum
		if len(sum) > 12 {
			sum = sum[:12]
		}
		if r.SourceSum != r.TargetSum {
			sum = "differs"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", r.Table, r.SourceRows, r.TargetRows, sum, result)
	}
	tw.Flush()
}
