package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/bench/internal/sqlrec"
	"github.com/heepr/heepr/modules/kernel"
)

// TestBaselineMatchesHeepr keeps the baseline honest: on both databases, the
// statements heepr sends for a hold and a payout (seen through a bun query
// hook) equal the baseline's, in order, once literals and placeholders are
// blanked. When the store's SQL changes, change the baseline with it.
func TestBaselineMatchesHeepr(t *testing.T) {
	for _, tg := range storetest.Targets(t) {
		t.Run(string(tg.Dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := openEnv(t, tg.Config)
			e.fund(t, ctx)
			rec := &sqlrec.Recorder{SkipTx: true}
			e.db.Bun.AddQueryHook(rec)

			customer, owner := e.customers[0], e.owners[0]
			heepr := func(fn func(order string) error) []string {
				rec.Start()
				require.NoError(t, fn(kernel.NewID()))
				return rec.Stop()
			}
			baseline := func(fn func(tx rawTx, order string) error) []string {
				var got []string
				require.NoError(t, e.raw.inTx(ctx, func(tx rawTx) error {
					return fn(recTx{tx, &got}, kernel.NewID())
				}))
				return got
			}

			heeprHold := heepr(func(o string) error { return e.svc.Hold(ctx, o, customer, amount) })
			rawHold := baseline(func(tx rawTx, o string) error { return holdTx(ctx, tx, o, customer, amount) })
			require.Equal(t, heeprHold, rawHold, "hold")
			transfer := map[store.Dialect]int{store.Postgres: 1, store.SQLite: 4}[tg.Dialect] // posting, two moves, entries
			require.Len(t, rawHold, 1+transfer, "open escrow, transfer")

			held := e.prepareHolds(t, 2)
			heeprPayout := heepr(func(string) error { _, err := e.svc.Payout(ctx, held[0], owner); return err })
			rawPayout := baseline(func(tx rawTx, _ string) error { return payoutTx(ctx, tx, held[1], owner) })
			require.Equal(t, heeprPayout, rawPayout, "payout")
			require.Len(t, rawPayout, 3+transfer, "lock escrow, open wallet, lock wallet, transfer")

			require.NoError(t, e.svc.CheckInvariants(ctx))
		})
	}
}

// recTx records the baseline's statements.
type recTx struct {
	rawTx
	got *[]string
}

func (r recTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	*r.got = append(*r.got, sqlrec.Shape(q))
	return r.rawTx.exec(ctx, q, args...)
}

func (r recTx) queryInt(ctx context.Context, q string, args ...any) (int64, bool, error) {
	*r.got = append(*r.got, sqlrec.Shape(q))
	return r.rawTx.queryInt(ctx, q, args...)
}

func (r recTx) lock(ctx context.Context, q string, id string) (int64, bool, error) {
	*r.got = append(*r.got, sqlrec.Shape(q))
	return r.rawTx.lock(ctx, q, id)
}

func (r recTx) row(ctx context.Context, q string, dest []any, args ...any) error {
	*r.got = append(*r.got, sqlrec.Shape(q))
	return r.rawTx.row(ctx, q, dest, args...)
}

func (r recTx) ts(t time.Time) any { return r.rawTx.ts(t) }
