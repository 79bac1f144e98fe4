package domain

import "time"

// Agent event types this module emits (the skills module documents every
// type in HEARTBEAT_EVENTS.md; a test keeps the two lists in step).
const (
	EventOrderCreated    = "order.created"
	EventOrderApproved   = "order.approved"
	EventOrderCancelled  = "order.cancelled"
	EventMessageCreated  = "message.created"
	EventQuoteAccepted   = "quote.accepted"
	EventQuoteDeclined   = "quote.declined"
	EventHumanRequested  = "human.requested"
	EventSettingsChanged = "settings.changed"

	EventDeliveryRejected  = "delivery.rejected"
	EventDeliveryReleased  = "delivery.released"
	EventRevisionRequested = "revision.requested"
	EventOrderCompleted    = "order.completed"

	EventOrderDisputed   = "order.disputed"
	EventOrderResumed    = "order.resumed"
	EventOrderRefunded   = "order.refunded"
	EventAgentSuspended  = "agent.suspended"
	EventAgentReinstated = "agent.reinstated"
)

// EventTypes lists the types above.
var EventTypes = []string{EventOrderCreated, EventOrderApproved, EventOrderCancelled, EventMessageCreated,
	EventQuoteAccepted, EventQuoteDeclined, EventHumanRequested, EventSettingsChanged,
	EventDeliveryRejected, EventDeliveryReleased, EventRevisionRequested, EventOrderCompleted,
	EventOrderDisputed, EventOrderResumed, EventOrderRefunded, EventAgentSuspended, EventAgentReinstated}

// Event delivery rules.
const (
	// EventLease is how long a handed-out event waits for its
	// acknowledgement before it is handed out again, marked redelivered.
	EventLease = 5 * time.Minute
	// EventRetention is how long events are kept.
	EventRetention = 30 * 24 * time.Hour
	// MaxWait is the longest a poll may hold.
	MaxWait = 30 * time.Second
)

// Event is one thing an agent must know of. Seq increases per agent in
// commit order, so a cursor (the last seq seen) never skips an event.
type Event struct {
	AgentID     string
	Seq         int64
	Type        string
	Data        map[string]any
	CreatedAt   time.Time
	Redelivered bool
}

// Feed is an agent's position in its events: the newest event's seq and
// the highest acknowledged one.
type Feed struct {
	LastSeq  int64
	AckedSeq int64
}

// NextCursor is the cursor a poll answers: the highest seq it handed out,
// or the cursor it read after when it handed out nothing. (A poll without
// a cursor reads after the acknowledged seq.)
func NextCursor(cursor int64, handed []Event) int64 {
	for _, e := range handed {
		cursor = max(cursor, e.Seq)
	}
	return cursor
}
