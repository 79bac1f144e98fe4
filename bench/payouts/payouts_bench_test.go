// Package payouts_test measures how long heepr's River workers take to
// drain queued payout jobs on Postgres, beside a baseline that runs the
// same statements for as many payouts from a bare pgx loop at the same
// concurrency (the physical floor: the same work without the queue).
//
// Each side, each round, gets a fresh schema seeded in bulk with
// HEEPR_PAYOUTS completed orders (default 10,000) whose price is held in
// escrow (seed_test.go). heepr: the app wired as cmd/heepr wires it (the
// real worker registry and periodic jobs, HEEPR_WORKERS workers, default
// 20, pool of 20), one ordering.payout job per order inserted in one
// transaction, then the clock runs from starting the queue until the
// last payout job has completed. Baseline: HEEPR_WORKERS goroutines take
// the orders from a channel and run payoutTx (baseline_test.go), one pgx
// transaction each, on heepr's own pgxpool. After each drain every order
// must be paid exactly once, every owner and the platform must hold
// exactly what they are owed, and the ledger's invariant checker must
// pass. HEEPR_PAYOUT_ROUNDS rounds (default 3), the first side
// alternating; HEEPR_PLATFORM_FEE_BPS (default 1000) makes each payout two
// postings (owner and platform).
//
//	HEEPR_PAYOUTS=10000 go test -run '^$' -bench BenchmarkPayoutsDrain -benchtime 1x ./bench/payouts
package payouts_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/bench/internal/heeprapp"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/ledgertest"
	"github.com/heepr/heepr/modules/ordering"
)

func BenchmarkPayoutsDrain(b *testing.B) {
	ctx := context.Background()
	n := envInt(b, "HEEPR_PAYOUTS", 10_000)
	rounds := envInt(b, "HEEPR_PAYOUT_ROUNDS", 3)
	workers := envInt(b, "HEEPR_WORKERS", 20)
	fee := envInt(b, "HEEPR_PLATFORM_FEE_BPS", 1000)
	if n < 1 || rounds < 1 || workers < 1 {
		b.Fatal("HEEPR_PAYOUTS, HEEPR_PAYOUT_ROUNDS and HEEPR_WORKERS must be at least 1")
	}
	for range b.N {
		var version string
		first := true
		secs := map[string][]float64{}
		for r := range rounds {
			sides := []string{"heepr", "baseline"}
			if r%2 == 1 {
				sides = []string{"baseline", "heepr"}
			}
			for _, side := range sides {
				db := openDB(b)
				if first {
					if err := db.Pool.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
						b.Fatal(err)
					}
					fmt.Printf("postgres-version: %s\n", version)
					first = false
				}
				s, err := seed(ctx, db, n, fee)
				if err != nil {
					b.Fatal(err)
				}
				var took time.Duration
				if side == "heepr" {
					took, err = drainHeepr(ctx, db, s, workers, fee, b.TempDir())
				} else {
					took, err = drainBaseline(ctx, db, s, workers, fee)
				}
				if err != nil {
					b.Fatalf("round %d %s: %v", r+1, side, err)
				}
				if err := verify(ctx, db, s, fee); err != nil {
					b.Fatalf("round %d %s: %v", r+1, side, err)
				}
				fmt.Printf("payouts-drain: round=%d side=%s payouts=%d workers=%d fee_bps=%d seed_s=%.2f seconds=%.3f\n",
					r+1, side, n, workers, fee, s.took.Seconds(), took.Seconds())
				secs[side] = append(secs[side], took.Seconds())
				_ = db.Close()
			}
		}
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(median(secs["heepr"]), "heepr-s")
		b.ReportMetric(median(secs["baseline"]), "base-s")
		b.ReportMetric(float64(n)/median(secs["heepr"]), "heepr-payouts/s")
		b.ReportMetric(float64(n)/median(secs["baseline"]), "base-payouts/s")
	}
}

// drainHeepr queues one payout job per order in one transaction, starts
// heepr's workers and returns how long they took to complete every one.
func drainHeepr(ctx context.Context, db *store.DB, s *seeded, workers, fee int, dir string) (time.Duration, error) {
	want := int64(len(s.orders))
	var done, failed atomic.Int64
	all := make(chan struct{})
	app, err := heeprapp.New(ctx, db, heeprapp.Options{Work: true, Workers: workers, PlatformFeeBPS: fee, DataDir: dir,
		Observe: func(kind, state string, _ time.Duration) {
			if kind != (ordering.PayoutArgs{}).Kind() {
				return
			}
			if state != "completed" {
				failed.Add(1)
				return
			}
			if done.Add(1) == want {
				close(all)
			}
		}})
	if err != nil {
		return 0, err
	}
	params := make([]river.InsertManyParams, len(s.orders))
	for i, o := range s.orders {
		params[i] = river.InsertManyParams{Args: ordering.PayoutArgs{OrderID: o}}
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	if _, err := app.Queue.Client().InsertManyTx(ctx, tx, params); err != nil {
		_ = tx.Rollback()
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := app.Queue.Start(ctx); err != nil {
		return 0, err
	}
	defer func() {
		stop, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_ = app.Queue.Stop(stop)
	}()
	select {
	case <-all:
	case <-time.After(10 * time.Minute):
		return 0, fmt.Errorf("%d of %d payouts done after 10 minutes", done.Load(), want)
	}
	took := time.Since(start)
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d payout jobs did not complete at their first attempt", f)
	}
	var completed int
	if err := db.SQL.QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND state = 'completed' AND attempt = 1`,
		(ordering.PayoutArgs{}).Kind()).Scan(&completed); err != nil {
		return 0, err
	}
	if completed != len(s.orders) {
		return 0, fmt.Errorf("%d payout jobs completed at their first attempt, want %d", completed, len(s.orders))
	}
	return took, nil
}

// drainBaseline runs payoutTx for every order from workers goroutines, one
// pgx transaction each, on heepr's own pool.
func drainBaseline(ctx context.Context, db *store.DB, s *seeded, workers, fee int) (time.Duration, error) {
	orders := make(chan string, len(s.orders))
	for _, o := range s.orders {
		orders <- o
	}
	close(orders)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for o := range orders {
				tx, err := db.Pool.Begin(ctx)
				if err == nil {
					if err = payoutTx(ctx, txConn{tx}, o, fee); err == nil {
						err = tx.Commit(ctx)
					}
					_ = tx.Rollback(ctx)
				}
				if err != nil {
					errs <- fmt.Errorf("payout %s: %w", o, err)
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return took, nil
}

// verify checks the drain's result exactly: one payout (and, with a fee,
// one fee) posting per order and no other, every escrow empty, each owner
// paid exactly the sum of their orders less the fees, the platform the
// fees, and the ledger's invariants.
func verify(ctx context.Context, db *store.DB, s *seeded, fee int) error {
	var payouts, paidOrders, fees, feeOrders, escrow int64
	if err := db.Pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE kind = 'payout'), count(DISTINCT order_id) FILTER (WHERE kind = 'payout'),
			count(*) FILTER (WHERE kind = 'fee'), count(DISTINCT order_id) FILTER (WHERE kind = 'fee'),
			(SELECT COALESCE(SUM(balance), 0) FROM ledger_accounts WHERE kind = 'escrow')
		FROM ledger_postings`).Scan(&payouts, &paidOrders, &fees, &feeOrders, &escrow); err != nil {
		return err
	}
	n := int64(len(s.orders))
	wantFees := int64(0)
	if fee > 0 {
		wantFees = n
	}
	if payouts != n || paidOrders != n || fees != wantFees || feeOrders != wantFees || escrow != 0 {
		return fmt.Errorf("%d payout postings for %d orders, %d fee postings for %d orders, %d left in escrow; want %d payouts and %d fees for %d orders, 0 in escrow",
			payouts, paidOrders, fees, feeOrders, escrow, n, wantFees, n)
	}
	rows, err := db.Pool.Query(ctx, `SELECT user_id, balance FROM ledger_accounts WHERE kind = 'wallet' AND balance > 0`)
	if err != nil {
		return err
	}
	got := map[string]int64{}
	var user string
	var bal int64
	if _, err := forEach(rows, &user, &bal, func() { got[user] = bal }); err != nil {
		return err
	}
	if len(got) != len(s.paid) {
		return fmt.Errorf("%d wallets hold points, want the %d owners'", len(got), len(s.paid))
	}
	for owner, want := range s.paid {
		if got[owner] != want {
			return fmt.Errorf("owner %s holds %d, want %d", owner, got[owner], want)
		}
	}
	var platform int64
	if err := db.Pool.QueryRow(ctx, `SELECT balance FROM ledger_accounts WHERE id = 'platform'`).Scan(&platform); err != nil {
		return err
	}
	if platform != s.fees {
		return fmt.Errorf("platform holds %d, want %d", platform, s.fees)
	}
	return ledgertest.New(db, kernel.SystemClock{}, ledger.Config{PlatformFeeBPS: fee}).CheckInvariants(ctx)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func envInt(tb testing.TB, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		tb.Fatalf("%s=%q: want a number", key, v)
	}
	return n
}
