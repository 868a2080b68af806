/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the whole packet input path: one Ethernet frame in
 * (any bytes, any length), through Ethernet/ARP/IPv4/ICMP/UDP, memcached's
 * frame header, parser and executor and the store, replies out to a
 * net_null port. Besides crashes and sanitizer reports, it checks that no
 * mbuf is leaked: every frame and every reply returns to the pool.
 *
 * Inputs that start with the byte 'M' are taken as a memcached datagram
 * payload (frame header + commands) and wrapped in a valid frame, so the
 * fuzzer reaches the protocol without first having to learn checksums.
 * Inputs that start with 'B' are a burst of such datagrams, each a 1-byte
 * length then its payload, up to 64 of them, fed to the stack at once as
 * one RX burst is: runs of gets answered together, among other commands.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_common.h>
#include <rte_mempool.h>

#include "store/store.h"

#include "tests/support/fixture.h"

static struct wc_fixture fx;
static uint8_t frame[65536 + 128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (wc_fixture_start(&fx, "fuzz_packet") != 0) {
		fprintf(stderr, "fuzz_packet: fixture start failed\n");
		abort();
	}
	return 0;
}

/* A 'B' input: its datagrams as one burst. */
static void burst(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m[64];
	uint16_t n = 0;

	while (size > 0 && n < 64) {
		size_t dlen = RTE_MIN((size_t)data[0], size - 1);
		size_t len = wc_fixture_udp_frame(&fx, frame, sizeof(frame),
						  (uint16_t)(40000 + n % 8), data + 1, dlen);

		data += 1 + dlen;
		size -= 1 + dlen;
		if (len == 0)
			continue;
		m[n] = wc_fixture_mbuf(&fx, frame, len);
		if (m[n] == NULL)
			abort();
		n++;
	}
	if (n > 0)
		wc_fixture_input(&fx, m, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m;
	size_t len = size;
	const uint8_t *p = data;

	if (size > 0 && data[0] == 'B') {
		burst(data + 1, size - 1);
		goto check;
	}

	if (size > 0 && data[0] == 'M') {
		len = wc_fixture_udp_frame(&fx, frame, sizeof(frame), 40000, data + 1, size - 1);
		if (len == 0 || len > UINT16_MAX - RTE_PKTMBUF_HEADROOM)
			return 0;
		p = frame;
	}
	if (len > RTE_MBUF_DEFAULT_DATAROOM)
		return 0;
	m = wc_fixture_mbuf(&fx, p, len);
	if (m == NULL)
		abort();
	wc_fixture_input(&fx, &m, 1);
check:
	/* Advance the store clock now and then so expiry paths run too. */
	if ((size & 63) == 0)
		wc_store_tick(fx.lc->store, wc_store_now(fx.lc->store) + 1);
	if (wc_fixture_mbufs_back(&fx, "fuzz_packet") != 0)
		abort();
	return 0;
}
