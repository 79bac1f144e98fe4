package main

// Issue 11, item 3: the http.Server's timeouts and the header and body
// limits, through a real listener with the server heepr serve builds
// (newHTTPServer), with production's limits or shorter ones (ADR 14).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/api/client"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// oneDB runs fn on a fresh heepr on SQLite only: what it tests is the
// HTTP edge, the same on both databases.
func oneDB(t *testing.T, fn func(t *testing.T, e *env), opts ...envOption) {
	t.Helper()
	fn(t, newEnv(t, storetest.Target{Dialect: store.SQLite, Config: store.Config{DataDir: t.TempDir()}}, opts...))
}

// serveWith serves the app's handler on a new listener through the
// http.Server heepr serve builds, with the given limits; it returns the
// base URL.
func (e *env) serveWith(t *testing.T, l httpLimits) string {
	t.Helper()
	srv := newHTTPServer(e.app.handler, l)
	ctx := context.WithValue(context.Background(), appKey{}, e.id)
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// short are limits a test can outlast in a second or two.
var short = httpLimits{ReadHeader: 300 * time.Millisecond, Read: time.Second, Write: time.Second, Idle: 300 * time.Millisecond,
	MaxHeaderBytes: 64 << 10}

func TestServerLimitsSet(t *testing.T) {
	t.Parallel()
	l := serverLimits
	for name, d := range map[string]time.Duration{"ReadHeader": l.ReadHeader, "Read": l.Read, "Write": l.Write, "Idle": l.Idle} {
		require.Positive(t, d, name)
	}
	require.Equal(t, 64<<10, l.MaxHeaderBytes)
	// A held long-poll is a request like any other: both deadlines run
	// from its start and must outlast the longest wait, with room for
	// the work around it.
	require.GreaterOrEqual(t, l.Read, domain.MaxWait+15*time.Second)
	require.GreaterOrEqual(t, l.Write, domain.MaxWait+15*time.Second)
	require.Less(t, l.ReadHeader, l.Read)

	srv := newHTTPServer(http.NotFoundHandler(), l)
	require.Equal(t, l.ReadHeader, srv.ReadHeaderTimeout)
	require.Equal(t, l.Read, srv.ReadTimeout)
	require.Equal(t, l.Write, srv.WriteTimeout)
	require.Equal(t, l.Idle, srv.IdleTimeout)
	require.Equal(t, l.MaxHeaderBytes, srv.MaxHeaderBytes)
}

// dial opens a raw connection to base.
func dial(t *testing.T, base string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	return c
}

// closedWithin reads c until the server closes it and says how long that took.
func closedWithin(t *testing.T, c net.Conn, start time.Time) (time.Duration, []byte) {
	t.Helper()
	b, err := io.ReadAll(c)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server never closed the connection")
	return time.Since(start), b
}

// Slow clients are cut: one dribbling its headers after ReadHeaderTimeout,
// one dribbling a JSON body after ReadTimeout, an idle keep-alive
// connection after IdleTimeout.
func TestSlowClientsCutByServerTimeouts(t *testing.T) {
	t.Parallel()
	oneDB(t, func(t *testing.T, e *env) {
		base := e.serveWith(t, short)

		// Headers, a line every 50 ms, never finished.
		c := dial(t, base)
		start := time.Now()
		_, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: heepr\r\n")
		require.NoError(t, err)
		go func(c net.Conn) {
			for range 100 {
				if _, err := io.WriteString(c, "X-Slow: 1\r\n"); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}(c)
		took, _ := closedWithin(t, c, start)
		t.Logf("dribbled headers: closed after %v (ReadHeaderTimeout %v)", took, short.ReadHeader)
		require.GreaterOrEqual(t, took, short.ReadHeader-50*time.Millisecond)
		require.Less(t, took, short.ReadHeader+time.Second)

		// A JSON body of 200 bytes, a byte every 50 ms.
		c = dial(t, base)
		start = time.Now()
		_, err = io.WriteString(c, "POST /v1/auth/sign-in HTTP/1.1\r\nHost: heepr\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
		require.NoError(t, err)
		go func(c net.Conn) {
			for range 199 {
				if _, err := io.WriteString(c, " "); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}(c)
		took, b := closedWithin(t, c, start)
		t.Logf("dribbled body: closed after %v (ReadTimeout %v): %q", took, short.Read, b)
		require.GreaterOrEqual(t, took, short.Read-50*time.Millisecond)
		require.Less(t, took, short.Read+time.Second)

		// Idle after one answer.
		c = dial(t, base)
		_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: heepr\r\n\r\n")
		require.NoError(t, err)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		start = time.Now()
		_, err = br.ReadByte()
		took = time.Since(start)
		require.ErrorIs(t, err, io.EOF)
		t.Logf("idle keep-alive: closed after %v (IdleTimeout %v)", took, short.Idle)
		require.Less(t, took, short.Idle+time.Second)
	})
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\r\n"))
	return string(line)
}

// Headers over MaxHeaderBytes: net/http answers 431 itself, before any
// handler, and closes the connection; headers under it are served.
func TestOversizedHeadersAnswered431(t *testing.T) {
	t.Parallel()
	oneDB(t, func(t *testing.T, e *env) {
		base := e.serveWith(t, serverLimits)
		big := strings.Repeat("a", serverLimits.MaxHeaderBytes+8<<10)

		c := dial(t, base)
		start := time.Now()
		_, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: heepr\r\nX-Big: "+big+"\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		took := time.Since(start)
		body, _ := io.ReadAll(resp.Body)
		t.Logf("%d KiB of headers: %s in %v, Content-Type %q, body %q", len(big)>>10, resp.Status, took,
			resp.Header.Get("Content-Type"), body)
		require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
		require.True(t, resp.Close, "the connection is closed after a 431")
		require.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
		require.Equal(t, "431 Request Header Fields Too Large", string(body), "a fixed text, nothing of the request")
		require.Less(t, took, time.Second)

		// Under the limit: served.
		req, err := http.NewRequest(http.MethodGet, base+"/healthz", nil)
		require.NoError(t, err)
		req.Header.Set("X-Big", big[:serverLimits.MaxHeaderBytes-4<<10])
		ok, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = ok.Body.Close()
		require.Equal(t, http.StatusOK, ok.StatusCode)
	})
}

// requireProblemResponse reads a problem answer from a raw connection.
func requireProblemResponse(t *testing.T, br *bufio.Reader, path string, status int, slug string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://heepr"+path, nil)
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	requireProblem(t, resp, b, status, slug)
	requireSecurityHeaders(t, resp, "413")
	return resp
}

// A body over the limit is refused before it is read: at once when
// Content-Length announces it (the body is never sent), and as soon as the
// limit is passed when it comes chunked (the rest is never sent). An
// upload announcing more than its limit is refused the same way. Nothing
// is stored.
func TestOversizedBodiesRefusedBeforeRead(t *testing.T) {
	t.Parallel()
	oneDB(t, func(t *testing.T, e *env) {
		base := e.serveWith(t, serverLimits)
		s, o := e.startedOrder(t)
		before, files := e.snapshot(t), e.storedState(t, s.custC, o.Id)

		// 100 MiB announced, 10 bytes sent.
		c := dial(t, base)
		start := time.Now()
		_, err := io.WriteString(c, "POST /v1/auth/sign-up HTTP/1.1\r\nHost: heepr\r\nContent-Type: application/json\r\n"+
			"Content-Length: 104857600\r\n\r\n{\"email\":")
		require.NoError(t, err)
		resp := requireProblemResponse(t, bufio.NewReader(c), "/v1/auth/sign-up", http.StatusRequestEntityTooLarge, "body-too-large")
		t.Logf("100 MiB announced: 413 in %v", time.Since(start))
		require.Less(t, time.Since(start), time.Second)
		require.True(t, resp.Close, "the connection is not kept for the rest of the body")

		// Chunked: 64 KiB + 1 KiB sent, then nothing more (no last chunk).
		c = dial(t, base)
		start = time.Now()
		_, err = io.WriteString(c, "POST /v1/auth/sign-up HTTP/1.1\r\nHost: heepr\r\nContent-Type: application/json\r\n"+
			"Transfer-Encoding: chunked\r\n\r\n")
		require.NoError(t, err)
		go func(c net.Conn) {
			chunk := bytes.Repeat([]byte(" "), 1<<10)
			for range int(e.cfg.MaxBodyBytes>>10) + 1 {
				if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return // refused already
				}
			}
		}(c)
		requireProblemResponse(t, bufio.NewReader(c), "/v1/auth/sign-up", http.StatusRequestEntityTooLarge, "body-too-large")
		t.Logf("chunked past %d KiB: 413 in %v, the body still open", e.cfg.MaxBodyBytes>>10, time.Since(start))
		require.Less(t, time.Since(start), time.Second)

		// An upload (a delivery, read as a stream) announcing 2 GiB.
		c = dial(t, base)
		start = time.Now()
		_, err = io.WriteString(c, "POST /v1/orders/"+o.Id+"/deliveries HTTP/1.1\r\nHost: heepr\r\nAuthorization: Bearer "+s.key+"\r\n"+
			"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 2147483648\r\n\r\n--x\r\n")
		require.NoError(t, err)
		requireProblemResponse(t, bufio.NewReader(c), "/v1/orders/"+o.Id+"/deliveries", http.StatusRequestEntityTooLarge, "body-too-large")
		t.Logf("upload of 2 GiB announced: 413 in %v", time.Since(start))
		require.Less(t, time.Since(start), time.Second)

		e.requireUnchanged(t, before)
		require.Equal(t, files, e.storedState(t, s.custC, o.Id))
	})
}

// randomZip is n bytes that do not compress, starting as a zip does (a
// delivered file's type is sniffed from its first bytes).
func randomZip(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	copy(b, "PK\x03\x04")
	return b
}

// slowUpload delivers one file, its body written in chunks with a pause
// before each (and, with stall, a long pause after the first); it returns
// the answer (or the error) and how long it took.
func slowUpload(t *testing.T, base, key, order string, file []byte, chunk int, pause, stall time.Duration) (*http.Response, []byte, error, time.Duration) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := mw.WriteField("message", "slowly")
		var part io.Writer
		if err == nil {
			part, err = mw.CreateFormFile("files", "big.bin")
		}
		for i := 0; err == nil && i < len(file); i += chunk {
			time.Sleep(pause)
			_, err = part.Write(file[i:min(i+chunk, len(file))])
			if i == 0 && stall > 0 {
				time.Sleep(stall)
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, base+"/v1/orders/"+order+"/deliveries", pr)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		_ = pr.CloseWithError(err)
		return nil, nil, err, time.Since(start)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	_ = pr.CloseWithError(io.ErrClosedPipe)
	return resp, b, err, time.Since(start)
}

// slowDownload fetches a delivered file, waiting before it reads the body.
func slowDownload(t *testing.T, base, key, file string, pause time.Duration) ([]byte, error, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/v1/files/"+file, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	time.Sleep(pause)
	b, err := io.ReadAll(resp.Body)
	return b, err, time.Since(start)
}

// Uploads and downloads that keep moving outlast ReadTimeout and
// WriteTimeout: a 12 MiB delivery sent over about 2.5 s, and read back by a
// client that waits 1.5 s before it reads, against a server whose
// timeouts are 1 s.
func TestTransfersOutliveServerTimeouts(t *testing.T) {
	t.Parallel()
	oneDB(t, func(t *testing.T, e *env) {
		base := e.serveWith(t, short)
		s, o := e.startedOrder(t)
		file := randomZip(t, 12<<20)

		resp, b, err, took := slowUpload(t, base, s.key, o.Id, file, 1<<20, 200*time.Millisecond, 0)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", b)
		t.Logf("12 MiB upload: %s in %v (ReadTimeout %v)", resp.Status, took, short.Read)
		require.Greater(t, took, 2*short.Read)
		var d client.Delivery
		require.NoError(t, json.Unmarshal(b, &d))
		require.Len(t, d.Files, 1)
		require.Equal(t, sha(file), d.Files[0].Sha256)

		got, err, took := slowDownload(t, base, s.key, d.Files[0].Id, 1500*time.Millisecond)
		require.NoError(t, err, "the download was cut")
		t.Logf("12 MiB download read after a 1.5 s pause: complete in %v (WriteTimeout %v)", took, short.Write)
		require.Equal(t, sha(file), sha(got))
	})
}

// A transfer that stops moving is cut after StreamIdle, however long the
// server's timeouts: an upload that stalls after its first chunk, and a
// download whose reader stalls. Nothing of the upload is kept.
func TestStalledTransfersCut(t *testing.T) {
	t.Parallel()
	idle := 300 * time.Millisecond
	oneDB(t, func(t *testing.T, e *env) {
		long := short
		long.Read, long.Write = time.Minute, time.Minute
		base := e.serveWith(t, long)
		s, o := e.startedOrder(t)
		file := randomZip(t, 12<<20)
		before := e.storedState(t, s.custC, o.Id)

		resp, b, err, took := slowUpload(t, base, s.key, o.Id, file, 64<<10, 0, 5*time.Second)
		if err == nil {
			t.Logf("upload stalled for 5 s: %s in %v: %s", resp.Status, took, b)
			require.NotEqual(t, http.StatusCreated, resp.StatusCode)
		} else {
			t.Logf("upload stalled for 5 s: cut in %v: %v", took, err)
		}
		require.Less(t, took, 3*time.Second, "the stalled upload was not cut")
		require.Equal(t, before, e.storedState(t, s.custC, o.Id), "a cut upload stored something")

		d := e.deliver(t, s.agentC, o.Id, "at full speed", upload{name: "big.bin", body: file})
		got, err, took := slowDownload(t, base, s.key, d.Files[0].Id, 3*time.Second)
		t.Logf("download whose reader stalled 3 s: %d of %d bytes, %v, in %v", len(got), len(file), err, took)
		require.Error(t, err, "the stalled download was not cut")
		require.Less(t, len(got), len(file))
	}, func(_ *config, o *options) { o.streamIdle = idle })
}

// A long-poll held for the longest wait (30 s) is answered normally through
// production's server: its timeouts do not cut it.
func TestLongPollOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	oneDB(t, func(t *testing.T, e *env) {
		base := e.serveWith(t, serverLimits)
		s := e.autoShop(t)
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v1/agent/events?wait=%d", base, int(domain.MaxWait/time.Second)), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+s.key)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		took := time.Since(start)
		t.Logf("poll with wait=30: %s after %v", resp.Status, took)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		require.GreaterOrEqual(t, took, domain.MaxWait)
		var page client.AgentEventPage
		require.NoError(t, json.Unmarshal(b, &page))
		require.Empty(t, page.Items)
	})
}
