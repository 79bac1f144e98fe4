// Package domain holds the webhook rules: Standard Webhooks signatures,
// which targets may be called, the retry schedule, and the states of an
// endpoint and its deliveries. Standard library and kernel only.
package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret; the rest is the key, base64.
const SecretPrefix = "whsec_"

// SecretBytes is the length of a new key (Standard Webhooks: 24 to 64).
const SecretBytes = 32

// Headers of a signed request (Standard Webhooks).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Tolerance is how far a receiver should accept a timestamp from its own
// clock (either way): older messages may be replays.
const Tolerance = 5 * time.Minute

var errSecret = errors.New("a webhook secret is whsec_ followed by a base64 key")

// NewSecret renders a key as a secret ("whsec_" + base64 of the key).
func NewSecret(key []byte) string { return SecretPrefix + base64.StdEncoding.EncodeToString(key) }

// SecretKey reads the key of a secret (the prefix is optional, as the
// Standard Webhooks libraries accept it).
func SecretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, errSecret
	}
	return key, nil
}

// Sign returns the v1 signature of a message: "v1," + base64 of
// HMAC-SHA256(key, id + "." + timestamp + "." + body).
func Sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SignatureHeader signs a message with every secret (the current one
// first; during a rotation the previous one too), space-separated.
func SignatureHeader(secrets []string, id string, ts int64, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := SecretKey(s)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, Sign(key, id, ts, body))
	}
	return strings.Join(sigs, " "), nil
}

// Verification errors.
var (
	ErrNoMatch   = errors.New("no signature matches")
	ErrTimestamp = errors.New("the timestamp is missing or too far from now")
)

// Verify checks a received message as a receiver would: the timestamp
// is within Tolerance of now, and one of the space-separated v1
// signatures of the header matches the secret (compared in constant time).
func Verify(secret, id, timestamp string, body []byte, header string, now time.Time) error {
	key, err := SecretKey(secret)
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return ErrTimestamp
	}
	want := []byte(Sign(key, id, ts, body))
	for sig := range strings.FieldsSeq(header) {
		if hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return ErrNoMatch
}
