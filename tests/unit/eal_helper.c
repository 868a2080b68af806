/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <unistd.h>

#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "eal_helper.h"

int wc_test_eal_init_lcores(const char *prog, const char *lcores)
{
	static int done;
	char prefix[64];

	if (done)
		return 0;
	snprintf(prefix, sizeof(prefix), "--file-prefix=wct_%s_%d", prog, (int)getpid());
	char *argv[] = { (char *)prog,	"--no-huge",	"-m",
			 "512",		"--no-pci",	"--no-telemetry",
			 "-l",		(char *)lcores, "--log-level=lib.eal:error",
			 "--no-shconf", prefix,		NULL };
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
		return -rte_errno;
	done = 1;
	return 0;
}

int wc_test_eal_init(const char *prog)
{
	return wc_test_eal_init_lcores(prog, "0");
}

int wc_test_port_start(const char *prog, unsigned int pool_size, struct wc_test_port *p)
{
	struct rte_eth_conf conf;
	char name[64], ring[96];
	int rc = wc_test_eal_init(prog);

	memset(p, 0, sizeof(*p));
	if (rc != 0) {
		fprintf(stderr, "%s: EAL init failed: %d\n", prog, rc);
		return -1;
	}
	snprintf(name, sizeof(name), "net_ring_%s", prog);
	/* The ring net_ring makes for a port without arguments, both directions. */
	if ((size_t)snprintf(ring, sizeof(ring), "ETH_RXTX0_%s", name) >= RTE_RING_NAMESIZE) {
		fprintf(stderr, "%s: the ring port's name is too long\n", prog);
		return -1;
	}
	p->pool = rte_pktmbuf_pool_create(prog, pool_size, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	if (p->pool == NULL || rte_eal_hotplug_add("vdev", name, "") != 0 ||
	    rte_eth_dev_get_port_by_name(name, &p->port_id) != 0) {
		fprintf(stderr, "%s: cannot create the mbuf pool or the ring port\n", prog);
		return -1;
	}
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(p->port_id, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(p->port_id, 0, 64, SOCKET_ID_ANY, NULL, p->pool) != 0 ||
	    rte_eth_tx_queue_setup(p->port_id, 0, 64, SOCKET_ID_ANY, NULL) != 0 ||
	    rte_eth_dev_start(p->port_id) != 0) {
		fprintf(stderr, "%s: cannot start the ring port\n", prog);
		return -1;
	}
	p->txring = rte_ring_lookup(ring);
	if (p->txring == NULL) {
		fprintf(stderr, "%s: no ring %s\n", prog, ring);
		return -1;
	}
	return 0;
}

void wc_test_port_stop(struct wc_test_port *p)
{
	rte_eth_dev_stop(p->port_id);
	rte_eth_dev_close(p->port_id);
	rte_mempool_free(p->pool);
	p->pool = NULL;
}
