package payouts_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/heepr/heepr/bench/internal/heeprapp"
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
	rec := &recorder{}
	db.Bun.AddQueryHook(rec)
	rec.start()
	require.NoError(t, app.Ordering.Payout(ctx, s.orders[0]))
	heepr := rec.stop()

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

// recorder is a bun query hook that keeps the statements while on.
type recorder struct {
	mu  sync.Mutex
	on  bool
	got []string
}

func (r *recorder) start() { r.mu.Lock(); r.on, r.got = true, nil; r.mu.Unlock() }

func (r *recorder) stop() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.got
}

func (r *recorder) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (r *recorder) AfterQuery(_ context.Context, ev *bun.QueryEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	switch strings.ToUpper(strings.TrimSpace(ev.Query)) {
	case "BEGIN", "COMMIT", "ROLLBACK": // the baseline's come from the driver
		return
	}
	r.got = append(r.got, shape(ev.Query))
}

// recConn records the baseline's statements.
type recConn struct {
	conn
	got *[]string
}

func (r recConn) Exec(ctx context.Context, q string, args ...any) (pgconnTag, error) {
	*r.got = append(*r.got, shape(q))
	return r.conn.Exec(ctx, q, args...)
}

func (r recConn) Query(ctx context.Context, q string, args ...any) (pgx.Rows, error) {
	*r.got = append(*r.got, shape(q))
	return r.conn.Query(ctx, q, args...)
}

var (
	reString      = regexp.MustCompile(`'(?:[^']|'')*'`)
	rePlaceholder = regexp.MustCompile(`[$?]\d+`)
	reNumber      = regexp.MustCompile(`-?\b\d+\b`)
	reSpace       = regexp.MustCompile(`\s+`)
)

// shape blanks a statement's values: literals and placeholders become ?.
func shape(q string) string {
	q = reString.ReplaceAllString(q, "?")
	q = rePlaceholder.ReplaceAllString(q, "?")
	q = reNumber.ReplaceAllString(q, "?")
	return strings.TrimSpace(reSpace.ReplaceAllString(q, " "))
}
