package ledger

import (
	"context"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger/domain"
)

// Store keeps accounts and postings. Transfer claims the effect key first,
// then debits with a single conditional update and credits, writing the
// posting and its two entries (each with the balance after it).
type Store interface {
	// OpenAccount creates an account unless it exists.
	OpenAccount(ctx context.Context, id string, kind domain.AccountKind, user kernel.UserID, order string) error
	// Transfer reports ErrAlreadyApplied when the effect key was used, and
	// kernel.ErrInsufficientPoints when From lacks the amount (nothing changed).
	Transfer(ctx context.Context, t domain.Transfer, at time.Time) (PostingView, error)
	// Lock locks the existing accounts among ids until the transaction
	// ends, in sorted id order, and returns their balances (missing
	// accounts are absent). A transaction that moves points between more
	// than two accounts locks them all first, so that every path takes
	// its locks in id order and concurrent transactions never deadlock.
	Lock(ctx context.Context, ids ...string) (map[string]kernel.Points, error)
	// Balance of an account (0 when it does not exist).
	Balance(ctx context.Context, account string) (kernel.Points, error)
	// Held sums the escrow accounts funded by the user.
	Held(ctx context.Context, user kernel.UserID) (kernel.Points, error)
	// Entries lists an account's entries, newest first, with ids below before.
	Entries(ctx context.Context, account string, f Filter, before string, limit int) ([]PostingView, error)
	// Applied reports whether the effect key was used.
	Applied(ctx context.Context, effectKey string) (bool, error)
	// OrderPostings lists every posting of an order, oldest first.
	OrderPostings(ctx context.Context, order string) ([]OrderPosting, error)
	// Check verifies the ledger's invariants and describes every violation.
	Check(ctx context.Context) ([]string, error)
}

// Filter narrows a postings list.
type Filter struct {
	Kind    string
	OrderID string
}

// PostingView is a posting as seen from one account: Amount is signed
// (negative when points left the account) and BalanceAfter is that
// account's balance right after it.
type PostingView struct {
	ID           string // the entry's id (unique per account and posting)
	PostingID    string
	Kind         domain.PostingKind
	OrderID      string
	Amount       kernel.Points
	BalanceAfter kernel.Points
	Memo         string
	CreatedAt    time.Time
}

// OrderPosting is one posting of an order, between two accounts.
type OrderPosting struct {
	ID        string
	Kind      domain.PostingKind
	From, To  string // account ids
	Amount    kernel.Points
	Memo      string
	CreatedAt time.Time
}
