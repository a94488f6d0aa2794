package animus

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mediaflow/mediaflow"
	"github.com/mediaflow/mediaflow/internal/samples"
)

// FuzzParse feeds arbitrary bodies to the envelope and job parsers: they
// must never panic, and a job they accept must survive the JSON round trip
// Temporal puts it through (mediaflow.Job's MarshalJSON and UnmarshalJSON)
// as the same job: the same fields, the same JSON values (encoding/json
// drops insignificant white space and escapes <, > and &, nothing else).
func FuzzParse(f *testing.F) {
	for _, name := range samples.Names() {
		body, _ := samples.Get(name)
		f.Add(body)
	}
	f.Add([]byte(`{"event_type":"media.completed","data":{"job_id":"j","job_id":"k"}}`))
	f.Add([]byte(`{"event_type":"media.completed","data":{"job_id":"j","status":null,"results":[[[[]]]]}}`))
	f.Add([]byte("{\"event_type\":\"media.completed\",\"data\":{\"job_id\":\"\xff\"}}"))
	f.Add([]byte(`[]`))
	// Member names that differ only in case, or are spelled with escapes:
	// the parser and the decoder must pick the same member.
	f.Add([]byte(`{"event_type":"media.completed","data":{"job_id":"j","JOB_ID":"k","Status":"failed","status":"completed"}}`))
	f.Add([]byte(`{"event_type":"media.completed","data":{"job\u005fid":"j","results":null,"error":"x"}}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := ParseEnvelope(body)
		if err == nil && !json.Valid(body) {
			t.Fatalf("accepted a body encoding/json calls invalid: %q", body)
		}
		if err != nil || env.EventType != EventMediaCompleted {
			return
		}
		job, err := ParseJob(env.Data)
		if err != nil {
			return
		}
		if job.JobID == "" || mediaflow.CheckID(job.JobID) != nil {
			t.Fatalf("accepted job ID %q", job.JobID)
		}
		b, err := json.Marshal(job)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back mediaflow.Job
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		if back.JobID != job.JobID || back.Status != job.Status || back.MediaURL != job.MediaURL ||
			!sameJSON(t, back.Raw, job.Raw) || !sameJSON(t, back.CustomPayload, job.CustomPayload) ||
			!sameJSON(t, back.Results, job.Results) || !sameJSON(t, back.Error, job.Error) {
			t.Fatalf("round trip changed the job: %s -> %s", job.Raw, back.Raw)
		}
	})
}

// sameJSON reports whether a and b hold the same JSON value, numbers
// compared as written.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	decode := func(raw []byte) any {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("decoding %s: %v", raw, err)
		}
		return v
	}
	return reflect.DeepEqual(decode(a), decode(b))
}
