package kernel

import (
	"crypto/rand"
	"hash/crc32"
	"strings"
)

// Secret token kinds, by prefix. The prefix tells a secret scanner and heepr what
// the token is before any lookup.
const (
	PersonalTokenPrefix = "hpr_pat_"
	AgentKeyPrefix      = "hpr_agent_"
)

const (
	alphabet    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	randomLen   = 30 // 30 base62 characters: about 178 random bits
	checksumLen = 6  // CRC32 in base62
	displayLen  = 12 // characters after the prefix shown to recognise a token
)

// NewToken returns a fresh secret: prefix, random part, checksum.
func NewToken(prefix string) string {
	out := make([]byte, 0, randomLen)
	raw := make([]byte, 2*randomLen)
	for len(out) < randomLen {
		if _, err := rand.Read(raw); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		for _, c := range raw {
			if c < 248 && len(out) < randomLen { // 248 = 4*62: reject to keep the draw uniform
				out = append(out, alphabet[c%62])
			}
		}
	}
	body := prefix + string(out)
	return body + checksum(body)
}

// ValidToken checks a token's shape and checksum without any lookup, so
// garbage never reaches the database.
func ValidToken(token, prefix string) bool {
	if len(token) != len(prefix)+randomLen+checksumLen || !strings.HasPrefix(token, prefix) {
		return false
	}
	body := token[:len(token)-checksumLen]
	for _, c := range body[len(prefix):] {
		if !strings.ContainsRune(alphabet, c) {
			return false
		}
	}
	sum := checksumOf(body)
	return string(sum[:]) == token[len(token)-checksumLen:] // compared without allocating
}

// TokenDisplayPrefix is the part of a token safe to show in lists.
func TokenDisplayPrefix(token, prefix string) string {
	return token[:len(prefix)+displayLen]
}

func checksum(s string) string {
	sum := checksumOf(s)
	return string(sum[:])
}

func checksumOf(s string) [checksumLen]byte {
	n := crc32.ChecksumIEEE([]byte(s))
	var out [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[n%62]
		n /= 62
	}
	return out
}
