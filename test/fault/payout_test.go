//go:build fault

package fault_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/test/internal/heeprproc"
)

// TestWorkerKilledAroundPayoutCommit kills the worker with SIGKILL while
// one payout has not committed yet and another has committed but River
// has not recorded its job as completed. A new worker must pay each order
// exactly once.
//
// The test freezes the worker with row locks, not with a hook in heepr:
// it holds both orders' rows (the payout's first statement locks its
// order), lets one payout through, and holds that payout's river_job row
// (River's completer updates it after the payout's transaction has
// committed). Then it kills the worker.
func TestWorkerKilledAroundPayoutCommit(t *testing.T) {
	t.Parallel()
	dbURL := heeprproc.FreshDatabase(t)
	api := newProc(t, "A", "api", dbURL).Start(t)
	api.WaitReady(t)
	db := heeprproc.Connect(t, dbURL)

	// Two completed orders whose payout jobs wait for a worker (the API
	// role runs no jobs).
	m := heeprproc.NewMarket(t, api, "payout")
	before := m.DeliveredOrder(t, api, 0, 40) // killed before its payout commits
	after := m.DeliveredOrder(t, api, 1, 70)  // killed after its payout commits
	for _, id := range []string{before, after} {
		heeprproc.Call(t, api, http.MethodPost, "/v1/orders/"+id+"/accept", heeprproc.Idem(m.Customer, "accept-"+id), nil, http.StatusOK, nil)
	}
	lockBefore := lockRow(t, dbURL, `SELECT 1 FROM orders WHERE id = $1 FOR UPDATE`, before)
	lockAfter := lockRow(t, dbURL, `SELECT 1 FROM orders WHERE id = $1 FOR UPDATE`, after)
	require.Equal(t, int64(2), heeprproc.Count(t, db, `SELECT count(*) FROM river_job WHERE kind = 'ordering.payout' AND state = 'available'`))
	jobOf := func(order string) int64 {
		return heeprproc.Count(t, db, `SELECT id FROM river_job WHERE kind = 'ordering.payout' AND args->>'order_id' = $1`, order)
	}

	// The worker takes both payouts; each waits for its order's lock.
	w1 := newProc(t, "W1", "worker", workerURL(t, dbURL, "fault-worker-1")).Start(t)
	w1.WaitReady(t)
	heeprproc.Eventually(t, "both payouts to wait for their order's lock", 30*time.Second, func() bool {
		return heeprproc.Count(t, db, `SELECT count(*) FROM river_job WHERE kind = 'ordering.payout' AND state = 'running'`) == 2 &&
			waiting(t, db, "fault-worker-1", "orders") == 2
	})

	// The second payout commits; River's completion of its job waits.
	lockJob := lockRow(t, dbURL, `SELECT 1 FROM river_job WHERE id = $1 FOR UPDATE`, jobOf(after))
	lockAfter.release(t)
	heeprproc.Eventually(t, "the second payout to commit and its job's completion to wait", 30*time.Second, func() bool {
		return heeprproc.Count(t, db, `SELECT count(*) FROM ledger_postings WHERE order_id = $1 AND kind = 'payout'`, after) == 1 &&
			waiting(t, db, "fault-worker-1", "river_job") == 1
	})
	require.Zero(t, heeprproc.Count(t, db, `SELECT count(*) FROM ledger_postings WHERE order_id = $1 AND kind = 'payout'`, before))

	w1.Kill(t)
	// Postgres ends the dead worker's sessions (client_connection_check_interval)
	// and rolls back the payout that had not committed; only then are the locks let go.
	heeprproc.Eventually(t, "Postgres to end the killed worker's sessions", 30*time.Second, func() bool {
		return heeprproc.Count(t, db, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fault-worker-1'`) == 0
	})
	lockBefore.release(t)
	lockJob.release(t)
	require.Zero(t, heeprproc.Count(t, db, `SELECT count(*) FROM ledger_postings WHERE order_id = $1 AND kind = 'payout'`, before), "killed before its commit: not paid")
	require.Equal(t, int64(1), heeprproc.Count(t, db, `SELECT count(*) FROM ledger_postings WHERE order_id = $1 AND kind = 'payout'`, after), "killed after its commit: paid")
	require.Equal(t, int64(2), heeprproc.Count(t, db, `SELECT count(*) FROM river_job WHERE kind = 'ordering.payout' AND state = 'running'`),
		"both jobs are left running by the killed worker")

	// River rescues a job left running after RescueStuckJobsAfter (10
	// minutes, adapters/queue) and the dead leader's term after its TTL
	// (15 s). The test moves both into the past instead of waiting.
	_, err := db.Exec(t.Context(), `UPDATE river_job SET attempted_at = now() - interval '11 minutes' WHERE state = 'running'`)
	require.NoError(t, err)
	_, err = db.Exec(t.Context(), `DELETE FROM river_leader`)
	require.NoError(t, err)
	rescuedAt := time.Now()
	w2 := newProc(t, "W2", "worker", workerURL(t, dbURL, "fault-worker-2")).Start(t)
	w2.WaitReady(t)
	heeprproc.Eventually(t, "the new worker to rescue and complete both payout jobs", 90*time.Second, func() bool {
		return heeprproc.Count(t, db, `SELECT count(*) FROM river_job WHERE kind = 'ordering.payout' AND state = 'completed'`) == 2
	})
	took := time.Since(rescuedAt)

	for _, o := range []struct {
		id    string
		price int64
	}{{before, 40}, {after, 70}} {
		fee := o.price * heeprproc.FeeBPS / 10_000
		require.Equal(t, int64(1), heeprproc.Count(t, db, `SELECT count(*) FROM ledger_postings WHERE order_id = $1 AND kind = 'payout'`, o.id), "order %s: payouts", o.id)
		require.Equal(t, o.price-fee, heeprproc.Count(t, db, `SELECT amount FROM ledger_postings WHERE order_id = $1 AND kind = 'payout'`, o.id))
		require.Equal(t, int64(1), heeprproc.Count(t, db, `SELECT count(*) FROM ledger_postings WHERE order_id = $1 AND kind = 'fee'`, o.id), "order %s: fees", o.id)
		require.Zero(t, heeprproc.Count(t, db, `SELECT coalesce(sum(balance), 0) FROM ledger_accounts WHERE kind = 'escrow' AND order_id = $1`, o.id))
		require.Equal(t, int64(2), heeprproc.Count(t, db, `SELECT attempt FROM river_job WHERE id = $1`, jobOf(o.id)), "order %s: the payout job ran again", o.id)
	}
	starter := heeprproc.Count(t, db, `SELECT amount FROM ledger_postings WHERE kind = 'starter_grant' AND to_account = $1`, "wallet:"+m.OwnerID)
	require.Equal(t, starter+36+63, heeprproc.Count(t, db, `SELECT balance FROM ledger_accounts WHERE id = $1`, "wallet:"+m.OwnerID),
		"the owner is paid each price less its fee, once")
	require.Equal(t, int64(4+7), heeprproc.Count(t, db, `SELECT balance FROM ledger_accounts WHERE id = 'platform'`))
	heeprproc.RequireLedgerInvariants(t, dbURL)
	t.Logf("worker killed with one payout waiting before its commit and one committed but not marked done; "+
		"the new worker rescued and ran both jobs in %v: one payout and one fee per order, ledger invariants hold", took.Round(time.Millisecond))
	w2.Stop(t)
	api.Stop(t)
}

// workerURL names the worker's sessions and has Postgres check every
// 100 ms that their client is still there (so a killed worker's session
// waiting on a lock ends).
func workerURL(t *testing.T, dbURL, name string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	q := u.Query()
	q.Set("application_name", name)
	q.Set("client_connection_check_interval", "100")
	u.RawQuery = q.Encode()
	return u.String()
}

// waiting counts the sessions of application name that wait for a lock
// in a statement about table.
func waiting(t *testing.T, db *pgx.Conn, name, table string) int64 {
	t.Helper()
	return heeprproc.Count(t, db, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'
		AND query ILIKE '%' || $2 || '%'`, name, table)
}

// heldLock is a transaction holding a row lock.
type heldLock struct{ tx pgx.Tx }

func lockRow(t *testing.T, dbURL, sql string, arg any) *heldLock {
	t.Helper()
	conn := heeprproc.Connect(t, dbURL)
	tx, err := conn.Begin(t.Context())
	require.NoError(t, err)
	var one int
	require.NoError(t, tx.QueryRow(t.Context(), sql, arg).Scan(&one), "%s", sql)
	l := &heldLock{tx: tx}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return l
}

func (l *heldLock) release(t *testing.T) {
	t.Helper()
	require.NoError(t, l.tx.Commit(t.Context()))
}
