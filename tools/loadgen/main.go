// Command loadgen measures mediaflow's webhook route on this machine: it
// signs events as Svix does (webhook.Sign) and POSTs them to a local
// server, in a closed loop of -c workers or an open loop at -rate per
// second, and reports requests/s, acknowledgement latency percentiles and
// the count of each answer.
//
//	loadgen [-url URL] [-secret whsec_…] [-c 32 | -rate R] [-n 1000 | -d 30s] [-size 1024]
//	        [-baseline] [-e2e] [-drain] [-temporal 127.0.0.1:7233] [-server-pid PID] [-json]
//
// -baseline first starts the same number of workflows with
// client.ExecuteWorkflow directly (same input, same mediaflow.StartOptions)
// and reports the ratio of the two rates; -e2e waits until every started
// workflow has closed and reports completed events/s and delivery to
// completion latency. Every event has a new event ID and job ID. Only
// loopback addresses are accepted, and every run is bounded by -n or -d.
package main

import (
	"context"
	"crypto/rand"
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
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/internal/webhook"
	"github.com/mediaflow/mediaflow/tools/internal/localtemporal"
	"github.com/mediaflow/mediaflow/tools/internal/svixsim"
)

// Bounds that keep every run finite and small enough for one machine.
const (
	maxEvents   = 1_000_000
	maxDuration = time.Hour
	maxBodySize = 16 << 20
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// errUsage is returned for flags that do not parse; the flag package has
// already said why.
var errUsage = errors.New("usage")

// exitCode is the exit status for run's error: 0 for none or --help, 2
// for flags that do not parse, 1 (after printing it) for any other.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
}

type options struct {
	url, secret   string
	conc          int
	rate          float64
	maxInflight   int
	n             int
	duration      time.Duration
	sample        string
	size          int
	timeout       time.Duration
	baseline, e2e bool
	drain         bool
	temporal      string
	namespace     string
	taskQueue     string
	wait          time.Duration
	serverPID     int
	jsonOut       bool
	label         string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080"+httpapi.WebhookPath, "webhook URL (loopback only)")
	fs.StringVar(&o.secret, "secret", os.Getenv("ANIMUS_WEBHOOK_SECRET"), "signing secret whsec_… (default $ANIMUS_WEBHOOK_SECRET)")
	fs.IntVar(&o.conc, "c", 32, "closed loop: concurrent requests")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: requests per second, latency counted from each request's scheduled time (0: closed loop)")
	fs.IntVar(&o.maxInflight, "max-inflight", 512, "open loop: most requests in flight (waiting for a slot counts in latency)")
	fs.IntVar(&o.n, "n", 1000, "number of events (with -d and no -n: as many as fit in -d)")
	fs.DurationVar(&o.duration, "d", 0, "stop sending after this long (0: bounded by -n only)")
	fs.StringVar(&o.sample, "sample", "success", "sample body: "+strings.Join(samples.Names(), ", "))
	fs.IntVar(&o.size, "size", 0, "pad the body inside data to this many bytes (0: the sample's size)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Second, "per-request timeout (Svix waits 15 s)")
	fs.BoolVar(&o.baseline, "baseline", false, "first start as many workflows with client.ExecuteWorkflow directly, and compare")
	fs.BoolVar(&o.e2e, "e2e", false, "wait until every started workflow has closed; report completed events/s and delivery->completion latency")
	fs.BoolVar(&o.drain, "drain", false, "before measuring, wait until the task queue has no running workflow")
	fs.StringVar(&o.temporal, "temporal", "127.0.0.1:7233", "Temporal frontend address (loopback only), for -baseline, -e2e, -drain")
	fs.StringVar(&o.namespace, "namespace", "default", "Temporal namespace")
	fs.StringVar(&o.taskQueue, "task-queue", mediaflow.DefaultTaskQueue, "task queue the server starts workflows on")
	fs.DurationVar(&o.wait, "wait", 5*time.Minute, "longest wait for workflows to close (-e2e, -drain, between -baseline and the HTTP run)")
	fs.IntVar(&o.serverPID, "server-pid", 0, "report this process's resident memory (Linux /proc)")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object on stdout (the human-readable report goes to stderr)")
	fs.StringVar(&o.label, "label", "", "free text copied into the report (e.g. the run's name)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	nSet := false
	fs.Visit(func(f *flag.Flag) { nSet = nSet || f.Name == "n" })
	if o.duration > 0 && !nSet {
		o.n = 0
	}
	switch {
	case o.secret == "":
		return o, errors.New("-secret or ANIMUS_WEBHOOK_SECRET is required")
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
	case o.rate > 0 && openLoopCount(o.rate, o.n, o.duration) > maxEvents:
		return o, fmt.Errorf("-rate × -d is more than %d events", maxEvents)
	case o.size < 0 || o.size > maxBodySize:
		return o, fmt.Errorf("-size must be between 0 and %d", maxBodySize)
	case o.wait <= 0:
		return o, errors.New("-wait must be positive")
	}
	if err := localtemporal.CheckURL(o.url); err != nil {
		return o, fmt.Errorf("-url: %w", err)
	}
	if err := localtemporal.CheckHostPort(o.temporal); err != nil {
		return o, fmt.Errorf("-temporal: %w", err)
	}
	if _, err := webhook.Sign(o.secret, "msg_check", time.Now(), nil); err != nil {
		return o, fmt.Errorf("-secret: %w", err)
	}
	return o, nil
}

// report is the -json output: one object per run.
type report struct {
	Label     string        `json:"label,omitempty"`
	URL       string        `json:"url"`
	Mode      string        `json:"mode"`
	Conc      int           `json:"concurrency,omitempty"`
	Rate      float64       `json:"rate,omitempty"`
	BodyBytes int           `json:"body_bytes"`
	Sample    string        `json:"sample"`
	Drain     *waitResult   `json:"drain,omitempty"`
	Direct    *phaseSummary `json:"direct,omitempty"`
	Between   *waitResult   `json:"between,omitempty"`
	HTTP      phaseSummary  `json:"http"`
	// Ratio is the HTTP phase's rate over the direct phase's (-baseline).
	Ratio float64 `json:"ingest_over_direct,omitempty"`
	// P99Diff is the HTTP phase's p99 minus the direct phase's, in ms.
	P99Diff *float64      `json:"p99_diff_ms,omitempty"`
	E2E     *e2eSummary   `json:"e2e,omitempty"`
	Server  *memoryReport `json:"server,omitempty"`
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
	httpIDs := ids{token: newToken()}
	jobIDLen := len(httpIDs.JobID(0))
	tmpl, err := newTemplate(sample, o.size, jobIDLen)
	if err != nil {
		return fmt.Errorf("-sample %s: %w", o.sample, err)
	}
	p := plan{N: o.n, Duration: o.duration, Conc: o.conc, Rate: o.rate, MaxInflight: o.maxInflight}
	rep := report{Label: o.label, URL: o.url, BodyBytes: tmpl.Size(jobIDLen), Sample: o.sample}
	if o.rate > 0 {
		rep.Mode, rep.Rate = "open", o.rate
	} else {
		rep.Mode, rep.Conc = "closed", o.conc
	}
	fmt.Fprintf(human, "loadgen: %s, body %d B (sample %s) -> %s\n", describePlan(p), rep.BodyBytes, o.sample, o.url)

	var before memoryReport
	if o.serverPID > 0 {
		if before, err = readMemory(o.serverPID); err != nil {
			return err
		}
	}

	var tc client.Client
	if o.baseline || o.e2e || o.drain {
		if tc, err = localtemporal.Dial(ctx, o.temporal, o.namespace, 0); err != nil {
			return err
		}
		defer tc.Close()
	}
	if o.drain {
		w, err := drain(ctx, tc, o.taskQueue, o.wait, human)
		if err != nil {
			return err
		}
		rep.Drain = &w
		fmt.Fprintf(human, "drain  task queue %s quiet after %.1f s%s\n", o.taskQueue, w.Seconds, waitNote(w))
	}

	if o.baseline {
		// The server's own start deadline (START_TIMEOUT's default).
		server, err := config.LoadServer(config.Environ{"ANIMUS_WEBHOOK_SECRET": o.secret})
		if err != nil {
			return err
		}
		d := &directTarget{c: tc, taskQueue: o.taskQueue, timeout: server.StartTimeout, tmpl: tmpl, ids: ids{token: newToken()}}
		res := runPhase(ctx, p, d.send)
		s := summarizePhase("direct", p, res)
		rep.Direct = &s
		fmt.Fprintln(human, s)
		// Let the worker finish the baseline's workflows, so the HTTP run
		// does not compete with them for the same CPUs.
		w, err := waitClosed(ctx, tc, d.ids.EventPrefix(), s.Statuses["started"], o.wait, human)
		if err != nil {
			return err
		}
		rep.Between = &w
		fmt.Fprintf(human, "       (baseline's %d workflows closed %.1f s after its last start%s)\n", w.Closed, w.Seconds, waitNote(w))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	h := newHTTPTarget(o, tmpl, httpIDs)
	res := runPhase(ctx, p, h.send)
	rep.HTTP = summarizePhase("http", p, res)
	fmt.Fprintln(human, rep.HTTP)
	if rep.Direct != nil && rep.Direct.Rate > 0 {
		rep.Ratio = round3(rep.HTTP.Rate / rep.Direct.Rate)
		diff := round3(rep.HTTP.Latency.P99 - rep.Direct.Latency.P99)
		rep.P99Diff = &diff
		fmt.Fprintf(human, "ratio  ingest/direct = %.3f; p99 %+.2f ms over direct\n", rep.Ratio, diff)
	}

	if o.e2e {
		started := rep.HTTP.Statuses["started"]
		w, err := waitClosed(ctx, tc, httpIDs.EventPrefix(), started, o.wait, human)
		if err != nil {
			return err
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		closed, err := listClosed(lctx, tc, httpIDs.EventPrefix())
		cancel()
		if err != nil {
			return err
		}
		s := summarizeE2E(res, httpIDs, closed, w)
		rep.E2E = &s
		fmt.Fprintln(human, s)
	}

	if o.serverPID > 0 {
		after, err := readMemory(o.serverPID)
		if err != nil {
			return err
		}
		after.StartRSSMiB = before.RSSMiB
		rep.Server = &after
		fmt.Fprintf(human, "server pid %d RSS %.1f MiB at start, %.1f MiB at end, peak %.1f MiB\n", o.serverPID, after.StartRSSMiB, after.RSSMiB, after.PeakMiB)
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

func describePlan(p plan) string {
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

func waitNote(w waitResult) string {
	switch {
	case w.TimedOut:
		return "; TIMED OUT"
	case w.Stalled:
		return "; STALLED: is the worker running?"
	}
	return ""
}

// newToken returns 12 random base32 characters, lowercased.
func newToken() string { return strings.ToLower(rand.Text()[:12]) }

// httpTarget posts signed events to the webhook URL over one shared client.
type httpTarget struct {
	url, secret string
	client      *http.Client
	tmpl        *template
	ids         ids
}

func newHTTPTarget(o options, tmpl *template, d ids) *httpTarget {
	conns := o.conc
	if o.rate > 0 {
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
		url:    o.url,
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

func (h *httpTarget) send(ctx context.Context, i int) outcome {
	a, err := svixsim.Deliver(ctx, h.client, h.url, h.secret, h.ids.EventID(i), h.tmpl.Body(h.ids.JobID(i)))
	if err != nil {
		return outcome{Code: "error:" + transportErrorKind(err)}
	}
	return outcome{Code: strconv.Itoa(a.Code), Status: a.Status}
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
