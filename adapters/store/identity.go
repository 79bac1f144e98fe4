package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/heepr/heepr/modules/identity/domain"
	"github.com/heepr/heepr/modules/kernel"
)

type userRow struct {
	bun.BaseModel `bun:"table:users"`

	ID              string    `bun:"id,pk"`
	Email           string    `bun:"email"`
	EmailNormalized string    `bun:"email_normalized"`
	DisplayName     string    `bun:"display_name"`
	PasswordHash    string    `bun:"password_hash"`
	Roles           string    `bun:"roles"` // space-separated, sorted
	CreatedAt       time.Time `bun:"created_at"`
	UpdatedAt       time.Time `bun:"updated_at"`

	SuspendedAt      *time.Time `bun:"suspended_at"`
	SuspensionReason *string    `bun:"suspension_reason"`
}

func toUserRow(u domain.User) *userRow {
	roles := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = string(r)
	}
	return &userRow{
		ID: string(u.ID), Email: u.Email, EmailNormalized: u.EmailNormalized, DisplayName: u.DisplayName,
		PasswordHash: u.PasswordHash, Roles: strings.Join(roles, " "), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		SuspendedAt: u.SuspendedAt, SuspensionReason: nullable(u.SuspensionReason),
	}
}

func (r *userRow) toDomain() domain.User {
	var roles []kernel.Role
	for _, s := range strings.Fields(r.Roles) {
		roles = append(roles, kernel.Role(s))
	}
	u := domain.User{
		ID: kernel.UserID(r.ID), Email: r.Email, EmailNormalized: r.EmailNormalized, DisplayName: r.DisplayName,
		PasswordHash: r.PasswordHash, Roles: roles, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.SuspendedAt != nil {
		at := r.SuspendedAt.UTC()
		u.SuspendedAt = &at
	}
	if r.SuspensionReason != nil {
		u.SuspensionReason = *r.SuspensionReason
	}
	return u
}

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`

	IDHash     string    `bun:"id_hash,pk"`
	UserID     string    `bun:"user_id"`
	CreatedAt  time.Time `bun:"created_at"`
	LastSeenAt time.Time `bun:"last_seen_at"`
	ExpiresAt  time.Time `bun:"expires_at"`

	User *userRow `bun:"rel:belongs-to,join:user_id=id"`
}

type tokenRow struct {
	bun.BaseModel `bun:"table:personal_tokens"`

	ID         string     `bun:"id,pk"`
	UserID     string     `bun:"user_id"`
	Name       string     `bun:"name"`
	Hash       string     `bun:"hash"`
	Prefix     string     `bun:"prefix"`
	CreatedAt  time.Time  `bun:"created_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	RevokedAt  *time.Time `bun:"revoked_at"`

	User *userRow `bun:"rel:belongs-to,join:user_id=id"`
}

func (r *tokenRow) toDomain() domain.PersonalToken {
	return domain.PersonalToken{
		ID: r.ID, UserID: kernel.UserID(r.UserID), Name: r.Name, Hash: r.Hash, Prefix: r.Prefix,
		CreatedAt: r.CreatedAt.UTC(), LastUsedAt: utcPtr(r.LastUsedAt), RevokedAt: utcPtr(r.RevokedAt),
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Identity implements the identity module's repositories.
type Identity struct{ db *DB }

// NewIdentity returns identity's store.
func NewIdentity(db *DB) *Identity { return &Identity{db: db} }

// Users returns the users repository.
func (s *Identity) Users() *IdentityUsers { return &IdentityUsers{s.db} }

// Sessions returns the sessions repository.
func (s *Identity) Sessions() *IdentitySessions { return &IdentitySessions{s.db} }

// Tokens returns the personal tokens repository.
func (s *Identity) Tokens() *IdentityTokens { return &IdentityTokens{s.db} }

// IdentityUsers stores users.
type IdentityUsers struct{ db *DB }

// Insert adds a user; a taken email is a conflict.
func (r *IdentityUsers) Insert(ctx context.Context, u domain.User) error {
	_, err := r.db.Conn(ctx).NewInsert().Model(toUserRow(u)).Exec(ctx)
	if IsUniqueViolation(err) {
		return kernel.Conflict("email-taken", "an account with this email already exists")
	}
	return err
}

// ByEmail finds a user by normalized email.
func (r *IdentityUsers) ByEmail(ctx context.Context, normalized string) (domain.User, error) {
	return r.one(ctx, "email_normalized = ?", normalized)
}

// ByID finds a user by id.
func (r *IdentityUsers) ByID(ctx context.Context, id kernel.UserID) (domain.User, error) {
	return r.one(ctx, "id = ?", string(id))
}

func (r *IdentityUsers) one(ctx context.Context, where string, arg any) (domain.User, error) {
	row := new(userRow)
	err := r.db.Conn(ctx).NewSelect().Model(row).Where(where, arg).Limit(1).Scan(ctx)
	if IsNoRows(err) {
		return domain.User{}, kernel.NotFound("user")
	}
	if err != nil {
		return domain.User{}, fmt.Errorf("select user: %w", err)
	}
	return row.toDomain(), nil
}

// UpdateRoles writes the user's roles.
func (r *IdentityUsers) UpdateRoles(ctx context.Context, u domain.User) error {
	_, err := r.db.Conn(ctx).NewUpdate().Model(toUserRow(u)).Column("roles", "updated_at").WherePK().Exec(ctx)
	return err
}

// UpdateStanding writes the user's suspension (SuspendedAt nil: in good standing).
func (r *IdentityUsers) UpdateStanding(ctx context.Context, u domain.User) error {
	_, err := r.db.Conn(ctx).NewUpdate().Model(toUserRow(u)).Column("suspended_at", "suspension_reason", "updated_at").WherePK().Exec(ctx)
	return err
}

// CreatedAt returns when each of the users signed up (unknown ids are absent).
func (r *IdentityUsers) CreatedAt(ctx context.Context, ids []kernel.UserID) (map[kernel.UserID]time.Time, error) {
	out := map[kernel.UserID]time.Time{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []userRow
	if err := r.db.Conn(ctx).NewSelect().Model(&rows).Column("id", "created_at").Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read sign-up times: %w", err)
	}
	for _, u := range rows {
		out[kernel.UserID(u.ID)] = u.CreatedAt.UTC()
	}
	return out, nil
}

// IdentitySessions stores sessions.
type IdentitySessions struct{ db *DB }

// Insert adds a session.
func (r *IdentitySessions) Insert(ctx context.Context, s domain.Session) error {
	_, err := r.db.Conn(ctx).NewInsert().Model(&sessionRow{
		IDHash: s.IDHash, UserID: string(s.UserID), CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt,
	}).Exec(ctx)
	return err
}

// Get returns a session and its user.
func (r *IdentitySessions) Get(ctx context.Context, idHash string) (domain.Session, domain.User, error) {
	var sr sessionRow // one query: the session joined with its user
	err := r.db.Conn(ctx).NewSelect().Model(&sr).Relation("User").Where("?TableAlias.id_hash = ?", idHash).Limit(1).Scan(ctx)
	if IsNoRows(err) {
		return domain.Session{}, domain.User{}, kernel.NotFound("session")
	}
	if err != nil {
		return domain.Session{}, domain.User{}, fmt.Errorf("select session: %w", err)
	}
	return domain.Session{
		IDHash: sr.IDHash, UserID: kernel.UserID(sr.UserID), CreatedAt: sr.CreatedAt.UTC(),
		LastSeenAt: sr.LastSeenAt.UTC(), ExpiresAt: sr.ExpiresAt.UTC(),
	}, sr.User.toDomain(), nil
}

// Touch records use of a session.
func (r *IdentitySessions) Touch(ctx context.Context, idHash string, at time.Time) error {
	_, err := r.db.Conn(ctx).NewUpdate().Model((*sessionRow)(nil)).Set("last_seen_at = ?", at).Where("id_hash = ?", idHash).Exec(ctx)
	return err
}

// Delete ends a session.
func (r *IdentitySessions) Delete(ctx context.Context, idHash string) error {
	_, err := r.db.Conn(ctx).NewDelete().Model((*sessionRow)(nil)).Where("id_hash = ?", idHash).Exec(ctx)
	return err
}

// IdentityTokens stores personal tokens.
type IdentityTokens struct{ db *DB }

// Insert adds a token.
func (r *IdentityTokens) Insert(ctx context.Context, t domain.PersonalToken) error {
	_, err := r.db.Conn(ctx).NewInsert().Model(&tokenRow{
		ID: t.ID, UserID: string(t.UserID), Name: t.Name, Hash: t.Hash, Prefix: t.Prefix, CreatedAt: t.CreatedAt,
	}).Exec(ctx)
	return err
}

// ByHash finds a live token and its user.
func (r *IdentityTokens) ByHash(ctx context.Context, hash string) (domain.PersonalToken, domain.User, error) {
	row := new(tokenRow) // one query: the token joined with its user
	err := r.db.Conn(ctx).NewSelect().Model(row).Relation("User").Where("?TableAlias.hash = ?", hash).
		Where("?TableAlias.revoked_at IS NULL").Limit(1).Scan(ctx)
	if IsNoRows(err) {
		return domain.PersonalToken{}, domain.User{}, kernel.NotFound("token")
	}
	if err != nil {
		return domain.PersonalToken{}, domain.User{}, fmt.Errorf("select token: %w", err)
	}
	return row.toDomain(), row.User.toDomain(), nil
}

// List pages through a user's live tokens, newest first.
func (r *IdentityTokens) List(ctx context.Context, user kernel.UserID, before string, limit int) ([]domain.PersonalToken, error) {
	var rows []tokenRow
	q := r.db.Conn(ctx).NewSelect().Model(&rows).Where("user_id = ?", string(user)).Where("revoked_at IS NULL")
	if before != "" {
		q = q.Where("id < ?", before)
	}
	if err := q.OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]domain.PersonalToken, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Revoke marks a user's live token revoked.
func (r *IdentityTokens) Revoke(ctx context.Context, user kernel.UserID, id string, at time.Time) (bool, error) {
	res, err := r.db.Conn(ctx).NewUpdate().Model((*tokenRow)(nil)).Set("revoked_at = ?", at).
		Where("id = ?", id).Where("user_id = ?", string(user)).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("revoke token: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// TouchUsed records use of a token.
func (r *IdentityTokens) TouchUsed(ctx context.Context, id string, at time.Time) error {
	_, err := r.db.Conn(ctx).NewUpdate().Model((*tokenRow)(nil)).Set("last_used_at = ?", at).Where("id = ?", id).Exec(ctx)
	return err
}

// DeleteExpired removes ended sessions.
func (r *IdentitySessions) DeleteExpired(ctx context.Context, now, idleBefore time.Time) (int, error) {
	res, err := r.db.Conn(ctx).NewDelete().Model((*sessionRow)(nil)).
		Where("expires_at <= ? OR last_seen_at < ?", now, idleBefore).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
