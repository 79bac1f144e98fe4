package browse_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/bench/internal/heeprapp"
	"github.com/heepr/heepr/modules/marketplace/domain"
)

// searchPath is the search scenario as an agent or the web app asks for it.
const searchPath = "/v1/agents?q=" + searchWord + "&sort=relevance&limit=20"

// loadScenario is one kind of load: the paths requested, in order, cycled.
type loadScenario struct {
	name, label string
	paths       []string
}

// loadScenarios are the kinds of load BenchmarkSearchLoad offers: "data",
// the one common word of the scenario over and over, and "mix",
// a realistic spread of searches (searchMix).
func loadScenarios(requests int) map[string]loadScenario {
	paths, label := searchMix(requests)
	return map[string]loadScenario{
		"data": {name: "data", label: "search q=" + searchWord + ", sort relevance, limit 20 (one URL)", paths: []string{searchPath}},
		"mix":  {name: "mix", label: label, paths: paths},
	}
}

// BenchmarkSearchLoad offers search load at a constant rate (open loop:
// vegeta sends on schedule whether or not earlier requests have answered)
// over real HTTP, on Postgres with 10,000 seeded agents: heepr's whole
// HTTP handler (wired as cmd/heepr wires it, role api) against a bare
// net/http handler that runs the baseline's SQL on a pgx pool and encodes
// the page. HEEPR_LOAD_SCENARIOS (default "data,mix": the one
// common word, then a realistic mix of searches, see searchMix),
// HEEPR_LOAD_RATE requests/s (default 200) for HEEPR_LOAD_SECONDS
// (default 30) per side, HEEPR_LOAD_ROUNDS rounds (default 3) per
// scenario, the first side alternating. Each server listens on loopback
// with `heepr serve`'s http.Server settings; vegeta runs in the same
// process (the machine has two cores, shared with Postgres). Neither side
// caches answers: every request runs its statement.
//
//	HEEPR_LOAD_SECONDS=30 go test -run '^$' -bench BenchmarkSearchLoad -benchtime 1x ./bench/browse
func BenchmarkSearchLoad(b *testing.B) {
	ctx := context.Background()
	rate := envInt(b, "HEEPR_LOAD_RATE", 200)
	secs := envInt(b, "HEEPR_LOAD_SECONDS", 30)
	rounds := envInt(b, "HEEPR_LOAD_ROUNDS", 3)
	agents := envInt(b, "HEEPR_LOAD_AGENTS", activeAgents)
	names := strings.Split(envString("HEEPR_LOAD_SCENARIOS", "data,mix"), ",")
	e, urls := startLoadServers(b, agents)
	var version string
	if err := e.db.Bun.QueryRowContext(ctx, "SHOW server_version").Scan(&version); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("postgres-version: %s\n", version)
	all := loadScenarios(rate * secs)
	for _, name := range names {
		sc, ok := all[name]
		if !ok {
			b.Fatalf("HEEPR_LOAD_SCENARIOS: no scenario %q (want data or mix)", name)
		}
		fmt.Printf("search-load-scenario: %s: %s\n", sc.name, sc.label)
		if err := keepPolling(ctx, e); err != nil {
			b.Fatal(err)
		}
		if err := explainLoad(ctx, e, sc); err != nil {
			b.Fatal(err)
		}
		for side, url := range urls {
			for i := range 50 { // warm-up: connections, caches
				if _, err := pageIDs(url+sc.paths[i%len(sc.paths)], false); err != nil {
					b.Fatalf("%s: %v", side, err)
				}
			}
		}
	}
	for range b.N {
		for _, name := range names {
			sc := all[name]
			for r := range rounds {
				sides := []string{"heepr", "baseline"}
				if r%2 == 1 {
					sides = []string{"baseline", "heepr"}
				}
				for _, side := range sides {
					if err := keepPolling(ctx, e); err != nil {
						b.Fatal(err)
					}
					m := attack(urls[side], sc.paths, rate, time.Duration(secs)*time.Second)
					fmt.Printf("search-load: round=%d side=%s scenario=%s agents=%d rate=%d seconds=%d requests=%d success=%.4f achieved=%.1f throughput=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
						r+1, side, sc.name, agents, rate, secs, m.Requests, m.Success, m.Rate, m.Throughput,
						ms64(m.Latencies.P50), ms64(m.Latencies.P95), ms64(m.Latencies.P99), ms64(m.Latencies.Max))
					if len(m.Errors) > 0 {
						fmt.Printf("search-load-errors: scenario=%s round=%d side=%s: %v\n", sc.name, r+1, side, m.Errors[:min(3, len(m.Errors))])
					}
				}
			}
		}
	}
	b.ReportMetric(0, "ns/op")
}

// keepPolling opens a new online window for the seeded agents that poll
// (a third of them), as if they had kept polling since the seed, and
// updates the planner's statistics, as autovacuum does on a market where
// polls rewrite rows all the time. Without it the windows the seed opened
// close within ten minutes, and "online now" searches would find fewer
// agents (and get other plans) the later they run.
func keepPolling(ctx context.Context, e *env) error {
	if _, err := e.db.Bun.ExecContext(ctx, `UPDATE agents SET last_poll_at = now(),
		online_until = now() + make_interval(secs => 2 * polling_interval) WHERE last_poll_at IS NOT NULL`); err != nil {
		return fmt.Errorf("keep polling: %w", err)
	}
	if _, err := e.db.Bun.ExecContext(ctx, "VACUUM ANALYZE agents"); err != nil {
		return fmt.Errorf("keep polling: %w", err)
	}
	return nil
}

func envString(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// searchMix is a realistic search load of n requests (paths, in order):
// the words of the seeded market's vocabulary (names, specialties,
// skills, what the agents do and for whom), ranked by how many agents have
// them, so the most searched words are the most common ones, drawn with a
// Zipf law; a quarter of the searches have two words; a fifth filter by a
// category, a tenth by a minimum rating, a tenth by a price range, one in
// twenty by agents online now. Every search sorts by relevance (the
// default with q), a page of 20. The same seed gives the same requests to
// both sides.
func searchMix(n int) (paths []string, label string) {
	words := mixWords()
	r := mrand.New(mrand.NewPCG(10, 200))
	zipf := mrand.NewZipf(mrand.New(mrand.NewPCG(10, 201)), 1.1, 1, uint64(len(words)-1))
	var two, filtered int
	distinct := map[string]bool{}
	counts := map[string]int{}
	for range n {
		q := words[zipf.Uint64()]
		counts[q]++
		if r.IntN(4) == 0 {
			if w := words[zipf.Uint64()]; w != q {
				q += " " + w
				two++
			}
		}
		v := url.Values{"q": {q}, "limit": {"20"}}
		if r.IntN(5) == 0 {
			v.Set("category", categories[r.IntN(len(categories))])
		}
		if r.IntN(10) == 0 {
			v.Set("min_rating", "4")
		}
		if r.IntN(10) == 0 {
			v.Set("min_price", "20")
			v.Set("max_price", "500")
		}
		if r.IntN(20) == 0 {
			v.Set("online", "true")
		}
		if len(v) > 2 {
			filtered++
		}
		p := "/v1/agents?" + v.Encode()
		paths = append(paths, p)
		distinct[p] = true
	}
	top := words[0]
	label = fmt.Sprintf("mix of %s searches (%s distinct URLs): %d words of the seed's vocabulary, Zipf s=1.1 by how many agents have them (top: %q, %.0f %% of first words); %.0f %% two words, %.0f %% with filters (category, min rating, price, online), sort relevance, limit 20",
		thousands(n), thousands(len(distinct)), len(words), top, 100*float64(counts[top])/float64(n),
		100*float64(two)/float64(n), 100*float64(filtered)/float64(n))
	return paths, label
}

// mixWords is the seed's vocabulary (vocabs, adjectives, audiences), one
// word each, without stop words, most common in the seeded agents first.
var mixWords = sync.OnceValue(func() []string {
	split := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) })
	}
	stop := map[string]bool{"and": true, "for": true, "from": true, "your": true, "the": true, "with": true, "up": true, "also": true}
	seen := map[string]bool{}
	var words []string
	add := func(list ...string) {
		for _, s := range list {
			for _, w := range split(s) {
				if len(w) >= 3 && !stop[w] && !seen[w] {
					seen[w] = true
					words = append(words, w)
				}
			}
		}
	}
	for _, c := range categories {
		v := vocabs[c]
		add(c)
		add(v.nouns...)
		add(v.specialties...)
		add(v.skills...)
		add(v.verbs...)
		add(v.objects...)
	}
	add(adjectives...)
	add(audiences...)
	df := map[string]int{}
	_, agents := generate(activeAgents, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, a := range agents {
		has := map[string]bool{}
		for _, w := range split(a.Name + " " + a.Specialty + " " + a.SkillsText + " " + a.Description) {
			has[w] = true
		}
		for w := range has {
			df[w]++
		}
	}
	slices.SortStableFunc(words, func(a, b string) int { return df[b] - df[a] })
	return words
})

// queryFromURL is a load request as the bare handler reads it (the
// parameters searchMix uses), as heepr's handler hands it to the store.
func queryFromURL(v url.Values) domain.Query {
	q := domain.Query{Text: strings.TrimSpace(v.Get("q")), Sort: domain.SortRelevance, Limit: pageSize,
		Category: v.Get("category"), OnlineOnly: v.Get("online") == "true", Now: time.Now().UTC()}
	q.MinPrice, _ = strconv.ParseInt(v.Get("min_price"), 10, 64)
	q.MaxPrice, _ = strconv.ParseInt(v.Get("max_price"), 10, 64)
	q.MinRating, _ = strconv.ParseFloat(v.Get("min_rating"), 64)
	return q
}

var reTimes = regexp.MustCompile(`^(Planning|Execution) Time: ([0-9.]+) ms`)

// explainLoad runs EXPLAIN ANALYZE once on the baseline statement of each
// distinct request of a scenario and prints Postgres' planning and
// execution times over the scenario's requests (each request counts with
// its statement's times, so a popular search weighs as often as it is
// sent): what a request costs the database, without the load.
func explainLoad(ctx context.Context, e *env, sc loadScenario) error {
	type times struct {
		plan, exec time.Duration
		terms      bool
	}
	explained := map[string]times{}
	for _, p := range sc.paths[:min(20, len(sc.paths))] { // warm-up: the connection's caches, the planner's
		u, err := url.Parse(p)
		if err != nil {
			return err
		}
		if _, err := e.raw.plan(ctx, queryFromURL(u.Query())); err != nil {
			return err
		}
	}
	var plan, exec []time.Duration
	var total time.Duration
	var oneWord int
	for _, p := range sc.paths {
		t, ok := explained[p]
		if !ok {
			u, err := url.Parse(p)
			if err != nil {
				return err
			}
			lines, err := e.raw.plan(ctx, queryFromURL(u.Query()))
			if err != nil {
				return err
			}
			for _, l := range lines {
				if m := reTimes.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
					f, _ := strconv.ParseFloat(m[2], 64)
					d := time.Duration(f * float64(time.Millisecond))
					if m[1] == "Planning" {
						t.plan = d
					} else {
						t.exec = d
					}
				}
				if strings.Contains(l, "agent_terms_rank_idx") || strings.Contains(l, "agent_terms_pkey") {
					t.terms = true
				}
			}
			explained[p] = t
		}
		plan, exec = append(plan, t.plan), append(exec, t.exec)
		total += t.plan + t.exec
		if t.terms {
			oneWord++
		}
	}
	fmt.Printf("search-load-explain: scenario=%s requests=%d statements=%d one_word=%d mean_ms=%.3f plan_p50_ms=%.3f plan_p99_ms=%.3f exec_p50_ms=%.3f exec_p90_ms=%.3f exec_p99_ms=%.3f exec_max_ms=%.3f\n",
		sc.name, len(sc.paths), len(explained), oneWord, ms64(total)/float64(len(sc.paths)), ms64(percentile(plan, 50)), ms64(percentile(plan, 99)),
		ms64(percentile(exec, 50)), ms64(percentile(exec, 90)), ms64(percentile(exec, 99)), ms64(percentile(exec, 100)))
	return nil
}

func ms64(d time.Duration) float64 { return float64(d) / 1e6 }

// attack offers base+paths (cycled, in order) at rate requests/s for d
// and returns vegeta's metrics.
func attack(base string, paths []string, rate int, d time.Duration) *vegeta.Metrics {
	var next atomic.Uint64
	targeter := func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		t.Method, t.URL = http.MethodGet, base+paths[i%uint64(len(paths))]
		return nil
	}
	attacker := vegeta.NewAttacker(vegeta.Timeout(10*time.Second), vegeta.KeepAlive(true))
	var m vegeta.Metrics
	for res := range attacker.Attack(targeter, vegeta.Rate{Freq: rate, Per: time.Second}, d, "search") {
		m.Add(res)
	}
	m.Close()
	return &m
}

// startLoadServers seeds Postgres and serves heepr and the bare handler.
func startLoadServers(tb testing.TB, agents int) (*env, map[string]string) {
	tb.Helper()
	ctx := context.Background()
	e := openEnv(tb, store.Config{DatabaseURL: storetest.PostgresURL(), Schema: storetest.NewSchema(tb)})
	res, err := seed(ctx, e.db, agents)
	if err != nil {
		tb.Fatal(err)
	}
	if _, ok := tb.(*testing.B); ok {
		fmt.Printf("search-load-seed: %s active and %s hidden agents in %s\n", thousands(res.Active), thousands(res.Hidden), res.Took.Round(10*time.Millisecond))
	}
	app, err := heeprapp.New(ctx, e.db, heeprapp.Options{DataDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	return e, map[string]string{"heepr": serve(tb, app.Handler), "baseline": serve(tb, bareSearch(e.raw))}
}

// barePage is what the bare handler answers: the page's public columns
// (settings as stored, not decoded) and the next cursor.
type barePage struct {
	Items []bareAgent `json:"items"`
	Next  string      `json:"next_cursor"`
}

type bareAgent struct {
	ID              string          `json:"id"`
	Handle          string          `json:"handle"`
	Name            string          `json:"name"`
	Specialty       string          `json:"specialty"`
	Description     string          `json:"description"`
	Settings        json.RawMessage `json:"settings"`
	PriceMin        int64           `json:"price_min"`
	PriceMax        int64           `json:"price_max"`
	Rating          float64         `json:"rating"`
	ReviewCount     int64           `json:"review_count"`
	CompletedOrders int64           `json:"completed_orders"`
	CreatedAt       time.Time       `json:"created_at"`
	PublishedAt     *time.Time      `json:"published_at"`
}

// bareSearch is the baseline behind net/http: the statement of the
// request's search (q and the filters searchMix uses, a page of 20) on the
// baseline's pool, the rows encoded as JSON. No routing, validation, auth
// or middleware.
func bareSearch(raw rawDB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := queryFromURL(r.URL.Query())
		rows, err := raw.browse(r.Context(), q)
		if err != nil {
			http.Error(w, "database error", http.StatusInternalServerError)
			return
		}
		page := barePage{Items: make([]bareAgent, 0, pageSize)}
		for i, a := range rows {
			if i == pageSize {
				page.Next = rows[i-1].ID
				break
			}
			page.Items = append(page.Items, bareAgent{ID: a.ID, Handle: a.Handle, Name: a.Name, Specialty: a.Specialty,
				Description: a.Description, Settings: json.RawMessage(a.Settings), PriceMin: a.PriceMin, PriceMax: a.PriceMax,
				Rating: a.Rating, ReviewCount: a.ReviewCount, CompletedOrders: a.CompletedOrders, CreatedAt: a.CreatedAt, PublishedAt: a.PublishedAt})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	})
}

// serve runs handler on a loopback listener with the http.Server settings
// of `heepr serve` and returns its base URL; the server closes with tb.
func serve(tb testing.TB, handler http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			tb.Errorf("serve: %v", err)
		}
	}()
	tb.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// pageIDs gets a page and returns its agents' ids; with full, the page
// must be full and have a next cursor.
func pageIDs(url string, full bool) ([]string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %d %s", url, resp.StatusCode, body)
	}
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
		Next *string `json:"next_cursor"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, err
	}
	if full && (page.Next == nil || *page.Next == "" || len(page.Items) != pageSize) {
		return nil, fmt.Errorf("%s: %d agents and no next cursor, want a full page and more", url, len(page.Items))
	}
	ids := make([]string, len(page.Items))
	for i, it := range page.Items {
		ids[i] = it.ID
	}
	return ids, nil
}

// TestSearchLoadSidesMatch keeps the load scenarios honest: over HTTP,
// heepr and the bare handler answer the same agents in the same order for
// the one-word scenario (a full page and a next cursor) and for the first
// requests of the mix (several words, filters; but not "online now",
// whose clock differs by the time between the two requests), and a
// one-second attack of each scenario at a low rate succeeds on both.
func TestSearchLoadSidesMatch(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("seeds Postgres and serves HTTP")
	}
	_, urls := startLoadServers(t, 1000)
	scenarios := loadScenarios(200)
	var oneWord, several, empty int
	for i, p := range append([]string{searchPath}, scenarios["mix"].paths[:120]...) {
		if strings.Contains(p, "online=") {
			continue
		}
		heepr, err := pageIDs(urls["heepr"]+p, i == 0)
		if err != nil {
			t.Fatal(err)
		}
		bare, err := pageIDs(urls["baseline"]+p, i == 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(heepr, bare) {
			t.Fatalf("%s: heepr listed %v, the bare handler %v", p, heepr, bare)
		}
		switch u, _ := url.Parse(p); {
		case len(heepr) == 0:
			empty++
		case strings.Contains(u.Query().Get("q"), " "):
			several++
		default:
			oneWord++
		}
	}
	if oneWord < 40 || several < 10 || empty > 30 {
		t.Fatalf("the mix compared %d one-word and %d several-word searches with results, %d empty pages", oneWord, several, empty)
	}
	for _, sc := range scenarios {
		for side, url := range urls {
			m := attack(url, sc.paths, 20, time.Second)
			if m.Success != 1 || m.Requests < 15 {
				t.Fatalf("%s %s: %d requests, success %.2f, errors %v", sc.name, side, m.Requests, m.Success, m.Errors)
			}
		}
	}
}

// TestSearchMix checks the mixed load's shape: deterministic, mostly one
// word, common words most often, some filters.
func TestSearchMix(t *testing.T) {
	t.Parallel()
	a, label := searchMix(6000)
	b, _ := searchMix(6000)
	if !slices.Equal(a, b) {
		t.Fatal("searchMix is not deterministic")
	}
	if words := mixWords(); words[0] != searchWord || len(words) < 100 {
		t.Fatalf("vocabulary of %d words, the most common %q", len(words), words[0])
	}
	var two, filtered int
	for _, p := range a {
		u, err := url.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(u.Query().Get("q"), " ") {
			two++
		}
		if len(u.Query()) > 2 {
			filtered++
		}
	}
	if two < 1000 || two > 2000 || filtered < 1500 || filtered > 3000 {
		t.Fatalf("%d two-word and %d filtered searches of 6,000: %s", two, filtered, label)
	}
}
