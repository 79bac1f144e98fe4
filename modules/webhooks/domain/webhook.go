package domain

import (
	"encoding/json"
	"strconv"
	"time"
)

// Why an endpoint was disabled.
const (
	DisabledGone    = "gone"    // the receiver answered 410
	DisabledFailing = "failing" // nothing succeeded for DisableAfter
)

// RotationOverlap is how long the previous secret keeps signing after a
// rotation, beside the new one.
const RotationOverlap = 24 * time.Hour

// Endpoint is the one webhook of an agent.
type Endpoint struct {
	AgentID        string
	URL            string
	Secret         string
	PreviousSecret string    // "" when none
	PreviousUntil  time.Time // the previous secret signs until then
	DisabledAt     *time.Time
	DisabledReason string
	// FailingSince is the first failed attempt since the last success.
	FailingSince        *time.Time
	ConsecutiveFailures int
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Enabled reports whether events are pushed to the endpoint.
func (e Endpoint) Enabled() bool { return e.DisabledAt == nil }

// Secrets are the secrets a message sent now is signed with: the current
// one, and the previous one during its overlap.
func (e Endpoint) Secrets(now time.Time) []string {
	if e.PreviousSecret != "" && now.Before(e.PreviousUntil) {
		return []string{e.Secret, e.PreviousSecret}
	}
	return []string{e.Secret}
}

// Register (re)points the endpoint at a URL with a new secret, enabled,
// with its failures forgotten. The previous secret no longer signs.
func (e Endpoint) Register(url, secret string, now time.Time) Endpoint {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	e.URL, e.Secret, e.PreviousSecret, e.PreviousUntil = url, secret, "", time.Time{}
	e.DisabledAt, e.DisabledReason, e.FailingSince, e.ConsecutiveFailures = nil, "", nil, 0
	e.UpdatedAt = now
	return e
}

// Rotate makes secret the current one; the one it replaces keeps signing
// beside it for RotationOverlap.
func (e Endpoint) Rotate(secret string, now time.Time) Endpoint {
	e.PreviousSecret, e.PreviousUntil, e.Secret, e.UpdatedAt = e.Secret, now.Add(RotationOverlap), secret, now
	return e
}

// Succeeded records a delivered attempt: the endpoint is healthy again.
func (e Endpoint) Succeeded() Endpoint {
	e.FailingSince, e.ConsecutiveFailures = nil, 0
	return e
}

// Failed records a failed attempt at now and reports whether the endpoint
// must be disabled: a 410, or no success for DisableAfter.
func (e Endpoint) Failed(outcome Outcome, now time.Time) (Endpoint, bool) {
	e.ConsecutiveFailures++
	if e.FailingSince == nil {
		e.FailingSince = &now
	}
	switch {
	case outcome == Gone:
		return e.Disable(DisabledGone, now), true
	case now.Sub(*e.FailingSince) >= DisableAfter:
		return e.Disable(DisabledFailing, now), true
	}
	return e, false
}

// Disable stops pushing events to the endpoint.
func (e Endpoint) Disable(reason string, now time.Time) Endpoint {
	e.DisabledAt, e.DisabledReason, e.UpdatedAt = &now, reason, now
	return e
}

// DeliveryState is where a delivery stands.
type DeliveryState string

// Delivery states.
const (
	StatePending   DeliveryState = "pending"   // waiting for its next attempt
	StateDelivered DeliveryState = "delivered" // a 2xx answer
	StateFailed    DeliveryState = "failed"    // out of attempts, 410, or the endpoint was disabled
)

// Delivery is one event on its way to an endpoint. Its ID is the
// webhook-id header, the same on every attempt.
type Delivery struct {
	ID            string
	AgentID       string
	EventSeq      int64
	EventType     string
	Payload       []byte // the body, the same on every attempt
	State         DeliveryState
	Attempts      int
	LastStatus    int // 0: no answer
	LastError     string
	LastAttemptAt *time.Time
	NextAttemptAt *time.Time // pending only
	CreatedAt     time.Time  // when the event was written (the first attempt is due then)
	DeliveredAt   *time.Time
}

// Record applies an attempt's outcome (made at now) to the delivery:
// delivered; failed for good (a 410, or the last attempt); or pending
// with its next attempt.
func (d Delivery) Record(outcome Outcome, status int, errText string, now time.Time) Delivery {
	d.LastStatus, d.LastError, d.LastAttemptAt = status, errText, &now
	d.NextAttemptAt = nil
	switch outcome {
	case Delivered:
		d.State, d.DeliveredAt, d.LastError = StateDelivered, &now, ""
		return d
	case Gone:
		d.State = StateFailed
		return d
	}
	next, ok := NextAttempt(d.CreatedAt, now, d.Attempts)
	if !ok {
		d.State = StateFailed
		return d
	}
	d.State, d.NextAttemptAt = StatePending, &next
	return d
}

// Event is the body of a webhook request: the event as polling returns it
// (id, type, created_at, data) with the agent's id.
type Event struct {
	ID        string         `json:"id"`
	AgentID   string         `json:"agent_id"`
	Type      string         `json:"type"`
	CreatedAt time.Time      `json:"created_at"`
	Data      map[string]any `json:"data"`
}

// Payload renders the body of an event's delivery.
func Payload(agentID string, seq int64, typ string, at time.Time, data map[string]any) ([]byte, error) {
	if data == nil {
		data = map[string]any{}
	}
	return json.Marshal(Event{ID: strconv.FormatInt(seq, 10), AgentID: agentID, Type: typ, CreatedAt: at.UTC(), Data: data})
}
