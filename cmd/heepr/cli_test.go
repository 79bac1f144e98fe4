package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/heepr/heepr/api/client"
)

// getenv is the environment a heepr command run beside the test app sees:
// the same data dir and the same database (on Postgres, the test's schema
// through search_path).
func (e *env) getenv(t *testing.T) func(string) string {
	t.Helper()
	vars := map[string]string{"HEEPR_DATA_DIR": e.cfg.DataDir, "HEEPR_LOG_LEVEL": "error"}
	if e.cfg.DatabaseURL != "" {
		u, err := url.Parse(e.cfg.DatabaseURL)
		require.NoError(t, err)
		q := u.Query()
		q.Set("search_path", e.opts.schema)
		u.RawQuery = q.Encode()
		vars["DATABASE_URL"] = u.String()
	}
	return func(k string) string { return vars[k] }
}

// heepr runs the command line as the binary would.
func (e *env) heepr(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(args, strings.NewReader(stdin), &out, e.getenv(t))
	return out.String(), err
}

// createSupport makes a support account with the CLI and returns its email.
func (e *env) createSupport(t *testing.T, email string) string {
	t.Helper()
	out, err := e.heepr(t, testPassword+"\n", "admin", "create-support", "--email", email, "--name", "Staff Member")
	require.NoError(t, err)
	require.Contains(t, out, "support account")
	require.Contains(t, out, email)
	return email
}

func TestWelcomeMailCaptured(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		out, err := e.heepr(t, "", "mail", "list")
		require.NoError(t, err)
		require.Contains(t, out, "no captured mail")

		e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		// The welcome email is a background job: wait for the worker.
		require.Eventually(t, func() bool {
			out, err = e.heepr(t, "", "mail", "list")
			return err == nil && strings.Contains(out, "ada@example.com")
		}, 15*time.Second, 20*time.Millisecond)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 1, out)
		require.Contains(t, lines[0], "Welcome to heepr")
		id := strings.Fields(lines[0])[0]

		body, err := e.heepr(t, "", "mail", "show", id)
		require.NoError(t, err)
		require.Contains(t, body, "To:      <ada@example.com>")
		require.Contains(t, body, "Subject: Welcome to heepr")
		require.Contains(t, body, "Tag:     identity.welcome")
		require.Contains(t, body, "Hi User ada,")
		require.Contains(t, body, "http://127.0.0.1/")
		require.Contains(t, body, "support@heepr.dev")

		_, err = e.heepr(t, "", "mail", "show", "../../etc/passwd")
		require.Error(t, err)
		_, err = e.heepr(t, "", "mail", "show")
		require.Error(t, err)

		// A refused sign-up sends nothing: still one message once the queue is idle.
		resp, err := e.anon(t).SignUpWithResponse(context.Background(), client.SignUpRequest{
			Email: "ADA@example.com", Password: testPassword, DisplayName: "Again", Role: client.SignUpRequestRoleCustomer,
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusConflict, resp.StatusCode())
		e.waitJobsDone(t)
		out, err = e.heepr(t, "", "mail", "list")
		require.NoError(t, err)
		require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 1, out)
	})
}

// waitJobsDone waits until no job is queued or running.
func (e *env) waitJobsDone(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		n, err := e.app.db.Bun.NewSelect().Table("river_job").
			Where("state IN (?)", bun.In([]string{"available", "running", "retryable", "scheduled", "pending"})).
			Where("kind <> ?", "identity.purge_sessions").
			Count(context.Background())
		return err == nil && n == 0
	}, 15*time.Second, 20*time.Millisecond)
}

func TestCreateSupport(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		email := e.createSupport(t, "Staff@heepr.dev")
		// Staff get no marketplace welcome: no job was queued for them.
		jobs, err := e.app.db.Bun.NewSelect().Table("river_job").Where("kind = ?", "identity.user_signed_up").Count(context.Background())
		require.NoError(t, err)
		require.Zero(t, jobs)
		session := e.signIn(t, "staff@heepr.dev", testPassword)
		status, me, body := e.me(t, e.withCookie(t, session))
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.Equal(t, []client.Role{client.RoleSupport}, me.Roles)
		require.Equal(t, email, string(me.Email))
		require.Equal(t, "Staff Member", me.DisplayName)

		// Support staff may still manage their own tokens.
		tok := e.createToken(t, e.withCookie(t, session), "staff script")
		status, _, _ = e.me(t, e.withBearer(t, tok.Token))
		require.Equal(t, http.StatusOK, status)

		// Support calling enableOwnerRole gets 403, also with a token.
		eo, err := e.withBearer(t, tok.Token).EnableOwnerRoleWithResponse(context.Background())
		require.NoError(t, err)
		requireProblem(t, eo.HTTPResponse, eo.Body, http.StatusForbidden, "forbidden")

		// The CLI refuses what sign-up refuses, and changes nothing.
		before := e.snapshot(t)
		_, err = e.heepr(t, testPassword+"\n", "admin", "create-support", "--email", "STAFF@heepr.dev", "--name", "Twin")
		require.Error(t, err, "the email is taken")
		_, err = e.heepr(t, "short\n", "admin", "create-support", "--email", "other@heepr.dev")
		require.Error(t, err, "the password is too short")
		_, err = e.heepr(t, testPassword+"\n", "admin", "create-support", "--name", "Nobody")
		require.Error(t, err, "the email is required")
		_, err = e.heepr(t, testPassword+"\n", "admin", "delete-everything")
		require.Error(t, err)
		e.requireUnchanged(t, before)

		// Support accounts are never made through sign-up.
		resp, body2 := e.do(t, http.MethodPost, "/v1/auth/sign-up", strings.NewReader(
			`{"email":"sneaky@example.com","password":"`+testPassword+`","display_name":"S","role":"support"}`), jsonHeader())
		requireProblem(t, resp, body2, http.StatusBadRequest, "validation")
		e.requireUnchanged(t, before)
	})
}

func TestMigrateAndHelpCommands(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		// The app migrated on start; migrating again beside it is a no-op.
		for range 2 {
			out, err := e.heepr(t, "", "migrate")
			require.NoError(t, err)
			require.Equal(t, "migrations applied\n", out)
		}
		r, b := e.do(t, http.MethodGet, "/readyz", nil, nil)
		require.Equal(t, http.StatusOK, r.StatusCode, "%s", b)
		status, _, _ := e.me(t, e.withCookie(t, acc.Session))
		require.Equal(t, http.StatusOK, status)

		out, err := e.heepr(t, "", "help")
		require.NoError(t, err)
		require.Contains(t, out, "create-support")
		_, err = e.heepr(t, "", "frobnicate")
		require.ErrorContains(t, err, "unknown command")
		_, err = e.heepr(t, "", "serve", "--role", "janitor")
		require.ErrorContains(t, err, "--role")
		err = run([]string{"migrate"}, strings.NewReader(""), &bytes.Buffer{}, func(k string) string {
			if k == "HEEPR_RATE_LIMITS" {
				return "sometimes"
			}
			return e.getenv(t)(k)
		})
		require.ErrorContains(t, err, "HEEPR_RATE_LIMITS")
	})
}
