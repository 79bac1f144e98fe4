package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	httpapi "github.com/heepr/heepr/adapters/http"
	"github.com/heepr/heepr/api/client"
)

// Every error of issue 2, each through HTTP: the status, the problem+json
// body (it parses into api/client's Problem), its type, and that the
// refused request changed nothing.

func signUpBody(email string) string {
	return `{"email":"` + email + `","password":"` + testPassword + `","display_name":"Ada","role":"customer"}`
}

func TestMalformedJSON(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		before := e.snapshot(t)
		for _, body := range []string{
			`{"email":"ada@example.com","password":`,
			`{"email":"ada@example.com" "password":"x"}`,
			`not json at all`,
			signUpBody("ada@example.com") + `}`,
		} {
			resp, err := e.anon(t).SignUpWithBodyWithResponse(context.Background(), "application/json", strings.NewReader(body))
			require.NoError(t, err)
			p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "malformed-json")
			require.NotContains(t, *p.Detail, "openapi3", "library internals in the detail")
		}
		e.requireUnchanged(t, before)
	})
}

func TestUnknownField(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		before := e.snapshot(t)
		body := `{"email":"ada@example.com","password":"` + testPassword + `","display_name":"Ada","role":"customer","is_admin":true}`
		resp, err := e.anon(t).SignUpWithBodyWithResponse(context.Background(), "application/json", strings.NewReader(body))
		require.NoError(t, err)
		p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"is_admin"}, fieldNames(p))
		e.requireUnchanged(t, before)

		// Same on a signed-in operation.
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		before = e.snapshot(t)
		tr, err := e.withCookie(t, acc.Session).CreatePersonalTokenWithBodyWithResponse(context.Background(), "application/json",
			strings.NewReader(`{"name":"ci","scopes":["all"]}`))
		require.NoError(t, err)
		p = requireProblem(t, tr.HTTPResponse, tr.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"scopes"}, fieldNames(p))
		e.requireUnchanged(t, before)
	})
}

func TestWrongTypes(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		before := e.snapshot(t)
		body := `{"email":42,"password":"` + testPassword + `","display_name":["Ada"],"role":"customer"}`
		resp, err := e.anon(t).SignUpWithBodyWithResponse(context.Background(), "application/json", strings.NewReader(body))
		require.NoError(t, err)
		p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		require.ElementsMatch(t, []string{"email", "display_name"}, fieldNames(p))

		// A value outside the enum, and a query parameter of the wrong type.
		body = `{"email":"ada@example.com","password":"` + testPassword + `","display_name":"Ada","role":"support"}`
		resp, err = e.anon(t).SignUpWithBodyWithResponse(context.Background(), "application/json", strings.NewReader(body))
		require.NoError(t, err)
		p = requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"role"}, fieldNames(p))
		e.requireUnchanged(t, before)

		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		r, b := e.do(t, http.MethodGet, "/v1/me/tokens?limit=lots", nil, http.Header{"Cookie": {httpapi.SessionCookie + "=" + acc.Session}})
		p = requireProblem(t, r, b, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"limit"}, fieldNames(p))
		r, b = e.do(t, http.MethodGet, "/v1/me/tokens?limit=1000", nil, http.Header{"Cookie": {httpapi.SessionCookie + "=" + acc.Session}})
		p = requireProblem(t, r, b, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"limit"}, fieldNames(p))
		// A cursor that heepr never issued.
		lr, err := e.withCookie(t, acc.Session).ListPersonalTokensWithResponse(context.Background(), &client.ListPersonalTokensParams{Cursor: ptrTo("garbage!")})
		require.NoError(t, err)
		requireProblem(t, lr.HTTPResponse, lr.Body, http.StatusBadRequest, "validation")
	})
}

func TestMissingFields(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		before := e.snapshot(t)
		resp, err := e.anon(t).SignUpWithBodyWithResponse(context.Background(), "application/json", strings.NewReader(`{}`))
		require.NoError(t, err)
		p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		require.ElementsMatch(t, []string{"email", "password", "display_name", "role"}, fieldNames(p))
		for _, f := range *p.Errors {
			require.NotEmpty(t, f.Detail)
		}

		resp, err = e.anon(t).SignUpWithBodyWithResponse(context.Background(), "application/json",
			strings.NewReader(`{"email":"ada@example.com","display_name":"Ada","role":"owner"}`))
		require.NoError(t, err)
		p = requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"password"}, fieldNames(p))

		// No body at all.
		r, b := e.do(t, http.MethodPost, "/v1/auth/sign-in", nil, jsonHeader())
		p = requireProblem(t, r, b, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"body"}, fieldNames(p))

		// The domain's own rules answer the same way: a short password, an
		// address that is not one, a blank name.
		resp, err = e.anon(t).SignUpWithResponse(context.Background(), client.SignUpRequest{
			Email: "not-an-email", Password: "          x", DisplayName: "   ", Role: client.SignUpRequestRoleCustomer,
		})
		require.NoError(t, err)
		p = requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		require.Contains(t, fieldNames(p), "email")
		require.Contains(t, fieldNames(p), "display_name")
		resp, err = e.anon(t).SignUpWithResponse(context.Background(), client.SignUpRequest{
			Email: "ada@example.com", Password: "short", DisplayName: "Ada", Role: client.SignUpRequestRoleCustomer,
		})
		require.NoError(t, err)
		p = requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"password"}, fieldNames(p))
		e.requireUnchanged(t, before)
	})
}

func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		before := e.snapshot(t)
		for _, path := range []string{"/v1/nothing-here", "/v1/me/tokens/abc/extra", "/nothing-here", "/v2/me", "/v1/auth/sign-up/"} {
			for _, m := range []string{http.MethodGet, http.MethodPost} {
				var body io.Reader
				if m == http.MethodPost {
					body = strings.NewReader(`{}`)
				}
				r, b := e.do(t, m, path, body, jsonHeader())
				requireProblem(t, r, b, http.StatusNotFound, "not-found")
			}
		}
		e.requireUnchanged(t, before)
	})
}

func TestWrongMethod(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		before := e.snapshot(t)
		for _, tc := range []struct{ method, path, allow string }{
			{http.MethodGet, "/v1/auth/sign-up", "POST"},
			{http.MethodPut, "/v1/auth/sign-in", "POST"},
			{http.MethodDelete, "/v1/me", "GET"},
			{http.MethodPatch, "/v1/me/tokens", "GET, POST"},
			{http.MethodGet, "/v1/me/tokens/abc", "DELETE"},
		} {
			var body io.Reader
			if tc.method != http.MethodGet {
				body = strings.NewReader(signUpBody("ada@example.com"))
			}
			r, b := e.do(t, tc.method, tc.path, body, jsonHeader())
			requireProblem(t, r, b, http.StatusMethodNotAllowed, "method-not-allowed")
			require.Equal(t, tc.allow, r.Header.Get("Allow"), "%s %s", tc.method, tc.path)
		}
		// The pages outside the API too.
		for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.yaml"} {
			r, b := e.do(t, http.MethodPost, path, strings.NewReader(`{}`), jsonHeader())
			requireProblem(t, r, b, http.StatusMethodNotAllowed, "method-not-allowed")
			require.Equal(t, "GET, HEAD", r.Header.Get("Allow"), path)
		}
		e.requireUnchanged(t, before)
	})
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 1024
	eachDB(t, func(t *testing.T, e *env) {
		before := e.snapshot(t)
		// A valid sign-up, padded past the limit with whitespace: only its size is wrong.
		big := []byte(signUpBody("big@example.com") + strings.Repeat(" ", 4*limit))

		// Content-Length says so at once.
		req, err := http.NewRequest(http.MethodPost, e.url+"/v1/auth/sign-up", bytes.NewReader(big))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		require.Equal(t, int64(len(big)), req.ContentLength)
		requireTooLarge(t, e, req, limit)

		// Chunked: no length up front; the body grows past the limit while read.
		req, err = http.NewRequest(http.MethodPost, e.url+"/v1/auth/sign-up", io.MultiReader(bytes.NewReader(big)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1 // unknown: the transport sends it chunked
		requireTooLarge(t, e, req, limit)
		e.requireUnchanged(t, before)

		// Under the limit the same sign-up works.
		e.signUp(t, "big@example.com", client.SignUpRequestRoleCustomer)
	}, withMaxBody(limit))
}

func requireTooLarge(t *testing.T, e *env, req *http.Request, limit int) {
	t.Helper()
	resp, err := e.httpClient(t).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	p := requireProblem(t, resp, b, http.StatusRequestEntityTooLarge, "body-too-large")
	require.Contains(t, *p.Detail, strconv.Itoa(limit))
}

func TestWrongMediaType(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		before := e.snapshot(t)
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/xml"} {
			resp, err := e.anon(t).SignUpWithBodyWithResponse(context.Background(), ct, strings.NewReader(signUpBody("ada@example.com")))
			require.NoError(t, err)
			p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusUnsupportedMediaType, "unsupported-media")
			require.Contains(t, *p.Detail, "application/json")
		}
		// No Content-Type at all.
		r, b := e.do(t, http.MethodPost, "/v1/auth/sign-up", strings.NewReader(signUpBody("ada@example.com")), nil)
		requireProblem(t, r, b, http.StatusUnsupportedMediaType, "unsupported-media")
		e.requireUnchanged(t, before)
	})
}

func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		c := e.anon(t)
		ctx := context.Background()
		before := e.snapshot(t)
		check := func(resp *http.Response, body []byte, err error) {
			t.Helper()
			require.NoError(t, err)
			requireProblem(t, resp, body, http.StatusUnauthorized, "unauthenticated")
		}
		me, err := c.GetMeWithResponse(ctx)
		check(me.HTTPResponse, me.Body, err)
		so, err := c.SignOutWithResponse(ctx)
		check(so.HTTPResponse, so.Body, err)
		eo, err := c.EnableOwnerRoleWithResponse(ctx)
		check(eo.HTTPResponse, eo.Body, err)
		ct, err := c.CreatePersonalTokenWithResponse(ctx, client.CreatePersonalTokenRequest{Name: "x"})
		check(ct.HTTPResponse, ct.Body, err)
		lt, err := c.ListPersonalTokensWithResponse(ctx, nil)
		check(lt.HTTPResponse, lt.Body, err)
		rt, err := c.RevokePersonalTokenWithResponse(ctx, "0199d1c4-0000-7000-8000-000000000000")
		check(rt.HTTPResponse, rt.Body, err)
		// A session id heepr never issued, and an unknown one of the right shape.
		e.requireUnauthorized(t, e.withCookie(t, "forged"), "session-expired")
		e.requireUnauthorized(t, e.withCookie(t, strings.Repeat("A", 43)), "session-expired")
		e.requireUnchanged(t, before)
	})
}

func TestForbidden(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		cookie := http.Header{"Cookie": {httpapi.SessionCookie + "=" + acc.Session}, "Content-Type": {"application/json"}}
		before := e.snapshot(t)

		// Cross-origin cookie writes are refused (CSRF), whatever the operation.
		for _, h := range []http.Header{
			{"Sec-Fetch-Site": {"cross-site"}},
			{"Sec-Fetch-Site": {"same-site"}},
			{"Origin": {"https://evil.example"}},
		} {
			for _, req := range []struct{ method, path, body string }{
				{http.MethodPost, "/v1/me/tokens", `{"name":"stolen"}`},
				{http.MethodPost, "/v1/me/owner-role", ``},
				{http.MethodPost, "/v1/auth/sign-out", ``},
				{http.MethodPost, "/v1/auth/sign-up", signUpBody("victim@example.com")},
				{http.MethodPost, "/v1/auth/sign-in", `{"email":"ada@example.com","password":"` + testPassword + `"}`},
			} {
				hdr := cookie.Clone()
				for k, v := range h {
					hdr[k] = v
				}
				r, b := e.do(t, req.method, req.path, strings.NewReader(req.body), hdr)
				requireProblem(t, r, b, http.StatusForbidden, "csrf")
			}
		}
		e.requireUnchanged(t, before)
		status, me, _ := e.me(t, e.withCookie(t, acc.Session))
		require.Equal(t, http.StatusOK, status, "the refused sign-out must not end the session")
		require.Equal(t, []client.Role{client.RoleCustomer}, me.Roles)

		// Reads are not writes, and a same-origin write passes.
		r, b := e.do(t, http.MethodGet, "/v1/me", nil, http.Header{"Cookie": cookie["Cookie"], "Sec-Fetch-Site": {"cross-site"}})
		require.Equal(t, http.StatusOK, r.StatusCode, "%s", b)
		hdr := cookie.Clone()
		hdr.Set("Sec-Fetch-Site", "same-origin")
		r, b = e.do(t, http.MethodPost, "/v1/me/tokens", strings.NewReader(`{"name":"mine"}`), hdr)
		require.Equal(t, http.StatusCreated, r.StatusCode, "%s", b)
		hdr = cookie.Clone()
		hdr.Set("Origin", e.url)
		r, b = e.do(t, http.MethodPost, "/v1/me/tokens", strings.NewReader(`{"name":"mine too"}`), hdr)
		require.Equal(t, http.StatusCreated, r.StatusCode, "%s", b)

		// A bearer token is no ambient credential: a script may send an Origin.
		tok := e.createToken(t, e.withCookie(t, acc.Session), "ci")
		r, b = e.do(t, http.MethodPost, "/v1/me/tokens", strings.NewReader(`{"name":"from a partner page"}`), http.Header{
			"Authorization": {"Bearer " + tok.Token}, "Content-Type": {"application/json"},
			"Origin": {"https://partner.example"}, "Sec-Fetch-Site": {"cross-site"},
		})
		require.Equal(t, http.StatusCreated, r.StatusCode, "%s", b)
		// ...and it is the only credential then: a cookie beside a bad token does not count.
		r, b = e.do(t, http.MethodPost, "/v1/me/tokens", strings.NewReader(`{"name":"stolen"}`), http.Header{
			"Authorization": {"Bearer hpr_pat_forged"}, "Cookie": cookie["Cookie"], "Content-Type": {"application/json"},
			"Sec-Fetch-Site": {"cross-site"},
		})
		requireProblem(t, r, b, http.StatusUnauthorized, "invalid-token")

		// A support account may not turn on the owner role.
		support := e.createSupport(t, "staff@heepr.dev")
		session := e.signIn(t, support, testPassword)
		before = e.snapshot(t)
		resp, err := e.withCookie(t, session).EnableOwnerRoleWithResponse(context.Background())
		require.NoError(t, err)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusForbidden, "forbidden")
		e.requireUnchanged(t, before)
		status, me, _ = e.me(t, e.withCookie(t, session))
		require.Equal(t, http.StatusOK, status, "a refused role change must not end the session")
		require.Equal(t, []client.Role{client.RoleSupport}, me.Roles)
	})
}

func TestConflict(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		e.signUp(t, "ada@example.com", client.SignUpRequestRoleOwner)
		before := e.snapshot(t)
		resp, err := e.anon(t).SignUpWithResponse(context.Background(), client.SignUpRequest{
			Email: "ADA@example.com", Password: testPassword, DisplayName: "Ada again", Role: client.SignUpRequestRoleCustomer,
		})
		require.NoError(t, err)
		p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "email-taken")
		require.Equal(t, "Email already registered", p.Title)
		e.requireUnchanged(t, before)
	})
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	limits := map[string]httpapi.Limit{
		"signUp": {PerMinute: 1, Burst: 2},
		"signIn": {PerMinute: 2, Burst: 1},
	}
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ada := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		e.signUp(t, "bob@example.com", client.SignUpRequestRoleCustomer)
		before := e.snapshot(t)

		resp, err := e.anon(t).SignUpWithResponse(ctx, client.SignUpRequest{
			Email: "eve@example.com", Password: testPassword, DisplayName: "Eve", Role: client.SignUpRequestRoleCustomer,
		})
		require.NoError(t, err)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusTooManyRequests, "rate-limited")
		h := resp.HTTPResponse.Header
		require.Equal(t, "60", h.Get("Retry-After"))
		require.Equal(t, "limit=2, remaining=0, reset=60", h.Get("RateLimit"))
		require.Equal(t, "2;w=120", h.Get("RateLimit-Policy"))
		e.requireUnchanged(t, before)

		// Sign-in has its own bucket: one now, then 30 s for the next.
		e.signIn(t, ada.Email, ada.Password)
		si, err := e.anon(t).SignInWithResponse(ctx, client.SignInRequest{Email: ada.Email, Password: ada.Password})
		require.NoError(t, err)
		requireProblem(t, si.HTTPResponse, si.Body, http.StatusTooManyRequests, "rate-limited")
		require.Equal(t, "30", si.HTTPResponse.Header.Get("Retry-After"))
		require.Empty(t, si.HTTPResponse.Header.Values("Set-Cookie"))

		// Waiting as told lets the caller in again.
		e.clock.Advance(30 * time.Second)
		e.signIn(t, ada.Email, ada.Password)
		e.clock.Advance(30 * time.Second)
		e.signUp(t, "eve@example.com", client.SignUpRequestRoleCustomer)
	}, withRateLimits(limits))
}

func TestSignInLimitedPerEmail(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ada := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		e.signUp(t, "bob@example.com", client.SignUpRequestRoleCustomer)
		// Ten guesses at one account, then it is locked for a while, even for
		// the right password and another spelling of the address.
		for range 10 {
			resp, err := e.anon(t).SignInWithResponse(ctx, client.SignInRequest{Email: ada.Email, Password: "guess guess guess"})
			require.NoError(t, err)
			requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "invalid-credentials")
		}
		resp, err := e.anon(t).SignInWithResponse(ctx, client.SignInRequest{Email: " ADA@example.com", Password: ada.Password})
		require.NoError(t, err)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusTooManyRequests, "rate-limited")
		require.NotEmpty(t, resp.HTTPResponse.Header.Get("Retry-After"))
		// Another account from the same address is not affected.
		e.signIn(t, "bob@example.com", testPassword)
		e.clock.Advance(time.Minute)
		e.signIn(t, ada.Email, ada.Password)
	})
}

func TestInternalErrorLeaksNothing(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		e.close(t) // the database goes away under the running server

		requireInternal := func(resp *http.Response, body []byte) {
			t.Helper()
			p := requireProblem(t, resp, body, http.StatusInternalServerError, "internal")
			require.Nil(t, p.Errors)
			lower := strings.ToLower(string(body))
			for _, leak := range []string{"sql", "database", "driver", "closed", "pgx", "postgres", "sqlite", "bun", "goroutine", ".go:"} {
				require.NotContains(t, lower, leak)
			}
			// The log has the real error under the same request id.
			var logged bool
			for line := range strings.Lines(e.logs.String()) {
				var rec map[string]any
				if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "request failed" && rec["request_id"] == *p.RequestId {
					logged = true
					require.Contains(t, rec["error"], "closed")
				}
			}
			require.True(t, logged, "the internal error must be logged with the request id")
		}
		resp, err := e.anon(t).SignInWithResponse(context.Background(), client.SignInRequest{Email: acc.Email, Password: acc.Password})
		require.NoError(t, err)
		requireInternal(resp.HTTPResponse, resp.Body)
		me, err := e.withCookie(t, acc.Session).GetMeWithResponse(context.Background())
		require.NoError(t, err)
		requireInternal(me.HTTPResponse, me.Body)

		// Health says the process is up; readiness says it cannot serve.
		r, b := e.do(t, http.MethodGet, "/healthz", nil, nil)
		require.Equal(t, http.StatusOK, r.StatusCode, "%s", b)
		r, b = e.do(t, http.MethodGet, "/readyz", nil, nil)
		require.Equal(t, http.StatusServiceUnavailable, r.StatusCode, "%s", b)
		require.NotContains(t, strings.ToLower(string(b)), "sql")
	})
}
