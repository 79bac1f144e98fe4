package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/moderation/domain"
)

func chain(n int) []domain.Entry {
	var out []domain.Entry
	head := domain.Entry{}
	for i := range n {
		head = domain.Next(head, domain.Entry{At: time.Date(2026, 11, 1, 0, 0, i, 0, time.UTC), Actor: "user:a",
			Action: "identity.role_enabled", Target: "user:a", Reason: "asked"})
		out = append(out, head)
	}
	return out
}

func TestChain(t *testing.T) {
	t.Parallel()
	es := chain(5)
	require.Equal(t, domain.Genesis, es[0].PrevHash)
	require.Equal(t, es[0].Hash, es[1].PrevHash)
	require.Zero(t, domain.Check(es, domain.Entry{}))
	require.Zero(t, domain.Check(es[2:], es[1]), "a walk may start in the middle")

	edited := chain(5)
	edited[2].Reason = "changed"
	require.Equal(t, int64(3), domain.Check(edited, domain.Entry{}), "an edited entry")

	rehashed := chain(5)
	rehashed[2].Reason = "changed"
	rehashed[2].Hash = domain.HashOf(rehashed[2])
	require.Equal(t, int64(4), domain.Check(rehashed, domain.Entry{}), "a forged hash breaks the next link")

	removed := append(chain(5)[:2:2], chain(5)[3:]...)
	require.Equal(t, int64(4), domain.Check(removed, domain.Entry{}), "a removed entry")

	swapped := chain(5)
	swapped[1], swapped[2] = swapped[2], swapped[1]
	require.Equal(t, int64(3), domain.Check(swapped, domain.Entry{}), "reordered")
}

func TestHashFieldsAreUnambiguous(t *testing.T) {
	t.Parallel()
	a := domain.Entry{Seq: 1, Actor: "ab", Action: "c", Target: "t"}
	b := domain.Entry{Seq: 1, Actor: "a", Action: "bc", Target: "t"}
	require.NotEqual(t, domain.HashOf(a), domain.HashOf(b))
}

func TestValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, domain.Entry{Actor: "user:a", Action: "x.y", Target: "user:b"}.Validate())
	require.Error(t, domain.Entry{Action: "x.y", Target: "user:b"}.Validate())
	require.Error(t, domain.Entry{Actor: "user:a", Action: "two words", Target: "user:b"}.Validate())
	require.Error(t, domain.Entry{Actor: "user:a", Action: "x.y"}.Validate())
}
