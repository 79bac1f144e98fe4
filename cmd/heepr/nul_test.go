package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/api/client"
)

// A NUL character (U+0000) cannot be stored by either database; text fields
// refuse it in openapi.yaml (pattern ^[^\x00]*$), so it is a 400 naming the
// field, never a 500, and nothing changes.
func TestNulInTextIsRefused(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		acc := e.signUp(t, "ada@example.com", client.SignUpRequestRoleCustomer)
		before := e.snapshot(t)

		tr, err := e.withCookie(t, acc.Session).CreatePersonalTokenWithBodyWithResponse(context.Background(), "application/json",
			strings.NewReader(`{"name":"c\u0000i"}`))
		require.NoError(t, err)
		p := requireProblem(t, tr.HTTPResponse, tr.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"name"}, fieldNames(p))

		sr, err := e.anon(t).SignInWithBodyWithResponse(context.Background(), "application/json",
			strings.NewReader(`{"email":"ada\u0000@example.com","password":"`+testPassword+`"}`))
		require.NoError(t, err)
		p = requireProblem(t, sr.HTTPResponse, sr.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"email"}, fieldNames(p))

		q := "co\x00de"
		lr, err := e.anon(t).ListAgentsWithResponse(context.Background(), &client.ListAgentsParams{Q: &q})
		require.NoError(t, err)
		p = requireProblem(t, lr.HTTPResponse, lr.Body, http.StatusBadRequest, "validation")
		require.Equal(t, []string{"q"}, fieldNames(p))

		e.requireUnchanged(t, before)
	})
}
