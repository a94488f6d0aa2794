// Package dbtest gives tests real databases and puts them in trouble:
// SQLite files made unwritable (even for root) and made writable again,
// throwaway PostgreSQL clusters on 127.0.0.1 that a test stops and
// starts, and the cluster a package's tests share (WithPostgres). It is
// imported by tests only.
package dbtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/mediaflow/mediaflow/internal/pglocal"
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

// Postgres is a throwaway PostgreSQL cluster on 127.0.0.1, trusting
// local connections: a test's own (NewPostgres), for the tests that stop
// it, or a package's (WithPostgres), which its tests share.
type Postgres struct {
	// URL is the postgres:// URL of its "postgres" database, user
	// postgres, no password.
	URL string

	t    testing.TB // NewPostgres's
	bin  string     // the directory of initdb and pg_ctl
	dir  string     // holds data/, the server's log and its socket
	port int
	cred *syscall.Credential // whom initdb and pg_ctl run as: postgres when we are root
}

// NewPostgres creates and starts a cluster of the test's own with the
// binaries pglocal.Bin finds; the test's cleanup removes it. Without them
// it skips the test, or fails it when $CI is set, so CI never skips it.
func NewPostgres(t testing.TB) *Postgres {
	t.Helper()
	if pglocal.Bin() == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL is not installed in CI (apt-get install postgresql, or PG_BIN)")
		}
		t.Skip("PostgreSQL not installed (apt-get install postgresql, or PG_BIN): PostgreSQL stop/start not tested")
	}
	p, err := startPostgres()
	if p != nil {
		t.Cleanup(p.remove)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.t = t
	return p
}

// WithPostgres runs a package's tests (run: its m.Run) with
// TEST_POSTGRES_URL set: as the caller set it, else to a cluster started
// for them when PostgreSQL is installed (pglocal.Bin), removed after them.
// Its tests each use a schema or a database of their own. It returns
// run's exit code, or 1 when the cluster does not start.
func WithPostgres(run func() int) int {
	if os.Getenv("TEST_POSTGRES_URL") != "" || pglocal.Bin() == "" {
		return run()
	}
	p, err := startPostgres()
	if p != nil {
		defer p.remove()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Setenv("TEST_POSTGRES_URL", p.URL)
	return run()
}

// PostgresURL is TEST_POSTGRES_URL (WithPostgres sets it), or "" when
// PostgreSQL is not installed; in CI ($CI set) it fails the test then, so
// CI never skips PostgreSQL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_POSTGRES_URL")
	if u == "" && os.Getenv("CI") != "" {
		t.Fatal("no PostgreSQL for the tests in CI: install it (apt-get install postgresql) or set TEST_POSTGRES_URL")
	}
	return u
}

// startPostgres creates and starts a cluster; when it fails after making
// its directory, the Postgres it returns is to be removed.
func startPostgres() (*Postgres, error) {
	cred, err := pglocal.User()
	if err != nil {
		return nil, err
	}
	// Not t.TempDir: its parent is private to root, and the server runs
	// as postgres.
	dir, err := os.MkdirTemp("", "mediaflow-pgtest-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{bin: pglocal.Bin(), dir: dir, cred: cred}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return p, err
		}
	}
	if p.port, err = freePort(); err != nil {
		return p, err
	}
	if out, err := p.command("initdb", "--no-sync", "-D", p.data(), "-A", "trust", "-U", "postgres").CombinedOutput(); err != nil {
		return p, fmt.Errorf("dbtest: initdb: %w\n%s", err, out)
	}
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
	return p, p.start()
}

func (p *Postgres) remove() {
	p.pgCtl("-m", "immediate", "stop")
	os.RemoveAll(p.dir)
}

// Start starts a NewPostgres cluster again and waits until it takes
// connections.
func (p *Postgres) Start() {
	p.t.Helper()
	if err := p.start(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *Postgres) start() error {
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off", p.port, p.dir)
	if out, err := p.pgCtl("-l", filepath.Join(p.dir, "server.log"), "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
		return fmt.Errorf("dbtest: starting PostgreSQL: %w\n%s\n%s", err, out, log)
	}
	return nil
}

// Stop stops a NewPostgres cluster as an operator's restart does (pg_ctl -m fast:
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
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
