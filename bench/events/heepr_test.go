package events_test

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
	"sync/atomic"
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
	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/notification"
	"github.com/heepr/heepr/modules/ordering"
	"github.com/heepr/heepr/modules/skills"
)

// heeprApp is heepr as `heepr serve --role api` runs it: every module
// wired as cmd/heepr's newApp wires them (the composition root is package
// main, so it is mirrored here), the whole HTTP handler behind a real
// listener with serve's http.Server settings, and, on Postgres, the wake
// hub's LISTEN. No background workers (role api).
type heeprApp struct {
	db       *store.DB
	hub      *wake.Hub
	waiter   *switchableWaiter
	market   *marketplace.Service
	ordering *ordering.Service
	events   *store.Ordering // the ordering store, wired to the hub as newApp wires it
	tokenKey []byte          // the agent-key HMAC key
	url      string          // http://127.0.0.1:port
}

// startHeepr builds heepr on an open, migrated database and serves it.
// Requests are logged at Info (the default level) into io.Discard: the
// log line is built, only the write is skipped. Tracing is off (no
// exporter configured), as in a default deployment.
func startHeepr(tb testing.TB, db *store.DB) *heeprApp {
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

	ldg := ledger.New(db, store.NewLedger(db), clock, ledger.Config{StarterPoints: 1000, PlatformFeeBPS: 0, ReviewRewardPoints: 10})
	ids := store.NewIdentity(db)
	idn := identity.New(identity.Deps{
		Tx: db, Jobs: q, Clock: clock, Users: ids.Users(), Sessions: ids.Sessions(), Tokens: ids.Tokens(),
		Hasher: identity.NewHasher(), TokenKey: []byte(tokenKey),
		OnSignUp: func(ctx context.Context, u identity.UserView) error { return ldg.GrantStarter(ctx, u.ID) },
	}, identity.Config{SessionIdle: 7 * 24 * time.Hour, SessionAbsolute: 30 * 24 * time.Hour})
	notify := notification.New(mailer, idn, notification.Config{BaseURL: baseURL, SupportEmail: "support@heepr.dev"}).
		WithInbox(store.NewInbox(db), q, db, clock)
	idem := store.NewIdempotency(db)
	blobs, err := blob.NewLocal(filepath.Join(dataDir, "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	a := &heeprApp{db: db, tokenKey: []byte(tokenKey), hub: &wake.Hub{Logger: log, Local: db.Pool == nil}}
	a.market = marketplace.New(marketplace.Deps{
		Tx: db, Jobs: q, Clock: clock, Agents: store.NewMarketplace(db), Blobs: blobs, KeyHMAC: []byte(tokenKey),
		OnSettingsChanged: func(ctx context.Context, agentID string, version int) error {
			return a.ordering.SettingsChanged(ctx, agentID, version)
		},
	})
	a.events = store.NewOrdering(db, a.hub.Signal)
	a.waiter = &switchableWaiter{Hub: a.hub}
	a.ordering = ordering.New(ordering.Deps{
		Tx: db, Clock: clock, Store: store.NewOrdering(db, a.hub.Signal), Events: a.events,
		Waiter: a.waiter, Agents: a.market, Ledger: ldg, Notifier: notify, People: idn, Jobs: q, Blobs: blobs,
		Config: ordering.Config{ReviewWindow: 72 * time.Hour, MaxUploadBytes: 100 << 20, LinkKey: []byte("file-links:" + tokenKey), BaseURL: baseURL},
	})
	a.hub.OnSignal, a.hub.OnSignalAll = a.ordering.Invalidate, a.ordering.InvalidateAll
	metrics.RegisterGauge("agent_polls_waiting", "Long-polls of agents waiting for an event in this process.",
		func() float64 { return float64(a.hub.Waiting()) })
	sk, err := skills.NewService(db, store.NewSkills(db), a.market, blobs, clock, baseURL, heepr.OpenAPI)
	if err != nil {
		tb.Fatal(err)
	}
	*facades = queue.Facades{Identity: idn, Notification: notify, Ledger: ldg, Idempotency: idem, Clock: clock, Log: log,
		Market: a.market, Skills: sk, Blobs: blobs, BaseURL: baseURL, Ordering: a.ordering}
	enforcer, err := authz.New()
	if err != nil {
		tb.Fatal(err)
	}
	handler, err := httpapi.New(httpapi.Options{
		Identity: idn, Ledger: ldg, Market: a.market, Skills: sk, Ordering: a.ordering, Notify: notify, AgentAuth: a.market.AuthenticateKey,
		Tx: db, Idempotency: idem, Enforcer: enforcer, Metrics: metrics, Logger: log, Ready: func(ctx context.Context) error { return db.Ping(ctx) },
		BaseURL: baseURL, MaxBodyBytes: 1 << 20, MaxUploadBytes: 100 << 20, RateLimits: httpapi.DefaultRateLimits(), Clock: clock,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if db.Pool != nil {
		// Events written by any heepr process wake this one's long-polls.
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = a.hub.Listen(lctx, db.Pool, db.Schema)
		}()
		tb.Cleanup(func() { cancel(); <-done })
		deadline := time.Now().Add(10 * time.Second)
		for a.hub.ListenerPID() == 0 {
			if time.Now().After(deadline) {
				tb.Fatal("the wake hub is not listening after 10 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
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
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
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

// switchableWaiter is the wake hub with heepr's feed cache switchable: a
// hub that is not Reliable makes every poll read its feed from the
// database (the database path); a reliable one lets polls answer from the
// cache (the fast path). newApp passes the hub itself.
type switchableWaiter struct {
	*wake.Hub
	off atomic.Bool
}

func (w *switchableWaiter) Reliable() bool { return !w.off.Load() && w.Hub.Reliable() }

// cacheFeeds turns the feed cache on or off for the polls that follow.
func (a *heeprApp) cacheFeeds(on bool) {
	a.waiter.off.Store(!on)
	a.ordering.InvalidateAll()
}
