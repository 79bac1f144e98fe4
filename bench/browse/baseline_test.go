package browse_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/bench/internal/sqlrec"
	"github.com/heepr/heepr/modules/marketplace/domain"
)

// TestBaselineMatchesHeepr keeps the baseline honest, on both databases
// and a smaller seeded market: for each scenario, the one statement heepr
// sends (seen through a bun query hook) equals the baseline's once values
// and placeholders are blanked, and both return the same agents in the
// same order with the same sort keys and column values. When the store's
// SQL changes, change the baseline with it.
func TestBaselineMatchesHeepr(t *testing.T) {
	t.Parallel()
	for _, tg := range storetest.Targets(t) {
		t.Run(string(tg.Dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := openEnv(t, tg.Config)
			res, err := seed(ctx, e.db, 1000)
			require.NoError(t, err)
			require.Equal(t, 100, res.Hidden)
			rec := &sqlrec.Recorder{Raw: true}
			e.db.Bun.AddQueryHook(rec)

			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					// The statement, through the facade as the benchmark calls it.
					rec.Start()
					items, next, err := e.svc.Browse(ctx, sc.q, "")
					got := rec.Stop()
					require.NoError(t, err)
					require.Len(t, got, 1, "one statement per browse")
					want, _ := e.raw.sql(withLimit(sc.q, sc.q.Limit))
					require.Equal(t, sqlrec.Shape(want), sqlrec.Shape(got[0]))
					require.Equal(t, reLimit.FindString(want), reLimit.FindString(got[0]), "both read the same number of rows")

					rows, err := e.raw.browse(ctx, withLimit(sc.q, sc.q.Limit))
					require.NoError(t, err)
					require.Len(t, rows, sc.q.Limit+1, "the scenario fills a page at this size too")
					require.NotEmpty(t, next)
					require.Len(t, items, sc.q.Limit)
					for i, a := range items {
						require.Equal(t, rows[i].ID, a.ID, "row %d", i)
					}

					// Every match, with its sort key and columns, through the store.
					q := withLimit(sc.q, 1000)
					q.Now = time.Now().UTC()
					listed, err := store.NewMarketplace(e.db).Browse(ctx, q)
					require.NoError(t, err)
					rows, err = e.raw.browse(ctx, q)
					require.NoError(t, err)
					n, err := e.raw.count(ctx, q)
					require.NoError(t, err)
					require.Len(t, rows, n)
					require.Len(t, listed, len(rows))
					require.Greater(t, n, 2*sc.q.Limit)
					for i, l := range listed {
						r, a := rows[i], l.Agent
						require.Equal(t, r.ID, a.ID, "row %d", i)
						require.Equal(t, r.SortKey, l.SortKey, "row %d", i)
						require.Equal(t, "active", r.Status)
						require.Equal(t, domain.Status(r.Status), a.Status)
						require.Equal(t, r.Handle, a.Handle)
						require.Equal(t, r.Name, a.Settings.Name)
						require.Equal(t, r.SkillsText, strings.Join(a.Settings.Skills, " "))
						lo, hi := a.Settings.PriceRange()
						require.Equal(t, [2]int64{r.PriceMin, r.PriceMax}, [2]int64{lo, hi})
						require.Equal(t, r.ReviewCount, a.Figures.ReviewCount)
						require.Equal(t, r.CreatedAt.UTC(), a.CreatedAt)
						require.Equal(t, r.PublishedAt != nil, a.PublishedAt != nil)
						require.Equal(t, r.LastPollAt != nil, a.LastPollAt != nil)
						if sc.q.Category != "" {
							require.Contains(t, a.Settings.Categories, sc.q.Category)
							require.GreaterOrEqual(t, r.Rating, sc.q.MinRating)
						}
					}
				})
			}

			// The other statements the load scenarios and paging send: several
			// words, every filter, a cursor (on SQLite the cursor is by rating).
			t.Run("shapes", func(t *testing.T) {
				after := &domain.Position{Key: 0.5, ID: "01"}
				for _, q := range []domain.Query{
					{Text: "data research", Sort: domain.SortRelevance, Limit: pageSize},
					{Text: "data", Sort: domain.SortRelevance, Limit: pageSize, Category: "code", MinPrice: 20, MaxPrice: 500,
						MinRating: 4, OnlineOnly: true, MaxDeliveryDays: 7, Now: time.Now().UTC()},
					{Text: "data", Sort: domain.SortRelevance, Limit: pageSize, After: after},
					{Sort: domain.SortRating, Limit: pageSize, Category: "code", After: after},
				} {
					rec.Start()
					_, err := store.NewMarketplace(e.db).Browse(ctx, q)
					got := rec.Stop()
					require.NoError(t, err)
					require.Len(t, got, 1)
					want, _ := e.raw.sql(q)
					require.Equal(t, sqlrec.Shape(want), sqlrec.Shape(got[0]), "%+v", q)
				}
			})
		})
	}
}

func withLimit(q domain.Query, pageSize int) domain.Query {
	q.Limit = pageSize
	return q
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i))
	}
	require.Equal(t, time.Duration(50), percentile(d, 50))
	require.Equal(t, time.Duration(99), percentile(d, 99))
	require.Equal(t, time.Duration(100), percentile(d, 100))
	require.Equal(t, time.Duration(1), percentile(d[99:], 99))
	require.Equal(t, time.Duration(7), percentile([]time.Duration{9, 7, 3}, 50))
}

func TestSummarizePlan(t *testing.T) {
	t.Parallel()
	pg := []string{
		"Limit  (cost=2414.88..2414.94 rows=21 width=1177) (actual time=10.933..10.937 rows=21 loops=1)",
		"        ->  Seq Scan on agents a  (cost=0.00..2328.09 rows=3219 width=1177) (actual time=0.010..9.098 rows=3238 loops=1)",
		"              ->  Bitmap Index Scan on agents_search_idx  (cost=0.00..42.56 rows=3541 width=0)",
		"  ->  Index Scan using agents_active_rating_idx on agents a  (cost=0.29..8.31 rows=1 width=8)",
		"Execution Time: 10.964 ms",
	}
	require.Equal(t, "Seq Scan on agents; Bitmap Index Scan on agents_search_idx; Index Scan using agents_active_rating_idx on agents; Execution Time: 10.964 ms",
		summarizePlan(pg))
	lite := []string{"SEARCH a USING INDEX agents_active_rating_idx (rating>?)", "SEARCH c EXISTS USING COVERING INDEX agent_categories_category_idx (category=? AND agent_id=?)"}
	require.Equal(t, strings.Join(lite, "; "), summarizePlan(lite))
	require.Equal(t, "10,000", thousands(10000))
	require.Equal(t, "1,000,000", thousands(1000000))
	require.Equal(t, "999", thousands(999))
}

// reLimit is a statement's trailing LIMIT.
var reLimit = regexp.MustCompile(`LIMIT \d+$`)
