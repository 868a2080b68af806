/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Assembling the dataplane from its options: clocks, the memcached server
 * settings, the interface policy, and one lcore context and partition per
 * worker lcore. Shared by wirecached's main, the packet fuzzer and the
 * benchmarks, so they all run the code the appliance runs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "dataplane/lcore.h"
#include "dataplane/proto/mc_udp.h"
#include "store/store.h"

static int setup_lcores(struct wc_dataplane *dp, struct rte_mempool *pool)
{
	const struct wc_config *cfg = dp->cfg;
	unsigned int id, i = 0;

	dp->lcores = rte_zmalloc("wc_lcores", sizeof(struct wc_lcore) * dp->n_workers,
				 RTE_CACHE_LINE_SIZE);
	if (dp->lcores == NULL)
		return -ENOMEM;
	RTE_LCORE_FOREACH(id)
	{
		struct wc_lcore *lc = &dp->lcores[i];
		char name[32];
		struct wc_store_config sc = {
			.name = name,
			.mem_limit = cfg->memory_limit / dp->n_workers,
			.max_item_size = cfg->max_item_size,
			.socket_id = (int)rte_lcore_to_socket_id(id),
			.max_items = 0,
			.no_evict = !cfg->evict,
		};

		if (i == dp->n_workers)
			break;
		snprintf(name, sizeof(name), "wc_part%u", i);
		lc->lcore_id = id;
		lc->index = i;
		lc->store = wc_store_create(&sc);
		if (lc->store == NULL) {
			RTE_LOG(ERR, USER1,
				"partition %u: cannot allocate %zu bytes on socket %d\n", i,
				sc.mem_limit, sc.socket_id);
			return -ENOMEM;
		}
		wc_store_tick(lc->store, dp->start_time);
		lc->mc.srv = &dp->mc;
		lc->mc.store = lc->store;
		lc->mc.st = &lc->st;
		lc->net.ifc = &dp->ifc;
		lc->net.queue = (uint16_t)i;
		lc->net.pool = pool;
		lc->net.st = &lc->st;
		lc->net.tsc_hz = dp->tsc_hz;
		lc->net.now_tsc = dp->start_tsc;
		lc->net.app_arg[0] = &lc->mc;
		i++;
	}
	return 0;
}

int wc_dataplane_setup(struct wc_dataplane *dp, struct rte_mempool *pool)
{
	const struct wc_config *cfg = dp->cfg;

	if (dp->n_workers == 0)
		dp->n_workers = rte_lcore_count();
	dp->tsc_hz = rte_get_tsc_hz();
	dp->start_tsc = rte_rdtsc();
	dp->start_time = (uint32_t)time(NULL);
	dp->pid = (int)getpid();
	if (cfg->lifetime != 0)
		dp->stop_tsc = dp->start_tsc + (uint64_t)cfg->lifetime * dp->tsc_hz;

	dp->mc.max_item_size = (uint32_t)cfg->max_item_size;
	dp->mc.version = "1.6.0-wirecache-" WC_VERSION;
	dp->mc.stats = wc_stats_mc;
	dp->mc.stats_arg = dp;
	dp->mc.flush = wc_stats_flush;
	dp->mc.flush_arg = dp;

	dp->ifc.ip = cfg->ip.addr;
	dp->ifc.netmask = cfg->ip.mask;
	memcpy(dp->ifc.allow, cfg->udp_allow, sizeof(cfg->udp_allow));
	dp->ifc.n_allow = cfg->n_udp_allow;
	dp->ifc.udp_open = cfg->udp_open;
	dp->ifc.udp_open_budget = (uint32_t)cfg->udp_open_budget;
	dp->ifc.apps[0].port = rte_cpu_to_be_16((uint16_t)cfg->udp_port);
	dp->ifc.apps[0].input = wc_mc_udp_input;
	dp->ifc.n_apps = 1;
	return setup_lcores(dp, pool);
}

void wc_dataplane_teardown(struct wc_dataplane *dp)
{
	if (dp->lcores == NULL)
		return;
	for (unsigned int i = 0; i < dp->n_workers; i++)
		wc_store_destroy(dp->lcores[i].store);
	rte_free(dp->lcores);
	dp->lcores = NULL;
}
