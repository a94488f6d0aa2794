// Package pglocal finds the PostgreSQL server installed on this machine
// (Debian's postgresql package), for the throwaway clusters of the tests
// (internal/dbtest) and of make cluster (tools/internal/stack).
package pglocal

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Bin is the directory of PostgreSQL's server programs (initdb, pg_ctl,
// postgres): $PG_BIN when set, else the newest /usr/lib/postgresql/N/bin
// that has initdb; "" when there is none.
func Bin() string {
	if b := os.Getenv("PG_BIN"); b != "" {
		return b
	}
	best, bestV := "", -1
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	for _, f := range found {
		if v, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(f)))); err == nil && v > bestV {
			best, bestV = filepath.Dir(f), v
		}
	}
	return best
}

// User is whom PostgreSQL's programs run as: nil (this process's user),
// or the user postgres when this process is root, whom initdb and
// postgres refuse. It fails when root finds no user postgres.
func User() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("as root, PostgreSQL runs as the user postgres (apt-get install postgresql): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
