package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/blob"
)

// The S3 tests run against a real S3-compatible server: versitygw (posix
// backend, pinned in tools/go.mod, built through the Go build cache),
// started once per test process, on first use, on a free loopback port
// over a temporary folder. ExternalS3URLEnv (ParseS3URL's format) points
// them at another server instead; each store then gets its own prefix in
// that bucket.
//
// The server outlives every test but not the test process: on Linux the
// kernel kills it when the process that started it dies (however it ends:
// normally, on a timeout, on a signal), so no TestMain is needed. Its
// folder is removed by StopS3 when a TestMain calls it, and otherwise by
// the next test process that starts a server (a best effort: only the
// folders of processes that have ended, on Linux).

// ExternalS3URLEnv names an S3 server (ParseS3URL's format) for the tests
// to use instead of starting versitygw.
const ExternalS3URLEnv = "HEEPR_TEST_S3_URL"

// S3Server is the test process's S3 server.
type S3Server struct {
	// Base is the server's endpoint, region and credentials; on an
	// external server, also its bucket and prefix.
	Base blob.S3Config
	// External: the server is ExternalS3URLEnv's, shared with other data.
	External bool
	// Root is the folder versitygw keeps its buckets in (an object is the
	// file Root/bucket/name, unfinished uploads and temp files are under
	// dot folders); "" on an external server.
	Root string

	dir    string   // the temporary folder: Root and the lock
	lock   *os.File // held for the life of the process
	cmd    *exec.Cmd
	exited chan struct{}
	log    syncBuffer
	stores atomic.Int64
}

var s3srv struct {
	once sync.Once
	srv  *S3Server
	err  error
}

// tempPattern names the temporary folders of the servers (one per test
// process), under os.TempDir.
const tempPattern = "heepr-s3-*"

// StartS3 returns the test process's S3 server, starting it on first use;
// the test fails when it cannot start.
func StartS3(tb testing.TB) *S3Server {
	tb.Helper()
	srv, err := startOnce()
	if err != nil {
		tb.Fatalf("the S3 test server must start: %v", err)
	}
	return srv
}

// StartS3OrSkip is StartS3, except that a server that cannot be built or
// started skips the test, unless CI=true, where the test fails.
func StartS3OrSkip(tb testing.TB) *S3Server {
	tb.Helper()
	srv, err := startOnce()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("the S3 test server must start under CI: %v", err)
		}
		tb.Skipf("skipping: no S3 test server: %v", err)
	}
	return srv
}

func startOnce() (*S3Server, error) {
	s3srv.once.Do(func() {
		srv := &S3Server{}
		if err := srv.start(); err != nil {
			if log := srv.log.String(); log != "" {
				err = fmt.Errorf("%w\nversitygw's log:\n%s", err, log)
			}
			srv.stop()
			s3srv.err = err
			return
		}
		s3srv.srv = srv
	})
	return s3srv.srv, s3srv.err
}

// StopS3 stops the server, if one was started, and removes its folder. A
// TestMain may call it after m.Run; no test may use the server after it.
func StopS3() {
	if s3srv.srv != nil {
		s3srv.srv.stop()
	}
}

func (s *S3Server) start() error {
	if raw := os.Getenv(ExternalS3URLEnv); raw != "" {
		cfg, err := blob.ParseS3URL(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", ExternalS3URLEnv, err)
		}
		s.Base, s.External = cfg, true
		return nil
	}
	bin, err := buildVersityGW()
	if err != nil {
		return err
	}
	removeStaleFolders()
	if s.dir, err = os.MkdirTemp("", tempPattern); err != nil {
		return err
	}
	if s.lock, err = lockFolder(s.dir); err != nil {
		return err
	}
	s.Root = filepath.Join(s.dir, "data")
	if err := os.Mkdir(s.Root, 0o700); err != nil {
		return err
	}
	access, secret := randomHex(10), randomHex(20)
	var lastErr error
	for range 3 { // a free port can be taken between finding and binding it
		addr, err := freePort()
		if err != nil {
			return err
		}
		if lastErr = s.run(bin, addr, access, secret); lastErr == nil {
			s.Base = blob.S3Config{Endpoint: addr, Region: "us-east-1", AccessKey: access, SecretKey: secret, UseSSL: false}
			return nil
		}
	}
	return lastErr
}

// stop kills the server and removes its folder (best effort).
func (s *S3Server) stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
		s.dir = ""
	}
	if s.lock != nil {
		_ = s.lock.Close()
		s.lock = nil
	}
}

// removeStaleFolders removes the folders that servers of test processes
// that have ended left behind (when no TestMain called StopS3).
func removeStaleFolders() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPattern))
	for _, dir := range dirs {
		if f := ownerGone(dir); f != nil {
			_ = os.RemoveAll(dir)
			_ = f.Close()
		}
	}
}

// buildVersityGW builds (or finds in the Go build cache) the versitygw
// pinned in tools/go.mod and returns its path: a minute or two the first
// time on a fresh machine, about a second after that.
func buildVersityGW() (string, error) {
	modfile, err := toolsModfile()
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
		fmt.Fprintf(os.Stderr, "blobtest: built versitygw in %s (cached from now on)\n", d.Round(time.Second))
	}
	bin := strings.TrimSpace(stdout.String())
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("versitygw binary: %w", err)
	}
	return bin, nil
}

// toolsModfile finds tools/go.mod: beside this package's source, or in
// the main module of the test's working folder (a -trimpath build has no
// source path).
func toolsModfile() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		p := filepath.Join(filepath.Dir(file), "..", "..", "..", "tools", "go.mod")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find tools/go.mod: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("find tools/go.mod: not inside the heepr module")
	}
	p := filepath.Join(filepath.Dir(gomod), "tools", "go.mod")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("find tools/go.mod: %w", err)
	}
	return p, nil
}

func (s *S3Server) run(bin, addr, access, secret string) error {
	cmd := exec.Command(bin, "--port", addr, "--region", "us-east-1", "--quiet", "posix", s.Root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+access, "ROOT_SECRET_KEY="+secret)
	cmd.Stdout, cmd.Stderr = &s.log, &s.log
	cmd.SysProcAttr = dieWithParent()
	exited := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		// The kill-on-parent-death signal is tied to the thread that
		// started the child: keep this thread for the child's lifetime
		// (which is the process's, unless StopS3 ends it).
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
			return errors.New("versitygw exited at start")
		default:
		}
		if resp, err := http.Get("http://" + addr + "/"); err == nil {
			_ = resp.Body.Close()
			if resp.Header.Get("Server") == "VERSITYGW" {
				s.cmd, s.exited = cmd, exited
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-exited
	return fmt.Errorf("versitygw did not answer on %s within 30s", addr)
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

// Config is the configuration of a fresh, empty store: its own bucket on
// the local server (created by NewS3: CreateBucket is set), or its own
// prefix in the bucket of an external server (emptied when the test
// ends). prefix is "" or ends in "/"; the part size is S3's smallest.
func (s *S3Server) Config(tb testing.TB, prefix string) blob.S3Config {
	tb.Helper()
	cfg := s.Base
	n := s.stores.Add(1)
	if s.External {
		top := cfg.Prefix + fmt.Sprintf("heepr-test-%s-%d/", randomHex(4), n)
		cfg.Prefix = top + prefix
		tb.Cleanup(func() { s.removeAll(tb, cfg.Bucket, top) })
	} else {
		cfg.Bucket = fmt.Sprintf("heepr-test-%d-%s", n, randomHex(4))
		cfg.Prefix = prefix
		cfg.CreateBucket = true
	}
	cfg.PartSize = blob.MinPartSize
	return cfg
}

// URL is Config as a URL in ParseS3URL's format (HEEPR_S3_URL).
func (s *S3Server) URL(tb testing.TB, prefix string) string {
	tb.Helper()
	return S3URL(s.Config(tb, prefix))
}

// S3URL writes a configuration in ParseS3URL's format.
func S3URL(cfg blob.S3Config) string {
	q := url.Values{}
	if cfg.Region != "" {
		q.Set("region", cfg.Region)
	}
	q.Set("ssl", strconv.FormatBool(cfg.UseSSL))
	if cfg.Prefix != "" {
		q.Set("prefix", cfg.Prefix)
	}
	if cfg.CreateBucket {
		q.Set("create", "true")
	}
	if cfg.PartSize != 0 {
		q.Set("part_size", strconv.FormatInt(cfg.PartSize, 10))
	}
	u := url.URL{Scheme: "s3", User: url.UserPassword(cfg.AccessKey, cfg.SecretKey), Host: cfg.Endpoint,
		Path: "/" + cfg.Bucket, RawQuery: q.Encode()}
	return u.String()
}

// Client is a client of the test's own, to look at what a store wrote
// (the adapter never lists).
func (s *S3Server) Client(tb testing.TB, cfg blob.S3Config) *minio.Client {
	tb.Helper()
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseSSL,
		Region: cfg.Region,
	})
	require.NoError(tb, err)
	return c
}

// within is the part of cfg's bucket that belongs to the store: all of it
// on the local server; on an external server, which other data may share,
// the folder Config gave it.
func (s *S3Server) within(cfg blob.S3Config) string {
	if !s.External {
		return ""
	}
	rest, ok := strings.CutPrefix(cfg.Prefix, s.Base.Prefix)
	if i := strings.Index(rest, "/"); ok && i >= 0 {
		return s.Base.Prefix + rest[:i+1]
	}
	return cfg.Prefix
}

// List lists every object name and unfinished upload in the store's part
// of cfg's bucket, as raw names (prefix included), sorted; uploads as
// "UPLOAD:" + name.
func (s *S3Server) List(tb testing.TB, cfg blob.S3Config) []string {
	tb.Helper()
	c := s.Client(tb, cfg)
	ctx := context.Background()
	within := s.within(cfg)
	var out []string
	for o := range c.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Prefix: within, Recursive: true}) {
		require.NoError(tb, o.Err)
		out = append(out, o.Key)
	}
	for u := range c.ListIncompleteUploads(ctx, cfg.Bucket, within, true) {
		require.NoError(tb, u.Err)
		out = append(out, "UPLOAD:"+u.Key)
	}
	slices.Sort(out)
	return out
}

// Stored lists what a store holds, as Store.Stored does: its objects by
// key; anything else (an unfinished upload, an object outside its prefix,
// a file on the local server's disk that the S3 API does not show) by a
// name that is no key.
func (s *S3Server) Stored(tb testing.TB, cfg blob.S3Config) []string {
	tb.Helper()
	raw := s.List(tb, cfg)
	var out []string
	for _, name := range raw {
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
	if !s.External {
		out = append(out, s.strayFiles(tb, cfg.Bucket, raw)...)
	}
	slices.Sort(out)
	return out
}

// strayFiles lists the files in the local server's folder for a bucket
// that are not the objects listed (versitygw keeps an object as a file at
// bucket/name, and uploads and temp files under dot folders).
func (s *S3Server) strayFiles(tb testing.TB, bucket string, listed []string) []string {
	tb.Helper()
	root := filepath.Join(s.Root, bucket)
	seen := map[string]bool{}
	for _, name := range listed {
		seen[name] = true
	}
	var out []string
	require.NoError(tb, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
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
		if rel = filepath.ToSlash(rel); !seen[rel] {
			out = append(out, "ON-DISK:"+rel)
		}
		return nil
	}))
	return out
}

// Read reads one object by its raw name (prefix included).
func (s *S3Server) Read(tb testing.TB, cfg blob.S3Config, name string) []byte {
	tb.Helper()
	o, err := s.Client(tb, cfg).GetObject(context.Background(), cfg.Bucket, name, minio.GetObjectOptions{})
	require.NoError(tb, err)
	defer o.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(o)
	require.NoError(tb, err, "read %s", name)
	return b.Bytes()
}

// removeAll empties a folder of an external server's bucket.
func (s *S3Server) removeAll(tb testing.TB, bucket, folder string) {
	c, err := minio.New(s.Base.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(s.Base.AccessKey, s.Base.SecretKey, ""),
		Secure: s.Base.UseSSL,
		Region: s.Base.Region,
	})
	if err != nil {
		tb.Logf("empty %s: %v", folder, err)
		return
	}
	ctx := context.Background()
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: folder, Recursive: true}) {
		if o.Err == nil {
			_ = c.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{})
		}
	}
	for u := range c.ListIncompleteUploads(ctx, bucket, folder, true) {
		if u.Err == nil {
			_ = c.RemoveIncompleteUpload(ctx, bucket, u.Key)
		}
	}
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
