package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/webhook"
	"github.com/mediaflow/mediaflow/tools/internal/cli"
	"github.com/mediaflow/mediaflow/tools/internal/load"
)

const testSecret = "whsec_bG9hZGdlbi10ZXN0LXNlY3JldC1ub3QtdXNlZC1lbHNld2hlcmU="

func TestParseFlags(t *testing.T) {
	base := []string{"-secret", testSecret}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o options)
	}{
		{name: "defaults", args: base, check: func(t *testing.T, o options) {
			require.Equal(t, 1000, o.n)
			require.Equal(t, 32, o.conc)
			require.Equal(t, []string{"http://127.0.0.1:8080/webhooks/animus"}, o.urls)
		}},
		{name: "duration alone drops the default count", args: append(base, "-d", "10s"), check: func(t *testing.T, o options) {
			require.Equal(t, 0, o.n)
		}},
		{name: "duration and count", args: append(base, "-d", "10s", "-n", "5"), check: func(t *testing.T, o options) {
			require.Equal(t, 5, o.n)
		}},
		{name: "remote URL refused", args: append(base, "-url", "http://192.168.1.10:8080/webhooks/animus"), wantErr: "not loopback"},
		{name: "remote Temporal refused", args: append(base, "-temporal", "10.1.1.1:7233"), wantErr: "not loopback"},
		{name: "unbounded refused", args: append(base, "-n", "0"), wantErr: "bounded"},
		{name: "no secret", args: []string{"-secret", ""}, wantErr: "required"},
		{name: "bad secret", args: []string{"-secret", "whsec_!!"}, wantErr: "invalid webhook secret"},
		{name: "too many", args: append(base, "-n", "2000000"), wantErr: "-n"},
		{name: "huge open loop", args: append(base, "-rate", "100000", "-d", "1h"), wantErr: "-rate"},
		{name: "sides", args: append(base, "-sides", "floor0, bare,webhooks"), check: func(t *testing.T, o options) {
			require.Equal(t, []string{"floor0", "bare", "webhooks"}, o.sides)
		}},
		{name: "unknown side", args: append(base, "-sides", "webhooks,floor2"), wantErr: "floor2"},
		{name: "a side twice", args: append(base, "-sides", "direct,webhooks,direct"), wantErr: "each once"},
		{name: "no wait with a floor", args: append(base, "-sides", "floor1", "-wait", "0"), wantErr: "-wait"},
		{name: "no wait with direct starts", args: append(base, "-sides", "direct,webhooks", "-wait", "0"), check: func(t *testing.T, o options) {
			require.Zero(t, o.wait)
		}},
		{name: "outage without receiver", args: append(base, "-receiver-down", "3m"), wantErr: "-receiver"},
		{name: "several URLs", args: append(base, "-url", "http://127.0.0.1:8080/w, http://127.0.0.1:8081/w"), check: func(t *testing.T, o options) {
			require.Equal(t, []string{"http://127.0.0.1:8080/w", "http://127.0.0.1:8081/w"}, o.urls)
		}},
		{name: "one remote URL among several", args: append(base, "-url", "http://127.0.0.1:8080/w,http://10.0.0.1:8081/w"), wantErr: "not loopback"},
		{name: "remote receiver", args: append(base, "-receiver", "10.0.0.1:9000"), wantErr: "not loopback"},
		{name: "bad cpu", args: append(base, "-cpu", "server"), wantErr: "-cpu"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}

type instantStarter struct{ n atomic.Int64 }

func (s *instantStarter) Start(context.Context, mediaflow.MediaCompletedInput) (string, error) {
	s.n.Add(1)
	return "run", nil
}

// TestHTTPRun drives the real handler over loopback HTTP: every event is
// signed correctly, has its own ID, and is counted as started.
func TestHTTPRun(t *testing.T) {
	v, err := webhook.NewVerifier([]string{testSecret})
	require.NoError(t, err)
	starter := &instantStarter{}
	api, err := httpapi.New(httpapi.Options{
		Verifier:          v,
		Starter:           starter,
		Ready:             func(context.Context) error { return nil },
		MaxBodyBytes:      1 << 20,
		StartTimeout:      5 * time.Second,
		MaxInflightStarts: 256,
		Logger:            slog.New(slog.DiscardHandler),
		Registry:          prometheus.NewRegistry(),
	})
	require.NoError(t, err)
	srv := httptest.NewServer(api)
	defer srv.Close()

	var out bytes.Buffer
	err = run(context.Background(), []string{"-url", srv.URL + httpapi.WebhookPath, "-secret", testSecret,
		"-n", "60", "-c", "4", "-size", "2048", "-json", "-wait", "0", "-cpu", fmt.Sprintf("server=%d", os.Getpid())}, &out, io.Discard)
	require.NoError(t, err)
	var rep load.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	// The handler runs in this process: its CPU time is the server's.
	mem, err := rssMiB(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, mem)
	side := rep.Sides["webhooks"]
	require.Equal(t, 60, side.SentCPU.Events)
	require.Contains(t, side.SentCPU.MS, "server")
	require.Contains(t, side.SentCPU.MS, "loadgen")
	require.Equal(t, 2048, rep.BodyBytes)
	require.Equal(t, 60, side.Sent.Requests)
	require.Equal(t, map[string]int{"200": 60}, side.Sent.Codes)
	require.Equal(t, map[string]int{"started": 60}, side.Sent.Statuses)
	require.EqualValues(t, 60, starter.n.Load())

	// Open loop, human-readable output.
	out.Reset()
	err = run(context.Background(), []string{"-url", srv.URL + httpapi.WebhookPath, "-secret", testSecret,
		"-n", "20", "-rate", "200", "-wait", "0"}, &out, io.Discard)
	require.NoError(t, err)
	require.Contains(t, out.String(), "open loop at 200/s")
	require.Contains(t, out.String(), "codes: 200=20")
	require.EqualValues(t, 80, starter.n.Load())
}

// TestExitCodes: --help is what was asked for (0, the usage printed), a
// flag that does not exist is a usage error (2, named by the flag
// package), a bad value an error (1, printed).
func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    int
		wantOut string
	}{
		{[]string{"--help"}, 0, "Usage of loadgen"},
		{[]string{"--no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"-secret", testSecret, "-n", "0"}, 1, "every run is bounded"},
	} {
		var stderr bytes.Buffer
		code := cli.ExitCode("loadgen", run(context.Background(), tc.args, io.Discard, &stderr), &stderr)
		require.Equal(t, tc.want, code, "loadgen %v", tc.args)
		require.Contains(t, stderr.String(), tc.wantOut, "loadgen %v", tc.args)
	}
}
