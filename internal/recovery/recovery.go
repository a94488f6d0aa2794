// Package recovery holds what an operator runs on the second day, through
// Temporal's own means: the events whose latest run did not complete,
// grouped by cause (Operator.Failures, Group), re-run with their own input
// at a bounded rate (Operator.Rerun), and the deliveries to the receivers
// paused and resumed on their task queue (Operator.PauseDeliveries).
// cmd/mediaflowctl's failures, rerun and deliveries commands are its
// front end.
package recovery

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/mediaflow/mediaflow/internal/ingest"
)

// Operator works on the MediaCompletedWorkflows of one task queue.
type Operator struct {
	// Client is a Temporal client with mediaflow's data converter (the
	// claim-check codec), which DataConverter is.
	Client        client.Client
	DataConverter converter.DataConverter
	Namespace     string
	// TaskQueue is TEMPORAL_TASK_QUEUE: the workflows', whose delivery
	// task queue the pause acts on.
	TaskQueue string
	// Starter starts a re-run as a delivery would be started
	// (mediaflow.StartOptions).
	Starter ingest.Starter
}
