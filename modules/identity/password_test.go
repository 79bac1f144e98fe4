package identity

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"
)

func TestHashIsArgon2idPHC(t *testing.T) {
	t.Parallel()
	h := NewHasher()
	phc, err := h.Hash(t.Context(), "correct horse battery")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$"), phc)

	parts := strings.Split(phc, "$")
	require.Len(t, parts, 6)
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	require.NoError(t, err)
	require.Len(t, salt, 16)
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	require.NoError(t, err)
	require.Len(t, key, 32)

	again, err := h.Hash(t.Context(), "correct horse battery")
	require.NoError(t, err)
	require.NotEqual(t, phc, again, "each hash has its own salt")
}

func TestVerify(t *testing.T) {
	t.Parallel()
	h := &Hasher{slots: make(chan struct{}, 2)}
	phc, err := h.Hash(t.Context(), "correct horse battery")
	require.NoError(t, err)

	cases := map[string]bool{
		"correct horse battery":  true,
		"correct horse battery ": false,
		"Correct horse battery":  false,
		"":                       false,
	}
	for pw, want := range cases {
		ok, err := h.Verify(t.Context(), phc, pw)
		require.NoError(t, err)
		require.Equal(t, want, ok, "Verify(%q)", pw)
	}
}

// A hash made with other (valid) parameters still verifies: the parameters
// are read from the PHC string, so raising them later keeps old hashes working.
func TestVerifyReadsParameters(t *testing.T) {
	t.Parallel()
	h := &Hasher{slots: make(chan struct{}, 1)}
	// argon2id, m=8, t=1, p=1 of "password" with salt "somesalt" (16 bytes of key).
	const phc = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$"
	key := argonKey(t, "password", "somesalt", 1, 8, 1, 16)
	ok, err := h.Verify(t.Context(), phc+key, "password")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = h.Verify(t.Context(), phc+key, "passw0rd")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	h := &Hasher{slots: make(chan struct{}, 2)}
	good, err := h.Hash(t.Context(), "correct horse battery")
	require.NoError(t, err)
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	cases := map[string]string{
		"empty":              "",
		"bcrypt":             "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":            with(1, "argon2i"),
		"too few fields":     strings.Join(parts[:5], "$"),
		"too many fields":    good + "$extra",
		"version 16":         with(2, "v=16"),
		"no version":         with(2, "x=19"),
		"garbled parameters": with(3, "m=19456;t=2;p=1"),
		"p out of range":     with(3, "m=19456,t=2,p=256"),
		"t of zero":          with(3, "m=19456,t=0,p=1"),
		"p of zero":          with(3, "m=19456,t=2,p=0"),
		"memory too small":   with(3, "m=1,t=2,p=1"),
		"memory absurd":      with(3, "m=4294967295,t=2,p=1"),
		"passes absurd":      with(3, "m=19456,t=4294967295,p=1"),
		"salt not base64":    with(4, "!!!"),
		"salt empty":         with(4, ""),
		"key not base64":     with(5, "!!!"),
		"key empty":          with(5, ""),
		"key too short":      with(5, "AAAA"),
		"salt padded base64": with(4, parts[4]+"=="),
	}
	for name, phc := range cases {
		ok, err := h.Verify(t.Context(), phc, "correct horse battery")
		require.Error(t, err, "%s: %q", name, phc)
		require.False(t, ok, name)
	}
}

// With every hashing slot taken, a caller whose context ends gets an error
// instead of waiting forever; once a slot frees up, hashing works again.
func TestHashingWaitsForASlot(t *testing.T) {
	t.Parallel()
	h := &Hasher{slots: make(chan struct{}, 2)}
	phc, err := h.Hash(t.Context(), "correct horse battery")
	require.NoError(t, err)
	for range cap(h.slots) {
		require.NoError(t, h.acquire(t.Context()))
	}

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = h.Hash(cancelled, "correct horse battery")
	require.ErrorIs(t, err, context.Canceled)
	ok, err := h.Verify(cancelled, phc, "correct horse battery")
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, ok)

	short, cancel2 := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel2()
	_, err = h.Hash(short, "correct horse battery")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// A waiter with no deadline blocks until a slot is released.
	done := make(chan error, 1)
	go func() {
		_, err := h.Verify(context.Background(), phc, "correct horse battery")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Verify ran while every slot was taken (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	h.release()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Verify did not run after a slot was released")
	}
	require.Len(t, h.slots, cap(h.slots)-1, "Verify gave its slot back")
}

func TestBurnUsesAValidHash(t *testing.T) {
	t.Parallel()
	h := NewHasher()
	// Burn must do the work of a real verification: the dummy hash parses.
	ok, err := h.Verify(t.Context(), h.dummy, "heepr-dummy-password-for-timing")
	require.NoError(t, err)
	require.True(t, ok)
	h.Burn(t.Context(), "anything")
	require.Empty(t, h.slots, "Burn gives its slot back")
}

func argonKey(t *testing.T, password, salt string, time, memory uint32, threads uint8, keyLen uint32) string {
	t.Helper()
	return base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte(password), []byte(salt), time, memory, threads, keyLen))
}
