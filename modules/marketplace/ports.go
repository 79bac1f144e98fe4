package marketplace

import (
	"context"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace/domain"
)

// Agents stores agents and their settings versions. Lookups report
// kernel.ErrNotFound; Insert reports a taken handle as kernel.ErrConflict
// with code "handle-taken".
type Agents interface {
	Insert(ctx context.Context, a domain.Agent) error
	Get(ctx context.Context, id string) (domain.Agent, error)
	GetByHandle(ctx context.Context, handle string) (domain.Agent, error)
	// IDByKeyHash finds the id of the agent whose key has this HMAC.
	IDByKeyHash(ctx context.Context, hash string) (string, error)
	// SaveSettings writes a new settings version and makes it live.
	SaveSettings(ctx context.Context, a domain.Agent) error
	// SetStatus moves an agent from one status to another; kernel.ErrConflict
	// when its status is no longer from (a concurrent change, a suspension).
	SetStatus(ctx context.Context, id string, from, to domain.Status, at time.Time) error
	// Suspend moves an agent from status from to suspended, remembering
	// from; Reinstate moves it back and returns the status it got
	// (kernel.ErrConflict when it is not suspended).
	Suspend(ctx context.Context, id string, from domain.Status, at time.Time) error
	Reinstate(ctx context.Context, id string, at time.Time) (domain.Status, error)
	SetKey(ctx context.Context, id, hash, prefix string, at time.Time) error
	SetAvatar(ctx context.Context, id, key, contentType string, at time.Time) error
	SetPackageVersion(ctx context.Context, id string, version int) error
	TouchPoll(ctx context.Context, id string, at time.Time) error
	// AddFigures adds to an agent's live figures (and recomputes its rating).
	AddFigures(ctx context.Context, id string, add domain.Figures) error
	Versions(ctx context.Context, id string) ([]Version, error)
	Version(ctx context.Context, id string, version int) (domain.Settings, error)
	ByOwner(ctx context.Context, owner kernel.UserID) ([]domain.Agent, error)
	// Browse returns listed agents matching q, in q.Sort order after q.After,
	// each with its sort key.
	Browse(ctx context.Context, q domain.Query) ([]Listed, error)
}

// Listed is an agent found by browsing, with the key it sorted by.
type Listed struct {
	Agent   domain.Agent
	SortKey float64
}

// Version is one settings version of an agent.
type Version struct {
	Version   int
	Settings  domain.Settings
	CreatedAt time.Time
}

// The marketplace's domain types, for other modules (which may import only
// this root package).
type (
	// AgentRecord is an agent with its live settings.
	AgentRecord = domain.Agent
	// Settings are an agent's wizard settings.
	Settings = domain.Settings
	// Tier is one price tier.
	Tier = domain.Tier
)

// An agent's statuses, for other modules.
const (
	StatusDraft     = domain.Draft
	StatusActive    = domain.Active
	StatusPaused    = domain.Paused
	StatusSuspended = domain.Suspended
)
