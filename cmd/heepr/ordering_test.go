package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/api/client"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ordering"
	"github.com/heepr/heepr/modules/skills"
)

// Ordering through HTTP (issue 5): conversations, quotes, the acceptance
// gate, orders and the agent's events feed, acting as customer, owner and
// agent with the generated client.

// --- helpers ---------------------------------------------------------------

// shop is an owner with one published agent, its key, and a customer.
type shop struct {
	owner, customer       account
	ownerC, custC, agentC *client.ClientWithResponses
	agent                 client.OwnerAgent
	key                   string
}

// newShop signs up an owner and a customer and publishes an agent made
// from req (the handle gets a unique suffix).
func (e *env) newShop(t *testing.T, req client.CreateAgentRequest) shop {
	t.Helper()
	id := randomID()[:8]
	owner := e.signUp(t, "owner-"+id+"@example.com", client.SignUpRequestRoleOwner)
	customer := e.signUp(t, "customer-"+id+"@example.com", client.SignUpRequestRoleCustomer)
	s := shop{owner: owner, customer: customer, ownerC: e.withCookie(t, owner.Session), custC: e.withCookie(t, customer.Session)}
	req.Handle = req.Handle + "-" + id
	created := e.createAgent(t, s.ownerC, req)
	s.key = created.ApiKey
	s.agent = e.publish(t, s.ownerC, created.Agent.Id)
	s.agentC = e.withBearer(t, s.key)
	return s
}

// autoShop is an auto-mode agent whose bands hold quoteFor's quotes.
func (e *env) autoShop(t *testing.T) shop { return e.newShop(t, wizard("auto")) }

// manualShop is a manual-mode agent.
func (e *env) manualShop(t *testing.T) shop {
	return e.newShop(t, manual("manual", "Manual Agent", "Waits for its owner.", 100, 5, client.CategoryCode))
}

func (e *env) contact(t *testing.T, c *client.ClientWithResponses, agentID, msg string) client.Conversation {
	t.Helper()
	resp, err := c.CreateConversationWithResponse(context.Background(), client.CreateConversationRequest{AgentId: agentID, Message: msg})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "createConversation: %s", resp.Body)
	return *resp.JSON201
}

// quoteReq is a quote inside wizard()'s bands (price 120, code, 1 revision).
func (e *env) quoteReq() client.SendQuoteRequest {
	return client.SendQuoteRequest{Title: "Fix the lint findings", Description: "Every finding in ./...", Price: 120,
		DeliveryDays: 3, Revisions: 1, Category: client.CategoryCode, Criteria: []string{"golangci-lint passes", "tests pass"},
		ExpiresAt: e.clock.Now().Add(72 * time.Hour)}
}

func (e *env) sendQuote(t *testing.T, c *client.ClientWithResponses, conv string, q client.SendQuoteRequest) client.Quote {
	t.Helper()
	resp, err := c.SendQuoteWithResponse(context.Background(), conv, q)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "sendQuote: %s", resp.Body)
	return *resp.JSON201
}

func (e *env) acceptQuote(t *testing.T, c *client.ClientWithResponses, quote string) *client.AcceptQuoteResponse {
	t.Helper()
	resp, err := c.AcceptQuoteWithResponse(context.Background(), quote, &client.AcceptQuoteParams{IdempotencyKey: uuid.NewString()})
	require.NoError(t, err)
	return resp
}

func (e *env) accept(t *testing.T, c *client.ClientWithResponses, quote string) client.Order {
	t.Helper()
	resp := e.acceptQuote(t, c, quote)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "acceptQuote: %s", resp.Body)
	return *resp.JSON201
}

func (e *env) getOrder(t *testing.T, c *client.ClientWithResponses, id string) client.Order {
	t.Helper()
	resp, err := c.GetOrderWithResponse(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "getOrder: %s", resp.Body)
	return *resp.JSON200
}

// poll calls pollAgentEvents.
func (e *env) poll(t *testing.T, c *client.ClientWithResponses, cursor string, wait int) client.AgentEventPage {
	t.Helper()
	p := &client.PollAgentEventsParams{}
	if cursor != "" {
		p.Cursor = &cursor
	}
	if wait > 0 {
		p.Wait = &wait
	}
	resp, err := c.PollAgentEventsWithResponse(context.Background(), p)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "pollAgentEvents: %s", resp.Body)
	return *resp.JSON200
}

func (e *env) ack(t *testing.T, c *client.ClientWithResponses, upTo string) {
	t.Helper()
	resp, err := c.AckAgentEventsWithResponse(context.Background(), client.AckRequest{UpTo: upTo})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode(), "ackAgentEvents: %s", resp.Body)
}

func eventTypes(evs []client.AgentEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

// drain polls from cursor until nothing is new and acknowledges it all.
func (e *env) drain(t *testing.T, c *client.ClientWithResponses, cursor string) ([]client.AgentEvent, string) {
	t.Helper()
	var all []client.AgentEvent
	for {
		page := e.poll(t, c, cursor, 0)
		all = append(all, page.Items...)
		cursor = page.NextCursor
		if len(page.Items) == 0 {
			break
		}
	}
	if len(all) > 0 {
		e.ack(t, c, cursor)
	}
	return all, cursor
}

func (e *env) orderStatus(t *testing.T, c *client.ClientWithResponses, id string) client.OrderStatus {
	t.Helper()
	return e.getOrder(t, c, id).Status
}

// runExpiry runs the timers' work now (the periodic job calls the same
// facade method) and says how many unapproved orders it expired.
func (e *env) runExpiry(t *testing.T) int {
	t.Helper()
	run, err := e.app.ordering.RunTimers(context.Background())
	n := run.Expired
	require.NoError(t, err)
	return n
}

// enqueue inserts a job as the periodic scheduler would.
func (e *env) enqueue(t *testing.T, job kernel.Job) {
	t.Helper()
	require.NoError(t, e.app.db.InTx(context.Background(), func(ctx context.Context) error { return e.app.queue.Enqueue(ctx, job) }))
}

// --- the whole path ----------------------------------------------------------

func TestOrderFlowAutoMode(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		ctx := context.Background()

		// The customer contacts the agent; the agent polls and sees the message.
		conv := e.contact(t, s.custC, s.agent.Handle, "Can you fix the lint findings in my repo?")
		require.Equal(t, s.agent.Id, conv.AgentId)
		require.Equal(t, s.customer.ID, conv.CustomerId)
		page := e.poll(t, s.agentC, "", 0)
		require.Equal(t, []string{"message.created"}, eventTypes(page.Items))
		ev := page.Items[0]
		require.False(t, ev.Redelivered)
		require.Equal(t, conv.Id, ev.Data["conversation_id"])
		require.Equal(t, "customer", ev.Data["author_kind"])
		require.Equal(t, "Can you fix the lint findings in my repo?", ev.Data["body"])
		require.Equal(t, ev.Id, page.NextCursor)
		require.Equal(t, 60, page.PollAfterSeconds, "the agent's cadence")
		e.ack(t, s.agentC, page.NextCursor)
		cursor := page.NextCursor

		// The agent answers and quotes; its own messages make no events.
		msg, err := s.agentC.PostMessageWithResponse(ctx, conv.Id, client.PostMessageRequest{Body: "Yes: 120 points, 3 days."})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, msg.StatusCode(), "%s", msg.Body)
		require.Equal(t, client.AuthorKindAgent, msg.JSON201.AuthorKind)
		q := e.sendQuote(t, s.agentC, conv.Id, e.quoteReq())
		require.Equal(t, client.QuoteStatusSent, q.Status)
		require.Equal(t, client.QuoteAuthorKindAgent, q.AuthorKind)
		require.Empty(t, e.poll(t, s.agentC, cursor, 0).Items)

		msgs, err := s.custC.ListMessagesWithResponse(ctx, conv.Id, &client.ListMessagesParams{})
		require.NoError(t, err)
		require.Len(t, msgs.JSON200.Items, 3)
		require.Equal(t, q.Id, *msgs.JSON200.Items[2].QuoteId)

		// The customer accepts: inside the bands, the order starts at once.
		before := e.wallet(t, s.custC)
		o := e.accept(t, s.custC, q.Id)
		require.Equal(t, client.OrderStatusInProgress, o.Status)
		require.Equal(t, int64(120), o.Price)
		require.Equal(t, 1, o.RevisionsLeft)
		require.NotNil(t, o.Deadline)
		require.WithinDuration(t, e.clock.Now().Add(3*24*time.Hour), *o.Deadline, time.Second)
		require.Equal(t, s.agent.SettingsVersion, o.Snapshot.SettingsVersion)
		require.Equal(t, []string{"golangci-lint passes", "tests pass"}, o.Snapshot.Criteria)
		require.Equal(t, client.OrderSnapshotAcceptModeAuto, o.Snapshot.AcceptMode)
		require.Nil(t, o.AwaitingApprovalBecause, "the customer does not see the gate's reasons")
		after := e.wallet(t, s.custC)
		require.Equal(t, before.Balance-120, after.Balance)
		require.Equal(t, before.Held+120, after.Held)

		// The agent polls and sees the acceptance and the order with its requirements.
		page = e.poll(t, s.agentC, cursor, 0)
		require.Equal(t, []string{"quote.accepted", "order.created"}, eventTypes(page.Items))
		created := page.Items[1].Data
		require.Equal(t, o.Id, created["order_id"])
		require.Equal(t, "in_progress", created["status"])
		require.Equal(t, "Fix the lint findings", created["requirements"].(map[string]any)["title"])
		e.ack(t, s.agentC, page.NextCursor)

		// Every party reads the order; the quote shows it.
		for _, c := range []*client.ClientWithResponses{s.custC, s.ownerC, s.agentC} {
			require.Equal(t, client.OrderStatusInProgress, e.getOrder(t, c, o.Id).Status)
		}
		qr, err := s.custC.GetQuoteWithResponse(ctx, q.Id)
		require.NoError(t, err)
		require.Equal(t, client.QuoteStatusAccepted, qr.JSON200.Status)
		require.Equal(t, o.Id, *qr.JSON200.OrderId)
		for _, c := range []*client.ClientWithResponses{s.custC, s.ownerC, s.agentC} {
			list, err := c.ListOrdersWithResponse(ctx, &client.ListOrdersParams{})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, list.StatusCode(), "%s", list.Body)
			require.Len(t, list.JSON200.Items, 1)
			require.Equal(t, o.Id, list.JSON200.Items[0].Id)
		}

		// Settings changed after the order never change its snapshot.
		e.updateAgent(t, s.ownerC, s.agent.Id, client.UpdateAgentRequest{Specialty: ptrTo("Now also fixes vet findings")})
		got := e.getOrder(t, s.custC, o.Id)
		require.Equal(t, o.Snapshot, got.Snapshot)
		page = e.poll(t, s.agentC, page.NextCursor, 0)
		require.Equal(t, []string{"settings.changed"}, eventTypes(page.Items))
		require.EqualValues(t, s.agent.SettingsVersion+1, page.Items[0].Data["settings_version"])

		e.requireLedgerOK(t)
	})
}

func TestOrderFlowManualApproveAndDecline(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.manualShop(t)
		ctx := context.Background()
		start := e.wallet(t, s.custC)

		conv := e.contact(t, s.custC, s.agent.Id, "Two jobs, please.")
		q1 := e.sendQuote(t, s.ownerC, conv.Id, e.quoteReq()) // the owner may quote too
		require.Equal(t, client.QuoteAuthorKindOwner, q1.AuthorKind)
		q2 := e.sendQuote(t, s.agentC, conv.Id, e.quoteReq())

		o1 := e.accept(t, s.custC, q1.Id)
		require.Equal(t, client.OrderStatusPendingApproval, o1.Status)
		require.Nil(t, o1.Deadline, "no deadline before work starts")
		require.NotNil(t, o1.ApprovalDeadline)
		require.WithinDuration(t, e.clock.Now().Add(48*time.Hour), *o1.ApprovalDeadline, time.Second)
		o2 := e.accept(t, s.custC, q2.Id)

		// The owner's queue; the reasons are the owner's to see.
		queue, err := s.ownerC.ListOrdersWithResponse(ctx, &client.ListOrdersParams{Status: ptrTo(client.OrderStatusPendingApproval), As: ptrTo(client.ListOrdersParamsAsOwner)})
		require.NoError(t, err)
		require.Len(t, queue.JSON200.Items, 2)
		require.NotEmpty(t, *queue.JSON200.Items[0].AwaitingApprovalBecause)
		require.Contains(t, (*queue.JSON200.Items[0].AwaitingApprovalBecause)[0], "manual")
		notes, err := s.ownerC.ListNotificationsWithResponse(ctx, &client.ListNotificationsParams{})
		require.NoError(t, err)
		require.Len(t, notes.JSON200.Items, 2)
		require.Equal(t, "ordering.order_awaiting_approval", notes.JSON200.Items[0].Kind)

		// Approve the first: it starts now, with its deadline.
		e.clock.Advance(time.Hour)
		ap, err := s.ownerC.ApproveOrderWithResponse(ctx, o1.Id, &client.ApproveOrderParams{IdempotencyKey: uuid.NewString()})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ap.StatusCode(), "%s", ap.Body)
		require.Equal(t, client.OrderStatusInProgress, ap.JSON200.Status)
		require.WithinDuration(t, e.clock.Now().Add(3*24*time.Hour), *ap.JSON200.Deadline, time.Second)

		// Decline the second: cancelled, and the points come back.
		dc, err := s.ownerC.DeclineOrderWithResponse(ctx, o2.Id, &client.DeclineOrderParams{IdempotencyKey: uuid.NewString()},
			client.DeclineOrderRequest{Reason: ptrTo("Too busy this week")})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, dc.StatusCode(), "%s", dc.Body)
		require.Equal(t, client.OrderStatusCancelled, dc.JSON200.Status)
		require.Equal(t, client.OrderCancelReasonDeclined, *dc.JSON200.CancelReason)
		w := e.wallet(t, s.custC)
		require.Equal(t, start.Balance-120, w.Balance, "only the approved order is paid for")
		require.Equal(t, int64(120), w.Held)
		refunds := e.allPostings(t, s.custC, ptrTo(client.PostingKindRefund), &o2.Id)
		require.Len(t, refunds, 1)
		require.Equal(t, int64(120), refunds[0].Amount)

		// Deciding again is refused.
		again, err := s.ownerC.ApproveOrderWithResponse(ctx, o2.Id, &client.ApproveOrderParams{IdempotencyKey: uuid.NewString()})
		require.NoError(t, err)
		requireProblem(t, again.HTTPResponse, again.Body, http.StatusConflict, "order-not-pending")

		// The agent sees each step.
		evs, _ := e.drain(t, s.agentC, "")
		require.Equal(t, []string{"message.created", "message.created", "quote.accepted", "order.created",
			"quote.accepted", "order.created", "order.approved", "order.cancelled"}, eventTypes(evs))
		require.Equal(t, "pending_approval", evs[3].Data["status"])
		require.Equal(t, "declined", evs[7].Data["reason"])
		e.requireLedgerOK(t)
	})
}

func TestUnapprovedOrdersExpireWithRefund(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.manualShop(t)
		start := e.wallet(t, s.custC)
		conv := e.contact(t, s.custC, s.agent.Id, "Please.")
		o := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)

		e.clock.Advance(48*time.Hour - time.Minute)
		require.Equal(t, 0, e.runExpiry(t))
		require.Equal(t, client.OrderStatusPendingApproval, e.orderStatus(t, s.custC, o.Id))

		// The periodic job does it, through River.
		e.clock.Advance(time.Minute)
		e.enqueue(t, ordering.TimersArgs{})
		e.waitJobsDone(t)
		got := e.getOrder(t, s.custC, o.Id)
		require.Equal(t, client.OrderStatusCancelled, got.Status)
		require.Equal(t, client.OrderCancelReasonExpired, *got.CancelReason)
		require.Equal(t, start, e.wallet(t, s.custC), "a full refund")
		require.Equal(t, 0, e.runExpiry(t), "once")

		evs, _ := e.drain(t, s.agentC, "")
		require.Equal(t, "order.cancelled", evs[len(evs)-1].Type)
		require.Equal(t, "expired", evs[len(evs)-1].Data["reason"])
		e.requireLedgerOK(t)
	})
}

func TestAcceptRefusals(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		ctx := context.Background()
		conv := e.contact(t, s.custC, s.agent.Id, "Hello")
		state := func() string {
			return fmt.Sprint(e.ledgerState(t), e.count(t, "orders"))
		}

		// Not enough points.
		big := e.quoteReq()
		big.Price = 5000
		q := e.sendQuote(t, s.agentC, conv.Id, big)
		before := state()
		resp := e.acceptQuote(t, s.custC, q.Id)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusUnprocessableEntity, "insufficient-points")
		require.Equal(t, before, state(), "nothing created")

		// Expired.
		short := e.quoteReq()
		short.ExpiresAt = e.clock.Now().Add(time.Hour)
		q = e.sendQuote(t, s.agentC, conv.Id, short)
		e.clock.Advance(time.Hour)
		resp = e.acceptQuote(t, s.custC, q.Id)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "quote-expired")
		gq, err := s.custC.GetQuoteWithResponse(ctx, q.Id)
		require.NoError(t, err)
		require.Equal(t, client.QuoteStatusExpired, gq.JSON200.Status)

		// Declined.
		q = e.sendQuote(t, s.agentC, conv.Id, e.quoteReq())
		dq, err := s.custC.DeclineQuoteWithResponse(ctx, q.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, dq.StatusCode(), "%s", dq.Body)
		require.Equal(t, client.QuoteStatusDeclined, dq.JSON200.Status)
		resp = e.acceptQuote(t, s.custC, q.Id)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "quote-declined")

		// Already accepted.
		q = e.sendQuote(t, s.agentC, conv.Id, e.quoteReq())
		e.accept(t, s.custC, q.Id)
		resp = e.acceptQuote(t, s.custC, q.Id)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "quote-already-accepted")

		// A paused agent takes no new orders.
		q = e.sendQuote(t, s.agentC, conv.Id, e.quoteReq())
		e.pause(t, s.ownerC, s.agent.Id)
		before = state()
		resp = e.acceptQuote(t, s.custC, q.Id)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "agent-unavailable")
		require.Equal(t, before, state())

		// A suspended one neither.
		e.publish(t, s.ownerC, s.agent.Id)
		e.setAgent(t, s.agent.Id, map[string]any{"status": "suspended"})
		resp = e.acceptQuote(t, s.custC, q.Id)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "agent-suspended")
		require.Equal(t, before, state())

		// The wrong kind of credentials is told what the operation takes.
		resp = e.acceptQuote(t, s.agentC, q.Id)
		p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "unauthenticated")
		require.Contains(t, *p.Detail, "agent key works only on the agent's operations")
		poll, err := s.custC.PollAgentEventsWithResponse(ctx, &client.PollAgentEventsParams{})
		require.NoError(t, err)
		p = requireProblem(t, poll.HTTPResponse, poll.Body, http.StatusUnauthorized, "unauthenticated")
		require.Contains(t, *p.Detail, "this operation is for agents")
		e.requireLedgerOK(t)
	})
}

func TestConcurrentAcceptsMakeOneOrder(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		conv := e.contact(t, s.custC, s.agent.Id, "Hello")
		q := e.sendQuote(t, s.agentC, conv.Id, e.quoteReq())
		const n = 8
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				resp, err := s.custC.AcceptQuoteWithResponse(context.Background(), q.Id, &client.AcceptQuoteParams{IdempotencyKey: uuid.NewString()})
				if err == nil {
					codes[i] = resp.StatusCode()
				}
			})
		}
		wg.Wait()
		created := 0
		for _, c := range codes {
			if c == http.StatusCreated {
				created++
			} else {
				require.Equal(t, http.StatusConflict, c)
			}
		}
		require.Equal(t, 1, created, "codes %v", codes)
		require.Equal(t, 1, e.count(t, "orders"))
		require.Equal(t, int64(120), e.wallet(t, s.custC).Held)
		e.requireLedgerOK(t)
	})
}

func TestAutoModeBands(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		req := wizard("bands")
		req.AutoBands.MaxActiveOrders = 1
		s := e.newShop(t, req)
		e.credit(t, e.withCookie(t, e.supportAccount(t, "support-"+randomID()+"@example.com").Session), s.customer.ID, uuid.NewString(), 5000, "test points")
		conv := e.contact(t, s.custC, s.agent.Id, "Several jobs")
		place := func(edit func(*client.SendQuoteRequest)) client.Order {
			q := e.quoteReq()
			edit(&q)
			return e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, q).Id)
		}
		inside := place(func(*client.SendQuoteRequest) {})
		require.Equal(t, client.OrderStatusInProgress, inside.Status)

		cases := map[string]func(*client.SendQuoteRequest){
			"max_active_orders": func(*client.SendQuoteRequest) {},
			"price":             func(q *client.SendQuoteRequest) { q.Price = 600 },
			"categories":        func(q *client.SendQuoteRequest) { q.Category = client.CategoryData },
			"max_revisions":     func(q *client.SendQuoteRequest) { q.Revisions = 3 },
		}
		for band, edit := range cases {
			o := place(edit)
			require.Equal(t, client.OrderStatusPendingApproval, o.Status, band)
			owner := e.getOrder(t, s.ownerC, o.Id)
			require.True(t, strings.HasPrefix(strings.Join(*owner.AwaitingApprovalBecause, "|"), band) ||
				strings.Contains(strings.Join(*owner.AwaitingApprovalBecause, "|"), "|"+band), "%s: %v", band, *owner.AwaitingApprovalBecause)
		}
		e.requireLedgerOK(t)
	})
}

func TestEventsLongPoll(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		conv := e.contact(t, s.custC, s.agent.Id, "first")
		_, cursor := e.drain(t, s.agentC, "")

		// Nothing new: the poll holds for wait and answers empty.
		start := time.Now()
		page := e.poll(t, s.agentC, cursor, 1)
		took := time.Since(start)
		require.Empty(t, page.Items)
		require.Equal(t, cursor, page.NextCursor)
		require.GreaterOrEqual(t, took, time.Second)
		require.Less(t, took, 2*time.Second, "within wait + 1 s")

		// An event wakes a waiting poll at once.
		got := make(chan client.AgentEventPage, 1)
		go func() { got <- e.poll(t, s.agentC, cursor, 10) }()
		require.Eventually(t, func() bool { return e.app.hub.Waiting() == 1 }, 5*time.Second, 5*time.Millisecond)
		sent := time.Now()
		_, err := s.custC.PostMessageWithResponse(context.Background(), conv.Id, client.PostMessageRequest{Body: "second"})
		require.NoError(t, err)
		select {
		case page = <-got:
			require.Less(t, time.Since(sent), time.Second)
			require.Equal(t, []string{"message.created"}, eventTypes(page.Items))
			require.Equal(t, "second", page.Items[0].Data["body"])
		case <-time.After(5 * time.Second):
			t.Fatal("the waiting poll was not woken")
		}
	})
}

func TestEventsRedeliveryAndAck(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		e.contact(t, s.custC, s.agent.Id, "one")
		e.contact(t, s.custC, s.agent.Id, "two")

		page := e.poll(t, s.agentC, "", 0)
		require.Len(t, page.Items, 2)
		cursor := page.NextCursor
		// Handed out and leased: polling after the cursor shows nothing.
		require.Empty(t, e.poll(t, s.agentC, cursor, 0).Items)

		// The lease runs out without an ack: both come back, marked.
		e.clock.Advance(ordering.EventLease + time.Second)
		again := e.poll(t, s.agentC, cursor, 0)
		require.Len(t, again.Items, 2)
		require.True(t, again.Items[0].Redelivered)
		require.Equal(t, page.Items[0].Id, again.Items[0].Id)

		// Acknowledge the first: only the second comes back after the next lease.
		e.ack(t, s.agentC, page.Items[0].Id)
		e.clock.Advance(ordering.EventLease + time.Second)
		third := e.poll(t, s.agentC, cursor, 0)
		require.Len(t, third.Items, 1)
		require.Equal(t, page.Items[1].Id, third.Items[0].Id)

		// Acknowledge all: nothing ever comes back; a poll without a cursor starts after it.
		e.ack(t, s.agentC, cursor)
		e.clock.Advance(ordering.EventLease + time.Second)
		require.Empty(t, e.poll(t, s.agentC, cursor, 0).Items)
		empty := e.poll(t, s.agentC, "", 0)
		require.Empty(t, empty.Items)
		require.Equal(t, cursor, empty.NextCursor)

		// Bad cursors and acks are refused clearly.
		ahead := strconv.Itoa(1000)
		resp, err := s.agentC.PollAgentEventsWithResponse(context.Background(), &client.PollAgentEventsParams{Cursor: &ahead})
		require.NoError(t, err)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		ar, err := s.agentC.AckAgentEventsWithResponse(context.Background(), client.AckRequest{UpTo: ahead})
		require.NoError(t, err)
		requireProblem(t, ar.HTTPResponse, ar.Body, http.StatusBadRequest, "validation")
	})
}

func TestPollRecordsLastSeenAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t) // polling interval 60 s
		require.Nil(t, e.myAgent(t, s.ownerC, s.agent.Id).LastPollAt)

		e.poll(t, s.agentC, "", 0)
		first := e.myAgent(t, s.ownerC, s.agent.Id).LastPollAt
		require.NotNil(t, first)
		require.WithinDuration(t, e.clock.Now(), *first, time.Second)
		require.True(t, e.getAgent(t, s.agent.Id).JSON200.Online)

		// Within the interval a poll writes nothing.
		e.clock.Advance(59 * time.Second)
		e.poll(t, s.agentC, "", 0)
		require.Equal(t, *first, *e.myAgent(t, s.ownerC, s.agent.Id).LastPollAt)

		// After it, the next poll records the time again.
		e.clock.Advance(time.Second)
		e.poll(t, s.agentC, "", 0)
		require.WithinDuration(t, e.clock.Now(), *e.myAgent(t, s.ownerC, s.agent.Id).LastPollAt, time.Second)

		// Without polls the agent goes offline after twice its interval.
		e.clock.Advance(121 * time.Second)
		require.False(t, e.getAgent(t, s.agent.Id).JSON200.Online)
	})
}

func TestEventTypesAreDocumentedInTheSkillPackage(t *testing.T) {
	t.Parallel()
	for _, typ := range ordering.EventTypes {
		require.Contains(t, skills.EventTypes, typ, "HEARTBEAT_EVENTS.md must document every event the ordering module emits")
	}
}

func TestEventsKeptThirtyDays(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		e.contact(t, s.custC, s.agent.Id, "old")
		e.clock.Advance(29 * 24 * time.Hour)
		again := e.withCookie(t, e.signIn(t, s.customer.Email, s.customer.Password)) // the old session has lapsed
		e.contact(t, again, s.agent.Id, "newer")
		e.enqueue(t, ordering.PurgeEventsArgs{})
		e.waitJobsDone(t)
		require.Len(t, e.poll(t, s.agentC, "", 0).Items, 2, "nothing is 30 days old yet")

		e.clock.Advance(24*time.Hour + time.Second)
		e.enqueue(t, ordering.PurgeEventsArgs{})
		e.waitJobsDone(t)
		e.clock.Advance(ordering.EventLease + time.Second)
		page := e.poll(t, s.agentC, "", 0)
		require.Len(t, page.Items, 1, "the first event is gone")
		require.Equal(t, "newer", page.Items[0].Data["body"])
	})
}

func TestDrainAnswersHeldPolls(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		got := make(chan client.AgentEventPage, 1)
		go func() { got <- e.poll(t, s.agentC, "", 20) }()
		require.Eventually(t, func() bool { return e.app.hub.Waiting() == 1 }, 5*time.Second, 5*time.Millisecond)
		start := time.Now()
		e.app.ordering.Drain() // what SIGTERM does before the server stops
		select {
		case page := <-got:
			require.Empty(t, page.Items)
			require.Less(t, time.Since(start), time.Second)
		case <-time.After(5 * time.Second):
			t.Fatal("a held poll kept the server from draining")
		}
	})
}

func TestDeclineOrderWithoutBody(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.manualShop(t)
		conv := e.contact(t, s.custC, s.agent.Id, "Please.")
		o := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
		h := http.Header{"Idempotency-Key": {uuid.NewString()}, "Cookie": {"heepr_session=" + s.owner.Session}}
		resp, body := e.do(t, http.MethodPost, "/v1/orders/"+o.Id+"/decline", nil, h)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		require.Equal(t, client.OrderStatusCancelled, e.orderStatus(t, s.custC, o.Id))
		e.requireLedgerOK(t)
	})
}

func TestListQuotesPages(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		conv := e.contact(t, s.custC, s.agent.Id, "Quote me a few options")
		var sent []string
		for range 5 {
			sent = append(sent, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
		}
		var got []string
		var cursor *string
		for {
			resp, err := s.custC.ListQuotesWithResponse(context.Background(), conv.Id, &client.ListQuotesParams{Cursor: cursor, Limit: ptrTo(2)})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)
			for _, q := range resp.JSON200.Items {
				got = append(got, q.Id)
			}
			if resp.JSON200.NextCursor == nil {
				break
			}
			cursor = resp.JSON200.NextCursor
		}
		require.Equal(t, []string{sent[4], sent[3], sent[2], sent[1], sent[0]}, got, "newest first, each once")
	})
}

// feedReads counts the feed reads that go through bun (on SQLite, all of them).
// feedReads counts the reads of agents' feed positions (n) and keys (keys).
type feedReads struct{ n, keys atomic.Int64 }

func (f *feedReads) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (f *feedReads) AfterQuery(_ context.Context, ev *bun.QueryEvent) {
	if strings.HasPrefix(ev.Query, "SELECT last_seq, acked_seq FROM agent_feeds") {
		f.n.Add(1)
	}
	if strings.HasPrefix(ev.Query, "SELECT id FROM agents WHERE key_hash") {
		f.keys.Add(1)
	}
}

// pollLines counts the request log lines of pollAgentEvents (at Info or above).
func pollLines(e *env) int {
	n := 0
	for line := range strings.Lines(e.logs.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "request" && rec["route"] == "GET /v1/agent/events" {
			n++
		}
	}
	return n
}

// A poll with nothing new answers from memory, the agent's key included,
// and is logged at Debug only; any event for the agent drops that memory
// before the next poll.
func TestPollWithNothingNewSkipsTheDatabase(t *testing.T) {
	t.Parallel()
	tg := storetest.Targets(t)[0] // SQLite: every query passes bun's hooks
	e := newEnv(t, tg)
	reads := &feedReads{}
	e.app.db.Bun.AddQueryHook(reads)
	s := e.autoShop(t)
	conv := e.contact(t, s.custC, s.agent.Id, "hello")
	_, cursor := e.drain(t, s.agentC, "")

	e.poll(t, s.agentC, cursor, 0) // reads the feed once and keeps it
	before, keysBefore, linesBefore := reads.n.Load(), reads.keys.Load(), pollLines(e)
	for range 5 {
		require.Empty(t, e.poll(t, s.agentC, cursor, 0).Items)
	}
	require.Equal(t, before, reads.n.Load(), "polls with nothing new read no feed")
	require.Equal(t, keysBefore, reads.keys.Load(), "the agent's key is remembered")
	require.Equal(t, linesBefore, pollLines(e), "a poll with nothing new is logged at Debug")

	_, err := s.custC.PostMessageWithResponse(context.Background(), conv.Id, client.PostMessageRequest{Body: "news"})
	require.NoError(t, err)
	page := e.poll(t, s.agentC, cursor, 0)
	require.Equal(t, []string{"message.created"}, eventTypes(page.Items), "the write dropped the cached feed")
	require.Greater(t, reads.n.Load(), before)
	require.Equal(t, linesBefore+1, pollLines(e), "a poll that hands out events is logged at Info")
}
