package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
)

// Both dialects must hold the same migration versions, so a database of
// either kind is at the same schema version after the same release.
func TestMigrationVersionsMatch(t *testing.T) {
	t.Parallel()
	pg, err := store.MigrationVersions(store.Postgres)
	require.NoError(t, err)
	lite, err := store.MigrationVersions(store.SQLite)
	require.NoError(t, err)
	require.NotEmpty(t, pg)
	require.Equal(t, pg, lite, "migrations/postgres and migrations/sqlite must hold the same versions")
}

func TestMigrateIsIdempotentAndLeavesNothingPending(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		require.NoError(t, db.Migrate(ctx)) // a second run changes nothing
		n, err := db.Pending(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		var count int
		require.NoError(t, db.Bun.NewRaw("SELECT count(*) FROM river_job").Scan(ctx, &count))
	})
}

// Several processes starting at once on one empty Postgres schema all
// migrate successfully: the advisory lock makes them take turns.
func TestConcurrentMigrationsOnPostgres(t *testing.T) {
	t.Parallel()
	var pg *storetest.Target
	for _, tg := range storetest.Targets(t) {
		if tg.Dialect == store.Postgres {
			pg = &tg
		}
	}
	if pg == nil {
		t.Skip("Postgres is unreachable")
	}
	ctx := context.Background()
	const n = 6
	errs := make(chan error, n)
	for range n {
		go func() {
			db, err := store.Open(ctx, pg.Config)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- db.Migrate(ctx)
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	db, err := store.Open(ctx, pg.Config)
	require.NoError(t, err)
	defer db.Close()
	left, err := db.Pending(ctx)
	require.NoError(t, err)
	require.Zero(t, left)
}
