package httpapi

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/heepr/heepr/adapters/telemetry"
	"github.com/heepr/heepr/api"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ordering"
	"github.com/heepr/heepr/modules/ordering/domain"
)

func toAPIConversation(c ordering.Conversation) api.Conversation {
	return api.Conversation{Id: c.ID, AgentId: c.AgentID, AgentHandle: c.AgentHandle, CustomerId: string(c.CustomerID),
		CustomerName: c.CustomerName, HumanRequested: c.HumanRequestedAt != nil, HumanRequestedAt: c.HumanRequestedAt,
		CreatedAt: c.CreatedAt, LastMessageAt: c.LastMessageAt}
}

func toAPIMessage(m ordering.Message) api.Message {
	out := api.Message{Id: m.ID, ConversationId: m.ConversationID, AuthorKind: api.AuthorKind(m.AuthorKind), Body: m.Body, CreatedAt: m.CreatedAt}
	if m.QuoteID != "" {
		out.QuoteId = ptr(m.QuoteID)
	}
	return out
}

func toAPIQuote(q ordering.Quote) api.Quote {
	out := api.Quote{Id: q.ID, ConversationId: q.ConversationID, AgentId: q.AgentID, AuthorKind: api.QuoteAuthorKind(q.AuthorKind),
		Title: q.Title, Description: q.Description, Price: int64(q.Price), DeliveryDays: q.DeliveryDays, Revisions: q.Revisions,
		Category: api.Category(q.Category), Criteria: nonNil(slices.Clone(q.Criteria)), ExpiresAt: q.ExpiresAt,
		Status: api.QuoteStatus(q.Status), CreatedAt: q.CreatedAt}
	if !q.DecidedAt.IsZero() {
		out.DecidedAt = ptr(q.DecidedAt)
	}
	if q.OrderID != "" {
		out.OrderId = ptr(q.OrderID)
	}
	return out
}

// toAPIOrder shows an order to p; why it waits for approval is for the
// owner and the agent only.
func (s *Server) toAPIOrder(p kernel.Principal, o domain.Order) api.Order {
	out := api.Order{Id: o.ID, Status: api.OrderStatus(o.Status), Price: int64(o.Price), RevisionsLeft: o.RevisionsLeft,
		Snapshot: api.OrderSnapshot{SettingsVersion: o.SettingsVersion, PackageVersion: o.PackageVersion,
			AcceptMode: api.OrderSnapshotAcceptMode(o.AcceptMode), Title: o.Title, Description: o.Description,
			Category: api.Category(o.Category), Price: int64(o.Price), DeliveryDays: o.DeliveryDays, Revisions: o.FreeRevisions,
			Criteria: nonNil(slices.Clone(o.Criteria))},
		Deliveries: []api.Delivery{}, AgentId: o.AgentID, AgentHandle: o.AgentHandle, CustomerId: string(o.CustomerID),
		ConversationId: o.ConversationID, QuoteId: o.QuoteID, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	if !o.Deadline.IsZero() {
		out.Deadline = ptr(o.Deadline)
	}
	if !o.StartedAt.IsZero() {
		out.StartedAt = ptr(o.StartedAt)
	}
	if o.Status == domain.PendingApproval {
		out.ApprovalDeadline = ptr(domain.ApprovalDeadline(o.CreatedAt))
	}
	if side, _ := ordering.OrderSide(p, o); side == domain.AuthorOwner || side == domain.AuthorAgent {
		out.AwaitingApprovalBecause = ptr(nonNil(slices.Clone(o.GateReasons)))
	}
	if o.CancelReason != "" {
		out.CancelReason = ptr(api.OrderCancelReason(o.CancelReason))
	}
	out.Late = o.Late
	if !o.DisputedAt.IsZero() {
		out.DisputedAt = ptr(o.DisputedAt)
	}
	if o.RefundedPoints > 0 {
		out.RefundedPoints = ptr(int64(o.RefundedPoints))
	}
	out.RevisionRequests = make([]api.RevisionRecord, len(o.Revisions))
	for i, r := range o.Revisions {
		out.RevisionRequests[i] = api.RevisionRecord{Number: r.Number, Notes: r.Notes, UnmetCriteria: nonNil(slices.Clone(r.UnmetCriteria)), RequestedAt: r.RequestedAt}
	}
	if !o.DeliveredAt.IsZero() {
		out.DeliveredAt = ptr(o.DeliveredAt)
	}
	if o.Status == domain.Delivered {
		out.ReviewWindowEndsAt = ptr(s.ordering.ReviewWindowEnds(o))
	}
	if !o.CompletedAt.IsZero() {
		out.CompletedAt = ptr(o.CompletedAt)
	}
	if o.ReviewID != "" {
		out.ReviewId = ptr(o.ReviewID)
	}
	return out
}

func pageSize(l *int) int {
	if l == nil {
		return 0 // the module's default
	}
	return *l
}

func nextCursor(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

// CreateConversation implements createConversation.
func (s *Server) CreateConversation(ctx context.Context, req api.CreateConversationRequestObject) (api.CreateConversationResponseObject, error) {
	c, err := s.ordering.CreateConversation(ctx, principalFrom(ctx), req.Body.AgentId, req.Body.Message)
	if err != nil {
		return nil, err
	}
	return api.CreateConversation201JSONResponse(toAPIConversation(c)), nil
}

// ListConversations implements listConversations.
func (s *Server) ListConversations(ctx context.Context, req api.ListConversationsRequestObject) (api.ListConversationsResponseObject, error) {
	as := ""
	if req.Params.As != nil {
		as = string(*req.Params.As)
	}
	rows, next, err := s.ordering.ListConversations(ctx, principalFrom(ctx), as, req.Params.HumanRequested, deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListConversations200JSONResponse{Items: make([]api.Conversation, len(rows)), NextCursor: nextCursor(next)}
	for i, c := range rows {
		out.Items[i] = toAPIConversation(c)
	}
	return out, nil
}

// GetConversation implements getConversation.
func (s *Server) GetConversation(ctx context.Context, req api.GetConversationRequestObject) (api.GetConversationResponseObject, error) {
	c, err := s.ordering.GetConversation(ctx, principalFrom(ctx), req.ConversationId)
	if err != nil {
		return nil, err
	}
	return api.GetConversation200JSONResponse(toAPIConversation(c)), nil
}

// ListMessages implements listMessages.
func (s *Server) ListMessages(ctx context.Context, req api.ListMessagesRequestObject) (api.ListMessagesResponseObject, error) {
	rows, next, err := s.ordering.Messages(ctx, principalFrom(ctx), req.ConversationId, deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListMessages200JSONResponse{Items: make([]api.Message, len(rows)), NextCursor: nextCursor(next)}
	for i, m := range rows {
		out.Items[i] = toAPIMessage(m)
	}
	return out, nil
}

// PostMessage implements postMessage.
func (s *Server) PostMessage(ctx context.Context, req api.PostMessageRequestObject) (api.PostMessageResponseObject, error) {
	m, err := s.ordering.PostMessage(ctx, principalFrom(ctx), req.ConversationId, req.Body.Body)
	if err != nil {
		return nil, err
	}
	return api.PostMessage201JSONResponse(toAPIMessage(m)), nil
}

// RequestHuman implements requestHuman.
func (s *Server) RequestHuman(ctx context.Context, req api.RequestHumanRequestObject) (api.RequestHumanResponseObject, error) {
	c, err := s.ordering.RequestHuman(ctx, principalFrom(ctx), req.ConversationId)
	if err != nil {
		return nil, err
	}
	return api.RequestHuman200JSONResponse(toAPIConversation(c)), nil
}

// SendQuote implements sendQuote.
func (s *Server) SendQuote(ctx context.Context, req api.SendQuoteRequestObject) (api.SendQuoteResponseObject, error) {
	b := req.Body
	q, err := s.ordering.SendQuote(ctx, principalFrom(ctx), req.ConversationId, domain.Quote{
		Title: b.Title, Description: b.Description, Price: kernel.Points(b.Price), DeliveryDays: b.DeliveryDays,
		Revisions: b.Revisions, Category: string(b.Category), Criteria: b.Criteria, ExpiresAt: b.ExpiresAt.UTC()})
	if err != nil {
		return nil, err
	}
	return api.SendQuote201JSONResponse(toAPIQuote(q)), nil
}

// ListQuotes implements listQuotes.
func (s *Server) ListQuotes(ctx context.Context, req api.ListQuotesRequestObject) (api.ListQuotesResponseObject, error) {
	qs, next, err := s.ordering.ListQuotes(ctx, principalFrom(ctx), req.ConversationId, deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListQuotes200JSONResponse{Items: make([]api.Quote, len(qs)), NextCursor: nextCursor(next)}
	for i, q := range qs {
		out.Items[i] = toAPIQuote(q)
	}
	return out, nil
}

// GetQuote implements getQuote.
func (s *Server) GetQuote(ctx context.Context, req api.GetQuoteRequestObject) (api.GetQuoteResponseObject, error) {
	q, err := s.ordering.GetQuote(ctx, principalFrom(ctx), req.QuoteId)
	if err != nil {
		return nil, err
	}
	return api.GetQuote200JSONResponse(toAPIQuote(q)), nil
}

// AcceptQuote implements acceptQuote.
func (s *Server) AcceptQuote(ctx context.Context, req api.AcceptQuoteRequestObject) (api.AcceptQuoteResponseObject, error) {
	p := principalFrom(ctx)
	o, err := s.ordering.AcceptQuote(ctx, p, req.QuoteId)
	if err != nil {
		return nil, err
	}
	return api.AcceptQuote201JSONResponse(s.toAPIOrder(p, o)), nil
}

// DeclineQuote implements declineQuote.
func (s *Server) DeclineQuote(ctx context.Context, req api.DeclineQuoteRequestObject) (api.DeclineQuoteResponseObject, error) {
	q, err := s.ordering.DeclineQuote(ctx, principalFrom(ctx), req.QuoteId)
	if err != nil {
		return nil, err
	}
	return api.DeclineQuote200JSONResponse(toAPIQuote(q)), nil
}

// ListOrders implements listOrders.
func (s *Server) ListOrders(ctx context.Context, req api.ListOrdersRequestObject) (api.ListOrdersResponseObject, error) {
	p := principalFrom(ctx)
	var status, as string
	if req.Params.Status != nil {
		status = string(*req.Params.Status)
	}
	if req.Params.As != nil {
		as = string(*req.Params.As)
	}
	rows, next, err := s.ordering.ListOrders(ctx, p, status, as, deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListOrders200JSONResponse{Items: make([]api.Order, len(rows)), NextCursor: nextCursor(next)}
	for i, o := range rows {
		out.Items[i] = s.toAPIOrder(p, o)
	}
	return out, nil
}

// GetOrder implements getOrder.
func (s *Server) GetOrder(ctx context.Context, req api.GetOrderRequestObject) (api.GetOrderResponseObject, error) {
	p := principalFrom(ctx)
	v, err := s.ordering.GetOrderView(ctx, p, req.OrderId)
	if err != nil {
		return nil, err
	}
	return api.GetOrder200JSONResponse(s.toAPIOrderView(p, v)), nil
}

// ApproveOrder implements approveOrder.
func (s *Server) ApproveOrder(ctx context.Context, req api.ApproveOrderRequestObject) (api.ApproveOrderResponseObject, error) {
	p := principalFrom(ctx)
	o, err := s.ordering.ApproveOrder(ctx, p, req.OrderId)
	if err != nil {
		return nil, err
	}
	return api.ApproveOrder200JSONResponse(s.toAPIOrder(p, o)), nil
}

// DeclineOrder implements declineOrder.
func (s *Server) DeclineOrder(ctx context.Context, req api.DeclineOrderRequestObject) (api.DeclineOrderResponseObject, error) {
	p := principalFrom(ctx)
	reason := ""
	if req.Body != nil {
		reason = deref(req.Body.Reason)
	}
	o, err := s.ordering.DeclineOrder(ctx, p, req.OrderId, reason)
	if err != nil {
		return nil, err
	}
	return api.DeclineOrder200JSONResponse(s.toAPIOrder(p, o)), nil
}

// PollAgentEvents implements pollAgentEvents.
func (s *Server) PollAgentEvents(ctx context.Context, req api.PollAgentEventsRequestObject) (api.PollAgentEventsResponseObject, error) {
	wait := 0
	if req.Params.Wait != nil {
		wait = *req.Params.Wait
	}
	page, err := s.ordering.Poll(ctx, principalFrom(ctx), deref(req.Params.Cursor), time.Duration(wait)*time.Second, pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	return eventPage(ctx, page), nil
}

// eventPage is the answer to a poll. Out of PollAgentEvents' frame, which
// stays on the stack while a long-poll waits (ADR 13).
//
//go:noinline
func eventPage(ctx context.Context, page ordering.Page) api.PollAgentEventsResponseObject {
	if len(page.Events) == 0 {
		telemetry.SetQuiet(ctx) // logged at Debug
	}
	out := api.PollAgentEvents200JSONResponse{Items: make([]api.AgentEvent, len(page.Events)),
		NextCursor: strconv.FormatInt(page.NextCursor, 10), PollAfterSeconds: page.PollAfter}
	for i, e := range page.Events {
		data := e.Data
		if data == nil {
			data = map[string]any{}
		}
		out.Items[i] = api.AgentEvent{Id: strconv.FormatInt(e.Seq, 10), Type: e.Type, CreatedAt: e.CreatedAt, Redelivered: e.Redelivered, Data: data}
	}
	return out
}

// AckAgentEvents implements ackAgentEvents.
func (s *Server) AckAgentEvents(ctx context.Context, req api.AckAgentEventsRequestObject) (api.AckAgentEventsResponseObject, error) {
	if err := s.ordering.Ack(ctx, principalFrom(ctx), req.Body.UpTo); err != nil {
		return nil, err
	}
	return api.AckAgentEvents204Response{}, nil
}

// ListNotifications implements listNotifications.
func (s *Server) ListNotifications(ctx context.Context, req api.ListNotificationsRequestObject) (api.ListNotificationsResponseObject, error) {
	rows, next, err := s.notify.List(ctx, principalFrom(ctx).UserID, deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListNotifications200JSONResponse{Items: make([]api.Notification, len(rows)), NextCursor: nextCursor(next)}
	for i, n := range rows {
		out.Items[i] = api.Notification{Id: n.ID, Kind: n.Kind, Subject: n.Subject, Body: n.Body, Read: n.Read, CreatedAt: n.CreatedAt}
		if n.Link != "" {
			out.Items[i].Link = ptr(n.Link)
		}
	}
	return out, nil
}
