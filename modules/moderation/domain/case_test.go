package domain_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/moderation/domain"
)

// invalidFields returns the field names of a validation error, in order.
func invalidFields(t *testing.T, err error) []string {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, kernel.ErrInvalid)
	e, ok := kernel.As(err)
	require.True(t, ok, "not a kernel error: %v", err)
	require.Equal(t, kernel.ErrInvalid, e.Kind)
	require.Equal(t, "validation", e.Code)
	out := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		require.NotEmpty(t, f.Detail, "field %s has no detail", f.Field)
		out = append(out, f.Field)
	}
	return out
}

// conflictCode checks err is a conflict and returns its code.
func conflictCode(t *testing.T, err error) string {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, kernel.ErrConflict)
	e, ok := kernel.As(err)
	require.True(t, ok, "not a kernel error: %v", err)
	require.Equal(t, kernel.ErrConflict, e.Kind)
	require.NotEmpty(t, e.Detail)
	return e.Code
}

func openCase(kind string) domain.Case {
	c := domain.Case{ID: "c1", Kind: kind, Status: domain.CaseOpen, OrderID: "o1"}
	if kind == domain.KindFlag {
		c.Reason, c.Subject = "off_scope", domain.FlagSubject("o1")
	} else {
		c.Reason, c.Subject = domain.SignalReviewStalled, domain.ReviewStalledSubject("o1")
	}
	return c
}

func TestCheckResolutionValid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		kind   string
		action string
		amount kernel.Points
		source string
	}{
		{"dismiss a flag", domain.KindFlag, domain.ActionDismiss, 0, ""},
		{"dismiss a signal", domain.KindSignal, domain.ActionDismiss, 0, ""},
		{"refund a flag, default source", domain.KindFlag, domain.ActionRefund, 100, ""},
		{"refund a flag from the owner", domain.KindFlag, domain.ActionRefund, 100, "owner_clawback"},
		{"refund a flag as goodwill", domain.KindFlag, domain.ActionRefund, 1, "platform_goodwill"},
		{"refund a flag, zero amount left to the service", domain.KindFlag, domain.ActionRefund, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, domain.CheckResolution(openCase(c.kind), c.action, c.amount, c.source))
		})
	}
}

func TestCheckResolutionRefused(t *testing.T) {
	t.Parallel()
	t.Run("resolved case", func(t *testing.T) {
		t.Parallel()
		for _, kind := range []string{domain.KindFlag, domain.KindSignal} {
			c := openCase(kind)
			c.Status = domain.CaseResolved
			for _, action := range []string{domain.ActionDismiss, domain.ActionRefund, "bogus"} {
				require.Equal(t, "case-resolved", conflictCode(t, domain.CheckResolution(c, action, 0, "")), kind+"/"+action)
			}
			// resolved wins over bad fields too
			require.Equal(t, "case-resolved", conflictCode(t, domain.CheckResolution(c, domain.ActionDismiss, 5, "x")))
		}
	})
	t.Run("a case with no status is not open", func(t *testing.T) {
		t.Parallel()
		c := openCase(domain.KindFlag)
		c.Status = ""
		require.Equal(t, "case-resolved", conflictCode(t, domain.CheckResolution(c, domain.ActionDismiss, 0, "")))
	})

	fieldCases := []struct {
		name   string
		kind   string
		action string
		amount kernel.Points
		source string
		fields []string
	}{
		{"dismiss with an amount", domain.KindFlag, domain.ActionDismiss, 10, "", []string{"refund_amount"}},
		{"dismiss with a negative amount", domain.KindFlag, domain.ActionDismiss, -1, "", []string{"refund_amount"}},
		{"dismiss with a source", domain.KindFlag, domain.ActionDismiss, 0, "owner_clawback", []string{"refund_source"}},
		{"dismiss with both", domain.KindSignal, domain.ActionDismiss, 10, "platform_goodwill", []string{"refund_amount", "refund_source"}},
		{"refund with a negative amount", domain.KindFlag, domain.ActionRefund, -1, "", []string{"refund_amount"}},
		{"refund with a bad source", domain.KindFlag, domain.ActionRefund, 10, "escrow", []string{"refund_source"}},
		{"refund with a source in the wrong case", domain.KindFlag, domain.ActionRefund, 10, "Owner_Clawback", []string{"refund_source"}},
		{"refund with both bad", domain.KindFlag, domain.ActionRefund, -5, "nope", []string{"refund_amount", "refund_source"}},
		{"refund on a signal with a bad amount is validation first", domain.KindSignal, domain.ActionRefund, -5, "", []string{"refund_amount"}},
		{"bad action", domain.KindFlag, "suspend", 0, "", []string{"action"}},
		{"empty action", domain.KindFlag, "", 0, "", []string{"action"}},
		{"action in the wrong case", domain.KindFlag, "Refund", 10, "", []string{"action"}},
		{"bad action on a signal", domain.KindSignal, "close", 10, "x", []string{"action"}},
	}
	for _, c := range fieldCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := domain.CheckResolution(openCase(c.kind), c.action, c.amount, c.source)
			require.Equal(t, c.fields, invalidFields(t, err))
		})
	}

	t.Run("refund on a signal case", func(t *testing.T) {
		t.Parallel()
		for _, source := range []string{"", "owner_clawback", "platform_goodwill"} {
			err := domain.CheckResolution(openCase(domain.KindSignal), domain.ActionRefund, 100, source)
			require.Equal(t, "case-not-refundable", conflictCode(t, err), source)
		}
	})
	t.Run("refund on a case of unknown kind", func(t *testing.T) {
		t.Parallel()
		err := domain.CheckResolution(openCase(""), domain.ActionRefund, 100, "")
		require.Equal(t, "case-not-refundable", conflictCode(t, err))
	})
}

func TestText(t *testing.T) {
	t.Parallel()
	t.Run("trims", func(t *testing.T) {
		t.Parallel()
		got, err := domain.Text("note", "  \t hello world \n", 20)
		require.NoError(t, err)
		require.Equal(t, "hello world", got)
	})
	for _, s := range []string{"", " ", "\t\n  \r"} {
		t.Run("empty "+strings.ReplaceAll(s, "\n", `\n`), func(t *testing.T) {
			t.Parallel()
			got, err := domain.Text("note", s, 20)
			require.Equal(t, []string{"note"}, invalidFields(t, err))
			require.Empty(t, got)
		})
	}
	t.Run("exactly max runes, multibyte", func(t *testing.T) {
		t.Parallel()
		s := strings.Repeat("é", 5) + strings.Repeat("日", 5)
		require.Equal(t, 10, utf8.RuneCountInString(s))
		require.Greater(t, len(s), 10, "more bytes than runes")
		got, err := domain.Text("reason", " "+s+" ", 10)
		require.NoError(t, err)
		require.Equal(t, s, got)
	})
	t.Run("over max runes", func(t *testing.T) {
		t.Parallel()
		got, err := domain.Text("reason", strings.Repeat("日", 11), 10)
		require.Equal(t, []string{"reason"}, invalidFields(t, err))
		require.Empty(t, got)
	})
	t.Run("surrounding spaces do not count", func(t *testing.T) {
		t.Parallel()
		got, err := domain.Text("reason", "   "+strings.Repeat("a", 10)+"   ", 10)
		require.NoError(t, err)
		require.Equal(t, strings.Repeat("a", 10), got)
	})
	t.Run("MaxNote", func(t *testing.T) {
		t.Parallel()
		_, err := domain.Text("note", strings.Repeat("ß", domain.MaxNote), domain.MaxNote)
		require.NoError(t, err)
		_, err = domain.Text("note", strings.Repeat("ß", domain.MaxNote+1), domain.MaxNote)
		require.Equal(t, []string{"note"}, invalidFields(t, err))
	})
}

func TestDetails(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "   ", "\n\t"} {
		got, err := domain.Details("details", s, 10)
		require.NoError(t, err)
		require.Empty(t, got)
	}
	got, err := domain.Details("details", "  some text  ", 10)
	require.NoError(t, err)
	require.Equal(t, "some text", got)

	got, err = domain.Details("details", strings.Repeat("日", 10), 10)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("日", 10), got)

	got, err = domain.Details("message", strings.Repeat("日", 11), 10)
	require.Equal(t, []string{"message"}, invalidFields(t, err))
	require.Empty(t, got)

	_, err = domain.Details("message", strings.Repeat("x", domain.MaxReinstatementMessage), domain.MaxReinstatementMessage)
	require.NoError(t, err)
	_, err = domain.Details("message", strings.Repeat("x", domain.MaxReinstatementMessage+1), domain.MaxReinstatementMessage)
	require.Equal(t, []string{"message"}, invalidFields(t, err))
}

func TestSubjects(t *testing.T) {
	t.Parallel()
	const id = "x1"
	subjects := []string{
		domain.FlagSubject(id),
		domain.MissedDeadlinesSubject(id),
		domain.ReviewStalledSubject(id),
		domain.ReviewClusterSubject(kernel.UserID(id)),
	}
	seen := map[string]bool{}
	for _, s := range subjects {
		require.Contains(t, s, id)
		require.False(t, seen[s], "duplicate subject %q", s)
		seen[s] = true
	}
	require.Equal(t, "flag:order:x1", domain.FlagSubject(id))
	require.Equal(t, "missed_deadlines:agent:x1", domain.MissedDeadlinesSubject(id))
	require.Equal(t, "review_stalled:order:x1", domain.ReviewStalledSubject(id))
	require.Equal(t, "review_cluster:owner:x1", domain.ReviewClusterSubject(id))

	// same kind, different ids: different subjects
	require.NotEqual(t, domain.FlagSubject("a"), domain.FlagSubject("b"))
	require.NotEqual(t, domain.MissedDeadlinesSubject("a"), domain.MissedDeadlinesSubject("b"))
	// a flag and a stall on the same order do not collide
	require.NotEqual(t, domain.FlagSubject("o1"), domain.ReviewStalledSubject("o1"))
}

func TestReasons(t *testing.T) {
	t.Parallel()
	require.ElementsMatch(t, []string{"missed_deadline", "off_scope", "policy_violation", "other",
		"missed_deadlines", "review_stalled", "review_cluster"}, domain.Reasons)
}
