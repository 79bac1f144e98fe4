package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/store"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/modules/identity"
	"github.com/heepr/heepr/modules/identity/domain"
	"github.com/heepr/heepr/modules/kernel"
)

// The store must satisfy the identity module's ports.
var (
	_ identity.Users    = (*store.IdentityUsers)(nil)
	_ identity.Sessions = (*store.IdentitySessions)(nil)
	_ identity.Tokens   = (*store.IdentityTokens)(nil)
)

// t0 has microsecond precision (what both databases keep) and a zone other
// than UTC, so a round trip must normalise it.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.FixedZone("UTC+5:30", 5*3600+30*60))

// requireSameTime checks got is want's instant, in UTC.
func requireSameTime(t *testing.T, want, got time.Time, msg string) {
	t.Helper()
	require.Same(t, time.UTC, got.Location(), "%s: location", msg)
	require.True(t, want.Equal(got), "%s: want %s, got %s", msg, want.UTC(), got)
}

func newUser(email string) domain.User {
	return domain.User{
		ID:              kernel.UserID(kernel.NewID()),
		Email:           email,
		EmailNormalized: domain.NormalizeEmail(email),
		DisplayName:     "Ann Example",
		PasswordHash:    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5",
		Roles:           []kernel.Role{kernel.RoleCustomer},
		CreatedAt:       t0,
		UpdatedAt:       t0.Add(time.Second),
	}
}

func requireUser(t *testing.T, want, got domain.User) {
	t.Helper()
	requireSameTime(t, want.CreatedAt, got.CreatedAt, "created_at")
	requireSameTime(t, want.UpdatedAt, got.UpdatedAt, "updated_at")
	want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
	require.Equal(t, want, got)
}

func insertUser(t *testing.T, ids *store.Identity, email string) domain.User {
	t.Helper()
	u := newUser(email)
	require.NoError(t, ids.Users().Insert(context.Background(), u))
	return u
}

func TestIdentityUsersRoundTrip(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		users := store.NewIdentity(db).Users()
		u := newUser(" Ann@Example.com ")
		u.Roles = []kernel.Role{kernel.RoleCustomer, kernel.RoleOwner}
		require.NoError(t, users.Insert(ctx, u))

		byID, err := users.ByID(ctx, u.ID)
		require.NoError(t, err)
		requireUser(t, u, byID)

		byEmail, err := users.ByEmail(ctx, "ann@example.com")
		require.NoError(t, err)
		requireUser(t, u, byEmail)

		// Lookups by email use the normalized form only.
		_, err = users.ByEmail(ctx, " Ann@Example.com ")
		require.ErrorIs(t, err, kernel.ErrNotFound)
	})
}

func TestIdentityUsersDuplicateEmailIsConflict(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := store.NewIdentity(db)
		first := insertUser(t, ids, "ann@example.com")

		dup := newUser("ANN@example.COM") // another id, same normalized email
		dup.DisplayName = "Impostor"
		err := ids.Users().Insert(ctx, dup)
		require.Error(t, err)
		require.ErrorIs(t, err, kernel.ErrConflict)
		kerr, ok := kernel.As(err)
		require.True(t, ok, "want a *kernel.Error, got %T: %v", err, err)
		require.Equal(t, "email-taken", kerr.Code)

		_, err = ids.Users().ByID(ctx, dup.ID)
		require.ErrorIs(t, err, kernel.ErrNotFound, "the duplicate must not be stored")
		got, err := ids.Users().ByEmail(ctx, "ann@example.com")
		require.NoError(t, err)
		requireUser(t, first, got)
	})
}

func TestIdentityUsersMissingIsNotFound(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		users := store.NewIdentity(db).Users()
		_, err := users.ByID(ctx, kernel.UserID(kernel.NewID()))
		require.ErrorIs(t, err, kernel.ErrNotFound)
		_, err = users.ByEmail(ctx, "nobody@example.com")
		require.ErrorIs(t, err, kernel.ErrNotFound)
	})
}

func TestIdentityUsersUpdateRoles(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := store.NewIdentity(db)
		u := insertUser(t, ids, "ann@example.com")
		other := insertUser(t, ids, "bob@example.com")

		changed := u
		changed.Roles = []kernel.Role{kernel.RoleCustomer, kernel.RoleOwner}
		changed.UpdatedAt = t0.Add(time.Hour)
		changed.DisplayName = "Not Written" // UpdateRoles writes roles and updated_at only
		require.NoError(t, ids.Users().UpdateRoles(ctx, changed))

		got, err := ids.Users().ByID(ctx, u.ID)
		require.NoError(t, err)
		want := u
		want.Roles = changed.Roles
		want.UpdatedAt = changed.UpdatedAt
		requireUser(t, want, got)

		untouched, err := ids.Users().ByID(ctx, other.ID)
		require.NoError(t, err)
		requireUser(t, other, untouched)
	})
}

func newSession(user kernel.UserID, hash string, lastSeen, expires time.Time) domain.Session {
	return domain.Session{IDHash: hash, UserID: user, CreatedAt: t0, LastSeenAt: lastSeen, ExpiresAt: expires}
}

func TestIdentitySessionsInsertGetTouchDelete(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := store.NewIdentity(db)
		sessions := ids.Sessions()
		u := insertUser(t, ids, "ann@example.com")
		s := newSession(u.ID, "hash-1", t0.Add(time.Minute), t0.Add(30*24*time.Hour))
		require.NoError(t, sessions.Insert(ctx, s))
		require.NoError(t, sessions.Insert(ctx, newSession(u.ID, "hash-2", t0, t0.Add(time.Hour))))

		got, gotUser, err := sessions.Get(ctx, "hash-1")
		require.NoError(t, err)
		requireUser(t, u, gotUser)
		require.Equal(t, s.IDHash, got.IDHash)
		require.Equal(t, s.UserID, got.UserID)
		requireSameTime(t, s.CreatedAt, got.CreatedAt, "created_at")
		requireSameTime(t, s.LastSeenAt, got.LastSeenAt, "last_seen_at")
		requireSameTime(t, s.ExpiresAt, got.ExpiresAt, "expires_at")

		_, _, err = sessions.Get(ctx, "no-such-hash")
		require.ErrorIs(t, err, kernel.ErrNotFound)

		seen := t0.Add(2*time.Hour + 7*time.Microsecond)
		require.NoError(t, sessions.Touch(ctx, "hash-1", seen))
		got, _, err = sessions.Get(ctx, "hash-1")
		require.NoError(t, err)
		requireSameTime(t, seen, got.LastSeenAt, "touched last_seen_at")
		requireSameTime(t, s.ExpiresAt, got.ExpiresAt, "expires_at after touch")
		other, _, err := sessions.Get(ctx, "hash-2")
		require.NoError(t, err)
		requireSameTime(t, t0, other.LastSeenAt, "another session's last_seen_at")

		require.NoError(t, sessions.Delete(ctx, "hash-1"))
		_, _, err = sessions.Get(ctx, "hash-1")
		require.ErrorIs(t, err, kernel.ErrNotFound)
		require.NoError(t, sessions.Delete(ctx, "hash-1"), "deleting an ended session is not an error")
		_, _, err = sessions.Get(ctx, "hash-2")
		require.NoError(t, err, "only the named session is deleted")
	})
}

func TestIdentitySessionsDeleteExpired(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := store.NewIdentity(db)
		sessions := ids.Sessions()
		u := insertUser(t, ids, "ann@example.com")

		now := t0.Add(40 * 24 * time.Hour).Truncate(time.Second) // a whole second: its text form has no fraction
		idleBefore := now.Add(-7 * 24 * time.Hour)
		const us = time.Microsecond
		later := now.Add(24 * time.Hour)
		for _, s := range []domain.Session{
			newSession(u.ID, "absolute-expired", now.Add(-time.Minute), now.Add(-us)),
			newSession(u.ID, "absolute-expired-long-ago", now.Add(-time.Minute), now.Add(-10*24*time.Hour)),
			newSession(u.ID, "idle", idleBefore.Add(-us), later),
			newSession(u.ID, "idle-and-expired", idleBefore.Add(-time.Hour), now.Add(-time.Hour)),
			newSession(u.ID, "live", now.Add(-time.Minute), later),
			newSession(u.ID, "live-expires-next-microsecond", now.Add(-time.Minute), now.Add(us)),
			newSession(u.ID, "live-seen-just-inside-idle", idleBefore.Add(us), later),
		} {
			require.NoError(t, sessions.Insert(ctx, s))
		}

		n, err := sessions.DeleteExpired(ctx, now, idleBefore)
		require.NoError(t, err)
		require.Equal(t, 4, n)

		for _, gone := range []string{"absolute-expired", "absolute-expired-long-ago", "idle", "idle-and-expired"} {
			_, _, err := sessions.Get(ctx, gone)
			require.ErrorIs(t, err, kernel.ErrNotFound, gone)
		}
		for _, live := range []string{"live", "live-expires-next-microsecond", "live-seen-just-inside-idle"} {
			_, _, err := sessions.Get(ctx, live)
			require.NoError(t, err, live)
		}

		n, err = sessions.DeleteExpired(ctx, now, idleBefore)
		require.NoError(t, err)
		require.Zero(t, n, "a second purge finds nothing")
	})
}

func newToken(user kernel.UserID, name string, created time.Time) domain.PersonalToken {
	id := kernel.NewID()
	return domain.PersonalToken{
		ID: id, UserID: user, Name: name, Hash: "hmac-" + id, Prefix: "hpr_pat_ABCDEFGHIJKL", CreatedAt: created,
	}
}

func TestIdentityTokensInsertByHashTouchUsed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := store.NewIdentity(db)
		tokens := ids.Tokens()
		u := insertUser(t, ids, "ann@example.com")
		tok := newToken(u.ID, "ci", t0)
		require.NoError(t, tokens.Insert(ctx, tok))

		got, gotUser, err := tokens.ByHash(ctx, tok.Hash)
		require.NoError(t, err)
		requireUser(t, u, gotUser)
		requireSameTime(t, tok.CreatedAt, got.CreatedAt, "created_at")
		require.Nil(t, got.LastUsedAt)
		require.Nil(t, got.RevokedAt)
		got.CreatedAt = tok.CreatedAt
		require.Equal(t, tok, got)

		_, _, err = tokens.ByHash(ctx, "hmac-unknown")
		require.ErrorIs(t, err, kernel.ErrNotFound)

		used := t0.Add(3*time.Hour + 11*time.Microsecond)
		require.NoError(t, tokens.TouchUsed(ctx, tok.ID, used))
		got, _, err = tokens.ByHash(ctx, tok.Hash)
		require.NoError(t, err)
		require.NotNil(t, got.LastUsedAt)
		requireSameTime(t, used, *got.LastUsedAt, "last_used_at")

		ok, err := tokens.Revoke(ctx, u.ID, tok.ID, t0.Add(4*time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
		_, _, err = tokens.ByHash(ctx, tok.Hash)
		require.ErrorIs(t, err, kernel.ErrNotFound, "a revoked token is not found")
	})
}

func TestIdentityTokensListPagesNewestFirst(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := store.NewIdentity(db)
		tokens := ids.Tokens()
		ann := insertUser(t, ids, "ann@example.com")
		bob := insertUser(t, ids, "bob@example.com")

		// Interleave two users' tokens; ids are time-ordered, so later is newer.
		var annTokens []domain.PersonalToken
		for i := range 6 {
			at := t0.Add(time.Duration(i) * time.Minute)
			a := newToken(ann.ID, "ann", at)
			require.NoError(t, tokens.Insert(ctx, a))
			annTokens = append(annTokens, a)
			require.NoError(t, tokens.Insert(ctx, newToken(bob.ID, "bob", at)))
		}
		for i := 1; i < len(annTokens); i++ {
			require.Less(t, annTokens[i-1].ID, annTokens[i].ID, "kernel.NewID must sort by creation")
		}
		revoked := annTokens[2]
		ok, err := tokens.Revoke(ctx, ann.ID, revoked.ID, t0.Add(time.Hour))
		require.NoError(t, err)
		require.True(t, ok)

		// Newest first, without the revoked one: 5, 4, 3, 1, 0.
		want := []string{annTokens[5].ID, annTokens[4].ID, annTokens[3].ID, annTokens[1].ID, annTokens[0].ID}
		var got []string
		before := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10, "paging does not end")
			page, err := tokens.List(ctx, ann.ID, before, 2)
			require.NoError(t, err)
			require.LessOrEqual(t, len(page), 2)
			if len(page) == 0 {
				break
			}
			for _, tok := range page {
				require.Equal(t, ann.ID, tok.UserID, "another user's token is listed")
				require.Nil(t, tok.RevokedAt)
				require.Same(t, time.UTC, tok.CreatedAt.Location())
				got = append(got, tok.ID)
			}
			before = page[len(page)-1].ID
		}
		require.Equal(t, want, got)

		all, err := tokens.List(ctx, ann.ID, "", 100)
		require.NoError(t, err)
		require.Len(t, all, 5)
		requireSameTime(t, annTokens[5].CreatedAt, all[0].CreatedAt, "created_at")
		require.Equal(t, annTokens[5].Hash, all[0].Hash)

		none, err := tokens.List(ctx, kernel.UserID(kernel.NewID()), "", 100)
		require.NoError(t, err)
		require.Empty(t, none)
	})
}

func TestIdentityTokensRevoke(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := store.NewIdentity(db)
		tokens := ids.Tokens()
		ann := insertUser(t, ids, "ann@example.com")
		bob := insertUser(t, ids, "bob@example.com")
		tok := newToken(ann.ID, "ci", t0)
		require.NoError(t, tokens.Insert(ctx, tok))
		keep := newToken(ann.ID, "laptop", t0)
		require.NoError(t, tokens.Insert(ctx, keep))

		ok, err := tokens.Revoke(ctx, bob.ID, tok.ID, t0.Add(time.Hour))
		require.NoError(t, err)
		require.False(t, ok, "another user's token must not be revoked")
		_, _, err = tokens.ByHash(ctx, tok.Hash)
		require.NoError(t, err, "the token is still live after a foreign revoke")

		ok, err = tokens.Revoke(ctx, ann.ID, kernel.NewID(), t0.Add(time.Hour))
		require.NoError(t, err)
		require.False(t, ok, "a missing token")

		ok, err = tokens.Revoke(ctx, ann.ID, tok.ID, t0.Add(time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = tokens.Revoke(ctx, ann.ID, tok.ID, t0.Add(2*time.Hour))
		require.NoError(t, err)
		require.False(t, ok, "revoking twice")

		_, _, err = tokens.ByHash(ctx, tok.Hash)
		require.ErrorIs(t, err, kernel.ErrNotFound)
		_, _, err = tokens.ByHash(ctx, keep.Hash)
		require.NoError(t, err, "only the named token is revoked")
		list, err := tokens.List(ctx, ann.ID, "", 10)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, keep.ID, list[0].ID)

		// The revocation time is stored: read it back directly, as no port returns revoked tokens.
		var revokedAt time.Time
		require.NoError(t, db.Bun.NewRaw("SELECT revoked_at FROM personal_tokens WHERE id = ?", tok.ID).Scan(ctx, &revokedAt))
		requireSameTime(t, t0.Add(time.Hour), revokedAt.UTC(), "revoked_at (the first revoke wins)")
	})
}
