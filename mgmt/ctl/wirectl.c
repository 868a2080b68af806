/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wirectl: wirecache's operator CLI. It talks only to wirecache-mgmt's
 * control socket (one JSON request per line, one reply per line) and prints
 * the reply for a person, or its data member exactly as sent with --json.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt/config.h"
#include "mgmt/ctl/client.h"
#include "mgmt/ctl/fmt.h"
#include "mgmt/ctl/wirectl.h"

#define CALL_TIMEOUT_MS 10000 /* config set and flush wait for every lcore (<= 500 ms) */

struct opts {
	const char *socket;
	bool json;
	unsigned int iterations;
	bool iterations_set;
	char **pos; /* the command and its arguments */
	int npos;
};

static void usage(FILE *f)
{
	struct wc_config def;

	wc_config_defaults(&def);
	fprintf(f,
		"usage: wirectl [--socket PATH] [--json] COMMAND [ARGS]\n"
		"\n"
		"wirecache's operator CLI: asks wirecache-mgmt over its control socket.\n"
		"\n"
		"commands:\n"
		"  status                  health, versions, uptimes, lcores and ports\n"
		"  stats                   counters: totals, then per lcore and per partition\n"
		"  top [--iterations N]    live rates per lcore, every second (q quits); one\n"
		"                          plain snapshot over 1 s when stdout is not a terminal\n"
		"  config get [NAME]       options with their live values\n"
		"  config set NAME VALUE   change a runtime option on the running dataplane\n"
		"  config rewrite          write the live options into the config file\n"
		"  ports                   ports: link, packet counters, extended stats\n"
		"  partitions              items and memory of each partition\n"
		"  flush [DELAY]           invalidate every item now (or in DELAY seconds)\n"
		"  log [N]                 the last N log lines of both programs (default 50)\n"
		"  help                    this text\n"
		"\n"
		"options (before or after the command):\n"
		"  --socket PATH    wirecache-mgmt's socket (default: $WIRECACHE_SOCKET, else %s)\n"
		"  --json           print the reply's data as JSON, as wirecache-mgmt sent it\n"
		"                   (documented in docs/wirectl.md)\n"
		"  --version        print wirectl's version\n"
		"  --list-options   print the config option names (for shell completion)\n"
		"\n"
		"exit status: 0 done; 1 refused or failed; 2 usage; 3 cannot reach\n"
		"wirecache-mgmt; 4 the dataplane is down (status too, when it says so)\n",
		def.mgmt_socket);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "wirectl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see wirectl help)\n");
	return WC_EXIT_USAGE;
}

/* --------------------------------------------------------------------------
 * JSON helpers shared with top.c
 */

uint64_t wc_j_u64(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 0)
		return (uint64_t)json_real_value(v);
	return 0;
}

double wc_j_num(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *wc_j_str(const json_t *obj, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : dflt;
}

const char *wc_health_words(const char *health)
{
	if (strcmp(health, "ok") == 0)
		return "healthy";
	if (strcmp(health, "unhealthy") == 0)
		return "UNHEALTHY";
	if (strcmp(health, "down") == 0)
		return "DOWN (dataplane not running)";
	return health;
}

/* --------------------------------------------------------------------------
 * Human output
 */

#define KEY_WIDTH 12

static void kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void kv(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%-*s", KEY_WIDTH, key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static bool is_bytes_name(const char *name)
{
	return strstr(name, "bytes") != NULL || strncmp(name, "mem_", 4) == 0;
}

static const char *bytes_str(char *buf, size_t len, uint64_t v)
{
	wc_fmt_bytes(buf, len, v);
	return buf;
}

static const char *dur_str(char *buf, size_t len, uint64_t s)
{
	wc_fmt_duration(buf, len, s);
	return buf;
}

static const char *speed_str(char *buf, size_t len, uint64_t mbps)
{
	if (mbps == 0)
		snprintf(buf, len, "-");
	else if (mbps >= 1000 && mbps % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 " Gbit/s", mbps / 1000);
	else if (mbps >= 1000)
		snprintf(buf, len, "%.1f Gbit/s", mbps / 1000.0);
	else
		snprintf(buf, len, "%" PRIu64 " Mbit/s", mbps);
	return buf;
}

uint64_t wc_drops_of(const json_t *counters)
{
	const char *name;
	json_t *v;
	uint64_t sum = 0;

	json_object_foreach((json_t *)counters, name, v)
	{
		if (strncmp(name, "drop_", 5) == 0 && json_is_integer(v))
			sum += (uint64_t)json_integer_value(v);
	}
	return sum;
}

static void print_dataplane_line(const json_t *dp)
{
	char up[32], since[40];

	wc_fmt_time(since, sizeof(since), wc_j_u64(dp, "start_time"));
	kv("dataplane", "pid %" PRIu64 ", up %s (since %s), %" PRIu64 " worker%s",
	   wc_j_u64(dp, "pid"), dur_str(up, sizeof(up), wc_j_u64(dp, "uptime_seconds")), since,
	   wc_j_u64(dp, "workers"), wc_j_u64(dp, "workers") == 1 ? "" : "s");
	kv("", "instance %s, config generation %" PRIu64, wc_j_str(dp, "instance", "-"),
	   wc_j_u64(dp, "config_generation"));
}

static int print_status(const json_t *d)
{
	const json_t *mg = json_object_get(d, "mgmt"), *dp = json_object_get(d, "dataplane");
	const json_t *reasons = json_object_get(d, "reasons"), *v;
	const char *health = wc_j_str(d, "health", "?");
	char a[40], b[40];
	size_t i;

	kv("health", "%s", wc_health_words(health));
	json_array_foreach(reasons, i, v)
	{
		kv("", "- %s", json_string_value(v) ? json_string_value(v) : "?");
	}
	kv("version", "%s (contract version %" PRIu64 ")", wc_j_str(d, "version", "?"),
	   wc_j_u64(d, "contract_version"));
	kv("mgmt", "pid %" PRIu64 ", up %s", wc_j_u64(mg, "pid"),
	   dur_str(a, sizeof(a), wc_j_u64(mg, "uptime_seconds")));
	kv("", "socket %s", wc_j_str(mg, "socket", "-"));
	kv("", "metrics %s",
	   wc_j_str(mg, "metrics_listen", "")[0] ? wc_j_str(mg, "metrics_listen", "") : "off");
	kv("", "config %s",
	   wc_j_str(mg, "config_file", "")[0] ? wc_j_str(mg, "config_file", "") : "(no file)");
	if (json_is_true(json_object_get(dp, "attached"))) {
		wc_fmt_time(b, sizeof(b), wc_j_u64(dp, "start_time"));
		kv("dataplane", "attached: pid %" PRIu64 ", up %s (since %s)", wc_j_u64(dp, "pid"),
		   dur_str(a, sizeof(a), wc_j_u64(dp, "uptime_seconds")), b);
		if (json_object_get(dp, "wirecached_version") != NULL)
			kv("", "wirecached %s, %s, %" PRIu64 " worker%s",
			   wc_j_str(dp, "wirecached_version", "?"), wc_j_str(dp, "state", "?"),
			   wc_j_u64(dp, "workers"), wc_j_u64(dp, "workers") == 1 ? "" : "s");
		kv("", "instance %s, config generation %" PRIu64, wc_j_str(dp, "instance", "-"),
		   wc_j_u64(dp, "config_generation"));
	} else {
		double since = wc_j_num(dp, "down_since");

		if (!isnan(since)) {
			wc_fmt_time(b, sizeof(b), (uint64_t)since);
			kv("dataplane", "not attached: down since %s", b);
		} else {
			kv("dataplane", "not attached");
		}
	}
	kv("", "file prefix %s, restarts seen %" PRIu64, wc_j_str(dp, "file_prefix", "-"),
	   wc_j_u64(dp, "restarts_seen"));
	if (!isnan(wc_j_num(dp, "last_gap_seconds")))
		kv("", "last gap %.1f s", wc_j_num(dp, "last_gap_seconds"));

	if (json_array_size(json_object_get(d, "lcores")) > 0) {
		static const char *const h[] = { "LCORE", "ID", "SOCKET", "STATE", "HEARTBEAT" };
		static const enum wc_align al[] = { WC_RIGHT, WC_RIGHT, WC_RIGHT, WC_LEFT,
						    WC_RIGHT };
		struct wc_table *t = wc_table_new(5, h, al);

		json_array_foreach(json_object_get(d, "lcores"), i, v)
		{
			wc_table_cell(t, "%" PRIu64, wc_j_u64(v, "index"));
			wc_table_cell(t, "%" PRIu64, wc_j_u64(v, "lcore_id"));
			wc_table_cell(t, "%" PRIu64, wc_j_u64(v, "socket_id"));
			wc_table_cell(t, "%s", wc_j_str(v, "state", "?"));
			wc_table_cell(t, "%" PRIu64 " ms ago", wc_j_u64(v, "heartbeat_age_ms"));
		}
		printf("\n");
		wc_table_print(t, stdout, "");
		wc_table_free(t);
	}
	if (json_array_size(json_object_get(d, "ports")) > 0) {
		static const char *const h[] = { "PORT", "NAME", "LINK", "SPEED" };
		static const enum wc_align al[] = { WC_RIGHT, WC_LEFT, WC_LEFT, WC_RIGHT };
		struct wc_table *t = wc_table_new(4, h, al);

		json_array_foreach(json_object_get(d, "ports"), i, v)
		{
			wc_table_cell(t, "%" PRIu64, wc_j_u64(v, "port_id"));
			wc_table_cell(t, "%s", wc_j_str(v, "name", "?"));
			wc_table_cell(t, "%s",
				      json_is_true(json_object_get(v, "link_up")) ? "up" : "DOWN");
			wc_table_cell(t, "%s", speed_str(a, sizeof(a), wc_j_u64(v, "speed_mbps")));
		}
		printf("\n");
		wc_table_print(t, stdout, "");
		wc_table_free(t);
	}
	return strcmp(health, "down") == 0 ? WC_EXIT_DOWN : WC_EXIT_OK;
}

static void print_partitions_table(const json_t *parts, const char *indent)
{
	static const char *const h[] = { "PART",  "NUMA",      "ITEMS",	    "STORES",
					 "LIVE",  "MEM USED",  "MEM LIMIT", "RESERVED",
					 "INDEX", "EVICTIONS", "RECLAIMED", "OOM" };
	static const enum wc_align al[] = { WC_RIGHT, WC_RIGHT, WC_RIGHT, WC_RIGHT,
					    WC_RIGHT, WC_RIGHT, WC_RIGHT, WC_RIGHT,
					    WC_RIGHT, WC_RIGHT, WC_RIGHT, WC_RIGHT };
	struct wc_table *t = wc_table_new(12, h, al);
	char b[32];
	size_t i;
	json_t *p;

	json_array_foreach(parts, i, p)
	{
		wc_table_cell(t, "%" PRIu64, wc_j_u64(p, "index"));
		wc_table_cell(t, "%" PRId64,
			      (int64_t)json_integer_value(json_object_get(p, "numa_node")));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(p, "curr_items"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(p, "total_items"));
		wc_table_cell(t, "%s", bytes_str(b, sizeof(b), wc_j_u64(p, "bytes")));
		wc_table_cell(t, "%s", bytes_str(b, sizeof(b), wc_j_u64(p, "mem_used")));
		wc_table_cell(t, "%s", bytes_str(b, sizeof(b), wc_j_u64(p, "mem_limit")));
		wc_table_cell(t, "%s", bytes_str(b, sizeof(b), wc_j_u64(p, "mem_reserved")));
		wc_table_cell(t, "%s", bytes_str(b, sizeof(b), wc_j_u64(p, "index_bytes")));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(p, "evictions"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(p, "reclaimed"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(p, "oom"));
	}
	wc_table_print(t, stdout, indent);
	wc_table_free(t);
}

/* One row per port: link and the basic counters. */
static void print_ports_table(const json_t *ports, const char *indent)
{
	static const char *const h[] = { "PORT",   "NAME",    "DRIVER",	  "MAC",     "LINK",
					 "SPEED",  "RX PKTS", "RX BYTES", "TX PKTS", "TX BYTES",
					 "MISSED", "RX ERR",  "TX ERR",	  "NO MBUF" };
	static const enum wc_align al[] = { WC_RIGHT, WC_LEFT,	WC_LEFT,  WC_LEFT,  WC_LEFT,
					    WC_RIGHT, WC_RIGHT, WC_RIGHT, WC_RIGHT, WC_RIGHT,
					    WC_RIGHT, WC_RIGHT, WC_RIGHT, WC_RIGHT };
	struct wc_table *t = wc_table_new(14, h, al);
	const json_t *p;
	char b[32];
	size_t i;

	json_array_foreach(ports, i, p)
	{
		const json_t *l = json_object_get(p, "link"), *s = json_object_get(p, "stats");
		bool up = json_is_true(json_object_get(l, "up"));

		wc_table_cell(t, "%" PRIu64, wc_j_u64(p, "port_id"));
		wc_table_cell(t, "%s", wc_j_str(p, "name", "?"));
		wc_table_cell(t, "%s", wc_j_str(p, "driver", "?"));
		wc_table_cell(t, "%s", wc_j_str(p, "mac", "?"));
		wc_table_cell(t, "%s",
			      !up ? "DOWN"
			      : json_is_true(json_object_get(l, "full_duplex"))
				      ? "up, full duplex"
				      : "up, half duplex");
		wc_table_cell(t, "%s", speed_str(b, sizeof(b), wc_j_u64(l, "speed_mbps")));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(s, "ipackets"));
		wc_table_cell(t, "%s", bytes_str(b, sizeof(b), wc_j_u64(s, "ibytes")));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(s, "opackets"));
		wc_table_cell(t, "%s", bytes_str(b, sizeof(b), wc_j_u64(s, "obytes")));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(s, "imissed"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(s, "ierrors"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(s, "oerrors"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(s, "rx_nombuf"));
	}
	wc_table_print(t, stdout, indent);
	wc_table_free(t);
}

static int print_stats(const json_t *d)
{
	const json_t *tot = json_object_get(d, "totals"), *ctl = json_object_get(d, "control");
	static const char *const th[] = { "COUNTER", "VALUE", "COUNTER", "VALUE" };
	static const enum wc_align tal[] = { WC_LEFT, WC_RIGHT, WC_LEFT, WC_RIGHT };
	static const char *const lh[] = { "LCORE",   "ID",	  "SOCKET", "STATE", "HEARTBEAT",
					  "RX PKTS", "TX PKTS",	  "GETS",   "HITS",  "MISSES",
					  "SETS",    "FORWARDED", "DROPS" };
	static const enum wc_align lal[] = { WC_RIGHT, WC_RIGHT, WC_RIGHT, WC_LEFT,  WC_RIGHT,
					     WC_RIGHT, WC_RIGHT, WC_RIGHT, WC_RIGHT, WC_RIGHT,
					     WC_RIGHT, WC_RIGHT, WC_RIGHT };
	size_t n = json_object_size(tot), half = (n + 1) / 2, i = 0, k;
	const char **names = calloc(n + 1, sizeof(*names));
	const char *name;
	struct wc_table *t;
	json_t *v;
	char b[32];

	if (names == NULL)
		return WC_EXIT_FAILED;
	print_dataplane_line(json_object_get(d, "dataplane"));
	kv("control", "%" PRIu64 " requests, %" PRIu64 " events dropped",
	   wc_j_u64(ctl, "ctl_requests"), wc_j_u64(ctl, "events_dropped"));

	/* Totals in two columns, read down the left one first. */
	json_object_foreach((json_t *)tot, name, v)
	{
		names[i++] = name;
	}
	t = wc_table_new(4, th, tal);
	for (i = 0; i < half; i++) {
		for (k = i; k < n; k += half) {
			uint64_t x = wc_j_u64(tot, names[k]);

			wc_table_cell(t, "%s", names[k]);
			if (is_bytes_name(names[k]))
				wc_table_cell(t, "%s", bytes_str(b, sizeof(b), x));
			else
				wc_table_cell(t, "%" PRIu64, x);
		}
		if (i + half >= n && n > 1) {
			wc_table_cell(t, "%s", "");
			wc_table_cell(t, "%s", "");
		}
	}
	free(names);
	printf("\ntotals\n");
	wc_table_print(t, stdout, "  ");
	wc_table_free(t);

	printf("\nper lcore\n");
	t = wc_table_new(13, lh, lal);
	json_array_foreach(json_object_get(d, "lcores"), i, v)
	{
		const json_t *c = json_object_get(v, "counters");

		wc_table_cell(t, "%" PRIu64, wc_j_u64(v, "index"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(v, "lcore_id"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(v, "socket_id"));
		wc_table_cell(t, "%s", wc_j_str(v, "state", "?"));
		wc_table_cell(t, "%" PRIu64 " ms", wc_j_u64(v, "heartbeat_age_ms"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(c, "rx_packets"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(c, "tx_packets"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(c, "mc_cmd_get"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(c, "mc_get_hits"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(c, "mc_get_misses"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(c, "mc_cmd_set"));
		wc_table_cell(t, "%" PRIu64, wc_j_u64(c, "xcore_forwarded"));
		wc_table_cell(t, "%" PRIu64, wc_drops_of(c));
	}
	wc_table_print(t, stdout, "  ");
	wc_table_free(t);

	printf("\nper partition\n");
	print_partitions_table(json_object_get(d, "partitions"), "  ");
	if (json_array_size(json_object_get(d, "ports")) > 0) {
		printf("\nper port\n");
		print_ports_table(json_object_get(d, "ports"), "  ");
	}
	return WC_EXIT_OK;
}

static int print_partitions(const json_t *d)
{
	print_partitions_table(json_object_get(d, "partitions"), "");
	return WC_EXIT_OK;
}

static int print_ports(const json_t *d)
{
	static const char *const xh[] = { "XSTAT", "VALUE" };
	static const enum wc_align xal[] = { WC_LEFT, WC_RIGHT };
	const json_t *ports = json_object_get(d, "ports"), *p;
	struct wc_table *t;
	size_t i;

	print_ports_table(ports, "");

	/* Extended stats: only those that counted something. */
	json_array_foreach(ports, i, p)
	{
		const json_t *xs = json_object_get(p, "xstats");
		size_t zero = 0;
		const char *name;
		json_t *v;

		t = wc_table_new(2, xh, xal);
		json_object_foreach((json_t *)xs, name, v)
		{
			if (json_integer_value(v) == 0) {
				zero++;
				continue;
			}
			wc_table_cell(t, "%s", name);
			wc_table_cell(t, "%" PRIu64, wc_j_u64(xs, name));
		}
		printf("\nport %" PRIu64 " extended stats (%zu more are 0)\n",
		       wc_j_u64(p, "port_id"), zero);
		if (wc_table_rows(t) > 0)
			wc_table_print(t, stdout, "  ");
		wc_table_free(t);
	}
	return WC_EXIT_OK;
}

static const char *range_str(char *buf, size_t len, const json_t *o)
{
	const char *type = wc_j_str(o, "type", "");

	if (json_object_get(o, "min") == NULL || json_object_get(o, "max") == NULL ||
	    (strcmp(type, "size") != 0 && strcmp(type, "number") != 0)) {
		buf[0] = '\0';
		return buf;
	}
	if (strcmp(type, "size") == 0) {
		char lo[24], hi[24];

		wc_fmt_bytes(lo, sizeof(lo), wc_j_u64(o, "min"));
		wc_fmt_bytes(hi, sizeof(hi), wc_j_u64(o, "max"));
		snprintf(buf, len, "%s .. %s", lo, hi);
	} else {
		snprintf(buf, len, "%" PRIu64 " .. %" PRIu64, wc_j_u64(o, "min"),
			 wc_j_u64(o, "max"));
	}
	return buf;
}

static int print_config_get(const json_t *d, bool one)
{
	const json_t *opts = json_object_get(d, "options"), *o;
	char b[80];
	size_t i;

	if (one && json_array_size(opts) == 1) {
		o = json_array_get(opts, 0);
		kv("name", "%s", wc_j_str(o, "name", "?"));
		kv("value", "%s", wc_j_str(o, "value", ""));
		kv("default", "%s", wc_j_str(o, "default", ""));
		kv("type", "%s", wc_j_str(o, "type", "?"));
		if (range_str(b, sizeof(b), o)[0])
			kv("range", "%s", b);
		kv("changes", "%s",
		   json_is_true(json_object_get(o, "runtime"))
			   ? "at runtime (wirectl config set)"
			   : "at the next start (set it in the config file)");
		kv("used by", "%s", wc_j_str(o, "scope", "?"));
		kv("about", "%s", wc_j_str(o, "description", ""));
		return WC_EXIT_OK;
	}

	static const char *const h[] = { "NAME", "VALUE", "DEFAULT", "TYPE", "CHANGES", "USED BY" };
	static const enum wc_align al[] = { WC_LEFT, WC_LEFT, WC_LEFT, WC_LEFT, WC_LEFT, WC_LEFT };
	struct wc_table *t = wc_table_new(6, h, al);
	const char *file = wc_j_str(d, "file", "");

	printf("config generation %" PRIu64 ", file %s\n\n", wc_j_u64(d, "generation"),
	       file[0] ? file : "(none)");
	json_array_foreach(opts, i, o)
	{
		const char *val = wc_j_str(o, "value", ""), *def = wc_j_str(o, "default", "");

		wc_table_cell(t, "%s", wc_j_str(o, "name", "?"));
		wc_table_cell(t, "%s%s", val[0] ? val : "\"\"", strcmp(val, def) != 0 ? " *" : "");
		wc_table_cell(t, "%s", def[0] ? def : "\"\"");
		wc_table_cell(t, "%s", wc_j_str(o, "type", "?"));
		wc_table_cell(t, "%s",
			      json_is_true(json_object_get(o, "runtime")) ? "runtime" : "restart");
		wc_table_cell(t, "%s", wc_j_str(o, "scope", "?"));
	}
	wc_table_print(t, stdout, "");
	wc_table_free(t);
	printf("\n* differs from the default\n");
	return WC_EXIT_OK;
}

static int print_log(const json_t *d)
{
	const json_t *l;
	size_t i;

	json_array_foreach(json_object_get(d, "lines"), i, l)
	{
		printf("%s %s %s: %s\n", wc_j_str(l, "time", "?"), wc_j_str(l, "level", "?"),
		       wc_j_str(l, "source", "?"), wc_j_str(l, "text", ""));
	}
	return WC_EXIT_OK;
}

/* --------------------------------------------------------------------------
 * Commands
 */

static bool is_uint(const char *s)
{
	if (*s == '\0' || strlen(s) > 9)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

static int run(const struct opts *o)
{
	const char *cmd = o->pos[0];
	const char *const *args = (const char *const *)o->pos + 1;
	size_t nargs = (size_t)o->npos - 1;
	struct wc_ctl_reply r;
	struct wc_ctl_conn c;
	char err[WC_CTL_ERR_MAX];
	int rc;

	if (o->iterations_set && strcmp(cmd, "top") != 0)
		return usage_error("--iterations is an option of top, not of %s", cmd);
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "stats") == 0 || strcmp(cmd, "ports") == 0 ||
	    strcmp(cmd, "partitions") == 0) {
		if (nargs != 0)
			return usage_error("%s takes no arguments", cmd);
	} else if (strcmp(cmd, "top") == 0) {
		if (nargs != 0)
			return usage_error("%s takes no arguments", cmd);
		if (o->json)
			return usage_error("%s has no --json output (wirectl --json stats has the "
					   "counters)",
					   cmd);
		return wc_top_run(o->socket, o->iterations);
	} else if (strcmp(cmd, "config") == 0) {
		if (nargs == 0)
			return usage_error("%s needs get, set or rewrite", cmd);
		if (strcmp(args[0], "get") == 0) {
			if (nargs > 2)
				return usage_error("%s", "config get takes at most one NAME");
		} else if (strcmp(args[0], "set") == 0) {
			if (nargs != 3)
				return usage_error("%s", "config set takes NAME VALUE");
		} else if (strcmp(args[0], "rewrite") == 0) {
			if (nargs != 1)
				return usage_error("%s", "config rewrite takes no arguments");
		} else {
			return usage_error("unknown config subcommand '%s' (get, set or rewrite)",
					   args[0]);
		}
	} else if (strcmp(cmd, "flush") == 0) {
		if (nargs > 1 || (nargs == 1 && !is_uint(args[0])))
			return usage_error("%s", "flush takes an optional DELAY in whole seconds");
	} else if (strcmp(cmd, "log") == 0) {
		if (nargs > 1 || (nargs == 1 && (!is_uint(args[0]) || atoi(args[0]) == 0 ||
						 atoi(args[0]) > 1000)))
			return usage_error("%s", "log takes an optional line count N (1 to 1000)");
	} else {
		return usage_error("unknown command '%s'", cmd);
	}

	wc_ctl_init(&c);
	rc = wc_ctl_connect(&c, o->socket, err, sizeof(err));
	if (rc == WC_EXIT_OK)
		rc = wc_ctl_call(&c, cmd, args, nargs, CALL_TIMEOUT_MS, &r, err, sizeof(err));
	wc_ctl_close(&c);
	if (rc != WC_EXIT_OK) {
		fprintf(stderr, "wirectl: %s\n", err);
		return rc;
	}
	if (o->json) {
		fwrite(r.raw, 1, r.raw_len, stdout);
		putchar('\n');
		rc = WC_EXIT_OK;
		if (strcmp(cmd, "status") == 0 &&
		    strcmp(wc_j_str(r.data, "health", ""), "down") == 0)
			rc = WC_EXIT_DOWN;
	} else if (strcmp(cmd, "status") == 0) {
		rc = print_status(r.data);
	} else if (strcmp(cmd, "stats") == 0) {
		rc = print_stats(r.data);
	} else if (strcmp(cmd, "ports") == 0) {
		rc = print_ports(r.data);
	} else if (strcmp(cmd, "partitions") == 0) {
		rc = print_partitions(r.data);
	} else if (strcmp(cmd, "config") == 0 && strcmp(args[0], "get") == 0) {
		rc = print_config_get(r.data, nargs == 2);
	} else if (strcmp(cmd, "config") == 0 && strcmp(args[0], "set") == 0) {
		printf("%s = %s (config generation %" PRIu64 ")\n", wc_j_str(r.data, "name", "?"),
		       wc_j_str(r.data, "value", "?"), wc_j_u64(r.data, "generation"));
	} else if (strcmp(cmd, "config") == 0) {
		printf("wrote %s (config generation %" PRIu64 ")\n", wc_j_str(r.data, "file", "?"),
		       wc_j_u64(r.data, "generation"));
	} else if (strcmp(cmd, "flush") == 0) {
		if (wc_j_u64(r.data, "delay") > 0)
			printf("every item expires in %" PRIu64 " s\n", wc_j_u64(r.data, "delay"));
		else
			printf("flushed: every item is gone\n");
	} else {
		rc = print_log(r.data);
	}
	wc_ctl_reply_free(&r);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "wirectl: writing the output: %s\n", strerror(errno));
		return WC_EXIT_FAILED;
	}
	return rc;
}

/* Options may come before or after the command; "--" ends them. */
static int parse_args(int argc, char **argv, struct opts *o, bool *done)
{
	bool opts_end = false;

	*done = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;

		if (opts_end || a[0] != '-' || a[1] == '\0') {
			o->pos[o->npos++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			opts_end = true;
		} else if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0) {
			o->json = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			*done = true;
			return WC_EXIT_OK;
		} else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			printf("wirectl %s\n", WC_VERSION);
			*done = true;
			return WC_EXIT_OK;
		} else if (strcmp(a, "--list-options") == 0) {
			for (size_t k = 0; k < wc_config_count(); k++)
				printf("%s\n", wc_config_info(k)->name);
			*done = true;
			return WC_EXIT_OK;
		} else if (strncmp(a, "--socket=", 9) == 0) {
			o->socket = a + 9;
		} else if (strcmp(a, "--socket") == 0 || strcmp(a, "-s") == 0) {
			if (i + 1 >= argc)
				return usage_error("%s needs a PATH", a);
			o->socket = argv[++i];
		} else if (strncmp(a, "--iterations", 12) == 0 && (a[12] == '=' || a[12] == '\0')) {
			if (a[12] == '=')
				val = a + 13;
			else if (i + 1 < argc)
				val = argv[++i];
			if (val == NULL || !is_uint(val) || atoi(val) == 0)
				return usage_error("%s needs a count of 1 or more", "--iterations");
			o->iterations = (unsigned int)atoi(val);
			o->iterations_set = true;
		} else {
			return usage_error("unknown option '%s'", a);
		}
	}
	return WC_EXIT_OK;
}

int main(int argc, char **argv)
{
	static struct wc_config def; /* static: mgmt_socket outlives this frame's uses */
	struct opts o = { 0 };
	bool done;
	int rc;

	o.pos = calloc((size_t)argc + 1, sizeof(*o.pos));
	if (o.pos == NULL)
		return WC_EXIT_FAILED;
	rc = parse_args(argc, argv, &o, &done);
	if (rc != WC_EXIT_OK || done)
		goto out;
	/* --socket, else $WIRECACHE_SOCKET, else the options table's default. */
	if (o.socket == NULL) {
		o.socket = getenv("WIRECACHE_SOCKET");
		if (o.socket == NULL || o.socket[0] == '\0') {
			wc_config_defaults(&def);
			o.socket = def.mgmt_socket;
		}
	}
	if (o.npos == 0) {
		rc = usage_error("%s", "no command given");
		goto out;
	}
	if (strcmp(o.pos[0], "help") == 0) {
		usage(stdout);
		rc = WC_EXIT_OK;
		goto out;
	}
	rc = run(&o);
out:
	free(o.pos);
	return rc;
}
