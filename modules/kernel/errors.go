// Package kernel is heepr's tiny shared kernel: error kinds, ids, points,
// the clock and transaction ports, principals and cursors.
package kernel

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error for every adapter: the HTTP layer turns a kind
// into a status code and a problem type in exactly one place.
type Kind string

// Error kinds. Each is itself an error so callers can write errors.Is(err, kernel.ErrNotFound).
const (
	ErrNotFound           Kind = "not-found"
	ErrInvalid            Kind = "validation"
	ErrConflict           Kind = "conflict"
	ErrForbidden          Kind = "forbidden"
	ErrUnauthenticated    Kind = "unauthenticated"
	ErrInsufficientPoints Kind = "insufficient-points"
	ErrRateLimited        Kind = "rate-limited"
	ErrAccountSuspended   Kind = "account-suspended"
	ErrTooLarge           Kind = "too-large"
)

func (k Kind) Error() string { return string(k) }

// FieldError names one invalid input field.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Error is a domain error: a kind, a stable code (the problem type's slug),
// a human detail safe to show to the caller, and optional field errors.
type Error struct {
	Kind       Kind
	Code       string
	Detail     string
	Fields     []FieldError
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Code
	}
	return e.Code + ": " + e.Detail
}

// Is makes errors.Is(err, kernel.ErrConflict) match an *Error of that kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// New builds an error of a kind with a code (defaults to the kind).
func New(kind Kind, code, format string, args ...any) *Error {
	if code == "" {
		code = string(kind)
	}
	return &Error{Kind: kind, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing (or foreign) object. The detail never says which.
func NotFound(what string) *Error {
	return &Error{Kind: ErrNotFound, Code: "not-found", Detail: what + " not found"}
}

// Invalid reports bad input with one or more field errors.
func Invalid(fields ...FieldError) *Error {
	detail := "the request has invalid fields"
	if len(fields) == 1 {
		detail = fields[0].Field + ": " + fields[0].Detail
	}
	return &Error{Kind: ErrInvalid, Code: "validation", Detail: detail, Fields: fields}
}

// Conflict reports a state conflict with a specific code ("email-taken").
func Conflict(code, format string, args ...any) *Error {
	return New(ErrConflict, code, format, args...)
}

// Forbidden reports an action the principal may not take.
func Forbidden(code, format string, args ...any) *Error {
	return New(ErrForbidden, code, format, args...)
}

// Unauthenticated reports missing or wrong credentials.
func Unauthenticated(code, format string, args ...any) *Error {
	return New(ErrUnauthenticated, code, format, args...)
}

// RateLimited reports too many attempts; retry after d.
func RateLimited(d time.Duration) *Error {
	e := New(ErrRateLimited, "rate-limited", "too many requests; retry in %d s", int(d.Round(time.Second)/time.Second))
	e.RetryAfter = d
	return e
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Fields collects field errors and turns them into one Invalid error.
type Fields []FieldError

// Add records a field error.
func (f *Fields) Add(field, detail string) { *f = append(*f, FieldError{Field: field, Detail: detail}) }

// Err returns nil when no field failed.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return Invalid(f...)
}
