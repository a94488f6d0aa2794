package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func testRecord(topology string, events int) record {
	return record{Setup: setup{Topology: topology, Temporal: "temporal " + topology}, Command: "go run ./tools/chaos",
		Faults: &faultResult{Events: events, Acked: events, Completed: events, Runs: events, Rows: events,
			DistinctKeys: events, Posts: events, Faults: []string{topology + " fault"}}}
}

// TestReportKeepsTheOtherTopology: a run replaces its own column and keeps
// the other's, read back from the file; a report written before the
// records were kept counts as none.
func TestReportKeepsTheOtherTopology(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RELIABILITY.md")
	require.NoError(t, os.WriteFile(path, []byte("# Reliability\n\nan older report, without records\n"), 0o644))

	require.NoError(t, writeReport(path, testRecord("dev server", 500)))
	require.NoError(t, writeReport(path, testRecord("cluster", 1000)))
	require.NoError(t, writeReport(path, testRecord("cluster", 1200)))

	recs, err := readRecords(path)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	require.Equal(t, 500, recs["dev server"].Faults.Events)
	require.Equal(t, 1200, recs["cluster"].Faults.Events)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(raw)
	require.Contains(t, text, "| figure | dev server | cluster |")
	require.Contains(t, text, "| distinct events | 500 | 1200 |")
	require.Contains(t, text, "| result | **PASS** | **PASS** |")
	require.Contains(t, text, "- dev server: dev server fault.")
	require.Contains(t, text, "- cluster: cluster fault.")
	require.Equal(t, 1, strings.Count(text, dataMarker))
}

func TestReportNotRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RELIABILITY.md")
	require.NoError(t, writeReport(path, testRecord("cluster", 40)))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(raw), "| distinct events | not run | 40 |")
}

// TestReportKeepsTheHandWrittenPart: the section between the markers
// survives every run unchanged.
func TestReportKeepsTheHandWrittenPart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RELIABILITY.md")
	require.NoError(t, writeReport(path, testRecord("dev server", 500)))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	hand := keptStart + "\n## Hostile inputs\n\n| probe | result |\n" + keptEnd
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(raw), dataMarker, hand+"\n\n"+dataMarker, 1)), 0o644))

	require.NoError(t, writeReport(path, testRecord("cluster", 40)))
	raw, err = os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(raw), hand))
	recs, err := readRecords(path)
	require.NoError(t, err)
	require.Len(t, recs, 2)
}
