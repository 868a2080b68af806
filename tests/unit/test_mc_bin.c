/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached binary protocol: wc_mc_bin_process() over a real store
 * partition, every opcode with the exact response memcached 1.6.18 sends
 * (headers, error bodies, CAS rules, quiet variants), malformed headers,
 * limits, pipelining, requests cut at every byte, and the hand-off of
 * writes to another partition.
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
#include "dataplane/proto/mc_bin.h"
#include "store/store.h"
#include "eal_helper.h"

#define T0	  1700000000u
#define MAX_VALUE (64 * 1024)
#define MAX_RESP  512

static struct wc_store *store, *store2;
static struct wc_lcore_stats st;
static uint32_t flushed_when;
static int flush_calls;
static uint8_t in[4 * MAX_VALUE];
static size_t inlen;
static uint8_t outbuf[1 << 20];
static size_t outlen;
static uint8_t scratch[MAX_VALUE];

/* ---------------- fixtures ---------------- */

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
	if (sublen == 8 && strcmp(sub, "settings") == 0) {
		wc_mc_stat_u64(out, "maxbytes", 1024);
		return 0;
	}
	if (sublen == 4 && memcmp(sub, "many", 4) == 0) {
		char name[32];

		/* More than one window of the converting sink. */
		for (int i = 0; i < 200; i++) {
			snprintf(name, sizeof(name), "stat_number_%d", i);
			wc_mc_stat_u64(out, name, (uint64_t)i * 1000003u);
		}
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
	.flush = flush_hook,
};

static struct wc_mc_ctx ctx;
static struct wc_mc_session sess;

static struct wc_store *make_store(void)
{
	static int n;
	char name[32];
	struct wc_store_config cfg = {
		.name = name,
		.mem_limit = 8u << 20,
		.max_item_size = MAX_VALUE + 1024,
		.socket_id = SOCKET_ID_ANY,
	};
	struct wc_store *s;

	snprintf(name, sizeof(name), "tmcb%d", n++);
	s = wc_store_create(&cfg);
	if (s != NULL)
		wc_store_tick(s, T0);
	return s;
}

static int setup(void **state)
{
	(void)state;
	store = make_store();
	if (store == NULL)
		return -1;
	srv.max_item_size = MAX_VALUE;
	memset(&st, 0, sizeof(st));
	memset(&sess, 0, sizeof(sess));
	memset(&ctx, 0, sizeof(ctx));
	srv.flush_arg = store;
	ctx.srv = &srv;
	ctx.store = store;
	ctx.st = &st;
	flush_calls = 0;
	inlen = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wc_store_destroy(store);
	wc_store_destroy(store2);
	store = store2 = NULL;
	return 0;
}

/* ---------------- requests ---------------- */

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* A header with the lengths given, whatever follows. */
static void hdr(uint8_t magic, uint8_t op, uint16_t keylen, uint8_t extlen, uint32_t bodylen,
		uint32_t opaque, uint64_t cas)
{
	uint8_t *p = in + inlen;

	memset(p, 0, WC_MC_BIN_HDR);
	p[0] = magic;
	p[1] = op;
	put_be(p + 2, keylen, 2);
	p[4] = extlen;
	put_be(p + 8, bodylen, 4);
	put_be(p + 12, opaque, 4);
	put_be(p + 16, cas, 8);
	inlen += WC_MC_BIN_HDR;
}

static void raw(const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(in + inlen, p, n);
	inlen += n;
}

/* A well-formed request appended to the input. */
static void req(uint8_t op, const char *key, const void *ext, uint8_t extlen, const void *val,
		size_t vlen, uint32_t opaque, uint64_t cas)
{
	size_t kl = key != NULL ? strlen(key) : 0;

	hdr(WC_MC_BIN_REQ_MAGIC, op, (uint16_t)kl, extlen, (uint32_t)(extlen + kl + vlen), opaque,
	    cas);
	raw(ext, extlen);
	raw(key, kl);
	raw(val, vlen);
}

static void op_key(uint8_t op, const char *key, uint32_t opaque)
{
	req(op, key, NULL, 0, NULL, 0, opaque, 0);
}

static void op_store(uint8_t op, const char *key, const char *val, uint32_t flags, uint32_t exp,
		     uint32_t opaque, uint64_t cas)
{
	uint8_t e[8];

	put_be(e, flags, 4);
	put_be(e + 4, exp, 4);
	req(op, key, e, 8, val, strlen(val), opaque, cas);
}

static void op_append(uint8_t op, const char *key, const char *val, uint32_t opaque, uint64_t cas)
{
	req(op, key, NULL, 0, val, strlen(val), opaque, cas);
}

static void op_arith(uint8_t op, const char *key, uint64_t delta, uint64_t initial, uint32_t exp,
		     uint32_t opaque, uint64_t cas)
{
	uint8_t e[20];

	put_be(e, delta, 8);
	put_be(e + 8, initial, 8);
	put_be(e + 16, exp, 4);
	req(op, key, e, 20, NULL, 0, opaque, cas);
}

static void op_exp(uint8_t op, const char *key, uint32_t exp, uint32_t opaque)
{
	uint8_t e[4];

	put_be(e, exp, 4);
	req(op, key, e, 4, NULL, 0, opaque, 0);
}

/* ---------------- responses ---------------- */

struct resp {
	uint8_t magic, opcode, extlen, datatype;
	uint16_t keylen, status;
	uint32_t bodylen, opaque;
	uint64_t cas;
	const uint8_t *ext, *key, *val;
	uint32_t vlen;
};

static struct resp rs[MAX_RESP];
static size_t nrs;

/* Split @p n bytes of output into responses; every byte must belong to one. */
static size_t split(const uint8_t *p, size_t n, struct resp *out, size_t max)
{
	size_t cnt = 0, off = 0;

	while (off < n) {
		struct resp *r = &out[cnt++];

		assert_true(cnt <= max);
		assert_true(n - off >= WC_MC_BIN_HDR);
		r->magic = p[off];
		r->opcode = p[off + 1];
		r->keylen = (uint16_t)get_be(p + off + 2, 2);
		r->extlen = p[off + 4];
		r->datatype = p[off + 5];
		r->status = (uint16_t)get_be(p + off + 6, 2);
		r->bodylen = (uint32_t)get_be(p + off + 8, 4);
		r->opaque = (uint32_t)get_be(p + off + 12, 4);
		r->cas = get_be(p + off + 16, 8);
		assert_true(n - off - WC_MC_BIN_HDR >= r->bodylen);
		assert_true((uint32_t)r->extlen + r->keylen <= r->bodylen);
		r->ext = p + off + WC_MC_BIN_HDR;
		r->key = r->ext + r->extlen;
		r->val = r->key + r->keylen;
		r->vlen = r->bodylen - r->extlen - r->keylen;
		assert_int_equal(r->magic, WC_MC_BIN_RES_MAGIC);
		assert_int_equal(r->datatype, 0);
		off += WC_MC_BIN_HDR + r->bodylen;
	}
	return cnt;
}

/* Run @p len bytes; @return bytes consumed. Output in outbuf/outlen. */
static size_t feed(const uint8_t *p, size_t len)
{
	struct wc_out o;
	size_t used;

	wc_out_init_flat(&o, outbuf, sizeof(outbuf));
	used = wc_mc_bin_process(&ctx, &sess, p, len, &o);
	assert_false(o.overflow);
	assert_true(used <= len);
	outlen = o.written;
	return used;
}

static void dump(void)
{
	for (size_t i = 0; i < nrs; i++)
		fprintf(stderr, "%zu: op %#x status %#x opaque %u ext %u key %.*s val %.*s\n", i,
			rs[i].opcode, rs[i].status, rs[i].opaque, rs[i].extlen, rs[i].keylen,
			rs[i].key, (int)(rs[i].vlen < 40 ? rs[i].vlen : 40), rs[i].val);
}

/* Run the whole input, which must be consumed; split the responses. */
static size_t run(void)
{
	assert_int_equal(feed(in, inlen), inlen);
	inlen = 0;
	nrs = split(outbuf, outlen, rs, MAX_RESP);
	if (getenv("DUMP"))
		dump();
	return nrs;
}

static void expect_hdr(size_t i, uint8_t op, uint16_t status, uint32_t opaque)
{
	if (i >= nrs)
		fail_msg("response %zu of %zu", i, nrs);
	if (rs[i].opcode != op || rs[i].status != status || rs[i].opaque != opaque)
		fail_msg("response %zu: opcode %#x status %#x opaque %u, want %#x %#x %u", i,
			 rs[i].opcode, rs[i].status, rs[i].opaque, op, status, opaque);
}

/* An error with memcached's text and CAS 0. */
static void expect_err(size_t i, uint8_t op, uint16_t status, const char *text, uint32_t opaque)
{
	expect_hdr(i, op, status, opaque);
	assert_int_equal(rs[i].extlen, 0);
	assert_int_equal(rs[i].keylen, 0);
	assert_int_equal(rs[i].vlen, strlen(text));
	assert_memory_equal(rs[i].val, text, strlen(text));
	assert_true(rs[i].cas == 0);
}

/* An empty success. */
static void expect_ok(size_t i, uint8_t op, uint32_t opaque)
{
	expect_hdr(i, op, WC_MC_BIN_OK, opaque);
	assert_int_equal(rs[i].bodylen, 0);
}

/* A value with its flags (and key, for the K opcodes). */
static void expect_val(size_t i, uint8_t op, uint32_t opaque, uint32_t flags, const char *key,
		       const char *val)
{
	expect_hdr(i, op, WC_MC_BIN_OK, opaque);
	assert_int_equal(rs[i].extlen, 4);
	assert_int_equal(get_be(rs[i].ext, 4), flags);
	assert_int_equal(rs[i].keylen, key != NULL ? strlen(key) : 0);
	if (key != NULL)
		assert_memory_equal(rs[i].key, key, strlen(key));
	assert_int_equal(rs[i].vlen, strlen(val));
	assert_memory_equal(rs[i].val, val, strlen(val));
	assert_true(rs[i].cas != 0);
}

static void expect_number(size_t i, uint8_t op, uint32_t opaque, uint64_t v)
{
	expect_hdr(i, op, WC_MC_BIN_OK, opaque);
	assert_int_equal(rs[i].extlen, 0);
	assert_int_equal(rs[i].keylen, 0);
	assert_int_equal(rs[i].vlen, 8);
	assert_true(get_be(rs[i].val, 8) == v);
	assert_true(rs[i].cas != 0);
}

#define ENOENT_TXT  "Not found"
#define EEXISTS_TXT "Data exists for key."
#define E2BIG_TXT   "Too large."
#define EINVAL_TXT  "Invalid arguments"
#define NSTORED_TXT "Not stored."
#define BADVAL_TXT  "Non-numeric server-side value for incr or decr"
#define UNKNOWN_TXT "Unknown command"

/* ---------------- tests ---------------- */

static void test_get_set(void **state)
{
	(void)state;
	op_store(WC_MC_BIN_OP_SET, "k", "hello", 0xdeadbeef, 0, 1, 0);
	op_key(WC_MC_BIN_OP_GET, "k", 2);
	op_key(WC_MC_BIN_OP_GETK, "k", 3);
	op_key(WC_MC_BIN_OP_GETQ, "k", 4);
	op_key(WC_MC_BIN_OP_GETKQ, "k", 5);
	op_key(WC_MC_BIN_OP_GET, "nope", 6);
	op_key(WC_MC_BIN_OP_GETK, "nope", 7);
	assert_int_equal(run(), 7);
	expect_ok(0, WC_MC_BIN_OP_SET, 1);
	assert_true(rs[0].cas != 0);
	expect_val(1, WC_MC_BIN_OP_GET, 2, 0xdeadbeef, NULL, "hello");
	assert_true(rs[1].cas == rs[0].cas);
	expect_val(2, WC_MC_BIN_OP_GETK, 3, 0xdeadbeef, "k", "hello");
	expect_val(3, WC_MC_BIN_OP_GETQ, 4, 0xdeadbeef, NULL, "hello");
	expect_val(4, WC_MC_BIN_OP_GETKQ, 5, 0xdeadbeef, "k", "hello");
	expect_err(5, WC_MC_BIN_OP_GET, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 6);
	/* GETK's miss carries the key, and no text. */
	expect_hdr(6, WC_MC_BIN_OP_GETK, WC_MC_BIN_KEY_ENOENT, 7);
	assert_int_equal(rs[6].keylen, 4);
	assert_int_equal(rs[6].bodylen, 4);
	assert_memory_equal(rs[6].key, "nope", 4);
	assert_true(rs[6].cas == 0);
	assert_int_equal(st.mc_cmd_get, 6);
	assert_int_equal(st.mc_get_hits, 4);
	assert_int_equal(st.mc_get_misses, 2);

	/* An empty value; the opaque is echoed whole. */
	op_store(WC_MC_BIN_OP_SET, "e", "", 0, 0, 0xfffffffe, 0);
	op_key(WC_MC_BIN_OP_GETK, "e", 0x80000001);
	assert_int_equal(run(), 2);
	expect_ok(0, WC_MC_BIN_OP_SET, 0xfffffffe);
	expect_val(1, WC_MC_BIN_OP_GETK, 0x80000001, 0, "e", "");
}

static void test_add_replace_append(void **state)
{
	(void)state;
	op_store(WC_MC_BIN_OP_ADD, "k", "a", 1, 0, 1, 0);
	op_store(WC_MC_BIN_OP_ADD, "k", "b", 2, 0, 2, 0);
	op_store(WC_MC_BIN_OP_REPLACE, "k", "c", 3, 0, 3, 0);
	op_store(WC_MC_BIN_OP_REPLACE, "x", "c", 3, 0, 4, 0);
	op_append(WC_MC_BIN_OP_APPEND, "k", "++", 5, 0);
	op_append(WC_MC_BIN_OP_PREPEND, "k", "--", 6, 0);
	op_append(WC_MC_BIN_OP_APPEND, "x", "++", 7, 0);
	op_append(WC_MC_BIN_OP_PREPEND, "x", "--", 8, 0);
	op_key(WC_MC_BIN_OP_GET, "k", 9);
	op_key(WC_MC_BIN_OP_GET, "x", 10);
	assert_int_equal(run(), 10);
	expect_ok(0, WC_MC_BIN_OP_ADD, 1);
	expect_err(1, WC_MC_BIN_OP_ADD, WC_MC_BIN_KEY_EEXISTS, EEXISTS_TXT, 2);
	expect_ok(2, WC_MC_BIN_OP_REPLACE, 3);
	expect_err(3, WC_MC_BIN_OP_REPLACE, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 4);
	expect_ok(4, WC_MC_BIN_OP_APPEND, 5);
	expect_ok(5, WC_MC_BIN_OP_PREPEND, 6);
	expect_err(6, WC_MC_BIN_OP_APPEND, WC_MC_BIN_NOT_STORED, NSTORED_TXT, 7);
	expect_err(7, WC_MC_BIN_OP_PREPEND, WC_MC_BIN_NOT_STORED, NSTORED_TXT, 8);
	/* Append keeps the item's flags. */
	expect_val(8, WC_MC_BIN_OP_GET, 9, 3, NULL, "--c++");
	expect_err(9, WC_MC_BIN_OP_GET, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 10);
}

static void test_quiet(void **state)
{
	(void)state;
	/* Successes are silent, errors and get hits are not. */
	op_store(WC_MC_BIN_OP_SETQ, "k", "v", 0, 0, 1, 0);
	op_key(WC_MC_BIN_OP_GETQ, "k", 2);
	op_key(WC_MC_BIN_OP_GETKQ, "k", 3);
	op_key(WC_MC_BIN_OP_GETQ, "miss", 4);
	op_key(WC_MC_BIN_OP_GETKQ, "miss", 5);
	op_append(WC_MC_BIN_OP_APPENDQ, "k", "w", 6, 0);
	op_append(WC_MC_BIN_OP_PREPENDQ, "k", "u", 7, 0);
	op_store(WC_MC_BIN_OP_ADDQ, "k", "z", 0, 0, 8, 0);
	op_store(WC_MC_BIN_OP_REPLACEQ, "k", "r", 0, 0, 9, 0);
	op_store(WC_MC_BIN_OP_REPLACEQ, "miss", "r", 0, 0, 10, 0);
	op_append(WC_MC_BIN_OP_APPENDQ, "miss", "r", 11, 0);
	op_store(WC_MC_BIN_OP_ADDQ, "n", "5", 0, 0, 12, 0);
	op_arith(WC_MC_BIN_OP_INCREMENTQ, "n", 2, 0, 0, 13, 0);
	op_arith(WC_MC_BIN_OP_DECREMENTQ, "n", 1, 0, 0, 14, 0);
	op_arith(WC_MC_BIN_OP_INCREMENTQ, "m", 1, 0, 0xffffffff, 15, 0);
	op_arith(WC_MC_BIN_OP_DECREMENTQ, "c", 1, 9, 0, 16, 0); /* created: silent */
	op_key(WC_MC_BIN_OP_DELETEQ, "k", 17);
	op_key(WC_MC_BIN_OP_DELETEQ, "k", 18);
	op_exp(WC_MC_BIN_OP_GATQ, "n", 100, 19);
	op_exp(WC_MC_BIN_OP_GATKQ, "n", 100, 20);
	op_exp(WC_MC_BIN_OP_GATQ, "miss", 100, 21);
	op_exp(WC_MC_BIN_OP_GATKQ, "miss", 100, 22);
	op_key(WC_MC_BIN_OP_GET, "c", 23);
	req(WC_MC_BIN_OP_FLUSHQ, NULL, NULL, 0, NULL, 0, 24, 0);
	op_key(WC_MC_BIN_OP_GETQ, "n", 25);
	req(WC_MC_BIN_OP_NOOP, NULL, NULL, 0, NULL, 0, 26, 0);
	assert_int_equal(run(), 11);
	expect_val(0, WC_MC_BIN_OP_GETQ, 2, 0, NULL, "v");
	expect_val(1, WC_MC_BIN_OP_GETKQ, 3, 0, "k", "v");
	expect_err(2, WC_MC_BIN_OP_ADDQ, WC_MC_BIN_KEY_EEXISTS, EEXISTS_TXT, 8);
	expect_err(3, WC_MC_BIN_OP_REPLACEQ, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 10);
	expect_err(4, WC_MC_BIN_OP_APPENDQ, WC_MC_BIN_NOT_STORED, NSTORED_TXT, 11);
	expect_err(5, WC_MC_BIN_OP_INCREMENTQ, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 15);
	expect_err(6, WC_MC_BIN_OP_DELETEQ, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 18);
	expect_val(7, WC_MC_BIN_OP_GATQ, 19, 0, NULL, "6");
	expect_val(8, WC_MC_BIN_OP_GATKQ, 20, 0, "n", "6");
	expect_val(9, WC_MC_BIN_OP_GET, 23, 0, NULL, "9");
	expect_ok(10, WC_MC_BIN_OP_NOOP, 26);
	assert_int_equal(flush_calls, 1);

	/* QUITQ closes without a word, and nothing after it runs. */
	req(WC_MC_BIN_OP_QUITQ, NULL, NULL, 0, NULL, 0, 1, 0);
	req(WC_MC_BIN_OP_NOOP, NULL, NULL, 0, NULL, 0, 2, 0);
	assert_int_equal(run(), 0);
	assert_true(sess.close);
}

static void test_noop_fences(void **state)
{
	(void)state;
	req(WC_MC_BIN_OP_NOOP, NULL, NULL, 0, NULL, 0, 7, 0);
	assert_int_equal(run(), 1);
	expect_ok(0, WC_MC_BIN_OP_NOOP, 7);
	assert_true(rs[0].cas == 0);
	assert_int_equal(rs[0].extlen, 0);
}

static void test_cas(void **state)
{
	uint64_t cas, cas2;

	(void)state;
	op_store(WC_MC_BIN_OP_SET, "k", "v1", 0, 0, 1, 0);
	assert_int_equal(run(), 1);
	cas = rs[0].cas;
	/* Wrong CAS on set, add, replace, append, delete, incr. */
	op_store(WC_MC_BIN_OP_SET, "k", "x", 0, 0, 2, cas + 1);
	op_store(WC_MC_BIN_OP_ADD, "k", "x", 0, 0, 3, cas + 1);
	op_store(WC_MC_BIN_OP_REPLACE, "k", "x", 0, 0, 4, cas + 1);
	op_append(WC_MC_BIN_OP_APPEND, "k", "x", 5, cas + 1);
	req(WC_MC_BIN_OP_DELETE, "k", NULL, 0, NULL, 0, 6, cas + 1);
	op_store(WC_MC_BIN_OP_SETQ, "k", "x", 0, 0, 7, cas + 1);
	/* CAS on a key that is not there. */
	op_store(WC_MC_BIN_OP_SET, "none", "x", 0, 0, 8, 5);
	op_store(WC_MC_BIN_OP_ADD, "none", "x", 0, 0, 9, 5);
	op_append(WC_MC_BIN_OP_APPEND, "none", "x", 10, 5);
	op_key(WC_MC_BIN_OP_GET, "k", 11);
	assert_int_equal(run(), 10);
	expect_err(0, WC_MC_BIN_OP_SET, WC_MC_BIN_KEY_EEXISTS, EEXISTS_TXT, 2);
	expect_err(1, WC_MC_BIN_OP_ADD, WC_MC_BIN_KEY_EEXISTS, EEXISTS_TXT, 3);
	expect_err(2, WC_MC_BIN_OP_REPLACE, WC_MC_BIN_KEY_EEXISTS, EEXISTS_TXT, 4);
	expect_err(3, WC_MC_BIN_OP_APPEND, WC_MC_BIN_KEY_EEXISTS, EEXISTS_TXT, 5);
	expect_err(4, WC_MC_BIN_OP_DELETE, WC_MC_BIN_KEY_EEXISTS, EEXISTS_TXT, 6);
	expect_err(5, WC_MC_BIN_OP_SETQ, WC_MC_BIN_KEY_EEXISTS, EEXISTS_TXT, 7);
	expect_err(6, WC_MC_BIN_OP_SET, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 8);
	expect_err(7, WC_MC_BIN_OP_ADD, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 9);
	expect_err(8, WC_MC_BIN_OP_APPEND, WC_MC_BIN_NOT_STORED, NSTORED_TXT, 10);
	expect_val(9, WC_MC_BIN_OP_GET, 11, 0, NULL, "v1");
	assert_true(rs[9].cas == cas);
	assert_int_equal(st.mc_cas_badval, 4);
	assert_int_equal(st.mc_cas_misses, 2);

	/* The right CAS: even add stores (memcached makes it a cas). */
	op_store(WC_MC_BIN_OP_ADD, "k", "v2", 4, 0, 1, cas);
	assert_int_equal(run(), 1);
	expect_ok(0, WC_MC_BIN_OP_ADD, 1);
	cas2 = rs[0].cas;
	assert_true(cas2 != cas && cas2 != 0);
	op_append(WC_MC_BIN_OP_APPEND, "k", "+", 2, cas2);
	assert_int_equal(run(), 1);
	expect_ok(0, WC_MC_BIN_OP_APPEND, 2);
	cas = rs[0].cas;
	op_store(WC_MC_BIN_OP_REPLACE, "k", "v3", 5, 0, 3, cas);
	op_key(WC_MC_BIN_OP_GET, "k", 4);
	assert_int_equal(run(), 2);
	expect_ok(0, WC_MC_BIN_OP_REPLACE, 3);
	expect_val(1, WC_MC_BIN_OP_GET, 4, 5, NULL, "v3");
	cas = rs[1].cas;
	assert_true(rs[0].cas == cas);
	/* Delete with the right CAS answers CAS 0, as memcached. */
	req(WC_MC_BIN_OP_DELETE, "k", NULL, 0, NULL, 0, 5, cas);
	op_key(WC_MC_BIN_OP_DELETE, "k", 6);
	assert_int_equal(run(), 2);
	expect_ok(0, WC_MC_BIN_OP_DELETE, 5);
	assert_true(rs[0].cas == 0);
	expect_err(1, WC_MC_BIN_OP_DELETE, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 6);
	assert_int_equal(st.mc_delete_hits, 1);
	assert_int_equal(st.mc_delete_misses, 1);
}

static void test_incr_decr(void **state)
{
	uint64_t cas;

	(void)state;
	op_arith(WC_MC_BIN_OP_INCREMENT, "n", 5, 10, 0, 1, 0);
	op_arith(WC_MC_BIN_OP_INCREMENT, "n", 5, 10, 0, 2, 0);
	op_arith(WC_MC_BIN_OP_DECREMENT, "n", 100, 10, 0, 3, 0);
	op_arith(WC_MC_BIN_OP_INCREMENT, "m", 5, 10, 0xffffffff, 4, 0);
	op_arith(WC_MC_BIN_OP_DECREMENT, "m", 5, 10, 0xffffffff, 5, 0);
	op_store(WC_MC_BIN_OP_SET, "s", "abc", 0, 0, 6, 0);
	op_arith(WC_MC_BIN_OP_INCREMENT, "s", 1, 0, 0, 7, 0);
	op_store(WC_MC_BIN_OP_SET, "w", "18446744073709551615", 0, 0, 8, 0);
	op_arith(WC_MC_BIN_OP_INCREMENT, "w", 2, 0, 0, 9, 0);
	op_key(WC_MC_BIN_OP_GET, "w", 10);
	op_arith(WC_MC_BIN_OP_INCREMENT, "big", 1, UINT64_MAX, 0, 11, 0);
	op_arith(WC_MC_BIN_OP_INCREMENT, "big", 1, 0, 0, 12, 0);
	op_key(WC_MC_BIN_OP_GET, "n", 13);
	assert_int_equal(run(), 13);
	expect_number(0, WC_MC_BIN_OP_INCREMENT, 1, 10); /* created with the initial */
	expect_number(1, WC_MC_BIN_OP_INCREMENT, 2, 15);
	expect_number(2, WC_MC_BIN_OP_DECREMENT, 3, 0); /* stops at 0 */
	expect_err(3, WC_MC_BIN_OP_INCREMENT, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 4);
	expect_err(4, WC_MC_BIN_OP_DECREMENT, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 5);
	expect_ok(5, WC_MC_BIN_OP_SET, 6);
	expect_err(6, WC_MC_BIN_OP_INCREMENT, WC_MC_BIN_DELTA_BADVAL, BADVAL_TXT, 7);
	expect_ok(7, WC_MC_BIN_OP_SET, 8);
	expect_number(8, WC_MC_BIN_OP_INCREMENT, 9, 1); /* wraps at 2^64 */
	/* memcached keeps the length, padded with spaces. */
	expect_val(9, WC_MC_BIN_OP_GET, 10, 0, NULL, "1                   ");
	expect_number(10, WC_MC_BIN_OP_INCREMENT, 11, UINT64_MAX);
	expect_number(11, WC_MC_BIN_OP_INCREMENT, 12, 0);
	/* Shorter results keep the length too. */
	expect_val(12, WC_MC_BIN_OP_GET, 13, 0, NULL, "0 ");
	cas = rs[12].cas;
	assert_true(rs[2].cas == cas);
	assert_int_equal(st.mc_incr_hits, 3);
	assert_int_equal(st.mc_decr_hits, 1);
	assert_int_equal(st.mc_incr_misses, 1);
	assert_int_equal(st.mc_decr_misses, 1);

	/* A non-zero CAS must match. */
	op_arith(WC_MC_BIN_OP_INCREMENT, "n", 1, 0, 0, 1, cas + 1);
	op_arith(WC_MC_BIN_OP_INCREMENT, "n", 1, 0, 0, 2, cas);
	assert_int_equal(run(), 2);
	expect_err(0, WC_MC_BIN_OP_INCREMENT, WC_MC_BIN_KEY_EEXISTS, EEXISTS_TXT, 1);
	expect_number(1, WC_MC_BIN_OP_INCREMENT, 2, 1);

	/* A created counter takes the exptime. */
	op_arith(WC_MC_BIN_OP_INCREMENT, "t", 1, 7, 100, 1, 0);
	assert_int_equal(run(), 1);
	wc_store_tick(store, T0 + 101);
	op_key(WC_MC_BIN_OP_GET, "t", 2);
	assert_int_equal(run(), 1);
	expect_err(0, WC_MC_BIN_OP_GET, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 2);
}

static void test_touch_gat(void **state)
{
	(void)state;
	op_store(WC_MC_BIN_OP_SET, "k", "val", 3, 10, 1, 0);
	op_exp(WC_MC_BIN_OP_TOUCH, "k", 100, 2);
	op_exp(WC_MC_BIN_OP_GAT, "k", 100, 3);
	op_exp(WC_MC_BIN_OP_GATK, "k", 100, 4);
	op_exp(WC_MC_BIN_OP_TOUCH, "x", 100, 5);
	op_exp(WC_MC_BIN_OP_GAT, "x", 100, 6);
	op_exp(WC_MC_BIN_OP_GATK, "x", 100, 7);
	assert_int_equal(run(), 7);
	/* TOUCH answers the flags, no value. */
	expect_hdr(1, WC_MC_BIN_OP_TOUCH, WC_MC_BIN_OK, 2);
	assert_int_equal(rs[1].extlen, 4);
	assert_int_equal(rs[1].bodylen, 4);
	assert_int_equal(get_be(rs[1].ext, 4), 3);
	assert_true(rs[1].cas == rs[0].cas);
	expect_val(2, WC_MC_BIN_OP_GAT, 3, 3, NULL, "val");
	expect_val(3, WC_MC_BIN_OP_GATK, 4, 3, "k", "val");
	expect_err(4, WC_MC_BIN_OP_TOUCH, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 5);
	expect_err(5, WC_MC_BIN_OP_GAT, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 6);
	expect_hdr(6, WC_MC_BIN_OP_GATK, WC_MC_BIN_KEY_ENOENT, 7);
	assert_memory_equal(rs[6].key, "x", 1);
	assert_int_equal(st.mc_cmd_touch, 6);
	assert_int_equal(st.mc_touch_hits, 3);
	assert_int_equal(st.mc_touch_misses, 3);

	/* The new expiry holds: alive past the first, gone past the second. */
	wc_store_tick(store, T0 + 50);
	op_key(WC_MC_BIN_OP_GET, "k", 1);
	assert_int_equal(run(), 1);
	expect_val(0, WC_MC_BIN_OP_GET, 1, 3, NULL, "val");
	wc_store_tick(store, T0 + 101);
	op_key(WC_MC_BIN_OP_GET, "k", 2);
	assert_int_equal(run(), 1);
	expect_err(0, WC_MC_BIN_OP_GET, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 2);

	/* Touch and gat read nothing past the key, whatever bodylen says. */
	op_store(WC_MC_BIN_OP_SET, "k", "v", 0, 0, 1, 0);
	hdr(WC_MC_BIN_REQ_MAGIC, WC_MC_BIN_OP_GAT, 1, 4, 4 + 1 + 24, 2, 0);
	raw("\0\0\0\0k", 5);
	req(WC_MC_BIN_OP_NOOP, NULL, NULL, 0, NULL, 0, 3, 0);
	assert_int_equal(run(), 3);
	expect_val(1, WC_MC_BIN_OP_GAT, 2, 0, NULL, "v");
	expect_ok(2, WC_MC_BIN_OP_NOOP, 3);
}

static void test_exptime(void **state)
{
	(void)state;
	/* Relative, absolute, absolute in the past, and 0xffffffff (far future). */
	op_store(WC_MC_BIN_OP_SET, "rel", "v", 0, 10, 1, 0);
	op_store(WC_MC_BIN_OP_SET, "abs", "v", 0, T0 + 10, 2, 0);
	op_store(WC_MC_BIN_OP_SET, "past", "v", 0, T0 - 10, 3, 0);
	op_store(WC_MC_BIN_OP_SET, "far", "v", 0, 0xffffffff, 4, 0);
	op_key(WC_MC_BIN_OP_GETQ, "rel", 5);
	op_key(WC_MC_BIN_OP_GETQ, "abs", 6);
	op_key(WC_MC_BIN_OP_GETQ, "past", 7);
	op_key(WC_MC_BIN_OP_GETQ, "far", 8);
	assert_int_equal(run(), 7);
	assert_int_equal(rs[4].opaque, 5);
	assert_int_equal(rs[5].opaque, 6);
	assert_int_equal(rs[6].opaque, 8);
	wc_store_tick(store, T0 + 11);
	op_key(WC_MC_BIN_OP_GETQ, "rel", 5);
	op_key(WC_MC_BIN_OP_GETQ, "abs", 6);
	op_key(WC_MC_BIN_OP_GETQ, "far", 8);
	assert_int_equal(run(), 1);
	assert_int_equal(rs[0].opaque, 8);
}

static void test_flush_version_stat(void **state)
{
	uint8_t e[4];

	(void)state;
	op_store(WC_MC_BIN_OP_SET, "k", "v", 0, 0, 1, 0);
	req(WC_MC_BIN_OP_FLUSH, NULL, NULL, 0, NULL, 0, 2, 77);
	op_key(WC_MC_BIN_OP_GET, "k", 3);
	req(WC_MC_BIN_OP_VERSION, NULL, NULL, 0, NULL, 0, 4, 78);
	put_be(e, 30, 4);
	req(WC_MC_BIN_OP_FLUSH, NULL, e, 4, NULL, 0, 5, 0);
	assert_int_equal(run(), 5);
	expect_ok(1, WC_MC_BIN_OP_FLUSH, 2);
	assert_true(rs[1].cas == 0);
	expect_err(2, WC_MC_BIN_OP_GET, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 3);
	expect_hdr(3, WC_MC_BIN_OP_VERSION, WC_MC_BIN_OK, 4);
	assert_int_equal(rs[3].vlen, strlen("1.6.99-wc"));
	assert_memory_equal(rs[3].val, "1.6.99-wc", rs[3].vlen);
	assert_true(rs[3].cas == 0);
	expect_ok(4, WC_MC_BIN_OP_FLUSH, 5);
	assert_int_equal(flush_calls, 2);
	assert_int_equal(flushed_when, T0 + 30);
	assert_int_equal(st.mc_cmd_flush, 2);

	/* Stats: one packet per stat, then an empty one. */
	op_key(WC_MC_BIN_OP_STAT, NULL, 1);
	op_key(WC_MC_BIN_OP_STAT, "settings", 2);
	op_key(WC_MC_BIN_OP_STAT, "settingsX", 3);
	op_key(WC_MC_BIN_OP_STAT, "reset", 4);
	op_key(WC_MC_BIN_OP_STAT, "nosuch", 5);
	op_key(WC_MC_BIN_OP_STAT, "detail", 6);
	op_key(WC_MC_BIN_OP_STAT, "detail on", 7);
	assert_int_equal(run(), 11);
	expect_hdr(0, WC_MC_BIN_OP_STAT, WC_MC_BIN_OK, 1);
	assert_int_equal(rs[0].keylen, 3);
	assert_memory_equal(rs[0].key, "pid", 3);
	assert_int_equal(rs[0].vlen, 2);
	assert_memory_equal(rs[0].val, "42", 2);
	assert_memory_equal(rs[1].key, "version", 7);
	assert_memory_equal(rs[1].val, "t", 1);
	expect_ok(2, WC_MC_BIN_OP_STAT, 1);
	assert_memory_equal(rs[3].key, "maxbytes", 8);
	expect_ok(4, WC_MC_BIN_OP_STAT, 2);
	assert_memory_equal(rs[5].key, "maxbytes", 8);
	expect_ok(6, WC_MC_BIN_OP_STAT, 3);
	expect_ok(7, WC_MC_BIN_OP_STAT, 4);
	expect_err(8, WC_MC_BIN_OP_STAT, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 5);
	expect_err(9, WC_MC_BIN_OP_STAT, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 6);
	expect_ok(10, WC_MC_BIN_OP_STAT, 7);

	/* More stats than the converting window holds at once. */
	op_key(WC_MC_BIN_OP_STAT, "many", 9);
	assert_int_equal(run(), 201);
	for (int i = 0; i < 200; i++) {
		char name[32], val[32];

		snprintf(name, sizeof(name), "stat_number_%d", i);
		snprintf(val, sizeof(val), "%llu", (unsigned long long)i * 1000003u);
		expect_hdr((size_t)i, WC_MC_BIN_OP_STAT, WC_MC_BIN_OK, 9);
		assert_int_equal(rs[i].keylen, strlen(name));
		assert_memory_equal(rs[i].key, name, strlen(name));
		assert_int_equal(rs[i].vlen, strlen(val));
		assert_memory_equal(rs[i].val, val, strlen(val));
	}
	expect_ok(200, WC_MC_BIN_OP_STAT, 9);
}

static void test_quit(void **state)
{
	(void)state;
	req(WC_MC_BIN_OP_QUIT, NULL, NULL, 0, NULL, 0, 5, 0);
	req(WC_MC_BIN_OP_NOOP, NULL, NULL, 0, NULL, 0, 6, 0);
	assert_int_equal(run(), 1);
	expect_ok(0, WC_MC_BIN_OP_QUIT, 5);
	assert_true(sess.close);
}

static void test_unknown_and_sasl(void **state)
{
	uint8_t e[4] = { 0, 0, 0, 1 };

	(void)state;
	req(0xff, NULL, NULL, 0, NULL, 0, 1, 0);
	req(0x30, "key", NULL, 0, "value", 5, 2, 0);
	req(WC_MC_BIN_OP_VERBOSITY, NULL, e, 4, NULL, 0, 3, 0);
	req(WC_MC_BIN_OP_SASL_LIST_MECHS, NULL, NULL, 0, NULL, 0, 4, 0);
	req(WC_MC_BIN_OP_SASL_AUTH, "PLAIN", NULL, 0, "\0u\0p", 4, 5, 0);
	req(WC_MC_BIN_OP_SASL_STEP, "PLAIN", NULL, 0, "xx", 2, 6, 0);
	req(WC_MC_BIN_OP_NOOP, NULL, NULL, 0, NULL, 0, 7, 0);
	assert_int_equal(run(), 7);
	expect_err(0, 0xff, WC_MC_BIN_UNKNOWN_COMMAND, UNKNOWN_TXT, 1);
	expect_err(1, 0x30, WC_MC_BIN_UNKNOWN_COMMAND, UNKNOWN_TXT, 2);
	expect_err(2, WC_MC_BIN_OP_VERBOSITY, WC_MC_BIN_UNKNOWN_COMMAND, UNKNOWN_TXT, 3);
	expect_err(3, WC_MC_BIN_OP_SASL_LIST_MECHS, WC_MC_BIN_UNKNOWN_COMMAND, UNKNOWN_TXT, 4);
	expect_err(4, WC_MC_BIN_OP_SASL_AUTH, WC_MC_BIN_UNKNOWN_COMMAND, UNKNOWN_TXT, 5);
	expect_err(5, WC_MC_BIN_OP_SASL_STEP, WC_MC_BIN_UNKNOWN_COMMAND, UNKNOWN_TXT, 6);
	expect_ok(6, WC_MC_BIN_OP_NOOP, 7);
	assert_false(sess.close);
	assert_int_equal(st.mc_protocol_errors, 6);

	/* An unknown opcode's body is discarded as it comes, across calls. */
	hdr(WC_MC_BIN_REQ_MAGIC, 0x55, 0, 0, 1000, 8, 0);
	memset(in + inlen, 'z', 1000);
	inlen += 1000;
	req(WC_MC_BIN_OP_NOOP, NULL, NULL, 0, NULL, 0, 9, 0);
	assert_int_equal(feed(in, 500), 500);
	nrs = split(outbuf, outlen, rs, MAX_RESP);
	assert_int_equal(nrs, 1);
	expect_err(0, 0x55, WC_MC_BIN_UNKNOWN_COMMAND, UNKNOWN_TXT, 8);
	assert_int_equal(feed(in + 500, inlen - 500), inlen - 500);
	nrs = split(outbuf, outlen, rs, MAX_RESP);
	assert_int_equal(nrs, 1);
	expect_ok(0, WC_MC_BIN_OP_NOOP, 9);
}

/* One malformed request: @p status answered, then the stream closed. */
static void expect_closing(uint16_t status, uint8_t op, const char *what)
{
	size_t n;

	req(WC_MC_BIN_OP_NOOP, NULL, NULL, 0, NULL, 0, 99, 0);
	memset(&sess, 0, sizeof(sess));
	assert_int_equal(feed(in, inlen), inlen);
	inlen = 0;
	n = split(outbuf, outlen, rs, MAX_RESP);
	if (!sess.close)
		fail_msg("%s: not closed", what);
	if (status == 0xffff) {
		if (n != 0)
			fail_msg("%s: %zu responses", what, n);
		return;
	}
	if (n != 1)
		fail_msg("%s: %zu responses", what, n);
	nrs = n;
	expect_err(0, op, status,
		   status == WC_MC_BIN_EINVAL		 ? EINVAL_TXT
		   : status == WC_MC_BIN_UNKNOWN_COMMAND ? UNKNOWN_TXT
							 : "?",
		   1);
}

static void test_malformed(void **state)
{
	static const struct {
		uint8_t op, extlen;
		uint16_t keylen;
		uint32_t vlen; /* body beyond extras and key */
	} einval[] = {
		/* opcode, extras, key, value */
		{ WC_MC_BIN_OP_GET, 4, 1, 0 },
		{ WC_MC_BIN_OP_GET, 0, 0, 0 },
		{ WC_MC_BIN_OP_GETK, 0, 1, 3 },
		{ WC_MC_BIN_OP_GETQ, 0, 1, 1 },
		{ WC_MC_BIN_OP_SET, 4, 1, 1 },
		{ WC_MC_BIN_OP_SET, 8, 0, 1 },
		{ WC_MC_BIN_OP_ADDQ, 0, 1, 1 },
		{ WC_MC_BIN_OP_REPLACE, 20, 1, 0 },
		{ WC_MC_BIN_OP_DELETE, 4, 1, 0 },
		{ WC_MC_BIN_OP_DELETE, 0, 0, 0 },
		{ WC_MC_BIN_OP_DELETE, 0, 1, 2 },
		{ WC_MC_BIN_OP_INCREMENT, 4, 1, 0 },
		{ WC_MC_BIN_OP_DECREMENT, 20, 0, 0 },
		{ WC_MC_BIN_OP_INCREMENTQ, 20, 1, 1 },
		{ WC_MC_BIN_OP_APPEND, 8, 1, 1 },
		{ WC_MC_BIN_OP_PREPEND, 0, 0, 1 },
		{ WC_MC_BIN_OP_VERSION, 0, 1, 0 },
		{ WC_MC_BIN_OP_NOOP, 0, 0, 1 },
		{ WC_MC_BIN_OP_QUIT, 0, 1, 0 },
		{ WC_MC_BIN_OP_QUITQ, 4, 0, 0 },
		{ WC_MC_BIN_OP_FLUSH, 8, 0, 0 },
		{ WC_MC_BIN_OP_FLUSH, 4, 0, 1 },
		{ WC_MC_BIN_OP_FLUSHQ, 0, 1, 0 },
		{ WC_MC_BIN_OP_STAT, 4, 0, 0 },
		{ WC_MC_BIN_OP_TOUCH, 0, 1, 0 },
		{ WC_MC_BIN_OP_TOUCH, 4, 0, 0 },
		{ WC_MC_BIN_OP_GAT, 8, 1, 0 },
		{ WC_MC_BIN_OP_GATKQ, 4, 0, 0 },
		{ WC_MC_BIN_OP_SASL_LIST_MECHS, 0, 1, 2 },
		{ WC_MC_BIN_OP_SASL_AUTH, 0, 0, 0 },
		{ WC_MC_BIN_OP_SASL_STEP, 4, 1, 0 },
	};
	char what[64];

	(void)state;
	for (size_t i = 0; i < sizeof(einval) / sizeof(einval[0]); i++) {
		hdr(WC_MC_BIN_REQ_MAGIC, einval[i].op, einval[i].keylen, einval[i].extlen,
		    einval[i].extlen + einval[i].keylen + einval[i].vlen, 1, 0);
		memset(in + inlen, '1', einval[i].extlen + einval[i].keylen + einval[i].vlen);
		inlen += einval[i].extlen + einval[i].keylen + einval[i].vlen;
		snprintf(what, sizeof(what), "op %#x row %zu", einval[i].op, i);
		expect_closing(WC_MC_BIN_EINVAL, einval[i].op, what);
	}

	/* A key over 250 bytes, even for an unknown opcode. */
	hdr(WC_MC_BIN_REQ_MAGIC, WC_MC_BIN_OP_GET, 251, 0, 251, 1, 0);
	memset(in + inlen, 'k', 251);
	inlen += 251;
	expect_closing(WC_MC_BIN_EINVAL, WC_MC_BIN_OP_GET, "key 251");
	hdr(WC_MC_BIN_REQ_MAGIC, 0x50, 251, 0, 251, 1, 0);
	memset(in + inlen, 'k', 251);
	inlen += 251;
	expect_closing(WC_MC_BIN_EINVAL, 0x50, "unknown key 251");

	/* Key, or key and extras, longer than the body. */
	hdr(WC_MC_BIN_REQ_MAGIC, WC_MC_BIN_OP_GET, 3, 0, 2, 1, 0);
	raw("abc", 3);
	expect_closing(WC_MC_BIN_UNKNOWN_COMMAND, WC_MC_BIN_OP_GET, "key > body");
	hdr(WC_MC_BIN_REQ_MAGIC, WC_MC_BIN_OP_SET, 3, 8, 5, 1, 0);
	raw("12345678abc", 11);
	expect_closing(WC_MC_BIN_UNKNOWN_COMMAND, WC_MC_BIN_OP_SET, "key+ext > body");

	/* A bad magic byte closes without a word, even after good requests. */
	hdr(0x81, WC_MC_BIN_OP_NOOP, 0, 0, 0, 1, 0);
	expect_closing(0xffff, 0, "magic 0x81");
	hdr(0x00, WC_MC_BIN_OP_NOOP, 0, 0, 0, 1, 0);
	expect_closing(0xffff, 0, "magic 0x00");
	req(WC_MC_BIN_OP_NOOP, NULL, NULL, 0, NULL, 0, 1, 0);
	hdr('g', 'e', 0, 0, 0, 1, 0);
	memset(&sess, 0, sizeof(sess));
	assert_int_equal(feed(in, inlen), inlen);
	inlen = 0;
	assert_int_equal(split(outbuf, outlen, rs, MAX_RESP), 1);
	assert_true(sess.close);

	/* Datatype and vbucket are ignored, as memcached does. */
	memset(&sess, 0, sizeof(sess));
	op_store(WC_MC_BIN_OP_SET, "k", "v", 0, 0, 1, 0);
	in[5] = 7;
	in[6] = 0x12;
	in[7] = 0x34;
	assert_int_equal(run(), 1);
	expect_ok(0, WC_MC_BIN_OP_SET, 1);
}

static void test_too_big(void **state)
{
	static char big[MAX_VALUE + 2];
	size_t total, used;

	(void)state;
	memset(big, 'b', sizeof(big) - 1);
	/* The largest value passes. */
	big[MAX_VALUE] = '\0';
	op_store(WC_MC_BIN_OP_SET, "k", big, 0, 0, 1, 0);
	op_key(WC_MC_BIN_OP_GET, "k", 2);
	assert_int_equal(run(), 2);
	expect_ok(0, WC_MC_BIN_OP_SET, 1);
	expect_hdr(1, WC_MC_BIN_OP_GET, WC_MC_BIN_OK, 2);
	assert_int_equal(rs[1].vlen, MAX_VALUE);

	/* One more byte: Too large, the old value dropped (SET), body discarded. */
	big[MAX_VALUE] = 'b';
	op_store(WC_MC_BIN_OP_SETQ, "k", big, 0, 0, 3, 0);
	op_key(WC_MC_BIN_OP_GET, "k", 4);
	assert_int_equal(run(), 2);
	expect_err(0, WC_MC_BIN_OP_SETQ, WC_MC_BIN_E2BIG, E2BIG_TXT, 3);
	expect_err(1, WC_MC_BIN_OP_GET, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 4);

	/* ADD and APPEND leave the old value; the refusal comes before the body. */
	op_store(WC_MC_BIN_OP_SET, "k", "old", 0, 0, 5, 0);
	op_store(WC_MC_BIN_OP_ADD, "k", big, 0, 0, 6, 0);
	op_append(WC_MC_BIN_OP_APPEND, "k", big, 7, 0);
	op_key(WC_MC_BIN_OP_GET, "k", 8);
	total = inlen;
	/* Header, extras and key of the ADD are enough for its answer. */
	used = feed(in, (WC_MC_BIN_HDR + 8 + 1 + 3) + (WC_MC_BIN_HDR + 8 + 1));
	assert_int_equal(used, (WC_MC_BIN_HDR + 8 + 1 + 3) + (WC_MC_BIN_HDR + 8 + 1));
	nrs = split(outbuf, outlen, rs, MAX_RESP);
	assert_int_equal(nrs, 2);
	expect_err(1, WC_MC_BIN_OP_ADD, WC_MC_BIN_E2BIG, E2BIG_TXT, 6);
	assert_true(sess.swallow == MAX_VALUE + 1);
	/* The rest in odd pieces. */
	while (used < total) {
		size_t n = total - used < 777 ? total - used : 777;

		used += feed(in + used, n);
	}
	inlen = 0;
	op_key(WC_MC_BIN_OP_GET, "k", 9);
	assert_int_equal(run(), 1);
	expect_val(0, WC_MC_BIN_OP_GET, 9, 0, NULL, "old");

	/* A body length of 4 GB: answered at once, then discarded as it comes. */
	hdr(WC_MC_BIN_REQ_MAGIC, WC_MC_BIN_OP_SET, 1, 8, 0xffffffff, 10, 0);
	raw("\0\0\0\0\0\0\0\0k", 9);
	assert_int_equal(run(), 1);
	expect_err(0, WC_MC_BIN_OP_SET, WC_MC_BIN_E2BIG, E2BIG_TXT, 10);
	assert_true(sess.swallow == 0xffffffffu - 9);
}

/* A full partition that may not evict: memcached's Out of memory, and no stale SET. */
static void test_out_of_memory(void **state)
{
	static char val[60 * 1024];
	char key[32];
	int i;

	(void)state;
	memset(val, 'm', sizeof(val) - 1);
	op_store(WC_MC_BIN_OP_SET, "victim", "old", 0, 0, 1, 0);
	op_store(WC_MC_BIN_OP_SET, "num", "5", 0, 0, 2, 0);
	assert_int_equal(run(), 2);
	wc_store_set_evict(store, false);
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "fill%d", i);
		op_store(WC_MC_BIN_OP_SETQ, key, val, 0, 0, 3, 0);
		if (run() != 0)
			break;
	}
	assert_true(i < 1000);
	expect_err(0, WC_MC_BIN_OP_SETQ, WC_MC_BIN_ENOMEM, "Out of memory", 3);
	op_store(WC_MC_BIN_OP_SET, "victim", val, 0, 0, 4, 0);
	op_key(WC_MC_BIN_OP_GET, "victim", 5);
	op_append(WC_MC_BIN_OP_APPEND, "num", val, 6, 0);
	op_store(WC_MC_BIN_OP_ADD, "new", val, 0, 0, 7, 0);
	assert_int_equal(run(), 4);
	expect_err(0, WC_MC_BIN_OP_SET, WC_MC_BIN_ENOMEM, "Out of memory", 4);
	expect_err(1, WC_MC_BIN_OP_GET, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 5);
	/* An append it cannot make room for is Not stored, as memcached. */
	expect_err(2, WC_MC_BIN_OP_APPEND, WC_MC_BIN_NOT_STORED, NSTORED_TXT, 6);
	expect_err(3, WC_MC_BIN_OP_ADD, WC_MC_BIN_ENOMEM, "Out of memory", 7);
}

static void test_need(void **state)
{
	uint8_t b[64] = { 0 };

	(void)state;
	assert_int_equal(wc_mc_bin_need(b, 0, MAX_VALUE), WC_MC_BIN_HDR);
	op_store(WC_MC_BIN_OP_SET, "key", "value", 0, 0, 1, 0);
	assert_int_equal(wc_mc_bin_need(in, 10, MAX_VALUE), WC_MC_BIN_HDR);
	assert_int_equal(wc_mc_bin_need(in, WC_MC_BIN_HDR, MAX_VALUE), WC_MC_BIN_HDR + 8 + 3);
	assert_int_equal(wc_mc_bin_need(in, WC_MC_BIN_HDR + 11, MAX_VALUE), inlen);
	assert_int_equal(wc_mc_bin_need(in, inlen, MAX_VALUE), inlen);
	/* A value over the limit needs only its header, extras and key. */
	assert_int_equal(wc_mc_bin_need(in, WC_MC_BIN_HDR + 11, 4), WC_MC_BIN_HDR + 11);
	inlen = 0;
	op_exp(WC_MC_BIN_OP_TOUCH, "k", 1, 1);
	assert_int_equal(wc_mc_bin_need(in, 3, MAX_VALUE), WC_MC_BIN_HDR);
	assert_int_equal(wc_mc_bin_need(in, inlen, MAX_VALUE), inlen);
}

/* Output with every CAS field zeroed, for comparing runs. */
static void mask_cas(uint8_t *p, size_t n)
{
	size_t off = 0;

	while (off + WC_MC_BIN_HDR <= n) {
		memset(p + off + 16, 0, 8);
		off += WC_MC_BIN_HDR + get_be(p + off + 8, 4);
	}
}

#define SPLIT_MAX_VALUE 64

/* A pipeline touching every opcode, quiet and not, with errors. */
static void build_pipeline(void)
{
	uint8_t e[4] = { 0, 0, 0, 5 };
	char big[SPLIT_MAX_VALUE + 10];

	/* A small limit keeps the pipeline, cut at each of its bytes, short. */
	srv.max_item_size = SPLIT_MAX_VALUE;
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	req(WC_MC_BIN_OP_FLUSH, NULL, NULL, 0, NULL, 0, 100, 0);
	op_store(WC_MC_BIN_OP_SET, "alpha", "one", 1, 0, 1, 0);
	op_store(WC_MC_BIN_OP_SETQ, "beta", "two", 2, 0, 2, 0);
	op_store(WC_MC_BIN_OP_ADD, "alpha", "x", 0, 0, 3, 0);
	op_store(WC_MC_BIN_OP_ADDQ, "gamma", "three", 3, 0, 4, 0);
	op_store(WC_MC_BIN_OP_REPLACE, "beta", "TWO", 2, 0, 5, 0);
	op_store(WC_MC_BIN_OP_REPLACEQ, "none", "x", 0, 0, 6, 0);
	op_append(WC_MC_BIN_OP_APPEND, "alpha", "-a", 7, 0);
	op_append(WC_MC_BIN_OP_PREPENDQ, "alpha", "p-", 8, 0);
	op_key(WC_MC_BIN_OP_GET, "alpha", 9);
	op_key(WC_MC_BIN_OP_GETQ, "none", 10);
	op_key(WC_MC_BIN_OP_GETK, "beta", 11);
	op_key(WC_MC_BIN_OP_GETKQ, "gamma", 12);
	op_arith(WC_MC_BIN_OP_INCREMENT, "cnt", 3, 40, 0, 13, 0);
	op_arith(WC_MC_BIN_OP_DECREMENTQ, "cnt", 1, 0, 0, 14, 0);
	op_arith(WC_MC_BIN_OP_INCREMENTQ, "alpha", 1, 0, 0, 15, 0);
	op_arith(WC_MC_BIN_OP_DECREMENT, "cnt", 1, 0, 0, 16, 0);
	op_exp(WC_MC_BIN_OP_TOUCH, "beta", 100, 17);
	op_exp(WC_MC_BIN_OP_GAT, "gamma", 100, 18);
	op_exp(WC_MC_BIN_OP_GATQ, "none", 100, 19);
	op_exp(WC_MC_BIN_OP_GATK, "alpha", 0, 20);
	op_exp(WC_MC_BIN_OP_GATKQ, "beta", 0, 21);
	op_key(WC_MC_BIN_OP_DELETE, "gamma", 22);
	op_key(WC_MC_BIN_OP_DELETEQ, "gamma", 23);
	req(WC_MC_BIN_OP_VERSION, NULL, NULL, 0, NULL, 0, 24, 0);
	req(WC_MC_BIN_OP_NOOP, NULL, NULL, 0, NULL, 0, 25, 0);
	op_key(WC_MC_BIN_OP_STAT, "settings", 26);
	req(0x42, "unk", NULL, 0, "body", 4, 27, 0);
	req(WC_MC_BIN_OP_VERBOSITY, NULL, e, 4, NULL, 0, 28, 0);
	req(WC_MC_BIN_OP_SASL_AUTH, "PLAIN", NULL, 0, "abc", 3, 29, 0);
	op_store(WC_MC_BIN_OP_SET, "huge", big, 0, 0, 30, 0);
	op_key(WC_MC_BIN_OP_GETK, "huge", 31);
	req(WC_MC_BIN_OP_FLUSHQ, NULL, e, 4, NULL, 0, 32, 0);
	req(WC_MC_BIN_OP_QUIT, NULL, NULL, 0, NULL, 0, 33, 0);
}

/*
 * The pipeline cut in two at every byte gives the same responses as in one
 * piece, the transport keeping what was not consumed, as TCP will.
 */
static void test_split_every_byte(void **state)
{
	static uint8_t whole[1 << 18], part[1 << 18], stream[4 * MAX_VALUE];
	size_t wlen, plen, len, cut;

	(void)state;
	build_pipeline();
	len = inlen;
	memcpy(stream, in, len);
	inlen = 0;
	assert_int_equal(feed(stream, len), len);
	assert_true(sess.close);
	wlen = outlen;
	memcpy(whole, outbuf, wlen);
	mask_cas(whole, wlen);
	nrs = split(whole, wlen, rs, MAX_RESP);
	if (getenv("DUMP"))
		dump();
	assert_int_equal(nrs, 28);
	expect_ok(nrs - 1, WC_MC_BIN_OP_QUIT, 33);

	/* The pipeline starts with a flush: the store needs no reset between runs. */
	for (cut = 0; cut <= len; cut++) {
		size_t used;

		memset(&sess, 0, sizeof(sess));
		used = feed(stream, cut);
		plen = outlen;
		memcpy(part, outbuf, plen);
		/* Only the last request, QUIT, closes. */
		assert_true(sess.close == (cut == len));
		used += feed(stream + used, len - used);
		assert_int_equal(used, len);
		assert_true(plen + outlen <= sizeof(part));
		memcpy(part + plen, outbuf, outlen);
		plen += outlen;
		mask_cas(part, plen);
		if (plen != wlen || memcmp(part, whole, wlen) != 0)
			fail_msg("cut at %zu of %zu: %zu bytes of responses, want %zu", cut, len,
				 plen, wlen);
	}
}

/* Fed one byte at a time, as a slow sender would. */
static void test_byte_by_byte(void **state)
{
	static uint8_t whole[1 << 18], acc[1 << 18], stream[4 * MAX_VALUE];
	size_t wlen, alen = 0, len, have = 0, at = 0;

	(void)state;
	build_pipeline();
	len = inlen;
	memcpy(stream, in, len);
	inlen = 0;
	assert_int_equal(feed(stream, len), len);
	wlen = outlen;
	memcpy(whole, outbuf, wlen);
	mask_cas(whole, wlen);

	memset(&sess, 0, sizeof(sess));
	/* stream[at..have) is what the transport holds unconsumed. */
	while (have < len) {
		size_t used;

		have++;
		used = feed(stream + at, have - at);
		at += used;
		memcpy(acc + alen, outbuf, outlen);
		alen += outlen;
	}
	assert_int_equal(at, len);
	assert_true(sess.close);
	mask_cas(acc, alen);
	assert_int_equal(alen, wlen);
	assert_memory_equal(acc, whole, wlen);
}

/* A key owned by partition @p part of 2. */
static void key_of(unsigned int part, char *key, size_t n)
{
	for (int i = 0;; i++) {
		snprintf(key, n, "key%d", i);
		if (wc_store_owner(wc_store_hash(key, strlen(key)), 2) == part)
			return;
	}
}

/*
 * Two partitions: writes of the other's keys stop the stream before them
 * (nothing done, nothing answered) for the owner to resume; gets of them are
 * served here.
 */
static void test_handoff(void **state)
{
	struct wc_store *parts[2];
	struct wc_mc_ctx c1;
	struct wc_out o;
	char mine[16], theirs[16];
	size_t used, first, total;

	(void)state;
	store2 = make_store();
	assert_non_null(store2);
	parts[0] = store;
	parts[1] = store2;
	ctx.parts = parts;
	ctx.nparts = 2;
	ctx.self = 0;
	ctx.scratch = scratch;
	ctx.scratch_len = sizeof(scratch);
	c1 = ctx;
	c1.store = store2;
	c1.self = 1;
	key_of(0, mine, sizeof(mine));
	key_of(1, theirs, sizeof(theirs));

	op_store(WC_MC_BIN_OP_SET, mine, "m", 0, 0, 1, 0);
	first = inlen;
	op_store(WC_MC_BIN_OP_SETQ, theirs, "t", 5, 0, 2, 0);
	op_key(WC_MC_BIN_OP_GETK, theirs, 3);
	op_exp(WC_MC_BIN_OP_TOUCH, theirs, 0, 4);
	op_key(WC_MC_BIN_OP_GET, mine, 5);
	total = inlen;

	used = feed(in, total);
	assert_int_equal(used, first);
	assert_int_equal(sess.handoff, 2);
	nrs = split(outbuf, outlen, rs, MAX_RESP);
	assert_int_equal(nrs, 1);
	expect_ok(0, WC_MC_BIN_OP_SET, 1);

	/*
	 * Partition 1 runs the rest: the SETQ (silent), the GETK and TOUCH of
	 * its key, and the GET of partition 0's key from a lock-free copy.
	 */
	sess.handoff = 0;
	wc_out_init_flat(&o, outbuf, sizeof(outbuf));
	used += wc_mc_bin_process(&c1, &sess, in + used, total - used, &o);
	assert_int_equal(used, total);
	assert_int_equal(sess.handoff, 0);
	nrs = split(outbuf, o.written, rs, MAX_RESP);
	assert_int_equal(nrs, 3);
	expect_val(0, WC_MC_BIN_OP_GETK, 3, 5, theirs, "t");
	expect_hdr(1, WC_MC_BIN_OP_TOUCH, WC_MC_BIN_OK, 4);
	expect_val(2, WC_MC_BIN_OP_GET, 5, 0, NULL, "m");

	/* Every write of partition 1's key stops partition 0 with nothing done. */
	inlen = 0;
	op_append(WC_MC_BIN_OP_APPEND, theirs, "+", 5, 0);
	op_arith(WC_MC_BIN_OP_INCREMENT, theirs, 1, 0, 0, 6, 0);
	op_key(WC_MC_BIN_OP_DELETE, theirs, 7);
	op_exp(WC_MC_BIN_OP_GAT, theirs, 0, 8);
	for (size_t at = 0; at < inlen; at += WC_MC_BIN_HDR + get_be(in + at + 8, 4)) {
		assert_int_equal(feed(in + at, inlen - at), 0);
		assert_int_equal(outlen, 0);
		assert_int_equal(sess.handoff, 2);
		sess.handoff = 0;
	}
	wc_out_init_flat(&o, outbuf, sizeof(outbuf));
	assert_int_equal(wc_mc_bin_process(&c1, &sess, in, inlen, &o), inlen);
	inlen = 0;
	nrs = split(outbuf, o.written, rs, MAX_RESP);
	assert_int_equal(nrs, 4);
	expect_ok(0, WC_MC_BIN_OP_APPEND, 5);
	expect_err(1, WC_MC_BIN_OP_INCREMENT, WC_MC_BIN_DELTA_BADVAL, BADVAL_TXT, 6);
	expect_ok(2, WC_MC_BIN_OP_DELETE, 7);
	expect_err(3, WC_MC_BIN_OP_GAT, WC_MC_BIN_KEY_ENOENT, ENOENT_TXT, 8);
	/* The SET here, the SETQ and APPEND there: each counted once. */
	assert_int_equal(st.mc_cmd_set, 3);

	op_store(WC_MC_BIN_OP_SET, theirs, "t", 5, 0, 0, 0);
	assert_int_equal(feed(in, inlen), 0);
	sess.handoff = 0;
	wc_out_init_flat(&o, outbuf, sizeof(outbuf));
	assert_int_equal(wc_mc_bin_process(&c1, &sess, in, inlen, &o), inlen);

	/* Reads of the other partition's key are served from partition 0. */
	inlen = 0;
	op_key(WC_MC_BIN_OP_GETK, theirs, 6);
	op_key(WC_MC_BIN_OP_GETQ, "absent-key-0", 7);
	assert_int_equal(run(), 1);
	expect_val(0, WC_MC_BIN_OP_GETK, 6, 5, theirs, "t");
	assert_int_equal(sess.handoff, 0);
	assert_true(st.xcore_remote_reads >= 1);

	/* A too-large SET of the other's key goes there before its refusal. */
	{
		static char big[MAX_VALUE + 2];

		memset(big, 'b', sizeof(big) - 1);
		op_store(WC_MC_BIN_OP_SET, theirs, big, 0, 0, 8, 0);
		assert_int_equal(feed(in, inlen), 0);
		assert_int_equal(outlen, 0);
		assert_int_equal(sess.handoff, 2);
		assert_true(sess.swallow == 0);
		inlen = 0;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_replace_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noop_fences, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incr_decr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_touch_gat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exptime, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_version_stat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_sasl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_need, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_every_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_by_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handoff, setup, teardown),
	};

	if (wc_test_eal_init("test_mc_bin") != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
