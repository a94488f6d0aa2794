package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func testRecord(topology string, events int) record {
	return record{Topology: topology, Temporal: "temporal " + topology, Command: "go run ./tools/chaos",
		Faults: &faultResult{Events: events, Acked: events, Completed: events, Runs: events, Rows: events,
			DistinctKeys: events, Posts: events, Faults: []string{topology + " fault"}}}
}

// TestReportKeepsTheRest: a run replaces its own topology's section and
// keeps the other's and whatever else the report holds, written by hand.
func TestReportKeepsTheRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RELIABILITY.md")
	hand := "# Reliability\n\nwritten by hand\n"
	require.NoError(t, os.WriteFile(path, []byte(hand), 0o644))

	require.NoError(t, writeReport(path, testRecord("dev server", 500)))
	require.NoError(t, writeReport(path, testRecord("cluster", 1000)))
	require.NoError(t, os.WriteFile(path, append(must(os.ReadFile(path)), "\n## Hostile inputs\n\nby hand too\n"...), 0o644))
	require.NoError(t, writeReport(path, testRecord("cluster", 1200)))

	text := string(must(os.ReadFile(path)))
	require.True(t, strings.HasPrefix(text, hand), text)
	require.True(t, strings.HasSuffix(text, "## Hostile inputs\n\nby hand too\n"), text)
	require.Equal(t, 1, strings.Count(text, "## Faults on the dev server\n"))
	require.Equal(t, 1, strings.Count(text, "## Faults on the cluster\n"))
	require.Contains(t, text, "| distinct events | 500 |")
	require.Contains(t, text, "| distinct events | 1200 |")
	require.NotContains(t, text, "| distinct events | 1000 |")
	require.Contains(t, text, "| result | **PASS** |")
	require.Contains(t, text, "dev server fault.")
}

func TestReportFails(t *testing.T) {
	rec := testRecord("cluster", 40)
	rec.Faults.Rows = 41
	require.Contains(t, section(rec), "| **duplicated** (extra runs + extra rows + extra keys) | **1** |")
	require.Contains(t, section(rec), "| result | **FAIL** |")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
