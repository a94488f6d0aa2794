package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// results is one bench-results/<time> directory, or several merged (a run
// made in parts with BENCH_ONLY).
type results struct {
	Dir string
	// Dirs are all the directories read, Dir first.
	Dirs []string
	// Commands are commands.txt's command lines by run name.
	Commands map[string]string
	// Env is env.txt: "key: value" lines written by scripts/bench.sh.
	Env map[string]string
	// Reports by file name without ".json".
	Reports map[string]*load.Report
	// Micro is micro.txt's benchmark lines.
	Micro []benchLine
}

// loadAll reads dirs and merges them: the first one's env.txt (the
// others' only for keys it lacks), and every run, a later directory's
// replacing an earlier one's of the same name.
func loadAll(dirs []string) (*results, error) {
	var all *results
	for _, d := range dirs {
		r, err := readDir(d)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = r
			continue
		}
		all.Dirs = append(all.Dirs, d)
		for k, v := range r.Env {
			if _, ok := all.Env[k]; !ok {
				all.Env[k] = v
			}
		}
		if r.Env["command"] != "" {
			all.Env["command"] += "; then " + r.Env["command"]
		}
		maps.Copy(all.Reports, r.Reports)
		maps.Copy(all.Commands, r.Commands)
		if len(r.Micro) > 0 {
			all.Micro = r.Micro
		}
	}
	if all == nil {
		return nil, errors.New("no results directory")
	}
	return all, nil
}

// readDir reads dir.
func readDir(dir string) (*results, error) {
	r := &results{Dir: dir, Dirs: []string{dir}, Env: map[string]string{}, Reports: map[string]*load.Report{}, Commands: map[string]string{}}
	env, err := os.ReadFile(filepath.Join(dir, "env.txt"))
	if err != nil {
		return nil, fmt.Errorf("%s is not a bench-results directory: %w", dir, err)
	}
	for line := range strings.SplitSeq(string(env), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			r.Env[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if len(strings.TrimSpace(string(b))) == 0 {
			continue // a run that failed: its .txt says why
		}
		var rep load.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		r.Reports[strings.TrimSuffix(filepath.Base(f), ".json")] = &rep
	}
	if r.Micro, err = readMicro(filepath.Join(dir, "micro.txt")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if cmds, err := os.ReadFile(filepath.Join(dir, "commands.txt")); err == nil {
		for line := range strings.SplitSeq(string(cmds), "\n") {
			if name, cmd, ok := strings.Cut(line, "\t"); ok {
				r.Commands[name] = cmd
			}
		}
	}
	return r, nil
}

// series returns the reports named prefix-1, prefix-2, … in order.
func (r *results) series(prefix string) []*load.Report {
	var names []string
	for name := range r.Reports {
		if rest, ok := strings.CutPrefix(name, prefix+"-"); ok {
			if _, err := strconv.Atoi(rest); err == nil {
				names = append(names, name)
			}
		}
	}
	sort.Slice(names, func(i, j int) bool {
		a, _ := strconv.Atoi(strings.TrimPrefix(names[i], prefix+"-"))
		b, _ := strconv.Atoi(strings.TrimPrefix(names[j], prefix+"-"))
		return a < b
	})
	out := make([]*load.Report, len(names))
	for i, n := range names {
		out[i] = r.Reports[n]
	}
	return out
}

// benchLine is one line of `go test -bench` output.
type benchLine struct {
	Name    string
	Metrics map[string]float64 // unit -> value: "ns/op", "B/op", "allocs/op", "cpu-ns/op"…
}

var benchRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func readMicro(path string) ([]benchLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []benchLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := benchRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		bl := benchLine{Name: m[1], Metrics: map[string]float64{}}
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			bl.Metrics[fields[i+1]] = v
		}
		out = append(out, bl)
	}
	return out, sc.Err()
}

// median returns the median of xs (the mean of the middle two for an even
// count), 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
