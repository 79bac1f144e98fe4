// Command benchreport runs heepr's benchmarks beside their raw-SQL
// baselines and writes each suite's table into docs/PERFORMANCE.md,
// between the markers that suite owns. `make bench` runs it from the
// repository root:
//
//	go run ./bench/cmd/benchreport [-suites ledger,browse,events] [-rounds 3] [-benchtime 1s] [-browse-requests 2000] [-events-polls 5000] [-out docs/PERFORMANCE.md]
//
// ledger (bench/ledger): throughput. Each round is one `go test -bench` run
// of every scenario, in which each baseline/heepr pair runs back to back;
// every other round runs heepr first (HEEPR_BENCH_FLIP=1), so neither side
// always gets the warmer turn. The table shows the median over the rounds.
//
// browse (bench/browse): latency per request. One `go test -bench` run
// seeds 10,000 agents per database and alternates heepr and baseline
// batches itself (see that package); the table shows p50 and p99 per side.
//
// payouts (bench/payouts): how long heepr's River workers take to drain
// -payouts queued payout jobs, beside the same statements from a bare pgx
// loop at the same concurrency; median over -payout-rounds.
//
// browse-load (BenchmarkSearchLoad in bench/browse): the search at a
// constant -load-rate over HTTP (vegeta), heepr's server beside a bare
// net/http handler running the same SQL; medians over -load-rounds.
//
// It needs Go and the local Postgres (127.0.0.1:5432, or DATABASE_URL).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// markers delimit the block a suite owns in the document.
func markers(suite string) (begin, end string) {
	return "<!-- BEGIN bench:" + suite + " (written by `make bench`; edits between these markers are overwritten) -->",
		"<!-- END bench:" + suite + " -->"
}

func main() {
	suites := flag.String("suites", "ledger,browse,events,orders,payouts,browse-load", "the suites to run, comma-separated: ledger, browse, events, orders, payouts, browse-load")
	rounds := flag.Int("rounds", 3, "ledger, events: interleaved rounds; the table shows the median of each benchmark")
	benchtime := flag.String("benchtime", "1s", "ledger, events: go test -benchtime for each benchmark")
	pkg := flag.String("pkg", "./bench/ledger", "ledger: the benchmark package")
	bench := flag.String("bench", "BenchmarkLedger", "ledger: go test -bench pattern")
	browsePkg := flag.String("browse-pkg", "./bench/browse", "browse: the benchmark package")
	browseRequests := flag.Int("browse-requests", 2000, "browse: requests per side and scenario")
	browseRounds := flag.Int("browse-rounds", 3, "browse: rounds of one heepr and one baseline batch")
	eventsPkg := flag.String("events-pkg", "./bench/events", "events: the benchmark package")
	eventsPolls := flag.Int("events-polls", 5000, "events: long-polls held at once")
	eventsSamples := flag.Int("events-samples", 1000, "events: events written one at a time to held polls")
	eventsBurst := flag.Int("events-burst", 1000, "events: events then written at once, to as many other held polls")
	ordersRounds := flag.Int("orders-rounds", 3, "orders: interleaved rounds of heepr and pgbench")
	ordersClients := flag.Int("orders-clients", 8, "orders: concurrent clients placing orders, on each side")
	ordersPerClient := flag.Int("orders-per-client", 250, "orders: orders per client and round")
	spendClients := flag.Int("spend-clients", 32, "orders: concurrent spenders on the hot wallet, on each side")
	spendPerClient := flag.Int("spend-per-client", 100, "orders: spend attempts per spender and round")
	payoutsPkg := flag.String("payouts-pkg", "./bench/payouts", "payouts: the benchmark package")
	payouts := flag.Int("payouts", 10_000, "payouts: queued payout jobs to drain, on each side")
	payoutRounds := flag.Int("payout-rounds", 3, "payouts: rounds of one heepr and one baseline drain")
	payoutWorkers := flag.Int("payout-workers", 20, "payouts: River workers (HEEPR_WORKERS) and baseline goroutines")
	payoutFeeBPS := flag.Int("payout-fee-bps", 1000, "payouts: platform fee in basis points (HEEPR_PLATFORM_FEE_BPS)")
	loadRate := flag.Int("load-rate", 200, "browse-load: search requests per second offered to each side")
	loadSeconds := flag.Int("load-seconds", 30, "browse-load: seconds of load per side and round")
	loadRounds := flag.Int("load-rounds", 3, "browse-load: rounds of one heepr and one baseline attack")
	out := flag.String("out", "docs/PERFORMANCE.md", "the document to update")
	goCmd := flag.String("go", envOr("GO", "go"), "the go command")
	flag.Parse()
	var failed bool
	for _, suite := range strings.Split(*suites, ",") {
		var err error
		switch strings.TrimSpace(suite) {
		case "ledger":
			err = run(*rounds, *benchtime, *pkg, *bench, *out, *goCmd)
		case "payouts":
			err = runPayouts(*payouts, *payoutRounds, *payoutWorkers, *payoutFeeBPS, *payoutsPkg, *out, *goCmd)
		case "browse-load":
			err = runBrowseLoad(*loadRate, *loadSeconds, *loadRounds, *browsePkg, *out, *goCmd)
		case "browse":
			err = runBrowse(*browseRequests, *browseRounds, *browsePkg, *out, *goCmd)
		case "events":
			err = runEvents(*rounds, *benchtime, *eventsPolls, *eventsSamples, *eventsBurst, *eventsPkg, *out, *goCmd)
		case "orders":
			err = runOrders(*ordersRounds, *ordersClients, *ordersPerClient, *spendClients, *spendPerClient, "./bench/orders", *out, *goCmd)
		default:
			err = fmt.Errorf("unknown suite %q (want ledger, browse, events, orders, payouts or browse-load)", suite)
		}
		if err != nil { // the other suites still run and write their blocks
			fmt.Fprintf(os.Stderr, "benchreport: %s: %v\n", suite, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// result is one benchmark line: its metrics by unit (ns/op, cpu-ns/op,
// B/op, allocs/op).
type result map[string]float64

func run(rounds int, benchtime, pkg, bench, out, goCmd string) error {
	started := time.Now()
	load := strings.Fields(readFile("/proc/loadavg"))
	load = load[:min(3, len(load))]
	rr, err := runRounds(rounds, benchtime, pkg, bench, goCmd)
	if err != nil {
		return err
	}
	order, byName, procs, pgVersion, args := rr.order, rr.byName, rr.procs, rr.pgVersion, rr.args
	took := time.Since(started).Round(time.Second)

	table, err := render(order, byName, rounds)
	if err != nil {
		return err
	}
	begin, end := markers("ledger")
	var b strings.Builder
	fmt.Fprintln(&b, begin)
	fmt.Fprintln(&b)
	b.WriteString(table)
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "- **Date:** %s\n", started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- **Command:** `go run ./bench/cmd/benchreport -rounds %d -benchtime %s` (what `make bench` runs), which ran %d rounds of `%s %s` (every second round with `HEEPR_BENCH_FLIP=1`, heepr before the baseline) and took %s in all.\n",
		rounds, benchtime, rounds, goCmd, shellJoin(args), took)
	fmt.Fprintf(&b, "- **Machine:** %s; %s; %s RAM; load average %s at the start.\n", cpus(), cpuModel(), memTotal(), strings.Join(load, " "))
	fmt.Fprintf(&b, "- **Software:** %s, GOMAXPROCS %s; PostgreSQL %s on the same machine; SQLite (modernc.org/sqlite) in a temporary directory.\n",
		runtime.Version(), orDash(procs), orDash(pgVersion))
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, end)

	if err := update(out, "ledger", b.String()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\n%s\nwrote %s (took %s)\n", table, out, took)
	return nil
}

// roundsRun is what the interleaved rounds of one benchmark package printed.
type roundsRun struct {
	order            []string            // benchmark names, in the order they ran
	byName           map[string][]result // benchmark -> one result per round
	procs, pgVersion string
	args             []string // the go test arguments
}

// runRounds runs `go test -bench` rounds times, every second round with
// HEEPR_BENCH_FLIP=1 (heepr before the baseline in each pair).
func runRounds(rounds int, benchtime, pkg, bench, goCmd string) (*roundsRun, error) {
	if rounds < 1 {
		return nil, errors.New("-rounds must be at least 1")
	}
	rr := &roundsRun{byName: map[string][]result{},
		args: []string{"test", "-run", "^$", "-bench", bench, "-benchmem", "-count", "1", "-benchtime", benchtime, pkg}}
	args := rr.args
	for r := range rounds {
		flip := r%2 == 1
		var envs []string
		if flip {
			envs = []string{"HEEPR_BENCH_FLIP=1"}
		}
		out, err := goTest(fmt.Sprintf("round %d/%d", r+1, rounds), goCmd, args, envs)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", r+1, err)
		}
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "postgres-version: "); ok {
				rr.pgVersion = v
			}
			m := benchLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			name := m[1]
			if m[2] != "" {
				rr.procs = m[2]
			}
			res := result{}
			f := strings.Fields(m[4])
			for i := 0; i+1 < len(f); i += 2 {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					return nil, fmt.Errorf("round %d: bad metric in %q", r+1, line)
				}
				res[f[i+1]] = v
			}
			if res["ns/op"] == 0 {
				continue
			}
			if _, seen := rr.byName[name]; !seen {
				rr.order = append(rr.order, name)
			}
			rr.byName[name] = append(rr.byName[name], res)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("round %d printed no benchmark results", r+1)
		}
	}
	return rr, nil
}

// benchLine matches `BenchmarkX/a/b-2   123   4567 ns/op   890 cpu-ns/op   89 B/op   10 allocs/op`:
// the name, GOMAXPROCS, the iterations and the value-unit pairs.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-(\d+))?\s+(\d+)\s+(\S+ ns/op.*)$`)

// render makes the markdown table: one row per scenario (the benchmark
// name without its last element), baseline against heepr.
func render(order []string, byName map[string][]result, rounds int) (string, error) {
	var b strings.Builder
	fmt.Fprintln(&b, "| Scenario | Baseline ns/op | Baseline ops/s | heepr ns/op | heepr ops/s | Ratio (baseline time / heepr time) | Ratio per round | Client CPU µs/op, baseline → heepr | Allocs/op, baseline → heepr |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---|---:|---:|")
	done := map[string]bool{}
	rows := 0
	for _, name := range order {
		i := strings.LastIndex(name, "/")
		if i < 0 {
			continue
		}
		scenario := name[:i]
		if done[scenario] {
			continue
		}
		done[scenario] = true
		base, heepr := byName[scenario+"/baseline"], byName[scenario+"/heepr"]
		if len(base) == 0 || len(heepr) == 0 {
			continue
		}
		if len(base) != rounds || len(heepr) != rounds {
			return "", fmt.Errorf("%s: %d baseline and %d heepr results for %d rounds", scenario, len(base), len(heepr), rounds)
		}
		bns, hns := median(base, "ns/op"), median(heepr, "ns/op")
		var per []string
		for r := range rounds {
			per = append(per, fmt.Sprintf("%.2f", base[r]["ns/op"]/heepr[r]["ns/op"]))
		}
		label := strings.ReplaceAll(strings.TrimPrefix(scenario, "BenchmarkLedger/"), "/", " ")
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | **%.2f** | %s | %.0f → %.0f | %.0f → %.0f |\n", label,
			group(bns), group(1e9/bns), group(hns), group(1e9/hns), bns/hns, strings.Join(per, ", "),
			median(base, "cpu-ns/op")/1e3, median(heepr, "cpu-ns/op")/1e3,
			median(base, "allocs/op"), median(heepr, "allocs/op"))
		rows++
	}
	if rows == 0 {
		return "", errors.New("no baseline/heepr pairs in the output")
	}
	return b.String(), nil
}

// median of one metric over the rounds.
func median(rs []result, unit string) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = r[unit]
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// group formats a number with thousands separators and no decimals.
func group(f float64) string {
	s := strconv.FormatInt(int64(f+0.5), 10)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// update replaces suite's marked block in path, appending it (or creating
// the file) when there is none.
func update(path, suite, block string) error {
	begin, end := markers(suite)
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		old = []byte("# Performance\n\n")
	} else if err != nil {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	switch {
	case i >= 0 && j > i:
		s = s[:i] + strings.TrimSuffix(block, "\n") + s[j+len(end):]
	case i < 0 && j < 0:
		s = strings.TrimRight(s, "\n") + "\n\n" + block
	default:
		return fmt.Errorf("%s: the bench:%s markers are broken; restore both or remove both", path, suite)
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func cpus() string {
	return fmt.Sprintf("%d CPUs (nproc)", runtime.NumCPU())
}

func cpuModel() string {
	for line := range strings.Lines(readFile("/proc/cpuinfo")) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	for line := range strings.Lines(readFile("/proc/meminfo")) {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	return "unknown"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// goTest runs `go test` with args and envs added to the environment,
// echoing what it prints, and returns its standard output.
func goTest(label, goCmd string, args, envs []string) ([]byte, error) {
	shown := goCmd
	if len(envs) > 0 {
		shown = strings.Join(envs, " ") + " " + goCmd
	}
	fmt.Fprintf(os.Stderr, "== %s: %s %s\n", label, shown, shellJoin(args))
	cmd := exec.Command(goCmd, args...)
	cmd.Env = append(os.Environ(), envs...)
	var buf bytes.Buffer
	cmd.Stdout = io.MultiWriter(os.Stdout, &buf)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", goCmd, shellJoin(args), err)
	}
	return buf.Bytes(), nil
}

// shellJoin quotes the arguments that need it, for a command to paste.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " ^$*?'\"\\|&;<>()[]{}") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
