package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters (OWASP): 19 MiB, two passes, one lane.
const (
	argonMemoryKiB = 19456
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Bounds on the parameters Verify accepts from a stored hash: well above
// today's, so hashes stay verifiable when the cost is raised, but a corrupt
// hash can neither panic argon2 (t or p of 0), exhaust memory or CPU, nor
// match every password (an empty key).
const (
	maxArgonMemoryKiB = 1 << 20 // 1 GiB
	maxArgonTime      = 16
	minArgonSaltLen   = 8
	minArgonKeyLen    = 16
)

// Hasher hashes passwords with argon2id. Each hash takes ~19 MiB and ~25 ms,
// so at most one per core runs at a time; the rest wait (or give up with ctx).
type Hasher struct {
	slots chan struct{}
	// dummy is verified against when an email is unknown, so a miss costs
	// the same time as a wrong password.
	dummy string
}

// NewHasher bounds concurrent hashing to the core count.
func NewHasher() *Hasher {
	h := &Hasher{slots: make(chan struct{}, runtime.NumCPU())}
	d, err := h.Hash(context.Background(), "heepr-dummy-password-for-timing")
	if err != nil {
		panic(err)
	}
	h.dummy = d
	return h
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for password hashing: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns a PHC string: $argon2id$v=19$m=...,t=...,p=...$salt$key.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	h.release()
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify checks a password against a PHC string in constant time.
func (h *Hasher) Verify(ctx context.Context, phc, password string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("verify password: unknown hash format")
	}
	var version int
	var mem uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("verify password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil {
		return false, fmt.Errorf("verify password: parameters: %w", err)
	}
	if p < 1 || t < 1 || t > maxArgonTime || mem < 8*uint32(p) || mem > maxArgonMemoryKiB {
		return false, errors.New("verify password: parameters out of range")
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("verify password: salt: %w", err)
	}
	if len(salt) < minArgonSaltLen {
		return false, errors.New("verify password: salt too short")
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("verify password: key: %w", err)
	}
	if len(want) < minArgonKeyLen {
		return false, errors.New("verify password: key too short")
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	h.release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Burn spends the time of one verification, for unknown emails.
func (h *Hasher) Burn(ctx context.Context, password string) {
	_, _ = h.Verify(ctx, h.dummy, password)
}
