package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"go.opentelemetry.io/otel/trace"

	"github.com/heepr/heepr/adapters/telemetry"
	"github.com/heepr/heepr/modules/kernel"
)

// schemeMethods says which authentication satisfies each security scheme.
var schemeMethods = map[string]kernel.AuthMethod{
	"sessionCookie": kernel.AuthSession,
	"personalToken": kernel.AuthToken,
	"agentKey":      kernel.AuthAgent,
}

// validator checks each /v1 request against openapi.yaml: route, method,
// security, parameters, media type and body (unknown fields included).
func validator(spec *openapi3.T) (func(http.Handler) http.Handler, routers.Router, error) {
	spec.Servers = nil // host matching would answer false 404s
	registerBinaryDecoders()
	router, err := newSpecRouter(spec)
	if err != nil {
		return nil, nil, err
	}
	// Security is checked by validRequest (securityMet), and kin-openapi
	// is handed each operation without its security: its own check read
	// every request body into a copy and called back once per scheme, to
	// decide the same thing.
	unsecured := map[*openapi3.Operation]*openapi3.Operation{}
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			c := *op
			c.Security = &openapi3.SecurityRequirements{}
			unsecured[op] = &c
		}
	}
	opts := func(excludeBody bool) *validation {
		return &validation{unsecured: unsecured, options: &openapi3filter.Options{
			MultiError:         true,
			ExcludeRequestBody: excludeBody,
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, // never called: no operation keeps its security
		}}
	}
	// build validates against the route nameRoute found (the spec's router
	// runs once per request; it is the costliest step of validating a
	// request without a body).
	build := func(excludeBody bool) func(http.Handler) http.Handler {
		o := opts(excludeBody)
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if validRequest(w, r, router, o) {
					next.ServeHTTP(w, r)
				}
			})
		}
	}
	whole, headOnly := build(false), build(true)
	// kin-openapi reads a body whole to validate it, and its security
	// check reads it too: an operation marked x-heepr-stream-body (uploads)
	// is validated with an empty body (everything but the body is checked),
	// and its handler gets the real body back to read as a stream.
	mw := func(next http.Handler) http.Handler {
		w := whole(next)
		h := headOnly(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if b, ok := r.Context().Value(streamBodyKey{}).(streamBody); ok {
				r.Body, r.ContentLength = b.body, b.length
			}
			next.ServeHTTP(rw, r)
		}))
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if streamsBody(r.Context()) {
				ctx := context.WithValue(r.Context(), streamBodyKey{}, streamBody{body: r.Body, length: r.ContentLength})
				empty := r.WithContext(ctx)
				empty.Body, empty.ContentLength = http.NoBody, 0
				h.ServeHTTP(rw, empty)
				return
			}
			w.ServeHTTP(rw, r)
		})
	}
	return mw, router, nil
}

// validRequest checks r against the spec; false when it answered (the
// problem). Out of the middleware's frame, which stays on the stack while
// a long-poll waits.
//
//go:noinline
func validRequest(w http.ResponseWriter, r *http.Request, router routers.Router, v *validation) bool {
	m, ok := r.Context().Value(routeMatchKey{}).(routeMatch)
	if !ok {
		m.route, m.params, m.err = router.FindRoute(r)
	}
	err := m.err
	if err == nil && !securityMet(m.route, principalFrom(r.Context()).Method) {
		writeProblem(w, r, wrongCredentials(r.Context()))
		return false
	}
	if err == nil {
		route := *m.route
		if op, ok := v.unsecured[route.Operation]; ok {
			route.Operation = op
		} else {
			err = fmt.Errorf("operation of %s %s not found in the spec", route.Method, route.Path)
		}
		if err == nil {
			err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
				Request: r, PathParams: m.params, Route: &route, Options: v.options})
		}
	}
	if err != nil {
		writeProblem(w, r, validationProblem(r, router, err))
		return false
	}
	return true
}

// validation is what validRequest checks a request with.
type validation struct {
	unsecured map[*openapi3.Operation]*openapi3.Operation // the spec's operations, each copied without its security
	options   *openapi3filter.Options
}

// securityMet reports whether a caller authenticated by method satisfies
// the route's security (the operation's, else the spec's): one of its
// requirements all of whose schemes that method provides. An empty
// requirement ({}) lets anyone in; a scheme heepr does not know is never
// met.
func securityMet(route *routers.Route, method kernel.AuthMethod) bool {
	reqs := route.Operation.Security
	if reqs == nil {
		reqs = &route.Spec.Security
	}
	if len(*reqs) == 0 {
		return true
	}
	for _, req := range *reqs {
		met := true
		for scheme := range req {
			if want, ok := schemeMethods[scheme]; !ok || want != method {
				met = false
				break
			}
		}
		if met {
			return true
		}
	}
	return false
}

// specRouter finds a request's operation in the spec: a path without
// parameters (/v1/agent/events, /v1/me) by one map lookup, any other by
// kin-openapi's gorillamux router (a regular expression per path, tried
// in turn). A concrete path takes precedence over a templated one, as
// OpenAPI says, so the two agree.
type specRouter struct {
	routers.Router
	static map[string]*routers.Route // "METHOD /path" → route
}

var noPathParams = map[string]string{} // never written

func newSpecRouter(spec *openapi3.T) (*specRouter, error) {
	gm, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, fmt.Errorf("build spec router: %w", err)
	}
	r := &specRouter{Router: gm, static: map[string]*routers.Route{}}
	for path, item := range spec.Paths.Map() {
		if strings.Contains(path, "{") {
			continue
		}
		for method := range item.Operations() {
			probe, err := http.NewRequest(method, path, nil)
			if err != nil {
				return nil, fmt.Errorf("route %s %s: %w", method, path, err)
			}
			route, _, err := gm.FindRoute(probe)
			if err != nil {
				return nil, fmt.Errorf("route %s %s: %w", method, path, err)
			}
			r.static[method+" "+path] = route
		}
	}
	return r, nil
}

func (r *specRouter) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	if req.URL.RawPath == "" {
		if route, ok := r.static[req.Method+" "+req.URL.Path]; ok {
			return route, noPathParams, nil
		}
	}
	return r.Router.FindRoute(req)
}

// nameRoute names the request's route (metrics label, span name, log field)
// as soon as /v1 is entered, so that requests refused before the operation
// runs (400, 401, 403, 413, 415) are counted and traced under their route,
// not as "unmatched" with a span named after the bare method. The operation
// middleware sets the same name again once the mux has matched.
//
// The match (or the reason there is none) is kept for the validator.
func nameRoute(router routers.Router, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m routeMatch
		m.route, m.params, m.err = router.FindRoute(r)
		ctx := context.WithValue(r.Context(), routeMatchKey{}, m)
		if m.err == nil {
			pattern := r.Method + " " + m.route.Path
			telemetry.SetRoute(ctx, pattern)
			trace.SpanFromContext(ctx).SetName(pattern)
			ctx = context.WithValue(ctx, routeOpKey{}, m.route.Operation)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

type routeOpKey struct{}

// routeMatch is the spec's route of a request, found once by nameRoute.
type routeMatch struct {
	route  *routers.Route
	params map[string]string
	err    error
}

type routeMatchKey struct{}

type streamBodyKey struct{}

// streamBody is an upload's body, set aside while the request is validated.
type streamBody struct {
	body   io.ReadCloser
	length int64
}

// streamsBody reports whether the request's operation is marked
// x-heepr-stream-body: its body is read as a stream by its handler.
func streamsBody(ctx context.Context) bool {
	op, _ := ctx.Value(routeOpKey{}).(*openapi3.Operation)
	if op == nil {
		return false
	}
	v, _ := op.Extensions["x-heepr-stream-body"].(bool)
	return v
}

// bodyLimit is the operation's own body limit (x-heepr-max-body-bytes in
// the spec), or def.
func bodyLimit(ctx context.Context, def int64) int64 {
	op, _ := ctx.Value(routeOpKey{}).(*openapi3.Operation)
	if op == nil {
		return def
	}
	switch v := op.Extensions["x-heepr-max-body-bytes"].(type) {
	case float64:
		return int64(v)
	case int:
		return int64(v)
	case int64:
		return v
	}
	return def
}

// Binary bodies the spec accepts are read as files by the validator.
var registerDecoders sync.Once

func registerBinaryDecoders() {
	registerDecoders.Do(func() {
		for _, ct := range []string{"image/png", "image/jpeg", "image/webp"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
		}
	})
}

// wrongCredentials is the 401 for an operation the caller's credentials
// do not satisfy: none, bad ones (the reason), or the wrong kind (an agent
// key on a person's operation, a cookie or personal token on an agent's).
func wrongCredentials(ctx context.Context) problem {
	p := unauthenticated(ctx)
	switch principalFrom(ctx).Method {
	case kernel.AuthAgent:
		p.Detail = "an agent key works only on the agent's operations; this one needs a session or a personal token"
	case kernel.AuthSession, kernel.AuthToken:
		p.Detail = "this operation is for agents: send the agent's key as Authorization: Bearer hpr_agent_..."
	}
	return p
}

// validationProblem turns what kin-openapi found into one problem.
func validationProblem(r *http.Request, router routers.Router, err error) problem {
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return problem{Status: http.StatusMethodNotAllowed, Code: "method-not-allowed",
			Detail: r.Method + " is not allowed on " + r.URL.Path, Allow: allowedMethods(r, router)}
	case errors.Is(err, routers.ErrPathNotFound):
		return problem{Status: http.StatusNotFound, Code: "not-found", Detail: "no such endpoint: " + r.URL.Path}
	}
	var sec *openapi3filter.SecurityRequirementsError
	if errors.As(err, &sec) {
		return wrongCredentials(r.Context())
	}
	var errs []error
	var me openapi3.MultiError
	if errors.As(err, &me) {
		errs = flatten(me)
	} else {
		errs = []error{err}
	}
	p := problem{Status: http.StatusBadRequest, Code: "validation"}
	more := 0 // field errors past maxFieldErrors, counted but not listed
	for _, e := range errs {
		if len(p.Fields) >= maxFieldErrors {
			more++
			continue
		}
		if errors.As(e, &sec) {
			return wrongCredentials(r.Context())
		}
		var mbe *http.MaxBytesError
		if errors.As(e, &mbe) {
			return fromError(mbe)
		}
		var re *openapi3filter.RequestError
		if errors.As(e, &re) {
			if strings.HasPrefix(re.Reason, "header Content-Type has unexpected value") {
				return problem{Status: http.StatusUnsupportedMediaType, Code: "unsupported-media",
					Detail: fmt.Sprintf("Content-Type %q is not accepted here; send application/json", r.Header.Get("Content-Type"))}
			}
			var pe *openapi3filter.ParseError
			if errors.As(re.Err, &pe) && pe.Kind == openapi3filter.KindUnsupportedFormat {
				return problem{Status: http.StatusUnsupportedMediaType, Code: "unsupported-media",
					Detail: fmt.Sprintf("Content-Type %q is not accepted here", r.Header.Get("Content-Type"))}
			}
			if re.Reason == "failed to decode request body" {
				return problem{Status: http.StatusBadRequest, Code: "malformed-json", Detail: "the body is not valid JSON: " + cleanReason(re.Err)}
			}
		}
		p.Fields = append(p.Fields, fieldErrors(e)...)
	}
	if len(p.Fields) > maxFieldErrors {
		more += len(p.Fields) - maxFieldErrors
		p.Fields = p.Fields[:maxFieldErrors]
	}
	p.Detail = "the request has invalid fields"
	switch {
	case more > 0:
		p.Detail = fmt.Sprintf("the request has invalid fields; the first %d are listed, %d more are not", len(p.Fields), more)
	case len(p.Fields) == 1:
		p.Detail = p.Fields[0].Field + ": " + p.Fields[0].Detail
	}
	return p
}

// maxFieldErrors bounds the fields one answer lists. kin-openapi reports
// every invalid element of an array (MultiError), so a body of 200,000
// bad elements under the size limit made an answer of 26 MB
// (test/fault: TestHugeInvalidJSONArray).
const maxFieldErrors = 20

// flatten opens nested MultiErrors. It does not look inside other errors:
// a RequestError wrapping a MultiError keeps the parameter it is about,
// which fieldErrors needs to name the field.
func flatten(me openapi3.MultiError) []error {
	var out []error
	for _, e := range me {
		if inner, ok := e.(openapi3.MultiError); ok {
			out = append(out, flatten(inner)...)
			continue
		}
		out = append(out, e)
	}
	return out
}

var quotedProperty = regexp.MustCompile(`property "([^"]+)" is (missing|unsupported)`)

// fieldErrors names the fields an error is about.
func fieldErrors(err error) []kernel.FieldError {
	var re *openapi3filter.RequestError
	prefix := ""
	if errors.As(err, &re) {
		if re.Parameter != nil {
			prefix = re.Parameter.Name
		}
		if re.RequestBody != nil && errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
			return []kernel.FieldError{{Field: "body", Detail: "a request body is required"}}
		}
		var inner openapi3.MultiError
		if errors.As(re.Err, &inner) {
			var out []kernel.FieldError
			for _, e := range flatten(inner) {
				if len(out) > maxFieldErrors {
					out = append(out, kernel.FieldError{}) // counted, not formatted
					continue
				}
				out = append(out, schemaField(prefix, e)...)
			}
			return out
		}
		if re.Err != nil {
			return schemaField(prefix, re.Err)
		}
		return []kernel.FieldError{{Field: orBody(prefix), Detail: re.Reason}}
	}
	return schemaField(prefix, err)
}

func schemaField(prefix string, err error) []kernel.FieldError {
	var se *openapi3.SchemaError
	if !errors.As(err, &se) {
		return []kernel.FieldError{{Field: orBody(prefix), Detail: cleanReason(err)}}
	}
	path := se.JSONPointer()
	if m := quotedProperty.FindStringSubmatch(se.Reason); m != nil {
		if len(path) == 0 || path[len(path)-1] != m[1] {
			path = append(path, m[1])
		}
		detail := "is required"
		if m[2] == "unsupported" {
			detail = "is not a known field"
		}
		return []kernel.FieldError{{Field: join(prefix, path), Detail: detail}}
	}
	return []kernel.FieldError{{Field: join(prefix, path), Detail: friendly(se.Reason)}}
}

// join names a field the way the domain rules do: dots between
// properties, brackets around array indexes ("tiers[0].price"), so a
// client finds a field under one name whichever check refused it.
func join(prefix string, path []string) string {
	var b strings.Builder
	for _, seg := range path {
		if _, err := strconv.Atoi(seg); err == nil && b.Len() > 0 {
			b.WriteString("[" + seg + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	f := b.String()
	switch {
	case prefix != "" && f != "":
		return prefix + "." + f
	case prefix != "":
		return prefix
	case f != "":
		return f
	}
	return "body"
}

// reasons turns the schema validator's messages into the wording of the
// domain rules ("must be at least 10 characters"); others pass as they are.
var reasons = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`^minimum string length is (\d+)$`), "must be at least $1 characters"},
	{regexp.MustCompile(`^maximum string length is (\d+)$`), "must be at most $1 characters"},
	{regexp.MustCompile(`^number must be at least (\S+)$`), "must be at least $1"},
	{regexp.MustCompile(`^number must be at most (\S+)$`), "must be at most $1"},
	{regexp.MustCompile(`^number must be more than (\S+)$`), "must be more than $1"},
	{regexp.MustCompile(`^number must be less than (\S+)$`), "must be less than $1"},
	{regexp.MustCompile(`^minimum number of items is (\d+)$`), "must have at least $1 items"},
	{regexp.MustCompile(`^maximum number of items is (\d+)$`), "must have at most $1 items"},
	{regexp.MustCompile(`^value is not one of the allowed values (.+)$`), "must be one of $1"},
	{regexp.MustCompile(`^string doesn't match the regular expression .*$`), "is not in the expected format"},
	{regexp.MustCompile(`^value must be (an? \w+)$`), "must be $1"},
	{regexp.MustCompile(`^duplicate items found$`), "must not repeat an item"},
}

func friendly(reason string) string {
	for _, r := range reasons {
		if r.re.MatchString(reason) {
			return r.re.ReplaceAllString(reason, r.with)
		}
	}
	return reason
}

func orBody(s string) string {
	if s == "" {
		return "body"
	}
	return s
}

// cleanReason keeps a library message short and free of Go type names.
func cleanReason(err error) string {
	if err == nil {
		return "invalid value"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s)-i > 8 {
		s = s[i+2:]
	}
	return s
}

func allowedMethods(r *http.Request, router routers.Router) string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, _, err := router.FindRoute(probe); err == nil {
			allowed = append(allowed, m)
		}
	}
	return strings.Join(allowed, ", ")
}
