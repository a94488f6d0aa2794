// Package cli holds what the tools' mains share: how their flags are
// parsed, and how a run's error becomes the process's exit status.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// ErrUsage is returned (or wrapped) by a run whose flags do not parse; the
// flag package has already said why. ErrReported is returned by a run
// that failed and has already said why.
var (
	ErrUsage    = errors.New("usage")
	ErrReported = errors.New("reported")
)

// ExitCode is the exit status for a run's error: 0 for none or --help
// (flag.ErrHelp), 2 for ErrUsage, 1 for ErrReported and for any other,
// which it first prints to stderr after the tool's name.
func ExitCode(name string, err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	case errors.Is(err, ErrReported):
		return 1
	default:
		fmt.Fprintln(stderr, name+":", err)
		return 1
	}
}

// Parse parses args with fs (whose output has the usage and the flag
// package's complaints): nil, flag.ErrHelp for -h/--help, else ErrUsage.
func Parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return ErrUsage
	}
	return err
}
