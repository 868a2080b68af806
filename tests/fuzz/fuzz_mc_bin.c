/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the memcached binary protocol: arbitrary bytes
 * through wc_mc_bin_process() against two real store partitions, fed in
 * pieces the way a TCP connection would deliver them (the unconsumed tail
 * is offered again with the next piece), with the stream carried to the
 * other partition whenever it is handed off. Every response must be a
 * well-formed binary response: the oracle beyond the sanitizers.
 *
 * The first input byte picks the piece size (1 to 256 bytes; 0 = whole).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_memory.h>

#include "dataplane/proto/mc.h"
#include "dataplane/proto/mc_bin.h"
#include "store/store.h"

#define MAX_VALUE (16 * 1024)

static struct wc_store *parts[2];
static struct wc_lcore_stats st;
static uint8_t scratch[2][MAX_VALUE];
static uint8_t outbuf[256 * 1024];
static uint8_t pending[1 << 20];
static uint32_t now = 1700000000;

static int stats_hook(void *arg, const char *sub, size_t sublen, struct wc_out *out)
{
	(void)arg;
	(void)sublen;
	if (sub != NULL)
		return -2;
	wc_mc_stat_u64(out, "pid", 1);
	wc_mc_stat_str(out, "version", "fuzz");
	return 0;
}

static void flush_hook(void *arg, uint32_t when)
{
	(void)arg;
	wc_store_flush(parts[0], when);
	wc_store_flush(parts[1], when);
}

static const struct wc_mc_server srv = {
	.max_item_size = MAX_VALUE,
	.version = "fuzz",
	.stats = stats_hook,
	.flush = flush_hook,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char prefix[64];
	char *eal[] = { (*argv)[0],	  "--no-huge", "--no-shconf", "--no-pci",
			"--no-telemetry", "-l",	       "0",	      "--log-level=lib.eal:error",
			prefix,		  NULL };

	(void)argc;
	snprintf(prefix, sizeof(prefix), "--file-prefix=wcfuzz_mcb_%d", (int)getpid());
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		abort();
	for (int i = 0; i < 2; i++) {
		char name[16];
		struct wc_store_config cfg = {
			.name = name,
			.mem_limit = 4u << 20,
			.max_item_size = MAX_VALUE + 512,
			.socket_id = SOCKET_ID_ANY,
		};

		snprintf(name, sizeof(name), "fuzz_mcb%d", i);
		parts[i] = wc_store_create(&cfg);
		if (parts[i] == NULL)
			abort();
		wc_store_tick(parts[i], now);
	}
	return 0;
}

/* Every byte of @p n must belong to a well-formed response. */
static void check_responses(const uint8_t *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		uint32_t bodylen;

		if (n - off < WC_MC_BIN_HDR || p[off] != WC_MC_BIN_RES_MAGIC)
			abort();
		bodylen = (uint32_t)p[off + 8] << 24 | (uint32_t)p[off + 9] << 16 |
			  (uint32_t)p[off + 10] << 8 | p[off + 11];
		if ((uint32_t)p[off + 4] + ((uint32_t)p[off + 2] << 8 | p[off + 3]) > bodylen ||
		    n - off - WC_MC_BIN_HDR < bodylen)
			abort();
		off += WC_MC_BIN_HDR + bodylen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wc_mc_ctx c[2];
	struct wc_mc_session ss = { 0 };
	size_t piece, at = 0, have = 0, pos;
	unsigned int cur = 0;

	if (size < 1 || size > sizeof(pending))
		return 0;
	piece = data[0] == 0 ? size : data[0];
	data++;
	size--;
	now++;
	for (int i = 0; i < 2; i++) {
		wc_store_tick(parts[i], now);
		c[i] = (struct wc_mc_ctx){ .srv = &srv,
					   .store = parts[i],
					   .st = &st,
					   .parts = parts,
					   .nparts = 2,
					   .self = (unsigned int)i,
					   .scratch = scratch[i],
					   .scratch_len = MAX_VALUE };
	}
	/* pending[at..have) is what the "connection" holds unconsumed. */
	for (pos = 0; pos < size && !ss.close;) {
		size_t n = size - pos < piece ? size - pos : piece;
		int hops = 0;

		memcpy(pending + have, data + pos, n);
		have += n;
		pos += n;
		for (;;) {
			struct wc_out o;
			size_t used;

			wc_out_init_flat(&o, outbuf, sizeof(outbuf));
			used = wc_mc_bin_process(&c[cur], &ss, pending + at, have - at, &o);
			if (used > have - at || o.overflow)
				abort();
			check_responses(outbuf, o.written);
			at += used;
			if (ss.handoff == 0)
				break;
			/* Resume where the owner is; it never hands back at once. */
			if (ss.handoff - 1u == cur || ++hops > 1000000)
				abort();
			cur = ss.handoff - 1u;
			ss.handoff = 0;
		}
	}
	return 0;
}
