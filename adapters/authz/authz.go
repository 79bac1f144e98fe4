// Package authz decides with casbin whether a principal's roles may call an
// operation (by the spec's operationId).
package authz

import (
	"fmt"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	stringadapter "github.com/casbin/casbin/v2/persist/string-adapter"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/policy"
)

// Enforcer answers "may these roles call this operation".
type Enforcer struct{ e *casbin.Enforcer }

// New loads the embedded model and policy.
func New() (*Enforcer, error) {
	m, err := model.NewModelFromString(policy.Model)
	if err != nil {
		return nil, fmt.Errorf("load casbin model: %w", err)
	}
	e, err := casbin.NewEnforcer(m, stringadapter.NewAdapter(stripComments(policy.CSV)))
	if err != nil {
		return nil, fmt.Errorf("load casbin policy: %w", err)
	}
	return &Enforcer{e: e}, nil
}

func stripComments(csv string) string {
	var b strings.Builder
	for line := range strings.Lines(csv) {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// Allowed reports whether any of the principal's roles (or anonymous) may call op.
func (a *Enforcer) Allowed(p kernel.Principal, op string) bool {
	roles := append([]kernel.Role{kernel.RoleAnonymous}, p.Roles...)
	for _, r := range roles {
		if ok, err := a.e.Enforce(string(r), op); err == nil && ok {
			return true
		}
	}
	return false
}

// Operations lists every operationId the policy names.
func (a *Enforcer) Operations() []string {
	seen := map[string]bool{}
	var out []string
	ps, _ := a.e.GetPolicy()
	for _, p := range ps {
		if len(p) >= 2 && !seen[p[1]] {
			seen[p[1]] = true
			out = append(out, p[1])
		}
	}
	return out
}

// Roles lists the roles the policy allows to call op directly.
func (a *Enforcer) Roles(op string) []string {
	ps, _ := a.e.GetFilteredPolicy(1, op)
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p[0])
	}
	return out
}
