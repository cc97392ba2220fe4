# shellcheck shell=bash
# .ci/redis.sh starts the Redis servers the store tests run against. Source
# it (from .ci/run): it starts one node on 127.0.0.1:6390 and a 3-master
# cluster on 127.0.0.1:7001-7003, all in a temporary directory, without
# persistence, and exports
#
#   TEST_REDIS_URL=redis://127.0.0.1:6390/0
#   TEST_REDIS_CLUSTER_ADDRS=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
#
# redis_stop shuts them down and removes the directory; it is added to the
# EXIT trap (after any trap already set) and may also be called directly.
# Sourcing returns non-zero if the servers cannot be started; it does not
# change the caller's shell options and works under set -euo pipefail.

REDIS_CI_SINGLE_PORT=6390
REDIS_CI_CLUSTER_PORTS=(7001 7002 7003)
REDIS_CI_DIR=""

# redis_ci_log prints a message on stderr.
redis_ci_log() { echo "redis.sh: $*" >&2; }

# redis_ci_install installs redis-server and redis-cli if they are missing.
redis_ci_install() {
	if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
		return 0
	fi
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	redis_ci_log "installing redis-server"
	$sudo apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
}

# redis_ci_wait PORT WHAT CMD... polls CMD (a redis-cli command on PORT) until
# its output contains WHAT, for up to 30 s.
redis_ci_wait() {
	local port=$1 want=$2 i
	shift 2
	local out
	for i in $(seq 300); do
		# No pipe into grep -q: under pipefail an early exit of grep fails it.
		out=$(redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null) || true
		if [[ $out == *"$want"* ]]; then
			return 0
		fi
		sleep 0.1
	done
	redis_ci_log "port $port: no '$want' from '$*' after 30s"
	return 1
}

# redis_ci_node PORT [ARGS...] starts one daemonized server.
redis_ci_node() {
	local port=$1
	shift
	if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
		redis_ci_log "port $port is already served by a Redis; stop it first"
		return 1
	fi
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
		--daemonize yes --dir "$REDIS_CI_DIR" \
		--pidfile "$REDIS_CI_DIR/$port.pid" --logfile "$REDIS_CI_DIR/$port.log" "$@" &&
		redis_ci_wait "$port" PONG ping
}

# redis_stop shuts the servers down and removes their directory.
redis_stop() {
	local port
	for port in "$REDIS_CI_SINGLE_PORT" "${REDIS_CI_CLUSTER_PORTS[@]}"; do
		if [ -n "$REDIS_CI_DIR" ] && [ -f "$REDIS_CI_DIR/$port.pid" ]; then
			redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
		fi
	done
	if [ -n "$REDIS_CI_DIR" ]; then
		for port in "$REDIS_CI_SINGLE_PORT" "${REDIS_CI_CLUSTER_PORTS[@]}"; do
			local pid i
			pid=$(cat "$REDIS_CI_DIR/$port.pid" 2>/dev/null) || continue
			for i in $(seq 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
		done
		rm -rf "$REDIS_CI_DIR"
		REDIS_CI_DIR=""
	fi
	unset TEST_REDIS_URL TEST_REDIS_CLUSTER_ADDRS
}

# redis_start installs and starts everything and exports the variables.
redis_start() {
	redis_ci_install || return 1
	REDIS_CI_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hx-redis.XXXXXX") || return 1
	local prev
	prev=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
	# shellcheck disable=SC2064 # expand the previous trap now
	trap "redis_stop${prev:+; $prev}" EXIT

	redis_ci_node "$REDIS_CI_SINGLE_PORT" || return 1
	local port addrs=()
	for port in "${REDIS_CI_CLUSTER_PORTS[@]}"; do
		redis_ci_node "$port" --cluster-enabled yes \
			--cluster-config-file "$REDIS_CI_DIR/nodes-$port.conf" \
			--cluster-node-timeout 5000 || return 1
		addrs+=("127.0.0.1:$port")
	done
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$REDIS_CI_DIR/create.log" 2>&1 || {
		redis_ci_log "cluster create failed:"
		cat "$REDIS_CI_DIR/create.log" >&2
		return 1
	}
	for port in "${REDIS_CI_CLUSTER_PORTS[@]}"; do
		redis_ci_wait "$port" "cluster_state:ok" cluster info || return 1
	done

	export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_CI_SINGLE_PORT/0"
	TEST_REDIS_CLUSTER_ADDRS=$(
		IFS=,
		echo "${addrs[*]}"
	)
	export TEST_REDIS_CLUSTER_ADDRS
	local version
	version=$(redis-server --version) || true
	redis_ci_log "single node on $TEST_REDIS_URL, cluster on $TEST_REDIS_CLUSTER_ADDRS (${version%% sha=*})"
}

redis_start || {
	redis_stop
	return 1 2>/dev/null || exit 1
}
