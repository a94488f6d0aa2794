package httpapi

import (
	"context"

	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
)

// TemporalStarter starts MediaCompletedWorkflow with mediaflow.StartOptions.
type TemporalStarter struct {
	Client    client.Client
	TaskQueue string
}

// Start implements Starter.
func (t TemporalStarter) Start(ctx context.Context, in mediaflow.MediaCompletedInput) (string, error) {
	run, err := t.Client.ExecuteWorkflow(ctx, mediaflow.StartOptions(t.TaskQueue, in), mediaflow.WorkflowType, in)
	if err != nil {
		return "", err
	}
	return run.GetRunID(), nil
}
