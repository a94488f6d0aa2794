// Command stack runs mediaflow's local stacks (tools/internal/stack) for
// make, which builds it into bin/ and runs it in its own place, so that
// Ctrl-C and a SIGTERM to make reach it, and it stops everything in order.
//
//	stack dev       make dev: the Temporal dev server, devpeer, the worker and the server, until Ctrl-C
//	stack check     exit 1, naming them, when a port make dev needs is taken (make clean, readme-check)
//	stack temporal  the path of the Temporal CLI make dev runs (TEMPORAL_CLI, bin/temporal, or one on
//	                the PATH with dev server 1.29+, then linked as bin/temporal); exit 1: none yet
//	stack cluster [run|start|stop|status|env|clean|restart NAME [--kill] [--down SECONDS]]
//	                make cluster and its commands (docs/production.md)
//	stack bench start|stop
//	                a dev server stack in $STACK_DIR on free ports, in the background, for
//	                scripts/bench.sh; start prints its addresses and pids as shell exports
//
// It works in the repository around the working directory. STACK_T0 (Unix
// seconds) starts the clock of its phase lines, when make began earlier.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mediaflow/mediaflow/tools/internal/cli"
	"github.com/mediaflow/mediaflow/tools/internal/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := stack.Main(ctx, os.Args[1:])
	stop()
	os.Exit(cli.ExitCode("stack", err, os.Stderr))
}
