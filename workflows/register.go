package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
)

// Register registers the workflow, under mediaflow.WorkflowType, and the
// activities on r (a worker, or a test environment). Add new activities to
// activities.Activities: they are registered with it.
func Register(r worker.Registry, a *activities.Activities) {
	r.RegisterWorkflowWithOptions(MediaCompleted, workflow.RegisterOptions{Name: mediaflow.WorkflowType})
	r.RegisterActivity(a)
}
