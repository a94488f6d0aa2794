package e2e

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
