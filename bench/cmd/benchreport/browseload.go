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

// browseLoadRun is what one run of BenchmarkSearchLoad printed.
type browseLoadRun struct {
	pgVersion, procs, seed string
	rate, secs, agents     int
	rounds                 map[string][]map[string]float64 // by side: one metric map per round
	errors                 []string
}

func parseBrowseLoad(out []byte) (*browseLoadRun, error) {
	r := &browseLoadRun{rounds: map[string][]map[string]float64{}}
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
		if m := loadProcs.FindStringSubmatch(line); m != nil {
			r.procs = m[1]
			continue
		}
		m := loadLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		kv := map[string]float64{}
		for _, f := range strings.Fields(m[3]) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("bad %s in %q", k, line)
			}
			kv[k] = x
		}
		r.rate, r.secs, r.agents = int(kv["rate"]), int(kv["seconds"]), int(kv["agents"])
		r.rounds[m[2]] = append(r.rounds[m[2]], kv)
	}
	if len(r.rounds["heepr"]) == 0 || len(r.rounds["heepr"]) != len(r.rounds["baseline"]) {
		return nil, fmt.Errorf("the run printed %d heepr and %d baseline attacks", len(r.rounds["heepr"]), len(r.rounds["baseline"]))
	}
	return r, sc.Err()
}

// med is the median of one metric over a side's rounds.
func (r *browseLoadRun) med(side, key string) float64 {
	var v []float64
	for _, m := range r.rounds[side] {
		v = append(v, m[key])
	}
	return medianOf(v)
}

func renderBrowseLoad(r *browseLoadRun) string {
	var b strings.Builder
	scenario := fmt.Sprintf("search q=%s, sort relevance, limit 20, %s agents, %d requests/s for %d s", "data", group(float64(r.agents)), r.rate, r.secs)
	bp99, hp99 := r.med("baseline", "p99_ms"), r.med("heepr", "p99_ms")
	var per []string
	for i := range r.rounds["heepr"] {
		per = append(per, fmt.Sprintf("%.1f → %.1f ms", r.rounds["baseline"][i]["p99_ms"], r.rounds["heepr"][i]["p99_ms"]))
	}
	met := "met"
	if hp99 > browseLoadTargetMs || r.med("heepr", "success") < 1 {
		met = "**missed**"
	}
	if r.rate != 200 {
		met += fmt.Sprintf(" (at %d requests/s, not 200)", r.rate)
	}
	fmt.Fprintln(&b, "| Scenario | Baseline p99 | heepr p99 | Ratio (baseline p99 / heepr p99) | p99 per round, baseline → heepr | Target | Met |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---|---|---|")
	fmt.Fprintf(&b, "| %s | %.1f ms | %.1f ms | **%.2f** | %s | heepr p99 ≤ %.0f ms | %s |\n\n", scenario, bp99, hp99, bp99/hp99, strings.Join(per, "; "), browseLoadTargetMs, met)
	fmt.Fprintln(&b, "| Side | Offered rate | Achieved rate (sent/s) | Throughput (successes/s) | Success | p50 | p95 | p99 | max |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, side := range []string{"baseline", "heepr"} {
		fmt.Fprintf(&b, "| %s | %d/s | %.1f/s | %.1f/s | %.2f %% | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", side, r.rate,
			r.med(side, "achieved"), r.med(side, "throughput"), 100*r.med(side, "success"),
			r.med(side, "p50_ms"), r.med(side, "p95_ms"), r.med(side, "p99_ms"), r.med(side, "max_ms"))
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
	fmt.Fprintf(&b, "- Medians over %d rounds (one attack per side per round, the first side alternating); latencies are vegeta's, from sending a request to reading its whole answer.\n", len(r.rounds["heepr"]))
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
