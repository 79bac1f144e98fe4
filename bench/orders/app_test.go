package orders_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/heepr/heepr"
	"github.com/heepr/heepr/adapters/authz"
	"github.com/heepr/heepr/adapters/blob"
	"github.com/heepr/heepr/adapters/email"
	httpapi "github.com/heepr/heepr/adapters/http"
	"github.com/heepr/heepr/adapters/queue"
	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/telemetry"
	"github.com/heepr/heepr/adapters/wake"
	"github.com/heepr/heepr/adapters/webhook"
	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/moderation"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering"
	"github.com/heepr/heepr/modules/skills"
	"github.com/heepr/heepr/modules/webhooks"
)

// heeprApp is heepr as `heepr serve --role api` runs it: every module
// wired as cmd/heepr's newApp wires them (the composition root is package
// main, so it is mirrored here), the whole HTTP handler behind a real
// loopback listener with serve's http.Server settings, the production
// rate limits, and the wake hub's LISTEN. No background workers (role
// api): jobs are enqueued, not run.
type heeprApp struct {
	db       *store.DB
	identity *identity.Service
	ledger   *ledger.Service
	market   *marketplace.Service
	ordering *ordering.Service
	url      string // http://127.0.0.1:port
}

// startHeepr builds heepr on an open, migrated database and serves it.
// Requests are logged at Info into io.Discard (the line is built, only the
// write is skipped); tracing is off (no exporter), as by default.
// starterPoints is every new account's grant (HEEPR_STARTER_POINTS).
func startHeepr(tb testing.TB, db *store.DB, starterPoints int64) *heeprApp {
	tb.Helper()
	ctx := context.Background()
	dataDir := tb.TempDir()
	log := telemetry.NewLogger(io.Discard, slog.LevelInfo)
	clock := kernel.Clock(kernel.SystemClock{})
	const baseURL = "http://127.0.0.1"
	metrics := telemetry.NewMetrics()
	metrics.RegisterDBStats("heepr", db.SQL)

	tokenKey, err := db.Secret(ctx, "token_hmac_key", randomHex)
	if err != nil {
		tb.Fatal(err)
	}
	mailer := email.NewCapture(filepath.Join(dataDir, "mail"), "heepr <no-reply@heepr.dev>")
	facades := &queue.Facades{}
	q, err := queue.New(db, queue.Register(facades), queue.Options{Work: false, MaxWorkers: 20, Logger: log, Observe: metrics.ObserveJob})
	if err != nil {
		tb.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = q.Stop(context.Background()) })

	a := &heeprApp{db: db}
	a.ledger = ledger.New(db, store.NewLedger(db), clock, ledger.Config{StarterPoints: kernel.Points(starterPoints), PlatformFeeBPS: 0, ReviewRewardPoints: 10})
	mod := moderation.New(db, clock, store.NewAudit(db))
	ids := store.NewIdentity(db)
	a.identity = identity.New(identity.Deps{
		Tx: db, Jobs: q, Clock: clock, Users: ids.Users(), Sessions: ids.Sessions(), Tokens: ids.Tokens(),
		Hasher: identity.NewHasher(), TokenKey: []byte(tokenKey),
		OnSignUp: func(ctx context.Context, u identity.UserView) error { return a.ledger.GrantStarter(ctx, u.ID) },
		Audit:    mod.Audit,
	}, identity.Config{SessionIdle: 7 * 24 * time.Hour, SessionAbsolute: 30 * 24 * time.Hour})
	notify := notification.New(mailer, a.identity, notification.Config{BaseURL: baseURL, SupportEmail: "support@heepr.dev"}).
		WithInbox(store.NewInbox(db), q, db, clock)
	idem := store.NewIdempotency(db)
	blobs, err := blob.NewLocal(filepath.Join(dataDir, "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	var hooks *webhooks.Service
	a.market = marketplace.New(marketplace.Deps{
		Tx: db, Jobs: q, Clock: clock, Agents: store.NewMarketplace(db), Blobs: blobs, KeyHMAC: []byte(tokenKey),
		Audit: mod.Audit,
		OnSettingsChanged: func(ctx context.Context, agentID string, version int) error {
			return a.ordering.SettingsChanged(ctx, agentID, version)
		},
	})
	hub := &wake.Hub{Logger: log, Local: db.Pool == nil}
	a.ordering = ordering.New(ordering.Deps{
		Tx: db, Clock: clock, Store: store.NewOrdering(db, hub.Signal), Events: store.NewOrdering(db, hub.Signal),
		Waiter: hub, Agents: a.market, Ledger: a.ledger, Notifier: notify, People: a.identity, Jobs: q, Blobs: blobs,
		Config:   ordering.Config{ReviewWindow: 72 * time.Hour, MaxUploadBytes: 100 << 20, LinkKey: []byte("file-links:" + tokenKey), BaseURL: baseURL},
		Escalate: func(ctx context.Context, o ordering.Order) error { return mod.ReviewStalled(ctx, o) },
		OnEvent: func(ctx context.Context, agentID string, seq int64, typ string, data map[string]any, at time.Time) error {
			return hooks.OnEvent(ctx, agentID, seq, typ, data, at)
		},
	})
	allow, err := webhooks.ParseAllow("")
	if err != nil {
		tb.Fatal(err)
	}
	hooks = webhooks.New(webhooks.Deps{Tx: db, Clock: clock, Store: store.NewWebhooks(db), Jobs: q, Agents: a.market,
		Notifier: notify, Sender: webhook.New(allow), Allow: allow, Audit: mod.Audit})
	mod.Connect(moderation.Deps{Cases: store.NewCases(db), Orders: a.ordering, Agents: a.market, Users: a.identity,
		Ledger: a.ledger, Notifier: notify})
	hub.OnSignal, hub.OnSignalAll = a.ordering.Invalidate, a.ordering.InvalidateAll
	metrics.RegisterGauge("agent_polls_waiting", "Long-polls of agents waiting for an event in this process.",
		func() float64 { return float64(hub.Waiting()) })
	sk, err := skills.NewService(db, store.NewSkills(db), a.market, blobs, clock, baseURL, heepr.OpenAPI)
	if err != nil {
		tb.Fatal(err)
	}
	*facades = queue.Facades{Identity: a.identity, Notification: notify, Ledger: a.ledger, Idempotency: idem, Clock: clock, Log: log,
		Market: a.market, Skills: sk, Blobs: blobs, BaseURL: baseURL, Ordering: a.ordering, Moderation: mod, Webhooks: hooks}
	enforcer, err := authz.New()
	if err != nil {
		tb.Fatal(err)
	}
	handler, err := httpapi.New(httpapi.Options{
		Identity: a.identity, Ledger: a.ledger, Market: a.market, Skills: sk, Ordering: a.ordering, Notify: notify, Moderation: mod, Webhooks: hooks, Jobs: q,
		AgentAuth: a.market.AuthenticateKey, Tx: db, Idempotency: idem, Enforcer: enforcer, Metrics: metrics, Logger: log,
		Ready:   func(ctx context.Context) error { return db.Ping(ctx) },
		BaseURL: baseURL, MaxBodyBytes: 1 << 20, MaxUploadBytes: 100 << 20, RateLimits: httpapi.DefaultRateLimits(), Clock: clock,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if db.Pool != nil {
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = hub.Listen(lctx, db.Pool, db.Schema)
		}()
		tb.Cleanup(func() { cancel(); <-done })
	}
	a.url = serve(tb, handler)
	return a
}

// serve runs handler on a loopback listener with the http.Server settings
// of `heepr serve` and returns its base URL; the server closes with tb.
func serve(tb testing.TB, handler http.Handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			tb.Errorf("serve: %v", err)
		}
	}()
	tb.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func randomHex() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
