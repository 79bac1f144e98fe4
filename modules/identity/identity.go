// Package identity is heepr's accounts module: sign-up and sign-in, roles,
// server-side sessions and personal tokens. Its root package is the facade
// other modules and adapters call.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/heepr/heepr/modules/identity/domain"
	"github.com/heepr/heepr/modules/kernel"
)

// Config tunes sessions.
type Config struct {
	SessionIdle     time.Duration // default 7 days
	SessionAbsolute time.Duration // default 30 days
}

// Deps are what the service is built from.
type Deps struct {
	Tx       kernel.Tx
	Jobs     kernel.Jobs
	Clock    kernel.Clock
	Users    Users
	Sessions Sessions
	Tokens   Tokens
	Hasher   *Hasher
	// TokenKey is the server secret personal tokens are HMAC'd with.
	TokenKey []byte
	// OnSignUp runs inside the sign-up transaction (the ledger's starter
	// grant); nil for none.
	OnSignUp func(ctx context.Context, u UserView) error
	// Audit records security-relevant changes (role changes, token
	// revocations) in the audit log, inside their transaction; nil for none.
	Audit kernel.AuditFunc
}

// Service is the identity facade.
type Service struct {
	d      Deps
	policy domain.SessionPolicy
	mac    *kernel.MAC // keyed by d.TokenKey
}

// New builds the service.
func New(d Deps, cfg Config) *Service {
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 7 * 24 * time.Hour
	}
	if cfg.SessionAbsolute <= 0 {
		cfg.SessionAbsolute = 30 * 24 * time.Hour
	}
	return &Service{d: d, mac: kernel.NewMAC(d.TokenKey), policy: domain.SessionPolicy{
		Idle: cfg.SessionIdle, Absolute: cfg.SessionAbsolute, TouchEvery: time.Minute,
	}}
}

// UserView is a user as the outside sees it (never the password hash).
type UserView struct {
	ID          kernel.UserID
	Email       string
	DisplayName string
	Roles       []kernel.Role
	CreatedAt   time.Time
}

func toView(u domain.User) UserView {
	return UserView{ID: u.ID, Email: u.Email, DisplayName: u.DisplayName, Roles: u.Roles, CreatedAt: u.CreatedAt}
}

// SignedIn is a user with the session to put in their cookie.
type SignedIn struct {
	User      UserView
	SessionID string
	ExpiresAt time.Time
}

// SignUp creates an account and its first session.
func (s *Service) SignUp(ctx context.Context, in domain.SignUp) (SignedIn, error) {
	if err := in.Validate(); err != nil {
		return SignedIn{}, err
	}
	return s.createUser(ctx, in, domain.RolesForSignUp(in.Role), true)
}

// CreateSupport creates a support staff account (CLI only; never through sign-up).
func (s *Service) CreateSupport(ctx context.Context, email, displayName, password string) (UserView, error) {
	in := domain.SignUp{Email: email, Password: password, DisplayName: displayName, Role: kernel.RoleCustomer}
	if err := in.Validate(); err != nil {
		return UserView{}, err
	}
	out, err := s.createUser(ctx, in, []kernel.Role{kernel.RoleSupport}, false)
	return out.User, err
}

func (s *Service) createUser(ctx context.Context, in domain.SignUp, roles []kernel.Role, withSession bool) (SignedIn, error) {
	hash, err := s.d.Hasher.Hash(ctx, in.Password)
	if err != nil {
		return SignedIn{}, fmt.Errorf("hash password: %w", err)
	}
	now := s.d.Clock.Now()
	u := domain.User{
		ID:              kernel.UserID(kernel.NewID()),
		Email:           strings.TrimSpace(in.Email),
		EmailNormalized: domain.NormalizeEmail(in.Email),
		DisplayName:     strings.TrimSpace(in.DisplayName),
		PasswordHash:    hash,
		Roles:           roles,
		CreatedAt:       now,
		UpdatedAt:       now,
	}
	var out SignedIn
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.d.Users.Insert(ctx, u); err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		if s.d.OnSignUp != nil && !u.IsSupport() {
			if err := s.d.OnSignUp(ctx, toView(u)); err != nil {
				return err
			}
		}
		if withSession {
			if out, err = s.newSession(ctx, u, now); err != nil {
				return err
			}
		}
		out.User = toView(u)
		if u.IsSupport() { // staff are not welcomed to the marketplace
			return nil
		}
		return s.d.Jobs.Enqueue(ctx, UserSignedUpArgs{UserID: u.ID})
	})
	if err != nil {
		return SignedIn{}, err
	}
	return out, nil
}

// SignIn checks a password and starts a new session, ending the caller's
// previous one (previousSession, may be empty) so ids rotate on sign-in.
func (s *Service) SignIn(ctx context.Context, email, password, previousSession string) (SignedIn, error) {
	wrong := kernel.Unauthenticated("invalid-credentials", "the email or password is wrong")
	u, err := s.d.Users.ByEmail(ctx, domain.NormalizeEmail(email))
	if errors.Is(err, kernel.ErrNotFound) {
		s.d.Hasher.Burn(ctx, password) // same cost as a wrong password
		return SignedIn{}, wrong
	}
	if err != nil {
		return SignedIn{}, fmt.Errorf("find user: %w", err)
	}
	ok, err := s.d.Hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return SignedIn{}, err
	}
	if !ok {
		return SignedIn{}, wrong
	}
	var out SignedIn
	err = s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		if previousSession != "" {
			if err := s.d.Sessions.Delete(ctx, hashSession(previousSession)); err != nil {
				return fmt.Errorf("end previous session: %w", err)
			}
		}
		out, err = s.newSession(ctx, u, s.d.Clock.Now())
		return err
	})
	return out, err
}

// SignOut ends a session. Ending an unknown session is not an error.
func (s *Service) SignOut(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	return s.d.Sessions.Delete(ctx, hashSession(sessionID))
}

// Me returns the signed-in user.
func (s *Service) Me(ctx context.Context, p kernel.Principal) (UserView, error) {
	u, err := s.d.Users.ByID(ctx, p.UserID)
	if err != nil {
		return UserView{}, err
	}
	return toView(u), nil
}

// Contact returns what an email to the user needs.
func (s *Service) Contact(ctx context.Context, id kernel.UserID) (email, name string, err error) {
	u, err := s.d.Users.ByID(ctx, id)
	if err != nil {
		return "", "", err
	}
	return u.Email, u.DisplayName, nil
}

// Roles returns the user's current roles.
func (s *Service) Roles(ctx context.Context, id kernel.UserID) ([]kernel.Role, error) {
	u, err := s.d.Users.ByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return u.Roles, nil
}

// EnableOwnerRole turns on the owner role. A cookie session is rotated
// because the account's privileges changed; the new id is in the result
// (empty when the caller did not use a session).
func (s *Service) EnableOwnerRole(ctx context.Context, p kernel.Principal) (SignedIn, error) {
	var out SignedIn
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		u, err := s.d.Users.ByID(ctx, p.UserID)
		if err != nil {
			return err
		}
		now := s.d.Clock.Now()
		changed, err := u.EnableOwner(now)
		if err != nil {
			return err
		}
		if changed {
			if err := s.d.Users.UpdateRoles(ctx, u); err != nil {
				return fmt.Errorf("update roles: %w", err)
			}
			if err := s.audit(ctx, p.Actor(), "identity.role_enabled", "user:"+string(u.ID), "owner"); err != nil {
				return err
			}
		}
		if changed && p.Method == kernel.AuthSession {
			if err := s.d.Sessions.Delete(ctx, hashSession(p.SessionID)); err != nil {
				return fmt.Errorf("end old session: %w", err)
			}
			if out, err = s.newSession(ctx, u, now); err != nil {
				return err
			}
		}
		out.User = toView(u)
		return nil
	})
	return out, err
}

func (s *Service) newSession(ctx context.Context, u domain.User, now time.Time) (SignedIn, error) {
	raw := make([]byte, 32) // 256 bits
	if _, err := rand.Read(raw); err != nil {
		return SignedIn{}, err
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	sess := domain.Session{
		IDHash: hashSession(id), UserID: u.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.policy.Absolute),
	}
	if err := s.d.Sessions.Insert(ctx, sess); err != nil {
		return SignedIn{}, fmt.Errorf("insert session: %w", err)
	}
	return SignedIn{User: toView(u), SessionID: id, ExpiresAt: sess.ExpiresAt}, nil
}

// AuthenticateSession resolves a session cookie to a principal, or
// kernel.ErrUnauthenticated when it is unknown or expired.
func (s *Service) AuthenticateSession(ctx context.Context, sessionID string) (kernel.Principal, error) {
	if len(sessionID) != 43 { // base64url of 32 bytes; anything else was never issued
		return kernel.Principal{}, errSessionExpired
	}
	h := hashSession(sessionID)
	sess, u, err := s.d.Sessions.Get(ctx, h)
	if errors.Is(err, kernel.ErrNotFound) {
		return kernel.Principal{}, errSessionExpired
	}
	if err != nil {
		return kernel.Principal{}, err
	}
	now := s.d.Clock.Now()
	if !s.policy.Valid(sess, now) {
		_ = s.d.Sessions.Delete(ctx, h)
		return kernel.Principal{}, errSessionExpired
	}
	if s.policy.NeedsTouch(sess, now) {
		if err := s.d.Sessions.Touch(ctx, h, now); err != nil {
			return kernel.Principal{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return kernel.Principal{Method: kernel.AuthSession, UserID: u.ID, Roles: u.Roles, SessionID: sessionID, Suspended: u.SuspendedAt != nil}, nil
}

var (
	errSessionExpired = kernel.Unauthenticated("session-expired", "the session has ended; sign in again")
	errBadToken       = kernel.Unauthenticated("invalid-token", "the bearer token is not valid")
)

// AuthenticateToken resolves a personal token. The checksum is checked
// before any database access.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (kernel.Principal, error) {
	if !kernel.ValidToken(token, kernel.PersonalTokenPrefix) {
		return kernel.Principal{}, errBadToken
	}
	t, u, err := s.d.Tokens.ByHash(ctx, s.hmac(token))
	if errors.Is(err, kernel.ErrNotFound) {
		return kernel.Principal{}, errBadToken
	}
	if err != nil {
		return kernel.Principal{}, err
	}
	now := s.d.Clock.Now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= time.Minute {
		if err := s.d.Tokens.TouchUsed(ctx, t.ID, now); err != nil {
			return kernel.Principal{}, fmt.Errorf("touch token: %w", err)
		}
	}
	return kernel.Principal{Method: kernel.AuthToken, UserID: u.ID, Roles: u.Roles, TokenID: t.ID, Suspended: u.SuspendedAt != nil}, nil
}

// TokenView is a personal token without its secret.
type TokenView struct {
	ID         string
	Name       string
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// CreatedToken is a new token with its secret, shown once.
type CreatedToken struct {
	TokenView
	Secret string
}

// CreatePersonalToken makes a new bearer token for the principal's account.
func (s *Service) CreatePersonalToken(ctx context.Context, p kernel.Principal, name string) (CreatedToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 80 {
		return CreatedToken{}, kernel.Invalid(kernel.FieldError{Field: "name", Detail: "must be 1 to 80 characters"})
	}
	secret := kernel.NewToken(kernel.PersonalTokenPrefix)
	t := domain.PersonalToken{
		ID: kernel.NewID(), UserID: p.UserID, Name: name, Hash: s.hmac(secret),
		Prefix: kernel.TokenDisplayPrefix(secret, kernel.PersonalTokenPrefix), CreatedAt: s.d.Clock.Now(),
	}
	if err := s.d.Tokens.Insert(ctx, t); err != nil {
		return CreatedToken{}, fmt.Errorf("insert token: %w", err)
	}
	return CreatedToken{TokenView: toTokenView(t), Secret: secret}, nil
}

// ListPersonalTokens pages through the principal's live tokens, newest first.
func (s *Service) ListPersonalTokens(ctx context.Context, p kernel.Principal, cursor string, limit int) ([]TokenView, string, error) {
	var before string
	if cursor != "" {
		if err := kernel.DecodeCursor(cursor, &before); err != nil {
			return nil, "", err
		}
	}
	limit = kernel.Limit(limit, 20, 100)
	rows, err := s.d.Tokens.List(ctx, p.UserID, before, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = kernel.EncodeCursor(rows[len(rows)-1].ID)
	}
	out := make([]TokenView, len(rows))
	for i, t := range rows {
		out[i] = toTokenView(t)
	}
	return out, next, nil
}

// RevokePersonalToken revokes one of the principal's tokens; anyone else's
// token, or a missing one, answers not found.
func (s *Service) RevokePersonalToken(ctx context.Context, p kernel.Principal, id string) error {
	return s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		ok, err := s.d.Tokens.Revoke(ctx, p.UserID, id, s.d.Clock.Now())
		if err != nil {
			return err
		}
		if !ok {
			return kernel.NotFound("personal token")
		}
		return s.audit(ctx, p.Actor(), "identity.token_revoked", "token:"+id, "")
	})
}

// Standing is whether an account is suspended, and why.
type Standing struct {
	UserID      kernel.UserID
	SuspendedAt *time.Time
	Reason      string
}

// SetSuspended suspends (on) or reinstates (off) an account on support's
// decision, in the caller's transaction (moderation's, which audits it). A
// suspended user can sign in and read; every other write is refused.
func (s *Service) SetSuspended(ctx context.Context, id kernel.UserID, on bool, reason string) (Standing, error) {
	var out Standing
	err := s.d.Tx.InTx(ctx, func(ctx context.Context) error {
		u, err := s.d.Users.ByID(ctx, id)
		if errors.Is(err, kernel.ErrNotFound) {
			return kernel.NotFound("user")
		}
		if err != nil {
			return err
		}
		switch {
		case on && u.SuspendedAt != nil:
			return kernel.Conflict("account-already-suspended", "the account is already suspended")
		case !on && u.SuspendedAt == nil:
			return kernel.Conflict("account-not-suspended", "the account is not suspended")
		}
		now := s.d.Clock.Now()
		u.SuspendedAt, u.SuspensionReason, u.UpdatedAt = nil, "", now
		if on {
			u.SuspendedAt, u.SuspensionReason = &now, reason
		}
		if err := s.d.Users.UpdateStanding(ctx, u); err != nil {
			return err
		}
		out = Standing{UserID: u.ID, SuspendedAt: u.SuspendedAt, Reason: u.SuspensionReason}
		return nil
	})
	return out, err
}

// SignedUpAt returns when each of the users signed up (for review-integrity signals).
func (s *Service) SignedUpAt(ctx context.Context, ids []kernel.UserID) (map[kernel.UserID]time.Time, error) {
	return s.d.Users.CreatedAt(ctx, ids)
}

// audit records a security-relevant change, when an audit log is wired.
func (s *Service) audit(ctx context.Context, actor, action, target, reason string) error {
	if s.d.Audit == nil {
		return nil
	}
	if err := s.d.Audit(ctx, actor, action, target, reason); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func toTokenView(t domain.PersonalToken) TokenView {
	return TokenView{ID: t.ID, Name: t.Name, Prefix: t.Prefix, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt}
}

func (s *Service) hmac(token string) string { return s.mac.Hex(token) }

func hashSession(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// PurgeExpiredSessions deletes sessions past their absolute or idle expiry.
func (s *Service) PurgeExpiredSessions(ctx context.Context) (int, error) {
	now := s.d.Clock.Now()
	return s.d.Sessions.DeleteExpired(ctx, now, now.Add(-s.policy.Idle))
}
