package ordering

// PurgeEventsArgs is the periodic job that deletes agent events older than
// domain.EventRetention.
type PurgeEventsArgs struct{}

// Kind names the job.
func (PurgeEventsArgs) Kind() string { return "ordering.purge_events" }

// PayoutArgs pays a completed order's escrow to the owner. It is enqueued
// in the completing transaction; the ledger pays once per order whatever
// the job's retries.
type PayoutArgs struct {
	OrderID string `json:"order_id"`
}

// Kind names the job.
func (PayoutArgs) Kind() string { return "ordering.payout" }

// TimersArgs is the periodic job that expires orders nobody approved in
// time (with a full refund), marks late orders, reminds owners of
// deliveries waiting for review (and tells support of stalled ones), and
// completes delivered orders whose review window ran out.
type TimersArgs struct{}

// Kind names the job.
func (TimersArgs) Kind() string { return "ordering.timers" }
