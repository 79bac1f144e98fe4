//go:build fault

package fault_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/test/internal/heeprproc"
)

func TestMain(m *testing.M) { heeprproc.Main(m, "fault") }

// newProc describes a heepr on dbURL (empty: the embedded SQLite) with a
// fresh address and data folder. Every fault test trades, so each runs with
// the platform fee and without rate limits (heeprproc.MarketEnv).
func newProc(t *testing.T, name, role, dbURL string) *heeprproc.Proc {
	t.Helper()
	return heeprproc.New(t, name, role, dbURL, heeprproc.MarketEnv()...)
}

// rssKiB reads a field (VmRSS, VmHWM) of /proc/PID/status in KiB.
func rssKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(t, err, "%s", line)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// problemOf decodes an application/problem+json answer.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func requireProblem(t *testing.T, resp *http.Response, raw []byte, status int) problemBody {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, "%s", raw)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), "%s", raw)
	var p problemBody
	require.NoError(t, json.Unmarshal(raw, &p), "%s", raw)
	require.Equal(t, status, p.Status)
	return p
}
