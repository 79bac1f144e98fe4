// Package process_test runs the real heepr binary: start on the embedded
// SQLite, serve a request, stop cleanly on SIGTERM.
package process_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/test/internal/heeprproc"
)

func TestMain(m *testing.M) { heeprproc.Main(m, "proc") }

// stop stops p (SIGTERM, exit status 0) and requires its "stopped" log line.
func stop(t *testing.T, p *heeprproc.Proc) {
	t.Helper()
	p.Stop(t)
	require.Contains(t, logMessages(t, p.Stderr()), "stopped", "heepr %s", p.Name)
}

// logMessages returns the msg of every JSON log line; a line that is not
// JSON fails the test (heepr logs JSON only).
func logMessages(t *testing.T, stderr string) []string {
	t.Helper()
	var msgs []string
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec struct {
			Msg string `json:"msg"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "stderr line is not JSON: %s", line)
		msgs = append(msgs, rec.Msg)
	}
	require.NoError(t, sc.Err())
	return msgs
}

func TestServeSignUpAndStop(t *testing.T) {
	t.Parallel()
	bin := heeprproc.Binary(t)
	dataDir := t.TempDir()
	addr := heeprproc.FreeAddr(t)
	base := "http://" + addr

	var stderr heeprproc.SyncBuffer
	cmd := exec.Command(bin, "serve")
	cmd.Env = heeprproc.Env("HEEPR_DATA_DIR="+dataDir, "HEEPR_ADDR="+addr)
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	var waitErr error
	exited := make(chan struct{}) // closed once heepr has exited; waitErr is then set
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	client := &http.Client{Timeout: 10 * time.Second}
	ready := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		select {
		case <-exited:
			t.Fatalf("heepr exited before it was ready: %v\nstderr:\n%s", waitErr, stderr.String())
		default:
		}
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ready = true
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.True(t, ready, "/readyz did not answer 200 within 60 s\nstderr:\n%s", stderr.String())

	body := `{"email":"Process.Test@Example.com","password":"correct horse battery","display_name":"Process Test","role":"customer"}`
	resp, err := client.Post(base+"/v1/auth/sign-up", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, "sign-up: %s", raw)
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "heepr_session" {
			session = c
		}
	}
	require.NotNil(t, session, "sign-up sets the session cookie")
	require.NotEmpty(t, session.Value)
	require.True(t, session.HttpOnly)

	req, err := http.NewRequest(http.MethodGet, base+"/v1/me", nil)
	require.NoError(t, err)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	resp, err = client.Do(req)
	require.NoError(t, err)
	raw, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "me: %s", raw)
	var me struct {
		ID          string   `json:"id"`
		Email       string   `json:"email"`
		DisplayName string   `json:"display_name"`
		Roles       []string `json:"roles"`
	}
	require.NoError(t, json.Unmarshal(raw, &me))
	require.NotEmpty(t, me.ID)
	require.Equal(t, "Process.Test@Example.com", me.Email)
	require.Equal(t, "Process Test", me.DisplayName)
	require.Equal(t, []string{"customer"}, me.Roles)

	// Without the cookie the same call is refused.
	resp, err = client.Get(base + "/v1/me")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-exited:
		require.NoError(t, waitErr, "heepr exits with status 0 after SIGTERM\nstderr:\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("heepr still running 30 s after SIGTERM\nstderr:\n%s", stderr.String())
	}
	msgs := logMessages(t, stderr.String())
	require.Contains(t, msgs, "stopped")

	// The same data directory is fully migrated: migrate has nothing to do and says so.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	migrate := exec.CommandContext(ctx, bin, "migrate")
	migrate.Env = heeprproc.Env("HEEPR_DATA_DIR=" + dataDir)
	var out, errOut bytes.Buffer
	migrate.Stdout, migrate.Stderr = &out, &errOut
	require.NoError(t, migrate.Run(), "heepr migrate: %s", errOut.String())
	require.Equal(t, "migrations applied\n", out.String())
}

func TestMigrateFreshDataDir(t *testing.T) {
	t.Parallel()
	bin := heeprproc.Binary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "migrate")
	cmd.Env = heeprproc.Env("HEEPR_DATA_DIR=" + dataDir)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Run(), "heepr migrate: %s", errOut.String())
	require.Contains(t, out.String(), "migrations applied")
	entries, err := os.ReadDir(dataDir)
	require.NoError(t, err, "migrate creates the data directory")
	require.NotEmpty(t, entries, "migrate writes the SQLite database into the data directory")
}

func TestServeRejectsUnknownRole(t *testing.T) {
	t.Parallel()
	bin := heeprproc.Binary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--role", "bogus")
	cmd.Env = heeprproc.Env("HEEPR_DATA_DIR="+t.TempDir(), "HEEPR_ADDR="+heeprproc.FreeAddr(t))
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "serve --role bogus kept running")
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "serve --role bogus must fail, got %v", err)
	require.NotZero(t, exit.ExitCode())
	require.Contains(t, errOut.String(), "bogus")
}
