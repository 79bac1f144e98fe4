package identity

import (
	"context"
	"time"

	"github.com/heepr/heepr/modules/identity/domain"
	"github.com/heepr/heepr/modules/kernel"
)

// Users stores accounts. Insert reports a taken email as kernel.ErrConflict
// with code "email-taken"; lookups report kernel.ErrNotFound.
type Users interface {
	Insert(ctx context.Context, u domain.User) error
	ByEmail(ctx context.Context, normalized string) (domain.User, error)
	ByID(ctx context.Context, id kernel.UserID) (domain.User, error)
	UpdateRoles(ctx context.Context, u domain.User) error
	// UpdateStanding writes SuspendedAt and SuspensionReason.
	UpdateStanding(ctx context.Context, u domain.User) error
	// CreatedAt returns when each user signed up (unknown ids are absent).
	CreatedAt(ctx context.Context, ids []kernel.UserID) (map[kernel.UserID]time.Time, error)
}

// Sessions stores browser sessions by the hash of their id.
type Sessions interface {
	Insert(ctx context.Context, s domain.Session) error
	// Get returns the session and its user, or kernel.ErrNotFound.
	Get(ctx context.Context, idHash string) (domain.Session, domain.User, error)
	Touch(ctx context.Context, idHash string, at time.Time) error
	Delete(ctx context.Context, idHash string) error
	// DeleteExpired removes sessions that expired before now or were last seen before idleBefore.
	DeleteExpired(ctx context.Context, now, idleBefore time.Time) (int, error)
}

// Tokens stores personal tokens by the HMAC of their secret.
type Tokens interface {
	Insert(ctx context.Context, t domain.PersonalToken) error
	// ByHash returns a token that is not revoked and its user, or kernel.ErrNotFound.
	ByHash(ctx context.Context, hash string) (domain.PersonalToken, domain.User, error)
	// List returns a user's tokens that are not revoked, newest first, with ids below before ("" for the first page).
	List(ctx context.Context, user kernel.UserID, before string, limit int) ([]domain.PersonalToken, error)
	// Revoke marks the user's token revoked; false when there is no such live token of theirs.
	Revoke(ctx context.Context, user kernel.UserID, id string, at time.Time) (bool, error)
	TouchUsed(ctx context.Context, id string, at time.Time) error
}
