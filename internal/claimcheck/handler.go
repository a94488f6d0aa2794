package claimcheck

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/rs/cors"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// MaxRequestBytes bounds a request to the codec endpoint: the payloads of
// one history event, or of one start or signal, which Temporal's 4 MiB
// message limit bounds too.
const MaxRequestBytes = 4 << 20

// MaxAnswerBytes bounds the payloads of one answer: a reference of about
// 150 bytes may name a blob of megabytes, as often as a request repeats
// it. Four times the largest event the server takes (MAX_BODY_BYTES, at
// most 16 MiB).
const MaxAnswerBytes = 64 << 20

// RequestTimeout bounds the blob store's work for one request to the codec
// endpoint: a store slower than that is answered 503, rather than keeping
// a page of the UI waiting.
const RequestTimeout = 15 * time.Second

// retryAfter is the Retry-After of a 503, in seconds.
const retryAfter = "5"

// Handler serves c as a remote codec, the protocol of the Temporal UI and
// CLI (converter.NewPayloadCodecHTTPHandler): POST <any path>/encode and
// <any path>/decode (the UI's endpoint may carry a path prefix such as
// /{namespace} and a query), each with a JSON (protojson)
// temporal.api.common.v1.Payloads, answered 200 with the same number of
// payloads, each encoded (a payload over the threshold stored, replaced by
// a reference) or decoded (a reference replaced by what it refers to).
// The UI encodes the input of a workflow or signal it sends, and decodes
// what it shows; the CLI does both through --codec-endpoint.
//
// Errors are JSON {"error": "…"} naming the problem and the blob's key,
// never the store's own error (it may name paths on disk, and is logged
// to logger instead) nor a blob's content:
//
//   - 400 a body that is not Payloads JSON, or an ErrBadReference;
//   - 403 a browser's request from an origin not in origins;
//   - 404 a path not ending in /encode or /decode, or an ErrBlobMissing;
//   - 405 not POST; 413 a body over MaxRequestBytes, or an answer
//     whose payloads would be over MaxAnswerBytes;
//   - 415 a Content-Type other than application/json;
//   - 500 an ErrBlobCorrupt;
//   - 503 with Retry-After: ErrStoreUnavailable, or a store slower than
//     RequestTimeout: the UI shows it as a codec error until reloaded.
//
// Pages on origins (the Temporal UI's, e.g. http://localhost:8233) may
// call it from the browser (CORS, with credentials, and the headers the
// UI sends in each of its codec settings: Content-Type, X-Namespace, and
// with "Pass access token" Authorization and Authorization-Extras).
//
// It authenticates nobody: whoever reaches it reads the event data that
// references point to, and can store blobs. What bounds the writes: a
// payload is stored only under the SHA-256 of its own content, so no
// request can replace a blob or write elsewhere in the store (a dead
// letter, say); a request is at most MaxRequestBytes; a web page of
// another origin can neither get a CORS grant nor send a request without
// one (JSON is required, and a foreign Origin is refused before anything
// is read). Serve it on a listener of its own, on loopback or behind an
// authenticating proxy, never on the webhook's.
func Handler(c *Codec, origins []string, logger *slog.Logger) http.Handler {
	cs := cors.New(cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   []string{http.MethodPost},
		AllowedHeaders:   []string{"Content-Type", "X-Namespace", "Authorization", "Authorization-Extras"},
		AllowCredentials: true,
		// Spares a preflight before each of the UI's many decodes.
		MaxAge: 600,
	})
	return cs.Handler(&handler{codec: c, cors: cs, logger: logger})
}

type handler struct {
	codec  *Codec
	cors   *cors.Cors
	logger *slog.Logger
}

// operations are the codec's operations by the last element of the path.
var operations = map[string]func(*Codec, []*commonpb.Payload) ([]*commonpb.Payload, error){
	"encode": (*Codec).Encode,
	"decode": (*Codec).Decode,
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	op, ok := operations[name]
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "no such codec operation: the endpoint serves POST <path>/encode and <path>/decode")
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: POST")
		return
	case r.Header.Get("Origin") != "" && !h.cors.OriginAllowed(r):
		writeError(w, http.StatusForbidden, "origin "+r.Header.Get("Origin")+" may not call the codec endpoint (CODEC_CORS_ORIGINS)")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "request body over 4 MiB")
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return
	}
	var in commonpb.Payloads
	if err := protojson.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, `body is not JSON {"payloads":[…]} (temporal.api.common.v1.Payloads): `+err.Error())
		return
	}
	// Bound to the request too: a browser that goes away stops the work.
	ctx, cancel := context.WithTimeout(r.Context(), RequestTimeout)
	defer cancel()
	codec := h.codec.WithContext(ctx)
	out := make([]*commonpb.Payload, 0, len(in.Payloads))
	size := 0
	// One at a time, so that an answer over MaxAnswerBytes is refused
	// before it is held.
	for _, p := range in.Payloads {
		res, err := op(codec, []*commonpb.Payload{p})
		if err != nil {
			h.fail(w, r, name, err)
			return
		}
		if size += proto.Size(res[0]); size > MaxAnswerBytes {
			writeError(w, http.StatusRequestEntityTooLarge, "decoded payloads over 64 MiB: send fewer at a time")
			return
		}
		out = append(out, res[0])
	}
	writePayloads(w, out)
}

// fail answers err, an error of the Codec, with its status and public
// message, and logs it whole.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrBadReference):
		code = http.StatusBadRequest
	case errors.Is(err, ErrBlobMissing):
		code = http.StatusNotFound
	case errors.Is(err, ErrStoreUnavailable):
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", retryAfter)
	}
	msg := "claim check: internal error"
	var e *Error
	if errors.As(err, &e) {
		msg = e.Public()
	}
	level := slog.LevelWarn
	if code == http.StatusBadRequest {
		level = slog.LevelInfo
	}
	h.logger.Log(r.Context(), level, "codec request failed", "op", op, "status", code, "error", err,
		"namespace", r.Header.Get("X-Namespace"))
	writeError(w, code, msg)
}

func writePayloads(w http.ResponseWriter, payloads []*commonpb.Payload) {
	// protojson writes no field for an empty list; the UI reads .payloads.
	body := []byte(`{"payloads":[]}`)
	if len(payloads) > 0 {
		var err error
		if body, err = protojson.Marshal(&commonpb.Payloads{Payloads: payloads}); err != nil {
			writeError(w, http.StatusInternalServerError, "encoding the answer: "+err.Error())
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
