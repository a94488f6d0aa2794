package load

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Report is loadgen's -json output: one object per run.
type Report struct {
	URL       string  `json:"url"`
	Rate      float64 `json:"rate,omitempty"` // an open loop's; 0 for a closed loop
	BodyBytes int     `json:"body_bytes"`
	// Order is the sides in the order they ran.
	Order    []string         `json:"order,omitempty"`
	Sides    map[string]*Side `json:"sides,omitempty"`
	RSS      []RSSSample      `json:"rss_samples,omitempty"`
	Receiver *ReceiverCounts  `json:"receiver,omitempty"`
}

// Side is one side of a run: its starts (or webhooks), and their
// workflows to the last close.
type Side struct {
	Sent PhaseSummary `json:"sent"`
	// Saturated: an open loop's answers came at under 90% of its rate, or
	// more than 1% of them were not a 200.
	Saturated bool       `json:"saturated,omitempty"`
	E2E       E2ESummary `json:"e2e"`
	// History is the shape of the side's first workflow.
	History *HistoryShape `json:"history,omitempty"`
	// SentCPU is the CPU time while sending; CPU from the first request to
	// the last close.
	SentCPU *CPUReport `json:"sent_cpu,omitempty"`
	CPU     *CPUReport `json:"cpu,omitempty"`
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

// CPUReport is the CPU time each process used over a window, in total and
// per event.
type CPUReport struct {
	Seconds float64 `json:"window_s"`
	Events  int     `json:"events"`
	// MS is CPU milliseconds per process over the window; PerEvent is that
	// over Events. "total" sums them.
	MS       map[string]float64 `json:"cpu_ms"`
	PerEvent map[string]float64 `json:"cpu_ms_per_event"`
}

func (r *CPUReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cpu    %.2f ms per event (%d events, %.1f s window):", r.PerEvent["total"], r.Events, r.Seconds)
	for _, n := range slices.Sorted(maps.Keys(r.PerEvent)) {
		if n != "total" {
			fmt.Fprintf(&b, " %s %.2f", n, r.PerEvent[n])
		}
	}
	return b.String()
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

// ReceiverCounts is what a Peer served and received.
type ReceiverCounts struct {
	Media  int64 `json:"media"`
	Notify int64 `json:"notify"`
	Alert  int64 `json:"alert"`
	// DownSeconds is how long it answered 503 from the run's start;
	// PerSecond counts its notification and alert requests in each second
	// from the run's start.
	DownSeconds float64 `json:"down_s,omitempty"`
	PerSecond   []int   `json:"per_second,omitempty"`
}
