package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/heepr/heepr"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/api/client"
)

func TestServesSpecAndHealth(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		r, b := e.do(t, http.MethodGet, "/openapi.yaml", nil, nil)
		require.Equal(t, http.StatusOK, r.StatusCode)
		require.True(t, bytes.Equal(heepr.OpenAPI, b), "/openapi.yaml must serve the spec byte for byte")
		require.Contains(t, r.Header.Get("Content-Type"), "yaml")

		r, b = e.do(t, http.MethodGet, "/healthz", nil, nil)
		require.Equal(t, http.StatusOK, r.StatusCode, "%s", b)
		require.JSONEq(t, `{"status":"ok"}`, string(b))

		r, b = e.do(t, http.MethodGet, "/readyz", nil, nil)
		require.Equal(t, http.StatusOK, r.StatusCode, "%s", b)
		require.JSONEq(t, `{"status":"ready"}`, string(b))
		require.Equal(t, "no-store", r.Header.Get("Cache-Control"))

		// Security headers on every answer, API or not.
		for _, path := range []string{"/healthz", "/openapi.yaml", "/v1/me", "/nope"} {
			r, _ := e.do(t, http.MethodGet, path, nil, nil)
			require.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"), path)
			require.Equal(t, "DENY", r.Header.Get("X-Frame-Options"), path)
			require.NotEmpty(t, r.Header.Get("Content-Security-Policy"), path)
			require.NotEmpty(t, r.Header.Get("X-Request-Id"), path)
		}
		// A caller's plain request id is kept; anything else is replaced.
		r, _ = e.do(t, http.MethodGet, "/healthz", nil, http.Header{"X-Request-Id": {"abc-123"}})
		require.Equal(t, "abc-123", r.Header.Get("X-Request-Id"))
		r, _ = e.do(t, http.MethodGet, "/healthz", nil, http.Header{"X-Request-Id": {"<script>"}})
		require.NotEqual(t, "<script>", r.Header.Get("X-Request-Id"))
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		e.me(t, e.withCookie(t, acc.Session))
		e.me(t, e.withCookie(t, acc.Session))
		// Refused before the operation runs: still counted under its route.
		e.do(t, http.MethodPost, "/v1/auth/sign-up", strings.NewReader(`{}`), jsonHeader())
		e.me(t, e.anon(t))
		e.do(t, http.MethodGet, "/no/such/page", nil, nil)

		// The welcome job is counted too, once it ran.
		e.waitJobsDone(t)
		var text string
		require.Eventually(t, func() bool {
			r, b := e.do(t, http.MethodGet, "/metrics", nil, nil)
			require.Equal(t, http.StatusOK, r.StatusCode)
			text = string(b)
			return metricValue(text, `heepr_jobs_total{kind="identity.user_signed_up",state="completed"}`) == 1
		}, 10*time.Second, 20*time.Millisecond, "no completed welcome job in /metrics")

		for series, want := range map[string]float64{
			`heepr_http_requests_total{method="POST",route="POST /v1/auth/sign-up",status="201"}`: 1,
			`heepr_http_requests_total{method="POST",route="POST /v1/auth/sign-up",status="400"}`: 1,
			`heepr_http_requests_total{method="GET",route="GET /v1/me",status="200"}`:             2,
			`heepr_http_requests_total{method="GET",route="GET /v1/me",status="401"}`:             1,
			`heepr_http_requests_total{method="GET",route="unmatched",status="404"}`:              1,
			`heepr_http_request_duration_seconds_count{method="GET",route="GET /v1/me"}`:          3,
		} {
			require.Equal(t, want, metricValue(text, series), "%s in\n%s", series, text)
		}
		require.Contains(t, text, "heepr_http_in_flight_requests")
		require.Contains(t, text, `go_sql_open_connections{db_name="heepr"}`)
		// Never a user's id or email in a label.
		require.NotContains(t, text, acc.ID)
		require.NotContains(t, text, "ada@example.com")
	})
}

// metricValue finds one series in the Prometheus text format (-1 if absent).
func metricValue(text, series string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

func TestTraces(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		traceID, tp := traceparent()
		resp, err := e.anon(t).SignUpWithResponse(context.Background(), client.SignUpRequest{
			Email: "ada@example.com", Password: testPassword, DisplayName: "Ada", Role: client.SignUpRequestRoleCustomer,
		}, func(_ context.Context, r *http.Request) error {
			r.Header.Set("Traceparent", tp)
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, resp.StatusCode(), "%s", resp.Body)
		userID := resp.JSON201.Id

		// The request: one server span named after the route, with the
		// queries and the job insert inside it.
		var server tracetest.SpanStub
		var got tracetest.SpanStubs
		require.Eventually(t, func() bool {
			got = spansOfTrace(traceID)
			for _, s := range got {
				if s.SpanKind == trace.SpanKindServer {
					server = s
					return true
				}
			}
			return false
		}, 5*time.Second, 10*time.Millisecond)
		require.Equal(t, "POST /v1/auth/sign-up", server.Name)
		require.Equal(t, "POST /v1/auth/sign-up", attrValue(server, "http.route"))
		require.Equal(t, "signUp", attrValue(server, "heepr.operation"))
		require.Equal(t, e.id, attrValue(server, appAttr))
		require.Equal(t, tp[36:52], server.Parent.SpanID().String(), "the caller's traceparent is the parent")

		inside := descendants(got, server.SpanContext.SpanID())
		var inserts, riverInserts int
		for _, s := range inside {
			stmt := attrValue(s, "db.statement")
			if strings.HasPrefix(stmt, "INSERT INTO") && strings.Contains(stmt, "users") {
				inserts++
				require.Equal(t, trace.SpanKindClient, s.SpanKind)
				require.NotContains(t, stmt, "ada@example.com", "queries are traced without their values")
				require.NotContains(t, stmt, "argon2id", "queries are traced without their values")
			}
			if s.Name == "river.insert_many" {
				riverInserts++
			}
		}
		require.Equal(t, 1, inserts, "no bun INSERT INTO users span in the sign-up trace: %v", spanNames(got))
		require.Equal(t, 1, riverInserts, "no River insert span in the sign-up trace: %v", spanNames(got))

		// The welcome job: a River work span for identity.user_signed_up,
		// with its own queries inside.
		var jobID int64
		var jobs []struct {
			ID   int64  `bun:"id"`
			Args []byte `bun:"args"`
		}
		require.NoError(t, e.app.db.Bun.NewSelect().Table("river_job").Column("id", "args").
			Where("kind = ?", "identity.user_signed_up").Scan(context.Background(), &jobs))
		for _, j := range jobs {
			if bytes.Contains(j.Args, []byte(userID)) {
				jobID = j.ID
			}
		}
		require.NotZero(t, jobID, "the sign-up enqueued no welcome job")
		var work tracetest.SpanStub
		require.Eventually(t, func() bool {
			for _, s := range spansOfApp(e.id) {
				if strings.HasPrefix(s.Name, "river.work") && attrValue(s, "id") == strconv.FormatInt(jobID, 10) {
					work = s
					return true
				}
			}
			return false
		}, 15*time.Second, 20*time.Millisecond, "no River work span for job %d", jobID)
		require.Equal(t, "identity.user_signed_up", attrValue(work, "kind"))
		require.Equal(t, trace.SpanKindConsumer, work.SpanKind)
		require.Equal(t, "ok", attrValue(work, "status"))
		require.NotEqual(t, codes.Error, work.Status.Code)
		var jobQueries int
		for _, s := range descendants(spansOfTrace(work.SpanContext.TraceID().String()), work.SpanContext.SpanID()) {
			if attrValue(s, "db.statement") != "" {
				jobQueries++
			}
		}
		require.Positive(t, jobQueries, "the worker's queries belong to the job's trace")
	})
}

// descendants returns the spans below parent.
func descendants(all tracetest.SpanStubs, parent trace.SpanID) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	below := map[trace.SpanID]bool{parent: true}
	for changed := true; changed; {
		changed = false
		for _, s := range all {
			id := s.SpanContext.SpanID()
			if !below[id] && below[s.Parent.SpanID()] {
				below[id] = true
				out = append(out, s)
				changed = true
			}
		}
	}
	return out
}

func spanNames(ss tracetest.SpanStubs) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

// The profiler is served on the admin listener only (HEEPR_ADMIN_ADDR),
// never on the public one.
func TestProfilerOnAdminListenerOnly(t *testing.T) {
	t.Parallel()
	admin, ln, err := listenAdmin("127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = admin.Serve(ln) }()
	t.Cleanup(func() { _ = admin.Close() })
	base := "http://" + ln.Addr().String()
	get := func(url string) (int, string) {
		t.Helper()
		r, err := http.Get(url)
		require.NoError(t, err)
		defer r.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		return r.StatusCode, b.String()
	}
	code, body := get(base + "/debug/pprof/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "goroutine")
	code, body = get(base + "/debug/pprof/goroutine?debug=1")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "goroutine profile")
	code, _ = get(base + "/debug/pprof/heap")
	require.Equal(t, http.StatusOK, code)
	code, _ = get(base + "/v1/me")
	require.Equal(t, http.StatusNotFound, code, "the admin listener serves nothing else")

	e := newEnv(t, storetest.Targets(t)[0])
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap"} {
		r, _ := e.do(t, http.MethodGet, path, nil, nil)
		require.Equal(t, http.StatusNotFound, r.StatusCode, "the public listener must not serve %s", path)
	}
	_, _, err = listenAdmin("256.0.0.1:1")
	require.ErrorContains(t, err, "HEEPR_ADMIN_ADDR")
}
