package orders_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	identitydomain "github.com/heepr/heepr/modules/identity/domain"
	"github.com/heepr/heepr/modules/kernel"
	marketdomain "github.com/heepr/heepr/modules/marketplace/domain"
	orderingdomain "github.com/heepr/heepr/modules/ordering/domain"
)

// pair is one customer talking to one agent: the rows every order of one
// client goes through (its wallet, the agent's feed, the conversation).
type pair struct {
	customer, owner kernel.UserID
	session         string // the customer's session cookie
	agent           string
	conversation    string
	template        string // a quote sent by the agent through heepr, cloned for the runs
	handle, name    string // the agent's handle, the customer's display name
	sessionHash     string // sessions.id_hash of the customer's session
}

// quotePrice is every quote's price in points.
const quotePrice = 120

// env is one Postgres schema with heepr serving on it.
type env struct {
	schema string
	db     *store.DB
	app    *heeprApp
	tracer *tracer
}

// openEnv migrates a fresh schema and starts heepr on it; every account
// gets starter points.
func openEnv(tb testing.TB, starterPoints int64) *env {
	tb.Helper()
	ctx := context.Background()
	schema := storetest.NewSchema(tb)
	tr := &tracer{}
	db, err := store.Open(ctx, store.Config{DatabaseURL: storetest.PostgresURL(), Schema: schema, Tracer: tr})
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate (is Postgres at %s up?): %v", storetest.PostgresURL(), err)
	}
	return &env{schema: schema, db: db, tracer: tr, app: startHeepr(tb, db, starterPoints)}
}

// newPairs signs up n customers and n owners, publishes one manual-mode
// agent per owner (every order waits for its owner's approval: hold,
// order, events and the owner's notice), opens a conversation per pair
// and has the agent send one quote in it, all through heepr's services.
func (e *env) newPairs(tb testing.TB, n int) []pair {
	tb.Helper()
	ctx := context.Background()
	out := make([]pair, n)
	tag := strings.ToLower(kernel.NewID())[:8]
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := e.newPair(ctx, fmt.Sprintf("%s-%d", tag, i))
			if err != nil {
				errs <- err
				return
			}
			out[i] = p
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return out
}

func (e *env) newPair(ctx context.Context, tag string) (pair, error) {
	a := e.app
	cust, err := a.identity.SignUp(ctx, identitydomain.SignUp{Email: "customer-" + tag + "@example.com", Password: "correct horse battery",
		DisplayName: "Customer " + tag, Role: kernel.RoleCustomer})
	if err != nil {
		return pair{}, fmt.Errorf("sign up customer: %w", err)
	}
	own, err := a.identity.SignUp(ctx, identitydomain.SignUp{Email: "owner-" + tag + "@example.com", Password: "correct horse battery",
		DisplayName: "Owner " + tag, Role: kernel.RoleOwner})
	if err != nil {
		return pair{}, fmt.Errorf("sign up owner: %w", err)
	}
	ownerP, err := a.identity.AuthenticateSession(ctx, own.SessionID)
	if err != nil {
		return pair{}, err
	}
	custP, err := a.identity.AuthenticateSession(ctx, cust.SessionID)
	if err != nil {
		return pair{}, err
	}
	created, err := a.market.CreateAgent(ctx, ownerP, "bench-"+tag, marketdomain.Settings{
		Name: "Bench agent " + tag, Specialty: "Go backend services",
		Description: "I build REST APIs for small businesses. Deadlines are sacred.",
		Categories:  []string{"code"}, Skills: []string{"go", "sql"}, Plugins: []string{},
		Tiers:                  []marketdomain.Tier{{Name: "Basic", Price: quotePrice, DeliveryDays: 3, Revisions: 1, Description: "Basic package"}},
		PollingIntervalSeconds: 60, AcceptMode: "manual",
	})
	if err != nil {
		return pair{}, fmt.Errorf("create agent: %w", err)
	}
	if _, err := a.market.Publish(ctx, ownerP, created.Agent.ID); err != nil {
		return pair{}, fmt.Errorf("publish: %w", err)
	}
	conv, err := a.ordering.CreateConversation(ctx, custP, created.Agent.ID, "Hello, can you fix my lint findings?")
	if err != nil {
		return pair{}, fmt.Errorf("create conversation: %w", err)
	}
	agentP, err := a.market.AuthenticateKey(ctx, created.APIKey)
	if err != nil {
		return pair{}, err
	}
	q, err := a.ordering.SendQuote(ctx, agentP, conv.ID, orderingdomain.Quote{Title: "Fix the lint findings", Description: "Every finding in ./...",
		Price: quotePrice, DeliveryDays: 3, Revisions: 1, Category: "code", Criteria: []string{"golangci-lint passes", "tests pass"},
		ExpiresAt: time.Now().Add(30 * 24 * time.Hour)})
	if err != nil {
		return pair{}, fmt.Errorf("send quote: %w", err)
	}
	var hash string
	if err := e.db.Pool.QueryRow(ctx, "SELECT id_hash FROM sessions WHERE user_id = $1", string(cust.User.ID)).Scan(&hash); err != nil {
		return pair{}, err
	}
	return pair{customer: cust.User.ID, owner: own.User.ID, session: cust.SessionID, agent: created.Agent.ID, conversation: conv.ID,
		template: q.ID, handle: "bench-" + tag, name: "Customer " + tag, sessionHash: hash}, nil
}

// cloneQuotes copies p's template quote under each of ids (open quotes of
// the same conversation, as if the agent had sent them), in one statement.
func (e *env) cloneQuotes(tb testing.TB, p pair, ids []string) {
	tb.Helper()
	_, err := e.db.Pool.Exec(context.Background(), `INSERT INTO quotes (id, conversation_id, agent_id, author_kind, title, description,
		price, delivery_days, revisions, category, criteria, expires_at, status, created_at, decided_at)
		SELECT n.id, q.conversation_id, q.agent_id, q.author_kind, q.title, q.description, q.price, q.delivery_days, q.revisions,
		q.category, q.criteria, q.expires_at, q.status, q.created_at, q.decided_at
		FROM quotes q, unnest($2::text[]) AS n(id) WHERE q.id = $1`, p.template, ids)
	if err != nil {
		tb.Fatalf("clone quotes: %v", err)
	}
}

// statement is one statement a connection sent, with its arguments.
type statement struct {
	SQL  string
	Args []any
}

// tracer is a pgx tracer that records every statement while on: what
// Postgres receives, from bun, River and direct pgx reads alike.
type tracer struct {
	mu  sync.Mutex
	on  bool
	got []statement
}

func (t *tracer) start() { t.mu.Lock(); t.on, t.got = true, nil; t.mu.Unlock() }

func (t *tracer) stop() []statement {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on = false
	return t.got
}

func (t *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	t.mu.Lock()
	if t.on {
		t.got = append(t.got, statement{SQL: d.SQL, Args: d.Args})
	}
	t.mu.Unlock()
	return ctx
}

func (t *tracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
