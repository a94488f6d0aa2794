package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow/internal/config"
)

// BuildID is this build's ID, set at link time by the image (Dockerfile)
// (-ldflags "-X github.com/mediaflow/mediaflow/internal/app.BuildID=…");
// when empty, the worker works one out (see buildID).
var BuildID string

// buildID is the worker's Worker Versioning build ID: WORKER_BUILD_ID,
// else BuildID, else the VCS revision the binary was built from when its
// tree was clean, else the first 12 hex digits of the SHA-256 of the
// executable itself: the same binary has the same ID, another build
// another.
func buildID(cfg config.Worker) (string, error) {
	if cfg.BuildID != "" {
		return cfg.BuildID, nil
	}
	if BuildID != "" {
		return BuildID, nil
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		var revision string
		modified := true
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if revision != "" && !modified {
			return revision[:min(12, len(revision))], nil
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("build ID: %w (set WORKER_BUILD_ID)", err)
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("build ID: %w (set WORKER_BUILD_ID)", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("build ID: %w (set WORKER_BUILD_ID)", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// deploymentOptions are the worker's Worker Versioning options: none when
// WORKER_VERSIONING is off; else its deployment version, workflows pinned
// to it by default.
func deploymentOptions(cfg config.Worker, build string) worker.DeploymentOptions {
	if cfg.Versioning == config.VersioningOff {
		return worker.DeploymentOptions{}
	}
	return worker.DeploymentOptions{
		UseVersioning:             true,
		Version:                   worker.WorkerDeploymentVersion{DeploymentName: cfg.DeploymentName, BuildID: build},
		DefaultVersioningBehavior: workflow.VersioningBehaviorPinned,
	}
}

// versionPoll is how often routeToSelf asks again while the worker's
// version is not yet known to Temporal or a routing change conflicts.
const versionPoll = 250 * time.Millisecond

// routeToSelf makes the worker's build the current version of its
// deployment, as WORKER_VERSIONING says: "auto" when the deployment has no
// current (and no ramping) version yet, so that a worker started alone
// handles events with no command of anyone's; "latest" whenever another
// build is current (make dev and make cluster: the working copy's build
// takes the new workflows). It waits until Temporal knows the version (its
// first poll), and tolerates another replica doing the same at once (the
// conflict token), and Temporal not answering for a while (it tries
// again). It returns when routing is settled, Temporal refuses it, or ctx
// is done; "manual" and "off" return at once.
func routeToSelf(ctx context.Context, c client.Client, cfg config.Worker, build string, logger *slog.Logger) error {
	if cfg.Versioning != config.VersioningAuto && cfg.Versioning != config.VersioningLatest {
		return nil
	}
	h := c.WorkerDeploymentClient().GetHandle(cfg.DeploymentName)
	for {
		wait := versionPoll
		d, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound): // created by the worker's first poll
			err = nil
		case err != nil:
			err = fmt.Errorf("describing worker deployment %s: %w", cfg.DeploymentName, err)
		default:
			var done bool
			if done, err = routeIfNeeded(ctx, h, d, cfg, build, logger); done {
				return err
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !transient(err) {
				return err
			}
			// Given up, the worker would poll a version no event is
			// routed to: try again once Temporal answers.
			logger.Warn("worker versioning: Temporal did not answer, trying again", "error", err)
			wait = versionRetry
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// versionRetry is how long routeToSelf waits after Temporal did not
// answer (each call already waits up to the client's 10 s).
const versionRetry = 5 * time.Second

// transient reports whether err is Temporal not answering (down,
// unreachable, slow or overloaded), which passes, rather than a refusal.
func transient(err error) bool {
	var (
		unavailable *serviceerror.Unavailable
		deadline    *serviceerror.DeadlineExceeded
		exhausted   *serviceerror.ResourceExhausted
	)
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &unavailable) || errors.As(err, &deadline) ||
		errors.As(err, &exhausted)
}

// routeIfNeeded is one try of routeToSelf on the deployment as described
// by d; done is false when it should try again.
func routeIfNeeded(ctx context.Context, h client.WorkerDeploymentHandle, d client.WorkerDeploymentDescribeResponse,
	cfg config.Worker, build string, logger *slog.Logger) (done bool, err error) {
	routing := d.Info.RoutingConfig
	current := ""
	if routing.CurrentVersion != nil {
		current = routing.CurrentVersion.BuildID
	}
	switch {
	case current == build:
		return true, nil
	case cfg.Versioning == config.VersioningAuto && (current != "" || routing.RampingVersion != nil):
		// Loud: a build started in place of the current one (its workers
		// gone) leaves every new event waiting for them.
		logger.Warn("worker versioning: this build takes no new events; they go to the deployment's current build, "+
			"which needs workers of its own, until you promote this one (docs/production.md#rolling-out-a-change)",
			"deployment", cfg.DeploymentName, "build_id", build, "current_build_id", current,
			"promote", fmt.Sprintf("temporal worker deployment set-current-version --deployment-name %s --build-id %s", cfg.DeploymentName, build))
		return true, nil
	}
	known := false
	for _, v := range d.Info.VersionSummaries {
		known = known || v.Version.BuildID == build
	}
	if !known {
		return false, nil
	}
	_, err = h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{BuildID: build, ConflictToken: d.ConflictToken})
	var precondition *serviceerror.FailedPrecondition
	switch {
	case errors.As(err, &precondition):
		// Another replica changed it, or a task queue of the version is
		// not polled yet: look again.
		return false, nil
	case err != nil:
		return false, fmt.Errorf("making build %s current in worker deployment %s: %w", build, cfg.DeploymentName, err)
	}
	logger.Info("worker deployment: this build is now current", "deployment", cfg.DeploymentName, "build_id", build,
		"previous_build_id", current)
	return true, nil
}
