// Command probe is the container health check: distroless images have no
// curl or wget. It GETs the URL given as its only argument and exits 0 when
// the answer is 2xx, 1 otherwise (no answer within 2 s, a redirect, any other
// status, or a bad argument), printing why on stderr.
//
//	probe http://127.0.0.1:8080/readyz
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Timeout bounds the whole request, connection included: a health check
// that hangs is a failed one.
const Timeout = 2 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Stderr, Timeout))
}

func run(args []string, stderr io.Writer, timeout time.Duration) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: probe URL")
		return 1
	}
	if err := probe(args[0], timeout); err != nil {
		fmt.Fprintln(stderr, "probe:", err)
		return 1
	}
	return 0
}

func probe(url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	c := &http.Client{
		// No proxy from the environment: the probe targets the container
		// itself.
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		// A redirect is not a healthy answer; report it as it is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("GET %s: no answer within %s", url, timeout)
		}
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
