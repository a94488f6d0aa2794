// Command benchplot turns one run of scripts/bench.sh (a bench-results/<time>
// directory of loadgen -json reports, go test -bench output and env.txt)
// into BENCHMARKS.md's charts and tables: it draws PNG charts with
// gonum.org/v1/plot into -images and rewrites the generated blocks of -doc,
// each between "<!-- bench:NAME -->" and "<!-- /bench:NAME -->", leaving
// the rest of the document as it is.
//
//	benchplot -results bench-results/20261129-160000 [-doc BENCHMARKS.md] [-images docs/bench]
//
// A dev-server run (env.txt mode: dev) fills the blocks run, micro,
// ingest, e2e-plain, e2e-steps, sweep, size and rss; a cluster run (mode:
// cluster) fills cluster-run, cluster-ingest, cluster-e2e-plain and
// cluster-e2e-steps. A block whose runs are missing says so.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchplot:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("benchplot", flag.ContinueOnError)
	dir := fs.String("results", "", "a bench-results/<time> directory written by scripts/bench.sh; several, comma-separated, for a run made in parts (BENCH_ONLY)")
	doc := fs.String("doc", "BENCHMARKS.md", "the document whose generated blocks are rewritten")
	images := fs.String("images", filepath.Join("docs", "bench"), "where the PNG charts go (linked from -doc relative to its directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("-results is required")
	}
	r, err := loadAll(strings.Split(*dir, ","))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*images, 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(*doc), *images)
	if err != nil {
		return err
	}
	blocks, err := r.blocks(*images, filepath.ToSlash(rel))
	if err != nil {
		return err
	}
	text, err := os.ReadFile(*doc)
	if err != nil {
		return err
	}
	out, err := replaceBlocks(string(text), blocks)
	if err != nil {
		return fmt.Errorf("%s: %w", *doc, err)
	}
	return os.WriteFile(*doc, []byte(out), 0o644)
}

// blocks draws the charts and returns the generated blocks' contents.
func (r *results) blocks(images, link string) (map[string]string, error) {
	b := map[string]string{}
	if strings.HasPrefix(r.Env["mode"], "cluster") {
		b["cluster-run"] = r.runTable()
		b["cluster-ingest"] = r.ingestTable("ingest") + r.ingestTable("ingest-same")
		b["cluster-e2e-plain"] = r.e2eTable("bare-plain")
		b["cluster-e2e-steps"] = r.e2eTable("bare-steps")
		return b, nil
	}
	b["run"] = r.runTable()
	b["micro"] = r.microTable()
	b["ingest"] = r.ingestTable("ingest") + r.ingestTable("ingest-same")
	b["e2e-plain"] = r.e2eTable("bare-plain")
	b["e2e-steps"] = r.e2eTable("bare-steps")

	if rep := r.Reports["sweep"]; rep != nil && len(rep.Sweep) > 0 {
		if err := r.ackVsRate(filepath.Join(images, "ack-vs-rate.png"), rep, r.command("sweep")); err != nil {
			return nil, err
		}
		b["sweep"] = fmt.Sprintf("![Acknowledgement p50 and p99 against offered rate](%s/ack-vs-rate.png)\n\n%s", link, r.sweepTable(rep))
	} else {
		b["sweep"] = r.missing("sweep")
	}

	var sizes []*load.Report
	for name, rep := range r.Reports {
		if strings.HasPrefix(name, "size-") {
			sizes = append(sizes, rep)
		}
	}
	if len(sizes) > 0 {
		if err := r.bySize(filepath.Join(images, "size.png"), sizes, r.command("size")); err != nil {
			return nil, err
		}
		b["size"] = fmt.Sprintf("![End-to-end rate and acknowledgement latency against body size](%s/size.png)\n\n%s", link, r.sizeTable(sizes))
	} else {
		b["size"] = r.missing("size-*")
	}

	if rep := r.Reports["rss"]; rep != nil && len(rep.RSS) > 0 {
		if err := r.rss(filepath.Join(images, "rss.png"), rep, r.command("rss")); err != nil {
			return nil, err
		}
		b["rss"] = fmt.Sprintf("![Server and worker RSS against events processed](%s/rss.png)\n\n%s", link, r.rssTable(rep))
	} else {
		b["rss"] = r.missing("rss")
	}
	return b, nil
}

// command is the command line bench.sh recorded for a run name (or the
// first of a series), in commands.txt.
func (r *results) command(name string) string {
	for _, n := range []string{name, name + "-1"} {
		if cmd, ok := r.Commands[n]; ok {
			return cmd
		}
	}
	if name == "size" {
		var names []string
		for n := range r.Commands {
			if strings.HasPrefix(n, "size-") {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			sort.Strings(names)
			return r.Commands[names[0]] + " (and -size for each size)"
		}
	}
	return "scripts/bench.sh"
}

func (r *results) missing(name string) string {
	return fmt.Sprintf("_Not measured in the run of %s (%s): no %s.json; see its log._\n", r.Env["date"], filepath.Base(r.Dir), name)
}

func (r *results) runTable() string {
	var b strings.Builder
	b.WriteString("| | |\n|---|---|\n")
	for _, k := range []string{"date", "commit", "machine", "load", "load_end", "go", "temporal", "mediaflow", "mode", "command"} {
		if v := r.Env[k]; v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, strings.ReplaceAll(v, "|", `\|`))
		}
	}
	var dirs []string
	for _, d := range r.Dirs {
		dirs = append(dirs, "`bench-results/"+filepath.Base(d)+"/`")
	}
	fmt.Fprintf(&b, "\nRaw outputs: %s (not committed).\n", strings.Join(dirs, ", "))
	return b.String()
}

var benchSuffix = regexp.MustCompile(`-\d+$`)

// microTable gives the median of each benchmark's runs.
func (r *results) microTable() string {
	if len(r.Micro) == 0 {
		return r.missing("micro (micro.txt)")
	}
	type agg struct{ ns, cpu, bytes, allocs []float64 }
	byName := map[string]*agg{}
	var names []string
	for _, l := range r.Micro {
		name := benchSuffix.ReplaceAllString(l.Name, "")
		a := byName[name]
		if a == nil {
			a = &agg{}
			byName[name] = a
			names = append(names, name)
		}
		a.ns = append(a.ns, l.Metrics["ns/op"])
		a.bytes = append(a.bytes, l.Metrics["B/op"])
		a.allocs = append(a.allocs, l.Metrics["allocs/op"])
		if v, ok := l.Metrics["cpu-ns/op"]; ok {
			a.cpu = append(a.cpu, v)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "`%s`, median of %s:\n\n", r.command("micro"), r.Env["count"])
	b.WriteString("| benchmark | ns/op | CPU ns/op | B/op | allocs/op |\n|---|---:|---:|---:|---:|\n")
	for _, n := range names {
		a := byName[n]
		cpu := "—"
		if len(a.cpu) > 0 {
			cpu = fmt.Sprintf("%.0f", median(a.cpu))
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %.0f | %.0f |\n", strings.TrimPrefix(n, "Benchmark"), median(a.ns), cpu, median(a.bytes), median(a.allocs))
	}
	return b.String()
}

func perEvent(c map[string]*load.CPUReport, phase, proc string) string {
	if c == nil || c[phase] == nil {
		return "—"
	}
	v, ok := c[phase].PerEvent[proc]
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

// ingestTable: webhook ingest against direct starts, per run and median.
func (r *results) ingestTable(prefix string) string {
	reps := r.series(prefix)
	if len(reps) == 0 {
		if prefix == "ingest-same" {
			return ""
		}
		return r.missing(prefix + "-N")
	}
	var b strings.Builder
	comp := reps[0].Compression
	fmt.Fprintf(&b, "\n`%s` (runs alternate which side goes first; loadgen's direct client: gRPC compression %s):\n\n", r.command(prefix), comp)
	b.WriteString("| run | order | direct starts/s | webhooks/s | **ratio** | direct p99 ms | webhook p99 ms | server CPU ms/request | loadgen CPU ms/start (direct) | codes |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	var ratios, d, h, dp, hp []float64
	for i, rep := range reps {
		if rep.Direct == nil {
			continue
		}
		ratios, d, h = append(ratios, rep.Ratio), append(d, rep.Direct.Rate), append(h, rep.HTTP.Rate)
		dp, hp = append(dp, rep.Direct.Latency.P99), append(hp, rep.HTTP.Latency.P99)
		fmt.Fprintf(&b, "| %d | %s | %.1f | %.1f | %.3f | %.1f | %.1f | %s | %s | %s |\n", i+1, rep.Order, rep.Direct.Rate, rep.HTTP.Rate, rep.Ratio,
			rep.Direct.Latency.P99, rep.HTTP.Latency.P99, perEvent(rep.CPU, "http", "server"), perEvent(rep.CPU, "direct", "loadgen"), codes(rep.HTTP.Codes))
	}
	fmt.Fprintf(&b, "| **median** | | %.1f | %.1f | **%.3f** | %.1f | %.1f | | | |\n", median(d), median(h), median(ratios), median(dp), median(hp))
	return b.String()
}

// e2eTable: mediaflow end to end against the bare workflow, per run and
// median, with CPU per event and the tasks of one workflow of each.
func (r *results) e2eTable(prefix string) string {
	reps := r.series(prefix)
	if len(reps) == 0 {
		return r.missing(prefix + "-N")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` (runs alternate which side goes first):\n\n", r.command(prefix))
	b.WriteString("| run | order | bare completed/s | mediaflow completed/s | **ratio** | bare CPU ms/event | mediaflow CPU ms/event | CPU ratio | mediaflow closed | \n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	var ratios, br, mr, cr []float64
	for i, rep := range reps {
		if rep.E2E == nil || rep.BareE2E == nil {
			continue
		}
		bc, mc := cpuTotal(rep, "bare"), cpuTotal(rep, "e2e")
		cratio := "—"
		if bc > 0 && mc > 0 {
			cr = append(cr, bc/mc)
			cratio = fmt.Sprintf("%.3f", bc/mc)
		}
		ratios, br, mr = append(ratios, rep.E2EOverBare), append(br, rep.BareE2E.Rate), append(mr, rep.E2E.Rate)
		fmt.Fprintf(&b, "| %d | %s | %.1f | %.1f | %.3f | %s | %s | %s | %d/%d %s |\n", i+1, rep.Order, rep.BareE2E.Rate, rep.E2E.Rate, rep.E2EOverBare,
			perEvent(rep.CPU, "bare", "total"), perEvent(rep.CPU, "e2e", "total"), cratio, rep.E2E.Closed, rep.E2E.Started, statuses(rep.E2E.Statuses))
	}
	crm := "—"
	if len(cr) > 0 {
		crm = fmt.Sprintf("%.3f", median(cr))
	}
	fmt.Fprintf(&b, "| **median** | | %.1f | %.1f | **%.3f** | | | %s | |\n", median(br), median(mr), median(ratios), crm)
	last := reps[len(reps)-1]
	if m, ok := last.History["http"]; ok {
		bare := last.History["bare"]
		fmt.Fprintf(&b, "\nTasks per workflow, from one history of each: mediaflow %d workflow tasks + %d activity tasks (%d events, %d markers); bare %d + %d (%d events).",
			m.WorkflowTasks, m.ActivityTasks, m.Events, m.Markers, bare.WorkflowTasks, bare.ActivityTasks, bare.Events)
	}
	if c := last.CPU["e2e"]; c != nil {
		fmt.Fprintf(&b, " CPU ms per event, last run, mediaflow: %s; bare: %s.", cpuBreakdown(c), cpuBreakdown(last.CPU["bare"]))
	}
	if last.Receiver != nil {
		fmt.Fprintf(&b, " The receiver served %d downloads and took %d notifications in the last run.", last.Receiver.Media, last.Receiver.Notify)
	}
	b.WriteString("\n")
	return b.String()
}

func cpuTotal(rep *load.Report, phase string) float64 {
	if rep.CPU == nil || rep.CPU[phase] == nil {
		return 0
	}
	return rep.CPU[phase].PerEvent["total"]
}

func cpuBreakdown(c *load.CPUReport) string {
	if c == nil {
		return "—"
	}
	var names []string
	for n := range c.PerEvent {
		if n != "total" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f", n, c.PerEvent[n]))
	}
	return strings.Join(parts, ", ")
}

func (r *results) sweepTable(rep *load.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s`\n\n| offered/s | answered/s | p50 ms | p90 ms | p99 ms | codes | |\n|---:|---:|---:|---:|---:|---|---|\n", r.command("sweep"))
	for _, pt := range rep.Sweep {
		mark := ""
		if pt.Saturated {
			mark = "saturated"
		}
		fmt.Fprintf(&b, "| %g | %.1f | %.1f | %.1f | %.1f | %s | %s |\n", pt.Offered, pt.HTTP.Rate, pt.HTTP.Latency.P50, pt.HTTP.Latency.P90,
			pt.HTTP.Latency.P99, codes(pt.HTTP.Codes), mark)
	}
	return b.String()
}

func (r *results) sizeTable(reps []*load.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s`\n\n| body | events | webhooks/s | ack p50 ms | ack p99 ms | completed/s | closed | codes |\n|---:|---:|---:|---:|---:|---:|---|---|\n", r.command("size"))
	for _, rep := range reps {
		rate, closed := "—", "—"
		if rep.E2E != nil {
			rate = fmt.Sprintf("%.1f", rep.E2E.Rate)
			closed = fmt.Sprintf("%d/%d %s", rep.E2E.Closed, rep.E2E.Started, statuses(rep.E2E.Statuses))
		}
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f | %.1f | %s | %s | %s |\n", humanBytes(rep.BodyBytes), rep.HTTP.Requests, rep.HTTP.Rate,
			rep.HTTP.Latency.P50, rep.HTTP.Latency.P99, rate, closed, codes(rep.HTTP.Codes))
	}
	if note := r.Env["sizes"]; note != "" {
		fmt.Fprintf(&b, "\n%s\n", note)
	}
	return b.String()
}

func (r *results) rssTable(rep *load.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s`\n\n", r.command("rss"))
	if s := rep.Server; s != nil {
		verdict := "under"
		if s.RSSMiB >= 64 {
			verdict = "**over**"
		}
		fmt.Fprintf(&b, "Server RSS %.1f MiB at the start, **%.1f MiB after %d events** (%s the 64 MiB goal), peak %.1f MiB.", s.StartRSSMiB, s.RSSMiB,
			rep.HTTP.Requests, verdict, s.PeakMiB)
	}
	var worker, peak float64
	for _, s := range rep.RSS {
		if v, ok := s.RSSMiB["worker"]; ok {
			worker, peak = v, max(peak, v)
		}
	}
	if worker > 0 {
		fmt.Fprintf(&b, " Worker %.1f MiB at the end, at most %.1f MiB while sampled.", worker, peak)
	}
	if rep.E2E != nil {
		fmt.Fprintf(&b, " %d/%d workflows completed at %.1f/s.", rep.E2E.Closed, rep.E2E.Started, rep.E2E.Rate)
	}
	b.WriteString("\n")
	return b.String()
}

func humanBytes(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.3g MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.3g KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func codes(m map[string]int) string { return load.JoinCounts(m, "%[2]d×%[1]s", ", ") }

func statuses(m map[string]int) string { return load.JoinCounts(m, "%s %d", ", ") }

// replaceBlocks rewrites each "<!-- bench:NAME -->…<!-- /bench:NAME -->"
// of doc whose NAME is in blocks. Every name must have its block.
func replaceBlocks(doc string, blocks map[string]string) (string, error) {
	names := make([]string, 0, len(blocks))
	for n := range blocks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		open, close := "<!-- bench:"+n+" -->", "<!-- /bench:"+n+" -->"
		i := strings.Index(doc, open)
		j := strings.Index(doc, close)
		if i < 0 || j < i {
			return "", fmt.Errorf("no block %s … %s", open, close)
		}
		doc = doc[:i+len(open)] + "\n" + strings.TrimRight(blocks[n], "\n") + "\n" + doc[j:]
	}
	return doc, nil
}
