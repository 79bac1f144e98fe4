package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/blob"
	"github.com/heepr/heepr/adapters/blob/blobtest"
)

// The S3 tests run against a real S3-compatible server: versitygw (posix
// backend, pinned in tools/go.mod, built through the Go build cache)
// started once for the package on a free loopback port over a temporary
// folder. HEEPR_TEST_S3_URL (ParseS3URL's format) points them at another
// server instead; each store then gets its own prefix in that bucket.
const testS3URLEnv = "HEEPR_TEST_S3_URL"

var s3srv struct {
	once     sync.Once
	err      error
	base     blob.S3Config // Bucket and Prefix filled per store
	external bool
	dataDir  string
	cmd      *exec.Cmd
	exited   chan struct{}
	log      syncBuffer
	stores   atomic.Int64
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopS3Server()
	os.Exit(code)
}

// s3Base starts the server on first use and returns its configuration.
func s3Base(t *testing.T) blob.S3Config {
	t.Helper()
	s3srv.once.Do(func() { s3srv.err = startS3Server() })
	require.NoError(t, s3srv.err, "the S3 test server (versitygw) must start; its log:\n%s", s3srv.log.String())
	return s3srv.base
}

func startS3Server() error {
	if raw := os.Getenv(testS3URLEnv); raw != "" {
		cfg, err := blob.ParseS3URL(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", testS3URLEnv, err)
		}
		s3srv.base, s3srv.external = cfg, true
		return nil
	}
	bin, err := buildVersityGW()
	if err != nil {
		return err
	}
	if s3srv.dataDir, err = os.MkdirTemp("", "heepr-s3-*"); err != nil {
		return err
	}
	access, secret := randomHex(10), randomHex(20)
	var lastErr error
	for range 3 { // a free port can be taken between finding and binding it
		addr, err := freePort()
		if err != nil {
			return err
		}
		if lastErr = runVersityGW(bin, addr, access, secret); lastErr == nil {
			s3srv.base = blob.S3Config{Endpoint: addr, Region: "us-east-1", AccessKey: access, SecretKey: secret, UseSSL: false}
			return nil
		}
	}
	return lastErr
}

// buildVersityGW builds (or finds in the Go build cache) the versitygw
// pinned in tools/go.mod and returns its path: a minute or two the first
// time on a fresh machine, about a second after that.
func buildVersityGW() (string, error) {
	modfile, err := filepath.Abs(filepath.Join("..", "..", "tools", "go.mod"))
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "tool", "-modfile="+modfile, "-n", "versitygw")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build versitygw (go tool -modfile=%s -n versitygw): %w\n%s", modfile, err, stderr.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		fmt.Fprintf(os.Stderr, "blob tests: built versitygw in %s (cached from now on)\n", d.Round(time.Second))
	}
	bin := strings.TrimSpace(stdout.String())
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("versitygw binary: %w", err)
	}
	return bin, nil
}

func runVersityGW(bin, addr, access, secret string) error {
	cmd := exec.Command(bin, "--port", addr, "--region", "us-east-1", "--quiet", "posix", s3srv.dataDir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+access, "ROOT_SECRET_KEY="+secret)
	cmd.Stdout, cmd.Stderr = &s3srv.log, &s3srv.log
	cmd.SysProcAttr = dieWithParent()
	exited := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		// The kill-on-parent-death signal is tied to the thread that
		// started the child: keep this thread for the child's lifetime.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start versitygw: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("versitygw exited at start:\n%s", s3srv.log.String())
		default:
		}
		if resp, err := http.Get("http://" + addr + "/"); err == nil {
			_ = resp.Body.Close()
			if resp.Header.Get("Server") == "VERSITYGW" {
				s3srv.cmd, s3srv.exited = cmd, exited
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-exited
	return fmt.Errorf("versitygw did not answer on %s within 30s:\n%s", addr, s3srv.log.String())
}

func stopS3Server() {
	if s3srv.cmd != nil {
		_ = s3srv.cmd.Process.Kill()
		<-s3srv.exited
	}
	if s3srv.dataDir != "" {
		_ = os.RemoveAll(s3srv.dataDir)
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// s3Config is a configuration for a fresh store: its own bucket on the
// local server (created by NewS3), or its own prefix in the bucket of
// HEEPR_TEST_S3_URL. prefix is "" or ends in "/".
func s3Config(t *testing.T, prefix string) blob.S3Config {
	t.Helper()
	cfg := s3Base(t)
	n := s3srv.stores.Add(1)
	if s3srv.external {
		cfg.Prefix += fmt.Sprintf("heepr-test-%s-%d/", randomHex(4), n) + prefix
		t.Cleanup(func() { removeAll(t, cfg) })
	} else {
		cfg.Bucket = fmt.Sprintf("heepr-test-%d-%s", n, randomHex(4))
		cfg.Prefix = prefix
		cfg.CreateBucket = true
	}
	cfg.PartSize = blob.MinPartSize
	return cfg
}

// lister is a client of the test's own: the adapter never lists.
func lister(t *testing.T, cfg blob.S3Config) *minio.Client {
	t.Helper()
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseSSL,
		Region: cfg.Region,
	})
	require.NoError(t, err)
	return c
}

// listRaw lists every object name and unfinished upload in cfg's bucket
// (under cfg.Prefix's top folder on an external server, which other data
// may share), as raw names; uploads as "UPLOAD:" + name.
func listRaw(t *testing.T, cfg blob.S3Config) []string {
	t.Helper()
	c := lister(t, cfg)
	within := ""
	if s3srv.external {
		within = cfg.Prefix
	}
	var out []string
	for o := range c.ListObjects(t.Context(), cfg.Bucket, minio.ListObjectsOptions{Prefix: within, Recursive: true}) {
		require.NoError(t, o.Err)
		out = append(out, o.Key)
	}
	for u := range c.ListIncompleteUploads(t.Context(), cfg.Bucket, within, true) {
		require.NoError(t, u.Err)
		out = append(out, "UPLOAD:"+u.Key)
	}
	slices.Sort(out)
	return out
}

// storedS3 lists what a store holds: its objects by key; anything else
// (an unfinished upload, an object outside its prefix) by a name that is
// no key.
func storedS3(t *testing.T, cfg blob.S3Config) []string {
	t.Helper()
	var out []string
	for _, name := range listRaw(t, cfg) {
		name, upload := strings.CutPrefix(name, "UPLOAD:")
		key, ok := strings.CutPrefix(name, cfg.Prefix)
		switch {
		case upload:
			out = append(out, "UPLOAD:"+name)
		case ok:
			out = append(out, key)
		default:
			out = append(out, "OUTSIDE-PREFIX:"+name)
		}
	}
	if !s3srv.external {
		// And on the server's disk: no part, temp file or object that the
		// S3 API would not show.
		out = append(out, strayFiles(t, cfg)...)
	}
	slices.Sort(out)
	return out
}

// strayFiles lists files in the server's folder for cfg's bucket that are
// not objects the listing shows (versitygw keeps an object as a file at
// bucket/name, and uploads and temp files under dot folders).
func strayFiles(t *testing.T, cfg blob.S3Config) []string {
	t.Helper()
	root := filepath.Join(s3srv.dataDir, cfg.Bucket)
	listed := map[string]bool{}
	for _, name := range listRaw(t, cfg) {
		listed[name] = true
	}
	var out []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); !listed[rel] {
			out = append(out, "ON-DISK:"+rel)
		}
		return nil
	}))
	return out
}

func removeAll(t *testing.T, cfg blob.S3Config) {
	c := lister(t, cfg)
	ctx := context.Background()
	for o := range c.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Prefix: cfg.Prefix, Recursive: true}) {
		if o.Err == nil {
			_ = c.RemoveObject(ctx, cfg.Bucket, o.Key, minio.RemoveObjectOptions{})
		}
	}
	for u := range c.ListIncompleteUploads(ctx, cfg.Bucket, cfg.Prefix, true) {
		if u.Err == nil {
			_ = c.RemoveIncompleteUpload(ctx, cfg.Bucket, u.Key)
		}
	}
}

// newS3 opens a fresh, empty S3 store.
func newS3(t *testing.T, prefix string) (*blob.S3, blob.S3Config) {
	t.Helper()
	cfg := s3Config(t, prefix)
	s, err := blob.NewS3(t.Context(), cfg)
	require.NoError(t, err)
	return s, cfg
}

func newS3Store(t *testing.T) blobtest.Store {
	s, cfg := newS3(t, "heepr/")
	return blobtest.Store{Blobs: s, Stored: func(t *testing.T) []string { return storedS3(t, cfg) }}
}

// syncBuffer is a bytes.Buffer that the server's output and a failing
// test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
