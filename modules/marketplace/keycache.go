package marketplace

import (
	"context"
	"sync"
)

// keyCache remembers which agent a key's HMAC belongs to, so that an agent's
// requests (a poll every few seconds, most of them answered from memory by
// the ordering module's feed cache) need not read the agents table to
// authenticate. Only found keys are cached: an unknown key always reads the
// database.
//
// It is trusted only while Deps.KeysReliable says every key change made by
// any process reaches ForgetKey (the wake hub is listening, ADR 6 and 13):
// RotateKey wakes the agent through Deps.OnKeyChanged in its transaction,
// and the hub calls ForgetKey before waking waiters, ForgetKeys after a
// reconnect.
//
// A database read that raced with a rotation must not be cached: the cache
// has a generation, bumped by every ForgetKey and ForgetKeys, and a read is
// stored only if the generation did not move while it ran. Rotations are
// rare, so one generation for all agents costs nothing.
type keyCache struct {
	mu      sync.Mutex
	byHash  map[string]string // key HMAC → agent id
	byAgent map[string]string // agent id → key HMAC
	gen     uint64
}

// maxCachedKeys bounds the cache; past it the cache starts again empty.
const maxCachedKeys = 200_000

func (c *keyCache) get(hash string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.byHash[hash]
	return id, ok
}

func (c *keyCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *keyCache) put(hash, agentID string, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.byHash == nil || len(c.byHash) >= maxCachedKeys {
		c.byHash, c.byAgent = map[string]string{}, map[string]string{}
	}
	if old, ok := c.byAgent[agentID]; ok {
		delete(c.byHash, old)
	}
	c.byHash[hash], c.byAgent[agentID] = agentID, hash
}

func (c *keyCache) forget(agentID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if hash, ok := c.byAgent[agentID]; ok {
		delete(c.byHash, hash)
		delete(c.byAgent, agentID)
	}
}

func (c *keyCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.byHash)
	clear(c.byAgent)
}

// ForgetKey drops what this process remembers of the agent's key: it may
// have changed (the wake hub calls it for every agent it is told of).
func (s *Service) ForgetKey(agentID string) { s.keys.forget(agentID) }

// ForgetKeys drops every remembered key (the hub's listener reconnected and
// may have missed a change).
func (s *Service) ForgetKeys() { s.keys.forgetAll() }

// agentByKeyHash finds the agent a key's HMAC belongs to: from memory when
// key changes are known to reach this process, else from the database.
func (s *Service) agentByKeyHash(ctx context.Context, hash string) (string, error) {
	reliable := s.d.KeysReliable != nil && s.d.KeysReliable()
	if reliable {
		if id, ok := s.keys.get(hash); ok {
			return id, nil
		}
	}
	gen := s.keys.generation()
	id, err := s.d.Agents.IDByKeyHash(ctx, hash)
	if err == nil && reliable && s.d.KeysReliable() {
		s.keys.put(hash, id, gen)
	}
	return id, err
}
