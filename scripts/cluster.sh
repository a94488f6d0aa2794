#!/usr/bin/env bash
# The production topology of docker-compose.yml on 127.0.0.1, without
# containers: PostgreSQL, a Temporal cluster on it (temporal-server with
# deploy/temporal/config.yaml, schema and setup by deploy/temporal/schema.sh
# and setup.sh, unchanged), the Temporal Web UI, and mediaflow: two workers
# and two webhook servers sharing one PostgreSQL job store and one MEDIA_DIR.
# State and logs live in data/cluster/ (CLUSTER_DIR; kept between runs,
# `clean` removes it).
#
#   scripts/cluster.sh [run]        everything in the foreground; Ctrl-C stops it all (make cluster)
#   scripts/cluster.sh start        the same in the background; returns once all is ready
#   scripts/cluster.sh stop         stops what start (or run) started, PostgreSQL last
#   scripts/cluster.sh status       each process: pid, running or not
#   scripts/cluster.sh restart NAME [--kill] [--down SECONDS]
#                                   stops one process (SIGTERM; --kill: SIGKILL), waits
#                                   SECONDS (default 0), starts it again and waits until ready
#   scripts/cluster.sh env          client settings, for eval "$(scripts/cluster.sh env)"
#   scripts/cluster.sh clean        stop, then remove data/cluster
#
# NAME: postgresql, temporal-server, temporal-ui, devpeer, worker-1, worker-2, server-1, server-2.
#
# Needs bin/temporal, bin/temporal-server, bin/temporal-sql-tool and
# bin/temporal-ui-server (make cluster builds them) and PostgreSQL's server
# binaries (apt-get install postgresql). Run as root, PostgreSQL runs as the
# postgres user. Settings (environment):
#   CLUSTER_DIR            state and logs (default data/cluster; relative to the repository)
#   CLUSTER_UI             "off": no Web UI (nor bin/temporal-ui-server needed)
#   PG_PORT                PostgreSQL's port (default 5433)
#   POSTGRES_PASSWORD, MEDIAFLOW_DB_PASSWORD
#                          used when the data directory is created
#   ANIMUS_WEBHOOK_SECRET  the servers' (default DEV_SECRET from the Makefile)
#   NOTIFY_URL, ALERT_URL, NOTIFY_SECRET
#                          the workers' (default empty: those steps are skipped)
#   CLUSTER_MEDIA_DIR      the workers' MEDIA_DIR (default CLUSTER_DIR/media; empty: no downloads)
# restart takes the same settings as start (it refuses other mediaflow settings).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=$(realpath -m "${CLUSTER_DIR:-data/cluster}")
# How messages name DIR: relative to the repository when inside it.
SHOWDIR=${DIR#"$ROOT"/}
PIDS=$DIR/pids
T0=$(date +%s%N)

# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------
PG_PORT=${PG_PORT:-5433}
PG_DATA=$DIR/postgresql
# The superuser, as in docker-compose.yml: Temporal uses it (its schema tool
# creates databases). Both passwords are set when data/cluster is created.
PG_USER=temporal
POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-cluster-local-only}
MEDIAFLOW_DB_PASSWORD=${MEDIAFLOW_DB_PASSWORD:-cluster-local-only}
TEMPORAL_GRPC=127.0.0.1:7233
UI_ADDR=127.0.0.1:8233
# docker-compose.yml's temporal-setup service.
NAMESPACE=default
NAMESPACE_RETENTION=72h
# "Name=Type …": one more search attribute is one more word here.
SEARCH_ATTRIBUTES="AnimusJobID=Keyword AnimusJobStatus=Keyword AnimusWatchState=Keyword"
# The Makefile's dev-only secret (make dev uses it too) when
# ANIMUS_WEBHOOK_SECRET is unset.
DEV_SECRET=${DEV_SECRET:-$(sed -n 's/^DEV_SECRET := //p' Makefile)}
# start records it: status and restart then know without being told.
CLUSTER_UI=${CLUSTER_UI:-$(cat "$DIR/ui" 2>/dev/null || echo on)}
if [ "$CLUSTER_UI" = off ]; then
	NAMES=(postgresql temporal-server devpeer worker-1 worker-2 server-1 server-2)
else
	NAMES=(postgresql temporal-server temporal-ui devpeer worker-1 worker-2 server-1 server-2)
fi

# Client settings for every process started here, whatever this shell or a
# Temporal config file (a Cloud profile, say) would otherwise bring; the
# server reads TEMPORAL_ROOT/CONFIG_DIR/ENVIRONMENT as flags.
export TEMPORAL_ADDRESS=$TEMPORAL_GRPC TEMPORAL_NAMESPACE=$NAMESPACE TEMPORAL_CONFIG_FILE=/dev/null
export GRPC_ENABLE_TXT_SERVICE_CONFIG=false
unset TEMPORAL_API_KEY TEMPORAL_PROFILE TEMPORAL_TLS TEMPORAL_TLS_CLIENT_CERT_PATH TEMPORAL_TLS_CLIENT_KEY_PATH \
	TEMPORAL_TLS_CLIENT_CERT_DATA TEMPORAL_TLS_CLIENT_KEY_DATA TEMPORAL_TLS_SERVER_CA_CERT_PATH \
	TEMPORAL_TLS_SERVER_CA_CERT_DATA TEMPORAL_TLS_SERVER_NAME \
	TEMPORAL_ROOT TEMPORAL_CONFIG_DIR TEMPORAL_ENVIRONMENT TEMPORAL_AVAILABILITY_ZONE TEMPORAL_AVAILABILTY_ZONE \
	TEMPORAL_SERVER_CONFIG_FILE_PATH
export PATH=$ROOT/bin:$PATH

# ---------------------------------------------------------------------------
# mediaflow: the only part that knows mediaflow's commands and settings.
# ---------------------------------------------------------------------------
MEDIAFLOW_PACKAGES=(./cmd/server ./cmd/worker ./cmd/mediaflowctl ./tools/devpeer)
# The workers' shared MEDIA_DIR; CLUSTER_MEDIA_DIR= (empty) skips downloads.
MEDIA_DIR=${CLUSTER_MEDIA_DIR-$DIR/media}
# devpeer, as in make dev: the sample media that make send's media_url
# names, and a receiver for notifications and alerts (the defaults of
# NOTIFY_URL and ALERT_URL below). Downloads may reach it on loopback.
DEVPEER_ADDR=127.0.0.1:8090
MEDIA_ALLOWED_HOSTS=${MEDIA_ALLOWED_HOSTS-127.0.0.1}
# One blob store for large event data and dead letters, shared by every
# server and worker (in production, one bucket); server-1 serves the codec
# endpoint the UI uses to show large payloads (deploy/temporal/ui-server.yaml).
BLOB_URL=${BLOB_URL:-file://$DIR/blobs}
CODEC_ADDR=127.0.0.1:8234
# Each secret goes to the processes that use it alone, as in
# docker-compose.yml: the webhook secret to the servers, the notification
# settings (a Slack webhook URL is itself a secret) to the workers. Kept
# here, not exported: no other child inherits them.
ANIMUS_WEBHOOK_SECRET=${ANIMUS_WEBHOOK_SECRET:-$DEV_SECRET}
NOTIFY_URL=${NOTIFY_URL-http://$DEVPEER_ADDR/notify} ALERT_URL=${ALERT_URL-http://$DEVPEER_ADDR/alert}
NOTIFY_SECRET=${NOTIFY_SECRET:-}
export -n ANIMUS_WEBHOOK_SECRET NOTIFY_URL ALERT_URL NOTIFY_SECRET

# mediaflow_settings: a digest of the settings above, which start records
# and restart compares (no secret is written down).
mediaflow_settings() {
	printf '%s\n' "$ANIMUS_WEBHOOK_SECRET" "$NOTIFY_URL" "$ALERT_URL" "$NOTIFY_SECRET" "$MEDIA_DIR" \
		"$MEDIA_ALLOWED_HOSTS" "$BLOB_URL" | sha256sum | cut -d' ' -f1
}

mediaflow_build() {
	go build -o bin/ "${MEDIAFLOW_PACKAGES[@]}"
}

# mediaflow_start NAME: starts devpeer, worker-N or server-N in the background.
mediaflow_start() {
	local n=${1#*-}
	case $1 in
	devpeer)
		launch devpeer bin/devpeer --addr "$DEVPEER_ADDR" --log "$DIR/notifications.log"
		;;
	worker-*)
		# No password in the URL: pgx reads PGPASSWORD (as in docker-compose.yml).
		launch "$1" env LOG_FORMAT="${LOG_FORMAT:-json}" \
			DATABASE_URL="postgres://mediaflow@127.0.0.1:$PG_PORT/mediaflow?sslmode=disable" \
			PGPASSWORD="$MEDIAFLOW_DB_PASSWORD" MEDIA_DIR="$MEDIA_DIR" MEDIA_ALLOWED_HOSTS="$MEDIA_ALLOWED_HOSTS" \
			NOTIFY_URL="$NOTIFY_URL" ALERT_URL="$ALERT_URL" NOTIFY_SECRET="$NOTIFY_SECRET" BLOB_URL="$BLOB_URL" \
			WORKER_METRICS_ADDR="127.0.0.1:$((9090 + n))" bin/worker
		;;
	server-*)
		local codec=
		[ "$n" = 1 ] && codec=$CODEC_ADDR
		launch "$1" env LOG_FORMAT="${LOG_FORMAT:-json}" ANIMUS_WEBHOOK_SECRET="$ANIMUS_WEBHOOK_SECRET" \
			HTTP_ADDR="127.0.0.1:$((8079 + n))" BLOB_URL="$BLOB_URL" CODEC_ADDR="$codec" bin/server
		;;
	esac
}

# mediaflow_ready NAME: the worker serves /metrics once it holds its
# database and Temporal client; the server's /readyz is 200 when Temporal
# answers.
mediaflow_ready() {
	local n=${1#*-}
	case $1 in
	devpeer) curl -fsS -o /dev/null "http://$DEVPEER_ADDR/media/" ;;
	worker-*) curl -fsS -o /dev/null "http://127.0.0.1:$((9090 + n))/metrics" ;;
	server-*) curl -fsS -o /dev/null "http://127.0.0.1:$((8079 + n))/readyz" ;;
	esac
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
elapsed() { awk -v a="$T0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
phase() { printf '[%6ss] %s\n' "$(elapsed)" "$*"; }
since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f s", (b - a) / 1e9 }'; }

pid_of() { if [ -f "$PIDS" ]; then awk -v n="$1" '$1 == n { print $2 }' "$PIDS"; fi; }
set_pid() {
	local tmp=$PIDS.tmp
	{ [ -f "$PIDS" ] && awk -v n="$1" '$1 != n' "$PIDS"; echo "$1 $2"; } >"$tmp" || true
	mv "$tmp" "$PIDS"
}
# running PID: the process exists and is not a zombie (an exited process
# started by an earlier invocation stays one until init reaps it).
running() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $st != Z* ]]; }
alive() { local p; p=$(pid_of "$1"); [ -n "$p" ] && running "$p"; }

# launch NAME COMMAND…: starts COMMAND in its own session (so a Ctrl-C
# reaches this script only, which stops everything in order), its output
# appended to data/cluster/NAME.log, and records its pid.
launch() {
	local name=$1
	shift
	echo "=== $(date -Is) start: $*" | sed -E 's/(PASSWORD|PWD|SECRET|NOTIFY_URL|ALERT_URL)=[^ ]*/\1=…/g' >>"$DIR/$name.log"
	setsid "$@" >>"$DIR/$name.log" 2>&1 </dev/null &
	set_pid "$name" $!
}

# wait_for NAME SECONDS CHECK…: until CHECK succeeds; fails when NAME exits
# or after SECONDS.
wait_for() {
	local name=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 4; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		if ! alive "$name"; then
			echo "$name exited; the end of $SHOWDIR/$name.log:"
			tail -25 "$DIR/$name.log"
			return 1
		fi
		sleep 0.25
	done
	echo "$name not ready after $secs s; the end of $SHOWDIR/$name.log:"
	tail -25 "$DIR/$name.log"
	return 1
}

# port_used PORT: something listens on 127.0.0.1 or any address at PORT.
port_used() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v h=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == h { found = 1 } END { exit !found }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# As root, PostgreSQL's binaries run as the postgres user (initdb refuses root).
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
	# shellcheck disable=SC2012 # as scripts/test.sh
	PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
	[ -x "${PG_BIN:-}/initdb" ] || { echo "PostgreSQL's server binaries are not installed (apt-get install postgresql)"; exit 1; }
}

psql_admin() { psql -X -h "$PG_DATA" -p "$PG_PORT" -U "$PG_USER" -d postgres "$@"; }

# ---------------------------------------------------------------------------
# Components
# ---------------------------------------------------------------------------
start_postgresql() {
	pg_bin
	if [ ! -f "$PG_DATA/PG_VERSION" ]; then
		local t
		t=$(date +%s%N)
		mkdir -p "$PG_DATA"
		if [ "$(id -u)" = 0 ]; then
			chown postgres "$PG_DATA" && chmod 700 "$PG_DATA"
			as_pg test -w "$PG_DATA" || {
				echo "The postgres user cannot reach $PG_DATA: each directory above it must be searchable by others (chmod o+x)."
				exit 1
			}
		fi
		local pw
		pw=$(mktemp)
		printf '%s\n' "$POSTGRES_PASSWORD" >"$pw"
		[ "$(id -u)" = 0 ] && chown postgres "$pw"
		# Over TCP a password (scram-sha-256), as in the postgres image; on
		# the socket in the data directory (mode 0700), trust, for this script.
		if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --pwfile="$pw" \
			--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1; then
			rm -f "$pw"
			echo "initdb failed:"; cat "$DIR/initdb.log"; exit 1
		fi
		rm -f "$pw"
		INITDB=1
		phase "PostgreSQL: initdb done ($(since "$t"))"
	fi
	touch "$DIR/postgresql.log"
	[ "$(id -u)" = 0 ] && chown postgres "$DIR/postgresql.log"
	echo "$PG_PORT" >"$DIR/pg_port"
	local ok='' i
	# After a SIGKILL, the old server's backends may hold its shared memory
	# for a moment: retry.
	for i in 1 2 3 4 5 6 7 8 9 10; do
		if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$DIR/postgresql.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DATA" start >/dev/null 2>&1; then
			ok=1
			break
		fi
		sleep 1
	done
	if [ -z "$ok" ]; then
		echo "PostgreSQL did not start; the end of $SHOWDIR/postgresql.log:"
		tail -20 "$DIR/postgresql.log"
		exit 1
	fi
	set_pid postgresql "$(head -1 "$PG_DATA/postmaster.pid")"
	if [ -n "${INITDB:-}" ]; then
		# mediaflow's role and database, by the script the postgres image runs
		# on its first start (docker-compose.yml mounts it).
		PGHOST=$PG_DATA PGPORT=$PG_PORT POSTGRES_USER=$PG_USER MEDIAFLOW_DB_PASSWORD=$MEDIAFLOW_DB_PASSWORD \
			sh deploy/postgres/init-mediaflow.sh >>"$DIR/initdb.log" 2>&1 ||
			{ echo "deploy/postgres/init-mediaflow.sh failed:"; tail "$DIR/initdb.log"; exit 1; }
		unset INITDB
	fi
}

stop_postgresql() { # fast | kill
	pg_bin
	if [ "$1" = kill ]; then
		local p c children
		p=$(pid_of postgresql)
		[ -n "$p" ] || return 0
		children=$(ps -o pid= --ppid "$p" || true)
		kill -KILL "$p" 2>/dev/null || true
		# Its backends notice and exit; until then the old shared memory is
		# in use and a new postmaster refuses to start.
		for _ in $(seq 1 40); do
			c=
			for p in $children; do running "$p" && c=1; done
			[ -n "$c" ] || break
			sleep 0.25
		done
	else
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
	fi
}

# deploy/temporal/schema.sh, as the temporal-schema service runs it.
temporal_schema() {
	SQL_PLUGIN=postgres12 SQL_HOST=127.0.0.1 SQL_PORT=$PG_PORT SQL_USER=$PG_USER SQL_PASSWORD=$POSTGRES_PASSWORD \
		sh deploy/temporal/schema.sh >>"$DIR/temporal-schema.log" 2>&1 ||
		{ echo "deploy/temporal/schema.sh failed; the end of $SHOWDIR/temporal-schema.log:"; tail -20 "$DIR/temporal-schema.log"; exit 1; }
}

# The environment variables of docker-compose.yml's temporal service, which
# deploy/temporal/config.yaml reads.
start_temporal_server() {
	launch temporal-server env DB=postgres12 DB_PORT="$PG_PORT" POSTGRES_SEEDS=127.0.0.1 \
		POSTGRES_USER="$PG_USER" POSTGRES_PWD="$POSTGRES_PASSWORD" BIND_ON_IP=127.0.0.1 NUM_HISTORY_SHARDS=4 \
		DYNAMIC_CONFIG_FILE_PATH="$ROOT/deploy/temporal/dynamicconfig.yaml" TEMPORAL_ALLOW_NO_AUTH=true \
		temporal-server --config-file deploy/temporal/config.yaml start
}
temporal_healthy() { temporal operator cluster health --address "$TEMPORAL_GRPC" | grep -q SERVING; }

# deploy/temporal/setup.sh, as the temporal-setup service runs it.
temporal_setup() {
	NAMESPACE_RETENTION=$NAMESPACE_RETENTION SEARCH_ATTRIBUTES=$SEARCH_ATTRIBUTES \
		sh deploy/temporal/setup.sh >>"$DIR/temporal-setup.log" 2>&1 ||
		{ echo "deploy/temporal/setup.sh failed; the end of $SHOWDIR/temporal-setup.log:"; tail -20 "$DIR/temporal-setup.log"; exit 1; }
}

start_temporal_ui() {
	launch temporal-ui temporal-ui-server --root "$ROOT" --config deploy/temporal --env ui-server start
}
ui_ready() { curl -fsS -o /dev/null "http://$UI_ADDR/healthz"; }

# start_one NAME: starts NAME and waits until it is ready.
start_one() {
	local t
	t=$(date +%s%N)
	case $1 in
	postgresql) start_postgresql ;;
	temporal-server)
		start_temporal_server
		wait_for temporal-server 120 temporal_healthy
		;;
	temporal-ui)
		start_temporal_ui
		wait_for temporal-ui 30 ui_ready
		;;
	devpeer | worker-* | server-*)
		mediaflow_start "$1"
		wait_for "$1" 60 mediaflow_ready "$1"
		;;
	*) echo "unknown process $1 (one of: ${NAMES[*]})"; exit 2 ;;
	esac
	phase "$1 ready (pid $(pid_of "$1"), $(since "$t"))"
}

# stop_one NAME [kill]: SIGTERM (SIGKILL with kill) and wait for the exit.
stop_one() {
	local name=$1 how=${2:-term} p secs
	if [ "$name" = postgresql ]; then
		[ -f "$PG_DATA/postmaster.pid" ] && stop_postgresql "$([ "$how" = kill ] && echo kill || echo fast)"
		return 0
	fi
	p=$(pid_of "$name")
	[ -n "$p" ] && running "$p" || return 0
	if [ "$how" = kill ]; then
		kill -KILL "$p" 2>/dev/null || true
	else
		kill -TERM "$p" 2>/dev/null || true
	fi
	# docker-compose.yml's stop_grace_period: 40 s for the worker, 25 s for
	# the server; then SIGKILL.
	case $name in worker-*) secs=40 ;; *) secs=25 ;; esac
	for ((i = 0; i < secs * 4; i++)); do
		running "$p" || return 0
		sleep 0.25
	done
	echo "$name did not stop in $secs s: SIGKILL"
	kill -KILL "$p" 2>/dev/null || true
}

check_ports() {
	local p busy=()
	local ports=("$PG_PORT" 7233 7234 7235 7239 7243 6933 6934 6935 6939 8080 8081 8090 8234 9091 9092)
	[ "$CLUSTER_UI" = off ] || ports+=(8233)
	for p in "${ports[@]}"; do
		port_used "$p" && busy+=("$p")
	done
	if [ ${#busy[@]} -gt 0 ]; then
		echo "Ports in use: ${busy[*]} (make dev, or a cluster already running? scripts/cluster.sh stop)"
		exit 1
	fi
}

need_binaries() {
	local b missing=() bins=(temporal temporal-server temporal-sql-tool)
	[ "$CLUSTER_UI" = off ] || bins+=(temporal-ui-server)
	for b in "${bins[@]}"; do
		[ -x "bin/$b" ] || missing+=("bin/$b")
	done
	[ ${#missing[@]} -eq 0 ] || { echo "Missing ${missing[*]}: make cluster-tools builds them (CLUSTER_UI=off: no UI)."; exit 1; }
}

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------
cmd_start() {
	need_binaries
	if [ -s "$PIDS" ]; then
		local n
		for n in "${NAMES[@]}"; do
			alive "$n" && { echo "$n is running (pid $(pid_of "$n")): scripts/cluster.sh stop first."; exit 1; }
		done
	fi
	check_ports
	mkdir -p "$DIR" ${MEDIA_DIR:+"$MEDIA_DIR"}
	: >"$PIDS"
	mediaflow_settings >"$DIR/settings.sha256"
	echo "$CLUSTER_UI" >"$DIR/ui"
	rm -f "$DIR/restarting"
	# From here on, a failure stops what this run started (not before: the
	# checks above leave a cluster that is already running alone).
	STARTED=1
	local t

	phase "Building mediaflow (${MEDIAFLOW_PACKAGES[*]})"
	t=$(date +%s%N)
	mediaflow_build
	phase "Built ($(since "$t"))"

	phase "PostgreSQL on 127.0.0.1:$PG_PORT ($SHOWDIR/postgresql)"
	start_one postgresql

	phase "Temporal schema: deploy/temporal/schema.sh (log: $SHOWDIR/temporal-schema.log)"
	t=$(date +%s%N)
	temporal_schema
	phase "Schema done ($(since "$t"))"

	phase "temporal-server (deploy/temporal/config.yaml; log: $SHOWDIR/temporal-server.log)"
	start_one temporal-server

	phase "Temporal setup: deploy/temporal/setup.sh (log: $SHOWDIR/temporal-setup.log)"
	t=$(date +%s%N)
	temporal_setup
	phase "Namespace $NAMESPACE ($NAMESPACE_RETENTION) and search attributes ($SEARCH_ATTRIBUTES) ready ($(since "$t"))"

	if [ "$CLUSTER_UI" != off ]; then
		phase "Temporal Web UI on $UI_ADDR"
		start_one temporal-ui
	fi

	phase "mediaflow: devpeer, two workers, two servers (logs: $SHOWDIR/devpeer.log, worker-N.log, server-N.log)"
	local n
	for n in devpeer worker-1 worker-2 server-1 server-2; do start_one "$n"; done

	cat <<MSG

[$(printf '%6s' "$(elapsed)")s] The cluster is ready:
  webhooks    http://127.0.0.1:8080/webhooks/animus  http://127.0.0.1:8081/webhooks/animus
  Temporal    $TEMPORAL_GRPC (bin/temporal workflow list)   UI $([ "$CLUSTER_UI" = off ] && echo "off (CLUSTER_UI=off)" || echo "http://$UI_ADDR")
  PostgreSQL  127.0.0.1:$PG_PORT  psql -h 127.0.0.1 -p $PG_PORT -U $PG_USER  (mediaflow's jobs: -U mediaflow mediaflow)
  worker metrics  http://127.0.0.1:9091/metrics  http://127.0.0.1:9092/metrics
  devpeer     media on http://$DEVPEER_ADDR/media/; notifications received: $SHOWDIR/notifications.log
  blob store  $BLOB_URL (codec endpoint for the UI: http://$CODEC_ADDR)
  logs        $SHOWDIR/*.log   pids $SHOWDIR/pids
MSG
	if [ "$ANIMUS_WEBHOOK_SECRET" = "${DEV_SECRET:-}" ]; then
		echo "  secret      $DEV_SECRET (dev only)"
	fi
}

cmd_stop() {
	trap '' INT TERM
	[ -f "$PIDS" ] || [ -f "$PG_DATA/postmaster.pid" ] || { echo "Nothing to stop."; return 0; }
	[ -f "$DIR/pg_port" ] && PG_PORT=$(cat "$DIR/pg_port")
	local n t
	t=$(date +%s%N)
	phase "Stopping the servers, the workers, devpeer, the UI, temporal-server, then PostgreSQL..."
	local stoppers=()
	for n in server-2 server-1 worker-2 worker-1 devpeer; do
		stop_one "$n" &
		stoppers+=($!)
	done
	wait "${stoppers[@]}"
	for n in temporal-ui temporal-server postgresql; do stop_one "$n"; done
	rm -f "$PIDS"
	phase "Stopped ($(since "$t"))"
}

cmd_status() {
	local n p
	for n in "${NAMES[@]}"; do
		p=$(pid_of "$n")
		if alive "$n"; then printf '%-16s %-8s running\n' "$n" "$p"; else printf '%-16s %-8s not running\n' "$n" "${p:--}"; fi
	done
}

cmd_restart() {
	local name=${1:?restart NAME [--kill] [--down SECONDS]} how=term down=0
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--kill) how='kill' ;;
		--down) down=${2:?--down SECONDS}; shift ;;
		*) echo "restart: unknown flag $1"; exit 2 ;;
		esac
		shift
	done
	[[ " ${NAMES[*]} " == *" $name "* ]] || { echo "unknown process $name (one of: ${NAMES[*]})"; exit 2; }
	[ -f "$PIDS" ] || { echo "The cluster is not running (scripts/cluster.sh start)."; exit 1; }
	[ -f "$DIR/pg_port" ] && PG_PORT=$(cat "$DIR/pg_port")
	if [[ $name == worker-* || $name == server-* ]] && [ -f "$DIR/settings.sha256" ] &&
		[ "$(mediaflow_settings)" != "$(cat "$DIR/settings.sha256")" ]; then
		echo "restart $name: ANIMUS_WEBHOOK_SECRET, NOTIFY_URL, ALERT_URL, NOTIFY_SECRET or CLUSTER_MEDIA_DIR differ from start's; run restart with the environment start had."
		exit 1
	fi
	# Tells a foreground `run` that this exit is expected.
	touch "$DIR/restarting"
	trap 'rm -f "$DIR/restarting"' EXIT
	local t
	t=$(date +%s%N)
	phase "$name: $([ "$how" = kill ] && echo SIGKILL || echo SIGTERM) (pid $(pid_of "$name"))"
	stop_one "$name" "$how"
	phase "$name stopped ($(since "$t"))"
	[ "$down" = 0 ] || { sleep "$down"; phase "$name down for $down s"; }
	start_one "$name"
}

cmd_env() {
	[ -f "$DIR/pg_port" ] && PG_PORT=$(cat "$DIR/pg_port")
	cat <<ENV
export TEMPORAL_ADDRESS=$TEMPORAL_GRPC TEMPORAL_NAMESPACE=$NAMESPACE TEMPORAL_CONFIG_FILE=/dev/null
export CLUSTER_WEBHOOK_URLS="http://127.0.0.1:8080/webhooks/animus http://127.0.0.1:8081/webhooks/animus"
export CLUSTER_DATABASE_URL="postgres://mediaflow@127.0.0.1:$PG_PORT/mediaflow?sslmode=disable"
export CLUSTER_PGPASSWORD=$MEDIAFLOW_DB_PASSWORD
ENV
}

# run: start, then wait; Ctrl-C or SIGTERM (or any process exiting, other
# than through restart) stops everything.
cmd_run() {
	# shellcheck disable=SC2154 # code is set in the trap
	trap 'code=$?; trap - EXIT; [ -z "${STARTED:-}" ] || cmd_stop; exit $code' EXIT
	trap 'echo; trap - EXIT; [ -z "${STARTED:-}" ] || cmd_stop; exit 0' INT TERM
	cmd_start
	echo
	echo "Ctrl-C stops everything. Faults: scripts/cluster.sh restart temporal-server --kill (in another terminal)."
	local n
	while :; do
		sleep 1 &
		wait $! || true
		[ -e "$DIR/restarting" ] && continue
		for n in "${NAMES[@]}"; do
			if ! alive "$n" && [ ! -e "$DIR/restarting" ]; then
				phase "$n exited; see $SHOWDIR/$n.log. Stopping the rest."
				exit 1
			fi
		done
	done
}

case ${1:-run} in
run) cmd_run ;;
start)
	# shellcheck disable=SC2154 # code is set in the trap
	trap 'code=$?; if [ $code -ne 0 ] && [ -n "${STARTED:-}" ]; then echo "Start failed: stopping what started."; cmd_stop; fi' EXIT
	trap 'exit 130' INT TERM
	cmd_start
	;;
stop) cmd_stop ;;
status) cmd_status ;;
restart) shift; cmd_restart "$@" ;;
env) cmd_env ;;
clean)
	cmd_stop
	rm -rf "$DIR"
	echo "Removed $SHOWDIR."
	;;
*) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
