package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/httpapi"
)

// alertsFile is the alerting rules operators deploy.
const alertsFile = "../deploy/prometheus/alerts.yml"

// TestAlertsOnWhatTheProgramsExport runs a few events through the real
// server and worker (a completed job whose notice fails once, a failed
// job, an unknown status that fails its workflow, a job watch that passes
// its deadline) and scrapes both programs' GET /metrics. Every metric an
// alert reads must be one they export; then promtool evaluates the
// alerts on those series, as if the same happened every minute, and
// exactly the alerts for these situations fire.
func TestAlertsOnWhatTheProgramsExport(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed (apt-get install prometheus)")
		}
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		key := r.Header.Get("Idempotency-Key")
		if !seen[key] {
			seen[key] = true
			w.WriteHeader(http.StatusBadGateway) // each notice's first attempt
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer notify.Close()
	a := newApp(t, func(c *appConfig) {
		c.env["NOTIFY_URL"] = notify.URL
		// Each notice's first attempt is a local activity, in the workflow task.
		c.env["NOTIFY_MAX_PER_SECOND"] = "off"
	})

	okID, badID, oddID := newEventID(), newEventID(), newEventID()
	require.Equal(t, "started", deliver(t, a.url, okID, sample(t, "success"), secret).body["status"])
	require.Equal(t, "started", deliver(t, a.url, badID, sample(t, "failure"), secret).body["status"])
	odd := []byte(`{"event_type":"media.completed","data":{"job_id":"job-odd-` + oddID + `","status":"PROCESSING"}}`)
	require.Equal(t, "started", deliver(t, a.url, oddID, odd, secret).body["status"])
	jobID := "job-late-" + rand.Text()
	watch, err := a.client.ExecuteWorkflow(context.Background(), mediaflow.WatchStartOptions(a.taskQueue, jobID),
		mediaflow.WatchWorkflowType, mediaflow.WatchInput{JobID: jobID, Deadline: "1s", Grace: "1s"})
	require.NoError(t, err)
	_, err = a.result(t, okID)
	require.NoError(t, err)
	_, err = a.result(t, badID)
	require.NoError(t, err)
	_, err = a.result(t, oddID)
	require.Error(t, err)
	var watched mediaflow.WatchResult
	require.NoError(t, watch.Get(context.Background(), &watched))
	require.Equal(t, mediaflow.WatchExpired, watched.State)
	// The worker counts a workflow's end just after Temporal has it.
	require.Eventually(t, func() bool {
		return sum(t, a.workerReg, "temporal_workflow_failed_total", nil) == 1 &&
			sum(t, a.workerReg, "temporal_workflow_completed_total", map[string]string{"workflow_type": mediaflow.WatchWorkflowType}) == 1
	}, alertWait, pollEvery)

	server := scrape(t, strings.TrimSuffix(a.url, httpapi.WebhookPath)+"/metrics")
	worker := scrape(t, a.metricsURL)
	exported := map[string]bool{"up": true}
	for _, f := range append(slices.Clone(server), worker...) {
		for _, s := range seriesOf(f) {
			exported[s.name] = true
		}
	}
	rules := alertRules(t)
	for name, expr := range rules {
		for _, metric := range metricName.FindAllString(expr, -1) {
			require.True(t, exported[metric], "alert %s reads %s, which neither program exports", name, metric)
		}
	}

	firing := []string{"MediaflowActivitiesFailing", "MediaflowAnimusJobsFailed", "MediaflowJobWatchOverdue", "MediaflowWorkflowsFailed"}
	out := promtoolTest(t, promtool, map[string][]*dto.MetricFamily{"mediaflow-server": server, "mediaflow-worker": worker}, firing)
	t.Logf("promtool: %s", out)
}

// alertWait and pollEvery bound the wait for the worker's own counters.
const (
	alertWait = 10 * time.Second
	pollEvery = 100 * time.Millisecond
)

// metricName finds the metrics an alert expression reads.
var metricName = regexp.MustCompile(`\b(?:mediaflow|temporal)_[a-z0-9_]+\b`)

// alertRules reads alertsFile: each alert's expression by name.
func alertRules(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	require.NoError(t, err)
	var doc struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	require.NoError(t, yaml.Unmarshal(b, &doc))
	rules := map[string]string{}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			rules[r.Alert] = r.Expr
		}
	}
	require.NotEmpty(t, rules)
	return rules
}

// scrape reads a program's GET /metrics as Prometheus does.
func scrape(t *testing.T, url string) []*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err)
	var out []*dto.MetricFamily
	for _, name := range slices.Sorted(maps.Keys(families)) {
		out = append(out, families[name])
	}
	return out
}

// series is one scraped sample: its name, labels and value, and whether
// it only goes up.
type series struct {
	name    string
	labels  map[string]string
	value   float64
	counter bool
}

// seriesOf flattens a family into its series (a histogram into its
// buckets, count and sum).
func seriesOf(f *dto.MetricFamily) []series {
	var out []series
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		switch {
		case m.GetCounter() != nil:
			out = append(out, series{f.GetName(), labels, m.GetCounter().GetValue(), true})
		case m.GetGauge() != nil:
			out = append(out, series{f.GetName(), labels, m.GetGauge().GetValue(), false})
		case m.GetHistogram() != nil:
			h := m.GetHistogram()
			for _, b := range h.GetBucket() {
				l := maps.Clone(labels)
				l["le"] = fmt.Sprint(b.GetUpperBound())
				out = append(out, series{f.GetName() + "_bucket", l, float64(b.GetCumulativeCount()), true})
			}
			inf := maps.Clone(labels)
			inf["le"] = "+Inf"
			out = append(out,
				series{f.GetName() + "_bucket", inf, float64(h.GetSampleCount()), true},
				series{f.GetName() + "_count", labels, float64(h.GetSampleCount()), true},
				series{f.GetName() + "_sum", labels, h.GetSampleSum(), true})
		}
	}
	return out
}

// promtoolTest writes a promtool unit test whose input is the scraped
// series of each job, repeated every minute for an hour (a counter grows
// by its scraped value each minute, a gauge keeps it), runs it, and
// checks that at 40 minutes exactly the alerts firing fire.
func promtoolTest(t *testing.T, promtool string, jobs map[string][]*dto.MetricFamily, firing []string) string {
	t.Helper()
	rules, err := filepath.Abs(alertsFile)
	require.NoError(t, err)
	var input []map[string]string
	for _, job := range slices.Sorted(maps.Keys(jobs)) {
		input = append(input, map[string]string{"series": fmt.Sprintf(`up{job=%q,instance="test"}`, job), "values": "1x60"})
		for _, f := range jobs[job] {
			if !strings.HasPrefix(f.GetName(), "mediaflow_") && !strings.HasPrefix(f.GetName(), "temporal_") {
				continue
			}
			for _, s := range seriesOf(f) {
				s.labels["job"], s.labels["instance"] = job, "test"
				var pairs []string
				for _, k := range slices.Sorted(maps.Keys(s.labels)) {
					pairs = append(pairs, fmt.Sprintf("%s=%q", k, s.labels[k]))
				}
				values := fmt.Sprintf("%gx60", s.value)
				if s.counter {
					values = fmt.Sprintf("0+%gx60", s.value)
				}
				input = append(input, map[string]string{"series": s.name + "{" + strings.Join(pairs, ",") + "}", "values": values})
			}
		}
	}
	var want []map[string]any
	for _, name := range firing {
		want = append(want, map[string]any{"labels": fmt.Sprintf(`{alertname=%q}`, name), "value": 1})
	}
	test := map[string]any{
		"rule_files":          []string{rules},
		"evaluation_interval": "1m",
		"tests": []map[string]any{{
			"interval":     "1m",
			"input_series": input,
			"promql_expr_test": []map[string]any{{
				"expr":        `count by (alertname) (ALERTS{alertstate="firing"})`,
				"eval_time":   "40m",
				"exp_samples": want,
			}},
		}},
	}
	b, err := yaml.Marshal(test)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "alerts_test.yml")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	out, err := exec.Command(promtool, "test", "rules", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// TestRerunCountsNoNewJob: an event whose workflow failed after its job
// was recorded (the notice refused with a 400) is resent and runs again
// (answered started). It is the same event of the same job:
// mediaflow_jobs_total counts it once, so a re-run of failed workflows
// does not look like new jobs (nor, for failed jobs, fire
// MediaflowAnimusJobsFailed again).
func TestRerunCountsNoNewJob(t *testing.T) {
	var refuse sync.Once
	notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		status := http.StatusOK
		refuse.Do(func() { status = http.StatusBadRequest }) // non-retryable: the first run fails
		w.WriteHeader(status)
	}))
	defer notify.Close()
	a := newApp(t, func(c *appConfig) { c.env["NOTIFY_URL"] = notify.URL })
	id := newEventID()
	body := sample(t, "success")
	require.Equal(t, "started", deliver(t, a.url, id, body, secret).body["status"])
	_, err := a.result(t, id)
	require.Error(t, err, "the notice refused for good")
	require.Equal(t, "started", deliver(t, a.url, id, body, secret).body["status"], "a failed event runs again")
	_, err = a.result(t, id)
	require.NoError(t, err)
	require.Equal(t, 1.0, sum(t, a.workerReg, "mediaflow_jobs_total", map[string]string{"status": "completed"}))
}
