package ordering

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// This file is ordering's side of trust and safety: the moderation module
// calls these inside its own transactions (a flag and its case, a
// resolution and its audit entry, a suspension and its refunds commit
// together). Who may call them is moderation's and the policy's business;
// Dispute alone checks a principal, the order's customer.

// Dispute puts an order in dispute at its customer's request (see
// domain.Order.Flag): payout frozen, clocks stopped, the owner notified, the
// agent told with an order.disputed event.
func (s *Service) Dispute(ctx context.Context, p kernel.Principal, id, reason, details string) (domain.Order, error) {
	return s.change(ctx, p, id, customerSide, func(ctx context.Context, o *domain.Order) error {
		if err := s.d.Events.LockFeed(ctx, o.AgentID); err != nil {
			return err
		}
		from, now := o.Status, s.d.Clock.Now()
		if err := o.Flag(now, reason); err != nil {
			return err
		}
		if err := s.d.Store.SaveOrder(ctx, *o, from); err != nil {
			return err
		}
		if _, err := s.d.Events.Append(ctx, o.AgentID, domain.EventOrderDisputed, map[string]any{
			"order_id": o.ID, "reason": reason, "details": details, "was": string(from), "conversation_id": o.ConversationID,
		}, now); err != nil {
			return err
		}
		if err := s.systemIn(ctx, o.ConversationID, fmt.Sprintf(
			"The customer flagged order %s (%s). heepr support will review it; until then the order is on hold.", o.ID, reason)); err != nil {
			return err
		}
		return s.d.Notifier.Notify(ctx, notification.Notice{User: o.OwnerID, Kind: "ordering.order_disputed",
			Subject: fmt.Sprintf("%q was flagged to support", o.Title),
			Body: fmt.Sprintf("The customer of @%s flagged the order (%s). Its payout is frozen and its clocks are stopped until support decides. "+
				"Support may contact you in the conversation.", o.AgentHandle, reason),
			Link: "/orders/" + o.ID})
	})
}

// systemIn writes a system message into a conversation by id.
func (s *Service) systemIn(ctx context.Context, conversationID, body string) error {
	c, err := s.d.Store.Conversation(ctx, conversationID, false)
	if err != nil {
		return err
	}
	return s.system(ctx, c, body)
}

// Resolution is support's decision on a disputed order.
type Resolution struct {
	Refund bool                // false: dismiss
	Amount kernel.Points       // refund: to the customer (0: the whole price)
	Source ledger.RefundSource // refund after payout: FromOwner (default; goodwill covers what the owner lacks) or FromGoodwill
	Note   string              // told to the customer and the owner
}

// Settled is what a resolution did.
type Settled struct {
	Order      domain.Order
	Refunded   kernel.Points // to the customer in all
	FromEscrow kernel.Points
	ClawedBack kernel.Points
	Goodwill   kernel.Points
	ToOwner    kernel.Points // the escrow's rest, to the owner (before the fee)
}

var errNotDisputed = kernel.Conflict("order-not-disputed", "the order is not disputed")

// SettleDispute carries out support's decision on a disputed order. A
// dismissal sends the order back where it was (a completed order's payout
// goes ahead). A refund ends it as refunded: from the escrow while it was
// not paid out (the rest to the owner), else clawed back from the owner up
// to their balance with platform goodwill for the rest.
func (s *Service) SettleDispute(ctx context.Context, id string, r Resolution) (Settled, error) {
	var out Settled
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		o, err := s.d.Store.Order(ctx, id, true)
		if errors.Is(err, kernel.ErrNotFound) {
			return errOrderNotFound
		}
		if err != nil {
			return err
		}
		if o.Status != domain.Disputed {
			return errNotDisputed
		}
		if err := s.d.Events.LockFeed(ctx, o.AgentID); err != nil {
			return err
		}
		now := s.d.Clock.Now()
		if !r.Refund {
			if err := o.Resume(now); err != nil {
				return err
			}
			if err := s.d.Store.SaveOrder(ctx, o, domain.Disputed); err != nil {
				return err
			}
			if o.Status == domain.Completed {
				if err := s.d.Jobs.Enqueue(ctx, PayoutArgs{OrderID: o.ID}); err != nil {
					return err
				}
			}
			out.Order = o
			data := OrderData(o)
			data["note"] = r.Note
			if _, err := s.d.Events.Append(ctx, o.AgentID, domain.EventOrderResumed, data, now); err != nil {
				return err
			}
			msg := fmt.Sprintf("heepr support closed the dispute on order %s without a refund: %s The order is %s again.", o.ID, r.Note, o.Status)
			if err := s.systemIn(ctx, o.ConversationID, msg); err != nil {
				return err
			}
			return s.tellBoth(ctx, o, "ordering.dispute_dismissed", fmt.Sprintf("The dispute on %q was closed", o.Title), msg)
		}
		amount := r.Amount
		if amount == 0 {
			amount = o.Price
		}
		if err := o.SupportRefund(now, amount); err != nil {
			return err
		}
		out, err = s.refund(ctx, o, domain.Disputed, r.Source)
		if err != nil {
			return err
		}
		msg := fmt.Sprintf("heepr support refunded %d of the %d points of order %s: %s", amount, o.Price, o.ID, r.Note)
		if err := s.systemIn(ctx, o.ConversationID, msg); err != nil {
			return err
		}
		return s.tellBoth(ctx, o, "ordering.dispute_refunded", fmt.Sprintf("The dispute on %q was settled with a refund", o.Title), msg)
	})
	return out, err
}

// refund records a support refund (o already moved to refunded, from the
// status it was in) and moves the points; the agent gets order.refunded.
func (s *Service) refund(ctx context.Context, o domain.Order, from domain.Status, src ledger.RefundSource) (Settled, error) {
	out := Settled{Order: o, Refunded: o.RefundedPoints}
	if err := s.d.Store.SaveOrder(ctx, o, from); err != nil {
		return out, err
	}
	paid, err := s.d.Ledger.PaidOut(ctx, o.ID)
	if err != nil {
		return out, err
	}
	if !paid {
		st, err := s.d.Ledger.Refund(ctx, o.ID, o.CustomerID, o.OwnerID, o.RefundedPoints)
		if err != nil {
			return out, fmt.Errorf("refund order %s: %w", o.ID, err)
		}
		out.FromEscrow, out.ToOwner = st.Refunded, st.Paid+st.Fee
	} else {
		rest := o.RefundedPoints
		if src != ledger.FromGoodwill {
			got, err := s.d.Ledger.RefundAfterPayout(ctx, o.ID, o.CustomerID, o.OwnerID, rest, ledger.FromOwner)
			if e, ok := kernel.As(err); ok && e.Kind == kernel.ErrInsufficientPoints {
				got, err = 0, nil // the owner has nothing left: the platform covers it all
			}
			if err != nil {
				return out, fmt.Errorf("claw back order %s: %w", o.ID, err)
			}
			out.ClawedBack, rest = got, rest-got
		}
		if rest > 0 {
			got, err := s.d.Ledger.RefundAfterPayout(ctx, o.ID, o.CustomerID, o.OwnerID, rest, ledger.FromGoodwill)
			if err != nil {
				return out, fmt.Errorf("goodwill refund of order %s: %w", o.ID, err)
			}
			out.Goodwill = got
		}
	}
	_, err = s.d.Events.Append(ctx, o.AgentID, domain.EventOrderRefunded, map[string]any{
		"order_id": o.ID, "refunded": int64(o.RefundedPoints), "price": int64(o.Price), "conversation_id": o.ConversationID,
	}, o.UpdatedAt)
	return out, err
}

// tellBoth notifies the order's customer and owner.
func (s *Service) tellBoth(ctx context.Context, o domain.Order, kind, subject, body string) error {
	for _, u := range []kernel.UserID{o.CustomerID, o.OwnerID} {
		if err := s.d.Notifier.Notify(ctx, notification.Notice{User: u, Kind: kind, Subject: subject, Body: body, Link: "/orders/" + o.ID}); err != nil {
			return err
		}
	}
	return nil
}

// RefundAgentOrders refunds in full, on an agent's suspension, its orders
// waiting for approval and, with working, those being worked on (in
// progress, in review, delivered). Disputed orders stay with their cases.
// It returns how many it refunded.
func (s *Service) RefundAgentOrders(ctx context.Context, agentID string, working bool, why string) (int, error) {
	statuses := []domain.Status{domain.PendingApproval}
	if working {
		statuses = append(statuses, domain.InProgress, domain.InReview, domain.Delivered)
	}
	n := 0
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Events.LockFeed(ctx, agentID); err != nil {
			return err
		}
		ids, err := s.d.Store.AgentOrders(ctx, agentID, statuses)
		if err != nil {
			return err
		}
		now := s.d.Clock.Now()
		for _, id := range ids {
			o, err := s.d.Store.Order(ctx, id, true)
			if err != nil {
				return err
			}
			from := o.Status
			if err := o.SupportRefund(now, o.Price); err != nil {
				return err
			}
			if _, err := s.refund(ctx, o, from, ledger.FromOwner); err != nil {
				return err
			}
			msg := fmt.Sprintf("Order %s was refunded in full (%d points): @%s was suspended by heepr support. %s", o.ID, o.Price, o.AgentHandle, why)
			if err := s.systemIn(ctx, o.ConversationID, msg); err != nil {
				return err
			}
			if err := s.d.Notifier.Notify(ctx, notification.Notice{User: o.CustomerID, Kind: "ordering.order_refunded",
				Subject: fmt.Sprintf("Your order %q was refunded", o.Title), Body: msg, Link: "/orders/" + o.ID}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// AgentSuspended and AgentReinstated tell the agent (inside moderation's transaction).
func (s *Service) AgentSuspended(ctx context.Context, agentID, reason string) error {
	return s.emit(ctx, agentID, domain.EventAgentSuspended, map[string]any{"reason": reason})
}

// AgentReinstated tells the agent its suspension was lifted.
func (s *Service) AgentReinstated(ctx context.Context, agentID, reason string) error {
	return s.emit(ctx, agentID, domain.EventAgentReinstated, map[string]any{"reason": reason})
}

// MissedDeadlines counts the agent's orders that went late with a deadline
// at or after since (agentID "" lists every agent with at least min).
func (s *Service) MissedDeadlines(ctx context.Context, agentID string, since time.Time, min int) ([]AgentCount, error) {
	return s.d.Store.MissedDeadlines(ctx, agentID, since, min)
}

// ReviewActivity lists who reviewed since the time, per owner reviewed.
func (s *Service) ReviewActivity(ctx context.Context, since time.Time) ([]ReviewerActivity, error) {
	return s.d.Store.ReviewActivity(ctx, since)
}

// CaseFile is what support sees of an order: all its deliveries and its conversation.
type CaseFile struct {
	Order    OrderView
	Messages []Message
}

// MaxCaseMessages is how many messages of the conversation a case file carries.
const MaxCaseMessages = 500

// CaseFile reads an order for support (the caller checked the role).
func (s *Service) CaseFile(ctx context.Context, id string) (CaseFile, error) {
	o, err := s.d.Store.Order(ctx, id, false)
	if errors.Is(err, kernel.ErrNotFound) {
		return CaseFile{}, errOrderNotFound
	}
	if err != nil {
		return CaseFile{}, err
	}
	ds, err := s.d.Store.Deliveries(ctx, o.ID)
	if err != nil {
		return CaseFile{}, err
	}
	ms, err := s.d.Store.Messages(ctx, o.ConversationID, "", MaxCaseMessages)
	if err != nil {
		return CaseFile{}, err
	}
	return CaseFile{Order: OrderView{Order: o, Deliveries: ds}, Messages: ms}, nil
}
