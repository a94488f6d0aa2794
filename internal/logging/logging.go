// Package logging builds the slog logger every program uses, from
// settings that package config has read and checked (LOG_FORMAT,
// LOG_LEVEL), and the Temporal SDK's logger on top of it (Temporal).
package logging

import (
	"io"
	"log/slog"
	"strings"

	tlog "go.temporal.io/sdk/log"
)

// Format is how log lines are written.
type Format string

// The formats of LOG_FORMAT.
const (
	Text Format = "text"
	JSON Format = "json"
)

// Settings are the log's settings, checked.
type Settings struct {
	// Format is Text or JSON; anything else writes text.
	Format Format
	// Level is the lowest level written.
	Level slog.Level
}

// New returns a logger writing to w with s.
func New(w io.Writer, s Settings) *slog.Logger {
	opts := &slog.HandlerOptions{Level: s.Level}
	if s.Format == JSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Temporal returns the Temporal SDK's logger, writing to l. The SDK logs a
// task it could not process at INFO, as "Task processing failed…": a
// workflow task that Temporal refuses (say, one that sets a search
// attribute the namespace lacks) fails so, and is retried without end,
// out of sight at the usual levels. Those lines are written at WARN.
func Temporal(l *slog.Logger) tlog.Logger {
	// One more frame, this adapter's, between the SDK and slog.
	return sdkLogger{tlog.Skip(tlog.NewStructuredLogger(l), 1)}
}

// failedTask begins the SDK's line for a task it could not process
// (go.temporal.io/sdk/internal: baseWorker.processTaskAsync).
const failedTask = "Task processing failed"

type sdkLogger struct{ tlog.Logger }

func (s sdkLogger) Info(msg string, keyvals ...any) {
	if strings.HasPrefix(msg, failedTask) {
		s.Logger.Warn(msg, keyvals...)
		return
	}
	s.Logger.Info(msg, keyvals...)
}

// With implements tlog.WithLogger: the SDK derives its workers' loggers so.
func (s sdkLogger) With(keyvals ...any) tlog.Logger {
	return sdkLogger{tlog.With(s.Logger, keyvals...)}
}

// WithCallerSkip implements tlog.WithSkipCallers.
func (s sdkLogger) WithCallerSkip(depth int) tlog.Logger {
	return sdkLogger{tlog.Skip(s.Logger, depth)}
}
