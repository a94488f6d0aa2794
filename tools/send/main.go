// Command send delivers a signed Animus event to a mediaflow server, as
// Svix would: the body as is, with svix-id, svix-timestamp and
// svix-signature computed by the svix library.
//
//	go run ./tools/send [--secret whsec_…] [--url URL] [--sample success|failure|uppercase|unknown | --file F]
//	                    [--job-id ID] [--status S] [--media-url URL] [--id msg_…] [--times N] [--print]
//
// Each delivery prints the event ID, the HTTP status and the server's JSON
// answer; --print prints the body it sends first. The exit status is 1 when
// a delivery got no 2xx answer, 2 for bad flags, 0 for --help.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/tools/internal/cli"
	"github.com/mediaflow/mediaflow/tools/internal/load"
)

func main() {
	os.Exit(cli.ExitCode("send", run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

func run(args []string, out, stderr io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080/webhooks/animus", "webhook URL of the server")
	secret := fs.String("secret", os.Getenv("ANIMUS_WEBHOOK_SECRET"), "signing secret whsec_… (default $ANIMUS_WEBHOOK_SECRET)")
	sample := fs.String("sample", "success", "built-in sample body: "+strings.Join(samples.Names(), ", "))
	file := fs.String("file", "", "send this file's bytes as the body instead of a sample (sent as is unless a data flag is given)")
	id := fs.String("id", "", "event ID (svix-id); default a new msg_… each run")
	jobID := fs.String("job-id", "", "set data.job_id")
	status := fs.String("status", "", "set data.status (completed, failed, …)")
	mediaURL := fs.String("media-url", "", "set data.media_url")
	times := fs.Int("times", 1, "deliver the same event this many times (a redelivery is a duplicate)")
	printBody := fs.Bool("print", false, "print the body before sending it")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *secret == "" {
		return errors.New("--secret or ANIMUS_WEBHOOK_SECRET is required")
	}

	data := map[string]any{}
	for name, v := range map[string]string{"job_id": *jobID, "status": *status, "media_url": *mediaURL} {
		if v != "" {
			data[name] = v
		}
	}
	body, err := samples.Get(*sample)
	if *file != "" {
		body, err = os.ReadFile(*file)
	}
	if err == nil && len(data) > 0 {
		body, err = load.SetData(body, data)
	}
	if err != nil {
		return err
	}
	if *id == "" {
		*id = "msg_" + rand.Text()
	}
	if *printBody {
		fmt.Fprintf(out, "%s\n", body)
	}

	client := &http.Client{Timeout: 20 * time.Second}
	failed := false
	for range *times {
		// Like Svix: same ID and body on every attempt, a new timestamp.
		a, err := load.Deliver(context.Background(), client, *url, *secret, *id, body)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s %d %s\n", *id, a.Code, a.Body)
		failed = failed || a.Code/100 != 2
	}
	if failed {
		return errors.New("a delivery was refused")
	}
	return nil
}
