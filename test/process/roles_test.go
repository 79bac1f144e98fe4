package process_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/ledgertest"
)

// feeBPS is the platform fee the role tests run with (10 %).
const feeBPS = 1000

// roleEnv is the configuration every process of the role tests shares:
// a fee, so payouts and fees are told apart, and no rate limits (one
// client signs up and orders from 127.0.0.1 many times).
func roleEnv(extra ...string) []string {
	return append([]string{"HEEPR_PLATFORM_FEE_BPS=" + strconv.Itoa(feeBPS), "HEEPR_RATE_LIMITS=off"}, extra...)
}

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
	dbURL := freshDatabase(t)
	bin := binary(t)
	began := time.Now()

	// A migrates the fresh database; B finds it up to date.
	a := startHeepr(t, bin, "A", "api", dbURL, roleEnv()...)
	a.waitReady(t)
	b := startHeepr(t, bin, "B", "api", dbURL, roleEnv()...)
	b.waitReady(t)
	waitListeners(t, dbURL, 2)
	db := connect(t, dbURL)

	// 1. With only API processes up, jobs are enqueued and nobody runs them.
	m := newMarket(t, a, "split")
	jobsBefore := count(t, db, `SELECT count(*) FROM river_job`)
	require.Positive(t, jobsBefore, "sign-up and publish enqueue jobs")
	time.Sleep(2500 * time.Millisecond) // more than two of River's fetch polls
	var notWaiting int64
	require.NoError(t, db.QueryRow(t.Context(), `SELECT count(*) FROM river_job
		WHERE state <> 'available' OR attempt <> 0 OR attempted_by IS NOT NULL`).Scan(&notWaiting))
	require.Zero(t, notWaiting, "an API process ran a job:\n%s", jobTable(t, db))
	for _, p := range []*heeprProc{a, b} {
		require.Zero(t, p.jobsFinished(t, ""), "heepr %s (role api) finished jobs", p.name)
	}

	// The worker starts and runs them.
	w := startHeepr(t, bin, "W", "worker", dbURL, roleEnv()...)
	w.waitReady(t)
	require.Contains(t, w.stderr.String(), `"role":"worker"`)
	eventually(t, "the worker to run the jobs the API processes enqueued", 30*time.Second, func() bool {
		return count(t, db, `SELECT count(*) FROM river_job WHERE state <> 'completed'`) == 0
	})
	require.GreaterOrEqual(t, w.jobsFinished(t, ""), float64(jobsBefore))
	// The worker serves no API.
	resp, err := http.Get(w.base + "/v1/me")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the worker role serves no API")

	// 2. A long-poll held on B is woken by a write through A.
	cursor := drain(t, b, m.agent)
	poll := holdPoll(t, b, m.agent, cursor)
	b.waitPollsWaiting(t, 1, poll)
	body := "Wake B through A " + randomSuffix(t)
	var conv struct {
		ID string `json:"id"`
	}
	call(t, a, http.MethodPost, "/v1/conversations", m.customer,
		map[string]any{"agent_id": m.agentID, "message": body}, http.StatusCreated, &conv)
	requireMessageEvent(t, poll.await(t, time.Now()), conv.ID, body)

	// 3. A key rotated through A stops working on B, which remembers the
	// old key from the polls above (ADR 13): the rotation's notification
	// reaches B's hub, and B reads the key afresh.
	call(t, b, http.MethodGet, pollPath(cursor, 0), m.agent, nil, http.StatusOK, nil)
	var rotated struct {
		APIKey string `json:"api_key"`
	}
	rotatedAt := time.Now()
	call(t, a, http.MethodPost, "/v1/agents/"+m.agentID+"/key", m.owner, nil, http.StatusOK, &rotated)
	require.NotEmpty(t, rotated.APIKey)
	tries := 0
	for refused := false; !refused; tries++ {
		require.Less(t, time.Since(rotatedAt), time.Second, "B still takes the old key a second after its rotation through A")
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.base+pollPath(cursor, 0), nil)
		require.NoError(t, err)
		m.agent(req)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		refused = resp.StatusCode == http.StatusUnauthorized
	}
	t.Logf("B refused the old key %v after the rotation through A was sent (%d tries)", time.Since(rotatedAt).Round(time.Microsecond), tries)
	m.agent = bearer(rotated.APIKey)
	call(t, b, http.MethodGet, pollPath(cursor, 0), m.agent, nil, http.StatusOK, nil)
	call(t, a, http.MethodGet, pollPath(cursor, 0), m.agent, nil, http.StatusOK, nil)

	// 4. Ten orders, alternating the API process, from quote to acceptance.
	const orders = 10
	var ids []string
	var prices []int64
	for i := range orders {
		via := []*heeprProc{a, b}[i%2]
		price := int64(20 + 5*i)
		id := m.deliveredOrder(t, via, i, price)
		call(t, via, http.MethodPost, "/v1/orders/"+id+"/accept", idem(m.customer, "accept-"+id), nil, http.StatusOK, nil)
		ids, prices = append(ids, id), append(prices, price)
	}
	eventually(t, "every job to complete", 30*time.Second, func() bool {
		return count(t, db, `SELECT count(*) FROM river_job WHERE state <> 'completed'`) == 0 &&
			count(t, db, `SELECT count(*) FROM river_job WHERE kind = 'ordering.payout'`) == orders
	})
	requirePaidOnce(t, db, m, ids, prices)
	requireLedgerInvariants(t, dbURL)

	// Every job ran once, and on the worker: one client attempted them all,
	// and only the worker reports finished jobs. (A periodic job the worker
	// enqueues meanwhile may not have run yet: only jobs that ran count.)
	var attemptedBy []string
	rows, err := db.Query(t.Context(), `SELECT DISTINCT attempted_by[1] FROM river_job WHERE attempted_by IS NOT NULL`)
	require.NoError(t, err)
	attemptedBy, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, attemptedBy, 1, "one River client (the worker's) ran every job: %v", attemptedBy)
	require.Zero(t, count(t, db, `SELECT count(*) FROM river_job WHERE state <> 'available'
		AND (attempt <> 1 OR cardinality(attempted_by) <> 1 OR errors IS NOT NULL)`),
		"a job ran more than once:\n%s", jobTable(t, db))
	total := count(t, db, `SELECT count(*) FROM river_job WHERE state = 'completed'`)
	require.GreaterOrEqual(t, w.jobsFinished(t, ""), float64(total), "the worker finished every job")
	require.Equal(t, float64(orders), w.jobsFinished(t, "ordering.payout"))
	for _, p := range []*heeprProc{a, b} {
		require.Zero(t, p.jobsFinished(t, ""), "heepr %s (role api) finished jobs", p.name)
	}
	t.Logf("%d orders through A and B, %d jobs, all run once by W; %v in all", orders, total, time.Since(began).Round(time.Millisecond))

	w.stop(t)
	b.stop(t)
	a.stop(t)
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
	dbURL := freshDatabase(t)
	bin := binary(t)
	began := time.Now()

	// Few workers each, so neither process can take every payout at once.
	p1 := startHeepr(t, bin, "P1", "all", dbURL, roleEnv("HEEPR_WORKERS=3")...)
	p1.waitReady(t)
	p2 := startHeepr(t, bin, "P2", "all", dbURL, roleEnv("HEEPR_WORKERS=3")...)
	p2.waitReady(t)
	procs := []*heeprProc{p1, p2}
	db := connect(t, dbURL)

	m := newMarket(t, p1, "twice")
	const orders = 20
	ids := make([]string, orders)
	prices := make([]int64, orders)
	for i := range orders {
		prices[i] = int64(10 + 3*i)
		ids[i] = m.deliveredOrder(t, procs[i%2], i, prices[i])
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

	eventually(t, "every payout job to complete", 45*time.Second, func() bool {
		return count(t, db, `SELECT count(*) FROM river_job WHERE kind = 'ordering.payout' AND state = 'completed'`) == 2*orders
	})
	requirePaidOnce(t, db, m, ids, prices)
	requireLedgerInvariants(t, dbURL)

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
	n1, n2 := p1.jobsFinished(t, "ordering.payout"), p2.jobsFinished(t, "ordering.payout")
	require.Positive(t, n1, "P1 ran payouts")
	require.Positive(t, n2, "P2 ran payouts")
	require.Equal(t, float64(2*orders), n1+n2)
	require.Zero(t, count(t, db, `SELECT count(*) FROM river_job WHERE kind = 'ordering.payout'
		AND (attempt <> 1 OR cardinality(attempted_by) <> 1 OR errors IS NOT NULL)`), "a payout job ran more than once:\n%s", jobTable(t, db))
	t.Logf("%d payout jobs for %d orders: P1 ran %v, P2 ran %v (by River client: %v); %v in all",
		2*orders, orders, n1, n2, byClient, time.Since(began).Round(time.Millisecond))

	p2.stop(t)
	p1.stop(t)
}

// market is an owner with one published agent that accepts orders on its
// own, and a customer.
type market struct {
	owner, customer, agent auth
	ownerID, customerID    string
	agentID                string
}

func newMarket(t *testing.T, p *heeprProc, handle string) market {
	t.Helper()
	m := market{
		owner:    signUp(t, p, handle+"-owner@example.com", "Owner", "owner"),
		customer: signUp(t, p, handle+"-customer@example.com", "Customer", "customer"),
	}
	var me struct {
		ID string `json:"id"`
	}
	call(t, p, http.MethodGet, "/v1/me", m.owner, nil, http.StatusOK, &me)
	m.ownerID = me.ID
	call(t, p, http.MethodGet, "/v1/me", m.customer, nil, http.StatusOK, &me)
	m.customerID = me.ID
	var created struct {
		Agent struct {
			ID string `json:"id"`
		} `json:"agent"`
		APIKey string `json:"api_key"`
	}
	call(t, p, http.MethodPost, "/v1/agents", m.owner, map[string]any{
		"handle": handle, "name": "Role test " + handle, "specialty": "Short reports", "description": "Writes short reports.",
		"categories": []string{"writing"}, "polling_interval_seconds": 60, "accept_mode": "auto",
		"auto_bands": map[string]any{"min_price": 1, "max_price": 1000, "categories": []string{"writing"}, "max_revisions": 3, "max_active_orders": 100},
		"tiers":      []map[string]any{{"name": "Standard", "price": 10, "delivery_days": 1, "revisions": 1}},
	}, http.StatusCreated, &created)
	m.agentID, m.agent = created.Agent.ID, bearer(created.APIKey)
	call(t, p, http.MethodPost, "/v1/agents/"+m.agentID+"/publish", m.owner, nil, http.StatusOK, nil)
	return m
}

// deliveredOrder runs one order through p up to the customer's acceptance:
// the customer writes, the agent quotes, the customer accepts the quote
// (the agent accepts orders on its own), the agent delivers and the owner
// releases the delivery. It returns the order's id.
func (m market) deliveredOrder(t *testing.T, p *heeprProc, i int, price int64) string {
	t.Helper()
	var conv struct {
		ID string `json:"id"`
	}
	call(t, p, http.MethodPost, "/v1/conversations", m.customer,
		map[string]any{"agent_id": m.agentID, "message": fmt.Sprintf("Report number %d, please.", i)}, http.StatusCreated, &conv)
	var quote struct {
		ID string `json:"id"`
	}
	call(t, p, http.MethodPost, "/v1/conversations/"+conv.ID+"/quotes", m.agent, map[string]any{
		"title": fmt.Sprintf("Report %d", i), "description": "A short report.", "price": price, "delivery_days": 1,
		"revisions": 1, "category": "writing", "criteria": []string{"It is a report"},
		"expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
	}, http.StatusCreated, &quote)
	var order orderView
	call(t, p, http.MethodPost, "/v1/quotes/"+quote.ID+"/accept", idem(m.customer, "quote-"+quote.ID), nil, http.StatusCreated, &order)
	require.Equal(t, "in_progress", order.Status, "the agent accepts orders on its own")

	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	require.NoError(t, mw.WriteField("message", fmt.Sprintf("Here is report %d.", i)))
	fw, err := mw.CreateFormFile("files", "report.md")
	require.NoError(t, err)
	_, err = fmt.Fprintf(fw, "# Report %d\n\nAll done.\n", i)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.base+"/v1/orders/"+order.ID+"/deliveries", &mp)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	m.agent(req)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, "deliver on %s: %s", p.name, raw)
	var delivery struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(raw, &delivery))
	call(t, p, http.MethodPost, "/v1/deliveries/"+delivery.ID+"/release", m.owner, nil, http.StatusOK, nil)
	return order.ID
}

// accept is the customer's acceptance of a delivered order, for use off
// the test's goroutine (it returns what went wrong instead of failing).
func accept(t *testing.T, p *heeprProc, m market, id string) error {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.base+"/v1/orders/"+id+"/accept", nil)
	if err != nil {
		return err
	}
	idem(m.customer, "accept-"+id)(req)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("accept %s on %s: %d %s", id, p.name, resp.StatusCode, raw)
	}
	var o orderView
	if err := json.Unmarshal(raw, &o); err != nil {
		return err
	}
	if o.Status != "completed" {
		return fmt.Errorf("accept %s on %s: status %s", id, p.name, o.Status)
	}
	return nil
}

// requirePaidOnce checks the ledger in the database: each order has one
// payout and one fee posting, nothing is left in escrow, and the wallets
// and the platform account hold what the prices and the fee say.
func requirePaidOnce(t *testing.T, db *pgx.Conn, m market, ids []string, prices []int64) {
	t.Helper()
	var paid, fees int64
	for i, id := range ids {
		fee := prices[i] * feeBPS / 10_000
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
	require.Equal(t, int64(len(ids)), count(t, db, `SELECT count(*) FROM ledger_postings WHERE kind = 'payout'`))
	starter := count(t, db, `SELECT amount FROM ledger_postings WHERE to_account = $1 ORDER BY created_at LIMIT 1`, "wallet:"+m.ownerID)
	require.Equal(t, starter+paid, count(t, db, `SELECT balance FROM ledger_accounts WHERE id = $1`, "wallet:"+m.ownerID),
		"the owner's wallet: starter points plus every price less its fee")
	var spent int64
	for _, p := range prices {
		spent += p
	}
	require.Equal(t, starter-spent, count(t, db, `SELECT balance FROM ledger_accounts WHERE id = $1`, "wallet:"+m.customerID),
		"the customer's wallet: starter points less every price")
	require.Equal(t, fees, count(t, db, `SELECT balance FROM ledger_accounts WHERE id = 'platform'`), "the platform's fees")
}

// requireLedgerInvariants runs the ledger's own invariant check (the one
// every ledger test and the periodic audit job run) on the database.
func requireLedgerInvariants(t *testing.T, dbURL string) {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{DatabaseURL: dbURL, MaxConns: 2})
	require.NoError(t, err)
	defer db.Close()
	ledgertest.RequireInvariants(t, ledgertest.New(db, nil, ledger.Config{PlatformFeeBPS: feeBPS}))
}

func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// count runs a query answering one integer.
func count(t *testing.T, db *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRow(t.Context(), sql, args...).Scan(&n), "%s", sql)
	return n
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
func (p *heeprProc) jobsFinished(t *testing.T, kind string) float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(p.base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "heepr_jobs_total{") || (kind != "" && !strings.Contains(line, `kind="`+kind+`"`)) {
			continue
		}
		f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		require.NoError(t, err, "%s", line)
		sum += f
	}
	require.NoError(t, sc.Err())
	return sum
}
