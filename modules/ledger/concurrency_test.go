package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/domain"
	"github.com/heepr/heepr/modules/ledger/ledgertest"
)

// race runs n functions at once (released together) and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// 64 holds race for a wallet worth exactly 10 of them. On SQLite (one
// connection) they queue; on Postgres they contend for the wallet's row.
func TestDoubleSpend(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), ledger.Config{StarterPoints: 1000})
		u := newUser()
		require.NoError(t, l.GrantStarter(ctx, u))
		orders := make([]string, 64)
		for i := range orders {
			orders[i] = newOrder()
		}
		errs := race(64, func(i int) error { return l.Hold(ctx, orders[i], u, 100) })

		var won []string
		lost := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won = append(won, orders[i])
			case errors.Is(err, kernel.ErrInsufficientPoints):
				lost++
			default:
				t.Fatalf("hold %d: unexpected error %v", i, err)
			}
		}
		require.Len(t, won, 10)
		require.Equal(t, 54, lost)
		requireWallet(t, l, u, 0, 1000)
		require.Equal(t, 10, countPostings(t, db, domain.Hold, ""))
		for _, o := range orders {
			want := kernel.Points(-1) // a refused hold leaves no escrow behind
			for _, w := range won {
				if w == o {
					want = 100
				}
			}
			require.Equal(t, want, balanceOf(t, db, domain.EscrowID(o)), "escrow of %s", o)
		}
		rows, _, err := l.Postings(ctx, u, ledger.Filter{Kind: string(domain.Hold)}, "", 0)
		require.NoError(t, err)
		require.Len(t, rows, 10)
		// Each hold saw the balance the previous one left.
		for i, p := range rows {
			require.Equal(t, kernel.Points(100*i), p.BalanceAfter, "hold %d from the newest", i)
		}
		ledgertest.RequireInvariants(t, l)
	})
}

// Payouts and refunds of one order race: exactly one settles it.
func TestConcurrentSettlement(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), ledger.Config{StarterPoints: 100_000, PlatformFeeBPS: 250})
		cust, owner := newUser(), newUser()
		require.NoError(t, l.GrantStarter(ctx, cust))
		require.NoError(t, l.GrantStarter(ctx, owner))

		const rounds = 12
		var custWant, ownerWant, feeWant kernel.Points = 100_000, 100_000, 0
		for round := range rounds {
			o := newOrder()
			require.NoError(t, l.Hold(ctx, o, cust, 400))
			custWant -= 400
			// Goroutine i: even ones pay out, odd ones refund (round 0 and 3: some in full).
			refundOf := func(i int) kernel.Points {
				if (round%3 == 0) && i%4 == 1 {
					return 400
				}
				return kernel.Points(10 * (i + round))
			}
			results := make([]ledger.Settlement, 8)
			errs := race(8, func(i int) error {
				var err error
				if i%2 == 0 {
					results[i], err = l.Payout(ctx, o, owner)
				} else {
					results[i], err = l.Refund(ctx, o, cust, owner, refundOf(i))
				}
				return err
			})
			winner := -1
			for i, err := range errs {
				msg := fmt.Sprintf("round %d goroutine %d", round, i)
				if err == nil {
					require.Equal(t, -1, winner, "%s: a second settlement (the first was %d)", msg, winner)
					winner = i
					continue
				}
				if errors.Is(err, ledger.ErrAlreadyApplied) {
					continue
				}
				requireCode(t, err, kernel.ErrConflict, "nothing-held", "%s: %v", msg, err)
			}
			require.NotEqual(t, -1, winner, "round %d: nobody settled the order: %v", round, errs)
			s := results[winner]
			require.Equal(t, kernel.Points(400), s.Refunded+s.Paid+s.Fee, "round %d: the whole escrow moved", round)
			if winner%2 == 0 {
				require.Zero(t, s.Refunded)
				require.Equal(t, 0, countPostings(t, db, domain.Refund, o))
			} else {
				require.Equal(t, refundOf(winner), s.Refunded)
				require.Equal(t, 1, countPostings(t, db, domain.Refund, o))
			}
			require.Equal(t, kernel.Points(0), balanceOf(t, db, domain.EscrowID(o)))
			require.LessOrEqual(t, countPostings(t, db, domain.Payout, o), 1)
			custWant += s.Refunded
			ownerWant += s.Paid
			feeWant += s.Fee
			requireWallet(t, l, cust, custWant, 0, "round %d", round)
			requireWallet(t, l, owner, ownerWant, 0, "round %d", round)
			require.Equal(t, feeWant, balanceOf(t, db, domain.Platform), "round %d", round)
		}
		ledgertest.RequireInvariants(t, l)
	})
}

// Goodwill and clawback refunds of one order, each asked for many times at once, happen once each.
func TestConcurrentRefundAfterPayout(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), ledger.Config{StarterPoints: 1000})
		cust, owner := newUser(), newUser()
		require.NoError(t, l.GrantStarter(ctx, cust))
		require.NoError(t, l.GrantStarter(ctx, owner))
		o := newOrder()
		require.NoError(t, l.Hold(ctx, o, cust, 300))
		_, err := l.Payout(ctx, o, owner)
		require.NoError(t, err)

		got := make([]kernel.Points, 8)
		errs := race(8, func(i int) error {
			src := ledger.FromOwner
			if i%2 == 1 {
				src = ledger.FromGoodwill
			}
			var err error
			got[i], err = l.RefundAfterPayout(ctx, o, cust, owner, 100, src)
			return err
		})
		ok := map[bool]int{}
		for i, err := range errs {
			if err == nil {
				ok[i%2 == 1]++
				require.Equal(t, kernel.Points(100), got[i])
				continue
			}
			require.ErrorIs(t, err, ledger.ErrAlreadyApplied, "goroutine %d", i)
		}
		require.Equal(t, map[bool]int{false: 1, true: 1}, ok, "one clawback and one goodwill")
		requireWallet(t, l, cust, 700+200, 0)
		requireWallet(t, l, owner, 1300-100, 0)
		ledgertest.RequireInvariants(t, l)
	})
}

// Starter grants for one user racing (a retried sign-up) grant once.
func TestConcurrentGrantStarter(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), defaults)
		u := newUser()
		errs := race(8, func(int) error { return l.GrantStarter(ctx, u) })
		n := 0
		for i, err := range errs {
			if err == nil {
				n++
				continue
			}
			require.ErrorIs(t, err, ledger.ErrAlreadyApplied, "goroutine %d", i)
		}
		require.Equal(t, 1, n)
		requireWallet(t, l, u, 1000, 0)
		require.Equal(t, 1, countPostings(t, db, domain.StarterGrant, ""))
		ledgertest.RequireInvariants(t, l)
	})
}

// Two users each bought from the other; both orders are partly refunded at
// once. Each settlement credits both wallets (refund to one, payout to the
// other) in opposite order: without locking every account up front, in id
// order, the two transactions deadlock.
func TestCrossRefundsDoNotDeadlock(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), ledger.Config{StarterPoints: 100_000, PlatformFeeBPS: 250})
		a, b := newUser(), newUser()
		require.NoError(t, l.GrantStarter(ctx, a))
		require.NoError(t, l.GrantStarter(ctx, b))
		for round := range 15 {
			orders := []string{newOrder(), newOrder(), newOrder(), newOrder()}
			// Orders 0 and 2: a buys from b; 1 and 3: b buys from a.
			parties := func(i int) (cust, owner kernel.UserID) {
				if i%2 == 0 {
					return a, b
				}
				return b, a
			}
			for i, o := range orders {
				cust, _ := parties(i)
				require.NoError(t, l.Hold(ctx, o, cust, 100))
			}
			errs := race(len(orders), func(i int) error {
				cust, owner := parties(i)
				_, err := l.Refund(ctx, orders[i], cust, owner, 30)
				return err
			})
			for i, err := range errs {
				require.NoError(t, err, "round %d order %d", round, i)
			}
		}
		// Each order: 30 back, 70 to the other side less a fee of 1. Each
		// user pays for two orders a round and is paid for two: 1 point apiece goes to fees.
		requireWallet(t, l, a, 100_000-15*2, 0)
		requireWallet(t, l, b, 100_000-15*2, 0)
		require.Equal(t, kernel.Points(15*4*1), balanceOf(t, db, domain.Platform))
		ledgertest.RequireInvariants(t, l)
	})
}
