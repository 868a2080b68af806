/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The user-space network stack: Ethernet (VLAN tags accepted), ARP, IPv4,
 * ICMP echo, UDP and TCP (tcp.h), per lcore. It knows nothing of memcached:
 * UDP datagrams go to the application registered on their destination port,
 * TCP connections to the one listening on theirs.
 *
 * Thread safety: a wc_net belongs to one lcore; wc_iface is read-only after
 * start and shared by every lcore.
 */
#ifndef WC_NET_H
#define WC_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "mgmt/config.h"
#include "mgmt/contract.h"

#define WC_TX_MAX	64   /**< packets buffered before a forced TX burst */
#define WC_UDP_APPS	4    /**< UDP applications per interface */
#define WC_ARP_SLOTS	256  /**< ARP cache entries per lcore (direct-mapped) */
#define WC_BUDGET_SLOTS 4096 /**< per-source reply budgets (direct-mapped) */

/** Headroom a UDP reply mbuf keeps for Ethernet + VLAN + IPv4 + UDP headers. */
#define WC_UDP_HDR_ROOM (RTE_ETHER_HDR_LEN + 4 + 20 + 8)

/** The peer of a UDP datagram, captured at input for the reply. */
struct wc_udp_peer {
	struct rte_ether_addr mac; /**< where the request came from (next hop) */
	uint32_t ip;		   /**< network order */
	uint16_t port;		   /**< network order */
	uint16_t vlan_tci;	   /**< host order; 0 = untagged */
	uint16_t local_port;	   /**< our port, network order */
	bool open;		   /**< outside our subnet and the allowlist */
};

struct wc_net;

/**
 * A UDP application's input: one datagram's payload. The payload is valid
 * only during the call; the application replies with wc_udp_alloc_reply()
 * or wc_udp_alloc(), and wc_udp_send().
 */
typedef void (*wc_udp_input_t)(void *arg, struct wc_net *n, const struct wc_udp_peer *peer,
			       const uint8_t *payload, uint16_t len);

/** Datagrams a UDP application's answer in place is offered at once, at most. */
#define WC_UDP_FAST_MAX 32

/** One datagram offered to a UDP application's answer in place. */
struct wc_udp_fast_req {
	const uint8_t *payload; /**< the request's payload */
	uint8_t *reply;		/**< where its reply's payload goes */
	uint16_t len;		/**< payload bytes */
	uint16_t room;		/**< bytes at reply, at least 64 */
	uint16_t rlen;		/**< out: the reply's length */
};

/**
 * A UDP application's optional answer in place, offered the run of common
 * frames of a burst (one untagged segment, valid checksums, from a source
 * on the subnet or in the allowlist), at most WC_UDP_FAST_MAX of them: it
 * answers @p reqs in order, writing each reply's payload at its reply (in
 * the received frame's own buffer, past the request, which stays readable
 * until every reply of the call is written) and its length in rlen, and
 * stops at the first one it does not answer, having done and counted
 * nothing for that one. input() then gets that datagram and the *pass - 1
 * after it, which the application says at a glance are not for it either
 * (*pass at least 1 if it answered fewer than @p count); the next ones are
 * offered again. Seeing the run at once, it can pay its per-call costs
 * once and start every lookup's memory reads before the first one.
 * @return how many it answered: reqs[0..return) have their replies, which
 *         the stack sends to their requests' sources, the headers written
 *         around them in the same buffers.
 */
typedef unsigned int (*wc_udp_fast_t)(void *arg, struct wc_net *n, struct wc_udp_fast_req *reqs,
				      unsigned int count, unsigned int *pass);

struct wc_udp_app {
	uint16_t port; /**< network order */
	wc_udp_input_t input;
	wc_udp_fast_t fast; /**< NULL: every datagram goes to input() */
};

/** One port's addressing and policy; read-only after start. */
struct wc_iface {
	uint16_t port_id;
	struct rte_ether_addr mac;
	uint32_t ip;	      /**< network order */
	uint32_t netmask;     /**< network order */
	uint64_t tx_offloads; /**< RTE_ETH_TX_OFFLOAD_* enabled on the port */
	uint64_t rx_offloads; /**< RTE_ETH_RX_OFFLOAD_* enabled on the port */
	struct wc_cidr allow[WC_ALLOW_MAX];
	unsigned int n_allow;
	bool udp_open;		  /**< answer sources outside subnet+allowlist */
	uint32_t udp_open_budget; /**< reply bytes per second to each such source */
	struct wc_udp_app apps[WC_UDP_APPS];
	unsigned int n_apps;
};

/**
 * An ARP cache entry. The cache is a hint with no aging: an entry lasts
 * until a colliding neighbour or a new MAC replaces it.
 */
struct wc_arp_entry {
	uint32_t ip; /**< network order; 0 = empty */
	struct rte_ether_addr mac;
};

struct wc_budget {
	uint32_t ip;
	uint32_t tokens;
	uint64_t refill_tsc;
};

/** One lcore's network state. */
struct wc_net {
	const struct wc_iface *ifc;
	uint16_t queue;		  /**< this lcore's RX/TX queue */
	struct rte_mempool *pool; /**< for replies */
	struct wc_lcore_stats *st;
	void *app_arg[WC_UDP_APPS]; /**< per-lcore argument of each UDP app */
	uint64_t tsc_hz;
	uint64_t now_tsc; /**< refreshed once per burst by the loop */
	uint16_t ntx;
	uint16_t ip_id; /**< next IPv4 identification for UDP replies (lcores start apart) */
	struct rte_mbuf *rx_reuse; /**< frame being delivered, if its reply may reuse it */
	struct wc_tcp *tcp;	   /**< TCP connections and listeners (tcp.h), or NULL */
	struct rte_mbuf *tx[WC_TX_MAX];
	struct wc_arp_entry arp[WC_ARP_SLOTS];
	struct wc_budget budget[WC_BUDGET_SLOTS];
};

/**
 * Handle a burst of received frames; every mbuf is consumed (freed, or reused
 * for a reply). Replies are queued on n->tx and sent by wc_net_tx_flush().
 * Frames may be segmented. Each frame neither answered nor delivered counts
 * in exactly one drop_* counter of n->st. UDP applications run inside this
 * call. Only the lcore that owns @p n may call it.
 */
void wc_net_input(struct wc_net *n, struct rte_mbuf **pkts, uint16_t count);

/**
 * Transmit everything queued, retrying while the port takes frames; what it
 * will not take is freed and counted in tx_dropped. Owner lcore only.
 * @return packets handed to the port.
 */
uint16_t wc_net_tx_flush(struct wc_net *n);

/**
 * Queue one ready frame for transmission (flushes when the queue is full).
 * Consumes @p m. Owner lcore only.
 */
void wc_net_tx(struct wc_net *n, struct rte_mbuf *m);

/**
 * Queue a gratuitous ARP announcing our address (request form, sender and
 * target both our address, to broadcast, untagged). Owner lcore only.
 * @return 0, or -ENOMEM if no mbuf is free.
 */
int wc_net_garp(struct wc_net *n);

/**
 * Look up this lcore's ARP cache (learned from ARP and from IPv4 traffic of
 * on-subnet neighbours; direct-mapped, so a colliding neighbour evicts).
 * @return true and *mac if known.
 */
bool wc_arp_lookup(const struct wc_net *n, uint32_t ip, struct rte_ether_addr *mac);

/**
 * Free a list of mbufs linked through m->next as a list, not as the
 * segments of one packet (each with nb_segs 1): reply datagrams, or a
 * reply's mbufs on their way to a connection.
 */
void wc_mbuf_list_free(struct rte_mbuf *m);

/**
 * An mbuf for a UDP reply, with WC_UDP_HDR_ROOM headroom and no data yet.
 * @return the mbuf, or NULL (drop_nombuf is the caller's to count).
 */
struct rte_mbuf *wc_udp_alloc(struct wc_net *n);

/**
 * An mbuf for a reply to the datagram being delivered, to be called from a
 * wc_udp_input_t: the received frame's own mbuf when this is the first such
 * call of the delivery, the frame is in one segment and not shared, and its
 * buffer has @p room bytes free past the request; else as wc_udp_alloc().
 * The reused mbuf has no data yet and WC_UDP_HDR_ROOM headroom at least;
 * the request payload stays readable, untouched, until that mbuf is given
 * to wc_udp_send() (whose headers may overwrite it). Owner lcore only.
 * @return the mbuf, or NULL (drop_nombuf is the caller's to count).
 */
struct rte_mbuf *wc_udp_alloc_reply(struct wc_net *n, uint16_t room);

/**
 * Prepend UDP/IPv4(/802.1Q)/Ethernet headers to the payload in @p m (a chain
 * is accepted; headers go in the first segment's headroom), addressed to
 * @p peer, fill checksums (offloaded where the port can), and queue it.
 * Consumes m; a payload over 65507 bytes or a missing headroom is counted in
 * tx_dropped. Owner lcore only.
 */
void wc_udp_send(struct wc_net *n, const struct wc_udp_peer *peer, struct rte_mbuf *m);

/**
 * Charge @p bytes of reply to an open (non-allowlisted) source's per-second
 * budget: a token bucket refilled at ifc->udp_open_budget bytes/s, holding
 * at most one second's worth (a budget of 0 answers nothing). Buckets are
 * direct-mapped by source address; a source landing on a slot another holds
 * takes it over with the tokens left in it, so alternating spoofed sources
 * cannot refill each other. Always true for sources that are not open.
 * Charges nothing on failure; counting drop_udp_reply_cap is the caller's.
 * Owner lcore only.
 * @return false if the budget is exhausted: the caller drops the reply.
 */
bool wc_udp_budget_take(struct wc_net *n, const struct wc_udp_peer *peer, uint32_t bytes);

/**
 * The one's complement sum (folded, not complemented) of @p len bytes at
 * @p off of the frame, across segments of any length.
 * @return false if the frame is shorter than off + len.
 */
bool wc_net_cksum(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint16_t *out);

#endif /* WC_NET_H */
