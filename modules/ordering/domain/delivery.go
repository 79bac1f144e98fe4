package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/kernel"
)

// Delivery statuses.
const (
	DeliveryInReview = "in_review" // waiting for the owner
	DeliveryRejected = "rejected"  // sent back to the agent by the owner
	DeliveryReleased = "released"  // shown to the customer
)

// Delivery limits.
const (
	MaxDeliveryFiles = 10
	MaxNoteLen       = 5000
	MaxFileNameLen   = 200
)

// Timing rules of the second half of an order's life.
const (
	// LateCancelAfter is how long past its deadline an undelivered order
	// may be cancelled by the customer alone.
	LateCancelAfter = 24 * time.Hour
	// ReviewReminderAfter and ReviewEscalationAfter: a delivery waiting for
	// the owner's review this long gets a reminder to the owner, then a
	// case for support.
	ReviewReminderAfter   = 24 * time.Hour
	ReviewEscalationAfter = 72 * time.Hour
	// DefaultReviewWindow is how long a delivered order waits for the
	// customer before it completes by itself (HEEPR_REVIEW_WINDOW).
	DefaultReviewWindow = 72 * time.Hour
)

// Delivery is one numbered hand-in of an order's work.
type Delivery struct {
	ID         string
	OrderID    string
	Version    int
	Status     string
	Message    string
	Files      []File
	RejectNote string
	CreatedAt  time.Time
	ReviewedAt time.Time
}

// File is one delivered file, stored privately under BlobKey.
type File struct {
	ID          string
	DeliveryID  string
	OrderID     string
	Name        string
	Size        int64
	SHA256      string
	ContentType string
	BlobKey     string
	CreatedAt   time.Time
}

// Revision is one revision the customer asked for.
type Revision struct {
	Number        int       `json:"number"`
	Notes         string    `json:"notes"`
	UnmetCriteria []string  `json:"unmet_criteria"`
	RequestedAt   time.Time `json:"requested_at"`
}

// FileTypes are the content types a delivered file may have, as sniffed
// from its first bytes (net/http's sniffer), by prefix.
var FileTypes = []string{"text/", "image/", "audio/", "video/", "application/pdf", "application/zip",
	"application/x-gzip", "application/json", "application/ogg", "font/"}

// FileTypeAllowed reports whether a sniffed content type may be delivered.
func FileTypeAllowed(contentType string) bool {
	return slices.ContainsFunc(FileTypes, func(p string) bool { return strings.HasPrefix(contentType, p) })
}

// CleanFileName keeps a file's base name, without path separators or
// control characters, at most MaxFileNameLen bytes; "file" when nothing is left.
func CleanFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, strings.TrimSpace(name))
	for len(name) > MaxFileNameLen {
		_, size := lastRune(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == ".." {
		return "file"
	}
	return name
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, 1
}

func (o *Order) notIn(want Status, action string) error {
	return kernel.Conflict("order-not-"+strings.ReplaceAll(string(want), "_", "-"),
		"the order is %s; %s needs it %s", o.Status, action, want)
}

// Deliver hands a delivery to the owner's review: in_progress → in_review.
// The review's time is kept apart from the agent's deadline.
func (o *Order) Deliver(now time.Time) error {
	if o.Status != InProgress {
		return o.notIn(InProgress, "delivering")
	}
	o.OnTime = !now.After(o.Deadline)
	o.Status, o.ReviewStartedAt, o.UpdatedAt = InReview, now, now
	return nil
}

// endReview adds the time the delivery waited for the owner to the deadline.
func (o *Order) endReview(now time.Time) {
	if !o.ReviewStartedAt.IsZero() && now.After(o.ReviewStartedAt) {
		o.Deadline = o.Deadline.Add(now.Sub(o.ReviewStartedAt))
	}
	o.ReviewStartedAt, o.ReviewReminded, o.ReviewEscalated = time.Time{}, false, false
}

// Release shows the delivery to the customer: in_review → delivered; the
// customer's review window starts now.
func (o *Order) Release(now time.Time) error {
	if o.Status != InReview {
		return o.notIn(InReview, "releasing a delivery")
	}
	o.endReview(now)
	o.Status, o.DeliveredAt, o.UpdatedAt = Delivered, now, now
	return nil
}

// Reject sends the delivery back to the agent: in_review → in_progress.
// It is not a revision.
func (o *Order) Reject(now time.Time) error {
	if o.Status != InReview {
		return o.notIn(InReview, "rejecting a delivery")
	}
	o.endReview(now)
	o.Status, o.UpdatedAt = InProgress, now
	return nil
}

// ReviewWindowEnds is when a delivered order completes by itself.
func (o *Order) ReviewWindowEnds(window time.Duration) time.Time { return o.DeliveredAt.Add(window) }

// Complete is the customer's acceptance, or the review window running out
// (auto): delivered → completed.
func (o *Order) Complete(now time.Time, window time.Duration, auto bool) error {
	if o.Status != Delivered {
		return o.notIn(Delivered, "completing")
	}
	if auto && now.Before(o.ReviewWindowEnds(window)) {
		return kernel.Conflict("review-window-open", "the customer may answer until %s", o.ReviewWindowEnds(window).UTC().Format(time.RFC3339))
	}
	o.Status, o.CompletedAt, o.UpdatedAt = Completed, now, now
	return nil
}

// RequestRevision sends delivered work back with the customer's notes and
// the acceptance criteria it does not meet: delivered → in_progress, one
// free revision used, a new deadline of half the delivery days (at least a
// day) from now.
func (o *Order) RequestRevision(now time.Time, notes string, unmet []string) error {
	var f kernel.Fields
	notes = strings.TrimSpace(notes)
	textField(&f, "notes", notes, 1, MaxNoteLen)
	if len(unmet) == 0 {
		f.Add("unmet_criteria", "name at least one acceptance criterion the work does not meet")
	}
	seen := map[string]bool{}
	var clean []string
	for i, c := range unmet {
		c = strings.TrimSpace(c)
		if !slices.Contains(o.Criteria, c) {
			f.Add(fmt.Sprintf("unmet_criteria[%d]", i), "is not one of the order's acceptance criteria")
			continue
		}
		if !seen[c] {
			seen[c] = true
			clean = append(clean, c)
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	if o.Status != Delivered {
		return o.notIn(Delivered, "a revision")
	}
	if o.RevisionsLeft <= 0 {
		return kernel.Conflict("no-revisions-left", "this order has no free revisions left; flag it if the work is not what was agreed")
	}
	o.RevisionsLeft--
	o.Revisions = append(o.Revisions, Revision{Number: len(o.Revisions) + 1, Notes: notes, UnmetCriteria: clean, RequestedAt: now})
	o.Status, o.DeliveredAt, o.Late, o.UpdatedAt = InProgress, time.Time{}, false, now
	o.Deadline = now.Add(RevisionTurnaround(o.DeliveryDays))
	return nil
}

// RevisionTurnaround is the time a revision gets: half the delivery days,
// at least one day.
func RevisionTurnaround(deliveryDays int) time.Duration {
	return time.Duration(max(1, (deliveryDays+1)/2)) * 24 * time.Hour
}

// MarkLate records that an order in progress passed its deadline
// (once); it reports whether it did.
func (o *Order) MarkLate(now time.Time) bool {
	if o.Status != InProgress || o.Late || !now.After(o.Deadline) {
		return false
	}
	o.Late, o.UpdatedAt = true, now
	return true
}

// Cancel is the customer's cancellation: any time before approval, or
// LateCancelAfter past the deadline of an order still in progress. The
// caller refunds in full.
func (o *Order) Cancel(now time.Time) error {
	switch {
	case o.Status == PendingApproval:
		o.Status, o.CancelReason, o.UpdatedAt = Cancelled, CancelWithdrawn, now
		return nil
	case o.Status == InProgress && !now.Before(o.Deadline.Add(LateCancelAfter)):
		o.Status, o.CancelReason, o.UpdatedAt = Cancelled, CancelLate, now
		return nil
	case o.Status == InProgress:
		return kernel.Conflict("cancel-not-allowed", "an order in progress may be cancelled from %s, 24 hours past its deadline",
			o.Deadline.Add(LateCancelAfter).UTC().Format(time.RFC3339))
	default:
		return kernel.Conflict("cancel-not-allowed", "an order that is %s cannot be cancelled; flag it if something is wrong", o.Status)
	}
}

// Review is a customer's review of a completed order.
type Review struct {
	ID           string
	OrderID      string
	AgentID      string
	CustomerID   kernel.UserID
	CustomerName string
	Rating       int
	Text         string
	Reply        string
	RepliedAt    time.Time
	CreatedAt    time.Time
}

// ValidateReview checks a new review's rating and text.
func ValidateReview(rating int, text string) (string, error) {
	var f kernel.Fields
	if rating < 1 || rating > 5 {
		f.Add("rating", "must be 1 to 5 stars")
	}
	text = strings.TrimSpace(text)
	textField(&f, "text", text, 0, MaxNoteLen)
	return text, f.Err()
}

// Reply records the owner's one answer to a review.
func (r *Review) SetReply(now time.Time, text string) error {
	var f kernel.Fields
	text = strings.TrimSpace(text)
	textField(&f, "text", text, 1, MaxNoteLen)
	if err := f.Err(); err != nil {
		return err
	}
	if r.Reply != "" {
		return kernel.Conflict("already-replied", "you have already answered this review")
	}
	r.Reply, r.RepliedAt = text, now
	return nil
}
