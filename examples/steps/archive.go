package steps

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	"gocloud.dev/blob"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/blobstore"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/workflows"
)

// archiveSettings are the archive step's settings.
type archiveSettings struct {
	// URL is the blob store the media is archived to (gocloud.dev/blob:
	// file:///var/archive, s3://bucket?region=eu-west-1, …); empty: off.
	URL string `env:"ARCHIVE_URL"`
}

// Archive copies the media that an event's workflow saved (MEDIA_DIR) to
// the blob store at ARCHIVE_URL, as media/<job directory>/<file name>,
// after the download, for completed jobs. Off when ARCHIVE_URL is empty.
// It fails at start when the URL is not a blob store URL.
func Archive(env config.Environ) (workflows.Step, error) {
	step := workflows.Step{
		Name:  "archive",
		After: workflows.AfterDownload,
		On:    []mediaflow.JobStatus{mediaflow.JobCompleted},
		// A copy of up to MEDIA_MAX_BYTES: an attempt may take a while.
		Options: workflow.ActivityOptions{StartToCloseTimeout: time.Hour},
	}
	cfg, err := config.Parse[archiveSettings](env)
	if err != nil {
		return step, err
	}
	if cfg.URL == "" {
		step.Off = "ARCHIVE_URL not set"
		return step, nil
	}
	bucket, err := blobstore.Open(context.Background(), cfg.URL)
	if err != nil {
		return step, fmt.Errorf("ARCHIVE_URL: %w", err)
	}
	step.Run = archiver{bucket}.archive
	return step, nil
}

// archiver copies saved media into its bucket.
type archiver struct{ bucket *blob.Bucket }

// archive copies in.Media to the bucket. Idempotent: the same media lands
// under the same key, with the same bytes, however often it runs; a copy
// cut short is never visible (the blob is committed when the writer
// closes). Nothing saved (no MEDIA_DIR, no media_url): skipped. A saved
// file that is gone is a non-retryable error; the store's errors are
// retried.
func (a archiver) archive(ctx context.Context, in workflows.StepInput) (mediaflow.StepResult, error) {
	if in.Media == nil || in.Media.Path == "" {
		return mediaflow.StepResult{Outcome: mediaflow.StepSkipped, Detail: "no media saved"}, nil
	}
	f, err := os.Open(in.Media.Path)
	if err != nil {
		return mediaflow.StepResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("archive: the saved media is gone: %v", err), "MediaGone", nil)
	}
	defer f.Close()
	// The saved file's own directory and name: already safe names.
	key := path.Join("media", filepath.Base(filepath.Dir(in.Media.Path)), filepath.Base(in.Media.Path))
	w, err := a.bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return mediaflow.StepResult{}, fmt.Errorf("archive: %w", err)
	}
	n, err := io.Copy(w, f)
	if err != nil {
		w.Close()
		return mediaflow.StepResult{}, fmt.Errorf("archive: copying %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return mediaflow.StepResult{}, fmt.Errorf("archive: committing %s: %w", key, err)
	}
	return mediaflow.StepResult{Outcome: mediaflow.StepDone, Detail: "copied to " + key, Bytes: n}, nil
}
