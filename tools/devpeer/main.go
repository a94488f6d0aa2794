// Command devpeer stands in, during make dev, for what a local mediaflow
// talks to outside: it serves a sample media file for DownloadMedia and
// receives the worker's notifications and alerts, so a first run
// downloads a real file and delivers a real notification without
// anything on the internet. Dev only: it listens on loopback only.
//
//	go run ./tools/devpeer [--addr 127.0.0.1:8090] [--log data/notifications.log]
//
// Routes:
//
//	GET  /media/<name>  the files of media/ (launch-keynote.mp4: a 2 s test pattern, see media/README.md)
//	POST /notify        a notification (NOTIFY_URL): printed, appended to --log, answered 200
//	POST /alert         an alert (ALERT_URL): the same
//	GET  /healthz       200 while it runs
//
// With NOTIFY_SECRET set (the worker's setting), notifications must carry
// a valid signature, else they are answered 401. Exit status: 2 for bad
// flags, 1 when it cannot listen or open the log, 0 on --help or on
// SIGINT/SIGTERM.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mediaflow/mediaflow/internal/webhook"
	"github.com/mediaflow/mediaflow/tools/internal/cli"
	"github.com/mediaflow/mediaflow/tools/internal/load"
	"github.com/mediaflow/mediaflow/tools/localtemporal"
)

//go:embed media/*.mp4
var media embed.FS

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(cli.ExitCode("devpeer", run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil), os.Stderr))
}

// run serves until ctx is done. When ready is not nil it gets the
// address listened on (tests listen on port 0).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) error {
	flags := flag.NewFlagSet("devpeer", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.1:8090", "listen address, loopback only")
	logPath := flags.String("log", "data/notifications.log", "append each notification and alert received to this file, as a JSON line")
	if err := cli.Parse(flags, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "devpeer: unexpected arguments: %v\n", flags.Args())
		return cli.ErrUsage
	}
	if err := localtemporal.CheckHostPort(*addr); err != nil {
		return fmt.Errorf("--addr: %w: %w", errNotLoopback, err)
	}
	p, err := newPeer(stdout)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*logPath), 0o755); err != nil {
		return fmt.Errorf("--log: %w", err)
	}
	f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("--log: %w", err)
	}
	defer f.Close()
	p.Log = f
	srv, listening, err := load.StartPeer(*addr, p)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	base := "http://" + listening
	names, _ := fs.Glob(p.Media, "*")
	fmt.Fprintf(stdout, "media on %s%s %v; notifications to %s%s and %s%s, logged to %s\n",
		base, load.MediaPath, names, base, load.NotifyPath, base, load.AlertPath, *logPath)
	if ready != nil {
		ready <- listening
	}
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// newPeer is the peer with the embedded media, verifying signatures when
// NOTIFY_SECRET is set.
func newPeer(out io.Writer) (*load.Peer, error) {
	sub, err := fs.Sub(media, "media")
	if err != nil {
		return nil, err
	}
	p := &load.Peer{Media: sub, Out: out}
	if s := os.Getenv("NOTIFY_SECRET"); s != "" {
		if p.Verifier, err = webhook.NewVerifier([]string{s}); err != nil {
			return nil, fmt.Errorf("NOTIFY_SECRET: %w", err)
		}
	}
	return p, nil
}

// errNotLoopback is returned for an address that is not on this machine.
var errNotLoopback = errors.New("devpeer listens on loopback only (127.0.0.1, ::1, localhost)")
