package app

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/config"
	"github.com/mediaflow/mediaflow/internal/ingest"
	"github.com/mediaflow/mediaflow/internal/telemetry"
)

// The server's workflow start as internal/app builds it (client options,
// the SDK's metrics into the server's registry, TEMPORAL_GRPC_COMPRESSION)
// against a frontend that answers at once: the SDK's side of the server's
// cost per event, which is about half of it. Run with
//
//	go test -run '^$' -bench Start -benchmem ./internal/app/

// frontend answers what the SDK asks when it dials and starts a workflow.
type frontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
}

func (frontend) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{Capabilities: &workflowservice.GetSystemInfoResponse_Capabilities{}}, nil
}

func (frontend) StartWorkflowExecution(context.Context, *workflowservice.StartWorkflowExecutionRequest) (*workflowservice.StartWorkflowExecutionResponse, error) {
	return &workflowservice.StartWorkflowExecutionResponse{RunId: "run-bench", Started: true}, nil
}

// wireBytes counts the bytes of request messages as sent (compressed or
// not).
type wireBytes struct{ n atomic.Int64 }

func (w *wireBytes) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (w *wireBytes) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (w *wireBytes) HandleConn(context.Context, stats.ConnStats)                       {}
func (w *wireBytes) HandleRPC(_ context.Context, s stats.RPCStats) {
	if in, ok := s.(*stats.InPayload); ok {
		w.n.Add(int64(in.CompressedLength))
	}
}

func BenchmarkStart(b *testing.B) {
	for _, compression := range []string{config.CompressionGzip, config.CompressionNone} {
		b.Run(compression, func(b *testing.B) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			wire := &wireBytes{}
			srv := grpc.NewServer(grpc.StatsHandler(wire))
			workflowservice.RegisterWorkflowServiceServer(srv, frontend{})
			go srv.Serve(l)
			defer srv.Stop()

			cfg, err := config.LoadServer(config.Environ{
				"ANIMUS_WEBHOOK_SECRET": "whsec_YmVuY2gtc2VjcmV0LWZvci1zdGFydC1iZW5jaG1hcms=", "TEMPORAL_CONFIG_FILE": b.TempDir() + "/none.toml",
				"TEMPORAL_ADDRESS": l.Addr().String(), "TEMPORAL_GRPC_COMPRESSION": compression,
			})
			if err != nil {
				b.Fatal(err)
			}
			logger := slog.New(slog.DiscardHandler)
			opts := temporalOptions(cfg.Shared, logger)
			if _, _, err := telemetry.Instrument(context.Background(), "bench", logger, &opts, nil); err != nil {
				b.Fatal(err)
			}
			c, err := client.Dial(opts)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			starter := ingest.TemporalStarter{Client: c, TaskQueue: mediaflow.DefaultTaskQueue}
			in := benchInput(b)
			ctx := context.Background()
			wire.n.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				if _, err := starter.Start(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time, not wall time, is what a busy machine leaves
			// comparable; it includes the frontend's decoding.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(wire.n.Load())/float64(b.N), "wire-B/op")
		})
	}
}

// cpuTime is the process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchInput is an event of about 1 KiB as the server would start it.
func benchInput(b *testing.B) mediaflow.MediaCompletedInput {
	b.Helper()
	var job mediaflow.Job
	data := `{"job_id":"7c0e6f2a-3b1d-4e8f-9a52-1d6c2b7e4f10","status":"completed","media_url":"https://media.example.com/uploads/launch-keynote.mp4",` +
		`"results":[{"timestamp":"00:00:04","categories":["stage","presentation"],"participants":["speaker"],"actions":["talking"],"scene":"indoor auditorium","tags":["keynote"]},` +
		`{"timestamp":"00:01:12","categories":["product","device"],"participants":[],"actions":["demonstrating"],"scene":"close-up","tags":["demo","hardware"]}],` +
		`"custom_payload":{"customer_id":"cus_1042","upload_id":88213},"padding":"` + strings.Repeat("x", 500) + `"}`
	if err := job.UnmarshalJSON([]byte(data)); err != nil {
		b.Fatal(err)
	}
	return mediaflow.MediaCompletedInput{EventID: "msg_bench", EventType: "media.completed", EventTimestamp: "2026-11-20T14:03:27Z",
		ReceivedAt: time.Now().UTC(), Status: mediaflow.ClassifyStatus(job.Status), Job: job}
}
