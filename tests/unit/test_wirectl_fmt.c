/* SPDX-License-Identifier: BSD-3-Clause */
/* wirectl's human output: sizes, rates, durations, tables, and --json's raw member. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mgmt/ctl/fmt.h"

static void test_bytes(void **state)
{
	static const struct {
		uint64_t v;
		const char *want;
	} cases[] = {
		{ 0, "0 B" },
		{ 1023, "1023 B" },
		{ 1024, "1.00 KiB" },
		{ 1536, "1.50 KiB" },
		{ 10 * 1024 - 1, "10.0 KiB" }, /* 9.999 must not print as "10.00" */
		{ 100 * 1024, "100 KiB" },
		{ 1023 * 1024, "1023 KiB" },
		{ 1048166, "1.00 MiB" }, /* 1023.6 KiB would round to "1024 KiB" */
		{ 64ULL << 20, "64.0 MiB" },
		{ 512ULL << 20, "512 MiB" },
		{ 3ULL << 30, "3.00 GiB" },
		{ 1ULL << 40, "1.00 TiB" },
		{ UINT64_MAX, "16.0 EiB" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wc_fmt_bytes(buf, sizeof(buf), cases[i].v);
		assert_string_equal(buf, cases[i].want);
	}
	/* A short buffer truncates, never overflows. */
	wc_fmt_bytes(buf, 4, 64ULL << 20);
	assert_string_equal(buf, "64.");
}

static void test_rate(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0, "0/s" },	       { 0.4, "0/s" },	     { 7, "7/s" },
		{ 999.4, "999/s" },    { 999.5, "1.00k/s" }, { 1234, "1.23k/s" },
		{ 12345, "12.3k/s" },  { 123456, "123k/s" }, { 999999, "1.00M/s" },
		{ 4.56e6, "4.56M/s" }, { 1.2e9, "1.20G/s" }, { -1, "-" },
		{ NAN, "-" },	       { INFINITY, "-" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wc_fmt_rate(buf, sizeof(buf), cases[i].v);
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_duration(void **state)
{
	static const struct {
		uint64_t v;
		const char *want;
	} cases[] = {
		{ 0, "0s" },
		{ 45, "45s" },
		{ 60, "1m 0s" },
		{ 192, "3m 12s" },
		{ 3600, "1h 0m 0s" },
		{ 7205, "2h 0m 5s" },
		{ 86399, "23h 59m 59s" },
		{ 86400, "1d 0h 0m" },
		{ 93784, "1d 2h 3m" },
		{ 400 * 86400ULL + 59, "400d 0h 0m" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wc_fmt_duration(buf, sizeof(buf), cases[i].v);
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_percent_time(void **state)
{
	char buf[40];

	(void)state;
	wc_fmt_percent(buf, sizeof(buf), 1, 2);
	assert_string_equal(buf, "50.0%");
	wc_fmt_percent(buf, sizeof(buf), 2, 3);
	assert_string_equal(buf, "66.7%");
	wc_fmt_percent(buf, sizeof(buf), 0, 0);
	assert_string_equal(buf, "-");
	wc_fmt_percent(buf, sizeof(buf), NAN, 5);
	assert_string_equal(buf, "-");
	wc_fmt_time(buf, sizeof(buf), 0);
	assert_string_equal(buf, "1970-01-01 00:00:00 UTC");
	wc_fmt_time(buf, sizeof(buf), 1795685400);
	assert_string_equal(buf, "2026-11-26 09:30:00 UTC");
}

static char *print_table(const struct wc_table *t, const char *indent)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	wc_table_print(t, f, indent);
	fclose(f);
	return text;
}

static void test_table(void **state)
{
	static const char *const h[] = { "NAME", "VALUE", "NOTE" };
	static const enum wc_align al[] = { WC_LEFT, WC_RIGHT, WC_LEFT };
	struct wc_table *t = wc_table_new(3, h, al);
	char line[64], *text;

	(void)state;
	assert_non_null(t);
	assert_int_equal(wc_table_rows(t), 0);
	assert_int_equal(wc_table_cell(t, "%s", "memory-limit"), 0);
	assert_int_equal(wc_table_cell(t, "%d", 64), 0);
	assert_int_equal(wc_table_cell(t, "%s", "runtime"), 0);
	wc_table_cell(t, "evict");
	wc_table_cell(t, "%u", 123456u);
	wc_table_cell(t, "%s", "");
	assert_int_equal(wc_table_rows(t), 2);

	/* Left columns padded after, right ones before; two spaces between; no trailing blanks. */
	text = print_table(t, "  ");
	assert_string_equal(text, "  NAME           VALUE  NOTE\n"
				  "  memory-limit      64  runtime\n"
				  "  evict         123456\n");
	free(text);

	assert_int_equal(wc_table_line(t, 1, line, sizeof(line)), 29);
	assert_string_equal(line, "memory-limit      64  runtime");
	/* Truncated to the buffer. */
	assert_int_equal(wc_table_line(t, 1, line, 9), 8);
	assert_string_equal(line, "memory-l");

	/* A row left short: its missing cells are blank. */
	wc_table_cell(t, "%s", "x");
	assert_int_equal(wc_table_rows(t), 3);
	wc_table_line(t, 3, line, sizeof(line));
	assert_string_equal(line, "x");
	wc_table_free(t);
	wc_table_free(NULL);
}

static void raw_is(const char *text, const char *key, const char *want)
{
	const char *start = NULL;
	size_t len = 0;

	assert_int_equal(wc_json_member_raw(text, key, &start, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(start, want, len);
}

static void test_json_raw(void **state)
{
	const char *start;
	size_t len;

	(void)state;
	raw_is("{\"ok\":true,\"data\":{\"a\":1}}", "data", "{\"a\":1}");
	raw_is("{\"ok\":true,\"data\":{\"a\":1}}", "ok", "true");
	/* Brackets and quotes inside strings, nesting, whitespace, a key that is a prefix. */
	raw_is("{\"dat\":[1,\"}\"], \"data\" : {\"s\":\"a\\\"}]{\",\"l\":[[],{}]} , \"z\":null}",
	       "data", "{\"s\":\"a\\\"}]{\",\"l\":[[],{}]}");
	raw_is(" {\n\"n\": -1.5e3 ,\"data\":\"x\"}\n", "n", "-1.5e3");
	raw_is("{\"a\":{\"data\":1},\"data\":[]}", "data", "[]");
	/* Nested members are not the object's own. */
	assert_int_equal(wc_json_member_raw("{\"a\":{\"data\":1}}", "data", &start, &len), -ENOENT);
	assert_int_equal(wc_json_member_raw("{}", "data", &start, &len), -ENOENT);
	assert_int_equal(wc_json_member_raw("[{\"data\":1}]", "data", &start, &len), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),	 cmocka_unit_test(test_rate),
		cmocka_unit_test(test_duration), cmocka_unit_test(test_percent_time),
		cmocka_unit_test(test_table),	 cmocka_unit_test(test_json_raw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
