package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/api/client"
	"github.com/heepr/heepr/modules/webhooks"
	"github.com/heepr/heepr/modules/webhooks/domain"
)

// Webhooks (issue 8, ADR 11) through HTTP: an owner registers an endpoint
// for an agent; events reach it signed (Standard Webhooks), are retried on
// the schedule as the fake clock moves, and disable the endpoint after a
// day of failures or a 410; the delivery log shows the attempts; a
// rotated secret signs beside the old one for a day; private targets are
// refused unless allowlisted; polling sees the same events throughout.

// --- helpers ---------------------------------------------------------------

// hookRequest is one request a receiver got.
type hookRequest struct {
	ID, Timestamp, Signature string
	Body                     []byte
}

// hookReceiver is a webhook endpoint on 127.0.0.1 answering status.
type hookReceiver struct {
	srv    *httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []hookRequest
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{}
	r.status.Store(http.StatusNoContent)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, hookRequest{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
			Signature: req.Header.Get("webhook-signature"), Body: body})
		r.mu.Unlock()
		w.WriteHeader(int(r.status.Load()))
		_, _ = w.Write([]byte("receiver says " + strconv.Itoa(int(r.status.Load()))))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) url() string { return r.srv.URL + "/heepr" }

func (r *hookReceiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookRequest(nil), r.got...)
}

func (r *hookReceiver) last(t *testing.T) hookRequest {
	t.Helper()
	got := r.requests()
	require.NotEmpty(t, got, "the receiver got nothing")
	return got[len(got)-1]
}

// withLoopbackHooks allowlists 127.0.0.1 (HEEPR_WEBHOOK_ALLOW), where the test receivers listen.
func withLoopbackHooks() envOption {
	return withConfig(func(c *config) { c.WebhookAllow = "127.0.0.1" })
}

func (e *env) setWebhook(t *testing.T, c *client.ClientWithResponses, agent, url string) *client.SetAgentWebhookResponse {
	t.Helper()
	resp, err := c.SetAgentWebhookWithResponse(context.Background(), agent, client.WebhookRequest{Url: url})
	require.NoError(t, err)
	return resp
}

// registerWebhook sets the agent's webhook, requires the status, and returns it with its secret.
func (e *env) registerWebhook(t *testing.T, c *client.ClientWithResponses, agent, url string, status int) client.RegisteredWebhook {
	t.Helper()
	resp := e.setWebhook(t, c, agent, url)
	require.Equal(t, status, resp.StatusCode(), "setAgentWebhook: %s", resp.Body)
	got := resp.JSON201
	if status == http.StatusOK {
		got = resp.JSON200
	}
	require.NotNil(t, got)
	require.True(t, strings.HasPrefix(got.Secret, "whsec_"), got.Secret)
	require.Equal(t, url, got.Webhook.Url)
	require.True(t, got.Webhook.Enabled)
	return *got
}

func (e *env) getWebhook(t *testing.T, c *client.ClientWithResponses, agent string) client.Webhook {
	t.Helper()
	resp, err := c.GetAgentWebhookWithResponse(context.Background(), agent)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "getAgentWebhook: %s", resp.Body)
	require.NotContains(t, string(resp.Body), "whsec_", "the secret is shown once only")
	return *resp.JSON200
}

func (e *env) webhookLog(t *testing.T, c *client.ClientWithResponses, agent string) []client.WebhookDelivery {
	t.Helper()
	resp, err := c.ListAgentWebhookDeliveriesWithResponse(context.Background(), agent, &client.ListAgentWebhookDeliveriesParams{Limit: ptrTo(100)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode(), "listAgentWebhookDeliveries: %s", resp.Body)
	return resp.JSON200.Items
}

// sweepWebhooks runs the periodic sweep now and waits for the attempts it enqueues.
func (e *env) sweepWebhooks(t *testing.T) {
	t.Helper()
	e.enqueue(t, webhooks.SweepArgs{})
	e.waitJobsDone(t)
}

// verifyHook checks a request's signature as a receiver would, at the
// fake clock's time, with one secret.
func (e *env) verifyHook(r hookRequest, secret string) error {
	return domain.Verify(secret, r.ID, r.Timestamp, r.Body, r.Signature, e.clock.Now())
}

func hookEvent(t *testing.T, r hookRequest) domain.Event {
	t.Helper()
	var ev domain.Event
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&ev), "%s", r.Body)
	return ev
}

// --- delivery, signatures, rotation, polling --------------------------------

func TestWebhookDeliversSignedEvents(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		recv := newHookReceiver(t)

		reg := e.registerWebhook(t, s.ownerC, s.agent.Id, recv.url(), http.StatusCreated)
		secret := reg.Secret
		w := e.getWebhook(t, s.ownerC, s.agent.Id)
		require.Equal(t, recv.url(), w.Url)
		require.True(t, w.Enabled)
		require.Nil(t, w.DisabledReason)
		require.Nil(t, w.PreviousSecretExpiresAt)
		require.Empty(t, e.webhookLog(t, s.ownerC, s.agent.Id))

		// A customer's message reaches the endpoint, signed.
		conv := e.contact(t, s.custC, s.agent.Id, "Can you review my pull request?")
		e.waitJobsDone(t)
		require.Len(t, recv.requests(), 1)
		got := recv.last(t)
		require.NoError(t, e.verifyHook(got, secret))
		require.Equal(t, strconv.FormatInt(e.clock.Now().Unix(), 10), got.Timestamp)
		require.NotContains(t, got.Signature, " ", "one secret, one signature")
		ev := hookEvent(t, got)
		require.Equal(t, "message.created", ev.Type)
		require.Equal(t, s.agent.Id, ev.AgentID)
		require.Equal(t, conv.Id, ev.Data["conversation_id"])
		require.Equal(t, "Can you review my pull request?", ev.Data["body"])
		// Tampering is detected.
		tampered := got
		tampered.Body = []byte(strings.Replace(string(got.Body), "pull request", "bank account", 1))
		require.ErrorIs(t, e.verifyHook(tampered, secret), domain.ErrNoMatch)

		// Polling keeps working and hands out the same event.
		page := e.poll(t, s.agentC, "", 0)
		require.Len(t, page.Items, 1)
		polled := page.Items[0]
		require.Equal(t, ev.ID, polled.Id)
		require.Equal(t, ev.Type, polled.Type)
		require.Equal(t, ev.Data, polled.Data)
		require.True(t, ev.CreatedAt.Equal(polled.CreatedAt))

		// The delivery log: one attempt, delivered; its id is the webhook-id.
		log := e.webhookLog(t, s.ownerC, s.agent.Id)
		require.Len(t, log, 1)
		d := log[0]
		require.Equal(t, got.ID, d.Id)
		require.Equal(t, ev.ID, d.EventId)
		require.Equal(t, "message.created", d.EventType)
		require.Equal(t, client.WebhookDeliveryStateDelivered, d.State)
		require.EqualValues(t, 1, d.Attempts)
		require.EqualValues(t, http.StatusNoContent, *d.LastStatus)
		require.Nil(t, d.LastError)
		require.Nil(t, d.NextAttemptAt)
		require.True(t, d.DeliveredAt.Equal(e.clock.Now()))

		// Rotation: the new secret first, the old one beside it for a day.
		rot, err := s.ownerC.RotateAgentWebhookSecretWithResponse(ctx, s.agent.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rot.StatusCode(), "%s", rot.Body)
		newSecret := rot.JSON200.Secret
		require.NotEqual(t, secret, newSecret)
		require.True(t, rot.JSON200.Webhook.PreviousSecretExpiresAt.Equal(e.clock.Now().Add(24*time.Hour)))
		e.post(t, s.custC, conv.Id, "Any news?")
		e.waitJobsDone(t)
		got = recv.last(t)
		require.Len(t, strings.Fields(got.Signature), 2)
		require.NoError(t, e.verifyHook(got, newSecret), "a receiver on the new secret")
		require.NoError(t, e.verifyHook(got, secret), "a receiver still on the old secret")

		e.clock.Advance(24 * time.Hour)
		require.Nil(t, e.getWebhook(t, s.ownerC, s.agent.Id).PreviousSecretExpiresAt)
		e.post(t, s.custC, conv.Id, "Still there?")
		e.waitJobsDone(t)
		got = recv.last(t)
		require.Len(t, strings.Fields(got.Signature), 1)
		require.NoError(t, e.verifyHook(got, newSecret))
		require.ErrorIs(t, e.verifyHook(got, secret), domain.ErrNoMatch, "the old secret no longer signs")

		// Registering again replaces the endpoint and its secret.
		again := e.registerWebhook(t, s.ownerC, s.agent.Id, recv.url(), http.StatusOK)
		require.NotEqual(t, newSecret, again.Secret)
		require.Nil(t, again.Webhook.PreviousSecretExpiresAt)
		e.post(t, s.custC, conv.Id, "Hello again.")
		e.waitJobsDone(t)
		got = recv.last(t)
		require.NoError(t, e.verifyHook(got, again.Secret))
		require.ErrorIs(t, e.verifyHook(got, newSecret), domain.ErrNoMatch)
		log = e.webhookLog(t, s.ownerC, s.agent.Id)
		require.Len(t, log, 4, "newest first")
		require.Equal(t, got.ID, log[0].Id)
		for _, d := range log {
			require.Equal(t, client.WebhookDeliveryStateDelivered, d.State)
		}

		// Deleting stops the pushes (and drops the log); polling has every event.
		del, err := s.ownerC.DeleteAgentWebhookWithResponse(ctx, s.agent.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, del.StatusCode(), "%s", del.Body)
		gone, err := s.ownerC.GetAgentWebhookWithResponse(ctx, s.agent.Id)
		require.NoError(t, err)
		requireProblem(t, gone.HTTPResponse, gone.Body, http.StatusNotFound, "not-found")
		e.post(t, s.custC, conv.Id, "Nobody pushes this one.")
		e.waitJobsDone(t)
		require.Len(t, recv.requests(), 4)
		require.Zero(t, e.count(t, "webhook_deliveries"))
		all, _ := e.drain(t, s.agentC, "")
		require.Len(t, all, 5)
		require.Equal(t, "Nobody pushes this one.", all[4].Data["body"])
	}, withLoopbackHooks())
}

// --- retries, the schedule, disabling --------------------------------------

func TestWebhookRetriesOnScheduleThenDisables(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		recv := newHookReceiver(t)
		recv.status.Store(http.StatusInternalServerError)
		reg := e.registerWebhook(t, s.ownerC, s.agent.Id, recv.url(), http.StatusCreated)

		first := e.clock.Now()
		conv := e.contact(t, s.custC, s.agent.Id, "Are you there?")
		e.waitJobsDone(t)
		require.Len(t, recv.requests(), 1)
		d := e.webhookLog(t, s.ownerC, s.agent.Id)[0]
		require.Equal(t, client.WebhookDeliveryStatePending, d.State)
		require.EqualValues(t, 1, d.Attempts)
		require.EqualValues(t, 500, *d.LastStatus)
		require.Equal(t, "HTTP 500: receiver says 500", *d.LastError)
		require.True(t, d.NextAttemptAt.Equal(first.Add(30*time.Second)), "next attempt %s", d.NextAttemptAt)

		// Each retry comes when the schedule says, by the clock, not before.
		schedule := domain.Schedule()
		for n := 2; n <= len(schedule); n++ {
			due := first.Add(schedule[n-1])
			e.clock.Advance(due.Add(-time.Second).Sub(e.clock.Now()))
			e.sweepWebhooks(t)
			require.Len(t, recv.requests(), n-1, "attempt %d came early", n)

			e.clock.Advance(time.Second)
			e.sweepWebhooks(t)
			got := recv.requests()
			require.Len(t, got, n, "attempt %d is due at +%s", n, schedule[n-1])
			last := got[n-1]
			require.Equal(t, got[0].ID, last.ID, "the webhook-id is the same on every attempt")
			require.Equal(t, got[0].Body, last.Body, "and so is the body")
			require.NoError(t, e.verifyHook(last, reg.Secret), "signed afresh")
			require.Equal(t, strconv.FormatInt(e.clock.Now().Unix(), 10), last.Timestamp)

			d = e.webhookLog(t, s.ownerC, s.agent.Id)[0]
			require.EqualValues(t, n, d.Attempts)
			require.True(t, d.LastAttemptAt.Equal(due))
			if n < len(schedule) {
				require.Equal(t, client.WebhookDeliveryStatePending, d.State)
				require.True(t, d.NextAttemptAt.Equal(first.Add(schedule[n])), "after attempt %d", n)
				require.True(t, e.getWebhook(t, s.ownerC, s.agent.Id).Enabled, "still enabled after attempt %d", n)
			}
		}
		require.Equal(t, 24*time.Hour, e.clock.Now().Sub(first))

		// The tenth failed a day after the first: the delivery is failed,
		// the endpoint disabled, and the owner told.
		require.Equal(t, client.WebhookDeliveryStateFailed, d.State)
		require.Nil(t, d.NextAttemptAt)
		w := e.getWebhook(t, s.ownerC, s.agent.Id)
		require.False(t, w.Enabled)
		require.Equal(t, client.WebhookDisabledFailing, *w.DisabledReason)
		require.True(t, w.DisabledAt.Equal(e.clock.Now()))
		require.True(t, w.FailingSince.Equal(first))
		require.EqualValues(t, 10, w.ConsecutiveFailures)
		require.Equal(t, 1, e.notificationsOf(t, s.ownerC, "webhooks.endpoint_disabled"))
		e.clock.Advance(time.Hour)
		e.sweepWebhooks(t)
		require.Len(t, recv.requests(), 10, "nothing after the last attempt")

		// Disabled: new events are not pushed, and polling still has them all.
		e.post(t, s.custC, conv.Id, "Hello?")
		e.waitJobsDone(t)
		require.Len(t, recv.requests(), 10)
		require.Len(t, e.webhookLog(t, s.ownerC, s.agent.Id), 1)
		all, _ := e.drain(t, s.agentC, "")
		require.Equal(t, []string{"message.created", "message.created"}, eventTypes(all))

		// Registering again re-enables it. A pending delivery, then a 410:
		// disabled at once, the pending one failed with it.
		e.registerWebhook(t, s.ownerC, s.agent.Id, recv.url(), http.StatusOK)
		e.post(t, s.custC, conv.Id, "First of two.")
		e.waitJobsDone(t)
		require.Len(t, recv.requests(), 11)
		recv.status.Store(http.StatusGone)
		e.post(t, s.custC, conv.Id, "Second of two.")
		e.waitJobsDone(t)
		require.Len(t, recv.requests(), 12)
		w = e.getWebhook(t, s.ownerC, s.agent.Id)
		require.False(t, w.Enabled)
		require.Equal(t, client.WebhookDisabledGone, *w.DisabledReason)
		log := e.webhookLog(t, s.ownerC, s.agent.Id)
		require.Len(t, log, 3)
		require.Equal(t, client.WebhookDeliveryStateFailed, log[0].State, "the 410")
		require.EqualValues(t, 1, log[0].Attempts)
		require.EqualValues(t, 410, *log[0].LastStatus)
		require.Equal(t, client.WebhookDeliveryStateFailed, log[1].State, "the pending one")
		require.Equal(t, "the endpoint was disabled", *log[1].LastError)
		require.Nil(t, log[1].NextAttemptAt)
		require.Equal(t, 2, e.notificationsOf(t, s.ownerC, "webhooks.endpoint_disabled"))
		e.clock.Advance(time.Hour)
		e.sweepWebhooks(t)
		require.Len(t, recv.requests(), 12, "no retries of a disabled endpoint")

		// Once more, against a healthy receiver.
		recv.status.Store(http.StatusOK)
		again := e.registerWebhook(t, s.ownerC, s.agent.Id, recv.url(), http.StatusOK)
		require.Zero(t, again.Webhook.ConsecutiveFailures)
		e.post(t, s.custC, conv.Id, "Back?")
		e.waitJobsDone(t)
		require.Len(t, recv.requests(), 13)
		require.NoError(t, e.verifyHook(recv.last(t), again.Secret))
		require.Equal(t, client.WebhookDeliveryStateDelivered, e.webhookLog(t, s.ownerC, s.agent.Id)[0].State)
	}, withLoopbackHooks())
}

// A receiver that fails a while and then recovers: the delivery arrives on
// a retry and the endpoint's failures are forgotten.
func TestWebhookRecoversOnRetry(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		s := e.autoShop(t)
		recv := newHookReceiver(t)
		recv.status.Store(http.StatusServiceUnavailable)
		e.registerWebhook(t, s.ownerC, s.agent.Id, recv.url(), http.StatusCreated)
		e.contact(t, s.custC, s.agent.Id, "Hi.")
		e.waitJobsDone(t)
		e.clock.Advance(30 * time.Second)
		e.sweepWebhooks(t)
		w := e.getWebhook(t, s.ownerC, s.agent.Id)
		require.EqualValues(t, 2, w.ConsecutiveFailures)
		require.NotNil(t, w.FailingSince)

		recv.status.Store(http.StatusOK)
		e.clock.Advance(2 * time.Minute)
		e.sweepWebhooks(t)
		require.Len(t, recv.requests(), 3)
		d := e.webhookLog(t, s.ownerC, s.agent.Id)[0]
		require.Equal(t, client.WebhookDeliveryStateDelivered, d.State)
		require.EqualValues(t, 3, d.Attempts)
		require.Nil(t, d.LastError)
		w = e.getWebhook(t, s.ownerC, s.agent.Id)
		require.Zero(t, w.ConsecutiveFailures)
		require.Nil(t, w.FailingSince)

		// A retry that falls due after its endpoint was disabled (by a
		// concurrent delivery's 410, here written directly) is not tried.
		recv.status.Store(http.StatusBadGateway)
		e.post(t, s.custC, e.conversations(t, s.custC, client.ListConversationsParams{}).Items[0].Id, "Again.")
		e.waitJobsDone(t)
		require.Len(t, recv.requests(), 4)
		_, err := e.app.db.Bun.NewRaw("UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = 'gone' WHERE agent_id = ?",
			e.clock.Now(), s.agent.Id).Exec(context.Background())
		require.NoError(t, err)
		e.clock.Advance(30 * time.Second)
		e.sweepWebhooks(t)
		require.Len(t, recv.requests(), 4)
		d = e.webhookLog(t, s.ownerC, s.agent.Id)[0]
		require.Equal(t, client.WebhookDeliveryStateFailed, d.State)
		require.Equal(t, "the endpoint is disabled", *d.LastError)
		require.Nil(t, d.NextAttemptAt)
	}, withLoopbackHooks())
}

// --- refusals and access -----------------------------------------------------

func TestWebhookRefusesPrivateTargetsAndStrangers(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		recv := newHookReceiver(t) // on 127.0.0.1, which this heepr does not allowlist

		for _, url := range []string{
			recv.url(),
			"https://127.0.0.1/hook",
			"https://localhost/hook",
			"https://[::1]/hook",
			"https://10.0.0.8/hook",
			"https://192.168.1.20/hook",
			"https://169.254.169.254/latest/meta-data/",
			"https://100.64.0.1/hook",
			"https://[::ffff:127.0.0.1]/hook",
			"https://2130706433/hook",
			"http://hooks.example.com/hook",
			"https://user:secret@hooks.example.com/hook",
			"hooks.example.com/hook",
		} {
			resp := e.setWebhook(t, s.ownerC, s.agent.Id, url)
			p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "webhook-url-not-allowed")
			require.Equal(t, []string{"url"}, fieldNames(p), url)
		}
		long := e.setWebhook(t, s.ownerC, s.agent.Id, "https://hooks.example.com/"+strings.Repeat("a", 2048))
		p := requireProblem(t, long.HTTPResponse, long.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"url"}, fieldNames(p))
		big, err := s.ownerC.SetAgentWebhookWithBodyWithResponse(ctx, s.agent.Id, "application/json",
			strings.NewReader(`{"url": "https://hooks.example.com/"`+strings.Repeat(" ", 8192)+`}`))
		require.NoError(t, err)
		requireProblem(t, big.HTTPResponse, big.Body, http.StatusRequestEntityTooLarge, "body-too-large")
		require.Zero(t, e.count(t, "webhook_endpoints"), "a refused URL is not stored")
		e.contact(t, s.custC, s.agent.Id, "Hello.")
		e.waitJobsDone(t)
		require.Empty(t, recv.requests())
		require.Len(t, e.poll(t, s.agentC, "", 0).Items, 1, "polling has the event")

		// A public address is accepted (nothing is sent to it here).
		e.registerWebhook(t, s.ownerC, s.agent.Id, "https://93.184.216.34/heepr", http.StatusCreated)

		// Another owner, a customer, the agent itself, and a missing agent.
		other := e.signUp(t, "other-owner-"+randomID()[:6]+"@example.com", client.SignUpRequestRoleOwner)
		otherC := e.withCookie(t, other.Session)
		for _, c := range []struct {
			name   string
			client *client.ClientWithResponses
			agent  string
			status int
			slug   string
		}{
			{"another owner", otherC, s.agent.Id, http.StatusNotFound, "not-found"},
			{"a missing agent", s.ownerC, "0190c1c2-0000-7000-8000-000000000000", http.StatusNotFound, "not-found"},
			{"a customer", s.custC, s.agent.Id, http.StatusForbidden, "forbidden"},
		} {
			t.Run(c.name, func(t *testing.T) {
				get, err := c.client.GetAgentWebhookWithResponse(ctx, c.agent)
				require.NoError(t, err)
				requireProblem(t, get.HTTPResponse, get.Body, c.status, c.slug)
				set := e.setWebhook(t, c.client, c.agent, "https://93.184.216.35/mine")
				requireProblem(t, set.HTTPResponse, set.Body, c.status, c.slug)
				rot, err := c.client.RotateAgentWebhookSecretWithResponse(ctx, c.agent)
				require.NoError(t, err)
				requireProblem(t, rot.HTTPResponse, rot.Body, c.status, c.slug)
				log, err := c.client.ListAgentWebhookDeliveriesWithResponse(ctx, c.agent, nil)
				require.NoError(t, err)
				requireProblem(t, log.HTTPResponse, log.Body, c.status, c.slug)
				del, err := c.client.DeleteAgentWebhookWithResponse(ctx, c.agent)
				require.NoError(t, err)
				requireProblem(t, del.HTTPResponse, del.Body, c.status, c.slug)
			})
		}
		agentResp, err := s.agentC.GetAgentWebhookWithResponse(ctx, s.agent.Id)
		require.NoError(t, err)
		require.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, agentResp.StatusCode(), "%s", agentResp.Body)
		require.Equal(t, "https://93.184.216.34/heepr", e.getWebhook(t, s.ownerC, s.agent.Id).Url, "nothing changed")

		// The owner's agent without a webhook: 404 for the webhook.
		del, err := s.ownerC.DeleteAgentWebhookWithResponse(ctx, s.agent.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, del.StatusCode())
		rot, err := s.ownerC.RotateAgentWebhookSecretWithResponse(ctx, s.agent.Id)
		require.NoError(t, err)
		p = requireProblem(t, rot.HTTPResponse, rot.Body, http.StatusNotFound, "not-found")
		require.Equal(t, "webhook not found", *p.Detail)
		log, err := s.ownerC.ListAgentWebhookDeliveriesWithResponse(ctx, s.agent.Id, nil)
		require.NoError(t, err)
		requireProblem(t, log.HTTPResponse, log.Body, http.StatusNotFound, "not-found")
		del, err = s.ownerC.DeleteAgentWebhookWithResponse(ctx, s.agent.Id)
		require.NoError(t, err)
		requireProblem(t, del.HTTPResponse, del.Body, http.StatusNotFound, "not-found")
	})
}
