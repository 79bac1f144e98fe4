package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// browseLoadTargetMs is issue 10's target: heepr's search p99 at 200 requests/s.
const browseLoadTargetMs = 50.0

// loadLine matches one attack's line printed by BenchmarkSearchLoad.
var loadLine = regexp.MustCompile(`^search-load: round=(\d+) side=(heepr|baseline) (.*)$`)

var loadProcs = regexp.MustCompile(`^BenchmarkSearchLoad-(\d+)\s`)

// defaultLoadScenario is the scenario of a line that names none (the one
// the benchmark ran before it had several): q=data over and over.
const defaultLoadScenario = "data"

// browseLoadRun is what one run of BenchmarkSearchLoad printed.
type browseLoadRun struct {
	pgVersion, procs, seed string
	rate, secs, agents     int
	scenarios              []string                                   // in the order they ran
	labels                 map[string]string                          // by scenario
	rounds                 map[string]map[string][]map[string]float64 // by scenario, by side: one metric map per round
	explain                map[string]map[string]float64              // by scenario: EXPLAIN ANALYZE figures
	errors                 []string
}

// fields reads "k=v" fields; values are numbers except the scenario's name.
func fields(line, s string) (map[string]float64, string, error) {
	kv, scenario := map[string]float64{}, defaultLoadScenario
	for _, f := range strings.Fields(s) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		if k == "scenario" {
			scenario = v
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, "", fmt.Errorf("bad %s in %q", k, line)
		}
		kv[k] = x
	}
	return kv, scenario, nil
}

func parseBrowseLoad(out []byte) (*browseLoadRun, error) {
	r := &browseLoadRun{labels: map[string]string{}, rounds: map[string]map[string][]map[string]float64{},
		explain: map[string]map[string]float64{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "postgres-version: "); ok {
			r.pgVersion = v
			continue
		}
		if v, ok := strings.CutPrefix(line, "search-load-seed: "); ok {
			r.seed = v
			continue
		}
		if v, ok := strings.CutPrefix(line, "search-load-errors: "); ok {
			r.errors = append(r.errors, v)
			continue
		}
		if v, ok := strings.CutPrefix(line, "search-load-scenario: "); ok {
			if name, label, ok := strings.Cut(v, ": "); ok {
				r.labels[name] = label
			}
			continue
		}
		if v, ok := strings.CutPrefix(line, "search-load-explain: "); ok {
			kv, scenario, err := fields(line, v)
			if err != nil {
				return nil, err
			}
			r.explain[scenario] = kv
			continue
		}
		if m := loadProcs.FindStringSubmatch(line); m != nil {
			r.procs = m[1]
			continue
		}
		m := loadLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		kv, scenario, err := fields(line, m[3])
		if err != nil {
			return nil, err
		}
		r.rate, r.secs, r.agents = int(kv["rate"]), int(kv["seconds"]), int(kv["agents"])
		if r.rounds[scenario] == nil {
			r.rounds[scenario] = map[string][]map[string]float64{}
			r.scenarios = append(r.scenarios, scenario)
		}
		r.rounds[scenario][m[2]] = append(r.rounds[scenario][m[2]], kv)
	}
	if len(r.scenarios) == 0 {
		return nil, errors.New("the run printed no attacks")
	}
	for _, s := range r.scenarios {
		if h, b := len(r.rounds[s]["heepr"]), len(r.rounds[s]["baseline"]); h == 0 || h != b {
			return nil, fmt.Errorf("the run printed %d heepr and %d baseline attacks of %s", h, b, s)
		}
	}
	return r, sc.Err()
}

// med is the median of one metric over a side's rounds of a scenario.
func (r *browseLoadRun) med(scenario, side, key string) float64 {
	var v []float64
	for _, m := range r.rounds[scenario][side] {
		v = append(v, m[key])
	}
	return medianOf(v)
}

// label describes a scenario in the tables.
func (r *browseLoadRun) label(scenario string) string {
	l := r.labels[scenario]
	if l == "" && scenario == defaultLoadScenario {
		l = "search q=data, sort relevance, limit 20"
	}
	if l == "" {
		l = scenario
	}
	return fmt.Sprintf("%s: %s, %s agents, %d requests/s for %d s", scenario, l, group(float64(r.agents)), r.rate, r.secs)
}

func renderBrowseLoad(r *browseLoadRun) string {
	var b strings.Builder
	fmt.Fprintln(&b, "| Scenario | Baseline p99 | heepr p99 | Ratio (baseline p99 / heepr p99) | p99 per round, baseline → heepr | Target | Met |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---|---|---|")
	for _, s := range r.scenarios {
		bp99, hp99 := r.med(s, "baseline", "p99_ms"), r.med(s, "heepr", "p99_ms")
		var per []string
		for i := range r.rounds[s]["heepr"] {
			per = append(per, fmt.Sprintf("%.1f → %.1f ms", r.rounds[s]["baseline"][i]["p99_ms"], r.rounds[s]["heepr"][i]["p99_ms"]))
		}
		met := "met"
		if hp99 > browseLoadTargetMs || r.med(s, "heepr", "success") < 1 {
			met = "**missed**"
		}
		if r.rate != 200 {
			met += fmt.Sprintf(" (at %d requests/s, not 200)", r.rate)
		}
		fmt.Fprintf(&b, "| %s | %.1f ms | %.1f ms | **%.2f** | %s | heepr p99 ≤ %.0f ms | %s |\n", r.label(s), bp99, hp99, bp99/hp99, strings.Join(per, "; "), browseLoadTargetMs, met)
	}
	for _, s := range r.scenarios {
		fmt.Fprintf(&b, "\n**%s**", s)
		if e := r.explain[s]; e != nil {
			fmt.Fprintf(&b, " (database time per request before the load: `EXPLAIN ANALYZE` of the baseline statement of each of the %s distinct requests, counted once per request sent; %s of the %s requests read from `agent_terms`. Planning and execution %.2f ms a request on average; execution p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; planning p50 %.2f ms, p99 %.2f ms)",
				group(e["statements"]), group(e["one_word"]), group(e["requests"]), e["mean_ms"], e["exec_p50_ms"], e["exec_p90_ms"], e["exec_p99_ms"], e["exec_max_ms"], e["plan_p50_ms"], e["plan_p99_ms"])
		}
		fmt.Fprintln(&b)
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "| Side | Offered rate | Achieved rate (sent/s) | Throughput (successes/s) | Success | p50 | p95 | p99 | max |")
		fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, side := range []string{"baseline", "heepr"} {
			fmt.Fprintf(&b, "| %s | %d/s | %.1f/s | %.1f/s | %.2f %% | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", side, r.rate,
				r.med(s, side, "achieved"), r.med(s, side, "throughput"), 100*r.med(s, side, "success"),
				r.med(s, side, "p50_ms"), r.med(s, side, "p95_ms"), r.med(s, side, "p99_ms"), r.med(s, side, "max_ms"))
		}
	}
	return b.String()
}

// runBrowseLoad runs BenchmarkSearchLoad once (all its rounds) and writes its block.
func runBrowseLoad(rate, secs, rounds int, pkg, out, goCmd string) error {
	if rate < 1 || secs < 1 || rounds < 1 {
		return errors.New("-load-rate, -load-seconds and -load-rounds must be at least 1")
	}
	started := time.Now()
	load := strings.Fields(readFile("/proc/loadavg"))
	load = load[:min(3, len(load))]
	args := []string{"test", "-run", "^$", "-bench", "BenchmarkSearchLoad", "-benchtime", "1x", "-count", "1", "-timeout", "60m", pkg}
	envs := []string{"HEEPR_LOAD_RATE=" + strconv.Itoa(rate), "HEEPR_LOAD_SECONDS=" + strconv.Itoa(secs), "HEEPR_LOAD_ROUNDS=" + strconv.Itoa(rounds)}
	printed, err := goTest("browse-load", goCmd, args, envs)
	if err != nil {
		return err
	}
	took := time.Since(started).Round(time.Second)
	r, err := parseBrowseLoad(printed)
	if err != nil {
		return err
	}
	table := renderBrowseLoad(r)
	begin, end := markers("browse-load")
	var b strings.Builder
	fmt.Fprintln(&b, begin)
	fmt.Fprintln(&b)
	b.WriteString(table)
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "- Medians over %d rounds per scenario (one attack per side per round, the first side alternating); latencies are vegeta's, from sending a request to reading its whole answer. Neither side caches answers.\n", len(r.rounds[r.scenarios[0]]["heepr"]))
	if r.seed != "" {
		fmt.Fprintf(&b, "- **Seeded:** postgres: %s.\n", r.seed)
	}
	for _, e := range r.errors {
		fmt.Fprintf(&b, "- **Errors:** %s\n", e)
	}
	fmt.Fprintf(&b, "- **Date:** %s\n", started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- **Command:** `go run ./bench/cmd/benchreport -suites browse-load -load-rate %d -load-seconds %d -load-rounds %d` (part of `make bench`), which ran `%s %s %s` and took %s in all, seeding included.\n",
		rate, secs, rounds, strings.Join(envs, " "), goCmd, shellJoin(args), took)
	fmt.Fprintf(&b, "- **Machine:** %s; %s; %s RAM; load average %s at the start.\n", cpus(), cpuModel(), memTotal(), strings.Join(load, " "))
	fmt.Fprintf(&b, "- **Software:** %s, GOMAXPROCS %s; PostgreSQL %s on the same machine; vegeta v12.13.0 (as a library, in the benchmark's process).\n",
		runtime.Version(), orDash(r.procs), orDash(r.pgVersion))
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, end)
	if err := update(out, "browse-load", b.String()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\n%s\nwrote the browse-load block of %s (took %s)\n", table, out, took)
	return nil
}
