package moderation

import (
	"context"
	"errors"
	"fmt"

	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/moderation/domain"
	"github.com/heepr/heepr/modules/notification"
)

// ReinstatementRequest is an owner's request (for adapters).
type ReinstatementRequest = domain.ReinstatementRequest

var errAgentNotFound = kernel.NotFound("agent")

// Suspension is support's decision to suspend an agent.
type Suspension struct {
	Reason        string
	CaseID        string // the case that led to it, if any
	RefundWorking bool   // also refund orders being worked on
}

// SuspendAgent takes an agent off the market (marketplace.Suspend), refunds
// its orders waiting for approval (and, with RefundWorking, those being
// worked on), tells the agent and its owner, and audits it: one transaction.
func (s *Service) SuspendAgent(ctx context.Context, p kernel.Principal, agentID string, in Suspension) (marketplace.AgentRecord, error) {
	reason, err := domain.Text("reason", in.Reason, domain.MaxNote)
	if err != nil {
		return marketplace.AgentRecord{}, err
	}
	var out marketplace.AgentRecord
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		why := reason
		if in.CaseID != "" {
			if _, err := s.d.Cases.Case(ctx, in.CaseID, false); errors.Is(err, kernel.ErrNotFound) {
				return kernel.Invalid(kernel.FieldError{Field: "case_id", Detail: "is not a case"})
			} else if err != nil {
				return err
			}
			why = fmt.Sprintf("%s (case %s)", reason, in.CaseID)
		}
		a, err := s.d.Agents.Suspend(ctx, agentID)
		if err != nil {
			return err
		}
		n, err := s.d.Orders.RefundAgentOrders(ctx, a.ID, in.RefundWorking, reason)
		if err != nil {
			return err
		}
		if err := s.d.Orders.AgentSuspended(ctx, a.ID, reason); err != nil {
			return err
		}
		body := fmt.Sprintf("heepr support suspended @%s: %s\n\nIt is hidden from browse and takes no new conversations, quotes or orders. "+
			"%d orders were refunded to their customers. ", a.Handle, reason, n)
		if in.RefundWorking {
			body += "Orders in dispute stay with support."
		} else {
			body += "Orders already in progress continue: finish them."
		}
		body += " You can ask support to reinstate it from the agent's page."
		if err := s.d.Notifier.Notify(ctx, notification.Notice{User: a.OwnerID, Kind: "moderation.agent_suspended",
			Subject: fmt.Sprintf("@%s was suspended", a.Handle), Body: body, Link: "/owner/agents/" + a.ID}); err != nil {
			return err
		}
		if _, err := s.Record(ctx, p.Actor(), "moderation.agent_suspended", "agent:"+a.ID, why); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

// ReinstateAgent lifts a suspension: the agent gets back the status it had,
// an open reinstatement request is granted, the agent and owner are told.
func (s *Service) ReinstateAgent(ctx context.Context, p kernel.Principal, agentID, reason string) (marketplace.AgentRecord, error) {
	reason, err := domain.Text("reason", reason, domain.MaxNote)
	if err != nil {
		return marketplace.AgentRecord{}, err
	}
	var out marketplace.AgentRecord
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		a, err := s.d.Agents.Reinstate(ctx, agentID)
		if err != nil {
			return err
		}
		if err := s.decideOpen(ctx, p, a.ID, domain.RequestGranted, reason); err != nil {
			return err
		}
		if err := s.d.Orders.AgentReinstated(ctx, a.ID, reason); err != nil {
			return err
		}
		if err := s.d.Notifier.Notify(ctx, notification.Notice{User: a.OwnerID, Kind: "moderation.agent_reinstated",
			Subject: fmt.Sprintf("@%s was reinstated", a.Handle),
			Body:    fmt.Sprintf("heepr support lifted the suspension of @%s: %s\n\nIt is %s again.", a.Handle, reason, a.Status),
			Link:    "/owner/agents/" + a.ID}); err != nil {
			return err
		}
		if _, err := s.Record(ctx, p.Actor(), "moderation.agent_reinstated", "agent:"+a.ID, reason); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

// decideOpen records a decision on the agent's open request, if any.
func (s *Service) decideOpen(ctx context.Context, p kernel.Principal, agentID, status, note string) error {
	r, err := s.d.Cases.OpenRequest(ctx, agentID)
	if errors.Is(err, kernel.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r.Status, r.DecidedAt, r.DecidedBy, r.DecisionNote = status, s.clock.Now(), p.Actor(), note
	return s.d.Cases.DecideRequest(ctx, r)
}

// RequestReinstatement is the owner's request to lift their agent's
// suspension; support is emailed. One open request per agent.
func (s *Service) RequestReinstatement(ctx context.Context, p kernel.Principal, agentID, message string) (ReinstatementRequest, error) {
	message, err := domain.Text("message", message, domain.MaxReinstatementMessage)
	if err != nil {
		return ReinstatementRequest{}, err
	}
	var out ReinstatementRequest
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		a, err := s.d.Agents.Agent(ctx, agentID)
		if errors.Is(err, kernel.ErrNotFound) || (err == nil && a.OwnerID != p.UserID) {
			return errAgentNotFound
		}
		if err != nil {
			return err
		}
		if a.Status != marketplace.StatusSuspended {
			return kernel.Conflict("agent-not-suspended", "the agent is not suspended")
		}
		r := ReinstatementRequest{ID: kernel.NewID(), AgentID: a.ID, AgentHandle: a.Handle, OwnerID: p.UserID, Message: message,
			Status: domain.RequestOpen, CreatedAt: s.clock.Now()}
		if err := s.d.Cases.InsertRequest(ctx, r); err != nil {
			return err
		}
		out = r
		return s.d.Notifier.NotifySupport(ctx, "moderation.reinstatement_requested", fmt.Sprintf("Reinstatement requested for @%s", a.Handle),
			fmt.Sprintf("The owner of @%s (agent %s) asks for its suspension to be lifted:\n\n%s\n\nRequest %s.", a.Handle, a.ID, message, r.ID))
	})
	return out, err
}

// DeclineReinstatement refuses an open request; the agent stays suspended
// and the owner is told why.
func (s *Service) DeclineReinstatement(ctx context.Context, p kernel.Principal, id, note string) (ReinstatementRequest, error) {
	note, err := domain.Text("reason", note, domain.MaxNote)
	if err != nil {
		return ReinstatementRequest{}, err
	}
	var out ReinstatementRequest
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		r, err := s.d.Cases.Request(ctx, id)
		if errors.Is(err, kernel.ErrNotFound) {
			return kernel.NotFound("reinstatement request")
		}
		if err != nil {
			return err
		}
		if r.Status != domain.RequestOpen {
			return kernel.Conflict("request-decided", "the request was already decided")
		}
		r.Status, r.DecidedAt, r.DecidedBy, r.DecisionNote = domain.RequestDeclined, s.clock.Now(), p.Actor(), note
		if err := s.d.Cases.DecideRequest(ctx, r); err != nil {
			return err
		}
		if err := s.d.Notifier.Notify(ctx, notification.Notice{User: r.OwnerID, Kind: "moderation.reinstatement_declined",
			Subject: fmt.Sprintf("@%s stays suspended", r.AgentHandle),
			Body:    fmt.Sprintf("heepr support declined your request to reinstate @%s: %s", r.AgentHandle, note),
			Link:    "/owner/agents/" + r.AgentID}); err != nil {
			return err
		}
		if _, err := s.Record(ctx, p.Actor(), "moderation.reinstatement_declined", "agent:"+r.AgentID, note); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}

// ListRequests pages through reinstatement requests, oldest first.
func (s *Service) ListRequests(ctx context.Context, status, cursor string, limit int) ([]ReinstatementRequest, string, error) {
	switch status {
	case "", domain.RequestOpen, domain.RequestGranted, domain.RequestDeclined:
	default:
		return nil, "", kernel.Invalid(kernel.FieldError{Field: "status", Detail: "must be open, granted or declined"})
	}
	after, err := kernel.IDCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	n := kernel.Limit(limit, 50, 200)
	rows, err := s.d.Cases.Requests(ctx, status, after, n+1)
	if err != nil {
		return nil, "", err
	}
	rows, next := kernel.PageByID(rows, n, func(r ReinstatementRequest) string { return r.ID })
	return rows, next, nil
}

// SetUserSuspended suspends (on) or reinstates a user account; the user is
// told and the change audited. Support cannot suspend itself.
func (s *Service) SetUserSuspended(ctx context.Context, p kernel.Principal, user kernel.UserID, on bool, reason string) (identity.Standing, error) {
	reason, err := domain.Text("reason", reason, domain.MaxNote)
	if err != nil {
		return identity.Standing{}, err
	}
	if on && user == p.UserID {
		return identity.Standing{}, kernel.Conflict("cannot-suspend-self", "support cannot suspend its own account")
	}
	var out identity.Standing
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		st, err := s.d.Users.SetSuspended(ctx, user, on, reason)
		if err != nil {
			return err
		}
		action, subject, body := "moderation.user_suspended", "Your heepr account was suspended",
			"heepr support suspended your account: "+reason+"\n\nYou can still sign in and see your data, but not change anything. Write to support if you think this is a mistake."
		if !on {
			action, subject, body = "moderation.user_reinstated", "Your heepr account is active again",
				"heepr support lifted the suspension of your account: "+reason
		}
		if err := s.d.Notifier.Notify(ctx, notification.Notice{User: user, Kind: action, Subject: subject, Body: body, Link: "/account"}); err != nil {
			return err
		}
		if _, err := s.Record(ctx, p.Actor(), action, "user:"+string(user), reason); err != nil {
			return err
		}
		out = st
		return nil
	})
	return out, err
}

// CreditPoints is support's goodwill credit to a user outside any order
// (ledger.Credit), audited in the same transaction.
func (s *Service) CreditPoints(ctx context.Context, p kernel.Principal, user kernel.UserID, amount kernel.Points, memo, effectKey string) (ledger.PostingView, error) {
	var out ledger.PostingView
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if out, err = s.d.Ledger.Credit(ctx, user, amount, memo, effectKey); err != nil {
			return err
		}
		_, err = s.Record(ctx, p.Actor(), "ledger.points_credited", "user:"+string(user), fmt.Sprintf("%d points: %s", amount, memo))
		return err
	})
	return out, err
}
