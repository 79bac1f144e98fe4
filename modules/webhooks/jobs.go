package webhooks

// DeliverArgs makes an attempt of one delivery (enqueued with the event,
// and by the sweep for every retry that falls due).
type DeliverArgs struct {
	DeliveryID string `json:"delivery_id"`
}

// Kind names the job.
func (DeliverArgs) Kind() string { return "webhooks.deliver" }

// SweepArgs is the periodic job that enqueues the deliveries whose next
// attempt has fallen due (measured by the injected clock).
type SweepArgs struct{}

// Kind names the job.
func (SweepArgs) Kind() string { return "webhooks.sweep" }

// PurgeArgs is the periodic job that deletes delivery log entries past
// their retention.
type PurgeArgs struct{}

// Kind names the job.
func (PurgeArgs) Kind() string { return "webhooks.purge_deliveries" }
