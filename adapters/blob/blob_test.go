package blob_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/blob"
	"github.com/heepr/heepr/adapters/blob/blobtest"
	"github.com/heepr/heepr/modules/kernel"
)

// The contract (package blobtest) runs for every adapter; the tests after
// it are about one adapter's own ways.

func TestLocal(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, newLocalStore)
}

func TestS3(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, newS3Store)
}

// TestPutStreamsTheBody does not run in parallel: it measures the heap.
func TestPutStreamsTheBody(t *testing.T) {
	for name, open := range map[string]func(*testing.T) blobtest.Store{"Local": newLocalStore, "S3": newS3Store} {
		t.Run(name, func(t *testing.T) {
			const size, check = 64 << 20, 60 << 20
			var live uint64
			body := &probe{r: io.LimitReader(zeros{}, size), at: check, f: func() {
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				live = m.HeapAlloc
			}}
			s := open(t)
			b, err := s.Blobs.Put(t.Context(), "big", body, 0)
			require.NoError(t, err)
			require.Equal(t, int64(size), b.Size)
			require.NotZero(t, live, "the probe ran")
			t.Logf("live heap with %d MiB read: %.1f MiB", check>>20, float64(live)/(1<<20))
			require.Less(t, live, uint64(32<<20), "with %d MiB read, the heap holds no copy of it", check>>20)
			require.NoError(t, s.Blobs.Delete(t.Context(), "big"))
		})
	}
}

// probe calls f once, when at bytes have been read.
type probe struct {
	r  io.Reader
	n  int64
	at int64
	f  func()
}

func (p *probe) Read(b []byte) (int, error) {
	b = b[:min(len(b), 32<<10)]
	n, err := p.r.Read(b)
	if p.n < p.at && p.n+int64(n) >= p.at {
		p.f()
	}
	p.n += int64(n)
	return n, err
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// ---- Local ----

// newLocal opens a blob folder in a fresh temporary directory and returns
// it with its root path.
func newLocal(t *testing.T) (*blob.Local, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "blobs")
	l, err := blob.NewLocal(root)
	require.NoError(t, err)
	return l, root
}

func newLocalStore(t *testing.T) blobtest.Store {
	l, root := newLocal(t)
	return blobtest.Store{Blobs: l, Stored: func(t *testing.T) []string { return files(t, root) }}
}

// files lists every non-directory entry under root (objects and temp
// files alike), as slash paths relative to root: a key is the path of its
// file under the folder.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	}))
	slices.Sort(out)
	return out
}

func TestLocalFilesAre0600AndDirs0700(t *testing.T) {
	t.Parallel()
	l, root := newLocal(t)
	_, err := l.Put(context.Background(), "a/b/c.bin", strings.NewReader("secret"), 0)
	require.NoError(t, err)
	for _, dir := range []string{root, filepath.Join(root, "a"), filepath.Join(root, "a", "b")} {
		fi, err := os.Stat(dir)
		require.NoError(t, err)
		require.True(t, fi.IsDir())
		require.Equal(t, fs.FileMode(0o700), fi.Mode().Perm(), "%s: only heepr may list or enter it", dir)
	}
	fi, err := os.Stat(filepath.Join(root, "a", "b", "c.bin"))
	require.NoError(t, err)
	require.True(t, fi.Mode().IsRegular())
	require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), "only heepr may read it")
}

func TestLocalKeysThatCouldEscapeReachNothingOutside(t *testing.T) {
	t.Parallel()
	l, root := newLocal(t)
	ctx := context.Background()
	// A file beside the folder that an escaping key would reach.
	outside := filepath.Join(filepath.Dir(root), "outside")
	require.NoError(t, os.WriteFile(outside, []byte("not a blob"), 0o600))
	for _, key := range blobtest.BadKeys {
		_, err := l.Put(ctx, key, strings.NewReader("x"), 0)
		require.ErrorIs(t, err, blob.ErrBadKey, "Put %q", key)
		_, err = l.Open(ctx, key)
		require.ErrorIs(t, err, blob.ErrBadKey, "Open %q", key)
		require.ErrorIs(t, l.Delete(ctx, key), blob.ErrBadKey, "Delete %q", key)
	}
	require.Empty(t, files(t, root), "nothing was written")
	b, err := os.ReadFile(outside)
	require.NoError(t, err, "nothing outside was deleted")
	require.Equal(t, "not a blob", string(b))
}

// ---- S3 ----

func TestParseS3URL(t *testing.T) {
	t.Parallel()
	good := []struct {
		raw  string
		want blob.S3Config
	}{
		{"s3://AK:SK@127.0.0.1:9000/bucket?region=us-east-1&ssl=false&prefix=heepr/",
			blob.S3Config{Endpoint: "127.0.0.1:9000", Region: "us-east-1", Bucket: "bucket", AccessKey: "AK", SecretKey: "SK", Prefix: "heepr/"}},
		{"s3://AK:s%2Fk%2Bx%40y%3Az@s3.eu-west-1.amazonaws.com/my-bucket",
			blob.S3Config{Endpoint: "s3.eu-west-1.amazonaws.com", Bucket: "my-bucket", AccessKey: "AK", SecretKey: "s/k+x@y:z", UseSSL: true}},
		{"s3://AK:SK@minio.internal/b-1.x?create=true&part_size=16777216&prefix=a/b/&ssl=true",
			blob.S3Config{Endpoint: "minio.internal", Bucket: "b-1.x", AccessKey: "AK", SecretKey: "SK", UseSSL: true, Prefix: "a/b/", CreateBucket: true, PartSize: 16 << 20}},
	}
	for _, c := range good {
		got, err := blob.ParseS3URL(c.raw)
		require.NoError(t, err, c.raw)
		require.Equal(t, c.want, got, c.raw)
		// blobtest.S3URL writes what ParseS3URL reads (the app's S3 test passes its server that way).
		again, err := blob.ParseS3URL(blobtest.S3URL(got))
		require.NoError(t, err, c.raw)
		require.Equal(t, got, again, c.raw)
	}

	const secret = "S3CR3T"
	for _, raw := range []string{
		"",
		"s3://AK:" + secret + "@host:port/bucket", // bad port: url.Parse's error would repeat the value
		"s3://AK:" + secret + "@host/bu\x7fcket",
		"s3://AK:" + secret + "%zz@host/bucket",  // a bad escape: url's error would quote it
		"http://AK:" + secret + "@host/bucket",   // scheme
		"s3://host/bucket",                       // no credentials
		"s3://AK@host/bucket",                    // no secret
		"s3://:" + secret + "@host/bucket",       // no access key
		"s3://AK:" + secret + "@/bucket",         // no host
		"s3://AK:" + secret + "@host",            // no bucket
		"s3://AK:" + secret + "@host/",           // no bucket
		"s3://AK:" + secret + "@host/bucket/key", // more than a bucket
		"s3://AK:" + secret + "@host/Bad_Bucket",
		"s3://AK:" + secret + "@host/bucket?regoin=eu", // a typo is no default
		"s3://AK:" + secret + "@host/bucket?ssl=maybe",
		"s3://AK:" + secret + "@host/bucket?ssl=false&ssl=true",
		"s3://AK:" + secret + "@host/bucket?create=yes-please",
		"s3://AK:" + secret + "@host/bucket?prefix=heepr", // no trailing slash
		"s3://AK:" + secret + "@host/bucket?prefix=/heepr/",
		"s3://AK:" + secret + "@host/bucket?prefix=../",
		"s3://AK:" + secret + "@host/bucket?prefix=a//",
		"s3://AK:" + secret + "@host/bucket?prefix=.tmp/",
		"s3://AK:" + secret + "@host/bucket?part_size=1024", // under S3's 5 MiB
		"s3://AK:" + secret + "@host/bucket?part_size=lots",
		"s3://AK:" + secret + "@host/bucket#frag",
	} {
		_, err := blob.ParseS3URL(raw)
		require.Error(t, err, "%q", raw)
		require.NotContains(t, err.Error(), secret, "errors never show the secret")
	}
}

func TestS3ConfigNeverPrintsTheSecret(t *testing.T) {
	t.Parallel()
	cfg, err := blob.ParseS3URL("s3://AK:S3CR3T@host/bucket")
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, cfg)
		require.NotContains(t, out, "S3CR3T", verb)
		require.Contains(t, out, "bucket", verb)
	}
}

func TestNewS3ChecksCredentialsAndBucket(t *testing.T) {
	t.Parallel()
	cfg := s3Config(t, "")
	ctx := t.Context()

	wrong := cfg
	wrong.SecretKey += "x"
	_, err := blob.NewS3(ctx, wrong)
	require.Error(t, err, "the server checks the signature: a wrong secret fails at start")
	require.NotContains(t, err.Error(), wrong.SecretKey)

	if !s3Server(t).External {
		missing := cfg
		missing.CreateBucket = false
		_, err = blob.NewS3(ctx, missing)
		require.ErrorContains(t, err, "does not exist", "no bucket is created unless asked")
		require.ErrorContains(t, err, cfg.Bucket)
	}
	_, err = blob.NewS3(ctx, cfg)
	require.NoError(t, err, "created when asked")
	again := cfg
	again.CreateBucket = false
	_, err = blob.NewS3(ctx, again)
	require.NoError(t, err, "and found afterwards")
	_, err = blob.NewS3(ctx, cfg)
	require.NoError(t, err, "asking to create an existing bucket is fine")

	bad := cfg
	bad.Prefix = "no-slash"
	_, err = blob.NewS3(ctx, bad)
	require.Error(t, err, "NewS3 validates the configuration too")
}

func TestS3KeysLiveUnderThePrefix(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	bare, cfg := newS3(t, "")
	// Two more stores in the same bucket under their own prefixes.
	ca, cb := cfg, cfg
	ca.Prefix, cb.Prefix = cfg.Prefix+"tenant-a/heepr/", cfg.Prefix+"tenant-b/"
	a, err := blob.NewS3(ctx, ca)
	require.NoError(t, err)
	b, err := blob.NewS3(ctx, cb)
	require.NoError(t, err)

	for i, s := range []*blob.S3{bare, a, b} {
		_, err := s.Put(ctx, "k", strings.NewReader(fmt.Sprint("body ", i)), 0)
		require.NoError(t, err)
	}
	require.Equal(t, []string{cfg.Prefix + "k", ca.Prefix + "k", cb.Prefix + "k"}, listRaw(t, cfg))
	for i, s := range []*blob.S3{bare, a, b} {
		require.Equal(t, fmt.Sprint("body ", i), string(blobtest.Read(t, s, "k")))
	}
	_, err = a.Open(ctx, "heepr/k")
	require.ErrorIs(t, err, kernel.ErrNotFound, "a store sees only its own prefix")
	require.NoError(t, a.Delete(ctx, "k"))
	require.Equal(t, []string{cfg.Prefix + "k", cb.Prefix + "k"}, listRaw(t, cfg), "and deletes only there")
}

func TestS3ReaderNeverMixesTwoVersions(t *testing.T) {
	t.Parallel()
	s, _ := newS3(t, "")
	ctx := t.Context()
	oldBody := bytes.Repeat([]byte{'o'}, 1<<20)
	_, err := s.Put(ctx, "k", bytes.NewReader(oldBody), 0)
	require.NoError(t, err)
	f, err := s.Open(ctx, "k")
	require.NoError(t, err)
	defer f.Close()
	head := make([]byte, 10)
	_, err = io.ReadFull(f, head)
	require.NoError(t, err)

	_, err = s.Put(ctx, "k", bytes.NewReader(bytes.Repeat([]byte{'n'}, 1<<20)), 0)
	require.NoError(t, err)
	// A seek needs a new request; it must not read the new object's bytes
	// as if they were the old one's.
	_, err = f.Seek(512<<10, io.SeekStart)
	require.NoError(t, err)
	got, err := io.ReadAll(f)
	require.ErrorContains(t, err, "changed", "the old version is gone: an error, not the new bytes")
	require.Empty(t, got)

	// A reader that seeked and reads on without seeking again keeps its
	// response: it reads the version it started on, whole.
	newBody := bytes.Repeat([]byte{'n'}, 1<<20)
	g, err := s.Open(ctx, "k")
	require.NoError(t, err)
	defer g.Close()
	_, err = g.Seek(512<<10, io.SeekStart)
	require.NoError(t, err)
	_, err = io.ReadFull(g, head)
	require.NoError(t, err)
	_, err = s.Put(ctx, "k", bytes.NewReader(oldBody), 0)
	require.NoError(t, err)
	rest, err := io.ReadAll(g)
	require.NoError(t, err)
	require.Equal(t, newBody[512<<10:], append(head, rest...))
}

func TestS3ReaderAfterClose(t *testing.T) {
	t.Parallel()
	s, _ := newS3(t, "")
	ctx := t.Context()
	_, err := s.Put(ctx, "k", strings.NewReader("0123456789"), 0)
	require.NoError(t, err)
	f, err := s.Open(ctx, "k")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, f.Close(), "closing twice is fine")
	_, err = f.Read(make([]byte, 1))
	require.Error(t, err)
	_, err = f.Seek(0, io.SeekStart)
	require.Error(t, err)
}

// TestS3ConcurrentPutsShareNoBuffer overlaps multipart uploads: the pooled
// part buffers must never be shared.
func TestS3ConcurrentPutsShareNoBuffer(t *testing.T) {
	t.Parallel()
	s, _ := newS3(t, "")
	ctx := t.Context()
	bodies := make([][]byte, 3)
	for i := range bodies {
		bodies[i] = bytes.Repeat([]byte{byte('a' + i)}, blob.MinPartSize+1+i) // two parts each
	}
	var failed atomic.Bool
	done := make(chan struct{})
	for i, body := range bodies {
		go func() {
			defer func() { done <- struct{}{} }()
			if _, err := s.Put(ctx, fmt.Sprint("k", i), bytes.NewReader(body), 0); err != nil {
				t.Error(err)
				failed.Store(true)
			}
		}()
	}
	for range bodies {
		<-done
	}
	require.False(t, failed.Load())
	for i, body := range bodies {
		require.True(t, bytes.Equal(body, blobtest.Read(t, s, fmt.Sprint("k", i))), "body %d whole and its own", i)
	}
}
