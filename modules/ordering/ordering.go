// Package ordering is where work is bought: conversations between a
// customer and an agent, quotes, orders and their acceptance gate, and the
// agent's events feed. Its root package is the facade the HTTP adapter and
// the workers call.
package ordering

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// Deps are what the service is built from.
type Deps struct {
	Tx       kernel.Tx
	Clock    kernel.Clock
	Store    Store
	Events   Events
	Waiter   Waiter
	Agents   Agents
	Ledger   Ledger
	Notifier Notifier
	People   People
	Jobs     kernel.Jobs
	Blobs    kernel.Blobs
	Config   Config
	// Escalate opens a support case for an owner review stalled past
	// domain.ReviewEscalationAfter, in the timer's transaction (the
	// moderation module; nil: support is emailed instead).
	Escalate func(ctx context.Context, o domain.Order) error
	// OnEvent runs inside the transaction that appends an event to an
	// agent's feed, right after the append (the webhooks module queues the
	// event for the agent's endpoint, ADR 11; nil: nothing).
	OnEvent func(ctx context.Context, agentID string, seq int64, typ string, data map[string]any, at time.Time) error
}

// Config holds the second half of an order's life's settings.
type Config struct {
	ReviewWindow   time.Duration // HEEPR_REVIEW_WINDOW (default 72 h)
	MaxUploadBytes int64         // HEEPR_MAX_UPLOAD_MB per delivered file (default 100 MB)
	LinkKey        []byte        // signs file links
	BaseURL        string        // links point here
}

// Service is the ordering facade.
type Service struct {
	d Deps

	mu            sync.Mutex
	cadence       map[string]cadence // agent id → polling interval, cached briefly
	cadenceWrites int

	draining  chan struct{} // closed by Drain: held long-polls answer now
	drainOnce sync.Once

	feeds feedCache
}

type cadence struct {
	interval  time.Duration
	fetched   time.Time
	lastTouch time.Time // when this process last recorded a poll
}

// New builds the service.
func New(d Deps) *Service {
	if d.Config.ReviewWindow <= 0 {
		d.Config.ReviewWindow = domain.DefaultReviewWindow
	}
	if d.Config.MaxUploadBytes <= 0 {
		d.Config.MaxUploadBytes = 100 << 20
	}
	if d.OnEvent != nil {
		d.Events = hookedEvents{Events: d.Events, onEvent: d.OnEvent}
	}
	return &Service{d: d, cadence: map[string]cadence{}, draining: make(chan struct{}),
		feeds: feedCache{entries: map[string]cachedFeed{}, gens: map[string]uint64{}}}
}

// Drain makes every held long-poll answer at once (with what it has, usually
// nothing) and later polls skip waiting, so a server shutting down is not
// held up by agents waiting for events; they poll again elsewhere.
func (s *Service) Drain() { s.drainOnce.Do(func() { close(s.draining) }) }

// Conversation is a thread between a customer and an agent (and its owner).
type Conversation struct {
	ID               string
	CustomerID       kernel.UserID
	CustomerName     string
	AgentID          string
	AgentHandle      string
	OwnerID          kernel.UserID
	HumanRequestedAt *time.Time // set while the customer waits for the owner
	CreatedAt        time.Time
	LastMessageAt    time.Time
}

// Message is one message in a conversation.
type Message struct {
	ID             string
	ConversationID string
	AuthorKind     domain.AuthorKind
	AuthorID       string // a user id, or the agent's id
	Body           string
	QuoteID        string // the quote it announces, if any
	CreatedAt      time.Time
}

// Quote is a quote with who sent it and the order it became.
type Quote struct {
	domain.Quote
	AgentID    string
	AuthorKind domain.AuthorKind // agent or owner
	OrderID    string            // once accepted
}

var (
	errConversationNotFound = kernel.NotFound("conversation")
	errQuoteNotFound        = kernel.NotFound("quote")
	errOrderNotFound        = kernel.NotFound("order")
)

// sideOf says how p takes part in a conversation: as its customer, as the
// agent, or as the agent's owner. ok is false for anyone else, who must be
// told the conversation does not exist.
func sideOf(p kernel.Principal, customer kernel.UserID, agentID string, owner kernel.UserID) (domain.AuthorKind, bool) {
	switch {
	case p.Method == kernel.AuthAgent:
		return domain.AuthorAgent, p.AgentID == agentID
	case p.UserID == "":
		return "", false
	case p.UserID == customer:
		return domain.AuthorCustomer, true
	case p.UserID == owner && p.Has(kernel.RoleOwner):
		return domain.AuthorOwner, true
	}
	return "", false
}

// conversation loads a conversation p takes part in.
func (s *Service) conversation(ctx context.Context, p kernel.Principal, id string) (Conversation, domain.AuthorKind, error) {
	return s.conversationLocked(ctx, p, id, false)
}

// conversationLocked loads a conversation p takes part in, locking its row
// until the transaction ends when lock is set.
func (s *Service) conversationLocked(ctx context.Context, p kernel.Principal, id string, lock bool) (Conversation, domain.AuthorKind, error) {
	c, err := s.d.Store.Conversation(ctx, id, lock)
	if errors.Is(err, kernel.ErrNotFound) {
		return Conversation{}, "", errConversationNotFound
	}
	if err != nil {
		return Conversation{}, "", err
	}
	side, ok := sideOf(p, c.CustomerID, c.AgentID, c.OwnerID)
	if !ok {
		return Conversation{}, "", errConversationNotFound
	}
	return c, side, nil
}

// agentAvailable refuses work with an agent that is not on the market.
func agentAvailable(a marketplace.AgentRecord) error {
	switch a.Status {
	case marketplace.StatusActive:
		return nil
	case marketplace.StatusSuspended:
		return kernel.Conflict("agent-suspended", "this agent is suspended and takes no new work")
	default:
		return kernel.Conflict("agent-unavailable", "this agent is %s and takes no new work", a.Status)
	}
}

// CreateConversation opens a thread with an agent on the market, with the
// customer's first message, which reaches the agent as an event.
func (s *Service) CreateConversation(ctx context.Context, p kernel.Principal, agent, body string) (Conversation, error) {
	body, err := domain.ValidateMessage(domain.AuthorCustomer, body)
	if err != nil {
		return Conversation{}, renameField(err, "body", "message")
	}
	a, err := s.d.Agents.Public(ctx, agent)
	if errors.Is(err, kernel.ErrNotFound) {
		// A suspended agent is hidden, but whoever holds its id is told why it takes no work.
		if x, xerr := s.d.Agents.Agent(ctx, agent); xerr == nil && x.Status == marketplace.StatusSuspended {
			return Conversation{}, agentAvailable(x)
		}
	}
	if err != nil {
		return Conversation{}, err
	}
	if err := domain.CheckNotSelfDealing(p.UserID, a.OwnerID); err != nil {
		return Conversation{}, err
	}
	_, name, err := s.d.People.Contact(ctx, p.UserID)
	if err != nil {
		return Conversation{}, fmt.Errorf("find customer: %w", err)
	}
	now := s.d.Clock.Now()
	c := Conversation{ID: kernel.NewID(), CustomerID: p.UserID, CustomerName: name, AgentID: a.ID, AgentHandle: a.Handle,
		OwnerID: a.OwnerID, CreatedAt: now, LastMessageAt: now}
	m := Message{ID: kernel.NewID(), ConversationID: c.ID, AuthorKind: domain.AuthorCustomer, AuthorID: string(p.UserID), Body: body, CreatedAt: now}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Store.InsertConversation(ctx, c); err != nil {
			return err
		}
		if err := s.d.Store.InsertMessage(ctx, m); err != nil {
			return err
		}
		return s.emit(ctx, c.AgentID, domain.EventMessageCreated, messageData(c, m))
	})
	return c, err
}

func renameField(err error, from, to string) error {
	if e, ok := kernel.As(err); ok {
		fields := make([]kernel.FieldError, len(e.Fields))
		for i, f := range e.Fields {
			if f.Field == from {
				f.Field = to
			}
			fields[i] = f
		}
		return kernel.Invalid(fields...)
	}
	return err
}

func messageData(c Conversation, m Message) map[string]any {
	d := map[string]any{"conversation_id": c.ID, "message_id": m.ID, "author_kind": string(m.AuthorKind), "body": m.Body,
		"customer_id": string(c.CustomerID)}
	if m.QuoteID != "" {
		d["quote_id"] = m.QuoteID
	}
	return d
}

// emit appends an event to the agent's feed in the transaction in ctx.
func (s *Service) emit(ctx context.Context, agentID, typ string, data map[string]any) error {
	if err := s.d.Events.LockFeed(ctx, agentID); err != nil {
		return fmt.Errorf("lock feed: %w", err)
	}
	if _, err := s.d.Events.Append(ctx, agentID, typ, data, s.d.Clock.Now()); err != nil {
		return fmt.Errorf("append %s event: %w", typ, err)
	}
	return nil
}

// GetConversation returns a conversation p takes part in.
func (s *Service) GetConversation(ctx context.Context, p kernel.Principal, id string) (Conversation, error) {
	c, _, err := s.conversation(ctx, p, id)
	return c, err
}

// listFilter is what p sees: an agent its own; a person what they bought
// and, as an owner, what their agents sell. as narrows a person's list.
func listFilter(p kernel.Principal, as string) (ListFilter, error) {
	if p.Method == kernel.AuthAgent {
		return ListFilter{AgentID: p.AgentID}, nil
	}
	f := ListFilter{Customer: p.UserID}
	if p.Has(kernel.RoleOwner) {
		f.Owner = p.UserID
	}
	switch as {
	case "":
	case "customer":
		f.Owner = ""
	case "owner":
		if !p.Has(kernel.RoleOwner) {
			return ListFilter{}, kernel.Invalid(kernel.FieldError{Field: "as", Detail: "is owner only for an account with the owner role"})
		}
		f.Customer = ""
	default:
		return ListFilter{}, kernel.Invalid(kernel.FieldError{Field: "as", Detail: "must be customer or owner"})
	}
	return f, nil
}

func decodePosition(cursor string) (*Position, error) {
	if cursor == "" {
		return nil, nil
	}
	var pos Position
	if err := kernel.DecodeCursor(cursor, &pos); err != nil || pos.ID == "" {
		return nil, kernel.Invalid(kernel.FieldError{Field: "cursor", Detail: "is not a cursor this API issued"})
	}
	return &pos, nil
}

// ListConversations pages through p's conversations, latest activity
// first; humanRequested (non-nil) keeps those where the customer waits for
// the owner (true) or the others (false).
func (s *Service) ListConversations(ctx context.Context, p kernel.Principal, as string, humanRequested *bool, cursor string, limit int) ([]Conversation, string, error) {
	f, err := listFilter(p, as)
	if err != nil {
		return nil, "", err
	}
	f.HumanRequested = humanRequested
	if f.After, err = decodePosition(cursor); err != nil {
		return nil, "", err
	}
	f.Limit = kernel.Limit(limit, 20, 100)
	n := f.Limit
	f.Limit++
	rows, err := s.d.Store.Conversations(ctx, f)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > n {
		rows = rows[:n]
		last := rows[n-1]
		next = kernel.EncodeCursor(Position{Key: last.LastMessageAt.UnixMicro(), ID: last.ID})
	}
	return rows, next, nil
}

// Messages pages through a conversation's messages, oldest first.
func (s *Service) Messages(ctx context.Context, p kernel.Principal, id, cursor string, limit int) ([]Message, string, error) {
	c, _, err := s.conversation(ctx, p, id)
	if err != nil {
		return nil, "", err
	}
	after, err := kernel.IDCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	limit = kernel.Limit(limit, 50, 200)
	rows, err := s.d.Store.Messages(ctx, c.ID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	rows, next := kernel.PageByID(rows, limit, func(m Message) string { return m.ID })
	return rows, next, nil
}

// PostMessage adds a message by the customer, the agent or its owner. Every
// message the agent did not write reaches it as an event; the owner's
// message answers an open request for a human.
func (s *Service) PostMessage(ctx context.Context, p kernel.Principal, id, body string) (Message, error) {
	c, side, err := s.conversation(ctx, p, id)
	if err != nil {
		return Message{}, err
	}
	if body, err = domain.ValidateMessage(side, body); err != nil {
		return Message{}, err
	}
	if side == domain.AuthorAgent {
		a, err := s.d.Agents.Agent(ctx, c.AgentID)
		if err != nil {
			return Message{}, err
		}
		if a.Status == marketplace.StatusSuspended {
			return Message{}, kernel.Conflict("agent-suspended", "a suspended agent cannot write")
		}
	}
	author := string(p.UserID)
	if side == domain.AuthorAgent {
		author = p.AgentID
	}
	now := s.d.Clock.Now()
	m := Message{ID: kernel.NewID(), ConversationID: c.ID, AuthorKind: side, AuthorID: author, Body: body, CreatedAt: now}
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
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
	return m, err
}

// RequestHuman marks the thread as waiting for the agent's owner, who is
// notified in the app and by email; the agent gets an event. Asking again
// while the request is open changes nothing.
func (s *Service) RequestHuman(ctx context.Context, p kernel.Principal, id string) (Conversation, error) {
	var out Conversation
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		// Locked: two concurrent asks must not both find the flag unset.
		c, side, err := s.conversationLocked(ctx, p, id, true)
		if err != nil {
			return err
		}
		if side != domain.AuthorCustomer {
			return kernel.Forbidden("customer-only", "only the customer of this conversation asks for a human")
		}
		if c.HumanRequestedAt != nil {
			out = c
			return nil
		}
		now := s.d.Clock.Now()
		m := Message{ID: kernel.NewID(), ConversationID: c.ID, AuthorKind: domain.AuthorSystem, AuthorID: "",
			Body: c.CustomerName + " asked for the agent's human owner, who has been notified.", CreatedAt: now}
		if err := s.d.Store.InsertMessage(ctx, m); err != nil {
			return err
		}
		if err := s.d.Store.TouchConversation(ctx, c.ID, now, &now, false); err != nil {
			return err
		}
		c.HumanRequestedAt, c.LastMessageAt = &now, now
		if err := s.emit(ctx, c.AgentID, domain.EventHumanRequested, map[string]any{"conversation_id": c.ID, "customer_id": string(c.CustomerID)}); err != nil {
			return err
		}
		out = c
		return s.d.Notifier.Notify(ctx, notification.Notice{User: c.OwnerID, Kind: "ordering.human_requested",
			Subject: fmt.Sprintf("A customer asked for you in a conversation with @%s", c.AgentHandle),
			Body: fmt.Sprintf("%s asked to talk to the human behind your agent @%s. Answer in the conversation; the agent sees your replies.",
				c.CustomerName, c.AgentHandle),
			Link: "/conversations/" + c.ID})
	})
	return out, err
}

// Order is an order (for other modules).
type Order = domain.Order
