/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Prometheus exposition and the /metrics endpoint: rendered from a
 * stats/status document pair as wirecache-mgmt builds them, parsed back
 * line by line, checked value by value, by `promtool check metrics`, against
 * docs/metrics.md, and fetched over HTTP with a plain socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "mgmt/contract.h"
#include "mgmt/metrics/metrics.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const lcore_keys[] = {
#define KEY(name, desc) #name,
	WC_LCORE_STATS(KEY)
#undef KEY
};

static const char *const part_keys[] = {
#define KEY(name, desc) #name,
	WC_PART_STATS(KEY)
#undef KEY
};

/* ---- the documents -------------------------------------------------------- */

/* Counter k of lcore i: distinct, and the two of mc_get_hits chosen. */
static json_int_t lcore_value(size_t k, unsigned int i)
{
	if (strcmp(lcore_keys[k], "mc_get_hits") == 0)
		return i == 0 ? 1234 : 4321;
	return (json_int_t)((k + 1) * 1000 + i * 17 + 3);
}

static json_int_t part_value(size_t k, unsigned int i)
{
	if (strcmp(part_keys[k], "mem_limit") == 0)
		return 33554432; /* 64m over two partitions */
	if (strcmp(part_keys[k], "mem_used") == 0)
		return i == 0 ? 1048576 : 2097152;
	return (json_int_t)((k + 1) * 10 + i);
}

/* A stats document of a two-lcore dataplane serving one ice port. */
static json_t *make_stats(void)
{
	json_t *lcores = json_array(), *parts = json_array(), *totals = json_object();

	for (size_t k = 0; k < NELEM(lcore_keys); k++)
		json_object_set_new(totals, lcore_keys[k],
				    json_integer(lcore_value(k, 0) + lcore_value(k, 1)));
	for (size_t k = 0; k < NELEM(part_keys); k++)
		json_object_set_new(totals, part_keys[k],
				    json_integer(part_value(k, 0) + part_value(k, 1)));
	for (unsigned int i = 0; i < 2; i++) {
		json_t *c = json_object();
		json_t *p =
			json_pack("{s:I,s:I}", "index", (json_int_t)i, "numa_node", (json_int_t)0);

		for (size_t k = 0; k < NELEM(lcore_keys); k++)
			json_object_set_new(c, lcore_keys[k], json_integer(lcore_value(k, i)));
		json_array_append_new(
			lcores, json_pack("{s:I,s:I,s:I,s:s,s:I,s:o}", "index", (json_int_t)i,
					  "lcore_id", (json_int_t)(i + 2), "socket_id",
					  (json_int_t)0, "state", "running", "heartbeat_age_ms",
					  (json_int_t)(i == 0 ? 0 : 2300), "counters", c));
		for (size_t k = 0; k < NELEM(part_keys); k++)
			json_object_set_new(p, part_keys[k], json_integer(part_value(k, i)));
		json_array_append_new(parts, p);
	}

	json_t *port =
		json_pack("{s:i,s:s,s:s,s:s,"
			  " s:{s:b,s:i,s:b,s:b},"
			  " s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I},"
			  " s:{s:I,s:I,s:I}}",
			  "port_id", 0, "name", "0000:3b:00.0", "driver", "net_ice", "mac",
			  "b4:96:91:a0:11:22", "link", "up", 1, "speed_mbps", 25000, "full_duplex",
			  1, "autoneg", 1, "stats", "ipackets", (json_int_t)5000000, "opackets",
			  (json_int_t)4900000, "ibytes", (json_int_t)420000000, "obytes",
			  (json_int_t)610000000, "imissed", (json_int_t)12, "ierrors",
			  (json_int_t)0, "oerrors", (json_int_t)0, "rx_nombuf", (json_int_t)3,
			  "xstats", "rx_good_packets", (json_int_t)5000000, "rx_q0_packets",
			  (json_int_t)2600000, "rx_q1_packets", (json_int_t)2400000);
	assert_non_null(port);

	json_t *stats = json_pack("{s:{s:s,s:i,s:I,s:I,s:i,s:I,s:I},s:o,s:o,s:o,s:[o],s:{s:I,s:I}}",
				  "dataplane", "instance", "3f2a9c0d11e4b5a7", "pid", 4242,
				  "start_time", (json_int_t)1795600000, "uptime_seconds",
				  (json_int_t)3600, "workers", 2, "config_generation",
				  (json_int_t)3, "tsc_hz", (json_int_t)2100000000, "totals", totals,
				  "lcores", lcores, "partitions", parts, "ports", port, "control",
				  "ctl_requests", (json_int_t)7, "events_dropped", (json_int_t)0);
	assert_non_null(stats);
	return stats;
}

static json_t *make_status(bool up)
{
	json_t *st =
		json_pack("{s:s,s:[],s:s,s:i,s:{s:i,s:I,s:s,s:s,s:s},"
			  " s:{s:b,s:i,s:s,s:I,s:I,s:n,s:I,s:f,s:I,s:s}}",
			  "health", "ok", "reasons", "version", "0.1.0", "contract_version", 4,
			  "mgmt", "pid", 4300, "uptime_seconds", (json_int_t)7200, "config_file",
			  "/etc/wirecache/wirecache.conf", "socket", "/run/wirecache/mgmt.sock",
			  "metrics_listen", "127.0.0.1:9712", "dataplane", "attached", 1, "pid",
			  4242, "instance", "3f2a9c0d11e4b5a7", "uptime_seconds", (json_int_t)3600,
			  "start_time", (json_int_t)1795600000, "down_since", "restarts_seen",
			  (json_int_t)2, "last_gap_seconds", 1.5, "config_generation",
			  (json_int_t)3, "file_prefix", "wirecache");

	assert_non_null(st);
	if (!up) {
		json_t *dp = json_object_get(st, "dataplane");

		json_object_set_new(st, "health", json_string("down"));
		json_object_set_new(st, "reasons",
				    json_pack("[s]", "dataplane down since 2026-11-26T09:30:00Z"));
		json_object_set_new(dp, "attached", json_false());
		json_object_set_new(dp, "pid", json_null());
		json_object_set_new(dp, "instance", json_null());
		json_object_set_new(dp, "uptime_seconds", json_null());
		json_object_set_new(dp, "start_time", json_null());
		json_object_set_new(dp, "config_generation", json_null());
		json_object_set_new(dp, "down_since", json_integer(1795603600));
	}
	return st;
}

/* ---- a strict reader of the exposition ------------------------------------ */

struct sample {
	char name[128];
	char labels[512]; /* between the braces, as written */
	char value[64];
};

struct expo {
	struct sample s[1024];
	size_t n;
	char fams[256][128];
	char types[256][16];
	size_t n_fams;
};

/*
 * Parse @p text, failing the test on anything the format does not allow:
 * a sample before its family's HELP and TYPE, a family split in two, a
 * malformed label set, a line without a newline.
 */
static void parse_expo(const char *text, struct expo *e)
{
	const char *line = text;
	char cur[128] = "";

	memset(e, 0, sizeof(*e));
	while (*line != '\0') {
		const char *nl = strchr(line, '\n');
		char buf[1024], name[128], rest[1024];

		assert_non_null(nl);
		assert_true((size_t)(nl - line) < sizeof(buf));
		memcpy(buf, line, (size_t)(nl - line));
		buf[nl - line] = '\0';
		line = nl + 1;
		assert_true(buf[0] != '\0');

		if (sscanf(buf, "# HELP %127s %1023[^\n]", name, rest) == 2) {
			for (size_t i = 0; i < e->n_fams; i++)
				assert_string_not_equal(e->fams[i], name);
			assert_true(e->n_fams < NELEM(e->fams));
			strcpy(e->fams[e->n_fams], name);
			cur[0] = '\0'; /* no samples before the TYPE line */
			continue;
		}
		if (sscanf(buf, "# TYPE %127s %1023s", name, rest) == 2) {
			/* Right after the family's HELP. */
			assert_string_equal(e->fams[e->n_fams], name);
			assert_true(strcmp(rest, "counter") == 0 || strcmp(rest, "gauge") == 0);
			strcpy(e->types[e->n_fams], rest[0] == 'c' ? "counter" : "gauge");
			snprintf(cur, sizeof(cur), "%s", name);
			e->n_fams++;
			continue;
		}
		assert_true(buf[0] != '#');

		struct sample *s = &e->s[e->n];
		size_t nlen = strcspn(buf, "{ ");
		const char *p = buf + nlen;

		assert_true(e->n < NELEM(e->s));
		assert_true(nlen > 0 && nlen < sizeof(s->name));
		memcpy(s->name, buf, nlen);
		s->name[nlen] = '\0';
		assert_string_equal(s->name, cur); /* samples follow their own header */
		if (*p == '{') {
			const char *start = ++p;

			/* name="value" pairs; inside a value only \\ \" \n escapes. */
			for (;;) {
				while ((*p >= 'a' && *p <= 'z') || *p == '_')
					p++;
				assert_int_equal(*p++, '=');
				assert_int_equal(*p++, '"');
				while (*p != '"') {
					assert_true(*p != '\0' && *p != '\n');
					if (*p == '\\') {
						p++;
						assert_true(*p == '\\' || *p == '"' || *p == 'n');
					}
					p++;
				}
				p++;
				if (*p == '}')
					break;
				assert_int_equal(*p++, ',');
			}
			assert_true((size_t)(p - start) < sizeof(s->labels));
			memcpy(s->labels, start, (size_t)(p - start));
			s->labels[p - start] = '\0';
			p++;
		}
		assert_int_equal(*p++, ' ');
		assert_true(strlen(p) > 0 && strlen(p) < sizeof(s->value));
		assert_null(strchr(p, ' '));
		strcpy(s->value, p);
		e->n++;
	}
}

/* The value of one sample, or NULL when there is none. */
static const char *value_of(const struct expo *e, const char *name, const char *labels)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->s[i].name, name) == 0 && strcmp(e->s[i].labels, labels) == 0)
			return e->s[i].value;
	return NULL;
}

static void assert_sample(const struct expo *e, const char *name, const char *labels,
			  const char *want)
{
	const char *v = value_of(e, name, labels);

	if (v == NULL)
		fail_msg("no sample %s{%s}", name, labels);
	if (strcmp(v, want) != 0)
		fail_msg("%s{%s} = %s, want %s", name, labels, v, want);
}

static const char *type_of(const struct expo *e, const char *name)
{
	for (size_t i = 0; i < e->n_fams; i++)
		if (strcmp(e->fams[i], name) == 0)
			return e->types[i];
	return NULL;
}

static size_t count_samples(const struct expo *e, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++)
		n += strcmp(e->s[i].name, name) == 0;
	return n;
}

/* ---- promtool ------------------------------------------------------------- */

/*
 * `promtool check metrics` on @p text: its exit status, and what it said
 * in @p said. -1 when promtool is not installed.
 */
static int promtool_check(const char *text, char *said, size_t saidlen)
{
	char in[] = "/tmp/wc_test_metrics_XXXXXX";
	char out[] = "/tmp/wc_test_promtool_XXXXXX";
	char cmd[256];
	int fd, ofd, st;
	ssize_t n;

	if (system("command -v promtool >/dev/null 2>&1") != 0)
		return -1;
	fd = mkstemp(in);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ofd = mkstemp(out);
	assert_true(ofd >= 0);
	snprintf(cmd, sizeof(cmd), "promtool check metrics <%s >%s 2>&1", in, out);
	st = system(cmd);
	n = read(ofd, said, saidlen - 1);
	said[n > 0 ? n : 0] = '\0';
	close(ofd);
	unlink(in);
	unlink(out);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void assert_promtool_clean(const char *text)
{
	char said[4096];
	int rc = promtool_check(text, said, sizeof(said));

	if (rc == -1) {
		printf("# promtool not installed: `promtool check metrics` not run\n");
		return;
	}
	if (rc != 0 || said[0] != '\0')
		fail_msg("promtool check metrics: exit %d: %s", rc, said);
}

/* ---- docs/metrics.md ------------------------------------------------------ */

/*
 * docs/metrics.md next to this source: __FILE__ is relative to the build
 * directory (two levels above the test binary) unless it is absolute.
 */
static char *read_doc(void)
{
	char exe[PATH_MAX], path[2 * PATH_MAX + 64];
	const char *suffix = "tests/unit/test_metrics.c";
	ssize_t n;
	char *at, *doc;
	FILE *f;
	long len;

	if (__FILE__[0] == '/') {
		snprintf(path, sizeof(path), "%s", __FILE__);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		assert_true(n > 0);
		exe[n] = '\0';
		snprintf(path, sizeof(path), "%s/../../%s", dirname(exe), __FILE__);
	}
	at = strstr(path, suffix);
	assert_non_null(at);
	strcpy(at, "docs/metrics.md");
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	doc = calloc(1, (size_t)len + 1);
	assert_non_null(doc);
	assert_int_equal(fread(doc, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return doc;
}

/* ---- rendering ------------------------------------------------------------ */

static void test_render_up(void **state)
{
	json_t *stats = make_stats(), *status = make_status(true);
	char *text = wc_metrics_render(stats, status);
	static struct expo e;
	char name[160];

	(void)state;
	assert_non_null(text);
	parse_expo(text, &e);

	assert_sample(&e, "wirecache_build_info", "version=\"0.1.0\"", "1");
	assert_sample(&e, "wirecache_up", "", "1");
	assert_sample(&e, "wirecache_health_ok", "", "1");
	assert_sample(&e, "wirecache_health_reasons", "", "0");
	assert_sample(&e, "wirecache_mgmt_uptime_seconds", "", "7200");
	assert_sample(&e, "wirecache_dataplane_restarts_total", "", "2");
	assert_string_equal(type_of(&e, "wirecache_dataplane_restarts_total"), "counter");
	assert_sample(&e, "wirecache_dataplane_last_gap_seconds", "", "1.5");
	assert_null(value_of(&e, "wirecache_dataplane_down_since_seconds", ""));
	assert_sample(&e, "wirecache_dataplane_start_time_seconds", "", "1795600000");
	assert_sample(&e, "wirecache_dataplane_workers", "", "2");
	assert_sample(&e, "wirecache_config_generation", "", "3");
	assert_sample(&e, "wirecache_dataplane_tsc_hertz", "", "2100000000");
	assert_sample(&e, "wirecache_control_requests_total", "", "7");
	assert_sample(&e, "wirecache_control_events_dropped_total", "", "0");

	/* lcores */
	assert_sample(&e, "wirecache_lcore_info", "lcore=\"1\",lcore_id=\"3\",socket=\"0\"", "1");
	assert_sample(&e, "wirecache_lcore_state", "lcore=\"1\",state=\"running\"", "1");
	assert_sample(&e, "wirecache_lcore_state", "lcore=\"1\",state=\"stopped\"", "0");
	assert_sample(&e, "wirecache_lcore_heartbeat_age_seconds", "lcore=\"0\"", "0.000");
	assert_sample(&e, "wirecache_lcore_heartbeat_age_seconds", "lcore=\"1\"", "2.300");
	assert_sample(&e, "wirecache_mc_get_hits_total", "lcore=\"0\"", "1234");
	assert_sample(&e, "wirecache_mc_get_hits_total", "lcore=\"1\"", "4321");
	assert_string_equal(type_of(&e, "wirecache_mc_get_hits_total"), "counter");

	/* Every per-lcore counter: one sample per lcore, summing to the totals. */
	const json_t *totals = json_object_get(stats, "totals");
	for (size_t k = 0; k < NELEM(lcore_keys); k++) {
		unsigned long long sum = 0;

		/* Named after the counter; "_us" reads as microseconds to promtool. */
		if (strcmp(lcore_keys[k], "drop_not_for_us") == 0)
			snprintf(name, sizeof(name), "wirecache_drop_not_ours_total");
		else
			snprintf(name, sizeof(name), "wirecache_%s_total", lcore_keys[k]);
		assert_int_equal(count_samples(&e, name), 2);
		for (size_t i = 0; i < e.n; i++)
			if (strcmp(e.s[i].name, name) == 0)
				sum += strtoull(e.s[i].value, NULL, 10);
		if (sum !=
		    (unsigned long long)json_integer_value(json_object_get(totals, lcore_keys[k])))
			fail_msg("%s sums to %llu over lcores, totals say %lld", name, sum,
				 (long long)json_integer_value(
					 json_object_get(totals, lcore_keys[k])));
	}

	/* partitions */
	assert_sample(&e, "wirecache_partition_numa_node", "partition=\"1\"", "0");
	assert_sample(&e, "wirecache_partition_memory_used_bytes", "partition=\"0\"", "1048576");
	assert_sample(&e, "wirecache_partition_memory_used_bytes", "partition=\"1\"", "2097152");
	assert_sample(&e, "wirecache_partition_memory_limit_bytes", "partition=\"1\"", "33554432");
	assert_string_equal(type_of(&e, "wirecache_partition_memory_used_bytes"), "gauge");
	assert_string_equal(type_of(&e, "wirecache_partition_items"), "gauge");
	assert_string_equal(type_of(&e, "wirecache_partition_evictions_total"), "counter");
	/* Each partition figure is one family with a sample per partition. */
	size_t part_fams = 0;
	for (size_t f = 0; f < e.n_fams; f++)
		if (strncmp(e.fams[f], "wirecache_partition_", 20) == 0 &&
		    strcmp(e.fams[f], "wirecache_partition_numa_node") != 0) {
			part_fams++;
			assert_int_equal(count_samples(&e, e.fams[f]), 2);
		}
	assert_int_equal(part_fams, NELEM(part_keys));

	/* port */
	assert_sample(
		&e, "wirecache_port_info",
		"port=\"0\",name=\"0000:3b:00.0\",driver=\"net_ice\",mac=\"b4:96:91:a0:11:22\"",
		"1");
	assert_sample(&e, "wirecache_port_link_up", "port=\"0\"", "1");
	assert_sample(&e, "wirecache_port_link_speed_bytes", "port=\"0\"", "3125000000");
	assert_sample(&e, "wirecache_port_receive_packets_total", "port=\"0\"", "5000000");
	assert_sample(&e, "wirecache_port_transmit_bytes_total", "port=\"0\"", "610000000");
	assert_sample(&e, "wirecache_port_receive_missed_total", "port=\"0\"", "12");
	assert_sample(&e, "wirecache_port_receive_nombuf_total", "port=\"0\"", "3");
	assert_sample(&e, "wirecache_port_xstats_total", "port=\"0\",name=\"rx_q1_packets\"",
		      "2400000");
	assert_int_equal(count_samples(&e, "wirecache_port_xstats_total"), 3);

	/* Help texts come from the contract's tables. */
	assert_non_null(strstr(text, "# HELP wirecache_mc_get_hits_total keys found by get-like "
				     "commands\n"));
	assert_non_null(strstr(text, "# HELP wirecache_partition_memory_used_bytes bytes of item "
				     "memory in use (live and dead items)\n"));

	assert_promtool_clean(text);
	free(text);
	json_decref(stats);
	json_decref(status);
}

static void test_render_down(void **state)
{
	json_t *status = make_status(false);
	char *text = wc_metrics_render(NULL, status);
	static struct expo e;

	(void)state;
	assert_non_null(text);
	parse_expo(text, &e);
	assert_sample(&e, "wirecache_up", "", "0");
	assert_sample(&e, "wirecache_health_ok", "", "0");
	assert_sample(&e, "wirecache_health_reasons", "", "1");
	assert_sample(&e, "wirecache_dataplane_restarts_total", "", "2");
	assert_sample(&e, "wirecache_dataplane_down_since_seconds", "", "1795603600");
	assert_sample(&e, "wirecache_build_info", "version=\"0.1.0\"", "1");
	/* Nothing of the dataplane. */
	assert_null(strstr(text, "lcore"));
	assert_null(strstr(text, "partition"));
	assert_null(strstr(text, "port"));
	assert_null(strstr(text, "wirecache_dataplane_start_time_seconds"));
	assert_promtool_clean(text);
	free(text);
	json_decref(status);

	/* Without even a status document: still a valid page. */
	text = wc_metrics_render(NULL, NULL);
	assert_non_null(text);
	parse_expo(text, &e);
	assert_sample(&e, "wirecache_up", "", "0");
	assert_promtool_clean(text);
	free(text);
}

static void test_render_escapes_labels(void **state)
{
	json_t *stats = make_stats();
	json_t *port = json_array_get(json_object_get(stats, "ports"), 0);
	char *text;
	static struct expo e;

	(void)state;
	json_object_set_new(port, "name", json_string("eth \"a\"\\b"));
	json_object_set_new(json_object_get(port, "xstats"), "odd\nname\\\"x\"", json_integer(9));
	/* A null counter is left out, not reported as 0. */
	json_object_set_new(
		json_object_get(json_array_get(json_object_get(stats, "lcores"), 1), "counters"),
		"rx_packets", json_null());
	text = wc_metrics_render(stats, NULL);
	assert_non_null(text);
	parse_expo(text, &e);
	assert_non_null(strstr(text, "name=\"eth \\\"a\\\"\\\\b\""));
	assert_sample(&e, "wirecache_port_xstats_total",
		      "port=\"0\",name=\"odd\\nname\\\\\\\"x\\\"\"", "9");
	assert_int_equal(count_samples(&e, "wirecache_rx_packets_total"), 1);
	assert_null(value_of(&e, "wirecache_rx_packets_total", "lcore=\"1\""));
	assert_promtool_clean(text);
	free(text);
	json_decref(stats);
}

/* Every family the renderer writes has its row in docs/metrics.md. */
static void test_docs_list_every_metric(void **state)
{
	json_t *stats = make_stats(), *status = make_status(true), *down = make_status(false);
	char *text = wc_metrics_render(stats, status);
	char *text_down = wc_metrics_render(NULL, down);
	char *doc = read_doc();
	static struct expo e;
	char want[160];

	(void)state;
	parse_expo(text, &e);
	assert_true(e.n_fams > 80);
	for (size_t f = 0; f < e.n_fams; f++) {
		snprintf(want, sizeof(want), "`%s`", e.fams[f]);
		if (strstr(doc, want) == NULL)
			fail_msg("docs/metrics.md does not list %s", e.fams[f]);
	}
	parse_expo(text_down, &e);
	for (size_t f = 0; f < e.n_fams; f++) {
		snprintf(want, sizeof(want), "`%s`", e.fams[f]);
		if (strstr(doc, want) == NULL)
			fail_msg("docs/metrics.md does not list %s", e.fams[f]);
	}
	free(doc);
	free(text);
	free(text_down);
	json_decref(stats);
	json_decref(status);
	json_decref(down);
}

/* ---- HTTP ----------------------------------------------------------------- */

struct page {
	const char *body; /* NULL: the callback fails */
	int calls;
};

static char *render_page(void *arg)
{
	struct page *p = arg;

	p->calls++;
	return p->body != NULL ? strdup(p->body) : NULL;
}

/* One request over a fresh connection; the whole reply (until close) in @p out. */
static void http(int port, const char *request, char *out, size_t outlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 10 };
	size_t len = 0;
	ssize_t n;
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* no hang if it never answers */
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while ((n = read(fd, out + len, outlen - 1 - len)) > 0)
		len += (size_t)n;
	assert_int_equal(n, 0); /* closed by the server, not timed out */
	out[len] = '\0';
	close(fd);
}

static const char *body_of(const char *reply)
{
	const char *b = strstr(reply, "\r\n\r\n");

	assert_non_null(b);
	return b + 4;
}

static void test_httpd(void **state)
{
	static char reply[65536];
	struct page page = { .body = "# HELP wirecache_up up\n# TYPE wirecache_up gauge\n"
				     "wirecache_up 1\n" };
	char err[256];
	int port;

	(void)state;
	assert_int_equal(wc_httpd_port(), 0);
	assert_int_equal(wc_httpd_start("127.0.0.1:0", render_page, &page, err, sizeof(err)), 0);
	port = wc_httpd_port();
	assert_true(port > 0 && port < 65536);
	assert_int_equal(wc_httpd_start("127.0.0.1:0", render_page, &page, err, sizeof(err)),
			 -EALREADY);

	http(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", reply,
	     sizeof(reply));
	assert_memory_equal(reply, "HTTP/1.1 200 OK\r\n", 17);
	assert_non_null(
		strstr(reply, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	assert_string_equal(body_of(reply), page.body);
	assert_int_equal(page.calls, 1);

	http(port, "GET / HTTP/1.0\r\n\r\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, " 200 OK\r\n"));
	assert_non_null(strstr(body_of(reply), "<a href=\"/metrics\">"));

	http(port, "GET /metrics/x HTTP/1.0\r\n\r\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, " 404 Not Found\r\n"));

	http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", reply, sizeof(reply));
	assert_non_null(strstr(reply, " 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(reply, "\r\nAllow: GET, HEAD\r\n"));
	assert_int_equal(page.calls, 1);

	page.body = NULL;
	http(port, "GET /metrics HTTP/1.0\r\n\r\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, " 500 Internal Server Error\r\n"));

	wc_httpd_stop();
	assert_int_equal(wc_httpd_port(), 0);
	wc_httpd_stop(); /* twice is fine */

	/* Stopped means the port is closed. */
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(fd);
}

static void test_httpd_start_errors(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	struct page page = { .body = "" };
	char err[256], addr[64];
	int fd;

	(void)state;
	const char *bad[] = { "",
			      "9712",
			      "127.0.0.1",
			      "127.0.0.1:",
			      "localhost:9712",
			      "127.0.0.1:65536",
			      "127.0.0.1:-1",
			      "127.0.0.1:97x",
			      "[::1]:9712",
			      "127.0.0.1:0000012" };
	for (size_t i = 0; i < NELEM(bad); i++) {
		err[0] = '\0';
		assert_int_equal(wc_httpd_start(bad[i], render_page, &page, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "A.B.C.D:PORT"));
	}
	assert_int_equal(wc_httpd_start(NULL, render_page, &page, err, sizeof(err)), -EINVAL);

	/* A port someone else listens on. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	assert_int_equal(wc_httpd_start(addr, render_page, &page, err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, addr));
	assert_non_null(strstr(err, "in use"));
	assert_int_equal(wc_httpd_port(), 0);
	close(fd);

	/* An address not on this host (in the test range, on no interface here). */
	assert_int_equal(wc_httpd_start("10.200.255.7:0", render_page, &page, err, sizeof(err)),
			 -EADDRNOTAVAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_up),
		cmocka_unit_test(test_render_down),
		cmocka_unit_test(test_render_escapes_labels),
		cmocka_unit_test(test_docs_list_every_metric),
		cmocka_unit_test(test_httpd),
		cmocka_unit_test(test_httpd_start_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
