// Package claimcheck keeps Temporal's payloads small whatever the size of
// an event: a payload larger than a threshold is stored in a blob store
// and replaced, in the workflow history, by a reference to it (the claim
// check pattern). Codec is the Temporal PayloadCodec that does it;
// DataConverter wires it into a client's options, for the server, the
// worker and mediaflowctl alike; Handler serves it over HTTP as a remote
// codec (the Temporal UI's "codec server", the CLI's --codec-endpoint), so
// that stored payloads stay readable there and that a workflow started or
// signalled from the UI or the CLI gets its payloads stored the same way.
//
// Blobs are content-addressed (payloads/sha256/<hex of the blob>): storing
// the same payload twice writes one blob, and every write is idempotent.
// Nothing here deletes a blob: a history may refer to it for as long as
// the namespace retains the workflow, so the store's own lifecycle rule
// removes them, after a delay longer than the retention.
package claimcheck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
	"google.golang.org/protobuf/proto"
)

// Encoding is the metadata "encoding" of a reference payload.
const Encoding = "binary/claim-check"

// KeyPrefix is where the blobs of stored payloads are, in the blob store.
const KeyPrefix = "payloads/sha256/"

// opTimeout bounds one blob store operation when the caller's context has
// no earlier deadline (a workflow task, the codec endpoint), so that a
// store that hangs fails the task, which Temporal retries.
const opTimeout = time.Minute

// keyPattern is the only shape of key a reference may name: a reference
// read from a history (or sent to the codec endpoint) cannot make the
// codec read any other blob, a dead letter for one.
var keyPattern = regexp.MustCompile(`^` + regexp.QuoteMeta(KeyPrefix) + `([0-9a-f]{64})$`)

// Reference is the data of a reference payload, as JSON: the key of the
// blob that holds the original payload (serialized as a protobuf
// temporal.api.common.v1.Payload, metadata and data) and its size in
// bytes, which tells a reader of the history what is behind it.
type Reference struct {
	Key  string `json:"key"`
	Size int    `json:"size"`
}

// Codec is a converter.PayloadCodec that stores each payload whose
// encoded size (proto.Size) is over Threshold bytes in Bucket and replaces
// it with a reference (metadata encoding Encoding, data a Reference);
// smaller payloads pass unchanged, readable in the Temporal UI as
// without a codec. Decode restores a referenced payload after checking
// the blob's SHA-256 against its key; other payloads pass unchanged.
//
// A Codec's blob operations use the context given by WithContext (the
// start of a workflow, an activity), bounded to a minute. Its errors
// (store down, blob missing; an *Error, of a kind such as ErrBlobMissing)
// are wrapped in converter.WorkflowTaskFailureError: in a
// workflow task they fail the task, which Temporal retries, never the
// workflow; elsewhere they fail the start (answered 503) or the activity
// attempt (retried by its retry policy).
type Codec struct {
	bucket    *blob.Bucket
	threshold int
	ctx       context.Context
}

// New returns a Codec storing payloads over threshold bytes in bucket.
func New(bucket *blob.Bucket, threshold int) *Codec {
	return &Codec{bucket: bucket, threshold: threshold, ctx: context.Background()}
}

// WithContext returns a copy of c whose blob operations use ctx.
func (c *Codec) WithContext(ctx context.Context) *Codec {
	cc := *c
	cc.ctx = ctx
	return &cc
}

// Encode implements converter.PayloadCodec.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil || proto.Size(p) <= c.threshold {
			out[i] = p
			continue
		}
		ref, err := c.store(p)
		if err != nil {
			return payloads, converter.NewWorkflowTaskFailureError(err)
		}
		out[i] = ref
	}
	return out, nil
}

// Decode implements converter.PayloadCodec.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil || string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		orig, err := c.load(p)
		if err != nil {
			return payloads, converter.NewWorkflowTaskFailureError(err)
		}
		out[i] = orig
	}
	return out, nil
}

func (c *Codec) store(p *commonpb.Payload) (*commonpb.Payload, error) {
	// Deterministic: the same payload is the same blob (metadata is a map).
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("claim check: %w", err)
	}
	key := blobKey(b)
	ctx, cancel := context.WithTimeout(c.ctx, opTimeout)
	defer cancel()
	// Content-addressed: a blob that exists holds these very bytes (a
	// payload re-encoded for each activity, a start retried).
	exists, err := c.bucket.Exists(ctx, key)
	if err != nil {
		return nil, &Error{Key: key, Kind: ErrStoreUnavailable, cause: err}
	}
	if !exists {
		if err := c.bucket.WriteAll(ctx, key, b, &blob.WriterOptions{ContentType: "application/x-protobuf"}); err != nil {
			return nil, &Error{Key: key, Kind: ErrStoreUnavailable, detail: fmt.Sprintf("storing %d bytes", len(b)), cause: err}
		}
	}
	data, err := json.Marshal(Reference{Key: key, Size: len(b)})
	if err != nil {
		return nil, fmt.Errorf("claim check: %w", err)
	}
	return &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding)}, Data: data}, nil
}

// load returns the payload p refers to. The key's shape is checked before
// anything is read, so that no reference makes the codec read (or tell
// whether there is) any other blob; what is read must hash to its key.
func (c *Codec) load(p *commonpb.Payload) (*commonpb.Payload, error) {
	var ref Reference
	if err := json.Unmarshal(p.GetData(), &ref); err != nil {
		return nil, &Error{Kind: ErrBadReference, detail: `data is not JSON {"key":…,"size":…}`, cause: err}
	}
	if !keyPattern.MatchString(ref.Key) {
		return nil, &Error{Key: ref.Key, Kind: ErrBadReference, detail: "a key is " + KeyPrefix + "<64 lowercase hex digits>"}
	}
	ctx, cancel := context.WithTimeout(c.ctx, opTimeout)
	defer cancel()
	b, err := c.bucket.ReadAll(ctx, ref.Key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, &Error{Key: ref.Key, Kind: ErrBlobMissing, cause: err}
	}
	if err != nil {
		return nil, &Error{Key: ref.Key, Kind: ErrStoreUnavailable, cause: err}
	}
	if blobKey(b) != ref.Key {
		return nil, &Error{Key: ref.Key, Kind: ErrBlobCorrupt, detail: "its content's SHA-256 is not the key's"}
	}
	var orig commonpb.Payload
	if err := proto.Unmarshal(b, &orig); err != nil {
		return nil, &Error{Key: ref.Key, Kind: ErrBlobCorrupt, detail: "not a serialized Payload", cause: err}
	}
	return &orig, nil
}

// blobKey is the key of a blob whose content is b.
func blobKey(b []byte) string {
	sum := sha256.Sum256(b)
	return KeyPrefix + hex.EncodeToString(sum[:])
}

// DataConverter returns the data converter of mediaflow's Temporal
// clients (client.Options.DataConverter): Temporal's default converter
// (JSON) with c as its codec. A start or an activity binds c to its own
// context (converter.ContextAware), so a server's START_TIMEOUT bounds the
// blob write too. Workflow code is exempt from the deadlock detector while
// the codec reads or writes blobs (workflow.DataConverterWithoutDeadlockDetection):
// a workflow task that reads its input from the store takes the time it
// takes, bounded by the workflow task timeout.
func DataConverter(c *Codec) converter.DataConverter {
	return workflow.DataConverterWithoutDeadlockDetection(newContextual(c))
}

// contextual is the codec data converter, made converter.ContextAware.
type contextual struct {
	converter.DataConverter
	codec *Codec
}

func newContextual(c *Codec) *contextual {
	return &contextual{DataConverter: converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c), codec: c}
}

// WithContext implements converter.ContextAware.
func (d *contextual) WithContext(ctx context.Context) converter.DataConverter {
	return newContextual(d.codec.WithContext(ctx))
}

// WithWorkflowContext implements converter.ContextAware: a workflow's
// context is no Go context, so the codec keeps its own.
func (d *contextual) WithWorkflowContext(workflow.Context) converter.DataConverter { return d }
