// Package stack supervises mediaflow's local stacks: make dev's (the
// Temporal dev server, devpeer, the worker and the server) and make
// cluster's (docker-compose.yml's topology from binaries). A Stack checks
// its ports, starts each process in a session of its own with its log in
// its directory, waits until each is ready, restarts one on demand, and
// stops them in order: SIGTERM, a grace period, then SIGKILL. Main is tools/stack's command line; the benchmarks and the
// fault test (tools/chaos) run the same stacks.
package stack

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// Proc is one process of a stack.
type Proc struct {
	Name      string
	Args, Env []string // the command, and its whole environment
	// Once marks a step that must succeed before the next process starts;
	// it is never stopped or restarted.
	Once  bool
	Ready func(context.Context) error // nil once it serves; nil: at once
	Ports []Port                      // checked free before a start
	Echo  bool                        // its lines go to the stack's Out too, after its name
	Grace time.Duration               // from SIGTERM to SIGKILL (0: 15 s)
	User  *syscall.Credential         // PostgreSQL's postgres user, under root
}

// Port is an address a process listens on, and what for.
type Port struct{ Addr, What string }

// Stack is processes started in order, their logs (NAME.log) and their
// pids (the file "pids": another invocation stops or restarts them) in Dir.
type Stack struct {
	Dir   string
	Procs []Proc
	Out   io.Writer // phase lines, "[m:ss] …" since T0, and Echo's lines
	T0    time.Time
	// Append keeps earlier starts' logs, each start marked by a line;
	// otherwise a start truncates its log.
	Append bool

	mu sync.Mutex // Out's
}

// Logf prints a phase line.
func (s *Stack) Logf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.Out, "[%s] %s\n", clock(time.Since(s.T0)), fmt.Sprintf(format, args...))
}

// clock formats d as m:ss.
func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// Proc is the process called name (not a Once step), or nil.
func (s *Stack) Proc(name string) *Proc {
	for i, p := range s.Procs {
		if p.Name == name && !p.Once {
			return &s.Procs[i]
		}
	}
	return nil
}

// Names are the processes' names, in order, without the Once steps.
func (s *Stack) Names() []string {
	var names []string
	for _, p := range s.Procs {
		if !p.Once {
			names = append(names, p.Name)
		}
	}
	return names
}

// Taken are the ports that something already listens on.
func (s *Stack) Taken() []Port {
	var taken []Port
	for _, p := range s.Procs {
		for _, port := range p.Ports {
			l, err := net.Listen("tcp", port.Addr)
			if err != nil {
				taken = append(taken, port)
				continue
			}
			l.Close()
		}
	}
	return taken
}

// Start starts the processes in order, each ready before the next. At
// the first failure it returns, leaving what started running: Stop stops
// it.
func (s *Stack) Start(ctx context.Context) error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	os.Remove(filepath.Join(s.Dir, "pids")) // an earlier run's, which did not stop

	for i := range s.Procs {
		if err := s.launch(ctx, &s.Procs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Restart stops the process called name (SIGKILL to its group when kill),
// waits down, starts it again and waits until it is ready. Meanwhile the
// file "restarting" tells a Wait of another invocation to let it be.
func (s *Stack) Restart(ctx context.Context, name string, kill bool, down time.Duration) error {
	p := s.Proc(name)
	if p == nil {
		return fmt.Errorf("no process %q (one of: %s)", name, strings.Join(s.Names(), ", "))
	}
	marker := filepath.Join(s.Dir, "restarting")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		return err
	}
	defer os.Remove(marker)
	t := time.Now()
	s.Logf("%s: %s (pid %d)", name, map[bool]string{true: "SIGKILL", false: "stopping"}[kill], s.Pid(name))
	s.stop(p, kill)
	s.Logf("%s stopped (%.1f s)", name, time.Since(t).Seconds())
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	return s.launch(ctx, p)
}

// Stop stops what runs, in the reverse order of the start.
func (s *Stack) Stop() {
	for i := len(s.Procs) - 1; i >= 0; i-- {
		s.stop(&s.Procs[i], false)
	}
	os.Remove(filepath.Join(s.Dir, "pids"))
}

// Wait returns nil when ctx ends, or an error naming a process that
// exited other than through a Restart.
func (s *Stack) Wait(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		if _, err := os.Stat(filepath.Join(s.Dir, "restarting")); err == nil {
			continue
		}
		for _, name := range s.Names() {
			if !s.Running(name) {
				return fmt.Errorf("%s exited; see %s", name, s.log(name))
			}
		}
	}
}

// Running reports whether the process called name runs.
func (s *Stack) Running(name string) bool {
	pid := s.Pid(name)
	return pid != 0 && !gone(pid)
}

// Pid is the process called name's pid as the pids file says (another
// invocation may have restarted it); 0: not started, or stopped.
func (s *Stack) Pid(name string) int { return s.pids()[name] }

// pids are the processes the pids file names.
func (s *Stack) pids() map[string]int {
	pids := map[string]int{}
	raw, _ := os.ReadFile(filepath.Join(s.Dir, "pids"))
	for line := range strings.Lines(string(raw)) {
		if n, pid, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			pids[n], _ = strconv.Atoi(pid)
		}
	}
	return pids
}

// launch starts p, its output appended to its log, and waits until it is
// ready (runs it, when Once).
func (s *Stack) launch(ctx context.Context, p *Proc) error {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if s.Append {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	log, err := os.OpenFile(s.log(p.Name), flags, 0o644)
	if err != nil {
		return err
	}
	if s.Append {
		fmt.Fprintf(log, "=== %s start: %s\n", time.Now().Format(time.RFC3339), strings.Join(p.Args, " "))
	}
	cmd := exec.Command(p.Args[0], p.Args[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr = p.Env, log, log
	if p.Echo {
		cmd.Stdout = io.MultiWriter(log, &prefixer{s: s, prefix: fmt.Sprintf("%-7s| ", p.Name)})
		cmd.Stderr = cmd.Stdout
	}
	// A session of its own: Ctrl-C reaches the supervisor alone, which
	// stops everything in order, and a SIGKILL reaches its whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: p.User}
	if p.Once {
		defer log.Close()
		t := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w; the end of %s:\n%s", p.Name, err, s.log(p.Name), tail(s.log(p.Name)))
		}
		s.Logf("%s done (%.1f s)", p.Name, time.Since(t).Seconds())
		return nil
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	go func() { cmd.Wait(); log.Close() }()
	pids := s.pids()
	pids[p.Name] = cmd.Process.Pid
	var b strings.Builder
	for _, n := range s.Names() {
		if pid, ok := pids[n]; ok {
			fmt.Fprintf(&b, "%s %d\n", n, pid)
		}
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "pids"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	return s.await(ctx, p)
}

// await waits until p is ready, at most two minutes; it fails at once when
// p exits.
func (s *Stack) await(ctx context.Context, p *Proc) error {
	since := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	pid := s.Pid(p.Name)
	for err := error(nil); ; {
		if gone(pid) {
			return fmt.Errorf("%s exited; the end of %s:\n%s", p.Name, s.log(p.Name), tail(s.log(p.Name)))
		}
		if p.Ready != nil {
			rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
			err = p.Ready(rctx)
			rcancel()
		}
		if err == nil {
			s.Logf("%s ready (pid %d, %.1f s)", p.Name, pid, time.Since(since).Seconds())
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (%v); the end of %s:\n%s", p.Name, clock(time.Since(since)), err, s.log(p.Name), tail(s.log(p.Name)))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// stop sends p SIGTERM (SIGKILL to its whole group when kill) and waits
// for it to exit, sending SIGKILL after its grace period.
func (s *Stack) stop(p *Proc, kill bool) {
	pid := s.Pid(p.Name)
	if p.Once || pid == 0 || gone(pid) {
		return
	}
	if kill {
		syscall.Kill(-pid, syscall.SIGKILL)
	} else {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	grace := cmp.Or(p.Grace, 15*time.Second)
	for t := time.Now(); !gone(pid); time.Sleep(100 * time.Millisecond) {
		if !kill && time.Since(t) > grace {
			s.Logf("%s still running after %s: SIGKILL", p.Name, grace)
			syscall.Kill(-pid, syscall.SIGKILL)
			kill = true
		}
	}
}

// gone reports whether pid has exited: it no longer exists, or is a
// zombie (a child of this process not reaped yet, or another's).
func gone(pid int) bool {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return true
	}
	st, err := p.Stat()
	return err != nil || st.State == "Z"
}

func (s *Stack) log(name string) string { return filepath.Join(s.Dir, name+".log") }

// tail is the last 25 lines of the file at path.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(len(lines)-25, 0):], "\n")
}

// prefixer writes each whole line to the stack's Out after a prefix.
type prefixer struct {
	s      *Stack
	prefix string
	buf    []byte
}

func (p *prefixer) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	whole := bytes.LastIndexByte(p.buf, '\n') + 1
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	for line := range bytes.Lines(p.buf[:whole]) {
		fmt.Fprintf(p.s.Out, "%s%s", p.prefix, line)
	}
	p.buf = p.buf[whole:]
	return len(b), nil
}
