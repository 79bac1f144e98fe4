package telemetry

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fakeConnector struct{}

func (fakeConnector) Connect(context.Context) (driver.Conn, error) { return nil, errors.New("fake") }
func (fakeConnector) Driver() driver.Driver                        { return fakeDriver{} }

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return nil, errors.New("fake") }

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rr := httptest.NewRecorder()
	m.Handler().ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rr.Code)
	body, err := io.ReadAll(rr.Body)
	require.NoError(t, err)
	return string(body)
}

func TestMetricsMiddleware(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	mux := http.NewServeMux()
	mux.Handle("GET /things/{id}", TagRoute(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "GET /things/{id}", RouteFrom(r.Context()))
		_, ok := w.(http.Flusher)
		require.True(t, ok, "Flusher preserved")
		require.NoError(t, http.NewResponseController(w).Flush())
		w.WriteHeader(http.StatusCreated)
	})))
	h := m.Middleware(mux)

	for _, path := range []string{"/things/1", "/things/2", "/nope"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}

	body := scrape(t, m)
	// Flush before WriteHeader commits 200, as net/http would.
	require.Contains(t, body, `heepr_http_requests_total{method="GET",route="GET /things/{id}",status="200"} 2`)
	require.Contains(t, body, `heepr_http_requests_total{method="GET",route="unmatched",status="404"} 1`)
	require.Contains(t, body, `heepr_http_request_duration_seconds_count{method="GET",route="GET /things/{id}"} 2`)
	require.Contains(t, body, "heepr_http_in_flight_requests 0")
	require.Contains(t, body, "go_goroutines")
}

func TestStatusRecorder(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	mux := http.NewServeMux()
	mux.Handle("POST /items", TagRoute(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("ok"))
	})))
	m.Middleware(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/items", nil))
	require.Contains(t, scrape(t, m), `heepr_http_requests_total{method="POST",route="POST /items",status="201"} 1`)
}

func TestJobsAndDBStats(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	m.ObserveJob("email", "completed", 1500*time.Millisecond)
	db := sql.OpenDB(fakeConnector{})
	t.Cleanup(func() { _ = db.Close() })
	m.RegisterDBStats("main", db)

	body := scrape(t, m)
	require.Contains(t, body, `heepr_jobs_total{kind="email",state="completed"} 1`)
	require.Contains(t, body, `heepr_job_duration_seconds_sum{kind="email"} 1.5`)
	require.Contains(t, body, `go_sql_open_connections{db_name="main"} 0`)
	require.Contains(t, body, `go_sql_max_open_connections{db_name="main"} 0`)
}

func TestSetRouteOutsideMiddleware(t *testing.T) {
	t.Parallel()
	SetRoute(t.Context(), "GET /x") // no-op, must not panic
	require.Empty(t, RouteFrom(t.Context()))
}
