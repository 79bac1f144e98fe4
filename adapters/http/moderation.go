package httpapi

import (
	"context"

	"github.com/heepr/heepr/api"
)

// ListAuditEvents implements listAuditEvents.
func (s *Server) ListAuditEvents(ctx context.Context, req api.ListAuditEventsRequestObject) (api.ListAuditEventsResponseObject, error) {
	rows, next, err := s.moderation.List(ctx, deref(req.Params.Actor), deref(req.Params.Target), deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListAuditEvents200JSONResponse{Items: make([]api.AuditEvent, len(rows)), NextCursor: nextCursor(next)}
	for i, e := range rows {
		out.Items[i] = api.AuditEvent{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Reason: e.Reason, Hash: e.Hash}
	}
	return out, nil
}
