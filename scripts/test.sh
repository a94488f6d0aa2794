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

pgbin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)}
if [ -n "$pgbin" ] && [ -x "$pgbin/initdb" ]; then
	# Tests that stop and start PostgreSQL make clusters of their own
	# with these binaries (internal/dbtest).
	export PG_BIN=$pgbin
else
	unset PG_BIN
fi
if [ -z "${TEST_POSTGRES_URL:-}" ]; then
	if [ -n "${PG_BIN:-}" ]; then
		source scripts/postgres.sh
		trap pg_stop EXIT
		pg_start "$PG_BIN"
	elif [ -n "${CI:-}" ]; then
		echo "PostgreSQL is not installed (apt-get install postgresql)"; exit 1
	else
		echo "PostgreSQL not installed: store tests run on SQLite only."
	fi
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
