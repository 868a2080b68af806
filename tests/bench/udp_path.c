/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The whole UDP path for one request kind, from received mbuf to transmitted
 * mbuf, for callgrind to count instructions per request:
 *
 *   udp_path get|set [BURSTS] [offload]
 *
 * With "offload" the port is taken to check and fill IPv4 and UDP checksums
 * (received frames flagged good, replies left for the NIC), as a NIC with
 * checksum offload does; without, the software computes them, as on
 * net_af_packet or net_tap.
 *
 * Only path_burst() is meant to be measured (--toggle-collect=path_burst):
 * building the request mbufs stands in for the NIC and is left out. Keys are
 * 16 bytes and values 32 bytes. The program checks that every request was
 * answered as expected, so a broken path cannot pass for a fast one.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>

#include "store/store.h"
#include "tests/support/fixture.h"

#define BURST 32
#define NKEYS 1024

static struct wc_fixture fx;
static bool offload;
static uint8_t frames[BURST][256];
static size_t frame_len[BURST];

/* Measured: one burst through the dataplane and out to the port. */
__attribute__((noinline)) void path_burst(struct rte_mbuf **pkts, uint16_t n)
{
	wc_fixture_input(&fx, pkts, n);
}

static size_t request(char *buf, size_t cap, const char *op, unsigned int k, uint16_t id)
{
	int n = snprintf(buf, cap, "%c%c%c%c%c%c%c%c", id >> 8, id & 255, 0, 0, 0, 1, 0, 0);

	if (strcmp(op, "get") == 0)
		n += snprintf(buf + n, cap - (size_t)n, "get key:%012u\r\n", k);
	else
		n += snprintf(buf + n, cap - (size_t)n,
			      "set key:%012u 0 0 32\r\nvalue-of-%012u-padding-xx\r\n", k, k);
	return (size_t)n;
}

static void fill_frames(const char *op, unsigned int base)
{
	char req[128];

	for (unsigned int i = 0; i < BURST; i++) {
		size_t len = request(req, sizeof(req), op, (base + i) % NKEYS, (uint16_t)i);

		frame_len[i] = wc_fixture_udp_frame(&fx, frames[i], sizeof(frames[i]),
						    (uint16_t)(40000 + i), req, len);
	}
}

/* @p measured: through path_burst() (counted) or straight in (the preload). */
static void run(const char *op, unsigned int bursts, bool measured)
{
	struct rte_mbuf *pkts[BURST];

	for (unsigned int b = 0; b < bursts; b++) {
		fill_frames(op, b * BURST);
		for (unsigned int i = 0; i < BURST; i++) {
			pkts[i] = wc_fixture_mbuf(&fx, frames[i], frame_len[i]);
			if (pkts[i] == NULL) {
				fprintf(stderr, "udp_path: out of mbufs\n");
				exit(1);
			}
			if (offload)
				pkts[i]->ol_flags |=
					RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		}
		if (measured)
			path_burst(pkts, BURST);
		else
			wc_fixture_input(&fx, pkts, BURST);
	}
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "get";
	unsigned int bursts = argc > 2 ? (unsigned int)atoi(argv[2]) : 1000;

	offload = argc > 3 && strcmp(argv[3], "offload") == 0;
	const struct wc_lcore_stats *st;

	if ((strcmp(op, "get") != 0 && strcmp(op, "set") != 0) || bursts == 0) {
		fprintf(stderr, "usage: udp_path get|set [BURSTS]\n");
		return 2;
	}
	if (wc_fixture_start(&fx, "udp_path") != 0) {
		fprintf(stderr, "udp_path: fixture start failed\n");
		return 1;
	}
	if (offload)
		fx.dp.ifc.tx_offloads |=
			RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	/* Load every key first (not measured when op is get). */
	run("set", NKEYS / BURST, false);
	st = fx.lc->st;
	uint64_t hits0 = st->mc_get_hits, sets0 = st->mc_cmd_set, tx0 = st->tx_packets;

	run(op, bursts, true);
	uint64_t want = (uint64_t)bursts * BURST;
	uint64_t done = strcmp(op, "get") == 0 ? st->mc_get_hits - hits0 : st->mc_cmd_set - sets0;

	if (done != want || st->tx_packets - tx0 != want) {
		fprintf(stderr,
			"udp_path: %s: %llu of %llu requests answered as expected, %llu "
			"replies sent\n",
			op, (unsigned long long)done, (unsigned long long)want,
			(unsigned long long)(st->tx_packets - tx0));
#define WC_DUMP(name, desc) \
	if (st->name != 0)  \
		fprintf(stderr, "  %s %llu\n", #name, (unsigned long long)st->name);
		WC_LCORE_STATS(WC_DUMP)
#undef WC_DUMP
		return 1;
	}
	printf("udp_path: %s: %llu requests ok\n", op, (unsigned long long)want);
	return 0;
}
