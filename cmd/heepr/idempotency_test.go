package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	httpapi "github.com/heepr/heepr/adapters/http"
	"github.com/heepr/heepr/adapters/queue"
	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/api/client"
)

// Idempotency-Key (QUALITY.md "Idempotency", issue 3 §5) through the one
// points-moving operation that exists so far, creditPoints. The middleware
// is shared: later points-moving operations get the same behaviour.

// creditBody sends creditPoints with exactly these body bytes.
func (e *env) creditBody(t *testing.T, c *client.ClientWithResponses, user, key, body string) *client.CreditPointsResponse {
	t.Helper()
	resp, err := c.CreditPointsWithBodyWithResponse(context.Background(), user, &client.CreditPointsParams{IdempotencyKey: key},
		"application/json", strings.NewReader(body))
	require.NoError(t, err)
	return resp
}

// keyRows counts the stored rows of one key.
func (e *env) keyRows(t *testing.T, key string) int {
	t.Helper()
	n, err := e.app.db.Bun.NewSelect().Table("idempotency_keys").Where("key = ?", key).Count(context.Background())
	require.NoError(t, err)
	return int(n)
}

func requireReplayOf(t *testing.T, first, again *client.CreditPointsResponse) {
	t.Helper()
	require.Equal(t, first.StatusCode(), again.StatusCode(), "%s", again.Body)
	require.Equal(t, string(first.Body), string(again.Body), "a replay is the first answer byte for byte")
	require.Equal(t, "true", again.HTTPResponse.Header.Get("Idempotent-Replayed"))
	require.Equal(t, first.HTTPResponse.Header.Get("Content-Type"), again.HTTPResponse.Header.Get("Content-Type"))
	require.Equal(t, "no-store", again.HTTPResponse.Header.Get("Cache-Control"))
	require.Equal(t, "nosniff", again.HTTPResponse.Header.Get("X-Content-Type-Options"))
}

func requireFresh(t *testing.T, resp *client.CreditPointsResponse, status int) {
	t.Helper()
	require.Equal(t, status, resp.StatusCode(), "%s", resp.Body)
	require.Empty(t, resp.HTTPResponse.Header.Get("Idempotent-Replayed"), "not a replay")
}

func TestIdempotencyKeyRequired(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		staff := e.supportAccount(t, "staff@heepr.dev")
		sc := e.withCookie(t, staff.Session)
		before, ledgerBefore := e.snapshot(t), e.ledgerState(t)

		// No header at all (the client sends none without params).
		r, err := sc.CreditPointsWithResponse(context.Background(), cust.ID, nil, client.CreditRequest{Amount: 5, Memo: "no key"})
		require.NoError(t, err)
		p := requireProblem(t, r.HTTPResponse, r.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"Idempotency-Key"}, fieldNames(p))

		for _, key := range []string{"", "has space", "tab\tinside", strings.Repeat("k", 256), "clé-é"} {
			r := e.credit(t, sc, cust.ID, key, 5, "bad key")
			require.Equal(t, http.StatusBadRequest, r.StatusCode(), "key %q", key)
			p := requireProblem(t, r.HTTPResponse, r.Body, http.StatusBadRequest, "validation")
			require.Equal(t, []string{"Idempotency-Key"}, fieldNames(p), "key %q", key)
		}
		e.requireUnchanged(t, before)
		e.requireLedgerUnchanged(t, ledgerBefore)

		// The longest and the oddest keys the spec allows work.
		for _, key := range []string{strings.Repeat("k", 255), "!", `~"quoted';--`} {
			r := e.credit(t, sc, cust.ID, key, 5, "good key")
			requireFresh(t, r, http.StatusCreated)
			requireReplayOf(t, r, e.credit(t, sc, cust.ID, key, 5, "good key"))
		}
		require.Equal(t, client.Wallet{Balance: 1015}, e.wallet(t, e.withCookie(t, cust.Session)))
		e.requireLedgerOK(t)
	})
}

func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		other := e.signUp(t, "olga@example.com", client.SignUpRequestRoleCustomer)
		staff := e.supportAccount(t, "staff@heepr.dev")
		sc := e.withCookie(t, staff.Session)

		first := e.credit(t, sc, cust.ID, "replay-1", 30, "Outage on Monday")
		requireFresh(t, first, http.StatusCreated)

		// The retry, later, from another session and from a token of the
		// same support user: the same principal, so the first answer.
		e.clock.Advance(time.Hour)
		requireReplayOf(t, first, e.credit(t, sc, cust.ID, "replay-1", 30, "Outage on Monday"))
		staffAgain := e.signIn(t, staff.Email, testPassword)
		requireReplayOf(t, first, e.credit(t, e.withCookie(t, staffAgain), cust.ID, "replay-1", 30, "Outage on Monday"))
		tok := e.createToken(t, sc, "desk")
		requireReplayOf(t, first, e.credit(t, e.withBearer(t, tok.Token), cust.ID, "replay-1", 30, "Outage on Monday"))

		require.Equal(t, 1, e.postingsOf(t, cust.ID, client.PostingKindSupportCredit), "one effect")
		require.Equal(t, client.Wallet{Balance: 1030}, e.wallet(t, e.withCookie(t, cust.Session)))
		require.Equal(t, *first.JSON201, e.allPostings(t, e.withCookie(t, cust.Session), nil, nil)[0])

		// The same key for anything else: 422, nothing changed.
		ledgerBefore := e.ledgerState(t)
		for _, tc := range []struct{ user, body string }{
			{cust.ID, `{"amount":31,"memo":"Outage on Monday"}`},
			{cust.ID, `{"amount":30,"memo":"Outage on Tuesday"}`},
			{other.ID, `{"amount":30,"memo":"Outage on Monday"}`},                // other path
			{cust.ID, `{"memo":"Outage on Monday","amount":30}`},                 // other bytes, same meaning
			{cust.ID, `{"amount":30,"memo":"Outage on Monday"}` + "\n"},          // even a newline
			{"01900000-0000-7000-8000-000000000000", `{"amount":30,"memo":"x"}`}, // a user that does not exist
		} {
			r := e.creditBody(t, sc, tc.user, "replay-1", tc.body)
			p := requireProblem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity, "idempotency-key-reused")
			require.Contains(t, *p.Detail, "Idempotency-Key")
			require.Empty(t, r.HTTPResponse.Header.Get("Idempotent-Replayed"))
		}
		e.requireLedgerUnchanged(t, ledgerBefore)
		require.Equal(t, 1, e.keyRows(t, "replay-1"))

		// The client's own encoding of the same request is the same bytes.
		requireReplayOf(t, first, e.creditBody(t, sc, cust.ID, "replay-1", `{"amount":30,"memo":"Outage on Monday"}`))
		e.requireLedgerOK(t)
	})
}

func TestIdempotencyKeyScopedPerPrincipal(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		s1 := e.supportAccount(t, "ann@heepr.dev")
		s2 := e.supportAccount(t, "ben@heepr.dev")

		r1 := e.credit(t, e.withCookie(t, s1.Session), cust.ID, "shared-key", 10, "Goodwill")
		r2 := e.credit(t, e.withCookie(t, s2.Session), cust.ID, "shared-key", 10, "Goodwill")
		requireFresh(t, r1, http.StatusCreated)
		requireFresh(t, r2, http.StatusCreated)
		require.NotEqual(t, r1.JSON201.Id, r2.JSON201.Id)
		require.EqualValues(t, 1010, r1.JSON201.BalanceAfter)
		require.EqualValues(t, 1020, r2.JSON201.BalanceAfter)
		require.Equal(t, 2, e.postingsOf(t, cust.ID, client.PostingKindSupportCredit))
		require.Equal(t, client.Wallet{Balance: 1020}, e.wallet(t, e.withCookie(t, cust.Session)))

		// Each replays its own answer; another body is refused for each.
		requireReplayOf(t, r1, e.credit(t, e.withCookie(t, s1.Session), cust.ID, "shared-key", 10, "Goodwill"))
		requireReplayOf(t, r2, e.credit(t, e.withCookie(t, s2.Session), cust.ID, "shared-key", 10, "Goodwill"))
		r := e.credit(t, e.withCookie(t, s2.Session), cust.ID, "shared-key", 11, "Goodwill")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity, "idempotency-key-reused")
		require.Equal(t, 2, e.keyRows(t, "shared-key"))
		require.Equal(t, 2, e.postingsOf(t, cust.ID, client.PostingKindSupportCredit))
		e.requireLedgerOK(t)
	})
}

func TestIdempotencyReplaysRefusals(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		staff := e.supportAccount(t, "staff@heepr.dev")
		sc := e.withCookie(t, staff.Session)
		ledgerBefore := e.ledgerState(t)

		// A refusal by the operation itself (unknown user) is the answer
		// for that key and request: a retry gets it again, byte for byte
		// (so the problem's request_id is the first request's).
		nobody := "01900000-0000-7000-8000-000000000000"
		first := e.credit(t, sc, nobody, "to-nobody", 10, "x")
		requireFresh(t, first, http.StatusNotFound)
		requireProblem(t, first.HTTPResponse, first.Body, http.StatusNotFound, "not-found")
		again := e.credit(t, sc, nobody, "to-nobody", 10, "x")
		requireReplayOf(t, first, again)
		require.NotEqual(t, again.HTTPResponse.Header.Get("X-Request-Id"), first.HTTPResponse.Header.Get("X-Request-Id"))
		require.Equal(t, "application/problem+json", again.HTTPResponse.Header.Get("Content-Type"))

		// The same key for a request that would succeed is another request: 422.
		r := e.credit(t, sc, cust.ID, "to-nobody", 10, "x")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity, "idempotency-key-reused")
		e.requireLedgerUnchanged(t, ledgerBefore)

		// Refusals before the operation runs (validation, authorization)
		// store nothing: the key stays free for the corrected request.
		r = e.creditBody(t, sc, cust.ID, "fix-me", `{"amount":0,"memo":"x"}`)
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusBadRequest, "validation")
		r = e.credit(t, e.withCookie(t, cust.Session), cust.ID, "fix-me", 10, "x")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusForbidden, "forbidden")
		require.Zero(t, e.keyRows(t, "fix-me"))
		requireFresh(t, e.credit(t, sc, cust.ID, "fix-me", 10, "x"), http.StatusCreated)
		require.Equal(t, client.Wallet{Balance: 1010}, e.wallet(t, e.withCookie(t, cust.Session)))
		e.requireLedgerOK(t)
	})
}

func TestIdempotencySameKeyStorm(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		staff := e.supportAccount(t, "staff@heepr.dev")
		sc := e.withCookie(t, staff.Session)

		const n = 32
		type answer struct {
			status           int
			body, replayed   string
			retryAfter, kind string
			err              error
		}
		answers := make([]answer, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r, err := sc.CreditPointsWithResponse(context.Background(), cust.ID,
					&client.CreditPointsParams{IdempotencyKey: "storm"}, client.CreditRequest{Amount: 100, Memo: "storm"})
				if err != nil {
					answers[i].err = err
					return
				}
				answers[i] = answer{status: r.StatusCode(), body: string(r.Body),
					replayed: r.HTTPResponse.Header.Get("Idempotent-Replayed"), retryAfter: r.HTTPResponse.Header.Get("Retry-After")}
				if r.ApplicationproblemJSONDefault != nil {
					answers[i].kind = r.ApplicationproblemJSONDefault.Type
				}
			}()
		}
		close(start)
		wg.Wait()

		var created, fresh, busy int
		var body string
		for i, a := range answers {
			require.NoError(t, a.err, "request %d", i)
			switch a.status {
			case http.StatusCreated:
				created++
				if body == "" {
					body = a.body
				}
				require.Equal(t, body, a.body, "request %d: every 201 is the same answer", i)
				if a.replayed == "" {
					fresh++
				} else {
					require.Equal(t, "true", a.replayed)
				}
			case http.StatusConflict:
				busy++
				require.Equal(t, httpapi.ProblemBase+"idempotency-in-progress", a.kind, "request %d: %s", i, a.body)
				require.Equal(t, "1", a.retryAfter, "request %d", i)
			default:
				t.Fatalf("request %d: status %d: %s", i, a.status, a.body)
			}
		}
		t.Logf("%d created (%d ran, %d replayed), %d told to retry", created, fresh, created-fresh, busy)
		require.Equal(t, 1, fresh, "exactly one request ran")
		require.Equal(t, n, created+busy)
		require.Equal(t, 1, e.postingsOf(t, cust.ID, client.PostingKindSupportCredit), "one effect")
		require.Equal(t, client.Wallet{Balance: 1100}, e.wallet(t, e.withCookie(t, cust.Session)))

		// Those told to retry get the first answer when they do.
		r := e.credit(t, sc, cust.ID, "storm", 100, "storm")
		require.Equal(t, body, string(r.Body))
		require.Equal(t, "true", r.HTTPResponse.Header.Get("Idempotent-Replayed"))
		// And the same key with another body is refused.
		r = e.credit(t, sc, cust.ID, "storm", 200, "storm")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity, "idempotency-key-reused")
		require.Equal(t, 1, e.postingsOf(t, cust.ID, client.PostingKindSupportCredit))
		e.requireLedgerOK(t)
	})
}

// requestHash is the middleware's hash of a request (method, path and query, body).
func requestHash(method, uri, body string) string {
	sum := sha256.Sum256([]byte(method + " " + uri + "\n" + body))
	return hex.EncodeToString(sum[:])
}

func TestIdempotencyStaleClaimTakenOver(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		staff := e.supportAccount(t, "staff@heepr.dev")
		sc := e.withCookie(t, staff.Session)

		// A request claimed the key, then its process died before it
		// committed: the claim is left running with a one-minute lock.
		body := `{"amount":7,"memo":"after a crash"}`
		idem := store.NewIdempotency(e.app.db)
		k := httpapi.IdempotencyKey{Principal: "user:" + staff.ID, Operation: "creditPoints", Key: "crashed"}
		now := e.clock.Now()
		rec, err := idem.Claim(ctx, k, requestHash(http.MethodPost, "/v1/users/"+cust.ID+"/credits", body), now, now.Add(time.Minute), now.Add(24*time.Hour))
		require.NoError(t, err)
		require.Nil(t, rec, "the key was free")

		// While the lock holds: 409 with Retry-After; another body: 422.
		e.clock.Advance(59 * time.Second)
		r := e.creditBody(t, sc, cust.ID, "crashed", body)
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusConflict, "idempotency-in-progress")
		require.Equal(t, "1", r.HTTPResponse.Header.Get("Retry-After"))
		r = e.creditBody(t, sc, cust.ID, "crashed", `{"amount":8,"memo":"after a crash"}`)
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity, "idempotency-key-reused")
		require.Zero(t, e.postingsOf(t, cust.ID, client.PostingKindSupportCredit))

		// Past the lock, the same request takes the claim over and runs;
		// another body still may not.
		e.clock.Advance(2 * time.Second)
		r = e.creditBody(t, sc, cust.ID, "crashed", `{"amount":8,"memo":"after a crash"}`)
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity, "idempotency-key-reused")
		first := e.creditBody(t, sc, cust.ID, "crashed", body)
		requireFresh(t, first, http.StatusCreated)
		require.EqualValues(t, 1007, first.JSON201.BalanceAfter)
		requireReplayOf(t, first, e.creditBody(t, sc, cust.ID, "crashed", body))
		require.Equal(t, 1, e.postingsOf(t, cust.ID, client.PostingKindSupportCredit))

		// Had the first holder been slow rather than dead, its late answer
		// must not replace the one that was stored.
		require.ErrorIs(t, idem.Complete(ctx, k, http.StatusConflict, http.Header{"Content-Type": {"application/problem+json"}}, []byte(`{"late":true}`)), httpapi.ErrClaimLost)
		requireReplayOf(t, first, e.creditBody(t, sc, cust.ID, "crashed", body))
		e.requireLedgerOK(t)
	})
}

// runJob inserts a job and waits until a worker has completed it.
func (e *env) runJob(t *testing.T, args river.JobArgs) {
	t.Helper()
	res, err := e.app.queue.Client().Insert(context.Background(), args, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		j, err := e.app.queue.Client().JobGet(context.Background(), res.Job.ID)
		require.NoError(t, err)
		require.NotContains(t, []rivertype.JobState{rivertype.JobStateDiscarded, rivertype.JobStateCancelled, rivertype.JobStateRetryable}, j.State,
			"job %s: %v", args.Kind(), j.Errors)
		return j.State == rivertype.JobStateCompleted
	}, 15*time.Second, 10*time.Millisecond)
}

func TestIdempotencyKeysExpire(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		staff := e.supportAccount(t, "staff@heepr.dev")
		sc := e.withCookie(t, staff.Session)

		first := e.credit(t, sc, cust.ID, "day-old", 9, "Goodwill")
		requireFresh(t, first, http.StatusCreated)

		// The periodic purge (its worker, on the app's clock) keeps keys 24 h...
		e.clock.Advance(23*time.Hour + 59*time.Minute)
		e.runJob(t, queue.PurgeIdempotencyArgs{})
		require.Equal(t, 1, e.keyRows(t, "day-old"))
		requireReplayOf(t, first, e.credit(t, sc, cust.ID, "day-old", 9, "Goodwill"))

		// ...and deletes them after.
		e.clock.Advance(time.Hour)
		e.runJob(t, queue.PurgeIdempotencyArgs{})
		require.Zero(t, e.keyRows(t, "day-old"))

		// The key is free again, so another body is no longer "reused"; but
		// the credit's own exactly-once key (support user + key) still
		// refuses a second credit: 409 already-applied, nothing moved.
		ledgerBefore := e.ledgerState(t)
		r := e.credit(t, sc, cust.ID, "day-old", 500, "Another credit")
		p := requireProblem(t, r.HTTPResponse, r.Body, http.StatusConflict, "already-applied")
		require.Contains(t, *p.Detail, "Idempotency-Key", "the detail says what to do")
		require.Empty(t, r.HTTPResponse.Header.Get("Idempotent-Replayed"))
		requireReplayOf(t, r, e.credit(t, sc, cust.ID, "day-old", 500, "Another credit"))
		r = e.credit(t, sc, cust.ID, "day-old", 9, "Goodwill")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity, "idempotency-key-reused")
		e.requireLedgerUnchanged(t, ledgerBefore)
		require.Equal(t, 1, e.postingsOf(t, cust.ID, client.PostingKindSupportCredit))

		// An expired key is also forgotten when it is used again before
		// the purge ran: the retry of the original request meets the
		// exactly-once key, never a second credit.
		first = e.credit(t, sc, cust.ID, "lazy", 3, "Goodwill")
		requireFresh(t, first, http.StatusCreated)
		e.clock.Advance(25 * time.Hour)
		r = e.credit(t, sc, cust.ID, "lazy", 3, "Goodwill")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusConflict, "already-applied")
		require.Equal(t, 2, e.postingsOf(t, cust.ID, client.PostingKindSupportCredit))
		require.Equal(t, client.Wallet{Balance: 1012}, e.wallet(t, e.withCookie(t, cust.Session)))
		e.requireLedgerOK(t)
	})
}

func TestIdempotencyReleasesKeyOn500(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		cust := e.signUp(t, "cora@example.com", client.SignUpRequestRoleCustomer)
		staff := e.supportAccount(t, "staff@heepr.dev")
		sc := e.withCookie(t, staff.Session)

		// The database refuses postings with this memo (a trigger in the
		// test's own database): the handler fails on our side.
		var create, drop []string
		if e.app.db.Dialect == store.Postgres {
			create = []string{
				`CREATE FUNCTION test_refuse_posting() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF NEW.memo = 'explode' THEN RAISE EXCEPTION 'the disk is on fire'; END IF; RETURN NEW; END; $$`,
				`CREATE TRIGGER test_refuse_posting BEFORE INSERT ON ledger_postings FOR EACH ROW EXECUTE FUNCTION test_refuse_posting()`,
			}
			drop = []string{`DROP TRIGGER test_refuse_posting ON ledger_postings`}
		} else {
			create = []string{`CREATE TRIGGER test_refuse_posting BEFORE INSERT ON ledger_postings
				WHEN NEW.memo = 'explode' BEGIN SELECT RAISE(ABORT, 'the disk is on fire'); END`}
			drop = []string{`DROP TRIGGER test_refuse_posting`}
		}
		for _, q := range create {
			_, err := e.app.db.Bun.ExecContext(ctx, q)
			require.NoError(t, err)
		}
		ledgerBefore := e.ledgerState(t)

		r := e.credit(t, sc, cust.ID, "flaky", 12, "explode")
		p := requireProblem(t, r.HTTPResponse, r.Body, http.StatusInternalServerError, "internal")
		require.NotContains(t, *p.Detail, "fire", "no database error in the answer")
		require.Zero(t, e.keyRows(t, "flaky"), "a 500 releases the key")
		require.Contains(t, e.logs.String(), "the disk is on fire", "the cause is logged")
		// A retry runs again (it is not a replay of the 500)...
		r = e.credit(t, sc, cust.ID, "flaky", 12, "explode")
		requireProblem(t, r.HTTPResponse, r.Body, http.StatusInternalServerError, "internal")
		require.Empty(t, r.HTTPResponse.Header.Get("Idempotent-Replayed"))
		e.requireLedgerUnchanged(t, ledgerBefore)

		// ...and once the fault is gone, the same key and body succeed.
		for _, q := range drop {
			_, err := e.app.db.Bun.ExecContext(ctx, q)
			require.NoError(t, err)
		}
		first := e.credit(t, sc, cust.ID, "flaky", 12, "explode")
		requireFresh(t, first, http.StatusCreated)
		requireReplayOf(t, first, e.credit(t, sc, cust.ID, "flaky", 12, "explode"))
		require.Equal(t, 1, e.postingsOf(t, cust.ID, client.PostingKindSupportCredit))
		require.Equal(t, client.Wallet{Balance: 1012}, e.wallet(t, e.withCookie(t, cust.Session)))
		e.requireLedgerOK(t)
	})
}
