// Package browse_test benchmarks browsing the market: a text search and a
// filtered browse over 10,000 seeded active agents, through the facade the
// HTTP handler calls (marketplace.Service.Browse on the bun store), beside
// a baseline that sends the same SQL straight through the driver (pgxpool
// on Postgres, heepr's own *sql.DB on SQLite) and scans the same columns.
//
// It measures latency per request, not throughput: each scenario runs
// HEEPR_BROWSE_REQUESTS requests per side (default 2,000) one at a time,
// in HEEPR_BROWSE_ROUNDS rounds (default 3) of one heepr batch and one
// baseline batch, the first side alternating between rounds, and reports
// p50 and p99 of each side with the ratio baseline p50 / heepr p50.
//
// `make bench` runs it (with the ledger benchmarks) and writes the table to
// docs/PERFORMANCE.md. By hand:
//
//	go test -run '^$' -bench BenchmarkBrowse -benchtime 1x ./bench/browse
//
// Postgres (127.0.0.1:5432 or DATABASE_URL) is required; the run gets a
// fresh schema, dropped at the end. SQLite runs in a temporary directory.
// TestBaselineMatchesHeepr (baseline_test.go, part of `make test`) fails
// when heepr's SQL and the baseline's drift apart.
package browse_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/marketplace/domain"
)

const (
	activeAgents = 10_000
	searchWord   = "data" // in about a third of the agents: a search that ranks many matches
	pageSize     = 20
)

// scenario is one browse request, as the HTTP handler hands it to the facade.
type scenario struct {
	name  string
	label string // for the report
	q     domain.Query
}

var scenarios = []scenario{
	{name: "search", label: "search q=" + searchWord + ", sort relevance, limit 20",
		q: domain.Query{Text: searchWord, Sort: domain.SortRelevance, Limit: pageSize}},
	{name: "filtered", label: "category=code, price 50-500, min_rating 4, sort rating, limit 20",
		q: domain.Query{Category: "code", MinPrice: 50, MaxPrice: 500, MinRating: 4, Sort: domain.SortRating, Limit: pageSize}},
}

// env is one seeded database with heepr's facade and the baseline on it.
type env struct {
	name string
	db   *store.DB
	svc  *marketplace.Service // production wiring: marketplace.New(Deps{Agents: store.NewMarketplace(db), ...})
	raw  rawDB
}

func BenchmarkBrowse(b *testing.B) {
	ctx := context.Background()
	requests := envInt(b, "HEEPR_BROWSE_REQUESTS", 2000)
	rounds := envInt(b, "HEEPR_BROWSE_ROUNDS", 3)
	pg := openEnv(b, store.Config{DatabaseURL: storetest.PostgresURL(), Schema: storetest.NewSchema(b)}) // production pool size
	var version string
	if err := pg.db.Bun.QueryRowContext(ctx, "SHOW server_version").Scan(&version); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("postgres-version: %s\n", version)
	for _, e := range []*env{pg, openEnv(b, store.Config{DataDir: b.TempDir()})} {
		res, err := seed(ctx, e.db, activeAgents)
		if err != nil {
			b.Fatalf("%s: %v", e.name, err)
		}
		fmt.Printf("browse-seed: %s: %s active and %s hidden agents in %s\n", e.name, thousands(res.Active), thousands(res.Hidden), res.Took.Round(10*time.Millisecond))
		for _, sc := range scenarios {
			matches, err := e.raw.count(ctx, sc.q)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Printf("browse-scenario: %s %s: %s; %d listed agents match\n", e.name, sc.name, sc.label, matches)
			plan, err := e.raw.plan(ctx, sc.q)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Printf("browse-plan: %s %s: %s\n", e.name, sc.name, summarizePlan(plan))
			for _, line := range plan {
				fmt.Printf("browse-plan-line: %s %s: %s\n", e.name, sc.name, line)
			}
			b.Run(e.name+"/"+sc.name, func(b *testing.B) { e.bench(b, sc, requests, rounds) })
		}
	}
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func envInt(tb testing.TB, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive number", key, v)
	}
	return n
}

// openEnv opens and migrates cfg's database (Postgres when it has a URL)
// and the baseline's connections to it.
func openEnv(tb testing.TB, cfg store.Config) *env {
	ctx := context.Background()
	db, err := store.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate (is Postgres at %s up?): %v", storetest.PostgresURL(), err)
	}
	e := &env{name: string(db.Dialect), db: db,
		svc: marketplace.New(marketplace.Deps{Tx: db, Clock: kernel.SystemClock{}, Agents: store.NewMarketplace(db), KeyHMAC: []byte("bench")})}
	if db.Dialect == store.SQLite {
		// The baseline uses heepr's own *sql.DB (one connection, the same
		// pragmas), just without bun and the facade.
		e.raw = sqliteRaw{db.SQL}
		return e
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		tb.Fatal(err)
	}
	// The connection settings heepr's pool gets in store.Open.
	pcfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	pcfg.ConnConfig.RuntimeParams["search_path"] = cfg.Schema
	pcfg.MaxConns = 20
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	e.raw = pgRaw{pool}
	return e
}

// heepr runs one request through the facade and checks it got a full page.
func (e *env) heepr(ctx context.Context, q domain.Query) error {
	items, next, err := e.svc.Browse(ctx, q, "")
	if err != nil {
		return err
	}
	if len(items) != q.Limit || next == "" {
		return fmt.Errorf("heepr: %d agents (next %q), want a full page of %d and more", len(items), next, q.Limit)
	}
	return nil
}

// baseline runs one request as bare SQL and checks it got a full page and one more.
func (e *env) baseline(ctx context.Context, q domain.Query) error {
	rows, err := e.raw.browse(ctx, q)
	if err != nil {
		return err
	}
	if len(rows) != q.Limit+1 {
		return fmt.Errorf("baseline: %d rows, want %d", len(rows), q.Limit+1)
	}
	return nil
}

// batch is what one side measured in one batch.
type batch struct {
	lat    []time.Duration
	cpu    time.Duration
	allocs uint64
}

func measure(n int, op func() error) (batch, error) {
	runtime.GC() // each batch starts without the other side's garbage
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocs := ms.Mallocs
	cpu := processCPU()
	out := batch{lat: make([]time.Duration, 0, n)}
	for range n {
		t0 := time.Now()
		if err := op(); err != nil {
			return out, err
		}
		out.lat = append(out.lat, time.Since(t0))
	}
	out.cpu = processCPU() - cpu
	runtime.ReadMemStats(&ms)
	out.allocs = ms.Mallocs - allocs
	return out, nil
}

// bench runs rounds of one heepr and one baseline batch (the first side
// alternating), requests per side in all, after a short warm-up of each.
func (e *env) bench(b *testing.B, sc scenario, requests, rounds int) {
	ctx := context.Background()
	sides := map[string]func() error{
		"heepr":    func() error { return e.heepr(ctx, sc.q) },
		"baseline": func() error { return e.baseline(ctx, sc.q) },
	}
	for _, side := range []string{"baseline", "heepr"} {
		if _, err := measure(min(50, requests), sides[side]); err != nil {
			b.Fatal(err)
		}
	}
	all := map[string]*batch{"heepr": {}, "baseline": {}}
	var perRound []string
	for r := range rounds {
		n := requests / rounds
		if r < requests%rounds {
			n++
		}
		order := []string{"heepr", "baseline"}
		if r%2 == 1 {
			order = []string{"baseline", "heepr"}
		}
		got := map[string]batch{}
		for _, side := range order {
			m, err := measure(n, sides[side])
			if err != nil {
				b.Fatal(err)
			}
			got[side] = m
			a := all[side]
			a.lat = append(a.lat, m.lat...)
			a.cpu += m.cpu
			a.allocs += m.allocs
		}
		perRound = append(perRound, fmt.Sprintf("%.2f", float64(percentile(got["baseline"].lat, 50))/float64(percentile(got["heepr"].lat, 50))))
	}
	base, heepr := all["baseline"], all["heepr"]
	n := float64(len(heepr.lat))
	b.ReportMetric(0, "ns/op") // the run's total time means nothing here
	b.ReportMetric(float64(len(heepr.lat)), "requests")
	b.ReportMetric(float64(percentile(base.lat, 50)), "base-p50-ns")
	b.ReportMetric(float64(percentile(base.lat, 99)), "base-p99-ns")
	b.ReportMetric(float64(percentile(heepr.lat, 50)), "heepr-p50-ns")
	b.ReportMetric(float64(percentile(heepr.lat, 99)), "heepr-p99-ns")
	b.ReportMetric(float64(base.cpu.Nanoseconds())/float64(len(base.lat)), "base-cpu-ns/req")
	b.ReportMetric(float64(heepr.cpu.Nanoseconds())/n, "heepr-cpu-ns/req")
	b.ReportMetric(float64(base.allocs)/float64(len(base.lat)), "base-allocs/req")
	b.ReportMetric(float64(heepr.allocs)/n, "heepr-allocs/req")
	fmt.Printf("browse-rounds: %s %s: %s\n", e.name, sc.name, strings.Join(perRound, ", "))
}

// percentile by nearest rank: the smallest value at or above p percent of them.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

var reScan = regexp.MustCompile(`(?:Parallel )?(?:Bitmap Heap|Bitmap Index|Index Only|Index|Seq) Scan(?: Backward)?(?: using \S+)? on \S+|Execution Time: \S+ ms`)

// summarizePlan keeps the scans and the execution time of a Postgres plan,
// and the whole of a SQLite plan (one short line per step).
func summarizePlan(lines []string) string {
	var out []string
	for _, l := range lines {
		out = append(out, reScan.FindAllString(l, -1)...)
	}
	if len(out) == 0 {
		return strings.Join(lines, "; ")
	}
	return strings.Join(out, "; ")
}

// The baseline: the SQL heepr's store builds for these queries
// (adapters/store/marketplace.go Browse, as bun renders it; see a query
// hook), with bind parameters for the request's values, scanning every
// column into plain Go values (no settings decoding, no domain mapping).

// agentColumns are the columns store.Marketplace reads back, in its order.
var agentColumns = []string{"id", "owner_id", "handle", "status", "settings_version", "settings", "name", "specialty",
	"description", "skills_text", "price_min", "price_max", "fastest_delivery", "polling_interval", "key_hash",
	"key_prefix", "last_poll_at", "online_until", "avatar_key", "avatar_type", "package_version", "rating_sum",
	"review_count", "rating", "completed_orders", "on_time_orders", "missed_deadlines", "published_us",
	"created_at", "published_at", "updated_at"}

var selectList = func() string {
	cols := make([]string, len(agentColumns))
	for i, c := range agentColumns {
		cols[i] = "a." + c
	}
	return strings.Join(cols, ", ")
}()

// baselineSQL is the statement for q (as the facade passes it to the
// store: limit one more than the page) and its arguments, with $n
// placeholders (SQLite takes them as ?n). It covers every filter, the
// relevance and rating sorts and a cursor.
//
// A search by relevance on Postgres is the store's two branches (see
// store.Marketplace.searchRanked): one word reads agent_terms in rank
// order, anything else matches with the GIN index and ranks with ts_rank;
// numnode of the (constant) query decides which branch runs while
// Postgres plans the statement.
func baselineSQL(dialect store.Dialect, q domain.Query) (string, []any) {
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	page := func(inner, key, where string) string {
		s := fmt.Sprintf("SELECT s.* FROM (SELECT %s, %s AS sort_key FROM %s WHERE (%s)) AS s", selectList, key, inner, where)
		if q.After != nil {
			k, id := arg(q.After.Key), arg(q.After.ID)
			s += fmt.Sprintf(" WHERE (s.sort_key <= %s) AND ((s.sort_key < %s OR (s.sort_key = %s AND s.id > %s)))", k, k, k, id)
		}
		return s + fmt.Sprintf(" ORDER BY s.sort_key DESC, s.id ASC LIMIT %d", q.Limit+1)
	}
	if q.Text != "" && q.Sort == domain.SortRelevance && dialect == store.Postgres {
		tsq := "websearch_to_tsquery('english', " + arg(q.Text) + ")"
		filters := filterSQL(q, arg)
		terms := []string{"numnode(" + tsq + ") = 1", "t.term = " + tsq + "::text"}
		if q.After != nil {
			k, id := arg(q.After.Key), arg(q.After.ID)
			terms = append(terms, "(t.rank < "+k+" OR (t.rank = "+k+" AND t.agent_id > "+id+"))")
		}
		oneWord := page("agents AS a JOIN agent_terms AS t ON t.agent_id = a.id", "t.rank",
			strings.Join(append(terms, filters...), ") AND ("))
		other := page("agents AS a", "ts_rank(a.search, "+tsq+")::float8",
			strings.Join(append([]string{"numnode(" + tsq + ") > 1", "a.search @@ " + tsq}, filters...), ") AND ("))
		return fmt.Sprintf("SELECT u.* FROM ((%s) UNION ALL (%s)) AS u ORDER BY u.sort_key DESC, u.id ASC LIMIT %d", oneWord, other, q.Limit+1), args
	}
	var key string
	switch q.Sort {
	case domain.SortRelevance:
		key = "-bm25(agents_fts, 10.0, 4.0, 4.0, 1.0)"
	case domain.SortRating:
		key = "a.rating"
	default:
		panic("baselineSQL: sort " + string(q.Sort) + " is not in a scenario")
	}
	from, where := matchSQL(dialect, q, arg)
	return page(from, key, strings.Join(append(where, filterSQL(q, arg)...), ") AND (")), args
}

// matchSQL is the FROM and the text condition of a browse that does not
// rank on Postgres: the search vector on Postgres, FTS5 on SQLite.
func matchSQL(dialect store.Dialect, q domain.Query, arg func(any) string) (string, []string) {
	switch {
	case q.Text != "" && dialect == store.Postgres:
		return "agents AS a", []string{"a.search @@ websearch_to_tsquery('english', " + arg(q.Text) + ")"}
	case q.Text != "":
		return "agents AS a JOIN agents_fts ON agents_fts.rowid = a.rowid", []string{"agents_fts MATCH " + arg(ftsQuery(q.Text))}
	}
	return "agents AS a", nil
}

// filterSQL is the store's conditions for listed agents and q's filters.
func filterSQL(q domain.Query, arg func(any) string) []string {
	where := []string{"a.status = 'active'"}
	if q.Category != "" {
		where = append(where, "EXISTS (SELECT 1 FROM agent_categories c WHERE c.agent_id = a.id AND c.category = "+arg(q.Category)+")")
	}
	if q.MinPrice > 0 {
		where = append(where, "a.price_max >= "+arg(q.MinPrice))
	}
	if q.MaxPrice > 0 {
		where = append(where, "a.price_min <= "+arg(q.MaxPrice))
	}
	if q.MinRating > 0 {
		where = append(where, "a.rating >= "+arg(q.MinRating))
	}
	if q.OnlineOnly {
		where = append(where, "a.online_until >= "+arg(q.Now))
	}
	if q.MaxDeliveryDays > 0 {
		where = append(where, "a.fastest_delivery <= "+arg(q.MaxDeliveryDays))
	}
	return where
}

// countSQL counts the listed agents q matches (for the report).
func countSQL(dialect store.Dialect, q domain.Query) (string, []any) {
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	from, where := matchSQL(dialect, q, arg)
	return fmt.Sprintf("SELECT count(*) FROM %s WHERE (%s)", from, strings.Join(append(where, filterSQL(q, arg)...), ") AND (")), args
}

// ftsQuery is the store's: free text as FTS5 quoted terms, all required.
func ftsQuery(text string) string {
	words := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, w := range words {
		words[i] = `"` + w + `"`
	}
	return strings.Join(words, " ")
}

// row is one listed agent as the baseline scans it.
type row struct {
	ID, OwnerID, Handle, Status                   string
	SettingsVersion                               int
	Settings, Name, Specialty, Description        string
	SkillsText                                    string
	PriceMin, PriceMax                            int64
	FastestDelivery, PollingInterval              int
	KeyHash, KeyPrefix                            string
	LastPollAt, OnlineUntil                       *time.Time
	AvatarKey, AvatarType                         *string
	PackageVersion                                int
	RatingSum, ReviewCount                        int64
	Rating                                        float64
	CompletedOrders, OnTimeOrders, MissedDeadline int64
	PublishedUS                                   *int64
	CreatedAt                                     time.Time
	PublishedAt                                   *time.Time
	UpdatedAt                                     time.Time
	SortKey                                       float64
}

func (r *row) dest() []any {
	return []any{&r.ID, &r.OwnerID, &r.Handle, &r.Status, &r.SettingsVersion, &r.Settings, &r.Name, &r.Specialty,
		&r.Description, &r.SkillsText, &r.PriceMin, &r.PriceMax, &r.FastestDelivery, &r.PollingInterval, &r.KeyHash,
		&r.KeyPrefix, &r.LastPollAt, &r.OnlineUntil, &r.AvatarKey, &r.AvatarType, &r.PackageVersion, &r.RatingSum,
		&r.ReviewCount, &r.Rating, &r.CompletedOrders, &r.OnTimeOrders, &r.MissedDeadline, &r.PublishedUS,
		&r.CreatedAt, &r.PublishedAt, &r.UpdatedAt, &r.SortKey}
}

type rawDB interface {
	// browse runs the baseline statement for q (a page of q.Limit: it reads q.Limit+1 rows).
	browse(ctx context.Context, q domain.Query) ([]row, error)
	count(ctx context.Context, q domain.Query) (int, error)
	// plan explains the baseline statement (EXPLAIN ANALYZE on Postgres, EXPLAIN QUERY PLAN on SQLite).
	plan(ctx context.Context, q domain.Query) ([]string, error)
	// sql is the statement browse sends, as the driver gets it.
	sql(q domain.Query) (string, []any)
}

// pgRaw is the Postgres baseline: pgxpool with QueryExecModeExec, like heepr's pool.
type pgRaw struct{ pool *pgxpool.Pool }

func (r pgRaw) sql(q domain.Query) (string, []any) { return baselineSQL(store.Postgres, q) }

func (r pgRaw) browse(ctx context.Context, q domain.Query) ([]row, error) {
	s, args := r.sql(q)
	rows, err := r.pool.Query(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]row, 0, q.Limit+1)
	for rows.Next() {
		out = append(out, row{})
		if err := rows.Scan(out[len(out)-1].dest()...); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

func (r pgRaw) count(ctx context.Context, q domain.Query) (int, error) {
	s, args := countSQL(store.Postgres, q)
	var n int
	err := r.pool.QueryRow(ctx, s, args...).Scan(&n)
	return n, err
}

func (r pgRaw) plan(ctx context.Context, q domain.Query) ([]string, error) {
	s, args := r.sql(q)
	rows, err := r.pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+s, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// sqliteRaw is the SQLite baseline: database/sql on the modernc driver.
type sqliteRaw struct{ db *sql.DB }

func (r sqliteRaw) sql(q domain.Query) (string, []any) {
	s, args := baselineSQL(store.SQLite, q)
	return strings.ReplaceAll(s, "$", "?"), args
}

func (r sqliteRaw) browse(ctx context.Context, q domain.Query) ([]row, error) {
	s, args := r.sql(q)
	rows, err := r.db.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]row, 0, q.Limit+1)
	for rows.Next() {
		out = append(out, row{})
		if err := rows.Scan(out[len(out)-1].dest()...); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

func (r sqliteRaw) count(ctx context.Context, q domain.Query) (int, error) {
	s, args := countSQL(store.SQLite, q)
	var n int
	err := r.db.QueryRowContext(ctx, strings.ReplaceAll(s, "$", "?"), args...).Scan(&n)
	return n, err
}

func (r sqliteRaw) plan(ctx context.Context, q domain.Query) ([]string, error) {
	s, args := r.sql(q)
	rows, err := r.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+s, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		out = append(out, detail)
	}
	if len(out) == 0 {
		return nil, errors.New("empty plan")
	}
	return out, rows.Err()
}
