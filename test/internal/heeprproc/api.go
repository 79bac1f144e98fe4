package heeprproc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Client is the HTTP client of Call and Deliver (30 s timeout).
var Client = &http.Client{Timeout: 30 * time.Second}

// Auth sets a request's credentials.
type Auth func(*http.Request)

// Bearer authenticates with an API key (an agent's).
func Bearer(token string) Auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// Idem is who with an Idempotency-Key.
func Idem(who Auth, key string) Auth {
	return func(r *http.Request) { who(r); r.Header.Set("Idempotency-Key", key) }
}

// SessionCookie carries a session by hand: the cookie is Secure, and the
// tests talk plain HTTP.
func SessionCookie(c *http.Cookie) Auth {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value}) }
}

// SignUp creates a user with role ("owner", "customer") through p and
// returns its session.
func SignUp(t *testing.T, p *Proc, email, name, role string) Auth {
	t.Helper()
	resp := Call(t, p, http.MethodPost, "/v1/auth/sign-up", nil, map[string]any{
		"email": email, "password": "correct horse battery", "display_name": name, "role": role,
	}, http.StatusCreated, nil)
	for _, c := range resp.Cookies() {
		if c.Name == "heepr_session" && c.Value != "" {
			return SessionCookie(c)
		}
	}
	t.Fatalf("sign-up of %s set no session cookie", email)
	return nil
}

// Call sends body (if not nil) as JSON to p as who (if not nil), requires
// the status want and decodes the answer into out (if not nil).
func Call(t *testing.T, p *Proc, method, path string, who Auth, body any, want int, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, p.Base+path, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != nil {
		who(req)
	}
	resp, err := Client.Do(req)
	require.NoError(t, err, "%s %s on %s", method, path, p.Name)
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, want, resp.StatusCode, "%s %s on %s: %s", method, path, p.Name, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), "%s %s on %s: %s", method, path, p.Name, raw)
	}
	return resp
}

// PollPath is the path of an agent's event poll after cursor (empty: from
// the start), waiting up to wait seconds.
func PollPath(cursor string, wait int) string {
	q := url.Values{"wait": {strconv.Itoa(wait)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return "/v1/agent/events?" + q.Encode()
}

// PublishAgent creates owner's agent through p from agent (the body of
// POST /v1/agents), requires an id and an API key, and publishes it. It
// returns the agent's id and API key.
func PublishAgent(t *testing.T, p *Proc, owner Auth, agent map[string]any) (id, apiKey string) {
	t.Helper()
	var created struct {
		Agent struct {
			ID string `json:"id"`
		} `json:"agent"`
		APIKey string `json:"api_key"`
	}
	Call(t, p, http.MethodPost, "/v1/agents", owner, agent, http.StatusCreated, &created)
	require.NotEmpty(t, created.Agent.ID)
	require.NotEmpty(t, created.APIKey)
	Call(t, p, http.MethodPost, "/v1/agents/"+created.Agent.ID+"/publish", owner, nil, http.StatusOK, nil)
	return created.Agent.ID, created.APIKey
}

// Market is an owner with one published agent that accepts orders on its
// own, and a customer.
type Market struct {
	Owner, Customer, Agent       Auth
	OwnerID, CustomerID, AgentID string
}

// NewMarket signs up <handle>-owner@example.com and
// <handle>-customer@example.com through p, and creates and publishes the
// owner's agent @handle (auto mode, category writing).
func NewMarket(t *testing.T, p *Proc, handle string) Market {
	t.Helper()
	m := Market{
		Owner:    SignUp(t, p, handle+"-owner@example.com", "Owner", "owner"),
		Customer: SignUp(t, p, handle+"-customer@example.com", "Customer", "customer"),
	}
	var me struct {
		ID string `json:"id"`
	}
	Call(t, p, http.MethodGet, "/v1/me", m.Owner, nil, http.StatusOK, &me)
	m.OwnerID = me.ID
	Call(t, p, http.MethodGet, "/v1/me", m.Customer, nil, http.StatusOK, &me)
	m.CustomerID = me.ID
	var key string
	m.AgentID, key = PublishAgent(t, p, m.Owner, map[string]any{
		"handle": handle, "name": "Test agent " + handle, "specialty": "Short reports", "description": "Writes short reports.",
		"categories": []string{"writing"}, "polling_interval_seconds": 60, "accept_mode": "auto",
		"auto_bands": map[string]any{"min_price": 1, "max_price": 1000, "categories": []string{"writing"}, "max_revisions": 3, "max_active_orders": 100},
		"tiers":      []map[string]any{{"name": "Standard", "price": 10, "delivery_days": 1, "revisions": 1}},
	})
	m.Agent = Bearer(key)
	return m
}

// DeliveredOrder runs order number i at price through p up to the
// customer's acceptance: the customer writes, the agent quotes, the
// customer accepts the quote (the agent accepts orders on its own), the
// agent delivers and the owner releases the delivery. It returns the
// order's id.
func (m Market) DeliveredOrder(t *testing.T, p *Proc, i int, price int64) string {
	t.Helper()
	var conv struct {
		ID string `json:"id"`
	}
	Call(t, p, http.MethodPost, "/v1/conversations", m.Customer,
		map[string]any{"agent_id": m.AgentID, "message": fmt.Sprintf("Report number %d, please.", i)}, http.StatusCreated, &conv)
	var quote struct {
		ID string `json:"id"`
	}
	Call(t, p, http.MethodPost, "/v1/conversations/"+conv.ID+"/quotes", m.Agent, map[string]any{
		"title": fmt.Sprintf("Report %d", i), "description": "A short report.", "price": price, "delivery_days": 1,
		"revisions": 1, "category": "writing", "criteria": []string{"It is a report"},
		"expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
	}, http.StatusCreated, &quote)
	var order struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	Call(t, p, http.MethodPost, "/v1/quotes/"+quote.ID+"/accept", Idem(m.Customer, "quote-"+quote.ID), nil, http.StatusCreated, &order)
	require.Equal(t, "in_progress", order.Status, "the agent accepts orders on its own")

	resp, raw := Deliver(t, p, m.Agent, order.ID, "report.md", bytes.NewReader(fmt.Appendf(nil, "# Report %d\n\nAll done.\n", i)))
	require.Equal(t, http.StatusCreated, resp.StatusCode, "deliver on %s: %s", p.Name, raw)
	var delivery struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(raw, &delivery))
	Call(t, p, http.MethodPost, "/v1/deliveries/"+delivery.ID+"/release", m.Owner, nil, http.StatusOK, nil)
	return order.ID
}

// Deliver uploads file, named name, as agent's delivery of an order, and
// returns the answer and its body, whatever the status.
func Deliver(t *testing.T, p *Proc, agent Auth, orderID, name string, file io.Reader) (*http.Response, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(t, mw.WriteField("message", "Here is the report."))
	fw, err := mw.CreateFormFile("files", name)
	require.NoError(t, err)
	_, err = io.Copy(fw, file)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.Base+"/v1/orders/"+orderID+"/deliveries", &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	agent(req)
	resp, err := Client.Do(req)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp, raw
}
