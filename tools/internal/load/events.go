package load

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
)

// paddingField is the extra field added inside data to reach a size; the
// service keeps unknown fields, so the padding travels all the way into
// the workflow input and the database like a large results object would.
const paddingField = "loadgen_padding"

// JobIDPlaceholder marks where each event's job ID goes in a Template: as
// long as every IDs.JobID, so every body of a template has its size.
const JobIDPlaceholder = "lg-xxxxxxxxxxxx-xxxxxxxx"

// IDs names the events of one phase: event IDs (svix-id, also the workflow
// ID) and job IDs are unique per run and per index, and all share a prefix
// so that one visibility query finds them.
type IDs struct {
	Token string // 12 random characters, per phase (NewToken)
}

// EventPrefix is what every event ID of the phase starts with.
func (d IDs) EventPrefix() string { return "msg_lg" + d.Token + "_" }

// EventID returns the event ID of event i.
func (d IDs) EventID(i int) string { return fmt.Sprintf("%s%08d", d.EventPrefix(), i) }

// JobID returns the job ID of event i, as long as JobIDPlaceholder (for i
// below 10^8).
func (d IDs) JobID(i int) string { return fmt.Sprintf("lg-%s-%08d", d.Token, i) }

// Index returns i for an event ID made by EventID, or false.
func (d IDs) Index(eventID string) (int, bool) {
	rest, ok := strings.CutPrefix(eventID, d.EventPrefix())
	n, err := strconv.Atoi(rest)
	return n, ok && err == nil && !strings.ContainsAny(rest, "+-")
}

// NewToken returns 12 random base32 characters, lowercased.
func NewToken() string { return strings.ToLower(rand.Text()[:12]) }

// Template is a sample body with JobIDPlaceholder where each event's job
// ID goes (data.job_id, and the media URL when it holds it too).
type Template []byte

// NewTemplate re-encodes sample with the placeholder job ID, data.media_url
// set to mediaURL when it is not empty and, when size is larger than the
// body would be, a padding string inside data that makes it size bytes. It
// never makes a body smaller than the sample.
func NewTemplate(sample []byte, size int, mediaURL string) (Template, error) {
	members := map[string]any{"job_id": JobIDPlaceholder}
	if mediaURL != "" {
		members["media_url"] = mediaURL
	}
	b, err := SetData(sample, members)
	if err != nil || size <= len(b) {
		return b, err
	}
	members[paddingField] = ""
	if b, err = SetData(sample, members); err != nil {
		return nil, err
	}
	members[paddingField] = strings.Repeat("x", max(size-len(b), 0))
	return SetData(sample, members)
}

// Body returns the body of the event with jobID.
func (t Template) Body(jobID string) []byte {
	return bytes.ReplaceAll(t, []byte(JobIDPlaceholder), []byte(jobID))
}
