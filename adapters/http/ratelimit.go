package httpapi

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/heepr/heepr/modules/kernel"
)

// Limit is a token bucket: Burst requests at once, refilled at PerMinute.
type Limit struct {
	PerMinute float64
	Burst     int
}

// limiter keeps one bucket per key ("signIn|ip|127.0.0.1"). Buckets live in
// this process: with several API nodes each enforces its own share.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

func newLimiter() *limiter { return &limiter{buckets: map[string]*rate.Limiter{}} }

// allow takes one token from key's bucket, or says how long to wait.
func (l *limiter) allow(key string, lim Limit, now time.Time) (ok bool, remaining int, wait time.Duration) {
	if lim.PerMinute <= 0 {
		return true, 0, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute && len(l.buckets) > 10_000 {
		l.sweep(now)
	}
	b, found := l.buckets[key]
	if !found {
		b = rate.NewLimiter(rate.Limit(lim.PerMinute/60), lim.Burst)
		l.buckets[key] = b
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, 0, d
	}
	return true, int(b.TokensAt(now)), 0
}

// sweep drops full buckets: they carry no information.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}

// check applies a limit and, when it is exceeded, returns the error to answer.
func (s *Server) check(w http.ResponseWriter, key string, lim Limit) error {
	ok, remaining, wait := s.limits.allow(key, lim, s.clock.Now())
	w.Header().Set("RateLimit-Policy", strconv.Itoa(lim.Burst)+";w="+strconv.Itoa(int(60*float64(lim.Burst)/lim.PerMinute)))
	w.Header().Set("RateLimit", "limit="+strconv.Itoa(lim.Burst)+", remaining="+strconv.Itoa(remaining)+
		", reset="+strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	if !ok {
		return kernel.RateLimited(wait)
	}
	return nil
}

// clientIP is the peer address. heepr does not trust X-Forwarded-For by
// default; behind a proxy, limits apply to the proxy's address.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
