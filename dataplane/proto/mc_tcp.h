/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * memcached over TCP: each connection is a stream of pipelined text, meta
 * or binary requests (the first byte decides: 0x80 is binary) run by the
 * same executors as UDP (wc_mc_process(), wc_mc_bin_process()), replies
 * written straight into the connection's send queue.
 *
 * Requests are run one at a time from the received bytes, so that a client
 * which sends and does not read stops being served once its queued replies
 * pass the TCP send buffer limit (the rest waits in the receive buffer, and
 * then in the client's own socket buffer as the window closes).
 *
 * A request that must run on another lcore's partition (CREW) goes there
 * with a copy of its bytes; the connection takes no further request until
 * the reply comes back, so replies leave in request order.
 *
 * Thread safety: per lcore, like the TCP it sits on.
 */
#ifndef WC_PROTO_MC_TCP_H
#define WC_PROTO_MC_TCP_H

#include <stdint.h>

#include "dataplane/net/net.h"
#include "dataplane/net/tcp.h"
#include "dataplane/proto/mc.h"

/**
 * Create the lcore's TCP state (wc_tcp_create() with @p lim, NULL for the
 * defaults; a receive buffer of 0 is made large enough for the largest
 * item) and listen on @p port (host order) with memcached, executing with
 * @p c. Main thread, before the lcores run.
 * @return 0 or a negative errno.
 */
int wc_mc_tcp_setup(struct wc_net *n, struct wc_mc_ctx *c, uint16_t port,
		    const struct wc_tcp_limits *lim);

/** Close every connection and free the lcore's TCP state. Once the lcore stopped. */
void wc_mc_tcp_teardown(struct wc_net *n);

#endif /* WC_PROTO_MC_TCP_H */
