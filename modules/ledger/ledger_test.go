package ledger_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/domain"
	"github.com/heepr/heepr/modules/ledger/ledgertest"
)

var defaults = ledger.Config{StarterPoints: 1000, PlatformFeeBPS: 0, ReviewRewardPoints: 10}

func TestGrantStarterOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := newClock()
		l := ledgertest.New(db, clock, defaults)
		u := newUser()
		require.NoError(t, l.GrantStarter(ctx, u))
		require.ErrorIs(t, l.GrantStarter(ctx, u), ledger.ErrAlreadyApplied)
		require.ErrorIs(t, l.GrantStarter(ctx, u), ledger.ErrAlreadyApplied)
		requireWallet(t, l, u, 1000, 0)
		require.Equal(t, 1, countPostings(t, db, domain.StarterGrant, ""))
		require.Equal(t, kernel.Points(-1000), balanceOf(t, db, domain.Mint), "the mint issued the points")

		rows, next, err := l.Postings(ctx, u, ledger.Filter{}, "", 0)
		require.NoError(t, err)
		require.Empty(t, next)
		require.Len(t, rows, 1)
		p := rows[0]
		require.Equal(t, domain.StarterGrant, p.Kind)
		require.Equal(t, kernel.Points(1000), p.Amount)
		require.Equal(t, kernel.Points(1000), p.BalanceAfter)
		require.Empty(t, p.OrderID)
		require.Equal(t, "Starter points", p.Memo)
		require.True(t, clock.Now().Equal(p.CreatedAt), "created at the injected time: %s", p.CreatedAt)
		require.Equal(t, time.UTC, p.CreatedAt.Location())

		// Another user gets their own grant.
		v := newUser()
		require.NoError(t, l.GrantStarter(ctx, v))
		requireWallet(t, l, v, 1000, 0)
		require.Equal(t, kernel.Points(-2000), balanceOf(t, db, domain.Mint))
		ledgertest.RequireInvariants(t, l)
	})
}

func TestGrantStarterZeroOpensWalletOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), ledger.Config{StarterPoints: 0})
		u := newUser()
		require.NoError(t, l.GrantStarter(ctx, u))
		require.NoError(t, l.GrantStarter(ctx, u), "nothing to grant twice")
		require.Equal(t, kernel.Points(0), balanceOf(t, db, domain.WalletID(u)), "the wallet exists")
		require.Equal(t, 0, totalPostings(t, db))
		requireWallet(t, l, u, 0, 0)
		ledgertest.RequireInvariants(t, l)
	})
}

func TestHoldValidation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), defaults)
		u := newUser()
		require.NoError(t, l.GrantStarter(ctx, u))
		for _, amount := range []kernel.Points{0, -1, -1000} {
			o := newOrder()
			err := l.Hold(ctx, o, u, amount)
			requireCode(t, err, kernel.ErrInvalid, "validation", "amount %d", amount)
			e, _ := kernel.As(err)
			require.Equal(t, "price", e.Fields[0].Field)
			require.Equal(t, kernel.Points(-1), balanceOf(t, db, domain.EscrowID(o)), "no escrow opened for amount %d", amount)
		}

		// More than the balance: a clear error, nothing changes (not even the escrow account).
		o := newOrder()
		err := l.Hold(ctx, o, u, 1001)
		requireCode(t, err, kernel.ErrInsufficientPoints, "insufficient-points")
		require.Contains(t, err.Error(), "1001 needed, 1000 available")
		require.Equal(t, kernel.Points(-1), balanceOf(t, db, domain.EscrowID(o)))

		// A user without a wallet has nothing to spend.
		stranger := newUser()
		requireCode(t, l.Hold(ctx, newOrder(), stranger, 1), kernel.ErrInsufficientPoints, "insufficient-points")
		require.Equal(t, 1, totalPostings(t, db), "only the starter grant")
		requireWallet(t, l, u, 1000, 0)

		// The whole balance can be held.
		require.NoError(t, l.Hold(ctx, o, u, 1000))
		requireWallet(t, l, u, 0, 1000)
		ledgertest.RequireInvariants(t, l)
	})
}

func TestHoldTwiceIsAppliedOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), defaults)
		u, other := newUser(), newUser()
		require.NoError(t, l.GrantStarter(ctx, u))
		require.NoError(t, l.GrantStarter(ctx, other))
		o := newOrder()
		require.NoError(t, l.Hold(ctx, o, u, 300))
		before := allBalances(t, db)
		require.ErrorIs(t, l.Hold(ctx, o, u, 300), ledger.ErrAlreadyApplied)
		require.ErrorIs(t, l.Hold(ctx, o, u, 50), ledger.ErrAlreadyApplied, "another amount")
		require.ErrorIs(t, l.Hold(ctx, o, u, 5000), ledger.ErrAlreadyApplied, "the repeat is spotted before the balance")
		require.ErrorIs(t, l.Hold(ctx, o, other, 300), ledger.ErrAlreadyApplied, "another customer")
		require.Equal(t, before, allBalances(t, db))
		require.Equal(t, 1, countPostings(t, db, domain.Hold, o))
		requireWallet(t, l, u, 700, 300)
		requireWallet(t, l, other, 1000, 0)
		ledgertest.RequireInvariants(t, l)
	})
}

func TestPayoutWithFee(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), ledger.Config{StarterPoints: 1000, PlatformFeeBPS: 250})
		cust, owner := newUser(), newUser()
		require.NoError(t, l.GrantStarter(ctx, cust))
		require.NoError(t, l.GrantStarter(ctx, owner))

		o1 := newOrder()
		require.NoError(t, l.Hold(ctx, o1, cust, 101))
		s, err := l.Payout(ctx, o1, owner)
		require.NoError(t, err)
		// 2.525 % of 101 is rounded down to 2: the owner keeps the odd point.
		require.Equal(t, ledger.Settlement{Paid: 99, Fee: 2}, s)
		requireWallet(t, l, owner, 1099, 0)
		requireWallet(t, l, cust, 899, 0)
		require.Equal(t, kernel.Points(2), balanceOf(t, db, domain.Platform))
		require.Equal(t, kernel.Points(0), balanceOf(t, db, domain.EscrowID(o1)))

		// Paying out again changes nothing.
		_, err = l.Payout(ctx, o1, owner)
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
		requireWallet(t, l, owner, 1099, 0)
		require.Equal(t, kernel.Points(2), balanceOf(t, db, domain.Platform))

		// Small amounts pay no fee (no zero-amount fee posting).
		o2 := newOrder()
		require.NoError(t, l.Hold(ctx, o2, cust, 39))
		s, err = l.Payout(ctx, o2, owner)
		require.NoError(t, err)
		require.Equal(t, ledger.Settlement{Paid: 39}, s)
		require.Equal(t, 0, countPostings(t, db, domain.Fee, o2))
		require.Equal(t, kernel.Points(2), balanceOf(t, db, domain.Platform))

		// The fee grows the platform account.
		o3 := newOrder()
		require.NoError(t, l.Hold(ctx, o3, cust, 400))
		s, err = l.Payout(ctx, o3, owner)
		require.NoError(t, err)
		require.Equal(t, ledger.Settlement{Paid: 390, Fee: 10}, s)
		require.Equal(t, kernel.Points(12), balanceOf(t, db, domain.Platform))
		requireWallet(t, l, owner, 1099+39+390, 0)

		// The postings carry the order id, so the owner can reconcile.
		rows, _, err := l.Postings(ctx, owner, ledger.Filter{OrderID: o3}, "", 0)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		require.Equal(t, domain.Payout, rows[0].Kind)
		require.Equal(t, o3, rows[0].OrderID)
		require.Equal(t, kernel.Points(390), rows[0].Amount)
		require.Equal(t, 1, countPostings(t, db, domain.Fee, o3))

		// An owner without a wallet gets one.
		o4, fresh := newOrder(), newUser()
		require.NoError(t, l.Hold(ctx, o4, cust, 10))
		_, err = l.Payout(ctx, o4, fresh)
		require.NoError(t, err)
		requireWallet(t, l, fresh, 10, 0)
		ledgertest.RequireInvariants(t, l)
	})
}

func TestPayoutFullFee(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), ledger.Config{StarterPoints: 1000, PlatformFeeBPS: 10_000})
		cust, owner := newUser(), newUser()
		require.NoError(t, l.GrantStarter(ctx, cust))
		o := newOrder()
		require.NoError(t, l.Hold(ctx, o, cust, 100))
		s, err := l.Payout(ctx, o, owner)
		require.NoError(t, err)
		require.Equal(t, ledger.Settlement{Fee: 100}, s)
		require.Equal(t, kernel.Points(100), balanceOf(t, db, domain.Platform))
		require.Equal(t, 0, countPostings(t, db, domain.Payout, o), "no zero-amount payout")
		_, err = l.Payout(ctx, o, owner)
		require.Error(t, err, "the escrow is empty")
		require.Equal(t, kernel.Points(100), balanceOf(t, db, domain.Platform))
		ledgertest.RequireInvariants(t, l)
	})
}

func TestPayoutWithoutHold(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), defaults)
		owner := newUser()
		_, err := l.Payout(ctx, newOrder(), owner)
		requireCode(t, err, kernel.ErrConflict, "nothing-held")
		_, err = l.Refund(ctx, newOrder(), newUser(), owner, 1)
		requireCode(t, err, kernel.ErrConflict, "nothing-held")
		require.Equal(t, kernel.Points(-1), balanceOf(t, db, domain.WalletID(owner)), "no wallet opened on a failed payout")
		require.Equal(t, 0, totalPostings(t, db))
		ledgertest.RequireInvariants(t, l)
	})
}

func TestRefundSplits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), ledger.Config{StarterPoints: 1000, PlatformFeeBPS: 250})
		cust, owner := newUser(), newUser()
		require.NoError(t, l.GrantStarter(ctx, cust))
		require.NoError(t, l.GrantStarter(ctx, owner))

		// A full refund pays the owner nothing.
		full := newOrder()
		require.NoError(t, l.Hold(ctx, full, cust, 200))
		s, err := l.Refund(ctx, full, cust, owner, 200)
		require.NoError(t, err)
		require.Equal(t, ledger.Settlement{Refunded: 200}, s)
		requireWallet(t, l, cust, 1000, 0)
		requireWallet(t, l, owner, 1000, 0)
		require.Equal(t, kernel.Points(0), balanceOf(t, db, domain.Platform))
		require.Equal(t, 0, countPostings(t, db, domain.Payout, full))
		require.Equal(t, 0, countPostings(t, db, domain.Fee, full))

		// A second refund of a refunded order is already applied; its payout finds nothing.
		_, err = l.Refund(ctx, full, cust, owner, 1)
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
		_, err = l.Payout(ctx, full, owner)
		requireCode(t, err, kernel.ErrConflict, "nothing-held")

		// Invalid amounts: a clear error and nothing changes.
		part := newOrder()
		require.NoError(t, l.Hold(ctx, part, cust, 200))
		before := allBalances(t, db)
		for _, amount := range []kernel.Points{0, -5, 201, 10_000} {
			_, err = l.Refund(ctx, part, cust, owner, amount)
			requireCode(t, err, kernel.ErrInvalid, "validation", "refund %d", amount)
			require.Contains(t, err.Error(), "between 1 and 200")
		}
		require.Equal(t, before, allBalances(t, db))

		// A partial refund pays the rest to the owner, less the fee.
		s, err = l.Refund(ctx, part, cust, owner, 50)
		require.NoError(t, err)
		// 150 to the owner side: fee 3.75 rounded down to 3.
		require.Equal(t, ledger.Settlement{Refunded: 50, Paid: 147, Fee: 3}, s)
		requireWallet(t, l, cust, 1000-200+50, 0)
		requireWallet(t, l, owner, 1147, 0)
		require.Equal(t, kernel.Points(3), balanceOf(t, db, domain.Platform))
		require.Equal(t, kernel.Points(0), balanceOf(t, db, domain.EscrowID(part)))

		// The escrow is settled: the payout already happened, and so did the refund.
		_, err = l.Payout(ctx, part, owner)
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
		_, err = l.Refund(ctx, part, cust, owner, 50)
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied)

		// A refund of a paid-out order is refused: the escrow is gone.
		paid := newOrder()
		require.NoError(t, l.Hold(ctx, paid, cust, 100))
		_, err = l.Payout(ctx, paid, owner)
		require.NoError(t, err)
		before = allBalances(t, db)
		_, err = l.Refund(ctx, paid, cust, owner, 100)
		requireCode(t, err, kernel.ErrConflict, "nothing-held")
		require.Equal(t, before, allBalances(t, db))
		require.Equal(t, 0, countPostings(t, db, domain.Refund, paid))
		ledgertest.RequireInvariants(t, l)
	})
}

func TestRefundAfterPayout(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), defaults)
		cust, owner := newUser(), newUser()
		require.NoError(t, l.GrantStarter(ctx, cust))

		// Before payout: refund from the escrow instead.
		o := newOrder()
		require.NoError(t, l.Hold(ctx, o, cust, 100))
		for _, src := range []ledger.RefundSource{ledger.FromOwner, ledger.FromGoodwill, "bogus"} {
			_, err := l.RefundAfterPayout(ctx, o, cust, owner, 50, src)
			requireCode(t, err, kernel.ErrConflict, "not-paid-out", "source %s", src)
		}
		_, err := l.RefundAfterPayout(ctx, newOrder(), cust, owner, 50, ledger.FromGoodwill)
		requireCode(t, err, kernel.ErrConflict, "not-paid-out", "an order that never existed")

		// The owner (no starter points) is paid 100, then spends all of it.
		_, err = l.Payout(ctx, o, owner)
		require.NoError(t, err)
		requireWallet(t, l, owner, 100, 0)
		spend := newOrder()
		require.NoError(t, l.Hold(ctx, spend, owner, 100))
		requireWallet(t, l, owner, 0, 100)

		// Bad input first: amount and source.
		for _, amount := range []kernel.Points{0, -1} {
			_, err = l.RefundAfterPayout(ctx, o, cust, owner, amount, ledger.FromGoodwill)
			requireCode(t, err, kernel.ErrInvalid, "validation", "amount %d", amount)
		}
		_, err = l.RefundAfterPayout(ctx, o, cust, owner, 10, "bogus")
		requireCode(t, err, kernel.ErrInvalid, "validation")

		// Clawback from an owner with nothing: insufficient points, nothing changes.
		before := allBalances(t, db)
		n, err := l.RefundAfterPayout(ctx, o, cust, owner, 50, ledger.FromOwner)
		requireCode(t, err, kernel.ErrInsufficientPoints, "insufficient-points")
		require.Zero(t, n)
		require.Equal(t, before, allBalances(t, db))

		// The owner gets 60 back; a clawback of 100 takes at most those 60.
		_, err = l.Refund(ctx, spend, owner, cust, 60)
		require.NoError(t, err)
		requireWallet(t, l, owner, 60, 0)
		requireWallet(t, l, cust, 900+40, 0)
		n, err = l.RefundAfterPayout(ctx, o, cust, owner, 100, ledger.FromOwner)
		require.NoError(t, err)
		require.Equal(t, kernel.Points(60), n, "capped at the owner's balance")
		requireWallet(t, l, owner, 0, 0)
		requireWallet(t, l, cust, 1000, 0)
		require.Equal(t, 1, countPostings(t, db, domain.Clawback, o))

		// Once per order.
		require.NoError(t, l.GrantStarter(ctx, owner))
		_, err = l.RefundAfterPayout(ctx, o, cust, owner, 10, ledger.FromOwner)
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
		requireWallet(t, l, owner, 1000, 0)

		// Goodwill for the rest comes from the mint, once.
		mint := balanceOf(t, db, domain.Mint)
		before = allBalances(t, db)
		n, err = l.RefundAfterPayout(ctx, o, cust, owner, 40, ledger.FromGoodwill)
		require.NoError(t, err)
		require.Equal(t, kernel.Points(40), n)
		require.Equal(t, mint-40, balanceOf(t, db, domain.Mint))
		requireWallet(t, l, cust, 1040, 0)
		requireWallet(t, l, owner, 1000, 0, "the owner pays nothing for goodwill")
		require.Equal(t, before[domain.Platform], balanceOf(t, db, domain.Platform))
		_, err = l.RefundAfterPayout(ctx, o, cust, owner, 40, ledger.FromGoodwill)
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
		requireWallet(t, l, cust, 1040, 0)

		rows, _, err := l.Postings(ctx, cust, ledger.Filter{OrderID: o}, "", 0)
		require.NoError(t, err)
		require.Len(t, rows, 3)
		require.Equal(t, []domain.PostingKind{domain.Goodwill, domain.Clawback, domain.Hold},
			[]domain.PostingKind{rows[0].Kind, rows[1].Kind, rows[2].Kind})
		require.Equal(t, []kernel.Points{40, 60, -100}, []kernel.Points{rows[0].Amount, rows[1].Amount, rows[2].Amount})
		ledgertest.RequireInvariants(t, l)
	})
}

func TestReviewReward(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), defaults)
		u, v := newUser(), newUser()
		require.NoError(t, l.GrantStarter(ctx, u))
		o := newOrder()
		n, err := l.ReviewReward(ctx, o, u)
		require.NoError(t, err)
		require.Equal(t, kernel.Points(10), n)
		requireWallet(t, l, u, 1010, 0)
		_, err = l.ReviewReward(ctx, o, u)
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
		_, err = l.ReviewReward(ctx, o, v)
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied, "once per order, whoever asks")
		requireWallet(t, l, u, 1010, 0)
		requireWallet(t, l, v, 0, 0)
		require.Equal(t, kernel.Points(-1), balanceOf(t, db, domain.WalletID(v)), "the refused reward opened no wallet")
		rows, _, err := l.Postings(ctx, u, ledger.Filter{Kind: string(domain.ReviewReward)}, "", 0)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		require.Equal(t, o, rows[0].OrderID)

		// No reward configured: nothing happens.
		off := ledgertest.New(db, newClock(), ledger.Config{})
		n, err = off.ReviewReward(ctx, newOrder(), u)
		require.NoError(t, err)
		require.Zero(t, n)
		requireWallet(t, l, u, 1010, 0)
		ledgertest.RequireInvariants(t, l)
	})
}

func TestCredit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := newClock()
		l := ledgertest.New(db, clock, defaults)
		u := newUser()
		require.NoError(t, l.GrantStarter(ctx, u))

		bad := []struct {
			amount kernel.Points
			memo   string
			fields []string
		}{
			{0, "why", []string{"amount"}},
			{-1, "why", []string{"amount"}},
			{1_000_001, "why", []string{"amount"}},
			{5, "", []string{"memo"}},
			{0, "", []string{"amount", "memo"}},
		}
		for _, c := range bad {
			_, err := l.Credit(ctx, u, c.amount, c.memo, "case-"+kernel.NewID())
			requireCode(t, err, kernel.ErrInvalid, "validation", "%+v", c)
			e, _ := kernel.As(err)
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			require.Equal(t, c.fields, fields, "%+v", c)
		}
		require.Equal(t, 1, totalPostings(t, db))

		at := clock.Tick()
		p, err := l.Credit(ctx, u, 1_000_000, "Sorry for the outage", "case-1")
		require.NoError(t, err)
		require.Equal(t, domain.SupportCredit, p.Kind)
		require.Equal(t, kernel.Points(1_000_000), p.Amount)
		require.Equal(t, kernel.Points(1_001_000), p.BalanceAfter)
		require.Equal(t, "Sorry for the outage", p.Memo)
		require.True(t, at.Equal(p.CreatedAt))
		require.NotEmpty(t, p.ID)
		require.NotEmpty(t, p.PostingID)

		// Exactly once per effect key, whatever the amount or the user.
		_, err = l.Credit(ctx, u, 1_000_000, "Sorry for the outage", "case-1")
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
		_, err = l.Credit(ctx, u, 7, "other", "case-1")
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
		_, err = l.Credit(ctx, newUser(), 7, "other", "case-1")
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
		requireWallet(t, l, u, 1_001_000, 0)

		// Another key is another credit; a user without a wallet gets one.
		_, err = l.Credit(ctx, u, 1, "again", "case-2")
		require.NoError(t, err)
		requireWallet(t, l, u, 1_001_001, 0)
		v := newUser()
		_, err = l.Credit(ctx, v, 3, "welcome", "case-3")
		require.NoError(t, err)
		requireWallet(t, l, v, 3, 0)
		require.Equal(t, 3, countPostings(t, db, domain.SupportCredit, ""))
		ledgertest.RequireInvariants(t, l)
	})
}

func TestWalletOfUnknownUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := ledgertest.New(db, newClock(), defaults)
		requireWallet(t, l, newUser(), 0, 0)
		requireWallet(t, l, "", 0, 0)
		rows, next, err := l.Postings(context.Background(), newUser(), ledger.Filter{}, "", 0)
		require.NoError(t, err)
		require.Empty(t, rows)
		require.Empty(t, next)
		ledgertest.RequireInvariants(t, l)
	})
}

func TestWalletHeldSumsOpenEscrows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := ledgertest.New(db, newClock(), defaults)
		u, v, owner := newUser(), newUser(), newUser()
		require.NoError(t, l.GrantStarter(ctx, u))
		require.NoError(t, l.GrantStarter(ctx, v))
		o1, o2, o3 := newOrder(), newOrder(), newOrder()
		require.NoError(t, l.Hold(ctx, o1, u, 100))
		require.NoError(t, l.Hold(ctx, o2, u, 200))
		require.NoError(t, l.Hold(ctx, o3, v, 50))
		requireWallet(t, l, u, 700, 300)
		requireWallet(t, l, v, 950, 50)
		_, err := l.Payout(ctx, o1, owner)
		require.NoError(t, err)
		requireWallet(t, l, u, 700, 200)
		requireWallet(t, l, owner, 100, 0, "an owner's wallet holds nothing for the customer's orders")
		_, err = l.Refund(ctx, o2, u, owner, 200)
		require.NoError(t, err)
		requireWallet(t, l, u, 900, 0)
		requireWallet(t, l, v, 950, 50)
		ledgertest.RequireInvariants(t, l)
	})
}

// postingsFixture gives u a mix of postings at distinct, known times.
func postingsFixture(t *testing.T, l *ledger.Service, clock *fakeClock) (u kernel.UserID, orders []string, times map[string]time.Time) {
	t.Helper()
	ctx := context.Background()
	u, owner := newUser(), newUser()
	times = map[string]time.Time{}
	clock.Tick()
	require.NoError(t, l.GrantStarter(ctx, u))
	for i := range 5 {
		o := newOrder()
		orders = append(orders, o)
		times[o] = clock.Tick()
		require.NoError(t, l.Hold(ctx, o, u, kernel.Points(10*(i+1))))
	}
	clock.Tick()
	_, err := l.Refund(ctx, orders[1], u, owner, 5)
	require.NoError(t, err)
	clock.Tick()
	_, err = l.Refund(ctx, orders[2], u, owner, 30)
	require.NoError(t, err)
	for i := range 4 {
		clock.Tick()
		_, err := l.Credit(ctx, u, kernel.Points(i+1), fmt.Sprintf("credit %d", i), kernel.NewID())
		require.NoError(t, err)
	}
	clock.Tick()
	_, err = l.ReviewReward(ctx, orders[0], u)
	require.NoError(t, err)
	return u, orders, times
}

func TestPostingsPaging(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := newClock()
		l := ledgertest.New(db, clock, defaults)
		u, orders, times := postingsFixture(t, l, clock)
		// Another user's postings never show.
		other := newUser()
		require.NoError(t, l.GrantStarter(ctx, other))
		require.NoError(t, l.Hold(ctx, newOrder(), other, 1))

		all, next, err := l.Postings(ctx, u, ledger.Filter{}, "", 200)
		require.NoError(t, err)
		require.Empty(t, next)
		// starter + 5 holds + 2 refunds + 4 credits + 1 reward
		require.Len(t, all, 13)

		// Newest first: ids and times descend; the newest is the reward.
		require.Equal(t, domain.ReviewReward, all[0].Kind)
		require.Equal(t, domain.StarterGrant, all[len(all)-1].Kind)
		for i := 1; i < len(all); i++ {
			require.Greater(t, all[i-1].ID, all[i].ID, "row %d", i)
			require.False(t, all[i-1].CreatedAt.Before(all[i].CreatedAt), "row %d", i)
		}
		for _, p := range all {
			if p.Kind == domain.Hold {
				require.True(t, times[p.OrderID].Equal(p.CreatedAt), "hold of %s created at the injected time", p.OrderID)
			}
		}

		// balance_after runs from the oldest to the newest, ending at the balance.
		var running kernel.Points
		for i := len(all) - 1; i >= 0; i-- {
			running += all[i].Amount
			require.Equal(t, running, all[i].BalanceAfter, "row %d (%s)", i, all[i].Kind)
		}
		w, err := l.Wallet(ctx, u)
		require.NoError(t, err)
		require.Equal(t, w.Balance, all[0].BalanceAfter)
		require.Equal(t, kernel.Points(1000-150+5+30+1+2+3+4+10), w.Balance)

		// Pages of 5: every row exactly once, in order.
		for _, size := range []int{1, 4, 5, 12, 13} {
			var got []ledger.PostingView
			cursor, pages := "", 0
			for {
				rows, next, err := l.Postings(ctx, u, ledger.Filter{}, cursor, size)
				require.NoError(t, err)
				require.LessOrEqual(t, len(rows), size)
				got = append(got, rows...)
				pages++
				require.LessOrEqual(t, pages, 20, "paging never ends")
				if next == "" {
					break
				}
				require.Len(t, rows, size, "a full page before the last")
				cursor = next
			}
			require.Equal(t, all, got, "page size %d", size)
			require.Equal(t, (13+size-1)/size, pages, "page size %d", size)
		}

		// A posting made between pages lands before the cursor: no repeats, no gaps.
		first, cursor, err := l.Postings(ctx, u, ledger.Filter{}, "", 3)
		require.NoError(t, err)
		clock.Tick()
		_, err = l.Credit(ctx, u, 9, "late", kernel.NewID())
		require.NoError(t, err)
		rest, next, err := l.Postings(ctx, u, ledger.Filter{}, cursor, 200)
		require.NoError(t, err)
		require.Empty(t, next)
		require.Equal(t, all, append(first, rest...))

		// Filters.
		holds, _, err := l.Postings(ctx, u, ledger.Filter{Kind: string(domain.Hold)}, "", 0)
		require.NoError(t, err)
		require.Len(t, holds, 5)
		for i, p := range holds {
			require.Equal(t, domain.Hold, p.Kind)
			require.Equal(t, orders[4-i], p.OrderID)
			require.Equal(t, -kernel.Points(10*(5-i)), p.Amount)
		}
		page, next, err := l.Postings(ctx, u, ledger.Filter{Kind: string(domain.Hold)}, "", 2)
		require.NoError(t, err)
		require.Equal(t, holds[:2], page)
		page, _, err = l.Postings(ctx, u, ledger.Filter{Kind: string(domain.Hold)}, next, 2)
		require.NoError(t, err)
		require.Equal(t, holds[2:4], page)

		byOrder, _, err := l.Postings(ctx, u, ledger.Filter{OrderID: orders[2]}, "", 0)
		require.NoError(t, err)
		require.Len(t, byOrder, 2)
		require.Equal(t, domain.Refund, byOrder[0].Kind)
		require.Equal(t, kernel.Points(30), byOrder[0].Amount)
		require.Equal(t, domain.Hold, byOrder[1].Kind)
		for _, p := range byOrder {
			require.Equal(t, orders[2], p.OrderID)
		}
		both, _, err := l.Postings(ctx, u, ledger.Filter{Kind: string(domain.Refund), OrderID: orders[2]}, "", 0)
		require.NoError(t, err)
		require.Equal(t, byOrder[:1], both)
		none, _, err := l.Postings(ctx, u, ledger.Filter{Kind: string(domain.Payout)}, "", 0)
		require.NoError(t, err)
		require.Empty(t, none, "the owner's payouts are not the customer's postings")

		// Bad input.
		_, _, err = l.Postings(ctx, u, ledger.Filter{Kind: "nope"}, "", 0)
		requireCode(t, err, kernel.ErrInvalid, "validation")
		_, _, err = l.Postings(ctx, u, ledger.Filter{}, "not a cursor!", 0)
		requireCode(t, err, kernel.ErrInvalid, "validation")
		ledgertest.RequireInvariants(t, l)
	})
}

func TestExportCSV(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := newClock()
		l := ledgertest.New(db, clock, defaults)
		u, orders, _ := postingsFixture(t, l, clock)
		evil := []string{"=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\tTab", "\rCR"}
		for _, memo := range evil {
			clock.Tick()
			_, err := l.Credit(ctx, u, 1, memo, kernel.NewID())
			require.NoError(t, err)
		}
		clock.Tick()
		_, err := l.Credit(ctx, u, 1, "plain, with \"quotes\"", kernel.NewID())
		require.NoError(t, err)

		all, _, err := l.Postings(ctx, u, ledger.Filter{}, "", 200)
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, l.ExportCSV(ctx, u, ledger.Filter{}, &buf))
		recs, err := csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		require.Equal(t, []string{"id", "created_at", "kind", "order_id", "amount", "balance_after", "memo"}, recs[0])
		require.Len(t, recs, len(all)+1)
		for i, p := range all {
			r := recs[i+1]
			require.Equal(t, p.ID, r[0])
			at, err := time.Parse(time.RFC3339Nano, r[1])
			require.NoError(t, err)
			require.True(t, p.CreatedAt.Equal(at))
			require.Equal(t, string(p.Kind), r[2])
			require.Equal(t, p.OrderID, r[3])
			require.Equal(t, strconv.FormatInt(int64(p.Amount), 10), r[4])
			require.Equal(t, strconv.FormatInt(int64(p.BalanceAfter), 10), r[5])
		}
		require.Equal(t, `plain, with "quotes"`, recs[1][6])
		for i, memo := range evil {
			got := recs[1+len(evil)-i][6]
			require.Equal(t, "'"+memo, got, "a memo starting with %q is defused", memo[:1])
		}
		require.Equal(t, "Starter points", recs[len(recs)-1][6])
		require.Equal(t, "Held for order "+orders[0], recs[len(recs)-2][6])

		// Filters apply to the export too.
		buf.Reset()
		require.NoError(t, l.ExportCSV(ctx, u, ledger.Filter{Kind: string(domain.Hold), OrderID: orders[3]}, &buf))
		recs, err = csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		require.Len(t, recs, 2)
		require.Equal(t, orders[3], recs[1][3])
		require.Equal(t, "-40", recs[1][4])

		// A user without postings gets the header only; a bad kind writes nothing.
		buf.Reset()
		require.NoError(t, l.ExportCSV(ctx, newUser(), ledger.Filter{}, &buf))
		require.Equal(t, "id,created_at,kind,order_id,amount,balance_after,memo\n", buf.String())
		buf.Reset()
		requireCode(t, l.ExportCSV(ctx, u, ledger.Filter{Kind: "bogus"}, &buf), kernel.ErrInvalid, "validation")
		require.Empty(t, buf.String())
		ledgertest.RequireInvariants(t, l)
	})
}

// The export reads the store in pages of 500: a longer history comes out whole.
func TestExportCSVLongHistory(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := newClock()
		l := ledgertest.New(db, clock, ledger.Config{StarterPoints: 1})
		u := newUser()
		require.NoError(t, l.GrantStarter(ctx, u))
		const credits = 700
		// One transaction for speed: the ledger joins the caller's transaction.
		require.NoError(t, db.InTx(ctx, func(ctx context.Context) error {
			for i := range credits {
				clock.Tick()
				if _, err := l.Credit(ctx, u, 1, fmt.Sprintf("credit %d", i), kernel.NewID()); err != nil {
					return err
				}
			}
			return nil
		}))
		var buf bytes.Buffer
		require.NoError(t, l.ExportCSV(ctx, u, ledger.Filter{}, &buf))
		recs, err := csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		require.Len(t, recs, 1+credits+1)
		seen := map[string]bool{}
		for i, r := range recs[1:] {
			require.False(t, seen[r[0]], "row %d repeated", i)
			seen[r[0]] = true
			require.Equal(t, strconv.Itoa(credits+1-i), r[5], "row %d: balance after, newest first", i)
		}
		require.Equal(t, "Starter points", recs[len(recs)-1][6])
		ledgertest.RequireInvariants(t, l)
	})
}
