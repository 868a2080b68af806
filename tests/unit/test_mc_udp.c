/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached's UDP framing: the 8-byte frame header of requests, replies split
 * into datagrams of at most 1400 bytes with request id, sequence number and
 * total, and the drops (short header, multi-datagram request, a request cut
 * mid-command, a reply over an open source's budget). Frames go in through
 * the real network stack and replies come back out of a net_ring port whose
 * TX ring loops to its RX ring.
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
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "dataplane/net/net.h"
#include "dataplane/proto/mc.h"
#include "dataplane/proto/mc_udp.h"
#include "eal_helper.h"
#include "store/store.h"
#include "tests/support/pool.h"

#define RING_PORT "net_ring_wctmcudp"
#define OUR_IP	  0x0ac80001u /* 10.200.0.1 */
#define CLI_IP	  0x0ac80002u /* 10.200.0.2, same subnet */
#define FAR_IP	  0x0ac80905u /* 10.200.9.5, outside the /24 */
#define BIG	  500000u

static struct rte_mempool *pool;
static uint16_t port_id;
static struct wc_iface ifc;
static struct wc_net *net;
static struct wc_lcore_stats st;
static struct wc_store *store;
static struct wc_mc_server srv;
static struct wc_mc_ctx mc;
static uint8_t *bigval;

/* One reply datagram as the client sees it. */
struct dgram {
	uint16_t req_id, seq, total, reserved;
	uint16_t len; /* UDP payload bytes, header included */
	uint8_t data[1500];
};

static struct dgram got[512];

static size_t frame(uint8_t *f, uint32_t src, const void *payload, size_t len)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	eth->dst_addr = ifc.mac;
	memset(&eth->src_addr, 0, sizeof(eth->src_addr));
	eth->src_addr.addr_bytes[0] = 0x02;
	eth->src_addr.addr_bytes[5] = 0x02;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(28 + len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(OUR_IP);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(40000);
	udp->dst_port = rte_cpu_to_be_16(11211);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + len));
	udp->dgram_cksum = 0;
	memcpy(udp + 1, payload, len);
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	return sizeof(*eth) + 28 + len;
}

/* Send one datagram (frame header + text) from @p src; collect the replies. */
/* A request's frame header: id, sequence number, total, reserved 0. */
static void put_hdr(uint8_t *p, uint16_t id, uint16_t seq, uint16_t total)
{
	p[0] = (uint8_t)(id >> 8);
	p[1] = (uint8_t)id;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[4] = (uint8_t)(total >> 8);
	p[5] = (uint8_t)total;
	p[6] = p[7] = 0;
}

/* Flush the stack's TX and collect what the port looped back into got[]. */
static unsigned int take_replies(void)
{
	struct rte_mbuf *rx[32];
	unsigned int n = 0;
	uint16_t k;

	wc_net_tx_flush(net);
	while ((k = rte_eth_rx_burst(port_id, 0, rx, 32)) > 0) {
		for (uint16_t i = 0; i < k; i++) {
			const uint8_t *p = rte_pktmbuf_mtod(rx[i], const uint8_t *);
			const struct rte_udp_hdr *u =
				(const struct rte_udp_hdr *)(p + sizeof(struct rte_ether_hdr) +
							     sizeof(struct rte_ipv4_hdr));
			const uint8_t *d = (const uint8_t *)(u + 1);
			struct dgram *g = &got[n++];

			assert_true(n <= sizeof(got) / sizeof(got[0]));
			assert_int_equal(rx[i]->nb_segs, 1);
			g->len = (uint16_t)(rte_be_to_cpu_16(u->dgram_len) - 8);
			assert_true(g->len >= WC_MC_UDP_HDR && g->len <= WC_MC_UDP_DGRAM_MAX);
			g->req_id = (uint16_t)(d[0] << 8 | d[1]);
			g->seq = (uint16_t)(d[2] << 8 | d[3]);
			g->total = (uint16_t)(d[4] << 8 | d[5]);
			g->reserved = (uint16_t)(d[6] << 8 | d[7]);
			memcpy(g->data, d + WC_MC_UDP_HDR, g->len - WC_MC_UDP_HDR);
			rte_pktmbuf_free(rx[i]);
		}
	}
	return n;
}

static unsigned int exchange(uint32_t src, uint16_t id, uint16_t seq, uint16_t total,
			     const char *text, size_t tlen)
{
	static uint8_t payload[1500], f[1600];
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	assert_true(8 + tlen <= sizeof(payload));
	put_hdr(payload, id, seq, total);
	memcpy(payload + 8, text, tlen);
	size_t flen = frame(f, src, payload, 8 + tlen);

	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)flen), f, flen);
	net->now_tsc = rte_rdtsc();
	wc_net_input(net, &m, 1);
	return take_replies();
}

static unsigned int send_text(uint32_t src, uint16_t id, const char *text)
{
	return exchange(src, id, 0, 1, text, strlen(text));
}

/* The reply's bytes in sequence order, checking the headers on the way. */
static size_t reassemble(unsigned int n, uint16_t id, uint8_t *out)
{
	size_t len = 0;

	for (unsigned int want = 0; want < n; want++) {
		unsigned int i;

		for (i = 0; i < n && got[i].seq != want; i++)
			;
		assert_true(i < n);
		assert_int_equal(got[i].req_id, id);
		assert_int_equal(got[i].total, n);
		assert_int_equal(got[i].reserved, 0);
		memcpy(out + len, got[i].data, got[i].len - WC_MC_UDP_HDR);
		len += got[i].len - WC_MC_UDP_HDR;
	}
	return len;
}

static void test_parse_hdr(void **state)
{
	static const uint8_t ok[8] = { 0x12, 0x34, 0, 0, 0, 1, 0xab, 0xcd };
	static const uint8_t two[8] = { 0, 1, 0, 0, 0, 2, 0, 0 };
	static const uint8_t second[8] = { 0, 1, 0, 1, 0, 2, 0, 0 };
	struct wc_mc_udp_hdr h;

	(void)state;
	assert_int_equal(wc_mc_udp_parse_hdr(ok, 8, &h), 0);
	assert_int_equal(h.req_id, 0x1234);
	assert_int_equal(h.seq, 0);
	assert_int_equal(h.total, 1);
	assert_int_equal(h.reserved, 0xabcd);
	for (size_t len = 0; len < 8; len++)
		assert_int_equal(wc_mc_udp_parse_hdr(ok, len, &h), -EINVAL);
	assert_int_equal(wc_mc_udp_parse_hdr(two, 8, &h), -EMSGSIZE);
	assert_int_equal(wc_mc_udp_parse_hdr(second, 8, &h), -EMSGSIZE);
}

static void test_small_reply(void **state)
{
	unsigned int n;

	(void)state;
	n = send_text(CLI_IP, 0xbeef, "set k 7 0 3\r\nabc\r\n");
	assert_int_equal(n, 1);
	assert_int_equal(got[0].req_id, 0xbeef);
	assert_int_equal(got[0].seq, 0);
	assert_int_equal(got[0].total, 1);
	assert_int_equal(got[0].len, 8 + 8);
	assert_memory_equal(got[0].data, "STORED\r\n", 8);
	n = send_text(CLI_IP, 7, "get k\r\n");
	assert_int_equal(n, 1);
	assert_memory_equal(got[0].data, "VALUE k 7 3\r\nabc\r\nEND\r\n", 23);
	/* noreply: nothing at all comes back. */
	assert_int_equal(send_text(CLI_IP, 8, "set k 0 0 1 noreply\r\nx\r\n"), 0);
}

static void test_big_reply_split(void **state)
{
	static uint8_t out[BIG + 256];
	char head[64];
	size_t len, hl;
	unsigned int n, want;

	(void)state;
	assert_int_equal(wc_store_set(store, WC_MODE_SET, "big", 3, wc_store_hash("big", 3), bigval,
				      BIG, 0, 0, 0, NULL),
			 WC_STORE_OK);
	n = send_text(CLI_IP, 0x4242, "get big\r\n");
	hl = (size_t)snprintf(head, sizeof(head), "VALUE big 0 %u\r\n", BIG);
	want = (unsigned int)((hl + BIG + 7 + WC_MC_UDP_DATA_MAX - 1) / WC_MC_UDP_DATA_MAX);
	assert_int_equal(n, want);
	for (unsigned int i = 0; i + 1 < n; i++)
		assert_int_equal(got[i].len, WC_MC_UDP_DGRAM_MAX);
	len = reassemble(n, 0x4242, out);
	assert_int_equal(len, hl + BIG + 7);
	assert_memory_equal(out, head, hl);
	assert_memory_equal(out + hl, bigval, BIG);
	assert_memory_equal(out + hl + BIG, "\r\nEND\r\n", 7);
}

static void test_drops(void **state)
{
	uint64_t before;

	(void)state;
	before = st.drop_mc_multi_dgram;
	assert_int_equal(exchange(CLI_IP, 1, 0, 2, "get k\r\n", 7), 0);
	assert_int_equal(exchange(CLI_IP, 1, 1, 2, "get k\r\n", 7), 0);
	assert_int_equal(st.drop_mc_multi_dgram, before + 2);

	before = st.drop_mc_frame;
	/* A header and no command: nothing to answer, nothing dropped. */
	assert_int_equal(exchange(CLI_IP, 1, 0, 1, "", 0), 0);
	{
		/* A datagram shorter than the header. */
		static uint8_t f[128];
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		size_t flen = frame(f, CLI_IP, "\x00\x01\x00", 3);

		memcpy(rte_pktmbuf_append(m, (uint16_t)flen), f, flen);
		wc_net_input(net, &m, 1);
		wc_net_tx_flush(net);
	}
	assert_int_equal(st.drop_mc_frame, before + 1);

	/* Complete commands are answered; the cut one is counted. */
	before = st.drop_mc_truncated;
	assert_int_equal(send_text(CLI_IP, 9, "get k\r\nset z 0 0 10\r\nabc"), 1);
	assert_memory_equal(got[0].data, "VALUE k 0 1\r\nx\r\nEND\r\n", 21);
	assert_int_equal(st.drop_mc_truncated, before + 1);
	assert_null(wc_store_lookup(store, "z", 1, wc_store_hash("z", 1)));
}

static void test_open_source_budget(void **state)
{
	uint64_t before = st.drop_udp_reply_cap, src = st.drop_udp_source;

	(void)state;
	/* Closed (the default): an outside source gets nothing. */
	ifc.udp_open = false;
	assert_int_equal(send_text(FAR_IP, 1, "get k\r\n"), 0);
	assert_int_equal(st.drop_udp_source, src + 1);
	/* Open: small replies within the budget; a big one is refused whole. */
	ifc.udp_open = true;
	ifc.udp_open_budget = 4096;
	assert_int_equal(send_text(FAR_IP, 2, "get k\r\n"), 1);
	assert_int_equal(send_text(FAR_IP, 3, "get big\r\n"), 0);
	assert_int_equal(st.drop_udp_reply_cap, before + 1);
	/* The subnet itself is never capped. */
	assert_true(send_text(CLI_IP, 4, "get big\r\n") > 300);
	ifc.udp_open = false;
}

/*
 * A lone "get <key>" is answered by a shorter path than other datagrams:
 * its replies and counters must be those of the general one, at every
 * boundary where it hands over (a reply needing more than one datagram, or
 * one it cannot prove fits, several commands, a key too long).
 */
static void test_single_get(void **state)
{
	static char val[1400], req[400], want[1600];
	static const uint32_t sizes[] = { 0, 1, 32, 1300, 1350, 1369, 1370, 1392 };
	uint8_t out[4096];
	uint64_t gets, hits, misses, rd, wr;
	unsigned int n;
	size_t len, wl;

	(void)state;
	memset(val, 'v', sizeof(val));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t vs = sizes[i];

		assert_int_equal(wc_store_set(store, WC_MODE_SET, "sg", 2, wc_store_hash("sg", 2),
					      val, vs, 4294967295u, 0, 0, NULL),
				 WC_STORE_OK);
		gets = st.mc_cmd_get, hits = st.mc_get_hits;
		rd = st.mc_bytes_read, wr = st.mc_bytes_written;
		n = send_text(CLI_IP, (uint16_t)(100 + i), "get sg\r\n");
		wl = (size_t)snprintf(want, sizeof(want), "VALUE sg 4294967295 %u\r\n", vs);
		memcpy(want + wl, val, vs);
		memcpy(want + wl + vs, "\r\nEND\r\n", 7);
		wl += vs + 7;
		/* One datagram exactly when the reply fits its 1392 bytes. */
		assert_int_equal(n, wl <= WC_MC_UDP_DATA_MAX ? 1 : 2);
		len = reassemble(n, (uint16_t)(100 + i), out);
		assert_int_equal(len, wl);
		assert_memory_equal(out, want, wl);
		assert_int_equal(st.mc_cmd_get, gets + 1);
		assert_int_equal(st.mc_get_hits, hits + 1);
		assert_int_equal(st.mc_bytes_read, rd + 8);
		assert_int_equal(st.mc_bytes_written, wr + wl);
	}

	/* A miss, with "\n" alone ending the line. */
	gets = st.mc_cmd_get, misses = st.mc_get_misses, wr = st.mc_bytes_written;
	assert_int_equal(send_text(CLI_IP, 1, "get nope\n"), 1);
	assert_int_equal(got[0].len, WC_MC_UDP_HDR + 5);
	assert_memory_equal(got[0].data, "END\r\n", 5);
	assert_int_equal(st.mc_cmd_get, gets + 1);
	assert_int_equal(st.mc_get_misses, misses + 1);
	assert_int_equal(st.mc_bytes_written, wr + 5);

	/* Two commands in the datagram: both answered, in order. */
	assert_int_equal(wc_store_set(store, WC_MODE_SET, "sg", 2, wc_store_hash("sg", 2), "ab", 2,
				      0, 0, 0, NULL),
			 WC_STORE_OK);
	assert_int_equal(send_text(CLI_IP, 2, "get sg\r\nget nope\r\n"), 1);
	assert_int_equal(got[0].len, WC_MC_UDP_HDR + 28);
	assert_memory_equal(got[0].data, "VALUE sg 0 2\r\nab\r\nEND\r\nEND\r\n", 28);

	/* The longest key, and one past it. */
	memcpy(req, "get ", 4);
	memset(req + 4, 'k', 251);
	memcpy(req + 4 + 250, "\r\n", 3);
	assert_int_equal(wc_store_set(store, WC_MODE_SET, req + 4, 250, wc_store_hash(req + 4, 250),
				      "z", 1, 0, 0, 0, NULL),
			 WC_STORE_OK);
	assert_int_equal(send_text(CLI_IP, 3, req), 1);
	assert_int_equal(got[0].len, WC_MC_UDP_HDR + 6 + 250 + 6 + 3 + 5);
	assert_memory_equal(got[0].data + 6 + 250, " 0 1\r\nz\r\nEND\r\n", 14);
	req[4 + 250] = 'k';
	memcpy(req + 4 + 251, "\r\n", 3);
	assert_int_equal(send_text(CLI_IP, 4, req), 1);
	assert_memory_equal(got[0].data, "CLIENT_ERROR", 12);
}

/* How many datagrams the fast path answered (it declines with 0). */
static unsigned int fast_taken;

static unsigned int counting_fast(void *arg, struct wc_net *n, struct wc_udp_fast_req *reqs,
				  unsigned int count, unsigned int *pass)
{
	unsigned int r = wc_mc_udp_fast(arg, n, reqs, count, pass);

	fast_taken += r;
	return r;
}

/*
 * The client saw in got[0..n2) what it saw in want[0..n1) the other way,
 * and every counter moved as much from s1 to s2 as from s0 to s1.
 */
static void same_outcome(const struct dgram *want, unsigned int n1, unsigned int n2,
			 const struct wc_lcore_stats *s0, const struct wc_lcore_stats *s1,
			 const struct wc_lcore_stats *s2)
{
	assert_int_equal(n2, n1);
	for (unsigned int i = 0; i < n1; i++) {
		assert_int_equal(got[i].req_id, want[i].req_id);
		assert_int_equal(got[i].seq, want[i].seq);
		assert_int_equal(got[i].total, want[i].total);
		assert_int_equal(got[i].reserved, want[i].reserved);
		assert_int_equal(got[i].len, want[i].len);
		assert_memory_equal(got[i].data, want[i].data, want[i].len - WC_MC_UDP_HDR);
	}
#define SAME_DELTA(name, desc)                                                   \
	if (s1->name - s0->name != s2->name - s1->name)                          \
		fail_msg("%s moved by %" PRIu64 " on the general path, %" PRIu64 \
			 " with the fast one",                                   \
			 #name, s1->name - s0->name, s2->name - s1->name);
	WC_LCORE_STATS(SAME_DELTA)
#undef SAME_DELTA
}

/*
 * Send @p text (seq @p seq of @p total) through the general path alone,
 * then again with the fast path in front, and check that the client sees
 * the same datagrams and that every counter moved by as much.
 * @return whether the fast path answered it.
 */
static bool same_both_ways(const void *text, size_t tlen, uint16_t seq, uint16_t total)
{
	static struct dgram want[4];
	struct wc_lcore_stats s0, s1, s2;
	unsigned int n1, n2, taken = fast_taken;

	ifc.apps[0].fast = NULL;
	s0 = st;
	n1 = exchange(CLI_IP, 0x5a5a, seq, total, text, tlen);
	s1 = st;
	assert_true(n1 <= 4);
	memcpy(want, got, n1 * sizeof(got[0]));
	ifc.apps[0].fast = counting_fast;
	n2 = exchange(CLI_IP, 0x5a5a, seq, total, text, tlen);
	s2 = st;
	ifc.apps[0].fast = wc_mc_udp_fast;
	same_outcome(want, n1, n2, &s0, &s1, &s2);
	return fast_taken != taken;
}

/* A key of @p klen bytes, every byte above ' ' (high bytes too), varied by @p seed. */
static void make_key(char *k, size_t klen, unsigned int seed)
{
	for (size_t i = 0; i < klen; i++)
		k[i] = (char)(0x21 + (i * 37 + seed * 11) % 0xdf);
}

/*
 * The fast path against the general one, request by request: every key
 * length with either line end, hit or miss, flags of every digit count,
 * values of every digit count and on both sides of the one-datagram limit;
 * and the requests it must leave alone, which it must decline.
 */
static void test_single_get_same(void **state)
{
	static const uint32_t flags[] = { 0,	  7,	   42,	     999,	1000,	    65535,
					  123456, 9999999, 12345678, 999999999, 4294967295u };
	static const char *const bad[] = {
		"get k\r",    "get k\r\r\n",	    "get k\n\n",   "get k\r\n\r\n", "get k \r\n",
		"get  k\r\n", "get \r\n",	    "get\r\n",	   "get \n",	    "gets k\r\n",
		"GET k\r\n",  "get k\r\nget k\r\n", "get k\nx",	   "get k",	    "get k j\r\n",
		"get k\rx\n", "get k\n\r\n",	    "gat 0 k\r\n", "get\tk\r\n",    "",
	};
	static char val[1400], req[400];
	size_t klen;

	(void)state;
	for (size_t i = 0; i < sizeof(val); i++)
		val[i] = (char)('0' + i % 43);
	for (klen = 1; klen <= WC_MC_KEY_MAX; klen++) {
		for (unsigned int crlf = 0; crlf < 2; crlf++) {
			uint32_t vlen = (uint32_t)(klen * 7 % 1001);
			bool hit = (klen + crlf) % 3 != 0;

			memcpy(req, "get ", 4);
			make_key(req + 4, klen, (unsigned int)klen);
			memcpy(req + 4 + klen, crlf ? "\r\n" : "\n", 2);
			if (hit)
				assert_int_equal(wc_store_set(store, WC_MODE_SET, req + 4, klen,
							      wc_store_hash(req + 4, klen), val,
							      vlen, flags[klen % 11], 0, 0, NULL),
						 WC_STORE_OK);
			else
				(void)wc_store_delete(store, req + 4, klen,
						      wc_store_hash(req + 4, klen), 0);
			if (!same_both_ways(req, 4 + klen + 1 + crlf, 0, 1))
				fail_msg("the fast path declined a %zu-byte key", klen);
		}
	}

	/* Values around the one-datagram limit, for short, middling and longest keys. */
	for (klen = 1; klen <= WC_MC_KEY_MAX; klen += klen < 16 ? 15 : 117) {
		for (unsigned int f = 0; f < 11; f += 5) {
			/* "VALUE <key> <flags> <4-digit length>\r\n" */
			char tail[32];
			size_t hl = 6 + klen +
				    (size_t)snprintf(tail, sizeof(tail), " %u 1000\r\n", flags[f]);
			uint32_t fit = (uint32_t)(WC_MC_UDP_DATA_MAX - hl - 7);

			memcpy(req, "get ", 4);
			make_key(req + 4, klen, 99);
			memcpy(req + 4 + klen, "\r\n", 2);
			for (uint32_t vlen = fit - 70; vlen <= fit + 2; vlen++) {
				assert_int_equal(wc_store_set(store, WC_MODE_SET, req + 4, klen,
							      wc_store_hash(req + 4, klen), val,
							      vlen, flags[f], 0, 0, NULL),
						 WC_STORE_OK);
				same_both_ways(req, 4 + klen + 2, 0, 1);
			}
		}
	}

	/* Every digit count of the value's length. */
	for (uint32_t vlen = 0; vlen < 1300; vlen = vlen * 3 + 1) {
		assert_int_equal(wc_store_set(store, WC_MODE_SET, "dv", 2, wc_store_hash("dv", 2),
					      val, vlen, 5, 0, 0, NULL),
				 WC_STORE_OK);
		assert_true(same_both_ways("get dv\r\n", 8, 0, 1));
	}

	/* Lines it must leave to the general path. */
	assert_int_equal(wc_store_set(store, WC_MODE_SET, "k", 1, wc_store_hash("k", 1), "x", 1, 0,
				      0, 0, NULL),
			 WC_STORE_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(same_both_ways(bad[i], strlen(bad[i]), 0, 1));
	assert_false(same_both_ways("get k\0\r\n", 8, 0, 1));
	assert_true(same_both_ways("get k\r\n", 7, 0, 1));
	assert_false(same_both_ways("get k\r\n", 7, 1, 1));
	assert_false(same_both_ways("get k\r\n", 7, 0, 2));
	assert_false(same_both_ways("get k\r\n", 7, 0, 0));
	/* A byte at or below ' ' anywhere in keys of one to sixteen 16-byte chunks. */
	for (klen = 1; klen <= WC_MC_KEY_MAX; klen += klen < 40 ? 3 : 105) {
		static const uint8_t ctl[] = { 0, '\t', '\n', '\r', 0x1f, ' ' };

		for (size_t pos = 0; pos < klen; pos++) {
			memcpy(req, "get ", 4);
			make_key(req + 4, klen, 5);
			memcpy(req + 4 + klen, "\r\n", 2);
			req[4 + pos] = (char)ctl[pos % sizeof(ctl)];
			assert_false(same_both_ways(req, 4 + klen + 2, 0, 1));
		}
	}
	/* One byte over the longest key. */
	memcpy(req, "get ", 4);
	make_key(req + 4, WC_MC_KEY_MAX + 1, 3);
	memcpy(req + 4 + WC_MC_KEY_MAX + 1, "\r\n", 2);
	assert_false(same_both_ways(req, 4 + WC_MC_KEY_MAX + 3, 0, 1));
	req[4 + WC_MC_KEY_MAX + 1] = '\n';
	assert_false(same_both_ways(req, 4 + WC_MC_KEY_MAX + 2, 0, 1));
}

/* Random requests of a burst, as frames. */
struct burst {
	unsigned int n;
	size_t len[64];
	uint8_t f[64][1600];
};

/* One datagram of the mix: mostly plain gets of a few keys, among writes. */
static size_t burst_request(uint8_t *f, unsigned int i, uint32_t *rnd)
{
	static uint8_t payload[1500];
	char *t = (char *)payload + 8;
	unsigned int k = rand_r(rnd) % 12, kind = rand_r(rnd) % 20;
	uint16_t seq = 0, total = 1;
	size_t len;

	if (kind < 9) {
		len = (size_t)sprintf(t, "get k%u\r\n", k);
	} else if (kind == 9) {
		len = (size_t)sprintf(t, "get k%u\n", k);
	} else if (kind < 13) {
		/* Small values, or ones whose reply is past one datagram. */
		unsigned int vlen = rand_r(rnd) % 2 ? rand_r(rnd) % 40 : 1320 + rand_r(rnd) % 80;

		len = (size_t)sprintf(t, "set k%u %u %u %u\r\n", k, rand_r(rnd) % 3,
				      rand_r(rnd) % 3 == 0 ? 1 : 0, vlen);
		for (unsigned int j = 0; j < vlen; j++)
			t[len++] = (char)('a' + (k + j + i) % 26);
		memcpy(t + len, "\r\n", 2);
		len += 2;
	} else if (kind == 13) {
		len = (size_t)sprintf(t, "delete k%u\r\n", k);
	} else if (kind == 14) {
		len = (size_t)sprintf(t, "get k%u k%u\r\n", k, rand_r(rnd) % 12);
	} else if (kind == 15) {
		len = (size_t)sprintf(t, "gets k%u\r\n", k);
	} else if (kind == 16) {
		len = (size_t)sprintf(t, "mg k%u v f t\r\n", k);
	} else if (kind == 17) {
		len = (size_t)sprintf(t, "get k%u\r\n", k);
		seq = 1;
		total = 2;
	} else if (kind == 18) {
		len = (size_t)sprintf(t, "bogus k%u\r\n", k);
	} else {
		len = (size_t)sprintf(t, "get k%u\r\nget k%u\r\n", k, k);
	}
	put_hdr(payload, (uint16_t)i, seq, total);
	return frame(f, CLI_IP, payload, 8 + len);
}

/* Feed @p b to the application over @p s, and collect the replies into got[]. */
static unsigned int burst_exchange(const struct burst *b, struct wc_store *s, wc_udp_fast_t fast)
{
	struct rte_mbuf *m[64];
	unsigned int n;

	mc.store = s;
	ifc.apps[0].fast = fast;
	for (unsigned int i = 0; i < b->n; i++) {
		m[i] = rte_pktmbuf_alloc(pool);
		assert_non_null(m[i]);
		memcpy(rte_pktmbuf_append(m[i], (uint16_t)b->len[i]), b->f[i], b->len[i]);
	}
	wc_net_input(net, m, (uint16_t)b->n);
	n = take_replies();
	mc.store = store;
	ifc.apps[0].fast = wc_mc_udp_fast;
	return n;
}

/*
 * Bursts of up to 64 datagrams, gets among sets, deletes, multi-key and
 * meta gets, items expiring and values too large for one reply datagram,
 * fed to two stores alike: one served by the general path alone, the
 * other with the fast path in front. The fast path takes runs of gets at
 * once; the replies must come out the same and in the same order (a get
 * after a set of its key sees the new value), with every counter moved by
 * as much, and the stores must end up alike.
 */
static void test_burst_same(void **state)
{
	static struct burst b;
	static struct dgram want[512];
	struct wc_store_config sc = {
		.name = "test_mc_udp_a",
		.mem_limit = 16u << 20,
		.max_item_size = 1u << 20,
		.socket_id = SOCKET_ID_ANY,
	};
	struct wc_store *s_a, *s_b;
	struct wc_lcore_stats s0, s1, s2;
	uint32_t rnd = 12345, now = 2000000;
	unsigned int taken = fast_taken, n1, n2, gets = 0;

	(void)state;
	s_a = wc_store_create(&sc);
	sc.name = "test_mc_udp_b";
	s_b = wc_store_create(&sc);
	assert_non_null(s_a);
	assert_non_null(s_b);
	for (int iter = 0; iter < 600; iter++) {
		b.n = 1 + (unsigned int)rand_r(&rnd) % 64;
		for (unsigned int i = 0; i < b.n; i++)
			b.len[i] = burst_request(b.f[i], i, &rnd);
		if (rand_r(&rnd) % 4 == 0)
			now += 2; /* items set to live 1 s expire */
		wc_store_tick(s_a, now);
		wc_store_tick(s_b, now);

		s0 = st;
		n1 = burst_exchange(&b, s_a, NULL);
		s1 = st;
		memcpy(want, got, n1 * sizeof(got[0]));
		n2 = burst_exchange(&b, s_b, counting_fast);
		s2 = st;
		same_outcome(want, n1, n2, &s0, &s1, &s2);
		gets += (unsigned int)(s1.mc_cmd_get - s0.mc_cmd_get);
	}
	assert_memory_equal(wc_store_stats(s_b), wc_store_stats(s_a),
			    sizeof(struct wc_store_stats));
	/* The fast path answered most gets, and items did expire under it. */
	assert_true(fast_taken - taken > gets / 3);
	assert_true(wc_store_stats(s_b)->get_expired > 50);
	wc_store_destroy(s_a);
	wc_store_destroy(s_b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_hdr),	   cmocka_unit_test(test_small_reply),
		cmocka_unit_test(test_big_reply_split),	   cmocka_unit_test(test_drops),
		cmocka_unit_test(test_open_source_budget), cmocka_unit_test(test_single_get),
		cmocka_unit_test(test_single_get_same),	   cmocka_unit_test(test_burst_same),
	};
	struct rte_eth_conf conf;
	struct wc_pool_set start;
	unsigned int nfree;
	struct wc_store_config sc = {
		.name = "test_mc_udp",
		.mem_limit = 64u << 20,
		.max_item_size = 1u << 20,
		.socket_id = SOCKET_ID_ANY,
	};
	int rc = wc_test_eal_init("test_mc_udp");

	if (rc != 0) {
		fprintf(stderr, "test_mc_udp: EAL init failed: %d\n", rc);
		return 1;
	}
	pool = rte_pktmbuf_pool_create("test_mc_udp", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	memset(&conf, 0, sizeof(conf));
	/* A net_ring port with no arguments loops its TX ring back to RX. */
	if (pool == NULL || rte_eal_hotplug_add("vdev", RING_PORT, "") != 0 ||
	    rte_eth_dev_get_port_by_name(RING_PORT, &port_id) != 0 ||
	    rte_eth_dev_configure(port_id, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port_id, 0, 1024, SOCKET_ID_ANY, NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(port_id, 0, 1024, SOCKET_ID_ANY, NULL) != 0 ||
	    rte_eth_dev_start(port_id) != 0) {
		fprintf(stderr, "test_mc_udp: cannot start the ring port\n");
		return 1;
	}
	store = wc_store_create(&sc);
	net = calloc(1, sizeof(*net));
	bigval = malloc(BIG);
	if (store == NULL || net == NULL || bigval == NULL)
		return 1;
	for (uint32_t i = 0; i < BIG; i++)
		bigval[i] = (uint8_t)('a' + (i * 7 + i / 1000) % 26);
	wc_store_tick(store, 1000000);

	rte_eth_macaddr_get(port_id, &ifc.mac);
	ifc.port_id = port_id;
	ifc.ip = rte_cpu_to_be_32(OUR_IP);
	ifc.netmask = rte_cpu_to_be_32(0xffffff00);
	ifc.apps[0].port = rte_cpu_to_be_16(11211);
	ifc.apps[0].input = wc_mc_udp_input;
	ifc.apps[0].fast = wc_mc_udp_fast;
	ifc.n_apps = 1;
	srv.max_item_size = 1u << 20;
	srv.version = "test";
	memset(&mc, 0, sizeof(mc));
	mc.srv = &srv;
	mc.store = store;
	mc.st = &st;
	net->ifc = &ifc;
	net->pool = pool;
	net->st = &st;
	net->tsc_hz = rte_get_tsc_hz();
	net->now_tsc = rte_rdtsc();
	net->app_arg[0] = &mc;

	start = wc_pool_free_set(pool);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	/* Every mbuf came back, each once: replies, requests and the reused ones. */
	if (rc == 0 && wc_pool_check(pool, &start, &nfree) != 0) {
		fprintf(stderr, "test_mc_udp: mbufs: %u free, %u at start\n", nfree, start.n);
		rc = 1;
	}
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
	wc_store_destroy(store);
	free(net);
	free(bigval);
	rte_mempool_free(pool);
	return rc;
}
