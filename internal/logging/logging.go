// Package logging builds the slog logger both binaries use, from
// LOG_FORMAT ("text", the default, or "json") and LOG_LEVEL ("debug",
// "info", the default, "warn", "error").
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/caarlos0/env/v11"
)

type settings struct {
	Format string `env:"LOG_FORMAT" envDefault:"text"`
	Level  string `env:"LOG_LEVEL" envDefault:"info"`
}

// FromEnv returns a logger writing to w as LOG_FORMAT and LOG_LEVEL say,
// or an error naming the variable whose value is not one of the above.
func FromEnv(w io.Writer) (*slog.Logger, error) {
	s, err := env.ParseAs[settings]()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.Level)); err != nil {
		return nil, fmt.Errorf(`config: environment variable "LOG_LEVEL" must be debug, info, warn or error`)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(s.Format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf(`config: environment variable "LOG_FORMAT" must be text or json`)
}
