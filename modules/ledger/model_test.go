package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/domain"
	"github.com/heepr/heepr/modules/ledger/ledgertest"
)

// The model test drives random ledger operations (good and bad) and, after
// every step, compares every account's balance in the database, and the
// wallet views of the users the step touched, with an in-memory model.
//
// Replay a failure with the seed it prints:
//
//	HEEPR_SEED=<seed> go test -race -run TestLedgerModel ./modules/ledger/
const (
	modelSteps     = 10_000
	modelMaxUsers  = 30  // users with a starter grant
	modelStrangers = 6   // users without one (owners, until paid)
	modelMaxOrders = 200 // bounds the accounts table, which every step reads whole
	modelCheckDB   = 2_500
)

var modelCfg = ledger.Config{StarterPoints: 1000, PlatformFeeBPS: 250, ReviewRewardPoints: 10}

func modelSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("HEEPR_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "HEEPR_SEED=%q is not a number", s)
		return seed
	}
	return uint64(time.Now().UnixNano())
}

func TestLedgerModel(t *testing.T) {
	t.Parallel()
	seed := modelSeed(t)
	t.Logf("seed %d (replay: HEEPR_SEED=%d go test -race -run TestLedgerModel ./modules/ledger/)", seed, seed)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Logf("seed %d", seed)
		m := newModel(t, db, seed)
		// Prepared once: parsing the query every step would cost more than running it.
		stmt, err := db.SQL.PrepareContext(context.Background(),
			"SELECT id, balance FROM ledger_accounts WHERE balance <> 0 UNION ALL SELECT '#count', COUNT(*) FROM ledger_accounts")
		require.NoError(t, err)
		defer stmt.Close()
		m.accounts = stmt
		start := time.Now()
		for m.step = 0; m.step < modelSteps; m.step++ {
			m.touched, m.changed = m.touched[:0], false
			m.randomStep()
			m.compare()
			if (m.step+1)%modelCheckDB == 0 {
				require.NoError(t, m.l.CheckInvariants(context.Background()), m.where())
			}
		}
		t.Logf("seed %d: %d steps in %s: %v", seed, modelSteps, time.Since(start).Round(time.Millisecond), m.counts)
		// The run exercised every outcome it was meant to.
		for _, outcome := range []string{
			"grant/ok", "grant/already-applied", "hold/ok", "hold/insufficient-points", "hold/validation",
			"hold/already-applied", "payout/ok", "payout/already-applied", "payout/nothing-held",
			"refund/ok", "refund/validation", "refund/already-applied", "refund/nothing-held",
			"after-payout/ok", "after-payout/not-paid-out", "after-payout/insufficient-points",
			"after-payout/already-applied", "after-payout/validation",
			"reward/ok", "reward/already-applied", "credit/ok", "credit/already-applied", "credit/validation",
		} {
			require.Positive(t, m.counts[outcome], "seed %d: no step ended in %s", seed, outcome)
		}
		require.NoError(t, m.l.CheckInvariants(context.Background()), m.where())
		ledgertest.RequireInvariants(t, m.l)
	})
}

type modelOrder struct {
	id              string
	customer, owner kernel.UserID
	price, held     kernel.Points
	applied         map[domain.PostingKind]bool
}

type model struct {
	t       *testing.T
	db      *store.DB
	l       *ledger.Service
	ctx     context.Context
	rng     *rand.Rand
	seed    uint64
	step    int
	op      string
	touched []kernel.UserID // the users the step is about
	changed bool            // the step succeeded: it moved points

	bal       map[string]kernel.Points // every account the ledger should have
	users     []kernel.UserID          // granted
	strangers []kernel.UserID          // never granted
	orders    []*modelOrder            // held at least once
	rewarded  map[string]bool          // order ids
	credits   []string                 // effect keys used
	counts    map[string]int           // op/outcome
	accounts  *sql.Stmt                // every non-zero account, and how many accounts there are
}

func newModel(t *testing.T, db *store.DB, seed uint64) *model {
	return &model{
		t: t, db: db, l: ledgertest.New(db, newClock(), modelCfg), ctx: context.Background(),
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed: seed,
		bal:      map[string]kernel.Points{domain.Mint: 0, domain.Platform: 0},
		rewarded: map[string]bool{}, counts: map[string]int{},
	}
}

// where goes into every failure message, so a failure names its replay.
func (m *model) where() string {
	return fmt.Sprintf("seed %d step %d (%s); replay with HEEPR_SEED=%d", m.seed, m.step, m.op, m.seed)
}

func (m *model) open(account string) {
	if _, ok := m.bal[account]; !ok {
		m.bal[account] = 0
	}
}

func (m *model) move(from, to string, amount kernel.Points) {
	_, okFrom := m.bal[from]
	_, okTo := m.bal[to]
	require.True(m.t, okFrom && okTo, "model: %s → %s between unknown accounts: %s", from, to, m.where())
	m.bal[from] -= amount
	m.bal[to] += amount
}

func (m *model) wallet(u kernel.UserID) kernel.Points { return m.bal[domain.WalletID(u)] }

func (m *model) touch(us ...kernel.UserID) { m.touched = append(m.touched, us...) }

// outcome classifies err: "ok", a kernel error's code, or the unexpected error itself.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if e, ok := kernel.As(err); ok {
		return e.Code
	}
	return "unexpected error: " + err.Error()
}

// expect checks the call ended as the model said, and counts it.
func (m *model) expect(want string, err error) bool {
	m.t.Helper()
	got := outcome(err)
	require.Equal(m.t, want, got, "%s: %v", m.where(), err)
	if want == "already-applied" {
		require.ErrorIs(m.t, err, ledger.ErrAlreadyApplied, m.where())
	}
	m.counts[m.op+"/"+got]++
	m.changed = got == "ok"
	return m.changed
}

func (m *model) isStranger(u kernel.UserID) bool {
	for _, s := range m.strangers {
		if s == u {
			return true
		}
	}
	return false
}

func (m *model) pick(us []kernel.UserID) kernel.UserID { return us[m.rng.IntN(len(us))] }

func (m *model) anyUser() kernel.UserID {
	if len(m.strangers) > 0 && m.rng.IntN(8) == 0 {
		return m.pick(m.strangers)
	}
	return m.pick(m.users)
}

// order picks an order, open ones more often; nil when there is none.
func (m *model) order() *modelOrder {
	if len(m.orders) == 0 {
		return nil
	}
	if m.rng.IntN(10) < 6 {
		var open []*modelOrder
		for _, o := range m.orders {
			if o.held > 0 {
				open = append(open, o)
			}
		}
		if len(open) > 0 {
			return open[m.rng.IntN(len(open))]
		}
	}
	return m.orders[m.rng.IntN(len(m.orders))]
}

func (m *model) randomStep() {
	if len(m.users) < 3 {
		m.grantNew()
		return
	}
	ops := []struct {
		weight int
		fn     func()
	}{
		{2, m.grantNew},
		{3, m.grantAgain},
		{6, m.hold},
		{3, m.holdTooMuch},
		{1, m.holdInvalid},
		{2, m.holdRepeat},
		{9, m.payout},
		{8, m.refund},
		{10, m.refundAfterPayout},
		{7, m.reward},
		{3, m.neverHeld},
		{4, m.credit},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	n := m.rng.IntN(total)
	for _, o := range ops {
		if n < o.weight {
			o.fn()
			return
		}
		n -= o.weight
	}
}

func (m *model) grantNew() {
	m.op = "grant"
	if len(m.users) >= modelMaxUsers {
		m.grantAgain()
		return
	}
	u := newUser()
	m.touch(u)
	if m.expect("ok", m.l.GrantStarter(m.ctx, u)) {
		m.open(domain.WalletID(u))
		m.move(domain.Mint, domain.WalletID(u), modelCfg.StarterPoints)
		m.users = append(m.users, u)
	}
}

func (m *model) grantAgain() {
	m.op = "grant"
	u := m.pick(m.users)
	m.touch(u)
	m.expect("already-applied", m.l.GrantStarter(m.ctx, u))
}

func (m *model) hold() {
	m.op = "hold"
	cust := m.anyUser()
	has := m.wallet(cust)
	// New orders are spread over the run: the cap bounds the accounts table.
	if has <= 0 || len(m.orders) >= 10+modelMaxOrders*m.step/modelSteps {
		m.holdTooMuch()
		return
	}
	owner := cust
	for owner == cust {
		if m.rng.IntN(4) != 0 {
			owner = m.pick(m.users)
			continue
		}
		// An owner who never got a wallet: the payout opens one.
		if len(m.strangers) < modelStrangers {
			m.strangers = append(m.strangers, newUser())
		}
		owner = m.pick(m.strangers)
	}
	amount := 1 + kernel.Points(m.rng.IntN(int(min(has, 300))))
	if m.rng.IntN(10) == 0 || m.isStranger(cust) {
		amount = has // everything: owners who spend it all cannot be clawed back from
	}
	o := &modelOrder{id: newOrder(), customer: cust, owner: owner, price: amount, held: amount,
		applied: map[domain.PostingKind]bool{}}
	m.touch(cust)
	if m.expect("ok", m.l.Hold(m.ctx, o.id, cust, amount)) {
		m.open(domain.EscrowID(o.id))
		m.move(domain.WalletID(cust), domain.EscrowID(o.id), amount)
		o.applied[domain.Hold] = true
		m.orders = append(m.orders, o)
	}
}

func (m *model) holdTooMuch() {
	m.op = "hold"
	cust := m.anyUser()
	amount := max(m.wallet(cust), 0) + 1 + kernel.Points(m.rng.IntN(200))
	m.touch(cust)
	m.expect("insufficient-points", m.l.Hold(m.ctx, newOrder(), cust, amount))
}

func (m *model) holdInvalid() {
	m.op = "hold"
	cust := m.pick(m.users)
	m.touch(cust)
	m.expect("validation", m.l.Hold(m.ctx, newOrder(), cust, -kernel.Points(m.rng.IntN(3))))
}

func (m *model) holdRepeat() {
	m.op = "hold"
	o := m.order()
	if o == nil {
		m.hold()
		return
	}
	cust := o.customer
	if m.rng.IntN(3) == 0 {
		cust = m.pick(m.users)
	}
	m.touch(cust)
	// Spotted before the balance, even when the amount is more than the customer has.
	m.expect("already-applied", m.l.Hold(m.ctx, o.id, cust, 1+kernel.Points(m.rng.IntN(2000))))
}

// settle applies a settlement of o to the model and checks what the call returned.
func (m *model) settle(o *modelOrder, toCustomer kernel.Points, got ledger.Settlement) {
	toOwner := o.held - toCustomer
	fee := domain.FeeOf(toOwner, modelCfg.PlatformFeeBPS)
	require.Equal(m.t, ledger.Settlement{Refunded: toCustomer, Paid: toOwner - fee, Fee: fee}, got, m.where())
	if toCustomer > 0 {
		m.move(domain.EscrowID(o.id), domain.WalletID(o.customer), toCustomer)
		o.applied[domain.Refund] = true
	}
	if toOwner > 0 {
		m.open(domain.WalletID(o.owner))
	}
	if toOwner-fee > 0 {
		m.move(domain.EscrowID(o.id), domain.WalletID(o.owner), toOwner-fee)
		o.applied[domain.Payout] = true
	}
	if fee > 0 {
		m.move(domain.EscrowID(o.id), domain.Platform, fee)
		o.applied[domain.Fee] = true
	}
	o.held = 0
}

// settledOutcome is what a second settlement of a settled order gets.
func settledOutcome(o *modelOrder, kind domain.PostingKind) string {
	if o.applied[kind] {
		return "already-applied"
	}
	return "nothing-held"
}

func (m *model) payout() {
	m.op = "payout"
	o := m.order()
	if o == nil {
		m.hold()
		return
	}
	m.touch(o.customer, o.owner)
	s, err := m.l.Payout(m.ctx, o.id, o.owner)
	if o.held == 0 {
		m.expect(settledOutcome(o, domain.Payout), err)
		return
	}
	if m.expect("ok", err) {
		m.settle(o, 0, s)
	}
}

func (m *model) refund() {
	m.op = "refund"
	o := m.order()
	if o == nil {
		m.hold()
		return
	}
	m.touch(o.customer, o.owner)
	var amount kernel.Points
	valid := true
	switch r := m.rng.IntN(10); {
	case r < 3:
		amount = max(o.held, o.price) // in full
	case r < 7:
		amount = 1 + kernel.Points(m.rng.IntN(int(max(o.held, o.price))))
	case r < 8:
		amount, valid = -kernel.Points(m.rng.IntN(2)), false
	default:
		amount, valid = max(o.held, o.price)+1+kernel.Points(m.rng.IntN(100)), false
	}
	s, err := m.l.Refund(m.ctx, o.id, o.customer, o.owner, amount)
	switch {
	case o.held == 0: // the escrow is checked before the amount
		m.expect(settledOutcome(o, domain.Refund), err)
	case !valid:
		m.expect("validation", err)
	default:
		if m.expect("ok", err) {
			m.settle(o, amount, s)
		}
	}
}

func (m *model) refundAfterPayout() {
	m.op = "after-payout"
	o := m.order()
	if o == nil || m.rng.IntN(20) == 0 {
		// Never held: never paid out.
		cust := m.pick(m.users)
		m.touch(cust)
		_, err := m.l.RefundAfterPayout(m.ctx, newOrder(), cust, m.pick(m.users), 10, ledger.FromGoodwill)
		m.expect("not-paid-out", err)
		return
	}
	src := ledger.FromOwner
	switch r := m.rng.IntN(20); {
	case r < 9:
	case r < 19:
		src = ledger.FromGoodwill
	default:
		src = "bogus"
	}
	if m.rng.IntN(4) == 0 {
		// A clawback from an owner who has spent everything.
		var broke []*modelOrder
		for _, b := range m.orders {
			if b.applied[domain.Payout] && m.wallet(b.owner) == 0 {
				broke = append(broke, b)
			}
		}
		if len(broke) > 0 {
			o, src = broke[m.rng.IntN(len(broke))], ledger.FromOwner
		}
	}
	m.touch(o.customer, o.owner)
	amount := 1 + kernel.Points(m.rng.IntN(int(o.price*3/2)+1))
	if m.rng.IntN(15) == 0 {
		amount = -kernel.Points(m.rng.IntN(2))
	}
	got, err := m.l.RefundAfterPayout(m.ctx, o.id, o.customer, o.owner, amount, src)
	switch {
	case amount <= 0:
		m.expect("validation", err)
	case !o.applied[domain.Payout]:
		m.expect("not-paid-out", err)
	case src == ledger.FromOwner:
		has := m.wallet(o.owner)
		switch {
		case has <= 0:
			m.expect("insufficient-points", err)
		case o.applied[domain.Clawback]:
			m.expect("already-applied", err)
		case m.expect("ok", err):
			want := min(amount, has)
			require.Equal(m.t, want, got, "clawback capped at the owner's balance: %s", m.where())
			m.move(domain.WalletID(o.owner), domain.WalletID(o.customer), want)
			o.applied[domain.Clawback] = true
		}
	case src == ledger.FromGoodwill:
		if o.applied[domain.Goodwill] {
			m.expect("already-applied", err)
		} else if m.expect("ok", err) {
			require.Equal(m.t, amount, got, m.where())
			m.move(domain.Mint, domain.WalletID(o.customer), amount)
			o.applied[domain.Goodwill] = true
		}
	default:
		m.expect("validation", err)
	}
	if err != nil {
		require.Zero(m.t, got, m.where())
	}
}

func (m *model) reward() {
	m.op = "reward"
	id, reviewer := newOrder(), m.pick(m.users)
	if o := m.order(); o != nil && m.rng.IntN(10) < 7 {
		id, reviewer = o.id, o.customer
	}
	m.touch(reviewer)
	got, err := m.l.ReviewReward(m.ctx, id, reviewer)
	if m.rewarded[id] {
		m.expect("already-applied", err)
		require.Zero(m.t, got, m.where())
		return
	}
	if m.expect("ok", err) {
		require.Equal(m.t, modelCfg.ReviewRewardPoints, got, m.where())
		m.open(domain.WalletID(reviewer))
		m.move(domain.Mint, domain.WalletID(reviewer), modelCfg.ReviewRewardPoints)
		m.rewarded[id] = true
	}
}

func (m *model) neverHeld() {
	id, owner, cust := newOrder(), m.anyUser(), m.pick(m.users)
	m.touch(owner, cust)
	if m.rng.IntN(2) == 0 {
		m.op = "payout"
		_, err := m.l.Payout(m.ctx, id, owner)
		m.expect("nothing-held", err)
		return
	}
	m.op = "refund"
	_, err := m.l.Refund(m.ctx, id, cust, owner, 1+kernel.Points(m.rng.IntN(100)))
	m.expect("nothing-held", err)
}

func (m *model) credit() {
	m.op = "credit"
	u := m.anyUser()
	m.touch(u)
	amount := 1 + kernel.Points(m.rng.IntN(500))
	switch r := m.rng.IntN(10); {
	case r < 2 && len(m.credits) > 0:
		_, err := m.l.Credit(m.ctx, u, amount, "again", m.credits[m.rng.IntN(len(m.credits))])
		m.expect("already-applied", err)
	case r < 3:
		_, err := m.l.Credit(m.ctx, u, 0, "", kernel.NewID())
		m.expect("validation", err)
	default:
		key := kernel.NewID()
		p, err := m.l.Credit(m.ctx, u, amount, "goodwill "+key, key)
		if m.expect("ok", err) {
			m.open(domain.WalletID(u))
			m.move(domain.Mint, domain.WalletID(u), amount)
			m.credits = append(m.credits, key)
			require.Equal(m.t, amount, p.Amount, m.where())
			require.Equal(m.t, m.wallet(u), p.BalanceAfter, m.where())
		}
	}
}

// compare checks every account against the model in one query: each
// non-zero balance, and the number of accounts (so every other account
// is there, at zero). After a step that moved points it also checks the
// wallet views (balance and held) of the users the step was about. A
// refused step moved nothing, which the accounts query already proves;
// skipping the views then keeps a step cheap (under -race every SQLite
// statement costs about half a millisecond).
func (m *model) compare() {
	m.t.Helper()
	rows, err := m.accounts.QueryContext(m.ctx)
	require.NoError(m.t, err, m.where())
	got := map[string]kernel.Points{}
	for rows.Next() {
		var id string
		var bal int64
		require.NoError(m.t, rows.Scan(&id, &bal), m.where())
		got[id] = kernel.Points(bal)
	}
	require.NoError(m.t, rows.Err(), m.where())
	require.NoError(m.t, rows.Close(), m.where())
	want := map[string]kernel.Points{"#count": kernel.Points(len(m.bal))}
	for id, b := range m.bal {
		if b != 0 {
			want[id] = b
		}
	}
	if !mapsEqual(want, got) {
		require.Equal(m.t, want, got, "accounts: %s", m.where())
	}

	if !m.changed {
		return
	}
	seen := map[kernel.UserID]bool{}
	for _, u := range m.touched {
		if seen[u] {
			continue
		}
		seen[u] = true
		var held kernel.Points
		for _, o := range m.orders {
			if o.customer == u {
				held += o.held
			}
		}
		w, err := m.l.Wallet(m.ctx, u)
		require.NoError(m.t, err, m.where())
		if w != (ledger.Wallet{Balance: m.wallet(u), Held: held}) {
			require.Equal(m.t, ledger.Wallet{Balance: m.wallet(u), Held: held}, w, "wallet of %s: %s", u, m.where())
		}
	}
}

func mapsEqual(a, b map[string]kernel.Points) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// The model's own bookkeeping must be sound, or the comparison proves nothing.
func TestModelOutcome(t *testing.T) {
	t.Parallel()
	require.Equal(t, "ok", outcome(nil))
	require.Equal(t, "already-applied", outcome(fmt.Errorf("x: %w", ledger.ErrAlreadyApplied)))
	require.Equal(t, "nothing-held", outcome(kernel.Conflict("nothing-held", "x")))
	require.Equal(t, "unexpected error: boom", outcome(errors.New("boom")))
}
