package ordering

import (
	"context"
	"fmt"
	"time"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// TimersRun says what one run of the timers did.
type TimersRun struct {
	Expired, Late, Reminded, Escalated, Completed int
}

// RunTimers does what time alone decides (the periodic job): cancels with
// a full refund orders nobody approved within the approval window, marks orders
// late, reminds owners of deliveries waiting for review and tells support
// of stalled ones, and completes delivered orders whose review window ran
// out. Each order is handled in its own transaction, locked, and only if it
// is still due, so runs on several workers at once do each thing once.
func (s *Service) RunTimers(ctx context.Context) (TimersRun, error) {
	var run TimersRun
	now := s.d.Clock.Now()
	steps := []struct {
		due   Due
		by    time.Time
		count *int
		fn    func(ctx context.Context, o *domain.Order) (bool, error)
	}{
		{DueApproval, now.Add(-domain.ApprovalWindow), &run.Expired, s.expireApproval},
		{DueLate, now, &run.Late, s.markLate},
		{DueReminder, now.Add(-domain.ReviewReminderAfter), &run.Reminded, s.remindOwner},
		{DueEscalation, now.Add(-domain.ReviewEscalationAfter), &run.Escalated, s.escalateReview},
		{DueCompletion, now.Add(-s.d.Config.ReviewWindow), &run.Completed, s.autoComplete},
	}
	for _, st := range steps {
		for {
			ids, err := s.d.Store.OrdersDue(ctx, st.due, st.by, 100)
			if err != nil {
				return run, err
			}
			moved := 0
			for _, id := range ids {
				var did bool
				err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
					o, err := s.d.Store.Order(ctx, id, true)
					if err != nil {
						return err
					}
					did, err = st.fn(ctx, &o)
					return err
				})
				if err != nil {
					return run, fmt.Errorf("%s of order %s: %w", st.due, id, err)
				}
				if did {
					*st.count++
					moved++
				}
			}
			if len(ids) < 100 || moved == 0 {
				break
			}
		}
	}
	return run, nil
}

func (s *Service) markLate(ctx context.Context, o *domain.Order) (bool, error) {
	now := s.d.Clock.Now()
	if !o.MarkLate(now) {
		return false, nil
	}
	if err := s.d.Store.SaveOrder(ctx, *o, domain.InProgress); err != nil {
		return false, err
	}
	if err := s.d.Agents.RecordMissedDeadline(ctx, o.AgentID); err != nil {
		return false, err
	}
	return true, s.d.Notifier.Notify(ctx, notification.Notice{User: o.CustomerID, Kind: "ordering.deadline_missed",
		Subject: fmt.Sprintf("%q missed its deadline", o.Title),
		Body: fmt.Sprintf("@%s has not delivered by the deadline (%s). You may cancel for a full refund from %s, or keep waiting.",
			o.AgentHandle, o.Deadline.UTC().Format("2006-01-02 15:04 MST"), o.Deadline.Add(domain.LateCancelAfter).UTC().Format("2006-01-02 15:04 MST")),
		Link: "/orders/" + o.ID})
}

func (s *Service) remindOwner(ctx context.Context, o *domain.Order) (bool, error) {
	if o.Status != domain.InReview || o.ReviewReminded {
		return false, nil
	}
	o.ReviewReminded = true
	if err := s.d.Store.SaveOrder(ctx, *o, domain.InReview); err != nil {
		return false, err
	}
	return true, s.d.Notifier.Notify(ctx, notification.Notice{User: o.OwnerID, Kind: "ordering.review_reminder",
		Subject: fmt.Sprintf("A delivery of %q has waited a day for your review", o.Title),
		Body:    "Release it to the customer or send it back to the agent with a note. Reviews stalled for three days go to heepr support.",
		Link:    "/orders/" + o.ID})
}

func (s *Service) escalateReview(ctx context.Context, o *domain.Order) (bool, error) {
	if o.Status != domain.InReview || o.ReviewEscalated {
		return false, nil
	}
	o.ReviewEscalated = true
	if err := s.d.Store.SaveOrder(ctx, *o, domain.InReview); err != nil {
		return false, err
	}
	if s.d.Escalate != nil {
		return true, s.d.Escalate(ctx, *o)
	}
	return true, s.d.Notifier.NotifySupport(ctx, "ordering.review_stalled",
		fmt.Sprintf("Owner review stalled: order %s", o.ID),
		fmt.Sprintf("Order %s (%q, @%s, owner %s) has waited for its owner's review since %s.",
			o.ID, o.Title, o.AgentHandle, o.OwnerID, o.ReviewStartedAt.UTC().Format(time.RFC3339)))
}

func (s *Service) autoComplete(ctx context.Context, o *domain.Order) (bool, error) {
	err := o.Complete(s.d.Clock.Now(), s.d.Config.ReviewWindow, true)
	if e, ok := kernel.As(err); ok && e.Kind == kernel.ErrConflict {
		return false, nil // no longer due
	}
	if err != nil {
		return false, err
	}
	return true, s.complete(ctx, *o)
}
