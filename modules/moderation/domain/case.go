package domain

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heepr/heepr/modules/kernel"
)

// Case kinds: opened by a customer's flag or by an automatic signal.
const (
	KindFlag   = "flag"
	KindSignal = "signal"
)

// Signal reasons (a flag's reasons are the ordering module's).
const (
	SignalMissedDeadlines = "missed_deadlines" // MissedDeadlineLimit or more in MissedDeadlineWindow
	SignalReviewStalled   = "review_stalled"   // an owner review waiting past the escalation time
	SignalReviewCluster   = "review_cluster"   // new accounts whose only activity is reviewing one owner's agents
)

// Case statuses.
const (
	CaseOpen     = "open"
	CaseResolved = "resolved"
)

// Resolution actions.
const (
	ActionRefund  = "refund"
	ActionDismiss = "dismiss"
)

// Signal thresholds (PRODUCT.md §6).
const (
	MissedDeadlineLimit  = 3
	MissedDeadlineWindow = 30 * 24 * time.Hour
	// NewAccountAge: accounts younger than this count toward a review cluster.
	NewAccountAge = 7 * 24 * time.Hour
	// ClusterSize is how many such accounts reviewing one owner's agents make a cluster.
	ClusterSize = 3
	// MaxNote is the longest a support note or reason may be (characters).
	MaxNote = 2000
	// MaxReinstatementMessage is the longest an owner's request may be.
	MaxReinstatementMessage = 5000
)

// Case is something support must look at.
type Case struct {
	ID         string
	Kind       string
	Reason     string
	Status     string
	Subject    string // what it is about: at most one open case per subject
	Details    string
	OrderID    string
	AgentID    string
	OwnerID    kernel.UserID
	FlaggedBy  kernel.UserID
	OpenedAt   time.Time
	ResolvedAt time.Time
	Resolution *Resolution
}

// Resolution is how support closed a case.
type Resolution struct {
	Action     string        `json:"action"`
	Note       string        `json:"note"`
	ResolvedBy string        `json:"resolved_by"`
	Refunded   kernel.Points `json:"refunded"`
	FromEscrow kernel.Points `json:"from_escrow"`
	ClawedBack kernel.Points `json:"clawed_back"`
	Goodwill   kernel.Points `json:"goodwill"`
	ToOwner    kernel.Points `json:"to_owner"`
}

// Subjects: one open case each.
func FlagSubject(orderID string) string { return "flag:order:" + orderID }
func MissedDeadlinesSubject(agentID string) string {
	return SignalMissedDeadlines + ":agent:" + agentID
}
func ReviewStalledSubject(orderID string) string { return SignalReviewStalled + ":order:" + orderID }
func ReviewClusterSubject(owner kernel.UserID) string {
	return SignalReviewCluster + ":owner:" + string(owner)
}

// Reasons lists every case reason.
var Reasons = []string{"missed_deadline", "off_scope", "policy_violation", "other",
	SignalMissedDeadlines, SignalReviewStalled, SignalReviewCluster}

// Text checks a required free text of at most max characters and trims it.
func Text(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > max {
		return "", kernel.Invalid(kernel.FieldError{Field: field, Detail: "must be 1 to " + strconv.Itoa(max) + " characters"})
	}
	return s, nil
}

// Details checks optional free text of at most max characters.
func Details(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		return "", kernel.Invalid(kernel.FieldError{Field: field, Detail: "must be at most " + strconv.Itoa(max) + " characters"})
	}
	return s, nil
}

// CheckResolution validates support's decision on a case.
func CheckResolution(c Case, action string, amount kernel.Points, source string) error {
	if c.Status != CaseOpen {
		return kernel.Conflict("case-resolved", "the case is already resolved")
	}
	var f kernel.Fields
	switch action {
	case ActionDismiss:
		if amount != 0 {
			f.Add("refund_amount", "is for refunds only")
		}
		if source != "" {
			f.Add("refund_source", "is for refunds only")
		}
	case ActionRefund:
		if amount < 0 {
			f.Add("refund_amount", "must be a positive number of points")
		}
		if source != "" && !slices.Contains([]string{"owner_clawback", "platform_goodwill"}, source) {
			f.Add("refund_source", "must be owner_clawback or platform_goodwill")
		}
	default:
		f.Add("action", "must be refund or dismiss")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if action == ActionRefund && c.Kind != KindFlag {
		return kernel.Conflict("case-not-refundable", "only a flagged order can be refunded through its case; suspend the agent to refund its orders")
	}
	return nil
}

// Reinstatement request statuses.
const (
	RequestOpen     = "open"
	RequestGranted  = "granted"
	RequestDeclined = "declined"
)

// ReinstatementRequest is an owner's request to lift an agent's suspension.
type ReinstatementRequest struct {
	ID           string
	AgentID      string
	AgentHandle  string
	OwnerID      kernel.UserID
	Message      string
	Status       string
	CreatedAt    time.Time
	DecidedAt    time.Time
	DecidedBy    string
	DecisionNote string
}
