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
 *
 * A request that must run on another partition (CREW) travels to its owner
 * lcore as a copy of its bytes with the session, over a single-producer,
 * single-consumer ring per pair of lcores (made on first use, polled from
 * wc_tcp_poll()'s hook); the owner runs it into mbufs of its own and sends
 * them back the same way, or on to the next owner when the request (a get
 * of several keys) stops again. Meanwhile the connection is held
 * (wc_tcp_hold()): no later request runs before the reply is queued, so
 * replies keep request order. The connection is named in the message by
 * pointer and a per-lcore serial number, so a reply for a connection gone
 * in between is recognised and dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/proto/mc_bin.h"
#include "dataplane/proto/mc_parse.h"
#include "dataplane/proto/mc_tcp.h"
#include "store/store.h"

enum { MODE_NEW, MODE_TEXT, MODE_BINARY };

#define XRING_SLOTS 1024
#define XPARTS_MAX  128	 /* WC_MAX_WORKERS */
#define XMSG_SMALL  2048 /* request bytes a pooled message holds; larger ones are rte_malloc'd */
#define XMSG_POOL   "wc_mc_tcp_x"
#define XMSG_COUNT  4095

/* One lcore's memcached-over-TCP state. */
struct mc_tcp {
	struct wc_mc_ctx *ctx;
	struct wc_net *net;
	uint64_t serial; /* last connection serial number given */
	uint64_t polls;
	struct rte_mempool *xpool; /* message pool, found or made on first use */
	bool xpool_tried;
	struct rte_ring *in[XPARTS_MAX];
	struct rte_ring *out[XPARTS_MAX];
};

/* A connection's state, in wc_tcp_priv(). */
struct mc_conn {
	struct mc_tcp *mt;
	struct wc_mc_session ss;
	uint64_t serial; /* 0 once closed */
	uint32_t skip;	 /* bytes of a request that ran elsewhere, to consume */
	uint8_t mode;
	bool away; /* a request of ours is on another lcore */
};

_Static_assert(sizeof(struct mc_conn) <= WC_TCP_APP_PRIV, "mc_conn fits the connection");

/* A request on its way to its owner, or its reply on its way back. */
struct xmsg {
	bool reply;
	uint8_t mode;
	uint16_t from; /* the connection's lcore (partition index) */
	struct wc_tcp_conn *conn;
	uint64_t serial;
	struct wc_mc_session ss;
	struct rte_mempool *pool;     /* for the reply's mbufs (one pool for all lcores) */
	struct rte_mbuf *head, *tail; /* the reply so far, a list through m->next */
	uint32_t len;		      /* request bytes */
	bool pooled;		      /* from the message pool (else rte_malloc) */
	uint8_t req[];
};

static void *on_accept(void *arg, struct wc_tcp_conn *c)
{
	struct mc_tcp *mt = arg;
	struct mc_conn *mc = wc_tcp_priv(c);

	memset(mc, 0, sizeof(*mc));
	mc->mt = mt;
	mc->serial = ++mt->serial;
	return mc;
}

static void on_close(void *app, struct wc_tcp_conn *c)
{
	struct mc_conn *mc = app;

	RTE_SET_USED(c);
	/* A reply still on its way finds the serial changed and is dropped. */
	mc->serial = 0;
}

/* ---- replies composed into a list of mbufs (on the owner lcore) ---- */

static void list_commit(struct xmsg *x, struct wc_out *o)
{
	if (x->tail != NULL && o->p != NULL)
		x->tail->data_len = (uint16_t)(o->p - rte_pktmbuf_mtod(x->tail, uint8_t *));
}

static int list_more(struct wc_out *o)
{
	struct xmsg *x = o->priv;
	struct rte_mbuf *m;

	list_commit(x, o);
	m = rte_pktmbuf_alloc(x->pool);
	if (m == NULL)
		return -ENOBUFS;
	m->data_off = 0;
	m->next = NULL;
	if (x->tail != NULL)
		x->tail->next = m;
	else
		x->head = m;
	x->tail = m;
	o->p = rte_pktmbuf_mtod(m, uint8_t *);
	o->end = o->p + rte_pktmbuf_tailroom(m);
	return 0;
}

/* ---- the rings ---- */

static struct rte_ring *ring_out(struct mc_tcp *mt, unsigned int to)
{
	char name[RTE_RING_NAMESIZE];

	if (mt->out[to] == NULL) {
		snprintf(name, sizeof(name), "wc_tx%u>%u", mt->ctx->self, to);
		mt->out[to] = rte_ring_lookup(name);
		if (mt->out[to] == NULL)
			mt->out[to] = rte_ring_create(name, XRING_SLOTS, (int)rte_socket_id(),
						      RING_F_SP_ENQ | RING_F_SC_DEQ);
	}
	return mt->out[to];
}

static int send_to(struct mc_tcp *mt, unsigned int to, struct xmsg *x)
{
	struct rte_ring *r = to < XPARTS_MAX && to != mt->ctx->self ? ring_out(mt, to) : NULL;

	if (r == NULL || rte_ring_enqueue(r, x) != 0) {
		mt->ctx->st->drop_xcore_ring_full++;
		return -ENOBUFS;
	}
	mt->ctx->st->xcore_forwarded++;
	return 0;
}

/*
 * Messages come from a pool shared by the lcores (per-lcore caches keep it
 * off the heap's lock); a request too large for one is allocated apart.
 */
static struct xmsg *xmsg_get(struct mc_tcp *mt, size_t len)
{
	struct rte_mempool *mp;
	void *obj;

	if (unlikely(!mt->xpool_tried)) {
		/* Once per lcore; whichever lcore comes first makes it. */
		mt->xpool_tried = true;
		mt->xpool = rte_mempool_lookup(XMSG_POOL);
		if (mt->xpool == NULL)
			mt->xpool = rte_mempool_create(
				XMSG_POOL, XMSG_COUNT, sizeof(struct xmsg) + XMSG_SMALL, 64, 0,
				NULL, NULL, NULL, NULL, (int)rte_socket_id(), 0);
		if (mt->xpool == NULL)
			mt->xpool = rte_mempool_lookup(XMSG_POOL);
	}
	mp = len <= XMSG_SMALL ? mt->xpool : NULL;
	if (mp != NULL && rte_mempool_get(mp, &obj) == 0) {
		((struct xmsg *)obj)->pooled = true;
		return obj;
	}
	obj = rte_malloc("wc_mc_tcp_x", sizeof(struct xmsg) + len, 0);
	if (obj != NULL)
		((struct xmsg *)obj)->pooled = false;
	return obj;
}

static void xmsg_put(struct xmsg *x)
{
	if (x->pooled)
		rte_mempool_put(rte_mempool_from_obj(x), x);
	else
		rte_free(x);
}

static void xmsg_free(struct xmsg *x)
{
	wc_mbuf_list_free(x->head);
	xmsg_put(x);
}

static size_t run(struct mc_conn *mc, struct wc_mc_ctx *ctx, const uint8_t *buf, size_t len,
		  struct wc_out *o);

/* On the owner: run the request, then send the reply home (or on). */
static void run_away(struct mc_tcp *mt, struct xmsg *x)
{
	struct mc_conn tmp = { .mt = mt, .ss = x->ss, .mode = x->mode };
	struct wc_out o = { NULL, NULL, list_more, x, 0, SIZE_MAX, false };
	size_t used;

	if (x->tail != NULL) {
		o.p = rte_pktmbuf_mtod_offset(x->tail, uint8_t *, x->tail->data_len);
		o.end = o.p + rte_pktmbuf_tailroom(x->tail);
	}
	used = run(&tmp, mt->ctx, x->req, x->len, &o);
	list_commit(x, &o);
	x->ss = tmp.ss;
	if (tmp.ss.handoff != 0) {
		unsigned int to = tmp.ss.handoff - 1;

		/* The rest of the request (keys past the first) runs there. */
		x->ss.handoff = 0;
		memmove(x->req, x->req + used, x->len - used);
		x->len -= (uint32_t)used;
		if (to != mt->ctx->self && send_to(mt, to, x) == 0)
			return;
	}
	x->reply = true;
	if (o.overflow || send_to(mt, x->from, x) != 0) {
		/* Home learns nothing: its connection stays held until it closes. */
		xmsg_free(x);
	}
}

/*
 * Where the next request ends in buf[off, len), or 0 when it is not all
 * there yet.
 */
static size_t next_request(struct mc_conn *mc, struct wc_mc_ctx *ctx, const uint8_t *buf,
			   size_t off, size_t len)
{
	const uint8_t *p = buf + off;
	size_t rest = len - off;

	if (mc->ss.swallow > 0)
		return off + (mc->ss.swallow < rest ? (size_t)mc->ss.swallow : rest);
	if (mc->mode == MODE_BINARY) {
		size_t need = wc_mc_bin_need(p, rest, ctx->srv->max_item_size);

		return need <= rest ? off + need : 0;
	}
	const uint8_t *nl = memchr(p, '\n', rest);

	/* No line end: the executor decides (too long a line is an error). */
	return nl != NULL ? (size_t)(nl - buf) + 1 : len;
}

static size_t run(struct mc_conn *mc, struct wc_mc_ctx *ctx, const uint8_t *buf, size_t len,
		  struct wc_out *o)
{
	if (mc->mode == MODE_BINARY)
		return wc_mc_bin_process(ctx, &mc->ss, buf, len, o);
	return wc_mc_process(ctx, &mc->ss, buf, len, o);
}

/*
 * Send the request at @p req (@p len bytes) to the partition owner named
 * in the session, and hold the connection until its reply is back.
 */
static int hand_off(struct mc_conn *mc, struct wc_tcp_conn *c, const uint8_t *req, size_t len)
{
	struct mc_tcp *mt = mc->mt;
	unsigned int to = mc->ss.handoff - 1u;
	struct xmsg *x = xmsg_get(mt, len);
	bool pooled;

	mc->ss.handoff = 0;
	if (x == NULL) {
		mt->ctx->st->drop_xcore_ring_full++;
		return -ENOMEM;
	}
	pooled = x->pooled;
	memset(x, 0, sizeof(*x));
	x->pooled = pooled;
	x->mode = mc->mode;
	x->from = (uint16_t)mt->ctx->self;
	x->conn = c;
	x->serial = mc->serial;
	x->ss = mc->ss;
	x->pool = mt->net->pool;
	x->len = (uint32_t)len;
	memcpy(x->req, req, len);
	if (send_to(mt, to, x) != 0) {
		xmsg_put(x);
		return -ENOBUFS;
	}
	mc->away = true;
	wc_tcp_hold(c, true);
	return 0;
}

/*
 * The run of single-key get lines at the head of @p buf[0..len), at most
 * WC_STORE_BURST, their keys looked up together (wc_store_fetch_burst()),
 * answered in order into @p o while the connection takes more.
 * @return the bytes of the lines answered; 0 if the stream does not start
 *         with such a line, or its reply could not be queued.
 */
static size_t single_gets(struct wc_mc_ctx *ctx, struct wc_tcp_conn *c, const uint8_t *buf,
			  size_t len, struct wc_out *o)
{
	struct wc_store_key k[WC_STORE_BURST];
	struct wc_item_view v[WC_STORE_BURST];
	uint16_t line[WC_STORE_BURST];
	size_t off = 0, l, written = 0;
	unsigned int n = 0, i, hits = 0;

	while (n < WC_STORE_BURST &&
	       (l = wc_mc_single_get_line(ctx, buf + off, len - off, &k[n])) > 0) {
		line[n++] = (uint16_t)l;
		off += l;
	}
	if (n == 0)
		return 0;
	wc_store_fetch_burst(ctx->store, k, n, v);
	off = 0;
	for (i = 0; i < n; i++) {
		const struct wc_item_view *hit = v[i].val != NULL ? &v[i] : NULL;
		size_t rlen;
		uint8_t *p;

		/*
		 * Each as the loop of on_data() answers a request: the first
		 * if its reply fits, the next ones while the connection's send
		 * buffer takes more.
		 */
		if ((i > 0 && !wc_tcp_writable(c)) ||
		    (p = wc_out_reserve(o, (hit ? wc_mc_value_max(k[i].klen, hit->vlen) : 0) +
						   5)) == NULL)
			break;
		/* Nothing before p is ours to write: no slack. */
		rlen = wc_mc_fmt_get_reply(k[i].key, k[i].klen, hit, p, 0);
		wc_out_advance(o, rlen);
		hits += hit != NULL;
		written += rlen;
		off += line[i];
	}
	/* Counted as the general path counts each get, once for the run. */
	wc_mc_count_gets(ctx, i, hits, off, written);
	return off;
}

static size_t on_data(void *app, struct wc_tcp_conn *c, const uint8_t *buf, size_t len)
{
	struct mc_conn *mc = app;
	struct wc_mc_ctx *ctx = mc->mt->ctx;
	struct wc_out o;
	size_t off = 0;

	if (unlikely(mc->away))
		return 0;
	if (unlikely(mc->mode == MODE_NEW))
		mc->mode = buf[0] == WC_MC_BIN_REQ_MAGIC ? MODE_BINARY : MODE_TEXT;
	wc_tcp_out_begin(c, &o);
	while (off < len && !mc->ss.close && !o.overflow && wc_tcp_writable(c)) {
		size_t end, used;

		/* The commonest requests, answered without the general path. */
		if (mc->mode == MODE_TEXT && mc->ss.swallow == 0 &&
		    (used = single_gets(ctx, c, buf + off, len - off, &o)) > 0) {
			off += used;
			continue;
		}
		end = next_request(mc, ctx, buf, off, len);
		if (end == 0)
			break;
		used = run(mc, ctx, buf + off, end - off, &o);
		if (used == 0 && end < len && mc->mode == MODE_TEXT && mc->ss.handoff == 0) {
			/* A storage command: its line, then its data block. */
			struct wc_mc_request req;

			if (wc_mc_parse(buf + off, len - off, ctx->srv->max_item_size, &req) ==
			    WC_MC_NEED_MORE)
				break;
			end = RTE_MIN(off + req.consumed, len);
			used = run(mc, ctx, buf + off, end - off, &o);
		}
		if (unlikely(mc->ss.handoff != 0)) {
			/* The rest of this request runs on its partition's lcore. */
			off += used;
			wc_tcp_out_end(c, &o);
			if (hand_off(mc, c, buf + off, end - off) != 0) {
				wc_tcp_abort(c);
				return len;
			}
			return end;
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

/* Home again: queue the reply and take the connection's next requests. */
static void come_home(struct xmsg *x)
{
	struct wc_tcp_conn *c = x->conn;
	struct mc_conn *mc = wc_tcp_priv(c);

	if (mc->serial != x->serial || !mc->away) {
		xmsg_free(x); /* the connection went meanwhile */
		return;
	}
	mc->away = false;
	mc->ss = x->ss;
	wc_tcp_write_mbufs(c, x->head);
	x->head = NULL;
	xmsg_put(x);
	if (mc->ss.close)
		wc_tcp_close(c);
	else
		wc_tcp_hold(c, false);
}

static unsigned int poll_hook(void *arg)
{
	struct mc_tcp *mt = arg;
	struct wc_mc_ctx *ctx = mt->ctx;
	unsigned int work = 0;

	if (ctx->nparts <= 1)
		return 0;
	for (unsigned int from = 0; from < ctx->nparts && from < XPARTS_MAX; from++) {
		void *msgs[32];
		unsigned int n;

		if (from == ctx->self)
			continue;
		if (mt->in[from] == NULL) {
			char name[RTE_RING_NAMESIZE];

			/* Made by the sender on first use; looked for now and then. */
			if ((mt->polls & 1023) != 0)
				continue;
			snprintf(name, sizeof(name), "wc_tx%u>%u", from, ctx->self);
			mt->in[from] = rte_ring_lookup(name);
			if (mt->in[from] == NULL)
				continue;
		}
		n = rte_ring_dequeue_burst(mt->in[from], msgs, RTE_DIM(msgs), NULL);
		for (unsigned int i = 0; i < n; i++) {
			struct xmsg *x = msgs[i];

			if (x->reply)
				come_home(x);
			else
				run_away(mt, x);
		}
		ctx->st->xcore_received += n;
		work += n;
	}
	mt->polls++;
	return work;
}

static const struct wc_tcp_ops wc_mc_tcp_ops = {
	.on_accept = on_accept,
	.on_data = on_data,
	.on_close = on_close,
};

int wc_mc_tcp_setup(struct wc_net *n, struct wc_mc_ctx *c, uint16_t port,
		    const struct wc_tcp_limits *limits)
{
	struct wc_tcp_limits lim = { 0 };
	struct mc_tcp *mt;
	int rc;

	mt = rte_zmalloc("wc_mc_tcp", sizeof(*mt), RTE_CACHE_LINE_SIZE);
	if (mt == NULL)
		return -ENOMEM;
	mt->ctx = c;
	mt->net = n;
	if (limits != NULL)
		lim = *limits;
	/* One set of the largest item fits, with room for a pipeline around it. */
	if (lim.rcv_buf == 0)
		lim.rcv_buf = c->srv->max_item_size + (256u << 10);
	rc = wc_tcp_create(n, &lim);
	if (rc == 0)
		rc = wc_tcp_listen(n, port, &wc_mc_tcp_ops, mt);
	if (rc != 0) {
		wc_tcp_destroy(n);
		rte_free(mt);
		return rc;
	}
	wc_tcp_set_poll_hook(n, poll_hook, mt);
	return 0;
}

void wc_mc_tcp_teardown(struct wc_net *n)
{
	struct mc_tcp *mt = n->tcp != NULL ? wc_tcp_poll_hook_arg(n) : NULL;

	wc_tcp_destroy(n);
	if (mt == NULL)
		return;
	/* Messages still in the rings hold mbufs: back to the pool. The rings stay. */
	for (unsigned int i = 0; i < XPARTS_MAX; i++) {
		void *x;

		while (mt->in[i] != NULL && rte_ring_dequeue(mt->in[i], &x) == 0)
			xmsg_free(x);
	}
	rte_free(mt);
}
