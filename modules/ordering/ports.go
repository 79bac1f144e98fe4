package ordering

import (
	"context"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// Store keeps conversations, messages, quotes and orders. Lookups report
// kernel.ErrNotFound. A lock=true read locks the row until the
// transaction ends (Postgres; SQLite transactions are serial anyway).
type Store interface {
	InsertConversation(ctx context.Context, c Conversation) error
	Conversation(ctx context.Context, id string, lock bool) (Conversation, error)
	// Touch records activity in a conversation (it sorts first in lists);
	// humanRequested sets (non-nil) or keeps the flag, clearHuman clears it.
	TouchConversation(ctx context.Context, id string, at time.Time, humanRequested *time.Time, clearHuman bool) error
	Conversations(ctx context.Context, f ListFilter) ([]Conversation, error)

	InsertMessage(ctx context.Context, m Message) error
	Messages(ctx context.Context, conversationID, after string, limit int) ([]Message, error)

	InsertQuote(ctx context.Context, q Quote) error
	Quote(ctx context.Context, id string, lock bool) (Quote, error)
	// Quotes lists a conversation's quotes newest first, with ids below before ("" for the newest).
	Quotes(ctx context.Context, conversationID, before string, limit int) ([]Quote, error)
	DecideQuote(ctx context.Context, q Quote) error

	// InsertOrder reports a second order for the same quote as
	// kernel.ErrConflict with code "quote-already-accepted".
	InsertOrder(ctx context.Context, o domain.Order) error
	Order(ctx context.Context, id string, lock bool) (domain.Order, error)
	// SaveOrder writes an order's new state if it is still in status from;
	// kernel.ErrConflict otherwise.
	SaveOrder(ctx context.Context, o domain.Order, from domain.Status) error
	Orders(ctx context.Context, f ListFilter) ([]domain.Order, error)
	// ActiveOrders counts the agent's orders being worked on (in_progress, in_review).
	ActiveOrders(ctx context.Context, agentID string) (int, error)
	// OrdersDue lists orders a periodic job must look at (see Due), oldest first.
	OrdersDue(ctx context.Context, due Due, by time.Time, limit int) ([]string, error)
	// AgentOrders lists the agent's orders in any of the statuses, oldest first.
	AgentOrders(ctx context.Context, agentID string, statuses []domain.Status) ([]string, error)
	// MissedDeadlines counts per agent (one agent, or all with at least
	// min) the orders marked late whose deadline fell at or after since.
	MissedDeadlines(ctx context.Context, agentID string, since time.Time, min int) ([]AgentCount, error)
	// ReviewActivity lists who reviewed since the time (see ReviewerActivity).
	ReviewActivity(ctx context.Context, since time.Time) ([]ReviewerActivity, error)

	// InsertDelivery adds a delivery and its files (a version taken by a
	// concurrent delivery is kernel.ErrConflict).
	InsertDelivery(ctx context.Context, d domain.Delivery) error
	// Deliveries lists an order's deliveries with their files, oldest first.
	Deliveries(ctx context.Context, orderID string) ([]domain.Delivery, error)
	Delivery(ctx context.Context, id string) (domain.Delivery, error)
	SaveDelivery(ctx context.Context, d domain.Delivery) error
	File(ctx context.Context, id string) (domain.File, error)

	// InsertReview adds a review (a second one for the order is kernel.ErrConflict).
	InsertReview(ctx context.Context, r domain.Review) error
	Review(ctx context.Context, id string, lock bool) (domain.Review, error)
	ReviewOf(ctx context.Context, orderID string) (domain.Review, error)
	// SaveReply writes the reply of a review that has none (else kernel.ErrConflict).
	SaveReply(ctx context.Context, r domain.Review) error
	AgentReviews(ctx context.Context, agentID, before string, limit int) ([]domain.Review, error)
}

// AgentCount is a number per agent.
type AgentCount struct {
	AgentID string `bun:"agent_id"`
	N       int    `bun:"n"`
}

// ReviewerActivity is one customer's recent reviews of one owner's agents,
// and the number of owners the customer ever ordered from.
type ReviewerActivity struct {
	CustomerID kernel.UserID `bun:"customer_id"`
	OwnerID    kernel.UserID `bun:"owner_id"`
	Reviews    int           `bun:"reviews"`
	Owners     int           `bun:"owners"`
}

// Due names what a periodic job looks for.
type Due string

// What periodic jobs look for.
const (
	DueApproval   Due = "approval"   // pending approval, created at or before a time
	DueLate       Due = "late"       // in progress, past the deadline, not marked late
	DueReminder   Due = "reminder"   // in the owner's review since a time, owner not reminded
	DueEscalation Due = "escalation" // in the owner's review since a time, support not told
	DueCompletion Due = "completion" // delivered since a time
)

// ListFilter selects the conversations or orders a principal sees: those
// of the customer, of the owner's agents, or of one agent.
type ListFilter struct {
	Customer kernel.UserID // "" for none
	Owner    kernel.UserID // "" for none
	AgentID  string        // "" for none
	Status   domain.Status // orders only; "" for any
	// HumanRequested keeps, for conversations only, those where the customer
	// waits for the owner (true) or does not (false); nil keeps both.
	HumanRequested *bool
	After          *Position // keyset position (newest first)
	Limit          int
}

// Position is a keyset position in a newest-first list.
type Position struct {
	Key int64  `json:"k,omitempty"` // conversations: last activity (µs)
	ID  string `json:"i"`
}

// Events keeps each agent's event feed.
type Events interface {
	// LockFeed creates the agent's feed if needed and locks it until the
	// transaction ends: every change that appends an event for the agent
	// takes it first, so such changes are serial per agent.
	LockFeed(ctx context.Context, agentID string) error
	// Append adds an event with the agent's next seq and wakes its
	// long-polls once the transaction commits.
	Append(ctx context.Context, agentID, typ string, data map[string]any, at time.Time) (int64, error)
	Feed(ctx context.Context, agentID string) (domain.Feed, error)
	// Take returns up to limit events after acked whose seq is above cursor
	// or whose lease ended by now, oldest first, and leases them until
	// leaseUntil (counting the hand-out).
	Take(ctx context.Context, agentID string, acked, cursor int64, now, leaseUntil time.Time, limit int) ([]domain.Event, error)
	// Ack raises the agent's acknowledged seq to upTo (never lowers it).
	Ack(ctx context.Context, agentID string, upTo int64) error
	// Purge deletes events created before the time, up to limit of them.
	Purge(ctx context.Context, before time.Time, limit int) (int, error)
}

// Waiter lets a long-poll wait for an agent's next event without holding
// a database connection (the wake hub). Reliable reports whether every
// event written is signalled to this process (it is then told through
// Service.Invalidate and InvalidateAll), so feeds may be cached.
type Waiter interface {
	Subscribe(agentID string) (ch <-chan struct{}, cancel func())
	Reliable() bool
}

// Agents is what ordering needs of the marketplace. The Record* calls
// update an agent's public figures inside ordering's transaction (ADR 6).
type Agents interface {
	Agent(ctx context.Context, id string) (marketplace.AgentRecord, error)
	Public(ctx context.Context, idOrHandle string) (marketplace.AgentRecord, error)
	RecordPoll(ctx context.Context, agentID string) error
	RecordCompletion(ctx context.Context, agentID string, onTime bool) error
	RecordMissedDeadline(ctx context.Context, agentID string) error
	RecordReview(ctx context.Context, agentID string, rating int) error
}

// Ledger moves an order's points (ADR 6 names these calls).
type Ledger interface {
	Hold(ctx context.Context, order string, customer kernel.UserID, amount kernel.Points) error
	Refund(ctx context.Context, order string, customer, owner kernel.UserID, amount kernel.Points) (ledger.Settlement, error)
	Payout(ctx context.Context, order string, owner kernel.UserID) (ledger.Settlement, error)
	RefundAfterPayout(ctx context.Context, order string, customer, owner kernel.UserID, amount kernel.Points, src ledger.RefundSource) (kernel.Points, error)
	PaidOut(ctx context.Context, order string) (bool, error)
	ReviewReward(ctx context.Context, order string, reviewer kernel.UserID) (kernel.Points, error)
}

// Notifier records in-app notifications (each also emailed by a job) and
// emails the support address.
type Notifier interface {
	Notify(ctx context.Context, n notification.Notice) error
	NotifySupport(ctx context.Context, tag, subject, body string) error
}

// People finds a user's display name and current roles.
type People interface {
	Contact(ctx context.Context, id kernel.UserID) (email, name string, err error)
	Roles(ctx context.Context, id kernel.UserID) ([]kernel.Role, error)
}
