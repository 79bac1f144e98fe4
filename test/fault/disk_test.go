//go:build fault

package fault_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/test/internal/heeprproc"
)

// diskSize is the tmpfs under heepr's file storage.
const diskSize = 1 << 20

// mountSmallDisk mounts a tmpfs of size bytes on dir, unmounted when the
// test ends. It needs root (CI runs as root); elsewhere the test skips.
func mountSmallDisk(t *testing.T, dir string, size int) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o700))
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size)+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a tmpfs on %s: %v\n%s", dir, err, out)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v\n%s; unmounting lazily", dir, err, out)
			_ = exec.Command("umount", "-l", dir).Run()
		}
	})
}

// filesUnder lists the regular files under dir (temp files included).
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	}))
	return out
}

func usedBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	return int64(st.Blocks-st.Bfree) * st.Bsize
}

// TestUploadOnFullDisk runs heepr with its file storage on a 1 MiB tmpfs
// and uploads a 2 MiB delivery and a 1.5 MiB avatar: each is refused with
// a problem+json that says the storage is full, leaves no file (not even
// a partial temp file) and no row, and a small upload afterwards works.
func TestUploadOnFullDisk(t *testing.T) {
	dbURL := heeprproc.FreshDatabase(t)
	p := newProc(t, "D", "all", dbURL)
	blobs := filepath.Join(p.DataDir, "blobs")
	mountSmallDisk(t, blobs, diskSize)
	h := p.Start(t)
	h.WaitReady(t)
	db := heeprproc.Connect(t, dbURL)

	m := heeprproc.NewMarket(t, h, "payout")
	var conv struct {
		ID string `json:"id"`
	}
	heeprproc.Call(t, h, http.MethodPost, "/v1/conversations", m.Customer,
		map[string]any{"agent_id": m.AgentID, "message": "A long report, please."}, http.StatusCreated, &conv)
	var quote, order struct {
		ID string `json:"id"`
	}
	heeprproc.Call(t, h, http.MethodPost, "/v1/conversations/"+conv.ID+"/quotes", m.Agent, map[string]any{
		"title": "Long report", "description": "A long report.", "price": 20, "delivery_days": 1,
		"revisions": 1, "category": "writing", "criteria": []string{"It is a report"},
		"expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
	}, http.StatusCreated, &quote)
	heeprproc.Call(t, h, http.MethodPost, "/v1/quotes/"+quote.ID+"/accept", heeprproc.Idem(m.Customer, "accept-"+quote.ID), nil, http.StatusCreated, &order)
	// Publishing renders the agent's skill package into the storage (a
	// job): wait for it, then take what the storage holds as the baseline.
	heeprproc.Eventually(t, "the skill package in the storage", 30*time.Second, func() bool { return len(filesUnder(t, blobs)) > 0 })
	filesBefore, usedBefore := filesUnder(t, blobs), usedBytes(t, blobs)

	// A 2 MiB delivery on a 1 MiB disk.
	big := bytes.Repeat([]byte("All work and no play makes a long report.\n"), (2<<20)/43)
	began := time.Now()
	resp, raw := heeprproc.Deliver(t, h, m.Agent, order.ID, "report.md", bytes.NewReader(big))
	took := time.Since(began)
	p1 := requireProblem(t, resp, raw, http.StatusRequestEntityTooLarge)
	require.Contains(t, p1.Type, "storage-full", "%s", raw)
	require.Equal(t, filesBefore, filesUnder(t, blobs), "a refused delivery leaves no file")
	require.Equal(t, usedBefore, usedBytes(t, blobs), "a refused delivery leaves no space used")
	require.Zero(t, heeprproc.Count(t, db, `SELECT count(*) FROM deliveries WHERE order_id = $1`, order.ID), "a refused delivery leaves no row")
	require.Zero(t, heeprproc.Count(t, db, `SELECT count(*) FROM delivery_files`), "a refused delivery leaves no file row")
	var status string
	require.NoError(t, db.QueryRow(t.Context(), `SELECT status FROM orders WHERE id = $1`, order.ID).Scan(&status))
	require.Equal(t, "in_progress", status)

	// A 1.5 MiB avatar (PNG by its first bytes) on the same disk.
	png := make([]byte, 3<<19)
	copy(png, "\x89PNG\r\n\x1a\n")
	_, _ = rand.Read(png[8:])
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, h.Base+"/v1/agents/"+m.AgentID+"/avatar", bytes.NewReader(png))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "image/png")
	m.Owner(req)
	resp, err = heeprproc.Client.Do(req)
	require.NoError(t, err)
	raw, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	p2 := requireProblem(t, resp, raw, http.StatusRequestEntityTooLarge)
	require.Contains(t, p2.Type, "storage-full", "%s", raw)
	require.Equal(t, filesBefore, filesUnder(t, blobs), "a refused avatar leaves no file")
	require.Equal(t, usedBefore, usedBytes(t, blobs), "a refused avatar leaves no space used")
	require.Zero(t, heeprproc.Count(t, db, `SELECT count(*) FROM agents WHERE id = $1 AND avatar_key IS NOT NULL`, m.AgentID), "a refused avatar leaves no row")

	// The disk works for what fits: a small delivery is stored and recorded.
	resp, raw = heeprproc.Deliver(t, h, m.Agent, order.ID, "report.md", strings.NewReader("# Report\n\nShort after all.\n"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", raw)
	require.Len(t, filesUnder(t, blobs), len(filesBefore)+1)
	require.Equal(t, int64(1), heeprproc.Count(t, db, `SELECT count(*) FROM delivery_files`))
	t.Logf("1 MiB tmpfs: 2 MiB delivery refused in %v with %d %q (%s); 1.5 MiB avatar refused with %d %q; no file, no row, no space left used; a small delivery then stored",
		took.Round(time.Millisecond), p1.Status, p1.Type, p1.Detail, p2.Status, p2.Type)
	h.Stop(t)
}
