// Package store is the bun adapter: it opens Postgres or SQLite, runs the
// migrations of both dialects, carries transactions in the context and
// implements each module's repositories.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/extra/bunotel"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Dialect names the database in use.
type Dialect string

// The two supported databases.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Config says which database to open.
type Config struct {
	// DatabaseURL is a postgres:// URL; empty selects SQLite in DataDir.
	DatabaseURL string
	// DataDir holds heepr.db when SQLite is used.
	DataDir string
	// Schema, for Postgres, puts every table (heepr's and River's) in this
	// schema instead of public. Tests use one schema each.
	Schema string
	// MaxConns bounds the Postgres pool (default: DATABASE_URL's
	// pool_max_conns, else 20).
	MaxConns int32
	// Tracer, for Postgres, sees every statement the pool's connections send
	// (bun's, River's and direct pgx reads alike), with its arguments;
	// benchmarks use it to record what a request runs. Nil in production.
	Tracer pgx.QueryTracer
}

// DB is an open database with everything the adapters need from it.
type DB struct {
	Bun     *bun.DB
	SQL     *sql.DB
	Pool    *pgxpool.Pool // nil on SQLite
	Dialect Dialect
	Schema  string
}

// Open connects to the configured database. It does not migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.DatabaseURL == "" {
		return openSQLite(cfg)
	}
	if !strings.HasPrefix(cfg.DatabaseURL, "postgres://") && !strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
		return nil, errors.New("open database: DATABASE_URL must be a postgres:// URL (unset it to use the embedded SQLite)")
	}
	return openPostgres(ctx, cfg)
}

func openPostgres(ctx context.Context, cfg Config) (*DB, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	// One prepared statement per distinct bun query would pile up on the server.
	pcfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	if cfg.Schema != "" {
		pcfg.ConnConfig.RuntimeParams["search_path"] = cfg.Schema
	}
	// 20 connections unless DATABASE_URL sets pool_max_conns (docs/SCALING.md)
	// or the caller asks for another number.
	if !strings.Contains(cfg.DatabaseURL, "pool_max_conns=") {
		pcfg.MaxConns = 20
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	if cfg.Tracer != nil {
		pcfg.ConnConfig.Tracer = cfg.Tracer
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	sqldb := stdlib.OpenDBFromPool(pool)
	db := &DB{SQL: sqldb, Pool: pool, Dialect: Postgres, Schema: cfg.Schema}
	db.Bun = bun.NewDB(sqldb, pgdialect.New())
	db.Bun.AddQueryHook(bunotel.NewQueryHook(bunotel.WithDBName("heepr")))
	return db, nil
}

func openSQLite(cfg Config) (*DB, error) {
	dir := cfg.DataDir
	if dir == "" {
		dir = "data"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dir, "heepr.db")
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_txlock", "immediate")
	sqldb, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// SQLite allows one writer; one connection avoids SQLITE_BUSY entirely.
	sqldb.SetMaxOpenConns(1)
	sqldb.SetMaxIdleConns(1)
	sqldb.SetConnMaxLifetime(0)
	sqldb.SetConnMaxIdleTime(0)
	db := &DB{SQL: sqldb, Dialect: SQLite}
	db.Bun = bun.NewDB(sqldb, sqlitedialect.New())
	db.Bun.AddQueryHook(bunotel.NewQueryHook(bunotel.WithDBName("heepr")))
	return db, nil
}

// Close releases the connections.
func (db *DB) Close() error {
	err := db.Bun.Close()
	if db.Pool != nil {
		db.Pool.Close()
	}
	return err
}

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.Bun.PingContext(ctx) }

type secretRow struct {
	bun.BaseModel `bun:"table:server_secrets"`

	Name      string    `bun:"name,pk"`
	Value     string    `bun:"value"`
	CreatedAt time.Time `bun:"created_at"`
}

// Secret returns the server secret called name, creating it with gen on
// first use. Every process sharing the database gets the same value.
func (db *DB) Secret(ctx context.Context, name string, gen func() string) (string, error) {
	row := &secretRow{Name: name, Value: gen(), CreatedAt: time.Now().UTC()}
	if _, err := db.Bun.NewInsert().Model(row).On("CONFLICT (name) DO NOTHING").Exec(ctx); err != nil {
		return "", fmt.Errorf("create secret %s: %w", name, err)
	}
	out := new(secretRow)
	if err := db.Bun.NewSelect().Model(out).Where("name = ?", name).Scan(ctx); err != nil {
		return "", fmt.Errorf("read secret %s: %w", name, err)
	}
	return out.Value, nil
}
