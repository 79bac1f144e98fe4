package domain

import (
	"slices"
	"time"

	"github.com/heepr/heepr/modules/kernel"
)

// Flag reasons a customer may give (PRODUCT.md §6).
const (
	FlagMissedDeadline  = "missed_deadline"
	FlagOffScope        = "off_scope"
	FlagPolicyViolation = "policy_violation"
	FlagOther           = "other"
)

// FlagReasons lists the reasons above.
var FlagReasons = []string{FlagMissedDeadline, FlagOffScope, FlagPolicyViolation, FlagOther}

// Dispute rules.
const (
	// FlagAfterCompletion is how long after completion an order may still
	// be flagged, for a policy violation only.
	FlagAfterCompletion = 14 * 24 * time.Hour
	// MaxFlagDetails is the longest a flag's details may be (characters).
	MaxFlagDetails = 5000
)

// flaggable are the statuses a flag may come from at any time.
var flaggable = []Status{InProgress, InReview, Delivered}

// Flag puts an order in dispute at the customer's request: its payout is
// frozen and its clocks stop until support settles it (Resume, Refund).
func (o *Order) Flag(now time.Time, reason string) error {
	if !slices.Contains(FlagReasons, reason) {
		return kernel.Invalid(kernel.FieldError{Field: "reason", Detail: "must be one of missed_deadline, off_scope, policy_violation, other"})
	}
	switch {
	case o.Status == Disputed:
		return kernel.Conflict("case-open", "the order is already disputed; support is on it")
	case slices.Contains(flaggable, o.Status):
	case o.Status == Completed && reason != FlagPolicyViolation:
		return kernel.Conflict("flag-not-allowed", "a completed order may be flagged only for a policy violation")
	case o.Status == Completed && now.Sub(o.CompletedAt) > FlagAfterCompletion:
		return kernel.Conflict("flag-not-allowed", "a completed order may be flagged up to 14 days after it completed")
	case o.Status == Completed:
	default:
		return kernel.Conflict("flag-not-allowed", "the order is %s and cannot be flagged", o.Status)
	}
	o.DisputedFrom, o.DisputedAt, o.Status, o.UpdatedAt = o.Status, now, Disputed, now
	return nil
}

func (o *Order) notDisputed() error {
	return kernel.Conflict("order-not-disputed", "the order is %s, not disputed", o.Status)
}

// Resume ends a dispute without a refund: the order goes back where it was
// and every clock it had moves on by the time it spent disputed, so the
// dispute counts against nobody.
func (o *Order) Resume(now time.Time) error {
	if o.Status != Disputed {
		return o.notDisputed()
	}
	paused := max(now.Sub(o.DisputedAt), 0)
	shift := func(t *time.Time) {
		if !t.IsZero() {
			*t = t.Add(paused)
		}
	}
	switch o.DisputedFrom {
	case InProgress:
		shift(&o.Deadline)
	case InReview:
		shift(&o.Deadline)
		shift(&o.ReviewStartedAt)
	case Delivered:
		shift(&o.DeliveredAt)
	}
	o.Status, o.DisputedFrom, o.DisputedAt, o.UpdatedAt = o.DisputedFrom, "", time.Time{}, now
	return nil
}

// MaxRefund is the most a refund of the order may return: its price.
func (o *Order) MaxRefund() kernel.Points { return o.Price }

// SupportRefund ends the order as refunded on support's decision: a
// disputed order (a case), or one an agent's suspension ends. refunded is
// what the customer gets back (at most the price).
func (o *Order) SupportRefund(now time.Time, refunded kernel.Points) error {
	if refunded <= 0 || refunded > o.Price {
		return kernel.Invalid(kernel.FieldError{Field: "refund_amount", Detail: "must be between 1 and the order's price"})
	}
	if !CanTransition(o.Status, Refunded) {
		return kernel.Conflict("refund-not-allowed", "the order is %s and cannot be refunded", o.Status)
	}
	o.Status, o.RefundedPoints, o.DisputedFrom, o.DisputedAt, o.UpdatedAt = Refunded, refunded, "", time.Time{}, now
	return nil
}

// Open reports whether an order is still being worked on or waiting for
// work (what an agent's suspension may end).
func (s Status) Open() bool {
	return s == PendingApproval || s == InProgress || s == InReview || s == Delivered
}
