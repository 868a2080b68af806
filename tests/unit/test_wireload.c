/* SPDX-License-Identifier: BSD-3-Clause */
/* wireload's pure parts: histogram, samplers, keys and values, parsers, UDP reassembly. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wireload.h"

/* ---- histogram ---------------------------------------------------------- */

static void test_hist_buckets(void **state)
{
	(void)state;
	for (uint64_t v = 0; v < 2 * WL_HIST_SUB; v++) {
		assert_int_equal(wl_hist_bucket(v), v);
		assert_int_equal(wl_hist_bucket_high(wl_hist_bucket(v)), v);
	}
	/* Every value lies in its bucket, within 1/128 of the bucket's top. */
	unsigned prev = 0;
	for (uint64_t v = 1; v < (1ull << 46); v += v / 97 + 1) {
		unsigned b = wl_hist_bucket(v);
		uint64_t hi = wl_hist_bucket_high(b);

		assert_true(b >= prev);
		prev = b;
		assert_true(b < WL_HIST_BUCKETS);
		assert_true(hi >= v);
		assert_true((double)(hi - v) <= (double)v / WL_HIST_SUB);
		if (b > 0)
			assert_true(wl_hist_bucket_high(b - 1) < v);
	}
	/* Beyond the range: the last bucket, not a write out of bounds. */
	assert_int_equal(wl_hist_bucket(UINT64_MAX), WL_HIST_BUCKETS - 1);
}

static void test_hist_percentiles(void **state)
{
	struct wl_hist *h = malloc(sizeof(*h)), *h2 = malloc(sizeof(*h2));

	(void)state;
	assert_non_null(h);
	assert_non_null(h2);
	wl_hist_reset(h);
	assert_int_equal(wl_hist_percentile(h, 50), 0);
	for (uint64_t v = 1; v <= 100000; v++)
		wl_hist_record(h, v * 1000);
	assert_int_equal(h->count, 100000);
	assert_int_equal(h->min, 1000);
	assert_int_equal(h->max, 100000000);
	double p50 = (double)wl_hist_percentile(h, 50);
	double p99 = (double)wl_hist_percentile(h, 99);
	double p999 = (double)wl_hist_percentile(h, 99.9);
	assert_true(fabs(p50 - 50e6) / 50e6 < 0.01);
	assert_true(fabs(p99 - 99e6) / 99e6 < 0.01);
	assert_true(fabs(p999 - 99.9e6) / 99.9e6 < 0.01);
	assert_int_equal(wl_hist_percentile(h, 100), 100000000);
	/* Never above the largest value. */
	wl_hist_reset(h2);
	wl_hist_record(h2, 1000001);
	assert_int_equal(wl_hist_percentile(h2, 99.9), 1000001);
	assert_int_equal(wl_hist_percentile(h2, 0), 1000001);
	/* Merge: counts, min and max add up. */
	wl_hist_merge(h2, h);
	assert_int_equal(h2->count, 100001);
	assert_int_equal(h2->min, 1000);
	assert_int_equal(h2->max, 100000000);
	free(h);
	free(h2);
}

/* ---- random numbers and Zipf -------------------------------------------- */

static void test_rng(void **state)
{
	struct wl_rng r, r2;
	double sum = 0;

	(void)state;
	wl_rng_seed(&r, 42);
	wl_rng_seed(&r2, 42);
	assert_true(wl_rng_next(&r) == wl_rng_next(&r2));
	for (int i = 0; i < 100000; i++) {
		double d = wl_rng_double(&r);

		assert_true(d >= 0 && d < 1);
		assert_true(wl_rng_below(&r, 7) < 7);
		sum += (double)wl_rng_exp_ns(&r, 1e6); /* mean gap 1000 ns */
	}
	assert_true(fabs(sum / 100000 - 1000) < 20);
}

static double harmonic(uint64_t n, double s)
{
	double h = 0;

	for (uint64_t k = 1; k <= n; k++)
		h += pow((double)k, -s);
	return h;
}

static void check_zipf(uint64_t n, double s)
{
	struct wl_zipf z;
	struct wl_rng r;
	uint64_t *cnt = calloc(n, sizeof(*cnt));
	const uint64_t draws = 400000;
	double hn = harmonic(n, s);

	assert_non_null(cnt);
	assert_int_equal(wl_zipf_init(&z, n, s), 0);
	wl_rng_seed(&r, 7);
	for (uint64_t i = 0; i < draws; i++) {
		uint64_t k = wl_zipf_next(&z, &r);

		assert_true(k < n);
		cnt[k]++;
	}
	/* The head of the distribution within a few percent of 1/(k^s H(n,s)). */
	for (uint64_t k = 0; k < 4; k++) {
		double want = (double)draws / (pow((double)(k + 1), s) * hn);

		assert_true(fabs((double)cnt[k] - want) / want < 0.05);
	}
	free(cnt);
}

static void test_zipf(void **state)
{
	struct wl_zipf z;
	struct wl_rng r;

	(void)state;
	assert_int_equal(wl_zipf_init(&z, 0, 0.99), -EINVAL);
	assert_int_equal(wl_zipf_init(&z, 10, 0), -EINVAL);
	assert_int_equal(wl_zipf_init(&z, 10, -1), -EINVAL);
	assert_int_equal(wl_zipf_init(&z, 10, NAN), -EINVAL);
	check_zipf(1000, 0.99);
	check_zipf(1000, 1.0);
	check_zipf(100, 0.5);
	check_zipf(10000, 1.5);
	/* One key, and a key space far too big for a table. */
	assert_int_equal(wl_zipf_init(&z, 1, 0.99), 0);
	wl_rng_seed(&r, 1);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(wl_zipf_next(&z, &r), 0);
	assert_int_equal(wl_zipf_init(&z, 1000000000000ull, 0.99), 0);
	for (int i = 0; i < 100000; i++)
		assert_true(wl_zipf_next(&z, &r) < 1000000000000ull);
}

/* ---- keys and values ---------------------------------------------------- */

static void test_keys(void **state)
{
	struct wl_keyfmt f;
	char k[WL_KEY_MAX + 1];

	(void)state;
	assert_int_equal(wl_keyfmt_init(&f, 16, 100000), 0);
	wl_key_format(&f, 42, k);
	assert_memory_equal(k, "key:000000000042", 16);
	wl_key_format(&f, 99999, k);
	assert_memory_equal(k, "key:000000099999", 16);
	/* Too short for the prefix: digits alone. */
	assert_int_equal(wl_keyfmt_init(&f, 5, 100000), 0);
	wl_key_format(&f, 7, k);
	assert_memory_equal(k, "00007", 5);
	assert_int_equal(wl_keyfmt_init(&f, 4, 100000), -EINVAL);
	assert_int_equal(wl_keyfmt_init(&f, 0, 10), -EINVAL);
	assert_int_equal(wl_keyfmt_init(&f, WL_KEY_MAX + 1, 10), -EINVAL);
	assert_int_equal(wl_keyfmt_init(&f, WL_KEY_MAX, 10), 0);
	wl_key_format(&f, 3, k);
	assert_memory_equal(k, "key:000", 7);
	assert_int_equal(k[WL_KEY_MAX - 1], '3');
}

static void test_values(void **state)
{
	struct wl_valfmt f;
	char v[4096], w[4096];

	(void)state;
	/* 100000 keys: 5 hex digits, so the header is 5+1+8+1 bytes. */
	assert_int_equal(wl_valfmt_init(&f, 32, 32, 100000, 1), 0);
	assert_int_equal(wl_value_hdr_len(&f), 15);
	assert_int_equal(wl_valfmt_init(&f, 14, 32, 100000, 1), -EINVAL);
	assert_int_equal(wl_valfmt_init(&f, 33, 32, 100000, 0), -EINVAL);
	assert_int_equal(wl_valfmt_init(&f, 0, 32, 100000, 0), 0);
	assert_int_equal(wl_valfmt_init(&f, 15, 4000, 100000, 1), 0);
	for (size_t len = 15; len <= 4000; len += 37) {
		wl_value_fill(&f, 12345, 0xdeadbeef, v, len);
		assert_int_equal(wl_value_check(&f, 12345, v, len), 0);
		/* Another key's value, or this one torn, shifted or resized, is caught. */
		assert_int_equal(wl_value_check(&f, 12344, v, len), -EBADMSG);
		memcpy(w, v, len);
		w[len - 1] ^= 1;
		assert_int_equal(wl_value_check(&f, 12345, w, len), -EBADMSG);
		if (len > 15)
			assert_int_equal(wl_value_check(&f, 12345, v, len - 1), -EBADMSG);
	}
	wl_value_fill(&f, 1, 1, v, 100);
	wl_value_fill(&f, 1, 2, w, 100);
	assert_memory_not_equal(v + 15, w + 15, 85); /* the version shifts the filler */
	w[6] = v[6] + 1;			     /* forged version digit */
	assert_int_equal(wl_value_check(&f, 1, w, 100), -EBADMSG);
	assert_int_equal(wl_value_check(&f, 1, v, 4001), -EBADMSG);
	assert_int_equal(wl_value_check(&f, 1, v, 14), -EBADMSG);
	/* Without verify only the length is checked. */
	assert_int_equal(wl_valfmt_init(&f, 10, 20, 100000, 0), 0);
	wl_value_fill(&f, 3, 0, v, 12);
	assert_int_equal(wl_value_check(&f, 99, v, 12), 0);
	assert_int_equal(wl_value_check(&f, 99, v, 21), -EBADMSG);
}

/* ---- requests ----------------------------------------------------------- */

static void expect_req(enum wl_proto p, enum wl_op op, const char *want)
{
	char out[256];
	size_t n = wl_req_build(p, op, "key:01", 6, "abc", 3, out, sizeof(out));

	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	assert_true(n <= wl_req_max_len(p, 6, 3));
	/* One byte short: nothing. */
	assert_int_equal(wl_req_build(p, op, "key:01", 6, "abc", 3, out, n - 1), 0);
}

static void test_requests(void **state)
{
	(void)state;
	expect_req(WL_PROTO_MC_TEXT, WL_OP_GET, "get key:01\r\n");
	expect_req(WL_PROTO_MC_TEXT, WL_OP_SET, "set key:01 0 0 3\r\nabc\r\n");
	expect_req(WL_PROTO_MC_META, WL_OP_GET, "mg key:01 v\r\n");
	expect_req(WL_PROTO_MC_META, WL_OP_SET, "ms key:01 3\r\nabc\r\n");
	expect_req(WL_PROTO_RESP, WL_OP_GET, "*2\r\n$3\r\nGET\r\n$6\r\nkey:01\r\n");
	expect_req(WL_PROTO_RESP, WL_OP_SET, "*3\r\n$3\r\nSET\r\n$6\r\nkey:01\r\n$3\r\nabc\r\n");
}

/* ---- replies ------------------------------------------------------------ */

/*
 * Parse @p s as the reply to @p op on key "k1": it must be complete, of
 * @p kind, and take all of @p s; every proper prefix must ask for more.
 */
static void expect_reply(enum wl_proto p, enum wl_op op, const char *s, enum wl_kind kind,
			 const char *val)
{
	size_t len = strlen(s);
	struct wl_reply r;
	char *buf;

	for (size_t i = 0; i < len; i++) {
		/* A copy of exactly i bytes, so ASan sees any read past it. */
		buf = malloc(i ? i : 1);
		memcpy(buf, s, i);
		assert_int_equal(wl_reply_parse(p, op, "k1", 2, buf, i, &r), WL_P_NEED_MORE);
		free(buf);
	}
	buf = malloc(len + 6);
	memcpy(buf, s, len);
	memcpy(buf + len, "extra", 5);
	assert_int_equal(wl_reply_parse(p, op, "k1", 2, buf, len + 5, &r), WL_P_OK);
	assert_int_equal(r.kind, kind);
	assert_int_equal(r.consumed, len);
	if (val) {
		assert_int_equal(r.vlen, strlen(val));
		assert_memory_equal(r.val, val, r.vlen);
	}
	free(buf);
}

static void expect_invalid(enum wl_proto p, enum wl_op op, const char *s)
{
	struct wl_reply r;
	size_t len = strlen(s);
	char *buf = malloc(len);

	memcpy(buf, s, len);
	assert_int_equal(wl_reply_parse(p, op, "k1", 2, buf, len, &r), WL_P_INVALID);
	free(buf);
}

static void test_reply_mc_text(void **state)
{
	const enum wl_proto p = WL_PROTO_MC_TEXT;

	(void)state;
	expect_reply(p, WL_OP_GET, "VALUE k1 0 3\r\nabc\r\nEND\r\n", WL_R_HIT, "abc");
	expect_reply(p, WL_OP_GET, "VALUE k1 4294967295 0 77\r\n\r\nEND\r\n", WL_R_HIT, "");
	expect_reply(p, WL_OP_GET, "VALUE k2 0 3\r\nabc\r\nEND\r\n", WL_R_UNEXPECTED, NULL);
	expect_reply(p, WL_OP_SET, "VALUE k1 0 3\r\nabc\r\nEND\r\n", WL_R_UNEXPECTED, NULL);
	expect_reply(p, WL_OP_GET, "END\r\n", WL_R_MISS, NULL);
	expect_reply(p, WL_OP_SET, "STORED\r\n", WL_R_STORED, NULL);
	expect_reply(p, WL_OP_GET, "STORED\r\n", WL_R_UNEXPECTED, NULL);
	expect_reply(p, WL_OP_SET, "NOT_STORED\r\n", WL_R_NOT_STORED, NULL);
	expect_reply(p, WL_OP_SET, "ERROR\r\n", WL_R_SERVER_ERROR, NULL);
	expect_reply(p, WL_OP_SET, "SERVER_ERROR out of memory storing object\r\n",
		     WL_R_SERVER_ERROR, NULL);
	expect_reply(p, WL_OP_GET, "CLIENT_ERROR bad command line format\r\n", WL_R_SERVER_ERROR,
		     NULL);
	expect_invalid(p, WL_OP_GET, "VALUE k1 0 3\r\nabcd\r\nEND\r\n");
	expect_invalid(p, WL_OP_GET, "VALUE k1 0 3\r\nabc\r\nVALUE k1 0 3\r\nabc\r\nEND\r\n");
	expect_invalid(p, WL_OP_GET, "VALUE k1 0 99999999999\r\n");
	expect_invalid(p, WL_OP_GET, "VALUE k1 0 184467440737095516160\r\n");
	expect_invalid(p, WL_OP_GET, "VALUE k1 4294967296 3\r\n");
	expect_invalid(p, WL_OP_GET, "VALUE k1 0 -3\r\n");
	expect_invalid(p, WL_OP_GET, "VALUE k1  0 3\r\n");
	expect_invalid(p, WL_OP_GET, "VALUE k1 0 3 \r\n");
	expect_invalid(p, WL_OP_GET, "VALUE k1 0\r\n");
	expect_invalid(p, WL_OP_GET, "END\n");
	expect_invalid(p, WL_OP_GET, "\r\n");
	expect_invalid(p, WL_OP_GET, "ENDX\r\n");
	expect_invalid(p, WL_OP_GET, "HTTP/1.1 400 Bad Request\r\n");
}

static void test_reply_mc_meta(void **state)
{
	const enum wl_proto p = WL_PROTO_MC_META;

	(void)state;
	expect_reply(p, WL_OP_GET, "VA 3\r\nabc\r\n", WL_R_HIT, "abc");
	expect_reply(p, WL_OP_GET, "VA 3 f0 t-1\r\nabc\r\n", WL_R_HIT, "abc");
	expect_reply(p, WL_OP_GET, "EN\r\n", WL_R_MISS, NULL);
	expect_reply(p, WL_OP_SET, "HD\r\n", WL_R_STORED, NULL);
	expect_reply(p, WL_OP_SET, "HD c1\r\n", WL_R_STORED, NULL);
	expect_reply(p, WL_OP_SET, "NS\r\n", WL_R_NOT_STORED, NULL);
	expect_reply(p, WL_OP_GET, "HD\r\n", WL_R_UNEXPECTED, NULL);
	expect_reply(p, WL_OP_GET, "MN\r\n", WL_R_UNEXPECTED, NULL);
	expect_reply(p, WL_OP_SET, "CLIENT_ERROR bad data chunk\r\n", WL_R_SERVER_ERROR, NULL);
	expect_invalid(p, WL_OP_GET, "VA\r\n");
	expect_invalid(p, WL_OP_GET, "VA x\r\n");
	expect_invalid(p, WL_OP_GET, "VA 2\r\nabc\r\n");
	expect_invalid(p, WL_OP_GET, "ENX\r\n");
	expect_invalid(p, WL_OP_GET, "VALUE k1 0 3\r\nabc\r\nEND\r\n");
}

static void test_reply_resp(void **state)
{
	const enum wl_proto p = WL_PROTO_RESP;
	char deep[64] = "";

	(void)state;
	expect_reply(p, WL_OP_GET, "$3\r\nabc\r\n", WL_R_HIT, "abc");
	expect_reply(p, WL_OP_GET, "$0\r\n\r\n", WL_R_HIT, "");
	expect_reply(p, WL_OP_GET, "$-1\r\n", WL_R_MISS, NULL);
	expect_reply(p, WL_OP_SET, "+OK\r\n", WL_R_STORED, NULL);
	expect_reply(p, WL_OP_SET, "$-1\r\n", WL_R_NOT_STORED, NULL);
	expect_reply(p, WL_OP_SET, "-OOM command not allowed\r\n", WL_R_SERVER_ERROR, NULL);
	expect_reply(p, WL_OP_GET, "-WRONGTYPE Operation\r\n", WL_R_SERVER_ERROR, NULL);
	expect_reply(p, WL_OP_GET, ":12\r\n", WL_R_UNEXPECTED, NULL);
	expect_reply(p, WL_OP_SET, "+QUEUED\r\n", WL_R_UNEXPECTED, NULL);
	expect_reply(p, WL_OP_GET, "*2\r\n$1\r\na\r\n*1\r\n:1\r\n", WL_R_UNEXPECTED, NULL);
	expect_reply(p, WL_OP_GET, "*-1\r\n", WL_R_UNEXPECTED, NULL);
	expect_invalid(p, WL_OP_GET, "$3\r\nabcd\r\n");
	expect_invalid(p, WL_OP_GET, "$-2\r\n");
	expect_invalid(p, WL_OP_GET, "$\r\n");
	expect_invalid(p, WL_OP_GET, "$99999999999\r\n");
	expect_invalid(p, WL_OP_GET, ":1x\r\n");
	expect_invalid(p, WL_OP_GET, "%1\r\n");
	expect_invalid(p, WL_OP_GET, "*3000000\r\n");
	expect_invalid(p, WL_OP_GET, "+OK\n");
	for (int i = 0; i < 12; i++)
		strcat(deep, "*1\r\n");
	expect_invalid(p, WL_OP_GET, deep);
}

/* Random and mutated bytes: any status, but never a read past the end. */
static void test_reply_garbage(void **state)
{
	static const char *seeds[] = { "VALUE k1 0 3\r\nabc\r\nEND\r\n", "VA 3 f1\r\nabc\r\n",
				       "$3\r\nabc\r\n", "*2\r\n$1\r\na\r\n:5\r\n", "STORED\r\n" };
	const char alpha[] = "VALUE END$*+-:0123456789\r\n k1ab";
	struct wl_rng r;

	(void)state;
	wl_rng_seed(&r, 3);
	for (int it = 0; it < 200000; it++) {
		size_t len = (size_t)wl_rng_below(&r, 40);
		char *buf = malloc(len ? len : 1);
		struct wl_reply rep;
		const char *seed = seeds[it % 5];

		for (size_t i = 0; i < len; i++) {
			if (it & 1 && i < strlen(seed) && wl_rng_below(&r, 8))
				buf[i] = seed[i];
			else
				buf[i] = alpha[wl_rng_below(&r, sizeof(alpha) - 1)];
		}
		for (int p = WL_PROTO_MC_TEXT; p <= WL_PROTO_RESP; p++) {
			for (int op = WL_OP_GET; op <= WL_OP_SET; op++) {
				int st = wl_reply_parse((enum wl_proto)p, (enum wl_op)op, "k1", 2,
							buf, len, &rep);

				assert_true(st == WL_P_OK || st == WL_P_NEED_MORE ||
					    st == WL_P_INVALID);
				if (st == WL_P_OK) {
					assert_true(rep.consumed > 0 && rep.consumed <= len);
					if (rep.val)
						assert_true(rep.val >= buf &&
							    rep.val + rep.vlen <= buf + len);
				}
			}
		}
		free(buf);
	}
}

/* A line without its end, longer than any reply line, is garbage rather than NEED_MORE. */
static void test_reply_long_line(void **state)
{
	size_t len = 5000;
	char *buf = malloc(len);
	struct wl_reply r;

	(void)state;
	memset(buf, 'A', len);
	assert_int_equal(wl_reply_parse(WL_PROTO_MC_TEXT, WL_OP_GET, "k1", 2, buf, len, &r),
			 WL_P_INVALID);
	assert_int_equal(wl_reply_parse(WL_PROTO_RESP, WL_OP_GET, "k1", 2, buf, len, &r),
			 WL_P_INVALID);
	buf[0] = '+';
	assert_int_equal(wl_reply_parse(WL_PROTO_RESP, WL_OP_GET, "k1", 2, buf, len, &r),
			 WL_P_INVALID);
	assert_int_equal(wl_reply_parse(WL_PROTO_RESP, WL_OP_GET, "k1", 2, buf, 100, &r),
			 WL_P_NEED_MORE);
	free(buf);
}

/* ---- memcached UDP ------------------------------------------------------ */

static void test_mcudp_hdr(void **state)
{
	uint8_t b[8];
	struct wl_mcudp_hdr h;
	static const uint8_t two_of_three[8] = { 0x12, 0x34, 0, 1, 0, 3, 0, 0 };
	static const uint8_t zero_total[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	static const uint8_t seq_past[8] = { 0, 1, 0, 3, 0, 3, 0, 0 };

	(void)state;
	wl_mcudp_put_hdr(b, 0xbeef);
	assert_memory_equal(b, "\xbe\xef\x00\x00\x00\x01\x00\x00", 8);
	assert_int_equal(wl_mcudp_parse_hdr(b, 8, &h), 0);
	assert_int_equal(h.id, 0xbeef);
	assert_int_equal(h.seq, 0);
	assert_int_equal(h.total, 1);
	assert_int_equal(wl_mcudp_parse_hdr(two_of_three, 8, &h), 0);
	assert_int_equal(h.id, 0x1234);
	assert_int_equal(h.seq, 1);
	assert_int_equal(h.total, 3);
	assert_int_equal(wl_mcudp_parse_hdr(b, 7, &h), -EINVAL);
	assert_int_equal(wl_mcudp_parse_hdr(zero_total, 8, &h), -EINVAL);
	assert_int_equal(wl_mcudp_parse_hdr(seq_past, 8, &h), -EINVAL);
}

static void test_reasm(void **state)
{
	struct wl_reasm r;
	const char *parts[] = { "VALUE k1 0 10\r\n", "0123456789", "\r\nEND\r\n" };
	const char *whole = "VALUE k1 0 10\r\n0123456789\r\nEND\r\n";
	static const int orders[][3] = { { 0, 1, 2 }, { 2, 1, 0 }, { 1, 2, 0 } };
	const uint8_t *d;
	size_t len;

	(void)state;
	wl_reasm_init(&r);
	for (unsigned o = 0; o < 3; o++) {
		wl_reasm_reset(&r);
		for (unsigned i = 0; i < 3; i++) {
			int s = orders[o][i];
			int rc = wl_reasm_add(&r, (uint16_t)s, 3, (const uint8_t *)parts[s],
					      strlen(parts[s]));

			assert_int_equal(rc, i == 2 ? 1 : 0);
			if (i == 0) /* a duplicate is ignored */
				assert_int_equal(wl_reasm_add(&r, (uint16_t)s, 3,
							      (const uint8_t *)parts[s],
							      strlen(parts[s])),
						 -EALREADY);
		}
		d = wl_reasm_data(&r, &len);
		assert_int_equal(len, strlen(whole));
		assert_memory_equal(d, whole, len);
	}
	/* Inconsistent headers. */
	wl_reasm_reset(&r);
	assert_int_equal(wl_reasm_add(&r, 0, 2, (const uint8_t *)"ab", 2), 0);
	assert_int_equal(wl_reasm_add(&r, 1, 3, (const uint8_t *)"cd", 2), -EPROTO);
	assert_int_equal(wl_reasm_add(&r, 2, 2, (const uint8_t *)"cd", 2), -EPROTO);
	assert_int_equal(wl_reasm_add(&r, 0, 0, (const uint8_t *)"cd", 2), -EPROTO);
	assert_int_equal(wl_reasm_add(&r, 1, 2, (const uint8_t *)"", 0), 1);
	d = wl_reasm_data(&r, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(d, "ab", 2);
	wl_reasm_reset(&r);
	assert_int_equal(wl_reasm_add(&r, 0, WL_MCUDP_MAX_DGRAMS + 1, (const uint8_t *)"a", 1),
			 -EMSGSIZE);
	/* Many datagrams, reversed: the 10 KB reply of a 10000-byte value. */
	wl_reasm_reset(&r);
	{
		static char big[10100];
		unsigned n = 0;

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (char)('a' + i % 26);
		unsigned total = (sizeof(big) + 1391) / 1392;
		for (unsigned s = total; s-- > 0;) {
			size_t off = (size_t)s * 1392;
			size_t l = sizeof(big) - off < 1392 ? sizeof(big) - off : 1392;
			int rc = wl_reasm_add(&r, (uint16_t)s, (uint16_t)total,
					      (const uint8_t *)big + off, l);

			assert_int_equal(rc, ++n == total ? 1 : 0);
		}
		d = wl_reasm_data(&r, &len);
		assert_int_equal(len, sizeof(big));
		assert_memory_equal(d, big, len);
	}
	wl_reasm_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_buckets),  cmocka_unit_test(test_hist_percentiles),
		cmocka_unit_test(test_rng),	      cmocka_unit_test(test_zipf),
		cmocka_unit_test(test_keys),	      cmocka_unit_test(test_values),
		cmocka_unit_test(test_requests),      cmocka_unit_test(test_reply_mc_text),
		cmocka_unit_test(test_reply_mc_meta), cmocka_unit_test(test_reply_resp),
		cmocka_unit_test(test_reply_garbage), cmocka_unit_test(test_reply_long_line),
		cmocka_unit_test(test_mcudp_hdr),     cmocka_unit_test(test_reasm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
