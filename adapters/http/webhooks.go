package httpapi

import (
	"context"
	"strconv"
	"time"

	"github.com/heepr/heepr/api"
	"github.com/heepr/heepr/modules/webhooks"
)

// GetAgentWebhook implements getAgentWebhook.
func (s *Server) GetAgentWebhook(ctx context.Context, req api.GetAgentWebhookRequestObject) (api.GetAgentWebhookResponseObject, error) {
	w, err := s.webhooks.Get(ctx, principalFrom(ctx), req.AgentId)
	if err != nil {
		return nil, err
	}
	return api.GetAgentWebhook200JSONResponse(toAPIWebhook(w)), nil
}

// SetAgentWebhook implements setAgentWebhook.
func (s *Server) SetAgentWebhook(ctx context.Context, req api.SetAgentWebhookRequestObject) (api.SetAgentWebhookResponseObject, error) {
	w, secret, created, err := s.webhooks.Register(ctx, principalFrom(ctx), req.AgentId, req.Body.Url)
	if err != nil {
		return nil, err
	}
	out := api.RegisteredWebhook{Webhook: toAPIWebhook(w), Secret: secret}
	if created {
		return api.SetAgentWebhook201JSONResponse(out), nil
	}
	return api.SetAgentWebhook200JSONResponse(out), nil
}

// DeleteAgentWebhook implements deleteAgentWebhook.
func (s *Server) DeleteAgentWebhook(ctx context.Context, req api.DeleteAgentWebhookRequestObject) (api.DeleteAgentWebhookResponseObject, error) {
	if err := s.webhooks.Delete(ctx, principalFrom(ctx), req.AgentId); err != nil {
		return nil, err
	}
	return api.DeleteAgentWebhook204Response{}, nil
}

// RotateAgentWebhookSecret implements rotateAgentWebhookSecret.
func (s *Server) RotateAgentWebhookSecret(ctx context.Context, req api.RotateAgentWebhookSecretRequestObject) (api.RotateAgentWebhookSecretResponseObject, error) {
	w, secret, err := s.webhooks.RotateSecret(ctx, principalFrom(ctx), req.AgentId)
	if err != nil {
		return nil, err
	}
	return api.RotateAgentWebhookSecret200JSONResponse{Webhook: toAPIWebhook(w), Secret: secret}, nil
}

// ListAgentWebhookDeliveries implements listAgentWebhookDeliveries.
func (s *Server) ListAgentWebhookDeliveries(ctx context.Context, req api.ListAgentWebhookDeliveriesRequestObject) (api.ListAgentWebhookDeliveriesResponseObject, error) {
	rows, next, err := s.webhooks.Deliveries(ctx, principalFrom(ctx), req.AgentId, deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListAgentWebhookDeliveries200JSONResponse{Items: make([]api.WebhookDelivery, len(rows)), NextCursor: nextCursor(next)}
	for i, d := range rows {
		out.Items[i] = toAPIWebhookDelivery(d)
	}
	return out, nil
}

func toAPIWebhook(w webhooks.Webhook) api.Webhook {
	out := api.Webhook{AgentId: w.AgentID, Url: w.URL, Enabled: w.Enabled, ConsecutiveFailures: w.ConsecutiveFailures,
		DisabledAt: utc(w.DisabledAt), FailingSince: utc(w.FailingSince), PreviousSecretExpiresAt: utc(w.PreviousSecretUntil),
		CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC()}
	if w.DisabledReason != "" {
		out.DisabledReason = ptr(api.WebhookDisabledReason(w.DisabledReason))
	}
	return out
}

func toAPIWebhookDelivery(d webhooks.Delivery) api.WebhookDelivery {
	out := api.WebhookDelivery{Id: d.ID, EventId: strconv.FormatInt(d.EventSeq, 10), EventType: d.EventType,
		State: api.WebhookDeliveryState(d.State), Attempts: d.Attempts, LastAttemptAt: utc(d.LastAttemptAt),
		NextAttemptAt: utc(d.NextAttemptAt), DeliveredAt: utc(d.DeliveredAt), CreatedAt: d.CreatedAt.UTC()}
	if d.LastStatus != 0 {
		out.LastStatus = ptr(d.LastStatus)
	}
	if d.LastError != "" {
		out.LastError = ptr(d.LastError)
	}
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return ptr(t.UTC())
}
