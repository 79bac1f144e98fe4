package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/moderation"
)

// stepClock moves a microsecond per reading (distinct times, as both databases keep them).
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Microsecond)
	return c.t
}

func TestAuditLogIsChainedAndAppendOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := moderation.New(db, &stepClock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}, store.NewAudit(db))
		v, err := svc.Verify(ctx)
		require.NoError(t, err)
		require.Equal(t, moderation.Verification{}, v, "an empty log verifies")

		// Concurrent appends: numbered without gaps, one chain.
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				_, err := svc.Record(ctx, "user:u"+fmt.Sprint(i%3), "identity.role_enabled", "user:t", "asked")
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		v, err = svc.Verify(ctx)
		require.NoError(t, err)
		require.Equal(t, moderation.Verification{Entries: 20}, v)

		// A rolled-back action leaves no entry.
		err = db.InTx(ctx, func(ctx context.Context) error {
			if _, err := svc.Record(ctx, "user:a", "marketplace.key_rotated", "agent:x", ""); err != nil {
				return err
			}
			return context.Canceled
		})
		require.ErrorIs(t, err, context.Canceled)
		v, err = svc.Verify(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 20, v.Entries)

		// The database refuses to change or remove entries.
		_, err = db.Bun.ExecContext(ctx, "UPDATE audit_events SET reason = 'edited' WHERE seq = 5")
		require.ErrorContains(t, err, "append-only")
		_, err = db.Bun.ExecContext(ctx, "DELETE FROM audit_events WHERE seq = 5")
		require.ErrorContains(t, err, "append-only")

		// Past the guard (an operator with the database's keys), an edit
		// is found and named by Verify.
		if db.Dialect == store.Postgres {
			_, err = db.Bun.ExecContext(ctx, "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
		} else {
			_, err = db.Bun.ExecContext(ctx, "DROP TRIGGER audit_events_no_update")
		}
		require.NoError(t, err)
		_, err = db.Bun.ExecContext(ctx, "UPDATE audit_events SET reason = 'edited' WHERE seq = 7")
		require.NoError(t, err)
		v, err = svc.Verify(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(7), v.FirstBad)

		// Invalid entries are refused.
		_, err = svc.Record(ctx, "", "x.y", "user:t", "")
		require.ErrorIs(t, err, kernel.ErrInvalid)
	})
}
