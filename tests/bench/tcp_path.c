/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached over the user-space TCP, from received segment to transmitted
 * segments, for callgrind to count instructions per pipelined get hit:
 *
 *   tcp_path [SEGMENTS] [offload]
 *
 * With "offload" the port is taken to check and fill the IPv4 and TCP
 * checksums, as a NIC with checksum offload does; without, the software
 * computes them over every request and reply byte.
 *
 * One connection is opened by hand (SYN, the cookie read back from the
 * SYN-ACK, ACK) and its keys stored. Then each measured step is what a
 * pipelining client's steady state looks like to the server: one segment
 * carrying PIPE gets of 16-byte keys, acknowledging every byte the server
 * sent so far, in; the acknowledged replies freed, the gets parsed and
 * executed, the 32-byte values' replies queued and transmitted. Only
 * path_segment() is meant to be measured (--toggle-collect=path_segment);
 * building the client's segment and reading the server's back (standing in
 * for the NIC and the client) is not. Every reply is checked, so a broken
 * path cannot pass for a fast one.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/net/tcp.h"
#include "tests/support/fixture.h"

#define PIPE	 32   /* gets per client segment */
#define NKEYS	 1024 /* keys stored, 16 bytes each */
#define SRV_PORT 11211
#define CLI_PORT 40000

static struct wc_fixture fx;

struct client {
	uint32_t seq;	  /* next sequence number to send */
	uint32_t rcv;	  /* next byte expected from the server */
	size_t got;	  /* reply bytes received */
	uint8_t *replies; /* where they go, when checked */
	size_t cap;
};

static struct client cli;
static bool offload;

/* Measured: one client segment through the dataplane and out to the port. */
__attribute__((noinline)) void path_segment(struct rte_mbuf *m)
{
	struct wc_net *n = &fx.lc->net;

	wc_net_input(n, &m, 1);
	wc_tcp_poll(n);
}

/* Not measured: the handshake and the stores before. */
static void feed(struct rte_mbuf *m)
{
	struct wc_net *n = &fx.lc->net;

	wc_net_input(n, &m, 1);
	wc_tcp_poll(n);
}

static struct rte_mbuf *segment(uint8_t flags, const void *pl, size_t len)
{
	static uint8_t f[14 + 20 + 60 + 2048];
	const struct wc_fixture_tcp_seg s = { CLI_PORT, SRV_PORT, cli.seq, cli.rcv,
					      flags,	65535,	  NULL,	   0 };
	size_t flen = wc_fixture_tcp_frame(&fx, f, sizeof(f), &s, pl, len);
	struct rte_mbuf *m;

	if (flen == 0)
		abort();
	cli.seq += (uint32_t)len;
	m = wc_fixture_mbuf(&fx, f, flen);
	if (m != NULL && offload)
		m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	return m;
}

/*
 * The server's segments in the TX queue: their payload appended to the
 * client's replies (in order; this client never loses one), then handed to
 * the port.
 */
static void take_output(void)
{
	struct wc_net *n = &fx.lc->net;

	for (uint16_t i = 0; i < n->ntx; i++) {
		struct rte_mbuf *m = n->tx[i];
		uint8_t hdr[20];
		const uint8_t *t = rte_pktmbuf_read(m, m->l2_len + m->l3_len, 20, hdr);
		uint32_t off = m->l2_len + m->l3_len + m->l4_len;
		uint32_t len = m->pkt_len - off, seq;

		if (t == NULL)
			abort();
		seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
		if (len > 0 && seq == cli.rcv) {
			if (cli.replies != NULL && cli.got + len <= cli.cap) {
				uint8_t *dst = cli.replies + cli.got;
				const void *p = rte_pktmbuf_read(m, off, len, dst);

				/* A contiguous payload is not copied, only pointed to. */
				if (p != dst)
					memcpy(dst, p, len);
			}
			cli.got += len;
			cli.rcv += len;
		}
	}
	wc_net_tx_flush(n);
}

static size_t gets(char *buf, size_t cap, unsigned int base)
{
	size_t n = 0;

	for (unsigned int i = 0; i < PIPE; i++)
		n += (size_t)snprintf(buf + n, cap - n, "get key:%012u\r\n", (base + i) % NKEYS);
	return n;
}

static void die(const char *why)
{
	fprintf(stderr, "tcp_path: %s\n", why);
	exit(1);
}

int main(int argc, char **argv)
{
	unsigned int segs = argc > 1 ? (unsigned int)atoi(argv[1]) : 1000;
	static char req[2048];
	static uint8_t replies[PIPE * 128];
	const struct wc_lcore_stats *st;
	struct rte_mbuf *m;
	uint64_t hits0;
	size_t len;

	if (wc_fixture_start(&fx, "tcp_path") != 0)
		die("fixture start failed");
	offload = argc > 2 && strcmp(argv[2], "offload") == 0;
	if (offload)
		fx.dp.ifc.tx_offloads |=
			RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	/*
	 * Replies leave as chains (headers, then the data), as on every NIC and
	 * on net_af_packet and net_tap; net_null does not say it takes chains,
	 * and the stack would copy the data behind the headers for it.
	 */
	fx.dp.ifc.tx_offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	st = fx.lc->st;
	if (wc_fixture_tcp_connect(&fx, CLI_PORT, 0x1000, &cli.seq, &cli.rcv) != 0)
		die("the handshake did not open a connection");

	/* Store every key (not measured). */
	for (unsigned int k = 0; k < NKEYS; k++) {
		len = (size_t)snprintf(
			req, sizeof(req),
			"set key:%012u 0 0 32 noreply\r\nvalue-of-%012u-padding-xx\r\n", k, k);
		m = segment(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, req, len);
		feed(m);
		take_output();
	}

	hits0 = st->mc_get_hits;
	cli.replies = replies;
	cli.cap = sizeof(replies);
	for (unsigned int s = 0; s < segs; s++) {
		len = gets(req, sizeof(req), s * PIPE);
		cli.got = 0;
		m = segment(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, req, len);
		if (m == NULL)
			die("out of mbufs");
		path_segment(m);
		take_output();
		/* Each reply: VALUE line, the 32-byte value, END. */
		for (unsigned int i = 0, off = 0; i < PIPE; i++) {
			char want[128];
			unsigned int k = (s * PIPE + i) % NKEYS;
			int w = snprintf(
				want, sizeof(want),
				"VALUE key:%012u 0 32\r\nvalue-of-%012u-padding-xx\r\nEND\r\n", k,
				k);

			if (off + (unsigned int)w > cli.got ||
			    memcmp(replies + off, want, (size_t)w) != 0)
				die("a reply is missing or wrong");
			off += (unsigned int)w;
		}
	}
	if (st->mc_get_hits - hits0 != (uint64_t)segs * PIPE)
		die("not every get hit");
	printf("tcp_path: %u segments of %d pipelined gets ok\n", segs, PIPE);
	return 0;
}
