/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON documents of the line protocol (docs/wirectl.md), built from the
 * dataplane's shared block and, for ports, from ethdev calls a secondary
 * process may make (info, stats, xstats, link, MAC). Everything here only
 * reads: the dataplane is never stalled or written to.
 *
 * Counters are raw since wirecached started (not minus the `stats reset`
 * baseline, which is memcached's business), so they only grow.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_ring.h>

#include "mgmt/attach/attach.h"

#define STUCK_MS     1000 /* a running lcore whose heartbeat is older is stuck */
#define RING_FULL_PC 90	  /* an xcore ring this full is unhealthy */

static json_t *u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

json_t *wc_attach_text(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j != NULL)
		return j;
	/* Not UTF-8: keep the ASCII, mark the rest. */
	copy = strdup(s);
	if (copy == NULL)
		return json_string("");
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j != NULL ? j : json_string("");
}

json_t *wc_attach_ok(json_t *data)
{
	json_t *r = json_object();

	json_object_set_new(r, "ok", json_true());
	json_object_set_new(r, "data", data);
	return r;
}

json_t *wc_attach_err(const char *code, const char *fmt, ...)
{
	json_t *r = json_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line, whatever the reason's source put in it. */
	for (char *p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	json_object_set_new(r, "ok", json_false());
	json_object_set_new(r, "code", json_string(code));
	json_object_set_new(r, "error", wc_attach_text(msg));
	return r;
}

const char *wc_report_level_name(uint32_t level)
{
	static const char *const names[] = {
		[RTE_LOG_EMERG] = "emerg",     [RTE_LOG_ALERT] = "alert",
		[RTE_LOG_CRIT] = "crit",       [RTE_LOG_ERR] = "error",
		[RTE_LOG_WARNING] = "warning", [RTE_LOG_NOTICE] = "notice",
		[RTE_LOG_INFO] = "info",       [RTE_LOG_DEBUG] = "debug",
	};

	if (level < sizeof(names) / sizeof(names[0]) && names[level] != NULL)
		return names[level];
	return "unknown";
}

static const char *lcore_state_name(uint32_t s)
{
	switch (s) {
	case WC_LCORE_STARTING:
		return "starting";
	case WC_LCORE_RUNNING:
		return "running";
	case WC_LCORE_STOPPED:
		return "stopped";
	default:
		return "unknown";
	}
}

static const char *dp_state_name(uint32_t s)
{
	switch (s) {
	case WC_DP_STARTING:
		return "starting";
	case WC_DP_RUNNING:
		return "running";
	case WC_DP_STOPPING:
		return "stopping";
	default:
		return "unknown";
	}
}

/* Milliseconds since the lcore's last tick; -1 if it never ticked. */
static int64_t heartbeat_age_ms(const struct wc_shared *sh, const struct wc_lcore_shared *l)
{
	uint64_t hb = __atomic_load_n(&l->heartbeat_tsc, __ATOMIC_RELAXED);
	uint64_t now = rte_rdtsc();

	if (hb == 0 || sh->tsc_hz == 0)
		return -1;
	if (now <= hb)
		return 0;
	return (int64_t)((now - hb) / (sh->tsc_hz / 1000 ? sh->tsc_hz / 1000 : 1));
}

static unsigned int n_workers(const struct wc_shared *sh)
{
	return sh->n_workers < WC_MAX_WORKERS ? sh->n_workers : WC_MAX_WORKERS;
}

static json_t *lcore_brief(const struct wc_shared *sh, unsigned int i)
{
	const struct wc_lcore_shared *l = &sh->lcores[i];
	int64_t age = heartbeat_age_ms(sh, l);
	json_t *o = json_object();

	json_object_set_new(o, "index", json_integer(i));
	json_object_set_new(o, "lcore_id", json_integer(l->lcore_id));
	json_object_set_new(o, "socket_id", json_integer(l->socket_id));
	json_object_set_new(
		o, "state",
		json_string(lcore_state_name(__atomic_load_n(&l->state, __ATOMIC_ACQUIRE))));
	json_object_set_new(o, "heartbeat_age_ms", age < 0 ? json_null() : json_integer(age));
	return o;
}

static json_t *lcore_counters(const struct wc_lcore_stats *st)
{
	json_t *o = json_object();

#define WC_STAT_JSON(name, desc) json_object_set_new(o, #name, u64(st->name));
	WC_LCORE_STATS(WC_STAT_JSON)
#undef WC_STAT_JSON
	return o;
}

static json_t *partition(const struct wc_shared *sh, unsigned int i)
{
	const struct wc_part_stats *p = &sh->lcores[i].part;
	json_t *o = json_object();

	json_object_set_new(o, "index", json_integer(i));
	json_object_set_new(o, "numa_node", json_integer(p->numa_node));
#define WC_STAT_JSON(name, desc) json_object_set_new(o, #name, u64(p->name));
	WC_PART_STATS(WC_STAT_JSON)
#undef WC_STAT_JSON
	return o;
}

static void fmt_mac(const struct rte_ether_addr *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m->addr_bytes[0], m->addr_bytes[1],
		 m->addr_bytes[2], m->addr_bytes[3], m->addr_bytes[4], m->addr_bytes[5]);
}

static uint32_t link_speed(const struct rte_eth_link *l)
{
	return l->link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : l->link_speed;
}

/* Port @p i of the served ones, as the dataplane last saw its link. */
static void shared_link(const struct wc_shared *sh, unsigned int i, struct rte_eth_link *l)
{
	const struct wc_port_link *p = &sh->link[i < WC_MAX_PORTS ? i : 0];

	memset(l, 0, sizeof(*l));
	if (i >= WC_MAX_PORTS || !p->valid)
		return;
	l->link_speed = p->speed_mbps;
	l->link_status = p->up ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
	l->link_duplex = p->full_duplex ? RTE_ETH_LINK_FULL_DUPLEX : RTE_ETH_LINK_HALF_DUPLEX;
	l->link_autoneg = p->autoneg ? RTE_ETH_LINK_AUTONEG : RTE_ETH_LINK_FIXED;
}

static json_t *port_xstats(uint16_t port)
{
	struct rte_eth_xstat_name *names = NULL;
	struct rte_eth_xstat *xs = NULL;
	json_t *o = json_object();
	int n, got;

	n = rte_eth_xstats_get_names(port, NULL, 0);
	if (n <= 0)
		return o;
	names = calloc((size_t)n, sizeof(*names));
	xs = calloc((size_t)n, sizeof(*xs));
	if (names == NULL || xs == NULL)
		goto out;
	if (rte_eth_xstats_get_names(port, names, (unsigned int)n) != n)
		goto out;
	got = rte_eth_xstats_get(port, xs, (unsigned int)n);
	if (got > n)
		got = n;
	for (int i = 0; i < got; i++) {
		if (xs[i].id >= (uint64_t)n)
			continue;
		json_object_set_new(o, names[xs[i].id].name, u64(xs[i].value));
	}
out:
	free(names);
	free(xs);
	return o;
}

static json_t *port_object(const struct wc_shared *sh, unsigned int i)
{
	uint16_t port = (uint16_t)(sh->port_id + i);
	char name[RTE_ETH_NAME_MAX_LEN] = "", mac[24] = "";
	struct rte_eth_dev_info info;
	struct rte_ether_addr ea;
	struct rte_eth_link link;
	struct rte_eth_stats st;
	json_t *o = json_object(), *l, *s;

	json_object_set_new(o, "port_id", json_integer(port));
	rte_eth_dev_get_name_by_port(port, name);
	json_object_set_new(o, "name", wc_attach_text(name));
	if (rte_eth_dev_info_get(port, &info) == 0 && info.driver_name != NULL)
		json_object_set_new(o, "driver", json_string(info.driver_name));
	else
		json_object_set_new(o, "driver", json_null());
	if (rte_eth_macaddr_get(port, &ea) == 0) {
		fmt_mac(&ea, mac, sizeof(mac));
		json_object_set_new(o, "mac", json_string(mac));
	} else {
		json_object_set_new(o, "mac", json_null());
	}

	l = json_object();
	shared_link(sh, i, &link);
	if (sh->link[i < WC_MAX_PORTS ? i : 0].valid) {
		json_object_set_new(l, "up", json_boolean(link.link_status == RTE_ETH_LINK_UP));
		json_object_set_new(l, "speed_mbps", json_integer(link_speed(&link)));
		json_object_set_new(l, "full_duplex",
				    json_boolean(link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX));
		json_object_set_new(l, "autoneg",
				    json_boolean(link.link_autoneg == RTE_ETH_LINK_AUTONEG));
	}
	json_object_set_new(o, "link", l);

	s = json_object();
	if (rte_eth_stats_get(port, &st) == 0) {
		json_object_set_new(s, "ipackets", u64(st.ipackets));
		json_object_set_new(s, "opackets", u64(st.opackets));
		json_object_set_new(s, "ibytes", u64(st.ibytes));
		json_object_set_new(s, "obytes", u64(st.obytes));
		json_object_set_new(s, "imissed", u64(st.imissed));
		json_object_set_new(s, "ierrors", u64(st.ierrors));
		json_object_set_new(s, "oerrors", u64(st.oerrors));
		json_object_set_new(s, "rx_nombuf", u64(st.rx_nombuf));
	}
	json_object_set_new(o, "stats", s);
	json_object_set_new(o, "xstats", port_xstats(port));
	return o;
}

/* The ports wirecached serves: sh->n_ports of them from sh->port_id. */
static json_t *ports_array(const struct wc_shared *sh, bool brief)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < sh->n_ports; i++) {
		uint16_t port = (uint16_t)(sh->port_id + i);
		char name[RTE_ETH_NAME_MAX_LEN] = "";
		struct rte_eth_link link;
		json_t *o;

		if (!rte_eth_dev_is_valid_port(port))
			continue;
		if (!brief) {
			json_array_append_new(a, port_object(sh, i));
			continue;
		}
		o = json_object();
		shared_link(sh, i, &link);
		rte_eth_dev_get_name_by_port(port, name);
		json_object_set_new(o, "port_id", json_integer(port));
		json_object_set_new(o, "name", wc_attach_text(name));
		json_object_set_new(o, "link_up",
				    json_boolean(link.link_status == RTE_ETH_LINK_UP));
		json_object_set_new(o, "speed_mbps", json_integer(link_speed(&link)));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *dataplane_identity(const struct wc_shared *sh)
{
	json_t *o = json_object();
	char inst[24];
	time_t now = time(NULL);

	snprintf(inst, sizeof(inst), "%016" PRIx64, sh->instance);
	json_object_set_new(o, "instance", json_string(inst));
	json_object_set_new(o, "pid", json_integer(sh->pid));
	json_object_set_new(o, "start_time", u64(sh->start_time));
	json_object_set_new(
		o, "uptime_seconds",
		u64((uint64_t)now > sh->start_time ? (uint64_t)now - sh->start_time : 0));
	return o;
}

json_t *wc_report_stats(const struct wc_attach *a)
{
	const struct wc_shared *sh = a->sh;
	unsigned int n = n_workers(sh);
	json_t *doc = json_object(), *dp = dataplane_identity(sh), *tot = json_object();
	json_t *lcores = json_array(), *parts = json_array(), *ctl = json_object();
	struct wc_lcore_stats sum;
	struct wc_part_stats psum;

	json_object_set_new(dp, "workers", json_integer(n));
	json_object_set_new(dp, "config_generation", u64(wc_shared_config_gen(sh)));
	/* busy_cycles are TSC cycles: with this a reader turns them into a busy share. */
	json_object_set_new(dp, "tsc_hz", u64(sh->tsc_hz));
	json_object_set_new(doc, "dataplane", dp);

	memset(&sum, 0, sizeof(sum));
	memset(&psum, 0, sizeof(psum));
	for (unsigned int i = 0; i < n; i++) {
		const struct wc_lcore_shared *l = &sh->lcores[i];
		struct wc_lcore_stats st = l->st; /* one snapshot for sum and list */
		json_t *lo = lcore_brief(sh, i);

#define WC_STAT_SUM(name, desc) sum.name += st.name;
		WC_LCORE_STATS(WC_STAT_SUM)
#undef WC_STAT_SUM
#define WC_STAT_SUM(name, desc) psum.name += l->part.name;
		WC_PART_STATS(WC_STAT_SUM)
#undef WC_STAT_SUM
		json_object_set_new(lo, "counters", lcore_counters(&st));
		json_array_append_new(lcores, lo);
		json_array_append_new(parts, partition(sh, i));
	}
#define WC_STAT_JSON(name, desc) json_object_set_new(tot, #name, u64(sum.name));
	WC_LCORE_STATS(WC_STAT_JSON)
#undef WC_STAT_JSON
#define WC_STAT_JSON(name, desc) json_object_set_new(tot, #name, u64(psum.name));
	WC_PART_STATS(WC_STAT_JSON)
#undef WC_STAT_JSON
	json_object_set_new(doc, "totals", tot);
	json_object_set_new(doc, "lcores", lcores);
	json_object_set_new(doc, "partitions", parts);
	json_object_set_new(doc, "ports", ports_array(sh, false));
	json_object_set_new(ctl, "ctl_requests",
			    u64(__atomic_load_n(&sh->ctl_requests, __ATOMIC_RELAXED)));
	json_object_set_new(ctl, "events_dropped",
			    u64(__atomic_load_n(&sh->events_dropped, __ATOMIC_RELAXED)));
	json_object_set_new(doc, "control", ctl);
	return doc;
}

json_t *wc_report_ports(const struct wc_attach *a)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "ports", ports_array(a->sh, false));
	return doc;
}

json_t *wc_report_partitions(const struct wc_attach *a)
{
	json_t *doc = json_object(), *parts = json_array();

	for (unsigned int i = 0; i < n_workers(a->sh); i++)
		json_array_append_new(parts, partition(a->sh, i));
	json_object_set_new(doc, "partitions", parts);
	return doc;
}

/* The health rules of the status document; each problem one reason line. */
static void health_reasons(const struct wc_attach *a, json_t *reasons)
{
	const struct wc_shared *sh = a->sh;
	unsigned int n = n_workers(sh);
	char buf[160];

	for (unsigned int i = 0; i < n; i++) {
		const struct wc_lcore_shared *l = &sh->lcores[i];
		int64_t age = heartbeat_age_ms(sh, l);

		if (__atomic_load_n(&l->state, __ATOMIC_ACQUIRE) != WC_LCORE_RUNNING)
			continue;
		if (age < 0 || age > STUCK_MS) {
			if (age < 0)
				snprintf(buf, sizeof(buf), "lcore %u has never ticked", i);
			else
				snprintf(buf, sizeof(buf), "lcore %u has not ticked for %.1f s", i,
					 (double)age / 1000.0);
			json_array_append_new(reasons, json_string(buf));
		}
	}
	for (unsigned int i = 0; i < sh->n_ports; i++) {
		uint16_t port = (uint16_t)(sh->port_id + i);
		struct rte_eth_link link;

		if (!rte_eth_dev_is_valid_port(port)) {
			snprintf(buf, sizeof(buf), "port %u is not visible to wirecache-mgmt",
				 port);
			json_array_append_new(reasons, json_string(buf));
			continue;
		}
		shared_link(sh, i, &link);
		if (link.link_status != RTE_ETH_LINK_UP) {
			snprintf(buf, sizeof(buf), "port %u link down", port);
			json_array_append_new(reasons, json_string(buf));
		}
	}
	for (unsigned int from = 0; from < n; from++) {
		for (unsigned int to = 0; to < n; to++) {
			char name[RTE_RING_NAMESIZE];
			struct rte_ring *r;
			unsigned int used, cap;

			if (from == to)
				continue;
			snprintf(name, sizeof(name), "wc_x%u>%u", from, to);
			r = rte_ring_lookup(name);
			if (r == NULL)
				continue;
			used = rte_ring_count(r);
			cap = rte_ring_get_capacity(r);
			if (cap > 0 && (uint64_t)used * 100 >= (uint64_t)cap * RING_FULL_PC) {
				snprintf(buf, sizeof(buf), "ring %s full (%u of %u)", name, used,
					 cap);
				json_array_append_new(reasons, json_string(buf));
			}
		}
	}
	if (rte_ring_full(a->ctl))
		json_array_append_new(reasons, json_string("control ring full"));
}

json_t *wc_report_status(const struct wc_attach *a)
{
	const struct wc_shared *sh = a->sh;
	json_t *doc = json_object(), *reasons = json_array(), *dp = dataplane_identity(sh);
	json_t *lcores = json_array();

	health_reasons(a, reasons);
	json_object_set_new(doc, "health",
			    json_string(json_array_size(reasons) == 0 ? "ok" : "unhealthy"));
	json_object_set_new(doc, "reasons", reasons);
	json_object_set_new(doc, "version", json_string(WC_VERSION));
	json_object_set_new(doc, "contract_version", json_integer(WC_CONTRACT_VERSION));
	json_object_set_new(dp, "attached", json_true());
	json_object_set_new(dp, "state", json_string(dp_state_name(sh->state)));
	json_object_set_new(dp, "wirecached_version", wc_attach_text(sh->wc_version));
	json_object_set_new(dp, "workers", json_integer(n_workers(sh)));
	json_object_set_new(dp, "config_generation", u64(wc_shared_config_gen(sh)));
	json_object_set_new(dp, "file_prefix", json_string(a->own.file_prefix));
	json_object_set_new(dp, "config_file", wc_attach_text(sh->config_file));
	json_object_set_new(doc, "dataplane", dp);
	for (unsigned int i = 0; i < n_workers(sh); i++)
		json_array_append_new(lcores, lcore_brief(sh, i));
	json_object_set_new(doc, "lcores", lcores);
	json_object_set_new(doc, "ports", ports_array(sh, true));
	return doc;
}

/*
 * An option's value as the dataplane or this process has it: options
 * wirecached reads from the live config @p live, mgmt-only ones from our own.
 */
static void option_value(const struct wc_attach *a, const struct wc_config *live,
			 const struct wc_opt_info *o, char *buf, size_t len)
{
	const struct wc_config *c = (o->flags & WC_OPT_DP) ? live : &a->own;

	buf[0] = '\0';
	/*
	 * The prefix in effect is the one we attached by: wirecached's own
	 * option loses to an explicit EAL --file-prefix.
	 */
	if (strcmp(o->name, "file-prefix") == 0) {
		snprintf(buf, len, "%s", a->own.file_prefix);
		return;
	}
	wc_config_get(c, o->name, buf, len);
}

static const char *scope_name(unsigned int flags)
{
	if ((flags & WC_OPT_BOTH) == WC_OPT_BOTH)
		return "both";
	return (flags & WC_OPT_DP) ? "dataplane" : "mgmt";
}

static json_t *option(const struct wc_attach *a, const struct wc_config *live,
		      const struct wc_opt_info *o)
{
	json_t *j = json_object();
	char val[1024];

	option_value(a, live, o, val, sizeof(val));
	json_object_set_new(j, "name", json_string(o->name));
	json_object_set_new(j, "value", json_string(val));
	json_object_set_new(j, "default", json_string(o->def));
	json_object_set_new(j, "type", json_string(o->type_name));
	json_object_set_new(j, "runtime", json_boolean(o->flags & WC_OPT_RUNTIME));
	json_object_set_new(j, "scope", json_string(scope_name(o->flags)));
	if (o->type == WC_OPT_U32 || o->type == WC_OPT_SIZE) {
		json_object_set_new(j, "min", u64(o->min));
		json_object_set_new(j, "max", u64(o->max));
	}
	json_object_set_new(j, "description", json_string(o->desc));
	return j;
}

json_t *wc_report_config(const struct wc_attach *a, const char *name)
{
	struct wc_config live;
	uint64_t gen = wc_shared_config_read(a->sh, &live);
	json_t *doc, *opts;

	if (name != NULL && wc_config_find(name) == NULL)
		return NULL;
	doc = json_object();
	opts = json_array();
	json_object_set_new(doc, "generation", u64(gen));
	json_object_set_new(doc, "file", wc_attach_text(a->config_file));
	for (size_t i = 0; i < wc_config_count(); i++) {
		const struct wc_opt_info *o = wc_config_info(i);

		if (name == NULL || strcmp(name, o->name) == 0)
			json_array_append_new(opts, option(a, &live, o));
	}
	json_object_set_new(doc, "options", opts);
	return doc;
}

json_t *wc_report_config_dump(const struct wc_attach *a)
{
	struct wc_config live;
	uint64_t gen = wc_shared_config_read(a->sh, &live);
	json_t *doc = json_object(), *vals = json_object();
	char val[1024];

	for (size_t i = 0; i < wc_config_count(); i++) {
		const struct wc_opt_info *o = wc_config_info(i);

		option_value(a, &live, o, val, sizeof(val));
		json_object_set_new(vals, o->name, json_string(val));
	}
	json_object_set_new(doc, "generation", u64(gen));
	json_object_set_new(doc, "values", vals);
	return doc;
}
