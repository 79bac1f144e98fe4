package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ordering/domain"
)

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// started is an order in progress since t0, due in 4 days, with 2 revisions.
func started() domain.Order {
	return domain.Order{ID: "o", Status: domain.InProgress, DeliveryDays: 4, StartedAt: t0, Deadline: t0.Add(96 * time.Hour),
		RevisionsLeft: 2, FreeRevisions: 2, Criteria: []string{"tests pass", "lint clean"}}
}

func code(t *testing.T, err error) string {
	t.Helper()
	e, ok := kernel.As(err)
	require.True(t, ok, "%v", err)
	return e.Code
}

func TestReviewTimeMovesTheDeadline(t *testing.T) {
	t.Parallel()
	o := started()
	require.NoError(t, o.Deliver(t0.Add(10*time.Hour)))
	require.Equal(t, domain.InReview, o.Status)
	require.True(t, o.OnTime)
	require.NoError(t, o.Reject(t0.Add(16*time.Hour)))
	require.Equal(t, domain.InProgress, o.Status)
	require.Equal(t, t0.Add(102*time.Hour), o.Deadline, "six hours of review added")

	require.NoError(t, o.Deliver(t0.Add(101*time.Hour)))
	require.True(t, o.OnTime, "on time against the moved deadline")
	require.NoError(t, o.Release(t0.Add(130*time.Hour)))
	require.Equal(t, domain.Delivered, o.Status)
	require.Equal(t, t0.Add(131*time.Hour), o.Deadline)
	require.Equal(t, t0.Add(130*time.Hour), o.DeliveredAt)
	require.Equal(t, "order-not-in-review", code(t, o.Release(t0.Add(131*time.Hour))))
}

func TestDeliverLateIsNotOnTime(t *testing.T) {
	t.Parallel()
	o := started()
	require.NoError(t, o.Deliver(o.Deadline.Add(time.Second)))
	require.False(t, o.OnTime)
	o2 := started()
	o2.Status = domain.PendingApproval
	require.Equal(t, "order-not-in-progress", code(t, o2.Deliver(t0)))
}

func TestComplete(t *testing.T) {
	t.Parallel()
	o := started()
	require.NoError(t, o.Deliver(t0))
	require.NoError(t, o.Release(t0))
	w := 72 * time.Hour
	require.Equal(t, "review-window-open", code(t, o.Complete(t0.Add(w-time.Second), w, true)))
	require.NoError(t, o.Complete(t0.Add(w), w, true))
	require.Equal(t, domain.Completed, o.Status)
	require.Equal(t, t0.Add(w), o.CompletedAt)

	o2 := started()
	require.NoError(t, o2.Deliver(t0))
	require.NoError(t, o2.Release(t0))
	require.NoError(t, o2.Complete(t0.Add(time.Minute), w, false), "the customer may accept at once")
	require.Equal(t, "order-not-delivered", code(t, o2.Complete(t0.Add(time.Hour), w, false)))
}

func TestRequestRevision(t *testing.T) {
	t.Parallel()
	delivered := func() domain.Order {
		o := started()
		require.NoError(t, o.Deliver(t0))
		require.NoError(t, o.Release(t0))
		return o
	}
	o := delivered()
	now := t0.Add(200 * time.Hour)
	require.NoError(t, o.RequestRevision(now, "  fix Windows ", []string{"tests pass", "tests pass"}))
	require.Equal(t, domain.InProgress, o.Status)
	require.Equal(t, 1, o.RevisionsLeft)
	require.Equal(t, now.Add(48*time.Hour), o.Deadline, "half of 4 days")
	require.Equal(t, []domain.Revision{{Number: 1, Notes: "fix Windows", UnmetCriteria: []string{"tests pass"}, RequestedAt: now}}, o.Revisions)

	for name, tc := range map[string]struct {
		notes string
		unmet []string
		field string
	}{
		"no notes":          {notes: " ", unmet: []string{"tests pass"}, field: "notes"},
		"notes too long":    {notes: strings.Repeat("x", 5001), unmet: []string{"tests pass"}, field: "notes"},
		"no criteria":       {notes: "x", field: "unmet_criteria"},
		"unknown criterion": {notes: "x", unmet: []string{"fast"}, field: "unmet_criteria[0]"},
	} {
		t.Run(name, func(t *testing.T) {
			o := delivered()
			err := o.RequestRevision(now, tc.notes, tc.unmet)
			e, ok := kernel.As(err)
			require.True(t, ok)
			require.Equal(t, tc.field, e.Fields[0].Field)
			require.Equal(t, 2, o.RevisionsLeft, "nothing used")
		})
	}

	none := delivered()
	none.RevisionsLeft = 0
	require.Equal(t, "no-revisions-left", code(t, none.RequestRevision(now, "x", []string{"lint clean"})))
	inProgress := started()
	require.Equal(t, "order-not-delivered", code(t, inProgress.RequestRevision(now, "x", []string{"lint clean"})))
	require.Equal(t, 24*time.Hour, domain.RevisionTurnaround(1))
	require.Equal(t, 48*time.Hour, domain.RevisionTurnaround(3))
}

func TestMarkLateAndCancel(t *testing.T) {
	t.Parallel()
	o := started()
	require.False(t, o.MarkLate(o.Deadline), "due at the deadline, not late yet")
	require.True(t, o.MarkLate(o.Deadline.Add(time.Second)))
	require.False(t, o.MarkLate(o.Deadline.Add(time.Hour)), "once")
	require.Equal(t, "cancel-not-allowed", code(t, o.Cancel(o.Deadline.Add(23*time.Hour))))
	require.NoError(t, o.Cancel(o.Deadline.Add(24*time.Hour)))
	require.Equal(t, domain.Cancelled, o.Status)
	require.Equal(t, domain.CancelLate, o.CancelReason)

	p := started()
	p.Status = domain.PendingApproval
	require.NoError(t, p.Cancel(t0))
	require.Equal(t, domain.CancelWithdrawn, p.CancelReason)

	d := started()
	require.NoError(t, d.Deliver(t0))
	require.Equal(t, "cancel-not-allowed", code(t, d.Cancel(t0.Add(1000*time.Hour))), "in review: not cancellable")
}

func TestFileRules(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"report.md":              "report.md",
		"../../etc/passwd":       "passwd",
		`C:\Users\x\notes.txt`:   "notes.txt",
		"a\x00b\nc\".txt":        "abc.txt",
		"   ":                    "file",
		"..":                     "file",
		strings.Repeat("é", 150): strings.Repeat("é", 100),
	} {
		require.Equal(t, want, domain.CleanFileName(name), "%q", name)
	}
	for ct, ok := range map[string]bool{
		"text/plain; charset=utf-8": true, "image/png": true, "application/pdf": true, "application/zip": true,
		"video/mp4": true, "application/octet-stream": false, "application/x-msdownload": false,
	} {
		require.Equal(t, ok, domain.FileTypeAllowed(ct), ct)
	}
}

func TestReviews(t *testing.T) {
	t.Parallel()
	for _, bad := range []int{0, 6, -1} {
		_, err := domain.ValidateReview(bad, "ok")
		require.Error(t, err)
	}
	_, err := domain.ValidateReview(3, strings.Repeat("x", 5001))
	require.Error(t, err)
	text, err := domain.ValidateReview(5, "  great  ")
	require.NoError(t, err)
	require.Equal(t, "great", text)
	_, err = domain.ValidateReview(5, "")
	require.NoError(t, err, "stars alone are a review")

	r := domain.Review{}
	require.Error(t, r.SetReply(t0, " "))
	require.NoError(t, r.SetReply(t0, "thanks"))
	require.Equal(t, "already-replied", code(t, r.SetReply(t0, "again")))
}
