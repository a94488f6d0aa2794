package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"path/filepath"
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
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/ingest"
)

// TestRejectedEventIsKeptAndRedriven: against a Temporal whose namespace
// lacks mediaflow's search attributes, every start is refused
// (InvalidArgument) whatever the retries. Such an event is answered 422,
// counted as rejected and kept as a dead letter; the refusal is not final
// (no webhook-delivery: abort-message): registering the attributes fixes
// it. Once they are registered, mediaflowctl's Redrive starts it and it
// completes. An event that Svix delivers again after the fix just starts;
// its dead letter is then obsolete, and Redrive, finding a duplicate,
// removes it. The worker, which refuses such a namespace, starts after
// the fix.
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
	env := config.Environ{
		"ANIMUS_WEBHOOK_SECRET": secret, "HTTP_ADDR": "127.0.0.1:0", "TEMPORAL_ADDRESS": bare.FrontendHostPort(),
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"), "TEMPORAL_TASK_QUEUE": "e2e-" + rand.Text(),
		"BLOB_URL": "file://" + t.TempDir(),
		// The most Svix's 15 s allow: under -race on a busy machine, the
		// large event's start takes seconds.
		"START_TIMEOUT": "10s",
	}
	srv := serveOnly(t, env, slog.New(slog.DiscardHandler))
	url := "http://" + srv.Addr() + httpapi.WebhookPath

	// Large too: the letter keeps the body as sent, the redrive stores it.
	first, second := newEventID(), newEventID()
	bodies := map[string][]byte{first: sample(t, "success"), second: captionsEvent("job-rejected", 62_000)}
	for _, id := range []string{first, second} {
		code, h, raw := deliverRaw(t, url, id, bodies[id], secret, nil)
		require.Equal(t, 422, code, "%s", raw)
		var got map[string]string
		require.NoError(t, json.Unmarshal(raw, &got))
		require.Equal(t, "rejected", got["status"])
		require.Contains(t, got["reason"], "search attribute")
		require.Equal(t, deadletter.Key(id), got["dead_letter"])
		require.Empty(t, h.Values("Webhook-Delivery"), "Svix keeps retrying: the fix is the operator's")
	}
	require.Equal(t, 2.0, sum(t, srv.Registry, "mediaflow_webhook_requests_total", map[string]string{"outcome": string(ingest.Rejected)}))

	cfg, err := config.LoadControl(env)
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
	attrs := map[string]enumspb.IndexedValueType{}
	for _, k := range mediaflow.SearchAttributes() {
		attrs[k.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	_, err = bare.Client().OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: "default", SearchAttributes: attrs,
	})
	require.NoError(t, err)

	// Svix's next delivery of the first event starts it.
	require.Eventually(t, func() bool {
		return deliver(t, url, first, bodies[first], secret).body["status"] == "started"
	}, 30*time.Second, 500*time.Millisecond, "the search attributes take effect")
	// Now the worker starts.
	a := newApp(t, func(c *appConfig) { maps.Copy(c.env, env) })
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
