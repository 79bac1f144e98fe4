package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/identity/domain"
)

func TestSessionPolicy(t *testing.T) {
	t.Parallel()
	p := domain.SessionPolicy{Idle: time.Hour, Absolute: 24 * time.Hour, TouchEvery: time.Minute}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fresh := domain.Session{CreatedAt: start, LastSeenAt: start, ExpiresAt: start.Add(p.Absolute)}
	// Used a moment ago, but close to the absolute end.
	old := domain.Session{CreatedAt: start, LastSeenAt: start.Add(23*time.Hour + 30*time.Minute), ExpiresAt: start.Add(p.Absolute)}

	valid := []struct {
		name string
		s    domain.Session
		now  time.Time
		want bool
	}{
		{"at sign-in", fresh, start, true},
		{"just before idle timeout", fresh, start.Add(time.Hour - time.Nanosecond), true},
		{"at idle timeout", fresh, start.Add(time.Hour), false},
		{"after idle timeout", fresh, start.Add(2 * time.Hour), false},
		{"recently used, just before absolute expiry", old, start.Add(p.Absolute - time.Nanosecond), true},
		{"recently used, at absolute expiry", old, start.Add(p.Absolute), false},
		{"recently used, after absolute expiry", old, start.Add(p.Absolute + time.Second), false},
	}
	for _, c := range valid {
		require.Equal(t, c.want, p.Valid(c.s, c.now), "Valid: %s", c.name)
	}

	touch := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"same instant", start, false},
		{"just before TouchEvery", start.Add(time.Minute - time.Nanosecond), false},
		{"at TouchEvery", start.Add(time.Minute), true},
		{"after TouchEvery", start.Add(10 * time.Minute), true},
		{"clock behind last-seen", start.Add(-time.Second), false},
	}
	for _, c := range touch {
		require.Equal(t, c.want, p.NeedsTouch(fresh, c.now), "NeedsTouch: %s", c.name)
	}
}
