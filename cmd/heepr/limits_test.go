package main

// Issue 11, item 3: rate limits on writes and polls, the cap on an agent's
// held long-polls. (Sign-up and sign-in limits: TestRateLimited and
// TestSignInLimitedPerEmail in errors_test.go.)

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr"
	httpapi "github.com/heepr/heepr/adapters/http"
	"github.com/heepr/heepr/api/client"
)

// withLimits sets the write and poll limits and the cap on held polls
// (zero: none, as in every other test).
func withLimits(writes, polls httpapi.Limit, held int) envOption {
	return func(_ *config, o *options) { o.writeLimit, o.pollLimit, o.maxHeldPolls = writes, polls, held }
}

// requireRateLimited checks a 429: the problem, Retry-After in whole
// seconds, and the RateLimit headers of the bucket that refused.
func requireRateLimited(t *testing.T, resp *http.Response, body []byte, slug, retryAfter, rateLimit, policy string) {
	t.Helper()
	requireProblem(t, resp, body, http.StatusTooManyRequests, slug)
	require.Equal(t, retryAfter, resp.Header.Get("Retry-After"))
	require.Equal(t, rateLimit, resp.Header.Get("RateLimit"))
	require.Equal(t, policy, resp.Header.Get("RateLimit-Policy"))
}

func (e *env) tryCreateToken(t *testing.T, c *client.ClientWithResponses, name string) *client.CreatePersonalTokenResponse {
	t.Helper()
	resp, err := c.CreatePersonalTokenWithResponse(context.Background(), client.CreatePersonalTokenRequest{Name: name})
	require.NoError(t, err)
	return resp
}

// Writes are limited per principal: a user who used up the bucket is
// refused (and nothing is written) while another user and the same user's
// reads go on; anonymous writes share one bucket per client IP.
func TestWritesRateLimitedPerPrincipal(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ada := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer) // anonymous writes 1 and 2
		bob := e.signUp(t, "bob@example.com", client.SignUpRequestRoleCustomer)
		adaC, bobC := e.withCookie(t, ada.Session), e.withCookie(t, bob.Session)

		for i := range 3 {
			resp := e.tryCreateToken(t, adaC, "ci")
			require.Equal(t, http.StatusCreated, resp.StatusCode(), "write %d: %s", i+1, resp.Body)
			require.Equal(t, "3;w=180", resp.HTTPResponse.Header.Get("RateLimit-Policy"))
			require.Equal(t, "limit=3, remaining="+strconv.Itoa(2-i)+", reset=0", resp.HTTPResponse.Header.Get("RateLimit"))
		}
		before := e.snapshot(t)
		resp := e.tryCreateToken(t, adaC, "one too many")
		requireRateLimited(t, resp.HTTPResponse, resp.Body, "rate-limited", "60", "limit=3, remaining=0, reset=60", "3;w=180")
		e.requireUnchanged(t, before)

		// Reads are not writes; another principal has its own bucket.
		status, _, _ := e.me(t, adaC)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, http.StatusCreated, e.tryCreateToken(t, bobC, "ci").StatusCode())

		// Anonymous writes: one bucket per address, whatever the operation.
		si, err := e.anon(t).SignInWithResponse(context.Background(), client.SignInRequest{Email: ada.Email, Password: ada.Password})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, si.StatusCode(), "%s", si.Body)
		before = e.snapshot(t)
		su, err := e.anon(t).SignUpWithResponse(context.Background(), client.SignUpRequest{
			Email: "eve@example.com", Password: testPassword, DisplayName: "Eve", Role: client.SignUpRequestRoleCustomer,
		})
		require.NoError(t, err)
		requireRateLimited(t, su.HTTPResponse, su.Body, "rate-limited", "60", "limit=3, remaining=0, reset=60", "3;w=180")
		e.requireUnchanged(t, before)

		// Waiting as told lets the caller write again.
		e.clock.Advance(time.Minute)
		require.Equal(t, http.StatusCreated, e.tryCreateToken(t, adaC, "after a minute").StatusCode())
		e.signUp(t, "eve@example.com", client.SignUpRequestRoleCustomer)
	}, withLimits(httpapi.Limit{PerMinute: 1, Burst: 3}, httpapi.Limit{}, 0))
}

// Polls are limited per agent, and an agent's writes count against the
// agent, not its owner.
func TestPollsRateLimitedPerAgent(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		one := e.autoShop(t)
		e.clock.Advance(time.Hour) // the shop's writes used the buckets up
		two := e.autoShop(t)
		e.clock.Advance(time.Hour)

		for range 3 {
			resp, err := one.agentC.PollAgentEventsWithResponse(ctx, &client.PollAgentEventsParams{})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)
			require.Equal(t, "3;w=180", resp.HTTPResponse.Header.Get("RateLimit-Policy"))
		}
		resp, err := one.agentC.PollAgentEventsWithResponse(ctx, &client.PollAgentEventsParams{})
		require.NoError(t, err)
		requireRateLimited(t, resp.HTTPResponse, resp.Body, "rate-limited", "60", "limit=3, remaining=0, reset=60", "3;w=180")
		e.poll(t, two.agentC, "", 0) // another agent's bucket

		// The agent's writes: its own bucket of 2 (the owner's is full).
		for range 2 {
			ack, err := one.agentC.AckAgentEventsWithResponse(ctx, client.AckRequest{UpTo: "0"})
			require.NoError(t, err)
			require.NotEqual(t, http.StatusTooManyRequests, ack.StatusCode(), "%s", ack.Body)
		}
		ack, err := one.agentC.AckAgentEventsWithResponse(ctx, client.AckRequest{UpTo: "0"})
		require.NoError(t, err)
		requireRateLimited(t, ack.HTTPResponse, ack.Body, "rate-limited", "30", "limit=2, remaining=0, reset=30", "2;w=60")
		require.Equal(t, http.StatusCreated, e.tryCreateToken(t, one.ownerC, "owner").StatusCode())

		e.clock.Advance(time.Minute)
		e.poll(t, one.agentC, "", 0)
	}, withLimits(httpapi.Limit{PerMinute: 2, Burst: 2}, httpapi.Limit{PerMinute: 1, Burst: 3}, 0))
}

// pollResult is the end of one held poll.
type pollResult struct {
	status int
	events int
	cursor string
	err    error
	took   time.Duration
}

// holdPoll starts a long-poll and reports its end on the channel.
func holdPoll(ctx context.Context, c *client.ClientWithResponses, wait int, out chan<- pollResult) {
	go func() {
		start := time.Now()
		resp, err := c.PollAgentEventsWithResponse(ctx, &client.PollAgentEventsParams{Wait: &wait})
		r := pollResult{err: err, took: time.Since(start)}
		if err == nil {
			r.status = resp.StatusCode()
			if resp.JSON200 != nil {
				r.events, r.cursor = len(resp.JSON200.Items), resp.JSON200.NextCursor
			}
		}
		out <- r
	}()
}

// An agent holds at most 3 polls: the fourth is refused at once with
// too-many-polls, the held ones go on and answer the next event, and a
// slot comes back when a poll ends, also when its client goes away.
func TestHeldPollsCappedPerAgent(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.autoShop(t)
		other := e.autoShop(t)

		// fourth polls once more (wait=0) and says whether it was refused.
		fourth := func() (*client.PollAgentEventsResponse, time.Duration) {
			start := time.Now()
			resp, err := s.agentC.PollAgentEventsWithResponse(ctx, &client.PollAgentEventsParams{})
			require.NoError(t, err)
			return resp, time.Since(start)
		}
		// waitFull waits until n polls wait in the hub, then polls once more.
		waitFull := func(n int) (*client.PollAgentEventsResponse, time.Duration) {
			require.Eventually(t, func() bool { return e.app.hub.Waiting() == n }, 10*time.Second, 5*time.Millisecond,
				"the polls are not all held")
			return fourth()
		}

		held := make(chan pollResult, 3)
		for range 3 {
			holdPoll(ctx, s.agentC, 20, held)
		}
		resp, took := waitFull(3)
		requireRateLimited(t, resp.HTTPResponse, resp.Body, "too-many-polls", "1", "limit=3, remaining=0, reset=1", "3;w=1")
		require.Less(t, took, time.Second, "the fourth poll is answered at once")
		t.Logf("fourth poll refused in %v", took)
		e.poll(t, other.agentC, "", 0) // another agent is not affected

		// The held polls still work: an event answers all three.
		e.contact(t, s.custC, s.agent.Id, "Please fix the lint findings.")
		var cursor string
		for range 3 {
			select {
			case r := <-held:
				cursor = r.cursor
				require.NoError(t, r.err)
				require.Equal(t, http.StatusOK, r.status)
				require.Equal(t, 1, r.events)
				require.Less(t, r.took, 15*time.Second)
			case <-time.After(15 * time.Second):
				t.Fatal("a held poll did not answer the event")
			}
		}
		// Their slots are back (each as its poll's handler returns).
		require.Eventually(t, func() bool {
			resp, _ := fourth()
			return resp.StatusCode() == http.StatusOK
		}, 5*time.Second, 20*time.Millisecond, "the slots of answered polls were not given back")

		ack, err := s.agentC.AckAgentEventsWithResponse(ctx, client.AckRequest{UpTo: cursor})
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, ack.StatusCode(), "%s", ack.Body)

		// A client that goes away gives its slot back.
		var cancels []context.CancelFunc
		for range 3 {
			pctx, cancel := context.WithCancel(ctx)
			cancels = append(cancels, cancel)
			holdPoll(pctx, s.agentC, 20, held)
		}
		resp, _ = waitFull(3)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode())
		cancels[0]()
		require.Eventually(t, func() bool {
			resp, _ := fourth()
			return resp.StatusCode() == http.StatusOK
		}, 5*time.Second, 20*time.Millisecond, "the slot of a poll whose client left was not given back")
		for _, c := range cancels[1:] {
			c()
		}
		for range 3 {
			<-held
		}
	}, withLimits(httpapi.Limit{}, httpapi.Limit{}, 3))
}

// TestRateLimitedDeclared keeps the spec in step with the limits: every
// operation the write limit applies to (any method but GET and HEAD) and
// pollAgentEvents declare the 429 the edge answers, as the shared
// RateLimited response (Retry-After and the RateLimit headers).
func TestRateLimitedDeclared(t *testing.T) {
	t.Parallel()
	spec, err := openapi3.NewLoader().LoadFromData(heepr.OpenAPI)
	require.NoError(t, err)
	checked := 0
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if (method == http.MethodGet || method == http.MethodHead) && op.OperationID != "pollAgentEvents" {
				continue
			}
			checked++
			resp := op.Responses.Status(http.StatusTooManyRequests)
			if !assert.NotNil(t, resp, "%s %s (%s) does not declare its 429", method, path, op.OperationID) {
				continue
			}
			assert.Equal(t, "#/components/responses/RateLimited", resp.Ref, "%s: its 429 is the shared RateLimited response", op.OperationID)
		}
	}
	require.Greater(t, checked, 40, "writes found in the spec")
}
