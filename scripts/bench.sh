#!/usr/bin/env bash
# Reproduces BENCHMARKS.md on this machine, loopback only, unattended, in
# at most BENCH_BUDGET seconds (default 1800: 30 minutes), then redraws its
# charts and tables (tools/benchplot):
#   1. micro-benchmarks: the handler's own cost (internal/httpapi) and the
#      workflow start as the server makes it (internal/app);
#   2. on a Temporal dev server (in memory), bin/server and bin/worker with
#      no optional step: webhook ingest against direct ExecuteWorkflow
#      starts (loadgen -baseline), mediaflow end to end against a bare
#      workflow of the same shape (loadgen -bare), acknowledgement latency
#      against offered rate (loadgen -sweep) and memory over 10,000 events
#      (loadgen -rss);
#   3. the worker again with every step configured (media from, and
#      notifications to, loadgen's loopback receiver): end to end against
#      the bare workflow, and against body size.
# Each comparison runs BENCH_RUNS times (4), alternating which side goes
# first (an even count, so each order counts as much: the second side runs
# on a dev server holding the first side's histories, which slows it); the tables give each run and the median. Every run's command is in
# commands.txt and its raw output in bench-results/<time>/.
#
#   scripts/bench.sh                      # the full report (make bench)
#   QUICK=1 scripts/bench.sh              # a tiny version (make bench-quick): charts and
#                                         # document go to bench-results/<time>/, not the repo
#   BENCH_MODE=cluster scripts/bench.sh   # the comparisons on make cluster's topology
#                                         # (make bench-cluster): PostgreSQL, Temporal 1.31,
#                                         # two servers, two workers
#
# Settings: BENCH_BUDGET (s), BENCH_RUNS, BENCH_SIZE (body bytes, 1024),
# BENCH_C (32), BENCH_N (events per comparison), BENCH_TEMPORAL_PORT (7240),
# BENCH_HTTP_PORT (18480), BENCH_RECEIVER_PORT (18560), BENCH_KEEP=1 (keep
# the temporary directory), BENCH_NO_DOC=1 (leave BENCHMARKS.md alone),
# BENCH_ONLY (some of: micro ingest bare-plain sweep rss bare-steps size; a
# report of part of the sections is drawn with the other parts' results:
# bin/benchplot -results DIR,DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

mode=${BENCH_MODE:-dev}
quick=${QUICK:-}
case $mode in
dev) need=(bin/temporal) ;;
cluster) need=(bin/temporal bin/temporal-server bin/temporal-sql-tool bin/temporal-ui-server) ;;
*) echo "bench: BENCH_MODE must be dev or cluster" >&2; exit 2 ;;
esac
for b in "${need[@]}"; do
	if [ ! -x "$b" ]; then
		echo "bench: no $b; run 'make ${b#bin/}' (or make cluster-tools) first." >&2
		exit 1
	fi
done

size=${BENCH_SIZE:-1024}
conc=${BENCH_C:-32}
if [ -n "$quick" ]; then
	budget=${BENCH_BUDGET:-300} runs=${BENCH_RUNS:-1} n=${BENCH_N:-60} ingest_n=100 big=300
	count=1 benchtime=200x sweep_rates=10,20 sweep_d=2s sizes="1024 65536"
else
	budget=${BENCH_BUDGET:-1800} runs=${BENCH_RUNS:-4} n=${BENCH_N:-1000} ingest_n=1500 big=10000
	count=3 benchtime=1s sweep_rates=25,50,100,200,300,400 sweep_d=6s sizes="1024 65536 1048576 16777216"
fi
# A fixed secret, used only by this script against its own servers.
secret=whsec_YmVuY2gtb25seS1zZWNyZXQtZm9yLXNjcmlwdHMtYmVuY2guc2g=
start_s=$SECONDS

stamp=$(date +%Y%m%d-%H%M%S)${quick:+-quick}$([ "$mode" = cluster ] && echo -cluster || true)
out=$root/bench-results/$stamp
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/mediaflow-bench.XXXXXX")

pids=()
cluster_up=
cleanup() {
	local code=$?
	trap - EXIT INT TERM
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "$cluster_up" ]; then scripts/cluster.sh stop >>"$out/cluster.log" 2>&1 || true; fi
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
# want SECTION: BENCH_ONLY is unset or names SECTION.
want() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }
section() { printf '\n== %s == (%d s of %d s used; load %s)\n' "$*" "$((SECONDS - start_s))" "$budget" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
left() { echo $((budget - (SECONDS - start_s))); }
# fits SECONDS: the budget still has SECONDS for the next step; if not,
# the step is skipped and the report says it was not measured.
fits() {
	if [ "$(left)" -lt "$1" ]; then
		echo "bench: skipped, $(left) s of the budget left and it needs about $1 s" | tee -a "$out/skipped.txt"
		return 1
	fi
}

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . ':!BENCHMARKS.md' ':!docs/bench' 2>/dev/null || echo ' (with local changes)')"
	echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the start"
	echo "go: $(go version | cut -d' ' -f3-)"
	echo "mode: $mode${quick:+ quick}, $runs runs per comparison, $n events each (ingest $ingest_n), body $size B, c=$conc, budget ${budget} s"
	echo "count: $count"
	echo "command: ${quick:+QUICK=1 }$([ "$mode" = cluster ] && echo 'BENCH_MODE=cluster ' || true)${BENCH_ONLY:+BENCH_ONLY=\"$BENCH_ONLY\" }scripts/bench.sh"
} | tee "$out/env.txt"

section "build"
go build -o bin/ ./cmd/server ./cmd/worker ./tools/loadgen ./tools/benchplot
echo "bin/server bin/worker bin/loadgen bin/benchplot built"

# Only what this run sets: nothing from the caller's Temporal, OpenTelemetry
# or mediaflow settings.
for v in $(compgen -e | grep -E '^(TEMPORAL_|MEDIA_|NOTIFY_|ALERT_|RATE_LIMIT_|TLS_|TRUSTED_PROXIES|MAX_BODY|BLOB_|DEBUG_ADDR|OTEL_)' || true); do unset "$v"; done
export ANIMUS_WEBHOOK_SECRET=$secret TEMPORAL_CONFIG_FILE=/dev/null TEMPORAL_NAMESPACE=default
export LOG_LEVEL=warn LOG_FORMAT=text
rport=$(pick_port "${BENCH_RECEIVER_PORT:-18560}")
receiver=127.0.0.1:$rport
# The worker's settings for "every step configured": media from loadgen's
# receiver (on loopback, which downloads refuse unless allowed), and
# notifications and alerts to it.
steps_env=(MEDIA_DIR="$work/media" MEDIA_ALLOWED_HOSTS=127.0.0.1 NOTIFY_URL="http://$receiver/notify" ALERT_URL="http://$receiver/alert")

cpu_pids=
urls=
bare_workers=1
failed=0
# lg NAME EVENTS ARGS...: one loadgen run, its JSON in NAME.json, its
# report in NAME.txt and on the terminal, its command in commands.txt. Its
# waits are bounded by a minute plus a tenth of a second per event, and by
# what is left of the budget.
lg() {
	local name=$1 events=$2 wait
	shift 2
	wait=$((60 + events / 10))
	wait=$((wait < $(left) ? wait : $(left)))
	wait=$((wait > 10 ? wait : 10))
	local cmd=(bin/loadgen -url "$urls" -temporal "$TEMPORAL_ADDRESS" -task-queue "$TEMPORAL_TASK_QUEUE" -size "$size"
		-wait "${wait}s" -drain -json -label "$name" -cpu "$cpu_pids" -bare-workers "$bare_workers" "$@")
	# The command as anyone can run it: process IDs by name, no temporary paths.
	printf '%s\t%s\n' "$name" "${cmd[*]}" | sed -E "s|$work|\$TMP|g; s/=[0-9]+(,| |$)/=PID\1/g; s/-server-pid [0-9]+/-server-pid PID/g; s/ -label [^ ]+//" >>"$out/commands.txt"
	# stderr (the report) through tee, stdout (the JSON) to its file.
	if ! "${cmd[@]}" 2>&1 >"$out/$name.json" | tee "$out/$name.txt"; then
		echo "bench: loadgen $name failed (see above); going on"
		failed=$((failed + 1))
	fi
}
# compare PREFIX EVENTS ARGS...: $runs runs of lg, every other one reversed.
compare() {
	local prefix=$1 events=$2 i
	shift 2
	for i in $(seq 1 "$runs"); do
		fits $((events / 5 + 30)) || return 0
		section "$prefix, run $i/$runs"
		if ((i % 2 == 0)); then lg "$prefix-$i" "$events" "$@" -reverse; else lg "$prefix-$i" "$events" "$@"; fi
	done
}

# ---------------------------------------------------------------------------
# Dev server
# ---------------------------------------------------------------------------
start_temporal() {
	tport=$(pick_port "${BENCH_TEMPORAL_PORT:-7240}")
	bin/temporal server start-dev --ip 127.0.0.1 --port "$tport" --headless --log-level warn \
		--search-attribute AnimusJobID=Keyword --search-attribute AnimusJobStatus=Keyword \
		--search-attribute AnimusWatchState=Keyword >"$out/temporal.log" 2>&1 &
	temporal_pid=$!
	pids+=("$temporal_pid")
	for _ in $(seq 1 120); do
		bin/temporal operator cluster health --address "127.0.0.1:$tport" >/dev/null 2>&1 && break
		kill -0 "$temporal_pid" 2>/dev/null || { echo "bench: the Temporal dev server exited:"; tail -20 "$out/temporal.log"; exit 1; }
		sleep 0.5
	done
	bin/temporal operator cluster health --address "127.0.0.1:$tport" >/dev/null 2>&1 || { echo "bench: Temporal not healthy after 60 s"; exit 1; }
	export TEMPORAL_ADDRESS=127.0.0.1:$tport TEMPORAL_TASK_QUEUE=animus-media
	echo "temporal: $(bin/temporal --version | head -1), dev server in memory" >>"$out/env.txt"
	echo "Temporal dev server on $TEMPORAL_ADDRESS, pid $temporal_pid"
}

# start_server [ENV=VALUE...]: bin/server with these settings too; fails
# when it does not become ready.
start_server() {
	hport=${hport:-$(pick_port "${BENCH_HTTP_PORT:-18480}")}
	env HTTP_ADDR="127.0.0.1:$hport" "$@" bin/server >>"$out/server.log" 2>&1 &
	server_pid=$!
	pids+=("$server_pid")
	for _ in $(seq 1 60); do
		curl -fsS "http://127.0.0.1:$hport/readyz" >/dev/null 2>&1 && break
		kill -0 "$server_pid" 2>/dev/null || return 1
		sleep 0.5
	done
	curl -fsS "http://127.0.0.1:$hport/readyz" >/dev/null 2>&1 || return 1
	urls=http://127.0.0.1:$hport/webhooks/animus
}

# start_worker [ENV=VALUE...]: bin/worker with these settings too.
start_worker() {
	env DATABASE_URL="sqlite://$work/mediaflow.db" WORKER_METRICS_ADDR=off BLOB_URL="file://$work/blobs" "$@" \
		bin/worker >>"$out/worker.log" 2>&1 &
	worker_pid=$!
	pids+=("$worker_pid")
	sleep 2
	kill -0 "$worker_pid" 2>/dev/null || { echo "bench: the worker exited:"; tail -20 "$out/worker.log"; exit 1; }
}

stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

run_dev() {
	# Before anything else runs, so the numbers are the code's alone.
	if want micro; then
		section "micro-benchmarks (go test -bench)"
		local micro=(go test -run '^$' -bench . -benchmem -count "$count" -benchtime "$benchtime" ./internal/httpapi/ ./internal/app/)
		printf 'micro\t%s\n' "${micro[*]}" >>"$out/commands.txt"
		"${micro[@]}" | tee "$out/micro.txt"
	fi

	section "Temporal dev server, worker (no optional step), server"
	start_temporal
	start_worker
	start_server BLOB_URL="file://$work/blobs" || { echo "bench: server not ready:"; tail -20 "$out/server.log"; exit 1; }
	cpu_pids=server=$server_pid,worker=$worker_pid,temporal=$temporal_pid
	echo "mediaflow: bin/server (pid $server_pid) on $urls, bin/worker (pid $worker_pid), SQLite job store; TEMPORAL_GRPC_COMPRESSION auto (none on loopback)" | tee -a "$out/env.txt"

	# Ingest: the direct starts as a default SDK client makes them (gzip),
	# then once more with loadgen's client as mediaflow's (no compression).
	if want ingest; then
		compare ingest "$ingest_n" -c "$conc" -n "$ingest_n" -baseline -grpc-compression gzip
		if [ -z "$quick" ] && fits 120; then
			section "ingest, direct starts without compression as well"
			lg ingest-same-1 "$ingest_n" -c "$conc" -n "$ingest_n" -baseline -grpc-compression none
			lg ingest-same-2 "$ingest_n" -c "$conc" -n "$ingest_n" -baseline -grpc-compression none -reverse
		fi
	fi

	if want bare-plain; then compare bare-plain "$n" -c "$conc" -n "$n" -bare; fi

	if want sweep && fits 150; then
		section "acknowledgement against offered rate ($sweep_rates/s, $sweep_d each)"
		lg sweep 2000 -sweep "$sweep_rates" -d "$sweep_d"
	fi

	if want rss && fits $((big / 40 + 60)); then
		section "$big events (c=$conc), memory"
		# A server that has seen only these events: RSS "after N events",
		# not after the sweep's overload above.
		stop_pid "$server_pid"
		start_server BLOB_URL="file://$work/blobs" || { echo "bench: server not ready:"; tail -20 "$out/server.log"; exit 1; }
		cpu_pids=server=$server_pid,worker=$worker_pid,temporal=$temporal_pid
		lg rss "$big" -c "$conc" -n "$big" -e2e -server-pid "$server_pid" -rss "server=$server_pid,worker=$worker_pid"
	fi

	want bare-steps || want size || return 0
	section "worker with every step configured (receiver $receiver)"
	stop_pid "$worker_pid"
	start_worker "${steps_env[@]}"
	cpu_pids=server=$server_pid,worker=$worker_pid,temporal=$temporal_pid
	if want bare-steps; then compare bare-steps "$n" -c "$conc" -n "$n" -bare -receiver "$receiver"; fi
	want size || return 0

	# Body sizes: 16 MiB needs the claim check (MAX_BODY_BYTES up to
	# 16 MiB); without it, the largest is 1 MiB (the default limit).
	local limit=16777216 s note=""
	stop_pid "$server_pid"
	if ! start_server BLOB_URL="file://$work/blobs" MAX_BODY_BYTES=$limit; then
		stop_pid "$server_pid"
		start_server BLOB_URL="file://$work/blobs" || { echo "bench: server not ready:"; tail -20 "$out/server.log"; exit 1; }
		limit=1048576
		note="16 MiB not measured: this commit's server refuses MAX_BODY_BYTES over 2,000,000 (the claim check, for 16 MiB events, is not in it); 1 MiB is the largest body it takes."
		echo "bench: $note"
	fi
	echo "sizes: ${note:-Bodies up to 16 MiB, MAX_BODY_BYTES=$limit.}" >>"$out/env.txt"
	cpu_pids=server=$server_pid,worker=$worker_pid,temporal=$temporal_pid
	for s in $sizes; do
		[ "$s" -le "$limit" ] || continue
		local events=300 c=$conc
		if [ "$s" -ge 1048576 ]; then events=60 c=8; fi
		if [ "$s" -ge 16777216 ]; then events=12 c=2; fi
		[ -z "$quick" ] || events=$((events / 10 + 5))
		fits $((events / 4 + 40)) || break
		section "body $s B, $events events"
		size=$s lg "size-$s" "$events" -c "$c" -n "$events" -e2e -receiver "$receiver"
	done
	size=${BENCH_SIZE:-1024}
}

# ---------------------------------------------------------------------------
# Cluster: scripts/cluster.sh's topology (fixed ports 7233, 8080, 8081)
# ---------------------------------------------------------------------------
cluster_pid() { awk -v n="$1" '$1 == n { print $2 }' data/cluster/pids 2>/dev/null; }

start_cluster() {
	for p in 7233 8080 8081 8233 9091 9092 "${PG_PORT:-5433}"; do
		port_free "$p" || { echo "bench: 127.0.0.1:$p is taken; the cluster needs it (is a cluster already running? scripts/cluster.sh stop)"; exit 1; }
	done
	echo "== $* ==" >>"$out/cluster.log"
	cluster_up=1
	env "$@" scripts/cluster.sh start >>"$out/cluster.log" 2>&1 || { echo "bench: the cluster did not start:"; tail -30 "$out/cluster.log"; exit 1; }
	export TEMPORAL_ADDRESS=127.0.0.1:7233 TEMPORAL_TASK_QUEUE=animus-media
	urls=http://127.0.0.1:8080/webhooks/animus,http://127.0.0.1:8081/webhooks/animus
	bare_workers=2
	cpu_pids=temporal=$(cluster_pid temporal-server),postgres=$(cluster_pid postgresql)
	for name in server-1 server-2 worker-1 worker-2; do cpu_pids+=",$name=$(cluster_pid "$name")"; done
	echo "cluster pids: $cpu_pids"
}

stop_cluster() {
	scripts/cluster.sh stop >>"$out/cluster.log" 2>&1 || true
	cluster_up=
}

run_cluster() {
	echo "temporal: temporal-server $(bin/temporal-server --version 2>/dev/null | head -1 | awk '{print $NF}') on PostgreSQL (scripts/cluster.sh)" >>"$out/env.txt"
	echo "mediaflow: two bin/server (:8080, :8081, taking turns), two bin/worker, PostgreSQL job store; loadgen's bare workflow on two workers" >>"$out/env.txt"
	if want ingest || want bare-plain; then
		section "cluster, workers with no optional step"
		start_cluster ANIMUS_WEBHOOK_SECRET="$secret" CLUSTER_MEDIA_DIR= LOG_FORMAT=json
		if want ingest; then
			compare ingest "$ingest_n" -c "$conc" -n "$ingest_n" -baseline -grpc-compression gzip
			if [ -z "$quick" ] && fits 120; then
				lg ingest-same-1 "$ingest_n" -c "$conc" -n "$ingest_n" -baseline -grpc-compression none
			fi
		fi
		if want bare-plain; then compare bare-plain "$n" -c "$conc" -n "$n" -bare; fi
		stop_cluster
	fi

	want bare-steps || return 0
	section "cluster, workers with every step configured (receiver $receiver)"
	start_cluster ANIMUS_WEBHOOK_SECRET="$secret" CLUSTER_MEDIA_DIR="$work/media" MEDIA_ALLOWED_HOSTS=127.0.0.1 \
		NOTIFY_URL="http://$receiver/notify" ALERT_URL="http://$receiver/alert" LOG_FORMAT=json
	compare bare-steps "$n" -c "$conc" -n "$n" -bare -receiver "$receiver"
	stop_cluster
}

if [ "$mode" = cluster ]; then run_cluster; else run_dev; fi

section "report"
echo "load_end: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the end, after $((SECONDS - start_s)) s" >>"$out/env.txt"
if [ -n "$quick" ] || [ -n "${BENCH_NO_DOC:-}" ]; then
	# A tiny run does not replace the report: its copy goes beside the raw outputs.
	cp BENCHMARKS.md "$out/BENCHMARKS.md"
	bin/benchplot -results "$out" -doc "$out/BENCHMARKS.md" -images "$out/charts"
	echo "report: $out/BENCHMARKS.md, charts in $out/charts"
else
	bin/benchplot -results "$out" -doc BENCHMARKS.md -images docs/bench
	echo "report: BENCHMARKS.md, charts in docs/bench/"
fi
if [ "$failed" -gt 0 ]; then
	echo "bench: $failed loadgen runs failed; the report says which were not measured"
	exit 1
fi
