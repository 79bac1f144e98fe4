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
type Enforcer struct {
	e *casbin.Enforcer
	// allowed is casbin's every answer, worked out once at start: the
	// policy is embedded and never changes while heepr runs, and asking
	// casbin on every request cost ~90 µs and ~1,000 allocations (bench/events).
	allowed map[kernel.Role]map[string]bool
}

// roles are every role the policy may name.
var roles = []kernel.Role{kernel.RoleAnonymous, kernel.RoleCustomer, kernel.RoleOwner, kernel.RoleAgent, kernel.RoleSupport}

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
	a := &Enforcer{e: e, allowed: map[kernel.Role]map[string]bool{}}
	for _, r := range roles {
		a.allowed[r] = map[string]bool{}
		for _, op := range a.Operations() {
			ok, err := e.Enforce(string(r), op)
			if err != nil {
				return nil, fmt.Errorf("evaluate policy for %s %s: %w", r, op, err)
			}
			a.allowed[r][op] = ok
		}
	}
	return a, nil
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
	if a.allowed[kernel.RoleAnonymous][op] {
		return true
	}
	for _, r := range p.Roles {
		if a.allowed[r][op] {
			return true
		}
	}
	return false
}

// Enforce asks casbin itself (what Allowed answers from its table).
func (a *Enforcer) Enforce(role kernel.Role, op string) (bool, error) {
	return a.e.Enforce(string(role), op)
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
