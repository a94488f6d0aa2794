package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	svix "github.com/svix/svix-webhooks/go"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/animus"
	"github.com/mediaflow/mediaflow/internal/httpapi"
	"github.com/mediaflow/mediaflow/internal/samples"
	"github.com/mediaflow/mediaflow/internal/webhook"
)

// The handler's own cost, with Temporal out of the picture: verify, parse,
// route and answer through httpapi.Server, with a Starter that returns
// at once. BenchmarkSvixVerify is the svix library's Verify alone on the
// same bodies: the floor under the handler. Run with
//
//	go test -run '^$' -bench . -benchmem ./internal/httpapi/

const benchSecret = "whsec_YmVuY2gtc2VjcmV0LWZvci1odHRwYXBpLWJlbmNobWFya3M="

var benchSizes = []struct {
	name string
	size int
}{
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
}

// nopStarter starts nothing and returns at once.
type nopStarter struct{}

func (nopStarter) Start(context.Context, mediaflow.MediaCompletedInput) (string, error) {
	return "run-bench", nil
}

// paddedSample returns the success sample with a string field added inside
// data so that the body is size bytes (the service keeps unknown fields).
func paddedSample(b *testing.B, size int) []byte {
	b.Helper()
	raw, err := samples.Get("success")
	if err != nil {
		b.Fatal(err)
	}
	encode := func(pad string) []byte {
		var event map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&event); err != nil {
			b.Fatal(err)
		}
		event["data"].(map[string]any)["bench_padding"] = pad
		out, err := json.Marshal(event)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	short := size - len(encode(""))
	if short < 0 {
		b.Fatalf("the sample alone is over %d bytes", size)
	}
	body := encode(strings.Repeat("x", short))
	if len(body) != size {
		b.Fatalf("body is %d bytes, want %d", len(body), size)
	}
	return body
}

// signedHeaders signs body as Svix would, now.
func signedHeaders(b *testing.B, body []byte) http.Header {
	b.Helper()
	h, err := webhook.Sign(benchSecret, "msg_bench0000000000000000000", time.Now(), body)
	if err != nil {
		b.Fatal(err)
	}
	h.Set("Content-Type", "application/json")
	return h
}

// rewindBody lets one request be served many times without allocating:
// Reset puts the same bytes back before each iteration.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

// resignAfter keeps the signature's timestamp well inside the verifier's
// 5-minute tolerance however long a run lasts.
const resignAfter = 2 * time.Minute

// loopSigned runs the benchmark loop over body, calling run with headers
// that sign it, signed again (outside the timer) before they get too old.
func loopSigned(b *testing.B, body []byte, run func(h http.Header)) {
	b.Helper()
	h := signedHeaders(b, body)
	signedAt := time.Now()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i&1023 == 0 && time.Since(signedAt) > resignAfter {
			b.StopTimer()
			h = signedHeaders(b, body)
			signedAt = time.Now()
			b.StartTimer()
		}
		run(h)
	}
}

func BenchmarkHandler(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			v, err := webhook.NewVerifier([]string{benchSecret})
			if err != nil {
				b.Fatal(err)
			}
			h, err := httpapi.New(httpapi.Options{
				Verifier:          v,
				Starter:           nopStarter{},
				Ready:             func(context.Context) error { return nil },
				MaxBodyBytes:      1 << 20,
				StartTimeout:      5 * time.Second,
				MaxInflightStarts: 256,
				// The default format (text), written nowhere: formatting
				// the request's log line is part of the handler's cost.
				Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
				Registry: prometheus.NewRegistry(),
			})
			if err != nil {
				b.Fatal(err)
			}
			body := paddedSample(b, sz.size)
			rb := &rewindBody{}
			req := httptest.NewRequest(http.MethodPost, httpapi.WebhookPath, nil)
			req.Body = rb
			req.ContentLength = int64(len(body))
			req.Header = signedHeaders(b, body)

			// One request outside the loop, checked: a benchmark of 401s
			// would measure the wrong thing.
			rb.Reset(body)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"started"`) {
				b.Fatalf("got %d %s, want 200 started", rec.Code, rec.Body)
			}

			loopSigned(b, body, func(signed http.Header) {
				req.Header = signed
				rb.Reset(body)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("got %d %s", rec.Code, rec.Body)
				}
			})
		})
	}
}

// BenchmarkSvixVerify is the svix library's Verify alone (timestamp
// tolerance, HMAC-SHA256, constant-time compare): what any handler of a
// Svix webhook pays at least.
func BenchmarkSvixVerify(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			wh, err := svix.NewWebhook(benchSecret)
			if err != nil {
				b.Fatal(err)
			}
			body := paddedSample(b, sz.size)
			loopSigned(b, body, func(h http.Header) {
				if err := wh.Verify(body, h); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkVerifier is mediaflow's webhook.Verifier (header sets, its own
// timestamp check, then the library) on the same bodies, to split the
// handler's cost between verification and the rest.
func BenchmarkVerifier(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			v, err := webhook.NewVerifier([]string{benchSecret})
			if err != nil {
				b.Fatal(err)
			}
			body := paddedSample(b, sz.size)
			loopSigned(b, body, func(h http.Header) {
				if _, err := v.Verify(body, h); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkParse is the handler's reading of the body alone
// (animus.ReadEvent), as the handler calls it after verification.
func BenchmarkParse(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			body := paddedSample(b, sz.size)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := animus.ReadEvent("msg_bench", body, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
