/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Consistency check of a partition's internal structures, for tests and
 * debugging; it walks all item memory, so never call it on a fast path.
 */
#ifndef WC_STORE_CHECK_H
#define WC_STORE_CHECK_H

#include "store/store.h"

/**
 * Verify segment lists and accounting, that every linked item is reachable
 * through its index chain, and that the counters match the items.
 * Owner lcore only.
 * @return 0 if consistent, or a negative number naming the first broken
 *         invariant (see store.c).
 */
int wc_store_check(struct wc_store *s);

#endif /* WC_STORE_CHECK_H */
