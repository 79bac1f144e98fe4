package main

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/api/client"
	"github.com/heepr/heepr/modules/kernel"
)

// What the web app reads without workarounds: an order's review id, the
// owner's queue of human requests, and any order for support.

// reviewIDs maps each order of a list to its review id ("" for none).
func reviewIDs(os []client.Order) map[string]string {
	out := map[string]string{}
	for _, o := range os {
		out[o.Id] = deref(o.ReviewId)
	}
	return out
}

// An order carries the id of its review once the customer wrote one, for
// every party, in getOrder and listOrders (paged and by status).
func TestOrderReviewID(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		o1 := e.completedOrder(t, s)
		o2 := e.completedOrder(t, s)
		require.Nil(t, o1.ReviewId, "acceptDelivery: not reviewed yet")
		parties := map[string]*client.ClientWithResponses{"customer": s.custC, "owner": s.ownerC, "agent": s.agentC}
		for who, c := range parties {
			require.Nil(t, e.getOrder(t, c, o1.Id).ReviewId, "%s: not reviewed yet", who)
			require.Equal(t, map[string]string{o1.Id: "", o2.Id: ""}, reviewIDs(e.orders(t, c, client.ListOrdersParams{}).Items), who)
		}

		r := e.createReview(t, s.custC, o1.Id, 4, "Good work.")
		require.Equal(t, http.StatusCreated, r.StatusCode(), "%s", r.Body)
		review := r.JSON201.Id
		for who, c := range parties {
			require.Equal(t, review, deref(e.getOrder(t, c, o1.Id).ReviewId), "%s: getOrder of the reviewed order", who)
			require.Nil(t, e.getOrder(t, c, o2.Id).ReviewId, "%s: getOrder of the other order", who)
			want := map[string]string{o1.Id: review, o2.Id: ""}
			require.Equal(t, want, reviewIDs(e.orders(t, c, client.ListOrdersParams{}).Items), "%s: listOrders", who)
			completed := client.OrderStatusCompleted
			require.Equal(t, want, reviewIDs(e.orders(t, c, client.ListOrdersParams{Status: &completed}).Items), "%s: listOrders by status", who)
			var paged []client.Order
			ids := pageThrough(t, 1, func(cursor *string) ([]string, *string) {
				l := e.orders(t, c, client.ListOrdersParams{Limit: ptrTo(1), Cursor: cursor})
				paged = append(paged, l.Items...)
				return orderIDs(l.Items), l.NextCursor
			})
			require.Equal(t, []string{o2.Id, o1.Id}, ids, "%s: newest first", who)
			require.Equal(t, want, reviewIDs(paged), "%s: listOrders a page at a time", who)
		}

		// A second review is refused and the id stays; the owner answers on it.
		again := e.createReview(t, s.custC, o1.Id, 1, "Changed my mind.")
		requireProblem(t, again.HTTPResponse, again.Body, http.StatusConflict, "already-reviewed")
		require.Equal(t, review, deref(e.getOrder(t, s.custC, o1.Id).ReviewId))
		rp, err := s.ownerC.ReplyToReviewWithResponse(ctx, deref(e.getOrder(t, s.ownerC, o1.Id).ReviewId), client.ReplyRequest{Text: "Thanks!"})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rp.StatusCode(), "%s", rp.Body)

		// Flagged after review (a policy violation): the order support sees in the case keeps it.
		_, supportC := e.modSupport(t)
		c := e.modFlag(t, s.custC, o1.Id, client.FlagReasonPolicyViolation, "The text copies someone else's.")
		cs, err := supportC.GetCaseWithResponse(ctx, c.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, cs.StatusCode(), "%s", cs.Body)
		require.Equal(t, review, deref(cs.JSON200.Order.ReviewId))
		require.Equal(t, review, deref(e.getOrder(t, s.custC, o1.Id).ReviewId), "a disputed order keeps its review")
	})
}

// listConversations with human_requested: only the threads waiting for
// the owner (or only the others), with as, on every side, page by page in
// the order of the whole list.
func TestListConversationsHumanRequested(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		// Six threads with the shop's agent, from three customers; the
		// customer asks for a human in three of them, interleaved.
		custs := []*client.ClientWithResponses{s.custC}
		for range 2 {
			a := e.signUp(t, "hr-"+randomID()[:8]+"@example.com", client.SignUpRequestRoleCustomer)
			custs = append(custs, e.withCookie(t, a.Session))
		}
		var convs []client.Conversation
		asked := map[string]bool{}
		for i := range 6 {
			c := custs[i%3]
			conv := e.contact(t, c, s.agent.Id, "Thread "+string(rune('A'+i)))
			e.clock.Advance(time.Second)
			if i%2 == 0 {
				resp, err := c.RequestHumanWithResponse(ctx, conv.Id)
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)
				asked[conv.Id] = true
			}
			convs = append(convs, conv)
		}
		// The owner is also a customer elsewhere, waiting for a human there.
		elsewhere := e.autoShop(t)
		mine := e.contact(t, s.ownerC, elsewhere.agent.Id, "Owner buying.")
		resp, err := s.ownerC.RequestHumanWithResponse(ctx, mine.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)

		// list reads a whole list a page of limit at a time.
		list := func(c *client.ClientWithResponses, as *client.ListConversationsParamsAs, human *bool, limit int) []string {
			t.Helper()
			return pageThrough(t, limit, func(cursor *string) ([]string, *string) {
				l := e.conversations(t, c, client.ListConversationsParams{As: as, HumanRequested: human, Limit: ptrTo(limit), Cursor: cursor})
				for _, c := range l.Items {
					if human != nil {
						require.Equal(t, *human, c.HumanRequested, "conversation %s in a human_requested=%v list", c.Id, *human)
					}
				}
				return conversationIDs(l.Items), l.NextCursor
			})
		}
		// keep is the whole list's order, narrowed to the threads with the flag.
		keep := func(all []string, flag bool, ask map[string]bool) []string {
			return slices.DeleteFunc(slices.Clone(all), func(id string) bool { return ask[id] != flag })
		}
		yes, no := ptrTo(true), ptrTo(false)
		owner, customer := ptrTo(client.ListConversationsParamsAsOwner), ptrTo(client.ListConversationsParamsAsCustomer)
		askedAll := map[string]bool{mine.Id: true}
		for id := range asked {
			askedAll[id] = true
		}

		check := func(stage string) {
			t.Helper()
			ownerAll := list(s.ownerC, owner, nil, 100)
			require.Len(t, ownerAll, 6, stage)
			everything := list(s.ownerC, nil, nil, 100)
			require.Len(t, everything, 7, stage)
			for _, limit := range []int{1, 2, 100} {
				require.Equal(t, keep(ownerAll, true, asked), list(s.ownerC, owner, yes, limit), "%s: owner's queue, limit %d", stage, limit)
				require.Equal(t, keep(ownerAll, false, asked), list(s.ownerC, owner, no, limit), "%s: owner's other threads, limit %d", stage, limit)
				require.Equal(t, keep(everything, true, askedAll), list(s.ownerC, nil, yes, limit), "%s: both sides, limit %d", stage, limit)
				require.Equal(t, keep(ownerAll, true, asked), list(s.agentC, nil, yes, limit), "%s: the agent, limit %d", stage, limit)
			}
			require.Equal(t, []string{mine.Id}, list(s.ownerC, customer, yes, 1), "%s: the owner as a customer", stage)
			require.Empty(t, list(s.ownerC, customer, no, 1), stage)
			custAll := list(s.custC, nil, nil, 100)
			require.Len(t, custAll, 2, stage)
			require.Equal(t, keep(custAll, true, asked), list(s.custC, nil, yes, 1), "%s: a customer", stage)
			require.Equal(t, keep(custAll, false, asked), list(s.custC, customer, no, 1), "%s: a customer, as customer", stage)
		}
		check("three asked")
		require.Len(t, asked, 3)

		// The owner answers one: it leaves the queue and joins the others.
		e.post(t, s.ownerC, convs[2].Id, "Hi, the owner here.")
		delete(asked, convs[2].Id)
		delete(askedAll, convs[2].Id)
		check("one answered")

		// A value that is not a boolean is a field error; as still applies.
		r, body := e.do(t, http.MethodGet, "/v1/conversations?human_requested=maybe", nil, cookieHeader(s.owner.Session))
		p := requireProblem(t, r, body, http.StatusBadRequest, "validation")
		require.Contains(t, fieldNames(p), "human_requested")
		c := e.withCookie(t, s.customer.Session)
		lr, err := c.ListConversationsWithResponse(ctx, &client.ListConversationsParams{As: owner, HumanRequested: yes})
		require.NoError(t, err)
		requireProblem(t, lr.HTTPResponse, lr.Body, http.StatusBadRequest, "validation")
	})
}

// Support reads any order through getOrder, with every delivery, and still
// cannot act on it as its customer or its owner.
func TestSupportReadsAnyOrder(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s, o := e.startedOrder(t)
		d := e.deliver(t, s.agentC, o.Id, "First go.", upload{"report.md", []byte("# Report\n")})
		e.reject(t, s.ownerC, d.Id, "Add the summary.")
		d2 := e.deliver(t, s.agentC, o.Id, "Second go.", upload{"report.md", []byte("# Report\nSummary.\n")})
		m := e.manualShop(t)
		pending := e.accept(t, m.custC, e.sendQuote(t, m.agentC, e.contact(t, m.custC, m.agent.Id, "Hi").Id, e.quoteReq()).Id)
		require.Equal(t, client.OrderStatusPendingApproval, pending.Status)

		support := e.supportAccount(t, "staff-"+randomID()[:6]+"@heepr.dev")
		supportC := e.withCookie(t, support.Session)
		token := e.withBearer(t, e.createToken(t, supportC, "staff script").Token)
		for _, c := range []*client.ClientWithResponses{supportC, token} {
			got := e.getOrder(t, c, o.Id)
			owners := e.getOrder(t, s.ownerC, o.Id)
			owners.AwaitingApprovalBecause = nil // for the owner and the agent only
			require.Equal(t, owners, got, "support reads what the owner reads")
			require.Equal(t, client.OrderStatusInReview, got.Status)
			require.Len(t, got.Deliveries, 2, "support sees every delivery, released or not")
			require.Equal(t, "Add the summary.", deref(got.Deliveries[0].RejectNote))
			require.Equal(t, d2.Id, got.Deliveries[1].Id)
			require.Empty(t, e.getOrder(t, s.custC, o.Id).Deliveries, "the customer still sees none before release")

			p := e.getOrder(t, c, pending.Id)
			require.Equal(t, client.OrderStatusPendingApproval, p.Status)
			require.Nil(t, p.AwaitingApprovalBecause, "why it waits is for the owner and the agent")
			require.NotNil(t, e.getOrder(t, m.ownerC, pending.Id).AwaitingApprovalBecause)

			r, err := c.GetOrderWithResponse(ctx, kernel.NewID())
			require.NoError(t, err)
			requireProblem(t, r.HTTPResponse, r.Body, http.StatusNotFound, "not-found")
		}

		// Reading is all: every action on the order is refused and changes nothing.
		before := e.orderingState(t)
		key := func() string { return uuid.NewString() }
		acts := map[string]func() (*http.Response, []byte){
			"acceptDelivery": func() (*http.Response, []byte) {
				r, err := supportC.AcceptDeliveryWithResponse(ctx, o.Id, &client.AcceptDeliveryParams{IdempotencyKey: key()})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"requestRevision": func() (*http.Response, []byte) {
				r, err := supportC.RequestRevisionWithResponse(ctx, o.Id, client.RevisionRequest{Notes: "More.", UnmetCriteria: []string{"tests pass"}})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"cancelOrder": func() (*http.Response, []byte) {
				r := e.cancelOrder(t, supportC, pending.Id)
				return r.HTTPResponse, r.Body
			},
			"createReview": func() (*http.Response, []byte) {
				r := e.createReview(t, supportC, o.Id, 5, "Great")
				return r.HTTPResponse, r.Body
			},
			"flagOrder": func() (*http.Response, []byte) {
				r, err := supportC.FlagOrderWithResponse(ctx, o.Id, client.FlagRequest{Reason: client.FlagReasonOther})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"approveOrder": func() (*http.Response, []byte) {
				r, err := supportC.ApproveOrderWithResponse(ctx, pending.Id, &client.ApproveOrderParams{IdempotencyKey: key()})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"declineOrder": func() (*http.Response, []byte) {
				r, err := supportC.DeclineOrderWithResponse(ctx, pending.Id, &client.DeclineOrderParams{IdempotencyKey: key()}, client.DeclineOrderRequest{})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"releaseDelivery": func() (*http.Response, []byte) {
				r, err := supportC.ReleaseDeliveryWithResponse(ctx, d2.Id)
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"rejectDelivery": func() (*http.Response, []byte) {
				r, err := supportC.RejectDeliveryWithResponse(ctx, d2.Id, client.RejectDeliveryRequest{Note: "No."})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"postMessage": func() (*http.Response, []byte) {
				r, err := supportC.PostMessageWithResponse(ctx, o.ConversationId, client.PostMessageRequest{Body: "Support here."})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"listOrders": func() (*http.Response, []byte) {
				r, err := supportC.ListOrdersWithResponse(ctx, &client.ListOrdersParams{})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
		}
		for name, act := range acts {
			resp, body := act()
			require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s as support: %s", name, body)
		}
		e.requireOrderingUnchanged(t, before, "support acting on an order")
		require.Equal(t, client.OrderStatusInReview, e.getOrder(t, s.custC, o.Id).Status)
	})
}
