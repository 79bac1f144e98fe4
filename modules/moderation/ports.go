package moderation

import (
	"context"
	"time"

	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/moderation/domain"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering"
)

// Cases keeps cases and reinstatement requests. Lookups report kernel.ErrNotFound.
type Cases interface {
	// InsertCase adds a case unless one on the same subject is open (false then).
	InsertCase(ctx context.Context, c domain.Case) (bool, error)
	Case(ctx context.Context, id string, lock bool) (domain.Case, error)
	// Resolve writes the resolution of a case still open (else kernel.ErrConflict "case-resolved").
	Resolve(ctx context.Context, c domain.Case) error
	Cases(ctx context.Context, f CaseFilter) ([]domain.Case, error)
	// AgentCases lists an agent's cases newest first.
	AgentCases(ctx context.Context, agentID string, limit int) ([]domain.Case, error)
	// LastOpened is when the newest case on the subject was opened (zero: never).
	LastOpened(ctx context.Context, subject string) (time.Time, error)

	// InsertRequest reports a second open request for the agent as kernel.ErrConflict.
	InsertRequest(ctx context.Context, r domain.ReinstatementRequest) error
	Request(ctx context.Context, id string) (domain.ReinstatementRequest, error)
	OpenRequest(ctx context.Context, agentID string) (domain.ReinstatementRequest, error)
	// DecideRequest records a decision on a request still open (else kernel.ErrConflict).
	DecideRequest(ctx context.Context, r domain.ReinstatementRequest) error
	Requests(ctx context.Context, status, after string, limit int) ([]domain.ReinstatementRequest, error)
}

// CaseFilter selects cases, oldest first.
type CaseFilter struct {
	Status   string
	Reason   string
	OpenedBy time.Time // zero: any
	AgentID  string
	After    string // id
	Limit    int
}

// Orders is what moderation needs of ordering.
type Orders interface {
	Dispute(ctx context.Context, p kernel.Principal, id, reason, details string) (ordering.Order, error)
	SettleDispute(ctx context.Context, id string, r ordering.Resolution) (ordering.Settled, error)
	RefundAgentOrders(ctx context.Context, agentID string, working bool, why string) (int, error)
	AgentSuspended(ctx context.Context, agentID, reason string) error
	AgentReinstated(ctx context.Context, agentID, reason string) error
	MissedDeadlines(ctx context.Context, agentID string, since time.Time, min int) ([]ordering.AgentCount, error)
	ReviewActivity(ctx context.Context, since time.Time) ([]ordering.ReviewerActivity, error)
	CaseFile(ctx context.Context, id string) (ordering.CaseFile, error)
}

// Agents is what moderation needs of the marketplace.
type Agents interface {
	Agent(ctx context.Context, id string) (marketplace.AgentRecord, error)
	Suspend(ctx context.Context, id string) (marketplace.AgentRecord, error)
	Reinstate(ctx context.Context, id string) (marketplace.AgentRecord, error)
}

// Users is what moderation needs of identity.
type Users interface {
	SetSuspended(ctx context.Context, id kernel.UserID, on bool, reason string) (identity.Standing, error)
	SignedUpAt(ctx context.Context, ids []kernel.UserID) (map[kernel.UserID]time.Time, error)
}

// Ledger is what a case file shows of the points.
type Ledger interface {
	OrderPostings(ctx context.Context, order string) ([]ledger.OrderPosting, error)
	PaidOut(ctx context.Context, order string) (bool, error)
	Credit(ctx context.Context, user kernel.UserID, amount kernel.Points, memo, effectKey string) (ledger.PostingView, error)
}

// Notifier tells users (in the app and by email) and the support address.
type Notifier interface {
	Notify(ctx context.Context, n notification.Notice) error
	NotifySupport(ctx context.Context, tag, subject, body string) error
}

// Deps are the modules trust and safety acts through (Connect).
type Deps struct {
	Cases    Cases
	Orders   Orders
	Agents   Agents
	Users    Users
	Ledger   Ledger
	Notifier Notifier
}
