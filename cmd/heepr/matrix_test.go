package main

// The access matrix (issue 11, item 1), generated from openapi.yaml.
//
// TestMatrix builds one heepr per database and walks every operation of
// the spec (method, path, operationId). Nothing is listed by hand, so a
// new operation is covered the day it is added, and one the test cannot
// build a valid request for fails the test instead of being skipped.
//
//   - roles: every operation is called as anonymous, a customer, an
//     owner, an agent and support, with ids that name nothing. The answer
//     must be what the spec's security and the casbin policy say: the wrong
//     kind of credentials (none, or an agent key on a person's operation,
//     or a cookie on an agent's) is 401 `unauthenticated`; anonymous
//     refused by the policy is 401 `unauthenticated`; a signed-in caller
//     refused by the policy is 403 `forbidden` (docs/errors.md); a caller
//     the policy allows never gets 401 or 403 (the ids name nothing, so
//     404, 400, 409 or 422 are fine: the point is the authorization layer).
//   - foreign: every operation with an object id in its path is called, by
//     each of those principals (none of whom owns or is party to anything
//     seeded), with the id of an object a "victim" customer, owner and
//     agent own, and with a random id of the same shape that names nothing.
//     Both answers must be equal (status and problem body, but for
//     instance and request_id), and 404 wherever the policy lets the
//     caller in. The exemptions (public agent profiles, support's
//     operations on any object) are derived or declared below, each with
//     its reason.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	heepr "github.com/heepr/heepr"
	"github.com/heepr/heepr/adapters/authz"
	httpapi "github.com/heepr/heepr/adapters/http"
	"github.com/heepr/heepr/api/client"
	"github.com/heepr/heepr/modules/kernel"
)

// --- the spec ------------------------------------------------------------------

// mxOp is one operation of openapi.yaml.
type mxOp struct {
	ID     string
	Method string
	Path   string
	Op     *openapi3.Operation
	Params openapi3.Parameters // the operation's and its path item's
}

// pathParams lists the names of the operation's path parameters, in order.
func (o mxOp) pathParams() []string {
	var out []string
	for _, p := range o.Params {
		if p.Value.In == openapi3.ParameterInPath {
			out = append(out, p.Value.Name)
		}
	}
	return out
}

// mxSpec is openapi.yaml loaded for the matrix: its operations, sorted,
// and a router to validate the requests the test builds.
type mxSpec struct {
	doc    *openapi3.T
	ops    []mxOp
	router routers.Router
}

var loadMatrixSpec = sync.OnceValues(func() (*mxSpec, error) {
	doc, err := openapi3.NewLoader().LoadFromData(heepr.OpenAPI)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	s := &mxSpec{doc: doc, router: router}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				return nil, fmt.Errorf("%s %s has no operationId", method, path)
			}
			params := append(openapi3.Parameters{}, item.Parameters...)
			params = append(params, op.Parameters...)
			s.ops = append(s.ops, mxOp{ID: op.OperationID, Method: method, Path: path, Op: op, Params: params})
		}
	}
	slices.SortFunc(s.ops, func(a, b mxOp) int { return strings.Compare(a.ID, b.ID) })
	return s, nil
})

// mxSchemes says which way of signing in satisfies each security scheme
// (the same mapping heepr's validator uses).
var mxSchemes = map[string]kernel.AuthMethod{
	"sessionCookie": kernel.AuthSession,
	"personalToken": kernel.AuthToken,
	"agentKey":      kernel.AuthAgent,
}

// securityMet reports whether a caller signed in by method satisfies the
// operation's security (its own, else the spec's): one requirement all of
// whose schemes that method provides; an empty requirement lets anyone in.
func (s *mxSpec) securityMet(o mxOp, method kernel.AuthMethod) bool {
	reqs := o.Op.Security
	if reqs == nil {
		reqs = &s.doc.Security
	}
	if len(*reqs) == 0 {
		return true
	}
	for _, req := range *reqs {
		met := true
		for scheme := range req {
			if mxSchemes[scheme] != method || method == kernel.AuthNone {
				met = false
			}
		}
		if met {
			return true
		}
	}
	return false
}

// --- requests built from the spec -------------------------------------------------

// mxRequest is one request to send: everything but the caller's credentials.
type mxRequest struct {
	method, path string
	query        map[string]string
	header       http.Header
	body         []byte
}

// bodyOverride replaces the synthesized body of an operation whose
// schema-valid body would be refused for a reason the matrix is not
// about. Only signIn: any made-up email is refused with 401
// invalid-credentials, which would hide whether the policy let the caller
// in. It signs in an account made for this purpose.
type bodyOverride func(m *mxEnv) any

var bodyOverrides = map[string]bodyOverride{
	"signIn": func(m *mxEnv) any {
		return map[string]any{"email": m.signInEmail, "password": testPassword}
	},
}

// anonymousQuery completes the request of an operation the policy grants
// to anonymous callers only when they carry something else: downloadFile
// is open to anonymous for signed links (createFileLink), and without a
// link answers 401 unauthenticated like any operation that needs a
// caller. The matrix sends anonymous a well-formed link that heepr never
// signed, which must be refused as "file not found" (404).
var anonymousQuery = map[string]func(m *mxEnv) map[string]string{
	"downloadFile": func(m *mxEnv) map[string]string {
		return map[string]string{
			"expires": fmt.Sprint(m.e.clock.Now().Add(time.Minute).Unix()),
			"user":    uuid.NewString(),
			"sig":     "1." + randomID() + randomID() + randomID() + randomID(),
		}
	},
}

// request builds the request for o as p would send it.
func (m *mxEnv) request(t *testing.T, o mxOp, ids map[string]string, p mxPrincipal) mxRequest {
	t.Helper()
	r := m.build(t, o, ids)
	if q, ok := anonymousQuery[o.ID]; ok && p.method == kernel.AuthNone {
		maps.Copy(r.query, q(m))
		m.validate(t, o, r)
	}
	return r
}

// build makes a request for o with the path parameters given, every
// required query parameter and header, and a body valid for its schema.
// The request is validated against the spec (security aside) before it is
// used: an operation the synthesizer cannot serve fails the test.
func (m *mxEnv) build(t *testing.T, o mxOp, ids map[string]string) mxRequest {
	t.Helper()
	r := mxRequest{method: o.Method, path: o.Path, query: map[string]string{}, header: http.Header{}}
	for _, p := range o.Params {
		v := p.Value
		switch v.In {
		case openapi3.ParameterInPath:
			id, ok := ids[v.Name]
			require.True(t, ok, "%s: no id for path parameter %s", o.ID, v.Name)
			r.path = strings.ReplaceAll(r.path, "{"+v.Name+"}", id)
		case openapi3.ParameterInQuery:
			if v.Required {
				r.query[v.Name] = fmt.Sprint(m.synth(t, v.Schema.Value, o.ID+"."+v.Name))
			}
		case openapi3.ParameterInHeader:
			if v.Required {
				val := fmt.Sprint(m.synth(t, v.Schema.Value, o.ID+"."+v.Name))
				if v.Name == "Idempotency-Key" {
					val = uuid.NewString() // a fresh key for every call: no call replays another's answer
				}
				r.header.Set(v.Name, val)
			}
		default:
			t.Fatalf("%s: parameter %s in %s: the matrix cannot send it", o.ID, v.Name, v.In)
		}
	}
	if rb := o.Op.RequestBody; rb != nil && rb.Value.Required {
		media := slices.Sorted(maps.Keys(rb.Value.Content))
		require.NotEmpty(t, media, "%s: a required body without a media type", o.ID)
		mt := media[0]
		schema := rb.Value.Content[mt].Schema.Value
		switch {
		case mt == "application/json":
			var v any
			if over, ok := bodyOverrides[o.ID]; ok {
				v = over(m)
			} else {
				v = m.synth(t, schema, o.ID)
			}
			b, err := json.Marshal(v)
			require.NoError(t, err)
			r.body = b
			r.header.Set("Content-Type", mt)
		case mt == "multipart/form-data":
			r.body, r.header = m.multipart(t, o, schema, r.header)
		case strings.HasPrefix(mt, "image/"):
			r.body = m.png
			r.header.Set("Content-Type", "image/png")
		default:
			t.Fatalf("%s: a body of %s: the matrix cannot build one", o.ID, mt)
		}
	}
	m.validate(t, o, r)
	return r
}

// multipart builds a form with a value for each property: a short text
// file for each binary field.
func (m *mxEnv) multipart(t *testing.T, o mxOp, schema *openapi3.Schema, h http.Header) ([]byte, http.Header) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, name := range slices.Sorted(maps.Keys(schema.Properties)) {
		p := schema.Properties[name].Value
		switch {
		case p.Type.Is("array") && p.Items.Value.Format == "binary", p.Format == "binary":
			fw, err := w.CreateFormFile(name, "matrix.txt")
			require.NoError(t, err)
			_, _ = fw.Write([]byte("matrix test file\n"))
		default:
			require.NoError(t, w.WriteField(name, fmt.Sprint(m.synth(t, p, o.ID+"."+name))))
		}
	}
	require.NoError(t, w.Close())
	h.Set("Content-Type", w.FormDataContentType())
	return b.Bytes(), h
}

// validate holds a built request to the spec, security aside (the matrix
// sends it with every kind of credentials on purpose).
func (m *mxEnv) validate(t *testing.T, o mxOp, r mxRequest) {
	t.Helper()
	req := r.httpRequest(t, "http://heepr.test")
	route, params, err := m.spec.router.FindRoute(req)
	require.NoError(t, err, "%s: the request the matrix built matches no route", o.ID)
	require.Equal(t, o.ID, route.Operation.OperationID)
	_, stream := o.Op.Extensions["x-heepr-stream-body"]
	err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, ExcludeRequestBody: stream, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	})
	require.NoError(t, err, "%s: the matrix cannot build a request openapi.yaml accepts; teach synth (or bodyOverrides) about it", o.ID)
}

func (r mxRequest) httpRequest(t *testing.T, base string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(r.method, base+r.path, bytes.NewReader(r.body))
	require.NoError(t, err)
	q := req.URL.Query()
	for k, v := range r.query {
		q.Set(k, v)
	}
	req.URL.RawQuery = q.Encode()
	for k, vs := range r.header {
		req.Header[k] = slices.Clone(vs)
	}
	return req
}

// synth makes a value the schema accepts: required properties (and
// enough others to meet minProperties), the least number of array items,
// the first enum value, the minimum of a number, a string that meets its
// length, pattern and format. Unique where uniqueness may matter (handles,
// emails).
func (m *mxEnv) synth(t *testing.T, s *openapi3.Schema, where string) any {
	t.Helper()
	switch {
	case len(s.AllOf) > 0:
		out := map[string]any{}
		for _, sub := range s.AllOf {
			v, ok := m.synth(t, sub.Value, where).(map[string]any)
			require.True(t, ok, "%s: allOf of a non-object", where)
			maps.Copy(out, v)
		}
		return out
	case len(s.OneOf) > 0:
		return m.synth(t, s.OneOf[0].Value, where)
	case len(s.AnyOf) > 0:
		return m.synth(t, s.AnyOf[0].Value, where)
	case len(s.Enum) > 0:
		return s.Enum[0]
	}
	switch {
	case s.Type.Is("object"):
		out := map[string]any{}
		names := slices.Clone(s.Required)
		for _, n := range slices.Sorted(maps.Keys(s.Properties)) {
			if uint64(len(names)) >= s.MinProps {
				break
			}
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		for _, n := range names {
			p, ok := s.Properties[n]
			require.True(t, ok, "%s: required property %s has no schema", where, n)
			out[n] = m.synth(t, p.Value, where+"."+n)
		}
		return out
	case s.Type.Is("array"):
		n := max(int(s.MinItems), 1)
		if s.MaxItems != nil {
			n = min(n, int(*s.MaxItems))
		}
		out := make([]any, n)
		for i := range out {
			out[i] = m.synth(t, s.Items.Value, fmt.Sprintf("%s[%d]", where, i))
		}
		return out
	case s.Type.Is("integer"), s.Type.Is("number"):
		v := 1.0
		if s.Min != nil {
			v = *s.Min
			if s.ExclusiveMin.IsSet() {
				v++
			}
		}
		if s.Max != nil && v > *s.Max {
			v = *s.Max
		}
		if s.Type.Is("integer") {
			return int64(v)
		}
		return v
	case s.Type.Is("boolean"):
		return false
	case s.Type.Is("string"):
		return m.synthString(t, s, where)
	}
	t.Fatalf("%s: schema of type %v: the matrix cannot make a value for it", where, s.Type)
	return nil
}

func (m *mxEnv) synthString(t *testing.T, s *openapi3.Schema, where string) string {
	t.Helper()
	u := randomID()[:8]
	var candidates []string
	switch s.Format {
	case "email":
		candidates = []string{"matrix-" + u + "@example.com"}
	case "date-time":
		candidates = []string{m.e.clock.Now().Add(72 * time.Hour).Format(time.RFC3339)}
	case "date":
		candidates = []string{m.e.clock.Now().Add(72 * time.Hour).Format(time.DateOnly)}
	case "uri", "url":
		candidates = []string{"https://example.com/matrix"}
	case "uuid":
		candidates = []string{uuid.NewString()}
	}
	candidates = append(candidates, "matrix"+u, u, "1", "matrix-"+u, "Matrix "+u)
	var re *regexp.Regexp
	if s.Pattern != "" {
		var err error
		re, err = regexp.Compile(s.Pattern)
		require.NoError(t, err, "%s: pattern", where)
	}
	for _, c := range candidates {
		for uint64(len(c)) < s.MinLength {
			c += "a"
		}
		if s.MaxLength != nil && uint64(len(c)) > *s.MaxLength {
			c = c[:*s.MaxLength]
		}
		if re == nil || re.MatchString(c) {
			return c
		}
	}
	t.Fatalf("%s: no string the matrix tries matches %q", where, s.Pattern)
	return ""
}

// --- principals ----------------------------------------------------------------

// mxPrincipal is a caller: how it signs in and the roles it holds.
type mxPrincipal struct {
	name   string
	header http.Header
	method kernel.AuthMethod
	roles  []kernel.Role
	// check reports whether the credentials still work with the same
	// roles (a call may sign the caller out or change its roles); renew
	// makes a fresh caller of the same kind.
	check func() bool
	renew func(t *testing.T) mxPrincipal
}

func (p mxPrincipal) principal() kernel.Principal {
	return kernel.Principal{Method: p.method, Roles: p.roles}
}

// mxEnv is the app under test with what the matrix needs.
type mxEnv struct {
	e           *env
	spec        *mxSpec
	enforcer    *authz.Enforcer
	png         []byte
	signInEmail string
	principals  []mxPrincipal
	calls       int
}

// answer is what heepr answered.
type answer struct {
	status int
	ctype  string
	body   []byte
}

func (a answer) String() string {
	b := a.body
	if len(b) > 600 {
		b = append(b[:600:600], "…"...)
	}
	return fmt.Sprintf("%d %s", a.status, b)
}

// problemType is the slug of a problem answer ("" for any other answer).
func (a answer) problemType() string {
	if a.ctype != "application/problem+json" {
		return ""
	}
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(a.body, &p)
	return strings.TrimPrefix(p.Type, httpapi.ProblemBase)
}

// comparable is the problem without what differs between two requests.
func (a answer) comparable(t *testing.T) string {
	t.Helper()
	if a.ctype != "application/problem+json" {
		return string(a.body)
	}
	var p map[string]any
	require.NoError(t, json.Unmarshal(a.body, &p), "%s", a.body)
	delete(p, "instance")
	delete(p, "request_id")
	b, err := json.Marshal(p)
	require.NoError(t, err)
	return string(b)
}

// call sends r as p. Every answer passes through the harness's spec check.
func (m *mxEnv) call(t *testing.T, p mxPrincipal, r mxRequest) answer {
	t.Helper()
	m.calls++
	req := r.httpRequest(t, m.e.url)
	for k, vs := range p.header {
		req.Header[k] = slices.Clone(vs)
	}
	resp, err := m.e.httpClient(t).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: b}
	if a.status >= 400 {
		require.Equal(t, "application/problem+json", a.ctype, "%s %s as %s: an error that is not a problem: %s", r.method, r.path, p.name, a)
	}
	require.Less(t, a.status, 500, "%s %s as %s: %s", r.method, r.path, p.name, a)
	return a
}

// userPrincipal signs up a user of the role and reads its roles.
func (m *mxEnv) userPrincipal(t *testing.T, name string, role client.SignUpRequestRole) mxPrincipal {
	t.Helper()
	acc := m.e.signUp(t, name+"-"+randomID()[:8]+"@example.com", role)
	return m.sessionPrincipal(t, name, acc.Session, func(t *testing.T) mxPrincipal { return m.userPrincipal(t, name, role) })
}

func (m *mxEnv) sessionPrincipal(t *testing.T, name, session string, renew func(t *testing.T) mxPrincipal) mxPrincipal {
	t.Helper()
	c := m.e.withCookie(t, session)
	status, me, body := m.e.me(t, c)
	require.Equal(t, http.StatusOK, status, "%s", body)
	roles := rolesOf(me.Roles)
	return mxPrincipal{name: name, header: cookieHeader(session), method: kernel.AuthSession, roles: roles, renew: renew,
		check: func() bool {
			resp, err := c.GetMeWithResponse(context.Background())
			return err == nil && resp.JSON200 != nil && slices.Equal(rolesOf(resp.JSON200.Roles), roles)
		}}
}

func rolesOf(rs []client.Role) []kernel.Role {
	out := make([]kernel.Role, len(rs))
	for i, r := range rs {
		out[i] = kernel.Role(r)
	}
	slices.Sort(out)
	return out
}

// agentPrincipal is the agent of a fresh shop (its own owner and customer).
func (m *mxEnv) agentPrincipal(t *testing.T) mxPrincipal {
	t.Helper()
	s := m.e.autoShop(t)
	c := s.agentC
	return mxPrincipal{name: "agent", header: bearerHeader(s.key), method: kernel.AuthAgent, roles: []kernel.Role{kernel.RoleAgent},
		renew: m.agentPrincipal,
		check: func() bool {
			resp, err := c.GetAgentSelfWithResponse(context.Background())
			return err == nil && resp.StatusCode() == http.StatusOK
		}}
}

func (m *mxEnv) supportPrincipal(t *testing.T) mxPrincipal {
	t.Helper()
	a, _ := m.e.suspSupport(t)
	return m.sessionPrincipal(t, "support", a.Session, m.supportPrincipal)
}

func anonymousPrincipal() mxPrincipal {
	return mxPrincipal{name: "anonymous", check: func() bool { return true }}
}

// --- the victim's objects -------------------------------------------------------------

// victims are ids of objects that a victim customer, owner and agent own
// (and none of the matrix's principals), by path parameter name. Each
// kind has objects in the states where a check of state before ownership
// would show (a pending quote, orders in progress, in review, awaiting
// approval, completed and disputed, a draft, a published and a suspended
// agent).
type victims map[string][]victim

type victim struct {
	id    string
	label string
	// public: anyone may see it (a published agent's profile).
	public bool
}

func (m *mxEnv) seedVictims(t *testing.T) victims {
	t.Helper()
	e := m.e
	ctx := context.Background()
	v := victims{}
	add := func(param, label, id string, public bool) {
		require.NotEmpty(t, id, "%s %s", param, label)
		v[param] = append(v[param], victim{id: id, label: label, public: public})
	}

	s := e.autoShop(t)
	_, staff := e.suspSupport(t)
	add("userId", "customer", s.customer.ID, false)
	add("agentId", "published agent", s.agent.Id, true)

	draft := e.createAgent(t, s.ownerC, wizard("draft-"+randomID()[:8]))
	add("agentId", "draft agent", draft.Agent.Id, false)
	add("agentId", "draft agent by handle", draft.Agent.Handle, false) // getAgent and createConversation take handles too

	suspended := e.createAgent(t, s.ownerC, wizard("susp-"+randomID()[:8]))
	e.publish(t, s.ownerC, suspended.Agent.Id)
	e.suspSuspendAgent(t, staff, suspended.Agent.Id, client.SuspendAgentRequest{Reason: "matrix"})
	rr := e.suspRequestReinstatement(t, s.ownerC, suspended.Agent.Id, "Please let it back.")
	require.Equal(t, http.StatusCreated, rr.StatusCode(), "requestReinstatement: %s", rr.Body)
	add("agentId", "suspended agent", suspended.Agent.Id, false)
	add("agentId", "suspended agent by handle", suspended.Agent.Handle, false)
	add("requestId", "waiting reinstatement request", rr.JSON201.Id, false)

	hook := newHookReceiver(t)
	e.registerWebhook(t, s.ownerC, s.agent.Id, hook.url(), http.StatusCreated)

	tok := e.createToken(t, s.custC, "matrix victim")
	add("tokenId", "customer's token", tok.Id, false)

	conv := e.contact(t, s.custC, s.agent.Id, "A job for the matrix.")
	q := e.sendQuote(t, s.agentC, conv.Id, e.quoteReq())
	add("conversationId", "conversation", conv.Id, false)
	add("quoteId", "pending quote", q.Id, false)

	inProgress := e.modOrder(t, s)
	add("orderId", "order in progress", inProgress.Id, false)

	inReview := e.modOrder(t, s)
	d := e.deliver(t, s.agentC, inReview.Id, "Done.", upload{"report.md", []byte("# Done\n")})
	add("orderId", "order in review", inReview.Id, false)
	add("deliveryId", "delivery in review", d.Id, false)
	add("fileId", "file of a delivery in review", d.Files[0].Id, false)

	delivered := e.modDelivered(t, s)
	add("orderId", "delivered order", delivered.Id, false)

	completed := e.completedOrder(t, s)
	rev := e.createReview(t, s.custC, completed.Id, 4, "Good work.")
	require.Equal(t, http.StatusCreated, rev.StatusCode(), "createReview: %s", rev.Body)
	add("orderId", "completed order", completed.Id, false)
	add("reviewId", "review", rev.JSON201.Id, false)

	disputed := e.modOrder(t, s)
	cs := e.suspFlag(t, s.custC, disputed.Id)
	add("orderId", "disputed order", disputed.Id, false)
	add("caseId", "open case", cs.Id, false)

	// A manual agent's order waits for its owner's approval.
	ms := e.manualShop(t)
	mconv := e.contact(t, ms.custC, ms.agent.Id, "Needs approval.")
	mq := e.sendQuote(t, ms.agentC, mconv.Id, e.quoteReq())
	pending := e.accept(t, ms.custC, mq.Id)
	require.Equal(t, client.OrderStatusPendingApproval, pending.Status)
	add("orderId", "order awaiting approval", pending.Id, false)

	e.waitJobsDone(t)
	ns := e.notifications(t, s.custC)
	require.NotEmpty(t, ns, "the victim customer has no notification")
	add("notificationId", "customer's notification", ns[0].Id, false)
	_ = ctx
	return v
}

// idFields are the query parameters and body properties that name an
// object, by operation, with the kind of object (a key of victims) or, for
// those that name none of another's objects, "" and why. The matrix fails
// on a field named *_id or up_to that is not listed here.
var idFields = map[string]struct{ kind, why string }{
	"listPostings.order_id":       {kind: "orderId"},
	"exportPostings.order_id":     {kind: "orderId"},
	"createConversation.agent_id": {kind: "agentId"},
	"markNotificationsRead.up_to": {kind: "notificationId"},
	"suspendAgent.case_id":        {why: "support only; support acts on any case"},
	"ackAgentEvents.up_to":        {why: "a position in the caller's own event feed (a number per agent), not an object"},
}

// fieldRef is one id field of an operation.
type fieldRef struct {
	in, name, kind string
}

// idFieldsOf lists o's id fields, failing on one idFields does not know.
func (m *mxEnv) idFieldsOf(t *testing.T, o mxOp) []fieldRef {
	t.Helper()
	var names []fieldRef
	for _, p := range o.Params {
		if p.Value.In == openapi3.ParameterInQuery {
			names = append(names, fieldRef{in: "query", name: p.Value.Name})
		}
	}
	if rb := o.Op.RequestBody; rb != nil {
		if c, ok := rb.Value.Content["application/json"]; ok {
			for _, n := range slices.Sorted(maps.Keys(c.Schema.Value.Properties)) {
				names = append(names, fieldRef{in: "body", name: n})
			}
		}
	}
	var out []fieldRef
	for _, f := range names {
		known, ok := idFields[o.ID+"."+f.name]
		if !ok {
			require.False(t, strings.HasSuffix(f.name, "_id") || f.name == "up_to",
				"%s: %s %s looks like an object id the matrix does not know; add it to idFields", o.ID, f.in, f.name)
			continue
		}
		if known.kind != "" {
			f.kind = known.kind
			out = append(out, f)
		}
	}
	return out
}

// withField sets an id field of a built request and validates it again.
func (m *mxEnv) withField(t *testing.T, o mxOp, r mxRequest, f fieldRef, id string) mxRequest {
	t.Helper()
	switch f.in {
	case "query":
		r.query = maps.Clone(r.query)
		r.query[f.name] = id
	case "body":
		var body map[string]any
		require.NoError(t, json.Unmarshal(r.body, &body))
		body[f.name] = id
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r.body = b
	}
	m.validate(t, o, r)
	return r
}

// disclosed are answers that tell another's object from a missing one on
// purpose, by operation and object: the answer the foreign object must get
// instead (its problem type), and why. Each is still checked, for exactly
// that answer.
var disclosed = map[string]struct {
	status       int
	problem, why string
}{
	"createConversation|suspended agent": {http.StatusConflict, "agent-suspended",
		"a suspended agent was on the market; whoever holds its id is told why it takes no work (ordering.CreateConversation; docs/errors.md, agent-suspended)"},
}

// --- exemptions -------------------------------------------------------------------

// supportSeesAll are the operations support performs on any object: that
// is what they are for (getOrder reads any order for a dispute, the rest
// act on users, agents, cases and requests across the marketplace). Every
// other operation support may call is held to the same rule as everyone:
// another user's token, or a file of an order that is not disputed,
// answers 404 like a missing one.
var supportSeesAll = map[string]string{
	"getOrder":             "support reads any order (disputes)",
	"creditPoints":         "support credits any user",
	"getCase":              "cases are support's queue",
	"resolveCase":          "cases are support's queue",
	"suspendAgent":         "support moderates any agent",
	"reinstateAgent":       "support moderates any agent",
	"declineReinstatement": "reinstatement requests are support's queue",
	"suspendUser":          "support moderates any user",
	"reinstateUser":        "support moderates any user",
}

// publicOperation reports whether an object may be seen by anyone through
// the operation: the policy grants it to anonymous (the spec makes the
// operation public) and the object is public (a published agent's profile,
// avatar and reviews). A draft or suspended agent is not public, and
// downloadFile, which the policy grants to anonymous for signed links, is
// not about a public object: both are held to the 404 rule.
func (m *mxEnv) publicOperation(o mxOp, v victim) bool {
	return v.public && m.enforcer.Allowed(kernel.Principal{}, o.ID)
}

// --- the test ---------------------------------------------------------------------

func TestMatrix(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		start := time.Now()
		spec, err := loadMatrixSpec()
		require.NoError(t, err)
		enf, err := authz.New()
		require.NoError(t, err)
		m := &mxEnv{e: e, spec: spec, enforcer: enf, png: pngBytes(t)}
		m.signInEmail = e.signUp(t, "sign-in-"+randomID()[:8]+"@example.com", client.SignUpRequestRoleCustomer).Email

		m.principals = []mxPrincipal{
			anonymousPrincipal(),
			m.userPrincipal(t, "customer", client.SignUpRequestRoleCustomer),
			m.userPrincipal(t, "owner", client.SignUpRequestRoleOwner),
			m.agentPrincipal(t),
			m.supportPrincipal(t),
		}
		vs := m.seedVictims(t)
		seeded := time.Since(start)

		t.Run("policy and security agree", func(t *testing.T) { m.testAgreement(t) })
		t.Run("roles", func(t *testing.T) { m.testRoles(t) })
		rolesDone := m.calls
		t.Run("foreign", func(t *testing.T) { m.testForeign(t, vs) })
		t.Logf("%s: %d operations; roles: %d calls; foreign objects: %d calls; %s (seeding %s)",
			e.target.Dialect, len(spec.ops), rolesDone, m.calls-rolesDone, time.Since(start).Round(time.Millisecond), seeded.Round(time.Millisecond))
	}, withLoopbackHooks())
}

// testAgreement: every operation has policy lines, and whatever the
// policy grants a kind of caller, the spec's security lets that caller's
// credentials in (else the policy line is dead, or the spec is wrong).
func (m *mxEnv) testAgreement(t *testing.T) {
	for _, o := range m.spec.ops {
		require.NotEmpty(t, m.enforcer.Roles(o.ID), "%s has no policy line", o.ID)
		for _, p := range m.principals {
			if p.method != kernel.AuthNone && m.enforcer.Allowed(p.principal(), o.ID) && !m.enforcer.Allowed(kernel.Principal{}, o.ID) {
				require.True(t, m.spec.securityMet(o, p.method), "the policy grants %s to %s, but its security refuses %s credentials", o.ID, p.name, p.method)
			}
		}
	}
}

// testRoles calls every operation as every principal, with ids that name nothing.
func (m *mxEnv) testRoles(t *testing.T) {
	tally := map[string]map[string]int{}
	count := func(p, outcome string) {
		if tally[p] == nil {
			tally[p] = map[string]int{}
		}
		tally[p][outcome]++
	}
	defer func() {
		for _, p := range m.principals {
			t.Logf("roles: %-9s %v", p.name, tally[p.name])
		}
	}()
	for _, o := range m.spec.ops {
		ids := map[string]string{}
		for _, name := range o.pathParams() {
			ids[name] = uuid.NewString()
		}
		for i := range m.principals {
			p := m.principals[i]
			got := m.call(t, p, m.request(t, o, ids, p))
			what := fmt.Sprintf("%s (%s %s) as %s", o.ID, o.Method, o.Path, p.name)
			switch {
			case !m.spec.securityMet(o, p.method):
				count(p.name, "401 by security")
				require.Equal(t, http.StatusUnauthorized, got.status, "%s: the spec's security refuses these credentials: %s", what, got)
				require.Equal(t, "unauthenticated", got.problemType(), "%s: %s", what, got)
			case !m.enforcer.Allowed(p.principal(), o.ID) && p.method == kernel.AuthNone:
				count(p.name, "401 by policy")
				require.Equal(t, http.StatusUnauthorized, got.status, "%s: the policy refuses anonymous: %s", what, got)
				require.Equal(t, "unauthenticated", got.problemType(), "%s: %s", what, got)
			case !m.enforcer.Allowed(p.principal(), o.ID):
				count(p.name, "403 by policy")
				require.Equal(t, http.StatusForbidden, got.status, "%s: the policy refuses roles %v: %s", what, p.roles, got)
				require.Equal(t, "forbidden", got.problemType(), "%s: %s", what, got)
			default:
				count(p.name, fmt.Sprintf("allowed (%d)", got.status))
				require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, got.status,
					"%s: the policy allows roles %v, yet: %s", what, p.roles, got)
			}
			// A call that signed the caller out or changed its roles
			// (signOut, enableOwnerRole) leaves a fresh caller for the next.
			if got.status < 300 && o.Method != http.MethodGet && !p.check() {
				m.principals[i] = p.renew(t)
			}
		}
	}
}

// testForeign calls every operation with an object id as every principal
// (none of whom has anything to do with the victim's objects), once with
// a victim's id and once with a missing id of the same shape.
func (m *mxEnv) testForeign(t *testing.T, vs victims) {
	checked := 0
	for _, o := range m.spec.ops {
		params := o.pathParams()
		if len(params) == 0 {
			continue
		}
		for _, param := range params {
			objs, ok := vs[param]
			require.True(t, ok, "%s: the matrix seeds no object for path parameter %s; add one to seedVictims", o.ID, param)
			for _, v := range objs {
				for _, p := range m.principals {
					if m.publicOperation(o, v) {
						continue // anyone may see a published agent
					}
					if p.name == "support" && supportSeesAll[o.ID] != "" {
						continue
					}
					ids := map[string]string{}
					for _, name := range params {
						ids[name] = vs[name][0].id
					}
					ids[param] = v.id
					what := fmt.Sprintf("%s (%s %s) as %s on the victim's %s", o.ID, o.Method, o.Path, p.name, v.label)
					foreign := m.call(t, p, m.request(t, o, ids, p))
					ids[param] = sameShape(t, v.id)
					missing := m.call(t, p, m.request(t, o, ids, p))
					if m.allowed(o, p) {
						require.Equal(t, http.StatusNotFound, foreign.status, "%s: a foreign object must answer 404: %s", what, foreign)
					}
					require.Equal(t, missing.status, foreign.status, "%s: foreign %s; missing %s", what, foreign, missing)
					require.Equal(t, missing.comparable(t), foreign.comparable(t), "%s: the foreign object's answer differs from a missing one's", what)
					checked++
				}
			}
		}
	}
	// Ids in query parameters and bodies: the answer for another's object
	// equals the answer for a missing one (a filter may answer an empty
	// list for both; a reference must be refused the same way). A public
	// object (a published agent) may be named by anyone.
	for _, o := range m.spec.ops {
		for _, f := range m.idFieldsOf(t, o) {
			objs, ok := vs[f.kind]
			require.True(t, ok, "%s: the matrix seeds no object of kind %s", o.ID, f.kind)
			for _, v := range objs {
				if v.public {
					continue
				}
				for _, p := range m.principals {
					if p.name == "support" && supportSeesAll[o.ID] != "" {
						continue
					}
					ids := map[string]string{}
					for _, name := range o.pathParams() {
						ids[name] = uuid.NewString()
					}
					base := m.request(t, o, ids, p)
					what := fmt.Sprintf("%s (%s %s, %s %s) as %s naming the victim's %s", o.ID, o.Method, o.Path, f.in, f.name, p.name, v.label)
					foreign := m.call(t, p, m.withField(t, o, base, f, v.id))
					missing := m.call(t, p, m.withField(t, o, base, f, sameShape(t, v.id)))
					if d, ok := disclosed[o.ID+"|"+v.label]; ok && m.allowed(o, p) {
						require.Equal(t, d.status, foreign.status, "%s (disclosed on purpose: %s): %s", what, d.why, foreign)
						require.Equal(t, d.problem, foreign.problemType(), "%s: %s", what, foreign)
						checked++
						continue
					}
					require.Equal(t, missing.status, foreign.status, "%s: foreign %s; missing %s", what, foreign, missing)
					require.Equal(t, missing.comparable(t), foreign.comparable(t), "%s: the foreign object's answer differs from a missing one's", what)
					checked++
				}
			}
		}
	}
	for key := range disclosed {
		op, label, _ := strings.Cut(key, "|")
		require.True(t, slices.ContainsFunc(m.spec.ops, func(o mxOp) bool { return o.ID == op }), "disclosed names %s, which is no operation", op)
		require.True(t, slices.ContainsFunc(slices.Concat(slices.Collect(maps.Values(vs))...), func(v victim) bool { return v.label == label }), "disclosed names %q, which the matrix does not seed", label)
	}
	for op := range supportSeesAll {
		require.True(t, slices.ContainsFunc(m.spec.ops, func(o mxOp) bool { return o.ID == op }), "supportSeesAll names %s, which is no operation", op)
		require.True(t, m.enforcer.Allowed(kernel.Principal{Roles: []kernel.Role{kernel.RoleSupport}}, op), "supportSeesAll names %s, which support may not call", op)
	}
	t.Logf("foreign: %d (operation, object, principal) pairs compared", checked)
}

// allowed reports whether p's credentials and roles let it call o.
func (m *mxEnv) allowed(o mxOp, p mxPrincipal) bool {
	return m.spec.securityMet(o, p.method) && m.enforcer.Allowed(p.principal(), o.ID)
}

// sameShape is a random id that names nothing, shaped like id (a UUID for
// a UUID).
func sameShape(t *testing.T, id string) string {
	t.Helper()
	if _, err := uuid.Parse(id); err == nil {
		return uuid.Must(uuid.NewV7()).String()
	}
	if regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`).MatchString(id) { // an agent's handle
		return "matrix-" + randomID()
	}
	t.Fatalf("an id of unknown shape: %q", id)
	return ""
}
