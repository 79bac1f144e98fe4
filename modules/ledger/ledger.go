// Package ledger is heepr's points ledger: double-entry accounts (wallets,
// one escrow per order, platform, mint), append-only postings, and the
// effects other modules call: hold, payout, refunds, rewards. Every effect
// happens at most once per order and kind (a database constraint).
package ledger

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger/domain"
)

// ErrAlreadyApplied means the effect already happened (a retried job, a
// repeated call): callers treat it as done.
var ErrAlreadyApplied = kernel.Conflict("already-applied", "this ledger effect has already been applied")

// Config holds the ledger's amounts.
type Config struct {
	StarterPoints      kernel.Points // HEEPR_STARTER_POINTS, default 1000
	PlatformFeeBPS     int           // HEEPR_PLATFORM_FEE_BPS, default 0
	ReviewRewardPoints kernel.Points // HEEPR_REVIEW_REWARD_POINTS, default 10
}

// Service is the ledger facade.
type Service struct {
	tx    kernel.Tx
	store Store
	clock kernel.Clock
	cfg   Config
}

// New builds the ledger.
func New(tx kernel.Tx, store Store, clock kernel.Clock, cfg Config) *Service {
	return &Service{tx: tx, store: store, clock: clock, cfg: cfg}
}

// GrantStarter opens the user's wallet and credits the starter points,
// once per user. Call it inside the sign-up transaction.
func (s *Service) GrantStarter(ctx context.Context, user kernel.UserID) error {
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.OpenAccount(ctx, domain.WalletID(user), domain.KindWallet, user, ""); err != nil {
			return fmt.Errorf("open wallet: %w", err)
		}
		if s.cfg.StarterPoints <= 0 {
			return nil
		}
		_, err := s.store.Transfer(ctx, domain.Transfer{
			Kind: domain.StarterGrant, EffectKey: "starter_grant:" + string(user),
			From: domain.Mint, To: domain.WalletID(user), Amount: s.cfg.StarterPoints, Memo: "Starter points",
		}, s.clock.Now())
		return err
	})
}

// Hold moves an order's price from the customer's wallet into the order's
// escrow. Not enough points: kernel.ErrInsufficientPoints and nothing changes
// (the transaction, escrow account included, rolls back).
//
// The wallet is the row many holds may want at once (one customer placing
// orders in parallel). Its lock is the hold's last: the escrow is opened
// first, and the transfer (one statement on Postgres, see store.Ledger)
// updates its accounts in id order, the new escrow ("escrow:…") before the
// wallet ("wallet:…"). So the wallet's conditional debit is held only for
// the rest of that statement and the commit, or until the end of the
// caller's transaction when Hold joins one (acceptQuote).
func (s *Service) Hold(ctx context.Context, order string, customer kernel.UserID, amount kernel.Points) error {
	if amount <= 0 {
		return kernel.Invalid(kernel.FieldError{Field: "price", Detail: "must be a positive number of points"})
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.OpenAccount(ctx, domain.EscrowID(order), domain.KindEscrow, customer, order); err != nil {
			return fmt.Errorf("open escrow: %w", err)
		}
		_, err := s.store.Transfer(ctx, domain.Transfer{
			Kind: domain.Hold, OrderID: order, EffectKey: domain.OrderEffectKey(domain.Hold, order),
			From: domain.WalletID(customer), To: domain.EscrowID(order), Amount: amount,
			Memo: "Held for order " + order,
		}, s.clock.Now())
		return err
	})
}

// Settlement says where an order's escrow went.
type Settlement struct {
	Refunded kernel.Points // to the customer
	Paid     kernel.Points // to the owner
	Fee      kernel.Points // to the platform
}

// Payout moves the whole escrow to the owner, less the platform fee.
func (s *Service) Payout(ctx context.Context, order string, owner kernel.UserID) (Settlement, error) {
	var out Settlement
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		held, err := s.escrow(ctx, order, domain.Payout)
		if err != nil {
			return err
		}
		out, err = s.settle(ctx, order, "", owner, 0, held)
		return err
	})
	return out, err
}

// Refund returns amount of the escrow to the customer and pays the rest to
// the owner (less the fee). amount equal to the escrow is a full refund.
func (s *Service) Refund(ctx context.Context, order string, customer, owner kernel.UserID, amount kernel.Points) (Settlement, error) {
	var out Settlement
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		held, err := s.escrow(ctx, order, domain.Refund)
		if err != nil {
			return err
		}
		toCustomer, toOwner, err := domain.Split(held, amount)
		if err != nil {
			return err
		}
		out, err = s.settle(ctx, order, customer, owner, toCustomer, toOwner)
		return err
	})
	return out, err
}

// escrow locks the order's escrow and returns what it holds, or why
// nothing can be settled. The lock comes first: a concurrent settlement
// of the same order waits here, before it writes anything, and then finds
// the escrow empty.
func (s *Service) escrow(ctx context.Context, order string, kind domain.PostingKind) (kernel.Points, error) {
	bal, err := s.store.Lock(ctx, domain.EscrowID(order))
	if err != nil {
		return 0, err
	}
	if held := bal[domain.EscrowID(order)]; held > 0 {
		return held, nil
	}
	done, err := s.store.Applied(ctx, domain.OrderEffectKey(kind, order))
	if err != nil {
		return 0, err
	}
	if done {
		return 0, ErrAlreadyApplied
	}
	return 0, errNothingHeld
}

var errNothingHeld = kernel.Conflict("nothing-held", "the order holds no points: it was never paid for or is already settled")

// settled turns "escrow too small" into "already settled": the only way an
// escrow shrinks under us is a concurrent settlement.
func settled(err error) error {
	if errors.Is(err, kernel.ErrInsufficientPoints) {
		return errNothingHeld
	}
	return err
}

// settle empties a locked escrow: toCustomer back to the customer (a
// refund), toOwner to the owner less the platform fee. It locks every
// wallet it credits, in id order, before moving anything: the refund and
// payout postings each lock two accounts, and taking the rest one posting
// at a time could deadlock against another settlement. The platform
// account is the exception: every settlement with a fee credits it, so it
// is the one hot row, and it is not locked up front but taken by the fee
// posting's credit, the last row lock of the transaction (nothing else
// ever locks or debits it). A transaction holding it waits for no other
// lock, so it cannot be part of a deadlock, and it holds it only for the
// rest of the fee's transfer (its two entries) and the commit instead of
// the whole settlement (TestSettlementsWithFeeConcurrently).
func (s *Service) settle(ctx context.Context, order string, customer, owner kernel.UserID, toCustomer, toOwner kernel.Points) (Settlement, error) {
	fee := domain.FeeOf(toOwner, s.cfg.PlatformFeeBPS)
	out := Settlement{Refunded: toCustomer, Paid: toOwner - fee, Fee: fee}
	var lock []string
	if toCustomer > 0 {
		if err := s.store.OpenAccount(ctx, domain.WalletID(customer), domain.KindWallet, customer, ""); err != nil {
			return Settlement{}, err
		}
		lock = append(lock, domain.WalletID(customer))
	}
	if toOwner > 0 {
		if err := s.store.OpenAccount(ctx, domain.WalletID(owner), domain.KindWallet, owner, ""); err != nil {
			return Settlement{}, err
		}
		lock = append(lock, domain.WalletID(owner))
	}
	if _, err := s.store.Lock(ctx, lock...); err != nil {
		return Settlement{}, err
	}
	now := s.clock.Now()
	var transfers []domain.Transfer
	if out.Refunded > 0 {
		transfers = append(transfers, domain.Transfer{
			Kind: domain.Refund, OrderID: order, EffectKey: domain.OrderEffectKey(domain.Refund, order),
			From: domain.EscrowID(order), To: domain.WalletID(customer), Amount: out.Refunded,
			Memo: "Refund for order " + order,
		})
	}
	if out.Paid > 0 {
		transfers = append(transfers, domain.Transfer{
			Kind: domain.Payout, OrderID: order, EffectKey: domain.OrderEffectKey(domain.Payout, order),
			From: domain.EscrowID(order), To: domain.WalletID(owner), Amount: out.Paid, Memo: "Payout for order " + order,
		})
	}
	if out.Fee > 0 {
		transfers = append(transfers, domain.Transfer{
			Kind: domain.Fee, OrderID: order, EffectKey: domain.OrderEffectKey(domain.Fee, order),
			From: domain.EscrowID(order), To: domain.Platform, Amount: out.Fee, Memo: "Platform fee for order " + order,
		})
	}
	for _, t := range transfers {
		if _, err := s.store.Transfer(ctx, t, now); err != nil {
			return Settlement{}, settled(err)
		}
	}
	return out, nil
}

// PaidOut reports whether the order's escrow was paid to its owner.
func (s *Service) PaidOut(ctx context.Context, order string) (bool, error) {
	return s.store.Applied(ctx, domain.OrderEffectKey(domain.Payout, order))
}

// OrderPostings lists every posting of an order, oldest first (support's case file).
func (s *Service) OrderPostings(ctx context.Context, order string) ([]OrderPosting, error) {
	return s.store.OrderPostings(ctx, order)
}

// RefundSource is where a refund after payout comes from.
type RefundSource string

// Refund sources after payout.
const (
	FromOwner    RefundSource = "owner_clawback"    // the owner's wallet, up to its balance
	FromGoodwill RefundSource = "platform_goodwill" // new points issued by the platform
)

// RefundAfterPayout refunds a completed, paid-out order from the source
// support picked. A clawback takes at most what the owner has; the amount
// actually refunded is returned (support may add goodwill for the rest).
func (s *Service) RefundAfterPayout(ctx context.Context, order string, customer, owner kernel.UserID, amount kernel.Points, src RefundSource) (kernel.Points, error) {
	if amount <= 0 {
		return 0, kernel.Invalid(kernel.FieldError{Field: "refund_amount", Detail: "must be a positive number of points"})
	}
	var refunded kernel.Points
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		paid, err := s.store.Applied(ctx, domain.OrderEffectKey(domain.Payout, order))
		if err != nil {
			return err
		}
		if !paid {
			return kernel.Conflict("not-paid-out", "the order has not been paid out; refund from its escrow instead")
		}
		if err := s.store.OpenAccount(ctx, domain.WalletID(customer), domain.KindWallet, customer, ""); err != nil {
			return err
		}
		t := domain.Transfer{OrderID: order, To: domain.WalletID(customer), Amount: amount}
		switch src {
		case FromOwner:
			// Lock both wallets (in id order) so the owner's balance cannot
			// change between reading it and taking from it.
			bal, err := s.store.Lock(ctx, domain.WalletID(customer), domain.WalletID(owner))
			if err != nil {
				return err
			}
			has := bal[domain.WalletID(owner)]
			if has <= 0 {
				return kernel.New(kernel.ErrInsufficientPoints, "insufficient-points", "the owner has no points to claw back")
			}
			t.Kind, t.From, t.Amount = domain.Clawback, domain.WalletID(owner), min(amount, has)
			t.Memo = "Refund for order " + order + " (clawed back from the owner)"
		case FromGoodwill:
			t.Kind, t.From = domain.Goodwill, domain.Mint
			t.Memo = "Refund for order " + order + " (platform goodwill)"
		default:
			return kernel.Invalid(kernel.FieldError{Field: "refund_source", Detail: "must be owner_clawback or platform_goodwill"})
		}
		t.EffectKey = domain.OrderEffectKey(t.Kind, order)
		if _, err := s.store.Transfer(ctx, t, s.clock.Now()); err != nil {
			return err
		}
		refunded = t.Amount
		return nil
	})
	return refunded, err
}

// ReviewReward credits the reviewer of a completed order, once per order.
func (s *Service) ReviewReward(ctx context.Context, order string, reviewer kernel.UserID) (kernel.Points, error) {
	if s.cfg.ReviewRewardPoints <= 0 {
		return 0, nil
	}
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.OpenAccount(ctx, domain.WalletID(reviewer), domain.KindWallet, reviewer, ""); err != nil {
			return err
		}
		_, err := s.store.Transfer(ctx, domain.Transfer{
			Kind: domain.ReviewReward, OrderID: order, EffectKey: domain.OrderEffectKey(domain.ReviewReward, order),
			From: domain.Mint, To: domain.WalletID(reviewer), Amount: s.cfg.ReviewRewardPoints,
			Memo: "Review reward for order " + order,
		}, s.clock.Now())
		return err
	})
	if err != nil {
		return 0, err
	}
	return s.cfg.ReviewRewardPoints, nil
}

// Credit issues points to a user on support's decision (goodwill outside
// any order). effectKey makes it exactly-once.
func (s *Service) Credit(ctx context.Context, user kernel.UserID, amount kernel.Points, memo, effectKey string) (PostingView, error) {
	var f kernel.Fields
	if amount <= 0 || amount > 1_000_000 {
		f.Add("amount", "must be between 1 and 1000000")
	}
	if memo == "" {
		f.Add("memo", "is required: say why the points are credited")
	}
	if err := f.Err(); err != nil {
		return PostingView{}, err
	}
	var out PostingView
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.OpenAccount(ctx, domain.WalletID(user), domain.KindWallet, user, ""); err != nil {
			return err
		}
		p, err := s.store.Transfer(ctx, domain.Transfer{
			Kind: domain.SupportCredit, EffectKey: "support_credit:" + effectKey,
			From: domain.Mint, To: domain.WalletID(user), Amount: amount, Memo: memo,
		}, s.clock.Now())
		out = p
		return err
	})
	return out, err
}

// Wallet is a user's balance and what is held in escrow for their open orders.
type Wallet struct {
	Balance kernel.Points
	Held    kernel.Points
}

// Wallet returns the user's balance and held points.
func (s *Service) Wallet(ctx context.Context, user kernel.UserID) (Wallet, error) {
	bal, err := s.store.Balance(ctx, domain.WalletID(user))
	if err != nil {
		return Wallet{}, err
	}
	held, err := s.store.Held(ctx, user)
	if err != nil {
		return Wallet{}, err
	}
	return Wallet{Balance: bal, Held: held}, nil
}

// Postings pages through the user's wallet postings, newest first.
func (s *Service) Postings(ctx context.Context, user kernel.UserID, f Filter, cursor string, limit int) ([]PostingView, string, error) {
	if f.Kind != "" && !domain.ValidKind(f.Kind) {
		return nil, "", kernel.Invalid(kernel.FieldError{Field: "kind", Detail: "is not a posting kind"})
	}
	before, err := kernel.IDCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	limit = kernel.Limit(limit, 50, 200)
	rows, err := s.store.Entries(ctx, domain.WalletID(user), f, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	rows, next := kernel.PageByID(rows, limit, func(p PostingView) string { return p.ID })
	return rows, next, nil
}

// ExportCSV writes every posting of the user's wallet (with the filter) as CSV, newest first.
func (s *Service) ExportCSV(ctx context.Context, user kernel.UserID, f Filter, w io.Writer) error {
	if f.Kind != "" && !domain.ValidKind(f.Kind) {
		return kernel.Invalid(kernel.FieldError{Field: "kind", Detail: "is not a posting kind"})
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"id", "created_at", "kind", "order_id", "amount", "balance_after", "memo"}); err != nil {
		return err
	}
	before := ""
	for {
		rows, err := s.store.Entries(ctx, domain.WalletID(user), f, before, 500)
		if err != nil {
			return err
		}
		for _, p := range rows {
			if err := cw.Write([]string{p.ID, p.CreatedAt.Format(time.RFC3339Nano), string(p.Kind), p.OrderID,
				strconv.FormatInt(int64(p.Amount), 10), strconv.FormatInt(int64(p.BalanceAfter), 10), csvSafe(p.Memo)}); err != nil {
				return err
			}
		}
		if len(rows) < 500 {
			break
		}
		before = rows[len(rows)-1].ID
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses spreadsheet formulas in free text (CSV injection).
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// CheckInvariants verifies the whole ledger: every posting balances, all
// balances sum to zero, each balance equals its entries, no account but
// mint is negative, each escrow holds its order's hold until settled and
// nothing after, at most one payout per order. Tests run it after every
// flow; a periodic job runs it in production.
func (s *Service) CheckInvariants(ctx context.Context) error {
	problems, err := s.store.Check(ctx)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("ledger invariants violated: %v", problems)
	}
	return nil
}
