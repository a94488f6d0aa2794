// Package logging builds the slog logger every program uses, from
// settings that package config has read and checked (LOG_FORMAT,
// LOG_LEVEL), and the Temporal SDK's logger on top of it.
package logging

import (
	"io"
	"log/slog"
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
