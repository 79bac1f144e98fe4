// Command heepr-demo fills a running heepr with demo data through its API
// (the generated Go client): owners with twelve agents across every
// category, customers, and completed, reviewed orders, so browse shows
// ratings and figures that real flows produced. It also unpacks the skill
// package of the demo's live writing agent, @report-writer, and saves its
// key, for heepr-agent to run it (scripts/demo.sh does all of this).
//
//	heepr-demo --url http://127.0.0.1:8080 --agent-dir demo-data/agent
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/heepr/heepr/api/client"
)

// Password is every demo account's password (printed with the logins).
const Password = "heepr-demo-2026"

type agentSpec struct {
	owner, handle, name, specialty, description string
	category                                    client.Category
	skills                                      []string
	tiers                                       []client.Tier
	reviews                                     []review
}

type review struct {
	rating int
	text   string
}

func tiers(base int64, days int) []client.Tier {
	d := func(s string) *string { return &s }
	return []client.Tier{
		{Name: "Basic", Price: base, DeliveryDays: days, Revisions: 1, Description: d("The essentials, one revision.")},
		{Name: "Standard", Price: base * 2, DeliveryDays: days + 1, Revisions: 2, Description: d("More depth, two revisions.")},
		{Name: "Premium", Price: base * 4, DeliveryDays: days + 3, Revisions: 3, Description: d("Everything, three revisions.")},
	}
}

var agents = []agentSpec{
	{"owner", "report-writer", "Report Writer", "Clear Markdown reports from your brief",
		"Give it a topic and what you need; it writes a structured report with a summary, sections and next steps. This is the demo's live agent: it really runs.",
		client.CategoryWriting, []string{"reports", "markdown", "research"}, tiers(40, 1), nil},
	{"owner", "copy-smith", "Copy Smith", "Landing-page copy that converts",
		"Headlines, value propositions and calls to action for product pages, tested against your audience notes.",
		client.CategoryWriting, []string{"copywriting", "marketing"}, tiers(60, 2),
		[]review{{5, "Sharp headlines, exactly our tone."}, {4, "Good copy; one revision to get the CTA right."}}},
	{"owner", "go-fixer", "Go Fixer", "Fixes failing Go tests and race conditions",
		"Send a repository and a failing test; it finds the cause, fixes it and explains the change.",
		client.CategoryCode, []string{"go", "testing", "debugging"}, tiers(120, 2),
		[]review{{5, "Found a data race we had chased for a week."}, {5, "Clean fix with a regression test."}}},
	{"owner", "sql-tuner", "SQL Tuner", "Faster Postgres queries and better indexes",
		"Reads your EXPLAIN plans and schema, proposes indexes and rewrites with measured before/after timings.",
		client.CategoryData, []string{"postgres", "sql", "performance"}, tiers(100, 2),
		[]review{{4, "Two indexes, query went from 900 ms to 12 ms."}}},
	{"studio", "logo-loom", "Logo Loom", "Vector logos with a small brand sheet",
		"Three logo directions in SVG, then a refined mark with colours and usage rules.",
		client.CategoryDesign, []string{"logo", "svg", "branding"}, tiers(150, 3),
		[]review{{5, "Loved the second direction."}, {4, "Solid work, fast turnaround."}}},
	{"studio", "ui-sketcher", "UI Sketcher", "Wireframes and clickable mock-ups",
		"From a feature description to annotated wireframes for phone and desktop.",
		client.CategoryDesign, []string{"ux", "wireframes", "figma"}, tiers(90, 2),
		[]review{{4, "Helpful flows; clear annotations."}}},
	{"studio", "clip-cutter", "Clip Cutter", "Short vertical videos from long recordings",
		"Finds the strongest moments in a talk or podcast video and cuts 30-60 s clips with captions.",
		client.CategoryVideo, []string{"video", "captions", "shorts"}, tiers(130, 3),
		[]review{{5, "Five great clips from a one-hour talk."}}},
	{"studio", "motion-titles", "Motion Titles", "Animated titles and lower thirds",
		"Title sequences and lower thirds rendered to transparent video, matching your brand.",
		client.CategoryVideo, []string{"motion", "titles"}, tiers(110, 3),
		[]review{{4, "Smooth animations."}}},
	{"lab", "voice-over", "Voice Over", "Narration for explainers and tutorials",
		"Natural narration from your script in several voices, with timing marks for editing.",
		client.CategoryAudio, []string{"narration", "tts"}, tiers(70, 1),
		[]review{{5, "Sounds natural, perfect pacing."}, {4, "Good; one word mispronounced, fixed in revision."}}},
	{"lab", "podcast-polish", "Podcast Polish", "Cleaner podcast audio, levelled and de-noised",
		"Removes noise and clicks, levels voices and masters to podcast loudness targets.",
		client.CategoryAudio, []string{"audio", "mastering"}, tiers(80, 2),
		[]review{{5, "Our worst episode now sounds great."}}},
	{"lab", "chart-maker", "Chart Maker", "Charts and a short analysis from your CSV",
		"Cleans the data, picks the right charts and writes what they show, delivered as PNGs and a notebook.",
		client.CategoryData, []string{"csv", "charts", "analysis"}, tiers(90, 2),
		[]review{{4, "Useful charts, clear notes."}, {5, "Spotted a trend we had missed."}}},
	{"lab", "trip-planner", "Trip Planner", "Day-by-day travel plans within budget",
		"Itineraries with transport, bookings to make and a budget table.",
		client.CategoryOther, []string{"travel", "planning"}, tiers(50, 1),
		[]review{{5, "Every train connection worked."}}},
}

var owners = map[string]string{"owner": "Olivia Owner", "studio": "Sam Studio", "lab": "Lena Lab"}

type seeder struct {
	url     string
	clients map[string]*client.ClientWithResponses // by account
	ids     map[string]string                      // account → user id
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "heepr's base URL")
	agentDir := flag.String("agent-dir", "demo-data/agent", "where to unpack @report-writer's skill package and key")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := seed(ctx, strings.TrimRight(*url, "/"), *agentDir); err != nil {
		fmt.Fprintln(os.Stderr, "heepr-demo:", err)
		os.Exit(1)
	}
}

func email(account string) string { return account + "@demo.heepr.dev" }

func seed(ctx context.Context, url, agentDir string) error {
	s := &seeder{url: url, clients: map[string]*client.ClientWithResponses{}, ids: map[string]string{}}
	for account, name := range owners {
		if err := s.signUp(ctx, account, name, client.SignUpRequestRoleOwner); err != nil {
			return err
		}
	}
	if err := s.signUp(ctx, "customer", "Casey Customer", client.SignUpRequestRoleCustomer); err != nil {
		return err
	}
	reviewers := []string{"ada", "ben", "chloe", "dev", "emma", "finn"}
	for _, r := range reviewers {
		if err := s.signUp(ctx, r, strings.ToUpper(r[:1])+r[1:]+" Reviewer", client.SignUpRequestRoleCustomer); err != nil {
			return err
		}
	}
	next := 0
	for _, a := range agents {
		id, key, err := s.createAgent(ctx, a)
		if err != nil {
			return fmt.Errorf("agent @%s: %w", a.handle, err)
		}
		agentC, err := s.newClient(func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) })
		if err != nil {
			return err
		}
		for _, rv := range a.reviews {
			who := reviewers[next%len(reviewers)]
			next++
			if err := s.completeOrder(ctx, a, id, agentC, who, rv); err != nil {
				return fmt.Errorf("order with @%s by %s: %w", a.handle, who, err)
			}
		}
		if a.handle == "report-writer" {
			if err := s.saveAgent(ctx, id, key, agentDir); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *seeder) newClient(auth func(*http.Request)) (*client.ClientWithResponses, error) {
	return client.NewClientWithResponses(s.url, client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error { auth(r); return nil }))
}

func want(op string, status, code int, body []byte) error {
	if status == code {
		return nil
	}
	return fmt.Errorf("%s: HTTP %d: %s", op, status, strings.TrimSpace(string(body)))
}

func (s *seeder) signUp(ctx context.Context, account, name string, role client.SignUpRequestRole) error {
	anon, err := s.newClient(func(*http.Request) {})
	if err != nil {
		return err
	}
	resp, err := anon.SignUpWithResponse(ctx, client.SignUpRequest{Email: email(account), Password: Password, DisplayName: name, Role: role})
	if err != nil {
		return err
	}
	if err := want("signUp "+account, resp.StatusCode(), http.StatusCreated, resp.Body); err != nil {
		return err
	}
	var session string
	for _, c := range resp.HTTPResponse.Cookies() {
		if c.Name == "heepr_session" {
			session = c.Value
		}
	}
	if session == "" {
		return errors.New("signUp set no session cookie")
	}
	// The cookie is Secure; this client talks to a local heepr, so it sends it by hand.
	s.clients[account], err = s.newClient(func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "heepr_session", Value: session}) })
	s.ids[account] = resp.JSON201.Id
	return err
}

func (s *seeder) createAgent(ctx context.Context, a agentSpec) (string, string, error) {
	c := s.clients[a.owner]
	skills := a.skills
	resp, err := c.CreateAgentWithResponse(ctx, client.CreateAgentRequest{
		Handle: a.handle, Name: a.name, Specialty: a.specialty, Description: a.description,
		Categories: []client.Category{a.category}, Skills: &skills, Tiers: a.tiers, PollingIntervalSeconds: 15,
		AcceptMode: client.CreateAgentRequestAcceptModeAuto,
		AutoBands: &client.AutoBands{MinPrice: 1, MaxPrice: 100000, Categories: []client.Category{a.category},
			MaxRevisions: 5, MaxActiveOrders: 10},
	})
	if err != nil {
		return "", "", err
	}
	if err := want("createAgent", resp.StatusCode(), http.StatusCreated, resp.Body); err != nil {
		return "", "", err
	}
	id := resp.JSON201.Agent.Id
	pub, err := c.PublishAgentWithResponse(ctx, id)
	if err != nil {
		return "", "", err
	}
	return id, resp.JSON201.ApiKey, want("publishAgent", pub.StatusCode(), http.StatusOK, pub.Body)
}

func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// completeOrder runs one order through its whole life: the customer asks,
// the agent quotes its Basic tier and delivers, the owner releases, the
// customer accepts and reviews.
func (s *seeder) completeOrder(ctx context.Context, a agentSpec, agentID string, agentC *client.ClientWithResponses, who string, rv review) error {
	cust, owner := s.clients[who], s.clients[a.owner]
	conv, err := cust.CreateConversationWithResponse(ctx, client.CreateConversationRequest{AgentId: agentID,
		Message: "Hi! Could you help with a small job? " + a.specialty + "."})
	if err != nil {
		return err
	}
	if err := want("createConversation", conv.StatusCode(), http.StatusCreated, conv.Body); err != nil {
		return err
	}
	t := a.tiers[0]
	q, err := agentC.SendQuoteWithResponse(ctx, conv.JSON201.Id, client.SendQuoteRequest{
		Title: a.name + ": " + t.Name, Description: *t.Description, Price: t.Price, DeliveryDays: t.DeliveryDays,
		Revisions: t.Revisions, Category: a.category, Criteria: []string{"Matches the request", "Delivered as files"},
		ExpiresAt: time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Second),
	})
	if err != nil {
		return err
	}
	if err := want("sendQuote", q.StatusCode(), http.StatusCreated, q.Body); err != nil {
		return err
	}
	acc, err := cust.AcceptQuoteWithResponse(ctx, q.JSON201.Id, &client.AcceptQuoteParams{IdempotencyKey: newKey()})
	if err != nil {
		return err
	}
	if err := want("acceptQuote", acc.StatusCode(), http.StatusCreated, acc.Body); err != nil {
		return err
	}
	order := acc.JSON201.Id
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("message", "Here is the work. Thanks for the clear brief!")
	fw, _ := mw.CreateFormFile("files", "delivery.md")
	_, _ = fmt.Fprintf(fw, "# %s\n\nDemo delivery for order %s.\n", a.name, order)
	_ = mw.Close()
	d, err := agentC.DeliverOrderWithBodyWithResponse(ctx, order, mw.FormDataContentType(), &body)
	if err != nil {
		return err
	}
	if err := want("deliverOrder", d.StatusCode(), http.StatusCreated, d.Body); err != nil {
		return err
	}
	rel, err := owner.ReleaseDeliveryWithResponse(ctx, d.JSON201.Id)
	if err != nil {
		return err
	}
	if err := want("releaseDelivery", rel.StatusCode(), http.StatusOK, rel.Body); err != nil {
		return err
	}
	done, err := cust.AcceptDeliveryWithResponse(ctx, order, &client.AcceptDeliveryParams{IdempotencyKey: newKey()})
	if err != nil {
		return err
	}
	if err := want("acceptDelivery", done.StatusCode(), http.StatusOK, done.Body); err != nil {
		return err
	}
	r, err := cust.CreateReviewWithResponse(ctx, order, &client.CreateReviewParams{IdempotencyKey: newKey()},
		client.CreateReviewRequest{Rating: rv.rating, Text: rv.text})
	if err != nil {
		return err
	}
	return want("createReview", r.StatusCode(), http.StatusCreated, r.Body)
}

// saveAgent unpacks the agent's skill package (once rendered) and saves its key.
func (s *seeder) saveAgent(ctx context.Context, id, key, dir string) error {
	c := s.clients["owner"]
	var zipped []byte
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		resp, err := c.DownloadSkillPackageWithResponse(ctx, id)
		if err != nil {
			return err
		}
		if resp.StatusCode() == http.StatusOK {
			zipped = resp.Body
			break
		}
		if time.Since(start) > time.Minute {
			return want("downloadSkillPackage", resp.StatusCode(), http.StatusOK, resp.Body)
		}
	}
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		return err
	}
	_ = os.RemoveAll(dir)
	for _, f := range zr.File {
		if strings.Contains(f.Name, "..") || f.FileInfo().IsDir() {
			continue
		}
		// Files sit in one folder named after the agent; keep them flat in dir.
		path := filepath.Join(dir, filepath.Base(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "key"), []byte(key+"\n"), 0o600)
}
