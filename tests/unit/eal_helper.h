/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Starting DPDK's EAL for unit tests: no hugepages, no PCI, one lcore, a file
 * prefix of its own so tests can run beside a live appliance.
 */
#ifndef WC_TEST_EAL_HELPER_H
#define WC_TEST_EAL_HELPER_H

#include <stdint.h>

struct rte_mempool;
struct rte_ring;

/** Start the EAL once for this test program. @return 0 or a negative errno. */
int wc_test_eal_init(const char *prog);

/** The same with EAL's -l @p lcores (e.g. "0,1" for a second, remote lcore). */
int wc_test_eal_init_lcores(const char *prog, const char *lcores);

/** A started net_ring port that loops its TX back to RX, and its pool. */
struct wc_test_port {
	struct rte_mempool *pool; /**< no per-lcore cache: its count is exact */
	uint16_t port_id;
	struct rte_ring *txring; /**< what the port was given to send, to read */
};

/**
 * Start the EAL (wc_test_eal_init()), a pool of @p pool_size mbufs and a
 * net_ring port named net_ring_<prog> with one queue each way; the test
 * reads what the code under test sent straight from @p p->txring. Prints
 * the reason on failure.
 * @return 0 or -1.
 */
int wc_test_port_start(const char *prog, unsigned int pool_size, struct wc_test_port *p);

/** Stop and close the port and free its pool. */
void wc_test_port_stop(struct wc_test_port *p);

#endif
