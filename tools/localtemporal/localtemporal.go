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

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// Dial connects to the Temporal frontend at hostPort (loopback only),
// with the SDK's logging off; set, when not nil, sets the caller's other
// client options.
func Dial(ctx context.Context, hostPort string, set func(*client.Options)) (client.Client, error) {
	if err := CheckHostPort(hostPort); err != nil {
		return nil, err
	}
	opts := client.Options{Namespace: "default", Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))}
	if set != nil {
		set(&opts)
	}
	opts.HostPort = hostPort
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("temporal at %s: %w", hostPort, err)
	}
	return c, nil
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
	return checkLoopback(u.Hostname())
}

// CheckHostPort refuses a host:port whose host is not loopback.
func CheckHostPort(hostPort string) error {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return err
	}
	return checkLoopback(host)
}

// checkLoopback refuses a host that is neither localhost nor a loopback IP.
func checkLoopback(host string) error {
	if ip := net.ParseIP(host); strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("host %q is not loopback (127.0.0.0/8, ::1, localhost); the tools only target this machine", host)
}
