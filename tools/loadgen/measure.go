package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// CPU time is the measure of cost that survives a busy machine: a process
// that waits for a core is slower but uses no more CPU per event. loadgen
// reads it from /proc (procfs) for the processes named by -cpu (the
// server, the worker, Temporal, PostgreSQL), each with its descendants,
// and for itself.

// procRef names a process tree (-cpu, -rss).
type procRef struct {
	Name string
	PID  int
}

// selfName is loadgen's own entry in a CPU report: its HTTP client, or the
// direct starts and the floors' workers.
const selfName = "loadgen"

// parseProcRefs reads "name=pid,name=pid".
func parseProcRefs(s string) ([]procRef, error) {
	var out []procRef
	for _, part := range list(s) {
		name, pid, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(pid)
		if !ok || name == "" || err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want name=pid", part)
		}
		if name == selfName {
			return nil, fmt.Errorf("%q: the name %s is loadgen's own", part, selfName)
		}
		out = append(out, procRef{Name: name, PID: n})
	}
	return out, nil
}

// treeCPU returns the CPU time of pid, of the children it reaped, and of
// its live descendants (PostgreSQL's backends, say), from a snapshot of
// /proc.
func treeCPU(pid int, all map[int]procfs.ProcStat) (time.Duration, bool) {
	root, ok := all[pid]
	if !ok {
		return 0, false
	}
	kids := map[int][]int{}
	for p, st := range all {
		kids[st.PPID] = append(kids[st.PPID], p)
	}
	secs := root.CPUTime() + float64(root.CUTime+root.CSTime)/100 // USER_HZ
	var walk func(int)
	walk = func(p int) {
		for _, c := range kids[p] {
			secs += all[c].CPUTime()
			walk(c)
		}
	}
	walk(pid)
	return time.Duration(secs * float64(time.Second)), true
}

// cpuSample is the CPU time of each named process tree at one moment.
type cpuSample struct {
	At  time.Time
	CPU map[string]time.Duration
}

// sampleCPU reads the CPU time of refs and loadgen's own (to the
// microsecond).
func sampleCPU(refs []procRef) cpuSample {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	s := cpuSample{At: time.Now(), CPU: map[string]time.Duration{selfName: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}}
	if len(refs) == 0 {
		return s
	}
	all := map[int]procfs.ProcStat{}
	procs, _ := procfs.AllProcs()
	for _, p := range procs {
		if st, err := p.Stat(); err == nil {
			all[p.PID] = st
		}
	}
	for _, r := range refs {
		if d, ok := treeCPU(r.PID, all); ok {
			s.CPU[r.Name] = d
		}
	}
	return s
}

// cpuBetween reports the CPU used from a to b by the processes present in
// both, over events; nil when -cpu names none.
func cpuBetween(a, b cpuSample, events int) *load.CPUReport {
	if len(a.CPU) < 2 {
		return nil
	}
	r := &load.CPUReport{Seconds: load.Round3(b.At.Sub(a.At).Seconds()), Events: events, MS: map[string]float64{}, PerEvent: map[string]float64{}}
	var total time.Duration
	for name, end := range b.CPU {
		if start, ok := a.CPU[name]; ok {
			total += max(end-start, 0)
			r.MS[name] = load.Round3(float64(max(end-start, 0)) / 1e6)
		}
	}
	r.MS["total"] = load.Round3(float64(total) / 1e6)
	for name, v := range r.MS {
		if events > 0 {
			r.PerEvent[name] = load.Round3(v / float64(events))
		}
	}
	return r
}

// rssMiB is pid's resident memory now (VmRSS), in MiB.
func rssMiB(pid int) (float64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	s, err := p.NewStatus()
	return math.Round(float64(s.VmRSS)/(1<<20)*10) / 10, err
}

// sampleRSS samples refs' memory, h's answers and the closed workflows
// whose IDs start with h's prefix (one count query per sample) every
// second until the function it returns is called, which returns the
// samples.
func sampleRSS(ctx context.Context, refs []procRef, h *load.Sender, tc client.Client) (stop func() []load.RSSSample) {
	ctx, cancel := context.WithCancel(ctx)
	var samples []load.RSSSample
	done := make(chan struct{})
	go func() {
		defer close(done)
		t, start := time.NewTicker(time.Second), time.Now()
		defer t.Stop()
		for {
			sm := load.RSSSample{Seconds: load.Round3(time.Since(start).Seconds()), Answered: int64(h.Tally().Deliveries), Closed: -1, RSSMiB: map[string]float64{}}
			for _, r := range refs {
				if m, err := rssMiB(r.PID); err == nil {
					sm.RSSMiB[r.Name] = m
				}
			}
			cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
			if n, err := load.Count(cctx, tc, load.ClosedQuery(h.IDs.EventPrefix())); err == nil {
				sm.Closed = n
			}
			ccancel()
			samples = append(samples, sm)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() []load.RSSSample {
		cancel()
		<-done
		return samples
	}
}

// fetchShape reads workflow id's history and counts its events.
func fetchShape(ctx context.Context, c client.Client, id string) (load.HistoryShape, error) {
	s := load.HistoryShape{WorkflowID: id}
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return s, fmt.Errorf("history of %s: %w", id, err)
		}
		s.Events++
		s.Bytes += proto.Size(e)
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			s.WorkflowTasks++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			s.ActivityTasks++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			s.Markers++
		}
	}
	return s, nil
}
