package moderation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/moderation/domain"
	"github.com/heepr/heepr/modules/ordering"
)

// Case is a case (for adapters).
type Case = domain.Case

var errCaseNotFound = kernel.NotFound("case")

// Flag opens a case on an order at its customer's request: the order is
// disputed (ordering.Dispute) and the case opened in one transaction.
func (s *Service) Flag(ctx context.Context, p kernel.Principal, orderID, reason, details string) (Case, error) {
	details, err := domain.Details("details", details, 5000)
	if err != nil {
		return Case{}, err
	}
	var c Case
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		o, err := s.d.Orders.Dispute(ctx, p, orderID, reason, details)
		if err != nil {
			return err
		}
		c = Case{ID: kernel.NewID(), Kind: domain.KindFlag, Reason: reason, Status: domain.CaseOpen,
			Subject: domain.FlagSubject(o.ID), Details: details, OrderID: o.ID, AgentID: o.AgentID, OwnerID: o.OwnerID,
			FlaggedBy: p.UserID, OpenedAt: s.clock.Now()}
		if created, err := s.d.Cases.InsertCase(ctx, c); err != nil {
			return err
		} else if !created {
			return kernel.Conflict("case-open", "the order already has an open case")
		}
		return s.d.Notifier.NotifySupport(ctx, "moderation.case_opened", fmt.Sprintf("Order %s flagged (%s)", o.ID, reason),
			fmt.Sprintf("The customer of order %s (%q, @%s) flagged it: %s\n\n%s\n\nCase %s.", o.ID, o.Title, o.AgentHandle, reason, details, c.ID))
	})
	return c, err
}

// ListCases pages through the case queue, oldest first: by status, reason,
// and cases opened at least minAge ago.
func (s *Service) ListCases(ctx context.Context, status, reason string, minAge time.Duration, cursor string, limit int) ([]Case, string, error) {
	var f kernel.Fields
	if status != "" && status != domain.CaseOpen && status != domain.CaseResolved {
		f.Add("status", "must be open or resolved")
	}
	if reason != "" && !slices.Contains(domain.Reasons, reason) {
		f.Add("reason", "is not a case reason")
	}
	if minAge < 0 {
		f.Add("min_age_hours", "must not be negative")
	}
	if err := f.Err(); err != nil {
		return nil, "", err
	}
	after, err := kernel.IDCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	n := kernel.Limit(limit, 50, 200)
	cf := CaseFilter{Status: status, Reason: reason, After: after, Limit: n + 1}
	if minAge > 0 {
		cf.OpenedBy = s.clock.Now().Add(-minAge)
	}
	rows, err := s.d.Cases.Cases(ctx, cf)
	if err != nil {
		return nil, "", err
	}
	rows, next := kernel.PageByID(rows, n, func(c Case) string { return c.ID })
	return rows, next, nil
}

// CaseDetail is everything support needs to decide a case.
type CaseDetail struct {
	Case               Case
	Order              *ordering.OrderView
	Messages           []ordering.Message
	Postings           []ledger.OrderPosting
	PaidOut            bool
	Agent              *marketplace.AgentRecord
	MissedDeadlines30d int
	EarlierCases       []Case
}

// MaxEarlierCases is how many of the agent's other cases a case file lists.
const MaxEarlierCases = 50

// GetCase reads a case with its order, conversation, postings, the agent's
// record and its earlier cases.
func (s *Service) GetCase(ctx context.Context, id string) (CaseDetail, error) {
	c, err := s.d.Cases.Case(ctx, id, false)
	if errors.Is(err, kernel.ErrNotFound) {
		return CaseDetail{}, errCaseNotFound
	}
	if err != nil {
		return CaseDetail{}, err
	}
	out := CaseDetail{Case: c, Messages: []ordering.Message{}, Postings: []ledger.OrderPosting{}, EarlierCases: []Case{}}
	if c.OrderID != "" {
		f, err := s.d.Orders.CaseFile(ctx, c.OrderID)
		if err != nil {
			return CaseDetail{}, err
		}
		out.Order, out.Messages = &f.Order, f.Messages
		if out.Postings, err = s.d.Ledger.OrderPostings(ctx, c.OrderID); err != nil {
			return CaseDetail{}, err
		}
		if out.PaidOut, err = s.d.Ledger.PaidOut(ctx, c.OrderID); err != nil {
			return CaseDetail{}, err
		}
	}
	if c.AgentID != "" {
		a, err := s.d.Agents.Agent(ctx, c.AgentID)
		if err != nil {
			return CaseDetail{}, err
		}
		out.Agent = &a
		counts, err := s.d.Orders.MissedDeadlines(ctx, c.AgentID, s.clock.Now().Add(-domain.MissedDeadlineWindow), 1)
		if err != nil {
			return CaseDetail{}, err
		}
		for _, n := range counts {
			out.MissedDeadlines30d += n.N
		}
		earlier, err := s.d.Cases.AgentCases(ctx, c.AgentID, MaxEarlierCases+1)
		if err != nil {
			return CaseDetail{}, err
		}
		earlier = slices.DeleteFunc(earlier, func(e Case) bool { return e.ID == c.ID })
		out.EarlierCases = earlier[:min(len(earlier), MaxEarlierCases)]
	}
	return out, nil
}

// Decision is support's resolution of a case.
type Decision struct {
	Action string        // refund or dismiss
	Amount kernel.Points // refund: 0 for the whole price
	Source string        // refund after payout: owner_clawback (default) or platform_goodwill
	Note   string
}

// ResolveCase settles a case: a refund or a dismissal of a flagged order
// (ordering.SettleDispute), or the dismissal of a signal. The case row is
// locked first, so of two concurrent resolutions one wins and the other
// finds the case resolved. Audited in the same transaction.
func (s *Service) ResolveCase(ctx context.Context, p kernel.Principal, id string, d Decision) (Case, error) {
	note, err := domain.Text("note", d.Note, domain.MaxNote)
	if err != nil {
		return Case{}, err
	}
	var out Case
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.d.Cases.Case(ctx, id, true)
		if errors.Is(err, kernel.ErrNotFound) {
			return errCaseNotFound
		}
		if err != nil {
			return err
		}
		if err := domain.CheckResolution(c, d.Action, d.Amount, d.Source); err != nil {
			return err
		}
		res := &domain.Resolution{Action: d.Action, Note: note, ResolvedBy: p.Actor()}
		if c.Kind == domain.KindFlag {
			st, err := s.d.Orders.SettleDispute(ctx, c.OrderID, ordering.Resolution{Refund: d.Action == domain.ActionRefund,
				Amount: d.Amount, Source: ledger.RefundSource(d.Source), Note: note})
			if err != nil {
				return err
			}
			res.Refunded, res.FromEscrow, res.ClawedBack, res.Goodwill, res.ToOwner = st.Refunded, st.FromEscrow, st.ClawedBack, st.Goodwill, st.ToOwner
		}
		c.Status, c.ResolvedAt, c.Resolution = domain.CaseResolved, s.clock.Now(), res
		if err := s.d.Cases.Resolve(ctx, c); err != nil {
			return err
		}
		why := note
		if d.Action == domain.ActionRefund {
			why = fmt.Sprintf("refunded %d (escrow %d, clawback %d, goodwill %d): %s", res.Refunded, res.FromEscrow, res.ClawedBack, res.Goodwill, note)
		}
		if _, err := s.Record(ctx, p.Actor(), "moderation.case_"+d.Action+"ed", "case:"+c.ID, why); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// ReviewStalled opens a case for an owner review stalled past the
// escalation time (ordering's timers call it in their transaction). An
// open case on the order already is enough.
func (s *Service) ReviewStalled(ctx context.Context, o ordering.Order) error {
	c := Case{ID: kernel.NewID(), Kind: domain.KindSignal, Reason: domain.SignalReviewStalled, Status: domain.CaseOpen,
		Subject: domain.ReviewStalledSubject(o.ID), OrderID: o.ID, AgentID: o.AgentID, OwnerID: o.OwnerID, OpenedAt: s.clock.Now(),
		Details: fmt.Sprintf("Order %s (%q, @%s) has waited for its owner's review since %s.", o.ID, o.Title, o.AgentHandle,
			o.ReviewStartedAt.UTC().Format(time.RFC3339))}
	_, err := s.openSignal(ctx, c)
	return err
}

// openSignal opens a case from an automatic signal and emails support; an
// open case on the same subject makes it a no-op (created is false).
func (s *Service) openSignal(ctx context.Context, c Case) (created bool, err error) {
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		if created, err = s.d.Cases.InsertCase(ctx, c); err != nil || !created {
			return err
		}
		return s.d.Notifier.NotifySupport(ctx, "moderation.signal", "Automatic signal: "+c.Reason, c.Details+"\n\nCase "+c.ID+".")
	})
	return created, err
}
