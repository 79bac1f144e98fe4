package domain_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger/domain"
)

func TestFeeOf(t *testing.T) {
	t.Parallel()
	cases := []struct {
		amount kernel.Points
		bps    int
		want   kernel.Points
	}{
		// No fee configured.
		{amount: 100, bps: 0, want: 0},
		{amount: 1_000_000, bps: 0, want: 0},
		{amount: 100, bps: -250, want: 0},
		// Nothing to take a cut of.
		{amount: 0, bps: 250, want: 0},
		{amount: -100, bps: 250, want: 0},
		// 2.5 %: rounded down, the owner keeps the odd point.
		{amount: 1, bps: 250, want: 0},
		{amount: 39, bps: 250, want: 0},   // 0.975
		{amount: 40, bps: 250, want: 1},   // exactly 1
		{amount: 79, bps: 250, want: 1},   // 1.975
		{amount: 100, bps: 250, want: 2},  // 2.5
		{amount: 101, bps: 250, want: 2},  // 2.525
		{amount: 999, bps: 250, want: 24}, // 24.975
		{amount: 1000, bps: 250, want: 25},
		{amount: 1_000_000, bps: 250, want: 25_000},
		// Odd rates.
		{amount: 7, bps: 5000, want: 3},  // 3.5
		{amount: 9999, bps: 1, want: 0},  // 0.9999
		{amount: 10000, bps: 1, want: 1}, // exactly 1
		// Everything.
		{amount: 1, bps: 10_000, want: 1},
		{amount: 100, bps: 10_000, want: 100},
		{amount: 1_000_000, bps: 10_000, want: 1_000_000},
	}
	for _, c := range cases {
		got := domain.FeeOf(c.amount, c.bps)
		require.Equal(t, c.want, got, "FeeOf(%d, %d bps)", c.amount, c.bps)
		if c.amount > 0 {
			require.GreaterOrEqual(t, got, kernel.Points(0), "FeeOf(%d, %d bps) is never negative", c.amount, c.bps)
			require.LessOrEqual(t, got, c.amount, "FeeOf(%d, %d bps) never exceeds the amount", c.amount, c.bps)
		}
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		escrow, refund     kernel.Points
		customer, owner    kernel.Points
		invalid            bool
		wantDetailContains string
	}{
		{escrow: 100, refund: 1, customer: 1, owner: 99},
		{escrow: 100, refund: 40, customer: 40, owner: 60},
		{escrow: 100, refund: 99, customer: 99, owner: 1},
		{escrow: 100, refund: 100, customer: 100, owner: 0}, // full refund
		{escrow: 1, refund: 1, customer: 1, owner: 0},
		{escrow: 100, refund: 0, invalid: true, wantDetailContains: "between 1 and 100"},
		{escrow: 100, refund: -1, invalid: true, wantDetailContains: "between 1 and 100"},
		{escrow: 100, refund: 101, invalid: true, wantDetailContains: "between 1 and 100"},
		{escrow: 0, refund: 1, invalid: true, wantDetailContains: "between 1 and 0"},
		{escrow: 0, refund: 0, invalid: true},
	}
	for _, c := range cases {
		name := fmt.Sprintf("Split(%d, %d)", c.escrow, c.refund)
		toCustomer, toOwner, err := domain.Split(c.escrow, c.refund)
		if c.invalid {
			require.ErrorIs(t, err, kernel.ErrInvalid, name)
			e, ok := kernel.As(err)
			require.True(t, ok, name)
			require.Len(t, e.Fields, 1, name)
			require.Equal(t, "refund_amount", e.Fields[0].Field, name)
			require.Contains(t, e.Fields[0].Detail, c.wantDetailContains, name)
			require.Zero(t, toCustomer, name)
			require.Zero(t, toOwner, name)
			continue
		}
		require.NoError(t, err, name)
		require.Equal(t, c.customer, toCustomer, name)
		require.Equal(t, c.owner, toOwner, name)
		require.Equal(t, c.escrow, toCustomer+toOwner, "%s: nothing lost", name)
	}
}

func TestTransferValidate(t *testing.T) {
	t.Parallel()
	ok := domain.Transfer{
		Kind: domain.Hold, OrderID: "o1", EffectKey: domain.OrderEffectKey(domain.Hold, "o1"),
		From: domain.WalletID("u1"), To: domain.EscrowID("o1"), Amount: 1, Memo: "m",
	}
	require.NoError(t, ok.Validate())
	noOrder := ok
	noOrder.OrderID, noOrder.Memo = "", ""
	require.NoError(t, noOrder.Validate(), "order and memo are optional at this level")

	cases := []struct {
		name   string
		change func(*domain.Transfer)
		want   string
	}{
		{"zero amount", func(t *domain.Transfer) { t.Amount = 0 }, "amount 0 must be positive"},
		{"negative amount", func(t *domain.Transfer) { t.Amount = -5 }, "amount -5 must be positive"},
		{"same account", func(t *domain.Transfer) { t.To = t.From }, "from and to are the same account"},
		{"no effect key", func(t *domain.Transfer) { t.EffectKey = "" }, "no effect key"},
	}
	for _, c := range cases {
		tr := ok
		c.change(&tr)
		err := tr.Validate()
		require.Error(t, err, c.name)
		require.Contains(t, err.Error(), c.want, c.name)
		require.Contains(t, err.Error(), string(domain.Hold), "%s: the error names the posting kind", c.name)
	}
}

func TestValidKind(t *testing.T) {
	t.Parallel()
	require.Len(t, domain.Kinds, 9)
	seen := map[domain.PostingKind]bool{}
	for _, k := range domain.Kinds {
		require.True(t, domain.ValidKind(string(k)), "%s", k)
		require.False(t, seen[k], "%s listed twice", k)
		seen[k] = true
	}
	for _, k := range []domain.PostingKind{
		domain.StarterGrant, domain.Hold, domain.Payout, domain.Fee, domain.Refund,
		domain.Clawback, domain.Goodwill, domain.ReviewReward, domain.SupportCredit,
	} {
		require.True(t, seen[k], "%s is in Kinds", k)
	}
	for _, s := range []string{"", "HOLD", "Hold", " hold", "hold ", "holds", "payout;", "clawback", "goodwill", "wallet", "mint"} {
		require.False(t, domain.ValidKind(s), "%q", s)
	}
}

func TestAccountAndEffectNames(t *testing.T) {
	t.Parallel()
	require.Equal(t, "wallet:u1", domain.WalletID("u1"))
	require.Equal(t, "escrow:o1", domain.EscrowID("o1"))
	require.Equal(t, "payout:o1", domain.OrderEffectKey(domain.Payout, "o1"))
	require.NotEqual(t, domain.OrderEffectKey(domain.Payout, "o1"), domain.OrderEffectKey(domain.Refund, "o1"))
	// System accounts can never collide with a wallet or an escrow.
	for _, sys := range []string{domain.Mint, domain.Platform} {
		require.NotEqual(t, sys, domain.WalletID(kernel.UserID(sys)))
		require.NotEqual(t, sys, domain.EscrowID(sys))
	}
}
