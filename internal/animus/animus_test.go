package animus

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/samples"
)

func TestParseSamples(t *testing.T) {
	for _, name := range samples.Names() {
		t.Run(name, func(t *testing.T) {
			body, err := samples.Get(name)
			require.NoError(t, err)
			env, err := ParseEnvelope(body)
			require.NoError(t, err)
			if env.EventType != EventMediaCompleted {
				require.Equal(t, "unknown", name)
				return
			}
			job, err := ParseJob(env.Data)
			require.NoError(t, err)
			require.NotEmpty(t, job.JobID)
			require.True(t, mediaflow.ClassifyStatus(job.Status).Known())
		})
	}
}

func TestJobKeepsUnknownFieldsThroughJSON(t *testing.T) {
	data := json.RawMessage(`{"job_id":"j1","status":"failed","error":{"code":7},"results":null,"custom_payload":{"b":1,"a":[true]},"percent_complete":100}`)
	job, err := ParseJob(data)
	require.NoError(t, err)
	require.Nil(t, job.Results, "null results are absent")
	require.Equal(t, `{"code":7}`, string(job.Error))
	require.Equal(t, `{"b":1,"a":[true]}`, string(job.CustomPayload), "custom_payload untouched")

	// Through encoding/json, as Temporal's converter does.
	b, err := json.Marshal(struct{ Job mediaflow.Job }{job})
	require.NoError(t, err)
	var back struct{ Job mediaflow.Job }
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, job, back.Job)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty", ``, ErrNotJSON},
		{"array", `[1,2]`, ErrNotJSON},
		{"truncated", `{"event_type":"media.completed","data":{`, ErrNotJSON},
		{"invalid UTF-8", "{\"event_type\":\"media.completed\xff\"}", ErrNotJSON},
		{"event_type a number", `{"event_type":5}`, ErrInvalidField},
		{"no event_type", `{"data":{"job_id":"j"}}`, ErrMissingEventType},
		{"duplicate event_type", `{"event_type":"media.progress","event_type":"media.completed","data":{"job_id":"j"}}`, ErrNotJSON},
		{"duplicate job_id", `{"event_type":"media.completed","data":{"job_id":"a","job_id":"b"}}`, ErrNotJSON},
		{"duplicate key deep in results", `{"event_type":"media.completed","data":{"job_id":"a","results":[{"x":1,"x":2}]}}`, ErrNotJSON},
		{"trailing data", `{"event_type":"media.completed","data":{"job_id":"a"}} {}`, ErrNotJSON},
		{"nesting bomb", `{"event_type":"media.completed","data":{"job_id":"a","results":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}}`, ErrNotJSON},
		{"invalid UTF-8 in a key", "{\"event_type\":\"media.completed\",\"data\":{\"job_id\":\"a\",\"\xc3\x28\":1}}", ErrNotJSON},
		{"data a string", `{"event_type":"media.completed","data":"x"}`, ErrNotJSON},
		{"no job_id", `{"event_type":"media.completed","data":{"status":"completed"}}`, ErrMissingJobID},
		{"blank job_id", `{"event_type":"media.completed","data":{"job_id":"  "}}`, ErrMissingJobID},
		{"job_id a number", `{"event_type":"media.completed","data":{"job_id":42}}`, ErrInvalidField},
		{"status too long", `{"event_type":"media.completed","data":{"job_id":"j","status":"` + strings.Repeat("s", 3000) + `"}}`, ErrInvalidField},
		{"status an object", `{"event_type":"media.completed","data":{"job_id":"j","status":{}}}`, ErrInvalidField},
		// What Temporal or the stores can never take.
		{"job_id of 256 bytes", `{"event_type":"media.completed","data":{"job_id":"` + strings.Repeat("j", 256) + `"}}`, ErrInvalidField},
		{"job_id not ASCII", `{"event_type":"media.completed","data":{"job_id":"café"}}`, ErrInvalidField},
		{"job_id with U+0000", `{"event_type":"media.completed","data":{"job_id":"j\u0000"}}`, ErrInvalidField},
		{"job_id with a tab", `{"event_type":"media.completed","data":{"job_id":"j\tk"}}`, ErrInvalidField},
		{"job_id with DEL", `{"event_type":"media.completed","data":{"job_id":"j\u007f"}}`, ErrInvalidField},
		{"status of 256 bytes", `{"event_type":"media.completed","data":{"job_id":"j","status":"` + strings.Repeat("s", 256) + `"}}`, ErrInvalidField},
		{"status with U+0000", `{"event_type":"media.completed","data":{"job_id":"j","status":"completed\u0000"}}`, ErrInvalidField},
		{"media_url with U+0000", `{"event_type":"media.completed","data":{"job_id":"j","media_url":"https://m/a\u0000.mp4"}}`, ErrInvalidField},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tc.body))
			if err == nil {
				_, err = ParseJob(env.Data)
			}
			require.ErrorIs(t, err, tc.want, "got %v, want %v", err, tc.want)
		})
	}
}

func TestReadEvent(t *testing.T) {
	at := time.Date(2026, 11, 21, 9, 0, 1, 0, time.FixedZone("CET", 3600))
	ev, err := ReadEvent("msg_1", sample(t, "uppercase"), at)
	require.NoError(t, err)
	require.Equal(t, EventMediaCompleted, ev.Type)
	in := ev.Input
	require.Equal(t, "msg_1", in.EventID)
	require.Equal(t, "2026-11-21T09:00:00Z", in.EventTimestamp)
	require.Equal(t, at.UTC(), in.ReceivedAt)
	require.Equal(t, "COMPLETED", in.Job.Status, "the status as sent is kept")
	require.Equal(t, mediaflow.JobCompleted, in.Status, "and classified once, here")

	ev, err = ReadEvent("msg_2", sample(t, "unknown"), at)
	require.NoError(t, err)
	require.Nil(t, ev.Input, "another event type has no workflow input")
	require.NotEmpty(t, ev.Type)

	ev, err = ReadEvent("msg_3", []byte(`{"event_type":"media.completed","data":{}}`), at)
	require.ErrorIs(t, err, ErrMissingJobID)
	require.Equal(t, EventMediaCompleted, ev.Type, "the type is known even when the job is not")

	// A timestamp no text column holds is dropped, as a non-string one is.
	ev, err = ReadEvent("msg_4", []byte(`{"event_type":"media.completed","timestamp":"2026-11-21T09:00:00Z\u0000","data":{"job_id":"j"}}`), at)
	require.NoError(t, err)
	require.Empty(t, ev.Input.EventTimestamp)
	require.Contains(t, string(ev.Input.Job.Raw), `"job_id":"j"`)
}

// TestReadEventRefusesEventIDs: the event ID becomes the workflow ID, so
// one that Temporal can never take is refused, whatever the body.
func TestReadEventRefusesEventIDs(t *testing.T) {
	body := sample(t, "success")
	for _, id := range []string{
		"msg_" + strings.Repeat("x", 252), // 256 bytes
		"msg_\xff\xfe",                    // not UTF-8
		"msg_café",                        // UTF-8, not ASCII
		"msg_a\tb",                        // a control character net/http lets through
		"msg_\u0085",                      // a C1 control
		"msg_\x7f",
	} {
		_, err := ReadEvent(id, body, time.Now())
		require.ErrorIs(t, err, ErrInvalidEventID, "%q", id)
	}
	for _, id := range []string{"msg_" + strings.Repeat("x", 251), "msg_a b", "__temporal_x", "."} {
		_, err := ReadEvent(id, body, time.Now())
		require.NoError(t, err, "%q", id)
	}
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := samples.Get(name)
	require.NoError(t, err)
	return b
}
