#!/usr/bin/env bash
# Reproduces BENCHMARKS.md on this machine, loopback only, unattended, in
# at most BENCH_BUDGET seconds (default 1800: 30 minutes), then redraws its
# charts and tables (tools/benchplot):
#   1. micro-benchmarks: the handler's own cost (internal/httpapi) and the
#      workflow start as the server makes it (internal/app);
#   2. on a dev server stack of its own (tools/stack: the Temporal dev
#      server in memory, bin/server and bin/worker), the worker with no
#      optional step: webhook ingest against direct ExecuteWorkflow
#      starts (loadgen -baseline), mediaflow end to end against a bare
#      workflow of the same shape (loadgen -bare), acknowledgement latency
#      against offered rate (loadgen -sweep) and memory over 10,000 events
#      (loadgen -rss);
#   3. a new stack, the worker with every step configured (media from, and
#      notifications to, loadgen's loopback receiver): end to end against
#      the bare workflow, and against body size.
# Each comparison runs BENCH_RUNS times (4), alternating which side goes
# first (an even count, so each order counts as much: the second side runs
# on a dev server holding the first side's histories, which slows it); the
# tables give each run and the median. Every run's command is in
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
# BENCH_C (32), BENCH_N (events per comparison), BENCH_RECEIVER_PORT
# (18560), BENCH_KEEP=1 (keep the temporary directory), BENCH_NO_DOC=1 (leave BENCHMARKS.md alone),
# BENCH_ONLY (some of: micro ingest bare-plain sweep rss bare-steps size; a
# report of part of the sections is drawn with the other parts' results:
# bin/benchplot -results DIR,DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

mode=${BENCH_MODE:-dev}
quick=${QUICK:-}
case $mode in
dev) stack=(bin/stack bench) ;;
cluster) stack=(bin/stack cluster) ;;
*) echo "bench: BENCH_MODE must be dev or cluster" >&2; exit 2 ;;
esac

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

up=
cleanup() {
	local code=$?
	trap - EXIT INT TERM
	[ -z "$up" ] || stack_down
	if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work"; fi
	echo "raw outputs: $out"
	exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
go build -o bin/ ./cmd/server ./cmd/worker ./tools/devpeer ./tools/loadgen ./tools/benchplot ./tools/stack
echo "bin/server bin/worker bin/devpeer bin/loadgen bin/benchplot bin/stack built"

# Only what this run sets: nothing from the caller's Temporal, OpenTelemetry
# or mediaflow settings.
for v in $(compgen -e | grep -E '^(TEMPORAL_|MEDIA_|NOTIFY_|ALERT_|RATE_LIMIT_|TLS_|TRUSTED_PROXIES|MAX_BODY|BLOB_|DEBUG_ADDR|OTEL_)' || true); do unset "$v"; done
export ANIMUS_WEBHOOK_SECRET=$secret TEMPORAL_CONFIG_FILE=/dev/null TEMPORAL_NAMESPACE=default
export LOG_LEVEL=warn LOG_FORMAT=text
receiver=127.0.0.1:${BENCH_RECEIVER_PORT:-18560}
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
	local cmd=(bin/loadgen -url "$urls" -temporal "$TEMPORAL_ADDRESS" -size "$size"
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

# stack_up [ENV=VALUE...]: the stack (tools/stack: a dev server stack of
# its own, or make cluster's) with these settings too, for the worker and
# the server; its addresses and pids go to urls, TEMPORAL_ADDRESS, cpu_pids.
stack_up() {
	local exports
	echo "== $* ==" >>"$out/stack.log"
	up=1
	if [ "$mode" = cluster ]; then
		env "$@" bin/stack cluster start >>"$out/stack.log" 2>&1 && exports=$(bin/stack cluster env)
	else
		exports=$(env STACK_DIR="$work/stack" DATABASE_URL="sqlite://$work/mediaflow.db" BLOB_URL="file://$work/blobs" "$@" \
			bin/stack bench start 2>>"$out/stack.log")
	fi || { echo "bench: the stack did not start:"; tail -30 "$out/stack.log"; exit 1; }
	eval "$exports"
	urls=$STACK_WEBHOOK_URLS cpu_pids=$STACK_PIDS
	echo "stack: webhooks $urls, Temporal $TEMPORAL_ADDRESS, pids $cpu_pids"
}

stack_down() {
	STACK_DIR="$work/stack" "${stack[@]}" stop >>"$out/stack.log" 2>&1 || true
	up=
}

# The sections: each comparison runs on a stack started for it, the
# worker without optional steps, then with every one configured.
run() {
	# Before anything else runs, so the numbers are the code's alone.
	if [ "$mode" = dev ] && want micro; then
		section "micro-benchmarks (go test -bench)"
		local micro=(go test -run '^$' -bench . -benchmem -count "$count" -benchtime "$benchtime" ./internal/httpapi/ ./internal/app/)
		printf 'micro\t%s\n' "${micro[*]}" >>"$out/commands.txt"
		"${micro[@]}" | tee "$out/micro.txt"
	fi
	if [ "$mode" = cluster ]; then
		bare_workers=2 plain=(CLUSTER_MEDIA_DIR= LOG_FORMAT=json)
		steps=(CLUSTER_MEDIA_DIR="$work/media" LOG_FORMAT=json "${steps_env[@]:1}")
		echo "temporal: temporal-server $(bin/temporal-server --version 2>/dev/null | head -1 | awk '{print $NF}') on PostgreSQL (make cluster)" >>"$out/env.txt"
		echo "mediaflow: two bin/server (:8080, :8081, taking turns), two bin/worker, PostgreSQL job store; loadgen's bare workflow on two workers" >>"$out/env.txt"
	else
		bare_workers=1 plain=() steps=("${steps_env[@]}")
		echo "temporal: $("$(bin/stack temporal)" --version | head -1), dev server in memory" >>"$out/env.txt"
		echo "mediaflow: bin/server, bin/worker, SQLite job store; TEMPORAL_GRPC_COMPRESSION auto (none on loopback)" >>"$out/env.txt"
	fi

	if want ingest || want bare-plain || { [ "$mode" = dev ] && { want sweep || want rss; }; }; then
		section "$mode: worker with no optional step, server"
		stack_up "${plain[@]}"
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
		if [ "$mode" = dev ] && want sweep && fits 150; then
			section "acknowledgement against offered rate ($sweep_rates/s, $sweep_d each)"
			lg sweep 2000 -sweep "$sweep_rates" -d "$sweep_d"
		fi
		if [ "$mode" = dev ] && want rss && fits $((big / 40 + 60)); then
			section "$big events (c=$conc), memory"
			# A stack that has seen only these events: RSS "after N events",
			# not after the sweep's overload above.
			stack_down
			stack_up
			local server worker
			server=$(tr , '\n' <<<"$cpu_pids" | sed -n 's/^server=//p') worker=$(tr , '\n' <<<"$cpu_pids" | sed -n 's/^worker=//p')
			lg rss "$big" -c "$conc" -n "$big" -e2e -server-pid "$server" -rss "server=$server,worker=$worker"
		fi
		stack_down
	fi

	want bare-steps || { [ "$mode" = dev ] && want size; } || return 0
	# 16 MiB bodies need MAX_BODY_BYTES (up to 16 MiB; the claim check).
	local limit=16777216 s
	section "$mode: worker with every step configured (receiver $receiver), MAX_BODY_BYTES=$limit"
	stack_up "${steps[@]}" MAX_BODY_BYTES=$limit
	if want bare-steps; then compare bare-steps "$n" -c "$conc" -n "$n" -bare -receiver "$receiver"; fi
	if [ "$mode" = dev ] && want size; then
		echo "sizes: Bodies up to 16 MiB, MAX_BODY_BYTES=$limit." >>"$out/env.txt"
		for s in $sizes; do
			local events=300 c=$conc
			if [ "$s" -ge 1048576 ]; then events=60 c=8; fi
			if [ "$s" -ge 16777216 ]; then events=12 c=2; fi
			[ -z "$quick" ] || events=$((events / 10 + 5))
			fits $((events / 4 + 40)) || break
			section "body $s B, $events events"
			size=$s lg "size-$s" "$events" -c "$c" -n "$events" -e2e -receiver "$receiver"
		done
		size=${BENCH_SIZE:-1024}
	fi
	stack_down
}

run

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
