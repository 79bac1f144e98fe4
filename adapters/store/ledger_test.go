package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/domain"
	"github.com/heepr/heepr/modules/ledger/ledgertest"
)

// ledgerFixture is a small healthy ledger: two users with starter points,
// one open order and one paid-out order (with a fee).
type ledgerFixture struct {
	db          *store.DB
	l           *ledger.Service
	store       *store.Ledger
	cust, owner kernel.UserID
	open, paid  string // order ids
}

func newLedgerFixture(t *testing.T, db *store.DB) *ledgerFixture {
	t.Helper()
	ctx := context.Background()
	f := &ledgerFixture{
		db: db, l: ledgertest.New(db, nil, ledger.Config{StarterPoints: 1000, PlatformFeeBPS: 250, ReviewRewardPoints: 10}),
		store: store.NewLedger(db), cust: kernel.UserID(kernel.NewID()), owner: kernel.UserID(kernel.NewID()),
		open: "o-open-" + kernel.NewID(), paid: "o-paid-" + kernel.NewID(),
	}
	require.NoError(t, f.l.GrantStarter(ctx, f.cust))
	require.NoError(t, f.l.GrantStarter(ctx, f.owner))
	require.NoError(t, f.l.Hold(ctx, f.open, f.cust, 100))
	require.NoError(t, f.l.Hold(ctx, f.paid, f.cust, 200))
	s, err := f.l.Payout(ctx, f.paid, f.owner)
	require.NoError(t, err)
	require.Equal(t, ledger.Settlement{Paid: 195, Fee: 5}, s)
	_, err = f.l.ReviewReward(ctx, f.paid, f.cust)
	require.NoError(t, err)
	problems, err := f.store.Check(ctx)
	require.NoError(t, err)
	require.Empty(t, problems, "the fixture is healthy")
	return f
}

func (f *ledgerFixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	_, err := f.db.Bun.ExecContext(context.Background(), query, args...)
	require.NoError(t, err, query)
}

func (f *ledgerFixture) balance(t *testing.T, account string) int64 {
	t.Helper()
	var b int64
	require.NoError(t, f.db.Bun.NewRaw("SELECT balance FROM ledger_accounts WHERE id = ?", account).Scan(context.Background(), &b))
	return b
}

// addBalance changes a balance without any entry.
func (f *ledgerFixture) addBalance(t *testing.T, account string, delta int64) {
	t.Helper()
	f.exec(t, "UPDATE ledger_accounts SET balance = balance + ? WHERE id = ?", delta, account)
}

// rawPosting inserts a posting row only (the append-only triggers allow inserts).
func (f *ledgerFixture) rawPosting(t *testing.T, kind domain.PostingKind, order, from, to string, amount int64) string {
	t.Helper()
	id := kernel.NewID()
	var orderID any
	if order != "" {
		orderID = order
	}
	f.exec(t, `INSERT INTO ledger_postings (id, kind, order_id, effect_key, from_account, to_account, amount, memo, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'corruption', ?)`, id, string(kind), orderID, "raw:"+id, from, to, amount, time.Now().UTC())
	return id
}

// rawEntry moves an account's balance by amount and records the entry with the new balance.
func (f *ledgerFixture) rawEntry(t *testing.T, posting, account string, amount int64) string {
	t.Helper()
	f.addBalance(t, account, amount)
	id := kernel.NewID()
	f.exec(t, `INSERT INTO ledger_entries (id, posting_id, account_id, amount, balance_after, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		id, posting, account, amount, f.balance(t, account), time.Now().UTC())
	return id
}

// rawTransfer is a complete, consistent posting written behind the ledger's back.
func (f *ledgerFixture) rawTransfer(t *testing.T, kind domain.PostingKind, order, from, to string, amount int64) string {
	t.Helper()
	p := f.rawPosting(t, kind, order, from, to, amount)
	f.rawEntry(t, p, from, -amount)
	f.rawEntry(t, p, to, amount)
	return p
}

// disableAppendOnly lets UPDATE and DELETE through on postings and entries.
func (f *ledgerFixture) disableAppendOnly(t *testing.T) {
	t.Helper()
	if f.db.Dialect == store.Postgres {
		f.exec(t, "ALTER TABLE ledger_postings DISABLE TRIGGER USER")
		f.exec(t, "ALTER TABLE ledger_entries DISABLE TRIGGER USER")
		return
	}
	for _, tr := range []string{"ledger_postings_no_update", "ledger_postings_no_delete", "ledger_entries_no_update", "ledger_entries_no_delete"} {
		f.exec(t, "DROP TRIGGER "+tr)
	}
}

// disableNoNegative lets a non-mint account go below zero.
func (f *ledgerFixture) disableNoNegative(t *testing.T) {
	t.Helper()
	if f.db.Dialect == store.Postgres {
		f.exec(t, "ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_no_negative")
		return
	}
	// SQLite cannot drop a CHECK; the pragma holds for the one connection the store uses.
	f.exec(t, "PRAGMA ignore_check_constraints = ON")
}

// latestEntry is the newest entry of an account.
func (f *ledgerFixture) latestEntry(t *testing.T, account string) string {
	t.Helper()
	var id string
	require.NoError(t, f.db.Bun.NewRaw("SELECT MAX(id) FROM ledger_entries WHERE account_id = ?", account).Scan(context.Background(), &id))
	return id
}

// fatalRecorder stands in for a test so RequireInvariants can be seen failing.
type fatalRecorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatal(args ...any) { r.failed, r.msg = true, fmt.Sprint(args...) }

func TestLedgerCheckerPassesOnHealthyLedger(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newLedgerFixture(t, db)
		// Every kind of posting, including partial refunds and refunds after payout.
		part := "o-part-" + kernel.NewID()
		require.NoError(t, f.l.Hold(ctx, part, f.cust, 300))
		_, err := f.l.Refund(ctx, part, f.cust, f.owner, 120)
		require.NoError(t, err)
		full := "o-full-" + kernel.NewID()
		require.NoError(t, f.l.Hold(ctx, full, f.cust, 50))
		_, err = f.l.Refund(ctx, full, f.cust, f.owner, 50)
		require.NoError(t, err)
		_, err = f.l.RefundAfterPayout(ctx, f.paid, f.cust, f.owner, 30, ledger.FromOwner)
		require.NoError(t, err)
		_, err = f.l.RefundAfterPayout(ctx, f.paid, f.cust, f.owner, 20, ledger.FromGoodwill)
		require.NoError(t, err)
		_, err = f.l.Credit(ctx, f.owner, 5, "sorry", kernel.NewID())
		require.NoError(t, err)
		problems, err := f.store.Check(ctx)
		require.NoError(t, err)
		require.Empty(t, problems)
		require.NoError(t, f.l.CheckInvariants(ctx))
		ledgertest.RequireInvariants(t, f.l)
	})
}

func TestLedgerCheckerFindsCorruption(t *testing.T) {
	t.Parallel()
	const (
		unbalanced = "posting does not balance (two entries, -amount and +amount): "
		wrongAcct  = "entry on the wrong account: "
		differs    = "balance differs from its entries: "
		latest     = "latest balance_after differs from the balance: "
		negative   = "negative account other than mint: "
		escrow     = "escrow differs from its open hold: "
		twoPayouts = "more than one payout for an order: "
	)
	cases := []struct {
		name string
		// corrupt damages the ledger and returns the problems the checker
		// must report; exact means no other problem may be reported.
		corrupt func(t *testing.T, f *ledgerFixture) (want []string, exact bool)
	}{
		{"posting with one entry", func(t *testing.T, f *ledgerFixture) ([]string, bool) {
			p := f.rawPosting(t, domain.SupportCredit, "", domain.Mint, domain.WalletID(f.cust), 50)
			f.rawEntry(t, p, domain.WalletID(f.cust), 50)
			return []string{unbalanced + p, "balances sum to 50, not 0"}, true
		}},
		{"posting with its debit entry deleted", func(t *testing.T, f *ledgerFixture) ([]string, bool) {
			f.disableAppendOnly(t)
			var p, e string
			require.NoError(t, f.db.Bun.NewRaw(
				"SELECT posting_id, id FROM ledger_entries WHERE account_id = ? AND amount < 0 ORDER BY id LIMIT 1",
				domain.WalletID(f.cust)).Scan(context.Background(), &p, &e))
			f.exec(t, "DELETE FROM ledger_entries WHERE id = ?", e)
			return []string{unbalanced + p, differs + domain.WalletID(f.cust)}, false
		}},
		{"entries that do not match the posting's amount", func(t *testing.T, f *ledgerFixture) ([]string, bool) {
			p := f.rawPosting(t, domain.SupportCredit, "", domain.Mint, domain.WalletID(f.cust), 50)
			f.rawEntry(t, p, domain.Mint, -40)
			f.rawEntry(t, p, domain.WalletID(f.cust), 40)
			return []string{unbalanced + p}, true
		}},
		{"entry on the wrong account", func(t *testing.T, f *ledgerFixture) ([]string, bool) {
			p := f.rawPosting(t, domain.SupportCredit, "", domain.Mint, domain.WalletID(f.cust), 50)
			f.rawEntry(t, p, domain.Mint, -50)
			e := f.rawEntry(t, p, domain.WalletID(f.owner), 50)
			return []string{wrongAcct + e}, true
		}},
		{"balance changed without an entry", func(t *testing.T, f *ledgerFixture) ([]string, bool) {
			// Points move between two wallets: the total stays zero.
			f.addBalance(t, domain.WalletID(f.cust), 7)
			f.addBalance(t, domain.WalletID(f.owner), -7)
			return []string{
				differs + domain.WalletID(f.cust), differs + domain.WalletID(f.owner),
				latest + domain.WalletID(f.cust), latest + domain.WalletID(f.owner),
			}, true
		}},
		{"balance_after rewritten", func(t *testing.T, f *ledgerFixture) ([]string, bool) {
			e := f.latestEntry(t, domain.WalletID(f.cust))
			_, err := f.db.Bun.ExecContext(context.Background(), "UPDATE ledger_entries SET balance_after = balance_after + 1 WHERE id = ?", e)
			require.ErrorContains(t, err, "append-only", "the trigger refuses it first")
			f.disableAppendOnly(t)
			f.exec(t, "UPDATE ledger_entries SET balance_after = balance_after + 1 WHERE id = ?", e)
			return []string{latest + domain.WalletID(f.cust)}, true
		}},
		{"negative wallet", func(t *testing.T, f *ledgerFixture) ([]string, bool) {
			ctx := context.Background()
			w := domain.WalletID(f.cust)
			has := f.balance(t, w)
			// The CHECK constraint refuses it, and so does the ledger.
			_, err := f.db.Bun.ExecContext(ctx, "UPDATE ledger_accounts SET balance = -1 WHERE id = ?", w)
			require.Error(t, err, "the CHECK constraint")
			require.Contains(t, strings.ToLower(err.Error()), "check", "%v", err)
			_, err = f.store.Transfer(ctx, domain.Transfer{Kind: domain.SupportCredit, EffectKey: kernel.NewID(),
				From: w, To: domain.Mint, Amount: kernel.Points(has + 30)}, time.Now().UTC())
			require.ErrorIs(t, err, kernel.ErrInsufficientPoints)
			require.Equal(t, has, f.balance(t, w))
			// Behind the constraint's back: a consistent overdraft.
			f.disableNoNegative(t)
			f.rawTransfer(t, domain.SupportCredit, "", w, domain.Mint, has+30)
			require.Equal(t, int64(-30), f.balance(t, w))
			return []string{negative + w}, true
		}},
		{"second payout posting for an order", func(t *testing.T, f *ledgerFixture) ([]string, bool) {
			ctx := context.Background()
			second := domain.Transfer{Kind: domain.Payout, OrderID: f.paid, EffectKey: "second-payout:" + f.paid,
				From: domain.Mint, To: domain.WalletID(f.owner), Amount: 10, Memo: "again"}
			// The unique (order_id, kind) index refuses it, even under another effect key.
			_, err := f.store.Transfer(ctx, second, time.Now().UTC())
			require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
			// Without the index the ledger would take it; the checker must not.
			f.exec(t, "DROP INDEX ledger_postings_order_kind_key")
			_, err = f.store.Transfer(ctx, second, time.Now().UTC())
			require.NoError(t, err)
			return []string{twoPayouts + f.paid}, true
		}},
		{"balances do not sum to zero", func(t *testing.T, f *ledgerFixture) ([]string, bool) {
			f.addBalance(t, domain.Mint, -5)
			return []string{"balances sum to -5, not 0", differs + domain.Mint, latest + domain.Mint}, true
		}},
		{"open escrow differs from its hold", func(t *testing.T, f *ledgerFixture) ([]string, bool) {
			// A consistent posting into the escrow that is not its hold.
			_, err := f.store.Transfer(context.Background(), domain.Transfer{Kind: domain.SupportCredit, EffectKey: kernel.NewID(),
				From: domain.Mint, To: domain.EscrowID(f.open), Amount: 25}, time.Now().UTC())
			require.NoError(t, err)
			return []string{escrow + domain.EscrowID(f.open)}, true
		}},
		{"settled escrow not empty", func(t *testing.T, f *ledgerFixture) ([]string, bool) {
			f.rawTransfer(t, domain.SupportCredit, "", domain.Mint, domain.EscrowID(f.paid), 3)
			return []string{escrow + domain.EscrowID(f.paid)}, true
		}},
		{"escrow partly paid out", func(t *testing.T, f *ledgerFixture) ([]string, bool) {
			f.rawTransfer(t, domain.Payout, f.open, domain.EscrowID(f.open), domain.WalletID(f.owner), 60)
			return []string{escrow + domain.EscrowID(f.open)}, true
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				f := newLedgerFixture(t, db)
				want, exact := c.corrupt(t, f)
				problems, err := f.store.Check(ctx)
				require.NoError(t, err)
				if exact {
					require.ElementsMatch(t, want, problems)
				} else {
					for _, w := range want {
						require.Contains(t, problems, w)
					}
				}
				// The facade and the helper every flow test ends with fail too.
				err = f.l.CheckInvariants(ctx)
				require.Error(t, err)
				require.Contains(t, err.Error(), want[0])
				rec := &fatalRecorder{}
				ledgertest.RequireInvariants(rec, f.l)
				require.True(t, rec.failed, "RequireInvariants must fail")
				require.Contains(t, rec.msg, want[0])
			})
		})
	}
}

type postingSnapshot struct {
	ID          string `bun:"id"`
	Kind        string `bun:"kind"`
	OrderID     string `bun:"order_id"`
	EffectKey   string `bun:"effect_key"`
	FromAccount string `bun:"from_account"`
	ToAccount   string `bun:"to_account"`
	Amount      int64  `bun:"amount"`
	Memo        string `bun:"memo"`
}

type entrySnapshot struct {
	ID           string `bun:"id"`
	PostingID    string `bun:"posting_id"`
	AccountID    string `bun:"account_id"`
	Amount       int64  `bun:"amount"`
	BalanceAfter int64  `bun:"balance_after"`
}

func ledgerSnapshot(t *testing.T, db *store.DB) ([]postingSnapshot, []entrySnapshot) {
	t.Helper()
	ctx := context.Background()
	var ps []postingSnapshot
	require.NoError(t, db.Bun.NewRaw(`SELECT id, kind, COALESCE(order_id, '') AS order_id, effect_key, from_account, to_account, amount, memo
		FROM ledger_postings ORDER BY id`).Scan(ctx, &ps))
	var es []entrySnapshot
	require.NoError(t, db.Bun.NewRaw(`SELECT id, posting_id, account_id, amount, balance_after FROM ledger_entries ORDER BY id`).Scan(ctx, &es))
	return ps, es
}

func TestLedgerPostingsAreAppendOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newLedgerFixture(t, db)
		postings, entries := ledgerSnapshot(t, db)
		require.NotEmpty(t, postings)
		require.Len(t, entries, 2*len(postings))
		p, e := postings[len(postings)-1].ID, entries[len(entries)-1].ID

		// Each statement must be refused by the append-only trigger of its table.
		statements := []struct{ sql, table string }{
			{"UPDATE ledger_postings SET amount = amount + 1", "ledger_postings"},
			{"UPDATE ledger_postings SET memo = 'edited' WHERE id = '" + p + "'", "ledger_postings"},
			{"UPDATE ledger_postings SET kind = 'refund' WHERE id = '" + p + "'", "ledger_postings"},
			{"DELETE FROM ledger_postings WHERE id = '" + p + "'", "ledger_postings"},
			{"DELETE FROM ledger_postings", "ledger_postings"},
			{"UPDATE ledger_entries SET amount = amount * 2", "ledger_entries"},
			{"UPDATE ledger_entries SET balance_after = 0 WHERE id = '" + e + "'", "ledger_entries"},
			{"DELETE FROM ledger_entries WHERE id = '" + e + "'", "ledger_entries"},
			{"DELETE FROM ledger_entries", "ledger_entries"},
		}
		if db.Dialect == store.Postgres {
			// TRUNCATE ledger_postings alone is refused by the entries' foreign key before any trigger.
			statements = append(statements,
				struct{ sql, table string }{"TRUNCATE ledger_entries", "ledger_entries"},
				struct{ sql, table string }{"TRUNCATE ledger_postings, ledger_entries", "ledger_postings"},
				struct{ sql, table string }{"TRUNCATE ledger_postings CASCADE", "ledger_postings"},
			)
		}
		for _, st := range statements {
			want := "append-only"
			_, err := db.Bun.ExecContext(ctx, st.sql)
			require.Error(t, err, st.sql)
			require.Contains(t, err.Error(), want, "%s: refused by the trigger, not by something else: %v", st.sql, err)
			require.Contains(t, err.Error(), "on "+st.table+" refused", st.sql)
			// Inside a transaction too.
			err = db.InTx(ctx, func(ctx context.Context) error {
				_, err := db.Conn(ctx).ExecContext(ctx, st.sql)
				return err
			})
			require.ErrorContains(t, err, want, st.sql)
		}
		gotPostings, gotEntries := ledgerSnapshot(t, db)
		require.Equal(t, postings, gotPostings)
		require.Equal(t, entries, gotEntries)

		// The ledger still works, and appends.
		require.NoError(t, f.l.Hold(ctx, "o-after-"+kernel.NewID(), f.cust, 1))
		gotPostings, _ = ledgerSnapshot(t, db)
		require.Len(t, gotPostings, len(postings)+1)
		ledgertest.RequireInvariants(t, f.l)
	})
}

func TestLedgerStoreTransfer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newLedgerFixture(t, db)
		s := f.store
		at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
		before, _ := ledgerSnapshot(t, db)
		w := domain.WalletID(f.cust)
		base := domain.Transfer{Kind: domain.SupportCredit, EffectKey: "k-" + kernel.NewID(), From: domain.Mint, To: w, Amount: 5, Memo: "m"}

		// Malformed transfers are refused before any write.
		for _, bad := range []func(*domain.Transfer){
			func(t *domain.Transfer) { t.Amount = 0 },
			func(t *domain.Transfer) { t.Amount = -5 },
			func(t *domain.Transfer) { t.To = t.From },
			func(t *domain.Transfer) { t.EffectKey = "" },
		} {
			tr := base
			bad(&tr)
			_, err := s.Transfer(ctx, tr, at)
			require.Error(t, err, "%+v", tr)
		}
		// Unknown accounts: debiting one is having no points; crediting one is an error.
		_, err := s.Transfer(ctx, domain.Transfer{Kind: domain.Hold, EffectKey: kernel.NewID(), From: "wallet:nobody", To: w, Amount: 1}, at)
		require.ErrorIs(t, err, kernel.ErrInsufficientPoints)
		require.Contains(t, err.Error(), "1 needed, 0 available")
		_, err = s.Transfer(ctx, domain.Transfer{Kind: domain.SupportCredit, EffectKey: kernel.NewID(), From: domain.Mint, To: "wallet:nobody", Amount: 1}, at)
		require.Error(t, err)
		require.NotErrorIs(t, err, kernel.ErrInsufficientPoints)
		require.Contains(t, err.Error(), "no such account")
		// An overdraft changes nothing.
		has := f.balance(t, w)
		_, err = s.Transfer(ctx, domain.Transfer{Kind: domain.Hold, EffectKey: kernel.NewID(), From: w, To: domain.Platform, Amount: kernel.Points(has + 1)}, at)
		require.ErrorIs(t, err, kernel.ErrInsufficientPoints)
		require.Contains(t, err.Error(), fmt.Sprintf("%d needed, %d available", has+1, has))
		// Also when the debited account sorts first (updated before the credit).
		_, err = s.Transfer(ctx, domain.Transfer{Kind: domain.Payout, EffectKey: kernel.NewID(), From: domain.EscrowID(f.open), To: w, Amount: 101}, at)
		require.ErrorIs(t, err, kernel.ErrInsufficientPoints)
		require.Contains(t, err.Error(), "101 needed, 100 available")
		after, _ := ledgerSnapshot(t, db)
		require.Equal(t, before, after, "nothing written by refused transfers")

		// A good one, and its repeat.
		p, err := s.Transfer(ctx, base, at)
		require.NoError(t, err)
		require.Equal(t, domain.SupportCredit, p.Kind)
		require.Equal(t, kernel.Points(5), p.Amount)
		require.Equal(t, kernel.Points(has+5), p.BalanceAfter)
		require.True(t, at.Equal(p.CreatedAt))
		_, err = s.Transfer(ctx, base, at)
		require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
		require.Contains(t, err.Error(), base.EffectKey)
		// An effect already applied writes nothing: a caller may take it as
		// done and commit (ordering's payout job does).
		applied, _ := ledgerSnapshot(t, db)
		require.NoError(t, db.InTx(ctx, func(ctx context.Context) error {
			_, err := s.Transfer(ctx, base, at)
			require.ErrorIs(t, err, ledger.ErrAlreadyApplied)
			return nil
		}))
		again, _ := ledgerSnapshot(t, db)
		require.Equal(t, applied, again)
		require.Equal(t, has+5, f.balance(t, w))
		ok, err := s.Applied(ctx, base.EffectKey)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.Applied(ctx, "never")
		require.NoError(t, err)
		require.False(t, ok)

		// The mint may go negative, nothing else may.
		mint := f.balance(t, domain.Mint)
		_, err = s.Transfer(ctx, domain.Transfer{Kind: domain.SupportCredit, EffectKey: kernel.NewID(), From: domain.Mint, To: domain.Platform, Amount: 1_000_000}, at)
		require.NoError(t, err)
		require.Equal(t, mint-1_000_000, f.balance(t, domain.Mint))

		// Entries as the account sees them.
		rows, err := s.Entries(ctx, w, ledger.Filter{}, "", 100)
		require.NoError(t, err)
		require.Equal(t, p.ID, rows[0].ID)
		require.Equal(t, p.PostingID, rows[0].PostingID)
		require.Equal(t, "m", rows[0].Memo)
		require.True(t, at.Equal(rows[0].CreatedAt))
		holds, err := s.Entries(ctx, domain.EscrowID(f.open), ledger.Filter{Kind: string(domain.Hold)}, "", 100)
		require.NoError(t, err)
		require.Len(t, holds, 1)
		require.Equal(t, kernel.Points(100), holds[0].Amount)
		require.Equal(t, f.open, holds[0].OrderID)

		// Balances and holds.
		bal, err := s.Balance(ctx, "wallet:nobody")
		require.NoError(t, err)
		require.Zero(t, bal)
		held, err := s.Held(ctx, f.cust)
		require.NoError(t, err)
		require.Equal(t, kernel.Points(100), held, "only the open order")
		ledgertest.RequireInvariants(t, f.l)
	})
}

// Transfers queueing for one account's row (a hot wallet spent by many at
// once) each see the balance the one before left, and the account's
// entries sort in the order the balances were applied: their ids are
// taken after the row lock (by the database on Postgres, where the
// transfer is one statement).
func TestLedgerStoreHotAccount(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newLedgerFixture(t, db)
		w := domain.WalletID(f.cust)
		start := f.balance(t, w)
		const n, amount = 48, 10
		require.GreaterOrEqual(t, start, int64(n*amount))
		began := time.Now()
		errs := make([]error, n)
		release := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-release
				order := fmt.Sprintf("hot-%d-%s", i, kernel.NewID())
				errs[i] = db.InTx(ctx, func(ctx context.Context) error {
					if err := f.store.OpenAccount(ctx, domain.EscrowID(order), domain.KindEscrow, f.cust, order); err != nil {
						return err
					}
					_, err := f.store.Transfer(ctx, domain.Transfer{Kind: domain.Hold, OrderID: order, EffectKey: domain.OrderEffectKey(domain.Hold, order),
						From: w, To: domain.EscrowID(order), Amount: amount, Memo: "hot"}, time.Now().UTC())
					return err
				})
			}()
		}
		close(release)
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "transfer %d", i)
		}
		rows, err := f.store.Entries(ctx, w, ledger.Filter{}, "", n)
		require.NoError(t, err)
		require.Len(t, rows, n)
		for i, r := range rows { // newest first
			require.Equal(t, kernel.Points(-amount), r.Amount)
			require.Equal(t, kernel.Points(start-int64(n-i)*amount), r.BalanceAfter, "entry %d from the newest", i)
			id, err := uuid.Parse(r.ID)
			require.NoError(t, err)
			require.Equal(t, uuid.Version(7), id.Version(), r.ID)
			sec, nsec := id.Time().UnixTime()
			require.WithinRange(t, time.Unix(sec, nsec), began.Add(-time.Minute), time.Now().Add(time.Minute), "the id's time")
		}
		require.Equal(t, start-n*amount, f.balance(t, w))
		ledgertest.RequireInvariants(t, f.l)
	})
}

func TestLedgerStoreLock(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newLedgerFixture(t, db)
		w, o := domain.WalletID(f.cust), domain.WalletID(f.owner)
		var got map[string]kernel.Points
		require.NoError(t, db.InTx(ctx, func(ctx context.Context) error {
			var err error
			got, err = f.store.Lock(ctx, o, "wallet:nobody", w, w, domain.Platform)
			return err
		}))
		require.Equal(t, map[string]kernel.Points{
			w: kernel.Points(f.balance(t, w)), o: kernel.Points(f.balance(t, o)), domain.Platform: 5,
		}, got, "existing accounts only, each once")
		got, err := f.store.Lock(ctx)
		require.NoError(t, err)
		require.Empty(t, got)

		// A locked account waits for the holder's commit: the second reader
		// sees what the first wrote, not what was there when it asked.
		locked := make(chan struct{})
		done := make(chan kernel.Points, 1)
		errs := make(chan error, 2)
		go func() {
			errs <- db.InTx(ctx, func(ctx context.Context) error {
				if _, err := f.store.Lock(ctx, domain.Platform); err != nil {
					return err
				}
				close(locked)
				time.Sleep(150 * time.Millisecond) // let the second transaction ask for the lock
				_, err := f.store.Transfer(ctx, domain.Transfer{Kind: domain.SupportCredit, EffectKey: kernel.NewID(),
					From: domain.Mint, To: domain.Platform, Amount: 1000}, time.Now().UTC())
				return err
			})
		}()
		<-locked
		go func() {
			errs <- db.InTx(ctx, func(ctx context.Context) error {
				bal, err := f.store.Lock(ctx, domain.Platform)
				done <- bal[domain.Platform]
				return err
			})
		}()
		require.NoError(t, <-errs)
		require.NoError(t, <-errs)
		require.Equal(t, kernel.Points(1005), <-done)
		ledgertest.RequireInvariants(t, f.l)
	})
}
