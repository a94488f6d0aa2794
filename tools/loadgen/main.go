// Command loadgen measures mediaflow on this machine against Temporal's
// own floor: it signs events as Svix does and POSTs them to a local
// server (closed loop of -c senders, or open loop at -rate per second),
// and with -sides runs the same events as direct starts (direct) or as
// workflows of no activity, one, or three (floor0, floor1, bare) on
// workers of its own, one side after the other. Each side is waited for
// to its last close; it reports the acknowledgements, completed events/s,
// the tasks of one history, the CPU time per event of the processes
// -cpu names, the webhooks' ratio to each other side, and with
// -receiver what a notification receiver got (docs/performance.md). It
// targets loopback only, and every run is bounded by -n or -d.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing/fstest"
	"time"
	"unicode"

	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/internal/webhook"
	"github.com/mediaflow/mediaflow/tools/internal/cli"
	"github.com/mediaflow/mediaflow/tools/internal/load"
	"github.com/mediaflow/mediaflow/tools/localtemporal"
)

// Bounds that keep every run finite and small enough for one machine.
const (
	maxInflight = 512 // an open loop's requests in flight; waiting for a slot counts in latency
	maxEvents   = 1_000_000
	maxDuration = time.Hour
	maxBodySize = 16 << 20
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.ExitCode("loadgen", err, os.Stderr))
}

type options struct {
	urls, sides                []string
	secret, temporal, receiver string
	conc, n, size, workers     int
	rate                       float64
	duration, wait, down       time.Duration
	drain, jsonOut             bool
	cpu, rss                   []procRef
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var urls, sides, cpu, rss string
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&urls, "url", "http://127.0.0.1:8080"+httpapi.WebhookPath, "webhook URL (loopback only); several, comma-separated, take turns")
	fs.StringVar(&o.secret, "secret", os.Getenv("ANIMUS_WEBHOOK_SECRET"), "signing secret whsec_… (default $ANIMUS_WEBHOOK_SECRET)")
	fs.IntVar(&o.conc, "c", 32, "closed loop: concurrent requests")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: requests per second, latency counted from each request's scheduled time (0: closed loop)")
	fs.IntVar(&o.n, "n", 1000, "number of events per side (with -d and no -n: as many as fit in -d)")
	fs.DurationVar(&o.duration, "d", 0, "stop sending after this long (0: bounded by -n only)")
	fs.IntVar(&o.size, "size", 0, "pad the body inside data to this many bytes (0: the sample's size)")
	fs.StringVar(&sides, "sides", "webhooks", "what runs, in order, comma-separated: webhooks, direct, floor0, floor1, bare")
	fs.IntVar(&o.workers, "workers", 1, "floor0, floor1, bare: number of loadgen's workers (each with its own client)")
	fs.BoolVar(&o.drain, "drain", false, "before measuring, wait until the task queue has no running workflow")
	fs.StringVar(&o.temporal, "temporal", "127.0.0.1:7233", "Temporal frontend address (loopback only)")
	fs.DurationVar(&o.wait, "wait", 5*time.Minute, "longest wait for a side's workflows to close, and for -drain (0: acknowledgements only, no Temporal)")
	fs.StringVar(&o.receiver, "receiver", "", "serve 64 KiB of media per event and take notifications on this loopback host:port")
	fs.DurationVar(&o.down, "receiver-down", 0, "-receiver: answer notifications and alerts 503 for this long from the start")
	fs.StringVar(&cpu, "cpu", "", "report CPU time per event of these processes and their descendants: name=pid,… (Linux /proc)")
	fs.StringVar(&rss, "rss", "", "sample these processes' resident memory every second: name=pid,… (Linux /proc)")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object on stdout (the human-readable report goes to stderr)")
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
	o.urls, o.sides = list(urls), list(sides)
	var err error
	if o.cpu, err = parseProcRefs(cpu); err != nil {
		return o, fmt.Errorf("-cpu: %w", err)
	}
	if o.rss, err = parseProcRefs(rss); err != nil {
		return o, fmt.Errorf("-rss: %w", err)
	}
	return o, o.check()
}

func (o options) check() error {
	switch {
	case o.secret == "":
		return errors.New("-secret or ANIMUS_WEBHOOK_SECRET is required")
	case o.conc < 1 || o.workers < 1 || o.rate < 0:
		return errors.New("-c and -workers must be at least 1, -rate not negative")
	case o.n < 0 || o.n > maxEvents || o.duration < 0 || o.duration > maxDuration:
		return fmt.Errorf("-n must be between 0 and %d, -d between 0 and %s", maxEvents, maxDuration)
	case o.n == 0 && o.duration == 0:
		return errors.New("give -n or -d: every run is bounded")
	case o.rate > 0 && load.OpenLoopCount(o.rate, o.n, o.duration) > maxEvents:
		return fmt.Errorf("-rate × -d is more than %d events", maxEvents)
	case o.size < 0 || o.size > maxBodySize:
		return fmt.Errorf("-size must be between 0 and %d", maxBodySize)
	case o.wait < 0 || o.wait == 0 && (o.drain || len(o.rss) > 0 || slices.ContainsFunc(o.sides, func(s string) bool { return sideKinds[s] != "" })):
		return errors.New("-wait must be positive (0 only for webhooks and direct, without -drain or -rss)")
	case o.down > 0 && o.receiver == "":
		return errors.New("-receiver-down needs -receiver")
	}
	for i, s := range o.sides {
		if _, ok := sideKinds[s]; !ok || slices.Index(o.sides, s) != i {
			return fmt.Errorf("-sides: %q is not one of webhooks, direct, floor0, floor1, bare (each once)", s)
		}
	}
	for _, u := range append(o.urls, "http://"+o.temporal, "http://"+cmp.Or(o.receiver, "127.0.0.1:0")) {
		if err := localtemporal.CheckURL(u); err != nil {
			return fmt.Errorf("-url, -temporal, -receiver: %w", err)
		}
	}
	if _, err := webhook.Sign(o.secret, "msg_check", time.Now(), nil); err != nil {
		return fmt.Errorf("-secret: %w", err)
	}
	return nil
}

// list splits a comma-separated flag; spaces around its items are ignored.
func list(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
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
	var recv *load.Peer
	mediaURL := ""
	if o.receiver != "" {
		recv = &load.Peer{Media: fstest.MapFS{"media.bin": {Data: make([]byte, 64<<10)}}}
		srv, addr, err := load.StartPeer(o.receiver, recv)
		if err != nil {
			return fmt.Errorf("-receiver: %w", err)
		}
		defer srv.Close()
		mediaURL = "http://" + addr + load.MediaPath + "media.bin"
	}
	sample, _ := samples.Get("success")
	tmpl, err := load.NewTemplate(sample, o.size, mediaURL)
	if err != nil {
		return err
	}
	var tc client.Client
	if o.wait > 0 || slices.Contains(o.sides, "direct") {
		if tc, err = dial(ctx, o); err != nil {
			return err
		}
		defer tc.Close()
	}
	p := load.Plan{N: o.n, Duration: o.duration, Conc: o.conc, Rate: o.rate, MaxInflight: maxInflight}
	rep := load.Report{URL: strings.Join(o.urls, ","), BodyBytes: len(tmpl), Order: o.sides, Sides: map[string]*load.Side{}, Rate: o.rate}
	fmt.Fprintf(human, "loadgen: %s, body %d B -> %s\n", map[bool]string{true: fmt.Sprintf("open loop at %g/s", o.rate), false: fmt.Sprintf("closed loop c=%d", o.conc)}[o.rate > 0], len(tmpl), rep.URL)
	if o.drain {
		w, err := load.Drain(ctx, tc, mediaflow.DefaultTaskQueue, o.wait, human)
		if err != nil {
			return err
		}
		fmt.Fprintf(human, "drain  mediaflow's task queue quiet after %.1f s%s\n", w.Seconds, waitNote(w))
	}
	t0 := time.Now()
	if recv != nil {
		// No workflow closes while the receiver is down: that is no stall.
		recv.DownUntil, load.StallAfter = t0.Add(o.down), load.StallAfter+o.down
	}
	conns := map[bool]int{true: maxInflight, false: o.conc}[o.rate > 0]
	h := load.NewSender(o.urls, o.secret, conns, func(_ int, jobID string) []byte { return tmpl.Body(jobID) })
	var stopRSS func() []load.RSSSample
	if len(o.rss) > 0 {
		stopRSS = sampleRSS(ctx, o.rss, h, tc)
	}
	err = runSides(ctx, o, p, tc, h, tmpl, &rep, human)
	if stopRSS != nil {
		rep.RSS = stopRSS()
	}
	if err != nil {
		return err
	}
	if recv != nil {
		c := recv.Counts()
		c.DownSeconds, c.PerSecond = o.down.Seconds(), recv.PerSecond(t0)
		rep.Receiver = &c
		fmt.Fprintf(human, "recv   %d media downloads served, %d notifications, %d alerts; requests per second: %v\n", c.Media, c.Notify, c.Alert, c.PerSecond)
	}
	if o.jsonOut {
		return json.NewEncoder(stdout).Encode(rep)
	}
	return nil
}

// runSides runs each side in turn, and prints the webhooks' ratios to the
// others.
func runSides(ctx context.Context, o options, p load.Plan, tc client.Client, h *load.Sender, tmpl load.Template, rep *load.Report, human io.Writer) error {
	// The server's own start deadline (START_TIMEOUT's default).
	server, err := config.LoadServer(config.Environ{"ANIMUS_WEBHOOK_SECRET": o.secret})
	if err != nil {
		return err
	}
	var workers *floorWorkers
	defer func() { workers.Stop() }()
	for _, name := range o.sides {
		send, ids := h.Send, h.IDs
		if name != "webhooks" {
			d := &directTarget{c: tc, taskQueue: mediaflow.DefaultTaskQueue, workflowType: mediaflow.WorkflowType, timeout: server.StartTimeout,
				tmpl: tmpl, ids: load.IDs{Token: load.NewToken()}}
			if name != "direct" {
				if workers == nil {
					var err error
					if workers, err = startFloorWorkers(ctx, o); err != nil {
						return err
					}
				}
				d.taskQueue, d.workflowType = workers.taskQueue, sideKinds[name]
			}
			send, ids = d.send, d.ids
		}
		s, err := runSide(ctx, o, p, tc, name, send, ids, human)
		if err != nil {
			return err
		}
		rep.Sides[name] = s
	}
	if m := rep.Sides["webhooks"]; m != nil {
		for _, name := range o.sides {
			if s := rep.Sides[name]; name != "webhooks" && s.Sent.Rate > 0 {
				fmt.Fprintf(human, "ratio  webhooks/%s: sent %.3f, completed %.3f (order %s)\n", name,
					m.Sent.Rate/s.Sent.Rate, m.E2E.Rate/max(s.E2E.Rate, 1e-9), strings.Join(o.sides, ","))
			}
		}
	}
	return nil
}

// runSide sends one side's events, waits until their workflows have
// closed, and reads the history of the first.
func runSide(ctx context.Context, o options, p load.Plan, tc client.Client, name string, send load.SendFunc, ids load.IDs, human io.Writer) (*load.Side, error) {
	cpu0 := sampleCPU(o.cpu)
	res := load.Run(ctx, p, send)
	s := &load.Side{Sent: load.SummarizePhase(name, res), SentCPU: cpuBetween(cpu0, sampleCPU(o.cpu), len(res.Records))}
	s.Saturated = p.Rate > 0 && saturated(p.Rate, s.Sent)
	fmt.Fprintln(human, s.Sent)
	if s.SentCPU != nil {
		fmt.Fprintln(human, s.SentCPU)
	}
	if ctx.Err() != nil || o.wait == 0 {
		return s, ctx.Err()
	}
	w, err := load.WaitClosed(ctx, tc, ids.EventPrefix(), s.Sent.Statuses["started"], o.wait, human)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	closed, err := load.ListClosed(lctx, tc, ids.EventPrefix())
	if err != nil {
		return nil, err
	}
	s.E2E = load.SummarizeE2E(res, ids, closed, w)
	s.CPU = cpuBetween(cpu0, sampleCPU(o.cpu), s.E2E.Closed)
	fmt.Fprintln(human, s.E2E)
	if _, ok := closed[ids.EventID(0)]; ok {
		if shape, err := fetchShape(lctx, tc, ids.EventID(0)); err == nil {
			s.History = &shape
			fmt.Fprintln(human, shape)
		}
	}
	if s.CPU != nil {
		fmt.Fprintln(human, s.CPU)
	}
	return s, nil
}

// saturated says whether an open loop at offered/s found the server
// unable to keep up: answers at under 90% of the offered rate, or more
// than 1% of them not a 200.
func saturated(offered float64, s load.PhaseSummary) bool {
	return s.Requests == 0 || s.Rate < 0.9*offered || float64(s.Requests-s.Codes["200"]) > 0.01*float64(s.Requests)
}

// dial connects a Temporal client of loadgen's own to -temporal, without
// gRPC compression, as mediaflow's TEMPORAL_GRPC_COMPRESSION=auto on
// loopback.
func dial(ctx context.Context, o options) (client.Client, error) {
	return localtemporal.Dial(ctx, o.temporal, func(c *client.Options) {
		c.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	})
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
