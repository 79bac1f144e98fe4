package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const payoutsOutput = `postgres-version: 15.20 (Debian 15.20-0+deb12u1)
payouts-drain: round=1 side=heepr payouts=10000 workers=20 fee_bps=1000 seed_s=1.20 seconds=50.000
payouts-drain: round=1 side=baseline payouts=10000 workers=20 fee_bps=1000 seed_s=1.10 seconds=40.000
payouts-drain: round=2 side=baseline payouts=10000 workers=20 fee_bps=1000 seed_s=1.10 seconds=44.000
payouts-drain: round=2 side=heepr payouts=10000 workers=20 fee_bps=1000 seed_s=1.20 seconds=70.000
payouts-drain: round=3 side=heepr payouts=10000 workers=20 fee_bps=1000 seed_s=1.20 seconds=55.000
payouts-drain: round=3 side=baseline payouts=10000 workers=20 fee_bps=1000 seed_s=1.10 seconds=42.000
BenchmarkPayoutsDrain-2   	       1	       238.1 base-payouts/s	        42.00 base-s	       181.8 heepr-payouts/s	        55.00 heepr-s
PASS
`

func TestParseAndRenderPayouts(t *testing.T) {
	t.Parallel()
	r, err := parsePayouts([]byte(payoutsOutput))
	require.NoError(t, err)
	require.Equal(t, "2", r.procs)
	require.Equal(t, 10000, r.payouts)
	require.Equal(t, []float64{50, 70, 55}, r.secs["heepr"])
	table := renderPayouts(r)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	require.Len(t, lines, 3, "header, rule, one row")
	require.Contains(t, lines[2], "| 42.0 s (238) | 55.0 s (182) | **0.76** | 0.80, 0.63, 0.76 | 50.0 s, 70.0 s, 55.0 s | < 60 s for 10,000 | met |")

	r.secs["heepr"] = []float64{61, 62, 63}
	require.Contains(t, renderPayouts(r), "| **missed** |")

	_, err = parsePayouts([]byte("payouts-drain: round=1 side=heepr payouts=10 workers=20 fee_bps=0 seed_s=0.1 seconds=1.0\n"))
	require.Error(t, err, "a heepr drain without its baseline")
}
