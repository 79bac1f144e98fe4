// Package webhooks pushes an agent's events to an HTTPS endpoint its owner
// registers, signed as Standard Webhooks prescribe, retried on a schedule
// for a day, with a delivery log (ADR 11). Polling is untouched: webhooks
// are a second way for the same events to arrive.
package webhooks

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/webhooks/domain"
)

// Deps are what the service is built from.
type Deps struct {
	Tx       kernel.Tx
	Clock    kernel.Clock
	Store    Store
	Jobs     kernel.Jobs
	Agents   Agents
	Notifier Notifier
	Sender   Sender
	// Allow lists private targets that may be called anyway (HEEPR_WEBHOOK_ALLOW).
	Allow Allow
	// Audit records registrations, rotations and removals (nil: none).
	Audit kernel.AuditFunc
}

// Allow is the allowlist of private targets (see domain.ParseAllow).
type Allow = domain.Allow

// ParseAllow reads HEEPR_WEBHOOK_ALLOW: host names, addresses and CIDR ranges, comma-separated.
func ParseAllow(s string) (Allow, error) { return domain.ParseAllow(s) }

// Delivery is one event on its way to the endpoint (the delivery log's entry).
type Delivery = domain.Delivery

// Service is the webhooks facade.
type Service struct{ d Deps }

// New builds the service.
func New(d Deps) *Service { return &Service{d: d} }

// Webhook is an endpoint as its owner sees it: never its secrets.
type Webhook struct {
	AgentID             string
	URL                 string
	Enabled             bool
	DisabledReason      string // domain.DisabledGone or domain.DisabledFailing
	DisabledAt          *time.Time
	FailingSince        *time.Time
	ConsecutiveFailures int
	// PreviousSecretUntil is when the secret replaced by the last rotation
	// stops signing (nil when it no longer does).
	PreviousSecretUntil *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

func toView(e domain.Endpoint, now time.Time) Webhook {
	w := Webhook{AgentID: e.AgentID, URL: e.URL, Enabled: e.Enabled(), DisabledReason: e.DisabledReason,
		DisabledAt: e.DisabledAt, FailingSince: e.FailingSince, ConsecutiveFailures: e.ConsecutiveFailures,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if e.PreviousSecret != "" && now.Before(e.PreviousUntil) {
		until := e.PreviousUntil
		w.PreviousSecretUntil = &until
	}
	return w
}

var errWebhookNotFound = kernel.NotFound("webhook")

// resolveTimeout bounds the DNS lookup of a URL being registered.
const resolveTimeout = 5 * time.Second

// Register points the agent's webhook at a URL, with a new secret shown
// this once (the answer's secret). It creates the endpoint, or replaces
// it: a new URL and secret, enabled again, failures forgotten. created
// says which. Only the agent's owner may; anyone else is told the agent
// does not exist.
func (s *Service) Register(ctx context.Context, p kernel.Principal, agentID, rawURL string) (w Webhook, secret string, created bool, err error) {
	a, err := s.d.Agents.Owned(ctx, p, agentID)
	if err != nil {
		return Webhook{}, "", false, err
	}
	target, err := s.check(ctx, rawURL)
	if err != nil {
		return Webhook{}, "", false, err
	}
	if secret, err = newSecret(); err != nil {
		return Webhook{}, "", false, err
	}
	now := s.d.Clock.Now()
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		e, err := s.d.Store.Endpoint(ctx, a.ID, true)
		switch {
		case errors.Is(err, kernel.ErrNotFound):
			created, e = true, domain.Endpoint{AgentID: a.ID}
		case err != nil:
			return err
		}
		e = e.Register(target.URL.String(), secret, now)
		if err := s.d.Store.SaveEndpoint(ctx, e); err != nil {
			return err
		}
		w = toView(e, now)
		return s.audit(ctx, p, "webhooks.registered", a.ID, e.URL)
	})
	if err != nil {
		return Webhook{}, "", false, err
	}
	return w, secret, created, nil
}

// check applies the target rules to a URL, resolving its host name.
func (s *Service) check(ctx context.Context, raw string) (domain.Target, error) {
	t, err := s.d.Allow.CheckURL(raw)
	if err != nil || t.Host == "" || s.d.Allow.Host(t.Host) {
		return t, err
	}
	rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := s.d.Sender.Resolve(rctx, t.Host)
	if err != nil {
		addrs = nil // reported as a host that does not resolve
	}
	return t, s.d.Allow.CheckAddrs(t.Host, addrs)
}

// Get returns the agent's webhook.
func (s *Service) Get(ctx context.Context, p kernel.Principal, agentID string) (Webhook, error) {
	e, err := s.owned(ctx, p, agentID, false)
	if err != nil {
		return Webhook{}, err
	}
	return toView(e, s.d.Clock.Now()), nil
}

// owned reads the endpoint of one of p's agents.
func (s *Service) owned(ctx context.Context, p kernel.Principal, agentID string, lock bool) (domain.Endpoint, error) {
	a, err := s.d.Agents.Owned(ctx, p, agentID)
	if err != nil {
		return domain.Endpoint{}, err
	}
	e, err := s.d.Store.Endpoint(ctx, a.ID, lock)
	if errors.Is(err, kernel.ErrNotFound) {
		return domain.Endpoint{}, errWebhookNotFound
	}
	return e, err
}

// Delete removes the agent's webhook and its delivery log; events keep
// arriving by polling.
func (s *Service) Delete(ctx context.Context, p kernel.Principal, agentID string) error {
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		e, err := s.owned(ctx, p, agentID, true)
		if err != nil {
			return err
		}
		if err := s.d.Store.DeleteEndpoint(ctx, e.AgentID); err != nil {
			return err
		}
		return s.audit(ctx, p, "webhooks.deleted", e.AgentID, e.URL)
	})
}

// RotateSecret gives the webhook a new secret, shown this once. The
// previous one keeps signing beside it for domain.RotationOverlap, so the
// receiver can switch without missing a message.
func (s *Service) RotateSecret(ctx context.Context, p kernel.Principal, agentID string) (w Webhook, secret string, err error) {
	if secret, err = newSecret(); err != nil {
		return Webhook{}, "", err
	}
	now := s.d.Clock.Now()
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		e, err := s.owned(ctx, p, agentID, true)
		if err != nil {
			return err
		}
		e = e.Rotate(secret, now)
		if err := s.d.Store.SaveEndpoint(ctx, e); err != nil {
			return err
		}
		w = toView(e, now)
		return s.audit(ctx, p, "webhooks.secret_rotated", e.AgentID, "")
	})
	if err != nil {
		return Webhook{}, "", err
	}
	return w, secret, nil
}

// Deliveries pages through the webhook's delivery log, newest first.
func (s *Service) Deliveries(ctx context.Context, p kernel.Principal, agentID, cursor string, limit int) ([]Delivery, string, error) {
	before, err := kernel.IDCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	e, err := s.owned(ctx, p, agentID, false)
	if err != nil {
		return nil, "", err
	}
	limit = kernel.Limit(limit, 20, 100)
	rows, err := s.d.Store.Deliveries(ctx, e.AgentID, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	rows, next := kernel.PageByID(rows, limit, func(d Delivery) string { return d.ID })
	return rows, next, nil
}

func (s *Service) audit(ctx context.Context, p kernel.Principal, action, agentID, reason string) error {
	if s.d.Audit == nil {
		return nil
	}
	return s.d.Audit(ctx, p.Actor(), action, "agent:"+agentID, reason)
}

func newSecret() (string, error) {
	key := make([]byte, domain.SecretBytes)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate webhook secret: %w", err)
	}
	return domain.NewSecret(key), nil
}

// --- events ------------------------------------------------------------------

// OnEvent queues an agent's new event for its webhook, when it has one
// that is enabled. Ordering calls it inside the transaction that appends
// the event (ordering.Deps.OnEvent, ADR 11), so the delivery and its job
// commit or roll back with the event.
func (s *Service) OnEvent(ctx context.Context, agentID string, seq int64, typ string, data map[string]any, at time.Time) error {
	e, err := s.d.Store.Endpoint(ctx, agentID, false)
	if errors.Is(err, kernel.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !e.Enabled() {
		return nil
	}
	body, err := domain.Payload(agentID, seq, typ, at, data)
	if err != nil {
		return fmt.Errorf("encode webhook payload: %w", err)
	}
	d := domain.Delivery{ID: kernel.NewID(), AgentID: agentID, EventSeq: seq, EventType: typ, Payload: body,
		State: domain.StatePending, NextAttemptAt: &at, CreatedAt: at}
	if err := s.d.Store.InsertDelivery(ctx, d, at.Add(domain.AttemptLease)); err != nil {
		return err
	}
	return s.d.Jobs.Enqueue(ctx, DeliverArgs{DeliveryID: d.ID})
}

// --- attempts ----------------------------------------------------------------

// maxErrorText bounds the error a delivery log entry keeps.
const maxErrorText = 300

// Deliver makes one attempt of a delivery (the DeliverArgs worker), if it
// is due: post it, then record the answer and schedule the next attempt
// by the injected clock. The request is made outside any transaction.
// At-least-once: a worker dying between the post and the record posts it
// again (with the same webhook-id) once AttemptLease has passed.
func (s *Service) Deliver(ctx context.Context, id string) error {
	now := s.d.Clock.Now()
	lease := now.Add(domain.AttemptLease)
	var (
		d       domain.Delivery
		e       domain.Endpoint
		claimed bool
	)
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		d, claimed, err = s.d.Store.ClaimDelivery(ctx, id, now, lease)
		if err != nil || !claimed {
			return err
		}
		e, err = s.d.Store.Endpoint(ctx, d.AgentID, false)
		if err != nil && !errors.Is(err, kernel.ErrNotFound) {
			return err
		}
		if err != nil || !e.Enabled() {
			// Disabled (or removed) after this delivery was queued: it
			// ends here, untried. Only its own row, which the claim holds.
			claimed = false
			d.State, d.LastError, d.NextAttemptAt = domain.StateFailed, "the endpoint is disabled", nil
			_, err := s.d.Store.SaveAttempt(ctx, d, lease)
			return err
		}
		return nil
	})
	if err != nil || !claimed {
		return err
	}
	status, errText := s.post(ctx, e, d, now)
	return s.record(ctx, e.URL, d, lease, status, errText, now)
}

// post sends one attempt and returns the status (0: no answer) and what
// went wrong, for the log.
func (s *Service) post(ctx context.Context, e domain.Endpoint, d domain.Delivery, now time.Time) (int, string) {
	if _, err := s.d.Allow.CheckURL(e.URL); err != nil {
		return 0, clip(err.Error()) // HEEPR_WEBHOOK_ALLOW changed since it was registered
	}
	ts := now.Unix()
	sig, err := domain.SignatureHeader(e.Secrets(now), d.ID, ts, d.Payload)
	if err != nil {
		return 0, clip(err.Error())
	}
	resp, err := s.d.Sender.Post(ctx, e.URL, map[string]string{
		domain.HeaderID: d.ID, domain.HeaderTimestamp: strconv.FormatInt(ts, 10), domain.HeaderSignature: sig,
	}, d.Payload)
	if err != nil {
		return 0, clip(err.Error())
	}
	if domain.Judge(resp.Status) == domain.Delivered {
		return resp.Status, ""
	}
	text := "HTTP " + strconv.Itoa(resp.Status)
	if resp.Body != "" {
		text += ": " + resp.Body
	}
	return resp.Status, clip(text)
}

func clip(s string) string {
	if len(s) <= maxErrorText {
		return s
	}
	cut := maxErrorText
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

// record writes an attempt's outcome, and the endpoint's health: a
// success clears its failures; a 410, or failures without a success for
// domain.DisableAfter, disable it, fail its pending deliveries and tell
// the owner.
func (s *Service) record(ctx context.Context, url string, d domain.Delivery, lease time.Time, status int, errText string, now time.Time) error {
	outcome := domain.Judge(status)
	d = d.Record(outcome, status, errText, now)
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		// Lock order: the endpoint, then its deliveries (as Delete does).
		e, err := s.d.Store.Endpoint(ctx, d.AgentID, true)
		if errors.Is(err, kernel.ErrNotFound) {
			return nil // deleted, with its deliveries
		}
		if err != nil {
			return err
		}
		ok, err := s.d.Store.SaveAttempt(ctx, d, lease)
		if err != nil || !ok {
			return err // !ok: failed or taken up again meanwhile
		}
		if !e.Enabled() || e.URL != url {
			return nil // disabled or re-registered meanwhile: this attempt says nothing of it
		}
		if outcome == domain.Delivered {
			if e.FailingSince == nil && e.ConsecutiveFailures == 0 {
				return nil
			}
			return s.d.Store.SaveEndpoint(ctx, e.Succeeded())
		}
		e, disable := e.Failed(outcome, now)
		if err := s.d.Store.SaveEndpoint(ctx, e); err != nil {
			return err
		}
		if !disable {
			return nil
		}
		if _, err := s.d.Store.FailPending(ctx, e.AgentID, "the endpoint was disabled"); err != nil {
			return err
		}
		return s.notifyDisabled(ctx, e, errText)
	})
}

func (s *Service) notifyDisabled(ctx context.Context, e domain.Endpoint, last string) error {
	a, err := s.d.Agents.Agent(ctx, e.AgentID)
	if err != nil {
		return err
	}
	why := "it answered 410 Gone"
	if e.DisabledReason == domain.DisabledFailing {
		why = fmt.Sprintf("no delivery to it succeeded for %d hours", int(domain.DisableAfter/time.Hour))
	}
	body := fmt.Sprintf("heepr stopped pushing @%s's events to %s because %s (last answer: %s).\n\n"+
		"Events still wait for the agent's polls. Register the webhook again once the endpoint works.", a.Handle, e.URL, why, last)
	return s.d.Notifier.Notify(ctx, notification.Notice{User: a.OwnerID, Kind: "webhooks.endpoint_disabled",
		Subject: fmt.Sprintf("Webhook of @%s disabled", a.Handle), Body: body, Link: "/owner/agents/" + a.ID})
}

// Sweep enqueues an attempt of every delivery whose next attempt has
// fallen due by the clock (the periodic SweepArgs job). It returns how
// many it enqueued.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	const batch = 500
	now := s.d.Clock.Now()
	total := 0
	for {
		var n int
		err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
			ids, err := s.d.Store.QueueDue(ctx, now, now.Add(domain.AttemptLease), batch)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := s.d.Jobs.Enqueue(ctx, DeliverArgs{DeliveryID: id}); err != nil {
					return err
				}
			}
			n = len(ids)
			return nil
		})
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

// Purge deletes finished deliveries past domain.Retention (the periodic PurgeArgs job).
func (s *Service) Purge(ctx context.Context) (int, error) {
	before := s.d.Clock.Now().Add(-domain.Retention)
	total := 0
	for {
		n, err := s.d.Store.Purge(ctx, before, 1000)
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}
