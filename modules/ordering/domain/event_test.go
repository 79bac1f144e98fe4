package domain_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/ordering/domain"
)

func TestNextCursor(t *testing.T) {
	t.Parallel()
	ev := func(seqs ...int64) []domain.Event {
		out := make([]domain.Event, len(seqs))
		for i, s := range seqs {
			out[i] = domain.Event{Seq: s}
		}
		return out
	}
	for name, tc := range map[string]struct {
		cursor int64
		handed []domain.Event
		want   int64
	}{
		"nothing handed out keeps the cursor":   {cursor: 7, want: 7},
		"new events move it to the newest":      {cursor: 7, handed: ev(8, 9), want: 9},
		"redeliveries behind it do not move it": {cursor: 7, handed: ev(3, 4), want: 7},
		"redeliveries and new events":           {cursor: 7, handed: ev(3, 8), want: 8},
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tc.want, domain.NextCursor(tc.cursor, tc.handed))
		})
	}
}
