package main

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// shapeOf counts events.
func shapeOf(id string, events []*historypb.HistoryEvent) load.HistoryShape {
	s := load.HistoryShape{WorkflowID: id, Events: len(events)}
	for _, e := range events {
		s.Bytes += proto.Size(e)
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			s.WorkflowTasks++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			s.ActivityTasks++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			s.Markers++
		}
	}
	return s
}

// fetchShape reads workflow id's history.
func fetchShape(ctx context.Context, c client.Client, id string) (load.HistoryShape, error) {
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return load.HistoryShape{}, fmt.Errorf("history of %s: %w", id, err)
		}
		events = append(events, e)
	}
	return shapeOf(id, events), nil
}
