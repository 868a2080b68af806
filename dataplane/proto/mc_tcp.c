/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached over TCP (see mc_tcp.h).
 *
 * Requests are cut one by one before they go to the executor: a text
 * request is its line (up to '\n'), or, for a storage command, its line and
 * data block, whose length the parser gives; a binary request is what
 * wc_mc_bin_need() says. So the send buffer limit is checked between any
 * two requests, and one request's reply is the most it can overshoot by.
 * The extra cost per request is one memchr() (or one header read).
 */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>

#include "dataplane/proto/mc_bin.h"
#include "dataplane/proto/mc_parse.h"
#include "dataplane/proto/mc_tcp.h"

enum { MODE_NEW, MODE_TEXT, MODE_BINARY };

/* A connection's state, in wc_tcp_priv(). */
struct mc_conn {
	struct wc_mc_ctx *ctx;
	struct wc_mc_session ss;
	uint8_t mode;
};

_Static_assert(sizeof(struct mc_conn) <= WC_TCP_APP_PRIV, "mc_conn fits the connection");

static void *on_accept(void *arg, struct wc_tcp_conn *c)
{
	struct mc_conn *mc = wc_tcp_priv(c);

	memset(mc, 0, sizeof(*mc));
	mc->ctx = arg;
	return mc;
}

static void on_close(void *app, struct wc_tcp_conn *c)
{
	RTE_SET_USED(c);
	RTE_SET_USED(app);
}

/*
 * Where the next request ends in buf[off, len), or 0 when it is not all
 * there yet.
 */
static size_t next_request(struct mc_conn *mc, const uint8_t *buf, size_t off, size_t len)
{
	const uint8_t *p = buf + off;
	size_t rest = len - off;

	if (mc->ss.swallow > 0)
		return off + (mc->ss.swallow < rest ? (size_t)mc->ss.swallow : rest);
	if (mc->mode == MODE_BINARY) {
		size_t need = wc_mc_bin_need(p, rest, mc->ctx->srv->max_item_size);

		return need <= rest ? off + need : 0;
	}
	const uint8_t *nl = memchr(p, '\n', rest);

	/* No line end: the executor decides (too long a line is an error). */
	return nl != NULL ? (size_t)(nl - buf) + 1 : len;
}

static size_t run(struct mc_conn *mc, const uint8_t *buf, size_t len, struct wc_out *o)
{
	if (mc->mode == MODE_BINARY)
		return wc_mc_bin_process(mc->ctx, &mc->ss, buf, len, o);
	return wc_mc_process(mc->ctx, &mc->ss, buf, len, o);
}

static size_t on_data(void *app, struct wc_tcp_conn *c, const uint8_t *buf, size_t len)
{
	struct mc_conn *mc = app;
	struct wc_out o;
	size_t off = 0;

	if (unlikely(mc->mode == MODE_NEW))
		mc->mode = buf[0] == WC_MC_BIN_REQ_MAGIC ? MODE_BINARY : MODE_TEXT;
	wc_tcp_out_begin(c, &o);
	while (off < len && !mc->ss.close && !o.overflow && wc_tcp_writable(c)) {
		size_t end = next_request(mc, buf, off, len), used;

		if (end == 0)
			break;
		used = run(mc, buf + off, end - off, &o);
		if (used == 0 && end < len && mc->mode == MODE_TEXT && mc->ss.handoff == 0) {
			/* A storage command: its line, then its data block. */
			struct wc_mc_request req;

			if (wc_mc_parse(buf + off, len - off, mc->ctx->srv->max_item_size, &req) ==
			    WC_MC_NEED_MORE)
				break;
			used = run(mc, buf + off, RTE_MIN(off + req.consumed, len) - off, &o);
		}
		if (unlikely(mc->ss.handoff != 0)) {
			/* Cross-partition requests over TCP are not carried yet. */
			mc->ss.handoff = 0;
			off += used;
			wc_tcp_out_end(c, &o);
			wc_tcp_abort(c);
			return len;
		}
		if (used == 0)
			break;
		off += used;
	}
	wc_tcp_out_end(c, &o);
	if (unlikely(o.overflow)) {
		/* A reply could not be queued whole: the stream cannot go on. */
		wc_tcp_abort(c);
		return len;
	}
	if (mc->ss.close) {
		wc_tcp_close(c);
		return len;
	}
	return off;
}

const struct wc_tcp_ops wc_mc_tcp_ops = {
	.on_accept = on_accept,
	.on_data = on_data,
	.on_close = on_close,
};

int wc_mc_tcp_setup(struct wc_net *n, struct wc_mc_ctx *c, uint16_t port)
{
	struct wc_tcp_limits lim = { 0 };
	int rc;

	/* One set of the largest item fits, with room for a pipeline around it. */
	lim.rcv_buf = c->srv->max_item_size + (256u << 10);
	rc = wc_tcp_create(n, &lim);
	if (rc != 0)
		return rc;
	rc = wc_tcp_listen(n, port, &wc_mc_tcp_ops, c);
	if (rc != 0) {
		wc_tcp_destroy(n);
		return rc;
	}
	return 0;
}

void wc_mc_tcp_teardown(struct wc_net *n)
{
	wc_tcp_destroy(n);
}
