// Package logging builds the slog logger both programs use, from
// LOG_FORMAT ("text", the default, or "json") and LOG_LEVEL ("debug",
// "info", the default, "warn", "error"), read by package config.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// New returns a logger writing to w in format at level, or an error naming
// the variable (LOG_FORMAT or LOG_LEVEL) whose value is not one of the above.
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf(`config: environment variable "LOG_LEVEL" must be debug, info, warn or error`)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf(`config: environment variable "LOG_FORMAT" must be text or json`)
}
