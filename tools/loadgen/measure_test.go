package main

import (
	"context"
	"github.com/prometheus/procfs"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/tools/internal/load"
)

// TestTreeCPU: a process's CPU time counts its live descendants and the
// children it has reaped (PostgreSQL's backends come and go), and nothing
// of other trees.
func TestTreeCPU(t *testing.T) {
	// Times in ticks of 10 ms.
	all := map[int]procfs.ProcStat{
		1:   {PPID: 0, UTime: 360000},
		100: {PPID: 1, UTime: 80, STime: 20, CUTime: 150, CSTime: 50}, // postmaster
		101: {PPID: 100, UTime: 30},                                   // a backend
		102: {PPID: 101, STime: 4},                                    // its child
		200: {PPID: 1, UTime: 6000},                                   // another tree
	}
	d, ok := treeCPU(100, all)
	require.True(t, ok)
	require.Equal(t, 3340*time.Millisecond, d)
	_, ok = treeCPU(999, all)
	require.False(t, ok)
}

func TestCPUBetween(t *testing.T) {
	t0 := time.Unix(100, 0)
	a := cpuSample{At: t0, CPU: map[string]time.Duration{"loadgen": time.Second, "server": 2 * time.Second, "gone": time.Second}}
	b := cpuSample{At: t0.Add(10 * time.Second), CPU: map[string]time.Duration{"loadgen": 3 * time.Second, "server": 6 * time.Second, "new": time.Second}}
	r := cpuBetween(a, b, 100)
	require.Equal(t, 10.0, r.Seconds)
	require.Equal(t, map[string]float64{"loadgen": 2000, "server": 4000, "total": 6000}, r.MS)
	require.Equal(t, map[string]float64{"loadgen": 20, "server": 40, "total": 60}, r.PerEvent)
	require.Contains(t, r.String(), "60.00 ms per event")
}

func TestParseProcRefs(t *testing.T) {
	refs, err := parseProcRefs("server=12, worker=34,")
	require.NoError(t, err)
	require.Equal(t, []procRef{{"server", 12}, {"worker", 34}}, refs)
	for _, bad := range []string{"server", "server=x", "=12", "server=0", "loadgen=12"} {
		_, err := parseProcRefs(bad)
		require.Error(t, err, bad)
	}
}

func TestParseRates(t *testing.T) {
	r, err := parseRates("25, 50,100")
	require.NoError(t, err)
	require.Equal(t, []float64{25, 50, 100}, r)
	for _, bad := range []string{"25,25", "50,25", "0", "x"} {
		_, err := parseRates(bad)
		require.Error(t, err, bad)
	}
}

func TestSaturated(t *testing.T) {
	ok := load.PhaseSummary{Requests: 1000, Rate: 99, Codes: map[string]int{"200": 1000}}
	require.False(t, saturated(100, ok))
	slow := ok
	slow.Rate = 85
	require.True(t, saturated(100, slow), "answers fell behind")
	refused := ok
	refused.Codes = map[string]int{"200": 980, "503": 20}
	require.True(t, saturated(100, refused), "2% not answered 200")
	require.True(t, saturated(100, load.PhaseSummary{}))
}

func TestShapeOf(t *testing.T) {
	ev := func(t enumspb.EventType) *historypb.HistoryEvent { return &historypb.HistoryEvent{EventType: t} }
	s := shapeOf("wf", []*historypb.HistoryEvent{
		ev(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED), ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED), ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
		ev(enumspb.EVENT_TYPE_MARKER_RECORDED), ev(enumspb.EVENT_TYPE_MARKER_RECORDED),
		ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED), ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED), ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED),
		ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED), ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED), ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
		ev(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED),
	})
	require.Equal(t, 13, s.Events)
	require.Equal(t, 2, s.WorkflowTasks)
	require.Equal(t, 1, s.ActivityTasks)
	require.Equal(t, 2, s.Markers)
	require.Positive(t, s.Bytes)
}

// TestBareWorkflow: three activity tasks in a row, the event ID to each.
func TestBareWorkflow(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(bareWorkflow, workflow.RegisterOptions{Name: bareWorkflowType})
	env.RegisterActivityWithOptions(noopActivity, activity.RegisterOptions{Name: bareActivityType})
	env.OnActivity(bareActivityType, mock.Anything, "msg_1").Return(nil).Times(bareSteps)
	env.ExecuteWorkflow(bareWorkflowType, mediaflow.MediaCompletedInput{EventID: "msg_1"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
	require.NoError(t, noopActivity(context.Background(), "msg_1"))
}
