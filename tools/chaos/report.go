package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

// setup says what a run ran on.
type setup struct {
	Topology  string // "dev server" or "cluster": the report's column
	Temporal  string
	Mediaflow string
}

// record is one run of the fault test, as the report keeps it.
type record struct {
	Setup    setup
	Command  string
	Date     string
	Cores    int
	Go       string
	DupRate  float64
	Faults   *faultResult
	Overload *overloadResult `json:",omitempty"`
}

// topologies are the report's columns, in order.
var topologies = []string{"dev server", "cluster"}

// dataMarker opens the HTML comment at the end of the report that holds
// each column's record as JSON, so a run of one topology keeps the other's
// figures. encoding/json escapes '>', so the JSON cannot close the comment.
const dataMarker = "<!-- tools/chaos records (JSON), read back by the next run:"

// keptStart and keptEnd enclose the part of the report written by hand
// (the hostile-input probes, which tests check, not this tool): each run
// copies it from the old file into the new one, unchanged.
const (
	keptStart = "<!-- written by hand: kept by tools/chaos -->"
	keptEnd   = "<!-- /written by hand -->"
)

// keptSection returns the hand-written part of the report raw, its markers
// included, or "" when it has none.
func keptSection(raw []byte) string {
	_, rest, ok := bytes.Cut(raw, []byte(keptStart))
	if !ok {
		return ""
	}
	body, _, ok := bytes.Cut(rest, []byte(keptEnd))
	if !ok {
		return ""
	}
	return keptStart + string(body) + keptEnd
}

// readRecords returns the records kept in the report at path (none when it
// does not exist or holds none).
func readRecords(path string) (map[string]record, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]record{}, nil
	}
	if err != nil {
		return nil, err
	}
	recs, err := parseRecords(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}

// parseRecords returns the records kept in the report raw.
func parseRecords(raw []byte) (map[string]record, error) {
	recs := map[string]record{}
	_, data, ok := bytes.Cut(raw, []byte(dataMarker))
	if !ok {
		return recs, nil
	}
	data, _, _ = bytes.Cut(data, []byte("-->"))
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("the records at its end: %w", err)
	}
	return recs, nil
}

// writeReport writes RELIABILITY.md at path: rec in its topology's column,
// beside the other topology's record kept in the file.
func writeReport(path string, rec record) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	recs, err := parseRecords(old)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	recs[rec.Setup.Topology] = rec
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(`# Reliability

Written by the fault test, ` + "`tools/chaos`" + `, which runs mediaflow's real binaries on 127.0.0.1 in two
topologies: ` + "`make chaos`" + ` on the Temporal dev server (the laptop setup), ` + "`make chaos-cluster`" + ` on
` + "`make cluster`" + `'s (docker-compose.yml's production topology: Temporal on PostgreSQL, two workers and
two servers sharing a PostgreSQL job store). Each run replaces its own column. The test acts like
Svix: each event is signed, delivered, and redelivered on anything but a 2xx along Svix's schedule
compressed 100 times (0, 50 ms, 3 s, 18 s, …), and some events are also delivered a second time
concurrently; on the cluster each attempt goes to either server, as through a load balancer.
Meanwhile processes are killed with SIGKILL and started again. Notifications and alerts go to a
local target that counts ` + "`Idempotency-Key`" + `s. The logs of each process are kept in the work
directory the test prints. The machine's load average is shown too: where the cores are shared
with other work, the times (not the counts) depend on it.

## Faults

`)
	row := func(name string, value func(r record) string) {
		fmt.Fprintf(&b, "| %s |", name)
		for _, t := range topologies {
			r, ok := recs[t]
			if !ok || r.Faults == nil {
				b.WriteString(" not run |")
				continue
			}
			fmt.Fprintf(&b, " %s |", value(r))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "| figure | %s |\n|---|%s\n", strings.Join(topologies, " | "), strings.Repeat("---|", len(topologies)))
	row("command", func(r record) string { return "`" + r.Command + "`" })
	row("run on", func(r record) string { return fmt.Sprintf("%s, %d cores, %s", r.Date, r.Cores, r.Go) })
	row("machine load (1-minute load average, start → end)", func(r record) string {
		return fmt.Sprintf("%.1f → %.1f", r.Faults.LoadStart, r.Faults.LoadEnd)
	})
	row("Temporal", func(r record) string { return r.Setup.Temporal })
	row("mediaflow", func(r record) string { return r.Setup.Mediaflow })
	row("distinct events", func(r record) string { return fmt.Sprint(r.Faults.Events) })
	row("deliveries (attempts, duplicates included)", func(r record) string { return fmt.Sprint(r.Faults.Deliveries) })
	row("deliveries by server", func(r record) string { return perServer(r.Faults.PerServer) })
	row("duplicates sent concurrently", func(r record) string {
		return fmt.Sprintf("%d, %.0f%% of the events (answered `duplicate`: %d)", r.Faults.DupsSent, r.DupRate*100, r.Faults.DupAnswers)
	})
	row("faults injected (below)", func(r record) string { return fmt.Sprint(len(r.Faults.Faults)) })
	row("answers", func(r record) string { return codes(r.Faults.Codes) })
	row("5xx seen", func(r record) string {
		return fmt.Sprintf("%d (transport errors while a server was down: %d)", r.Faults.FiveXX, r.Faults.Transport)
	})
	row("events acknowledged (2xx)", func(r record) string { return fmt.Sprint(r.Faults.Acked) })
	row("workflows completed", func(r record) string {
		return fmt.Sprintf("%d (ended otherwise: %d)", r.Faults.Completed, r.Faults.OtherStatus)
	})
	row("workflow runs (Temporal visibility)", func(r record) string { return fmt.Sprint(r.Faults.Runs) })
	row("job rows", func(r record) string { return fmt.Sprint(r.Faults.Rows) })
	row("notification/alert POSTs, distinct Idempotency-Keys", func(r record) string {
		return fmt.Sprintf("%d, %d (keys of no event: %d)", r.Faults.Posts, r.Faults.DistinctKeys, r.Faults.ForeignKeys)
	})
	row("**lost**", func(r record) string { return fmt.Sprintf("**%d**", r.Faults.lost()) })
	row("**duplicated** (extra runs + extra rows + extra keys)", func(r record) string { return fmt.Sprintf("**%d**", r.Faults.duplicated()) })
	row("time (first send to last check)", func(r record) string { return r.Faults.Elapsed.Round(time.Second).String() })
	row("result", func(r record) string { return "**" + passFail(r.Faults.ok()) + "**" })
	b.WriteString(`
A 5xx is the server refusing an event it could not hand to Temporal in time (a start that took
longer than ` + "`START_TIMEOUT`" + `, 5 s, answers 503) while Temporal or its database was down or catching
up; Svix redelivers it later, and the counts show that none was lost or started twice. A POST
count above the distinct keys is expected: an activity runs at least once, and a worker
killed after a POST but before reporting it runs it again with the same ` + "`Idempotency-Key`" + `, which
the receiver uses to keep one side effect.

Faults, in order (time from the first send; "back in": until the process answered again):
`)
	for _, t := range topologies {
		if r, ok := recs[t]; ok && r.Faults != nil {
			fmt.Fprintf(&b, "\n- %s: %s.\n", t, strings.Join(r.Faults.Faults, "; "))
		}
	}
	for _, t := range topologies {
		r, ok := recs[t]
		if !ok || r.Overload == nil {
			continue
		}
		over := r.Overload
		fmt.Fprintf(&b, `
## Overload (%s)

The sustainable rate is measured first: 16 senders for 10 s, closed loop, then until every
acknowledged event's workflow completed. The server is then restarted with `+"`RATE_LIMIT_RPS`"+` and
`+"`RATE_LIMIT_BURST`"+` at that rate, and offered four times as much, open loop, each event tried once
(a refused one would be redelivered by Svix later).

| figure | value |
|---|---|
| sustainable rate (end to end) | %.0f events/s (%d events in %s) |
| offered | %.0f events/s for %s: %d requests |
| answers | %s (transport errors: %d) |
| acknowledged | %d |
| acknowledged and completed | %d (not completed: %d) |
| server up afterwards | %v |
| time until every acknowledged event completed | %s |
| result | **%s** |
`, t, over.Sustainable, over.CalibrationEvents, over.CalibrationCompletedTime.Round(time.Second),
			over.Offered, over.Duration, over.Sent, codes(over.Codes), over.Transport, over.Acked,
			over.Completed, over.NotCompleted, over.ServerUp, over.CompletionTime.Round(time.Second), passFail(over.ok()))
	}
	if kept := keptSection(old); kept != "" {
		fmt.Fprintf(&b, "\n%s\n", kept)
	}
	fmt.Fprintf(&b, "\n%s\n%s\n-->\n", dataMarker, data)
	return os.WriteFile(path, []byte(b.String()), 0o644)
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

func codes(m map[int]int) string {
	var parts []string
	for _, code := range []int{200, 400, 401, 413, 429, 500, 502, 503, 504} {
		if m[code] > 0 {
			parts = append(parts, fmt.Sprintf("%d × %d", m[code], code))
		}
	}
	for code, n := range m {
		switch code {
		case 200, 400, 401, 413, 429, 500, 502, 503, 504:
		default:
			parts = append(parts, fmt.Sprintf("%d × %d", n, code))
		}
	}
	return strings.Join(parts, ", ")
}
