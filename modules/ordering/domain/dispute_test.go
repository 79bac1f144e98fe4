package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// requireKind checks err is a kernel error of kind and code, via kernel.As.
func requireKind(t *testing.T, err error, kind kernel.Kind, code string) *kernel.Error {
	t.Helper()
	require.Error(t, err)
	e, ok := kernel.As(err)
	require.True(t, ok, "not a kernel error: %v", err)
	require.Equal(t, kind, e.Kind)
	require.Equal(t, code, e.Code)
	require.NotEmpty(t, e.Detail)
	return e
}

// requireInvalidField checks err is a validation error naming exactly field.
func requireInvalidField(t *testing.T, err error, field string) {
	t.Helper()
	e := requireKind(t, err, kernel.ErrInvalid, "validation")
	require.Len(t, e.Fields, 1)
	require.Equal(t, field, e.Fields[0].Field)
	require.NotEmpty(t, e.Fields[0].Detail)
}

// orderIn is the started order moved to status s, with every clock set.
func orderIn(s domain.Status) domain.Order {
	o := started()
	o.Price = 500
	o.Status = s
	o.ReviewStartedAt = t0.Add(10 * time.Hour)
	o.DeliveredAt = t0.Add(20 * time.Hour)
	o.CompletedAt = t0.Add(30 * time.Hour)
	return o
}

// disputedFrom is an order flagged from s at at.
func disputedFrom(t *testing.T, s domain.Status, at time.Time) domain.Order {
	t.Helper()
	o := orderIn(s)
	reason := domain.FlagOffScope
	if s == domain.Completed {
		reason = domain.FlagPolicyViolation
		o.CompletedAt = at.Add(-time.Hour)
	}
	require.NoError(t, o.Flag(at, reason))
	require.Equal(t, domain.Disputed, o.Status)
	return o
}

func TestFlagReasons(t *testing.T) {
	t.Parallel()
	require.ElementsMatch(t, []string{"missed_deadline", "off_scope", "policy_violation", "other"}, domain.FlagReasons)
	require.Equal(t, 14*24*time.Hour, domain.FlagAfterCompletion)
}

func TestFlagFromOpenStatuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status domain.Status
		late   bool
	}{
		{"in progress", domain.InProgress, false},
		{"in progress and late", domain.InProgress, true},
		{"in review", domain.InReview, false},
		{"delivered", domain.Delivered, false},
	}
	for _, c := range cases {
		for _, reason := range domain.FlagReasons {
			t.Run(c.name+"/"+reason, func(t *testing.T) {
				t.Parallel()
				o := orderIn(c.status)
				o.Late = c.late
				at := t0.Add(40 * time.Hour)
				require.NoError(t, o.Flag(at, reason))
				require.Equal(t, domain.Disputed, o.Status)
				require.Equal(t, c.status, o.DisputedFrom)
				require.Equal(t, at, o.DisputedAt)
				require.Equal(t, at, o.UpdatedAt)
				require.Equal(t, c.late, o.Late, "flagging leaves the late mark alone")
				require.Equal(t, t0.Add(96*time.Hour), o.Deadline, "flagging does not move the deadline")
			})
		}
	}
}

func TestFlagCompleted(t *testing.T) {
	t.Parallel()
	done := t0.Add(30 * time.Hour)
	completed := func() domain.Order {
		o := orderIn(domain.Completed)
		o.CompletedAt = done
		return o
	}

	t.Run("policy violation right after completion", func(t *testing.T) {
		t.Parallel()
		o := completed()
		at := done.Add(time.Minute)
		require.NoError(t, o.Flag(at, domain.FlagPolicyViolation))
		require.Equal(t, domain.Disputed, o.Status)
		require.Equal(t, domain.Completed, o.DisputedFrom)
		require.Equal(t, at, o.DisputedAt)
	})
	t.Run("policy violation exactly 14 days after", func(t *testing.T) {
		t.Parallel()
		o := completed()
		at := done.Add(domain.FlagAfterCompletion)
		require.NoError(t, o.Flag(at, domain.FlagPolicyViolation))
		require.Equal(t, domain.Disputed, o.Status)
		require.Equal(t, domain.Completed, o.DisputedFrom)
		require.Equal(t, at, o.DisputedAt)
	})
	t.Run("policy violation 14 days and 1ns after", func(t *testing.T) {
		t.Parallel()
		o := completed()
		err := o.Flag(done.Add(domain.FlagAfterCompletion+time.Nanosecond), domain.FlagPolicyViolation)
		requireKind(t, err, kernel.ErrConflict, "flag-not-allowed")
		require.ErrorIs(t, err, kernel.ErrConflict)
		require.Equal(t, completed(), o, "a refused flag changes nothing")
	})
	for _, reason := range []string{domain.FlagMissedDeadline, domain.FlagOffScope, domain.FlagOther} {
		t.Run(reason+" is refused", func(t *testing.T) {
			t.Parallel()
			o := completed()
			requireKind(t, o.Flag(done.Add(time.Hour), reason), kernel.ErrConflict, "flag-not-allowed")
			require.Equal(t, completed(), o)
		})
	}
}

func TestFlagRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status domain.Status
		code   string
	}{
		{domain.PendingApproval, "flag-not-allowed"},
		{domain.Cancelled, "flag-not-allowed"},
		{domain.Refunded, "flag-not-allowed"},
		{domain.Disputed, "case-open"},
	}
	for _, c := range cases {
		for _, reason := range domain.FlagReasons {
			t.Run(string(c.status)+"/"+reason, func(t *testing.T) {
				t.Parallel()
				o := orderIn(c.status)
				before := o
				requireKind(t, o.Flag(t0.Add(40*time.Hour), reason), kernel.ErrConflict, c.code)
				require.Equal(t, before, o, "a refused flag changes nothing")
			})
		}
	}
	t.Run("already disputed keeps its origin", func(t *testing.T) {
		t.Parallel()
		at := t0.Add(40 * time.Hour)
		o := disputedFrom(t, domain.InReview, at)
		requireKind(t, o.Flag(at.Add(time.Hour), domain.FlagOther), kernel.ErrConflict, "case-open")
		require.Equal(t, domain.InReview, o.DisputedFrom)
		require.Equal(t, at, o.DisputedAt)
	})
}

func TestFlagBadReason(t *testing.T) {
	t.Parallel()
	for _, reason := range []string{"", "spam", "Policy_Violation", " other", "missed_deadlines"} {
		t.Run("reason "+reason, func(t *testing.T) {
			t.Parallel()
			o := orderIn(domain.InProgress)
			before := o
			err := o.Flag(t0.Add(time.Hour), reason)
			require.ErrorIs(t, err, kernel.ErrInvalid)
			requireInvalidField(t, err, "reason")
			require.Equal(t, before, o)
		})
	}
}

func TestResume(t *testing.T) {
	t.Parallel()
	flagAt := t0.Add(40 * time.Hour)
	paused := 27*time.Hour + 13*time.Minute + 5*time.Nanosecond
	resumeAt := flagAt.Add(paused)

	t.Run("in progress moves the deadline by the time disputed", func(t *testing.T) {
		t.Parallel()
		o := disputedFrom(t, domain.InProgress, flagAt)
		before := o
		require.NoError(t, o.Resume(resumeAt))
		require.Equal(t, domain.InProgress, o.Status)
		require.Equal(t, before.Deadline.Add(paused), o.Deadline)
		require.Equal(t, t0.Add(96*time.Hour).Add(paused), o.Deadline)
		require.Equal(t, before.ReviewStartedAt, o.ReviewStartedAt, "only the deadline runs in progress")
		require.Equal(t, before.DeliveredAt, o.DeliveredAt)
		require.Equal(t, before.CompletedAt, o.CompletedAt)
		require.Equal(t, before.StartedAt, o.StartedAt)
		require.Empty(t, o.DisputedFrom)
		require.True(t, o.DisputedAt.IsZero())
		require.Equal(t, resumeAt, o.UpdatedAt)
	})
	t.Run("in review moves the deadline and the review start", func(t *testing.T) {
		t.Parallel()
		o := disputedFrom(t, domain.InReview, flagAt)
		before := o
		require.NoError(t, o.Resume(resumeAt))
		require.Equal(t, domain.InReview, o.Status)
		require.Equal(t, before.Deadline.Add(paused), o.Deadline)
		require.Equal(t, before.ReviewStartedAt.Add(paused), o.ReviewStartedAt)
		require.Equal(t, before.DeliveredAt, o.DeliveredAt)
		require.Equal(t, before.CompletedAt, o.CompletedAt)
		require.Empty(t, o.DisputedFrom)
		require.True(t, o.DisputedAt.IsZero())
	})
	t.Run("delivered moves the delivery time", func(t *testing.T) {
		t.Parallel()
		o := disputedFrom(t, domain.Delivered, flagAt)
		before := o
		require.NoError(t, o.Resume(resumeAt))
		require.Equal(t, domain.Delivered, o.Status)
		require.Equal(t, before.DeliveredAt.Add(paused), o.DeliveredAt)
		require.Equal(t, before.Deadline, o.Deadline)
		require.Equal(t, before.ReviewStartedAt, o.ReviewStartedAt)
		require.Equal(t, before.CompletedAt, o.CompletedAt)
		require.Empty(t, o.DisputedFrom)
		require.True(t, o.DisputedAt.IsZero())
	})
	t.Run("completed stays completed with nothing moved", func(t *testing.T) {
		t.Parallel()
		o := disputedFrom(t, domain.Completed, flagAt)
		before := o
		require.NoError(t, o.Resume(resumeAt))
		require.Equal(t, domain.Completed, o.Status)
		require.Equal(t, before.Deadline, o.Deadline)
		require.Equal(t, before.ReviewStartedAt, o.ReviewStartedAt)
		require.Equal(t, before.DeliveredAt, o.DeliveredAt)
		require.Equal(t, before.CompletedAt, o.CompletedAt)
		require.Empty(t, o.DisputedFrom)
		require.True(t, o.DisputedAt.IsZero())
		require.Equal(t, resumeAt, o.UpdatedAt)
	})
	t.Run("zero times stay zero", func(t *testing.T) {
		t.Parallel()
		for _, s := range []domain.Status{domain.InProgress, domain.InReview, domain.Delivered} {
			o := orderIn(s)
			o.Deadline, o.ReviewStartedAt, o.DeliveredAt = time.Time{}, time.Time{}, time.Time{}
			require.NoError(t, o.Flag(flagAt, domain.FlagOther))
			require.NoError(t, o.Resume(resumeAt))
			require.Equal(t, s, o.Status)
			require.True(t, o.Deadline.IsZero(), s)
			require.True(t, o.ReviewStartedAt.IsZero(), s)
			require.True(t, o.DeliveredAt.IsZero(), s)
		}
	})
	t.Run("resuming the instant it was flagged moves nothing", func(t *testing.T) {
		t.Parallel()
		o := disputedFrom(t, domain.InReview, flagAt)
		before := o
		require.NoError(t, o.Resume(flagAt))
		require.Equal(t, before.Deadline, o.Deadline)
		require.Equal(t, before.ReviewStartedAt, o.ReviewStartedAt)
	})
	t.Run("a clock behind the flag never moves times back", func(t *testing.T) {
		t.Parallel()
		o := disputedFrom(t, domain.InReview, flagAt)
		before := o
		require.NoError(t, o.Resume(flagAt.Add(-time.Hour)))
		require.Equal(t, domain.InReview, o.Status)
		require.Equal(t, before.Deadline, o.Deadline)
		require.Equal(t, before.ReviewStartedAt, o.ReviewStartedAt)
	})
	for _, s := range []domain.Status{domain.PendingApproval, domain.InProgress, domain.InReview, domain.Delivered,
		domain.Completed, domain.Cancelled, domain.Refunded} {
		t.Run("not disputed: "+string(s), func(t *testing.T) {
			t.Parallel()
			o := orderIn(s)
			before := o
			err := o.Resume(resumeAt)
			require.ErrorIs(t, err, kernel.ErrConflict)
			requireKind(t, err, kernel.ErrConflict, "order-not-disputed")
			require.Equal(t, before, o)
		})
	}
}

func TestSupportRefund(t *testing.T) {
	t.Parallel()
	at := t0.Add(50 * time.Hour)

	t.Run("amounts", func(t *testing.T) {
		t.Parallel()
		for _, amount := range []kernel.Points{1, 250, 499, 500} {
			o := disputedFrom(t, domain.InProgress, t0.Add(40*time.Hour))
			require.NoError(t, o.SupportRefund(at, amount), amount)
			require.Equal(t, domain.Refunded, o.Status)
			require.Equal(t, amount, o.RefundedPoints)
			require.Empty(t, o.DisputedFrom)
			require.True(t, o.DisputedAt.IsZero())
			require.Equal(t, at, o.UpdatedAt)
		}
		for _, amount := range []kernel.Points{0, -1, -500, 501, 1_000_000} {
			o := disputedFrom(t, domain.InProgress, t0.Add(40*time.Hour))
			before := o
			err := o.SupportRefund(at, amount)
			require.ErrorIs(t, err, kernel.ErrInvalid, amount)
			requireInvalidField(t, err, "refund_amount")
			require.Equal(t, before, o, "a refused refund changes nothing")
		}
	})
	t.Run("max refund is the price", func(t *testing.T) {
		t.Parallel()
		o := orderIn(domain.InProgress)
		require.Equal(t, kernel.Points(500), o.MaxRefund())
		require.NoError(t, o.SupportRefund(at, o.MaxRefund()))
	})
	for _, s := range []domain.Status{domain.Disputed, domain.PendingApproval, domain.InProgress, domain.InReview, domain.Delivered} {
		t.Run("allowed from "+string(s), func(t *testing.T) {
			t.Parallel()
			o := orderIn(s)
			require.NoError(t, o.SupportRefund(at, 120))
			require.Equal(t, domain.Refunded, o.Status)
			require.Equal(t, kernel.Points(120), o.RefundedPoints)
			require.Equal(t, at, o.UpdatedAt)
		})
	}
	for _, s := range []domain.Status{domain.Completed, domain.Cancelled, domain.Refunded} {
		t.Run("refused from "+string(s), func(t *testing.T) {
			t.Parallel()
			o := orderIn(s)
			before := o
			err := o.SupportRefund(at, 120)
			require.ErrorIs(t, err, kernel.ErrConflict)
			requireKind(t, err, kernel.ErrConflict, "refund-not-allowed")
			require.Equal(t, before, o)
		})
	}
	t.Run("a bad amount is reported before the status", func(t *testing.T) {
		t.Parallel()
		o := orderIn(domain.Cancelled)
		requireInvalidField(t, o.SupportRefund(at, 0), "refund_amount")
	})
}

func TestStatusOpen(t *testing.T) {
	t.Parallel()
	open := map[domain.Status]bool{
		domain.PendingApproval: true,
		domain.InProgress:      true,
		domain.InReview:        true,
		domain.Delivered:       true,
	}
	for _, s := range append(append([]domain.Status{}, domain.Statuses...), "", "late") {
		require.Equal(t, open[s], s.Open(), s)
	}
}
