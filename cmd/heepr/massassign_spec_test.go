package main

// Mass assignment, the contract's half (issue 11, item 2): every request
// schema of openapi.yaml refuses unknown fields, and none lets a caller set
// a field only the server may set (an id, a status, an owner, an order's
// price, a balance, a rating aggregate, ...), unless the operation really
// takes it as input and the exception below says why.
//
// It lives in cmd/heepr, beside its HTTP half (massassign_test.go), so both
// use one list of server-owned fields and one list of exceptions: the HTTP
// test sends every field named here to every write operation.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr"
)

// serverOwned are the fields only heepr sets: a request that carries one is
// refused. Each comes from a response schema of openapi.yaml (the schema in
// the comment) and PRODUCT.md's rules; the value is what the HTTP test sends.
var serverOwned = map[string]any{
	// Identity and time of any object (every response schema).
	"id":         "x1",
	"created_at": "2030-01-01T00:00:00Z",
	"updated_at": "2030-01-01T00:00:00Z",
	// Who owns or made an object (Order, Conversation, Case, CaseAgent,
	// ReinstatementRequest, AccountStanding, Message, Quote, CaseResolution).
	"owner":           "x1",
	"owner_id":        "x1",
	"customer_id":     "x1",
	"user_id":         "x1",
	"author_kind":     "support",
	"flagged_by":      "x1",
	"resolved_by":     "x1",
	"decided_by":      "x1",
	"roles":           []string{"support"}, // User: support is made by the CLI only (PRODUCT.md §1)
	"conversation_id": "x1",
	"quote_id":        "x1",
	"order_id":        "x1",
	// Lifecycle: states move only by their operations (Order, Quote, Agent,
	// Delivery, Case, ReinstatementRequest, WebhookDelivery, AccountStanding).
	"status":         "completed",
	"state":          "delivered",
	"late":           true,
	"deadline":       "2030-01-01T00:00:00Z",
	"revisions_left": 10,
	"cancel_reason":  "declined",
	"decided_at":     "2030-01-01T00:00:00Z",
	"resolved_at":    "2030-01-01T00:00:00Z",
	"completed_at":   "2030-01-01T00:00:00Z",
	"published_at":   "2030-01-01T00:00:00Z",
	"delivered_at":   "2030-01-01T00:00:00Z",
	"suspended":      true,
	"enabled":        true,
	// Points (Order, OrderSnapshot, Wallet, Posting, CaseResolution, Review):
	// an order's price is the accepted quote's, balances move by postings only.
	"price":           1,
	"price_min":       1,
	"price_max":       1,
	"amount":          999999,
	"balance":         999999,
	"balance_after":   999999,
	"held":            0,
	"refunded_points": 999999,
	"refunded":        999999,
	"reward":          999999,
	"paid_out":        true,
	"snapshot":        map[string]any{"price": 1},
	// Reputation aggregates (PublicAgent, CaseAgent; PRODUCT.md §3 "live figures").
	"rating":           5,
	"review_count":     1000,
	"completed_orders": 1000,
	"on_time_rate":     1,
	"missed_deadlines": 0,
	"online":           true,
	"last_poll_at":     "2030-01-01T00:00:00Z",
	// Secrets and versions the server issues (OwnerAgent, CreatedAgent,
	// PersonalToken, RegisteredWebhook).
	"api_key":          "hpr_agent_x",
	"key_prefix":       "hpr_agent_x",
	"secret":           "whsec_x",
	"token":            "hpr_pat_x",
	"settings_version": 99,
	"package_version":  99,
	"version":          99,
}

// ownedInput are the places a request legitimately carries a server-owned
// name, as "operationId path", with why it is input there.
var ownedInput = map[string]string{
	"sendQuote price":           "the agent prices its quote; the order's price is then copied from the accepted quote, never from a request",
	"createAgent tiers[].price": "the owner prices the agent's own tiers; price_min/price_max are derived from them",
	"updateAgent tiers[].price": "as createAgent: the owner reprices its tiers (orders keep their snapshot)",
	"creditPoints amount":       "support grants points: choosing the amount is the operation (support only, audited, idempotent)",
	"createReview rating":       "the customer's stars for this one review; the agent's rating aggregate is computed from reviews",
}

// echoedInput are request fields that also appear in responses and are the
// caller's to set (the response echoes them). A request field whose name a
// response also uses must be here or in serverOwned, so that a new field is
// classified by whoever adds it.
var echoedInput = map[string]string{
	"email": "", "display_name": "", "name": "", "handle": "", "specialty": "", "description": "",
	"categories": "", "skills": "", "plugins": "", "tiers": "", "delivery_days": "", "revisions": "",
	"polling_interval_seconds": "", "accept_mode": "", "auto_bands": "", "min_price": "", "max_price": "",
	"max_revisions": "", "max_active_orders": "", "title": "", "category": "", "criteria": "", "expires_at": "",
	"message": "", "body": "", "memo": "", "text": "", "reason": "", "note": "", "notes": "", "action": "",
	"unmet_criteria": "", "url": "", "files": "", "details": "",
	"agent_id": "createConversation: the agent the customer contacts (checked: it must be active and not the caller's own)",
}

// freeForm are request objects allowed to take any field, as "operationId
// path", with why. None today.
var freeForm = map[string]string{}

// requestMedia are the media types whose body has fields; a binary body
// (image/*) has none and is checked to be a plain binary string.
var requestMedia = []string{"application/json", "multipart/form-data", "application/x-www-form-urlencoded"}

// loadSpec parses openapi.yaml as embedded in the binary.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	spec, err := openapi3.NewLoader().LoadFromData(heepr.OpenAPI)
	require.NoError(t, err)
	require.NoError(t, spec.Validate(context.Background()))
	return spec
}

// specOp is one operation of the spec.
type specOp struct {
	method, path string
	op           *openapi3.Operation
}

func specOps(spec *openapi3.T) []specOp {
	var out []specOp
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			out = append(out, specOp{method, path, op})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].op.OperationID < out[j].op.OperationID })
	return out
}

// bodyMedia is the media type of an operation's request body that has
// fields ("" when it has none or no body).
func bodyMedia(op *openapi3.Operation) string {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return ""
	}
	for _, m := range requestMedia {
		if op.RequestBody.Value.Content.Get(m) != nil {
			return m
		}
	}
	return ""
}

// walkSchema calls visit for every schema reachable from s (properties,
// items, additionalProperties, allOf/oneOf/anyOf/not; $refs are resolved
// by the loader), with its path: "tiers[]", "auto_bands.categories[]".
func walkSchema(s *openapi3.SchemaRef, path string, visit func(path string, s *openapi3.Schema), onStack map[*openapi3.Schema]bool) {
	if s == nil || s.Value == nil || onStack[s.Value] {
		return
	}
	v := s.Value
	onStack[v] = true
	defer delete(onStack, v)
	visit(path, v)
	for _, name := range slices.Sorted(maps.Keys(v.Properties)) {
		walkSchema(v.Properties[name], joinPath(path, name), visit, onStack)
	}
	walkSchema(v.Items, path+"[]", visit, onStack)
	walkSchema(v.AdditionalProperties.Schema, path+"{}", visit, onStack)
	for _, group := range []openapi3.SchemaRefs{v.AllOf, v.OneOf, v.AnyOf} {
		for _, sub := range group {
			walkSchema(sub, path, visit, onStack)
		}
	}
	walkSchema(v.Not, path, visit, onStack)
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// lastName is the property a path ends with ("tiers[].price" → "price").
func lastName(path string) string {
	path = strings.TrimRight(path, "[]{}")
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[i+1:]
	}
	return path
}

// responseNames is every property name of every response body of the spec
// (and of the webhook callbacks heepr sends).
func responseNames(spec *openapi3.T) map[string]bool {
	names := map[string]bool{}
	collect := func(c openapi3.Content) {
		for _, mt := range c {
			walkSchema(mt.Schema, "", func(path string, _ *openapi3.Schema) {
				if path != "" {
					names[lastName(path)] = true
				}
			}, map[*openapi3.Schema]bool{})
		}
	}
	var ops func(item *openapi3.PathItem)
	ops = func(item *openapi3.PathItem) {
		for _, op := range item.Operations() {
			for _, r := range op.Responses.Map() {
				if r.Value != nil {
					collect(r.Value.Content)
				}
			}
			for _, cb := range op.Callbacks {
				for _, cbItem := range cb.Value.Map() {
					for _, cbOp := range cbItem.Operations() {
						if cbOp.RequestBody != nil {
							collect(cbOp.RequestBody.Value.Content) // heepr's output
						}
					}
				}
			}
		}
	}
	for _, item := range spec.Paths.Map() {
		ops(item)
	}
	return names
}

// TestMassAssignSpec walks every operation's request body (callbacks are
// requests heepr sends, not ones it takes, and are left out) and every
// schema reachable from it.
func TestMassAssignSpec(t *testing.T) {
	t.Parallel()
	spec := loadSpec(t)
	inResponses := responseNames(spec)
	var problems []string
	usedInput, usedFree, usedEcho := map[string]bool{}, map[string]bool{}, map[string]bool{}
	bodies, objects, fields := 0, 0, 0
	for _, o := range specOps(spec) {
		id := o.op.OperationID
		if o.op.RequestBody == nil {
			continue
		}
		media := bodyMedia(o.op)
		if media == "" {
			// Only binary bodies may have no fields (uploadAgentAvatar).
			for mt, c := range o.op.RequestBody.Value.Content {
				s := c.Schema.Value
				if s == nil || !s.Type.Is("string") || s.Format != "binary" {
					problems = append(problems, fmt.Sprintf("%s: request media %s is neither a known media type with fields nor a binary string", id, mt))
				}
			}
			continue
		}
		bodies++
		walkSchema(o.op.RequestBody.Value.Content.Get(media).Schema, "", func(path string, s *openapi3.Schema) {
			where := id + " " + orRoot(path)
			if s.Type.Is("object") || len(s.Properties) > 0 {
				objects++
				if len(s.AllOf)+len(s.OneOf)+len(s.AnyOf) > 0 {
					problems = append(problems, where+": allOf/oneOf/anyOf in a request object: with additionalProperties false each part refuses the others' fields; write the object out whole")
				}
				closed := s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has && s.AdditionalProperties.Schema == nil
				if _, ok := freeForm[where]; ok {
					usedFree[where] = true
				} else if !closed {
					problems = append(problems, where+": object does not set additionalProperties: false (unknown fields would be accepted)")
				}
			}
			if path == "" || strings.HasSuffix(path, "[]") || strings.HasSuffix(path, "{}") {
				return
			}
			fields++
			name := lastName(path)
			key := id + " " + path
			if _, owned := serverOwned[name]; owned {
				if _, ok := ownedInput[key]; ok {
					usedInput[key] = true
				} else {
					problems = append(problems, key+": a request sets the server-owned field "+name)
				}
				return
			}
			if _, ok := echoedInput[name]; ok {
				usedEcho[name] = true
			} else if inResponses[name] {
				problems = append(problems, key+": "+name+" is also a response field: add it to serverOwned (refused) or echoedInput (the caller's to set)")
			}
		}, map[*openapi3.Schema]bool{})
	}
	for key := range ownedInput {
		if !usedInput[key] {
			problems = append(problems, "ownedInput "+key+" matches no request field: remove it")
		}
	}
	for key := range freeForm {
		if !usedFree[key] {
			problems = append(problems, "freeForm "+key+" matches no request object: remove it")
		}
	}
	for name := range echoedInput {
		if !usedEcho[name] || !inResponses[name] {
			problems = append(problems, "echoedInput "+name+" is not both a request and a response field: remove it")
		}
	}
	for name := range serverOwned {
		if _, ok := echoedInput[name]; ok {
			problems = append(problems, name+" is both serverOwned and echoedInput")
		}
	}
	sort.Strings(problems)
	require.Empty(t, problems, "openapi.yaml lets a request assign what it should not:\n%s", strings.Join(problems, "\n"))
	require.Positive(t, bodies)
	t.Logf("%d request bodies, %d object schemas, %d fields checked; %d server-owned names, %d exceptions",
		bodies, objects, fields, len(serverOwned), len(ownedInput))
}

func orRoot(path string) string {
	if path == "" {
		return "(body)"
	}
	return path
}
