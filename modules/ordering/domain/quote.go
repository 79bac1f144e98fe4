package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/kernel"
)

// QuoteStatus is a quote's place in its life cycle.
type QuoteStatus string

// Quote statuses. A sent quote past its expiry counts as expired even
// before a job marks it.
const (
	QuoteSent     QuoteStatus = "sent"
	QuoteAccepted QuoteStatus = "accepted"
	QuoteDeclined QuoteStatus = "declined"
	QuoteExpired  QuoteStatus = "expired"
)

// Categories a quote may name (the marketplace's list).
var Categories = []string{"code", "design", "video", "writing", "audio", "data", "other"}

// Limits of a quote's fields.
const (
	MaxQuoteTitle                    = 120
	MaxQuoteDescription              = 5000
	MinPrice, MaxPrice               = 1, 1_000_000
	MinDeliveryDays, MaxDeliveryDays = 1, 90
	MaxRevisions                     = 10
	MinCriteria, MaxCriteria         = 1, 20
	MaxCriterionLen                  = 300
	MaxQuoteLifetime                 = 30 * 24 * time.Hour
)

// Quote is an agent's offer in a conversation.
type Quote struct {
	ID             string
	ConversationID string
	Title          string
	Description    string
	Price          kernel.Points
	DeliveryDays   int
	Revisions      int
	Category       string
	Criteria       []string
	ExpiresAt      time.Time
	Status         QuoteStatus
	CreatedAt      time.Time
	DecidedAt      time.Time // zero until accepted or declined
}

// Normalize trims the text fields and each criterion and lowercases the category.
func (q *Quote) Normalize() {
	q.Title = strings.TrimSpace(q.Title)
	q.Description = strings.TrimSpace(q.Description)
	q.Category = strings.ToLower(strings.TrimSpace(q.Category))
	for i := range q.Criteria {
		q.Criteria[i] = strings.TrimSpace(q.Criteria[i])
	}
}

// Validate checks every field of a new quote against now and reports all
// failures at once. Text is measured after trimming.
func (q Quote) Validate(now time.Time) error {
	var f kernel.Fields
	textField(&f, "title", strings.TrimSpace(q.Title), 1, MaxQuoteTitle)
	textField(&f, "description", strings.TrimSpace(q.Description), 1, MaxQuoteDescription)
	if q.Price < MinPrice || q.Price > MaxPrice {
		f.Add("price", fmt.Sprintf("must be %d to %d points", MinPrice, MaxPrice))
	}
	if q.DeliveryDays < MinDeliveryDays || q.DeliveryDays > MaxDeliveryDays {
		f.Add("delivery_days", fmt.Sprintf("must be %d to %d days", MinDeliveryDays, MaxDeliveryDays))
	}
	if q.Revisions < 0 || q.Revisions > MaxRevisions {
		f.Add("revisions", fmt.Sprintf("must be 0 to %d", MaxRevisions))
	}
	if !slices.Contains(Categories, strings.ToLower(strings.TrimSpace(q.Category))) {
		f.Add("category", "must be one of "+strings.Join(Categories, ", "))
	}
	if len(q.Criteria) < MinCriteria || len(q.Criteria) > MaxCriteria {
		f.Add("criteria", fmt.Sprintf("give %d to %d acceptance criteria", MinCriteria, MaxCriteria))
	}
	for i, c := range q.Criteria {
		textField(&f, fmt.Sprintf("criteria[%d]", i), strings.TrimSpace(c), 1, MaxCriterionLen)
	}
	switch {
	case q.ExpiresAt.IsZero():
		f.Add("expires_at", "is required")
	case !q.ExpiresAt.After(now):
		f.Add("expires_at", "must be in the future")
	case q.ExpiresAt.After(now.Add(MaxQuoteLifetime)):
		f.Add("expires_at", "must be at most 30 days ahead")
	}
	return f.Err()
}

// StatusAt is the quote's status as seen at now: a sent quote at or past
// its expiry is expired.
func (q Quote) StatusAt(now time.Time) QuoteStatus {
	if q.Status == QuoteSent && !now.Before(q.ExpiresAt) {
		return QuoteExpired
	}
	return q.Status
}

// open reports why a quote can no longer be decided, or nil.
func (q Quote) open(now time.Time) error {
	switch q.StatusAt(now) {
	case QuoteSent:
		return nil
	case QuoteAccepted:
		return kernel.Conflict("quote-already-accepted", "this quote has already been accepted")
	case QuoteDeclined:
		return kernel.Conflict("quote-declined", "this quote was declined; ask the agent for a new one")
	case QuoteExpired:
		return kernel.Conflict("quote-expired", "this quote expired at %s; ask the agent for a new one", q.ExpiresAt.UTC().Format(time.RFC3339))
	default:
		return kernel.Conflict("quote-not-open", "this quote is %q and cannot be decided", q.Status)
	}
}

// Accept marks a sent, unexpired quote accepted at now.
func (q *Quote) Accept(now time.Time) error {
	if err := q.open(now); err != nil {
		return err
	}
	q.Status, q.DecidedAt = QuoteAccepted, now
	return nil
}

// Decline marks a sent, unexpired quote declined at now.
func (q *Quote) Decline(now time.Time) error {
	if err := q.open(now); err != nil {
		return err
	}
	q.Status, q.DecidedAt = QuoteDeclined, now
	return nil
}
