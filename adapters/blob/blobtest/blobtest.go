// Package blobtest is the contract every kernel.Blobs adapter passes: the
// local folder and S3 run it in adapters/blob, and a new adapter runs it
// by calling Run with a factory of fresh, empty stores. It also starts the
// S3 server the tests use (StartS3, in s3server.go), for the adapter's
// own tests and for the app's. It is imported by tests only.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math"
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

// Store is one fresh, empty store of the adapter under test.
type Store struct {
	Blobs kernel.Blobs
	// Stored lists, sorted, everything the store holds that could keep
	// bytes of a body: objects by key, and anything else (a temp file, an
	// unfinished multipart upload, an object outside the store's folder
	// or prefix) under a name that is no key, so that "nothing left
	// behind" can be checked by comparing with the keys expected.
	Stored func(t *testing.T) []string
}

// Run runs the whole contract, each case as a parallel subtest on its own
// store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	cases := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"PutThenOpenReturnsTheBytesWithSizeAndHash", putThenOpen},
		{"LargeBodiesInManyPiecesRoundTrip", largeBodies},
		{"OpenIsSeekable", openIsSeekable},
		{"BodyOverMaxIsTooLargeAndLeavesNothing", overMax},
		{"BodyOverMaxAfterSeveralMiBLeavesNothing", overMaxLarge},
		{"MaxAtTheInt64LimitMeansNoLimit", maxInt64},
		{"ReaderFailingMidwayLeavesNothing", failingMidway},
		{"CancelledContextStopsTheCopyAndLeavesNothing", cancelled},
		{"KeysThatCouldEscapeAreRefused", badKeys},
		{"OrdinaryKeysAreAccepted", ordinaryKeys},
		{"OpenMissingIsNotFound", openMissing},
		{"DeleteIsIdempotent", deleteIdempotent},
		{"DeleteLeavesFoldersOfOtherObjects", deleteLeavesFolders},
		{"OverwriteReplacesAtomically", overwriteAtomic},
		{"ThereIsNoListingAPI", noListing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newStore(t))
		})
	}
}

// Read reads a whole object.
func Read(t *testing.T, b kernel.Blobs, key string) []byte {
	t.Helper()
	f, err := b.Open(context.Background(), key)
	require.NoError(t, err)
	defer func() { require.NoError(t, f.Close()) }()
	got, err := io.ReadAll(f)
	require.NoError(t, err)
	return got
}

// Sum is the hex SHA-256 of b.
func Sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func putThenOpen(t *testing.T, s Store) {
	ctx := context.Background()
	body := bytes.Repeat([]byte("heepr blob \x00\xff"), 100_000) // 1.3 MB: several copy buffers
	got, err := s.Blobs.Put(ctx, "avatars/agent-1/v1.png", bytes.NewReader(body), 0)
	require.NoError(t, err)
	require.Equal(t, kernel.Blob{Key: "avatars/agent-1/v1.png", Size: int64(len(body)), SHA256: Sum(body)}, got)
	require.Equal(t, body, Read(t, s.Blobs, "avatars/agent-1/v1.png"))
	require.Equal(t, []string{"avatars/agent-1/v1.png"}, s.Stored(t), "the object and nothing else")

	empty, err := s.Blobs.Put(ctx, "empty", strings.NewReader(""), 10)
	require.NoError(t, err)
	require.Equal(t, kernel.Blob{Key: "empty", Size: 0, SHA256: Sum(nil)}, empty)
	require.Empty(t, Read(t, s.Blobs, "empty"))
}

// mib is one MiB of bytes that repeat only every 251 bytes.
var mib = func() []byte {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}()

// pattern is n bytes whose every MiB starts with its own number, so a
// part stored twice, dropped or out of order shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for off := 0; off < n; off += len(mib) {
		copy(b[off:], mib)
		b[off] = byte(off >> 20)
	}
	return b
}

// trickle serves a body at most 32 KiB a Read, as a network body does.
type trickle struct{ r io.Reader }

func (t trickle) Read(p []byte) (int, error) {
	if len(p) > 32<<10 {
		p = p[:32<<10]
	}
	return t.r.Read(p)
}

func largeBodies(t *testing.T, s Store) {
	ctx := context.Background()
	// S3 uploads in parts of at least 5 MiB: one part less a byte, exactly
	// one part, and three with a short last one.
	for _, n := range []int{5<<20 - 1, 5 << 20, 11<<20 + 7} {
		body := pattern(n)
		key := "large/" + strings.Repeat("x", n%7+1)
		got, err := s.Blobs.Put(ctx, key, trickle{bytes.NewReader(body)}, int64(n))
		require.NoError(t, err, "%d bytes (exactly max)", n)
		require.Equal(t, kernel.Blob{Key: key, Size: int64(n), SHA256: Sum(body)}, got)
		require.True(t, bytes.Equal(body, Read(t, s.Blobs, key)), "%d bytes read back whole", n)
		require.NoError(t, s.Blobs.Delete(ctx, key))
	}
	require.Empty(t, s.Stored(t))
}

func openIsSeekable(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.Blobs.Put(ctx, "k", strings.NewReader("0123456789"), 0)
	require.NoError(t, err)
	f, err := s.Blobs.Open(ctx, "k")
	require.NoError(t, err)
	defer f.Close()
	readN := func(n int) string {
		t.Helper()
		b := make([]byte, n)
		_, err := io.ReadFull(f, b)
		require.NoError(t, err)
		return string(b)
	}
	// What http.ServeContent does: the size from the end, back to the
	// start, then the range asked for.
	end, err := f.Seek(0, io.SeekEnd)
	require.NoError(t, err)
	require.Equal(t, int64(10), end)
	_, err = f.Seek(0, io.SeekStart)
	require.NoError(t, err)
	require.Equal(t, "01", readN(2))
	pos, err := f.Seek(4, io.SeekStart)
	require.NoError(t, err)
	require.Equal(t, int64(4), pos)
	require.Equal(t, "456", readN(3), "range requests read from an offset")
	pos, err = f.Seek(1, io.SeekCurrent)
	require.NoError(t, err)
	require.Equal(t, int64(8), pos)
	require.Equal(t, "89", readN(2))
	n, err := f.Read(make([]byte, 4))
	require.Zero(t, n)
	require.ErrorIs(t, err, io.EOF, "at the end")
	_, err = f.Seek(-3, io.SeekEnd)
	require.NoError(t, err)
	rest, err := io.ReadAll(f)
	require.NoError(t, err)
	require.Equal(t, "789", string(rest))
	_, err = f.Seek(2, io.SeekStart) // backwards, after reading to the end
	require.NoError(t, err)
	require.Equal(t, "23", readN(2))
	_, err = f.Seek(20, io.SeekStart)
	require.NoError(t, err, "seeking past the end is allowed")
	n, err = f.Read(make([]byte, 4))
	require.Zero(t, n)
	require.ErrorIs(t, err, io.EOF, "and reads nothing")
	_, err = f.Seek(-11, io.SeekEnd)
	require.Error(t, err, "before the start")
}

func overMax(t *testing.T, s Store) {
	ctx := context.Background()

	_, err := s.Blobs.Put(ctx, "big/one", bytes.NewReader(make([]byte, 11)), 10)
	require.ErrorIs(t, err, blob.ErrTooLarge)
	require.ErrorIs(t, err, kernel.ErrInvalid, "the HTTP adapter answers a client error")
	require.Empty(t, s.Stored(t), "no object and no temp file")
	_, err = s.Blobs.Open(ctx, "big/one")
	require.ErrorIs(t, err, kernel.ErrNotFound)

	// Much larger than the limit: the limit is enforced while reading, not
	// after buffering the whole body.
	var served atomic.Int64
	huge := &countingReader{r: io.LimitReader(zeros{}, 1<<30), n: &served}
	_, err = s.Blobs.Put(ctx, "big/two", huge, 1<<10)
	require.ErrorIs(t, err, blob.ErrTooLarge)
	require.LessOrEqual(t, served.Load(), int64(1<<20), "stops reading soon after the limit")
	require.Empty(t, s.Stored(t))

	// Exactly max is allowed.
	b, err := s.Blobs.Put(ctx, "big/three", bytes.NewReader(make([]byte, 10)), 10)
	require.NoError(t, err)
	require.Equal(t, int64(10), b.Size)
	require.Equal(t, []string{"big/three"}, s.Stored(t))

	// An over-limit overwrite keeps the old object.
	_, err = s.Blobs.Put(ctx, "big/three", bytes.NewReader(make([]byte, 11)), 10)
	require.ErrorIs(t, err, blob.ErrTooLarge)
	require.Equal(t, make([]byte, 10), Read(t, s.Blobs, "big/three"))
	require.Equal(t, []string{"big/three"}, s.Stored(t))
}

func overMaxLarge(t *testing.T, s Store) {
	ctx := context.Background()
	// Over the limit after several MiB (S3: after parts were uploaded).
	for _, n := range []int{10<<20 + 1, 12 << 20} {
		var served atomic.Int64
		body := &countingReader{r: trickle{io.LimitReader(zeros{}, int64(n))}, n: &served}
		_, err := s.Blobs.Put(ctx, "big/k", body, 10<<20)
		require.ErrorIs(t, err, blob.ErrTooLarge, "%d bytes", n)
		require.LessOrEqual(t, served.Load(), int64(10<<20+32<<10), "stops reading at the limit")
		require.Empty(t, s.Stored(t), "no object, no parts")
		_, err = s.Blobs.Open(ctx, "big/k")
		require.ErrorIs(t, err, kernel.ErrNotFound)
	}
	// And over an existing object, which stays.
	_, err := s.Blobs.Put(ctx, "big/k", strings.NewReader("old"), 0)
	require.NoError(t, err)
	_, err = s.Blobs.Put(ctx, "big/k", trickle{io.LimitReader(zeros{}, 11<<20)}, 10<<20)
	require.ErrorIs(t, err, blob.ErrTooLarge)
	require.Equal(t, "old", string(Read(t, s.Blobs, "big/k")))
	require.Equal(t, []string{"big/k"}, s.Stored(t))
}

func maxInt64(t *testing.T, s Store) {
	b, err := s.Blobs.Put(context.Background(), "k", strings.NewReader("hello"), math.MaxInt64)
	require.NoError(t, err)
	require.Equal(t, int64(5), b.Size, "max+1 must not overflow into a zero-byte limit")
	require.Equal(t, "hello", string(Read(t, s.Blobs, "k")))
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
	n := min(len(p), f.left, 32<<10)
	clear(p[:n])
	f.left -= n
	return n, nil
}

func failingMidway(t *testing.T, s Store) {
	ctx := context.Background()
	boom := errors.New("connection reset by peer")
	// Early, and after several MiB (S3: after parts were uploaded).
	for _, n := range []int{200_000, 12 << 20} {
		_, err := s.Blobs.Put(ctx, "deliverables/o1/report.pdf", &failingReader{left: n, err: boom}, 0)
		require.ErrorIs(t, err, boom)
		require.Empty(t, s.Stored(t), "no object and no temp file")
		_, err = s.Blobs.Open(ctx, "deliverables/o1/report.pdf")
		require.ErrorIs(t, err, kernel.ErrNotFound)
	}

	// Over an existing object, a failed Put keeps the old bytes.
	_, err := s.Blobs.Put(ctx, "k", strings.NewReader("old"), 0)
	require.NoError(t, err)
	for _, n := range []int{50_000, 11 << 20} {
		_, err = s.Blobs.Put(ctx, "k", &failingReader{left: n, err: boom}, 0)
		require.ErrorIs(t, err, boom)
		require.Equal(t, "old", string(Read(t, s.Blobs, "k")))
		require.Equal(t, []string{"k"}, s.Stored(t))
	}
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
	p = p[:min(len(p), 32<<10)]
	clear(p)
	if c.served.Add(int64(len(p))) >= c.n {
		c.cancel()
	}
	return len(p), nil
}

func cancelled(t *testing.T, s Store) {
	// Early, and after several MiB (S3: after parts were uploaded).
	for _, n := range []int64{256 << 10, 12 << 20} {
		ctx, cancel := context.WithCancel(context.Background())
		body := &cancelAfter{n: n, cancel: cancel}
		_, err := s.Blobs.Put(ctx, "uploads/u1", body, 0) // no size limit: only the context stops it
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, body.served.Load(), n+1<<20, "the copy stops soon after the cancel")
		require.Empty(t, s.Stored(t), "no object and no temp file")
	}

	// Already cancelled: nothing is read or written.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var served atomic.Int64
	_, err := s.Blobs.Put(ctx, "uploads/u2", &countingReader{r: strings.NewReader("data"), n: &served}, 0)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, served.Load())
	require.Empty(t, s.Stored(t))
}

// BadKeys are refused by every adapter, with ErrBadKey.
var BadKeys = []string{
	"",     // nothing
	"/abs", // absolute
	"/etc/passwd",
	"../x",       // parent
	"../outside", // the file beside a folder
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
	"a\xffb", // not UTF-8
}

func badKeys(t *testing.T, s Store) {
	ctx := context.Background()
	for _, key := range BadKeys {
		_, err := s.Blobs.Put(ctx, key, strings.NewReader("x"), 0)
		require.ErrorIs(t, err, blob.ErrBadKey, "Put %q", key)
		_, err = s.Blobs.Open(ctx, key)
		require.ErrorIs(t, err, blob.ErrBadKey, "Open %q", key)
		require.ErrorIs(t, s.Blobs.Delete(ctx, key), blob.ErrBadKey, "Delete %q", key)
	}
	require.Empty(t, s.Stored(t), "nothing was written")
}

func ordinaryKeys(t *testing.T, s Store) {
	ctx := context.Background()
	keys := []string{"a", "a.b", "x/y/z", "avatars/01JABC/avatar.webp", "skills/agent_1/v2.zip", "a..b", "a-b_c", "sp ace", "ünï/çødé", "q?x=1&y", "h#f", "p%20c", "pl+us"}
	for _, key := range keys {
		_, err := s.Blobs.Put(ctx, key, strings.NewReader(key), 0)
		require.NoError(t, err, key)
		require.Equal(t, key, string(Read(t, s.Blobs, key)))
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	require.Equal(t, want, s.Stored(t), "each key is stored under its own name")
	for _, key := range keys {
		require.NoError(t, s.Blobs.Delete(ctx, key), key)
	}
	require.Empty(t, s.Stored(t))
}

func openMissing(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.Blobs.Open(ctx, "missing")
	require.ErrorIs(t, err, kernel.ErrNotFound)
	_, err = s.Blobs.Open(ctx, "missing/dir/file")
	require.ErrorIs(t, err, kernel.ErrNotFound)

	// A "folder" that holds objects is not an object.
	_, err = s.Blobs.Put(ctx, "dir/file", strings.NewReader("x"), 0)
	require.NoError(t, err)
	_, err = s.Blobs.Open(ctx, "dir")
	require.ErrorIs(t, err, kernel.ErrNotFound)
	// And a key under an object is missing, not an I/O error.
	_, err = s.Blobs.Open(ctx, "dir/file/below")
	require.ErrorIs(t, err, kernel.ErrNotFound)
}

func deleteIdempotent(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.Blobs.Put(ctx, "d/k", strings.NewReader("x"), 0)
	require.NoError(t, err)
	require.NoError(t, s.Blobs.Delete(ctx, "d/k"))
	_, err = s.Blobs.Open(ctx, "d/k")
	require.ErrorIs(t, err, kernel.ErrNotFound)
	require.NoError(t, s.Blobs.Delete(ctx, "d/k"), "deleting again is fine")
	require.NoError(t, s.Blobs.Delete(ctx, "never/existed"))
	require.Empty(t, s.Stored(t))
}

func deleteLeavesFolders(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.Blobs.Put(ctx, "dir/file", strings.NewReader("x"), 0)
	require.NoError(t, err)
	require.NoError(t, s.Blobs.Delete(ctx, "dir"), "no object is called dir")
	require.Equal(t, "x", string(Read(t, s.Blobs, "dir/file")))
	require.NoError(t, s.Blobs.Delete(ctx, "dir/file/below"), "nor dir/file/below")
	require.Equal(t, []string{"dir/file"}, s.Stored(t))
}

func overwriteAtomic(t *testing.T, s Store) {
	ctx := context.Background()
	const size = 1 << 20
	oldBody, newBody := bytes.Repeat([]byte{'o'}, size), bytes.Repeat([]byte{'n'}, size)
	_, err := s.Blobs.Put(ctx, "k", bytes.NewReader(oldBody), 0)
	require.NoError(t, err)

	// A reader that opened the old object and reads on keeps reading it
	// whole, even after the new one is in place.
	f, err := s.Blobs.Open(ctx, "k")
	require.NoError(t, err)
	head := make([]byte, 1000)
	_, err = io.ReadFull(f, head)
	require.NoError(t, err)
	b, err := s.Blobs.Put(ctx, "k", bytes.NewReader(newBody), 0)
	require.NoError(t, err)
	require.Equal(t, Sum(newBody), b.SHA256)
	rest, err := io.ReadAll(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, oldBody, append(head, rest...), "the old reader saw the old bytes whole")
	require.Equal(t, newBody, Read(t, s.Blobs, "k"), "a new reader sees the new bytes")

	// Concurrent overwrites and reads: every read sees one body whole,
	// never a mix, a truncated object or a missing key.
	bodies := [][]byte{oldBody, newBody, bytes.Repeat([]byte{'x'}, size/2)}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var writes, reads atomic.Int64
	wg.Go(func() {
		defer close(stop)
		for i := range 30 {
			if _, err := s.Blobs.Put(ctx, "k", bytes.NewReader(bodies[i%len(bodies)]), 0); err != nil {
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
				f, err := s.Blobs.Open(ctx, "k")
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
				reads.Add(1)
			}
		})
	}
	wg.Wait()
	require.Equal(t, int64(30), writes.Load())
	require.Positive(t, reads.Load())
	require.Equal(t, []string{"k"}, s.Stored(t), "no temp files left behind")
}

// noListing pins the adapter's method set. Blobs hold private files
// (avatars before review, deliverables, skill packages) and the only way
// to reach one is a key that a database row, checked by the module that
// owns it, hands out: nothing may enumerate them. A List method (or
// anything else) added to an adapter must come with a decision about who
// may call it; update this test only then.
func noListing(t *testing.T, s Store) {
	typ := reflect.TypeOf(s.Blobs)
	var names []string
	for m := range typ.Methods() {
		names = append(names, m.Name)
	}
	require.Equal(t, []string{"Delete", "Open", "Put"}, names, "%s's exported methods", typ)
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
