/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached text/meta protocol: the parser alone, then the executor over a
 * real store partition, with exact reply bytes as memcached 1.6 sends them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rte_memory.h>

#include "dataplane/proto/mc.h"
#include "dataplane/proto/mc_parse.h"
#include "store/store.h"
#include "eal_helper.h"

#define T0	  1700000000u
#define MAX_VALUE (64 * 1024)

static struct wc_store *store;
static struct wc_lcore_stats st;
static uint32_t flushed_when;
static int flush_calls;
static char outbuf[1 << 20];

static int stats_hook(void *arg, const char *sub, size_t sublen, struct wc_out *out)
{
	(void)arg;
	if (sub == NULL) {
		wc_mc_stat_u64(out, "pid", 42);
		wc_mc_stat_str(out, "version", "t");
		return 0;
	}
	if (sublen == 5 && memcmp(sub, "reset", 5) == 0)
		return 0;
	if (sublen == 5 && memcmp(sub, "items", 5) == 0) {
		wc_mc_stat_u64(out, "items:1:number", 0);
		return 0;
	}
	return -ENOENT;
}

static void flush_hook(void *arg, uint32_t when)
{
	flushed_when = when;
	flush_calls++;
	wc_store_flush(arg, when);
}

static struct wc_mc_server srv = {
	.max_item_size = MAX_VALUE,
	.version = "1.6.99-wc",
	.stats = stats_hook,
};

static struct wc_mc_ctx ctx;
static struct wc_mc_session sess;

static int setup(void **state)
{
	static int n;
	char name[32];
	struct wc_store_config cfg = {
		.name = name,
		.mem_limit = 8u << 20,
		.max_item_size = MAX_VALUE + 1024,
		.socket_id = SOCKET_ID_ANY,
	};

	(void)state;
	snprintf(name, sizeof(name), "tmc%d", n++);
	store = wc_store_create(&cfg);
	if (store == NULL)
		return -1;
	wc_store_tick(store, T0);
	memset(&st, 0, sizeof(st));
	memset(&sess, 0, sizeof(sess));
	srv.flush = flush_hook;
	srv.flush_arg = store;
	ctx.srv = &srv;
	ctx.store = store;
	ctx.st = &st;
	flush_calls = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wc_store_destroy(store);
	store = NULL;
	return 0;
}

/* Run bytes through the executor; @return the reply, NUL-terminated. */
static const char *runn(const void *in, size_t len, size_t *consumed)
{
	struct wc_out o;
	size_t used;

	wc_out_init_flat(&o, outbuf, sizeof(outbuf) - 1);
	used = wc_mc_process(&ctx, &sess, in, len, &o);
	if (consumed != NULL)
		*consumed = used;
	else
		assert_int_equal(used, len);
	assert_false(o.overflow);
	outbuf[o.written] = '\0';
	return outbuf;
}

static const char *run(const char *in)
{
	return runn(in, strlen(in), NULL);
}

#define EXPECT(in, out) assert_string_equal(run(in), out)

/* ---------------- parser ---------------- */

static enum wc_mc_status parse(const char *s, struct wc_mc_request *req)
{
	return wc_mc_parse((const uint8_t *)s, strlen(s), MAX_VALUE, req);
}

static void test_parse_every_boundary(void **state)
{
	static const char *reqs[] = {
		"get foo bar baz\r\n",
		"set k 1 2 5\r\nhello\r\n",
		"cas k 0 0 3 99 noreply\r\nabc\r\n",
		"ms key 4 T10 F3 c k O123\r\nwxyz\r\n",
		"mg key v c f t k s O1 q\r\n",
		"incr n 5\n",
		"delete k 0 noreply\r\n",
		"ma n MD D7 N0 J3 v\r\n",
	};
	struct wc_mc_request req;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		size_t len = strlen(reqs[i]);

		for (n = 0; n < len; n++) {
			enum wc_mc_status s =
				wc_mc_parse((const uint8_t *)reqs[i], n, MAX_VALUE, &req);

			if (s != WC_MC_NEED_MORE)
				fail_msg("request %zu cut at %zu: status %d", i, n, s);
		}
		assert_int_equal(wc_mc_parse((const uint8_t *)reqs[i], len, MAX_VALUE, &req),
				 WC_MC_OK);
		assert_int_equal(req.consumed, len);
	}
}

static void test_parse_fields(void **state)
{
	struct wc_mc_request req;
	const uint8_t *k;
	size_t kl, pos = 0;

	(void)state;
	assert_int_equal(parse("set k 4294967295 -1 5 noreply\r\nhello\r\nget", &req), WC_MC_OK);
	assert_int_equal(req.cmd, WC_MC_CMD_SET);
	assert_int_equal(req.flags, 4294967295u);
	assert_int_equal(req.exptime, -1);
	assert_int_equal(req.vlen, 5);
	assert_true(req.noreply);
	assert_memory_equal(req.data, "hello", 5);
	assert_int_equal(req.consumed, strlen("set k 4294967295 -1 5 noreply\r\nhello\r\n"));
	assert_int_equal(req.klen, 1);

	assert_int_equal(parse("gets a  bb ccc\r\n", &req), WC_MC_OK);
	assert_int_equal(req.cmd, WC_MC_CMD_GETS);
	assert_true(wc_mc_next_key(&req, &pos, &k, &kl));
	assert_int_equal(kl, 1);
	assert_true(wc_mc_next_key(&req, &pos, &k, &kl));
	assert_int_equal(kl, 2);
	assert_true(wc_mc_next_key(&req, &pos, &k, &kl));
	assert_memory_equal(k, "ccc", 3);
	assert_false(wc_mc_next_key(&req, &pos, &k, &kl));

	assert_int_equal(parse("cas k 1 2 3 18446744073709551615\r\nabc\r\n", &req), WC_MC_OK);
	assert_true(req.cas == UINT64_MAX);

	assert_int_equal(parse("mg Zm9v b v T30 N-1 R5 Oab q\r\n", &req), WC_MC_OK);
	assert_int_equal(req.klen, 3);
	assert_memory_equal(req.key, "foo", 3);
	assert_true(req.noreply);
	assert_true(wc_mc_has(&req, 'v') && wc_mc_has(&req, 'b') && !wc_mc_has(&req, 'c'));
	assert_int_equal(req.m.ttl_T, 30);
	assert_int_equal(req.m.ttl_N, -1);
	assert_int_equal(req.m.ttl_R, 5);

	assert_int_equal(parse("ma k\r\n", &req), WC_MC_OK);
	assert_true(req.m.delta_D == 1);

	/* A LF-only line, and a NUL ends the line as in memcached. */
	assert_int_equal(parse("version\n", &req), WC_MC_OK);
	assert_int_equal(req.consumed, 8);
	assert_int_equal(wc_mc_parse((const uint8_t *)"get a\0junk\r\n", 12, MAX_VALUE, &req),
			 WC_MC_OK);
	assert_int_equal(req.rest_len, 1);
}

static void expect_invalid(const char *in, const char *err)
{
	struct wc_mc_request req;
	enum wc_mc_status s = parse(in, &req);

	if (s != WC_MC_INVALID)
		fail_msg("'%s': status %d", in, s);
	assert_string_equal(req.err, err);
}

static void test_parse_errors(void **state)
{
	char line[600];
	struct wc_mc_request req;

	(void)state;
	expect_invalid("\r\n", "ERROR");
	expect_invalid("x\r\n", "ERROR");
	expect_invalid("bogus a b\r\n", "ERROR");
	expect_invalid("get\r\n", "ERROR");
	expect_invalid("set k 0 0\r\n", "ERROR");
	expect_invalid("set k 0 0 1 noreply x\r\n", "ERROR");
	expect_invalid("incr k\r\n", "ERROR");
	expect_invalid("set k x 0 1\r\n", "CLIENT_ERROR bad command line format");
	expect_invalid("set k 0 x 1\r\n", "CLIENT_ERROR bad command line format");
	expect_invalid("set k 0 0 -1\r\n", "CLIENT_ERROR bad command line format");
	expect_invalid("set k -1 0 1\r\n", "CLIENT_ERROR bad command line format");
	expect_invalid("cas k 0 0 1 x\r\n", "CLIENT_ERROR bad command line format");
	expect_invalid("set k 0 0 1\r\nab\r\n", "CLIENT_ERROR bad data chunk");
	expect_invalid("incr k -1\r\n", "CLIENT_ERROR invalid numeric delta argument");
	expect_invalid("incr k 18446744073709551616\r\n",
		       "CLIENT_ERROR invalid numeric delta argument");
	expect_invalid("touch k x\r\n", "CLIENT_ERROR invalid exptime argument");
	expect_invalid("gat x k\r\n", "CLIENT_ERROR invalid exptime argument");
	expect_invalid("flush_all x\r\n", "CLIENT_ERROR invalid exptime argument");
	expect_invalid("verbosity x\r\n", "CLIENT_ERROR bad command line format");
	expect_invalid("delete k 5\r\n",
		       "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
	expect_invalid("delete k 0 x\r\n",
		       "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
	expect_invalid("mg k zz\r\n", "CLIENT_ERROR invalid flag");
	expect_invalid("mg k v v\r\n", "CLIENT_ERROR duplicate flag");
	expect_invalid("mg k Tx\r\n", "CLIENT_ERROR bad token in command line format");
	expect_invalid("mg ### b\r\n", "CLIENT_ERROR error decoding key");
	expect_invalid("mg k a b c d e f g h i j k l m n o p q r\r\n",
		       "CLIENT_ERROR options flags are too long");
	expect_invalid("md k zz\r\n", "CLIENT_ERROR invalid or duplicate flag");
	expect_invalid("ma k MX\r\n", "CLIENT_ERROR invalid mode for ma M token");
	expect_invalid("ma k Dx\r\n", "CLIENT_ERROR invalid or duplicate flag");
	expect_invalid("mg k O123456789012345678901234567890123\r\n",
		       "CLIENT_ERROR opaque token too long");
	expect_invalid("ms k\r\n", "CLIENT_ERROR bad command line format");
	expect_invalid("ms k x\r\n", "CLIENT_ERROR bad command line format");
	expect_invalid("me\r\n", "CLIENT_ERROR bad command line format");

	/* ms errors after the length swallow the data block. */
	assert_int_equal(parse("ms k 3 MX\r\n", &req), WC_MC_INVALID);
	assert_string_equal(req.err, "CLIENT_ERROR invalid mode for ms M token");
	assert_int_equal(req.swallow, 5);
	assert_int_equal(parse("ms k 2 Jx\r\n", &req), WC_MC_INVALID);
	assert_string_equal(req.err, "CLIENT_ERROR invalid numeric initial value");
	assert_int_equal(parse("ms k 2 ML\r\n", &req), WC_MC_INVALID);
	assert_string_equal(req.err, "CLIENT_ERROR invalid mode for ms M token");

	/* Keys over 250 bytes. */
	memset(line, 'k', sizeof(line));
	memcpy(line, "get a ", 6);
	strcpy(line + 6 + 251, "\r\n");
	expect_invalid(line, "CLIENT_ERROR bad command line format");
	memcpy(line, "mg ", 3);
	memset(line + 3, 'k', 251);
	strcpy(line + 3 + 251, " v\r\n");
	expect_invalid(line, "CLIENT_ERROR bad command line format");
	memcpy(line, "set ", 4);
	memset(line + 4, 'k', 251);
	strcpy(line + 4 + 251, " 0 0 1\r\n");
	expect_invalid(line, "CLIENT_ERROR bad command line format");

	/* HTTP is closed on, silently. */
	assert_int_equal(parse("GET / HTTP/1.1\r\n", &req), WC_MC_INVALID);
	assert_true(req.close);
	assert_null(req.err);
}

static void test_parse_limits(void **state)
{
	static uint8_t big[WC_MC_LINE_MAX + 10];
	struct wc_mc_request req;
	char line[64];

	(void)state;
	/* Too large a value: refused at once, the data block swallowed. */
	snprintf(line, sizeof(line), "set k 0 0 %u\r\n", MAX_VALUE + 1);
	assert_int_equal(parse(line, &req), WC_MC_TOO_BIG);
	assert_string_equal(req.err, "SERVER_ERROR object too large for cache");
	assert_int_equal(req.consumed, strlen(line));
	assert_int_equal(req.swallow, MAX_VALUE + 3);
	snprintf(line, sizeof(line), "ms k %u T0\r\n", MAX_VALUE + 1);
	assert_int_equal(parse(line, &req), WC_MC_TOO_BIG);
	assert_int_equal(req.swallow, MAX_VALUE + 3);
	snprintf(line, sizeof(line), "set k 0 0 %u\r\n", MAX_VALUE);
	assert_int_equal(parse(line, &req), WC_MC_NEED_MORE);

	/* A line with no newline: wait up to 2048 bytes, then give up. */
	memset(big, 'a', sizeof(big));
	assert_int_equal(wc_mc_parse(big, WC_MC_LINE_MAX, MAX_VALUE, &req), WC_MC_NEED_MORE);
	assert_int_equal(wc_mc_parse(big, sizeof(big), MAX_VALUE, &req), WC_MC_TOO_BIG);
	assert_true(req.close);
	assert_string_equal(req.err, "CLIENT_ERROR line too long");
	/* ... except a multi-get. */
	memcpy(big, "get ", 4);
	assert_int_equal(wc_mc_parse(big, sizeof(big), MAX_VALUE, &req), WC_MC_NEED_MORE);
	assert_int_equal(wc_mc_parse(big, 0, MAX_VALUE, &req), WC_MC_NEED_MORE);
}

/* ---------------- executor ---------------- */

static void test_get_set(void **state)
{
	(void)state;
	EXPECT("get a\r\n", "END\r\n");
	EXPECT("set a 5 0 3\r\nabc\r\n", "STORED\r\n");
	EXPECT("get a\r\n", "VALUE a 5 3\r\nabc\r\nEND\r\n");
	EXPECT("set b 4294967295 0 0\r\n\r\n", "STORED\r\n");
	EXPECT("get a b c\r\n", "VALUE a 5 3\r\nabc\r\nVALUE b 4294967295 0\r\n\r\nEND\r\n");
	EXPECT("bget a\r\n", "VALUE a 5 3\r\nabc\r\nEND\r\n");
	EXPECT("set a 0 0 1 noreply\r\nz\r\nget a\r\n", "VALUE a 0 1\r\nz\r\nEND\r\n");
	EXPECT("add a 0 0 1\r\nq\r\n", "NOT_STORED\r\n");
	EXPECT("add n 0 0 1\r\nq\r\n", "STORED\r\n");
	EXPECT("replace x 0 0 1\r\nq\r\n", "NOT_STORED\r\n");
	EXPECT("replace n 0 0 2\r\nqq\r\n", "STORED\r\n");
	EXPECT("append n 9 9 2\r\n12\r\n", "STORED\r\n");
	EXPECT("prepend n 0 0 2\r\n00\r\n", "STORED\r\n");
	EXPECT("append none 0 0 2\r\n12\r\n", "NOT_STORED\r\n");
	EXPECT("get n\r\n", "VALUE n 0 6\r\n00qq12\r\nEND\r\n");
	assert_int_equal(st.mc_get_hits, 6);
	assert_int_equal(st.mc_get_misses, 2);
	/* A bad data chunk: error, the rest parsed as a command. */
	EXPECT("set a 0 0 1\r\nabc\r\nget a\r\n",
	       "CLIENT_ERROR bad data chunk\r\nERROR\r\nVALUE a 0 1\r\nz\r\nEND\r\n");
	EXPECT("set a 0 0 1 noreply\r\nabc\r\n", "ERROR\r\n");
	/* A key too long anywhere fails the whole get. */
	{
		char line[300];

		memset(line, 'x', sizeof(line));
		memcpy(line, "get a ", 6);
		strcpy(line + 6 + 251, "\r\n");
		EXPECT(line, "CLIENT_ERROR bad command line format\r\n");
	}
	assert_int_equal(st.mc_protocol_errors, 5);
}

static void test_cas(void **state)
{
	struct wc_item *it;
	char in[128], out[128];
	uint64_t cas;

	(void)state;
	EXPECT("cas k 0 0 1 1\r\na\r\n", "NOT_FOUND\r\n");
	EXPECT("set k 0 0 1\r\na\r\n", "STORED\r\n");
	it = wc_store_lookup(store, "k", 1, wc_store_hash("k", 1));
	assert_non_null(it);
	cas = wc_item_cas(it);
	snprintf(out, sizeof(out), "VALUE k 0 1 %llu\r\na\r\nEND\r\n", (unsigned long long)cas);
	EXPECT("gets k\r\n", out);
	snprintf(in, sizeof(in), "cas k 0 0 1 %llu\r\nb\r\n", (unsigned long long)cas + 100);
	EXPECT(in, "EXISTS\r\n");
	snprintf(in, sizeof(in), "cas k 0 0 1 %llu\r\nb\r\n", (unsigned long long)cas);
	EXPECT(in, "STORED\r\n");
	EXPECT(in, "EXISTS\r\n");
	snprintf(in, sizeof(in), "cas k 0 0 1 %llu noreply\r\nc\r\n", (unsigned long long)cas);
	EXPECT(in, "");
	EXPECT("get k\r\n", "VALUE k 0 1\r\nb\r\nEND\r\n");
	assert_int_equal(st.mc_cas_hits, 1);
	assert_int_equal(st.mc_cas_badval, 3);
	assert_int_equal(st.mc_cas_misses, 1);
}

static void test_delete(void **state)
{
	(void)state;
	EXPECT("delete k\r\n", "NOT_FOUND\r\n");
	EXPECT("set k 0 0 1\r\na\r\n", "STORED\r\n");
	EXPECT("delete k 5\r\n",
	       "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
	EXPECT("get k\r\n", "VALUE k 0 1\r\na\r\nEND\r\n");
	EXPECT("delete k 0\r\n", "DELETED\r\n");
	EXPECT("set k 0 0 1\r\na\r\ndelete k 0 noreply\r\ndelete k noreply\r\nget k\r\n",
	       "STORED\r\nEND\r\n");
	EXPECT("delete k 5 noreply\r\n", "");
	assert_int_equal(st.mc_delete_hits, 2);
	assert_int_equal(st.mc_delete_misses, 2);
	assert_int_equal(st.mc_protocol_errors, 2);
}

static void test_incr_decr(void **state)
{
	(void)state;
	EXPECT("incr n 1\r\n", "NOT_FOUND\r\n");
	EXPECT("set n 0 0 2\r\n10\r\n", "STORED\r\n");
	EXPECT("incr n 5\r\n", "15\r\n");
	EXPECT("decr n 100\r\n", "0\r\n");
	EXPECT("set n 0 0 20\r\n18446744073709551615\r\n", "STORED\r\n");
	EXPECT("incr n 2\r\n", "1\r\n");
	/* As memcached: a shorter result is padded in place to the old length. */
	EXPECT("get n\r\n", "VALUE n 0 20\r\n1                   \r\nEND\r\n");
	EXPECT("incr n 1 noreply\r\nget n\r\n", "VALUE n 0 20\r\n2                   \r\nEND\r\n");
	EXPECT("incr n x\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n");
	EXPECT("set s 0 0 3\r\nabc\r\n", "STORED\r\n");
	EXPECT("incr s 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
	EXPECT("decr nothere 1\r\n", "NOT_FOUND\r\n");
	assert_int_equal(st.mc_incr_hits, 3);
	assert_int_equal(st.mc_decr_hits, 1);
	assert_int_equal(st.mc_incr_misses, 1);
	assert_int_equal(st.mc_decr_misses, 1);
}

static void test_touch_gat(void **state)
{
	char out[128];

	(void)state;
	EXPECT("touch k 10\r\n", "NOT_FOUND\r\n");
	EXPECT("set k 3 100 1\r\na\r\n", "STORED\r\n");
	EXPECT("touch k 10\r\n", "TOUCHED\r\n");
	EXPECT("mg k t\r\n", "HD t10\r\n");
	EXPECT("gat 500 k\r\n", "VALUE k 3 1\r\na\r\nEND\r\n");
	EXPECT("mg k t\r\n", "HD t500\r\n");
	snprintf(out, sizeof(out), "VALUE k 3 1 %llu\r\na\r\nEND\r\n",
		 (unsigned long long)wc_item_cas(
			 wc_store_lookup(store, "k", 1, wc_store_hash("k", 1))));
	EXPECT("gats 0 k\r\n", out);
	EXPECT("mg k t\r\n", "HD t-1\r\n");
	EXPECT("gat 10\r\n", "END\r\n");
	/* Absolute times, and a negative TTL expires at once. */
	EXPECT("touch k 1700000100\r\nmg k t\r\n", "TOUCHED\r\nHD t100\r\n");
	wc_store_tick(store, T0 + 100);
	EXPECT("get k\r\n", "END\r\n");
	EXPECT("set k 0 -1 1\r\na\r\nget k\r\n", "STORED\r\nEND\r\n");
	EXPECT("set k 0 5 1\r\na\r\n", "STORED\r\n");
	wc_store_tick(store, T0 + 104);
	EXPECT("get k\r\n", "VALUE k 0 1\r\na\r\nEND\r\n");
	wc_store_tick(store, T0 + 105);
	EXPECT("get k\r\n", "END\r\n");
	EXPECT("set k 0 0 1\r\na\r\ntouch k -1 noreply\r\nget k\r\n", "STORED\r\nEND\r\n");
	EXPECT("touch k x\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
	assert_int_equal(st.mc_touch_hits, 5);
}

static void test_flush_version_misc(void **state)
{
	(void)state;
	EXPECT("set a 0 0 1\r\na\r\nflush_all\r\nget a\r\n", "STORED\r\nOK\r\nEND\r\n");
	assert_int_equal(flushed_when, 0);
	EXPECT("set a 0 0 1\r\na\r\nflush_all 10 noreply\r\n", "STORED\r\n");
	assert_int_equal(flushed_when, T0 + 10);
	EXPECT("get a\r\n", "VALUE a 0 1\r\na\r\nEND\r\n");
	wc_store_tick(store, T0 + 10);
	EXPECT("get a\r\n", "END\r\n");
	EXPECT("flush_all noreply\r\n", "");
	EXPECT("flush_all -5\r\n", "OK\r\n");
	assert_int_equal(flushed_when, 0);
	EXPECT("flush_all x\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
	EXPECT("flush_all 1 2 3\r\n", "ERROR\r\n");
	assert_int_equal(flush_calls, 4);
	assert_int_equal(st.mc_cmd_flush, 4);
	EXPECT("version\r\n", "VERSION 1.6.99-wc\r\n");
	EXPECT("verbosity 1\r\n", "OK\r\n");
	EXPECT("verbosity 1 noreply\r\n", "");
	EXPECT("verbosity\r\n", "ERROR\r\n");
	EXPECT("stats\r\n", "STAT pid 42\r\nSTAT version t\r\nEND\r\n");
	EXPECT("stats items\r\n", "STAT items:1:number 0\r\nEND\r\n");
	EXPECT("stats reset\r\n", "RESET\r\n");
	EXPECT("stats nope\r\n", "ERROR\r\n");
	EXPECT("stats detail\r\n", "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
	EXPECT("mn\r\n", "MN\r\n");
	EXPECT("bogus\r\n\r\nGET\r\n", "ERROR\r\nERROR\r\nERROR\r\n");
	/* quit: nothing more is executed. */
	{
		size_t used;
		const char *in = "version\r\nquit\r\nversion\r\n";

		assert_string_equal(runn(in, strlen(in), &used), "VERSION 1.6.99-wc\r\n");
		assert_true(sess.close);
		assert_int_equal(used, strlen("version\r\nquit\r\n"));
	}
}

static void test_too_large(void **state)
{
	static char in[MAX_VALUE + 200];
	size_t n, used;

	(void)state;
	EXPECT("set big 0 0 1\r\na\r\n", "STORED\r\n");
	n = (size_t)snprintf(in, sizeof(in), "set big 0 0 %u\r\n", MAX_VALUE + 1);
	memset(in + n, 'v', MAX_VALUE + 1);
	memcpy(in + n + MAX_VALUE + 1, "\r\nget big\r\n", 11);
	n += MAX_VALUE + 1 + 11;
	/* Fed in two parts: the value's tail is swallowed across calls. */
	assert_string_equal(runn(in, 100, &used), "SERVER_ERROR object too large for cache\r\n");
	assert_int_equal(used, 100);
	assert_true(sess.swallow > 0);
	assert_string_equal(runn(in + 100, n - 100, NULL), "END\r\n");
	/* noreply silences it; add does not drop the old value. */
	EXPECT("set big 0 0 1\r\na\r\n", "STORED\r\n");
	n = (size_t)snprintf(in, sizeof(in), "add big 0 0 %u noreply\r\n", MAX_VALUE + 1);
	memset(in + n, 'v', MAX_VALUE + 1);
	memcpy(in + n + MAX_VALUE + 1, "\r\nget big\r\n", 11);
	assert_string_equal(runn(in, n + MAX_VALUE + 12, NULL), "VALUE big 0 1\r\na\r\nEND\r\n");
	/* ms: always answered, and the key is gone. */
	n = (size_t)snprintf(in, sizeof(in), "ms big %u q\r\n", MAX_VALUE + 1);
	memset(in + n, 'v', MAX_VALUE + 1);
	memcpy(in + n + MAX_VALUE + 1, "\r\nmg big v\r\n", 12);
	assert_string_equal(runn(in, n + MAX_VALUE + 13, NULL),
			    "SERVER_ERROR object too large for cache\r\nEN\r\n");
	/* ms error after the length: the data block is swallowed. */
	EXPECT("ms k 3 MZ\r\nabc\r\nmn\r\n", "CLIENT_ERROR invalid mode for ms M token\r\nMN\r\n");
}

static void test_invalid_leaves_data(void **state)
{
	(void)state;
	EXPECT("set k 0 0 1\r\na\r\n", "STORED\r\n");
	EXPECT("set k 0 0 x\r\nb\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n");
	EXPECT("incr k\r\ndelete\r\nmd k zz\r\nms k 1 MZ\r\nb\r\n",
	       "ERROR\r\nERROR\r\nCLIENT_ERROR invalid or duplicate flag\r\n"
	       "CLIENT_ERROR invalid mode for ms M token\r\n");
	EXPECT("get k\r\n", "VALUE k 0 1\r\na\r\nEND\r\n");
}

static void test_meta_get(void **state)
{
	char out[256];
	uint64_t cas;

	(void)state;
	EXPECT("mg k v\r\n", "EN\r\n");
	EXPECT("mg k v q\r\nmn\r\n", "MN\r\n");
	EXPECT("mg k v k Oxy\r\n", "EN kk Oxy\r\n");
	EXPECT("ms k 3 F7 T100\r\nabc\r\n", "HD\r\n");
	cas = wc_item_cas(wc_store_lookup(store, "k", 1, wc_store_hash("k", 1)));
	EXPECT("mg k\r\n", "HD\r\n");
	EXPECT("mg k q\r\n", "HD\r\n");
	snprintf(out, sizeof(out), "VA 3 s3 t100 c%llu f7 kk Oab\r\nabc\r\n",
		 (unsigned long long)cas);
	EXPECT("mg k v s t c f k Oab\r\n", out);
	EXPECT("mg k h l u\r\n", "HD h1 l0\r\n");
	wc_store_tick(store, T0 + 7);
	EXPECT("mg k l\r\n", "HD l7\r\n");
	EXPECT("mg k t T50\r\nmg k t\r\n", "HD t93\r\nHD t50\r\n");
	/* C: matching CAS drops the value. */
	snprintf(out, sizeof(out), "mg k v C%llu\r\n", (unsigned long long)cas);
	EXPECT(out, "HD\r\n");
	EXPECT("mg k v C999999\r\n", "VA 3\r\nabc\r\n");
	/* Base64 keys. */
	EXPECT("ms Zm9v 2 b\r\nhi\r\n", "HD\r\n");
	EXPECT("mg foo v\r\n", "VA 2\r\nhi\r\n");
	EXPECT("mg Zm9v b v k\r\n", "VA 2 kZm9v b\r\nhi\r\n");
	EXPECT("mg Zm9v b k q\r\n", "HD kZm9v b\r\n");
	EXPECT("mg YmFy b k\r\n", "EN kYmFy b\r\n");
	assert_int_equal(st.mc_cmd_meta, 19);
}

static void test_meta_vivify_recache(void **state)
{
	(void)state;
	/* N: the first client wins, later ones see Z. */
	EXPECT("mg w s v N30 t\r\n", "VA 0 s0 t30 W\r\n\r\n");
	EXPECT("mg w s v N30\r\n", "VA 0 s0 Z\r\n\r\n");
	EXPECT("ms w 3 T60\r\nnew\r\n", "HD\r\n");
	EXPECT("mg w v N30\r\n", "VA 3\r\nnew\r\n");
	/* R: a win when the TTL left is under the token. */
	EXPECT("mg w R30\r\n", "HD\r\n");
	EXPECT("mg w R90\r\n", "HD W\r\n");
	EXPECT("mg w R90\r\n", "HD Z\r\n");
	/* md I: stale, CAS bumped, the next fetch wins. */
	EXPECT("md w I T20\r\n", "HD\r\n");
	EXPECT("mg w v t\r\n", "VA 3 t20 X W\r\nnew\r\n");
	EXPECT("mg w v\r\n", "VA 3 Z X\r\nnew\r\n");
	/* ms I with an older CAS: stored, still stale. */
	EXPECT("ms w 3 I C1\r\nold\r\nmg w v\r\n", "HD\r\nVA 3 Z X\r\nold\r\n");
	EXPECT("ms w 3\r\nfix\r\nmg w v\r\n", "HD\r\nVA 3\r\nfix\r\n");
}

static void test_meta_set(void **state)
{
	char in[128], out[128];
	uint64_t cas;

	(void)state;
	EXPECT("ms k 2 q\r\nab\r\nmn\r\n", "MN\r\n");
	EXPECT("ms k 2 k Oz s\r\nab\r\n", "HD kk Oz s2\r\n");
	EXPECT("ms k 1 ME\r\nx\r\n", "NS\r\n");
	EXPECT("ms k 1 ME q\r\nx\r\n", "NS\r\n");
	EXPECT("ms r 1 MR\r\nx\r\n", "NS\r\n");
	EXPECT("ms k 2 MA s\r\ncd\r\n", "HD s4\r\n");
	EXPECT("ms k 2 MP\r\n01\r\n", "HD\r\n");
	EXPECT("mg k v\r\n", "VA 6\r\n01abcd\r\n");
	EXPECT("ms nope 2 MA\r\nzz\r\n", "NS\r\n");
	EXPECT("ms viv 2 MA N100\r\nzz\r\nmg viv v t\r\n", "HD\r\nVA 2 t100\r\nzz\r\n");
	cas = wc_item_cas(wc_store_lookup(store, "k", 1, wc_store_hash("k", 1)));
	snprintf(in, sizeof(in), "ms k 1 C%llu c\r\nz\r\n", (unsigned long long)cas + 1);
	EXPECT(in, "EX c0\r\n");
	EXPECT("ms nothere 1 C5\r\nz\r\n", "NF\r\n");
	snprintf(in, sizeof(in), "ms k 1 C%llu c F9 T0\r\nz\r\n", (unsigned long long)cas);
	snprintf(out, sizeof(out), "HD c%llu\r\n", (unsigned long long)cas + 1);
	(void)out;
	assert_int_equal(strncmp(run(in), "HD c", 4), 0);
	EXPECT("mg k v f\r\n", "VA 1 f9\r\nz\r\n");
	EXPECT("ms k 1 MS I\r\nx\r\n", "HD\r\n");
	EXPECT("ms k 1 S\r\nx\r\n", "CLIENT_ERROR invalid flag\r\n");
	EXPECT("ms k 1 Fx\r\nx\r\n", "CLIENT_ERROR bad command line format\r\n");
	EXPECT("ms k 1 b\r\nx\r\n", "CLIENT_ERROR error decoding key\r\n");
	EXPECT("ms k 1\r\nxy\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n");
	EXPECT("ms k 1 T-1\r\nx\r\nmg k\r\n", "HD\r\nEN\r\n");
	/* E: the client picks the new CAS unique. */
	EXPECT("ms e 1 E77\r\nx\r\nmg e c\r\n", "HD\r\nHD c77\r\n");
	EXPECT("ms e 1 C77 E91\r\ny\r\nmg e c v\r\n", "HD\r\nVA 1 c91\r\ny\r\n");
}

/* memcached answers an append it cannot make room for with NOT_STORED. */
static void test_append_too_big(void **state)
{
	size_t n = 40000, len;
	char *buf = malloc(n + 64);

	(void)state;
	assert_non_null(buf);
	for (int i = 0; i < 3; i++) {
		static const char *const head[] = { "set big 0 0", "append big 0 0", "ms big" };

		if (i < 2)
			len = (size_t)snprintf(buf, 64, "%s %zu\r\n", head[i], n);
		else
			len = (size_t)snprintf(buf, 64, "ms big %zu MA\r\n", n);
		memset(buf + len, 'a' + i, n);
		memcpy(buf + len + n, "\r\n", 2);
		assert_string_equal(runn(buf, len + n + 2, NULL), i == 0   ? "STORED\r\n"
								  : i == 1 ? "NOT_STORED\r\n"
									   : "NS\r\n");
	}
	free(buf);
	/* The value before the refused appends is intact. */
	EXPECT("mg big s\r\n", "HD s40000\r\n");
}

static void test_meta_delete(void **state)
{
	char in[64];
	uint64_t cas;

	(void)state;
	EXPECT("md k\r\n", "NF\r\n");
	EXPECT("md k q Oa k\r\n", "NF Oa kk\r\n");
	EXPECT("ms k 1\r\na\r\n", "HD\r\n");
	EXPECT("md k C999\r\n", "EX\r\n");
	cas = wc_item_cas(wc_store_lookup(store, "k", 1, wc_store_hash("k", 1)));
	snprintf(in, sizeof(in), "md k C%llu Oz\r\n", (unsigned long long)cas);
	EXPECT(in, "HD Oz\r\n");
	EXPECT("mg k\r\n", "EN\r\n");
	EXPECT("ms k 1\r\na\r\nmd k q\r\nmg k\r\n", "HD\r\nEN\r\n");
	/* x: the value goes, the item stays. */
	EXPECT("ms k 3\r\nabc\r\nmd k x\r\nmg k v\r\n", "HD\r\nHD\r\nVA 0\r\n\r\n");
	EXPECT("md Zm9v b k\r\n", "NF kZm9v b\r\n");
	assert_int_equal(st.mc_delete_hits, 3);
}

static void test_meta_arith(void **state)
{
	(void)state;
	EXPECT("ma n\r\n", "NF\r\n");
	EXPECT("ma n q\r\n", "NF\r\n");
	EXPECT("ma n N0 J10 v\r\n", "VA 2\r\n10\r\n");
	EXPECT("ma n v\r\n", "VA 2\r\n11\r\n");
	EXPECT("ma n D9 v t\r\n", "VA 2 t-1\r\n20\r\n");
	EXPECT("ma n MD D100 v\r\n", "VA 1\r\n0\r\n");
	EXPECT("ma n M- D1 v\r\n", "VA 1\r\n0\r\n");
	EXPECT("ma n M+ D18446744073709551615 v\r\n", "VA 20\r\n18446744073709551615\r\n");
	EXPECT("ma n v\r\n", "VA 1\r\n0\r\n");
	EXPECT("ma n q\r\nmn\r\n", "MN\r\n");
	EXPECT("ma n T30 t k Oo\r\n", "HD t30 kn Oo\r\n");
	EXPECT("ma n C1\r\n", "EX\r\n");
	EXPECT("ma n Dx\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n");
	EXPECT("ms s 1\r\nx\r\nma s\r\n",
	       "HD\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
	EXPECT("ma v N100 J7 t v\r\n", "VA 1 t100\r\n7\r\n");
	/* A miss vivified under q is still answered (memcached 1.6). */
	EXPECT("ma y v q N0\r\n", "VA 1\r\n0\r\n");
	EXPECT("ma y2 q N0\r\n", "HD\r\n");
	EXPECT("ma y2 q\r\nmn\r\n", "MN\r\n");
	/* As memcached: a number rewritten in place stays fetched, a longer one
	 * is a new item and starts unfetched. */
	EXPECT("ms z 1 T0\r\n1\r\nmg z h\r\n", "HD\r\nHD h0\r\n");
	EXPECT("incr z 1\r\nmg z h\r\n", "2\r\nHD h1\r\n");
	EXPECT("incr z 10\r\nmg z h\r\nmg z h\r\n", "12\r\nHD h0\r\nHD h1\r\n");
	EXPECT("append z 0 0 1\r\n3\r\nmg z h\r\n", "STORED\r\nHD h0\r\n");
}

static void test_meta_debug(void **state)
{
	char out[128];
	uint64_t cas;

	(void)state;
	EXPECT("me k\r\n", "EN\r\n");
	EXPECT("ms k 3 T100\r\nabc\r\n", "HD\r\n");
	cas = wc_item_cas(wc_store_lookup(store, "k", 1, wc_store_hash("k", 1)));
	snprintf(out, sizeof(out), "ME k exp=-100 la=0 cas=%llu fetch=no cls=1 size=63\r\n",
		 (unsigned long long)cas);
	EXPECT("me k\r\n", out);
	EXPECT("ms Zm9v 1\r\nz\r\nme Zm9v b\r\n", "HD\r\nEN\r\n");
	EXPECT("ms Zm9v 1 b\r\nz\r\n", "HD\r\n");
	assert_int_equal(strncmp(run("me Zm9v b\r\n"), "ME Zm9v exp=-1 la=0 cas=", 24), 0);
	EXPECT("me\r\n", "CLIENT_ERROR bad command line format\r\n");
}

/* Whatever the bytes, the executor answers and moves on. */
static void test_garbage(void **state)
{
	static uint8_t buf[4096];
	uint32_t seed = 12345;
	int round;

	(void)state;
	for (round = 0; round < 300; round++) {
		size_t n = 1 + (size_t)(seed % sizeof(buf)), i, used;
		struct wc_out o;

		for (i = 0; i < n; i++) {
			static const char alpha[] = "gemsadtv \r\n0123456789kNTRIqcfO-bCMEx";

			seed = seed * 1103515245u + 12345u;
			buf[i] = (uint8_t)alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		memset(&sess, 0, sizeof(sess));
		wc_out_init_flat(&o, outbuf, sizeof(outbuf));
		used = wc_mc_process(&ctx, &sess, buf, n, &o);
		assert_true(used <= n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_every_boundary),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test_setup_teardown(test_get_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incr_decr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_touch_gat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_version_misc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_leaves_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_vivify_recache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_arith, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta_debug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
	};

	if (wc_test_eal_init("test_mc") != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
