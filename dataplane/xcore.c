/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The rings between worker lcores and the messages on them (see xcore.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "dataplane/lcore.h"
#include "dataplane/xcore.h"
#include "store/store.h"

enum xmsg_type {
	XMSG_CONT,  /* the rest of a UDP datagram: wc_mc_udp_resume() */
	XMSG_FLUSH, /* flush_all: wc_store_flush(when) */
};

struct xmsg {
	uint32_t type;
	uint32_t when;
	struct wc_mc_udp_cont k;
};

#define MSG_CACHE 32

static struct xmsg *msg_of(struct wc_mc_udp_cont *k)
{
	return container_of(k, struct xmsg, k);
}

static struct xmsg *msg_get(struct wc_xcore *x)
{
	void *obj;

	return rte_mempool_get(x->msgs, &obj) == 0 ? obj : NULL;
}

/* Enqueue what fits of one destination's stage, keeping the rest in order. */
static void push_one(struct wc_xcore *x, unsigned int to)
{
	struct wc_xcore_stage *s = &x->stage[to];
	unsigned int k = rte_ring_enqueue_burst(x->out[to], s->msg, s->n, NULL);

	if (k == 0)
		return;
	x->st->xcore_forwarded += k;
	x->staged -= k;
	s->n -= k;
	if (s->n > 0)
		memmove(s->msg, s->msg + k, s->n * sizeof(s->msg[0]));
}

/* Stage @p m for @p to. @return 0, or -ENOBUFS (counted; @p m the caller's). */
static int stage(struct wc_xcore *x, unsigned int to, struct xmsg *m)
{
	struct wc_xcore_stage *s = &x->stage[to];

	if (unlikely(s->n == WC_XCORE_STAGE)) {
		push_one(x, to);
		if (s->n == WC_XCORE_STAGE) {
			x->st->drop_xcore_ring_full++;
			return -ENOBUFS;
		}
	}
	s->msg[s->n++] = m;
	x->staged++;
	return 0;
}

/* ---- mc_udp's hooks ---- */

static struct wc_mc_udp_cont *hook_alloc(void *arg)
{
	struct xmsg *m = msg_get(arg);

	return m != NULL ? &m->k : NULL;
}

static void hook_free(void *arg, struct wc_mc_udp_cont *k)
{
	struct wc_xcore *x = arg;

	rte_mempool_put(x->msgs, msg_of(k));
}

static int hook_send(void *arg, unsigned int to, struct wc_mc_udp_cont *k)
{
	struct wc_xcore *x = arg;
	struct xmsg *m = msg_of(k);

	if (unlikely(to >= x->n || to == x->self)) {
		x->st->drop_xcore_ring_full++;
		return -ENOBUFS;
	}
	m->type = XMSG_CONT;
	return stage(x, to, m);
}

/* ---- the loop's side ---- */

unsigned int wc_xcore_poll(struct wc_lcore *lc)
{
	struct wc_xcore *x = &lc->xc;
	unsigned int total = 0;

	for (unsigned int from = 0; from < x->n; from++) {
		void *msgs[WC_XCORE_BURST];
		unsigned int got;

		if (from == x->self)
			continue;
		got = rte_ring_dequeue_burst(x->in[from], msgs, WC_XCORE_BURST, NULL);
		for (unsigned int i = 0; i < got; i++) {
			struct xmsg *m = msgs[i];

			if (i + 1 < got)
				rte_prefetch0(msgs[i + 1]);
			if (m->type == XMSG_CONT) {
				/* Gives the message back itself, or hands it on. */
				wc_mc_udp_resume(&lc->mc, &lc->net, &m->k);
			} else {
				wc_store_flush(lc->store, m->when);
				rte_mempool_put(x->msgs, m);
			}
		}
		x->st->xcore_received += got;
		total += got;
	}
	return total;
}

unsigned int wc_xcore_push(struct wc_lcore *lc)
{
	struct wc_xcore *x = &lc->xc;

	if (x->staged == 0)
		return 0;
	for (unsigned int to = 0; to < x->n; to++)
		if (x->stage[to].n > 0)
			push_one(x, to);
	return x->staged;
}

void wc_xcore_flush_all(struct wc_lcore *lc, uint32_t when)
{
	struct wc_xcore *x = &lc->xc;

	wc_store_flush(lc->store, when);
	for (unsigned int to = 0; to < x->n; to++) {
		struct xmsg *m;

		if (to == x->self)
			continue;
		m = msg_get(x);
		if (m == NULL) {
			x->st->drop_xcore_ring_full++;
			continue;
		}
		m->type = XMSG_FLUSH;
		m->when = when;
		if (stage(x, to, m) != 0)
			rte_mempool_put(x->msgs, m);
	}
}

/* ---- setup ---- */

int wc_xcore_setup(struct wc_dataplane *dp)
{
	unsigned int n = dp->n_workers;
	unsigned int nmsgs;
	char name[RTE_RING_NAMESIZE];

	for (unsigned int i = 0; i < n; i++) {
		struct wc_xcore *x = &dp->lcores[i].xc;

		x->n = n;
		x->self = i;
		x->st = dp->lcores[i].st;
	}
	if (n <= 1)
		return 0;

	/* Every ring and stage full, plus what each lcore's cache may hold. */
	nmsgs = n * (n - 1) * (WC_XCORE_RING + WC_XCORE_STAGE) + n * MSG_CACHE * 2;
	snprintf(name, sizeof(name), "wc_xmsgs");
	dp->xmsgs = rte_mempool_create(name, nmsgs, sizeof(struct xmsg), MSG_CACHE, 0, NULL, NULL,
				       NULL, NULL, (int)rte_socket_id(), 0);
	if (dp->xmsgs == NULL)
		return -ENOMEM;
	dp->rings = rte_zmalloc("wc_xrings", sizeof(struct rte_ring *) * n * n, 0);
	if (dp->rings == NULL)
		return -ENOMEM;
	for (unsigned int from = 0; from < n; from++) {
		for (unsigned int to = 0; to < n; to++) {
			if (from == to)
				continue;
			snprintf(name, sizeof(name), "wc_x%u>%u", from, to);
			/* On the reader's socket: it polls the ring every iteration. */
			dp->rings[from * n + to] = rte_ring_create(
				name, WC_XCORE_RING,
				(int)rte_lcore_to_socket_id(dp->lcores[to].lcore_id),
				RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (dp->rings[from * n + to] == NULL)
				return -ENOMEM;
		}
	}
	for (unsigned int i = 0; i < n; i++) {
		struct wc_lcore *lc = &dp->lcores[i];
		struct wc_xcore *x = &lc->xc;
		int socket = (int)rte_lcore_to_socket_id(lc->lcore_id);

		x->msgs = dp->xmsgs;
		x->in = rte_zmalloc_socket("wc_xin", sizeof(x->in[0]) * n, 0, socket);
		x->out = rte_zmalloc_socket("wc_xout", sizeof(x->out[0]) * n, 0, socket);
		x->stage = rte_zmalloc_socket("wc_xstage", sizeof(x->stage[0]) * n,
					      RTE_CACHE_LINE_SIZE, socket);
		if (x->in == NULL || x->out == NULL || x->stage == NULL)
			return -ENOMEM;
		for (unsigned int j = 0; j < n; j++) {
			if (j == i)
				continue;
			x->in[j] = dp->rings[j * n + i];
			x->out[j] = dp->rings[i * n + j];
		}
		x->hooks.alloc = hook_alloc;
		x->hooks.free = hook_free;
		x->hooks.send = hook_send;
		x->hooks.arg = x;
		lc->mc.udp_xcore = &x->hooks;
	}
	return 0;
}

static void release(struct rte_mempool *msgs, struct xmsg *m)
{
	if (m->type == XMSG_CONT)
		wc_mc_udp_cont_release(&m->k);
	rte_mempool_put(msgs, m);
}

void wc_xcore_teardown(struct wc_dataplane *dp)
{
	unsigned int n = dp->n_workers;

	if (dp->lcores != NULL) {
		for (unsigned int i = 0; i < n; i++) {
			struct wc_xcore *x = &dp->lcores[i].xc;

			for (unsigned int to = 0; x->stage != NULL && to < n; to++)
				for (unsigned int j = 0; j < x->stage[to].n; j++)
					release(dp->xmsgs, x->stage[to].msg[j]);
			rte_free(x->in);
			rte_free(x->out);
			rte_free(x->stage);
			memset(x, 0, sizeof(*x));
			dp->lcores[i].mc.udp_xcore = NULL;
		}
	}
	if (dp->rings != NULL) {
		for (unsigned int i = 0; i < n * n; i++) {
			void *m;

			if (dp->rings[i] == NULL)
				continue;
			while (rte_ring_dequeue(dp->rings[i], &m) == 0)
				release(dp->xmsgs, m);
			rte_ring_free(dp->rings[i]);
		}
		rte_free(dp->rings);
		dp->rings = NULL;
	}
	rte_mempool_free(dp->xmsgs);
	dp->xmsgs = NULL;
}
