package main

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// record is one run of the fault test, as the report shows it: what it
// ran on, how, and its figures.
type record struct {
	Topology  string // "dev server" or "cluster": the report's section
	Temporal  string
	Mediaflow string
	Command   string
	Date      string
	Cores     int
	Go        string
	DupRate   float64
	Faults    *faultResult
	Overload  *overloadResult
}

// section is a run's figures, in Markdown: what chaos prints, and its
// topology's section of the report.
func section(r record) string {
	var b strings.Builder
	f := r.Faults
	fmt.Fprintf(&b, "## Faults on the %s\n\n| figure | value |\n|---|---|\n", r.Topology)
	for _, row := range [][2]string{
		{"command", "`" + r.Command + "`"},
		{"run on", fmt.Sprintf("%s, %d cores, %s", r.Date, r.Cores, r.Go)},
		{"machine load (1-minute load average, start → end)", fmt.Sprintf("%.1f → %.1f", f.LoadStart, f.LoadEnd)},
		{"Temporal", r.Temporal},
		{"mediaflow", r.Mediaflow},
		{"distinct events", fmt.Sprint(f.Events)},
		{"deliveries (attempts, duplicates included)", fmt.Sprint(f.Deliveries)},
		{"deliveries by server", perServer(f.PerURL)},
		{"duplicates sent concurrently", fmt.Sprintf("%d, %.0f%% of the events (answered `duplicate`: %d)", f.DupsSent, r.DupRate*100, f.Duplicates)},
		{"answers", codes(f.Codes)},
		{"5xx seen", fmt.Sprintf("%d (transport errors while a server was down: %d)", fiveXX(f.Codes), f.Transport)},
		{"events acknowledged (2xx)", fmt.Sprint(f.Acked)},
		{"workflows completed", fmt.Sprintf("%d (ended otherwise: %d)", f.Completed, f.lost())},
		{"workflow runs (Temporal visibility)", fmt.Sprint(f.Runs)},
		{"job rows", fmt.Sprint(f.Rows)},
		{"notification/alert POSTs, distinct Idempotency-Keys", fmt.Sprintf("%d, %d (keys of no event: %d)", f.Posts, f.DistinctKeys, f.ForeignKeys)},
		{"**lost**", fmt.Sprintf("**%d**", f.lost())},
		{"**duplicated** (extra runs + extra rows + extra keys)", fmt.Sprintf("**%d**", f.duplicated())},
		{"time (first send to last check; last completion)", fmt.Sprintf("%s; %s", f.Elapsed.Round(time.Second), f.CompletionTime.Round(time.Second))},
		{"result", "**" + passFail[f.ok()] + "**"},
	} {
		fmt.Fprintf(&b, "| %s | %s |\n", row[0], row[1])
	}
	fmt.Fprintf(&b, "\nFaults, in order (time from the first send; \"back in\": until the process answered again): %s.\n", strings.Join(f.Faults, "; "))
	if o := r.Overload; o != nil {
		fmt.Fprintf(&b, "\n### Overload\n\n| figure | value |\n|---|---|\n"+
			"| sustainable rate (end to end) | %.0f events/s (%d events in %s) |\n| offered | %.0f events/s for %s: %d requests |\n"+
			"| answers | %s (transport errors: %d) |\n| acknowledged | %d |\n| acknowledged and completed | %d (not completed: %d) |\n"+
			"| server up afterwards | %v |\n| time until every acknowledged event completed | %s |\n| result | **%s** |\n",
			o.Sustainable, o.CalibrationEvents, o.CalibrationCompletedTime.Round(time.Second), o.Offered, o.Duration, o.Sent,
			codes(o.Codes), o.Transport, o.Acked, o.Completed, o.NotCompleted, o.ServerUp, o.CompletionTime.Round(time.Second), passFail[o.ok()])
	}
	return b.String()
}

// writeReport replaces the section of rec's topology in the report at path
// (between "<!-- chaos:TOPOLOGY -->" and "<!-- /chaos:TOPOLOGY -->"), or
// adds it at the end; the rest of the file stays as it is.
func writeReport(path string, rec record) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	text, start, end := string(old), "<!-- chaos:"+rec.Topology+" -->", "<!-- /chaos:"+rec.Topology+" -->"
	block := start + "\n" + section(rec) + end
	if i, j := strings.Index(text, start), strings.Index(text, end); i >= 0 && j > i {
		text = text[:i] + block + text[j+len(end):]
	} else {
		text = strings.TrimRight(text, "\n") + "\n\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// perServer shows deliveries by webhook URL, by port when on one host.
func perServer(m map[string]int) string {
	if len(m) < 2 {
		return "one server"
	}
	var parts []string
	for u, n := range m {
		parts = append(parts, fmt.Sprintf("%s: %d", strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/webhooks/animus"), n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// codes is "504 × 200, 1933 × 503", by status code.
func codes(m map[int]int) string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d × %d", m[code], code))
	}
	return strings.Join(parts, ", ")
}

// fiveXX counts the 5xx answers in codes.
func fiveXX(codes map[int]int) int {
	n := 0
	for code, c := range codes {
		if code >= 500 {
			n += c
		}
	}
	return n
}
