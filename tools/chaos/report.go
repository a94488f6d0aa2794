package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// writeReport writes RELIABILITY.md: what was run, how, and the figures.
func writeReport(o options, f *faultResult, over *overloadResult) error {
	var b strings.Builder
	version, _ := exec.Command(o.binDir+"/temporal", "--version").Output()
	fmt.Fprintf(&b, `# Reliability

Written by the fault test, `+"`make chaos`"+` (`+"`go run ./cmd/chaos -n %d -overload -report RELIABILITY.md`"+`),
on %s: %d cores, %s, %s, Temporal dev server with a database file, SQLite job store, everything on
127.0.0.1. The test runs the real binaries (`+"`bin/temporal`, `bin/worker`, `bin/server`"+`) and
acts like Svix: each event is signed, delivered, and redelivered on anything but a 2xx along
Svix's schedule compressed 100 times (0, 50 ms, 3 s, 18 s, …); %.0f%% of the events are also
delivered a second time concurrently. Notifications and alerts go to a local target that counts
`+"`Idempotency-Key`"+`s. Logs of each process are kept in the work directory the test prints.

## Faults

| figure | value |
|---|---|
| distinct events | %d |
| deliveries (attempts, duplicates included) | %d |
| duplicates sent concurrently | %d (answered `+"`duplicate`"+`: %d) |
| faults injected | %d: %s |
| answers | %s |
| 5xx seen | %d (transport errors while the server was down: %d) |
| events acknowledged (2xx) | %d |
| workflows completed | %d (ended otherwise: %d) |
| workflow runs (Temporal visibility) | %d |
| job rows | %d |
| notification/alert POSTs, distinct Idempotency-Keys | %d, %d (keys of no event: %d) |
| **lost** | **%d** |
| **duplicated** (extra runs + extra rows + extra keys) | **%d** |
| time (first send to last check) | %s |
| result | **%s** |

A POST count above the distinct keys is expected: an activity runs at least once, and a worker
killed after a POST but before reporting it runs it again with the same `+"`Idempotency-Key`"+`, which
the receiver uses to keep one side effect.
`, f.events, time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.Version(),
		strings.TrimSpace(string(version)), o.dupRate*100,
		f.events, f.deliveries, f.dupsSent, f.dupAnswers, len(f.faults), strings.Join(f.faults, "; "),
		codes(f.codes), f.fiveXX, f.transport, f.acked, f.completed, f.otherStatus, f.runs, f.rows,
		f.posts, f.distinctKeys, f.foreignKeys, f.lost(), f.duplicated(), f.elapsed.Round(time.Second), passFail(f.ok()))
	if over != nil {
		fmt.Fprintf(&b, `
## Overload

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
`, over.sustainable, over.calibrationEvents, over.calibrationCompletedTime.Round(time.Second),
			over.offered, over.duration, over.sent, codes(over.codes), over.transport, over.acked,
			over.completed, over.notCompleted, over.serverUp, over.completionTime.Round(time.Second), passFail(over.ok()))
	}
	return os.WriteFile(o.report, []byte(b.String()), 0o644)
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
