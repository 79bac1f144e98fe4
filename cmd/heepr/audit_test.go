package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/api/client"
)

func TestAdminAuditVerify(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		out, err := e.heepr(t, "", "admin", "audit", "verify")
		require.NoError(t, err)
		require.Contains(t, out, "audit log intact: 0 entries")

		for _, action := range []string{"identity.role_enabled", "marketplace.key_rotated", "identity.token_revoked"} {
			_, err := e.app.moderation.Record(ctx, "user:someone", action, "user:someone", "")
			require.NoError(t, err)
		}
		out, err = e.heepr(t, "", "admin", "audit", "verify")
		require.NoError(t, err)
		require.Contains(t, out, "audit log intact: 3 entries")

		// An edit past the database's guard is named by its entry.
		if e.app.db.Dialect == store.Postgres {
			_, err = e.app.db.Bun.ExecContext(ctx, "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
		} else {
			_, err = e.app.db.Bun.ExecContext(ctx, "DROP TRIGGER audit_events_no_update")
		}
		require.NoError(t, err)
		_, err = e.app.db.Bun.ExecContext(ctx, "UPDATE audit_events SET actor = 'user:other' WHERE seq = 2")
		require.NoError(t, err)
		_, err = e.heepr(t, "", "admin", "audit", "verify")
		require.ErrorContains(t, err, "audit log broken at entry 2")
	})
}

// Security-relevant changes append to the audit log in their transaction:
// enabling the owner role, revoking a personal token, rotating an agent key.
func TestSecurityChangesAreAudited(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := e.signUp(t, "audited-"+randomID()+"@example.com", client.SignUpRequestRoleCustomer)
		c := e.withCookie(t, u.Session)
		eo, err := c.EnableOwnerRoleWithResponse(ctx)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, eo.StatusCode(), "%s", eo.Body)
		c = e.withCookie(t, sessionFrom(t, eo.HTTPResponse))
		_, err = c.EnableOwnerRoleWithResponse(ctx) // no change, no entry
		require.NoError(t, err)

		tok, err := c.CreatePersonalTokenWithResponse(ctx, client.CreatePersonalTokenRequest{Name: "ci"})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, tok.StatusCode(), "%s", tok.Body)
		rv, err := c.RevokePersonalTokenWithResponse(ctx, tok.JSON201.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, rv.StatusCode(), "%s", rv.Body)
		missing, err := c.RevokePersonalTokenWithResponse(ctx, tok.JSON201.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusNotFound, missing.StatusCode(), "a refused revocation adds nothing")

		a := e.createAgent(t, c, wizard("audited-"+randomID()[:8]))
		rot, err := c.RotateAgentKeyWithResponse(ctx, a.Agent.Id)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, rot.StatusCode(), "%s", rot.Body)

		entries, err := store.NewAudit(e.app.db).Entries(ctx, 0, 100)
		require.NoError(t, err)
		got := make([][3]string, len(entries))
		for i, en := range entries {
			got[i] = [3]string{en.Actor, en.Action, en.Target}
		}
		actor := "user:" + u.ID
		require.Equal(t, [][3]string{
			{actor, "identity.role_enabled", actor},
			{actor, "identity.token_revoked", "token:" + tok.JSON201.Id},
			{actor, "marketplace.key_rotated", "agent:" + a.Agent.Id},
		}, got)
		out, err := e.heepr(t, "", "admin", "audit", "verify")
		require.NoError(t, err)
		require.Contains(t, out, "audit log intact: 3 entries")

		// Support reads the log, newest first, by actor or target, in pages.
		sup := e.withCookie(t, e.supportAccount(t, "support-"+randomID()+"@example.com").Session)
		page, err := sup.ListAuditEventsWithResponse(ctx, &client.ListAuditEventsParams{Limit: ptrTo(2)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, page.StatusCode(), "%s", page.Body)
		require.Equal(t, []int64{3, 2}, []int64{page.JSON200.Items[0].Seq, page.JSON200.Items[1].Seq})
		require.Equal(t, "marketplace.key_rotated", page.JSON200.Items[0].Action)
		require.NotNil(t, page.JSON200.NextCursor)
		rest, err := sup.ListAuditEventsWithResponse(ctx, &client.ListAuditEventsParams{Limit: ptrTo(2), Cursor: page.JSON200.NextCursor})
		require.NoError(t, err)
		require.Len(t, rest.JSON200.Items, 1)
		require.Nil(t, rest.JSON200.NextCursor)
		byTarget, err := sup.ListAuditEventsWithResponse(ctx, &client.ListAuditEventsParams{Target: ptrTo("agent:" + a.Agent.Id)})
		require.NoError(t, err)
		require.Len(t, byTarget.JSON200.Items, 1)
		byActor, err := sup.ListAuditEventsWithResponse(ctx, &client.ListAuditEventsParams{Actor: ptrTo("user:nobody")})
		require.NoError(t, err)
		require.Empty(t, byActor.JSON200.Items)

		// Nobody else may.
		denied, err := c.ListAuditEventsWithResponse(ctx, &client.ListAuditEventsParams{})
		require.NoError(t, err)
		requireProblem(t, denied.HTTPResponse, denied.Body, http.StatusForbidden, "forbidden")
	})
}
