package load

import (
	"github.com/mediaflow/mediaflow/tools/internal/svixsim"

	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// paddingField is the extra field added inside data to reach -size; the
// service keeps unknown fields, so the padding travels all the way into
// the workflow input and the database like a large results object would.
const paddingField = "loadgen_padding"

// JobIDPlaceholder marks where each event's job ID goes in the template.
// Nothing in a sample contains it.
const JobIDPlaceholder = "LOADGEN-JOB-ID-PLACEHOLDER"

// IDs names the events of one phase: event IDs (svix-id, also the workflow
// ID) and job IDs are unique per run and per index, and all share a prefix
// so the e2e wait can find them with one visibility query.
type IDs struct {
	Token string // random, per phase
}

// EventPrefix is what every event ID of the phase starts with.
func (d IDs) EventPrefix() string { return "msg_lg" + d.Token + "_" }

// EventID returns the event ID of event i.
func (d IDs) EventID(i int) string { return fmt.Sprintf("%s%08d", d.EventPrefix(), i) }

// JobID returns the job ID of event i; every job ID has the same length
// (for i below 10^8), so every body has the same size.
func (d IDs) JobID(i int) string { return fmt.Sprintf("lg-%s-%08d", d.Token, i) }

// Index returns i for an event ID made by EventID, or false.
func (d IDs) Index(eventID string) (int, bool) {
	rest, ok := strings.CutPrefix(eventID, d.EventPrefix())
	n, err := strconv.Atoi(rest)
	return n, ok && err == nil && !strings.ContainsAny(rest, "+-")
}

// Template is a sample body cut at each place its job ID goes (data.job_id,
// and the media URL when it names the job), so each event's body is built
// without re-encoding JSON per event.
type Template struct {
	parts [][]byte
}

// NewTemplate re-encodes sample with a placeholder job ID, data.media_url
// set to mediaURL when it is not empty (where it may hold the placeholder
// too) and, when size is larger than the body would be, a padding string
// inside data so that the body with a job ID of jobIDLen bytes is size
// bytes long. It cannot make a body smaller than the sample; Size tells
// what it made.
func NewTemplate(sample []byte, size, jobIDLen int, mediaURL string) (*Template, error) {
	encode := func(pad int) ([]byte, error) {
		members := map[string]any{"job_id": JobIDPlaceholder}
		if mediaURL != "" {
			members["media_url"] = mediaURL
		}
		if pad >= 0 {
			members[paddingField] = strings.Repeat("x", pad)
		}
		return svixsim.SetData(sample, members)
	}
	b, err := encode(-1)
	if err != nil {
		return nil, err
	}
	t := &Template{parts: bytes.Split(b, []byte(JobIDPlaceholder))}
	if size > t.Size(jobIDLen) {
		if b, err = encode(0); err != nil {
			return nil, err
		}
		t = &Template{parts: bytes.Split(b, []byte(JobIDPlaceholder))}
		if pad := size - t.Size(jobIDLen); pad > 0 {
			if b, err = encode(pad); err != nil {
				return nil, err
			}
			t = &Template{parts: bytes.Split(b, []byte(JobIDPlaceholder))}
		}
	}
	if len(t.parts) < 2 {
		return nil, errors.New("job ID placeholder lost in encoding")
	}
	return t, nil
}

// Body returns the body of the event with jobID.
func (t *Template) Body(jobID string) []byte {
	b := make([]byte, 0, t.Size(len(jobID)))
	for i, p := range t.parts {
		if i > 0 {
			b = append(b, jobID...)
		}
		b = append(b, p...)
	}
	return b
}

// Size returns the length of a body whose job ID is jobIDLen bytes.
func (t *Template) Size(jobIDLen int) int {
	n := (len(t.parts) - 1) * jobIDLen
	for _, p := range t.parts {
		n += len(p)
	}
	return n
}

// NewToken returns 12 random base32 characters, lowercased.
func NewToken() string { return strings.ToLower(rand.Text()[:12]) }
