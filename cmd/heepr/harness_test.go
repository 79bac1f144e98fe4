package main

// The end-to-end harness: a whole heepr (newApp, the River workers, the HTTP
// handler behind a real listener) per test and per database, driven through
// HTTP with the generated client. Time is a fake clock the test moves.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/heepr/heepr"
	httpapi "github.com/heepr/heepr/adapters/http"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/adapters/telemetry"
	"github.com/heepr/heepr/api/client"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger/domain"
)

// spans receives every span of every app in this test binary. Each span is
// tagged with the app that made it (appAttr), so parallel tests can tell
// their spans apart.
var spans = tracetest.NewInMemoryExporter()

const appAttr = attribute.Key("heepr.test.app")

type appKey struct{}

// appTagger copies the app id from the context a span starts in onto the span.
type appTagger struct{}

func (appTagger) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	if id, ok := ctx.Value(appKey{}).(string); ok {
		s.SetAttributes(appAttr.String(id))
	}
}
func (appTagger) OnEnd(sdktrace.ReadOnlySpan)      {}
func (appTagger) Shutdown(context.Context) error   { return nil }
func (appTagger) ForceFlush(context.Context) error { return nil }

func TestMain(m *testing.M) {
	// Installed before any app is built: otelhttp, bunotel and otelriver
	// take the global provider when they are constructed. The propagator
	// is what telemetry.SetupTracing installs when tracing is on.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(appTagger{}), sdktrace.WithSyncer(spans))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	code := m.Run()
	_ = tp.Shutdown(context.Background())
	os.Exit(code)
}

// fakeClock is a kernel.Clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

var _ kernel.Clock = (*fakeClock)(nil)

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Now().UTC().Truncate(time.Second)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer collects the app's log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// generousLimits keep rate limits out of the way of tests that do not test them.
func generousLimits() map[string]httpapi.Limit {
	return map[string]httpapi.Limit{
		"signUp": {PerMinute: 60_000, Burst: 10_000},
		"signIn": {PerMinute: 60_000, Burst: 10_000},
	}
}

// env is one running heepr on one database.
type env struct {
	target storetest.Target
	cfg    config
	opts   options
	app    *app
	srv    *httptest.Server
	url    string
	clock  *fakeClock
	logs   *syncBuffer
	id     string // tags this app's spans

	closeOnce sync.Once
	closed    bool // the test closed the app itself
}

type envOption func(*config, *options)

func withMaxBody(n int64) envOption { return func(c *config, _ *options) { c.MaxBodyBytes = n } }

// withConfig changes the configuration the app is built with.
func withConfig(edit func(c *config)) envOption { return func(c *config, _ *options) { edit(c) } }

func withRateLimits(l map[string]httpapi.Limit) envOption {
	return func(_ *config, o *options) { o.rateLimits = l }
}

// eachDB runs fn as a parallel subtest on SQLite and on Postgres, each with
// its own freshly built heepr.
func eachDB(t *testing.T, fn func(t *testing.T, e *env), opts ...envOption) {
	t.Helper()
	for _, tg := range storetest.Targets(t) {
		t.Run(string(tg.Dialect), func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, tg, opts...))
		})
	}
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newEnv(t *testing.T, tg storetest.Target, opts ...envOption) *env {
	t.Helper()
	dataDir := tg.Config.DataDir
	if dataDir == "" {
		dataDir = t.TempDir() // Postgres: still a place for captured mail
	}
	// The configuration a fresh environment gives (every default, e.g.
	// HEEPR_STARTER_POINTS=1000), then what a test machine needs.
	cfg, err := loadConfig(func(string) string { return "" })
	require.NoError(t, err)
	cfg.Addr = "127.0.0.1:0"
	cfg.DatabaseURL = tg.Config.DatabaseURL
	cfg.DataDir = dataDir
	cfg.BaseURL = "http://127.0.0.1"
	cfg.MaxBodyBytes = 64 << 10
	cfg.Workers = 4
	e := &env{target: tg, clock: newFakeClock(), logs: &syncBuffer{}, id: randomID()}
	e.opts = options{schema: tg.Config.Schema, clock: e.clock, pollInterval: 50 * time.Millisecond, rateLimits: generousLimits()}
	for _, o := range opts {
		o(&cfg, &e.opts)
	}
	e.cfg = cfg

	ctx := context.WithValue(context.Background(), appKey{}, e.id)
	a, err := newApp(ctx, cfg, telemetry.NewLogger(e.logs, 0), true, e.opts)
	require.NoError(t, err)
	e.app = a
	require.NoError(t, a.queue.Start(ctx))
	e.srv = httptest.NewUnstartedServer(a.handler)
	e.srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	e.srv.Start()
	e.url = e.srv.URL
	t.Cleanup(func() {
		e.srv.Close()
		// A safety net behind the explicit requireLedgerOK of each test that
		// moves points: no test leaves broken books behind.
		if !t.Failed() && !e.closed {
			require.NoError(t, a.ledger.CheckInvariants(context.Background()), "the ledger after the test")
		}
		e.close(t)
		require.NotContains(t, e.logs.String(), testPassword, "a password reached the log")
		if t.Failed() {
			t.Logf("app log:\n%s", e.logs.String())
		}
	})
	return e
}

// close stops the workers and closes the database (once).
func (e *env) close(t *testing.T) {
	e.closeOnce.Do(func() {
		e.closed = true
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, e.app.close(ctx))
	})
}

// --- clients -------------------------------------------------------------

func (e *env) newClient(t *testing.T, edit client.RequestEditorFn) *client.ClientWithResponses {
	t.Helper()
	opts := []client.ClientOption{client.WithHTTPClient(e.httpClient(t))}
	if edit != nil {
		opts = append(opts, client.WithRequestEditorFn(edit))
	}
	c, err := client.NewClientWithResponses(e.url, opts...)
	require.NoError(t, err)
	return c
}

// httpClient is the test server's client, with every answer under /v1
// held to openapi.yaml: one the spec does not describe fails t.
func (e *env) httpClient(t testing.TB) *http.Client {
	c := *e.srv.Client()
	c.Transport = &specCheck{t: t, next: c.Transport}
	return &c
}

// anon is a client with no credentials.
func (e *env) anon(t *testing.T) *client.ClientWithResponses { return e.newClient(t, nil) }

// withCookie sends a fixed session id in the cookie. The cookie is Secure,
// so a cookie jar would not send it over plain HTTP; the tests carry it.
func (e *env) withCookie(t *testing.T, session string) *client.ClientWithResponses {
	return e.newClient(t, func(_ context.Context, r *http.Request) error {
		r.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: session})
		return nil
	})
}

// withBearer sends a personal token.
func (e *env) withBearer(t *testing.T, token string) *client.ClientWithResponses {
	return e.newClient(t, func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	})
}

// sessionFrom reads the session cookie a response set, checking its attributes.
func sessionFrom(t *testing.T, resp *http.Response) string {
	t.Helper()
	c := setCookie(t, resp)
	require.NotEmpty(t, c.Value, "the session cookie is empty")
	require.True(t, c.HttpOnly, "the session cookie must be HttpOnly")
	require.True(t, c.Secure, "the session cookie must be Secure")
	require.Equal(t, http.SameSiteLaxMode, c.SameSite)
	require.Equal(t, "/", c.Path)
	require.Positive(t, c.MaxAge)
	return c.Value
}

// setCookie returns the one session cookie a response set.
func setCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, line := range resp.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		require.NoError(t, err)
		if c.Name == httpapi.SessionCookie {
			require.Nil(t, found, "two session cookies in one response")
			found = c
		}
	}
	require.NotNil(t, found, "no %s cookie in the response", httpapi.SessionCookie)
	return found
}

// --- accounts ------------------------------------------------------------

// account is a user the test created, with its current session.
type account struct {
	ID       string
	Email    string
	Password string
	Session  string
	User     client.User
}

const testPassword = "correct horse battery"

// signUp creates an account through the API and returns it signed in.
func (e *env) signUp(t *testing.T, email string, role client.SignUpRequestRole) account {
	t.Helper()
	resp, err := e.anon(t).SignUpWithResponse(context.Background(), client.SignUpRequest{
		Email: email, Password: testPassword, DisplayName: "User " + strings.Split(email, "@")[0], Role: role,
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "sign-up: %s", resp.Body)
	require.NotNil(t, resp.JSON201)
	return account{ID: resp.JSON201.Id, Email: email, Password: testPassword, Session: sessionFrom(t, resp.HTTPResponse), User: *resp.JSON201}
}

// signIn signs in and returns the new session id.
func (e *env) signIn(t *testing.T, email, password string) string {
	t.Helper()
	resp, err := e.anon(t).SignInWithResponse(context.Background(), client.SignInRequest{Email: email, Password: password})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "sign-in: %s", resp.Body)
	return sessionFrom(t, resp.HTTPResponse)
}

// me calls getMe and returns the status and, on 200, the user.
func (e *env) me(t *testing.T, c *client.ClientWithResponses) (int, *client.User, []byte) {
	t.Helper()
	resp, err := c.GetMeWithResponse(context.Background())
	require.NoError(t, err)
	return resp.StatusCode(), resp.JSON200, resp.Body
}

// requireSignedOut asserts a client's credentials no longer work.
func (e *env) requireUnauthorized(t *testing.T, c *client.ClientWithResponses, slug string) {
	t.Helper()
	resp, err := c.GetMeWithResponse(context.Background())
	require.NoError(t, err)
	requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, slug)
}

// --- raw requests --------------------------------------------------------

// do sends a request the generated client cannot express.
func (e *env) do(t *testing.T, method, path string, body io.Reader, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	require.NoError(t, err)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := e.httpClient(t).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

// --- problems ------------------------------------------------------------

// requireProblem checks an error answer: status, media type, the problem
// type's slug, and that the body is exactly api/client's Problem.
func requireProblem(t *testing.T, resp *http.Response, body []byte, status int, slug string) client.Problem {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, "body: %s", body)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	var p client.Problem
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&p), "the body is not a Problem: %s", body)
	require.Equal(t, httpapi.ProblemBase+slug, p.Type, "body: %s", body)
	require.Equal(t, status, p.Status)
	require.NotEmpty(t, p.Title)
	require.NotNil(t, p.Detail)
	require.NotEmpty(t, *p.Detail)
	require.NotNil(t, p.RequestId)
	require.Equal(t, resp.Header.Get("X-Request-Id"), *p.RequestId)
	require.NotNil(t, p.Instance)
	require.Equal(t, resp.Request.URL.Path, *p.Instance)
	return p
}

// fieldNames lists the fields a validation problem names.
func fieldNames(p client.Problem) []string {
	if p.Errors == nil {
		return nil
	}
	var out []string
	for _, f := range *p.Errors {
		out = append(out, f.Field)
	}
	return out
}

// --- database state --------------------------------------------------------

// count counts the rows of a table, to show a refused request changed nothing.
func (e *env) count(t *testing.T, table string) int {
	t.Helper()
	n, err := e.app.db.Bun.NewSelect().Table(table).Count(context.Background())
	require.NoError(t, err)
	return int(n)
}

// snapshot is the row counts of every table a request of this issue can touch.
type snapshot map[string]int

func (e *env) snapshot(t *testing.T) snapshot {
	t.Helper()
	s := snapshot{}
	for _, table := range []string{"users", "sessions", "personal_tokens",
		"ledger_accounts", "ledger_postings", "ledger_entries", "idempotency_keys"} {
		s[table] = e.count(t, table)
	}
	// Jobs a request enqueues (River's periodic jobs come and go on their own).
	n, err := e.app.db.Bun.NewSelect().Table("river_job").Where("kind = ?", "identity.user_signed_up").Count(context.Background())
	require.NoError(t, err)
	s["welcome jobs"] = int(n)
	return s
}

func (e *env) requireUnchanged(t *testing.T, before snapshot) {
	t.Helper()
	require.Equal(t, before, e.snapshot(t), "a refused request changed the database")
}

// --- traces --------------------------------------------------------------

// traceparent starts a trace the test knows the id of.
func traceparent() (traceID, header string) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	traceID = hex.EncodeToString(b[:16])
	return traceID, fmt.Sprintf("00-%s-%s-01", traceID, hex.EncodeToString(b[16:]))
}

func spansOfTrace(traceID string) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range spans.GetSpans() {
		if s.SpanContext.TraceID().String() == traceID {
			out = append(out, s)
		}
	}
	return out
}

func spansOfApp(id string) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range spans.GetSpans() {
		if attrValue(s, appAttr) == id {
			out = append(out, s)
		}
	}
	return out
}

func attrValue(s tracetest.SpanStub, key attribute.Key) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.Emit()
		}
	}
	return ""
}

// --- ledger --------------------------------------------------------------

// requireLedgerOK runs the ledger's invariant checker (every posting
// balances, balances sum to zero, each balance equals its entries, no
// negative account but mint, escrow equals the open holds, at most one
// payout per order). Every test that moved points ends with it.
func (e *env) requireLedgerOK(t *testing.T) {
	t.Helper()
	require.NoError(t, e.app.ledger.CheckInvariants(context.Background()))
}

// supportAccount creates a support account (through the identity facade,
// as `heepr admin create-support` does, without building a second app) and
// signs it in.
func (e *env) supportAccount(t *testing.T, email string) account {
	t.Helper()
	_, err := e.app.identity.CreateSupport(context.Background(), email, "Staff Member", testPassword)
	require.NoError(t, err)
	session := e.signIn(t, email, testPassword)
	status, me, body := e.me(t, e.withCookie(t, session))
	require.Equal(t, http.StatusOK, status, "%s", body)
	return account{ID: me.Id, Email: email, Password: testPassword, Session: session, User: *me}
}

// wallet calls getWallet and requires 200.
func (e *env) wallet(t *testing.T, c *client.ClientWithResponses) client.Wallet {
	t.Helper()
	resp, err := c.GetWalletWithResponse(context.Background())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "getWallet: %s", resp.Body)
	require.NotNil(t, resp.JSON200)
	return *resp.JSON200
}

// postings calls listPostings and requires 200.
func (e *env) postings(t *testing.T, c *client.ClientWithResponses, params *client.ListPostingsParams) client.PostingList {
	t.Helper()
	if params == nil {
		params = &client.ListPostingsParams{}
	}
	resp, err := c.ListPostingsWithResponse(context.Background(), params)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listPostings: %s", resp.Body)
	require.NotNil(t, resp.JSON200)
	return *resp.JSON200
}

// allPostings lists every posting matching the filters in one page of 100.
func (e *env) allPostings(t *testing.T, c *client.ClientWithResponses, kind *client.PostingKind, order *string) []client.Posting {
	t.Helper()
	page := e.postings(t, c, &client.ListPostingsParams{Limit: ptrTo(100), Kind: kind, OrderId: order})
	require.Nil(t, page.NextCursor, "more than one page of postings")
	return page.Items
}

// credit calls creditPoints.
func (e *env) credit(t *testing.T, c *client.ClientWithResponses, user, key string, amount int64, memo string) *client.CreditPointsResponse {
	t.Helper()
	resp, err := c.CreditPointsWithResponse(context.Background(), user, &client.CreditPointsParams{IdempotencyKey: key},
		client.CreditRequest{Amount: amount, Memo: memo})
	require.NoError(t, err)
	return resp
}

// ledgerState is every account's balance and the ledger's row counts, to
// show a refused request moved nothing.
type ledgerState struct {
	Postings int
	Entries  int
	Balances map[string]int64
}

func (e *env) ledgerState(t *testing.T) ledgerState {
	t.Helper()
	var rows []struct {
		ID      string `bun:"id"`
		Balance int64  `bun:"balance"`
	}
	require.NoError(t, e.app.db.Bun.NewSelect().Table("ledger_accounts").Column("id", "balance").Scan(context.Background(), &rows))
	s := ledgerState{Postings: e.count(t, "ledger_postings"), Entries: e.count(t, "ledger_entries"), Balances: map[string]int64{}}
	for _, r := range rows {
		s.Balances[r.ID] = r.Balance
	}
	return s
}

func (e *env) requireLedgerUnchanged(t *testing.T, before ledgerState) {
	t.Helper()
	require.Equal(t, before, e.ledgerState(t), "a refused request moved points")
}

// postingsOf counts the postings of a kind into a user's wallet.
func (e *env) postingsOf(t *testing.T, user string, kind client.PostingKind) int {
	t.Helper()
	n, err := e.app.db.Bun.NewSelect().Table("ledger_postings").Where("kind = ?", string(kind)).
		Where("to_account = ?", domain.WalletID(kernel.UserID(user))).Count(context.Background())
	require.NoError(t, err)
	return int(n)
}

// --- the contract ----------------------------------------------------------

// contract is openapi.yaml as served (heepr.OpenAPI) and a router over its
// operations, to validate answers against.
var contract = sync.OnceValues(func() (routers.Router, error) {
	spec, err := openapi3.NewLoader().LoadFromData(heepr.OpenAPI)
	if err != nil {
		return nil, err
	}
	if err := spec.Validate(context.Background()); err != nil {
		return nil, err
	}
	spec.Servers = nil // match on the path alone, whatever host the test server has
	return gorillamux.NewRouter(spec)
})

// specCheck validates every answer to an operation of the spec: its status
// must be one the operation lists (or its default), its headers and its
// body (media type and schema) what the spec says for that status.
// Requests that match no operation (tests of the 404 and 405 answers) have
// nothing to be held to and pass through. No body is exempt: kin-openapi
// reads a `format: binary` body (zips, images, delivered files) as raw
// bytes, so those answers are checked for their media type and status too.
type specCheck struct {
	t    testing.TB
	next http.RoundTripper
}

func (c *specCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/v1/") {
		return resp, err
	}
	router, err := contract()
	if err != nil {
		c.t.Errorf("load openapi.yaml: %v", err)
		return resp, nil
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil { // cut off (a cancelled long-poll): hand the caller the same failure
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		shown := body
		if len(shown) > 2000 || !utf8.Valid(shown) {
			shown = []byte(fmt.Sprintf("(%d bytes of %s)", len(body), resp.Header.Get("Content-Type")))
		}
		c.t.Errorf("the answer of %s (%s %s) does not match openapi.yaml: status %d: %v\nbody: %s",
			route.Operation.OperationID, req.Method, req.URL.Path, resp.StatusCode, err, shown)
	}
	return resp, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
