package httpapi

import (
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestWaitSeconds: announced waits are whole seconds rounded up, never
// negative, never more than a day: the longest duration (what a limiter
// that can never grant answers, rate.InfDuration) used to overflow into a
// negative Retry-After.
func TestWaitSeconds(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    time.Duration
		want int64
	}{
		{-time.Second, 0},
		{0, 0},
		{time.Nanosecond, 1},
		{time.Second, 1},
		{1500 * time.Millisecond, 2},
		{maxWait - time.Nanosecond, 86400},
		{maxWait, 86400},
		{maxWait + time.Second, 86400},
		{rate.InfDuration, 86400},
		{math.MaxInt64, 86400},
	} {
		if got := waitSeconds(c.d); got != c.want {
			t.Errorf("waitSeconds(%v) = %d, want %d", c.d, got, c.want)
		}
	}

	// The headers a 429 carries, for the longest wait there is.
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/v1/orders", nil)
	setRateHeaders(w.Header(), 10, 60, 0, rate.InfDuration)
	writeProblem(w, r, problem{Status: http.StatusTooManyRequests, Code: "rate-limited", RetryAfter: rate.InfDuration})
	if got := w.Header().Get("Retry-After"); got != "86400" {
		t.Errorf("Retry-After = %q, want 86400", got)
	}
	if got := w.Header().Get("RateLimit"); got != "limit=10, remaining=0, reset=86400" {
		t.Errorf("RateLimit = %q", got)
	}
}
