package claimcheck

import (
	"net/http"
	"strings"

	"github.com/rs/cors"
	"go.temporal.io/sdk/converter"
)

// MaxRequestBytes bounds a request to the codec endpoint: the payloads of
// one history event, which Temporal's 4 MiB message limit bounds too.
const MaxRequestBytes = 4 << 20

// Handler serves c as a codec endpoint (Temporal's remote codec protocol,
// converter.NewPayloadCodecHTTPHandler): POST <any path>/decode with a
// JSON temporal.api.common.v1.Payloads, answered with the same payloads,
// references replaced by what they refer to. Only decoding: /encode and
// everything else is 404, so the endpoint cannot be used to write into the
// blob store. Browsers on origins (the Temporal UI's, e.g.
// http://localhost:8233) may call it (CORS, with credentials, and the
// X-Namespace and Authorization headers the UI sends). A body over
// MaxRequestBytes is refused.
//
// It authenticates nobody: whoever reaches it reads the event data that
// references point to. Serve it on a listener of its own, on loopback or
// behind an authenticating proxy, never on the webhook's.
func Handler(c *Codec, origins []string) http.Handler {
	decode := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/decode") {
			http.NotFound(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
		// Bound to the request: a browser that goes away stops the reads.
		converter.NewPayloadCodecHTTPHandler(c.WithContext(r.Context())).ServeHTTP(w, r)
	})
	return cors.New(cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   []string{http.MethodPost},
		AllowedHeaders:   []string{"Content-Type", "X-Namespace", "Authorization"},
		AllowCredentials: true,
	}).Handler(decode)
}
