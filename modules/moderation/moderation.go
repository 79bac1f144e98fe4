// Package moderation is trust and safety: customers' flags and the cases
// support works (refunds and dismissals), automatic signals that open
// cases, suspensions and reinstatements of agents and users, and the audit
// log (an append-only, hash-chained record of support actions and
// security-relevant changes). ADR 9 and ADR 10.
package moderation

import (
	"context"
	"fmt"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/moderation/domain"
)

// Audit keeps the audit log. Append adds an entry after the current head
// under a lock held to commit (entries are numbered without gaps, in
// commit order); the database refuses UPDATE and DELETE on entries.
type Audit interface {
	// Append locks the head, builds the next entry with next(head) and stores it.
	Append(ctx context.Context, next func(head domain.Entry) domain.Entry) (domain.Entry, error)
	// Entries returns up to limit entries after seq, in order.
	Entries(ctx context.Context, after int64, limit int) ([]domain.Entry, error)
	// Search returns up to limit entries before seq (0: from the newest),
	// newest first, of the actor and the target when given.
	Search(ctx context.Context, actor, target string, before int64, limit int) ([]domain.Entry, error)
}

// Entry is one audit log entry (for other modules and adapters).
type Entry = domain.Entry

// Service is the moderation facade.
type Service struct {
	tx    kernel.Tx
	clock kernel.Clock
	audit Audit
	d     Deps
}

// New builds the service with its audit log; Connect adds the modules it
// acts through (they take the audit log first, so they are built after).
func New(tx kernel.Tx, clock kernel.Clock, audit Audit) *Service {
	return &Service{tx: tx, clock: clock, audit: audit}
}

// Connect gives the service the modules it acts through.
func (s *Service) Connect(d Deps) { s.d = d }

// Record appends an entry to the audit log in the transaction in ctx (or
// its own): who (actor) did what (action) to what (target), and why.
func (s *Service) Record(ctx context.Context, actor, action, target, reason string) (Entry, error) {
	e := domain.Entry{At: s.clock.Now(), Actor: actor, Action: action, Target: target, Reason: reason}
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	var out Entry
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.audit.Append(ctx, func(head domain.Entry) domain.Entry { return domain.Next(head, e) })
		return err
	})
	return out, err
}

// Audit is Record as a kernel.AuditFunc, for the modules that record
// security-relevant changes without importing moderation.
func (s *Service) Audit(ctx context.Context, actor, action, target, reason string) error {
	_, err := s.Record(ctx, actor, action, target, reason)
	return err
}

// Verification is the outcome of checking the whole audit log.
type Verification struct {
	Entries  int64 // entries checked
	FirstBad int64 // seq of the first entry not in the chain; 0 when every entry is
}

// Verify walks the whole audit log and names the first entry that breaks
// the hash chain (`heepr admin audit verify`).
func (s *Service) Verify(ctx context.Context) (Verification, error) {
	var (
		v    Verification
		prev domain.Entry
	)
	for {
		page, err := s.audit.Entries(ctx, prev.Seq, 1000)
		if err != nil {
			return v, fmt.Errorf("read audit log: %w", err)
		}
		if bad := domain.Check(page, prev); bad != 0 {
			v.FirstBad = bad
			return v, nil
		}
		v.Entries += int64(len(page))
		if len(page) < 1000 {
			return v, nil
		}
		prev = page[len(page)-1]
	}
}

// List pages through the audit log, newest first, optionally of one actor
// and one target.
func (s *Service) List(ctx context.Context, actor, target, cursor string, limit int) ([]Entry, string, error) {
	var before int64
	if cursor != "" {
		if err := kernel.DecodeCursor(cursor, &before); err != nil || before <= 0 {
			return nil, "", kernel.Invalid(kernel.FieldError{Field: "cursor", Detail: "is not a cursor this API issued"})
		}
	}
	limit = kernel.Limit(limit, 50, 200)
	rows, err := s.audit.Search(ctx, actor, target, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = kernel.EncodeCursor(rows[limit-1].Seq)
	}
	return rows, next, nil
}
