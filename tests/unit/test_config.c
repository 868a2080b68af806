/* SPDX-License-Identifier: BSD-3-Clause */
/* The options table: defaults, every type's parsing and errors, file + CLI. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_byteorder.h>
#include <rte_log.h>

#include "mgmt/config.h"

static void test_defaults(void **state)
{
	struct wc_config c;

	(void)state;
	wc_config_defaults(&c);
	assert_int_equal(c.ip.addr, rte_cpu_to_be_32(0x0ac80001));
	assert_int_equal(c.ip.mask, rte_cpu_to_be_32(0xffffff00));
	assert_int_equal(c.udp_port, 11211);
	assert_int_equal(c.memory_limit, 64 * WC_MIB);
	assert_int_equal(c.max_item_size, WC_MIB);
	assert_true(c.evict);
	assert_true(c.idle_backoff);
	assert_false(c.udp_open);
	assert_int_equal(c.n_udp_allow, 0);
	assert_int_equal(c.lifetime, 0);
	assert_int_equal(c.log_level, RTE_LOG_NOTICE);
}

static void test_types(void **state)
{
	struct wc_config c;
	char err[256];

	(void)state;
	wc_config_defaults(&c);
	assert_int_equal(wc_config_set(&c, "memory-limit", "2g", err, sizeof(err)), 0);
	assert_int_equal(c.memory_limit, 2 * WC_GIB);
	assert_int_equal(wc_config_set(&c, "memory-limit", "5000k", err, sizeof(err)), 0);
	assert_int_equal(c.memory_limit, 5000 * WC_KIB);
	assert_int_equal(wc_config_set(&c, "idle-backoff", "off", err, sizeof(err)), 0);
	assert_false(c.idle_backoff);
	assert_int_equal(wc_config_set(&c, "idle-backoff", "Yes", err, sizeof(err)), 0);
	assert_true(c.idle_backoff);
	assert_int_equal(
		wc_config_set(&c, "udp-allow", "10.200.5.0/24, 10.200.9.9", err, sizeof(err)), 0);
	assert_int_equal(c.n_udp_allow, 2);
	assert_int_equal(c.udp_allow[1].mask, 0xffffffff);
	assert_int_equal(wc_config_set(&c, "udp-allow", "", err, sizeof(err)), 0);
	assert_int_equal(c.n_udp_allow, 0);
	assert_int_equal(wc_config_set(&c, "log-level", "debug", err, sizeof(err)), 0);
	assert_int_equal(c.log_level, RTE_LOG_DEBUG);
}

static void test_errors_name_the_option(void **state)
{
	struct wc_config c, before;
	char err[256];

	(void)state;
	wc_config_defaults(&c);
	before = c;
	assert_int_equal(wc_config_set(&c, "memory-limit", "12q", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "memory-limit"));
	assert_int_equal(wc_config_set(&c, "memory-limit", "1k", err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(wc_config_set(&c, "udp-port", "65536", err, sizeof(err)), -ERANGE);
	assert_int_equal(wc_config_set(&c, "udp-port", "-1", err, sizeof(err)), -EINVAL);
	assert_int_equal(wc_config_set(&c, "udp-port", "99999999999999999999999", err, sizeof(err)),
			 -ERANGE);
	assert_int_equal(wc_config_set(&c, "ip", "10.200.0.300/24", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ip"));
	assert_int_equal(wc_config_set(&c, "ip", "10.200.0.1/33", err, sizeof(err)), -EINVAL);
	assert_int_equal(wc_config_set(&c, "udp-allow", "10.200.0.0/24,junk", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "junk"));
	assert_int_equal(wc_config_set(&c, "evict", "maybe", err, sizeof(err)), -EINVAL);
	assert_int_equal(wc_config_set(&c, "log-level", "loud", err, sizeof(err)), -EINVAL);
	assert_int_equal(wc_config_set(&c, "no-such", "1", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no-such"));
	/* A refused value changes nothing. */
	assert_memory_equal(&c, &before, sizeof(c));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_file_and_cli(void **state)
{
	char path[] = "/tmp/wc_test_config_XXXXXX";
	int fd = mkstemp(path);
	struct wc_config c;
	char err[256];

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "# comment\n[wirecached]\nudp-port = 11311\nmemory-limit = 128m\n"
			 "idle-backoff = off\n[other]\nudp-port = 1\n");
	char *argv1[] = { "wirecached", "--udp-port", "11411", "--config", path, NULL };
	wc_config_defaults(&c);
	assert_int_equal(wc_config_parse_args(&c, 5, argv1, "wirecached", WC_OPT_DP, NULL, 0, err,
					      sizeof(err)),
			 0);
	/* The command line wins over the file, whatever the order. */
	assert_int_equal(c.udp_port, 11411);
	assert_int_equal(c.memory_limit, 128 * WC_MIB);
	assert_false(c.idle_backoff);

	char *argv2[] = { "wirecached", "--evict=off", "--lifetime", "30", NULL };
	wc_config_defaults(&c);
	assert_int_equal(wc_config_parse_args(&c, 4, argv2, "wirecached", WC_OPT_DP, NULL, 0, err,
					      sizeof(err)),
			 0);
	assert_false(c.evict);
	assert_int_equal(c.lifetime, 30);

	char *argv3[] = { "wirecached", "--lifetime", NULL };
	assert_int_equal(wc_config_parse_args(&c, 2, argv3, "wirecached", WC_OPT_DP, NULL, 0, err,
					      sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "needs a value"));

	char *argv4[] = { "wirecached", "stray", NULL };
	assert_int_equal(wc_config_parse_args(&c, 2, argv4, "wirecached", WC_OPT_DP, NULL, 0, err,
					      sizeof(err)),
			 -EINVAL);

	write_file(path, "udp-port = 0\n");
	char *argv5[] = { "wirecached", "--config", path, NULL };
	assert_int_equal(wc_config_parse_args(&c, 3, argv5, "wirecached", WC_OPT_DP, NULL, 0, err,
					      sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, ":1:"));

	write_file(path, "this is not ini\n");
	assert_int_equal(wc_config_parse_args(&c, 3, argv5, "wirecached", WC_OPT_DP, NULL, 0, err,
					      sizeof(err)),
			 -EINVAL);
	unlink(path);

	char *argv6[] = { "wirecached", "--config", "/nonexistent/wc.conf", NULL };
	assert_int_equal(wc_config_parse_args(&c, 3, argv6, "wirecached", WC_OPT_DP, NULL, 0, err,
					      sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "/nonexistent/wc.conf"));
}

static void test_usage_lists_every_option(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	wc_config_usage(f, "wirecached", WC_OPT_DP | WC_OPT_MGMT);
	fclose(f);
#define WC_CHECK_USAGE(field, name, type, def, min, max, flags, desc) \
	assert_non_null(strstr(buf, "--" name " "));                  \
	assert_non_null(strstr(buf, desc));
	WC_OPTIONS(WC_CHECK_USAGE)
#undef WC_CHECK_USAGE
	free(buf);
}

/* Every option's canonical text reads back to the same value. */
static void test_get_round_trips(void **state)
{
	struct wc_config c, d;
	char err[256], v[1024], w[1024];

	(void)state;
	wc_config_defaults(&c);
	assert_int_equal(wc_config_set(&c, "memory-limit", "5120k", err, sizeof(err)), 0);
	assert_int_equal(
		wc_config_set(&c, "udp-allow", "10.200.64.0/18, 10.200.1.7", err, sizeof(err)), 0);
	assert_int_equal(wc_config_set(&c, "log-level", "debug", err, sizeof(err)), 0);
	assert_int_equal(wc_config_set(&c, "log-file", "/tmp/x y.log", err, sizeof(err)), 0);
	assert_int_equal(wc_config_get(&c, "memory-limit", v, sizeof(v)), 0);
	assert_string_equal(v, "5m");
	assert_int_equal(wc_config_get(&c, "udp-allow", v, sizeof(v)), 0);
	assert_string_equal(v, "10.200.64.0/18,10.200.1.7/32");
	assert_int_equal(wc_config_get(&c, "evict", v, sizeof(v)), 0);
	assert_string_equal(v, "on");
	assert_int_equal(wc_config_get(&c, "nope", v, sizeof(v)), -ENOENT);
	wc_config_defaults(&d);
	for (size_t i = 0; i < wc_config_count(); i++) {
		const struct wc_opt_info *o = wc_config_info(i);

		assert_non_null(o);
		assert_ptr_equal(wc_config_find(o->name), o);
		assert_int_equal(wc_config_get(&c, o->name, v, sizeof(v)), 0);
		assert_int_equal(wc_config_set(&d, o->name, v, err, sizeof(err)), 0);
		assert_int_equal(wc_config_get(&d, o->name, w, sizeof(w)), 0);
		assert_string_equal(v, w);
	}
	assert_null(wc_config_info(wc_config_count()));
	/* Only dataplane options change at runtime, and memory-limit is one. */
	assert_true(wc_config_find("memory-limit")->flags & WC_OPT_RUNTIME);
	assert_false(wc_config_find("udp-port")->flags & WC_OPT_RUNTIME);
	/* A too-long string is refused and the old value kept. */
	memset(v, 'a', 200);
	v[200] = '\0';
	assert_int_equal(wc_config_set(&c, "file-prefix", v, err, sizeof(err)), -ERANGE);
	assert_string_equal(c.file_prefix, "wirecache");
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* config rewrite keeps comments and unchanged lines, replaces and appends. */
static void test_rewrite(void **state)
{
	char path[] = "/tmp/wc-rewrite-XXXXXX";
	struct wc_config c, back;
	char err[256];
	const char *text;
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# wirecache test config\n"
	      "[wirecached]\n"
	      "memory-limit = 64M   ; the size\n"
	      "udp-port = 11311\n"
	      "\n"
	      "[other]\n"
	      "memory-limit = 1g\n"
	      "[mgmt]\n"
	      "log-level = info\n",
	      f);
	fclose(f);
	wc_config_defaults(&c);
	assert_int_equal(wc_config_load_file(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.udp_port, 11311);
	assert_int_equal(c.memory_limit, 64 * WC_MIB);
	assert_int_equal(wc_config_set(&c, "log-level", "debug", err, sizeof(err)), 0);
	assert_int_equal(wc_config_set(&c, "udp-allow", "10.200.9.0/24", err, sizeof(err)), 0);
	assert_int_equal(wc_config_rewrite(path, &c, err, sizeof(err)), 0);
	text = slurp(path);
	/* Unchanged lines and comments, and the other section, stay as they were. */
	assert_non_null(strstr(text, "# wirecache test config\n[wirecached]\n"
				     "memory-limit = 64M   ; the size\nudp-port = 11311\n"));
	assert_non_null(strstr(text, "[other]\nmemory-limit = 1g\n"));
	assert_non_null(strstr(text, "[mgmt]\nlog-level = debug\n"));
	assert_non_null(strstr(text, "udp-allow = 10.200.9.0/24\n"));
	assert_null(strstr(text, "log-level = info"));
	wc_config_defaults(&back);
	assert_int_equal(wc_config_load_file(&back, path, err, sizeof(err)), 0);
	assert_int_equal(back.log_level, c.log_level);
	assert_int_equal(back.n_udp_allow, 1);
	assert_int_equal(back.memory_limit, 64 * WC_MIB);
	/* Rewriting again changes nothing. */
	char before[8192];

	snprintf(before, sizeof(before), "%s", text);
	assert_int_equal(wc_config_rewrite(path, &c, err, sizeof(err)), 0);
	assert_string_equal(slurp(path), before);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_errors_name_the_option),
		cmocka_unit_test(test_file_and_cli),
		cmocka_unit_test(test_usage_lists_every_option),
		cmocka_unit_test(test_get_round_trips),
		cmocka_unit_test(test_rewrite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
