package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// What BenchmarkSearchLoad printed before it had scenarios: q=data only.
const browseLoadOutput = `search-load-seed: 10,000 active and 1,000 hidden agents in 2.3s
postgres-version: 15.20 (Debian 15.20-0+deb12u1)
search-load: round=1 side=heepr agents=10000 rate=200 seconds=30 requests=6000 success=1.0000 achieved=199.9 throughput=199.5 p50_ms=12.00 p95_ms=30.00 p99_ms=45.00 max_ms=80.00
search-load: round=1 side=baseline agents=10000 rate=200 seconds=30 requests=6000 success=1.0000 achieved=200.0 throughput=199.8 p50_ms=10.00 p95_ms=20.00 p99_ms=30.00 max_ms=60.00
BenchmarkSearchLoad-2   	       1
PASS
`

func TestParseAndRenderBrowseLoad(t *testing.T) {
	t.Parallel()
	r, err := parseBrowseLoad([]byte(browseLoadOutput))
	require.NoError(t, err)
	require.Equal(t, "2", r.procs)
	require.Equal(t, 200, r.rate)
	require.Equal(t, []string{"data"}, r.scenarios)
	table := renderBrowseLoad(r)
	require.Contains(t, table, "| data: search q=data, sort relevance, limit 20, 10,000 agents, 200 requests/s for 30 s | 30.0 ms | 45.0 ms | **0.67** | 30.0 → 45.0 ms | heepr p99 ≤ 50 ms | met |")
	require.Contains(t, table, "| heepr | 200/s | 199.9/s | 199.5/s | 100.00 % | 12.0 ms | 30.0 ms | 45.0 ms | 80.0 ms |")
	r.rounds["data"]["heepr"][0]["p99_ms"] = 51
	require.Contains(t, renderBrowseLoad(r), "| **missed** |")
}

// What it prints now: scenarios, their labels and database times.
const browseLoadScenariosOutput = `search-load-seed: 10,000 active and 1,000 hidden agents in 5.1s
postgres-version: 15.20 (Debian 15.20-0+deb12u1)
search-load-scenario: data: search q=data, sort relevance, limit 20 (one URL)
search-load-explain: scenario=data requests=6000 statements=1 one_word=6000 mean_ms=0.450 plan_p50_ms=0.300 plan_p99_ms=0.300 exec_p50_ms=0.150 exec_p90_ms=0.150 exec_p99_ms=0.150 exec_max_ms=0.150
search-load-scenario: mix: mix of 6,000 searches (2,138 distinct URLs): 257 words
search-load-explain: scenario=mix requests=6000 statements=2138 one_word=4100 mean_ms=1.700 plan_p50_ms=0.400 plan_p99_ms=1.100 exec_p50_ms=0.200 exec_p90_ms=2.500 exec_p99_ms=6.000 exec_max_ms=9.000
search-load: round=1 side=heepr scenario=data agents=10000 rate=200 seconds=30 requests=6000 success=1.0000 achieved=199.9 throughput=199.5 p50_ms=2.00 p95_ms=4.00 p99_ms=8.00 max_ms=20.00
search-load: round=1 side=baseline scenario=data agents=10000 rate=200 seconds=30 requests=6000 success=1.0000 achieved=200.0 throughput=199.8 p50_ms=1.00 p95_ms=2.00 p99_ms=4.00 max_ms=10.00
search-load: round=1 side=baseline scenario=mix agents=10000 rate=200 seconds=30 requests=6000 success=1.0000 achieved=200.0 throughput=199.8 p50_ms=1.50 p95_ms=5.00 p99_ms=9.00 max_ms=30.00
search-load: round=1 side=heepr scenario=mix agents=10000 rate=200 seconds=30 requests=6000 success=0.9990 achieved=199.9 throughput=199.5 p50_ms=3.00 p95_ms=9.00 p99_ms=18.00 max_ms=60.00
search-load-errors: scenario=mix round=1 side=heepr: [timeout]
BenchmarkSearchLoad-2   	       1
PASS
`

func TestParseAndRenderBrowseLoadScenarios(t *testing.T) {
	t.Parallel()
	r, err := parseBrowseLoad([]byte(browseLoadScenariosOutput))
	require.NoError(t, err)
	require.Equal(t, []string{"data", "mix"}, r.scenarios)
	require.Len(t, r.errors, 1)
	table := renderBrowseLoad(r)
	lines := strings.Split(table, "\n")
	require.Contains(t, lines[2], "| data: search q=data, sort relevance, limit 20 (one URL), 10,000 agents, 200 requests/s for 30 s | 4.0 ms | 8.0 ms | **0.50** | 4.0 → 8.0 ms | heepr p99 ≤ 50 ms | met |")
	require.Contains(t, lines[3], "| mix: mix of 6,000 searches (2,138 distinct URLs): 257 words, 10,000 agents, 200 requests/s for 30 s | 9.0 ms | 18.0 ms | **0.50** | 9.0 → 18.0 ms | heepr p99 ≤ 50 ms | **missed** |", "a failed request misses")
	require.Contains(t, table, "each of the 2,138 distinct requests, counted once per request sent; 4,100 of the 6,000 requests read from `agent_terms`. Planning and execution 1.70 ms a request on average; execution p50 0.20 ms, p90 2.50 ms, p99 6.00 ms, max 9.00 ms; planning p50 0.40 ms, p99 1.10 ms)")
	require.Contains(t, table, "| heepr | 200/s | 199.9/s | 199.5/s | 99.90 % | 3.0 ms | 9.0 ms | 18.0 ms | 60.0 ms |")

	_, err = parseBrowseLoad([]byte("search-load: round=1 side=heepr scenario=mix agents=1 rate=1 seconds=1 requests=1 success=1 achieved=1 throughput=1 p50_ms=1 p95_ms=1 p99_ms=1 max_ms=1\n"))
	require.Error(t, err, "a heepr attack without its baseline")
}
