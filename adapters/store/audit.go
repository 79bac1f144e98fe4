package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/heepr/heepr/modules/moderation"
	"github.com/heepr/heepr/modules/moderation/domain"
)

// Audit implements the moderation module's audit log.
type Audit struct{ db *DB }

// NewAudit returns the audit log store.
func NewAudit(db *DB) *Audit { return &Audit{db: db} }

var _ moderation.Audit = (*Audit)(nil)

type auditRow struct {
	bun.BaseModel `bun:"table:audit_events,alias:ae"`

	Seq      int64     `bun:"seq,pk"`
	At       time.Time `bun:"at"`
	Actor    string    `bun:"actor"`
	Action   string    `bun:"action"`
	Target   string    `bun:"target"`
	Reason   string    `bun:"reason"`
	PrevHash string    `bun:"prev_hash"`
	Hash     string    `bun:"hash"`
}

// Append locks the head row (a no-op update takes the row lock on
// Postgres; SQLite transactions are serial), stores the next entry and
// moves the head to it.
func (s *Audit) Append(ctx context.Context, next func(head domain.Entry) domain.Entry) (domain.Entry, error) {
	var out domain.Entry
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		conn := s.db.Conn(ctx)
		var head domain.Entry
		if err := conn.NewRaw("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash").Scan(ctx, &head.Seq, &head.Hash); err != nil {
			return fmt.Errorf("lock audit head: %w", err)
		}
		out = next(head)
		row := &auditRow{Seq: out.Seq, At: out.At, Actor: out.Actor, Action: out.Action, Target: out.Target, Reason: out.Reason,
			PrevHash: out.PrevHash, Hash: out.Hash}
		if _, err := conn.NewInsert().Model(row).Exec(ctx); err != nil {
			return fmt.Errorf("append audit entry: %w", err)
		}
		if _, err := conn.NewRaw("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", out.Seq, out.Hash).Exec(ctx); err != nil {
			return fmt.Errorf("move audit head: %w", err)
		}
		return nil
	})
	return out, err
}

// Search returns entries before seq (0: all), newest first, filtered.
func (s *Audit) Search(ctx context.Context, actor, target string, before int64, limit int) ([]domain.Entry, error) {
	var rows []auditRow
	q := s.db.Conn(ctx).NewSelect().Model(&rows)
	if actor != "" {
		q = q.Where("actor = ?", actor)
	}
	if target != "" {
		q = q.Where("target = ?", target)
	}
	if before > 0 {
		q = q.Where("seq < ?", before)
	}
	if err := q.OrderExpr("seq DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("search audit entries: %w", err)
	}
	return toEntries(rows), nil
}

func toEntries(rows []auditRow) []domain.Entry {
	out := make([]domain.Entry, len(rows))
	for i, r := range rows {
		out[i] = domain.Entry{Seq: r.Seq, At: r.At.UTC(), Actor: r.Actor, Action: r.Action, Target: r.Target, Reason: r.Reason,
			PrevHash: r.PrevHash, Hash: r.Hash}
	}
	return out
}

// Entries returns up to limit entries after seq, in order.
func (s *Audit) Entries(ctx context.Context, after int64, limit int) ([]domain.Entry, error) {
	var rows []auditRow
	if err := s.db.Conn(ctx).NewSelect().Model(&rows).Where("seq > ?", after).OrderExpr("seq").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read audit entries: %w", err)
	}
	return toEntries(rows), nil
}
