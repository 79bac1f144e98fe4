package kernel

import (
	"context"
	"slices"
)

// Role is what casbin authorizes by.
type Role string

// Roles. Every principal also acts as anonymous.
const (
	RoleAnonymous Role = "anonymous"
	RoleCustomer  Role = "customer"
	RoleOwner     Role = "owner"
	RoleAgent     Role = "agent"
	RoleSupport   Role = "support"
)

// AuthMethod tells how the principal proved who it is.
type AuthMethod string

// Authentication methods.
const (
	AuthNone    AuthMethod = ""
	AuthSession AuthMethod = "session"
	AuthToken   AuthMethod = "token"
	AuthAgent   AuthMethod = "agent"
)

// Principal is who is calling. The zero value is anonymous.
type Principal struct {
	Method    AuthMethod
	UserID    UserID
	AgentID   string
	Roles     []Role
	SessionID string // the session's opaque id, when Method is AuthSession
	TokenID   string // the personal token's id, when Method is AuthToken
	Suspended bool   // the user's account is suspended: reads only
}

// Anonymous reports whether nobody is signed in.
func (p Principal) Anonymous() bool { return p.Method == AuthNone }

// Has reports whether the principal holds a role.
func (p Principal) Has(r Role) bool {
	return r == RoleAnonymous || slices.Contains(p.Roles, r)
}

// Actor names a principal in the audit log: "user:<id>", "agent:<id>",
// or "system" for nobody (a job).
func (p Principal) Actor() string {
	switch {
	case p.Method == AuthAgent:
		return "agent:" + p.AgentID
	case p.UserID != "":
		return "user:" + string(p.UserID)
	}
	return "system"
}

// AuditFunc appends an entry to the audit log in the caller's transaction
// (the moderation module's Record; modules that must not import it take it
// as a dependency).
type AuditFunc func(ctx context.Context, actor, action, target, reason string) error
