package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/blob"
	"github.com/heepr/heepr/modules/kernel"
)

// newLocal opens a blob folder in a fresh temporary directory and returns
// it with its root path.
func newLocal(t *testing.T) (*blob.Local, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "blobs")
	l, err := blob.NewLocal(root)
	require.NoError(t, err)
	return l, root
}

// files lists every non-directory entry under root (objects and temp
// files alike), as slash paths relative to root.
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

func read(t *testing.T, l *blob.Local, key string) []byte {
	t.Helper()
	f, err := l.Open(context.Background(), key)
	require.NoError(t, err)
	defer func() { require.NoError(t, f.Close()) }()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestPutThenOpenReturnsTheBytesWithSizeAndHash(t *testing.T) {
	t.Parallel()
	l, root := newLocal(t)
	ctx := context.Background()
	body := bytes.Repeat([]byte("heepr blob \x00\xff"), 100_000) // 1.3 MB: several copy buffers
	got, err := l.Put(ctx, "avatars/agent-1/v1.png", bytes.NewReader(body), 0)
	require.NoError(t, err)
	require.Equal(t, kernel.Blob{Key: "avatars/agent-1/v1.png", Size: int64(len(body)), SHA256: sum(body)}, got)
	require.Equal(t, body, read(t, l, "avatars/agent-1/v1.png"))
	require.Equal(t, []string{"avatars/agent-1/v1.png"}, files(t, root), "the object and nothing else")

	empty, err := l.Put(ctx, "empty", strings.NewReader(""), 10)
	require.NoError(t, err)
	require.Equal(t, kernel.Blob{Key: "empty", Size: 0, SHA256: sum(nil)}, empty)
	require.Empty(t, read(t, l, "empty"))
}

func TestOpenIsSeekable(t *testing.T) {
	t.Parallel()
	l, _ := newLocal(t)
	ctx := context.Background()
	_, err := l.Put(ctx, "k", strings.NewReader("0123456789"), 0)
	require.NoError(t, err)
	f, err := l.Open(ctx, "k")
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Seek(4, io.SeekStart)
	require.NoError(t, err)
	b := make([]byte, 3)
	_, err = io.ReadFull(f, b)
	require.NoError(t, err)
	require.Equal(t, "456", string(b), "range requests read from an offset")
}

func TestFilesAre0600AndDirs0700(t *testing.T) {
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

func TestBodyOverMaxIsTooLargeAndLeavesNothing(t *testing.T) {
	t.Parallel()
	l, root := newLocal(t)
	ctx := context.Background()

	_, err := l.Put(ctx, "big/one", bytes.NewReader(make([]byte, 11)), 10)
	require.ErrorIs(t, err, blob.ErrTooLarge)
	require.ErrorIs(t, err, kernel.ErrInvalid, "the HTTP adapter answers a client error")
	require.Empty(t, files(t, root), "no object and no temp file")
	_, err = l.Open(ctx, "big/one")
	require.ErrorIs(t, err, kernel.ErrNotFound)

	// Much larger than the limit: the limit is enforced while reading, not
	// after buffering the whole body.
	var served atomic.Int64
	huge := &countingReader{r: io.LimitReader(zeros{}, 1<<30), n: &served}
	_, err = l.Put(ctx, "big/two", huge, 1<<10)
	require.ErrorIs(t, err, blob.ErrTooLarge)
	require.LessOrEqual(t, served.Load(), int64(1<<20), "stops reading soon after the limit")
	require.Empty(t, files(t, root))

	// Exactly max is allowed.
	b, err := l.Put(ctx, "big/three", bytes.NewReader(make([]byte, 10)), 10)
	require.NoError(t, err)
	require.Equal(t, int64(10), b.Size)
	require.Equal(t, []string{"big/three"}, files(t, root))

	// An over-limit overwrite keeps the old object.
	_, err = l.Put(ctx, "big/three", bytes.NewReader(make([]byte, 11)), 10)
	require.ErrorIs(t, err, blob.ErrTooLarge)
	require.Equal(t, make([]byte, 10), read(t, l, "big/three"))
	require.Equal(t, []string{"big/three"}, files(t, root))
}

func TestMaxAtTheInt64LimitMeansNoLimit(t *testing.T) {
	t.Parallel()
	l, _ := newLocal(t)
	b, err := l.Put(context.Background(), "k", strings.NewReader("hello"), math.MaxInt64)
	require.NoError(t, err)
	require.Equal(t, int64(5), b.Size, "max+1 must not overflow into a zero-byte limit")
	require.Equal(t, "hello", string(read(t, l, "k")))
}

// failingReader returns some bytes, then an error.
type failingReader struct {
	left int
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.left == 0 {
		return 0, f.err
	}
	n := min(len(p), f.left)
	clear(p[:n])
	f.left -= n
	return n, nil
}

func TestReaderFailingMidwayLeavesNothing(t *testing.T) {
	t.Parallel()
	l, root := newLocal(t)
	ctx := context.Background()
	boom := errors.New("connection reset by peer")
	_, err := l.Put(ctx, "deliverables/o1/report.pdf", &failingReader{left: 200_000, err: boom}, 0)
	require.ErrorIs(t, err, boom)
	require.Empty(t, files(t, root), "no object and no temp file")
	_, err = l.Open(ctx, "deliverables/o1/report.pdf")
	require.ErrorIs(t, err, kernel.ErrNotFound)

	// Over an existing object, a failed Put keeps the old bytes.
	_, err = l.Put(ctx, "k", strings.NewReader("old"), 0)
	require.NoError(t, err)
	_, err = l.Put(ctx, "k", &failingReader{left: 50_000, err: boom}, 0)
	require.ErrorIs(t, err, boom)
	require.Equal(t, "old", string(read(t, l, "k")))
	require.Equal(t, []string{"k"}, files(t, root))
}

// cancelAfter is a long body (64 MiB) that cancels its context once it
// has served n bytes (a client going away mid-upload).
type cancelAfter struct {
	n      int64
	cancel context.CancelFunc
	served atomic.Int64
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.served.Load() >= 64<<20 {
		return 0, io.EOF
	}
	clear(p)
	if c.served.Add(int64(len(p))) >= c.n {
		c.cancel()
	}
	return len(p), nil
}

func TestCancelledContextStopsTheCopyAndLeavesNothing(t *testing.T) {
	t.Parallel()
	l, root := newLocal(t)

	ctx, cancel := context.WithCancel(context.Background())
	body := &cancelAfter{n: 256 << 10, cancel: cancel}
	_, err := l.Put(ctx, "uploads/u1", body, 0) // no size limit: only the context stops it
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, body.served.Load(), int64(1<<20), "the copy stops soon after the cancel")
	require.Empty(t, files(t, root), "no object and no temp file")

	// Already cancelled: nothing is read or written.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	var served atomic.Int64
	_, err = l.Put(ctx, "uploads/u2", &countingReader{r: strings.NewReader("data"), n: &served}, 0)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, served.Load())
	require.Empty(t, files(t, root))
}

func TestKeysThatCouldEscapeAreRefused(t *testing.T) {
	t.Parallel()
	l, root := newLocal(t)
	ctx := context.Background()
	// A file beside the folder that an escaping key would reach.
	outside := filepath.Join(filepath.Dir(root), "outside")
	require.NoError(t, os.WriteFile(outside, []byte("not a blob"), 0o600))

	for _, key := range []string{
		"",     // nothing
		"/abs", // absolute
		"/etc/passwd",
		"../x",       // parent
		"../outside", // the file beside the folder
		"..",
		".",
		"a/../b", // parent inside
		"a/./b",
		"a//b",    // empty part
		"a/",      // trailing slash
		".hidden", // dot files (temp files are dot files)
		"a/.hidden",
		".upload-123",
		"a\\b", // a backslash
		"..\\x",
		"a\x00b", // NUL
	} {
		t.Run(strings.NewReplacer("/", "slash", "\x00", "NUL", "\\", "backslash").Replace(key), func(t *testing.T) {
			_, err := l.Put(ctx, key, strings.NewReader("x"), 0)
			require.ErrorIs(t, err, blob.ErrBadKey, "Put %q", key)
			_, err = l.Open(ctx, key)
			require.ErrorIs(t, err, blob.ErrBadKey, "Open %q", key)
			require.ErrorIs(t, l.Delete(ctx, key), blob.ErrBadKey, "Delete %q", key)
		})
	}
	t.Cleanup(func() {
		require.Empty(t, files(t, root), "nothing was written")
		b, err := os.ReadFile(outside)
		require.NoError(t, err, "nothing outside was deleted")
		require.Equal(t, "not a blob", string(b))
	})
}

func TestOrdinaryKeysAreAccepted(t *testing.T) {
	t.Parallel()
	l, root := newLocal(t)
	ctx := context.Background()
	keys := []string{"a", "a.b", "x/y/z", "avatars/01JABC/avatar.webp", "skills/agent_1/v2.zip", "a..b", "a-b_c"}
	for _, key := range keys {
		_, err := l.Put(ctx, key, strings.NewReader(key), 0)
		require.NoError(t, err, key)
		require.Equal(t, key, string(read(t, l, key)))
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	require.Equal(t, want, files(t, root), "each key is the path under the folder")
}

func TestOpenMissingIsNotFound(t *testing.T) {
	t.Parallel()
	l, _ := newLocal(t)
	ctx := context.Background()
	_, err := l.Open(ctx, "missing")
	require.ErrorIs(t, err, kernel.ErrNotFound)
	_, err = l.Open(ctx, "missing/dir/file")
	require.ErrorIs(t, err, kernel.ErrNotFound)

	// A folder that holds objects is not an object.
	_, err = l.Put(ctx, "dir/file", strings.NewReader("x"), 0)
	require.NoError(t, err)
	_, err = l.Open(ctx, "dir")
	require.ErrorIs(t, err, kernel.ErrNotFound)
	// And a key under an object is missing, not an I/O error.
	_, err = l.Open(ctx, "dir/file/below")
	require.ErrorIs(t, err, kernel.ErrNotFound)
}

func TestDeleteIsIdempotent(t *testing.T) {
	t.Parallel()
	l, root := newLocal(t)
	ctx := context.Background()
	_, err := l.Put(ctx, "d/k", strings.NewReader("x"), 0)
	require.NoError(t, err)
	require.NoError(t, l.Delete(ctx, "d/k"))
	_, err = l.Open(ctx, "d/k")
	require.ErrorIs(t, err, kernel.ErrNotFound)
	require.NoError(t, l.Delete(ctx, "d/k"), "deleting again is fine")
	require.NoError(t, l.Delete(ctx, "never/existed"))
	require.Empty(t, files(t, root))
}

func TestDeleteLeavesFoldersOfOtherObjects(t *testing.T) {
	t.Parallel()
	l, _ := newLocal(t)
	ctx := context.Background()
	_, err := l.Put(ctx, "dir/file", strings.NewReader("x"), 0)
	require.NoError(t, err)
	require.NoError(t, l.Delete(ctx, "dir"), "no object is called dir")
	require.Equal(t, "x", string(read(t, l, "dir/file")))
}

func TestOverwriteReplacesAtomically(t *testing.T) {
	t.Parallel()
	l, root := newLocal(t)
	ctx := context.Background()
	const size = 1 << 20
	oldBody, newBody := bytes.Repeat([]byte{'o'}, size), bytes.Repeat([]byte{'n'}, size)
	_, err := l.Put(ctx, "k", bytes.NewReader(oldBody), 0)
	require.NoError(t, err)

	// A reader that opened the old object keeps reading it whole, even
	// after the new one is in place (the rename swaps the name, not the file).
	f, err := l.Open(ctx, "k")
	require.NoError(t, err)
	head := make([]byte, 1000)
	_, err = io.ReadFull(f, head)
	require.NoError(t, err)
	b, err := l.Put(ctx, "k", bytes.NewReader(newBody), 0)
	require.NoError(t, err)
	require.Equal(t, sum(newBody), b.SHA256)
	rest, err := io.ReadAll(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, oldBody, append(head, rest...), "the old reader saw the old bytes whole")
	require.Equal(t, newBody, read(t, l, "k"), "a new reader sees the new bytes")

	// Concurrent overwrites and reads: every read sees one body whole,
	// never a mix, a truncated file or a missing key.
	bodies := [][]byte{oldBody, newBody, bytes.Repeat([]byte{'x'}, size/2)}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var writes atomic.Int64
	wg.Go(func() {
		defer close(stop)
		for i := range 30 {
			if _, err := l.Put(ctx, "k", bytes.NewReader(bodies[i%len(bodies)]), 0); err != nil {
				t.Error(err)
				return
			}
			writes.Add(1)
		}
	})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				f, err := l.Open(ctx, "k")
				if err != nil {
					t.Error(err)
					return
				}
				got, err := io.ReadAll(f)
				_ = f.Close()
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.ContainsFunc(bodies, func(b []byte) bool { return bytes.Equal(b, got) }) {
					t.Errorf("read %d bytes that are none of the bodies whole", len(got))
					return
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, int64(30), writes.Load())
	require.Equal(t, []string{"k"}, files(t, root), "no temp files left behind")
}

// TestThereIsNoListingAPI pins Local's method set. Blobs hold private
// files (avatars before review, deliverables, skill packages) and the
// only way to reach one is a key that a database row, checked by the
// module that owns it, hands out: nothing may enumerate the folder. A
// List method (or anything else) added here must come with a decision
// about who may call it; update this test only then.
func TestThereIsNoListingAPI(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[*blob.Local]()
	var names []string
	for m := range typ.Methods() {
		names = append(names, m.Name)
	}
	require.Equal(t, []string{"Delete", "Open", "Put"}, names, "*blob.Local's exported methods")
	require.Equal(t, 3, reflect.TypeFor[kernel.Blobs]().NumMethod(), "the port has no listing either")
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// countingReader counts the bytes it serves.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
