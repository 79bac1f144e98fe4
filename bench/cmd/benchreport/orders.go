package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ordersRun is what one run of bench/orders printed.
type ordersRun struct {
	pgVersion, procs, config string
	// by "scenario/side": one result per round (ops-per-s, p50-ns, p99-ns, ops, ok, refused)
	rounds map[string][]result
}

// parseOrders reads `orders-result: SCENARIO SIDE round=N key=value ...` lines.
func parseOrders(out []byte) (*ordersRun, error) {
	r := &ordersRun{rounds: map[string][]result{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "postgres-version: "); ok {
			r.pgVersion = v
		}
		if v, ok := strings.CutPrefix(line, "orders-config: "); ok {
			r.config = v
		}
		if m := benchLine.FindStringSubmatch(line); m != nil && m[2] != "" {
			r.procs = m[2]
		}
		v, ok := strings.CutPrefix(line, "orders-result: ")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) < 3 {
			return nil, fmt.Errorf("bad line %q", line)
		}
		res := result{}
		for _, kv := range f[2:] {
			k, val, _ := strings.Cut(kv, "=")
			x, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return nil, fmt.Errorf("bad value in %q", line)
			}
			res[k] = x
		}
		r.rounds[f[0]+"/"+f[1]] = append(r.rounds[f[0]+"/"+f[1]], res)
	}
	if len(r.rounds) == 0 {
		return nil, errors.New("the run printed no orders results")
	}
	return r, sc.Err()
}

// ordersScenarios: key, label, target (heepr ops/s over pgbench's).
var ordersScenarios = []struct {
	key, label string
	target     float64
}{
	{"placement", "order placement: acceptQuote over HTTP (idempotency, hold, order, events, job) vs pgbench replaying its statements", 0.5},
	{"hotwallet", "one hot wallet, 32 concurrent spenders: ledger.Service.Hold vs pgbench's single conditional UPDATE", 0.3},
}

func renderOrders(r *ordersRun) (string, error) {
	var b strings.Builder
	fmt.Fprintln(&b, "| Scenario | Baseline (pgbench) ops/s | Baseline p50 / p99 | heepr ops/s | heepr p50 / p99 | Ratio (heepr ops/s / pgbench ops/s) | Ratio per round | Target | Met |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---|---|---|")
	for _, s := range ordersScenarios {
		base, heepr := r.rounds[s.key+"/pgbench"], r.rounds[s.key+"/heepr"]
		if len(base) == 0 || len(base) != len(heepr) {
			return "", fmt.Errorf("%s: %d pgbench and %d heepr rounds", s.key, len(base), len(heepr))
		}
		bo, ho := median(base, "ops-per-s"), median(heepr, "ops-per-s")
		var per []string
		for i := range base {
			per = append(per, fmt.Sprintf("%.2f", heepr[i]["ops-per-s"]/base[i]["ops-per-s"]))
		}
		ratio := ho / bo
		met := "met"
		if ratio < s.target {
			met = "**missed**"
		}
		label := s.label
		if refused := median(heepr, "refused"); refused > 0 {
			label += fmt.Sprintf(" (per round %.0f attempts: %.0f held, %.0f refused, on both sides)", median(heepr, "ops"), median(heepr, "ok"), refused)
		}
		fmt.Fprintf(&b, "| %s | %s | %s / %s | %s | %s / %s | **%.2f** | %s | ≥ %.1f | %s |\n", label,
			group(bo), ms(median(base, "p50-ns")), ms(median(base, "p99-ns")), group(ho), ms(median(heepr, "p50-ns")), ms(median(heepr, "p99-ns")),
			ratio, strings.Join(per, ", "), s.target, met)
	}
	return b.String(), nil
}

// runOrders runs bench/orders once and writes its block.
func runOrders(rounds, clients, perClient, spendClients, spendPer int, pkg, out, goCmd string) error {
	if rounds < 1 || clients < 1 || perClient < 1 || spendClients < 1 || spendPer < 1 {
		return errors.New("the orders sizes must be at least 1")
	}
	started := time.Now()
	load := strings.Fields(readFile("/proc/loadavg"))
	load = load[:min(3, len(load))]
	args := []string{"test", "-run", "^$", "-bench", "BenchmarkOrders", "-benchtime", "1x", "-count", "1", "-timeout", "30m", pkg}
	envs := []string{"HEEPR_ORDERS_ROUNDS=" + strconv.Itoa(rounds), "HEEPR_ORDERS_CLIENTS=" + strconv.Itoa(clients),
		"HEEPR_ORDERS_PER_CLIENT=" + strconv.Itoa(perClient), "HEEPR_SPEND_CLIENTS=" + strconv.Itoa(spendClients),
		"HEEPR_SPEND_PER_CLIENT=" + strconv.Itoa(spendPer)}
	printed, err := goTest("orders", goCmd, args, envs)
	if err != nil {
		return err
	}
	took := time.Since(started).Round(time.Second)
	r, err := parseOrders(printed)
	if err != nil {
		return err
	}
	table, err := renderOrders(r)
	if err != nil {
		return err
	}
	begin, end := markers("orders")
	var b strings.Builder
	fmt.Fprintln(&b, begin)
	fmt.Fprintln(&b)
	b.WriteString(table)
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "- **Sizes:** %s.\n", orDash(r.config))
	fmt.Fprintf(&b, "- **Date:** %s\n", started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- **Command:** `go run ./bench/cmd/benchreport -suites orders -orders-rounds %d -orders-clients %d -orders-per-client %d -spend-clients %d -spend-per-client %d` (part of `make bench`), which ran `%s %s %s` and took %s in all, seeding included; pgbench runs as `pgbench -n -M simple -c CLIENTS -j 2 -t PER_CLIENT --log -f SCRIPT` with `PGOPTIONS=-c search_path=SCHEMA`.\n",
		rounds, clients, perClient, spendClients, spendPer, strings.Join(envs, " "), goCmd, shellJoin(args), took)
	fmt.Fprintf(&b, "- **Machine:** %s; %s; %s RAM; load average %s at the start.\n", cpus(), cpuModel(), memTotal(), strings.Join(load, " "))
	fmt.Fprintf(&b, "- **Software:** %s, GOMAXPROCS %s; PostgreSQL %s on the same machine; %s.\n",
		runtime.Version(), orDash(r.procs), orDash(r.pgVersion), pgbenchVersion())
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, end)
	if err := update(out, "orders", b.String()); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\n%s\nwrote the orders block of %s (took %s)\n", table, out, took)
	return nil
}

func pgbenchVersion() string {
	out, err := exec.Command("pgbench", "--version").Output()
	if err != nil {
		return "pgbench (version unknown)"
	}
	return strings.TrimSpace(string(out))
}
