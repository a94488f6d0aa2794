// Command chaos is mediaflow's fault test. It runs the real binaries on
// 127.0.0.1, through tools/internal/stack as make dev and make cluster do,
// and acts like Svix: it sends N distinct signed events, redelivers each
// on non-2xx along a compressed Svix schedule and sends random duplicates
// concurrently, while it kills processes with SIGKILL and starts them
// again. Then it checks that every event ended in exactly one completed
// workflow, one job row and one distinct Idempotency-Key at the local
// notification target.
//
//   - the dev server (default): a Temporal dev server with a database
//     file, bin/worker and bin/server on SQLite; faults: the worker twice,
//     the server once, the dev server once. With -overload it then offers
//     4x the sustainable rate for a while and checks that the server sheds
//     load (429/503), stays up, and completes every event it acknowledged.
//   - the cluster (-cluster): make cluster's topology in a directory of
//     its own (temporal-server on PostgreSQL, two workers and two servers
//     sharing a PostgreSQL job store); each delivery goes to either
//     server; faults (-faults): worker-1, temporal-server, postgresql,
//     server-2, temporal-server.
//
// It prints its figures as Markdown; -report writes them into a Markdown
// file as the section of the run's topology, keeping the rest of the file.
//
//	make chaos          # go run ./tools/chaos -n 500 -overload -report RELIABILITY.md
//	make chaos-cluster  # go run ./tools/chaos -cluster -n 1000 -spread 2m -report RELIABILITY.md
//	make cluster-check  # CI: -cluster -n 40 -spread 20s -faults temporal-server -timeout 10m
//
// Everything listens on 127.0.0.1, and every loop is bounded in count and
// time (-timeout). The exit status is 1 when a check fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow/tools/internal/cli"
	"github.com/mediaflow/mediaflow/tools/internal/load"
	"github.com/mediaflow/mediaflow/tools/localtemporal"
)

const secret = "whsec_Y2hhb3MtdGVzdC1zZWNyZXQtZm9yLWxvb3BiYWNrLW9ubHk="

type options struct {
	cluster, overload   bool
	faults, dir, report string
	n                   int
	spread, timeout     time.Duration
}

// dupRate is the share of events also delivered concurrently as a
// duplicate; overloadFor the length of the overload phase.
const (
	dupRate     = 0.3
	overloadFor = 30 * time.Second
)

// Default fault plans, by the names of the processes killed.
const (
	devFaults     = "worker,server,temporal,worker"
	clusterFaults = "worker-1,temporal-server,postgresql,server-2,temporal-server"
)

func main() {
	var o options
	flag.BoolVar(&o.cluster, "cluster", false, "run make cluster's topology instead of the dev server")
	flag.StringVar(&o.faults, "faults", "", "processes to kill (SIGKILL) and restart, in order, comma-separated (default: dev "+
		devFaults+"; cluster "+clusterFaults+")")
	flag.IntVar(&o.n, "n", 500, "distinct events to send")
	flag.DurationVar(&o.spread, "spread", 20*time.Second, "time over which the events are first sent")
	flag.BoolVar(&o.overload, "overload", false, "also run the overload phase (dev server only)")
	flag.StringVar(&o.report, "report", "", "write the figures to this Markdown file")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "stop everything after this long")
	flag.Parse()
	if o.faults == "" {
		o.faults = map[bool]string{false: devFaults, true: clusterFaults}[o.cluster]
	}
	if o.cluster && o.overload {
		fmt.Fprintln(os.Stderr, "chaos: -overload runs on the dev server only")
		os.Exit(2)
	}
	os.Exit(cli.ExitCode("chaos", run(o), os.Stderr))
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	var err error
	if o.dir, err = os.MkdirTemp("", "mediaflow-chaos-"); err != nil {
		return err
	}
	fmt.Println("work directory (databases, logs):", o.dir)
	// The notification target: it counts the Idempotency-Keys it receives.
	target := &load.Peer{}
	srv, addr, err := load.StartPeer("127.0.0.1:0", target)
	if err != nil {
		return err
	}
	defer srv.Close()
	sys, err := startSystem(ctx, o, "http://"+addr)
	if err != nil {
		return err
	}
	defer sys.st.Stop()
	tc, err := localtemporal.Dial(ctx, sys.temporal, nil)
	if err != nil {
		return err
	}
	defer tc.Close()
	fmt.Printf("up: webhooks %v, Temporal %s, %d cores, %s\n", sys.urls, sys.temporal, runtime.NumCPU(), runtime.Version())

	faults, err := faultPhase(ctx, sys, tc, target, o)
	if err != nil {
		sys.failed()
		return err
	}
	var over *overloadResult
	if o.overload && faults.ok() {
		if over, err = overloadPhase(ctx, sys, tc, o); err != nil {
			return err
		}
	}
	rec := sys.rec
	rec.Command, rec.Date = "go run ./tools/chaos "+strings.Join(os.Args[1:], " "), time.Now().UTC().Format("2006-01-02 15:04 UTC")
	rec.Cores, rec.Go, rec.DupRate, rec.Faults, rec.Overload = runtime.NumCPU(), runtime.Version(), dupRate, faults, over
	fmt.Print("\n", section(rec))
	if o.report != "" {
		if err := writeReport(o.report, rec); err != nil {
			return err
		}
		fmt.Println("report written to", o.report)
	}
	if !faults.ok() || (over != nil && !over.ok()) {
		sys.failed()
		return fmt.Errorf("a check failed; logs in %s", o.dir)
	}
	return nil
}

// faultResult holds the figures of the fault phase.
type faultResult struct {
	load.Tally                                     // the deliveries, by webhook URL and answer
	Events, Acked, Completed, Runs, Rows, DupsSent int
	Faults                                         []string
	Posts, DistinctKeys, ForeignKeys               int
	Elapsed, CompletionTime                        time.Duration
	// LoadStart and LoadEnd are the machine's 1-minute load average when
	// the phase began and ended: on a shared machine, the others' share.
	LoadStart, LoadEnd float64
}

func (r *faultResult) lost() int { return r.Events - r.Completed }

func (r *faultResult) duplicated() int {
	return (r.Runs - r.Events) + (r.Rows - r.Events) + (r.DistinctKeys - r.Events) + r.ForeignKeys
}

func (r *faultResult) ok() bool {
	return r.Acked == r.Events && r.Completed == r.Events && r.Runs == r.Events &&
		r.Rows == r.Events && r.DistinctKeys == r.Events && r.ForeignKeys == 0 &&
		!strings.Contains(strings.Join(r.Faults, "\n"), "FAILED")
}

var passFail = map[bool]string{true: "PASS", false: "FAIL"}

// faultPhase sends the events over o.spread, open loop, while the faults
// happen at evenly spaced points of that window, one after the other; then
// it waits for the workflows and counts.
func faultPhase(ctx context.Context, sys *system, tc client.Client, target *load.Peer, o options) (*faultResult, error) {
	s, err := newSender(sys.urls)
	if err != nil {
		return nil, err
	}
	res := &faultResult{Events: o.n, LoadStart: loadAverage()}
	start := time.Now()
	plan := strings.Split(o.faults, ",")
	var faulting sync.WaitGroup
	faulting.Go(func() {
		for i, name := range plan {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(start.Add(o.spread * time.Duration(i+1) / time.Duration(len(plan)+1)))):
			}
			t0 := time.Now()
			what, err := sys.fault(ctx, strings.TrimSpace(name))
			if err != nil {
				res.Faults = append(res.Faults, name+" FAILED: "+err.Error())
				continue
			}
			res.Faults = append(res.Faults, fmt.Sprintf("%s at %s (back in %s)", what,
				t0.Sub(start).Round(100*time.Millisecond), time.Since(t0).Round(100*time.Millisecond)))
			fmt.Println("fault:", res.Faults[len(res.Faults)-1])
		}
	})

	// Each event is delivered along Svix's schedule; some also once more,
	// concurrently, as a duplicate.
	var dups atomic.Int32
	sent := load.Run(ctx, load.Plan{N: o.n, Rate: float64(o.n) / o.spread.Seconds(), MaxInflight: o.n}, func(ctx context.Context, i int) load.Outcome {
		if rand.Float64() < dupRate {
			dups.Add(1)
			var dup sync.WaitGroup
			dup.Go(func() {
				time.Sleep(time.Duration(rand.Int64N(int64(300 * time.Millisecond))))
				s.Send(ctx, i)
			})
			defer dup.Wait()
		}
		return deliver(ctx, s, i)
	})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	faulting.Wait()
	res.Acked, res.DupsSent = len(acked(sent, s.IDs)), int(dups.Load())

	prefix := s.IDs.EventPrefix()
	if w, err := load.WaitClosed(ctx, tc, prefix, o.n, 10*time.Minute, nil); err != nil || w.TimedOut || w.Stalled {
		fmt.Printf("waiting for workflows: %v (%+v)\n", err, w)
	}
	res.CompletionTime = time.Since(start)
	if res.Completed, err = completed(ctx, tc, prefix, nil); err != nil {
		return nil, err
	}
	// Visibility lags a little: the runs are counted until they reach n,
	// at most 30 s.
	runs, err := load.WaitCount(ctx, tc, load.PrefixQuery(prefix), func(n int) bool { return n >= o.n }, 30*time.Second, nil)
	if res.Runs = runs.Count; err != nil {
		return nil, err
	}
	if res.Rows, err = sys.countRows(ctx); err != nil {
		return nil, err
	}
	res.Posts, res.DistinctKeys, res.ForeignKeys = target.Keys(prefix)
	res.Tally, res.Elapsed, res.LoadEnd = s.Tally(), time.Since(start), loadAverage()
	return res, nil
}

// acked returns the event IDs of a phase's requests answered 2xx.
func acked(r load.Result, ids load.IDs) map[string]bool {
	out := map[string]bool{}
	for _, rec := range r.Records {
		if strings.HasPrefix(rec.Out.Code, "2") {
			out[ids.EventID(rec.I)] = true
		}
	}
	return out
}

// completed counts the workflows whose ID starts with prefix (and is in
// only, when it is not nil) that have a completed run.
func completed(ctx context.Context, tc client.Client, prefix string, only map[string]bool) (int, error) {
	closed, err := load.ListClosed(ctx, tc, prefix)
	n := 0
	for id, info := range closed {
		if info.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED && (only == nil || only[id]) {
			n++
		}
	}
	return n, err
}

// loadAverage is the machine's 1-minute load average (0 where /proc has
// none).
func loadAverage() float64 {
	var avg float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &avg)
	}
	return avg
}
