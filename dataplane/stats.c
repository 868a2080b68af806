/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memcached `stats` and `flush_all` hooks. Counters are plain per-lcore
 * fields (mgmt/contract.h); a reader sums them without locks and accepts a
 * view a few increments stale. `stats reset` records a baseline per lcore
 * instead of writing other lcores' counters.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_lcore.h>

#include "dataplane/lcore.h"
#include "dataplane/net/tcp.h"
#include "store/store.h"

/*
 * The NUMA node a partition's memory is really on (libnuma's view of the
 * pages), or, where the kernel cannot tell, the socket of the lcore it was
 * allocated for.
 */
static unsigned int partition_node(const struct wc_lcore *lc)
{
	int node = wc_store_numa_node(lc->store);

	return node >= 0 ? (unsigned int)node : rte_lcore_to_socket_id(lc->lcore_id);
}

static void sum_lcores(const struct wc_dataplane *dp, struct wc_lcore_stats *tot)
{
	memset(tot, 0, sizeof(*tot));
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		const struct wc_lcore *lc = &dp->lcores[i];

#define WC_SUM(name, desc) tot->name += lc->sh->st.name - lc->sh->base.name;
		WC_LCORE_STATS(WC_SUM)
#undef WC_SUM
	}
}

/*
 * TCP connections held now, TIME_WAIT included, over every lcore: each
 * lcore's count is read without a lock, like the counters.
 */
static uint64_t tcp_conns(const struct wc_dataplane *dp)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < dp->n_workers; i++)
		n += wc_tcp_conns(&dp->lcores[i].net);
	return n;
}

static void sum_stores(const struct wc_dataplane *dp, struct wc_store_stats *tot, size_t *limit)
{
	memset(tot, 0, sizeof(*tot));
	*limit = 0;
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		const struct wc_store *s = dp->lcores[i].store;
		const struct wc_store_stats *ss = wc_store_stats(s);

		tot->curr_items += ss->curr_items;
		tot->total_items += ss->total_items;
		tot->bytes += ss->bytes;
		tot->evictions += ss->evictions;
		tot->expired_unfetched += ss->expired_unfetched;
		tot->evicted_unfetched += ss->evicted_unfetched;
		tot->reclaimed += ss->reclaimed;
		tot->get_expired += ss->get_expired;
		tot->oom += ss->oom;
		tot->hash_collisions += ss->hash_collisions;
		*limit += wc_store_mem_limit(s);
	}
}

/* "STAT <prefix>:<i>:<name> <v>" */
static void stat_indexed(struct wc_out *out, const char *prefix, unsigned int i, const char *name,
			 uint64_t v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s:%u:%s", prefix, i, name);
	wc_mc_stat_u64(out, buf, v);
}

/*
 * The key -> partition mapping, so a partition-aware client can check it
 * computes the same (wc_store_owner(): the high 32 bits of the key's XXH3-64
 * hash scaled to the partition count), each partition's contents and
 * placement, and what each worker lcore received and handed on.
 */
static void stats_partitions(const struct wc_dataplane *dp, struct wc_out *out)
{
	wc_mc_stat_u64(out, "partitions", dp->n_workers);
	wc_mc_stat_str(out, "partition_hash", "high32_scaled");
	wc_mc_stat_str(out, "partition_hash_function", "xxh3_64");
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		const struct wc_lcore *lc = &dp->lcores[i];
		const struct wc_store_stats *ss = wc_store_stats(lc->store);

		stat_indexed(out, "partition", i, "lcore", lc->lcore_id);
		stat_indexed(out, "partition", i, "numa_node", partition_node(lc));
		stat_indexed(out, "partition", i, "items", ss->curr_items);
		stat_indexed(out, "partition", i, "bytes", ss->bytes);
		stat_indexed(out, "partition", i, "limit_maxbytes", wc_store_mem_limit(lc->store));
		stat_indexed(out, "partition", i, "index_bytes", wc_store_index_bytes(lc->store));
		stat_indexed(out, "partition", i, "grace_waits", ss->grace_waits);
		stat_indexed(out, "partition", i, "segs_cleaned", ss->segs_cleaned);
		stat_indexed(out, "partition", i, "reclaim_inline", ss->reclaim_inline);
	}
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		const struct wc_lcore *lc = &dp->lcores[i];

#define WC_LCORE_LINE(name) \
	stat_indexed(out, "lcore", i, #name, lc->sh->st.name - lc->sh->base.name);
		WC_LCORE_LINE(rx_packets)
		WC_LCORE_LINE(udp_datagrams)
		WC_LCORE_LINE(xcore_forwarded)
		WC_LCORE_LINE(xcore_received)
		WC_LCORE_LINE(drop_xcore_ring_full)
		WC_LCORE_LINE(xcore_remote_reads)
		WC_LCORE_LINE(xcore_remote_read_retries)
#undef WC_LCORE_LINE
	}
}

static void stats_general(const struct wc_dataplane *dp, struct wc_out *out)
{
	struct wc_lcore_stats t;
	struct wc_store_stats s;
	size_t limit;
	uint64_t tsc = rte_rdtsc();

	sum_lcores(dp, &t);
	sum_stores(dp, &s, &limit);
	/* memcached's names first, so its clients and tools read them. */
	wc_mc_stat_u64(out, "pid", (uint64_t)dp->pid);
	wc_mc_stat_u64(out, "uptime", (tsc - dp->start_tsc) / dp->tsc_hz);
	wc_mc_stat_u64(out, "time", wc_dataplane_now(dp, tsc));
	wc_mc_stat_str(out, "version", dp->mc.version);
	wc_mc_stat_u64(out, "pointer_size", 8 * sizeof(void *));
	wc_mc_stat_u64(out, "curr_connections", tcp_conns(dp));
	wc_mc_stat_u64(out, "total_connections", t.tcp_accepted);
	wc_mc_stat_u64(out, "cmd_get", t.mc_get_hits + t.mc_get_misses);
	wc_mc_stat_u64(out, "cmd_set", t.mc_cmd_set);
	wc_mc_stat_u64(out, "cmd_flush", t.mc_cmd_flush);
	wc_mc_stat_u64(out, "cmd_touch", t.mc_cmd_touch);
	wc_mc_stat_u64(out, "cmd_meta", t.mc_cmd_meta);
	wc_mc_stat_u64(out, "get_hits", t.mc_get_hits);
	wc_mc_stat_u64(out, "get_misses", t.mc_get_misses);
	wc_mc_stat_u64(out, "get_expired", s.get_expired);
	/* flush_all removes items at once, so no lookup ever finds one flushed. */
	wc_mc_stat_u64(out, "get_flushed", 0);
	wc_mc_stat_u64(out, "delete_misses", t.mc_delete_misses);
	wc_mc_stat_u64(out, "delete_hits", t.mc_delete_hits);
	wc_mc_stat_u64(out, "incr_misses", t.mc_incr_misses);
	wc_mc_stat_u64(out, "incr_hits", t.mc_incr_hits);
	wc_mc_stat_u64(out, "decr_misses", t.mc_decr_misses);
	wc_mc_stat_u64(out, "decr_hits", t.mc_decr_hits);
	wc_mc_stat_u64(out, "cas_misses", t.mc_cas_misses);
	wc_mc_stat_u64(out, "cas_hits", t.mc_cas_hits);
	wc_mc_stat_u64(out, "cas_badval", t.mc_cas_badval);
	wc_mc_stat_u64(out, "touch_hits", t.mc_touch_hits);
	wc_mc_stat_u64(out, "touch_misses", t.mc_touch_misses);
	wc_mc_stat_u64(out, "bytes_read", t.mc_bytes_read);
	wc_mc_stat_u64(out, "bytes_written", t.mc_bytes_written);
	wc_mc_stat_u64(out, "limit_maxbytes", limit);
	wc_mc_stat_u64(out, "threads", dp->n_workers);
	wc_mc_stat_u64(out, "bytes", s.bytes);
	wc_mc_stat_u64(out, "curr_items", s.curr_items);
	wc_mc_stat_u64(out, "total_items", s.total_items);
	wc_mc_stat_u64(out, "expired_unfetched", s.expired_unfetched);
	wc_mc_stat_u64(out, "evicted_unfetched", s.evicted_unfetched);
	wc_mc_stat_u64(out, "evictions", s.evictions);
	wc_mc_stat_u64(out, "reclaimed", s.reclaimed);
	/* wirecache's own: store and every per-lcore counter, by table name. */
	wc_mc_stat_u64(out, "tsc_hz", dp->tsc_hz); /* to turn busy_cycles into time */
	wc_mc_stat_u64(out, "store_oom", s.oom);
	wc_mc_stat_u64(out, "store_hash_collisions", s.hash_collisions);
#define WC_EMIT(name, desc) wc_mc_stat_u64(out, #name, t.name);
	WC_LCORE_STATS(WC_EMIT)
#undef WC_EMIT
	stats_partitions(dp, out);
}

static void stats_settings(const struct wc_dataplane *dp, struct wc_out *out)
{
	const struct wc_config *cfg = dp->cfg;

	wc_mc_stat_u64(out, "maxbytes", cfg->memory_limit);
	wc_mc_stat_u64(out, "udpport", cfg->udp_port);
	wc_mc_stat_u64(out, "tcpport", 0);
	wc_mc_stat_u64(out, "item_size_max", cfg->max_item_size);
	wc_mc_stat_str(out, "evictions", cfg->evict ? "on" : "off");
	wc_mc_stat_u64(out, "num_threads", dp->n_workers);
	wc_mc_stat_str(out, "cas_enabled", "yes");
	wc_mc_stat_str(out, "idle_backoff", cfg->idle_backoff ? "on" : "off");
	wc_mc_stat_str(out, "udp_open", cfg->udp_open ? "on" : "off");
	wc_mc_stat_u64(out, "udp_open_budget", cfg->udp_open_budget);
	wc_mc_stat_u64(out, "udp_allow_prefixes", cfg->n_udp_allow);
}

static bool sub_is(const char *sub, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(sub, word, len) == 0;
}

void wc_stats_reset(struct wc_dataplane *dp)
{
	/* Each lcore's baseline is written here and only read elsewhere. */
	for (unsigned int i = 0; i < dp->n_workers; i++)
		dp->lcores[i].sh->base = dp->lcores[i].sh->st;
}

int wc_stats_mc(void *arg, const char *sub, size_t sublen, struct wc_out *out)
{
	struct wc_dataplane *dp = arg;

	if (sublen == 0) {
		stats_general(dp, out);
		return 0;
	}
	if (sub_is(sub, sublen, "settings")) {
		stats_settings(dp, out);
		return 0;
	}
	if (sub_is(sub, sublen, "reset")) {
		wc_stats_reset(dp);
		return 0;
	}
	/* No slab classes: the item store has segments, not slabs. */
	if (sub_is(sub, sublen, "items") || sub_is(sub, sublen, "slabs") ||
	    sub_is(sub, sublen, "sizes") || sub_is(sub, sublen, "conns"))
		return 0;
	return -ENOENT;
}

void wc_stats_flush(void *arg, uint32_t when)
{
	struct wc_dataplane *dp = arg;
	struct wc_lcore *lc = wc_lcore_self(dp);

	/*
	 * Only a partition's owner writes it. An immediate flush bumps the
	 * shared generation before the reply leaves: every owner flushes itself
	 * before executing anything newer, and remote reads of a partition that
	 * has not yet caught up miss (wc_mc_flush_catch_up()). So a write sent
	 * after the OK survives on whichever lcore it lands, and the reply
	 * need not wait. A delayed flush is handed to the owners through their
	 * rings. A caller that is no worker (start-up, tests without lcores
	 * running) is alone with the partitions.
	 */
	if (lc != NULL && dp->mc.flush_gen != NULL &&
	    (when == 0 || when <= wc_store_now(lc->store))) {
		__atomic_fetch_add(dp->mc.flush_gen, 1, __ATOMIC_RELEASE);
		wc_mc_flush_catch_up(&lc->mc);
		return;
	}
	if (lc != NULL) {
		wc_xcore_flush_all(lc, when);
		return;
	}
	for (unsigned int i = 0; i < dp->n_workers; i++)
		wc_store_flush(dp->lcores[i].store, when);
}
