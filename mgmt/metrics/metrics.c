/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Prometheus text exposition (format 0.0.4) of wirecache's stats and
 * status documents.
 *
 * Families are written one after the other, each as
 *
 *   # HELP <name> <help>
 *   # TYPE <name> counter|gauge
 *   <name>{<label>="<value>",...} <value>
 *   ...
 *
 * with every sample of a family together (the format requires it), so the
 * per-lcore and per-partition tables are walked counter by counter. A
 * family's header is written with its first sample: a family whose members
 * are all missing (or null) leaves no trace.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mgmt/contract.h"
#include "mgmt/metrics/metrics.h"

#ifndef WC_VERSION
#define WC_VERSION "unknown"
#endif

enum mtype {
	COUNTER,
	GAUGE,
};

/* The text being built; a failed allocation poisons it (render returns NULL). */
struct out {
	char *buf;
	size_t len;
	size_t cap;
	bool failed;
	/* The family whose header is written with its first sample. */
	const char *fam;
	enum mtype fam_type;
	const char *fam_help;
	bool fam_written;
};

struct label {
	const char *name;
	const char *value;
};

static bool out_reserve(struct out *o, size_t more)
{
	size_t cap;
	char *nbuf;

	if (o->failed)
		return false;
	if (o->len + more + 1 <= o->cap)
		return true;
	cap = o->cap ? o->cap : 16384;
	while (cap < o->len + more + 1)
		cap *= 2;
	nbuf = realloc(o->buf, cap);
	if (nbuf == NULL) {
		o->failed = true;
		return false;
	}
	o->buf = nbuf;
	o->cap = cap;
	return true;
}

static void out_mem(struct out *o, const char *s, size_t n)
{
	if (!out_reserve(o, n))
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

/*
 * Escaped text: in HELP lines backslash and newline; in label values also
 * the double quote.
 */
static void out_escaped(struct out *o, const char *s, bool quote)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *esc = NULL;

		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (*s == '"' && quote)
			esc = "\\\"";
		if (esc == NULL)
			continue;
		out_mem(o, run, (size_t)(s - run));
		out_str(o, esc);
		run = s + 1;
	}
	out_mem(o, run, (size_t)(s - run));
}

/* Start a family: its header is written with its first sample. */
static void family(struct out *o, const char *name, enum mtype type, const char *help)
{
	o->fam = name;
	o->fam_type = type;
	o->fam_help = help;
	o->fam_written = false;
}

/*
 * A sample's value in the format's float syntax: integers as they are,
 * reals in the shortest form that reads back the same, booleans as 1 and
 * 0. Anything else (null, a string, a missing member) has no value.
 */
static bool format_value(const json_t *v, char *buf, size_t len)
{
	double d;

	if (json_is_integer(v)) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return true;
	}
	if (json_is_boolean(v)) {
		snprintf(buf, len, "%d", json_is_true(v) ? 1 : 0);
		return true;
	}
	if (!json_is_real(v))
		return false;
	d = json_real_value(v);
	if (isnan(d))
		snprintf(buf, len, "NaN");
	else if (isinf(d))
		snprintf(buf, len, "%cInf", d > 0 ? '+' : '-');
	else {
		snprintf(buf, len, "%.15g", d);
		if (strtod(buf, NULL) != d)
			snprintf(buf, len, "%.17g", d);
	}
	return true;
}

/* One sample line of the current family with an already formatted value. */
static void sample_text(struct out *o, const struct label *l, size_t n, const char *value)
{
	if (!o->fam_written) {
		out_str(o, "# HELP ");
		out_str(o, o->fam);
		out_str(o, " ");
		out_escaped(o, o->fam_help, false);
		out_str(o, "\n# TYPE ");
		out_str(o, o->fam);
		out_str(o, o->fam_type == COUNTER ? " counter\n" : " gauge\n");
		o->fam_written = true;
	}
	out_str(o, o->fam);
	for (size_t i = 0; i < n; i++) {
		out_str(o, i == 0 ? "{" : ",");
		out_str(o, l[i].name);
		out_str(o, "=\"");
		out_escaped(o, l[i].value, true);
		out_str(o, "\"");
	}
	if (n > 0)
		out_str(o, "}");
	out_str(o, " ");
	out_str(o, value);
	out_str(o, "\n");
}

/* One sample of the current family; nothing when @p v has no value. */
static void sample(struct out *o, const struct label *l, size_t n, const json_t *v)
{
	char buf[64];

	if (format_value(v, buf, sizeof(buf)))
		sample_text(o, l, n, buf);
}

static void sample_u(struct out *o, const struct label *l, size_t n, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	sample_text(o, l, n, buf);
}

/* Milliseconds (an integer member) as seconds, exactly: 2300 -> 2.3. */
static void sample_ms(struct out *o, const struct label *l, size_t n, const json_t *v)
{
	json_int_t ms;
	char buf[48];

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return;
	ms = json_integer_value(v);
	snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT ".%03" JSON_INTEGER_FORMAT, ms / 1000,
		 ms % 1000);
	sample_text(o, l, n, buf);
}

static const json_t *member(const json_t *obj, const char *key)
{
	return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

/* An integer member as label text (an index, an id); @p def without one. */
static const char *int_label(const json_t *obj, const char *key, size_t def, char *buf, size_t len)
{
	const json_t *v = member(obj, key);

	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		snprintf(buf, len, "%zu", def);
	return buf;
}

/* Per-lcore counters: wirecache_<name>_total{lcore="<index>"}. */
static const struct {
	const char *key;
	const char *name;
	const char *help;
} lcore_counters[] = {
#define WC_LCORE_METRIC(field, desc) { #field, "wirecache_" #field "_total", desc },
	WC_LCORE_STATS(WC_LCORE_METRIC)
#undef WC_LCORE_METRIC
};

/*
 * Contract names that Prometheus' naming lint (`promtool check metrics`)
 * would read as a unit: "_us" is microseconds to it.
 */
static const struct {
	const char *key;
	const char *name;
} lcore_renamed[] = {
	{ "drop_not_for_us", "wirecache_drop_not_ours_total" },
};

static const char *lcore_metric_name(size_t c)
{
	for (size_t i = 0; i < sizeof(lcore_renamed) / sizeof(lcore_renamed[0]); i++)
		if (strcmp(lcore_renamed[i].key, lcore_counters[c].key) == 0)
			return lcore_renamed[i].name;
	return lcore_counters[c].name;
}

/*
 * How each partition figure is exposed: its type and name. A field added to
 * WC_PART_STATS without a line here fails to compile (PART_<field> is
 * undefined), so the choice between counter and gauge is made on purpose.
 */
#define PART_curr_items	       GAUGE, "wirecache_partition_items"
#define PART_total_items       COUNTER, "wirecache_partition_stores_total"
#define PART_bytes	       GAUGE, "wirecache_partition_live_bytes"
#define PART_mem_used	       GAUGE, "wirecache_partition_memory_used_bytes"
#define PART_mem_limit	       GAUGE, "wirecache_partition_memory_limit_bytes"
#define PART_mem_reserved      GAUGE, "wirecache_partition_memory_reserved_bytes"
#define PART_index_bytes       GAUGE, "wirecache_partition_index_bytes"
#define PART_index_capacity    GAUGE, "wirecache_partition_index_capacity"
#define PART_evictions	       COUNTER, "wirecache_partition_evictions_total"
#define PART_expired_unfetched COUNTER, "wirecache_partition_expired_unfetched_total"
#define PART_evicted_unfetched COUNTER, "wirecache_partition_evicted_unfetched_total"
#define PART_reclaimed	       COUNTER, "wirecache_partition_reclaimed_total"
#define PART_get_expired       COUNTER, "wirecache_partition_get_expired_total"
#define PART_oom	       COUNTER, "wirecache_partition_oom_total"
#define PART_hash_collisions   COUNTER, "wirecache_partition_hash_collisions_total"
#define PART_grace_waits       COUNTER, "wirecache_partition_grace_waits_total"
#define PART_segs_cleaned      COUNTER, "wirecache_partition_segments_cleaned_total"
#define PART_reclaim_inline    COUNTER, "wirecache_partition_reclaim_inline_total"

static const struct {
	const char *key;
	enum mtype type;
	const char *name;
	const char *help;
} part_metrics[] = {
#define WC_PART_METRIC(field, desc) { #field, PART_##field, desc },
	WC_PART_STATS(WC_PART_METRIC)
#undef WC_PART_METRIC
};

/* A port object's "stats" members (rte_eth_stats). */
static const struct {
	const char *key;
	const char *name;
	const char *help;
} port_counters[] = {
	{ "ipackets", "wirecache_port_receive_packets_total", "packets the port received" },
	{ "opackets", "wirecache_port_transmit_packets_total", "packets the port transmitted" },
	{ "ibytes", "wirecache_port_receive_bytes_total", "bytes the port received" },
	{ "obytes", "wirecache_port_transmit_bytes_total", "bytes the port transmitted" },
	{ "imissed", "wirecache_port_receive_missed_total",
	  "packets the NIC dropped because the RX queues were full" },
	{ "ierrors", "wirecache_port_receive_errors_total", "erroneous packets received" },
	{ "oerrors", "wirecache_port_transmit_errors_total", "packets that failed to transmit" },
	{ "rx_nombuf", "wirecache_port_receive_nombuf_total",
	  "RX mbuf allocation failures of the port" },
};

static const char *const lcore_states[] = { "starting", "running", "stopped" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* wirecache-mgmt's own view: always there, whether the dataplane is or not. */
static void render_mgmt(struct out *o, const json_t *stats, const json_t *status)
{
	const json_t *dp = member(status, "dataplane");
	const json_t *health = member(status, "health");
	const json_t *reasons = member(status, "reasons");
	const json_t *attached = member(dp, "attached");
	const char *version = json_string_value(member(status, "version"));
	struct label l[1];

	family(o, "wirecache_build_info", GAUGE,
	       "wirecache-mgmt's version (the value is always 1)");
	l[0] = (struct label){ "version", version != NULL ? version : WC_VERSION };
	sample_u(o, l, 1, 1);

	family(o, "wirecache_up", GAUGE,
	       "1 when wirecache-mgmt is attached to a running dataplane, 0 when it is down");
	if (json_is_boolean(attached))
		sample(o, NULL, 0, attached);
	else
		sample_u(o, NULL, 0, stats != NULL);

	if (json_is_string(health)) {
		family(o, "wirecache_health_ok", GAUGE,
		       "1 when health is ok; 0 when unhealthy or down (see wirectl status)");
		sample_u(o, NULL, 0, strcmp(json_string_value(health), "ok") == 0);
	}
	if (json_is_array(reasons)) {
		family(o, "wirecache_health_reasons", GAUGE,
		       "number of reasons health is not ok (wirectl status lists them)");
		sample_u(o, NULL, 0, json_array_size(reasons));
	}

	family(o, "wirecache_mgmt_uptime_seconds", GAUGE, "seconds since wirecache-mgmt started");
	sample(o, NULL, 0, member(member(status, "mgmt"), "uptime_seconds"));

	family(o, "wirecache_dataplane_restarts_total", COUNTER,
	       "dataplane restarts wirecache-mgmt has seen (a new instance after a gap)");
	sample(o, NULL, 0, member(dp, "restarts_seen"));

	family(o, "wirecache_dataplane_last_gap_seconds", GAUGE,
	       "seconds the dataplane was down before its last restart");
	sample(o, NULL, 0, member(dp, "last_gap_seconds"));

	family(o, "wirecache_dataplane_down_since_seconds", GAUGE,
	       "unix time since which the dataplane has been down (only while it is down)");
	sample(o, NULL, 0, member(dp, "down_since"));
}

static void render_lcores(struct out *o, const json_t *lcores)
{
	size_t n = json_array_size(lcores);
	struct label l[3];
	char idx[24], id[24], sock[24];

	family(o, "wirecache_lcore_info", GAUGE,
	       "worker lcores: EAL lcore id and CPU socket of each worker index (value 1)");
	for (size_t i = 0; i < n; i++) {
		const json_t *lc = json_array_get(lcores, i);

		l[0] = (struct label){ "lcore", int_label(lc, "index", i, idx, sizeof(idx)) };
		if (!json_is_integer(member(lc, "lcore_id")) ||
		    !json_is_integer(member(lc, "socket_id")))
			continue;
		l[1] = (struct label){ "lcore_id", int_label(lc, "lcore_id", 0, id, sizeof(id)) };
		l[2] = (struct label){ "socket",
				       int_label(lc, "socket_id", 0, sock, sizeof(sock)) };
		sample_u(o, l, 3, 1);
	}

	family(o, "wirecache_lcore_state", GAUGE,
	       "1 for the worker lcore's current state (starting, running, stopped), 0 for the "
	       "others");
	for (size_t i = 0; i < n; i++) {
		const json_t *lc = json_array_get(lcores, i);
		const char *state = json_string_value(member(lc, "state"));

		if (state == NULL)
			continue;
		l[0] = (struct label){ "lcore", int_label(lc, "index", i, idx, sizeof(idx)) };
		for (size_t s = 0; s < NELEM(lcore_states); s++) {
			l[1] = (struct label){ "state", lcore_states[s] };
			sample_u(o, l, 2, strcmp(state, lcore_states[s]) == 0);
		}
	}

	family(o, "wirecache_lcore_heartbeat_age_seconds", GAUGE,
	       "seconds since the worker lcore's last tick (it ticks every millisecond; over 1 s "
	       "while running means stuck)");
	for (size_t i = 0; i < n; i++) {
		const json_t *lc = json_array_get(lcores, i);

		l[0] = (struct label){ "lcore", int_label(lc, "index", i, idx, sizeof(idx)) };
		sample_ms(o, l, 1, member(lc, "heartbeat_age_ms"));
	}

	for (size_t c = 0; c < NELEM(lcore_counters); c++) {
		family(o, lcore_metric_name(c), COUNTER, lcore_counters[c].help);
		for (size_t i = 0; i < n; i++) {
			const json_t *lc = json_array_get(lcores, i);

			l[0] = (struct label){ "lcore",
					       int_label(lc, "index", i, idx, sizeof(idx)) };
			sample(o, l, 1, member(member(lc, "counters"), lcore_counters[c].key));
		}
	}
}

static void render_partitions(struct out *o, const json_t *parts)
{
	size_t n = json_array_size(parts);
	struct label l[1];
	char idx[24];

	family(o, "wirecache_partition_numa_node", GAUGE,
	       "NUMA node the partition's memory is on (-1: unknown)");
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(parts, i);

		l[0] = (struct label){ "partition", int_label(p, "index", i, idx, sizeof(idx)) };
		sample(o, l, 1, member(p, "numa_node"));
	}
	for (size_t m = 0; m < NELEM(part_metrics); m++) {
		family(o, part_metrics[m].name, part_metrics[m].type, part_metrics[m].help);
		for (size_t i = 0; i < n; i++) {
			const json_t *p = json_array_get(parts, i);

			l[0] = (struct label){ "partition",
					       int_label(p, "index", i, idx, sizeof(idx)) };
			sample(o, l, 1, member(p, part_metrics[m].key));
		}
	}
}

static void render_ports(struct out *o, const json_t *ports)
{
	size_t n = json_array_size(ports);
	struct label l[4];
	char idx[24];

	family(o, "wirecache_port_info", GAUGE,
	       "the served ethdev ports: device name, driver and MAC address (value 1)");
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(ports, i);
		const char *name = json_string_value(member(p, "name"));
		const char *driver = json_string_value(member(p, "driver"));
		const char *mac = json_string_value(member(p, "mac"));

		l[0] = (struct label){ "port", int_label(p, "port_id", i, idx, sizeof(idx)) };
		l[1] = (struct label){ "name", name != NULL ? name : "" };
		l[2] = (struct label){ "driver", driver != NULL ? driver : "" };
		l[3] = (struct label){ "mac", mac != NULL ? mac : "" };
		sample_u(o, l, 4, 1);
	}

	family(o, "wirecache_port_link_up", GAUGE, "1 when the port's link is up");
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(ports, i);

		l[0] = (struct label){ "port", int_label(p, "port_id", i, idx, sizeof(idx)) };
		sample(o, l, 1, member(member(p, "link"), "up"));
	}

	family(o, "wirecache_port_link_speed_bytes", GAUGE,
	       "the port's link speed in bytes per second (0: unknown or down)");
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(ports, i);
		const json_t *mbps = member(member(p, "link"), "speed_mbps");

		if (!json_is_integer(mbps) || json_integer_value(mbps) < 0)
			continue;
		l[0] = (struct label){ "port", int_label(p, "port_id", i, idx, sizeof(idx)) };
		sample_u(o, l, 1, (unsigned long long)json_integer_value(mbps) * 125000ULL);
	}

	for (size_t c = 0; c < NELEM(port_counters); c++) {
		family(o, port_counters[c].name, COUNTER, port_counters[c].help);
		for (size_t i = 0; i < n; i++) {
			const json_t *p = json_array_get(ports, i);

			l[0] = (struct label){ "port",
					       int_label(p, "port_id", i, idx, sizeof(idx)) };
			sample(o, l, 1, member(member(p, "stats"), port_counters[c].key));
		}
	}

	family(o, "wirecache_port_xstats_total", COUNTER,
	       "the port driver's extended statistics (rte_eth_xstats), by name");
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(ports, i);
		const json_t *xs = member(p, "xstats");
		const char *key;
		json_t *v;

		l[0] = (struct label){ "port", int_label(p, "port_id", i, idx, sizeof(idx)) };
		json_object_foreach((json_t *)xs, key, v)
		{
			l[1] = (struct label){ "name", key };
			sample(o, l, 2, v);
		}
	}
}

/* Everything read from the dataplane's shared memory (the stats document). */
static void render_dataplane(struct out *o, const json_t *stats)
{
	const json_t *dp = member(stats, "dataplane");
	const json_t *ctl = member(stats, "control");

	family(o, "wirecache_dataplane_start_time_seconds", GAUGE,
	       "unix time the running dataplane started");
	sample(o, NULL, 0, member(dp, "start_time"));

	family(o, "wirecache_dataplane_workers", GAUGE, "worker lcores of the running dataplane");
	sample(o, NULL, 0, member(dp, "workers"));

	family(o, "wirecache_dataplane_tsc_hertz", GAUGE,
	       "TSC ticks per second: wirecache_busy_cycles_total divided by it is busy time");
	sample(o, NULL, 0, member(dp, "tsc_hz"));

	family(o, "wirecache_config_generation", GAUGE,
	       "times the running dataplane's config was changed (wirectl config set)");
	sample(o, NULL, 0, member(dp, "config_generation"));

	family(o, "wirecache_control_requests_total", COUNTER,
	       "control requests the dataplane took from wirecache-mgmt");
	sample(o, NULL, 0, member(ctl, "ctl_requests"));

	family(o, "wirecache_control_events_dropped_total", COUNTER,
	       "events (log lines, replies) the dataplane dropped: its event ring was full");
	sample(o, NULL, 0, member(ctl, "events_dropped"));

	render_lcores(o, member(stats, "lcores"));
	render_partitions(o, member(stats, "partitions"));
	render_ports(o, member(stats, "ports"));
}

char *wc_metrics_render(const json_t *stats, const json_t *status)
{
	struct out o = { 0 };

	render_mgmt(&o, stats, status);
	if (stats != NULL)
		render_dataplane(&o, stats);
	if (!out_reserve(&o, 0)) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}
