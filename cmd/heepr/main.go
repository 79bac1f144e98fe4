// Command heepr runs the heepr marketplace: the API server, the background
// workers, migrations and the admin commands.
//
//	heepr serve [--role all|api|worker]   run heepr (default: API and workers)
//	heepr worker                          same as serve --role worker
//	heepr migrate                         apply database migrations and exit
//	heepr mail list | mail show ID        read the mail captured in development
//	heepr admin create-support --email E --name N   (password on stdin)
//	heepr admin audit verify
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/heepr/heepr/adapters/email"
	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/telemetry"
)

const version = "0.1.0"

const usage = `usage:
  heepr serve [--role all|api|worker]   run heepr (API and background jobs by default)
  heepr worker                          run background jobs only
  heepr migrate                         apply database migrations and exit
  heepr mail list                       list mail captured in development (newest first)
  heepr mail show ID                    print one captured message
  heepr admin create-support --email E --name N
  heepr admin audit verify
                                        create a support account; the password is read from stdin
`

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "heepr:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := telemetry.NewLogger(os.Stderr, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	switch args[0] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		role := fs.String("role", "all", "all, api or worker")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return serve(ctx, cfg, log, *role)
	case "worker":
		return serve(ctx, cfg, log, "worker")
	case "migrate":
		db, err := store.Open(ctx, store.Config{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir})
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.Migrate(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	case "mail":
		return mailCommand(args[1:], cfg, stdout)
	case "admin":
		return adminCommand(ctx, args[1:], cfg, log, stdin, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

// listenAdmin opens the admin listener (HEEPR_ADMIN_ADDR): Go's profiler
// under /debug/pprof/ (CPU, heap, goroutines, mutex and block profiles,
// execution traces), for operators only. Bind it to a private address; it
// has no authentication.
func listenAdmin(addr string) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("HEEPR_ADMIN_ADDR: %w", err)
	}
	return &http.Server{Handler: adminHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}, ln, nil
}

// adminHandler serves net/http/pprof's pages.
func adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// serve runs until SIGTERM or SIGINT, then drains HTTP and stops the workers.
func serve(ctx context.Context, cfg config, log *slog.Logger, role string) error {
	if role != "all" && role != "api" && role != "worker" {
		return fmt.Errorf("--role must be all, api or worker, not %q", role)
	}
	shutdownTracing, err := telemetry.SetupTracing(ctx, "heepr", version)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, log, role != "api", options{})
	if err != nil {
		return err
	}
	if err := a.queue.Start(ctx); err != nil {
		return err
	}
	handler := a.handler
	if role == "worker" {
		handler = a.opsHandler()
	}
	srv := newHTTPServer(handler, serverLimits)
	srv.Addr = cfg.Addr
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return errors.Join(err, a.close(context.Background()))
	}
	db := "sqlite"
	if a.db.Dialect == store.Postgres {
		db = "postgres"
	}
	log.Info("heepr listening", "addr", ln.Addr().String(), "url", cfg.BaseURL, "role", role, "database", db, "version", version)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if cfg.AdminAddr != "" {
		admin, aln, err := listenAdmin(cfg.AdminAddr)
		if err != nil {
			return errors.Join(err, srv.Close(), a.close(context.Background()))
		}
		log.Info("admin listening (pprof)", "addr", aln.Addr().String())
		go func() {
			if err := admin.Serve(aln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("admin listener: %w", err)
			}
		}()
		defer admin.Close()
	}
	select {
	case err := <-errc:
		return errors.Join(err, a.close(context.Background()))
	case <-ctx.Done():
	}
	log.Info("shutting down")
	a.ordering.Drain() // held long-polls answer now instead of holding up the shutdown
	drain, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = errors.Join(srv.Shutdown(drain), a.close(drain), shutdownTracing(drain))
	log.Info("stopped")
	return err
}

// httpLimits are the http.Server's timeouts and header limit (ADR 14).
type httpLimits struct {
	ReadHeader, Read, Write, Idle time.Duration
	MaxHeaderBytes                int
}

// serverLimits are production's. Read and Write bound every request but
// uploads and downloads (which move their own deadlines while bytes move:
// httpapi.StreamIdle), and sit well above the longest long-poll (30 s),
// which the handler answers itself. A header over MaxHeaderBytes is
// answered 431 by net/http before any handler runs.
var serverLimits = httpLimits{
	ReadHeader:     10 * time.Second,
	Read:           time.Minute,
	Write:          time.Minute,
	Idle:           2 * time.Minute,
	MaxHeaderBytes: 64 << 10,
}

// newHTTPServer is the API's http.Server with the given limits.
func newHTTPServer(handler http.Handler, l httpLimits) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// opsHandler serves only health and metrics (the worker role has no API).
func (a *app) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"status":"ok"}`+"\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.ready(r.Context()); err != nil {
			http.Error(w, `{"status":"unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ready"}`+"\n")
	})
	mux.Handle("GET /metrics", a.metrics.Handler())
	return mux
}

func mailCommand(args []string, cfg config, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("mail: say list or show ID")
	}
	switch args[0] {
	case "list":
		msgs, err := email.List(mailDir(cfg))
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			fmt.Fprintln(stdout, "no captured mail in", mailDir(cfg))
		}
		for _, m := range msgs {
			fmt.Fprintf(stdout, "%s  %s  %-30s  %s\n", m.ID, m.Date.Format(time.RFC3339), m.To, m.Subject)
		}
		return nil
	case "show":
		if len(args) != 2 {
			return errors.New("mail show: give one message id (see heepr mail list)")
		}
		out, err := email.Show(mailDir(cfg), args[1])
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, out)
		return nil
	}
	return fmt.Errorf("mail: unknown subcommand %q", args[0])
}

func adminCommand(ctx context.Context, args []string, cfg config, log *slog.Logger, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 2 && args[0] == "audit" && args[1] == "verify" {
		return auditVerify(ctx, cfg, log, stdout)
	}
	if len(args) == 0 || args[0] != "create-support" {
		return errors.New("admin: the commands are create-support --email E --name N, and audit verify")
	}
	fs := flag.NewFlagSet("create-support", flag.ContinueOnError)
	mail := fs.String("email", "", "the staff member's email")
	name := fs.String("name", "heepr support", "display name")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *mail == "" {
		return errors.New("create-support: --email is required")
	}
	password, err := readPassword(stdin, stdout)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, log, false, options{})
	if err != nil {
		return err
	}
	defer a.close(context.Background())
	u, err := a.identity.CreateSupport(ctx, *mail, *name, password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "support account %s created for %s\n", u.ID, u.Email)
	return nil
}

// auditVerify checks the audit log's hash chain and names the first entry
// that breaks it (an error, so the exit status says so too).
func auditVerify(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	a, err := newApp(ctx, cfg, log, false, options{})
	if err != nil {
		return err
	}
	defer a.close(context.Background())
	v, err := a.moderation.Verify(ctx)
	if err != nil {
		return err
	}
	if v.FirstBad != 0 {
		return fmt.Errorf("audit log broken at entry %d: it was changed, removed or reordered (%d entries before it are intact)", v.FirstBad, v.FirstBad-1)
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries\n", v.Entries)
	return nil
}

// readPassword reads the password without echo from a terminal, else the first line of stdin.
func readPassword(stdin io.Reader, stdout io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stdout, "password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdout)
		return string(b), err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
