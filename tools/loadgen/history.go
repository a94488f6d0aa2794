package main

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
)

// historyShape counts what one workflow cost Temporal: its events, and the
// tasks Temporal dispatched to workers for it. Each workflow task and each
// activity task is a round trip through Temporal's matching and history
// services, so the counts explain a rate without a clock.
type historyShape struct {
	WorkflowID    string `json:"workflow_id"`
	Events        int    `json:"events"`
	Bytes         int    `json:"bytes"`
	WorkflowTasks int    `json:"workflow_tasks"`
	ActivityTasks int    `json:"activity_tasks"`
	// Markers are local activities, side effects and versions, recorded
	// within a workflow task.
	Markers int `json:"markers"`
}

// shapeOf counts events.
func shapeOf(id string, events []*historypb.HistoryEvent) historyShape {
	s := historyShape{WorkflowID: id, Events: len(events)}
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
func fetchShape(ctx context.Context, c client.Client, id string) (historyShape, error) {
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return historyShape{}, fmt.Errorf("history of %s: %w", id, err)
		}
		events = append(events, e)
	}
	return shapeOf(id, events), nil
}

func (s historyShape) String() string {
	return fmt.Sprintf("tasks  %d workflow tasks + %d activity tasks per workflow; %d events (%d markers), %d bytes of history (%s)",
		s.WorkflowTasks, s.ActivityTasks, s.Events, s.Markers, s.Bytes, s.WorkflowID)
}
