/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * memcached's text and meta protocols: parse, execute against the store,
 * compose replies. Transport-neutral: UDP (mc_udp.c) and, later, TCP feed
 * bytes in and give a wc_out sink for the replies.
 *
 * Thread safety: a wc_mc_ctx belongs to one lcore; wc_mc_server is read-only
 * after start and shared.
 */
#ifndef WC_PROTO_MC_H
#define WC_PROTO_MC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mgmt/contract.h"
#include "dataplane/proto/out.h"

struct wc_store;

/** Server-wide, read-only settings and hooks of the memcached protocol. */
struct wc_mc_server {
	uint32_t max_item_size; /**< largest value accepted, bytes */
	const char *version;	/**< the text after "VERSION " */
	/**
	 * Write the `STAT name value\r\n` lines of `stats [sub]` (not END).
	 * @return 0; -ENOENT for an unknown sub-command.
	 */
	int (*stats)(void *arg, const char *sub, size_t sublen, struct wc_out *out);
	void *stats_arg;
	/** Apply `flush_all` to every partition; @p when absolute, 0 = now. */
	void (*flush)(void *arg, uint32_t when);
	void *flush_arg;
};

/** One lcore's protocol context. */
struct wc_mc_ctx {
	const struct wc_mc_server *srv;
	struct wc_store *store;	   /**< the partition this lcore executes on */
	struct wc_lcore_stats *st; /**< this lcore's counters */
};

/** State of one stream of requests (a TCP connection, or one UDP datagram). */
struct wc_mc_session {
	uint64_t swallow; /**< bytes of a refused value still to discard */
	bool close;	  /**< `quit` seen: the transport should close */
};

/**
 * Execute every complete command at the start of @p buf, appending replies
 * to @p out, and stop before an incomplete one.
 * @return bytes consumed; buf[ret..len) is the start of an incomplete command.
 */
size_t wc_mc_process(struct wc_mc_ctx *c, struct wc_mc_session *ss, const uint8_t *buf, size_t len,
		     struct wc_out *out);

/** Compose one `STAT name value\r\n` line (for the stats hook). */
void wc_mc_stat_u64(struct wc_out *out, const char *name, uint64_t v);
void wc_mc_stat_str(struct wc_out *out, const char *name, const char *v);

#endif /* WC_PROTO_MC_H */
