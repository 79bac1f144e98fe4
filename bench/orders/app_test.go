package orders_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/bench/internal/heeprapp"
	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/ledger"
	"github.com/heepr/heepr/modules/marketplace"
	"github.com/heepr/heepr/modules/ordering"
)

// heeprApp is heepr as `heepr serve --role api` runs it: every module wired
// as cmd/heepr wires them (bench/internal/heeprapp), the whole HTTP handler
// behind a real loopback listener with serve's http.Server settings, the
// production rate limits, and the wake hub's LISTEN. No background workers
// (role api): jobs are enqueued, not run.
type heeprApp struct {
	db       *store.DB
	identity *identity.Service
	ledger   *ledger.Service
	market   *marketplace.Service
	ordering *ordering.Service
	url      string // http://127.0.0.1:port
}

// startHeepr builds heepr on an open, migrated database and serves it.
// starterPoints is every new account's grant (HEEPR_STARTER_POINTS).
func startHeepr(tb testing.TB, db *store.DB, starterPoints int64) *heeprApp {
	tb.Helper()
	ctx := context.Background()
	app, err := heeprapp.New(ctx, db, heeprapp.Options{StarterPoints: starterPoints, DataDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	if err := app.Queue.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = app.Queue.Stop(context.Background()) })
	if db.Pool != nil {
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = app.Hub.Listen(lctx, db.Pool, db.Schema)
		}()
		tb.Cleanup(func() { cancel(); <-done })
	}
	return &heeprApp{db: db, identity: app.Identity, ledger: app.Ledger, market: app.Market, ordering: app.Ordering,
		url: serve(tb, app.Handler)}
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
