/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the TCP (dataplane/net/tcp.c). The test plays the client:
 * segments are built by hand, with checksum code of the test's own, fed to
 * wc_net_input(), and what the stack sends is read back from a net_ring
 * port's ring after wc_tcp_poll() and wc_net_tx_flush(). Time is the
 * wc_net's now_tsc, moved by the test (1 tick = 1 ns). The application is a
 * line echo: it consumes whole lines and answers "R:<line>" for each.
 * Every test ends by checking that every mbuf went back to the pool.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/net/net.h"
#include "dataplane/net/tcp.h"
#include "eal_helper.h"
#include "tests/support/pool.h"
#include "wire.h"

#define POOL_SIZE 16383
#define MAXF	  70000
#define MAXSEGS	  512

#define IP4(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define OUR_IP	 IP4(10, 200, 66, 1)
#define CLI_IP	 IP4(10, 200, 66, 2)
#define PORT	 11211
#define CLI_PORT 40000
#define MS	 1000000ull /* TSC ticks per ms (tsc_hz = 1e9) */

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t cli_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static struct rte_mempool *pool;
static struct wc_pool_set pool_start; /* the free mbufs at start */
static struct rte_ring *txring;
static uint16_t port_id;
static struct wc_iface ifc;
static struct wc_net *net;
static struct wc_lcore_stats st;

/* ---- the test application ---- */

static struct app_state {
	unsigned int accepts, closes, calls;
	bool refuse;	    /* on_accept returns NULL */
	bool close_on_quit; /* "quit\n" closes */
	size_t got;	    /* bytes consumed */
	char lines[65536];  /* every line consumed, concatenated */
	size_t lines_len;
	struct wc_tcp_conn *conn;
	size_t reply_extra; /* bytes of 'x' added to each reply */
	size_t want_bytes;  /* > 0: wait for this many bytes, consume them, answer "DONE\n" */
} app;

static void *app_accept(void *arg, struct wc_tcp_conn *c)
{
	(void)arg;
	app.accepts++;
	app.conn = c;
	return app.refuse ? NULL : &app;
}

static size_t app_data(void *a, struct wc_tcp_conn *c, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	assert_ptr_equal(a, &app);
	app.calls++;
	if (app.want_bytes > 0) {
		if (len < app.want_bytes)
			return 0;
		for (size_t i = 0; i < app.want_bytes; i++)
			assert_int_equal(buf[i], (uint8_t)(i * 7 + (i >> 11)));
		assert_int_equal(wc_tcp_write(c, "DONE\n", 5), 0);
		app.got += app.want_bytes;
		return app.want_bytes;
	}
	while (off < len && wc_tcp_writable(c)) {
		const uint8_t *nl = memchr(buf + off, '\n', len - off);
		size_t l;

		if (nl == NULL)
			break;
		l = (size_t)(nl - (buf + off)) + 1;
		if (app.lines_len + l <= sizeof(app.lines)) {
			memcpy(app.lines + app.lines_len, buf + off, l);
			app.lines_len += l;
		}
		if (app.close_on_quit && l == 5 && memcmp(buf + off, "quit\n", 5) == 0) {
			wc_tcp_close(c);
			return len;
		}
		assert_int_equal(wc_tcp_write(c, "R:", 2), 0);
		assert_int_equal(wc_tcp_write(c, buf + off, l), 0);
		for (size_t i = 0; i < app.reply_extra; i += 1000) {
			static const char xs[1000] = { [0 ... 999] = 'x' };
			size_t k = app.reply_extra - i < 1000 ? app.reply_extra - i : 1000;

			assert_int_equal(wc_tcp_write(c, xs, k), 0);
		}
		off += l;
	}
	app.got += off;
	return off;
}

static void app_close(void *a, struct wc_tcp_conn *c)
{
	assert_ptr_equal(a, &app);
	app.closes++;
	if (c == app.conn)
		app.conn = NULL;
}

static const struct wc_tcp_ops ops = { app_accept, app_data, app_close };

/* ---- bytes and checksums, independent of the code under test ---- */

static uint32_t pseudo(const uint8_t *ip, size_t l4len)
{
	return sum16(ip + 12, 8, 0) + 6 + (uint32_t)l4len;
}

/* ---- the client's segments ---- */

struct cli {
	uint16_t port;
	uint32_t isn; /* our ISN as the client */
	uint32_t seq; /* next sequence number to send */
	uint32_t ack; /* next byte expected from the server */
	uint16_t win; /* window field we send */
	int wscale;   /* -1: none offered */
	uint32_t irs; /* the server's ISN (cookie) */
};

/* A TCP segment as a frame; returns its length. */
static size_t seg_frame(uint8_t *f, uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags,
			uint16_t win, const uint8_t *opts, size_t optlen, const void *pl,
			size_t plen)
{
	uint8_t *ip = f + 14, *t = ip + 20;
	size_t hl = 20 + optlen, l4 = hl + plen;

	memcpy(f, our_mac, 6);
	memcpy(f + 6, cli_mac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, (uint16_t)(20 + l4));
	put16(ip + 4, 0x1234);
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 6;
	put16(ip + 10, 0);
	put32(ip + 12, CLI_IP);
	put32(ip + 16, OUR_IP);
	put16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
	put16(t, sport);
	put16(t + 2, PORT);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	put16(t + 14, win);
	put16(t + 16, 0);
	put16(t + 18, 0);
	if (optlen > 0)
		memcpy(t + 20, opts, optlen);
	if (plen > 0)
		memcpy(t + hl, pl, plen);
	put16(t + 16, (uint16_t)~fold(sum16(t, l4, pseudo(ip, l4))));
	return 14 + 20 + l4;
}

static struct rte_mbuf *mk(const uint8_t *f, size_t len)
{
	struct rte_mbuf *head = NULL;
	size_t off = 0;

	do {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		size_t k = len - off;

		assert_non_null(m);
		if (k > 2048)
			k = 2048;
		memcpy(rte_pktmbuf_append(m, (uint16_t)k), f + off, k);
		if (head == NULL)
			head = m;
		else
			assert_int_equal(rte_pktmbuf_chain(head, m), 0);
		off += k;
	} while (off < len);
	return head;
}

static void send_frame(const uint8_t *f, size_t len)
{
	struct rte_mbuf *m = mk(f, len);

	wc_net_input(net, &m, 1);
}

/* Send a segment from @p c with its current seq/ack; advances c->seq. */
static void csend(struct cli *c, uint8_t flags, const void *pl, size_t plen)
{
	static uint8_t f[MAXF];

	send_frame(f, seg_frame(f, c->port, c->seq, c->ack, flags, c->win, NULL, 0, pl, plen));
	c->seq += (uint32_t)plen + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
}

/* A segment at an explicit sequence number (c->seq unchanged). */
static void csend_at(struct cli *c, uint32_t seq, uint8_t flags, const void *pl, size_t plen)
{
	static uint8_t f[MAXF];

	send_frame(f, seg_frame(f, c->port, seq, c->ack, flags, c->win, NULL, 0, pl, plen));
}

/* A segment the server sent, parsed. */
struct sseg {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t mss; /* 0: no option */
	int ws;	      /* -1: no option */
	bool sack_ok; /* SACK-permitted */
	unsigned int nsack;
	uint32_t sack[4][2];
	size_t plen;
	uint8_t pl[2048];
	uint16_t nsegs; /* mbufs the frame was made of */
};

static struct sseg out[MAXSEGS];

/* Everything the server sent since the last call; checks every checksum. */
static unsigned int collect(void)
{
	static uint8_t f[MAXF];
	struct rte_mbuf *ms[64];
	unsigned int n = 0, k;

	wc_tcp_poll(net);
	wc_net_tx_flush(net);
	while ((k = rte_ring_dequeue_burst(txring, (void **)ms, 64, NULL)) > 0) {
		for (unsigned int i = 0; i < k; i++) {
			struct rte_mbuf *m = ms[i];
			const uint8_t *p = rte_pktmbuf_read(m, 0, m->pkt_len, f);
			const uint8_t *ip, *t;
			size_t tot, hl;
			struct sseg *s;

			assert_non_null(p);
			if (p != f)
				memcpy(f, p, m->pkt_len);
			assert_true(m->pkt_len >= 54);
			assert_memory_equal(f, cli_mac, 6);
			assert_memory_equal(f + 6, our_mac, 6);
			assert_int_equal(get16(f + 12), 0x0800);
			ip = f + 14;
			tot = get16(ip + 2);
			assert_int_equal(tot + 14, m->pkt_len);
			assert_int_equal(fold(sum16(ip, 20, 0)), 0xffff);
			assert_int_equal(ip[9], 6);
			assert_int_equal(get32(ip + 12), OUR_IP);
			assert_int_equal(get32(ip + 16), CLI_IP);
			t = ip + 20;
			assert_int_equal(fold(sum16(t, tot - 20, pseudo(ip, tot - 20))), 0xffff);
			assert_int_equal(get16(t), PORT);
			assert_true(n < MAXSEGS);
			s = &out[n++];
			memset(s, 0, sizeof(*s));
			s->seq = get32(t + 4);
			s->ack = get32(t + 8);
			s->flags = t[13];
			s->win = get16(t + 14);
			s->ws = -1;
			hl = (size_t)(t[12] >> 4) * 4;
			for (size_t o = 20; o < hl;) {
				if (t[o] == 1) {
					o++;
					continue;
				}
				if (t[o] == 0)
					break;
				if (t[o] == 2)
					s->mss = get16(t + o + 2);
				if (t[o] == 3)
					s->ws = t[o + 2];
				if (t[o] == 4)
					s->sack_ok = true;
				if (t[o] == 5)
					for (size_t b = 2; b + 8 <= t[o + 1] && s->nsack < 4;
					     b += 8) {
						s->sack[s->nsack][0] = get32(t + o + b);
						s->sack[s->nsack][1] = get32(t + o + b + 4);
						s->nsack++;
					}
				o += t[o + 1];
			}
			s->plen = tot - 20 - hl;
			assert_true(s->plen <= sizeof(s->pl));
			memcpy(s->pl, t + hl, s->plen);
			s->nsegs = m->nb_segs;
			rte_pktmbuf_free(m);
		}
	}
	return n;
}

/* Open a connection from port @p port with window scale @p ws (-1 none). */
static void open_conn(struct cli *c, uint16_t port, int ws)
{
	static uint8_t f[256];
	uint8_t opts[8] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 0 };
	unsigned int n;

	memset(c, 0, sizeof(*c));
	c->port = port;
	c->isn = 0x10000000u + port;
	c->seq = c->isn;
	c->win = 65535;
	c->wscale = ws;
	opts[7] = (uint8_t)(ws < 0 ? 0 : ws);
	send_frame(f, seg_frame(f, port, c->seq, 0, F_SYN, 65535, opts, ws < 0 ? 4 : 8, NULL, 0));
	c->seq++;
	n = collect();
	assert_int_equal(n, 1);
	assert_int_equal(out[0].flags, F_SYN | F_ACK);
	assert_int_equal(out[0].ack, c->isn + 1);
	assert_int_equal(out[0].mss, 1460);
	assert_int_equal(out[0].ws, ws < 0 ? -1 : 7);
	c->irs = out[0].seq;
	c->ack = c->irs + 1;
	csend(c, F_ACK, NULL, 0);
	assert_int_equal(collect(), 0);
}

/* An ACK from the client with SACK blocks [a, b) (n of them). */
static void csend_sack(struct cli *c, const uint32_t (*blk)[2], unsigned int n)
{
	static uint8_t f[256];
	uint8_t o[36] = { 1, 1, 5, (uint8_t)(2 + 8 * n) };

	for (unsigned int i = 0; i < n; i++) {
		put32(o + 4 + 8 * i, blk[i][0]);
		put32(o + 8 + 8 * i, blk[i][1]);
	}
	send_frame(f, seg_frame(f, c->port, c->seq, c->ack, F_ACK, c->win, o, 4 + 8 * n, NULL, 0));
}

static void advance_ms(uint64_t ms)
{
	/* One millisecond at a time, as the poll loop would see it. */
	for (uint64_t i = 0; i < ms; i++) {
		net->now_tsc += MS;
		wc_tcp_poll(net);
	}
}

/* ---- fixtures ---- */

static int setup_lim(const struct wc_tcp_limits *lim)
{
	memset(&ifc, 0, sizeof(ifc));
	ifc.port_id = port_id;
	memcpy(&ifc.mac, our_mac, 6);
	ifc.ip = rte_cpu_to_be_32(OUR_IP);
	ifc.netmask = rte_cpu_to_be_32(0xffffff00);
	/* net_ring takes chains; test_single_segment_port() says otherwise. */
	ifc.tx_offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	memset(net, 0, sizeof(*net));
	net->ifc = &ifc;
	net->pool = pool;
	net->st = &st;
	net->tsc_hz = 1000000000ull;
	net->now_tsc = 5000000000000ull;
	memset(&st, 0, sizeof(st));
	memset(&app, 0, sizeof(app));
	assert_int_equal(wc_tcp_create(net, lim), 0);
	assert_int_equal(wc_tcp_listen(net, PORT, &ops, NULL), 0);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_lim(NULL);
}

static int setup_small(void **state)
{
	struct wc_tcp_limits lim = { .max_conns = 2,
				     .snd_buf = 4096,
				     .rcv_buf = 8192,
				     .keepalive_ms = 1000,
				     .keepintvl_ms = 100,
				     .time_wait_ms = 500 };

	(void)state;
	return setup_lim(&lim);
}

static int teardown(void **state)
{
	struct rte_mbuf *ms[64];
	unsigned int n;

	(void)state;
	wc_tcp_destroy(net);
	wc_net_tx_flush(net);
	while ((n = rte_ring_dequeue_burst(txring, (void **)ms, 64, NULL)) > 0)
		rte_pktmbuf_free_bulk(ms, n);
	/* Every mbuf back, each once. */
	assert_int_equal(wc_pool_check(pool, &pool_start, NULL), 0);
	return 0;
}

/* ---- tests ---- */

static void test_handshake(void **state)
{
	struct cli c;

	(void)state;
	open_conn(&c, CLI_PORT, 2);
	assert_int_equal(app.accepts, 1);
	assert_int_equal(st.tcp_accepted, 1);
	assert_int_equal(st.tcp_syn_cookies, 1);
	assert_int_equal(wc_tcp_conns(net), 1);
	/* A SYN with no options: a SYN-ACK with MSS only, and no state. */
	{
		static uint8_t f[256];

		send_frame(f, seg_frame(f, CLI_PORT + 1, 1, 0, F_SYN, 1000, NULL, 0, NULL, 0));
	}
	assert_int_equal(collect(), 1);
	assert_int_equal(out[0].flags, F_SYN | F_ACK);
	assert_int_equal(out[0].ack, 2);
	assert_int_equal(out[0].ws, -1);
	assert_int_equal(wc_tcp_conns(net), 1);
}

static void test_no_listener(void **state)
{
	static uint8_t f[256];
	size_t len;

	(void)state;
	len = seg_frame(f, CLI_PORT, 7, 0, F_SYN, 1000, NULL, 0, NULL, 0);
	put16(f + 14 + 20 + 2, 4242); /* another destination port */
	{
		uint8_t *ip = f + 14, *t = ip + 20;

		put16(t + 16, 0);
		put16(t + 16, (uint16_t)~fold(sum16(t, 20, pseudo(ip, 20))));
	}
	send_frame(f, len);
	wc_tcp_poll(net);
	wc_net_tx_flush(net);
	{
		struct rte_mbuf *m = NULL;
		const uint8_t *p;
		uint8_t flags;
		uint32_t ack;

		assert_int_equal(rte_ring_dequeue(txring, (void **)&m), 0);
		p = rte_pktmbuf_read(m, 0, 54, f);
		flags = p[14 + 20 + 13];
		ack = get32(p + 14 + 20 + 8);
		rte_pktmbuf_free(m);
		assert_int_equal(flags, F_RST | F_ACK);
		assert_int_equal(ack, 8);
	}
	assert_int_equal(st.drop_tcp_port, 1);
	assert_int_equal(wc_tcp_conns(net), 0);
}

static void test_data_both_ways(void **state)
{
	struct cli c;
	unsigned int n;

	(void)state;
	open_conn(&c, CLI_PORT, 7);
	csend(&c, F_ACK | F_PSH, "hello\n", 6);
	n = collect();
	assert_int_equal(n, 1);
	assert_int_equal(out[0].plen, 8);
	assert_memory_equal(out[0].pl, "R:hello\n", 8);
	assert_int_equal(out[0].seq, c.irs + 1);
	assert_int_equal(out[0].ack, c.seq);
	assert_true(out[0].flags & F_ACK);
	/* Our window is scaled by 7. */
	assert_true((uint32_t)out[0].win << 7 >= 1u << 20);
	c.ack += 8;
	csend(&c, F_ACK, NULL, 0);
	assert_int_equal(collect(), 0);
	assert_string_equal(app.lines, "hello\n");
}

static void test_split_requests(void **state)
{
	struct cli c;
	char expect[64];
	unsigned int n;

	(void)state;
	open_conn(&c, CLI_PORT, 7);
	csend(&c, F_ACK, "he", 2);
	n = collect();
	assert_int_equal(n, 0); /* first segment: the ACK is delayed */
	csend(&c, F_ACK, "llo\nwor", 7);
	n = collect();
	assert_int_equal(n, 1);
	assert_memory_equal(out[0].pl, "R:hello\n", 8);
	/* Byte by byte. */
	for (const char *p = "ld\nx\n"; *p != '\0'; p++)
		csend(&c, F_ACK, p, 1);
	collect();
	assert_string_equal(app.lines, "hello\nworld\nx\n");
	snprintf(expect, sizeof(expect), "%s", "hello\nworld\nx\n");
	assert_int_equal(app.got, strlen(expect));
}

static void test_delayed_ack(void **state)
{
	struct cli c;

	(void)state;
	open_conn(&c, CLI_PORT, 7);
	csend(&c, F_ACK, "partial", 7);
	assert_int_equal(collect(), 0);
	advance_ms(39);
	assert_int_equal(collect(), 0);
	advance_ms(2);
	assert_int_equal(collect(), 1);
	assert_int_equal(out[0].ack, c.seq);
	assert_int_equal(out[0].plen, 0);
	/* Two segments: acknowledged at once. */
	csend(&c, F_ACK, "aa", 2);
	csend(&c, F_ACK, "bb", 2);
	assert_int_equal(collect(), 1);
	assert_int_equal(out[0].ack, c.seq);
}

static void test_out_of_order(void **state)
{
	struct cli c;
	uint32_t s0;
	unsigned int n;

	(void)state;
	open_conn(&c, CLI_PORT, 7);
	s0 = c.seq;
	csend_at(&c, s0 + 6, F_ACK, "two\n", 4);
	csend_at(&c, s0 + 10, F_ACK, "three\n", 6);
	n = collect();
	/* Each out-of-order segment draws an immediate duplicate ACK. */
	assert_true(n >= 1);
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(out[i].ack, s0);
		assert_int_equal(out[i].plen, 0);
	}
	assert_int_equal(app.lines_len, 0);
	assert_int_equal(st.tcp_ooo, 2);
	/* A duplicate of a queued one is dropped. */
	csend_at(&c, s0 + 6, F_ACK, "two\n", 4);
	collect();
	csend_at(&c, s0, F_ACK, "one\n", 4);
	csend_at(&c, s0 + 4, F_ACK, "xy", 2); /* "one\nxytwo\nthree\n" */
	n = collect();
	assert_string_equal(app.lines, "one\nxytwo\nthree\n");
	assert_true(n >= 1);
	assert_int_equal(out[n - 1].ack, s0 + 16);
}

static void test_rto(void **state)
{
	struct cli c;
	unsigned int n;

	(void)state;
	open_conn(&c, CLI_PORT, 7);
	csend(&c, F_ACK, "a\n", 2);
	n = collect();
	assert_int_equal(n, 1);
	assert_memory_equal(out[0].pl, "R:a\n", 4);
	/* No ACK: the initial RTO is 1 s. */
	advance_ms(999);
	assert_int_equal(collect(), 0);
	advance_ms(2);
	n = collect();
	assert_int_equal(n, 1);
	assert_int_equal(out[0].seq, c.irs + 1);
	assert_memory_equal(out[0].pl, "R:a\n", 4);
	assert_int_equal(st.tcp_rto, 1);
	assert_int_equal(st.tcp_retrans, 1);
	/* Backed off: twice as long (from the first RTO, 1 ms before). */
	advance_ms(1998);
	n = collect();
	assert_int_equal(n, 0);
	advance_ms(2);
	assert_int_equal(collect(), 1);
	assert_int_equal(st.tcp_rto, 2);
	c.ack += 4;
	csend(&c, F_ACK, NULL, 0);
	advance_ms(5000);
	assert_int_equal(collect(), 0);
}

static void test_rto_gives_up(void **state)
{
	struct cli c;

	(void)state;
	open_conn(&c, CLI_PORT, 7);
	csend(&c, F_ACK, "a\n", 2);
	collect();
	for (int i = 0; i < 20 && app.closes == 0; i++) {
		advance_ms(60001);
		collect();
	}
	assert_int_equal(app.closes, 1);
	assert_int_equal(st.tcp_timeouts, 1);
	assert_int_equal(wc_tcp_conns(net), 0);
}

static void test_fast_retransmit(void **state)
{
	struct cli c;
	unsigned int n;
	uint32_t base;

	(void)state;
	open_conn(&c, CLI_PORT, 7);
	app.reply_extra = 8 * 1460;
	csend(&c, F_ACK, "big\n", 4);
	n = collect();
	/* 8 * 1460 + 6 bytes: 9 segments within the initial window of 10. */
	assert_int_equal(n, 9);
	base = c.irs + 1;
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(out[i].seq, base + i * 1460);
	/* The second segment is lost: the client acknowledges the first three times more. */
	c.ack = base + 1460;
	csend(&c, F_ACK, NULL, 0);
	assert_int_equal(collect(), 0);
	csend(&c, F_ACK, NULL, 0);
	csend(&c, F_ACK, NULL, 0);
	assert_int_equal(collect(), 0);
	csend(&c, F_ACK, NULL, 0);
	n = collect();
	assert_true(n >= 1);
	assert_int_equal(out[0].seq, base + 1460);
	assert_int_equal(out[0].plen, 1460);
	assert_int_equal(st.tcp_fast_retrans, 1);
	/* A partial ACK (NewReno): the next hole goes at once. */
	c.ack = base + 3 * 1460;
	csend(&c, F_ACK, NULL, 0);
	n = collect();
	assert_true(n >= 1);
	assert_int_equal(out[0].seq, base + 3 * 1460);
	/* Everything acknowledged: recovery ends, nothing more to send. */
	c.ack = base + 8 * 1460 + 6;
	csend(&c, F_ACK, NULL, 0);
	collect();
	advance_ms(3000);
	assert_int_equal(collect(), 0);
	assert_int_equal(st.tcp_rto, 0);
}

static void test_window_scaling(void **state)
{
	struct cli c;
	unsigned int n;
	size_t bytes = 0;

	(void)state;
	open_conn(&c, CLI_PORT, 2);
	c.win = 1000; /* x4 = 4000 bytes */
	csend(&c, F_ACK, NULL, 0);
	app.reply_extra = 10000;
	csend(&c, F_ACK, "w\n", 2);
	n = collect();
	/* 4000 bytes of window: two full segments; a runt waits for an ACK (SWS). */
	for (unsigned int i = 0; i < n; i++)
		bytes += out[i].plen;
	assert_int_equal(bytes, 2 * 1460);
	/* Without the option the window is not scaled. */
	{
		struct cli d;

		open_conn(&d, CLI_PORT + 1, -1);
		d.win = 1000;
		csend(&d, F_ACK, "w\n", 2);
		n = collect();
		bytes = 0;
		for (unsigned int i = 0; i < n; i++) {
			bytes += out[i].plen;
			/* Unscaled, our window says at most 65535. */
			assert_true(out[i].win <= 65535);
		}
		assert_int_equal(bytes, 1000);
	}
}

static void test_zero_window(void **state)
{
	struct cli c;
	unsigned int n;
	uint32_t base;

	(void)state;
	open_conn(&c, CLI_PORT, 0);
	c.win = 0;
	csend(&c, F_ACK, NULL, 0);
	csend(&c, F_ACK, "z\n", 2);
	n = collect();
	/* Nothing may go: only the ACK of the request. */
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(out[i].plen, 0);
	base = c.irs + 1;
	/* The request is acknowledged (delayed), no data goes. */
	advance_ms(100);
	n = collect();
	assert_int_equal(n, 1);
	assert_int_equal(out[0].plen, 0);
	assert_int_equal(out[0].ack, c.seq);
	/* The persist timer probes the window (initial RTO 1 s). */
	advance_ms(901);
	n = collect();
	assert_int_equal(n, 1);
	assert_int_equal(out[0].plen, 0);
	assert_int_equal(out[0].seq, base - 1);
	assert_int_equal(st.tcp_zero_window_probes, 1);
	/* Still closed: probes back off. */
	csend(&c, F_ACK, NULL, 0);
	advance_ms(2001);
	n = collect();
	assert_int_equal(st.tcp_zero_window_probes, 2);
	/* The window opens: the reply goes. */
	c.win = 100;
	csend(&c, F_ACK, NULL, 0);
	n = collect();
	assert_int_equal(n, 1);
	assert_int_equal(out[0].seq, base);
	assert_memory_equal(out[0].pl, "R:z\n", 4);
	assert_int_equal(st.tcp_rto, 0);
}

/*
 * Open a connection and send @p req, which ends with "quit\n": we answer
 * and close first. The client acknowledges nothing yet; c->ack is past our
 * FIN. @return the segments we sent, in out[].
 */
static unsigned int open_then_quit(struct cli *c, const char *req)
{
	unsigned int n;

	open_conn(c, CLI_PORT, 7);
	app.close_on_quit = true;
	csend(c, F_ACK, req, strlen(req));
	n = collect();
	assert_true(n >= 1);
	assert_true(out[n - 1].flags & F_FIN);
	c->ack = out[n - 1].seq + out[n - 1].plen + 1;
	return n;
}

static void test_active_close_time_wait(void **state)
{
	struct cli c;
	unsigned int n;

	(void)state;
	open_then_quit(&c, "hi\nquit\n");
	/* The reply, then the FIN (in the same segment). */
	assert_memory_equal(out[0].pl, "R:hi\n", 5);
	/* The client acknowledges and closes too. */
	csend(&c, F_ACK | F_FIN, NULL, 0);
	n = collect();
	assert_int_equal(n, 1);
	assert_int_equal(out[0].ack, c.seq);
	assert_int_equal(app.closes, 1);
	/* TIME_WAIT: a retransmitted FIN is acknowledged again. */
	assert_int_equal(wc_tcp_conns(net), 1);
	csend_at(&c, c.seq - 1, F_ACK | F_FIN, NULL, 0);
	assert_int_equal(collect(), 1);
	advance_ms(WC_TCP_TIME_WAIT_MS + 1);
	assert_int_equal(wc_tcp_conns(net), 0);
	assert_int_equal(st.tcp_closed, 1);
}

/*
 * The peer's FIN reaches us out of order while we wait in FIN_WAIT_2: the
 * segment that fills the gap takes the queued ones, the last with the FIN,
 * which moves the connection to TIME_WAIT and frees the queue. Each queued
 * mbuf goes back to the pool once (teardown() checks the pool), and the
 * queue's accounting stays right: TCP still sends on a new connection.
 */
static void test_fin_out_of_order_fin_wait_2(void **state)
{
	struct cli c, d;
	uint32_t s0;
	unsigned int n;

	(void)state;
	open_then_quit(&c, "quit\n");
	/* Our FIN acknowledged: FIN_WAIT_2. */
	csend(&c, F_ACK, NULL, 0);
	collect();
	s0 = c.seq;
	/* Two segments past a gap, the second with the FIN, then the gap. */
	csend_at(&c, s0 + 2, F_ACK, "cd", 2);
	csend_at(&c, s0 + 4, F_ACK | F_FIN, "ef", 2);
	collect();
	assert_int_equal(st.tcp_ooo, 2);
	csend_at(&c, s0, F_ACK, "ab", 2);
	n = collect();
	assert_true(n >= 1);
	/* The FIN acknowledged, past the six bytes. */
	assert_int_equal(out[n - 1].ack, s0 + 7);
	assert_int_equal(app.closes, 1);
	/* TIME_WAIT, then gone. */
	assert_int_equal(wc_tcp_conns(net), 1);
	advance_ms(WC_TCP_TIME_WAIT_MS + 1);
	assert_int_equal(wc_tcp_conns(net), 0);
	/* A new connection is served. */
	open_conn(&d, CLI_PORT + 1, 7);
	csend(&d, F_ACK, "hi\n", 3);
	n = collect();
	assert_true(n >= 1);
	assert_memory_equal(out[0].pl, "R:hi\n", 5);
	assert_int_equal(st.tcp_mem_refused, 0);
}

static void test_passive_close(void **state)
{
	struct cli c;
	unsigned int n;

	(void)state;
	open_conn(&c, CLI_PORT, 7);
	csend(&c, F_ACK | F_FIN, "last\n", 5);
	n = collect();
	assert_true(n >= 1);
	/* The reply to the last request, then our FIN. */
	assert_memory_equal(out[0].pl, "R:last\n", 7);
	assert_true(out[n - 1].flags & F_FIN);
	assert_int_equal(out[n - 1].ack, c.seq);
	c.ack = out[n - 1].seq + out[n - 1].plen + 1;
	csend(&c, F_ACK, NULL, 0);
	collect();
	assert_int_equal(app.closes, 1);
	assert_int_equal(wc_tcp_conns(net), 0);
}

static void test_rst(void **state)
{
	struct cli c;
	unsigned int n;

	(void)state;
	open_conn(&c, CLI_PORT, 7);
	/* Not at rcv_nxt: a challenge ACK, the connection stays. */
	csend_at(&c, c.seq + 100, F_RST, NULL, 0);
	n = collect();
	assert_int_equal(n, 1);
	assert_int_equal(out[0].ack, c.seq);
	assert_int_equal(st.tcp_challenge_acks, 1);
	assert_int_equal(app.closes, 0);
	/* Outside the window: ignored. */
	csend_at(&c, c.seq - 100000, F_RST, NULL, 0);
	assert_int_equal(collect(), 0);
	/* A SYN on the connection: challenge ACK. */
	csend_at(&c, c.seq + 5, F_SYN, NULL, 0);
	assert_int_equal(collect(), 1);
	assert_int_equal(st.tcp_challenge_acks, 2);
	/* At rcv_nxt: the connection is gone. */
	csend_at(&c, c.seq, F_RST, NULL, 0);
	assert_int_equal(collect(), 0);
	assert_int_equal(app.closes, 1);
	assert_int_equal(st.tcp_resets_in, 1);
	assert_int_equal(wc_tcp_conns(net), 0);
	/* Later segments of it: data is dropped silently, a bare ACK draws RST. */
	csend_at(&c, c.seq + 10, F_ACK, "x\n", 2);
	assert_int_equal(collect(), 0);
	csend_at(&c, c.seq + 12, F_ACK, NULL, 0);
	n = collect();
	assert_int_equal(n, 1);
	assert_true(out[0].flags & F_RST);
	assert_int_equal(st.drop_tcp_cookie, 2);
}

static void test_syn_cookies(void **state)
{
	struct cli c;
	static uint8_t f[256];

	(void)state;
	/* A flood of SYNs leaves no state behind. */
	for (unsigned int i = 0; i < 3000; i++) {
		send_frame(f, seg_frame(f, (uint16_t)(1024 + i), i * 7919u, 0, F_SYN, 65535, NULL,
					0, NULL, 0));
		if (i % 64 == 63)
			collect();
	}
	collect();
	assert_int_equal(st.tcp_syn_cookies, 3000);
	assert_int_equal(wc_tcp_conns(net), 0);
	/* A forged ACK: refused, RST. */
	send_frame(f, seg_frame(f, 5555, 100, 0xdeadbeef, F_ACK, 65535, NULL, 0, NULL, 0));
	assert_int_equal(collect(), 1);
	assert_int_equal(out[0].flags, F_RST);
	assert_int_equal(out[0].seq, 0xdeadbeef);
	assert_int_equal(st.drop_tcp_cookie, 1);
	assert_int_equal(wc_tcp_conns(net), 0);
	/* A genuine one still opens, its first segment carrying data too. */
	open_conn(&c, CLI_PORT, 7);
	assert_int_equal(wc_tcp_conns(net), 1);
	/* A cookie goes stale after two 64-second slots. */
	{
		struct cli d;
		uint8_t opts[4] = { 2, 4, 0x05, 0xb4 };

		memset(&d, 0, sizeof(d));
		d.port = 6000;
		d.seq = 77;
		d.win = 65535;
		send_frame(f, seg_frame(f, d.port, d.seq, 0, F_SYN, 65535, opts, 4, NULL, 0));
		d.seq++;
		assert_int_equal(collect(), 1);
		d.ack = out[0].seq + 1;
		net->now_tsc += 200000 * MS;
		csend(&d, F_ACK, "late\n", 5);
		collect();
		assert_int_equal(st.drop_tcp_cookie, 2);
		assert_int_equal(wc_tcp_conns(net), 1);
	}
}

static void test_conn_limit(void **state)
{
	struct cli a, b, c;
	static uint8_t f[256];

	(void)state;
	open_conn(&a, CLI_PORT, 7);
	open_conn(&b, CLI_PORT + 1, 7);
	/* The third: SYN-ACK (no state), then refused at the ACK. */
	memset(&c, 0, sizeof(c));
	c.port = CLI_PORT + 2;
	c.seq = 1000;
	send_frame(f, seg_frame(f, c.port, c.seq, 0, F_SYN, 65535, NULL, 0, NULL, 0));
	c.seq++;
	assert_int_equal(collect(), 1);
	c.ack = out[0].seq + 1;
	c.win = 65535;
	csend(&c, F_ACK, NULL, 0);
	assert_int_equal(collect(), 1);
	assert_true(out[0].flags & F_RST);
	assert_int_equal(st.tcp_conn_limit, 1);
	assert_int_equal(wc_tcp_conns(net), 2);
}

static void test_send_limit(void **state)
{
	struct cli c;
	char req[4096];
	unsigned int n, calls;
	size_t queued;

	(void)state;
	open_conn(&c, CLI_PORT, 0);
	c.win = 0; /* the client does not read */
	csend(&c, F_ACK, NULL, 0);
	app.reply_extra = 1500;
	/* 100 requests, each answered with 1.5 KB. */
	for (int i = 0; i < 100; i++)
		memcpy(req + i * 4, "r%d\n", 4);
	for (int i = 0; i < 100; i++) {
		req[i * 4] = 'r';
		req[i * 4 + 1] = (char)('0' + i / 10);
		req[i * 4 + 2] = (char)('0' + i % 10);
		req[i * 4 + 3] = '\n';
	}
	csend(&c, F_ACK, req, 400);
	collect();
	queued = wc_tcp_queued(app.conn);
	/* Served up to the 4 KB limit and one reply past it, no more. */
	assert_true(queued >= 4096 && queued < 4096 + 1600);
	assert_true(app.got < 400);
	assert_int_equal(st.tcp_snd_held, 1);
	calls = app.calls;
	/* More requests wait in the receive buffer; the application is not called. */
	csend(&c, F_ACK, "more\n", 5);
	collect();
	assert_int_equal(app.calls, calls);
	/* The client reads: the window opens and acknowledgements drain the queue. */
	c.win = 65535;
	for (int i = 0; i < 200 && app.got < 405; i++) {
		csend(&c, F_ACK, NULL, 0);
		n = collect();
		for (unsigned int k = 0; k < n; k++)
			if (out[k].plen > 0 && out[k].seq + out[k].plen - c.ack < 0x80000000u)
				c.ack = out[k].seq + (uint32_t)out[k].plen;
	}
	assert_int_equal(app.got, 405);
}

static void test_keepalive(void **state)
{
	struct cli c;
	unsigned int n;

	(void)state;
	open_conn(&c, CLI_PORT, 7);
	advance_ms(1001);
	n = collect();
	assert_int_equal(n, 1);
	assert_int_equal(out[0].seq, c.irs); /* snd_una - 1 */
	assert_int_equal(st.tcp_keepalive_probes, 1);
	/* An answer keeps it alive. */
	csend(&c, F_ACK, NULL, 0);
	advance_ms(500);
	assert_int_equal(app.closes, 0);
	/* Silence: nine probes, then RST. */
	advance_ms(3000);
	n = collect();
	assert_int_equal(app.closes, 1);
	assert_int_equal(st.tcp_timeouts, 1);
	assert_true(out[n - 1].flags & F_RST);
}

static void test_bad_segments(void **state)
{
	static uint8_t f[256];
	struct cli c;
	size_t len;

	(void)state;
	open_conn(&c, CLI_PORT, 7);
	len = seg_frame(f, CLI_PORT, c.seq, c.ack, F_ACK, 1000, NULL, 0, "x\n", 2);
	f[len - 1] ^= 1; /* checksum no longer matches */
	send_frame(f, len);
	assert_int_equal(collect(), 0);
	assert_int_equal(st.drop_tcp_checksum, 1);
	/* Data offset past the segment. */
	len = seg_frame(f, CLI_PORT, c.seq, c.ack, F_ACK, 1000, NULL, 0, NULL, 0);
	f[14 + 20 + 12] = 0xf0;
	{
		uint8_t *ip = f + 14, *t = ip + 20;

		put16(t + 16, 0);
		put16(t + 16, (uint16_t)~fold(sum16(t, 20, pseudo(ip, 20))));
	}
	send_frame(f, len);
	assert_int_equal(collect(), 0);
	assert_int_equal(st.drop_tcp_malformed, 1);
	/* SYN+RST together. */
	send_frame(f, seg_frame(f, 9999, 1, 0, F_SYN | F_RST, 1000, NULL, 0, NULL, 0));
	assert_int_equal(collect(), 0);
	assert_int_equal(st.drop_tcp_malformed, 2);
	/* An ACK of data never sent: an ACK back, nothing else. */
	csend_at(&c, c.seq, F_ACK, NULL, 0);
	{
		uint32_t a = c.ack;

		c.ack += 5000;
		csend(&c, F_ACK, NULL, 0);
		c.ack = a;
	}
	assert_int_equal(collect(), 1);
	assert_int_equal(st.drop_tcp_ack, 1);
	assert_int_equal(app.closes, 0);
}

/*
 * A 60 KB request in, a 60 KB reply back intact as the client acknowledges
 * it; @p chains: whether the port takes chained mbufs (else every frame must
 * leave as one mbuf). @return frames made of more than one mbuf.
 */
static unsigned int large_transfer(bool chains)
{
	struct cli c;
	static char big[60000];
	unsigned int n, chained = 0;
	size_t got = 0, want;

	open_conn(&c, CLI_PORT, 7);
	/* A 60 KB request line, in 1460-byte segments. */
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	for (size_t off = 0; off < sizeof(big); off += 1460) {
		size_t k = sizeof(big) - off < 1460 ? sizeof(big) - off : 1460;

		csend(&c, F_ACK, big + off, k);
	}
	assert_int_equal(app.got, sizeof(big));
	/* The 60 KB reply comes back intact as the client acknowledges it. */
	want = sizeof(big) + 2;
	for (int i = 0; i < 3000 && got < want; i++) {
		n = collect();
		for (unsigned int k = 0; k < n; k++) {
			uint32_t skip = c.ack - out[k].seq;

			chained += out[k].nsegs > 1;
			if (!chains)
				assert_int_equal(out[k].nsegs, 1);
			/* In order, or overlapping what we have (a retransmission). */
			if (out[k].plen == 0 || skip >= out[k].plen)
				continue;
			for (size_t b = skip; b < out[k].plen; b++) {
				size_t at = got + b - skip;
				uint8_t e = at == 0	     ? 'R'
					    : at == 1	     ? ':'
					    : at == want - 1 ? '\n'
							     : 'a';

				assert_int_equal(out[k].pl[b], e);
			}
			got += out[k].plen - skip;
			c.ack += (uint32_t)out[k].plen - skip;
		}
		csend(&c, F_ACK, NULL, 0);
		advance_ms(1);
	}
	assert_int_equal(got, want);
	assert_int_equal(st.tcp_retrans, 0);
	assert_int_equal(st.tx_dropped, 0);
	return chained;
}

static void test_large_transfer(void **state)
{
	(void)state;
	/* The reply's data rides behind the headers, not copied. */
	assert_true(large_transfer(true) > 0);
}

/*
 * A port that does not take chained mbufs (DPDK 22.11's net_af_xdp) gets
 * every segment as one mbuf, the data copied behind the headers.
 */
static void test_single_segment_port(void **state)
{
	(void)state;
	ifc.tx_offloads &= ~RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	assert_int_equal(large_transfer(false), 0);
}

/*
 * A 900 KB request through a lossy, reordering path: the client sends each
 * flight shuffled, loses some segments, and resends what the server's ACKs
 * say is missing, until the application has the request whole.
 */
static void test_lossy_reassembly(void **state)
{
	enum { SIZE = 900 * 1024, SEG = 1460, NSEG = (SIZE + SEG - 1) / SEG };
	static uint8_t data[SIZE];
	static uint16_t order[NSEG];
	struct cli c;
	uint32_t base, acked;
	unsigned int rounds = 0, n;

	(void)state;
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (uint8_t)(i * 7 + (i >> 11));
	open_conn(&c, CLI_PORT, 7);
	app.want_bytes = SIZE;
	base = c.seq;
	acked = base;
	srand(7);
	while (app.got < SIZE && rounds++ < 2000) {
		uint32_t wnd = 256 * SEG, first = (acked - base) / SEG;
		unsigned int k = 0;

		/* The next flight from the first unacknowledged byte, shuffled. */
		for (uint32_t i = first; i < NSEG && (i - first) * SEG < wnd; i++)
			order[k++] = (uint16_t)i;
		for (unsigned int i = k; i > 1; i--) {
			unsigned int j = (unsigned int)rand() % i;
			uint16_t t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
		for (unsigned int i = 0; i < k; i++) {
			uint32_t off = order[i] * SEG, len = SIZE - off < SEG ? SIZE - off : SEG;

			if (rand() % 100 < 5)
				continue; /* lost */
			csend_at(&c, base + off, F_ACK, data + off, len);
			if (rand() % 100 < 3)
				csend_at(&c, base + off, F_ACK, data + off, len); /* duplicated */
			if (i % 32 == 31) {
				n = collect();
				for (unsigned int j = 0; j < n; j++)
					if ((int32_t)(out[j].ack - acked) > 0)
						acked = out[j].ack;
			}
		}
		advance_ms(50);
		n = collect();
		for (unsigned int j = 0; j < n; j++)
			if ((int32_t)(out[j].ack - acked) > 0)
				acked = out[j].ack;
	}
	assert_int_equal(app.got, SIZE);
	assert_int_equal(acked, base + SIZE);
	assert_true(st.tcp_ooo > 0);
	assert_true(st.drop_tcp_ooo_full > 0);
	/* The answer went, and the connection is healthy. */
	c.seq = base + SIZE;
	c.ack = c.irs + 1 + 5;
	csend(&c, F_ACK, NULL, 0);
	collect();
	assert_int_equal(wc_tcp_queued(app.conn), 0);
}

static void test_sack(void **state)
{
	static uint8_t f[256];
	/* MSS, SACK-permitted, window scale 7. */
	uint8_t opts[12] = { 2, 4, 0x05, 0xb4, 4, 2, 1, 1, 1, 3, 3, 7 };
	struct cli c;
	unsigned int n;
	uint32_t base, blk[1][2];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.port = CLI_PORT;
	c.seq = 1000;
	c.win = 65535;
	send_frame(f, seg_frame(f, c.port, c.seq, 0, F_SYN, 65535, opts, sizeof(opts), NULL, 0));
	c.seq++;
	assert_int_equal(collect(), 1);
	assert_true(out[0].sack_ok);
	c.irs = out[0].seq;
	c.ack = c.irs + 1;
	csend(&c, F_ACK, NULL, 0);
	/* Receiving: an out-of-order segment is acknowledged with its block. */
	csend_at(&c, c.seq + 4, F_ACK, "two\n", 4);
	n = collect();
	assert_int_equal(n, 1);
	assert_int_equal(out[0].ack, c.seq);
	assert_int_equal(out[0].nsack, 1);
	assert_int_equal(out[0].sack[0][0], c.seq + 4);
	assert_int_equal(out[0].sack[0][1], c.seq + 8);
	csend(&c, F_ACK, "one\n", 4);
	c.seq += 4;
	n = collect();
	assert_true(n >= 1);
	assert_int_equal(out[n - 1].ack, c.seq);
	assert_int_equal(out[n - 1].nsack, 0);
	/* Sending: one ACK SACKing three segments past a hole sends the hole at once. */
	/* Everything answered so far acknowledged. */
	app.reply_extra = 8 * 1460;
	c.ack = out[n - 1].seq + (uint32_t)out[n - 1].plen;
	while (collect() > 0)
		;
	csend(&c, F_ACK, "x\n", 2);
	n = collect();
	assert_true(n >= 8);
	base = out[0].seq;
	c.ack = base;
	blk[0][0] = base + 1460;
	blk[0][1] = base + 4 * 1460;
	csend_sack(&c, blk, 1);
	n = collect();
	assert_true(n >= 1);
	assert_int_equal(out[0].seq, base);
	assert_int_equal(st.tcp_fast_retrans, 1);
	assert_int_equal(st.tcp_rto, 0);
}

static void test_refused_by_app(void **state)
{
	struct cli c;
	static uint8_t f[256];

	(void)state;
	app.refuse = true;
	memset(&c, 0, sizeof(c));
	c.port = CLI_PORT;
	c.seq = 5;
	send_frame(f, seg_frame(f, c.port, c.seq, 0, F_SYN, 65535, NULL, 0, NULL, 0));
	c.seq++;
	assert_int_equal(collect(), 1);
	c.ack = out[0].seq + 1;
	c.win = 1000;
	csend(&c, F_ACK, NULL, 0);
	assert_int_equal(collect(), 1);
	assert_true(out[0].flags & F_RST);
	assert_int_equal(wc_tcp_conns(net), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delayed_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rto_gives_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_retransmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_scaling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_close_time_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_out_of_order_fin_wait_2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passive_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_cookies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_limit, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_send_limit, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_bad_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_segment_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lossy_reassembly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_by_app, setup, teardown),
	};
	struct wc_test_port tp;
	int rc;

	if (wc_test_port_start("test_tcp", POOL_SIZE, &tp) != 0)
		return 1;
	pool = tp.pool;
	pool_start = wc_pool_free_set(pool);
	port_id = tp.port_id;
	txring = tp.txring;
	net = calloc(1, sizeof(*net));
	if (net == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(net);
	wc_test_port_stop(&tp);
	return rc;
}
