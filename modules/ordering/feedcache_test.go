package ordering

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/ordering/domain"
)

func TestFeedCache(t *testing.T) {
	t.Parallel()
	var c feedCache
	c.entries, c.gens = map[string]cachedFeed{}, map[string]uint64{}
	f := domain.Feed{LastSeq: 5, AckedSeq: 5}

	_, ok := c.get("a")
	require.False(t, ok, "empty")
	c.put("a", f, c.ticket("a"))
	got, ok := c.get("a")
	require.True(t, ok)
	require.Equal(t, f, got)

	// An event for a drops its entry; another agent's keeps.
	c.put("b", f, c.ticket("b"))
	c.invalidate("a")
	_, ok = c.get("a")
	require.False(t, ok)
	_, ok = c.get("b")
	require.True(t, ok)

	// A read that began before an invalidation is not cached: it may have
	// missed the event that caused it.
	t1 := c.ticket("a")
	c.invalidate("a")
	c.put("a", f, t1)
	_, ok = c.get("a")
	require.False(t, ok, "a stale read must not be cached")

	// The same for everything at once (the listener reconnected).
	t2 := c.ticket("a")
	c.invalidateAll()
	c.put("a", f, t2)
	_, ok = c.get("a")
	require.False(t, ok)
	_, ok = c.get("b")
	require.False(t, ok, "everything is dropped")
	c.put("a", f, c.ticket("a"))
	_, ok = c.get("a")
	require.True(t, ok, "a fresh read is cached again")
}
