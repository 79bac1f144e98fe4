package kernel_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
)

var kinds = []kernel.Kind{
	kernel.ErrNotFound, kernel.ErrInvalid, kernel.ErrConflict, kernel.ErrForbidden,
	kernel.ErrUnauthenticated, kernel.ErrInsufficientPoints, kernel.ErrRateLimited, kernel.ErrAccountSuspended,
}

func TestErrorKindsThroughWrapping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  *kernel.Error
		kind kernel.Kind
		code string
	}{
		{kernel.NotFound("order"), kernel.ErrNotFound, "not-found"},
		{kernel.Invalid(kernel.FieldError{Field: "email", Detail: "is required"}), kernel.ErrInvalid, "validation"},
		{kernel.Conflict("email-taken", "the email %s is taken", "a@b.co"), kernel.ErrConflict, "email-taken"},
		{kernel.Forbidden("not-a-customer", "no"), kernel.ErrForbidden, "not-a-customer"},
		{kernel.Unauthenticated("invalid-credentials", "no"), kernel.ErrUnauthenticated, "invalid-credentials"},
		{kernel.RateLimited(time.Second), kernel.ErrRateLimited, "rate-limited"},
		{kernel.New(kernel.ErrInsufficientPoints, "", "need %d more", 5), kernel.ErrInsufficientPoints, "insufficient-points"},
		{kernel.New(kernel.ErrAccountSuspended, "suspended", "bye"), kernel.ErrAccountSuspended, "suspended"},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			t.Parallel()
			wrapped := fmt.Errorf("place order: %w", fmt.Errorf("load user: %w", c.err))
			joined := errors.Join(errors.New("other"), wrapped)
			for _, err := range []error{c.err, wrapped, joined} {
				for _, k := range kinds {
					require.Equal(t, k == c.kind, errors.Is(err, k), "errors.Is(%v, %s)", err, k)
				}
				e, ok := kernel.As(err)
				require.True(t, ok)
				require.Same(t, c.err, e)
				require.Equal(t, c.code, e.Code)
				var target *kernel.Error
				require.ErrorAs(t, err, &target)
			}
		})
	}
}

func TestKindIsAnError(t *testing.T) {
	t.Parallel()
	require.ErrorIs(t, kernel.ErrNotFound, kernel.ErrNotFound)
	require.ErrorIs(t, fmt.Errorf("x: %w", kernel.ErrConflict), kernel.ErrConflict)
	require.NotErrorIs(t, kernel.ErrConflict, kernel.ErrNotFound)
	require.Equal(t, "not-found", kernel.ErrNotFound.Error())
	_, ok := kernel.As(kernel.ErrNotFound)
	require.False(t, ok, "a bare kind is not an *Error")
}

func TestAsOnForeignErrors(t *testing.T) {
	t.Parallel()
	for _, err := range []error{nil, errors.New("boom"), fmt.Errorf("wrap: %w", errors.New("boom"))} {
		e, ok := kernel.As(err)
		require.False(t, ok)
		require.Nil(t, e)
		for _, k := range kinds {
			require.NotErrorIs(t, err, k)
		}
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	require.Equal(t, "not-found: order not found", kernel.NotFound("order").Error())
	require.Equal(t, "email-taken: the email a@b.co is taken", kernel.Conflict("email-taken", "the email %s is taken", "a@b.co").Error())
	require.Equal(t, "conflict", kernel.New(kernel.ErrConflict, "", "").Error(), "code defaults to the kind; no detail, no colon")

	one := kernel.Invalid(kernel.FieldError{Field: "email", Detail: "is required"})
	require.Equal(t, "email: is required", one.Detail)
	two := kernel.Invalid(kernel.FieldError{Field: "email", Detail: "is required"}, kernel.FieldError{Field: "role", Detail: "is wrong"})
	require.Equal(t, "the request has invalid fields", two.Detail)
	require.Len(t, two.Fields, 2)

	rl := kernel.RateLimited(1500 * time.Millisecond)
	require.Equal(t, 1500*time.Millisecond, rl.RetryAfter)
	require.Equal(t, "too many requests; retry in 2 s", rl.Detail)
}

func TestFields(t *testing.T) {
	t.Parallel()
	var f kernel.Fields
	require.NoError(t, f.Err())
	require.True(t, f.Err() == nil, "an empty Fields gives an untyped nil error")

	f.Add("email", "is required")
	f.Add("password", "is too short")
	err := f.Err()
	require.ErrorIs(t, err, kernel.ErrInvalid)
	e, ok := kernel.As(fmt.Errorf("sign up: %w", err))
	require.True(t, ok)
	require.Equal(t, []kernel.FieldError{{Field: "email", Detail: "is required"}, {Field: "password", Detail: "is too short"}}, e.Fields)
}
