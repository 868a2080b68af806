/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wirecached: the dataplane. Start-up in dependency order (options, EAL,
 * mbufs, partitions, port, lcores), the poll loop on every EAL lcore (each
 * a worker with its own queue and partition), and a
 * clean teardown on SIGINT/SIGTERM or at the end of --lifetime.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#include "mgmt/config.h"
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

/* Is @p flag (or --flag=...) among EAL's arguments? */
static bool has_eal_flag(int argc, char **argv, const char *flag)
{
	size_t n = strlen(flag);

	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], flag, n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '='))
			return true;
	return false;
}

static void fmt_ip(char *buf, size_t len, uint32_t ip_be)
{
	uint32_t ip = rte_be_to_cpu_32(ip_be);

	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

int main(int argc, char **argv)
{
	static struct wc_config cfg;
	static struct wc_dataplane dp;
	static char config_file[WC_PATH_MAX], prefix_arg[96];
	static char base_arg[] = "--base-virtaddr=0x200000000000";
	struct rte_mempool *pool = NULL;
	char err[512], ipbuf[16];
	int app = app_args_start(argc, argv);
	int rc, status = EXIT_FAILURE;
	char **eal_argv;
	int eal_argc;

	/* Options first: --help and a bad value need no EAL. */
	wc_config_defaults(&cfg);
	rc = wc_config_parse_args(&cfg, app < argc ? argc - app : 1, app < argc ? &argv[app] : argv,
				  "wirecached", WC_OPT_DP, config_file, sizeof(config_file), err,
				  sizeof(err));
	if (rc == 1)
		return EXIT_SUCCESS;
	if (rc != 0) {
		fprintf(stderr, "wirecached: %s\n", err);
		return 2;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* The shared-memory name wirecache-mgmt attaches by, unless EAL's flags give one. */
	eal_argv = calloc((size_t)app + 3, sizeof(*eal_argv));
	if (eal_argv == NULL)
		return EXIT_FAILURE;
	memcpy(eal_argv, argv, sizeof(*argv) * (size_t)app);
	eal_argc = app;
	if (!has_eal_flag(app, argv, "--file-prefix") && !has_eal_flag(app, argv, "--in-memory") &&
	    !has_eal_flag(app, argv, "--no-shconf")) {
		snprintf(prefix_arg, sizeof(prefix_arg), "--file-prefix=%s", cfg.file_prefix);
		eal_argv[eal_argc++] = prefix_arg;
	}
	/*
	 * A secondary process maps DPDK's memory at the addresses this one
	 * chose, so they must be free in it too. EAL's default hint (4 GiB)
	 * is refused where AddressSanitizer keeps its shadow gap, and memory
	 * then lands wherever mmap puts it, among the places a secondary's own
	 * libraries land at random: wirecache-mgmt could fail to attach. A
	 * hint far above both (32 TiB) keeps the layout the same every time.
	 */
	if (!has_eal_flag(app, argv, "--base-virtaddr"))
		eal_argv[eal_argc++] = base_arg;
	rc = rte_eal_init(eal_argc, eal_argv);
	if (rc < 0) {
		fprintf(stderr, "wirecached: EAL start failed: %s\n", rte_strerror(rte_errno));
		return EXIT_FAILURE;
	}
	rte_log_set_global_level(cfg.log_level);

	dp.cfg = &cfg;
	dp.config_file = config_file;
	/* Every EAL lcore is a worker with its own queue and partition. */
	dp.n_workers = rte_lcore_count();

	pool = rte_pktmbuf_pool_create("wc_mbufs", cfg.mbufs, MBUF_CACHE, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "wirecached: cannot create a pool of %u mbufs: %s\n", cfg.mbufs,
			rte_strerror(rte_errno));
		goto out;
	}
	if (wc_dataplane_setup(&dp, pool) != 0) {
		fprintf(stderr,
			"wirecached: cannot allocate the partitions (memory-limit %llu "
			"bytes; give EAL more memory with -m or hugepages)\n",
			(unsigned long long)cfg.memory_limit);
		goto out;
	}
	rc = wc_port_setup(&dp, pool);
	if (rc == -ERANGE) {
		fprintf(stderr,
			"wirecached: port %u cannot give each of the %u worker lcores a queue "
			"(see the log above): give the port as many queues (e.g. "
			"net_af_packet's qpairs=%u) or fewer lcores with -l\n",
			cfg.port, dp.n_workers, dp.n_workers);
		goto out;
	}
	if (rc != 0) {
		fprintf(stderr, "wirecached: port %u could not be started (see the log above)\n",
			cfg.port);
		goto out;
	}

	if (wc_ctl_start(&dp) != 0) {
		fprintf(stderr, "wirecached: cannot start the control thread\n");
		goto out;
	}
	/* Ready for wirecache-mgmt: the magic is the last word written. */
	dp.sh->state = WC_DP_RUNNING;
	__atomic_store_n(&dp.sh->magic, WC_SHARED_MAGIC, __ATOMIC_RELEASE);

	fmt_ip(ipbuf, sizeof(ipbuf), cfg.ip.addr);
	printf("wirecached: ready ip=%s/%d mac=" RTE_ETHER_ADDR_PRT_FMT
	       " udp=%u port=%u lcores=%u memory-limit=%llu\n",
	       ipbuf, __builtin_popcount(cfg.ip.mask), RTE_ETHER_ADDR_BYTES(&dp.ifc.mac),
	       cfg.udp_port, cfg.port, dp.n_workers, (unsigned long long)cfg.memory_limit);
	fflush(stdout);

	rte_eal_mp_remote_launch(wc_lcore_main, &dp, CALL_MAIN);
	rte_eal_mp_wait_lcore();
	/*
	 * wirecache-mgmt's attach process leaves when it sees STOPPING (it
	 * looks every 50 ms). Give it that time before memory is freed: every
	 * page freed is synchronised with the secondaries, and one that exits
	 * with such a request unanswered would hold this process up for EAL's
	 * reply timeout, request after request.
	 */
	__atomic_store_n(&dp.sh->state, WC_DP_STOPPING, __ATOMIC_RELEASE);
	rte_delay_us_sleep(250 * 1000);
	wc_ctl_stop(&dp);
	wc_port_teardown(&dp);
	status = EXIT_SUCCESS;
	printf("wirecached: stopped\n");
	fflush(stdout);
out:
	wc_dataplane_teardown(&dp);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	free(eal_argv);
	return status;
}
