package store

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/uptrace/bun"

	httpapi "github.com/heepr/heepr/adapters/http"
)

type idempotencyRow struct {
	bun.BaseModel `bun:"table:idempotency_keys"`

	Principal      string    `bun:"principal,pk"`
	Operation      string    `bun:"operation,pk"`
	Key            string    `bun:"key,pk"`
	RequestHash    string    `bun:"request_hash"`
	State          string    `bun:"state"`
	LockedUntil    time.Time `bun:"locked_until"`
	ResponseStatus *int      `bun:"response_status"`
	ResponseHeader *string   `bun:"response_header"`
	ResponseBody   []byte    `bun:"response_body"`
	CreatedAt      time.Time `bun:"created_at"`
	ExpiresAt      time.Time `bun:"expires_at"`
}

// Idempotency implements the HTTP adapter's IdempotencyStore.
type Idempotency struct{ db *DB }

// NewIdempotency returns the idempotency key store.
func NewIdempotency(db *DB) *Idempotency { return &Idempotency{db: db} }

var _ httpapi.IdempotencyStore = (*Idempotency)(nil)

// Claim inserts a running claim, or returns the key's record. An expired
// key is replaced; a running claim past its lock is taken over.
func (s *Idempotency) Claim(ctx context.Context, k httpapi.IdempotencyKey, hash string, now, lockedUntil, expires time.Time) (*httpapi.IdempotencyRecord, error) {
	// The key's row can vanish between the failed insert and the read (its
	// holder failed and released it, or it expired): then claim again.
	for range 3 {
		rec, err := s.claim(ctx, k, hash, now, lockedUntil, expires)
		if !IsNoRows(err) {
			return rec, err
		}
	}
	return nil, httpapi.ErrClaimLost
}

func (s *Idempotency) claim(ctx context.Context, k httpapi.IdempotencyKey, hash string, now, lockedUntil, expires time.Time) (*httpapi.IdempotencyRecord, error) {
	conn := s.db.Conn(ctx)
	row := &idempotencyRow{Principal: k.Principal, Operation: k.Operation, Key: k.Key, RequestHash: hash,
		State: "running", LockedUntil: lockedUntil, CreatedAt: now, ExpiresAt: expires}
	// A key past its lifetime is forgotten before it is claimed again.
	if _, err := conn.NewDelete().Model((*idempotencyRow)(nil)).Where("principal = ?", k.Principal).
		Where("operation = ?", k.Operation).Where("key = ?", k.Key).Where("expires_at <= ?", now).Exec(ctx); err != nil {
		return nil, fmt.Errorf("expire idempotency key: %w", err)
	}
	res, err := conn.NewInsert().Model(row).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil, nil
	}
	// Take over a claim whose holder presumably crashed (same request only).
	res, err = conn.NewUpdate().Model((*idempotencyRow)(nil)).Set("locked_until = ?", lockedUntil).
		Where("principal = ?", k.Principal).Where("operation = ?", k.Operation).Where("key = ?", k.Key).
		Where("state = 'running'").Where("locked_until < ?", now).Where("request_hash = ?", hash).Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("take over idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil, nil
	}
	got := new(idempotencyRow)
	if err := conn.NewSelect().Model(got).Where("principal = ?", k.Principal).Where("operation = ?", k.Operation).
		Where("key = ?", k.Key).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	rec := &httpapi.IdempotencyRecord{RequestHash: got.RequestHash, Done: got.State == "done", Body: got.ResponseBody}
	if got.ResponseStatus != nil {
		rec.Status = *got.ResponseStatus
	}
	if got.ResponseHeader != nil {
		rec.Header = httpapi.DecodeHeader(*got.ResponseHeader)
	}
	return rec, nil
}

// Complete stores the response of a running claim. A key that is no
// longer running (another request took the claim over and finished, or it
// was released) keeps what it has: httpapi.ErrClaimLost.
func (s *Idempotency) Complete(ctx context.Context, k httpapi.IdempotencyKey, status int, header http.Header, body []byte) error {
	h := httpapi.EncodeHeader(header)
	if body == nil {
		body = []byte{}
	}
	res, err := s.db.Conn(ctx).NewUpdate().Model((*idempotencyRow)(nil)).
		Set("state = 'done'").Set("response_status = ?", status).Set("response_header = ?", h).Set("response_body = ?", body).
		Where("principal = ?", k.Principal).Where("operation = ?", k.Operation).Where("key = ?", k.Key).
		Where("state = 'running'").Exec(ctx)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	} else if n == 0 {
		return httpapi.ErrClaimLost
	}
	return nil
}

// Release deletes a running claim.
func (s *Idempotency) Release(ctx context.Context, k httpapi.IdempotencyKey) error {
	_, err := s.db.Conn(ctx).NewDelete().Model((*idempotencyRow)(nil)).
		Where("principal = ?", k.Principal).Where("operation = ?", k.Operation).Where("key = ?", k.Key).
		Where("state = 'running'").Exec(ctx)
	return err
}

// Purge deletes keys past their lifetime (a periodic job).
func (s *Idempotency) Purge(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.Conn(ctx).NewDelete().Model((*idempotencyRow)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
