package e2e

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/logtest"
)

// TestWorkerRoutesItselfAfterATemporalOutage: Temporal stops answering
// (frozen, as behind a network partition) just as a worker starts polling,
// for longer than one call of the Temporal client waits (10 s), then
// answers again. The worker, with the shipped WORKER_VERSIONING (auto, a
// deployment without a current version), still makes its build current
// once Temporal is back, and an event the server acknowledges is handled.
// Before, the worker gave up routing at the first failed call, logged it
// once and went on polling a version no event was routed to: every event
// was acknowledged, then waited, forever.
func TestWorkerRoutesItselfAfterATemporalOutage(t *testing.T) {
	t.Parallel()
	path, err := temporalCLI()
	require.NoError(t, err)
	port := freePort(t)
	hostPort := "127.0.0.1:" + port
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", port, "--headless", "--log-level", "error",
		"--ui-port", freePort(t), "--metrics-port", freePort(t), "--http-port", freePort(t)}
	for _, k := range searchAttributes {
		args = append(args, "--search-attribute", k.GetName()+"=Keyword")
	}
	temporal := exec.Command(path, args...)
	temporal.Stderr = os.Stderr
	require.NoError(t, temporal.Start())
	defer func() {
		temporal.Process.Signal(syscall.SIGCONT)
		temporal.Process.Kill()
		temporal.Wait()
	}()
	require.Eventually(t, func() bool { return checkTemporal(hostPort) == nil }, time.Minute, 250*time.Millisecond)

	env := config.Environ{
		"ANIMUS_WEBHOOK_SECRET": secret, "HTTP_ADDR": "127.0.0.1:0", "WORKER_METRICS_ADDR": "off",
		"TEMPORAL_ADDRESS": hostPort, "TEMPORAL_NAMESPACE": namespace,
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"), "TEMPORAL_TASK_QUEUE": "e2e-" + rand.Text(),
		"DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"), "BLOB_URL": "file://" + t.TempDir(),
		"WORKER_DEPLOYMENT_NAME": "e2e-outage-" + rand.Text(),
	}
	wcfg, err := config.LoadWorker(env)
	require.NoError(t, err)
	require.Equal(t, config.VersioningAuto, wcfg.Versioning, "the shipped default")
	workerLog := &logtest.Buffer{}
	ctx, stop := context.WithCancel(context.Background())
	w, err := app.NewWorker(ctx, wcfg, app.Options{Logger: slog.New(slog.NewTextHandler(workerLog, nil))})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		stop()
		require.NoError(t, <-done)
		w.Close()
	}()

	// Frozen as the worker starts polling its task queue, before its first
	// poll has made the version known; back after 15 s.
	require.Eventually(t, func() bool {
		return strings.Contains(workerLog.String(), `msg="Started Worker" Namespace=default TaskQueue=`+wcfg.TaskQueue+" ")
	}, 30*time.Second, time.Millisecond)
	require.NoError(t, temporal.Process.Signal(syscall.SIGSTOP))
	time.Sleep(15 * time.Second)
	require.NoError(t, temporal.Process.Signal(syscall.SIGCONT))

	// The build becomes current once Temporal answers again (its pollers'
	// calls, cut by the freeze, are back within their 70 s).
	h := w.Client.WorkerDeploymentClient().GetHandle(wcfg.DeploymentName)
	require.Eventually(t, func() bool {
		d, err := h.Describe(context.Background(), client.WorkerDeploymentDescribeOptions{})
		return err == nil && d.Info.RoutingConfig.CurrentVersion != nil
	}, 2*time.Minute, time.Second, "the build never became current; worker log:\n%s", workerLog)

	base := "http://" + serveOnly(t, env, slog.New(slog.DiscardHandler)).Addr()
	require.Eventually(t, func() bool { code, _ := readyz(t, base); return code == 200 }, 30*time.Second, 250*time.Millisecond)
	id := newEventID()
	got := deliver(t, base+httpapi.WebhookPath, id, sample(t, "success"), secret)
	require.Equal(t, "started", got.body["status"], "%v", got.body)
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.Client.GetWorkflow(wctx, id, "").Get(wctx, nil),
		"an acknowledged event is handled once Temporal is back; worker log:\n%s", workerLog)
}

// TestStoppingWorkerTakesNoNewNotice: a worker told to stop (SIGTERM)
// while a download runs lets that download finish (up to 30 s) but takes
// no new work meanwhile, on either of its task queues. A notice that was
// waiting (deliveries paused) and is released just after the stop goes
// to the next worker, not to the stopping one, which would otherwise
// start a POST that the end of its grace period can cut (docs:
// production.md, "Stopping is graceful"). Before, the delivery task
// queue's worker was stopped only after the event task queue's had
// drained: it took the notice, and a stop could last 30 s + a notice's.
func TestStoppingWorkerTakesNoNewNotice(t *testing.T) {
	t.Parallel()
	mediaURL, slowAsked, free := heldMedia(t)
	var posts atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	env := config.Environ{
		"ANIMUS_WEBHOOK_SECRET": secret, "HTTP_ADDR": "127.0.0.1:0", "WORKER_METRICS_ADDR": "off",
		"TEMPORAL_ADDRESS": temporalAddress, "TEMPORAL_NAMESPACE": namespace,
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"), "TEMPORAL_TASK_QUEUE": "e2e-" + rand.Text(),
		"DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"), "BLOB_URL": "file://" + t.TempDir(),
		"WORKER_DEPLOYMENT_NAME": deployment, "MEDIA_DIR": t.TempDir(), "MEDIA_ALLOWED_HOSTS": "127.0.0.1",
		"NOTIFY_URL": receiver.URL,
	}
	wcfg, err := config.LoadWorker(env)
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	w, err := app.NewWorker(ctx, wcfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer w.Close()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer stop()
	url := "http://" + serveOnly(t, env, slog.New(slog.DiscardHandler)).Addr() + httpapi.WebhookPath
	ccfg, err := config.LoadControl(env)
	require.NoError(t, err)
	ctl, err := app.NewControl(context.Background(), ccfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer ctl.Close()

	require.NoError(t, ctl.PauseDeliveries(context.Background(), "held for the test"))
	waiting, downloading := newEventID(), newEventID()
	got := deliver(t, url, waiting, eventFor("job-"+rand.Text(), "completed", mediaURL+"/clip.mp4"), secret)
	require.Equal(t, "started", got.body["status"], "%v", got.body)
	got = deliver(t, url, downloading, eventFor("job-"+rand.Text(), "completed", mediaURL+"/slow.mp4"), secret)
	require.Equal(t, "started", got.body["status"], "%v", got.body)
	require.Eventually(t, func() bool {
		st, err := ctl.DeliveryStatus(context.Background())
		require.NoError(t, err)
		return st.Backlog == 1 && slowAsked()
	}, 2*time.Minute, 200*time.Millisecond, "a notice waits and a download runs")

	stop() // SIGTERM
	require.NoError(t, ctl.ResumeDeliveries(context.Background(), ""))
	require.NoError(t, <-done)
	require.Zero(t, posts.Load(), "the stopping worker took a notice after it was told to stop")

	// The next worker delivers it, and finishes the download.
	free()
	next, err := app.NewWorker(context.Background(), wcfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer next.Close()
	nctx, nstop := context.WithCancel(context.Background())
	ndone := make(chan error, 1)
	go func() { ndone <- next.Run(nctx) }()
	defer func() {
		nstop()
		require.NoError(t, <-ndone)
	}()
	for _, id := range []string{waiting, downloading} {
		wctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		require.NoError(t, next.Client.GetWorkflow(wctx, id, "").Get(wctx, nil), "event %s", id)
		cancel()
	}
	require.EqualValues(t, 2, posts.Load(), "each notice once")
}
