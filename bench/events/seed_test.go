package events_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace"
)

// feedKind is the state of a seeded agent's events feed.
type feedKind string

const (
	// kindAcked: three events, all acknowledged. A poll authenticates the
	// key and reads the feed row, and answers at once.
	kindAcked feedKind = "acked"
	// kindLeased: five events, the first two acknowledged, the other three
	// handed out and leased for an hour, and the poll's cursor after them.
	// A poll also runs the events query (store.TakeSQL), which finds nothing.
	kindLeased feedKind = "leased"
	// kindCached: the acked agents with heepr's in-memory feed cache on (the
	// fast path: the poll authenticates the key and answers from memory).
	// kindAcked and kindLeased run with the cache off: the database path.
	kindCached feedKind = "cached"
	// kindHold: one event, acknowledged. A poll with wait holds.
	kindHold feedKind = "hold"
)

// agentFixture is one seeded agent as a poll sees it.
type agentFixture struct {
	ID     string
	Key    string // hpr_agent_...
	Hash   string // the key's HMAC, as agents.key_hash stores it
	Last   int64  // the feed's newest seq
	Acked  int64  // the feed's acknowledged seq
	Cursor int64  // what the poll passes as cursor
}

func (f agentFixture) cursor() string { return strconv.FormatInt(f.Cursor, 10) }

// keyHash is marketplace.Service's hash of an agent key.
func keyHash(tokenKey []byte, key string) string {
	m := hmac.New(sha256.New, tokenKey)
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil))
}

var agentInsertColumns = []string{"id", "owner_id", "handle", "status", "settings_version", "settings", "name", "specialty",
	"description", "skills_text", "price_min", "price_max", "fastest_delivery", "polling_interval", "key_hash", "key_prefix",
	"package_version", "created_at", "published_at", "published_us", "updated_at"}

// seedAgents writes n published agents with real keys (hashed with
// tokenKey, the server's HMAC key) and feeds of the given kind, one owner
// per ten agents, with multi-row INSERTs; then it refreshes the planner's
// statistics.
func seedAgents(ctx context.Context, db *store.DB, tokenKey []byte, n int, kind feedKind) ([]agentFixture, error) {
	ex := newExecer(db)
	now := time.Now().UTC().Truncate(time.Microsecond)
	var users, agents, feeds, events [][]any
	owner := ""
	out := make([]agentFixture, n)
	tag := strings.ToLower(kernel.NewID())
	tag = tag[len(tag)-6:]
	for i := range n {
		if i%10 == 0 {
			owner = kernel.NewID()
			email := fmt.Sprintf("owner-%s-%s-%d@example.com", kind, tag, i)
			users = append(users, []any{owner, email, email, "Owner " + strconv.Itoa(i), "x", "customer owner", ex.ts(now), ex.ts(now)})
		}
		key := kernel.NewToken(kernel.AgentKeyPrefix)
		f := agentFixture{ID: kernel.NewID(), Key: key, Hash: keyHash(tokenKey, key)}
		st := marketplace.Settings{
			Name: "Agent " + strconv.Itoa(i), Specialty: "Go backend services",
			Description: "I build REST APIs for small businesses. Deadlines are sacred. Experienced with go, sql, postgres.",
			Categories:  []string{"code"}, Skills: []string{"go", "sql", "postgres", "docker"}, Plugins: []string{},
			Tiers: []marketplace.Tier{
				{Name: "Basic", Price: 100, DeliveryDays: 3, Revisions: 1, Description: "Basic package"},
				{Name: "Standard", Price: 300, DeliveryDays: 6, Revisions: 2, Description: "Standard package"},
			},
			PollingIntervalSeconds: 60, AcceptMode: "manual",
		}
		raw, err := json.Marshal(st)
		if err != nil {
			return nil, err
		}
		lo, hi := st.PriceRange()
		handle := fmt.Sprintf("%s-%s-%d", kind, tag, i)
		agents = append(agents, []any{f.ID, owner, handle, "active", 1, string(raw), st.Name, st.Specialty,
			st.Description, strings.Join(st.Skills, " "), lo, hi, st.FastestDelivery(), st.PollingIntervalSeconds, f.Hash,
			kernel.TokenDisplayPrefix(key, kernel.AgentKeyPrefix), 1, ex.ts(now), ex.ts(now), now.UnixMicro(), ex.ts(now)})
		past, future := now.Add(-time.Hour).UnixMicro(), now.Add(time.Hour).UnixMicro()
		switch kind {
		case kindAcked:
			f.Last, f.Acked, f.Cursor = 3, 3, 3
		case kindLeased:
			f.Last, f.Acked, f.Cursor = 5, 2, 5
		case kindHold:
			f.Last, f.Acked, f.Cursor = 1, 1, 1
		}
		feeds = append(feeds, []any{f.ID, f.Last, f.Acked})
		for seq := int64(1); seq <= f.Last; seq++ {
			lease := past
			if seq > f.Acked {
				lease = future
			}
			data := fmt.Sprintf(`{"conversation_id":%q,"message_id":%q,"body":"event %d"}`, kernel.NewID(), kernel.NewID(), seq)
			events = append(events, []any{f.ID, seq, "message.created", data, ex.ts(now), 1, lease})
		}
		out[i] = f
	}
	err := ex.inTx(ctx, func(tx txExec) error {
		if err := insertRows(ctx, tx, "users", []string{"id", "email", "email_normalized", "display_name", "password_hash", "roles", "created_at", "updated_at"}, users); err != nil {
			return err
		}
		if err := insertRows(ctx, tx, "agents", agentInsertColumns, agents); err != nil {
			return err
		}
		if err := insertRows(ctx, tx, "agent_feeds", []string{"agent_id", "last_seq", "acked_seq"}, feeds); err != nil {
			return err
		}
		return insertRows(ctx, tx, "agent_events", []string{"agent_id", "seq", "type", "data", "created_at", "deliveries", "leased_until_us"}, events)
	})
	if err != nil {
		return nil, fmt.Errorf("seed %s agents: %w", kind, err)
	}
	if err := ex.analyze(ctx); err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	return out, nil
}

// insertRows writes rows with multi-row INSERTs of at most 16,000 bind
// parameters each (under both databases' limits).
func insertRows(ctx context.Context, tx txExec, table string, cols []string, rows [][]any) error {
	per := max(1, 16000/len(cols))
	for lo := 0; lo < len(rows); lo += per {
		chunk := rows[lo:min(lo+per, len(rows))]
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
		args := make([]any, 0, len(chunk)*len(cols))
		for i, row := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j, v := range row {
				if j > 0 {
					b.WriteString(", ")
				}
				args = append(args, v)
				fmt.Fprintf(&b, "$%d", len(args))
			}
			b.WriteByte(')')
		}
		if err := tx.exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return nil
}

type txExec interface {
	exec(ctx context.Context, q string, args ...any) error
}

// execer writes through pgx on Postgres and heepr's *sql.DB on SQLite.
type execer struct{ db *store.DB }

func newExecer(db *store.DB) execer { return execer{db} }

func (e execer) inTx(ctx context.Context, fn func(txExec) error) error {
	if e.db.Dialect == store.Postgres {
		tx, err := e.db.Pool.Begin(ctx)
		if err != nil {
			return err
		}
		if err := fn(pgTxExec{tx}); err != nil {
			_ = tx.Rollback(ctx)
			return err
		}
		return tx.Commit(ctx)
	}
	tx, err := e.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(sqliteTxExec{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

type pgTxExec struct{ tx pgx.Tx }

func (t pgTxExec) exec(ctx context.Context, q string, args ...any) error {
	_, err := t.tx.Exec(ctx, q, args...)
	return err
}

type sqliteTxExec struct{ tx *sql.Tx }

// exec runs q with its $n placeholders as SQLite's ?n.
func (t sqliteTxExec) exec(ctx context.Context, q string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, strings.ReplaceAll(q, "$", "?"), args...)
	return err
}

// ts formats a timestamp as bun writes it (SQLite) or passes it (Postgres).
func (e execer) ts(t time.Time) any {
	if e.db.Dialect == store.Postgres {
		return t
	}
	return t.UTC().Format("2006-01-02 15:04:05.999999-07:00")
}

func (e execer) analyze(ctx context.Context) error {
	if e.db.Dialect == store.Postgres {
		_, err := e.db.Pool.Exec(ctx, "VACUUM ANALYZE users, agents, agent_feeds, agent_events")
		return err
	}
	_, err := e.db.SQL.ExecContext(ctx, "ANALYZE")
	return err
}
