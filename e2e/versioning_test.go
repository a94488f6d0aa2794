package e2e

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/workflows"
)

// stamp is the step that build v2 adds: it only says it ran.
func stamp(config.Environ) (workflows.Step, error) {
	return workflows.Step{Name: "stamp", After: workflows.AfterRecord,
		Run: func(context.Context, workflows.StepInput) (mediaflow.StepResult, error) {
			return mediaflow.StepResult{Detail: "v2 was here"}, nil
		}}, nil
}

// TestTwoBuildsUnderRunningTraffic is a rollout with Worker Versioning on
// a real server, two builds of one code base: v1 without a step, v2 with
// one (stamp). v1, started alone, makes itself current (WORKER_VERSIONING's
// default). An event held mid-run on v1 (a slow download) finishes on v1
// after v2 becomes current, without a non-determinism error; new events
// run v2's step; with v1 current and v2 ramping at 50%, new events split
// between both; the rollback (v1 current, no ramp) sends them all to v1.
func TestTwoBuildsUnderRunningTraffic(t *testing.T) {
	t.Parallel()
	mediaURL, slowAsked, release := heldMedia(t)
	dep := "e2e-builds-" + rand.Text()
	a := newApp(t, func(c *appConfig) {
		c.env["WORKER_DEPLOYMENT_NAME"] = dep
		c.env["MEDIA_DIR"], c.env["MEDIA_ALLOWED_HOSTS"] = t.TempDir(), "127.0.0.1"
		c.workerEnv["WORKER_BUILD_ID"] = "v1"
	})
	ctx := context.Background()
	h := a.client.WorkerDeploymentClient().GetHandle(dep)
	waitRouting(t, a, dep, "v1", "", 0)

	held := newEventID()
	require.Equal(t, "started", deliver(t, a.url, held, eventFor("job-held-"+held, "completed", mediaURL+"/slow.mp4"), secret).body["status"])
	require.Eventually(t, slowAsked, 20*time.Second, 50*time.Millisecond, "the held event's download started")

	a.addWorker(t, config.Environ{"WORKER_BUILD_ID": "v2", "WORKER_VERSIONING": "manual"}, stamp)
	route(t, h, func(d client.WorkerDeploymentDescribeResponse) error {
		_, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "v2", ConflictToken: d.ConflictToken})
		return err
	})
	waitRouting(t, a, dep, "v2", "", 0)
	for range 3 {
		require.Equal(t, "v2", a.buildOf(t, a.send(t, mediaURL)), "new events run on the current build, v2")
	}

	// Findable by build, as docs/production.md's "watch" step lists them.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := a.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: `TemporalWorkerDeploymentVersion="` + dep + `:v2"`})
		if assert.NoError(c, err) {
			assert.EqualValues(c, 3, resp.GetCount())
		}
	}, 10*time.Second, 200*time.Millisecond)

	release()
	res, err := a.resultWithin(t, held, time.Minute)
	require.NoError(t, err, "the held event finishes")
	require.NotContains(t, stepNames(res), "stamp", "on the build it started on")
	require.Equal(t, "v1", a.buildOf(t, held))
	require.Zero(t, workflowTaskFailures(t, a, held), "no non-determinism error, nor any other")

	// v1 current, v2 ramping at 50%: new events split between both.
	route(t, h, func(d client.WorkerDeploymentDescribeResponse) error {
		_, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: "v1", ConflictToken: d.ConflictToken})
		return err
	})
	route(t, h, func(d client.WorkerDeploymentDescribeResponse) error {
		_, err := h.SetRampingVersion(ctx, client.WorkerDeploymentSetRampingVersionOptions{BuildID: "v2", Percentage: 50, ConflictToken: d.ConflictToken})
		return err
	})
	waitRouting(t, a, dep, "v1", "v2", 50)
	builds := map[string]int{}
	for range 20 {
		builds[a.buildOf(t, a.send(t, mediaURL))]++
	}
	t.Logf("20 events at a 50%% ramp: %v", builds)
	require.Positive(t, builds["v1"])
	require.Positive(t, builds["v2"])

	// The rollback: no ramp, v1 current.
	route(t, h, func(d client.WorkerDeploymentDescribeResponse) error {
		_, err := h.SetRampingVersion(ctx, client.WorkerDeploymentSetRampingVersionOptions{BuildID: "", Percentage: 0, ConflictToken: d.ConflictToken})
		return err
	})
	waitRouting(t, a, dep, "v1", "", 0)
	for range 5 {
		require.Equal(t, "v1", a.buildOf(t, a.send(t, mediaURL)), "after the rollback")
	}
}

// send delivers an event with media from mediaURL and waits for its
// workflow to complete; it returns the event ID.
func (a *testApp) send(t *testing.T, mediaURL string) string {
	t.Helper()
	id := newEventID()
	require.Equal(t, "started", deliver(t, a.url, id, eventFor("job-"+id, "completed", mediaURL+"/clip.mp4"), secret).body["status"])
	_, err := a.resultWithin(t, id, time.Minute)
	require.NoError(t, err)
	return id
}

// buildOf returns the build ID that event id's workflow is pinned to, as
// Temporal says, checked against its result: v2's runs have its step.
func (a *testApp) buildOf(t *testing.T, id string) string {
	t.Helper()
	d, err := a.client.DescribeWorkflowExecution(context.Background(), id, "")
	require.NoError(t, err)
	build := d.GetWorkflowExecutionInfo().GetVersioningInfo().GetDeploymentVersion().GetBuildId()
	res, err := a.result(t, id)
	require.NoError(t, err)
	require.Equal(t, build == "v2", slices.Contains(stepNames(res), "stamp"), "build %s, steps %v", build, stepNames(res))
	return build
}

func stepNames(res mediaflow.MediaCompletedResult) []string {
	var names []string
	for _, s := range res.Steps {
		names = append(names, s.Step)
	}
	return names
}

// workflowTaskFailures counts the failed workflow tasks in event id's
// history.
func workflowTaskFailures(t *testing.T, a *testApp, id string) int {
	t.Helper()
	n := 0
	iter := a.client.GetWorkflowHistory(context.Background(), id, "", false, 0)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if ev.GetWorkflowTaskFailedEventAttributes() != nil {
			n++
		}
	}
	return n
}

// route applies a routing change made from the deployment's description,
// again while it conflicts (the version's task queues not all polled yet,
// a change of another's in between).
func route(t *testing.T, h client.WorkerDeploymentHandle, change func(client.WorkerDeploymentDescribeResponse) error) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		d, err := h.Describe(context.Background(), client.WorkerDeploymentDescribeOptions{})
		if !assert.NoError(c, err) {
			return
		}
		err = change(d)
		var precondition *serviceerror.FailedPrecondition
		if errors.As(err, &precondition) {
			assert.Fail(c, "conflict", "%v", err)
			return
		}
		assert.NoError(c, err)
	}, 30*time.Second, 250*time.Millisecond)
}

// waitRouting waits until deployment dep routes to current (and ramping at
// percent), and the change reached its task queues (on Temporal 1.31
// routing changes apply asynchronously; 1.29 says nothing: synchronous).
func waitRouting(t *testing.T, a *testApp, dep, current, ramping string, percent float32) {
	t.Helper()
	h := a.client.WorkerDeploymentClient().GetHandle(dep)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		raw, err := a.client.WorkflowService().DescribeWorkerDeployment(context.Background(),
			&workflowservice.DescribeWorkerDeploymentRequest{Namespace: namespace, DeploymentName: dep})
		if !assert.NoError(c, err) {
			return
		}
		assert.NotEqual(c, enumspb.ROUTING_CONFIG_UPDATE_STATE_IN_PROGRESS, raw.GetWorkerDeploymentInfo().GetRoutingConfigUpdateState())
		d, err := h.Describe(context.Background(), client.WorkerDeploymentDescribeOptions{})
		if !assert.NoError(c, err) {
			return
		}
		r := d.Info.RoutingConfig
		if assert.NotNil(c, r.CurrentVersion) {
			assert.Equal(c, current, r.CurrentVersion.BuildID)
		}
		if ramping == "" {
			assert.True(c, r.RampingVersion == nil || r.RampingVersionPercentage == 0, "no ramp: %+v", r)
			return
		}
		if assert.NotNil(c, r.RampingVersion) {
			assert.Equal(c, ramping, r.RampingVersion.BuildID)
			assert.Equal(c, percent, r.RampingVersionPercentage)
		}
	}, 30*time.Second, 250*time.Millisecond)
}

var _ app.StepFunc = stamp
