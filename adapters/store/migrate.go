package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/uptrace/bun/migrate"
)

//go:embed migrations
var migrationFiles embed.FS

// Migrations returns the migration folder of a dialect.
func Migrations(d Dialect) fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations/"+string(d))
	if err != nil {
		panic(err) // the folders are embedded at build time
	}
	return sub
}

// MigrationVersions lists the versions (file names without the suffix) of a dialect, sorted.
func MigrationVersions(d Dialect) ([]string, error) {
	entries, err := fs.ReadDir(Migrations(d), ".")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if i := strings.Index(name, "."); i > 0 {
			name = name[:i]
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out, nil
}

// Migrate brings River's tables and then heepr's own up to date. It is safe
// to run on every start and from several processes at once on Postgres:
// the whole of it runs under a session advisory lock, so concurrent starts
// wait for each other and then find nothing to do. (Neither River's
// migrator nor bun's table lock, which fails at once and can be left
// behind by a crash, makes concurrent starts safe on their own.)
func (db *DB) Migrate(ctx context.Context) error {
	if db.Dialect == Postgres {
		conn, err := db.SQL.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		key := "heepr.migrate." + db.Schema
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext($1))", key); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", key) //nolint:errcheck // the session ends with the connection's return anyway
	}
	return db.migrate(ctx)
}

func (db *DB) migrate(ctx context.Context) error {
	if err := db.migrateRiver(ctx); err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(Migrations(db.Dialect)); err != nil {
		return fmt.Errorf("discover migrations: %w", err)
	}
	m := migrate.NewMigrator(db.Bun, ms, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("init migrations: %w", err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

func (db *DB) migrateRiver(ctx context.Context) error {
	cfg := &rivermigrate.Config{Schema: db.Schema}
	if db.Dialect == SQLite {
		m, err := rivermigrate.New(riversqlite.New(db.SQL), cfg)
		if err != nil {
			return err
		}
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	}
	m, err := rivermigrate.New(riverdatabasesql.New(db.SQL), cfg)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// Pending reports how many heepr migrations have not been applied (0 when up to date).
func (db *DB) Pending(ctx context.Context) (int, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(Migrations(db.Dialect)); err != nil {
		return 0, err
	}
	m := migrate.NewMigrator(db.Bun, ms)
	status, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return 0, err
	}
	return len(status.Unapplied()), nil
}
