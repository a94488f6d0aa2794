// Package animus reads the bodies of the webhook events Animus sends
// (payload shape per the Animus webhook docs) into the workflow's input:
// it parses the envelope as strict JSON and validates a media.completed
// job. It runs once per event, in the server; what it produces is
// mediaflow's contract (mediaflow.MediaCompletedInput), which workflows
// decode without validating again.
package animus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/mediaflow/mediaflow"
)

// EventMediaCompleted is the only event type mediaflow acts on.
const EventMediaCompleted = "media.completed"

// MaxIDLength bounds the event ID, data.job_id and data.status, in
// bytes (mediaflow.MaxIDLength).
const MaxIDLength = mediaflow.MaxIDLength

// ErrInvalidEventID is returned by ReadEvent for an event ID (svix-id)
// that Temporal can never take as a workflow ID.
var ErrInvalidEventID = errors.New("invalid event ID (svix-id)")

// Errors returned by ParseEnvelope and ParseJob. They name the problem; the
// HTTP layer answers 400 for each.
var (
	ErrNotJSON      = errors.New("body is not a JSON object")
	ErrInvalidField = errors.New("invalid field")
	ErrMissingJobID = errors.New("data.job_id is missing")
)

// Envelope is the outer object of every Animus event:
//
//	{"event_type": "media.completed", "timestamp": "2024-01-15T10:30:00Z", "data": {…}}
//
// Data is kept as received; ParseJob reads it.
type Envelope struct {
	EventType string
	// Timestamp is the envelope's timestamp when it is a JSON string, else "".
	Timestamp string
	Data      json.RawMessage
}

// ErrMissingEventType is returned by ParseEnvelope for an event without
// event_type.
var ErrMissingEventType = errors.New("event_type is missing")

// ParseEnvelope reads an event body. It returns ErrNotJSON when the body is
// not strict JSON (RFC 8259 with valid UTF-8 and no duplicate member
// names, so every reader of the signed bytes sees the same event) with an
// object at the top, ErrMissingEventType without event_type, and
// ErrInvalidField when event_type is not a string. Unknown fields are
// allowed.
func ParseEnvelope(body []byte) (Envelope, error) {
	var env Envelope
	var eventType []byte
	err := members(body, func(name string, value []byte) {
		switch name {
		case "event_type":
			eventType = value
		case "timestamp":
			// A non-string timestamp stays in the raw body only: it is
			// informational and must not make Svix redeliver forever.
			// So does one holding U+0000, which no text column holds.
			if optionalString(value, &env.Timestamp) != nil || strings.ContainsRune(env.Timestamp, 0) {
				env.Timestamp = ""
			}
		case "data":
			env.Data = value
		}
	})
	if err != nil {
		return Envelope{}, err
	}
	if err := optionalString(eventType, &env.EventType); err != nil {
		return Envelope{}, fmt.Errorf("%w: event_type must be a string", ErrInvalidField)
	}
	if env.EventType == "" {
		return Envelope{}, ErrMissingEventType
	}
	return env, nil
}

// Event is a verified body, read.
type Event struct {
	// Type is the envelope's event_type.
	Type string
	// Input is the workflow input of a media.completed event; nil for any
	// other type, which mediaflow acknowledges and ignores.
	Input *mediaflow.MediaCompletedInput
}

// ReadEvent reads the verified body of event eventID, received at
// receivedAt, with ParseEnvelope and, for media.completed, ParseJob; the
// job's status is classified here, once (mediaflow.ClassifyStatus). Its
// errors are theirs, and ErrInvalidEventID for an event ID longer than
// MaxIDLength or with a byte that is not printable ASCII: the Temporal
// client puts the workflow ID in a gRPC header, which takes nothing else.
func ReadEvent(eventID string, body []byte, receivedAt time.Time) (Event, error) {
	if err := mediaflow.CheckID(eventID); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrInvalidEventID, err)
	}
	env, err := ParseEnvelope(body)
	if err != nil {
		return Event{}, err
	}
	ev := Event{Type: env.EventType}
	if env.EventType != EventMediaCompleted {
		return ev, nil
	}
	job, err := ParseJob(env.Data)
	if err != nil {
		return ev, err
	}
	ev.Input = &mediaflow.MediaCompletedInput{
		EventID:        eventID,
		EventType:      env.EventType,
		EventTimestamp: env.Timestamp,
		ReceivedAt:     receivedAt.UTC(),
		Status:         mediaflow.ClassifyStatus(job.Status),
		Job:            job,
	}
	return ev, nil
}

// ParseJob reads a media.completed data object. It returns ErrNotJSON when
// data is not an object, ErrMissingJobID when job_id is absent or empty,
// and ErrInvalidField when job_id, status or media_url has the wrong type,
// job_id or status is longer than MaxIDLength, job_id has a byte that is
// not printable ASCII (it names the job's watch workflow,
// mediaflow.WatchID, which the Temporal client must be able to signal),
// or status or media_url holds U+0000 (PostgreSQL's text columns, and the
// jsonb of Temporal's PostgreSQL visibility store, refuse it).
func ParseJob(data json.RawMessage) (mediaflow.Job, error) {
	if !isObject(data) {
		return mediaflow.Job{}, fmt.Errorf("%w: data must be an object", ErrNotJSON)
	}
	job := mediaflow.Job{Raw: data}
	var jobID, status, mediaURL []byte
	err := members(data, func(name string, value []byte) {
		switch name {
		case "job_id":
			jobID = value
		case "status":
			status = value
		case "media_url":
			mediaURL = value
		case "results":
			job.Results = nonNull(value)
		case "error":
			job.Error = nonNull(value)
		case "custom_payload":
			job.CustomPayload = nonNull(value)
		}
	})
	if err != nil {
		return mediaflow.Job{}, err
	}
	for _, f := range []struct {
		name string
		raw  []byte
		dst  *string
	}{
		{"data.job_id", jobID, &job.JobID},
		{"data.status", status, &job.Status},
		{"data.media_url", mediaURL, &job.MediaURL},
	} {
		if err := optionalString(f.raw, f.dst); err != nil {
			return mediaflow.Job{}, fmt.Errorf("%w: %s must be a string", ErrInvalidField, f.name)
		}
	}
	if strings.TrimSpace(job.JobID) == "" {
		return mediaflow.Job{}, ErrMissingJobID
	}
	if err := mediaflow.CheckID(job.JobID); err != nil {
		return mediaflow.Job{}, fmt.Errorf("%w: data.job_id (its watch is the workflow animus-job-<job_id>): %w", ErrInvalidField, err)
	}
	if len(job.Status) > MaxIDLength {
		return mediaflow.Job{}, fmt.Errorf("%w: data.status is longer than %d bytes", ErrInvalidField, MaxIDLength)
	}
	for _, f := range []struct{ name, value string }{{"data.status", job.Status}, {"data.media_url", job.MediaURL}} {
		if strings.ContainsRune(f.value, 0) {
			return mediaflow.Job{}, fmt.Errorf("%w: %s holds U+0000, which no database text column holds", ErrInvalidField, f.name)
		}
	}
	return job, nil
}

// members calls fn with the name and value of each member of the JSON
// object b, in order; each value is a subslice of b, not a copy (offsets
// from jsontext's InputOffset). It returns ErrNotJSON unless b is one
// object of strict JSON: valid UTF-8, no duplicate member names at any
// depth (unlike encoding/json), nothing after it.
func members(b []byte, fn func(name string, value []byte)) error {
	if !isObject(b) {
		return ErrNotJSON
	}
	d := jsontext.NewDecoder(bytes.NewBuffer(b))
	if _, err := d.ReadToken(); err != nil { // '{'
		return fmt.Errorf("%w: %s", ErrNotJSON, describe(err))
	}
	for d.PeekKind() == '"' {
		tok, err := d.ReadToken()
		if err != nil {
			return fmt.Errorf("%w: %s", ErrNotJSON, describe(err))
		}
		name := tok.String() // the token is valid until the next read
		v, err := d.ReadValue()
		if err != nil {
			return fmt.Errorf("%w: %s", ErrNotJSON, describe(err))
		}
		end := int(d.InputOffset())
		fn(name, b[end-len(v):end])
	}
	if _, err := d.ReadToken(); err != nil { // '}', or what stands in its way
		return fmt.Errorf("%w: %s", ErrNotJSON, describe(err))
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return fmt.Errorf("%w: data after the object", ErrNotJSON)
	}
	return nil
}

// describe shortens the library's error to what a sender can act on.
func describe(err error) string {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v at byte %d", se.Err, se.ByteOffset)
	}
	return err.Error()
}

func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

// optionalString decodes a JSON string into dst; absent or null leaves dst
// empty.
func optionalString(raw []byte, dst *string) error {
	if len(nonNull(raw)) == 0 {
		return nil
	}
	return jsonv2.Unmarshal(raw, dst)
}

func nonNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	return raw
}
