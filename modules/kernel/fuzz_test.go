package kernel_test

// Fuzz targets for secret tokens and cursors (docs/RELIABILITY.md). `make
// test` runs their seeds (f.Add and testdata/fuzz/<target>); `make fuzz`
// explores from there.

import (
	"encoding/base64"
	"hash/crc32"
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr"
	"github.com/heepr/heepr/modules/kernel"
)

// tokenChecksum is the checksum a token ends with, computed here apart from
// the kernel's code: CRC-32 (IEEE) of prefix and random part, as 6 base62
// digits, most significant first.
func tokenChecksum(body string) string {
	n := crc32.ChecksumIEEE([]byte(body))
	out := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out)
}

// FuzzToken: ValidToken accepts exactly the canonical tokens (the prefix,
// 30 base62 characters, their checksum) of the one kind asked for; a token
// built from any random part is accepted; changing any one byte of it is
// caught before any lookup.
func FuzzToken(f *testing.F) {
	pat := kernel.NewToken(kernel.PersonalTokenPrefix)
	agent := kernel.NewToken(kernel.AgentKeyPrefix)
	f.Add(pat, false, []byte("0123456789abcdefghijklmnopqrst"), uint(12), byte('A'))
	f.Add(agent, true, []byte{0xff, 0, 7}, uint(0), byte('h'))
	f.Add(agent, false, []byte{}, uint(40), byte('0'))
	f.Add(" "+pat, false, []byte("x"), uint(45), byte(' '))
	f.Add(strings.ToUpper(pat), false, []byte("\x00"), uint(8), byte('_'))
	f.Add(kernel.PersonalTokenPrefix, false, []byte("é"), uint(7), byte(0))
	f.Fuzz(func(t *testing.T, s string, isAgent bool, random []byte, pos uint, c byte) {
		prefix, other := kernel.PersonalTokenPrefix, kernel.AgentKeyPrefix
		if isAgent {
			prefix, other = other, prefix
		}

		// Any string: accepted exactly when it is canonical.
		want := len(s) == len(prefix)+30+6 && strings.HasPrefix(s, prefix) &&
			!strings.ContainsFunc(s[len(prefix):len(s)-6], func(r rune) bool { return !strings.ContainsRune(base62, r) }) &&
			tokenChecksum(s[:len(s)-6]) == s[len(s)-6:]
		require.Equal(t, want, kernel.ValidToken(s, prefix), "ValidToken(%q, %q)", s, prefix)
		if want {
			require.False(t, kernel.ValidToken(s, other), "a %s token is not a %s token: %q", prefix, other, s)
			shown := kernel.TokenDisplayPrefix(s, prefix)
			require.Equal(t, s[:len(prefix)+12], shown, "the display prefix is the kind and 12 characters")
		}

		// A token made from any random part is accepted, and re-encodes to itself.
		r := make([]byte, 30)
		for i := range r {
			if len(random) > 0 {
				r[i] = base62[int(random[i%len(random)])%62]
			} else {
				r[i] = '0'
			}
		}
		tok := prefix + string(r) + tokenChecksum(prefix+string(r))
		require.True(t, kernel.ValidToken(tok, prefix), "built from its parts: %q", tok)
		require.False(t, kernel.ValidToken(tok, other))

		// Any one byte changed, anywhere, to anything: refused.
		i := int(pos % uint(len(tok)))
		if tok[i] != c {
			bad := tok[:i] + string([]byte{c}) + tok[i+1:]
			require.False(t, kernel.ValidToken(bad, prefix), "byte %d changed to %q: %q", i, c, bad)
		}
		// Cut or lengthened by one: refused.
		require.False(t, kernel.ValidToken(tok[:len(tok)-1], prefix))
		require.False(t, kernel.ValidToken(tok+string([]byte{c}), prefix))
	})
}

// cursorParam is the Cursor query parameter of openapi.yaml: what the
// request validator lets through to DecodeCursor.
var cursorParam = sync.OnceValues(func() (*regexp.Regexp, int) {
	spec, err := openapi3.NewLoader().LoadFromData(heepr.OpenAPI)
	if err != nil {
		panic(err)
	}
	s := spec.Components.Parameters["Cursor"].Value.Schema.Value
	return regexp.MustCompile(s.Pattern), int(*s.MaxLength)
})

// Positions as the modules keep them: marketplace (float sort key),
// ordering (int64 key, omitted when zero), moderation (a sequence number),
// and the bare ids of PageByID.
type (
	floatPosition struct {
		Key float64 `json:"k"`
		ID  string  `json:"i"`
	}
	intPosition struct {
		Key int64  `json:"k,omitempty"`
		ID  string `json:"i"`
	}
)

// requireCursorRefused checks a refusal is the 400 every client sees for a
// bad cursor: a validation error naming the cursor field.
func requireCursorRefused(t *testing.T, err error, s string) {
	t.Helper()
	require.ErrorIs(t, err, kernel.ErrInvalid, "cursor %q", s)
	e, ok := kernel.As(err)
	require.True(t, ok)
	require.Equal(t, []kernel.FieldError{{Field: "cursor", Detail: "is not a cursor this API issued"}}, e.Fields)
}

// decodesStably checks what a cursor from outside decodes to: nothing a
// database refuses (a string with a NUL answered 500), and a value that
// encodes to a cursor the validator lets through and that decodes to the
// same value again. strs lists the value's strings.
func decodesStably[T any](t *testing.T, s string, strs func(T) []string) {
	t.Helper()
	var v T
	err := kernel.DecodeCursor(s, &v)
	if err != nil {
		requireCursorRefused(t, err, s)
		return
	}
	for _, str := range strs(v) {
		require.NotContains(t, str, "\x00", "cursor %q decoded to %#v", s, v)
	}
	pattern, _ := cursorParam()
	again := kernel.EncodeCursor(v)
	require.Regexp(t, pattern, again)
	var w T
	require.NoError(t, kernel.DecodeCursor(again, &w), "re-encoded %#v", v)
	require.Equal(t, v, w, "cursor %q decodes to %#v, its re-encoding to %#v", s, v, w)
}

// FuzzCursor: an issued cursor (of any id a store holds) passes the
// spec's cursor pattern and length and decodes to what was encoded; any
// cursor from outside is either refused as a validation error on "cursor"
// or decodes to a value without NUL characters that re-encodes stably.
func FuzzCursor(f *testing.F) {
	const uuid = "0196a0b2-7c3e-7000-8000-000000000001"
	f.Add("", uuid, int64(1764430000000000), 12.5)
	f.Add(kernel.EncodeCursor(uuid), "", int64(0), 0.0)
	f.Add(kernel.EncodeCursor(floatPosition{Key: 4.5, ID: uuid}), "x", int64(-1), -0.0)
	f.Add(kernel.EncodeCursor(intPosition{Key: 1, ID: uuid}), "é", int64(1<<62), 1e308)
	f.Add(kernel.EncodeCursor(int64(42)), "a\"b\\c", int64(-1<<63), 5e-324)
	f.Add(`{"k":1e400,"i":"x"}`, "\u2028", int64(7), 3.0)
	f.Add(`{"K":-0,"I":"\ud800","i":"y"}`, "a", int64(7), 3.0)
	f.Add(`"\u0041\u00e9\t"`, "a", int64(7), 3.0)
	f.Add("bnVsbA", "\xff", int64(7), 3.0) // null
	f.Add("!!!", "", int64(7), 3.0)
	f.Fuzz(func(t *testing.T, s, id string, key int64, fkey float64) {
		// From outside: s as it comes, and s as the JSON inside a cursor
		// (the fuzzer reaches far more JSON this way than through base64).
		for _, s := range []string{s, base64.RawURLEncoding.EncodeToString([]byte(s))} {
			_, err := kernel.IDCursor(s)
			if err != nil {
				requireCursorRefused(t, err, s)
			}
			decodesStably(t, s, func(v string) []string { return []string{v} })
			decodesStably(t, s, func(int64) []string { return nil })
			decodesStably(t, s, func(v floatPosition) []string { return []string{v.ID} })
			decodesStably(t, s, func(v intPosition) []string { return []string{v.ID} })
		}
		got, err := kernel.IDCursor("")
		require.NoError(t, err)
		require.Empty(t, got, "no cursor: the first page")

		// Issued: ids are what a store holds (valid UTF-8, no NUL), sort
		// keys are numbers JSON can hold (not NaN or infinite).
		if !utf8.ValidString(id) || strings.ContainsRune(id, 0) || math.IsNaN(fkey) || math.IsInf(fkey, 0) {
			return
		}
		pattern, maxLen := cursorParam()
		for _, v := range []any{id, floatPosition{Key: fkey, ID: id}, intPosition{Key: key, ID: id}, key} {
			c := kernel.EncodeCursor(v)
			require.Regexp(t, pattern, c, "issued for %#v", v)
			if len(id) <= 36 { // a UUID, or anything shorter
				require.LessOrEqual(t, len(c), maxLen, "issued for %#v", v)
			}
		}
		got, err = kernel.IDCursor(kernel.EncodeCursor(id))
		require.NoError(t, err)
		require.Equal(t, id, got)
		var fp floatPosition
		require.NoError(t, kernel.DecodeCursor(kernel.EncodeCursor(floatPosition{Key: fkey, ID: id}), &fp))
		require.Equal(t, floatPosition{Key: fkey, ID: id}, fp)
		var ip intPosition
		require.NoError(t, kernel.DecodeCursor(kernel.EncodeCursor(intPosition{Key: key, ID: id}), &ip))
		require.Equal(t, intPosition{Key: key, ID: id}, ip)
		var n int64
		require.NoError(t, kernel.DecodeCursor(kernel.EncodeCursor(key), &n))
		require.Equal(t, key, n)
	})
}
