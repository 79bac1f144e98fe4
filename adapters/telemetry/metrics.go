package telemetry

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "heepr"

// unmatchedRoute labels requests for which no route was recorded with SetRoute.
const unmatchedRoute = "unmatched"

// Metrics holds heepr's Prometheus collectors in a private registry, which
// also carries the Go runtime and process collectors.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	jobs        *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
}

// NewMetrics creates the collectors and registers them in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help:    "HTTP request latency, by method and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "http_in_flight_requests",
			Help: "HTTP requests currently being served.",
		}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "jobs_total",
			Help: "Background jobs finished, by kind and final state.",
		}, []string{"kind", "state"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "job_duration_seconds",
			Help:    "Background job run time, by kind.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900},
		}, []string{"kind"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.inFlight, m.jobs, m.jobDuration,
	)
	return m
}

// ObserveJob records one finished job of the given kind and final state
// (e.g. "completed", "failed") that ran for d.
func (m *Metrics) ObserveJob(kind, state string, d time.Duration) {
	m.jobs.WithLabelValues(kind, state).Inc()
	m.jobDuration.WithLabelValues(kind).Observe(d.Seconds())
}

// RegisterDBStats exports the connection pool statistics of db under the
// db_name label name (go_sql_* metrics). It panics if name is already
// registered.
func (m *Metrics) RegisterDBStats(name string, db *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// RegisterGauge exports a gauge read from f at each scrape (heepr_<name>).
func (m *Metrics) RegisterGauge(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, f))
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Middleware measures every request passing through next: count, latency
// and in-flight gauge. The route label is whatever inner code recorded with
// SetRoute (typically the ServeMux pattern, see TagRoute), or "unmatched".
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Inc()
		defer m.inFlight.Dec()

		start := time.Now()
		holder := new(requestNotes)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey, holder)))
		m.observe(r.Method, holder, rec.code(), start)
	})
}

// observe counts a finished request. Out of Middleware's frame, which stays
// on the stack while a long-poll waits.
//
//go:noinline
func (m *Metrics) observe(method string, holder *requestNotes, code int, start time.Time) {
	route := unmatchedRoute
	if p := holder.route.Load(); p != nil && *p != "" {
		route = *p
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
}

// SetRoute records the matched route pattern for the request whose context
// (or a descendant of it) is ctx, so that Metrics.Middleware, which runs
// outside the router, can label the request with it. It is a no-op outside
// Middleware.
func SetRoute(ctx context.Context, pattern string) {
	if h, ok := ctx.Value(routeKey).(*requestNotes); ok {
		h.route.Store(&pattern)
	}
}

// RouteFrom returns the route pattern recorded with SetRoute, or "".
func RouteFrom(ctx context.Context) string {
	if h, ok := ctx.Value(routeKey).(*requestNotes); ok {
		if p := h.route.Load(); p != nil {
			return *p
		}
	}
	return ""
}

// requestNotes is what inner code tells Middleware (and the request log
// inside it) about a request: one allocation and one context value per
// request, however many notes there are.
type requestNotes struct {
	route atomic.Pointer[string]
	quiet atomic.Bool
}

// SetQuiet marks the request's answer as routine (an agent's poll that
// found nothing new): the request log writes it at Debug. A no-op outside
// Middleware.
func SetQuiet(ctx context.Context) {
	if h, ok := ctx.Value(routeKey).(*requestNotes); ok {
		h.quiet.Store(true)
	}
}

// Quiet reports whether SetQuiet was called for the request.
func Quiet(ctx context.Context) bool {
	h, ok := ctx.Value(routeKey).(*requestNotes)
	return ok && h.quiet.Load()
}

// TagRoute calls SetRoute with r.Pattern before calling next. Wrap handlers
// registered on a ServeMux (or the mux's routed handlers) with it, since the
// pattern is only set on the request the mux passes inward.
func TagRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r.Context(), r.Pattern)
		next.ServeHTTP(w, r)
	})
}

// statusRecorder captures the response status code. It keeps http.Flusher
// and exposes Unwrap for http.ResponseController.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 && code >= 200 { // ignore 1xx informational responses
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (s *statusRecorder) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap returns the wrapped ResponseWriter for http.ResponseController.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}
