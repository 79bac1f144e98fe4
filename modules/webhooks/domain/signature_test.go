package domain_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/webhooks/domain"
)

// The test vector of the Standard Webhooks specification (and of its
// reference libraries).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = int64(1614265330)
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesStandardWebhooksVector(t *testing.T) {
	t.Parallel()
	key, err := domain.SecretKey(vectorSecret)
	require.NoError(t, err)
	require.Equal(t, vectorSignature, domain.Sign(key, vectorID, vectorTimestamp, []byte(vectorPayload)))

	// The prefix is optional, as in the reference libraries.
	bare, err := domain.SecretKey(strings.TrimPrefix(vectorSecret, domain.SecretPrefix))
	require.NoError(t, err)
	require.Equal(t, key, bare)

	header, err := domain.SignatureHeader([]string{vectorSecret}, vectorID, vectorTimestamp, []byte(vectorPayload))
	require.NoError(t, err)
	require.Equal(t, vectorSignature, header)
}

func TestVerifyVector(t *testing.T) {
	t.Parallel()
	at := time.Unix(vectorTimestamp, 0)
	ts := strconv.FormatInt(vectorTimestamp, 10)
	body := []byte(vectorPayload)
	require.NoError(t, domain.Verify(vectorSecret, vectorID, ts, body, vectorSignature, at))
	require.NoError(t, domain.Verify(vectorSecret, vectorID, ts, body, vectorSignature, at.Add(domain.Tolerance)), "at the edge of the tolerance")

	cases := map[string]struct {
		secret, id, ts, body, header string
		now                          time.Time
		want                         error
	}{
		"another body":        {vectorSecret, vectorID, ts, `{"test": 2432232315}`, vectorSignature, at, domain.ErrNoMatch},
		"another id":          {vectorSecret, "msg_other", ts, vectorPayload, vectorSignature, at, domain.ErrNoMatch},
		"another secret":      {"whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", vectorID, ts, vectorPayload, vectorSignature, at, domain.ErrNoMatch},
		"another version":     {vectorSecret, vectorID, ts, vectorPayload, "v2," + strings.TrimPrefix(vectorSignature, "v1,"), at, domain.ErrNoMatch},
		"no signature":        {vectorSecret, vectorID, ts, vectorPayload, "", at, domain.ErrNoMatch},
		"timestamp too old":   {vectorSecret, vectorID, ts, vectorPayload, vectorSignature, at.Add(domain.Tolerance + time.Second), domain.ErrTimestamp},
		"timestamp too new":   {vectorSecret, vectorID, ts, vectorPayload, vectorSignature, at.Add(-domain.Tolerance - time.Second), domain.ErrTimestamp},
		"timestamp not a num": {vectorSecret, vectorID, "yesterday", vectorPayload, vectorSignature, at, domain.ErrTimestamp},
		"timestamp changed":   {vectorSecret, vectorID, strconv.FormatInt(vectorTimestamp+1, 10), vectorPayload, vectorSignature, at, domain.ErrNoMatch},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.ErrorIs(t, domain.Verify(c.secret, c.id, c.ts, []byte(c.body), c.header, c.now), c.want)
		})
	}
	require.Error(t, domain.Verify("whsec_not base64!", vectorID, ts, body, vectorSignature, at))
}

// Several signatures, space-separated: any one that matches verifies the
// message, so a receiver still on the previous secret accepts messages
// signed during a rotation.
func TestMultipleSignatures(t *testing.T) {
	t.Parallel()
	other := domain.NewSecret([]byte("another key of thirty-two bytes!"))
	header, err := domain.SignatureHeader([]string{other, vectorSecret}, vectorID, vectorTimestamp, []byte(vectorPayload))
	require.NoError(t, err)
	sigs := strings.Split(header, " ")
	require.Len(t, sigs, 2)
	require.Equal(t, vectorSignature, sigs[1])
	at, ts := time.Unix(vectorTimestamp, 0), strconv.FormatInt(vectorTimestamp, 10)
	require.NoError(t, domain.Verify(vectorSecret, vectorID, ts, []byte(vectorPayload), header, at))
	require.NoError(t, domain.Verify(other, vectorID, ts, []byte(vectorPayload), header, at))
	require.NoError(t, domain.Verify(vectorSecret, vectorID, ts, []byte(vectorPayload), "v1,bogus "+vectorSignature, at))
	require.ErrorIs(t, domain.Verify(domain.NewSecret([]byte("a third key")), vectorID, ts, []byte(vectorPayload), header, at), domain.ErrNoMatch)
}

func TestRotation(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	e := domain.Endpoint{AgentID: "a"}.Register("https://hooks.example.com/", "whsec_old", now)
	require.Equal(t, []string{"whsec_old"}, e.Secrets(now))

	e = e.Rotate("whsec_new", now)
	require.Equal(t, []string{"whsec_new", "whsec_old"}, e.Secrets(now), "the new secret first, the old one beside it")
	require.Equal(t, []string{"whsec_new", "whsec_old"}, e.Secrets(now.Add(domain.RotationOverlap-time.Second)))
	require.Equal(t, []string{"whsec_new"}, e.Secrets(now.Add(domain.RotationOverlap)), "the old one stops after the overlap")

	// Registering again starts afresh: one secret, enabled, no failures.
	e, disabled := e.Failed(domain.Gone, now)
	require.True(t, disabled)
	require.False(t, e.Enabled())
	e = e.Register("https://hooks.example.com/v2", "whsec_fresh", now.Add(time.Hour))
	require.True(t, e.Enabled())
	require.Equal(t, []string{"whsec_fresh"}, e.Secrets(now.Add(time.Hour)))
	require.Zero(t, e.ConsecutiveFailures)
	require.Nil(t, e.FailingSince)
	require.Equal(t, now, e.CreatedAt)
}

func TestNewSecretRoundTrips(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	s := domain.NewSecret(key)
	require.True(t, strings.HasPrefix(s, "whsec_"))
	got, err := domain.SecretKey(s)
	require.NoError(t, err)
	require.Equal(t, key, got)
	_, err = domain.SecretKey("whsec_")
	require.Error(t, err)
}
