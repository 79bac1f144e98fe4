package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
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
