package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// paddingField is the extra field added inside data to reach -size; the
// service keeps unknown fields, so the padding travels all the way into
// the workflow input and the database like a large results object would.
const paddingField = "loadgen_padding"

// jobIDPlaceholder marks where each event's job ID goes in the template.
// Nothing in a sample contains it.
const jobIDPlaceholder = "LOADGEN-JOB-ID-PLACEHOLDER"

// ids names the events of one phase: event IDs (svix-id, also the workflow
// ID) and job IDs are unique per run and per index, and all share a prefix
// so the e2e wait can find them with one visibility query.
type ids struct {
	token string // random, per phase
}

// EventPrefix is what every event ID of the phase starts with.
func (d ids) EventPrefix() string { return "msg_lg" + d.token + "_" }

// EventID returns the event ID of event i.
func (d ids) EventID(i int) string { return fmt.Sprintf("%s%08d", d.EventPrefix(), i) }

// JobID returns the job ID of event i; every job ID has the same length
// (for i below 10^8), so every body has the same size.
func (d ids) JobID(i int) string { return fmt.Sprintf("lg-%s-%08d", d.token, i) }

// Index returns i for an event ID made by EventID, or false.
func (d ids) Index(eventID string) (int, bool) {
	rest, ok := strings.CutPrefix(eventID, d.EventPrefix())
	if !ok || rest == "" {
		return 0, false
	}
	n := 0
	for _, r := range rest {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}

// template is a sample body with data.job_id cut out, so each event's body
// is prefix + job ID + suffix, built without re-encoding JSON per event.
type template struct {
	prefix, suffix []byte
}

// newTemplate re-encodes sample with a placeholder job ID and, when size is
// larger than the body would be, a padding string inside data so that the
// body with a job ID of jobIDLen bytes is size bytes long. It cannot make a
// body smaller than the sample; Size tells what it made.
func newTemplate(sample []byte, size, jobIDLen int) (*template, error) {
	encode := func(pad int) ([]byte, error) {
		var event map[string]any
		dec := json.NewDecoder(bytes.NewReader(sample))
		dec.UseNumber()
		if err := dec.Decode(&event); err != nil {
			return nil, fmt.Errorf("sample is not JSON: %w", err)
		}
		data, ok := event["data"].(map[string]any)
		if !ok {
			return nil, errors.New("sample has no data object")
		}
		data["job_id"] = jobIDPlaceholder
		if pad >= 0 {
			data[paddingField] = strings.Repeat("x", pad)
		}
		return json.Marshal(event)
	}
	b, err := encode(-1)
	if err != nil {
		return nil, err
	}
	sizeOf := func(b []byte) int { return len(b) - len(jobIDPlaceholder) + jobIDLen }
	if size > sizeOf(b) {
		if b, err = encode(0); err != nil {
			return nil, err
		}
		if pad := size - sizeOf(b); pad > 0 {
			if b, err = encode(pad); err != nil {
				return nil, err
			}
		}
	}
	prefix, suffix, ok := bytes.Cut(b, []byte(jobIDPlaceholder))
	if !ok {
		return nil, errors.New("job ID placeholder lost in encoding")
	}
	return &template{prefix: prefix, suffix: suffix}, nil
}

// Body returns the body of the event with jobID.
func (t *template) Body(jobID string) []byte {
	b := make([]byte, 0, len(t.prefix)+len(jobID)+len(t.suffix))
	b = append(b, t.prefix...)
	b = append(b, jobID...)
	return append(b, t.suffix...)
}

// Size returns the length of a body whose job ID is jobIDLen bytes.
func (t *template) Size(jobIDLen int) int { return len(t.prefix) + jobIDLen + len(t.suffix) }
