package process_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/test/internal/heeprproc"
)

// TestRolesSplitAcrossProcesses runs two API processes and one worker on
// one Postgres database. The API processes run no jobs (what they enqueue
// waits until the worker starts); an event written through one API wakes a
// long-poll held by the other; orders placed through both are worked,
// delivered, accepted and paid once each; every job runs once, on the worker.
func TestRolesSplitAcrossProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the heepr binary")
	}
	dbURL := heeprproc.FreshDatabase(t)
	began := time.Now()

	// A migrates the fresh database; B finds it up to date.
	a := heeprproc.New(t, "A", "api", dbURL, heeprproc.MarketEnv()...).Start(t)
	a.WaitReady(t)
	b := heeprproc.New(t, "B", "api", dbURL, heeprproc.MarketEnv()...).Start(t)
	b.WaitReady(t)
	waitListeners(t, dbURL, 2)
	db := heeprproc.Connect(t, dbURL)

	// 1. With only API processes up, jobs are enqueued and nobody runs them.
	m := heeprproc.NewMarket(t, a, "split")
	jobsBefore := heeprproc.Count(t, db, `SELECT count(*) FROM river_job`)
	require.Positive(t, jobsBefore, "sign-up and publish enqueue jobs")
	time.Sleep(2500 * time.Millisecond) // more than two of River's fetch polls
	var notWaiting int64
	require.NoError(t, db.QueryRow(t.Context(), `SELECT count(*) FROM river_job
		WHERE state <> 'available' OR attempt <> 0 OR attempted_by IS NOT NULL`).Scan(&notWaiting))
	require.Zero(t, notWaiting, "an API process ran a job:\n%s", jobTable(t, db))
	for _, p := range []*heeprproc.Proc{a, b} {
		require.Zero(t, jobsFinished(t, p, ""), "heepr %s (role api) finished jobs", p.Name)
	}

	// The worker starts and runs them.
	w := heeprproc.New(t, "W", "worker", dbURL, heeprproc.MarketEnv()...).Start(t)
	w.WaitReady(t)
	require.Contains(t, w.Stderr(), `"role":"worker"`)
	heeprproc.Eventually(t, "the worker to run the jobs the API processes enqueued", 30*time.Second, func() bool {
		return heeprproc.Count(t, db, `SELECT count(*) FROM river_job WHERE state <> 'completed'`) == 0
	})
	require.GreaterOrEqual(t, jobsFinished(t, w, ""), float64(jobsBefore))
	// The worker serves no API.
	resp, err := http.Get(w.Base + "/v1/me")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the worker role serves no API")

	// 2. A long-poll held on B is woken by a write through A.
	cursor := drain(t, b, m.Agent)
	poll := holdPoll(t, b, m.Agent, cursor)
	waitPollsWaiting(t, b, 1, poll)
	body := "Wake B through A " + heeprproc.RandomSuffix(t)
	var conv struct {
		ID string `json:"id"`
	}
	heeprproc.Call(t, a, http.MethodPost, "/v1/conversations", m.Customer,
		map[string]any{"agent_id": m.AgentID, "message": body}, http.StatusCreated, &conv)
	requireMessageEvent(t, poll.await(t, time.Now()), conv.ID, body)

	// 3. A key rotated through A stops working on B, which remembers the
	// old key from the polls above (ADR 13): the rotation's notification
	// reaches B's hub, and B reads the key afresh.
	heeprproc.Call(t, b, http.MethodGet, heeprproc.PollPath(cursor, 0), m.Agent, nil, http.StatusOK, nil)
	var rotated struct {
		APIKey string `json:"api_key"`
	}
	rotatedAt := time.Now()
	heeprproc.Call(t, a, http.MethodPost, "/v1/agents/"+m.AgentID+"/key", m.Owner, nil, http.StatusOK, &rotated)
	require.NotEmpty(t, rotated.APIKey)
	tries := 0
	for refused := false; !refused; tries++ {
		require.Less(t, time.Since(rotatedAt), time.Second, "B still takes the old key a second after its rotation through A")
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.Base+heeprproc.PollPath(cursor, 0), nil)
		require.NoError(t, err)
		m.Agent(req)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		refused = resp.StatusCode == http.StatusUnauthorized
	}
	t.Logf("B refused the old key %v after the rotation through A was sent (%d tries)", time.Since(rotatedAt).Round(time.Microsecond), tries)
	m.Agent = heeprproc.Bearer(rotated.APIKey)
	heeprproc.Call(t, b, http.MethodGet, heeprproc.PollPath(cursor, 0), m.Agent, nil, http.StatusOK, nil)
	heeprproc.Call(t, a, http.MethodGet, heeprproc.PollPath(cursor, 0), m.Agent, nil, http.StatusOK, nil)

	// 4. Ten orders, alternating the API process, from quote to acceptance.
	const orders = 10
	var ids []string
	var prices []int64
	for i := range orders {
		via := []*heeprproc.Proc{a, b}[i%2]
		price := int64(20 + 5*i)
		id := m.DeliveredOrder(t, via, i, price)
		heeprproc.Call(t, via, http.MethodPost, "/v1/orders/"+id+"/accept", heeprproc.Idem(m.Customer, "accept-"+id), nil, http.StatusOK, nil)
		ids, prices = append(ids, id), append(prices, price)
	}
	heeprproc.Eventually(t, "every job to complete", 30*time.Second, func() bool {
		return heeprproc.Count(t, db, `SELECT count(*) FROM river_job WHERE state <> 'completed'`) == 0 &&
			heeprproc.Count(t, db, `SELECT count(*) FROM river_job WHERE kind = 'ordering.payout'`) == orders
	})
	requirePaidOnce(t, db, m, ids, prices)
	heeprproc.RequireLedgerInvariants(t, dbURL)

	// Every job ran once, and on the worker: one client attempted them all,
	// and only the worker reports finished jobs. (A periodic job the worker
	// enqueues meanwhile may not have run yet: only jobs that ran count.)
	var attemptedBy []string
	rows, err := db.Query(t.Context(), `SELECT DISTINCT attempted_by[1] FROM river_job WHERE attempted_by IS NOT NULL`)
	require.NoError(t, err)
	attemptedBy, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, attemptedBy, 1, "one River client (the worker's) ran every job: %v", attemptedBy)
	require.Zero(t, heeprproc.Count(t, db, `SELECT count(*) FROM river_job WHERE state <> 'available'
		AND (attempt <> 1 OR cardinality(attempted_by) <> 1 OR errors IS NOT NULL)`),
		"a job ran more than once:\n%s", jobTable(t, db))
	total := heeprproc.Count(t, db, `SELECT count(*) FROM river_job WHERE state = 'completed'`)
	require.GreaterOrEqual(t, jobsFinished(t, w, ""), float64(total), "the worker finished every job")
	require.Equal(t, float64(orders), jobsFinished(t, w, "ordering.payout"))
	for _, p := range []*heeprproc.Proc{a, b} {
		require.Zero(t, jobsFinished(t, p, ""), "heepr %s (role api) finished jobs", p.Name)
	}
	t.Logf("%d orders through A and B, %d jobs, all run once by W; %v in all", orders, total, time.Since(began).Round(time.Millisecond))

	stop(t, w)
	stop(t, b)
	stop(t, a)
}

// TestPayoutOnceWithTwoWorkers runs two processes that both serve the API
// and run workers on one database. Twenty orders are accepted at once,
// half through each, and each gets a second payout job on top (as a retry
// would): both processes run payouts at the same time, and each order is
// still paid exactly once.
func TestPayoutOnceWithTwoWorkers(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the heepr binary")
	}
	dbURL := heeprproc.FreshDatabase(t)
	began := time.Now()

	// Few workers each, so neither process can take every payout at once.
	p1 := heeprproc.New(t, "P1", "all", dbURL, heeprproc.MarketEnv("HEEPR_WORKERS=3")...).Start(t)
	p1.WaitReady(t)
	p2 := heeprproc.New(t, "P2", "all", dbURL, heeprproc.MarketEnv("HEEPR_WORKERS=3")...).Start(t)
	p2.WaitReady(t)
	procs := []*heeprproc.Proc{p1, p2}
	db := heeprproc.Connect(t, dbURL)

	m := heeprproc.NewMarket(t, p1, "twice")
	const orders = 20
	ids := make([]string, orders)
	prices := make([]int64, orders)
	for i := range orders {
		prices[i] = int64(10 + 3*i)
		ids[i] = m.DeliveredOrder(t, procs[i%2], i, prices[i])
	}

	// The customer accepts all twenty at once, half through each process.
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, orders)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- accept(t, procs[i%2], m, id)
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// A second payout job per order, as if the first were retried.
	_, err := db.Exec(t.Context(), `INSERT INTO river_job (args, kind, max_attempts, priority, queue, state, scheduled_at)
		SELECT jsonb_build_object('order_id', id), 'ordering.payout', 20, 1, 'default', 'available', now() FROM orders`)
	require.NoError(t, err)

	heeprproc.Eventually(t, "every payout job to complete", 45*time.Second, func() bool {
		return heeprproc.Count(t, db, `SELECT count(*) FROM river_job WHERE kind = 'ordering.payout' AND state = 'completed'`) == 2*orders
	})
	requirePaidOnce(t, db, m, ids, prices)
	heeprproc.RequireLedgerInvariants(t, dbURL)

	// Both processes ran payouts: two River clients appear in attempted_by,
	// and both processes count completed payouts, 2×orders between them.
	rows, err := db.Query(t.Context(), `SELECT attempted_by[1], count(*) FROM river_job
		WHERE kind = 'ordering.payout' GROUP BY 1 ORDER BY 1`)
	require.NoError(t, err)
	byClient := map[string]int64{}
	for rows.Next() {
		var client string
		var n int64
		require.NoError(t, rows.Scan(&client, &n))
		byClient[client] = n
	}
	require.NoError(t, rows.Err())
	require.Len(t, byClient, 2, "payouts ran on both processes: %v", byClient)
	n1, n2 := jobsFinished(t, p1, "ordering.payout"), jobsFinished(t, p2, "ordering.payout")
	require.Positive(t, n1, "P1 ran payouts")
	require.Positive(t, n2, "P2 ran payouts")
	require.Equal(t, float64(2*orders), n1+n2)
	require.Zero(t, heeprproc.Count(t, db, `SELECT count(*) FROM river_job WHERE kind = 'ordering.payout'
		AND (attempt <> 1 OR cardinality(attempted_by) <> 1 OR errors IS NOT NULL)`), "a payout job ran more than once:\n%s", jobTable(t, db))
	t.Logf("%d payout jobs for %d orders: P1 ran %v, P2 ran %v (by River client: %v); %v in all",
		2*orders, orders, n1, n2, byClient, time.Since(began).Round(time.Millisecond))

	stop(t, p2)
	stop(t, p1)
}

// accept is the customer's acceptance of a delivered order, for use off
// the test's goroutine (it returns what went wrong instead of failing).
func accept(t *testing.T, p *heeprproc.Proc, m heeprproc.Market, id string) error {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.Base+"/v1/orders/"+id+"/accept", nil)
	if err != nil {
		return err
	}
	heeprproc.Idem(m.Customer, "accept-"+id)(req)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("accept %s on %s: %d %s", id, p.Name, resp.StatusCode, raw)
	}
	var o orderView
	if err := json.Unmarshal(raw, &o); err != nil {
		return err
	}
	if o.Status != "completed" {
		return fmt.Errorf("accept %s on %s: status %s", id, p.Name, o.Status)
	}
	return nil
}

// requirePaidOnce checks the ledger in the database: each order has one
// payout and one fee posting, nothing is left in escrow, and the wallets
// and the platform account hold what the prices and the fee say.
func requirePaidOnce(t *testing.T, db *pgx.Conn, m heeprproc.Market, ids []string, prices []int64) {
	t.Helper()
	var paid, fees int64
	for i, id := range ids {
		fee := prices[i] * heeprproc.FeeBPS / 10_000
		var payouts, payoutAmount, feePostings, feeAmount, escrow int64
		require.NoError(t, db.QueryRow(t.Context(), `SELECT
			(SELECT count(*) FROM ledger_postings WHERE order_id = $1 AND kind = 'payout'),
			(SELECT coalesce(sum(amount), 0) FROM ledger_postings WHERE order_id = $1 AND kind = 'payout'),
			(SELECT count(*) FROM ledger_postings WHERE order_id = $1 AND kind = 'fee'),
			(SELECT coalesce(sum(amount), 0) FROM ledger_postings WHERE order_id = $1 AND kind = 'fee'),
			(SELECT coalesce(sum(balance), 0) FROM ledger_accounts WHERE kind = 'escrow' AND order_id = $1)`, id,
		).Scan(&payouts, &payoutAmount, &feePostings, &feeAmount, &escrow))
		require.Equal(t, int64(1), payouts, "order %s: payout postings", id)
		require.Equal(t, prices[i]-fee, payoutAmount, "order %s: paid", id)
		require.Equal(t, int64(1), feePostings, "order %s: fee postings", id)
		require.Equal(t, fee, feeAmount, "order %s: fee", id)
		require.Zero(t, escrow, "order %s: escrow left", id)
		var status string
		require.NoError(t, db.QueryRow(t.Context(), `SELECT status FROM orders WHERE id = $1`, id).Scan(&status))
		require.Equal(t, "completed", status, "order %s", id)
		paid += prices[i] - fee
		fees += fee
	}
	require.Equal(t, int64(len(ids)), heeprproc.Count(t, db, `SELECT count(*) FROM ledger_postings WHERE kind = 'payout'`))
	starter := heeprproc.Count(t, db, `SELECT amount FROM ledger_postings WHERE to_account = $1 ORDER BY created_at LIMIT 1`, "wallet:"+m.OwnerID)
	require.Equal(t, starter+paid, heeprproc.Count(t, db, `SELECT balance FROM ledger_accounts WHERE id = $1`, "wallet:"+m.OwnerID),
		"the owner's wallet: starter points plus every price less its fee")
	var spent int64
	for _, p := range prices {
		spent += p
	}
	require.Equal(t, starter-spent, heeprproc.Count(t, db, `SELECT balance FROM ledger_accounts WHERE id = $1`, "wallet:"+m.CustomerID),
		"the customer's wallet: starter points less every price")
	require.Equal(t, fees, heeprproc.Count(t, db, `SELECT balance FROM ledger_accounts WHERE id = 'platform'`), "the platform's fees")
}

// jobTable lists river_job for failure messages.
func jobTable(t *testing.T, db *pgx.Conn) string {
	t.Helper()
	rows, err := db.Query(t.Context(), `SELECT id, kind, state, attempt, coalesce(array_to_string(attempted_by, ','), ''),
		coalesce(errors::text, '') FROM river_job ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id int64
		var kind, state, by, errs string
		var attempt int
		require.NoError(t, rows.Scan(&id, &kind, &state, &attempt, &by, &errs))
		fmt.Fprintf(&b, "%d %s %s attempt=%d by=%s %s\n", id, kind, state, attempt, by, errs)
	}
	require.NoError(t, rows.Err())
	return b.String()
}

// jobsFinished sums heepr_jobs_total of p over every state, for one job
// kind or (kind "") all of them.
func jobsFinished(t *testing.T, p *heeprproc.Proc, kind string) float64 {
	t.Helper()
	if kind == "" {
		return p.Metric(t, "heepr_jobs_total")
	}
	return p.Metric(t, "heepr_jobs_total", `kind="`+kind+`"`)
}
