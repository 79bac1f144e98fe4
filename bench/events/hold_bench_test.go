package events_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/kernel"
)

// BenchmarkEventsHold holds HEEPR_HOLD_POLLS long-polls (default 5,000),
// one per agent, each GET /v1/agent/events?cursor=1&wait=30 on its own
// connection, from a client in a child process (this test binary again,
// TestHoldClient), so that the server process holds nothing but the polls.
// Once all are held it measures, in the server process:
//
//   - memory per held poll: the growth of the heap in use, of goroutine
//     stacks and of the resident set (VmRSS) since before the polls, after
//     a GC (and returning free memory to the OS) on both sides, divided by
//     the polls; and the goroutines per poll;
//   - the database connections in use while they are held: the *sql.DB's
//     InUse and, on Postgres, the pgxpool's AcquiredConns (which counts the
//     wake hub's LISTEN connection), sampled every 50 ms for a second.
//
// Then it writes events and measures how long each takes to reach its
// poll, from the moment the writing transaction has committed (its call
// returned) to the moment the client has read and decoded the answer:
// first one event at a time (HEEPR_HOLD_SAMPLES agents, default 1,000: the
// next event is written once the previous one has arrived), then one event
// to each of the next HEEPR_HOLD_BURST agents (default 1,000) at once, from
// 8 writers (a burst). The polls left stay held to the end. Both phases stop
// writing 26 s after the first poll was sent (before any poll could time
// out); the figures say how many events they measured.
// HEEPR_HOLD_HEAPPROFILE=file writes a heap profile while the polls are held.
//
// Sides: bare, a minimal net/http handler holding the same requests on a
// channel each (the same server settings and client), which the "write"
// closes; postgres and sqlite, the whole heepr handler (heepr_test.go)
// where an event is written as the ordering module writes one:
// Ordering.LockFeed and Ordering.Append in one transaction (NOTIFY on
// Postgres, the hub's Signal after commit on SQLite). Before the held polls
// each heepr agent polls once without waiting (heepr caches its polling
// interval and records it online), as an agent polling in a loop would have.
//
// Run each side in its own process (as `make bench` does) for clean
// resident-set figures:
//
//	go test -run '^$' -bench 'BenchmarkEventsHold/^postgres$' -benchtime 1x ./bench/events
func BenchmarkEventsHold(b *testing.B) {
	polls := envInt(b, "HEEPR_HOLD_POLLS", 5000)
	samples := min(envInt(b, "HEEPR_HOLD_SAMPLES", 1000), polls)
	burst := min(envInt(b, "HEEPR_HOLD_BURST", 1000), polls-samples)
	b.Run("bare", func(b *testing.B) { runHold(b, newBareSide(b, polls), samples, burst) })
	b.Run("postgres", func(b *testing.B) {
		side := newHeeprSide(b, store.Config{DatabaseURL: storetest.PostgresURL(), Schema: storetest.NewSchema(b)}, polls)
		var version string
		if err := side.app.db.Bun.QueryRowContext(context.Background(), "SHOW server_version").Scan(&version); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("postgres-version: %s\n", version)
		runHold(b, side, samples, burst)
	})
	b.Run("sqlite", func(b *testing.B) {
		runHold(b, newHeeprSide(b, store.Config{DataDir: b.TempDir()}, polls), samples, burst)
	})
}

const (
	holdWait     = 30 // seconds, the most a poll may wait
	burstWriters = 8
	// delivered is what the client reports for each poll.
	deliveredTimeout = 10 * time.Second
)

// holdSide is what holds the polls.
type holdSide interface {
	url() string
	agents() []agentFixture
	waiting() int
	// fire writes agent i's event (or wakes its bare poll) and returns when
	// it is committed.
	fire(ctx context.Context, i int) error
	conns() connStats
}

type connStats struct {
	inUse, open       int   // *sql.DB
	acquired, total   int32 // pgxpool
	listening, hasSQL bool
}

func runHold(b *testing.B, side holdSide, samples, burst int) {
	ctx := context.Background()
	fx := side.agents()
	polls := len(fx)

	before := snapshot()
	cl := startClient(b, side.url(), fx)
	started := time.Now()
	deadline := started.Add(holdWait*time.Second - 12*time.Second)
	var peak connStats // while the polls are being established
	sample := func(into *connStats) {
		s := side.conns()
		into.inUse, into.acquired = max(into.inUse, s.inUse), max(into.acquired, s.acquired)
		into.open, into.total, into.listening, into.hasSQL = s.open, s.total, s.listening, s.hasSQL
	}
	// A poll subscribes to the hub before it reads the feed, so once all
	// are subscribed, wait for the last reads to finish too.
	for side.waiting() < polls || side.conns().inUse > 0 {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d polls held after %s (%d connections in use)", side.waiting(), polls,
				time.Since(started).Round(time.Millisecond), side.conns().inUse)
		}
		if err := cl.failure(); err != nil {
			b.Fatal(err)
		}
		sample(&peak)
		time.Sleep(5 * time.Millisecond)
	}
	established := time.Since(started)

	// The connections while they are held: 20 samples over a second.
	time.Sleep(200 * time.Millisecond)
	var cs connStats
	for range 20 {
		sample(&cs)
		time.Sleep(50 * time.Millisecond)
	}
	after := snapshot()
	if path := os.Getenv("HEEPR_HOLD_HEAPPROFILE"); path != "" {
		// The heap while the polls are held, for `go tool pprof -sample_index=inuse_space`.
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
		_ = f.Close()
	}
	if n := side.waiting(); n != polls {
		b.Fatalf("%d of %d polls still held after the measurements", n, polls)
	}
	if err := cl.failure(); err != nil {
		b.Fatal(err)
	}

	// Every poll was sent after started and answers empty holdWait after
	// it was sent: the measurements stop writing events at cutoff.
	cutoff := started.Add(holdWait*time.Second - 4*time.Second)

	// One event at a time.
	var seq, writes []time.Duration
	for i := range samples {
		if time.Now().After(cutoff.Add(-6 * time.Second)) {
			break // leave time for the burst
		}
		t0 := time.Now()
		if err := side.fire(ctx, i); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		got, err := cl.await(i)
		if err != nil {
			b.Fatal(err)
		}
		seq = append(seq, time.Duration(got-t1.UnixNano()))
		writes = append(writes, t1.Sub(t0))
	}

	if len(seq) < min(samples, 100) {
		b.Fatalf("only %d events measured one at a time before the polls could time out: the polls took %s to be held",
			len(seq), established.Round(time.Millisecond))
	}

	// The next burst agents at once, from burstWriters writers.
	first := len(seq)
	end := min(polls, first+burst)
	committed := make([]int64, polls)
	var next atomic.Int64
	next.Store(int64(first))
	burstStart := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, burstWriters)
	for range burstWriters {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= end || time.Now().After(cutoff) {
					return
				}
				if err := side.fire(ctx, i); err != nil {
					errs <- err
					return
				}
				committed[i] = time.Now().UnixNano()
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	var bursts []time.Duration
	var last int64
	for i := first; i < end; i++ {
		if committed[i] == 0 {
			continue // not written: past the cutoff
		}
		got, err := cl.await(i)
		if err != nil {
			b.Fatal(err)
		}
		bursts = append(bursts, time.Duration(got-committed[i]))
		last = max(last, got)
	}
	burstTook := time.Duration(0)
	if len(bursts) > 0 {
		burstTook = time.Duration(last - burstStart.UnixNano())
	}
	if err := cl.failure(); err != nil { // a poll still held answered empty
		b.Fatal(err)
	}
	cl.stop(b)

	n := float64(polls)
	b.ReportMetric(0, "ns/op") // the run's total time means nothing here
	b.ReportMetric(n, "polls")
	b.ReportMetric(float64(int64(after.heapInuse)-int64(before.heapInuse))/n, "heap-B/poll")
	b.ReportMetric(float64(int64(after.stackInuse)-int64(before.stackInuse))/n, "stack-B/poll")
	b.ReportMetric(float64(after.rss-before.rss)/n, "rss-B/poll")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/n, "goroutines/poll")
	b.ReportMetric(float64(established.Milliseconds()), "establish-ms")
	if cs.hasSQL {
		b.ReportMetric(float64(cs.inUse), "sql-inuse-max")
		b.ReportMetric(float64(cs.open), "sql-open")
		b.ReportMetric(float64(peak.inUse), "establish-sql-inuse-max")
	}
	if cs.total > 0 {
		b.ReportMetric(float64(peak.acquired), "establish-pool-acquired-max")
		b.ReportMetric(float64(cs.acquired), "pool-acquired-max")
		b.ReportMetric(float64(cs.total), "pool-total")
		listening := 0.0
		if cs.listening {
			listening = 1
		}
		b.ReportMetric(listening, "listen-conns")
	}
	b.ReportMetric(float64(len(seq)), "seq-events")
	b.ReportMetric(float64(percentile(seq, 50)), "seq-p50-ns")
	b.ReportMetric(float64(percentile(seq, 99)), "seq-p99-ns")
	b.ReportMetric(float64(percentile(seq, 100)), "seq-max-ns")
	b.ReportMetric(float64(percentile(writes, 50)), "write-p50-ns")
	b.ReportMetric(float64(len(bursts)), "burst-events")
	if len(bursts) > 0 {
		b.ReportMetric(float64(percentile(bursts, 50)), "burst-p50-ns")
		b.ReportMetric(float64(percentile(bursts, 99)), "burst-p99-ns")
		b.ReportMetric(float64(percentile(bursts, 100)), "burst-max-ns")
		b.ReportMetric(float64(burstTook.Milliseconds()), "burst-ms")
	}
}

// mem is what the process uses.
type mem struct {
	heapInuse, stackInuse uint64
	rss                   int64 // bytes
	goroutines            int
}

func snapshot() mem {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mem{heapInuse: ms.HeapInuse, stackInuse: ms.StackInuse, rss: rss(), goroutines: runtime.NumGoroutine()}
}

// rss is the resident set size (Linux; 0 elsewhere).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// --- heepr ------------------------------------------------------------------

type heeprSide struct {
	app *heeprApp
	fx  []agentFixture
}

func newHeeprSide(tb testing.TB, cfg store.Config, polls int) *heeprSide {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate (is Postgres at %s up?): %v", storetest.PostgresURL(), err)
	}
	s := &heeprSide{app: startHeepr(tb, db)}
	if s.fx, err = seedAgents(ctx, db, s.app.tokenKey, polls, kindHold); err != nil {
		tb.Fatal(err)
	}
	// Every agent polls once without waiting first.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			var buf bytes.Buffer
			for {
				i := int(next.Add(1) - 1)
				if i >= len(s.fx) {
					return
				}
				f := s.fx[i]
				req, _ := http.NewRequest(http.MethodGet, s.app.url+"/v1/agent/events?cursor="+f.cursor(), nil)
				req.Header.Set("Authorization", "Bearer "+f.Key)
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				buf.Reset()
				_, _ = buf.ReadFrom(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Contains(buf.Bytes(), emptyPage) {
					errs <- fmt.Errorf("warm-up poll: %s: %s", resp.Status, buf.Bytes())
					return
				}
			}
		})
	}
	wg.Wait()
	client.CloseIdleConnections()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatal(err)
	}
	return s
}

func (s *heeprSide) url() string            { return s.app.url }
func (s *heeprSide) agents() []agentFixture { return s.fx }
func (s *heeprSide) waiting() int           { return s.app.hub.Waiting() }

func (s *heeprSide) fire(ctx context.Context, i int) error {
	f := s.fx[i]
	return s.app.db.InTx(ctx, func(ctx context.Context) error {
		if err := s.app.events.LockFeed(ctx, f.ID); err != nil {
			return err
		}
		_, err := s.app.events.Append(ctx, f.ID, "message.created",
			map[string]any{"conversation_id": kernel.NewID(), "message_id": kernel.NewID(), "body": "ping " + strconv.Itoa(i)}, time.Now().UTC())
		return err
	})
}

func (s *heeprSide) conns() connStats {
	st := s.app.db.SQL.Stats()
	c := connStats{inUse: st.InUse, open: st.OpenConnections, hasSQL: true}
	if p := s.app.db.Pool; p != nil {
		ps := p.Stat()
		c.acquired, c.total, c.listening = ps.AcquiredConns(), ps.TotalConns(), s.app.hub.ListenerPID() != 0
	}
	return c
}

// --- bare -------------------------------------------------------------------

// bareSide is a minimal long-poll server: each request waits on its own
// channel (or wait, or the client leaving), then answers one event.
type bareSide struct {
	base string
	fx   []agentFixture
	keys map[string]int // key → agent index

	mu      sync.Mutex
	waiters map[int]chan struct{}
}

func newBareSide(tb testing.TB, polls int) *bareSide {
	s := &bareSide{fx: make([]agentFixture, polls), keys: map[string]int{}, waiters: map[int]chan struct{}{}}
	for i := range s.fx {
		key := kernel.NewToken(kernel.AgentKeyPrefix)
		s.fx[i] = agentFixture{ID: kernel.NewID(), Key: key, Last: 1, Acked: 1, Cursor: 1}
		s.keys[key] = i
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/agent/events", s.handle)
	s.base = serve(tb, mux)
	return s
}

type bareEvent struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	CreatedAt   time.Time      `json:"created_at"`
	Redelivered bool           `json:"redelivered"`
	Data        map[string]any `json:"data"`
}

func (s *bareSide) handle(w http.ResponseWriter, r *http.Request) {
	i, ok := s.keys[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		http.Error(w, "unknown key", http.StatusUnauthorized)
		return
	}
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiters[i] = ch
	s.mu.Unlock()
	t := time.NewTimer(holdWait * time.Second)
	page := struct {
		Items      []bareEvent `json:"items"`
		NextCursor string      `json:"next_cursor"`
		PollAfter  int         `json:"poll_after_seconds"`
	}{Items: []bareEvent{}, NextCursor: "1", PollAfter: 60}
	select {
	case <-ch:
		page.Items = append(page.Items, bareEvent{ID: "2", Type: "message.created", CreatedAt: time.Now().UTC(),
			Data: map[string]any{"conversation_id": kernel.NewID(), "message_id": kernel.NewID(), "body": "ping " + strconv.Itoa(i)}})
		page.NextCursor = "2"
	case <-t.C:
	case <-r.Context().Done():
	}
	t.Stop()
	s.mu.Lock()
	if s.waiters[i] == ch {
		delete(s.waiters, i)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

func (s *bareSide) url() string            { return s.base }
func (s *bareSide) agents() []agentFixture { return s.fx }

func (s *bareSide) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiters)
}

func (s *bareSide) fire(_ context.Context, i int) error {
	s.mu.Lock()
	ch, ok := s.waiters[i]
	delete(s.waiters, i)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("bare: poll %d is not waiting", i)
	}
	close(ch)
	return nil
}

func (s *bareSide) conns() connStats { return connStats{} }

// --- the client process -----------------------------------------------------

// holdClientConfig is what the parent sends the client on its first line.
type holdClientConfig struct {
	URL   string   `json:"url"`
	Keys  []string `json:"keys"`
	Query []string `json:"query"` // per poll: the query string
}

// holdClient is the child process holding the polls.
type holdClient struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	got   []chan delivery
	fail  chan error
	done  chan struct{}
}

type delivery struct {
	at     int64 // wall clock, ns
	items  int
	status int
	err    string
}

// startClient starts TestHoldClient in a child process and sends it the polls.
func startClient(tb testing.TB, url string, fx []agentFixture) *holdClient {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHoldClient$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HEEPR_HOLD_CLIENT=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &holdClient{cmd: cmd, stdin: stdin, got: make([]chan delivery, len(fx)), fail: make(chan error, 1), done: make(chan struct{})}
	for i := range c.got {
		c.got[i] = make(chan delivery, 1)
	}
	go c.read(stdout)
	cfg := holdClientConfig{URL: url}
	for _, f := range fx {
		cfg.Keys = append(cfg.Keys, f.Key)
		cfg.Query = append(cfg.Query, fmt.Sprintf("cursor=%s&wait=%d", f.cursor(), holdWait))
	}
	line, err := json.Marshal(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := stdin.Write(append(line, '\n')); err != nil {
		tb.Fatal(err)
	}
	return c
}

// read dispatches the client's "done <i> <unix ns> <items> <status> [error]" lines.
func (c *holdClient) read(r io.Reader) {
	defer close(c.done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || f[0] != "done" {
			continue
		}
		i, _ := strconv.Atoi(f[1])
		at, _ := strconv.ParseInt(f[2], 10, 64)
		items, _ := strconv.Atoi(f[3])
		status, _ := strconv.Atoi(f[4])
		d := delivery{at: at, items: items, status: status, err: strings.Join(f[5:], " ")}
		if i < 0 || i >= len(c.got) {
			continue
		}
		select {
		case c.got[i] <- d:
		default:
		}
	}
}

// failure reports a poll that answered before its event was written.
func (c *holdClient) failure() error {
	for i, ch := range c.got {
		select {
		case d := <-ch:
			return fmt.Errorf("poll %d answered before any event: status %d, %d items %s", i, d.status, d.items, d.err)
		default:
		}
	}
	return nil
}

// await returns when poll i's answer arrived (wall clock, ns).
func (c *holdClient) await(i int) (int64, error) {
	select {
	case d := <-c.got[i]:
		if d.status != http.StatusOK || d.items != 1 {
			return 0, fmt.Errorf("poll %d: status %d, %d items, want one event %s", i, d.status, d.items, d.err)
		}
		return d.at, nil
	case <-time.After(deliveredTimeout):
		return 0, fmt.Errorf("poll %d: no answer %s after its event", i, deliveredTimeout)
	}
}

// stop ends the client: it drops the polls still held and exits.
func (c *holdClient) stop(tb testing.TB) {
	_ = c.stdin.Close()
	<-c.done
	if err := c.cmd.Wait(); err != nil {
		tb.Errorf("hold client: %v", err)
	}
}

// TestHoldClient is BenchmarkEventsHold's client, run in a child process:
// it reads the polls from its first line of stdin, sends them all (at most
// 100 being sent at once), reports each answer on stdout as it arrives, and
// drops the rest when stdin closes.
func TestHoldClient(t *testing.T) {
	if os.Getenv("HEEPR_HOLD_CLIENT") != "1" {
		t.Skip("the held-poll client of BenchmarkEventsHold, which runs it")
	}
	in := bufio.NewReader(os.Stdin)
	line, err := in.ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var cfg holdClientConfig
	if err := json.Unmarshal(line, &cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
		_ = out.Flush()
	}
	sem := make(chan struct{}, 100)
	var wg sync.WaitGroup
	for i, key := range cfg.Keys {
		sem <- struct{}{}
		wg.Go(func() {
			var once sync.Once
			release := func() { once.Do(func() { <-sem }) }
			defer release()
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { release() }}
			req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, cfg.URL+"/v1/agent/events?"+cfg.Query[i], nil)
			if err != nil {
				say("done %d %d -1 0 %v", i, time.Now().UnixNano(), err)
				return
			}
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := client.Do(req)
			if err != nil {
				if ctx.Err() == nil {
					say("done %d %d -1 0 %s", i, time.Now().UnixNano(), strings.ReplaceAll(err.Error(), "\n", " "))
				}
				return
			}
			var page struct {
				Items []struct {
					Type string `json:"type"`
				} `json:"items"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			_ = resp.Body.Close()
			at := time.Now().UnixNano()
			if err != nil {
				say("done %d %d -1 %d %v", i, at, resp.StatusCode, err)
				return
			}
			say("done %d %d %d %d", i, at, len(page.Items), resp.StatusCode)
		})
	}
	_, _ = io.Copy(io.Discard, in) // until the parent closes stdin
	cancel()
	wg.Wait()
}

func envInt(tb testing.TB, key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive number", key, v)
	}
	return n
}

// percentile by nearest rank: the smallest value at or above p percent of them.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}
