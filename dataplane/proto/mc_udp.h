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

#include <stdint.h>

#include "dataplane/net/net.h"

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

#endif /* WC_PROTO_MC_UDP_H */
