package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/heepr/heepr/adapters/wake"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// Ordering implements the ordering module's Store and Events.
type Ordering struct {
	db     *DB
	notify string             // Postgres: the NOTIFY statement for agent events
	signal func(agent string) // SQLite: wakes this process's long-polls after commit
}

// NewOrdering returns the ordering store. signal wakes the long-polls of
// an agent in this process after a commit; on Postgres the store also
// notifies every process (LISTEN/NOTIFY, see adapters/wake).
func NewOrdering(db *DB, signal func(agentID string)) *Ordering {
	return &Ordering{db: db, notify: wake.NotifySQL(db.Schema), signal: signal}
}

var (
	_ ordering.Store  = (*Ordering)(nil)
	_ ordering.Events = (*Ordering)(nil)
)

type conversationRow struct {
	bun.BaseModel `bun:"table:conversations,alias:c"`

	ID               string     `bun:"id,pk"`
	CustomerID       string     `bun:"customer_id"`
	CustomerName     string     `bun:"customer_name"`
	AgentID          string     `bun:"agent_id"`
	AgentHandle      string     `bun:"agent_handle"`
	OwnerID          string     `bun:"owner_id"`
	HumanRequestedAt *time.Time `bun:"human_requested_at"`
	CreatedAt        time.Time  `bun:"created_at"`
	LastMessageAt    time.Time  `bun:"last_message_at"`
	LastMessageUS    int64      `bun:"last_message_us"`
}

func (r *conversationRow) toDomain() ordering.Conversation {
	return ordering.Conversation{ID: r.ID, CustomerID: kernel.UserID(r.CustomerID), CustomerName: r.CustomerName,
		AgentID: r.AgentID, AgentHandle: r.AgentHandle, OwnerID: kernel.UserID(r.OwnerID),
		HumanRequestedAt: utcPtr(r.HumanRequestedAt), CreatedAt: r.CreatedAt.UTC(), LastMessageAt: r.LastMessageAt.UTC()}
}

// InsertConversation adds a conversation.
func (s *Ordering) InsertConversation(ctx context.Context, c ordering.Conversation) error {
	row := &conversationRow{ID: c.ID, CustomerID: string(c.CustomerID), CustomerName: c.CustomerName, AgentID: c.AgentID,
		AgentHandle: c.AgentHandle, OwnerID: string(c.OwnerID), HumanRequestedAt: c.HumanRequestedAt, CreatedAt: c.CreatedAt,
		LastMessageAt: c.LastMessageAt, LastMessageUS: c.LastMessageAt.UnixMicro()}
	if _, err := s.db.Conn(ctx).NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert conversation: %w", err)
	}
	return nil
}

// Conversation reads one conversation (locked with lock, on Postgres).
func (s *Ordering) Conversation(ctx context.Context, id string, lock bool) (ordering.Conversation, error) {
	row := new(conversationRow)
	q := s.db.Conn(ctx).NewSelect().Model(row).Where("id = ?", id)
	if lock && s.db.Dialect == Postgres {
		q = q.For("UPDATE")
	}
	err := q.Scan(ctx)
	if IsNoRows(err) {
		return ordering.Conversation{}, kernel.ErrNotFound
	}
	if err != nil {
		return ordering.Conversation{}, fmt.Errorf("read conversation: %w", err)
	}
	return row.toDomain(), nil
}

// TouchConversation records activity and sets or clears the human request.
func (s *Ordering) TouchConversation(ctx context.Context, id string, at time.Time, humanRequested *time.Time, clearHuman bool) error {
	q := s.db.Conn(ctx).NewUpdate().Model((*conversationRow)(nil)).
		Set("last_message_at = ?", at).Set("last_message_us = ?", at.UnixMicro()).Where("id = ?", id)
	switch {
	case humanRequested != nil:
		q = q.Set("human_requested_at = ?", *humanRequested)
	case clearHuman:
		q = q.Set("human_requested_at = NULL")
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("touch conversation: %w", err)
	}
	return nil
}

// parties narrows a query to what the filter's principal sees.
func parties(q *bun.SelectQuery, f ordering.ListFilter) *bun.SelectQuery {
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		if f.AgentID != "" {
			q = q.WhereOr("agent_id = ?", f.AgentID)
		}
		if f.Customer != "" {
			q = q.WhereOr("customer_id = ?", string(f.Customer))
		}
		if f.Owner != "" {
			q = q.WhereOr("owner_id = ?", string(f.Owner))
		}
		if f.AgentID == "" && f.Customer == "" && f.Owner == "" {
			q = q.Where("1 = 0")
		}
		return q
	})
}

// Conversations lists conversations by latest activity, newest first.
func (s *Ordering) Conversations(ctx context.Context, f ordering.ListFilter) ([]ordering.Conversation, error) {
	var rows []conversationRow
	q := parties(s.db.Conn(ctx).NewSelect().Model(&rows), f)
	if f.HumanRequested != nil {
		if *f.HumanRequested {
			q = q.Where("human_requested_at IS NOT NULL")
		} else {
			q = q.Where("human_requested_at IS NULL")
		}
	}
	if f.After != nil {
		q = q.Where("(last_message_us < ? OR (last_message_us = ? AND id < ?))", f.After.Key, f.After.Key, f.After.ID)
	}
	if err := q.OrderExpr("last_message_us DESC, id DESC").Limit(int64(f.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	out := make([]ordering.Conversation, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

type messageRow struct {
	bun.BaseModel `bun:"table:messages,alias:m"`

	ID             string    `bun:"id,pk"`
	ConversationID string    `bun:"conversation_id"`
	AuthorKind     string    `bun:"author_kind"`
	AuthorID       string    `bun:"author_id"`
	Body           string    `bun:"body"`
	QuoteID        *string   `bun:"quote_id"`
	CreatedAt      time.Time `bun:"created_at"`
}

// InsertMessage adds a message.
func (s *Ordering) InsertMessage(ctx context.Context, m ordering.Message) error {
	row := &messageRow{ID: m.ID, ConversationID: m.ConversationID, AuthorKind: string(m.AuthorKind), AuthorID: m.AuthorID,
		Body: m.Body, QuoteID: nullable(m.QuoteID), CreatedAt: m.CreatedAt}
	if _, err := s.db.Conn(ctx).NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	return nil
}

// Messages lists a conversation's messages after the id, oldest first.
func (s *Ordering) Messages(ctx context.Context, conversationID, after string, limit int) ([]ordering.Message, error) {
	var rows []messageRow
	q := s.db.Conn(ctx).NewSelect().Model(&rows).Where("conversation_id = ?", conversationID)
	if after != "" {
		q = q.Where("id > ?", after)
	}
	if err := q.OrderExpr("id ASC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	out := make([]ordering.Message, len(rows))
	for i, r := range rows {
		out[i] = ordering.Message{ID: r.ID, ConversationID: r.ConversationID, AuthorKind: domain.AuthorKind(r.AuthorKind),
			AuthorID: r.AuthorID, Body: r.Body, CreatedAt: r.CreatedAt.UTC()}
		if r.QuoteID != nil {
			out[i].QuoteID = *r.QuoteID
		}
	}
	return out, nil
}

type quoteRow struct {
	bun.BaseModel `bun:"table:quotes,alias:q"`

	ID             string     `bun:"id,pk"`
	ConversationID string     `bun:"conversation_id"`
	AgentID        string     `bun:"agent_id"`
	AuthorKind     string     `bun:"author_kind"`
	Title          string     `bun:"title"`
	Description    string     `bun:"description"`
	Price          int64      `bun:"price"`
	DeliveryDays   int        `bun:"delivery_days"`
	Revisions      int        `bun:"revisions"`
	Category       string     `bun:"category"`
	Criteria       string     `bun:"criteria"`
	ExpiresAt      time.Time  `bun:"expires_at"`
	Status         string     `bun:"status"`
	CreatedAt      time.Time  `bun:"created_at"`
	DecidedAt      *time.Time `bun:"decided_at"`
	OrderID        *string    `bun:"order_id,scanonly"`
}

func (r *quoteRow) toDomain() (ordering.Quote, error) {
	var crit []string
	if err := json.Unmarshal([]byte(r.Criteria), &crit); err != nil {
		return ordering.Quote{}, fmt.Errorf("decode criteria of quote %s: %w", r.ID, err)
	}
	q := ordering.Quote{Quote: domain.Quote{ID: r.ID, ConversationID: r.ConversationID, Title: r.Title, Description: r.Description,
		Price: kernel.Points(r.Price), DeliveryDays: r.DeliveryDays, Revisions: r.Revisions, Category: r.Category, Criteria: crit,
		ExpiresAt: r.ExpiresAt.UTC(), Status: domain.QuoteStatus(r.Status), CreatedAt: r.CreatedAt.UTC()},
		AgentID: r.AgentID, AuthorKind: domain.AuthorKind(r.AuthorKind)}
	if r.DecidedAt != nil {
		q.DecidedAt = r.DecidedAt.UTC()
	}
	if r.OrderID != nil {
		q.OrderID = *r.OrderID
	}
	return q, nil
}

// InsertQuote adds a quote.
func (s *Ordering) InsertQuote(ctx context.Context, q ordering.Quote) error {
	crit, err := json.Marshal(q.Criteria)
	if err != nil {
		return err
	}
	row := &quoteRow{ID: q.ID, ConversationID: q.ConversationID, AgentID: q.AgentID, AuthorKind: string(q.AuthorKind),
		Title: q.Title, Description: q.Description, Price: int64(q.Price), DeliveryDays: q.DeliveryDays, Revisions: q.Revisions,
		Category: q.Category, Criteria: string(crit), ExpiresAt: q.ExpiresAt, Status: string(q.Status), CreatedAt: q.CreatedAt}
	if _, err := s.db.Conn(ctx).NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert quote: %w", err)
	}
	return nil
}

func (s *Ordering) quotes(ctx context.Context) *bun.SelectQuery {
	return s.db.Conn(ctx).NewSelect().Model((*quoteRow)(nil)).ColumnExpr("q.*").
		ColumnExpr("(SELECT o.id FROM orders AS o WHERE o.quote_id = q.id) AS order_id")
}

// Quote reads one quote (locked with lock, on Postgres).
func (s *Ordering) Quote(ctx context.Context, id string, lock bool) (ordering.Quote, error) {
	row := new(quoteRow)
	var q *bun.SelectQuery
	if lock {
		// The lock is on the quote row alone; its order (none yet, or it
		// would not be locked for a decision) is not read.
		q = s.db.Conn(ctx).NewSelect().Model(row).Where("id = ?", id)
		if s.db.Dialect == Postgres {
			q = q.For("UPDATE")
		}
	} else {
		q = s.quotes(ctx).Where("q.id = ?", id)
	}
	err := q.Scan(ctx, row)
	if IsNoRows(err) {
		return ordering.Quote{}, kernel.ErrNotFound
	}
	if err != nil {
		return ordering.Quote{}, fmt.Errorf("read quote: %w", err)
	}
	return row.toDomain()
}

// Quotes lists a conversation's quotes, newest first, below the id before.
func (s *Ordering) Quotes(ctx context.Context, conversationID, before string, limit int) ([]ordering.Quote, error) {
	var rows []quoteRow
	q := s.quotes(ctx).Where("q.conversation_id = ?", conversationID)
	if before != "" {
		q = q.Where("q.id < ?", before)
	}
	if err := q.OrderExpr("q.id DESC").Limit(int64(limit)).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("list quotes: %w", err)
	}
	out := make([]ordering.Quote, len(rows))
	for i := range rows {
		q, err := rows[i].toDomain()
		if err != nil {
			return nil, err
		}
		out[i] = q
	}
	return out, nil
}

// DecideQuote records a quote's decision, once: a quote decided already
// (by a concurrent request) is a conflict.
func (s *Ordering) DecideQuote(ctx context.Context, q ordering.Quote) error {
	res, err := s.db.Conn(ctx).NewUpdate().Model((*quoteRow)(nil)).Set("status = ?", string(q.Status)).
		Set("decided_at = ?", q.DecidedAt).Where("id = ? AND status = 'sent'", q.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("decide quote: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return kernel.Conflict("quote-already-decided", "this quote was decided by another request")
	}
	return nil
}

type orderRow struct {
	bun.BaseModel `bun:"table:orders,alias:o"`

	ID             string     `bun:"id,pk"`
	QuoteID        string     `bun:"quote_id"`
	ConversationID string     `bun:"conversation_id"`
	CustomerID     string     `bun:"customer_id"`
	AgentID        string     `bun:"agent_id"`
	AgentHandle    string     `bun:"agent_handle"`
	OwnerID        string     `bun:"owner_id"`
	Status         string     `bun:"status"`
	Price          int64      `bun:"price"`
	RevisionsLeft  int        `bun:"revisions_left"`
	Snapshot       string     `bun:"snapshot"`
	GateReasons    string     `bun:"gate_reasons"`
	CancelReason   *string    `bun:"cancel_reason"`
	CreatedAt      time.Time  `bun:"created_at"`
	StartedAt      *time.Time `bun:"started_at"`
	Deadline       *time.Time `bun:"deadline"`
	UpdatedAt      time.Time  `bun:"updated_at"`

	ReviewStartedAt *time.Time `bun:"review_started_at"`
	DeliveredAt     *time.Time `bun:"delivered_at"`
	CompletedAt     *time.Time `bun:"completed_at"`
	Late            bool       `bun:"late"`
	OnTime          bool       `bun:"on_time"`
	Revisions       string     `bun:"revisions"`
	ReviewReminded  bool       `bun:"review_reminded"`
	ReviewEscalated bool       `bun:"review_escalated"`

	DisputedFrom   *string    `bun:"disputed_from"`
	DisputedAt     *time.Time `bun:"disputed_at"`
	RefundedPoints *int64     `bun:"refunded_points"`

	// ReviewID is read with the order (orderColumns), never written.
	ReviewID *string `bun:"review_id,scanonly"`
}

// orderColumns selects an order's columns and the id of its review, if any
// (reviews_order_key makes it one index lookup).
func orderColumns(q *bun.SelectQuery) *bun.SelectQuery {
	return q.ColumnExpr("?TableColumns").ColumnExpr("(SELECT r.id FROM reviews AS r WHERE r.order_id = o.id) AS review_id")
}

// orderSnapshot is what an order keeps of its quote and the agent's settings.
type orderSnapshot struct {
	Title           string   `json:"title"`
	Description     string   `json:"description"`
	Criteria        []string `json:"criteria"`
	Category        string   `json:"category"`
	DeliveryDays    int      `json:"delivery_days"`
	Revisions       int      `json:"revisions"`
	SettingsVersion int      `json:"settings_version"`
	PackageVersion  int      `json:"package_version"`
	AcceptMode      string   `json:"accept_mode"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toOrderRow(o domain.Order) (*orderRow, error) {
	snap, err := json.Marshal(orderSnapshot{Title: o.Title, Description: o.Description, Criteria: o.Criteria, Category: o.Category,
		DeliveryDays: o.DeliveryDays, Revisions: o.FreeRevisions, SettingsVersion: o.SettingsVersion, PackageVersion: o.PackageVersion,
		AcceptMode: o.AcceptMode})
	if err != nil {
		return nil, err
	}
	reasons := o.GateReasons
	if reasons == nil {
		reasons = []string{}
	}
	gr, err := json.Marshal(reasons)
	if err != nil {
		return nil, err
	}
	revs := o.Revisions
	if revs == nil {
		revs = []domain.Revision{}
	}
	rv, err := json.Marshal(revs)
	if err != nil {
		return nil, err
	}
	return &orderRow{ID: o.ID, QuoteID: o.QuoteID, ConversationID: o.ConversationID, CustomerID: string(o.CustomerID),
		AgentID: o.AgentID, AgentHandle: o.AgentHandle, OwnerID: string(o.OwnerID), Status: string(o.Status),
		Price: int64(o.Price), RevisionsLeft: o.RevisionsLeft, Snapshot: string(snap), GateReasons: string(gr),
		CancelReason: nullable(o.CancelReason), CreatedAt: o.CreatedAt, StartedAt: timePtr(o.StartedAt),
		Deadline: timePtr(o.Deadline), UpdatedAt: o.UpdatedAt,
		ReviewStartedAt: timePtr(o.ReviewStartedAt), DeliveredAt: timePtr(o.DeliveredAt), CompletedAt: timePtr(o.CompletedAt),
		Late: o.Late, OnTime: o.OnTime, Revisions: string(rv), ReviewReminded: o.ReviewReminded, ReviewEscalated: o.ReviewEscalated,
		DisputedFrom: nullable(string(o.DisputedFrom)), DisputedAt: timePtr(o.DisputedAt), RefundedPoints: pointsPtr(o.RefundedPoints)}, nil
}

func pointsPtr(p kernel.Points) *int64 {
	if p == 0 {
		return nil
	}
	v := int64(p)
	return &v
}

func (r *orderRow) toDomain() (domain.Order, error) {
	var snap orderSnapshot
	if err := json.Unmarshal([]byte(r.Snapshot), &snap); err != nil {
		return domain.Order{}, fmt.Errorf("decode snapshot of order %s: %w", r.ID, err)
	}
	var reasons []string
	if err := json.Unmarshal([]byte(r.GateReasons), &reasons); err != nil {
		return domain.Order{}, fmt.Errorf("decode gate reasons of order %s: %w", r.ID, err)
	}
	o := domain.Order{ID: r.ID, QuoteID: r.QuoteID, ConversationID: r.ConversationID, CustomerID: kernel.UserID(r.CustomerID),
		AgentID: r.AgentID, AgentHandle: r.AgentHandle, OwnerID: kernel.UserID(r.OwnerID), Status: domain.Status(r.Status),
		Price: kernel.Points(r.Price), Title: snap.Title, Description: snap.Description, Criteria: snap.Criteria,
		Category: snap.Category, DeliveryDays: snap.DeliveryDays, FreeRevisions: snap.Revisions, RevisionsLeft: r.RevisionsLeft,
		SettingsVersion: snap.SettingsVersion, PackageVersion: snap.PackageVersion, AcceptMode: snap.AcceptMode,
		GateReasons: reasons, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.CancelReason != nil {
		o.CancelReason = *r.CancelReason
	}
	if r.StartedAt != nil {
		o.StartedAt = r.StartedAt.UTC()
	}
	if r.Deadline != nil {
		o.Deadline = r.Deadline.UTC()
	}
	if err := json.Unmarshal([]byte(r.Revisions), &o.Revisions); err != nil {
		return domain.Order{}, fmt.Errorf("decode revisions of order %s: %w", r.ID, err)
	}
	o.ReviewStartedAt, o.DeliveredAt, o.CompletedAt = zeroOr(r.ReviewStartedAt), zeroOr(r.DeliveredAt), zeroOr(r.CompletedAt)
	o.Late, o.OnTime, o.ReviewReminded, o.ReviewEscalated = r.Late, r.OnTime, r.ReviewReminded, r.ReviewEscalated
	if r.DisputedFrom != nil {
		o.DisputedFrom = domain.Status(*r.DisputedFrom)
	}
	o.DisputedAt = zeroOr(r.DisputedAt)
	if r.RefundedPoints != nil {
		o.RefundedPoints = kernel.Points(*r.RefundedPoints)
	}
	if r.ReviewID != nil {
		o.ReviewID = *r.ReviewID
	}
	return o, nil
}

// zeroOr is the time in UTC, or the zero time for NULL.
func zeroOr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// InsertOrder adds an order; a second order for a quote is a conflict.
func (s *Ordering) InsertOrder(ctx context.Context, o domain.Order) error {
	row, err := toOrderRow(o)
	if err != nil {
		return err
	}
	if _, err := s.db.Conn(ctx).NewInsert().Model(row).Exec(ctx); err != nil {
		if IsUniqueViolation(err) {
			return kernel.Conflict("quote-already-accepted", "this quote has already been accepted")
		}
		return fmt.Errorf("insert order: %w", err)
	}
	return nil
}

// Order reads one order (locked with lock, on Postgres).
func (s *Ordering) Order(ctx context.Context, id string, lock bool) (domain.Order, error) {
	row := new(orderRow)
	q := orderColumns(s.db.Conn(ctx).NewSelect().Model(row)).Where("o.id = ?", id)
	if lock && s.db.Dialect == Postgres {
		q = q.For("UPDATE OF o")
	}
	err := q.Scan(ctx)
	if IsNoRows(err) {
		return domain.Order{}, kernel.ErrNotFound
	}
	if err != nil {
		return domain.Order{}, fmt.Errorf("read order: %w", err)
	}
	return row.toDomain()
}

// SaveOrder writes an order's state if it is still in status from.
func (s *Ordering) SaveOrder(ctx context.Context, o domain.Order, from domain.Status) error {
	row, err := toOrderRow(o)
	if err != nil {
		return err
	}
	res, err := s.db.Conn(ctx).NewUpdate().Model(row).
		Column("status", "revisions_left", "gate_reasons", "cancel_reason", "started_at", "deadline", "updated_at",
			"review_started_at", "delivered_at", "completed_at", "late", "on_time", "revisions", "review_reminded", "review_escalated",
			"disputed_from", "disputed_at", "refunded_points").
		WherePK().Where("status = ?", string(from)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("save order: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return kernel.Conflict("order-changed", "the order changed under this request; read it again")
	}
	return nil
}

// Orders lists orders newest first.
func (s *Ordering) Orders(ctx context.Context, f ordering.ListFilter) ([]domain.Order, error) {
	var rows []orderRow
	q := parties(orderColumns(s.db.Conn(ctx).NewSelect().Model(&rows)), f)
	if f.Status != "" {
		q = q.Where("o.status = ?", string(f.Status))
	}
	if f.After != nil {
		q = q.Where("o.id < ?", f.After.ID)
	}
	if err := q.OrderExpr("o.id DESC").Limit(int64(f.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	out := make([]domain.Order, len(rows))
	for i := range rows {
		o, err := rows[i].toDomain()
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}

// ActiveOrders counts the agent's orders in progress or in review.
func (s *Ordering) ActiveOrders(ctx context.Context, agentID string) (int, error) {
	n, err := s.db.Conn(ctx).NewSelect().Model((*orderRow)(nil)).
		Where("agent_id = ? AND status IN ('in_progress', 'in_review')", agentID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count active orders: %w", err)
	}
	return int(n), nil
}

// OrdersDue lists up to limit ids of orders a periodic job must look at,
// oldest first: in progress past their deadline and not marked late
// (DueLate), in review since at or before the time and not yet reminded
// (DueReminder) or escalated (DueEscalation), delivered at or before the
// time (DueCompletion).
func (s *Ordering) OrdersDue(ctx context.Context, due ordering.Due, by time.Time, limit int) ([]string, error) {
	var where, order string
	switch due {
	case ordering.DueApproval:
		where, order = "status = 'pending_approval' AND created_at <= ?", "created_at"
	case ordering.DueLate:
		where, order = "status = 'in_progress' AND NOT late AND deadline < ?", "deadline"
	case ordering.DueReminder:
		where, order = "status = 'in_review' AND NOT review_reminded AND review_started_at <= ?", "review_started_at"
	case ordering.DueEscalation:
		where, order = "status = 'in_review' AND NOT review_escalated AND review_started_at <= ?", "review_started_at"
	case ordering.DueCompletion:
		where, order = "status = 'delivered' AND delivered_at <= ?", "delivered_at"
	default:
		return nil, fmt.Errorf("orders due: unknown kind %q", due)
	}
	var ids []string
	if err := s.db.Conn(ctx).NewSelect().Model((*orderRow)(nil)).Column("id").Where(where, by).
		OrderExpr(order+", id").Limit(int64(limit)).Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("list orders due: %w", err)
	}
	return ids, nil
}

// --- events ----------------------------------------------------------------

// LockFeed creates the agent's feed if needed and, on Postgres, locks its
// row until the transaction ends (a no-op upsert takes the row lock).
// SQLite transactions are serial already (BEGIN IMMEDIATE).
func (s *Ordering) LockFeed(ctx context.Context, agentID string) error {
	if s.db.Dialect != Postgres {
		return nil
	}
	_, err := s.db.Conn(ctx).NewRaw(`INSERT INTO agent_feeds (agent_id, last_seq, acked_seq) VALUES (?, 0, 0)
		ON CONFLICT (agent_id) DO UPDATE SET last_seq = agent_feeds.last_seq`, agentID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("lock feed: %w", err)
	}
	return nil
}

// Append adds an event with the agent's next seq. The seq comes from the
// feed row, whose lock is held to commit, so one agent's events commit in
// seq order and a reader's cursor never passes an uncommitted event.
func (s *Ordering) Append(ctx context.Context, agentID, typ string, data map[string]any, at time.Time) (int64, error) {
	body, err := json.Marshal(data)
	if err != nil {
		return 0, fmt.Errorf("encode event: %w", err)
	}
	conn := s.db.Conn(ctx)
	var seq int64
	if err := conn.NewRaw(`INSERT INTO agent_feeds (agent_id, last_seq, acked_seq) VALUES (?, 1, 0)
		ON CONFLICT (agent_id) DO UPDATE SET last_seq = agent_feeds.last_seq + 1 RETURNING last_seq`, agentID).Scan(ctx, &seq); err != nil {
		return 0, fmt.Errorf("next event seq: %w", err)
	}
	if _, err := conn.NewRaw(`INSERT INTO agent_events (agent_id, seq, type, data, created_at) VALUES (?, ?, ?, ?, ?)`,
		agentID, seq, typ, string(body), at).Exec(ctx); err != nil {
		return 0, fmt.Errorf("insert event: %w", err)
	}
	if err := s.Wake(ctx, agentID); err != nil {
		return 0, fmt.Errorf("notify event: %w", err)
	}
	return seq, nil
}

// Wake tells every heepr process, once the transaction in ctx commits, that
// something of the agent changed: its long-polls wake and what each process
// caches of it (feed position, key) is dropped (the hub's OnSignal). On
// Postgres it runs NOTIFY in the transaction (delivered on commit, dropped
// on rollback); in this process the hub is signalled right after commit,
// without waiting for the notification's round trip, so that a request
// right after the write's answer sees it.
func (s *Ordering) Wake(ctx context.Context, agentID string) error {
	if s.db.Dialect == Postgres {
		if _, err := s.db.Conn(ctx).NewRaw(s.notify, agentID).Exec(ctx); err != nil {
			return fmt.Errorf("notify agent: %w", err)
		}
	}
	if s.signal != nil {
		AfterCommit(ctx, func() { s.signal(agentID) })
	}
	return nil
}

// FeedSQL is the feed read of every poll (also run bare by bench/events).
const FeedSQL = "SELECT last_seq, acked_seq FROM agent_feeds WHERE agent_id = ?"

// Feed reads the agent's newest and acknowledged seqs (zero without events).
func (s *Ordering) Feed(ctx context.Context, agentID string) (domain.Feed, error) {
	var f domain.Feed
	err := s.db.QueryRow(ctx, FeedSQL, []any{agentID}, &f.LastSeq, &f.AckedSeq)
	if IsNoRows(err) {
		return domain.Feed{}, nil
	}
	if err != nil {
		return domain.Feed{}, fmt.Errorf("read feed: %w", err)
	}
	return f, nil
}

// TakeSQL is the events query of a poll, also run bare by the benchmark.
const TakeSQL = `SELECT seq, type, data, created_at, deliveries FROM agent_events
	WHERE agent_id = ? AND seq > ? AND (seq > ? OR leased_until_us <= ?) ORDER BY seq LIMIT ?`

// Take reads the events a poll hands out and leases them.
func (s *Ordering) Take(ctx context.Context, agentID string, acked, cursor int64, now, leaseUntil time.Time, limit int) ([]domain.Event, error) {
	var rows []struct {
		Seq        int64     `bun:"seq"`
		Type       string    `bun:"type"`
		Data       string    `bun:"data"`
		CreatedAt  time.Time `bun:"created_at"`
		Deliveries int       `bun:"deliveries"`
	}
	conn := s.db.Conn(ctx)
	if err := conn.NewRaw(TakeSQL, agentID, acked, cursor, now.UnixMicro(), limit).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]domain.Event, len(rows))
	seqs := make([]int64, len(rows))
	for i, r := range rows {
		var data map[string]any
		if err := json.Unmarshal([]byte(r.Data), &data); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", r.Seq, err)
		}
		out[i] = domain.Event{AgentID: agentID, Seq: r.Seq, Type: r.Type, Data: data, CreatedAt: r.CreatedAt.UTC(), Redelivered: r.Deliveries > 0}
		seqs[i] = r.Seq
	}
	if _, err := conn.NewRaw("UPDATE agent_events SET deliveries = deliveries + 1, leased_until_us = ? WHERE agent_id = ? AND seq IN (?)",
		leaseUntil.UnixMicro(), agentID, bun.In(seqs)).Exec(ctx); err != nil {
		return nil, fmt.Errorf("lease events: %w", err)
	}
	return out, nil
}

// Ack raises the acknowledged seq.
func (s *Ordering) Ack(ctx context.Context, agentID string, upTo int64) error {
	if _, err := s.db.Conn(ctx).NewRaw("UPDATE agent_feeds SET acked_seq = ? WHERE agent_id = ? AND acked_seq < ?",
		upTo, agentID, upTo).Exec(ctx); err != nil {
		return fmt.Errorf("ack events: %w", err)
	}
	return nil
}

// Purge deletes up to limit events created before the time.
func (s *Ordering) Purge(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := s.db.Conn(ctx).NewRaw(`DELETE FROM agent_events WHERE (agent_id, seq) IN
		(SELECT agent_id, seq FROM agent_events WHERE created_at < ? ORDER BY created_at LIMIT ?)`, before, limit).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge events: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// --- notifications ---------------------------------------------------------

type notificationRow struct {
	bun.BaseModel `bun:"table:notifications,alias:n"`

	ID        string     `bun:"id,pk"`
	UserID    string     `bun:"user_id"`
	Kind      string     `bun:"kind"`
	Subject   string     `bun:"subject"`
	Body      string     `bun:"body"`
	Link      *string    `bun:"link"`
	CreatedAt time.Time  `bun:"created_at"`
	ReadAt    *time.Time `bun:"read_at"`
}

func (r *notificationRow) toDomain() notification.Notice {
	n := notification.Notice{ID: r.ID, User: kernel.UserID(r.UserID), Kind: r.Kind, Subject: r.Subject, Body: r.Body,
		CreatedAt: r.CreatedAt.UTC(), Read: r.ReadAt != nil}
	if r.Link != nil {
		n.Link = *r.Link
	}
	return n
}

// Inbox implements the notification module's Inbox.
type Inbox struct{ db *DB }

// NewInbox returns the notifications store.
func NewInbox(db *DB) *Inbox { return &Inbox{db: db} }

var _ notification.Inbox = (*Inbox)(nil)

// Insert adds a notice.
func (s *Inbox) Insert(ctx context.Context, n notification.Notice) error {
	row := &notificationRow{ID: n.ID, UserID: string(n.User), Kind: n.Kind, Subject: n.Subject, Body: n.Body, Link: nullable(n.Link), CreatedAt: n.CreatedAt}
	if _, err := s.db.Conn(ctx).NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert notification: %w", err)
	}
	return nil
}

// Get reads one notice.
func (s *Inbox) Get(ctx context.Context, id string) (notification.Notice, error) {
	row := new(notificationRow)
	err := s.db.Conn(ctx).NewSelect().Model(row).Where("id = ?", id).Scan(ctx)
	if IsNoRows(err) {
		return notification.Notice{}, kernel.ErrNotFound
	}
	if err != nil {
		return notification.Notice{}, fmt.Errorf("read notification: %w", err)
	}
	return row.toDomain(), nil
}

// List returns a user's notices newest first, below the id before.
func (s *Inbox) List(ctx context.Context, user kernel.UserID, before string, limit int) ([]notification.Notice, error) {
	var rows []notificationRow
	q := s.db.Conn(ctx).NewSelect().Model(&rows).Where("user_id = ?", string(user))
	if before != "" {
		q = q.Where("id < ?", before)
	}
	if err := q.OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	out := make([]notification.Notice, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// --- deliveries, files, reviews -----------------------------------------------

type deliveryRow struct {
	bun.BaseModel `bun:"table:deliveries,alias:d"`

	ID         string     `bun:"id,pk"`
	OrderID    string     `bun:"order_id"`
	Version    int        `bun:"version"`
	Status     string     `bun:"status"`
	Message    string     `bun:"message"`
	RejectNote *string    `bun:"reject_note"`
	CreatedAt  time.Time  `bun:"created_at"`
	ReviewedAt *time.Time `bun:"reviewed_at"`
}

type fileRow struct {
	bun.BaseModel `bun:"table:delivery_files,alias:f"`

	ID          string    `bun:"id,pk"`
	DeliveryID  string    `bun:"delivery_id"`
	OrderID     string    `bun:"order_id"`
	Name        string    `bun:"name"`
	Size        int64     `bun:"size"`
	SHA256      string    `bun:"sha256"`
	ContentType string    `bun:"content_type"`
	BlobKey     string    `bun:"blob_key"`
	CreatedAt   time.Time `bun:"created_at"`
}

func (r *fileRow) toDomain() domain.File {
	return domain.File{ID: r.ID, DeliveryID: r.DeliveryID, OrderID: r.OrderID, Name: r.Name, Size: r.Size, SHA256: r.SHA256,
		ContentType: r.ContentType, BlobKey: r.BlobKey, CreatedAt: r.CreatedAt.UTC()}
}

func (r *deliveryRow) toDomain() domain.Delivery {
	d := domain.Delivery{ID: r.ID, OrderID: r.OrderID, Version: r.Version, Status: r.Status, Message: r.Message,
		CreatedAt: r.CreatedAt.UTC(), ReviewedAt: zeroOr(r.ReviewedAt)}
	if r.RejectNote != nil {
		d.RejectNote = *r.RejectNote
	}
	return d
}

// InsertDelivery adds a delivery and its files; a second delivery with the
// same version is a conflict.
func (s *Ordering) InsertDelivery(ctx context.Context, d domain.Delivery) error {
	conn := s.db.Conn(ctx)
	row := &deliveryRow{ID: d.ID, OrderID: d.OrderID, Version: d.Version, Status: d.Status, Message: d.Message, CreatedAt: d.CreatedAt}
	if _, err := conn.NewInsert().Model(row).Exec(ctx); err != nil {
		if IsUniqueViolation(err) {
			return kernel.Conflict("order-changed", "another delivery was made at the same time; read the order again")
		}
		return fmt.Errorf("insert delivery: %w", err)
	}
	for _, f := range d.Files {
		fr := &fileRow{ID: f.ID, DeliveryID: d.ID, OrderID: d.OrderID, Name: f.Name, Size: f.Size, SHA256: f.SHA256,
			ContentType: f.ContentType, BlobKey: f.BlobKey, CreatedAt: f.CreatedAt}
		if _, err := conn.NewInsert().Model(fr).Exec(ctx); err != nil {
			return fmt.Errorf("insert file: %w", err)
		}
	}
	return nil
}

// Deliveries lists an order's deliveries with their files, oldest first.
func (s *Ordering) Deliveries(ctx context.Context, orderID string) ([]domain.Delivery, error) {
	var rows []deliveryRow
	conn := s.db.Conn(ctx)
	if err := conn.NewSelect().Model(&rows).Where("order_id = ?", orderID).OrderExpr("version").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var files []fileRow
	if err := conn.NewSelect().Model(&files).Where("order_id = ?", orderID).OrderExpr("created_at, id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	out := make([]domain.Delivery, len(rows))
	index := map[string]int{}
	for i := range rows {
		out[i] = rows[i].toDomain()
		index[rows[i].ID] = i
	}
	for i := range files {
		if j, ok := index[files[i].DeliveryID]; ok {
			out[j].Files = append(out[j].Files, files[i].toDomain())
		}
	}
	return out, nil
}

// Delivery reads one delivery (without its files).
func (s *Ordering) Delivery(ctx context.Context, id string) (domain.Delivery, error) {
	row := new(deliveryRow)
	err := s.db.Conn(ctx).NewSelect().Model(row).Where("id = ?", id).Scan(ctx)
	if IsNoRows(err) {
		return domain.Delivery{}, kernel.ErrNotFound
	}
	if err != nil {
		return domain.Delivery{}, fmt.Errorf("read delivery: %w", err)
	}
	return row.toDomain(), nil
}

// SaveDelivery writes a delivery's review outcome.
func (s *Ordering) SaveDelivery(ctx context.Context, d domain.Delivery) error {
	_, err := s.db.Conn(ctx).NewUpdate().Model((*deliveryRow)(nil)).Set("status = ?", d.Status).
		Set("reject_note = ?", nullable(d.RejectNote)).Set("reviewed_at = ?", timePtr(d.ReviewedAt)).
		Where("id = ?", d.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("save delivery: %w", err)
	}
	return nil
}

// File reads one delivered file.
func (s *Ordering) File(ctx context.Context, id string) (domain.File, error) {
	row := new(fileRow)
	err := s.db.Conn(ctx).NewSelect().Model(row).Where("id = ?", id).Scan(ctx)
	if IsNoRows(err) {
		return domain.File{}, kernel.ErrNotFound
	}
	if err != nil {
		return domain.File{}, fmt.Errorf("read file: %w", err)
	}
	return row.toDomain(), nil
}

type reviewRow struct {
	bun.BaseModel `bun:"table:reviews,alias:r"`

	ID           string     `bun:"id,pk"`
	OrderID      string     `bun:"order_id"`
	AgentID      string     `bun:"agent_id"`
	CustomerID   string     `bun:"customer_id"`
	CustomerName string     `bun:"customer_name"`
	Rating       int        `bun:"rating"`
	Text         string     `bun:"text"`
	Reply        *string    `bun:"reply"`
	RepliedAt    *time.Time `bun:"replied_at"`
	CreatedAt    time.Time  `bun:"created_at"`
}

func (r *reviewRow) toDomain() domain.Review {
	v := domain.Review{ID: r.ID, OrderID: r.OrderID, AgentID: r.AgentID, CustomerID: kernel.UserID(r.CustomerID),
		CustomerName: r.CustomerName, Rating: r.Rating, Text: r.Text, RepliedAt: zeroOr(r.RepliedAt), CreatedAt: r.CreatedAt.UTC()}
	if r.Reply != nil {
		v.Reply = *r.Reply
	}
	return v
}

// InsertReview adds a review; a second review of an order is a conflict.
func (s *Ordering) InsertReview(ctx context.Context, v domain.Review) error {
	row := &reviewRow{ID: v.ID, OrderID: v.OrderID, AgentID: v.AgentID, CustomerID: string(v.CustomerID),
		CustomerName: v.CustomerName, Rating: v.Rating, Text: v.Text, CreatedAt: v.CreatedAt}
	if _, err := s.db.Conn(ctx).NewInsert().Model(row).Exec(ctx); err != nil {
		if IsUniqueViolation(err) {
			return kernel.Conflict("already-reviewed", "this order has already been reviewed")
		}
		return fmt.Errorf("insert review: %w", err)
	}
	return nil
}

// Review reads one review (locked with lock, on Postgres).
func (s *Ordering) Review(ctx context.Context, id string, lock bool) (domain.Review, error) {
	row := new(reviewRow)
	q := s.db.Conn(ctx).NewSelect().Model(row).Where("id = ?", id)
	if lock && s.db.Dialect == Postgres {
		q = q.For("UPDATE")
	}
	err := q.Scan(ctx)
	if IsNoRows(err) {
		return domain.Review{}, kernel.ErrNotFound
	}
	if err != nil {
		return domain.Review{}, fmt.Errorf("read review: %w", err)
	}
	return row.toDomain(), nil
}

// SaveReply writes a review's reply.
func (s *Ordering) SaveReply(ctx context.Context, v domain.Review) error {
	res, err := s.db.Conn(ctx).NewUpdate().Model((*reviewRow)(nil)).Set("reply = ?", v.Reply).Set("replied_at = ?", v.RepliedAt).
		Where("id = ? AND reply IS NULL", v.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("save reply: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return kernel.Conflict("already-replied", "you have already answered this review")
	}
	return nil
}

// AgentReviews lists an agent's reviews newest first, below the id before.
func (s *Ordering) AgentReviews(ctx context.Context, agentID, before string, limit int) ([]domain.Review, error) {
	var rows []reviewRow
	q := s.db.Conn(ctx).NewSelect().Model(&rows).Where("agent_id = ?", agentID)
	if before != "" {
		q = q.Where("id < ?", before)
	}
	if err := q.OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	out := make([]domain.Review, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// ReviewOf reads the review of an order, if any (kernel.ErrNotFound).
func (s *Ordering) ReviewOf(ctx context.Context, orderID string) (domain.Review, error) {
	row := new(reviewRow)
	err := s.db.Conn(ctx).NewSelect().Model(row).Where("order_id = ?", orderID).Scan(ctx)
	if IsNoRows(err) {
		return domain.Review{}, kernel.ErrNotFound
	}
	if err != nil {
		return domain.Review{}, fmt.Errorf("read review: %w", err)
	}
	return row.toDomain(), nil
}

// MarkRead marks the user's notices up to the id (and every older one) read.
func (s *Inbox) MarkRead(ctx context.Context, user kernel.UserID, upTo string, at time.Time) error {
	if _, err := s.db.Conn(ctx).NewUpdate().Model((*notificationRow)(nil)).Set("read_at = ?", at).
		Where("user_id = ? AND id <= ? AND read_at IS NULL", string(user), upTo).Exec(ctx); err != nil {
		return fmt.Errorf("mark notifications read: %w", err)
	}
	return nil
}

// AgentOrders lists the ids of the agent's orders in any of the statuses, oldest first.
func (s *Ordering) AgentOrders(ctx context.Context, agentID string, statuses []domain.Status) ([]string, error) {
	st := make([]string, len(statuses))
	for i, x := range statuses {
		st[i] = string(x)
	}
	var ids []string
	if err := s.db.Conn(ctx).NewSelect().Model((*orderRow)(nil)).Column("id").
		Where("agent_id = ?", agentID).Where("status IN (?)", bun.In(st)).OrderExpr("id").Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("list agent orders: %w", err)
	}
	return ids, nil
}

// MissedDeadlines counts, per agent, the orders marked late whose deadline
// fell at or after since (agentID "" for every agent with at least min).
func (s *Ordering) MissedDeadlines(ctx context.Context, agentID string, since time.Time, min int) ([]ordering.AgentCount, error) {
	var out []ordering.AgentCount
	q := s.db.Conn(ctx).NewSelect().Model((*orderRow)(nil)).ColumnExpr("agent_id, COUNT(*) AS n").
		Where("late").Where("deadline >= ?", since)
	if agentID != "" {
		q = q.Where("agent_id = ?", agentID)
	}
	if err := q.GroupExpr("agent_id").Having("COUNT(*) >= ?", min).OrderExpr("agent_id").Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("count missed deadlines: %w", err)
	}
	return out, nil
}

// ReviewActivity lists, for every customer who reviewed since the time,
// the owner whose agents they reviewed, how many reviews, and with how
// many owners they ever ordered.
func (s *Ordering) ReviewActivity(ctx context.Context, since time.Time) ([]ordering.ReviewerActivity, error) {
	var out []ordering.ReviewerActivity
	err := s.db.Conn(ctx).NewSelect().TableExpr("reviews AS r").Join("JOIN orders AS o ON o.id = r.order_id").
		ColumnExpr("r.customer_id AS customer_id, o.owner_id AS owner_id, COUNT(*) AS reviews").
		ColumnExpr("(SELECT COUNT(DISTINCT o2.owner_id) FROM orders AS o2 WHERE o2.customer_id = r.customer_id) AS owners").
		Where("r.created_at >= ?", since).GroupExpr("r.customer_id, o.owner_id").OrderExpr("o.owner_id, r.customer_id").
		Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("review activity: %w", err)
	}
	return out, nil
}
