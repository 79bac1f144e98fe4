package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/heepr/heepr/modules/kernel"
)

// S3Config says where an S3 adapter keeps its objects.
type S3Config struct {
	Endpoint  string // host[:port], no scheme: "s3.eu-west-1.amazonaws.com", "127.0.0.1:9000"
	Region    string // "" lets the client ask the bucket for its region
	Bucket    string
	AccessKey string
	SecretKey string
	UseSSL    bool   // https (ParseS3URL's default); plain http only for a server on a private network
	Prefix    string // put before every key: "" or parts ending in "/", e.g. "heepr/"

	// CreateBucket makes NewS3 create a missing bucket (private, as
	// buckets are by default); without it a missing bucket is an error.
	CreateBucket bool
	// PartSize is the size of the parts of a multipart upload and so the
	// memory one Put holds (0: DefaultPartSize; at least MinPartSize).
	// An object has at most 10,000 parts: PartSize*10,000 is the largest.
	PartSize int64
}

// String describes the configuration without the secret key.
func (c S3Config) String() string {
	secret := ""
	if c.SecretKey != "" {
		secret = "REDACTED"
	}
	return fmt.Sprintf("s3{endpoint=%s region=%s bucket=%s prefix=%q ssl=%t access=%s secret=%s create=%t part=%d}",
		c.Endpoint, c.Region, c.Bucket, c.Prefix, c.UseSSL, c.AccessKey, secret, c.CreateBucket, c.PartSize)
}

// GoString keeps the secret out of %#v as well.
func (c S3Config) GoString() string { return c.String() }

// Part sizes: S3 refuses parts under 5 MiB (but the last) and over 5 GiB.
const (
	MinPartSize     = 5 << 20
	DefaultPartSize = 8 << 20
	maxPartSize     = 5 << 30
	maxParts        = 10_000
)

// ParseS3URL reads the whole configuration from one value (proposed
// environment variable: HEEPR_S3_URL):
//
//	s3://ACCESS:SECRET@HOST[:PORT]/BUCKET?region=us-east-1&ssl=false&prefix=heepr/&create=true
//
// where
//   - ACCESS and SECRET are percent-encoded as URL user info: a "/" in a
//     secret key is written %2F, a "@" %40, a ":" %3A.
//   - region: the bucket's region ("" or absent: asked of the server).
//   - ssl: true (the default) or false for plain http.
//   - prefix: put before every key; "" or slash-separated parts ending in "/".
//   - create: true to create the bucket when it is missing (default false).
//   - part_size: bytes per multipart part (default 8 MiB, at least 5 MiB).
//
// Any other parameter is an error (a typo must not fall back to a
// default). Errors never repeat the value, which holds the secret.
func ParseS3URL(raw string) (S3Config, error) {
	u, err := url.Parse(raw)
	if err != nil { // url's errors quote the value or part of it: say nothing of it
		return S3Config{}, errors.New("s3 url: not a valid URL (are the keys percent-encoded?)")
	}
	if u.Scheme != "s3" {
		return S3Config{}, errors.New("s3 url: the scheme must be s3://")
	}
	if u.Host == "" {
		return S3Config{}, errors.New("s3 url: no host")
	}
	if u.User == nil {
		return S3Config{}, errors.New("s3 url: no credentials (s3://ACCESS:SECRET@host/bucket)")
	}
	secret, ok := u.User.Password()
	if !ok || u.User.Username() == "" || secret == "" {
		return S3Config{}, errors.New("s3 url: the access key and secret key are both required")
	}
	bucket := strings.TrimPrefix(u.Path, "/")
	if bucket == "" || strings.Contains(bucket, "/") {
		return S3Config{}, errors.New("s3 url: the path must be exactly the bucket name")
	}
	if u.Fragment != "" {
		return S3Config{}, errors.New("s3 url: unexpected #fragment")
	}
	cfg := S3Config{
		Endpoint:  u.Host,
		Bucket:    bucket,
		AccessKey: u.User.Username(),
		SecretKey: secret,
		UseSSL:    true,
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return S3Config{}, fmt.Errorf("s3 url: query: %w", err)
	}
	for name, vals := range q {
		if len(vals) != 1 {
			return S3Config{}, fmt.Errorf("s3 url: %s is given %d times", name, len(vals))
		}
		v := vals[0]
		switch name {
		case "region":
			cfg.Region = v
		case "prefix":
			cfg.Prefix = v
		case "ssl", "create":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return S3Config{}, fmt.Errorf("s3 url: %s must be true or false", name)
			}
			if name == "ssl" {
				cfg.UseSSL = b
			} else {
				cfg.CreateBucket = b
			}
		case "part_size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return S3Config{}, errors.New("s3 url: part_size must be a number of bytes")
			}
			cfg.PartSize = n
		default:
			return S3Config{}, fmt.Errorf("s3 url: unknown parameter %q", name)
		}
	}
	if err := cfg.validate(); err != nil {
		return S3Config{}, err
	}
	return cfg, nil
}

func (c S3Config) validate() error {
	if c.Endpoint == "" || strings.Contains(c.Endpoint, "/") {
		return errors.New("s3: the endpoint is host[:port], without scheme or path")
	}
	if err := s3utils.CheckValidBucketNameStrict(c.Bucket); err != nil {
		return fmt.Errorf("s3: bucket %q: %w", c.Bucket, err)
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return errors.New("s3: the access key and secret key are both required")
	}
	if c.Prefix != "" && (!strings.HasSuffix(c.Prefix, "/") || checkKey(strings.TrimSuffix(c.Prefix, "/")) != nil) {
		return fmt.Errorf("s3: prefix %q must be slash-separated parts ending in \"/\", none starting with a dot", c.Prefix)
	}
	if c.PartSize != 0 && (c.PartSize < MinPartSize || c.PartSize > maxPartSize) {
		return fmt.Errorf("s3: part size %d is outside [%d, %d]", c.PartSize, MinPartSize, maxPartSize)
	}
	return nil
}

// S3 keeps objects in a bucket of an S3-compatible service, each at
// Prefix+key. The bucket must not be public: the HTTP adapter decides who
// may read. Put holds at most one part in memory; an upload that fails,
// is cancelled or goes over its limit is aborted, so nothing appears.
type S3 struct {
	core   minio.Core
	bucket string
	prefix string
	parts  sync.Pool // *[]byte of partSize
}

var _ kernel.Blobs = (*S3)(nil)

// NewS3 connects and checks that the bucket exists and the credentials
// reach it (creating it when cfg.CreateBucket is set), so that a wrong
// configuration stops the start rather than the first upload.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseSSL,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client: %w", err)
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: check bucket %q: %w", cfg.Bucket, err)
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, fmt.Errorf("s3: bucket %q does not exist (create it, or set create=true)", cfg.Bucket)
		}
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" { // created meanwhile
			return nil, fmt.Errorf("s3: create bucket %q: %w", cfg.Bucket, err)
		}
	}
	s := &S3{core: minio.Core{Client: client}, bucket: cfg.Bucket, prefix: cfg.Prefix}
	size := cfg.PartSize
	s.parts.New = func() any { b := make([]byte, size); return &b }
	return s, nil
}

func (s *S3) name(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

// Put streams r into key, at most max bytes (0: no limit), hashing as it
// goes. A body that fits in one part is sent as one PUT; a longer one as
// a multipart upload, one part in memory at a time. Either way S3 shows
// the object only once it is whole (an overwrite keeps the old one until
// then), and a body that fails, is cancelled or goes over max is aborted:
// nothing is left, and over max reports ErrTooLarge.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, max int64) (kernel.Blob, error) {
	name, err := s.name(key)
	if err != nil {
		return kernel.Blob{}, err
	}
	src := &guard{r: &ctxReader{ctx: ctx, r: r}, max: max, h: sha256.New()}
	bp := s.parts.Get().(*[]byte)
	buf := *bp
	// The buffer goes back to the pool only after a success: after a
	// failed or cancelled request the HTTP client may still be reading it.
	done := func(b kernel.Blob) (kernel.Blob, error) { s.parts.Put(bp); return b, nil }

	var (
		uploadID string
		parts    []minio.CompletePart
	)
	fail := func(err error) (kernel.Blob, error) {
		if src.over {
			err = ErrTooLarge
		} else {
			err = fmt.Errorf("write blob: %w", err)
		}
		if uploadID != "" {
			// Abort even when ctx is cancelled: parts left behind cost
			// storage and are invisible to everything but a listing.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if aerr := s.core.AbortMultipartUpload(actx, s.bucket, name, uploadID); aerr != nil {
				err = errors.Join(err, fmt.Errorf("abort upload: %w", aerr))
			}
		}
		return kernel.Blob{}, err
	}
	for num := 1; ; num++ {
		n, rerr := io.ReadFull(src, buf)
		last := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !last {
			return fail(rerr)
		}
		if num == 1 && last { // the whole body fits in one part: one PUT, its hash already known
			sum := hex.EncodeToString(src.h.Sum(nil))
			_, err := s.core.PutObject(ctx, s.bucket, name, bytes.NewReader(buf[:n]), int64(n), "", sum, minio.PutObjectOptions{})
			if err != nil {
				return fail(err)
			}
			return done(kernel.Blob{Key: key, Size: src.n, SHA256: sum})
		}
		if n == 0 { // the body ended on a part boundary
			break
		}
		if num > maxParts {
			return fail(fmt.Errorf("body is over %d parts of %d bytes", maxParts, len(buf)))
		}
		if uploadID == "" {
			if uploadID, err = s.core.NewMultipartUpload(ctx, s.bucket, name, minio.PutObjectOptions{}); err != nil {
				return fail(err)
			}
		}
		p, err := s.core.PutObjectPart(ctx, s.bucket, name, uploadID, num, bytes.NewReader(buf[:n]), int64(n), minio.PutObjectPartOptions{})
		if err != nil {
			return fail(err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: num, ETag: p.ETag})
		if last {
			break
		}
	}
	// Complete only a body read to its end within max: src reported EOF.
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, name, uploadID, parts, minio.PutObjectOptions{}); err != nil {
		return fail(err)
	}
	return done(kernel.Blob{Key: key, Size: src.n, SHA256: hex.EncodeToString(src.h.Sum(nil))})
}

// guard hashes and counts what it reads and fails once more than max
// bytes came (so the upload is aborted before it can complete).
type guard struct {
	r    io.Reader
	max  int64
	n    int64
	h    hash.Hash
	over bool
}

var errOverMax = errors.New("blob: body over the limit")

func (g *guard) Read(p []byte) (int, error) {
	if g.over {
		return 0, errOverMax
	}
	if g.max > 0 && g.max < math.MaxInt64 && int64(len(p)) > g.max+1-g.n {
		p = p[:g.max+1-g.n] // read at most one byte past max
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	g.h.Write(p[:n])
	if g.max > 0 && g.n > g.max {
		g.over = true
		return n, errOverMax
	}
	return n, err
}

// Open returns the object for reading. It sends the GET at once, so a
// missing key reports kernel.ErrNotFound here, and a whole-file read
// costs one request. Seeking is lazy: the next Read after a seek to
// another offset asks for the range from there, and only while the
// object is still the one opened (If-Match on its ETag), so a reader
// never mixes two versions' bytes. The reader makes its requests with
// ctx: keep it alive while reading.
func (s *S3) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, err
	}
	body, info, _, err := s.core.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, kernel.NotFound("file")
		}
		return nil, fmt.Errorf("open blob: %w", err)
	}
	if info.Size < 0 {
		_ = body.Close()
		return nil, errors.New("open blob: the server did not say the object's size")
	}
	return &s3Reader{s: s, ctx: ctx, name: name, etag: info.ETag, size: info.Size, body: body}, nil
}

// s3Reader reads an object from its offset off: from body while body is
// at off, else from a new ranged GET.
type s3Reader struct {
	s       *S3
	ctx     context.Context
	name    string
	etag    string
	size    int64
	off     int64
	body    io.ReadCloser // nil, or a response positioned at bodyOff
	bodyOff int64
	closed  bool
}

var errClosed = errors.New("blob: read of a closed object")

func (o *s3Reader) Read(p []byte) (int, error) {
	if o.closed {
		return 0, errClosed
	}
	if o.off >= o.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if o.body != nil && o.bodyOff != o.off {
		_ = o.body.Close()
		o.body = nil
	}
	if o.body == nil {
		opts := minio.GetObjectOptions{}
		if err := opts.SetRange(o.off, 0); err != nil {
			return 0, err
		}
		if o.etag != "" {
			if err := opts.SetMatchETag(o.etag); err != nil {
				return 0, err
			}
		}
		body, _, _, err := o.s.core.GetObject(o.ctx, o.s.bucket, o.name, opts)
		if err != nil {
			if code := minio.ToErrorResponse(err).Code; code == minio.PreconditionFailed || code == minio.NoSuchKey {
				return 0, fmt.Errorf("blob: the object changed or went away while being read: %w", err)
			}
			return 0, fmt.Errorf("read blob: %w", err)
		}
		o.body, o.bodyOff = body, o.off
	}
	if left := o.size - o.off; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := o.body.Read(p)
	o.off += int64(n)
	o.bodyOff += int64(n)
	if errors.Is(err, io.EOF) {
		if o.off < o.size {
			return n, io.ErrUnexpectedEOF // the response ended early
		}
		err = nil // EOF at the end: the next Read says so
	}
	if err != nil {
		return n, fmt.Errorf("read blob: %w", err)
	}
	return n, nil
}

func (o *s3Reader) Seek(offset int64, whence int) (int64, error) {
	if o.closed {
		return 0, errClosed
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.off + offset
	case io.SeekEnd:
		abs = o.size + offset
	default:
		return 0, errors.New("blob: seek: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("blob: seek: negative position")
	}
	o.off = abs // the next Read opens a range there if it must
	return abs, nil
}

func (o *s3Reader) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	if o.body != nil {
		err := o.body.Close()
		o.body = nil
		return err
	}
	return nil
}

// Delete removes an object; a missing one is not an error (nor, as on
// S3 itself, is a key that only names a "folder" of other objects).
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	if err := s.core.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil
		}
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}
