package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/heepr/heepr"
	"github.com/heepr/heepr/adapters/authz"
	"github.com/heepr/heepr/adapters/http/apidocs"
	"github.com/heepr/heepr/adapters/telemetry"
	"github.com/heepr/heepr/api"
	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/moderation"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering"
	"github.com/heepr/heepr/modules/skills"
	"github.com/heepr/heepr/modules/webhooks"
)

// Options configure the HTTP adapter.
type Options struct {
	Identity   *identity.Service
	Ledger     *ledger.Service
	Market     *marketplace.Service
	Skills     *skills.Service
	Ordering   *ordering.Service
	Notify     *notification.Service
	Moderation *moderation.Service
	Webhooks   *webhooks.Service
	// Jobs lists failed background jobs for support (the queue).
	Jobs FailedJobs
	// WebApp is the built web app served at / (nil: none).
	WebApp fs.FS
	// Tx runs a points-moving request and the storage of its answer in one transaction.
	Tx          kernel.Tx
	Idempotency IdempotencyStore
	Enforcer    *authz.Enforcer
	Metrics     *telemetry.Metrics
	Logger      *slog.Logger
	// Ready reports whether the database is reachable and migrated.
	Ready func(ctx context.Context) error
	// BaseURL is heepr's public URL (cookies are Secure unless it is plain
	// HTTP on a host other than localhost).
	BaseURL string
	// MaxBodyBytes bounds JSON request bodies (default 1 MiB).
	MaxBodyBytes int64
	// MaxUploadBytes bounds each file of an upload (x-heepr-stream-body
	// operations take up to 10 of them, plus 1 MiB for the rest).
	MaxUploadBytes int64
	// RateLimits per operationId, applied per client IP (defaults: DefaultRateLimits).
	RateLimits map[string]Limit
	// WriteLimit limits every /v1 operation but GET and HEAD per principal
	// (the user or the agent), and per client IP for anonymous callers
	// (zero: none; production: DefaultWriteLimit).
	WriteLimit Limit
	// PollLimit limits pollAgentEvents per agent (zero: none; production:
	// DefaultPollLimit).
	PollLimit Limit
	// MaxHeldPolls caps each agent's pollAgentEvents requests in flight; the
	// next is answered 429 too-many-polls at once (zero: no cap;
	// production: DefaultMaxHeldPolls).
	MaxHeldPolls int
	// StreamIdle is how long an upload or a download may move no byte
	// before its connection is closed (default DefaultStreamIdle). Those
	// operations are exempt from the server's ReadTimeout and WriteTimeout
	// (ADR 14).
	StreamIdle time.Duration
	// SignInPerEmail limits sign-in attempts per email address.
	SignInPerEmail Limit
	// AgentAuth resolves agent API keys (the marketplace module, later); nil for none.
	AgentAuth func(ctx context.Context, key string) (kernel.Principal, error)
	// Clock is the time rate-limit windows and cookie lifetimes are measured
	// in: the clock the identity module stamps sessions with (default: the system clock).
	Clock kernel.Clock
}

// DefaultRateLimits are the per-IP limits in production.
func DefaultRateLimits() map[string]Limit {
	return map[string]Limit{
		"signUp": {PerMinute: 10.0 / 60, Burst: 10}, // 10 accounts an hour per address
		"signIn": {PerMinute: 10, Burst: 20},
	}
}

// Server is the HTTP adapter.
type Server struct {
	identity      *identity.Service
	ledger        *ledger.Service
	market        *marketplace.Service
	skills        *skills.Service
	ordering      *ordering.Service
	notify        *notification.Service
	moderation    *moderation.Service
	webhooks      *webhooks.Service
	jobs          FailedJobs
	tx            kernel.Tx
	idem          IdempotencyStore
	idemOps       map[string]bool // operations marked x-heepr-idempotent in the spec
	enforcer      *authz.Enforcer
	metrics       *telemetry.Metrics
	log           *slog.Logger
	ready         func(ctx context.Context) error
	secureCookies bool
	maxBody       int64
	maxUpload     int64
	rateLimits    map[string]Limit
	signInEmail   Limit
	limits        *limiter
	writeLimit    Limit
	pollLimit     Limit
	maxHeldPolls  int
	polls         *pollSlots
	streamIdle    time.Duration
	streamsOut    map[string]bool // operations whose answer is a file (downloads)
	agentAuth     func(ctx context.Context, key string) (kernel.Principal, error)
	clock         kernel.Clock
	ops           map[string]string // "METHOD /path" pattern → operationId
}

// New builds the whole HTTP handler: the API under /v1, the spec at
// /openapi.yaml, its readable reference at /docs, health at /healthz and
// /readyz, metrics at /metrics.
func New(o Options) (http.Handler, error) {
	h, _, err := newHandler(o)
	return h, err
}

// routes are the muxes of a handler: root serves every path (/v1/ goes to
// the API chain), api the operations of the spec behind the validator.
// TestRoutesMatchSpec holds them against openapi.yaml.
type routes struct {
	root, api *routeMux
}

// routeMux is an http.ServeMux that remembers the patterns registered on it.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func newRouteMux() *routeMux { return &routeMux{ServeMux: http.NewServeMux()} }

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

func newHandler(o Options) (http.Handler, routes, error) {
	s := &Server{
		identity: o.Identity, ledger: o.Ledger, market: o.Market, skills: o.Skills, ordering: o.Ordering, notify: o.Notify, moderation: o.Moderation, webhooks: o.Webhooks, jobs: o.Jobs, tx: o.Tx, idem: o.Idempotency, idemOps: map[string]bool{}, enforcer: o.Enforcer, metrics: o.Metrics, log: o.Logger, ready: o.Ready,
		secureCookies: SecureCookies(o.BaseURL), maxBody: o.MaxBodyBytes, maxUpload: o.MaxUploadBytes, rateLimits: o.RateLimits,
		signInEmail: o.SignInPerEmail, limits: newLimiter(), agentAuth: o.AgentAuth, clock: o.Clock,
		writeLimit: o.WriteLimit, pollLimit: o.PollLimit, maxHeldPolls: o.MaxHeldPolls, polls: &pollSlots{held: map[string]int{}},
		streamIdle: o.StreamIdle, streamsOut: map[string]bool{},
	}
	if s.streamIdle <= 0 {
		s.streamIdle = DefaultStreamIdle
	}
	if s.clock == nil {
		s.clock = kernel.SystemClock{}
	}
	if s.maxBody <= 0 {
		s.maxBody = 1 << 20
	}
	if s.maxUpload <= 0 {
		s.maxUpload = 100 << 20
	}
	if s.rateLimits == nil {
		s.rateLimits = DefaultRateLimits()
	}
	if s.signInEmail == (Limit{}) {
		s.signInEmail = Limit{PerMinute: 1, Burst: 10}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = telemetry.NewMetrics()
	}
	spec, err := api.GetSwagger()
	if err != nil {
		return nil, routes{}, fmt.Errorf("load embedded spec: %w", err)
	}
	s.ops = map[string]string{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			s.ops[method+" "+path] = op.OperationID
			if v, ok := op.Extensions["x-heepr-idempotent"].(bool); ok && v {
				s.idemOps[op.OperationID] = true
			}
			if answersFile(op) {
				s.streamsOut[op.OperationID] = true
			}
		}
	}
	validate, router, err := validator(spec)
	if err != nil {
		return nil, routes{}, err
	}
	strict := api.NewStrictHandlerWithOptions(s, nil, api.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeProblem(w, r, problem{Status: http.StatusBadRequest, Code: "malformed-json", Detail: "the body could not be read as the expected JSON"})
		},
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, r, s.log, err)
		},
	})
	mux := routes{root: newRouteMux(), api: newRouteMux()}
	apiMux := api.HandlerWithOptions(strict, api.StdHTTPServerOptions{
		BaseRouter:  mux.api,
		Middlewares: []api.MiddlewareFunc{s.operation},
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeProblem(w, r, problem{Status: http.StatusBadRequest, Code: "validation", Detail: cleanReason(err)})
		},
	})
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, problem{Status: http.StatusForbidden, Code: "csrf",
			Detail: "cross-origin writes are refused; call the API from heepr's own pages or with a bearer token"})
	}))
	var v1 http.Handler = validate(apiMux)
	v1 = s.limitBody(v1)
	v1 = s.limitRequests(v1)
	v1 = crossOrigin(csrf, v1)
	v1 = s.authenticate(v1)
	v1 = noStore(v1)
	v1 = nameRoute(router, v1)

	var web *webApp
	if o.WebApp != nil {
		if web, err = newWebApp(o.WebApp); err != nil {
			return nil, routes{}, fmt.Errorf("web app: %w", err)
		}
	}
	root := mux.root
	root.Handle("/v1/", v1)
	root.Handle("GET /openapi.yaml", telemetry.TagRoute(http.HandlerFunc(serveSpec)))
	for pattern, h := range apidocs.Routes() {
		root.Handle(pattern, telemetry.TagRoute(h))
	}
	root.Handle("GET /healthz", telemetry.TagRoute(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})))
	root.Handle("GET /readyz", telemetry.TagRoute(http.HandlerFunc(s.readyz)))
	root.Handle("GET /metrics", telemetry.TagRoute(s.metrics.Handler()))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// The catch-all matches every method, so ServeMux never answers 405
		// for the pages above: say so here when GET would have found one.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			probe := r.Clone(r.Context())
			probe.Method = http.MethodGet
			if _, pattern := root.Handler(probe); pattern != "/" {
				writeProblem(w, r, problem{Status: http.StatusMethodNotAllowed, Code: "method-not-allowed",
					Detail: r.Method + " is not allowed on " + r.URL.Path, Allow: "GET, HEAD"})
				return
			}
		}
		if web != nil && web.serve(w, r) {
			return
		}
		writeProblem(w, r, problem{Status: http.StatusNotFound, Code: "not-found", Detail: "no such page: " + r.URL.Path})
	})

	var h http.Handler = root
	h = s.recover(h)
	h = securityHeaders(h)
	h = s.logRequests(h)
	h = s.metrics.Middleware(h)
	h = requestID(h)
	if telemetry.TracingOn() {
		// Without an exporter the spans would go nowhere: otelhttp is
		// left out then, and saves every request its cost (ADR 13).
		h = otelhttp.NewHandler(h, "heepr", otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return r.Method
		}))
	}
	return h, mux, nil
}

// A suspended account reads and signs in and out; nothing else.
var (
	errAccountSuspended = kernel.New(kernel.ErrAccountSuspended, "account-suspended",
		"your account is suspended: you can sign in and read your data, but not change anything; write to support")
	suspendedMayCall = map[string]bool{"signIn": true, "signOut": true}
)

func readOnly(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// operation runs after routing, once the operationId is known: it names
// the span and the metrics route, then asks casbin. (Rate limits apply
// earlier, before the body is read: limitRequests.)
func (s *Server) operation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, w, r := s.admit(w, r, next); h != nil {
			h.ServeHTTP(w, r)
		}
	})
}

// admit is operation's work before the handler: nil when it answered
// (refused). Kept out of the middleware's own frame, which stays on the
// stack while a long-poll waits (held polls' memory, ADR 13).
//
//go:noinline
func (s *Server) admit(w http.ResponseWriter, r *http.Request, next http.Handler) (http.Handler, http.ResponseWriter, *http.Request) {
	op := s.ops[r.Pattern]
	telemetry.SetRoute(r.Context(), r.Pattern)
	span := trace.SpanFromContext(r.Context())
	span.SetName(r.Pattern)
	span.SetAttributes(attribute.String("http.route", r.Pattern), attribute.String("heepr.operation", op))
	p := principalFrom(r.Context())
	if !s.enforcer.Allowed(p, op) {
		if p.Anonymous() {
			writeProblem(w, r, unauthenticated(r.Context()))
			return nil, nil, nil
		}
		writeProblem(w, r, problem{Status: http.StatusForbidden, Code: "forbidden",
			Detail: "your account's roles do not allow " + op})
		return nil, nil, nil
	}
	if p.Suspended && !readOnly(r.Method) && !suspendedMayCall[op] {
		writeError(w, r, s.log, errAccountSuspended)
		return nil, nil, nil
	}
	h := next
	if s.streamsOut[op] {
		w = s.streamWriter(w)
	}
	if s.idemOps[op] {
		h = s.idempotent(op, next)
	}
	ctx := context.WithValue(r.Context(), writerKey{}, w)
	return h, w, r.WithContext(context.WithValue(ctx, requestKey{}, r))
}

// limitBody refuses bodies over the limit: at once when Content-Length says
// so, and while reading otherwise. A JSON body is read whole here (the
// validator would read it whole anyway) and must be exactly one JSON value:
// decoders stop after the first value and would silently ignore trailing data.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.readBody(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// readBody applies limitBody to r (replacing its Body); false when it
// answered. Out of the middleware's frame, as admit.
//
//go:noinline
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) bool {
	limit := bodyLimit(r.Context(), s.maxBody)
	if streamsBody(r.Context()) {
		limit = s.maxUpload*10 + 1<<20
	}
	if r.ContentLength > limit {
		// Refused unread: the connection is closed after the answer
		// rather than drained of the announced body first.
		w.Header().Set("Connection", "close")
		writeError(w, r, s.log, &http.MaxBytesError{Limit: limit})
		return false
	}
	// Past the limit MaxBytesReader tells net/http to close the connection
	// after the answer, instead of reading on before it answers; the
	// server's own writer, under the middleware's wrappers, hears it.
	r.Body = http.MaxBytesReader(innermost(w), r.Body, limit)
	if streamsBody(r.Context()) {
		r.Body = s.streamReader(w, r.Body)
	}
	if isJSON(r.Header.Get("Content-Type")) {
		b, err := io.ReadAll(r.Body)
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			writeError(w, r, s.log, err)
			return false
		case err != nil:
			writeProblem(w, r, problem{Status: http.StatusBadRequest, Code: "malformed-json", Detail: "the body could not be read"})
			return false
		}
		if len(b) > 0 {
			if err := json.Unmarshal(b, new(json.RawMessage)); err != nil {
				writeProblem(w, r, problem{Status: http.StatusBadRequest, Code: "malformed-json", Detail: jsonSyntaxDetail(err)})
				return false
			}
			if arrayOver(b, maxJSONArray) {
				writeProblem(w, r, problem{Status: http.StatusBadRequest, Code: "validation",
					Detail: fmt.Sprintf("the body has an array of more than %d elements; no field takes that many", maxJSONArray)})
				return false
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	return true
}

// maxJSONArray bounds every array in a JSON body, ten times the largest
// maxItems in openapi.yaml. kin-openapi checks maxItems and then still
// validates every element, keeping an error for each bad one: an array of
// 200,000 bad elements under the body limit cost 0.7 s and 86 MB before
// its 400 (test/fault: TestHugeInvalidJSONArray).
const maxJSONArray = 1000

// arrayOver reports whether the JSON text b (already known to be valid)
// has an array of more than limit elements. One pass, no decoding.
func arrayOver(b []byte, limit int) bool {
	var open []int // per open bracket: the commas of an array so far, or -1 for an object
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[':
			open = append(open, 0)
		case '{':
			open = append(open, -1)
		case ']', '}':
			open = open[:len(open)-1]
		case ',':
			if top := len(open) - 1; open[top] >= 0 {
				open[top]++
				if open[top] >= limit { // limit commas: limit+1 elements
					return true
				}
			}
		}
	}
	return false
}

// innermost is the ResponseWriter net/http gave, under the wrappers
// (status recorders) that expose it through Unwrap.
func innermost(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// isJSON reports whether a Content-Type is JSON (application/json or +json).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func jsonSyntaxDetail(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("the body is not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
	}
	return "the body is not valid JSON"
}

// crossOrigin refuses cross-origin browser writes, except those that carry
// an Authorization header: a browser attaches cookies to a forged request
// but never an Authorization header (cross-origin, that needs a CORS
// preflight heepr does not grant), and a request with one is authenticated
// by it alone, never by the cookie.
func crossOrigin(p *http.CrossOriginProtection, next http.Handler) http.Handler {
	protected := p.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			next.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.ready(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "error", err.Error())
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"unavailable"}` + "\n"))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
}

func serveSpec(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(heepr.OpenAPI)
}

func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, r, s.log, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// constHeader is a header value shared by every response: assigned to the
// header map directly, its key already canonical, so setting it allocates
// nothing (Header.Set canonicalises the key and allocates a slice each
// time: a dozen allocations a request, bench/events). Its capacity equals
// its length, so a handler's Header.Add appends to a copy, never to it.
type constHeader struct {
	key   string
	value []string
}

func header(key, value string) constHeader {
	return constHeader{key: http.CanonicalHeaderKey(key), value: []string{value}[:1:1]}
}

func (c constHeader) set(h http.Header) { h[c.key] = c.value }

var (
	securityHeaderSet = []constHeader{
		header("X-Content-Type-Options", "nosniff"),
		header("X-Frame-Options", "DENY"),
		header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
		header("Referrer-Policy", "no-referrer"),
		header("Cross-Origin-Opener-Policy", "same-origin"),
		header("Cross-Origin-Resource-Policy", "same-origin"),
	}
	noStoreHeader = header("Cache-Control", "no-store")
)

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, c := range securityHeaderSet {
			c.set(h)
		}
		next.ServeHTTP(w, r)
	})
}

// noStore keeps API answers (often personal) out of caches.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStoreHeader.set(w.Header())
		next.ServeHTTP(w, r)
	})
}

// requestID gives every request an id: the caller's X-Request-Id when it is
// short and plain, else a new one. It is echoed back and on every log line.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if len(id) == 0 || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool {
			return !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
		}) {
			id = telemetry.NewRequestID()
		}
		w.Header()["X-Request-Id"] = []string{id}
		next.ServeHTTP(w, r.WithContext(telemetry.WithRequestID(r.Context(), id)))
	})
}

// logRequests writes one line per request (never headers or bodies): at
// Info, Error for a 5xx, and Debug for a routine answer the handler marked
// quiet (an agent's poll that found nothing new: agents poll every few
// seconds, and a line for each would drown the rest).
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.logRequest(r, rec.status, start)
	})
}

//go:noinline
func (s *Server) logRequest(r *http.Request, status int, start time.Time) {
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case status < 400 && telemetry.Quiet(r.Context()):
		level = slog.LevelDebug
	}
	if !s.log.Enabled(r.Context(), level) {
		return // before the fields are boxed for a line nobody keeps
	}
	s.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path,
		"route", telemetry.RouteFrom(r.Context()), "status", status, "duration_ms", time.Since(start).Milliseconds())
}

type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
