package process_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/test/internal/heeprproc"
)

// workScript is the owner's --exec: a writing agent that turns the brief
// into a Markdown report, and answers revision notes in the next version.
const workScript = `#!/bin/sh
set -eu
{
  echo "# Report: $HEEPR_TITLE"
  echo
  echo "Order $HEEPR_ORDER_ID, revision $HEEPR_REVISION."
  echo
  echo "## The brief"
  echo
  cat "$HEEPR_CONVERSATION_FILE"
  if [ -s "$HEEPR_REVISION_FILE" ]; then
    echo "## Revisions asked for"
    echo
    cat "$HEEPR_REVISION_FILE"
  fi
} > "$HEEPR_OUTPUT_DIR/report.md"
echo "Here is the report (revision $HEEPR_REVISION)." > "$HEEPR_MESSAGE_FILE"
echo "ran $HEEPR_ORDER_ID $HEEPR_REVISION" >> "$RUNS_LOG"
`

type agentProc struct {
	cmd    *exec.Cmd
	stderr *heeprproc.SyncBuffer
	exited chan struct{}
	err    error
}

func startAgent(t *testing.T, bin, skillDir, key string, extra ...string) *agentProc {
	t.Helper()
	p := &agentProc{stderr: &heeprproc.SyncBuffer{}, exited: make(chan struct{})}
	args := append([]string{"--skill", skillDir}, extra...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = heeprproc.Env("HEEPR_AGENT_KEY=" + key)
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, p.stderr
	require.NoError(t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("heepr-agent stderr:\n%s", p.stderr.String())
		}
	})
	return p
}

func (p *agentProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
		require.NoError(t, p.err, "heepr-agent exits 0 on SIGTERM\n%s", p.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("heepr-agent still running 20 s after SIGTERM\n%s", p.stderr.String())
	}
}

type orderView struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Deliveries []struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
		Status  string `json:"status"`
		Message string `json:"message"`
		Files   []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"files"`
	} `json:"deliveries"`
}

// TestReferenceAgentCompletesAnOrderWithARevision runs heepr and
// heepr-agent as real processes: the agent quotes from its tier, works the
// order with the owner's script, is restarted half-way (it must not work
// or deliver twice), handles a revision, and stops cleanly.
func TestReferenceAgentCompletesAnOrderWithARevision(t *testing.T) {
	t.Parallel()
	agentBin := heeprproc.GoBinary(t, "heepr-agent")
	srv := heeprproc.New(t, "S", "all", "").Start(t) // the embedded SQLite
	srv.WaitReady(t)

	owner := heeprproc.SignUp(t, srv, "owner@example.com", "Owner", "owner")
	customer := heeprproc.SignUp(t, srv, "customer@example.com", "Customer", "customer")
	agentID, apiKey := heeprproc.PublishAgent(t, srv, owner, map[string]any{
		"handle": "report-writer", "name": "Report writer", "specialty": "Short reports from a brief",
		"description": "Writes a Markdown report of your brief.", "categories": []string{"writing"},
		"polling_interval_seconds": 15, "accept_mode": "auto",
		"auto_bands": map[string]any{"min_price": 1, "max_price": 1000, "categories": []string{"writing"}, "max_revisions": 3, "max_active_orders": 5},
		"tiers":      []map[string]any{{"name": "Standard", "price": 40, "delivery_days": 2, "revisions": 2, "description": "A report of up to two pages."}},
	})

	// The owner downloads the skill package (rendered by a job) and unpacks it.
	var zipped []byte
	heeprproc.Eventually(t, "the skill package", 30*time.Second, func() bool {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.Base+"/v1/agents/"+agentID+"/skill-package", nil)
		owner(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		zipped, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK
	})
	skillDir := unzip(t, zipped)
	runs := filepath.Join(t.TempDir(), "runs.log")
	work := filepath.Join(t.TempDir(), "work.sh")
	require.NoError(t, os.WriteFile(work, []byte(strings.ReplaceAll(workScript, "$RUNS_LOG", runs)), 0o755))
	state := t.TempDir()
	args := []string{"--exec", work, "--quote-tier", "standard", "--state", state, "--wait", "5"}
	ag := startAgent(t, agentBin, skillDir, apiKey, args...)

	// The customer writes; the agent answers with a quote for its tier.
	var conv struct {
		ID string `json:"id"`
	}
	heeprproc.Call(t, srv, http.MethodPost, "/v1/conversations", customer,
		map[string]any{"agent_id": agentID, "message": "Please write a report on urban beekeeping."}, http.StatusCreated, &conv)
	var quote struct {
		ID    string `json:"id"`
		Price int64  `json:"price"`
		Title string `json:"title"`
	}
	heeprproc.Eventually(t, "the agent's quote", 30*time.Second, func() bool {
		var qs struct {
			Items []json.RawMessage `json:"items"`
		}
		heeprproc.Call(t, srv, http.MethodGet, "/v1/conversations/"+conv.ID+"/quotes", customer, nil, http.StatusOK, &qs)
		if len(qs.Items) == 0 {
			return false
		}
		require.NoError(t, json.Unmarshal(qs.Items[0], &quote))
		return true
	})
	require.Equal(t, int64(40), quote.Price)
	require.Contains(t, quote.Title, "urban beekeeping")

	var order orderView
	heeprproc.Call(t, srv, http.MethodPost, "/v1/quotes/"+quote.ID+"/accept", heeprproc.Idem(customer, "accept-1"), nil, http.StatusCreated, &order)
	require.Equal(t, "in_progress", order.Status)

	// The agent works the order and delivers it for the owner's review.
	waitDelivery := func(n int) orderView {
		t.Helper()
		var o orderView
		heeprproc.Eventually(t, fmt.Sprintf("delivery %d", n), 60*time.Second, func() bool {
			heeprproc.Call(t, srv, http.MethodGet, "/v1/orders/"+order.ID, owner, nil, http.StatusOK, &o)
			return o.Status == "in_review" && len(o.Deliveries) == n
		})
		return o
	}
	o := waitDelivery(1)
	require.Equal(t, "Here is the report (revision 0).", o.Deliveries[0].Message)
	require.Equal(t, "report.md", o.Deliveries[0].Files[0].Name)

	// Restarted, the agent must not work the order again (its cursor and
	// last handled event are in --state).
	ag.stop(t)
	ag = startAgent(t, agentBin, skillDir, apiKey, args...)
	heeprproc.Call(t, srv, http.MethodPost, "/v1/deliveries/"+o.Deliveries[0].ID+"/release", owner, nil, http.StatusOK, nil)

	// The customer asks for a revision; the agent delivers version 2.
	heeprproc.Call(t, srv, http.MethodPost, "/v1/orders/"+order.ID+"/revision", customer, map[string]any{
		"notes": "Add a section on winter care.", "unmet_criteria": []string{"The delivery answers the brief in the conversation"},
	}, http.StatusOK, nil)
	o = waitDelivery(2)
	require.Equal(t, "Here is the report (revision 1).", o.Deliveries[1].Message)
	heeprproc.Call(t, srv, http.MethodPost, "/v1/deliveries/"+o.Deliveries[1].ID+"/release", owner, nil, http.StatusOK, nil)

	// The customer reads version 2, then accepts.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.Base+"/v1/files/"+o.Deliveries[1].Files[0].ID, nil)
	require.NoError(t, err)
	customer(req)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	report, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", report)
	require.Contains(t, string(report), "# Report: Standard: Please write a report on urban beekeeping.")
	require.Contains(t, string(report), "Add a section on winter care.")
	heeprproc.Call(t, srv, http.MethodPost, "/v1/orders/"+order.ID+"/accept", heeprproc.Idem(customer, "accept-delivery-1"), nil, http.StatusOK, &o)
	require.Equal(t, "completed", o.Status)

	// Exactly two runs of the owner's script: one per delivery.
	ag.stop(t)
	log, err := os.ReadFile(runs)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("ran %s 0\nran %s 1\n", order.ID, order.ID), string(log))
	stop(t, srv)
}

// unzip unpacks a skill package and returns the folder holding skill.json.
func unzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	root := t.TempDir()
	found := ""
	for _, f := range zr.File {
		require.False(t, strings.Contains(f.Name, ".."), f.Name)
		path := filepath.Join(root, filepath.FromSlash(f.Name))
		if f.FileInfo().IsDir() {
			require.NoError(t, os.MkdirAll(path, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		rc, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		_ = rc.Close()
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, data, 0o644))
		if filepath.Base(path) == "skill.json" {
			found = filepath.Dir(path)
		}
	}
	require.NotEmpty(t, found, "the package has a skill.json")
	return found
}
