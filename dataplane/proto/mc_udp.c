/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "dataplane/proto/mc.h"
#include "dataplane/proto/mc_udp.h"

/* Most datagrams one reply may take: the header's total is 16 bits. */
#define MAX_DGRAMS 65535u

static inline int parse_hdr(const uint8_t *p, size_t len, struct wc_mc_udp_hdr *h)
{
	if (len < WC_MC_UDP_HDR)
		return -EINVAL;
	h->req_id = (uint16_t)(p[0] << 8 | p[1]);
	h->seq = (uint16_t)(p[2] << 8 | p[3]);
	h->total = (uint16_t)(p[4] << 8 | p[5]);
	h->reserved = (uint16_t)(p[6] << 8 | p[7]);
	if (h->seq != 0 || h->total != 1)
		return -EMSGSIZE;
	return 0;
}

int wc_mc_udp_parse_hdr(const uint8_t *p, size_t len, struct wc_mc_udp_hdr *h)
{
	return parse_hdr(p, len, h);
}

/*
 * The reply sink's state: datagram mbufs linked through m->next (used here
 * only as a list, never as segments of one packet) until they are sent.
 */
struct dgram_sink {
	struct wc_net *net;
	struct rte_mbuf *head;
	struct rte_mbuf *tail;
	unsigned int count;
	bool nombuf; /* a window could not be had: the pool ran dry */
};

static void close_window(struct wc_out *o)
{
	struct dgram_sink *d = o->priv;

	if (d->tail != NULL)
		d->tail->data_len = (uint16_t)(o->p - rte_pktmbuf_mtod(d->tail, uint8_t *));
}

static int next_dgram(struct wc_out *o)
{
	struct dgram_sink *d = o->priv;
	struct rte_mbuf *m;
	uint8_t *base;
	uint16_t room;

	if (d->count == MAX_DGRAMS)
		return -ENOBUFS;
	/* The first datagram reuses the request's own mbuf where it fits. */
	m = wc_udp_alloc_reply(d->net, WC_MC_UDP_DGRAM_MAX);
	if (m == NULL) {
		d->nombuf = true;
		return -ENOBUFS;
	}
	close_window(o);
	m->next = NULL;
	if (d->tail == NULL)
		d->head = m;
	else
		d->tail->next = m;
	d->tail = m;
	d->count++;
	base = rte_pktmbuf_mtod(m, uint8_t *);
	room = rte_pktmbuf_tailroom(m);
	if (room > WC_MC_UDP_DGRAM_MAX)
		room = WC_MC_UDP_DGRAM_MAX;
	o->p = base + WC_MC_UDP_HDR;
	o->end = base + room;
	return 0;
}

static void free_dgrams(struct rte_mbuf *m)
{
	while (m != NULL) {
		struct rte_mbuf *next = m->next;

		m->next = NULL;
		m->nb_segs = 1;
		rte_pktmbuf_free(m);
		m = next;
	}
}

void wc_mc_udp_input(void *arg, struct wc_net *n, const struct wc_udp_peer *peer,
		     const uint8_t *payload, uint16_t len)
{
	struct wc_mc_ctx *c = arg;
	struct wc_lcore_stats *st = n->st;
	struct wc_mc_udp_hdr h;
	struct wc_mc_session ss = { 0 };
	struct dgram_sink d = { n, NULL, NULL, 0, false };
	struct wc_out out = { NULL, NULL, next_dgram, &d, 0, SIZE_MAX, false };
	size_t used;
	int rc;

	rc = parse_hdr(payload, len, &h);
	if (unlikely(rc != 0)) {
		if (rc == -EMSGSIZE)
			st->drop_mc_multi_dgram++;
		else
			st->drop_mc_frame++;
		return;
	}
	/* One small request must not buy a large reply for an open source. */
	if (peer->open)
		out.limit = n->ifc->udp_open_budget;

	used = wc_mc_process(c, &ss, payload + WC_MC_UDP_HDR, len - WC_MC_UDP_HDR, &out);
	if (used < (size_t)len - WC_MC_UDP_HDR)
		st->drop_mc_truncated++;
	close_window(&out);
	if (out.overflow) {
		/* No mbuf, or more than the open source's cap (or 65535 datagrams). */
		if (d.nombuf)
			st->drop_nombuf++;
		else
			st->drop_udp_reply_cap++;
		free_dgrams(d.head);
		return;
	}
	if (d.count == 0)
		return;
	if (unlikely(peer->open) &&
	    !wc_udp_budget_take(n, peer, (uint32_t)(out.written + d.count * WC_MC_UDP_HDR))) {
		st->drop_udp_reply_cap++;
		free_dgrams(d.head);
		return;
	}

	/*
	 * Frame headers: the request id as it came, then seq and total. The
	 * datagrams are sent last, as the first may be the request's own mbuf.
	 */
	uint16_t seq = 0;
	uint16_t id_be = rte_cpu_to_be_16(h.req_id), total_be = rte_cpu_to_be_16((uint16_t)d.count);

	for (struct rte_mbuf *m = d.head, *next; m != NULL; m = next) {
		uint8_t *hp = rte_pktmbuf_mtod(m, uint8_t *);
		uint16_t seq_be = rte_cpu_to_be_16(seq), zero = 0;

		next = m->next;
		m->next = NULL;
		m->pkt_len = m->data_len;
		memcpy(hp, &id_be, 2);
		memcpy(hp + 2, &seq_be, 2);
		memcpy(hp + 4, &total_be, 2);
		memcpy(hp + 6, &zero, 2);
		seq++;
		wc_udp_send(n, peer, m);
	}
}
