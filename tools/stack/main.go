// Command stack runs mediaflow's local stacks (tools/internal/stack) for
// make; the Makefile builds it into bin/ and runs it in its own place, so
// that Ctrl-C and a SIGTERM to make reach it.
//
//	stack dev       make dev: the dev server, devpeer, the worker and the server, in the foreground
//	stack check     exit 1, naming them, when a port make dev needs is taken (make clean, readme-check)
//	stack temporal  the path of the Temporal CLI make dev runs, linked as bin/temporal when it is
//	                on the PATH (exit 1: none yet)
//	stack cluster [run|start|stop|status|env|clean|restart NAME [--kill] [--down SECONDS]]
//	                make cluster; see docs/cluster.md
//	stack bench start|stop
//	                a dev server stack in $STACK_DIR on free ports, in the background, for
//	                scripts/bench.sh: start prints its addresses and pids as shell exports
//
// It works in the repository it is run from. STACK_T0 (Unix seconds) is
// the start of the phase lines' clock, when make began before it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mediaflow/mediaflow/tools/internal/cli"
	"github.com/mediaflow/mediaflow/tools/internal/stack"
	"github.com/mediaflow/mediaflow/tools/localtemporal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:])
	stop()
	os.Exit(cli.ExitCode("stack", err, os.Stderr))
}

func run(ctx context.Context, args []string) error {
	root, err := localtemporal.Root()
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	t0 := time.Now()
	if s, err := strconv.ParseInt(os.Getenv("STACK_T0"), 10, 64); err == nil {
		t0 = time.Unix(s, 0)
	}
	cmd, rest := "", []string(nil)
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "dev":
		return dev(ctx, root, t0)
	case "check":
		return checkDev(root, true)
	case "temporal":
		c, err := findCLI(root)
		if err == nil {
			fmt.Println(c.Path)
		}
		return err
	case "cluster":
		return cluster(ctx, root, t0, rest)
	case "bench":
		return bench(ctx, root, t0, rest)
	}
	fmt.Fprintln(os.Stderr, "usage: stack dev|check|temporal|cluster [COMMAND]|bench start|stop (see go doc ./tools/stack)")
	return cli.ErrUsage
}

// bench runs a dev server stack in $STACK_DIR, headless and in memory, on
// free ports, without devpeer; the worker and the server get this
// process's environment.
func bench(ctx context.Context, root string, t0 time.Time, args []string) error {
	dir := os.Getenv("STACK_DIR")
	if dir == "" || len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: STACK_DIR=DIR stack bench start|stop")
		return cli.ErrUsage
	}
	d := stack.Dev{Root: root, Dir: dir, Temporal: stack.FreeAddr(), HTTP: stack.FreeAddr(), Metrics: stack.FreeAddr(),
		InMemory: true, Env: os.Environ()}
	st := &stack.Stack{Dir: dir, Out: os.Stderr, T0: t0}
	if args[0] == "stop" {
		st.Procs = d.Procs()
		st.Stop()
		return nil
	}
	c, err := localtemporal.FindCLI(root)
	if err != nil {
		return err
	}
	d.CLI = c.Path
	st.Procs = d.Procs()
	if err := st.Start(ctx); err != nil {
		st.Stop()
		return err
	}
	fmt.Print(exports(st, d.Temporal, "http://"+d.HTTP+"/webhooks/animus"))
	return nil
}

// exports are shell lines that point a client at a stack: Temporal's
// settings, STACK_WEBHOOK_URLS (comma-separated, as loadgen -url takes
// them) and STACK_PIDS (name=pid,…, as loadgen -cpu takes them).
func exports(st *stack.Stack, temporal string, urls ...string) string {
	var pids []string
	for _, n := range st.Names() {
		if st.Running(n) {
			pids = append(pids, fmt.Sprintf("%s=%d", n, st.Pid(n)))
		}
	}
	return fmt.Sprintf("export TEMPORAL_ADDRESS=%s TEMPORAL_NAMESPACE=%s TEMPORAL_CONFIG_FILE=/dev/null\n"+
		"export STACK_WEBHOOK_URLS=%s\nexport STACK_PIDS=%s\n", temporal, stack.Namespace, strings.Join(urls, ","), strings.Join(pids, ","))
}

// getenv is the variable's value, or def when it is unset or empty.
func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// lookup is the variable's value, or def when it is unset: an empty value
// counts (it turns an optional step off).
func lookup(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// secret is ANIMUS_WEBHOOK_SECRET, else the Makefile's dev-only DEV_SECRET.
func secret() (string, error) {
	s := getenv("ANIMUS_WEBHOOK_SECRET", os.Getenv("DEV_SECRET"))
	if s == "" {
		return "", errors.New("ANIMUS_WEBHOOK_SECRET is unset and no DEV_SECRET: run it through make (make dev, make cluster…), which sets a dev-only one")
	}
	return s, nil
}

// abs resolves a path relative to the repository.
func abs(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}
