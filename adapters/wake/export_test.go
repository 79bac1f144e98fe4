package wake

// AgentCount is the number of agents with at least one waiter (map entries).
func (h *Hub) AgentCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.waiters)
}
