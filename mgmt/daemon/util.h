/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Small helpers of wirecache-mgmt.
 */
#ifndef WC_MGMT_UTIL_H
#define WC_MGMT_UTIL_H

#include <stdint.h>
#include <sys/types.h>

/**
 * Create the directory that holds @p path, and its parents, as needed.
 * @return 0, or a negative errno.
 */
int wc_util_mkdir_parent(const char *path, mode_t mode);

/** CLOCK_REALTIME in nanoseconds. */
uint64_t wc_util_now_ns(void);

/** CLOCK_MONOTONIC in milliseconds. */
uint64_t wc_util_mono_ms(void);

#endif /* WC_MGMT_UTIL_H */
