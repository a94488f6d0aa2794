package recovery

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/mediaflow/mediaflow"
)

// The reasons recorded when none is given.
const (
	DefaultPauseReason  = "paused with mediaflowctl"
	DefaultResumeReason = "resumed with mediaflowctl"
)

// Deliveries is the state of the delivery task queue, where Notify and
// Alert wait for a worker (mediaflow.DeliveryTaskQueue of
// TEMPORAL_TASK_QUEUE).
type Deliveries struct {
	// TaskQueue is the delivery task queue's name.
	TaskQueue string
	// Paused is true while its rate limit, set through Temporal's API, is
	// 0: its activities wait, nothing fails. Reason, By and Since are
	// that setting's (or, when not paused, the last resume's when
	// Temporal keeps it).
	Paused    bool
	Reason    string
	By        string
	Since     time.Time
	RateLimit float64
	// RateSource is who set RateLimit: enumspb.RATE_LIMIT_SOURCE_API (a
	// pause), _WORKER (the workers' NOTIFY_MAX_PER_SECOND) or _SYSTEM
	// (none: the workers run with NOTIFY_MAX_PER_SECOND=off, and send a
	// notice's first attempt from the workflow, which a pause does not
	// hold).
	RateSource enumspb.RateLimitSource
	// Backlog is Temporal's approximate count of activities waiting on
	// the queue, and BacklogAge how long the oldest has waited.
	Backlog    int64
	BacklogAge time.Duration
	// Pollers is how many workers poll it.
	Pollers int
}

// PauseDeliveries sets the delivery task queue's rate limit to 0, with
// reason (DefaultPauseReason when empty): notices and alerts wait on the
// queue, each still within its DELIVERY_RETRY_WINDOW, until
// ResumeDeliveries. Attempts already running finish.
func (o *Operator) PauseDeliveries(ctx context.Context, reason string) error {
	if reason == "" {
		reason = DefaultPauseReason
	}
	return o.setDeliveryLimit(ctx, &taskqueuepb.RateLimit{RequestsPerSecond: 0}, reason)
}

// ResumeDeliveries removes the rate limit that PauseDeliveries set: the
// workers' own (NOTIFY_MAX_PER_SECOND) applies again.
func (o *Operator) ResumeDeliveries(ctx context.Context, reason string) error {
	if reason == "" {
		reason = DefaultResumeReason
	}
	return o.setDeliveryLimit(ctx, nil, reason)
}

// setDeliveryLimit sets (or, nil, removes) the rate limit of the delivery
// task queue's activities through Temporal's API.
func (o *Operator) setDeliveryLimit(ctx context.Context, limit *taskqueuepb.RateLimit, reason string) error {
	_, err := o.Client.WorkflowService().UpdateTaskQueueConfig(ctx, &workflowservice.UpdateTaskQueueConfigRequest{
		Namespace:            o.Namespace,
		Identity:             operator(),
		TaskQueue:            o.deliveryQueue(),
		TaskQueueType:        enumspb.TASK_QUEUE_TYPE_ACTIVITY,
		UpdateQueueRateLimit: &workflowservice.UpdateTaskQueueConfigRequest_RateLimitUpdate{RateLimit: limit, Reason: reason},
	})
	if err != nil {
		return fmt.Errorf("task queue %s: %w", o.deliveryQueue(), err)
	}
	return nil
}

// DeliveryStatus describes the delivery task queue.
func (o *Operator) DeliveryStatus(ctx context.Context) (Deliveries, error) {
	d := Deliveries{TaskQueue: o.deliveryQueue()}
	resp, err := o.Client.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace:     o.Namespace,
		TaskQueue:     &taskqueuepb.TaskQueue{Name: d.TaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
		ReportStats:   true,
		ReportConfig:  true,
	})
	if err != nil {
		return d, fmt.Errorf("task queue %s: %w", d.TaskQueue, err)
	}
	if limit := resp.GetConfig().GetQueueRateLimit(); limit != nil {
		d.Paused = limit.GetRateLimit() != nil && limit.GetRateLimit().GetRequestsPerSecond() == 0
		md := limit.GetMetadata()
		d.Reason, d.By = md.GetReason(), md.GetUpdateIdentity()
		if md.GetUpdateTime() != nil {
			d.Since = md.GetUpdateTime().AsTime()
		}
	}
	d.RateLimit = float64(resp.GetEffectiveRateLimit().GetRequestsPerSecond())
	d.RateSource = resp.GetEffectiveRateLimit().GetRateLimitSource()
	d.Backlog = resp.GetStats().GetApproximateBacklogCount()
	d.BacklogAge = resp.GetStats().GetApproximateBacklogAge().AsDuration()
	d.Pollers = len(resp.GetPollers())
	return d, nil
}

func (o *Operator) deliveryQueue() string { return mediaflow.DeliveryTaskQueue(o.TaskQueue) }

// operator is who changes the queue, as Temporal records it:
// "mediaflowctl:<user>@<host>".
func operator() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return "mediaflowctl:" + name + "@" + host
}
