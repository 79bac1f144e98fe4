package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/domain"
)

type accountRow struct {
	bun.BaseModel `bun:"table:ledger_accounts"`

	ID        string    `bun:"id,pk"`
	Kind      string    `bun:"kind"`
	UserID    *string   `bun:"user_id"`
	OrderID   *string   `bun:"order_id"`
	Balance   int64     `bun:"balance"`
	CreatedAt time.Time `bun:"created_at"`
}

type postingRow struct {
	bun.BaseModel `bun:"table:ledger_postings"`

	ID          string    `bun:"id,pk"`
	Kind        string    `bun:"kind"`
	OrderID     *string   `bun:"order_id"`
	EffectKey   string    `bun:"effect_key"`
	FromAccount string    `bun:"from_account"`
	ToAccount   string    `bun:"to_account"`
	Amount      int64     `bun:"amount"`
	Memo        string    `bun:"memo"`
	CreatedAt   time.Time `bun:"created_at"`
}

type entryRow struct {
	bun.BaseModel `bun:"table:ledger_entries"`

	ID           string    `bun:"id,pk"`
	PostingID    string    `bun:"posting_id"`
	AccountID    string    `bun:"account_id"`
	Amount       int64     `bun:"amount"`
	BalanceAfter int64     `bun:"balance_after"`
	CreatedAt    time.Time `bun:"created_at"`
}

// Ledger implements the ledger module's Store.
type Ledger struct{ db *DB }

// NewLedger returns the ledger's store.
func NewLedger(db *DB) *Ledger { return &Ledger{db: db} }

var _ ledger.Store = (*Ledger)(nil)

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// OpenAccount creates an account unless it exists.
func (s *Ledger) OpenAccount(ctx context.Context, id string, kind domain.AccountKind, user kernel.UserID, order string) error {
	_, err := s.db.Conn(ctx).NewInsert().Model(&accountRow{
		ID: id, Kind: string(kind), UserID: nullable(string(user)), OrderID: nullable(order), CreatedAt: time.Now().UTC(),
	}).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("open account %s: %w", id, err)
	}
	return nil
}

// Transfer claims the effect key (nothing is written when it was used),
// then moves the amount: the debit is one conditional update, accounts are
// updated in sorted id order so concurrent transfers never deadlock. On any
// error the caller's transaction must roll back.
//
// On Postgres the whole transfer is one statement (pgTransfer), so a
// transfer holds its accounts' row locks for the rest of that statement and
// the commit, not across further round trips. On SQLite, whose transactions
// hold the database's write lock from BEGIN IMMEDIATE, it is a few
// statements (transferSteps).
func (s *Ledger) Transfer(ctx context.Context, t domain.Transfer, at time.Time) (ledger.PostingView, error) {
	if err := t.Validate(); err != nil {
		return ledger.PostingView{}, err
	}
	var out ledger.PostingView
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		var err error
		if s.db.Dialect == Postgres {
			out, err = s.transferPG(ctx, t, at)
		} else {
			out, err = s.transferSteps(ctx, t, at)
		}
		return err
	})
	return out, err
}

// pgTransfer is a transfer in one statement (Postgres). Its parts run in
// the order each waits for the one before it:
//
//  1. posting claims the effect key; ON CONFLICT it returns nothing and
//     nothing below runs.
//  2. the two balance updates, in sorted account id order (the second runs
//     only once the first matched its row): each takes its account's row
//     lock. The debit is the single conditional update: it matches no row
//     when the account (other than mint) lacks the points, and then
//     nothing after it runs.
//  3. entries adds the two entries, with the balances the updates
//     returned.
//
// The foreign key checks of the posting and the entries (each locks the
// referenced account FOR KEY SHARE) run at the end of the statement, after
// the updates, on rows the transaction has already locked: they never wait.
// Had the posting been inserted before the updates, as separate
// statements, every transaction queueing for a hot wallet would hold a key
// share lock on it, and each update of the wallet would build a multixact
// of all of them (what made the hot wallet slow, docs/PERFORMANCE.md).
//
// Entry ids are UUIDv7 (like kernel.NewID) made by the database from
// clock_timestamp() read after the account's update (the RETURNING of a
// row comes after its lock), so an account's entries sort in the order
// their balances were applied even when transactions queue for its row.
// Go could only number them after the lock with another round trip under
// it. The layout is uuid.NewV7's: 48 bits of Unix milliseconds, version 7,
// 12 bits of the millisecond's fraction (nanoseconds >> 8), then random
// bits (gen_random_uuid's, with their variant).
//
// The statement returns one row: whether the posting was inserted, the
// balances after the debit and the credit (NULL when that update did not
// run or matched nothing) and the id of the credited account's entry.
const pgTransfer = `WITH posting AS (
	INSERT INTO ledger_postings (id, kind, order_id, effect_key, from_account, to_account, amount, memo, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id, amount, created_at
), {first} AS (
	{first_update} AND EXISTS (SELECT FROM posting) RETURNING id, balance, clock_timestamp() AS at
), {second} AS (
	{second_update} AND EXISTS (SELECT FROM {first}) RETURNING id, balance, clock_timestamp() AS at
), entries AS (
	INSERT INTO ledger_entries (id, posting_id, account_id, amount, balance_after, created_at)
	SELECT substr(t.x, 1, 8) || '-' || substr(t.x, 9, 4) || '-7' || substr(t.x, 13, 3) || '-' || substr(gen_random_uuid()::text, 20),
		posting.id, m.account_id, m.amount, m.balance_after, posting.created_at
	FROM posting, debit, credit,
		LATERAL (VALUES (debit.id, -posting.amount, debit.balance, debit.at), (credit.id, posting.amount, credit.balance, credit.at))
			AS m (account_id, amount, balance_after, at),
		LATERAL (SELECT lpad(to_hex(u.us / 1000 * 4096 + u.us % 1000 * 1000 / 256), 15, '0') AS x
			FROM (SELECT (extract(epoch FROM m.at) * 1000000)::bigint AS us) AS u) AS t
	RETURNING id, amount
)
SELECT EXISTS (SELECT FROM posting), (SELECT balance FROM debit), (SELECT balance FROM credit), (SELECT id FROM entries WHERE amount > 0)`

const (
	pgDebit  = `UPDATE ledger_accounts SET balance = balance - ? WHERE id = ? AND (balance >= ? OR kind = 'mint')`
	pgCredit = `UPDATE ledger_accounts SET balance = balance + ? WHERE id = ?`
)

// pgTransferDebitFirst and pgTransferCreditFirst are pgTransfer with the
// updates in either order: the account with the smaller id comes first.
var (
	pgTransferDebitFirst = strings.NewReplacer("{first}", "debit", "{first_update}", pgDebit,
		"{second}", "credit", "{second_update}", pgCredit).Replace(pgTransfer)
	pgTransferCreditFirst = strings.NewReplacer("{first}", "credit", "{first_update}", pgCredit,
		"{second}", "debit", "{second_update}", pgDebit).Replace(pgTransfer)
)

// pgTransferStatement is pgTransfer for one transfer (? placeholders) and
// its arguments: the posting's nine values, then the two updates' in the
// order they run.
func pgTransferStatement(postingID, kind, orderID, effectKey, from, to string, amount int64, memo string, at time.Time) (string, []any) {
	args := []any{postingID, kind, nullable(orderID), effectKey, from, to, amount, memo, at}
	debit, credit := []any{amount, from, amount}, []any{amount, to}
	if to < from {
		return pgTransferCreditFirst, append(append(args, credit...), debit...)
	}
	return pgTransferDebitFirst, append(append(args, debit...), credit...)
}

// PGTransferStatement is the statement Transfer sends on Postgres, with $n
// placeholders, and its arguments: what the benchmarks' baselines replay
// through pgx (bench/ledger, bench/payouts), so that they send heepr's SQL
// rather than a copy of it.
func PGTransferStatement(postingID, kind, orderID, effectKey, from, to string, amount int64, memo string, at time.Time) (string, []any) {
	q, args := pgTransferStatement(postingID, kind, orderID, effectKey, from, to, amount, memo, at)
	return dollarPlaceholders(q), args
}

// transferPG runs pgTransfer in the caller's transaction.
func (s *Ledger) transferPG(ctx context.Context, t domain.Transfer, at time.Time) (ledger.PostingView, error) {
	conn := s.db.Conn(ctx)
	postingID, amount := kernel.NewID(), int64(t.Amount)
	query, args := pgTransferStatement(postingID, string(t.Kind), t.OrderID, t.EffectKey, t.From, t.To, amount, t.Memo, at)
	var posted bool
	var fromAfter, toAfter sql.NullInt64
	var toEntry sql.NullString
	err := conn.NewRaw(query, args...).Scan(ctx, &posted, &fromAfter, &toAfter, &toEntry)
	if isForeignKeyViolation(err) {
		return ledger.PostingView{}, s.missingAccount(ctx, conn, t, err)
	}
	if err != nil {
		return ledger.PostingView{}, fmt.Errorf("transfer %s %s: %w", t.Kind, t.EffectKey, err)
	}
	switch {
	case !posted:
		return ledger.PostingView{}, fmt.Errorf("%s %s: %w", t.Kind, t.EffectKey, ledger.ErrAlreadyApplied)
	case !fromAfter.Valid:
		// The debit matched no row (the posting, and the credit when it
		// came first, are rolled back with the caller's transaction). An
		// account that does not exist fails the posting's foreign key instead.
		have, err := s.Balance(ctx, t.From)
		if err != nil {
			return ledger.PostingView{}, err
		}
		return ledger.PostingView{}, insufficient(amount, int64(have))
	case !toAfter.Valid || !toEntry.Valid:
		return ledger.PostingView{}, fmt.Errorf("credit %s: no such account", t.To)
	}
	return ledger.PostingView{
		ID: toEntry.String, PostingID: postingID, Kind: t.Kind, OrderID: t.OrderID, Amount: t.Amount,
		BalanceAfter: kernel.Points(toAfter.Int64), Memo: t.Memo, CreatedAt: at,
	}, nil
}

// transferSteps is Transfer as separate statements (SQLite): the posting,
// the two balance updates in sorted id order, the two entries.
func (s *Ledger) transferSteps(ctx context.Context, t domain.Transfer, at time.Time) (ledger.PostingView, error) {
	conn := s.db.Conn(ctx)
	p := &postingRow{
		ID: kernel.NewID(), Kind: string(t.Kind), OrderID: nullable(t.OrderID), EffectKey: t.EffectKey,
		FromAccount: t.From, ToAccount: t.To, Amount: int64(t.Amount), Memo: t.Memo, CreatedAt: at,
	}
	res, err := conn.NewInsert().Model(p).On("CONFLICT DO NOTHING").Exec(ctx)
	if isForeignKeyViolation(err) {
		return ledger.PostingView{}, s.missingAccount(ctx, conn, t, err)
	}
	if err != nil {
		return ledger.PostingView{}, fmt.Errorf("insert posting: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return ledger.PostingView{}, err
	} else if n == 0 {
		return ledger.PostingView{}, fmt.Errorf("%s %s: %w", t.Kind, t.EffectKey, ledger.ErrAlreadyApplied)
	}
	steps := []struct {
		account string
		delta   int64
	}{{t.From, -int64(t.Amount)}, {t.To, int64(t.Amount)}}
	sort.Slice(steps, func(i, j int) bool { return steps[i].account < steps[j].account })
	after := map[string]int64{}
	for _, st := range steps {
		bal, err := s.move(ctx, conn, st.account, st.delta)
		if err != nil {
			return ledger.PostingView{}, err
		}
		after[st.account] = bal
	}
	// Entry ids are taken after the balances moved (rows locked), so an
	// account's entries sort in the order their balances were applied.
	entries := []entryRow{
		{ID: kernel.NewID(), PostingID: p.ID, AccountID: t.From, Amount: -int64(t.Amount), BalanceAfter: after[t.From], CreatedAt: at},
		{ID: kernel.NewID(), PostingID: p.ID, AccountID: t.To, Amount: int64(t.Amount), BalanceAfter: after[t.To], CreatedAt: at},
	}
	if _, err := conn.NewInsert().Model(&entries).Exec(ctx); err != nil {
		return ledger.PostingView{}, fmt.Errorf("insert entries: %w", err)
	}
	return ledger.PostingView{
		ID: entries[1].ID, PostingID: p.ID, Kind: t.Kind, OrderID: t.OrderID, Amount: t.Amount,
		BalanceAfter: kernel.Points(after[t.To]), Memo: t.Memo, CreatedAt: at,
	}, nil
}

// move applies delta to an account and returns its new balance. A debit is
// conditional: it matches no row when the account (other than mint) lacks
// the points.
func (s *Ledger) move(ctx context.Context, conn bun.IDB, account string, delta int64) (int64, error) {
	var bal int64
	q := conn.NewUpdate().Model((*accountRow)(nil)).Set("balance = balance + ?", delta).Where("id = ?", account)
	if delta < 0 {
		q = q.Where("(balance >= ? OR kind = 'mint')", -delta)
	}
	err := q.Returning("balance").Scan(ctx, &bal)
	if IsNoRows(err) {
		if delta > 0 {
			return 0, fmt.Errorf("credit %s: no such account", account)
		}
		have, berr := s.Balance(ctx, account)
		if berr != nil {
			return 0, berr
		}
		return 0, insufficient(-delta, int64(have))
	}
	if err != nil {
		return 0, fmt.Errorf("move %d on %s: %w", delta, account, err)
	}
	return bal, nil
}

func insufficient(needed, have int64) error {
	return kernel.New(kernel.ErrInsufficientPoints, "insufficient-points",
		"not enough points: %d needed, %d available", needed, have)
}

// isForeignKeyViolation reports a foreign key failure on either database.
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	var liteErr *sqlite.Error
	return errors.As(err, &liteErr) && liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// missingAccount explains a posting refused for naming an account that
// does not exist: spending from a missing account (a user who never got a
// wallet) is not having the points, like spending from an empty one.
func (s *Ledger) missingAccount(ctx context.Context, conn bun.IDB, t domain.Transfer, err error) error {
	var fromMissing bool
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The transaction is aborted: the constraint's name says which side is missing.
		fromMissing = pgErr.ConstraintName == "ledger_postings_from_account_fkey"
	} else {
		// SQLite undoes the failed statement only; the transaction goes on.
		exists, qerr := conn.NewSelect().Model((*accountRow)(nil)).Where("id = ?", t.From).Exists(ctx)
		if qerr != nil {
			return fmt.Errorf("insert posting: %w (and checking %s: %w)", err, t.From, qerr)
		}
		fromMissing = !exists
	}
	if fromMissing && t.From != domain.Mint {
		return insufficient(int64(t.Amount), 0)
	}
	return fmt.Errorf("insert posting %s from %s to %s: no such account: %w", t.Kind, t.From, t.To, err)
}

// Lock locks the existing accounts among ids until the transaction ends,
// in sorted id order (every multi-account path locks in that order, so
// concurrent transactions never deadlock), and returns their balances.
// Missing accounts are absent from the result. On SQLite the transaction
// already holds the database's write lock.
func (s *Ledger) Lock(ctx context.Context, ids ...string) (map[string]kernel.Points, error) {
	out := make(map[string]kernel.Points, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	sorted := slices.Compact(slices.Sorted(slices.Values(ids)))
	var rows []accountRow
	q := s.db.Conn(ctx).NewSelect().Model(&rows).Column("id", "balance").
		Where("id IN (?)", bun.In(sorted)).OrderExpr("id")
	if s.db.Dialect == Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("lock accounts: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = kernel.Points(r.Balance)
	}
	return out, nil
}

// Balance of an account (0 when it does not exist).
func (s *Ledger) Balance(ctx context.Context, account string) (kernel.Points, error) {
	var bal []int64
	if err := s.db.Conn(ctx).NewSelect().Model((*accountRow)(nil)).Column("balance").Where("id = ?", account).Scan(ctx, &bal); err != nil {
		return 0, fmt.Errorf("read balance: %w", err)
	}
	if len(bal) == 0 {
		return 0, nil
	}
	return kernel.Points(bal[0]), nil
}

// Held sums the escrows the user funded.
func (s *Ledger) Held(ctx context.Context, user kernel.UserID) (kernel.Points, error) {
	var held int64
	err := s.db.Conn(ctx).NewSelect().Model((*accountRow)(nil)).ColumnExpr("COALESCE(SUM(balance), 0)").
		Where("kind = 'escrow'").Where("user_id = ?", string(user)).Scan(ctx, &held)
	if err != nil {
		return 0, fmt.Errorf("sum held: %w", err)
	}
	return kernel.Points(held), nil
}

// Applied reports whether an effect key was used.
func (s *Ledger) Applied(ctx context.Context, effectKey string) (bool, error) {
	return s.db.Conn(ctx).NewSelect().Model((*postingRow)(nil)).Where("effect_key = ?", effectKey).Exists(ctx)
}

type entryView struct {
	ID           string    `bun:"id"`
	PostingID    string    `bun:"posting_id"`
	Kind         string    `bun:"kind"`
	OrderID      *string   `bun:"order_id"`
	Amount       int64     `bun:"amount"`
	BalanceAfter int64     `bun:"balance_after"`
	Memo         string    `bun:"memo"`
	CreatedAt    time.Time `bun:"created_at"`
}

// Entries lists an account's postings, newest first.
func (s *Ledger) Entries(ctx context.Context, account string, f ledger.Filter, before string, limit int) ([]ledger.PostingView, error) {
	var rows []entryView
	q := s.db.Conn(ctx).NewSelect().TableExpr("ledger_entries AS e").
		Join("JOIN ledger_postings AS p ON p.id = e.posting_id").
		ColumnExpr("e.id, e.posting_id, p.kind, p.order_id, e.amount, e.balance_after, p.memo, e.created_at").
		Where("e.account_id = ?", account)
	if f.Kind != "" {
		q = q.Where("p.kind = ?", f.Kind)
	}
	if f.OrderID != "" {
		q = q.Where("p.order_id = ?", f.OrderID)
	}
	if before != "" {
		q = q.Where("e.id < ?", before)
	}
	if err := q.OrderExpr("e.id DESC").Limit(int64(limit)).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("list entries: %w", err)
	}
	out := make([]ledger.PostingView, len(rows))
	for i, r := range rows {
		out[i] = ledger.PostingView{
			ID: r.ID, PostingID: r.PostingID, Kind: domain.PostingKind(r.Kind), Amount: kernel.Points(r.Amount),
			BalanceAfter: kernel.Points(r.BalanceAfter), Memo: r.Memo, CreatedAt: r.CreatedAt.UTC(),
		}
		if r.OrderID != nil {
			out[i].OrderID = *r.OrderID
		}
	}
	return out, nil
}

// ledgerChecks are the invariant queries: each returns the ids that break it.
var ledgerChecks = []struct{ name, sql string }{
	{"posting does not balance (two entries, -amount and +amount)", `
		SELECT p.id FROM ledger_postings p LEFT JOIN ledger_entries e ON e.posting_id = p.id
		GROUP BY p.id, p.amount
		HAVING COUNT(e.id) <> 2 OR COALESCE(SUM(e.amount), 0) <> 0 OR COALESCE(MAX(e.amount), 0) <> p.amount`},
	{"entry on the wrong account", `
		SELECT e.id FROM ledger_entries e JOIN ledger_postings p ON p.id = e.posting_id
		WHERE NOT ((e.amount < 0 AND e.account_id = p.from_account) OR (e.amount > 0 AND e.account_id = p.to_account))`},
	{"balance differs from its entries", `
		SELECT a.id FROM ledger_accounts a
		LEFT JOIN (SELECT account_id, SUM(amount) AS s FROM ledger_entries GROUP BY account_id) t ON t.account_id = a.id
		WHERE a.balance <> COALESCE(t.s, 0)`},
	{"latest balance_after differs from the balance", `
		SELECT a.id FROM ledger_accounts a JOIN ledger_entries e ON e.account_id = a.id
		WHERE e.id = (SELECT MAX(e2.id) FROM ledger_entries e2 WHERE e2.account_id = a.id) AND e.balance_after <> a.balance`},
	{"negative account other than mint", `
		SELECT id FROM ledger_accounts WHERE kind <> 'mint' AND balance < 0`},
	{"escrow differs from its open hold", `
		SELECT a.id FROM ledger_accounts a
		LEFT JOIN ledger_postings h ON h.to_account = a.id AND h.kind = 'hold'
		WHERE a.kind = 'escrow' AND (
			(EXISTS (SELECT 1 FROM ledger_postings o WHERE o.from_account = a.id) AND a.balance <> 0) OR
			(NOT EXISTS (SELECT 1 FROM ledger_postings o WHERE o.from_account = a.id) AND a.balance <> COALESCE(h.amount, 0)))`},
	{"more than one payout for an order", `
		SELECT order_id FROM ledger_postings WHERE kind = 'payout' GROUP BY order_id HAVING COUNT(*) > 1`},
}

// Check runs every invariant query and the zero-sum check.
func (s *Ledger) Check(ctx context.Context) ([]string, error) {
	conn := s.db.Conn(ctx)
	var problems []string
	for _, c := range ledgerChecks {
		var ids []string
		if err := conn.NewRaw(c.sql).Scan(ctx, &ids); err != nil {
			return nil, fmt.Errorf("check %q: %w", c.name, err)
		}
		for _, id := range ids {
			problems = append(problems, c.name+": "+id)
		}
	}
	var sum int64
	if err := conn.NewRaw("SELECT COALESCE(SUM(balance), 0) FROM ledger_accounts").Scan(ctx, &sum); err != nil {
		return nil, fmt.Errorf("sum balances: %w", err)
	}
	if sum != 0 {
		problems = append(problems, fmt.Sprintf("balances sum to %d, not 0", sum))
	}
	return problems, nil
}

// OrderPostings lists every posting of an order, oldest first.
func (s *Ledger) OrderPostings(ctx context.Context, order string) ([]ledger.OrderPosting, error) {
	var rows []postingRow
	if err := s.db.Conn(ctx).NewSelect().Model(&rows).Where("order_id = ?", order).OrderExpr("created_at, id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list order postings: %w", err)
	}
	out := make([]ledger.OrderPosting, len(rows))
	for i, r := range rows {
		out[i] = ledger.OrderPosting{ID: r.ID, Kind: domain.PostingKind(r.Kind), From: r.FromAccount, To: r.ToAccount,
			Amount: kernel.Points(r.Amount), Memo: r.Memo, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}
