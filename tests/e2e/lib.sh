# SPDX-License-Identifier: BSD-3-Clause
# Shell side of the end-to-end harness (netns.py is the Python side; both
# build the same topology):
#
#   srv namespace: wcs0 (no IP, IPv6 off, offloads off), wirecached on
#                  net_af_packet0 answering at 10.200.N.1
#   cli namespace: wcc0 10.200.N.2/24 (IPv6 off, offloads off)
#
# Usage in a test:
#   . "$(dirname "$0")/lib.sh"
#   wc_require tcpdump ping
#   wc_topology                 # sets WC_SRV WC_CLI WC_SERVER_ADDR ... and the exit trap
#   wc_start_wirecached [--wirecached options...]
#   ip netns exec "$WC_CLI" ping -c 1 "$WC_SERVER_ADDR"
#   wc_ok "name" <command...>  # runs a check, counts it
#   wc_finish                   # prints `N passed, N failed`, exits accordingly
#
# Everything is removed on any exit (trap on EXIT INT TERM HUP). Names carry
# the shell's pid so test runs can share the machine.

WC_E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WC_ROOT=$(cd "$WC_E2E_DIR/../.." && pwd)
WC_PASSED=0
WC_FAILED=0
WC_PIDS=()
WC_NAMESPACES=()
WC_TMP=$(mktemp -d /tmp/wc-e2e.XXXXXX)

wc_log() { echo "[e2e] $*"; }

# Skip (exit 77, meson's code) unless root and the tools exist.
wc_require() {
	if [ "$(id -u)" != 0 ]; then
		wc_log "SKIP: end-to-end tests need root"
		exit 77
	fi
	local t
	for t in ip ethtool timeout "$@"; do
		if ! command -v "$t" >/dev/null; then
			wc_log "SKIP: $t is not installed"
			exit 77
		fi
	done
}

# The binary: --wirecached PATH among the script's arguments, $WIRECACHED,
# or the first build dir that has one.
wc_wirecached_path() {
	local prev= a d
	for a in "${WC_ARGS[@]}"; do
		if [ "$prev" = --wirecached ]; then
			echo "$a"
			return
		fi
		case $a in --wirecached=*) echo "${a#*=}"; return ;; esac
		prev=$a
	done
	if [ -n "${WIRECACHED:-}" ]; then
		echo "$WIRECACHED"
		return
	fi
	for d in build-e2e build-ci build build-run; do
		if [ -x "$WC_ROOT/$d/dataplane/wirecached" ]; then
			echo "$WC_ROOT/$d/dataplane/wirecached"
			return
		fi
	done
}

wc_cleanup() {
	local p ns
	for p in "${WC_PIDS[@]}"; do
		kill -INT "$p" 2>/dev/null
	done
	for p in "${WC_PIDS[@]}"; do
		# Give each a moment to stop cleanly, then insist.
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$p" 2>/dev/null
	done
	WC_PIDS=()
	for ns in "${WC_NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	WC_NAMESPACES=()
	rm -rf "$WC_TMP"
}

wc_on_signal() {
	exit 130
}

# wc_topology [N]: two namespaces and a veth pair; 10.200.N.0/24.
wc_topology() {
	local n=${1:-$((1 + ($$ % 250)))}
	WC_NET=$n
	WC_SRV=wcs-sh$$-$n
	WC_CLI=wcc-sh$$-$n
	WC_SRV_IF=wcs0
	WC_CLI_IF=wcc0
	WC_SERVER_ADDR=10.200.$n.1
	WC_CLIENT_ADDR=10.200.$n.2
	trap wc_cleanup EXIT
	trap wc_on_signal INT TERM HUP
	local err
	if ! err=$(ip route add unreachable 10.200.0.0/16 2>&1) && ! grep -q exists <<<"$err"; then
		wc_log "cannot add the unreachable route: $err"
		exit 1
	fi
	ip netns add "$WC_SRV" && WC_NAMESPACES+=("$WC_SRV") || exit 1
	ip netns add "$WC_CLI" && WC_NAMESPACES+=("$WC_CLI") || exit 1
	ip -n "$WC_SRV" link add "$WC_SRV_IF" type veth peer name "$WC_CLI_IF" netns "$WC_CLI" || exit 1
	local ns ifn
	for pair in "$WC_SRV:$WC_SRV_IF" "$WC_CLI:$WC_CLI_IF"; do
		ns=${pair%%:*}
		ifn=${pair#*:}
		ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifn.disable_ipv6=1" || exit 1
		ip netns exec "$ns" ethtool -K "$ifn" tx off rx off tso off gso off gro off >/dev/null ||
			exit 1
		ip -n "$ns" link set lo up
	done
	ip -n "$WC_SRV" link set "$WC_SRV_IF" up || exit 1
	ip -n "$WC_CLI" addr add "$WC_CLIENT_ADDR/24" dev "$WC_CLI_IF" || exit 1
	ip -n "$WC_CLI" link set "$WC_CLI_IF" up || exit 1
}

wc_mac() { # ns ifname
	ip -n "$1" -o link show dev "$2" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2
}

# wc_start_wirecached [options after --]: start it on the srv end, wait for
# `wirecached: ready`. Sets WC_SERVER_PID and WC_SERVER_LOG.
wc_start_wirecached() {
	local bin
	bin=$(wc_wirecached_path)
	if [ -z "$bin" ] || [ ! -x "$bin" ]; then
		wc_log "no wirecached binary (set WIRECACHED or pass --wirecached)"
		return 1
	fi
	WC_SERVER_LOG=$WC_TMP/wirecached.log
	ip netns exec "$WC_SRV" timeout -s INT -k 10 300 "$bin" -l 0 --no-huge -m 512 --no-pci \
		--no-telemetry --no-shconf --file-prefix "wcsh$$n$WC_NET" \
		--vdev="net_af_packet0,iface=$WC_SRV_IF" -- --ip "$WC_SERVER_ADDR/24" --lifetime 240 \
		"$@" >"$WC_SERVER_LOG" 2>&1 </dev/null &
	WC_SERVER_PID=$!
	WC_PIDS+=("$WC_SERVER_PID")
	wc_log "wirecached started (pid $WC_SERVER_PID): $bin"
	local i
	for i in $(seq 1 600); do
		if grep -q '^wirecached: ready' "$WC_SERVER_LOG"; then
			return 0
		fi
		if ! kill -0 "$WC_SERVER_PID" 2>/dev/null; then
			wc_log "wirecached exited before ready:"
			tail -30 "$WC_SERVER_LOG"
			return 1
		fi
		sleep 0.1
	done
	wc_log "wirecached not ready after 60 s:"
	tail -30 "$WC_SERVER_LOG"
	return 1
}

# SIGINT the server; its exit status goes to WC_RC.
wc_stop_wirecached() {
	kill -INT "$WC_SERVER_PID" 2>/dev/null
	wait "$WC_SERVER_PID"
	WC_RC=$?
	WC_PIDS=("${WC_PIDS[@]/$WC_SERVER_PID/}")
}

# wc_ok NAME COMMAND...: one check.
wc_ok() {
	local name=$1
	shift
	if "$@"; then
		echo "ok - $name"
		WC_PASSED=$((WC_PASSED + 1))
	else
		echo "not ok - $name"
		WC_FAILED=$((WC_FAILED + 1))
	fi
}

wc_finish() {
	echo "$WC_PASSED passed, $WC_FAILED failed"
	[ "$WC_FAILED" = 0 ]
	exit $?
}
