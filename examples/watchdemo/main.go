// Command watchdemo shows a workflow of yours waiting for an Animus job
// through mediaflow (make watch-demo, with make dev running).
//
// Its workflow, SubmitAndWait, does what a workflow of yours would: it
// starts the job's watch (package animusjob), submits the job to Animus in
// an activity, then waits for the outcome that mediaflow receives from
// Animus's media.completed webhook. Here the "submission" is played by
// the activity itself: it sends the job's webhook to mediaflow after a
// moment, signed as Svix would, so the demo needs nothing but make dev.
//
//	go run ./examples/watchdemo [--status completed|failed] [--url http://127.0.0.1:8080/webhooks/animus]
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/animusjob"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

// taskQueue is the demo's own task queue: your workflows run on yours.
const taskQueue = "watch-demo"

// SubmitAndWait submits jobID to Animus and waits, at most deadline, for
// its outcome.
func SubmitAndWait(ctx workflow.Context, jobID, status string, deadline time.Duration) (animusjob.Result, error) {
	// Start the watch first: an event that comes before the submission
	// returns is then not missed (a watch started later finds it too).
	watch := animusjob.Start(ctx, jobID, deadline)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	if err := workflow.ExecuteActivity(actx, (*Animus).Submit, jobID, status).Get(ctx, nil); err != nil {
		return animusjob.Result{}, err
	}
	return animusjob.Wait(ctx, watch)
}

// Animus stands in for Animus's API. Submit "runs" the job: two seconds
// later Animus (through Svix) posts the job's media.completed event to
// mediaflow.
type Animus struct {
	URL, Secret string
}

// Submit posts jobID's media.completed event with status, signed.
func (a *Animus) Submit(ctx context.Context, jobID, status string) error {
	time.Sleep(2 * time.Second)
	body, _ := json.Marshal(map[string]any{
		"event_type": "media.completed",
		"timestamp":  time.Now().UTC().Format(time.RFC3339),
		"data":       map[string]any{"job_id": jobID, "status": status, "custom_payload": map[string]string{"from": "watchdemo"}},
	})
	h, err := webhook.Sign(a.Secret, "msg_"+rand.Text(), time.Now(), body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mediaflow answered %s", resp.Status)
	}
	return nil
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/webhooks/animus", "mediaflow's webhook URL")
	status := flag.String("status", "completed", "the status Animus reports: completed or failed")
	deadline := flag.Duration("deadline", 2*time.Hour, "how long to wait for the event before alerting")
	flag.Parse()
	if err := run(*url, *status, *deadline); err != nil {
		fmt.Fprintln(os.Stderr, "watchdemo:", err)
		os.Exit(1)
	}
}

func run(url, status string, deadline time.Duration) error {
	secret := os.Getenv("ANIMUS_WEBHOOK_SECRET")
	if secret == "" {
		return fmt.Errorf("ANIMUS_WEBHOOK_SECRET is required (make watch-demo sets make dev's)")
	}
	c, err := client.Dial(client.Options{HostPort: "127.0.0.1:7233",
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return err
	}
	defer c.Close()
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(SubmitAndWait)
	w.RegisterActivity(&Animus{URL: url, Secret: secret})
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()

	jobID := "demo-" + rand.Text()
	fmt.Printf("submitting job %s; its watch is workflow %s\n", jobID, mediaflow.WatchID(jobID))
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: taskQueue},
		SubmitAndWait, jobID, status, deadline)
	if err != nil {
		return err
	}
	var res animusjob.Result
	if err := run.Get(context.Background(), &res); err != nil {
		return err
	}
	out, _ := json.MarshalIndent(res, "", "  ")
	fmt.Printf("workflow %s got the job's outcome:\n%s\n", run.GetID(), out)
	return nil
}
