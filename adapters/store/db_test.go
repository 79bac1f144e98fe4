package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
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

// Config.Tracer sees what the pool sends, bun's statements included.
func TestTracerSeesStatements(t *testing.T) {
	for _, tg := range storetest.Targets(t) {
		if tg.Dialect != store.Postgres {
			continue
		}
		tr := &seenTracer{}
		cfg := tg.Config
		cfg.Tracer = tr
		db, err := store.Open(context.Background(), cfg)
		require.NoError(t, err)
		defer db.Close()
		var one int
		require.NoError(t, db.Bun.NewSelect().ColumnExpr("41 + 1").Scan(context.Background(), &one))
		require.Equal(t, 42, one)
		require.Contains(t, strings.Join(tr.sql, "\n"), "41 + 1")
	}
}

type seenTracer struct {
	mu  sync.Mutex
	sql []string
}

func (s *seenTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.mu.Lock()
	s.sql = append(s.sql, d.SQL)
	s.mu.Unlock()
	return ctx
}

func (s *seenTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
