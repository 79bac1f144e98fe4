package ledger_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/domain"
	"github.com/heepr/heepr/modules/ledger/ledgertest"
)

// Every settlement with a fee credits the platform account, the one row
// they all share; settle takes its lock last, with the fee's credit, not
// up front (see settle). Payouts and partial refunds between the same
// users, crossing in both directions, race each other: none deadlocks or
// fails, and every point lands exactly once.
func TestSettlementsWithFeeConcurrently(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), ledger.Config{StarterPoints: 100_000, PlatformFeeBPS: 1000})
		users := []kernel.UserID{newUser(), newUser(), newUser()}
		for _, u := range users {
			require.NoError(t, l.GrantStarter(ctx, u))
		}
		const n = 24
		orders := make([]string, n)
		parties := func(i int) (cust, owner kernel.UserID) { return users[i%3], users[(i+1+i/3%2)%3] }
		for i := range orders {
			orders[i] = newOrder()
			cust, _ := parties(i)
			require.NoError(t, l.Hold(ctx, orders[i], cust, 100))
		}
		errs := race(n, func(i int) error {
			cust, owner := parties(i)
			if i%2 == 0 {
				_, err := l.Payout(ctx, orders[i], owner)
				return err
			}
			_, err := l.Refund(ctx, orders[i], cust, owner, 50)
			return err
		})
		for i, err := range errs {
			require.NoError(t, err, "order %d", i)
		}
		// A payout: 90 to the owner, 10 in fees; a half refund: 50 back, 45 to the owner, 5 in fees.
		require.Equal(t, kernel.Points(n/2*10+n/2*5), balanceOf(t, db, domain.Platform))
		ledgertest.RequireInvariants(t, l)
	})
}
