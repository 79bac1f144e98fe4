package ordering

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// SendQuote adds a quote to a conversation, by the agent or its owner. It
// also appears in the thread as a message; an owner's quote reaches the
// agent as an event.
func (s *Service) SendQuote(ctx context.Context, p kernel.Principal, conversationID string, q domain.Quote) (Quote, error) {
	c, side, err := s.conversation(ctx, p, conversationID)
	if err != nil {
		return Quote{}, err
	}
	if side != domain.AuthorAgent && side != domain.AuthorOwner {
		return Quote{}, kernel.Forbidden("agent-only", "only the agent or its owner sends quotes")
	}
	now := s.d.Clock.Now()
	q.Normalize()
	if err := q.Validate(now); err != nil {
		return Quote{}, err
	}
	a, err := s.d.Agents.Agent(ctx, c.AgentID)
	if err != nil {
		return Quote{}, err
	}
	if err := agentAvailable(a); err != nil {
		return Quote{}, err
	}
	q.ID, q.ConversationID, q.Status, q.CreatedAt = kernel.NewID(), c.ID, domain.QuoteSent, now
	out := Quote{Quote: q, AgentID: c.AgentID, AuthorKind: side}
	author := string(p.UserID)
	if side == domain.AuthorAgent {
		author = p.AgentID
	}
	m := Message{ID: kernel.NewID(), ConversationID: c.ID, AuthorKind: side, AuthorID: author, QuoteID: q.ID, CreatedAt: now,
		Body: fmt.Sprintf("**Quote: %s**: %d points, delivery in %d days, %d free revisions. Valid until %s.",
			q.Title, q.Price, q.DeliveryDays, q.Revisions, q.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"))}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Store.InsertQuote(ctx, out); err != nil {
			return err
		}
		if err := s.d.Store.InsertMessage(ctx, m); err != nil {
			return err
		}
		if err := s.d.Store.TouchConversation(ctx, c.ID, now, nil, side == domain.AuthorOwner); err != nil {
			return err
		}
		if side == domain.AuthorAgent {
			return nil
		}
		return s.emit(ctx, c.AgentID, domain.EventMessageCreated, messageData(c, m))
	})
	return out, err
}

// quote loads a quote of a conversation p takes part in.
func (s *Service) quote(ctx context.Context, p kernel.Principal, id string, lock bool) (Quote, Conversation, domain.AuthorKind, error) {
	q, err := s.d.Store.Quote(ctx, id, lock)
	if errors.Is(err, kernel.ErrNotFound) {
		return Quote{}, Conversation{}, "", errQuoteNotFound
	}
	if err != nil {
		return Quote{}, Conversation{}, "", err
	}
	c, side, err := s.conversation(ctx, p, q.ConversationID)
	if errors.Is(err, kernel.ErrNotFound) {
		return Quote{}, Conversation{}, "", errQuoteNotFound
	}
	return q, c, side, err
}

// withStatus shows a quote's status as of now (expired once past expiry).
func (s *Service) withStatus(q Quote) Quote {
	q.Status = q.StatusAt(s.d.Clock.Now())
	return q
}

// GetQuote returns a quote of a conversation p takes part in.
func (s *Service) GetQuote(ctx context.Context, p kernel.Principal, id string) (Quote, error) {
	q, _, _, err := s.quote(ctx, p, id, false)
	return s.withStatus(q), err
}

// ListQuotes pages through a conversation's quotes, newest first.
func (s *Service) ListQuotes(ctx context.Context, p kernel.Principal, conversationID, cursor string, limit int) ([]Quote, string, error) {
	c, _, err := s.conversation(ctx, p, conversationID)
	if err != nil {
		return nil, "", err
	}
	before, err := kernel.IDCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	limit = kernel.Limit(limit, 20, 100)
	qs, err := s.d.Store.Quotes(ctx, c.ID, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	qs, next := kernel.PageByID(qs, limit, func(q Quote) string { return q.ID })
	for i := range qs {
		qs[i] = s.withStatus(qs[i])
	}
	return qs, next, nil
}

// customerOnly refuses anyone but the conversation's customer.
func customerOnly(side domain.AuthorKind) error {
	if side != domain.AuthorCustomer {
		return kernel.Forbidden("customer-only", "only the customer of this conversation decides its quotes")
	}
	return nil
}

// AcceptQuote places the order for a quote, in one transaction: the quote
// is accepted, the order created with the agent's live settings and skill
// package versions as its snapshot, the price held in its escrow, and the
// agent told. The acceptance gate decides whether it starts at once.
// Every refusal changes nothing.
func (s *Service) AcceptQuote(ctx context.Context, p kernel.Principal, id string) (domain.Order, error) {
	var out domain.Order
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		q, c, side, err := s.quote(ctx, p, id, true)
		if err != nil {
			return err
		}
		if err := customerOnly(side); err != nil {
			return err
		}
		a, err := s.d.Agents.Agent(ctx, q.AgentID)
		if err != nil {
			return err
		}
		if err := domain.CheckNotSelfDealing(p.UserID, a.OwnerID); err != nil {
			return err
		}
		now := s.d.Clock.Now()
		if err := q.Accept(now); err != nil {
			return err
		}
		if err := agentAvailable(a); err != nil {
			return err
		}
		// The feed lock makes the gate's count of active orders exact:
		// concurrent accepts for one agent pass it one at a time.
		if err := s.d.Events.LockFeed(ctx, a.ID); err != nil {
			return err
		}
		active, err := s.d.Store.ActiveOrders(ctx, a.ID)
		if err != nil {
			return err
		}
		o, err := domain.NewOrder(q.Quote, p.UserID, a.ID, termsOf(a), active, now)
		if err != nil {
			return err
		}
		o.OwnerID, o.AgentHandle = a.OwnerID, a.Handle
		if err := s.d.Store.DecideQuote(ctx, Quote{Quote: q.Quote, AgentID: q.AgentID, AuthorKind: q.AuthorKind}); err != nil {
			return err
		}
		if err := s.d.Store.InsertOrder(ctx, o); err != nil {
			return err
		}
		if err := s.d.Ledger.Hold(ctx, o.ID, p.UserID, o.Price); err != nil {
			return err
		}
		started := "It waits for the agent's owner to approve it."
		if o.Status == domain.InProgress {
			started = "Work has started."
		}
		if err := s.system(ctx, c, fmt.Sprintf("Quote %q accepted: order %s placed for %d points. %s", q.Title, o.ID, o.Price, started)); err != nil {
			return err
		}
		if _, err := s.d.Events.Append(ctx, a.ID, domain.EventQuoteAccepted,
			map[string]any{"quote_id": q.ID, "conversation_id": c.ID, "order_id": o.ID}, now); err != nil {
			return err
		}
		if _, err := s.d.Events.Append(ctx, a.ID, domain.EventOrderCreated, OrderData(o), now); err != nil {
			return err
		}
		if o.Status == domain.PendingApproval {
			if err := s.d.Notifier.Notify(ctx, notification.Notice{User: o.OwnerID, Kind: "ordering.order_awaiting_approval",
				Subject: fmt.Sprintf("An order for @%s awaits your approval", a.Handle),
				Body: fmt.Sprintf("%s ordered %q for %d points. Approve or decline it before %s, or it is cancelled and refunded.\nWhy it waits: %s.",
					c.CustomerName, o.Title, o.Price, domain.ApprovalDeadline(o.CreatedAt).UTC().Format("2006-01-02 15:04 MST"),
					strings.Join(o.GateReasons, "; ")),
				Link: "/orders/" + o.ID}); err != nil {
				return err
			}
		}
		out = o
		return nil
	})
	return out, err
}

// termsOf reads the parts of an agent's live settings an order keeps.
func termsOf(a marketplace.AgentRecord) domain.AgentTerms {
	t := domain.AgentTerms{AcceptMode: string(a.Settings.AcceptMode), Categories: a.Settings.Categories,
		SettingsVersion: a.SettingsVersion, PackageVersion: a.PackageVersion}
	if b := a.Settings.AutoBands; b != nil {
		t.Bands = &domain.Bands{MinPrice: b.MinPrice, MaxPrice: b.MaxPrice, Categories: b.Categories,
			MaxRevisions: b.MaxRevisions, MaxActiveOrders: b.MaxActiveOrders}
	}
	return t
}

// system writes a system message in the conversation.
func (s *Service) system(ctx context.Context, c Conversation, body string) error {
	now := s.d.Clock.Now()
	m := Message{ID: kernel.NewID(), ConversationID: c.ID, AuthorKind: domain.AuthorSystem, Body: body, CreatedAt: now}
	if err := s.d.Store.InsertMessage(ctx, m); err != nil {
		return err
	}
	return s.d.Store.TouchConversation(ctx, c.ID, now, nil, false)
}

// DeclineQuote declines a quote; the agent is told.
func (s *Service) DeclineQuote(ctx context.Context, p kernel.Principal, id string) (Quote, error) {
	var out Quote
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		q, c, side, err := s.quote(ctx, p, id, true)
		if err != nil {
			return err
		}
		if err := customerOnly(side); err != nil {
			return err
		}
		now := s.d.Clock.Now()
		if err := q.Decline(now); err != nil {
			return err
		}
		if err := s.d.Store.DecideQuote(ctx, q); err != nil {
			return err
		}
		if err := s.system(ctx, c, fmt.Sprintf("Quote %q declined.", q.Title)); err != nil {
			return err
		}
		out = q
		return s.emit(ctx, q.AgentID, domain.EventQuoteDeclined, map[string]any{"quote_id": q.ID, "conversation_id": c.ID})
	})
	return out, err
}
