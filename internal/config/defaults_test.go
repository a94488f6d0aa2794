package config

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow"
)

// TestDocumentedDefaults: every default docs/configuration.md states in
// code type (`5s`) is the one the code applies (its envDefault tag,
// or the constant used for an empty value), and every variable with an
// envDefault tag has its default in the docs.
func TestDocumentedDefaults(t *testing.T) {
	code := map[string]string{
		"TEMPORAL_TASK_QUEUE": mediaflow.DefaultTaskQueue,
		"BLOB_URL":            DefaultBlobURL,
		"DATABASE_URL":        DefaultDatabaseURL,
		"WORKER_METRICS_ADDR": DefaultWorkerMetricsAddr,
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[Server](), reflect.TypeFor[Worker]()} {
		for _, f := range reflect.VisibleFields(typ) {
			name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
			if def, ok := f.Tag.Lookup("envDefault"); ok && name != "" {
				code[name] = def
			}
		}
	}

	md, err := os.ReadFile("../../docs/configuration.md")
	require.NoError(t, err)
	documented := map[string]string{}
	for _, line := range strings.Split(string(md), "\n") {
		cells := strings.Split(line, " | ")
		if !strings.HasPrefix(line, "| `") || len(cells) < 2 {
			continue
		}
		names := strings.Split(strings.Trim(cells[0], "| "), ", ")
		var literals []string
		for i, piece := range strings.Split(cells[1], "`") {
			if i%2 == 1 {
				literals = append(literals, piece)
			}
		}
		switch {
		case !strings.HasPrefix(cells[1], "`"):
			continue // a default in words ("required", "empty: off")
		case len(names) == 1:
			documented[strings.Trim(names[0], "`")] = literals[0]
		case len(names) == len(literals): // "`text`, `info`"
			for i, n := range names {
				documented[strings.Trim(n, "`")] = literals[i]
			}
		}
	}
	require.NotEmpty(t, documented)
	for name, def := range documented {
		want, ok := code[name]
		require.True(t, ok, "%s: docs/configuration.md states default %q, the code has none", name, def)
		require.Equal(t, want, def, "%s: docs/configuration.md's default", name)
	}
	for name, def := range code {
		if _, ok := documented[name]; !ok && name != "RATE_LIMIT_RPS" && name != "RATE_LIMIT_BURST" {
			t.Errorf("%s: default %q is not in docs/configuration.md", name, def)
		}
	}
}
