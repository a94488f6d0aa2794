package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"

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
// bare workflow's worker and starts.
const selfName = "loadgen"

// parseProcRefs reads "name=pid,name=pid".
func parseProcRefs(s string) ([]procRef, error) {
	var out []procRef
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
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
// both, over events.
func cpuBetween(a, b cpuSample, events int) *load.CPUReport {
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
			r.PerEvent[name] = math.Round(v/float64(events)*1000) / 1000
		}
	}
	return r
}

// readMemory is pid's resident memory now (VmRSS) and at most (VmHWM).
func readMemory(pid int) (load.MemoryReport, error) {
	st, err := procfs.NewProc(pid)
	if err == nil {
		var s procfs.ProcStatus
		if s, err = st.NewStatus(); err == nil {
			mib := func(b uint64) float64 { return math.Round(float64(b)/(1<<20)*10) / 10 }
			return load.MemoryReport{PID: pid, RSSMiB: mib(s.VmRSS), PeakMiB: mib(s.VmHWM)}, nil
		}
	}
	return load.MemoryReport{}, fmt.Errorf("-server-pid: %w", err)
}
