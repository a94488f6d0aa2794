// Command send delivers a signed Animus event to a mediaflow server, as
// Svix would: the body as is, with svix-id, svix-timestamp and
// svix-signature computed by the svix library.
//
//	go run ./cmd/send --secret whsec_… [--url URL] [--sample success|failure|uppercase|unknown | --file F]
//	                  [--id msg_…] [--job-id ID] [--times N]
//
// Each delivery prints the HTTP status and the server's JSON answer. The
// exit status is 1 when a delivery got no 2xx answer.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "send:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	url := fs.String("url", "http://localhost:8080/webhooks/animus", "webhook URL of the server")
	secret := fs.String("secret", os.Getenv("ANIMUS_WEBHOOK_SECRET"), "signing secret whsec_… (default $ANIMUS_WEBHOOK_SECRET)")
	sample := fs.String("sample", "success", "built-in sample body: "+strings.Join(samples.Names(), ", "))
	file := fs.String("file", "", "send this file's bytes as the body instead of a sample")
	id := fs.String("id", "", "event ID (svix-id); default a new msg_… each run")
	jobID := fs.String("job-id", "", "replace data.job_id in the body (re-encodes the JSON)")
	times := fs.Int("times", 1, "deliver the same event this many times (a redelivery is a duplicate)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secret == "" {
		return errors.New("--secret or ANIMUS_WEBHOOK_SECRET is required")
	}

	body, err := samples.Get(*sample)
	if *file != "" {
		body, err = os.ReadFile(*file)
	}
	if err != nil {
		return err
	}
	if *jobID != "" {
		if body, err = withJobID(body, *jobID); err != nil {
			return err
		}
	}
	if *id == "" {
		*id = "msg_" + rand.Text()
	}

	client := &http.Client{Timeout: 20 * time.Second}
	failed := false
	for i := 0; i < *times; i++ {
		// Like Svix: same ID and body on every attempt, a new timestamp.
		h, err := webhook.Sign(*secret, *id, time.Now(), body)
		if err != nil {
			return err
		}
		req, err := http.NewRequest(http.MethodPost, *url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header = h
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(out, "%s %d %s\n", *id, resp.StatusCode, bytes.TrimSpace(answer))
		failed = failed || resp.StatusCode/100 != 2
	}
	if failed {
		return errors.New("a delivery was refused")
	}
	return nil
}

// withJobID returns body with data.job_id set to id.
func withJobID(body []byte, id string) ([]byte, error) {
	var event map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&event); err != nil {
		return nil, fmt.Errorf("--job-id: body is not JSON: %w", err)
	}
	data, ok := event["data"].(map[string]any)
	if !ok {
		return nil, errors.New("--job-id: body has no data object")
	}
	data["job_id"] = id
	return json.Marshal(event)
}
