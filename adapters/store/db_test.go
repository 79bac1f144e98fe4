package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
)

// The pool holds 20 connections unless DATABASE_URL's pool_max_conns says
// otherwise (docs/SCALING.md: size the pool per process).
func TestPoolSizeFromDatabaseURL(t *testing.T) {
	for _, tg := range storetest.Targets(t) {
		if tg.Dialect != store.Postgres {
			continue
		}
		base := storetest.PostgresURL()
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		for url, want := range map[string]int32{base: 20, base + sep + "pool_max_conns=7": 7} {
			db, err := store.Open(context.Background(), store.Config{DatabaseURL: url})
			require.NoError(t, err)
			require.Equal(t, want, db.Pool.Config().MaxConns, url)
			require.NoError(t, db.Close())
		}
	}
}
