//go:build fault

package fault_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/test/internal/heeprproc"
)

// Load shape: placements quotes across agents and customers, at most
// loadConcurrency accepts in flight, one started every loadInterval.
const (
	loadAgents      = 4
	loadCustomers   = 4
	loadPerPair     = 25 // quotes per customer and agent: 4×4×25 = 400 placements
	loadConcurrency = 16
	loadInterval    = 8 * time.Millisecond
	// retryWithin bounds the retries after the fault: a request cut off
	// mid-flight leaves its key claimed for a minute (idempotencyLock in
	// adapters/http), so its retries answer 409 until then.
	retryWithin = 100 * time.Second
)

// placement is one order to place: the customer accepts the agent's quote
// with its own Idempotency-Key.
type placement struct {
	customer int
	quoteID  string
	price    int64
	key      string
}

// loadMarket is an owner with loadAgents manual agents, loadCustomers
// customers (1,000 starter points each) and a quote per placement.
type loadMarket struct {
	customers   []heeprproc.Auth
	customerIDs []string
	placements  []placement
}

func newLoadMarket(t *testing.T, h *heeprproc.Proc, tag string) loadMarket {
	t.Helper()
	owner := heeprproc.SignUp(t, h, tag+"-owner@example.com", "Owner", "owner")
	var m loadMarket
	for c := range loadCustomers {
		m.customers = append(m.customers, heeprproc.SignUp(t, h, fmt.Sprintf("%s-customer%d@example.com", tag, c), "Customer", "customer"))
		var me struct {
			ID string `json:"id"`
		}
		heeprproc.Call(t, h, http.MethodGet, "/v1/me", m.customers[c], nil, http.StatusOK, &me)
		m.customerIDs = append(m.customerIDs, me.ID)
	}
	for a := range loadAgents {
		handle := fmt.Sprintf("%s-agent%d", tag, a)
		agentID, key := heeprproc.PublishAgent(t, h, owner, map[string]any{
			"handle": handle, "name": "Fault " + handle, "specialty": "Short reports", "description": "Writes short reports.",
			"categories": []string{"writing"}, "polling_interval_seconds": 60, "accept_mode": "manual",
			"tiers": []map[string]any{{"name": "Standard", "price": 5, "delivery_days": 1, "revisions": 1}},
		})
		agent := heeprproc.Bearer(key)
		for c := range loadCustomers {
			var conv struct {
				ID string `json:"id"`
			}
			heeprproc.Call(t, h, http.MethodPost, "/v1/conversations", m.customers[c],
				map[string]any{"agent_id": agentID, "message": "Many small reports, please."}, http.StatusCreated, &conv)
			for i := range loadPerPair {
				price := int64(1 + (i+a+c)%5)
				var q struct {
					ID string `json:"id"`
				}
				heeprproc.Call(t, h, http.MethodPost, "/v1/conversations/"+conv.ID+"/quotes", agent, map[string]any{
					"title": fmt.Sprintf("Report %d", i), "description": "A short report.", "price": price, "delivery_days": 1,
					"revisions": 1, "category": "writing", "criteria": []string{"It is a report"},
					"expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
				}, http.StatusCreated, &q)
				m.placements = append(m.placements, placement{customer: c, quoteID: q.ID, price: price, key: "place-" + q.ID})
			}
		}
	}
	// Interleave customers and agents, as real traffic would.
	sort.Slice(m.placements, func(i, j int) bool { return m.placements[i].quoteID < m.placements[j].quoteID })
	return m
}

// outcome is what one accept got: a status (0: no answer) and the order.
type outcome struct {
	status   int
	code     string // the problem's type slug, if any
	orderID  string
	replayed bool
	err      error
	at       time.Time
}

func (o outcome) acked() bool { return o.status == http.StatusCreated }

// accept places the order of p once.
func (m loadMarket) accept(base string, p placement) outcome {
	req, err := http.NewRequest(http.MethodPost, base+"/v1/quotes/"+p.quoteID+"/accept", nil)
	if err != nil {
		return outcome{err: err, at: time.Now()}
	}
	heeprproc.Idem(m.customers[p.customer], p.key)(req)
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		return outcome{err: err, at: time.Now()}
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	o := outcome{status: resp.StatusCode, err: err, replayed: resp.Header.Get("Idempotent-Replayed") == "true", at: time.Now()}
	var body struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if jerr := json.Unmarshal(raw, &body); jerr != nil && o.err == nil && resp.StatusCode < 500 {
		o.err = fmt.Errorf("status %d, body %q: %w", resp.StatusCode, raw, jerr)
	}
	if o.acked() {
		o.orderID = body.ID
	} else {
		o.code = body.Type
	}
	return o
}

// loadRun places every order once, paced, in the background.
type loadRun struct {
	outcomes []outcome
	acked    atomic.Int64
	done     chan struct{}
	began    time.Time
}

func (m loadMarket) startLoad(base string) *loadRun {
	r := &loadRun{outcomes: make([]outcome, len(m.placements)), done: make(chan struct{}), began: time.Now()}
	next := make(chan int)
	var wg sync.WaitGroup
	for range loadConcurrency {
		wg.Go(func() {
			for i := range next {
				o := m.accept(base, m.placements[i])
				r.outcomes[i] = o
				if o.acked() {
					r.acked.Add(1)
				}
			}
		})
	}
	go func() {
		tick := time.NewTicker(loadInterval)
		defer tick.Stop()
		for i := range m.placements {
			<-tick.C
			next <- i
		}
		close(next)
		wg.Wait()
		close(r.done)
	}()
	return r
}

// waitAcked waits until n placements were acknowledged.
func (r *loadRun) waitAcked(t *testing.T, n int64) {
	t.Helper()
	heeprproc.Eventually(t, fmt.Sprintf("%d acknowledged placements", n), 60*time.Second, func() bool { return r.acked.Load() >= n })
}

func (r *loadRun) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the load did not finish within 2 minutes")
	}
}

// summary counts the load's outcomes by kind.
func (r *loadRun) summary() map[string]int {
	s := map[string]int{}
	for _, o := range r.outcomes {
		switch {
		case o.acked():
			s["201"]++
		case o.status != 0:
			s[fmt.Sprintf("%d %s", o.status, o.code)]++
		default:
			s["no answer"]++
		}
	}
	return s
}

// requireExactlyOnce retries every key until heepr answers it for good,
// then checks the database: one order per placement, each acknowledged
// order is the one its key answers, one hold per order, every customer
// paid exactly the prices of their orders, and the ledger's invariants.
func requireExactlyOnce(t *testing.T, h *heeprproc.Proc, dbURL string, m loadMarket, r *loadRun) (retries int, waited time.Duration) {
	t.Helper()
	began := time.Now()
	final := make([]outcome, len(m.placements))
	var mu sync.Mutex
	var tries int
	next := make(chan int)
	var wg sync.WaitGroup
	for range loadConcurrency {
		wg.Go(func() {
			for i := range next {
				for {
					o := m.accept(h.Base, m.placements[i])
					mu.Lock()
					tries++
					mu.Unlock()
					inProgress := o.status == http.StatusConflict && o.code == "https://heepr.dev/problems/idempotency-in-progress"
					if (o.status == 0 || o.status >= 500 || inProgress) && time.Since(began) < retryWithin {
						time.Sleep(500 * time.Millisecond)
						continue
					}
					final[i] = o
					break
				}
			}
		})
	}
	for i := range m.placements {
		next <- i
	}
	close(next)
	wg.Wait()
	waited = time.Since(began)

	for i, p := range m.placements {
		first, o := r.outcomes[i], final[i]
		require.NoError(t, o.err, "retry of key %s", p.key)
		require.Equal(t, http.StatusCreated, o.status, "retry of key %s answers the order (code %s)", p.key, o.code)
		require.NotEmpty(t, o.orderID)
		if first.acked() {
			require.True(t, o.replayed, "the retry of acknowledged key %s is a replay", p.key)
			require.Equal(t, first.orderID, o.orderID, "key %s: the retry answers the acknowledged order", p.key)
		}
	}

	db := heeprproc.Connect(t, dbURL)
	require.Equal(t, int64(len(m.placements)), heeprproc.Count(t, db, `SELECT count(*) FROM orders`), "one order per placement")
	rows, err := db.Query(t.Context(), `SELECT quote_id, id FROM orders`)
	require.NoError(t, err)
	orderOf := map[string]string{}
	for rows.Next() {
		var q, id string
		require.NoError(t, rows.Scan(&q, &id))
		require.NotContains(t, orderOf, q, "quote %s has two orders", q)
		orderOf[q] = id
	}
	require.NoError(t, rows.Err())
	spent := make([]int64, loadCustomers)
	for i, p := range m.placements {
		require.Equal(t, final[i].orderID, orderOf[p.quoteID], "quote %s: the order in the database is the one its key answers", p.quoteID)
		spent[p.customer] += p.price
	}
	require.Equal(t, int64(len(m.placements)), heeprproc.Count(t, db, `SELECT count(*) FROM ledger_postings WHERE kind = 'hold'`), "one hold per order")
	require.Zero(t, heeprproc.Count(t, db, `SELECT count(*) FROM orders o WHERE (SELECT count(*) FROM ledger_postings p
		WHERE p.order_id = o.id AND p.kind = 'hold' AND p.amount = o.price) <> 1`), "each order holds its price once")
	require.Zero(t, heeprproc.Count(t, db, `SELECT count(*) FROM idempotency_keys WHERE state <> 'done'`), "every key is done")
	for c, id := range m.customerIDs {
		starter := heeprproc.Count(t, db, `SELECT amount FROM ledger_postings WHERE kind = 'starter_grant' AND to_account = $1`, "wallet:"+id)
		require.Equal(t, starter-spent[c], heeprproc.Count(t, db, `SELECT balance FROM ledger_accounts WHERE id = $1`, "wallet:"+id),
			"customer %d paid exactly the prices of their orders", c)
	}
	heeprproc.RequireLedgerInvariants(t, dbURL)
	return tries, waited
}

// TestPostgresRestartUnderLoad crashes Postgres (pg_ctl restart -m
// immediate on a private cluster, ADR 15) while customers place orders
// with idempotency keys. heepr is not restarted: it must recover by
// itself, and every acknowledged order must exist once.
func TestPostgresRestartUnderLoad(t *testing.T) {
	t.Parallel()
	pg := startPrivatePostgres(t)
	dbURL := heeprproc.CreateDatabase(t, pg.url(), false)
	h := newProc(t, "PG", "all", dbURL).Start(t)
	h.WaitReady(t)
	m := newLoadMarket(t, h, "pgrestart")

	r := m.startLoad(h.Base)
	third := int64(len(m.placements) / 3)
	r.waitAcked(t, third)
	crashedAt := time.Since(r.began)
	ackedBefore := r.acked.Load()
	down := pg.restartImmediate(t)
	restartedAt := time.Since(r.began)

	// heepr recovers by itself: ready again, and new orders are placed
	// through the same process.
	h.WaitReady(t)
	readyAt := time.Since(r.began)
	r.wait(t)
	var ackedAfter int
	for _, o := range r.outcomes {
		if o.acked() && o.at.Sub(r.began) > restartedAt {
			ackedAfter++
		}
	}
	select {
	case <-h.Exited():
		t.Fatalf("heepr exited when Postgres restarted: %v", h.Err())
	default:
	}
	tries, waited := requireExactlyOnce(t, h, dbURL, m, r)
	// Every placement has its order now. Those the load did not see
	// acknowledged were placed after Postgres came back, by the retries or
	// late in the load, through this same process: it recovered by itself.
	// (When the load ends while Postgres is still starting, only the
	// retries show it.)
	select {
	case <-h.Exited():
		t.Fatalf("heepr exited during the retries: %v", h.Err())
	default:
	}
	placedAfter := ackedAfter + len(m.placements) - int(r.acked.Load())
	require.Positive(t, placedAfter, "heepr placed orders after Postgres came back, without a restart of its own")
	t.Logf("%d placements; Postgres crashed at %v after %d acknowledged, down %v (pg_ctl restart -m immediate), heepr ready again at %v; "+
		"load outcomes %v (%d acknowledged after the restart); retried every key: %d requests over %v; one order per key, ledger invariants hold",
		len(m.placements), crashedAt.Round(time.Millisecond), ackedBefore, down.Round(time.Millisecond), readyAt.Round(time.Millisecond),
		r.summary(), ackedAfter, tries, waited.Round(time.Millisecond))
	h.Stop(t)
}

// TestSIGKILLUnderLoad kills heepr with SIGKILL while customers place
// orders with idempotency keys, starts it again on the same address and
// database, and checks that every acknowledged order exists once and
// every key, retried, answers exactly one order.
func TestSIGKILLUnderLoad(t *testing.T) {
	t.Parallel()
	dbURL := heeprproc.FreshDatabase(t)
	p := newProc(t, "K1", "all", dbURL)
	h := p.Start(t)
	h.WaitReady(t)
	m := newLoadMarket(t, h, "sigkill")

	r := m.startLoad(h.Base)
	third := int64(len(m.placements) / 3)
	r.waitAcked(t, third)
	killedAt := time.Since(r.began)
	ackedBefore := r.acked.Load()
	h.Kill(t)
	p.Name = "K2"
	h = p.Start(t)
	h.WaitReady(t)
	readyAt := time.Since(r.began)
	r.wait(t)

	tries, waited := requireExactlyOnce(t, h, dbURL, m, r)
	t.Logf("%d placements; SIGKILL at %v after %d acknowledged, heepr ready again at %v; load outcomes %v; "+
		"retried every key: %d requests over %v; one order per key, ledger invariants hold",
		len(m.placements), killedAt.Round(time.Millisecond), ackedBefore, readyAt.Round(time.Millisecond),
		r.summary(), tries, waited.Round(time.Millisecond))
	h.Stop(t)
}
