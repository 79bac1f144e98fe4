// Package domain holds the ledger's rules: account names, posting kinds,
// fees and refund splits. Standard library and kernel only.
package domain

import (
	"fmt"

	"github.com/heepr/heepr/modules/kernel"
)

// System accounts. Mint is the only account that may go negative: its
// balance is minus every point ever issued (starter grants, rewards,
// goodwill). Platform collects fees.
const (
	Mint     = "mint"
	Platform = "platform"
)

// AccountKind classifies accounts.
type AccountKind string

// Account kinds.
const (
	KindWallet   AccountKind = "wallet"
	KindEscrow   AccountKind = "escrow"
	KindPlatform AccountKind = "platform"
	KindMint     AccountKind = "mint"
)

// WalletID is a user's wallet account.
func WalletID(u kernel.UserID) string { return "wallet:" + string(u) }

// EscrowID is an order's escrow account.
func EscrowID(order string) string { return "escrow:" + order }

// PostingKind says why points moved. Each kind happens at most once per
// order (a database constraint).
type PostingKind string

// Posting kinds.
const (
	StarterGrant  PostingKind = "starter_grant"   // mint → new user's wallet
	Hold          PostingKind = "hold"            // customer wallet → order escrow
	Payout        PostingKind = "payout"          // order escrow → owner wallet
	Fee           PostingKind = "fee"             // order escrow → platform
	Refund        PostingKind = "refund"          // order escrow → customer wallet
	Clawback      PostingKind = "clawback_refund" // owner wallet → customer wallet, after payout
	Goodwill      PostingKind = "goodwill_refund" // mint → customer wallet, after payout
	ReviewReward  PostingKind = "review_reward"   // mint → reviewer wallet
	SupportCredit PostingKind = "support_credit"  // mint → a user's wallet, granted by support
)

// Kinds lists every posting kind (for validating filters).
var Kinds = []PostingKind{StarterGrant, Hold, Payout, Fee, Refund, Clawback, Goodwill, ReviewReward, SupportCredit}

// ValidKind reports whether s names a posting kind.
func ValidKind(s string) bool {
	for _, k := range Kinds {
		if string(k) == s {
			return true
		}
	}
	return false
}

// OrderEffectKey is the exactly-once key of an order's posting of a kind.
func OrderEffectKey(kind PostingKind, order string) string { return string(kind) + ":" + order }

// Transfer is one posting to make: amount from one account to another.
type Transfer struct {
	Kind      PostingKind
	OrderID   string // empty for postings without an order
	EffectKey string // unique: a second transfer with the key is refused
	From, To  string
	Amount    kernel.Points
	Memo      string
}

// Validate checks a transfer's shape.
func (t Transfer) Validate() error {
	switch {
	case t.Amount <= 0:
		return fmt.Errorf("ledger transfer %s: amount %d must be positive", t.Kind, t.Amount)
	case t.From == t.To:
		return fmt.Errorf("ledger transfer %s: from and to are the same account", t.Kind)
	case t.EffectKey == "":
		return fmt.Errorf("ledger transfer %s: no effect key", t.Kind)
	}
	return nil
}

// FeeOf is the platform's cut of amount at bps basis points, rounded down
// (the owner keeps the odd point).
func FeeOf(amount kernel.Points, bps int) kernel.Points {
	if bps <= 0 || amount <= 0 {
		return 0
	}
	return amount * kernel.Points(bps) / 10_000
}

// Split divides an escrow between a refund to the customer and the rest to
// the owner. The refund must be 1..escrow.
func Split(escrow, refund kernel.Points) (toCustomer, toOwner kernel.Points, err error) {
	if refund <= 0 || refund > escrow {
		return 0, 0, kernel.Invalid(kernel.FieldError{Field: "refund_amount",
			Detail: fmt.Sprintf("must be between 1 and %d (what the order holds)", escrow)})
	}
	return refund, escrow - refund, nil
}
