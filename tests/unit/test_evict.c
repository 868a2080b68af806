/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The eviction policy against exact LRU on skewed traffic: a cache-aside
 * trace (get; on a miss, set) over Zipf(0.99)-distributed keys, ten times
 * more keys than fit, run through a real partition and through an exact
 * LRU simulator holding as many items as the partition held on average.
 * Same keys, same order; the partition's hit ratio must be the higher.
 *
 * Holding LRU to the partition's own item count compares the policies
 * alone: the partition's denser items are a further win this test leaves
 * out.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rte_memory.h>

#include "eal_helper.h"
#include "store/store.h"

#define MEM	(8u << 20)
#define WARMUP	2000000u
#define MEASURE 3000000u
#define T0	1000000u

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Zipf(s) over [0, n) by inverting a precomputed CDF. */
struct zipf {
	double *cdf;
	uint32_t n;
};

static void zipf_init(struct zipf *z, uint32_t n, double s)
{
	double sum = 0;

	z->n = n;
	z->cdf = malloc(sizeof(double) * n);
	assert_non_null(z->cdf);
	for (uint32_t i = 0; i < n; i++) {
		sum += 1.0 / pow((double)i + 1, s);
		z->cdf[i] = sum;
	}
	for (uint32_t i = 0; i < n; i++)
		z->cdf[i] /= sum;
}

static uint32_t zipf_next(const struct zipf *z)
{
	double u = (double)(next_rand() >> 11) / (double)(1ULL << 53);
	uint32_t lo = 0, hi = z->n - 1;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (z->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Scatter ranks over ids so hot keys are not neighbours. */
	return (uint32_t)(((uint64_t)lo * 2654435761u) % z->n);
}

/* Exact LRU over key ids: a doubly linked list in arrays. */
struct lru {
	int32_t *prev, *next;
	uint8_t *in;
	int32_t head, tail;
	uint32_t size, cap;
};

static void lru_init(struct lru *l, uint32_t n, uint32_t cap)
{
	l->prev = calloc(n, sizeof(int32_t));
	l->next = calloc(n, sizeof(int32_t));
	l->in = calloc(n, 1);
	assert_true(l->prev && l->next && l->in);
	l->head = l->tail = -1;
	l->size = 0;
	l->cap = cap;
}

static void lru_unlink(struct lru *l, int32_t k)
{
	if (l->prev[k] >= 0)
		l->next[l->prev[k]] = l->next[k];
	else
		l->head = l->next[k];
	if (l->next[k] >= 0)
		l->prev[l->next[k]] = l->prev[k];
	else
		l->tail = l->prev[k];
}

static void lru_push(struct lru *l, int32_t k)
{
	l->prev[k] = -1;
	l->next[k] = l->head;
	if (l->head >= 0)
		l->prev[l->head] = k;
	l->head = k;
	if (l->tail < 0)
		l->tail = k;
}

/* One cache-aside access; true on a hit. */
static bool lru_access(struct lru *l, int32_t k)
{
	if (l->in[k]) {
		lru_unlink(l, k);
		lru_push(l, k);
		return true;
	}
	if (l->size == l->cap) {
		int32_t victim = l->tail;

		lru_unlink(l, victim);
		l->in[victim] = 0;
		l->size--;
	}
	lru_push(l, k);
	l->in[k] = 1;
	l->size++;
	return false;
}

static bool store_access(struct wc_store *s, uint32_t k)
{
	char key[17], val[32];
	uint64_t h;
	struct wc_item *it;

	snprintf(key, sizeof(key), "key:%012u", k);
	h = wc_store_hash(key, 16);
	it = wc_store_lookup(s, key, 16, h);
	if (it != NULL) {
		wc_store_bump(s, it);
		return true;
	}
	memset(val, 'a' + (int)(k % 26), sizeof(val));
	assert_int_equal(wc_store_set(s, WC_MODE_SET, key, 16, h, val, 32, 0, 0, 0, NULL),
			 WC_STORE_OK);
	return false;
}

static void test_beats_lru_on_zipf(void **state)
{
	struct wc_store_config c = {
		.name = "test_evict",
		.mem_limit = MEM,
		.max_item_size = 64 << 10,
		.socket_id = SOCKET_ID_ANY,
	};
	struct wc_store *s = wc_store_create(&c);
	struct zipf z;
	struct lru l;
	uint32_t fit, universe;
	uint64_t hits = 0, lru_hits = 0, items_sum = 0, samples = 0;

	(void)state;
	assert_non_null(s);
	wc_store_tick(s, T0);
	/* How many items fit: fill with distinct keys until eviction starts. */
	for (fit = 0; wc_store_stats(s)->evictions == 0; fit++)
		store_access(s, 0x40000000u + fit);
	fit = (uint32_t)wc_store_stats(s)->curr_items;
	universe = 10 * fit;
	wc_store_flush(s, 0);
	zipf_init(&z, universe, 0.99);

	for (uint32_t i = 0; i < WARMUP; i++)
		store_access(s, zipf_next(&z));
	/* The partition's hit ratio, and how many items it held meanwhile. */
	uint64_t seed = rng;

	for (uint32_t i = 0; i < MEASURE; i++) {
		hits += store_access(s, zipf_next(&z));
		if (i % 1024 == 0) {
			items_sum += wc_store_stats(s)->curr_items;
			samples++;
		}
	}
	/* Exact LRU with that many items, over the same warm-up and trace. */
	lru_init(&l, universe, (uint32_t)(items_sum / samples));
	rng = 0x9e3779b97f4a7c15ULL;
	/* Replay: the fill used no random numbers, so the same sequence follows. */
	for (uint32_t i = 0; i < WARMUP; i++)
		lru_access(&l, (int32_t)zipf_next(&z));
	assert_true(rng == seed);
	for (uint32_t i = 0; i < MEASURE; i++)
		lru_hits += lru_access(&l, (int32_t)zipf_next(&z));

	double ours = (double)hits / MEASURE, theirs = (double)lru_hits / MEASURE;

	printf("zipf 0.99, %u keys, %u fit: partition %.4f (avg %llu items), exact LRU %.4f\n",
	       universe, fit, ours, (unsigned long long)(items_sum / samples), theirs);
	assert_true(ours > theirs);
	free(z.cdf);
	free(l.prev);
	free(l.next);
	free(l.in);
	wc_store_destroy(s);
}

/*
 * A large index fills: 900,000 keys in an index made for 2^20 go in without
 * an eviction. Every bucket must be in use as a first and a second choice,
 * or inserts find both buckets full well before the index is (each such
 * insert then evicts an item).
 */
static void test_large_index_fills(void **state)
{
	struct wc_store_config c = {
		.name = "test_evict_idx",
		.mem_limit = 192u << 20,
		.max_item_size = 64 << 10,
		.socket_id = SOCKET_ID_ANY,
		.max_items = 1u << 20,
	};
	struct wc_store *s = wc_store_create(&c);
	const uint32_t n = 900000;

	(void)state;
	assert_non_null(s);
	wc_store_tick(s, T0);
	for (uint32_t k = 0; k < n; k++)
		store_access(s, k);
	assert_int_equal(wc_store_stats(s)->evictions, 0);
	assert_int_equal(wc_store_stats(s)->curr_items, n);
	wc_store_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_index_fills),
		cmocka_unit_test(test_beats_lru_on_zipf),
	};

	if (wc_test_eal_init("test_evict") != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
