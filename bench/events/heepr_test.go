package events_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/wake"
	"github.com/heepr/heepr/bench/internal/heeprapp"
	"github.com/heepr/heepr/modules/ordering"
)

// heeprApp is heepr as `heepr serve --role api` runs it: built by
// bench/internal/heeprapp (cmd/heepr's newApp mirrored), the whole HTTP
// handler behind a real listener with serve's http.Server settings, and, on
// Postgres, the wake hub's LISTEN. No background workers (role api).
type heeprApp struct {
	db       *store.DB
	hub      *wake.Hub
	ordering *ordering.Service
	events   *store.Ordering // the ordering store, wired to the hub as newApp wires it
	tokenKey []byte          // the agent-key HMAC key
	url      string          // http://127.0.0.1:port
	// cachesOff switches off the feed-position and key caches: every poll
	// reads both from the database (the database path).
	cachesOff *atomic.Bool
}

// startHeepr builds heepr on an open, migrated database and serves it.
// Requests are logged at Info (the default level) into io.Discard: the
// log line is built, only the write is skipped. Tracing is off (no
// exporter configured), as in a default deployment.
func startHeepr(tb testing.TB, db *store.DB) *heeprApp {
	tb.Helper()
	ctx := context.Background()
	off := &atomic.Bool{}
	app, err := heeprapp.New(ctx, db, heeprapp.Options{DataDir: tb.TempDir(), CachesOff: off})
	if err != nil {
		tb.Fatal(err)
	}
	if err := app.Queue.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = app.Queue.Stop(context.Background()) })
	a := &heeprApp{db: db, hub: app.Hub, ordering: app.Ordering, events: app.Events, tokenKey: []byte(app.TokenKey), cachesOff: off}
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
	a.url = serve(tb, app.Handler)
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

// cacheFeeds turns heepr's caches (feed positions and agent keys) on or off
// for the polls that follow.
func (a *heeprApp) cacheFeeds(on bool) {
	a.cachesOff.Store(!on)
	a.ordering.InvalidateAll()
}
