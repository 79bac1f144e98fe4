package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/heepr/heepr/api/client"
	"github.com/heepr/heepr/modules/kernel"
	ledgerdomain "github.com/heepr/heepr/modules/ledger/domain"
)

// Trust and safety through HTTP (issue 7): a customer's flag opens a case
// and puts the order in dispute; support reads the case file and settles it
// with a refund (from the escrow before payout, clawed back or as goodwill
// after it) or a dismissal (the order resumes where it was). Suspensions,
// the access matrix and automatic signals are in moderation_access_test.go.

// --- helpers (prefixed mod: moderation_access_test.go has its own) -----------

// modSupport creates a support account and a client signed in as it.
func (e *env) modSupport(t *testing.T) (account, *client.ClientWithResponses) {
	t.Helper()
	a := e.supportAccount(t, "staff-"+randomID()[:8]+"@heepr.dev")
	return a, e.withCookie(t, a.Session)
}

// modSignIn signs an account in again (after the fake clock outran its session).
func (e *env) modSignIn(t *testing.T, a account) *client.ClientWithResponses {
	t.Helper()
	return e.withCookie(t, e.signIn(t, a.Email, a.Password))
}

func (e *env) modFlagResp(t *testing.T, c *client.ClientWithResponses, order string, reason client.FlagReason, details string) *client.FlagOrderResponse {
	t.Helper()
	req := client.FlagRequest{Reason: reason}
	if details != "" {
		req.Details = &details
	}
	resp, err := c.FlagOrderWithResponse(context.Background(), order, req)
	require.NoError(t, err)
	return resp
}

// modFlag flags an order and requires 201.
func (e *env) modFlag(t *testing.T, c *client.ClientWithResponses, order string, reason client.FlagReason, details string) client.Case {
	t.Helper()
	resp := e.modFlagResp(t, c, order, reason, details)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "flagOrder: %s", resp.Body)
	require.NotNil(t, resp.JSON201)
	return *resp.JSON201
}

// modRawFlag posts a raw flagOrder body as a session.
func (e *env) modRawFlag(t *testing.T, session, order, body string) (*http.Response, []byte) {
	t.Helper()
	h := cookieHeader(session)
	h.Set("Content-Type", "application/json")
	return e.do(t, http.MethodPost, "/v1/orders/"+order+"/flag", strings.NewReader(body), h)
}

func modRefund(amount int64, note string) client.ResolveCaseRequest {
	r := client.ResolveCaseRequest{Action: client.ResolveCaseRequestActionRefund, Note: note}
	if amount > 0 {
		r.RefundAmount = &amount
	}
	return r
}

func modRefundFrom(amount int64, src client.ResolveCaseRequestRefundSource, note string) client.ResolveCaseRequest {
	r := modRefund(amount, note)
	r.RefundSource = &src
	return r
}

func modDismiss(note string) client.ResolveCaseRequest {
	return client.ResolveCaseRequest{Action: client.ResolveCaseRequestActionDismiss, Note: note}
}

// modResolveKey calls resolveCase with an Idempotency-Key.
func (e *env) modResolveKey(t *testing.T, c *client.ClientWithResponses, id, key string, req client.ResolveCaseRequest) *client.ResolveCaseResponse {
	t.Helper()
	resp, err := c.ResolveCaseWithResponse(context.Background(), id, &client.ResolveCaseParams{IdempotencyKey: key}, req)
	require.NoError(t, err)
	return resp
}

// modResolveResp calls resolveCase with a fresh Idempotency-Key.
func (e *env) modResolveResp(t *testing.T, c *client.ClientWithResponses, id string, req client.ResolveCaseRequest) *client.ResolveCaseResponse {
	t.Helper()
	return e.modResolveKey(t, c, id, uuid.NewString(), req)
}

// modResolve resolves a case and requires 200.
func (e *env) modResolve(t *testing.T, c *client.ClientWithResponses, id string, req client.ResolveCaseRequest) client.Case {
	t.Helper()
	resp := e.modResolveResp(t, c, id, req)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "resolveCase: %s", resp.Body)
	require.NotNil(t, resp.JSON200)
	return *resp.JSON200
}

// modRawResolve posts a raw resolveCase body (what the client cannot express).
func (e *env) modRawResolve(t *testing.T, session, id, body string) (*http.Response, []byte) {
	t.Helper()
	h := cookieHeader(session)
	h.Set("Content-Type", "application/json")
	h.Set("Idempotency-Key", uuid.NewString())
	return e.do(t, http.MethodPost, "/v1/cases/"+id+"/resolve", strings.NewReader(body), h)
}

// modGetCase calls getCase and requires 200.
func (e *env) modGetCase(t *testing.T, c *client.ClientWithResponses, id string) client.CaseDetail {
	t.Helper()
	resp, err := c.GetCaseWithResponse(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "getCase: %s", resp.Body)
	require.NotNil(t, resp.JSON200)
	return *resp.JSON200
}

// modCases calls listCases and requires 200.
func (e *env) modCases(t *testing.T, c *client.ClientWithResponses, p client.ListCasesParams) client.CaseList {
	t.Helper()
	resp, err := c.ListCasesWithResponse(context.Background(), &p)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listCases: %s", resp.Body)
	require.NotNil(t, resp.JSON200)
	return *resp.JSON200
}

func modCaseIDs(cs []client.Case) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Id)
	}
	return out
}

// modAudit lists the audit entries about a target (newest first, one page).
func (e *env) modAudit(t *testing.T, c *client.ClientWithResponses, p client.ListAuditEventsParams) []client.AuditEvent {
	t.Helper()
	p.Limit = ptrTo(100)
	resp, err := c.ListAuditEventsWithResponse(context.Background(), &p)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listAuditEvents: %s", resp.Body)
	require.Nil(t, resp.JSON200.NextCursor)
	return resp.JSON200.Items
}

// modPosting is an order's posting without its id, time and memo.
type modPosting struct {
	Kind     client.PostingKind
	From, To string
	Amount   int64
}

func modPostings(ps []client.OrderPosting) []modPosting {
	out := []modPosting{}
	for _, p := range ps {
		out = append(out, modPosting{p.Kind, p.FromAccount, p.ToAccount, p.Amount})
	}
	return out
}

func modWallet(u string) string { return ledgerdomain.WalletID(kernel.UserID(u)) }
func modEscrow(o string) string { return ledgerdomain.EscrowID(o) }

// modState is everything a refused flag or resolution must leave alone:
// ordering's rows and the ledger, the cases and the audit log.
type modState struct {
	Ordering orderingState
	Cases    []idRow
	Audit    int
}

func (e *env) modState(t *testing.T) modState {
	t.Helper()
	s := modState{Ordering: e.orderingState(t), Audit: e.count(t, "audit_events")}
	require.NoError(t, e.app.db.Bun.NewSelect().Table("moderation_cases").ColumnExpr("id, status AS state").
		OrderExpr("id").Scan(context.Background(), &s.Cases))
	return s
}

func (e *env) modRequireUnchanged(t *testing.T, before modState, what string) {
	t.Helper()
	require.Equal(t, before, e.modState(t), "%s changed something", what)
}

// modSameTime compares instants whatever their location.
func modSameTime(t *testing.T, want time.Time, got *time.Time, what string) {
	t.Helper()
	require.NotNil(t, got, what)
	require.True(t, want.Equal(*got), "%s: want %s, got %s", what, want, *got)
}

// modOrder starts one more auto-mode order of the shop (price 120).
func (e *env) modOrder(t *testing.T, s shop) client.Order {
	t.Helper()
	conv := e.contact(t, s.custC, s.agent.Id, "One more job.")
	o := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
	require.Equal(t, client.OrderStatusInProgress, o.Status)
	return o
}

// modDelivered runs an order to delivered: delivered and released to the customer.
func (e *env) modDelivered(t *testing.T, s shop) client.Order {
	t.Helper()
	o := e.modOrder(t, s)
	d := e.deliver(t, s.agentC, o.Id, "Done.", upload{"report.md", []byte("# Done\n")})
	got := e.release(t, s.ownerC, d.Id)
	require.Equal(t, client.OrderStatusDelivered, got.Status)
	return got
}

// modStopWorkers stops the River workers (jobs are still inserted, none
// runs) and returns what starts them again: a payout job then provably
// runs after whatever the test did meanwhile.
func (e *env) modStopWorkers(t *testing.T) (restart func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, e.app.queue.Stop(ctx))
	return func() {
		t.Helper()
		require.NoError(t, e.app.queue.Start(context.WithValue(context.Background(), appKey{}, e.id)))
	}
}

// modJobs counts the River jobs of a kind (in any of the states, or any state).
func (e *env) modJobs(t *testing.T, kind string, states ...string) int {
	t.Helper()
	q := e.app.db.Bun.NewSelect().Table("river_job").Where("kind = ?", kind)
	if len(states) > 0 {
		q = q.Where("state IN (?)", bun.In(states))
	}
	n, err := q.Count(context.Background())
	require.NoError(t, err)
	return int(n)
}

func modEventsOf(evs []client.AgentEvent, typ string) []client.AgentEvent {
	var out []client.AgentEvent
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// --- 1. the flag ------------------------------------------------------------------

func TestModerationFlagFlow(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s, o := e.startedOrder(t)
		_, supportC := e.modSupport(t)
		_, cursor := e.drain(t, s.agentC, "")
		require.Zero(t, e.notificationsOf(t, s.ownerC, "ordering.order_disputed"))
		cust0 := e.wallet(t, s.custC)

		e.clock.Advance(time.Hour)
		flaggedAt := e.clock.Now()
		c := e.modFlag(t, s.custC, o.Id, client.FlagReasonMissedDeadline, "  Two days late and no word from the agent.  ")
		require.Equal(t, client.Flag, c.Kind)
		require.Equal(t, client.CaseStatusOpen, c.Status)
		require.Equal(t, client.CaseReasonMissedDeadline, c.Reason)
		require.Equal(t, "Two days late and no word from the agent.", c.Details)
		require.Equal(t, o.Id, deref(c.OrderId))
		require.Equal(t, s.agent.Id, deref(c.AgentId))
		require.Equal(t, s.owner.ID, deref(c.OwnerId))
		require.Equal(t, s.customer.ID, deref(c.FlaggedBy))
		modSameTime(t, flaggedAt, &c.OpenedAt, "opened_at")
		require.Nil(t, c.ResolvedAt)
		require.Nil(t, c.Resolution)

		// Every party sees the order disputed since the flag; the points stay in escrow.
		for _, pc := range []*client.ClientWithResponses{s.custC, s.ownerC, s.agentC} {
			got := e.getOrder(t, pc, o.Id)
			require.Equal(t, client.OrderStatusDisputed, got.Status)
			modSameTime(t, flaggedAt, got.DisputedAt, "disputed_at")
			require.Nil(t, got.RefundedPoints)
		}
		require.Equal(t, cust0, e.wallet(t, s.custC))

		// The owner is notified, the agent told, the conversation shows it.
		var disputed []client.Notification
		for _, n := range e.notifications(t, s.ownerC) {
			if n.Kind == "ordering.order_disputed" {
				disputed = append(disputed, n)
			}
		}
		require.Len(t, disputed, 1)
		require.Equal(t, "/orders/"+o.Id, deref(disputed[0].Link))
		require.Contains(t, disputed[0].Body, "missed_deadline")
		page := e.poll(t, s.agentC, cursor, 0)
		require.Equal(t, []string{"order.disputed"}, eventTypes(page.Items))
		ev := page.Items[0].Data
		require.Equal(t, o.Id, ev["order_id"])
		require.Equal(t, "missed_deadline", ev["reason"])
		require.Equal(t, "Two days late and no word from the agent.", ev["details"])
		require.Equal(t, "in_progress", ev["was"])
		e.ack(t, s.agentC, page.NextCursor)
		msgs := e.messages(t, s.custC, o.ConversationId, client.ListMessagesParams{Limit: ptrTo(100)}).Items
		last := msgs[len(msgs)-1]
		require.Equal(t, client.AuthorKindSystem, last.AuthorKind)
		require.Contains(t, last.Body, "flagged order "+o.Id)

		// Support's queue has it.
		require.Equal(t, []string{c.Id}, modCaseIDs(e.modCases(t, supportC, client.ListCasesParams{Status: ptrTo(client.CaseStatusOpen)}).Items))

		// One open case per order: a second flag changes nothing.
		before := e.modState(t)
		again := e.modFlagResp(t, s.custC, o.Id, client.FlagReasonOther, "And another thing.")
		requireProblem(t, again.HTTPResponse, again.Body, http.StatusConflict, "case-open")
		e.modRequireUnchanged(t, before, "a second flag")
		require.Empty(t, e.poll(t, s.agentC, page.NextCursor, 0).Items)

		// On hold: no one moves a disputed order on.
		dr := e.deliverResp(t, s.agentC, o.Id, "Done anyway.", upload{"report.md", []byte("# Late\n")})
		requireProblem(t, dr.HTTPResponse, dr.Body, http.StatusConflict, "order-not-in-progress")
		cr := e.cancelOrder(t, s.custC, o.Id)
		requireProblem(t, cr.HTTPResponse, cr.Body, http.StatusConflict, "cancel-not-allowed")
		ar, err := s.custC.AcceptDeliveryWithResponse(ctx, o.Id, &client.AcceptDeliveryParams{IdempotencyKey: uuid.NewString()})
		require.NoError(t, err)
		requireProblem(t, ar.HTTPResponse, ar.Body, http.StatusConflict, "order-not-delivered")
		rr, err := s.custC.RequestRevisionWithResponse(ctx, o.Id, client.RevisionRequest{Notes: "More", UnmetCriteria: []string{"tests pass"}})
		require.NoError(t, err)
		requireProblem(t, rr.HTTPResponse, rr.Body, http.StatusConflict, "order-not-delivered")
		e.modRequireUnchanged(t, before, "moving a disputed order")

		// Support and the owner are emailed.
		e.waitJobsDone(t)
		require.Len(t, e.mailTo(t, e.cfg.SupportEmail, "Order "+o.Id+" flagged (missed_deadline)"), 1)
		require.Len(t, e.mailTo(t, s.owner.Email, disputed[0].Subject), 1)

		// Waiting for approval, or cancelled: nothing to flag.
		m := e.manualShop(t)
		conv := e.contact(t, m.custC, m.agent.Id, "Two jobs, please.")
		pending := e.accept(t, m.custC, e.sendQuote(t, m.agentC, conv.Id, e.quoteReq()).Id)
		withdrawn := e.accept(t, m.custC, e.sendQuote(t, m.agentC, conv.Id, e.quoteReq()).Id)
		cr = e.cancelOrder(t, m.custC, withdrawn.Id)
		require.Equal(t, http.StatusOK, cr.StatusCode(), "cancelOrder: %s", cr.Body)
		require.Equal(t, client.OrderStatusCancelled, cr.JSON200.Status)
		before = e.modState(t)
		for _, id := range []string{pending.Id, withdrawn.Id} {
			for _, reason := range []client.FlagReason{client.FlagReasonMissedDeadline, client.FlagReasonPolicyViolation} {
				r := e.modFlagResp(t, m.custC, id, reason, "")
				requireProblem(t, r.HTTPResponse, r.Body, http.StatusConflict, "flag-not-allowed")
			}
		}
		e.modRequireUnchanged(t, before, "a flag of an order not being worked on")
		require.Equal(t, client.OrderStatusPendingApproval, e.orderStatus(t, m.custC, pending.Id))

		// Bad input on an order in progress: 400, and nothing changes.
		o2 := e.modOrder(t, s)
		before = e.modState(t)
		bad := []struct{ name, body, field string }{
			{"an unknown reason", `{"reason":"bogus"}`, "reason"},
			{"no reason", `{"details":"late"}`, "reason"},
			{"details over 5000 characters", `{"reason":"other","details":"` + strings.Repeat("x", 5001) + `"}`, "details"},
			{"an unknown field", `{"reason":"other","refund":true}`, "refund"},
		}
		for _, b := range bad {
			resp, body := e.modRawFlag(t, s.customer.Session, o2.Id, b.body)
			p := requireProblem(t, resp, body, http.StatusBadRequest, "validation")
			require.Contains(t, fieldNames(p), b.field, "%s: %s", b.name, body)
		}
		resp, body := e.modRawFlag(t, s.customer.Session, o2.Id, `{"reason":`)
		requireProblem(t, resp, body, http.StatusBadRequest, "malformed-json")
		e.modRequireUnchanged(t, before, "a bad flag")
		require.Equal(t, client.OrderStatusInProgress, e.orderStatus(t, s.custC, o2.Id))

		// 5000 characters (not bytes) is the limit, inclusive.
		long := strings.Repeat("é", 5000)
		c2 := e.modFlag(t, s.custC, o2.Id, client.FlagReasonOther, long)
		require.Equal(t, long, c2.Details)
		require.Equal(t, client.OrderStatusDisputed, e.orderStatus(t, s.custC, o2.Id))
		got, err := supportC.GetCaseWithResponse(ctx, c2.Id)
		require.NoError(t, err)
		require.Equal(t, long, got.JSON200.Case.Details)
		e.requireLedgerOK(t)
	})
}

// A flag on an order that is not the caller's answers as a missing order
// does: no one learns an order exists by flagging it.
func TestModerationFlagForeignOrder(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s, o := e.startedOrder(t)
		other := e.autoShop(t) // another owner, agent and customer
		e.modOrder(t, other)
		stranger := e.signUp(t, "stranger-"+randomID()[:8]+"@example.com", client.SignUpRequestRoleCustomer)
		strangerC := e.withCookie(t, stranger.Session)
		token := e.createToken(t, other.ownerC, "script").Token

		before := e.modState(t)
		foreign := []struct {
			name   string
			c      *client.ClientWithResponses
			status int
			slug   string
		}{
			{"another customer", other.custC, http.StatusNotFound, "not-found"},
			{"a customer with no orders", strangerC, http.StatusNotFound, "not-found"},
			{"another owner", other.ownerC, http.StatusNotFound, "not-found"},
			{"another owner's token", e.withBearer(t, token), http.StatusNotFound, "not-found"},
			// Agent keys are refused by role (policy: flagOrder is a customer's
			// operation), before any order is looked up: the same answer either way.
			{"another agent", other.agentC, http.StatusUnauthorized, "unauthenticated"},
			{"the order's own agent", s.agentC, http.StatusUnauthorized, "unauthenticated"},
		}
		for _, f := range foreign {
			for _, reason := range []client.FlagReason{client.FlagReasonOther, client.FlagReasonPolicyViolation} {
				r := e.modFlagResp(t, f.c, o.Id, reason, "Not my order")
				requireProblem(t, r.HTTPResponse, r.Body, f.status, f.slug)
				missing := e.modFlagResp(t, f.c, uuid.NewString(), reason, "Not my order")
				requireProblem(t, missing.HTTPResponse, missing.Body, f.status, f.slug)
				require.Equal(t, problemBody(t, missing.Body), problemBody(t, r.Body),
					"%s: flagging someone else's order answers differently from a missing one", f.name)
			}
		}
		// The agent's owner takes part in the order and reads it, but flagging
		// is the customer's: 403 customer-only, as for the customer's other acts.
		r := e.modFlagResp(t, s.ownerC, o.Id, client.FlagReasonOther, "Mine")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusForbidden, "customer-only")
		e.modRequireUnchanged(t, before, "a foreign flag")
		require.Equal(t, client.OrderStatusInProgress, e.orderStatus(t, s.custC, o.Id))

		// The customer still may.
		e.modFlag(t, s.custC, o.Id, client.FlagReasonOther, "")
		require.Equal(t, client.OrderStatusDisputed, e.orderStatus(t, s.custC, o.Id))
		e.requireLedgerOK(t)
	})
}

// A completed order may be flagged for a policy violation only, up to 14
// days after it completed.
func TestModerationFlagCompletedOrders(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		o1 := e.completedOrder(t, s)
		o2 := e.completedOrder(t, s)
		o3 := e.completedOrder(t, s)
		require.Len(t, e.allPostings(t, s.ownerC, ptrTo(client.PostingKindPayout), nil), 3, "all three paid out")

		before := e.modState(t)
		for _, reason := range []client.FlagReason{client.FlagReasonMissedDeadline, client.FlagReasonOffScope, client.FlagReasonOther} {
			r := e.modFlagResp(t, s.custC, o1.Id, reason, "Too slow")
			p := requireProblem(t, r.HTTPResponse, r.Body, http.StatusConflict, "flag-not-allowed")
			require.Contains(t, *p.Detail, "policy violation")
		}
		e.modRequireUnchanged(t, before, "flagging a completed order for anything but a policy violation")

		e.clock.Advance(time.Hour)
		c := e.modFlag(t, s.custC, o1.Id, client.FlagReasonPolicyViolation, "The patch contains a crypto miner.")
		require.Equal(t, client.CaseReasonPolicyViolation, c.Reason)
		got := e.getOrder(t, s.custC, o1.Id)
		require.Equal(t, client.OrderStatusDisputed, got.Status)
		modSameTime(t, e.clock.Now(), got.DisputedAt, "disputed_at")

		// Exactly 14 days after completion is still in time; a second later is not.
		e.clock.Advance(14*24*time.Hour - time.Hour)
		cust := e.modSignIn(t, s.customer) // the old session lapsed
		e.modFlag(t, cust, o3.Id, client.FlagReasonPolicyViolation, "Same miner here.")
		require.Equal(t, client.OrderStatusDisputed, e.orderStatus(t, cust, o3.Id))
		e.clock.Advance(time.Second)
		before = e.modState(t)
		r := e.modFlagResp(t, cust, o2.Id, client.FlagReasonPolicyViolation, "And here.")
		p := requireProblem(t, r.HTTPResponse, r.Body, http.StatusConflict, "flag-not-allowed")
		require.Contains(t, *p.Detail, "14 days")
		e.modRequireUnchanged(t, before, "a late flag")
		require.Equal(t, client.OrderStatusCompleted, e.orderStatus(t, cust, o2.Id))

		// Dismissed, a paid order is completed again and paid no second time.
		owner0 := e.wallet(t, e.modSignIn(t, s.owner))
		_, supportC := e.modSupport(t)
		e.modResolve(t, supportC, c.Id, modDismiss("No miner: a benchmark."))
		require.Equal(t, client.OrderStatusCompleted, e.orderStatus(t, cust, o1.Id))
		e.waitJobsDone(t)
		ownerC := e.modSignIn(t, s.owner)
		require.Len(t, e.allPostings(t, ownerC, ptrTo(client.PostingKindPayout), &o1.Id), 1)
		require.Equal(t, owner0, e.wallet(t, ownerC))
		e.requireLedgerOK(t)
	})
}

// --- 2. refunds -----------------------------------------------------------------

func TestModerationRefundInFullBeforePayout(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s, o := e.startedOrder(t)
		support, supportC := e.modSupport(t)
		cust0, owner0 := e.wallet(t, s.custC), e.wallet(t, s.ownerC)
		require.Equal(t, int64(120), cust0.Held)
		c := e.modFlag(t, s.custC, o.Id, client.FlagReasonMissedDeadline, "Nothing was delivered.")
		_, cursor := e.drain(t, s.agentC, "")

		e.clock.Advance(2 * time.Hour)
		res := e.modResolve(t, supportC, c.Id, modRefund(0, "The agent never started."))
		require.Equal(t, c.Id, res.Id)
		require.Equal(t, client.CaseStatusResolved, res.Status)
		modSameTime(t, e.clock.Now(), res.ResolvedAt, "resolved_at")
		require.Equal(t, &client.CaseResolution{Action: client.CaseResolutionActionRefund, Note: "The agent never started.",
			ResolvedBy: "user:" + support.ID, Refunded: 120, FromEscrow: 120}, res.Resolution)

		// The whole price back; the owner gets nothing.
		got := e.getOrder(t, s.custC, o.Id)
		require.Equal(t, client.OrderStatusRefunded, got.Status)
		require.Equal(t, int64(120), deref(got.RefundedPoints))
		require.Nil(t, got.DisputedAt)
		cust := e.wallet(t, s.custC)
		require.Equal(t, cust0.Balance+120, cust.Balance)
		require.Zero(t, cust.Held)
		require.Equal(t, owner0, e.wallet(t, s.ownerC))
		refunds := e.allPostings(t, s.custC, ptrTo(client.PostingKindRefund), &o.Id)
		require.Len(t, refunds, 1)
		require.Equal(t, int64(120), refunds[0].Amount)

		detail := e.modGetCase(t, supportC, c.Id)
		require.Equal(t, res, detail.Case)
		require.False(t, detail.PaidOut)
		require.Equal(t, []modPosting{
			{client.PostingKindHold, modWallet(s.customer.ID), modEscrow(o.Id), 120},
			{client.PostingKindRefund, modEscrow(o.Id), modWallet(s.customer.ID), 120},
		}, modPostings(detail.Postings))
		require.Equal(t, client.OrderStatusRefunded, detail.Order.Status)

		// Both sides are told; the agent gets order.refunded.
		require.Equal(t, 1, e.notificationsOf(t, s.custC, "ordering.dispute_refunded"))
		require.Equal(t, 1, e.notificationsOf(t, s.ownerC, "ordering.dispute_refunded"))
		page := e.poll(t, s.agentC, cursor, 0)
		require.Equal(t, []string{"order.refunded"}, eventTypes(page.Items))
		require.EqualValues(t, 120, page.Items[0].Data["refunded"])
		require.EqualValues(t, 120, page.Items[0].Data["price"])

		// Settled once: a second resolution is refused and moves nothing.
		before := e.modState(t)
		for _, req := range []client.ResolveCaseRequest{modRefund(0, "Again"), modDismiss("Changed my mind")} {
			r := e.modResolveResp(t, supportC, c.Id, req)
			requireProblem(t, r.HTTPResponse, r.Body, http.StatusConflict, "case-resolved")
		}
		e.modRequireUnchanged(t, before, "resolving a resolved case")
		// A refunded order is not flagged again.
		r := e.modFlagResp(t, s.custC, o.Id, client.FlagReasonOther, "")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusConflict, "flag-not-allowed")
		e.requireLedgerOK(t)
	})
}

// A partial refund before payout: the customer gets the refund, the owner
// the rest of the escrow less the platform fee.
func TestModerationPartialRefundBeforePayout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bps  int
		fee  int64
	}{{"no fee (the default)", 0, 0}, {"a 10 percent fee", 1000, 7}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eachDB(t, func(t *testing.T, e *env) {
				s := e.autoShop(t)
				o := e.modDelivered(t, s) // flagged in its review window
				support, supportC := e.modSupport(t)
				cust0, owner0 := e.wallet(t, s.custC), e.wallet(t, s.ownerC)
				c := e.modFlag(t, s.custC, o.Id, client.FlagReasonOffScope, "Half of it is not what we agreed.")
				evs, _ := e.drain(t, s.agentC, "")
				disputed := modEventsOf(evs, "order.disputed")
				require.Len(t, disputed, 1)
				require.Equal(t, "delivered", disputed[0].Data["was"])

				res := e.modResolve(t, supportC, c.Id, modRefund(50, "Half of the scope was delivered."))
				require.Equal(t, &client.CaseResolution{Action: client.CaseResolutionActionRefund, Note: "Half of the scope was delivered.",
					ResolvedBy: "user:" + support.ID, Refunded: 50, FromEscrow: 50, ToOwner: 70}, res.Resolution)

				got := e.getOrder(t, s.ownerC, o.Id)
				require.Equal(t, client.OrderStatusRefunded, got.Status)
				require.Equal(t, int64(50), deref(got.RefundedPoints))
				cust, owner := e.wallet(t, s.custC), e.wallet(t, s.ownerC)
				require.Equal(t, cust0.Balance+50, cust.Balance)
				require.Zero(t, cust.Held)
				require.Equal(t, owner0.Balance+70-tc.fee, owner.Balance)

				want := []modPosting{
					{client.PostingKindHold, modWallet(s.customer.ID), modEscrow(o.Id), 120},
					{client.PostingKindRefund, modEscrow(o.Id), modWallet(s.customer.ID), 50},
					{client.PostingKindPayout, modEscrow(o.Id), modWallet(s.owner.ID), 70 - tc.fee},
				}
				if tc.fee > 0 {
					want = append(want, modPosting{client.PostingKindFee, modEscrow(o.Id), ledgerdomain.Platform, tc.fee})
				}
				detail := e.modGetCase(t, supportC, c.Id)
				require.Equal(t, want, modPostings(detail.Postings))
				require.True(t, detail.PaidOut, "the owner was paid their share")

				// The order's payout job, should it run, pays nothing more.
				e.enqueue(t, orderingPayout(o.Id))
				e.waitJobsDone(t)
				require.Equal(t, owner, e.wallet(t, s.ownerC))
				e.requireLedgerOK(t)
			}, withConfig(func(c *config) { c.PlatformFeeBPS = tc.bps }))
		})
	}
}

// After payout a refund is clawed back from the owner, who has enough.
func TestModerationRefundAfterPayoutClawsBack(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		o1 := e.completedOrder(t, s)
		o2 := e.completedOrder(t, s)
		_, supportC := e.modSupport(t)
		cust0, owner0 := e.wallet(t, s.custC), e.wallet(t, s.ownerC)
		require.GreaterOrEqual(t, owner0.Balance, int64(240))
		c1 := e.modFlag(t, s.custC, o1.Id, client.FlagReasonPolicyViolation, "Plagiarised.")
		c2 := e.modFlag(t, s.custC, o2.Id, client.FlagReasonPolicyViolation, "Plagiarised too.")
		require.True(t, e.modGetCase(t, supportC, c1.Id).PaidOut)

		// Partly, from the owner (named).
		r1 := e.modResolve(t, supportC, c1.Id, modRefundFrom(100, client.OwnerClawback, "Most of it was copied."))
		require.Equal(t, int64(100), r1.Resolution.Refunded)
		require.Equal(t, int64(100), r1.Resolution.ClawedBack)
		require.Zero(t, r1.Resolution.FromEscrow)
		require.Zero(t, r1.Resolution.Goodwill)
		require.Zero(t, r1.Resolution.ToOwner)
		require.Equal(t, cust0.Balance+100, e.wallet(t, s.custC).Balance)
		require.Equal(t, owner0.Balance-100, e.wallet(t, s.ownerC).Balance)
		got := e.getOrder(t, s.custC, o1.Id)
		require.Equal(t, client.OrderStatusRefunded, got.Status)
		require.Equal(t, int64(100), deref(got.RefundedPoints))
		detail := e.modGetCase(t, supportC, c1.Id)
		require.True(t, detail.PaidOut)
		require.Equal(t, []modPosting{
			{client.PostingKindHold, modWallet(s.customer.ID), modEscrow(o1.Id), 120},
			{client.PostingKindPayout, modEscrow(o1.Id), modWallet(s.owner.ID), 120},
			{client.PostingKindClawbackRefund, modWallet(s.owner.ID), modWallet(s.customer.ID), 100},
		}, modPostings(detail.Postings))

		// In full, from the owner by default.
		r2 := e.modResolve(t, supportC, c2.Id, modRefund(0, "All of it was copied."))
		require.Equal(t, int64(120), r2.Resolution.Refunded)
		require.Equal(t, int64(120), r2.Resolution.ClawedBack)
		require.Zero(t, r2.Resolution.Goodwill)
		require.Equal(t, cust0.Balance+220, e.wallet(t, s.custC).Balance)
		require.Equal(t, owner0.Balance-220, e.wallet(t, s.ownerC).Balance)
		require.Len(t, e.allPostings(t, s.ownerC, ptrTo(client.PostingKindClawbackRefund), nil), 2)
		require.Empty(t, e.allPostings(t, s.custC, ptrTo(client.PostingKindGoodwillRefund), nil))
		e.requireLedgerOK(t)
	})
}

// After payout, platform goodwill pays when support says so, and covers
// what an owner who spent their points lacks.
func TestModerationRefundAfterPayoutGoodwill(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		oa, ob, oc := e.completedOrder(t, s), e.completedOrder(t, s), e.completedOrder(t, s)
		_, supportC := e.modSupport(t)
		ca := e.modFlag(t, s.custC, oa.Id, client.FlagReasonPolicyViolation, "a")
		cb := e.modFlag(t, s.custC, ob.Id, client.FlagReasonPolicyViolation, "b")
		cc := e.modFlag(t, s.custC, oc.Id, client.FlagReasonPolicyViolation, "c")
		cust0, owner0 := e.wallet(t, s.custC), e.wallet(t, s.ownerC)

		// platform_goodwill: all from the platform, though the owner could pay.
		rc := e.modResolve(t, supportC, cc.Id, modRefundFrom(80, client.PlatformGoodwill, "Our review missed it."))
		require.Equal(t, int64(80), rc.Resolution.Refunded)
		require.Equal(t, int64(80), rc.Resolution.Goodwill)
		require.Zero(t, rc.Resolution.ClawedBack)
		require.Zero(t, rc.Resolution.FromEscrow)
		require.Equal(t, owner0, e.wallet(t, s.ownerC))
		require.Equal(t, cust0.Balance+80, e.wallet(t, s.custC).Balance)
		require.Equal(t, []modPosting{
			{client.PostingKindHold, modWallet(s.customer.ID), modEscrow(oc.Id), 120},
			{client.PostingKindPayout, modEscrow(oc.Id), modWallet(s.owner.ID), 120},
			{client.PostingKindGoodwillRefund, ledgerdomain.Mint, modWallet(s.customer.ID), 80},
		}, modPostings(e.modGetCase(t, supportC, cc.Id).Postings))

		// The owner spends all but 30 points on an order of their own elsewhere.
		seller := e.manualShop(t)
		conv := e.contact(t, s.ownerC, seller.agent.Id, "A big job.")
		q := e.quoteReq()
		q.Price = owner0.Balance - 30
		e.accept(t, s.ownerC, e.sendQuote(t, seller.agentC, conv.Id, q).Id)
		require.Equal(t, int64(30), e.wallet(t, s.ownerC).Balance)

		// Full refund, owner first: 30 clawed back, 90 goodwill.
		ra := e.modResolve(t, supportC, ca.Id, modRefund(0, "Copied."))
		require.Equal(t, int64(120), ra.Resolution.Refunded)
		require.Equal(t, int64(30), ra.Resolution.ClawedBack)
		require.Equal(t, int64(90), ra.Resolution.Goodwill)
		require.Zero(t, e.wallet(t, s.ownerC).Balance)
		require.Equal(t, cust0.Balance+200, e.wallet(t, s.custC).Balance)
		require.Equal(t, []modPosting{
			{client.PostingKindHold, modWallet(s.customer.ID), modEscrow(oa.Id), 120},
			{client.PostingKindPayout, modEscrow(oa.Id), modWallet(s.owner.ID), 120},
			{client.PostingKindClawbackRefund, modWallet(s.owner.ID), modWallet(s.customer.ID), 30},
			{client.PostingKindGoodwillRefund, ledgerdomain.Mint, modWallet(s.customer.ID), 90},
		}, modPostings(e.modGetCase(t, supportC, ca.Id).Postings))

		// An owner with nothing left: the platform covers it all.
		rb := e.modResolve(t, supportC, cb.Id, modRefund(0, "Copied too."))
		require.Equal(t, int64(120), rb.Resolution.Refunded)
		require.Zero(t, rb.Resolution.ClawedBack)
		require.Equal(t, int64(120), rb.Resolution.Goodwill)
		require.Zero(t, e.wallet(t, s.ownerC).Balance)
		require.Equal(t, cust0.Balance+320, e.wallet(t, s.custC).Balance)
		for _, o := range []client.Order{oa, ob, oc} {
			require.Equal(t, client.OrderStatusRefunded, e.orderStatus(t, s.custC, o.Id))
		}
		e.requireLedgerOK(t)
	})
}

// A refund above the price, and other bad resolutions, change nothing.
func TestModerationBadResolutionsChangeNothing(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		paid := e.completedOrder(t, s)
		o := e.modOrder(t, s)
		support, _ := e.modSupport(t)
		supportC := e.withCookie(t, support.Session)
		c := e.modFlag(t, s.custC, o.Id, client.FlagReasonMissedDeadline, "")
		cp := e.modFlag(t, s.custC, paid.Id, client.FlagReasonPolicyViolation, "")

		before := e.modState(t)
		for _, id := range []string{c.Id, cp.Id} {
			r := e.modResolveResp(t, supportC, id, modRefund(121, "More than the price"))
			p := requireProblem(t, r.HTTPResponse, r.Body, http.StatusBadRequest, "validation")
			require.Equal(t, []string{"refund_amount"}, fieldNames(p))
		}
		bad := []struct{ name, body, field string }{
			{"a zero refund", `{"action":"refund","refund_amount":0,"note":"n"}`, "refund_amount"},
			{"a negative refund", `{"action":"refund","refund_amount":-5,"note":"n"}`, "refund_amount"},
			{"an unknown source", `{"action":"refund","refund_source":"the_agent","note":"n"}`, "refund_source"},
			{"an unknown action", `{"action":"escalate","note":"n"}`, "action"},
			{"no note", `{"action":"dismiss"}`, "note"},
			{"an empty note", `{"action":"dismiss","note":""}`, "note"},
			{"a blank note", `{"action":"dismiss","note":"   "}`, "note"},
			{"a note over 2000 characters", `{"action":"dismiss","note":"` + strings.Repeat("n", 2001) + `"}`, "note"},
			{"a dismissal with an amount", `{"action":"dismiss","refund_amount":10,"note":"n"}`, "refund_amount"},
			{"a dismissal with a source", `{"action":"dismiss","refund_source":"platform_goodwill","note":"n"}`, "refund_source"},
			{"an unknown field", `{"action":"dismiss","note":"n","ban":true}`, "ban"},
		}
		for _, b := range bad {
			resp, body := e.modRawResolve(t, support.Session, c.Id, b.body)
			p := requireProblem(t, resp, body, http.StatusBadRequest, "validation")
			require.Contains(t, fieldNames(p), b.field, "%s: %s", b.name, body)
		}
		// Without an Idempotency-Key.
		h := cookieHeader(support.Session)
		h.Set("Content-Type", "application/json")
		resp, body := e.do(t, http.MethodPost, "/v1/cases/"+c.Id+"/resolve", strings.NewReader(`{"action":"dismiss","note":"n"}`), h)
		requireProblem(t, resp, body, http.StatusBadRequest, "validation")
		// An unknown case.
		r := e.modResolveResp(t, supportC, uuid.NewString(), modDismiss("n"))
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusNotFound, "not-found")
		e.modRequireUnchanged(t, before, "a bad resolution")
		for _, id := range []string{o.Id, paid.Id} {
			require.Equal(t, client.OrderStatusDisputed, e.orderStatus(t, s.custC, id))
		}

		// The whole price is allowed, before and after payout.
		require.Equal(t, int64(120), e.modResolve(t, supportC, c.Id, modRefund(120, "All of it")).Resolution.FromEscrow)
		require.Equal(t, int64(120), e.modResolve(t, supportC, cp.Id, modRefund(120, "All of it")).Resolution.ClawedBack)
		e.requireLedgerOK(t)
	})
}

// --- 3. dismissals ------------------------------------------------------------------

// A dismissed flag sends the order back where it was, its deadline moved
// by exactly the time it spent disputed.
func TestModerationDismissResumesInProgress(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s, o := e.startedOrder(t)
		_, supportC := e.modSupport(t)
		deadline := *o.Deadline
		cust0, owner0 := e.wallet(t, s.custC), e.wallet(t, s.ownerC)

		e.clock.Advance(5 * time.Hour)
		c := e.modFlag(t, s.custC, o.Id, client.FlagReasonOffScope, "The agent asks for things outside the quote.")
		_, cursor := e.drain(t, s.agentC, "")

		// Disputed, the order's clock stands still: past its deadline it is not late.
		e.clock.Advance(80 * time.Hour)
		e.runTimers(t)
		got := e.getOrder(t, s.custC, o.Id)
		require.Equal(t, client.OrderStatusDisputed, got.Status)
		require.False(t, got.Late)
		custC, ownerC := s.custC, s.ownerC

		res := e.modResolve(t, supportC, c.Id, modDismiss("The requests were within scope."))
		require.Equal(t, client.CaseResolutionActionDismiss, res.Resolution.Action)
		require.Zero(t, res.Resolution.Refunded)
		require.Zero(t, res.Resolution.FromEscrow)
		got = e.getOrder(t, custC, o.Id)
		require.Equal(t, client.OrderStatusInProgress, got.Status)
		require.Nil(t, got.DisputedAt)
		require.Nil(t, got.RefundedPoints)
		require.False(t, got.Late)
		modSameTime(t, deadline.Add(80*time.Hour), got.Deadline, "the deadline moved by the time disputed")
		require.Equal(t, cust0, e.wallet(t, custC), "still in escrow")
		require.Equal(t, owner0, e.wallet(t, ownerC))

		page := e.poll(t, s.agentC, cursor, 0)
		require.Equal(t, []string{"order.resumed"}, eventTypes(page.Items))
		require.Equal(t, "in_progress", page.Items[0].Data["status"])
		require.Equal(t, got.Deadline.UTC().Format(time.RFC3339), page.Items[0].Data["deadline"])
		require.Equal(t, "The requests were within scope.", page.Items[0].Data["note"])
		require.Equal(t, 1, e.notificationsOf(t, custC, "ordering.dispute_dismissed"))
		require.Equal(t, 1, e.notificationsOf(t, ownerC, "ordering.dispute_dismissed"))

		// The clock runs again from there: the 67 hours left when it was flagged.
		e.clock.Advance(67*time.Hour - time.Minute)
		e.runTimers(t)
		require.False(t, e.getOrder(t, custC, o.Id).Late)
		e.clock.Advance(2 * time.Minute)
		e.runTimers(t)
		require.True(t, e.getOrder(t, custC, o.Id).Late)

		// The customer may flag it again (a new case).
		c2 := e.modFlag(t, custC, o.Id, client.FlagReasonMissedDeadline, "Now it is really late.")
		require.NotEqual(t, c.Id, c2.Id)
		e.requireLedgerOK(t)
	})
}

// A delivered order's review window, and an order in the owner's review's
// deadline, move by the time disputed too.
func TestModerationDismissResumesDeliveredAndInReview(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		_, supportC := e.modSupport(t)
		delivered := e.modDelivered(t, s)
		windowEnd := *delivered.ReviewWindowEndsAt
		inReview := e.modOrder(t, s)
		inReviewDelivery := e.deliver(t, s.agentC, inReview.Id, "For review.", upload{"a.md", []byte("# A\n")})
		reviewDeadline := *e.getOrder(t, s.ownerC, inReview.Id).Deadline
		owner0 := e.wallet(t, s.ownerC)

		e.clock.Advance(10 * time.Hour)
		cd := e.modFlag(t, s.custC, delivered.Id, client.FlagReasonOffScope, "Not what we agreed.")
		ci := e.modFlag(t, s.custC, inReview.Id, client.FlagReasonMissedDeadline, "Slow.")
		rel, err := s.ownerC.ReleaseDeliveryWithResponse(context.Background(), inReviewDelivery.Id)
		require.NoError(t, err)
		requireProblem(t, rel.HTTPResponse, rel.Body, http.StatusConflict, "order-not-in-review")
		rej, err := s.ownerC.RejectDeliveryWithResponse(context.Background(), inReviewDelivery.Id, client.RejectDeliveryRequest{Note: "No."})
		require.NoError(t, err)
		requireProblem(t, rej.HTTPResponse, rej.Body, http.StatusConflict, "order-not-in-review")
		rev, err := s.custC.RequestRevisionWithResponse(context.Background(), delivered.Id, client.RevisionRequest{Notes: "x", UnmetCriteria: []string{"tests pass"}})
		require.NoError(t, err)
		requireProblem(t, rev.HTTPResponse, rev.Body, http.StatusConflict, "order-not-delivered")
		// The review window runs out while disputed: nothing completes, nothing is paid.
		e.clock.Advance(100 * time.Hour)
		e.runTimers(t)
		cust, owner := s.custC, s.ownerC
		require.Equal(t, client.OrderStatusDisputed, e.orderStatus(t, cust, delivered.Id))
		require.Empty(t, e.allPostings(t, cust, ptrTo(client.PostingKindPayout), &delivered.Id))

		e.modResolve(t, supportC, cd.Id, modDismiss("It matches the quote."))
		e.modResolve(t, supportC, ci.Id, modDismiss("Still within its time."))
		got := e.getOrder(t, cust, delivered.Id)
		require.Equal(t, client.OrderStatusDelivered, got.Status)
		modSameTime(t, windowEnd.Add(100*time.Hour), got.ReviewWindowEndsAt, "the review window moved by the time disputed")
		gotReview := e.getOrder(t, owner, inReview.Id)
		require.Equal(t, client.OrderStatusInReview, gotReview.Status)
		modSameTime(t, reviewDeadline.Add(100*time.Hour), gotReview.Deadline, "the deadline moved by the time disputed")

		// The window then runs its remaining time: it completes and is paid once.
		e.clock.Advance(got.ReviewWindowEndsAt.Sub(e.clock.Now()) - time.Minute)
		e.runTimers(t)
		require.Equal(t, client.OrderStatusDelivered, e.orderStatus(t, cust, delivered.Id))
		e.clock.Advance(2 * time.Minute)
		e.runTimers(t)
		require.Equal(t, client.OrderStatusCompleted, e.orderStatus(t, cust, delivered.Id))
		require.Len(t, e.allPostings(t, owner, ptrTo(client.PostingKindPayout), &delivered.Id), 1)
		require.Equal(t, owner0.Balance+120, e.wallet(t, owner).Balance)
		e.requireLedgerOK(t)
	})
}

// A completed order flagged before its payout job ran is not paid while
// disputed; dismissed, it is paid, once.
func TestModerationDismissCompletedBeforePayoutPaysOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		o := e.modDelivered(t, s)
		_, supportC := e.modSupport(t)
		owner0 := e.wallet(t, s.ownerC)

		restart := e.modStopWorkers(t)
		acc, err := s.custC.AcceptDeliveryWithResponse(ctx, o.Id, &client.AcceptDeliveryParams{IdempotencyKey: uuid.NewString()})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, acc.StatusCode(), "acceptDelivery: %s", acc.Body)
		require.Equal(t, client.OrderStatusCompleted, acc.JSON200.Status)
		c := e.modFlag(t, s.custC, o.Id, client.FlagReasonPolicyViolation, "The report contains someone else's secrets.")
		require.Equal(t, 1, e.modJobs(t, "ordering.payout"), "the completion's payout job, not run yet")
		restart()

		// The payout job runs now and finds the order disputed: nothing paid.
		e.waitJobsDone(t)
		require.Equal(t, 1, e.modJobs(t, "ordering.payout", "completed"), "the payout job ran")
		require.Equal(t, client.OrderStatusDisputed, e.orderStatus(t, s.custC, o.Id))
		require.Empty(t, e.allPostings(t, s.ownerC, ptrTo(client.PostingKindPayout), &o.Id))
		require.Equal(t, owner0, e.wallet(t, s.ownerC))
		require.Equal(t, int64(120), e.wallet(t, s.custC).Held)
		require.False(t, e.modGetCase(t, supportC, c.Id).PaidOut)

		e.clock.Advance(2 * time.Hour)
		e.modResolve(t, supportC, c.Id, modDismiss("The secrets were the customer's own."))
		require.Equal(t, client.OrderStatusCompleted, e.orderStatus(t, s.custC, o.Id))
		e.waitJobsDone(t)
		require.Equal(t, 2, e.modJobs(t, "ordering.payout", "completed"), "the dismissal enqueued the payout again")
		require.Len(t, e.allPostings(t, s.ownerC, ptrTo(client.PostingKindPayout), &o.Id), 1)
		require.Equal(t, owner0.Balance+120, e.wallet(t, s.ownerC).Balance)
		require.Zero(t, e.wallet(t, s.custC).Held)
		require.True(t, e.modGetCase(t, supportC, c.Id).PaidOut)

		// The payout job again pays nothing; the completion counted once.
		e.enqueue(t, orderingPayout(o.Id))
		e.waitJobsDone(t)
		require.Len(t, e.allPostings(t, s.ownerC, ptrTo(client.PostingKindPayout), &o.Id), 1)
		require.Equal(t, owner0.Balance+120, e.wallet(t, s.ownerC).Balance)
		require.EqualValues(t, 1, e.getAgent(t, s.agent.Id).JSON200.CompletedOrders)
		e.requireLedgerOK(t)
	})
}

// A completed order flagged before its payout ran and then refunded in
// part: the escrow is split, and the stale payout job pays nothing.
func TestModerationRefundCompletedBeforePayout(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		o := e.modDelivered(t, s)
		_, supportC := e.modSupport(t)
		cust0, owner0 := e.wallet(t, s.custC), e.wallet(t, s.ownerC)

		restart := e.modStopWorkers(t)
		acc, err := s.custC.AcceptDeliveryWithResponse(context.Background(), o.Id, &client.AcceptDeliveryParams{IdempotencyKey: uuid.NewString()})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, acc.StatusCode(), "acceptDelivery: %s", acc.Body)
		c := e.modFlag(t, s.custC, o.Id, client.FlagReasonPolicyViolation, "Leaked credentials in the report.")
		restart()
		e.waitJobsDone(t)
		require.Equal(t, 1, e.modJobs(t, "ordering.payout", "completed"))

		res := e.modResolve(t, supportC, c.Id, modRefund(30, "The leak was minor."))
		require.Equal(t, int64(30), res.Resolution.FromEscrow)
		require.Equal(t, int64(90), res.Resolution.ToOwner)
		require.Zero(t, res.Resolution.ClawedBack)
		require.Zero(t, res.Resolution.Goodwill)
		require.Equal(t, client.OrderStatusRefunded, e.orderStatus(t, s.custC, o.Id))
		require.Equal(t, cust0.Balance+30, e.wallet(t, s.custC).Balance)
		require.Zero(t, e.wallet(t, s.custC).Held)
		require.Equal(t, owner0.Balance+90, e.wallet(t, s.ownerC).Balance)

		e.enqueue(t, orderingPayout(o.Id))
		e.waitJobsDone(t)
		require.Equal(t, owner0.Balance+90, e.wallet(t, s.ownerC).Balance)
		require.Equal(t, []modPosting{
			{client.PostingKindHold, modWallet(s.customer.ID), modEscrow(o.Id), 120},
			{client.PostingKindRefund, modEscrow(o.Id), modWallet(s.customer.ID), 30},
			{client.PostingKindPayout, modEscrow(o.Id), modWallet(s.owner.ID), 90},
		}, modPostings(e.modGetCase(t, supportC, c.Id).Postings))
		e.requireLedgerOK(t)
	})
}

// --- 4. concurrency ------------------------------------------------------------------

func TestModerationConcurrentResolutions(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s, o := e.startedOrder(t)
		support, supportC := e.modSupport(t)
		c := e.modFlag(t, s.custC, o.Id, client.FlagReasonMissedDeadline, "")
		cust0 := e.wallet(t, s.custC)

		const n = 4
		type result struct {
			status int
			body   []byte
			resp   *http.Response
			key    string
			err    error
		}
		results := make([]result, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			key := uuid.NewString()
			wg.Go(func() {
				<-start
				resp, err := supportC.ResolveCaseWithResponse(context.Background(), c.Id,
					&client.ResolveCaseParams{IdempotencyKey: key}, modRefund(0, "Refund in full."))
				results[i] = result{err: err, key: key}
				if err == nil {
					results[i].status, results[i].body, results[i].resp = resp.StatusCode(), resp.Body, resp.HTTPResponse
				}
			})
		}
		close(start)
		wg.Wait()

		var winner *result
		for i := range results {
			r := &results[i]
			require.NoError(t, r.err)
			if r.status == http.StatusOK {
				require.Nil(t, winner, "two resolutions won")
				winner = r
				continue
			}
			requireProblem(t, r.resp, r.body, http.StatusConflict, "case-resolved")
		}
		require.NotNil(t, winner, "no resolution won")

		// The ledger moved once.
		require.Equal(t, cust0.Balance+120, e.wallet(t, s.custC).Balance)
		require.Len(t, e.allPostings(t, s.custC, ptrTo(client.PostingKindRefund), &o.Id), 1)
		require.Len(t, e.modAudit(t, supportC, client.ListAuditEventsParams{Target: ptrTo("case:" + c.Id)}), 1)
		var won client.Case
		require.NoError(t, json.Unmarshal(winner.body, &won))
		require.Equal(t, "user:"+support.ID, won.Resolution.ResolvedBy)

		// The winner's key replays its answer and moves nothing.
		before := e.modState(t)
		again := e.modResolveKey(t, supportC, c.Id, winner.key, modRefund(0, "Refund in full."))
		require.Equal(t, http.StatusOK, again.StatusCode(), "%s", again.Body)
		require.JSONEq(t, string(winner.body), string(again.Body))
		e.modRequireUnchanged(t, before, "a replayed resolution")
		e.requireLedgerOK(t)
	})
}

// --- 5. the case file and the queue ------------------------------------------------

func TestModerationCaseFile(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		support, supportC := e.modSupport(t)

		// An order that went late, flagged and refunded: the agent's record.
		late := e.modOrder(t, s)
		e.clock.Advance(3*24*time.Hour + time.Minute)
		e.runTimers(t)
		require.True(t, e.getOrder(t, s.custC, late.Id).Late)
		c1 := e.modFlag(t, s.custC, late.Id, client.FlagReasonMissedDeadline, "Late.")
		e.modResolve(t, supportC, c1.Id, modRefund(0, "Late, never delivered."))

		// The order the case is about: a conversation and a delivery in the owner's review.
		conv := e.contact(t, s.custC, s.agent.Id, "Please convert the CSV.")
		e.post(t, s.agentC, conv.Id, "On it.")
		o := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
		content := []byte("# The report\n")
		d := e.deliver(t, s.agentC, o.Id, "Here it is.", upload{"report.md", content})
		file := d.Files[0].Id
		notFound := problemBody(t, e.download(t, s.ownerC, kernel.NewID(), nil).Body)
		r := e.download(t, supportC, file, nil)
		requireFileNotFound(t, r.HTTPResponse, r.Body, notFound, "support before the flag")

		c2 := e.modFlag(t, s.custC, o.Id, client.FlagReasonOffScope, "Not what I asked for.")
		detail := e.modGetCase(t, supportC, c2.Id)
		require.Equal(t, c2, detail.Case)

		// The order with every delivery, the one in review too.
		require.NotNil(t, detail.Order)
		require.Equal(t, o.Id, detail.Order.Id)
		require.Equal(t, client.OrderStatusDisputed, detail.Order.Status)
		require.Len(t, detail.Order.Deliveries, 1)
		require.Equal(t, d.Id, detail.Order.Deliveries[0].Id)
		require.Equal(t, client.DeliveryStatusInReview, detail.Order.Deliveries[0].Status)
		require.Equal(t, file, detail.Order.Deliveries[0].Files[0].Id)

		// The conversation, oldest first, with the flag's system message last.
		msgs := detail.Messages
		require.GreaterOrEqual(t, len(msgs), 4)
		require.Equal(t, "Please convert the CSV.", msgs[0].Body)
		require.Equal(t, client.AuthorKindCustomer, msgs[0].AuthorKind)
		require.Equal(t, "On it.", msgs[1].Body)
		require.NotNil(t, msgs[2].QuoteId, "the quote's message")
		require.Equal(t, client.AuthorKindSystem, msgs[len(msgs)-1].AuthorKind)
		require.Contains(t, msgs[len(msgs)-1].Body, "flagged order "+o.Id)
		for i := 1; i < len(msgs); i++ {
			require.False(t, msgs[i].CreatedAt.Before(msgs[i-1].CreatedAt), "oldest first")
		}

		// The postings, the agent's record and its earlier cases.
		require.Equal(t, []modPosting{{client.PostingKindHold, modWallet(s.customer.ID), modEscrow(o.Id), 120}}, modPostings(detail.Postings))
		require.False(t, detail.PaidOut)
		require.NotNil(t, detail.Agent)
		require.Equal(t, client.CaseAgent{Id: s.agent.Id, Handle: s.agent.Handle, Name: s.agent.Name, Status: client.Active,
			OwnerId: s.owner.ID, MissedDeadlines: 1, MissedDeadlines30d: 1, CompletedOrders: 0}, *detail.Agent)
		require.Equal(t, []string{c1.Id}, modCaseIDs(detail.EarlierCases))
		require.Equal(t, client.CaseStatusResolved, detail.EarlierCases[0].Status)
		require.Equal(t, []string{c2.Id}, modCaseIDs(e.modGetCase(t, supportC, c1.Id).EarlierCases))

		// Support reads the delivered file of the disputed order.
		r = e.download(t, supportC, file, nil)
		requireDownload(t, r.HTTPResponse, r.Body, "report.md", content)

		// An unknown case.
		resp, err := supportC.GetCaseWithResponse(ctx, uuid.NewString())
		require.NoError(t, err)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusNotFound, "not-found")

		// Once settled, the file is the parties' again.
		e.modResolve(t, supportC, c2.Id, modRefund(0, "Off scope."))
		r = e.download(t, supportC, file, nil)
		requireFileNotFound(t, r.HTTPResponse, r.Body, notFound, "support after the refund")

		// The missed deadline leaves the 30-day count, not the all-time one.
		e.clock.Advance(30 * 24 * time.Hour)
		supportC = e.modSignIn(t, support)
		agent := e.modGetCase(t, supportC, c2.Id).Agent
		require.Zero(t, agent.MissedDeadlines30d)
		require.EqualValues(t, 1, agent.MissedDeadlines)
		e.requireLedgerOK(t)
	})
}

func TestModerationListCases(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		support, supportC := e.modSupport(t)
		reasons := []client.FlagReason{client.FlagReasonMissedDeadline, client.FlagReasonOffScope, client.FlagReasonOther,
			client.FlagReasonOffScope, client.FlagReasonPolicyViolation}
		// Case i is opened i hours after the first; each on an order of its own.
		var ids []string
		for _, reason := range reasons {
			o := e.modOrder(t, s)
			ids = append(ids, e.modFlag(t, s.custC, o.Id, reason, "").Id)
			e.clock.Advance(time.Hour)
		}
		e.modResolve(t, supportC, ids[1], modDismiss("Within scope."))
		e.modResolve(t, supportC, ids[4], modRefund(10, "A little."))
		list := func(p client.ListCasesParams) []string { return modCaseIDs(e.modCases(t, supportC, p).Items) }

		require.Equal(t, ids, list(client.ListCasesParams{}), "oldest first")
		require.Equal(t, []string{ids[0], ids[2], ids[3]}, list(client.ListCasesParams{Status: ptrTo(client.CaseStatusOpen)}))
		require.Equal(t, []string{ids[1], ids[4]}, list(client.ListCasesParams{Status: ptrTo(client.CaseStatusResolved)}))
		require.Equal(t, []string{ids[1], ids[3]}, list(client.ListCasesParams{Reason: ptrTo(client.CaseReasonOffScope)}))
		require.Equal(t, []string{ids[3]}, list(client.ListCasesParams{Reason: ptrTo(client.CaseReasonOffScope), Status: ptrTo(client.CaseStatusOpen)}))
		require.Empty(t, list(client.ListCasesParams{Reason: ptrTo(client.CaseReasonReviewStalled)}))
		// Now is 5 hours after the first: at least 3 hours old are the first three.
		require.Equal(t, ids[:3], list(client.ListCasesParams{MinAgeHours: ptrTo(3)}))
		require.Equal(t, ids, list(client.ListCasesParams{MinAgeHours: ptrTo(0)}))
		require.Equal(t, ids[:1], list(client.ListCasesParams{MinAgeHours: ptrTo(5)}))
		require.Empty(t, list(client.ListCasesParams{MinAgeHours: ptrTo(6)}))
		require.Equal(t, []string{ids[0], ids[2]}, list(client.ListCasesParams{MinAgeHours: ptrTo(3), Status: ptrTo(client.CaseStatusOpen)}))

		// Pages: each case once, in order, whatever the page size.
		for _, limit := range []int{1, 2, 5} {
			got := pageThrough(t, limit, func(cursor *string) ([]string, *string) {
				page := e.modCases(t, supportC, client.ListCasesParams{Cursor: cursor, Limit: ptrTo(limit)})
				return modCaseIDs(page.Items), page.NextCursor
			})
			require.Equal(t, ids, got, "limit %d", limit)
		}
		got := pageThrough(t, 2, func(cursor *string) ([]string, *string) {
			page := e.modCases(t, supportC, client.ListCasesParams{Cursor: cursor, Limit: ptrTo(2), Status: ptrTo(client.CaseStatusOpen)})
			return modCaseIDs(page.Items), page.NextCursor
		})
		require.Equal(t, []string{ids[0], ids[2], ids[3]}, got)

		// Bad filters are refused.
		for _, q := range []string{"status=closed", "reason=rudeness", "min_age_hours=-1", "min_age_hours=9000", "cursor=not-a-cursor", "limit=0"} {
			resp, body := e.do(t, http.MethodGet, "/v1/cases?"+q, nil, cookieHeader(support.Session))
			requireProblem(t, resp, body, http.StatusBadRequest, "validation")
		}

		// Each resolved case carries its resolution in the list too.
		for _, c := range e.modCases(t, supportC, client.ListCasesParams{Status: ptrTo(client.CaseStatusResolved)}).Items {
			require.NotNil(t, c.Resolution)
			require.NotNil(t, c.ResolvedAt)
		}
		e.requireLedgerOK(t)
	})
}

// --- 6. the audit log ------------------------------------------------------------------

func TestModerationResolutionsAudited(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		o1, o2 := e.modOrder(t, s), e.modOrder(t, s)
		support, supportC := e.modSupport(t)
		c1 := e.modFlag(t, s.custC, o1.Id, client.FlagReasonOffScope, "")
		c2 := e.modFlag(t, s.custC, o2.Id, client.FlagReasonOther, "")
		require.Empty(t, e.modAudit(t, supportC, client.ListAuditEventsParams{Target: ptrTo("case:" + c1.Id)}), "a flag is not a support action")

		e.clock.Advance(time.Hour)
		refundAt := e.clock.Now()
		e.modResolve(t, supportC, c1.Id, modRefund(40, "A third of the work was missing."))
		e.clock.Advance(time.Hour)
		dismissAt := e.clock.Now()
		e.modResolve(t, supportC, c2.Id, modDismiss("The agent was within its time."))

		a1 := e.modAudit(t, supportC, client.ListAuditEventsParams{Target: ptrTo("case:" + c1.Id)})
		require.Len(t, a1, 1)
		require.Equal(t, "moderation.case_refunded", a1[0].Action)
		require.Equal(t, "user:"+support.ID, a1[0].Actor)
		require.Equal(t, "case:"+c1.Id, a1[0].Target)
		require.Contains(t, a1[0].Reason, "refunded 40")
		require.Contains(t, a1[0].Reason, "A third of the work was missing.")
		modSameTime(t, refundAt, &a1[0].At, "the refund's entry")
		a2 := e.modAudit(t, supportC, client.ListAuditEventsParams{Target: ptrTo("case:" + c2.Id)})
		require.Len(t, a2, 1)
		require.Equal(t, "moderation.case_dismissed", a2[0].Action)
		require.Equal(t, "user:"+support.ID, a2[0].Actor)
		require.Equal(t, "The agent was within its time.", a2[0].Reason)
		modSameTime(t, dismissAt, &a2[0].At, "the dismissal's entry")
		require.Equal(t, a1[0].Seq+1, a2[0].Seq)

		// By actor, newest first.
		byActor := e.modAudit(t, supportC, client.ListAuditEventsParams{Actor: ptrTo("user:" + support.ID)})
		require.Len(t, byActor, 2)
		require.Equal(t, a2[0], byActor[0])
		require.Equal(t, a1[0], byActor[1])

		// A refused resolution is not audited.
		r := e.modResolveResp(t, supportC, c1.Id, modDismiss("Again."))
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusConflict, "case-resolved")
		require.Len(t, e.modAudit(t, supportC, client.ListAuditEventsParams{Target: ptrTo("case:" + c1.Id)}), 1)

		// The chain still verifies.
		v, err := e.app.moderation.Verify(context.Background())
		require.NoError(t, err)
		require.Zero(t, v.FirstBad)
		require.Positive(t, v.Entries)
		e.requireLedgerOK(t)
	})
}
