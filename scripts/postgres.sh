# Sourced by scripts/test.sh: a throwaway PostgreSQL cluster for the tests,
# on 127.0.0.1 only, in a temporary directory removed by pg_stop.
pg_start() {
	local bin=$1
	PG_DIR=$(mktemp -d /tmp/mediaflow-pg.XXXXXX)
	PG_PORT=${PG_PORT:-$(free_port)}
	local as=()
	if [ "$(id -u)" = 0 ]; then
		# initdb refuses to run as root.
		chown postgres "$PG_DIR"
		as=(runuser -u postgres --)
	fi
	if ! "${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres >"$PG_DIR/initdb.log" 2>&1; then
		echo "initdb failed:"; cat "$PG_DIR/initdb.log"
		return 1
	fi
	if ! "${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
		-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off" start >/dev/null; then
		echo "PostgreSQL did not start:"; cat "$PG_DIR/server.log"
		return 1
	fi
	export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
	PG_BIN=$bin PG_AS="${as[*]}"
	echo "PostgreSQL for tests on 127.0.0.1:$PG_PORT"
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] || return 0
	$PG_AS "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$PG_DIR"
}

# free_port prints a TCP port nothing listens on now, from the ephemeral
# range's top (a clash with a port taken a moment later is unlikely).
free_port() {
	local port hex used=" "
	for hex in $(awk 'FNR > 1 { n = split($2, a, ":"); print a[n] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
		used+="$((16#$hex)) "
	done
	for port in $(seq 55432 55532); do
		[[ $used == *" $port "* ]] || { echo "$port"; return; }
	done
	echo 55432
}
