package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// side is a side of a run: rate events/s, cpu ms per event, all completed.
func side(rate, cpu float64) *load.Side {
	c := &load.CPUReport{PerEvent: map[string]float64{"total": cpu}}
	return &load.Side{Sent: load.PhaseSummary{Rate: 10 * rate, Codes: map[string]int{"200": 100}},
		E2E: load.E2ESummary{Rate: rate, Started: 100, Closed: 100, Statuses: map[string]int{"Completed": 100}}, SentCPU: c, CPU: c}
}

// TestPage: a run's page has its ratios (the median of the runs, which
// alternate the order) and its charts, written beside it; what the run
// did not measure has no section.
func TestPage(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, v any) {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "env.txt"), []byte("topology: the cluster\ncommand: make bench-cluster\nmachine: test\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "commands.txt"), []byte("steps-1\tbin/loadgen -sides floor1,bare,webhooks\n"), 0o644))
	for i, m := range []float64{9, 10, 11, 30} {
		write("steps-"+string(rune('1'+i))+".json", load.Report{Order: []string{"floor1", "bare", "webhooks"},
			Sides: map[string]*load.Side{"webhooks": side(m, 30), "floor1": side(10, 20), "bare": side(5, 40)}})
	}
	rc := &load.ReceiverCounts{Notify: 40, DownSeconds: 3, PerSecond: []int{5, 20, 3, 1, 19, 2}}
	write("outage.json", load.Report{Order: []string{"webhooks"}, Sides: map[string]*load.Side{"webhooks": side(2, 30)}, Receiver: rc})
	out := filepath.Join(t.TempDir(), "cluster.md")
	require.NoError(t, run([]string{"-results", dir, "-out", out}))

	page, err := os.ReadFile(out)
	require.NoError(t, err)
	text := string(page)
	require.Contains(t, text, "# Benchmarks: the cluster")
	require.Contains(t, text, "| steps | floor1 | **1.050** (0.900–3.000) | 0.667 |")
	require.Contains(t, text, "| steps | bare | **2.100** (1.800–6.000) | 1.333 |")
	require.Contains(t, text, "`bin/loadgen -sides floor1,bare,webhooks`")
	require.Contains(t, text, "**at most 20 in any second** (limit 0)")
	require.NotContains(t, text, "## Memory")
	require.NotContains(t, text, "## Ingest")
	for _, chart := range []string{"ratios", "outage"} {
		require.Contains(t, text, "(cluster-"+chart+".png)")
		require.FileExists(t, strings.TrimSuffix(out, ".md")+"-"+chart+".png")
	}
}
