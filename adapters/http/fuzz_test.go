package httpapi

// Fuzz targets for the Idempotency-Key gate and the problem mapper
// (docs/RELIABILITY.md). `make test` runs their seeds (f.Add and
// testdata/fuzz/<target>); `make fuzz` explores from there.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/authz"
	"github.com/heepr/heepr/adapters/telemetry"
	"github.com/heepr/heepr/api"
	"github.com/heepr/heepr/modules/kernel"
)

// keyRecorder stands in for the idempotency store (adapters/store tests
// the real one on both databases): it records each key the gate lets
// through and answers as if the key had already completed, so the request
// is replayed and no handler (no service) runs.
type keyRecorder struct{ claims []IdempotencyKey }

func (k *keyRecorder) Claim(_ context.Context, key IdempotencyKey, hash string, _, _, _ time.Time) (*IdempotencyRecord, error) {
	k.claims = append(k.claims, key)
	return &IdempotencyRecord{RequestHash: hash, Done: true, Status: http.StatusOK,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"replayed":true}`)}, nil
}

func (k *keyRecorder) Complete(context.Context, IdempotencyKey, int, http.Header, []byte) error {
	return errors.New("keyRecorder: a replayed request completes nothing")
}

func (k *keyRecorder) Release(context.Context, IdempotencyKey) error {
	return errors.New("keyRecorder: a replayed request releases nothing")
}

// validIdempotencyKey is the rule openapi.yaml states for Idempotency-Key,
// written out here apart from the spec: 1 to 255 printable ASCII
// characters, no space.
func validIdempotencyKey(k string) bool {
	if len(k) < 1 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < '!' || k[i] > '~' {
			return false
		}
	}
	return true
}

// FuzzIdempotencyKey sends cancelOrder (a points-moving POST) through the
// whole handler with any Idempotency-Key. A key outside 1-255 printable
// ASCII characters is refused with a 400 problem naming the header before
// anything is claimed; any other key reaches the store exactly as sent,
// scoped to the caller and the operation, and the stored answer is
// replayed.
func FuzzIdempotencyKey(f *testing.F) {
	enforcer, err := authz.New()
	require.NoError(f, err)
	rec := &keyRecorder{}
	h, _, err := newHandler(Options{
		Enforcer: enforcer, Idempotency: rec,
		// Authentication stands in too: the bearer token below signs in a
		// customer, without the identity module.
		AgentAuth: func(context.Context, string) (kernel.Principal, error) {
			return kernel.Principal{Method: kernel.AuthToken, UserID: "u1", Roles: []kernel.Role{kernel.RoleCustomer}}, nil
		},
	})
	require.NoError(f, err)

	for _, k := range []string{
		"0196a0b2-7c3e-7000-8000-000000000001", "Order-42/Retry_1.B", "k", "!", "~", "a,b", "a;b", "%41", "a+b", `"quoted"`, "form=1&x=2",
		"", " ", " k", "k ", "a b", "k\t", "k\r\nX-Injected: 1", "é", "\x00", "\x7f", "\xff",
		strings.Repeat("k", 255), strings.Repeat("k", 256), strings.Repeat("é", 100),
	} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		rec.claims = nil
		r := httptest.NewRequest(http.MethodPost, "/v1/orders/0196a0b2-7c3e-7000-8000-000000000001/cancel", nil)
		r.Header.Set("Authorization", "Bearer hpr_agent_fuzz")
		r.Header["Idempotency-Key"] = []string{key}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		if validIdempotencyKey(key) {
			require.Equal(t, http.StatusOK, w.Code, "key %q: %s", key, w.Body)
			require.Equal(t, "true", w.Header().Get("Idempotent-Replayed"))
			require.JSONEq(t, `{"replayed":true}`, w.Body.String())
			require.Equal(t, []IdempotencyKey{{Principal: "user:u1", Operation: "cancelOrder", Key: key}}, rec.claims,
				"the key reaches the store as sent")
			return
		}
		require.Equal(t, http.StatusBadRequest, w.Code, "key %q: %s", key, w.Body)
		require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
		var p api.Problem
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
		require.Equal(t, ProblemBase+"validation", p.Type)
		require.NotNil(t, p.Errors)
		require.Equal(t, "Idempotency-Key", (*p.Errors)[0].Field, "key %q: %s", key, w.Body)
		require.Empty(t, rec.claims, "a refused key is never claimed")
	})
}

// statusOfKind is the status each error kind answers, written out here apart
// from statusOf.
var statusOfKind = map[kernel.Kind]int{
	kernel.ErrNotFound: 404, kernel.ErrInvalid: 400, kernel.ErrConflict: 409, kernel.ErrForbidden: 403,
	kernel.ErrAccountSuspended: 403, kernel.ErrUnauthenticated: 401, kernel.ErrInsufficientPoints: 422,
	kernel.ErrRateLimited: 429, kernel.ErrTooLarge: 413,
}

var kinds = []kernel.Kind{
	kernel.ErrNotFound, kernel.ErrInvalid, kernel.ErrConflict, kernel.ErrForbidden, kernel.ErrAccountSuspended,
	kernel.ErrUnauthenticated, kernel.ErrInsufficientPoints, kernel.ErrRateLimited, kernel.ErrTooLarge,
}

// viaJSON is s as a client reads it back from a JSON body (invalid UTF-8
// becomes U+FFFD).
func viaJSON(t *testing.T, s string) string {
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var out string
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// answer runs writeError for err and returns the response and the log.
func answer(err error) (*httptest.ResponseRecorder, *bytes.Buffer) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	r := httptest.NewRequest(http.MethodGet, "/v1/orders/o1", nil)
	r = r.WithContext(telemetry.WithRequestID(r.Context(), "req-1"))
	w := httptest.NewRecorder()
	writeError(w, r, log, err)
	return w, &logs
}

// FuzzProblem maps any error to its answer. Every answer is one
// application/problem+json object, never cached, whose status (4xx or 5xx)
// is the HTTP status; a domain error answers its kind's status with its own
// code, detail and fields and nothing of the context it was wrapped in
// (nor of an internal error joined to it); Retry-After rounds up to whole
// seconds; an error without a kind answers 500 with the same body whatever
// its text, and that text goes to the log in full.
func FuzzProblem(f *testing.F) {
	f.Add(uint8(0), "", "order not found", "db: password=hunter2", uint8(0), int64(0), "", "", int64(0))
	f.Add(uint8(1), "validation", "the request has invalid fields", "", uint8(1), int64(0), "tiers[0].price", "must be at least 1", int64(0))
	f.Add(uint8(2), "email-taken", "that email is registered", "insert users: duplicate key", uint8(3), int64(0), "", "", int64(0))
	f.Add(uint8(7), "rate-limited", "too many requests; retry in 2 s", "", uint8(0), int64(1500*time.Millisecond), "", "", int64(0))
	f.Add(uint8(7), "rate-limited", "", "", uint8(0), int64(1), "", "", int64(0))
	f.Add(uint8(7), "rate-limited", "", "", uint8(0), int64(-time.Second), "", "", int64(0))
	f.Add(uint8(8), "", "\xff\xfe<script>", "", uint8(0), int64(0), "", "", int64(0))
	f.Add(uint8(9), "", "", "", uint8(2), int64(0), "", "", int64(1<<20))
	f.Add(uint8(10), "", "", `pq: relation "users" does not exist`, uint8(2), int64(0), "", "", int64(0))
	f.Add(uint8(10), "", "", "", uint8(0), int64(0), "", "", int64(0))
	f.Add(uint8(2*12+11), "conflict", "the order was cancelled", "SELECT * FROM orders", uint8(1), int64(0), "", "", int64(0))
	golden, _ := answer(errors.New("")) // what every internal error answers
	f.Fuzz(func(t *testing.T, sel uint8, code, detail, internal string, wraps uint8, retryNs int64, field, fieldDetail string, limit int64) {
		// The error (sel % 12): 0-8 a domain error of each kind, 9 a body
		// over its limit, 10 an internal error, 11 an internal error joined
		// to a domain error (of kind sel / 12 % 9); then wrapped with context
		// that names internal things.
		var (
			err   error
			kerr  *kernel.Error
			retry = time.Duration(retryNs % int64(400*24*time.Hour)) // up to a year, either way
		)
		if k := int(sel) % 12; k < len(kinds) || k == 11 {
			kind := kinds[k%len(kinds)]
			if k == 11 {
				kind = kinds[int(sel)/12%len(kinds)]
			}
			kerr = kernel.New(kind, code, "%s", detail)
			if field != "" {
				kerr.Fields = []kernel.FieldError{{Field: field, Detail: fieldDetail}}
			}
			kerr.RetryAfter = retry
			err = kerr
			if k == 11 {
				err = errors.Join(errors.New(internal), kerr)
			}
		} else if k == 9 {
			err = &http.MaxBytesError{Limit: limit}
		} else {
			err = errors.New(internal)
		}
		for i := range wraps % 4 {
			err = fmt.Errorf("step %d on %s: %w", i, internal, err)
		}

		w, logs := answer(err)

		require.GreaterOrEqual(t, w.Code, 400)
		require.LessOrEqual(t, w.Code, 599)
		require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
		require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
		d := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
		d.DisallowUnknownFields()
		var p api.Problem
		require.NoError(t, d.Decode(&p), "one problem object: %s", w.Body)
		require.False(t, d.More(), "nothing after it: %s", w.Body)
		require.Equal(t, w.Code, p.Status)
		require.NotEmpty(t, p.Title)
		require.Equal(t, "/v1/orders/o1", *p.Instance)
		require.Equal(t, "req-1", *p.RequestId)

		var mbe *http.MaxBytesError
		switch {
		case kerr != nil:
			wantCode := code
			if wantCode == "" {
				wantCode = string(kerr.Kind)
			}
			require.Equal(t, statusOfKind[kerr.Kind], w.Code, "kind %s", kerr.Kind)
			require.Equal(t, ProblemBase+viaJSON(t, wantCode), p.Type)
			require.Equal(t, viaJSON(t, detail), *p.Detail, "the domain error's own detail, nothing it was wrapped in")
			if field != "" {
				require.Equal(t, []api.FieldError{{Field: viaJSON(t, field), Detail: viaJSON(t, fieldDetail)}}, *p.Errors)
			} else {
				require.Nil(t, p.Errors)
			}
			if retry > 0 {
				secs, err := strconv.Atoi(w.Header().Get("Retry-After"))
				require.NoError(t, err)
				require.Equal(t, int((retry+time.Second-1)/time.Second), secs)
				require.GreaterOrEqual(t, secs, 1)
			} else {
				require.Empty(t, w.Header().Get("Retry-After"))
			}
			require.Empty(t, logs.String(), "a domain error is the caller's, not logged as a failure")
		case errors.As(err, &mbe):
			require.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
			require.Equal(t, ProblemBase+"body-too-large", p.Type)
			require.Equal(t, "the request body is larger than "+strconv.FormatInt(limit, 10)+" bytes", *p.Detail)
		default:
			require.Equal(t, http.StatusInternalServerError, w.Code)
			require.Equal(t, golden.Body.String(), w.Body.String(), "an internal error says nothing of itself")
			var line struct{ Error string }
			require.NoError(t, json.Unmarshal(logs.Bytes(), &line), "one log line: %s", logs)
			require.Equal(t, viaJSON(t, err.Error()), line.Error, "the log has the error in full")
		}
	})
}
