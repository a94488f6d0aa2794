// Command chaos is mediaflow's fault test. It runs the real binaries (a
// Temporal dev server with a database file, bin/worker, bin/server) on
// 127.0.0.1 and acts like Svix: it sends N distinct signed events,
// redelivers each on non-2xx along a compressed Svix schedule and sends
// random duplicates concurrently, while it kills and restarts the worker
// twice, the server once and the Temporal dev server once. Then it checks
// that every event ended in exactly one completed workflow, one job row and
// one distinct Idempotency-Key at the local notification target. With
// -overload it then offers 4x the sustainable rate for a while and checks
// that the server sheds load (429/503), stays up, and completes every event
// it acknowledged. It writes the figures to -report.
//
//	make chaos   # go run ./cmd/chaos -n 500 -overload -report RELIABILITY.md
//
// Everything listens on 127.0.0.1, and every loop is bounded in count and
// time (-timeout). The exit status is 1 when a check fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mediaflow/mediaflow/internal/store"
)

const secret = "whsec_Y2hhb3MtdGVzdC1zZWNyZXQtZm9yLWxvb3BiYWNrLW9ubHk="

type options struct {
	n           int
	spread      time.Duration
	dupRate     float64
	overload    bool
	overloadFor time.Duration
	binDir      string
	dir         string
	report      string
	timeout     time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 500, "distinct events to send")
	flag.DurationVar(&o.spread, "spread", 20*time.Second, "time over which the events are first sent")
	flag.Float64Var(&o.dupRate, "dup", 0.3, "share of events also delivered concurrently as a duplicate")
	flag.BoolVar(&o.overload, "overload", false, "also run the overload phase")
	flag.DurationVar(&o.overloadFor, "overload-for", 30*time.Second, "length of the overload phase")
	flag.StringVar(&o.binDir, "bin", "bin", "directory holding temporal, server and worker")
	flag.StringVar(&o.dir, "dir", "", "work directory for databases and logs (default: a new temporary one)")
	flag.StringVar(&o.report, "report", "", "write the figures to this Markdown file")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "stop everything after this long")
	flag.Parse()

	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if o.dir == "" {
		d, err := os.MkdirTemp("", "mediaflow-chaos-")
		if err != nil {
			return err
		}
		o.dir = d
	}
	fmt.Println("work directory (databases, logs):", o.dir)

	c, err := newCluster(ctx, o)
	if err != nil {
		return err
	}
	defer c.stop()

	faults, err := faultPhase(ctx, c, o)
	if err != nil {
		return err
	}
	fmt.Print(faults.text())
	var over *overloadResult
	if o.overload && faults.ok() {
		if over, err = overloadPhase(ctx, c, o); err != nil {
			return err
		}
		fmt.Print(over.text())
	}
	if o.report != "" {
		if err := writeReport(o, faults, over); err != nil {
			return err
		}
		fmt.Println("report written to", o.report)
	}
	if !faults.ok() || (over != nil && !over.ok()) {
		return fmt.Errorf("a check failed; logs in %s", o.dir)
	}
	return nil
}

// faultResult holds the figures of the fault phase.
type faultResult struct {
	events, acked, completed, otherStatus, runs, rows int
	deliveries, dupsSent, dupAnswers, transport       int
	codes                                             map[int]int
	fiveXX                                            int
	faults                                            []string
	posts, distinctKeys, foreignKeys                  int
	elapsed, completionTime                           time.Duration
}

func (r *faultResult) lost() int { return r.events - r.completed }

func (r *faultResult) duplicated() int {
	return (r.runs - r.events) + (r.rows - r.events) + (r.distinctKeys - r.events) + r.foreignKeys
}

func (r *faultResult) ok() bool {
	return r.acked == r.events && r.completed == r.events && r.runs == r.events &&
		r.rows == r.events && r.distinctKeys == r.events && r.foreignKeys == 0
}

func (r *faultResult) text() string {
	return fmt.Sprintf(`fault phase: %d events, %d deliveries (%d duplicates sent concurrently, %d answered "duplicate"),
  faults: %v
  answers: %v, transport errors %d, 5xx %d
  acknowledged %d, workflows completed %d (other status %d), runs %d, job rows %d
  notify/alert POSTs %d, distinct Idempotency-Keys %d, foreign keys %d
  lost %d, duplicated %d, time %s (last completion %s after the first send)
  result: %s
`, r.events, r.deliveries, r.dupsSent, r.dupAnswers, r.faults, r.codes, r.transport, r.fiveXX,
		r.acked, r.completed, r.otherStatus, r.runs, r.rows, r.posts, r.distinctKeys, r.foreignKeys,
		r.lost(), r.duplicated(), r.elapsed.Round(time.Millisecond), r.completionTime.Round(time.Millisecond), passFail(r.ok()))
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// newEvents returns n events with IDs and job IDs unique to this run; one
// in five is a failed job, so both paths (notify and alert) run.
func newEvents(prefix string, n int) []event {
	run := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	events := make([]event, n)
	for i := range events {
		status := "completed"
		if i%5 == 4 {
			status = "failed"
		}
		body := fmt.Sprintf(`{"event_type":"media.completed","timestamp":"2026-11-29T10:00:00Z","data":{"job_id":"%s-job-%d","status":"%s","error":%s,"custom_payload":{"n":%d}}}`,
			run, i, status, map[bool]string{true: `"chaos"`, false: "null"}[status == "failed"], i)
		events[i] = event{id: fmt.Sprintf("msg_%s_%d", run, i), body: []byte(body)}
	}
	return events
}

func faultPhase(ctx context.Context, c *cluster, o options) (*faultResult, error) {
	events := newEvents("chaos", o.n)
	tl := newTally()
	s := &sender{url: c.webhookURL(), secret: secret, schedule: svixSchedule, tally: tl,
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	res := &faultResult{events: o.n}
	start := time.Now()

	// Faults at fixed points of the sending window, on their own goroutine.
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		at := func(frac float64) {
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(start.Add(time.Duration(frac * float64(o.spread))))):
			}
		}
		step := func(name string, f func() error) {
			t0 := time.Now()
			if err := f(); err != nil {
				res.faults = append(res.faults, name+" FAILED: "+err.Error())
				return
			}
			res.faults = append(res.faults, fmt.Sprintf("%s at %s (back in %s)", name,
				t0.Sub(start).Round(100*time.Millisecond), time.Since(t0).Round(100*time.Millisecond)))
		}
		at(0.15)
		step("worker killed (SIGKILL) and restarted", func() error { return c.restart(ctx, c.worker, syscall.SIGKILL, time.Second) })
		at(0.35)
		step("server killed (SIGKILL) and restarted", func() error { return c.restart(ctx, c.server, syscall.SIGKILL, 0) })
		at(0.55)
		step("Temporal dev server killed (SIGKILL) and restarted", func() error { return c.restart(ctx, c.temporal, syscall.SIGKILL, 0) })
		at(0.75)
		step("worker killed (SIGKILL) and restarted", func() error { return c.restart(ctx, c.worker, syscall.SIGKILL, time.Second) })
	}()

	// Each event is delivered along the schedule; some also once more,
	// concurrently, as a duplicate.
	var dupsSent atomic.Int32
	acked, err := sendPaced(ctx, events, o.spread/time.Duration(o.n), func(ev event) bool {
		if rand.Float64() < o.dupRate {
			dupsSent.Add(1)
			dup := make(chan struct{})
			go func() {
				defer close(dup)
				time.Sleep(time.Duration(rand.Int64N(int64(300 * time.Millisecond))))
				s.once(ctx, ev)
			}()
			defer func() { <-dup }()
		}
		return s.deliver(ctx, ev)
	})
	if err != nil {
		return nil, err
	}
	<-faultsDone
	res.acked, res.dupsSent = len(acked), int(dupsSent.Load())

	want := map[string]bool{}
	for _, ev := range events {
		want[ev.id] = true
	}
	if err := c.waitClosed(ctx, want, 5*time.Minute); err != nil {
		fmt.Println("waiting for workflows:", err)
	}
	res.completionTime = time.Since(start)
	res.completed, res.otherStatus, err = c.statuses(ctx, events)
	if err != nil {
		return nil, err
	}
	if res.runs, err = c.countRuns(ctx, o.n); err != nil {
		return nil, err
	}
	if res.rows, err = c.countRows(ctx); err != nil {
		return nil, err
	}
	res.posts, res.distinctKeys, res.foreignKeys = c.target.counts(want)
	res.deliveries, res.transport = tl.deliveries, tl.transport
	res.codes, res.dupAnswers, res.fiveXX = tl.codes, tl.statuses["duplicate"], tl.count5xx()
	res.elapsed = time.Since(start)
	return res, nil
}

// cluster is the set of processes under test and the test's own client.
type cluster struct {
	o                        options
	temporal, worker, server *proc
	temporalAddr, httpAddr   string
	target                   *target
	targetSrv                *httptest.Server
	temporalClient           *temporalClient
}

func newCluster(ctx context.Context, o options) (*cluster, error) {
	for _, b := range []string{"temporal", "server", "worker"} {
		if _, err := os.Stat(filepath.Join(o.binDir, b)); err != nil {
			return nil, fmt.Errorf("%s missing in %s (run make build and make temporal-cli)", b, o.binDir)
		}
	}
	c := &cluster{o: o, temporalAddr: freeAddr(), httpAddr: freeAddr(), target: &target{}}
	c.targetSrv = httptest.NewServer(c.target)
	bin := func(name string) string { p, _ := filepath.Abs(filepath.Join(o.binDir, name)); return p }
	_, port, _ := net.SplitHostPort(c.temporalAddr)
	c.temporal = &proc{name: "temporal", path: bin("temporal"), dir: o.dir, args: []string{
		"server", "start-dev", "--ip", "127.0.0.1", "--port", port, "--headless",
		"--db-filename", filepath.Join(o.dir, "temporal.db"), "--log-level", "warn",
		"--search-attribute", "AnimusJobID=Keyword", "--search-attribute", "AnimusJobStatus=Keyword"}}
	// The test's own dev server, whatever TEMPORAL_* this shell or a
	// Temporal config file would bring (an empty value counts as unset).
	common := []string{"TEMPORAL_ADDRESS=" + c.temporalAddr, "TEMPORAL_NAMESPACE=default", "LOG_LEVEL=warn",
		"TEMPORAL_CONFIG_FILE=/dev/null", "TEMPORAL_PROFILE=", "TEMPORAL_API_KEY=", "TEMPORAL_TLS=",
		"TEMPORAL_TASK_QUEUE=", "OTEL_EXPORTER_OTLP_ENDPOINT="}
	c.worker = &proc{name: "worker", path: bin("worker"), dir: o.dir, env: append(common,
		"DATABASE_URL=sqlite://"+filepath.Join(o.dir, "jobs.db"), "WORKER_METRICS_ADDR=off",
		"NOTIFY_URL="+c.targetSrv.URL+"/notify", "ALERT_URL="+c.targetSrv.URL+"/alert")}
	c.server = &proc{name: "server", path: bin("server"), dir: o.dir, env: append(common,
		"ANIMUS_WEBHOOK_SECRET="+secret, "HTTP_ADDR="+c.httpAddr)}

	if err := c.temporal.start(); err != nil {
		return nil, err
	}
	tc, err := dialTemporal(ctx, c.temporalAddr)
	if err != nil {
		c.stop()
		return nil, err
	}
	c.temporalClient = tc
	if err := c.worker.start(); err != nil {
		c.stop()
		return nil, err
	}
	if err := c.server.start(); err != nil {
		c.stop()
		return nil, err
	}
	if err := c.ready(ctx); err != nil {
		c.stop()
		return nil, err
	}
	fmt.Printf("cluster up: temporal %s, server %s, %d cores, %s\n", c.temporalAddr, c.httpAddr, runtime.NumCPU(), runtime.Version())
	return c, nil
}

func (c *cluster) webhookURL() string { return "http://" + c.httpAddr + "/webhooks/animus" }

// ready waits until the server reports Temporal reachable.
func (c *cluster) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return waitHTTP(ctx, "http://"+c.httpAddr+"/readyz")
}

// restart stops p with sig, waits pause, starts it again and waits until
// the whole cluster is ready.
func (c *cluster) restart(ctx context.Context, p *proc, sig syscall.Signal, pause time.Duration) error {
	p.stop(sig)
	time.Sleep(pause)
	if err := p.start(); err != nil {
		return err
	}
	return c.ready(ctx)
}

func (c *cluster) stop() {
	for _, p := range []*proc{c.server, c.worker, c.temporal} {
		if p != nil {
			p.stop(syscall.SIGTERM)
		}
	}
	if c.temporalClient != nil {
		c.temporalClient.Close()
	}
	if c.targetSrv != nil {
		c.targetSrv.Close()
	}
}

func (c *cluster) countRows(ctx context.Context) (int, error) {
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(c.o.dir, "jobs.db"))
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return st.CountJobs(ctx)
}
