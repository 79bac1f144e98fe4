package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/api/client"
	"github.com/heepr/heepr/modules/kernel"
)

// The marketplace through HTTP (issue 4): the create wizard and its
// validation, publish and pause, settings versions, owner-only operations,
// browse and search, and agent API keys.

// --- helpers ---------------------------------------------------------------

// wizard is a complete, valid createAgent request: auto mode with bands
// that hold the cheapest tier, in two categories.
func wizard(handle string) client.CreateAgentRequest {
	return client.CreateAgentRequest{
		Handle:      handle,
		Name:        "Agent " + handle,
		Specialty:   "Fixes Go lint findings",
		Description: "I read golangci-lint output and send a patch that fixes every finding.",
		Categories:  []client.Category{client.CategoryCode, client.CategoryData},
		Skills:      &[]string{"go", "golangci-lint"},
		Plugins:     &[]string{"github"},
		Tiers: []client.Tier{
			{Name: "Basic", Price: 50, DeliveryDays: 3, Revisions: 1, Description: ptrTo("One package")},
			{Name: "Standard", Price: 200, DeliveryDays: 7, Revisions: 2},
			{Name: "Premium", Price: 900, DeliveryDays: 14, Revisions: 3, Description: ptrTo("The whole module")},
		},
		PollingIntervalSeconds: 60,
		AcceptMode:             client.CreateAgentRequestAcceptModeAuto,
		AutoBands: &client.AutoBands{MinPrice: 0, MaxPrice: 500, Categories: []client.Category{client.CategoryCode},
			MaxRevisions: 2, MaxActiveOrders: 5},
	}
}

// manual is a valid manual-mode request with one tier.
func manual(handle, name, description string, price int64, days int, cats ...client.Category) client.CreateAgentRequest {
	if len(cats) == 0 {
		cats = []client.Category{client.CategoryOther}
	}
	return client.CreateAgentRequest{
		Handle: handle, Name: name, Specialty: "Helps", Description: description, Categories: cats,
		Tiers:                  []client.Tier{{Name: "Only", Price: price, DeliveryDays: days, Revisions: 0}},
		PollingIntervalSeconds: 60, AcceptMode: client.CreateAgentRequestAcceptModeManual,
	}
}

// createAgent calls createAgent and requires 201.
func (e *env) createAgent(t *testing.T, c *client.ClientWithResponses, req client.CreateAgentRequest) client.CreatedAgent {
	t.Helper()
	resp, err := c.CreateAgentWithResponse(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "createAgent: %s", resp.Body)
	require.NotNil(t, resp.JSON201)
	return *resp.JSON201
}

// createAgentBody calls createAgent with a raw JSON body.
func (e *env) createAgentBody(t *testing.T, c *client.ClientWithResponses, body []byte) *client.CreateAgentResponse {
	t.Helper()
	resp, err := c.CreateAgentWithBodyWithResponse(context.Background(), "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	return resp
}

// updateAgentBody calls updateAgent with a raw JSON body.
func (e *env) updateAgentBody(t *testing.T, c *client.ClientWithResponses, id string, body string) *client.UpdateAgentResponse {
	t.Helper()
	resp, err := c.UpdateAgentWithBodyWithResponse(context.Background(), id, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	return resp
}

// updateAgent calls updateAgent and requires 200.
func (e *env) updateAgent(t *testing.T, c *client.ClientWithResponses, id string, req client.UpdateAgentRequest) client.OwnerAgent {
	t.Helper()
	resp, err := c.UpdateAgentWithResponse(context.Background(), id, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "updateAgent: %s", resp.Body)
	return *resp.JSON200
}

// publish calls publishAgent and requires 200.
func (e *env) publish(t *testing.T, c *client.ClientWithResponses, id string) client.OwnerAgent {
	t.Helper()
	resp, err := c.PublishAgentWithResponse(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "publishAgent: %s", resp.Body)
	return *resp.JSON200
}

// pause calls pauseAgent and requires 200.
func (e *env) pause(t *testing.T, c *client.ClientWithResponses, id string) client.OwnerAgent {
	t.Helper()
	resp, err := c.PauseAgentWithResponse(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "pauseAgent: %s", resp.Body)
	return *resp.JSON200
}

// myAgents calls listMyAgents and requires 200.
func (e *env) myAgents(t *testing.T, c *client.ClientWithResponses) []client.OwnerAgent {
	t.Helper()
	resp, err := c.ListMyAgentsWithResponse(context.Background())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listMyAgents: %s", resp.Body)
	return resp.JSON200.Items
}

// myAgent finds one agent in listMyAgents.
func (e *env) myAgent(t *testing.T, c *client.ClientWithResponses, id string) client.OwnerAgent {
	t.Helper()
	for _, a := range e.myAgents(t, c) {
		if a.Id == id {
			return a
		}
	}
	require.FailNow(t, "agent not in listMyAgents", id)
	return client.OwnerAgent{}
}

// versions calls listAgentVersions and requires 200.
func (e *env) versions(t *testing.T, c *client.ClientWithResponses, id string) []client.AgentVersion {
	t.Helper()
	resp, err := c.ListAgentVersionsWithResponse(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listAgentVersions: %s", resp.Body)
	return resp.JSON200.Items
}

// browse calls listAgents anonymously and requires 200.
func (e *env) browse(t *testing.T, p client.ListAgentsParams) client.AgentList {
	t.Helper()
	resp, err := e.anon(t).ListAgentsWithResponse(context.Background(), &p)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listAgents: %s", resp.Body)
	return *resp.JSON200
}

// browseIDs lists the ids of one page of a browse.
func (e *env) browseIDs(t *testing.T, p client.ListAgentsParams) []string {
	t.Helper()
	if p.Limit == nil {
		p.Limit = ptrTo(100)
	}
	page := e.browse(t, p)
	require.Nil(t, page.NextCursor, "more than one page")
	return agentIDs(page.Items)
}

func agentIDs(items []client.PublicAgent) []string {
	out := make([]string, len(items))
	for i, a := range items {
		out[i] = a.Id
	}
	return out
}

// getAgent calls getAgent anonymously.
func (e *env) getAgent(t *testing.T, idOrHandle string) *client.GetAgentResponse {
	t.Helper()
	resp, err := e.anon(t).GetAgentWithResponse(context.Background(), idOrHandle)
	require.NoError(t, err)
	return resp
}

// setAgent changes an agent's row directly: what support, orders and
// reviews will do through their own modules later.
func (e *env) setAgent(t *testing.T, id string, set map[string]any) {
	t.Helper()
	q := e.app.db.Bun.NewUpdate().Table("agents").Where("id = ?", id)
	for col, v := range set {
		q = q.Set(col+" = ?", v)
	}
	res, err := q.Exec(context.Background())
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

// rate gives an agent reviews (rating is their average).
func (e *env) rate(t *testing.T, id string, sum, count int64) {
	t.Helper()
	e.setAgent(t, id, map[string]any{"rating_sum": sum, "review_count": count, "rating": float64(sum) / float64(count)})
}

// marketState is the row counts a refused marketplace request must leave alone.
func (e *env) marketState(t *testing.T) map[string]int {
	t.Helper()
	s := map[string]int{}
	for _, table := range []string{"agents", "agent_settings_versions", "agent_categories"} {
		s[table] = e.count(t, table)
	}
	s["settings jobs"] = len(e.settingsJobs(t, ""))
	return s
}

// settingsJobs lists the settings versions the marketplace asked the skill
// package job to render (for one agent, or for all with "").
func (e *env) settingsJobs(t *testing.T, agentID string) []int {
	t.Helper()
	col := "args::text" // Postgres: jsonb
	if e.target.Dialect == store.SQLite {
		col = "json(args)" // SQLite: River stores JSONB blobs
	}
	var raw []string
	require.NoError(t, e.app.db.Bun.NewSelect().Table("river_job").ColumnExpr(col).
		Where("kind = ?", "marketplace.settings_changed").OrderExpr("id").Scan(context.Background(), &raw))
	var out []int
	for _, b := range raw {
		var args struct {
			AgentID string `json:"agent_id"`
			Version int    `json:"version"`
		}
		require.NoError(t, json.Unmarshal([]byte(b), &args))
		if agentID == "" || args.AgentID == agentID {
			out = append(out, args.Version)
		}
	}
	return out
}

// asMap turns a request into a JSON object a test can break.
func asMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// requirePublicMatches checks a public profile against the owner's view.
func requirePublicMatches(t *testing.T, want client.OwnerAgent, got client.PublicAgent) {
	t.Helper()
	require.Equal(t, want.Id, got.Id)
	require.Equal(t, want.Handle, got.Handle)
	require.Equal(t, want.Name, got.Name)
	require.Equal(t, want.Specialty, got.Specialty)
	require.Equal(t, want.Description, got.Description)
	require.Equal(t, want.Categories, got.Categories)
	require.Equal(t, want.Skills, got.Skills)
	require.Equal(t, want.Tiers, got.Tiers)
	require.Equal(t, want.PriceMin, got.PriceMin)
	require.Equal(t, want.PriceMax, got.PriceMax)
}

// --- create ----------------------------------------------------------------

func TestCreateAgent(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		req := wizard("lint-fixer")
		created := e.createAgent(t, oc, req)
		a := created.Agent

		require.Equal(t, client.Draft, a.Status)
		require.Equal(t, 1, a.SettingsVersion)
		require.NotEmpty(t, a.Id)
		// Every wizard field comes back as sent.
		require.Equal(t, req.Handle, a.Handle)
		require.Equal(t, req.Name, a.Name)
		require.Equal(t, req.Specialty, a.Specialty)
		require.Equal(t, req.Description, a.Description)
		require.Equal(t, req.Categories, a.Categories)
		require.Equal(t, *req.Skills, a.Skills)
		require.Equal(t, *req.Plugins, a.Plugins)
		require.Equal(t, req.Tiers, a.Tiers)
		require.Equal(t, req.PollingIntervalSeconds, a.PollingIntervalSeconds)
		require.Equal(t, client.OwnerAgentAcceptModeAuto, a.AcceptMode)
		require.Equal(t, req.AutoBands, a.AutoBands)
		require.EqualValues(t, 50, a.PriceMin)
		require.EqualValues(t, 900, a.PriceMax)
		require.Zero(t, a.Rating)
		require.Zero(t, a.ReviewCount)
		require.Zero(t, a.CompletedOrders)
		require.False(t, a.Online, "a new agent never polled")
		require.Nil(t, a.LastPollAt)
		require.Nil(t, a.PublishedAt, "a draft is not published")
		require.Equal(t, e.clock.Now(), a.CreatedAt.UTC())
		require.Equal(t, e.clock.Now(), a.UpdatedAt.UTC())

		// The key: hpr_agent_ and 36 characters, its first 22 shown as the prefix.
		key := created.ApiKey
		require.True(t, strings.HasPrefix(key, "hpr_agent_"), key)
		require.Len(t, key, len("hpr_agent_")+36)
		require.Equal(t, key[:22], a.KeyPrefix)

		// Shown once: no later answer and no column holds it.
		mine, err := oc.ListMyAgentsWithResponse(context.Background())
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, mine.StatusCode())
		require.NotContains(t, string(mine.Body), key)
		require.Len(t, mine.JSON200.Items, 1)
		require.Equal(t, a.KeyPrefix, mine.JSON200.Items[0].KeyPrefix)
		var row struct {
			KeyHash  string `bun:"key_hash"`
			Settings string `bun:"settings"`
		}
		require.NoError(t, e.app.db.Bun.NewSelect().Table("agents").Column("key_hash", "settings").
			Where("id = ?", a.Id).Scan(context.Background(), &row))
		require.NotEmpty(t, row.KeyHash)
		require.NotContains(t, row.KeyHash, key[10:], "the key is stored only as an HMAC")
		require.NotContains(t, row.Settings, key)
		// The first settings version, and a skill package job for it.
		require.Equal(t, 1, e.count(t, "agent_settings_versions"))
		require.Equal(t, []int{1}, e.settingsJobs(t, a.Id))

		// A draft is not on the market yet.
		hidden := e.getAgent(t, a.Id)
		requireProblem(t, hidden.HTTPResponse, hidden.Body, http.StatusNotFound, "not-found")

		// A manual agent without bands, skills or plugins.
		m := e.createAgent(t, oc, manual("sketchy", "Sketchy", "Draws things.", 10, 1, client.CategoryDesign))
		require.Equal(t, client.OwnerAgentAcceptModeManual, m.Agent.AcceptMode)
		require.Nil(t, m.Agent.AutoBands)
		require.Empty(t, m.Agent.Skills)
		require.NotNil(t, m.Agent.Skills, "lists are [] not null")
		require.NotNil(t, m.Agent.Plugins)
		require.NotEqual(t, created.ApiKey, m.ApiKey)
		require.Len(t, e.myAgents(t, oc), 2)

		// A customer may not create agents; nor may the anonymous.
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		before := e.marketState(t)
		resp, err := e.withCookie(t, cust.Session).CreateAgentWithResponse(context.Background(), wizard("cora-bot"))
		require.NoError(t, err)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusForbidden, "forbidden")
		resp, err = e.anon(t).CreateAgentWithResponse(context.Background(), wizard("anon-bot"))
		require.NoError(t, err)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "unauthenticated")
		e.requireMarketUnchanged(t, before)

		// A personal token of the owner works like the cookie.
		tok := e.createToken(t, oc, "script")
		byToken := e.createAgent(t, e.withBearer(t, tok.Token), manual("scripted", "Scripted", "Made by a script.", 5, 2))
		require.Equal(t, client.Draft, byToken.Agent.Status)
	})
}

func (e *env) requireMarketUnchanged(t *testing.T, before map[string]int) {
	t.Helper()
	require.Equal(t, before, e.marketState(t), "a refused request changed the marketplace")
}

func TestCreateAgentValidation(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		taken := e.createAgent(t, oc, wizard("taken"))

		tiers := func(n int) []any {
			out := make([]any, n)
			for i := range out {
				out[i] = map[string]any{"name": fmt.Sprintf("T%d", i), "price": 10 * (i + 1), "delivery_days": 1, "revisions": 0}
			}
			return out
		}
		tier := func(key string, v any) func(m map[string]any) {
			return func(m map[string]any) { m["tiers"].([]any)[0].(map[string]any)[key] = v }
		}
		set := func(key string, v any) func(m map[string]any) { return func(m map[string]any) { m[key] = v } }
		bands := func(key string, v any) func(m map[string]any) {
			return func(m map[string]any) { m["auto_bands"].(map[string]any)[key] = v }
		}
		cases := []struct {
			name  string
			edit  func(m map[string]any)
			field string
		}{
			{"handle too short", set("handle", "ab"), "handle"},
			{"handle too long", set("handle", strings.Repeat("a", 33)), "handle"},
			{"handle uppercase", set("handle", "Lint-Fixer"), "handle"},
			{"handle double hyphen", set("handle", "lint--fixer"), "handle"},
			{"handle leading hyphen", set("handle", "-lint"), "handle"},
			{"handle trailing hyphen", set("handle", "lint-"), "handle"},
			{"handle underscore", set("handle", "lint_fixer"), "handle"},
			{"no tiers", set("tiers", []any{}), "tiers"},
			{"six tiers", set("tiers", tiers(6)), "tiers"},
			{"price 0", tier("price", 0), "tiers[0].price"},
			{"price 1000001", tier("price", 1_000_001), "tiers[0].price"},
			{"delivery 0 days", tier("delivery_days", 0), "tiers[0].delivery_days"},
			{"delivery 91 days", tier("delivery_days", 91), "tiers[0].delivery_days"},
			{"11 revisions", tier("revisions", 11), "tiers[0].revisions"},
			{"unknown category", set("categories", []any{"code", "music"}), "categories[1]"},
			{"no category", set("categories", []any{}), "categories"},
			{"polling 14 s", set("polling_interval_seconds", 14), "polling_interval_seconds"},
			{"polling 3601 s", set("polling_interval_seconds", 3601), "polling_interval_seconds"},
			{"auto without bands", func(m map[string]any) { delete(m, "auto_bands") }, "auto_bands"},
			{"bands miss every tier", func(m map[string]any) { bands("min_price", 1000)(m); bands("max_price", 5000)(m) }, "auto_bands"},
			{"band category not the agent's", bands("categories", []any{"video"}), "auto_bands.categories[0]"},
			{"manual with bands", set("accept_mode", "manual"), "auto_bands"},
			{"unknown field", set("color", "blue"), "color"},
			{"status in the body", set("status", "suspended"), "status"},
			{"status active in the body", set("status", "active"), "status"},
			{"settings version in the body", set("settings_version", 7), "settings_version"},
		}
		before := e.marketState(t)
		for _, c := range cases {
			m := asMap(t, wizard("fresh-agent"))
			c.edit(m)
			resp := e.createAgentBody(t, oc, mustJSON(t, m))
			p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
			require.Contains(t, fieldNames(p), c.field, "%s: %s", c.name, resp.Body)
		}
		e.requireMarketUnchanged(t, before)
		require.Equal(t, http.StatusNotFound, e.getAgent(t, "fresh-agent").StatusCode())

		// A taken handle, by the same owner or another.
		other := e.signUp(t, "olga@example.com", client.SignUpRequestRoleOwner)
		for _, c := range []*client.ClientWithResponses{oc, e.withCookie(t, other.Session)} {
			resp, err := c.CreateAgentWithResponse(context.Background(), wizard("taken"))
			require.NoError(t, err)
			p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "handle-taken")
			require.Contains(t, *p.Detail, "taken")
		}
		e.requireMarketUnchanged(t, before)
		require.Len(t, e.myAgents(t, e.withCookie(t, other.Session)), 0)
		require.Equal(t, taken.Agent.Id, e.myAgents(t, oc)[0].Id)

		// The limits themselves are accepted: 5 tiers, prices 1 and
		// 1,000,000, 1 and 90 days, 0 and 10 revisions, polling 15 and 3600.
		edge := manual("edge-1", "Edge", "At the limits.", 1, 1)
		edge.Tiers = []client.Tier{
			{Name: "A", Price: 1, DeliveryDays: 1, Revisions: 0},
			{Name: "B", Price: 1_000_000, DeliveryDays: 90, Revisions: 10},
			{Name: "C", Price: 2, DeliveryDays: 2, Revisions: 1},
			{Name: "D", Price: 3, DeliveryDays: 3, Revisions: 2},
			{Name: "E", Price: 4, DeliveryDays: 4, Revisions: 3},
		}
		edge.PollingIntervalSeconds = 15
		e.createAgent(t, oc, edge)
		edge2 := manual(strings.Repeat("z", 32), "Edge", "At the limits.", 1, 1)
		edge2.PollingIntervalSeconds = 3600
		e.createAgent(t, oc, edge2)
		e.createAgent(t, oc, manual("abc", "Short", "Three characters.", 1, 1))
	})
}

func TestStatusNeverSetByOwnerOperations(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		a := e.createAgent(t, oc, wizard("lint-fixer")).Agent
		before := e.marketState(t)
		for _, c := range []struct{ body, field string }{
			{`{"status":"suspended"}`, "status"},
			{`{"name":"New name","status":"suspended"}`, "status"},
			{`{"status":"active"}`, "status"},
			{`{"handle":"new-handle"}`, "handle"},
			{`{"settings_version":9}`, "settings_version"},
			{`{"owner_id":"someone"}`, "owner_id"},
		} {
			resp := e.updateAgentBody(t, oc, a.Id, c.body)
			p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
			require.NotNil(t, p.Errors, c.body)
			require.Contains(t, *p.Errors, client.FieldError{Field: c.field, Detail: "is not a known field"}, c.body)
		}
		e.requireMarketUnchanged(t, before)
		got := e.myAgent(t, oc, a.Id)
		require.Equal(t, client.Draft, got.Status)
		require.Equal(t, 1, got.SettingsVersion)
		require.Equal(t, a.Name, got.Name)

		// Publishing and pausing never reach suspended either.
		require.Equal(t, client.Active, e.publish(t, oc, a.Id).Status)
		require.Equal(t, client.Paused, e.pause(t, oc, a.Id).Status)
		resp := e.updateAgentBody(t, oc, a.Id, `{}`)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		require.Equal(t, client.Paused, e.myAgent(t, oc, a.Id).Status)
	})
}

// --- publish and pause -----------------------------------------------------

func TestPublishAndPause(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		a := e.createAgent(t, oc, wizard("lint-fixer")).Agent

		// A draft cannot be paused.
		resp, err := oc.PauseAgentWithResponse(context.Background(), a.Id)
		require.NoError(t, err)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "agent-not-published")
		require.Equal(t, client.Draft, e.myAgent(t, oc, a.Id).Status)

		// draft → active: on the market, stamped with the clock.
		e.clock.Advance(time.Minute)
		published := e.publish(t, oc, a.Id)
		firstPublish := e.clock.Now()
		require.Equal(t, client.Active, published.Status)
		require.NotNil(t, published.PublishedAt)
		require.Equal(t, firstPublish, published.PublishedAt.UTC())
		require.Equal(t, firstPublish, published.UpdatedAt.UTC())
		require.Equal(t, 1, published.SettingsVersion, "publishing is not a settings change")
		got := e.getAgent(t, a.Id)
		require.Equal(t, http.StatusOK, got.StatusCode(), "%s", got.Body)
		requirePublicMatches(t, published, *got.JSON200)
		require.Equal(t, []string{a.Id}, e.browseIDs(t, client.ListAgentsParams{}))

		// Publishing again changes nothing.
		e.clock.Advance(time.Minute)
		again := e.publish(t, oc, a.Id)
		require.Equal(t, client.Active, again.Status)
		require.Equal(t, firstPublish, again.PublishedAt.UTC())

		// active → paused: off the market.
		e.clock.Advance(time.Minute)
		paused := e.pause(t, oc, a.Id)
		require.Equal(t, client.Paused, paused.Status)
		require.Equal(t, e.clock.Now(), paused.UpdatedAt.UTC())
		require.Equal(t, http.StatusNotFound, e.getAgent(t, a.Id).StatusCode())
		require.Empty(t, e.browseIDs(t, client.ListAgentsParams{}))
		require.Equal(t, client.Paused, e.pause(t, oc, a.Id).Status, "pausing again changes nothing")

		// paused → active: back, keeping the first publication time.
		e.clock.Advance(time.Minute)
		back := e.publish(t, oc, a.Id)
		require.Equal(t, client.Active, back.Status)
		require.Equal(t, firstPublish, back.PublishedAt.UTC())
		require.Equal(t, client.Active, e.myAgent(t, oc, a.Id).Status)
		require.Equal(t, firstPublish, e.myAgent(t, oc, a.Id).PublishedAt.UTC())
		require.Equal(t, http.StatusOK, e.getAgent(t, "lint-fixer").StatusCode())
		require.Equal(t, []int{1}, e.settingsJobs(t, a.Id), "status moves render no package")
	})
}

func TestSuspendedAgentStaysSuspended(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		for _, from := range []string{"draft", "active", "paused"} {
			a := e.createAgent(t, oc, wizard("was-"+from)).Agent
			if from != "draft" {
				e.publish(t, oc, a.Id)
			}
			if from == "paused" {
				e.pause(t, oc, a.Id)
			}
			// Support suspends (the moderation issue); here, straight in the database.
			e.setAgent(t, a.Id, map[string]any{"status": "suspended"})

			before := e.marketState(t)
			pub, err := oc.PublishAgentWithResponse(context.Background(), a.Id)
			require.NoError(t, err)
			requireProblem(t, pub.HTTPResponse, pub.Body, http.StatusConflict, "agent-suspended")
			pau, err := oc.PauseAgentWithResponse(context.Background(), a.Id)
			require.NoError(t, err)
			requireProblem(t, pau.HTTPResponse, pau.Body, http.StatusConflict, "agent-suspended")
			e.requireMarketUnchanged(t, before)

			// A settings change is still a settings change; the status stays.
			upd := e.updateAgent(t, oc, a.Id, client.UpdateAgentRequest{Name: ptrTo("Renamed " + from)})
			require.Equal(t, client.Suspended, upd.Status)

			mine := e.myAgent(t, oc, a.Id)
			require.Equal(t, client.Suspended, mine.Status, from)
			for _, ref := range []string{a.Id, a.Handle} {
				got := e.getAgent(t, ref)
				requireProblem(t, got.HTTPResponse, got.Body, http.StatusNotFound, "not-found")
			}
			require.NotContains(t, e.browseIDs(t, client.ListAgentsParams{}), a.Id)
			require.NotContains(t, e.browseIDs(t, client.ListAgentsParams{Q: ptrTo("lint")}), a.Id)
		}
	})
}

// --- settings versions -----------------------------------------------------

func TestUpdateAgentVersions(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		req := wizard("lint-fixer")
		v1 := e.createAgent(t, oc, req).Agent
		e.publish(t, oc, v1.Id)
		// The skill package is rendered in the background, once per version.
		e.waitJobsDone(t)
		v1 = e.myAgent(t, oc, v1.Id)
		require.Equal(t, 1, v1.PackageVersion)

		// Only the changed field differs in version 2.
		e.clock.Advance(time.Hour)
		v2 := e.updateAgent(t, oc, v1.Id, client.UpdateAgentRequest{Specialty: ptrTo("Fixes every Go lint finding")})
		require.Equal(t, 2, v2.SettingsVersion)
		require.Equal(t, "Fixes every Go lint finding", v2.Specialty)
		require.Equal(t, e.clock.Now(), v2.UpdatedAt.UTC())
		e.waitJobsDone(t)
		require.Equal(t, 2, e.myAgent(t, oc, v1.Id).PackageVersion)
		v2.PackageVersion = 2
		want := v1
		want.Specialty, want.SettingsVersion, want.PackageVersion, want.UpdatedAt = v2.Specialty, 2, 2, v2.UpdatedAt
		require.Equal(t, want, v2)
		require.Equal(t, client.Active, v2.Status, "an update keeps the agent on the market")
		got := e.getAgent(t, "lint-fixer")
		require.Equal(t, http.StatusOK, got.StatusCode())
		require.Equal(t, v2.Specialty, got.JSON200.Specialty, "the public profile shows the live version")
		require.Equal(t, []int{1, 2}, e.settingsJobs(t, v1.Id), "a new version renders a new package")

		// A request that changes nothing makes no version: the same value,
		// the same lists, the same bands.
		before := e.marketState(t)
		e.clock.Advance(time.Hour)
		for _, same := range []client.UpdateAgentRequest{
			{Specialty: ptrTo("Fixes every Go lint finding")},
			{Specialty: ptrTo("  Fixes every Go lint finding  ")},
			{Name: &req.Name, Tiers: &req.Tiers, Categories: &req.Categories},
			{Skills: req.Skills, Plugins: req.Plugins, PollingIntervalSeconds: &req.PollingIntervalSeconds},
			{AcceptMode: ptrTo(client.UpdateAgentRequestAcceptModeAuto), AutoBands: req.AutoBands},
		} {
			noop := e.updateAgent(t, oc, v1.Id, same)
			require.Equal(t, v2, noop, "a no-op update: %s", mustJSON(t, same))
		}
		e.requireMarketUnchanged(t, before)

		// An invalid change is refused whole and makes no version.
		for _, body := range []string{
			`{"polling_interval_seconds":14}`,
			`{"tiers":[{"name":"Huge","price":5000,"delivery_days":3,"revisions":1}]}`, // outside the bands
			`{"categories":["writing"]}`,                                               // the bands name code
			`{"accept_mode":"auto","auto_bands":{"min_price":0,"max_price":10,"categories":[],"max_revisions":1,"max_active_orders":1}}`,
			`{"name":""}`,
		} {
			resp := e.updateAgentBody(t, oc, v1.Id, body)
			requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		}
		e.requireMarketUnchanged(t, before)
		require.Equal(t, 2, e.myAgent(t, oc, v1.Id).SettingsVersion)

		// Switching to manual drops the bands: version 3.
		v3 := e.updateAgent(t, oc, v1.Id, client.UpdateAgentRequest{AcceptMode: ptrTo(client.UpdateAgentRequestAcceptModeManual)})
		require.Equal(t, 3, v3.SettingsVersion)
		require.Equal(t, client.OwnerAgentAcceptModeManual, v3.AcceptMode)
		require.Nil(t, v3.AutoBands)
		require.Equal(t, []int{1, 2, 3}, e.settingsJobs(t, v1.Id))
		e.waitJobsDone(t)
		require.Equal(t, 3, e.myAgent(t, oc, v1.Id).PackageVersion)

		// Newest first, each with its own settings; version 1 is as it was.
		vs := e.versions(t, oc, v1.Id)
		require.Len(t, vs, 3)
		require.Equal(t, []int{3, 2, 1}, []int{vs[0].Version, vs[1].Version, vs[2].Version})
		first := vs[2]
		require.Equal(t, v1.CreatedAt.UTC(), first.CreatedAt.UTC())
		require.Equal(t, req.Specialty, *first.Settings.Specialty)
		require.Equal(t, req.Name, *first.Settings.Name)
		require.Equal(t, req.Description, *first.Settings.Description)
		require.Equal(t, req.Categories, *first.Settings.Categories)
		require.Equal(t, *req.Skills, *first.Settings.Skills)
		require.Equal(t, *req.Plugins, *first.Settings.Plugins)
		require.Equal(t, req.Tiers, *first.Settings.Tiers)
		require.Equal(t, req.PollingIntervalSeconds, *first.Settings.PollingIntervalSeconds)
		require.Equal(t, client.UpdateAgentRequestAcceptModeAuto, *first.Settings.AcceptMode)
		require.Equal(t, req.AutoBands, first.Settings.AutoBands)
		second := vs[1]
		require.Equal(t, v2.UpdatedAt.UTC(), second.CreatedAt.UTC())
		wantSecond := first.Settings
		wantSecond.Specialty = ptrTo("Fixes every Go lint finding")
		require.Equal(t, wantSecond, second.Settings, "only the changed field differs")
		wantThird := second.Settings
		wantThird.AcceptMode, wantThird.AutoBands = ptrTo(client.UpdateAgentRequestAcceptModeManual), nil
		require.Equal(t, wantThird, vs[0].Settings)

		// The version that was live when it changed stays retrievable:
		// what an order placed then is attached to.
		agents := store.NewMarketplace(e.app.db)
		for _, v := range []int{1, 2} {
			st, err := agents.Version(context.Background(), v1.Id, v)
			require.NoError(t, err)
			require.Equal(t, *vs[3-v].Settings.Specialty, st.Specialty)
			require.Equal(t, *vs[3-v].Settings.Name, st.Name)
		}
		_, err := agents.Version(context.Background(), v1.Id, 4)
		require.ErrorIs(t, err, kernel.ErrNotFound)
	})
}

func TestConcurrentUpdatesEachMakeAVersion(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		a := e.createAgent(t, oc, wizard("lint-fixer")).Agent
		// Rounds of simultaneous updates: each one is a version of its own,
		// none is lost and none fails (two updates used to write the same
		// version number on Postgres and the loser answered 500).
		const rounds, width = 5, 4
		var (
			mu    sync.Mutex
			codes []int
			names = map[string]bool{}
		)
		for r := range rounds {
			var wg sync.WaitGroup
			for i := range width {
				name := fmt.Sprintf("Name %d-%d", r, i)
				names[name] = true
				wg.Go(func() {
					resp, err := oc.UpdateAgentWithResponse(context.Background(), a.Id, client.UpdateAgentRequest{Name: &name})
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						codes = append(codes, -1)
						return
					}
					codes = append(codes, resp.StatusCode())
				})
			}
			wg.Wait()
		}
		require.Equal(t, slices.Repeat([]int{http.StatusOK}, rounds*width), codes)
		vs := e.versions(t, oc, a.Id)
		require.Len(t, vs, 1+rounds*width)
		seen := map[string]bool{}
		for i, v := range vs {
			require.Equal(t, len(vs)-i, v.Version, "versions are numbered without gaps, newest first")
			if v.Version > 1 {
				seen[*v.Settings.Name] = true
			}
		}
		require.Equal(t, names, seen, "every update is a version")
		live := e.myAgent(t, oc, a.Id)
		require.Equal(t, 1+rounds*width, live.SettingsVersion)
		require.Equal(t, *vs[0].Settings.Name, live.Name, "the newest version is live")
		require.Len(t, e.settingsJobs(t, a.Id), 1+rounds*width)
	})
}

// --- owners only -------------------------------------------------------------

func TestForeignAgentLooksMissing(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ownerA := e.signUp(t, "anna@example.com", client.SignUpRequestRoleOwner)
		ownerB := e.signUp(t, "bert@example.com", client.SignUpRequestRoleOwner)
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		ac, bc, cc := e.withCookie(t, ownerA.Session), e.withCookie(t, ownerB.Session), e.withCookie(t, cust.Session)
		created := e.createAgent(t, ac, wizard("annas-agent"))
		a := created.Agent
		e.createAgent(t, bc, wizard("berts-agent"))

		ops := map[string]func(c *client.ClientWithResponses, id string) (*http.Response, []byte){
			"updateAgent": func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
				r, err := c.UpdateAgentWithResponse(context.Background(), id, client.UpdateAgentRequest{Name: ptrTo("Hijacked")})
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"publishAgent": func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
				r, err := c.PublishAgentWithResponse(context.Background(), id)
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"pauseAgent": func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
				r, err := c.PauseAgentWithResponse(context.Background(), id)
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"rotateAgentKey": func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
				r, err := c.RotateAgentKeyWithResponse(context.Background(), id)
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
			"listAgentVersions": func(c *client.ClientWithResponses, id string) (*http.Response, []byte) {
				r, err := c.ListAgentVersionsWithResponse(context.Background(), id)
				require.NoError(t, err)
				return r.HTTPResponse, r.Body
			},
		}
		// Twice: while A's agent is a draft and once it is on the market.
		for _, stage := range []string{"draft", "active"} {
			before := e.marketState(t)
			for name, op := range ops {
				resp, body := op(bc, a.Id)
				foreign := requireProblem(t, resp, body, http.StatusNotFound, "not-found")
				require.NotContains(t, *foreign.Detail, a.Id, name)
				resp, body = op(bc, "agt_does_not_exist")
				missing := requireProblem(t, resp, body, http.StatusNotFound, "not-found")
				require.Equal(t, missing.Type, foreign.Type, name)
				require.Equal(t, missing.Title, foreign.Title, name)
				require.Equal(t, *missing.Detail, *foreign.Detail, "%s: a foreign agent must look missing", name)
				require.Equal(t, missing.Errors, foreign.Errors, name)

				// The handle is no way in either.
				resp, body = op(bc, a.Handle)
				requireProblem(t, resp, body, http.StatusNotFound, "not-found")

				resp, body = op(cc, a.Id)
				requireProblem(t, resp, body, http.StatusForbidden, "forbidden")
				resp, body = op(e.anon(t), a.Id)
				requireProblem(t, resp, body, http.StatusUnauthorized, "unauthenticated")
			}
			e.requireMarketUnchanged(t, before)
			got := e.myAgent(t, ac, a.Id)
			require.Equal(t, a.Name, got.Name)
			require.Equal(t, 1, got.SettingsVersion)
			require.Equal(t, a.KeyPrefix, got.KeyPrefix)
			require.Equal(t, client.AgentStatus(stage), got.Status)
			for _, mine := range e.myAgents(t, bc) {
				require.NotEqual(t, a.Id, mine.Id, "listMyAgents shows only my agents")
			}
			self, err := e.withBearer(t, created.ApiKey).GetAgentSelfWithResponse(context.Background())
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, self.StatusCode(), "the key still works: %s", self.Body)
			if stage == "draft" {
				e.publish(t, ac, a.Id)
			}
		}

		// A customer has no agents to list.
		mine, err := cc.ListMyAgentsWithResponse(context.Background())
		require.NoError(t, err)
		requireProblem(t, mine.HTTPResponse, mine.Body, http.StatusForbidden, "forbidden")
	})
}

// --- browse ----------------------------------------------------------------

func TestHiddenStatusesStayHidden(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		ids := map[string]client.OwnerAgent{}
		for _, st := range []string{"draft", "active", "paused", "suspended"} {
			a := e.createAgent(t, oc, wizard("lint-"+st)).Agent
			switch st {
			case "active":
				e.publish(t, oc, a.Id)
			case "paused":
				e.publish(t, oc, a.Id)
				e.pause(t, oc, a.Id)
			case "suspended":
				e.publish(t, oc, a.Id)
				e.setAgent(t, a.Id, map[string]any{"status": "suspended"})
			}
			ids[st] = a
		}
		active := ids["active"]
		// Listed: the active agent only, whatever the query.
		for _, p := range []client.ListAgentsParams{
			{},
			{Q: ptrTo("lint")},
			{Category: ptrTo(client.CategoryCode)},
			{Sort: ptrTo(client.Newest)},
			{Sort: ptrTo(client.PriceLow), MaxPrice: ptrTo(int64(1_000_000))},
			{Sort: ptrTo(client.Rating)},
			{Sort: ptrTo(client.MostOrders)},
		} {
			require.Equal(t, []string{active.Id}, e.browseIDs(t, p), "%+v", p)
		}
		for st, a := range ids {
			for _, ref := range []string{a.Id, a.Handle} {
				for _, c := range []*client.ClientWithResponses{e.anon(t), oc} {
					resp, err := c.GetAgentWithResponse(context.Background(), ref)
					require.NoError(t, err)
					if st == "active" {
						require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)
						require.Equal(t, a.Id, resp.JSON200.Id)
						require.Equal(t, a.Handle, resp.JSON200.Handle)
						var fields map[string]any
						require.NoError(t, json.Unmarshal(resp.Body, &fields))
						for _, owned := range []string{"status", "key_prefix", "settings_version", "package_version", "plugins",
							"polling_interval_seconds", "accept_mode", "auto_bands", "last_poll_at", "missed_deadlines", "owner_id", "api_key"} {
							require.NotContains(t, fields, owned, "a public profile has no owner fields")
						}
						continue
					}
					requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusNotFound, "not-found")
				}
			}
		}
		// The handle is found whatever its case; a missing one is 404.
		resp := e.getAgent(t, "LINT-ACTIVE")
		require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)
		require.Equal(t, active.Id, resp.JSON200.Id)
		missing := e.getAgent(t, "no-such-agent")
		requireProblem(t, missing.HTTPResponse, missing.Body, http.StatusNotFound, "not-found")
		// The owner sees all four.
		require.Len(t, e.myAgents(t, oc), 4)
	})
}

func TestBrowseSearchRanksNameAboveDescription(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		byName := e.createAgent(t, oc, manual("by-name", "Lighthouse Writer", "Writes slogans for small shops.", 100, 3, client.CategoryWriting)).Agent
		bySkill := e.createAgent(t, oc, func() client.CreateAgentRequest {
			r := manual("by-skill", "Copy Smith", "Writes copy for small shops.", 100, 3, client.CategoryWriting)
			r.Skills = &[]string{"lighthouse"}
			return r
		}()).Agent
		byDesc := e.createAgent(t, oc, manual("by-desc", "Harbor Scribe", "Writes copy about the lighthouse for small shops.", 100, 3, client.CategoryWriting)).Agent
		none := e.createAgent(t, oc, manual("unrelated", "Pixel Painter", "Paints walls for small shops.", 100, 3, client.CategoryDesign)).Agent
		// Published in reverse, so newest-first would put the description match first.
		for _, a := range []client.OwnerAgent{none, byDesc, bySkill, byName} {
			e.clock.Advance(time.Minute)
			e.publish(t, oc, a.Id)
		}
		want := []string{byName.Id, bySkill.Id, byDesc.Id}
		for _, p := range []client.ListAgentsParams{
			{Q: ptrTo("lighthouse")},
			{Q: ptrTo("Lighthouse"), Sort: ptrTo(client.Relevance)},
			{Q: ptrTo("  lighthouse  ")},
		} {
			require.Equal(t, want, e.browseIDs(t, p), "%+v", p)
		}
		// Paging through a search keeps the ranking.
		page1 := e.browse(t, client.ListAgentsParams{Q: ptrTo("lighthouse"), Limit: ptrTo(2)})
		require.Equal(t, want[:2], agentIDs(page1.Items))
		require.NotNil(t, page1.NextCursor)
		page2 := e.browse(t, client.ListAgentsParams{Q: ptrTo("lighthouse"), Limit: ptrTo(2), Cursor: page1.NextCursor})
		require.Equal(t, want[2:], agentIDs(page2.Items))
		require.Nil(t, page2.NextCursor)

		// Other sorts with a search keep the matches only.
		require.Equal(t, []string{byName.Id, bySkill.Id, byDesc.Id}, e.browseIDs(t, client.ListAgentsParams{Q: ptrTo("lighthouse"), Sort: ptrTo(client.Newest)}))
		// Every word must match; stems match; no match is an empty page.
		require.Equal(t, []string{byName.Id}, e.browseIDs(t, client.ListAgentsParams{Q: ptrTo("lighthouse slogans")}))
		require.Equal(t, []string{none.Id}, e.browseIDs(t, client.ListAgentsParams{Q: ptrTo("paint")}))
		require.Empty(t, e.browseIDs(t, client.ListAgentsParams{Q: ptrTo("submarine")}))
		require.Empty(t, e.browseIDs(t, client.ListAgentsParams{Q: ptrTo(`"'*:()`)}))
		// Without q the default is newest.
		require.Equal(t, []string{byName.Id, bySkill.Id, byDesc.Id, none.Id}, e.browseIDs(t, client.ListAgentsParams{}))
		require.Equal(t, []string{byName.Id, bySkill.Id, byDesc.Id, none.Id}, e.browseIDs(t, client.ListAgentsParams{Sort: ptrTo(client.Relevance)}))

		// A search follows a settings change.
		e.updateAgent(t, oc, none.Id, client.UpdateAgentRequest{Name: ptrTo("Lighthouse Painter")})
		found := e.browseIDs(t, client.ListAgentsParams{Q: ptrTo("lighthouse")})
		require.Len(t, found, 4)
		require.ElementsMatch(t, []string{byName.Id, none.Id}, found[:2], "two name matches now lead")
		require.Empty(t, e.browseIDs(t, client.ListAgentsParams{Q: ptrTo("pixel")}))
	})
}

func TestBrowseFilters(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		mk := func(handle string, tiers []client.Tier, cats ...client.Category) client.OwnerAgent {
			r := manual(handle, "Agent "+handle, "An agent.", 1, 1, cats...)
			r.Tiers = tiers
			a := e.createAgent(t, oc, r).Agent
			e.clock.Advance(time.Second)
			return e.publish(t, oc, a.Id)
		}
		// cheap: 50 (2 days); mid: 100-500 (7-10 days); dear: 1000-2000 (30 days).
		cheap := mk("cheap", []client.Tier{{Name: "One", Price: 50, DeliveryDays: 2}}, client.CategoryCode)
		mid := mk("mid", []client.Tier{{Name: "S", Price: 100, DeliveryDays: 10}, {Name: "M", Price: 500, DeliveryDays: 7}}, client.CategoryDesign)
		dear := mk("dear", []client.Tier{{Name: "L", Price: 2000, DeliveryDays: 30}, {Name: "XL", Price: 1000, DeliveryDays: 45}}, client.CategoryCode, client.CategoryData)
		require.EqualValues(t, 100, mid.PriceMin)
		require.EqualValues(t, 500, mid.PriceMax)

		ids := func(p client.ListAgentsParams) []string {
			got := e.browseIDs(t, p)
			slices.Sort(got)
			return got
		}
		sorted := func(as ...client.OwnerAgent) []string {
			out := make([]string, len(as))
			for i, a := range as {
				out[i] = a.Id
			}
			slices.Sort(out)
			return out
		}
		cases := []struct {
			p    client.ListAgentsParams
			want []string
		}{
			{client.ListAgentsParams{}, sorted(cheap, mid, dear)},
			{client.ListAgentsParams{Category: ptrTo(client.CategoryCode)}, sorted(cheap, dear)},
			{client.ListAgentsParams{Category: ptrTo(client.CategoryData)}, sorted(dear)},
			{client.ListAgentsParams{Category: ptrTo(client.CategoryVideo)}, sorted()},
			// Price ranges overlap the agent's tier range.
			{client.ListAgentsParams{MinPrice: ptrTo(int64(400)), MaxPrice: ptrTo(int64(1200))}, sorted(mid, dear)},
			{client.ListAgentsParams{MinPrice: ptrTo(int64(500)), MaxPrice: ptrTo(int64(500))}, sorted(mid)},
			{client.ListAgentsParams{MinPrice: ptrTo(int64(501)), MaxPrice: ptrTo(int64(999))}, sorted()},
			{client.ListAgentsParams{MinPrice: ptrTo(int64(600))}, sorted(dear)},
			{client.ListAgentsParams{MinPrice: ptrTo(int64(2001))}, sorted()},
			{client.ListAgentsParams{MaxPrice: ptrTo(int64(80))}, sorted(cheap)},
			{client.ListAgentsParams{MaxPrice: ptrTo(int64(100))}, sorted(cheap, mid)},
			{client.ListAgentsParams{MaxPrice: ptrTo(int64(49))}, sorted()},
			// The fastest tier counts.
			{client.ListAgentsParams{MaxDeliveryDays: ptrTo(7)}, sorted(cheap, mid)},
			{client.ListAgentsParams{MaxDeliveryDays: ptrTo(6)}, sorted(cheap)},
			{client.ListAgentsParams{MaxDeliveryDays: ptrTo(1)}, sorted()},
			{client.ListAgentsParams{MaxDeliveryDays: ptrTo(30)}, sorted(cheap, mid, dear)},
			// Filters combine.
			{client.ListAgentsParams{Category: ptrTo(client.CategoryCode), MaxPrice: ptrTo(int64(1000)), MaxDeliveryDays: ptrTo(30)}, sorted(cheap, dear)},
			{client.ListAgentsParams{Category: ptrTo(client.CategoryCode), MinPrice: ptrTo(int64(60))}, sorted(dear)},
		}
		for _, c := range cases {
			require.Equal(t, c.want, ids(c.p), "%s", mustJSON(t, c.p))
		}

		// Ratings come from reviews (the ordering issue); here, straight in the database.
		e.rate(t, cheap.Id, 9, 2) // 4.5
		e.rate(t, mid.Id, 12, 4)  // 3.0
		for _, c := range []struct {
			min  float32
			want []string
		}{
			{0, sorted(cheap, mid, dear)},
			{3, sorted(cheap, mid)},
			{3.5, sorted(cheap)},
			{4.5, sorted(cheap)},
			{4.6, sorted()},
			{5, sorted()},
		} {
			require.Equal(t, c.want, ids(client.ListAgentsParams{MinRating: ptrTo(c.min)}), "min_rating %v", c.min)
		}
		got := e.getAgent(t, cheap.Id).JSON200
		require.InDelta(t, 4.5, got.Rating, 1e-6)
		require.EqualValues(t, 2, got.ReviewCount)

		// Bad filters are 400 with the field named.
		for _, c := range []struct {
			p     client.ListAgentsParams
			field string
		}{
			{client.ListAgentsParams{Category: ptrTo(client.Category("music"))}, "category"},
			{client.ListAgentsParams{Sort: ptrTo(client.ListAgentsParamsSort("cheapest"))}, "sort"},
			{client.ListAgentsParams{MinPrice: ptrTo(int64(500)), MaxPrice: ptrTo(int64(100))}, "max_price"},
			{client.ListAgentsParams{MinPrice: ptrTo(int64(0))}, "min_price"},
			{client.ListAgentsParams{MaxPrice: ptrTo(int64(1_000_001))}, "max_price"},
			{client.ListAgentsParams{MinRating: ptrTo(float32(5.5))}, "min_rating"},
			{client.ListAgentsParams{MaxDeliveryDays: ptrTo(91)}, "max_delivery_days"},
			{client.ListAgentsParams{Limit: ptrTo(101)}, "limit"},
			{client.ListAgentsParams{Limit: ptrTo(0)}, "limit"},
			{client.ListAgentsParams{Q: ptrTo(strings.Repeat("q", 201))}, "q"},
		} {
			resp, err := e.anon(t).ListAgentsWithResponse(context.Background(), &c.p)
			require.NoError(t, err)
			p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
			require.Contains(t, fieldNames(p), c.field, "%s", resp.Body)
		}
	})
}

func TestBrowseOnline(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		polling := e.createAgent(t, oc, manual("polling", "Polling", "Polls every minute.", 10, 1)).Agent // 60 s
		silent := e.createAgent(t, oc, manual("silent", "Silent", "Never polls.", 10, 1)).Agent
		e.publish(t, oc, polling.Id)
		e.publish(t, oc, silent.Id)
		online := client.ListAgentsParams{Online: ptrTo(true)}
		isOnline := func(id string) bool {
			resp := e.getAgent(t, id)
			require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)
			return resp.JSON200.Online
		}

		require.Empty(t, e.browseIDs(t, online), "nobody polled yet")
		require.Len(t, e.browseIDs(t, client.ListAgentsParams{Online: ptrTo(false)}), 2, "online=false does not filter")

		require.NoError(t, e.app.market.RecordPoll(ctx, polling.Id))
		polledAt := e.clock.Now()
		require.Equal(t, []string{polling.Id}, e.browseIDs(t, online))
		require.True(t, isOnline(polling.Id))
		require.False(t, isOnline(silent.Id))
		mine := e.myAgent(t, oc, polling.Id)
		require.NotNil(t, mine.LastPollAt)
		require.Equal(t, polledAt, mine.LastPollAt.UTC())
		require.True(t, mine.Online)

		// Online up to twice the interval after the poll, offline past it.
		e.clock.Advance(2 * time.Minute)
		require.Equal(t, []string{polling.Id}, e.browseIDs(t, online))
		require.True(t, isOnline(polling.Id))
		e.clock.Advance(time.Second)
		require.Empty(t, e.browseIDs(t, online))
		require.False(t, isOnline(polling.Id))

		// A longer cadence widens the window of the last poll at once.
		e.updateAgent(t, oc, polling.Id, client.UpdateAgentRequest{PollingIntervalSeconds: ptrTo(300)})
		require.Equal(t, []string{polling.Id}, e.browseIDs(t, online))
		require.True(t, isOnline(polling.Id))
		e.clock.Advance(10*time.Minute - 121*time.Second)
		require.True(t, isOnline(polling.Id))
		require.Equal(t, []string{polling.Id}, e.browseIDs(t, online))
		e.clock.Advance(time.Second)
		require.False(t, isOnline(polling.Id))
		require.Empty(t, e.browseIDs(t, online))

		// A new poll brings it back; the filter combines with the others.
		require.NoError(t, e.app.market.RecordPoll(ctx, polling.Id))
		require.Equal(t, []string{polling.Id}, e.browseIDs(t, client.ListAgentsParams{Online: ptrTo(true), Q: ptrTo("polls"), Category: ptrTo(client.CategoryOther)}))
		require.Empty(t, e.browseIDs(t, client.ListAgentsParams{Online: ptrTo(true), Category: ptrTo(client.CategoryCode)}))
		require.Equal(t, e.clock.Now(), e.myAgent(t, oc, polling.Id).LastPollAt.UTC())
	})
}

func TestBrowseSorts(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		mk := func(handle string, lo, hi int64) string {
			r := manual(handle, "Agent "+handle, "An agent.", lo, 3)
			if hi != lo {
				r.Tiers = append(r.Tiers, client.Tier{Name: "More", Price: hi, DeliveryDays: 5})
			}
			a := e.createAgent(t, oc, r).Agent
			e.clock.Advance(time.Minute)
			e.publish(t, oc, a.Id)
			return a.Id
		}
		a := mk("agent-a", 300, 300) // oldest
		b := mk("agent-b", 100, 900)
		c := mk("agent-c", 200, 400)
		d := mk("agent-d", 50, 600) // newest
		e.rate(t, a, 4, 1)          // 4
		e.rate(t, b, 10, 2)         // 5
		e.rate(t, c, 6, 3)          // 2
		e.setAgent(t, a, map[string]any{"completed_orders": 7})
		e.setAgent(t, c, map[string]any{"completed_orders": 40})
		e.setAgent(t, d, map[string]any{"completed_orders": 3})

		for sort, want := range map[client.ListAgentsParamsSort][]string{
			client.Newest:     {d, c, b, a},
			client.Rating:     {b, a, c, d},
			client.PriceLow:   {d, b, c, a},
			client.PriceHigh:  {b, d, c, a},
			client.MostOrders: {c, a, d, b},
			client.Relevance:  {d, c, b, a}, // without q: newest
		} {
			require.Equal(t, want, e.browseIDs(t, client.ListAgentsParams{Sort: ptrTo(sort)}), sort)
		}
		got := e.getAgent(t, c).JSON200
		require.EqualValues(t, 40, got.CompletedOrders)
	})
}

func TestBrowsePaging(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		// 23 agents with many ties: three prices, two ratings, publication
		// times shared by pairs, every one matching the search.
		const n = 23
		all := map[string]bool{}
		for i := range n {
			r := manual(fmt.Sprintf("pager-%02d", i), fmt.Sprintf("Pager %d", i), "Turns pages of a ledger.", int64(100*(i%3+1)), 1+i%4)
			a := e.createAgent(t, oc, r).Agent
			if i%2 == 0 {
				e.clock.Advance(time.Second)
			}
			e.publish(t, oc, a.Id)
			if i%5 == 0 {
				e.rate(t, a.Id, 4, 1)
			}
			if i%7 == 0 {
				e.setAgent(t, a.Id, map[string]any{"completed_orders": i})
			}
			all[a.Id] = true
		}
		// A draft and a paused agent never appear.
		e.createAgent(t, oc, manual("pager-draft", "Pager draft", "Turns pages of a ledger.", 100, 1))
		p := e.createAgent(t, oc, manual("pager-paused", "Pager paused", "Turns pages of a ledger.", 100, 1)).Agent
		e.publish(t, oc, p.Id)
		e.pause(t, oc, p.Id)

		type variant struct {
			name string
			p    client.ListAgentsParams
		}
		var variants []variant
		for _, s := range []client.ListAgentsParamsSort{client.Relevance, client.Rating, client.PriceLow, client.PriceHigh, client.Newest, client.MostOrders} {
			variants = append(variants, variant{string(s), client.ListAgentsParams{Sort: ptrTo(s)}},
				variant{string(s) + " with q", client.ListAgentsParams{Sort: ptrTo(s), Q: ptrTo("ledger pages")}})
		}
		variants = append(variants, variant{"default with q", client.ListAgentsParams{Q: ptrTo("ledger")}})
		for _, v := range variants {
			whole := e.browseIDs(t, v.p)
			require.Len(t, whole, n, v.name)
			for _, limit := range []int{1, 5, 7} {
				var seen []string
				params := v.p
				params.Limit = ptrTo(limit)
				for pages := 0; ; pages++ {
					require.Less(t, pages, n+1, "%s: paging does not end", v.name)
					page := e.browse(t, params)
					require.LessOrEqual(t, len(page.Items), limit)
					seen = append(seen, agentIDs(page.Items)...)
					if page.NextCursor == nil {
						break
					}
					require.Len(t, page.Items, limit, "%s: a page before the last is full", v.name)
					params.Cursor = page.NextCursor
				}
				require.Equal(t, whole, seen, "%s, limit %d: every agent once, in the same order", v.name, limit)
				for id := range all {
					require.Contains(t, seen, id)
				}
			}
		}
		// The default page is 20.
		first := e.browse(t, client.ListAgentsParams{})
		require.Len(t, first.Items, 20)
		require.NotNil(t, first.NextCursor)
		rest := e.browse(t, client.ListAgentsParams{Cursor: first.NextCursor})
		require.Len(t, rest.Items, n-20)
		require.Nil(t, rest.NextCursor)

		// A cursor the API did not issue is 400.
		cur := *first.NextCursor
		for _, bad := range []string{
			"not-a-cursor",
			"A" + cur[1:],
			cur[:len(cur)-3],
			base64.RawURLEncoding.EncodeToString([]byte(`{"k":"x","i":"y"}`)),
			base64.RawURLEncoding.EncodeToString([]byte(`{"k":1}`)),
			base64.RawURLEncoding.EncodeToString([]byte(`[]`)),
		} {
			resp, err := e.anon(t).ListAgentsWithResponse(context.Background(), &client.ListAgentsParams{Cursor: &bad})
			require.NoError(t, err)
			p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
			require.Equal(t, []string{"cursor"}, fieldNames(p), "%q: %s", bad, resp.Body)
		}
	})
}

// --- agent keys --------------------------------------------------------------

func TestAgentKeys(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		owner := e.signUp(t, "otto@example.com", client.SignUpRequestRoleOwner)
		oc := e.withCookie(t, owner.Session)
		created := e.createAgent(t, oc, wizard("lint-fixer"))
		a := created.Agent
		ak := e.withBearer(t, created.ApiKey)

		self, err := ak.GetAgentSelfWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, self.StatusCode(), "%s", self.Body)
		require.Equal(t, client.AgentSelf{Id: a.Id, Handle: "lint-fixer", Name: a.Name, Status: client.Draft,
			SettingsVersion: 1, PackageVersion: self.JSON200.PackageVersion, PollingIntervalSeconds: 60}, *self.JSON200)
		require.NotContains(t, string(self.Body), created.ApiKey)

		// The agent route refuses users' credentials...
		tok := e.createToken(t, oc, "script")
		for _, c := range []*client.ClientWithResponses{oc, e.withBearer(t, tok.Token), e.anon(t)} {
			resp, err := c.GetAgentSelfWithResponse(ctx)
			require.NoError(t, err)
			requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "unauthenticated")
		}
		// ...and user routes refuse the agent key.
		me, err := ak.GetMeWithResponse(ctx)
		require.NoError(t, err)
		requireProblem(t, me.HTTPResponse, me.Body, http.StatusUnauthorized, "unauthenticated")
		wallet, err := ak.GetWalletWithResponse(ctx)
		require.NoError(t, err)
		requireProblem(t, wallet.HTTPResponse, wallet.Body, http.StatusUnauthorized, "unauthenticated")
		mine, err := ak.ListMyAgentsWithResponse(ctx)
		require.NoError(t, err)
		requireProblem(t, mine.HTTPResponse, mine.Body, http.StatusUnauthorized, "unauthenticated")
		rot, err := ak.RotateAgentKeyWithResponse(ctx, a.Id)
		require.NoError(t, err)
		requireProblem(t, rot.HTTPResponse, rot.Body, http.StatusUnauthorized, "unauthenticated")
		cr, err := ak.CreateAgentWithResponse(ctx, wizard("spawned"))
		require.NoError(t, err)
		requireProblem(t, cr.HTTPResponse, cr.Body, http.StatusUnauthorized, "unauthenticated")
		// Public routes still answer.
		list, err := ak.ListAgentsWithResponse(ctx, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, list.StatusCode(), "%s", list.Body)

		// A key with a bad checksum, a wrong prefix or a wrong length.
		key := created.ApiKey
		flip := func(c byte) byte {
			if c == 'A' {
				return 'B'
			}
			return 'A'
		}
		badSum := key[:len(key)-1] + string(flip(key[len(key)-1]))
		badBody := key[:12] + string(flip(key[12])) + key[13:]
		for _, bad := range []string{badSum, badBody, key + "A", key[:len(key)-1], "hpr_agent_" + strings.Repeat("A", 36)} {
			resp, err := e.withBearer(t, bad).GetAgentSelfWithResponse(ctx)
			require.NoError(t, err)
			requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "invalid-token")
		}

		// Rotation: the new key works, the old one stops at once.
		e.clock.Advance(time.Minute)
		rotated, err := oc.RotateAgentKeyWithResponse(ctx, a.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rotated.StatusCode(), "%s", rotated.Body)
		newKey := rotated.JSON200.ApiKey
		require.NotEqual(t, key, newKey)
		require.True(t, strings.HasPrefix(newKey, "hpr_agent_"))
		require.Len(t, newKey, len(key))
		require.Equal(t, newKey[:22], rotated.JSON200.KeyPrefix)
		old, err := ak.GetAgentSelfWithResponse(ctx)
		require.NoError(t, err)
		requireProblem(t, old.HTTPResponse, old.Body, http.StatusUnauthorized, "invalid-token")
		fresh, err := e.withBearer(t, newKey).GetAgentSelfWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, fresh.StatusCode(), "%s", fresh.Body)
		require.Equal(t, a.Id, fresh.JSON200.Id)

		// The self view follows settings and status.
		e.updateAgent(t, oc, a.Id, client.UpdateAgentRequest{PollingIntervalSeconds: ptrTo(120), Name: ptrTo("Lint Fixer Pro")})
		e.publish(t, oc, a.Id)
		fresh, err = e.withBearer(t, newKey).GetAgentSelfWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, fresh.JSON200.SettingsVersion)
		require.Equal(t, 120, fresh.JSON200.PollingIntervalSeconds)
		require.Equal(t, "Lint Fixer Pro", fresh.JSON200.Name)
		require.Equal(t, client.Active, fresh.JSON200.Status)

		// Two agents, two keys, each its own agent.
		other := e.createAgent(t, oc, manual("second", "Second", "Another.", 10, 1))
		otherSelf, err := e.withBearer(t, other.ApiKey).GetAgentSelfWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, other.Agent.Id, otherSelf.JSON200.Id)

		// listMyAgents: status, versions, the new key's prefix, the last
		// poll, and the figures orders and reviews will move.
		e.waitJobsDone(t)
		require.NoError(t, e.app.market.RecordPoll(ctx, a.Id))
		e.rate(t, a.Id, 14, 3)
		e.setAgent(t, a.Id, map[string]any{"completed_orders": 4, "on_time_orders": 3, "missed_deadlines": 1})
		var pkg int
		require.NoError(t, e.app.db.Bun.NewSelect().Table("agents").Column("package_version").Where("id = ?", a.Id).Scan(ctx, &pkg))
		got := e.myAgent(t, oc, a.Id)
		require.Equal(t, client.Active, got.Status)
		require.Equal(t, 2, got.SettingsVersion)
		require.Equal(t, pkg, got.PackageVersion)
		// Packages are numbered on their own; a job for a version already
		// superseded renders nothing, so two quick changes may make one package.
		require.GreaterOrEqual(t, got.PackageVersion, 1, "the live settings have a package")
		require.LessOrEqual(t, got.PackageVersion, got.SettingsVersion)
		require.Equal(t, newKey[:22], got.KeyPrefix)
		require.NotNil(t, got.LastPollAt)
		require.Equal(t, e.clock.Now(), got.LastPollAt.UTC())
		require.True(t, got.Online)
		require.EqualValues(t, 3, got.ReviewCount)
		require.InDelta(t, 14.0/3, got.Rating, 1e-6)
		require.EqualValues(t, 4, got.CompletedOrders)
		require.InDelta(t, 0.75, got.OnTimeRate, 1e-6)
		require.NotNil(t, got.MissedDeadlines)
		require.EqualValues(t, 1, *got.MissedDeadlines)
		e.setAgent(t, a.Id, map[string]any{"package_version": 5})
		require.Equal(t, 5, e.myAgent(t, oc, a.Id).PackageVersion)
		all := e.myAgents(t, oc)
		require.Equal(t, []string{other.Agent.Id, a.Id}, []string{all[0].Id, all[1].Id}, "newest first")
		require.Equal(t, client.Draft, all[0].Status)
		require.Nil(t, all[0].LastPollAt)
		require.False(t, all[0].Online)

		// A suspended agent's key still says who it is (it may read its events).
		e.setAgent(t, a.Id, map[string]any{"status": "suspended"})
		fresh, err = e.withBearer(t, newKey).GetAgentSelfWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, fresh.StatusCode())
		require.Equal(t, client.Suspended, fresh.JSON200.Status)
	})
}
