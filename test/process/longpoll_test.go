package process_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store/storetest"
)

// wakeLatency is how soon after a write a long-poll held by another
// process must answer.
const wakeLatency = time.Second

// TestLongPollWakesAcrossProcesses runs two heepr processes on one Postgres
// database and checks that an agent event written through either wakes a
// long-poll held by the other (LISTEN/NOTIFY), well before the poll's wait
// runs out.
func TestLongPollWakesAcrossProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the heepr binary")
	}
	dbURL := freshDatabase(t) // skips before the build when there is no Postgres
	bin := binary(t)

	// A runs the API and the workers, B the API only. A starts (and
	// migrates the fresh database) first, so B finds it up to date.
	a := startHeepr(t, bin, "A", "all", dbURL)
	a.waitReady(t)
	b := startHeepr(t, bin, "B", "api", dbURL)
	b.waitReady(t)
	for _, p := range []*heeprProc{a, b} {
		require.Contains(t, p.stderr.String(), `"database":"postgres"`, "%s runs on Postgres\nstderr:\n%s", p.name, p.stderr.String())
	}
	waitListeners(t, dbURL, 2)

	// Through A: an owner with a published agent, and a customer.
	owner := signUp(t, a, "owner@example.com", "Owner", "owner")
	customer := signUp(t, a, "customer@example.com", "Customer", "customer")
	var created struct {
		Agent struct {
			ID string `json:"id"`
		} `json:"agent"`
		APIKey string `json:"api_key"`
	}
	call(t, a, http.MethodPost, "/v1/agents", owner, map[string]any{
		"handle": "wake-test", "name": "Wake test", "specialty": "Answers", "description": "Answers quickly.",
		"categories": []string{"other"}, "polling_interval_seconds": 60, "accept_mode": "manual",
		"tiers": []map[string]any{{"name": "Only", "price": 10, "delivery_days": 1, "revisions": 0}},
	}, http.StatusCreated, &created)
	require.NotEmpty(t, created.Agent.ID)
	require.NotEmpty(t, created.APIKey)
	agentKey := bearer(created.APIKey)
	call(t, a, http.MethodPost, "/v1/agents/"+created.Agent.ID+"/publish", owner, nil, http.StatusOK, nil)

	// Drain what the agent already has (settings.changed), through B.
	cursor := drain(t, b, agentKey)

	// 1. A long-poll held on B is woken by a write through A.
	poll := holdPoll(t, b, agentKey, cursor)
	b.waitPollsWaiting(t, 1, poll)
	first := "Hello from process A " + randomSuffix(t)
	var conv struct {
		ID string `json:"id"`
	}
	began := time.Now()
	call(t, a, http.MethodPost, "/v1/conversations", customer,
		map[string]any{"agent_id": created.Agent.ID, "message": first}, http.StatusCreated, &conv)
	written := time.Now()
	require.NotEmpty(t, conv.ID)
	page := poll.await(t, written)
	t.Logf("A→B: write took %v; B's poll answered %v after the write's answer (%v after its start)",
		written.Sub(began), page.at.Sub(written), page.at.Sub(began))
	requireMessageEvent(t, page, conv.ID, first)
	cursor = page.NextCursor

	// 2. The reverse: a long-poll held on A is woken by a write through B.
	poll = holdPoll(t, a, agentKey, cursor)
	a.waitPollsWaiting(t, 1, poll)
	second := "Hello from process B " + randomSuffix(t)
	began = time.Now()
	call(t, b, http.MethodPost, "/v1/conversations/"+conv.ID+"/messages", customer,
		map[string]any{"body": second}, http.StatusCreated, nil)
	written = time.Now()
	page = poll.await(t, written)
	t.Logf("B→A: write took %v; A's poll answered %v after the write's answer (%v after its start)",
		written.Sub(began), page.at.Sub(written), page.at.Sub(began))
	requireMessageEvent(t, page, conv.ID, second)

	// Nothing is held any more; both stop cleanly.
	require.Equal(t, 0.0, b.gauge(t, "heepr_agent_polls_waiting"))
	require.Equal(t, 0.0, a.gauge(t, "heepr_agent_polls_waiting"))
	b.stop(t)
	a.stop(t)
}

// freshDatabase creates an empty database on the local Postgres, dropped
// when the test ends, and returns its URL. Without Postgres the test is
// skipped, except under CI=true, where it fails (as in storetest).
func freshDatabase(t *testing.T) string {
	t.Helper()
	admin := storetest.PostgresURL()
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
		if os.Getenv("CI") == "true" {
			t.Fatalf("Postgres at %s is unreachable under CI: %v", admin, err)
		}
		t.Skipf("needs Postgres (DATABASE_URL or %s): %v", storetest.DefaultPostgresURL, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name := "heepr_proc_" + randomSuffix(t)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err, "create database %s", name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("connect postgres to drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// waitListeners waits until n connections to the database are LISTENing
// for agent events (one per heepr process).
func waitListeners(t *testing.T, dbURL string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(ctx))
	var got int
	for ctx.Err() == nil {
		err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'`).Scan(&got)
		if err == nil && got == n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%d connections LISTEN for agent events, want %d (last error: %v)", got, n, err)
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// heeprProc is one running heepr.
type heeprProc struct {
	name    string
	base    string
	cmd     *exec.Cmd
	stderr  *syncBuffer
	exited  chan struct{} // closed once heepr has exited; waitErr is then set
	waitErr error
}

// startHeepr starts heepr serve --role role on dbURL (empty: the embedded
// SQLite); extra are more environment variables (NAME=value).
func startHeepr(t *testing.T, bin, name, role, dbURL string, extra ...string) *heeprProc {
	t.Helper()
	addr := freeAddr(t)
	p := &heeprProc{name: name, base: "http://" + addr, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--role", role)
	p.cmd.Env = env(append([]string{"DATABASE_URL=" + dbURL, "HEEPR_ADDR=" + addr, "HEEPR_DATA_DIR=" + t.TempDir(), "HEEPR_BASE_URL=" + p.base}, extra...)...)
	p.cmd.Stdout = io.Discard
	p.cmd.Stderr = p.stderr
	require.NoError(t, p.cmd.Start(), "start heepr %s", name)
	go func() { p.waitErr = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("heepr %s stderr:\n%s", p.name, p.stderr.String())
		}
	})
	return p
}

func (p *heeprProc) waitReady(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); {
		select {
		case <-p.exited:
			t.Fatalf("heepr %s exited before it was ready: %v\nstderr:\n%s", p.name, p.waitErr, p.stderr.String())
		default:
		}
		resp, err := client.Get(p.base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("heepr %s: /readyz did not answer 200 within 90 s\nstderr:\n%s", p.name, p.stderr.String())
}

// stop sends SIGTERM and expects exit status 0 and a "stopped" log line.
func (p *heeprProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
		require.NoError(t, p.waitErr, "heepr %s exits with status 0 after SIGTERM\nstderr:\n%s", p.name, p.stderr.String())
	case <-time.After(45 * time.Second):
		t.Fatalf("heepr %s still running 45 s after SIGTERM\nstderr:\n%s", p.name, p.stderr.String())
	}
	require.Contains(t, logMessages(t, p.stderr.String()), "stopped", "heepr %s", p.name)
}

// gauge reads one unlabelled metric from /metrics.
func (p *heeprProc) gauge(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(p.base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			require.NoError(t, err, "%s %s", name, v)
			return f
		}
	}
	require.NoError(t, sc.Err())
	t.Fatalf("heepr %s: no %s in /metrics", p.name, name)
	return 0
}

// waitPollsWaiting waits until n long-polls are held in p, and then a
// little longer so the poll has read the feed and sits on its wake-up
// channel. It fails if the poll answered meanwhile.
func (p *heeprProc) waitPollsWaiting(t *testing.T, n float64, poll *heldPoll) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		select {
		case r := <-poll.done:
			t.Fatalf("heepr %s: the long-poll answered before anything was written: %+v", p.name, r)
		default:
		}
		if p.gauge(t, "heepr_agent_polls_waiting") == n {
			break
		}
		require.True(t, time.Now().Before(deadline), "heepr %s: heepr_agent_polls_waiting never reached %v", p.name, n)
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case r := <-poll.done:
		t.Fatalf("heepr %s: the long-poll answered before anything was written: %+v", p.name, r)
	default:
	}
	require.Equal(t, n, p.gauge(t, "heepr_agent_polls_waiting"), "heepr %s", p.name)
}

// auth sets a request's credentials.
type auth func(*http.Request)

func bearer(token string) auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// sessionCookie carries a session by hand: the cookie is Secure, and the
// test talks plain HTTP.
func sessionCookie(c *http.Cookie) auth {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value}) }
}

func signUp(t *testing.T, p *heeprProc, email, name, role string) auth {
	t.Helper()
	resp := call(t, p, http.MethodPost, "/v1/auth/sign-up", nil, map[string]any{
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

// call sends body as JSON, requires the status and decodes the answer into out.
func call(t *testing.T, p *heeprProc, method, path string, who auth, body any, want int, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, p.base+path, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != nil {
		who(req)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(t, err, "%s %s on %s", method, path, p.name)
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, want, resp.StatusCode, "%s %s on %s: %s", method, path, p.name, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), "%s %s on %s: %s", method, path, p.name, raw)
	}
	return resp
}

// eventPage is an answer of pollAgentEvents.
type eventPage struct {
	Items []struct {
		ID          string         `json:"id"`
		Type        string         `json:"type"`
		Redelivered bool           `json:"redelivered"`
		Data        map[string]any `json:"data"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
	PollAfter  int    `json:"poll_after_seconds"`

	at  time.Time // when the answer arrived
	err error
}

func pollPath(cursor string, wait int) string {
	q := url.Values{"wait": {strconv.Itoa(wait)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return "/v1/agent/events?" + q.Encode()
}

// drain reads the agent's feed until it is empty and returns the cursor after it.
func drain(t *testing.T, p *heeprProc, who auth) string {
	t.Helper()
	cursor := ""
	for range 20 {
		var page eventPage
		call(t, p, http.MethodGet, pollPath(cursor, 0), who, nil, http.StatusOK, &page)
		require.NotEmpty(t, page.NextCursor)
		cursor = page.NextCursor
		if len(page.Items) == 0 {
			return cursor
		}
	}
	t.Fatalf("the agent's feed on %s never emptied", p.name)
	return ""
}

// pollWait is how long a held poll may wait: far longer than wakeLatency,
// so an answer within wakeLatency can only be a wake-up.
const pollWait = 20

// heldPoll is a long-poll running in the background.
type heldPoll struct {
	done chan eventPage
}

func holdPoll(t *testing.T, p *heeprProc, who auth, cursor string) *heldPoll {
	t.Helper()
	hp := &heldPoll{done: make(chan eventPage, 1)}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.base+pollPath(cursor, pollWait), nil)
	require.NoError(t, err)
	who(req)
	go func() {
		var page eventPage
		resp, err := (&http.Client{Timeout: (pollWait + 30) * time.Second}).Do(req)
		if err == nil {
			var raw []byte
			raw, err = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			switch {
			case err != nil:
			case resp.StatusCode != http.StatusOK:
				err = fmt.Errorf("poll on %s: status %d: %s", p.name, resp.StatusCode, raw)
			default:
				err = json.Unmarshal(raw, &page)
			}
		}
		page.at, page.err = time.Now(), err
		hp.done <- page
	}()
	return hp
}

// await returns the poll's answer, which must arrive within wakeLatency of
// written (the moment the write was answered).
func (hp *heldPoll) await(t *testing.T, written time.Time) eventPage {
	t.Helper()
	select {
	case page := <-hp.done:
		require.NoError(t, page.err)
		require.WithinDuration(t, written, page.at, wakeLatency, "the long-poll answered %v after the write", page.at.Sub(written))
		return page
	case <-time.After(time.Until(written.Add(wakeLatency))):
	}
	// Too late: say how late, if it answers at all before its wait runs out.
	select {
	case page := <-hp.done:
		t.Fatalf("the long-poll answered %v after the write, want within %v (err %v, %d events)",
			page.at.Sub(written), wakeLatency, page.err, len(page.Items))
	case <-time.After((pollWait + 5) * time.Second):
		t.Fatalf("the long-poll did not answer within %v of the write, nor after its wait ran out", wakeLatency)
	}
	return eventPage{}
}

// requireMessageEvent requires a message.created event of the conversation with body.
func requireMessageEvent(t *testing.T, page eventPage, conversationID, body string) {
	t.Helper()
	for _, e := range page.Items {
		if e.Type == "message.created" && e.Data["body"] == body {
			require.Equal(t, conversationID, e.Data["conversation_id"])
			require.Equal(t, "customer", e.Data["author_kind"])
			require.False(t, e.Redelivered)
			require.NotEmpty(t, page.NextCursor)
			return
		}
	}
	t.Fatalf("no message.created event with body %q in %+v", body, page.Items)
}
