package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/webhooks/domain"
)

func TestRetrySchedule(t *testing.T) {
	t.Parallel()
	// Attempts on time: the first at once, then 30 s, 2 min, 10 min, 30 min,
	// 1 h, 2 h, 4 h, 8 h after the one before, and the tenth a day after the first.
	require.Equal(t, []time.Duration{
		0,
		30 * time.Second,
		2*time.Minute + 30*time.Second,
		12*time.Minute + 30*time.Second,
		42*time.Minute + 30*time.Second,
		time.Hour + 42*time.Minute + 30*time.Second,
		3*time.Hour + 42*time.Minute + 30*time.Second,
		7*time.Hour + 42*time.Minute + 30*time.Second,
		15*time.Hour + 42*time.Minute + 30*time.Second,
		24 * time.Hour,
	}, domain.Schedule())
	require.Len(t, domain.Schedule(), domain.MaxAttempts)
}

func TestNextAttempt(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		last     time.Time
		attempts int
		want     time.Time
		ok       bool
	}{
		{"after the first", first, 1, first.Add(30 * time.Second), true},
		{"measured from the last attempt, late or not", first.Add(time.Minute), 2, first.Add(3 * time.Minute), true},
		{"after the eighth", first.Add(7 * time.Hour), 8, first.Add(15 * time.Hour), true},
		{"the last comes a day after the first", first.Add(16 * time.Hour), 9, first.Add(24 * time.Hour), true},
		{"a late ninth still leaves a minute", first.Add(24 * time.Hour), 9, first.Add(24*time.Hour + time.Minute), true},
		{"none after the tenth", first.Add(24 * time.Hour), 10, time.Time{}, false},
		{"none before the first", first, 0, time.Time{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, ok := domain.NextAttempt(first, c.last, c.attempts)
			require.Equal(t, c.ok, ok)
			require.Equal(t, c.want, got)
		})
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]domain.Outcome{
		200: domain.Delivered, 201: domain.Delivered, 204: domain.Delivered, 299: domain.Delivered,
		410: domain.Gone,
		0:   domain.Failed, 199: domain.Failed, 301: domain.Failed, 302: domain.Failed, 400: domain.Failed,
		401: domain.Failed, 404: domain.Failed, 429: domain.Failed, 500: domain.Failed, 503: domain.Failed,
	} {
		require.Equal(t, want, domain.Judge(status), "status %d", status)
	}
}

// A delivery walks the schedule: pending with its next attempt after each
// failure, failed after the tenth; a 2xx delivers, a 410 ends it at once.
func TestDeliveryRecord(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	d := domain.Delivery{ID: "d", State: domain.StatePending, CreatedAt: first}
	at := first
	for n := 1; n <= domain.MaxAttempts; n++ {
		d.Attempts = n
		d = d.Record(domain.Failed, 500, "HTTP 500", at)
		require.Equal(t, 500, d.LastStatus)
		require.Equal(t, at, *d.LastAttemptAt)
		if n == domain.MaxAttempts {
			require.Equal(t, domain.StateFailed, d.State)
			require.Nil(t, d.NextAttemptAt)
			require.Equal(t, 24*time.Hour, at.Sub(first), "the last attempt comes a day after the first")
			break
		}
		require.Equal(t, domain.StatePending, d.State)
		require.Equal(t, domain.Schedule()[n], d.NextAttemptAt.Sub(first))
		at = *d.NextAttemptAt
	}

	ok := domain.Delivery{State: domain.StatePending, Attempts: 3, CreatedAt: first, LastError: "HTTP 500"}.
		Record(domain.Delivered, 204, "", first.Add(time.Hour))
	require.Equal(t, domain.StateDelivered, ok.State)
	require.Equal(t, first.Add(time.Hour), *ok.DeliveredAt)
	require.Empty(t, ok.LastError)
	require.Nil(t, ok.NextAttemptAt)

	gone := domain.Delivery{State: domain.StatePending, Attempts: 1, CreatedAt: first}.Record(domain.Gone, 410, "HTTP 410", first)
	require.Equal(t, domain.StateFailed, gone.State)
	require.Nil(t, gone.NextAttemptAt)
}

// An endpoint is disabled by a 410 at once, or by failures without a
// success for DisableAfter; a success in between starts the count again.
func TestEndpointHealth(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	e := domain.Endpoint{AgentID: "a"}.Register("https://hooks.example.com/", "whsec_x", t0)

	e, off := e.Failed(domain.Failed, t0)
	require.False(t, off)
	require.Equal(t, t0, *e.FailingSince)
	e, off = e.Failed(domain.Failed, t0.Add(domain.DisableAfter-time.Second))
	require.False(t, off)
	require.Equal(t, 2, e.ConsecutiveFailures)

	healed := e.Succeeded()
	require.Nil(t, healed.FailingSince)
	require.Zero(t, healed.ConsecutiveFailures)
	healed, off = healed.Failed(domain.Failed, t0.Add(domain.DisableAfter))
	require.False(t, off, "the day counts from the first failure after the last success")

	e, off = e.Failed(domain.Failed, t0.Add(domain.DisableAfter))
	require.True(t, off)
	require.False(t, e.Enabled())
	require.Equal(t, domain.DisabledFailing, e.DisabledReason)

	gone, off := domain.Endpoint{AgentID: "a"}.Register("https://x.example.com/", "whsec_x", t0).Failed(domain.Gone, t0)
	require.True(t, off)
	require.Equal(t, domain.DisabledGone, gone.DisabledReason)
	require.Equal(t, t0, *gone.DisabledAt)
}
