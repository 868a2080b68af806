/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the TCP (dataplane/net/tcp.c) with memcached on it
 * (proto/mc_tcp.c): each input is a sequence of segments played against
 * one connection. The harness opens the connection itself (SYN, the SYN
 * cookie read back from the SYN-ACK, ACK), then builds one well-formed
 * segment per record of the input, its sequence and acknowledgement numbers
 * relative to what the client has sent and received so far, so the fuzzer
 * spends its time inside the window rather than learning checksums:
 *
 *   record: flags(1) seq_off(2, signed) ack_off(2, signed) window(2)
 *           ms(1: time to advance) len(1) payload(len)
 *
 * flags bit 0x80 makes the payload's first bytes (a multiple of 4, at most
 * 40) TCP options instead, SACK blocks being what matters: each edge's
 * first two bytes are a signed offset from what the client has received,
 * so blocks land near the data in flight.
 *
 * The server's segments are read from the TX queue before it is flushed
 * (they advance what the client has received) and freed. After the last
 * record the TCP state is destroyed; then every mbuf must be back in the
 * pool, each once, and the EAL heap (TCP's buffers) as it was. Each abort
 * says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include "dataplane/net/tcp.h"
#include "dataplane/proto/mc_tcp.h"
#include "tests/support/fixture.h"

#define SRV_PORT 11211

static struct wc_fixture fx;
static struct wc_net net; /* a private copy: its own TCP state per input */
static struct wc_lcore_stats st;
static uint16_t next_port = 1024;

struct client {
	uint16_t port;
	uint32_t seq; /* next sequence number to send */
	uint32_t rcv; /* next byte expected from the server */
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (wc_fixture_start(&fx, "fuzz_tcp") != 0) {
		fprintf(stderr, "fuzz_tcp: fixture start failed\n");
		abort();
	}
	return 0;
}

/* Bytes of the EAL heap in use: TCP's state and buffers come from it. */
static size_t heap_used(void)
{
	struct rte_malloc_socket_stats ms;

	if (rte_malloc_get_socket_stats((int)rte_socket_id(), &ms) != 0)
		abort();
	return ms.heap_allocsz_bytes;
}

static void send_seg(struct client *c, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		     const uint8_t *opts, size_t optlen, const uint8_t *pl, size_t len)
{
	uint8_t f[14 + 20 + 60 + 256];
	const struct wc_fixture_tcp_seg s = {
		c->port, SRV_PORT, seq, ack, flags, win, opts, optlen
	};
	size_t flen = wc_fixture_tcp_frame(&fx, f, sizeof(f), &s, pl, len);
	struct rte_mbuf *m = flen != 0 ? wc_fixture_mbuf(&fx, f, flen) : NULL;

	if (m == NULL) {
		fprintf(stderr, "fuzz_tcp: no mbuf for a segment (%u free)\n",
			rte_mempool_avail_count(fx.pool));
		abort();
	}
	wc_net_input(&net, &m, 1);
}

/* Read the server's segments from the TX queue, then drop them. */
static void take_output(struct client *c, uint32_t *synack)
{
	wc_tcp_poll(&net);
	for (uint16_t i = 0; i < net.ntx; i++) {
		struct rte_mbuf *m = net.tx[i];
		uint8_t buf[60];
		const uint8_t *t = rte_pktmbuf_read(m, m->l2_len + 20, 20, buf);

		if (t != NULL && m->l4_len >= 20) {
			uint32_t seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 |
				       (uint32_t)t[6] << 8 | t[7];
			uint32_t len = m->pkt_len - m->l2_len - 20 - m->l4_len;

			if ((t[13] & 0x12) == 0x12 && synack != NULL)
				*synack = seq;
			if (len > 0 && (int32_t)(seq - c->rcv) <= 0 &&
			    (int32_t)(seq + len - c->rcv) > 0)
				c->rcv = seq + len;
			if ((t[13] & 0x01) && seq + len == c->rcv)
				c->rcv++;
		}
		rte_pktmbuf_free(m);
	}
	net.ntx = 0;
}

/* Options from the input, SACK edges made relative to @p base. */
static void opts_rel(uint8_t *o, const uint8_t *in, size_t len, uint32_t base)
{
	memcpy(o, in, len);
	for (size_t i = 0; i + 1 < len;) {
		uint8_t kind = o[i], l = o[i + 1];

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (l < 2 || i + l > len)
			break;
		if (kind == 5)
			for (size_t b = i + 2; b + 4 <= i + l; b += 4) {
				uint32_t v =
					base + (uint32_t)(int32_t)(int16_t)(o[b] << 8 | o[b + 1]);

				o[b] = (uint8_t)(v >> 24);
				o[b + 1] = (uint8_t)(v >> 16);
				o[b + 2] = (uint8_t)(v >> 8);
				o[b + 3] = (uint8_t)v;
			}
		i += l;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t opts[40];
	static const uint8_t syn_opts[12] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2 };
	struct wc_tcp_limits lim = { .max_conns = 4,
				     .snd_buf = 16384,
				     .rcv_buf = 65536,
				     .keepalive_ms = 5000,
				     .keepintvl_ms = 500,
				     .time_wait_ms = 1000 };
	struct client c = { 0 };
	uint32_t synack = 0;
	size_t off = 0;
	size_t heap = heap_used();

	net = fx.lc->net;
	net.st = &st;
	net.ntx = 0;
	net.tcp = NULL;
	net.now_tsc = 1000000000000ull;
	if (wc_mc_tcp_setup(&net, &fx.lc->mc, SRV_PORT, &lim) != 0) {
		fprintf(stderr, "fuzz_tcp: TCP setup failed\n");
		abort();
	}

	c.port = next_port++;
	if (next_port == 0)
		next_port = 1024;
	c.seq = 0x1000;
	send_seg(&c, c.seq, 0, 0x02, 65535, syn_opts, sizeof(syn_opts), NULL, 0);
	c.seq++;
	take_output(&c, &synack);
	c.rcv = synack + 1;
	send_seg(&c, c.seq, c.rcv, 0x10, 65535, NULL, 0, NULL, 0);
	take_output(&c, NULL);
	/* The harness itself: the handshake must have opened the connection. */
	if (wc_tcp_conns(&net) != 1) {
		fprintf(stderr, "fuzz_tcp: the handshake did not open a connection\n");
		abort();
	}

	while (off + 9 <= size) {
		const uint8_t *r = data + off;
		uint8_t flags = r[0] & 0x3f;
		size_t optlen = 0;
		int16_t so = (int16_t)(r[1] << 8 | r[2]), ao = (int16_t)(r[3] << 8 | r[4]);
		uint16_t win = (uint16_t)(r[5] << 8 | r[6]);
		uint8_t ms = r[7];
		size_t len = r[8];

		off += 9;
		if (len > size - off)
			len = size - off;
		if (r[0] & 0x80) {
			optlen = RTE_MIN(len, (size_t)40) & ~(size_t)3;
			opts_rel(opts, data + off, optlen, c.rcv);
		}
		/* Mostly plausible segments: ACK set unless the record asks for a SYN or RST. */
		if (!(flags & 0x06))
			flags |= 0x10;
		send_seg(&c, c.seq + (uint32_t)(int32_t)so, c.rcv + (uint32_t)(int32_t)ao, flags,
			 win, opts, optlen, data + off + optlen, len - optlen);
		if (so == 0 && !(flags & 0x06))
			c.seq += (uint32_t)(len - optlen) + ((flags & 0x01) ? 1 : 0);
		off += len;
		take_output(&c, NULL);
		if (ms > 0) {
			/* Past timers: delayed ACK, RTO, persist, keepalive, TIME_WAIT. */
			net.now_tsc += (uint64_t)ms * 20 * (net.tsc_hz / 1000);
			take_output(&c, NULL);
		}
	}
	wc_mc_tcp_teardown(&net);
	if (wc_fixture_mbufs_back(&fx, "fuzz_tcp") != 0)
		abort();
	if (heap_used() != heap) {
		fprintf(stderr, "fuzz_tcp: EAL heap leak: %zu bytes in use, %zu before\n",
			heap_used(), heap);
		abort();
	}
	return 0;
}
