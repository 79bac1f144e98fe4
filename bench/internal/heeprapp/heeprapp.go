// Package heeprapp assembles heepr for the benchmarks as cmd/heepr's newApp
// does (the composition root is package main, so it is mirrored here):
// every module on an open, migrated store.DB, the River queue with the real
// worker registry and periodic jobs, and the whole HTTP handler. Keep it in
// step with cmd/heepr/app.go.
package heeprapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync/atomic"
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

// Options are what a benchmark changes; the rest is cmd/heepr's defaults.
type Options struct {
	Work           bool  // run background jobs (role all / worker)
	Workers        int   // HEEPR_WORKERS (default 20)
	PlatformFeeBPS int   // HEEPR_PLATFORM_FEE_BPS (default 0)
	StarterPoints  int64 // HEEPR_STARTER_POINTS (default 1000)
	// Observe is told of every finished job (cmd/heepr passes its metrics'
	// ObserveJob); the benchmark's is called after the metrics'.
	Observe func(kind, state string, d time.Duration)
	DataDir string // mail and blobs (a temporary directory)
	// CachesOff, when set, switches off heepr's in-memory feed positions
	// and agent keys while it holds true: every poll then reads both from
	// the database (bench/events' database path). Nil: as cmd/heepr.
	CachesOff *atomic.Bool
}

// App is heepr assembled.
type App struct {
	DB       *store.DB
	Queue    *queue.Queue
	Identity *identity.Service
	Ledger   *ledger.Service
	Market   *marketplace.Service
	Ordering *ordering.Service
	Handler  http.Handler
	Hub      *wake.Hub
	// Events is the ordering store, wired to the hub as cmd/heepr wires it.
	Events *store.Ordering
	// TokenKey is the server secret keys and tokens are HMAC'd with.
	TokenKey string
}

// switchable is the wake hub whose Reliable can be switched off: heepr then
// trusts none of its caches (Options.CachesOff).
type switchable struct {
	*wake.Hub
	off *atomic.Bool
}

func (w switchable) Reliable() bool { return !w.off.Load() && w.Hub.Reliable() }

// New builds heepr on db. Requests and jobs are logged at Info into
// io.Discard (the line is built, only the write is skipped); tracing is off
// (no exporter configured), as in a default deployment. The queue is built
// but not started.
func New(ctx context.Context, db *store.DB, o Options) (*App, error) {
	log := telemetry.NewLogger(io.Discard, slog.LevelInfo)
	clock := kernel.Clock(kernel.SystemClock{})
	const baseURL = "http://127.0.0.1"
	metrics := telemetry.NewMetrics()
	metrics.RegisterDBStats("heepr", db.SQL)
	tokenKey, err := db.Secret(ctx, "token_hmac_key", randomHex)
	if err != nil {
		return nil, err
	}
	if o.Workers == 0 {
		o.Workers = 20
	}
	if o.StarterPoints == 0 {
		o.StarterPoints = 1000
	}
	observe := metrics.ObserveJob
	if o.Observe != nil {
		observe = func(kind, state string, d time.Duration) {
			metrics.ObserveJob(kind, state, d)
			o.Observe(kind, state, d)
		}
	}
	facades := &queue.Facades{}
	q, err := queue.New(db, queue.Register(facades), queue.Options{Work: o.Work, MaxWorkers: o.Workers, Logger: log, Observe: observe})
	if err != nil {
		return nil, err
	}
	a := &App{DB: db, Queue: q, Hub: &wake.Hub{Logger: log, Local: db.Pool == nil}, TokenKey: tokenKey}
	var waiter ordering.Waiter = a.Hub
	if o.CachesOff != nil {
		waiter = switchable{Hub: a.Hub, off: o.CachesOff}
	}
	a.Events = store.NewOrdering(db, a.Hub.Signal)
	a.Ledger = ledger.New(db, store.NewLedger(db), clock, ledger.Config{StarterPoints: kernel.Points(o.StarterPoints), PlatformFeeBPS: o.PlatformFeeBPS, ReviewRewardPoints: 10})
	mod := moderation.New(db, clock, store.NewAudit(db))
	ids := store.NewIdentity(db)
	a.Identity = identity.New(identity.Deps{
		Tx: db, Jobs: q, Clock: clock, Users: ids.Users(), Sessions: ids.Sessions(), Tokens: ids.Tokens(),
		Hasher: identity.NewHasher(), TokenKey: []byte(tokenKey),
		OnSignUp: func(ctx context.Context, u identity.UserView) error { return a.Ledger.GrantStarter(ctx, u.ID) },
		Audit:    mod.Audit,
	}, identity.Config{SessionIdle: 7 * 24 * time.Hour, SessionAbsolute: 30 * 24 * time.Hour})
	idn := a.Identity
	mailer := email.NewCapture(filepath.Join(o.DataDir, "mail"), "heepr <no-reply@heepr.dev>")
	notify := notification.New(mailer, idn, notification.Config{BaseURL: baseURL, SupportEmail: "support@heepr.dev"}).
		WithInbox(store.NewInbox(db), q, db, clock)
	idem := store.NewIdempotency(db)
	blobs, err := blob.NewLocal(filepath.Join(o.DataDir, "blobs"))
	if err != nil {
		return nil, err
	}
	var hooks *webhooks.Service
	a.Market = marketplace.New(marketplace.Deps{
		Tx: db, Jobs: q, Clock: clock, Agents: store.NewMarketplace(db), Blobs: blobs, KeyHMAC: []byte(tokenKey),
		Audit: mod.Audit,
		OnSettingsChanged: func(ctx context.Context, agentID string, version int) error {
			return a.Ordering.SettingsChanged(ctx, agentID, version)
		},
		OnKeyChanged: a.Events.Wake, KeysReliable: waiter.Reliable,
	})
	a.Ordering = ordering.New(ordering.Deps{
		Tx: db, Clock: clock, Store: a.Events, Events: a.Events,
		Waiter: waiter, Agents: a.Market, Ledger: a.Ledger, Notifier: notify, People: idn, Jobs: q, Blobs: blobs,
		Config:   ordering.Config{ReviewWindow: 72 * time.Hour, MaxUploadBytes: 100 << 20, LinkKey: []byte("file-links:" + tokenKey), BaseURL: baseURL},
		Escalate: func(ctx context.Context, o ordering.Order) error { return mod.ReviewStalled(ctx, o) },
		OnEvent: func(ctx context.Context, agentID string, seq int64, typ string, data map[string]any, at time.Time) error {
			return hooks.OnEvent(ctx, agentID, seq, typ, data, at)
		},
	})
	allow, err := webhooks.ParseAllow("")
	if err != nil {
		return nil, err
	}
	hooks = webhooks.New(webhooks.Deps{Tx: db, Clock: clock, Store: store.NewWebhooks(db), Jobs: q, Agents: a.Market,
		Notifier: notify, Sender: webhook.New(allow), Allow: allow, Audit: mod.Audit})
	mod.Connect(moderation.Deps{Cases: store.NewCases(db), Orders: a.Ordering, Agents: a.Market, Users: idn, Ledger: a.Ledger, Notifier: notify})
	a.Hub.OnSignal = func(agentID string) { a.Ordering.Invalidate(agentID); a.Market.ForgetKey(agentID) }
	a.Hub.OnSignalAll = func() { a.Ordering.InvalidateAll(); a.Market.ForgetKeys() }
	metrics.RegisterGauge("agent_polls_waiting", "Long-polls of agents waiting for an event in this process.",
		func() float64 { return float64(a.Hub.Waiting()) })
	sk, err := skills.NewService(db, store.NewSkills(db), a.Market, blobs, clock, baseURL, heepr.OpenAPI)
	if err != nil {
		return nil, err
	}
	*facades = queue.Facades{Identity: idn, Notification: notify, Ledger: a.Ledger, Idempotency: idem, Clock: clock, Log: log,
		Market: a.Market, Skills: sk, Blobs: blobs, BaseURL: baseURL, Ordering: a.Ordering, Moderation: mod, Webhooks: hooks}
	enforcer, err := authz.New()
	if err != nil {
		return nil, err
	}
	a.Handler, err = httpapi.New(httpapi.Options{
		Identity: idn, Ledger: a.Ledger, Market: a.Market, Skills: sk, Ordering: a.Ordering, Notify: notify, Moderation: mod, Webhooks: hooks,
		Jobs: q, AgentAuth: a.Market.AuthenticateKey, Tx: db, Idempotency: idem, Enforcer: enforcer, Metrics: metrics, Logger: log,
		Ready:   func(ctx context.Context) error { return db.Ping(ctx) },
		BaseURL: baseURL, MaxBodyBytes: 1 << 20, MaxUploadBytes: 100 << 20, RateLimits: httpapi.DefaultRateLimits(), Clock: clock,
		// The write and poll limits run as in production, but high enough
		// that a benchmark's own load (thousands of polls a second from
		// one agent, hundreds of orders from one customer) is not refused:
		// their cost is measured, their refusals are not.
		WriteLimit: benchLimit, PollLimit: benchLimit, MaxHeldPolls: httpapi.DefaultMaxHeldPolls,
	})
	if err != nil {
		return nil, fmt.Errorf("http handler: %w", err)
	}
	return a, nil
}

// benchLimit is a token bucket no benchmark empties.
var benchLimit = httpapi.Limit{PerMinute: 1e12, Burst: 1 << 30}

func randomHex() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
