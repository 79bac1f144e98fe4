package domain_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/ordering/domain"
)

func autoTerms() domain.AgentTerms {
	return domain.AgentTerms{
		AcceptMode:      domain.AcceptAuto,
		Categories:      []string{"code", "design", "data"},
		SettingsVersion: 4,
		Bands: &domain.Bands{
			MinPrice: 100, MaxPrice: 1000, Categories: []string{"code", "design"},
			MaxRevisions: 3, MaxActiveOrders: 2,
		},
	}
}

// keysOf returns each reason's band key (the text before the colon).
func keysOf(reasons []string) []string {
	var out []string
	for _, r := range reasons {
		k, _, ok := strings.Cut(r, ":")
		if !ok {
			k = "?" + r
		}
		out = append(out, k)
	}
	return out
}

func TestGate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		terms  func(a *domain.AgentTerms)
		quote  func(q *domain.Quote)
		active int
		failed []string // band keys that failed; nil means the order starts
	}{
		{"inside every band", nil, nil, 0, nil},
		{"price at min", nil, func(q *domain.Quote) { q.Price = 100 }, 0, nil},
		{"price at max", nil, func(q *domain.Quote) { q.Price = 1000 }, 0, nil},
		{"price below", nil, func(q *domain.Quote) { q.Price = 99 }, 0, []string{"price"}},
		{"price above", nil, func(q *domain.Quote) { q.Price = 1001 }, 0, []string{"price"}},
		{"category in band", nil, func(q *domain.Quote) { q.Category = "design" }, 0, nil},
		{"category of agent, not band", nil, func(q *domain.Quote) { q.Category = "data" }, 0, []string{"categories"}},
		{"category foreign", nil, func(q *domain.Quote) { q.Category = "video" }, 0, []string{"categories"}},
		{"empty band categories: agent's", func(a *domain.AgentTerms) { a.Bands.Categories = nil }, func(q *domain.Quote) { q.Category = "data" }, 0, nil},
		{"empty band categories: foreign", func(a *domain.AgentTerms) { a.Bands.Categories = nil }, func(q *domain.Quote) { q.Category = "video" }, 0, []string{"categories"}},
		{"revisions at cap", nil, func(q *domain.Quote) { q.Revisions = 3 }, 0, nil},
		{"revisions zero", nil, func(q *domain.Quote) { q.Revisions = 0 }, 0, nil},
		{"revisions over cap", nil, func(q *domain.Quote) { q.Revisions = 4 }, 0, []string{"max_revisions"}},
		{"one below active cap", nil, nil, 1, nil},
		{"at active cap", nil, nil, 2, []string{"max_active_orders"}},
		{"over active cap", nil, nil, 5, []string{"max_active_orders"}},
		{"every band fails", nil, func(q *domain.Quote) { q.Price, q.Category, q.Revisions = 5000, "audio", 9 }, 2,
			[]string{"price", "categories", "max_revisions", "max_active_orders"}},
		{"manual", func(a *domain.AgentTerms) { a.AcceptMode = domain.AcceptManual }, nil, 0, []string{"accept_mode"}},
		{"manual without bands", func(a *domain.AgentTerms) { a.AcceptMode, a.Bands = domain.AcceptManual, nil }, nil, 0, []string{"accept_mode"}},
		{"auto without bands", func(a *domain.AgentTerms) { a.Bands = nil }, nil, 0, []string{"accept_mode"}},
		{"unknown mode", func(a *domain.AgentTerms) { a.AcceptMode = "" }, nil, 0, []string{"accept_mode"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			terms, q := autoTerms(), goodQuote()
			q.Price, q.Revisions = 500, 2
			if c.terms != nil {
				c.terms(&terms)
			}
			if c.quote != nil {
				c.quote(&q)
			}
			start, reasons := domain.Gate(terms, q, c.active)
			require.Equal(t, c.failed == nil, start)
			require.Equal(t, c.failed, keysOf(reasons))
		})
	}
}
