package webhooks

import (
	"context"
	"net/netip"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/webhooks/domain"
)

// Store keeps endpoints and their deliveries. Lookups report
// kernel.ErrNotFound.
type Store interface {
	// Endpoint reads an agent's endpoint, locking its row until the
	// transaction ends with lock (Postgres).
	Endpoint(ctx context.Context, agentID string, lock bool) (domain.Endpoint, error)
	// SaveEndpoint inserts or replaces the agent's endpoint.
	SaveEndpoint(ctx context.Context, e domain.Endpoint) error
	// DeleteEndpoint deletes the agent's endpoint and its deliveries.
	DeleteEndpoint(ctx context.Context, agentID string) error

	// InsertDelivery adds a pending delivery, queued (a job is enqueued
	// with it) until queuedUntil.
	InsertDelivery(ctx context.Context, d domain.Delivery, queuedUntil time.Time) error
	// ClaimDelivery starts an attempt of a pending delivery that is due by
	// now: it counts the attempt and moves the next one to leaseUntil (so
	// no one else takes it meanwhile). false when it is not due.
	ClaimDelivery(ctx context.Context, id string, now, leaseUntil time.Time) (domain.Delivery, bool, error)
	// SaveAttempt writes the outcome of the delivery's attempt d.Attempts
	// if that attempt still holds the lease its claim took (leaseUntil):
	// false when it was recorded already, or the delivery was claimed again
	// or failed meanwhile.
	SaveAttempt(ctx context.Context, d domain.Delivery, leaseUntil time.Time) (bool, error)
	// FailPending marks the agent's pending deliveries failed with the reason.
	FailPending(ctx context.Context, agentID, reason string) (int, error)
	// QueueDue lists up to limit pending deliveries due by now that no job
	// is queued for, and marks them queued until queuedUntil.
	QueueDue(ctx context.Context, now, queuedUntil time.Time, limit int) ([]string, error)
	// Deliveries lists the agent's deliveries newest first, with ids below
	// before ("" for the newest).
	Deliveries(ctx context.Context, agentID, before string, limit int) ([]domain.Delivery, error)
	// Purge deletes up to limit finished deliveries created before the time.
	Purge(ctx context.Context, before time.Time, limit int) (int, error)
}

// Agents is what webhooks need of the marketplace.
type Agents interface {
	// Owned returns one of p's agents; anyone else's answers not found.
	Owned(ctx context.Context, p kernel.Principal, id string) (marketplace.AgentRecord, error)
	Agent(ctx context.Context, id string) (marketplace.AgentRecord, error)
}

// Notifier tells an owner their endpoint was disabled.
type Notifier interface {
	Notify(ctx context.Context, n notification.Notice) error
}

// Response is what a receiver answered.
type Response struct {
	Status int    // the HTTP status
	Body   string // the start of the body, for the delivery log
}

// Sender reaches receivers. It never connects to an address the policy
// refuses (checked again when it dials, so a name that resolves
// differently later gains nothing), follows no redirects, and gives up
// after a few seconds.
type Sender interface {
	// Resolve returns the addresses of a host name.
	Resolve(ctx context.Context, host string) ([]netip.Addr, error)
	// Post sends body as JSON with the headers; an error means no answer.
	Post(ctx context.Context, url string, header map[string]string, body []byte) (Response, error)
}
