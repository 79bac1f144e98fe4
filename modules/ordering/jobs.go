package ordering

// ExpireApprovalsArgs is the periodic job that cancels, with a full refund,
// orders nobody approved within domain.ApprovalWindow.
type ExpireApprovalsArgs struct{}

// Kind names the job.
func (ExpireApprovalsArgs) Kind() string { return "ordering.expire_approvals" }

// PurgeEventsArgs is the periodic job that deletes agent events older than
// domain.EventRetention.
type PurgeEventsArgs struct{}

// Kind names the job.
func (PurgeEventsArgs) Kind() string { return "ordering.purge_events" }
