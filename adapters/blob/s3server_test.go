package blob_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/adapters/blob"
	"github.com/heepr/heepr/adapters/blob/blobtest"
)

// The S3 tests run against the test process's S3 server from blobtest
// (versitygw, or the server HEEPR_TEST_S3_URL names); it must start.

func TestMain(m *testing.M) {
	code := m.Run()
	blobtest.StopS3() // on Linux the server would die with the process anyway; this also removes its folder
	os.Exit(code)
}

// s3Server is the test process's server, started on first use.
func s3Server(t *testing.T) *blobtest.S3Server {
	t.Helper()
	return blobtest.StartS3(t)
}

// s3Config is a configuration for a fresh store: its own bucket on the
// local server (created by NewS3), or its own prefix in the bucket of
// HEEPR_TEST_S3_URL. prefix is "" or ends in "/".
func s3Config(t *testing.T, prefix string) blob.S3Config {
	t.Helper()
	return s3Server(t).Config(t, prefix)
}

// listRaw lists every object name and unfinished upload of cfg's store,
// as raw names; uploads as "UPLOAD:" + name.
func listRaw(t *testing.T, cfg blob.S3Config) []string {
	t.Helper()
	return s3Server(t).List(t, cfg)
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
	return blobtest.Store{Blobs: s, Stored: func(t *testing.T) []string { return s3Server(t).Stored(t, cfg) }}
}
