/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached binary protocol: requests parsed from a byte stream, executed
 * against the store, answered byte for byte as memcached 1.6.18 does.
 *
 * How memcached reads a request decides what may be answered when:
 *
 *   1. the 24-byte header; a magic byte other than 0x80 closes at once;
 *   2. extras and key (whatever the opcode), then checks, in this order:
 *      key or key + extras longer than the body: Unknown command, close;
 *      key over 250 bytes: Invalid arguments, close; the opcode's shape
 *      (extras length, key present or not, body length): Invalid
 *      arguments, close; an opcode it does not know: Unknown command, the
 *      rest of the body discarded;
 *   3. the value, for the storage opcodes only: one over the item size
 *      limit is answered Too large and discarded as it arrives; touch, gat
 *      and stat never read past their key, whatever the body length says.
 *
 * Quiet opcodes (…Q) answer only what memcached still answers: get-like
 * ones their hits, the others their errors; QUITQ closes silently.
 *
 * Writes of a key another lcore owns are handed there before anything is
 * done or counted, as in mc_exec.c: the request stays unconsumed, with
 * ss->handoff naming the owner; gets of such keys are served here from a
 * lock-free copy (wc_mc_read_remote()).
 *
 * One deliberate difference: for an unknown opcode memcached 1.6 discards
 * the declared body length again after the extras and key it already read
 * (so the next request loses its first extlen + keylen bytes); here exactly
 * the rest of the body is discarded and the stream stays in step.
 */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>

#include "dataplane/proto/mc_bin.h"
#include "store/store.h"

#define REALTIME_MAXDELTA (60 * 60 * 24 * 30) /* larger exptimes are absolute */
#define BIN_KEY_MAX	  250		      /* memcached's KEY_MAX_LENGTH */
#define STAT_LINE_MAX	  1024		      /* longest `STAT name value` line converted */
#define INCR_NO_CREATE	  0xffffffffu	      /* incr/decr exptime: fail if missing */

/* ---- the opcode table ---- */

/* Shapes memcached requires; see WC_MC_BIN_OPS. */
#define BIN_EXT_0     0
#define BIN_EXT_4     4
#define BIN_EXT_8     8
#define BIN_EXT_20    20
#define BIN_EXT_FLUSH 0xff /* extras of 0 or 4 bytes */
enum { BIN_KEY_NONE, BIN_KEY_REQ, BIN_KEY_ANY };
enum {
	BIN_BODY_EXACT,	 /* body = extras + key */
	BIN_BODY_VALUE,	 /* a value follows the key */
	BIN_BODY_IGNORE, /* memcached reads extras and key only */
};
#define BIN_F_Q 0x1 /* quiet */
#define BIN_F_K 0x2 /* the response carries the key */

struct bin_req;
typedef void (*bin_exec_fn)(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
			    struct wc_out *o);

struct bin_op {
	bin_exec_fn exec; /* NULL: not an opcode memcached answers */
	uint8_t base;	  /* the opcode a quiet or K variant behaves as */
	uint8_t ext;
	uint8_t key;
	uint8_t body;
	uint8_t flags;
};

/* A request whose header, extras and key are in the buffer. */
struct bin_req {
	const struct bin_op *op;
	uint8_t opcode; /* as sent: responses carry it */
	uint8_t extlen;
	uint16_t keylen;
	uint32_t bodylen;
	uint8_t opaque[4]; /* echoed as sent */
	uint64_t cas;
	const uint8_t *ext;
	const uint8_t *key;
	const uint8_t *val; /* storage opcodes, once the value is in */
	uint32_t vlen;	    /* bodylen - extlen - keylen */
	size_t head;	    /* header + extras + key */
};

static void exec_get(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		     struct wc_out *o);
static void exec_store(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		       struct wc_out *o);
static void exec_delete(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
			struct wc_out *o);
static void exec_arith(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		       struct wc_out *o);
static void exec_quit(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		      struct wc_out *o);
static void exec_flush(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		       struct wc_out *o);
static void exec_noop(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		      struct wc_out *o);
static void exec_version(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
			 struct wc_out *o);
static void exec_stat(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		      struct wc_out *o);
static void exec_sasl(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		      struct wc_out *o);

#define K BIN_F_K
#define Q BIN_F_Q
static const struct bin_op ops[256] = {
#define BIN_OP_ROW(nm, code, b, h, e, k, bd, f)                                                   \
	[code] = {                                                                                \
		exec_##h, WC_MC_BIN_OP_##b, BIN_EXT_##e, BIN_KEY_##k, BIN_BODY_##bd, (uint8_t)(f) \
	},
	WC_MC_BIN_OPS(BIN_OP_ROW)
#undef BIN_OP_ROW
};
#undef K
#undef Q

static const char *status_text(uint16_t status)
{
	switch (status) {
#define BIN_ST_CASE(nm, code, text) \
	case code:                  \
		return text;
		WC_MC_BIN_STATUSES(BIN_ST_CASE)
#undef BIN_ST_CASE
	default:
		return "";
	}
}

/* ---- bytes ---- */

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)(v >> 32));
	wr32(p + 4, (uint32_t)v);
}

/* ---- reply helpers ---- */

/* A response header for @p r. */
static void reply_hdr(struct wc_out *o, const struct bin_req *r, uint16_t status, uint8_t extlen,
		      uint16_t keylen, uint32_t bodylen, uint64_t cas)
{
	uint8_t h[WC_MC_BIN_HDR];

	h[0] = WC_MC_BIN_RES_MAGIC;
	h[1] = r->opcode;
	h[2] = (uint8_t)(keylen >> 8);
	h[3] = (uint8_t)keylen;
	h[4] = extlen;
	h[5] = 0; /* raw bytes */
	h[6] = (uint8_t)(status >> 8);
	h[7] = (uint8_t)status;
	wr32(h + 8, bodylen);
	memcpy(h + 12, r->opaque, 4);
	wr64(h + 16, cas);
	wc_out_put(o, h, sizeof(h));
}

/* An empty success (storage, delete, flush, noop, quit). */
static void reply_ok(struct wc_out *o, const struct bin_req *r, uint64_t cas)
{
	reply_hdr(o, r, WC_MC_BIN_OK, 0, 0, 0, cas);
}

/* An error: memcached's text for @p status as the body, CAS 0. Always sent. */
static void reply_error(struct wc_out *o, const struct bin_req *r, uint16_t status)
{
	const char *text = status_text(status);
	size_t n = strlen(text);

	reply_hdr(o, r, status, 0, 0, (uint32_t)n, 0);
	wc_out_put(o, text, n);
}

/* A value: flags as extras, the key if asked, the value unless touch. */
static void reply_value(struct wc_out *o, const struct bin_req *r, uint32_t flags,
			const uint8_t *val, uint32_t vlen, uint64_t cas, bool with_key,
			bool with_val)
{
	uint16_t kl = with_key ? r->keylen : 0;
	uint8_t f[4];

	if (!with_val)
		vlen = 0;
	reply_hdr(o, r, WC_MC_BIN_OK, 4, kl, 4 + kl + vlen, cas);
	wr32(f, flags);
	wc_out_put(o, f, 4);
	wc_out_put(o, r->key, kl);
	wc_out_put(o, val, vlen);
}

/* ---- partitions and time ---- */

/* The partition owning @p hash if another lcore owns it; -1 if this one does. */
static inline int remote_owner(const struct wc_mc_ctx *c, uint64_t hash)
{
	unsigned int owner;

	if (likely(c->nparts <= 1))
		return -1;
	owner = wc_store_owner(hash, c->nparts);
	return owner == c->self ? -1 : (int)owner;
}

/* For a request that writes: true if another lcore owns the key (handed there). */
static inline bool to_owner(const struct wc_mc_ctx *c, struct wc_mc_session *ss, uint64_t hash)
{
	int owner = remote_owner(c, hash);

	if (likely(owner < 0))
		return false;
	ss->handoff = (uint16_t)(owner + 1);
	return true;
}

/*
 * memcached's exptime rules for the binary protocol's unsigned field: 0
 * never expires, up to 30 days is relative to now, larger is a unix time
 * (one in the past has expired already).
 */
static uint32_t abs_time(const struct wc_mc_ctx *c, uint32_t e)
{
	if (e == 0)
		return 0;
	if (e <= REALTIME_MAXDELTA)
		return wc_store_now(c->store) + e;
	return e;
}

static bool quiet(const struct bin_req *r)
{
	return (r->op->flags & BIN_F_Q) != 0;
}

/* ---- opcodes ---- */

/* A get-like miss: silent when quiet; the key alone for GETK/GATK. */
static void get_miss(struct wc_out *o, const struct bin_req *r)
{
	if (quiet(r))
		return;
	if (r->op->flags & BIN_F_K) {
		reply_hdr(o, r, WC_MC_BIN_KEY_ENOENT, 0, r->keylen, r->keylen, 0);
		wc_out_put(o, r->key, r->keylen);
	} else {
		reply_error(o, r, WC_MC_BIN_KEY_ENOENT);
	}
}

/*
 * GET, GETQ, GETK, GETKQ; TOUCH; GAT, GATQ, GATK, GATKQ. A touch hit
 * answers the flags alone.
 */
static void exec_get(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		     struct wc_out *o)
{
	bool is_touch = r->op->base == WC_MC_BIN_OP_TOUCH;
	bool touch = is_touch || r->op->base == WC_MC_BIN_OP_GAT;
	bool with_key = (r->op->flags & BIN_F_K) != 0;
	uint64_t hash = wc_store_hash(r->key, r->keylen);
	struct wc_item_view v;
	struct wc_item *it;

	if (unlikely(c->nparts > 1)) {
		int owner = remote_owner(c, hash);

		if (owner >= 0) {
			struct wc_item_meta meta;
			int n;

			/* touch and gat write the expiry: the owner's to do. */
			if (touch) {
				ss->handoff = (uint16_t)(owner + 1);
				return;
			}
			n = wc_mc_read_remote(c, (unsigned int)owner, r->key, r->keylen, hash, true,
					      &meta);
			if (n == -EAGAIN) {
				ss->handoff = (uint16_t)(owner + 1);
				return;
			}
			c->st->mc_cmd_get++;
			if (n < 0) {
				c->st->mc_get_misses++;
				get_miss(o, r);
				return;
			}
			c->st->mc_get_hits++;
			reply_value(o, r, meta.flags, c->scratch, meta.vlen, meta.cas, with_key,
				    true);
			return;
		}
	}
	it = wc_store_get(c->store, r->key, r->keylen, hash, &v);
	if (!is_touch)
		c->st->mc_cmd_get++;
	if (touch)
		c->st->mc_cmd_touch++;
	if (it == NULL) {
		if (touch)
			c->st->mc_touch_misses++;
		else
			c->st->mc_get_misses++;
		get_miss(o, r);
		return;
	}
	if (touch) {
		/* May move the item: v stays readable until the next store call. */
		it = wc_item_set_exptime(c->store, it, abs_time(c, rd32(r->ext)));
		c->st->mc_touch_hits++;
	} else {
		c->st->mc_get_hits++;
	}
	reply_value(o, r, v.flags, v.val, v.vlen, v.cas, with_key, !is_touch);
	wc_store_bump(c->store, it);
}

/* A SET that could not be stored leaves no stale value behind (memcached). */
static void drop_stale(struct wc_mc_ctx *c, const struct bin_req *r, uint64_t hash)
{
	if (r->op->base == WC_MC_BIN_OP_SET)
		(void)wc_store_delete(c->store, r->key, r->keylen, hash, 0);
}

/* SET, ADD, REPLACE, APPEND, PREPEND and their quiet variants. */
static void exec_store(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		       struct wc_out *o)
{
	uint64_t hash = wc_store_hash(r->key, r->keylen), cas = 0;
	bool append = false;
	enum wc_store_mode mode;
	uint32_t flags = 0, exptime = 0;
	int rc;

	if (to_owner(c, ss, hash))
		return;
	switch (r->op->base) {
	case WC_MC_BIN_OP_ADD:
		mode = WC_MODE_ADD;
		break;
	case WC_MC_BIN_OP_REPLACE:
		mode = WC_MODE_REPLACE;
		break;
	case WC_MC_BIN_OP_APPEND:
		mode = WC_MODE_APPEND;
		append = true;
		break;
	case WC_MC_BIN_OP_PREPEND:
		mode = WC_MODE_PREPEND;
		append = true;
		break;
	default:
		mode = WC_MODE_SET;
		break;
	}
	if (!append) {
		flags = rd32(r->ext);
		exptime = abs_time(c, rd32(r->ext + 4));
		/* memcached: any CAS turns set, add and replace into a cas. */
		if (r->cas != 0)
			mode = WC_MODE_CAS;
	}
	c->st->mc_cmd_set++;
	/* Append and prepend check a non-zero CAS too (the store does). */
	rc = wc_store_set(c->store, mode, r->key, r->keylen, hash, r->val, r->vlen, flags, exptime,
			  r->cas, &cas);
	/* memcached answers an append it cannot make room for Not stored. */
	if (rc < 0 && append)
		rc = WC_STORE_NOT_STORED;
	switch (rc) {
	case WC_STORE_OK:
		if (mode == WC_MODE_CAS)
			c->st->mc_cas_hits++;
		if (!quiet(r))
			reply_ok(o, r, cas);
		return;
	case WC_STORE_NOT_STORED:
		reply_error(o, r,
			    mode == WC_MODE_ADD	      ? WC_MC_BIN_KEY_EEXISTS
			    : mode == WC_MODE_REPLACE ? WC_MC_BIN_KEY_ENOENT
						      : WC_MC_BIN_NOT_STORED);
		return;
	case WC_STORE_EXISTS:
		if (mode == WC_MODE_CAS)
			c->st->mc_cas_badval++;
		reply_error(o, r, WC_MC_BIN_KEY_EEXISTS);
		return;
	case WC_STORE_NOT_FOUND:
		c->st->mc_cas_misses++;
		reply_error(o, r, WC_MC_BIN_KEY_ENOENT);
		return;
	case -E2BIG:
		drop_stale(c, r, hash);
		reply_error(o, r, WC_MC_BIN_E2BIG);
		return;
	default:
		drop_stale(c, r, hash);
		reply_error(o, r, WC_MC_BIN_ENOMEM);
		return;
	}
}

/* DELETE, DELETEQ: a non-zero CAS must match. */
static void exec_delete(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
			struct wc_out *o)
{
	uint64_t hash = wc_store_hash(r->key, r->keylen);
	int rc;

	if (to_owner(c, ss, hash))
		return;
	rc = wc_store_delete(c->store, r->key, r->keylen, hash, r->cas);
	switch (rc) {
	case WC_STORE_OK:
		c->st->mc_delete_hits++;
		/* memcached answers a delete with CAS 0. */
		if (!quiet(r))
			reply_ok(o, r, 0);
		return;
	case WC_STORE_EXISTS:
		reply_error(o, r, WC_MC_BIN_KEY_EEXISTS);
		return;
	default:
		c->st->mc_delete_misses++;
		reply_error(o, r, WC_MC_BIN_KEY_ENOENT);
		return;
	}
}

/* The 8-byte result of an incr/decr. */
static void reply_number(struct wc_out *o, const struct bin_req *r, uint64_t v, uint64_t cas)
{
	uint8_t b[8];

	reply_hdr(o, r, WC_MC_BIN_OK, 0, 0, 8, cas);
	wr64(b, v);
	wc_out_put(o, b, 8);
}

/*
 * INCREMENT, DECREMENT and quiet variants. Extras: delta (8), initial (8),
 * exptime (4). A miss creates the key with the initial value unless the
 * exptime is 0xffffffff; a non-zero CAS must match.
 */
static void exec_arith(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		       struct wc_out *o)
{
	bool incr = r->op->base == WC_MC_BIN_OP_INCREMENT;
	uint64_t hash = wc_store_hash(r->key, r->keylen);
	uint64_t delta = rd64(r->ext), initial = rd64(r->ext + 8), result = 0, cas = 0;
	uint32_t exptime = rd32(r->ext + 16);
	char num[20];
	size_t n = 0;
	int rc;

	if (to_owner(c, ss, hash))
		return;
	rc = wc_store_arith(c->store, r->key, r->keylen, hash, incr, delta, r->cas, &result, &cas);
	switch (rc) {
	case WC_STORE_OK:
		if (incr)
			c->st->mc_incr_hits++;
		else
			c->st->mc_decr_hits++;
		if (!quiet(r))
			reply_number(o, r, result, cas);
		return;
	case WC_STORE_NON_NUMERIC:
		reply_error(o, r, WC_MC_BIN_DELTA_BADVAL);
		return;
	case WC_STORE_EXISTS:
		reply_error(o, r, WC_MC_BIN_KEY_EEXISTS);
		return;
	case WC_STORE_NOT_FOUND:
		break;
	default:
		reply_error(o, r, WC_MC_BIN_ENOMEM);
		return;
	}
	if (exptime == INCR_NO_CREATE) {
		if (incr)
			c->st->mc_incr_misses++;
		else
			c->st->mc_decr_misses++;
		reply_error(o, r, WC_MC_BIN_KEY_ENOENT);
		return;
	}
	/* Created as memcached does: the decimal initial value, flags 0. */
	for (uint64_t v = initial; n == 0 || v != 0; v /= 10)
		num[sizeof(num) - 1 - n++] = (char)('0' + v % 10);
	rc = wc_store_set(c->store, WC_MODE_ADD, r->key, r->keylen, hash, num + sizeof(num) - n,
			  (uint32_t)n, 0, abs_time(c, exptime), 0, &cas);
	if (rc == WC_STORE_OK) {
		if (!quiet(r))
			reply_number(o, r, initial, cas);
	} else if (rc < 0) {
		reply_error(o, r, WC_MC_BIN_ENOMEM);
	} else {
		reply_error(o, r, WC_MC_BIN_NOT_STORED);
	}
}

/* QUIT answers, then closes; QUITQ closes. */
static void exec_quit(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		      struct wc_out *o)
{
	(void)c;
	if (!quiet(r))
		reply_ok(o, r, 0);
	ss->close = true;
}

/* FLUSH, FLUSHQ: an optional 4-byte delay. */
static void exec_flush(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		       struct wc_out *o)
{
	uint32_t when = 0;

	(void)ss;
	c->st->mc_cmd_flush++;
	if (r->extlen == 4 && rd32(r->ext) > 0)
		when = abs_time(c, rd32(r->ext));
	if (c->srv->flush != NULL)
		c->srv->flush(c->srv->flush_arg, when);
	else
		wc_store_flush(c->store, when);
	if (!quiet(r))
		reply_ok(o, r, 0);
}

static void exec_noop(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		      struct wc_out *o)
{
	(void)c;
	(void)ss;
	reply_ok(o, r, 0);
}

static void exec_version(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
			 struct wc_out *o)
{
	const char *v = c->srv->version != NULL ? c->srv->version : "";
	size_t n = strlen(v);

	(void)ss;
	reply_hdr(o, r, WC_MC_BIN_OK, 0, 0, (uint32_t)n, 0);
	wc_out_put(o, v, n);
}

/*
 * Stats: the server's stats hook writes text `STAT name value\r\n` lines
 * into a small window of this sink; each time it fills, the complete lines
 * in it go out as binary stat packets (key = name, value = value) and the
 * unfinished line moves to the front.
 */
struct stat_sink {
	struct wc_out in;
	struct wc_out *dst;
	const struct bin_req *r;
	uint8_t buf[STAT_LINE_MAX];
};

static void stat_packet(struct stat_sink *s, const uint8_t *line, size_t n)
{
	const uint8_t *sp;
	size_t kl;

	if (n < 5 || memcmp(line, "STAT ", 5) != 0)
		return;
	line += 5;
	n -= 5;
	sp = memchr(line, ' ', n);
	kl = sp != NULL ? (size_t)(sp - line) : n;
	reply_hdr(s->dst, s->r, WC_MC_BIN_OK, 0, (uint16_t)kl, (uint32_t)(n - (sp != NULL)), 0);
	wc_out_put(s->dst, line, kl);
	if (sp != NULL)
		wc_out_put(s->dst, sp + 1, n - kl - 1);
}

/* Send the complete lines in the window; keep the unfinished one. */
static void stat_drain(struct stat_sink *s)
{
	size_t used = (size_t)(s->in.p - s->buf), start = 0, i;

	for (i = 0; i + 1 < used; i++) {
		if (s->buf[i] == '\r' && s->buf[i + 1] == '\n') {
			stat_packet(s, s->buf + start, i - start);
			start = i + 2;
			i++;
		}
	}
	memmove(s->buf, s->buf + start, used - start);
	s->in.p = s->buf + (used - start);
}

static int stat_more(struct wc_out *o)
{
	struct stat_sink *s = o->priv;

	stat_drain(s);
	return s->in.p == s->in.end ? -ENOBUFS : 0;
}

/* STAT: every stat, or a group by key; each group ends with an empty packet. */
static void exec_stat(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		      struct wc_out *o)
{
	const struct wc_mc_server *srv = c->srv;
	struct stat_sink s;
	char sub[BIN_KEY_MAX + 1];
	size_t n = r->keylen;
	int rc = 0;

	(void)ss;
	memcpy(sub, r->key, n);
	sub[n] = '\0';
	s.dst = o;
	s.r = r;
	s.in.p = s.buf;
	s.in.end = s.buf + sizeof(s.buf);
	s.in.more = stat_more;
	s.in.priv = &s;
	s.in.written = 0;
	s.in.limit = SIZE_MAX;
	s.in.overflow = false;
	/* memcached matches these by prefix, and "detail" by its argument. */
	if (n >= 5 && memcmp(sub, "reset", 5) == 0) {
		if (srv->stats != NULL)
			(void)srv->stats(srv->stats_arg, "reset", 5, &s.in);
		s.in.p = s.buf; /* says nothing but the end */
	} else if (n >= 6 && memcmp(sub, "detail", 6) == 0) {
		if (strncmp(sub + 6, " on", 3) != 0 && strncmp(sub + 6, " off", 4) != 0 &&
		    strncmp(sub + 6, " dump", 5) != 0)
			rc = -ENOENT;
	} else if (srv->stats != NULL) {
		if (n >= 8 && memcmp(sub, "settings", 8) == 0)
			sub[n = 8] = '\0';
		rc = srv->stats(srv->stats_arg, n != 0 ? sub : NULL, n, &s.in);
	} else if (n != 0) {
		rc = -ENOENT;
	}
	if (rc != 0) {
		reply_error(o, r, WC_MC_BIN_KEY_ENOENT);
		return;
	}
	stat_drain(&s);
	reply_ok(o, r, 0);
}

/* memcached without SASL knows none of its opcodes. */
static void exec_sasl(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct bin_req *r,
		      struct wc_out *o)
{
	(void)ss;
	c->st->mc_protocol_errors++;
	reply_error(o, r, WC_MC_BIN_UNKNOWN_COMMAND);
}

/* ---- the stream ---- */

enum parse_rc {
	P_OK,	     /* run r->op; the request is r->head (+ value) bytes */
	P_NEED_MORE, /* not enough bytes yet */
	P_CLOSE,     /* bad magic: close without a word */
	P_BAD_LEN,   /* key or extras past the body: Unknown command, close */
	P_EINVAL,    /* malformed for its opcode: Invalid arguments, close */
	P_UNKNOWN,   /* opcode unknown (or SASL): Unknown command, discard the body */
	P_TOO_BIG,   /* value over the limit: Too large, discard it */
};

static bool shape_ok(const struct bin_op *op, const struct bin_req *r)
{
	if (op->ext == BIN_EXT_FLUSH ? r->extlen != 0 && r->extlen != 4 : r->extlen != op->ext)
		return false;
	if ((op->key == BIN_KEY_REQ && r->keylen == 0) ||
	    (op->key == BIN_KEY_NONE && r->keylen != 0))
		return false;
	return op->body != BIN_BODY_EXACT || r->bodylen == (uint32_t)r->extlen + r->keylen;
}

/*
 * Decode the request at @p p: header, then the checks memcached makes once
 * extras and key are in. Reads no byte at or past p[len].
 */
static enum parse_rc parse(const uint8_t *p, size_t len, uint32_t max_value, struct bin_req *r)
{
	const struct bin_op *op;

	if (len < WC_MC_BIN_HDR)
		return P_NEED_MORE;
	if (p[0] != WC_MC_BIN_REQ_MAGIC)
		return P_CLOSE;
	r->opcode = p[1];
	r->keylen = rd16(p + 2);
	r->extlen = p[4];
	r->bodylen = rd32(p + 8);
	memcpy(r->opaque, p + 12, 4);
	r->cas = rd64(p + 16);
	r->head = WC_MC_BIN_HDR + (size_t)r->extlen + r->keylen;
	r->op = &ops[r->opcode];
	if (len < r->head)
		return P_NEED_MORE;
	r->ext = p + WC_MC_BIN_HDR;
	r->key = r->ext + r->extlen;
	r->val = r->key + r->keylen;
	if ((uint32_t)r->extlen + r->keylen > r->bodylen)
		return P_BAD_LEN;
	r->vlen = r->bodylen - r->extlen - r->keylen;
	if (r->keylen > BIN_KEY_MAX)
		return P_EINVAL;
	op = r->op;
	if (op->exec == NULL)
		return P_UNKNOWN;
	if (!shape_ok(op, r))
		return P_EINVAL;
	if (op->exec == exec_sasl && op->body == BIN_BODY_VALUE)
		return P_UNKNOWN;
	if (op->body == BIN_BODY_VALUE) {
		if (r->vlen > max_value)
			return P_TOO_BIG;
		if (len - r->head < r->vlen)
			return P_NEED_MORE;
	}
	return P_OK;
}

size_t wc_mc_bin_need(const uint8_t *buf, size_t len, uint32_t max_value)
{
	struct bin_req r;

	switch (parse(buf, len, max_value, &r)) {
	case P_NEED_MORE:
		if (len < WC_MC_BIN_HDR)
			return WC_MC_BIN_HDR;
		if (len < r.head)
			return r.head;
		return r.head + r.vlen;
	case P_OK:
		return r.op->body == BIN_BODY_VALUE ? r.head + r.vlen : r.head;
	case P_CLOSE:
		return WC_MC_BIN_HDR;
	default:
		return r.head;
	}
}

/* Discard what is left of a refused body. @return bytes discarded. */
static size_t swallow(struct wc_mc_session *ss, size_t avail)
{
	size_t n = ss->swallow < avail ? (size_t)ss->swallow : avail;

	ss->swallow -= n;
	return n;
}

/* Answer and consume a request whose body is discarded; @return bytes used. */
static size_t refuse(struct wc_mc_session *ss, const struct bin_req *r, size_t avail)
{
	size_t rest = avail - r->head;

	ss->swallow = r->vlen;
	return r->head + swallow(ss, rest);
}

size_t wc_mc_bin_process(struct wc_mc_ctx *c, struct wc_mc_session *ss, const uint8_t *buf,
			 size_t len, struct wc_out *out)
{
	size_t off = 0, written0 = out->written;
	struct bin_req r;

	wc_mc_flush_catch_up(c);

	while (off < len && !ss->close) {
		enum parse_rc rc;

		if (ss->swallow > 0) {
			off += swallow(ss, len - off);
			continue;
		}
		rc = parse(buf + off, len - off, c->srv->max_item_size, &r);
		if (rc == P_NEED_MORE)
			break;
		switch (rc) {
		case P_OK:
			r.op->exec(c, ss, &r, out);
			if (unlikely(ss->handoff != 0))
				goto done; /* the owner runs it from its start */
			off += r.head + (r.op->body == BIN_BODY_VALUE ? r.vlen : 0);
			if (ss->close)
				off = len; /* quit: nothing after it is read */
			break;
		case P_TOO_BIG:
			if (r.op->base == WC_MC_BIN_OP_SET) {
				uint64_t hash = wc_store_hash(r.key, r.keylen);

				if (to_owner(c, ss, hash))
					goto done;
				drop_stale(c, &r, hash);
			}
			reply_error(out, &r, WC_MC_BIN_E2BIG);
			off += refuse(ss, &r, len - off);
			break;
		case P_UNKNOWN:
			c->st->mc_protocol_errors++;
			reply_error(out, &r, WC_MC_BIN_UNKNOWN_COMMAND);
			off += refuse(ss, &r, len - off);
			break;
		case P_BAD_LEN:
		case P_EINVAL:
			c->st->mc_protocol_errors++;
			reply_error(out, &r,
				    rc == P_EINVAL ? WC_MC_BIN_EINVAL : WC_MC_BIN_UNKNOWN_COMMAND);
			/* fall through */
		default: /* P_CLOSE */
			if (rc == P_CLOSE)
				c->st->mc_protocol_errors++;
			ss->close = true;
			off = len;
			break;
		}
	}
done:
	c->st->mc_bytes_read += off;
	c->st->mc_bytes_written += out->written - written0;
	return off;
}
