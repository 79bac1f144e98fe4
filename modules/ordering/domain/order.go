package domain

import (
	"slices"
	"time"

	"github.com/heepr/heepr/modules/kernel"
)

// Status is an order's place in its life cycle.
type Status string

// Order statuses.
const (
	PendingApproval Status = "pending_approval"
	InProgress      Status = "in_progress"
	InReview        Status = "in_review"
	Delivered       Status = "delivered"
	Completed       Status = "completed"
	Disputed        Status = "disputed"
	Cancelled       Status = "cancelled"
	Refunded        Status = "refunded"
)

// Statuses lists every order status.
var Statuses = []Status{PendingApproval, InProgress, InReview, Delivered, Completed, Disputed, Cancelled, Refunded}

// transitions is the order state machine (PRODUCT.md §4):
//   - pending_approval: the owner approves (or auto mode starts it), declines, or it expires.
//   - in_progress: the agent delivers for the owner's review; the customer flags it or cancels
//     alone 24 h past the deadline.
//   - in_review: the owner releases it or rejects it back to the agent.
//   - delivered: the customer accepts, asks for a revision, or flags it; silence completes it.
//   - disputed: support settles it: a refund, or a dismissal that sends it
//     back where it was (dispute.go).
//   - completed: flagged for a policy violation within 14 days.
//   - any open order: refunded by support when its agent is suspended.
//   - cancelled, refunded are terminal.
var transitions = map[Status][]Status{
	PendingApproval: {InProgress, Cancelled, Refunded},
	InProgress:      {InReview, Disputed, Cancelled, Refunded},
	InReview:        {Delivered, InProgress, Disputed, Refunded},
	Delivered:       {Completed, InProgress, Disputed, Refunded},
	Disputed:        {InProgress, InReview, Delivered, Completed, Refunded},
	Completed:       {Disputed},
	Cancelled:       nil,
	Refunded:        nil,
}

// CanTransition reports whether an order may move from one status to another.
func CanTransition(from, to Status) bool {
	return slices.Contains(transitions[from], to)
}

// Terminal reports whether no move leaves s.
func (s Status) Terminal() bool { return len(transitions[s]) == 0 }

// Why an order was cancelled.
const (
	CancelDeclined  = "declined"  // the owner declined it
	CancelExpired   = "expired"   // nobody approved it within ApprovalWindow
	CancelWithdrawn = "withdrawn" // the customer cancelled it before it was approved
	CancelLate      = "late"      // the customer cancelled it LateCancelAfter past its deadline
)

// ApprovalWindow is how long an order waits for the owner before it expires.
const ApprovalWindow = 48 * time.Hour

// Order is work a customer bought from an agent. Price, revisions and the
// settings version are a snapshot taken at acceptance; later settings
// changes never touch them.
type Order struct {
	ID              string
	QuoteID         string
	ConversationID  string
	CustomerID      kernel.UserID
	AgentID         string
	AgentHandle     string
	OwnerID         kernel.UserID
	Status          Status
	Price           kernel.Points
	Title           string
	Description     string
	Criteria        []string
	Category        string
	DeliveryDays    int
	FreeRevisions   int // free revisions agreed (the snapshot)
	RevisionsLeft   int
	SettingsVersion int
	PackageVersion  int
	AcceptMode      string
	GateReasons     []string // why it waits for the owner; empty when it started at once
	CancelReason    string   // one of the Cancel* reasons once cancelled
	CreatedAt       time.Time
	StartedAt       time.Time // zero until in_progress
	Deadline        time.Time // zero until in_progress; moves by the time spent in the owner's review
	UpdatedAt       time.Time

	ReviewStartedAt time.Time // while in_review: when the delivery reached the owner
	DeliveredAt     time.Time // when the latest delivery was released to the customer
	CompletedAt     time.Time
	Late            bool // marked past its deadline without a delivery
	OnTime          bool // the released delivery was made by the deadline
	Revisions       []Revision
	ReviewReminded  bool // the owner was reminded of a delivery waiting for review
	ReviewEscalated bool // support was told of a review stalled too long

	DisputedFrom   Status        // while disputed: the status it was flagged in
	DisputedAt     time.Time     // while disputed: when it was flagged
	RefundedPoints kernel.Points // once refunded by support: what the customer got back

	ReviewID string // the customer's review of the order, once written (read with the order, never saved with it)
}

// NewOrder builds the order for an accepted quote. The acceptance gate
// (terms, the agent's activeOrders in progress) decides whether it starts at
// once, with its deadline, or waits in pending_approval.
func NewOrder(q Quote, customer kernel.UserID, agentID string, terms AgentTerms, activeOrders int, now time.Time) (Order, error) {
	if q.Status != QuoteAccepted {
		return Order{}, kernel.Conflict("quote-not-accepted", "an order is made only from an accepted quote")
	}
	o := Order{
		ID:              kernel.NewID(),
		QuoteID:         q.ID,
		ConversationID:  q.ConversationID,
		CustomerID:      customer,
		AgentID:         agentID,
		Status:          PendingApproval,
		Price:           q.Price,
		Title:           q.Title,
		Description:     q.Description,
		Criteria:        slices.Clone(q.Criteria),
		Category:        q.Category,
		DeliveryDays:    q.DeliveryDays,
		FreeRevisions:   q.Revisions,
		RevisionsLeft:   q.Revisions,
		SettingsVersion: terms.SettingsVersion,
		PackageVersion:  terms.PackageVersion,
		AcceptMode:      terms.AcceptMode,
		CreatedAt:       now,
		UpdatedAt:       now,
	}
	start, reasons := Gate(terms, q, activeOrders)
	if start {
		if err := o.Start(now); err != nil {
			return Order{}, err
		}
	} else {
		o.GateReasons = reasons
	}
	return o, nil
}

func (o *Order) notPending() error {
	return kernel.Conflict("order-not-pending", "the order is %s, not waiting for approval", o.Status)
}

// Start moves a pending order to in_progress and sets its deadline to now
// plus its delivery days (auto mode inside the bands, or the owner's approval).
func (o *Order) Start(now time.Time) error {
	if o.Status != PendingApproval {
		return o.notPending()
	}
	o.Status = InProgress
	o.StartedAt = now
	o.Deadline = now.Add(time.Duration(o.DeliveryDays) * 24 * time.Hour)
	o.UpdatedAt = now
	return nil
}

// Approve is the owner's approval of a pending order: it starts now.
func (o *Order) Approve(now time.Time) error { return o.Start(now) }

// Decline is the owner's refusal of a pending order; the caller refunds in full.
func (o *Order) Decline(now time.Time) error {
	if o.Status != PendingApproval {
		return o.notPending()
	}
	o.Status, o.CancelReason, o.UpdatedAt = Cancelled, CancelDeclined, now
	return nil
}

// Expire cancels a pending order nobody approved within ApprovalWindow; the
// caller refunds in full.
func (o *Order) Expire(now time.Time) error {
	if o.Status != PendingApproval {
		return o.notPending()
	}
	if !ApprovalExpired(*o, now) {
		return kernel.Conflict("approval-not-expired", "the order may be approved until %s", ApprovalDeadline(o.CreatedAt).UTC().Format(time.RFC3339))
	}
	o.Status, o.CancelReason, o.UpdatedAt = Cancelled, CancelExpired, now
	return nil
}

// ApprovalDeadline is when an order created at createdAt expires unapproved.
func ApprovalDeadline(createdAt time.Time) time.Time { return createdAt.Add(ApprovalWindow) }

// ApprovalExpired reports whether o still waits for approval at or past its deadline.
func ApprovalExpired(o Order, now time.Time) bool {
	return o.Status == PendingApproval && !now.Before(ApprovalDeadline(o.CreatedAt))
}
