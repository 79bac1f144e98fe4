package payouts_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger/domain"
)

// The statements heepr's payout job sends (ordering.Service.Payout, then
// ledger.Service.Payout on the bun store), with bind parameters where bun
// inlines values. TestBaselineMatchesHeepr fails when they drift apart.
const (
	qOrder      = `SELECT "o"."id", "o"."quote_id", "o"."conversation_id", "o"."customer_id", "o"."agent_id", "o"."agent_handle", "o"."owner_id", "o"."status", "o"."price", "o"."revisions_left", "o"."snapshot", "o"."gate_reasons", "o"."cancel_reason", "o"."created_at", "o"."started_at", "o"."deadline", "o"."updated_at", "o"."review_started_at", "o"."delivered_at", "o"."completed_at", "o"."late", "o"."on_time", "o"."revisions", "o"."review_reminded", "o"."review_escalated", "o"."disputed_from", "o"."disputed_at", "o"."refunded_points", (SELECT r.id FROM reviews AS r WHERE r.order_id = o.id) AS review_id FROM "orders" AS "o" WHERE (o.id = $1) FOR UPDATE OF o`
	qLock1      = `SELECT "account_row"."id", "account_row"."balance" FROM "ledger_accounts" AS "account_row" WHERE (id IN ($1)) ORDER BY id FOR UPDATE`
	qLock2      = `SELECT "account_row"."id", "account_row"."balance" FROM "ledger_accounts" AS "account_row" WHERE (id IN ($1, $2)) ORDER BY id FOR UPDATE`
	qOpenWallet = `INSERT INTO "ledger_accounts" AS "account_row" ("id", "kind", "user_id", "order_id", "balance", "created_at") VALUES ($1, $2, $3, DEFAULT, $4, $5) ON CONFLICT DO NOTHING RETURNING "order_id"`
)

// conn is what the baseline sends statements through: a pgx.Tx, or a
// recorder around one (the test).
type conn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconnTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgconnTag is the part of pgconn.CommandTag the baseline reads.
type pgconnTag interface{ RowsAffected() int64 }

// txConn adapts a pgx.Tx.
type txConn struct{ tx pgx.Tx }

func (c txConn) Exec(ctx context.Context, sql string, args ...any) (pgconnTag, error) {
	return c.tx.Exec(ctx, sql, args...)
}

func (c txConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return c.tx.Query(ctx, sql, args...)
}

// payoutTx is one payout job's work without the queue: lock the order and
// read it (raw values, only status and owner decoded), lock the escrow,
// open the owner's wallet, lock it, then the payout and the fee transfers
// (one statement each: posting, the two balance moves in sorted id order,
// the two entries).
func payoutTx(ctx context.Context, c conn, order string, feeBPS int) error {
	rows, err := c.Query(ctx, qOrder, order)
	if err != nil {
		return err
	}
	var status, owner string
	if rows.Next() {
		v := rows.RawValues()
		owner, status = string(v[6]), string(v[7])
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if owner == "" {
		return fmt.Errorf("order %s: not found", order)
	}
	if status != "completed" {
		return nil
	}
	escrow := domain.EscrowID(order)
	bal, err := lock(ctx, c, qLock1, escrow)
	if err != nil {
		return err
	}
	held := bal[escrow]
	if held <= 0 {
		return fmt.Errorf("order %s: nothing held", order)
	}
	fee := int64(domain.FeeOf(kernel.Points(held), feeBPS))
	paid := held - fee
	wallet := domain.WalletID(kernel.UserID(owner))
	now := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := c.Exec(ctx, qOpenWallet, wallet, "wallet", owner, int64(0), now); err != nil {
		return err
	}
	if _, err := lock(ctx, c, qLock1, wallet); err != nil { // the platform is locked by the fee's credit, last
		return err
	}
	if paid > 0 {
		if err := transfer(ctx, c, domain.Payout, order, escrow, wallet, paid, "Payout for order "+order, now); err != nil {
			return err
		}
	}
	if fee > 0 {
		return transfer(ctx, c, domain.Fee, order, escrow, domain.Platform, fee, "Platform fee for order "+order, now)
	}
	return nil
}

func lock(ctx context.Context, c conn, q string, ids ...string) (map[string]int64, error) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	var id string
	var bal int64
	_, err = pgx.ForEachRow(rows, []any{&id, &bal}, func() error { out[id] = bal; return nil })
	return out, err
}

func transfer(ctx context.Context, c conn, kind domain.PostingKind, order, from, to string, amount int64, memo string, at time.Time) error {
	// heepr's own statement (store.PGTransferStatement), replayed through pgx.
	q, args := store.PGTransferStatement(kernel.NewID(), string(kind), order, domain.OrderEffectKey(kind, order), from, to, amount, memo, at)
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	var posted bool
	var fromAfter, toAfter *int64
	var toEntry *string
	n := 0
	if _, err := pgx.ForEachRow(rows, []any{&posted, &fromAfter, &toAfter, &toEntry}, func() error { n++; return nil }); err != nil {
		return err
	}
	switch {
	case n != 1 || !posted:
		return fmt.Errorf("%s %s: already applied", kind, order)
	case fromAfter == nil || toAfter == nil || toEntry == nil:
		return errors.New("transfer moved nothing (insufficient points or no account)")
	}
	return nil
}
