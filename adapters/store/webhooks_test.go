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
	"github.com/heepr/heepr/modules/webhooks/domain"
)

// The delivery queue's conditional updates: a due delivery is claimed
// once however many jobs race for it; the sweep queues it once until its
// job has run; an attempt's outcome is written only by the attempt that
// claimed it; the log lists newest first; deleting the endpoint drops it all.
func TestWebhookDeliveryClaims(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := store.NewWebhooks(db)
		agent := newAgent(t, db)
		t0 := time.Now().UTC().Truncate(time.Microsecond)
		e := domain.Endpoint{AgentID: agent}.Register("https://hooks.example.com/", "whsec_a", t0)
		require.NoError(t, s.SaveEndpoint(ctx, e))
		e = e.Rotate("whsec_b", t0)
		require.NoError(t, s.SaveEndpoint(ctx, e), "saving again replaces")
		got, err := s.Endpoint(ctx, agent, false)
		require.NoError(t, err)
		require.Equal(t, e, got)

		d := domain.Delivery{ID: kernel.NewID(), AgentID: agent, EventSeq: 1, EventType: "message.created", Payload: []byte(`{"id":"1"}`),
			State: domain.StatePending, NextAttemptAt: &t0, CreatedAt: t0}
		require.NoError(t, db.InTx(ctx, func(ctx context.Context) error { return s.InsertDelivery(ctx, d, t0.Add(domain.AttemptLease)) }))
		dup := d
		dup.ID = kernel.NewID()
		require.Error(t, s.InsertDelivery(ctx, dup, t0), "one delivery per event")

		// Queued with its first job: the sweep leaves it alone until that has run.
		ids, err := s.QueueDue(ctx, t0, t0.Add(domain.AttemptLease), 10)
		require.NoError(t, err)
		require.Empty(t, ids)

		// Jobs racing for it: one claims it.
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				err := db.InTx(ctx, func(ctx context.Context) error {
					_, ok, err := s.ClaimDelivery(ctx, d.ID, t0, t0.Add(domain.AttemptLease))
					if ok {
						wins.Add(1)
					}
					return err
				})
				require.NoError(t, err)
			})
		}
		wg.Wait()
		require.EqualValues(t, 1, wins.Load())
		claimed, _ := s.Deliveries(ctx, agent, "", 10)
		require.Equal(t, 1, claimed[0].Attempts)
		require.Equal(t, t0.Add(domain.AttemptLease), *claimed[0].NextAttemptAt, "leased")

		// The outcome of attempt 1, then a stale write of attempt 1 again changes nothing.
		failed := claimed[0].Record(domain.Failed, 500, "HTTP 500", t0)
		ok, err := s.SaveAttempt(ctx, failed, t0.Add(domain.AttemptLease))
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.SaveAttempt(ctx, claimed[0].Record(domain.Delivered, 200, "", t0), t0.Add(domain.AttemptLease))
		require.NoError(t, err)
		require.False(t, ok, "the attempt was recorded already")
		log, err := s.Deliveries(ctx, agent, "", 10)
		require.NoError(t, err)
		require.Equal(t, domain.StatePending, log[0].State)
		require.Equal(t, 500, log[0].LastStatus)
		require.Equal(t, "HTTP 500", log[0].LastError)
		require.Equal(t, t0.Add(30*time.Second), *log[0].NextAttemptAt)
		require.JSONEq(t, `{"id":"1"}`, string(log[0].Payload))

		// Not due yet; then due and queued once.
		ids, err = s.QueueDue(ctx, t0.Add(29*time.Second), t0.Add(time.Hour), 10)
		require.NoError(t, err)
		require.Empty(t, ids)
		at := t0.Add(30 * time.Second)
		ids, err = s.QueueDue(ctx, at, at.Add(domain.AttemptLease), 10)
		require.NoError(t, err)
		require.Equal(t, []string{d.ID}, ids)
		ids, err = s.QueueDue(ctx, at, at.Add(domain.AttemptLease), 10)
		require.NoError(t, err)
		require.Empty(t, ids, "queued already")
		_, ok, err = s.ClaimDelivery(ctx, d.ID, at.Add(-time.Second), at.Add(time.Minute))
		require.NoError(t, err)
		require.False(t, ok, "not due by that clock")

		// A second delivery; the log is newest first and pages by id.
		d2 := d
		d2.ID, d2.EventSeq = kernel.NewID(), 2
		require.NoError(t, s.InsertDelivery(ctx, d2, t0))
		log, err = s.Deliveries(ctx, agent, "", 10)
		require.NoError(t, err)
		require.Equal(t, []string{d2.ID, d.ID}, []string{log[0].ID, log[1].ID})
		log, err = s.Deliveries(ctx, agent, d2.ID, 10)
		require.NoError(t, err)
		require.Len(t, log, 1)

		n, err := s.FailPending(ctx, agent, "the endpoint was disabled")
		require.NoError(t, err)
		require.Equal(t, 2, n)
		log, _ = s.Deliveries(ctx, agent, "", 10)
		for _, x := range log {
			require.Equal(t, domain.StateFailed, x.State)
			require.Nil(t, x.NextAttemptAt)
		}
		purged, err := s.Purge(ctx, t0.Add(time.Second), 10)
		require.NoError(t, err)
		require.Equal(t, 2, purged)

		require.NoError(t, s.InsertDelivery(ctx, d, t0))
		require.NoError(t, s.DeleteEndpoint(ctx, agent))
		_, err = s.Endpoint(ctx, agent, false)
		require.ErrorIs(t, err, kernel.ErrNotFound)
		log, err = s.Deliveries(ctx, agent, "", 10)
		require.NoError(t, err)
		require.Empty(t, log)
	})
}
