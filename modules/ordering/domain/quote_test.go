package domain_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ordering/domain"
)

var now = time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)

func goodQuote() domain.Quote {
	return domain.Quote{
		ID:           "q1",
		Title:        "A landing page",
		Description:  "One page, responsive.",
		Price:        500,
		DeliveryDays: 3,
		Revisions:    2,
		Category:     "code",
		Criteria:     []string{"passes lighthouse 90", "works on mobile"},
		ExpiresAt:    now.Add(7 * 24 * time.Hour),
		Status:       domain.QuoteSent,
		CreatedAt:    now,
	}
}

func TestQuoteValidate(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	cases := []struct {
		name   string
		edit   func(q *domain.Quote)
		fields []string
	}{
		{"valid", func(*domain.Quote) {}, nil},
		{"title 1", func(q *domain.Quote) { q.Title = "x" }, nil},
		{"title 120 runes", func(q *domain.Quote) { q.Title = strings.Repeat("ü", 120) }, nil},
		{"title 121", func(q *domain.Quote) { q.Title = strings.Repeat("a", 121) }, []string{"title"}},
		{"title empty", func(q *domain.Quote) { q.Title = "" }, []string{"title"}},
		{"title blank", func(q *domain.Quote) { q.Title = "   " }, []string{"title"}},
		{"title 120 plus spaces", func(q *domain.Quote) { q.Title = " " + strings.Repeat("a", 120) + " " }, nil},
		{"description 5000", func(q *domain.Quote) { q.Description = strings.Repeat("a", 5000) }, nil},
		{"description 5001", func(q *domain.Quote) { q.Description = strings.Repeat("a", 5001) }, []string{"description"}},
		{"description empty", func(q *domain.Quote) { q.Description = "" }, []string{"description"}},
		{"price 1", func(q *domain.Quote) { q.Price = 1 }, nil},
		{"price 1000000", func(q *domain.Quote) { q.Price = 1_000_000 }, nil},
		{"price 0", func(q *domain.Quote) { q.Price = 0 }, []string{"price"}},
		{"price negative", func(q *domain.Quote) { q.Price = -5 }, []string{"price"}},
		{"price 1000001", func(q *domain.Quote) { q.Price = 1_000_001 }, []string{"price"}},
		{"delivery 1", func(q *domain.Quote) { q.DeliveryDays = 1 }, nil},
		{"delivery 90", func(q *domain.Quote) { q.DeliveryDays = 90 }, nil},
		{"delivery 0", func(q *domain.Quote) { q.DeliveryDays = 0 }, []string{"delivery_days"}},
		{"delivery 91", func(q *domain.Quote) { q.DeliveryDays = 91 }, []string{"delivery_days"}},
		{"revisions 0", func(q *domain.Quote) { q.Revisions = 0 }, nil},
		{"revisions 10", func(q *domain.Quote) { q.Revisions = 10 }, nil},
		{"revisions -1", func(q *domain.Quote) { q.Revisions = -1 }, []string{"revisions"}},
		{"revisions 11", func(q *domain.Quote) { q.Revisions = 11 }, []string{"revisions"}},
		{"category other", func(q *domain.Quote) { q.Category = "other" }, nil},
		{"category upper", func(q *domain.Quote) { q.Category = " Design " }, nil},
		{"category unknown", func(q *domain.Quote) { q.Category = "music" }, []string{"category"}},
		{"category empty", func(q *domain.Quote) { q.Category = "" }, []string{"category"}},
		{"criteria 1", func(q *domain.Quote) { q.Criteria = []string{"x"} }, nil},
		{"criteria 20", func(q *domain.Quote) { q.Criteria = make([]string, 20); fill(q.Criteria) }, nil},
		{"criteria 21", func(q *domain.Quote) { q.Criteria = make([]string, 21); fill(q.Criteria) }, []string{"criteria"}},
		{"criteria none", func(q *domain.Quote) { q.Criteria = nil }, []string{"criteria"}},
		{"criterion 300", func(q *domain.Quote) { q.Criteria = []string{strings.Repeat("a", 300)} }, nil},
		{"criterion 301", func(q *domain.Quote) { q.Criteria = []string{"ok", strings.Repeat("a", 301)} }, []string{"criteria[1]"}},
		{"criterion blank", func(q *domain.Quote) { q.Criteria = []string{" ", "ok", ""} }, []string{"criteria[0]", "criteria[2]"}},
		{"expires in 1ns", func(q *domain.Quote) { q.ExpiresAt = now.Add(time.Nanosecond) }, nil},
		{"expires in 30 days", func(q *domain.Quote) { q.ExpiresAt = now.Add(30 * day) }, nil},
		{"expires 30 days and 1ns", func(q *domain.Quote) { q.ExpiresAt = now.Add(30*day + time.Nanosecond) }, []string{"expires_at"}},
		{"expires now", func(q *domain.Quote) { q.ExpiresAt = now }, []string{"expires_at"}},
		{"expired", func(q *domain.Quote) { q.ExpiresAt = now.Add(-time.Hour) }, []string{"expires_at"}},
		{"expires zero", func(q *domain.Quote) { q.ExpiresAt = time.Time{} }, []string{"expires_at"}},
		{"every field", func(q *domain.Quote) { *q = domain.Quote{Revisions: 11} }, []string{
			"title", "description", "price", "delivery_days", "revisions", "category", "criteria", "expires_at",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			q := goodQuote()
			c.edit(&q)
			require.Equal(t, c.fields, fieldsOf(t, q.Validate(now)))
		})
	}
}

func fill(s []string) {
	for i := range s {
		s[i] = fmt.Sprintf("criterion %d", i)
	}
}

func TestQuoteNormalize(t *testing.T) {
	t.Parallel()
	q := domain.Quote{Title: " T ", Description: "\nD\n", Category: " Code ", Criteria: []string{" a ", "b"}}
	q.Normalize()
	require.Equal(t, domain.Quote{Title: "T", Description: "D", Category: "code", Criteria: []string{"a", "b"}}, q)
}

func TestQuoteDecisions(t *testing.T) {
	t.Parallel()
	expires := goodQuote().ExpiresAt
	cases := []struct {
		name   string
		status domain.QuoteStatus
		at     time.Time
		code   string // "" means the decision succeeds
	}{
		{"sent, before expiry", domain.QuoteSent, expires.Add(-time.Nanosecond), ""},
		{"sent, at expiry", domain.QuoteSent, expires, "quote-expired"},
		{"sent, after expiry", domain.QuoteSent, expires.Add(time.Hour), "quote-expired"},
		{"expired", domain.QuoteExpired, now, "quote-expired"},
		{"declined", domain.QuoteDeclined, now, "quote-declined"},
		{"declined, after expiry", domain.QuoteDeclined, expires.Add(time.Hour), "quote-declined"},
		{"accepted", domain.QuoteAccepted, now, "quote-already-accepted"},
		{"accepted, after expiry", domain.QuoteAccepted, expires.Add(time.Hour), "quote-already-accepted"},
		{"unknown status", domain.QuoteStatus("draft"), now, "quote-not-open"},
	}
	decisions := map[string]struct {
		do   func(q *domain.Quote, at time.Time) error
		want domain.QuoteStatus
	}{
		"accept":  {(*domain.Quote).Accept, domain.QuoteAccepted},
		"decline": {(*domain.Quote).Decline, domain.QuoteDeclined},
	}
	for _, c := range cases {
		for dn, d := range decisions {
			t.Run(dn+" "+c.name, func(t *testing.T) {
				t.Parallel()
				q := goodQuote()
				q.Status = c.status
				before := q
				err := d.do(&q, c.at)
				if c.code == "" {
					require.NoError(t, err)
					require.Equal(t, d.want, q.Status)
					require.Equal(t, c.at, q.DecidedAt)
					return
				}
				requireCode(t, err, kernel.ErrConflict, c.code)
				require.Equal(t, before, q, "a refused decision changes nothing")
			})
		}
	}
}

func TestQuoteStatusAt(t *testing.T) {
	t.Parallel()
	q := goodQuote()
	require.Equal(t, domain.QuoteSent, q.StatusAt(q.ExpiresAt.Add(-time.Nanosecond)))
	require.Equal(t, domain.QuoteExpired, q.StatusAt(q.ExpiresAt))
	q.Status = domain.QuoteAccepted
	require.Equal(t, domain.QuoteAccepted, q.StatusAt(q.ExpiresAt.Add(time.Hour)))
}
