// Package blob holds the private file storage adapters behind kernel.Blobs:
// a local folder (Local) and S3-compatible object storage (S3), both held
// to the same contract (package blobtest). Nothing here is ever listed or
// served directly; the HTTP adapter decides who may read.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/heepr/heepr/modules/kernel"
)

// Local keeps objects as files under a private folder (0700 dirs, 0600 files).
type Local struct{ root string }

var _ kernel.Blobs = (*Local)(nil)

// NewLocal opens (and creates) the folder.
func NewLocal(root string) (*Local, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create blob folder: %w", err)
	}
	return &Local{root: root}, nil
}

// ErrBadKey refuses keys that could escape the folder (or the bucket prefix).
var ErrBadKey = errors.New("blob: invalid key")

// checkKey is the key rule every adapter applies, so a key that works on
// one works on all: slash-separated parts, none empty, none starting with
// a dot (no "." or "..", and no name a temp file could have), no
// backslash, no NUL, not absolute, valid UTF-8 (as S3 requires).
func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || strings.ContainsRune(key, 0) || !utf8.ValidString(key) {
		return ErrBadKey
	}
	for part := range strings.SplitSeq(key, "/") {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, ".") {
			return ErrBadKey
		}
	}
	return nil
}

func (l *Local) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.root, filepath.FromSlash(key)), nil
}

// Put streams r into key, at most max bytes (0: no limit), hashing as it
// goes. The object appears whole or not at all: it is written to a temp
// file in the same folder, synced, then renamed into place. A body over
// max leaves nothing behind and reports ErrTooLarge.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, max int64) (kernel.Blob, error) {
	p, err := l.path(key)
	if err != nil {
		return kernel.Blob{}, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return kernel.Blob{}, noSpace(fmt.Errorf("create blob dir: %w", err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return kernel.Blob{}, noSpace(fmt.Errorf("create temp file: %w", err))
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	src := io.Reader(&ctxReader{ctx: ctx, r: r})
	if max > 0 && max < math.MaxInt64 { // max+1 would overflow: no limit then
		src = io.LimitReader(src, max+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return kernel.Blob{}, noSpace(fmt.Errorf("write blob: %w", err))
	}
	if max > 0 && n > max {
		return kernel.Blob{}, ErrTooLarge
	}
	if err := tmp.Sync(); err != nil {
		return kernel.Blob{}, noSpace(fmt.Errorf("sync blob: %w", err))
	}
	if err := tmp.Close(); err != nil {
		return kernel.Blob{}, noSpace(fmt.Errorf("close blob: %w", err))
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return kernel.Blob{}, fmt.Errorf("place blob: %w", err)
	}
	ok = true
	// The rename is durable once the folder is synced: callers write the
	// database row next, which must not outlive the file in a crash.
	if err := syncDir(filepath.Dir(p)); err != nil {
		return kernel.Blob{}, fmt.Errorf("sync blob dir: %w", err)
	}
	return kernel.Blob{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// noSpace turns a full disk (or quota) into kernel.ErrStorageFull, keeping
// the cause for the log; other errors pass unchanged.
func noSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w (%w)", kernel.ErrStorageFull, err)
	}
	return err
}

// ErrTooLarge reports a body over the limit given to Put.
var ErrTooLarge = kernel.New(kernel.ErrInvalid, "file-too-large", "the file is larger than allowed")

// Open returns the object for reading (seekable, so range requests work). A missing key reports kernel.ErrNotFound.
func (l *Local) Open(_ context.Context, key string) (io.ReadSeekCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if missing(err) {
		return nil, kernel.NotFound("file")
	}
	if err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("stat blob: %w", err)
		}
		return nil, kernel.NotFound("file") // a folder of other objects is not an object
	}
	return f, nil
}

// missing reports an error that means no object has the key: no such
// file, or a path through an object as if it were a folder.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) { // a file system that cannot sync folders
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Delete removes an object; a missing one is not an error.
func (l *Local) Delete(_ context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if missing(err) || (err == nil && fi.IsDir()) { // a folder of other objects is not an object
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	if err := os.Remove(p); err != nil && !missing(err) {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
