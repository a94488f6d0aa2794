package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBadConfigStopsAtStart runs this test binary as the server (main)
// with a bad environment: it must exit non-zero with one clear line that
// names the variable and never shows the secret.
func TestBadConfigStopsAtStart(t *testing.T) {
	if os.Getenv("MEDIAFLOW_RUN_MAIN") == "1" {
		main()
		return
	}
	tests := []struct {
		name, secret, want string
	}{
		{"missing", "", `"ANIMUS_WEBHOOK_SECRET"`},
		{"not base64", "whsec_s3cr3t!!valu3", "not base64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBadConfigStopsAtStart$")
			cmd.Env = []string{"MEDIAFLOW_RUN_MAIN=1", "HTTP_ADDR=127.0.0.1:0", "TEMPORAL_ADDRESS=127.0.0.1:1"}
			if tc.secret != "" {
				cmd.Env = append(cmd.Env, "ANIMUS_WEBHOOK_SECRET="+tc.secret)
			}
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "got %v, want a non-zero exit; output %q", err, out)
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			require.Len(t, lines, 1, "output %q", out)
			require.Contains(t, lines[0], tc.want)
			if tc.secret != "" {
				require.NotContains(t, string(out), "s3cr3t")
			}
		})
	}
}
