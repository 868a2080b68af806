/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dataplane's side of the management contract (mgmt/contract.h).
 *
 * A control thread (a DPDK control thread on the EAL's non-worker cpus, not
 * a worker lcore) takes wirecache-mgmt's requests from the control ring and
 * replies on the event ring. It never touches a partition: what only an
 * owner may do (a new memory limit, a flush) it asks of the lcores, which
 * pick the request up in their 1 ms tick, and it replies once every running
 * lcore has done it, so a `wirectl config set` that returned has taken
 * effect. The dataplane's log lines go to stderr and, as events, to mgmt.
 *
 * The lcores publish a heartbeat and their partition's figures every tick;
 * their counters are written in place in the shared block by the fast path.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_ring.h>

#include "dataplane/lcore.h"
#include "store/store.h"

#define CTL_POLL_US	1000
#define CTL_BURST	16
#define CTL_WAIT_LCORES 500 /* ms a reply waits for the lcores to apply a change */

static pthread_t ctl_tid;
static volatile bool ctl_stop;
static bool ctl_running;
static FILE *log_stream;
static struct wc_dataplane *log_dp;

/* Queue one event for mgmt; a full ring (no mgmt reading) drops it, counted. */
static void emit(struct wc_dataplane *dp, uint32_t type, uint64_t seq, int32_t rc, uint32_t level,
		 uint32_t lcore, const char *text, size_t len)
{
	struct wc_event ev;
	struct timespec ts;

	if (dp->event_ring == NULL)
		return;
	memset(&ev, 0, offsetof(struct wc_event, text));
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.seq = seq;
	ev.time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	ev.type = type;
	ev.rc = rc;
	ev.level = level;
	ev.lcore = lcore;
	if (len >= sizeof(ev.text))
		len = sizeof(ev.text) - 1;
	memcpy(ev.text, text, len);
	ev.text[len] = '\0';
	if (rte_ring_mp_enqueue_elem(dp->event_ring, &ev, sizeof(ev)) != 0)
		__atomic_fetch_add(&dp->sh->events_dropped, 1, __ATOMIC_RELAXED);
}

static void reply(struct wc_dataplane *dp, const struct wc_ctl_msg *m, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void reply(struct wc_dataplane *dp, const struct wc_ctl_msg *m, int rc, const char *fmt, ...)
{
	char text[WC_EVENT_TEXT_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	emit(dp, WC_EV_CTL_REPLY, m->seq, rc, 0, 0, text, strnlen(text, sizeof(text)));
}

/*
 * Wait until every running lcore has seen what @p done tests (they look
 * once a tick); an lcore that is not running has nothing to apply.
 */
static bool wait_lcores(struct wc_dataplane *dp, bool (*done)(struct wc_lcore *, uint64_t),
			uint64_t want)
{
	for (int ms = 0; ms < CTL_WAIT_LCORES; ms++) {
		bool all = true;

		for (unsigned int i = 0; i < dp->n_workers; i++) {
			struct wc_lcore *lc = &dp->lcores[i];

			if (__atomic_load_n(&lc->sh->state, __ATOMIC_ACQUIRE) == WC_LCORE_RUNNING &&
			    !done(lc, want))
				all = false;
		}
		if (all)
			return true;
		rte_delay_us_sleep(1000);
	}
	return false;
}

static bool applied_gen(struct wc_lcore *lc, uint64_t gen)
{
	return __atomic_load_n(&lc->sh->cfg_gen, __ATOMIC_ACQUIRE) >= gen;
}

static bool applied_flush(struct wc_lcore *lc, uint64_t seq)
{
	return __atomic_load_n(&lc->flush_seen, __ATOMIC_ACQUIRE) >= seq;
}

/* Publish a new live config under the sequence lock; returns its generation. */
static uint64_t publish_config(struct wc_shared *sh, const struct wc_config *c)
{
	uint64_t seq = sh->cfg_seq;

	__atomic_store_n(&sh->cfg_seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(&sh->cfg, c, sizeof(*c));
	__atomic_store_n(&sh->cfg_seq, seq + 2, __ATOMIC_RELEASE);
	return (seq + 2) / 2;
}

static void ctl_config_set(struct wc_dataplane *dp, const struct wc_ctl_msg *m)
{
	const struct wc_opt_info *o = wc_config_find(m->name);
	struct wc_config c = dp->sh->cfg; /* this thread is its only writer */
	char err[256], val[WC_CTL_VALUE_MAX];
	uint64_t gen;
	int rc;

	if (o == NULL) {
		reply(dp, m, -ENOENT, "unknown option %s", m->name);
		return;
	}
	if (!(o->flags & WC_OPT_RUNTIME)) {
		reply(dp, m, -EPERM,
		      "%s cannot change on a running dataplane: set it in the config file and "
		      "restart wirecached",
		      m->name);
		return;
	}
	rc = wc_config_set(&c, m->name, m->value, err, sizeof(err));
	if (rc != 0) {
		reply(dp, m, rc, "%s", err);
		return;
	}
	if (c.memory_limit != dp->sh->cfg.memory_limit) {
		size_t part = c.memory_limit / dp->n_workers;

		if (c.memory_limit > dp->cfg->memory_limit) {
			wc_config_get(dp->cfg, "memory-limit", val, sizeof(val));
			reply(dp, m, -ERANGE,
			      "memory-limit: at most %s on a running dataplane (the memory "
			      "reserved at start); more needs a restart",
			      val);
			return;
		}
		if (part < wc_store_mem_min(dp->lcores[0].store)) {
			reply(dp, m, -ERANGE,
			      "memory-limit: at least %zu bytes with %u partitions (the store's "
			      "minimum per partition)",
			      wc_store_mem_min(dp->lcores[0].store) * dp->n_workers, dp->n_workers);
			return;
		}
	}
	gen = publish_config(dp->sh, &c);
	if (c.log_level != rte_log_get_global_level())
		rte_log_set_global_level(c.log_level);
	wc_config_get(&c, m->name, val, sizeof(val));
	if (!wait_lcores(dp, applied_gen, gen)) {
		reply(dp, m, -ETIMEDOUT, "%s = %s published, but not every lcore applied it yet",
		      m->name, val);
		return;
	}
	RTE_LOG(NOTICE, USER1, "config: %s = %s (generation %" PRIu64 ")\n", m->name, val, gen);
	reply(dp, m, 0, "%s", val);
}

static void ctl_flush(struct wc_dataplane *dp, const struct wc_ctl_msg *m)
{
	uint64_t seq;

	dp->ctl_flush_when = m->arg == 0 ? 0 : (uint32_t)time(NULL) + m->arg;
	seq = __atomic_add_fetch(&dp->ctl_flush_seq, 1, __ATOMIC_RELEASE);
	if (!wait_lcores(dp, applied_flush, seq)) {
		reply(dp, m, -ETIMEDOUT, "flush requested, but not every lcore did it yet");
		return;
	}
	RTE_LOG(NOTICE, USER1, "flush_all%s by wirecache-mgmt\n", m->arg ? " (delayed)" : "");
	reply(dp, m, 0, "flushed");
}

static void ctl_stats_reset(struct wc_dataplane *dp, const struct wc_ctl_msg *m)
{
	wc_stats_reset(dp);
	reply(dp, m, 0, "reset");
}

static void ctl_handle(struct wc_dataplane *dp, struct wc_ctl_msg *m)
{
	m->name[sizeof(m->name) - 1] = '\0';
	m->value[sizeof(m->value) - 1] = '\0';
	dp->sh->ctl_requests++;
	switch (m->op) {
	case WC_CTL_CONFIG_SET:
		ctl_config_set(dp, m);
		break;
	case WC_CTL_FLUSH:
		ctl_flush(dp, m);
		break;
	case WC_CTL_STATS_RESET:
		ctl_stats_reset(dp, m);
		break;
	default:
		reply(dp, m, -EOPNOTSUPP, "unknown control request %u", m->op);
		break;
	}
}

/* The served ports' links, for mgmt (struct wc_port_link). */
static void publish_links(struct wc_dataplane *dp)
{
	for (unsigned int i = 0; i < dp->sh->n_ports && i < WC_MAX_PORTS; i++) {
		struct rte_eth_link l;
		struct wc_port_link *p = &dp->sh->link[i];

		memset(&l, 0, sizeof(l));
		if (rte_eth_link_get_nowait((uint16_t)(dp->sh->port_id + i), &l) != 0)
			continue;
		p->speed_mbps = l.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : l.link_speed;
		p->up = l.link_status == RTE_ETH_LINK_UP;
		p->full_duplex = l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
		p->autoneg = l.link_autoneg == RTE_ETH_LINK_AUTONEG;
		p->valid = 1;
	}
}

static const char *const state_names[] = {
	[WC_LCORE_STARTING] = "starting",
	[WC_LCORE_RUNNING] = "running",
	[WC_LCORE_STOPPED] = "stopped",
};

/*
 * Lcore state changes as events for mgmt, watched from here so the lcores
 * do no more than store their state: started, stopped, and stuck (running
 * but no tick for a second) or recovered.
 */
static void watch_lcores(struct wc_dataplane *dp, uint32_t *seen, bool *stuck)
{
	uint64_t now = rte_rdtsc();
	char text[96];

	for (unsigned int i = 0; i < dp->n_workers; i++) {
		const struct wc_lcore_shared *l = dp->lcores[i].sh;
		uint32_t st = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
		bool late;

		if (st != seen[i] && st <= WC_LCORE_STOPPED) {
			snprintf(text, sizeof(text), "lcore %u (worker %u) %s", l->lcore_id, i,
				 state_names[st]);
			emit(dp, WC_EV_LCORE, 0, (int32_t)st, RTE_LOG_INFO, i, text, strlen(text));
			seen[i] = st;
		}
		late = st == WC_LCORE_RUNNING &&
		       now - __atomic_load_n(&l->heartbeat_tsc, __ATOMIC_RELAXED) > dp->tsc_hz;
		if (late != stuck[i]) {
			snprintf(text, sizeof(text), "lcore %u (worker %u) %s", l->lcore_id, i,
				 late ? "stuck: no tick for over a second" : "ticking again");
			emit(dp, WC_EV_LCORE, 0, (int32_t)st, late ? RTE_LOG_ERR : RTE_LOG_NOTICE,
			     i, text, strlen(text));
			stuck[i] = late;
		}
	}
}

static uint32_t ctl_main(void *arg)
{
	uint32_t seen[WC_MAX_WORKERS] = { 0 };
	bool stuck[WC_MAX_WORKERS] = { false };
	struct wc_dataplane *dp = arg;
	struct wc_ctl_msg m[CTL_BURST];
	uint64_t next_link = 0;

	while (!ctl_stop) {
		uint64_t now = rte_get_timer_cycles();

		if (now >= next_link) {
			publish_links(dp);
			next_link = now + rte_get_timer_hz();
		}
		watch_lcores(dp, seen, stuck);
		unsigned int n = rte_ring_sc_dequeue_burst_elem(dp->ctl_ring, m, sizeof(m[0]),
								CTL_BURST, NULL);

		for (unsigned int i = 0; i < n; i++)
			ctl_handle(dp, &m[i]);
		if (n == 0)
			rte_delay_us_sleep(CTL_POLL_US);
	}
	return 0;
}

static void *ctl_thread(void *arg)
{
	ctl_main(arg);
	return NULL;
}

/* The log stream: each line to stderr and, as an event, to mgmt. */
static ssize_t log_write(void *cookie, const char *buf, size_t len)
{
	struct wc_dataplane *dp = cookie;
	uint32_t level = (uint32_t)rte_log_cur_msg_loglevel();
	size_t off = 0;

	fwrite(buf, 1, len, stderr);
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - (buf + off)) : len - off;

		if (n > 0)
			emit(dp, WC_EV_LOG, 0, 0, level, rte_lcore_id(), buf + off, n);
		off += n + (nl != NULL);
	}
	return (ssize_t)len;
}

int wc_ctl_start(struct wc_dataplane *dp)
{
	cookie_io_functions_t io = { .write = log_write };
	int rc;

	log_dp = dp;
	log_stream = fopencookie(dp, "w", io);
	if (log_stream != NULL) {
		setvbuf(log_stream, NULL, _IOLBF, 0);
		rte_openlog_stream(log_stream);
	}
	publish_links(dp);
	ctl_stop = false;
	rc = rte_ctrl_thread_create(&ctl_tid, "wc-ctl", NULL, ctl_thread, dp);
	if (rc != 0)
		return -rc;
	ctl_running = true;
	return 0;
}

void wc_ctl_stop(struct wc_dataplane *dp)
{
	(void)dp;
	if (ctl_running) {
		ctl_stop = true;
		pthread_join(ctl_tid, NULL);
		ctl_running = false;
	}
	if (log_stream != NULL) {
		rte_openlog_stream(NULL);
		fclose(log_stream);
		log_stream = NULL;
	}
	log_dp = NULL;
}

/* The runtime options of a new config generation, as far as this lcore is concerned. */
static void apply_config(struct wc_dataplane *dp, struct wc_lcore *lc, uint64_t gen)
{
	struct wc_config c;

	gen = wc_shared_config_read(dp->sh, &c);
	if (c.memory_limit / dp->n_workers != wc_store_mem_limit(lc->store) &&
	    wc_store_set_mem_limit(lc->store, c.memory_limit / dp->n_workers) != 0)
		RTE_LOG(WARNING, USER1, "partition %u: memory limit %zu refused by the store\n",
			lc->index, (size_t)(c.memory_limit / dp->n_workers));
	wc_store_set_evict(lc->store, c.evict);
	lc->backoff = c.idle_backoff;
	memcpy(lc->ifc.allow, c.udp_allow, sizeof(c.udp_allow));
	lc->ifc.n_allow = c.n_udp_allow;
	lc->ifc.udp_open = c.udp_open;
	lc->ifc.udp_open_budget = (uint32_t)c.udp_open_budget;
	__atomic_store_n(&lc->sh->cfg_gen, gen, __ATOMIC_RELEASE);
}

static void publish_partition(struct wc_lcore *lc)
{
	const struct wc_store_stats *ss = wc_store_stats(lc->store);
	struct wc_part_stats *p = &lc->sh->part;

	p->curr_items = ss->curr_items;
	p->total_items = ss->total_items;
	p->bytes = ss->bytes;
	p->mem_used = wc_store_mem_used(lc->store);
	p->mem_limit = wc_store_mem_limit(lc->store);
	p->mem_reserved = wc_store_mem_reserved(lc->store);
	p->index_bytes = wc_store_index_bytes(lc->store);
	p->index_capacity = wc_store_index_capacity(lc->store);
	p->evictions = ss->evictions;
	p->expired_unfetched = ss->expired_unfetched;
	p->evicted_unfetched = ss->evicted_unfetched;
	p->reclaimed = ss->reclaimed;
	p->get_expired = ss->get_expired;
	p->oom = ss->oom;
	p->hash_collisions = ss->hash_collisions;
	p->grace_waits = ss->grace_waits;
	p->segs_cleaned = ss->segs_cleaned;
	p->reclaim_inline = ss->reclaim_inline;
}

void wc_ctl_lcore_tick(struct wc_dataplane *dp, struct wc_lcore *lc, uint64_t now_tsc)
{
	uint64_t gen, flush;

	lc->sh->heartbeat_tsc = now_tsc;
	lc->sh->ticks++;
	gen = wc_shared_config_gen(dp->sh);
	if (unlikely(gen != lc->sh->cfg_gen))
		apply_config(dp, lc, gen);
	flush = __atomic_load_n(&dp->ctl_flush_seq, __ATOMIC_ACQUIRE);
	if (unlikely(flush != lc->flush_seen)) {
		wc_store_flush(lc->store, dp->ctl_flush_when);
		__atomic_store_n(&lc->flush_seen, flush, __ATOMIC_RELEASE);
	}
	publish_partition(lc);
}
