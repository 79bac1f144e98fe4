package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace"
)

// newAgent inserts an owner and a draft agent and returns the agent's id.
func newAgent(t *testing.T, db *store.DB) string {
	t.Helper()
	owner := newOwner(t, db)
	svc := marketplace.New(marketplace.Deps{Tx: db, Jobs: noJobs{}, Clock: kernel.SystemClock{}, Agents: store.NewMarketplace(db), KeyHMAC: []byte("k")})
	c, err := svc.CreateAgent(context.Background(), owner, "feed-"+kernel.NewID()[24:], settings("Feed", "Events", "Has events.", 10))
	require.NoError(t, err)
	return c.Agent.ID
}

// A reader that follows an agent's feed by cursor while many transactions
// append to it concurrently sees every event exactly once: seqs commit in
// order (the feed row's lock), so a cursor never passes an event that
// commits later.
func TestEventSeqsCommitInOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		agent := newAgent(t, db)
		var signals atomic.Int64
		ev := store.NewOrdering(db, func(string) { signals.Add(1) })
		const writers, each = 8, 25
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				for range each {
					err := db.InTx(ctx, func(ctx context.Context) error {
						if err := ev.LockFeed(ctx, agent); err != nil {
							return err
						}
						if _, err := ev.Append(ctx, agent, "message.created", map[string]any{"n": 1}, time.Now().UTC()); err != nil {
							return err
						}
						time.Sleep(time.Millisecond) // hold the transaction open a little
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		seen := map[int64]bool{}
		var cursor int64
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		read := func() {
			now := time.Now().UTC()
			evs, err := ev.Take(ctx, agent, 0, cursor, now, now.Add(time.Hour), 1000)
			require.NoError(t, err)
			for _, e := range evs {
				require.False(t, seen[e.Seq], "seq %d handed out twice after the cursor", e.Seq)
				seen[e.Seq] = true
				cursor = max(cursor, e.Seq)
			}
		}
		for finished := false; !finished; {
			select {
			case <-done:
				finished = true
			default:
			}
			read()
		}
		read()
		require.Len(t, seen, writers*each, "every event seen once")
		f, err := ev.Feed(ctx, agent)
		require.NoError(t, err)
		require.Equal(t, int64(writers*each), f.LastSeq)
		for seq := int64(1); seq <= f.LastSeq; seq++ {
			require.True(t, seen[seq], "seq %d was skipped", seq)
		}
		require.Equal(t, int64(writers*each), signals.Load(), "this process's waiters are woken after each commit")
	})
}

// A rolled-back append leaves no event, uses no seq and wakes no one.
func TestEventAppendRolledBack(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		agent := newAgent(t, db)
		var signals atomic.Int64
		ev := store.NewOrdering(db, func(string) { signals.Add(1) })
		err := db.InTx(ctx, func(ctx context.Context) error {
			if _, err := ev.Append(ctx, agent, "message.created", map[string]any{}, time.Now().UTC()); err != nil {
				return err
			}
			return context.Canceled
		})
		require.ErrorIs(t, err, context.Canceled)
		f, err := ev.Feed(ctx, agent)
		require.NoError(t, err)
		require.Zero(t, f.LastSeq)
		require.Zero(t, signals.Load())
	})
}
