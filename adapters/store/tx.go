package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

type txKey struct{}
type afterCommitKey struct{}

// InTx implements kernel.Tx: it runs fn in a transaction carried by ctx;
// a nested call joins the transaction already in ctx. Functions registered
// with AfterCommit run once the outermost transaction has committed.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return fn(ctx)
	}
	var after []func()
	err := db.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		after = after[:0] // a retried body starts afresh
		ctx = context.WithValue(ctx, afterCommitKey{}, &after)
		return fn(context.WithValue(ctx, txKey{}, tx))
	})
	if err == nil {
		for _, f := range after {
			f()
		}
	}
	return err
}

// AfterCommit runs f once the transaction in ctx has committed (never if it
// rolls back); without a transaction it runs f at once. For in-process
// wake-ups only: f must not fail and must not touch the database.
func AfterCommit(ctx context.Context, f func()) {
	if after, ok := ctx.Value(afterCommitKey{}).(*[]func()); ok {
		*after = append(*after, f)
		return
	}
	f()
}

// Conn returns the transaction in ctx, or the database when there is none.
// Every repository query runs on it.
func (db *DB) Conn(ctx context.Context) bun.IDB {
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return tx
	}
	return db.Bun
}

// QueryRow runs a one-row read written with ? placeholders and scans it
// into dest; no row is sql.ErrNoRows (see IsNoRows). Outside a transaction
// on Postgres it goes straight to pgx's pool: on hot paths (every agent
// poll) bun's and database/sql's layers cost more than the query itself
// (bench/events). Such reads carry no bun query span.
func (db *DB) QueryRow(ctx context.Context, query string, args []any, dest ...any) error {
	if _, inTx := ctx.Value(txKey{}).(bun.Tx); !inTx && db.Pool != nil {
		err := db.Pool.QueryRow(ctx, dollarPlaceholders(query), args...).Scan(dest...)
		if errors.Is(err, pgx.ErrNoRows) {
			return sql.ErrNoRows
		}
		return err
	}
	return db.Conn(ctx).QueryRowContext(ctx, query, args...).Scan(dest...)
}

// dollarQueries remembers dollarPlaceholders' answers: QueryRow's queries
// are constants, so this holds one entry per statement.
var dollarQueries sync.Map // string → string

// dollarPlaceholders turns ? placeholders into $1, $2, … (the queries
// passed to QueryRow hold no other question marks).
func dollarPlaceholders(q string) string {
	if d, ok := dollarQueries.Load(q); ok {
		return d.(string)
	}
	d := toDollars(q)
	dollarQueries.Store(q, d)
	return d
}

func toDollars(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// SQLTx returns the *sql.Tx in ctx, for River's InsertTx.
func SQLTx(ctx context.Context) (*sql.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(bun.Tx)
	if !ok {
		return nil, false
	}
	return tx.Tx, true
}

// IsUniqueViolation reports a unique constraint failure on either database.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsNoRows reports an empty single-row result.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
