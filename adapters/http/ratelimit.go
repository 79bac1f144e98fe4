package httpapi

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"golang.org/x/time/rate"

	"github.com/heepr/heepr/modules/kernel"
)

// Limit is a token bucket: Burst requests at once, refilled at PerMinute.
// A Limit with PerMinute or Burst at zero limits nothing.
type Limit struct {
	PerMinute float64
	Burst     int
}

func (l Limit) on() bool { return l.PerMinute > 0 && l.Burst > 0 }

// The limits of production (ADR 14). An agent runtime polls every few
// seconds, and a long-poll returns early only when there are events, so
// it polls a few times a minute; a loop without a pause polls hundreds of
// times a second. The defaults sit about ten times above the first and
// stop the second within a second.
const (
	// DefaultMaxHeldPolls is how many pollAgentEvents requests one agent
	// may have in flight at once.
	DefaultMaxHeldPolls = 3
	// DefaultStreamIdle is how long an upload or a download may go without
	// moving a byte before the connection is closed.
	DefaultStreamIdle = time.Minute
	// StreamMax is the longest an upload or a download may last at all.
	StreamMax = time.Hour
)

// DefaultWriteLimit limits writes (every /v1 operation but GET and HEAD)
// per principal, and per client IP for anonymous callers: 300 a minute,
// 100 at once.
func DefaultWriteLimit() Limit { return Limit{PerMinute: 300, Burst: 100} }

// DefaultPollLimit limits pollAgentEvents per agent: 120 a minute, 60 at
// once (a backlog of 60 full pages drains without a pause).
func DefaultPollLimit() Limit { return Limit{PerMinute: 120, Burst: 60} }

// bucketKey names one bucket: what is limited, by what, for whom
// ("signIn", "ip", "127.0.0.1"). Three strings, so that naming a bucket
// allocates nothing.
type bucketKey struct{ what, by, id string }

// limiter keeps one bucket per key. Buckets live in this process: with
// several API nodes each enforces its own share.
type limiter struct {
	mu      sync.Mutex
	buckets map[bucketKey]*rate.Limiter
	swept   time.Time
}

func newLimiter() *limiter { return &limiter{buckets: map[bucketKey]*rate.Limiter{}} }

// allow takes one token from key's bucket, or says how long to wait.
func (l *limiter) allow(key bucketKey, lim Limit, now time.Time) (ok bool, remaining int, wait time.Duration) {
	if !lim.on() {
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

// check applies a limit and, when it is exceeded, returns the error to
// answer (a 429 with Retry-After). Either way the answer carries the
// RateLimit and RateLimit-Policy headers of the bucket.
func (s *Server) check(w http.ResponseWriter, key bucketKey, lim Limit) error {
	if !lim.on() {
		return nil
	}
	ok, remaining, wait := s.limits.allow(key, lim, s.clock.Now())
	setRateHeaders(w.Header(), lim.Burst, int(60*float64(lim.Burst)/lim.PerMinute), remaining, wait)
	if !ok {
		return kernel.RateLimited(wait)
	}
	return nil
}

// setRateHeaders writes RateLimit ("limit=10, remaining=3, reset=0") and
// RateLimit-Policy ("10;w=60": the quota and the seconds it takes to refill).
//
//go:noinline
func setRateHeaders(h http.Header, limit, window, remaining int, wait time.Duration) {
	b := make([]byte, 0, 64)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, ";w="...)
	b = strconv.AppendInt(b, int64(window), 10)
	n := len(b)
	b = append(b, "limit="...)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, ", remaining="...)
	b = strconv.AppendInt(b, int64(remaining), 10)
	b = append(b, ", reset="...)
	b = strconv.AppendInt(b, waitSeconds(wait), 10)
	s := string(b)
	h["Ratelimit-Policy"] = []string{s[:n]}
	h["Ratelimit"] = []string{s[n:]}
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

// pollSlots counts each agent's polls in flight.
type pollSlots struct {
	mu   sync.Mutex
	held map[string]int
}

// take holds one of agent's max slots; false when all are held.
func (p *pollSlots) take(agent string, max int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held[agent] >= max {
		return false
	}
	p.held[agent]++
	return true
}

func (p *pollSlots) give(agent string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held[agent] <= 1 {
		delete(p.held, agent)
		return
	}
	p.held[agent]--
}

// errTooManyPolls answers a poll beyond the agent's held polls. A held poll
// ends within 30 s, and any event ends all of them at once.
func errTooManyPolls(max int) error {
	e := kernel.New(kernel.ErrRateLimited, "too-many-polls",
		"this agent already has %d polls waiting; poll again when one of them has answered", max)
	e.RetryAfter = time.Second
	return e
}

// limitRequests applies the rate limits before the body is read or
// validated, so a refused request costs little and does nothing: the
// operation's own limit per client IP (sign-up, sign-in), the write limit
// per principal (per IP for anonymous callers), and for an agent's poll the
// poll limit and the cap on polls in flight, whose slot is given back when
// the poll ends, however it ends.
func (s *Server) limitRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agent, ok := s.admitRate(w, r)
		if !ok {
			return
		}
		if agent != "" {
			defer s.polls.give(agent)
		}
		next.ServeHTTP(w, r)
	})
}

// admitRate is limitRequests' work: false when it answered (429); agent is
// the agent whose poll slot it took, if any. Out of the middleware's frame,
// which stays on the stack while a long-poll waits (ADR 13).
//
//go:noinline
func (s *Server) admitRate(w http.ResponseWriter, r *http.Request) (agent string, ok bool) {
	op := operationID(r.Context())
	if op == "" {
		return "", true // no such operation: the validator answers 404 or 405
	}
	p := principalFrom(r.Context())
	var err error
	if !readOnly(r.Method) {
		key := bucketKey{what: "write"}
		switch {
		case p.Method == kernel.AuthAgent:
			key.by, key.id = "agent", p.AgentID
		case p.UserID != "":
			key.by, key.id = "user", string(p.UserID)
		default:
			key.by, key.id = "ip", clientIP(r)
		}
		err = s.check(w, key, s.writeLimit)
	}
	if lim, found := s.rateLimits[op]; found && err == nil {
		err = s.check(w, bucketKey{what: op, by: "ip", id: clientIP(r)}, lim)
	}
	if op == "pollAgentEvents" && p.Method == kernel.AuthAgent && err == nil {
		err = s.check(w, bucketKey{what: "poll", by: "agent", id: p.AgentID}, s.pollLimit)
		if err == nil && s.maxHeldPolls > 0 {
			if !s.polls.take(p.AgentID, s.maxHeldPolls) {
				h := w.Header()
				if h.Get("RateLimit") == "" {
					setRateHeaders(h, s.maxHeldPolls, 1, 0, time.Second)
				}
				err = errTooManyPolls(s.maxHeldPolls)
			} else {
				agent = p.AgentID
			}
		}
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return "", false
	}
	return agent, true
}

// operationID is the operation nameRoute found for the request ("" for
// none), read as streamsBody and bodyLimit read it.
func operationID(ctx context.Context) string {
	op, _ := ctx.Value(routeOpKey{}).(*openapi3.Operation)
	if op == nil {
		return ""
	}
	return op.OperationID
}
