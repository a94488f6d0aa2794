// Package dbtest puts real databases in trouble for tests: SQLite files
// made unwritable (even for root) and made writable again, and throwaway
// PostgreSQL clusters on 127.0.0.1 that a test stops and starts. It is
// imported by tests only.
package dbtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// Unwritable makes each existing path unwritable (a missing one is
// skipped) and returns a function that makes them writable again; the
// test's cleanup calls it too. As root, whom file modes do not stop, it
// sets the immutable attribute (chattr +i: no write, even through a
// descriptor opened before, no new file in a directory); otherwise it
// removes the write bits. It skips the test when the file system has no
// immutable attribute.
func Unwritable(t testing.TB, paths ...string) (writable func()) {
	t.Helper()
	var (
		undo []func() error
		once sync.Once
	)
	writable = func() {
		once.Do(func() {
			for _, f := range undo {
				if err := f(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	// Registered first: a skip or failure below still undoes what was done.
	t.Cleanup(writable)
	for _, p := range paths {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() != 0 {
			mode := fi.Mode().Perm()
			if err := os.Chmod(p, mode&^0o222); err != nil {
				t.Fatal(err)
			}
			undo = append(undo, func() error { return os.Chmod(p, mode) })
			continue
		}
		if err := setImmutable(p, true); err != nil {
			if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.ENOTTY) || errors.Is(err, syscall.EOPNOTSUPP) {
				t.Skipf("dbtest: no immutable attribute on %s: %v", p, err)
			}
			t.Fatal(err)
		}
		undo = append(undo, func() error { return setImmutable(p, false) })
	}
	return writable
}

// Postgres is a throwaway PostgreSQL cluster of one test, on 127.0.0.1,
// trusting local connections; the test's cleanup stops and removes it.
// Tests that stop a cluster use one of their own: the cluster of
// TEST_POSTGRES_URL serves tests of other packages running at the same
// time.
type Postgres struct {
	// URL is the postgres:// URL of its "postgres" database, user
	// postgres, no password.
	URL string

	t    testing.TB
	bin  string // the directory of initdb and pg_ctl
	dir  string // holds data/, the server's log and its socket
	port int
	cred *syscall.Credential // whom initdb and pg_ctl run as: postgres when we are root
}

// NewPostgres creates and starts a cluster with the binaries in $PG_BIN
// (scripts/test.sh sets it when PostgreSQL is installed). Without PG_BIN
// it skips the test, or fails it when $CI is set, so CI never skips it.
func NewPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := os.Getenv("PG_BIN")
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PG_BIN is not set in CI (scripts/test.sh sets it)")
		}
		t.Skip("PG_BIN not set (scripts/test.sh sets it when PostgreSQL is installed): PostgreSQL stop/start not tested")
	}
	// Not t.TempDir: its parent is private to root, and the server runs
	// as postgres.
	dir, err := os.MkdirTemp("", "mediaflow-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	p := &Postgres{t: t, bin: bin, dir: dir, port: freePort(t)}
	t.Cleanup(func() {
		p.pgCtl("-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("dbtest: running PostgreSQL as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := p.command("initdb", "--no-sync", "-D", p.data(), "-A", "trust", "-U", "postgres").CombinedOutput(); err != nil {
		t.Fatalf("dbtest: initdb: %v\n%s", err, out)
	}
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	p.Start()
	return p
}

// Start starts the cluster and waits until it takes connections.
func (p *Postgres) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off", p.port, p.dir)
	if out, err := p.pgCtl("-l", filepath.Join(p.dir, "server.log"), "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
		p.t.Fatalf("dbtest: starting PostgreSQL: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the cluster as an operator's restart does (pg_ctl -m fast:
// sessions are terminated with 57P01 admin_shutdown) and waits until it
// is down.
func (p *Postgres) Stop() {
	p.t.Helper()
	if out, err := p.pgCtl("-m", "fast", "stop"); err != nil {
		p.t.Fatalf("dbtest: stopping PostgreSQL: %v\n%s", err, out)
	}
}

func (p *Postgres) data() string { return filepath.Join(p.dir, "data") }

func (p *Postgres) pgCtl(args ...string) ([]byte, error) {
	return p.command("pg_ctl", append([]string{"-D", p.data(), "-w", "-t", "60"}, args...)...).CombinedOutput()
}

func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = p.dir
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

// freePort returns a TCP port on 127.0.0.1 that nothing listened on a
// moment ago.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
