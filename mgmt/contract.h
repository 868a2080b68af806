/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The contract between wirecached (the dataplane) and wirecache-mgmt.
 *
 * Everything that crosses between the two processes is named here and only
 * here: the per-lcore counter block, generated from one X-macro table that
 * also feeds memcached's `stats` reply and, later, `/metrics`. Bump
 * WC_CONTRACT_VERSION whenever a layout in this file changes.
 *
 * Thread safety: each lcore writes only its own wc_lcore_stats, with plain
 * (non-atomic) stores; readers sum the blocks and accept a slightly stale view.
 */
#ifndef WC_MGMT_CONTRACT_H
#define WC_MGMT_CONTRACT_H

#include <stdint.h>

#define WC_CONTRACT_VERSION 3

/*
 * Per-lcore counters: X(name, description).
 * Every dropped packet increments exactly one of the drop_* counters.
 */
#define WC_LCORE_STATS(X)                                                                   \
	X(rx_packets, "packets received from the port")                                     \
	X(rx_bytes, "bytes received from the port")                                         \
	X(tx_packets, "packets handed to the port")                                         \
	X(tx_bytes, "bytes handed to the port")                                             \
	X(tx_dropped, "packets the port would not take (TX ring full)")                     \
	X(idle_sleeps, "idle backoff sleeps")                                               \
	X(busy_cycles, "TSC cycles spent in loop iterations that did work")                 \
	X(arp_requests_answered, "ARP requests for our address answered")                   \
	X(arp_learned, "ARP cache entries learned or refreshed")                            \
	X(icmp_echo_replies, "ICMP echo replies sent")                                      \
	X(udp_datagrams, "UDP datagrams delivered to an application")                       \
	X(drop_runt, "dropped: frame shorter than its headers")                             \
	X(drop_not_for_us, "dropped: destination MAC or IP is not ours")                    \
	X(drop_ethertype, "dropped: unknown ethertype")                                     \
	X(drop_arp_malformed, "dropped: malformed ARP packet")                              \
	X(drop_ip_malformed, "dropped: bad IPv4 version, header length or total length")    \
	X(drop_ip_checksum, "dropped: bad IPv4 header checksum")                            \
	X(drop_ip_options, "dropped: IPv4 options present")                                 \
	X(drop_ip_ttl, "dropped: IPv4 TTL was zero")                                        \
	X(drop_ip_fragment, "dropped: IPv4 fragment")                                       \
	X(drop_ip_proto, "dropped: unknown IP protocol")                                    \
	X(drop_icmp_malformed, "dropped: malformed or bad-checksum ICMP")                   \
	X(drop_icmp_type, "dropped: ICMP type other than echo request")                     \
	X(drop_udp_malformed, "dropped: UDP length inconsistent with the IP packet")        \
	X(drop_udp_checksum, "dropped: bad UDP checksum")                                   \
	X(drop_udp_port, "dropped: no application on the UDP port")                         \
	X(drop_udp_source, "dropped: UDP source outside the subnet and allowlist")          \
	X(drop_udp_reply_cap, "dropped: reply to an open source over its byte budget")      \
	X(drop_mc_frame, "dropped: malformed memcached UDP frame header")                   \
	X(drop_mc_multi_dgram, "dropped: memcached request spanning several datagrams")     \
	X(drop_mc_truncated, "dropped: memcached UDP request ending mid-command")           \
	X(drop_nombuf, "dropped: no mbuf for a reply")                                      \
	X(mc_cmd_get, "memcached get/gets/gat/gats/mg commands")                            \
	X(mc_cmd_set, "memcached storage commands (set/add/replace/append/prepend/cas/ms)") \
	X(mc_cmd_touch, "memcached touch commands")                                         \
	X(mc_cmd_flush, "memcached flush_all commands")                                     \
	X(mc_cmd_meta, "memcached meta commands")                                           \
	X(mc_get_hits, "keys found by get-like commands")                                   \
	X(mc_get_misses, "keys not found by get-like commands")                             \
	X(mc_delete_hits, "delete hits")                                                    \
	X(mc_delete_misses, "delete misses")                                                \
	X(mc_incr_hits, "incr hits")                                                        \
	X(mc_incr_misses, "incr misses")                                                    \
	X(mc_decr_hits, "decr hits")                                                        \
	X(mc_decr_misses, "decr misses")                                                    \
	X(mc_cas_hits, "cas hits")                                                          \
	X(mc_cas_misses, "cas misses")                                                      \
	X(mc_cas_badval, "cas with a stale unique")                                         \
	X(mc_touch_hits, "touch hits")                                                      \
	X(mc_touch_misses, "touch misses")                                                  \
	X(mc_protocol_errors, "requests answered with ERROR or CLIENT_ERROR")               \
	X(mc_bytes_read, "memcached request bytes read")                                    \
	X(mc_bytes_written, "memcached reply bytes written")                                \
	X(xcore_forwarded, "requests and flushes handed to another lcore's ring")           \
	X(xcore_received, "requests and flushes taken from other lcores' rings")            \
	X(drop_xcore_ring_full, "dropped: request for another lcore, its ring full")        \
	X(xcore_remote_reads, "reads served lock-free from another lcore's partition")      \
	X(xcore_remote_read_retries, "remote reads that raced writes and went to the owner")

/** One lcore's counters; written only by that lcore. */
struct wc_lcore_stats {
#define WC_STAT_FIELD(name, desc) uint64_t name;
	WC_LCORE_STATS(WC_STAT_FIELD)
#undef WC_STAT_FIELD
} __attribute__((aligned(64)));

#endif /* WC_MGMT_CONTRACT_H */
