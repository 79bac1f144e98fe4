package wake_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/adapters/wake"
)

func woken(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func requireWoken(t *testing.T, ch <-chan struct{}, within time.Duration, msg string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(within):
		t.Fatalf("not woken within %v: %s", within, msg)
	}
}

func requireNotWoken(t *testing.T, ch <-chan struct{}, during time.Duration, msg string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("woken unexpectedly: %s", msg)
	case <-time.After(during):
	}
}

func TestSignalWakesOnlyThatAgent(t *testing.T) {
	t.Parallel()
	var h wake.Hub
	a1, cancelA1 := h.Subscribe("a")
	a2, cancelA2 := h.Subscribe("a")
	b, cancelB := h.Subscribe("b")
	defer cancelA1()
	defer cancelA2()
	defer cancelB()
	require.Equal(t, 3, h.Waiting())
	require.Equal(t, 2, h.AgentCount())

	h.Signal("a")
	require.True(t, woken(a1))
	require.True(t, woken(a2))
	require.False(t, woken(b))
	require.Equal(t, 1, h.Waiting())
	require.Equal(t, 1, h.AgentCount())

	// A later subscriber waits for the next signal.
	a3, cancelA3 := h.Subscribe("a")
	require.False(t, woken(a3))
	h.Signal("a")
	require.True(t, woken(a3))
	cancelA3() // after the wake-up: harmless
	cancelA1()
	require.Equal(t, 1, h.Waiting())
}

func TestCancelUnsubscribes(t *testing.T) {
	t.Parallel()
	var h wake.Hub
	ch, cancel := h.Subscribe("a")
	other, cancelOther := h.Subscribe("a")
	cancel()
	cancel() // twice: harmless
	require.Equal(t, 1, h.Waiting())
	h.Signal("a")
	require.False(t, woken(ch), "a cancelled waiter is not woken")
	require.True(t, woken(other))
	cancelOther()

	_, c1 := h.Subscribe("x")
	_, c2 := h.Subscribe("y")
	c1()
	c2()
	require.Zero(t, h.Waiting())
	require.Zero(t, h.AgentCount(), "empty map entries are removed")
}

func TestSignalWithoutSubscribersIsNoOp(t *testing.T) {
	t.Parallel()
	var h wake.Hub
	h.Signal("nobody")
	h.SignalAll()
	require.Zero(t, h.Waiting())
	require.Zero(t, h.AgentCount())
	ch, cancel := h.Subscribe("nobody")
	defer cancel()
	require.False(t, woken(ch), "an earlier signal is not remembered")
}

func TestManyWaitersNoGoroutines(t *testing.T) {
	t.Parallel()
	const n = 5000
	const tolerance = 200 // other parallel tests start and stop goroutines
	var h wake.Hub
	before := runtime.NumGoroutine()
	chans := make([]<-chan struct{}, n)
	cancels := make([]func(), n)
	for i := range n {
		chans[i], cancels[i] = h.Subscribe("busy")
	}
	require.Equal(t, n, h.Waiting())
	require.LessOrEqual(t, runtime.NumGoroutine(), before+tolerance, "no goroutine per waiter")

	start := time.Now()
	h.Signal("busy")
	for _, ch := range chans {
		<-ch
	}
	require.Less(t, time.Since(start), time.Second)
	for _, c := range cancels {
		c()
	}
	require.Zero(t, h.Waiting())
	require.Zero(t, h.AgentCount())
	require.LessOrEqual(t, runtime.NumGoroutine(), before+tolerance)
}

func TestChannelNames(t *testing.T) {
	t.Parallel()
	require.Equal(t, wake.Channel, wake.ChannelFor(""))
	require.Equal(t, wake.Channel+"_t_abc", wake.ChannelFor("t_abc"))
	long := wake.ChannelFor(strings.Repeat("s", 63))
	require.LessOrEqual(t, len(long), 63)
	require.NotEqual(t, long, wake.ChannelFor(strings.Repeat("s", 62)+"t"))
	require.Equal(t, "SELECT pg_notify('heepr_agent_events_t_abc', ?)", wake.NotifySQL("t_abc"))
}

// postgres returns the Postgres URL and a fresh schema, skipping when the
// server is unreachable (failing under CI=true).
func postgres(t *testing.T) (string, string) {
	t.Helper()
	for _, tg := range storetest.Targets(t) {
		if tg.Dialect == store.Postgres {
			return tg.Config.DatabaseURL, tg.Config.Schema
		}
	}
	t.Skip("Postgres unreachable")
	return "", ""
}

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// listen runs hub.Listen until the test ends and waits until it listens.
func listen(t *testing.T, h *wake.Hub, pool *pgxpool.Pool, schema string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Listen(ctx, pool, schema) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Error("Listen did not return after its context ended")
		}
	})
	require.Eventually(t, func() bool { return h.ListenerPID() != 0 }, 5*time.Second, 10*time.Millisecond)
}

func notify(t *testing.T, pool *pgxpool.Pool, channel, agentID string) {
	t.Helper()
	_, err := pool.Exec(context.Background(), "SELECT pg_notify($1, $2)", channel, agentID)
	require.NoError(t, err)
}

func TestPostgresNotifyAcrossNodes(t *testing.T) {
	t.Parallel()
	url, schema := postgres(t)
	ctx := context.Background()
	poolA, poolB := newPool(t, url), newPool(t, url)
	var hubA wake.Hub
	listen(t, &hubA, poolA, schema)

	// A notification from node B wakes node A's waiter of that agent only.
	ch, cancel := hubA.Subscribe("agent-1")
	defer cancel()
	other, cancelOther := hubA.Subscribe("agent-2")
	defer cancelOther()
	notify(t, poolB, wake.ChannelFor(schema), "agent-1")
	requireWoken(t, ch, time.Second, "NOTIFY from another pool")
	require.False(t, woken(other))

	// Another schema's channel does not cross over.
	ch, cancel = hubA.Subscribe("agent-1")
	defer cancel()
	notify(t, poolB, wake.ChannelFor(schema+"_other"), "agent-1")
	notify(t, poolB, wake.Channel, "agent-1")
	requireNotWoken(t, ch, 300*time.Millisecond, "NOTIFY on another schema's channel")

	// NotifySQL in a transaction: delivered on commit only.
	stmt := strings.Replace(wake.NotifySQL(schema), "?", "$1", 1)
	tx, err := poolB.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, stmt, "agent-1")
	require.NoError(t, err)
	requireNotWoken(t, ch, 200*time.Millisecond, "before commit")
	require.NoError(t, tx.Commit(ctx))
	requireWoken(t, ch, time.Second, "after commit")

	ch, cancel = hubA.Subscribe("agent-1")
	defer cancel()
	tx, err = poolB.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, stmt, "agent-1")
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	requireNotWoken(t, ch, 300*time.Millisecond, "after rollback")
}

func TestPostgresListenerReconnects(t *testing.T) {
	t.Parallel()
	url, schema := postgres(t)
	poolA, poolB := newPool(t, url), newPool(t, url)
	var hubA wake.Hub
	listen(t, &hubA, poolA, schema)
	pid := hubA.ListenerPID()

	held, cancelHeld := hubA.Subscribe("agent-1")
	defer cancelHeld()
	var killed bool
	require.NoError(t, poolB.QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", int32(pid)).Scan(&killed))
	require.True(t, killed, fmt.Sprintf("terminate backend %d", pid))

	requireWoken(t, held, 5*time.Second, "current waiters are woken after a reconnect")
	require.Eventually(t, func() bool {
		p := hubA.ListenerPID()
		return p != 0 && p != pid
	}, 5*time.Second, 10*time.Millisecond, "listener reconnected")

	ch, cancel := hubA.Subscribe("agent-1")
	defer cancel()
	notify(t, poolB, wake.ChannelFor(schema), "agent-1")
	requireWoken(t, ch, time.Second, "NOTIFY after the reconnect")
}
