package main

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/animus"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// directTarget starts workflows with client.ExecuteWorkflow exactly as the
// server does (same input, same options, same deadline), without HTTP,
// signature or gin: the baseline the ingest rate is compared with, and the
// starts of the bare workflow.
type directTarget struct {
	c            client.Client
	taskQueue    string
	workflowType string
	timeout      time.Duration
	tmpl         *load.Template
	ids          load.IDs
}

func (d *directTarget) send(ctx context.Context, i int) load.Outcome {
	ev, err := animus.ReadEvent(d.ids.EventID(i), d.tmpl.Body(d.ids.JobID(i)), time.Now())
	if err != nil || ev.Input == nil {
		return load.Outcome{Code: "error:parse"}
	}
	in := *ev.Input
	sctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	_, err = d.c.ExecuteWorkflow(sctx, mediaflow.StartOptions(d.taskQueue, in), d.workflowType, in)
	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case err == nil:
		return load.Outcome{Code: "ok", Status: "started"}
	case errors.As(err, &dup):
		return load.Outcome{Code: "ok", Status: "duplicate"}
	default:
		return load.Outcome{Code: "error:" + temporalErrorKind(err)}
	}
}

func temporalErrorKind(err error) string {
	var (
		exhausted   *serviceerror.ResourceExhausted
		unavailable *serviceerror.Unavailable
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &exhausted):
		return "resource_exhausted"
	case errors.As(err, &unavailable):
		return "unavailable"
	}
	return "other"
}
