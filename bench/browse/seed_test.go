package browse_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/marketplace"
)

// The seeded market: agents in every category with names, specialties,
// skills and descriptions drawn from small word lists, so that some words
// are common (searchWord is in about a third of the agents) and most
// are rare, with log-spread prices, ratings from a review count, and
// publication times over a year. A tenth as many hidden agents (draft,
// paused, suspended) sit beside the active ones and must never be listed.

type vocab struct {
	nouns       []string // the second word of a name
	specialties []string
	skills      []string
	verbs       []string // "I <verb> <object>"
	objects     []string
}

var vocabs = map[string]vocab{
	"code": {
		nouns:       []string{"Coder", "Dev", "Engineer", "Builder", "Refactorer", "Debugger"},
		specialties: []string{"Go backend services", "Python data pipelines", "React front ends", "API integrations", "Test automation", "CI/CD and DevOps", "SQL query tuning", "Rust command-line tools", "Flutter mobile apps", "Browser extensions"},
		skills:      []string{"go", "python", "typescript", "react", "sql", "postgres", "docker", "kubernetes", "terraform", "rust", "testing", "graphql", "aws", "flutter", "linux"},
		verbs:       []string{"build", "refactor", "test", "debug", "ship", "document"},
		objects:     []string{"REST APIs", "web apps", "data pipelines", "microservices", "CLI tools", "integrations", "database migrations", "unit tests"},
	},
	"design": {
		nouns:       []string{"Pixel", "Designer", "Studio", "Brush", "Palette"},
		specialties: []string{"Logo design", "Brand identity", "UI mockups", "Icon sets", "Presentation decks", "Social media graphics", "Infographics"},
		skills:      []string{"figma", "illustrator", "branding", "typography", "ui", "ux", "photoshop", "infographics", "wireframes"},
		verbs:       []string{"design", "sketch", "polish", "redesign"},
		objects:     []string{"logos", "landing pages", "brand guides", "app screens", "slide decks", "icons", "infographics from your data"},
	},
	"video": {
		nouns:       []string{"Cutter", "Editor", "Reel", "Frame"},
		specialties: []string{"Explainer videos", "YouTube editing", "Motion graphics", "Subtitles and captions", "Short-form clips"},
		skills:      []string{"premiere", "after-effects", "davinci", "captions", "color-grading", "motion", "storyboards"},
		verbs:       []string{"edit", "cut", "animate", "caption"},
		objects:     []string{"explainer videos", "product demos", "interviews", "shorts", "tutorials", "webinars"},
	},
	"writing": {
		nouns:       []string{"Scribe", "Writer", "Quill", "Pen", "Wordsmith"},
		specialties: []string{"Blog posts", "Technical documentation", "Product descriptions", "Newsletters", "SEO articles", "Press releases", "Case studies"},
		skills:      []string{"copywriting", "seo", "editing", "proofreading", "research", "markdown", "storytelling", "ghostwriting"},
		verbs:       []string{"write", "edit", "proofread", "rewrite"},
		objects:     []string{"blog posts", "documentation", "product pages", "newsletters", "white papers", "case studies backed by data"},
	},
	"audio": {
		nouns:       []string{"Sound", "Mixer", "Voice", "Echo"},
		specialties: []string{"Podcast editing", "Voice-over scripts", "Music mastering", "Transcription", "Noise cleanup"},
		skills:      []string{"audacity", "mixing", "mastering", "transcription", "noise-reduction", "podcasts", "voice-over"},
		verbs:       []string{"mix", "master", "clean up", "transcribe"},
		objects:     []string{"podcast episodes", "interviews", "audiobooks", "voice-overs", "music tracks"},
	},
	"data": {
		nouns:       []string{"Analyst", "Wrangler", "Insight", "Miner", "Modeler"},
		specialties: []string{"Data cleaning", "Dashboards", "Data analysis reports", "Web scraping", "Spreadsheet automation", "Machine learning models", "Data visualization"},
		skills:      []string{"pandas", "sql", "excel", "tableau", "scraping", "statistics", "python", "data-visualization", "powerbi", "forecasting"},
		verbs:       []string{"clean", "analyze", "visualize", "model", "scrape"},
		objects:     []string{"messy data", "sales data", "survey results", "dashboards", "spreadsheets", "time series", "customer data"},
	},
	"other": {
		nouns:       []string{"Helper", "Assistant", "Researcher", "Concierge"},
		specialties: []string{"Research summaries", "Translation", "Virtual assistance", "Spreadsheet cleanup", "Market research"},
		skills:      []string{"translation", "research", "scheduling", "summaries", "spreadsheets", "outreach"},
		verbs:       []string{"research", "summarize", "translate", "organize"},
		objects:     []string{"market reports", "meeting notes", "contact lists", "competitor data", "documents"},
	},
}

var (
	categories  = []string{"code", "design", "video", "writing", "audio", "data", "other"}
	adjectives  = []string{"Swift", "Bright", "Quiet", "Clever", "Steady", "Nimble", "Keen", "Bold", "Lucid", "Tidy", "Sharp", "Patient", "Careful", "Friendly"}
	audiences   = []string{"startups", "small businesses", "agencies", "researchers", "nonprofits", "online shops", "SaaS teams", "solo founders"}
	extras      = []string{"a short summary", "the source files", "a changelog", "notes on every decision", "a walkthrough", "a checklist"}
	promises    = []string{"Fast turnaround and clear communication.", "I ask questions before I start.", "Deadlines are sacred.", "Quality first, then speed.", "Happy to work in your style guide."}
	tierNames   = []string{"Basic", "Standard", "Premium"}
	hiddenKinds = []string{"draft", "paused", "suspended"}
)

// seedAgent is one agents row (plus its categories) as the seed writes it.
type seedAgent struct {
	ID, OwnerID, Handle, Status, Settings        string
	Name, Specialty, Description, SkillsText     string
	PriceMin, PriceMax                           int64
	FastestDelivery, PollingInterval             int
	KeyHash, KeyPrefix                           string
	LastPollAt, OnlineUntil                      *time.Time
	RatingSum, ReviewCount                       int64
	Rating                                       float64
	CompletedOrders, OnTimeOrders, MissedDeadlns int64
	PublishedUS                                  *int64
	CreatedAt                                    time.Time
	PublishedAt                                  *time.Time
	Categories                                   []string
}

func pick[T any](r *mrand.Rand, s []T) T { return s[r.IntN(len(s))] }

// pickN returns n distinct elements of s (n <= len(s)).
func pickN[T any](r *mrand.Rand, s []T, n int) []T {
	idx := r.Perm(len(s))[:n]
	out := make([]T, n)
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// generate builds active active agents and active/10 hidden ones, owned by
// one user per ten agents, deterministically but for ids and keys.
func generate(active int, now time.Time) (owners []string, agents []seedAgent) {
	r := mrand.New(mrand.NewPCG(2026, 11))
	total := active + active/10
	for range (total + 9) / 10 {
		owners = append(owners, kernel.NewID())
	}
	for i := range total {
		cats := []string{pick(r, categories)}
		if r.IntN(3) == 0 { // a third work in a second category
			if c := pick(r, categories); c != cats[0] {
				cats = append(cats, c)
			}
		}
		v := vocabs[cats[0]]
		name := pick(r, adjectives) + " " + pick(r, v.nouns)
		skills := pickN(r, v.skills, 3+r.IntN(4))
		if len(cats) == 2 {
			skills = append(skills, pick(r, vocabs[cats[1]].skills))
		}
		sentences := []string{
			fmt.Sprintf("I %s %s for %s.", pick(r, v.verbs), pick(r, v.objects), pick(r, audiences)),
			pick(r, promises),
			fmt.Sprintf("Experienced with %s.", strings.Join(skills[:3], ", ")),
		}
		if r.IntN(2) == 0 {
			sentences = append(sentences, fmt.Sprintf("Every delivery includes %s.", pick(r, extras)))
		}
		if r.IntN(8) == 0 {
			sentences = append(sentences, "I also turn raw data into clear tables.")
		}
		// 1-3 tiers, prices log-spread from 5 to about 5,000 points.
		base := int64(5 * math.Pow(1000, r.Float64()))
		var tiers []marketplace.Tier
		for t := range 1 + r.IntN(3) {
			tiers = append(tiers, marketplace.Tier{Name: tierNames[t], Price: base * int64(1+2*t),
				DeliveryDays: 1 + r.IntN(7) + 3*t, Revisions: t + 1, Description: tierNames[t] + " package"})
		}
		st := marketplace.Settings{
			Name: name, Specialty: pick(r, v.specialties), Description: strings.Join(sentences, " "),
			Categories: cats, Skills: skills, Plugins: []string{}, Tiers: tiers,
			PollingIntervalSeconds: pick(r, []int{30, 60, 120, 300}), AcceptMode: "manual",
		}
		raw, err := json.Marshal(st)
		if err != nil {
			panic(err)
		}
		lo, hi := st.PriceRange()
		created := now.Add(-time.Duration(r.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Microsecond)
		a := seedAgent{
			ID: kernel.NewID(), OwnerID: owners[i/10], Handle: fmt.Sprintf("%s-%s-%d", strings.ToLower(strings.Fields(name)[1]), cats[0], i),
			Status: "active", Settings: string(raw), Name: st.Name, Specialty: st.Specialty, Description: st.Description,
			SkillsText: strings.Join(skills, " "), PriceMin: lo, PriceMax: hi, FastestDelivery: st.FastestDelivery(),
			PollingInterval: st.PollingIntervalSeconds, KeyHash: randHex(32), KeyPrefix: kernel.AgentKeyPrefix + randHex(3),
			CreatedAt: created, Categories: cats,
		}
		if i >= active {
			a.Status = hiddenKinds[i%len(hiddenKinds)]
		}
		if a.Status != "draft" {
			pub := created.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))).Truncate(time.Microsecond)
			us := pub.UnixMicro()
			a.PublishedAt, a.PublishedUS = &pub, &us
			if r.IntN(5) != 0 { // most have reviews: 1..200, around the agent's own quality (3..5 stars)
				a.ReviewCount = 1 + r.Int64N(200)
				quality := 3 + 2*math.Sqrt(r.Float64())
				for range a.ReviewCount {
					stars := int64(quality)
					if r.Float64() < quality-float64(stars) {
						stars++
					}
					if r.IntN(10) == 0 { // an outlier
						stars = 1 + r.Int64N(5)
					}
					a.RatingSum += min(5, stars)
				}
				a.Rating = float64(a.RatingSum) / float64(a.ReviewCount)
				a.CompletedOrders = a.ReviewCount + r.Int64N(50)
				a.MissedDeadlns = r.Int64N(1 + a.CompletedOrders/10)
				a.OnTimeOrders = a.CompletedOrders - a.MissedDeadlns
			}
			if r.IntN(3) == 0 { // a third polled recently
				poll := now.Add(-time.Duration(r.IntN(600)) * time.Second).Truncate(time.Microsecond)
				until := poll.Add(2 * time.Duration(a.PollingInterval) * time.Second)
				a.LastPollAt, a.OnlineUntil = &poll, &until
			}
		}
		agents = append(agents, a)
	}
	return owners, agents
}

var agentInsertColumns = []string{"id", "owner_id", "handle", "status", "settings_version", "settings", "name", "specialty",
	"description", "skills_text", "price_min", "price_max", "fastest_delivery", "polling_interval", "key_hash", "key_prefix",
	"last_poll_at", "online_until", "package_version", "rating_sum", "review_count", "rating", "completed_orders",
	"on_time_orders", "missed_deadlines", "published_us", "created_at", "published_at", "updated_at"}

// values returns the row in agentInsertColumns order, timestamps through ts.
func (a seedAgent) values(ts func(time.Time) any) []any {
	opt := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return ts(*t)
	}
	var pub any
	if a.PublishedUS != nil {
		pub = *a.PublishedUS
	}
	updated := a.CreatedAt
	if a.PublishedAt != nil {
		updated = *a.PublishedAt
	}
	return []any{a.ID, a.OwnerID, a.Handle, a.Status, 1, a.Settings, a.Name, a.Specialty,
		a.Description, a.SkillsText, a.PriceMin, a.PriceMax, a.FastestDelivery, a.PollingInterval, a.KeyHash, a.KeyPrefix,
		opt(a.LastPollAt), opt(a.OnlineUntil), 1, a.RatingSum, a.ReviewCount, a.Rating, a.CompletedOrders,
		a.OnTimeOrders, a.MissedDeadlns, pub, ts(a.CreatedAt), opt(a.PublishedAt), ts(updated)}
}

// seedResult says what was seeded and how long it took.
type seedResult struct {
	Active, Hidden int
	Took           time.Duration
}

// seed writes the market with multi-row INSERTs, perTx agents per
// transaction: through a pgx connection on Postgres, through heepr's own
// *sql.DB on SQLite (where the FTS triggers fill agents_fts). Then it
// updates the planner's statistics, as autovacuum or ANALYZE would.
func seed(ctx context.Context, db *store.DB, active int) (seedResult, error) {
	started := time.Now()
	now := time.Now().UTC()
	owners, agents := generate(active, now)
	var ex execer
	if db.Dialect == store.Postgres {
		conn, err := db.Pool.Acquire(ctx)
		if err != nil {
			return seedResult{}, err
		}
		defer conn.Release()
		ex = pgExecer{conn.Conn()}
	} else {
		ex = sqliteExecer{db.SQL}
	}
	userCols := []string{"id", "email", "email_normalized", "display_name", "password_hash", "roles", "created_at", "updated_at"}
	var users [][]any
	for i, o := range owners {
		email := fmt.Sprintf("owner%d@example.com", i)
		users = append(users, []any{o, email, email, fmt.Sprintf("Owner %d", i), "x", "customer owner", ex.ts(now), ex.ts(now)})
	}
	if err := ex.inTx(ctx, func(tx txExec) error { return insertRows(ctx, tx, "users", userCols, users) }); err != nil {
		return seedResult{}, fmt.Errorf("seed users: %w", err)
	}
	const perTx = 2500
	for lo := 0; lo < len(agents); lo += perTx {
		chunk := agents[lo:min(lo+perTx, len(agents))]
		rows := make([][]any, len(chunk))
		var cats [][]any
		for i, a := range chunk {
			rows[i] = a.values(ex.ts)
			for _, c := range a.Categories {
				cats = append(cats, []any{a.ID, c})
			}
		}
		if err := ex.inTx(ctx, func(tx txExec) error {
			if err := insertRows(ctx, tx, "agents", agentInsertColumns, rows); err != nil {
				return err
			}
			return insertRows(ctx, tx, "agent_categories", []string{"agent_id", "category"}, cats)
		}); err != nil {
			return seedResult{}, fmt.Errorf("seed agents: %w", err)
		}
	}
	if err := ex.analyze(ctx); err != nil {
		return seedResult{}, fmt.Errorf("analyze: %w", err)
	}
	return seedResult{Active: active, Hidden: len(agents) - active, Took: time.Since(started)}, nil
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

type execer interface {
	inTx(ctx context.Context, fn func(txExec) error) error
	ts(t time.Time) any
	analyze(ctx context.Context) error
}

type pgExecer struct{ conn *pgx.Conn }

func (e pgExecer) inTx(ctx context.Context, fn func(txExec) error) error {
	return pgx.BeginFunc(ctx, e.conn, func(tx pgx.Tx) error { return fn(pgTxExec{tx}) })
}

func (pgExecer) ts(t time.Time) any { return t }

func (e pgExecer) analyze(ctx context.Context) error {
	_, err := e.conn.Exec(ctx, "VACUUM ANALYZE agents, agent_terms, agent_categories, users")
	return err
}

type pgTxExec struct{ tx pgx.Tx }

func (t pgTxExec) exec(ctx context.Context, q string, args ...any) error {
	_, err := t.tx.Exec(ctx, q, args...)
	return err
}

type sqliteExecer struct{ db *sql.DB }

func (e sqliteExecer) inTx(ctx context.Context, fn func(txExec) error) error {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(sqliteTxExec{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ts formats a timestamp the way bun's SQLite dialect writes it.
func (sqliteExecer) ts(t time.Time) any { return t.UTC().Format("2006-01-02 15:04:05.999999-07:00") }

func (e sqliteExecer) analyze(ctx context.Context) error {
	_, err := e.db.ExecContext(ctx, "ANALYZE")
	return err
}

type sqliteTxExec struct{ tx *sql.Tx }

// exec runs q with its $n placeholders as SQLite's ?n.
func (t sqliteTxExec) exec(ctx context.Context, q string, args ...any) error {
	_, err := t.tx.ExecContext(ctx, strings.ReplaceAll(q, "$", "?"), args...)
	return err
}
