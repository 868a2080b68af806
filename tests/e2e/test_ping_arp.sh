#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# ARP and ICMP echo from a fresh client namespace:
#  - wirecached announces itself with a gratuitous ARP at start (seen by
#    tcpdump on the client's veth before any client traffic);
#  - the client's neighbour table starts empty, ARP resolves the appliance
#    to the MAC of its port, 10 pings get 10 replies;
#  - SIGINT stops it with status 0.
#
#   test_ping_arp.sh [--wirecached PATH]
WC_ARGS=("$@")
. "$(dirname "$0")/lib.sh"
wc_require tcpdump ping

wc_topology
SRV_MAC=$(wc_mac "$WC_SRV" "$WC_SRV_IF")
CAP=$WC_TMP/arp.txt

ip netns exec "$WC_CLI" timeout -s INT 120 tcpdump -i "$WC_CLI_IF" -n -e -l -U arp \
	>"$CAP" 2>"$WC_TMP/tcpdump.err" &
TCPDUMP=$!
WC_PIDS+=("$TCPDUMP")
for _ in $(seq 50); do
	grep -q 'listening on' "$WC_TMP/tcpdump.err" && break
	sleep 0.1
done

no_neighbour() {
	[ -z "$(ip -n "$WC_CLI" neigh show "$WC_SERVER_ADDR")" ]
}
wc_ok "neighbour table empty before start" no_neighbour

if ! wc_start_wirecached; then
	wc_ok "wirecached starts" false
	wc_finish
fi
sleep 1

gratuitous() {
	# Sender and target are both the appliance's address: a request
	# ("who-has A tell A") or an unsolicited reply ("A is-at MAC").
	local a=${WC_SERVER_ADDR//./\\.}
	grep -Eq "$SRV_MAC > ff:ff:ff:ff:ff:ff.*(who-has $a( \([^)]*\))? tell $a|Reply $a is-at $SRV_MAC)" \
		"$CAP"
}
wc_ok "gratuitous ARP from $SRV_MAC at start" gratuitous
if ! gratuitous; then
	echo "  captured:"
	sed 's/^/    /' "$CAP"
fi
wc_ok "no neighbour entry before the first packet" no_neighbour

PING=$(ip netns exec "$WC_CLI" ping -c 10 -i 0.2 -W 2 "$WC_SERVER_ADDR" 2>&1)
echo "$PING" | tail -3 | sed 's/^/  /'
wc_ok "10 pings, 0% loss" grep -q ' 0% packet loss' <<<"$PING"
wc_ok "echo replies come from the appliance" grep -q "from $WC_SERVER_ADDR: icmp_seq=10" \
	<<<"$PING"

NEIGH=$(ip -n "$WC_CLI" neigh show "$WC_SERVER_ADDR")
echo "  neighbour: $NEIGH"
wc_ok "neighbour entry is the port's MAC ($SRV_MAC)" grep -q "lladdr $SRV_MAC" <<<"$NEIGH"

sleep 0.5
wc_ok "ARP reply seen on the wire" grep -Eq "$SRV_MAC > .*Reply ${WC_SERVER_ADDR//./\\.} is-at $SRV_MAC" "$CAP"

# A second client address on the same link must resolve it too (the ARP
# reply goes to the asker, not to whoever asked first).
ip -n "$WC_CLI" addr add "10.200.$WC_NET.3/24" dev "$WC_CLI_IF"
ip -n "$WC_CLI" neigh flush dev "$WC_CLI_IF"
wc_ok "ping from a second address" ip netns exec "$WC_CLI" ping -c 2 -i 0.2 -W 2 \
	-I "10.200.$WC_NET.3" "$WC_SERVER_ADDR" >/dev/null

wc_ok "still running" kill -0 "$WC_SERVER_PID"
wc_stop_wirecached
wc_ok "clean exit after SIGINT (status $WC_RC)" test "$WC_RC" = 0
if [ "$WC_RC" != 0 ]; then
	tail -20 "$WC_SERVER_LOG" | sed 's/^/  /'
fi
wc_finish
