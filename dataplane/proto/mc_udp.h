/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * memcached over UDP: the 8-byte frame header of memcached's protocol.txt
 * and the splitting of replies into datagrams.
 *
 *   0       2       4       6       8
 *   +-------+-------+-------+-------+------------------
 *   |req id | seq # | total |  0    | command bytes ...
 *   +-------+-------+-------+-------+------------------
 *   all fields big-endian; a request must be one datagram (seq 0, total 1).
 *
 * A reply is built in place in datagram mbufs of at most WC_MC_UDP_DGRAM_MAX
 * bytes (header included), each carrying the request id, its sequence
 * number and the total count.
 */
#ifndef WC_PROTO_MC_UDP_H
#define WC_PROTO_MC_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/net/net.h"
#include "dataplane/proto/mc.h"

#define WC_MC_UDP_HDR	    8
#define WC_MC_UDP_DGRAM_MAX 1400 /**< memcached's UDP_MAX_PAYLOAD_SIZE */
#define WC_MC_UDP_DATA_MAX  (WC_MC_UDP_DGRAM_MAX - WC_MC_UDP_HDR)

/** A decoded frame header (host byte order). */
struct wc_mc_udp_hdr {
	uint16_t req_id;
	uint16_t seq;
	uint16_t total;
	uint16_t reserved;
};

/**
 * The rest of one datagram's execution, carried from lcore to lcore (CREW):
 * when a command must run on another partition, the lcore stops there and
 * hands this to the owner, which resumes at @c off and may hand it on again.
 * Whoever finishes sends every reply datagram, in order, from its own queue,
 * so a datagram's replies keep request order wherever its commands ran.
 *
 * The request bytes live in the first reply datagram's buffer (the received
 * frame's own mbuf, in front of the reply), or in @c req_m or @c req_heap.
 */
struct wc_mc_udp_cont {
	const uint8_t *req;	/**< the command bytes (after the frame header) */
	uint32_t len;		/**< bytes at @c req */
	uint32_t off;		/**< where to resume */
	struct rte_mbuf *req_m; /**< holds @c req when no reply datagram does */
	void *req_heap;		/**< or an rte_malloc copy of a request too large for it */
	struct rte_mbuf *head;	/**< reply datagrams so far, linked through m->next */
	struct rte_mbuf *tail;	/**< the last one, holding the open window */
	uint8_t *p;		/**< the open window [p, end) */
	uint8_t *end;
	size_t written; /**< struct wc_out's state */
	size_t limit;
	uint32_t count; /**< datagrams in the list */
	bool overflow;
	bool nombuf; /**< the sink's state: a datagram could not be had */
	struct wc_mc_session ss;
	struct wc_udp_peer peer;
	uint16_t req_id; /**< the frame header's request id */
};

/**
 * How one lcore hands continuations to the others; provided by the
 * dataplane (dataplane/xcore.c), reached through wc_mc_ctx.udp_xcore.
 * Thread safety: each lcore has its own; called only by that lcore.
 */
struct wc_mc_udp_xcore {
	/** A blank continuation, or NULL if none is free. */
	struct wc_mc_udp_cont *(*alloc)(void *arg);
	/** Give back a continuation whose mbufs were sent or released. */
	void (*free)(void *arg, struct wc_mc_udp_cont *k);
	/**
	 * Queue @p k for the lcore owning partition @p to, which passes it to
	 * wc_mc_udp_resume(). @return 0; -ENOBUFS when it cannot be queued
	 * (counted in drop_xcore_ring_full; @p k stays the caller's).
	 */
	int (*send)(void *arg, unsigned int to, struct wc_mc_udp_cont *k);
	void *arg;
};

/**
 * Decode and check a request's frame header.
 * @return 0; -EINVAL if shorter than the header; -EMSGSIZE if the request
 *         spans more than one datagram (seq != 0 or total != 1).
 */
int wc_mc_udp_parse_hdr(const uint8_t *p, size_t len, struct wc_mc_udp_hdr *h);

/**
 * The UDP application entry (a wc_udp_input_t): @p arg is the lcore's
 * struct wc_mc_ctx. Executes every command of the datagram and sends the
 * replies.
 */
void wc_mc_udp_input(void *arg, struct wc_net *n, const struct wc_udp_peer *peer,
		     const uint8_t *payload, uint16_t len);

/**
 * The UDP application's answer in place (a wc_udp_fast_t), for the
 * commonest datagram: exactly one "get <key>" of this lcore's partition
 * whose reply fits one datagram, answered and counted as
 * wc_mc_udp_input() would. The keys of the run of such datagrams at the
 * head of @p reqs are looked up together (wc_store_fetch_burst()).
 * @return how many of @p reqs, from the first, it answered; the first
 *         datagram of any other kind ends the run, nothing answered or
 *         counted for it, and *pass counts it and the datagrams right
 *         after it that are not a get at all.
 */
unsigned int wc_mc_udp_fast(void *arg, struct wc_net *n, struct wc_udp_fast_req *reqs,
			    unsigned int count, unsigned int *pass);

/**
 * Carry on with a datagram another lcore handed over: execute from k->off
 * with @p c (the lcore owning the partition it stopped for), then send every
 * reply datagram on @p n, or hand it on again if a later command belongs to
 * yet another partition. Consumes @p k (given back with c->udp_xcore->free).
 * Owner lcore of @p c and @p n only.
 */
void wc_mc_udp_resume(struct wc_mc_ctx *c, struct wc_net *n, struct wc_mc_udp_cont *k);

/**
 * Free what a continuation holds (reply datagrams, request copy) without
 * answering: for one that cannot be delivered. Any lcore.
 */
void wc_mc_udp_cont_release(struct wc_mc_udp_cont *k);

#endif /* WC_PROTO_MC_UDP_H */
