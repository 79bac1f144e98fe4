package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/api/client"
)

// fakeHeepr answers pollAgentEvents from a script of responses.
type fakeHeepr struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	polls   int
	acks    []string
}

func (f *fakeHeepr) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/v1/agent/events":
		f.polls++
		if len(f.answers) == 0 {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"items":[],"next_cursor":"0","poll_after_seconds":15}`)
			return
		}
		a := f.answers[0]
		f.answers = f.answers[1:]
		a(w)
	case "/v1/agent/events/ack":
		var body struct {
			UpTo string `json:"up_to"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.acks = append(f.acks, body.UpTo)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

func problem(status int, retryAfter string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"type":"https://heepr.dev/problems/x","title":"`+http.StatusText(status)+`","status":`+strconv.Itoa(status)+`}`)
	}
}

func events(body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

func newTestAgent(t *testing.T, srv *httptest.Server, wait int) (*Agent, *[]time.Duration, context.Context, context.CancelFunc) {
	t.Helper()
	skill := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(skill, "skill.json"),
		[]byte(`{"schema_version":1,"agent_id":"a1","handle":"h","base_url":"`+srv.URL+`"}`), 0o600))
	a, err := New(Config{SkillDir: skill, Exec: "true", Key: "hpr_agent_test", Wait: wait, MaxBackoff: 8 * time.Second},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var slept []time.Duration
	a.sleep = func(c context.Context, d time.Duration) error {
		slept = append(slept, d)
		if len(slept) >= 6 {
			cancel()
		}
		return c.Err()
	}
	return a, &slept, ctx, cancel
}

func TestBacksOffOnErrorsAndHonoursRetryAfter(t *testing.T) {
	f := &fakeHeepr{answers: []func(http.ResponseWriter){
		problem(http.StatusInternalServerError, ""),
		problem(http.StatusInternalServerError, ""),
		problem(http.StatusTooManyRequests, "7"),
		problem(http.StatusBadGateway, ""),
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a, slept, ctx, cancel := newTestAgent(t, srv, 0)
	defer cancel()
	require.ErrorIs(t, a.Run(ctx), context.Canceled)
	s := *slept
	require.Len(t, s, 6)
	within := func(d, want time.Duration) {
		t.Helper()
		require.InDelta(t, float64(want), float64(d), float64(want)*0.21, "%v ≈ %v", d, want)
	}
	within(s[0], time.Second)   // first error
	within(s[1], 2*time.Second) // second, doubled
	require.Equal(t, 7*time.Second, s[2], "a 429's Retry-After when it is longer than the backoff")
	within(s[3], 8*time.Second) // fourth error: 8 s, capped at MaxBackoff
	require.Equal(t, 15*time.Second, s[4], "after a success: the cadence (poll_after_seconds) when not long-polling")
	require.Equal(t, 15*time.Second, s[5])
}

func TestStopsWhenTheKeyIsRefused(t *testing.T) {
	f := &fakeHeepr{answers: []func(http.ResponseWriter){problem(http.StatusUnauthorized, "")}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a, slept, ctx, cancel := newTestAgent(t, srv, 0)
	defer cancel()
	err := a.Run(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), "HTTP 401")
	require.Empty(t, *slept, "no retry with a refused key")
}

func TestHandledEventsAreSkippedAndAcknowledged(t *testing.T) {
	page := `{"items":[{"id":"1","type":"quote.declined","created_at":"2026-11-29T10:00:00Z","redelivered":false,"data":{}},` +
		`{"id":"2","type":"settings.changed","created_at":"2026-11-29T10:00:00Z","redelivered":false,"data":{}}],` +
		`"next_cursor":"2","poll_after_seconds":0}`
	again := `{"items":[{"id":"2","type":"settings.changed","created_at":"2026-11-29T10:00:00Z","redelivered":true,"data":{}}],` +
		`"next_cursor":"2","poll_after_seconds":0}`
	f := &fakeHeepr{answers: []func(http.ResponseWriter){events(page), events(again)}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	a, _, ctx, cancel := newTestAgent(t, srv, 1)
	defer cancel()

	_, err := a.step(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), a.st.Handled)
	// The state survives a restart.
	b, err := New(a.cfg, a.log)
	require.NoError(t, err)
	require.Equal(t, state{Cursor: "2", Handled: 2}, b.st)
	// A redelivered event already handled is acknowledged, not handled again.
	_, err = b.step(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"2", "2"}, f.acks)
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second, 7: time.Minute, 40: time.Minute} {
		d := backoff(n, time.Minute)
		require.GreaterOrEqual(t, d, time.Duration(float64(want)*0.8), n)
		require.LessOrEqual(t, d, time.Duration(float64(want)*1.2), n)
	}
}

// A customer's message is answered with the quote --quote-exec prints; a
// conversation with a quote waiting gets none.
func TestQuotesFromACommand(t *testing.T) {
	var mu sync.Mutex
	var sent []map[string]any
	quotes := `{"items":[]}`
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/conversations/c1/quotes", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, quotes)
	})
	mux.HandleFunc("GET /v1/conversations/c1/messages", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"items":[{"id":"m1","conversation_id":"c1","author_kind":"customer","body":"A logo for my bakery","created_at":"2026-11-29T10:00:00Z"}]}`)
	})
	mux.HandleFunc("POST /v1/conversations/c1/quotes", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		mu.Lock()
		sent = append(sent, body)
		quotes = `{"items":[{"id":"q1","status":"sent"}]}`
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	a, _, ctx, cancel := newTestAgent(t, srv, 1)
	defer cancel()
	// The command sees the conversation and prints a quote (no expiry: a week is added).
	a.cfg.QuoteExec = `grep -q bakery "$HEEPR_CONVERSATION_FILE" && echo '{"title":"Bakery logo","description":"Three directions.","price":150,"delivery_days":3,"revisions":2,"category":"design","criteria":["SVG files"]}'`
	ev := func() error {
		return a.handle(ctx, mustEvent(t, `{"id":"5","type":"message.created","created_at":"2026-11-29T10:00:00Z","redelivered":false,"data":{"conversation_id":"c1","author_kind":"customer"}}`))
	}
	require.NoError(t, ev())
	require.Len(t, sent, 1)
	require.Equal(t, "Bakery logo", sent[0]["title"])
	require.EqualValues(t, 150, sent[0]["price"])
	exp, err := time.Parse(time.RFC3339, sent[0]["expires_at"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(7*24*time.Hour), exp, time.Minute)
	require.NoError(t, ev(), "a second message while the quote waits")
	require.Len(t, sent, 1, "no second quote")
}

func mustEvent(t *testing.T, raw string) client.AgentEvent {
	t.Helper()
	var ev client.AgentEvent
	require.NoError(t, json.Unmarshal([]byte(raw), &ev))
	return ev
}
