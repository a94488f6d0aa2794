#!/usr/bin/env bash
# Checks the Prometheus files in deploy/prometheus with promtool: the alerting
# rules, the example configuration (which loads them) and the rules' unit tests.
#
# promtool comes from the Debian package `prometheus`, which .ci/run installs
# (without starting its service). Where it is missing, CI fails and a local
# run skips the check with a note, as scripts/test.sh does for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=deploy/prometheus

if ! command -v promtool >/dev/null; then
	[ -z "${CI:-}" ] || { echo "check-alerts: promtool is not installed (apt-get install prometheus; .ci/run does)"; exit 1; }
	echo "check-alerts: promtool not installed, alert checks skipped (apt-get install prometheus)"
	exit 0
fi

echo "check-alerts: $(promtool --version 2>&1 | head -1)"
set -x
promtool check rules "$dir/alerts.yml"
promtool check config "$dir/prometheus.yml"
promtool test rules "$dir/alerts_test.yml"
