package ordering

import (
	"context"
	"sync"

	"github.com/heepr/heepr/modules/ordering/domain"
)

// feedCache keeps each agent's feed position (newest and acknowledged
// seq) in memory so that a poll with nothing new answers without reading
// the database. It is trusted only while the Waiter is Reliable: every
// event written anywhere then reaches Invalidate (the wake hub's
// notification) before any waiter wakes, and a lost connection ends with
// InvalidateAll.
//
// A read that raced with an invalidation must not be cached: each agent
// has a generation, bumped by Invalidate (and an epoch bumped by
// InvalidateAll); a feed read from the database is stored only if neither
// moved since the read began.
type feedCache struct {
	mu      sync.Mutex
	entries map[string]cachedFeed
	gens    map[string]uint64
	epoch   uint64
}

type cachedFeed struct {
	feed  domain.Feed
	gen   uint64
	epoch uint64
}

// ticket is what a database read of a feed must present to be cached.
type ticket struct{ gen, epoch uint64 }

func (c *feedCache) get(agentID string) (domain.Feed, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[agentID]
	if !ok || e.gen != c.gens[agentID] || e.epoch != c.epoch {
		return domain.Feed{}, false
	}
	return e.feed, true
}

// ticket is taken before reading the feed from the database.
func (c *feedCache) ticket(agentID string) ticket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ticket{gen: c.gens[agentID], epoch: c.epoch}
}

// put caches a feed read under t, unless it was invalidated meanwhile.
func (c *feedCache) put(agentID string, f domain.Feed, t ticket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.gen == c.gens[agentID] && t.epoch == c.epoch {
		c.entries[agentID] = cachedFeed{feed: f, gen: t.gen, epoch: t.epoch}
	}
}

func (c *feedCache) invalidate(agentID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gens[agentID]++
	delete(c.entries, agentID)
}

func (c *feedCache) invalidateAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	clear(c.entries)
}

// Invalidate drops what this process knows of the agent's feed: an event
// was written for it (the wake hub calls it before waking waiters).
func (s *Service) Invalidate(agentID string) { s.feeds.invalidate(agentID) }

// InvalidateAll drops every cached feed (the hub's listener reconnected).
func (s *Service) InvalidateAll() { s.feeds.invalidateAll() }

// feed reads the agent's feed position: from memory when the Waiter is
// reliable and it is cached, else from the database (and caches it).
func (s *Service) feed(ctx context.Context, agentID string) (domain.Feed, error) {
	reliable := s.d.Waiter.Reliable()
	if reliable {
		if f, ok := s.feeds.get(agentID); ok {
			return f, nil
		}
	}
	t := s.feeds.ticket(agentID)
	f, err := s.d.Events.Feed(ctx, agentID)
	if err == nil && reliable && s.d.Waiter.Reliable() {
		s.feeds.put(agentID, f, t)
	}
	return f, err
}
