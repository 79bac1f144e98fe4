// Package httpapi is heepr's HTTP adapter (directory adapters/http): it
// implements the strict server generated from openapi.yaml, one file per
// module, and the middleware chain around it. Errors become
// application/problem+json here and nowhere else.
package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/heepr/heepr/adapters/telemetry"
	"github.com/heepr/heepr/api"
	"github.com/heepr/heepr/modules/kernel"
)

// ProblemBase prefixes every problem type; the slug after it is stable.
const ProblemBase = "https://heepr.dev/problems/"

// problem is one error answer.
type problem struct {
	Status     int
	Code       string
	Title      string
	Detail     string
	Fields     []kernel.FieldError
	RetryAfter time.Duration
	Allow      string
}

var titles = map[string]string{
	"validation":          "Invalid request",
	"malformed-json":      "Malformed JSON",
	"not-found":           "Not found",
	"method-not-allowed":  "Method not allowed",
	"body-too-large":      "Request body too large",
	"unsupported-media":   "Unsupported media type",
	"unauthenticated":     "Authentication required",
	"invalid-credentials": "Invalid credentials",
	"invalid-token":       "Invalid token",
	"session-expired":     "Session expired",
	"forbidden":           "Forbidden",
	"csrf":                "Cross-origin request refused",
	"conflict":            "Conflict",
	"email-taken":         "Email already registered",
	"rate-limited":        "Too many requests",
	"too-many-polls":      "Too many polls at once",
	"internal":            "Internal error",
	"insufficient-points": "Not enough points",
	"account-suspended":   "Account suspended",

	"webhook-url-not-allowed": "Webhook URL not allowed",

	"range-not-satisfiable": "Range not satisfiable",
	"precondition-failed":   "Precondition failed",
}

func title(code string, status int) string {
	if t, ok := titles[code]; ok {
		return t
	}
	return http.StatusText(status)
}

func statusOf(k kernel.Kind) int {
	switch k {
	case kernel.ErrNotFound:
		return http.StatusNotFound
	case kernel.ErrInvalid:
		return http.StatusBadRequest
	case kernel.ErrConflict:
		return http.StatusConflict
	case kernel.ErrForbidden, kernel.ErrAccountSuspended:
		return http.StatusForbidden
	case kernel.ErrUnauthenticated:
		return http.StatusUnauthorized
	case kernel.ErrInsufficientPoints:
		return http.StatusUnprocessableEntity
	case kernel.ErrRateLimited:
		return http.StatusTooManyRequests
	case kernel.ErrTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// fromError maps any error to a problem. Errors without a kernel kind are
// internal: logged in full, answered with nothing but the request id.
func fromError(err error) problem {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return problem{Status: http.StatusRequestEntityTooLarge, Code: "body-too-large",
			Detail: "the request body is larger than " + strconv.FormatInt(mbe.Limit, 10) + " bytes"}
	}
	if e, ok := kernel.As(err); ok {
		return problem{Status: statusOf(e.Kind), Code: e.Code, Detail: e.Detail, Fields: e.Fields, RetryAfter: e.RetryAfter}
	}
	return problem{Status: http.StatusInternalServerError, Code: "internal",
		Detail: "something went wrong on our side; quote the request id if you contact support"}
}

// writeError answers with the problem for err, logging internal errors.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := fromError(err)
	if p.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "error", err.Error(), "path", r.URL.Path)
	}
	writeProblem(w, r, p)
}

func writeProblem(w http.ResponseWriter, r *http.Request, p problem) {
	body := api.Problem{
		Type:      ProblemBase + p.Code,
		Title:     title(p.Code, p.Status),
		Status:    p.Status,
		Detail:    &p.Detail,
		Instance:  ptr(r.URL.Path),
		RequestId: ptr(telemetry.RequestID(r.Context())),
	}
	if len(p.Fields) > 0 {
		fe := make([]api.FieldError, len(p.Fields))
		for i, f := range p.Fields {
			fe[i] = api.FieldError{Field: f.Field, Detail: f.Detail}
		}
		body.Errors = &fe
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(waitSeconds(p.RetryAfter), 10))
	}
	if p.Allow != "" {
		h.Set("Allow", p.Allow)
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(body)
}

func ptr[T any](v T) *T { return &v }

// maxWait caps the waits heepr announces (Retry-After, RateLimit's reset).
// A limiter that can never grant a request says so with the longest
// duration there is; rounding that up would overflow into a negative
// header, and nobody should be told to come back in 292 years.
const maxWait = 24 * time.Hour

// waitSeconds is d in whole seconds, rounded up, between 0 and maxWait.
func waitSeconds(d time.Duration) int64 {
	d = min(max(d, 0), maxWait)
	return int64((d + time.Second - 1) / time.Second)
}
