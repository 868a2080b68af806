/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the store's run-time settings: the memory limit lowered and
 * raised again (wc_store_set_mem_limit()), and eviction turned off and on
 * (wc_store_set_evict()), as an operator's `config set` does them on a live
 * partition.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_rcu_qsbr.h>

#include "store/store.h"
#include "store/store_check.h"

#include "eal_helper.h"

#define T0	  1000000u
#define MIB	  (1u << 20)
#define VAL_MAX	  400
#define TICKS_MAX 5000 /* far more than any shrink here needs */
#define ITEMS_MAX 400000

static int store_seq;
static uint32_t now = T0;

/* One registered reader (this thread) when partitions are made for remote
 * readers; it reports a quiescent state before every tick. */
static struct rte_rcu_qsbr *qsbr;
static bool qsbr_held; /* the reader holds a grace period up: no reports */

static void rcu_on(void)
{
	size_t sz = rte_rcu_qsbr_get_memsize(1);

	qsbr = rte_zmalloc("lim_qsbr", sz, RTE_CACHE_LINE_SIZE);
	assert_non_null(qsbr);
	assert_int_equal(rte_rcu_qsbr_init(qsbr, 1), 0);
	assert_int_equal(rte_rcu_qsbr_thread_register(qsbr, 0), 0);
	rte_rcu_qsbr_thread_online(qsbr, 0);
}

static void rcu_off(void)
{
	rte_rcu_qsbr_thread_offline(qsbr, 0);
	rte_free(qsbr);
	qsbr = NULL;
}

/* After each test: a failed one may have left the reader on. */
static int teardown(void **st)
{
	(void)st;
	qsbr_held = false;
	if (qsbr != NULL)
		rcu_off();
	return 0;
}

static struct wc_store *mk(size_t mem, bool no_evict)
{
	struct wc_store_config c = { 0 };
	char name[32];
	struct wc_store *s;

	snprintf(name, sizeof(name), "lim%d", store_seq++);
	c.name = name;
	c.mem_limit = mem;
	c.max_item_size = 64u << 10;
	c.socket_id = SOCKET_ID_ANY;
	c.no_evict = no_evict;
	c.qsbr = qsbr;
	s = wc_store_create(&c);
	assert_non_null(s);
	wc_store_tick(s, now);
	return s;
}

static void tick(struct wc_store *s)
{
	if (qsbr != NULL)
		rte_rcu_qsbr_quiescent(qsbr, 0);
	wc_store_tick(s, now);
}

static size_t key_of(uint32_t i, char *k)
{
	return (size_t)sprintf(k, "key:%u", i);
}

/* Item i's value: 100 to 399 bytes drawn from i, so that a value read back
 * under another key, or cut short, or overwritten in place, shows. */
static uint32_t val_of(uint32_t i, uint8_t *v)
{
	uint32_t n = 100 + (i * 7919u) % 300, x = i * 2654435761u + 1;

	for (uint32_t j = 0; j < n; j++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		v[j] = (uint8_t)x;
	}
	return n;
}

static int put(struct wc_store *s, uint32_t i)
{
	static unsigned n;
	uint8_t v[VAL_MAX];
	char k[32];
	size_t kl = key_of(i, k);
	uint32_t vl = val_of(i, v);

	/* A reader passing quiescent states now and then, as lcores do. */
	if (qsbr != NULL && !qsbr_held && ++n % 7 == 0)
		rte_rcu_qsbr_quiescent(qsbr, 0);

	return wc_store_set(s, WC_MODE_SET, k, kl, wc_store_hash(k, kl), v, vl, i, 0, 0, NULL);
}

/* Whether item i is there; if it is, its value and flags must be intact. */
static bool intact(struct wc_store *s, uint32_t i)
{
	uint8_t v[VAL_MAX];
	struct wc_item_view view;
	char k[32];
	size_t kl = key_of(i, k);
	uint32_t vl = val_of(i, v);

	if (wc_store_get(s, k, kl, wc_store_hash(k, kl), &view) == NULL)
		return false;
	assert_int_equal(view.vlen, vl);
	assert_int_equal(view.flags, i);
	assert_memory_equal(view.val, v, vl);
	return true;
}

static void del(struct wc_store *s, uint32_t i)
{
	char k[32];
	size_t kl = key_of(i, k);

	assert_int_equal(wc_store_delete(s, k, kl, wc_store_hash(k, kl), 0), WC_STORE_OK);
}

/* Keys [from, to) still present, each checked. */
static uint32_t count_intact(struct wc_store *s, uint32_t from, uint32_t to)
{
	uint32_t n = 0;

	for (uint32_t i = from; i < to; i++)
		n += intact(s, i);
	return n;
}

/* Store keys from @p first on until @p bytes of values were written; every
 * store must succeed. @return the next key. */
static uint32_t fill(struct wc_store *s, uint32_t first, uint64_t bytes)
{
	uint8_t v[VAL_MAX];
	uint64_t done = 0;
	uint32_t i = first;

	for (; done < bytes; i++) {
		assert_int_equal(put(s, i), WC_STORE_OK);
		done += val_of(i, v);
		assert_true(wc_store_mem_used(s) <= wc_store_mem_reserved(s));
	}
	return i;
}

/*
 * Tick until the memory in use is within the limit, each tick removing at
 * most 1024 items (the work a tick is allowed). @return the ticks.
 */
static unsigned converge(struct wc_store *s)
{
	const struct wc_store_stats *st = wc_store_stats(s);
	unsigned t;

	for (t = 0; t < TICKS_MAX && wc_store_mem_used(s) > wc_store_mem_limit(s); t++) {
		uint64_t gone = st->evictions + st->reclaimed;

		tick(s);
		assert_true(st->evictions + st->reclaimed - gone <= 1024);
		if (t % 16 == 0)
			assert_int_equal(wc_store_check(s), 0);
	}
	assert_true(wc_store_mem_used(s) <= wc_store_mem_limit(s));
	assert_int_equal(wc_store_check(s), 0);
	return t;
}

/*
 * Fill a partition, halve its limit: the memory in use comes under the new
 * limit within a bounded number of ticks by evicting (counted), every item
 * left is intact, stores keep succeeding and stay under the limit; raised
 * back, the partition holds more again.
 */
static void lower_and_raise(void)
{
	const size_t lim = 32 * MIB;
	struct wc_store *s = mk(lim, false);
	const struct wc_store_stats *st = wc_store_stats(s);
	uint64_t ev0, items_full, items_half;
	uint32_t next;
	unsigned ticks;

	assert_int_equal(wc_store_mem_reserved(s), lim);
	/* Full: twice the limit written, evicting. */
	next = fill(s, 0, 2 * lim);
	assert_true(st->evictions > 0);
	assert_true(wc_store_mem_used(s) > lim / 2 + lim / 4);
	items_full = st->curr_items;
	ev0 = st->evictions;

	assert_int_equal(wc_store_set_mem_limit(s, lim / 2), 0);
	assert_int_equal(wc_store_mem_limit(s), lim / 2);
	assert_int_equal(wc_store_mem_reserved(s), lim);
	assert_int_equal(wc_store_check(s), 0);
	assert_true(wc_store_mem_used(s) > lim / 2); /* nothing evicted by the call itself */
	assert_int_equal(st->evictions, ev0);

	ticks = converge(s);
	/* About one tick per 1024 items held by the excess half, and no more:
	 * items of 100-399 bytes, so at most 16 MiB / 100 / 1024 = 164. */
	assert_true(ticks > 0);
	assert_true(ticks <= (lim / 2) / 100 / 1024 + 2);
	assert_true(st->evictions > ev0);
	assert_true(st->curr_items < items_full);
	assert_true(st->bytes <= lim / 2);
	/* what was not evicted is intact, and the stats count exactly that */
	assert_int_equal(count_intact(s, 0, next), st->curr_items);

	/* Stores go on under the new limit, evicting. */
	ev0 = st->evictions;
	for (uint32_t end = next + 100000; next < end; next++) {
		assert_int_equal(put(s, next), WC_STORE_OK);
		assert_true(wc_store_mem_used(s) <= lim / 2);
		if (next % 512 == 0)
			tick(s);
	}
	assert_true(st->evictions > ev0);
	assert_int_equal(st->oom, 0);
	assert_true(wc_store_mem_used(s) > lim / 4); /* the half is used */
	items_half = st->curr_items;
	assert_true(items_half < items_full);
	assert_int_equal(count_intact(s, 0, next), st->curr_items);
	assert_int_equal(wc_store_check(s), 0);

	/* Raised back: the memory is used again and holds more. */
	assert_int_equal(wc_store_set_mem_limit(s, lim), 0);
	assert_int_equal(wc_store_mem_limit(s), lim);
	assert_int_equal(wc_store_check(s), 0);
	next = fill(s, next, lim);
	assert_true(wc_store_mem_used(s) > lim / 2 + lim / 4);
	assert_true(wc_store_mem_used(s) <= lim);
	assert_true(st->curr_items > items_half + items_half / 2);
	assert_int_equal(st->oom, 0);
	assert_int_equal(count_intact(s, 0, next), st->curr_items);
	assert_int_equal(wc_store_check(s), 0);
	wc_store_destroy(s);
}

static void test_lower_and_raise(void **st)
{
	(void)st;
	lower_and_raise();
}

/* The same with remote readers: emptied segments wait for grace periods. */
static void test_lower_and_raise_rcu(void **st)
{
	(void)st;
	rcu_on();
	lower_and_raise();
	rcu_off();
}

/*
 * A reader that holds up grace periods: the shrink evicts what the lowered
 * limit needs and then waits, instead of evicting on while nothing comes
 * back; once the reader passes a quiescent state it finishes.
 */
static void test_shrink_waits_for_readers(void **st)
{
	const size_t lim = 32 * MIB;
	const struct wc_store_stats *stt;
	struct wc_store *s;
	uint64_t ev;
	uint32_t next;

	(void)st;
	rcu_on();
	s = mk(lim, false);
	stt = wc_store_stats(s);
	next = fill(s, 0, 2 * lim);
	assert_int_equal(wc_store_set_mem_limit(s, lim / 2), 0);
	rte_rcu_qsbr_quiescent(qsbr, 0);
	for (int t = 0; t < 500; t++)
		wc_store_tick(s, now);
	ev = stt->evictions;
	for (int t = 0; t < 500; t++)
		wc_store_tick(s, now);
	assert_int_equal(stt->evictions, ev);
	/* what a quarter of the limit holds, at least, is still there */
	assert_true(stt->bytes > lim / 4);
	assert_int_equal(wc_store_check(s), 0);
	converge(s);
	assert_int_equal(count_intact(s, 0, next), stt->curr_items);
	wc_store_destroy(s);
	rcu_off();
}

/*
 * What a reader found stays readable until it passes a quiescent state,
 * whatever the limit does meanwhile: a reader holding value pointers sees
 * the items evicted by a lowered limit, the limit raised again and new
 * stores, and the bytes under its pointers do not change.
 */
static void test_found_not_reused(void **st)
{
	enum { NHELD = 2000 };
	static struct {
		const uint8_t *val;
		uint32_t i, vlen;
	} held[NHELD];
	const size_t lim = 32 * MIB;
	const struct wc_store_stats *stt;
	struct wc_store *s;
	uint32_t next, nheld = 0, gone = 0;
	uint64_t ev;
	uint8_t v[VAL_MAX];

	(void)st;
	rcu_on();
	s = mk(lim, false);
	stt = wc_store_stats(s);
	next = fill(s, 0, 2 * lim);
	/* the oldest items: the first the shrink evicts */
	for (uint32_t i = 0; i < next && nheld < NHELD; i++) {
		struct wc_item_view view;
		char k[32];
		size_t kl = key_of(i, k);

		if (wc_store_get(s, k, kl, wc_store_hash(k, kl), &view) != NULL) {
			held[nheld].val = view.val;
			held[nheld].vlen = view.vlen;
			held[nheld++].i = i;
		}
	}
	assert_int_equal(nheld, NHELD);
	rte_rcu_qsbr_quiescent(qsbr, 0);
	qsbr_held = true; /* from here the pointers above are in use */

	ev = stt->evictions;
	assert_int_equal(wc_store_set_mem_limit(s, lim / 2), 0);
	for (int t = 0; t < 500; t++)
		wc_store_tick(s, now);
	assert_true(stt->evictions > ev);
	assert_int_equal(wc_store_set_mem_limit(s, lim), 0);
	/* as many stores as succeed while the grace period is held up */
	for (uint32_t n = 0; n < 100000 && put(s, next) == WC_STORE_OK; n++)
		next++;
	assert_int_equal(wc_store_check(s), 0);
	for (uint32_t h = 0; h < nheld; h++) {
		uint32_t vl = val_of(held[h].i, v);

		assert_int_equal(held[h].vlen, vl);
		assert_memory_equal(held[h].val, v, vl);
		gone += !intact(s, held[h].i);
	}
	assert_true(gone > 0); /* the pointers did outlive their items */

	qsbr_held = false;
	rte_rcu_qsbr_quiescent(qsbr, 0);
	next = fill(s, next, lim);
	assert_int_equal(count_intact(s, 0, next), stt->curr_items);
	wc_store_destroy(s);
	rcu_off();
}

/*
 * Stores alone, without ticks, keep a lowered limit's partition working and
 * its memory from growing; ticks then bring it under.
 */
static void test_stores_while_shrinking(void **st)
{
	const size_t lim = 16 * MIB;
	struct wc_store *s = mk(lim, false);
	size_t used;
	uint32_t next;

	(void)st;
	next = fill(s, 0, 2 * lim);
	used = wc_store_mem_used(s);
	assert_int_equal(wc_store_set_mem_limit(s, lim / 4), 0);
	/* no segment beyond those in use: at most the active one's room more */
	for (uint32_t end = next + 50000; next < end; next++) {
		assert_int_equal(put(s, next), WC_STORE_OK);
		assert_true(wc_store_mem_used(s) <= used + wc_store_mem_min(s) / 4);
	}
	assert_int_equal(wc_store_check(s), 0);
	converge(s);
	assert_int_equal(count_intact(s, 0, next), wc_store_stats(s)->curr_items);
	wc_store_destroy(s);
}

/* Limits outside [wc_store_mem_min(), wc_store_mem_reserved()] are refused
 * and change nothing; the bounds themselves are accepted. */
static void test_range(void **st)
{
	const size_t lim = 16 * MIB;
	struct wc_store *s = mk(lim, false);
	struct wc_store_stats before;
	size_t used, min = wc_store_mem_min(s);
	uint32_t next;

	(void)st;
	assert_int_equal(wc_store_mem_reserved(s), lim);
	/* 4 segments of at least 64 KiB + header for this max item size */
	assert_true(min >= 4 * (64u << 10) && min < lim);
	next = fill(s, 0, lim / 2);
	used = wc_store_mem_used(s);
	before = *wc_store_stats(s);

	assert_int_equal(wc_store_set_mem_limit(s, lim + 1), -ERANGE);
	assert_int_equal(wc_store_set_mem_limit(s, SIZE_MAX), -ERANGE);
	assert_int_equal(wc_store_set_mem_limit(s, min - 1), -ERANGE);
	assert_int_equal(wc_store_set_mem_limit(s, 0), -ERANGE);
	for (int t = 0; t < 100; t++)
		tick(s);
	assert_int_equal(wc_store_mem_limit(s), lim);
	assert_int_equal(wc_store_mem_used(s), used);
	assert_memory_equal(wc_store_stats(s), &before, sizeof(before));
	assert_int_equal(count_intact(s, 0, next), before.curr_items);
	assert_int_equal(wc_store_check(s), 0);

	/* The smallest limit works: stores evict under it. */
	assert_int_equal(wc_store_set_mem_limit(s, min), 0);
	assert_int_equal(wc_store_mem_limit(s), min);
	converge(s);
	next = fill(s, next, lim);
	assert_true(wc_store_mem_used(s) <= min);
	assert_int_equal(wc_store_stats(s)->oom, 0);
	assert_int_equal(count_intact(s, 0, next), wc_store_stats(s)->curr_items);
	/* and so does the largest */
	assert_int_equal(wc_store_set_mem_limit(s, lim), 0);
	next = fill(s, next, lim);
	assert_true(wc_store_mem_used(s) > min);
	assert_int_equal(wc_store_check(s), 0);
	wc_store_destroy(s);
}

/* With remote readers the minimum keeps the RCU reserve as create does. */
static void test_range_rcu(void **st)
{
	struct wc_store *a, *b;

	(void)st;
	a = mk(16 * MIB, false);
	rcu_on();
	b = mk(16 * MIB, false);
	/* same segment size: 4 segments, and 2 more for grace periods */
	assert_int_equal(wc_store_mem_min(b), wc_store_mem_min(a) / 4 * 6);
	assert_int_equal(wc_store_set_mem_limit(b, wc_store_mem_min(b) - 1), -ERANGE);
	assert_int_equal(wc_store_set_mem_limit(b, wc_store_mem_min(b)), 0);
	fill(b, 0, 16 * MIB);
	converge(b);
	wc_store_destroy(b);
	rcu_off();
	wc_store_destroy(a);
}

/* Where the previous fill stopped with -ENOMEM. @return the first refused key. */
static uint32_t fill_until_full(struct wc_store *s, uint32_t first)
{
	uint32_t i;
	int ret = WC_STORE_OK;

	for (i = first; i < first + ITEMS_MAX; i++) {
		ret = put(s, i);
		if (ret != WC_STORE_OK)
			break;
	}
	assert_int_equal(ret, -ENOMEM);
	return i;
}

/* Eviction off: a full partition refuses stores and keeps every item; on:
 * the same store succeeds by evicting; off again: refused again. */
static void test_evict_toggle(void **st)
{
	const size_t lim = 8 * MIB;
	struct wc_store *s = mk(lim, true);
	const struct wc_store_stats *stt = wc_store_stats(s);
	uint32_t full, next;
	uint64_t ev;

	(void)st;
	assert_false(wc_store_evicts(s));
	full = fill_until_full(s, 0);
	assert_int_equal(stt->oom, 1);
	assert_int_equal(stt->evictions, 0);
	assert_int_equal(count_intact(s, 0, full), full);
	assert_int_equal(put(s, full), -ENOMEM);
	assert_int_equal(stt->oom, 2);

	wc_store_set_evict(s, true);
	assert_true(wc_store_evicts(s));
	assert_int_equal(put(s, full), WC_STORE_OK);
	assert_true(intact(s, full));
	assert_true(stt->evictions > 0);
	next = fill(s, full + 1, lim);
	assert_int_equal(count_intact(s, 0, next), stt->curr_items);
	assert_true(wc_store_mem_used(s) <= lim);

	wc_store_set_evict(s, false);
	assert_false(wc_store_evicts(s));
	ev = stt->evictions;
	next = fill_until_full(s, next);
	assert_int_equal(stt->evictions, ev);
	assert_int_equal(stt->oom, 3);
	assert_int_equal(count_intact(s, 0, next), stt->curr_items);
	assert_int_equal(wc_store_check(s), 0);
	wc_store_destroy(s);
}

/*
 * no_evict and a limit lowered under what the items take: nothing is
 * evicted, stores are refused for lack of memory, and once deletes free the
 * oldest items the partition comes under the limit and stores succeed again.
 */
static void test_no_evict_lowered(void **st)
{
	const size_t lim = 16 * MIB;
	struct wc_store *s = mk(lim, true);
	const struct wc_store_stats *stt = wc_store_stats(s);
	uint32_t n, refused, next;
	uint8_t v[VAL_MAX];
	uint64_t oom;
	size_t used;
	int ret = WC_STORE_OK;

	(void)st;
	/* three quarters full */
	n = 0;
	for (uint64_t b = 0; b < lim / 2 + lim / 4; n++) {
		assert_int_equal(put(s, n), WC_STORE_OK);
		b += val_of(n, v) + 16;
	}
	assert_int_equal(wc_store_set_mem_limit(s, lim / 2), 0);
	for (int t = 0; t < 200; t++)
		tick(s);
	used = wc_store_mem_used(s);
	assert_true(used > lim / 2);
	assert_int_equal(wc_store_check(s), 0);
	/* Refused once the active segment is full: the segments beyond the
	 * limit are not reused (a segment is a quarter of the minimum). */
	refused = n;
	for (; refused < n + ITEMS_MAX; refused++) {
		ret = put(s, refused);
		if (ret != WC_STORE_OK)
			break;
	}
	assert_int_equal(ret, -ENOMEM);
	assert_true(wc_store_mem_used(s) <= used + wc_store_mem_min(s) / 4);
	oom = stt->oom;
	assert_int_equal(put(s, refused + 1), -ENOMEM);
	assert_int_equal(stt->oom, oom + 1);
	assert_int_equal(stt->evictions, 0);
	assert_int_equal(count_intact(s, 0, refused), refused);

	/* Delete the oldest 60%: their segments empty and leave use. */
	for (uint32_t i = 0; i < refused * 6 / 10; i++)
		del(s, i);
	converge(s);
	assert_int_equal(count_intact(s, refused * 6 / 10, refused), refused - refused * 6 / 10);
	/* Stores succeed again, up to the new limit. */
	next = refused + 2;
	for (uint32_t i = 0; i < 1000; i++, next++)
		assert_int_equal(put(s, next), WC_STORE_OK);
	next = fill_until_full(s, next);
	assert_true(wc_store_mem_used(s) <= lim / 2);
	assert_int_equal(stt->evictions, 0);
	assert_int_equal(wc_store_check(s), 0);
	wc_store_destroy(s);
}

/* no_evict, the limit lowered, items deleted here and there (no segment
 * empties): ticks compact the mostly dead segments until under the limit. */
static void test_no_evict_compacts(void **st)
{
	const size_t lim = 16 * MIB;
	struct wc_store *s = mk(lim, true);
	uint32_t n = 0;
	uint8_t v[VAL_MAX];

	(void)st;
	for (uint64_t b = 0; b < lim / 2; n++) {
		assert_int_equal(put(s, n), WC_STORE_OK);
		b += val_of(n, v) + 16;
	}
	/* keep one item in 8: every segment stays, mostly dead */
	for (uint32_t i = 0; i < n; i++)
		if (i % 8 != 0)
			del(s, i);
	assert_int_equal(wc_store_check(s), 0);
	assert_int_equal(wc_store_set_mem_limit(s, lim / 4), 0);
	assert_true(wc_store_mem_used(s) > lim / 4);
	converge(s);
	assert_int_equal(wc_store_stats(s)->evictions, 0);
	assert_int_equal(count_intact(s, 0, n), (n + 7) / 8);
	wc_store_destroy(s);
}

/*
 * no_evict, the active segment nearly full, every older segment mostly dead:
 * the live items of the older ones do not fit in the active segment's room,
 * so the tick starts a new active segment to compact them into.
 */
static void test_no_evict_compacts_full_active(void **st)
{
	const size_t lim = 16 * MIB;
	struct wc_store *s = mk(lim, true);
	const size_t seg = wc_store_mem_min(s) / 4;
	uint32_t n = 0, active_first = 0;

	(void)st;
	/* at least 8 segments sealed, the active one over 7/8 full */
	while (wc_store_mem_used(s) < 8 * seg || wc_store_mem_used(s) % seg < seg / 8 * 7) {
		size_t before = wc_store_mem_used(s) / seg;

		assert_int_equal(put(s, n), WC_STORE_OK);
		if (wc_store_mem_used(s) / seg != before)
			active_first = n;
		n++;
	}
	/* one item in 16 kept in the sealed segments */
	for (uint32_t i = 0; i < active_first; i++)
		if (i % 16 != 0)
			del(s, i);
	assert_int_equal(wc_store_set_mem_limit(s, 4 * seg), 0);
	converge(s);
	assert_int_equal(wc_store_stats(s)->evictions, 0);
	assert_int_equal(count_intact(s, 0, n), (active_first + 15) / 16 + (n - active_first));
	wc_store_destroy(s);
}

/* A flush while shrinking ends the shrink at once. */
static void test_flush_while_shrinking(void **st)
{
	const size_t lim = 16 * MIB;
	struct wc_store *s = mk(lim, false);
	uint32_t next;

	(void)st;
	next = fill(s, 0, 2 * lim);
	assert_int_equal(wc_store_set_mem_limit(s, lim / 4), 0);
	tick(s);
	wc_store_flush(s, 0);
	assert_int_equal(wc_store_check(s), 0);
	assert_true(wc_store_mem_used(s) <= lim / 4);
	next = fill(s, next, lim);
	assert_true(wc_store_mem_used(s) <= lim / 4);
	assert_int_equal(count_intact(s, 0, next), wc_store_stats(s)->curr_items);
	assert_int_equal(wc_store_check(s), 0);
	wc_store_destroy(s);
}

/* Lowered and raised again before the shrink is done, repeatedly, with an
 * open reservation: the partition stays consistent and every item intact. */
static void test_limit_churn(void **st)
{
	const size_t lim = 16 * MIB;
	struct wc_store *s = mk(lim, false);
	size_t min = wc_store_mem_min(s);
	struct wc_item_view view;
	struct wc_item *it;
	uint32_t next = 0;
	uint8_t *p;
	int err;

	(void)st;
	next = fill(s, 0, lim);
	p = wc_store_reserve(s, "resv", 4, wc_store_hash("resv", 4), 3, 0, 0, &err);
	assert_non_null(p);
	memcpy(p, "abc", 3);
	for (unsigned r = 0; r < 40; r++) {
		size_t l = min + (size_t)(r * 2654435761u) % (lim - min + 1);

		assert_int_equal(wc_store_set_mem_limit(s, l), 0);
		for (unsigned t = 0; t < r % 5; t++)
			tick(s);
		next = fill(s, next, lim / 8);
		assert_int_equal(wc_store_check(s), 0);
	}
	assert_int_equal(wc_store_commit(s, WC_MODE_SET, 0, NULL), WC_STORE_OK);
	converge(s);
	/* the committed item is an item as others: kept intact, or evicted */
	it = wc_store_get(s, "resv", 4, wc_store_hash("resv", 4), &view);
	if (it != NULL)
		assert_memory_equal(view.val, "abc", 3);
	assert_int_equal(count_intact(s, 0, next) + (it != NULL), wc_store_stats(s)->curr_items);
	assert_int_equal(wc_store_stats(s)->oom, 0);
	wc_store_destroy(s);
}

/* ---- the limit changed under a remote reader ---- */

#define CREW_KEYS 40000
#define CREW_SECS 2

struct crew {
	struct wc_store *s;
	struct rte_rcu_qsbr *q;
	volatile int stop;
	uint64_t reads, hits, corrupt, again;
	char first_bad[96];
};

/* Lcore 1: read random keys with wc_store_read(); whatever is found must be
 * exactly the value its key was always stored with. */
static int crew_reader(void *arg)
{
	struct crew *c = arg;
	static uint8_t buf[VAL_MAX], want[VAL_MAX];
	uint32_t x = 12345;
	struct wc_item_meta m;

	rte_rcu_qsbr_thread_online(c->q, 1);
	while (!c->stop) {
		uint32_t i, wl;
		char k[32];
		size_t kl;
		int n;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		i = x % CREW_KEYS;
		kl = key_of(i, k);
		n = wc_store_read(c->s, k, kl, wc_store_hash(k, kl), buf, sizeof(buf), i % 3 == 0,
				  &m);
		c->reads++;
		if (n >= 0) {
			c->hits++;
			wl = val_of(i, want);
			if ((uint32_t)n != wl || m.flags != i || memcmp(buf, want, wl) != 0) {
				if (c->corrupt++ == 0)
					snprintf(c->first_bad, sizeof(c->first_bad),
						 "key %u: %d bytes (want %u), flags %u", i, n, wl,
						 m.flags);
			}
		} else if (n == -EAGAIN) {
			c->again++;
		}
		rte_rcu_qsbr_quiescent(c->q, 1);
	}
	rte_rcu_qsbr_thread_offline(c->q, 1);
	return 0;
}

/*
 * The owner stores and deletes non-stop and changes the limit every so
 * often, between the smallest and the largest, while lcore 1 reads: no read
 * sees freed or reused memory, and the partition stays consistent.
 */
static void test_crew_limit(void **st)
{
	struct wc_store_config cfg = { 0 };
	size_t qsz = rte_rcu_qsbr_get_memsize(2);
	uint64_t ops = 0, changes = 0, end;
	uint32_t x = 777;
	size_t min, max;
	struct crew *c;
	int check = 0;

	(void)st;
	if (rte_lcore_count() < 2)
		skip();
	c = rte_zmalloc("crew", sizeof(*c), RTE_CACHE_LINE_SIZE);
	assert_non_null(c);
	c->q = rte_zmalloc("crew_q", qsz, RTE_CACHE_LINE_SIZE);
	assert_non_null(c->q);
	assert_int_equal(rte_rcu_qsbr_init(c->q, 2), 0);
	assert_int_equal(rte_rcu_qsbr_thread_register(c->q, 0), 0);
	assert_int_equal(rte_rcu_qsbr_thread_register(c->q, 1), 0);
	rte_rcu_qsbr_thread_online(c->q, 0);
	cfg.name = "lim_crew";
	cfg.mem_limit = 8 * MIB;
	cfg.max_item_size = 64u << 10;
	cfg.socket_id = SOCKET_ID_ANY;
	cfg.qsbr = c->q;
	c->s = wc_store_create(&cfg);
	assert_non_null(c->s);
	wc_store_tick(c->s, now);
	min = wc_store_mem_min(c->s);
	max = wc_store_mem_reserved(c->s);

	assert_int_equal(rte_eal_remote_launch(crew_reader, c, rte_get_next_lcore(-1, 1, 0)), 0);
	end = rte_get_tsc_cycles() + CREW_SECS * rte_get_tsc_hz();
	while (rte_get_tsc_cycles() < end) {
		for (int j = 0; j < 256; j++, ops++) {
			uint32_t i;

			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			i = x % CREW_KEYS;
			if (x % 16 == 0) {
				char k[32];
				size_t kl = key_of(i, k);

				wc_store_delete(c->s, k, kl, wc_store_hash(k, kl), 0);
			} else {
				/* refused only if the reader held a grace period up too long */
				int ret = put(c->s, i);

				if (ret != WC_STORE_OK && ret != -ENOMEM)
					fail_msg("store: %d", ret);
			}
			rte_rcu_qsbr_quiescent(c->q, 0);
		}
		wc_store_tick(c->s, now);
		if (ops % (64 * 256) == 0) {
			assert_int_equal(
				wc_store_set_mem_limit(c->s, min + (size_t)x % (max - min + 1)), 0);
			changes++;
			if (check == 0)
				check = wc_store_check(c->s);
		}
	}
	/* and at last the smallest, reached */
	assert_int_equal(wc_store_set_mem_limit(c->s, min), 0);
	for (unsigned t = 0; t < TICKS_MAX && wc_store_mem_used(c->s) > min; t++) {
		rte_rcu_qsbr_quiescent(c->q, 0);
		wc_store_tick(c->s, now);
	}
	c->stop = 1;
	rte_eal_mp_wait_lcore();
	rte_rcu_qsbr_thread_offline(c->q, 0);
	printf("owner: %" PRIu64 " ops, %" PRIu64 " limit changes, %" PRIu64 " evictions, %" PRIu64
	       " oom; reader: %" PRIu64 " reads, %" PRIu64 " hits, %" PRIu64 " -EAGAIN\n",
	       ops, changes, wc_store_stats(c->s)->evictions, wc_store_stats(c->s)->oom, c->reads,
	       c->hits, c->again);
	if (c->corrupt != 0)
		fail_msg("corrupt read: %s", c->first_bad);
	assert_int_equal(check, 0);
	assert_int_equal(wc_store_check(c->s), 0);
	assert_true(wc_store_mem_used(c->s) <= min);
	assert_true(changes > 2);
	assert_true(c->hits > 0);
	assert_true(wc_store_stats(c->s)->evictions > 0);
	wc_store_destroy(c->s);
	rte_free(c->q);
	rte_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_lower_and_raise, teardown),
		cmocka_unit_test_teardown(test_lower_and_raise_rcu, teardown),
		cmocka_unit_test_teardown(test_shrink_waits_for_readers, teardown),
		cmocka_unit_test_teardown(test_found_not_reused, teardown),
		cmocka_unit_test_teardown(test_stores_while_shrinking, teardown),
		cmocka_unit_test_teardown(test_range, teardown),
		cmocka_unit_test_teardown(test_range_rcu, teardown),
		cmocka_unit_test_teardown(test_evict_toggle, teardown),
		cmocka_unit_test_teardown(test_no_evict_lowered, teardown),
		cmocka_unit_test_teardown(test_no_evict_compacts, teardown),
		cmocka_unit_test_teardown(test_no_evict_compacts_full_active, teardown),
		cmocka_unit_test_teardown(test_flush_while_shrinking, teardown),
		cmocka_unit_test_teardown(test_limit_churn, teardown),
		cmocka_unit_test_teardown(test_crew_limit, teardown),
	};

	if (wc_test_eal_init_lcores("test_store_limit", "0,1") < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
