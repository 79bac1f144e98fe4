package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/domain"
)

// fakeClock is the injected time: it moves only when a test moves it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 29, 10, 0, 0, 123456000, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Tick moves the clock by a second and returns the new time.
func (c *fakeClock) Tick() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func newUser() kernel.UserID { return kernel.UserID(kernel.NewID()) }

func newOrder() string { return "ord_" + kernel.NewID() }

// requireCode checks err is a kernel error of kind with the given code.
func requireCode(t testing.TB, err error, kind kernel.Kind, code string, msgAndArgs ...any) {
	t.Helper()
	require.ErrorIs(t, err, kind, msgAndArgs...)
	e, ok := kernel.As(err)
	require.True(t, ok, msgAndArgs...)
	require.Equal(t, code, e.Code, msgAndArgs...)
}

// requireWallet checks a user's wallet view.
func requireWallet(t testing.TB, l *ledger.Service, u kernel.UserID, balance, held kernel.Points, msgAndArgs ...any) {
	t.Helper()
	w, err := l.Wallet(context.Background(), u)
	require.NoError(t, err, msgAndArgs...)
	require.Equal(t, ledger.Wallet{Balance: balance, Held: held}, w, msgAndArgs...)
}

// balanceOf reads one account's balance straight from the table (-1 when
// the account does not exist).
func balanceOf(t testing.TB, db *store.DB, account string) kernel.Points {
	t.Helper()
	var bal []int64
	require.NoError(t, db.Bun.NewRaw("SELECT balance FROM ledger_accounts WHERE id = ?", account).Scan(context.Background(), &bal))
	if len(bal) == 0 {
		return -1
	}
	return kernel.Points(bal[0])
}

// countPostings counts postings of a kind for an order ("" matches any order).
func countPostings(t testing.TB, db *store.DB, kind domain.PostingKind, order string) int {
	t.Helper()
	var n int
	q := "SELECT COUNT(*) FROM ledger_postings WHERE kind = ?"
	args := []any{string(kind)}
	if order != "" {
		q += " AND order_id = ?"
		args = append(args, order)
	}
	require.NoError(t, db.Bun.NewRaw(q, args...).Scan(context.Background(), &n))
	return n
}

// totalPostings counts every posting.
func totalPostings(t testing.TB, db *store.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.Bun.NewRaw("SELECT COUNT(*) FROM ledger_postings").Scan(context.Background(), &n))
	return n
}

// allBalances reads every account's balance in one query.
func allBalances(t testing.TB, db *store.DB) map[string]kernel.Points {
	t.Helper()
	rows, err := db.Bun.QueryContext(context.Background(), "SELECT id, balance FROM ledger_accounts")
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]kernel.Points{}
	for rows.Next() {
		var id string
		var bal int64
		require.NoError(t, rows.Scan(&id, &bal))
		out[id] = kernel.Points(bal)
	}
	require.NoError(t, rows.Err())
	return out
}
