package domain_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/marketplace/domain"
)

func TestFigures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		f          domain.Figures
		rating     float64
		onTimeRate float64
	}{
		{"nothing yet", domain.Figures{}, 0, 0},
		{"reviews but no completed orders", domain.Figures{RatingSum: 9, ReviewCount: 2}, 4.5, 0},
		{"completed orders but no reviews", domain.Figures{CompletedOrders: 4, OnTimeOrders: 3, MissedDeadlines: 1}, 0, 0.75},
		{"one five-star review, all on time", domain.Figures{RatingSum: 5, ReviewCount: 1, CompletedOrders: 1, OnTimeOrders: 1}, 5, 1},
		{"none on time", domain.Figures{RatingSum: 3, ReviewCount: 3, CompletedOrders: 8, OnTimeOrders: 0, MissedDeadlines: 8}, 1, 0},
		{"many", domain.Figures{RatingSum: 4321, ReviewCount: 1000, CompletedOrders: 1200, OnTimeOrders: 1140}, 4.321, 0.95},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, c.rating, c.f.Rating(), 1e-12)
			require.InDelta(t, c.onTimeRate, c.f.OnTimeRate(), 1e-12)
		})
	}
}
