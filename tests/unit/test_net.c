/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the network stack (dataplane/net). Frames are built by hand
 * here, with checksum code of the test's own, fed to wc_net_input(), and the
 * replies read back from a net_ring port's ring after wc_net_tx_flush().
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
#include "eal_helper.h"
#include "tests/support/pool.h"
#include "wire.h"

#define POOL_SIZE 16383
#define MAXF	  16384

#define IP4(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define OUR_IP	IP4(10, 200, 0, 1)
#define CLI_IP	IP4(10, 200, 0, 2)
#define MC_PORT 11211

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t cli_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero_mac[6];

static struct rte_mempool *pool;
static struct wc_pool_set pool_start; /* the free mbufs at start */
static struct rte_ring *txring;
static uint16_t port_id;

static struct wc_iface ifc;
static struct wc_net *net;
static struct wc_lcore_stats st;
static uint8_t src_mac[6]; /* source MAC of the frames the builders make */

/* What the test application saw. */
static struct app_log {
	unsigned int calls;
	unsigned int capped;
	unsigned int in_place; /* answers by echo_fast() */
	struct wc_udp_peer peer;
	uint16_t len;
	uint8_t payload[65536];
} app;

/* ---- bytes and checksums, independent of the code under test ---------- */

static uint16_t csum(const uint8_t *p, size_t len)
{
	return (uint16_t)~fold(sum16(p, len, 0));
}

static uint32_t pseudo(const uint8_t *ip, uint8_t proto, size_t l4len)
{
	return sum16(ip + 12, 8, 0) + proto + (uint32_t)l4len;
}

/* Checksum of a UDP datagram (its checksum field zero), 0 sent as 0xffff. */
static uint16_t udp_csum(const uint8_t *ip, const uint8_t *u, size_t ulen)
{
	uint16_t c = (uint16_t)~fold(sum16(u, ulen, pseudo(ip, 17, ulen)));

	return c == 0 ? 0xffff : c;
}

static bool udp_csum_ok(const uint8_t *ip, const uint8_t *u, size_t ulen)
{
	return fold(sum16(u, ulen, pseudo(ip, 17, ulen))) == 0xffff;
}

/* ---- frame builders ----------------------------------------------------- */

static size_t eth_hdr(uint8_t *f, const uint8_t *dst, int vlan, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src_mac, 6);
	if (vlan >= 0) {
		put16(f + 12, 0x8100);
		put16(f + 14, (uint16_t)vlan);
		put16(f + 16, type);
		return 18;
	}
	put16(f + 12, type);
	return 14;
}

static void ip_fix(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;

	put16(ip + 10, 0);
	put16(ip + 10, csum(ip, ihl));
}

static void ip_hdr(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto, size_t l4len)
{
	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, (uint16_t)(20 + l4len));
	put16(ip + 4, 0x1234);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	ip_fix(ip);
}

static void udp_fix(uint8_t *ip)
{
	uint8_t *u = ip + 20;
	size_t ulen = get16(ip + 2) - 20u;

	put16(u + 6, 0);
	put16(u + 6, udp_csum(ip, u, ulen));
}

static size_t udp_frame(uint8_t *f, int vlan, uint32_t src, uint16_t sport, uint16_t dport,
			const void *pl, size_t plen)
{
	size_t l2 = eth_hdr(f, our_mac, vlan, 0x0800);
	uint8_t *ip = f + l2, *u = ip + 20;

	ip_hdr(ip, src, OUR_IP, 17, 8 + plen);
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(8 + plen));
	if (plen > 0)
		memcpy(u + 8, pl, plen);
	udp_fix(ip);
	return l2 + 28 + plen;
}

static void icmp_fix(uint8_t *ip)
{
	uint8_t *ic = ip + 20;
	size_t len = get16(ip + 2) - 20u;

	put16(ic + 2, 0);
	put16(ic + 2, csum(ic, len));
}

static size_t icmp_frame(uint8_t *f, int vlan, uint32_t src, uint8_t type, const void *data,
			 size_t dlen)
{
	size_t l2 = eth_hdr(f, our_mac, vlan, 0x0800);
	uint8_t *ip = f + l2, *ic = ip + 20;

	ip_hdr(ip, src, OUR_IP, 1, 8 + dlen);
	ic[0] = type;
	ic[1] = 0;
	put16(ic + 4, 0xbeef); /* identifier */
	put16(ic + 6, 7);      /* sequence */
	if (dlen > 0)
		memcpy(ic + 8, data, dlen);
	icmp_fix(ip);
	return l2 + 28 + dlen;
}

static size_t arp_frame(uint8_t *f, int vlan, const uint8_t *dst, uint16_t op, uint32_t spa,
			const uint8_t *tha, uint32_t tpa)
{
	size_t l2 = eth_hdr(f, dst, vlan, 0x0806);
	uint8_t *a = f + l2;

	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, src_mac, 6);
	put32(a + 14, spa);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	return l2 + 28;
}

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

/* ---- mbufs in, frames out --------------------------------------------- */

/* The frame in an mbuf chain of segments of seg bytes (0: as few as fit). */
static struct rte_mbuf *mk(const uint8_t *f, size_t len, size_t seg)
{
	struct rte_mbuf *head = NULL;
	size_t off = 0;

	if (seg == 0)
		seg = 2048;

	do {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		size_t k = len - off;
		char *p;

		assert_non_null(m);
		if (k > seg)
			k = seg;
		assert_true(k <= rte_pktmbuf_tailroom(m));
		p = rte_pktmbuf_append(m, (uint16_t)k);
		assert_non_null(p);
		if (k > 0)
			memcpy(p, f + off, k);
		if (head == NULL)
			head = m;
		else
			assert_int_equal(rte_pktmbuf_chain(head, m), 0);
		off += k;
	} while (off < len);
	return head;
}

static void input(struct rte_mbuf *m)
{
	wc_net_input(net, &m, 1);
}

static unsigned int collect(struct rte_mbuf **out, unsigned int max)
{
	wc_net_tx_flush(net);
	return rte_ring_dequeue_burst(txring, (void **)out, max, NULL);
}

static size_t flat(const struct rte_mbuf *m, uint8_t *buf)
{
	const void *p = rte_pktmbuf_read(m, 0, m->pkt_len, buf);

	assert_non_null(p);
	if (p != buf)
		memcpy(buf, p, m->pkt_len);
	return m->pkt_len;
}

/* Exactly one frame was sent: copy it to buf; *ol gets its ol_flags. */
static size_t one_reply(uint8_t *buf, struct rte_mbuf **keep)
{
	struct rte_mbuf *out[4];
	unsigned int n = collect(out, 4);
	size_t len;

	assert_int_equal(n, 1);
	len = flat(out[0], buf);
	if (keep != NULL)
		*keep = out[0];
	else
		rte_pktmbuf_free(out[0]);
	return len;
}

static void no_reply(void)
{
	struct rte_mbuf *out[4];
	unsigned int n = collect(out, 4);

	if (n > 0)
		rte_pktmbuf_free_bulk(out, n);
	assert_int_equal(n, 0);
}

static uint64_t drops(const struct wc_lcore_stats *s)
{
	uint64_t t = 0;

#define X(name, desc)                        \
	if (strncmp(#name, "drop_", 5) == 0) \
		t += s->name;
	WC_LCORE_STATS(X)
#undef X
	return t;
}

#define STAT(s, off) (*(const uint64_t *)(const void *)((const char *)(s) + (off)))

/* The frame is dropped, counted once, under the named counter, with no reply. */
static void expect_drop_at(const uint8_t *f, size_t len, size_t seg, size_t off, const char *name)
{
	struct wc_lcore_stats before = st;
	unsigned int calls = app.calls;

	input(mk(f, len, seg));
	if (STAT(&st, off) != STAT(&before, off) + 1 || drops(&st) != drops(&before) + 1)
		fail_msg("len %zu seg %zu: expected one drop in %s (%" PRIu64 " -> %" PRIu64
			 "), drops %" PRIu64 " -> %" PRIu64,
			 len, seg, name, STAT(&before, off), STAT(&st, off), drops(&before),
			 drops(&st));
	assert_int_equal(app.calls, calls);
	no_reply();
}

#define EXPECT_DROP(f, len, seg, field) \
	expect_drop_at(f, len, seg, offsetof(struct wc_lcore_stats, field), #field)

/* ---- the test application: echo the payload back ------------------------ */

static void echo_app(void *arg, struct wc_net *n, const struct wc_udp_peer *peer,
		     const uint8_t *payload, uint16_t len)
{
	struct app_log *a = arg;
	struct rte_mbuf *m, *seg;
	uint16_t off = 0;

	a->calls++;
	a->peer = *peer;
	a->len = len;
	memcpy(a->payload, payload, len);
	if (!wc_udp_budget_take(n, peer, len)) {
		a->capped++;
		return;
	}
	m = wc_udp_alloc(n);
	assert_non_null(m);
	assert_true(rte_pktmbuf_headroom(m) >= WC_UDP_HDR_ROOM);
	/* A payload larger than one mbuf goes out as a chain. */
	for (seg = m; seg != NULL;) {
		uint16_t k = (uint16_t)RTE_MIN((unsigned int)(len - off),
					       (unsigned int)rte_pktmbuf_tailroom(seg) - 64u);
		char *p = rte_pktmbuf_append(seg, k);

		assert_non_null(p);
		memcpy(p, payload + off, k);
		off = (uint16_t)(off + k);
		if (seg != m)
			assert_int_equal(rte_pktmbuf_chain(m, seg), 0);
		seg = NULL;
		if (off < len) {
			seg = rte_pktmbuf_alloc(pool);
			assert_non_null(seg);
		}
	}
	wc_udp_send(n, peer, m);
}

/*
 * The same echo answered in place (wc_udp_fast_t), for the stack's fast
 * path; it counts in calls too, so a frame it answers that the stack should
 * have dropped fails EXPECT_DROP(). It declines a payload whose length is a
 * multiple of 5, for runs that stop short, and at one of a multiple of 10
 * says how many declined ones follow it.
 */
static unsigned int echo_fast(void *arg, struct wc_net *n, struct wc_udp_fast_req *reqs,
			      unsigned int count, unsigned int *pass)
{
	struct app_log *a = arg;
	unsigned int i;

	(void)n;
	assert_true(count >= 1 && count <= WC_UDP_FAST_MAX);
	for (i = 0; i < count; i++) {
		struct wc_udp_fast_req *q = &reqs[i];

		if (q->len == 0 || q->len > q->room || q->len % 5 == 0)
			break;
		a->calls++;
		a->in_place++;
		a->len = q->len;
		memcpy(a->payload, q->payload, q->len);
		memcpy(q->reply, q->payload, q->len);
		q->rlen = q->len;
	}
	/* Sometimes the declined ones right after it passed on too. */
	if (i < count && reqs[i].len % 10 == 0)
		for (*pass = 1; i + *pass < count && reqs[i + *pass].len % 5 == 0; (*pass)++)
			;
	return i;
}

/* ---- fixtures ----------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	memset(&ifc, 0, sizeof(ifc));
	ifc.port_id = port_id;
	memcpy(&ifc.mac, our_mac, 6);
	ifc.ip = rte_cpu_to_be_32(OUR_IP);
	ifc.netmask = rte_cpu_to_be_32(0xffffff00);
	ifc.apps[0].port = rte_cpu_to_be_16(MC_PORT);
	ifc.apps[0].input = echo_app;
	ifc.n_apps = 1;
	memset(net, 0, sizeof(*net));
	net->ifc = &ifc;
	net->queue = 0;
	net->pool = pool;
	net->st = &st;
	net->app_arg[0] = &app;
	net->tsc_hz = 1000000000ull;
	net->now_tsc = 5000000000000ull;
	memset(&st, 0, sizeof(st));
	memset(&app, 0, sizeof(app));
	memcpy(src_mac, cli_mac, 6);
	return 0;
}

static int teardown(void **state)
{
	struct rte_mbuf *out[64];
	unsigned int n;

	(void)state;
	wc_net_tx_flush(net);
	while ((n = rte_ring_dequeue_burst(txring, (void **)out, 64, NULL)) > 0)
		rte_pktmbuf_free_bulk(out, n);
	/* Every mbuf the test made was consumed by the stack or freed here, once. */
	assert_int_equal(wc_pool_check(pool, &pool_start, NULL), 0);
	return 0;
}

/* ---- ARP ---------------------------------------------------------------- */

static void check_arp_reply(const uint8_t *r, size_t len, int vlan, uint32_t cli_ip)
{
	size_t l2 = vlan >= 0 ? 18 : 14;
	const uint8_t *a = r + l2;

	assert_true(len >= 60);
	assert_memory_equal(r, src_mac, 6);
	assert_memory_equal(r + 6, our_mac, 6);
	if (vlan >= 0) {
		assert_int_equal(get16(r + 12), 0x8100);
		assert_int_equal(get16(r + 14), vlan);
	}
	assert_int_equal(get16(r + l2 - 2), 0x0806);
	assert_int_equal(get16(a), 1);
	assert_int_equal(get16(a + 2), 0x0800);
	assert_int_equal(a[4], 6);
	assert_int_equal(a[5], 4);
	assert_int_equal(get16(a + 6), 2);
	assert_memory_equal(a + 8, our_mac, 6);
	assert_int_equal(get32(a + 14), OUR_IP);
	assert_memory_equal(a + 18, src_mac, 6);
	assert_int_equal(get32(a + 24), cli_ip);
	for (size_t i = l2 + 28; i < len; i++)
		assert_int_equal(r[i], 0);
}

static void test_arp_request_reply(void **state)
{
	uint8_t f[128], r[MAXF];
	struct rte_ether_addr mac;
	size_t len, rlen;

	(void)state;
	/* Linux sends 42-byte ARPs on a veth; the reply is padded to 60. */
	len = arp_frame(f, -1, bcast, 1, CLI_IP, zero_mac, OUR_IP);
	input(mk(f, len, 0));
	rlen = one_reply(r, NULL);
	assert_int_equal(rlen, 60);
	check_arp_reply(r, rlen, -1, CLI_IP);
	assert_int_equal(st.arp_requests_answered, 1);
	assert_int_equal(st.arp_learned, 1);
	assert_int_equal(drops(&st), 0);
	assert_true(wc_arp_lookup(net, rte_cpu_to_be_32(CLI_IP), &mac));
	assert_memory_equal(&mac, cli_mac, 6);

	/* Padded with junk, unicast to us, tagged: reply keeps the tag, no junk. */
	len = arp_frame(f, 42, our_mac, 1, CLI_IP, zero_mac, OUR_IP);
	memset(f + len, 0xaa, 64 - len);
	input(mk(f, 64, 0));
	rlen = one_reply(r, NULL);
	assert_int_equal(rlen, 60);
	check_arp_reply(r, rlen, 42, CLI_IP);

	/* An ARP probe (sender 0.0.0.0) for our address is answered too. */
	len = arp_frame(f, -1, bcast, 1, 0, zero_mac, OUR_IP);
	input(mk(f, len, 0));
	rlen = one_reply(r, NULL);
	check_arp_reply(r, rlen, -1, 0);

	/* Segmented every which way. */
	for (size_t seg = 1; seg < 20; seg++) {
		len = arp_frame(f, seg & 1 ? 9 : -1, bcast, 1, CLI_IP, zero_mac, OUR_IP);
		input(mk(f, len, seg));
		rlen = one_reply(r, NULL);
		check_arp_reply(r, rlen, seg & 1 ? 9 : -1, CLI_IP);
	}
	assert_int_equal(drops(&st), 0);
}

static void test_arp_other_ip(void **state)
{
	uint8_t f[128];
	struct rte_ether_addr mac;
	size_t len;

	(void)state;
	len = arp_frame(f, -1, bcast, 1, CLI_IP, zero_mac, IP4(10, 200, 0, 9));
	EXPECT_DROP(f, len, 0, drop_not_for_us);
	assert_int_equal(st.arp_requests_answered, 0);
	/* The asker was still learned. */
	assert_true(wc_arp_lookup(net, rte_cpu_to_be_32(CLI_IP), &mac));

	/* Our own announcement looped back is neither answered nor learned. */
	memcpy(src_mac, our_mac, 6);
	len = arp_frame(f, -1, bcast, 1, OUR_IP, zero_mac, OUR_IP);
	EXPECT_DROP(f, len, 0, drop_not_for_us);
	assert_false(wc_arp_lookup(net, rte_cpu_to_be_32(OUR_IP), &mac));
}

static void test_arp_learning(void **state)
{
	const uint8_t mac3[6] = { 0x02, 0, 0, 0, 0, 0x33 };
	const uint8_t mac3b[6] = { 0x02, 0, 0, 0, 0, 0x3b };
	const uint8_t mac4[6] = { 0x02, 0, 0, 0, 0, 0x44 };
	uint8_t f[256], data[16] = { 0 };
	struct rte_ether_addr mac;
	size_t len;

	(void)state;
	assert_false(wc_arp_lookup(net, rte_cpu_to_be_32(IP4(10, 200, 0, 3)), &mac));
	assert_false(wc_arp_lookup(net, 0, &mac));

	/* A reply teaches us, consumed without a drop. */
	memcpy(src_mac, mac3, 6);
	len = arp_frame(f, -1, our_mac, 2, IP4(10, 200, 0, 3), our_mac, OUR_IP);
	input(mk(f, len, 0));
	no_reply();
	assert_int_equal(drops(&st), 0);
	assert_int_equal(st.arp_learned, 1);
	assert_true(wc_arp_lookup(net, rte_cpu_to_be_32(IP4(10, 200, 0, 3)), &mac));
	assert_memory_equal(&mac, mac3, 6);

	/* A new MAC for the same address replaces the old one. */
	memcpy(src_mac, mac3b, 6);
	len = arp_frame(f, -1, bcast, 2, IP4(10, 200, 0, 3), our_mac, OUR_IP);
	input(mk(f, len, 0));
	no_reply();
	assert_true(wc_arp_lookup(net, rte_cpu_to_be_32(IP4(10, 200, 0, 3)), &mac));
	assert_memory_equal(&mac, mac3b, 6);

	/* A reply from outside the subnet teaches nothing and is counted. */
	len = arp_frame(f, -1, our_mac, 2, IP4(10, 200, 7, 3), our_mac, OUR_IP);
	EXPECT_DROP(f, len, 0, drop_not_for_us);
	assert_false(wc_arp_lookup(net, rte_cpu_to_be_32(IP4(10, 200, 7, 3)), &mac));

	/* IPv4 traffic from a neighbour teaches us its MAC. */
	memcpy(src_mac, mac4, 6);
	len = icmp_frame(f, -1, IP4(10, 200, 0, 4), 8, data, sizeof(data));
	input(mk(f, len, 0));
	assert_int_equal(st.icmp_echo_replies, 1);
	{
		struct rte_mbuf *out[4];
		unsigned int n = collect(out, 4);

		assert_int_equal(n, 1);
		rte_pktmbuf_free_bulk(out, n);
	}
	assert_true(wc_arp_lookup(net, rte_cpu_to_be_32(IP4(10, 200, 0, 4)), &mac));
	assert_memory_equal(&mac, mac4, 6);

	/* ... but not of a host beyond the subnet (the MAC is a router's). */
	ifc.n_allow = 1;
	assert_int_equal(wc_cidr_parse("10.200.5.0/24", &ifc.allow[0]), 0);
	len = udp_frame(f, -1, IP4(10, 200, 5, 5), 4000, MC_PORT, "x", 1);
	input(mk(f, len, 0));
	assert_int_equal(app.calls, 1);
	{
		struct rte_mbuf *out[4];
		unsigned int n = collect(out, 4);

		assert_int_equal(n, 1);
		rte_pktmbuf_free_bulk(out, n);
	}
	assert_false(wc_arp_lookup(net, rte_cpu_to_be_32(IP4(10, 200, 5, 5)), &mac));
}

static void test_arp_malformed(void **state)
{
	const uint8_t mcast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	uint8_t f[128];
	size_t len;

	(void)state;
	len = arp_frame(f, -1, bcast, 1, CLI_IP, zero_mac, OUR_IP);
	f[14 + 1] = 6; /* hardware type 6 */
	EXPECT_DROP(f, len, 0, drop_arp_malformed);
	len = arp_frame(f, -1, bcast, 1, CLI_IP, zero_mac, OUR_IP);
	put16(f + 16, 0x86dd); /* protocol IPv6 */
	EXPECT_DROP(f, len, 0, drop_arp_malformed);
	len = arp_frame(f, -1, bcast, 1, CLI_IP, zero_mac, OUR_IP);
	f[14 + 4] = 8; /* hardware length */
	EXPECT_DROP(f, len, 0, drop_arp_malformed);
	len = arp_frame(f, -1, bcast, 1, CLI_IP, zero_mac, OUR_IP);
	f[14 + 5] = 16; /* protocol length */
	EXPECT_DROP(f, len, 0, drop_arp_malformed);
	len = arp_frame(f, -1, bcast, 3, CLI_IP, zero_mac, OUR_IP); /* RARP request */
	EXPECT_DROP(f, len, 0, drop_arp_malformed);
	memcpy(src_mac, mcast, 6);
	len = arp_frame(f, -1, bcast, 1, CLI_IP, zero_mac, OUR_IP);
	EXPECT_DROP(f, len, 0, drop_arp_malformed);
	memcpy(src_mac, zero_mac, 6);
	len = arp_frame(f, -1, bcast, 1, CLI_IP, zero_mac, OUR_IP);
	EXPECT_DROP(f, len, 0, drop_arp_malformed);
	assert_int_equal(st.arp_learned, 0);
}

static void test_garp(void **state)
{
	uint8_t r[MAXF];
	size_t len;
	const uint8_t *a = r + 14;

	(void)state;
	assert_int_equal(wc_net_garp(net), 0);
	len = one_reply(r, NULL);
	assert_int_equal(len, 60);
	assert_memory_equal(r, bcast, 6);
	assert_memory_equal(r + 6, our_mac, 6);
	assert_int_equal(get16(r + 12), 0x0806);
	assert_int_equal(get16(a), 1);
	assert_int_equal(get16(a + 2), 0x0800);
	assert_int_equal(a[4], 6);
	assert_int_equal(a[5], 4);
	assert_int_equal(get16(a + 6), 1); /* request form */
	assert_memory_equal(a + 8, our_mac, 6);
	assert_int_equal(get32(a + 14), OUR_IP);
	assert_memory_equal(a + 18, zero_mac, 6);
	assert_int_equal(get32(a + 24), OUR_IP);
	for (size_t i = 42; i < 60; i++)
		assert_int_equal(r[i], 0);
	assert_int_equal(st.tx_packets, 1);
	assert_int_equal(st.tx_bytes, 60);
}

/* ---- ICMP --------------------------------------------------------------- */

static void check_echo_reply(const uint8_t *req, size_t reqlen, const uint8_t *r, size_t rlen,
			     int vlan)
{
	size_t l2 = vlan >= 0 ? 18 : 14;
	const uint8_t *ip = r + l2, *ic = ip + 20;
	const uint8_t *qip = req + l2;
	size_t iclen;

	assert_int_equal(rlen, reqlen);
	assert_memory_equal(r, src_mac, 6);
	assert_memory_equal(r + 6, our_mac, 6);
	if (vlan >= 0) {
		assert_int_equal(get16(r + 12), 0x8100);
		assert_int_equal(get16(r + 14), vlan);
	}
	assert_int_equal(get16(r + l2 - 2), 0x0800);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(get16(ip + 2), rlen - l2);
	assert_int_equal(ip[8], 64);
	assert_int_equal(ip[9], 1);
	assert_int_equal(get32(ip + 12), OUR_IP);
	assert_int_equal(get32(ip + 16), get32(qip + 12));
	assert_int_equal(csum(ip, 20), 0);
	iclen = rlen - l2 - 20;
	assert_int_equal(ic[0], 0);
	assert_int_equal(ic[1], 0);
	assert_int_equal(csum(ic, iclen), 0);
	/* Identifier, sequence and data echoed unchanged. */
	assert_memory_equal(ic + 4, qip + 24, iclen - 4);
}

static void test_icmp_echo(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 7, 18, 56, 57, 999, 1000, 1472 };
	uint8_t f[MAXF], r[MAXF], data[1500];
	size_t len, rlen;

	(void)state;
	fill(data, sizeof(data), 3);
	for (size_t i = 0; i < RTE_DIM(sizes); i++) {
		len = icmp_frame(f, -1, CLI_IP, 8, data, sizes[i]);
		input(mk(f, len, 0));
		rlen = one_reply(r, NULL);
		check_echo_reply(f, len, r, rlen, -1);
	}
	assert_int_equal(st.icmp_echo_replies, RTE_DIM(sizes));

	/* Ethernet padding is not echoed: a 46-byte frame padded to 60. */
	len = icmp_frame(f, -1, CLI_IP, 8, data, 4);
	memset(f + len, 0x5a, 60 - len);
	input(mk(f, 60, 0));
	rlen = one_reply(r, NULL);
	check_echo_reply(f, len, r, rlen, -1);
	/* ... also when the padding is in segments of its own. */
	input(mk(f, 60, 7));
	rlen = one_reply(r, NULL);
	check_echo_reply(f, len, r, rlen, -1);

	/* An echo request from beyond the subnet is answered too. */
	len = icmp_frame(f, -1, IP4(10, 200, 77, 1), 8, data, 32);
	input(mk(f, len, 0));
	rlen = one_reply(r, NULL);
	check_echo_reply(f, len, r, rlen, -1);
	assert_int_equal(drops(&st), 0);
}

static void test_icmp_bad(void **state)
{
	uint8_t f[256], data[32];
	size_t len;

	(void)state;
	fill(data, sizeof(data), 9);
	len = icmp_frame(f, -1, CLI_IP, 8, data, sizeof(data));
	f[len - 1] ^= 1;
	EXPECT_DROP(f, len, 0, drop_icmp_malformed);
	/* Odd length, bad checksum. */
	len = icmp_frame(f, -1, CLI_IP, 8, data, 5);
	f[len - 1] ^= 0x80;
	EXPECT_DROP(f, len, 0, drop_icmp_malformed);
	/* Too short for an ICMP header. */
	len = icmp_frame(f, -1, CLI_IP, 8, data, 0);
	put16(f + 16, 20 + 4);
	ip_fix(f + 14);
	EXPECT_DROP(f, 14 + 24, 0, drop_icmp_malformed);
	/* Echo reply, timestamp, and echo with a non-zero code. */
	len = icmp_frame(f, -1, CLI_IP, 0, data, 8);
	EXPECT_DROP(f, len, 0, drop_icmp_type);
	len = icmp_frame(f, -1, CLI_IP, 13, data, 12);
	EXPECT_DROP(f, len, 0, drop_icmp_type);
	len = icmp_frame(f, -1, CLI_IP, 8, data, 8);
	f[14 + 21] = 1;
	icmp_fix(f + 14);
	EXPECT_DROP(f, len, 0, drop_icmp_type);
	assert_int_equal(st.icmp_echo_replies, 0);
}

/* ---- IPv4 and Ethernet drops --------------------------------------------- */

static void test_ip_drops(void **state)
{
	const uint8_t other_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	const uint8_t mcast_mac[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	static const uint32_t martians[] = {
		IP4(0, 0, 0, 0),
		IP4(127, 0, 0, 1),
		IP4(224, 0, 0, 1),
		IP4(255, 255, 255, 255),
		IP4(10, 200, 0, 255),
		IP4(10, 200, 0, 0),
		OUR_IP,
	};
	uint8_t f[256], g[256];
	uint8_t *ip = f + 14;
	size_t len;

	(void)state;
	/* Bad header checksum. */
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "hello", 5);
	ip[10] ^= 0x10;
	EXPECT_DROP(f, len, 0, drop_ip_checksum);
	/* More fragments; a non-zero offset; both. */
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "hello", 5);
	put16(ip + 6, 0x2000);
	ip_fix(ip);
	EXPECT_DROP(f, len, 0, drop_ip_fragment);
	put16(ip + 6, 0x0010);
	ip_fix(ip);
	EXPECT_DROP(f, len, 0, drop_ip_fragment);
	put16(ip + 6, 0x4000 | 0x0001);
	ip_fix(ip);
	EXPECT_DROP(f, len, 0, drop_ip_fragment);
	/* Options: IHL 6 with a NOP option word, checksum valid. */
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "hello", 5);
	memcpy(g, f, len);
	memmove(g + 14 + 24, f + 14 + 20, len - 34);
	memset(g + 14 + 20, 1, 4);
	g[14] = 0x46;
	put16(g + 16, (uint16_t)(get16(f + 16) + 4));
	ip_fix(g + 14);
	EXPECT_DROP(g, len + 4, 0, drop_ip_options);
	/* IHL below 5, version 6 in an IPv4 frame. */
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "hello", 5);
	ip[0] = 0x44;
	EXPECT_DROP(f, len, 0, drop_ip_malformed);
	ip[0] = 0x65;
	ip_fix(ip);
	EXPECT_DROP(f, len, 0, drop_ip_malformed);
	/* Total length beyond the frame, or shorter than the header. */
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "hello", 5);
	put16(ip + 2, (uint16_t)(len - 14 + 1));
	ip_fix(ip);
	EXPECT_DROP(f, len, 0, drop_ip_malformed);
	put16(ip + 2, 19);
	ip_fix(ip);
	EXPECT_DROP(f, len, 0, drop_ip_malformed);
	/* TTL 0. */
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "hello", 5);
	ip[8] = 0;
	ip_fix(ip);
	EXPECT_DROP(f, len, 0, drop_ip_ttl);
	/* Not our MAC (unicast or multicast), not our IP, broadcast IP. */
	memcpy(src_mac, cli_mac, 6);
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "hello", 5);
	memcpy(f, other_mac, 6);
	EXPECT_DROP(f, len, 0, drop_not_for_us);
	memcpy(f, mcast_mac, 6);
	EXPECT_DROP(f, len, 0, drop_not_for_us);
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "hello", 5);
	put32(ip + 16, IP4(10, 200, 0, 3));
	ip_fix(ip);
	udp_fix(ip);
	EXPECT_DROP(f, len, 0, drop_not_for_us);
	memcpy(f, bcast, 6);
	put32(ip + 16, IP4(10, 200, 0, 255));
	ip_fix(ip);
	udp_fix(ip);
	EXPECT_DROP(f, len, 0, drop_not_for_us);
	/* Sources no host can have. */
	for (size_t i = 0; i < RTE_DIM(martians); i++) {
		len = udp_frame(f, -1, martians[i], 4000, MC_PORT, "hello", 5);
		EXPECT_DROP(f, len, 0, drop_ip_malformed);
		len = icmp_frame(f, -1, martians[i], 8, "hello", 5);
		EXPECT_DROP(f, len, 0, drop_ip_malformed);
	}
	/* Unknown protocol (GRE). */
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "hello", 5);
	ip[9] = 47;
	ip_fix(ip);
	EXPECT_DROP(f, len, 0, drop_ip_proto);
	/* Unknown ethertypes: IPv6, QinQ, a second 802.1Q tag. */
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "hello", 5);
	put16(f + 12, 0x86dd);
	EXPECT_DROP(f, len, 0, drop_ethertype);
	len = udp_frame(f, 5, CLI_IP, 4000, MC_PORT, "hello", 5);
	put16(f + 12, 0x88a8);
	EXPECT_DROP(f, len, 0, drop_ethertype);
	len = udp_frame(f, 5, CLI_IP, 4000, MC_PORT, "hello", 5);
	put16(f + 16, 0x8100);
	EXPECT_DROP(f, len, 0, drop_ethertype);
	assert_int_equal(app.calls, 0);
	assert_int_equal(st.rx_packets, drops(&st));
}

/* Checksum verdicts a PMD reports replace the software check. */
static void test_rx_cksum_flags(void **state)
{
	uint8_t f[256];
	uint8_t *ip = f + 14;
	struct rte_mbuf *m;
	size_t len;

	(void)state;
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "hello", 5);
	m = mk(f, len, 0);
	m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_BAD;
	input(m);
	assert_int_equal(st.drop_ip_checksum, 1);
	m = mk(f, len, 0);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_BAD;
	input(m);
	assert_int_equal(st.drop_udp_checksum, 1);
	no_reply();

	/* Wrong in the frame, but the NIC says good (or verified): delivered. */
	ip[10] ^= 0xff;
	f[14 + 20 + 6] ^= 0xff;
	m = mk(f, len, 0);
	m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	input(m);
	m = mk(f, len, 0);
	m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE;
	input(m);
	assert_int_equal(app.calls, 2);
	{
		struct rte_mbuf *out[4];
		unsigned int n = collect(out, 4);

		assert_int_equal(n, 2);
		rte_pktmbuf_free_bulk(out, n);
	}
	/* Unknown: the software check runs and catches both. */
	m = mk(f, len, 0);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	input(m);
	assert_int_equal(st.drop_ip_checksum, 2);
	ip[10] ^= 0xff;
	m = mk(f, len, 0);
	input(m);
	assert_int_equal(st.drop_udp_checksum, 2);
	no_reply();
}

/* Every truncation of a valid frame, one segment or many, is counted once. */
static void test_truncated(void **state)
{
	static const size_t segs[] = { 0, 1, 3, 13 };
	uint8_t f[512], data[100];

	(void)state;
	fill(data, sizeof(data), 1);
	for (int kind = 0; kind < 6; kind++) {
		int vlan = kind & 1 ? 3 : -1;
		size_t l2 = vlan >= 0 ? 18 : 14;
		size_t len;

		if (kind < 2)
			len = udp_frame(f, vlan, CLI_IP, 4000, MC_PORT, data, 37);
		else if (kind < 4)
			len = icmp_frame(f, vlan, CLI_IP, 8, data, 37);
		else
			len = arp_frame(f, vlan, bcast, 1, CLI_IP, zero_mac, OUR_IP);
		for (size_t s = 0; s < RTE_DIM(segs); s++) {
			for (size_t cut = 0; cut < len; cut++) {
				if (cut < l2 + (kind < 4 ? 20 : 28))
					EXPECT_DROP(f, cut, segs[s], drop_runt);
				else
					EXPECT_DROP(f, cut, segs[s], drop_ip_malformed);
			}
		}
	}
}

/* ---- UDP ---------------------------------------------------------------- */

static void check_udp_reply(const uint8_t *r, size_t rlen, int vlan, uint32_t dst, uint16_t dport,
			    const uint8_t *pl, size_t plen)
{
	size_t l2 = vlan >= 0 ? 18 : 14;
	const uint8_t *ip = r + l2, *u = ip + 20;

	assert_int_equal(rlen, l2 + 28 + plen);
	assert_memory_equal(r, src_mac, 6);
	assert_memory_equal(r + 6, our_mac, 6);
	if (vlan >= 0) {
		assert_int_equal(get16(r + 12), 0x8100);
		assert_int_equal(get16(r + 14), vlan);
	}
	assert_int_equal(get16(r + l2 - 2), 0x0800);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(get16(ip + 2), 28 + plen);
	assert_int_equal(get16(ip + 6), 0); /* DF clear, no fragment */
	assert_int_equal(ip[8], 64);
	assert_int_equal(ip[9], 17);
	assert_int_equal(get32(ip + 12), OUR_IP);
	assert_int_equal(get32(ip + 16), dst);
	assert_int_equal(csum(ip, 20), 0);
	assert_int_equal(get16(u), MC_PORT);
	assert_int_equal(get16(u + 2), dport);
	assert_int_equal(get16(u + 4), 8 + plen);
	assert_int_not_equal(get16(u + 6), 0);
	assert_true(udp_csum_ok(ip, u, 8 + plen));
	assert_memory_equal(u + 8, pl, plen);
}

static void test_udp_echo(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 9, 100, 1001, 1472 };
	uint8_t f[MAXF], r[MAXF], data[1500];
	uint16_t last_id = 0;
	size_t len, rlen;

	(void)state;
	fill(data, sizeof(data), 5);
	for (size_t i = 0; i < RTE_DIM(sizes); i++) {
		len = udp_frame(f, -1, CLI_IP, (uint16_t)(40000 + i), MC_PORT, data, sizes[i]);
		input(mk(f, len, 0));
		assert_int_equal(app.calls, i + 1);
		assert_int_equal(app.len, sizes[i]);
		assert_memory_equal(app.payload, data, sizes[i]);
		assert_memory_equal(&app.peer.mac, cli_mac, 6);
		assert_int_equal(app.peer.ip, rte_cpu_to_be_32(CLI_IP));
		assert_int_equal(app.peer.port, rte_cpu_to_be_16((uint16_t)(40000 + i)));
		assert_int_equal(app.peer.local_port, rte_cpu_to_be_16(MC_PORT));
		assert_int_equal(app.peer.vlan_tci, 0);
		assert_false(app.peer.open);
		rlen = one_reply(r, NULL);
		check_udp_reply(r, rlen, -1, CLI_IP, (uint16_t)(40000 + i), data, sizes[i]);
		/* IP ids differ from one reply to the next. */
		if (i > 0)
			assert_int_not_equal(get16(r + 14 + 4), last_id);
		last_id = get16(r + 14 + 4);
	}
	assert_int_equal(st.udp_datagrams, RTE_DIM(sizes));

	/* No checksum in the request (0) is accepted; padding is not payload. */
	len = udp_frame(f, -1, CLI_IP, 5000, MC_PORT, data, 3);
	put16(f + 14 + 20 + 6, 0);
	memset(f + len, 0xee, 60 - len);
	input(mk(f, 60, 0));
	assert_int_equal(app.len, 3);
	rlen = one_reply(r, NULL);
	check_udp_reply(r, rlen, -1, CLI_IP, 5000, data, 3);

	/* A payload whose checksum comes out as 0 is sent as 0xffff. */
	for (unsigned int v = 0; v < 0x10000; v++) {
		uint8_t pl[2] = { (uint8_t)(v >> 8), (uint8_t)v };
		uint8_t hdr[28];

		/* Predict the reply's checksum from its headers. */
		ip_hdr(hdr, OUR_IP, CLI_IP, 17, 10);
		put16(hdr + 20, MC_PORT);
		put16(hdr + 22, 6000);
		put16(hdr + 24, 10);
		put16(hdr + 26, 0);
		{
			uint8_t u[10];

			memcpy(u, hdr + 20, 8);
			memcpy(u + 8, pl, 2);
			uint16_t c = (uint16_t)~fold(sum16(u, 10, pseudo(hdr, 17, 10)));

			if (c != 0)
				continue;
		}
		len = udp_frame(f, -1, CLI_IP, 6000, MC_PORT, pl, 2);
		input(mk(f, len, 0));
		rlen = one_reply(r, NULL);
		check_udp_reply(r, rlen, -1, CLI_IP, 6000, pl, 2);
		assert_int_equal(get16(r + 14 + 20 + 6), 0xffff);
		break;
	}
	assert_int_equal(drops(&st), 0);
}

static void test_udp_bad(void **state)
{
	uint8_t f[256];
	uint8_t *ip = f + 14, *u = ip + 20;
	size_t len;

	(void)state;
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "get foo\r\n", 9);
	f[len - 1] ^= 0x20;
	EXPECT_DROP(f, len, 0, drop_udp_checksum);
	/* UDP length longer, shorter than the IP payload; below 8. */
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "get foo\r\n", 9);
	put16(u + 4, 18);
	udp_fix(ip);
	EXPECT_DROP(f, len, 0, drop_udp_malformed);
	put16(u + 4, 16);
	udp_fix(ip);
	EXPECT_DROP(f, len, 0, drop_udp_malformed);
	put16(u + 4, 7);
	EXPECT_DROP(f, len, 0, drop_udp_malformed);
	/* IP payload too short for a UDP header. */
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, "", 0);
	put16(ip + 2, 20 + 7);
	ip_fix(ip);
	EXPECT_DROP(f, len - 1, 0, drop_udp_malformed);
	/* No application on the port. */
	len = udp_frame(f, -1, CLI_IP, 4000, 9999, "x", 1);
	EXPECT_DROP(f, len, 0, drop_udp_port);
	assert_int_equal(app.calls, 0);
}

static void test_vlan(void **state)
{
	uint8_t f[MAXF], r[MAXF], data[64];
	struct rte_mbuf *m;
	size_t len, rlen;

	(void)state;
	fill(data, sizeof(data), 11);
	/* Tag in the frame: UDP and ICMP replies carry the same TCI. */
	len = udp_frame(f, 0x2005, CLI_IP, 4000, MC_PORT, data, 20);
	input(mk(f, len, 0));
	assert_int_equal(app.peer.vlan_tci, 0x2005);
	rlen = one_reply(r, NULL);
	check_udp_reply(r, rlen, 0x2005, CLI_IP, 4000, data, 20);
	len = icmp_frame(f, 0x2005, CLI_IP, 8, data, 33);
	input(mk(f, len, 0));
	rlen = one_reply(r, NULL);
	check_echo_reply(f, len, r, rlen, 0x2005);

	/* Tag stripped by the NIC: put back in the frame... */
	len = icmp_frame(f, -1, CLI_IP, 8, data, 33);
	m = mk(f, len, 0);
	m->ol_flags = RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
	m->vlan_tci = 77;
	input(m);
	{
		uint8_t tagged[MAXF];
		size_t tlen = icmp_frame(tagged, 77, CLI_IP, 8, data, 33);

		rlen = one_reply(r, NULL);
		check_echo_reply(tagged, tlen, r, rlen, 77);
	}
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, data, 20);
	m = mk(f, len, 0);
	m->ol_flags = RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
	m->vlan_tci = 77;
	input(m);
	rlen = one_reply(r, NULL);
	check_udp_reply(r, rlen, 77, CLI_IP, 4000, data, 20);
	len = arp_frame(f, -1, bcast, 1, CLI_IP, zero_mac, OUR_IP);
	m = mk(f, len, 0);
	m->ol_flags = RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
	m->vlan_tci = 77;
	input(m);
	rlen = one_reply(r, NULL);
	check_arp_reply(r, rlen, 77, CLI_IP);

	/* ... or by the NIC when it can insert tags. */
	ifc.tx_offloads = RTE_ETH_TX_OFFLOAD_VLAN_INSERT;
	len = icmp_frame(f, -1, CLI_IP, 8, data, 33);
	m = mk(f, len, 0);
	m->ol_flags = RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
	m->vlan_tci = 77;
	input(m);
	rlen = one_reply(r, &m);
	check_echo_reply(f, len, r, rlen, -1);
	assert_true(m->ol_flags & RTE_MBUF_F_TX_VLAN);
	assert_int_equal(m->vlan_tci, 77);
	rte_pktmbuf_free(m);

	/* A stripped tag and one more in the frame is QinQ: not served. */
	len = icmp_frame(f, 5, CLI_IP, 8, data, 33);
	m = mk(f, len, 0);
	m->ol_flags = RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
	m->vlan_tci = 77;
	input(m);
	assert_int_equal(st.drop_ethertype, 1);
	no_reply();
}

static void send_udp(uint32_t src, size_t plen)
{
	uint8_t f[2048], data[1500];

	fill(data, plen, 2);
	input(mk(f, udp_frame(f, -1, src, 4000, MC_PORT, data, plen), 0));
}

static unsigned int count_replies(void)
{
	struct rte_mbuf *out[64];
	unsigned int n = collect(out, 64);

	if (n > 0)
		rte_pktmbuf_free_bulk(out, n);
	return n;
}

static void test_udp_source_policy(void **state)
{
	const uint32_t outside = IP4(10, 200, 9, 9);

	(void)state;
	/* Subnet: served, not open. */
	send_udp(IP4(10, 200, 0, 200), 10);
	assert_int_equal(app.calls, 1);
	assert_false(app.peer.open);
	assert_int_equal(count_replies(), 1);

	/* Outside, no allowlist, closed: dropped. */
	ifc.n_allow = 0;
	send_udp(outside, 10);
	assert_int_equal(st.drop_udp_source, 1);
	assert_int_equal(app.calls, 1);
	assert_int_equal(count_replies(), 0);

	/* Allowlisted CIDR: served, not open; neighbouring CIDR still dropped. */
	assert_int_equal(wc_cidr_parse("10.200.8.0/23", &ifc.allow[0]), 0);
	assert_int_equal(wc_cidr_parse("10.200.100.7", &ifc.allow[1]), 0);
	ifc.n_allow = 2;
	send_udp(outside, 10);
	assert_int_equal(app.calls, 2);
	assert_false(app.peer.open);
	send_udp(IP4(10, 200, 100, 7), 10);
	assert_int_equal(app.calls, 3);
	send_udp(IP4(10, 200, 100, 8), 10);
	send_udp(IP4(10, 200, 10, 1), 10);
	assert_int_equal(st.drop_udp_source, 3);
	assert_int_equal(count_replies(), 2);

	/* Open: served, marked open, replies within the per-second budget. */
	ifc.n_allow = 0;
	ifc.udp_open = true;
	ifc.udp_open_budget = 100;
	send_udp(outside, 40);
	assert_true(app.peer.open);
	send_udp(outside, 40);
	send_udp(outside, 40);
	assert_int_equal(app.calls, 6);
	assert_int_equal(app.capped, 1);
	assert_int_equal(count_replies(), 2);
	/* Half a second: 50 more bytes, one more 40-byte reply. */
	net->now_tsc += net->tsc_hz / 2;
	send_udp(outside, 40);
	send_udp(outside, 40);
	assert_int_equal(app.capped, 2);
	assert_int_equal(count_replies(), 1);
	/* Another source has its own budget. */
	send_udp(IP4(10, 200, 33, 1), 40);
	assert_int_equal(count_replies(), 1);
	/* Long idle: back to one second's worth, never more. */
	net->now_tsc += 10 * net->tsc_hz;
	for (int i = 0; i < 4; i++)
		send_udp(outside, 40);
	assert_int_equal(app.capped, 4);
	assert_int_equal(count_replies(), 2);
	/* Subnet sources are never charged. */
	for (int i = 0; i < 5; i++)
		send_udp(CLI_IP, 40);
	assert_int_equal(count_replies(), 5);
	assert_int_equal(app.capped, 4);
	assert_int_equal(st.udp_datagrams, app.calls);
}

static void test_budget(void **state)
{
	struct wc_udp_peer a = { .ip = rte_cpu_to_be_32(IP4(10, 200, 9, 9)), .open = true };
	struct wc_udp_peer b = { .open = true };
	struct wc_udp_peer closed = { .ip = a.ip, .open = false };
	bool found = false;

	(void)state;
	ifc.udp_open = true;
	ifc.udp_open_budget = 1000;
	assert_true(wc_udp_budget_take(net, &a, 1000));
	assert_false(wc_udp_budget_take(net, &a, 1));
	assert_true(wc_udp_budget_take(net, &closed, 100000));
	/* Refill is proportional to time: 1 ms = 1 byte. */
	net->now_tsc += net->tsc_hz / 1000 * 7;
	assert_true(wc_udp_budget_take(net, &a, 7));
	assert_false(wc_udp_budget_take(net, &a, 1));
	/* Small steps add up: no fraction lost. */
	for (int i = 0; i < 10; i++)
		net->now_tsc += net->tsc_hz / 10000;
	assert_true(wc_udp_budget_take(net, &a, 1));
	assert_false(wc_udp_budget_take(net, &a, 1));
	/* Larger than the whole budget: never. */
	net->now_tsc += 100 * net->tsc_hz;
	assert_false(wc_udp_budget_take(net, &a, 1001));
	assert_true(wc_udp_budget_take(net, &a, 1000));

	/*
	 * A colliding source takes the slot over with the tokens left in it:
	 * find one by its empty budget (every other slot is full).
	 */
	for (uint32_t h = 1; h < 0xffff && !found; h++) {
		b.ip = rte_cpu_to_be_32(IP4(10, 201, 0, 0) | h);
		if (!wc_udp_budget_take(net, &b, 1))
			found = true;
	}
	assert_true(found);
	net->now_tsc += net->tsc_hz / 1000 * 5;
	assert_true(wc_udp_budget_take(net, &b, 5));
	assert_false(wc_udp_budget_take(net, &a, 1));

	/* A budget of zero answers nothing, however long the source waits. */
	ifc.udp_open_budget = 0;
	memset(net->budget, 0, sizeof(net->budget));
	assert_false(wc_udp_budget_take(net, &a, 1));
	net->now_tsc += 100 * net->tsc_hz;
	assert_false(wc_udp_budget_take(net, &a, 1));
	assert_true(wc_udp_budget_take(net, &a, 0));
}

static void test_tx_offload(void **state)
{
	uint8_t f[MAXF], r[MAXF], data[64];
	const uint8_t *ip, *u;
	struct rte_mbuf *m;
	size_t len, rlen;

	(void)state;
	fill(data, sizeof(data), 4);
	ifc.tx_offloads = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	for (int vlan = -1; vlan <= 12; vlan += 13) {
		size_t l2 = vlan >= 0 ? 18 : 14;

		len = udp_frame(f, vlan, CLI_IP, 4000, MC_PORT, data, 21);
		input(mk(f, len, 0));
		rlen = one_reply(r, &m);
		assert_int_equal(rlen, l2 + 28 + 21);
		assert_int_equal(m->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
						      RTE_MBUF_F_TX_UDP_CKSUM);
		assert_int_equal(m->l2_len, l2);
		assert_int_equal(m->l3_len, 20);
		ip = r + l2;
		u = ip + 20;
		assert_int_equal(get16(ip + 10), 0);
		/* The pseudo-header sum, not complemented. */
		assert_int_equal(get16(u + 6), fold(pseudo(ip, 17, 8 + 21)));
		rte_pktmbuf_free(m);
	}

	/* UDP in software, IP by the NIC. */
	ifc.tx_offloads = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, data, 21);
	input(mk(f, len, 0));
	rlen = one_reply(r, &m);
	assert_int_equal(m->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
	assert_int_equal(get16(r + 14 + 10), 0);
	assert_true(udp_csum_ok(r + 14, r + 34, 8 + 21));
	rte_pktmbuf_free(m);

	/* UDP by the NIC, IP in software. */
	ifc.tx_offloads = RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	input(mk(f, len, 0));
	rlen = one_reply(r, &m);
	assert_int_equal(m->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM);
	assert_int_equal(csum(r + 14, 20), 0);
	assert_int_equal(get16(r + 34 + 6), fold(pseudo(r + 14, 17, 8 + 21)));
	rte_pktmbuf_free(m);

	/* ICMP echo: the IP checksum is left to the NIC. */
	ifc.tx_offloads = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	len = icmp_frame(f, -1, CLI_IP, 8, data, 9);
	input(mk(f, len, 0));
	rlen = one_reply(r, &m);
	assert_int_equal(m->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
	assert_int_equal(m->l2_len, 14);
	assert_int_equal(m->l3_len, 20);
	assert_int_equal(get16(r + 14 + 10), 0);
	assert_int_equal(csum(r + 34, rlen - 34), 0);
	rte_pktmbuf_free(m);

	/* No offloads: no TX flags, receive flags cleared. */
	ifc.tx_offloads = 0;
	m = mk(f, len, 0);
	m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	input(m);
	rlen = one_reply(r, &m);
	assert_int_equal(m->ol_flags, 0);
	rte_pktmbuf_free(m);
}

/* Jumbo frames in segments, and headers cut across segment boundaries. */
static void test_multiseg(void **state)
{
	static const size_t segs[] = { 1, 2, 3, 5, 7, 13, 17, 64, 1000, 2000 };
	static uint8_t f[MAXF], r[MAXF], data[9000];
	size_t len, rlen;

	(void)state;
	fill(data, sizeof(data), 8);
	for (size_t s = 0; s < RTE_DIM(segs); s++) {
		size_t plen = segs[s] < 5 ? 300 : 8972;

		len = udp_frame(f, s & 1 ? 6 : -1, CLI_IP, 4000, MC_PORT, data, plen);
		input(mk(f, len, segs[s]));
		assert_int_equal(app.len, plen);
		assert_memory_equal(app.payload, data, plen);
		rlen = one_reply(r, NULL);
		check_udp_reply(r, rlen, s & 1 ? 6 : -1, CLI_IP, 4000, data, plen);

		len = icmp_frame(f, s & 1 ? 6 : -1, CLI_IP, 8, data, plen + 1);
		input(mk(f, len, segs[s]));
		rlen = one_reply(r, NULL);
		check_echo_reply(f, len, r, rlen, s & 1 ? 6 : -1);
	}
	/* A chained reply with offloads: the pseudo-header sum only. */
	ifc.tx_offloads = RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	len = udp_frame(f, -1, CLI_IP, 4000, MC_PORT, data, 5000);
	input(mk(f, len, 2000));
	rlen = one_reply(r, NULL);
	assert_int_equal(get16(r + 34 + 6), fold(pseudo(r + 14, 17, 5008)));
	assert_int_equal(drops(&st), 0);
}

static void test_tx_flush(void **state)
{
	struct rte_mbuf *out[2048];
	unsigned int n, free_slots;

	(void)state;
	/* The queue flushes itself when full. */
	for (int i = 0; i < WC_TX_MAX; i++)
		assert_int_equal(wc_net_garp(net), 0);
	assert_int_equal(net->ntx, 0);
	assert_int_equal(rte_ring_count(txring), WC_TX_MAX);
	assert_int_equal(st.tx_packets, WC_TX_MAX);
	assert_int_equal(st.tx_bytes, WC_TX_MAX * 60);
	assert_int_equal(wc_net_tx_flush(net), 0);
	n = rte_ring_dequeue_burst(txring, (void **)out, RTE_DIM(out), NULL);
	rte_pktmbuf_free_bulk(out, n);

	/* A port that takes only some: the rest is freed and counted. */
	free_slots = rte_ring_free_count(txring);
	for (unsigned int i = 0; i < free_slots - 3; i++) {
		out[i] = rte_pktmbuf_alloc(pool);
		assert_non_null(out[i]);
	}
	assert_int_equal(rte_ring_enqueue_bulk(txring, (void **)out, free_slots - 3, NULL),
			 free_slots - 3);
	memset(&st, 0, sizeof(st));
	for (int i = 0; i < 10; i++)
		assert_int_equal(wc_net_garp(net), 0);
	assert_int_equal(wc_net_tx_flush(net), 3);
	assert_int_equal(net->ntx, 0);
	assert_int_equal(st.tx_packets, 3);
	assert_int_equal(st.tx_bytes, 3 * 60);
	assert_int_equal(st.tx_dropped, 7);
	assert_int_equal(wc_net_tx_flush(net), 0);
}

static void test_cidr_parse(void **state)
{
	static const char *bad[] = {
		"",
		"1",
		"10.200.3",
		"10.200.3.4.5",
		"256.1.1.1",
		"10.200.3.256",
		"10.200.3.4/33",
		"10.200.3.4/",
		"10.200.3.4/-1",
		" 10.200.3.4",
		"10.200.3.4 ",
		"a.b.c.d",
		"010.200.3.4",
		"10.200.3.4/024",
		"1..2.3",
		"10.200.3.4/8x",
		"1234.1.1.1",
		"10.200.3.4//8",
		"10.200.3.4/100",
		"+10.200.3.4",
		"10.200.3.-4",
		"10.200.3.4\n",
		"0x10.200.3.4",
		"10.200.3.4/0x8",
	};
	struct wc_cidr c;

	(void)state;
	assert_int_equal(wc_cidr_parse("10.200.0.1/24", &c), 0);
	assert_int_equal(c.addr, rte_cpu_to_be_32(OUR_IP)); /* host bits kept */
	assert_int_equal(c.mask, rte_cpu_to_be_32(0xffffff00));
	assert_int_equal(wc_cidr_parse("10.200.0.7", &c), 0);
	assert_int_equal(c.addr, rte_cpu_to_be_32(IP4(10, 200, 0, 7)));
	assert_int_equal(c.mask, 0xffffffff);
	assert_int_equal(wc_cidr_parse("0.0.0.0/0", &c), 0);
	assert_int_equal(c.addr, 0);
	assert_int_equal(c.mask, 0);
	assert_int_equal(wc_cidr_parse("255.255.255.255/32", &c), 0);
	assert_int_equal(c.addr, 0xffffffff);
	assert_int_equal(wc_cidr_parse("10.200.0.0/1", &c), 0);
	assert_int_equal(c.mask, rte_cpu_to_be_32(0x80000000));
	assert_int_equal(wc_cidr_parse("10.200.0.0/16", &c), 0);
	assert_int_equal(c.mask, rte_cpu_to_be_32(0xffff0000));
	for (size_t i = 0; i < RTE_DIM(bad); i++)
		if (wc_cidr_parse(bad[i], &c) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(wc_cidr_parse(NULL, &c), -EINVAL);
}

/* ---- robustness: random and mutated frames ------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	/* xorshift64*: seeded, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* Every frame sent is well formed: checksums right, lengths consistent. */
static unsigned int check_replies(void)
{
	static uint8_t r[MAXF];
	struct rte_mbuf *out[64];
	unsigned int n = collect(out, 64);

	for (unsigned int i = 0; i < n; i++) {
		size_t len = flat(out[i], r), l2 = 14;
		uint16_t type = get16(r + 12);
		const uint8_t *ip;
		size_t tot;

		assert_memory_equal(r + 6, our_mac, 6);
		if (type == 0x8100) {
			l2 = 18;
			type = get16(r + 16);
		}
		if (type == 0x0806) {
			assert_true(len >= l2 + 28);
			assert_int_equal(get16(r + l2 + 6), 2);
			assert_int_equal(get32(r + l2 + 14), OUR_IP);
			continue;
		}
		assert_int_equal(type, 0x0800);
		ip = r + l2;
		tot = get16(ip + 2);
		assert_int_equal(len, l2 + tot);
		assert_int_equal(csum(ip, 20), 0);
		assert_int_equal(get32(ip + 12), OUR_IP);
		if (ip[9] == 1)
			assert_int_equal(csum(ip + 20, tot - 20), 0);
		else
			assert_true(ip[9] == 17 && udp_csum_ok(ip, ip + 20, tot - 20));
	}
	if (n > 0)
		rte_pktmbuf_free_bulk(out, n);
	return n;
}

static void test_random_frames(void **state)
{
	static const uint64_t flags[] = {
		0,
		RTE_MBUF_F_RX_IP_CKSUM_GOOD,
		RTE_MBUF_F_RX_IP_CKSUM_BAD,
		RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_IP_CKSUM_GOOD,
		RTE_MBUF_F_RX_L4_CKSUM_BAD,
		RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED,
	};
	static uint8_t f[MAXF], data[3000];
	struct rte_mbuf *burst[32];
	unsigned int nb = 0;

	(void)state;
	ifc.udp_open = true;
	ifc.udp_open_budget = 5000;
	ifc.tx_offloads = 0;
	fill(data, sizeof(data), 6);
	for (int iter = 0; iter < 30000; iter++) {
		struct wc_lcore_stats before = st;
		unsigned int calls = app.calls;
		int vlan = rnd() % 3 == 0 ? (int)(rnd() & 0xfff) : -1;
		uint32_t src = rnd() % 4 ? CLI_IP : rnd();
		size_t len, l2 = vlan >= 0 ? 18 : 14;
		size_t plen = rnd() % 8 == 0 ? rnd() % 2900 : rnd() % 80;
		uint32_t r = rnd();
		struct rte_mbuf *m;
		uint64_t done;

		switch (r % 4) {
		case 0:
			len = udp_frame(f, vlan, src, (uint16_t)rnd(), MC_PORT, data, plen);
			break;
		case 1:
			len = icmp_frame(f, vlan, src, rnd() % 4 ? 8 : (uint8_t)rnd(), data, plen);
			break;
		case 2:
			len = arp_frame(f, vlan, rnd() % 2 ? bcast : our_mac, (uint16_t)(rnd() % 3),
					rnd() % 2 ? CLI_IP : rnd(), zero_mac,
					rnd() % 2 ? OUR_IP : rnd());
			break;
		default:
			len = rnd() % 200;
			for (size_t i = 0; i < len; i++)
				f[i] = (uint8_t)rnd();
			if (len >= 6 && rnd() % 2)
				memcpy(f, our_mac, 6);
			break;
		}
		/* Mutate header bytes, then maybe repair the checksums. */
		if (rnd() % 2) {
			unsigned int k = 1 + rnd() % 3;

			for (unsigned int i = 0; i < k && len > 0; i++)
				f[rnd() % RTE_MIN(len, l2 + 28 + 8)] ^=
					(uint8_t)(1u << (rnd() % 8));
			if (rnd() % 2 && len >= l2 + 20 && (f[l2] & 0xf) == 5) {
				size_t tot = get16(f + l2 + 2);

				ip_fix(f + l2);
				if (tot >= 28 && l2 + tot <= len && f[l2 + 9] == 17)
					udp_fix(f + l2);
				else if (tot >= 28 && l2 + tot <= len && f[l2 + 9] == 1)
					icmp_fix(f + l2);
			}
		}
		/* Cut or extend. */
		if (rnd() % 4 == 0 && len > 0)
			len = rnd() % len;
		else if (rnd() % 8 == 0)
			for (size_t add = rnd() % 64; add > 0 && len < MAXF; add--)
				f[len++] = (uint8_t)rnd();
		m = mk(f, len, rnd() % 3 == 0 ? 1 + rnd() % 300 : 0);
		m->ol_flags = flags[rnd() % RTE_DIM(flags)];
		m->vlan_tci = (uint16_t)rnd();

		if (rnd() % 4 == 0) {
			/* In a burst, to exercise the prefetching loop. */
			burst[nb++] = m;
			if (nb == RTE_DIM(burst)) {
				wc_net_input(net, burst, (uint16_t)nb);
				nb = 0;
			}
		} else {
			input(m);
			/* Each frame: exactly one drop, or it did something. */
			done = st.arp_requests_answered - before.arp_requests_answered +
			       st.icmp_echo_replies - before.icmp_echo_replies + st.udp_datagrams -
			       before.udp_datagrams;
			assert_true(drops(&st) - drops(&before) + done <= 1);
			if (drops(&st) == drops(&before) && done == 0)
				assert_int_not_equal(st.arp_learned, before.arp_learned);
			assert_int_equal(app.calls - calls,
					 st.udp_datagrams - before.udp_datagrams);
		}
		if (iter % 64 == 0) {
			net->now_tsc += net->tsc_hz / 100;
			check_replies();
		}
	}
	if (nb > 0)
		wc_net_input(net, burst, (uint16_t)nb);
	check_replies();
	assert_int_equal(st.rx_packets, 30000);
	/* The mix reached every layer. */
	assert_true(st.arp_requests_answered > 100);
	assert_true(st.icmp_echo_replies > 500);
	assert_true(st.udp_datagrams > 500);
	assert_true(st.drop_ip_checksum > 100 && st.drop_udp_checksum > 100);
	assert_true(st.drop_icmp_malformed > 10 && st.drop_udp_malformed > 10);
	assert_int_equal(st.tx_dropped, 0);
}

/* ---- the fast path: same verdicts, same replies ------------------------- */

/* The fixture with an application that answers in place, for the drop tests again. */
static int setup_fast(void **state)
{
	setup(state);
	ifc.apps[0].fast = echo_fast;
	return 0;
}

/* A test run again under setup_fast(), by another name. */
#define FAST_AGAIN(f)                                     \
	{                                                 \
#f "_fast", f, setup_fast, teardown, NULL \
	}

/* A reply as the port got it: bytes and the fields a NIC reads. */
struct sent {
	unsigned int n;
	size_t len[64];
	uint64_t ol[64];
	uint16_t l2[64], l3[64];
	uint8_t bytes[64][2048];
};

static void take_sent(struct sent *s)
{
	struct rte_mbuf *out[64];

	s->n = collect(out, 64);
	for (unsigned int i = 0; i < s->n; i++) {
		assert_true(out[i]->pkt_len <= sizeof(s->bytes[i]));
		s->len[i] = flat(out[i], s->bytes[i]);
		s->ol[i] = out[i]->ol_flags;
		s->l2[i] = out[i]->l2_len;
		s->l3[i] = out[i]->l3_len;
	}
	rte_pktmbuf_free_bulk(out, s->n);
}

static void same_sent(const struct sent *a, const struct sent *b)
{
	assert_int_equal(b->n, a->n);
	for (unsigned int i = 0; i < a->n; i++) {
		assert_int_equal(b->len[i], a->len[i]);
		assert_memory_equal(b->bytes[i], a->bytes[i], a->len[i]);
		assert_int_equal(b->ol[i], a->ol[i]);
		assert_int_equal(b->l2[i], a->l2[i]);
		assert_int_equal(b->l3[i], a->l3[i]);
	}
}

/*
 * An interface for the fast path's comparisons: a mask, allowlist, open
 * policy and offloads at random, to reach every branch of the source test.
 * @return the mask, host order.
 */
static uint32_t pick_iface(void)
{
	static const uint32_t masks[] = { 0xffffff00, 0xffffff00, 0xfffffffc, 0xfffffffe,
					  0xffffffff, 0xffff0000, 0xff000000, 0xf0000000,
					  0xffff00ff, 0 };
	uint32_t mask = masks[rnd() % RTE_DIM(masks)];

	ifc.netmask = rte_cpu_to_be_32(mask);
	ifc.n_allow = rnd() % 2;
	assert_int_equal(wc_cidr_parse("10.200.8.0/23", &ifc.allow[0]), 0);
	ifc.udp_open = rnd() % 4 == 0;
	ifc.udp_open_budget = 3000;
	ifc.tx_offloads = (rnd() % 2 ? RTE_ETH_TX_OFFLOAD_IPV4_CKSUM : 0) |
			  (rnd() % 2 ? RTE_ETH_TX_OFFLOAD_UDP_CKSUM : 0);
	return mask;
}

/*
 * A UDP frame to our port @p port most of the time, for an interface of
 * @p mask: sources of every kind, payloads small and large, sometimes
 * segmented, tagged, with bits flipped (headers refixed or not), cut short
 * or padded, with every verdict of the NIC's checksum flags.
 * @return its length, with its segment size in *seg and RX flags in *ol.
 */
static size_t gen_frame(uint8_t *f, uint32_t mask, uint16_t port, size_t *seg, uint64_t *ol)
{
	static const uint64_t flags[] = {
		0,
		RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD,
		RTE_MBUF_F_RX_IP_CKSUM_GOOD,
		RTE_MBUF_F_RX_L4_CKSUM_GOOD,
		RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE,
		RTE_MBUF_F_RX_IP_CKSUM_BAD | RTE_MBUF_F_RX_L4_CKSUM_GOOD,
		RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD,
		RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED | RTE_MBUF_F_RX_IP_CKSUM_GOOD |
			RTE_MBUF_F_RX_L4_CKSUM_GOOD,
	};
	static uint8_t data[1500];
	uint32_t subnet = OUR_IP & mask, src;
	size_t len, plen = rnd() % 8 == 0 ? rnd() % 1400 : 1 + rnd() % 60;

	fill(data, sizeof(data), 9);
	*seg = rnd() % 8 == 0 ? 1 + rnd() % 100 : 0;
	*ol = flags[rnd() % RTE_DIM(flags)];
	switch (rnd() % 8) {
	case 0:
		src = subnet;
		break;
	case 1:
		src = subnet | ~mask;
		break;
	case 2:
		src = OUR_IP;
		break;
	case 3:
		src = rnd();
		break;
	case 4:
		src = IP4(10, 200, 8, rnd() & 0xff);
		break;
	default:
		src = subnet | (rnd() & ~mask);
		break;
	}
	memcpy(src_mac, cli_mac, 6);
	if (rnd() % 16 == 0)
		src_mac[5] = (uint8_t)rnd();
	len = udp_frame(f, rnd() % 16 == 0 ? 7 : -1, src, (uint16_t)rnd(),
			rnd() % 16 ? port : (uint16_t)rnd(), data, plen);
	if (rnd() % 2) {
		unsigned int k = 1 + rnd() % 3;

		for (unsigned int i = 0; i < k; i++)
			f[rnd() % 42] ^= (uint8_t)(1u << (rnd() % 8));
		if (rnd() % 2 && (f[14] & 0xf) == 5) {
			ip_fix(f + 14);
			if (get16(f + 16) >= 28 && 14 + (size_t)get16(f + 16) <= len)
				udp_fix(f + 14);
		}
	}
	if (rnd() % 8 == 0 && len > 0)
		len = rnd() % len;
	else if (rnd() % 8 == 0)
		for (size_t add = rnd() % 40; add > 0; add--)
			f[len++] = (uint8_t)rnd();
	return len;
}

/* Frames of a burst, to feed the same twice. */
struct burst {
	unsigned int n;
	size_t len[64], seg[64];
	uint64_t ol[64];
	uint8_t f[64][2048];
};

static void feed(const struct burst *b)
{
	struct rte_mbuf *m[64];

	for (unsigned int i = 0; i < b->n; i++) {
		m[i] = mk(b->f[i], b->len[i], b->seg[i]);
		m[i]->ol_flags = b->ol[i];
	}
	wc_net_input(net, m, (uint16_t)b->n);
}

/*
 * Feed @p b from the same state to the applications without an answer in
 * place (every frame through wc_udp_send()), then with it (@p fast on each
 * application): counters, ARP cache, IP id and the replies' bytes, in
 * order, must come out the same.
 * @return the replies.
 */
static unsigned int both_ways(const struct burst *b, wc_udp_fast_t fast, int iter)
{
	static struct wc_net before;
	static struct wc_arp_entry arp_a[WC_ARP_SLOTS];
	static struct sent a, c;
	struct wc_lcore_stats st0, st_a;
	uint16_t ip_id_a;

	before = *net;
	st0 = st;
	for (unsigned int i = 0; i < ifc.n_apps; i++)
		ifc.apps[i].fast = NULL;
	feed(b);
	take_sent(&a);
	st_a = st;
	ip_id_a = net->ip_id;
	memcpy(arp_a, net->arp, sizeof(arp_a));

	*net = before;
	st = st0;
	for (unsigned int i = 0; i < ifc.n_apps; i++)
		ifc.apps[i].fast = fast;
	feed(b);
	take_sent(&c);
	for (unsigned int i = 0; i < ifc.n_apps; i++)
		ifc.apps[i].fast = NULL;

	if (memcmp(&st, &st_a, sizeof(st)) != 0)
		fail_msg("iter %d: counters differ with the answer in place", iter);
	assert_memory_equal(net->arp, arp_a, sizeof(arp_a));
	assert_int_equal(net->ip_id, ip_id_a);
	same_sent(&a, &c);
	return a.n;
}

/*
 * Mutated UDP frames, each fed alone twice from the same state: the fast
 * path neither accepts a frame the layered path would treat otherwise nor
 * answers differently.
 */
static void test_fast_same(void **state)
{
	static struct burst b;
	unsigned int answered = 0;

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		uint32_t mask = pick_iface();

		b.n = 1;
		b.len[0] = gen_frame(b.f[0], mask, MC_PORT, &b.seg[0], &b.ol[0]);
		if (rnd() % 8 == 0)
			net->now_tsc += net->tsc_hz / 10;
		answered += both_ways(&b, echo_fast, iter);
	}
	/* The mix had both outcomes in numbers, and the fast path its share. */
	assert_true(answered > 2000 && answered < 19000);
	assert_true(app.in_place > answered / 4);
}

/*
 * The same in bursts of 1 to 64 frames, longer than a run the application
 * is offered at once, for two applications that answer in place, among
 * ARP requests and ICMP echoes: what the fast path holds for a run must
 * take effect and be answered in the order the frames came, runs cut short
 * by a datagram the application declines or by any other frame.
 */
static void test_fast_burst_same(void **state)
{
	static struct burst b;
	unsigned int answered = 0;
	uint8_t ping[56];

	(void)state;
	fill(ping, sizeof(ping), 3);
	ifc.apps[1].port = rte_cpu_to_be_16(MC_PORT + 1);
	ifc.apps[1].input = echo_app;
	ifc.n_apps = 2;
	net->app_arg[1] = &app;
	for (int iter = 0; iter < 1500; iter++) {
		uint32_t mask = pick_iface();

		b.n = 1 + rnd() % 64;
		for (unsigned int i = 0; i < b.n; i++) {
			unsigned int kind = rnd() % 16;

			b.seg[i] = 0;
			b.ol[i] = 0;
			memcpy(src_mac, cli_mac, 6);
			if (kind == 0)
				b.len[i] =
					arp_frame(b.f[i], -1, bcast, 1, CLI_IP, zero_mac, OUR_IP);
			else if (kind == 1)
				b.len[i] = icmp_frame(b.f[i], -1, CLI_IP, 8, ping, sizeof(ping));
			else
				b.len[i] = gen_frame(b.f[i], mask, kind < 4 ? MC_PORT + 1 : MC_PORT,
						     &b.seg[i], &b.ol[i]);
		}
		answered += both_ways(&b, echo_fast, iter);
	}
	assert_true(answered > 10000);
	assert_true(app.in_place > answered / 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arp_request_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_other_ip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_learning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ip_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_cksum_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_source_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_offload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiseg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cidr_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_frames, setup, teardown),
		FAST_AGAIN(test_ip_drops),
		FAST_AGAIN(test_udp_bad),
		FAST_AGAIN(test_rx_cksum_flags),
		FAST_AGAIN(test_truncated),
		cmocka_unit_test_setup_teardown(test_fast_same, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_burst_same, setup, teardown),
	};
	struct wc_test_port tp;
	int rc;

	if (wc_test_port_start("test_net", POOL_SIZE, &tp) != 0)
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
