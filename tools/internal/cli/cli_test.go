package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExitCode(t *testing.T) {
	var stderr bytes.Buffer
	require.Equal(t, 0, ExitCode("send", nil, &stderr))
	require.Equal(t, 0, ExitCode("send", flag.ErrHelp, &stderr))
	require.Equal(t, 2, ExitCode("send", fmt.Errorf("%w: bad flag", ErrUsage), &stderr))
	require.Equal(t, 1, ExitCode("stack", fmt.Errorf("ports: %w", ErrReported), &stderr))
	require.Empty(t, stderr.String(), "help and usage errors are already said by the flag package, a reported one by the tool")
	require.Equal(t, 1, ExitCode("send", errors.New("boom"), &stderr))
	require.Equal(t, "send: boom\n", stderr.String())
}

// TestParse: a flag that does not exist is a usage error, --help is
// flag.ErrHelp, known flags parse.
func TestParse(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 0, "")
	require.ErrorIs(t, Parse(fs, []string{"--no-such-flag"}), ErrUsage)
	require.ErrorIs(t, Parse(fs, []string{"--help"}), flag.ErrHelp)
	require.NoError(t, Parse(fs, []string{"-n", "3"}))
	require.Equal(t, 3, *n)
}
