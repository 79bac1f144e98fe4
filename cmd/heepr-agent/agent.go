package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heepr/heepr/api/client"
)

// Config is what the owner gives the runtime.
type Config struct {
	SkillDir    string
	Exec        string
	QuoteTier   string
	QuoteExec   string
	StateDir    string
	APIURL      string
	Key         string
	WorkTimeout time.Duration
	Wait        int
	// MaxBackoff caps the wait after repeated errors (default one minute).
	MaxBackoff time.Duration
}

// manifest is the part of skill.json the runtime reads.
type manifest struct {
	SchemaVersion int    `json:"schema_version"`
	AgentID       string `json:"agent_id"`
	Handle        string `json:"handle"`
	BaseURL       string `json:"base_url"`
	Auth          struct {
		Env string `json:"env"`
	} `json:"auth"`
	PollingIntervalSeconds int `json:"polling_interval_seconds"`
}

// state is what survives a restart: where the feed was read to, and the
// last event handled (events are numbered per agent and handled in order,
// so every event at or below it is done).
type state struct {
	Cursor  string `json:"cursor"`
	Handled int64  `json:"handled"`
}

// Agent is one running agent.
type Agent struct {
	cfg      Config
	log      *slog.Logger
	manifest manifest
	base     string
	c        *client.ClientWithResponses
	st       state
	// sleep waits (tests replace it); it returns early when ctx ends.
	sleep func(ctx context.Context, d time.Duration) error
}

// New reads the skill package and the state and builds the client.
func New(cfg Config, log *slog.Logger) (*Agent, error) {
	raw, rerr := os.ReadFile(filepath.Join(cfg.SkillDir, "skill.json"))
	if rerr != nil {
		return nil, fmt.Errorf("read the skill package: %w", rerr)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("skill.json: %w", err)
	}
	if m.AgentID == "" || m.BaseURL == "" {
		return nil, errors.New("skill.json names no agent_id or base_url: is this a heepr skill package?")
	}
	if cfg.Key == "" {
		return nil, errors.New("HEEPR_AGENT_KEY is not set: the agent's API key (shown once when the agent was created or its key rotated)")
	}
	if cfg.Exec == "" {
		return nil, errors.New("--exec is required: the command that does an order's work")
	}
	if cfg.QuoteTier != "" && cfg.QuoteExec != "" {
		return nil, errors.New("give --quote-tier or --quote-exec, not both")
	}
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(cfg.SkillDir, ".heepr-agent")
	}
	// --exec runs in its work folder: every path it is given must be absolute.
	var err error
	if cfg.StateDir, err = filepath.Abs(cfg.StateDir); err != nil {
		return nil, err
	}
	if cfg.Wait < 0 || cfg.Wait > 30 {
		return nil, errors.New("--wait must be 0 to 30 seconds")
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.WorkTimeout <= 0 {
		cfg.WorkTimeout = 2 * time.Hour
	}
	base := strings.TrimRight(cmpOr(cfg.APIURL, m.BaseURL), "/")
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, err
	}
	key := cfg.Key
	c, err := client.NewClientWithResponses(base, client.WithHTTPClient(&http.Client{Timeout: 60 * time.Second}),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+key)
			r.Header.Set("User-Agent", "heepr-agent")
			return nil
		}))
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: log, manifest: m, base: base, c: c, sleep: sleepCtx}
	if err := a.loadState(); err != nil {
		return nil, err
	}
	return a, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (a *Agent) statePath() string { return filepath.Join(a.cfg.StateDir, "state.json") }

func (a *Agent) loadState() error {
	raw, err := os.ReadFile(a.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, &a.st)
}

// saveState writes the state atomically (a crash leaves the old or the new file).
func (a *Agent) saveState() error {
	raw, err := json.Marshal(a.st)
	if err != nil {
		return err
	}
	tmp := a.statePath() + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, a.statePath())
}

// apiError is an answer heepr gave that was not a success.
type apiError struct {
	op         string
	status     int
	body       string
	retryAfter time.Duration
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.op, e.status, strings.TrimSpace(e.body))
}

func check(op string, resp *http.Response, body []byte, want int) error {
	if resp.StatusCode == want {
		return nil
	}
	e := &apiError{op: op, status: resp.StatusCode, body: string(body)}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		e.retryAfter = time.Duration(s) * time.Second
	}
	return e
}

// permanent reports whether retrying cannot help (the key is wrong or was revoked).
func permanent(err error) bool {
	var e *apiError
	return errors.As(err, &e) && e.status == http.StatusUnauthorized
}

// Run polls and handles events until ctx ends. Errors are retried with
// backoff (1 s doubling to MaxBackoff, with jitter; a 429's Retry-After
// when longer); a refused key stops the runtime.
func (a *Agent) Run(ctx context.Context) error {
	failures := 0
	for ctx.Err() == nil {
		after, err := a.step(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if permanent(err) {
				return err
			}
			failures++
			d := backoff(failures, a.cfg.MaxBackoff)
			var e *apiError
			if errors.As(err, &e) && e.retryAfter > d {
				d = e.retryAfter
			}
			a.log.Warn("retrying after an error", "error", err, "in", d)
			if a.sleep(ctx, d) != nil {
				return ctx.Err()
			}
			continue
		}
		failures = 0
		if after > 0 {
			if a.sleep(ctx, after) != nil {
				return ctx.Err()
			}
		}
	}
	return ctx.Err()
}

// backoff is the wait after n consecutive failures: 1 s doubling, capped, ±20 %.
func backoff(n int, max time.Duration) time.Duration {
	d := time.Second << min(n-1, 16)
	if d > max {
		d = max
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// step is one poll and the handling of what it brought; it returns how long
// to wait before the next poll.
func (a *Agent) step(ctx context.Context) (time.Duration, error) {
	params := &client.PollAgentEventsParams{Wait: &a.cfg.Wait}
	if a.st.Cursor != "" {
		params.Cursor = &a.st.Cursor
	}
	resp, err := a.c.PollAgentEventsWithResponse(ctx, params)
	if err != nil {
		return 0, err
	}
	if err := check("pollAgentEvents", resp.HTTPResponse, resp.Body, http.StatusOK); err != nil {
		return 0, err
	}
	page := resp.JSON200
	var upTo string
	for _, ev := range page.Items {
		seq, err := strconv.ParseInt(ev.Id, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("event id %q: %w", ev.Id, err)
		}
		if seq > a.st.Handled {
			if err := a.handle(ctx, ev); err != nil {
				return 0, fmt.Errorf("%s event %s: %w", ev.Type, ev.Id, err)
			}
			a.st.Handled = seq
			if err := a.saveState(); err != nil {
				return 0, err
			}
		} else {
			a.log.Info("skipping an event already handled", "event", ev.Id, "type", ev.Type, "redelivered", ev.Redelivered)
		}
		upTo = ev.Id
	}
	if upTo != "" {
		ack, err := a.c.AckAgentEventsWithResponse(ctx, client.AckRequest{UpTo: upTo})
		if err != nil {
			return 0, err
		}
		if err := check("ackAgentEvents", ack.HTTPResponse, ack.Body, http.StatusNoContent); err != nil {
			return 0, err
		}
	}
	a.st.Cursor = page.NextCursor
	if err := a.saveState(); err != nil {
		return 0, err
	}
	if a.cfg.Wait > 0 {
		// A long-poll is itself the wait between heartbeats: it costs
		// nothing while held and answers as soon as an event arrives.
		return 0, nil
	}
	return time.Duration(page.PollAfterSeconds) * time.Second, nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// handle does what one event asks. Work is started only for an order that
// is in progress when the event is handled, so a stale or repeated event
// never delivers twice.
func (a *Agent) handle(ctx context.Context, ev client.AgentEvent) error {
	a.log.Info("event", "id", ev.Id, "type", ev.Type, "redelivered", ev.Redelivered)
	switch ev.Type {
	case "order.created", "order.approved", "revision.requested", "order.resumed", "delivery.rejected":
		return a.work(ctx, str(ev.Data, "order_id"))
	case "message.created":
		if str(ev.Data, "author_kind") != "customer" {
			return nil
		}
		return a.maybeQuote(ctx, str(ev.Data, "conversation_id"))
	default:
		return nil // every other event needs nothing from a runtime (HEARTBEAT_EVENTS.md)
	}
}

// work runs --exec for an order in progress and delivers what it wrote.
func (a *Agent) work(ctx context.Context, orderID string) error {
	if orderID == "" {
		return nil
	}
	or, err := a.c.GetOrderWithResponse(ctx, orderID)
	if err != nil {
		return err
	}
	if err := check("getOrder", or.HTTPResponse, or.Body, http.StatusOK); err != nil {
		return err
	}
	o := or.JSON200
	if o.Status != client.OrderStatusInProgress {
		a.log.Info("nothing to do on the order now", "order", o.Id, "status", o.Status)
		return nil
	}
	round := len(o.Deliveries) + 1
	dir := filepath.Join(a.cfg.StateDir, "work", fmt.Sprintf("%s-%d", o.Id, round))
	out := filepath.Join(dir, "out")
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(out, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "order.json"), or.Body, 0o600); err != nil {
		return err
	}
	conv, err := a.conversation(ctx, o.ConversationId)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "conversation.md"), []byte(conv), 0o600); err != nil {
		return err
	}
	notes := revisionNotes(*o)
	if err := os.WriteFile(filepath.Join(dir, "revision.md"), []byte(notes), 0o600); err != nil {
		return err
	}
	var owner strings.Builder
	for _, d := range o.Deliveries {
		if d.RejectNote != nil {
			fmt.Fprintf(&owner, "## Delivery %d, sent back by the owner\n\n%s\n\n", d.Version, *d.RejectNote)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "owner-notes.md"), []byte(owner.String()), 0o600); err != nil {
		return err
	}
	msgFile := filepath.Join(dir, "message.md")
	wctx, cancel := context.WithTimeout(ctx, a.cfg.WorkTimeout)
	defer cancel()
	cmd := exec.CommandContext(wctx, "sh", "-c", a.cfg.Exec)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HEEPR_ORDER_ID="+o.Id,
		"HEEPR_ORDER_FILE="+filepath.Join(dir, "order.json"),
		"HEEPR_TITLE="+o.Snapshot.Title,
		"HEEPR_CONVERSATION_FILE="+filepath.Join(dir, "conversation.md"),
		"HEEPR_REVISION_FILE="+filepath.Join(dir, "revision.md"),
		"HEEPR_REVISION="+strconv.Itoa(len(o.RevisionRequests)),
		"HEEPR_OWNER_NOTES_FILE="+filepath.Join(dir, "owner-notes.md"),
		"HEEPR_OUTPUT_DIR="+out,
		"HEEPR_MESSAGE_FILE="+msgFile,
	)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	a.log.Info("working", "order", o.Id, "round", round, "dir", dir)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("--exec failed: %w: %s", err, tail(logs.String(), 2000))
	}
	message := "Delivered."
	if b, err := os.ReadFile(msgFile); err == nil && strings.TrimSpace(string(b)) != "" {
		message = string(b)
	}
	return a.deliver(ctx, o.Id, message, out)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// revisionNotes renders what the customer asked for in revisions, newest last.
func revisionNotes(o client.Order) string {
	if len(o.RevisionRequests) == 0 {
		return ""
	}
	var b strings.Builder
	for _, r := range o.RevisionRequests {
		fmt.Fprintf(&b, "## Revision %d (%s)\n\n%s\n", r.Number, r.RequestedAt.UTC().Format(time.RFC3339), r.Notes)
		if len(r.UnmetCriteria) > 0 {
			b.WriteString("\nCriteria not met yet:\n")
			for _, c := range r.UnmetCriteria {
				fmt.Fprintf(&b, "- %s\n", c)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// conversation renders a conversation's messages, oldest first.
func (a *Agent) conversation(ctx context.Context, id string) (string, error) {
	var b strings.Builder
	var cursor *string
	for {
		limit := 100
		resp, err := a.c.ListMessagesWithResponse(ctx, id, &client.ListMessagesParams{Cursor: cursor, Limit: &limit})
		if err != nil {
			return "", err
		}
		if err := check("listMessages", resp.HTTPResponse, resp.Body, http.StatusOK); err != nil {
			return "", err
		}
		for _, m := range resp.JSON200.Items {
			fmt.Fprintf(&b, "### %s (%s)\n\n%s\n\n", m.AuthorKind, m.CreatedAt.UTC().Format(time.RFC3339), m.Body)
		}
		if resp.JSON200.NextCursor == nil || *resp.JSON200.NextCursor == "" {
			return b.String(), nil
		}
		cursor = resp.JSON200.NextCursor
	}
}

// deliver uploads every regular file --exec wrote at the top of the output
// folder (at most 10, by name) with the message.
func (a *Agent) deliver(ctx context.Context, orderID, message, out string) error {
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return errors.New("--exec wrote no file into HEEPR_OUTPUT_DIR: nothing to deliver")
	}
	if len(names) > 10 {
		return fmt.Errorf("--exec wrote %d files; a delivery takes at most 10 (zip them)", len(names))
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			if err := mw.WriteField("message", message); err != nil {
				return err
			}
			for _, n := range names {
				f, err := os.Open(filepath.Join(out, n))
				if err != nil {
					return err
				}
				w, err := mw.CreateFormFile("files", n)
				if err == nil {
					_, err = io.Copy(w, f)
				}
				f.Close()
				if err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	resp, err := a.c.DeliverOrderWithBodyWithResponse(ctx, orderID, mw.FormDataContentType(), pr)
	if err != nil {
		return err
	}
	if err := check("deliverOrder", resp.HTTPResponse, resp.Body, http.StatusCreated); err != nil {
		return err
	}
	a.log.Info("delivered", "order", orderID, "files", len(names))
	return nil
}

// maybeQuote answers a customer's message with a quote when the owner gave
// a rule and the conversation has no quote waiting for the customer.
func (a *Agent) maybeQuote(ctx context.Context, conversationID string) error {
	if a.cfg.QuoteTier == "" && a.cfg.QuoteExec == "" {
		return nil
	}
	qs, err := a.c.ListQuotesWithResponse(ctx, conversationID, &client.ListQuotesParams{})
	if err != nil {
		return err
	}
	if err := check("listQuotes", qs.HTTPResponse, qs.Body, http.StatusOK); err != nil {
		return err
	}
	for _, q := range qs.JSON200.Items {
		if q.Status == client.QuoteStatusSent || q.Status == client.QuoteStatusAccepted {
			return nil // one is waiting, or the work is already bought
		}
	}
	conv, err := a.conversation(ctx, conversationID)
	if err != nil {
		return err
	}
	var req client.SendQuoteRequest
	if a.cfg.QuoteExec != "" {
		req, err = a.quoteFromCommand(ctx, conversationID, conv)
	} else {
		req, err = a.quoteFromTier(ctx, conv)
	}
	if err != nil {
		return err
	}
	resp, err := a.c.SendQuoteWithResponse(ctx, conversationID, req)
	if err != nil {
		return err
	}
	if err := check("sendQuote", resp.HTTPResponse, resp.Body, http.StatusCreated); err != nil {
		return err
	}
	a.log.Info("quoted", "conversation", conversationID, "price", req.Price)
	return nil
}

func (a *Agent) quoteFromCommand(ctx context.Context, conversationID, conv string) (client.SendQuoteRequest, error) {
	var req client.SendQuoteRequest
	f, err := os.CreateTemp(a.cfg.StateDir, "conversation-*.md")
	if err != nil {
		return req, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(conv); err != nil {
		f.Close()
		return req, err
	}
	f.Close()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(wctx, "sh", "-c", a.cfg.QuoteExec)
	cmd.Env = append(os.Environ(), "HEEPR_CONVERSATION_ID="+conversationID, "HEEPR_CONVERSATION_FILE="+f.Name())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		return req, fmt.Errorf("--quote-exec failed: %w: %s", err, tail(stderr.String(), 2000))
	}
	if err := json.Unmarshal(outb, &req); err != nil {
		return req, fmt.Errorf("--quote-exec printed no quote (JSON as sendQuote takes): %w", err)
	}
	if req.ExpiresAt.IsZero() {
		req.ExpiresAt = time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Second)
	}
	return req, nil
}

// quoteFromTier quotes the agent's own price tier for the customer's brief.
func (a *Agent) quoteFromTier(ctx context.Context, conv string) (client.SendQuoteRequest, error) {
	var req client.SendQuoteRequest
	resp, err := a.c.GetAgentWithResponse(ctx, a.manifest.AgentID)
	if err != nil {
		return req, err
	}
	if err := check("getAgent", resp.HTTPResponse, resp.Body, http.StatusOK); err != nil {
		return req, err
	}
	ag := resp.JSON200
	var tier *client.Tier
	for i := range ag.Tiers {
		if strings.EqualFold(ag.Tiers[i].Name, a.cfg.QuoteTier) {
			tier = &ag.Tiers[i]
		}
	}
	if tier == nil {
		return req, fmt.Errorf("--quote-tier %q: the agent has no such tier", a.cfg.QuoteTier)
	}
	category := client.CategoryOther
	if len(ag.Categories) > 0 {
		category = ag.Categories[0]
	}
	included := ""
	if tier.Description != nil {
		included = *tier.Description
	}
	brief := firstCustomerMessage(conv)
	title := tier.Name + ": " + oneLine(brief, 80)
	desc := fmt.Sprintf("%s tier of @%s.\n\n%s\n\nThe brief:\n\n%s", tier.Name, ag.Handle, included, brief)
	return client.SendQuoteRequest{
		Title: oneLine(title, 120), Description: clip(desc, 5000), Price: tier.Price, DeliveryDays: tier.DeliveryDays,
		Revisions: tier.Revisions, Category: category,
		Criteria:  []string{"The delivery answers the brief in the conversation", "Delivered as files heepr can show the customer"},
		ExpiresAt: time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Second),
	}, nil
}

// firstCustomerMessage is the body of the first customer message in a rendered conversation.
func firstCustomerMessage(conv string) string {
	for _, part := range strings.Split(conv, "### ") {
		if strings.HasPrefix(part, "customer ") {
			if i := strings.Index(part, "\n\n"); i >= 0 {
				return strings.TrimSpace(part[i+2:])
			}
		}
	}
	return strings.TrimSpace(conv)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		s = "Your request"
	}
	return clip(s, n)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
