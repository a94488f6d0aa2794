package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// CPU time is the measure of cost that survives a busy machine: a process
// that waits for a core is slower but uses no more CPU per event. loadgen
// reads it for the processes named by -cpu (the server, the worker,
// Temporal, PostgreSQL), each with its descendants, and for itself.

// userHZ is the kernel's USER_HZ, the unit of /proc/<pid>/stat's times:
// 100 on every Linux architecture Go supports.
const userHZ = 100

// procRef names a process tree whose CPU time is counted.
type procRef struct {
	Name string
	PID  int
}

// parseProcRefs reads "name=pid,name=pid" (-cpu).
func parseProcRefs(s string) ([]procRef, error) {
	var out []procRef
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
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

// selfName is loadgen's own entry in a CPU report: its HTTP client, or the
// bare workflow's worker and starts.
const selfName = "loadgen"

// procStat is what loadgen reads from /proc/<pid>/stat.
type procStat struct {
	PPID int
	// CPU is utime + stime: the process's own threads.
	CPU time.Duration
	// Children is cutime + cstime: children it has waited for.
	Children time.Duration
}

// parseProcStat reads /proc/<pid>/stat's line. The command name (field 2)
// is in parentheses and may hold spaces and parentheses itself: fields
// are counted from the last ')'.
func parseProcStat(line string) (procStat, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return procStat{}, errors.New("no command name")
	}
	// After ")": state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
	f := strings.Fields(line[i+1:])
	if len(f) < 15 {
		return procStat{}, errors.New("too few fields")
	}
	num := func(k int) (int64, error) { return strconv.ParseInt(f[k-3], 10, 64) }
	var v [5]int64
	for j, k := range []int{4, 14, 15, 16, 17} {
		n, err := num(k)
		if err != nil {
			return procStat{}, fmt.Errorf("field %d: %w", k, err)
		}
		v[j] = n
	}
	tick := time.Second / userHZ
	return procStat{PPID: int(v[0]), CPU: time.Duration(v[1]+v[2]) * tick, Children: time.Duration(v[3]+v[4]) * tick}, nil
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(string(b))
}

// treeCPU returns the CPU time of pid, its reaped children, and its live
// descendants (PostgreSQL's backends, say), from a snapshot of /proc.
func treeCPU(pid int, all map[int]procStat) (time.Duration, bool) {
	root, ok := all[pid]
	if !ok {
		return 0, false
	}
	kids := map[int][]int{}
	for p, st := range all {
		kids[st.PPID] = append(kids[st.PPID], p)
	}
	total := root.CPU + root.Children
	var walk func(int)
	walk = func(p int) {
		for _, c := range kids[p] {
			total += all[c].CPU
			walk(c)
		}
	}
	walk(pid)
	return total, true
}

// snapshotProcs reads every process's stat; processes that exit meanwhile
// are left out.
func snapshotProcs() map[int]procStat {
	all := map[int]procStat{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if st, err := readProcStat(pid); err == nil {
			all[pid] = st
		}
	}
	return all
}

// selfCPU is loadgen's own user + system time, to the microsecond.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuSample is the CPU time of each named process tree at one moment.
type cpuSample struct {
	At  time.Time
	CPU map[string]time.Duration
}

// sampleCPU reads the CPU time of refs and of loadgen itself.
func sampleCPU(refs []procRef) cpuSample {
	s := cpuSample{At: time.Now(), CPU: map[string]time.Duration{selfName: selfCPU()}}
	if len(refs) == 0 {
		return s
	}
	all := snapshotProcs()
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
		start, ok := a.CPU[name]
		if !ok {
			continue
		}
		d := max(end-start, 0)
		total += d
		r.MS[name] = load.Round3(float64(d) / 1e6)
	}
	r.MS["total"] = load.Round3(float64(total) / 1e6)
	if events > 0 {
		for name, v := range r.MS {
			r.PerEvent[name] = math.Round(v/float64(events)*1000) / 1000
		}
	}
	return r
}
