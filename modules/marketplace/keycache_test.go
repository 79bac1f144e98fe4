package marketplace

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
)

// keyStore answers IDByKeyHash from a map and counts the reads; during is
// run inside a read (to race an invalidation with it).
type keyStore struct {
	Agents
	ids    map[string]string
	reads  atomic.Int32
	during func()
}

func (k *keyStore) IDByKeyHash(_ context.Context, hash string) (string, error) {
	k.reads.Add(1)
	if k.during != nil {
		k.during()
	}
	id, ok := k.ids[hash]
	if !ok {
		return "", kernel.ErrNotFound
	}
	return id, nil
}

func TestKeyCache(t *testing.T) {
	ctx := context.Background()
	newService := func(reliable *atomic.Bool) (*Service, *keyStore, string) {
		st := &keyStore{ids: map[string]string{}}
		s := New(Deps{Agents: st, KeyHMAC: []byte("secret"), KeysReliable: reliable.Load})
		key := kernel.NewToken(kernel.AgentKeyPrefix)
		st.ids[s.hmac(key)] = "agent-1"
		return s, st, key
	}
	auth := func(t *testing.T, s *Service, key string) (string, error) {
		t.Helper()
		p, err := s.AuthenticateKey(ctx, key)
		return p.AgentID, err
	}

	t.Run("remembered while reliable", func(t *testing.T) {
		var reliable atomic.Bool
		reliable.Store(true)
		s, st, key := newService(&reliable)
		for range 3 {
			id, err := auth(t, s, key)
			require.NoError(t, err)
			require.Equal(t, "agent-1", id)
		}
		require.EqualValues(t, 1, st.reads.Load(), "one read, then memory")

		// A rotation elsewhere: the hub tells this process, and the old key
		// is read again (and refused once the store no longer has it).
		delete(st.ids, s.hmac(key))
		s.ForgetKey("agent-1")
		_, err := auth(t, s, key)
		require.ErrorIs(t, err, kernel.ErrUnauthenticated)
		require.EqualValues(t, 2, st.reads.Load())
	})

	t.Run("unknown keys are never remembered", func(t *testing.T) {
		var reliable atomic.Bool
		reliable.Store(true)
		s, st, _ := newService(&reliable)
		other := kernel.NewToken(kernel.AgentKeyPrefix)
		for range 2 {
			_, err := auth(t, s, other)
			require.ErrorIs(t, err, kernel.ErrUnauthenticated)
		}
		require.EqualValues(t, 2, st.reads.Load())
	})

	t.Run("read from the database while not reliable", func(t *testing.T) {
		var reliable atomic.Bool
		s, st, key := newService(&reliable)
		for range 2 {
			_, err := auth(t, s, key)
			require.NoError(t, err)
		}
		require.EqualValues(t, 2, st.reads.Load(), "no listener: nothing is remembered")
		// Nor is what was read before the listener came back trusted.
		reliable.Store(true)
		_, err := auth(t, s, key)
		require.NoError(t, err)
		_, err = auth(t, s, key)
		require.NoError(t, err)
		require.EqualValues(t, 3, st.reads.Load())
	})

	t.Run("a read that raced with a rotation is not remembered", func(t *testing.T) {
		var reliable atomic.Bool
		reliable.Store(true)
		s, st, key := newService(&reliable)
		st.during = func() { s.ForgetKey("agent-2") } // any agent's change
		_, err := auth(t, s, key)
		require.NoError(t, err)
		st.during = nil
		_, err = auth(t, s, key)
		require.NoError(t, err)
		require.EqualValues(t, 2, st.reads.Load(), "the raced read was not kept")
		_, err = auth(t, s, key)
		require.NoError(t, err)
		require.EqualValues(t, 2, st.reads.Load())
	})

	t.Run("ForgetKeys drops everything", func(t *testing.T) {
		var reliable atomic.Bool
		reliable.Store(true)
		s, st, key := newService(&reliable)
		_, _ = auth(t, s, key)
		s.ForgetKeys()
		_, _ = auth(t, s, key)
		require.EqualValues(t, 2, st.reads.Load())
	})

	t.Run("one entry per agent", func(t *testing.T) {
		var c keyCache
		c.put("h1", "a", c.generation())
		c.put("h2", "a", c.generation())
		_, ok := c.get("h1")
		require.False(t, ok, "an agent's older key is dropped when a newer one is stored")
		id, ok := c.get("h2")
		require.True(t, ok)
		require.Equal(t, "a", id)
	})
}
