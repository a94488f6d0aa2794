package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/mediaflow/mediaflow"
)

func postSigned(t *testing.T, url, id string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = signed(t, id, body)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func TestRateLimit(t *testing.T) {
	starter := &fakeStarter{}
	url, _ := serveReal(t, starter, func(o *Options) { o.Limiter = rate.NewLimiter(rate.Every(time.Hour), 2) })
	body := sample(t, "success")
	codes := []int{}
	for _, id := range []string{"msg_1", "msg_2", "msg_3"} {
		resp := postSigned(t, url, id, body)
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 429 {
			require.NotEmpty(t, resp.Header.Get("Retry-After"))
		}
	}
	require.Equal(t, []int{200, 200, 429}, codes)
	require.Equal(t, 2, starter.count(), "a limited request starts nothing")
}

// gatedStarter blocks every start until released.
type gatedStarter struct {
	entered chan struct{}
	release chan struct{}
}

func (g *gatedStarter) Start(ctx context.Context, _ mediaflow.MediaCompletedInput) (string, error) {
	g.entered <- struct{}{}
	<-g.release
	return "run", nil
}

func TestInflightStartsBounded(t *testing.T) {
	g := &gatedStarter{entered: make(chan struct{}, 2), release: make(chan struct{})}
	url, _ := serveReal(t, g, func(o *Options) { o.MaxInflightStarts = 2; o.StartTimeout = 5 * time.Second })
	body := sample(t, "success")

	var wg sync.WaitGroup
	for _, id := range []string{"msg_1", "msg_2"} {
		wg.Go(func() { require.Equal(t, 200, postSigned(t, url, id, body).StatusCode) })
	}
	<-g.entered
	<-g.entered
	// Both slots are taken: the third is refused at once, not queued.
	resp := postSigned(t, url, "msg_3", body)
	require.Equal(t, 503, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	close(g.release)
	wg.Wait()
}
