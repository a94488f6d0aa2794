package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/tools/internal/cli"
)

// TestExitCodes: --help is what was asked for (0, the usage printed), a
// flag that does not exist is a usage error (2, named by the flag
// package), a missing secret an error (1, printed).
func TestExitCodes(t *testing.T) {
	t.Setenv("ANIMUS_WEBHOOK_SECRET", "")
	for _, tc := range []struct {
		args    []string
		want    int
		wantOut string
	}{
		{[]string{"--help"}, 0, "Usage of send"},
		{[]string{"--no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{}, 1, "--secret or ANIMUS_WEBHOOK_SECRET is required"},
	} {
		var stderr bytes.Buffer
		code := cli.ExitCode("send", run(tc.args, io.Discard, &stderr), &stderr)
		require.Equal(t, tc.want, code, "send %v", tc.args)
		require.Contains(t, stderr.String(), tc.wantOut, "send %v", tc.args)
	}
}
