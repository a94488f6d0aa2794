package load

import (
	"fmt"
	"slices"
	"strings"
)

// Report is the -json output: one object per run.
type Report struct {
	Label     string  `json:"label,omitempty"`
	URL       string  `json:"url"`
	Mode      string  `json:"mode"`
	Conc      int     `json:"concurrency,omitempty"`
	Rate      float64 `json:"rate,omitempty"`
	BodyBytes int     `json:"body_bytes"`
	Sample    string  `json:"sample"`
	Order     string  `json:"order,omitempty"`
	// Compression is the gRPC compression of loadgen's own clients.
	Compression string        `json:"grpc_compression"`
	Drain       *WaitResult   `json:"drain,omitempty"`
	Direct      *PhaseSummary `json:"direct,omitempty"`
	Between     *WaitResult   `json:"between,omitempty"`
	HTTP        PhaseSummary  `json:"http"`
	// Ratio is the HTTP phase's rate over the direct phase's (-baseline).
	Ratio float64 `json:"ingest_over_direct,omitempty"`
	// P99Diff is the HTTP phase's p99 minus the direct phase's, in ms.
	P99Diff *float64    `json:"p99_diff_ms,omitempty"`
	E2E     *E2ESummary `json:"e2e,omitempty"`
	// Bare is the bare workflow's phase (-bare): its starts and its
	// end-to-end completion; E2EOverBare is mediaflow's completed/s over
	// the bare workflow's.
	Bare        *PhaseSummary `json:"bare,omitempty"`
	BareE2E     *E2ESummary   `json:"bare_e2e,omitempty"`
	E2EOverBare float64       `json:"e2e_over_bare,omitempty"`
	// History is the shape of one workflow of each phase ("http", "bare").
	History map[string]HistoryShape `json:"history,omitempty"`
	// CPU is the CPU time used per phase: "direct" and "http" while
	// sending, "e2e" and "bare" from the first start to the last close.
	CPU      map[string]*CPUReport `json:"cpu,omitempty"`
	Server   *MemoryReport         `json:"server,omitempty"`
	RSS      []RSSSample           `json:"rss_samples,omitempty"`
	Receiver *ReceiverCounts       `json:"receiver,omitempty"`
	Sweep    []SweepPoint          `json:"sweep,omitempty"`
}

// HistoryShape counts what one workflow cost Temporal: its events, and the
// tasks Temporal dispatched to workers for it. Each workflow task and each
// activity task is a round trip through Temporal's matching and history
// services, so the counts explain a rate without a clock.
type HistoryShape struct {
	WorkflowID    string `json:"workflow_id"`
	Events        int    `json:"events"`
	Bytes         int    `json:"bytes"`
	WorkflowTasks int    `json:"workflow_tasks"`
	ActivityTasks int    `json:"activity_tasks"`
	// Markers are local activities, side effects and versions, recorded
	// within a workflow task.
	Markers int `json:"markers"`
}

func (s HistoryShape) String() string {
	return fmt.Sprintf("tasks  %d workflow tasks + %d activity tasks per workflow; %d events (%d markers), %d bytes of history (%s)",
		s.WorkflowTasks, s.ActivityTasks, s.Events, s.Markers, s.Bytes, s.WorkflowID)
}

// CPUReport is the CPU time each process used over a window (a phase and
// its wait for workflows), in total and per event.
type CPUReport struct {
	Seconds float64 `json:"window_s"`
	Events  int     `json:"events"`
	// MS is CPU milliseconds per process over the window; PerEvent is that
	// over Events. "total" sums them.
	MS       map[string]float64 `json:"cpu_ms"`
	PerEvent map[string]float64 `json:"cpu_ms_per_event"`
}

func (r *CPUReport) String() string {
	if r == nil {
		return ""
	}
	names := make([]string, 0, len(r.MS))
	for name := range r.MS {
		if name != "total" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	fmt.Fprintf(&b, "cpu    %.2f ms per event (%d events, %.1f s window):", r.PerEvent["total"], r.Events, r.Seconds)
	for _, n := range names {
		fmt.Fprintf(&b, " %s %.2f", n, r.PerEvent[n])
	}
	return b.String()
}

// MemoryReport is a process's resident memory, from /proc/<pid>/status.
type MemoryReport struct {
	PID int `json:"pid"`
	// StartRSSMiB is VmRSS before the run.
	StartRSSMiB float64 `json:"start_rss_mib"`
	// RSSMiB is VmRSS at the end of the run.
	RSSMiB float64 `json:"rss_mib"`
	// PeakMiB is VmHWM: the most the process has been resident, ever.
	PeakMiB float64 `json:"peak_rss_mib"`
}

// RSSSample is the resident memory of the -rss processes at one moment,
// with how far the run had got.
type RSSSample struct {
	Seconds float64 `json:"t_s"`
	// Answered counts the webhook deliveries answered so far; Closed the
	// run's workflows closed so far (-1: not known).
	Answered int64              `json:"answered"`
	Closed   int                `json:"closed"`
	RSSMiB   map[string]float64 `json:"rss_mib"`
}

// SweepPoint is one rate of a -sweep: the acknowledgements of an open loop
// at Offered per second.
type SweepPoint struct {
	Offered float64      `json:"offered_per_s"`
	HTTP    PhaseSummary `json:"http"`
	// Saturated is true when the server did not keep up (see saturated).
	Saturated bool       `json:"saturated,omitempty"`
	Drain     WaitResult `json:"drain_before"`
	CPU       *CPUReport `json:"cpu,omitempty"`
}

// ReceiverCounts is what a Peer served and received.
type ReceiverCounts struct {
	Media  int64 `json:"media"`
	Notify int64 `json:"notify"`
	Alert  int64 `json:"alert"`
}
