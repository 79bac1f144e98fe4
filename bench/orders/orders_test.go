package orders_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/ledgertest"
)

// httpClient keeps one connection per bench client alive.
var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}, Timeout: time.Minute}

// accept posts acceptQuote for quote as p's customer (session cookie),
// with a new Idempotency-Key unless key is given.
func (e *env) accept(p pair, quote, key string) (int, []byte, error) {
	if key == "" {
		key = kernel.NewID()
	}
	req, err := http.NewRequest(http.MethodPost, e.app.url+"/v1/quotes/"+quote+"/accept", nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Idempotency-Key", key)
	req.AddCookie(&http.Cookie{Name: "heepr_session", Value: p.session})
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// capture records one acceptQuote of p through heepr and turns it into the
// pgbench script.
func (e *env) capture(tb testing.TB, p pair) (capture, string, []string) {
	tb.Helper()
	quote := kernel.NewID()
	e.cloneQuotes(tb, p, []string{quote})
	key := "capture-" + kernel.NewID()
	e.tracer.start()
	status, body, err := e.accept(p, quote, key)
	stmts := e.tracer.stop()
	if err != nil || status != http.StatusCreated {
		tb.Fatalf("acceptQuote: %d %s %v", status, body, err)
	}
	var o struct{ ID string }
	if err := json.Unmarshal(body, &o); err != nil || o.ID == "" {
		tb.Fatalf("acceptQuote answer: %s", body)
	}
	c := capture{stmts: stmts, quote: quote, order: o.ID, idemKey: key, fixed: map[string]string{
		"wallet:" + string(p.customer): ":hq_wallet", "user:" + string(p.customer): ":hq_principal",
		string(p.customer): ":hq_customer", string(p.owner): ":hq_owner", p.agent: ":hq_agent", p.conversation: ":hq_conv",
		p.sessionHash: ":hq_session", p.handle: ":hq_handle", p.name: ":hq_cname",
	}}
	script, scriptStmts, err := pgbenchScript(c)
	if err != nil {
		tb.Fatal(err)
	}
	return c, script, scriptStmts
}

// registerClients writes bench_clients: pgbench client i works as pairs[i].
func (e *env) registerClients(tb testing.TB, pairs []pair) {
	tb.Helper()
	ctx := context.Background()
	if _, err := e.db.Pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_clients (client int PRIMARY KEY, hq_customer text, hq_owner text,
		hq_agent text, hq_conv text, hq_wallet text, hq_principal text, hq_session text, hq_handle text, hq_cname text)`); err != nil {
		tb.Fatal(err)
	}
	for i, p := range pairs {
		if _, err := e.db.Pool.Exec(ctx, `INSERT INTO bench_clients VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, i,
			string(p.customer), string(p.owner), p.agent, p.conversation, "wallet:"+string(p.customer), "user:"+string(p.customer),
			p.sessionHash, p.handle, p.name); err != nil {
			tb.Fatal(err)
		}
	}
}

// sideResult is one side's run of one scenario.
type sideResult struct {
	ops       int
	ok        int // placed orders, or holds that went through
	refused   int // holds refused for want of points
	wall      time.Duration
	latencies []time.Duration
}

func (r sideResult) opsPerSec() float64 { return float64(r.ops) / r.wall.Seconds() }

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// heeprOrders places perClient orders per pair over HTTP, one goroutine per
// pair at once, on quotes prepared beforehand.
func (e *env) heeprOrders(tb testing.TB, pairs []pair, perClient int) sideResult {
	tb.Helper()
	quotes := make([][]string, len(pairs))
	for i, p := range pairs {
		for range perClient {
			quotes[i] = append(quotes[i], kernel.NewID())
		}
		e.cloneQuotes(tb, p, quotes[i])
	}
	lat := make([][]time.Duration, len(pairs))
	errs := make(chan error, len(pairs))
	var wg sync.WaitGroup
	start := time.Now()
	for i, p := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, q := range quotes[i] {
				t0 := time.Now()
				status, body, err := e.accept(p, q, "")
				lat[i] = append(lat[i], time.Since(t0))
				if err != nil || status != http.StatusCreated {
					errs <- fmt.Errorf("acceptQuote %s: %d %s %v", q, status, body, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	r := sideResult{ops: len(pairs) * perClient, ok: len(pairs) * perClient, wall: wall}
	for _, l := range lat {
		r.latencies = append(r.latencies, l...)
	}
	return r
}

// pgbenchOrders runs the script with one pgbench client per pair, on
// quotes prepared beforehand (round r's ids).
func (e *env) pgbenchOrders(tb testing.TB, script string, pairs []pair, perClient, round int) sideResult {
	tb.Helper()
	for c, p := range pairs {
		ids := make([]string, perClient)
		for i := range ids {
			ids[i] = pgQuoteID(round, c, i+1)
		}
		e.cloneQuotes(tb, p, ids)
	}
	run, err := runPgbench(context.Background(), e.schema, script, len(pairs), perClient, map[string]string{"hq_i": "0", "hq_round": fmt.Sprint(round)})
	if err != nil {
		tb.Fatal(err)
	}
	if run.failed != 0 {
		tb.Fatalf("pgbench: %d failed transactions\n%s", run.failed, run.output)
	}
	return sideResult{ops: run.tx, ok: run.tx, wall: time.Duration(run.seconds * float64(time.Second)), latencies: run.latencies}
}

// spendAmount is what every hot-wallet spend takes.
const spendAmount = 10

// hotWallet opens a wallet holding enough for three quarters of the
// attempts (so the last quarter is refused: the wallet runs dry mid-run).
func (e *env) hotWallet(tb testing.TB, attempts int) (kernel.UserID, int64) {
	tb.Helper()
	start := int64(attempts*3/4) * spendAmount
	who := kernel.UserID(kernel.NewID())
	funder := ledgertest.New(e.db, kernel.SystemClock{}, ledger.Config{StarterPoints: kernel.Points(start)})
	if err := funder.GrantStarter(context.Background(), who); err != nil {
		tb.Fatal(err)
	}
	return who, start
}

func (e *env) balance(tb testing.TB, who kernel.UserID) int64 {
	tb.Helper()
	var b int64
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT balance FROM ledger_accounts WHERE id = $1", "wallet:"+string(who)).Scan(&b); err != nil {
		tb.Fatal(err)
	}
	return b
}

// heeprSpend: clients goroutines each place perClient holds (ledger.Service.Hold,
// the step of acceptQuote that spends) of spendAmount on one wallet at once,
// and checks the result is exact.
func (e *env) heeprSpend(tb testing.TB, clients, perClient int) sideResult {
	tb.Helper()
	ctx := context.Background()
	who, start := e.hotWallet(tb, clients*perClient)
	lat := make([][]time.Duration, clients)
	oks, refused := make([]int, clients), make([]int, clients)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	t0 := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				s := time.Now()
				err := e.app.ledger.Hold(ctx, kernel.NewID(), who, spendAmount)
				lat[c] = append(lat[c], time.Since(s))
				switch {
				case err == nil:
					oks[c]++
				case errors.Is(err, kernel.ErrInsufficientPoints):
					refused[c]++
				default:
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	r := sideResult{ops: clients * perClient, wall: wall}
	for c := range clients {
		r.ok, r.refused = r.ok+oks[c], r.refused+refused[c]
		r.latencies = append(r.latencies, lat[c]...)
	}
	final := e.balance(tb, who)
	if final != start-int64(r.ok)*spendAmount || final < 0 || int64(r.ok) != start/spendAmount || r.ok+r.refused != r.ops {
		tb.Fatalf("hot wallet (heepr) not exact: start %d, %d holds of %d went through, %d refused, final balance %d", start, r.ok, spendAmount, r.refused, final)
	}
	var escrowed int64
	if err := e.db.Pool.QueryRow(ctx, "SELECT coalesce(sum(balance), 0) FROM ledger_accounts WHERE kind = 'escrow' AND user_id = $1", string(who)).Scan(&escrowed); err != nil {
		tb.Fatal(err)
	}
	if escrowed != int64(r.ok)*spendAmount {
		tb.Fatalf("hot wallet (heepr): %d points in escrow for %d holds", escrowed, r.ok)
	}
	return r
}

// spendScript is the hot-wallet baseline: one conditional UPDATE.
const spendScript = "UPDATE ledger_accounts SET balance = balance - :amt WHERE id = ':wallet' AND balance >= :amt;\n"

// pgbenchSpend runs spendScript with clients clients on a new wallet and
// checks the result is exact.
func (e *env) pgbenchSpend(tb testing.TB, clients, perClient int) sideResult {
	tb.Helper()
	who, start := e.hotWallet(tb, clients*perClient)
	run, err := runPgbench(context.Background(), e.schema, spendScript, clients, perClient,
		map[string]string{"amt": fmt.Sprint(spendAmount), "wallet": "wallet:" + string(who)})
	if err != nil {
		tb.Fatal(err)
	}
	final := e.balance(tb, who)
	ok := int((start - final) / spendAmount)
	if final != 0 || run.failed != 0 || int64(ok) != start/spendAmount {
		tb.Fatalf("hot wallet (pgbench) not exact: start %d, final balance %d, %d failed", start, final, run.failed)
	}
	return sideResult{ops: run.tx, ok: ok, refused: run.tx - ok, wall: time.Duration(run.seconds * float64(time.Second)), latencies: run.latencies}
}
