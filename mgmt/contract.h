/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The contract between wirecached (the dataplane, DPDK primary process) and
 * wirecache-mgmt (a DPDK secondary process attached to it).
 *
 * Everything that crosses between the two processes is named here and only
 * here: one memzone (WC_MZ_SHARED) holding struct wc_shared, and two rings.
 *
 *  - wc_shared: identity (magic, contract version, instance), clocks, the
 *    live config with its generation (a sequence lock: odd while written),
 *    and one wc_lcore_shared block per worker: its counters (generated from
 *    the WC_LCORE_STATS X-macro table, which also feeds memcached's `stats`
 *    reply and /metrics), the `stats reset` baseline, a heartbeat, and its
 *    partition's figures.
 *  - WC_RING_CTL: mgmt -> dataplane requests (struct wc_ctl_msg): config set,
 *    flush, stats reset. The dataplane's control thread takes them.
 *  - WC_RING_EVENT: dataplane -> mgmt (struct wc_event): log lines, replies
 *    to control requests (matched by seq), lcore state changes.
 *
 * Bump WC_CONTRACT_VERSION whenever a layout in this file (or wc_config in
 * mgmt/config.h) changes; mgmt refuses to attach to another version.
 *
 * Thread safety: each lcore writes only its own wc_lcore_shared, with plain
 * (non-atomic) stores; readers sum the blocks and accept a slightly stale
 * view. The config is written only by the dataplane's control thread, under
 * cfg_seq; read it with wc_shared_config_read().
 */
#ifndef WC_MGMT_CONTRACT_H
#define WC_MGMT_CONTRACT_H

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "mgmt/config.h"

#define WC_CONTRACT_VERSION 6

#define WC_MZ_SHARED  "wc_shared" /**< memzone holding struct wc_shared */
#define WC_RING_CTL   "wc_ctl"	  /**< ring of struct wc_ctl_msg, mgmt -> dataplane */
#define WC_RING_EVENT "wc_event"  /**< ring of struct wc_event, dataplane -> mgmt */
#define WC_RING_SLOTS 1024	  /**< capacity of each of the two rings */

#define WC_SHARED_MAGIC 0x31657269776377ULL /* "wcwire1" */
#define WC_MAX_WORKERS	128		    /**< lcore blocks in wc_shared (RTE_MAX_LCORE) */

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
	X(tcp_segs_in, "TCP segments received")                                             \
	X(tcp_segs_out, "TCP segments sent")                                                \
	X(tcp_syn_cookies, "SYN-ACKs sent (each with a SYN cookie)")                        \
	X(tcp_accepted, "TCP connections established (valid SYN cookie)")                   \
	X(tcp_closed, "TCP connections released")                                           \
	X(tcp_resets_in, "TCP connections reset by the peer")                               \
	X(tcp_resets_out, "TCP RSTs sent")                                                  \
	X(tcp_challenge_acks, "challenge ACKs sent (RST or SYN not at rcv_nxt)")            \
	X(tcp_retrans, "TCP segments retransmitted")                                        \
	X(tcp_rto, "TCP retransmission timeouts")                                           \
	X(tcp_fast_retrans, "TCP fast retransmits (three duplicate ACKs)")                  \
	X(tcp_ooo, "TCP segments queued out of order")                                      \
	X(tcp_zero_window_probes, "TCP zero-window probes sent")                            \
	X(tcp_keepalive_probes, "TCP keepalive probes sent")                                \
	X(tcp_timeouts, "TCP connections reset: retransmission or keepalive timeout")       \
	X(tcp_conn_limit, "TCP connections refused: connection limit reached")              \
	X(tcp_snd_held, "TCP applications held back: send buffer over its limit")           \
	X(tcp_mem_refused, "TCP buffer allocations refused: lcore limit reached")           \
	X(drop_tcp_malformed, "dropped: TCP header length or flags invalid")                \
	X(drop_tcp_checksum, "dropped: bad TCP checksum")                                   \
	X(drop_tcp_port, "dropped: no listener on the TCP port (RST sent)")                 \
	X(drop_tcp_cookie, "dropped: ACK with an invalid SYN cookie")                       \
	X(drop_tcp_no_conn, "dropped: TCP segment for no connection")                       \
	X(drop_tcp_window, "dropped: TCP segment out of window or a resend (ACK sent)")     \
	X(drop_tcp_ooo_full, "dropped: out-of-order queue full")                            \
	X(drop_tcp_rcvbuf, "dropped: TCP data past the receive buffer limit")               \
	X(drop_tcp_ack, "dropped: TCP ACK of data never sent (ACK sent)")                   \
	X(xcore_remote_read_retries, "remote reads that raced writes and went to the owner")

/** One lcore's counters; written only by that lcore. */
struct wc_lcore_stats {
#define WC_STAT_FIELD(name, desc) uint64_t name;
	WC_LCORE_STATS(WC_STAT_FIELD)
#undef WC_STAT_FIELD
} __attribute__((aligned(64)));

/*
 * A partition's figures: X(name, description), copied from the store by its
 * owner lcore once per tick (1 ms).
 */
#define WC_PART_STATS(X)                                                           \
	X(curr_items, "items stored now")                                          \
	X(total_items, "successful stores")                                        \
	X(bytes, "bytes of item memory live items take")                           \
	X(mem_used, "bytes of item memory in use (live and dead items)")           \
	X(mem_limit, "the partition's share of memory-limit")                      \
	X(mem_reserved, "item memory allocated at start, the runtime maximum")     \
	X(index_bytes, "bytes the partition's index takes")                        \
	X(index_capacity, "items the index admits")                                \
	X(evictions, "live items removed to make room")                            \
	X(expired_unfetched, "items expired without being read")                   \
	X(evicted_unfetched, "items evicted without being read")                   \
	X(reclaimed, "expired items whose memory was reclaimed")                   \
	X(get_expired, "lookups that found their key expired")                     \
	X(oom, "stores refused for lack of memory")                                \
	X(hash_collisions, "lookups whose hash matched but key did not")           \
	X(grace_waits, "times the owner waited for readers before reusing memory") \
	X(segs_cleaned, "segments emptied ahead of need, a slice at a time")       \
	X(reclaim_inline, "segments a store emptied itself, the cleaner behind")

struct wc_part_stats {
#define WC_STAT_FIELD(name, desc) uint64_t name;
	WC_PART_STATS(WC_STAT_FIELD)
#undef WC_STAT_FIELD
	int64_t numa_node; /**< node the partition's memory is on */
};

enum wc_lcore_state {
	WC_LCORE_STARTING = 0,
	WC_LCORE_RUNNING = 1,
	WC_LCORE_STOPPED = 2,
};

/** What mgmt sees of one worker lcore. */
struct wc_lcore_shared {
	struct wc_lcore_stats st;   /**< live counters (the fast path writes these) */
	struct wc_lcore_stats base; /**< baseline of `stats reset` */
	uint64_t heartbeat_tsc;	    /**< TSC at the lcore's last tick (every 1 ms) */
	uint64_t ticks;		    /**< ticks run so far */
	uint64_t cfg_gen;	    /**< the config generation this lcore applied */
	uint32_t lcore_id;
	uint32_t socket_id;
	uint32_t index; /**< worker index = queue = partition */
	uint32_t state; /**< enum wc_lcore_state */
	struct wc_part_stats part;
} __attribute__((aligned(64)));

#define WC_MAX_PORTS 4 /**< link blocks in wc_shared */

/**
 * A served port's link as the dataplane's control thread last read it (at
 * start, then once a second). Published because some PMDs (net_tap) read
 * the link through a file descriptor only the primary process has.
 */
struct wc_port_link {
	uint32_t speed_mbps; /**< 0 = unknown */
	uint8_t up;
	uint8_t full_duplex;
	uint8_t autoneg;
	uint8_t valid; /**< 1 once read */
};

enum wc_dp_state {
	WC_DP_STARTING = 0,
	WC_DP_RUNNING = 1,
	WC_DP_STOPPING = 2,
};

/** The memzone WC_MZ_SHARED. */
struct wc_shared {
	uint64_t magic;	       /**< WC_SHARED_MAGIC once the block is filled */
	uint32_t version;      /**< WC_CONTRACT_VERSION */
	uint32_t size;	       /**< sizeof(struct wc_shared) */
	char wc_version[32];   /**< wirecached's version */
	uint64_t instance;     /**< random per start: a new value = a restarted dataplane */
	int32_t pid;	       /**< wirecached's pid */
	uint32_t state;	       /**< enum wc_dp_state */
	uint64_t start_time;   /**< unix seconds at start */
	uint64_t tsc_hz;       /**< TSC ticks per second (heartbeats are TSC) */
	uint32_t n_workers;    /**< lcores[0..n_workers-1] are in use */
	uint16_t port_id;      /**< the ethdev port served */
	uint16_t n_ports;      /**< ports served (1) */
	char config_file[256]; /**< the --config file wirecached read, "" if none */
	struct wc_port_link link[WC_MAX_PORTS]; /**< [i]: port port_id + i */

	/* Control thread's counters. */
	uint64_t ctl_requests;	 /**< control messages taken */
	uint64_t events_dropped; /**< events not queued: the event ring was full */

	/** Live config: even = stable, odd = being written (sequence lock). */
	uint64_t cfg_seq __attribute__((aligned(64)));
	struct wc_config cfg;

	struct wc_lcore_shared lcores[WC_MAX_WORKERS];
};

/** The config generation: how many times the live config was changed. */
static inline uint64_t wc_shared_config_gen(const struct wc_shared *sh)
{
	return __atomic_load_n(&sh->cfg_seq, __ATOMIC_ACQUIRE) / 2;
}

/**
 * A consistent copy of the live config (retries while the control thread
 * writes it).
 * @return its generation.
 */
static inline uint64_t wc_shared_config_read(const struct wc_shared *sh, struct wc_config *out)
{
	uint64_t s1, s2;

	do {
		s1 = __atomic_load_n(&sh->cfg_seq, __ATOMIC_ACQUIRE);
		memcpy(out, (const void *)&sh->cfg, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&sh->cfg_seq, __ATOMIC_RELAXED);
	} while ((s1 & 1) != 0 || s1 != s2);
	return s1 / 2;
}

/** Control requests, mgmt -> dataplane. */
enum wc_ctl_op {
	WC_CTL_CONFIG_SET = 1, /**< name = value: validate, apply, bump the generation */
	WC_CTL_FLUSH = 2,      /**< flush_all every partition; arg = delay in seconds */
	WC_CTL_STATS_RESET = 3 /**< set every lcore's baseline to its counters */
};

#define WC_CTL_NAME_MAX	 64
#define WC_CTL_VALUE_MAX 432

/** One control request (512 bytes, a ring element). */
struct wc_ctl_msg {
	uint64_t seq; /**< chosen by mgmt; the reply event carries it */
	uint32_t op;  /**< enum wc_ctl_op */
	uint32_t arg;
	char name[WC_CTL_NAME_MAX];
	char value[WC_CTL_VALUE_MAX];
};

enum wc_event_type {
	WC_EV_LOG = 1,	     /**< a log line: level = RTE_LOG_*, text */
	WC_EV_CTL_REPLY = 2, /**< seq = the request's; rc = 0 or -errno; text = reason */
	WC_EV_LCORE = 3	     /**< lcore = index, rc = new enum wc_lcore_state */
};

#define WC_EVENT_TEXT_MAX 480

/** One event (512 bytes, a ring element). */
struct wc_event {
	uint64_t seq;
	uint64_t time_ns; /**< CLOCK_REALTIME */
	uint32_t type;	  /**< enum wc_event_type */
	int32_t rc;
	uint32_t level;
	uint32_t lcore;
	char text[WC_EVENT_TEXT_MAX];
};

static_assert(sizeof(struct wc_ctl_msg) == 512, "ring element size");
static_assert(sizeof(struct wc_event) == 512, "ring element size");

#endif /* WC_MGMT_CONTRACT_H */
