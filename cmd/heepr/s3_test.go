package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/blob"
	"github.com/heepr/heepr/adapters/blob/blobtest"
	"github.com/heepr/heepr/adapters/store/storetest"
	"github.com/heepr/heepr/api/client"
)

// The app on S3 (HEEPR_S3_URL): every private file (delivered files,
// avatars, skill packages) is written to the bucket, under the prefix,
// and nothing to the data folder; each comes back whole through HTTP. The
// server is blobtest's (versitygw, or HEEPR_TEST_S3_URL's); when it cannot
// start the test is skipped, except under CI=true, where it fails.
func TestAppOnS3(t *testing.T) {
	t.Parallel()
	srv := blobtest.StartS3OrSkip(t)
	for _, tg := range storetest.Targets(t) {
		t.Run(string(tg.Dialect), func(t *testing.T) {
			t.Parallel()
			s3cfg := srv.Config(t, "heepr/") // a bucket of its own (or a folder of its own on an external server)
			e := newEnv(t, tg, withConfig(func(c *config) { c.S3URL = blobtest.S3URL(s3cfg) }))
			appOnS3(t, e, srv, s3cfg)
		})
	}
}

func appOnS3(t *testing.T, e *env, srv *blobtest.S3Server, s3cfg blob.S3Config) {
	ctx := context.Background()
	require.IsType(t, &blob.S3{}, e.app.blobs, "HEEPR_S3_URL chose the S3 adapter")
	marker := "heepr-s3-e2e-" + randomID() // in the files' bytes, to look for them on disk

	// A delivery: a text file of two multipart parts and a bit (the part
	// size is 5 MiB), and a small one.
	big := s3TextFile(marker, 5<<20+300_000)
	notes := []byte("# Notes " + marker + "\n\nDelivered through S3.\n")
	s, o := e.startedOrder(t)
	d := e.deliver(t, s.agentC, o.Id, "Stored in the bucket.", upload{"big.txt", big}, upload{"notes.md", notes})
	require.Len(t, d.Files, 2)
	bigF, notesF := d.Files[0], d.Files[1]
	require.Equal(t, sha(big), bigF.Sha256)
	require.Equal(t, int64(len(big)), bigF.Size)
	require.Equal(t, sha(notes), notesF.Sha256)
	e.release(t, s.ownerC, d.Id)

	// Through downloadFile: whole, and ranges (one across the first part's end).
	for who, c := range map[string]*client.ClientWithResponses{"customer": s.custC, "owner": s.ownerC, "agent": s.agentC} {
		r := e.download(t, c, bigF.Id, nil)
		requireSameBytes(t, r.HTTPResponse, r.Body, http.StatusOK, big, who+": big.txt")
		requireDownloadHeaders(t, r.HTTPResponse, "big.txt")
	}
	r := e.download(t, s.custC, notesF.Id, nil)
	requireDownload(t, r.HTTPResponse, r.Body, "notes.md", notes)
	from, to := blob.MinPartSize-10, blob.MinPartSize+9
	rng := fmt.Sprintf("bytes=%d-%d", from, to)
	r = e.download(t, s.custC, bigF.Id, http.Header{"Range": {rng}})
	requireSameBytes(t, r.HTTPResponse, r.Body, http.StatusPartialContent, big[from:to+1], "range "+rng)
	require.Equal(t, fmt.Sprintf("bytes %d-%d/%d", from, to, len(big)), r.HTTPResponse.Header.Get("Content-Range"))
	requireDownloadHeaders(t, r.HTTPResponse, "big.txt")
	r = e.download(t, s.custC, bigF.Id, http.Header{"Range": {"bytes=-100"}})
	requireSameBytes(t, r.HTTPResponse, r.Body, http.StatusPartialContent, big[len(big)-100:], "suffix range")
	r = e.download(t, s.custC, bigF.Id, http.Header{"Range": {"bytes=1000000-"}})
	requireSameBytes(t, r.HTTPResponse, r.Body, http.StatusPartialContent, big[1000000:], "open range")

	// Through a signed link, anonymously: whole and a range.
	link := e.fileLink(t, s.custC, bigF.Id)
	resp, body := e.getLink(t, link, nil)
	requireSameBytes(t, resp, body, http.StatusOK, big, "signed link")
	requireDownloadHeaders(t, resp, "big.txt")
	resp, body = e.getLink(t, link, http.Header{"Range": {rng}})
	requireSameBytes(t, resp, body, http.StatusPartialContent, big[from:to+1], "signed link, range "+rng)

	// An avatar, replaced: the new one is served, the old object deleted.
	first := pngBytes(t)
	second := s3PNG(t)
	for _, img := range [][]byte{first, second} {
		up, err := s.ownerC.UploadAgentAvatarWithBodyWithResponse(ctx, s.agent.Id, "image/png", bytes.NewReader(img))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, up.StatusCode(), "uploadAgentAvatar: %s", up.Body)
		got, err := e.anon(t).GetAgentAvatarWithResponse(ctx, s.agent.Handle)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode(), "getAgentAvatar: %s", got.Body)
		require.Equal(t, img, got.Body)
		require.Equal(t, "image/png", got.HTTPResponse.Header.Get("Content-Type"))
	}

	// The skill package (rendered by a job when the agent was made).
	zipped, hdr := downloadPackage(t, s.ownerC, s.agent.Id, 1)
	require.Equal(t, "application/zip", hdr.Get("Content-Type"))
	require.Equal(t, sha(zipped), hdr.Get("X-Skill-Package-SHA256"))
	version, err := strconv.Atoi(hdr.Get("X-Skill-Package-Version"))
	require.NoError(t, err)
	e.waitJobsDone(t)

	// The bucket holds exactly these objects, under the prefix, with these
	// bytes, and nothing else: no unfinished upload, no stray file.
	stored := srv.Stored(t, s3cfg)
	avatarDir := "avatars/" + s.agent.Id + "/"
	var avatars []string
	for _, k := range stored {
		if strings.HasPrefix(k, avatarDir) {
			avatars = append(avatars, k)
		}
	}
	require.Len(t, avatars, 1, "the replaced avatar was deleted from the bucket: %q", stored)
	want := map[string][]byte{
		fmt.Sprintf("deliveries/%s/%s/%s", o.Id, d.Id, bigF.Id):   big,
		fmt.Sprintf("deliveries/%s/%s/%s", o.Id, d.Id, notesF.Id): notes,
		avatars[0]: second,
		fmt.Sprintf("skills/%s/v%d-%s.zip", s.agent.Id, version, sha(zipped)[:12]): zipped,
	}
	require.Equal(t, slices.Sorted(maps.Keys(want)), stored, "the bucket's objects (keys without the prefix %q)", s3cfg.Prefix)
	for key, b := range want {
		got := srv.Read(t, s3cfg, s3cfg.Prefix+key)
		require.True(t, bytes.Equal(b, got), "the object %s holds the bytes (%d bytes, want %d)", key, len(got), len(b))
	}

	// And nothing under the data folder: no blobs folder, no file holding
	// any of those bytes.
	_, err = os.Stat(filepath.Join(e.cfg.DataDir, "blobs"))
	require.ErrorIs(t, err, fs.ErrNotExist, "the local blob folder was never made")
	require.Zero(t, e.blobFiles(t))
	require.NoError(t, filepath.WalkDir(e.cfg.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		require.False(t, bytes.Contains(b, []byte(marker)), "%s holds delivered bytes", p)
		require.False(t, bytes.Contains(b, second), "%s holds the avatar", p)
		require.False(t, bytes.Contains(b, zipped), "%s holds the skill package", p)
		return nil
	}))
	e.requireLedgerOK(t)
}

// s3TextFile is n bytes of numbered text lines (sniffed as text/plain,
// which deliveries accept), each naming marker.
func s3TextFile(marker string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s line %08d\n", marker, i)
	}
	return b.Bytes()[:n]
}

// s3PNG is a PNG other than pngBytes's.
func s3PNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for x := range 16 {
		img.Set(x, x, color.RGBA{B: 200, A: 255})
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// requireSameBytes checks a download's status and bytes without printing
// megabytes when they differ.
func requireSameBytes(t *testing.T, resp *http.Response, body []byte, status int, want []byte, what string) {
	t.Helper()
	if resp.StatusCode != status {
		require.Equal(t, status, resp.StatusCode, "%s: %.500s", what, body)
	}
	require.Equal(t, len(want), len(body), "%s: length", what)
	require.True(t, bytes.Equal(want, body), "%s: the bytes differ (sha256 %s, want %s)", what, sha(body), sha(want))
}
