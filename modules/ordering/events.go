package ordering

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// Page is one answer of the events feed.
type Page struct {
	Events     []domain.Event
	NextCursor int64
	PollAfter  int // seconds
}

// cadenceTTL is how long a poll trusts the cached polling interval;
// entries not refreshed for cadenceSweep are dropped now and then.
const (
	cadenceTTL   = 30 * time.Second
	cadenceSweep = 10 * time.Minute
)

// hookedEvents runs Deps.OnEvent after every append, in its transaction,
// so no place that writes an event can forget it.
type hookedEvents struct {
	Events
	onEvent func(ctx context.Context, agentID string, seq int64, typ string, data map[string]any, at time.Time) error
}

func (h hookedEvents) Append(ctx context.Context, agentID, typ string, data map[string]any, at time.Time) (int64, error) {
	seq, err := h.Events.Append(ctx, agentID, typ, data, at)
	if err != nil {
		return 0, err
	}
	if err := h.onEvent(ctx, agentID, seq, typ, data, at); err != nil {
		return 0, fmt.Errorf("after %s event: %w", typ, err)
	}
	return seq, nil
}

// parseSeq reads an event id.
func parseSeq(field, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, kernel.Invalid(kernel.FieldError{Field: field, Detail: "is not an event id"})
	}
	return n, nil
}

// Poll returns the agent's events after cursor ("" for after the last
// acknowledged one), oldest first, leasing them. With wait it holds until
// an event arrives or wait passes, without a database connection while it
// waits. Each poll marks the agent online (written at most once per
// polling interval).
func (s *Service) Poll(ctx context.Context, p kernel.Principal, cursor string, wait time.Duration, limit int) (Page, error) {
	var (
		cur   int64
		given = cursor != ""
		err   error
	)
	if given {
		if cur, err = parseSeq("cursor", cursor); err != nil {
			return Page{}, err
		}
	}
	wait = min(max(wait, 0), domain.MaxWait)
	limit = kernel.Limit(limit, 50, 200)
	interval, err := s.recordPoll(ctx, p.AgentID)
	if err != nil {
		return Page{}, err
	}
	deadline := time.Now().Add(wait)
	for {
		var (
			woken  <-chan struct{}
			cancel = func() {}
		)
		if wait > 0 {
			// Subscribe before reading: an event committed between the
			// read and the wait still wakes us.
			woken, cancel = s.d.Waiter.Subscribe(p.AgentID)
		}
		page, err := s.take(ctx, p.AgentID, cur, given, limit)
		if err != nil || len(page.Events) > 0 || wait == 0 {
			cancel()
			page.PollAfter = pollAfter(page, limit, interval)
			return page, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			cancel()
			page.PollAfter = pollAfter(page, limit, interval)
			return page, nil
		}
		t := time.NewTimer(left)
		select {
		case <-woken:
			t.Stop()
		case <-s.draining:
			t.Stop()
			cancel()
			page.PollAfter = pollAfter(page, limit, interval)
			return page, nil
		case <-t.C:
			cancel()
			page.PollAfter = pollAfter(page, limit, interval)
			return page, nil
		case <-ctx.Done():
			t.Stop()
			cancel()
			return Page{}, ctx.Err()
		}
	}
}

func pollAfter(p Page, limit int, interval time.Duration) int {
	if len(p.Events) >= limit {
		return 0 // more are waiting
	}
	return int(interval / time.Second)
}

// take reads and leases one batch.
func (s *Service) take(ctx context.Context, agentID string, cursor int64, given bool, limit int) (Page, error) {
	f, err := s.feed(ctx, agentID)
	if err != nil {
		return Page{}, err
	}
	if given && cursor > f.LastSeq {
		return Page{}, kernel.Invalid(kernel.FieldError{Field: "cursor", Detail: "is ahead of your newest event"})
	}
	if !given {
		cursor = f.AckedSeq
	}
	if f.AckedSeq >= f.LastSeq {
		return Page{NextCursor: cursor}, nil // everything is acknowledged
	}
	now := s.d.Clock.Now()
	evs, err := s.d.Events.Take(ctx, agentID, f.AckedSeq, cursor, now, now.Add(domain.EventLease), limit)
	if err != nil {
		return Page{}, err
	}
	return Page{Events: evs, NextCursor: domain.NextCursor(cursor, evs)}, nil
}

// recordPoll marks the agent online, at most once per polling interval per
// process, and returns its interval (read from the marketplace at most
// every cadenceTTL).
func (s *Service) recordPoll(ctx context.Context, agentID string) (time.Duration, error) {
	now := s.d.Clock.Now()
	s.mu.Lock()
	c, ok := s.cadence[agentID]
	s.mu.Unlock()
	if !ok || now.Sub(c.fetched) > cadenceTTL {
		a, err := s.d.Agents.Agent(ctx, agentID)
		if err != nil {
			return 0, err
		}
		c.interval, c.fetched = time.Duration(a.Settings.PollingIntervalSeconds)*time.Second, now
	}
	if now.Sub(c.lastTouch) >= c.interval {
		if err := s.d.Agents.RecordPoll(ctx, agentID); err != nil {
			return 0, err
		}
		c.lastTouch = now
	}
	s.mu.Lock()
	s.cadence[agentID] = c
	if s.cadenceWrites++; s.cadenceWrites%4096 == 0 {
		for id, old := range s.cadence {
			if now.Sub(old.fetched) > cadenceSweep {
				delete(s.cadence, id) // an agent silent for a while
			}
		}
	}
	s.mu.Unlock()
	return c.interval, nil
}

// Ack acknowledges the agent's events up to and including upTo: they are
// never handed out again.
func (s *Service) Ack(ctx context.Context, p kernel.Principal, upTo string) error {
	n, err := parseSeq("up_to", upTo)
	if err != nil {
		return err
	}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Events.LockFeed(ctx, p.AgentID); err != nil {
			return err
		}
		f, err := s.d.Events.Feed(ctx, p.AgentID)
		if err != nil {
			return err
		}
		if n > f.LastSeq {
			return kernel.Invalid(kernel.FieldError{Field: "up_to", Detail: "is ahead of your newest event"})
		}
		return s.d.Events.Ack(ctx, p.AgentID, n)
	})
	// This process's cache learns of the ack at once; others keep a lower
	// acknowledged seq, which only sends their next poll to the database.
	s.feeds.invalidate(p.AgentID)
	return err
}

// PurgeEvents deletes events past the retention period (the periodic job).
func (s *Service) PurgeEvents(ctx context.Context) (int, error) {
	before := s.d.Clock.Now().Add(-domain.EventRetention)
	total := 0
	for {
		n, err := s.d.Events.Purge(ctx, before, 1000)
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}

// EventLease is how long a handed-out event waits for its acknowledgement.
const EventLease = domain.EventLease

// EventTypes are the event types this module emits.
var EventTypes = domain.EventTypes
