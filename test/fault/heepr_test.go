//go:build fault

package fault_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/ledgertest"
)

var (
	binDir string
	build  = sync.OnceValues(func() (string, error) {
		gomod, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			return "", fmt.Errorf("go env GOMOD: %w", err)
		}
		bin := filepath.Join(binDir, "heepr")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/heepr")
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build ./cmd/heepr: %w\n%s", err, out)
		}
		return bin, nil
	})
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "heepr-fault-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// binary builds heepr once for every test in this package.
func binary(t *testing.T) string {
	t.Helper()
	bin, err := build()
	require.NoError(t, err)
	return bin
}

// env is the test process's environment without anything that would point
// heepr at a real database, tracing backend or mail server, plus extra.
func env(extra ...string) []string {
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

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// feeBPS is the platform fee the tests run with (10 %), so payouts and
// fees are told apart.
const feeBPS = 1000

// proc is how one heepr process is started; a restart reuses it (same
// address, data folder and database).
type proc struct {
	name, role, dbURL, addr, dataDir string
	extra                            []string
}

// heeprProc is one running heepr.
type heeprProc struct {
	proc
	base    string
	cmd     *exec.Cmd
	stderr  *syncBuffer
	exited  chan struct{} // closed once heepr has exited; waitErr is then set
	waitErr error
}

// newProc describes a heepr on dbURL with a fresh address and data folder.
func newProc(t *testing.T, name, role, dbURL string, extra ...string) proc {
	t.Helper()
	return proc{name: name, role: role, dbURL: dbURL, addr: freeAddr(t), dataDir: t.TempDir(), extra: extra}
}

// start runs heepr serve --role p.role; the test's end kills it if it still runs.
func (p proc) start(t *testing.T) *heeprProc {
	t.Helper()
	h := &heeprProc{proc: p, base: "http://" + p.addr, stderr: &syncBuffer{}, exited: make(chan struct{})}
	h.cmd = exec.Command(binary(t), "serve", "--role", p.role)
	h.cmd.Env = env(append([]string{"DATABASE_URL=" + p.dbURL, "HEEPR_ADDR=" + p.addr, "HEEPR_DATA_DIR=" + p.dataDir,
		"HEEPR_BASE_URL=" + "http://" + p.addr, "HEEPR_PLATFORM_FEE_BPS=" + strconv.Itoa(feeBPS), "HEEPR_RATE_LIMITS=off"}, p.extra...)...)
	h.cmd.Stdout = io.Discard
	h.cmd.Stderr = h.stderr
	require.NoError(t, h.cmd.Start(), "start heepr %s", p.name)
	go func() { h.waitErr = h.cmd.Wait(); close(h.exited) }()
	t.Cleanup(func() {
		select {
		case <-h.exited:
		default:
			_ = h.cmd.Process.Kill()
			<-h.exited
		}
		if t.Failed() {
			t.Logf("heepr %s (pid %d) stderr:\n%s", p.name, h.cmd.Process.Pid, tail(h.stderr.String(), 8000))
		}
	})
	return h
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func (h *heeprProc) pid() int { return h.cmd.Process.Pid }

func (h *heeprProc) waitReady(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); {
		select {
		case <-h.exited:
			t.Fatalf("heepr %s exited before it was ready: %v\nstderr:\n%s", h.name, h.waitErr, tail(h.stderr.String(), 8000))
		default:
		}
		resp, err := client.Get(h.base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("heepr %s: /readyz did not answer 200 within 90 s\nstderr:\n%s", h.name, tail(h.stderr.String(), 8000))
}

// kill sends SIGKILL and waits for the process to be gone.
func (h *heeprProc) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, h.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-h.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("heepr %s still running 10 s after SIGKILL", h.name)
	}
}

// stop sends SIGTERM and expects exit status 0.
func (h *heeprProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, h.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-h.exited:
		require.NoError(t, h.waitErr, "heepr %s exits with status 0 after SIGTERM\nstderr:\n%s", h.name, tail(h.stderr.String(), 8000))
	case <-time.After(45 * time.Second):
		t.Fatalf("heepr %s still running 45 s after SIGTERM", h.name)
	}
}

// rssKiB reads a field (VmRSS, VmHWM) of /proc/PID/status in KiB.
func rssKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(t, err, "%s", line)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// auth sets a request's credentials.
type auth func(*http.Request)

func bearer(token string) auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func idem(who auth, key string) auth {
	return func(r *http.Request) { who(r); r.Header.Set("Idempotency-Key", key) }
}

// sessionCookie carries a session by hand: the cookie is Secure, and the
// test talks plain HTTP.
func sessionCookie(c *http.Cookie) auth {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value}) }
}

func signUp(t *testing.T, h *heeprProc, email, name, role string) auth {
	t.Helper()
	resp := call(t, h, http.MethodPost, "/v1/auth/sign-up", nil, map[string]any{
		"email": email, "password": "correct horse battery", "display_name": name, "role": role,
	}, http.StatusCreated, nil)
	for _, c := range resp.Cookies() {
		if c.Name == "heepr_session" && c.Value != "" {
			return sessionCookie(c)
		}
	}
	t.Fatalf("sign-up of %s set no session cookie", email)
	return nil
}

var client = &http.Client{Timeout: 30 * time.Second}

// call sends body as JSON, requires the status and decodes the answer into out.
func call(t *testing.T, h *heeprProc, method, path string, who auth, body any, want int, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, h.base+path, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != nil {
		who(req)
	}
	resp, err := client.Do(req)
	require.NoError(t, err, "%s %s on %s", method, path, h.name)
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, want, resp.StatusCode, "%s %s on %s: %s", method, path, h.name, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), "%s %s on %s: %s", method, path, h.name, raw)
	}
	return resp
}

// freshDatabase creates an empty database on the shared Postgres
// (DATABASE_URL or 127.0.0.1:5432), dropped when the test ends. Without
// Postgres the test is skipped, except under CI=true, where it fails.
func freshDatabase(t *testing.T) string {
	t.Helper()
	return createDatabase(t, storetest.PostgresURL(), os.Getenv("CI") != "true")
}

func createDatabase(t *testing.T, admin string, skip bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err == nil {
		err = conn.Ping(ctx)
	}
	if err != nil {
		if conn != nil {
			_ = conn.Close(ctx)
		}
		if !skip {
			t.Fatalf("Postgres at %s is unreachable: %v", admin, err)
		}
		t.Skipf("needs Postgres (DATABASE_URL or %s): %v", storetest.DefaultPostgresURL, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name := "heepr_fault_" + randomSuffix(t)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err, "create database %s", name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("connect postgres to drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// count runs a query answering one integer.
func count(t *testing.T, db *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRow(t.Context(), sql, args...).Scan(&n), "%s", sql)
	return n
}

// requireLedgerInvariants runs the ledger's own invariant check (the one
// every ledger test and the periodic audit job run) on the database.
func requireLedgerInvariants(t *testing.T, dbURL string) {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{DatabaseURL: dbURL, MaxConns: 2})
	require.NoError(t, err)
	defer db.Close()
	ledgertest.RequireInvariants(t, ledgertest.New(db, nil, ledger.Config{PlatformFeeBPS: feeBPS}))
}

// eventually retries fn until it reports done or the time runs out.
func eventually(t *testing.T, what string, within time.Duration, fn func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if fn() {
			return
		}
	}
	t.Fatalf("timed out after %v waiting for %s", within, what)
}

// problemOf decodes an application/problem+json answer.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func requireProblem(t *testing.T, resp *http.Response, raw []byte, status int) problemBody {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, "%s", raw)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), "%s", raw)
	var p problemBody
	require.NoError(t, json.Unmarshal(raw, &p), "%s", raw)
	require.Equal(t, status, p.Status)
	return p
}

// metric sums the samples of one metric on /metrics whose line contains every filter.
func (h *heeprProc) metric(t *testing.T, name string, filters ...string) float64 {
	t.Helper()
	resp, err := client.Get(h.base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
lines:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, f := range filters {
			if !strings.Contains(line, f) {
				continue lines
			}
		}
		f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		require.NoError(t, err, "%s", line)
		sum += f
	}
	require.NoError(t, sc.Err())
	return sum
}
