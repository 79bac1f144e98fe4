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
	"github.com/heepr/heepr/modules/marketplace"
)

// credServices are the identity and marketplace facades over one database.
type credServices struct {
	ids    *identity.Service
	market *marketplace.Service
}

func newCredServices(db *store.DB, now time.Time) credServices {
	clock := fixedClock{now}
	ids := store.NewIdentity(db)
	return credServices{
		ids: identity.New(identity.Deps{Tx: db, Jobs: noJobs{}, Clock: clock, Users: ids.Users(), Sessions: ids.Sessions(),
			Tokens: ids.Tokens(), Hasher: identity.NewHasher(), TokenKey: []byte("token key")}, identity.Config{}),
		market: marketplace.New(marketplace.Deps{Tx: db, Jobs: noJobs{}, Clock: clock, Agents: store.NewMarketplace(db), KeyHMAC: []byte("agent key")}),
	}
}

// requireRefused checks err is the 401 a wrong credential gets, with its code.
func requireRefused(t *testing.T, err error, code, cred string) {
	t.Helper()
	require.ErrorIs(t, err, kernel.ErrUnauthenticated, "credential %q", cred)
	e, _ := kernel.As(err)
	require.Equal(t, code, e.Code, "credential %q", cred)
}

// FuzzCredentials presents any string, or an issued credential with one
// edit, as a personal token, a session id and an agent key, to services
// over a real (SQLite) database that holds one of each. Only the exact
// issued credential authenticates, as its owner; everything else is refused
// as unauthenticated with the credential's own code (invalid-token,
// session-expired). A string of the wrong shape (length, prefix, alphabet,
// checksum) is refused before any database access: services whose database
// is closed refuse it the same way.
func FuzzCredentials(f *testing.F) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db := storetest.Open(f, storetest.Target{Dialect: store.SQLite, Config: store.Config{DataDir: f.TempDir()}})
	up := newCredServices(db, now)
	closed := storetest.Open(f, storetest.Target{Dialect: store.SQLite, Config: store.Config{DataDir: f.TempDir()}})
	require.NoError(f, closed.Close())
	down := newCredServices(closed, now)

	in, err := up.ids.SignUp(ctx, domain.SignUp{Email: "fuzz@example.com", Password: "correct horse battery staple",
		DisplayName: "Fuzz", Role: kernel.RoleOwner})
	require.NoError(f, err)
	owner := kernel.Principal{Method: kernel.AuthSession, UserID: in.User.ID, Roles: in.User.Roles}
	tok, err := up.ids.CreatePersonalToken(ctx, owner, "fuzz")
	require.NoError(f, err)
	agent, err := up.market.CreateAgent(ctx, owner, "fuzz-agent", settings("Fuzz", "Fuzzing", "Tries every key.", 10, "testing"))
	require.NoError(f, err)
	issued := []string{tok.Secret, in.SessionID, agent.APIKey}

	// base: 0 the fuzzer's string, 1-3 the issued token, session id or
	// agent key; edit: 0 none, 1 replace the byte at pos with c, 2 insert c
	// there, 3 delete it, 4 cut there, 5 append the fuzzer's string.
	f.Add("", uint8(1), uint8(0), uint(0), byte(0))
	f.Add("", uint8(2), uint8(0), uint(0), byte(0))
	f.Add("", uint8(3), uint8(0), uint(0), byte(0))
	f.Add("", uint8(1), uint8(1), uint(20), byte('A'))
	f.Add("", uint8(1), uint8(1), uint(3), byte('_'))
	f.Add("", uint8(3), uint8(3), uint(40), byte(0))
	f.Add("", uint8(2), uint8(1), uint(42), byte('-'))
	f.Add("", uint8(2), uint8(2), uint(0), byte('x'))
	f.Add("", uint8(3), uint8(4), uint(10), byte(0))
	f.Add(" ", uint8(1), uint8(5), uint(0), byte(0))
	f.Add("\n", uint8(3), uint8(5), uint(0), byte(0))
	f.Add("hpr_pat_000000000000000000000000000000000000", uint8(0), uint8(0), uint(0), byte(0))
	f.Add("hpr_agent_' OR '1'='1", uint8(0), uint8(0), uint(0), byte(0))
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uint8(0), uint8(0), uint(0), byte(0))
	f.Fuzz(func(t *testing.T, s string, base, edit uint8, pos uint, c byte) {
		cred := s
		if b := int(base % 4); b > 0 {
			cred = issued[b-1]
			i := int(pos % uint(len(cred)+1))
			switch edit % 6 {
			case 1:
				if i < len(cred) {
					cred = cred[:i] + string([]byte{c}) + cred[i+1:]
				}
			case 2:
				cred = cred[:i] + string([]byte{c}) + cred[i:]
			case 3:
				if i < len(cred) {
					cred = cred[:i] + cred[i+1:]
				}
			case 4:
				cred = cred[:i]
			case 5:
				cred += s
			}
		}

		p, err := up.ids.AuthenticateToken(ctx, cred)
		if cred == tok.Secret {
			require.NoError(t, err)
			require.Equal(t, kernel.AuthToken, p.Method)
			require.Equal(t, in.User.ID, p.UserID)
			require.Equal(t, tok.ID, p.TokenID)
		} else {
			requireRefused(t, err, "invalid-token", cred)
		}
		_, err = down.ids.AuthenticateToken(ctx, cred)
		if !kernel.ValidToken(cred, kernel.PersonalTokenPrefix) {
			requireRefused(t, err, "invalid-token", cred)
		} else {
			_, isKernel := kernel.As(err)
			require.False(t, isKernel, "a well-formed token is looked up: %v", err)
		}

		p, err = up.ids.AuthenticateSession(ctx, cred)
		if cred == in.SessionID {
			require.NoError(t, err)
			require.Equal(t, kernel.AuthSession, p.Method)
			require.Equal(t, in.User.ID, p.UserID)
		} else {
			requireRefused(t, err, "session-expired", cred)
		}
		_, err = down.ids.AuthenticateSession(ctx, cred)
		if len(cred) != 43 {
			requireRefused(t, err, "session-expired", cred)
		}

		p, err = up.market.AuthenticateKey(ctx, cred)
		if cred == agent.APIKey {
			require.NoError(t, err)
			require.Equal(t, kernel.Principal{Method: kernel.AuthAgent, AgentID: agent.Agent.ID, Roles: []kernel.Role{kernel.RoleAgent}}, p)
		} else {
			requireRefused(t, err, "invalid-token", cred)
		}
		_, err = down.market.AuthenticateKey(ctx, cred)
		if !kernel.ValidToken(cred, kernel.AgentKeyPrefix) {
			requireRefused(t, err, "invalid-token", cred)
		} else {
			_, isKernel := kernel.As(err)
			require.False(t, isKernel, "a well-formed key is looked up: %v", err)
		}
	})
}
