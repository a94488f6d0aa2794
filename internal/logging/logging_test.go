package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
)

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Settings{Format: JSON, Level: slog.LevelWarn})
	l.Info("hidden")
	l.Warn("shown", "k", 1)
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line), buf.String())
	require.Equal(t, "shown", line["msg"])

	buf.Reset()
	New(&buf, Settings{Format: Text}).Info("plain")
	require.Contains(t, buf.String(), "level=INFO msg=plain")
}

// TestTemporalFailedTasksAtWarn: the SDK's "Task processing failed" lines,
// which it writes at INFO, reach the log at WARN, also through the child
// loggers the SDK derives for its workers; its other lines keep their
// level.
func TestTemporalFailedTasksAtWarn(t *testing.T) {
	var buf bytes.Buffer
	logger := Temporal(slog.New(slog.NewTextHandler(&buf, nil)))
	worker := tlog.With(logger, "TaskQueue", "animus-media")
	worker.Info("Task processing failed with error", "Error", errors.New("BadSearchAttributes"))
	worker.Info("Started Worker")
	tlog.Skip(worker, 1).Info("Task processing failed with client side error", "Error", "deadline")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 3)
	require.Contains(t, lines[0], `level=WARN msg="Task processing failed with error" TaskQueue=animus-media Error=BadSearchAttributes`)
	require.Contains(t, lines[1], `level=INFO msg="Started Worker"`)
	require.Contains(t, lines[2], `level=WARN msg="Task processing failed with client side error"`)
}
