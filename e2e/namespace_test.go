package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/logtest"
	"github.com/mediaflow/mediaflow/internal/searchattr"
)

// TestNamespaceWithoutASearchAttribute: against a namespace that lacks
// AnimusWatchState (as one does after an upgrade that added it), the
// worker does not start: one line names the attribute and the command
// that registers it. The server starts, logs that line, and answers
// GET /readyz 503 with it while it keeps answering webhooks; once the
// attribute is registered, /readyz is 200 and the worker starts. Should
// the attribute go missing under a running worker, each job watch's
// failing workflow task is logged at WARN, not the SDK's INFO.
func TestNamespaceWithoutASearchAttribute(t *testing.T) {
	t.Parallel()
	path, err := temporalCLI()
	require.NoError(t, err)
	dev, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:  path,
		ClientOptions: &client.Options{Namespace: namespace},
		LogLevel:      "error",
		SearchAttributes: temporal.NewSearchAttributes(
			mediaflow.SearchAttrJobID.ValueSet(""), mediaflow.SearchAttrJobStatus.ValueSet("")),
	})
	require.NoError(t, err)
	defer dev.Stop()
	env := config.Environ{
		"ANIMUS_WEBHOOK_SECRET": secret, "HTTP_ADDR": "127.0.0.1:0", "WORKER_METRICS_ADDR": "off",
		"TEMPORAL_ADDRESS": dev.FrontendHostPort(), "TEMPORAL_NAMESPACE": namespace,
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"), "TEMPORAL_TASK_QUEUE": "e2e-" + rand.Text(),
		"DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"), "BLOB_URL": "file://" + t.TempDir(),
	}
	const line = `namespace "default" lacks the search attribute AnimusWatchState (Keyword) that mediaflow writes: ` +
		`register it with temporal operator search-attribute create --namespace default --name AnimusWatchState --type Keyword`

	wcfg, err := config.LoadWorker(env)
	require.NoError(t, err)
	_, err = app.NewWorker(context.Background(), wcfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	var lack *searchattr.LackError
	require.True(t, errors.As(err, &lack), "got %v", err)
	require.Equal(t, line, err.Error(), "one line: the attribute and the command")

	serverLog := &logtest.Buffer{}
	base := "http://" + serveOnly(t, env, slog.New(slog.NewTextHandler(serverLog, nil))).Addr()
	require.Eventually(t, func() bool {
		return strings.Contains(serverLog.String(), "level=ERROR msg=\"namespace not ready: "+strings.ReplaceAll(line, `"`, `\"`)+"\"")
	}, 30*time.Second, 100*time.Millisecond, "said at start:\n%s", serverLog)
	code, body := readyz(t, base)
	require.Equal(t, 503, code)
	require.Equal(t, line, body["error"])
	// The webhook is answered as ever: a media.completed start does not
	// set the missing attribute.
	got := deliver(t, base+httpapi.WebhookPath, newEventID(), sample(t, "success"), secret)
	require.Equal(t, "started", got.body["status"], "%v", got.body)

	// The operator runs the command.
	ctx := context.Background()
	_, err = dev.Client().OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: map[string]enumspb.IndexedValueType{mediaflow.SearchAttrWatchState.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	})
	require.NoError(t, err)
	require.Eventually(t, func() bool { code, _ := readyz(t, base); return code == 200 }, 30*time.Second, 250*time.Millisecond)
	workerLog := &logtest.Buffer{}
	w, err := app.NewWorker(ctx, wcfg, app.Options{Logger: slog.New(slog.NewTextHandler(workerLog, nil))})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	defer func() {
		stop()
		require.NoError(t, <-done)
		w.Close()
	}()

	// Gone again under the running worker: a watch's first workflow task
	// sets AnimusWatchState, and Temporal refuses it, each attempt.
	_, err = dev.Client().OperatorService().RemoveSearchAttributes(ctx, &operatorservice.RemoveSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: []string{mediaflow.SearchAttrWatchState.GetName()},
	})
	require.NoError(t, err)
	require.Eventually(t, func() bool { code, _ := readyz(t, base); return code == 503 }, 30*time.Second, 250*time.Millisecond)
	jobID := "job-unwatchable-" + rand.Text()
	_, err = w.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: mediaflow.WatchID(jobID), TaskQueue: wcfg.TaskQueue},
		mediaflow.WatchWorkflowType, mediaflow.WatchInput{JobID: jobID})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return strings.Contains(workerLog.String(), `level=WARN msg="Task processing failed with error"`)
	}, 30*time.Second, 250*time.Millisecond, "the failing task is a warning:\n%s", workerLog)
	require.NotContains(t, workerLog.String(), `level=INFO msg="Task processing failed`)
}

// serveOnly runs the server alone, built from env by internal/app as
// cmd/server builds it, logging to logger, until the test ends.
func serveOnly(t *testing.T, env config.Environ, logger *slog.Logger) *app.Server {
	t.Helper()
	cfg, err := config.LoadServer(maps.Clone(env))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := app.NewServer(ctx, cfg, app.Options{Logger: logger})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		s.Close()
	})
	return s
}

// readyz returns GET /readyz's code and body.
func readyz(t *testing.T, base string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}
