// Package domain holds identity's entities and rules: users, roles, sessions
// and personal tokens. Standard library and kernel only.
package domain

import (
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/heepr/heepr/modules/kernel"
)

// Password length bounds (characters). Long passphrases are welcome; the
// upper bound keeps hashing cost bounded.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 256
	MaxDisplayName = 80
	MaxEmailLen    = 254
)

// User is an account. Roles is a set kept sorted.
type User struct {
	ID              kernel.UserID
	Email           string
	EmailNormalized string
	DisplayName     string
	PasswordHash    string
	Roles           []kernel.Role
	CreatedAt       time.Time
	UpdatedAt       time.Time

	SuspendedAt      *time.Time // set while support has suspended the account
	SuspensionReason string
}

// NormalizeEmail is the form emails are unique by: trimmed and lower-cased.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// SignUp is what a person submits to create an account.
type SignUp struct {
	Email       string
	Password    string
	DisplayName string
	Role        kernel.Role
}

// Validate checks every field and reports all failures at once.
func (s SignUp) Validate() error {
	var f kernel.Fields
	checkEmail(&f, s.Email)
	CheckPassword(&f, s.Password)
	checkDisplayName(&f, s.DisplayName)
	if s.Role != kernel.RoleCustomer && s.Role != kernel.RoleOwner {
		f.Add("role", "must be customer or owner")
	}
	return f.Err()
}

// RolesForSignUp gives a new account its roles: every person can hire, and an
// owner also runs agents.
func RolesForSignUp(r kernel.Role) []kernel.Role {
	if r == kernel.RoleOwner {
		return []kernel.Role{kernel.RoleCustomer, kernel.RoleOwner}
	}
	return []kernel.Role{kernel.RoleCustomer}
}

// AddRole returns the role set with r added, sorted, and whether it changed.
func AddRole(roles []kernel.Role, r kernel.Role) ([]kernel.Role, bool) {
	if slices.Contains(roles, r) {
		return roles, false
	}
	out := append(slices.Clone(roles), r)
	slices.Sort(out)
	return out, true
}

// EnableOwner turns on the owner role for a customer. Support staff accounts
// are kept apart from the marketplace.
func (u *User) EnableOwner(now time.Time) (changed bool, err error) {
	if !slices.Contains(u.Roles, kernel.RoleCustomer) {
		return false, kernel.Forbidden("not-a-customer", "only a customer account can turn on the owner role")
	}
	u.Roles, changed = AddRole(u.Roles, kernel.RoleOwner)
	if changed {
		u.UpdatedAt = now
	}
	return changed, nil
}

func checkEmail(f *kernel.Fields, email string) {
	email = strings.TrimSpace(email)
	switch {
	case email == "":
		f.Add("email", "is required")
	case len(email) > MaxEmailLen:
		f.Add("email", "is too long")
	default:
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email || a.Name != "" || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
			f.Add("email", "is not an email address")
		}
	}
}

// CheckPassword applies the password rules.
func CheckPassword(f *kernel.Fields, pw string) {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLen:
		f.Add("password", "must be at least 10 characters")
	case n > MaxPasswordLen:
		f.Add("password", "must be at most 256 characters")
	case strings.TrimSpace(pw) == "":
		f.Add("password", "must not be blank")
	}
}

func checkDisplayName(f *kernel.Fields, name string) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		f.Add("display_name", "is required")
	case utf8.RuneCountInString(name) > MaxDisplayName:
		f.Add("display_name", "must be at most 80 characters")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		f.Add("display_name", "must not contain control characters")
	}
}

// IsSupport reports a support staff account.
func (u User) IsSupport() bool { return slices.Contains(u.Roles, kernel.RoleSupport) }
