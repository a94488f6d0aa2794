// Package steps lists the steps you add to every event's workflow
// (MediaCompletedWorkflow), each after the built-in step it names: record,
// download, watch or delivery. A step is one file in this package — a
// function that builds a workflows.Step (its activity, where it runs, its
// options) from the worker's environment — and one line in Registered.
// docs/extending.md walks through one, examples/steps/archive.go.
package steps

import "github.com/mediaflow/mediaflow/internal/app"

// Registered are the steps the worker (cmd/worker) runs, in this order
// where two follow the same built-in step. Add yours here, one line each.
var Registered = []app.StepFunc{
	// One line per step, e.g. Archive, (examples/steps/archive.go)
}
