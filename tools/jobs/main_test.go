package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/internal/store"
	"github.com/mediaflow/mediaflow/tools/internal/cli"
)

// TestPrintsTheWorkersRows: rows written by the store, as the worker
// writes them, are printed newest first, optionally only the named jobs,
// while the store still has the file open.
func TestPrintsTheWorkersRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mediaflow.db")
	s, err := store.Open(ctx, "sqlite://"+path)
	require.NoError(t, err)
	defer s.Close()
	for _, j := range []store.Job{
		{JobID: "job-a", EventID: "msg_a", Status: "completed", RawStatus: "completed", Data: json.RawMessage(`{}`), EventAt: time.Now()},
		{JobID: "job-b", EventID: "msg_b", Status: "failed", RawStatus: "failed", Data: json.RawMessage(`{}`), EventAt: time.Now()},
	} {
		_, err := s.UpsertJob(ctx, j)
		require.NoError(t, err)
	}
	_, _, err = s.RecordMedia(ctx, "job-a", "msg_a", "data/media/job-a/clip.mp4", 3406, "9b56")
	require.NoError(t, err)

	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"--db", path}, &out, io.Discard))
	require.Contains(t, out.String(), "2 row(s) from "+path)
	lines := strings.Split(out.String(), "\n")
	require.Regexp(t, `^JOB_ID\s+STATUS\s+EVENT_ID\s+MEDIA_PATH`, lines[0])
	require.Regexp(t, `job-a\s+completed\s+msg_a\s+data/media/job-a/clip.mp4\s+3406`, out.String())
	require.Regexp(t, `job-b\s+failed\s+msg_b\s+-\s+-\s`, out.String())

	out.Reset()
	t.Setenv("DATABASE_URL", "sqlite://"+path)
	require.NoError(t, run(ctx, []string{"job-b"}, &out, io.Discard))
	require.Contains(t, out.String(), "1 row(s)")
	require.NotContains(t, out.String(), "job-a")
}

func TestSaysWhatIsMissing(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--db", filepath.Join(t.TempDir(), "none.db")}, io.Discard, &stderr)
	require.ErrorContains(t, err, "no database at")
	require.Equal(t, 1, cli.ExitCode("jobs", err, &stderr))

	t.Setenv("DATABASE_URL", "postgres://u@db/mediaflow")
	require.ErrorContains(t, run(context.Background(), nil, io.Discard, io.Discard), "psql")

	require.Equal(t, 0, cli.ExitCode("jobs", run(context.Background(), []string{"--help"}, io.Discard, io.Discard), io.Discard))
	require.Equal(t, 2, cli.ExitCode("jobs", run(context.Background(), []string{"--bogus"}, io.Discard, io.Discard), io.Discard))
}
