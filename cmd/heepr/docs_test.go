package main

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// The API reference at /docs is self-contained: the page, the Redoc
// bundle and the spec all come from heepr itself, never a CDN.
func TestServesAPIReference(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		r, page := e.do(t, http.MethodGet, "/docs", nil, nil)
		require.Equal(t, http.StatusOK, r.StatusCode, "%s", page)
		require.Contains(t, r.Header.Get("Content-Type"), "text/html")
		require.Contains(t, string(page), `<redoc spec-url="/openapi.yaml"`)
		require.Contains(t, string(page), `<script src="/docs/redoc.standalone.js"></script>`)
		require.NotRegexp(t, regexp.MustCompile(`(?i)(src|href)="(https?:)?//`), string(page), "nothing is loaded from another host")
		csp := r.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "script-src 'self'")
		require.Contains(t, csp, "connect-src 'self'")
		require.Contains(t, csp, "frame-ancestors 'none'")
		require.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))

		r, js := e.do(t, http.MethodGet, "/docs/redoc.standalone.js", nil, nil)
		require.Equal(t, http.StatusOK, r.StatusCode)
		require.Contains(t, r.Header.Get("Content-Type"), "javascript")
		require.Greater(t, len(js), 500_000, "the whole Redoc bundle")
		require.Contains(t, string(js[:200]), "redoc.standalone.js.LICENSE.txt")
		require.Contains(t, string(js), "exports.Redoc=")

		r, lic := e.do(t, http.MethodGet, "/docs/licenses.txt", nil, nil)
		require.Equal(t, http.StatusOK, r.StatusCode)
		require.Contains(t, string(lic), "Rebilly")

		r, _ = e.do(t, http.MethodPost, "/docs", nil, nil)
		require.Equal(t, http.StatusMethodNotAllowed, r.StatusCode)
	})
}
