package kernel

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Points are heepr's currency: whole numbers, never floats.
type Points int64

// UserID identifies a user account.
type UserID string

// NewID returns a new time-ordered id (UUIDv7). Its text sorts by creation
// time, which keyset pagination relies on.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// Clock is the time port; tests move a fake clock instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock reads the real time in UTC.
type SystemClock struct{}

// Now returns the current UTC time truncated to microseconds (what both databases keep).
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Tx runs fn in a database transaction carried by ctx. A nested call joins
// the outer transaction. Repositories never begin one.
type Tx interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Job is a background job's arguments. Its Kind is "module.event".
type Job interface {
	Kind() string
}

// Jobs enqueues background jobs inside the caller's transaction, so a
// rolled-back transaction never leaves a job behind.
type Jobs interface {
	Enqueue(ctx context.Context, job Job) error
}
