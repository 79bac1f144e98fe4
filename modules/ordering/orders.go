package ordering

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// OrderData is an order as its events carry it: the requirements (title,
// description, acceptance criteria) and the snapshot.
func OrderData(o domain.Order) map[string]any {
	d := map[string]any{
		"order_id": o.ID, "status": string(o.Status), "conversation_id": o.ConversationID, "quote_id": o.QuoteID,
		"customer_id": string(o.CustomerID), "price": int64(o.Price), "revisions_left": o.RevisionsLeft,
		"requirements": map[string]any{"title": o.Title, "description": o.Description, "criteria": slices.Clone(o.Criteria)},
		"snapshot": map[string]any{"settings_version": o.SettingsVersion, "package_version": o.PackageVersion,
			"accept_mode": o.AcceptMode, "category": o.Category, "price": int64(o.Price), "delivery_days": o.DeliveryDays,
			"revisions": o.FreeRevisions},
	}
	if !o.Deadline.IsZero() {
		d["deadline"] = o.Deadline.UTC().Format(time.RFC3339)
	}
	return d
}

// OrderSide says how p takes part in an order (as in a conversation).
func OrderSide(p kernel.Principal, o domain.Order) (domain.AuthorKind, bool) {
	return sideOf(p, o.CustomerID, o.AgentID, o.OwnerID)
}

func (s *Service) order(ctx context.Context, p kernel.Principal, id string, lock bool) (domain.Order, domain.AuthorKind, error) {
	o, err := s.d.Store.Order(ctx, id, lock)
	if errors.Is(err, kernel.ErrNotFound) {
		return domain.Order{}, "", errOrderNotFound
	}
	if err != nil {
		return domain.Order{}, "", err
	}
	side, ok := OrderSide(p, o)
	if !ok {
		return domain.Order{}, "", errOrderNotFound
	}
	return o, side, nil
}

// GetOrder returns an order p takes part in.
func (s *Service) GetOrder(ctx context.Context, p kernel.Principal, id string) (domain.Order, error) {
	o, _, err := s.order(ctx, p, id, false)
	return o, err
}

// ListOrders pages through p's orders, newest first, optionally of one status.
func (s *Service) ListOrders(ctx context.Context, p kernel.Principal, status, as, cursor string, limit int) ([]domain.Order, string, error) {
	f, err := listFilter(p, as)
	if err != nil {
		return nil, "", err
	}
	if status != "" {
		if !slices.Contains(domain.Statuses, domain.Status(status)) {
			return nil, "", kernel.Invalid(kernel.FieldError{Field: "status", Detail: "is not an order status"})
		}
		f.Status = domain.Status(status)
	}
	if f.After, err = decodePosition(cursor); err != nil {
		return nil, "", err
	}
	n := kernel.Limit(limit, 20, 100)
	f.Limit = n + 1
	rows, err := s.d.Store.Orders(ctx, f)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > n {
		rows = rows[:n]
		next = kernel.EncodeCursor(Position{ID: rows[n-1].ID})
	}
	return rows, next, nil
}

// ownerOnly refuses anyone but the agent's owner.
func ownerOnly(side domain.AuthorKind) error {
	if side != domain.AuthorOwner {
		return kernel.Forbidden("owner-only", "only the agent's owner approves or declines its orders")
	}
	return nil
}

// change runs fn on an order p takes part in, locked, in one transaction,
// after may (the side's right to make this change) agrees.
func (s *Service) change(ctx context.Context, p kernel.Principal, id string, may func(domain.AuthorKind) error,
	fn func(ctx context.Context, o *domain.Order) error) (domain.Order, error) {
	var out domain.Order
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		o, side, err := s.order(ctx, p, id, true)
		if err != nil {
			return err
		}
		if err := may(side); err != nil {
			return err
		}
		if err := fn(ctx, &o); err != nil {
			return err
		}
		out = o
		return nil
	})
	return out, err
}

// ApproveOrder is the owner's approval of an order waiting for it: work
// starts now and the deadline runs from now.
func (s *Service) ApproveOrder(ctx context.Context, p kernel.Principal, id string) (domain.Order, error) {
	return s.change(ctx, p, id, ownerOnly, func(ctx context.Context, o *domain.Order) error {
		if err := s.d.Events.LockFeed(ctx, o.AgentID); err != nil {
			return err
		}
		now := s.d.Clock.Now()
		if err := o.Approve(now); err != nil {
			return err
		}
		if err := s.d.Store.SaveOrder(ctx, *o, domain.PendingApproval); err != nil {
			return err
		}
		if _, err := s.d.Events.Append(ctx, o.AgentID, domain.EventOrderApproved, OrderData(*o), now); err != nil {
			return err
		}
		return s.d.Notifier.Notify(ctx, notification.Notice{User: o.CustomerID, Kind: "ordering.order_started",
			Subject: fmt.Sprintf("Work on %q has started", o.Title),
			Body:    fmt.Sprintf("The owner of @%s approved your order. It is due by %s.", o.AgentHandle, o.Deadline.UTC().Format("2006-01-02 15:04 MST")),
			Link:    "/orders/" + o.ID})
	})
}

// DeclineOrder is the owner's refusal of an order waiting for it: it is
// cancelled and the customer refunded in full.
func (s *Service) DeclineOrder(ctx context.Context, p kernel.Principal, id, reason string) (domain.Order, error) {
	reason = strings.TrimSpace(reason)
	return s.change(ctx, p, id, ownerOnly, func(ctx context.Context, o *domain.Order) error {
		if err := o.Decline(s.d.Clock.Now()); err != nil {
			return err
		}
		why := "The owner declined it."
		if reason != "" {
			why = "The owner declined it: " + reason
		}
		return s.cancel(ctx, *o, why)
	})
}

// cancel records a pending order's cancellation (o already moved), refunds
// the customer in full and tells the agent and the customer.
func (s *Service) cancel(ctx context.Context, o domain.Order, why string) error {
	return s.cancelFrom(ctx, o, domain.PendingApproval, why)
}

// cancelFrom records the cancellation of an order that was in status from.
func (s *Service) cancelFrom(ctx context.Context, o domain.Order, from domain.Status, why string) error {
	if err := s.d.Events.LockFeed(ctx, o.AgentID); err != nil {
		return err
	}
	if err := s.d.Store.SaveOrder(ctx, o, from); err != nil {
		return err
	}
	if _, err := s.d.Events.Append(ctx, o.AgentID, domain.EventOrderCancelled,
		map[string]any{"order_id": o.ID, "reason": o.CancelReason, "conversation_id": o.ConversationID}, o.UpdatedAt); err != nil {
		return err
	}
	if _, err := s.d.Ledger.Refund(ctx, o.ID, o.CustomerID, o.OwnerID, o.Price); err != nil {
		return fmt.Errorf("refund order %s: %w", o.ID, err)
	}
	c, err := s.d.Store.Conversation(ctx, o.ConversationID, false)
	if err != nil {
		return err
	}
	if err := s.system(ctx, c, fmt.Sprintf("Order %s was cancelled and %d points refunded. %s", o.ID, o.Price, why)); err != nil {
		return err
	}
	return s.d.Notifier.Notify(ctx, notification.Notice{User: o.CustomerID, Kind: "ordering.order_cancelled",
		Subject: fmt.Sprintf("Your order %q was cancelled and refunded", o.Title),
		Body:    fmt.Sprintf("Your order with @%s was cancelled. %s All %d points are back in your wallet.", o.AgentHandle, why, o.Price),
		Link:    "/orders/" + o.ID})
}

// expireApproval cancels, with a full refund, an order nobody approved
// within the approval window (a RunTimers step; o is locked).
func (s *Service) expireApproval(ctx context.Context, o *domain.Order) (bool, error) {
	err := o.Expire(s.d.Clock.Now())
	if e, ok := kernel.As(err); ok && e.Kind == kernel.ErrConflict {
		return false, nil // approved or declined meanwhile
	}
	if err != nil {
		return false, err
	}
	return true, s.cancel(ctx, *o, "Its owner did not approve it within 48 hours.")
}

// SettingsChanged tells the agent that its owner saved a new settings
// version (called inside the marketplace's transaction).
func (s *Service) SettingsChanged(ctx context.Context, agentID string, version int) error {
	return s.emit(ctx, agentID, domain.EventSettingsChanged, map[string]any{"settings_version": version})
}
