package stack

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// shProc is a process that appends "NAME SIGNAL" to dir/order when it
// gets SIGTERM or SIGINT, and exits unless ignore.
func shProc(dir, name string, ignore bool) Proc {
	exit := "exit 0"
	if ignore {
		exit = ":"
	}
	script := `trap 'echo "` + name + ` TERM" >> order; ` + exit + `' TERM; trap 'echo "` + name + ` INT" >> order; ` + exit + `' INT; ` +
		`touch ` + name + `.up; while :; do sleep 0.05; done`
	return Proc{Name: name, Args: []string{"sh", "-c", "cd " + dir + " && " + script}, Grace: time.Second,
		Ready: func(context.Context) error { _, err := os.Stat(filepath.Join(dir, name+".up")); return err }}
}

func newStack(t *testing.T, procs ...Proc) *Stack {
	t.Helper()
	return &Stack{Dir: t.TempDir(), Procs: procs, Out: &bytes.Buffer{}, T0: time.Now()}
}

func order(t *testing.T, dir string) []string {
	raw, _ := os.ReadFile(filepath.Join(dir, "order"))
	return strings.Fields(strings.ReplaceAll(string(raw), " ", "_"))
}

// TestStopsInOrder: the processes stop in the reverse order of their
// start; one that ignores SIGTERM is killed after its grace period.
func TestStopsInOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := newStack(t, shProc(dir, "db", false), shProc(dir, "temporal", true), shProc(dir, "app", false))
	require.NoError(t, st.Start(context.Background()))
	for _, n := range st.Names() {
		require.True(t, st.Running(n), n)
	}
	raw, err := os.ReadFile(filepath.Join(st.Dir, "pids"))
	require.NoError(t, err)
	require.Len(t, strings.Split(strings.TrimSpace(string(raw)), "\n"), 3, "the pids file names each")

	st.Stop()
	require.Equal(t, []string{"app_TERM", "temporal_TERM", "db_TERM"}, order(t, dir))
	for _, n := range st.Names() {
		require.False(t, st.Running(n), n)
	}
	require.Contains(t, st.Out.(*bytes.Buffer).String(), "temporal still running after 1s: SIGKILL")
}

// TestRestartAndWait: another Stack on the same directory (another
// invocation) restarts a process by its pid; the first one's Wait ignores
// that exit, and reports one that is not a restart.
func TestRestartAndWait(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := newStack(t, shProc(dir, "a", false), shProc(dir, "b", false))
	require.NoError(t, st.Start(context.Background()))
	defer st.Stop()
	old := st.Pid("b")

	other := &Stack{Dir: st.Dir, Procs: st.Procs, Out: &bytes.Buffer{}, T0: time.Now()}
	require.NoError(t, other.Restart(context.Background(), "b", true, 0))
	require.NotEqual(t, old, st.Pid("b"), "the first stack reads the new pid")
	require.True(t, st.Running("b"))
	require.Empty(t, order(t, dir), "SIGKILL: no trap ran")

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	require.NoError(t, st.Wait(ctx), "nothing exited")
	syscall.Kill(st.Pid("a"), syscall.SIGTERM)
	require.ErrorContains(t, st.Wait(context.Background()), "a exited")
}

// TestStartFails: a process that exits while starting fails the start,
// naming it with the end of its log; Once steps must succeed.
func TestStartFails(t *testing.T) {
	t.Parallel()
	st := newStack(t, Proc{Name: "bad", Args: []string{"sh", "-c", "echo no config; exit 3"},
		Ready: func(context.Context) error { return os.ErrNotExist }})
	require.ErrorContains(t, st.Start(context.Background()), "bad exited")
	require.ErrorContains(t, st.Start(context.Background()), "no config")

	st = newStack(t, Proc{Name: "schema", Once: true, Args: []string{"sh", "-c", "echo schema failed; exit 1"}})
	require.ErrorContains(t, st.Start(context.Background()), "schema failed")
}

func TestTaken(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	free := FreeAddr()
	st := newStack(t, Proc{Name: "p", Ports: []Port{{l.Addr().String(), "taken"}, {free, "free"}}})
	require.Equal(t, []Port{{l.Addr().String(), "taken"}}, st.Taken())
}
