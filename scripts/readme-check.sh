#!/usr/bin/env bash
# Runs the newcomer's path for real: the docs' marked commands in a fresh
# copy of this tree, against the make dev they start, then checks what a
# newcomer has. The markers, the checks and the bounds:
# docs/local-dev.md#the-docs-commands-checked. CI runs it after make test.
#
#	scripts/readme-check.sh [FILE.md…]      default: README.md, then docs/*.md
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
block_timeout=${BLOCK_TIMEOUT:-300}

fail() {
	echo
	echo "readme-check: FAILED: $*"
	failed=$*
	exit 1
}

for tool in go make curl timeout git; do
	command -v "$tool" >/dev/null || { echo "readme-check: needs $tool"; exit 1; }
done

# A newcomer's shell: none of mediaflow's settings, nothing of Temporal's.
for v in $(compgen -e); do
	case $v in
	TEMPORAL_* | ANIMUS_* | MEDIA_* | NOTIFY_* | ALERT_URL | HTTP_ADDR | DATABASE_URL | DEVPEER_ADDR | \
		WORKER_METRICS_ADDR | LOG_FORMAT | LOG_LEVEL | RATE_LIMIT_* | OTEL_* | ARGS) unset "$v" ;;
	esac
done

(cd "$repo" && go build -o bin/ ./tools/stack && bin/stack check) || fail "the ports of make dev are taken (above); readme-check needs them free"

# The copy: the tracked and untracked files that are not ignored, as a
# clone of this tree with its changes committed would have them.
work=$(mktemp -d "${TMPDIR:-/tmp}/mediaflow-readme-check.XXXXXX")
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -xf - -C "$work"
ready_limit=600
if temporal=$(cd "$repo" && bin/stack temporal); then
	mkdir -p "$work/bin" && ln -s "$temporal" "$work/bin/temporal"
else
	echo "readme-check: no Temporal CLI here: the copy builds one, as a fresh clone does."
	ready_limit=1200
fi
echo "readme-check: fresh copy in $work"
cd "$work"
[ $# -gt 0 ] || set -- README.md docs/*.md

bg_pid=
bg_out=$work/background.out
failed=
finish() {
	local code=$?
	trap - EXIT INT TERM
	if [ -n "$bg_pid" ] && kill -0 "$bg_pid" 2>/dev/null; then
		echo "readme-check: stopping the background block (SIGTERM, as Ctrl-C)..."
		kill -TERM "$bg_pid" 2>/dev/null || true
		for _ in $(seq 120); do kill -0 "$bg_pid" 2>/dev/null || break; sleep 0.5; done
		if kill -0 "$bg_pid" 2>/dev/null; then
			echo "readme-check: still running after 60 s; killing its process group"
			kill -KILL -- "-$bg_pid" 2>/dev/null || true
			failed="make dev did not stop within 60 s of SIGTERM"
		elif ! taken=$(bin/stack check); then
			echo "readme-check: stopped, but a port is still taken:"
			echo "$taken"
			failed="a port of make dev is still taken after it stopped"
		fi
	fi
	if [ -n "$failed" ] || [ "$code" -ne 0 ]; then
		tail -v -n 25 "$bg_out" data/*.log 2>/dev/null || true # the end of each, after its name
		echo "readme-check: FAILED${failed:+: $failed}; the copy is kept in $work"
		exit 1
	fi
	cd / && rm -rf "$work"
	echo "readme-check: OK"
}
trap finish EXIT
trap 'fail "interrupted"' INT TERM

# run_block FILE LINE MARKER COMMANDS
run_block() {
	local file=$1 line=$2 marker=$3 cmds=$4 out rc=0 expects=() e
	while IFS= read -r e; do expects+=("$e"); done < <(grep -o 'expect="[^"]*"' <<<"$marker" | sed 's/^expect="//; s/"$//')
	echo
	echo "=== $file:$line"
	sed 's/^/  $ /' <<<"$cmds"
	if [[ $marker == *" background"* ]]; then
		[ -n "$bg_pid" ] && fail "$file:$line: a second background block; make dev is already running"
		[[ $marker =~ until=\"([^\"]+)\" ]] || fail "$file:$line: a background block needs until=\"…\""
		local until=${BASH_REMATCH[1]}
		set -m
		bash -c "$cmds" </dev/null >"$bg_out" 2>&1 &
		bg_pid=$!
		set +m
		local t0=$SECONDS
		until grep -qF "$until" "$bg_out"; do
			kill -0 "$bg_pid" 2>/dev/null || { cat "$bg_out"; fail "$file:$line: it exited before its output had \"$until\""; }
			[ $((SECONDS - t0)) -lt "$ready_limit" ] || { cat "$bg_out"; fail "$file:$line: no \"$until\" after $ready_limit s"; }
			sleep 1
		done
		sed 's/^/  | /' "$bg_out"
		echo "  (ready after $((SECONDS - t0)) s)"
		return
	fi
	[ -n "$bg_pid" ] || fail "$file:$line: a block before the background one (make dev)"
	out=$(timeout "$block_timeout" bash -euo pipefail -c "$cmds" 2>&1) || rc=$?
	sed 's/^/  | /' <<<"$out"
	[ "$rc" -eq 124 ] && fail "$file:$line: still running after $block_timeout s"
	[ "$rc" -eq 0 ] || fail "$file:$line: exit status $rc"
	for e in "${expects[@]}"; do
		grep -qF -- "$e" <<<"$out" || fail "$file:$line: the output lacks \"$e\""
	done
}

# run_file FILE: runs each marked block of FILE, in order (its stdin is
# not the blocks').
marker_re='^<!-- readme-check( .*)? -->[[:space:]]*$' open_re='^```(sh|bash)[[:space:]]*$' close_re='^```[[:space:]]*$'
run_file() {
	local l lineno=0 marker= mline= cmds= inblock=
	while IFS= read -r l; do
		lineno=$((lineno + 1))
		if [ -n "$inblock" ] && [[ $l =~ $close_re ]]; then
			run_block "$1" "$mline" "$marker" "${cmds%$'\n'}" </dev/null
			inblock= marker= n=$((n + 1))
		elif [ -n "$inblock" ]; then
			cmds+=$l$'\n'
		elif [[ $l =~ $marker_re ]]; then
			marker=$l mline=$lineno
		elif [ -n "$marker" ] && [[ $l =~ $open_re ]]; then
			inblock=1 cmds=
		else
			marker=
		fi
	done <"$1"
}

n=0
for f in "$@"; do
	[ -f "$f" ] || fail "no file $f"
	run_file "$f"
done
[ "$n" -gt 0 ] || fail "no marked block in $*"
[ -n "$bg_pid" ] || fail "no background block (make dev) among the $n marked blocks"

# What the newcomer has by now, whatever the blocks showed.
echo
echo "=== after $n blocks: what a newcomer has"
temporal=$(bin/stack temporal)
count() { "$temporal" workflow count --address 127.0.0.1:7233 --query "$1" | awk '{ print $NF }'; }
t0=$SECONDS
while [ "$(count 'ExecutionStatus="Running" AND WorkflowType="MediaCompletedWorkflow"')" != 0 ]; do
	[ $((SECONDS - t0)) -lt 120 ] || { "$temporal" workflow list --address 127.0.0.1:7233 --query 'ExecutionStatus="Running"'; fail "workflows still running after 120 s"; }
	sleep 1
done
completed=$(count 'ExecutionStatus="Completed" AND WorkflowType="MediaCompletedWorkflow"')
failed_wf=$(count 'ExecutionStatus="Failed"')
echo "  workflows: $completed completed, $failed_wf failed, none running"
[ "$completed" -gt 0 ] || fail "no completed MediaCompletedWorkflow"
[ "$failed_wf" = 0 ] || fail "$failed_wf failed workflows"
clip=tools/devpeer/media/launch-keynote.mp4
saved=$(find data/media -name '*-launch-keynote.mp4' -type f 2>/dev/null | head -1)
[ -n "$saved" ] || fail "no launch-keynote.mp4 under data/media"
cmp -s "$clip" "$saved" || fail "$saved differs from $clip"
echo "  downloaded: $saved ($(wc -c <"$saved") bytes, the same as $clip)"
grep -q '"kind":"notify"' data/notifications.log || fail "no notification in data/notifications.log"
echo "  notifications delivered to devpeer: $(grep -c '"kind":"notify"' data/notifications.log), alerts: $(grep -c '"kind":"alert"' data/notifications.log || true)"
