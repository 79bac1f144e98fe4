// Package wake wakes long-polls waiting for agent events.
//
// A Hub is an in-process broadcaster: a long-poll Subscribes for its agent,
// releases its database connection, and waits on the channel (with its own
// timeout); a writer Signals the agent after the event is committed. A waiter
// costs one small struct and one channel, never a goroutine, so thousands of
// held long-polls are cheap.
//
// Across processes (several API nodes on one Postgres) the writer does not
// call Signal itself: inside the transaction that inserts the event it runs
// NotifySQL(schema) with the agent id, and Postgres delivers the notification
// on commit (and drops it on rollback) to every node whose Hub is running
// Listen. On SQLite there is one process, so the writer calls Hub.Signal
// after its transaction commits.
//
// A wake-up is only a hint: the waiter must read the events again and wait
// again when there is nothing new (a wake-up may be spurious, e.g. after the
// listener reconnected).
package wake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the Postgres notification channel for agent events when no
// schema is used; the payload of each notification is the agent id.
const Channel = "heepr_agent_events"

// maxIdentifier is Postgres's NAMEDATALEN-1: pg_notify refuses longer channels.
const maxIdentifier = 63

// Reconnect backoff bounds of Listen.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// ChannelFor is the notification channel for a database schema: Channel
// itself for "" (public), Channel+"_"+schema otherwise, so that databases in
// different schemas (parallel tests) do not wake each other. A name longer
// than Postgres allows is shortened with a hash of the schema.
func ChannelFor(schema string) string {
	if schema == "" {
		return Channel
	}
	ch := Channel + "_" + schema
	if len(ch) > maxIdentifier {
		sum := sha256.Sum256([]byte(schema))
		ch = Channel + "_" + hex.EncodeToString(sum[:8])
	}
	return ch
}

// NotifySQL is the statement a writer runs inside the transaction that
// inserts an agent event, with the agent id bound to the `?` placeholder
// (bun style):
//
//	_, err := tx.ExecContext(ctx, wake.NotifySQL(db.Schema), agentID)
//
// Postgres delivers the notification when the transaction commits, to every
// process listening (Hub.Listen), and never when it rolls back. Several
// notifications with the same payload in one transaction are delivered once.
// Postgres only; on SQLite call Hub.Signal after commit instead.
func NotifySQL(schema string) string {
	return "SELECT pg_notify('" + strings.ReplaceAll(ChannelFor(schema), "'", "''") + "', ?)"
}

// waiter is one held long-poll.
type waiter struct {
	ch chan struct{}
}

// Hub wakes the long-polls waiting for an agent's events. The zero value is
// ready to use; a Hub must not be copied after first use.
type Hub struct {
	// Logger receives Listen's connection errors (default slog.Default()).
	Logger *slog.Logger
	// Local says the hub serves a single process (SQLite): every write
	// Signals it directly and nothing can be missed, so Reliable is true
	// without a listener.
	Local bool
	// OnSignal and OnSignalAll, when set, run before waiters are woken:
	// caches of an agent's feed are dropped there, so that a woken waiter
	// reads afresh. They must be quick and must not call back into the hub.
	OnSignal    func(agentID string)
	OnSignalAll func()

	mu      sync.Mutex
	waiters map[string]map[*waiter]struct{}
	count   int

	pid atomic.Uint32
}

// Subscribe registers a waiter for agentID. The channel is closed on the next
// Signal of that agent (or when every waiter is woken after a Listen
// reconnect). cancel removes the waiter; call it when the wait ends for any
// other reason (timeout, client gone). Calling cancel after the wake-up, or
// more than once, is harmless.
func (h *Hub) Subscribe(agentID string) (ch <-chan struct{}, cancel func()) {
	w := &waiter{ch: make(chan struct{})}
	h.mu.Lock()
	if h.waiters == nil {
		h.waiters = make(map[string]map[*waiter]struct{})
	}
	set := h.waiters[agentID]
	if set == nil {
		set = make(map[*waiter]struct{})
		h.waiters[agentID] = set
	}
	set[w] = struct{}{}
	h.count++
	h.mu.Unlock()
	return w.ch, func() { h.remove(agentID, w) }
}

func (h *Hub) remove(agentID string, w *waiter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.waiters[agentID]
	if _, ok := set[w]; !ok {
		return // already woken or cancelled
	}
	delete(set, w)
	h.count--
	if len(set) == 0 {
		delete(h.waiters, agentID)
	}
}

// Signal wakes every current waiter of agentID; later subscribers wait for
// the next Signal. It never blocks on the waiters, and without waiters it
// does nothing.
func (h *Hub) Signal(agentID string) {
	if h.OnSignal != nil {
		h.OnSignal(agentID)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.waiters[agentID]
	if set == nil {
		return
	}
	delete(h.waiters, agentID)
	h.count -= len(set)
	for w := range set {
		close(w.ch)
	}
}

// SignalAll wakes every waiter of every agent.
func (h *Hub) SignalAll() {
	if h.OnSignalAll != nil {
		h.OnSignalAll()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.waiters {
		for w := range set {
			close(w.ch)
		}
	}
	h.waiters = nil
	h.count = 0
}

// Waiting is the number of waiters currently subscribed (for metrics).
func (h *Hub) Waiting() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

// Reliable reports whether every event written since the last SignalAll
// has been (or will be) Signalled here: always for a Local hub, and for a
// listening one while its LISTEN connection is up (a reconnect signals all).
// Caches of agents' feeds are trusted only while it is true.
func (h *Hub) Reliable() bool { return h.Local || h.pid.Load() != 0 }

// ListenerPID is the Postgres backend pid of Listen's connection while it is
// listening, 0 otherwise (for health checks and tests).
func (h *Hub) ListenerPID() uint32 { return h.pid.Load() }

func (h *Hub) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// Listen relays the agent-event notifications of schema (see ChannelFor) to
// Signal until ctx ends, then returns nil. It holds one connection of pool
// for as long as it runs (so size the pool for it). When the connection is
// lost it reconnects with a backoff from 100 ms to 5 s, and each time it
// is listening (again) it wakes every current waiter once, since
// notifications sent meanwhile are lost. Run one Listen per Hub, in its own goroutine.
func (h *Hub) Listen(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	if pool == nil {
		return errors.New("wake: listen: nil pool")
	}
	channel := ChannelFor(schema)
	backoff := minBackoff
	for {
		listened, err := h.listenOnce(ctx, pool, channel)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			backoff = minBackoff
		}
		h.logger().WarnContext(ctx, "agent events listener lost its connection; reconnecting",
			slog.String("channel", channel), slog.Duration("backoff", backoff), slog.Any("error", err))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// listenOnce runs one connection until it fails or ctx ends; listened says
// whether LISTEN succeeded on it.
func (h *Hub) listenOnce(ctx context.Context, pool *pgxpool.Pool, channel string) (listened bool, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("acquire: %w", err)
	}
	defer func() {
		h.pid.Store(0)
		// Never hand a listening connection back to the pool: close it, and
		// Release then destroys it.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = conn.Conn().Close(cctx)
		cancel()
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	// Whatever was notified while nobody listened is lost: let every waiter
	// look again (on the first connection there is usually none).
	h.SignalAll()
	h.pid.Store(conn.Conn().PgConn().PID())
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("wait for notification: %w", err)
		}
		h.Signal(n.Payload)
	}
}
