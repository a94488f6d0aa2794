#!/usr/bin/env bash
# Checks the Prometheus files in deploy/prometheus with promtool: the alerting
# rules, the example configuration (which loads them) and the rules' unit tests.
#
# promtool comes from the Debian package `prometheus`. When it is missing:
# in CI (CI set) the package is installed without starting its service (and
# the script makes sure nothing was left listening on :9090); elsewhere the
# check is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=deploy/prometheus

# Something listening on TCP port 9090 (0x2382), IPv4 or IPv6?
listening_9090() {
	local files=() f
	for f in /proc/net/tcp /proc/net/tcp6; do [ -r "$f" ] && files+=("$f"); done
	[ ${#files[@]} -gt 0 ] || return 1
	awk 'FNR > 1 && $4 == "0A" && $2 ~ /:2382$/ { found = 1 } END { exit !found }' "${files[@]}"
}

# PIDs of running /usr/bin/prometheus processes (no procps needed).
prometheus_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = /usr/bin/prometheus ] && echo "${p#/proc/}"
	done
	return 0
}

install_promtool() {
	local sudo=
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null; then
			echo "check-alerts: promtool is missing and installing it needs root (or sudo)"
			exit 1
		fi
		sudo=sudo
	fi
	local port_before=0 pids_before added='' failed='' new='' p _
	listening_9090 && port_before=1
	pids_before=" $(prometheus_pids | tr '\n' ' ') "

	# policy-rc.d exiting 101 tells invoke-rc.d/deb-systemd-invoke not to
	# start services. Docker images usually have one; otherwise add one for
	# the time of the install.
	local policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod 755 "$policy"
		added=1
		# shellcheck disable=SC2064 # expand now: sudo and policy are local
		trap "$sudo rm -f $policy" EXIT
	fi

	echo "check-alerts: installing promtool (Debian package prometheus)..."
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || failed=1
	[ -n "$failed" ] || $sudo env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends prometheus >/dev/null || failed=1
	if [ -n "$added" ]; then
		$sudo rm -f "$policy"
		trap - EXIT
	fi

	# Only promtool is wanted: if the install started Prometheus anyway
	# (even if the install then failed), stop it: the service first, then
	# any prometheus process that was not running before the install.
	for p in $(prometheus_pids); do
		case "$pids_before" in *" $p "*) ;; *) new="$new $p" ;; esac
	done
	if [ -n "$new" ]; then
		echo "check-alerts: stopping the Prometheus server the install started"
		$sudo service prometheus stop >/dev/null 2>&1 || $sudo systemctl stop prometheus >/dev/null 2>&1 || true
		for p in $new; do
			if [ -d "/proc/$p" ]; then $sudo kill "$p" 2>/dev/null || true; fi
		done
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			listening_9090 || break
			sleep 1
		done
	fi
	if [ "$port_before" = 0 ] && listening_9090; then
		echo "check-alerts: something still listens on :9090 after the install"
		exit 1
	fi
	if [ -n "$failed" ]; then
		echo "check-alerts: installing the Debian package prometheus failed"
		exit 1
	fi
	command -v promtool >/dev/null || { echo "check-alerts: promtool still not found after the install"; exit 1; }
}

if ! command -v promtool >/dev/null; then
	if [ -z "${CI:-}" ]; then
		echo "check-alerts: promtool not installed, alert checks skipped (apt-get install prometheus, or run with CI=1 to install it)"
		exit 0
	fi
	install_promtool
fi

echo "check-alerts: $(promtool --version 2>&1 | head -1)"
set -x
promtool check rules "$dir/alerts.yml"
promtool check config "$dir/prometheus.yml"
promtool test rules "$dir/alerts_test.yml"
