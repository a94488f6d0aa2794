package steps

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/activities"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/workflows"
)

// savedMedia writes a file as DownloadMedia saves one, under dir.
func savedMedia(t *testing.T, dir string) *activities.Media {
	t.Helper()
	path := filepath.Join(dir, "job-1", "251adde2bf87f56d-clip.mp4")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte("frame "), 1000), 0o644))
	return &activities.Media{URL: "https://m/clip.mp4", Path: path, Size: 6000}
}

// TestArchiveCopiesTheSavedMedia: the media lands in the archive, byte
// for byte, under the same key however often the step runs.
func TestArchiveCopiesTheSavedMedia(t *testing.T) {
	archiveDir := t.TempDir()
	step, err := Archive(config.Environ{"ARCHIVE_URL": "file://" + archiveDir})
	require.NoError(t, err)
	require.NotNil(t, step.Run)
	media := savedMedia(t, t.TempDir())

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(step.Run)
	for range 2 {
		v, err := env.ExecuteActivity(step.Run, workflows.StepInput{Media: media})
		require.NoError(t, err)
		var res mediaflow.StepResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, mediaflow.StepResult{Outcome: mediaflow.StepDone, Detail: "copied to media/job-1/251adde2bf87f56d-clip.mp4", Bytes: 6000}, res)
	}
	want, err := os.ReadFile(media.Path)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(archiveDir, "media", "job-1", "251adde2bf87f56d-clip.mp4"))
	require.NoError(t, err)
	require.Equal(t, want, got)

	v, err := env.ExecuteActivity(step.Run, workflows.StepInput{})
	require.NoError(t, err)
	var res mediaflow.StepResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, mediaflow.StepSkipped, res.Outcome, "nothing saved, nothing to archive")
}

// TestArchiveOffWithoutURL: without ARCHIVE_URL the step is off, and says
// why; a URL that is not a blob store's stops the worker at start.
func TestArchiveOffWithoutURL(t *testing.T) {
	step, err := Archive(config.Environ{})
	require.NoError(t, err)
	require.Nil(t, step.Run)
	require.Equal(t, "ARCHIVE_URL not set", step.Off)
	_, err = Archive(config.Environ{"ARCHIVE_URL": "nope"})
	require.ErrorContains(t, err, "ARCHIVE_URL")
}

// TestArchiveRunsAfterTheDownload: in the workflow, the archive step runs
// right after the download, for completed jobs, and its result is in the
// workflow's result.
func TestArchiveRunsAfterTheDownload(t *testing.T) {
	archiveDir := t.TempDir()
	step, err := Archive(config.Environ{"ARCHIVE_URL": "file://" + archiveDir})
	require.NoError(t, err)
	cfg, err := config.LoadWorker(config.Environ{})
	require.NoError(t, err)
	wf := workflows.Workflow{
		Options: workflows.NewOptions(cfg.TaskQueue, workflows.Windows{Database: cfg.DatabaseRetryWindow,
			Download: cfg.DownloadRetryWindow, Delivery: cfg.DeliveryRetryWindow}),
		Optional: workflows.Optional{Download: true},
		Steps:    []workflows.Step{step},
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var a *activities.Activities
	require.NoError(t, workflows.Register(env, wf, a))
	media := savedMedia(t, t.TempDir())
	env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil)
	env.OnActivity(a.DownloadMedia, mock.Anything, mock.Anything).Return(*media, nil)
	env.OnActivity(a.RecordMedia, mock.Anything, mock.Anything).Return(activities.Recorded{}, nil)
	env.OnActivity(a.TellWatch, mock.Anything, mock.Anything).Return(activities.Told{}, nil)

	var job mediaflow.Job
	require.NoError(t, job.UnmarshalJSON([]byte(`{"job_id":"job-1","status":"completed","media_url":"https://m/clip.mp4"}`)))
	env.ExecuteWorkflow(mediaflow.WorkflowType, mediaflow.MediaCompletedInput{EventID: "msg_1", Status: mediaflow.JobCompleted,
		ReceivedAt: time.Now(), Job: job})
	require.NoError(t, env.GetWorkflowError())
	var res mediaflow.MediaCompletedResult
	require.NoError(t, env.GetWorkflowResult(&res))
	var names []string
	for _, s := range res.Steps {
		names = append(names, s.Step)
	}
	require.Equal(t, []string{"record", "download", "archive", "notify"}, names)
	require.Equal(t, "copied to media/job-1/251adde2bf87f56d-clip.mp4", res.Steps[2].Detail)
	require.FileExists(t, filepath.Join(archiveDir, "media", "job-1", "251adde2bf87f56d-clip.mp4"))
}

// TestAddingTheStepToAFreshClone does what docs/extending.md says, in a
// copy of this tree: copy this file into steps/ and add one line to
// steps.Registered. It counts what changed (one new file, one line) and
// builds the worker and vets the package with the step in.
func TestAddingTheStepToAFreshClone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the worker in a copy of the tree")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	clone := t.TempDir()
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s: %s", strings.Join(args, " "), out)
		return string(out)
	}
	// The tree as a clone has it: tracked and untracked files, not ignored.
	files := strings.Split(strings.TrimRight(run(root, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"), "\x00"), "\x00")
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(clone, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(clone, f), b, 0o644))
	}
	run(clone, "git", "init", "-q")
	run(clone, "git", "add", "-A")
	run(clone, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clone")

	// The walk-through: the file, then the line.
	example, err := os.ReadFile("archive.go")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(clone, "steps", "archive.go"), example, 0o644))
	registry := filepath.Join(clone, "steps", "steps.go")
	b, err := os.ReadFile(registry)
	require.NoError(t, err)
	src := strings.Replace(string(b), "\n}\n", "\n\tArchive,\n}\n", 1)
	require.NotEqual(t, string(b), src, "steps.go's Registered is not where docs/extending.md says")
	require.NoError(t, os.WriteFile(registry, []byte(src), 0o644))
	run(clone, "gofmt", "-w", "steps")

	run(clone, "git", "add", "-A")
	numstat := strings.Fields(run(clone, "git", "diff", "--cached", "--numstat"))
	// Two files: steps/archive.go (new) and steps/steps.go.
	require.Len(t, numstat, 6, "git diff --numstat: %v", numstat)
	stat := map[string][2]string{numstat[2]: {numstat[0], numstat[1]}, numstat[5]: {numstat[3], numstat[4]}}
	require.Contains(t, stat, "steps/archive.go")
	require.Equal(t, "0", stat["steps/archive.go"][1], "a new file")
	require.Equal(t, [2]string{"1", "0"}, stat["steps/steps.go"], "steps.go: one line added")

	run(clone, "go", "build", "-o", os.DevNull, "./cmd/worker")
	run(clone, "go", "vet", "./steps/")
}
