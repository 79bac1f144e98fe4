package httpapi

import (
	"context"
	"strconv"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/heepr/heepr/api"
	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/moderation"
)

// FailedJobs lists failed background jobs (the queue adapter).
type FailedJobs interface {
	FailedJobs(ctx context.Context, state, cursor string, limit int) ([]*rivertype.JobRow, string, error)
}

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

func toAPICase(c moderation.Case) api.Case {
	out := api.Case{Id: c.ID, Kind: api.CaseKind(c.Kind), Reason: api.CaseReason(c.Reason), Status: api.CaseStatus(c.Status),
		Details: c.Details, OpenedAt: c.OpenedAt, OrderId: optional(c.OrderID), AgentId: optional(c.AgentID),
		OwnerId: optional(string(c.OwnerID)), FlaggedBy: optional(string(c.FlaggedBy))}
	if !c.ResolvedAt.IsZero() {
		out.ResolvedAt = ptr(c.ResolvedAt)
	}
	if r := c.Resolution; r != nil {
		out.Resolution = &api.CaseResolution{Action: api.CaseResolutionAction(r.Action), Note: r.Note, ResolvedBy: r.ResolvedBy,
			Refunded: int64(r.Refunded), FromEscrow: int64(r.FromEscrow), ClawedBack: int64(r.ClawedBack), Goodwill: int64(r.Goodwill),
			ToOwner: int64(r.ToOwner)}
	}
	return out
}

// optional is nil for "".
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// FlagOrder implements flagOrder.
func (s *Server) FlagOrder(ctx context.Context, req api.FlagOrderRequestObject) (api.FlagOrderResponseObject, error) {
	c, err := s.moderation.Flag(ctx, principalFrom(ctx), req.OrderId, string(req.Body.Reason), deref(req.Body.Details))
	if err != nil {
		return nil, err
	}
	return api.FlagOrder201JSONResponse(toAPICase(c)), nil
}

// ListCases implements listCases.
func (s *Server) ListCases(ctx context.Context, req api.ListCasesRequestObject) (api.ListCasesResponseObject, error) {
	var age time.Duration
	if req.Params.MinAgeHours != nil {
		age = time.Duration(*req.Params.MinAgeHours) * time.Hour
	}
	rows, next, err := s.moderation.ListCases(ctx, string(deref(req.Params.Status)), string(deref(req.Params.Reason)), age,
		deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListCases200JSONResponse{Items: make([]api.Case, len(rows)), NextCursor: nextCursor(next)}
	for i, c := range rows {
		out.Items[i] = toAPICase(c)
	}
	return out, nil
}

// GetCase implements getCase.
func (s *Server) GetCase(ctx context.Context, req api.GetCaseRequestObject) (api.GetCaseResponseObject, error) {
	d, err := s.moderation.GetCase(ctx, req.CaseId)
	if err != nil {
		return nil, err
	}
	p := principalFrom(ctx)
	out := api.GetCase200JSONResponse{Case: toAPICase(d.Case), PaidOut: d.PaidOut, Messages: make([]api.Message, len(d.Messages)),
		Postings: make([]api.OrderPosting, len(d.Postings)), EarlierCases: make([]api.Case, len(d.EarlierCases))}
	if d.Order != nil {
		out.Order = ptr(s.toAPIOrderView(p, *d.Order))
	}
	for i, m := range d.Messages {
		out.Messages[i] = toAPIMessage(m)
	}
	for i, x := range d.Postings {
		out.Postings[i] = api.OrderPosting{Id: x.ID, Kind: api.PostingKind(x.Kind), FromAccount: x.From, ToAccount: x.To,
			Amount: int64(x.Amount), Memo: x.Memo, CreatedAt: x.CreatedAt}
	}
	for i, c := range d.EarlierCases {
		out.EarlierCases[i] = toAPICase(c)
	}
	if a := d.Agent; a != nil {
		out.Agent = &api.CaseAgent{Id: a.ID, Handle: a.Handle, Name: a.Settings.Name, Status: api.AgentStatus(a.Status),
			OwnerId: string(a.OwnerID), MissedDeadlines: a.Figures.MissedDeadlines, MissedDeadlines30d: d.MissedDeadlines30d,
			CompletedOrders: a.Figures.CompletedOrders}
	}
	return out, nil
}

// ResolveCase implements resolveCase.
func (s *Server) ResolveCase(ctx context.Context, req api.ResolveCaseRequestObject) (api.ResolveCaseResponseObject, error) {
	d := moderation.Decision{Action: string(req.Body.Action), Note: req.Body.Note}
	if req.Body.RefundAmount != nil {
		d.Amount = kernel.Points(*req.Body.RefundAmount)
	}
	if req.Body.RefundSource != nil {
		d.Source = string(*req.Body.RefundSource)
	}
	c, err := s.moderation.ResolveCase(ctx, principalFrom(ctx), req.CaseId, d)
	if err != nil {
		return nil, err
	}
	return api.ResolveCase200JSONResponse(toAPICase(c)), nil
}

// SuspendAgent implements suspendAgent.
func (s *Server) SuspendAgent(ctx context.Context, req api.SuspendAgentRequestObject) (api.SuspendAgentResponseObject, error) {
	a, err := s.moderation.SuspendAgent(ctx, principalFrom(ctx), req.AgentId, moderation.Suspension{
		Reason: req.Body.Reason, CaseID: deref(req.Body.CaseId), RefundWorking: deref(req.Body.RefundOpenOrders)})
	if err != nil {
		return nil, err
	}
	return api.SuspendAgent200JSONResponse(s.toAPIOwnerAgent(a)), nil
}

// ReinstateAgent implements reinstateAgent.
func (s *Server) ReinstateAgent(ctx context.Context, req api.ReinstateAgentRequestObject) (api.ReinstateAgentResponseObject, error) {
	a, err := s.moderation.ReinstateAgent(ctx, principalFrom(ctx), req.AgentId, req.Body.Reason)
	if err != nil {
		return nil, err
	}
	return api.ReinstateAgent200JSONResponse(s.toAPIOwnerAgent(a)), nil
}

func toAPIRequest(r moderation.ReinstatementRequest) api.ReinstatementRequest {
	out := api.ReinstatementRequest{Id: r.ID, AgentId: r.AgentID, AgentHandle: r.AgentHandle, OwnerId: string(r.OwnerID),
		Message: r.Message, Status: api.ReinstatementStatus(r.Status), CreatedAt: r.CreatedAt,
		DecisionNote: optional(r.DecisionNote), DecidedBy: optional(r.DecidedBy)}
	if !r.DecidedAt.IsZero() {
		out.DecidedAt = ptr(r.DecidedAt)
	}
	return out
}

// RequestReinstatement implements requestReinstatement.
func (s *Server) RequestReinstatement(ctx context.Context, req api.RequestReinstatementRequestObject) (api.RequestReinstatementResponseObject, error) {
	r, err := s.moderation.RequestReinstatement(ctx, principalFrom(ctx), req.AgentId, req.Body.Message)
	if err != nil {
		return nil, err
	}
	return api.RequestReinstatement201JSONResponse(toAPIRequest(r)), nil
}

// ListReinstatementRequests implements listReinstatementRequests.
func (s *Server) ListReinstatementRequests(ctx context.Context, req api.ListReinstatementRequestsRequestObject) (api.ListReinstatementRequestsResponseObject, error) {
	rows, next, err := s.moderation.ListRequests(ctx, string(deref(req.Params.Status)), deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListReinstatementRequests200JSONResponse{Items: make([]api.ReinstatementRequest, len(rows)), NextCursor: nextCursor(next)}
	for i, r := range rows {
		out.Items[i] = toAPIRequest(r)
	}
	return out, nil
}

// DeclineReinstatement implements declineReinstatement.
func (s *Server) DeclineReinstatement(ctx context.Context, req api.DeclineReinstatementRequestObject) (api.DeclineReinstatementResponseObject, error) {
	r, err := s.moderation.DeclineReinstatement(ctx, principalFrom(ctx), req.RequestId, req.Body.Reason)
	if err != nil {
		return nil, err
	}
	return api.DeclineReinstatement200JSONResponse(toAPIRequest(r)), nil
}

func toAPIStanding(st identity.Standing) api.AccountStanding {
	return api.AccountStanding{UserId: string(st.UserID), Suspended: st.SuspendedAt != nil, SuspendedAt: st.SuspendedAt, Reason: optional(st.Reason)}
}

// SuspendUser implements suspendUser.
func (s *Server) SuspendUser(ctx context.Context, req api.SuspendUserRequestObject) (api.SuspendUserResponseObject, error) {
	st, err := s.moderation.SetUserSuspended(ctx, principalFrom(ctx), kernel.UserID(req.UserId), true, req.Body.Reason)
	if err != nil {
		return nil, err
	}
	return api.SuspendUser200JSONResponse(toAPIStanding(st)), nil
}

// ReinstateUser implements reinstateUser.
func (s *Server) ReinstateUser(ctx context.Context, req api.ReinstateUserRequestObject) (api.ReinstateUserResponseObject, error) {
	st, err := s.moderation.SetUserSuspended(ctx, principalFrom(ctx), kernel.UserID(req.UserId), false, req.Body.Reason)
	if err != nil {
		return nil, err
	}
	return api.ReinstateUser200JSONResponse(toAPIStanding(st)), nil
}

// ListFailedJobs implements listFailedJobs.
func (s *Server) ListFailedJobs(ctx context.Context, req api.ListFailedJobsRequestObject) (api.ListFailedJobsResponseObject, error) {
	rows, next, err := s.jobs.FailedJobs(ctx, string(deref(req.Params.State)), deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListFailedJobs200JSONResponse{Items: make([]api.FailedJob, len(rows)), NextCursor: nextCursor(next)}
	for i, j := range rows {
		fj := api.FailedJob{Id: strconv.FormatInt(j.ID, 10), Kind: j.Kind, Queue: optional(j.Queue), State: api.FailedJobState(j.State),
			Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, CreatedAt: j.CreatedAt, AttemptedAt: j.AttemptedAt, FinalizedAt: j.FinalizedAt}
		if j.State == rivertype.JobStateRetryable {
			fj.ScheduledAt = ptr(j.ScheduledAt)
		}
		if n := len(j.Errors); n > 0 {
			fj.LastError = ptr(j.Errors[n-1].Error)
		}
		out.Items[i] = fj
	}
	return out, nil
}
