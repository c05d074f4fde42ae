package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"iter"
	"math/bits"
	"sync"
)

// maxCachedStmts bounds the statements kept prepared on the write pool.
// The talk writer needs about sixty (its batch statements come in
// power-of-two sizes, see padded and runs), so the bound only matters if a caller
// starts sending texts that vary without limit.
const maxCachedStmts = 128

// stmtCache keeps statements prepared on the write pool across
// transactions, keyed by query text. A transaction takes one with
// Tx.StmtContext, which reuses the driver statement already prepared on the
// transaction's connection; with SQLite's single write connection that is
// always the case, so a hot statement is parsed once per process instead
// of once per transaction (parsing a multi-row insert cost as much as
// running it).
type stmtCache struct {
	pool *sql.DB

	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	closed bool
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, stmts: map[string]*sql.Stmt{}}
}

// get returns the statement prepared for query (in the engine's
// placeholder style), or nil.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[query]
}

// prepare prepares queries on the pool and keeps them. It must run outside
// any transaction on the pool: SQLite's pool has one connection, and a
// transaction holding it would wait for itself. A query that fails to
// prepare is skipped; the next transaction prepares it for itself again.
func (c *stmtCache) prepare(ctx context.Context, queries []string) {
	for _, q := range queries {
		if c.get(q) != nil {
			continue
		}
		s, err := c.pool.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.closed || c.stmts[q] != nil {
			c.mu.Unlock()
			s.Close()
			continue
		}
		if len(c.stmts) >= maxCachedStmts {
			// Evict any one: closing a statement a running transaction
			// took is safe, database/sql closes the driver statement
			// when that transaction ends.
			for k, old := range c.stmts {
				old.Close()
				delete(c.stmts, k)
				break
			}
		}
		c.stmts[q] = s
		c.mu.Unlock()
	}
}

// close closes every statement; later prepares are dropped.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for k, s := range c.stmts {
		errs = append(errs, s.Close())
		delete(c.stmts, k)
	}
	return errors.Join(errs...)
}

// padded returns the number of rows to give a lookup over n keys (n ≥
// 1): the next power of two, filled by repeating the last key (padRows).
// A batch's lookups then have one of a handful of texts whatever its
// length, so they are prepared once and kept, where exact lengths gave
// almost every batch new texts to parse. (Splitting lookups into runs, as
// inserts are, measured slower: a repeated key is a bind and a search in
// pages already in cache, cheaper than more executions.)
func padded(n int) int { return 1 << bits.Len(uint(n-1)) }

// padRows repeats the last row of args, width values long, until args
// holds n rows. The repeated values are the same interfaces, not new ones.
func padRows(args []any, width, n int) []any {
	last := args[len(args)-width:]
	for len(args) < n*width {
		args = append(args, last...)
	}
	return args
}

// runs splits s into consecutive runs whose lengths are powers of two of
// at most max (itself a power of two): 300 items with max 128 go in runs
// of 128, 128, 32, 8 and 4. Inserts cannot be padded with repeated rows as
// lookups are; this bounds their texts the same way, at the cost of a few
// more executions.
func runs[T any](s []T, max int) iter.Seq[[]T] {
	return func(yield func([]T) bool) {
		for _, n := range pieces(len(s), max) {
			if !yield(s[:n]) {
				return
			}
			s = s[n:]
		}
	}
}

// pieces returns the run lengths of runs.
func pieces(n, max int) []int {
	var out []int
	for ; n >= max; n -= max {
		out = append(out, max)
	}
	for bit := max >> 1; bit > 0; bit >>= 1 {
		if n&bit != 0 {
			out = append(out, bit)
		}
	}
	return out
}
