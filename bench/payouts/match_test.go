package payouts_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/bench/internal/heeprapp"
	"github.com/heepr/heepr/bench/internal/sqlrec"
)

const testFee = 1000

// TestBaselineMatchesHeepr keeps the baseline honest: the statements
// heepr's payout job sends for one order (seen through a bun query hook)
// equal the baseline's, in order, once values are blanked; and both drains
// (heepr's River workers, the baseline's pgx loop), run on a small queue,
// leave exactly the same result (checked by verify: one payout and one fee
// per order, every owner and the platform paid exactly, invariants).
func TestBaselineMatchesHeepr(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	s, err := seed(ctx, db, 2, testFee)
	require.NoError(t, err)
	app, err := heeprapp.New(ctx, db, heeprapp.Options{PlatformFeeBPS: testFee, DataDir: t.TempDir()})
	require.NoError(t, err)
	rec := &sqlrec.Recorder{SkipTx: true}
	db.Bun.AddQueryHook(rec)
	rec.Start()
	require.NoError(t, app.Ordering.Payout(ctx, s.orders[0]))
	heepr := rec.Stop()

	var raw []string
	tx, err := db.Pool.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, payoutTx(ctx, recConn{txConn{tx}, &raw}, s.orders[1], testFee))
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, heepr, raw)
	require.Len(t, raw, 6, "order, escrow lock, open wallet, lock wallet, 2 transfers (payout, fee)")
	require.NoError(t, verify(ctx, db, s, testFee))
}

func TestDrainsLeaveTheSameLedger(t *testing.T) {
	t.Parallel()
	n := 300
	if testing.Short() {
		n = 40
	}
	ctx := context.Background()
	for _, side := range []string{"heepr", "baseline"} {
		t.Run(side, func(t *testing.T) {
			t.Parallel()
			db := openDB(t)
			s, err := seed(ctx, db, n, testFee)
			require.NoError(t, err)
			if side == "heepr" {
				_, err = drainHeepr(ctx, db, s, 20, testFee, t.TempDir())
			} else {
				_, err = drainBaseline(ctx, db, s, 20, testFee)
			}
			require.NoError(t, err)
			require.NoError(t, verify(ctx, db, s, testFee))
		})
	}
}

// recConn records the baseline's statements.
type recConn struct {
	conn
	got *[]string
}

func (r recConn) Exec(ctx context.Context, q string, args ...any) (pgconnTag, error) {
	*r.got = append(*r.got, sqlrec.Shape(q))
	return r.conn.Exec(ctx, q, args...)
}

func (r recConn) Query(ctx context.Context, q string, args ...any) (pgx.Rows, error) {
	*r.got = append(*r.got, sqlrec.Shape(q))
	return r.conn.Query(ctx, q, args...)
}
