package workflows

import (
	"reflect"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
)

// Register registers wf's workflows, under mediaflow.WorkflowType (pinned
// to the build it starts on, the worker's default under Worker
// Versioning) and mediaflow.WatchWorkflowType (auto-upgrade), the built-in
// activities (the methods of
// *activities.Activities) and each configured step's activity, under the
// step's name, on r (a worker, a replayer or a test environment). It fails
// when a step is malformed (see Step).
func Register(r worker.Registry, wf Workflow, acts *activities.Activities) error {
	if err := checkSteps(wf.Steps, builtinNames()); err != nil {
		return err
	}
	r.RegisterWorkflowWithOptions(wf.MediaCompleted, workflow.RegisterOptions{Name: mediaflow.WorkflowType})
	// A watch lives up to its deadline and grace (a day and more): it
	// moves to the current build rather than hold an old one that long
	// (its changes go behind workflow.GetVersion; replay tests guard it).
	r.RegisterWorkflowWithOptions(wf.JobWatch, workflow.RegisterOptions{Name: mediaflow.WatchWorkflowType,
		VersioningBehavior: workflow.VersioningBehaviorAutoUpgrade})
	r.RegisterActivity(acts)
	for _, s := range wf.Steps {
		if s.Run != nil {
			r.RegisterActivityWithOptions(s.Run, activity.RegisterOptions{Name: s.Name})
		}
	}
	return nil
}

// RegisterDeliveries registers Notify and Alert on r: the activities of
// the delivery task queue (mediaflow.DeliveryTaskQueue).
func RegisterDeliveries(r worker.Registry, acts *activities.Activities) {
	r.RegisterActivityWithOptions(acts.Notify, activity.RegisterOptions{Name: "Notify"})
	r.RegisterActivityWithOptions(acts.Alert, activity.RegisterOptions{Name: "Alert"})
}

// builtinNames are the names a user's step may not take: the built-in
// activities' (the methods of *activities.Activities), and the built-in
// steps' in a result, which a step of that name would be mistaken for.
func builtinNames() []string {
	t := reflect.TypeFor[*activities.Activities]()
	names := make([]string, t.NumMethod())
	for i := range names {
		names[i] = t.Method(i).Name
	}
	return append(names, mediaflow.StepRecord, mediaflow.StepDownload, mediaflow.StepRecordMedia,
		mediaflow.StepWatch, mediaflow.StepNotify, mediaflow.StepAlert)
}
