#!/usr/bin/env bash
# Everything CI runs: formatting, vet, and all tests with the race
# detector. The e2e tests start their own Temporal dev server from
# bin/temporal. A throwaway PostgreSQL on 127.0.0.1 is started for the
# store tests when its binaries are installed (CI requires it); PG_BIN
# names them (default: the newest /usr/lib/postgresql/*/bin).
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed:"; echo "$unformatted"; exit 1
fi
go vet ./...

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)}
if [ -x "$PG_BIN/initdb" ]; then
	# Tests that stop and start PostgreSQL make clusters of their own
	# with these binaries (internal/dbtest).
	export PG_BIN
else
	unset PG_BIN
fi
if [ -z "${TEST_POSTGRES_URL:-}" ] && [ -z "${PG_BIN:-}" ]; then
	[ -z "${CI:-}" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)"; exit 1; }
	echo "PostgreSQL not installed: store tests run on SQLite only."
elif [ -z "${TEST_POSTGRES_URL:-}" ]; then
	# A throwaway PostgreSQL for the store tests, on 127.0.0.1 only, in a
	# temporary directory removed at the exit.
	pg_dir=$(mktemp -d /tmp/mediaflow-pg.XXXXXX) as=()
	if [ "$(id -u)" = 0 ]; then
		chown postgres "$pg_dir"
		as=(runuser -u postgres --) # initdb refuses to run as root
	fi
	trap '"${as[@]}" "$PG_BIN/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1; rm -rf "$pg_dir"' EXIT
	# A port nothing accepts connections on now, from the ephemeral range's top.
	for pg_port in $(seq 55432 55532); do
		(exec 3<>"/dev/tcp/127.0.0.1/$pg_port") 2>/dev/null || break
	done
	"${as[@]}" "$PG_BIN/initdb" -D "$pg_dir/data" -A trust -U postgres >"$pg_dir/initdb.log" 2>&1 ||
		{ echo "initdb failed:"; cat "$pg_dir/initdb.log"; exit 1; }
	"${as[@]}" "$PG_BIN/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
		-o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c fsync=off" start >/dev/null ||
		{ echo "PostgreSQL did not start:"; cat "$pg_dir/server.log"; exit 1; }
	export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"
	echo "PostgreSQL for tests on 127.0.0.1:$pg_port"
fi

scripts/check-alerts.sh
# The e2e tests that wait (outages, drains, retention) run side by side:
# more at once than the cores, as they mostly wait; the package as a whole
# takes longer than go test's default 10 minutes on a busy 2-core machine.
go test -race -count=1 -timeout 30m -parallel 8 ./... "$@"
# What -race makes too slow (the tests skip themselves there): a 16 MiB
# event, which must be answered within Svix's 15 s, and the real Temporal
# UI in headless Chromium, whose pages decode a 2 MiB event a dozen times.
go test -count=1 -timeout 15m -run '^(TestSixteenMiBEventCompletes|TestUIThroughTheCodec|TestUITellsTheStory)$' ./e2e
