package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/identity/domain"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace"
	mdomain "github.com/heepr/heepr/modules/marketplace/domain"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// newOwner inserts a user to own agents.
func newOwner(t *testing.T, db *store.DB) kernel.Principal {
	t.Helper()
	id := kernel.UserID(kernel.NewID())
	now := time.Now().UTC()
	require.NoError(t, store.NewIdentity(db).Users().Insert(context.Background(), domain.User{
		ID: id, Email: string(id) + "@example.com", EmailNormalized: string(id) + "@example.com", DisplayName: "Owner",
		PasswordHash: "x", Roles: []kernel.Role{kernel.RoleCustomer, kernel.RoleOwner}, CreatedAt: now, UpdatedAt: now,
	}))
	return kernel.Principal{Method: kernel.AuthSession, UserID: id, Roles: []kernel.Role{kernel.RoleOwner}}
}

type noJobs struct{}

func (noJobs) Enqueue(context.Context, kernel.Job) error { return nil }

func settings(name, specialty, description string, price int64, skills ...string) mdomain.Settings {
	return mdomain.Settings{
		Name: name, Specialty: specialty, Description: description, Categories: []string{"writing"}, Skills: skills,
		Tiers:                  []mdomain.Tier{{Name: "Basic", Price: price, DeliveryDays: 3, Revisions: 1}},
		PollingIntervalSeconds: 60, AcceptMode: mdomain.AcceptManual,
	}
}

func TestBrowsePagingEverySortReturnsEachAgentOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		owner := newOwner(t, db)
		rng := rand.New(rand.NewPCG(1, 2))
		ids := map[string]bool{}
		for i := range 250 {
			svc := marketplace.New(marketplace.Deps{Tx: db, Jobs: noJobs{}, Clock: fixedClock{base.Add(time.Duration(i%7) * time.Hour)},
				Agents: store.NewMarketplace(db), KeyHMAC: []byte("k")})
			// Few distinct prices, ratings and times: many ties, which the id tie-breaker must order.
			st := settings(fmt.Sprintf("Writer %d", i), "Essays and reports", "I write clear reports about data.", int64(10*(1+rng.IntN(5))), "writing")
			c, err := svc.CreateAgent(ctx, owner, fmt.Sprintf("writer-%d", i), st)
			require.NoError(t, err)
			if i%10 == 9 {
				continue // a draft: never listed
			}
			_, err = svc.Publish(ctx, owner, c.Agent.ID)
			require.NoError(t, err)
			ids[c.Agent.ID] = true
			_, err = db.Bun.NewRaw("UPDATE agents SET rating = ?, completed_orders = ? WHERE id = ?",
				float64(rng.IntN(3))+0.5, rng.IntN(4), c.Agent.ID).Exec(ctx)
			require.NoError(t, err)
		}
		svc := marketplace.New(marketplace.Deps{Tx: db, Jobs: noJobs{}, Clock: fixedClock{base.Add(24 * time.Hour)}, Agents: store.NewMarketplace(db)})
		for _, sort := range mdomain.Sorts {
			for _, text := range []string{"", "reports"} {
				seen := map[string]bool{}
				cursor := ""
				for page := 0; ; page++ {
					require.Less(t, page, 100, "paging does not end")
					items, next, err := svc.Browse(ctx, mdomain.Query{Text: text, Sort: sort, Limit: 17}, cursor)
					require.NoError(t, err, "sort %s", sort)
					for _, a := range items {
						require.False(t, seen[a.ID], "sort %s q=%q: %s repeated on page %d", sort, text, a.ID, page)
						seen[a.ID] = true
					}
					if next == "" {
						break
					}
					cursor = next
				}
				require.Equal(t, len(ids), len(seen), "sort %s q=%q: every listed agent exactly once", sort, text)
				for id := range seen {
					require.True(t, ids[id], "a draft was listed")
				}
			}
		}
	})
}

func TestSearchRanksNameAboveDescription(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := newOwner(t, db)
		svc := marketplace.New(marketplace.Deps{Tx: db, Jobs: noJobs{}, Clock: fixedClock{time.Now().UTC()}, Agents: store.NewMarketplace(db)})
		mk := func(handle string, st mdomain.Settings) string {
			c, err := svc.CreateAgent(ctx, owner, handle, st)
			require.NoError(t, err)
			_, err = svc.Publish(ctx, owner, c.Agent.ID)
			require.NoError(t, err)
			return c.Agent.ID
		}
		inDescription := mk("desc-match", settings("Quill", "Writing", "Also good at kubernetes manifests.", 10))
		inName := mk("name-match", settings("Kubernetes Helper", "Infrastructure", "Writes manifests.", 10))
		mk("no-match", settings("Painter", "Design", "Logos.", 10))
		items, _, err := svc.Browse(ctx, mdomain.Query{Text: "kubernetes"}, "")
		require.NoError(t, err)
		require.Len(t, items, 2)
		require.Equal(t, inName, items[0].ID, "a name match ranks first")
		require.Equal(t, inDescription, items[1].ID)
	})
}

// A status change applies only from the status that was read: an owner's
// publish or pause racing a suspension can never undo it.
func TestSetStatusOnlyFromTheStatusRead(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := newOwner(t, db)
		svc := marketplace.New(marketplace.Deps{Tx: db, Jobs: noJobs{}, Clock: fixedClock{time.Now().UTC()}, Agents: store.NewMarketplace(db)})
		c, err := svc.CreateAgent(ctx, owner, "racer", settings("Racer", "Speed", "Fast.", 10))
		require.NoError(t, err)
		_, err = svc.Publish(ctx, owner, c.Agent.ID)
		require.NoError(t, err)
		_, err = db.Bun.NewRaw("UPDATE agents SET status = 'suspended' WHERE id = ?", c.Agent.ID).Exec(ctx) // support, meanwhile
		require.NoError(t, err)
		err = store.NewMarketplace(db).SetStatus(ctx, c.Agent.ID, mdomain.Active, mdomain.Paused, time.Now().UTC())
		require.ErrorIs(t, err, kernel.ErrConflict)
		a, err := store.NewMarketplace(db).Get(ctx, c.Agent.ID)
		require.NoError(t, err)
		require.Equal(t, mdomain.Suspended, a.Status)
	})
}

// A search by relevance lists exactly what ranking every match would:
// the same agents, in the same order, with the same sort keys, on one
// page or paged through cursors, with and without filters, for one word
// (which Postgres reads from the precomputed agent_terms) and for
// anything else (several words, OR, -word, phrases, stop words,
// punctuation). It still does after agents' texts and statuses change,
// whoever writes them; on Postgres agent_terms then equals what its
// triggers compute from every agent's search vector.
func TestSearchRanksLikeRankingEveryMatch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := newOwner(t, db)
		svc := marketplace.New(marketplace.Deps{Tx: db, Jobs: noJobs{}, Clock: fixedClock{time.Now().UTC()}, Agents: store.NewMarketplace(db)})
		rng := rand.New(rand.NewPCG(7, 11))
		words := []string{"data", "reports", "design", "python", "clear", "video", "writer", "kubernetes", "logo", "research"}
		pick := func(n int) string {
			out := make([]string, n)
			for i := range out {
				out[i] = words[rng.IntN(len(words))]
			}
			return strings.Join(out, " ")
		}
		cats := []string{"code", "data", "writing"}
		var ids []string
		for i := range 90 {
			st := settings(fmt.Sprintf("Agent %s %d", pick(1), i), "Works on "+pick(2), "I do "+pick(3)+". Also "+pick(1+rng.IntN(6))+".",
				int64(10*(1+rng.IntN(5))), strings.Fields(pick(2))...)
			st.Categories = []string{cats[i%len(cats)]}
			if i%9 == 0 { // the same text as another agent: equal ranks, ordered by id
				st.Name, st.Specialty, st.Description, st.Skills = "Agent data", "Works on data reports", "I do data.", []string{"python"}
			}
			c, err := svc.CreateAgent(ctx, owner, fmt.Sprintf("ranker-%d", i), st)
			require.NoError(t, err)
			if i%10 != 9 { // a tenth stay drafts
				_, err = svc.Publish(ctx, owner, c.Agent.ID)
				require.NoError(t, err)
			}
			ids = append(ids, c.Agent.ID)
		}
		queries := []string{"data", "Data", "DATA!", "report", "reports", "kubernetes", "logo", "research", "submarine",
			"data reports", "python data clear", "data or logo", "data -reports", `"clear data"`, `"data"`, "the", "the data",
			"data-driven", "ci/cd", `"'*:()`, "  video  "}
		filters := map[string]func(*mdomain.Query){
			"none":      func(*mdomain.Query) {},
			"category":  func(q *mdomain.Query) { q.Category = "writing" },
			"min price": func(q *mdomain.Query) { q.MinPrice = 30 },
		}
		check := func(stage string) {
			for _, text := range queries {
				for name, filter := range filters {
					q := mdomain.Query{Text: strings.TrimSpace(text), Sort: mdomain.SortRelevance, Limit: 500, Now: time.Now().UTC()}
					filter(&q)
					want := referenceSearch(t, db, q)
					got, err := store.NewMarketplace(db).Browse(ctx, q)
					require.NoError(t, err)
					require.Len(t, got, len(want), "%s: q=%q filter %s", stage, text, name)
					for i, l := range got {
						require.Equal(t, want[i], listedKey{l.Agent.ID, l.SortKey}, "%s: q=%q filter %s, row %d", stage, text, name, i)
					}
					// Paged through the facade: the same order, each agent once.
					var paged []string
					cursor := ""
					for page := 0; ; page++ {
						require.Less(t, page, 100, "paging does not end")
						pq := q
						pq.Limit, pq.Now = 4, time.Time{}
						items, next, err := svc.Browse(ctx, pq, cursor)
						require.NoError(t, err)
						for _, a := range items {
							paged = append(paged, a.ID)
						}
						if next == "" {
							break
						}
						cursor = next
					}
					require.Len(t, paged, len(want), "%s: q=%q filter %s, paged", stage, text, name)
					for i, id := range paged {
						require.Equal(t, want[i].id, id, "%s: q=%q filter %s, paged row %d", stage, text, name, i)
					}
				}
			}
			if db.Dialect == store.Postgres {
				var stray int
				require.NoError(t, db.Bun.NewRaw(`SELECT count(*) FROM (
					(SELECT agent_id, term, rank FROM agent_terms EXCEPT SELECT a.id, t.term, t.rank FROM agents a, agent_search_terms(a.search) t)
					UNION ALL
					(SELECT a.id, t.term, t.rank FROM agents a, agent_search_terms(a.search) t EXCEPT SELECT agent_id, term, rank FROM agent_terms)) x`).
					Scan(ctx, &stray))
				require.Zero(t, stray, "%s: agent_terms differs from the agents' search vectors", stage)
			}
		}
		check("created")

		// New texts through the facade, a pause, a suspension, a direct write.
		for i, id := range ids[:30] {
			pt := marketplace.Patch{}
			switch i % 3 {
			case 0:
				pt.Name = ptr("Kubernetes " + pick(2))
			case 1:
				pt.Description = ptr("Now only " + pick(4) + ".")
			default:
				pt.Skills = &[]string{"logo", "data"}
			}
			if i%10 == 9 {
				continue // drafts stay drafts; their texts are unchanged
			}
			_, err := svc.UpdateAgent(ctx, owner, id, pt)
			require.NoError(t, err)
		}
		_, err := svc.Pause(ctx, owner, ids[31])
		require.NoError(t, err)
		require.NoError(t, store.NewMarketplace(db).Suspend(ctx, ids[32], mdomain.Active, time.Now().UTC()))
		_, err = db.Bun.NewRaw("UPDATE agents SET specialty = 'Data data data', price_min = 5 WHERE id = ?", ids[33]).Exec(ctx)
		require.NoError(t, err)
		_, err = db.Bun.NewRaw("UPDATE agents SET last_poll_at = ?, rating = 4.5 WHERE id = ?", time.Now().UTC(), ids[34]).Exec(ctx)
		require.NoError(t, err)
		check("changed")
	})
}

func ptr[T any](v T) *T { return &v }

type listedKey struct {
	id  string
	key float64
}

// referenceSearch ranks every listed agent that matches q: ts_rank of the
// weighted search vector on Postgres, FTS5's bm25 on SQLite, best first,
// then by id.
func referenceSearch(t *testing.T, db *store.DB, q mdomain.Query) []listedKey {
	t.Helper()
	var rows []struct {
		ID  string  `bun:"id"`
		Key float64 `bun:"key"`
	}
	var sql string
	var args []any
	if db.Dialect == store.Postgres {
		sql = `SELECT a.id, ts_rank(a.search, websearch_to_tsquery('english', ?))::float8 AS key FROM agents a
			WHERE a.search @@ websearch_to_tsquery('english', ?) AND a.status = 'active'`
		args = []any{q.Text, q.Text}
	} else {
		var terms []string
		for _, w := range strings.FieldsFunc(q.Text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			terms = append(terms, `"`+w+`"`)
		}
		if len(terms) == 0 {
			return nil
		}
		sql = `SELECT a.id, -bm25(agents_fts, 10.0, 4.0, 4.0, 1.0) AS key FROM agents a JOIN agents_fts ON agents_fts.rowid = a.rowid
			WHERE agents_fts MATCH ? AND a.status = 'active'`
		args = []any{strings.Join(terms, " ")}
	}
	if q.Category != "" {
		sql += " AND EXISTS (SELECT 1 FROM agent_categories c WHERE c.agent_id = a.id AND c.category = ?)"
		args = append(args, q.Category)
	}
	if q.MinPrice > 0 {
		sql += " AND a.price_max >= ?"
		args = append(args, q.MinPrice)
	}
	require.NoError(t, db.Bun.NewRaw(sql+" ORDER BY key DESC, a.id", args...).Scan(context.Background(), &rows))
	out := make([]listedKey, len(rows))
	for i, r := range rows {
		out[i] = listedKey{r.ID, r.Key}
	}
	return out
}
