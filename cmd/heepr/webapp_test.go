package main

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// The web app is served at / from the binary: deep links a browser opens get
// index.html, its hashed assets are cached for good, and nothing changes for
// API clients (an unknown path is still the not-found problem).
func TestServesWebApp(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		html := http.Header{"Accept": {"text/html,application/xhtml+xml,*/*;q=0.8"}}
		r, index := e.do(t, http.MethodGet, "/", nil, html)
		require.Equal(t, http.StatusOK, r.StatusCode)
		require.Contains(t, r.Header.Get("Content-Type"), "text/html")
		require.Contains(t, string(index), `<div id="root"></div>`)
		require.Equal(t, "no-cache", r.Header.Get("Cache-Control"))
		csp := r.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "script-src 'self'")
		require.NotContains(t, csp, "unsafe-inline")

		for _, deep := range []string{"/agents/report-writer", "/orders/123", "/account"} {
			r, b := e.do(t, http.MethodGet, deep, nil, html)
			require.Equal(t, http.StatusOK, r.StatusCode, deep)
			require.Equal(t, string(index), string(b), deep)
		}

		script := regexp.MustCompile(`src="(/assets/[^"]+\.js)"`).FindStringSubmatch(string(index))
		require.NotNil(t, script, "index.html loads the bundle from /assets")
		r, js := e.do(t, http.MethodGet, script[1], nil, nil)
		require.Equal(t, http.StatusOK, r.StatusCode)
		require.Contains(t, r.Header.Get("Content-Type"), "javascript")
		require.Contains(t, r.Header.Get("Cache-Control"), "immutable")
		require.NotEmpty(t, js)

		// API clients and API paths keep their problem answers.
		r, b := e.do(t, http.MethodGet, "/agents/report-writer", nil, nil)
		requireProblem(t, r, b, http.StatusNotFound, "not-found")
		r, b = e.do(t, http.MethodGet, "/v1/nothing-here", nil, html)
		requireProblem(t, r, b, http.StatusNotFound, "not-found")
		r, b = e.do(t, http.MethodGet, "/assets/missing.js", nil, nil)
		requireProblem(t, r, b, http.StatusNotFound, "not-found")
	})
}
