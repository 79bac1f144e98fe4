package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/heepr/heepr/modules/kernel"
)

// IdempotencyKey names one use of a key: per principal, operation and key.
type IdempotencyKey struct {
	Principal string
	Operation string
	Key       string
}

// IdempotencyRecord is what a key has recorded.
type IdempotencyRecord struct {
	RequestHash string
	Done        bool
	Status      int
	Header      http.Header
	Body        []byte
}

// IdempotencyStore keeps keys (adapters/store implements it).
type IdempotencyStore interface {
	// Claim records the key as running, committed at once, and returns nil;
	// when the key exists it returns its record instead (a running claim
	// whose lock expired is taken over and also returns nil). ErrClaimLost:
	// the key changed under it too often; the caller may retry.
	Claim(ctx context.Context, k IdempotencyKey, requestHash string, now, lockedUntil, expires time.Time) (*IdempotencyRecord, error)
	// Complete stores the response of a running claim; it runs in the
	// effect's transaction (or after it, for a refusal). A key that is no
	// longer running keeps what it has and Complete answers ErrClaimLost.
	Complete(ctx context.Context, k IdempotencyKey, status int, header http.Header, body []byte) error
	// Release forgets a running claim whose request failed on our side.
	Release(ctx context.Context, k IdempotencyKey) error
}

// Idempotency timings.
const (
	idempotencyTTL  = 24 * time.Hour
	idempotencyLock = time.Minute // a claim older than this is presumed crashed
)

var errRollback = errors.New("roll back: the request did not succeed")

// ErrClaimLost means a request no longer holds its key: its claim was
// taken over after the lock expired (and the other request finished), or
// released. Its answer must not replace the key's.
var ErrClaimLost = errors.New("the idempotency key's claim was lost to another request")

func inProgress(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, r, problem{Status: http.StatusConflict, Code: "idempotency-in-progress",
		Detail: "a request with this Idempotency-Key is still running; retry shortly", RetryAfter: time.Second})
}

// idempotent runs a points-moving operation at most once per key: the
// response is stored in the same transaction as the effect and replayed
// byte for byte for the same key and body; another body answers 422; a
// retry while the first is running answers 409. 4xx answers are stored and
// replayed too; a 5xx releases the key so a retry can run.
func (s *Server) idempotent(op string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := principalFrom(ctx)
		k := IdempotencyKey{Principal: idempotencyPrincipal(p), Operation: op, Key: r.Header.Get("Idempotency-Key")}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.New()
		sum.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
		sum.Write(body)
		hash := hex.EncodeToString(sum.Sum(nil))

		now := s.clock.Now()
		rec, err := s.idem.Claim(ctx, k, hash, now, now.Add(idempotencyLock), now.Add(idempotencyTTL))
		if errors.Is(err, ErrClaimLost) {
			inProgress(w, r)
			return
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if rec != nil {
			switch {
			case rec.RequestHash != hash:
				writeProblem(w, r, problem{Status: http.StatusUnprocessableEntity, Code: "idempotency-key-reused",
					Detail: "this Idempotency-Key was used with a different request; use a new key for a new request"})
			case !rec.Done:
				inProgress(w, r)
			default:
				replay(w, rec)
			}
			return
		}

		rec2 := newBufferedWriter()
		defer func() {
			// A panic (answered 500 by the recover middleware) frees the key
			// at once instead of leaving it running until the lock lapses.
			if v := recover(); v != nil {
				if rerr := s.idem.Release(context.WithoutCancel(ctx), k); rerr != nil {
					s.log.ErrorContext(ctx, "release idempotency key", "error", rerr.Error())
				}
				panic(v)
			}
		}()
		err = s.tx.InTx(ctx, func(ctx context.Context) error {
			next.ServeHTTP(rec2, r.WithContext(ctx))
			if rec2.status < 200 || rec2.status >= 300 {
				return errRollback
			}
			return s.idem.Complete(ctx, k, rec2.status, rec2.header, rec2.body.Bytes())
		})
		switch {
		case err == nil:
		case errors.Is(err, ErrClaimLost):
			// Another request took the key over and answered: ours rolled
			// back; a retry gets that request's answer.
			s.log.WarnContext(ctx, "idempotency claim lost; the effect was rolled back", "operation", op)
			inProgress(w, r)
			return
		case errors.Is(err, errRollback) && rec2.status < 500:
			// The effect was refused (bad input, not enough points): keep the answer for retries.
			cerr := s.idem.Complete(context.WithoutCancel(ctx), k, rec2.status, rec2.header, rec2.body.Bytes())
			switch {
			case errors.Is(cerr, ErrClaimLost):
				// Refused because the request that took the key over has
				// done it (already-applied): a retry gets its answer.
				s.log.WarnContext(ctx, "idempotency claim lost; the refusal was not stored", "operation", op)
				inProgress(w, r)
				return
			case cerr != nil:
				s.log.ErrorContext(ctx, "store idempotent answer", "error", cerr.Error())
			}
		default:
			if rerr := s.idem.Release(context.WithoutCancel(ctx), k); rerr != nil {
				s.log.ErrorContext(ctx, "release idempotency key", "error", rerr.Error())
			}
			if !errors.Is(err, errRollback) { // the commit itself failed: the effect did not happen
				writeError(w, r, s.log, err)
				return
			}
		}
		rec2.flushTo(w)
	})
}

func idempotencyPrincipal(p kernel.Principal) string {
	if p.Method == kernel.AuthAgent {
		return "agent:" + p.AgentID
	}
	return "user:" + string(p.UserID)
}

func replay(w http.ResponseWriter, rec *IdempotencyRecord) {
	for k, v := range rec.Header {
		w.Header()[k] = v
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(rec.Status)
	_, _ = w.Write(rec.Body)
}

// bufferedWriter holds a response until its transaction has committed.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedWriter() *bufferedWriter { return &bufferedWriter{header: http.Header{}} }

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedWriter) flushTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

// EncodeHeader and DecodeHeader store response headers as JSON.
func EncodeHeader(h http.Header) string {
	b, _ := json.Marshal(h)
	return string(b)
}

// DecodeHeader reads headers stored by EncodeHeader.
func DecodeHeader(s string) http.Header {
	h := http.Header{}
	_ = json.Unmarshal([]byte(s), &h)
	return h
}
