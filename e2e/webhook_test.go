package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/internal/store"
	"github.com/mediaflow/mediaflow/internal/webhook"
	"github.com/mediaflow/mediaflow/workflows"
)

const secret = "whsec_ZTJlLXRlc3Qtc2VjcmV0LWZvci1tZWRpYWZsb3ctdGVzdHM="

// app is the whole service wired as cmd/server and cmd/worker wire it, on a
// task queue of its own.
type app struct {
	url    string // webhook URL
	client client.Client
	store  *store.Store
}

// appConfig is what a test may change: the activities' settings (Store is
// filled in), the workflow's options and the database.
type appConfig struct {
	acts        activities.Activities
	options     workflows.Options
	databaseURL string
}

func newApp(t *testing.T, configure ...func(*appConfig)) *app {
	t.Helper()
	ctx := context.Background()
	queue := "e2e-" + rand.Text()
	cfg := appConfig{
		options:     workflows.DefaultOptions(),
		databaseURL: "sqlite://" + filepath.Join(t.TempDir(), "jobs.db"),
	}
	for _, f := range configure {
		f(&cfg)
	}
	st, err := store.Open(ctx, cfg.databaseURL)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	cfg.acts.Store = st

	c := devServer.Client()
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w, workflows.Workflow{Options: cfg.options}, &cfg.acts)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	v, err := webhook.NewVerifier([]string{secret})
	require.NoError(t, err)
	api := &httpapi.Server{
		Verifier: v,
		Starter:  httpapi.TemporalStarter{Client: c, TaskQueue: queue},
		Ready:    func(ctx context.Context) error { _, err := c.CheckHealth(ctx, nil); return err },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return &app{url: srv.URL + httpapi.WebhookPath, client: c, store: st}
}

type answer struct {
	code int
	body map[string]string
}

// deliver sends body signed for event id as Svix does, over real HTTP.
func deliver(t *testing.T, url, id string, body []byte, sign string) answer {
	t.Helper()
	h, err := webhook.Sign(sign, id, time.Now(), body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var a answer
	a.code = resp.StatusCode
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a.body))
	return a
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := samples.Get(name)
	require.NoError(t, err)
	return b
}

func newEventID() string { return "msg_" + rand.Text() }

// result waits for the workflow of event id to close and returns its result.
func (a *app) result(t *testing.T, id string) (mediaflow.MediaCompletedResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res mediaflow.MediaCompletedResult
	err := a.client.GetWorkflow(ctx, id, "").Get(ctx, &res)
	return res, err
}

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
	require.Equal(t, mediaflow.PathSuccess, res.Path)

	row, err := a.store.Job(context.Background(), "7c0e6f2a-3b1d-4e8f-9a52-1d6c2b7e4f10")
	require.NoError(t, err)
	require.Equal(t, id, row.EventID)
	require.Equal(t, "completed", row.Status)
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
	require.Equal(t, mediaflow.PathFailure, res.Path)
	require.JSONEq(t, `"unsupported codec: could not decode video stream"`, string(res.Error))

	row, err := a.store.Job(context.Background(), "b91d2c44-0f6e-4a7b-8c3d-5e2f1a9b0c77")
	require.NoError(t, err)
	require.Equal(t, "failed", row.Status)

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

	c, err := client.NewLazyClient(client.Options{HostPort: hostPort})
	require.NoError(t, err)
	defer c.Close()
	v, _ := webhook.NewVerifier([]string{secret})
	api := &httpapi.Server{
		Verifier:     v,
		Starter:      httpapi.TemporalStarter{Client: c, TaskQueue: "e2e-readyz"},
		Ready:        func(ctx context.Context) error { _, err := c.CheckHealth(ctx, nil); return err },
		StartTimeout: 2 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()

	readyz := func() int {
		resp, err := http.Get(srv.URL + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 503, readyz())
	down := deliver(t, srv.URL+httpapi.WebhookPath, newEventID(), sample(t, "success"), secret)
	require.Equal(t, 503, down.code)

	path, err := temporalCLI()
	require.NoError(t, err)
	second, err := startDevServer(path, hostPort)
	require.NoError(t, err)
	defer second.Stop()

	require.Eventually(t, func() bool { return readyz() == 200 }, 30*time.Second, 250*time.Millisecond)
	up := deliver(t, srv.URL+httpapi.WebhookPath, newEventID(), sample(t, "success"), secret)
	require.Equal(t, 200, up.code, "%v", up.body)
	require.Equal(t, "started", up.body["status"])
}
