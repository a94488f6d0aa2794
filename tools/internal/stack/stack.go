// Package stack supervises mediaflow's local topologies: the dev server
// one of make dev (Dev) and docker-compose.yml's cluster from binaries
// (Cluster). A Stack checks its ports, starts each process in its own
// session with its log in the stack's directory, waits until it is ready,
// restarts one on demand, and stops them in order: SIGTERM (PostgreSQL:
// SIGINT), a grace period, then SIGKILL. make dev, make cluster, the
// benchmarks and the fault test all run through it.
package stack

import (
	"bytes"
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
	Name string
	// Args is the command, Env its whole environment.
	Args []string
	Env  []string
	// Once marks a step that must finish before the next process starts
	// (a schema or setup script); it is never stopped or restarted.
	Once bool
	// Setup runs before each start (initdb before PostgreSQL's first).
	Setup func() error
	// Ready returns nil once the process serves; nil means at once.
	Ready func(context.Context) error
	// Ports are the addresses it listens on, checked free beforehand.
	Ports []Port
	// App marks mediaflow's processes: consecutive ones start together,
	// and all of them stop together, before the others.
	App bool
	// Echo copies its output to the stack's Out too, each line after its
	// name.
	Echo bool
	// StopSignal asks it to stop (0: SIGTERM); Grace is how long it then
	// has before SIGKILL (0: 15 s).
	StopSignal syscall.Signal
	Grace      time.Duration
	// User runs it as another user (PostgreSQL as postgres, under root).
	User *syscall.Credential
}

// Port is an address a process listens on, and what for.
type Port struct{ Addr, What string }

// Stack is processes started in order, with their logs (NAME.log) and
// their pids (the file "pids", so that another invocation can stop or
// restart them) in Dir.
type Stack struct {
	Dir   string
	Procs []Proc
	// Out gets the phase lines, "[m:ss] …" since T0, and Echo's lines.
	Out io.Writer
	T0  time.Time
	// Append keeps the logs of earlier starts, each start marked by a
	// line; otherwise a start truncates its log.
	Append bool

	mu    sync.Mutex
	pids  map[string]int
	exits map[int]chan struct{} // closed when a child of this process exits
}

// Logf prints a phase line.
func (s *Stack) Logf(format string, args ...any) {
	d := time.Since(s.T0).Round(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.Out, "[%d:%02d] %s\n", int(d.Minutes()), int(d.Seconds())%60, fmt.Sprintf(format, args...))
}

// Proc returns the process called name, or nil.
func (s *Stack) Proc(name string) *Proc {
	for i := range s.Procs {
		if s.Procs[i].Name == name && !s.Procs[i].Once {
			return &s.Procs[i]
		}
	}
	return nil
}

// Taken returns the ports of the stack that something already listens on.
func (s *Stack) Taken() []Port {
	var taken []Port
	for _, p := range s.Procs {
		for _, port := range p.Ports {
			if l, err := net.Listen("tcp", port.Addr); err != nil {
				taken = append(taken, port)
			} else {
				l.Close()
			}
		}
	}
	return taken
}

// Start starts every process in order, each ready before the next; the
// processes of a run of App ones start together. It returns at the first
// failure, leaving what started running (Stop stops it).
func (s *Stack) Start(ctx context.Context) error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	for i := 0; i < len(s.Procs); {
		batch := []*Proc{&s.Procs[i]}
		for i++; batch[0].App && i < len(s.Procs) && s.Procs[i].App; i++ {
			batch = append(batch, &s.Procs[i])
		}
		t := time.Now()
		for _, p := range batch {
			if err := s.launch(p); err != nil {
				return err
			}
		}
		for _, p := range batch {
			if err := s.await(ctx, p, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// Restart stops the process called name (SIGKILL when kill), waits down,
// starts it again and waits until it is ready. A file "restarting" in Dir
// tells a Wait in another invocation that this exit is expected.
func (s *Stack) Restart(ctx context.Context, name string, kill bool, down time.Duration) error {
	p := s.Proc(name)
	if p == nil {
		return fmt.Errorf("no process %q here (one of: %s)", name, strings.Join(s.Names(), ", "))
	}
	marker := filepath.Join(s.Dir, "restarting")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		return err
	}
	defer os.Remove(marker)
	s.load()
	t := time.Now()
	s.Logf("%s: %s (pid %d)", name, map[bool]string{true: "SIGKILL", false: "stopping"}[kill], s.pid(name))
	s.stop(p, kill)
	s.Logf("%s stopped (%.1f s)", name, time.Since(t).Seconds())
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	if err := s.launch(p); err != nil {
		return err
	}
	return s.await(ctx, p, time.Now())
}

// Stop stops every process that runs: mediaflow's together first, then the
// others in the reverse order of their start.
func (s *Stack) Stop() {
	s.load()
	var wg sync.WaitGroup
	for i := range s.Procs {
		if p := &s.Procs[i]; p.App {
			wg.Go(func() { s.stop(p, false) })
		}
	}
	wg.Wait()
	for i := len(s.Procs) - 1; i >= 0; i-- {
		if p := &s.Procs[i]; !p.App && !p.Once {
			s.stop(p, false)
		}
	}
	os.Remove(filepath.Join(s.Dir, "pids"))
}

// Wait returns nil when ctx ends, or an error naming the first process
// found exited, other than through a Restart.
func (s *Stack) Wait(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
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

// Names are the processes that run (not the Once steps), in order.
func (s *Stack) Names() []string {
	var names []string
	for _, p := range s.Procs {
		if !p.Once {
			names = append(names, p.Name)
		}
	}
	return names
}

// Running reports whether the process called name runs.
func (s *Stack) Running(name string) bool {
	pid := s.Pid(name)
	return pid != 0 && !s.gone(pid)
}

// Pid is the process called name's pid, from this invocation or from the
// pids file (0: never started).
func (s *Stack) Pid(name string) int {
	s.load()
	return s.pid(name)
}

// launch starts p (runs it, when Once) with its output appended to its log.
func (s *Stack) launch(p *Proc) error {
	if p.Setup != nil {
		if err := p.Setup(); err != nil {
			return err
		}
	}
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
	// stops everything in order, and SIGKILL reaches its whole group.
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
	exited := make(chan struct{})
	go func() { cmd.Wait(); log.Close(); close(exited) }()
	s.mu.Lock()
	if s.exits == nil {
		s.exits = map[int]chan struct{}{}
	}
	s.exits[cmd.Process.Pid] = exited
	s.mu.Unlock()
	s.setPid(p.Name, cmd.Process.Pid)
	return nil
}

// await waits until p is ready, at most two minutes; it fails at once when
// p exits.
func (s *Stack) await(ctx context.Context, p *Proc, since time.Time) error {
	if p.Once {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	pid := s.pid(p.Name)
	for {
		if s.gone(pid) {
			return fmt.Errorf("%s exited; the end of %s:\n%s", p.Name, s.log(p.Name), tail(s.log(p.Name)))
		}
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		err := error(nil)
		if p.Ready != nil {
			err = p.Ready(cctx)
		}
		ccancel()
		if err == nil {
			s.Logf("%s ready (pid %d, %.1f s)", p.Name, pid, time.Since(since).Seconds())
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (%v); the end of %s:\n%s", p.Name, time.Since(since).Round(time.Second), err, s.log(p.Name), tail(s.log(p.Name)))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// stop sends p its stop signal (SIGKILL to its whole group when kill) and
// waits for it to exit, sending SIGKILL after its grace period.
func (s *Stack) stop(p *Proc, kill bool) {
	pid := s.pid(p.Name)
	if pid == 0 || s.gone(pid) {
		return
	}
	grace, sig := p.Grace, p.StopSignal
	if grace == 0 {
		grace = 15 * time.Second
	}
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if kill {
		syscall.Kill(-pid, syscall.SIGKILL)
	} else {
		syscall.Kill(pid, sig)
	}
	for deadline := time.Now().Add(grace); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if s.gone(pid) {
			return
		}
	}
	s.Logf("%s still running after %s: SIGKILL", p.Name, grace)
	syscall.Kill(-pid, syscall.SIGKILL)
	for i := 0; i < 100 && !s.gone(pid); i++ {
		time.Sleep(100 * time.Millisecond)
	}
}

// gone reports whether pid has exited: a child of this process once it is
// reaped, another once it no longer exists or is a zombie.
func (s *Stack) gone(pid int) bool {
	s.mu.Lock()
	exited, ok := s.exits[pid]
	s.mu.Unlock()
	if ok {
		select {
		case <-exited:
			return true
		default:
			return false
		}
	}
	p, err := procfs.NewProc(pid)
	if err != nil {
		return true
	}
	st, err := p.Stat()
	return err != nil || st.State == "Z"
}

func (s *Stack) log(name string) string { return filepath.Join(s.Dir, name+".log") }

func (s *Stack) pid(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pids[name]
}

// setPid records pid and rewrites the pids file ("NAME PID" lines).
func (s *Stack) setPid(name string, pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pids == nil {
		s.pids = map[string]int{}
	}
	s.pids[name] = pid
	var b strings.Builder
	for _, n := range s.Names() {
		if p, ok := s.pids[n]; ok {
			fmt.Fprintf(&b, "%s %d\n", n, p)
		}
	}
	os.WriteFile(filepath.Join(s.Dir, "pids"), []byte(b.String()), 0o644)
}

// load reads the pids file, where another invocation may have restarted a
// process.
func (s *Stack) load() {
	raw, err := os.ReadFile(filepath.Join(s.Dir, "pids"))
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pids = map[string]int{}
	for line := range strings.Lines(string(raw)) {
		if name, pid, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			s.pids[name], _ = strconv.Atoi(pid)
		}
	}
}

// tail returns the last 25 lines of the file at path.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(len(lines)-25, 0):], "\n")
}

// prefixer writes each complete line to the stack's Out after a prefix.
type prefixer struct {
	s      *Stack
	prefix string
	buf    []byte
}

func (p *prefixer) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.s.mu.Lock()
		fmt.Fprintf(p.s.Out, "%s%s\n", p.prefix, p.buf[:i])
		p.s.mu.Unlock()
		p.buf = p.buf[i+1:]
	}
}
