package orders_test

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store/storetest"
)

// countedTables are the tables one order placement writes to.
var countedTables = []string{"orders", "ledger_accounts", "ledger_postings", "ledger_entries", "messages", "agent_events",
	"notifications", "river_job", "idempotency_keys"}

func (e *env) counts(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tbl := range append(append([]string(nil), countedTables...), "accepted_quotes") {
		q := "SELECT count(*) FROM " + tbl
		if tbl == "accepted_quotes" {
			q = "SELECT count(*) FROM quotes WHERE status = 'accepted'"
		}
		var n int
		require.NoError(t, e.db.Pool.QueryRow(context.Background(), q).Scan(&n), tbl)
		out[tbl] = n
	}
	return out
}

// TestBaselineMatchesHeepr keeps the pgbench baselines honest (part of
// `make test`, a few seconds): the order-placement script runs exactly the
// statements heepr sent for an acceptQuote (once values are blanked), and
// each of its transactions writes what heepr's request wrote (the same
// rows in every table, the order pending approval, the hold in escrow, the
// agent's events numbered in sequence, a consistent ledger); the hot
// wallet ends exact on both sides.
func TestBaselineMatchesHeepr(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pgbench: not under -short")
	}
	if _, err := exec.LookPath("pgbench"); err != nil {
		t.Skip("pgbench is not installed")
	}
	if tgs := storetest.Targets(t); len(tgs) < 2 {
		t.Skip("needs Postgres")
	}
	ctx := context.Background()
	e := openEnv(t, 1_000_000)
	pairs := e.newPairs(t, 2)
	e.registerClients(t, pairs)

	before := e.counts(t)
	c, script, scriptStmts := e.capture(t, pairs[0])
	afterHeepr := e.counts(t)

	// Same statements, in the same order.
	var heepr, baseline []string
	for _, st := range c.stmts {
		heepr = append(heepr, shape(st.SQL))
	}
	for _, q := range scriptStmts {
		baseline = append(baseline, shape(q))
	}
	require.Equal(t, heepr, baseline)
	require.GreaterOrEqual(t, len(heepr), 20, "an acceptQuote is more than 20 statements")

	// Two pgbench clients, three orders each.
	const perClient = 3
	r := e.pgbenchOrders(t, script, pairs, perClient, 0)
	require.Equal(t, 2*perClient, r.ok)
	afterPgbench := e.counts(t)
	for tbl, n := range afterHeepr {
		require.Equal(t, (n-before[tbl])*2*perClient, afterPgbench[tbl]-n, "rows added to %s: one heepr request against each pgbench transaction", tbl)
	}
	for ci, p := range pairs {
		for i := 1; i <= perClient; i++ {
			var status string
			var price, escrow int64
			require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT o.status, o.price, a.balance FROM orders o JOIN ledger_accounts a ON a.id = 'escrow:' || o.id
				WHERE o.quote_id = $1 AND o.customer_id = $2 AND o.agent_id = $3`, pgQuoteID(0, ci, i), string(p.customer), p.agent).Scan(&status, &price, &escrow))
			require.Equal(t, "pending_approval", status)
			require.Equal(t, int64(quotePrice), price)
			require.Equal(t, int64(quotePrice), escrow)
		}
		var n, maxSeq, last int64
		require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*), max(e.seq), max(f.last_seq) FROM agent_events e JOIN agent_feeds f USING (agent_id)
			WHERE agent_id = $1`, p.agent).Scan(&n, &maxSeq, &last))
		require.Equal(t, n, maxSeq, "events numbered without gaps")
		require.Equal(t, last, maxSeq)
	}
	require.Equal(t, int64(1_000_000-quotePrice*(1+perClient)), e.balance(t, pairs[0].customer))
	require.Equal(t, int64(1_000_000-quotePrice*perClient), e.balance(t, pairs[1].customer))
	require.NoError(t, e.app.ledger.CheckInvariants(ctx))

	// The hot wallet, exact on both sides (the checks are in the helpers).
	h := e.heeprSpend(t, 32, 2)
	require.Equal(t, 48, h.ok)
	require.Equal(t, 16, h.refused)
	require.NoError(t, e.app.ledger.CheckInvariants(ctx))
	// The baseline's bare UPDATE moves points without postings or entries:
	// the ledger's audit no longer holds after it, by design.
	p := e.pgbenchSpend(t, 32, 2)
	require.Equal(t, 48, p.ok)
	require.Equal(t, 16, p.refused)
}

var (
	reString      = regexp.MustCompile(`'(?:[^']|'')*'`)
	rePlaceholder = regexp.MustCompile(`[$?]\d+`)
	reNumber      = regexp.MustCompile(`-?\b\d+\b`)
	reSpace       = regexp.MustCompile(`\s+`)
)

// shape blanks a statement's values: literals, placeholders and pgbench
// variables become ?.
func shape(q string) string {
	q = reString.ReplaceAllString(q, "?")
	q = reVarRef.ReplaceAllString(q, "?")
	q = rePlaceholder.ReplaceAllString(q, "?")
	q = reNumber.ReplaceAllString(q, "?")
	return strings.TrimSpace(reSpace.ReplaceAllString(q, " "))
}
