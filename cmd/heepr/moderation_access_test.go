package main

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/api/client"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/moderation"
	"github.com/heepr/heepr/modules/ordering"
)

// Trust and safety through HTTP (issue 7), the support side: who may call
// support's operations, suspending and reinstating agents and users, the
// automatic signals that open cases, and the failed-jobs list.

// --- helpers ---------------------------------------------------------------

// suspState is every row count and state a moderation request can change,
// with ordering's and the ledger's: a refused request leaves it as it was.
type suspState struct {
	Ordering orderingState
	Counts   map[string]int
	Agents   []idRow
	Users    []idRow
	Cases    []idRow
	Requests []idRow
}

func (e *env) suspState(t *testing.T) suspState {
	t.Helper()
	ctx := context.Background()
	db := e.app.db.Bun
	s := suspState{Ordering: e.orderingState(t), Counts: map[string]int{}}
	for _, table := range []string{"moderation_cases", "reinstatement_requests", "audit_events", "personal_tokens", "reviews"} {
		s.Counts[table] = e.count(t, table)
	}
	require.NoError(t, db.NewSelect().Table("agents").ColumnExpr("id, status AS state").OrderExpr("id").Scan(ctx, &s.Agents))
	require.NoError(t, db.NewSelect().Table("users").
		ColumnExpr("id, CASE WHEN suspended_at IS NULL THEN 'ok' ELSE 'suspended' END AS state").OrderExpr("id").Scan(ctx, &s.Users))
	require.NoError(t, db.NewSelect().Table("moderation_cases").ColumnExpr("id, status AS state").OrderExpr("id").Scan(ctx, &s.Cases))
	require.NoError(t, db.NewSelect().Table("reinstatement_requests").ColumnExpr("id, status AS state").OrderExpr("id").Scan(ctx, &s.Requests))
	return s
}

func (e *env) suspRequireUnchanged(t *testing.T, before suspState, msg string) {
	t.Helper()
	require.Equal(t, before, e.suspState(t), "%s changed something", msg)
}

// suspCall is one operation called as a client: the raw answer.
type suspCall func(c *client.ClientWithResponses) (*http.Response, []byte)

type suspOp struct {
	name string
	call suspCall
}

// suspIDs are the real objects the support operations are called on.
type suspIDs struct {
	agent, user, caseID, request string
}

// suspSupportOps is every support-only operation of issue 7 (and the
// audit log), called on real objects with valid bodies, so that only
// the caller decides the answer.
func suspSupportOps(t *testing.T, ids suspIDs) []suspOp {
	ctx := context.Background()
	check := func(err error) { t.Helper(); require.NoError(t, err) }
	return []suspOp{
		{"listCases", func(c *client.ClientWithResponses) (*http.Response, []byte) {
			r, err := c.ListCasesWithResponse(ctx, &client.ListCasesParams{})
			check(err)
			return r.HTTPResponse, r.Body
		}},
		{"getCase", func(c *client.ClientWithResponses) (*http.Response, []byte) {
			r, err := c.GetCaseWithResponse(ctx, ids.caseID)
			check(err)
			return r.HTTPResponse, r.Body
		}},
		{"resolveCase", func(c *client.ClientWithResponses) (*http.Response, []byte) {
			r, err := c.ResolveCaseWithResponse(ctx, ids.caseID, &client.ResolveCaseParams{IdempotencyKey: uuid.NewString()},
				client.ResolveCaseRequest{Action: client.ResolveCaseRequestActionDismiss, Note: "Nothing wrong."})
			check(err)
			return r.HTTPResponse, r.Body
		}},
		{"suspendAgent", func(c *client.ClientWithResponses) (*http.Response, []byte) {
			r, err := c.SuspendAgentWithResponse(ctx, ids.agent, client.SuspendAgentRequest{Reason: "Off-scope deliveries."})
			check(err)
			return r.HTTPResponse, r.Body
		}},
		{"reinstateAgent", func(c *client.ClientWithResponses) (*http.Response, []byte) {
			r, err := c.ReinstateAgentWithResponse(ctx, ids.agent, client.ModerationReason{Reason: "Fixed."})
			check(err)
			return r.HTTPResponse, r.Body
		}},
		{"listReinstatementRequests", func(c *client.ClientWithResponses) (*http.Response, []byte) {
			r, err := c.ListReinstatementRequestsWithResponse(ctx, &client.ListReinstatementRequestsParams{})
			check(err)
			return r.HTTPResponse, r.Body
		}},
		{"declineReinstatement", func(c *client.ClientWithResponses) (*http.Response, []byte) {
			r, err := c.DeclineReinstatementWithResponse(ctx, ids.request, client.ModerationReason{Reason: "Not yet."})
			check(err)
			return r.HTTPResponse, r.Body
		}},
		{"suspendUser", func(c *client.ClientWithResponses) (*http.Response, []byte) {
			r, err := c.SuspendUserWithResponse(ctx, ids.user, client.ModerationReason{Reason: "Fake reviews."})
			check(err)
			return r.HTTPResponse, r.Body
		}},
		{"reinstateUser", func(c *client.ClientWithResponses) (*http.Response, []byte) {
			r, err := c.ReinstateUserWithResponse(ctx, ids.user, client.ModerationReason{Reason: "Cleared."})
			check(err)
			return r.HTTPResponse, r.Body
		}},
		{"listFailedJobs", func(c *client.ClientWithResponses) (*http.Response, []byte) {
			r, err := c.ListFailedJobsWithResponse(ctx, &client.ListFailedJobsParams{})
			check(err)
			return r.HTTPResponse, r.Body
		}},
		{"listAuditEvents", func(c *client.ClientWithResponses) (*http.Response, []byte) {
			r, err := c.ListAuditEventsWithResponse(ctx, &client.ListAuditEventsParams{})
			check(err)
			return r.HTTPResponse, r.Body
		}},
	}
}

// suspRequestReinstatement calls requestReinstatement.
func (e *env) suspRequestReinstatement(t *testing.T, c *client.ClientWithResponses, agent, message string) *client.RequestReinstatementResponse {
	t.Helper()
	resp, err := c.RequestReinstatementWithResponse(context.Background(), agent, client.ReinstatementRequestBody{Message: message})
	require.NoError(t, err)
	return resp
}

// suspSuspendAgent suspends an agent as support and requires 200.
func (e *env) suspSuspendAgent(t *testing.T, c *client.ClientWithResponses, agent string, req client.SuspendAgentRequest) client.OwnerAgent {
	t.Helper()
	resp, err := c.SuspendAgentWithResponse(context.Background(), agent, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "suspendAgent: %s", resp.Body)
	return *resp.JSON200
}

// suspReinstateAgent reinstates an agent as support and requires 200.
func (e *env) suspReinstateAgent(t *testing.T, c *client.ClientWithResponses, agent, reason string) client.OwnerAgent {
	t.Helper()
	resp, err := c.ReinstateAgentWithResponse(context.Background(), agent, client.ModerationReason{Reason: reason})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "reinstateAgent: %s", resp.Body)
	return *resp.JSON200
}

// suspSetUser suspends (on) or reinstates a user as support and requires 200.
func (e *env) suspSetUser(t *testing.T, c *client.ClientWithResponses, user string, on bool, reason string) client.AccountStanding {
	t.Helper()
	var (
		resp interface{ StatusCode() int }
		body []byte
		out  *client.AccountStanding
	)
	if on {
		r, err := c.SuspendUserWithResponse(context.Background(), user, client.ModerationReason{Reason: reason})
		require.NoError(t, err)
		resp, body, out = r, r.Body, r.JSON200
	} else {
		r, err := c.ReinstateUserWithResponse(context.Background(), user, client.ModerationReason{Reason: reason})
		require.NoError(t, err)
		resp, body, out = r, r.Body, r.JSON200
	}
	require.Equal(t, http.StatusOK, resp.StatusCode(), "suspendUser/reinstateUser: %s", body)
	return *out
}

// suspRequests lists reinstatement requests (one page of 100) as support.
func (e *env) suspRequests(t *testing.T, c *client.ClientWithResponses, status *client.ReinstatementStatus) []client.ReinstatementRequest {
	t.Helper()
	resp, err := c.ListReinstatementRequestsWithResponse(context.Background(), &client.ListReinstatementRequestsParams{Status: status, Limit: ptrTo(100)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listReinstatementRequests: %s", resp.Body)
	require.Nil(t, resp.JSON200.NextCursor)
	return resp.JSON200.Items
}

// suspCases lists the cases with a reason (one page of 100) as support.
func (e *env) suspCases(t *testing.T, c *client.ClientWithResponses, reason client.CaseReason) []client.Case {
	t.Helper()
	resp, err := c.ListCasesWithResponse(context.Background(), &client.ListCasesParams{Reason: &reason, Limit: ptrTo(100)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listCases: %s", resp.Body)
	require.Nil(t, resp.JSON200.NextCursor)
	return resp.JSON200.Items
}

// suspAudit lists the audit entries about a target, newest first.
func (e *env) suspAudit(t *testing.T, c *client.ClientWithResponses, target string) []client.AuditEvent {
	t.Helper()
	resp, err := c.ListAuditEventsWithResponse(context.Background(), &client.ListAuditEventsParams{Target: &target, Limit: ptrTo(100)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listAuditEvents: %s", resp.Body)
	return resp.JSON200.Items
}

func suspActions(es []client.AuditEvent) []string {
	out := make([]string, len(es))
	for i, x := range es {
		out[i] = x.Action
	}
	return out
}

// suspRunSignals runs the signals job through River, as the periodic
// scheduler does, and waits for it.
func (e *env) suspRunSignals(t *testing.T) {
	t.Helper()
	e.enqueue(t, moderation.SignalsArgs{})
	e.waitJobsDone(t)
}

// suspSupport is a support account and its client.
func (e *env) suspSupport(t *testing.T) (account, *client.ClientWithResponses) {
	t.Helper()
	a := e.supportAccount(t, "staff-"+randomID()[:8]+"@heepr.dev")
	return a, e.withCookie(t, a.Session)
}

// suspFlag flags an order as its customer and returns the case.
func (e *env) suspFlag(t *testing.T, c *client.ClientWithResponses, order string) client.Case {
	t.Helper()
	resp, err := c.FlagOrderWithResponse(context.Background(), order, client.FlagRequest{Reason: client.FlagReasonOffScope,
		Details: ptrTo("It is not what I asked for.")})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "flagOrder: %s", resp.Body)
	return *resp.JSON201
}

// suspCustomer signs up a customer and returns it with a client.
func (e *env) suspCustomer(t *testing.T, prefix string) (account, *client.ClientWithResponses) {
	t.Helper()
	a := e.signUp(t, prefix+"-"+randomID()[:8]+"@example.com", client.SignUpRequestRoleCustomer)
	return a, e.withCookie(t, a.Session)
}

// suspReviewed has a customer complete an order with the shop's agent
// and review it.
func (e *env) suspReviewed(t *testing.T, s shop, custC *client.ClientWithResponses) client.Order {
	t.Helper()
	s.custC = custC
	o := e.completedOrder(t, s)
	r := e.createReview(t, custC, o.Id, 5, "Great work.")
	require.Equal(t, http.StatusCreated, r.StatusCode(), "createReview: %s", r.Body)
	return o
}

// --- 1. who may call support's operations -------------------------------------

func TestModerationAccessMatrix(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s, o := e.startedOrder(t)
		other := e.autoShop(t) // another owner, customer and agent
		support, supportC := e.suspSupport(t)
		ownerTok := e.withBearer(t, e.createToken(t, s.ownerC, "owner script").Token)
		otherOwnerTok := e.withBearer(t, e.createToken(t, other.ownerC, "other script").Token)
		custTok := e.withBearer(t, e.createToken(t, s.custC, "customer script").Token)

		// Real objects: a case (the customer flags the order), a suspended
		// agent and its owner's open request.
		flagged := e.suspFlag(t, s.custC, o.Id)
		e.suspSuspendAgent(t, supportC, s.agent.Id, client.SuspendAgentRequest{Reason: "Off-scope deliveries."})
		rr := e.suspRequestReinstatement(t, s.ownerC, s.agent.Id, "I fixed the prompt.")
		require.Equal(t, http.StatusCreated, rr.StatusCode(), "requestReinstatement: %s", rr.Body)
		ids := suspIDs{agent: other.agent.Id, user: other.customer.ID, caseID: flagged.Id, request: rr.JSON201.Id}
		ops := suspSupportOps(t, ids)

		callers := []struct {
			who    string
			c      *client.ClientWithResponses
			status int
			slug   string
			detail string
		}{
			{"anonymous", e.anon(t), http.StatusUnauthorized, "unauthenticated", "sign in"},
			{"customer (session)", s.custC, http.StatusForbidden, "forbidden", "do not allow"},
			{"customer (token)", custTok, http.StatusForbidden, "forbidden", "do not allow"},
			{"owner (session)", s.ownerC, http.StatusForbidden, "forbidden", "do not allow"},
			{"owner (token)", ownerTok, http.StatusForbidden, "forbidden", "do not allow"},
			{"other owner (token)", otherOwnerTok, http.StatusForbidden, "forbidden", "do not allow"},
			{"agent key", s.agentC, http.StatusUnauthorized, "unauthenticated", "agent key works only on the agent's operations"},
			{"another agent's key", other.agentC, http.StatusUnauthorized, "unauthenticated", "agent key works only on the agent's operations"},
		}
		before := e.suspState(t)
		for _, op := range ops {
			for _, who := range callers {
				resp, body := op.call(who.c)
				p := requireProblem(t, resp, body, who.status, who.slug)
				require.Contains(t, *p.Detail, who.detail, "%s as %s", op.name, who.who)
				if who.slug == "forbidden" {
					require.Contains(t, *p.Detail, op.name, "the refusal names the operation")
				}
			}
		}
		e.suspRequireUnchanged(t, before, "a refused support operation")

		// requestReinstatement is the owner's: nobody else's.
		for _, who := range []struct {
			who    string
			c      *client.ClientWithResponses
			status int
			slug   string
		}{
			{"anonymous", e.anon(t), http.StatusUnauthorized, "unauthenticated"},
			{"customer", s.custC, http.StatusForbidden, "forbidden"},
			{"customer (token)", custTok, http.StatusForbidden, "forbidden"},
			{"support", supportC, http.StatusForbidden, "forbidden"},
			{"the agent itself", s.agentC, http.StatusUnauthorized, "unauthenticated"},
			{"another agent", other.agentC, http.StatusUnauthorized, "unauthenticated"},
			{"another owner (session)", other.ownerC, http.StatusNotFound, "not-found"},
			{"another owner (token)", otherOwnerTok, http.StatusNotFound, "not-found"},
		} {
			r := e.suspRequestReinstatement(t, who.c, s.agent.Id, "Please.")
			requireProblem(t, r.HTTPResponse, r.Body, who.status, who.slug)
		}
		// Another owner's agent answers exactly as a missing one.
		missing := e.suspRequestReinstatement(t, other.ownerC, kernel.NewID(), "Please.")
		requireProblem(t, missing.HTTPResponse, missing.Body, http.StatusNotFound, "not-found")
		foreign := e.suspRequestReinstatement(t, other.ownerC, s.agent.Id, "Please.")
		require.Equal(t, problemBody(t, missing.Body).Detail, problemBody(t, foreign.Body).Detail)
		e.suspRequireUnchanged(t, before, "a refused reinstatement request")

		// Objects that do not exist answer 404 to support; a bad case id is a field error.
		for name, call := range map[string]func() (*http.Response, []byte){
			"getCase": func() (*http.Response, []byte) {
				r, err := supportC.GetCaseWithResponse(ctx, kernel.NewID())
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"resolveCase": func() (*http.Response, []byte) {
				r, err := supportC.ResolveCaseWithResponse(ctx, kernel.NewID(), &client.ResolveCaseParams{IdempotencyKey: uuid.NewString()},
					client.ResolveCaseRequest{Action: client.ResolveCaseRequestActionDismiss, Note: "n"})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"suspendAgent": func() (*http.Response, []byte) {
				r, err := supportC.SuspendAgentWithResponse(ctx, kernel.NewID(), client.SuspendAgentRequest{Reason: "r"})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"reinstateAgent": func() (*http.Response, []byte) {
				r, err := supportC.ReinstateAgentWithResponse(ctx, kernel.NewID(), client.ModerationReason{Reason: "r"})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"declineReinstatement": func() (*http.Response, []byte) {
				r, err := supportC.DeclineReinstatementWithResponse(ctx, kernel.NewID(), client.ModerationReason{Reason: "r"})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"suspendUser": func() (*http.Response, []byte) {
				r, err := supportC.SuspendUserWithResponse(ctx, kernel.NewID(), client.ModerationReason{Reason: "r"})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"reinstateUser": func() (*http.Response, []byte) {
				r, err := supportC.ReinstateUserWithResponse(ctx, kernel.NewID(), client.ModerationReason{Reason: "r"})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
		} {
			resp, body := call()
			require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s of nothing: %s", name, body)
			requireProblem(t, resp, body, http.StatusNotFound, "not-found")
		}
		bad, err := supportC.SuspendAgentWithResponse(ctx, other.agent.Id, client.SuspendAgentRequest{Reason: "r", CaseId: ptrTo(kernel.NewID())})
		require.NoError(t, err)
		p := requireProblem(t, bad.HTTPResponse, bad.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"case_id"}, fieldNames(p))
		blank, err := supportC.SuspendAgentWithResponse(ctx, other.agent.Id, client.SuspendAgentRequest{Reason: "   "})
		require.NoError(t, err)
		p = requireProblem(t, blank.HTTPResponse, blank.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"reason"}, fieldNames(p))
		e.suspRequireUnchanged(t, before, "a refused call by support")

		// Support may call every one of them, by session or personal token:
		// it dismisses the case, declines s's request, suspends and
		// reinstates the other agent and suspends and reinstates its customer.
		supTok := e.withBearer(t, e.createToken(t, supportC, "staff script").Token)
		for i, op := range ops {
			c := supportC
			if i%2 == 1 {
				c = supTok
			}
			resp, body := op.call(c)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s as support: %s", op.name, body)
		}
		require.Equal(t, client.CaseStatusResolved, e.suspCases(t, supportC, client.CaseReasonOffScope)[0].Status)
		require.Equal(t, client.ReinstatementStatusDeclined, e.suspRequests(t, supportC, nil)[0].Status)
		require.Equal(t, client.Suspended, e.myAgent(t, s.ownerC, s.agent.Id).Status)
		require.Equal(t, client.Active, e.myAgent(t, other.ownerC, other.agent.Id).Status)

		// Every action support took is in the audit log, by support.
		for target, want := range map[string][]string{
			"agent:" + other.agent.Id:   {"moderation.agent_reinstated", "moderation.agent_suspended"},
			"agent:" + s.agent.Id:       {"moderation.reinstatement_declined", "moderation.agent_suspended"},
			"user:" + other.customer.ID: {"moderation.user_reinstated", "moderation.user_suspended"},
			"case:" + flagged.Id:        {"moderation.case_dismissed"},
		} {
			entries := e.suspAudit(t, supportC, target)
			require.Equal(t, want, suspActions(entries), target)
			for _, en := range entries {
				require.Equal(t, "user:"+support.ID, en.Actor)
			}
		}
		e.requireLedgerOK(t)
	})
}

// --- 2. a suspended agent ------------------------------------------------------

func TestSuspensionOfAnAgentEndToEnd(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.manualShop(t)
		support, supportC := e.suspSupport(t)
		start := e.wallet(t, s.custC)
		quote := func() client.SendQuoteRequest {
			q := e.quoteReq()
			q.Category, q.Revisions, q.Price = client.CategoryCode, 0, 100
			return q
		}

		// One order waiting for approval, one in progress, and a quote not yet accepted.
		conv := e.contact(t, s.custC, s.agent.Id, "Two jobs and maybe a third.")
		pending := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, quote()).Id)
		require.Equal(t, client.OrderStatusPendingApproval, pending.Status)
		working := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, quote()).Id)
		working = e.approve(t, s.ownerC, working.Id)
		require.Equal(t, client.OrderStatusInProgress, working.Status)
		later := e.sendQuote(t, s.agentC, conv.Id, quote())
		_, cursor := e.drain(t, s.agentC, "")
		require.Equal(t, start.Balance-200, e.wallet(t, s.custC).Balance)
		require.Contains(t, e.browseIDs(t, client.ListAgentsParams{}), s.agent.Id)

		// Support suspends it.
		const reason = "Deliveries far outside the quoted scope."
		got := e.suspSuspendAgent(t, supportC, s.agent.Id, client.SuspendAgentRequest{Reason: reason})
		require.Equal(t, client.Suspended, got.Status)
		require.Equal(t, s.agent.Id, got.Id)
		require.Equal(t, client.Suspended, e.myAgent(t, s.ownerC, s.agent.Id).Status)

		// Off the market: not in browse, its profile is gone by id and by handle.
		require.NotContains(t, e.browseIDs(t, client.ListAgentsParams{}), s.agent.Id)
		for _, key := range []string{s.agent.Id, s.agent.Handle} {
			r := e.getAgent(t, key)
			requireProblem(t, r.HTTPResponse, r.Body, http.StatusNotFound, "not-found")
		}

		// No new work: contacting it by id is told why; by handle it is simply not there.
		before := e.suspState(t)
		cc, err := s.custC.CreateConversationWithResponse(ctx, client.CreateConversationRequest{AgentId: s.agent.Id, Message: "Hello?"})
		require.NoError(t, err)
		requireProblem(t, cc.HTTPResponse, cc.Body, http.StatusConflict, "agent-suspended")
		cc, err = s.custC.CreateConversationWithResponse(ctx, client.CreateConversationRequest{AgentId: s.agent.Handle, Message: "Hello?"})
		require.NoError(t, err)
		requireProblem(t, cc.HTTPResponse, cc.Body, http.StatusNotFound, "not-found")
		// Neither the agent nor its owner may quote; the agent may not write.
		for _, c := range []*client.ClientWithResponses{s.agentC, s.ownerC} {
			q, err := c.SendQuoteWithResponse(ctx, conv.Id, quote())
			require.NoError(t, err)
			requireProblem(t, q.HTTPResponse, q.Body, http.StatusConflict, "agent-suspended")
		}
		pm, err := s.agentC.PostMessageWithResponse(ctx, conv.Id, client.PostMessageRequest{Body: "Still here."})
		require.NoError(t, err)
		requireProblem(t, pm.HTTPResponse, pm.Body, http.StatusConflict, "agent-suspended")
		// The quote sent before cannot be accepted.
		acc := e.acceptQuote(t, s.custC, later.Id)
		requireProblem(t, acc.HTTPResponse, acc.Body, http.StatusConflict, "agent-suspended")
		// The owner cannot put it back on the market.
		pub, err := s.ownerC.PublishAgentWithResponse(ctx, s.agent.Id)
		require.NoError(t, err)
		requireProblem(t, pub.HTTPResponse, pub.Body, http.StatusConflict, "agent-suspended")
		// Nor can support suspend it twice.
		again, err := supportC.SuspendAgentWithResponse(ctx, s.agent.Id, client.SuspendAgentRequest{Reason: "Again."})
		require.NoError(t, err)
		requireProblem(t, again.HTTPResponse, again.Body, http.StatusConflict, "agent-suspended")
		e.suspRequireUnchanged(t, before, "work refused to a suspended agent")

		// The order waiting for approval was refunded in full; the one in progress goes on.
		refunded := e.getOrder(t, s.custC, pending.Id)
		require.Equal(t, client.OrderStatusRefunded, refunded.Status)
		refunds := e.allPostings(t, s.custC, ptrTo(client.PostingKindRefund), &pending.Id)
		require.Len(t, refunds, 1)
		require.Equal(t, int64(100), refunds[0].Amount)
		w := e.wallet(t, s.custC)
		require.Equal(t, start.Balance-100, w.Balance, "the pending order's points came back")
		require.Equal(t, int64(100), w.Held, "the order in progress stays in escrow")
		require.Equal(t, client.OrderStatusInProgress, e.orderStatus(t, s.custC, working.Id))
		require.Equal(t, 1, e.notificationsOf(t, s.custC, "ordering.order_refunded"))
		msgs := e.messages(t, s.custC, conv.Id, client.ListMessagesParams{Limit: ptrTo(100)}).Items
		require.Contains(t, msgs[len(msgs)-1].Body, "was suspended by heepr support")

		// The agent hears of it on its feed (its key still polls).
		evs, _ := e.drain(t, s.agentC, cursor)
		require.Equal(t, []string{"order.refunded", "agent.suspended"}, eventTypes(evs))
		require.Equal(t, pending.Id, evs[0].Data["order_id"])
		require.Equal(t, reason, evs[1].Data["reason"])

		// The owner is told in the app and by email.
		subject := "@" + s.agent.Handle + " was suspended"
		notes := e.notifications(t, s.ownerC)
		require.Equal(t, "moderation.agent_suspended", notes[0].Kind)
		require.Equal(t, subject, notes[0].Subject)
		require.Contains(t, notes[0].Body, reason)
		require.Contains(t, notes[0].Body, "1 orders were refunded")
		require.Equal(t, "/owner/agents/"+s.agent.Id, *notes[0].Link)
		e.waitJobsDone(t)
		require.Len(t, e.mailTo(t, s.owner.Email, subject), 1)
		require.Empty(t, e.mailTo(t, s.customer.Email, subject))

		// Audited: by support, about the agent, with the reason.
		entries := e.suspAudit(t, supportC, "agent:"+s.agent.Id)
		require.Len(t, entries, 1)
		require.Equal(t, "moderation.agent_suspended", entries[0].Action)
		require.Equal(t, "user:"+support.ID, entries[0].Actor)
		require.Equal(t, reason, entries[0].Reason)

		// The order in progress is finished and paid as usual.
		d := e.deliver(t, s.agentC, working.Id, "Done.", upload{"report.md", []byte("# Done\n")})
		e.release(t, s.ownerC, d.Id)
		done, err := s.custC.AcceptDeliveryWithResponse(ctx, working.Id, &client.AcceptDeliveryParams{IdempotencyKey: uuid.NewString()})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, done.StatusCode(), "acceptDelivery: %s", done.Body)
		require.Equal(t, client.OrderStatusCompleted, done.JSON200.Status)
		e.waitJobsDone(t)
		require.Equal(t, int64(0), e.wallet(t, s.custC).Held)
		e.requireLedgerOK(t)
	})
}

func TestSuspensionRefundingOpenOrders(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		_, supportC := e.suspSupport(t)
		start := e.wallet(t, s.custC)
		conv := e.contact(t, s.custC, s.agent.Id, "Three jobs.")
		working := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
		inReview := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
		e.deliver(t, s.agentC, inReview.Id, "Done.", upload{"report.md", []byte("# Done\n")})
		require.Equal(t, client.OrderStatusInReview, e.orderStatus(t, s.custC, inReview.Id))
		disputed := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
		flagged := e.suspFlag(t, s.custC, disputed.Id)
		_, cursor := e.drain(t, s.agentC, "")
		require.Equal(t, start.Balance-360, e.wallet(t, s.custC).Balance)

		got := e.suspSuspendAgent(t, supportC, s.agent.Id, client.SuspendAgentRequest{Reason: "Abandoned its customers.",
			RefundOpenOrders: ptrTo(true), CaseId: &flagged.Id})
		require.Equal(t, client.Suspended, got.Status)

		// Every order being worked on is refunded; the disputed one stays with its case.
		for _, o := range []client.Order{working, inReview} {
			require.Equal(t, client.OrderStatusRefunded, e.orderStatus(t, s.custC, o.Id))
			refunds := e.allPostings(t, s.custC, ptrTo(client.PostingKindRefund), &o.Id)
			require.Len(t, refunds, 1)
			require.Equal(t, int64(120), refunds[0].Amount)
		}
		require.Equal(t, client.OrderStatusDisputed, e.orderStatus(t, s.custC, disputed.Id))
		w := e.wallet(t, s.custC)
		require.Equal(t, start.Balance-120, w.Balance)
		require.Equal(t, int64(120), w.Held, "the disputed order's points wait for support")

		evs, _ := e.drain(t, s.agentC, cursor)
		require.Equal(t, []string{"order.refunded", "order.refunded", "agent.suspended"}, eventTypes(evs))
		notes := e.notifications(t, s.ownerC)
		require.Equal(t, "moderation.agent_suspended", notes[0].Kind)
		require.Contains(t, notes[0].Body, "2 orders were refunded")

		// The case that led to it is named in the audit log.
		entries := e.suspAudit(t, supportC, "agent:"+s.agent.Id)
		require.Len(t, entries, 1)
		require.Contains(t, entries[0].Reason, flagged.Id)
		e.requireLedgerOK(t)
	})
}

// --- 3. reinstatement -------------------------------------------------------------

func TestReinstatementRequestsAndReinstatement(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		support, supportC := e.suspSupport(t)

		// Nothing to ask for while the agent is on the market.
		r := e.suspRequestReinstatement(t, s.ownerC, s.agent.Id, "Please.")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusConflict, "agent-not-suspended")
		ra, err := supportC.ReinstateAgentWithResponse(ctx, s.agent.Id, client.ModerationReason{Reason: "r"})
		require.NoError(t, err)
		requireProblem(t, ra.HTTPResponse, ra.Body, http.StatusConflict, "agent-not-suspended")

		e.suspSuspendAgent(t, supportC, s.agent.Id, client.SuspendAgentRequest{Reason: "Spam quotes."})
		_, cursor := e.drain(t, s.agentC, "")

		// The owner asks; support hears by email.
		r = e.suspRequestReinstatement(t, s.ownerC, s.agent.Id, "  I rewrote its prompt; no more spam.  ")
		require.Equal(t, http.StatusCreated, r.StatusCode(), "requestReinstatement: %s", r.Body)
		first := *r.JSON201
		require.Equal(t, client.ReinstatementStatusOpen, first.Status)
		require.Equal(t, s.agent.Id, first.AgentId)
		require.Equal(t, s.agent.Handle, first.AgentHandle)
		require.Equal(t, s.owner.ID, first.OwnerId)
		require.Equal(t, "I rewrote its prompt; no more spam.", first.Message)
		require.Nil(t, first.DecidedAt)
		e.waitJobsDone(t)
		require.Len(t, e.mailTo(t, e.cfg.SupportEmail, "Reinstatement requested for @"+s.agent.Handle), 1)

		// One open request at a time.
		before := e.suspState(t)
		r = e.suspRequestReinstatement(t, s.ownerC, s.agent.Id, "Again, please.")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusConflict, "reinstatement-requested")
		e.suspRequireUnchanged(t, before, "a second request")

		// Support sees it in the queue.
		open := e.suspRequests(t, supportC, ptrTo(client.ReinstatementStatusOpen))
		require.Len(t, open, 1)
		require.Equal(t, first.Id, open[0].Id)
		require.Equal(t, first.Message, open[0].Message)

		// Declined: the agent stays suspended, the owner is told why.
		dr, err := supportC.DeclineReinstatementWithResponse(ctx, first.Id, client.ModerationReason{Reason: "Show us a week of clean quotes first."})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, dr.StatusCode(), "declineReinstatement: %s", dr.Body)
		require.Equal(t, client.ReinstatementStatusDeclined, dr.JSON200.Status)
		require.Equal(t, "Show us a week of clean quotes first.", *dr.JSON200.DecisionNote)
		require.Equal(t, "user:"+support.ID, *dr.JSON200.DecidedBy)
		require.NotNil(t, dr.JSON200.DecidedAt)
		require.Equal(t, client.Suspended, e.myAgent(t, s.ownerC, s.agent.Id).Status)
		require.Equal(t, 1, e.notificationsOf(t, s.ownerC, "moderation.reinstatement_declined"))
		require.Empty(t, e.suspRequests(t, supportC, ptrTo(client.ReinstatementStatusOpen)))
		declined := e.suspRequests(t, supportC, ptrTo(client.ReinstatementStatusDeclined))
		require.Len(t, declined, 1)
		require.Equal(t, first.Id, declined[0].Id)
		// Deciding it again is refused.
		dr, err = supportC.DeclineReinstatementWithResponse(ctx, first.Id, client.ModerationReason{Reason: "Again."})
		require.NoError(t, err)
		requireProblem(t, dr.HTTPResponse, dr.Body, http.StatusConflict, "request-decided")

		// A new request; support reinstates the agent.
		e.clock.Advance(time.Hour)
		r = e.suspRequestReinstatement(t, s.ownerC, s.agent.Id, "A week of clean quotes in staging.")
		require.Equal(t, http.StatusCreated, r.StatusCode(), "requestReinstatement: %s", r.Body)
		second := *r.JSON201
		require.NotEqual(t, first.Id, second.Id)
		got := e.suspReinstateAgent(t, supportC, s.agent.Id, "Looks good now.")
		require.Equal(t, client.Active, got.Status)

		// Back on the market.
		require.Contains(t, e.browseIDs(t, client.ListAgentsParams{}), s.agent.Id)
		for _, key := range []string{s.agent.Id, s.agent.Handle} {
			resp := e.getAgent(t, key)
			require.Equal(t, http.StatusOK, resp.StatusCode(), "getAgent %s: %s", key, resp.Body)
		}
		e.contact(t, s.custC, s.agent.Id, "Glad you are back.")

		// The open request was granted by that decision.
		granted := e.suspRequests(t, supportC, ptrTo(client.ReinstatementStatusGranted))
		require.Len(t, granted, 1)
		require.Equal(t, second.Id, granted[0].Id)
		require.Equal(t, "Looks good now.", *granted[0].DecisionNote)
		require.Equal(t, "user:"+support.ID, *granted[0].DecidedBy)
		require.Len(t, e.suspRequests(t, supportC, nil), 2)

		// The agent and its owner hear of it.
		evs, _ := e.drain(t, s.agentC, cursor)
		require.Equal(t, []string{"agent.reinstated", "message.created"}, eventTypes(evs))
		require.Equal(t, "Looks good now.", evs[0].Data["reason"])
		notes := e.notifications(t, s.ownerC)
		require.Equal(t, "moderation.agent_reinstated", notes[0].Kind)
		require.Equal(t, "@"+s.agent.Handle+" was reinstated", notes[0].Subject)

		// Audited, newest first.
		require.Equal(t, []string{"moderation.agent_reinstated", "moderation.reinstatement_declined", "moderation.agent_suspended"},
			suspActions(e.suspAudit(t, supportC, "agent:"+s.agent.Id)))

		// Reinstating twice is refused; a new request too.
		ra, err = supportC.ReinstateAgentWithResponse(ctx, s.agent.Id, client.ModerationReason{Reason: "r"})
		require.NoError(t, err)
		requireProblem(t, ra.HTTPResponse, ra.Body, http.StatusConflict, "agent-not-suspended")
		r = e.suspRequestReinstatement(t, s.ownerC, s.agent.Id, "Please.")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusConflict, "agent-not-suspended")
	})
}

// A paused agent goes back to paused: reinstatement restores the status it had.
func TestReinstatementRestoresThePreviousStatus(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		_, supportC := e.suspSupport(t)
		e.pause(t, s.ownerC, s.agent.Id)
		e.suspSuspendAgent(t, supportC, s.agent.Id, client.SuspendAgentRequest{Reason: "Checks."})
		got := e.suspReinstateAgent(t, supportC, s.agent.Id, "Cleared.")
		require.Equal(t, client.Paused, got.Status)
		require.NotContains(t, e.browseIDs(t, client.ListAgentsParams{}), s.agent.Id)
		require.Equal(t, client.Active, e.publish(t, s.ownerC, s.agent.Id).Status)
	})
}

// --- 4. a suspended user ---------------------------------------------------------

func TestUserSuspension(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		support, supportC := e.suspSupport(t)
		conv := e.contact(t, s.custC, s.agent.Id, "Before the suspension.")
		q := e.sendQuote(t, s.agentC, conv.Id, e.quoteReq())
		tok := e.createToken(t, s.custC, "customer script")
		tokC := e.withBearer(t, tok.Token)

		// Support cannot suspend itself; nor a user who does not exist.
		self, err := supportC.SuspendUserWithResponse(ctx, support.ID, client.ModerationReason{Reason: "Oops."})
		require.NoError(t, err)
		requireProblem(t, self.HTTPResponse, self.Body, http.StatusConflict, "cannot-suspend-self")
		notSusp, err := supportC.ReinstateUserWithResponse(ctx, s.customer.ID, client.ModerationReason{Reason: "r"})
		require.NoError(t, err)
		requireProblem(t, notSusp.HTTPResponse, notSusp.Body, http.StatusConflict, "account-not-suspended")

		const reason = "Chargeback fraud."
		st := e.suspSetUser(t, supportC, s.customer.ID, true, reason)
		require.True(t, st.Suspended)
		require.Equal(t, s.customer.ID, st.UserId)
		require.Equal(t, reason, *st.Reason)
		require.WithinDuration(t, e.clock.Now(), *st.SuspendedAt, time.Second)
		again, err := supportC.SuspendUserWithResponse(ctx, s.customer.ID, client.ModerationReason{Reason: "Again."})
		require.NoError(t, err)
		requireProblem(t, again.HTTPResponse, again.Body, http.StatusConflict, "account-already-suspended")

		// Reads still work: with the old session, the token, and a new sign-in.
		fresh := e.withCookie(t, e.signIn(t, s.customer.Email, s.customer.Password))
		for who, c := range map[string]*client.ClientWithResponses{"session": s.custC, "token": tokC, "new session": fresh} {
			status, me, body := e.me(t, c)
			require.Equal(t, http.StatusOK, status, "%s: %s", who, body)
			require.Equal(t, s.customer.ID, me.Id)
			e.wallet(t, c)
			require.Len(t, e.orders(t, c, client.ListOrdersParams{}).Items, 0)
			require.Len(t, e.conversations(t, c, client.ListConversationsParams{}).Items, 1)
			require.Len(t, e.messages(t, c, conv.Id, client.ListMessagesParams{}).Items, 2)
		}
		notes := e.notifications(t, s.custC)
		require.Equal(t, "moderation.user_suspended", notes[0].Kind)
		require.Contains(t, notes[0].Body, reason)

		// Every write is refused and changes nothing.
		before := e.suspState(t)
		writes := map[string]func(c *client.ClientWithResponses) (*http.Response, []byte){
			"createConversation": func(c *client.ClientWithResponses) (*http.Response, []byte) {
				r, err := c.CreateConversationWithResponse(ctx, client.CreateConversationRequest{AgentId: s.agent.Id, Message: "Hi"})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"postMessage": func(c *client.ClientWithResponses) (*http.Response, []byte) {
				r, err := c.PostMessageWithResponse(ctx, conv.Id, client.PostMessageRequest{Body: "Hi"})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"createPersonalToken": func(c *client.ClientWithResponses) (*http.Response, []byte) {
				r, err := c.CreatePersonalTokenWithResponse(ctx, client.CreatePersonalTokenRequest{Name: "another"})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"revokePersonalToken": func(c *client.ClientWithResponses) (*http.Response, []byte) {
				r, err := c.RevokePersonalTokenWithResponse(ctx, tok.Id)
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"acceptQuote": func(c *client.ClientWithResponses) (*http.Response, []byte) {
				r := e.acceptQuote(t, c, q.Id)
				return r.HTTPResponse, r.Body
			},
			"declineQuote": func(c *client.ClientWithResponses) (*http.Response, []byte) {
				r, err := c.DeclineQuoteWithResponse(ctx, q.Id)
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"requestHuman": func(c *client.ClientWithResponses) (*http.Response, []byte) {
				r, err := c.RequestHumanWithResponse(ctx, conv.Id)
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"enableOwnerRole": func(c *client.ClientWithResponses) (*http.Response, []byte) {
				r, err := c.EnableOwnerRoleWithResponse(ctx)
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"markNotificationsRead": func(c *client.ClientWithResponses) (*http.Response, []byte) {
				r, err := c.MarkNotificationsReadWithResponse(ctx, client.MarkReadRequest{UpTo: notes[0].Id})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
		}
		for name, call := range writes {
			for who, c := range map[string]*client.ClientWithResponses{"session": s.custC, "token": tokC, "new session": fresh} {
				resp, body := call(c)
				p := requireProblem(t, resp, body, http.StatusForbidden, "account-suspended")
				require.Contains(t, *p.Detail, "suspended", "%s by %s", name, who)
			}
		}
		e.suspRequireUnchanged(t, before, "a suspended user's write")
		require.False(t, e.notifications(t, s.custC)[0].Read)

		// Signing out still works.
		so, err := fresh.SignOutWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, so.StatusCode(), "signOut: %s", so.Body)
		e.requireUnauthorized(t, fresh, "session-expired")

		// Reinstated: writes work again, on the sessions and tokens already held.
		st = e.suspSetUser(t, supportC, s.customer.ID, false, "The bank cleared it.")
		require.False(t, st.Suspended)
		require.Nil(t, st.SuspendedAt)
		e.contact(t, s.custC, s.agent.Id, "After the suspension.")
		e.post(t, tokC, conv.Id, "Back again.")
		o := e.accept(t, s.custC, q.Id)
		require.Equal(t, client.OrderStatusInProgress, o.Status)
		notes = e.notifications(t, s.custC)
		require.Equal(t, "moderation.user_reinstated", notes[0].Kind)
		notSusp, err = supportC.ReinstateUserWithResponse(ctx, s.customer.ID, client.ModerationReason{Reason: "r"})
		require.NoError(t, err)
		requireProblem(t, notSusp.HTTPResponse, notSusp.Body, http.StatusConflict, "account-not-suspended")

		// Audited, newest first, by support.
		entries := e.suspAudit(t, supportC, "user:"+s.customer.ID)
		require.Equal(t, []string{"moderation.user_reinstated", "moderation.user_suspended"}, suspActions(entries))
		require.Equal(t, reason, entries[1].Reason)
		for _, en := range entries {
			require.Equal(t, "user:"+support.ID, en.Actor)
		}
		e.requireLedgerOK(t)
	})
}

// A suspended owner's account writes nothing either, but its agent keeps working.
func TestUserSuspensionOfAnOwner(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		_, supportC := e.suspSupport(t)
		conv := e.contact(t, s.custC, s.agent.Id, "Hello")
		e.suspSetUser(t, supportC, s.owner.ID, true, "Suspicious payouts.")

		before := e.suspState(t)
		up, err := s.ownerC.UpdateAgentWithResponse(ctx, s.agent.Id, client.UpdateAgentRequest{Specialty: ptrTo("Anything")})
		require.NoError(t, err)
		requireProblem(t, up.HTTPResponse, up.Body, http.StatusForbidden, "account-suspended")
		pa, err := s.ownerC.PauseAgentWithResponse(ctx, s.agent.Id)
		require.NoError(t, err)
		requireProblem(t, pa.HTTPResponse, pa.Body, http.StatusForbidden, "account-suspended")
		sq, err := s.ownerC.SendQuoteWithResponse(ctx, conv.Id, e.quoteReq())
		require.NoError(t, err)
		requireProblem(t, sq.HTTPResponse, sq.Body, http.StatusForbidden, "account-suspended")
		rq := e.suspRequestReinstatement(t, s.ownerC, s.agent.Id, "Please.")
		requireProblem(t, rq.HTTPResponse, rq.Body, http.StatusForbidden, "account-suspended")
		e.suspRequireUnchanged(t, before, "a suspended owner's write")
		require.Equal(t, client.Active, e.myAgent(t, s.ownerC, s.agent.Id).Status, "reads work")

		// The agent's key is not the owner's account.
		e.post(t, s.agentC, conv.Id, "Still answering.")
	})
}

// --- 5. automatic signals ---------------------------------------------------------

func TestSignalsMissedDeadlines(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		fewer := e.autoShop(t) // two missed deadlines: below the limit
		_, supportC := e.suspSupport(t)
		conv := e.contact(t, s.custC, s.agent.Id, "Three jobs.")
		var late []client.Order
		for range 3 {
			late = append(late, e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id))
		}
		fconv := e.contact(t, fewer.custC, fewer.agent.Id, "Two jobs.")
		for range 2 {
			e.accept(t, fewer.custC, e.sendQuote(t, fewer.agentC, fconv.Id, e.quoteReq()).Id)
		}

		// Nothing is late yet: the job opens nothing.
		e.suspRunSignals(t)
		require.Empty(t, e.suspCases(t, supportC, client.CaseReasonMissedDeadlines))

		// Past the deadlines, the timers mark the orders late.
		e.clock.Advance(3*24*time.Hour + time.Minute)
		e.runTimers(t)
		for _, o := range late {
			require.True(t, e.getOrder(t, s.custC, o.Id).Late)
		}

		// The signals job opens one case for the agent with three.
		e.suspRunSignals(t)
		cases := e.suspCases(t, supportC, client.CaseReasonMissedDeadlines)
		require.Len(t, cases, 1)
		c := cases[0]
		require.Equal(t, client.Signal, c.Kind)
		require.Equal(t, client.CaseStatusOpen, c.Status)
		require.Equal(t, s.agent.Id, *c.AgentId)
		require.Equal(t, s.owner.ID, *c.OwnerId)
		require.Nil(t, c.OrderId)
		require.Nil(t, c.FlaggedBy)
		require.Contains(t, c.Details, "@"+s.agent.Handle)
		require.Contains(t, c.Details, "3 deadlines")
		require.Len(t, e.mailTo(t, e.cfg.SupportEmail, "Automatic signal: missed_deadlines"), 1)

		// Its file shows the agent's record.
		gc, err := supportC.GetCaseWithResponse(ctx, c.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, gc.StatusCode(), "getCase: %s", gc.Body)
		require.NotNil(t, gc.JSON200.Agent)
		require.Equal(t, 3, gc.JSON200.Agent.MissedDeadlines30d)
		require.EqualValues(t, 3, gc.JSON200.Agent.MissedDeadlines)
		require.Nil(t, gc.JSON200.Order)
		require.Empty(t, gc.JSON200.Postings)

		// Running again opens nothing, nor after support dismissed the case (one per window).
		e.suspRunSignals(t)
		require.Len(t, e.suspCases(t, supportC, client.CaseReasonMissedDeadlines), 1)
		rf, err := supportC.ResolveCaseWithResponse(ctx, c.Id, &client.ResolveCaseParams{IdempotencyKey: uuid.NewString()},
			client.ResolveCaseRequest{Action: client.ResolveCaseRequestActionRefund, Note: "n"})
		require.NoError(t, err)
		requireProblem(t, rf.HTTPResponse, rf.Body, http.StatusConflict, "case-not-refundable")
		rs, err := supportC.ResolveCaseWithResponse(ctx, c.Id, &client.ResolveCaseParams{IdempotencyKey: uuid.NewString()},
			client.ResolveCaseRequest{Action: client.ResolveCaseRequestActionDismiss, Note: "Talked to the owner."})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rs.StatusCode(), "resolveCase: %s", rs.Body)
		e.clock.Advance(time.Hour)
		e.suspRunSignals(t)
		cases = e.suspCases(t, supportC, client.CaseReasonMissedDeadlines)
		require.Len(t, cases, 1)
		require.Equal(t, client.CaseStatusResolved, cases[0].Status)
		require.Len(t, e.mailTo(t, e.cfg.SupportEmail, "Automatic signal: missed_deadlines"), 1)
		e.requireLedgerOK(t)
	})
}

func TestSignalsReviewStalled(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s, o := e.startedOrder(t)
		_, supportC := e.suspSupport(t)
		e.deliver(t, s.agentC, o.Id, "Done.", upload{"report.md", []byte("# Done\n")})

		e.clock.Advance(72*time.Hour - time.Minute)
		e.runTimers(t)
		require.Empty(t, e.suspCases(t, supportC, client.CaseReasonReviewStalled), "not before 72 hours")

		e.clock.Advance(time.Minute)
		e.runTimers(t)
		cases := e.suspCases(t, supportC, client.CaseReasonReviewStalled)
		require.Len(t, cases, 1)
		c := cases[0]
		require.Equal(t, client.Signal, c.Kind)
		require.Equal(t, client.CaseStatusOpen, c.Status)
		require.Equal(t, o.Id, *c.OrderId)
		require.Equal(t, s.agent.Id, *c.AgentId)
		require.Equal(t, s.owner.ID, *c.OwnerId)
		require.Contains(t, c.Details, o.Id)

		// Once, however often the timers and the signals run.
		e.clock.Advance(time.Hour)
		e.runTimers(t)
		e.suspRunSignals(t)
		require.Len(t, e.suspCases(t, supportC, client.CaseReasonReviewStalled), 1)

		// The file has the order and its postings; the order is still the owner's to review.
		gc, err := supportC.GetCaseWithResponse(ctx, c.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, gc.StatusCode(), "getCase: %s", gc.Body)
		require.Equal(t, o.Id, gc.JSON200.Order.Id)
		require.Equal(t, client.OrderStatusInReview, gc.JSON200.Order.Status)
		require.NotEmpty(t, gc.JSON200.Postings)
		require.False(t, gc.JSON200.PaidOut)
		e.requireLedgerOK(t)
	})
}

func TestSignalsReviewCluster(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		unrelated := e.autoShop(t) // another owner
		support, supportC := e.suspSupport(t)
		// A second agent of the same owner.
		second := s
		created := e.createAgent(t, s.ownerC, wizard("second-"+randomID()[:8]))
		second.agent = e.publish(t, s.ownerC, created.Agent.Id)
		second.agentC = e.withBearer(t, created.ApiKey)

		// Three accounts that signed up more than 7 days before reviewing do not count.
		var old []account
		for range 3 {
			a, _ := e.suspCustomer(t, "old")
			old = append(old, a)
		}
		e.clock.Advance(8 * 24 * time.Hour)
		s.ownerC = e.withCookie(t, e.signIn(t, s.owner.Email, s.owner.Password)) // the old sessions lapsed
		second.ownerC = s.ownerC
		supportC = e.withCookie(t, e.signIn(t, support.Email, support.Password))
		for _, a := range old {
			e.suspReviewed(t, s, e.withCookie(t, e.signIn(t, a.Email, a.Password)))
		}
		e.suspRunSignals(t)
		require.Empty(t, e.suspCases(t, supportC, client.CaseReasonReviewCluster), "old accounts are no cluster")

		// New accounts whose only orders are with this owner's agents: two,
		// and one who also ordered from another owner, are not enough.
		newIDs := []string{}
		for _, sh := range []shop{s, second} {
			a, c := e.suspCustomer(t, "new")
			e.suspReviewed(t, sh, c)
			newIDs = append(newIDs, a.ID)
		}
		mixed, mixedC := e.suspCustomer(t, "mixed")
		e.suspReviewed(t, s, mixedC)
		mconv := e.contact(t, mixedC, unrelated.agent.Id, "Another shop.")
		e.accept(t, mixedC, e.sendQuote(t, unrelated.agentC, mconv.Id, e.quoteReq()).Id)
		e.suspRunSignals(t)
		require.Empty(t, e.suspCases(t, supportC, client.CaseReasonReviewCluster), "two single-owner accounts are no cluster")

		// A third makes one.
		third, thirdC := e.suspCustomer(t, "third")
		e.suspReviewed(t, second, thirdC)
		newIDs = append(newIDs, third.ID)
		e.suspRunSignals(t)
		cases := e.suspCases(t, supportC, client.CaseReasonReviewCluster)
		require.Len(t, cases, 1)
		c := cases[0]
		require.Equal(t, client.Signal, c.Kind)
		require.Equal(t, client.CaseStatusOpen, c.Status)
		require.Equal(t, s.owner.ID, *c.OwnerId)
		require.Nil(t, c.AgentId)
		require.Nil(t, c.OrderId)
		require.Contains(t, c.Details, "3 accounts")
		for _, id := range newIDs {
			require.Contains(t, c.Details, id)
		}
		require.NotContains(t, c.Details, mixed.ID)
		for _, a := range old {
			require.NotContains(t, c.Details, a.ID)
		}
		require.Len(t, e.mailTo(t, e.cfg.SupportEmail, "Automatic signal: review_cluster"), 1)

		// Once.
		e.suspRunSignals(t)
		require.Len(t, e.suspCases(t, supportC, client.CaseReasonReviewCluster), 1)
		e.requireLedgerOK(t)
	})
}

// --- 6. failed jobs ----------------------------------------------------------------

func TestFailedJobsList(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		support, supportC := e.suspSupport(t)
		list := func(state *client.ListFailedJobsParamsState, limit int, cursor *string) client.FailedJobList {
			t.Helper()
			resp, err := supportC.ListFailedJobsWithResponse(ctx, &client.ListFailedJobsParams{State: state, Limit: &limit, Cursor: cursor})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode(), "listFailedJobs: %s", resp.Body)
			return *resp.JSON200
		}
		require.NotNil(t, list(nil, 20, nil).Items, "an empty list is [], not null")

		// Unknown states and cursors are refused.
		for _, q := range []string{"state=bogus", "cursor=not-a-cursor", "limit=0"} {
			resp, body := e.do(t, http.MethodGet, "/v1/jobs/failed?"+q, nil, cookieHeader(support.Session))
			requireProblem(t, resp, body, http.StatusBadRequest, "validation")
		}

		// Payouts of orders that do not exist fail: two are given up at once, one retries.
		var discarded []int64
		for range 2 {
			res, err := e.app.queue.Client().Insert(ctx, ordering.PayoutArgs{OrderID: kernel.NewID()}, &river.InsertOpts{MaxAttempts: 1})
			require.NoError(t, err)
			discarded = append(discarded, res.Job.ID)
		}
		res, err := e.app.queue.Client().Insert(ctx, ordering.PayoutArgs{OrderID: kernel.NewID()}, nil)
		require.NoError(t, err)
		retrying := res.Job.ID

		var jobs map[int64]client.FailedJob
		require.Eventually(t, func() bool {
			jobs = map[int64]client.FailedJob{}
			for _, j := range list(nil, 100, nil).Items {
				jobs[suspJobID(t, j.Id)] = j
			}
			r, ok := jobs[retrying]
			return ok && r.State == client.FailedJobStateRetryable &&
				jobs[discarded[0]].State == client.FailedJobStateDiscarded && jobs[discarded[1]].State == client.FailedJobStateDiscarded
		}, 15*time.Second, 20*time.Millisecond)

		r := jobs[retrying]
		require.Equal(t, "ordering.payout", r.Kind)
		require.GreaterOrEqual(t, r.Attempt, 1)
		require.Equal(t, 20, r.MaxAttempts)
		require.NotNil(t, r.LastError)
		require.NotEmpty(t, *r.LastError)
		require.NotNil(t, r.ScheduledAt, "a retryable job says when it runs next")
		require.NotNil(t, r.AttemptedAt)
		for _, id := range discarded {
			d := jobs[id]
			require.Equal(t, "ordering.payout", d.Kind)
			require.Equal(t, 1, d.Attempt)
			require.Equal(t, 1, d.MaxAttempts)
			require.NotNil(t, d.LastError)
			require.NotEmpty(t, *d.LastError)
			require.NotNil(t, d.FinalizedAt)
			require.Nil(t, d.ScheduledAt)
		}

		// By state, newest first, in pages.
		only := list(ptrTo(client.ListFailedJobsParamsStateDiscarded), 1, nil)
		require.Len(t, only.Items, 1)
		require.Equal(t, discarded[1], suspJobID(t, only.Items[0].Id))
		require.NotNil(t, only.NextCursor)
		rest := list(ptrTo(client.ListFailedJobsParamsStateDiscarded), 1, only.NextCursor)
		require.Len(t, rest.Items, 1)
		require.Equal(t, discarded[0], suspJobID(t, rest.Items[0].Id))
		require.Nil(t, rest.NextCursor)
		for _, j := range list(ptrTo(client.ListFailedJobsParamsStateDiscarded), 100, nil).Items {
			require.Equal(t, client.FailedJobStateDiscarded, j.State)
			require.NotEqual(t, retrying, suspJobID(t, j.Id))
		}

		// The failing job is in nobody's way: cancel it so the app closes quietly.
		_, err = e.app.queue.Client().JobCancel(ctx, retrying)
		require.NoError(t, err)
	})
}

// suspJobID reads a failed job's id (River's, in decimal).
func suspJobID(t *testing.T, id string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	require.NoError(t, err, "job id %q", id)
	return n
}
