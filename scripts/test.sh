#!/usr/bin/env bash
# Everything CI runs: formatting, vet, and all tests with the race
# detector. The e2e tests start their own Temporal dev server from
# bin/temporal; the packages that test PostgreSQL start a throwaway one on
# 127.0.0.1 when it is installed (internal/dbtest; CI requires it).
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed:"; echo "$unformatted"; exit 1
fi
go vet ./...

scripts/check-alerts.sh
# The e2e tests that wait (outages, drains, retention) run side by side:
# more at once than the cores, as they mostly wait; the package as a whole
# takes longer than go test's default 10 minutes on a busy 2-core machine.
go test -race -count=1 -timeout 30m -parallel 8 ./... "$@"
# What -race makes too slow (the tests skip themselves there): a 16 MiB
# event, which must be answered within Svix's 15 s, and the real Temporal
# UI in headless Chromium, whose pages decode a 2 MiB event a dozen times.
go test -count=1 -timeout 15m -run '^(TestSixteenMiBEventCompletes|TestUIThroughTheCodec|TestUITellsTheStory)$' ./e2e
