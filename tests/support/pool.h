/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Whether every mbuf of a pool came back, each once, for tests' and fuzz
 * harnesses' end-of-run checks. rte_mempool_avail_count() cannot say: it
 * caps its count at the pool's size, so an mbuf freed twice (which the pool
 * then hands out twice) goes unseen, and a leak elsewhere can offset it.
 *
 * wc_pool_free_set() takes every free object out of the pool, sums their
 * addresses two ways and puts them back (only the pointers are read, not
 * the objects): the set of free objects at start-up, compared with the set
 * at the end by wc_pool_check().
 */
#ifndef WC_TESTS_SUPPORT_POOL_H
#define WC_TESTS_SUPPORT_POOL_H

#include <stdint.h>
#include <stdlib.h>

#include <rte_mempool.h>

/** A set of objects: how many, and two independent sums of their addresses. */
struct wc_pool_set {
	unsigned int n;
	uint64_t sum;
	uint64_t mix;
};

/** The free objects of @p mp, the calling lcore's cache included (tests run on one). */
static inline struct wc_pool_set wc_pool_free_set(struct rte_mempool *mp)
{
	void **objs = (void **)malloc(sizeof(*objs) * ((size_t)mp->size + 1));
	struct wc_pool_set s = { 0, 0, 0 };

	if (objs == NULL)
		abort();
	/* 64 at a time while there are, then one by one; one more than the
	 * pool holds shows a double free. */
	while (s.n + 64 <= mp->size && rte_mempool_get_bulk(mp, &objs[s.n], 64) == 0)
		s.n += 64;
	while (s.n <= mp->size && rte_mempool_get(mp, &objs[s.n]) == 0)
		s.n++;
	for (unsigned int i = 0; i < s.n; i++) {
		uint64_t a = (uint64_t)(uintptr_t)objs[i];

		s.sum += a;
		s.mix += (a ^ (a >> 29)) * 0xbf58476d1ce4e5b9ull;
	}
	rte_mempool_put_bulk(mp, objs, s.n);
	free(objs);
	return s;
}

/**
 * Compare the free objects of @p mp with @p start, wc_pool_free_set() at
 * start-up; how many are free in @p nfree if not NULL.
 * @return 0 if they are the same; -1 if some are missing (held: a leak);
 *         -2 if they are not the same objects each once (one freed twice).
 */
static inline int wc_pool_check(struct rte_mempool *mp, const struct wc_pool_set *start,
				unsigned int *nfree)
{
	struct wc_pool_set now = wc_pool_free_set(mp);

	if (nfree != NULL)
		*nfree = now.n;
	if (now.n == start->n && now.sum == start->sum && now.mix == start->mix)
		return 0;
	return now.n < start->n ? -1 : -2;
}

#endif
