package webhook_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/webhook"
	"github.com/heepr/heepr/modules/webhooks/domain"
)

func allow(t *testing.T, s string) domain.Allow {
	t.Helper()
	a, err := domain.ParseAllow(s)
	require.NoError(t, err)
	return a
}

// receiver counts the requests it gets.
func receiver(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestPostsWithHeaders(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var body []byte
	srv, n := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		got, body = r, must(io.ReadAll(r.Body))
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("thanks\n  for \x00 the\xff event"))
	})
	c := webhook.New(allow(t, "127.0.0.1"))
	resp, err := c.Post(context.Background(), srv.URL+"/hook", map[string]string{"webhook-id": "msg_1"}, []byte(`{"a":1}`))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, resp.Status)
	require.Equal(t, "thanks for the event", resp.Body, "one line of printable UTF-8")
	require.EqualValues(t, 1, n.Load())
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	require.Equal(t, webhook.UserAgent, got.Header.Get("User-Agent"))
	require.Equal(t, "msg_1", got.Header.Get("webhook-id"))
	require.JSONEq(t, `{"a":1}`, string(body))
}

// The address is checked when the connection is made, whatever the URL
// says: without the allowlist nothing on loopback is reached, not even
// through a name that resolves there (as a rebound name would).
func TestRefusesPrivateAddressesWhenDialing(t *testing.T) {
	t.Parallel()
	srv, n := receiver(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	c := webhook.New(allow(t, ""))
	for _, url := range []string{srv.URL, "http://localhost:" + port + "/hook"} {
		_, err := c.Post(context.Background(), url, nil, []byte(`{}`))
		require.ErrorContains(t, err, "refused", url)
		require.ErrorContains(t, err, "loopback", url)
	}
	require.Zero(t, n.Load(), "no request reached the receiver")

	// An allowlisted name may point anywhere; an allowlisted range covers its addresses.
	for _, c := range []*webhook.Client{webhook.New(allow(t, "localhost")), webhook.New(allow(t, "127.0.0.0/8"))} {
		resp, err := c.Post(context.Background(), "http://localhost:"+port+"/hook", nil, []byte(`{}`))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.Status)
	}
}

func TestFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	target, hit := receiver(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	})
	resp, err := webhook.New(allow(t, "127.0.0.1")).Post(context.Background(), srv.URL, nil, []byte(`{}`))
	require.NoError(t, err)
	require.Equal(t, http.StatusTemporaryRedirect, resp.Status)
	require.Zero(t, hit.Load())
}

func TestReadsLittleOfTheAnswer(t *testing.T) {
	t.Parallel()
	srv, _ := receiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(strings.Repeat("é", 1<<20)))
	})
	resp, err := webhook.New(allow(t, "127.0.0.1")).Post(context.Background(), srv.URL, nil, []byte(`{}`))
	require.NoError(t, err)
	require.Equal(t, http.StatusInternalServerError, resp.Status)
	require.LessOrEqual(t, len(resp.Body), 210)
	require.True(t, strings.HasSuffix(resp.Body, "…"))
}

func TestResolve(t *testing.T) {
	t.Parallel()
	addrs, err := webhook.New(allow(t, "")).Resolve(context.Background(), "localhost")
	require.NoError(t, err)
	require.NotEmpty(t, addrs)
	for _, a := range addrs {
		require.True(t, a.IsLoopback(), a.String())
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
