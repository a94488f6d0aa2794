package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

func readMemory(pid int) (load.MemoryReport, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return load.MemoryReport{}, fmt.Errorf("-server-pid: %w", err)
	}
	defer f.Close()
	m, err := parseStatus(f)
	m.PID = pid
	return m, err
}

// parseStatus reads VmRSS and VmHWM (in kB) from a /proc/<pid>/status.
func parseStatus(r io.Reader) (load.MemoryReport, error) {
	var m load.MemoryReport
	found := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) != 2 || fields[1] != "kB" {
			return m, fmt.Errorf("unexpected %s line %q", key, sc.Text())
		}
		kb, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return m, fmt.Errorf("unexpected %s line %q", key, sc.Text())
		}
		mib := math.Round(kb/1024*10) / 10
		if key == "VmRSS" {
			m.RSSMiB = mib
		} else {
			m.PeakMiB = mib
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if found < 2 {
		return m, fmt.Errorf("no VmRSS/VmHWM in /proc status (not Linux, or a kernel thread)")
	}
	return m, nil
}
