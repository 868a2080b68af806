/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CREW stress test of the item store, on two lcores: the owner (main lcore)
 * writes a small key set non-stop in a partition far too small for it
 * (constant eviction and compaction), with overwrites, deletes, appends,
 * prepends, incr/decr, touches, CAS and bit changes, expiry and flushes;
 * the reader (lcore 1) reads the same keys with wc_store_read() and checks
 * every value it gets. Record values carry their key's hash and their own
 * checksum, and the item's flags are derived from the key, so a torn copy,
 * a copy of freed or reused memory, or a value of another key is caught.
 * Counter values must be digits padded with spaces. Both lcores report
 * quiescent states to one rte_rcu_qsbr, as the dataplane's loops do.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <xxhash.h>

#include "store/store.h"
#include "store/store_check.h"

#include "eal_helper.h"

#define T0	  1000000u
#define NREC	  48 /* record keys "r<i>" */
#define NCTR	  16 /* counter keys "c<i>" */
#define NFILL	  4096
#define MEM	  (256u << 10)
#define MAX_ITEM  4096u
#define RUN_SECS  3
#define REC_MAGIC 0x57435243u /* "CRCW" */
#define REC_HDR	  20	      /* magic 4, len 4, key hash 8, seq 4 */
#define REC_SUM	  8
#define READER_ID 1
#define OWNER_ID  0
#define BUF_SIZE  MAX_ITEM

/*
 * A record: | magic 4 | len 4 | key hash 8 | seq 4 | payload | xxh64 8 |
 * len counts the whole record; the payload bytes follow from seq.
 */
static uint32_t rec_make(uint8_t *p, uint64_t keyh, uint32_t seq, uint32_t plen)
{
	uint32_t magic = REC_MAGIC, len = REC_HDR + plen + REC_SUM;
	uint64_t sum;

	memcpy(p, &magic, 4);
	memcpy(p + 4, &len, 4);
	memcpy(p + 8, &keyh, 8);
	memcpy(p + 16, &seq, 4);
	for (uint32_t i = 0; i < plen; i++)
		p[REC_HDR + i] = (uint8_t)(seq * 31 + i);
	sum = XXH64(p, len - REC_SUM, 0);
	memcpy(p + len - REC_SUM, &sum, 8);
	return len;
}

/* A value of a record key: one or more whole records of that key. */
static bool rec_check(const uint8_t *p, uint32_t n, uint64_t keyh)
{
	uint32_t off = 0;

	if (n == 0)
		return false;
	while (off < n) {
		uint32_t magic, len;
		uint64_t h, sum;

		if (n - off < REC_HDR + REC_SUM)
			return false;
		memcpy(&magic, p + off, 4);
		memcpy(&len, p + off + 4, 4);
		memcpy(&h, p + off + 8, 8);
		if (magic != REC_MAGIC || h != keyh || len < REC_HDR + REC_SUM || len > n - off)
			return false;
		memcpy(&sum, p + off + len - REC_SUM, 8);
		if (sum != XXH64(p + off, len - REC_SUM, 0))
			return false;
		off += len;
	}
	return true;
}

/* A counter: digits, then only spaces (memcached's in-place padding). */
static bool ctr_check(const uint8_t *p, uint32_t n)
{
	uint32_t i = 0;

	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++;
	if (i == 0 || i > 20)
		return false;
	for (; i < n; i++)
		if (p[i] != ' ')
			return false;
	return true;
}

struct key {
	char k[16];
	size_t klen;
	uint64_t h;
};

static struct key rec_keys[NREC], ctr_keys[NCTR];

struct shared {
	struct wc_store *s;
	struct rte_rcu_qsbr *q;
	volatile int stop;
	/* reader results */
	uint64_t reads, hits, misses, corrupt, again, toosmall;
	char first_bad[160];
};

static uint64_t xs(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

static int reader_main(void *arg)
{
	struct shared *sh = arg;
	static uint8_t buf[BUF_SIZE];
	uint64_t rng = 0x1234567;
	struct wc_item_meta m;

	rte_rcu_qsbr_thread_online(sh->q, READER_ID);
	while (!sh->stop) {
		bool rec = xs(&rng) % 4 != 0;
		const struct key *k = rec ? &rec_keys[xs(&rng) % NREC] : &ctr_keys[xs(&rng) % NCTR];
		int n = wc_store_read(sh->s, k->k, k->klen, k->h, buf, sizeof(buf),
				      xs(&rng) % 2 == 0, &m);
		bool ok = true;

		sh->reads++;
		if (n >= 0) {
			sh->hits++;
			if ((uint32_t)n != m.vlen || m.flags != (uint32_t)k->h)
				ok = false;
			else if (rec)
				ok = rec_check(buf, (uint32_t)n, k->h);
			else
				ok = ctr_check(buf, (uint32_t)n);
			if (!ok && sh->corrupt++ == 0)
				snprintf(sh->first_bad, sizeof(sh->first_bad),
					 "key %s: %d bytes, vlen %u, flags %08x", k->k, n, m.vlen,
					 m.flags);
		} else if (n == -ENOENT) {
			sh->misses++;
		} else if (n == -EAGAIN) {
			sh->again++;
		} else {
			sh->toosmall++;
		}
		rte_rcu_qsbr_quiescent(sh->q, READER_ID);
	}
	rte_rcu_qsbr_thread_offline(sh->q, READER_ID);
	return 0;
}

struct owner_counts {
	uint64_t ops, sets, appends, deletes, arith, flushes, touches;
};

/* One random write. */
static void owner_op(struct wc_store *s, uint64_t *rng, uint32_t *now, uint32_t seq,
		     struct owner_counts *oc)
{
	static uint8_t val[MAX_ITEM];
	uint64_t r = xs(rng);
	unsigned what = (unsigned)(r % 100);
	const struct key *k;
	uint32_t exptime = xs(rng) % 16 == 0 ? *now + 1 + (uint32_t)(xs(rng) % 3) : 0;
	char num[24];
	int ret;

	oc->ops++;
	if (what < 30) { /* set a record key */
		k = &rec_keys[xs(rng) % NREC];
		uint32_t n = rec_make(val, k->h, seq, (uint32_t)(xs(rng) % 400));
		ret = wc_store_set(s, WC_MODE_SET, k->k, k->klen, k->h, val, n, (uint32_t)k->h,
				   exptime, 0, NULL);
		oc->sets += ret == WC_STORE_OK;
	} else if (what < 45) { /* append / prepend a record */
		k = &rec_keys[xs(rng) % NREC];
		uint32_t n = rec_make(val, k->h, seq, (uint32_t)(xs(rng) % 100));
		ret = wc_store_set(s, xs(rng) % 2 ? WC_MODE_APPEND : WC_MODE_PREPEND, k->k, k->klen,
				   k->h, val, n, 0, 0, 0, NULL);
		oc->appends += ret == WC_STORE_OK;
	} else if (what < 50) { /* delete */
		k = xs(rng) % 2 ? &rec_keys[xs(rng) % NREC] : &ctr_keys[xs(rng) % NCTR];
		oc->deletes += wc_store_delete(s, k->k, k->klen, k->h, 0) == WC_STORE_OK;
	} else if (what < 55) { /* set a counter, of varying width */
		k = &ctr_keys[xs(rng) % NCTR];
		int n = snprintf(num, sizeof(num), "%" PRIu64, xs(rng) >> (xs(rng) % 64));
		(void)wc_store_set(s, WC_MODE_SET, k->k, k->klen, k->h, num, (uint32_t)n,
				   (uint32_t)k->h, exptime, 0, NULL);
	} else if (what < 75) { /* incr / decr: both in-length and growing */
		k = &ctr_keys[xs(rng) % NCTR];
		ret = wc_store_arith(s, k->k, k->klen, k->h, xs(rng) % 2, xs(rng) % 1000, 0, NULL,
				     NULL);
		oc->arith += ret == WC_STORE_OK;
	} else if (what < 82) { /* metadata in place: touch, CAS, bits */
		k = xs(rng) % 2 ? &rec_keys[xs(rng) % NREC] : &ctr_keys[xs(rng) % NCTR];
		struct wc_item *it = wc_store_lookup(s, k->k, k->klen, k->h);

		if (it != NULL) {
			it = wc_item_set_exptime(s, it, xs(rng) % 4 ? 0 : *now + 2);
			it = wc_item_set_cas(s, it, xs(rng));
			wc_item_set_bits(s, it, (uint8_t)(xs(rng) & 3));
			wc_store_bump(s, it);
			oc->touches++;
		}
	} else { /* filler: keeps memory full, eviction running */
		char fk[16];
		int fl = snprintf(fk, sizeof(fk), "f%u", (unsigned)(xs(rng) % NFILL));

		memset(val, 'x', 200);
		(void)wc_store_set(s, WC_MODE_SET, fk, (size_t)fl, wc_store_hash(fk, (size_t)fl),
				   val, 100 + (uint32_t)(xs(rng) % 100), 0, 0, 0, NULL);
	}
	if (oc->ops % 1000 == 0) {
		*now += 1;
		wc_store_tick(s, *now);
	}
	if (oc->ops % 200000 == 0) {
		wc_store_flush(s, 0);
		oc->flushes++;
	}
}

/* @p max_items: 0 for an index sized to the memory, else that small. */
static void crew_stress(uint32_t max_items)
{
	struct shared *sh;
	struct wc_store_config c = { 0 };
	struct owner_counts oc = { 0 };
	uint64_t rng = 0x9e3779b97f4a7c15ULL, end;
	uint32_t now = T0, seq = 0;
	size_t qsz = rte_rcu_qsbr_get_memsize(2);
	int check = 0;

	if (rte_lcore_count() < 2)
		skip();
	sh = rte_zmalloc("sh", sizeof(*sh), RTE_CACHE_LINE_SIZE);
	assert_non_null(sh);
	sh->q = rte_zmalloc("qsbr", qsz, RTE_CACHE_LINE_SIZE);
	assert_non_null(sh->q);
	assert_int_equal(rte_rcu_qsbr_init(sh->q, 2), 0);
	assert_int_equal(rte_rcu_qsbr_thread_register(sh->q, OWNER_ID), 0);
	assert_int_equal(rte_rcu_qsbr_thread_register(sh->q, READER_ID), 0);
	rte_rcu_qsbr_thread_online(sh->q, OWNER_ID);

	for (int i = 0; i < NREC; i++) {
		rec_keys[i].klen = (size_t)snprintf(rec_keys[i].k, sizeof(rec_keys[i].k), "r%d", i);
		rec_keys[i].h = wc_store_hash(rec_keys[i].k, rec_keys[i].klen);
	}
	for (int i = 0; i < NCTR; i++) {
		ctr_keys[i].klen = (size_t)snprintf(ctr_keys[i].k, sizeof(ctr_keys[i].k), "c%d", i);
		ctr_keys[i].h = wc_store_hash(ctr_keys[i].k, ctr_keys[i].klen);
	}
	c.name = "mt0";
	c.mem_limit = MEM;
	c.max_item_size = MAX_ITEM;
	c.socket_id = SOCKET_ID_ANY;
	c.qsbr = sh->q;
	c.max_items = max_items;
	sh->s = wc_store_create(&c);
	assert_non_null(sh->s);
	wc_store_tick(sh->s, now);

	assert_int_equal(rte_eal_remote_launch(reader_main, sh, rte_get_next_lcore(-1, 1, 0)), 0);
	end = rte_get_tsc_cycles() + RUN_SECS * rte_get_tsc_hz();
	while (rte_get_tsc_cycles() < end) {
		for (int i = 0; i < 64; i++) {
			owner_op(sh->s, &rng, &now, seq++, &oc);
			rte_rcu_qsbr_quiescent(sh->q, OWNER_ID);
		}
		if (oc.ops % (1u << 16) == 0 && check == 0)
			check = wc_store_check(sh->s);
	}
	sh->stop = 1;
	rte_eal_mp_wait_lcore();
	rte_rcu_qsbr_thread_offline(sh->q, OWNER_ID);

	const struct wc_store_stats *ss = wc_store_stats(sh->s);
	printf("owner: %" PRIu64 " ops (%" PRIu64 " sets, %" PRIu64 " appends, %" PRIu64
	       " deletes, %" PRIu64 " arith, %" PRIu64 " touches, %" PRIu64 " flushes), "
	       "%" PRIu64 " evictions, %" PRIu64 " oom, %" PRIu64 " grace waits, %" PRIu64
	       " index moves\n",
	       oc.ops, oc.sets, oc.appends, oc.deletes, oc.arith, oc.touches, oc.flushes,
	       ss->evictions, ss->oom, ss->grace_waits, ss->index_moves);
	printf("reader: %" PRIu64 " reads, %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64
	       " corrupt, %" PRIu64 " -EAGAIN, %" PRIu64 " other\n",
	       sh->reads, sh->hits, sh->misses, sh->corrupt, sh->again, sh->toosmall);
	if (sh->corrupt != 0)
		fail_msg("corrupt read: %s", sh->first_bad);
	assert_int_equal(check, 0);
	assert_int_equal(wc_store_check(sh->s), 0);
	assert_int_equal(sh->toosmall, 0);
	assert_true(sh->reads > 100000);
	assert_true(sh->hits > sh->reads / 10);
	assert_true(ss->evictions > 0);
	/*
	 * A store fails only when the reader lcore was descheduled for longer
	 * than the owner's bounded wait for its grace period: on a loaded
	 * shared machine that happens, rarely.
	 */
	assert_true(ss->oom * 1000 < oc.ops);
	assert_true(oc.sets > 0 && oc.appends > 0 && oc.arith > 0 && oc.flushes > 0);
	/* A small index is full: entries move between buckets under the reader. */
	if (max_items != 0)
		assert_true(ss->index_moves > 100);
	wc_store_destroy(sh->s);
	rte_free(sh->q);
	rte_free(sh);
}

static void test_crew_stress(void **st)
{
	(void)st;
	crew_stress(0);
}

/*
 * The same with an index too small for the keys, always nearly full: inserts move
 * entries to their other bucket (under the partition's seq) and evict the
 * least recently used of a key's buckets while the reader looks them up.
 */
static void test_crew_stress_full_index(void **st)
{
	(void)st;
	crew_stress(512);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crew_stress),
		cmocka_unit_test(test_crew_stress_full_index),
	};

	if (wc_test_eal_init_lcores("test_store_mt", "0,1") < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
