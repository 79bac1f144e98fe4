package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const browseOutput = `postgres-version: 15.20 (Debian 15.20-0+deb12u1)
browse-seed: postgres: 10000 active and 1000 hidden agents in 1.21s
browse-scenario: postgres search: search q=data, sort relevance, limit 20; 3238 listed agents match
browse-plan: postgres search: Seq Scan on agents; Execution Time: 11.557 ms
browse-plan-line: postgres search: Limit  (cost=2414.88..2414.94 rows=21 width=45)
browse-plan-line: postgres search:   ->  Seq Scan on agents a
browse-rounds: postgres search: 0.96, 0.98, 0.97
goos: linux
BenchmarkBrowse/postgres/search-2         	       1	       371.3 base-allocs/req	    468747 base-cpu-ns/req	  12032278 base-p50-ns	  13365098 base-p99-ns	      1610 heepr-allocs/req	    958153 heepr-cpu-ns/req	  12416404 heepr-p50-ns	  14096716 heepr-p99-ns	       300.0 requests
browse-seed: sqlite: 10000 active and 1000 hidden agents in 5.75s
browse-scenario: sqlite filtered: category=code, price 50-500, min_rating 4, sort rating, limit 20; 456 listed agents match
browse-plan: sqlite filtered: SEARCH a USING INDEX agents_active_rating_idx
browse-rounds: sqlite filtered: 0.64, 0.76, 0.65
BenchmarkBrowse/sqlite/filtered-2         	       1	      1173 base-allocs/req	    642620 base-cpu-ns/req	    512540 base-p50-ns	   4176508 base-p99-ns	      1911 heepr-allocs/req	    884420 heepr-cpu-ns/req	    746541 heepr-p50-ns	   6254417 heepr-p99-ns	       300.0 requests
PASS
`

func TestParseAndRenderBrowse(t *testing.T) {
	t.Parallel()
	r, err := parseBrowse([]byte(browseOutput))
	require.NoError(t, err)
	require.Equal(t, []string{"postgres/search", "sqlite/filtered"}, r.order)
	require.Equal(t, "2", r.procs)
	require.Equal(t, "15.20 (Debian 15.20-0+deb12u1)", r.pgVersion)
	require.Len(t, r.seeds, 2)
	require.Len(t, r.planLines["postgres/search"], 2)
	table := renderBrowse(r)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	require.Len(t, lines, 4, "header, rule, two rows")
	require.Equal(t, "| postgres | search q=data, sort relevance, limit 20 | 3,238 | 12.03 ms | 13.37 ms | 12.42 ms | 14.10 ms | **0.97** | 0.96, 0.98, 0.97 | 469 → 958 | 371 → 1610 |", lines[2])
	require.Contains(t, lines[3], "| sqlite | category=code, price 50-500, min_rating 4, sort rating, limit 20 | 456 | 0.51 ms | 4.18 ms | 0.75 ms | 6.25 ms | **0.69** |")

	_, err = parseBrowse([]byte("PASS\n"))
	require.Error(t, err, "no results is a failure, not an empty table")
	_, err = parseBrowse([]byte("BenchmarkBrowse/postgres/search-2  1  5 base-p50-ns\n"))
	require.Error(t, err, "a result without every percentile")
}

func TestUpdateKeepsTheOtherSuitesBlock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "PERFORMANCE.md")
	lb, le := markers("ledger")
	bb, be := markers("browse")
	doc := "# Performance\n\nintro\n\n" + lb + "\nold ledger\n" + le + "\n\n## Browse\n\ntext\n\n" + bb + "\nold browse\n" + be + "\n\n## After\n"
	require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))

	require.NoError(t, update(path, "browse", bb+"\nnew browse\n"+be+"\n"))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, strings.Replace(doc, "old browse", "new browse", 1), string(got))

	require.NoError(t, update(path, "ledger", lb+"\nnew ledger\n"+le+"\n"))
	got, err = os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, strings.NewReplacer("old browse", "new browse", "old ledger", "new ledger").Replace(doc), string(got))

	// A document without the block gets it appended.
	other := filepath.Join(t.TempDir(), "P.md")
	require.NoError(t, os.WriteFile(other, []byte("# P\n"), 0o644))
	require.NoError(t, update(other, "browse", bb+"\nx\n"+be+"\n"))
	got, err = os.ReadFile(other)
	require.NoError(t, err)
	require.Equal(t, "# P\n\n"+bb+"\nx\n"+be+"\n", string(got))

	// Broken markers are refused.
	broken := filepath.Join(t.TempDir(), "B.md")
	require.NoError(t, os.WriteFile(broken, []byte(bb+"\nonly the start\n"), 0o644))
	require.ErrorContains(t, update(broken, "browse", "x"), "bench:browse markers are broken")
}

const holdOutput = `postgres-version: 15.20 (Debian 15.20-0+deb12u1)
goos: linux
BenchmarkEventsHold/postgres-2         	       1	      1000 burst-events	  88264131 burst-max-ns	      2275 burst-ms	  11720944 burst-p50-ns	  50177759 burst-p99-ns	      8500 establish-ms	        20.00 establish-pool-acquired-max	      4647 establish-sql-inuse-max	         2.000 goroutines/poll	     34644 heap-B/poll	         1.000 listen-conns	         0 ns/op	      5000 polls	         1.000 pool-acquired-max	        20.00 pool-total	     51077 rss-B/poll	      1000 seq-events	  27354483 seq-max-ns	   2396041 seq-p50-ns	   7553286 seq-p99-ns	         0 sql-inuse-max	         0 sql-open	     18750 stack-B/poll	   2176355 write-p50-ns
PASS
`

func TestParseAndRenderEvents(t *testing.T) {
	t.Parallel()
	side, m, v, err := parseHold([]byte(holdOutput))
	require.NoError(t, err)
	require.Equal(t, "postgres", side)
	require.Equal(t, "15.20 (Debian 15.20-0+deb12u1)", v)
	require.InDelta(t, 34644, m["heap-B/poll"], 0.1)
	bare := result{"polls": 5000, "heap-B/poll": 15167, "stack-B/poll": 6154, "rss-B/poll": 16612, "goroutines/poll": 2,
		"seq-events": 1000, "seq-p50-ns": 258259, "seq-p99-ns": 835483, "seq-max-ns": 10754061}
	table := renderHold([]string{"bare", "postgres"}, map[string]result{"bare": bare, "postgres": m})
	lines := strings.Split(strings.TrimSpace(table), "\n")
	require.Len(t, lines, 4, "header, rule, two rows")
	require.Contains(t, lines[2], "| bare | 5,000 |")
	require.Contains(t, lines[2], "none (no database)")
	require.Contains(t, lines[3], "| postgres | 5,000 | 8.50 s | 33.8 KiB | 18.3 KiB | 49.9 KiB | 2.00 |")
	require.Contains(t, lines[3], "pgxpool AcquiredConns **1** (LISTEN: 1) of 20 open")
	require.Contains(t, lines[3], "2.40 ms / **7.55 ms** / 27.35 ms (1,000 events)")

	_, _, _, err = parseHold([]byte("PASS\n"))
	require.Error(t, err)

	rr := &roundsRun{order: []string{"BenchmarkEventsPoll/postgres/acked/serial/baseline", "BenchmarkEventsPoll/postgres/acked/serial/http", "BenchmarkEventsPoll/postgres/acked/serial/heepr", "BenchmarkEventsPoll/postgres/acked/serial/gohttp"},
		byName: map[string][]result{
			"BenchmarkEventsPoll/postgres/acked/serial/baseline": {{"ns/op": 500_000, "cpu-ns/op": 250_000, "allocs/op": 81}},
			"BenchmarkEventsPoll/postgres/acked/serial/http":     {{"ns/op": 625_000, "cpu-ns/op": 400_000, "allocs/op": 170}},
			"BenchmarkEventsPoll/postgres/acked/serial/heepr":    {{"ns/op": 1_000_000, "cpu-ns/op": 900_000, "allocs/op": 1500}},
			"BenchmarkEventsPoll/postgres/acked/serial/gohttp":   {{"ns/op": 1_250_000}},
		}}
	poll, err := renderPoll(rr, 1, 0.6)
	require.NoError(t, err)
	require.Contains(t, poll, "| postgres acked serial | 500 | 2,000 | 1,000 | 1,000 | **0.50** | 0.50 | **missed** | 625 (0.80) | 1,250 (0.40) | 250, 400, 900 | 81, 170, 1500 |")
	delete(rr.byName, "BenchmarkEventsPoll/postgres/acked/serial/http")
	delete(rr.byName, "BenchmarkEventsPoll/postgres/acked/serial/gohttp")
	poll, err = renderPoll(rr, 1, 0.6)
	require.NoError(t, err)
	require.Contains(t, poll, "| **missed** | - | - | 250, -, 900 | 81, -, 1500 |", "older runs without the references")
	rr.byName["BenchmarkEventsPoll/postgres/acked/serial/gohttp"] = []result{{"ns/op": 1}, {"ns/op": 2}}
	_, err = renderPoll(rr, 1, 0.6)
	require.ErrorContains(t, err, "2 Go-client results for 1 rounds")

	rr = &roundsRun{order: []string{"BenchmarkEventsPoll/postgres/cached/serial/heepr", "BenchmarkEventsPoll/postgres/cached/serial/hello"},
		byName: map[string][]result{
			"BenchmarkEventsPoll/postgres/cached/serial/heepr": {{"ns/op": 200_000}, {"ns/op": 300_000}},
			"BenchmarkEventsPoll/postgres/cached/serial/hello": {{"ns/op": 90_000}, {"ns/op": 160_000}},
		}}
	fast, ok := renderFastPath(rr, 2, 0.5)
	require.True(t, ok)
	require.Contains(t, fast, "| postgres cached serial | 125 | 250 | **0.50** | 0.45, 0.53 | met |")
	require.Contains(t, holdTargets([]string{"bare", "postgres"}, map[string]result{"bare": bare, "postgres": m}), "postgres RSS ")
}
