package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/api/client"
	"github.com/heepr/heepr/modules/kernel"
)

// The ledger through HTTP (issue 3): the starter grant, getWallet,
// listPostings, exportPostings and creditPoints. Idempotency has its own
// file (idempotency_test.go).

func TestStarterGrant(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		// The harness starts from the configuration's defaults.
		require.EqualValues(t, 1000, e.cfg.StarterPoints, "HEEPR_STARTER_POINTS defaults to 1000")

		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		for _, acc := range []account{cust, owner} {
			c := e.withCookie(t, acc.Session)
			require.Equal(t, client.Wallet{Balance: 1000, Held: 0}, e.wallet(t, c), acc.Email)
			items := e.allPostings(t, c, nil, nil)
			require.Len(t, items, 1, acc.Email)
			p := items[0]
			require.Equal(t, client.PostingKindStarterGrant, p.Kind)
			require.EqualValues(t, 1000, p.Amount)
			require.EqualValues(t, 1000, p.BalanceAfter)
			require.Nil(t, p.OrderId, "a grant belongs to no order")
			require.NotEmpty(t, p.Memo)
			require.Equal(t, e.clock.Now(), p.CreatedAt.UTC(), "stamped with the app's clock")
			require.Equal(t, 1, e.postingsOf(t, acc.ID, client.PostingKindStarterGrant), acc.Email)
		}

		// Neither signing in again nor becoming an owner grants again.
		cust.Session = e.signIn(t, cust.Email, testPassword)
		eo, err := e.withCookie(t, cust.Session).EnableOwnerRoleWithResponse(context.Background())
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, eo.StatusCode(), "%s", eo.Body)
		if s := setCookieOrEmpty(eo.HTTPResponse); s != "" {
			cust.Session = s
		}
		require.Equal(t, client.Wallet{Balance: 1000}, e.wallet(t, e.withCookie(t, cust.Session)))
		require.Equal(t, 1, e.postingsOf(t, cust.ID, client.PostingKindStarterGrant))

		// A support account made with the CLI gets no points.
		e.createSupport(t, "staff@heepr.dev")
		sc := e.withCookie(t, e.signIn(t, "staff@heepr.dev", testPassword))
		_, staff, _ := e.me(t, sc)
		require.Equal(t, []client.Role{client.RoleSupport}, staff.Roles)
		require.Equal(t, client.Wallet{}, e.wallet(t, sc))
		require.Empty(t, e.allPostings(t, sc, nil, nil))
		require.Zero(t, e.postingsOf(t, staff.Id, client.PostingKindStarterGrant))

		// A refused sign-up creates no account, no wallet and no points.
		before, ledgerBefore := e.snapshot(t), e.ledgerState(t)
		for _, body := range []string{
			signUpBody("CORA@example.com"), // taken, regardless of case
			`{"email":"new@example.com","password":"short","display_name":"N","role":"customer"}`,
			`{"email":"new@example.com","password":"` + testPassword + `","display_name":"N","role":"support"}`,
			`{"email":"new@example.com","password":"` + testPassword + `","display_name":"N","role":"customer","points":5000}`,
		} {
			resp, err := e.anon(t).SignUpWithBodyWithResponse(context.Background(), "application/json", strings.NewReader(body))
			require.NoError(t, err)
			require.Contains(t, []int{http.StatusBadRequest, http.StatusConflict}, resp.StatusCode(), "%s", resp.Body)
		}
		e.requireUnchanged(t, before)
		e.requireLedgerUnchanged(t, ledgerBefore)
		e.requireLedgerOK(t)
	})
}

// setCookieOrEmpty returns the session cookie a response set, if any.
func setCookieOrEmpty(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == "heepr_session" {
			return c.Value
		}
	}
	return ""
}

func TestStarterPointsConfigured(t *testing.T) {
	t.Parallel()
	// HEEPR_STARTER_POINTS reaches the config...
	cfg, err := loadConfig(func(k string) string { return map[string]string{"HEEPR_STARTER_POINTS": "250"}[k] })
	require.NoError(t, err)
	require.EqualValues(t, 250, cfg.StarterPoints)
	for _, bad := range []string{"-1", "lots", "1000001"} {
		_, err := loadConfig(func(k string) string { return map[string]string{"HEEPR_STARTER_POINTS": bad}[k] })
		require.ErrorContains(t, err, "HEEPR_STARTER_POINTS", bad)
	}
	// ...and the ledger grants what the config says.
	for _, points := range []int64{250, 0} {
		t.Run(fmt.Sprint(points), func(t *testing.T) {
			t.Parallel()
			eachDB(t, func(t *testing.T, e *env) {
				acc := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
				c := e.withCookie(t, acc.Session)
				require.Equal(t, client.Wallet{Balance: points}, e.wallet(t, c))
				items := e.allPostings(t, c, nil, nil)
				if points == 0 {
					require.Empty(t, items, "no grant of zero points")
				} else {
					require.Len(t, items, 1)
					require.EqualValues(t, points, items[0].Amount)
					require.EqualValues(t, points, items[0].BalanceAfter)
				}
				e.requireLedgerOK(t)
			}, withConfig(func(c *config) { c.StarterPoints = points }))
		})
	}
}

// scene is a small ledger history: a customer who paid for two orders of
// an owner's agent (one paid out, one partly refunded) and got a credit
// from support. Each step is a minute after the previous one.
type scene struct {
	cust, owner, staff account
	orderA, orderB     string
	credit             client.Posting
}

func (e *env) scene(t *testing.T) scene {
	t.Helper()
	ctx := context.Background()
	s := scene{
		cust:   e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer),
		owner:  e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner),
		staff:  e.supportAccount(t, "staff@heepr.dev"),
		orderA: "ord_a_" + randomID(),
		orderB: "ord_b_" + randomID(),
	}
	cust, owner := kernel.UserID(s.cust.ID), kernel.UserID(s.owner.ID)
	e.clock.Advance(time.Minute)
	require.NoError(t, e.app.ledger.Hold(ctx, s.orderA, cust, 300))
	e.clock.Advance(time.Minute)
	require.NoError(t, e.app.ledger.Hold(ctx, s.orderB, cust, 200))
	require.Equal(t, client.Wallet{Balance: 500, Held: 500}, e.wallet(t, e.withCookie(t, s.cust.Session)))
	e.clock.Advance(time.Minute)
	_, err := e.app.ledger.Payout(ctx, s.orderA, owner)
	require.NoError(t, err)
	require.Equal(t, client.Wallet{Balance: 500, Held: 200}, e.wallet(t, e.withCookie(t, s.cust.Session)))
	e.clock.Advance(time.Minute)
	_, err = e.app.ledger.Refund(ctx, s.orderB, cust, owner, 50)
	require.NoError(t, err)
	e.clock.Advance(time.Minute)
	resp := e.credit(t, e.withCookie(t, s.staff.Session), s.cust.ID, "scene-credit", 25, "Sorry for the outage")
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "%s", resp.Body)
	s.credit = *resp.JSON201
	return s
}

// row is what a test says about a posting.
type row struct {
	Kind         client.PostingKind
	Amount       int64
	BalanceAfter int64
	OrderID      string
}

func rowsOf(items []client.Posting) []row {
	out := make([]row, len(items))
	for i, p := range items {
		out[i] = row{Kind: p.Kind, Amount: p.Amount, BalanceAfter: p.BalanceAfter, OrderID: deref(p.OrderId)}
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func TestListPostings(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.scene(t)
		cc, oc := e.withCookie(t, s.cust.Session), e.withCookie(t, s.owner.Session)

		require.Equal(t, client.Wallet{Balance: 575, Held: 0}, e.wallet(t, cc))
		require.Equal(t, client.Wallet{Balance: 1450, Held: 0}, e.wallet(t, oc))

		// Newest first, signed from my side, with my balance after each.
		items := e.allPostings(t, cc, nil, nil)
		require.Equal(t, []row{
			{client.PostingKindSupportCredit, 25, 575, ""},
			{client.PostingKindRefund, 50, 550, s.orderB},
			{client.PostingKindHold, -200, 500, s.orderB},
			{client.PostingKindHold, -300, 700, s.orderA},
			{client.PostingKindStarterGrant, 1000, 1000, ""},
		}, rowsOf(items))
		requireConsistent(t, items)
		require.Equal(t, s.credit, items[0], "creditPoints answers the posting as the user sees it")
		require.Equal(t, "Sorry for the outage", items[0].Memo)
		require.Nil(t, items[4].OrderId, "order_id is null for a grant")
		for _, p := range items[1:4] {
			require.Contains(t, p.Memo, *p.OrderId, "an order's posting names it")
		}

		owned := e.allPostings(t, oc, nil, nil)
		require.Equal(t, []row{
			{client.PostingKindPayout, 150, 1450, s.orderB},
			{client.PostingKindPayout, 300, 1300, s.orderA},
			{client.PostingKindStarterGrant, 1000, 1000, ""},
		}, rowsOf(owned))
		requireConsistent(t, owned)

		// Filters: kind, order, both; each alone and with the other's rows absent.
		require.Equal(t, []row{{client.PostingKindHold, -200, 500, s.orderB}, {client.PostingKindHold, -300, 700, s.orderA}},
			rowsOf(e.allPostings(t, cc, ptrTo(client.PostingKindHold), nil)))
		require.Equal(t, []row{{client.PostingKindRefund, 50, 550, s.orderB}, {client.PostingKindHold, -200, 500, s.orderB}},
			rowsOf(e.allPostings(t, cc, nil, &s.orderB)))
		require.Equal(t, []row{{client.PostingKindHold, -300, 700, s.orderA}},
			rowsOf(e.allPostings(t, cc, ptrTo(client.PostingKindHold), &s.orderA)))
		require.Equal(t, []row{{client.PostingKindPayout, 300, 1300, s.orderA}},
			rowsOf(e.allPostings(t, oc, nil, &s.orderA)), "the owner reconciles an order by its id")
		require.Empty(t, e.allPostings(t, cc, ptrTo(client.PostingKindPayout), nil))
		require.Empty(t, e.allPostings(t, cc, nil, ptrTo("ord_unknown")))
		require.Len(t, e.allPostings(t, cc, ptrTo(client.PostingKindStarterGrant), nil), 1)

		// The same through a personal token.
		tok := e.createToken(t, cc, "books")
		require.Equal(t, items, e.allPostings(t, e.withBearer(t, tok.Token), nil, nil))

		// Support has no wallet of its own to list.
		require.Empty(t, e.allPostings(t, e.withCookie(t, s.staff.Session), nil, nil))
		e.requireLedgerOK(t)
	})
}

// requireConsistent checks a newest-first page: each balance_after is the
// next (older) one plus this amount, and created_at never goes up.
func requireConsistent(t *testing.T, items []client.Posting) {
	t.Helper()
	for i := 0; i+1 < len(items); i++ {
		require.Equal(t, items[i+1].BalanceAfter+items[i].Amount, items[i].BalanceAfter, "posting %d", i)
		require.False(t, items[i].CreatedAt.Before(items[i+1].CreatedAt), "posting %d is older than the next", i)
	}
}

func TestPostingsPaging(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		staff := e.supportAccount(t, "staff@heepr.dev")
		sc := e.withCookie(t, staff.Session)
		for i := 1; i <= 24; i++ {
			e.clock.Advance(time.Second)
			resp := e.credit(t, sc, cust.ID, fmt.Sprintf("page-%d", i), int64(i), fmt.Sprintf("credit %d", i))
			require.Equal(t, http.StatusCreated, resp.StatusCode(), "%s", resp.Body)
		}
		cc := e.withCookie(t, cust.Session)
		all := e.allPostings(t, cc, nil, nil)
		require.Len(t, all, 25)
		requireConsistent(t, all)
		require.Equal(t, "credit 24", all[0].Memo, "newest first")
		require.Equal(t, client.PostingKindStarterGrant, all[24].Kind)
		for i := 0; i+1 < len(all); i++ {
			require.True(t, all[i].CreatedAt.After(all[i+1].CreatedAt), "strictly newest first at %d", i)
		}

		// The default page is 20 (openapi.yaml's Limit), then a cursor.
		first := e.postings(t, cc, nil)
		require.Len(t, first.Items, 20)
		require.NotNil(t, first.NextCursor)
		require.Equal(t, all[:20], first.Items)

		// Page through with limit 7: no repeat, no gap, the same order.
		for _, tc := range []struct {
			kind  *client.PostingKind
			limit int
			want  []client.Posting
			pages int
		}{
			{nil, 7, all, 4},
			{ptrTo(client.PostingKindSupportCredit), 10, all[:24], 3},
			{nil, 25, all, 1},
			{nil, 1, all, 25},
		} {
			var got []client.Posting
			var cursor *string
			pages := 0
			for {
				page := e.postings(t, cc, &client.ListPostingsParams{Limit: &tc.limit, Kind: tc.kind, Cursor: cursor})
				pages++
				require.LessOrEqual(t, len(page.Items), tc.limit)
				got = append(got, page.Items...)
				if page.NextCursor == nil {
					break
				}
				require.NotEmpty(t, page.Items, "a cursor after an empty page")
				cursor = page.NextCursor
				require.LessOrEqual(t, pages, 30, "paging does not end")
			}
			require.Equal(t, tc.want, got, "limit %d", tc.limit)
			require.Equal(t, tc.pages, pages, "limit %d", tc.limit)
		}

		// A cursor stays valid while postings are added: the next page
		// continues where the last one ended, new postings go on top.
		page := e.postings(t, cc, &client.ListPostingsParams{Limit: ptrTo(10)})
		e.clock.Advance(time.Second)
		resp := e.credit(t, sc, cust.ID, "page-25", 25, "credit 25")
		require.Equal(t, http.StatusCreated, resp.StatusCode(), "%s", resp.Body)
		next := e.postings(t, cc, &client.ListPostingsParams{Limit: ptrTo(10), Cursor: page.NextCursor})
		require.Equal(t, all[10:20], next.Items)
		require.Equal(t, "credit 25", e.postings(t, cc, &client.ListPostingsParams{Limit: ptrTo(1)}).Items[0].Memo)

		// Bad parameters: 400 validation naming the parameter.
		for _, tc := range []struct{ query, field string }{
			{"kind=bonus", "kind"},
			{"kind=", "kind"},
			{"cursor=garbage!", "cursor"},
			{"cursor=" + strings.Repeat("a", 513), "cursor"},
			{"limit=0", "limit"},
			{"limit=101", "limit"},
			{"limit=ten", "limit"},
			{"order_id=" + strings.Repeat("o", 65), "order_id"},
		} {
			r, b := e.do(t, http.MethodGet, "/v1/wallet/postings?"+tc.query, nil, http.Header{"Cookie": {"heepr_session=" + cust.Session}})
			p := requireProblem(t, r, b, http.StatusBadRequest, "validation")
			require.Equal(t, []string{tc.field}, fieldNames(p), tc.query)
		}
		// The generated client's way of sending a bad cursor.
		lr, err := cc.ListPostingsWithResponse(context.Background(), &client.ListPostingsParams{Cursor: ptrTo("bm90IGpzb24")})
		require.NoError(t, err)
		p := requireProblem(t, lr.HTTPResponse, lr.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"cursor"}, fieldNames(p))
		e.requireLedgerOK(t)
	})
}

func TestLedgerReadsNeedSignIn(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		anon := e.anon(t)
		w, err := anon.GetWalletWithResponse(context.Background())
		require.NoError(t, err)
		requireProblem(t, w.HTTPResponse, w.Body, http.StatusUnauthorized, "unauthenticated")
		l, err := anon.ListPostingsWithResponse(context.Background(), nil)
		require.NoError(t, err)
		requireProblem(t, l.HTTPResponse, l.Body, http.StatusUnauthorized, "unauthenticated")
		x, err := anon.ExportPostingsWithResponse(context.Background(), nil)
		require.NoError(t, err)
		requireProblem(t, x.HTTPResponse, x.Body, http.StatusUnauthorized, "unauthenticated")

		// A session that ended is no better.
		acc := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		out, err := e.withCookie(t, acc.Session).SignOutWithResponse(context.Background())
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, out.StatusCode())
		w, err = e.withCookie(t, acc.Session).GetWalletWithResponse(context.Background())
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, w.StatusCode(), "%s", w.Body)
	})
}

func TestExportPostings(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.scene(t)
		cc := e.withCookie(t, s.cust.Session)
		// Free text that a spreadsheet would run as a formula.
		e.clock.Advance(time.Minute)
		resp := e.credit(t, e.withCookie(t, s.staff.Session), s.cust.ID, "formula", 1, `=HYPERLINK("http://evil","x"), "quoted"`)
		require.Equal(t, http.StatusCreated, resp.StatusCode(), "%s", resp.Body)

		for _, f := range []struct {
			kind  *client.PostingKind
			order *string
			n     int
		}{
			{nil, nil, 6},
			{ptrTo(client.PostingKindHold), nil, 2},
			{nil, &s.orderB, 2},
			{ptrTo(client.PostingKindRefund), &s.orderB, 1},
			{ptrTo(client.PostingKindPayout), nil, 0},
		} {
			x, err := cc.ExportPostingsWithResponse(context.Background(), &client.ExportPostingsParams{Kind: f.kind, OrderId: f.order})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, x.StatusCode(), "%s", x.Body)
			require.Equal(t, "text/csv", x.HTTPResponse.Header.Get("Content-Type"))
			require.NotNil(t, x.Headers200)
			require.Equal(t, `attachment; filename="heepr-postings.csv"`, deref(x.Headers200.ContentDisposition))
			require.Equal(t, "no-store", x.HTTPResponse.Header.Get("Cache-Control"))
			require.Equal(t, "nosniff", x.HTTPResponse.Header.Get("X-Content-Type-Options"))

			records, err := csv.NewReader(strings.NewReader(string(x.Body))).ReadAll()
			require.NoError(t, err, "%s", x.Body)
			require.Equal(t, []string{"id", "created_at", "kind", "order_id", "amount", "balance_after", "memo"}, records[0])
			listed := e.allPostings(t, cc, f.kind, f.order)
			require.Len(t, records[1:], f.n)
			require.Len(t, listed, f.n)
			for i, rec := range records[1:] {
				requireCSVRow(t, listed[i], rec)
			}
		}

		// Through a token too, and bad filters are refused like listPostings'.
		tok := e.createToken(t, cc, "accounting")
		x, err := e.withBearer(t, tok.Token).ExportPostingsWithResponse(context.Background(), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, x.StatusCode())
		r, b := e.do(t, http.MethodGet, "/v1/wallet/postings/export?kind=bonus", nil, http.Header{"Cookie": {"heepr_session=" + s.cust.Session}})
		p := requireProblem(t, r, b, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"kind"}, fieldNames(p))
		e.requireLedgerOK(t)
	})
}

// requireCSVRow checks an exported row against the posting listPostings gave.
func requireCSVRow(t *testing.T, p client.Posting, rec []string) {
	t.Helper()
	require.Len(t, rec, 7)
	require.Equal(t, p.Id, rec[0])
	at, err := time.Parse(time.RFC3339Nano, rec[1])
	require.NoError(t, err)
	require.True(t, p.CreatedAt.Equal(at), "created_at %s vs %s", p.CreatedAt, rec[1])
	require.Equal(t, string(p.Kind), rec[2])
	require.Equal(t, deref(p.OrderId), rec[3])
	require.Equal(t, strconv.FormatInt(p.Amount, 10), rec[4])
	require.Equal(t, strconv.FormatInt(p.BalanceAfter, 10), rec[5])
	if strings.ContainsAny(p.Memo[:1], "=+-@\t\r") {
		require.Equal(t, "'"+p.Memo, rec[6], "a formula is defused")
	} else {
		require.Equal(t, p.Memo, rec[6])
	}
}

func TestExportManyPostings(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		// The export reads 500 rows at a time: exactly one full page, then
		// one row more.
		ctx := context.Background()
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		credit := func(from, to int) {
			require.NoError(t, e.app.db.InTx(ctx, func(ctx context.Context) error {
				for i := from; i < to; i++ {
					if _, err := e.app.ledger.Credit(ctx, kernel.UserID(cust.ID), 1, fmt.Sprint("bulk ", i), fmt.Sprint("bulk:", i)); err != nil {
						return err
					}
				}
				return nil
			}))
		}
		credit(0, 499)
		for _, total := range []int{500, 501} {
			x, err := e.withCookie(t, cust.Session).ExportPostingsWithResponse(ctx, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, x.StatusCode())
			records, err := csv.NewReader(strings.NewReader(string(x.Body))).ReadAll()
			require.NoError(t, err)
			require.Len(t, records, 1+total)
			seen := map[string]bool{}
			for i, rec := range records[1:] {
				require.False(t, seen[rec[0]], "row %d repeats %s", i, rec[0])
				seen[rec[0]] = true
				require.Equal(t, strconv.Itoa(1000+total-1-i), rec[5], "row %d: newest first, no gap", i)
			}
			credit(total-1, total)
		}
		e.requireLedgerOK(t)
	})
}

func TestCreditPoints(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		staff := e.supportAccount(t, "staff@heepr.dev")
		sc := e.withCookie(t, staff.Session)

		e.clock.Advance(time.Hour)
		resp := e.credit(t, sc, cust.ID, "credit-1", 40, "Goodwill for the outage")
		require.Equal(t, http.StatusCreated, resp.StatusCode(), "%s", resp.Body)
		require.Equal(t, "application/json", resp.HTTPResponse.Header.Get("Content-Type"))
		require.Empty(t, resp.HTTPResponse.Header.Get("Idempotent-Replayed"), "a first answer is not a replay")
		p := *resp.JSON201
		require.Equal(t, client.PostingKindSupportCredit, p.Kind)
		require.EqualValues(t, 40, p.Amount)
		require.EqualValues(t, 1040, p.BalanceAfter)
		require.Equal(t, "Goodwill for the outage", p.Memo)
		require.Nil(t, p.OrderId)
		require.Equal(t, e.clock.Now(), p.CreatedAt.UTC())
		require.Equal(t, client.Wallet{Balance: 1040}, e.wallet(t, e.withCookie(t, cust.Session)))
		require.Equal(t, p, e.allPostings(t, e.withCookie(t, cust.Session), nil, nil)[0])

		// Through a support token, to an owner, at the upper bound.
		tok := e.createToken(t, sc, "support desk")
		resp = e.credit(t, e.withBearer(t, tok.Token), owner.ID, "credit-2", 1_000_000, "Correction")
		require.Equal(t, http.StatusCreated, resp.StatusCode(), "%s", resp.Body)
		require.Equal(t, client.Wallet{Balance: 1_001_000}, e.wallet(t, e.withCookie(t, owner.Session)))
		e.requireLedgerOK(t)

		before, ledgerBefore := e.snapshot(t), e.ledgerState(t)

		// Only support credits points; nobody credits themselves.
		for _, c := range []*client.ClientWithResponses{e.withCookie(t, cust.Session), e.withCookie(t, owner.Session)} {
			r := e.credit(t, c, cust.ID, "self-service", 1000, "free points")
			requireProblem(t, r.HTTPResponse, r.Body, http.StatusForbidden, "forbidden")
		}
		r := e.credit(t, e.anon(t), cust.ID, "anon", 1000, "free points")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusUnauthorized, "unauthenticated")

		// Unknown user: 404 (the refusal is kept under its key: see the idempotency tests).
		r = e.credit(t, sc, "01900000-0000-7000-8000-000000000000", "nobody", 10, "for nobody")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusNotFound, "not-found")
		e.requireLedgerUnchanged(t, ledgerBefore)
		delete(before, "idempotency_keys")
		keys := e.count(t, "idempotency_keys")

		// Bad bodies: 400 naming the field, nothing stored or moved.
		for i, tc := range []struct {
			body   string
			fields []string
		}{
			{`{"amount":0,"memo":"zero"}`, []string{"amount"}},
			{`{"amount":-5,"memo":"negative"}`, []string{"amount"}},
			{`{"amount":1000001,"memo":"too much"}`, []string{"amount"}},
			{`{"amount":1.5,"memo":"fraction"}`, []string{"amount"}},
			{`{"amount":"10","memo":"string"}`, []string{"amount"}},
			{`{"amount":10}`, []string{"memo"}},
			{`{"amount":10,"memo":""}`, []string{"memo"}},
			{`{"amount":10,"memo":"` + strings.Repeat("m", 501) + `"}`, []string{"memo"}},
			{`{"memo":"no amount"}`, []string{"amount"}},
			{`{"amount":10,"memo":"extra","currency":"EUR"}`, []string{"currency"}},
			{`{}`, []string{"amount", "memo"}},
		} {
			r, err := sc.CreditPointsWithBodyWithResponse(context.Background(), cust.ID,
				&client.CreditPointsParams{IdempotencyKey: fmt.Sprint("bad-", i)}, "application/json", strings.NewReader(tc.body))
			require.NoError(t, err)
			p := requireProblem(t, r.HTTPResponse, r.Body, http.StatusBadRequest, "validation")
			require.ElementsMatch(t, tc.fields, fieldNames(p), tc.body)
		}
		r, err := sc.CreditPointsWithBodyWithResponse(context.Background(), cust.ID,
			&client.CreditPointsParams{IdempotencyKey: "no-body"}, "application/json", nil)
		require.NoError(t, err)
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusBadRequest, "validation")
		// A user id longer than any heepr issues.
		r = e.credit(t, sc, strings.Repeat("u", 65), "long-id", 10, "x")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusBadRequest, "validation")

		after := e.snapshot(t)
		delete(after, "idempotency_keys")
		require.Equal(t, before, after)
		require.Equal(t, keys, e.count(t, "idempotency_keys"), "a request refused before it ran stores no key")
		e.requireLedgerUnchanged(t, ledgerBefore)
		e.requireLedgerOK(t)
	})
}
