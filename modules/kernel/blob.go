package kernel

import (
	"context"
	"io"
)

// Blob describes a stored file.
type Blob struct {
	Key    string
	Size   int64
	SHA256 string // hex
}

// Blobs is the private file storage port (a local folder or S3-compatible
// storage). Put streams a body of at most max bytes (0: no limit) and makes
// it appear whole or not at all, and reports ErrStorageFull when the
// storage has no room for it; Open reports ErrNotFound for a missing key.
type Blobs interface {
	Put(ctx context.Context, key string, r io.Reader, max int64) (Blob, error)
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	Delete(ctx context.Context, key string) error
}

// ErrStorageFull reports an upload the file storage had no room for (a
// full disk): nothing of it was kept. It answers 413 with the code
// storage-full, so the client is not told its body was malformed.
var ErrStorageFull = New(ErrTooLarge, "storage-full", "heepr's file storage is full, so the file was not stored; try again later")
