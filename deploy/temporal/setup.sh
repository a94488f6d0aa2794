#!/bin/sh
# Run by the temporal-setup service (admin-tools image) once the Temporal
# server is up, before mediaflow's server and worker start:
#   - the namespace TEMPORAL_NAMESPACE, with NAMESPACE_RETENTION (created, or
#     its retention brought to that value);
#   - the search attributes SEARCH_ATTRIBUTES ("Name=Type …"), kept when
#     they exist with the same type;
# then it waits until the namespace lists them, so the first webhook can set
# them. Idempotent: safe on every `docker compose up`.
set -eu

: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${NAMESPACE_RETENTION:?}" "${SEARCH_ATTRIBUTES:?}"
ns=$TEMPORAL_NAMESPACE

# retry N COMMAND…: the frontend may answer before the namespace cache holds
# a namespace that was just created.
retry() {
	n=$1
	shift
	i=1
	until "$@"; do
		if [ "$i" -ge "$n" ]; then
			echo "temporal-setup: gave up after $n tries: $*" >&2
			return 1
		fi
		i=$((i + 1))
		sleep 2
	done
}

op() { temporal operator "$@" --address "$TEMPORAL_ADDRESS"; }

echo "temporal-setup: waiting for Temporal at $TEMPORAL_ADDRESS"
retry 60 op cluster health

if op namespace describe --namespace "$ns" >/dev/null 2>&1; then
	echo "temporal-setup: namespace $ns exists; retention $NAMESPACE_RETENTION"
	retry 10 op namespace update --namespace "$ns" --retention "$NAMESPACE_RETENTION"
else
	echo "temporal-setup: creating namespace $ns; retention $NAMESPACE_RETENTION"
	retry 10 op namespace create --namespace "$ns" --retention "$NAMESPACE_RETENTION"
fi

add_attribute() { # name, type
	if out=$(op search-attribute create --namespace "$ns" --name "$1" --type "$2" 2>&1); then
		echo "temporal-setup: search attribute $1 ($2) added"
		return 0
	fi
	case $out in
	*"different type"*)
		# Not ours to fix: the attribute exists with another type.
		echo "temporal-setup: $out" >&2
		exit 1
		;;
	*"already exists"*)
		echo "temporal-setup: search attribute $1 already exists"
		return 0
		;;
	esac
	echo "temporal-setup: $out" >&2
	return 1
}

listed() {
	list=$(op search-attribute list --namespace "$ns" 2>/dev/null) || return 1
	for sa in $SEARCH_ATTRIBUTES; do
		case $list in
		*"${sa%%=*}"*) ;;
		*) return 1 ;;
		esac
	done
}

for sa in $SEARCH_ATTRIBUTES; do
	retry 10 add_attribute "${sa%%=*}" "${sa#*=}"
done
retry 30 listed
echo "temporal-setup: done"
