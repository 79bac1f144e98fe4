// Package heeprproc runs the real heepr binary for the end-to-end tests in
// test/process and test/fault. It builds the binary once per test binary
// (Main, Binary), starts `heepr serve` on a free address with a data
// folder of its own, waits for /readyz and stops or kills it (Proc), gives
// a test a fresh database on the shared Postgres and reads it
// (FreshDatabase, Connect, Count, RequireLedgerInvariants), and talks to
// heepr's HTTP API as a client does (Call, SignUp, Bearer, Idem,
// PublishAgent, Market).
//
// It is a normal package rather than a _test.go file so that both suites
// share it (test/fault builds only with the tag fault); only tests import it.
package heeprproc

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	suite  = "test" // set by Main; names the temp folder and the databases
	binDir string   // set by Main; where GoBinary builds

	buildsMu sync.Mutex
	builds   = map[string]func() (string, error){}
)

// Main runs the tests of a package that starts heepr; call it from
// TestMain. suite names the temp folder the binaries are built into
// (heepr-<suite>-…, removed at the end) and the databases FreshDatabase
// creates (heepr_<suite>_…), so what a run leaves behind is told apart.
func Main(m *testing.M, suiteName string) {
	dir, err := os.MkdirTemp("", "heepr-"+suiteName+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	suite, binDir = suiteName, dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// Binary builds ./cmd/heepr once for every test of the package and
// returns its path. Under -short it skips the test.
func Binary(t *testing.T) string {
	t.Helper()
	return GoBinary(t, "heepr")
}

// GoBinary builds ./cmd/<name> of this module once for every test of the
// package (into Main's folder) and returns its path. Under -short it
// skips the test.
func GoBinary(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("builds and runs the %s binary", name)
	}
	if binDir == "" {
		t.Fatal("heeprproc: call heeprproc.Main from TestMain before building a binary")
	}
	buildsMu.Lock()
	build, ok := builds[name]
	if !ok {
		build = sync.OnceValues(func() (string, error) { return goBuild(name) })
		builds[name] = build
	}
	buildsMu.Unlock()
	bin, err := build()
	require.NoError(t, err)
	return bin
}

func goBuild(name string) (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	bin := filepath.Join(binDir, name)
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/"+name)
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, out)
	}
	return bin, nil
}

// Env is the test process's environment without anything that would point
// heepr at a real database, tracing backend or mail server, plus extra
// (NAME=value).
func Env(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "DATABASE_URL" || strings.HasPrefix(k, "HEEPR_") || strings.HasPrefix(k, "OTEL_") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

// FeeBPS is the platform fee of MarketEnv (10 %), so payouts and fees are
// told apart.
const FeeBPS = 1000

// MarketEnv is the configuration of tests that trade: the platform fee
// FeeBPS, and no rate limits (one client signs up and orders from
// 127.0.0.1 many times); then extra.
func MarketEnv(extra ...string) []string {
	return append([]string{"HEEPR_PLATFORM_FEE_BPS=" + strconv.Itoa(FeeBPS), "HEEPR_RATE_LIMITS=off"}, extra...)
}

// FreeAddr is a 127.0.0.1 address with a port that was free a moment ago.
func FreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// RandomSuffix is 12 random hex digits, for names that must not collide.
func RandomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// Eventually retries fn every 100 ms until it reports done, and fails the
// test if within runs out first.
func Eventually(t *testing.T, what string, within time.Duration, fn func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if fn() {
			return
		}
	}
	t.Fatalf("timed out after %v waiting for %s", within, what)
}

// SyncBuffer collects a child's output while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it is safe while String is called.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Tail is the last n bytes of s, marked with … when cut.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// stderrTail is how much of heepr's stderr a failure shows.
const stderrTail = 8000

// Proc is one heepr serve process: how it is started (New) and, once
// started, the running process. After it has exited (Kill, Stop) it may be
// started again with the same address, data folder and database.
type Proc struct {
	Name    string // in messages; may be changed before a restart
	Addr    string // host:port it listens on
	Base    string // "http://" + Addr
	DataDir string // HEEPR_DATA_DIR, a temp folder of the test

	role, dbURL string
	extra       []string

	cmd     *exec.Cmd
	stderr  *SyncBuffer
	exited  chan struct{} // closed once heepr has exited; waitErr is then set
	waitErr error
}

// New describes heepr serve --role role on dbURL (empty: the embedded
// SQLite), with a fresh address and data folder; extra are more
// environment variables (NAME=value). Start runs it.
func New(t *testing.T, name, role, dbURL string, extra ...string) *Proc {
	t.Helper()
	addr := FreeAddr(t)
	return &Proc{Name: name, Addr: addr, Base: "http://" + addr, DataDir: t.TempDir(), role: role, dbURL: dbURL, extra: extra}
}

// Start runs the process and returns p; the test's end kills it if it
// still runs, and logs its stderr if the test failed.
func (p *Proc) Start(t *testing.T) *Proc {
	t.Helper()
	if p.exited != nil {
		select {
		case <-p.exited:
		default:
			t.Fatalf("heepr %s (pid %d) is already running", p.Name, p.PID())
		}
	}
	cmd := exec.Command(Binary(t), "serve", "--role", p.role)
	cmd.Env = Env(append([]string{"DATABASE_URL=" + p.dbURL, "HEEPR_ADDR=" + p.Addr, "HEEPR_DATA_DIR=" + p.DataDir,
		"HEEPR_BASE_URL=" + p.Base}, p.extra...)...)
	stderr, exited := &SyncBuffer{}, make(chan struct{})
	cmd.Stdout = io.Discard
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start(), "start heepr %s", p.Name)
	p.cmd, p.stderr, p.exited, p.waitErr = cmd, stderr, exited, nil
	go func() { p.waitErr = cmd.Wait(); close(exited) }()
	name := p.Name
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("heepr %s (pid %d) stderr:\n%s", name, cmd.Process.Pid, Tail(stderr.String(), stderrTail))
		}
	})
	return p
}

// PID is the process id of the running (or last) process.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Stderr is what the process has logged so far.
func (p *Proc) Stderr() string {
	if p.stderr == nil {
		return ""
	}
	return p.stderr.String()
}

// Exited is closed once the process has exited; Err then says how.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Err is the process's exit error, once Exited is closed.
func (p *Proc) Err() error { return p.waitErr }

// WaitReady waits up to 90 s for /readyz to answer 200, and fails the
// test if the process exits first.
func (p *Proc) WaitReady(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); {
		select {
		case <-p.exited:
			t.Fatalf("heepr %s exited before it was ready: %v\nstderr:\n%s", p.Name, p.waitErr, Tail(p.Stderr(), stderrTail))
		default:
		}
		resp, err := client.Get(p.Base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("heepr %s: /readyz did not answer 200 within 90 s\nstderr:\n%s", p.Name, Tail(p.Stderr(), stderrTail))
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("heepr %s still running 10 s after SIGKILL", p.Name)
	}
}

// Stop sends SIGTERM and requires exit status 0 within 45 s.
func (p *Proc) Stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
		require.NoError(t, p.waitErr, "heepr %s exits with status 0 after SIGTERM\nstderr:\n%s", p.Name, Tail(p.Stderr(), stderrTail))
	case <-time.After(45 * time.Second):
		t.Fatalf("heepr %s still running 45 s after SIGTERM\nstderr:\n%s", p.Name, Tail(p.Stderr(), stderrTail))
	}
}

// Metric sums the samples of metric name on /metrics whose line contains
// every filter (0 when there is none).
func (p *Proc) Metric(t *testing.T, name string, filters ...string) float64 {
	t.Helper()
	sum, _ := p.scrape(t, func(line string) bool {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			return false
		}
		for _, f := range filters {
			if !strings.Contains(line, f) {
				return false
			}
		}
		return true
	})
	return sum
}

// Gauge is the value of the unlabelled metric name on /metrics; the test
// fails if there is no such sample.
func (p *Proc) Gauge(t *testing.T, name string) float64 {
	t.Helper()
	v, n := p.scrape(t, func(line string) bool { return strings.HasPrefix(line, name+" ") })
	if n == 0 {
		t.Fatalf("heepr %s: no %s in /metrics", p.Name, name)
	}
	return v
}

// scrape reads /metrics and sums the values of the sample lines match
// accepts; n is how many it accepted.
func (p *Proc) scrape(t *testing.T, match func(line string) bool) (sum float64, n int) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(p.Base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !match(line) {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndexByte(line, ' ')+1:]), 64)
		require.NoError(t, err, "%s", line)
		sum += f
		n++
	}
	require.NoError(t, sc.Err())
	return sum, n
}
