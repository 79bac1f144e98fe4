package queue

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/notification"
)

// Facades are the module services the workers call. Register takes a pointer
// so the composition root can fill it after the queue exists (the modules
// need the queue as their Jobs port).
type Facades struct {
	Identity     *identity.Service
	Notification *notification.Service
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

	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return identity.PurgeSessionsArgs{}, nil },
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
