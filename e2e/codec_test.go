package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/claimcheck"
)

// twoMiB is the count of captions that makes captionsEvent's body 2 MiB
// ("<p>&nbsp;</p>" is 13 bytes): over MAX_BODY_BYTES's default, its input
// is claim-checked.
const twoMiB = (2 << 20) / 13

// temporalCmd runs the Temporal CLI against the test's Temporal with args
// and returns its output; a Temporal config file of the machine is left
// out.
func temporalCmd(t *testing.T, args ...string) string {
	t.Helper()
	cli, err := temporalCLI()
	require.NoError(t, err)
	cmd := exec.Command(cli, append(args, "--address", temporalAddress, "--namespace", namespace)...)
	cmd.Env = append(cmd.Environ(), "TEMPORAL_CONFIG_FILE="+filepath.Join(t.TempDir(), "none.toml"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "temporal %s: %.2000s", strings.Join(args, " "), out)
	return string(out)
}

// TestCLIThroughTheCodec: the Temporal CLI with --codec-endpoint (and
// --codec-auth, as behind an authenticating proxy) starts a job watch and
// signals it through mediaflow's codec endpoint (the signal's large error
// is stored in the blob store and read back by the worker), and
// `workflow show` prints a claim-checked 2 MiB event decoded.
func TestCLIThroughTheCodec(t *testing.T) {
	a := newApp(t, func(c *appConfig) { c.env["MAX_BODY_BYTES"] = fmt.Sprint(4 << 20) })
	codec := []string{"--codec-endpoint", a.codecURL, "--codec-auth", "Bearer cli-token"}

	jobID := "job-cli-" + rand.Text()
	watchID := mediaflow.WatchID(jobID)
	temporalCmd(t, append([]string{"workflow", "start", "--type", mediaflow.WatchWorkflowType, "--task-queue", a.taskQueue,
		"--workflow-id", watchID, "--input", fmt.Sprintf(`{"job_id":%q,"deadline":"2h"}`, jobID)}, codec...)...)
	var in mediaflow.WatchInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(a.startedInput(t, watchID), &in))
	require.Equal(t, mediaflow.WatchInput{JobID: jobID, Deadline: "2h"}, in)

	// A failed job whose error is larger than BLOB_THRESHOLD_BYTES.
	bigError, err := json.Marshal(map[string]string{"message": strings.Repeat("frame decode error; ", 10_000)})
	require.NoError(t, err)
	outcome := mediaflow.JobOutcome{JobID: jobID, EventID: "msg_from_the_cli", Status: mediaflow.JobFailed,
		EventTimestamp: "2026-11-20T10:00:00Z", Error: bigError}
	signal, err := json.Marshal(outcome)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "outcome.json")
	require.NoError(t, os.WriteFile(file, signal, 0o600))
	blobs := len(a.blobs(t))
	temporalCmd(t, append([]string{"workflow", "signal", "--workflow-id", watchID, "--name", mediaflow.SignalJobOutcome,
		"--input-file", file}, codec...)...)
	require.Len(t, a.blobs(t), blobs+1, "the codec endpoint stored the signal's input")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res mediaflow.WatchResult
	require.NoError(t, a.client.GetWorkflow(ctx, watchID, "").Get(ctx, &res))
	require.Equal(t, mediaflow.WatchDone, res.State)
	require.JSONEq(t, string(bigError), string(res.Outcome.Error), "the worker read it back")

	// A claim-checked 2 MiB event.
	bigJob := "job-cli-2mib-" + rand.Text()
	id := newEventID()
	got := deliver(t, a.url, id, captionsEvent(bigJob, twoMiB), secret)
	require.Equal(t, "started", got.body["status"], "%v", got.body)
	_, err = a.result(t, id)
	require.NoError(t, err)

	// The input of the event, as `workflow show --output json` prints the
	// history, without and with the codec endpoint.
	input := func(args ...string) *commonpb.Payload {
		out := temporalCmd(t, append([]string{"workflow", "show", "--workflow-id", id, "--output", "json"}, args...)...)
		var h historypb.History
		require.NoError(t, protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal([]byte(out), &h))
		return h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0]
	}
	require.Equal(t, claimcheck.Encoding, string(input().Metadata[converter.MetadataEncoding]), "without the codec: the reference")
	var event mediaflow.MediaCompletedInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(input(codec...), &event))
	require.Equal(t, bigJob, event.Job.JobID)
	require.Contains(t, string(event.Job.Results), strings.Repeat(`\u003cp\u003e\u0026nbsp;\u003c/p\u003e`, twoMiB), "the captions, whole")
}
