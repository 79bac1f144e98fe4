package heeprproc

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/ledger/ledgertest"
)

// FreshDatabase creates an empty database on the shared Postgres
// (DATABASE_URL or 127.0.0.1:5432), dropped when the test ends, and
// returns its URL. Without Postgres the test is skipped, except under
// CI=true, where it fails (as in storetest).
func FreshDatabase(t *testing.T) string {
	t.Helper()
	return CreateDatabase(t, storetest.PostgresURL(), os.Getenv("CI") != "true")
}

// CreateDatabase creates an empty database heepr_<suite>_<random> on the
// Postgres of admin (a superuser's URL), dropped when the test ends, and
// returns its URL. If that Postgres does not answer, the test is skipped
// if skip, and fails otherwise.
func CreateDatabase(t *testing.T, admin string, skip bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err == nil {
		err = conn.Ping(ctx)
	}
	if err != nil {
		if conn != nil {
			_ = conn.Close(ctx)
		}
		if !skip {
			t.Fatalf("Postgres at %s is unreachable: %v", admin, err)
		}
		t.Skipf("needs Postgres (DATABASE_URL or %s): %v", storetest.DefaultPostgresURL, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	name := "heepr_" + suite + "_" + RandomSuffix(t)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err, "create database %s", name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("connect postgres to drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// Connect opens a connection to dbURL, closed when the test ends.
func Connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// Count runs a query answering one integer.
func Count(t *testing.T, db *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRow(t.Context(), sql, args...).Scan(&n), "%s", sql)
	return n
}

// RequireLedgerInvariants runs the ledger's own invariant check (the one
// every ledger test and the periodic audit job run) on the database, with
// the fee of MarketEnv.
func RequireLedgerInvariants(t *testing.T, dbURL string) {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{DatabaseURL: dbURL, MaxConns: 2})
	require.NoError(t, err)
	defer db.Close()
	ledgertest.RequireInvariants(t, ledgertest.New(db, nil, ledger.Config{PlatformFeeBPS: FeeBPS}))
}
