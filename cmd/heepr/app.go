package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
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
	"github.com/heepr/heepr/web"
)

// app is heepr assembled: the composition root wires every adapter into
// every module here and nowhere else.
type app struct {
	cfg        config
	log        *slog.Logger
	db         *store.DB
	queue      *queue.Queue
	metrics    *telemetry.Metrics
	identity   *identity.Service
	ledger     *ledger.Service
	market     *marketplace.Service
	skills     *skills.Service
	blobs      kernel.Blobs
	ordering   *ordering.Service
	notify     *notification.Service
	moderation *moderation.Service
	webhooks   *webhooks.Service
	hub        *wake.Hub
	handler    http.Handler

	stopListen context.CancelFunc // ends the Postgres LISTEN for agent events
	listening  chan struct{}      // closed when it has ended
}

// options are what tests change about an app.
type options struct {
	clock        kernel.Clock
	schema       string // Postgres schema (tests)
	pollInterval time.Duration
	mailer       notification.Mailer
	rateLimits   map[string]httpapi.Limit
	// With rateLimits set (tests), these are as given (zero: none);
	// otherwise production's, unless HEEPR_RATE_LIMITS=off.
	writeLimit, pollLimit httpapi.Limit
	maxHeldPolls          int
	streamIdle            time.Duration
}

// newApp opens the database, migrates it, and builds every module. work
// says whether this process runs background jobs.
func newApp(ctx context.Context, cfg config, log *slog.Logger, work bool, o options) (*app, error) {
	if o.clock == nil {
		o.clock = kernel.SystemClock{}
	}
	db, err := store.Open(ctx, store.Config{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, Schema: o.schema})
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, db: db, metrics: telemetry.NewMetrics()}
	ok := false
	defer func() {
		if !ok {
			_ = db.Close()
		}
	}()
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	a.metrics.RegisterDBStats("heepr", db.SQL)

	tokenKey := cfg.SecretKey
	if tokenKey == "" {
		if tokenKey, err = db.Secret(ctx, "token_hmac_key", randomHex); err != nil {
			return nil, err
		}
	}
	mailer := o.mailer
	if mailer == nil {
		if mailer, err = newMailer(cfg); err != nil {
			return nil, err
		}
	}

	facades := &queue.Facades{}
	q, err := queue.New(db, queue.Register(facades), queue.Options{
		Work: work, MaxWorkers: cfg.Workers, PollInterval: o.pollInterval, Logger: log, Observe: a.metrics.ObserveJob,
	})
	if err != nil {
		return nil, err
	}
	a.queue = q

	a.ledger = ledger.New(db, store.NewLedger(db), o.clock, ledger.Config{
		StarterPoints: kernel.Points(cfg.StarterPoints), PlatformFeeBPS: cfg.PlatformFeeBPS,
		ReviewRewardPoints: kernel.Points(cfg.ReviewReward),
	})
	a.moderation = moderation.New(db, o.clock, store.NewAudit(db))
	ids := store.NewIdentity(db)
	a.identity = identity.New(identity.Deps{
		Tx: db, Jobs: q, Clock: o.clock, Users: ids.Users(), Sessions: ids.Sessions(), Tokens: ids.Tokens(),
		Hasher: identity.NewHasher(), TokenKey: []byte(tokenKey),
		// The starter grant commits or rolls back with the account (ADR 4).
		OnSignUp: func(ctx context.Context, u identity.UserView) error { return a.ledger.GrantStarter(ctx, u.ID) },
		Audit:    a.moderation.Audit,
	}, identity.Config{SessionIdle: cfg.SessionIdle, SessionAbsolute: cfg.SessionAbsolute})
	notify := notification.New(mailer, a.identity, notification.Config{BaseURL: cfg.BaseURL, SupportEmail: cfg.SupportEmail}).
		WithInbox(store.NewInbox(db), q, db, o.clock)
	a.notify = notify
	idem := store.NewIdempotency(db)
	if a.blobs, err = newBlobs(ctx, cfg); err != nil {
		return nil, err
	}
	a.hub = &wake.Hub{Logger: log, Local: db.Pool == nil}
	orderingStore := store.NewOrdering(db, a.hub.Signal)
	a.market = marketplace.New(marketplace.Deps{
		Tx: db, Jobs: q, Clock: o.clock, Agents: store.NewMarketplace(db), Blobs: a.blobs, KeyHMAC: []byte(tokenKey),
		Audit: a.moderation.Audit,
		// The agent hears of a new settings version in the same transaction (ADR 6).
		OnSettingsChanged: func(ctx context.Context, agentID string, version int) error {
			return a.ordering.SettingsChanged(ctx, agentID, version)
		},
		// Keys are remembered while the hub hears every rotation (ADR 13).
		OnKeyChanged: orderingStore.Wake, KeysReliable: a.hub.Reliable,
	})
	a.ordering = ordering.New(ordering.Deps{
		Tx: db, Clock: o.clock, Store: orderingStore, Events: orderingStore,
		Waiter: a.hub, Agents: a.market, Ledger: a.ledger, Notifier: notify, People: a.identity, Jobs: q, Blobs: a.blobs,
		Config: ordering.Config{ReviewWindow: cfg.ReviewWindow, MaxUploadBytes: cfg.MaxUploadBytes, LinkKey: []byte("file-links:" + tokenKey),
			BaseURL: cfg.BaseURL},
		// A stalled owner review opens a support case in the timer's transaction.
		Escalate: func(ctx context.Context, o ordering.Order) error { return a.moderation.ReviewStalled(ctx, o) },
		// Every event is queued for the agent's webhook in its own transaction (ADR 11).
		OnEvent: func(ctx context.Context, agentID string, seq int64, typ string, data map[string]any, at time.Time) error {
			return a.webhooks.OnEvent(ctx, agentID, seq, typ, data, at)
		},
	})
	allow, err := webhooks.ParseAllow(cfg.WebhookAllow)
	if err != nil {
		return nil, fmt.Errorf("HEEPR_WEBHOOK_ALLOW: %w", err)
	}
	a.webhooks = webhooks.New(webhooks.Deps{Tx: db, Clock: o.clock, Store: store.NewWebhooks(db), Jobs: q, Agents: a.market,
		Notifier: notify, Sender: webhook.New(allow), Allow: allow, Audit: a.moderation.Audit})
	a.moderation.Connect(moderation.Deps{Cases: store.NewCases(db), Orders: a.ordering, Agents: a.market, Users: a.identity,
		Ledger: a.ledger, Notifier: notify})
	// Feed positions and keys cached for polls are dropped before waiters wake.
	a.hub.OnSignal = func(agentID string) { a.ordering.Invalidate(agentID); a.market.ForgetKey(agentID) }
	a.hub.OnSignalAll = func() { a.ordering.InvalidateAll(); a.market.ForgetKeys() }
	a.metrics.RegisterGauge("agent_polls_waiting", "Long-polls of agents waiting for an event in this process.",
		func() float64 { return float64(a.hub.Waiting()) })
	if a.skills, err = skills.NewService(db, store.NewSkills(db), a.market, a.blobs, o.clock, cfg.BaseURL, heepr.OpenAPI); err != nil {
		return nil, err
	}
	*facades = queue.Facades{Identity: a.identity, Notification: notify, Ledger: a.ledger, Idempotency: idem, Clock: o.clock, Log: log,
		Market: a.market, Skills: a.skills, Blobs: a.blobs, BaseURL: cfg.BaseURL, Ordering: a.ordering, Moderation: a.moderation, Webhooks: a.webhooks}

	enforcer, err := authz.New()
	if err != nil {
		return nil, err
	}
	limits, writes, polls, held := o.rateLimits, o.writeLimit, o.pollLimit, o.maxHeldPolls
	if limits == nil {
		limits, held = map[string]httpapi.Limit{}, httpapi.DefaultMaxHeldPolls
		if cfg.RateLimits {
			limits, writes, polls = httpapi.DefaultRateLimits(), httpapi.DefaultWriteLimit(), httpapi.DefaultPollLimit()
		}
	}
	a.handler, err = httpapi.New(httpapi.Options{
		Identity: a.identity, Ledger: a.ledger, Market: a.market, Skills: a.skills, Ordering: a.ordering, Notify: notify, Moderation: a.moderation, Webhooks: a.webhooks, Jobs: q, WebApp: web.Files(), AgentAuth: a.market.AuthenticateKey, Tx: db, Idempotency: idem, Enforcer: enforcer, Metrics: a.metrics, Logger: log, Ready: a.ready,
		BaseURL: cfg.BaseURL, MaxBodyBytes: cfg.MaxBodyBytes, MaxUploadBytes: cfg.MaxUploadBytes, RateLimits: limits, Clock: o.clock,
		WriteLimit: writes, PollLimit: polls, MaxHeldPolls: held, StreamIdle: o.streamIdle,
	})
	if err != nil {
		return nil, err
	}
	if db.Pool != nil {
		// Events written by any heepr process wake this one's long-polls.
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		a.stopListen, a.listening = cancel, make(chan struct{})
		go func() {
			defer close(a.listening)
			_ = a.hub.Listen(lctx, db.Pool, o.schema)
		}()
	}
	ok = true
	return a, nil
}

// ready answers /readyz: the database answers and no migration is pending.
func (a *app) ready(ctx context.Context) error {
	if err := a.db.Ping(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	n, err := a.db.Pending(ctx)
	if err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%d migrations pending", n)
	}
	return nil
}

func (a *app) close(ctx context.Context) error {
	if a.stopListen != nil {
		a.stopListen()
		<-a.listening
	}
	a.ordering.Drain() // held long-polls answer now
	return errors.Join(a.queue.Stop(ctx), a.db.Close())
}

func newMailer(cfg config) (notification.Mailer, error) {
	if cfg.SMTPURL != "" {
		return email.NewSMTP(cfg.SMTPURL, cfg.MailFrom)
	}
	return email.NewCapture(mailDir(cfg), cfg.MailFrom), nil
}

// newBlobs opens private file storage: S3-compatible storage when
// HEEPR_S3_URL is set, else a folder under the data directory.
func newBlobs(ctx context.Context, cfg config) (kernel.Blobs, error) {
	if cfg.S3URL != "" {
		s3cfg, err := blob.ParseS3URL(cfg.S3URL)
		if err != nil {
			return nil, fmt.Errorf("HEEPR_S3_URL: %w", err)
		}
		return blob.NewS3(ctx, s3cfg)
	}
	return blob.NewLocal(filepath.Join(cfg.DataDir, "blobs"))
}

func mailDir(cfg config) string { return filepath.Join(cfg.DataDir, "mail") }

func randomHex() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
