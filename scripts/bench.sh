#!/usr/bin/env bash
# Measures mediaflow against Temporal's own floor on this machine, on
# loopback, unattended, in at most BENCH_BUDGET seconds, then writes the
# topology's page with tools/benchplot. What it runs, its outputs and its
# settings: docs/performance.md#measuring-on-your-machine.
#
#   scripts/bench.sh                      # make bench: docs/bench/dev.md
#   QUICK=1 scripts/bench.sh              # make bench-quick: tiny, the page stays in bench-results/<time>/
#   BENCH_MODE=cluster scripts/bench.sh   # make bench-cluster: docs/bench/cluster.md
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mode=${BENCH_MODE:-dev} quick=${QUICK:-}
[ "$mode" = dev ] || [ "$mode" = cluster ] || { echo "bench: BENCH_MODE must be dev or cluster" >&2; exit 2; }
if [ -n "$quick" ]; then
	budget=${BENCH_BUDGET:-300} runs=${BENCH_RUNS:-1} n=${BENCH_N:-40} big=300
	bench=(-count 1 -benchtime 200x) rates="10 20" rate_s=2 sizes="1024 65536" outage=(30 10s)
else
	budget=${BENCH_BUDGET:-1800} runs=${BENCH_RUNS:-4} n=${BENCH_N:-500} big=10000
	bench=(-count 3 -benchtime 1s) rates="25 50 100 200 300 400" rate_s=6 sizes="1024 65536 1048576 16777216" outage=(200 180s)
fi
limit=20 # the outage's NOTIFY_MAX_PER_SECOND, as e2e/outage_test.go
start_s=$SECONDS
out=$root/bench-results/$(date +%Y%m%d-%H%M%S)${quick:+-quick}-$mode
work=$(mktemp -d "${TMPDIR:-/tmp}/mediaflow-bench.XXXXXX")
chmod 755 "$work" # the cluster's PostgreSQL runs as postgres under root
mkdir -p "$out"
up=
cleanup() {
	local code=$?
	trap - EXIT
	[ -z "$up" ] || stack_down
	rm -rf "$work"
	echo "raw outputs: $out"
	exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

section() { printf '\n== %s == (%d s of %d s used; load %s)\n' "$*" "$((SECONDS - start_s))" "$budget" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
left() { echo $((budget - (SECONDS - start_s))); }
# fits SECONDS: the budget still has them for the next step; else the
# step is skipped, and the page says so.
fits() { [ "$(left)" -ge "$1" ] || { echo "$2: skipped, $(left) s of the budget left and it needs about $1 s" | tee -a "$out/skipped.txt"; false; }; }

{
	echo "topology: $([ "$mode" = dev ] && echo 'the dev server' || echo 'the cluster')"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!BENCHMARKS.md' ':!docs/bench' || echo ' (with local changes)')"
	echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the start"
	echo "go: $(go version | cut -d' ' -f3-)"
	echo "mode: $mode${quick:+ quick}, $runs runs per comparison, $n events per side (ingest $((3 * n))), body 1024 B, c=32, budget $budget s"
	echo "command: $(case "$mode$quick" in dev) echo make bench ;; cluster) echo make bench-cluster ;; *) echo make bench-quick ;; esac)"
	echo "outage_limit: $limit"
} | tee "$out/env.txt"

section "build"
go build -o bin/ ./cmd/server ./cmd/worker ./tools/devpeer ./tools/loadgen ./tools/benchplot ./tools/stack

# Only what this run sets: nothing from the caller's Temporal, OpenTelemetry
# or mediaflow settings.
for v in $(compgen -e | grep -E '^(TEMPORAL_|MEDIA_|NOTIFY_|ALERT_|RATE_LIMIT_|TLS_|TRUSTED_PROXIES|MAX_BODY|BLOB_|DEBUG_ADDR|OTEL_|WORKER_)' || true); do unset "$v"; done
export ANIMUS_WEBHOOK_SECRET=whsec_YmVuY2gtb25seS1zZWNyZXQtZm9yLXNjcmlwdHMtYmVuY2guc2g= # this script's own servers only
export TEMPORAL_CONFIG_FILE=/dev/null LOG_LEVEL=warn LOG_FORMAT=text
receiver=127.0.0.1:18560
# "Every step configured": media from loadgen's receiver (on loopback,
# which downloads refuse unless allowed), notifications and alerts to it;
# 16 MiB bodies need MAX_BODY_BYTES (the claim check).
steps=(MEDIA_ALLOWED_HOSTS=127.0.0.1 NOTIFY_URL="http://$receiver/notify" ALERT_URL="http://$receiver/alert" MAX_BODY_BYTES=16777216)
if [ "$mode" = cluster ]; then
	plain=(CLUSTER_MEDIA_DIR= NOTIFY_URL= ALERT_URL= LOG_FORMAT=json) steps+=(CLUSTER_MEDIA_DIR="$work/media" LOG_FORMAT=json) workers=2
	echo "temporal: temporal-server $(bin/temporal-server --version | awk '{print $NF}') on PostgreSQL (make cluster)" >>"$out/env.txt"
	echo "mediaflow: two bin/server (taking turns), two bin/worker, PostgreSQL job store; loadgen's floors on two workers" >>"$out/env.txt"
else
	plain=() steps+=(MEDIA_DIR="$work/media") workers=1
	echo "temporal: $("$(bin/stack temporal)" --version), dev server in memory" >>"$out/env.txt"
	echo "mediaflow: bin/server, bin/worker, SQLite job store; TEMPORAL_GRPC_COMPRESSION auto (none on loopback)" >>"$out/env.txt"
fi

failed=0
# lg NAME EVENTS ARGS...: one loadgen run against the stack up, its JSON in
# NAME.json, its report in NAME.txt and on the terminal, its command (as
# anyone can run it after eval "$(bin/stack bench start)": the stack's
# addresses and pids as its exports) in commands.txt. Its waits are
# bounded by $wait (0: acknowledgements only), else a minute plus a tenth
# of a second per event.
lg() {
	local name=$1 events=$2
	shift 2
	local cmd=(bin/loadgen -url "$STACK_WEBHOOK_URLS" -temporal "$TEMPORAL_ADDRESS" -size 1024 -json -cpu "$STACK_PIDS" -workers "$workers")
	if [ "${wait:-}" = 0 ]; then cmd+=(-wait 0); else cmd+=(-wait "${wait:-$((60 + events / 10))s}" -drain); fi
	cmd+=("$@")
	printf '%s\t%s\n' "$name" "${cmd[*]}" | sed "s|$STACK_WEBHOOK_URLS|\$STACK_WEBHOOK_URLS|; s|$TEMPORAL_ADDRESS|\$TEMPORAL_ADDRESS|; s|$STACK_PIDS|\$STACK_PIDS|g" >>"$out/commands.txt"
	if ! "${cmd[@]}" 2>&1 >"$out/$name.json" | tee "$out/$name.txt"; then
		echo "bench: loadgen $name failed (see above); going on"
		failed=$((failed + 1))
	fi
}
# compare NAME EVENTS SIDES ARGS...: $runs (BENCH_RUNS) runs of lg, each
# on a stack of its own with the settings in $stack (no run inherits
# another's histories or timers), the first two sides swapped every other
# run: bare, the heaviest, goes last. ingest pauses the workers (SIGSTOP):
# on shared cores, a worker handling the first side's workflows would slow
# the second side more than the first.
compare() {
	local name=$1 events=$2 sides=$3 i order
	shift 3
	for i in $(seq 1 "$runs"); do
		fits $((events * 3 / 10 + 40)) "$name-$i" || return 0
		stack_up "${stack[@]}"
		[ "$name" != ingest ] || kill -STOP $(workers)
		section "$name, run $i/$runs"
		order=$sides
		((i % 2)) || order=$(awk -F, -v OFS=, '{ t = $1; $1 = $2; $2 = t; print }' <<<"$sides")
		lg "$name-$i" "$events" -n "$events" -c 32 -sides "$order" "$@"
		stack_down
	done
}

# stack_up [ENV=VALUE...]: a stack with these settings for the worker and
# the server; its addresses and pids in TEMPORAL_ADDRESS, STACK_WEBHOOK_URLS
# and STACK_PIDS.
stack_up() {
	echo "== $* ==" >>"$out/stack.log"
	up=1
	if [ "$mode" = cluster ]; then
		env CLUSTER_DIR="$work/cluster" "$@" bin/stack cluster start >>"$out/stack.log" 2>&1 && exports=$(CLUSTER_DIR="$work/cluster" bin/stack cluster env)
	else
		exports=$(env STACK_DIR="$work/stack" DATABASE_URL="sqlite://$work/mediaflow.db" BLOB_URL="file://$work/blobs" "$@" \
			bin/stack bench start 2>>"$out/stack.log")
	fi || { echo "bench: the stack did not start:"; tail -30 "$out/stack.log"; exit 1; }
	eval "$exports"
	# Until a start goes through (loadgen's own floor, which the worker
	# never sees): a new namespace reaches the caches of all of Temporal's
	# services a few seconds after it is created.
	for _ in $(seq 30); do
		[[ $(bin/loadgen -url "$STACK_WEBHOOK_URLS" -temporal "$TEMPORAL_ADDRESS" -n 1 -sides floor0 -wait 30s 2>&1) != *"codes: ok=1"* ]] || break
		sleep 1
	done
}
stack_down() {
	kill -CONT $(workers) 2>/dev/null || true
	if [ "$mode" = cluster ]; then CLUSTER_DIR="$work/cluster" bin/stack cluster stop; else STACK_DIR="$work/stack" bin/stack bench stop; fi >>"$out/stack.log" 2>&1 || true
	rm -rf "$work/stack" "$work/cluster" "$work/mediaflow.db" "$work/media"
	up=
}
workers() { tr , '\n' <<<"$STACK_PIDS" | sed -n 's/^worker[^=]*=//p'; }

if [ "$mode" = dev ]; then
	# Before anything else runs, so the numbers are the code's alone.
	section "micro-benchmarks (go test -bench)"
	micro=(go test -run '^$' -bench . -benchmem "${bench[@]}" ./internal/httpapi/ ./internal/app/)
	printf 'micro\t%s\n' "${micro[*]}" >>"$out/commands.txt"
	"${micro[@]}" | tee "$out/micro.txt"
fi

stack=("${plain[@]}")
wait=0 compare ingest $((3 * n)) direct,webhooks
compare plain "$n" floor0,webhooks,bare
if [ "$mode" = dev ]; then
	stack_up
	# Open loops at rising rates until the server cannot keep up.
	for r in $rates; do
		fits $((r * rate_s / 20 + 30)) "sweep-$r" || break
		section "acknowledgement at $r/s"
		lg "sweep-$r" $((r * rate_s)) -rate "$r" -d "${rate_s}s"
		! grep -q '"saturated":true' "$out/sweep-$r.json" || break
	done
	stack_down
	if fits $((big / 40 + 60)) rss; then
		stack_up
		section "$big events, memory"
		lg rss "$big" -n "$big" -c 32 -rss "$STACK_PIDS"
		stack_down
	fi
fi
stack=("${steps[@]}" NOTIFY_MAX_PER_SECOND=off)
compare steps "$n" floor1,webhooks,bare -receiver "$receiver"
if [ "$mode" = dev ]; then
	stack_up "${stack[@]}"
	for s in $sizes; do
		events=300 c=32
		[ "$s" -lt 1048576 ] || events=60 c=8
		[ "$s" -lt 16777216 ] || events=12 c=2
		[ -z "$quick" ] || events=$((events / 10 + 5))
		fits $((events / 4 + 40)) "size-$s" || break
		section "body $s B, $events events"
		lg "size-$s" "$events" -n "$events" -c "$c" -size "$s" -receiver "$receiver"
	done
	stack_down
fi
stack=("${steps[@]}")
compare steps50 "$n" floor1,webhooks -receiver "$receiver"
if [ "$mode" = dev ] && fits $((${outage[1]%s} + 120)) outage; then
	stack_up "${steps[@]}" NOTIFY_MAX_PER_SECOND=$limit
	section "a receiver down for ${outage[1]}"
	wait=15m lg outage "${outage[0]}" -n "${outage[0]}" -c 16 -receiver "$receiver" -receiver-down "${outage[1]}"
	stack_down
fi

section "report"
echo "load_end: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the end, after $((SECONDS - start_s)) s" >>"$out/env.txt"
page=docs/bench/$mode.md
[ -z "$quick${BENCH_NO_DOC:-}" ] || page=$out/$mode.md
mkdir -p "$(dirname "$page")"
bin/benchplot -results "$out" -out "$page"
echo "report: $page, its charts beside it"
[ "$failed" -eq 0 ] || { echo "bench: $failed loadgen runs failed; the page leaves them out"; exit 1; }
