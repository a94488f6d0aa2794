package e2e

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/store"
	"github.com/mediaflow/mediaflow/workflows"
)

func TestSignedEventBecomesAJobRow(t *testing.T) {
	a := newApp(t)
	id := newEventID()
	got := deliver(t, a.url, id, sample(t, "success"), secret)
	require.Equal(t, 200, got.code, "%v", got.body)
	require.Equal(t, "started", got.body["status"])
	require.Equal(t, id, got.body["workflow_id"])
	require.NotEmpty(t, got.body["run_id"])

	res, err := a.result(t, id)
	require.NoError(t, err)
	require.Equal(t, mediaflow.JobCompleted, res.Status)

	row, err := a.store.Job(context.Background(), "7c0e6f2a-3b1d-4e8f-9a52-1d6c2b7e4f10")
	require.NoError(t, err)
	require.Equal(t, id, row.EventID)
	require.Equal(t, mediaflow.JobCompleted, row.Status)
	require.JSONEq(t, `{"customer_id": "cus_1042", "upload_id": 88213}`, string(row.CustomPayload))

	// Findable in the Temporal UI by its search attributes.
	desc, err := a.client.DescribeWorkflow(context.Background(), id, "")
	require.NoError(t, err)
	jobID, ok := desc.TypedSearchAttributes.GetKeyword(mediaflow.SearchAttrJobID)
	require.True(t, ok)
	require.Equal(t, row.JobID, jobID)

	// A redelivery after the run finished is a duplicate: no second run.
	again := deliver(t, a.url, id, sample(t, "success"), secret)
	require.Equal(t, 200, again.code)
	require.Equal(t, "duplicate", again.body["status"])
	require.Equal(t, got.body["run_id"], again.body["run_id"])
}

func TestFailedJobCompletesTheWorkflow(t *testing.T) {
	a := newApp(t)
	id := newEventID()
	got := deliver(t, a.url, id, sample(t, "failure"), secret)
	require.Equal(t, "started", got.body["status"])

	res, err := a.result(t, id)
	require.NoError(t, err, "a failed job is a job handled")
	require.Equal(t, mediaflow.JobFailed, res.Status)
	require.JSONEq(t, `"unsupported codec: could not decode video stream"`, string(res.Error))

	row, err := a.store.Job(context.Background(), "b91d2c44-0f6e-4a7b-8c3d-5e2f1a9b0c77")
	require.NoError(t, err)
	require.Equal(t, mediaflow.JobFailed, row.Status)

	desc, err := a.client.DescribeWorkflow(context.Background(), id, "")
	require.NoError(t, err)
	status, _ := desc.TypedSearchAttributes.GetKeyword(mediaflow.SearchAttrJobStatus)
	require.Equal(t, "failed", status)
}

func TestUnknownStatusFailsTheWorkflowVisibly(t *testing.T) {
	a := newApp(t)
	id := newEventID()
	body := []byte(`{"event_type":"media.completed","data":{"job_id":"job-odd","status":"PROCESSING"}}`)
	require.Equal(t, "started", deliver(t, a.url, id, body, secret).body["status"])

	_, err := a.result(t, id)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "got %v", err)
	require.Equal(t, workflows.ErrTypeUnknownStatus, appErr.Type())
	_, err = a.store.Job(context.Background(), "job-odd")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestConcurrentDeliveriesStartOneRun(t *testing.T) {
	a := newApp(t)
	id := newEventID()
	body := sample(t, "uppercase")
	const n = 5
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { answers[i] = deliver(t, a.url, id, body, secret) })
	}
	wg.Wait()

	statuses := map[string]int{}
	runIDs := map[string]bool{}
	for _, ans := range answers {
		require.Equal(t, 200, ans.code, "%v", ans.body)
		statuses[ans.body["status"]]++
		runIDs[ans.body["run_id"]] = true
	}
	require.Equal(t, map[string]int{"started": 1, "duplicate": n - 1}, statuses)
	require.Len(t, runIDs, 1, "every answer names the same run")

	_, err := a.result(t, id)
	require.NoError(t, err)
	// Temporal itself knows of one execution with that ID.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := a.client.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
			Query: `WorkflowId = "` + id + `"`,
		})
		assert.NoError(c, err)
		assert.EqualValues(c, 1, resp.GetCount())
	}, 10*time.Second, 200*time.Millisecond)
	n2, err := a.store.CountJobs(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n2)
}

func TestBadSignatureStartsNothing(t *testing.T) {
	a := newApp(t)
	id := newEventID()
	got := deliver(t, a.url, id, sample(t, "success"), "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==")
	require.Equal(t, 401, got.code)
	require.Contains(t, got.body["error"], "no matching signature")

	_, err := a.client.DescribeWorkflow(context.Background(), id, "")
	var notFound *serviceerror.NotFound
	require.True(t, errors.As(err, &notFound), "got %v, want NotFound", err)
}

// TestReadyzFollowsTemporal starts the handler against an address where
// no Temporal runs yet: /readyz and the webhook answer 503; once a dev
// server comes up there, both work without a restart.
func TestReadyzFollowsTemporal(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hostPort := l.Addr().String()
	l.Close()

	cfg, err := config.LoadServer(config.Environ{
		"ANIMUS_WEBHOOK_SECRET": secret, "HTTP_ADDR": "127.0.0.1:0", "START_TIMEOUT": "2s",
		"TEMPORAL_ADDRESS": hostPort, "TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"),
		"TEMPORAL_TASK_QUEUE": "e2e-readyz", "BLOB_URL": "file://" + t.TempDir(),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := app.NewServer(ctx, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	go s.Run(ctx)
	defer s.Close()
	defer cancel()
	base := "http://" + s.Addr()

	readyz := func() int {
		resp, err := http.Get(base + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 503, readyz())
	down := deliver(t, base+httpapi.WebhookPath, newEventID(), sample(t, "success"), secret)
	require.Equal(t, 503, down.code)

	path, err := temporalCLI()
	require.NoError(t, err)
	second, err := startDevServer(path, hostPort)
	require.NoError(t, err)
	defer second.Stop()

	require.Eventually(t, func() bool { return readyz() == 200 }, 30*time.Second, 250*time.Millisecond)
	up := deliver(t, base+httpapi.WebhookPath, newEventID(), sample(t, "success"), secret)
	require.Equal(t, 200, up.code, "%v", up.body)
	require.Equal(t, "started", up.body["status"])
}
