package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
)

// Register registers wf's workflows, under mediaflow.WorkflowType and
// mediaflow.WatchWorkflowType, and the activities on r (a worker, a
// replayer or a test environment). A new activity is a method on
// activities.Activities: it is registered with it.
func Register(r worker.Registry, wf Workflow, a *activities.Activities) {
	r.RegisterWorkflowWithOptions(wf.MediaCompleted, workflow.RegisterOptions{Name: mediaflow.WorkflowType})
	r.RegisterWorkflowWithOptions(wf.JobWatch, workflow.RegisterOptions{Name: mediaflow.WatchWorkflowType})
	r.RegisterActivity(a)
}
