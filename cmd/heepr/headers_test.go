package main

// Issue 11, item 4: security headers on every answer, no-store on the
// API's, the web app's CSP, and no CORS for any origin.

import (
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr"
	httpapi "github.com/heepr/heepr/adapters/http"
	"github.com/heepr/heepr/adapters/http/apidocs"
)

const evilOrigin = "https://evil.example"

// requireSecurityHeaders checks the headers every answer carries.
func requireSecurityHeaders(t *testing.T, resp *http.Response, what string) {
	t.Helper()
	h := resp.Header
	require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), what)
	require.Equal(t, "DENY", h.Get("X-Frame-Options"), what)
	require.Len(t, h.Values("Content-Security-Policy"), 1, what)
	require.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'", what)
	require.Equal(t, "no-referrer", h.Get("Referrer-Policy"), what)
	require.NotEmpty(t, h.Get("X-Request-Id"), what)
	for k := range h {
		require.False(t, strings.HasPrefix(k, "Access-Control-"), "%s: %s: %s", what, k, h.Get(k))
	}
	if strings.HasPrefix(resp.Request.URL.Path, "/v1/") {
		require.Equal(t, "no-store", h.Get("Cache-Control"), what)
	}
}

// Every operation of the spec, as each kind of caller and with a foreign
// Origin, every page besides the API, and every kind of error answer
// carries the security headers; API answers are never stored; nothing
// grants a cross-origin read.
func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	limits := generousLimits()
	limits["signIn"] = httpapi.Limit{PerMinute: 1, Burst: 1}
	oneDB(t, func(t *testing.T, e *env) {
		s, o := e.startedOrder(t)
		d := e.deliver(t, s.agentC, o.Id, "done", upload{name: "report.txt", body: []byte("the report")})

		statuses := map[int]int{}
		hc := e.srv.Client() // not held to the spec: refusals of every kind are the point
		send := func(method, path string, header http.Header, body string) (*http.Response, []byte) {
			t.Helper()
			var r io.Reader
			if body != "" {
				r = strings.NewReader(body)
			}
			req, err := http.NewRequest(method, e.url+path, r)
			require.NoError(t, err)
			for k, v := range header {
				req.Header[k] = v
			}
			resp, err := hc.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			what := method + " " + path + " " + resp.Status
			requireSecurityHeaders(t, resp, what)
			statuses[resp.StatusCode]++
			return resp, b
		}

		// The API: every operation, as anyone, the customer, the owner and
		// the agent, with the order's real ids in reads and unknown ids in
		// writes (so no write changes anything); the customer's sign-out last.
		spec, err := openapi3.NewLoader().LoadFromData(heepr.OpenAPI)
		require.NoError(t, err)
		real := map[string]string{"agentId": s.agent.Id, "orderId": o.Id, "fileId": d.Files[0].Id, "deliveryId": d.Id,
			"userId": s.customer.ID}
		callers := map[string]http.Header{
			"anonymous": {},
			"customer":  {"Cookie": {httpapi.SessionCookie + "=" + s.customer.Session}},
			"owner":     {"Authorization": {"Bearer " + e.createToken(t, s.ownerC, "headers").Token}},
			"agent":     {"Authorization": {"Bearer " + s.key}},
			"foreign":   {"Origin": {evilOrigin}},
		}
		type call struct{ method, path, op string }
		var calls []call
		for path, item := range spec.Paths.Map() {
			for method, op := range item.Operations() {
				calls = append(calls, call{method, path, op.OperationID})
			}
		}
		sort.Slice(calls, func(i, j int) bool {
			if (calls[i].op == "signOut") != (calls[j].op == "signOut") {
				return calls[j].op == "signOut"
			}
			return calls[i].path+calls[i].method < calls[j].path+calls[j].method
		})
		param := regexp.MustCompile(`\{(\w+)\}`)
		ops := 0
		for _, c := range calls {
			write := c.method != http.MethodGet
			path := param.ReplaceAllStringFunc(c.path, func(p string) string {
				if id, ok := real[strings.Trim(p, "{}")]; ok && !write {
					return id
				}
				return "0190a000-0000-7000-8000-000000000000"
			})
			header, body := http.Header{}, ""
			if write {
				header.Set("Content-Type", "application/json")
				body = "{}"
			}
			for _, creds := range callers {
				h := header.Clone()
				for k, v := range creds {
					h[k] = v
				}
				send(c.method, path, h, body)
				ops++
			}
			// A browser's preflight from another origin.
			send(http.MethodOptions, path, http.Header{"Origin": {evilOrigin}, "Access-Control-Request-Method": {c.method},
				"Access-Control-Request-Headers": {"authorization, content-type"}}, "")
		}
		t.Logf("%d operations, %d API answers", len(calls), ops)

		// A real file, a cookie write from another origin, and the errors.
		resp, _ := send(http.MethodGet, "/v1/files/"+d.Files[0].Id, callers["agent"], "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		resp, _ = send(http.MethodPost, "/v1/me/tokens", http.Header{"Cookie": {httpapi.SessionCookie + "=" + s.owner.Session},
			"Origin": {evilOrigin}, "Content-Type": {"application/json"}}, `{"name":"x"}`)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "a cookie write from another origin")
		resp, _ = send(http.MethodPost, "/v1/auth/sign-up", http.Header{"Content-Type": {"application/json"}},
			`{"email":"`+strings.Repeat("a", int(e.cfg.MaxBodyBytes))+`"}`)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		resp, _ = send(http.MethodPost, "/v1/auth/sign-up", http.Header{"Content-Type": {"text/plain"}}, "{}")
		require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
		for range 2 {
			resp, _ = send(http.MethodPost, "/v1/auth/sign-in", http.Header{"Content-Type": {"application/json"}},
				`{"email":"`+s.customer.Email+`","password":"wrong wrong wrong"}`)
		}
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		resp, _ = send(http.MethodPatch, "/v1/me", nil, "")
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
		resp, _ = send(http.MethodGet, "/v1/nothing-here", nil, "")
		require.Equal(t, http.StatusNotFound, resp.StatusCode)

		// Everything besides the API.
		html := http.Header{"Accept": {"text/html"}}
		resp, index := send(http.MethodGet, "/", html, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		requireWebCSP(t, resp)
		resp, _ = send(http.MethodGet, "/orders/"+o.Id, html, "")
		requireWebCSP(t, resp)
		for _, asset := range regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(string(index), -1) {
			resp, _ = send(http.MethodGet, asset[1], nil, "")
			require.Equal(t, http.StatusOK, resp.StatusCode, asset[1])
			requireWebCSP(t, resp)
		}
		pages := []string{"/healthz", "/readyz", "/metrics", "/openapi.yaml"}
		for pattern := range apidocs.Routes() {
			pages = append(pages, strings.TrimPrefix(pattern, "GET "))
		}
		for _, p := range pages {
			resp, _ = send(http.MethodGet, p, http.Header{"Origin": {evilOrigin}}, "")
			require.Equal(t, http.StatusOK, resp.StatusCode, p)
			send(http.MethodOptions, p, http.Header{"Origin": {evilOrigin}, "Access-Control-Request-Method": {"GET"}}, "")
		}
		resp, _ = send(http.MethodPost, "/healthz", nil, "")
		require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
		resp, _ = send(http.MethodGet, "/no/such/page", nil, "")
		require.Equal(t, http.StatusNotFound, resp.StatusCode)

		// An internal error: the database goes away.
		e.close(t)
		resp, _ = send(http.MethodGet, "/v1/me", callers["customer"], "")
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)

		seen := make([]int, 0, len(statuses))
		for code := range statuses {
			seen = append(seen, code)
		}
		slices.Sort(seen)
		t.Logf("answers by status: %v", statuses)
		for _, want := range []int{200, 400, 401, 403, 404, 405, 413, 415, 429, 500} {
			require.Contains(t, seen, want)
		}
	}, withRateLimits(limits))
}

// requireWebCSP checks the web app's Content-Security-Policy: its own
// origin only, no inline script, never framed.
func requireWebCSP(t *testing.T, resp *http.Response) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"} {
		require.Contains(t, csp, want, resp.Request.URL.Path)
	}
	require.NotContains(t, csp, "unsafe-inline", resp.Request.URL.Path)
	require.NotContains(t, csp, "unsafe-eval", resp.Request.URL.Path)
}
