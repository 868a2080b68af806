/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Starting DPDK's EAL for unit tests: no hugepages, no PCI, one lcore, a file
 * prefix of its own so tests can run beside a live appliance.
 */
#ifndef WC_TEST_EAL_HELPER_H
#define WC_TEST_EAL_HELPER_H

/** Start the EAL once for this test program. @return 0 or a negative errno. */
int wc_test_eal_init(const char *prog);

#endif
