package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

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
