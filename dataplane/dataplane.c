/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Assembling the dataplane from its options: clocks, the memcached server
 * settings, the interface policy, and one lcore context and partition per
 * worker lcore. Shared by wirecached's main, the packet fuzzer and the
 * benchmarks, so they all run the code the appliance runs.
 *
 * With several workers (CREW): partition i belongs to worker i (the key's
 * owner is wc_store_owner(hash, n_workers)), lives on that lcore's socket,
 * and is read lock-free by every worker, so its memory is reused only after
 * all of them passed a quiescent state of one RCU variable (thread id =
 * worker index). Each worker's memcached context sees every partition and
 * has a scratch buffer of max-item-size bytes for values copied out of
 * other partitions.
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
#include <rte_memzone.h>
#include <rte_random.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/lcore.h"
#include "dataplane/net/tcp.h"
#include "dataplane/proto/mc_tcp.h"
#include "dataplane/proto/mc_udp.h"
#include "store/store.h"

/* A ring of the contract's 512-byte elements, reused if a previous setup left it. */
static struct rte_ring *contract_ring(const char *name)
{
	struct rte_ring *r = rte_ring_lookup(name);

	if (r != NULL) {
		rte_ring_reset(r);
		return r;
	}
	return rte_ring_create_elem(name, 512, WC_RING_SLOTS, SOCKET_ID_ANY, RING_F_SC_DEQ);
}

/*
 * The memzone and rings of mgmt/contract.h. The magic is written last, so
 * an attaching mgmt never sees a half-filled block as ready.
 */
static int setup_shared(struct wc_dataplane *dp)
{
	const struct rte_memzone *mz = rte_memzone_lookup(WC_MZ_SHARED);
	struct wc_shared *sh;

	if (mz == NULL)
		mz = rte_memzone_reserve(WC_MZ_SHARED, sizeof(*sh), SOCKET_ID_ANY, 0);
	if (mz == NULL || mz->len < sizeof(*sh))
		return -ENOMEM;
	sh = mz->addr;
	memset(sh, 0, sizeof(*sh));
	sh->version = WC_CONTRACT_VERSION;
	sh->size = sizeof(*sh);
	snprintf(sh->wc_version, sizeof(sh->wc_version), "%s", WC_VERSION);
	sh->instance = rte_rand();
	sh->pid = dp->pid;
	sh->state = WC_DP_STARTING;
	sh->start_time = dp->start_time;
	sh->tsc_hz = dp->tsc_hz;
	sh->n_workers = dp->n_workers;
	sh->port_id = (uint16_t)dp->cfg->port;
	sh->n_ports = 1;
	snprintf(sh->config_file, sizeof(sh->config_file), "%s",
		 dp->config_file != NULL ? dp->config_file : "");
	sh->cfg = *dp->cfg;
	dp->sh = sh;
	dp->ctl_ring = contract_ring(WC_RING_CTL);
	dp->event_ring = contract_ring(WC_RING_EVENT);
	if (dp->ctl_ring == NULL || dp->event_ring == NULL)
		return -ENOMEM;
	return 0;
}

/* The RCU variable of all workers, each registered under its index. */
static int setup_qsbr(struct wc_dataplane *dp)
{
	size_t sz = rte_rcu_qsbr_get_memsize(dp->n_workers);

	dp->qsbr = rte_zmalloc("wc_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (dp->qsbr == NULL || rte_rcu_qsbr_init(dp->qsbr, dp->n_workers) != 0)
		return -ENOMEM;
	for (unsigned int i = 0; i < dp->n_workers; i++)
		if (rte_rcu_qsbr_thread_register(dp->qsbr, i) != 0)
			return -EINVAL;
	return 0;
}

/* Every worker's view of all partitions, and its scratch buffer. */
static int setup_crew(struct wc_dataplane *dp)
{
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		struct wc_lcore *lc = &dp->lcores[i];
		int socket = (int)rte_lcore_to_socket_id(lc->lcore_id);

		lc->scratch = rte_malloc_socket("wc_scratch", dp->cfg->max_item_size, 0, socket);
		if (lc->scratch == NULL)
			return -ENOMEM;
		lc->qsbr = dp->qsbr;
		lc->mc.parts = dp->parts;
		lc->mc.nparts = dp->n_workers;
		lc->mc.self = i;
		lc->mc.scratch = lc->scratch;
		lc->mc.scratch_len = dp->cfg->max_item_size;
	}
	return wc_xcore_setup(dp);
}

static int setup_lcores(struct wc_dataplane *dp, struct rte_mempool *pool)
{
	const struct wc_config *cfg = dp->cfg;
	const struct wc_tcp_limits tcp_lim = {
		.max_conns = cfg->tcp_max_conns,
		.snd_buf = (uint32_t)RTE_MIN(cfg->tcp_snd_buf, UINT32_MAX),
		.mem = cfg->tcp_mem,
	};
	unsigned int id, i = 0;
	int rc;

	dp->lcores = rte_zmalloc("wc_lcores", sizeof(struct wc_lcore) * dp->n_workers,
				 RTE_CACHE_LINE_SIZE);
	dp->parts = rte_zmalloc("wc_parts", sizeof(dp->parts[0]) * dp->n_workers, 0);
	if (dp->lcores == NULL || dp->parts == NULL)
		return -ENOMEM;
	if (dp->n_workers > WC_MAX_WORKERS)
		return -ERANGE;
	if (dp->n_workers > 1) {
		rc = setup_qsbr(dp);
		if (rc != 0)
			return rc;
		dp->mc.flush_gen = &dp->flush_gen;
		dp->mc.part_gen = dp->part_gen;
	}
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
			.qsbr = dp->qsbr,
		};

		if (i == dp->n_workers)
			break;
		snprintf(name, sizeof(name), "wc_part%u", i);
		lc->lcore_id = id;
		lc->index = i;
		lc->sh = &dp->sh->lcores[i];
		lc->st = &lc->sh->st;
		lc->sh->lcore_id = id;
		lc->sh->socket_id = rte_lcore_to_socket_id(id);
		lc->sh->index = i;
		lc->backoff = cfg->idle_backoff;
		lc->store = wc_store_create(&sc);
		if (lc->store == NULL) {
			RTE_LOG(ERR, USER1,
				"partition %u: cannot allocate %zu bytes on socket %d\n", i,
				sc.mem_limit, sc.socket_id);
			return -ENOMEM;
		}
		dp->parts[i] = lc->store;
		lc->sh->part.numa_node = wc_store_numa_node(lc->store);
		wc_store_tick(lc->store, dp->start_time);
		lc->mc.srv = &dp->mc;
		lc->mc.store = lc->store;
		lc->mc.st = lc->st;
		lc->net.ifc = &dp->ifc;
		lc->net.queue = (uint16_t)i;
		/* The lcores' IPv4 id sequences start apart. */
		lc->net.ip_id = (uint16_t)(i * 4099u);
		lc->net.pool = pool;
		lc->net.st = lc->st;
		lc->net.tsc_hz = dp->tsc_hz;
		lc->net.now_tsc = dp->start_tsc;
		lc->net.app_arg[0] = &lc->mc;
		if (cfg->tcp_port != 0 &&
		    wc_mc_tcp_setup(&lc->net, &lc->mc, (uint16_t)cfg->tcp_port, &tcp_lim) != 0)
			return -ENOMEM;
		i++;
	}
	if (i != dp->n_workers)
		return -EINVAL;
	return dp->n_workers > 1 ? setup_crew(dp) : 0;
}

int wc_dataplane_setup(struct wc_dataplane *dp, struct rte_mempool *pool)
{
	const struct wc_config *cfg = dp->cfg;

	if (dp->n_workers == 0)
		dp->n_workers = rte_lcore_count();
	dp->tsc_hz = rte_get_tsc_hz();
	/*
	 * The TSC clock's seconds tick with the wall clock's: start_tsc is the
	 * TSC at the start of the current wall-clock second, so an absolute
	 * exptime a client computes from its clock lands on the same second.
	 */
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	dp->start_tsc = rte_rdtsc() - (uint64_t)ts.tv_nsec * dp->tsc_hz / 1000000000u;
	dp->start_time = (uint32_t)ts.tv_sec;
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
	dp->ifc.apps[0].fast = wc_mc_udp_fast;
	dp->ifc.n_apps = 1;
	if (setup_shared(dp) != 0)
		return -ENOMEM;
	return setup_lcores(dp, pool);
}

void wc_dataplane_teardown(struct wc_dataplane *dp)
{
	/* Messages in flight hold mbufs: back to the pool before it goes. */
	wc_xcore_teardown(dp);
	if (dp->lcores != NULL) {
		for (unsigned int i = 0; i < dp->n_workers; i++) {
			wc_mc_tcp_teardown(&dp->lcores[i].net);
			wc_store_destroy(dp->lcores[i].store);
			rte_free(dp->lcores[i].scratch);
		}
	}
	rte_free(dp->lcores);
	dp->lcores = NULL;
	rte_free(dp->parts);
	dp->parts = NULL;
	rte_free(dp->qsbr);
	dp->qsbr = NULL;
	/* The memzone and rings stay until EAL cleanup; a later setup reuses them. */
}
