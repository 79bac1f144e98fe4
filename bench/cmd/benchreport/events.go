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

// The events suite (bench/events): the throughput of a poll that finds
// nothing new, beside its baseline, in interleaved rounds as the ledger's;
// then the held long-polls, once per side, each side in its own process
// (so that each resident-set figure starts from a fresh process).

var holdSides = []string{"bare", "postgres", "sqlite"}

// holdLine matches `BenchmarkEventsHold/postgres-2   1   1000 burst-events ...`.
var holdLine = regexp.MustCompile(`^BenchmarkEventsHold/(\S+?)(?:-(\d+))?\s+(\d+)\s+(.*)$`)

// parseHold reads one side's run: its metrics by unit.
func parseHold(out []byte) (side string, m result, pgVersion string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "postgres-version: "); ok {
			pgVersion = v
			continue
		}
		mm := holdLine.FindStringSubmatch(line)
		if mm == nil {
			continue
		}
		side, m = mm[1], result{}
		f := strings.Fields(mm[4])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return "", nil, "", fmt.Errorf("bad metric in %q", line)
			}
			m[f[i+1]] = v
		}
		for _, unit := range []string{"polls", "heap-B/poll", "rss-B/poll", "seq-p50-ns", "seq-p99-ns"} {
			if _, ok := m[unit]; !ok {
				return "", nil, "", fmt.Errorf("%s: no %s in %q", side, unit, line)
			}
		}
	}
	if m == nil {
		return "", nil, "", errors.New("the run printed no held-poll result")
	}
	return side, m, pgVersion, sc.Err()
}

// renderPoll makes the throughput table: one row per scenario, with the
// bare HTTP reference (the baseline's SQL behind a minimal handler) when
// the run has it.
func renderPoll(rr *roundsRun, rounds int, target float64) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "| Scenario | Baseline µs/poll | Baseline polls/s | heepr µs/poll | heepr polls/s | Ratio (heepr polls/s / baseline polls/s) | Ratio per round | Target ≥ %.1f | Bare HTTP µs/poll (its ratio to the baseline) | heepr through Go's http.Client µs/poll (its ratio) | CPU µs/poll: baseline, bare HTTP, heepr | Allocs/poll: baseline, bare HTTP, heepr |\n", target)
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|")
	done := map[string]bool{}
	rows := 0
	for _, name := range rr.order {
		i := strings.LastIndex(name, "/")
		if i < 0 {
			continue
		}
		scenario := name[:i]
		if done[scenario] {
			continue
		}
		done[scenario] = true
		base, heepr, bare, gohttp := rr.byName[scenario+"/baseline"], rr.byName[scenario+"/heepr"], rr.byName[scenario+"/http"], rr.byName[scenario+"/gohttp"]
		if len(base) == 0 || len(heepr) == 0 {
			continue
		}
		if len(base) != rounds || len(heepr) != rounds || len(bare) != 0 && len(bare) != rounds || len(gohttp) != 0 && len(gohttp) != rounds {
			return "", fmt.Errorf("%s: %d baseline, %d bare HTTP, %d heepr and %d Go-client results for %d rounds", scenario, len(base), len(bare), len(heepr), len(gohttp), rounds)
		}
		bns, hns := median(base, "ns/op"), median(heepr, "ns/op")
		goClient := "-"
		if len(gohttp) > 0 {
			gns := median(gohttp, "ns/op")
			goClient = fmt.Sprintf("%s (%.2f)", group(gns/1e3), bns/gns)
		}
		var per []string
		for r := range rounds {
			per = append(per, fmt.Sprintf("%.2f", base[r]["ns/op"]/heepr[r]["ns/op"]))
		}
		met := "met"
		if bns/hns < target {
			met = "**missed**"
		}
		ref, cpu, allocs := "-", "-", "-"
		if len(bare) > 0 {
			xns := median(bare, "ns/op")
			ref = fmt.Sprintf("%s (%.2f)", group(xns/1e3), bns/xns)
			cpu = fmt.Sprintf("%.0f, %.0f, %.0f", median(base, "cpu-ns/op")/1e3, median(bare, "cpu-ns/op")/1e3, median(heepr, "cpu-ns/op")/1e3)
			allocs = fmt.Sprintf("%.0f, %.0f, %.0f", median(base, "allocs/op"), median(bare, "allocs/op"), median(heepr, "allocs/op"))
		} else {
			cpu = fmt.Sprintf("%.0f, -, %.0f", median(base, "cpu-ns/op")/1e3, median(heepr, "cpu-ns/op")/1e3)
			allocs = fmt.Sprintf("%.0f, -, %.0f", median(base, "allocs/op"), median(heepr, "allocs/op"))
		}
		label := strings.ReplaceAll(strings.TrimPrefix(scenario, "BenchmarkEventsPoll/"), "/", " ")
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | **%.2f** | %s | %s | %s | %s | %s | %s |\n", label,
			group(bns/1e3), group(1e9/bns), group(hns/1e3), group(1e9/hns), bns/hns, strings.Join(per, ", "), met,
			ref, goClient, cpu, allocs)
		rows++
	}
	if rows == 0 {
		return "", errors.New("no baseline/heepr pairs in the output")
	}
	return b.String(), nil
}

// renderFastPath makes the table of the fast path (the agent's position
// known in memory, so the poll skips the database) against a hello-world
// handler on the same server settings: issue 10 asks for at least target.
func renderFastPath(rr *roundsRun, rounds int, target float64) (string, bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "| Scenario | Hello-world µs/poll | heepr µs/poll | Ratio (hello-world time / heepr time) | Ratio per round | Target ≥ %.1f |\n", target)
	fmt.Fprintln(&b, "|---|---:|---:|---:|---|---|")
	rows := 0
	for _, name := range rr.order {
		scenario, ok := strings.CutSuffix(name, "/hello")
		if !ok {
			continue
		}
		hello, heepr := rr.byName[name], rr.byName[scenario+"/heepr"]
		if len(hello) != rounds || len(heepr) != rounds {
			continue
		}
		lns, hns := median(hello, "ns/op"), median(heepr, "ns/op")
		var per []string
		for r := range rounds {
			per = append(per, fmt.Sprintf("%.2f", hello[r]["ns/op"]/heepr[r]["ns/op"]))
		}
		met := "met"
		if lns/hns < target {
			met = "**missed**"
		}
		label := strings.ReplaceAll(strings.TrimPrefix(scenario, "BenchmarkEventsPoll/"), "/", " ")
		fmt.Fprintf(&b, "| %s | %s | %s | **%.2f** | %s | %s |\n", label, group(lns/1e3), group(hns/1e3), lns/hns, strings.Join(per, ", "), met)
		rows++
	}
	return b.String(), rows > 0
}

// secs formats milliseconds as seconds.
func secs(msec float64) string { return fmt.Sprintf("%.2f s", msec/1e3) }

// holdTargets says, per database, whether the held polls met issue 10's
// targets: RSS per poll at most twice the bare long-poll's, and the
// one-at-a-time event-to-delivery p99 at most 100 ms.
func holdTargets(order []string, sides map[string]result) string {
	bare := sides["bare"]
	var out []string
	for _, side := range order {
		if side == "bare" || bare["rss-B/poll"] == 0 {
			continue
		}
		m := sides[side]
		ratio := m["rss-B/poll"] / bare["rss-B/poll"]
		p99 := m["seq-p99-ns"] / 1e6
		verdict := func(ok bool) string {
			if ok {
				return "met"
			}
			return "**missed**"
		}
		out = append(out, fmt.Sprintf("%s RSS %.2fx (%s), p99 %.2f ms (%s)", side, ratio, verdict(ratio <= 2), p99, verdict(p99 <= 100)))
	}
	if len(out) == 0 {
		return "no database side ran"
	}
	return strings.Join(out, "; ")
}

// kib formats bytes as KiB.
func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// renderHold makes the held-polls table: one row per side.
func renderHold(order []string, sides map[string]result) string {
	var b strings.Builder
	fmt.Fprintln(&b, "| Side | Held polls | All held after | Heap in use / poll | Goroutine stacks / poll | RSS / poll | Goroutines / poll | Database connections while held | Event → delivery, one at a time: p50 / p99 / max | Event write p50 | Burst, 8 writers: p50 / p99 / max, all delivered in |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---|---|---:|---|")
	for _, side := range order {
		m := sides[side]
		conns := "none (no database)"
		switch {
		case m["pool-total"] > 0:
			conns = fmt.Sprintf("sql.DB InUse **%.0f**, pgxpool AcquiredConns **%.0f** (LISTEN: %.0f) of %.0f open; while they were sent: InUse up to %s, acquired up to %.0f",
				m["sql-inuse-max"], m["pool-acquired-max"], m["listen-conns"], m["pool-total"], group(m["establish-sql-inuse-max"]), m["establish-pool-acquired-max"])
		case side != "bare":
			conns = fmt.Sprintf("sql.DB InUse **%.0f** (%.0f open); while they were sent: InUse up to %.0f",
				m["sql-inuse-max"], m["sql-open"], m["establish-sql-inuse-max"])
		}
		write := ms(m["write-p50-ns"])
		if side == "bare" {
			write = "-" // closing a channel
		}
		burst := "-"
		if m["burst-events"] > 0 {
			burst = fmt.Sprintf("%s / %s / %s (%s events), %s", ms(m["burst-p50-ns"]), ms(m["burst-p99-ns"]), ms(m["burst-max-ns"]),
				group(m["burst-events"]), secs(m["burst-ms"]))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %.2f | %s | %s / **%s** / %s (%s events) | %s | %s |\n",
			side, group(m["polls"]), secs(m["establish-ms"]), kib(m["heap-B/poll"]), kib(m["stack-B/poll"]), kib(m["rss-B/poll"]),
			m["goroutines/poll"], conns, ms(m["seq-p50-ns"]), ms(m["seq-p99-ns"]), ms(m["seq-max-ns"]), group(m["seq-events"]),
			write, burst)
	}
	return b.String()
}

// runEvents runs bench/events and writes its block.
func runEvents(rounds int, benchtime string, polls, samples, burst int, pkg, out, goCmd string) error {
	const target = 0.6
	started := time.Now()
	load := strings.Fields(readFile("/proc/loadavg"))
	load = load[:min(3, len(load))]
	rr, err := runRounds(rounds, benchtime, pkg, "BenchmarkEventsPoll", goCmd)
	if err != nil {
		return err
	}
	pollTook := time.Since(started).Round(time.Second)
	pollTable, err := renderPoll(rr, rounds, target)
	if err != nil {
		return err
	}

	holdStarted := time.Now()
	holdLoad := strings.Fields(readFile("/proc/loadavg"))
	holdLoad = holdLoad[:min(3, len(holdLoad))]
	envs := []string{"HEEPR_HOLD_POLLS=" + strconv.Itoa(polls), "HEEPR_HOLD_SAMPLES=" + strconv.Itoa(samples), "HEEPR_HOLD_BURST=" + strconv.Itoa(burst)}
	sides := map[string]result{}
	var order []string
	pgVersion := rr.pgVersion
	for _, side := range holdSides {
		args := []string{"test", "-run", "^$", "-bench", "BenchmarkEventsHold/^" + side + "$", "-benchtime", "1x", "-count", "1", "-timeout", "10m", pkg}
		printed, err := goTest("held polls, "+side, goCmd, args, envs)
		if err != nil {
			return err
		}
		got, m, v, err := parseHold(printed)
		if err != nil {
			return fmt.Errorf("held polls, %s: %w", side, err)
		}
		if v != "" {
			pgVersion = v
		}
		order = append(order, got)
		sides[got] = m
	}
	holdTook := time.Since(holdStarted).Round(time.Second)
	holdTable := renderHold(order, sides)

	begin, end := markers("events")
	var b strings.Builder
	fmt.Fprintln(&b, begin)
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "**A poll that finds nothing new** (`BenchmarkEventsPoll`, median of the rounds):")
	fmt.Fprintln(&b)
	b.WriteString(pollTable)
	fmt.Fprintln(&b)
	if fast, ok := renderFastPath(rr, rounds, 0.5); ok {
		fmt.Fprintln(&b, "**The fast path against a hello-world handler** (the `cached` polls above beside a handler that answers the same empty page with no authentication and no database, on the same server settings and client):")
		fmt.Fprintln(&b)
		b.WriteString(fast)
		fmt.Fprintln(&b)
	}
	fmt.Fprintf(&b, "**%s held long-polls** (`BenchmarkEventsHold`, `wait=30`, one per agent):\n", group(float64(polls)))
	fmt.Fprintln(&b)
	b.WriteString(holdTable)
	fmt.Fprintln(&b)
	if bare, ok := sides["bare"]; ok {
		var extra []string
		for _, side := range order {
			if side == "bare" {
				continue
			}
			m := sides[side]
			extra = append(extra, fmt.Sprintf("%s +%s heap, +%s stacks, +%s RSS", side,
				kib(m["heap-B/poll"]-bare["heap-B/poll"]), kib(m["stack-B/poll"]-bare["stack-B/poll"]), kib(m["rss-B/poll"]-bare["rss-B/poll"])))
		}
		if len(extra) > 0 {
			fmt.Fprintf(&b, "- **heepr over the bare long-poll, per held poll:** %s.\n", strings.Join(extra, "; "))
		}
		fmt.Fprintf(&b, "- **Targets** (issue 10: RSS at most 2x the bare long-poll's, no database connection held while waiting, event to delivery p99 at most 100 ms): %s.\n", holdTargets(order, sides))
	}
	fmt.Fprintf(&b, "- **Date:** %s\n", started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- **Command:** `go run ./bench/cmd/benchreport -suites events -rounds %d -benchtime %s -events-polls %d -events-samples %d -events-burst %d` (part of `make bench`), which ran %d rounds of `%s %s` (every second round with `HEEPR_BENCH_FLIP=1`, heepr before the baseline; %s), then `%s %s %s` with `-bench 'BenchmarkEventsHold/^SIDE$'` for each of %s, one process each (%s).\n",
		rounds, benchtime, polls, samples, burst, rounds, goCmd, shellJoin(rr.args), pollTook,
		strings.Join(envs, " "), goCmd, "test -run '^$' -benchtime 1x -count 1 -timeout 10m "+pkg, strings.Join(holdSides, ", "), holdTook)
	fmt.Fprintf(&b, "- **Machine:** %s; %s; %s RAM; load average %s at the start, %s before the held polls.\n", cpus(), cpuModel(), memTotal(),
		strings.Join(load, " "), strings.Join(holdLoad, " "))
	fmt.Fprintf(&b, "- **Software:** %s, GOMAXPROCS %s; PostgreSQL %s on the same machine; SQLite (modernc.org/sqlite) in a temporary directory.\n",
		runtime.Version(), orDash(rr.procs), orDash(pgVersion))
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, end)

	if err := update(out, "events", b.String()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\n%s\n%s\nwrote the events block of %s (took %s)\n", pollTable, holdTable, out, time.Since(started).Round(time.Second))
	return nil
}
