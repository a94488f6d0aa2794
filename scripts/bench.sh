#!/usr/bin/env bash
# Reproduces mediaflow's benchmark report on this machine, loopback only:
#   1. micro-benchmarks of the handler's own cost (internal/httpapi/bench_test.go);
#   2. a Temporal dev server (headless, 127.0.0.1), bin/worker and bin/server,
#      then tools/loadgen runs: acknowledgement cost against direct
#      ExecuteWorkflow (-baseline, 3 times), end-to-end rate (-e2e), an
#      open-loop run at a fixed rate, and a 10,000-event run with the
#      server's memory.
# Everything is printed and the raw outputs are kept in bench-results/<time>/.
#
#   scripts/bench.sh             # the full report
#   QUICK=1 scripts/bench.sh     # a tiny version, under a minute
#
# The full report starts about 27,000 workflows and lets each run's
# workflows finish before the next run starts (loadgen -drain), so it takes
# as long as the worker side needs: 10 to 25 minutes on 2 cores.
#
# Settings (environment): BENCH_DB=file (Temporal state in a SQLite file
# rather than in memory), BENCH_TEMPORAL_PORT (7240), BENCH_HTTP_PORT
# (18480), BENCH_SIZE (body bytes, 1024), BENCH_C (32), BENCH_RATE (open
# loop, 100/s), BENCH_KEEP=1 (keep the temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ ! -x bin/temporal ]; then
	echo "bench: no Temporal CLI at bin/temporal; run 'make temporal-cli' first (about 4 minutes)." >&2
	exit 1
fi

quick=${QUICK:-}
size=${BENCH_SIZE:-1024}
conc=${BENCH_C:-32}
rate=${BENCH_RATE:-100}
if [ -n "$quick" ]; then
	# Small enough that the worker, not only the server, is done in time.
	rate=${BENCH_RATE:-50}
	n=100 runs=1 big=300 rate_n=$((rate * 2)) count=1 benchtime=300x
else
	n=2000 runs=3 big=10000 rate_n=$((rate * 15)) count=3 benchtime=1s
fi
# A fixed secret, used only by this script against its own server.
secret=whsec_YmVuY2gtb25seS1zZWNyZXQtZm9yLXNjcmlwdHMtYmVuY2guc2g=

stamp=$(date +%Y%m%d-%H%M%S)${quick:+-quick}
out=$root/bench-results/$stamp
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/mediaflow-bench.XXXXXX")

pids=()
cleanup() {
	local code=$?
	trap - EXIT INT TERM
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work"; fi
	echo "raw outputs: $out"
	exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# pick_port START: the first free port from START, trying 20.
pick_port() {
	local p
	for p in $(seq "$1" "$(($1 + 19))"); do
		if port_free "$p"; then echo "$p"; return; fi
	done
	echo "bench: no free port from $1 to $(($1 + 19))" >&2
	return 1
}
section() { printf '\n== %s ==\n' "$*"; }

{
	echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
	echo "go:       $(go version)"
	echo "cpus:     $(nproc)   load: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "kernel:   $(uname -sr)"
	echo "mode:     ${quick:+QUICK }n=$n runs=$runs big=$big size=$size c=$conc rate=$rate db=${BENCH_DB:-memory}"
} | tee "$out/env.txt"

section "build"
go build -o bin/ ./cmd/server ./cmd/worker ./tools/loadgen
echo "bin/server bin/worker bin/loadgen built"

# Before anything else runs, so the numbers are the handler's alone.
section "micro-benchmarks (go test -bench, internal/httpapi)"
go test -run '^$' -bench . -benchmem -count "$count" -benchtime "$benchtime" ./internal/httpapi/ | tee "$out/micro.txt"

section "Temporal dev server"
tport=$(pick_port "${BENCH_TEMPORAL_PORT:-7240}")
hport=$(pick_port "${BENCH_HTTP_PORT:-18480}")
db_args=()
if [ "${BENCH_DB:-}" = file ]; then db_args=(--db-filename "$work/temporal.db"); fi
bin/temporal server start-dev --ip 127.0.0.1 --port "$tport" --headless --log-level warn \
	--search-attribute AnimusJobID=Keyword --search-attribute AnimusJobStatus=Keyword \
	"${db_args[@]}" >"$out/temporal.log" 2>&1 &
temporal_pid=$!
pids+=("$temporal_pid")
for _ in $(seq 1 120); do
	bin/temporal operator cluster health --address "127.0.0.1:$tport" >/dev/null 2>&1 && break
	kill -0 "$temporal_pid" 2>/dev/null || { echo "bench: the Temporal dev server exited:"; tail -20 "$out/temporal.log"; exit 1; }
	sleep 0.5
done
bin/temporal operator cluster health --address "127.0.0.1:$tport" >/dev/null 2>&1 || { echo "bench: Temporal not healthy after 60 s"; exit 1; }
echo "Temporal on 127.0.0.1:$tport (state ${BENCH_DB:-in memory}), pid $temporal_pid"

section "worker and server"
# Only what this run sets: no TEMPORAL_* (API key, TLS, profile) from the
# caller's environment, no optional steps, no rate limit.
for v in $(compgen -e | grep -E '^(TEMPORAL_|MEDIA_|NOTIFY_|ALERT_|RATE_LIMIT_|TLS_|TRUSTED_PROXIES)' || true); do unset "$v"; done
export ANIMUS_WEBHOOK_SECRET=$secret
export HTTP_ADDR=127.0.0.1:$hport
export TEMPORAL_ADDRESS=127.0.0.1:$tport TEMPORAL_NAMESPACE=default TEMPORAL_TASK_QUEUE=animus-media
# Nothing from this shell's Temporal or OpenTelemetry settings; no worker
# metrics listener (it would bind :9091 on all interfaces).
export TEMPORAL_CONFIG_FILE=/dev/null WORKER_METRICS_ADDR=off
unset TEMPORAL_API_KEY TEMPORAL_PROFILE TEMPORAL_TLS OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
export DATABASE_URL=sqlite://$work/mediaflow.db
export LOG_LEVEL=info LOG_FORMAT=text
bin/worker >"$out/worker.log" 2>&1 &
worker_pid=$!
pids+=("$worker_pid")
bin/server >"$out/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
ready=
for _ in $(seq 1 60); do
	if curl -fsS "http://$HTTP_ADDR/readyz" >/dev/null 2>&1; then ready=1; break; fi
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.5
done
if [ -z "$ready" ]; then echo "bench: server not ready:"; tail -20 "$out/server.log"; exit 1; fi
kill -0 "$worker_pid" 2>/dev/null || { echo "bench: the worker exited:"; tail -20 "$out/worker.log"; exit 1; }
echo "server http://$HTTP_ADDR (pid $server_pid), worker pid $worker_pid, database $DATABASE_URL"

url=http://$HTTP_ADDR/webhooks/animus
# loadgen NAME EVENTS ARGS...: one run; the report on stdout and in
# NAME.txt, the JSON object in NAME.json. Its waits for workflows to close
# are bounded by a minute plus a tenth of a second per event (the worker
# side is far slower than the ingest side on a small machine).
loadgen() {
	local name=$1 events=$2
	local wait=$((60 + events / 10))s
	shift 2
	# stderr (the report) through tee, stdout (the JSON) to its file.
	bin/loadgen -url "$url" -temporal "$TEMPORAL_ADDRESS" -task-queue "$TEMPORAL_TASK_QUEUE" \
		-size "$size" -wait "$wait" -drain -json -label "$name" "$@" \
		2>&1 >"$out/$name.json" | tee "$out/$name.txt" ||
		echo "bench: loadgen $name failed (see above); going on"
}

for i in $(seq 1 "$runs"); do
	section "acknowledgement cost: direct ExecuteWorkflow vs webhook (c=$conc, n=$n), run $i/$runs"
	loadgen "baseline-$i" "$n" -c "$conc" -n "$n" -baseline
done

section "end to end (c=$conc, n=$n)"
loadgen e2e "$n" -c "$conc" -n "$n" -e2e

section "open loop at $rate/s ($rate_n events)"
loadgen open-loop "$rate_n" -rate "$rate" -n "$rate_n" -e2e

section "$big events (c=$conc), server memory"
loadgen big "$big" -c "$conc" -n "$big" -e2e -server-pid "$server_pid"

curl -fsS "http://$HTTP_ADDR/metrics" >"$out/metrics.txt" 2>/dev/null || true

section "summary"
rss() { awk -v name="$2" '/^(VmRSS|VmHWM):/ {v[$1]=$2} END {printf "%-9s RSS %.1f MiB, peak %.1f MiB\n", name, v["VmRSS:"]/1024, v["VmHWM:"]/1024}' "/proc/$1/status" 2>/dev/null || true; }
{
	grep -h 'model name' /proc/cpuinfo | head -1 | sed 's/.*: /cpu:      /'
	if command -v jq >/dev/null; then
		echo "baseline runs (c=$conc, n=$n, body $size B): ingest/s direct/s ratio | p99 ms http direct diff"
		for i in $(seq 1 "$runs"); do
			jq -r '"  \(.label): \(.http.requests_per_s) \(.direct.requests_per_s) \(.ingest_over_direct) | \(.http.latency_ms.p99) \(.direct.latency_ms.p99) \(.p99_diff_ms)  codes \(.http.codes|tostring)"' "$out/baseline-$i.json"
		done
		for name in e2e open-loop big; do
			jq -r '"\(.label): ingest \(.http.requests_per_s)/s p99 \(.http.latency_ms.p99) ms codes \(.http.codes|tostring); completed \(.e2e.closed)/\(.e2e.started) at \(.e2e.completed_per_s)/s, delivery->completion p50 \(.e2e.delivery_to_completion_ms.p50) p99 \(.e2e.delivery_to_completion_ms.p99) ms\(if .server then "; server RSS \(.server.rss_mib) MiB (peak \(.server.peak_rss_mib))" else "" end)"' "$out/$name.json"
		done
	else
		grep -h -E '^(http|direct|ratio|e2e|server) ' "$out"/*.txt
	fi
	rss "$worker_pid" worker
	rss "$temporal_pid" temporal
	grep -h -E '^Benchmark' "$out/micro.txt" | awk '{printf "  %-28s %12s ns/op %10s B/op %6s allocs/op\n", $1, $3, $7, $9}'
} | tee "$out/summary.txt"
