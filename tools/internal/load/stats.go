package load

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Latency holds percentiles of a set of durations, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted: the smallest value with at least p% of the values at or below
// it. It returns 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Summarize returns the percentiles of ds (which it sorts).
func Summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Latency{
		P50:  ms(percentile(ds, 50)),
		P90:  ms(percentile(ds, 90)),
		P99:  ms(percentile(ds, 99)),
		Max:  ms(ds[len(ds)-1]),
		Mean: ms(sum / time.Duration(len(ds))),
	}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// PhaseSummary is the report of one phase.
type PhaseSummary struct {
	Name     string  `json:"name"`
	Requests int     `json:"requests"`
	Seconds  float64 `json:"seconds"`
	// Rate is requests answered per second, first request due to last
	// answer.
	Rate    float64 `json:"requests_per_s"`
	Latency Latency `json:"latency_ms"`
	// Codes counts the answers by HTTP status ("200"), "ok" for a direct
	// start, "error:KIND" for none.
	Codes    map[string]int `json:"codes"`
	Statuses map[string]int `json:"statuses,omitempty"`
}

func SummarizePhase(name string, r Result) PhaseSummary {
	s := PhaseSummary{Name: name, Requests: len(r.Records), Codes: map[string]int{}, Statuses: map[string]int{}}
	lat := make([]time.Duration, 0, len(r.Records))
	for _, rec := range r.Records {
		lat = append(lat, rec.Latency)
		s.Codes[rec.Out.Code]++
		if rec.Out.Status != "" {
			s.Statuses[rec.Out.Status]++
		}
	}
	s.Latency = Summarize(lat)
	if d := r.End.Sub(r.Start); d > 0 {
		s.Seconds = Round3(d.Seconds())
		s.Rate = Round3(float64(len(r.Records)) / d.Seconds())
	}
	return s
}

func Round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// String is the human-readable line of the phase.
func (s PhaseSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %d requests in %.2f s = %.1f/s", s.Name, s.Requests, s.Seconds, s.Rate)
	fmt.Fprintf(&b, "\n       ack latency ms: %s", s.Latency)
	fmt.Fprintf(&b, "\n       codes: %s", Counts(s.Codes))
	if len(s.Statuses) > 0 {
		fmt.Fprintf(&b, "; answers: %s", Counts(s.Statuses))
	}
	return b.String()
}

func (l Latency) String() string {
	return fmt.Sprintf("p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  mean %.2f", l.P50, l.P90, l.P99, l.Max, l.Mean)
}

// Counts formats a map as "k=v k=v", keys sorted ("none" for none).
func Counts(m map[string]int) string { return cmp.Or(JoinCounts(m, "%s=%d", " "), "none") }

// JoinCounts formats each of m's entries, keys sorted, with format (its
// key, then its count) and joins them with sep.
func JoinCounts(m map[string]int, format, sep string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf(format, k, m[k]))
	}
	return strings.Join(parts, sep)
}
