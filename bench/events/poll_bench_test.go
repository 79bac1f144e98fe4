// Package events_test benchmarks the agent events feed, pollAgentEvents
// (GET /v1/agent/events), over real HTTP against the whole heepr handler.
//
// BenchmarkEventsPoll measures throughput of a poll that finds nothing new,
// beside a baseline that sends the same SQL statements through the driver
// in a bare loop on the same connection pool, and, as a reference for what
// HTTP alone costs, the same statements behind a minimal net/http handler
// (http):
//
//   - acked: the agent's events are all acknowledged, so a poll is the key
//     lookup of the authentication and the read of the feed row;
//   - leased: three events are handed out and leased, the poll's cursor is
//     after them, so the poll also runs the events query (store.TakeSQL),
//     which returns nothing.
//
// The polls over HTTP (heepr, http, hello) are sent by pollConn
// (client_test.go, ADR 16): one keep-alive connection per goroutine that
// writes the request and reads the answer itself, so the client costs as
// little as it can on the two cores it shares with the server and Postgres.
// gohttp is heepr again through Go's http.Client, what a Go agent's own
// client adds, for reference.
//
// BenchmarkEventsHold (hold_bench_test.go) holds thousands of long-polls
// (wait=30) and measures their memory, the database connections they keep,
// and how fast a written event reaches its poll.
//
// `make bench` runs both and writes the tables to docs/PERFORMANCE.md. By hand:
//
//	go test -run '^$' -bench BenchmarkEventsPoll -benchmem ./bench/events
//	go test -run '^$' -bench 'BenchmarkEventsHold/postgres' -benchtime 1x ./bench/events
//
// Postgres (127.0.0.1:5432 or DATABASE_URL) is required; each run gets a
// fresh schema, dropped at the end. SQLite runs in a temporary directory.
// HEEPR_BENCH_FLIP=1 runs heepr before the baseline in every pair (the
// runner alternates it between rounds so neither side always goes first).
// TestBaselineMatchesHeepr (baseline_test.go, part of `make test`) fails
// when the statements of heepr's poll and the baseline's drift apart.
package events_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
)

const (
	agentsPerKind = 500 // seeded agents per feed kind (the key lookup searches 1,000)
	pollers       = 16  // agents the benchmark polls as (parallel: one per goroutine)
	pageLimit     = 50  // the default limit, which the events query binds
)

// env is one database with heepr serving it and the baseline beside it.
type env struct {
	name      string
	db        *store.DB
	app       *heeprApp
	raw       querier
	client    *http.Client
	fixtures  map[feedKind][]agentFixture
	bareHost  string // the bare HTTP server: the baseline's SQL behind a minimal handler
	helloHost string // a hello-world handler on the same server settings: no database at all
}

func BenchmarkEventsPoll(b *testing.B) {
	ctx := context.Background()
	pg := openEnv(b, store.Config{DatabaseURL: storetest.PostgresURL(), Schema: storetest.NewSchema(b)}, agentsPerKind) // production pool size
	var version string
	if err := pg.db.Bun.QueryRowContext(ctx, "SHOW server_version").Scan(&version); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("postgres-version: %s\n", version)
	envs := []*env{pg, openEnv(b, store.Config{DataDir: b.TempDir()}, agentsPerKind)}
	impls := []string{"baseline", "http", "heepr", "gohttp"}
	if os.Getenv("HEEPR_BENCH_FLIP") == "1" {
		impls = []string{"gohttp", "heepr", "http", "baseline"}
	}
	for _, e := range envs {
		b.Run(e.name, func(b *testing.B) {
			for _, kind := range []feedKind{kindAcked, kindLeased, kindCached} {
				e.app.cacheFeeds(kind == kindCached)
				e.warm(b, kind)
				b.Run(string(kind), func(b *testing.B) {
					for _, mode := range []string{"serial", "parallel"} {
						b.Run(mode, func(b *testing.B) {
							for _, impl := range impls {
								b.Run(impl, func(b *testing.B) { e.bench(b, kind, mode, impl) })
								// The fast path answers without the database: its
								// floor is a hello-world handler (issue 10).
								if impl == "http" && kind == kindCached {
									b.Run("hello", func(b *testing.B) { e.bench(b, kind, mode, "hello") })
								}
							}
						})
					}
				})
			}
		})
	}
}

// openEnv opens and migrates cfg's database (Postgres when it has a URL),
// starts heepr on it and seeds perKind agents of each feed kind.
func openEnv(tb testing.TB, cfg store.Config, perKind int) *env {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate (is Postgres at %s up?): %v", storetest.PostgresURL(), err)
	}
	e := &env{name: string(db.Dialect), db: db, app: startHeepr(tb, db), fixtures: map[feedKind][]agentFixture{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	tb.Cleanup(e.client.CloseIdleConnections)
	if db.Dialect == store.Postgres {
		// The pgxpool under heepr's *sql.DB: the same connections.
		e.raw = pgQuerier{db.Pool}
	} else {
		// heepr's own *sql.DB (one connection, the same pragmas).
		e.raw = sqliteQuerier{db.SQL}
	}
	for _, kind := range []feedKind{kindAcked, kindLeased} {
		if e.fixtures[kind], err = seedAgents(ctx, db, e.app.tokenKey, perKind, kind); err != nil {
			tb.Fatal(err)
		}
	}
	e.fixtures[kindCached] = e.fixtures[kindAcked]
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/agent/events", e.bareHTTP)
	e.bareHost = strings.TrimPrefix(serve(tb, mux), "http://")
	hello := http.NewServeMux()
	hello.HandleFunc("GET /v1/agent/events", helloPoll)
	e.helloHost = strings.TrimPrefix(serve(tb, hello), "http://")
	return e
}

// helloPoll is the hello-world handler issue 10 measures the fast path
// against: the same server settings and client, no authentication and no
// database; it echoes the cursor in the empty page a poll answers.
func helloPoll(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"items":[],"next_cursor":"` + strconv.Quote(r.URL.Query().Get("cursor"))[1:]))
	_, _ = w.Write([]byte(`,"poll_after_seconds":60}` + "\n"))
}

// bareHTTP is the floor HTTP puts under any handler: the baseline's
// statements behind a minimal net/http handler (the same server settings
// and client as heepr's): hash the bearer key, run basePoll with the
// request's cursor, answer the empty page as JSON.
func (e *env) bareHTTP(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	cursor, err := strconv.ParseInt(r.URL.Query().Get("cursor"), 10, 64)
	if !ok || err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if err := basePoll(r.Context(), e.raw, agentFixture{Hash: keyHash(e.app.tokenKey, key), Cursor: cursor}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(struct {
		Items      []struct{} `json:"items"`
		NextCursor string     `json:"next_cursor"`
		PollAfter  int        `json:"poll_after_seconds"`
	}{Items: []struct{}{}, NextCursor: strconv.FormatInt(cursor, 10), PollAfter: 60})
}

// warm polls once as every agent the benchmark uses, on both sides: heepr
// caches each agent's polling interval and records its poll (a write) at
// most once per interval, so later polls are the steady state.
func (e *env) warm(tb testing.TB, kind feedKind) {
	tb.Helper()
	for _, f := range e.fixtures[kind][:pollers] {
		req := e.pollRequest(tb, f, 0)
		var buf bytes.Buffer
		if err := e.heepr(req, &buf); err != nil {
			tb.Fatal(err)
		}
		if err := basePoll(context.Background(), e.raw, f); err != nil {
			tb.Fatal(err)
		}
	}
}

func (e *env) bench(b *testing.B, kind feedKind, mode, impl string) {
	ctx := context.Background()
	fx := e.fixtures[kind]
	// one side's op for agent f; each goroutine has its own request and buffer
	newOp := func(f agentFixture) func() error {
		req := e.pollRequest(b, f, 0)
		var buf bytes.Buffer
		switch impl {
		case "baseline":
			return func() error { return basePoll(ctx, e.raw, f) }
		case "gohttp": // heepr through Go's http.Client, for reference
			return func() error { return e.heepr(req, &buf) }
		case "http":
			req.URL.Host = e.bareHost
		case "hello":
			req.URL.Host = e.helloHost
		}
		c, err := dialPoll(req)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.Close() })
		return func() error {
			status, err := c.do(&buf)
			return checkEmpty(status, buf.Bytes(), err)
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
		op := newOp(fx[0])
		for range b.N {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	// Parallel: GOMAXPROCS goroutines, each polling as its own agent
	// (different agents at once), sharing the pool and the HTTP client.
	var worker atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		op := newOp(fx[int(worker.Add(1)-1)%pollers])
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// pollRequest is an agent's poll: its key, its cursor, the default limit.
func (e *env) pollRequest(tb testing.TB, f agentFixture, wait int) *http.Request {
	u := e.app.url + "/v1/agent/events?cursor=" + f.cursor()
	if wait > 0 {
		u += fmt.Sprintf("&wait=%d", wait)
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.Key)
	return req
}

var emptyPage = []byte(`"items":[]`)

// heepr sends one poll (a GET without a body, so the request can be sent
// again) and checks the answer is 200 with no events.
func (e *env) heepr(req *http.Request, buf *bytes.Buffer) error {
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	return checkEmpty(resp.StatusCode, buf.Bytes(), err)
}

// checkEmpty checks a poll's answer: read whole, 200, no events.
func checkEmpty(status int, body []byte, err error) error {
	if err != nil {
		return err
	}
	if status != http.StatusOK || !bytes.Contains(body, emptyPage) {
		return fmt.Errorf("poll: %d %s: %s", status, http.StatusText(status), body)
	}
	return nil
}

// The baseline: the statements heepr's poll sends when nothing is new
// (adapters/store: Marketplace.IDByKeyHash for the key, Ordering.Feed, and,
// when some events are unacknowledged, Ordering.Take's store.TakeSQL), the
// very same SQL text with bind parameters, scanned into plain values: no
// HTTP, no facade, no JSON.
var (
	qKey  = dollars(store.KeySQL)
	qFeed = dollars(store.FeedSQL)
	qTake = dollars(store.TakeSQL)
)

// dollars numbers ? placeholders as pgx takes them ($1, $2, …).
func dollars(q string) string {
	n := 0
	return regexp.MustCompile(`\?`).ReplaceAllStringFunc(q, func(string) string { n++; return "$" + strconv.Itoa(n) })
}

// eventRow is an event as the baseline scans it.
type eventRow struct {
	Seq        int64
	Type, Data string
	CreatedAt  time.Time
	Deliveries int
}

var errBaseline = errors.New("baseline")

// basePoll is one poll that finds nothing new: find the key's agent, read
// its feed, and when something is unacknowledged run the events query.
func basePoll(ctx context.Context, q querier, f agentFixture) error {
	var id string
	found, err := q.row(ctx, q.sql(qKey), []any{f.Hash}, []any{&id})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: no agent with the key", errBaseline)
	}
	var last, acked int64
	if _, err := q.row(ctx, q.sql(qFeed), []any{id}, []any{&last, &acked}); err != nil {
		return err
	}
	if f.Cursor > last {
		return fmt.Errorf("%w: cursor %d is ahead of %d", errBaseline, f.Cursor, last)
	}
	if acked >= last {
		return nil // everything is acknowledged
	}
	n, err := q.rows(ctx, q.sql(qTake), []any{id, acked, f.Cursor, time.Now().UnixMicro(), pageLimit}, func(scan func(...any) error) error {
		var ev eventRow
		return scan(&ev.Seq, &ev.Type, &ev.Data, &ev.CreatedAt, &ev.Deliveries)
	})
	if err != nil {
		return err
	}
	if n != 0 {
		return fmt.Errorf("%w: %d events, want none new", errBaseline, n)
	}
	return nil
}

// querier runs the baseline's statements on either driver.
type querier interface {
	// row scans the first row into dest; found is false when there is none.
	row(ctx context.Context, q string, args, dest []any) (found bool, err error)
	// rows calls each for every row and counts them.
	rows(ctx context.Context, q string, args []any, each func(scan func(...any) error) error) (int, error)
	// sql is the statement as this driver takes it.
	sql(q string) string
}

// pgQuerier is the Postgres baseline: pgx on heepr's own pgxpool (the pool
// under its *sql.DB), QueryExecModeExec like every heepr connection.
type pgQuerier struct{ pool *pgxpool.Pool }

func (p pgQuerier) row(ctx context.Context, q string, args, dest []any) (bool, error) {
	err := p.pool.QueryRow(ctx, q, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (p pgQuerier) rows(ctx context.Context, q string, args []any, each func(func(...any) error) error) (int, error) {
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func (pgQuerier) sql(q string) string { return q }

// sqliteQuerier is the SQLite baseline: heepr's *sql.DB on the modernc driver.
type sqliteQuerier struct{ db *sql.DB }

func (s sqliteQuerier) row(ctx context.Context, q string, args, dest []any) (bool, error) {
	err := s.db.QueryRowContext(ctx, q, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (s sqliteQuerier) rows(ctx context.Context, q string, args []any, each func(func(...any) error) error) (int, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// sql is the SQLite spelling of a Postgres statement.
func (sqliteQuerier) sql(q string) string {
	if s, ok := liteOf[q]; ok {
		return s
	}
	return liteSQL(q)
}

// liteOf holds the SQLite spelling of each baseline statement.
var liteOf = map[string]string{}

func init() {
	for _, q := range []string{qKey, qFeed, qTake} {
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
