package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/moderation"
	"github.com/heepr/heepr/modules/moderation/domain"
)

// Cases implements the moderation module's cases and reinstatement requests.
type Cases struct{ db *DB }

// NewCases returns the cases store.
func NewCases(db *DB) *Cases { return &Cases{db: db} }

var _ moderation.Cases = (*Cases)(nil)

type caseRow struct {
	bun.BaseModel `bun:"table:moderation_cases,alias:mc"`

	ID         string     `bun:"id,pk"`
	Kind       string     `bun:"kind"`
	Reason     string     `bun:"reason"`
	Status     string     `bun:"status"`
	Subject    string     `bun:"subject"`
	Details    string     `bun:"details"`
	OrderID    *string    `bun:"order_id"`
	AgentID    *string    `bun:"agent_id"`
	OwnerID    *string    `bun:"owner_id"`
	FlaggedBy  *string    `bun:"flagged_by"`
	OpenedAt   time.Time  `bun:"opened_at"`
	ResolvedAt *time.Time `bun:"resolved_at"`
	Resolution *string    `bun:"resolution"`
}

func toCaseRow(c domain.Case) (*caseRow, error) {
	r := &caseRow{ID: c.ID, Kind: c.Kind, Reason: c.Reason, Status: c.Status, Subject: c.Subject, Details: c.Details,
		OrderID: nullable(c.OrderID), AgentID: nullable(c.AgentID), OwnerID: nullable(string(c.OwnerID)),
		FlaggedBy: nullable(string(c.FlaggedBy)), OpenedAt: c.OpenedAt, ResolvedAt: timePtr(c.ResolvedAt)}
	if c.Resolution != nil {
		b, err := json.Marshal(c.Resolution)
		if err != nil {
			return nil, err
		}
		s := string(b)
		r.Resolution = &s
	}
	return r, nil
}

func (r *caseRow) toDomain() (domain.Case, error) {
	c := domain.Case{ID: r.ID, Kind: r.Kind, Reason: r.Reason, Status: r.Status, Subject: r.Subject, Details: r.Details,
		OpenedAt: r.OpenedAt.UTC(), ResolvedAt: zeroOr(r.ResolvedAt)}
	if r.OrderID != nil {
		c.OrderID = *r.OrderID
	}
	if r.AgentID != nil {
		c.AgentID = *r.AgentID
	}
	if r.OwnerID != nil {
		c.OwnerID = kernel.UserID(*r.OwnerID)
	}
	if r.FlaggedBy != nil {
		c.FlaggedBy = kernel.UserID(*r.FlaggedBy)
	}
	if r.Resolution != nil {
		c.Resolution = new(domain.Resolution)
		if err := json.Unmarshal([]byte(*r.Resolution), c.Resolution); err != nil {
			return domain.Case{}, fmt.Errorf("decode resolution of case %s: %w", r.ID, err)
		}
	}
	return c, nil
}

func toCases(rows []caseRow) ([]domain.Case, error) {
	out := make([]domain.Case, len(rows))
	for i := range rows {
		c, err := rows[i].toDomain()
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// InsertCase adds a case unless one on its subject is open (false then).
// ON CONFLICT keeps the caller's transaction usable on Postgres.
func (s *Cases) InsertCase(ctx context.Context, c domain.Case) (bool, error) {
	row, err := toCaseRow(c)
	if err != nil {
		return false, err
	}
	res, err := s.db.Conn(ctx).NewInsert().Model(row).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("insert case: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Case reads one case (locked with lock, on Postgres).
func (s *Cases) Case(ctx context.Context, id string, lock bool) (domain.Case, error) {
	row := new(caseRow)
	q := s.db.Conn(ctx).NewSelect().Model(row).Where("id = ?", id)
	if lock && s.db.Dialect == Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); IsNoRows(err) {
		return domain.Case{}, kernel.ErrNotFound
	} else if err != nil {
		return domain.Case{}, fmt.Errorf("read case: %w", err)
	}
	return row.toDomain()
}

// Resolve writes a case's resolution if it is still open.
func (s *Cases) Resolve(ctx context.Context, c domain.Case) error {
	row, err := toCaseRow(c)
	if err != nil {
		return err
	}
	res, err := s.db.Conn(ctx).NewUpdate().Model(row).Column("status", "resolved_at", "resolution").
		WherePK().Where("status = 'open'").Exec(ctx)
	if err != nil {
		return fmt.Errorf("resolve case: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return kernel.Conflict("case-resolved", "the case is already resolved")
	}
	return nil
}

// Cases lists cases oldest first, after the id.
func (s *Cases) Cases(ctx context.Context, f moderation.CaseFilter) ([]domain.Case, error) {
	var rows []caseRow
	q := s.db.Conn(ctx).NewSelect().Model(&rows)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Reason != "" {
		q = q.Where("reason = ?", f.Reason)
	}
	if !f.OpenedBy.IsZero() {
		q = q.Where("opened_at <= ?", f.OpenedBy)
	}
	if f.AgentID != "" {
		q = q.Where("agent_id = ?", f.AgentID)
	}
	if f.After != "" {
		q = q.Where("id > ?", f.After)
	}
	if err := q.OrderExpr("id").Limit(int64(f.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	return toCases(rows)
}

// AgentCases lists an agent's cases newest first.
func (s *Cases) AgentCases(ctx context.Context, agentID string, limit int) ([]domain.Case, error) {
	var rows []caseRow
	if err := s.db.Conn(ctx).NewSelect().Model(&rows).Where("agent_id = ?", agentID).
		OrderExpr("opened_at DESC, id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list agent cases: %w", err)
	}
	return toCases(rows)
}

// LastOpened is when the newest case on the subject was opened (zero: never).
func (s *Cases) LastOpened(ctx context.Context, subject string) (time.Time, error) {
	var at []time.Time
	if err := s.db.Conn(ctx).NewSelect().Model((*caseRow)(nil)).Column("opened_at").Where("subject = ?", subject).
		OrderExpr("opened_at DESC").Limit(1).Scan(ctx, &at); err != nil {
		return time.Time{}, fmt.Errorf("read last case: %w", err)
	}
	if len(at) == 0 {
		return time.Time{}, nil
	}
	return at[0].UTC(), nil
}

type requestRow struct {
	bun.BaseModel `bun:"table:reinstatement_requests,alias:rr"`

	ID           string     `bun:"id,pk"`
	AgentID      string     `bun:"agent_id"`
	OwnerID      string     `bun:"owner_id"`
	Message      string     `bun:"message"`
	Status       string     `bun:"status"`
	CreatedAt    time.Time  `bun:"created_at"`
	DecidedAt    *time.Time `bun:"decided_at"`
	DecidedBy    *string    `bun:"decided_by"`
	DecisionNote *string    `bun:"decision_note"`

	AgentHandle string `bun:"agent_handle,scanonly"`
}

func (r *requestRow) toDomain() domain.ReinstatementRequest {
	out := domain.ReinstatementRequest{ID: r.ID, AgentID: r.AgentID, AgentHandle: r.AgentHandle, OwnerID: kernel.UserID(r.OwnerID),
		Message: r.Message, Status: r.Status, CreatedAt: r.CreatedAt.UTC(), DecidedAt: zeroOr(r.DecidedAt)}
	if r.DecidedBy != nil {
		out.DecidedBy = *r.DecidedBy
	}
	if r.DecisionNote != nil {
		out.DecisionNote = *r.DecisionNote
	}
	return out
}

// InsertRequest adds a reinstatement request; a second open one for the agent is a conflict.
func (s *Cases) InsertRequest(ctx context.Context, r domain.ReinstatementRequest) error {
	row := &requestRow{ID: r.ID, AgentID: r.AgentID, OwnerID: string(r.OwnerID), Message: r.Message, Status: r.Status, CreatedAt: r.CreatedAt}
	if _, err := s.db.Conn(ctx).NewInsert().Model(row).Exec(ctx); err != nil { // agent_handle is scanonly: never inserted
		if IsUniqueViolation(err) {
			return kernel.Conflict("reinstatement-requested", "a request to reinstate this agent is already waiting for support")
		}
		return fmt.Errorf("insert reinstatement request: %w", err)
	}
	return nil
}

func (s *Cases) requests(ctx context.Context, rows *[]requestRow) *bun.SelectQuery {
	return s.db.Conn(ctx).NewSelect().Model(rows).ColumnExpr("rr.*").ColumnExpr("a.handle AS agent_handle").
		Join("JOIN agents AS a ON a.id = rr.agent_id")
}

// Request reads one request; OpenRequest the agent's open one (kernel.ErrNotFound when none).
func (s *Cases) Request(ctx context.Context, id string) (domain.ReinstatementRequest, error) {
	var rows []requestRow
	if err := s.requests(ctx, &rows).Where("rr.id = ?", id).Scan(ctx); err != nil {
		return domain.ReinstatementRequest{}, fmt.Errorf("read reinstatement request: %w", err)
	}
	if len(rows) == 0 {
		return domain.ReinstatementRequest{}, kernel.ErrNotFound
	}
	return rows[0].toDomain(), nil
}

// OpenRequest reads the agent's open request (kernel.ErrNotFound when none).
func (s *Cases) OpenRequest(ctx context.Context, agentID string) (domain.ReinstatementRequest, error) {
	var rows []requestRow
	if err := s.requests(ctx, &rows).Where("rr.agent_id = ? AND rr.status = 'open'", agentID).Scan(ctx); err != nil {
		return domain.ReinstatementRequest{}, fmt.Errorf("read reinstatement request: %w", err)
	}
	if len(rows) == 0 {
		return domain.ReinstatementRequest{}, kernel.ErrNotFound
	}
	return rows[0].toDomain(), nil
}

// DecideRequest records support's decision on an open request.
func (s *Cases) DecideRequest(ctx context.Context, r domain.ReinstatementRequest) error {
	res, err := s.db.Conn(ctx).NewUpdate().Model((*requestRow)(nil)).Set("status = ?", r.Status).Set("decided_at = ?", r.DecidedAt).
		Set("decided_by = ?", r.DecidedBy).Set("decision_note = ?", r.DecisionNote).
		Where("id = ? AND status = 'open'", r.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("decide reinstatement request: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return kernel.Conflict("request-decided", "the request was already decided")
	}
	return nil
}

// Requests lists requests oldest first, after the id, optionally of one status.
func (s *Cases) Requests(ctx context.Context, status, after string, limit int) ([]domain.ReinstatementRequest, error) {
	var rows []requestRow
	q := s.requests(ctx, &rows)
	if status != "" {
		q = q.Where("rr.status = ?", status)
	}
	if after != "" {
		q = q.Where("rr.id > ?", after)
	}
	if err := q.OrderExpr("rr.id").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list reinstatement requests: %w", err)
	}
	out := make([]domain.ReinstatementRequest, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}
