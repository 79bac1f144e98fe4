// Package storetest opens real databases for tests: a temporary SQLite file
// and a fresh schema in the local Postgres. Every store and flow test runs
// on both.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heepr/heepr/adapters/store"
)

// DefaultPostgresURL is the machine's local server (trust auth).
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Target is one database to run a test against.
type Target struct {
	Dialect store.Dialect
	Config  store.Config
}

// PostgresURL is DATABASE_URL, or the local server.
func PostgresURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

var (
	pgOnce sync.Once
	pgErr  error
)

// postgresReachable checks once per test binary.
func postgresReachable() error {
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, PostgresURL())
		if err != nil {
			pgErr = err
			return
		}
		pgErr = conn.Ping(ctx)
		_ = conn.Close(ctx)
	})
	return pgErr
}

// Targets returns a fresh SQLite file and a fresh Postgres schema, each
// dropped when the test ends. When Postgres is unreachable the Postgres
// target is skipped, except under CI=true, where the test fails.
func Targets(t testing.TB) []Target {
	t.Helper()
	out := []Target{{Dialect: store.SQLite, Config: store.Config{DataDir: t.TempDir()}}}
	if err := postgresReachable(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Postgres at %s is unreachable under CI: %v", PostgresURL(), err)
		}
		t.Logf("skipping Postgres: %v", err)
		return out
	}
	schema := NewSchema(t)
	return append(out, Target{Dialect: store.Postgres, Config: store.Config{DatabaseURL: PostgresURL(), Schema: schema, MaxConns: 8}})
}

// NewSchema creates an empty Postgres schema for one test and drops it after.
func NewSchema(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, PostgresURL())
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, PostgresURL())
		if err != nil {
			t.Errorf("connect postgres for cleanup: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// Open opens and migrates a target's database, closed when the test ends.
func Open(t testing.TB, tg Target) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, tg.Config)
	if err != nil {
		t.Fatalf("open %s: %v", tg.Dialect, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", tg.Dialect, err)
	}
	return db
}

// Each runs fn as a parallel subtest per target, with the database open and migrated.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, tg := range Targets(t) {
		t.Run(string(tg.Dialect), func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, tg))
		})
	}
}
