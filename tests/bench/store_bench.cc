/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Store operations per second on one lcore (and two, with CREW reads),
 * no network: Google Benchmark over the C store API.
 *
 *   store_bench [--benchmark_filter=...] [--benchmark_format=json] ...
 *
 * 2^20 keys of 16 bytes with 32-byte values, wireload's key format, set
 * once before any benchmark runs; each operation picks the next key of a
 * precomputed sequence (uniform, or Zipf 0.99 with rank 0 the hottest), so
 * the sampler's cost is not measured. Benchmarks:
 *
 *   get_hit, get_miss     wc_store_get() + value copy + wc_store_bump(), as the
 *                         memcached executor answers `get`
 *   set                   overwrite with a same-size value (wc_store_set)
 *   set_1k_wrap           overwrites of 1 KB values in a 64 MiB partition whose
 *                         keys fill a quarter of it, its memory wrapped: also
 *                         the sets over 50 us per million, the worst set, and
 *                         the segments sets had to empty themselves
 *   tick_ttl_1k           the store's tick among 1 KB sets with expiry times:
 *                         its mean, its worst, the ticks over 50 us
 *   mix95, mix50          95/5 and 50/50 get/set
 *   index_floor           a bare rte_hash_lookup_data() of the key's 64-bit
 *                         hash in an rte_hash of the store's size: the floor
 *                         for an index built on rte_hash
 *   index_floor_xxh3      the same plus hashing the key
 *   crew2/mixNN           two lcores, a partition each: gets of either
 *                         partition (the other's through wc_store_read()),
 *                         sets to the lcore's own keys only; reported as the
 *                         main lcore's rate plus the other lcore's in
 *                         counters. Runs when the store has wc_store_read().
 *
 * The item figure is items_per_second: operations per second on one core.
 */
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <benchmark/benchmark.h>

extern "C" {
#include "store/store.h"
#include "wireload.h"

/* Present once the store implements CREW reads; weak so this links without. */
int wc_store_read(struct wc_store *s, const void *key, size_t klen, uint64_t hash, void *buf,
		  size_t buflen, bool bump, struct wc_item_meta *meta) __attribute__((weak));
}

namespace
{

constexpr uint64_t kMiB = 1024ULL * 1024;
constexpr uint32_t kKeys = 1u << 20;
constexpr uint32_t kSeq = 1u << 22; /* operations before a sequence repeats */
constexpr size_t kKlen = 16;
constexpr size_t kVlen = 32;
/* 80-byte items take 84 MB; the index is sized from the limit as wirecached sizes it. */
constexpr uint64_t kLimit = 192 * kMiB;

struct Key {
	char b[kKlen];
};

struct World {
	struct wc_store *store = nullptr;
	struct rte_hash *bare = nullptr;
	std::vector<Key> keys; /* 0..kKeys-1 present, kKeys..2*kKeys-1 absent */
	std::vector<uint64_t> hashes;
	std::vector<uint32_t> seq[2];	/* uniform, zipf */
	std::vector<uint8_t> is_set[2]; /* 5% and 50% sets */
	char val[kVlen];
	/* CREW: two partitions, a key's owner by wc_store_owner(). */
	struct wc_store *part[2] = { nullptr, nullptr };
	struct rte_rcu_qsbr *qsbr = nullptr;
	std::vector<uint32_t> own_seq[2]; /* per lcore: its own keys, for its sets */
};

World w;

void fail(const char *what)
{
	fprintf(stderr, "store_bench: %s\n", what);
	exit(1);
}

struct wc_store *new_store(const char *name, struct rte_rcu_qsbr *qsbr, uint64_t limit = kLimit)
{
	struct wc_store_config sc = {};

	sc.name = name;
	sc.mem_limit = limit;
	sc.max_item_size = kMiB;
	sc.socket_id = SOCKET_ID_ANY;
	sc.max_items = 0;
	sc.no_evict = false;
	sc.qsbr = qsbr;
	return wc_store_create(&sc);
}

void setup_world()
{
	struct wl_keyfmt kf;
	struct wl_valfmt vf;
	struct wl_rng r;
	struct wl_zipf z;
	struct rte_hash_parameters hp = {};

	wl_keyfmt_init(&kf, kKlen, 2 * kKeys);
	wl_valfmt_init(&vf, kVlen, kVlen, 2 * kKeys, 0);
	wl_value_fill(&vf, 0, 0, w.val, kVlen);
	w.keys.resize(2 * kKeys);
	w.hashes.resize(2 * kKeys);
	for (uint32_t i = 0; i < 2 * kKeys; i++) {
		wl_key_format(&kf, i, w.keys[i].b);
		w.hashes[i] = wc_store_hash(w.keys[i].b, kKlen);
	}
	wl_rng_seed(&r, 1);
	wl_zipf_init(&z, kKeys, 0.99);
	for (int d = 0; d < 2; d++)
		w.seq[d].resize(kSeq);
	for (uint32_t i = 0; i < kSeq; i++) {
		w.seq[0][i] = (uint32_t)wl_rng_below(&r, kKeys);
		w.seq[1][i] = (uint32_t)wl_zipf_next(&z, &r);
	}
	for (int m = 0; m < 2; m++) {
		double p = m == 0 ? 0.05 : 0.5;

		w.is_set[m].resize(kSeq);
		for (uint32_t i = 0; i < kSeq; i++)
			w.is_set[m][i] = wl_rng_double(&r) < p;
	}

	w.store = new_store("wcb_one", nullptr);
	if (w.store == nullptr)
		fail("cannot create the partition");
	wc_store_tick(w.store, 1000);
	hp.name = "wcb_bare";
	hp.entries = (uint32_t)(kLimit / 64); /* the store's own sizing */
	hp.key_len = sizeof(uint64_t);
	hp.socket_id = SOCKET_ID_ANY;
	w.bare = rte_hash_create(&hp);
	if (w.bare == nullptr)
		fail("cannot create the bare index");
	for (uint32_t i = 0; i < kKeys; i++) {
		if (wc_store_set(w.store, WC_MODE_SET, w.keys[i].b, kKlen, w.hashes[i], w.val,
				 kVlen, 0, 0, 0, nullptr) != WC_STORE_OK)
			fail("preload: set failed");
		if (rte_hash_add_key_data(w.bare, &w.hashes[i], w.keys[i].b) < 0)
			fail("preload: bare index add failed");
	}
	if (wc_store_stats(w.store)->curr_items != kKeys)
		fail("preload: the partition did not keep every key");
}

/* The executor's `get`: lookup, copy the value out, mark the hit. */
inline bool do_get(struct wc_store *s, uint32_t k, char *out)
{
	struct wc_item_view v;
	struct wc_item *it = wc_store_get(s, w.keys[k].b, kKlen, w.hashes[k], &v);

	if (it == nullptr)
		return false;
	memcpy(out, v.val, v.vlen);
	wc_store_bump(s, it);
	return true;
}

inline int do_set(struct wc_store *s, uint32_t k)
{
	return wc_store_set(s, WC_MODE_SET, w.keys[k].b, kKlen, w.hashes[k], w.val, kVlen, 0, 0, 0,
			    nullptr);
}

const char *dist_name(int d)
{
	return d == 0 ? "uniform" : "zipf0.99";
}

void bm_get(benchmark::State &st, int dist, bool hit)
{
	const std::vector<uint32_t> &seq = w.seq[dist];
	uint32_t i = 0, off = hit ? 0 : kKeys;
	uint64_t hits = 0;
	char out[kVlen];

	for (auto _ : st) {
		hits += do_get(w.store, seq[i] + off, out);
		benchmark::DoNotOptimize(out);
		i = (i + 1) & (kSeq - 1);
	}
	if (hits != (hit ? (uint64_t)st.iterations() : 0)) {
		/* The earlier set benchmarks may have made the store drop keys. */
		static char msg[160];

		snprintf(msg, sizeof(msg),
			 "unexpected hit/miss: %" PRIu64 " of %" PRIu64 " hit; curr_items %" PRIu64
			 ", evictions %" PRIu64,
			 hits, (uint64_t)st.iterations(), wc_store_stats(w.store)->curr_items,
			 wc_store_stats(w.store)->evictions);
		st.SkipWithError(msg);
	}
	st.SetItemsProcessed(st.iterations());
}

void bm_set(benchmark::State &st, int dist)
{
	const std::vector<uint32_t> &seq = w.seq[dist];
	uint32_t i = 0;
	uint64_t bad = 0;

	for (auto _ : st) {
		bad += do_set(w.store, seq[i]) != WC_STORE_OK;
		i = (i + 1) & (kSeq - 1);
	}
	if (bad != 0)
		st.SkipWithError("a set failed");
	st.SetItemsProcessed(st.iterations());
}

/*
 * Overwrites of 1 KB values in a partition of kWrapLimit whose keys fill a
 * quarter of it, so that its memory wraps and segments must be emptied as
 * fast as they are written: the mean is the throughput, the counters the
 * tail a client sees. Keys are the sequence's modulo kWrapKeys.
 */
constexpr uint64_t kWrapLimit = 64 * kMiB;
constexpr uint32_t kWrapKeys = 16000;
constexpr uint32_t kWrapVlen = 1024;

void bm_set_wrap(benchmark::State &st, int dist)
{
	static char val[kWrapVlen];
	const std::vector<uint32_t> &seq = w.seq[dist];
	const double us_per_tsc = 1e6 / (double)rte_get_tsc_hz();
	uint64_t bad = 0, over50 = 0, worst = 0;
	uint32_t i = 0;

	memset(val, 'w', sizeof(val));
	struct wc_store *s =
		new_store(dist == 0 ? "wcb_wrap_u" : "wcb_wrap_z", nullptr, kWrapLimit);

	if (s == nullptr) {
		st.SkipWithError("cannot create the partition");
		return;
	}
	/* Written over twice before the timing starts: the memory has wrapped. */
	for (uint64_t n = 0; n < 2 * kWrapLimit / kWrapVlen; n++, i = (i + 1) & (kSeq - 1)) {
		uint32_t k = seq[i] % kWrapKeys;

		bad += wc_store_set(s, WC_MODE_SET, w.keys[k].b, kKlen, w.hashes[k], val, kWrapVlen,
				    0, 0, 0, nullptr) != WC_STORE_OK;
	}
	const struct wc_store_stats *ss = wc_store_stats(s);
	uint64_t inline0 = ss->reclaim_inline, cleaned0 = ss->segs_cleaned;

	for (auto _ : st) {
		uint32_t k = seq[i] % kWrapKeys;
		uint64_t t0 = rte_rdtsc();

		bad += wc_store_set(s, WC_MODE_SET, w.keys[k].b, kKlen, w.hashes[k], val, kWrapVlen,
				    0, 0, 0, nullptr) != WC_STORE_OK;
		uint64_t d = rte_rdtsc() - t0;

		worst = d > worst ? d : worst;
		over50 += (double)d * us_per_tsc > 50;
		i = (i + 1) & (kSeq - 1);
	}
	if (bad != 0)
		st.SkipWithError("a set failed");
	st.SetItemsProcessed(st.iterations());
	double per_m = 1e6 / (double)RTE_MAX(st.iterations(), (benchmark::IterationCount)1);
	st.counters["sets_over_50us_per_M"] = benchmark::Counter((double)over50 * per_m);
	st.counters["worst_set_us"] = benchmark::Counter((double)worst * us_per_tsc);
	/* Segments a set had to empty itself (each a pause), and ones emptied ahead. */
	st.counters["inline_reclaims_per_M"] =
		benchmark::Counter((double)(ss->reclaim_inline - inline0) * per_m);
	st.counters["segs_cleaned_per_M"] =
		benchmark::Counter((double)(ss->segs_cleaned - cleaned0) * per_m);
	wc_store_destroy(s);
}

/*
 * A tick (the store's clock and its expiry walk) among 1 KB sets with
 * expiry times 1-60 s away, in a partition as set_1k_wrap's: an iteration
 * is 100 sets then a tick, the store's clock a second further every 1,000
 * ticks (a tick a millisecond). The counters are the ticks' own time, a
 * pause of the lcore for every request behind it.
 */
void bm_tick_ttl(benchmark::State &st)
{
	static char val[kWrapVlen];
	const std::vector<uint32_t> &seq = w.seq[0];
	const double us_per_tsc = 1e6 / (double)rte_get_tsc_hz();
	uint64_t bad = 0, over50 = 0, worst = 0, sum = 0, ticks = 0;
	uint32_t i = 0, now = 1000000;

	memset(val, 't', sizeof(val));
	struct wc_store *s = new_store("wcb_ttl", nullptr, kWrapLimit);

	if (s == nullptr) {
		st.SkipWithError("cannot create the partition");
		return;
	}
	auto round = [&]() {
		for (int j = 0; j < 100; j++, i = (i + 1) & (kSeq - 1)) {
			uint32_t k = seq[i] % kWrapKeys;

			bad += wc_store_set(s, WC_MODE_SET, w.keys[k].b, kKlen, w.hashes[k], val,
					    kWrapVlen, 0, now + 1 + seq[i] % 60, 0,
					    nullptr) != WC_STORE_OK;
		}
		if (++ticks % 1000 == 0)
			now++;
		uint64_t t0 = rte_rdtsc();

		wc_store_tick(s, now);
		return rte_rdtsc() - t0;
	};
	/* A minute of the store's clock first: items expire all the time. */
	while (ticks < 60000)
		round();
	ticks = 0;
	for (auto _ : st) {
		uint64_t d = round();

		sum += d;
		worst = d > worst ? d : worst;
		over50 += (double)d * us_per_tsc > 50;
	}
	if (bad != 0)
		st.SkipWithError("a set failed");
	double n = (double)RTE_MAX(st.iterations(), (benchmark::IterationCount)1);
	st.counters["tick_us"] = benchmark::Counter((double)sum * us_per_tsc / n);
	st.counters["ticks_over_50us_per_K"] = benchmark::Counter((double)over50 * 1000 / n);
	st.counters["worst_tick_us"] = benchmark::Counter((double)worst * us_per_tsc);
	st.counters["reclaimed"] = benchmark::Counter((double)wc_store_stats(s)->reclaimed);
	wc_store_destroy(s);
}

void bm_mix(benchmark::State &st, int dist, int mix)
{
	const std::vector<uint32_t> &seq = w.seq[dist];
	const std::vector<uint8_t> &sets = w.is_set[mix];
	uint32_t i = 0;
	uint64_t hits = 0;
	char out[kVlen];

	for (auto _ : st) {
		uint32_t k = seq[i];

		if (sets[i])
			do_set(w.store, k);
		else
			hits += do_get(w.store, k, out);
		benchmark::DoNotOptimize(out);
		i = (i + 1) & (kSeq - 1);
	}
	benchmark::DoNotOptimize(hits);
	st.SetItemsProcessed(st.iterations());
}

void bm_index(benchmark::State &st, int dist, bool hash_key)
{
	const std::vector<uint32_t> &seq = w.seq[dist];
	uint32_t i = 0;
	uint64_t found = 0;

	for (auto _ : st) {
		uint32_t k = seq[i];
		uint64_t h = hash_key ? wc_store_hash(w.keys[k].b, kKlen) : w.hashes[k];
		void *data;

		found += rte_hash_lookup_data(w.bare, &h, &data) >= 0;
		benchmark::DoNotOptimize(data);
		i = (i + 1) & (kSeq - 1);
	}
	if (found != (uint64_t)st.iterations())
		st.SkipWithError("bare index lookup missed");
	st.SetItemsProcessed(st.iterations());
}

/* ---- two lcores (CREW) ---- */

struct CrewArgs {
	unsigned me;
	int dist;
	int mix;
	volatile bool *stop;
	uint64_t ops;
	uint64_t ns;
	uint64_t errors;
};

/*
 * One lcore's share of the mix: a get of a key owned here is a local
 * wc_store_get(); of the other partition, wc_store_read(). A set always
 * goes to one of this lcore's own keys: forwarding a write to its owner is
 * the dataplane's ring, not the store's, and is left out here.
 */
uint64_t crew_ops(CrewArgs *a, uint64_t n, uint32_t *pos, uint32_t *own_pos)
{
	const std::vector<uint32_t> &seq = w.seq[a->dist];
	const std::vector<uint8_t> &sets = w.is_set[a->mix];
	const std::vector<uint32_t> &own = w.own_seq[a->me];
	struct wc_store *mine = w.part[a->me], *other = w.part[a->me ^ 1];
	uint32_t i = *pos, j = *own_pos;
	uint64_t errs = 0;
	char out[kVlen];

	for (uint64_t c = 0; c < n; c++) {
		if (sets[i]) {
			errs += do_set(mine, own[j]) != WC_STORE_OK;
			j = (j + 1) % (uint32_t)own.size();
		} else {
			uint32_t k = seq[i];

			if (wc_store_owner(w.hashes[k], 2) == a->me) {
				errs += !do_get(mine, k, out);
			} else {
				struct wc_item_meta m;
				int r = wc_store_read(other, w.keys[k].b, kKlen, w.hashes[k], out,
						      sizeof(out), true, &m);

				errs += r != (int)kVlen;
			}
			benchmark::DoNotOptimize(out);
		}
		i = (i + 1) & (kSeq - 1);
		/* Each lcore is reader of the other's partition: report often. */
		if ((c & 31) == 31)
			rte_rcu_qsbr_quiescent(w.qsbr, a->me);
	}
	*pos = i;
	*own_pos = j;
	return errs;
}

int crew_worker(void *arg)
{
	CrewArgs *a = static_cast<CrewArgs *>(arg);
	uint32_t pos = kSeq / 2, own_pos = 0;
	uint64_t t0 = rte_get_tsc_cycles();

	rte_rcu_qsbr_thread_online(w.qsbr, a->me);
	while (!*a->stop) {
		a->errors += crew_ops(a, 256, &pos, &own_pos);
		a->ops += 256;
	}
	rte_rcu_qsbr_thread_offline(w.qsbr, a->me);
	a->ns = (rte_get_tsc_cycles() - t0) * 1000000000ULL / rte_get_tsc_hz();
	return 0;
}

bool setup_crew()
{
	size_t sz;
	struct rte_rcu_qsbr *v;

	if (wc_store_read == nullptr || rte_lcore_count() < 2)
		return false;
	sz = rte_rcu_qsbr_get_memsize(2);
	v = static_cast<struct rte_rcu_qsbr *>(rte_zmalloc("wcb_qsbr", sz, RTE_CACHE_LINE_SIZE));
	if (v == nullptr || rte_rcu_qsbr_init(v, 2) != 0)
		fail("cannot make the RCU variable");
	w.qsbr = v;
	for (unsigned p = 0; p < 2; p++) {
		w.part[p] = new_store(p == 0 ? "wcb_p0" : "wcb_p1", v);
		if (w.part[p] == nullptr)
			fail("cannot create the CREW partitions");
		wc_store_tick(w.part[p], 1000);
		rte_rcu_qsbr_thread_register(v, p);
	}
	/* Loaded from this lcore before the other starts: the launch orders it. */
	for (uint32_t k = 0; k < kKeys; k++) {
		unsigned p = wc_store_owner(w.hashes[k], 2);

		if (do_set(w.part[p], k) != WC_STORE_OK)
			fail("CREW preload failed");
		w.own_seq[p].push_back(k);
	}
	return true;
}

void bm_crew(benchmark::State &st, int dist, int mix)
{
	volatile bool stop = false;
	CrewArgs self = { 0, dist, mix, &stop, 0, 0, 0 };
	CrewArgs other = { 1, dist, mix, &stop, 0, 0, 0 };
	unsigned worker = rte_get_next_lcore(rte_lcore_id(), 1, 0);
	uint32_t pos = 0, own_pos = 0;
	uint64_t errs = 0;

	rte_rcu_qsbr_thread_online(w.qsbr, 0);
	if (rte_eal_remote_launch(crew_worker, &other, worker) != 0) {
		rte_rcu_qsbr_thread_offline(w.qsbr, 0);
		st.SkipWithError("cannot launch the second lcore");
		return;
	}
	for (auto _ : st)
		errs += crew_ops(&self, 1, &pos, &own_pos);
	rte_rcu_qsbr_thread_offline(w.qsbr, 0);
	stop = true;
	rte_eal_wait_lcore(worker);
	if (errs + other.errors != 0)
		st.SkipWithError("a CREW operation failed");
	st.SetItemsProcessed(st.iterations());
	st.counters["lcore1_ops_per_s"] =
		benchmark::Counter(other.ns ? (double)other.ops * 1e9 / (double)other.ns : 0);
	/* Times an owner ran out of free segments and waited (bounded) for the
	 * other lcore's quiescent state. */
	st.counters["grace_waits"] =
		benchmark::Counter((double)(wc_store_stats(w.part[0])->grace_waits +
					    wc_store_stats(w.part[1])->grace_waits));
}

void register_all(bool crew)
{
	benchmark::RegisterBenchmark("tick_ttl_1k", bm_tick_ttl);
	for (int d = 0; d < 2; d++) {
		std::string dn = dist_name(d);

		benchmark::RegisterBenchmark(("get_hit/" + dn).c_str(), bm_get, d, true);
		benchmark::RegisterBenchmark(("get_miss/" + dn).c_str(), bm_get, d, false);
		benchmark::RegisterBenchmark(("set/" + dn).c_str(), bm_set, d);
		benchmark::RegisterBenchmark(("set_1k_wrap/" + dn).c_str(), bm_set_wrap, d);
		benchmark::RegisterBenchmark(("mix95/" + dn).c_str(), bm_mix, d, 0);
		benchmark::RegisterBenchmark(("mix50/" + dn).c_str(), bm_mix, d, 1);
		benchmark::RegisterBenchmark(("index_floor/" + dn).c_str(), bm_index, d, false);
		benchmark::RegisterBenchmark(("index_floor_xxh3/" + dn).c_str(), bm_index, d, true);
		if (crew) {
			/* A fixed count: an owner out of free segments may wait up
			 * to GRACE_WAIT_MS for the other lcore, which makes the
			 * run-time driven iteration count of a write-heavy mix
			 * take minutes. */
			benchmark::RegisterBenchmark(("crew2/mix95/" + dn).c_str(), bm_crew, d, 0)
				->Iterations(2000000);
			benchmark::RegisterBenchmark(("crew2/mix50/" + dn).c_str(), bm_crew, d, 1)
				->Iterations(500000);
		}
	}
}

} /* namespace */

int main(int argc, char **argv)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "--file-prefix=wcsb_%d", (int)getpid());
	const char *eal[] = { argv[0],	     "--no-huge", "-m",
			      "2048",	     "--no-pci",  "--no-telemetry",
			      "-l",	     "0-1",	  "--log-level=lib.eal:error",
			      "--no-shconf", prefix };
	if (rte_eal_init((int)RTE_DIM(eal), const_cast<char **>(eal)) < 0)
		fail("cannot start the EAL (two lcores needed: -l 0-1)");
	setup_world();
	bool crew = setup_crew();
	benchmark::AddCustomContext("store_crew", crew ? "yes" : "no (no wc_store_read)");
	register_all(crew);
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
