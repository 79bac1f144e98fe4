//go:build fault

package fault_test

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/test/internal/heeprproc"
)

// pgCluster is a private Postgres cluster of one test: its own data
// folder, port and postmaster, so the test may crash it (ADR 15). The
// machine's shared Postgres is never touched.
type pgCluster struct {
	bin, dir, data, port string
	asPostgres           bool // run the binaries as the postgres OS user (we are root)
}

// postgresBin finds the newest /usr/lib/postgresql/N/bin (FAULT_PG_BIN overrides).
func postgresBin(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("FAULT_PG_BIN"); b != "" {
		return b
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi < vj
	})
	if len(dirs) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Postgres server binaries in /usr/lib/postgresql/*/bin (set FAULT_PG_BIN)")
		}
		t.Skip("no Postgres server binaries in /usr/lib/postgresql/*/bin (set FAULT_PG_BIN)")
	}
	return dirs[len(dirs)-1]
}

// startPrivatePostgres runs initdb into a temp folder and starts the
// cluster on a free port; the test's end stops it (immediately) and
// removes the folder.
func startPrivatePostgres(t *testing.T) *pgCluster {
	t.Helper()
	c := &pgCluster{bin: postgresBin(t), asPostgres: os.Geteuid() == 0}
	dir, err := os.MkdirTemp("", "heepr-fault-pg-")
	require.NoError(t, err)
	c.dir, c.data = dir, filepath.Join(dir, "data")
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if c.asPostgres {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root: the private cluster runs as the postgres OS user")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(dir, uid, gid))
	}
	c.run(t, "initdb", "-D", c.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	c.port = strings.TrimPrefix(heeprproc.FreeAddr(t), "127.0.0.1:")
	opts := fmt.Sprintf("-c port=%s -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c max_connections=200", c.port, dir)
	c.run(t, "pg_ctl", "-D", c.data, "-l", filepath.Join(dir, "postgres.log"), "-w", "-t", "60", "-o", opts, "start")
	t.Cleanup(func() {
		cmd := c.command("pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("stop the private Postgres: %v\n%s", err, out)
		}
	})
	return c
}

func (c *pgCluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.asPostgres {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (c *pgCluster) run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := c.command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s\n%s", name, strings.Join(args, " "), out, c.log())
}

func (c *pgCluster) log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
	return heeprproc.Tail(string(b), 4000)
}

// url is the cluster's postgres database, for the superuser.
func (c *pgCluster) url() string {
	return "postgres://postgres@127.0.0.1:" + c.port + "/postgres?sslmode=disable"
}

// restartImmediate is pg_ctlcluster ... restart -m immediate for this
// cluster: the postmaster and every backend are killed without a
// checkpoint, and the cluster starts again with crash recovery. It
// returns how long the cluster was down.
func (c *pgCluster) restartImmediate(t *testing.T) time.Duration {
	t.Helper()
	began := time.Now()
	c.run(t, "pg_ctl", "-D", c.data, "-l", filepath.Join(c.dir, "postgres.log"), "-m", "immediate", "-w", "-t", "60", "restart")
	return time.Since(began)
}
