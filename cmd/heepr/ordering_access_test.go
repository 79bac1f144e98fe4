package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	httpapi "github.com/heepr/heepr/adapters/http"
	"github.com/heepr/heepr/api/client"
)

// Ordering's edges through HTTP (issue 5): objects of other people answer
// 404 exactly like missing ones, bad input is refused clearly and changes
// nothing, asking for a human reaches the owner, and the lists page.

// --- helpers ---------------------------------------------------------------

// idRow is a row's id and the state a refused request must not move.
type idRow struct {
	ID    string `bun:"id"`
	State string `bun:"state"`
}

// orderingState is every row count and state an ordering request can
// change, and the ledger.
type orderingState struct {
	Counts        map[string]int
	Orders        []idRow
	Quotes        []idRow
	Conversations []idRow
	Ledger        ledgerState
}

func (e *env) orderingState(t *testing.T) orderingState {
	t.Helper()
	ctx := context.Background()
	s := orderingState{Counts: map[string]int{}, Ledger: e.ledgerState(t)}
	for _, table := range []string{"conversations", "messages", "quotes", "orders", "notifications", "agent_events"} {
		s.Counts[table] = e.count(t, table)
	}
	db := e.app.db.Bun
	// Jobs a request enqueues (River's periodic jobs come and go on their own).
	n, err := db.NewSelect().Table("river_job").Where("kind = ?", "notification.email").Count(ctx)
	require.NoError(t, err)
	s.Counts["email jobs"] = int(n)
	require.NoError(t, db.NewSelect().Table("orders").ColumnExpr("id, status AS state").OrderExpr("id").Scan(ctx, &s.Orders))
	require.NoError(t, db.NewSelect().Table("quotes").ColumnExpr("id, status AS state").OrderExpr("id").Scan(ctx, &s.Quotes))
	require.NoError(t, db.NewSelect().Table("conversations").
		ColumnExpr("id, CASE WHEN human_requested_at IS NULL THEN 'no' ELSE 'asked' END || ':' || CAST(last_message_us AS TEXT) AS state").
		OrderExpr("id").Scan(ctx, &s.Conversations))
	return s
}

func (e *env) requireOrderingUnchanged(t *testing.T, before orderingState, msg string) {
	t.Helper()
	require.Equal(t, before, e.orderingState(t), "%s changed something", msg)
}

// cookieHeader carries a session for a raw request.
func cookieHeader(session string) http.Header {
	return http.Header{"Cookie": {httpapi.SessionCookie + "=" + session}}
}

// problemBody is a problem without what differs between two requests
// (instance and request id): two answers that leak nothing are equal here.
func problemBody(t *testing.T, body []byte) client.Problem {
	t.Helper()
	var p client.Problem
	require.NoError(t, json.Unmarshal(body, &p), "%s", body)
	p.Instance, p.RequestId = nil, nil
	return p
}

// pageThrough reads a whole list with one page size: every page but the
// last is full, and only the last has no next_cursor.
func pageThrough(t *testing.T, limit int, page func(cursor *string) ([]string, *string)) []string {
	t.Helper()
	var all []string
	var cursor *string
	for i := 0; ; i++ {
		require.Less(t, i, 100, "the list never ends")
		ids, next := page(cursor)
		require.LessOrEqual(t, len(ids), limit)
		all = append(all, ids...)
		if next == nil {
			return all
		}
		require.Len(t, ids, limit, "a page with a next_cursor is full")
		cursor = next
	}
}

func conversationIDs(cs []client.Conversation) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Id
	}
	return out
}

func orderIDs(os []client.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.Id
	}
	return out
}

func (e *env) conversations(t *testing.T, c *client.ClientWithResponses, p client.ListConversationsParams) client.ConversationList {
	t.Helper()
	resp, err := c.ListConversationsWithResponse(context.Background(), &p)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listConversations: %s", resp.Body)
	return *resp.JSON200
}

func (e *env) orders(t *testing.T, c *client.ClientWithResponses, p client.ListOrdersParams) client.OrderList {
	t.Helper()
	resp, err := c.ListOrdersWithResponse(context.Background(), &p)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listOrders: %s", resp.Body)
	return *resp.JSON200
}

func (e *env) messages(t *testing.T, c *client.ClientWithResponses, conv string, p client.ListMessagesParams) client.MessageList {
	t.Helper()
	resp, err := c.ListMessagesWithResponse(context.Background(), conv, &p)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listMessages: %s", resp.Body)
	return *resp.JSON200
}

func (e *env) conversation(t *testing.T, c *client.ClientWithResponses, id string) client.Conversation {
	t.Helper()
	resp, err := c.GetConversationWithResponse(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "getConversation: %s", resp.Body)
	return *resp.JSON200
}

func (e *env) post(t *testing.T, c *client.ClientWithResponses, conv, body string) client.Message {
	t.Helper()
	resp, err := c.PostMessageWithResponse(context.Background(), conv, client.PostMessageRequest{Body: body})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "postMessage: %s", resp.Body)
	return *resp.JSON201
}

func (e *env) notifications(t *testing.T, c *client.ClientWithResponses) []client.Notification {
	t.Helper()
	resp, err := c.ListNotificationsWithResponse(context.Background(), &client.ListNotificationsParams{Limit: ptrTo(100)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listNotifications: %s", resp.Body)
	return resp.JSON200.Items
}

// mailTo lists the captured mail to an address with a subject, newest first.
func (e *env) mailTo(t *testing.T, to, subject string) []string {
	t.Helper()
	out, err := e.heepr(t, "", "mail", "list")
	require.NoError(t, err)
	var ids []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, to) && strings.Contains(line, subject) {
			ids = append(ids, strings.Fields(line)[0])
		}
	}
	return ids
}

// tamperedCursors are cursors the API never issued, made from one it did.
func tamperedCursors(cur string) []string {
	return []string{
		"not-a-cursor",
		"A" + cur[1:],
		cur[:len(cur)-3],
		cur + "!",
		base64.RawURLEncoding.EncodeToString([]byte(`{"k":"x","i":"y"}`)),
		base64.RawURLEncoding.EncodeToString([]byte(`{"k":1}`)),
		base64.RawURLEncoding.EncodeToString([]byte(`[]`)),
		base64.RawURLEncoding.EncodeToString([]byte(`not json`)),
	}
}

// --- 1. object access ---------------------------------------------------------

// op calls one ordering operation on an object id as a client.
type op struct {
	name string
	kind string // conversation, quote or order
	call func(c *client.ClientWithResponses, id string) (*http.Response, []byte)
}

func orderingOps(t *testing.T, e *env) []op {
	ctx := context.Background()
	key := func() string { return uuid.NewString() }
	return []op{
		{"getConversation", "conversation", func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
			r, err := c.GetConversationWithResponse(ctx, id)
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"listMessages", "conversation", func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
			r, err := c.ListMessagesWithResponse(ctx, id, &client.ListMessagesParams{})
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"postMessage", "conversation", func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
			r, err := c.PostMessageWithResponse(ctx, id, client.PostMessageRequest{Body: "Is anybody there?"})
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"requestHuman", "conversation", func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
			r, err := c.RequestHumanWithResponse(ctx, id)
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"listQuotes", "conversation", func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
			r, err := c.ListQuotesWithResponse(ctx, id, &client.ListQuotesParams{})
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"sendQuote", "conversation", func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
			r, err := c.SendQuoteWithResponse(ctx, id, e.quoteReq())
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"getQuote", "quote", func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
			r, err := c.GetQuoteWithResponse(ctx, id)
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"acceptQuote", "quote", func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
			r, err := c.AcceptQuoteWithResponse(ctx, id, &client.AcceptQuoteParams{IdempotencyKey: key()})
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"declineQuote", "quote", func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
			r, err := c.DeclineQuoteWithResponse(ctx, id)
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"getOrder", "order", func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
			r, err := c.GetOrderWithResponse(ctx, id)
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"approveOrder", "order", func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
			r, err := c.ApproveOrderWithResponse(ctx, id, &client.ApproveOrderParams{IdempotencyKey: key()})
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"declineOrder", "order", func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
			r, err := c.DeclineOrderWithResponse(ctx, id, &client.DeclineOrderParams{IdempotencyKey: key()},
				client.DeclineOrderRequest{Reason: ptrTo("not mine to decline")})
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}},
	}
}

func TestOrderingForeignObjectsAreNotFound(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		// The shop whose objects are probed: a conversation, an open quote
		// and an order waiting for its owner.
		s := e.manualShop(t)
		conv := e.contact(t, s.custC, s.agent.Id, "Private: the repo is at git.example.com/secret")
		o := e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
		require.Equal(t, client.OrderStatusPendingApproval, o.Status)
		q := e.sendQuote(t, s.agentC, conv.Id, e.quoteReq())
		ids := map[string]string{"conversation": conv.Id, "quote": q.Id, "order": o.Id}

		// Another shop: its owner (by session and by personal token), its
		// agent and its customer, each with objects of their own.
		other := e.autoShop(t)
		otherConv := e.contact(t, other.custC, other.agent.Id, "Hello from elsewhere")
		otherOrder := e.accept(t, other.custC, e.sendQuote(t, other.agentC, otherConv.Id, e.quoteReq()).Id)
		token := e.createToken(t, other.ownerC, "script").Token
		// A fellow customer of the same agent, with a thread of their own.
		fellow := e.signUp(t, "fellow-"+randomID()[:8]+"@example.com", client.SignUpRequestRoleCustomer)
		fellowC := e.withCookie(t, fellow.Session)
		fellowConv := e.contact(t, fellowC, s.agent.Id, "Me too")
		foreign := []struct {
			name     string
			c        *client.ClientWithResponses
			customer bool // a plain customer: no owner role
			agent    bool
		}{
			{name: "another customer", c: other.custC, customer: true},
			{name: "a fellow customer of the same agent", c: fellowC, customer: true},
			{name: "another owner", c: other.ownerC},
			{name: "another owner's token", c: e.withBearer(t, token)},
			{name: "another agent", c: other.agentC, agent: true},
		}

		// The shop's own parties see the objects (the 404s below are about who asks).
		for _, c := range []*client.ClientWithResponses{s.custC, s.ownerC, s.agentC} {
			e.conversation(t, c, conv.Id)
			gq, err := c.GetQuoteWithResponse(ctx, q.Id)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, gq.StatusCode(), "%s", gq.Body)
			e.getOrder(t, c, o.Id)
		}

		before := e.orderingState(t)
		for _, f := range foreign {
			for _, call := range orderingOps(t, e) {
				// What the role alone refuses, before any object is looked up.
				status, slug := http.StatusNotFound, "not-found"
				switch {
				case f.agent && slices.Contains([]string{"requestHuman", "acceptQuote", "declineQuote", "approveOrder", "declineOrder"}, call.name):
					status, slug = http.StatusUnauthorized, "unauthenticated" // not an agent operation
				case f.customer && slices.Contains([]string{"sendQuote", "approveOrder", "declineOrder"}, call.name):
					status, slug = http.StatusForbidden, "forbidden"
				}
				resp, body := call.call(f.c, ids[call.kind])
				requireProblem(t, resp, body, status, slug)
				mresp, mbody := call.call(f.c, uuid.NewString())
				requireProblem(t, mresp, mbody, status, slug)
				require.Equal(t, problemBody(t, mbody), problemBody(t, body),
					"%s by %s: a foreign %s answers differently from a missing one", call.name, f.name, call.kind)
			}
		}
		e.requireOrderingUnchanged(t, before, "a foreign principal")

		// Their lists hold their own objects and none of the shop's.
		lists := []struct {
			name       string
			c          *client.ClientWithResponses
			convs      []client.ListConversationsParams
			ords       []client.ListOrdersParams
			wantConvs  []string
			wantOrders []string
		}{
			{"another customer", other.custC,
				[]client.ListConversationsParams{{}, {As: ptrTo(client.ListConversationsParamsAsCustomer)}},
				[]client.ListOrdersParams{{}, {As: ptrTo(client.ListOrdersParamsAsCustomer)}, {Status: ptrTo(client.OrderStatusPendingApproval)}},
				[]string{otherConv.Id}, []string{otherOrder.Id}},
			{"a fellow customer of the same agent", fellowC,
				[]client.ListConversationsParams{{}, {As: ptrTo(client.ListConversationsParamsAsCustomer)}},
				[]client.ListOrdersParams{{}, {Status: ptrTo(client.OrderStatusPendingApproval)}},
				[]string{fellowConv.Id}, nil},
			{"another owner", other.ownerC,
				[]client.ListConversationsParams{{}, {As: ptrTo(client.ListConversationsParamsAsOwner)}},
				[]client.ListOrdersParams{{}, {As: ptrTo(client.ListOrdersParamsAsOwner)}, {As: ptrTo(client.ListOrdersParamsAsOwner), Status: ptrTo(client.OrderStatusPendingApproval)}},
				[]string{otherConv.Id}, []string{otherOrder.Id}},
			{"another owner's token", e.withBearer(t, token),
				[]client.ListConversationsParams{{}},
				[]client.ListOrdersParams{{}},
				[]string{otherConv.Id}, []string{otherOrder.Id}},
			{"another agent", other.agentC,
				[]client.ListConversationsParams{{}},
				[]client.ListOrdersParams{{}, {Status: ptrTo(client.OrderStatusPendingApproval)}},
				[]string{otherConv.Id}, []string{otherOrder.Id}},
		}
		for _, l := range lists {
			for _, p := range l.convs {
				got := conversationIDs(e.conversations(t, l.c, p).Items)
				require.NotContains(t, got, conv.Id, l.name)
				require.Equal(t, l.wantConvs, got, l.name)
			}
			for _, p := range l.ords {
				got := orderIDs(e.orders(t, l.c, p).Items)
				require.NotContains(t, got, o.Id, l.name)
				if p.Status == nil && l.wantOrders != nil {
					require.Equal(t, l.wantOrders, got, l.name)
				} else {
					require.Empty(t, got, l.name) // the other order is in progress; the fellow has none
				}
			}
		}

		// The other agent's feed never mentions the shop's objects.
		evs, _ := e.drain(t, other.agentC, "")
		require.NotEmpty(t, evs)
		raw, err := json.Marshal(evs)
		require.NoError(t, err)
		for _, id := range []string{conv.Id, q.Id, o.Id, s.customer.ID} {
			require.NotContains(t, string(raw), id)
		}
		e.requireLedgerOK(t)
	})
}

// --- 2. bad input ---------------------------------------------------------------

func TestOrderingBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		conv := e.contact(t, s.custC, s.agent.Id, "First thread")
		e.contact(t, s.custC, s.agent.Id, "Second thread")
		e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
		e.accept(t, s.custC, e.sendQuote(t, s.agentC, conv.Id, e.quoteReq()).Id)
		q := e.sendQuote(t, s.agentC, conv.Id, e.quoteReq())

		// A draft agent and a paused one of the same owner.
		draftReq := wizard("draft-" + randomID()[:8])
		draft := e.createAgent(t, s.ownerC, draftReq).Agent
		pausedReq := wizard("paused-" + randomID()[:8])
		paused := e.createAgent(t, s.ownerC, pausedReq).Agent
		e.publish(t, s.ownerC, paused.Id)
		e.pause(t, s.ownerC, paused.Id)

		// An owner who is a customer in this thread (the owner role does not make them the seller).
		buyer := e.signUp(t, "buyer-"+randomID()[:8]+"@example.com", client.SignUpRequestRoleOwner)
		buyerC := e.withCookie(t, buyer.Session)
		buyerConv := e.contact(t, buyerC, s.agent.Id, "I own agents too, but here I buy")

		before := e.orderingState(t)
		requireRefused := func(resp *http.Response, body []byte, status int, slug string, fields ...string) {
			t.Helper()
			p := requireProblem(t, resp, body, status, slug)
			if len(fields) > 0 {
				require.Equal(t, fields, fieldNames(p), "%s", body)
			}
			e.requireOrderingUnchanged(t, before, resp.Request.Method+" "+resp.Request.URL.Path)
		}

		// createConversation.
		createRaw := func(c *client.ClientWithResponses, body string) (*http.Response, []byte) {
			r, err := c.CreateConversationWithBodyWithResponse(ctx, "application/json", strings.NewReader(body))
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}
		create := func(c *client.ClientWithResponses, agent, msg string) (*http.Response, []byte) {
			b, err := json.Marshal(client.CreateConversationRequest{AgentId: agent, Message: msg})
			require.NoError(t, err)
			return createRaw(c, string(b))
		}
		for _, msg := range []string{"", " \n\t  ", strings.Repeat("x", 20_001)} {
			resp, body := create(s.custC, s.agent.Id, msg)
			requireRefused(resp, body, http.StatusBadRequest, "validation", "message")
		}
		resp, body := createRaw(s.custC, `{"agent_id":"`+s.agent.Id+`","message":"hi","urgent":true}`)
		requireRefused(resp, body, http.StatusBadRequest, "validation", "urgent")
		resp, body = createRaw(s.custC, `{"message":"hi"}`)
		requireRefused(resp, body, http.StatusBadRequest, "validation", "agent_id")
		for _, agent := range []string{uuid.NewString(), "no-such-agent", draft.Id, draft.Handle, paused.Id, paused.Handle} {
			resp, body = create(s.custC, agent, "Hello?")
			requireRefused(resp, body, http.StatusNotFound, "not-found")
		}
		for _, agent := range []string{s.agent.Id, s.agent.Handle} {
			resp, body = create(s.ownerC, agent, "Talking to myself")
			requireRefused(resp, body, http.StatusForbidden, "self-dealing")
		}
		resp, body = create(s.agentC, s.agent.Id, "An agent does not open threads")
		requireRefused(resp, body, http.StatusUnauthorized, "unauthenticated")

		// postMessage.
		postRaw := func(c *client.ClientWithResponses, body string) (*http.Response, []byte) {
			r, err := c.PostMessageWithBodyWithResponse(ctx, conv.Id, "application/json", strings.NewReader(body))
			require.NoError(t, err)
			return r.HTTPResponse, r.Body
		}
		for _, c := range []*client.ClientWithResponses{s.custC, s.agentC, s.ownerC} {
			for _, msg := range []string{"", "   \n ", strings.Repeat("y", 20_001)} {
				b, err := json.Marshal(client.PostMessageRequest{Body: msg})
				require.NoError(t, err)
				resp, body = postRaw(c, string(b))
				requireRefused(resp, body, http.StatusBadRequest, "validation", "body")
			}
		}
		resp, body = postRaw(s.custC, `{"body":"hi","attachments":[]}`)
		requireRefused(resp, body, http.StatusBadRequest, "validation", "attachments")

		// sendQuote: every invalid field, each alone.
		now := e.clock.Now()
		quoteJSON := func(edit func(m map[string]any)) string {
			b, err := json.Marshal(e.quoteReq())
			require.NoError(t, err)
			var m map[string]any
			require.NoError(t, json.Unmarshal(b, &m))
			edit(m)
			b, err = json.Marshal(m)
			require.NoError(t, err)
			return string(b)
		}
		many := make([]string, 21)
		for i := range many {
			many[i] = "criterion"
		}
		cases := []struct {
			name  string
			edit  func(m map[string]any)
			field string
		}{
			{"price 0", func(m map[string]any) { m["price"] = 0 }, "price"},
			{"price negative", func(m map[string]any) { m["price"] = -5 }, "price"},
			{"price 1,000,001", func(m map[string]any) { m["price"] = 1_000_001 }, "price"},
			{"delivery 0 days", func(m map[string]any) { m["delivery_days"] = 0 }, "delivery_days"},
			{"delivery 91 days", func(m map[string]any) { m["delivery_days"] = 91 }, "delivery_days"},
			{"11 revisions", func(m map[string]any) { m["revisions"] = 11 }, "revisions"},
			{"-1 revisions", func(m map[string]any) { m["revisions"] = -1 }, "revisions"},
			{"bad category", func(m map[string]any) { m["category"] = "cooking" }, "category"},
			{"no criteria", func(m map[string]any) { m["criteria"] = []string{} }, "criteria"},
			{"criteria missing", func(m map[string]any) { delete(m, "criteria") }, "criteria"},
			{"21 criteria", func(m map[string]any) { m["criteria"] = many }, "criteria"},
			{"empty criterion", func(m map[string]any) { m["criteria"] = []string{"tests pass", ""} }, "criteria[1]"},
			{"blank criterion", func(m map[string]any) { m["criteria"] = []string{"tests pass", "   "} }, "criteria[1]"},
			{"criterion of 301", func(m map[string]any) { m["criteria"] = []string{strings.Repeat("c", 301)} }, "criteria[0]"},
			{"empty title", func(m map[string]any) { m["title"] = "" }, "title"},
			{"blank title", func(m map[string]any) { m["title"] = "  " }, "title"},
			{"blank description", func(m map[string]any) { m["description"] = "\n" }, "description"},
			{"expired", func(m map[string]any) { m["expires_at"] = now.Add(-time.Minute) }, "expires_at"},
			{"expires now", func(m map[string]any) { m["expires_at"] = now }, "expires_at"},
			{"expires past 30 days", func(m map[string]any) { m["expires_at"] = now.Add(30*24*time.Hour + time.Second) }, "expires_at"},
			{"expiry not a time", func(m map[string]any) { m["expires_at"] = "tomorrow" }, "expires_at"},
			{"unknown field", func(m map[string]any) { m["discount"] = 10 }, "discount"},
		}
		for _, tc := range cases {
			for _, c := range []*client.ClientWithResponses{s.agentC, s.ownerC} {
				r, err := c.SendQuoteWithBodyWithResponse(ctx, conv.Id, "application/json", strings.NewReader(quoteJSON(tc.edit)))
				require.NoError(t, err)
				p := requireProblem(t, r.HTTPResponse, r.Body, http.StatusBadRequest, "validation")
				require.Equal(t, []string{tc.field}, fieldNames(p), "%s: %s", tc.name, r.Body)
				e.requireOrderingUnchanged(t, before, tc.name)
			}
		}
		// The customer never quotes: a plain customer's role does not allow
		// it, and an owner buying in this thread is its customer here.
		sq, err := s.custC.SendQuoteWithResponse(ctx, conv.Id, e.quoteReq())
		require.NoError(t, err)
		requireRefused(sq.HTTPResponse, sq.Body, http.StatusForbidden, "forbidden")
		sq, err = buyerC.SendQuoteWithResponse(ctx, buyerConv.Id, e.quoteReq())
		require.NoError(t, err)
		requireRefused(sq.HTTPResponse, sq.Body, http.StatusForbidden, "agent-only")

		// acceptQuote needs an Idempotency-Key.
		resp, body = e.do(t, http.MethodPost, "/v1/quotes/"+q.Id+"/accept", nil, cookieHeader(s.customer.Session))
		requireRefused(resp, body, http.StatusBadRequest, "validation", "Idempotency-Key")
		h := cookieHeader(s.customer.Session)
		h.Set("Idempotency-Key", "two words")
		resp, body = e.do(t, http.MethodPost, "/v1/quotes/"+q.Id+"/accept", nil, h)
		requireRefused(resp, body, http.StatusBadRequest, "validation", "Idempotency-Key")
		// Only the customer decides a quote.
		aq, err := s.ownerC.AcceptQuoteWithResponse(ctx, q.Id, &client.AcceptQuoteParams{IdempotencyKey: uuid.NewString()})
		require.NoError(t, err)
		requireRefused(aq.HTTPResponse, aq.Body, http.StatusForbidden, "customer-only")
		dq, err := s.ownerC.DeclineQuoteWithResponse(ctx, q.Id)
		require.NoError(t, err)
		requireRefused(dq.HTTPResponse, dq.Body, http.StatusForbidden, "customer-only")

		// requestHuman is the customer's.
		rh, err := s.ownerC.RequestHumanWithResponse(ctx, conv.Id)
		require.NoError(t, err)
		requireRefused(rh.HTTPResponse, rh.Body, http.StatusForbidden, "customer-only")
		rh, err = s.agentC.RequestHumanWithResponse(ctx, conv.Id)
		require.NoError(t, err)
		requireRefused(rh.HTTPResponse, rh.Body, http.StatusUnauthorized, "unauthenticated")

		// as=owner is for owners; other list parameters are checked too.
		lo, err := s.custC.ListOrdersWithResponse(ctx, &client.ListOrdersParams{As: ptrTo(client.ListOrdersParamsAsOwner)})
		require.NoError(t, err)
		requireRefused(lo.HTTPResponse, lo.Body, http.StatusBadRequest, "validation", "as")
		lc, err := s.custC.ListConversationsWithResponse(ctx, &client.ListConversationsParams{As: ptrTo(client.ListConversationsParamsAsOwner)})
		require.NoError(t, err)
		requireRefused(lc.HTTPResponse, lc.Body, http.StatusBadRequest, "validation", "as")
		for _, query := range []string{"as=seller", "status=lost", "limit=0", "limit=101"} {
			resp, body = e.do(t, http.MethodGet, "/v1/orders?"+query, nil, cookieHeader(s.customer.Session))
			requireRefused(resp, body, http.StatusBadRequest, "validation", strings.Split(query, "=")[0])
		}
		resp, body = e.do(t, http.MethodGet, "/v1/conversations/"+conv.Id+"/messages?limit=201", nil, cookieHeader(s.customer.Session))
		requireRefused(resp, body, http.StatusBadRequest, "validation", "limit")

		// Tampered cursors.
		convPage := e.conversations(t, s.custC, client.ListConversationsParams{Limit: ptrTo(1)})
		require.NotNil(t, convPage.NextCursor)
		for _, bad := range tamperedCursors(*convPage.NextCursor) {
			r, err := s.custC.ListConversationsWithResponse(ctx, &client.ListConversationsParams{Cursor: &bad})
			require.NoError(t, err)
			requireRefused(r.HTTPResponse, r.Body, http.StatusBadRequest, "validation", "cursor")
		}
		orderPage := e.orders(t, s.custC, client.ListOrdersParams{Limit: ptrTo(1)})
		require.NotNil(t, orderPage.NextCursor)
		for _, bad := range tamperedCursors(*orderPage.NextCursor) {
			r, err := s.custC.ListOrdersWithResponse(ctx, &client.ListOrdersParams{Cursor: &bad})
			require.NoError(t, err)
			requireRefused(r.HTTPResponse, r.Body, http.StatusBadRequest, "validation", "cursor")
		}
		msgPage := e.messages(t, s.custC, conv.Id, client.ListMessagesParams{Limit: ptrTo(1)})
		require.NotNil(t, msgPage.NextCursor)
		for _, bad := range tamperedCursors(*msgPage.NextCursor) {
			r, err := s.custC.ListMessagesWithResponse(ctx, conv.Id, &client.ListMessagesParams{Cursor: &bad})
			require.NoError(t, err)
			requireRefused(r.HTTPResponse, r.Body, http.StatusBadRequest, "validation", "cursor")
		}
		// A cursor of one list is not a cursor of another.
		r, err := s.custC.ListMessagesWithResponse(ctx, conv.Id, &client.ListMessagesParams{Cursor: convPage.NextCursor})
		require.NoError(t, err)
		requireRefused(r.HTTPResponse, r.Body, http.StatusBadRequest, "validation", "cursor")
		lc, err = s.custC.ListConversationsWithResponse(ctx, &client.ListConversationsParams{Cursor: msgPage.NextCursor})
		require.NoError(t, err)
		requireRefused(lc.HTTPResponse, lc.Body, http.StatusBadRequest, "validation", "cursor")

		// The limits themselves are accepted: 20,000 characters (counted as
		// characters, not bytes), a quote expiring exactly 30 days ahead.
		long := e.contact(t, s.custC, s.agent.Id, strings.Repeat("é", 20_000))
		e.post(t, s.custC, long.Id, strings.Repeat("x", 20_000))
		edge := e.quoteReq()
		edge.ExpiresAt = e.clock.Now().Add(30 * 24 * time.Hour)
		edge.Price, edge.DeliveryDays, edge.Revisions = 1_000_000, 90, 10
		edge.Criteria = many[:20]
		require.Equal(t, client.QuoteStatusSent, e.sendQuote(t, s.agentC, long.Id, edge).Status)
		e.requireLedgerOK(t)
	})
}

// --- 3. asking for a human --------------------------------------------------------

func TestRequestHumanReachesTheOwner(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		conv := e.contact(t, s.custC, s.agent.Id, "I would rather talk to a person.")
		require.False(t, conv.HumanRequested)
		require.Nil(t, conv.HumanRequestedAt)
		_, cursor := e.drain(t, s.agentC, "")
		require.Empty(t, e.notifications(t, s.ownerC))
		subject := "A customer asked for you in a conversation with @" + s.agent.Handle

		// The customer asks: the thread is marked for every party.
		e.clock.Advance(time.Minute)
		asked := e.clock.Now()
		rh, err := s.custC.RequestHumanWithResponse(ctx, conv.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rh.StatusCode(), "%s", rh.Body)
		require.True(t, rh.JSON200.HumanRequested)
		require.NotNil(t, rh.JSON200.HumanRequestedAt)
		require.True(t, asked.Equal(*rh.JSON200.HumanRequestedAt), "%v", *rh.JSON200.HumanRequestedAt)
		for _, c := range []*client.ClientWithResponses{s.custC, s.ownerC, s.agentC} {
			got := e.conversation(t, c, conv.Id)
			require.True(t, got.HumanRequested)
			require.True(t, asked.Equal(got.LastMessageAt), "asking is activity in the thread")
		}
		owned := e.conversations(t, s.ownerC, client.ListConversationsParams{As: ptrTo(client.ListConversationsParamsAsOwner)})
		require.Len(t, owned.Items, 1)
		require.True(t, owned.Items[0].HumanRequested)
		msgs := e.messages(t, s.custC, conv.Id, client.ListMessagesParams{}).Items
		require.Len(t, msgs, 2)
		require.Equal(t, client.AuthorKindSystem, msgs[1].AuthorKind)
		require.Contains(t, msgs[1].Body, s.customer.User.DisplayName)

		// The owner is told in the app...
		notes := e.notifications(t, s.ownerC)
		require.Len(t, notes, 1)
		require.Equal(t, "ordering.human_requested", notes[0].Kind)
		require.Equal(t, subject, notes[0].Subject)
		require.Contains(t, notes[0].Body, s.customer.User.DisplayName)
		require.NotNil(t, notes[0].Link)
		require.Equal(t, "/conversations/"+conv.Id, *notes[0].Link)
		require.Empty(t, e.notifications(t, s.custC), "the customer is not notified of their own request")

		// ...and by email, once the jobs ran.
		e.waitJobsDone(t)
		mails := e.mailTo(t, s.owner.Email, subject)
		require.Len(t, mails, 1)
		shown, err := e.heepr(t, "", "mail", "show", mails[0])
		require.NoError(t, err)
		require.Contains(t, shown, "To:      <"+s.owner.Email+">")
		require.Contains(t, shown, "Tag:     ordering.human_requested")
		require.Contains(t, shown, s.customer.User.DisplayName)
		require.Contains(t, shown, "http://127.0.0.1/conversations/"+conv.Id)
		require.Empty(t, e.mailTo(t, s.customer.Email, subject))

		// The agent gets an event.
		page := e.poll(t, s.agentC, cursor, 0)
		require.Equal(t, []string{"human.requested"}, eventTypes(page.Items))
		require.Equal(t, conv.Id, page.Items[0].Data["conversation_id"])
		require.Equal(t, s.customer.ID, page.Items[0].Data["customer_id"])
		e.ack(t, s.agentC, page.NextCursor)
		cursor = page.NextCursor

		// Asking again while the request is open changes nothing.
		before := e.orderingState(t)
		e.clock.Advance(time.Minute)
		again, err := s.custC.RequestHumanWithResponse(ctx, conv.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, again.StatusCode(), "%s", again.Body)
		require.True(t, again.JSON200.HumanRequested)
		require.True(t, asked.Equal(*again.JSON200.HumanRequestedAt), "the first request's time stays")
		e.requireOrderingUnchanged(t, before, "asking again")
		require.Len(t, e.notifications(t, s.ownerC), 1)
		require.Empty(t, e.poll(t, s.agentC, cursor, 0).Items)
		e.waitJobsDone(t)
		require.Len(t, e.mailTo(t, s.owner.Email, subject), 1)

		// The agent's and the customer's messages are no answer from the owner.
		e.post(t, s.agentC, conv.Id, "My owner has been told.")
		e.post(t, s.custC, conv.Id, "Thanks, I'll wait.")
		require.True(t, e.conversation(t, s.custC, conv.Id).HumanRequested)

		// The owner answers in the thread, as the owner; the agent sees it.
		reply := e.post(t, s.ownerC, conv.Id, "Hi, I'm the human behind this agent. How can I help?")
		require.Equal(t, client.AuthorKindOwner, reply.AuthorKind)
		for _, c := range []*client.ClientWithResponses{s.custC, s.ownerC, s.agentC} {
			got := e.conversation(t, c, conv.Id)
			require.False(t, got.HumanRequested, "the owner answered")
			require.Nil(t, got.HumanRequestedAt)
		}
		msgs = e.messages(t, s.custC, conv.Id, client.ListMessagesParams{}).Items
		last := msgs[len(msgs)-1]
		require.Equal(t, reply.Id, last.Id)
		require.Equal(t, client.AuthorKindOwner, last.AuthorKind)
		page = e.poll(t, s.agentC, cursor, 0)
		require.Equal(t, []string{"message.created", "message.created"}, eventTypes(page.Items), "the customer's and the owner's messages")
		require.Equal(t, "customer", page.Items[0].Data["author_kind"])
		ev := page.Items[1].Data
		require.Equal(t, "owner", ev["author_kind"])
		require.Equal(t, reply.Id, ev["message_id"])
		require.Equal(t, conv.Id, ev["conversation_id"])
		require.Equal(t, reply.Body, ev["body"])
		e.ack(t, s.agentC, page.NextCursor)
		cursor = page.NextCursor

		// Once answered, the customer may ask again: the owner is told again.
		e.clock.Advance(time.Minute)
		rh, err = s.custC.RequestHumanWithResponse(ctx, conv.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rh.StatusCode(), "%s", rh.Body)
		require.True(t, rh.JSON200.HumanRequested)
		require.True(t, e.clock.Now().Equal(*rh.JSON200.HumanRequestedAt))
		require.Len(t, e.notifications(t, s.ownerC), 2)
		require.Equal(t, []string{"human.requested"}, eventTypes(e.poll(t, s.agentC, cursor, 0).Items))
		e.waitJobsDone(t)
		require.Len(t, e.mailTo(t, s.owner.Email, subject), 2)
	})
}

// Asking at the same time from several tabs is still asking once: one
// notification, one event, one system message. (Fails on Postgres: see
// the report; RequestHuman reads the flag without locking the row.)
func TestRequestHumanConcurrentAsksNotifyOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		const rounds, n = 4, 12
		for round := range rounds {
			conv := e.contact(t, s.custC, s.agent.Id, "Anyone human here?")
			_, cursor := e.drain(t, s.agentC, "")
			codes := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					r, err := s.custC.RequestHumanWithResponse(context.Background(), conv.Id)
					if err == nil {
						codes[i] = r.StatusCode()
					}
				})
			}
			wg.Wait()
			for _, c := range codes {
				require.Equal(t, http.StatusOK, c, "codes %v", codes)
			}
			require.Len(t, e.notifications(t, s.ownerC), round+1, "round %d: one notification per request for a human", round)
			require.Len(t, e.messages(t, s.custC, conv.Id, client.ListMessagesParams{}).Items, 2, "round %d: one system message", round)
			evs, _ := e.drain(t, s.agentC, cursor)
			require.Equal(t, []string{"human.requested"}, eventTypes(evs), "round %d", round)
		}
	})
}

// --- 4. paging --------------------------------------------------------------------

func TestOrderingListsPage(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)

		// Conversations: latest activity first.
		var c []string
		for i := range 5 {
			e.clock.Advance(time.Second)
			c = append(c, e.contact(t, s.custC, s.agent.Id, "thread "+string(rune('a'+i))).Id)
		}
		views := []struct {
			name string
			c    *client.ClientWithResponses
			as   *client.ListConversationsParamsAs
		}{
			{"customer", s.custC, nil},
			{"customer as customer", s.custC, ptrTo(client.ListConversationsParamsAsCustomer)},
			{"owner", s.ownerC, nil},
			{"owner as owner", s.ownerC, ptrTo(client.ListConversationsParamsAsOwner)},
			{"agent", s.agentC, nil},
		}
		requireConversations := func(want []string) {
			t.Helper()
			for _, v := range views {
				for _, limit := range []int{1, 2, 3, 100} {
					got := pageThrough(t, limit, func(cursor *string) ([]string, *string) {
						page := e.conversations(t, v.c, client.ListConversationsParams{As: v.as, Cursor: cursor, Limit: ptrTo(limit)})
						return conversationIDs(page.Items), page.NextCursor
					})
					require.Equal(t, want, got, "%s, pages of %d", v.name, limit)
				}
			}
		}
		requireConversations([]string{c[4], c[3], c[2], c[1], c[0]})

		// A new message moves its thread to the top, whoever writes it.
		e.clock.Advance(time.Second)
		e.post(t, s.custC, c[0], "bump")
		requireConversations([]string{c[0], c[4], c[3], c[2], c[1]})
		e.clock.Advance(time.Second)
		e.post(t, s.agentC, c[2], "an answer")
		requireConversations([]string{c[2], c[0], c[4], c[3], c[1]})
		e.clock.Advance(time.Second)
		e.sendQuote(t, s.agentC, c[3], e.quoteReq())
		requireConversations([]string{c[3], c[2], c[0], c[4], c[1]})

		// Threads active at the same instant page without gaps or repeats (the newest first).
		e.clock.Advance(time.Second)
		var d []string
		for range 3 {
			d = append(d, e.contact(t, s.custC, s.agent.Id, "same instant").Id)
		}
		requireConversations([]string{d[2], d[1], d[0], c[3], c[2], c[0], c[4], c[1]})

		// The default page is 20.
		for range 13 {
			e.contact(t, s.custC, s.agent.Id, "more")
		}
		first := e.conversations(t, s.custC, client.ListConversationsParams{})
		require.Len(t, first.Items, 20)
		require.NotNil(t, first.NextCursor)
		rest := e.conversations(t, s.custC, client.ListConversationsParams{Cursor: first.NextCursor})
		require.Len(t, rest.Items, 1)
		require.Equal(t, c[1], rest.Items[0].Id)
		require.Nil(t, rest.NextCursor)

		// Messages: oldest first, from every author.
		conv := c[4]
		want := e.messages(t, s.custC, conv, client.ListMessagesParams{}).Items
		require.Len(t, want, 1)
		wantIDs := []string{want[0].Id}
		for i := range 9 {
			writer := []*client.ClientWithResponses{s.custC, s.agentC, s.ownerC}[i%3]
			wantIDs = append(wantIDs, e.post(t, writer, conv, "message "+string(rune('0'+i))).Id)
			if i%4 == 0 {
				e.clock.Advance(time.Second)
			}
		}
		wantIDs = append(wantIDs, "") // the quote's message, id learned below
		qq := e.sendQuote(t, s.ownerC, conv, e.quoteReq())
		all := e.messages(t, s.custC, conv, client.ListMessagesParams{Limit: ptrTo(200)})
		require.Nil(t, all.NextCursor)
		require.Len(t, all.Items, len(wantIDs))
		last := all.Items[len(all.Items)-1]
		require.NotNil(t, last.QuoteId)
		require.Equal(t, qq.Id, *last.QuoteId)
		wantIDs[len(wantIDs)-1] = last.Id
		for _, reader := range []*client.ClientWithResponses{s.custC, s.ownerC, s.agentC} {
			for _, limit := range []int{1, 3, 4, 11, 200} {
				got := pageThrough(t, limit, func(cursor *string) ([]string, *string) {
					page := e.messages(t, reader, conv, client.ListMessagesParams{Cursor: cursor, Limit: ptrTo(limit)})
					ids := make([]string, len(page.Items))
					for i, m := range page.Items {
						ids[i] = m.Id
					}
					return ids, page.NextCursor
				})
				require.Equal(t, wantIDs, got, "pages of %d", limit)
			}
		}
		// A page's cursor still leads on after newer messages arrive.
		p1 := e.messages(t, s.custC, conv, client.ListMessagesParams{Limit: ptrTo(10)})
		require.NotNil(t, p1.NextCursor)
		newer := e.post(t, s.custC, conv, "after the first page")
		p2 := e.messages(t, s.custC, conv, client.ListMessagesParams{Cursor: p1.NextCursor, Limit: ptrTo(10)})
		require.Equal(t, []string{wantIDs[10], newer.Id}, []string{p2.Items[0].Id, p2.Items[1].Id})
		require.Nil(t, p2.NextCursor)

		// Orders: newest first (five start at once, then the active-order band makes them wait).
		var o []string
		for range 7 {
			q := e.quoteReq()
			q.Price = 50
			o = append(o, e.accept(t, s.custC, e.sendQuote(t, s.agentC, c[0], q).Id).Id)
		}
		newestFirst := slices.Clone(o)
		slices.Reverse(newestFirst)
		orderViews := []struct {
			name   string
			c      *client.ClientWithResponses
			as     *client.ListOrdersParamsAs
			status *client.OrderStatus
			want   []string
		}{
			{"customer", s.custC, nil, nil, newestFirst},
			{"customer as customer", s.custC, ptrTo(client.ListOrdersParamsAsCustomer), nil, newestFirst},
			{"owner", s.ownerC, nil, nil, newestFirst},
			{"owner as owner", s.ownerC, ptrTo(client.ListOrdersParamsAsOwner), nil, newestFirst},
			{"agent", s.agentC, nil, nil, newestFirst},
			{"in progress", s.custC, nil, ptrTo(client.OrderStatusInProgress), newestFirst[2:]},
			{"owner's queue", s.ownerC, ptrTo(client.ListOrdersParamsAsOwner), ptrTo(client.OrderStatusPendingApproval), newestFirst[:2]},
			{"owner as customer", s.ownerC, ptrTo(client.ListOrdersParamsAsCustomer), nil, nil},
		}
		for _, v := range orderViews {
			for _, limit := range []int{1, 2, 3, 7, 100} {
				got := pageThrough(t, limit, func(cursor *string) ([]string, *string) {
					page := e.orders(t, v.c, client.ListOrdersParams{As: v.as, Status: v.status, Cursor: cursor, Limit: ptrTo(limit)})
					return orderIDs(page.Items), page.NextCursor
				})
				if v.want == nil {
					require.Empty(t, got, v.name)
					continue
				}
				require.Equal(t, v.want, got, "%s, pages of %d", v.name, limit)
			}
		}
		// A cursor stays valid while orders are added: the newer ones are
		// on the first page, not after the cursor.
		op1 := e.orders(t, s.custC, client.ListOrdersParams{Limit: ptrTo(3)})
		q := e.quoteReq()
		q.Price = 50
		newest := e.accept(t, s.custC, e.sendQuote(t, s.agentC, c[0], q).Id)
		op2 := e.orders(t, s.custC, client.ListOrdersParams{Cursor: op1.NextCursor, Limit: ptrTo(3)})
		require.Equal(t, newestFirst[3:6], orderIDs(op2.Items))
		require.Equal(t, newest.Id, e.orders(t, s.custC, client.ListOrdersParams{Limit: ptrTo(1)}).Items[0].Id)
		e.requireLedgerOK(t)
	})
}
