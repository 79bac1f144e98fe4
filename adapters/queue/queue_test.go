package queue_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/queue"
	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/identity/domain"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/notification"
)

// The queue is the modules' Jobs port.
var _ kernel.Jobs = (*queue.Queue)(nil)

const (
	waitFor = 20 * time.Second // generous: River polls every 50 ms here, but -race and SQLite are slow
	tick    = 20 * time.Millisecond
)

var errBoom = errors.New("boom")

type testArgs struct {
	N int `json:"n"`
}

func (testArgs) Kind() string { return "test.job" }

// testWorker records the N of every job it runs.
type testWorker struct {
	river.WorkerDefaults[testArgs]
	mu  sync.Mutex
	ran []int
}

func (w *testWorker) Work(_ context.Context, job *river.Job[testArgs]) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ran = append(w.ran, job.Args.N)
	return nil
}

func (w *testWorker) runs() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.ran)
}

type blockArgs struct{}

func (blockArgs) Kind() string { return "test.block" }

// blockWorker runs until its context is cancelled.
type blockWorker struct {
	river.WorkerDefaults[blockArgs]
	started   chan struct{}
	cancelled chan error
}

func (w *blockWorker) Work(ctx context.Context, _ *river.Job[blockArgs]) error {
	close(w.started)
	<-ctx.Done()
	w.cancelled <- ctx.Err()
	return ctx.Err()
}

type observation struct{ kind, state string }

type observer struct {
	mu  sync.Mutex
	got []observation
}

func (o *observer) observe(kind, state string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, observation{kind, state})
}

func (o *observer) all() []observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.got)
}

type bundle struct {
	db       *store.DB
	q        *queue.Queue
	worker   *testWorker
	blocker  *blockWorker
	observed *observer
}

// setup builds a queue with the test workers on db and an observer, starts it
// (a no-op when opts.Work is false) and stops it when the test ends.
func setup(t *testing.T, db *store.DB, opts queue.Options) *bundle {
	t.Helper()
	b := &bundle{
		db:       db,
		worker:   &testWorker{},
		blocker:  &blockWorker{started: make(chan struct{}), cancelled: make(chan error, 1)},
		observed: &observer{},
	}
	w := river.NewWorkers()
	river.AddWorker(w, b.worker)
	river.AddWorker(w, b.blocker)
	opts.Observe = b.observed.observe
	q, err := queue.New(db, queue.Registry{Workers: w}, opts)
	require.NoError(t, err)
	b.q = q
	require.NoError(t, q.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(t, q.Stop(ctx))
	})
	return b
}

// testCtx bounds a test's calls: on SQLite a query that does not use the
// transaction in the context waits for the only connection, and must fail
// rather than hang.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func working() queue.Options { return queue.Options{Work: true, PollInterval: 50 * time.Millisecond} }

func countJobs(t *testing.T, db *store.DB, kind string) int {
	t.Helper()
	var n int
	require.NoError(t, db.Bun.NewRaw("SELECT count(*) FROM river_job WHERE kind = ?", kind).Scan(context.Background(), &n))
	return n
}

// jobStates lists the states of a kind's jobs.
func jobStates(t *testing.T, db *store.DB, kind string) []string {
	t.Helper()
	states, err := queryStates(db, kind)
	require.NoError(t, err)
	return states
}

// statesAre is a require.Eventually condition (which must not call t.FailNow).
func statesAre(db *store.DB, kind string, want ...string) func() bool {
	return func() bool {
		got, err := queryStates(db, kind)
		return err == nil && slices.Equal(got, want)
	}
}

func queryStates(db *store.DB, kind string) ([]string, error) {
	var states []string
	err := db.Bun.NewRaw("SELECT state FROM river_job WHERE kind = ? ORDER BY id", kind).Scan(context.Background(), &states)
	return states, err
}

func TestEnqueueOutsideATransactionFails(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, working())
		err := b.q.Enqueue(testCtx(t), testArgs{N: 1})
		require.Error(t, err)
		require.ErrorContains(t, err, "no transaction")
		require.Zero(t, countJobs(t, db, "test.job"))
	})
}

func TestEnqueueRolledBackLeavesNoJob(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, working())
		err := db.InTx(testCtx(t), func(ctx context.Context) error {
			require.NoError(t, b.q.Enqueue(ctx, testArgs{N: 1}))
			var inTx int // the row exists inside the transaction (asked on the transaction itself)
			require.NoError(t, db.Conn(ctx).NewRaw("SELECT count(*) FROM river_job WHERE kind = 'test.job'").Scan(ctx, &inTx))
			require.Equal(t, 1, inTx)
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		require.Zero(t, countJobs(t, db, "test.job"), "a rolled-back transaction must not leave its job")
		require.Empty(t, b.worker.runs())
	})
}

func TestCommittedJobRunsOnceAndIsObserved(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, working())
		require.NoError(t, db.InTx(testCtx(t), func(ctx context.Context) error {
			return b.q.Enqueue(ctx, testArgs{N: 42})
		}))
		require.Equal(t, 1, countJobs(t, db, "test.job"))

		require.Eventually(t, func() bool { return len(b.worker.runs()) > 0 }, waitFor, tick, "the worker never ran")
		require.Eventually(t, statesAre(db, "test.job", "completed"), waitFor, tick, "the job never completed")
		require.Equal(t, []int{42}, b.worker.runs(), "a completed job ran exactly once, with its args")

		want := observation{"test.job", "completed"}
		require.Eventually(t, func() bool { return slices.Contains(b.observed.all(), want) }, waitFor, tick,
			"Observe was not told: %v", b.observed.all())
		n := 0
		for _, o := range b.observed.all() {
			if o.kind == "test.job" {
				n++
			}
		}
		require.Equal(t, 1, n, "one finished job, one observation: %v", b.observed.all())
	})
}

func TestStopReturnsPromptly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, working())
		require.NoError(t, db.InTx(testCtx(t), func(ctx context.Context) error {
			return b.q.Enqueue(ctx, testArgs{N: 1})
		}))
		require.Eventually(t, func() bool { return len(b.worker.runs()) == 1 }, waitFor, tick)

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, b.q.Stop(ctx))
		require.NoError(t, ctx.Err(), "Stop of an idle queue must not need its whole deadline")
		// Stopping again (the test's cleanup does too) is harmless.
		require.NoError(t, b.q.Stop(ctx))
	})
}

func TestStopCancelsRunningJobsWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, working())
		require.NoError(t, db.InTx(testCtx(t), func(ctx context.Context) error {
			return b.q.Enqueue(ctx, blockArgs{})
		}))
		select {
		case <-b.blocker.started:
		case <-time.After(waitFor):
			t.Fatal("the blocking job never started")
		}

		// The job never finishes on its own, so Stop's context ends and it cancels the job.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		require.NoError(t, b.q.Stop(ctx))
		select {
		case err := <-b.blocker.cancelled:
			require.ErrorIs(t, err, context.Canceled)
		default:
			t.Fatal("Stop returned while the job was still running")
		}
	})
}

func TestInsertOnlyQueueEnqueuesWithoutWorking(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// Role api: Work is false. Start must be a no-op (River refuses to start
		// a client without queues) even with Observe set, as the composition root does.
		b := setup(t, db, queue.Options{Work: false, PollInterval: 50 * time.Millisecond})
		require.NoError(t, db.InTx(testCtx(t), func(ctx context.Context) error {
			return b.q.Enqueue(ctx, testArgs{N: 7})
		}))
		require.Equal(t, []string{"available"}, jobStates(t, db, "test.job"))
		require.Error(t, b.q.Enqueue(testCtx(t), testArgs{N: 8}), "outside a transaction")
		require.Equal(t, 1, countJobs(t, db, "test.job"))
	})
}

// mailer is the fake at the email port: it records what would be sent.
type mailer struct {
	mu   sync.Mutex
	sent []notification.Email
}

func (m *mailer) Send(_ context.Context, e notification.Email) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, e)
	return nil
}

func (m *mailer) all() []notification.Email {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func TestRegisteredWelcomeWorkerEmailsANewUser(t *testing.T) {
	t.Parallel()
	hasher := identity.NewHasher() // shared: each one hashes a dummy password on creation
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		facades := &queue.Facades{}
		q, err := queue.New(db, queue.Register(facades), working())
		require.NoError(t, err)

		ids := store.NewIdentity(db)
		svc := identity.New(identity.Deps{
			Tx: db, Jobs: q, Clock: fixedClock(time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)),
			Users: ids.Users(), Sessions: ids.Sessions(), Tokens: ids.Tokens(),
			Hasher: hasher, TokenKey: []byte("test-token-key"),
		}, identity.Config{})
		m := &mailer{}
		notify := notification.New(m, svc, notification.Config{BaseURL: "https://heepr.test/", SupportEmail: "support@heepr.test"})
		*facades = queue.Facades{Identity: svc, Notification: notify}

		require.NoError(t, q.Start(context.Background()))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			require.NoError(t, q.Stop(ctx))
		})

		signUp := domain.SignUp{Email: "ann@example.com", Password: "correct horse battery", DisplayName: "Ann", Role: kernel.RoleCustomer}
		out, err := svc.SignUp(ctx, signUp)
		require.NoError(t, err)
		require.NotEmpty(t, out.SessionID)

		// A second sign-up with the same email fails and leaves no second job (so no second email).
		_, err = svc.SignUp(ctx, signUp)
		require.ErrorIs(t, err, kernel.ErrConflict)
		require.Equal(t, 1, countJobs(t, db, identity.UserSignedUpArgs{}.Kind()))

		require.Eventually(t, func() bool { return len(m.all()) > 0 }, waitFor, tick, "no email was sent")
		require.Eventually(t, statesAre(db, identity.UserSignedUpArgs{}.Kind(), "completed"), waitFor, tick,
			"the welcome job never completed")
		sent := m.all()
		require.Len(t, sent, 1, "exactly one email: %+v", sent)
		require.Equal(t, "ann@example.com", sent[0].To)
		require.Equal(t, "Welcome to heepr", sent[0].Subject)
		require.Equal(t, "identity.welcome", sent[0].Tag)
		require.Contains(t, sent[0].Text, "Hi Ann,")
		require.Contains(t, sent[0].Text, "https://heepr.test/")
		require.Contains(t, sent[0].Text, "support@heepr.test")
	})
}
