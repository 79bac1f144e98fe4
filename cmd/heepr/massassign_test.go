package main

// Mass assignment through HTTP (issue 11, item 2): every write operation of
// openapi.yaml that takes a body with fields is sent a valid body plus
//
//   - an unknown field, at the top and inside every nested object, and
//   - each server-owned field of massassign_spec_test.go (status, owner_id,
//     price, amount, balance, rating, ...), one at a time,
//
// and must answer 400 problem+json naming exactly that field, with nothing
// changed: every table of the database (row by row), the ledger's balances,
// the stored files and a re-read of the object through the API are the same
// before and after. Then the valid body alone must succeed, which proves the
// refusals were for the added field and nothing else.
//
// The operations come from the spec; massCases holds a minimal valid body
// for each, and the test fails for an operation without one.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/api/client"
)

// massScene is what the operations act on: one object per operation, each
// in a state where the valid body succeeds.
type massScene struct {
	id      string
	a       shop // auto-mode agent with room for many orders
	m       shop // manual-mode agent
	support account

	owner, customer, agentKey, supportH, mCustomer http.Header

	conv                                      string
	inProgress, inReview, delivered, complete string // orders
	toFlag                                    string
	inReviewDelivery, review, caseID          string
	pending                                   string // the manual agent's order
	eventCursor, notification                 string
	hookAgent, toSuspend, suspended           string // agents of a's owner
	toRequest, request                        string
	user, suspendedUser                       account
	criterion                                 string
}

// massCase is one operation: who calls it, its path parameters, a minimal
// valid body, and the reads that must not change when it is refused.
type massCase struct {
	as     func(s *massScene) http.Header
	params func(s *massScene) map[string]string
	body   func(s *massScene) map[string]any
	reads  func(s *massScene) []massRead
}

// massRead is a GET whose answer a refused request must leave as it was.
type massRead struct {
	as   http.Header
	path string
}

// massOrder is the order the operations run in: each valid body changes
// the scene, so an operation comes before one whose object it would spoil.
var massOrder = []string{
	"signUp", "signIn", "createPersonalToken", "createAgent", "updateAgent", "setAgentWebhook",
	"creditPoints", "createConversation", "postMessage", "sendQuote", "declineOrder", "ackAgentEvents",
	"deliverOrder", "rejectDelivery", "requestRevision", "createReview", "replyToReview",
	"markNotificationsRead", "flagOrder", "resolveCase", "suspendAgent", "requestReinstatement",
	"declineReinstatement", "reinstateAgent", "suspendUser", "reinstateUser",
}

func ownerH(s *massScene) http.Header       { return s.owner }
func customerH(s *massScene) http.Header    { return s.customer }
func agentH(s *massScene) http.Header       { return s.agentKey }
func supportH(s *massScene) http.Header     { return s.supportH }
func anonH(*massScene) http.Header          { return http.Header{} }
func noParams(*massScene) map[string]string { return nil }

func reads(rs ...massRead) []massRead { return rs }

// massCases is keyed by operationId: every operation of the spec with a
// JSON or form body needs an entry (the test fails without one), with its
// smallest valid body.
var massCases = map[string]massCase{
	"signUp": {as: anonH, params: noParams,
		body: func(s *massScene) map[string]any {
			return map[string]any{"email": "new-" + s.id + "@example.com", "password": testPassword, "display_name": "New", "role": "customer"}
		},
		reads: func(s *massScene) []massRead { return reads(massRead{s.customer, "/v1/me"}) }},
	"signIn": {as: anonH, params: noParams,
		body: func(s *massScene) map[string]any {
			return map[string]any{"email": s.a.customer.Email, "password": testPassword}
		},
		reads: func(s *massScene) []massRead { return reads(massRead{s.customer, "/v1/me"}) }},
	"createPersonalToken": {as: customerH, params: noParams,
		body:  func(*massScene) map[string]any { return map[string]any{"name": "ci"} },
		reads: func(s *massScene) []massRead { return reads(massRead{s.customer, "/v1/me/tokens"}) }},
	"createAgent": {as: ownerH, params: noParams,
		body: func(s *massScene) map[string]any {
			return asMapAny(wizard("mass-new-" + s.id))
		},
		reads: func(s *massScene) []massRead { return reads(massRead{s.owner, "/v1/me/agents"}) }},
	"updateAgent": {as: ownerH,
		params: func(s *massScene) map[string]string { return map[string]string{"agentId": s.a.agent.Id} },
		body: func(*massScene) map[string]any {
			return map[string]any{"name": "Renamed", "tiers": []any{map[string]any{"name": "Only", "price": 80, "delivery_days": 2, "revisions": 1}}}
		},
		reads: func(s *massScene) []massRead { return reads(massRead{s.owner, "/v1/me/agents"}) }},
	"setAgentWebhook": {as: ownerH,
		params: func(s *massScene) map[string]string { return map[string]string{"agentId": s.hookAgent} },
		body:   func(*massScene) map[string]any { return map[string]any{"url": "https://127.0.0.1/heepr"} },
		reads: func(s *massScene) []massRead {
			return reads(massRead{s.owner, "/v1/agents/" + s.hookAgent + "/webhook"})
		}},
	"creditPoints": {as: supportH,
		params: func(s *massScene) map[string]string { return map[string]string{"userId": s.a.customer.ID} },
		body:   func(*massScene) map[string]any { return map[string]any{"amount": 10, "memo": "Sorry for the wait."} },
		reads:  func(s *massScene) []massRead { return reads(massRead{s.customer, "/v1/wallet"}) }},
	"createConversation": {as: customerH, params: noParams,
		body: func(s *massScene) map[string]any {
			return map[string]any{"agent_id": s.a.agent.Id, "message": "Hello."}
		},
		reads: func(s *massScene) []massRead { return reads(massRead{s.customer, "/v1/conversations"}) }},
	"postMessage": {as: customerH,
		params: func(s *massScene) map[string]string { return map[string]string{"conversationId": s.conv} },
		body:   func(*massScene) map[string]any { return map[string]any{"body": "Any news?"} },
		reads: func(s *massScene) []massRead {
			return reads(massRead{s.customer, "/v1/conversations/" + s.conv + "/messages"})
		}},
	"sendQuote": {as: agentH,
		params: func(s *massScene) map[string]string { return map[string]string{"conversationId": s.conv} },
		body:   func(s *massScene) map[string]any { return asMapAny(s.quote()) },
		reads: func(s *massScene) []massRead {
			return reads(massRead{s.customer, "/v1/conversations/" + s.conv + "/quotes"})
		}},
	"declineOrder": {as: func(s *massScene) http.Header { return cookieHeader(s.m.owner.Session) },
		params: func(s *massScene) map[string]string { return map[string]string{"orderId": s.pending} },
		body:   func(*massScene) map[string]any { return map[string]any{"reason": "Too busy."} },
		reads:  func(s *massScene) []massRead { return reads(massRead{s.mCustomer, "/v1/orders/" + s.pending}) }},
	"ackAgentEvents": {as: agentH, params: noParams,
		body:  func(s *massScene) map[string]any { return map[string]any{"up_to": s.eventCursor} },
		reads: func(s *massScene) []massRead { return reads(massRead{s.agentKey, "/v1/agent"}) }},
	"deliverOrder": {as: agentH,
		params: func(s *massScene) map[string]string { return map[string]string{"orderId": s.inProgress} },
		body:   func(*massScene) map[string]any { return map[string]any{"message": "Done."} },
		reads:  func(s *massScene) []massRead { return reads(massRead{s.owner, "/v1/orders/" + s.inProgress}) }},
	"rejectDelivery": {as: ownerH,
		params: func(s *massScene) map[string]string { return map[string]string{"deliveryId": s.inReviewDelivery} },
		body:   func(*massScene) map[string]any { return map[string]any{"note": "Tests fail."} },
		reads:  func(s *massScene) []massRead { return reads(massRead{s.owner, "/v1/orders/" + s.inReview}) }},
	"requestRevision": {as: customerH,
		params: func(s *massScene) map[string]string { return map[string]string{"orderId": s.delivered} },
		body: func(s *massScene) map[string]any {
			return map[string]any{"notes": "One lint finding is left.", "unmet_criteria": []any{s.criterion}}
		},
		reads: func(s *massScene) []massRead { return reads(massRead{s.customer, "/v1/orders/" + s.delivered}) }},
	"createReview": {as: customerH,
		params: func(s *massScene) map[string]string { return map[string]string{"orderId": s.complete} },
		body:   func(*massScene) map[string]any { return map[string]any{"rating": 4, "text": "Good."} },
		reads: func(s *massScene) []massRead {
			return reads(massRead{s.customer, "/v1/orders/" + s.complete}, massRead{http.Header{}, "/v1/agents/" + s.a.agent.Id + "/reviews"})
		}},
	"replyToReview": {as: ownerH,
		params: func(s *massScene) map[string]string { return map[string]string{"reviewId": s.review} },
		body:   func(*massScene) map[string]any { return map[string]any{"text": "Thank you."} },
		reads: func(s *massScene) []massRead {
			return reads(massRead{http.Header{}, "/v1/agents/" + s.a.agent.Id + "/reviews"})
		}},
	"markNotificationsRead": {as: ownerH, params: noParams,
		body:  func(s *massScene) map[string]any { return map[string]any{"up_to": s.notification} },
		reads: func(s *massScene) []massRead { return reads(massRead{s.owner, "/v1/notifications"}) }},
	"flagOrder": {as: customerH,
		params: func(s *massScene) map[string]string { return map[string]string{"orderId": s.toFlag} },
		body:   func(*massScene) map[string]any { return map[string]any{"reason": "off_scope"} },
		reads:  func(s *massScene) []massRead { return reads(massRead{s.customer, "/v1/orders/" + s.toFlag}) }},
	"resolveCase": {as: supportH,
		params: func(s *massScene) map[string]string { return map[string]string{"caseId": s.caseID} },
		body: func(*massScene) map[string]any {
			return map[string]any{"action": "dismiss", "note": "Delivered as agreed."}
		},
		reads: func(s *massScene) []massRead { return reads(massRead{s.supportH, "/v1/cases/" + s.caseID}) }},
	"suspendAgent": {as: supportH,
		params: func(s *massScene) map[string]string { return map[string]string{"agentId": s.toSuspend} },
		body:   func(*massScene) map[string]any { return map[string]any{"reason": "Fake deliveries."} },
		reads:  func(s *massScene) []massRead { return reads(massRead{s.owner, "/v1/me/agents"}) }},
	"requestReinstatement": {as: ownerH,
		params: func(s *massScene) map[string]string { return map[string]string{"agentId": s.toRequest} },
		body:   func(*massScene) map[string]any { return map[string]any{"message": "Fixed the prompt."} },
		reads:  func(s *massScene) []massRead { return reads(massRead{s.supportH, "/v1/reinstatement-requests"}) }},
	"declineReinstatement": {as: supportH,
		params: func(s *massScene) map[string]string { return map[string]string{"requestId": s.request} },
		body:   func(*massScene) map[string]any { return map[string]any{"reason": "Not yet."} },
		reads:  func(s *massScene) []massRead { return reads(massRead{s.supportH, "/v1/reinstatement-requests"}) }},
	"reinstateAgent": {as: supportH,
		params: func(s *massScene) map[string]string { return map[string]string{"agentId": s.suspended} },
		body:   func(*massScene) map[string]any { return map[string]any{"reason": "Fixed."} },
		reads:  func(s *massScene) []massRead { return reads(massRead{s.owner, "/v1/me/agents"}) }},
	"suspendUser": {as: supportH,
		params: func(s *massScene) map[string]string { return map[string]string{"userId": s.user.ID} },
		body:   func(*massScene) map[string]any { return map[string]any{"reason": "Spam."} },
		reads: func(s *massScene) []massRead {
			return reads(massRead{cookieHeader(s.user.Session), "/v1/me"})
		}},
	"reinstateUser": {as: supportH,
		params: func(s *massScene) map[string]string { return map[string]string{"userId": s.suspendedUser.ID} },
		body:   func(*massScene) map[string]any { return map[string]any{"reason": "Appeal granted."} },
		reads: func(s *massScene) []massRead {
			return reads(massRead{cookieHeader(s.suspendedUser.Session), "/v1/me"})
		}},
}

func (s *massScene) quote() client.SendQuoteRequest {
	return client.SendQuoteRequest{Title: "Fix the lint findings", Description: "Every finding in ./...", Price: 120,
		DeliveryDays: 3, Revisions: 1, Category: client.CategoryCode, Criteria: []string{s.criterion, "tests pass"},
		ExpiresAt: time.Now().UTC().Add(72 * time.Hour).Truncate(time.Second)}
}

func asMapAny(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// newMassScene builds every object the operations act on.
func (e *env) newMassScene(t *testing.T) *massScene {
	t.Helper()
	s := &massScene{id: randomID()[:8], criterion: "golangci-lint passes"}
	req := wizard("mass")
	req.AutoBands.MaxActiveOrders = 50
	s.a = e.newShop(t, req)
	s.m = e.manualShop(t)
	s.support = e.supportAccount(t, "staff-"+s.id+"@heepr.dev")
	s.owner, s.customer, s.agentKey = cookieHeader(s.a.owner.Session), cookieHeader(s.a.customer.Session), bearerHeader(s.a.key)
	s.supportH, s.mCustomer = cookieHeader(s.support.Session), cookieHeader(s.m.customer.Session)
	supportC := e.withCookie(t, s.support.Session)
	// The customer's starter points pay for seven orders of 120.
	order := func() string {
		conv := e.contact(t, s.a.custC, s.a.agent.Id, "A job.")
		q := s.quote()
		q.ExpiresAt = e.clock.Now().Add(72 * time.Hour)
		return e.accept(t, s.a.custC, e.sendQuote(t, s.a.agentC, conv.Id, q).Id).Id
	}
	s.conv = e.contact(t, s.a.custC, s.a.agent.Id, "Can you fix my lint findings?").Id
	s.inProgress = order()
	s.inReview = order()
	s.inReviewDelivery = e.deliver(t, s.a.agentC, s.inReview, "First try.").Id
	s.delivered = order()
	e.release(t, s.a.ownerC, e.deliver(t, s.a.agentC, s.delivered, "Done.").Id)
	s.complete = e.completedOrder(t, s.a).Id
	reviewed := e.completedOrder(t, s.a)
	r := e.createReview(t, s.a.custC, reviewed.Id, 5, "Great.")
	require.Equal(t, http.StatusCreated, r.StatusCode(), "createReview: %s", r.Body)
	s.review = r.JSON201.Id
	s.toFlag = order()
	s.caseID = e.suspFlag(t, s.a.custC, order()).Id
	// The manual agent's order waits for its owner.
	mConv := e.contact(t, s.m.custC, s.m.agent.Id, "A job.")
	q := s.quote()
	q.ExpiresAt = e.clock.Now().Add(72 * time.Hour)
	s.pending = e.accept(t, s.m.custC, e.sendQuote(t, s.m.agentC, mConv.Id, q).Id).Id
	require.Equal(t, client.OrderStatusPendingApproval, e.orderStatus(t, s.m.custC, s.pending))
	// More agents of the same owner, for the webhook and for moderation.
	agent := func(name string, publish bool) string {
		id := e.createAgent(t, s.a.ownerC, wizard("mass-"+name+"-"+s.id)).Agent.Id
		if publish {
			e.publish(t, s.a.ownerC, id)
		}
		return id
	}
	s.hookAgent = agent("hook", false)
	s.toSuspend = agent("sus", true)
	s.suspended = agent("rein", true)
	e.suspSuspendAgent(t, supportC, s.suspended, client.SuspendAgentRequest{Reason: "Missed deadlines."})
	s.toRequest = agent("req", true)
	e.suspSuspendAgent(t, supportC, s.toRequest, client.SuspendAgentRequest{Reason: "Missed deadlines."})
	declinable := agent("dec", true)
	e.suspSuspendAgent(t, supportC, declinable, client.SuspendAgentRequest{Reason: "Missed deadlines."})
	rr := e.suspRequestReinstatement(t, s.a.ownerC, declinable, "Please.")
	require.Equal(t, http.StatusCreated, rr.StatusCode(), "requestReinstatement: %s", rr.Body)
	s.request = rr.JSON201.Id
	// People to suspend and reinstate.
	s.user = e.signUp(t, "user-"+s.id+"@example.com", client.SignUpRequestRoleCustomer)
	s.suspendedUser = e.signUp(t, "suspended-"+s.id+"@example.com", client.SignUpRequestRoleCustomer)
	e.suspSetUser(t, supportC, s.suspendedUser.ID, true, "Spam.")
	// An event to acknowledge and a notification to mark read.
	s.eventCursor = e.poll(t, s.a.agentC, "", 0).NextCursor
	require.NotEmpty(t, s.eventCursor)
	e.waitJobsDone(t)
	notes, err := s.a.ownerC.ListNotificationsWithResponse(context.Background(), &client.ListNotificationsParams{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, notes.StatusCode(), "listNotifications: %s", notes.Body)
	require.NotEmpty(t, notes.JSON200.Items, "the owner has no notification")
	s.notification = notes.JSON200.Items[0].Id
	return s
}

// --- what must not change ------------------------------------------------------

// massVolatile are columns any authenticated request may move (the last
// use of a session or a token).
var massVolatile = map[string]bool{"last_seen_at": true, "last_used_at": true}

// dbFingerprint is every table's row count and a hash of its rows (River's
// own tables but river_job, whose jobs are counted by kind), and the stored
// files.
func (e *env) dbFingerprint(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	db := e.app.db.SQL
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if e.app.db.Dialect == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	var tables []string
	rows, err := db.QueryContext(ctx, q)
	require.NoError(t, err)
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.Contains(t, tables, "orders")
	out := map[string]string{"blob files": strconv.Itoa(e.blobFiles(t))}
	for _, table := range tables {
		if table == "river_job" {
			// Periodic jobs come on their own schedule (River marks them).
			meta := "json(metadata)" // SQLite keeps it as JSONB
			if e.app.db.Dialect == store.Postgres {
				meta = "metadata::text"
			}
			rows, err := db.QueryContext(ctx, `SELECT kind, `+meta+` FROM river_job`)
			require.NoError(t, err)
			jobs := map[string]int{}
			for rows.Next() {
				var kind string
				var raw []byte
				require.NoError(t, rows.Scan(&kind, &raw))
				var m struct{ Periodic bool }
				require.NoError(t, json.Unmarshal(raw, &m))
				if !m.Periodic {
					jobs[kind]++
				}
			}
			for kind, n := range jobs {
				out["job "+kind] = strconv.Itoa(n)
			}
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
			continue
		}
		if strings.HasPrefix(table, "river_") {
			continue
		}
		rows, err := db.QueryContext(ctx, `SELECT * FROM `+table)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			var b strings.Builder
			for i, c := range cols {
				if massVolatile[c] {
					continue
				}
				v := vals[i]
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				if tm, ok := v.(time.Time); ok {
					v = tm.UTC().Format(time.RFC3339Nano)
				}
				fmt.Fprintf(&b, "%s=%v|", c, v)
			}
			lines = append(lines, b.String())
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		sort.Strings(lines)
		h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
		out[table] = fmt.Sprintf("%d rows %s", len(lines), hex.EncodeToString(h[:8]))
	}
	return out
}

// massState is all a refused request must leave as it was.
type massState struct {
	DB     map[string]string
	Ledger ledgerState
	Reads  []string
}

func (e *env) massState(t *testing.T, reads []massRead) massState {
	t.Helper()
	e.waitJobsDone(t)
	st := massState{DB: e.dbFingerprint(t), Ledger: e.ledgerState(t)}
	for _, r := range reads {
		resp, body := e.do(t, http.MethodGet, r.path, nil, r.as)
		if resp.StatusCode != http.StatusOK { // a problem's request id differs every time
			body = nil
		}
		st.Reads = append(st.Reads, fmt.Sprintf("GET %s: %d %s", r.path, resp.StatusCode, body))
	}
	return st
}

// requireSameState lists what differs between two states, if anything.
func requireSameState(t *testing.T, id string, before, after massState) {
	t.Helper()
	var diffs []string
	differ := func(what string, a, b map[string]string) {
		keys := maps.Clone(a)
		maps.Copy(keys, b)
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			if a[k] != b[k] {
				diffs = append(diffs, fmt.Sprintf("%s %s: %q, now %q", what, k, a[k], b[k]))
			}
		}
	}
	differ("stored", before.DB, after.DB)
	balances := func(l ledgerState) map[string]string {
		m := map[string]string{"(postings)": strconv.Itoa(l.Postings), "(entries)": strconv.Itoa(l.Entries)}
		for k, v := range l.Balances {
			m[k] = strconv.FormatInt(v, 10)
		}
		return m
	}
	differ("ledger", balances(before.Ledger), balances(after.Ledger))
	for i := range before.Reads {
		if before.Reads[i] != after.Reads[i] {
			diffs = append(diffs, fmt.Sprintf("read %s\nnow  %s", before.Reads[i], after.Reads[i]))
		}
	}
	require.Empty(t, diffs, "%s: a refused request changed something:\n%s", id, strings.Join(diffs, "\n"))
}

// --- sending ---------------------------------------------------------------------

// massOp is an operation of the spec with a body that has fields.
type massOp struct {
	specOp
	media       string
	idempotent  bool
	schemaProps map[string]bool // the body's top-level properties
	success     []int           // its 2xx answers
}

func massOps(t *testing.T, spec *openapi3.T) map[string]massOp {
	t.Helper()
	out := map[string]massOp{}
	for _, o := range specOps(spec) {
		media := bodyMedia(o.op)
		if media == "" {
			continue
		}
		m := massOp{specOp: o, media: media, schemaProps: map[string]bool{}}
		for _, p := range o.op.Parameters {
			if p.Value.In == openapi3.ParameterInHeader && p.Value.Name == "Idempotency-Key" {
				m.idempotent = true
			}
		}
		s := o.op.RequestBody.Value.Content.Get(media).Schema.Value
		for name := range s.Properties {
			m.schemaProps[name] = true
		}
		for _, c := range slices.Sorted(maps.Keys(o.op.Responses.Map())) {
			if n, err := strconv.Atoi(c); err == nil && n >= 200 && n < 300 {
				m.success = append(m.success, n)
			}
		}
		require.NotEmpty(t, m.success, "%s has no 2xx answer", o.op.OperationID)
		out[o.op.OperationID] = m
	}
	return out
}

// send calls the operation with body, as multipart parts when the
// operation takes a form (the message, a file, then the other fields).
func (e *env) massSend(t *testing.T, op massOp, path string, as http.Header, body map[string]any) (*http.Response, []byte) {
	t.Helper()
	h := as.Clone()
	if op.idempotent {
		h.Set("Idempotency-Key", uuid.NewString())
	}
	var r io.Reader
	switch op.media {
	case "application/json":
		b, err := json.Marshal(body)
		require.NoError(t, err)
		h.Set("Content-Type", "application/json")
		r = bytes.NewReader(b)
	case "multipart/form-data":
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		if msg, ok := body["message"]; ok {
			require.NoError(t, w.WriteField("message", fmt.Sprint(msg)))
		}
		f, err := w.CreateFormFile("files", "report.md")
		require.NoError(t, err)
		_, err = f.Write([]byte("# Report\n"))
		require.NoError(t, err)
		for _, k := range slices.Sorted(maps.Keys(body)) {
			if k != "message" {
				v, err := json.Marshal(body[k])
				require.NoError(t, err)
				require.NoError(t, w.WriteField(k, strings.Trim(string(v), `"`)))
			}
		}
		require.NoError(t, w.Close())
		h.Set("Content-Type", w.FormDataContentType())
		r = &buf
	default:
		t.Fatalf("%s: no way to send %s", op.op.OperationID, op.media)
	}
	return e.do(t, op.method, path, r, h)
}

// nestedObjects lists the objects inside a body, with the field path the
// server names them by ("tiers[0]", "auto_bands").
func nestedObjects(v any, path string, visit func(path string, obj map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if path != "" {
			visit(path, x)
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			nestedObjects(x[k], joinPath(path, k), visit)
		}
	case []any:
		for i, el := range x {
			nestedObjects(el, fmt.Sprintf("%s[%d]", path, i), visit)
		}
	}
}

// deepCopy copies a JSON body.
func deepCopy(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// objectAt finds the object a nestedObjects path names in a copy.
func objectAt(t *testing.T, body map[string]any, path string) map[string]any {
	t.Helper()
	var found map[string]any
	nestedObjects(body, "", func(p string, obj map[string]any) {
		if p == path {
			found = obj
		}
	})
	require.NotNil(t, found, path)
	return found
}

// massVariant is one refused body and the field it must be refused for.
type massVariant struct {
	field string
	body  map[string]any
}

func massVariants(t *testing.T, id string, op massOp, valid map[string]any) []massVariant {
	t.Helper()
	const unknown = "x_unknown_field"
	var out []massVariant
	b := deepCopy(t, valid)
	b[unknown] = "x"
	out = append(out, massVariant{unknown, b})
	if op.media == "application/json" {
		nestedObjects(valid, "", func(path string, _ map[string]any) {
			b := deepCopy(t, valid)
			objectAt(t, b, path)[unknown] = "x"
			out = append(out, massVariant{path + "." + unknown, b})
		})
	}
	for _, name := range slices.Sorted(maps.Keys(serverOwned)) {
		if op.schemaProps[name] {
			_, ok := ownedInput[id+" "+name]
			require.True(t, ok, "%s takes the server-owned field %s without an ownedInput entry", id, name)
			continue
		}
		b := deepCopy(t, valid)
		b[name] = serverOwned[name]
		out = append(out, massVariant{name, b})
	}
	return out
}

// TestMassAssignHTTP sends every write operation that takes fields its
// valid body plus one field it must refuse, for every such field.
func TestMassAssignHTTP(t *testing.T) {
	t.Parallel()
	ops := massOps(t, loadSpec(t))
	// Every operation has an entry and a place in the order, and no entry is stale.
	require.ElementsMatch(t, slices.Collect(maps.Keys(ops)), slices.Collect(maps.Keys(massCases)),
		"massCases must have exactly one entry per operation with a JSON or form body (add a minimal valid body for a new operation)")
	require.ElementsMatch(t, massOrder, slices.Collect(maps.Keys(massCases)), "massOrder lists every entry once")
	eachDB(t, func(t *testing.T, e *env) {
		s := e.newMassScene(t)
		refused := 0
		for _, id := range massOrder {
			op, c := ops[id], massCases[id]
			path := op.path
			for k, v := range c.params(s) {
				path = strings.ReplaceAll(path, "{"+k+"}", v)
			}
			require.NotContains(t, path, "{", "%s: a path parameter has no value", id)
			valid := c.body(s)
			before := e.massState(t, c.reads(s))
			for _, v := range massVariants(t, id, op, valid) {
				resp, body := e.massSend(t, op, path, c.as(s), v.body)
				p := requireProblem(t, resp, body, http.StatusBadRequest, "validation")
				require.Equal(t, []string{v.field}, fieldNames(p), "%s with %s: the problem must name exactly the added field", id, v.field)
				refused++
			}
			requireSameState(t, id, before, e.massState(t, c.reads(s)))
			resp, body := e.massSend(t, op, path, c.as(s), valid)
			require.Contains(t, op.success, resp.StatusCode, "%s: the valid body alone must succeed: %s", id, body)
		}
		// acceptQuote places the order and sets its price; it takes no body,
		// so one that names a price and a status must be refused or ignored:
		// the order costs what the quote says and starts as any order does.
		quote := e.sendQuote(t, s.a.agentC, s.conv, s.quote())
		body := `{"price": 1, "status": "completed", "customer_id": "` + s.m.customer.ID + `"}`
		h := s.customer.Clone()
		h.Set("Content-Type", "application/json")
		h.Set("Idempotency-Key", uuid.NewString())
		before := e.massState(t, nil)
		resp, got := e.do(t, http.MethodPost, "/v1/quotes/"+quote.Id+"/accept", strings.NewReader(body), h)
		if resp.StatusCode == http.StatusBadRequest {
			requireProblem(t, resp, got, http.StatusBadRequest, "validation")
			requireSameState(t, "acceptQuote", before, e.massState(t, nil))
		} else {
			require.Equal(t, http.StatusCreated, resp.StatusCode, "acceptQuote: %s", got)
			var o client.Order
			require.NoError(t, json.Unmarshal(got, &o))
			require.Equal(t, int64(120), o.Price, "the order's price is the quote's")
			require.Equal(t, client.OrderStatusInProgress, o.Status)
			require.Equal(t, s.a.customer.ID, o.CustomerId)
			require.Equal(t, int64(120), e.ledgerState(t).Balances["escrow:"+o.Id], "the escrow holds the quote's price")
			t.Logf("acceptQuote ignored a body it does not take")
		}
		e.requireLedgerOK(t)
		t.Logf("%d operations, %d refused requests, nothing changed", len(massOrder), refused)
	}, withLoopbackHooks())
}
