/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness for the memcached text/meta protocols: arbitrary bytes
 * through wc_mc_process() against a real store partition, fed in two parts
 * so commands and refused values that span calls are exercised too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_memory.h>

#include "dataplane/proto/mc.h"
#include "store/store.h"

static struct wc_store *store;
static struct wc_lcore_stats st;
static const struct wc_mc_server srv = {
	.max_item_size = 16 * 1024,
	.version = "fuzz",
};
static uint8_t outbuf[64 * 1024];
static uint32_t now = 1700000000;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char prefix[64];
	struct wc_store_config cfg = {
		.name = "fuzz_mc",
		.mem_limit = 4u << 20,
		.max_item_size = 16 * 1024 + 512,
		.socket_id = SOCKET_ID_ANY,
	};

	(void)argc;
	snprintf(prefix, sizeof(prefix), "--file-prefix=wcfuzz_mc_%d", (int)getpid());
	/* --in-memory cannot be combined with --no-huge (legacy memory) in 22.11. */
	char *eal[] = { (*argv)[0],	  "--no-huge", "--no-shconf", "--no-pci",
			"--no-telemetry", "-l",	       "0",	      "--log-level=lib.eal:error",
			prefix,		  NULL };
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		abort();
	store = wc_store_create(&cfg);
	if (store == NULL)
		abort();
	wc_store_tick(store, now);
	return 0;
}

static size_t feed(struct wc_mc_ctx *c, struct wc_mc_session *ss, const uint8_t *p, size_t n)
{
	struct wc_out o;
	size_t used;

	wc_out_init_flat(&o, outbuf, sizeof(outbuf));
	used = wc_mc_process(c, ss, p, n, &o);
	if (used > n || o.written > sizeof(outbuf))
		abort();
	return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wc_mc_ctx c = { .srv = &srv, .store = store, .st = &st };
	struct wc_mc_session ss = { 0 };
	size_t cut = size / 2, used;

	/* The clock moves a little every input, so TTLs and delayed flushes fire. */
	wc_store_tick(store, ++now);
	used = feed(&c, &ss, data, cut);
	if (!ss.close)
		(void)feed(&c, &ss, data + used, size - used);
	return 0;
}
