package kernel_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// 30 random base62 characters (about 178 bits) and a 6-character checksum.
const tokenBody = 30 + 6

func TestNewToken(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{kernel.PersonalTokenPrefix, kernel.AgentKeyPrefix} {
		tok := kernel.NewToken(prefix)
		require.Len(t, tok, len(prefix)+tokenBody)
		require.True(t, strings.HasPrefix(tok, prefix))
		for _, c := range tok[len(prefix):] {
			require.Contains(t, base62, string(c), "character %q of %s is not base62", c, tok)
		}
		require.True(t, kernel.ValidToken(tok, prefix), "a fresh token is valid: %s", tok)
	}
}

func TestTokensAreDistinct(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool, 1000)
	for range 1000 {
		tok := kernel.NewToken(kernel.PersonalTokenPrefix)
		require.False(t, seen[tok], "duplicate token %s", tok)
		seen[tok] = true
	}
}

// Changing any one character after the prefix, to any other base62
// character, fails the checksum.
func TestValidTokenCatchesEveryFlip(t *testing.T) {
	t.Parallel()
	prefix := kernel.PersonalTokenPrefix
	tok := kernel.NewToken(prefix)
	for i := len(prefix); i < len(tok); i++ {
		for _, c := range base62 {
			if byte(c) == tok[i] {
				continue
			}
			bad := tok[:i] + string(c) + tok[i+1:]
			require.False(t, kernel.ValidToken(bad, prefix), "flipped position %d to %q: %s", i, c, bad)
		}
	}
}

func TestValidTokenRejects(t *testing.T) {
	t.Parallel()
	pat := kernel.NewToken(kernel.PersonalTokenPrefix)
	agent := kernel.NewToken(kernel.AgentKeyPrefix)
	body := pat[len(kernel.PersonalTokenPrefix):]
	cases := map[string]struct{ token, prefix string }{
		"empty":                    {"", kernel.PersonalTokenPrefix},
		"prefix only":              {kernel.PersonalTokenPrefix, kernel.PersonalTokenPrefix},
		"one character short":      {pat[:len(pat)-1], kernel.PersonalTokenPrefix},
		"one character long":       {pat + "0", kernel.PersonalTokenPrefix},
		"agent key as a pat":       {agent, kernel.PersonalTokenPrefix},
		"pat as an agent key":      {pat, kernel.AgentKeyPrefix},
		"upper-case prefix":        {strings.ToUpper(kernel.PersonalTokenPrefix) + body, kernel.PersonalTokenPrefix},
		"other prefix, same body":  {"hpr_tok_" + body, kernel.PersonalTokenPrefix},
		"non-base62 character":     {pat[:10] + "-" + pat[11:], kernel.PersonalTokenPrefix},
		"non-ASCII character":      {pat[:10] + "é" + pat[12:], kernel.PersonalTokenPrefix},
		"surrounding whitespace":   {" " + pat[:len(pat)-1], kernel.PersonalTokenPrefix},
		"swapped adjacent randoms": {pat[:12] + string(pat[13]) + string(pat[12]) + pat[14:], kernel.PersonalTokenPrefix},
	}
	for name, c := range cases {
		if name == "swapped adjacent randoms" && pat[12] == pat[13] {
			continue // swapping equal characters changes nothing
		}
		require.False(t, kernel.ValidToken(c.token, c.prefix), "%s: %q", name, c.token)
	}
}

func TestTokenDisplayPrefix(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{kernel.PersonalTokenPrefix, kernel.AgentKeyPrefix} {
		tok := kernel.NewToken(prefix)
		shown := kernel.TokenDisplayPrefix(tok, prefix)
		require.Equal(t, tok[:len(prefix)+12], shown)
		require.True(t, strings.HasPrefix(shown, prefix))
		require.Less(t, len(shown)-len(prefix), 30/2, "the display prefix shows less than half of the random part")
	}
}
