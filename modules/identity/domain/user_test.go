package domain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/identity/domain"
	"github.com/heepr/heepr/modules/kernel"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"ada@example.com":            "ada@example.com",
		"Ada@Example.COM":            "ada@example.com",
		"  ada@example.com\t\n":      "ada@example.com",
		" ADA.Lovelace@EXAMPLE.org ": "ada.lovelace@example.org",
		"ÄDA@example.com":            "äda@example.com",
		"":                           "",
		"   ":                        "",
	}
	for in, want := range cases {
		require.Equal(t, want, domain.NormalizeEmail(in), "NormalizeEmail(%q)", in)
	}
}

func validSignUp() domain.SignUp {
	return domain.SignUp{
		Email: "ada@example.com", Password: "correct horse battery", DisplayName: "Ada", Role: kernel.RoleCustomer,
	}
}

// fieldsOf returns the field names of a validation error, in order.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	require.ErrorIs(t, err, kernel.ErrInvalid)
	e, ok := kernel.As(err)
	require.True(t, ok, "not a kernel error: %v", err)
	var out []string
	for _, f := range e.Fields {
		require.NotEmpty(t, f.Detail, "field %s has no detail", f.Field)
		out = append(out, f.Field)
	}
	return out
}

func TestSignUpValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(*domain.SignUp)
		fields []string // nil: valid
	}{
		{"valid customer", func(*domain.SignUp) {}, nil},
		{"valid owner", func(s *domain.SignUp) { s.Role = kernel.RoleOwner }, nil},
		{"email with surrounding space", func(s *domain.SignUp) { s.Email = "  ada@example.com " }, nil},
		{"email upper case", func(s *domain.SignUp) { s.Email = "Ada@Example.COM" }, nil},
		{"email of 254 octets", func(s *domain.SignUp) { s.Email = strings.Repeat("a", 242) + "@example.com" }, nil},
		{"email empty", func(s *domain.SignUp) { s.Email = "" }, []string{"email"}},
		{"email blank", func(s *domain.SignUp) { s.Email = "   " }, []string{"email"}},
		{"email of 255 octets", func(s *domain.SignUp) { s.Email = strings.Repeat("a", 243) + "@example.com" }, []string{"email"}},
		{"email without @", func(s *domain.SignUp) { s.Email = "ada.example.com" }, []string{"email"}},
		{"email without dot in domain", func(s *domain.SignUp) { s.Email = "ada@localhost" }, []string{"email"}},
		{"email with display name", func(s *domain.SignUp) { s.Email = "Ada <ada@example.com>" }, []string{"email"}},
		{"email in angle brackets", func(s *domain.SignUp) { s.Email = "<ada@example.com>" }, []string{"email"}},
		{"two emails", func(s *domain.SignUp) { s.Email = "ada@example.com, bob@example.com" }, []string{"email"}},
		{"email with inner space", func(s *domain.SignUp) { s.Email = "ada lovelace@example.com" }, []string{"email"}},
		{"password of 9", func(s *domain.SignUp) { s.Password = "123456789" }, []string{"password"}},
		{"password of 10", func(s *domain.SignUp) { s.Password = "1234567890" }, nil},
		{"password of 10 multibyte runes", func(s *domain.SignUp) { s.Password = strings.Repeat("é", 10) }, nil},
		{"password of 9 multibyte runes", func(s *domain.SignUp) { s.Password = strings.Repeat("é", 9) }, []string{"password"}},
		{"password of 256", func(s *domain.SignUp) { s.Password = strings.Repeat("p", 256) }, nil},
		{"password of 257", func(s *domain.SignUp) { s.Password = strings.Repeat("p", 257) }, []string{"password"}},
		{"password blank", func(s *domain.SignUp) { s.Password = strings.Repeat(" ", 12) }, []string{"password"}},
		{"password empty", func(s *domain.SignUp) { s.Password = "" }, []string{"password"}},
		{"display name empty", func(s *domain.SignUp) { s.DisplayName = "" }, []string{"display_name"}},
		{"display name blank", func(s *domain.SignUp) { s.DisplayName = " \t " }, []string{"display_name"}},
		{"display name of 80", func(s *domain.SignUp) { s.DisplayName = strings.Repeat("ü", 80) }, nil},
		{"display name of 81", func(s *domain.SignUp) { s.DisplayName = strings.Repeat("ü", 81) }, []string{"display_name"}},
		{"display name with newline", func(s *domain.SignUp) { s.DisplayName = "Ada\nLovelace" }, []string{"display_name"}},
		{"display name with NUL", func(s *domain.SignUp) { s.DisplayName = "Ada\x00" }, []string{"display_name"}},
		{"role empty", func(s *domain.SignUp) { s.Role = "" }, []string{"role"}},
		{"role support", func(s *domain.SignUp) { s.Role = kernel.RoleSupport }, []string{"role"}},
		{"role agent", func(s *domain.SignUp) { s.Role = kernel.RoleAgent }, []string{"role"}},
		{"role anonymous", func(s *domain.SignUp) { s.Role = kernel.RoleAnonymous }, []string{"role"}},
		{"role in upper case", func(s *domain.SignUp) { s.Role = "Customer" }, []string{"role"}},
		{"everything wrong", func(s *domain.SignUp) { *s = domain.SignUp{} }, []string{"email", "password", "display_name", "role"}},
		{"three wrong", func(s *domain.SignUp) {
			s.Email, s.Password, s.Role = "nope", "short", "admin"
		}, []string{"email", "password", "role"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := validSignUp()
			c.change(&in)
			err := in.Validate()
			if c.fields == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, c.fields, fieldsOf(t, err))
		})
	}
}

func TestCheckPasswordMessages(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"short":                  "must be at least 10 characters",
		strings.Repeat("x", 257): "must be at most 256 characters",
		strings.Repeat(" ", 10):  "must not be blank",
	}
	for pw, want := range cases {
		var f kernel.Fields
		domain.CheckPassword(&f, pw)
		require.Equal(t, kernel.Fields{{Field: "password", Detail: want}}, f)
	}
	var ok kernel.Fields
	domain.CheckPassword(&ok, "a fine passphrase")
	require.Empty(t, ok)
}

func TestRolesForSignUp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   kernel.Role
		want []kernel.Role
	}{
		{kernel.RoleCustomer, []kernel.Role{kernel.RoleCustomer}},
		{kernel.RoleOwner, []kernel.Role{kernel.RoleCustomer, kernel.RoleOwner}},
		// Sign-up can never grant staff or agent roles, whatever it is asked.
		{kernel.RoleSupport, []kernel.Role{kernel.RoleCustomer}},
		{kernel.RoleAgent, []kernel.Role{kernel.RoleCustomer}},
		{"", []kernel.Role{kernel.RoleCustomer}},
	}
	for _, c := range cases {
		got := domain.RolesForSignUp(c.in)
		require.Equal(t, c.want, got, "RolesForSignUp(%q)", c.in)
		require.True(t, slices.IsSorted(got), "roles are kept sorted")
	}
}

func TestAddRole(t *testing.T) {
	t.Parallel()
	in := make([]kernel.Role, 1, 4) // spare capacity: an append in place would leak into in
	in[0] = kernel.RoleOwner
	out, changed := domain.AddRole(in, kernel.RoleCustomer)
	require.True(t, changed)
	require.Equal(t, []kernel.Role{kernel.RoleCustomer, kernel.RoleOwner}, out)
	require.Equal(t, []kernel.Role{kernel.RoleOwner}, in, "the input is not modified")
	require.Empty(t, in[:2][1], "no write into the input's spare capacity")

	same, changed := domain.AddRole(out, kernel.RoleOwner)
	require.False(t, changed)
	require.Equal(t, out, same)
}

func TestEnableOwner(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := created.Add(time.Hour)
	later := now.Add(time.Hour)

	t.Run("customer becomes owner, then nothing changes", func(t *testing.T) {
		t.Parallel()
		u := domain.User{ID: "u1", Roles: []kernel.Role{kernel.RoleCustomer}, CreatedAt: created, UpdatedAt: created}
		changed, err := u.EnableOwner(now)
		require.NoError(t, err)
		require.True(t, changed)
		require.Equal(t, []kernel.Role{kernel.RoleCustomer, kernel.RoleOwner}, u.Roles)
		require.Equal(t, now, u.UpdatedAt)

		changed, err = u.EnableOwner(later)
		require.NoError(t, err)
		require.False(t, changed, "enabling twice is idempotent")
		require.Equal(t, []kernel.Role{kernel.RoleCustomer, kernel.RoleOwner}, u.Roles)
		require.Equal(t, now, u.UpdatedAt, "an unchanged user keeps its UpdatedAt")
	})

	t.Run("owner from sign-up is unchanged", func(t *testing.T) {
		t.Parallel()
		u := domain.User{Roles: domain.RolesForSignUp(kernel.RoleOwner), UpdatedAt: created}
		changed, err := u.EnableOwner(now)
		require.NoError(t, err)
		require.False(t, changed)
		require.Equal(t, created, u.UpdatedAt)
	})

	forbidden := map[string][]kernel.Role{
		"support":  {kernel.RoleSupport},
		"no roles": nil,
		"agent":    {kernel.RoleAgent},
	}
	for name, roles := range forbidden {
		t.Run(name+" is forbidden", func(t *testing.T) {
			t.Parallel()
			u := domain.User{Roles: slices.Clone(roles), UpdatedAt: created}
			changed, err := u.EnableOwner(now)
			require.False(t, changed)
			require.ErrorIs(t, err, kernel.ErrForbidden)
			e, ok := kernel.As(err)
			require.True(t, ok)
			require.Equal(t, "not-a-customer", e.Code)
			require.Equal(t, roles, u.Roles, "roles unchanged")
			require.Equal(t, created, u.UpdatedAt)
			require.False(t, errors.Is(err, kernel.ErrInvalid))
		})
	}
}

func TestIsSupport(t *testing.T) {
	t.Parallel()
	require.True(t, domain.User{Roles: []kernel.Role{kernel.RoleSupport}}.IsSupport())
	require.False(t, domain.User{Roles: []kernel.Role{kernel.RoleCustomer, kernel.RoleOwner}}.IsSupport())
	require.False(t, domain.User{}.IsSupport())
}
