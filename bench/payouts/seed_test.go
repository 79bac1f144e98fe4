package payouts_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger/domain"
)

// seeded is the state a drain starts from: n completed orders whose price
// sits in each order's escrow, waiting for its payout.
type seeded struct {
	orders []string          // ids, in creation order
	price  map[string]int64  // by order
	owner  map[string]string // by order: the owner's user id
	paid   map[string]int64  // by owner: what the drain must pay them (price less fee, summed)
	fees   int64             // what the platform must receive
	took   time.Duration
}

// seed writes n completed orders in bulk (COPY on heepr's own pgx pool, one
// transaction) exactly as the ordering and ledger modules leave them when
// an order completes: 500 customers (or fewer) granted the sum of their
// orders by the mint, 500 agents with one owner each, one conversation and
// accepted quote per order, the order in status completed, its price held
// (a hold posting wallet → escrow, two entries with running balances). The
// payout jobs are not queued here.
func seed(ctx context.Context, db *store.DB, n, feeBPS int) (*seeded, error) {
	start := time.Now()
	now := time.Now().UTC().Truncate(time.Microsecond)
	nc, na := min(500, n), min(500, n)
	s := &seeded{price: map[string]int64{}, owner: map[string]string{}, paid: map[string]int64{}}

	var users, agents, convs, quotes, orders, accounts, postings, entries [][]any
	customers := make([]string, nc)
	owners := make([]string, na)
	agentIDs := make([]string, na)
	for i := range nc {
		customers[i] = kernel.NewID()
		users = append(users, []any{customers[i], fmt.Sprintf("customer%d@bench.heepr.dev", i), fmt.Sprintf("customer%d@bench.heepr.dev", i),
			fmt.Sprintf("Customer %d", i), "-", "customer", now, now})
	}
	for i := range na {
		owners[i], agentIDs[i] = kernel.NewID(), kernel.NewID()
		users = append(users, []any{owners[i], fmt.Sprintf("owner%d@bench.heepr.dev", i), fmt.Sprintf("owner%d@bench.heepr.dev", i),
			fmt.Sprintf("Owner %d", i), "-", "customer owner", now, now})
		agents = append(agents, []any{agentIDs[i], owners[i], fmt.Sprintf("bench-agent-%d", i), "active", 1, "{}",
			fmt.Sprintf("Agent %d", i), "payouts", "A seeded agent.", "payouts", int64(10), int64(1000), 1, 60,
			fmt.Sprintf("bench-key-%d", i), "hp_bench", now, now})
	}
	grant := make([]int64, nc)
	type hold struct {
		order, customer string
		amount          int64
	}
	var holds []hold
	for i := range n {
		c, a := i%nc, i%na
		order, conv, quote := kernel.NewID(), kernel.NewID(), kernel.NewID()
		price := int64(100 + (i*37)%900)
		handle := fmt.Sprintf("bench-agent-%d", a)
		convs = append(convs, []any{conv, customers[c], fmt.Sprintf("Customer %d", c), agentIDs[a], handle, owners[a], now, now, now.UnixMicro()})
		quotes = append(quotes, []any{quote, conv, agentIDs[a], "agent", "Seeded work", "Work to pay out.", price, 3, 1, "code", "[]",
			now.Add(72 * time.Hour), "accepted", now, now})
		snap := fmt.Sprintf(`{"title":"Seeded work","description":"Work to pay out.","criteria":[],"category":"code","delivery_days":3,"revisions":1,"settings_version":1}`)
		orders = append(orders, []any{order, quote, conv, customers[c], agentIDs[a], handle, owners[a], "completed", price, 1, snap, "[]",
			now, now, now.Add(72 * time.Hour), now, now, now, now, true})
		accounts = append(accounts, []any{domain.EscrowID(order), "escrow", customers[c], order, price, now})
		grant[c] += price
		holds = append(holds, hold{order, customers[c], price})
		fee := int64(domain.FeeOf(kernel.Points(price), feeBPS))
		s.orders = append(s.orders, order)
		s.price[order], s.owner[order] = price, owners[a]
		s.paid[owners[a]] += price - fee
		s.fees += fee
	}
	// Grants first (their ids sort before the holds'), then holds; each
	// entry's balance_after runs over its account in id order.
	var total int64
	mint := int64(0)
	wallet := map[string]int64{}
	for i, c := range customers {
		accounts = append(accounts, []any{domain.WalletID(kernel.UserID(c)), "wallet", c, nil, int64(0), now})
		p := kernel.NewID()
		postings = append(postings, []any{p, string(domain.StarterGrant), nil, "starter_grant:" + c, domain.Mint, domain.WalletID(kernel.UserID(c)), grant[i], "Starter points", now})
		mint -= grant[i]
		wallet[c] += grant[i]
		total += grant[i]
		entries = append(entries, []any{kernel.NewID(), p, domain.Mint, -grant[i], mint, now},
			[]any{kernel.NewID(), p, domain.WalletID(kernel.UserID(c)), grant[i], wallet[c], now})
	}
	for _, h := range holds {
		p := kernel.NewID()
		postings = append(postings, []any{p, string(domain.Hold), h.order, domain.OrderEffectKey(domain.Hold, h.order),
			domain.WalletID(kernel.UserID(h.customer)), domain.EscrowID(h.order), h.amount, "Held for order " + h.order, now})
		wallet[h.customer] -= h.amount
		entries = append(entries, []any{kernel.NewID(), p, domain.WalletID(kernel.UserID(h.customer)), -h.amount, wallet[h.customer], now},
			[]any{kernel.NewID(), p, domain.EscrowID(h.order), h.amount, h.amount, now})
	}
	// Wallet balances end at 0 (every granted point is held); set them
	// after the entries are known.
	for i := range accounts {
		if accounts[i][1] == "wallet" {
			accounts[i][4] = wallet[accounts[i][2].(string)]
		}
	}

	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	copies := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"users", []string{"id", "email", "email_normalized", "display_name", "password_hash", "roles", "created_at", "updated_at"}, users},
		{"agents", []string{"id", "owner_id", "handle", "status", "settings_version", "settings", "name", "specialty", "description", "skills_text",
			"price_min", "price_max", "fastest_delivery", "polling_interval", "key_hash", "key_prefix", "created_at", "updated_at"}, agents},
		{"conversations", []string{"id", "customer_id", "customer_name", "agent_id", "agent_handle", "owner_id", "created_at", "last_message_at", "last_message_us"}, convs},
		{"quotes", []string{"id", "conversation_id", "agent_id", "author_kind", "title", "description", "price", "delivery_days", "revisions", "category",
			"criteria", "expires_at", "status", "created_at", "decided_at"}, quotes},
		{"orders", []string{"id", "quote_id", "conversation_id", "customer_id", "agent_id", "agent_handle", "owner_id", "status", "price", "revisions_left",
			"snapshot", "gate_reasons", "created_at", "started_at", "deadline", "updated_at", "review_started_at", "delivered_at", "completed_at", "on_time"}, orders},
		{"ledger_accounts", []string{"id", "kind", "user_id", "order_id", "balance", "created_at"}, accounts},
		{"ledger_postings", []string{"id", "kind", "order_id", "effect_key", "from_account", "to_account", "amount", "memo", "created_at"}, postings},
		{"ledger_entries", []string{"id", "posting_id", "account_id", "amount", "balance_after", "created_at"}, entries},
	}
	for _, c := range copies {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return nil, fmt.Errorf("copy %s: %w", c.table, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE ledger_accounts SET balance = balance - $1 WHERE id = 'mint'`, total); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	if _, err := db.Pool.Exec(ctx, "ANALYZE users, agents, orders, ledger_accounts, ledger_postings, ledger_entries"); err != nil {
		return nil, err
	}
	s.took = time.Since(start)
	return s, nil
}
