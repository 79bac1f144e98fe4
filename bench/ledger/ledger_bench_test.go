// Package ledger_test benchmarks the ledger's hot paths (hold and payout)
// beside a raw-SQL baseline that runs the same statements, in the same
// order, in one transaction per operation, without bun or the facade.
//
// Run them with `make bench`, which interleaves three rounds and writes the
// medians and ratios to docs/PERFORMANCE.md. By hand:
//
//	go test -run '^$' -bench BenchmarkLedger -benchmem ./bench/ledger
//
// Postgres (127.0.0.1:5432 or DATABASE_URL) is required; each run gets a
// fresh schema, dropped at the end. SQLite runs in a temporary directory.
// HEEPR_BENCH_FLIP=1 runs heepr before the baseline in every pair (the
// runner alternates it between rounds so neither side always goes first).
//
// TestBaselineMatchesHeepr (baseline_test.go, part of `make test`) fails
// when heepr's statements and the baseline's drift apart.
package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/ledgertest"
)

const (
	amount   = 100               // points per order
	funding  = 1_000_000_000_000 // starter points of every benchmark wallet
	wallets  = 16                // funded customers (and owners) for the parallel runs
	prepStep = 500               // holds per setup transaction before a payout run
)

// env is one database with heepr's ledger and the baseline on it.
type env struct {
	name      string
	db        *store.DB
	svc       *ledger.Service // production wiring: ledger.New(db, store.NewLedger(db), clock, cfg)
	raw       rawDB           // the baseline
	customers []kernel.UserID // funded wallets
	owners    []kernel.UserID // payees
}

func BenchmarkLedger(b *testing.B) {
	ctx := context.Background()
	pg := openEnv(b, store.Config{DatabaseURL: storetest.PostgresURL(), Schema: storetest.NewSchema(b)}) // production pool size
	var version string
	if err := pg.db.Bun.QueryRowContext(ctx, "SHOW server_version").Scan(&version); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("postgres-version: %s\n", version)
	envs := []*env{pg, openEnv(b, store.Config{DataDir: b.TempDir()})}
	impls := []string{"baseline", "heepr"}
	if os.Getenv("HEEPR_BENCH_FLIP") == "1" {
		impls = []string{"heepr", "baseline"}
	}
	for _, e := range envs {
		e.fund(b, ctx)
		b.Run(e.name, func(b *testing.B) {
			for _, path := range []string{"hold", "payout"} {
				b.Run(path, func(b *testing.B) {
					for _, mode := range []string{"serial", "parallel"} {
						b.Run(mode, func(b *testing.B) {
							for _, impl := range impls {
								b.Run(impl, func(b *testing.B) { e.bench(b, path, mode, impl == "heepr") })
							}
						})
					}
				})
			}
		})
	}
}

// openEnv opens and migrates cfg's database (Postgres when it has a URL)
// and the baseline's connections to it.
func openEnv(tb testing.TB, cfg store.Config) *env {
	ctx := context.Background()
	db, err := store.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate (is Postgres at %s up?): %v", storetest.PostgresURL(), err)
	}
	if db.Dialect == store.SQLite {
		// The baseline uses heepr's own *sql.DB (one connection, the same
		// pragmas and BEGIN IMMEDIATE), just without bun.
		return newEnv("sqlite", db, sqliteRaw{db.SQL})
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		tb.Fatal(err)
	}
	// The connection settings heepr's pool gets in store.Open.
	pcfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pcfg.ConnConfig.RuntimeParams["search_path"] = cfg.Schema
	pcfg.MaxConns = 20
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return newEnv("postgres", db, pgRaw{pool})
}

func newEnv(name string, db *store.DB, raw rawDB) *env {
	return &env{name: name, db: db, raw: raw,
		svc: ledgertest.New(db, kernel.SystemClock{}, ledger.Config{StarterPoints: 1000, ReviewRewardPoints: 10})}
}

// fund opens the wallets the benchmarks use: customers get a large starter grant.
func (e *env) fund(tb testing.TB, ctx context.Context) {
	funder := ledgertest.New(e.db, kernel.SystemClock{}, ledger.Config{StarterPoints: funding})
	for range wallets {
		c, o := kernel.UserID(kernel.NewID()), kernel.UserID(kernel.NewID())
		if err := funder.GrantStarter(ctx, c); err != nil {
			tb.Fatal(err)
		}
		e.customers, e.owners = append(e.customers, c), append(e.owners, o)
	}
}

func (e *env) bench(b *testing.B, path, mode string, heepr bool) {
	ctx := context.Background()
	var orders []string
	if path == "payout" {
		orders = e.prepareHolds(b, b.N)
	}
	op := func(i int, who int) error {
		switch {
		case path == "hold" && heepr:
			return e.svc.Hold(ctx, kernel.NewID(), e.customers[who], amount)
		case path == "hold":
			return e.raw.hold(ctx, kernel.NewID(), e.customers[who], amount)
		case heepr:
			_, err := e.svc.Payout(ctx, orders[i], e.owners[who])
			return err
		default:
			return e.raw.payout(ctx, orders[i], e.owners[who])
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	defer func() {
		if used := processCPU() - cpu; used > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}()
	if mode == "serial" {
		for i := range b.N {
			if err := op(i, 0); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	// Parallel: GOMAXPROCS goroutines, each its own customer and owner
	// (different users ordering at once), sharing the connection pool.
	var next, worker atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		who := int(worker.Add(1)-1) % wallets
		for pb.Next() {
			if err := op(int(next.Add(1)-1), who); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// prepareHolds places n holds (from the first customer) for a payout run,
// prepStep per transaction, through the baseline statements.
func (e *env) prepareHolds(b testing.TB, n int) []string {
	b.Helper()
	ctx := context.Background()
	orders := make([]string, n)
	for i := range orders {
		orders[i] = kernel.NewID()
	}
	for lo := 0; lo < n; lo += prepStep {
		chunk := orders[lo:min(lo+prepStep, n)]
		if err := e.raw.inTx(ctx, func(tx rawTx) error {
			for _, o := range chunk {
				if err := holdTx(ctx, tx, o, e.customers[0], amount); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	return orders
}

// The baseline: the statements heepr's store emits (adapters/store/ledger.go,
// as bun renders them; see a query hook), with bind parameters.

type rawDB interface {
	inTx(ctx context.Context, fn func(rawTx) error) error
	hold(ctx context.Context, order string, customer kernel.UserID, amount int64) error
	payout(ctx context.Context, order string, owner kernel.UserID) error
}

// rawTx is a transaction of either driver. exec returns the rows affected;
// queryInt returns the first column of the first row, if any (draining the rest).
type rawTx interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	queryInt(ctx context.Context, q string, args ...any) (v int64, found bool, err error)
	lock(ctx context.Context, q string, id string) (balance int64, found bool, err error)
	row(ctx context.Context, q string, dest []any, args ...any) error // one row, scanned into dest
	postgres() bool
	ts(t time.Time) any // a timestamp as the driver gets it from bun
	sql(pgSQL, lite string) string
}

const (
	qOpenEscrow = `INSERT INTO "ledger_accounts" AS "account_row" ("id", "kind", "user_id", "order_id", "balance", "created_at") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`
	// bun renders a nil *string as DEFAULT on Postgres (and returns it), NULL on SQLite.
	qOpenWalletPG   = `INSERT INTO "ledger_accounts" AS "account_row" ("id", "kind", "user_id", "order_id", "balance", "created_at") VALUES ($1, $2, $3, DEFAULT, $4, $5) ON CONFLICT DO NOTHING RETURNING "order_id"`
	qOpenWalletLite = `INSERT INTO "ledger_accounts" AS "account_row" ("id", "kind", "user_id", "order_id", "balance", "created_at") VALUES (?1, ?2, ?3, NULL, ?4, ?5) ON CONFLICT DO NOTHING RETURNING "order_id"`
	// A transfer's steps on SQLite (Postgres runs store.PGTransferStatement instead).
	qPosting = `INSERT INTO "ledger_postings" AS "posting_row" ("id", "kind", "order_id", "effect_key", "from_account", "to_account", "amount", "memo", "created_at") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`
	qCredit  = `UPDATE "ledger_accounts" AS "account_row" SET balance = balance + $1 WHERE (id = $2) RETURNING balance`
	qDebit   = `UPDATE "ledger_accounts" AS "account_row" SET balance = balance + $1 WHERE (id = $2) AND ((balance >= $3 OR kind = 'mint')) RETURNING balance`
	qEntries = `INSERT INTO "ledger_entries" ("id", "posting_id", "account_id", "amount", "balance_after", "created_at") VALUES ($1, $2, $3, $4, $5, $6), ($7, $8, $9, $10, $11, $12)`
	// (On Postgres a transfer is store.PGTransferStatement: heepr's own one
	// statement, replayed through pgx.)
	// store.Ledger.Lock of one account: FOR UPDATE on Postgres; SQLite's
	// transaction already holds the write lock.
	qLockPG   = `SELECT "account_row"."id", "account_row"."balance" FROM "ledger_accounts" AS "account_row" WHERE (id IN ($1)) ORDER BY id FOR UPDATE`
	qLockLite = `SELECT "account_row"."id", "account_row"."balance" FROM "ledger_accounts" AS "account_row" WHERE (id IN (?1)) ORDER BY id`
)

var errBaseline = errors.New("baseline")

// holdTx is Service.Hold: open the escrow, then transfer wallet -> escrow.
func holdTx(ctx context.Context, tx rawTx, order string, customer kernel.UserID, amt int64) error {
	at := kernel.SystemClock{}.Now()
	escrow := "escrow:" + order
	if _, err := tx.exec(ctx, tx.sql(qOpenEscrow, ""), escrow, "escrow", string(customer), order, int64(0), tx.ts(time.Now().UTC())); err != nil {
		return err
	}
	return transferTx(ctx, tx, "hold", order, "hold:"+order, "wallet:"+string(customer), escrow, amt, "Held for order "+order, at)
}

// payoutTx is Service.Payout with no platform fee: lock and read the
// escrow, open the owner's wallet, lock it, transfer escrow -> wallet.
func payoutTx(ctx context.Context, tx rawTx, order string, owner kernel.UserID) error {
	escrow := "escrow:" + order
	held, _, err := tx.lock(ctx, tx.sql(qLockPG, qLockLite), escrow)
	if err != nil {
		return err
	}
	if held <= 0 {
		return fmt.Errorf("%w: order %s holds nothing", errBaseline, order)
	}
	wallet := "wallet:" + string(owner)
	if _, _, err := tx.queryInt(ctx, tx.sql(qOpenWalletPG, qOpenWalletLite), wallet, "wallet", string(owner), int64(0), tx.ts(time.Now().UTC())); err != nil {
		return err
	}
	if _, _, err := tx.lock(ctx, tx.sql(qLockPG, qLockLite), wallet); err != nil {
		return err
	}
	at := kernel.SystemClock{}.Now()
	return transferTx(ctx, tx, "payout", order, "payout:"+order, escrow, wallet, held, "Payout for order "+order, at)
}

// transferTx is store.Ledger.Transfer: on Postgres one statement
// (store.PGTransferStatement), on SQLite the steps (claim the effect key, move the
// balances in sorted account order with the debit conditional, add two
// entries).
func transferTx(ctx context.Context, tx rawTx, kind, order, key, from, to string, amt int64, memo string, at time.Time) error {
	pid := kernel.NewID()
	if tx.postgres() {
		q, args := store.PGTransferStatement(pid, kind, order, key, from, to, amt, memo, at)
		args[8] = tx.ts(at)
		var posted bool
		var fromAfter, toAfter *int64
		var toEntry *string
		if err := tx.row(ctx, q, []any{&posted, &fromAfter, &toAfter, &toEntry}, args...); err != nil {
			return err
		}
		switch {
		case !posted:
			return fmt.Errorf("%w: %s already applied", errBaseline, key)
		case fromAfter == nil || toAfter == nil || toEntry == nil:
			return fmt.Errorf("%w: transfer %s moved nothing", errBaseline, key)
		}
		return nil
	}
	n, err := tx.exec(ctx, tx.sql(qPosting, ""), pid, kind, order, key, from, to, amt, memo, tx.ts(at))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s already applied", errBaseline, key)
	}
	first, second := from, to
	if to < from {
		first, second = to, from
	}
	var fromAfter, toAfter int64
	for _, acc := range []string{first, second} {
		var bal int64
		var found bool
		if acc == from {
			bal, found, err = tx.queryInt(ctx, tx.sql(qDebit, ""), -amt, acc, amt)
			fromAfter = bal
		} else {
			bal, found, err = tx.queryInt(ctx, tx.sql(qCredit, ""), amt, acc)
			toAfter = bal
		}
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: move on %s matched no row", errBaseline, acc)
		}
	}
	_, err = tx.exec(ctx, tx.sql(qEntries, ""),
		kernel.NewID(), pid, from, -amt, fromAfter, tx.ts(at),
		kernel.NewID(), pid, to, amt, toAfter, tx.ts(at))
	return err
}

// pgRaw is the Postgres baseline: pgxpool with QueryExecModeExec, like heepr's pool.
type pgRaw struct{ pool *pgxpool.Pool }

func (r pgRaw) inTx(ctx context.Context, fn func(rawTx) error) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error { return fn(pgTx{tx}) })
}

func (r pgRaw) hold(ctx context.Context, order string, customer kernel.UserID, amt int64) error {
	return r.inTx(ctx, func(tx rawTx) error { return holdTx(ctx, tx, order, customer, amt) })
}

func (r pgRaw) payout(ctx context.Context, order string, owner kernel.UserID) error {
	return r.inTx(ctx, func(tx rawTx) error { return payoutTx(ctx, tx, order, owner) })
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (t pgTx) queryInt(ctx context.Context, q string, args ...any) (int64, bool, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var v *int64
	found := rows.Next()
	if found {
		if err := rows.Scan(&v); err != nil {
			return 0, false, err
		}
	}
	for rows.Next() {
	}
	if v == nil {
		return 0, found, rows.Err()
	}
	return *v, found, rows.Err()
}

func (t pgTx) lock(ctx context.Context, q string, id string) (int64, bool, error) {
	var got string
	var bal int64
	err := t.tx.QueryRow(ctx, q, id).Scan(&got, &bal)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return bal, err == nil, err
}

func (t pgTx) row(ctx context.Context, q string, dest []any, args ...any) error {
	return t.tx.QueryRow(ctx, q, args...).Scan(dest...)
}

func (pgTx) postgres() bool { return true }

func (pgTx) ts(t time.Time) any         { return t }
func (pgTx) sql(pgSQL, _ string) string { return pgSQL }

// sqliteRaw is the SQLite baseline: database/sql on the modernc driver.
type sqliteRaw struct{ db *sql.DB }

func (r sqliteRaw) inTx(ctx context.Context, fn func(rawTx) error) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(sqliteTx{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (r sqliteRaw) hold(ctx context.Context, order string, customer kernel.UserID, amt int64) error {
	return r.inTx(ctx, func(tx rawTx) error { return holdTx(ctx, tx, order, customer, amt) })
}

func (r sqliteRaw) payout(ctx context.Context, order string, owner kernel.UserID) error {
	return r.inTx(ctx, func(tx rawTx) error { return payoutTx(ctx, tx, order, owner) })
}

type sqliteTx struct{ tx *sql.Tx }

func (t sqliteTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t sqliteTx) queryInt(ctx context.Context, q string, args ...any) (int64, bool, error) {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var v sql.NullInt64
	found := rows.Next()
	if found {
		if err := rows.Scan(&v); err != nil {
			return 0, false, err
		}
	}
	for rows.Next() {
	}
	return v.Int64, found, rows.Err()
}

func (t sqliteTx) lock(ctx context.Context, q string, id string) (int64, bool, error) {
	var got string
	var bal int64
	err := t.tx.QueryRowContext(ctx, q, id).Scan(&got, &bal)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return bal, err == nil, err
}

func (sqliteTx) postgres() bool { return false }

func (t sqliteTx) row(ctx context.Context, q string, dest []any, args ...any) error {
	return t.tx.QueryRowContext(ctx, q, args...).Scan(dest...)
}

// ts formats a timestamp the way bun's SQLite dialect writes it.
func (sqliteTx) ts(t time.Time) any { return t.Format("2006-01-02 15:04:05.999999-07:00") }

func (sqliteTx) sql(pgSQL, lite string) string {
	if lite != "" {
		return lite
	}
	return liteOf[pgSQL]
}

// liteOf holds the SQLite spelling of each Postgres statement.
var liteOf = map[string]string{}

func init() {
	for _, q := range []string{qOpenEscrow, qPosting, qCredit, qDebit, qEntries} {
		liteOf[q] = liteSQL(q)
	}
}

// liteSQL turns $n placeholders into SQLite's ?n.
func liteSQL(q string) string {
	out := []byte(q)
	for i := range out {
		if out[i] == '$' && i+1 < len(out) && out[i+1] >= '0' && out[i+1] <= '9' {
			out[i] = '?'
		}
	}
	return string(out)
}
