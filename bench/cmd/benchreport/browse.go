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

// browseRun is what one run of bench/browse printed.
type browseRun struct {
	pgVersion, procs string
	order            []string            // "postgres/search", in the order they ran
	metrics          map[string]result   // by scenario: base-p50-ns, heepr-p99-ns, ...
	labels, matches  map[string]string   // by scenario
	plans, rounds    map[string]string   // by scenario: plan summary, per-round ratios
	planLines        map[string][]string // by scenario: the whole plan
	seeds            []string            // "postgres: 10000 active and 1000 hidden agents in 1.2s"
}

// browseLine matches `BenchmarkBrowse/postgres/search-2   1   371.3 base-allocs/req   12032278 base-p50-ns ...`.
var browseLine = regexp.MustCompile(`^BenchmarkBrowse/(\S+?)(?:-(\d+))?\s+(\d+)\s+(.*)$`)

// noteLine matches the benchmark's `browse-<kind>: <db> <scenario>: <text>` lines.
var noteLine = regexp.MustCompile(`^browse-(scenario|plan|plan-line|rounds): (\S+) (\S+): (.*)$`)

var matchesNote = regexp.MustCompile(`^(.*); (\d+) listed agents match$`)

// parseBrowse reads the benchmark's output.
func parseBrowse(out []byte) (*browseRun, error) {
	r := &browseRun{metrics: map[string]result{}, labels: map[string]string{}, matches: map[string]string{},
		plans: map[string]string{}, rounds: map[string]string{}, planLines: map[string][]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "postgres-version: "); ok {
			r.pgVersion = v
			continue
		}
		if v, ok := strings.CutPrefix(line, "browse-seed: "); ok {
			r.seeds = append(r.seeds, v)
			continue
		}
		if m := noteLine.FindStringSubmatch(line); m != nil {
			key := m[2] + "/" + m[3]
			switch m[1] {
			case "scenario":
				if mm := matchesNote.FindStringSubmatch(m[4]); mm != nil {
					r.labels[key], r.matches[key] = mm[1], mm[2]
				} else {
					r.labels[key] = m[4]
				}
			case "plan":
				r.plans[key] = m[4]
			case "plan-line":
				r.planLines[key] = append(r.planLines[key], m[4])
			case "rounds":
				r.rounds[key] = m[4]
			}
			continue
		}
		m := browseLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if m[2] != "" {
			r.procs = m[2]
		}
		res := result{}
		f := strings.Fields(m[4])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("bad metric in %q", line)
			}
			res[f[i+1]] = v
		}
		for _, unit := range []string{"base-p50-ns", "base-p99-ns", "heepr-p50-ns", "heepr-p99-ns"} {
			if res[unit] <= 0 {
				return nil, fmt.Errorf("%s: no %s in %q", m[1], unit, line)
			}
		}
		if _, seen := r.metrics[m[1]]; !seen {
			r.order = append(r.order, m[1])
		}
		r.metrics[m[1]] = res
	}
	if len(r.order) == 0 {
		return nil, errors.New("the run printed no browse results")
	}
	return r, sc.Err()
}

// ms formats nanoseconds as milliseconds.
func ms(ns float64) string { return fmt.Sprintf("%.2f ms", ns/1e6) }

// renderBrowse makes the markdown table: one row per database and scenario.
func renderBrowse(r *browseRun) string {
	var b strings.Builder
	fmt.Fprintln(&b, "| Database | Scenario | Listed matches | Baseline p50 | Baseline p99 | heepr p50 | heepr p99 | Ratio (baseline p50 / heepr p50) | Ratio per round | Client CPU µs/request, baseline → heepr | Allocs/request, baseline → heepr |")
	fmt.Fprintln(&b, "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
	for _, key := range r.order {
		m := r.metrics[key]
		db, name, _ := strings.Cut(key, "/")
		label := r.labels[key]
		if label == "" {
			label = name
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | **%.2f** | %s | %.0f → %.0f | %.0f → %.0f |\n",
			db, label, group(parseOr(r.matches[key])), ms(m["base-p50-ns"]), ms(m["base-p99-ns"]), ms(m["heepr-p50-ns"]), ms(m["heepr-p99-ns"]),
			m["base-p50-ns"]/m["heepr-p50-ns"], orDash(r.rounds[key]),
			m["base-cpu-ns/req"]/1e3, m["heepr-cpu-ns/req"]/1e3, m["base-allocs/req"], m["heepr-allocs/req"])
	}
	return b.String()
}

func parseOr(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// runBrowse runs bench/browse once and writes its block.
func runBrowse(requests, rounds int, pkg, out, goCmd string) error {
	if requests < rounds || rounds < 1 {
		return errors.New("-browse-requests must be at least -browse-rounds, which must be at least 1")
	}
	started := time.Now()
	load := strings.Fields(readFile("/proc/loadavg"))
	load = load[:min(3, len(load))]
	args := []string{"test", "-run", "^$", "-bench", "BenchmarkBrowse", "-benchtime", "1x", "-count", "1", "-timeout", "30m", pkg}
	envs := []string{"HEEPR_BROWSE_REQUESTS=" + strconv.Itoa(requests), "HEEPR_BROWSE_ROUNDS=" + strconv.Itoa(rounds)}
	printed, err := goTest("browse", goCmd, args, envs)
	if err != nil {
		return err
	}
	took := time.Since(started).Round(time.Second)
	r, err := parseBrowse(printed)
	if err != nil {
		return err
	}
	table := renderBrowse(r)

	begin, end := markers("browse")
	var b strings.Builder
	fmt.Fprintln(&b, begin)
	fmt.Fprintln(&b)
	b.WriteString(table)
	fmt.Fprintln(&b)
	for _, s := range r.seeds {
		fmt.Fprintf(&b, "- **Seeded:** %s.\n", s)
	}
	fmt.Fprintln(&b, "- **Plans** (the baseline statement under `EXPLAIN ANALYZE` on Postgres, `EXPLAIN QUERY PLAN` on SQLite, before the timed requests):")
	for _, key := range r.order {
		if p := r.plans[key]; p != "" {
			fmt.Fprintf(&b, "  - %s: %s\n", strings.ReplaceAll(key, "/", " "), p)
		}
	}
	fmt.Fprintf(&b, "- **Date:** %s\n", started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- **Command:** `go run ./bench/cmd/benchreport -suites browse -browse-requests %d -browse-rounds %d` (part of `make bench`), which ran `%s %s %s` and took %s in all, seeding included.\n",
		requests, rounds, strings.Join(envs, " "), goCmd, shellJoin(args), took)
	fmt.Fprintf(&b, "- **Machine:** %s; %s; %s RAM; load average %s at the start.\n", cpus(), cpuModel(), memTotal(), strings.Join(load, " "))
	fmt.Fprintf(&b, "- **Software:** %s, GOMAXPROCS %s; PostgreSQL %s on the same machine; SQLite (modernc.org/sqlite) in a temporary directory.\n",
		runtime.Version(), orDash(r.procs), orDash(r.pgVersion))
	if len(r.planLines) > 0 {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "<details><summary>The plans in full</summary>")
		fmt.Fprintln(&b)
		for _, key := range r.order {
			lines := r.planLines[key]
			if len(lines) == 0 {
				continue
			}
			fmt.Fprintf(&b, "%s:\n\n```text\n%s\n```\n\n", strings.ReplaceAll(key, "/", " "), strings.Join(lines, "\n"))
		}
		fmt.Fprintln(&b, "</details>")
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, end)

	if err := update(out, "browse", b.String()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\n%s\nwrote the browse block of %s (took %s)\n", table, out, took)
	return nil
}
