#!/usr/bin/env bash
# Runs the whole service locally: the Temporal dev server (UI on :8233,
# state in data/temporal.db, search attributes registered), the worker and
# the server. Ctrl-C stops all of it. Called by `make dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

export ANIMUS_WEBHOOK_SECRET="${ANIMUS_WEBHOOK_SECRET:-$DEV_SECRET}"
export HTTP_ADDR="${HTTP_ADDR:-127.0.0.1:8080}"
# Downloads refuse this machine's addresses unless allowed; in development
# media is often served from this machine (docs/downloads.md).
export MEDIA_ALLOWED_HOSTS="${MEDIA_ALLOWED_HOSTS-127.0.0.1,::1,localhost}"
# The codec endpoint the UI calls to show large event data (docs/large-events.md);
# loopback: it decodes event data for whoever reaches it.
export CODEC_ADDR="${CODEC_ADDR:-127.0.0.1:8234}"
# The local dev server, whatever Temporal settings this shell or a
# Temporal config file (a Cloud profile, say) would otherwise bring.
export TEMPORAL_ADDRESS=127.0.0.1:7233 TEMPORAL_NAMESPACE=default TEMPORAL_CONFIG_FILE=/dev/null
unset TEMPORAL_API_KEY TEMPORAL_PROFILE TEMPORAL_TLS TEMPORAL_TLS_CLIENT_CERT_PATH TEMPORAL_TLS_CLIENT_KEY_PATH \
	TEMPORAL_TLS_CLIENT_CERT_DATA TEMPORAL_TLS_CLIENT_KEY_DATA TEMPORAL_TLS_SERVER_CA_CERT_PATH \
	TEMPORAL_TLS_SERVER_CA_CERT_DATA TEMPORAL_TLS_SERVER_NAME
mkdir -p data

echo "Building the server, the worker, mediaflowctl and the sender..."
go build -o bin/ ./cmd/server ./cmd/worker ./cmd/mediaflowctl ./tools/send

pids=()
stop() {
	trap - EXIT INT TERM
	echo
	echo "Stopping..."
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap stop EXIT
# Ctrl-C is how a user stops it: a clean exit, not an error.
trap 'stop; exit 0' INT TERM

echo "Starting the Temporal dev server (log: data/temporal.log)..."
bin/temporal server start-dev --ip 127.0.0.1 --ui-port 8233 \
	--db-filename data/temporal.db --log-level warn \
	--search-attribute AnimusJobID=Keyword --search-attribute AnimusJobStatus=Keyword \
	--search-attribute AnimusWatchState=Keyword \
	--ui-codec-endpoint "http://$CODEC_ADDR" \
	>data/temporal.log 2>&1 &
pids+=($!)

for _ in $(seq 1 120); do
	bin/temporal operator cluster health --address 127.0.0.1:7233 >/dev/null 2>&1 && break
	kill -0 "${pids[0]}" 2>/dev/null || { echo "The Temporal dev server exited; see data/temporal.log"; tail -20 data/temporal.log; exit 1; }
	sleep 0.5
done
kill -0 "${pids[0]}" 2>/dev/null || { echo "The Temporal dev server exited (is port 7233 or 8233 taken?); see data/temporal.log"; exit 1; }

bin/worker &
pids+=($!)
bin/server &
pids+=($!)

ready=
for _ in $(seq 1 60); do
	if curl -fsS "http://$HTTP_ADDR/readyz" >/dev/null 2>&1; then ready=1; break; fi
	sleep 0.5
done
if [ -z "$ready" ]; then
	echo "The server did not become ready in 30 s (is $HTTP_ADDR taken?); see the lines above."
	exit 1
fi

cat <<MSG

mediaflow is running (ready in $(( $(date +%s) - started )) s):
  webhook     http://$HTTP_ADDR/webhooks/animus
  Temporal UI http://localhost:8233 (large payloads decoded by http://$CODEC_ADDR)
  dead letters bin/mediaflowctl list (docs/recovery.md)
MSG
if [ "$ANIMUS_WEBHOOK_SECRET" = "$DEV_SECRET" ]; then
	echo "  secret      $DEV_SECRET (dev only)"
fi
cat <<MSG

Next, in another terminal, send a signed sample event:
  make send                     # or: make send ARGS="--sample failure"
then open http://localhost:8233 and find it with: AnimusJobID="7c0e6f2a-3b1d-4e8f-9a52-1d6c2b7e4f10"

Ctrl-C stops everything.
MSG

# Stop everything when any of the three exits.
wait -n "${pids[@]}"
echo "A process exited; stopping the rest."
