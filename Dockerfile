# mediaflow: one image holding what ships (server, worker, health probe, and
# mediaflowctl for dead letters); the command picks the role. The tools under
# tools/ are not in it.
#   docker build -t mediaflow .
#   docker run mediaflow                               # the webhook server (default)
#   docker run mediaflow /usr/local/bin/worker         # the Temporal worker
# docker-compose.yml builds it for the server and the worker.

# Build: the Go version matches go.mod's `go` line (deploy/dockerfile_test.go
# checks it). Static binaries: the SQLite driver is modernc.org/sqlite, pure
# Go, so no cgo and no libc are needed at run time.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
# Blob store drivers beyond file:// and s3://, e.g.
# --build-arg GO_TAGS=mediaflow_gcs (gs://) or mediaflow_azure (azblob://);
# left out by default, as each costs every process memory.
ARG GO_TAGS=""
# The worker's Worker Versioning build ID (docs/production.md, "Rolling out a
# change"), e.g. --build-arg BUILD_ID=$(git rev-parse --short HEAD); empty:
# the worker derives one from its own binary.
ARG BUILD_ID=""
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -tags "$GO_TAGS" -ldflags="-s -w -X github.com/mediaflow/mediaflow/internal/app.BuildID=$BUILD_ID" \
    -o /out/ ./cmd/server ./cmd/worker ./cmd/probe ./cmd/mediaflowctl
# The default blob store (BLOB_URL file://./data/blobs), made here: the
# runtime image has no shell to make it, and a named volume mounted there
# takes its owner from the image.
RUN mkdir -p /home-data/blobs

# Run: distroless static, no shell and no package manager, as the image's
# nonroot user (65532, numeric so that Kubernetes' runAsNonRoot can check it).
FROM gcr.io/distroless/static-debian13:nonroot AS runtime
COPY --from=build /out/ /usr/local/bin/
# The worker's default SQLite file (data/mediaflow.db, when DATABASE_URL is
# unset) and the default blob store (data/blobs, when BLOB_URL is unset)
# land in the nonroot user's home, which it can write.
COPY --from=build --chown=65532:65532 /home-data/ /home/nonroot/data/
WORKDIR /home/nonroot
USER 65532:65532
EXPOSE 8080
# The server's readiness: 200 when Temporal answers. The worker serves no
# readiness (only its metrics): docker-compose.yml disables this check for
# it. When HTTP_ADDR moves the server off :8080, override the check too.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/probe", "http://127.0.0.1:8080/readyz"]
CMD ["/usr/local/bin/server"]
