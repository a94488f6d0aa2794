# Sourced by scripts/test.sh: a throwaway PostgreSQL cluster for the tests,
# on 127.0.0.1 only, in a temporary directory removed by pg_stop.
pg_start() {
	local bin=$1
	PG_DIR=$(mktemp -d /tmp/mediaflow-pg.XXXXXX)
	PG_PORT=${PG_PORT:-55432}
	local as=()
	if [ "$(id -u)" = 0 ]; then
		# initdb refuses to run as root.
		chown postgres "$PG_DIR"
		as=(runuser -u postgres --)
	fi
	"${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres >"$PG_DIR/initdb.log" 2>&1
	"${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
		-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off" start >/dev/null
	export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
	PG_BIN=$bin PG_AS="${as[*]}"
	echo "PostgreSQL for tests on 127.0.0.1:$PG_PORT"
}

pg_stop() {
	$PG_AS "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$PG_DIR"
}
