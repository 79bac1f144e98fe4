package httpapi

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr"
	"github.com/heepr/heepr/adapters/authz"
)

// TestRoutesMatchSpec holds the routes the server registers against
// openapi.yaml as served (heepr.OpenAPI, not the copy generated into api/:
// a spec edited without make generate fails here): every operation of the
// spec is served, by its own handler behind the API chain, and every route
// registered under /v1 is an operation of the spec.
func TestRoutesMatchSpec(t *testing.T) {
	t.Parallel()
	spec, err := openapi3.NewLoader().LoadFromData(heepr.OpenAPI)
	require.NoError(t, err)
	enforcer, err := authz.New()
	require.NoError(t, err)
	// No services: nothing here should reach one (a handler that does
	// panics, and the recovered 500 still shows the route was served).
	h, mux, err := newHandler(Options{Enforcer: enforcer})
	require.NoError(t, err)

	inSpec := map[string]string{} // "METHOD /path" → operationId
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			inSpec[method+" "+path] = op.OperationID
		}
	}
	require.NotEmpty(t, inSpec)

	// Every operation is served: the root mux hands its requests to the API
	// chain, the API mux to the operation's own handler, and the whole
	// handler does not answer them with the not-found or
	// method-not-allowed of a missing route.
	for _, pattern := range slices.Sorted(maps.Keys(inSpec)) {
		op := inSpec[pattern]
		method, path, _ := strings.Cut(pattern, " ")
		req := httptest.NewRequest(method, concretePath(path), nil)
		if _, got := mux.root.Handler(req); got != "/v1/" {
			t.Errorf("%s (%s) is routed by the root mux to %q, not to the API under /v1/", op, pattern, got)
		}
		if _, got := mux.api.Handler(req); got != pattern {
			t.Errorf("%s (%s) is not served: the API mux routes %s %s to %q", op, pattern, method, req.URL.Path, got)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if missingRoute(rec) {
			t.Errorf("%s (%s) is not served: %s %s answers %d %s", op, pattern, method, req.URL.Path, rec.Code, rec.Body)
		}
	}

	// Every route under /v1 is an operation of the spec.
	for _, pattern := range mux.api.patterns {
		if _, ok := inSpec[pattern]; !ok {
			t.Errorf("the API serves %q, which is no operation of openapi.yaml", pattern)
		}
	}
	for _, pattern := range mux.root.patterns {
		if pattern == "/v1/" {
			continue
		}
		if underV1(pattern) {
			t.Errorf("%q is registered beside the API (the root mux), not as an operation of openapi.yaml", pattern)
		}
	}
}

// concretePath fills a spec path's parameters with a plausible id.
func concretePath(path string) string {
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "probe1")
}

// missingRoute reports whether an answer is the one for a route the server
// does not have: the validator's or the catch-all's 404 and 405, or a bare
// ServeMux's plain-text 404 and 405.
func missingRoute(rec *httptest.ResponseRecorder) bool {
	body, _ := io.ReadAll(rec.Result().Body)
	if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
		return false
	}
	var p struct {
		Type   string `json:"type"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) != nil {
		return true // not a problem: ServeMux's own answer
	}
	return p.Type == ProblemBase+"method-not-allowed" ||
		strings.HasPrefix(p.Detail, "no such endpoint") || strings.HasPrefix(p.Detail, "no such page")
}

// underV1 reports whether a ServeMux pattern ("[METHOD ][HOST]/PATH")
// covers paths under /v1.
func underV1(pattern string) bool {
	if _, rest, ok := strings.Cut(pattern, " "); ok {
		pattern = rest
	}
	if i := strings.Index(pattern, "/"); i >= 0 {
		pattern = pattern[i:]
	}
	return pattern == "/v1" || strings.HasPrefix(pattern, "/v1/")
}
