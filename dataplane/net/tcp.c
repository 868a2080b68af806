/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-lcore TCP (see tcp.h for what it does and why).
 *
 * A connection, once the peer's ACK returned a valid SYN cookie:
 *
 *   send queue: direct mbufs linked through m->next (a list, not a packet)
 *
 *     snd_una             snd_nxt            snd_una + sq_bytes
 *        |  sent, unacked    |   not sent yet     |
 *        [ m0 ....][ m1 ..........][ m2 ......... ]  <- the writer appends
 *                                                      to the last mbuf
 *
 *   Acknowledged bytes are cut off the front (rte_pktmbuf_adj, and a drained
 *   mbuf freed). A segment is a header mbuf followed by indirect mbufs
 *   attached to the queued ones, so the bytes written once by the
 *   application are what the NIC reads.
 *
 *   receive: in-order bytes go to the application straight from the frame;
 *   the unconsumed tail, and everything while the application is held,
 *   lands in rbuf[roff .. roff + rlen). Out-of-order segments wait, as
 *   mbufs, in a sorted array of at most WC_TCP_OOO_MAX.
 *
 * States: ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSING, TIME_WAIT,
 * CLOSE_WAIT, LAST_ACK, and CLOSED (released at the end of the poll). There
 * is no LISTEN or SYN_RECEIVED state: SYN cookies stand for both.
 *
 * Timers: each connection has four deadlines in milliseconds (RTO or
 * persist, delayed ACK, keepalive, TIME_WAIT; 0 = off) and sits in the
 * wheel slot of the earliest; a slot holds connections of later rounds too,
 * which its scan skips.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_tcp.h>

#include "dataplane/net/net.h"
#include "dataplane/net/tcp.h"

#define ETH_LEN	 RTE_ETHER_HDR_LEN
#define VLAN_LEN 4
#define IP_LEN	 20
#define TCP_LEN	 20

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

#define SEQ_LT(a, b)  ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)

#define WHEEL_SLOTS 1024 /* 1 ms each */
#define SACK_RANGES 8	 /* SACKed ranges the sender remembers */
#define COPY_MAX    256	 /* payloads up to this are copied into the header mbuf */
#define RBUF_MIN    4096
#define RBUF_SLACK  65536 /* data the no-shrink rule lets past rcv_buf */

enum tcp_state {
	ST_CLOSED = 0,
	ST_ESTABLISHED,
	ST_FIN_WAIT_1,
	ST_FIN_WAIT_2,
	ST_CLOSING,
	ST_TIME_WAIT,
	ST_CLOSE_WAIT,
	ST_LAST_ACK,
};

enum { T_RTO, T_DELACK, T_KEEP, T_TW, T_COUNT };

struct ooo_seg {
	uint32_t seq;
	uint32_t len;
	uint32_t off; /* payload's offset in m */
	bool fin;
	struct rte_mbuf *m;
};

struct listener {
	uint16_t port; /* network order; 0 = free */
	const struct wc_tcp_ops *ops;
	void *arg;
};

struct wc_tcp_conn {
	/* Application state first: 16-byte aligned in a cache-aligned array. */
	uint8_t priv[WC_TCP_APP_PRIV] __rte_aligned(16);
	struct wc_tcp *t;
	struct wc_tcp_conn *hnext;   /* hash chain, or free list */
	TAILQ_ENTRY(wc_tcp_conn) tq; /* timer wheel slot */
	TAILQ_ENTRY(wc_tcp_conn) oq; /* output list */
	uint32_t rip;		     /* network order */
	uint16_t rport, lport;	     /* network order */
	struct rte_ether_addr rmac;
	uint16_t vlan_tci;
	uint8_t state;
	bool in_wheel, on_outq;
	bool ack_now;	   /* an ACK is due at the next output */
	bool app_closed;   /* wc_tcp_close() or peer FIN handled: no more on_data */
	bool held;	   /* wc_tcp_hold() */
	bool in_app;	   /* inside on_data */
	bool fin_queued;   /* a FIN goes at fin_seq */
	bool peer_fin;	   /* the peer's FIN was received (in order) */
	bool timing;	   /* an RTT sample is being taken */
	bool in_recovery;  /* NewReno fast recovery */
	bool persist;	   /* tmo[T_RTO] is the persist timer */
	bool was_held_snd; /* counted in tcp_snd_held, waiting for ACKs */
	bool sack_ok;	   /* the peer takes SACK blocks in our ACKs */
	uint8_t snd_wscale, rcv_wscale;
	uint8_t dupacks;
	uint8_t limited; /* RFC 3042 limited transmit: segments allowed past cwnd */
	uint8_t retries; /* RTOs (or keepalive probes) in a row */
	uint8_t unacked; /* full segments received since our last ACK */
	uint16_t mss;
	const struct listener *lst;
	void *app;

	/* send */
	uint32_t snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint32_t fin_seq;
	uint32_t cwnd, ssthresh, recover;
	uint32_t rtt_seq;
	uint64_t rtt_tsc;
	uint32_t srtt_us, rttvar_us, rto_ms;
	struct rte_mbuf *sq_head, *sq_tail;
	uint32_t sq_bytes; /* queued bytes from snd_una on */
	uint32_t sq_mbufs;
	uint32_t sacked[SACK_RANGES][2]; /* [start, end) the peer SACKed, sorted, merged */
	uint32_t nsacked;
	uint32_t rexmit_nxt;	/* in recovery: where to look for the next hole */
	struct rte_mbuf *cur_m; /* transmit cursor: cur_seq is at cur_m's data + cur_off */
	uint32_t cur_seq, cur_off;

	/* receive */
	uint32_t rcv_nxt, rcv_adv;
	uint8_t *rbuf;
	uint32_t roff, rlen, rcap;
	struct ooo_seg *ooo;
	uint32_t nooo, ooo_cap;
	uint32_t ooo_last; /* sequence number of the last segment queued (first SACK block) */

	uint64_t last_rx_ms;
	uint64_t tmo[T_COUNT];
	uint64_t deadline;
};

TAILQ_HEAD(conn_list, wc_tcp_conn);

struct wc_tcp {
	struct wc_net *n;
	struct wc_tcp_limits lim;
	struct listener lst[WC_TCP_LISTENERS];
	struct wc_tcp_conn *conns; /* lim.max_conns */
	struct wc_tcp_conn *free_list;
	struct wc_tcp_conn **buckets;
	uint32_t bucket_mask;
	uint32_t nconns;
	uint64_t mem_used;   /* rbuf bytes (rte_malloc) */
	uint32_t mbufs_used; /* send queue and out-of-order mbufs */
	uint32_t mbufs_max;
	uint64_t tsc_per_ms;
	uint64_t now_ms;
	uint64_t wheel_ms; /* last slot scanned */
	uint64_t key[2];   /* SipHash key of the cookies */
	unsigned int (*hook)(void *arg);
	void *hook_arg;
	struct conn_list outq;
	struct conn_list wheel[WHEEL_SLOTS];
};

/* ---- helpers ---- */

static inline uint64_t now_ms(struct wc_tcp *t)
{
	return t->n->now_tsc / t->tsc_per_ms;
}

static inline uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static inline uint32_t max32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

/* ---- SipHash-2-4 of two 64-bit words (the cookie's MAC) ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = ROTL(v1, 13); \
		v1 ^= v0;          \
		v0 = ROTL(v0, 32); \
		v2 += v3;          \
		v3 = ROTL(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = ROTL(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = ROTL(v1, 17); \
		v1 ^= v2;          \
		v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t siphash(const uint64_t key[2], uint64_t a, uint64_t b)
{
	uint64_t v0 = key[0] ^ 0x736f6d6570736575ULL, v1 = key[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = key[0] ^ 0x6c7967656e657261ULL, v3 = key[1] ^ 0x7465646279746573ULL;
	uint64_t m[3] = { a, b, (uint64_t)16 << 56 };

	for (int i = 0; i < 3; i++) {
		v3 ^= m[i];
		SIPROUND;
		SIPROUND;
		v0 ^= m[i];
	}
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- SYN cookies ----
 *
 *   31    28  27  26  24 23   20 19                      0
 *   +-------+----+------+-------+-------------------------+
 *   | slot  |sack| mss  | wscale|   SipHash (20 bits)     |
 *   +-------+----+------+-------+-------------------------+
 *   slot: 64-second time slot mod 16; sack: the peer offered
 *   SACK-permitted; mss: index in mss_table; wscale: the peer's shift + 1,
 *   0 = no window scaling.
 */
static const uint16_t mss_table[8] = { 536, 1024, 1200, 1300, 1360, 1400, 1440, 1460 };

static uint32_t cookie_mac(const struct wc_tcp *t, uint32_t rip, uint16_t rport, uint16_t lport,
			   uint32_t irs, uint32_t bits12)
{
	uint64_t a = (uint64_t)rip << 32 | (uint32_t)rport << 16 | lport;
	uint64_t b = (uint64_t)irs << 32 | bits12;

	return (uint32_t)siphash(t->key, a, b) & 0xfffff;
}

static uint32_t cookie_make(const struct wc_tcp *t, uint64_t now_s, uint32_t rip, uint16_t rport,
			    uint16_t lport, uint32_t irs, unsigned int mss_idx, unsigned int ws,
			    bool sack)
{
	uint32_t bits12 =
		(uint32_t)((now_s / 64) & 15) << 8 | (sack ? 1u << 7 : 0) | mss_idx << 4 | ws;

	return bits12 << 20 | cookie_mac(t, rip, rport, lport, irs, bits12);
}

/* @return true with the MSS index and wscale code, if @p cookie is ours and fresh. */
static bool cookie_check(const struct wc_tcp *t, uint64_t now_s, uint32_t rip, uint16_t rport,
			 uint16_t lport, uint32_t irs, uint32_t cookie, unsigned int *mss_idx,
			 unsigned int *ws, bool *sack)
{
	uint32_t bits12 = cookie >> 20;
	uint32_t slot = bits12 >> 8;
	uint32_t age = ((uint32_t)(now_s / 64) - slot) & 15;

	if (age > 1 || cookie_mac(t, rip, rport, lport, irs, bits12) != (cookie & 0xfffff))
		return false;
	*mss_idx = (bits12 >> 4) & 7;
	*ws = bits12 & 15;
	*sack = (bits12 >> 7) & 1;
	return true;
}

/* ---- connection table ---- */

static inline uint32_t conn_hash(const struct wc_tcp *t, uint32_t rip, uint16_t rport,
				 uint16_t lport)
{
	uint64_t k = ((uint64_t)rip << 32 | (uint32_t)rport << 16 | lport) * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(k >> 32) & t->bucket_mask;
}

static struct wc_tcp_conn *conn_find(const struct wc_tcp *t, uint32_t rip, uint16_t rport,
				     uint16_t lport)
{
	struct wc_tcp_conn *c = t->buckets[conn_hash(t, rip, rport, lport)];

	while (c != NULL && (c->rip != rip || c->rport != rport || c->lport != lport))
		c = c->hnext;
	return c;
}

/* ---- timers ---- */

static void timer_update(struct wc_tcp_conn *c)
{
	struct wc_tcp *t = c->t;
	uint64_t d = 0;

	for (int i = 0; i < T_COUNT; i++)
		if (c->tmo[i] != 0 && (d == 0 || c->tmo[i] < d))
			d = c->tmo[i];
	if (c->in_wheel && d == c->deadline)
		return;
	if (c->in_wheel) {
		TAILQ_REMOVE(&t->wheel[c->deadline & (WHEEL_SLOTS - 1)], c, tq);
		c->in_wheel = false;
	}
	c->deadline = d;
	if (d != 0) {
		/* A deadline already past is run at the next scan. */
		if (d <= t->wheel_ms)
			d = t->wheel_ms + 1;
		c->deadline = d;
		TAILQ_INSERT_TAIL(&t->wheel[d & (WHEEL_SLOTS - 1)], c, tq);
		c->in_wheel = true;
	}
}

static inline void timer_set(struct wc_tcp_conn *c, int which, uint64_t at)
{
	if (c->tmo[which] == at)
		return;
	c->tmo[which] = at;
	timer_update(c);
}

/* ---- output list ---- */

static inline void want_output(struct wc_tcp_conn *c)
{
	if (!c->on_outq) {
		TAILQ_INSERT_TAIL(&c->t->outq, c, oq);
		c->on_outq = true;
	}
}

/* ---- frames ---- */

/*
 * A header mbuf with Ethernet, IPv4 and TCP headers for @p plen bytes of
 * payload to follow (in this mbuf or chained after it); the checksums are
 * filled by frame_send().
 */
static struct rte_mbuf *frame_alloc(struct wc_net *n, const struct rte_ether_addr *mac,
				    uint16_t vlan_tci, uint32_t rip, uint16_t lport, uint16_t rport,
				    uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
				    const uint8_t *opts, uint8_t optlen)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(n->pool);
	uint16_t l2 = vlan_tci != 0 ? ETH_LEN + VLAN_LEN : ETH_LEN;
	uint16_t hlen = (uint16_t)(l2 + IP_LEN + TCP_LEN + optlen);
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint8_t *p;

	if (unlikely(m == NULL)) {
		n->st->drop_nombuf++;
		return NULL;
	}
	p = (uint8_t *)rte_pktmbuf_append(m, hlen);
	if (unlikely(p == NULL)) {
		rte_pktmbuf_free(m);
		n->st->drop_nombuf++;
		return NULL;
	}
	memcpy(p, mac, RTE_ETHER_ADDR_LEN);
	memcpy(p + 6, &n->ifc->mac, RTE_ETHER_ADDR_LEN);
	if (vlan_tci != 0) {
		uint16_t tpid = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
		uint16_t tci = rte_cpu_to_be_16(vlan_tci);

		memcpy(p + 12, &tpid, 2);
		memcpy(p + 14, &tci, 2);
	}
	{
		uint16_t type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);

		memcpy(p + l2 - 2, &type, 2);
	}
	ip = (struct rte_ipv4_hdr *)(p + l2);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = 0; /* frame_send() */
	ip->packet_id = rte_cpu_to_be_16(n->ip_id++);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->hdr_checksum = 0;
	ip->src_addr = n->ifc->ip;
	ip->dst_addr = rip;
	th = (struct rte_tcp_hdr *)(ip + 1);
	th->src_port = lport;
	th->dst_port = rport;
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)(((TCP_LEN + optlen) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(win);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (optlen > 0)
		memcpy(th + 1, opts, optlen);
	m->l2_len = l2;
	m->l3_len = IP_LEN;
	m->l4_len = (uint16_t)(TCP_LEN + optlen);
	return m;
}

/* Fill lengths and checksums of a frame from frame_alloc() (payload appended) and queue it. */
static void frame_send(struct wc_net *n, struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + m->l2_len);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint32_t l4len = m->pkt_len - m->l2_len - IP_LEN;
	uint64_t tx = n->ifc->tx_offloads, ol = 0;

	/*
	 * A port that sends no chains (net_af_xdp in DPDK 22.11 copies the
	 * first segment's address for pkt_len bytes) gets the payload copied
	 * behind the headers: a segment's MSS fits an mbuf's room.
	 */
	if (unlikely(m->nb_segs > 1) && !(tx & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) &&
	    rte_pktmbuf_linearize(m) != 0) {
		n->st->tx_dropped++;
		rte_pktmbuf_free(m);
		return;
	}
	ip->total_length = rte_cpu_to_be_16((uint16_t)(IP_LEN + l4len));
	if (tx & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
		ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	else
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (tx & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) {
		ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
		th->cksum = rte_ipv4_phdr_cksum(ip, ol);
	} else {
		uint16_t raw = 0;
		uint32_t sum;

		wc_net_cksum(m, (uint32_t)m->l2_len + IP_LEN, l4len, &raw);
		sum = (uint32_t)raw + rte_ipv4_phdr_cksum(ip, 0);
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		th->cksum = (uint16_t)~sum;
	}
	m->ol_flags = ol;
	n->st->tcp_segs_out++;
	wc_net_tx(n, m);
}

/* A segment that belongs to no connection: RST, SYN-ACK. */
static void send_raw(struct wc_net *n, const struct rte_ether_addr *mac, uint16_t vlan_tci,
		     uint32_t rip, uint16_t lport, uint16_t rport, uint32_t seq, uint32_t ack,
		     uint8_t flags, uint16_t win, const uint8_t *opts, uint8_t optlen)
{
	struct rte_mbuf *m = frame_alloc(n, mac, vlan_tci, rip, lport, rport, seq, ack, flags, win,
					 opts, optlen);

	if (m != NULL)
		frame_send(n, m);
}

/* ---- receive window ---- */

static uint32_t rcv_space(const struct wc_tcp_conn *c)
{
	const struct wc_tcp *t = c->t;
	uint32_t cap = t->lim.rcv_buf;

	/* No room left for this buffer to grow: promise only what it has. */
	if (c->rcap < cap && t->mem_used + (cap - c->rcap) > t->lim.mem)
		cap = max32(c->rcap, RBUF_MIN);
	return cap > c->rlen ? cap - c->rlen : 0;
}

/* The window field for the next segment; the right edge never moves left. */
static uint16_t rcv_window(struct wc_tcp_conn *c)
{
	uint32_t space = rcv_space(c);
	uint32_t adv = c->rcv_adv - c->rcv_nxt;
	uint32_t field;

	if (SEQ_LT(c->rcv_adv, c->rcv_nxt))
		adv = 0;
	if (space < adv)
		space = adv;
	field = space >> c->rcv_wscale;
	if (field > 0xffff)
		field = 0xffff;
	/* Rounding down must not shrink it either. */
	if ((field << c->rcv_wscale) < adv && field < 0xffff)
		field++;
	if (SEQ_GT(c->rcv_nxt + (field << c->rcv_wscale), c->rcv_adv))
		c->rcv_adv = c->rcv_nxt + (field << c->rcv_wscale);
	return (uint16_t)field;
}

/* ---- send queue ---- */

static void sq_free_mbuf(struct wc_tcp *t, struct rte_mbuf *m)
{
	m->next = NULL;
	m->nb_segs = 1;
	t->mbufs_used--;
	rte_pktmbuf_free_seg(m);
}

/* Drop @p bytes acknowledged from the front of the send queue. */
static void sq_ack(struct wc_tcp_conn *c, uint32_t bytes)
{
	struct wc_tcp *t = c->t;

	c->sq_bytes -= bytes;
	while (bytes > 0 && c->sq_head != NULL) {
		struct rte_mbuf *m = c->sq_head;
		uint32_t k = min32(bytes, m->data_len);

		m->data_off = (uint16_t)(m->data_off + k);
		m->data_len = (uint16_t)(m->data_len - k);
		m->pkt_len = m->data_len;
		bytes -= k;
		if (c->cur_m == m) {
			if (c->cur_off >= k)
				c->cur_off -= k;
			else
				c->cur_m = NULL;
		}
		if (m->data_len == 0 &&
		    (m != c->sq_tail || rte_pktmbuf_tailroom(m) == 0 || c->app_closed)) {
			c->sq_head = m->next;
			if (c->sq_tail == m)
				c->sq_tail = NULL;
			if (c->cur_m == m)
				c->cur_m = NULL;
			c->sq_mbufs--;
			sq_free_mbuf(t, m);
		}
	}
}

static void sq_free_all(struct wc_tcp_conn *c)
{
	while (c->sq_head != NULL) {
		struct rte_mbuf *m = c->sq_head;

		c->sq_head = m->next;
		sq_free_mbuf(c->t, m);
	}
	c->sq_tail = NULL;
	c->cur_m = NULL;
	c->sq_bytes = 0;
	c->sq_mbufs = 0;
}

static struct rte_mbuf *sq_grow(struct wc_tcp_conn *c)
{
	struct wc_tcp *t = c->t;
	struct rte_mbuf *m;

	if (t->mbufs_used >= t->mbufs_max) {
		t->n->st->tcp_mem_refused++;
		return NULL;
	}
	m = rte_pktmbuf_alloc(t->n->pool);
	if (m == NULL) {
		t->n->st->drop_nombuf++;
		return NULL;
	}
	/* No headers go in front of queued bytes: use the whole buffer. */
	m->data_off = 0;
	t->mbufs_used++;
	c->sq_mbufs++;
	if (c->sq_tail != NULL)
		c->sq_tail->next = m;
	else
		c->sq_head = m;
	c->sq_tail = m;
	return m;
}

/* Position the transmit cursor at @p seq (snd_una <= seq <= snd_una + sq_bytes). */
static void sq_seek(struct wc_tcp_conn *c, uint32_t seq)
{
	struct rte_mbuf *m;
	uint32_t off;

	if (c->cur_m != NULL && SEQ_LEQ(c->cur_seq, seq) && SEQ_GEQ(c->cur_seq, c->snd_una)) {
		m = c->cur_m;
		off = c->cur_off + (seq - c->cur_seq);
	} else {
		m = c->sq_head;
		off = seq - c->snd_una;
	}
	while (m != NULL && off >= m->data_len && m->next != NULL) {
		off -= m->data_len;
		m = m->next;
	}
	c->cur_m = m;
	c->cur_off = off;
	c->cur_seq = seq;
}

/* ---- segments of a connection ---- */

/*
 * The SACK option (RFC 2018) for the out-of-order queue: up to four blocks,
 * the one holding the segment queued last first, the others in order.
 * Returns its length (NOP NOP kind len blocks).
 */
static uint8_t sack_option(const struct wc_tcp_conn *c, uint8_t *o)
{
	uint32_t bs[16][2], nb = 0, first = 0, k = 0;

	for (uint32_t i = 0; i < c->nooo; i++) {
		uint32_t a = c->ooo[i].seq, b = a + c->ooo[i].len;

		if (nb > 0 && SEQ_LEQ(a, bs[nb - 1][1])) {
			if (SEQ_GT(b, bs[nb - 1][1]))
				bs[nb - 1][1] = b;
			continue;
		}
		if (nb == RTE_DIM(bs))
			break;
		bs[nb][0] = a;
		bs[nb][1] = b;
		nb++;
	}
	for (uint32_t i = 0; i < nb; i++)
		if (SEQ_GEQ(c->ooo_last, bs[i][0]) && SEQ_LT(c->ooo_last, bs[i][1]))
			first = i;
	o[0] = 1;
	o[1] = 1;
	o[2] = 5;
	for (uint32_t i = 0; i < nb && k < 4; i++) {
		uint32_t j = i == 0 ? first : (i <= first ? i - 1 : i);
		uint8_t *p = o + 4 + 8 * k;

		p[0] = (uint8_t)(bs[j][0] >> 24);
		p[1] = (uint8_t)(bs[j][0] >> 16);
		p[2] = (uint8_t)(bs[j][0] >> 8);
		p[3] = (uint8_t)bs[j][0];
		p[4] = (uint8_t)(bs[j][1] >> 24);
		p[5] = (uint8_t)(bs[j][1] >> 16);
		p[6] = (uint8_t)(bs[j][1] >> 8);
		p[7] = (uint8_t)bs[j][1];
		k++;
	}
	o[3] = (uint8_t)(2 + 8 * k);
	return (uint8_t)(4 + 8 * k);
}

/*
 * Send [seq, seq + len) of the send queue with @p flags (ACK always) and
 * the current window. Returns 0 or -ENOBUFS.
 */
static int xmit(struct wc_tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags)
{
	struct wc_tcp *t = c->t;
	struct wc_net *n = t->n;
	struct rte_mbuf *h, *last;
	uint16_t win = rcv_window(c);
	uint8_t opts[40];
	uint8_t optlen = 0;

	/* Only queued bytes can go (a bug here would send memory that is not). */
	if (unlikely(len > 0 &&
		     (SEQ_LT(seq, c->snd_una) || SEQ_GT(seq + len, c->snd_una + c->sq_bytes))))
		return -EINVAL;
	/* SACK blocks where they fit without shrinking the payload. */
	if (unlikely(c->nooo > 0) && c->sack_ok) {
		optlen = sack_option(c, opts);
		if (len + optlen > c->mss)
			optlen = 0;
	}
	h = frame_alloc(n, &c->rmac, c->vlan_tci, c->rip, c->lport, c->rport, seq, c->rcv_nxt,
			(uint8_t)(flags | F_ACK), win, opts, optlen);
	if (h == NULL)
		return -ENOBUFS;
	if (len > 0) {
		struct rte_mbuf *m;
		uint32_t off, left = len;

		sq_seek(c, seq);
		m = c->cur_m;
		off = c->cur_off;
		last = h;
		if (len <= COPY_MAX && len <= rte_pktmbuf_tailroom(h)) {
			uint8_t *dst = (uint8_t *)rte_pktmbuf_append(h, (uint16_t)len);

			while (left > 0 && m != NULL) {
				uint32_t k = min32(left, (uint32_t)m->data_len - off);

				memcpy(dst, rte_pktmbuf_mtod_offset(m, uint8_t *, off), k);
				dst += k;
				left -= k;
				m = m->next;
				off = 0;
			}
		} else {
			while (left > 0 && m != NULL) {
				uint32_t k = min32(left, (uint32_t)m->data_len - off);
				struct rte_mbuf *mi;

				if (k == 0) {
					m = m->next;
					off = 0;
					continue;
				}
				mi = rte_pktmbuf_alloc(n->pool);
				if (mi == NULL) {
					rte_pktmbuf_free(h);
					n->st->drop_nombuf++;
					return -ENOBUFS;
				}
				rte_pktmbuf_attach(mi, m);
				mi->data_off = (uint16_t)(m->data_off + off);
				mi->data_len = (uint16_t)k;
				mi->pkt_len = k;
				last->next = mi;
				last = mi;
				h->nb_segs++;
				h->pkt_len += k;
				left -= k;
				m = m->next;
				off = 0;
			}
		}
		/* The cursor moves on with the segment (the next one starts here). */
		sq_seek(c, seq + len);
		if (unlikely(left > 0)) {
			rte_pktmbuf_free(h);
			return -EINVAL;
		}
	}
	frame_send(n, h);
	c->ack_now = false;
	c->unacked = 0;
	if (c->tmo[T_DELACK] != 0)
		timer_set(c, T_DELACK, 0);
	return 0;
}

static void send_ack(struct wc_tcp_conn *c)
{
	xmit(c, c->snd_nxt, 0, 0);
}

static void send_rst(struct wc_tcp_conn *c)
{
	struct wc_net *n = c->t->n;

	send_raw(n, &c->rmac, c->vlan_tci, c->rip, c->lport, c->rport, c->snd_nxt, c->rcv_nxt,
		 F_RST | F_ACK, 0, NULL, 0);
	n->st->tcp_resets_out++;
}

/* Bytes the peer SACKed above snd_una (RFC 6675 IsLost() for the first hole). */
static uint32_t sack_bytes(const struct wc_tcp_conn *c)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < c->nsacked; i++)
		n += c->sacked[i][1] - c->sacked[i][0];
	return n;
}

/* @p seq moved past any SACKed range it lies in. */
static uint32_t sack_skip(const struct wc_tcp_conn *c, uint32_t seq)
{
	for (uint32_t i = 0; i < c->nsacked; i++)
		if (SEQ_GEQ(seq, c->sacked[i][0]) && SEQ_LT(seq, c->sacked[i][1]))
			seq = c->sacked[i][1];
	return seq;
}

/* Bytes from @p seq to the next SACKed range (UINT32_MAX if none). */
static uint32_t sack_room(const struct wc_tcp_conn *c, uint32_t seq)
{
	for (uint32_t i = 0; i < c->nsacked; i++)
		if (SEQ_GT(c->sacked[i][0], seq))
			return c->sacked[i][0] - seq;
	return UINT32_MAX;
}

static void rto_arm(struct wc_tcp_conn *c)
{
	c->persist = false;
	timer_set(c, T_RTO, c->t->now_ms + c->rto_ms);
}

/*
 * Send what the windows allow: new data, the FIN, else a pure ACK if one is
 * due. Returns segments sent.
 */
static unsigned int output(struct wc_tcp_conn *c)
{
	struct wc_tcp *t = c->t;
	unsigned int sent = 0;
	uint32_t data_end = c->snd_una + c->sq_bytes;
	uint32_t wnd = min32(c->snd_wnd, c->cwnd + (uint32_t)c->limited * c->mss);

	if (c->state == ST_CLOSED || c->state == ST_TIME_WAIT)
		return 0;
	/* After an RTO the FIN may be behind snd_nxt again: data_end excludes it. */
	if (c->fin_queued && SEQ_GT(data_end, c->fin_seq))
		data_end = c->fin_seq;
	for (;;) {
		uint32_t flight = c->snd_nxt - c->snd_una;
		uint32_t avail = wnd > flight ? wnd - flight : 0;
		uint32_t left = SEQ_LT(c->snd_nxt, data_end) ? data_end - c->snd_nxt : 0;
		uint32_t len;
		uint8_t flags = 0;

		if (left > 0 && unlikely(c->nsacked > 0) && SEQ_LT(c->snd_nxt, c->snd_max)) {
			/* Going back after an RTO: what the peer SACKed need not go again. */
			uint32_t to = sack_skip(c, c->snd_nxt);

			if (to != c->snd_nxt) {
				c->snd_nxt = SEQ_GT(to, data_end) ? data_end : to;
				continue;
			}
			left = min32(left, sack_room(c, c->snd_nxt));
		}
		if (left > 0) {
			len = min32(min32(c->mss, left), avail);
			if (len == 0)
				break;
			/* Sender-side silly window avoidance: no runt while data is in flight. */
			if (len < c->mss && len < left && flight > 0)
				break;
			if (len == left) {
				flags |= F_PSH;
				if (c->fin_queued)
					flags |= F_FIN;
			}
		} else if (c->fin_queued && c->snd_nxt == c->fin_seq) {
			len = 0;
			flags = F_FIN;
		} else {
			break;
		}
		if (xmit(c, c->snd_nxt, len, flags) != 0)
			break;
		sent++;
		if (SEQ_LT(c->snd_nxt, c->snd_max))
			t->n->st->tcp_retrans++;
		else if (!c->timing) {
			c->timing = true;
			c->rtt_seq = c->snd_nxt;
			c->rtt_tsc = t->n->now_tsc;
		}
		c->snd_nxt += len + ((flags & F_FIN) ? 1 : 0);
		if (SEQ_GT(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		if (c->tmo[T_RTO] == 0 || c->persist)
			rto_arm(c);
	}
	if (sent == 0 && c->ack_now) {
		send_ack(c);
		sent++;
	}
	/* Data waits on a closed window with nothing in flight: probe it. */
	if (c->snd_una == c->snd_max && c->snd_wnd == 0 &&
	    (SEQ_LT(c->snd_nxt, data_end) || (c->fin_queued && c->snd_nxt == c->fin_seq)) &&
	    c->tmo[T_RTO] == 0) {
		c->persist = true;
		timer_set(c, T_RTO, t->now_ms + c->rto_ms);
	}
	return sent;
}

/* ---- connection life ---- */

static void rbuf_free(struct wc_tcp_conn *c)
{
	if (c->rbuf != NULL) {
		c->t->mem_used -= c->rcap;
		rte_free(c->rbuf);
	}
	c->rbuf = NULL;
	c->rcap = c->rlen = c->roff = 0;
}

static void ooo_free(struct wc_tcp_conn *c)
{
	for (uint32_t i = 0; i < c->nooo; i++) {
		rte_pktmbuf_free(c->ooo[i].m);
		c->t->mbufs_used--;
	}
	c->nooo = 0;
	c->ooo_cap = 0;
	rte_free(c->ooo);
	c->ooo = NULL;
}

/* The application is told, once; the connection stays for the protocol. */
static void app_detach(struct wc_tcp_conn *c)
{
	void *app = c->app;

	c->app_closed = true;
	if (c->lst != NULL && app != NULL) {
		c->app = NULL;
		c->lst->ops->on_close(app, c);
	}
	c->lst = NULL;
}

/* Mark for release at the end of the poll (the caller may still hold @p c). */
static void conn_kill(struct wc_tcp_conn *c)
{
	c->state = ST_CLOSED;
	want_output(c);
}

static void conn_release(struct wc_tcp_conn *c)
{
	struct wc_tcp *t = c->t;
	struct wc_tcp_conn **pp = &t->buckets[conn_hash(t, c->rip, c->rport, c->lport)];

	app_detach(c);
	sq_free_all(c);
	rbuf_free(c);
	ooo_free(c);
	memset(c->tmo, 0, sizeof(c->tmo));
	timer_update(c);
	if (c->on_outq) {
		TAILQ_REMOVE(&t->outq, c, oq);
		c->on_outq = false;
	}
	while (*pp != NULL && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp == c)
		*pp = c->hnext;
	c->state = ST_CLOSED;
	c->hnext = t->free_list;
	t->free_list = c;
	t->nconns--;
	t->n->st->tcp_closed++;
}

static void enter_time_wait(struct wc_tcp_conn *c)
{
	c->state = ST_TIME_WAIT;
	app_detach(c);
	sq_free_all(c);
	rbuf_free(c);
	ooo_free(c);
	c->tmo[T_RTO] = c->tmo[T_DELACK] = c->tmo[T_KEEP] = 0;
	c->tmo[T_TW] = c->t->now_ms + c->t->lim.time_wait_ms;
	timer_update(c);
}

static struct wc_tcp_conn *conn_new(struct wc_tcp *t, uint32_t rip, uint16_t rport, uint16_t lport)
{
	struct wc_tcp_conn *c = t->free_list;
	uint32_t h;

	if (c == NULL)
		return NULL;
	t->free_list = c->hnext;
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->rip = rip;
	c->rport = rport;
	c->lport = lport;
	h = conn_hash(t, rip, rport, lport);
	c->hnext = t->buckets[h];
	t->buckets[h] = c;
	t->nconns++;
	return c;
}

/* ---- the application side ---- */

static inline bool app_ready(const struct wc_tcp_conn *c)
{
	return c->lst != NULL && !c->app_closed && !c->held && !c->in_app &&
	       c->sq_bytes < c->t->lim.snd_buf;
}

/* Make room for @p len more bytes in rbuf. */
static int rbuf_reserve(struct wc_tcp_conn *c, uint32_t len)
{
	struct wc_tcp *t = c->t;
	uint32_t need = c->rlen + len, cap;
	uint8_t *nb;

	if (c->roff + need <= c->rcap)
		return 0;
	if (need <= c->rcap) {
		memmove(c->rbuf, c->rbuf + c->roff, c->rlen);
		c->roff = 0;
		return 0;
	}
	if (need > t->lim.rcv_buf + RBUF_SLACK)
		return -ENOBUFS;
	cap = c->rcap > 0 ? c->rcap : RBUF_MIN;
	while (cap < need)
		cap *= 2;
	if (t->mem_used + (cap - c->rcap) > t->lim.mem + RBUF_SLACK) {
		t->n->st->tcp_mem_refused++;
		return -ENOBUFS;
	}
	nb = rte_malloc("wc_tcp_rbuf", cap, 0);
	if (nb == NULL) {
		t->n->st->tcp_mem_refused++;
		return -ENOBUFS;
	}
	if (c->rlen > 0)
		memcpy(nb, c->rbuf + c->roff, c->rlen);
	if (c->rbuf != NULL)
		rte_free(c->rbuf);
	t->mem_used += cap - c->rcap;
	c->rbuf = nb;
	c->rcap = cap;
	c->roff = 0;
	return 0;
}

static void app_call(struct wc_tcp_conn *c, const uint8_t *p, size_t len, size_t *used)
{
	c->in_app = true;
	*used = c->lst->ops->on_data(c->app, c, p, len);
	c->in_app = false;
	if (*used > len)
		*used = len;
	want_output(c);
}

/* After the peer's FIN, once the application took what it could: our FIN. */
static void fin_if_done(struct wc_tcp_conn *c)
{
	if (c->state == ST_CLOSE_WAIT && !c->app_closed && !c->held && !c->in_app &&
	    c->sq_bytes < c->t->lim.snd_buf)
		wc_tcp_close(c);
}

/* Give the application what is buffered, as long as it takes some. */
static void app_pump(struct wc_tcp_conn *c)
{
	uint32_t before = rcv_space(c);

	while (c->rlen > 0 && app_ready(c)) {
		size_t used;

		app_call(c, c->rbuf + c->roff, c->rlen, &used);
		if (c->state == ST_CLOSED)
			return;
		if (c->app_closed) {
			c->rlen = c->roff = 0;
			break;
		}
		c->roff += (uint32_t)used;
		c->rlen -= (uint32_t)used;
		if (c->rlen == 0)
			c->roff = 0;
		if (used == 0)
			break;
	}
	if (c->lst != NULL && !c->app_closed && c->sq_bytes >= c->t->lim.snd_buf &&
	    !c->was_held_snd && c->rlen > 0) {
		c->was_held_snd = true;
		c->t->n->st->tcp_snd_held++;
	}
	fin_if_done(c);
	/* A window that was nearly closed has opened: say so. */
	if (before < 2u * c->mss && rcv_space(c) >= 4u * c->mss)
		c->ack_now = true;
}

/* New in-order bytes. Returns 0, or -ENOBUFS (the connection is reset). */
static int rx_bytes(struct wc_tcp_conn *c, const uint8_t *p, uint32_t len)
{
	size_t used = 0;

	if (c->lst == NULL || c->app_closed)
		return 0; /* nobody reads any more: acknowledged and dropped */
	if (c->rlen == 0 && app_ready(c)) {
		app_call(c, p, len, &used);
		if (c->state == ST_CLOSED)
			return 0;
		if (used == len)
			return 0;
		if (c->app_closed)
			return 0;
	}
	if (rbuf_reserve(c, len - (uint32_t)used) != 0)
		return -ENOBUFS;
	memcpy(c->rbuf + c->roff + c->rlen, p + used, len - used);
	c->rlen += len - (uint32_t)used;
	if (used == 0 && c->rlen > len)
		app_pump(c);
	else if (c->sq_bytes >= c->t->lim.snd_buf && !c->was_held_snd && c->lst != NULL) {
		c->was_held_snd = true;
		c->t->n->st->tcp_snd_held++;
	}
	return 0;
}

/* Bytes [off, off + len) of frame @p m, in order, to rx_bytes(). */
static int rx_mbuf(struct wc_tcp_conn *c, const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	for (const struct rte_mbuf *s = m; s != NULL && len > 0; s = s->next) {
		uint32_t k;

		if (off >= s->data_len) {
			off -= s->data_len;
			continue;
		}
		k = min32(len, (uint32_t)s->data_len - off);
		if (rx_bytes(c, rte_pktmbuf_mtod_offset(s, const uint8_t *, off), k) != 0)
			return -ENOBUFS;
		if (c->state == ST_CLOSED)
			return 0;
		len -= k;
		off = 0;
	}
	return 0;
}

/* ---- input ---- */

struct seg {
	uint32_t seq, ack, len; /* len: payload bytes */
	uint16_t wnd;
	uint8_t flags;
	uint8_t optlen;
	const uint8_t *opts;
	uint32_t off; /* payload offset in the frame */
	struct rte_mbuf *m;
};

static void ooo_insert(struct wc_tcp_conn *c, const struct seg *s)
{
	struct wc_tcp *t = c->t;
	uint32_t i;

	if (c->nooo == c->ooo_cap && c->ooo_cap < WC_TCP_OOO_MAX) {
		uint32_t cap = c->ooo_cap == 0 ? 64 : c->ooo_cap * 2;
		struct ooo_seg *o = rte_realloc(c->ooo, sizeof(c->ooo[0]) * cap, 0);

		if (o != NULL) {
			c->ooo = o;
			c->ooo_cap = cap;
		}
	}
	for (i = 0; i < c->nooo && SEQ_LT(c->ooo[i].seq, s->seq); i++)
		;
	/* A copy of one held already (retransmitted or duplicated). */
	if (i < c->nooo && c->ooo[i].seq == s->seq && c->ooo[i].len >= s->len) {
		t->n->st->drop_tcp_ooo_full++;
		rte_pktmbuf_free(s->m);
		return;
	}
	if (c->nooo == c->ooo_cap || t->mbufs_used >= t->mbufs_max) {
		t->n->st->drop_tcp_ooo_full++;
		rte_pktmbuf_free(s->m);
		return;
	}
	memmove(c->ooo + i + 1, c->ooo + i, (c->nooo - i) * sizeof(c->ooo[0]));
	c->ooo[i] = (struct ooo_seg){ s->seq, s->len, s->off, (s->flags & F_FIN) != 0, s->m };
	c->nooo++;
	c->ooo_last = s->seq;
	t->mbufs_used++;
	t->n->st->tcp_ooo++;
}

static void peer_fin(struct wc_tcp_conn *c)
{
	c->rcv_nxt++;
	c->peer_fin = true;
	c->ack_now = true;
	switch (c->state) {
	case ST_ESTABLISHED:
		c->state = ST_CLOSE_WAIT;
		fin_if_done(c);
		break;
	case ST_FIN_WAIT_1:
		/* Our FIN not acknowledged yet (else we would be in FIN_WAIT_2). */
		c->state = ST_CLOSING;
		break;
	case ST_FIN_WAIT_2:
		send_ack(c);
		enter_time_wait(c);
		break;
	default:
		break;
	}
}

/*
 * Take in-order segments off the out-of-order queue. They leave the queue
 * before the peer's FIN is taken: in FIN_WAIT_2 that enters TIME_WAIT,
 * which frees what is still queued (ooo_free()), and must not find there
 * the segments already freed here.
 */
static void ooo_pull(struct wc_tcp_conn *c)
{
	uint32_t k = 0;
	bool fin = false;

	while (k < c->nooo && SEQ_LEQ(c->ooo[k].seq, c->rcv_nxt) && !c->peer_fin) {
		struct ooo_seg o = c->ooo[k++];
		uint32_t end = o.seq + o.len;

		c->t->mbufs_used--;
		if (SEQ_GT(end, c->rcv_nxt)) {
			uint32_t skip = c->rcv_nxt - o.seq;

			c->rcv_nxt = end;
			if (rx_mbuf(c, o.m, o.off + skip, o.len - skip) != 0) {
				rte_pktmbuf_free(o.m);
				send_rst(c);
				conn_kill(c);
				break;
			}
		}
		fin = o.fin && c->rcv_nxt == end;
		rte_pktmbuf_free(o.m);
		if (fin || c->state == ST_CLOSED)
			break;
	}
	if (k > 0) {
		c->nooo -= k;
		memmove(c->ooo, c->ooo + k, c->nooo * sizeof(c->ooo[0]));
	}
	if (fin)
		peer_fin(c);
}

/* RTO = SRTT + max(G, 4 RTTVAR), G = 1 ms, within [200 ms, 60 s]. */
static void rto_update(struct wc_tcp_conn *c)
{
	uint32_t rto = (c->srtt_us + max32(1000, 4 * c->rttvar_us)) / 1000;

	c->rto_ms = RTE_MIN(RTE_MAX(rto, (uint32_t)WC_TCP_RTO_MIN_MS), (uint32_t)WC_TCP_RTO_MAX_MS);
}

static void rtt_sample(struct wc_tcp_conn *c)
{
	struct wc_tcp *t = c->t;
	uint64_t r = (t->n->now_tsc - c->rtt_tsc) * 1000 / t->tsc_per_ms; /* us */

	if (r > 60000000)
		r = 60000000;
	if (c->srtt_us == 0) {
		c->srtt_us = (uint32_t)r + 1;
		c->rttvar_us = (uint32_t)r / 2;
	} else {
		uint32_t d = c->srtt_us > r ? c->srtt_us - (uint32_t)r : (uint32_t)r - c->srtt_us;

		c->rttvar_us = (3 * c->rttvar_us + d) / 4;
		c->srtt_us = (7 * c->srtt_us + (uint32_t)r) / 8;
	}
	c->timing = false;
	rto_update(c);
}

/* ---- the SACK scoreboard (RFC 6675, in part) ---- */

/* Forget what snd_una has passed. */
static void sack_prune(struct wc_tcp_conn *c)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < c->nsacked; i++) {
		if (SEQ_LEQ(c->sacked[i][1], c->snd_una))
			continue;
		c->sacked[k][0] =
			SEQ_LT(c->sacked[i][0], c->snd_una) ? c->snd_una : c->sacked[i][0];
		c->sacked[k][1] = c->sacked[i][1];
		k++;
	}
	c->nsacked = k;
}

static void sack_add(struct wc_tcp_conn *c, uint32_t a, uint32_t b)
{
	uint32_t i, j;

	if (!SEQ_LT(a, b) || SEQ_LEQ(a, c->snd_una) || SEQ_GT(b, c->snd_max))
		return;
	for (i = 0; i < c->nsacked && SEQ_LT(c->sacked[i][1], a); i++)
		;
	/* Merge with every range it touches. */
	for (j = i; j < c->nsacked && SEQ_LEQ(c->sacked[j][0], b); j++) {
		if (SEQ_LT(c->sacked[j][0], a))
			a = c->sacked[j][0];
		if (SEQ_GT(c->sacked[j][1], b))
			b = c->sacked[j][1];
	}
	if (j == i && c->nsacked == SACK_RANGES) {
		if (i == SACK_RANGES)
			return; /* above all we remember: not needed to find the first holes */
		c->nsacked--;
	}
	memmove(c->sacked + i + 1, c->sacked + j, (c->nsacked - j) * sizeof(c->sacked[0]));
	c->nsacked = c->nsacked - (j - i) + 1;
	c->sacked[i][0] = a;
	c->sacked[i][1] = b;
}

/*
 * The next option at or after *at in the option block o[0..len), NOPs
 * skipped: its kind at [0], its length (2 or more, all inside the block)
 * at [1]; *at moves past it. NULL at the end of the list or at an option
 * whose length does not fit, after which nothing is read (RFC 9293 3.1).
 */
static inline const uint8_t *opt_next(const uint8_t *o, uint32_t len, uint32_t *at)
{
	uint32_t i = *at;

	while (i < len && o[i] == 1)
		i++;
	if (i + 1 >= len || o[i] == 0 || o[i + 1] < 2 || i + o[i + 1] > len)
		return NULL;
	*at = i + o[i + 1];
	return o + i;
}

/* The SACK blocks of an ACK, into the scoreboard. Returns whether it had any. */
static bool sack_input(struct wc_tcp_conn *c, const struct seg *s)
{
	const uint8_t *p;
	bool any = false;

	for (uint32_t at = 0; (p = opt_next(s->opts, s->optlen, &at)) != NULL;)
		if (p[0] == 5)
			for (uint32_t b = 2; b + 8 <= p[1]; b += 8, any = true)
				sack_add(c,
					 (uint32_t)p[b] << 24 | (uint32_t)p[b + 1] << 16 |
						 (uint32_t)p[b + 2] << 8 | p[b + 3],
					 (uint32_t)p[b + 4] << 24 | (uint32_t)p[b + 5] << 16 |
						 (uint32_t)p[b + 6] << 8 | p[b + 7]);
	return any;
}

/*
 * In recovery with SACK: send the next hole (data below the highest SACKed
 * byte that was neither SACKed nor resent yet). Returns false if none.
 */
static bool retransmit_hole(struct wc_tcp_conn *c)
{
	uint32_t seq, len, data_end = c->snd_una + c->sq_bytes;

	if (c->nsacked == 0)
		return false;
	if (c->fin_queued && SEQ_GT(data_end, c->fin_seq))
		data_end = c->fin_seq;
	seq = c->rexmit_nxt;
	if (SEQ_LT(seq, c->snd_una) || SEQ_GEQ(seq, c->snd_max))
		seq = c->snd_una;
	seq = sack_skip(c, seq);
	if (SEQ_GEQ(seq, c->sacked[c->nsacked - 1][1]) || SEQ_GEQ(seq, data_end))
		return false;
	len = min32(min32(c->mss, data_end - seq), sack_room(c, seq));
	if (xmit(c, seq, len, 0) != 0)
		return false;
	c->t->n->st->tcp_retrans++;
	c->rexmit_nxt = seq + len;
	c->timing = false; /* Karn */
	return true;
}

/* Send the first unacknowledged segment again (fast retransmit, partial ACK). */
static void retransmit_first(struct wc_tcp_conn *c)
{
	uint32_t data_end = c->snd_una + c->sq_bytes;
	uint32_t len;
	uint8_t flags = 0;

	if (c->fin_queued && SEQ_GT(data_end, c->fin_seq))
		data_end = c->fin_seq;
	len = min32(c->mss, data_end - c->snd_una);
	if (SEQ_GEQ(c->snd_una, data_end)) {
		if (!c->fin_queued)
			return;
		len = 0;
		flags = F_FIN;
	} else if (len == data_end - c->snd_una && c->fin_queued &&
		   SEQ_GT(c->snd_max, c->fin_seq)) {
		flags = F_FIN;
	}
	if (xmit(c, c->snd_una, len, flags) == 0)
		c->t->n->st->tcp_retrans++;
	c->timing = false; /* Karn */
}

/* The ACK field of an acceptable segment. Returns false if the segment is done. */
static bool ack_input(struct wc_tcp_conn *c, const struct seg *s)
{
	struct wc_tcp *t = c->t;
	uint32_t wnd = (uint32_t)s->wnd << c->snd_wscale;
	uint32_t flight, thresh;
	bool sacks;

	if (SEQ_GT(s->ack, c->snd_max)) {
		t->n->st->drop_tcp_ack++;
		c->ack_now = true;
		want_output(c);
		return false;
	}
	if (SEQ_LT(s->ack, c->snd_una))
		return true; /* old: only the data counts */
	sacks = s->optlen > 0 && c->sack_ok && sack_input(c, s);
	flight = c->snd_max - c->snd_una;
	if (s->ack == c->snd_una) {
		bool update = SEQ_LT(c->snd_wl1, s->seq) ||
			      (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, s->ack));
		/* SACK blocks prove a duplicate even if the window moved (Linux's does). */
		bool dup = s->len == 0 && !(s->flags & F_FIN) && (wnd == c->snd_wnd || sacks) &&
			   flight > 0;

		if (update) {
			if (wnd != c->snd_wnd)
				want_output(c);
			c->snd_wnd = wnd;
			c->snd_wl1 = s->seq;
			c->snd_wl2 = s->ack;
			if (wnd > 0 && c->persist) {
				c->persist = false;
				timer_set(c, T_RTO, 0);
			}
		}
		if (!dup) {
			if (s->len == 0)
				c->dupacks = 0;
			return true;
		}
		c->dupacks++;
		/*
		 * Fewer than four segments out and nothing new to send: three
		 * duplicates can never come, so fewer do (RFC 5827).
		 */
		{
			uint32_t oseg = (flight + c->mss - 1) / c->mss;
			uint32_t end = c->snd_una + c->sq_bytes + (c->fin_queued ? 1 : 0);
			uint32_t unsent = SEQ_GT(end, c->snd_max) ? end - c->snd_max : 0;

			thresh = oseg < 4 && (unsent == 0 ||
					      SEQ_GT(c->snd_max, c->snd_una + c->snd_wnd))
					 ? max32(oseg - 1, 1)
					 : 3;
		}
		if (c->in_recovery) {
			/* A segment left the network: a hole goes, else new data may. */
			if (!retransmit_hole(c))
				c->cwnd += c->mss;
		} else if ((c->dupacks >= thresh || sack_bytes(c) >= thresh * c->mss) &&
			   SEQ_GT(c->snd_una, c->recover)) {
			/* RFC 6582: enter fast recovery. */
			c->limited = 0;
			c->recover = c->snd_max;
			c->ssthresh = max32(flight / 2, 2u * c->mss);
			retransmit_first(c);
			c->rexmit_nxt = c->snd_una + c->mss;
			t->n->st->tcp_fast_retrans++;
			c->cwnd = c->ssthresh + 3u * c->mss;
			c->in_recovery = true;
		} else if (c->dupacks <= 2) {
			/* RFC 3042: a new segment for each of the first two duplicates. */
			c->limited = c->dupacks;
		}
		want_output(c);
		return true;
	}

	/* New data acknowledged. */
	{
		uint32_t acked = s->ack - c->snd_una;
		uint32_t bytes = acked;

		if (c->fin_queued && SEQ_GT(s->ack, c->fin_seq))
			bytes--; /* the FIN's sequence number holds no byte */
		if (bytes > c->sq_bytes)
			bytes = c->sq_bytes;
		if (c->timing && SEQ_GT(s->ack, c->rtt_seq))
			rtt_sample(c);
		sq_ack(c, bytes);
		c->snd_una = s->ack;
		if (c->nsacked > 0)
			sack_prune(c);
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		c->snd_wnd = wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
		c->retries = 0;
		c->limited = 0;
		/* Backoff ends with new data acknowledged (RFC 6298 5.7). */
		if (c->srtt_us != 0)
			rto_update(c);
		if (c->in_recovery) {
			if (SEQ_GEQ(s->ack, c->recover)) {
				/* Full ACK: deflate. */
				c->cwnd = min32(c->ssthresh,
						max32(c->snd_max - c->snd_una, c->mss) + c->mss);
				c->in_recovery = false;
				c->dupacks = 0;
			} else {
				/* Partial ACK: the next hole, and stay. */
				if (c->nsacked == 0 || SEQ_GEQ(c->snd_una, c->rexmit_nxt))
					retransmit_first(c);
				else
					retransmit_hole(c);
				if (SEQ_LT(c->rexmit_nxt, c->snd_una + c->mss))
					c->rexmit_nxt = c->snd_una + c->mss;
				c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
				c->cwnd += c->mss;
				if (c->cwnd < c->mss)
					c->cwnd = c->mss;
			}
		} else {
			c->dupacks = 0;
			if (c->cwnd < c->ssthresh)
				c->cwnd += min32(acked, c->mss); /* slow start */
			else
				c->cwnd +=
					max32(1, (uint32_t)((uint64_t)c->mss * c->mss / c->cwnd));
		}
		if (c->snd_una == c->snd_max) {
			if (!c->persist)
				timer_set(c, T_RTO, 0);
		} else {
			rto_arm(c);
		}
		if (c->persist && wnd > 0) {
			c->persist = false;
			timer_set(c, T_RTO, 0);
		}
		want_output(c);
	}

	/* Our FIN acknowledged? */
	if (c->fin_queued && SEQ_GT(c->snd_una, c->fin_seq)) {
		switch (c->state) {
		case ST_FIN_WAIT_1:
			c->state = ST_FIN_WAIT_2;
			timer_set(c, T_RTO, 0);
			/* Half-closed peers get as long as a keepalive would give them. */
			timer_set(c, T_KEEP, t->now_ms + t->lim.keepintvl_ms);
			break;
		case ST_CLOSING:
			enter_time_wait(c);
			return false;
		case ST_LAST_ACK:
			conn_kill(c);
			return false;
		default:
			break;
		}
	}
	return true;
}

/* A segment for a connection (RFC 9293 3.10.7.4, without SYN_RECEIVED). */
static void conn_input(struct wc_tcp_conn *c, struct seg *s)
{
	struct wc_tcp *t = c->t;
	struct wc_lcore_stats *st = t->n->st;
	uint32_t wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t slen = s->len + ((s->flags & F_FIN) ? 1 : 0);
	bool ok;

	c->last_rx_ms = t->now_ms;
	if (c->state == ST_TIME_WAIT) {
		if (s->flags & (F_RST | F_SYN)) { /* RFC 1337: no RST kills TIME_WAIT */
			st->drop_tcp_no_conn++;
			rte_pktmbuf_free(s->m);
			return;
		}
		/* A retransmitted FIN: acknowledge again, and wait anew. */
		if (s->flags & F_FIN) {
			send_ack(c);
			timer_set(c, T_TW, t->now_ms + t->lim.time_wait_ms);
		}
		rte_pktmbuf_free(s->m);
		return;
	}

	/* 1. sequence number acceptable? */
	if (slen == 0)
		ok = wnd == 0 ? s->seq == c->rcv_nxt
			      : SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + wnd);
	else
		ok = wnd > 0 &&
		     ((SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + wnd)) ||
		      (SEQ_GEQ(s->seq + slen - 1, c->rcv_nxt) &&
		       SEQ_LT(s->seq + slen - 1, c->rcv_nxt + wnd)));
	/* A zero window still takes ACKs, RSTs and FINs at rcv_nxt. */
	if (!ok && wnd == 0 && s->seq == c->rcv_nxt)
		ok = true;
	if (!ok) {
		if (!(s->flags & F_RST)) {
			c->ack_now = true;
			want_output(c);
		}
		st->drop_tcp_window++;
		rte_pktmbuf_free(s->m);
		return;
	}

	/* 2. RST: exactly at rcv_nxt, else a challenge ACK (RFC 5961). */
	if (s->flags & F_RST) {
		if (s->seq == c->rcv_nxt) {
			st->tcp_resets_in++;
			conn_kill(c);
		} else {
			st->tcp_challenge_acks++;
			c->ack_now = true;
			want_output(c);
		}
		rte_pktmbuf_free(s->m);
		return;
	}
	/* 4. SYN in a synchronized state: challenge ACK. */
	if (s->flags & F_SYN) {
		st->tcp_challenge_acks++;
		c->ack_now = true;
		want_output(c);
		rte_pktmbuf_free(s->m);
		return;
	}
	if (!(s->flags & F_ACK)) {
		st->drop_tcp_malformed++;
		rte_pktmbuf_free(s->m);
		return;
	}
	/* 5. ACK */
	if (!ack_input(c, s) || c->state == ST_CLOSED || c->state == ST_TIME_WAIT) {
		rte_pktmbuf_free(s->m);
		return;
	}
	/* ACKs made room: the application may take what waits. */
	if (c->was_held_snd && c->sq_bytes < t->lim.snd_buf) {
		c->was_held_snd = false;
		app_pump(c);
	} else if (c->state == ST_CLOSE_WAIT) {
		fin_if_done(c);
	}
	if (c->state == ST_CLOSED) {
		rte_pktmbuf_free(s->m);
		return;
	}

	/* 7. data */
	if (c->peer_fin) {
		rte_pktmbuf_free(s->m);
		return;
	}
	if (s->len > 0 || (s->flags & F_FIN)) {
		if (SEQ_GT(s->seq, c->rcv_nxt)) {
			/*
			 * A hole before it: queue it, and tell the peer at once,
			 * one duplicate ACK per segment (RFC 5681 4.2), with SACK
			 * blocks when it takes them.
			 */
			if (SEQ_GT(s->seq + s->len, c->rcv_nxt + wnd)) {
				st->drop_tcp_window++;
				rte_pktmbuf_free(s->m);
			} else {
				ooo_insert(c, s);
			}
			send_ack(c);
			return;
		}
		/* Trim what we have already, and what lies past the window. */
		{
			uint32_t skip = c->rcv_nxt - s->seq;
			uint32_t len = s->len > skip ? s->len - skip : 0;
			bool fin = (s->flags & F_FIN) != 0;
			bool had_ooo = c->nooo > 0;

			if (len > wnd) {
				len = wnd;
				fin = false;
			}
			if (len > 0) {
				c->rcv_nxt += len;
				if (rx_mbuf(c, s->m, s->off + skip, len) != 0) {
					st->drop_tcp_rcvbuf++;
					send_rst(c);
					conn_kill(c);
					rte_pktmbuf_free(s->m);
					return;
				}
				if (c->state == ST_CLOSED) {
					rte_pktmbuf_free(s->m);
					return;
				}
				/* Every second segment is acknowledged at once. */
				if (++c->unacked >= 2)
					c->ack_now = true;
				else if (c->tmo[T_DELACK] == 0)
					timer_set(c, T_DELACK, t->now_ms + WC_TCP_DELACK_MS);
			}
			if (fin && s->seq + s->len == c->rcv_nxt)
				peer_fin(c);
			if (had_ooo) {
				c->ack_now = true;
				ooo_pull(c);
			}
			want_output(c);
		}
	}
	rte_pktmbuf_free(s->m);
}

/* Parse SYN options: the peer's MSS and window scale (-1 = none). */
static void syn_options(const uint8_t *o, uint32_t len, uint16_t *mss, int *ws, bool *sack)
{
	const uint8_t *p;

	*mss = 536;
	*ws = -1;
	*sack = false;
	for (uint32_t at = 0; (p = opt_next(o, len, &at)) != NULL;) {
		if (p[0] == 2 && p[1] == 4)
			*mss = (uint16_t)(p[2] << 8 | p[3]);
		else if (p[0] == 3 && p[1] == 3)
			*ws = p[2] > 14 ? 14 : p[2];
		else if (p[0] == 4 && p[1] == 2)
			*sack = true;
	}
}

static void syn_input(struct wc_tcp *t, struct seg *s, uint32_t rip, uint16_t rport, uint16_t lport,
		      const struct rte_ether_addr *src, uint16_t vlan, const uint8_t *opts,
		      uint32_t optlen)
{
	struct wc_net *n = t->n;
	unsigned int mss_idx = 0, ws_code;
	uint8_t o[12];
	uint8_t olen = 4;
	uint16_t mss;
	int ws;
	bool sack;
	uint32_t cookie;

	syn_options(opts, optlen, &mss, &ws, &sack);
	for (unsigned int i = 0; i < RTE_DIM(mss_table); i++)
		if (mss_table[i] <= mss)
			mss_idx = i;
	ws_code = ws < 0 ? 0 : (unsigned int)ws + 1;
	cookie =
		cookie_make(t, t->now_ms / 1000, rip, rport, lport, s->seq, mss_idx, ws_code, sack);
	o[0] = 2;
	o[1] = 4;
	o[2] = WC_TCP_MSS >> 8;
	o[3] = WC_TCP_MSS & 0xff;
	if (ws >= 0) {
		o[4] = 1;
		o[5] = 3;
		o[6] = 3;
		o[7] = WC_TCP_WSCALE;
		olen = 8;
	}
	if (sack) {
		o[olen] = 1;
		o[olen + 1] = 1;
		o[olen + 2] = 4;
		o[olen + 3] = 2;
		olen = (uint8_t)(olen + 4);
	}
	send_raw(n, src, vlan, rip, lport, rport, cookie, s->seq + 1, F_SYN | F_ACK,
		 (uint16_t)min32(t->lim.rcv_buf, 65535), o, olen);
	n->st->tcp_syn_cookies++;
	rte_pktmbuf_free(s->m);
}

static void reset_reply(struct wc_net *n, const struct seg *s, uint32_t rip, uint16_t rport,
			uint16_t lport, const struct rte_ether_addr *src, uint16_t vlan)
{
	if (s->flags & F_RST)
		return;
	if (s->flags & F_ACK)
		send_raw(n, src, vlan, rip, lport, rport, s->ack, 0, F_RST, 0, NULL, 0);
	else
		send_raw(n, src, vlan, rip, lport, rport, 0,
			 s->seq + s->len + ((s->flags & F_SYN) ? 1 : 0) +
				 ((s->flags & F_FIN) ? 1 : 0),
			 F_RST | F_ACK, 0, NULL, 0);
	n->st->tcp_resets_out++;
}

/* An ACK that may complete a handshake (SYN cookie). */
static void cookie_ack(struct wc_tcp *t, struct seg *s, const struct listener *l, uint32_t rip,
		       uint16_t rport, uint16_t lport, const struct rte_ether_addr *src,
		       uint16_t vlan)
{
	struct wc_net *n = t->n;
	unsigned int mss_idx, ws_code;
	struct wc_tcp_conn *c;
	bool sack;

	if (!cookie_check(t, t->now_ms / 1000, rip, rport, lport, s->seq - 1, s->ack - 1, &mss_idx,
			  &ws_code, &sack)) {
		n->st->drop_tcp_cookie++;
		/* Data may have overtaken the handshake's ACK: no RST for it. */
		if (s->len == 0 && !(s->flags & F_FIN))
			reset_reply(n, s, rip, rport, lport, src, vlan);
		rte_pktmbuf_free(s->m);
		return;
	}
	if (t->nconns >= t->lim.max_conns || (c = conn_new(t, rip, rport, lport)) == NULL) {
		n->st->tcp_conn_limit++;
		reset_reply(n, s, rip, rport, lport, src, vlan);
		rte_pktmbuf_free(s->m);
		return;
	}
	c->rmac = *src;
	c->vlan_tci = vlan;
	c->state = ST_ESTABLISHED;
	c->mss = min32(mss_table[mss_idx], WC_TCP_MSS);
	c->snd_wscale = ws_code > 0 ? (uint8_t)(ws_code - 1) : 0;
	c->rcv_wscale = ws_code > 0 ? WC_TCP_WSCALE : 0;
	c->sack_ok = sack;
	c->snd_una = c->snd_nxt = c->snd_max = s->ack;
	c->snd_wnd = (uint32_t)s->wnd << c->snd_wscale;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	c->cwnd = 10u * c->mss;
	c->ssthresh = UINT32_MAX / 2;
	c->recover = s->ack - 1;
	c->rto_ms = WC_TCP_RTO_INIT_MS;
	c->rcv_nxt = s->seq;
	/* The SYN-ACK offered min(rcv_buf, 65535) unscaled. */
	c->rcv_adv = s->seq + min32(t->lim.rcv_buf, 65535);
	c->last_rx_ms = t->now_ms;
	c->lst = l;
	n->st->tcp_accepted++;
	timer_set(c, T_KEEP, t->now_ms + t->lim.keepalive_ms);
	c->app = l->ops->on_accept(l->arg, c);
	if (c->app == NULL) {
		c->lst = NULL;
		send_rst(c);
		conn_kill(c);
		rte_pktmbuf_free(s->m);
		return;
	}
	conn_input(c, s);
}

void wc_tcp_input(struct wc_net *n, struct rte_mbuf *m, uint16_t l3, uint32_t src_ip,
		  uint32_t dst_ip, const struct rte_ether_addr *src, uint16_t vlan_tci)
{
	struct wc_tcp *t = n->tcp;
	uint32_t off = (uint32_t)l3 + IP_LEN, len = m->pkt_len - off;
	uint8_t hbuf[60];
	const uint8_t *h;
	struct wc_tcp_conn *c;
	const struct listener *l = NULL;
	uint16_t rport, lport, hlen;
	struct seg s;
	uint64_t rx;

	n->st->tcp_segs_in++;
	t->now_ms = now_ms(t);
	h = len >= TCP_LEN ? rte_pktmbuf_read(m, off, TCP_LEN, hbuf) : NULL;
	if (unlikely(h == NULL)) {
		n->st->drop_tcp_malformed++;
		rte_pktmbuf_free(m);
		return;
	}
	hlen = (uint16_t)((h[12] >> 4) * 4);
	if (unlikely(hlen < TCP_LEN || hlen > len)) {
		n->st->drop_tcp_malformed++;
		rte_pktmbuf_free(m);
		return;
	}
	rx = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (rx == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
		n->st->drop_tcp_checksum++;
		rte_pktmbuf_free(m);
		return;
	}
	if (rx != RTE_MBUF_F_RX_L4_CKSUM_GOOD && rx != RTE_MBUF_F_RX_L4_CKSUM_NONE) {
		uint16_t raw = 0;
		uint32_t sum;

		wc_net_cksum(m, off, len, &raw);
		sum = (uint32_t)raw + (src_ip >> 16) + (src_ip & 0xffff) + (dst_ip >> 16) +
		      (dst_ip & 0xffff) + rte_cpu_to_be_16(IPPROTO_TCP) +
		      rte_cpu_to_be_16((uint16_t)len);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		if (sum != 0xffff) {
			n->st->drop_tcp_checksum++;
			rte_pktmbuf_free(m);
			return;
		}
	}
	h = rte_pktmbuf_read(m, off, hlen, hbuf);
	memcpy(&rport, h, 2);
	memcpy(&lport, h + 2, 2);
	s.seq = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
	s.ack = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11];
	s.flags = h[13] & 0x3f;
	s.wnd = (uint16_t)(h[14] << 8 | h[15]);
	s.off = off + hlen;
	s.len = len - hlen;
	s.m = m;
	s.opts = h + TCP_LEN;
	s.optlen = (uint8_t)(hlen - TCP_LEN);
	if (unlikely((s.flags & F_SYN) && (s.flags & (F_FIN | F_RST)))) {
		n->st->drop_tcp_malformed++;
		rte_pktmbuf_free(m);
		return;
	}

	c = conn_find(t, src_ip, rport, lport);
	/* A new SYN above a TIME_WAIT's sequence takes the tuple over. */
	if (c != NULL && c->state == ST_TIME_WAIT && (s.flags & F_SYN) && !(s.flags & F_ACK) &&
	    SEQ_GT(s.seq, c->rcv_nxt)) {
		conn_release(c);
		c = NULL;
	}
	if (c != NULL && c->state != ST_CLOSED) {
		conn_input(c, &s);
		return;
	}
	for (unsigned int i = 0; i < WC_TCP_LISTENERS; i++)
		if (t->lst[i].port != 0 && t->lst[i].port == lport)
			l = &t->lst[i];
	if (l == NULL) {
		n->st->drop_tcp_port++;
		reset_reply(n, &s, src_ip, rport, lport, src, vlan_tci);
		rte_pktmbuf_free(m);
		return;
	}
	if (s.flags & F_RST) {
		n->st->drop_tcp_no_conn++;
		rte_pktmbuf_free(m);
		return;
	}
	if ((s.flags & (F_SYN | F_ACK)) == F_SYN) {
		syn_input(t, &s, src_ip, rport, lport, src, vlan_tci, h + TCP_LEN,
			  (uint32_t)hlen - TCP_LEN);
		return;
	}
	if ((s.flags & (F_SYN | F_ACK)) == F_ACK) {
		cookie_ack(t, &s, l, src_ip, rport, lport, src, vlan_tci);
		return;
	}
	n->st->drop_tcp_no_conn++;
	reset_reply(n, &s, src_ip, rport, lport, src, vlan_tci);
	rte_pktmbuf_free(m);
}

/* ---- timers ---- */

static void on_timers(struct wc_tcp_conn *c)
{
	struct wc_tcp *t = c->t;
	struct wc_lcore_stats *st = t->n->st;
	uint64_t now = t->now_ms;

	if (c->tmo[T_TW] != 0 && c->tmo[T_TW] <= now) {
		c->tmo[T_TW] = 0;
		conn_kill(c);
		return;
	}
	if (c->tmo[T_DELACK] != 0 && c->tmo[T_DELACK] <= now) {
		c->tmo[T_DELACK] = 0;
		c->ack_now = true;
		want_output(c);
	}
	if (c->tmo[T_RTO] != 0 && c->tmo[T_RTO] <= now) {
		c->tmo[T_RTO] = 0;
		if (c->persist) {
			/* Zero window probe: a byte-less segment below snd_una draws an ACK. */
			xmit(c, c->snd_una - 1, 0, 0);
			st->tcp_zero_window_probes++;
			c->rto_ms = min32(c->rto_ms * 2, WC_TCP_RTO_MAX_MS);
			c->persist = false;
			want_output(c);
		} else if (c->snd_una != c->snd_max) {
			if (++c->retries > WC_TCP_RETRIES) {
				st->tcp_timeouts++;
				send_rst(c);
				conn_kill(c);
				return;
			}
			st->tcp_rto++;
			/* A receiver may renege on SACKs (RFC 2018): trust them for one RTO. */
			if (c->retries > 1)
				c->nsacked = 0;
			c->ssthresh = max32((c->snd_max - c->snd_una) / 2, 2u * c->mss);
			c->cwnd = c->mss;
			c->recover = c->snd_max;
			c->in_recovery = false;
			c->dupacks = 0;
			c->limited = 0;
			c->timing = false;
			c->snd_nxt = c->snd_una;
			c->rto_ms = min32(c->rto_ms * 2, WC_TCP_RTO_MAX_MS);
			want_output(c);
		}
	}
	if (c->tmo[T_KEEP] != 0 && c->tmo[T_KEEP] <= now) {
		uint64_t idle = now - c->last_rx_ms;
		uint32_t first =
			c->state == ST_FIN_WAIT_2 ? t->lim.keepintvl_ms : t->lim.keepalive_ms;

		c->tmo[T_KEEP] = 0;
		if (idle < first) {
			c->tmo[T_KEEP] = c->last_rx_ms + first;
			c->retries = c->snd_una == c->snd_max ? 0 : c->retries;
		} else if (c->state == ST_FIN_WAIT_2 ||
			   idle >= first + (uint64_t)WC_TCP_KEEPCNT * t->lim.keepintvl_ms) {
			st->tcp_timeouts++;
			send_rst(c);
			conn_kill(c);
			return;
		} else {
			xmit(c, c->snd_una - 1, 0, 0);
			st->tcp_keepalive_probes++;
			c->tmo[T_KEEP] = now + t->lim.keepintvl_ms;
		}
	}
	timer_update(c);
}

static unsigned int run_timers(struct wc_tcp *t)
{
	uint64_t now = t->now_ms;
	unsigned int fired = 0;
	uint64_t from = t->wheel_ms + 1;

	if (now < from)
		return 0;
	if (now - from >= WHEEL_SLOTS)
		from = now - WHEEL_SLOTS + 1;
	for (uint64_t ms = from; ms <= now; ms++) {
		struct conn_list *slot = &t->wheel[ms & (WHEEL_SLOTS - 1)];
		struct conn_list due = TAILQ_HEAD_INITIALIZER(due);
		struct wc_tcp_conn *c, *next;

		TAILQ_INIT(&due);
		for (c = TAILQ_FIRST(slot); c != NULL; c = next) {
			next = TAILQ_NEXT(c, tq);
			if (c->deadline <= now) {
				TAILQ_REMOVE(slot, c, tq);
				c->in_wheel = false;
				TAILQ_INSERT_TAIL(&due, c, tq);
			}
		}
		t->wheel_ms = ms;
		while ((c = TAILQ_FIRST(&due)) != NULL) {
			TAILQ_REMOVE(&due, c, tq);
			c->deadline = 0;
			fired++;
			on_timers(c);
		}
	}
	t->wheel_ms = now;
	return fired;
}

unsigned int wc_tcp_poll(struct wc_net *n)
{
	struct wc_tcp *t = n->tcp;
	unsigned int work = 0;
	struct wc_tcp_conn *c;

	if (t == NULL)
		return 0;
	t->now_ms = now_ms(t);
	if (t->hook != NULL)
		work += t->hook(t->hook_arg);
	if (t->now_ms != t->wheel_ms)
		work += run_timers(t);
	while ((c = TAILQ_FIRST(&t->outq)) != NULL) {
		TAILQ_REMOVE(&t->outq, c, oq);
		c->on_outq = false;
		if (c->state == ST_CLOSED)
			conn_release(c);
		else
			work += output(c);
	}
	return work;
}

/* ---- the application interface ---- */

int wc_tcp_write(struct wc_tcp_conn *c, const void *buf, size_t len)
{
	struct wc_out o;

	if (c->app_closed || c->fin_queued || c->state == ST_CLOSED)
		return -EPIPE;
	wc_tcp_out_begin(c, &o);
	wc_out_put(&o, buf, len);
	wc_tcp_out_end(c, &o);
	return o.overflow ? -ENOBUFS : 0;
}

/* Book the bytes written in the tail mbuf's window. */
static void out_commit(struct wc_tcp_conn *c, struct wc_out *o)
{
	struct rte_mbuf *m = c->sq_tail;

	if (m != NULL && o->p != NULL) {
		uint32_t len = (uint32_t)(o->p - rte_pktmbuf_mtod(m, uint8_t *));

		c->sq_bytes += len - m->data_len;
		m->data_len = (uint16_t)len;
		m->pkt_len = len;
	}
}

static int out_more(struct wc_out *o)
{
	struct wc_tcp_conn *c = o->priv;
	struct rte_mbuf *m;

	out_commit(c, o);
	m = sq_grow(c);
	if (m == NULL)
		return -ENOBUFS;
	o->p = rte_pktmbuf_mtod(m, uint8_t *);
	o->end = o->p + rte_pktmbuf_tailroom(m);
	return 0;
}

void wc_tcp_out_begin(struct wc_tcp_conn *c, struct wc_out *o)
{
	struct rte_mbuf *m = c->sq_tail;

	o->more = out_more;
	o->priv = c;
	o->written = 0;
	o->limit = SIZE_MAX;
	o->overflow = c->fin_queued || c->state == ST_CLOSED;
	if (m != NULL) {
		o->p = rte_pktmbuf_mtod_offset(m, uint8_t *, m->data_len);
		o->end = o->p + rte_pktmbuf_tailroom(m);
	} else {
		o->p = o->end = NULL;
	}
}

void wc_tcp_out_end(struct wc_tcp_conn *c, struct wc_out *o)
{
	out_commit(c, o);
	if (o->written > 0)
		want_output(c);
}

int wc_tcp_write_mbufs(struct wc_tcp_conn *c, struct rte_mbuf *list)
{
	if (c->app_closed || c->fin_queued || c->state == ST_CLOSED) {
		wc_mbuf_list_free(list);
		return -EPIPE;
	}
	while (list != NULL) {
		struct rte_mbuf *next = list->next;

		list->next = NULL;
		list->nb_segs = 1;
		list->pkt_len = list->data_len;
		if (list->data_len == 0) {
			rte_pktmbuf_free(list);
		} else {
			if (c->sq_tail != NULL)
				c->sq_tail->next = list;
			else
				c->sq_head = list;
			c->sq_tail = list;
			c->sq_bytes += list->data_len;
			c->sq_mbufs++;
			c->t->mbufs_used++;
		}
		list = next;
	}
	want_output(c);
	return 0;
}

void wc_tcp_set_poll_hook(struct wc_net *n, unsigned int (*fn)(void *arg), void *arg)
{
	n->tcp->hook = fn;
	n->tcp->hook_arg = arg;
}

void *wc_tcp_poll_hook_arg(const struct wc_net *n)
{
	return n->tcp->hook_arg;
}

size_t wc_tcp_queued(const struct wc_tcp_conn *c)
{
	return c->sq_bytes;
}

bool wc_tcp_writable(const struct wc_tcp_conn *c)
{
	return c->sq_bytes < c->t->lim.snd_buf;
}

void wc_tcp_close(struct wc_tcp_conn *c)
{
	if (c->fin_queued || c->state == ST_CLOSED || c->state == ST_TIME_WAIT)
		return;
	c->app_closed = true;
	c->fin_queued = true;
	c->fin_seq = c->snd_una + c->sq_bytes;
	if (c->state == ST_ESTABLISHED)
		c->state = ST_FIN_WAIT_1;
	else if (c->state == ST_CLOSE_WAIT)
		c->state = ST_LAST_ACK;
	/* Nothing more will be read: the buffered requests are dropped. */
	if (!c->in_app)
		c->rlen = c->roff = 0;
	want_output(c);
}

void wc_tcp_abort(struct wc_tcp_conn *c)
{
	if (c->state == ST_CLOSED)
		return;
	if (c->state != ST_TIME_WAIT)
		send_rst(c);
	c->app_closed = true;
	conn_kill(c);
}

void *wc_tcp_priv(struct wc_tcp_conn *c)
{
	return c->priv;
}

void wc_tcp_hold(struct wc_tcp_conn *c, bool hold)
{
	c->held = hold;
	if (!hold && c->state != ST_CLOSED && !c->in_app) {
		app_pump(c);
		want_output(c);
	}
}

void wc_tcp_peer(const struct wc_tcp_conn *c, uint32_t *ip, uint16_t *port)
{
	*ip = c->rip;
	*port = c->rport;
}

struct wc_net *wc_tcp_net(const struct wc_tcp_conn *c)
{
	return c->t->n;
}

uint32_t wc_tcp_conns(const struct wc_net *n)
{
	return n->tcp != NULL ? n->tcp->nconns : 0;
}

int wc_tcp_listen(struct wc_net *n, uint16_t port, const struct wc_tcp_ops *ops, void *arg)
{
	struct wc_tcp *t = n->tcp;
	uint16_t be = rte_cpu_to_be_16(port);
	int free_slot = -1;

	if (t == NULL)
		return -ENODEV;
	for (int i = 0; i < WC_TCP_LISTENERS; i++) {
		if (t->lst[i].port == be)
			return -EEXIST;
		if (t->lst[i].port == 0 && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -ENOSPC;
	t->lst[free_slot].ops = ops;
	t->lst[free_slot].arg = arg;
	t->lst[free_slot].port = be;
	return 0;
}

int wc_tcp_create(struct wc_net *n, const struct wc_tcp_limits *lim)
{
	struct wc_tcp *t;
	uint32_t nb = 1;

	t = rte_zmalloc("wc_tcp", sizeof(*t), RTE_CACHE_LINE_SIZE);
	if (t == NULL)
		return -ENOMEM;
	t->n = n;
	if (lim != NULL)
		t->lim = *lim;
	if (t->lim.max_conns == 0)
		t->lim.max_conns = 4096;
	if (t->lim.rcv_buf == 0)
		t->lim.rcv_buf = (1u << 20) + 65536;
	if (t->lim.snd_buf == 0)
		t->lim.snd_buf = 256u << 10;
	if (t->lim.mem == 0)
		t->lim.mem = 256ull << 20;
	if (t->lim.keepalive_ms == 0)
		t->lim.keepalive_ms = WC_TCP_KEEPALIVE_MS;
	if (t->lim.keepintvl_ms == 0)
		t->lim.keepintvl_ms = WC_TCP_KEEPINTVL_MS;
	if (t->lim.time_wait_ms == 0)
		t->lim.time_wait_ms = WC_TCP_TIME_WAIT_MS;
	/* The scaled window must be able to say rcv_buf. */
	if (t->lim.rcv_buf > (65535u << WC_TCP_WSCALE))
		t->lim.rcv_buf = 65535u << WC_TCP_WSCALE;
	/* Queues never take more than a quarter of the pool: RX must go on. */
	t->mbufs_max = n->pool != NULL ? n->pool->size / 4 : 1024;
	while (nb < t->lim.max_conns)
		nb <<= 1;
	t->bucket_mask = nb - 1;
	t->buckets = rte_zmalloc("wc_tcp_hash", sizeof(t->buckets[0]) * nb, RTE_CACHE_LINE_SIZE);
	t->conns = rte_zmalloc("wc_tcp_conns", sizeof(t->conns[0]) * t->lim.max_conns,
			       RTE_CACHE_LINE_SIZE);
	if (t->buckets == NULL || t->conns == NULL) {
		rte_free(t->buckets);
		rte_free(t->conns);
		rte_free(t);
		return -ENOMEM;
	}
	for (uint32_t i = t->lim.max_conns; i > 0; i--) {
		t->conns[i - 1].hnext = t->free_list;
		t->free_list = &t->conns[i - 1];
	}
	t->tsc_per_ms = (n->tsc_hz != 0 ? n->tsc_hz : rte_get_tsc_hz()) / 1000;
	if (t->tsc_per_ms == 0)
		t->tsc_per_ms = 1;
	t->now_ms = now_ms(t);
	t->wheel_ms = t->now_ms;
	t->key[0] = rte_rand();
	t->key[1] = rte_rand();
	TAILQ_INIT(&t->outq);
	for (int i = 0; i < WHEEL_SLOTS; i++)
		TAILQ_INIT(&t->wheel[i]);
	n->tcp = t;
	return 0;
}

void wc_tcp_destroy(struct wc_net *n)
{
	struct wc_tcp *t = n->tcp;

	if (t == NULL)
		return;
	for (uint32_t i = 0; i < t->lim.max_conns; i++) {
		struct wc_tcp_conn *c = &t->conns[i];

		if (c->t == t && (c->state != ST_CLOSED || c->on_outq))
			conn_release(c);
	}
	rte_free(t->buckets);
	rte_free(t->conns);
	rte_free(t);
	n->tcp = NULL;
}
