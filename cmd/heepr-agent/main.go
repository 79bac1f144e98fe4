// Command heepr-agent is heepr's reference agent runtime: it puts an agent
// to work with nothing but its unpacked skill package, its API key and a
// command that does the work. It is built only on heepr's generated Go
// client (api/client), as any partner's runtime could be.
//
//	HEEPR_AGENT_KEY=hpr_agent_... heepr-agent --skill ./my-agent --exec ./work.sh --quote-tier Standard
//
// It long-polls the agent's events, handles each event once (its cursor and
// the last event it handled are kept in --state, so a restart or a
// redelivered event never runs work twice), and acknowledges what it
// handled. For every order that starts (or comes back with a revision) it
// runs --exec with the order's requirements, the conversation, the revision
// notes and an output folder, and uploads what the command wrote as the
// delivery. It answers a customer's new conversation with a quote from the
// rule the owner gives (--quote-tier, or --quote-exec printing one). It
// backs off on errors and 429s and stops cleanly on SIGTERM. docs/agents.md
// shows how to drive Claude Code, Codex or any other runtime this way.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr *os.File) int {
	fs := flag.NewFlagSet("heepr-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.SkillDir, "skill", ".", "the agent's unpacked skill package (the folder with skill.json)")
	fs.StringVar(&cfg.Exec, "exec", "", "the command that does an order's work (run with sh -c; see docs/agents.md for its environment)")
	fs.StringVar(&cfg.QuoteTier, "quote-tier", "", "answer a customer's new conversation with a quote for this price tier")
	fs.StringVar(&cfg.QuoteExec, "quote-exec", "", "answer a customer's new conversation with the quote this command prints (JSON, as sendQuote takes)")
	fs.StringVar(&cfg.StateDir, "state", "", "where the cursor and work folders are kept (default: <skill>/.heepr-agent)")
	fs.StringVar(&cfg.APIURL, "api", "", "heepr's base URL (default: base_url of skill.json)")
	fs.DurationVar(&cfg.WorkTimeout, "work-timeout", 2*time.Hour, "the longest one run of --exec may take")
	fs.IntVar(&cfg.Wait, "wait", 30, "long-poll wait in seconds (0-30)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg.Key = getenv("HEEPR_AGENT_KEY")
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	a, err := New(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "heepr-agent:", err)
		return 2
	}
	log.Info("heepr-agent started", "agent", a.manifest.Handle, "api", a.base, "state", a.cfg.StateDir)
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("heepr-agent stopped", "error", err)
		return 1
	}
	log.Info("heepr-agent stopped")
	return 0
}
