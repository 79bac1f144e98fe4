package ledger_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/ledgertest"
)

func TestLedgerLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, nil, ledger.Config{StarterPoints: 1000, PlatformFeeBPS: 1000, ReviewRewardPoints: 10})
		cust, owner := kernel.UserID(kernel.NewID()), kernel.UserID(kernel.NewID())
		require.NoError(t, l.GrantStarter(ctx, cust))
		require.NoError(t, l.GrantStarter(ctx, owner))
		require.ErrorIs(t, l.GrantStarter(ctx, cust), ledger.ErrAlreadyApplied)
		require.NoError(t, l.Hold(ctx, "o1", cust, 300))
		err := l.Hold(ctx, "o2", cust, 800)
		require.True(t, errors.Is(err, kernel.ErrInsufficientPoints), "%v", err)
		w, err := l.Wallet(ctx, cust)
		require.NoError(t, err)
		require.Equal(t, ledger.Wallet{Balance: 700, Held: 300}, w)
		s, err := l.Payout(ctx, "o1", owner)
		require.NoError(t, err)
		require.Equal(t, ledger.Settlement{Paid: 270, Fee: 30}, s)
		_, err = l.Payout(ctx, "o1", owner)
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
		n, err := l.RefundAfterPayout(ctx, "o1", cust, owner, 5000, ledger.FromOwner)
		require.NoError(t, err)
		require.Equal(t, kernel.Points(1270), n)
		_, err = l.ReviewReward(ctx, "o1", cust)
		require.NoError(t, err)
		require.NoError(t, l.Hold(ctx, "o3", cust, 100))
		s, err = l.Refund(ctx, "o3", cust, owner, 40)
		require.NoError(t, err)
		require.Equal(t, ledger.Settlement{Refunded: 40, Paid: 54, Fee: 6}, s)
		rows, _, err := l.Postings(ctx, cust, ledger.Filter{}, "", 100)
		require.NoError(t, err)
		require.NotEmpty(t, rows)
		require.Equal(t, kernel.Points(1000-300+1270+10-100+40), rows[0].BalanceAfter)
		ledgertest.RequireInvariants(t, l)
		_, err = db.Bun.ExecContext(ctx, "UPDATE ledger_postings SET amount = 1")
		require.Error(t, err)
		_, err = db.Bun.ExecContext(ctx, "DELETE FROM ledger_entries")
		require.Error(t, err)
	})
}
