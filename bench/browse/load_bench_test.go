package browse_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/bench/internal/heeprapp"
	"github.com/heepr/heepr/modules/marketplace/domain"
)

// searchPath is the search scenario as an agent or the web app asks for it.
const searchPath = "/v1/agents?q=" + searchWord + "&sort=relevance&limit=20"

// BenchmarkSearchLoad offers the search scenario at a constant rate
// (open loop: vegeta sends on schedule whether or not earlier requests
// have answered) over real HTTP, on Postgres with 10,000 seeded agents:
// heepr's whole HTTP handler (wired as cmd/heepr wires it, role api)
// against a bare net/http handler that runs the baseline's SQL on a pgx
// pool and encodes the page. HEEPR_LOAD_RATE requests/s (default 200)
// for HEEPR_LOAD_SECONDS (default 30) per side, HEEPR_LOAD_ROUNDS rounds
// (default 3), the first side alternating. Each server listens on
// loopback with `heepr serve`'s http.Server settings; vegeta runs in the
// same process (the machine has two cores, shared with Postgres).
//
//	HEEPR_LOAD_SECONDS=30 go test -run '^$' -bench BenchmarkSearchLoad -benchtime 1x ./bench/browse
func BenchmarkSearchLoad(b *testing.B) {
	ctx := context.Background()
	rate := envInt(b, "HEEPR_LOAD_RATE", 200)
	secs := envInt(b, "HEEPR_LOAD_SECONDS", 30)
	rounds := envInt(b, "HEEPR_LOAD_ROUNDS", 3)
	agents := envInt(b, "HEEPR_LOAD_AGENTS", activeAgents)
	e, urls := startLoadServers(b, agents)
	var version string
	if err := e.db.Bun.QueryRowContext(ctx, "SHOW server_version").Scan(&version); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("postgres-version: %s\n", version)
	for side, url := range urls {
		for range 50 { // warm-up: connections, caches
			if err := getPage(url + searchPath); err != nil {
				b.Fatalf("%s: %v", side, err)
			}
		}
	}
	for range b.N {
		for r := range rounds {
			sides := []string{"heepr", "baseline"}
			if r%2 == 1 {
				sides = []string{"baseline", "heepr"}
			}
			for _, side := range sides {
				m := attack(urls[side]+searchPath, rate, time.Duration(secs)*time.Second)
				fmt.Printf("search-load: round=%d side=%s agents=%d rate=%d seconds=%d requests=%d success=%.4f achieved=%.1f throughput=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
					r+1, side, agents, rate, secs, m.Requests, m.Success, m.Rate, m.Throughput,
					ms64(m.Latencies.P50), ms64(m.Latencies.P95), ms64(m.Latencies.P99), ms64(m.Latencies.Max))
				if len(m.Errors) > 0 {
					fmt.Printf("search-load-errors: round=%d side=%s: %v\n", r+1, side, m.Errors[:min(3, len(m.Errors))])
				}
			}
		}
	}
	b.ReportMetric(0, "ns/op")
}

func ms64(d time.Duration) float64 { return float64(d) / 1e6 }

// attack offers url at rate requests/s for d and returns vegeta's metrics.
func attack(url string, rate int, d time.Duration) *vegeta.Metrics {
	targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: url})
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

// bareSearch is the baseline behind net/http: the search scenario's
// statement (the request's q, a page of 20) on the baseline's pool, the
// rows encoded as JSON. No routing, validation, auth or middleware.
func bareSearch(raw rawDB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := domain.Query{Text: r.URL.Query().Get("q"), Sort: domain.SortRelevance, Limit: pageSize}
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

// pageIDs gets a page and returns its agents' ids.
func pageIDs(url string) ([]string, error) {
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
	if page.Next == nil || *page.Next == "" {
		return nil, fmt.Errorf("%s: no next cursor", url)
	}
	ids := make([]string, len(page.Items))
	for i, it := range page.Items {
		ids[i] = it.ID
	}
	return ids, nil
}

func getPage(url string) error {
	ids, err := pageIDs(url)
	if err == nil && len(ids) != pageSize {
		err = fmt.Errorf("%s: %d agents, want %d", url, len(ids), pageSize)
	}
	return err
}

// TestSearchLoadSidesMatch keeps the load scenario honest: over HTTP, heepr
// and the bare handler answer the search with the same agents in the same
// order (a full page and a next cursor), and a one-second attack at a low
// rate succeeds on both.
func TestSearchLoadSidesMatch(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("seeds Postgres and serves HTTP")
	}
	_, urls := startLoadServers(t, 1000)
	heepr, err := pageIDs(urls["heepr"] + searchPath)
	if err != nil {
		t.Fatal(err)
	}
	bare, err := pageIDs(urls["baseline"] + searchPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(heepr) != pageSize || !slices.Equal(heepr, bare) {
		t.Fatalf("heepr listed %v, the bare handler %v", heepr, bare)
	}
	for side, url := range urls {
		m := attack(url+searchPath, 20, time.Second)
		if m.Success != 1 || m.Requests < 15 {
			t.Fatalf("%s: %d requests, success %.2f, errors %v", side, m.Requests, m.Success, m.Errors)
		}
	}
}
