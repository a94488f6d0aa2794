// Command loadgen measures mediaflow's webhook route on this machine: it
// signs events as Svix does (webhook.Sign) and POSTs them to a local
// server, in a closed loop of -c workers or an open loop at -rate per
// second, and reports requests/s, acknowledgement latency percentiles and
// the count of each answer.
//
//	loadgen [-url URL[,URL…]] [-secret whsec_…] [-c 32 | -rate R | -sweep R,R,…] [-n 1000 | -d 30s]
//	        [-size 1024] [-baseline | -bare [-bare-workers 1]] [-reverse] [-e2e] [-drain]
//	        [-receiver 127.0.0.1:PORT [-media-size 65536]] [-cpu name=pid,…] [-rss name=pid,…]
//	        [-temporal 127.0.0.1:7233] [-server-pid PID] [-json]
//
// -baseline also starts the same number of workflows with
// client.ExecuteWorkflow directly (same input, same mediaflow.StartOptions)
// and reports the ratio of the two ingest rates. -bare also runs a bare
// workflow of the same shape (three no-op activities in a row, started
// directly) on workers inside loadgen, on a task queue of its own, and
// reports the ratio of mediaflow's end-to-end rate to the bare workflow's
// completed/s. The comparison runs first, and the webhooks second; -reverse
// swaps them (alternate it between runs). -e2e waits until every started
// workflow has closed and reports completed events/s, delivery to
// completion latency and the shape of a workflow's history (its workflow
// and activity tasks). -sweep runs an open loop at each rate in turn (for
// -d each), waiting for the task queue to drain between them, and stops
// after the first rate the server cannot keep up with. -receiver serves
// every event's media and takes notifications on loopback (for a worker
// with MEDIA_DIR, NOTIFY_URL=http://ADDR/notify, ALERT_URL=http://ADDR/alert).
// -cpu reports the CPU time each named process (with its descendants) and
// loadgen itself used per event: a measure that a busy machine slows but
// does not inflate. -rss samples the resident memory of the named
// processes every second against the events acknowledged and completed.
// Every event has a new event ID and job ID. Only loopback addresses are
// accepted, and every run is bounded by -n or -d.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing/fstest"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/internal/webhook"
	"github.com/mediaflow/mediaflow/tools/internal/cli"
	"github.com/mediaflow/mediaflow/tools/internal/svixsim"
	"github.com/mediaflow/mediaflow/tools/localtemporal"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// Bounds that keep every run finite and small enough for one machine.
const (
	maxEvents   = 1_000_000
	maxDuration = time.Hour
	maxBodySize = 16 << 20
	maxMedia    = 64 << 20
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.ExitCode("loadgen", err, os.Stderr))
}

type options struct {
	urls          []string
	secret        string
	conc          int
	rate          float64
	sweep         []float64
	maxInflight   int
	n             int
	duration      time.Duration
	sample        string
	size          int
	timeout       time.Duration
	baseline, e2e bool
	bare          bool
	bareWorkers   int
	reverse       bool
	drain         bool
	temporal      string
	namespace     string
	taskQueue     string
	wait          time.Duration
	serverPID     int
	receiver      string
	mediaSize     int
	cpu, rss      []procRef
	compression   string
	jsonOut       bool
	label         string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var urls, sweep, cpu, rss string
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&urls, "url", "http://127.0.0.1:8080"+httpapi.WebhookPath, "webhook URL (loopback only); several, comma-separated, take turns")
	fs.StringVar(&o.secret, "secret", os.Getenv("ANIMUS_WEBHOOK_SECRET"), "signing secret whsec_… (default $ANIMUS_WEBHOOK_SECRET)")
	fs.IntVar(&o.conc, "c", 32, "closed loop: concurrent requests")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: requests per second, latency counted from each request's scheduled time (0: closed loop)")
	fs.StringVar(&sweep, "sweep", "", "open loops at these rates per second in turn (comma-separated, ascending), -d each, until one saturates")
	fs.IntVar(&o.maxInflight, "max-inflight", 512, "open loop: most requests in flight (waiting for a slot counts in latency)")
	fs.IntVar(&o.n, "n", 1000, "number of events (with -d and no -n: as many as fit in -d)")
	fs.DurationVar(&o.duration, "d", 0, "stop sending after this long (0: bounded by -n only)")
	fs.StringVar(&o.sample, "sample", "success", "sample body: "+strings.Join(samples.Names(), ", "))
	fs.IntVar(&o.size, "size", 0, "pad the body inside data to this many bytes (0: the sample's size)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Second, "per-request timeout (Svix waits 15 s)")
	fs.BoolVar(&o.baseline, "baseline", false, "also start as many workflows with client.ExecuteWorkflow directly, and compare ingest rates")
	fs.BoolVar(&o.bare, "bare", false, "also run a bare workflow of the same shape (3 no-op activities) on loadgen's own worker, and compare end-to-end rates (implies -e2e)")
	fs.IntVar(&o.bareWorkers, "bare-workers", 1, "-bare: number of workers (each with its own client)")
	fs.BoolVar(&o.reverse, "reverse", false, "send the webhooks before, not after, the -baseline or -bare comparison")
	fs.BoolVar(&o.e2e, "e2e", false, "wait until every started workflow has closed; report completed events/s and delivery->completion latency")
	fs.BoolVar(&o.drain, "drain", false, "before measuring, wait until the task queue has no running workflow")
	fs.StringVar(&o.temporal, "temporal", "127.0.0.1:7233", "Temporal frontend address (loopback only), for -baseline, -bare, -e2e, -drain, -sweep")
	fs.StringVar(&o.namespace, "namespace", "default", "Temporal namespace")
	fs.StringVar(&o.taskQueue, "task-queue", mediaflow.DefaultTaskQueue, "task queue the server starts workflows on")
	fs.DurationVar(&o.wait, "wait", 5*time.Minute, "longest wait for workflows to close (-e2e, -drain, between phases)")
	fs.IntVar(&o.serverPID, "server-pid", 0, "report this process's resident memory at the start and the end (Linux /proc)")
	fs.StringVar(&o.receiver, "receiver", "", "serve media and take notifications on this loopback host:port; events' media_url points there")
	fs.IntVar(&o.mediaSize, "media-size", 64<<10, "-receiver: bytes of media per event")
	fs.StringVar(&cpu, "cpu", "", "report CPU time per event of these processes and their descendants: name=pid,… (Linux /proc)")
	fs.StringVar(&rss, "rss", "", "sample these processes' resident memory every second: name=pid,… (Linux /proc)")
	fs.StringVar(&o.compression, "grpc-compression", config.CompressionAuto, "gRPC compression of loadgen's own Temporal clients (direct starts, bare workers): auto (as mediaflow: none on loopback), gzip (the SDK's default) or none")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object on stdout (the human-readable report goes to stderr)")
	fs.StringVar(&o.label, "label", "", "free text copied into the report (e.g. the run's name)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", cli.ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	nSet := false
	fs.Visit(func(f *flag.Flag) { nSet = nSet || f.Name == "n" })
	if o.duration > 0 && !nSet {
		o.n = 0
	}
	if o.bare {
		o.e2e = true
	}
	for u := range strings.SplitSeq(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			o.urls = append(o.urls, u)
		}
	}
	var err error
	if o.sweep, err = parseRates(sweep); err != nil {
		return o, fmt.Errorf("-sweep: %w", err)
	}
	if o.cpu, err = parseProcRefs(cpu); err != nil {
		return o, fmt.Errorf("-cpu: %w", err)
	}
	if o.rss, err = parseProcRefs(rss); err != nil {
		return o, fmt.Errorf("-rss: %w", err)
	}
	switch {
	case o.secret == "":
		return o, errors.New("-secret or ANIMUS_WEBHOOK_SECRET is required")
	case len(o.urls) == 0:
		return o, errors.New("-url is required")
	case o.conc < 1:
		return o, errors.New("-c must be at least 1")
	case o.rate < 0:
		return o, errors.New("-rate must not be negative")
	case o.maxInflight < 1:
		return o, errors.New("-max-inflight must be at least 1")
	case o.n < 0 || o.n > maxEvents:
		return o, fmt.Errorf("-n must be between 0 and %d", maxEvents)
	case o.duration < 0 || o.duration > maxDuration:
		return o, fmt.Errorf("-d must be between 0 and %s", maxDuration)
	case o.n == 0 && o.duration == 0:
		return o, errors.New("give -n or -d: every run is bounded")
	case o.rate > 0 && load.OpenLoopCount(o.rate, o.n, o.duration) > maxEvents:
		return o, fmt.Errorf("-rate × -d is more than %d events", maxEvents)
	case o.size < 0 || o.size > maxBodySize:
		return o, fmt.Errorf("-size must be between 0 and %d", maxBodySize)
	case o.wait <= 0:
		return o, errors.New("-wait must be positive")
	case o.baseline && o.bare:
		return o, errors.New("-baseline and -bare compare different things: give one")
	case o.bareWorkers < 1:
		return o, errors.New("-bare-workers must be at least 1")
	case len(o.sweep) > 0 && (o.rate > 0 || o.baseline || o.bare || o.e2e):
		return o, errors.New("-sweep runs open loops of its own: no -rate, -baseline, -bare or -e2e with it")
	case len(o.sweep) > 0 && o.duration == 0:
		return o, errors.New("-sweep needs -d, the length of each rate's run")
	case o.compression != config.CompressionAuto && o.compression != config.CompressionGzip && o.compression != config.CompressionNone:
		return o, errors.New("-grpc-compression must be auto, gzip or none")
	case o.mediaSize < 0 || o.mediaSize > maxMedia:
		return o, fmt.Errorf("-media-size must be between 0 and %d", maxMedia)
	}
	for _, r := range o.sweep {
		if load.OpenLoopCount(r, o.n, o.duration) > maxEvents {
			return o, fmt.Errorf("-sweep: %g/s × -d is more than %d events", r, maxEvents)
		}
	}
	for _, u := range o.urls {
		if err := localtemporal.CheckURL(u); err != nil {
			return o, fmt.Errorf("-url: %w", err)
		}
	}
	if err := localtemporal.CheckHostPort(o.temporal); err != nil {
		return o, fmt.Errorf("-temporal: %w", err)
	}
	if o.receiver != "" {
		if err := localtemporal.CheckHostPort(o.receiver); err != nil {
			return o, fmt.Errorf("-receiver: %w", err)
		}
	}
	if _, err := webhook.Sign(o.secret, "msg_check", time.Now(), nil); err != nil {
		return o, fmt.Errorf("-secret: %w", err)
	}
	return o, nil
}

// parseRates reads "25,50,100": positive, ascending.
func parseRates(s string) ([]float64, error) {
	var out []float64
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		r, err := strconv.ParseFloat(part, 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("%q is not a positive rate", part)
		}
		if len(out) > 0 && r <= out[len(out)-1] {
			return nil, fmt.Errorf("rates must ascend (%g after %g)", r, out[len(out)-1])
		}
		out = append(out, r)
	}
	return out, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	human := stdout
	if o.jsonOut {
		human = stderr
	}

	sample, err := samples.Get(o.sample)
	if err != nil {
		return err
	}
	var recv *load.Peer
	mediaURL := ""
	if o.receiver != "" {
		recv = &load.Peer{Media: fstest.MapFS{"media.bin": {Data: make([]byte, o.mediaSize)}}}
		srv, addr, err := load.StartPeer(o.receiver, recv)
		if err != nil {
			return fmt.Errorf("-receiver: %w", err)
		}
		defer srv.Close()
		mediaURL = "http://" + addr + load.MediaPath + "media.bin"
	}
	httpIDs := load.IDs{Token: load.NewToken()}
	jobIDLen := len(httpIDs.JobID(0))
	tmpl, err := load.NewTemplate(sample, o.size, jobIDLen, mediaURL)
	if err != nil {
		return fmt.Errorf("-sample %s: %w", o.sample, err)
	}
	p := load.Plan{N: o.n, Duration: o.duration, Conc: o.conc, Rate: o.rate, MaxInflight: o.maxInflight}
	rep := load.Report{Label: o.label, URL: strings.Join(o.urls, ","), BodyBytes: tmpl.Size(jobIDLen), Sample: o.sample, Compression: compression(o),
		History: map[string]load.HistoryShape{}, CPU: map[string]*load.CPUReport{}}
	switch {
	case len(o.sweep) > 0:
		rep.Mode = "sweep"
	case o.rate > 0:
		rep.Mode, rep.Rate = "open", o.rate
	default:
		rep.Mode, rep.Conc = "closed", o.conc
	}
	if len(o.sweep) == 0 {
		fmt.Fprintf(human, "loadgen: %s, body %d B (sample %s) -> %s\n", describePlan(p), rep.BodyBytes, o.sample, rep.URL)
	}

	var before load.MemoryReport
	if o.serverPID > 0 {
		if before, err = readMemory(o.serverPID); err != nil {
			return err
		}
	}

	var tc client.Client
	if o.baseline || o.e2e || o.drain || len(o.sweep) > 0 {
		if tc, err = dial(ctx, o); err != nil {
			return err
		}
		defer tc.Close()
	}
	if o.drain {
		w, err := load.Drain(ctx, tc, o.taskQueue, o.wait, human)
		if err != nil {
			return err
		}
		rep.Drain = &w
		fmt.Fprintf(human, "drain  task queue %s quiet after %.1f s%s\n", o.taskQueue, w.Seconds, waitNote(w))
	}

	h := newHTTPTarget(o, tmpl, httpIDs)
	if len(o.sweep) > 0 {
		if rep.Sweep, err = runSweep(ctx, o, h, tc, human); err != nil {
			return err
		}
		return finish(o, &rep, recv, before, stdout, human)
	}

	var compare func() error
	switch {
	case o.baseline:
		rep.Order = "direct,webhooks"
		compare = func() error { return runDirect(ctx, o, p, tc, tmpl, &rep, human) }
	case o.bare:
		rep.Order = "bare,webhooks"
		compare = func() error { return runBare(ctx, o, p, tc, tmpl, &rep, human) }
	}
	if compare != nil && o.reverse {
		rep.Order = "webhooks," + strings.Split(rep.Order, ",")[0]
	}
	if compare != nil && !o.reverse {
		if err := compare(); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	var rss *rssSampler
	if len(o.rss) > 0 {
		rss = startRSSSampler(ctx, o.rss, h, tc, httpIDs.EventPrefix())
	}
	cpu0 := sampleCPU(o.cpu)
	res := load.Run(ctx, p, h.send)
	cpu1 := sampleCPU(o.cpu)
	rep.HTTP = load.SummarizePhase("http", p, res)
	rep.CPU["http"] = cpuBetween(cpu0, cpu1, rep.HTTP.Requests)
	fmt.Fprintln(human, rep.HTTP)
	if len(o.cpu) > 0 {
		fmt.Fprintln(human, rep.CPU["http"])
	}

	started := rep.HTTP.Statuses["started"]
	if o.e2e {
		s, shape, err := waitE2E(ctx, o, tc, res, httpIDs, started, human)
		if err != nil {
			return err
		}
		rep.E2E = &s
		rep.CPU["e2e"] = cpuBetween(cpu0, sampleCPU(o.cpu), s.Closed)
		fmt.Fprintln(human, s)
		if shape != nil {
			rep.History["http"] = *shape
			fmt.Fprintln(human, *shape)
		}
		if len(o.cpu) > 0 {
			fmt.Fprintln(human, rep.CPU["e2e"])
		}
	} else if compare != nil && o.reverse {
		// The comparison must not compete with the worker's backlog.
		w, err := load.WaitClosed(ctx, tc, httpIDs.EventPrefix(), started, o.wait, human)
		if err != nil {
			return err
		}
		rep.Between = &w
		fmt.Fprintf(human, "       (the webhooks' %d workflows closed %.1f s after the last answer%s)\n", w.Closed, w.Seconds, waitNote(w))
	}
	if rss != nil {
		rep.RSS = rss.Stop()
	}

	if compare != nil && o.reverse {
		if err := compare(); err != nil {
			return err
		}
	}
	if rep.Direct != nil && rep.Direct.Rate > 0 {
		rep.Ratio = load.Round3(rep.HTTP.Rate / rep.Direct.Rate)
		diff := load.Round3(rep.HTTP.Latency.P99 - rep.Direct.Latency.P99)
		rep.P99Diff = &diff
		fmt.Fprintf(human, "ratio  ingest/direct = %.3f; p99 %+.2f ms over direct (order %s)\n", rep.Ratio, diff, rep.Order)
	}
	if rep.E2E != nil && rep.BareE2E != nil && rep.BareE2E.Rate > 0 {
		rep.E2EOverBare = load.Round3(rep.E2E.Rate / rep.BareE2E.Rate)
		fmt.Fprintf(human, "ratio  end to end / bare = %.3f (%.1f/s over %.1f/s, order %s)\n", rep.E2EOverBare, rep.E2E.Rate, rep.BareE2E.Rate, rep.Order)
		if b, m := rep.CPU["bare"], rep.CPU["e2e"]; len(o.cpu) > 0 && b != nil && m != nil && m.PerEvent["total"] > 0 {
			fmt.Fprintf(human, "ratio  CPU per event, bare / end to end = %.3f (%.2f ms over %.2f ms)\n",
				b.PerEvent["total"]/m.PerEvent["total"], b.PerEvent["total"], m.PerEvent["total"])
		}
	}
	return finish(o, &rep, recv, before, stdout, human)
}

// finish adds the server's memory and the receiver's counts, and prints
// the JSON report.
func finish(o options, rep *load.Report, recv *load.Peer, before load.MemoryReport, stdout, human io.Writer) error {
	if o.serverPID > 0 {
		after, err := readMemory(o.serverPID)
		if err != nil {
			return err
		}
		after.StartRSSMiB = before.RSSMiB
		rep.Server = &after
		fmt.Fprintf(human, "server pid %d RSS %.1f MiB at start, %.1f MiB at end, peak %.1f MiB\n", o.serverPID, after.StartRSSMiB, after.RSSMiB, after.PeakMiB)
	}
	if recv != nil {
		c := recv.Counts()
		rep.Receiver = &c
		fmt.Fprintf(human, "recv   %d media downloads served, %d notifications, %d alerts\n", c.Media, c.Notify, c.Alert)
	}
	if len(rep.History) == 0 {
		rep.History = nil
	}
	if len(o.cpu) == 0 {
		rep.CPU = nil
	}
	if o.jsonOut {
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
	}
	return nil
}

// runDirect is -baseline's phase: the same starts through the SDK
// directly, on the server's task queue; the worker's handling of them is
// waited for, so that the phase after it does not compete with it.
func runDirect(ctx context.Context, o options, p load.Plan, tc client.Client, tmpl *load.Template, rep *load.Report, human io.Writer) error {
	// The server's own start deadline (START_TIMEOUT's default).
	server, err := config.LoadServer(config.Environ{"ANIMUS_WEBHOOK_SECRET": o.secret})
	if err != nil {
		return err
	}
	d := &directTarget{c: tc, taskQueue: o.taskQueue, workflowType: mediaflow.WorkflowType, timeout: server.StartTimeout,
		tmpl: tmpl, ids: load.IDs{Token: load.NewToken()}}
	cpu0 := sampleCPU(o.cpu)
	res := load.Run(ctx, p, d.send)
	rep.CPU["direct"] = cpuBetween(cpu0, sampleCPU(o.cpu), len(res.Records))
	s := load.SummarizePhase("direct", p, res)
	rep.Direct = &s
	fmt.Fprintln(human, s)
	if len(o.cpu) > 0 {
		fmt.Fprintln(human, rep.CPU["direct"])
	}
	if o.reverse {
		return nil
	}
	w, err := load.WaitClosed(ctx, tc, d.ids.EventPrefix(), s.Statuses["started"], o.wait, human)
	if err != nil {
		return err
	}
	rep.Between = &w
	fmt.Fprintf(human, "       (baseline's %d workflows closed %.1f s after its last start%s)\n", w.Closed, w.Seconds, waitNote(w))
	return nil
}

// runBare is -bare's phase: the bare workflow on loadgen's own workers and
// task queue, started directly, waited for to the last close.
func runBare(ctx context.Context, o options, p load.Plan, tc client.Client, tmpl *load.Template, rep *load.Report, human io.Writer) error {
	d := &directTarget{c: tc, taskQueue: "loadgen-bare-" + load.NewToken(), workflowType: bareWorkflowType,
		timeout: 10 * time.Second, tmpl: tmpl, ids: load.IDs{Token: load.NewToken()}}
	workers, err := startBareWorkers(ctx, o, d.taskQueue, o.bareWorkers)
	if err != nil {
		return err
	}
	defer workers.Stop()
	cpu0 := sampleCPU(o.cpu)
	res := load.Run(ctx, p, d.send)
	s := load.SummarizePhase("bare", p, res)
	rep.Bare = &s
	fmt.Fprintln(human, s)
	e, shape, err := waitE2E(ctx, o, tc, res, d.ids, s.Statuses["started"], human)
	if err != nil {
		return err
	}
	rep.CPU["bare"] = cpuBetween(cpu0, sampleCPU(o.cpu), e.Closed)
	rep.BareE2E = &e
	fmt.Fprintln(human, strings.Replace(e.String(), "e2e ", "bare", 1))
	if shape != nil {
		rep.History["bare"] = *shape
		fmt.Fprintln(human, *shape)
	}
	if len(o.cpu) > 0 {
		fmt.Fprintln(human, rep.CPU["bare"])
	}
	return nil
}

// waitE2E waits until the phase's started workflows have closed, lists
// their close times, and reads the history of the first one.
func waitE2E(ctx context.Context, o options, tc client.Client, res load.Result, d load.IDs, started int, human io.Writer) (load.E2ESummary, *load.HistoryShape, error) {
	w, err := load.WaitClosed(ctx, tc, d.EventPrefix(), started, o.wait, human)
	if err != nil {
		return load.E2ESummary{}, nil, err
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	closed, err := load.ListClosed(lctx, tc, d.EventPrefix())
	if err != nil {
		return load.E2ESummary{}, nil, err
	}
	s := load.SummarizeE2E(res, d, closed, w)
	first := ""
	for id := range closed {
		if i, ok := d.Index(id); ok && (first == "" || i < mustIndex(d, first)) {
			first = id
		}
	}
	if first == "" {
		return s, nil, nil
	}
	shape, err := fetchShape(lctx, tc, first)
	if err != nil {
		fmt.Fprintln(human, "       (history not read:", err, ")")
		return s, nil, nil
	}
	return s, &shape, nil
}

func mustIndex(d load.IDs, id string) int {
	i, _ := d.Index(id)
	return i
}

// compression resolves -grpc-compression as mediaflow resolves
// TEMPORAL_GRPC_COMPRESSION (the flag's value is checked when parsed).
func compression(o options) string {
	c, _ := config.ResolveCompression(o.compression, o.temporal)
	return c
}

// dial connects a Temporal client of loadgen's own to -temporal, with
// -grpc-compression.
func dial(ctx context.Context, o options) (client.Client, error) {
	return localtemporal.Dial(ctx, o.temporal, func(c *client.Options) {
		c.Namespace = o.namespace
		if compression(o) == config.CompressionNone {
			c.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
		}
	})
}

func describePlan(p load.Plan) string {
	var b strings.Builder
	if p.Rate > 0 {
		fmt.Fprintf(&b, "open loop at %g/s (%d max in flight)", p.Rate, p.MaxInflight)
	} else {
		fmt.Fprintf(&b, "closed loop c=%d", p.Conc)
	}
	if p.N > 0 {
		fmt.Fprintf(&b, ", %d events", p.N)
	}
	if p.Duration > 0 {
		fmt.Fprintf(&b, ", for at most %s", p.Duration)
	}
	return b.String()
}

func waitNote(w load.WaitResult) string {
	switch {
	case w.TimedOut:
		return "; TIMED OUT"
	case w.Stalled:
		return "; STALLED: is the worker running?"
	}
	return ""
}

// httpTarget posts signed events to the webhook URLs (in turn) over one
// shared client.
type httpTarget struct {
	urls   []string
	secret string
	client *http.Client
	tmpl   *load.Template
	ids    load.IDs
	// answered counts the answers so far (any code), for -rss.
	answered atomic.Int64
}

func newHTTPTarget(o options, tmpl *load.Template, d load.IDs) *httpTarget {
	conns := o.conc
	if o.rate > 0 || len(o.sweep) > 0 {
		conns = o.maxInflight
	}
	tr := &http.Transport{
		// Never a proxy from the environment: the target is this machine.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &httpTarget{
		urls:   o.urls,
		secret: o.secret,
		client: &http.Client{
			Transport:     tr,
			Timeout:       o.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		tmpl: tmpl,
		ids:  d,
	}
}

func (h *httpTarget) send(ctx context.Context, i int) load.Outcome {
	a, err := svixsim.Deliver(ctx, h.client, h.urls[i%len(h.urls)], h.secret, h.ids.EventID(i), h.tmpl.Body(h.ids.JobID(i)))
	h.answered.Add(1)
	if err != nil {
		return load.Outcome{Code: "error:" + transportErrorKind(err)}
	}
	return load.Outcome{Code: strconv.Itoa(a.Code), Status: a.Status}
}

func transportErrorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "reset"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.EADDRNOTAVAIL):
		return "resources"
	}
	return "other"
}
