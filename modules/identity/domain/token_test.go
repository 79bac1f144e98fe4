package domain_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/identity/domain"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// 30 random base62 characters (about 178 bits) and a 6-character checksum.
const tokenBody = 30 + 6

func TestNewToken(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{domain.PersonalTokenPrefix, domain.AgentKeyPrefix} {
		tok := domain.NewToken(prefix)
		require.Len(t, tok, len(prefix)+tokenBody)
		require.True(t, strings.HasPrefix(tok, prefix))
		for _, c := range tok[len(prefix):] {
			require.Contains(t, base62, string(c), "character %q of %s is not base62", c, tok)
		}
		require.True(t, domain.ValidToken(tok, prefix), "a fresh token is valid: %s", tok)
	}
}

func TestTokensAreDistinct(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool, 1000)
	for range 1000 {
		tok := domain.NewToken(domain.PersonalTokenPrefix)
		require.False(t, seen[tok], "duplicate token %s", tok)
		seen[tok] = true
	}
}

// Changing any one character after the prefix, to any other base62
// character, fails the checksum.
func TestValidTokenCatchesEveryFlip(t *testing.T) {
	t.Parallel()
	prefix := domain.PersonalTokenPrefix
	tok := domain.NewToken(prefix)
	for i := len(prefix); i < len(tok); i++ {
		for _, c := range base62 {
			if byte(c) == tok[i] {
				continue
			}
			bad := tok[:i] + string(c) + tok[i+1:]
			require.False(t, domain.ValidToken(bad, prefix), "flipped position %d to %q: %s", i, c, bad)
		}
	}
}

func TestValidTokenRejects(t *testing.T) {
	t.Parallel()
	pat := domain.NewToken(domain.PersonalTokenPrefix)
	agent := domain.NewToken(domain.AgentKeyPrefix)
	body := pat[len(domain.PersonalTokenPrefix):]
	cases := map[string]struct{ token, prefix string }{
		"empty":                    {"", domain.PersonalTokenPrefix},
		"prefix only":              {domain.PersonalTokenPrefix, domain.PersonalTokenPrefix},
		"one character short":      {pat[:len(pat)-1], domain.PersonalTokenPrefix},
		"one character long":       {pat + "0", domain.PersonalTokenPrefix},
		"agent key as a pat":       {agent, domain.PersonalTokenPrefix},
		"pat as an agent key":      {pat, domain.AgentKeyPrefix},
		"upper-case prefix":        {strings.ToUpper(domain.PersonalTokenPrefix) + body, domain.PersonalTokenPrefix},
		"other prefix, same body":  {"hpr_tok_" + body, domain.PersonalTokenPrefix},
		"non-base62 character":     {pat[:10] + "-" + pat[11:], domain.PersonalTokenPrefix},
		"non-ASCII character":      {pat[:10] + "é" + pat[12:], domain.PersonalTokenPrefix},
		"surrounding whitespace":   {" " + pat[:len(pat)-1], domain.PersonalTokenPrefix},
		"swapped adjacent randoms": {pat[:12] + string(pat[13]) + string(pat[12]) + pat[14:], domain.PersonalTokenPrefix},
	}
	for name, c := range cases {
		if name == "swapped adjacent randoms" && pat[12] == pat[13] {
			continue // swapping equal characters changes nothing
		}
		require.False(t, domain.ValidToken(c.token, c.prefix), "%s: %q", name, c.token)
	}
}

func TestTokenDisplayPrefix(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{domain.PersonalTokenPrefix, domain.AgentKeyPrefix} {
		tok := domain.NewToken(prefix)
		shown := domain.TokenDisplayPrefix(tok, prefix)
		require.Equal(t, tok[:len(prefix)+12], shown)
		require.True(t, strings.HasPrefix(shown, prefix))
		require.Less(t, len(shown)-len(prefix), 30/2, "the display prefix shows less than half of the random part")
	}
}
