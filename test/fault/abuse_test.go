//go:build fault

package fault_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/test/internal/heeprproc"
)

// readHeaderTimeout is heepr serve's http.Server ReadHeaderTimeout
// (cmd/heepr); it is not configurable, so the slow-client test runs
// past it.
const readHeaderTimeout = 10 * time.Second

// raiseFDLimit lifts the soft limit on open files to at least n (heepr,
// started after, inherits it).
func raiseFDLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Cur >= n {
		return
	}
	require.GreaterOrEqual(t, lim.Max, n, "the hard limit on open files is below %d", n)
	old := lim.Cur
	lim.Cur = n
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))
	t.Cleanup(func() { lim.Cur = old; _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
}

// pollAgent is an owner's published agent, its key and its drained cursor.
func pollAgent(t *testing.T, h *heeprproc.Proc) (heeprproc.Auth, string) {
	t.Helper()
	owner := heeprproc.SignUp(t, h, "poll-owner@example.com", "Owner", "owner")
	_, key := heeprproc.PublishAgent(t, h, owner, map[string]any{
		"handle": "poller", "name": "Poller", "specialty": "Polls", "description": "Polls its feed.",
		"categories": []string{"other"}, "polling_interval_seconds": 15, "accept_mode": "manual",
		"tiers": []map[string]any{{"name": "Only", "price": 10, "delivery_days": 1, "revisions": 0}},
	})
	agent := heeprproc.Bearer(key)
	cursor := ""
	for range 20 {
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		heeprproc.Call(t, h, http.MethodGet, heeprproc.PollPath(cursor, 0), agent, nil, http.StatusOK, &page)
		cursor = page.NextCursor
		if len(page.Items) == 0 {
			return agent, cursor
		}
	}
	t.Fatal("the agent's feed never emptied")
	return nil, ""
}

// pollLatencies polls n times, one every gap, on one keep-alive connection.
func pollLatencies(t *testing.T, h *heeprproc.Proc, agent heeprproc.Auth, cursor string, n int, gap time.Duration) []time.Duration {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	out := make([]time.Duration, 0, n)
	for range n {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, h.Base+heeprproc.PollPath(cursor, 0), nil)
		require.NoError(t, err)
		agent(req)
		began := time.Now()
		resp, err := c.Do(req)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		out = append(out, time.Since(began))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		time.Sleep(gap)
	}
	slices.Sort(out)
	return out
}

func pct(sorted []time.Duration, p int) time.Duration {
	return sorted[(len(sorted)-1)*p/100]
}

// TestSlowHeaderClients opens 1,000 connections that send their request
// headers one byte a second and never finish them. heepr must close each
// when ReadHeaderTimeout runs out, and an agent's polls meanwhile must
// stay within twice their latency before the attack (median).
func TestSlowHeaderClients(t *testing.T) {
	const clients = 1000
	raiseFDLimit(t, 8192)
	h := newProc(t, "S", "all", "").Start(t) // the embedded SQLite
	h.WaitReady(t)
	agent, cursor := pollAgent(t, h)

	const polls, gap = 150, 30 * time.Millisecond // 150 polls over about 5 s
	pollLatencies(t, h, agent, cursor, 20, 0)     // warm up
	before := pollLatencies(t, h, agent, cursor, polls, gap)

	type slowConn struct {
		c      net.Conn
		opened time.Time
		closed atomic.Int64 // unix nanos; 0 while open
	}
	conns := make([]*slowConn, 0, clients)
	t.Cleanup(func() {
		for _, s := range conns {
			_ = s.c.Close()
		}
	})
	var readers sync.WaitGroup
	began := time.Now()
	for i := range clients {
		c, err := net.DialTimeout("tcp", h.Addr, 5*time.Second)
		require.NoError(t, err, "dial slow client %d", i)
		_, err = fmt.Fprintf(c, "GET /v1/agent/events HTTP/1.1\r\nHost: %s\r\nX-Slow: ", h.Addr)
		require.NoError(t, err)
		s := &slowConn{c: c, opened: time.Now()}
		conns = append(conns, s)
		readers.Go(func() {
			_, _ = io.Copy(io.Discard, c) // returns when heepr closes the connection
			s.closed.Store(time.Now().UnixNano())
		})
	}
	opened := time.Since(began)
	stopDribble := make(chan struct{})
	var dribbled atomic.Int64
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopDribble:
				return
			case <-tick.C:
			}
			for _, s := range conns {
				if s.closed.Load() == 0 {
					_ = s.c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
					if _, err := s.c.Write([]byte("a")); err == nil {
						dribbled.Add(1)
					}
				}
			}
		}
	}()
	defer close(stopDribble)

	during := pollLatencies(t, h, agent, cursor, polls, gap)
	pollsDone := time.Since(began)
	open := 0
	for _, s := range conns {
		if s.closed.Load() == 0 {
			open++
		}
	}
	require.Equal(t, clients, open, "the slow clients were still connected while the polls were measured (%v)", pollsDone)

	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(readHeaderTimeout + 20*time.Second):
		t.Fatalf("slow clients still connected %v after they began", time.Since(began))
	}
	var lifetimes []time.Duration
	for _, s := range conns {
		lifetimes = append(lifetimes, time.Unix(0, s.closed.Load()).Sub(s.opened))
	}
	slices.Sort(lifetimes)
	require.GreaterOrEqual(t, lifetimes[0], readHeaderTimeout-time.Second, "a slow client was closed before the header timeout")
	require.LessOrEqual(t, lifetimes[len(lifetimes)-1], readHeaderTimeout+5*time.Second, "a slow client outlived the header timeout")

	t.Logf("%d slow clients opened in %v, %d header bytes dribbled; closed after %v to %v (ReadHeaderTimeout %v); "+
		"agent poll latency before: median %v, p90 %v; during: median %v, p90 %v (%.2fx median)",
		clients, opened.Round(time.Millisecond), dribbled.Load(), lifetimes[0].Round(time.Millisecond), lifetimes[len(lifetimes)-1].Round(time.Millisecond),
		readHeaderTimeout, pct(before, 50), pct(before, 90), pct(during, 50), pct(during, 90), float64(pct(during, 50))/float64(pct(before, 50)))
	require.LessOrEqual(t, pct(during, 50), 2*pct(before, 50), "the median poll latency during the attack is more than twice the one before")
	h.Stop(t)
}

// rawResult is what heepr answered a hand-written request, and when.
type rawResult struct {
	status      int
	contentType string
	body        string
	sent        int64         // request bytes written before the answer came
	took        time.Duration // from the first byte written to the answer's status line
}

// countingReader counts what was read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// pattern is an endless reader of a repeated pattern (no allocation per read).
type pattern struct{ b []byte }

func (z pattern) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], z.b)
	}
	return n, nil
}

// rawRequest writes head (the request line and headers, without the blank
// line) and streams body (chunked if chunked), reading the answer at the
// same time: heepr may answer, and close, before the body is sent.
func rawRequest(t *testing.T, addr, head string, body io.Reader, chunked bool) rawResult {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(60*time.Second)))
	cr := &countingReader{r: head2reader(head, chunked, body)}
	began := time.Now()
	go func() { _, _ = io.Copy(c, cr) }()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err, "no answer after %d bytes sent", cr.n.Load())
	took, sent := time.Since(began), cr.n.Load()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	_ = resp.Body.Close()
	return rawResult{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(raw), sent: sent, took: took}
}

// head2reader is the whole request as one stream: head, blank line, body
// (in HTTP/1.1 chunks if chunked).
func head2reader(head string, chunked bool, body io.Reader) io.Reader {
	if !chunked {
		return io.MultiReader(strings.NewReader(head+"\r\n"), body)
	}
	pr, pw := io.Pipe()
	go func() {
		cw := httputil.NewChunkedWriter(pw)
		_, err := io.Copy(cw, body)
		if err == nil {
			err = cw.Close()
		}
		if err == nil {
			_, err = pw.Write([]byte("\r\n"))
		}
		_ = pw.CloseWithError(err)
	}()
	return io.MultiReader(strings.NewReader(head+"Transfer-Encoding: chunked\r\n\r\n"), pr)
}

// jsonArray streams {"handle":"huge2","categories":["a","a",…]} with n
// elements ("a" is no category).
func jsonArray(n int) io.Reader { return jsonArrayOf(n, `"a"`) }

// jsonArrayOf streams {"handle":"huge2","categories":[e,e,…]} with n elements.
func jsonArrayOf(n int, e string) io.Reader {
	return io.MultiReader(strings.NewReader(`{"handle":"huge2","categories":[`+e),
		io.LimitReader(pattern{b: []byte("," + e)}, int64(n-1)*int64(len(e)+1)), strings.NewReader(`]}`))
}

// TestHugeRequests sends a 1 GB body (with and without Content-Length),
// 1 MB of headers and JSON arrays of 10 million and 90,000 elements.
// heepr must refuse each fast, before reading much of it, and its memory
// must stay bounded (peak RSS).
func TestHugeRequests(t *testing.T) {
	h := newProc(t, "H", "all", "").Start(t) // the embedded SQLite
	h.WaitReady(t)
	owner := heeprproc.SignUp(t, h, "huge-owner@example.com", "Owner", "owner")
	probe, _ := http.NewRequest(http.MethodGet, "/", nil)
	owner(probe)
	cookie := probe.Header.Get("Cookie")
	var created struct {
		Agent struct {
			ID string `json:"id"`
		} `json:"agent"`
	}
	heeprproc.Call(t, h, http.MethodPost, "/v1/agents", owner, map[string]any{
		"handle": "huge", "name": "Huge", "specialty": "Answers", "description": "Answers.",
		"categories": []string{"other"}, "polling_interval_seconds": 60, "accept_mode": "manual",
		"tiers": []map[string]any{{"name": "Only", "price": 10, "delivery_days": 1, "revisions": 0}},
	}, http.StatusCreated, &created)
	rssBefore, hwmBefore := rssKiB(t, h.PID(), "VmRSS"), rssKiB(t, h.PID(), "VmHWM")

	const gb = 1 << 30
	hostLine := "Host: " + h.Addr + "\r\n"
	cases := []hugeCase{
		{"1 GB body, Content-Length", "POST /v1/auth/sign-up HTTP/1.1\r\n" + hostLine + "Content-Type: application/json\r\nContent-Length: " + fmt.Sprint(gb) + "\r\n",
			io.LimitReader(pattern{b: []byte("          ")}, gb), false, http.StatusRequestEntityTooLarge, true},
		{"1 GB body, chunked", "POST /v1/auth/sign-up HTTP/1.1\r\n" + hostLine + "Content-Type: application/json\r\n",
			io.LimitReader(pattern{b: []byte("          ")}, gb), true, http.StatusRequestEntityTooLarge, true},
		{"1 GB avatar, chunked", "PUT /v1/agents/" + created.Agent.ID + "/avatar HTTP/1.1\r\n" + hostLine + "Content-Type: image/png\r\nCookie: " + cookie + "\r\n",
			io.LimitReader(pattern{b: []byte("\x89PNG\r\n\x1a\n")}, gb), true, http.StatusRequestEntityTooLarge, true},
		{"1 MB of headers", "GET /v1/agent/events HTTP/1.1\r\n" + hostLine + strings.Repeat("X-Pad: "+strings.Repeat("p", 1017)+"\r\n", 1024),
			strings.NewReader(""), false, http.StatusRequestHeaderFieldsTooLarge, false},
		{"JSON array of 10,000,000 elements", "POST /v1/agents HTTP/1.1\r\n" + hostLine + "Content-Type: application/json\r\nCookie: " + cookie + "\r\n",
			jsonArray(10_000_000), true, http.StatusRequestEntityTooLarge, true},
		{"JSON array of 90,000 valid elements (under the body limit)", "POST /v1/agents HTTP/1.1\r\n" + hostLine + "Content-Type: application/json\r\nCookie: " + cookie + "\r\n",
			jsonArrayOf(90_000, `"writing"`), true, http.StatusBadRequest, true},
	}
	for _, c := range cases {
		requireRefused(t, h, c)
	}
	rssAfter, hwmAfter := rssKiB(t, h.PID(), "VmRSS"), rssKiB(t, h.PID(), "VmHWM")
	t.Logf("heepr RSS %d → %d KiB, peak %d → %d KiB", rssBefore, rssAfter, hwmBefore, hwmAfter)
	require.Less(t, hwmAfter-hwmBefore, int64(64<<10), "heepr's peak RSS grew by more than 64 MiB")
	heeprproc.Call(t, h, http.MethodGet, "/v1/me", owner, nil, http.StatusOK, nil) // still serving
	h.Stop(t)
}

// hugeCase is one oversized request and the refusal it must get.
type hugeCase struct {
	name    string
	head    string
	body    io.Reader
	chunked bool
	status  int
	problem bool
}

// requireRefused sends c and requires its refusal: the status (a small
// problem+json), within 2 s, before heepr read 64 MiB of it.
func requireRefused(t *testing.T, h *heeprproc.Proc, c hugeCase) {
	t.Helper()
	r := rawRequest(t, h.Addr, c.head, c.body, c.chunked)
	t.Logf("%s: %d %s (%d bytes) in %v after %d bytes sent; VmRSS %d KiB, peak %d KiB", c.name, r.status, r.contentType, len(r.body),
		r.took.Round(time.Millisecond), r.sent, rssKiB(t, h.PID(), "VmRSS"), rssKiB(t, h.PID(), "VmHWM"))
	require.Equal(t, c.status, r.status, "%s: %s", c.name, heeprproc.Tail(r.body, 2000))
	require.Less(t, len(r.body), 16<<10, "%s: the answer is %d bytes", c.name, len(r.body))
	if c.problem {
		require.Equal(t, "application/problem+json", r.contentType, "%s: %s", c.name, r.body)
		var p problemBody
		require.NoError(t, json.Unmarshal([]byte(r.body), &p), "%s: %s", c.name, r.body)
		require.Equal(t, c.status, p.Status)
	}
	require.Less(t, r.took, 2*time.Second, "%s: refused too slowly", c.name)
	require.Less(t, r.sent, int64(64<<20), "%s: heepr read %d bytes before refusing", c.name, r.sent)
}

// TestHugeInvalidJSONArray sends a JSON body under the 1 MiB limit whose
// array has 200,000 elements that are not valid: heepr must answer a
// small 400 fast, with bounded memory, not one field error per element.
func TestHugeInvalidJSONArray(t *testing.T) {
	h := newProc(t, "J", "all", "").Start(t) // the embedded SQLite
	h.WaitReady(t)
	owner := heeprproc.SignUp(t, h, "array-owner@example.com", "Owner", "owner")
	probe, _ := http.NewRequest(http.MethodGet, "/", nil)
	owner(probe)
	cookie := probe.Header.Get("Cookie")
	hostLine := "Host: " + h.Addr + "\r\n"
	hwmBefore := rssKiB(t, h.PID(), "VmHWM")
	requireRefused(t, h, hugeCase{"JSON array of 200,000 invalid elements (under the body limit)", "POST /v1/agents HTTP/1.1\r\n" + hostLine + "Content-Type: application/json\r\nCookie: " + cookie + "\r\n",
		jsonArray(200_000), true, http.StatusBadRequest, true})
	hwmAfter := rssKiB(t, h.PID(), "VmHWM")
	t.Logf("heepr peak RSS %d → %d KiB", hwmBefore, hwmAfter)
	require.Less(t, hwmAfter-hwmBefore, int64(64<<10), "heepr's peak RSS grew by more than 64 MiB")
	h.Stop(t)
}
