/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A whole single-lcore dataplane for in-process drivers (packet fuzzer,
 * benchmarks): the real EAL (no hugepages), a net_null port, the options'
 * defaults, and wc_dataplane_setup() as wirecached itself calls it. Frames go
 * in through wc_net_input() exactly as after rte_eth_rx_burst().
 */
#ifndef WC_TEST_FIXTURE_H
#define WC_TEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "mgmt/config.h"
#include "dataplane/lcore.h"
#include "tests/support/pool.h"

struct wc_fixture {
	struct wc_config cfg;
	struct wc_dataplane dp;
	struct rte_mempool *pool;
	struct wc_lcore *lc;	      /**< the one worker */
	struct wc_pool_set pool_free; /**< the free mbufs after start-up */
};

/**
 * Whether the mbufs free after start-up are free again, each once
 * (wc_pool_check()). @return 0; else -1, having said on stderr, after
 * @p who, what is wrong.
 */
int wc_fixture_mbufs_back(struct wc_fixture *f, const char *who);

/** Client address of wc_fixture_udp_frame() and wc_fixture_tcp_frame(): 10.200.0.2. */
#define WC_FIXTURE_CLIENT_IP 0x0ac80002u

/**
 * Start EAL and the dataplane. @p name makes the EAL file prefix unique.
 * @return 0 or a negative errno.
 */
int wc_fixture_start(struct wc_fixture *f, const char *name);

/** wc_fixture_start() with @p memory_limit bytes of item memory (0: the default). */
int wc_fixture_start_mem(struct wc_fixture *f, const char *name, uint64_t memory_limit);

/**
 * Build an Ethernet/IPv4/UDP frame from the client to the appliance's
 * memcached port with correct checksums.
 * @return the frame length, or 0 if @p cap is too small.
 */
size_t wc_fixture_udp_frame(const struct wc_fixture *f, uint8_t *buf, size_t cap, uint16_t sport,
			    const void *payload, size_t len);

/** The TCP header of a segment wc_fixture_tcp_frame() builds (host order). */
struct wc_fixture_tcp_seg {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	const uint8_t *opts; /**< options, @c optlen bytes (a multiple of 4, at most 40) */
	size_t optlen;
};

/**
 * Build an Ethernet/IPv4/TCP frame from the client to the appliance with
 * correct checksums.
 * @return the frame length, or 0 if @p cap is too small.
 */
size_t wc_fixture_tcp_frame(const struct wc_fixture *f, uint8_t *buf, size_t cap,
			    const struct wc_fixture_tcp_seg *s, const void *payload, size_t len);

/**
 * Open a TCP connection to the appliance's memcached port from client port
 * @p sport as a client does (SYN with MSS and window scale options, the
 * SYN-ACK's sequence number read back, ACK), with @p iss as the client's
 * initial sequence number; what the appliance sends is transmitted.
 * @return 0, with the client's next sequence number in *seq and the next
 *         byte it expects from the appliance in *rcv; -1 if no connection
 *         opened.
 */
int wc_fixture_tcp_connect(struct wc_fixture *f, uint16_t sport, uint32_t iss, uint32_t *seq,
			   uint32_t *rcv);

/** Feed @p n frames through the dataplane as one burst and transmit. */
void wc_fixture_input(struct wc_fixture *f, struct rte_mbuf **pkts, uint16_t n);

/** Copy a frame into a fresh mbuf. @return NULL if none is free. */
struct rte_mbuf *wc_fixture_mbuf(struct wc_fixture *f, const uint8_t *frame, size_t len);

#endif
