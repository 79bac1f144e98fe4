package domain_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/ordering/domain"
)

// fieldsOf returns the field names of a validation error, in order (nil for no error).
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	require.ErrorIs(t, err, kernel.ErrInvalid)
	e, ok := kernel.As(err)
	require.True(t, ok, "not a kernel error: %v", err)
	require.Equal(t, "validation", e.Code)
	out := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		require.NotEmpty(t, f.Detail, "field %s has no detail", f.Field)
		out = append(out, f.Field)
	}
	return out
}

// requireCode checks err is a kernel error of kind and code.
func requireCode(t *testing.T, err error, kind kernel.Kind, code string) {
	t.Helper()
	require.ErrorIs(t, err, kind)
	e, ok := kernel.As(err)
	require.True(t, ok, "not a kernel error: %v", err)
	require.Equal(t, code, e.Code)
	require.NotEmpty(t, e.Detail)
}

func TestValidateMessage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		author domain.AuthorKind
		body   string
		want   string
		fields []string
	}{
		{"customer", domain.AuthorCustomer, "hello", "hello", nil},
		{"agent", domain.AuthorAgent, "**hi**", "**hi**", nil},
		{"owner", domain.AuthorOwner, "hi", "hi", nil},
		{"support", domain.AuthorSupport, "hi", "hi", nil},
		{"system", domain.AuthorSystem, "hi", "hi", nil},
		{"trimmed", domain.AuthorCustomer, "  \n hi there \t\n", "hi there", nil},
		{"one char", domain.AuthorCustomer, "x", "x", nil},
		{"20000 runes", domain.AuthorCustomer, strings.Repeat("é", 20_000), strings.Repeat("é", 20_000), nil},
		{"20000 runes plus spaces", domain.AuthorCustomer, "  " + strings.Repeat("a", 20_000) + "  ", strings.Repeat("a", 20_000), nil},
		{"20001 runes", domain.AuthorCustomer, strings.Repeat("a", 20_001), "", []string{"body"}},
		{"empty", domain.AuthorCustomer, "", "", []string{"body"}},
		{"only spaces", domain.AuthorCustomer, " \n\t ", "", []string{"body"}},
		{"unknown author", domain.AuthorKind("admin"), "hi", "", []string{"author_kind"}},
		{"empty author", "", "hi", "", []string{"author_kind"}},
		{"both", "bot", "", "", []string{"author_kind", "body"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.ValidateMessage(c.author, c.body)
			require.Equal(t, c.fields, fieldsOf(t, err))
			if c.fields == nil {
				require.Equal(t, c.want, got)
			}
		})
	}
}

func TestCheckNotSelfDealing(t *testing.T) {
	t.Parallel()
	require.NoError(t, domain.CheckNotSelfDealing("alice", "bob"))
	requireCode(t, domain.CheckNotSelfDealing("alice", "alice"), kernel.ErrForbidden, "self-dealing")
}
