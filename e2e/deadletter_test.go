package e2e

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/app"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/deadletter"
	"github.com/mediaflow/mediaflow/internal/ingest"
)

// TestRejectedEventIsKeptAndRedriven: against a Temporal whose namespace
// lacks mediaflow's search attributes, every start is refused
// (InvalidArgument) whatever the retries. Such an event is answered 422,
// counted as rejected and kept as a dead letter; once the attributes are
// registered, mediaflowctl's Redrive starts it and it completes. An event
// that Svix delivers again after the fix just starts; its dead letter is
// then obsolete, and Redrive, finding a duplicate, removes it.
func TestRejectedEventIsKeptAndRedriven(t *testing.T) {
	path, err := temporalCLI()
	require.NoError(t, err)
	bare, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:  path,
		ClientOptions: &client.Options{Namespace: "default"},
		LogLevel:      "error",
	})
	require.NoError(t, err)
	defer bare.Stop()
	a := newApp(t, func(c *appConfig) {
		c.env["TEMPORAL_ADDRESS"] = bare.FrontendHostPort()
		// The most Svix's 15 s allow: under -race on a busy machine, the
		// large event's start takes seconds.
		c.env["START_TIMEOUT"] = "10s"
	})

	// Large too: the letter keeps the body as sent, the redrive stores it.
	first, second := newEventID(), newEventID()
	bodies := map[string][]byte{first: sample(t, "success"), second: captionsEvent("job-rejected", 62_000)}
	for _, id := range []string{first, second} {
		got := deliver(t, a.url, id, bodies[id], secret)
		require.Equal(t, 422, got.code, "%v", got.body)
		require.Equal(t, "rejected", got.body["status"])
		require.Contains(t, got.body["reason"], "search attribute")
		require.Equal(t, deadletter.Key(id), got.body["dead_letter"])
	}
	require.Equal(t, 2.0, sum(t, a.serverReg, "mediaflow_webhook_requests_total", map[string]string{"outcome": string(ingest.Rejected)}))

	cfg, err := config.LoadControl(a.env)
	require.NoError(t, err)
	ctl, err := app.NewControl(context.Background(), cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer ctl.Close()
	ctx := context.Background()

	letters, err := ctl.DeadLetters.List(ctx)
	require.NoError(t, err)
	require.Len(t, letters, 2)
	l, err := ctl.DeadLetters.Get(ctx, second)
	require.NoError(t, err)
	require.Equal(t, bodies[second], l.Body, "the verified body, byte for byte")
	require.Equal(t, second, l.Headers.Get("svix-id"))
	require.Empty(t, l.Headers.Get("svix-signature"))
	require.Contains(t, l.Reason, "search attribute")

	// Not fixed yet: Redrive is refused too and keeps the letter.
	r, err := ctl.Redrive(ctx, first)
	require.NoError(t, err)
	require.Equal(t, ingest.Rejected, r.Outcome)
	_, err = ctl.DeadLetters.Get(ctx, first)
	require.NoError(t, err)

	// The operator's fix.
	_, err = bare.Client().OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: "default",
		SearchAttributes: map[string]enumspb.IndexedValueType{
			mediaflow.SearchAttrJobID.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			mediaflow.SearchAttrJobStatus.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		},
	})
	require.NoError(t, err)

	// Svix's next delivery of the first event starts it.
	require.Eventually(t, func() bool {
		return deliver(t, a.url, first, bodies[first], secret).body["status"] == "started"
	}, 30*time.Second, 500*time.Millisecond, "the search attributes take effect")
	_, err = a.result(t, first)
	require.NoError(t, err)

	// The large one is re-driven: same workflow ID, completes.
	r, err = ctl.Redrive(ctx, second)
	require.NoError(t, err)
	require.Equal(t, ingest.Started, r.Outcome, "%+v", r)
	res, err := a.result(t, second)
	require.NoError(t, err)
	require.Equal(t, mediaflow.JobCompleted, res.Status)
	desc, err := a.client.DescribeWorkflow(ctx, second, "")
	require.NoError(t, err)
	require.Equal(t, r.RunID, desc.WorkflowExecution.RunID)
	_, err = ctl.DeadLetters.Get(ctx, second)
	require.ErrorIs(t, err, deadletter.ErrNotFound, "a handled event's letter is removed")

	// The first one's letter is obsolete: a duplicate, removed.
	r, err = ctl.Redrive(ctx, first)
	require.NoError(t, err)
	require.Equal(t, ingest.Duplicate, r.Outcome)
	letters, err = ctl.DeadLetters.List(ctx)
	require.NoError(t, err)
	require.Empty(t, letters)
	_, err = ctl.Redrive(ctx, first)
	require.True(t, errors.Is(err, deadletter.ErrNotFound), "got %v", err)
}
