/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wirecached: the dataplane. Start-up in dependency order (options, EAL,
 * mbufs, partitions, port, lcores), the poll loop on every lcore, and a
 * clean teardown on SIGINT/SIGTERM or at the end of --lifetime.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane/config.h"
#include "dataplane/lcore.h"
#include "dataplane/proto/mc_udp.h"
#include "store/store.h"

#define MBUF_CACHE 256

static void on_signal(int sig)
{
	(void)sig;
	wc_quit = 1;
}

/* The application's arguments are those after "--" (EAL's come before). */
static int app_args_start(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return i;
	return argc;
}

static void fmt_ip(char *buf, size_t len, uint32_t ip_be)
{
	uint32_t ip = rte_be_to_cpu_32(ip_be);

	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

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
		lc->mc.srv = &dp->mc;
		lc->mc.store = lc->store;
		lc->mc.st = &lc->st;
		lc->net.ifc = &dp->ifc;
		lc->net.queue = (uint16_t)i;
		lc->net.pool = pool;
		lc->net.st = &lc->st;
		lc->net.tsc_hz = dp->tsc_hz;
		lc->net.app_arg[0] = &lc->mc;
		i++;
	}
	return 0;
}

static void teardown_lcores(struct wc_dataplane *dp)
{
	if (dp->lcores == NULL)
		return;
	for (unsigned int i = 0; i < dp->n_workers; i++)
		wc_store_destroy(dp->lcores[i].store);
	rte_free(dp->lcores);
	dp->lcores = NULL;
}

int main(int argc, char **argv)
{
	static struct wc_config cfg;
	static struct wc_dataplane dp;
	struct rte_mempool *pool = NULL;
	char err[512], ipbuf[16];
	int app = app_args_start(argc, argv);
	int rc, status = EXIT_FAILURE;

	/* Options first: --help and a bad value need no EAL. */
	wc_config_defaults(&cfg);
	rc = wc_config_parse_args(&cfg, app < argc ? argc - app : 1, app < argc ? &argv[app] : argv,
				  err, sizeof(err));
	if (rc == 1)
		return EXIT_SUCCESS;
	if (rc != 0) {
		fprintf(stderr, "wirecached: %s\n", err);
		return 2;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = rte_eal_init(app, argv);
	if (rc < 0) {
		fprintf(stderr, "wirecached: EAL start failed: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	rte_log_set_global_level(cfg.log_level);

	dp.cfg = &cfg;
	dp.n_workers = rte_lcore_count();
	dp.tsc_hz = rte_get_tsc_hz();
	dp.start_tsc = rte_rdtsc();
	dp.start_time = (uint32_t)time(NULL);
	dp.pid = (int)getpid();
	if (cfg.lifetime != 0)
		dp.stop_tsc = dp.start_tsc + (uint64_t)cfg.lifetime * dp.tsc_hz;
	if (dp.n_workers > 1) {
		/* Keys would be split across partitions no core can see into yet. */
		fprintf(stderr,
			"wirecached: one worker lcore is supported for now (got %u: give "
			"-l with one core)\n",
			dp.n_workers);
		goto out;
	}

	dp.mc.max_item_size = (uint32_t)cfg.max_item_size;
	dp.mc.version = "1.6.0-wirecache-" WC_VERSION;
	dp.mc.stats = wc_stats_mc;
	dp.mc.stats_arg = &dp;
	dp.mc.flush = wc_stats_flush;
	dp.mc.flush_arg = &dp;

	dp.ifc.ip = cfg.ip.addr;
	dp.ifc.netmask = cfg.ip.mask;
	memcpy(dp.ifc.allow, cfg.udp_allow, sizeof(cfg.udp_allow));
	dp.ifc.n_allow = cfg.n_udp_allow;
	dp.ifc.udp_open = cfg.udp_open;
	dp.ifc.udp_open_budget = (uint32_t)cfg.udp_open_budget;
	dp.ifc.apps[0].port = rte_cpu_to_be_16((uint16_t)cfg.udp_port);
	dp.ifc.apps[0].input = wc_mc_udp_input;
	dp.ifc.n_apps = 1;

	pool = rte_pktmbuf_pool_create("wc_mbufs", cfg.mbufs, MBUF_CACHE, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "wirecached: cannot create a pool of %u mbufs: %s\n", cfg.mbufs,
			rte_strerror(rte_errno));
		goto out;
	}
	if (setup_lcores(&dp, pool) != 0) {
		fprintf(stderr,
			"wirecached: cannot allocate the partitions (memory-limit %llu "
			"bytes; give EAL more memory with -m or hugepages)\n",
			(unsigned long long)cfg.memory_limit);
		goto out;
	}
	if (wc_port_setup(&dp, pool) != 0) {
		fprintf(stderr, "wirecached: port %u could not be started (see the log above)\n",
			cfg.port);
		goto out;
	}

	fmt_ip(ipbuf, sizeof(ipbuf), cfg.ip.addr);
	printf("wirecached: ready ip=%s/%d mac=" RTE_ETHER_ADDR_PRT_FMT
	       " udp=%u port=%u lcores=%u memory-limit=%llu\n",
	       ipbuf, __builtin_popcount(cfg.ip.mask), RTE_ETHER_ADDR_BYTES(&dp.ifc.mac),
	       cfg.udp_port, cfg.port, dp.n_workers, (unsigned long long)cfg.memory_limit);
	fflush(stdout);

	rte_eal_mp_remote_launch(wc_lcore_main, &dp, CALL_MAIN);
	rte_eal_mp_wait_lcore();
	wc_port_teardown(&dp);
	status = EXIT_SUCCESS;
	printf("wirecached: stopped\n");
	fflush(stdout);
out:
	teardown_lcores(&dp);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return status;
}
