package domain

import (
	"time"

	"github.com/heepr/heepr/modules/kernel"
)

// Session is a server-side browser session. Only a hash of its id is stored.
type Session struct {
	IDHash     string
	UserID     kernel.UserID
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry
}

// SessionPolicy sets how long sessions live.
type SessionPolicy struct {
	Idle     time.Duration // ends after this long unused
	Absolute time.Duration // ends this long after sign-in, used or not
	// TouchEvery bounds how often last-seen is written (one write per
	// session per interval, not per request).
	TouchEvery time.Duration
}

// Valid reports whether the session may still be used at now.
func (p SessionPolicy) Valid(s Session, now time.Time) bool {
	return now.Before(s.ExpiresAt) && now.Before(s.LastSeenAt.Add(p.Idle))
}

// NeedsTouch reports whether last-seen is stale enough to be written.
func (p SessionPolicy) NeedsTouch(s Session, now time.Time) bool {
	return now.Sub(s.LastSeenAt) >= p.TouchEvery
}

// PersonalToken is a bearer token a user made for scripts. Only its HMAC is stored.
type PersonalToken struct {
	ID         string
	UserID     kernel.UserID
	Name       string
	Hash       string
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}
