package payouts_test

import (
	"github.com/jackc/pgx/v5"

	"context"
	"testing"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
)

// openDB opens heepr's store on a fresh Postgres schema (dropped with tb),
// as cmd/heepr opens it (pool of 20), and migrates it.
func openDB(tb testing.TB) *store.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{DatabaseURL: storetest.PostgresURL(), Schema: storetest.NewSchema(tb)})
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return db
}

// forEach scans rows of (string, int64).
func forEach(rows pgx.Rows, s *string, n *int64, fn func()) (int, error) {
	defer rows.Close()
	c := 0
	for rows.Next() {
		if err := rows.Scan(s, n); err != nil {
			return c, err
		}
		fn()
		c++
	}
	return c, rows.Err()
}
