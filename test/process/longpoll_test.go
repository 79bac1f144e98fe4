package process_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/test/internal/heeprproc"
)

// wakeLatency is how soon after a write a long-poll held by another
// process must answer.
const wakeLatency = time.Second

// TestLongPollWakesAcrossProcesses runs two heepr processes on one Postgres
// database and checks that an agent event written through either wakes a
// long-poll held by the other (LISTEN/NOTIFY), well before the poll's wait
// runs out.
func TestLongPollWakesAcrossProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the heepr binary")
	}
	dbURL := heeprproc.FreshDatabase(t) // skips before the build when there is no Postgres

	// A runs the API and the workers, B the API only. A starts (and
	// migrates the fresh database) first, so B finds it up to date.
	a := heeprproc.New(t, "A", "all", dbURL).Start(t)
	a.WaitReady(t)
	b := heeprproc.New(t, "B", "api", dbURL).Start(t)
	b.WaitReady(t)
	for _, p := range []*heeprproc.Proc{a, b} {
		require.Contains(t, p.Stderr(), `"database":"postgres"`, "%s runs on Postgres\nstderr:\n%s", p.Name, p.Stderr())
	}
	waitListeners(t, dbURL, 2)

	// Through A: an owner with a published agent, and a customer.
	owner := heeprproc.SignUp(t, a, "owner@example.com", "Owner", "owner")
	customer := heeprproc.SignUp(t, a, "customer@example.com", "Customer", "customer")
	agentID, key := heeprproc.PublishAgent(t, a, owner, map[string]any{ // requires an id and a key
		"handle": "wake-test", "name": "Wake test", "specialty": "Answers", "description": "Answers quickly.",
		"categories": []string{"other"}, "polling_interval_seconds": 60, "accept_mode": "manual",
		"tiers": []map[string]any{{"name": "Only", "price": 10, "delivery_days": 1, "revisions": 0}},
	})
	agentKey := heeprproc.Bearer(key)

	// Drain what the agent already has (settings.changed), through B.
	cursor := drain(t, b, agentKey)

	// 1. A long-poll held on B is woken by a write through A.
	poll := holdPoll(t, b, agentKey, cursor)
	waitPollsWaiting(t, b, 1, poll)
	first := "Hello from process A " + heeprproc.RandomSuffix(t)
	var conv struct {
		ID string `json:"id"`
	}
	began := time.Now()
	heeprproc.Call(t, a, http.MethodPost, "/v1/conversations", customer,
		map[string]any{"agent_id": agentID, "message": first}, http.StatusCreated, &conv)
	written := time.Now()
	require.NotEmpty(t, conv.ID)
	page := poll.await(t, written)
	t.Logf("A→B: write took %v; B's poll answered %v after the write's answer (%v after its start)",
		written.Sub(began), page.at.Sub(written), page.at.Sub(began))
	requireMessageEvent(t, page, conv.ID, first)
	cursor = page.NextCursor

	// 2. The reverse: a long-poll held on A is woken by a write through B.
	poll = holdPoll(t, a, agentKey, cursor)
	waitPollsWaiting(t, a, 1, poll)
	second := "Hello from process B " + heeprproc.RandomSuffix(t)
	began = time.Now()
	heeprproc.Call(t, b, http.MethodPost, "/v1/conversations/"+conv.ID+"/messages", customer,
		map[string]any{"body": second}, http.StatusCreated, nil)
	written = time.Now()
	page = poll.await(t, written)
	t.Logf("B→A: write took %v; A's poll answered %v after the write's answer (%v after its start)",
		written.Sub(began), page.at.Sub(written), page.at.Sub(began))
	requireMessageEvent(t, page, conv.ID, second)

	// Nothing is held any more; both stop cleanly.
	require.Equal(t, 0.0, b.Gauge(t, "heepr_agent_polls_waiting"))
	require.Equal(t, 0.0, a.Gauge(t, "heepr_agent_polls_waiting"))
	stop(t, b)
	stop(t, a)
}

// waitListeners waits until n connections to the database are LISTENing
// for agent events (one per heepr process).
func waitListeners(t *testing.T, dbURL string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(ctx))
	var got int
	for ctx.Err() == nil {
		err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'`).Scan(&got)
		if err == nil && got == n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%d connections LISTEN for agent events, want %d (last error: %v)", got, n, err)
}

// waitPollsWaiting waits until n long-polls are held in p, and then a
// little longer so the poll has read the feed and sits on its wake-up
// channel. It fails if the poll answered meanwhile.
func waitPollsWaiting(t *testing.T, p *heeprproc.Proc, n float64, poll *heldPoll) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		select {
		case r := <-poll.done:
			t.Fatalf("heepr %s: the long-poll answered before anything was written: %+v", p.Name, r)
		default:
		}
		if p.Gauge(t, "heepr_agent_polls_waiting") == n {
			break
		}
		require.True(t, time.Now().Before(deadline), "heepr %s: heepr_agent_polls_waiting never reached %v", p.Name, n)
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case r := <-poll.done:
		t.Fatalf("heepr %s: the long-poll answered before anything was written: %+v", p.Name, r)
	default:
	}
	require.Equal(t, n, p.Gauge(t, "heepr_agent_polls_waiting"), "heepr %s", p.Name)
}

// eventPage is an answer of pollAgentEvents.
type eventPage struct {
	Items []struct {
		ID          string         `json:"id"`
		Type        string         `json:"type"`
		Redelivered bool           `json:"redelivered"`
		Data        map[string]any `json:"data"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
	PollAfter  int    `json:"poll_after_seconds"`

	at  time.Time // when the answer arrived
	err error
}

// drain reads the agent's feed until it is empty and returns the cursor after it.
func drain(t *testing.T, p *heeprproc.Proc, who heeprproc.Auth) string {
	t.Helper()
	cursor := ""
	for range 20 {
		var page eventPage
		heeprproc.Call(t, p, http.MethodGet, heeprproc.PollPath(cursor, 0), who, nil, http.StatusOK, &page)
		require.NotEmpty(t, page.NextCursor)
		cursor = page.NextCursor
		if len(page.Items) == 0 {
			return cursor
		}
	}
	t.Fatalf("the agent's feed on %s never emptied", p.Name)
	return ""
}

// pollWait is how long a held poll may wait: far longer than wakeLatency,
// so an answer within wakeLatency can only be a wake-up.
const pollWait = 20

// heldPoll is a long-poll running in the background.
type heldPoll struct {
	done chan eventPage
}

func holdPoll(t *testing.T, p *heeprproc.Proc, who heeprproc.Auth, cursor string) *heldPoll {
	t.Helper()
	hp := &heldPoll{done: make(chan eventPage, 1)}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.Base+heeprproc.PollPath(cursor, pollWait), nil)
	require.NoError(t, err)
	who(req)
	go func() {
		var page eventPage
		resp, err := (&http.Client{Timeout: (pollWait + 30) * time.Second}).Do(req)
		if err == nil {
			var raw []byte
			raw, err = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			switch {
			case err != nil:
			case resp.StatusCode != http.StatusOK:
				err = fmt.Errorf("poll on %s: status %d: %s", p.Name, resp.StatusCode, raw)
			default:
				err = json.Unmarshal(raw, &page)
			}
		}
		page.at, page.err = time.Now(), err
		hp.done <- page
	}()
	return hp
}

// await returns the poll's answer, which must arrive within wakeLatency of
// written (the moment the write was answered).
func (hp *heldPoll) await(t *testing.T, written time.Time) eventPage {
	t.Helper()
	select {
	case page := <-hp.done:
		require.NoError(t, page.err)
		require.WithinDuration(t, written, page.at, wakeLatency, "the long-poll answered %v after the write", page.at.Sub(written))
		return page
	case <-time.After(time.Until(written.Add(wakeLatency))):
	}
	// Too late: say how late, if it answers at all before its wait runs out.
	select {
	case page := <-hp.done:
		t.Fatalf("the long-poll answered %v after the write, want within %v (err %v, %d events)",
			page.at.Sub(written), wakeLatency, page.err, len(page.Items))
	case <-time.After((pollWait + 5) * time.Second):
		t.Fatalf("the long-poll did not answer within %v of the write, nor after its wait ran out", wakeLatency)
	}
	return eventPage{}
}

// requireMessageEvent requires a message.created event of the conversation with body.
func requireMessageEvent(t *testing.T, page eventPage, conversationID, body string) {
	t.Helper()
	for _, e := range page.Items {
		if e.Type == "message.created" && e.Data["body"] == body {
			require.Equal(t, conversationID, e.Data["conversation_id"])
			require.Equal(t, "customer", e.Data["author_kind"])
			require.False(t, e.Redelivered)
			require.NotEmpty(t, page.NextCursor)
			return
		}
	}
	t.Fatalf("no message.created event with body %q in %+v", body, page.Items)
}
