// Package localtemporal connects mediaflow's tools to a Temporal frontend
// on this machine (the tools measure and break only what runs here), and
// finds the Temporal CLI whose dev server make dev and the e2e tests run.
package localtemporal

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// Dial connects to the Temporal frontend at hostPort (loopback only) in
// namespace, with the SDK's logging off, retrying for up to wait while the
// frontend comes up (0: one try).
func Dial(ctx context.Context, hostPort, namespace string, wait time.Duration) (client.Client, error) {
	return DialOptions(ctx, hostPort, wait, func(o *client.Options) { o.Namespace = namespace })
}

// DialOptions is Dial with client options of the caller's: set sets them
// on options with hostPort and the SDK's logging off.
func DialOptions(ctx context.Context, hostPort string, wait time.Duration, set func(*client.Options)) (client.Client, error) {
	if err := CheckHostPort(hostPort); err != nil {
		return nil, err
	}
	opts := client.Options{Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))}
	set(&opts)
	opts.HostPort = hostPort
	deadline := time.Now().Add(wait)
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("temporal at %s: %w", hostPort, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// CheckURL refuses a URL that is not http(s) on a loopback host.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if !IsLoopback(u.Hostname()) {
		return fmt.Errorf("host %q is not loopback (127.0.0.0/8, ::1, localhost); the tools only target this machine", u.Hostname())
	}
	return nil
}

// CheckHostPort refuses a host:port whose host is not loopback.
func CheckHostPort(hostPort string) error {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return err
	}
	if !IsLoopback(host) {
		return fmt.Errorf("host %q is not loopback (127.0.0.0/8, ::1, localhost); the tools only target this machine", host)
	}
	return nil
}

// IsLoopback reports whether host is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
