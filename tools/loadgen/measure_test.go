package main

import (
	"context"
	"github.com/prometheus/procfs"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
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

// TestFloorWorkflows: each floor runs its number of activity tasks in a
// row, the event ID to each.
func TestFloorWorkflows(t *testing.T) {
	for name, n := range floorActivities {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		env.RegisterWorkflowWithOptions(floorWorkflow, workflow.RegisterOptions{Name: name})
		env.RegisterActivityWithOptions(func(context.Context, string) error { return nil }, activity.RegisterOptions{Name: noopActivity})
		if n > 0 {
			env.OnActivity(noopActivity, mock.Anything, "msg_1").Return(nil).Times(n)
		}
		env.ExecuteWorkflow(name, mediaflow.MediaCompletedInput{EventID: "msg_1"})
		require.True(t, env.IsWorkflowCompleted(), name)
		require.NoError(t, env.GetWorkflowError(), name)
		env.AssertExpectations(t)
	}
}
