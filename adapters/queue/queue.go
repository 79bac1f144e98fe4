// Package queue is the River adapter: one client type for Postgres and
// SQLite, the Jobs port that inserts in the caller's transaction, the
// workers (which call module facades) and the periodic jobs.
package queue

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/modules/kernel"
)

// Options tune the client.
type Options struct {
	// Work makes this process run jobs; false gives an insert-only client (role api).
	Work bool
	// MaxWorkers per process (default 20).
	MaxWorkers int
	// PollInterval is how often to look for jobs without a notification (default 1 s; tests use less).
	PollInterval time.Duration
	Logger       *slog.Logger
	// Observe, when set, is told of every finished job (for metrics).
	Observe func(kind, state string, d time.Duration)
}

// Queue is the River client and the Jobs port.
type Queue struct {
	client  *river.Client[*sql.Tx]
	work    bool
	observe func(kind, state string, d time.Duration)
	cancel  context.CancelFunc
	done    chan struct{}
}

// New builds the client for the database. Workers and periodic jobs are
// registered by Register (see workers.go), the one place they are listed.
func New(db *store.DB, reg Registry, opts Options) (*Queue, error) {
	var driver riverdriver.Driver[*sql.Tx]
	if db.Dialect == store.SQLite {
		driver = riversqlite.New(db.SQL)
	} else {
		driver = riverdatabasesql.NewWithPgxListener(db.SQL, db.Pool)
	}
	cfg := &river.Config{
		Logger:               opts.Logger,
		Schema:               db.Schema,
		Workers:              reg.Workers,
		JobTimeout:           5 * time.Minute,
		RescueStuckJobsAfter: 10 * time.Minute,
		FetchCooldown:        50 * time.Millisecond,
		FetchPollInterval:    cmpDur(opts.PollInterval, time.Second),
		MaxAttempts:          20,
		Middleware: []rivertype.Middleware{otelriver.NewMiddleware(&otelriver.MiddlewareConfig{
			EnableTracePropagation: true, EnableWorkSpanJobKindSuffix: true,
		})},
	}
	if opts.Work {
		workers := max(cmp.Or(opts.MaxWorkers, 20), 1) // unset: 20
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workers}}
		cfg.PeriodicJobs = reg.Periodic
	}
	if opts.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("new river client: %w", err)
	}
	return &Queue{client: client, work: opts.Work, observe: opts.Observe}, nil
}

func cmpDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Enqueue implements kernel.Jobs. It refuses to run outside a transaction:
// a job must commit or roll back with the change that caused it.
func (q *Queue) Enqueue(ctx context.Context, job kernel.Job) error {
	tx, ok := store.SQLTx(ctx)
	if !ok {
		return errors.New("enqueue job: no transaction in context")
	}
	if _, err := q.client.InsertTx(ctx, tx, job, nil); err != nil {
		return fmt.Errorf("enqueue %s: %w", job.Kind(), err)
	}
	return nil
}

// Client exposes the River client (for tests and the worker commands).
func (q *Queue) Client() *river.Client[*sql.Tx] { return q.client }

// Start runs the workers (no-op for an insert-only client).
func (q *Queue) Start(ctx context.Context) error {
	if !q.work {
		// River refuses to start a client without queues, and subscribing to
		// one panics: an insert-only client has nothing to run.
		return nil
	}
	if q.observe != nil {
		events, cancel := q.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
			river.EventKindJobCancelled, river.EventKindJobSnoozed)
		q.done = make(chan struct{})
		stop := make(chan struct{})
		q.cancel = func() { close(stop); cancel() }
		go func() {
			defer close(q.done)
			for {
				select {
				case <-stop:
					return
				case ev, ok := <-events:
					if !ok {
						return
					}
					var d time.Duration
					if ev.JobStats != nil {
						d = ev.JobStats.RunDuration
					}
					q.observe(ev.Job.Kind, string(ev.Job.State), d)
				}
			}
		}()
	}
	return q.client.Start(ctx)
}

// Stop waits for running jobs to finish (until ctx ends, then cancels them).
func (q *Queue) Stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		hard, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = q.client.StopAndCancel(hard)
		cancel()
	}
	if q.cancel != nil {
		q.cancel()
		<-q.done
		q.cancel = nil // a second Stop must not close the stop channel again
	}
	return err
}
