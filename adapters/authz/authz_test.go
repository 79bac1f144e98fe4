package authz

import (
	"fmt"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	heepr "github.com/heepr/heepr"
	"github.com/heepr/heepr/modules/kernel"
)

// policySource is what the coverage check reads from an enforcer.
type policySource interface {
	Operations() []string
	Roles(op string) []string
}

// specOperations lists every operationId in the spec.
func specOperations(t *testing.T, doc *openapi3.T) []string {
	t.Helper()
	var ops []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			require.NotEmpty(t, op.OperationID, "%s %s has no operationId", method, path)
			ops = append(ops, op.OperationID)
		}
	}
	slices.Sort(ops)
	return ops
}

// coverage returns one line for each operation without a policy line and
// each policy line that names no operation.
func coverage(ops []string, p policySource) []string {
	var out []string
	for _, op := range ops {
		if len(p.Roles(op)) == 0 {
			out = append(out, fmt.Sprintf("operation %s has no policy line", op))
		}
	}
	for _, op := range p.Operations() {
		if !slices.Contains(ops, op) {
			out = append(out, fmt.Sprintf("policy names %s, which is no operation in openapi.yaml", op))
		}
	}
	return out
}

func loadSpec(t *testing.T, data []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(data)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()))
	return doc
}

func newEnforcer(t *testing.T) *Enforcer {
	t.Helper()
	e, err := New()
	require.NoError(t, err)
	return e
}

func TestPolicyCoversSpec(t *testing.T) {
	t.Parallel()
	ops := specOperations(t, loadSpec(t, heepr.OpenAPI))
	require.Contains(t, ops, "signUp", "the spec's operations were not read")
	require.Empty(t, coverage(ops, newEnforcer(t)))
}

// The coverage check fails on a spec with an operation the policy lacks, and
// on a policy line whose operation the spec lacks.
func TestCoverageCatchesGaps(t *testing.T) {
	t.Parallel()
	e := newEnforcer(t)
	spec := func(ops ...string) []byte {
		b := []byte("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n")
		for i, op := range ops {
			b = fmt.Appendf(b, "  /p%d:\n    get:\n      operationId: %s\n      responses: {'204': {description: ok}}\n", i, op)
		}
		return b
	}
	all := specOperations(t, loadSpec(t, heepr.OpenAPI))

	extra := specOperations(t, loadSpec(t, spec(append(slices.Clone(all), "deleteEverything")...)))
	require.Equal(t, []string{"operation deleteEverything has no policy line"}, coverage(extra, e))

	missing := slices.DeleteFunc(slices.Clone(all), func(op string) bool { return op == "getMe" })
	require.Equal(t, []string{"policy names getMe, which is no operation in openapi.yaml"},
		coverage(specOperations(t, loadSpec(t, spec(missing...))), e))

	bad := fakePolicy{"signUp": {"anonymous"}, "typoOp": {"customer"}}
	require.ElementsMatch(t, []string{
		"operation signIn has no policy line",
		"policy names typoOp, which is no operation in openapi.yaml",
	}, coverage([]string{"signIn", "signUp"}, bad))
}

type fakePolicy map[string][]string

func (f fakePolicy) Operations() []string {
	var out []string
	for op := range f {
		out = append(out, op)
	}
	return out
}

func (f fakePolicy) Roles(op string) []string { return f[op] }

func TestAllowed(t *testing.T) {
	t.Parallel()
	e := newEnforcer(t)
	as := func(roles ...kernel.Role) kernel.Principal {
		if len(roles) == 0 {
			return kernel.Principal{}
		}
		return kernel.Principal{Method: kernel.AuthSession, UserID: "u1", Roles: roles}
	}
	cases := []struct {
		who   kernel.Principal
		op    string
		allow bool
	}{
		{as(), "signUp", true},
		{as(), "signIn", true},
		{as(), "getMe", false},
		{as(), "signOut", false},
		{as(), "enableOwnerRole", false},
		{as(), "createPersonalToken", false},
		{as(kernel.RoleCustomer), "getMe", true},
		{as(kernel.RoleCustomer), "enableOwnerRole", true},
		{as(kernel.RoleCustomer), "signUp", true},
		{as(kernel.RoleCustomer, kernel.RoleOwner), "enableOwnerRole", true},
		{as(kernel.RoleOwner), "signUp", true},
		{as(kernel.RoleOwner), "getMe", true},
		{as(kernel.RoleSupport), "enableOwnerRole", false},
		{as(kernel.RoleSupport), "getMe", true},
		{as(kernel.RoleAgent), "getMe", false},
		{as(kernel.RoleAgent), "createPersonalToken", false},
		{as(kernel.RoleCustomer), "noSuchOperation", false},
		{as(kernel.RoleCustomer), "", false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v/%s", c.who.Roles, c.op), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.allow, e.Allowed(c.who, c.op))
		})
	}
}

// Every role inherits anonymous in the policy itself (the g lines), not only
// because Allowed adds anonymous to every principal.
func TestEveryRoleInheritsAnonymous(t *testing.T) {
	t.Parallel()
	e := newEnforcer(t)
	for _, r := range []kernel.Role{kernel.RoleCustomer, kernel.RoleOwner, kernel.RoleAgent, kernel.RoleSupport} {
		ok, err := e.e.Enforce(string(r), "signUp")
		require.NoError(t, err)
		require.True(t, ok, "%s may not signUp through casbin", r)
	}
	ok, err := e.e.Enforce("stranger", "signUp")
	require.NoError(t, err)
	require.False(t, ok, "a role the policy does not know inherits nothing")
}

func TestOperationsAndRoles(t *testing.T) {
	t.Parallel()
	e := newEnforcer(t)
	ops := e.Operations()
	require.Len(t, ops, len(slices.Compact(slices.Sorted(slices.Values(ops)))), "Operations lists each once")
	require.Contains(t, ops, "enableOwnerRole")
	require.ElementsMatch(t, []string{"customer"}, e.Roles("enableOwnerRole"))
	require.ElementsMatch(t, []string{"anonymous"}, e.Roles("signUp"))
	require.Empty(t, e.Roles("noSuchOperation"))
}

func TestStripComments(t *testing.T) {
	t.Parallel()
	in := "# header\n\n  # indented comment\np, anonymous, signUp\n   \ng, owner, anonymous\n"
	require.Equal(t, "p, anonymous, signUp\ng, owner, anonymous\n", stripComments(in))
}

// The table Allowed answers from holds exactly casbin's answers.
func TestAllowedMatchesCasbin(t *testing.T) {
	t.Parallel()
	e, err := New()
	require.NoError(t, err)
	all := []kernel.Role{kernel.RoleAnonymous, kernel.RoleCustomer, kernel.RoleOwner, kernel.RoleAgent, kernel.RoleSupport}
	for _, op := range append(e.Operations(), "noSuchOperation") {
		for _, r := range all {
			want, err := e.Enforce(r, op)
			require.NoError(t, err)
			anon, err := e.Enforce(kernel.RoleAnonymous, op)
			require.NoError(t, err)
			require.Equal(t, want || anon, e.Allowed(kernel.Principal{Method: kernel.AuthSession, Roles: []kernel.Role{r}}, op), "%s %s", r, op)
		}
	}
}
