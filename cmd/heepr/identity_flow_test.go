package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/api/client"
)

func TestSignUpSetsSessionAndGetMe(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			role  client.SignUpRequestRole
			roles []client.Role
		}{
			{client.SignUpRequestRoleCustomer, []client.Role{client.RoleCustomer}},
			{client.SignUpRequestRoleOwner, []client.Role{client.RoleCustomer, client.RoleOwner}},
		} {
			email := string(tc.role) + "@example.com"
			acc := e.signUp(t, email, tc.role)
			require.NotEmpty(t, acc.ID)
			require.Equal(t, email, string(acc.User.Email))
			require.Equal(t, "User "+string(tc.role), acc.User.DisplayName)
			require.ElementsMatch(t, tc.roles, acc.User.Roles)
			require.Equal(t, e.clock.Now(), acc.User.CreatedAt.UTC())

			status, me, body := e.me(t, e.withCookie(t, acc.Session))
			require.Equal(t, http.StatusOK, status, "%s", body)
			require.Equal(t, acc.User, *me)
		}
		// Each sign-up has its own session.
		require.Equal(t, 2, e.count(t, "sessions"))
		// Without the cookie, nobody is signed in.
		e.requireUnauthorized(t, e.anon(t), "unauthenticated")
	})
}

func TestSignInRotatesSession(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		seen := map[string]bool{acc.Session: true}

		// Signing in with the sign-up session in the cookie ends that session.
		prev := acc.Session
		for range 3 {
			resp, err := e.withCookie(t, prev).SignInWithResponse(context.Background(),
				client.SignInRequest{Email: "ADA@Example.com ", Password: acc.Password})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)
			require.Equal(t, acc.ID, resp.JSON200.Id)
			next := sessionFrom(t, resp.HTTPResponse)
			require.False(t, seen[next], "sign-in reused a session id")
			seen[next] = true

			e.requireUnauthorized(t, e.withCookie(t, prev), "session-expired")
			status, me, _ := e.me(t, e.withCookie(t, next))
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, acc.ID, me.Id)
			prev = next
		}
		// A sign-in without a cookie leaves other sessions alone (another browser).
		other := e.signIn(t, acc.Email, acc.Password)
		for _, s := range []string{prev, other} {
			status, _, _ := e.me(t, e.withCookie(t, s))
			require.Equal(t, http.StatusOK, status)
		}
	})
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		other := e.signIn(t, acc.Email, acc.Password)

		resp, err := e.withCookie(t, acc.Session).SignOutWithResponse(context.Background())
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, resp.StatusCode(), "%s", resp.Body)
		c := setCookie(t, resp.HTTPResponse)
		require.Empty(t, c.Value, "sign-out must clear the cookie")
		require.Negative(t, c.MaxAge, "sign-out must expire the cookie (Max-Age=0)")
		require.True(t, c.HttpOnly)
		require.True(t, c.Secure)

		e.requireUnauthorized(t, e.withCookie(t, acc.Session), "session-expired")
		// Signing out again with the dead cookie is a 401, not a crash.
		resp, err = e.withCookie(t, acc.Session).SignOutWithResponse(context.Background())
		require.NoError(t, err)
		requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "session-expired")
		// Only that session ended.
		status, _, _ := e.me(t, e.withCookie(t, other))
		require.Equal(t, http.StatusOK, status)
	})
}

func TestEmailsUniqueIgnoringCase(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		e.signUp(t, "Ada.Lovelace@Example.com", client.SignUpRequestRoleCustomer)
		before := e.snapshot(t)
		for _, email := range []string{"Ada.Lovelace@Example.com", "ada.lovelace@example.com", "ADA.LOVELACE@EXAMPLE.COM", " ada.lovelace@example.com "} {
			for _, role := range []client.SignUpRequestRole{client.SignUpRequestRoleCustomer, client.SignUpRequestRoleOwner} {
				resp, err := e.anon(t).SignUpWithResponse(context.Background(), client.SignUpRequest{
					Email: email, Password: "another password", DisplayName: "Imposter", Role: role,
				})
				require.NoError(t, err)
				p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusConflict, "email-taken")
				require.Nil(t, p.Errors)
				require.Empty(t, resp.HTTPResponse.Header.Values("Set-Cookie"))
			}
		}
		e.requireUnchanged(t, before)
		// The original account still signs in with its own password only.
		e.signIn(t, "ada.lovelace@example.com", testPassword)
	})
}

func TestNoUserEnumeration(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		before := e.snapshot(t)

		attempt := func(email, password string) (*http.Response, map[string]any) {
			resp, err := e.anon(t).SignInWithResponse(context.Background(), client.SignInRequest{Email: email, Password: password})
			require.NoError(t, err)
			p := requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "invalid-credentials")
			require.Nil(t, p.Errors)
			require.Empty(t, resp.HTTPResponse.Header.Values("Set-Cookie"))
			var m map[string]any
			require.NoError(t, json.Unmarshal(resp.Body, &m))
			require.NotEqual(t, "", m["request_id"])
			delete(m, "request_id")
			return resp.HTTPResponse, m
		}
		wrongRespo, wrongPassword := attempt(acc.Email, "not the password")
		unknownResp, unknownEmail := attempt("nobody@example.com", "not the password")
		require.Equal(t, wrongPassword, unknownEmail, "a wrong password and an unknown email must answer alike")
		for _, h := range []string{"Content-Type", "Cache-Control", "WWW-Authenticate", "Content-Length"} {
			require.Equal(t, wrongRespo.Header.Values(h), unknownResp.Header.Values(h), h)
		}
		e.requireUnchanged(t, before)
	})
}

func TestEnableOwnerRole(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)

		resp, err := e.withCookie(t, acc.Session).EnableOwnerRoleWithResponse(context.Background())
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)
		require.ElementsMatch(t, []client.Role{client.RoleCustomer, client.RoleOwner}, resp.JSON200.Roles)
		rotated := sessionFrom(t, resp.HTTPResponse)
		require.NotEqual(t, acc.Session, rotated)

		// The privileges changed, so the old session ended and the new one works.
		e.requireUnauthorized(t, e.withCookie(t, acc.Session), "session-expired")
		status, me, _ := e.me(t, e.withCookie(t, rotated))
		require.Equal(t, http.StatusOK, status)
		require.ElementsMatch(t, []client.Role{client.RoleCustomer, client.RoleOwner}, me.Roles)

		// Idempotent: again, nothing changes and the session stays.
		resp, err = e.withCookie(t, rotated).EnableOwnerRoleWithResponse(context.Background())
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)
		require.ElementsMatch(t, []client.Role{client.RoleCustomer, client.RoleOwner}, resp.JSON200.Roles)
		require.Empty(t, resp.HTTPResponse.Header.Values("Set-Cookie"), "nothing changed, so no new session")
		status, _, _ = e.me(t, e.withCookie(t, rotated))
		require.Equal(t, http.StatusOK, status)

		// An owner signed up as one gets the same answer.
		owner := e.signUp(t, "grace@example.com", client.SignUpRequestRoleOwner)
		resp, err = e.withCookie(t, owner.Session).EnableOwnerRoleWithResponse(context.Background())
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)
		require.ElementsMatch(t, []client.Role{client.RoleCustomer, client.RoleOwner}, resp.JSON200.Roles)

		// With a personal token there is no cookie to rotate; the role still turns on.
		cust := e.signUp(t, "linus@example.com", client.SignUpRequestRoleCustomer)
		tok := e.createToken(t, e.withCookie(t, cust.Session), "script")
		resp, err = e.withBearer(t, tok.Token).EnableOwnerRoleWithResponse(context.Background())
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode(), "%s", resp.Body)
		require.ElementsMatch(t, []client.Role{client.RoleCustomer, client.RoleOwner}, resp.JSON200.Roles)
		require.Empty(t, resp.HTTPResponse.Header.Values("Set-Cookie"))
		status, me, _ = e.me(t, e.withBearer(t, tok.Token))
		require.Equal(t, http.StatusOK, status)
		require.ElementsMatch(t, []client.Role{client.RoleCustomer, client.RoleOwner}, me.Roles)
	})
}

func (e *env) createToken(t *testing.T, c *client.ClientWithResponses, name string) client.CreatedPersonalToken {
	t.Helper()
	resp, err := c.CreatePersonalTokenWithResponse(context.Background(), client.CreatePersonalTokenRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode(), "%s", resp.Body)
	return *resp.JSON201
}

func TestPersonalTokens(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		cookie := e.withCookie(t, acc.Session)

		created := e.createToken(t, cookie, "  deploy script  ")
		require.True(t, strings.HasPrefix(created.Token, "hpr_pat_"), created.Token)
		require.Equal(t, "deploy script", created.Name)
		require.True(t, strings.HasPrefix(created.Token, created.Prefix))
		require.Less(t, len(created.Prefix), len(created.Token)-20, "the prefix must not reveal the secret")
		require.Equal(t, e.clock.Now(), created.CreatedAt.UTC())
		require.Nil(t, created.LastUsedAt)

		// The secret is stored only as an HMAC.
		var stored []string
		require.NoError(t, e.app.db.Bun.NewSelect().Table("personal_tokens").Column("hash").Scan(context.Background(), &stored))
		require.Len(t, stored, 1)
		require.NotContains(t, stored[0], created.Token[len("hpr_pat_"):])

		// Bearer auth works, and records when the token was used.
		bearer := e.withBearer(t, created.Token)
		status, me, body := e.me(t, bearer)
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Equal(t, acc.ID, me.Id)

		// More tokens, a minute apart, to page through.
		for _, name := range []string{"second", "third"} {
			e.clock.Advance(time.Minute)
			e.createToken(t, bearer, name)
		}

		// The list never shows a secret, pages newest first with next_cursor.
		list, err := cookie.ListPersonalTokensWithResponse(context.Background(), &client.ListPersonalTokensParams{Limit: ptrTo(2)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, list.StatusCode(), "%s", list.Body)
		require.NotContains(t, string(list.Body), created.Token)
		require.NotContains(t, string(list.Body), `"token"`)
		require.Equal(t, []string{"third", "second"}, tokenNames(list.JSON200.Items))
		require.NotNil(t, list.JSON200.NextCursor)
		page2, err := cookie.ListPersonalTokensWithResponse(context.Background(), &client.ListPersonalTokensParams{Limit: ptrTo(2), Cursor: list.JSON200.NextCursor})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, page2.StatusCode(), "%s", page2.Body)
		require.Equal(t, []string{"deploy script"}, tokenNames(page2.JSON200.Items))
		require.Nil(t, page2.JSON200.NextCursor)
		first := page2.JSON200.Items[0]
		require.Equal(t, created.Id, first.Id)
		require.Equal(t, created.Prefix, first.Prefix)
		require.NotNil(t, first.LastUsedAt, "using a token records it")
		require.NotContains(t, string(page2.Body), created.Token)

		// The default page holds them all.
		all, err := bearer.ListPersonalTokensWithResponse(context.Background(), nil)
		require.NoError(t, err)
		require.Len(t, all.JSON200.Items, 3)
		require.Nil(t, all.JSON200.NextCursor)

		// Revoking makes the token fail at once.
		rev, err := cookie.RevokePersonalTokenWithResponse(context.Background(), created.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, rev.StatusCode(), "%s", rev.Body)
		e.requireUnauthorized(t, bearer, "invalid-token")
		all, err = cookie.ListPersonalTokensWithResponse(context.Background(), nil)
		require.NoError(t, err)
		require.Equal(t, []string{"third", "second"}, tokenNames(all.JSON200.Items))
		// Revoking again: it is gone.
		rev, err = cookie.RevokePersonalTokenWithResponse(context.Background(), created.Id)
		require.NoError(t, err)
		requireProblem(t, rev.HTTPResponse, rev.Body, http.StatusNotFound, "not-found")

		// Secrets never reach the log.
		logs := e.logs.String()
		require.NotEmpty(t, logs)
		require.NotContains(t, logs, created.Token)
		require.NotContains(t, logs, acc.Session)
	})
}

func TestRevokeForeignTokenLooksMissing(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ada := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		eve := e.signUp(t, "eve@example.com", client.SignUpRequestRoleCustomer)
		adaTok := e.createToken(t, e.withCookie(t, ada.Session), "ada's")
		eveClient := e.withCookie(t, eve.Session)
		before := e.snapshot(t)

		answer := func(id string) map[string]any {
			resp, err := eveClient.RevokePersonalTokenWithResponse(context.Background(), id)
			require.NoError(t, err)
			requireProblem(t, resp.HTTPResponse, resp.Body, http.StatusNotFound, "not-found")
			var m map[string]any
			require.NoError(t, json.Unmarshal(resp.Body, &m))
			delete(m, "request_id")
			delete(m, "instance") // the path, which holds the id
			return m
		}
		foreign := answer(adaTok.Id)
		missing := answer("0199d1c4-0000-7000-8000-000000000000")
		require.Equal(t, missing, foreign, "someone else's token must look exactly like a missing one")

		e.requireUnchanged(t, before)
		status, _, _ := e.me(t, e.withBearer(t, adaTok.Token))
		require.Equal(t, http.StatusOK, status, "ada's token must still work")
	})
}

func TestTokenChecksum(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		tok := e.createToken(t, e.withCookie(t, acc.Session), "script")

		// Flip the last checksum character.
		last := tok.Token[len(tok.Token)-1]
		flipped := byte('A')
		if last == 'A' {
			flipped = 'B'
		}
		bad := tok.Token[:len(tok.Token)-1] + string(flipped)
		for _, token := range []string{bad, "hpr_pat_short", "something-else", tok.Token + "x"} {
			e.requireUnauthorized(t, e.withBearer(t, token), "invalid-token")
		}
		// Not "Bearer": refused too.
		resp, body := e.do(t, http.MethodGet, "/v1/me", nil, http.Header{"Authorization": {"Basic " + tok.Token}})
		requireProblem(t, resp, body, http.StatusUnauthorized, "invalid-token")

		// A bad checksum never reaches the database: its trace has no query,
		// while the same request with the real token has one.
		queries := func(token string) int {
			traceID, tp := traceparent()
			resp, body := e.do(t, http.MethodGet, "/v1/me", nil, http.Header{"Authorization": {"Bearer " + token}, "Traceparent": {tp}})
			require.NotZero(t, resp.StatusCode, "%s", body)
			var server, db int
			require.Eventually(t, func() bool {
				server, db = 0, 0
				for _, s := range spansOfTrace(traceID) {
					if attrValue(s, "db.system") != "" || attrValue(s, "db.statement") != "" {
						db++
					} else if s.SpanKind.String() == "server" {
						server++
					}
				}
				return server == 1
			}, 5*time.Second, 10*time.Millisecond)
			return db
		}
		require.Positive(t, queries(tok.Token))
		require.Zero(t, queries(bad))
	})
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		idle, absolute := e.cfg.SessionIdle, e.cfg.SessionAbsolute
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)

		// Idle: unused for the idle time, the session ends.
		e.clock.Advance(idle - time.Second)
		status, _, _ := e.me(t, e.withCookie(t, acc.Session))
		require.Equal(t, http.StatusOK, status, "still inside the idle window")
		e.clock.Advance(idle - time.Second)
		status, _, _ = e.me(t, e.withCookie(t, acc.Session))
		require.Equal(t, http.StatusOK, status, "using it restarted the idle window")
		e.clock.Advance(idle)
		e.requireUnauthorized(t, e.withCookie(t, acc.Session), "session-expired")
		e.requireUnauthorized(t, e.withCookie(t, acc.Session), "session-expired")

		// Absolute: used all the time, it still ends after the absolute time.
		session := e.signIn(t, acc.Email, acc.Password)
		start := e.clock.Now()
		step := idle / 2
		for e.clock.Now().Add(step).Before(start.Add(absolute)) {
			e.clock.Advance(step)
			status, _, _ := e.me(t, e.withCookie(t, session))
			require.Equal(t, http.StatusOK, status, "active session at %s", e.clock.Now().Sub(start))
		}
		e.clock.Advance(start.Add(absolute).Sub(e.clock.Now()))
		e.requireUnauthorized(t, e.withCookie(t, session), "session-expired")

		// A fresh sign-in works again, and its cookie lives as long as the session.
		resp, err := e.anon(t).SignInWithResponse(context.Background(), client.SignInRequest{Email: acc.Email, Password: acc.Password})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode())
		c := setCookie(t, resp.HTTPResponse)
		require.Equal(t, int(absolute.Seconds()), c.MaxAge)
		require.WithinDuration(t, e.clock.Now().Add(absolute), c.Expires, time.Second)
	})
}

func tokenNames(items []client.PersonalToken) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Name
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }
