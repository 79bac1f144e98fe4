package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/kernel"
)

// The store's DB is the application's transaction port.
var _ kernel.Tx = (*store.DB)(nil)

var errBoom = errors.New("boom")

// txCtx bounds a test: a transaction that does not join the one in the
// context would wait forever for SQLite's only connection.
func txCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// putRow writes a server_secrets row on the connection in ctx (the transaction, if any).
func putRow(ctx context.Context, db *store.DB, name string) error {
	_, err := db.Conn(ctx).NewRaw("INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)",
		name, "v-"+name, t0).Exec(ctx)
	return err
}

// countRows counts server_secrets rows called name on the connection in ctx.
func countRows(t *testing.T, ctx context.Context, db *store.DB, name string) int {
	t.Helper()
	var n int
	require.NoError(t, db.Conn(ctx).NewRaw("SELECT count(*) FROM server_secrets WHERE name = ?", name).Scan(ctx, &n))
	return n
}

func TestInTxCommits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := txCtx(t)
		users := store.NewIdentity(db).Users()
		u := newUser("ann@example.com")
		err := db.InTx(ctx, func(ctx context.Context) error {
			require.NoError(t, putRow(ctx, db, "a"))
			require.NoError(t, users.Insert(ctx, u))
			require.Equal(t, 1, countRows(t, ctx, db, "a"), "the transaction sees its own write")
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, 1, countRows(t, ctx, db, "a"))
		_, err = users.ByID(ctx, u.ID)
		require.NoError(t, err)
	})
}

func TestInTxErrorRollsBackEverything(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := txCtx(t)
		users := store.NewIdentity(db).Users()
		u := newUser("ann@example.com")
		err := db.InTx(ctx, func(ctx context.Context) error {
			require.NoError(t, putRow(ctx, db, "a"))
			require.NoError(t, users.Insert(ctx, u))
			require.NoError(t, putRow(ctx, db, "b"))
			return fmt.Errorf("do things: %w", errBoom)
		})
		require.ErrorIs(t, err, errBoom, "fn's error is returned")
		require.Zero(t, countRows(t, ctx, db, "a"))
		require.Zero(t, countRows(t, ctx, db, "b"))
		_, err = users.ByID(ctx, u.ID)
		require.ErrorIs(t, err, kernel.ErrNotFound)

		// A failed statement inside the transaction, returned as the error, rolls back the earlier writes too.
		err = db.InTx(ctx, func(ctx context.Context) error {
			require.NoError(t, putRow(ctx, db, "c"))
			return putRow(ctx, db, "c")
		})
		require.True(t, store.IsUniqueViolation(err), "got %v", err)
		require.Zero(t, countRows(t, ctx, db, "c"))
	})
}

func TestInTxPanicRollsBackAndReleasesTheConnection(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := txCtx(t)
		require.PanicsWithValue(t, "kaboom", func() {
			_ = db.InTx(ctx, func(ctx context.Context) error {
				require.NoError(t, putRow(ctx, db, "a"))
				panic("kaboom")
			})
		})
		// On SQLite this would block on the only connection if the transaction were left open.
		require.Zero(t, countRows(t, ctx, db, "a"))
		require.NoError(t, db.InTx(ctx, func(ctx context.Context) error { return putRow(ctx, db, "a") }))
		require.Equal(t, 1, countRows(t, ctx, db, "a"))
	})
}

func TestNestedInTxJoinsTheOuterTransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := txCtx(t)

		// The inner call succeeds, the outer fails: the inner write goes too.
		err := db.InTx(ctx, func(ctx context.Context) error {
			outer, ok := store.SQLTx(ctx)
			require.True(t, ok)
			require.NoError(t, putRow(ctx, db, "outer"))
			require.NoError(t, db.InTx(ctx, func(ctx context.Context) error {
				inner, ok := store.SQLTx(ctx)
				require.True(t, ok)
				require.Same(t, outer, inner, "the nested call must use the outer *sql.Tx")
				require.Equal(t, 1, countRows(t, ctx, db, "outer"), "the inner call sees the outer write")
				return putRow(ctx, db, "inner")
			}))
			require.Equal(t, 1, countRows(t, ctx, db, "inner"), "the outer call sees the inner write")
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		require.Zero(t, countRows(t, ctx, db, "outer"))
		require.Zero(t, countRows(t, ctx, db, "inner"), "an inner write is rolled back by the outer error")

		// The inner call fails and the outer passes the error on: nothing is kept.
		err = db.InTx(ctx, func(ctx context.Context) error {
			require.NoError(t, putRow(ctx, db, "outer2"))
			return db.InTx(ctx, func(ctx context.Context) error {
				require.NoError(t, putRow(ctx, db, "inner2"))
				return errBoom
			})
		})
		require.ErrorIs(t, err, errBoom)
		require.Zero(t, countRows(t, ctx, db, "outer2"))
		require.Zero(t, countRows(t, ctx, db, "inner2"))

		// Both succeed: both writes commit once the outer call returns.
		require.NoError(t, db.InTx(ctx, func(ctx context.Context) error {
			require.NoError(t, putRow(ctx, db, "outer3"))
			return db.InTx(ctx, func(ctx context.Context) error { return putRow(ctx, db, "inner3") })
		}))
		require.Equal(t, 1, countRows(t, ctx, db, "outer3"))
		require.Equal(t, 1, countRows(t, ctx, db, "inner3"))
	})
}

func TestSQLTxOnlyInsideATransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := txCtx(t)
		tx, ok := store.SQLTx(ctx)
		require.False(t, ok)
		require.Nil(t, tx)
		require.Same(t, db.Bun, db.Conn(ctx), "outside a transaction queries run on the database")

		var seen *sql.Tx
		require.NoError(t, db.InTx(ctx, func(ctx context.Context) error {
			tx, ok := store.SQLTx(ctx)
			require.True(t, ok)
			require.NotNil(t, tx)
			seen = tx
			require.NoError(t, putRow(ctx, db, "via-bun"))
			// The *sql.Tx is the very transaction bun writes on: it sees the uncommitted row,
			// and a write on it commits with the rest (this is what River's InsertTx relies on).
			var n int
			require.NoError(t, tx.QueryRowContext(ctx, "SELECT count(*) FROM server_secrets WHERE name = 'via-bun'").Scan(&n))
			require.Equal(t, 1, n)
			_, err := tx.ExecContext(ctx, "INSERT INTO server_secrets (name, value, created_at) VALUES ('via-sql', 'v', CURRENT_TIMESTAMP)")
			require.NoError(t, err)
			return nil
		}))
		require.NotNil(t, seen)
		_, ok = store.SQLTx(ctx)
		require.False(t, ok, "the outer context carries no transaction after InTx returns")
		require.Equal(t, 1, countRows(t, ctx, db, "via-sql"))

		err := db.InTx(ctx, func(ctx context.Context) error {
			tx, _ := store.SQLTx(ctx)
			_, err := tx.ExecContext(ctx, "INSERT INTO server_secrets (name, value, created_at) VALUES ('via-sql-2', 'v', CURRENT_TIMESTAMP)")
			require.NoError(t, err)
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		require.Zero(t, countRows(t, ctx, db, "via-sql-2"), "a write on the *sql.Tx rolls back with the transaction")
	})
}

func TestSecretIsStableAcrossCalls(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := txCtx(t)
		gen := func(v string) func() string { return func() string { return v } }
		first, err := db.Secret(ctx, "token_hmac_key", gen("first"))
		require.NoError(t, err)
		require.Equal(t, "first", first)
		again, err := db.Secret(ctx, "token_hmac_key", gen("second"))
		require.NoError(t, err)
		require.Equal(t, "first", again, "an existing secret is never replaced")

		other, err := db.Secret(ctx, "other_key", gen("other"))
		require.NoError(t, err)
		require.Equal(t, "other", other, "each name has its own secret")
		require.Equal(t, 1, countRows(t, ctx, db, "token_hmac_key"))
	})
}

// Two handles on one database stand for two processes starting at once
// (on SQLite, two connections to the same file).
func TestSecretConcurrentCallersAgree(t *testing.T) {
	t.Parallel()
	for _, tg := range storetest.Targets(t) {
		t.Run(string(tg.Dialect), func(t *testing.T) {
			t.Parallel()
			handles := []*store.DB{storetest.Open(t, tg), storetest.Open(t, tg)}
			ctx := txCtx(t)
			const callers = 8
			var (
				wg      sync.WaitGroup
				results = make([]string, callers)
				errs    = make([]error, callers)
				start   = make(chan struct{})
			)
			for i := range callers {
				wg.Go(func() {
					<-start
					results[i], errs[i] = handles[i%2].Secret(ctx, "shared", func() string { return fmt.Sprintf("value-%d", i) })
				})
			}
			close(start)
			wg.Wait()
			for i := range callers {
				require.NoError(t, errs[i], "caller %d", i)
			}
			winner := results[0]
			require.Regexp(t, `^value-[0-7]$`, winner, "the value one of the callers generated")
			for i := range callers {
				require.Equal(t, winner, results[i], "caller %d", i)
			}
			for _, h := range handles {
				got, err := h.Secret(ctx, "shared", func() string { return "late" })
				require.NoError(t, err)
				require.Equal(t, winner, got)
			}
			require.Equal(t, 1, countRows(t, ctx, handles[0], "shared"))
		})
	}
}

func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	require.False(t, store.IsUniqueViolation(nil))
	require.False(t, store.IsUniqueViolation(errBoom))
	require.False(t, store.IsUniqueViolation(sql.ErrNoRows))
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := txCtx(t)
		require.NoError(t, putRow(ctx, db, "dup"))
		err := putRow(ctx, db, "dup")
		require.Error(t, err)
		require.True(t, store.IsUniqueViolation(err), "primary key: %v", err)
		require.True(t, store.IsUniqueViolation(fmt.Errorf("insert secret: %w", err)), "wrapped")

		ids := store.NewIdentity(db)
		insertUser(t, ids, "ann@example.com")
		u := newUser("bob@example.com")
		u.EmailNormalized = "ann@example.com"
		_, err = db.Bun.NewRaw("INSERT INTO users (id, email, email_normalized, display_name, password_hash, roles, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			string(u.ID), u.Email, u.EmailNormalized, u.DisplayName, u.PasswordHash, "customer", t0, t0).Exec(ctx)
		require.Error(t, err)
		require.True(t, store.IsUniqueViolation(err), "unique constraint: %v", err)

		// Other database errors are not unique violations.
		err = ids.Sessions().Insert(ctx, newSession(kernel.UserID(kernel.NewID()), "orphan", t0, t0.Add(time.Hour)))
		require.Error(t, err, "a session of a missing user violates the foreign key")
		require.False(t, store.IsUniqueViolation(err), "foreign key: %v", err)
		_, err = db.Bun.NewRaw("INSERT INTO server_secrets (name, value, created_at) VALUES ('null', NULL, CURRENT_TIMESTAMP)").Exec(ctx)
		require.Error(t, err)
		require.False(t, store.IsUniqueViolation(err), "not null: %v", err)
		_, err = db.Bun.NewRaw("SELECT * FROM no_such_table").Exec(ctx)
		require.Error(t, err)
		require.False(t, store.IsUniqueViolation(err), "missing table: %v", err)
	})
}
