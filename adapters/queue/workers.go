package queue

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/moderation"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering"
	"github.com/heepr/heepr/modules/skills"
	"github.com/heepr/heepr/modules/webhooks"
)

// Facades are the module services the workers call. Register takes a pointer
// so the composition root can fill it after the queue exists (the modules
// need the queue as their Jobs port).
type Facades struct {
	Identity     *identity.Service
	Notification *notification.Service
	Ledger       *ledger.Service
	Idempotency  interface {
		Purge(ctx context.Context, now time.Time) (int, error)
	}
	Market     *marketplace.Service
	Ordering   *ordering.Service
	Moderation *moderation.Service
	Skills     *skills.Service
	Webhooks   *webhooks.Service
	Blobs      kernel.Blobs
	BaseURL    string
	Clock      kernel.Clock
	Log        *slog.Logger
}

// Registry is every worker and periodic job heepr has.
type Registry struct {
	Workers  *river.Workers
	Periodic []*river.PeriodicJob
}

// Register lists every worker and every periodic job: the one place to look
// for what runs in the background.
func Register(f *Facades) Registry {
	w := river.NewWorkers()
	river.AddWorker(w, &welcomeWorker{f: f})
	river.AddWorker(w, &purgeSessionsWorker{f: f})
	river.AddWorker(w, &purgeIdempotencyWorker{f: f})
	river.AddWorker(w, &ledgerAuditWorker{f: f})
	river.AddWorker(w, &renderPackageWorker{f: f})
	river.AddWorker(w, &noticeEmailWorker{f: f})
	river.AddWorker(w, &purgeEventsWorker{f: f})
	river.AddWorker(w, &payoutWorker{f: f})
	river.AddWorker(w, &timersWorker{f: f})
	river.AddWorker(w, &supportEmailWorker{f: f})
	river.AddWorker(w, &signalsWorker{f: f})
	river.AddWorker(w, &webhookDeliverWorker{f: f})
	river.AddWorker(w, &webhookSweepWorker{f: f})
	river.AddWorker(w, &webhookPurgeWorker{f: f})

	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return identity.PurgeSessionsArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return PurgeIdempotencyArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(6*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return LedgerAuditArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return ordering.PurgeEventsArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
			func() (river.JobArgs, *river.InsertOpts) { return ordering.TimersArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(15*time.Minute),
			func() (river.JobArgs, *river.InsertOpts) { return moderation.SignalsArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		// Webhook retries fall due by heepr's clock; the shortest wait is 30 s.
		river.NewPeriodicJob(river.PeriodicInterval(15*time.Second),
			func() (river.JobArgs, *river.InsertOpts) { return webhooks.SweepArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return webhooks.PurgeArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
	}
	return Registry{Workers: w, Periodic: periodic}
}

// welcomeWorker emails a new user. Email is at-least-once: a crash between
// the send and the job's completion sends it again.
type welcomeWorker struct {
	river.WorkerDefaults[identity.UserSignedUpArgs]
	f *Facades
}

func (w *welcomeWorker) Work(ctx context.Context, job *river.Job[identity.UserSignedUpArgs]) error {
	return w.f.Notification.Welcome(ctx, job.Args.UserID)
}

type purgeSessionsWorker struct {
	river.WorkerDefaults[identity.PurgeSessionsArgs]
	f *Facades
}

func (w *purgeSessionsWorker) Work(ctx context.Context, _ *river.Job[identity.PurgeSessionsArgs]) error {
	_, err := w.f.Identity.PurgeExpiredSessions(ctx)
	return err
}

// PurgeIdempotencyArgs deletes idempotency keys past their 24 h lifetime.
type PurgeIdempotencyArgs struct{}

// Kind names the job.
func (PurgeIdempotencyArgs) Kind() string { return "http.purge_idempotency_keys" }

type purgeIdempotencyWorker struct {
	river.WorkerDefaults[PurgeIdempotencyArgs]
	f *Facades
}

func (w *purgeIdempotencyWorker) Work(ctx context.Context, _ *river.Job[PurgeIdempotencyArgs]) error {
	_, err := w.f.Idempotency.Purge(ctx, w.f.Clock.Now())
	return err
}

// LedgerAuditArgs checks the ledger's invariants and logs any violation as an error.
type LedgerAuditArgs struct{}

// Kind names the job.
func (LedgerAuditArgs) Kind() string { return "ledger.audit" }

type ledgerAuditWorker struct {
	river.WorkerDefaults[LedgerAuditArgs]
	f *Facades
}

func (w *ledgerAuditWorker) Work(ctx context.Context, _ *river.Job[LedgerAuditArgs]) error {
	if err := w.f.Ledger.CheckInvariants(ctx); err != nil {
		w.f.Log.ErrorContext(ctx, "ledger audit failed", "error", err.Error())
		return river.JobCancel(err) // retrying will not fix the books; a person must look
	}
	return nil
}

// renderPackageWorker renders the skill package for a new settings version.
type renderPackageWorker struct {
	river.WorkerDefaults[marketplace.SettingsChangedArgs]
	f *Facades
}

func (w *renderPackageWorker) Work(ctx context.Context, job *river.Job[marketplace.SettingsChangedArgs]) error {
	return w.f.Skills.RenderFor(ctx, job.Args.AgentID, job.Args.Version)
}

// noticeEmailWorker emails an in-app notification. Email is at-least-once.
type noticeEmailWorker struct {
	river.WorkerDefaults[notification.EmailArgs]
	f *Facades
}

func (w *noticeEmailWorker) Work(ctx context.Context, job *river.Job[notification.EmailArgs]) error {
	return w.f.Notification.EmailNotice(ctx, job.Args.NotificationID)
}

// purgeEventsWorker deletes agent events past their retention.
type purgeEventsWorker struct {
	river.WorkerDefaults[ordering.PurgeEventsArgs]
	f *Facades
}

func (w *purgeEventsWorker) Work(ctx context.Context, _ *river.Job[ordering.PurgeEventsArgs]) error {
	_, err := w.f.Ordering.PurgeEvents(ctx)
	return err
}

// payoutWorker pays a completed order's escrow to its owner; the ledger's
// per-order constraint makes a second run pay nothing.
type payoutWorker struct {
	river.WorkerDefaults[ordering.PayoutArgs]
	f *Facades
}

func (w *payoutWorker) Work(ctx context.Context, job *river.Job[ordering.PayoutArgs]) error {
	return w.f.Ordering.Payout(ctx, job.Args.OrderID)
}

// timersWorker marks late orders, reminds and escalates stalled reviews,
// and completes orders whose review window ran out.
type timersWorker struct {
	river.WorkerDefaults[ordering.TimersArgs]
	f *Facades
}

func (w *timersWorker) Work(ctx context.Context, _ *river.Job[ordering.TimersArgs]) error {
	run, err := w.f.Ordering.RunTimers(ctx)
	if run != (ordering.TimersRun{}) {
		w.f.Log.InfoContext(ctx, "order timers", "expired", run.Expired, "late", run.Late, "reminded", run.Reminded, "escalated", run.Escalated, "completed", run.Completed)
	}
	return err
}

// supportEmailWorker emails the support address.
type supportEmailWorker struct {
	river.WorkerDefaults[notification.SupportEmailArgs]
	f *Facades
}

func (w *supportEmailWorker) Work(ctx context.Context, job *river.Job[notification.SupportEmailArgs]) error {
	return w.f.Notification.EmailSupport(ctx, job.Args)
}

// signalsWorker opens support cases from automatic signals (repeated
// missed deadlines, review clusters).
type signalsWorker struct {
	river.WorkerDefaults[moderation.SignalsArgs]
	f *Facades
}

func (w *signalsWorker) Work(ctx context.Context, _ *river.Job[moderation.SignalsArgs]) error {
	run, err := w.f.Moderation.RunSignals(ctx)
	if run != (moderation.SignalsRun{}) {
		w.f.Log.InfoContext(ctx, "automatic signals opened cases", "missed_deadlines", run.MissedDeadlines, "review_clusters", run.ReviewClusters)
	}
	return err
}

// webhookDeliverWorker makes one attempt of a webhook delivery. A failed
// attempt is not a failed job: the module records it and the sweep
// enqueues the next one when it falls due (ADR 11).
type webhookDeliverWorker struct {
	river.WorkerDefaults[webhooks.DeliverArgs]
	f *Facades
}

func (w *webhookDeliverWorker) Work(ctx context.Context, job *river.Job[webhooks.DeliverArgs]) error {
	return w.f.Webhooks.Deliver(ctx, job.Args.DeliveryID)
}

// webhookSweepWorker enqueues the webhook deliveries whose next attempt is due.
type webhookSweepWorker struct {
	river.WorkerDefaults[webhooks.SweepArgs]
	f *Facades
}

func (w *webhookSweepWorker) Work(ctx context.Context, _ *river.Job[webhooks.SweepArgs]) error {
	_, err := w.f.Webhooks.Sweep(ctx)
	return err
}

// webhookPurgeWorker deletes webhook delivery log entries past their retention.
type webhookPurgeWorker struct {
	river.WorkerDefaults[webhooks.PurgeArgs]
	f *Facades
}

func (w *webhookPurgeWorker) Work(ctx context.Context, _ *river.Job[webhooks.PurgeArgs]) error {
	_, err := w.f.Webhooks.Purge(ctx)
	return err
}
