package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/uptrace/bun"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/marketplace/domain"
)

type agentRow struct {
	bun.BaseModel `bun:"table:agents,alias:a"`

	ID              string     `bun:"id,pk"`
	OwnerID         string     `bun:"owner_id"`
	Handle          string     `bun:"handle"`
	Status          string     `bun:"status"`
	SettingsVersion int        `bun:"settings_version"`
	Settings        string     `bun:"settings"`
	Name            string     `bun:"name"`
	Specialty       string     `bun:"specialty"`
	Description     string     `bun:"description"`
	SkillsText      string     `bun:"skills_text"`
	PriceMin        int64      `bun:"price_min"`
	PriceMax        int64      `bun:"price_max"`
	FastestDelivery int        `bun:"fastest_delivery"`
	PollingInterval int        `bun:"polling_interval"`
	KeyHash         string     `bun:"key_hash"`
	KeyPrefix       string     `bun:"key_prefix"`
	LastPollAt      *time.Time `bun:"last_poll_at"`
	OnlineUntil     *time.Time `bun:"online_until"`
	AvatarKey       *string    `bun:"avatar_key"`
	AvatarType      *string    `bun:"avatar_type"`
	PackageVersion  int        `bun:"package_version"`
	RatingSum       int64      `bun:"rating_sum"`
	ReviewCount     int64      `bun:"review_count"`
	Rating          float64    `bun:"rating"`
	CompletedOrders int64      `bun:"completed_orders"`
	OnTimeOrders    int64      `bun:"on_time_orders"`
	MissedDeadlines int64      `bun:"missed_deadlines"`
	PublishedUS     *int64     `bun:"published_us"`
	CreatedAt       time.Time  `bun:"created_at"`
	PublishedAt     *time.Time `bun:"published_at"`
	UpdatedAt       time.Time  `bun:"updated_at"`
}

// agentColumns are the columns read back (never the generated search vector).
var agentColumns = []string{"id", "owner_id", "handle", "status", "settings_version", "settings", "name", "specialty",
	"description", "skills_text", "price_min", "price_max", "fastest_delivery", "polling_interval", "key_hash",
	"key_prefix", "last_poll_at", "online_until", "avatar_key", "avatar_type", "package_version", "rating_sum",
	"review_count", "rating", "completed_orders", "on_time_orders", "missed_deadlines", "published_us",
	"created_at", "published_at", "updated_at"}

func toAgentRow(a domain.Agent) (*agentRow, error) {
	st, err := json.Marshal(a.Settings)
	if err != nil {
		return nil, err
	}
	lo, hi := a.Settings.PriceRange()
	r := &agentRow{
		ID: a.ID, OwnerID: string(a.OwnerID), Handle: a.Handle, Status: string(a.Status), SettingsVersion: a.SettingsVersion,
		Settings: string(st), Name: a.Settings.Name, Specialty: a.Settings.Specialty, Description: a.Settings.Description,
		SkillsText: strings.Join(a.Settings.Skills, " "), PriceMin: lo, PriceMax: hi,
		FastestDelivery: a.Settings.FastestDelivery(), PollingInterval: a.Settings.PollingIntervalSeconds,
		KeyHash: a.KeyHash, KeyPrefix: a.KeyPrefix, LastPollAt: a.LastPollAt, PackageVersion: a.PackageVersion,
		RatingSum: a.Figures.RatingSum, ReviewCount: a.Figures.ReviewCount, Rating: a.Figures.Rating(),
		CompletedOrders: a.Figures.CompletedOrders, OnTimeOrders: a.Figures.OnTimeOrders,
		MissedDeadlines: a.Figures.MissedDeadlines, CreatedAt: a.CreatedAt, PublishedAt: a.PublishedAt, UpdatedAt: a.UpdatedAt,
		AvatarKey: nullable(a.AvatarKey), AvatarType: nullable(a.AvatarType),
	}
	if a.PublishedAt != nil {
		us := a.PublishedAt.UnixMicro()
		r.PublishedUS = &us
	}
	return r, nil
}

func (r *agentRow) toDomain() (domain.Agent, error) {
	st, err := decodedSettings.decode(r.Settings)
	if err != nil {
		return domain.Agent{}, fmt.Errorf("decode settings of agent %s: %w", r.ID, err)
	}
	a := domain.Agent{
		ID: r.ID, OwnerID: kernel.UserID(r.OwnerID), Handle: r.Handle, Status: domain.Status(r.Status),
		SettingsVersion: r.SettingsVersion, Settings: st, KeyHash: r.KeyHash, KeyPrefix: r.KeyPrefix,
		LastPollAt: utcPtr(r.LastPollAt), PackageVersion: r.PackageVersion,
		Figures: domain.Figures{RatingSum: r.RatingSum, ReviewCount: r.ReviewCount, CompletedOrders: r.CompletedOrders,
			OnTimeOrders: r.OnTimeOrders, MissedDeadlines: r.MissedDeadlines},
		CreatedAt: r.CreatedAt.UTC(), PublishedAt: utcPtr(r.PublishedAt), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.AvatarKey != nil {
		a.AvatarKey = *r.AvatarKey
	}
	if r.AvatarType != nil {
		a.AvatarType = *r.AvatarType
	}
	return a, nil
}

// decodedSettings remembers settings documents decoded from agents rows.
var decodedSettings settingsMemo

// settingsMemo maps the exact text of a settings document to what it
// decodes to. Decoding the JSON was about a quarter of heepr's CPU per
// search request (every agent on the page, and popular agents are on many
// pages); the same text always decodes to the same settings, so nothing in
// it can go stale. Callers get a copy of their own (Normalize and patches
// change the lists in place). At most maxMemoSettings documents are kept;
// past that the memo starts again empty.
type settingsMemo struct {
	mu sync.Mutex
	m  map[string]domain.Settings
}

const maxMemoSettings = 4096

func (m *settingsMemo) decode(raw string) (domain.Settings, error) {
	m.mu.Lock()
	st, ok := m.m[raw]
	m.mu.Unlock()
	if ok {
		return cloneSettings(st), nil
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return domain.Settings{}, err
	}
	m.mu.Lock()
	if m.m == nil || len(m.m) >= maxMemoSettings {
		m.m = make(map[string]domain.Settings)
	}
	m.m[raw] = st
	m.mu.Unlock()
	return cloneSettings(st), nil
}

// cloneSettings copies everything settings refer to (their lists, tiers
// and bands), so the copy shares no memory with s.
func cloneSettings(s domain.Settings) domain.Settings {
	s.Categories, s.Skills, s.Plugins = slices.Clone(s.Categories), slices.Clone(s.Skills), slices.Clone(s.Plugins)
	s.Tiers = slices.Clone(s.Tiers)
	if s.AutoBands != nil {
		b := *s.AutoBands
		b.Categories = slices.Clone(b.Categories)
		s.AutoBands = &b
	}
	return s
}

// Marketplace implements the marketplace module's Agents repository.
type Marketplace struct{ db *DB }

// NewMarketplace returns the marketplace store.
func NewMarketplace(db *DB) *Marketplace { return &Marketplace{db: db} }

var _ marketplace.Agents = (*Marketplace)(nil)

// Insert adds an agent with its first settings version and categories.
func (s *Marketplace) Insert(ctx context.Context, a domain.Agent) error {
	row, err := toAgentRow(a)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(ctx context.Context) error {
		conn := s.db.Conn(ctx)
		if _, err := conn.NewInsert().Model(row).Exec(ctx); err != nil {
			if IsUniqueViolation(err) {
				return kernel.Conflict("handle-taken", "the handle %q is taken; choose another", a.Handle)
			}
			return fmt.Errorf("insert agent: %w", err)
		}
		return s.writeVersion(ctx, conn, a, row.Settings)
	})
}

func (s *Marketplace) writeVersion(ctx context.Context, conn bun.IDB, a domain.Agent, settings string) error {
	if _, err := conn.NewRaw("INSERT INTO agent_settings_versions (agent_id, version, settings, created_at) VALUES (?, ?, ?, ?)",
		a.ID, a.SettingsVersion, settings, a.UpdatedAt).Exec(ctx); err != nil {
		return fmt.Errorf("insert settings version: %w", err)
	}
	if _, err := conn.NewRaw("DELETE FROM agent_categories WHERE agent_id = ?", a.ID).Exec(ctx); err != nil {
		return fmt.Errorf("clear categories: %w", err)
	}
	for _, c := range a.Settings.Categories {
		if _, err := conn.NewRaw("INSERT INTO agent_categories (agent_id, category) VALUES (?, ?)", a.ID, c).Exec(ctx); err != nil {
			return fmt.Errorf("insert category: %w", err)
		}
	}
	return nil
}

func (s *Marketplace) one(ctx context.Context, where string, arg any) (domain.Agent, error) {
	row := new(agentRow)
	err := s.db.Conn(ctx).NewSelect().Model(row).Column(agentColumns...).Where(where, arg).Limit(1).Scan(ctx)
	if IsNoRows(err) {
		return domain.Agent{}, kernel.NotFound("agent")
	}
	if err != nil {
		return domain.Agent{}, fmt.Errorf("select agent: %w", err)
	}
	return row.toDomain()
}

// Get finds an agent by id.
func (s *Marketplace) Get(ctx context.Context, id string) (domain.Agent, error) {
	return s.one(ctx, "id = ?", id)
}

// GetByHandle finds an agent by handle.
func (s *Marketplace) GetByHandle(ctx context.Context, handle string) (domain.Agent, error) {
	return s.one(ctx, "handle = ?", handle)
}

// KeySQL finds the agent a key belongs to (every agent request; also run
// bare by bench/events).
const KeySQL = "SELECT id FROM agents WHERE key_hash = ?"

// IDByKeyHash finds the id of the agent a key belongs to.
func (s *Marketplace) IDByKeyHash(ctx context.Context, hash string) (string, error) {
	var id string
	err := s.db.QueryRow(ctx, KeySQL, []any{hash}, &id)
	if IsNoRows(err) {
		return "", kernel.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("find agent key: %w", err)
	}
	return id, nil
}

// SaveSettings writes a new settings version and makes it live. It applies
// only on top of the version before it (a.SettingsVersion-1): when another
// update got there first it reports kernel.ErrConflict with code
// marketplace.CodeSettingsChanged and writes nothing. (Without the check,
// two concurrent updates on Postgres both wrote the same version number and
// the second failed on the versions table's primary key: a 500.)
func (s *Marketplace) SaveSettings(ctx context.Context, a domain.Agent) error {
	row, err := toAgentRow(a)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(ctx context.Context) error {
		conn := s.db.Conn(ctx)
		q := conn.NewUpdate().Model(row).Column("settings_version", "settings", "name", "specialty", "description",
			"skills_text", "price_min", "price_max", "fastest_delivery", "polling_interval", "updated_at").WherePK().
			Where("settings_version = ?", a.SettingsVersion-1)
		res, err := q.Exec(ctx)
		if err != nil {
			return fmt.Errorf("update agent settings: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("update agent settings: %w", err)
		} else if n == 0 {
			return kernel.Conflict(marketplace.CodeSettingsChanged, "the agent's settings changed meanwhile; try again")
		}
		if a.LastPollAt != nil { // the online window follows the cadence
			until := a.LastPollAt.Add(2 * time.Duration(a.Settings.PollingIntervalSeconds) * time.Second)
			if _, err := conn.NewUpdate().Model((*agentRow)(nil)).Set("online_until = ?", until).Where("id = ?", a.ID).Exec(ctx); err != nil {
				return err
			}
		}
		return s.writeVersion(ctx, conn, a, row.Settings)
	})
}

// SetStatus moves an agent from one status to another, only if it still
// has the first (so an owner's publish can never undo a suspension that
// committed meanwhile); publishing the first time stamps published_at.
func (s *Marketplace) SetStatus(ctx context.Context, id string, from, to domain.Status, at time.Time) error {
	q := s.db.Conn(ctx).NewUpdate().Model((*agentRow)(nil)).Set("status = ?", string(to)).Set("updated_at = ?", at).
		Where("id = ?", id).Where("status = ?", string(from))
	if to == domain.Active {
		q = q.Set("published_at = COALESCE(published_at, ?)", at).Set("published_us = COALESCE(published_us, ?)", at.UnixMicro())
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return fmt.Errorf("set agent status: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return kernel.Conflict("status-changed", "the agent's status changed meanwhile; reload and try again")
	}
	return nil
}

// SetKey replaces the agent's key hash.
func (s *Marketplace) SetKey(ctx context.Context, id, hash, prefix string, at time.Time) error {
	_, err := s.db.Conn(ctx).NewUpdate().Model((*agentRow)(nil)).Set("key_hash = ?", hash).Set("key_prefix = ?", prefix).
		Set("updated_at = ?", at).Where("id = ?", id).Exec(ctx)
	return err
}

// SetAvatar records the avatar's blob.
func (s *Marketplace) SetAvatar(ctx context.Context, id, key, contentType string, at time.Time) error {
	_, err := s.db.Conn(ctx).NewUpdate().Model((*agentRow)(nil)).Set("avatar_key = ?", key).Set("avatar_type = ?", contentType).
		Set("updated_at = ?", at).Where("id = ?", id).Exec(ctx)
	return err
}

// SetPackageVersion records the latest rendered skill package (never goes back).
func (s *Marketplace) SetPackageVersion(ctx context.Context, id string, version int) error {
	_, err := s.db.Conn(ctx).NewUpdate().Model((*agentRow)(nil)).Set("package_version = ?", version).
		Where("id = ?", id).Where("package_version < ?", version).Exec(ctx)
	return err
}

// TouchPoll records a poll and the online window it opens: last poll
// plus twice the cadence, computed in Go so both databases store it alike.
func (s *Marketplace) TouchPoll(ctx context.Context, id string, at time.Time) error {
	var interval []int
	if err := s.db.Conn(ctx).NewSelect().Model((*agentRow)(nil)).Column("polling_interval").Where("id = ?", id).
		Scan(ctx, &interval); err != nil {
		return fmt.Errorf("read polling interval: %w", err)
	}
	if len(interval) == 0 {
		return kernel.NotFound("agent")
	}
	until := at.Add(2 * time.Duration(interval[0]) * time.Second)
	_, err := s.db.Conn(ctx).NewUpdate().Model((*agentRow)(nil)).Set("last_poll_at = ?", at).Set("online_until = ?", until).
		Where("id = ?", id).Exec(ctx)
	return err
}

// AddFigures adds to an agent's figures in one statement and recomputes the
// rating column browse sorts by.
func (s *Marketplace) AddFigures(ctx context.Context, id string, add domain.Figures) error {
	_, err := s.db.Conn(ctx).NewRaw(`UPDATE agents SET rating_sum = rating_sum + ?, review_count = review_count + ?,
		completed_orders = completed_orders + ?, on_time_orders = on_time_orders + ?, missed_deadlines = missed_deadlines + ?,
		rating = CASE WHEN review_count + ? > 0 THEN (rating_sum + ?) * 1.0 / (review_count + ?) ELSE 0 END
		WHERE id = ?`, add.RatingSum, add.ReviewCount, add.CompletedOrders, add.OnTimeOrders, add.MissedDeadlines,
		add.ReviewCount, add.RatingSum, add.ReviewCount, id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("add agent figures: %w", err)
	}
	return nil
}

// Versions lists an agent's settings versions, newest first.
func (s *Marketplace) Versions(ctx context.Context, id string) ([]marketplace.Version, error) {
	var rows []struct {
		Version   int       `bun:"version"`
		Settings  string    `bun:"settings"`
		CreatedAt time.Time `bun:"created_at"`
	}
	if err := s.db.Conn(ctx).NewRaw("SELECT version, settings, created_at FROM agent_settings_versions WHERE agent_id = ? ORDER BY version DESC", id).
		Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("list settings versions: %w", err)
	}
	out := make([]marketplace.Version, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal([]byte(r.Settings), &out[i].Settings); err != nil {
			return nil, err
		}
		out[i].Version, out[i].CreatedAt = r.Version, r.CreatedAt.UTC()
	}
	return out, nil
}

// Version returns one settings version of an agent.
func (s *Marketplace) Version(ctx context.Context, id string, version int) (domain.Settings, error) {
	var raw []string
	if err := s.db.Conn(ctx).NewRaw("SELECT settings FROM agent_settings_versions WHERE agent_id = ? AND version = ?", id, version).
		Scan(ctx, &raw); err != nil {
		return domain.Settings{}, err
	}
	if len(raw) == 0 {
		return domain.Settings{}, kernel.NotFound("settings version")
	}
	var st domain.Settings
	return st, json.Unmarshal([]byte(raw[0]), &st)
}

// ByOwner lists an owner's agents, newest first.
func (s *Marketplace) ByOwner(ctx context.Context, owner kernel.UserID) ([]domain.Agent, error) {
	var rows []agentRow
	if err := s.db.Conn(ctx).NewSelect().Model(&rows).Column(agentColumns...).Where("owner_id = ?", string(owner)).
		OrderExpr("created_at DESC, id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list owner's agents: %w", err)
	}
	return toAgents(rows)
}

func toAgents(rows []agentRow) ([]domain.Agent, error) {
	out := make([]domain.Agent, len(rows))
	for i := range rows {
		a, err := rows[i].toDomain()
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// sortSpec says how a sort orders: its key expression and direction.
func (s *Marketplace) sortSpec(q domain.Query) (key string, desc bool) {
	switch q.Sort {
	case domain.SortRelevance:
		if s.db.Dialect == SQLite {
			return "-bm25(agents_fts, 10.0, 4.0, 4.0, 1.0)", true
		}
		// Postgres ranks in searchRanked; the facade never asks for
		// relevance without a text, which has nothing to rank by.
	case domain.SortRating:
		return "a.rating", true
	case domain.SortPriceLow:
		return "CAST(a.price_min AS DOUBLE PRECISION)", false
	case domain.SortPriceHigh:
		return "CAST(a.price_max AS DOUBLE PRECISION)", true
	case domain.SortOrders:
		return "CAST(a.completed_orders AS DOUBLE PRECISION)", true
	}
	return "CAST(COALESCE(a.published_us, 0) AS DOUBLE PRECISION)", true // newest
}

// ftsQuery turns free text into an FTS5 query of quoted terms (all must match).
func ftsQuery(text string) string {
	words := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, w := range words {
		words[i] = `"` + w + `"`
	}
	return strings.Join(words, " ")
}

// Browse returns listed agents for a query, one more than the limit when
// another page follows. Keyset paging on (sort key, id) never repeats or
// skips an agent.
//
// A search by relevance on Postgres is two branches of which the planner
// keeps one: websearch_to_tsquery is folded to a constant, so the guards on
// numnode (how many words and operators the query has) are decided while
// planning and the other branch is never run (see searchRanked).
func (s *Marketplace) Browse(ctx context.Context, q domain.Query) ([]marketplace.Listed, error) {
	var query *bun.SelectQuery
	switch {
	case q.Text != "" && q.Sort == domain.SortRelevance && s.db.Dialect == Postgres:
		query = s.searchRanked(ctx, q)
	case q.Text != "" && s.db.Dialect == SQLite && ftsQuery(q.Text) == "":
		return nil, nil
	default:
		key, desc := s.sortSpec(q)
		inner := s.listed(ctx)
		if q.Text != "" {
			if s.db.Dialect == Postgres {
				inner = inner.Where("a.search @@ "+tsQuery, q.Text)
			} else {
				inner = inner.Join("JOIN agents_fts ON agents_fts.rowid = a.rowid").Where("agents_fts MATCH ?", ftsQuery(q.Text))
			}
		}
		query = s.page(ctx, filtered(inner.ColumnExpr(key+" AS sort_key"), q), q, desc)
	}
	var rows []struct {
		agentRow `bun:",extend"`
		SortKey  float64 `bun:"sort_key"`
	}
	if err := query.Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("browse agents: %w", err)
	}
	out := make([]marketplace.Listed, len(rows))
	for i := range rows {
		a, err := rows[i].agentRow.toDomain()
		if err != nil {
			return nil, err
		}
		out[i] = marketplace.Listed{Agent: a, SortKey: rows[i].SortKey}
	}
	return out, nil
}

// tsQuery is a search's text as Postgres matches it: every word (stemmed,
// stop words dropped) unless the text says OR, -word or "a phrase".
const tsQuery = "websearch_to_tsquery('english', ?)"

// searchRanked is the Postgres search by relevance (ts_rank over the
// weighted search vector, best first, then id). A query of one word (the
// usual search) reads its page from agent_terms, the precomputed rank of
// every agent for every word it has (migration 20261129000010): the
// agent_terms_rank_idx walk yields the word's agents best first, and the
// page is the first q.Limit+1 that are listed and pass the filters, without
// ranking the rest (or, with a narrow filter, the planner starts from the
// filter and looks up each agent's rank by primary key). Anything else
// (several words, a phrase, OR, -word) matches through the GIN index and
// ranks every match with ts_rank, as before. The two branches give the
// same ranks for a one-word query (agent_terms.rank is ts_rank of the same
// tsquery), so ordering and cursors do not depend on the branch.
func (s *Marketplace) searchRanked(ctx context.Context, q domain.Query) *bun.SelectQuery {
	oneWord := s.listed(ctx).ColumnExpr("t.rank AS sort_key").
		Join("JOIN agent_terms AS t ON t.agent_id = a.id").
		Where("numnode("+tsQuery+") = 1", q.Text).
		Where("t.term = "+tsQuery+"::text", q.Text)
	if q.After != nil {
		// The cursor again, on agent_terms' own columns: a page deep in a
		// run of equal ranks then skips the agents before it in the index
		// instead of fetching each one's row first.
		oneWord = oneWord.Where("(t.rank < ? OR (t.rank = ? AND t.agent_id > ?))", q.After.Key, q.After.Key, q.After.ID)
	}
	other := s.listed(ctx).ColumnExpr("ts_rank(a.search, "+tsQuery+")::float8 AS sort_key", q.Text).
		Where("numnode("+tsQuery+") > 1", q.Text).
		Where("a.search @@ "+tsQuery, q.Text)
	return s.db.Conn(ctx).NewSelect().
		TableExpr("((?) UNION ALL (?)) AS u", s.page(ctx, filtered(oneWord, q), q, true), s.page(ctx, filtered(other, q), q, true)).
		ColumnExpr("u.*").OrderExpr("u.sort_key DESC, u.id ASC").Limit(int64(q.Limit + 1))
}

// listed selects every column of agents a (never the search vector).
func (s *Marketplace) listed(ctx context.Context) *bun.SelectQuery {
	sel := s.db.Conn(ctx).NewSelect().TableExpr("agents AS a")
	for _, c := range agentColumns {
		sel = sel.ColumnExpr("a." + c)
	}
	return sel
}

// filtered keeps the listed agents a (active ones) that pass q's filters.
func filtered(sel *bun.SelectQuery, q domain.Query) *bun.SelectQuery {
	sel = sel.Where("a.status = ?", string(domain.Active))
	if q.Category != "" {
		sel = sel.Where("EXISTS (SELECT 1 FROM agent_categories c WHERE c.agent_id = a.id AND c.category = ?)", q.Category)
	}
	if q.MinPrice > 0 {
		sel = sel.Where("a.price_max >= ?", q.MinPrice)
	}
	if q.MaxPrice > 0 {
		sel = sel.Where("a.price_min <= ?", q.MaxPrice)
	}
	if q.MinRating > 0 {
		sel = sel.Where("a.rating >= ?", q.MinRating)
	}
	if q.OnlineOnly {
		sel = sel.Where("a.online_until >= ?", q.Now)
	}
	if q.MaxDeliveryDays > 0 {
		sel = sel.Where("a.fastest_delivery <= ?", q.MaxDeliveryDays)
	}
	return sel
}

// page orders inner's rows (which have a sort_key column) by sort key and
// id and keeps the q.Limit+1 after q.After. The cursor's bound on the sort
// key alone (implied by the keyset condition beside it) is there for the
// planner: on an indexed key it starts the index scan at the cursor
// instead of reading and dropping every earlier row.
func (s *Marketplace) page(ctx context.Context, inner *bun.SelectQuery, q domain.Query, desc bool) *bun.SelectQuery {
	outer := s.db.Conn(ctx).NewSelect().TableExpr("(?) AS s", inner).ColumnExpr("s.*")
	dir, cmp := "ASC", ">"
	if desc {
		dir, cmp = "DESC", "<"
	}
	if q.After != nil {
		outer = outer.Where("s.sort_key "+cmp+"= ?", q.After.Key).
			Where("(s.sort_key "+cmp+" ? OR (s.sort_key = ? AND s.id > ?))", q.After.Key, q.After.Key, q.After.ID)
	}
	return outer.OrderExpr("s.sort_key " + dir + ", s.id ASC").Limit(int64(q.Limit + 1))
}

// Suspend moves an agent from status from to suspended, remembering from.
func (s *Marketplace) Suspend(ctx context.Context, id string, from domain.Status, at time.Time) error {
	res, err := s.db.Conn(ctx).NewUpdate().Model((*agentRow)(nil)).Set("status = 'suspended'").Set("suspended_from = ?", string(from)).
		Set("updated_at = ?", at).Where("id = ?", id).Where("status = ?", string(from)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("suspend agent: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return kernel.Conflict("status-changed", "the agent's status changed meanwhile; reload and try again")
	}
	return nil
}

// Reinstate returns a suspended agent to the status it had before.
func (s *Marketplace) Reinstate(ctx context.Context, id string, at time.Time) (domain.Status, error) {
	var from *string
	if err := s.db.Conn(ctx).NewSelect().Model((*agentRow)(nil)).Column("suspended_from").Where("id = ?", id).Scan(ctx, &from); err != nil {
		return "", fmt.Errorf("read agent: %w", err)
	}
	to := domain.Paused
	if from != nil && *from != "" && *from != string(domain.Suspended) {
		to = domain.Status(*from)
	}
	q := s.db.Conn(ctx).NewUpdate().Model((*agentRow)(nil)).Set("status = ?", string(to)).Set("suspended_from = NULL").
		Set("updated_at = ?", at).Where("id = ?", id).Where("status = 'suspended'")
	res, err := q.Exec(ctx)
	if err != nil {
		return "", fmt.Errorf("reinstate agent: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", kernel.Conflict("agent-not-suspended", "the agent is not suspended")
	}
	return to, nil
}
