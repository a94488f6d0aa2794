#!/usr/bin/env bash
# Runs the whole service locally (make dev), in phases with their elapsed
# time: the Temporal CLI (built once), mediaflow's programs, then the
# Temporal dev server (UI on :8233, state in data/temporal.db, search
# attributes registered), devpeer (sample media and a notification
# receiver on 127.0.0.1:8090), the worker and the server. Each logs to
# data/<name>.log; the worker, the server and devpeer to this terminal
# too. Ctrl-C (or SIGTERM) stops all of it: the server, the worker and
# devpeer first, then Temporal.
#
#	scripts/dev.sh          run it (make dev)
#	scripts/dev.sh check    exit 1, saying which, when a port it needs is taken
#
# Nothing is written before the ports are known to be free, so a second
# make dev leaves the first one's files alone. See docs/local-dev.md.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)

elapsed() {
	local s=$(($(date +%s) - ${1:-$t0}))
	printf '%d:%02d' $((s / 60)) $((s % 60))
}
phase() { printf '[%s] %s\n' "$(elapsed)" "$*"; }

# Settings: the user's when set (even to empty, which turns a step off),
# else make dev's. The optional steps go to devpeer.
export DEVPEER_ADDR="${DEVPEER_ADDR:-127.0.0.1:8090}"
export HTTP_ADDR="${HTTP_ADDR:-127.0.0.1:8080}"
export WORKER_METRICS_ADDR="${WORKER_METRICS_ADDR-127.0.0.1:9091}"
export MEDIA_DIR="${MEDIA_DIR-data/media}"
export NOTIFY_URL="${NOTIFY_URL-http://$DEVPEER_ADDR/notify}"
export ALERT_URL="${ALERT_URL-http://$DEVPEER_ADDR/alert}"
# Downloads refuse private and loopback hosts unless listed here; devpeer
# is one.
export MEDIA_ALLOWED_HOSTS="${MEDIA_ALLOWED_HOSTS-${DEVPEER_ADDR%:*}}"
# The codec endpoint the UI calls to show large event data (docs/large-events.md);
# loopback: it decodes event data for whoever reaches it.
export CODEC_ADDR="${CODEC_ADDR:-127.0.0.1:8234}"

# host and port of an address ("127.0.0.1:8080", ":8080"), the host as a
# client on this machine reaches it.
host_of() {
	local h=${1%:*}
	case $h in "" | 0.0.0.0 | "[::]") h=127.0.0.1 ;; esac
	echo "${h#[}" | tr -d ']'
}
port_of() { echo "${1##*:}"; }

# in_use HOST PORT: something accepts connections there (bash's /dev/tcp,
# no other tool needed).
in_use() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# check_ports: exit 1, naming each taken port and what make dev wanted it
# for, before anything is built, started or written.
check_ports() {
	local taken=() what addr
	for what in \
		"127.0.0.1:7233 Temporal (gRPC)" \
		"127.0.0.1:8233 Temporal Web UI" \
		"$HTTP_ADDR mediaflow server (HTTP_ADDR)" \
		"$WORKER_METRICS_ADDR worker metrics (WORKER_METRICS_ADDR)" \
		"$CODEC_ADDR codec endpoint (CODEC_ADDR)" \
		"$DEVPEER_ADDR devpeer (DEVPEER_ADDR)"; do
		addr=${what%% *}
		case $addr in "" | off) continue ;; esac
		if in_use "$(host_of "$addr")" "$(port_of "$addr")"; then
			taken+=("  $(host_of "$addr"):$(port_of "$addr")  ${what#* }")
		fi
	done
	[ ${#taken[@]} -eq 0 ] && return 0
	echo "These ports that make dev uses are taken:"
	printf '%s\n' "${taken[@]}"
	if [ "${1:-}" = check ]; then
		echo "make dev is probably running: stop it first (Ctrl-C in its terminal)."
	elif in_use 127.0.0.1 7233 && in_use 127.0.0.1 8233; then
		echo "Another make dev is probably running (its UI: http://localhost:8233). Use it (make send works"
		echo "against it), or stop it with Ctrl-C in its terminal, then run make dev again."
		echo "Nothing was started and no file was changed."
	else
		echo "Stop what uses them, or move mediaflow's own: HTTP_ADDR, WORKER_METRICS_ADDR, CODEC_ADDR, DEVPEER_ADDR."
		echo "Nothing was started and no file was changed."
	fi
	exit 1
}

check_ports "${1:-}"
[ "${1:-}" = check ] && exit 0

# The local dev server, whatever Temporal settings this shell or a
# Temporal config file (a Cloud profile, say) would otherwise bring.
export TEMPORAL_ADDRESS=127.0.0.1:7233 TEMPORAL_NAMESPACE=default TEMPORAL_CONFIG_FILE=/dev/null
unset TEMPORAL_API_KEY TEMPORAL_PROFILE TEMPORAL_TLS TEMPORAL_TLS_CLIENT_CERT_PATH TEMPORAL_TLS_CLIENT_KEY_PATH \
	TEMPORAL_TLS_CLIENT_CERT_DATA TEMPORAL_TLS_CLIENT_KEY_DATA TEMPORAL_TLS_SERVER_CA_CERT_PATH \
	TEMPORAL_TLS_SERVER_CA_CERT_DATA TEMPORAL_TLS_SERVER_NAME
export ANIMUS_WEBHOOK_SECRET="${ANIMUS_WEBHOOK_SECRET:-$DEV_SECRET}"

# Phase 1: the Temporal CLI (dev server and Web UI), once.
if [ -x bin/temporal ]; then
	phase "Temporal CLI: bin/temporal is there"
else
	t=$(date +%s)
	phase "Building the Temporal CLI ${TEMPORAL_CLI_VERSION:-} into bin/ from the Go module proxy, once per clone:"
	phase "  about 8 min on 2 cores, less with more. (make clean removes it; make clean-data keeps it.)"
	"${MAKE:-make}" --no-print-directory bin/temporal
	phase "Built the Temporal CLI in $(elapsed "$t")"
fi

# Phase 2: mediaflow's programs (the first build compiles the Temporal SDK
# and the rest: about 2 min on 2 cores; seconds after that).
t=$(date +%s)
phase "Building mediaflow (server, worker, send, devpeer) into bin/..."
go build -o bin/ ./cmd/server ./cmd/worker ./cmd/mediaflowctl ./tools/send ./tools/devpeer
phase "Built mediaflow in $(elapsed "$t")"

# Phase 3: start. Each process gets its own process group (set -m), so
# that Ctrl-C reaches this script alone and it stops them in order.
mkdir -p data
app_pids=()
temporal_pid=
stopping=

# prefix NAME: copies its input to stdout, each line as it comes with
# NAME in front (a shell loop: awk may wait for a full buffer).
prefix() {
	local line p
	p=$(printf '%-7s| ' "$1")
	while IFS= read -r line || [ -n "$line" ]; do printf '%s%s\n' "$p" "$line"; done
}

# start NAME CMD…: runs CMD with its output in data/NAME.log and, with
# NAME in front, on this terminal.
start() {
	local name=$1
	shift
	set -m
	"$@" </dev/null > >(tee "data/$name.log" | prefix "$name") 2>&1 &
	pid=$!
	set +m
}

# stop_pids SECONDS PID…: SIGTERM, then SIGKILL whatever still runs after
# SECONDS.
stop_pids() {
	local limit=$1 p
	shift
	kill -TERM "$@" 2>/dev/null || true
	for _ in $(seq $((limit * 5))); do
		for p in "$@"; do
			if kill -0 "$p" 2>/dev/null; then
				sleep 0.2
				continue 2
			fi
		done
		return 0
	done
	echo "Still running after ${limit} s, killed: $*"
	kill -KILL "$@" 2>/dev/null || true
}

stop() {
	[ -n "$stopping" ] && return
	stopping=1
	trap '' INT TERM
	echo
	phase "Stopping: the server, the worker and devpeer, then Temporal..."
	# The worker finishes running activities for up to 30 s.
	[ ${#app_pids[@]} -gt 0 ] && stop_pids 35 "${app_pids[@]}"
	[ -n "$temporal_pid" ] && stop_pids 15 "$temporal_pid"
	wait 2>/dev/null || true
	phase "Stopped. Logs are in data/*.log."
}
trap stop EXIT
# Ctrl-C is how a user stops it: a clean exit, not an error.
trap 'stop; exit 0' INT TERM

t=$(date +%s)
phase "Starting the Temporal dev server (log: data/temporal.log only)..."
set -m
bin/temporal server start-dev --ip 127.0.0.1 --ui-port 8233 \
	--db-filename data/temporal.db --log-level warn \
	--search-attribute AnimusJobID=Keyword --search-attribute AnimusJobStatus=Keyword \
	--search-attribute AnimusWatchState=Keyword \
	--ui-codec-endpoint "http://$CODEC_ADDR" \
	</dev/null >data/temporal.log 2>&1 &
temporal_pid=$!
set +m
for _ in $(seq 1 240); do
	bin/temporal operator cluster health --address 127.0.0.1:7233 >/dev/null 2>&1 && break
	if ! kill -0 "$temporal_pid" 2>/dev/null; then
		echo "The Temporal dev server exited; the end of data/temporal.log:"
		tail -20 data/temporal.log
		exit 1
	fi
	sleep 0.5
done
bin/temporal operator cluster health --address 127.0.0.1:7233 >/dev/null 2>&1 ||
	{ echo "The Temporal dev server did not answer in 2 min; see data/temporal.log"; exit 1; }

start devpeer bin/devpeer --addr "$DEVPEER_ADDR" --log data/notifications.log
app_pids+=("$pid")
start worker bin/worker
app_pids+=("$pid")
start server bin/server
app_pids+=("$pid")

# ready URL: it answers 2xx.
ready() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }
waiting=("http://$DEVPEER_ADDR/healthz" "http://$(host_of "$HTTP_ADDR"):$(port_of "$HTTP_ADDR")/readyz")
case $WORKER_METRICS_ADDR in "" | off) ;; *) waiting+=("http://$(host_of "$WORKER_METRICS_ADDR"):$(port_of "$WORKER_METRICS_ADDR")/metrics") ;; esac
for _ in $(seq 1 120); do
	all=1
	for u in "${waiting[@]}"; do ready "$u" || { all=; break; }; done
	[ -n "$all" ] && break
	for p in "${app_pids[@]}"; do
		kill -0 "$p" 2>/dev/null || { echo "A process exited while starting; see the lines above and data/*.log."; exit 1; }
	done
	sleep 0.5
done
if [ -z "$all" ]; then
	echo "Not ready after 60 s: $u does not answer; see the lines above and data/*.log."
	exit 1
fi
phase "Started in $(elapsed "$t")"

cat <<MSG

mediaflow is running (ready in $(elapsed)):
  webhook      http://$HTTP_ADDR/webhooks/animus
  Temporal UI  http://localhost:8233 (large payloads decoded by http://$CODEC_ADDR)
  dead letters bin/mediaflowctl list (docs/recovery.md)
  devpeer      media on http://$DEVPEER_ADDR/media/, notifications received on /notify and /alert
  MEDIA_DIR=$MEDIA_DIR  NOTIFY_URL=${NOTIFY_URL:-(off)}  ALERT_URL=${ALERT_URL:-(off)}
  logs         data/temporal.log, data/worker.log, data/server.log, data/devpeer.log;
               notifications received: data/notifications.log
MSG
if [ "$ANIMUS_WEBHOOK_SECRET" = "$DEV_SECRET" ]; then
	echo "  secret       $DEV_SECRET (dev only)"
fi
cat <<MSG

Next, in another terminal:
  make send        a signed sample event, as Svix sends it; its media comes from devpeer
  make jobs        the job's row (data/mediaflow.db)
  then open http://localhost:8233: the workflow is there, completed.
More: docs/local-dev.md. Ctrl-C stops everything.

MSG

# Stop everything when any of them exits.
set +e
wait -n "$temporal_pid" "${app_pids[@]}"
echo "A process exited (see its lines above and data/*.log); stopping the rest."
exit 1
