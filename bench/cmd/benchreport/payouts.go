package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// payoutsTarget is issue 10's target: 10,000 queued payouts drain in under 60 s.
const payoutsTarget = 60.0

// payoutsLine matches the benchmark's per-drain line.
var payoutsLine = regexp.MustCompile(`^payouts-drain: round=(\d+) side=(heepr|baseline) payouts=(\d+) workers=(\d+) fee_bps=(\d+) seed_s=(\S+) seconds=(\S+)$`)

// payoutsRun is what one run of bench/payouts printed.
type payoutsRun struct {
	pgVersion, procs      string
	payouts, workers, fee int
	secs                  map[string][]float64 // by side, in round order
}

var procsLine = regexp.MustCompile(`^BenchmarkPayoutsDrain-(\d+)\s`)

func parsePayouts(out []byte) (*payoutsRun, error) {
	r := &payoutsRun{secs: map[string][]float64{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "postgres-version: "); ok {
			r.pgVersion = v
			continue
		}
		if m := procsLine.FindStringSubmatch(line); m != nil {
			r.procs = m[1]
			continue
		}
		m := payoutsLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r.payouts, _ = strconv.Atoi(m[3])
		r.workers, _ = strconv.Atoi(m[4])
		r.fee, _ = strconv.Atoi(m[5])
		s, err := strconv.ParseFloat(m[7], 64)
		if err != nil || s <= 0 {
			return nil, fmt.Errorf("bad seconds in %q", line)
		}
		r.secs[m[2]] = append(r.secs[m[2]], s)
	}
	if len(r.secs["heepr"]) == 0 || len(r.secs["baseline"]) != len(r.secs["heepr"]) {
		return nil, fmt.Errorf("the run printed %d heepr and %d baseline drains", len(r.secs["heepr"]), len(r.secs["baseline"]))
	}
	return r, sc.Err()
}

func medianOf(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// renderPayouts makes the markdown table: one row, the drain of the queue.
func renderPayouts(r *payoutsRun) string {
	var b strings.Builder
	fmt.Fprintln(&b, "| Scenario | Baseline drain (payouts/s) | heepr drain (payouts/s) | Ratio (baseline time / heepr time) | Ratio per round | heepr per round | Target | Met |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---|---|---|---|")
	bs, hs := medianOf(r.secs["baseline"]), medianOf(r.secs["heepr"])
	var per, hper []string
	for i := range r.secs["heepr"] {
		per = append(per, fmt.Sprintf("%.2f", r.secs["baseline"][i]/r.secs["heepr"][i]))
		hper = append(hper, fmt.Sprintf("%.1f s", r.secs["heepr"][i]))
	}
	limit := payoutsTarget * float64(r.payouts) / 10_000 // the target scaled to the queue's size
	met := "met"
	if hs >= limit {
		met = "**missed**"
	}
	if r.payouts != 10_000 {
		met += fmt.Sprintf(" (scaled to %s payouts: < %.1f s)", group(float64(r.payouts)), limit)
	}
	fmt.Fprintf(&b, "| drain %s queued payouts, %d workers, fee %d bps | %.1f s (%s) | %.1f s (%s) | **%.2f** | %s | %s | < %.0f s for 10,000 | %s |\n",
		group(float64(r.payouts)), r.workers, r.fee, bs, group(float64(r.payouts)/bs), hs, group(float64(r.payouts)/hs),
		bs/hs, strings.Join(per, ", "), strings.Join(hper, ", "), payoutsTarget, met)
	return b.String()
}

// runPayouts runs bench/payouts once (all its rounds) and writes its block.
func runPayouts(payouts, rounds, workers, feeBPS int, pkg, out, goCmd string) error {
	if payouts < 1 || rounds < 1 || workers < 1 || feeBPS < 0 {
		return errors.New("-payouts, -payout-rounds and -payout-workers must be at least 1, -payout-fee-bps at least 0")
	}
	started := time.Now()
	load := strings.Fields(readFile("/proc/loadavg"))
	load = load[:min(3, len(load))]
	args := []string{"test", "-run", "^$", "-bench", "BenchmarkPayoutsDrain", "-benchtime", "1x", "-count", "1", "-timeout", "60m", pkg}
	envs := []string{"HEEPR_PAYOUTS=" + strconv.Itoa(payouts), "HEEPR_PAYOUT_ROUNDS=" + strconv.Itoa(rounds),
		"HEEPR_WORKERS=" + strconv.Itoa(workers), "HEEPR_PLATFORM_FEE_BPS=" + strconv.Itoa(feeBPS)}
	printed, err := goTest("payouts", goCmd, args, envs)
	if err != nil {
		return err
	}
	took := time.Since(started).Round(time.Second)
	r, err := parsePayouts(printed)
	if err != nil {
		return err
	}
	table := renderPayouts(r)
	begin, end := markers("payouts")
	var b strings.Builder
	fmt.Fprintln(&b, begin)
	fmt.Fprintln(&b)
	b.WriteString(table)
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "- **Checked after every drain:** one payout and one fee posting per order and no other, every escrow empty, each owner and the platform holding exactly what they are owed, the ledger's invariant checker; heepr: every payout job completed at its first attempt.\n")
	fmt.Fprintf(&b, "- **Date:** %s\n", started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- **Command:** `go run ./bench/cmd/benchreport -suites payouts -payouts %d -payout-rounds %d -payout-workers %d -payout-fee-bps %d` (part of `make bench`), which ran `%s %s %s` (%d rounds, the first side alternating, each drain on a freshly seeded schema) and took %s in all, seeding included.\n",
		payouts, rounds, workers, feeBPS, strings.Join(envs, " "), goCmd, shellJoin(args), rounds, took)
	fmt.Fprintf(&b, "- **Machine:** %s; %s; %s RAM; load average %s at the start.\n", cpus(), cpuModel(), memTotal(), strings.Join(load, " "))
	fmt.Fprintf(&b, "- **Software:** %s, GOMAXPROCS %s; PostgreSQL %s on the same machine.\n", runtime.Version(), orDash(r.procs), orDash(r.pgVersion))
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, end)
	if err := update(out, "payouts", b.String()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\n%s\nwrote the payouts block of %s (took %s)\n", table, out, took)
	return nil
}
