package domain_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ordering/domain"
)

func TestCanTransition(t *testing.T) {
	t.Parallel()
	type pair struct{ from, to domain.Status }
	allowed := map[pair]bool{
		{domain.PendingApproval, domain.InProgress}: true,
		{domain.PendingApproval, domain.Cancelled}:  true,
		{domain.PendingApproval, domain.Refunded}:   true,
		{domain.InProgress, domain.Refunded}:        true,
		{domain.InReview, domain.Refunded}:          true,
		{domain.Delivered, domain.Refunded}:         true,
		{domain.Disputed, domain.InReview}:          true,
		{domain.Disputed, domain.Delivered}:         true,
		{domain.Completed, domain.Disputed}:         true,
		{domain.InProgress, domain.InReview}:        true,
		{domain.InProgress, domain.Disputed}:        true,
		{domain.InProgress, domain.Cancelled}:       true,
		{domain.InReview, domain.Delivered}:         true,
		{domain.InReview, domain.InProgress}:        true,
		{domain.InReview, domain.Disputed}:          true,
		{domain.Delivered, domain.Completed}:        true,
		{domain.Delivered, domain.InProgress}:       true,
		{domain.Delivered, domain.Disputed}:         true,
		{domain.Disputed, domain.Completed}:         true,
		{domain.Disputed, domain.Refunded}:          true,
		{domain.Disputed, domain.InProgress}:        true,
	}
	all := slices.Concat(domain.Statuses, []domain.Status{"late", ""})
	for _, from := range all {
		for _, to := range all {
			p := pair{from, to}
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				t.Parallel()
				require.Equal(t, allowed[p], domain.CanTransition(p.from, p.to))
			})
		}
	}
	for _, s := range []domain.Status{domain.Cancelled, domain.Refunded} {
		require.True(t, s.Terminal(), s)
	}
	for _, s := range []domain.Status{domain.PendingApproval, domain.InProgress, domain.InReview, domain.Delivered, domain.Disputed, domain.Completed} {
		require.False(t, s.Terminal(), s)
	}
}

func acceptedQuote() domain.Quote {
	q := goodQuote()
	q.Price, q.Revisions, q.DeliveryDays = 500, 2, 3
	q.Status = domain.QuoteAccepted
	return q
}

func TestNewOrder(t *testing.T) {
	t.Parallel()
	manual := autoTerms()
	manual.AcceptMode, manual.Bands = domain.AcceptManual, nil

	t.Run("auto inside the bands starts at once", func(t *testing.T) {
		t.Parallel()
		o, err := domain.NewOrder(acceptedQuote(), "cust", "agent-1", autoTerms(), 1, now)
		require.NoError(t, err)
		require.NotEmpty(t, o.ID)
		require.Equal(t, domain.InProgress, o.Status)
		require.Equal(t, now.Add(72*time.Hour), o.Deadline)
		require.Equal(t, now, o.StartedAt)
		require.Equal(t, now, o.CreatedAt)
		require.Equal(t, kernel.Points(500), o.Price)
		require.Equal(t, 2, o.RevisionsLeft)
		require.Equal(t, 3, o.DeliveryDays)
		require.Equal(t, "code", o.Category)
		require.Equal(t, 4, o.SettingsVersion)
		require.Equal(t, "q1", o.QuoteID)
		require.Equal(t, kernel.UserID("cust"), o.CustomerID)
		require.Equal(t, "agent-1", o.AgentID)
		require.Empty(t, o.GateReasons)
	})
	t.Run("auto outside a band waits", func(t *testing.T) {
		t.Parallel()
		o, err := domain.NewOrder(acceptedQuote(), "cust", "agent-1", autoTerms(), 2, now)
		require.NoError(t, err)
		require.Equal(t, domain.PendingApproval, o.Status)
		require.True(t, o.Deadline.IsZero(), "no deadline before it starts")
		require.Equal(t, []string{"max_active_orders"}, keysOf(o.GateReasons))
	})
	t.Run("manual waits", func(t *testing.T) {
		t.Parallel()
		o, err := domain.NewOrder(acceptedQuote(), "cust", "agent-1", manual, 0, now)
		require.NoError(t, err)
		require.Equal(t, domain.PendingApproval, o.Status)
		require.True(t, o.Deadline.IsZero())
		require.Equal(t, []string{"accept_mode"}, keysOf(o.GateReasons))
		require.Equal(t, 2, o.RevisionsLeft)
	})
	for _, s := range []domain.QuoteStatus{domain.QuoteSent, domain.QuoteDeclined, domain.QuoteExpired} {
		t.Run("quote "+string(s), func(t *testing.T) {
			t.Parallel()
			q := acceptedQuote()
			q.Status = s
			_, err := domain.NewOrder(q, "cust", "agent-1", autoTerms(), 0, now)
			requireCode(t, err, kernel.ErrConflict, "quote-not-accepted")
		})
	}
}

func pendingOrder(t *testing.T) domain.Order {
	t.Helper()
	terms := autoTerms()
	terms.AcceptMode = domain.AcceptManual
	o, err := domain.NewOrder(acceptedQuote(), "cust", "agent-1", terms, 0, now)
	require.NoError(t, err)
	return o
}

func TestOrderApprovalMoves(t *testing.T) {
	t.Parallel()
	later := now.Add(5 * time.Hour)
	expired := now.Add(48 * time.Hour)
	type move struct {
		name string
		do   func(o *domain.Order, at time.Time) error
		at   time.Time
		want domain.Status
		why  string
	}
	moves := []move{
		{"approve", (*domain.Order).Approve, later, domain.InProgress, ""},
		{"start", (*domain.Order).Start, later, domain.InProgress, ""},
		{"decline", (*domain.Order).Decline, later, domain.Cancelled, domain.CancelDeclined},
		{"expire", (*domain.Order).Expire, expired, domain.Cancelled, domain.CancelExpired},
	}
	for _, m := range moves {
		t.Run(m.name+" pending", func(t *testing.T) {
			t.Parallel()
			o := pendingOrder(t)
			require.NoError(t, m.do(&o, m.at))
			require.Equal(t, m.want, o.Status)
			require.Equal(t, m.why, o.CancelReason)
			require.Equal(t, m.at, o.UpdatedAt)
			if m.want == domain.InProgress {
				require.Equal(t, m.at, o.StartedAt)
				require.Equal(t, m.at.Add(72*time.Hour), o.Deadline, "the deadline runs from the start, not the order")
			} else {
				require.True(t, o.Deadline.IsZero())
			}
		})
		for _, s := range domain.Statuses {
			if s == domain.PendingApproval {
				continue
			}
			t.Run(m.name+" "+string(s), func(t *testing.T) {
				t.Parallel()
				o := pendingOrder(t)
				o.Status = s
				before := o
				requireCode(t, m.do(&o, m.at), kernel.ErrConflict, "order-not-pending")
				require.Equal(t, before, o)
			})
		}
	}
	t.Run("expire too early", func(t *testing.T) {
		t.Parallel()
		o := pendingOrder(t)
		before := o
		requireCode(t, o.Expire(expired.Add(-time.Nanosecond)), kernel.ErrConflict, "approval-not-expired")
		require.Equal(t, before, o)
	})
}

func TestApprovalExpiry(t *testing.T) {
	t.Parallel()
	require.Equal(t, now.Add(48*time.Hour), domain.ApprovalDeadline(now))
	cases := []struct {
		name   string
		status domain.Status
		at     time.Time
		want   bool
	}{
		{"just created", domain.PendingApproval, now, false},
		{"47h59m59s", domain.PendingApproval, now.Add(48*time.Hour - time.Second), false},
		{"at 48h", domain.PendingApproval, now.Add(48 * time.Hour), true},
		{"past 48h", domain.PendingApproval, now.Add(72 * time.Hour), true},
		{"started long ago", domain.InProgress, now.Add(72 * time.Hour), false},
		{"cancelled long ago", domain.Cancelled, now.Add(72 * time.Hour), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := domain.Order{Status: c.status, CreatedAt: now}
			require.Equal(t, c.want, domain.ApprovalExpired(o, c.at))
		})
	}
}
