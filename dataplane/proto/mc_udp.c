/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane/proto/mc.h"
#include "dataplane/proto/mc_parse.h"
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

/*
 * Send the reply datagrams: frame headers (the request id as it came, then
 * seq and total), then out. The datagrams go last, as the first may be the
 * request's own mbuf.
 */
static __rte_always_inline void finish(struct wc_net *n, const struct wc_udp_peer *peer,
				       uint16_t req_id, struct dgram_sink *d, struct wc_out *out)
{
	struct wc_lcore_stats *st = n->st;

	close_window(out);
	if (out->overflow) {
		/* No mbuf, or more than the open source's cap (or 65535 datagrams). */
		if (d->nombuf)
			st->drop_nombuf++;
		else
			st->drop_udp_reply_cap++;
		wc_mbuf_list_free(d->head);
		return;
	}
	if (d->count == 0)
		return;
	if (unlikely(peer->open) &&
	    !wc_udp_budget_take(n, peer, (uint32_t)(out->written + d->count * WC_MC_UDP_HDR))) {
		st->drop_udp_reply_cap++;
		wc_mbuf_list_free(d->head);
		return;
	}

	uint16_t seq = 0;
	uint16_t id_be = rte_cpu_to_be_16(req_id), total_be = rte_cpu_to_be_16((uint16_t)d->count);

	for (struct rte_mbuf *m = d->head, *next; m != NULL; m = next) {
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

void wc_mc_udp_cont_release(struct wc_mc_udp_cont *k)
{
	wc_mbuf_list_free(k->head);
	k->head = k->tail = NULL;
	k->count = 0;
	if (k->req_m != NULL)
		rte_pktmbuf_free(k->req_m);
	k->req_m = NULL;
	rte_free(k->req_heap);
	k->req_heap = NULL;
}

/* Where the stream stopped, into @p k, and on to the lcore owning ss->handoff. */
static void send_on(struct wc_mc_ctx *c, struct wc_net *n, struct wc_mc_udp_cont *k,
		    const struct dgram_sink *d, const struct wc_out *out,
		    const struct wc_mc_session *ss)
{
	const struct wc_mc_udp_xcore *x = c->udp_xcore;
	unsigned int to = ss->handoff - 1;

	k->head = d->head;
	k->tail = d->tail;
	k->count = d->count;
	k->nombuf = d->nombuf;
	k->p = out->p;
	k->end = out->end;
	k->written = out->written;
	k->limit = out->limit;
	k->overflow = out->overflow;
	k->ss = *ss;
	k->ss.handoff = 0;
	if (x->send(x->arg, to, k) != 0) {
		(void)n;
		wc_mc_udp_cont_release(k);
		x->free(x->arg, k);
	}
}

/*
 * The datagram stopped before a command of another partition: keep what the
 * rest needs beyond this call (the request bytes, the replies so far) in a
 * continuation for the owner. The request stays where it is when the first
 * reply datagram is the received frame's own buffer, which is taken for it
 * here if no reply was composed yet; else the rest of it is copied.
 */
static __rte_noinline void hand_off(struct wc_mc_ctx *c, struct wc_net *n,
				    const struct wc_udp_peer *peer, uint16_t req_id,
				    const uint8_t *req, uint32_t len, uint32_t off,
				    const struct wc_mc_session *ss, struct dgram_sink *d,
				    struct wc_out *out)
{
	const struct wc_mc_udp_xcore *x = c->udp_xcore;
	struct wc_mc_udp_cont *k = x != NULL ? x->alloc(x->arg) : NULL;
	const struct rte_mbuf *h;

	if (k == NULL) {
		n->st->drop_xcore_ring_full++;
		goto drop;
	}
	memset(k, 0, sizeof(*k));
	if (d->count == 0 && next_dgram(out) != 0) {
		n->st->drop_nombuf++;
		goto drop_k;
	}
	h = d->head;
	if ((uintptr_t)req - (uintptr_t)h->buf_addr < h->buf_len) {
		k->req = req;
		k->len = len;
		k->off = off;
	} else {
		uint32_t rest = len - off;
		struct rte_mbuf *m = rte_pktmbuf_alloc(n->pool);
		uint8_t *copy;

		if (m != NULL && rest <= rte_pktmbuf_tailroom(m)) {
			k->req_m = m;
			copy = rte_pktmbuf_mtod(m, uint8_t *);
		} else {
			rte_pktmbuf_free(m);
			k->req_heap = rte_malloc("wc_mc_udp_req", rest, 0);
			copy = k->req_heap;
		}
		if (copy == NULL) {
			n->st->drop_nombuf++;
			goto drop_k;
		}
		memcpy(copy, req + off, rest);
		k->req = copy;
		k->len = rest;
		k->off = 0;
	}
	k->peer = *peer;
	k->req_id = req_id;
	send_on(c, n, k, d, out, ss);
	return;
drop_k:
	x->free(x->arg, k);
drop:
	wc_mbuf_list_free(d->head);
}

/*
 * A one-datagram reply's frame header at @p dst: the request id of the
 * request's header at @p req, sequence 0, total 1, reserved 0, in one store.
 */
static inline void reply_hdr_store(uint8_t *dst, const uint8_t *req)
{
	static const uint8_t one[8] = { 0, 0, 0, 0, 0, 1, 0, 0 };
	uint64_t w;
	uint16_t id;

	memcpy(&w, one, 8);
	memcpy(&id, req, 2);
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	w |= id;
#else
	w |= (uint64_t)id << 48;
#endif
	memcpy(dst, &w, 8);
}

/*
 * The key of @p q if it is exactly one "get <key>" ("\r\n" or "\n" after
 * it) in a datagram of one, with its hash.
 */
static inline bool single_get_key(const struct wc_udp_fast_req *q, struct wc_store_key *k)
{
	/* Frame header and "get ", before the key; '\n' at least after it. */
	const size_t before = WC_MC_UDP_HDR + 4;
	const uint8_t *p = q->payload;
	uint32_t seq_total, cmd;
	size_t klen;

	if (q->len < before + 2)
		return false;
	memcpy(&seq_total, p + 2, 4);
	memcpy(&cmd, p + WC_MC_UDP_HDR, 4);
	if (seq_total != rte_cpu_to_be_32(1) || memcmp(&cmd, "get ", 4) != 0 ||
	    p[q->len - 1] != '\n')
		return false;
	/*
	 * The key's last byte may be what a "\r" before the "\n" would be: 0
	 * then, and (unsigned) klen - 1 is past any key.
	 */
	klen = q->len - before - 1 - (p[q->len - 2] == '\r');
	if (klen - 1 >= WC_MC_KEY_MAX || !wc_mc_key_clean(p + before, klen, before))
		return false;
	k->key = p + before;
	k->klen = (uint32_t)klen;
	k->hash = wc_store_hash(p + before, klen);
	return true;
}

/*
 * Answer the plain gets @p reqs[0..keys) of keys @p k, in order, until one
 * whose reply might not fit one datagram (the general path splits it).
 * @return how many it answered.
 */
static inline unsigned int answer_gets(struct wc_mc_ctx *c, struct wc_udp_fast_req *reqs,
				       const struct wc_store_key *k, unsigned int keys)
{
	/* The longest hit's reply but for key and value, frame header included. */
	const int64_t fixed = WC_MC_UDP_HDR + (int64_t)wc_mc_value_max(0, 0) + 5;
	struct wc_item_view v[WC_UDP_FAST_MAX];
	uint64_t read = 0, written = 0;
	unsigned int i, hits = 0;

	wc_store_fetch_burst(c->store, k, keys, v);
	for (i = 0; i < keys; i++) {
		struct wc_udp_fast_req *q = &reqs[i];
		bool hit = v[i].val != NULL;
		size_t rlen;

		/*
		 * The reply must surely fit one datagram (and this buffer); a
		 * miss's, 13 bytes, fits the room the stack leaves at least.
		 */
		if (hit && (int64_t)k[i].klen + v[i].vlen >
				   (int64_t)RTE_MIN(q->room, WC_MC_UDP_DGRAM_MAX) - fixed)
			break;
		/*
		 * The frame header's bytes are written after the reply, and the
		 * request's before the key (header and "get ", WC_MC_UDP_HDR + 4)
		 * are readable: the reply may use the smaller of the two, the
		 * header's, as slack.
		 */
		rlen = wc_mc_fmt_get_reply(k[i].key, k[i].klen, hit ? &v[i] : NULL,
					   q->reply + WC_MC_UDP_HDR, WC_MC_UDP_HDR);
		/* The frame header: the request id as it came, seq 0, total 1. */
		reply_hdr_store(q->reply, q->payload);
		q->rlen = (uint16_t)(WC_MC_UDP_HDR + rlen);
		hits += hit;
		read += q->len;
		written += rlen;
	}
	/* Counted as the general path counts each get, once for the run. */
	wc_mc_count_gets(c, i, hits, read - (uint64_t)i * WC_MC_UDP_HDR, written);
	return i;
}

/* Whether @p q is not a get at all, at a glance: no "get " after the frame header. */
static inline bool not_get(const struct wc_udp_fast_req *q)
{
	return q->len < WC_MC_UDP_HDR + 4 || memcmp(q->payload + WC_MC_UDP_HDR, "get ", 4) != 0;
}

/*
 * The commonest datagram, one "get <key>\r\n" ("\n" alone also ends it) of
 * this lcore's partition whose reply surely fits one datagram, answered
 * straight into the received frame's buffer: no session, request, sink or
 * datagram list. It accepts only what parse_fast() would parse as that one
 * get, and answers and counts it as exec_get() would. Anything else it
 * leaves to wc_mc_udp_input(), having answered and counted nothing; what
 * its lookup did stands, and is what that path's lookup does too (an
 * expired item reclaimed, a found one marked accessed).
 *
 * The request must be the whole datagram, so its line ends where the
 * datagram does: the key is what lies between "get " and that end, and one
 * check that each of its bytes is above ' ' stands for the parser's search
 * for the key's end (a space, a second line end or any control byte in it
 * sends the datagram to the general path).
 */
unsigned int wc_mc_udp_fast(void *arg, struct wc_net *n, struct wc_udp_fast_req *reqs,
			    unsigned int count, unsigned int *pass)
{
	struct wc_mc_ctx *c = arg;
	struct wc_store_key k[WC_UDP_FAST_MAX];
	unsigned int keys, done = 0;

	RTE_SET_USED(n);
	RTE_BUILD_BUG_ON(WC_UDP_FAST_MAX > WC_STORE_BURST);
	/* The run of plain gets of this partition, looked up together. */
	for (keys = 0; keys < count; keys++)
		if (!single_get_key(&reqs[keys], &k[keys]) || !wc_mc_get_here(c, k[keys].hash))
			break;
	if (keys > 0)
		done = answer_gets(c, reqs, k, keys);
	/* The first declined, and the writes and such right after it. */
	if (done < count)
		for (*pass = 1; done + *pass < count && not_get(&reqs[done + *pass]); (*pass)++)
			;
	return done;
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
	if (unlikely(used < (size_t)len - WC_MC_UDP_HDR)) {
		if (ss.handoff != 0) {
			hand_off(c, n, peer, h.req_id, payload + WC_MC_UDP_HDR, len - WC_MC_UDP_HDR,
				 (uint32_t)used, &ss, &d, &out);
			return;
		}
		st->drop_mc_truncated++;
	}
	finish(n, peer, h.req_id, &d, &out);
}

void wc_mc_udp_resume(struct wc_mc_ctx *c, struct wc_net *n, struct wc_mc_udp_cont *k)
{
	struct dgram_sink d = { n, k->head, k->tail, k->count, k->nombuf };
	struct wc_out out = { k->p, k->end, next_dgram, &d, k->written, k->limit, k->overflow };
	struct wc_mc_session ss = k->ss;
	size_t used;

	used = wc_mc_process(c, &ss, k->req + k->off, k->len - k->off, &out);
	if (ss.handoff != 0) {
		k->off += (uint32_t)used;
		send_on(c, n, k, &d, &out, &ss);
		return;
	}
	if (k->off + used < k->len)
		n->st->drop_mc_truncated++;
	/* A window was opened to hold the request: nothing was written in it. */
	if (out.written == 0) {
		wc_mbuf_list_free(d.head);
		d.head = d.tail = NULL;
		d.count = 0;
	}
	finish(n, &k->peer, k->req_id, &d, &out);
	k->head = NULL;
	wc_mc_udp_cont_release(k);
	c->udp_xcore->free(c->udp_xcore->arg, k);
}
