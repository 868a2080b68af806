/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached text/meta executor: runs parsed requests against the store and
 * composes the replies memcached 1.6 would send, byte for byte.
 *
 * Every reply goes through the reply_* helpers below into a struct wc_out;
 * a value is copied once, from item memory into the sink. Item pointers are
 * used only between a lookup and the next store call that may move items,
 * and a value is always copied out before the access is recorded.
 *
 * With several partitions (CREW, see struct wc_mc_ctx) only the owner of a
 * key writes it. Each handler that may write decides first, before counting
 * or composing anything, whether the key is this lcore's; if not it names
 * the owner in ss->handoff and returns, and wc_mc_process() stops before the
 * command so the transport can carry the stream to the owner, which runs the
 * command again from the start. Reads of a key owned elsewhere are served
 * here from a lock-free copy (wc_store_read()).
 */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>

#include "dataplane/proto/mc.h"
#include "dataplane/proto/mc_parse.h"
#include "store/store.h"

#define REALTIME_MAXDELTA (60 * 60 * 24 * 30) /* larger exptimes are absolute */

/* ---- reply helpers ---- */

static void reply_put(struct wc_out *o, const void *p, size_t n)
{
	wc_out_put(o, p, n);
}

static void reply_crlf(struct wc_out *o)
{
	reply_put(o, "\r\n", 2);
}

static void reply_line(struct wc_out *o, const char *s)
{
	wc_out_str(o, s);
	reply_crlf(o);
}

static void reply_u64(struct wc_out *o, uint64_t v)
{
	wc_out_u64(o, v);
}

static void reply_i64(struct wc_out *o, int64_t v)
{
	if (v < 0) {
		reply_put(o, "-", 1);
		reply_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		reply_u64(o, (uint64_t)v);
	}
}

/* " <c><number>": one returned meta flag. */
static void reply_mflag_u64(struct wc_out *o, char c, uint64_t v)
{
	char h[2] = { ' ', c };

	reply_put(o, h, 2);
	reply_u64(o, v);
}

/* " k<key>", base64 and followed by " b" for a binary key. */
static void reply_mkey(struct wc_out *o, const uint8_t *key, size_t klen, bool binary)
{
	reply_put(o, " k", 2);
	if (binary) {
		uint8_t enc[4 * ((WC_MC_KEY_MAX + 2) / 3)];

		reply_put(o, enc, wc_mc_base64_encode(key, klen, enc));
		reply_put(o, " b", 2);
	} else {
		reply_put(o, key, klen);
	}
}

static void reply_opaque(struct wc_out *o, const struct wc_mc_token *t)
{
	reply_put(o, " ", 1);
	reply_put(o, t->p, t->len);
}

/* O and k flags, the only ones echoed on a miss or a failure. */
static void reply_mflags_min(struct wc_out *o, const struct wc_mc_request *req, uint32_t start)
{
	uint32_t i;

	for (i = start; i < req->ntok; i++) {
		if (req->tok[i].p[0] == 'O')
			reply_opaque(o, &req->tok[i]);
		else if (req->tok[i].p[0] == 'k')
			reply_mkey(o, req->key, req->klen, wc_mc_has(req, 'b'));
	}
}

/* A two-letter meta status with O/k flags. */
static void reply_mstatus(struct wc_out *o, const char *code, const struct wc_mc_request *req,
			  uint32_t start)
{
	reply_put(o, code, 2);
	reply_mflags_min(o, req, start);
	reply_crlf(o);
}

static bool is_protocol_error(const char *err)
{
	return strncmp(err, "ERROR", 5) == 0 || strncmp(err, "CLIENT_ERROR", 12) == 0;
}

/* An error reply: text commands honour noreply, meta commands never do. */
static void reply_error(struct wc_mc_ctx *c, const struct wc_mc_request *req, struct wc_out *o,
			const char *err)
{
	bool meta = req->cmd < WC_MC_CMD_COUNT && (wc_mc_cmd_table[req->cmd].flags & WC_MC_F_META);

	if (is_protocol_error(err))
		c->st->mc_protocol_errors++;
	if (req->noreply && !meta)
		return;
	reply_line(o, err);
}

void wc_mc_stat_u64(struct wc_out *out, const char *name, uint64_t v)
{
	reply_put(out, "STAT ", 5);
	wc_out_str(out, name);
	reply_put(out, " ", 1);
	reply_u64(out, v);
	reply_crlf(out);
}

void wc_mc_stat_str(struct wc_out *out, const char *name, const char *v)
{
	reply_put(out, "STAT ", 5);
	wc_out_str(out, name);
	reply_put(out, " ", 1);
	wc_out_str(out, v);
	reply_crlf(out);
}

/* ---- partitions ---- */

/* Stop the stream before the current command: partition @p owner runs it. */
static inline void handoff(struct wc_mc_session *ss, int owner)
{
	ss->handoff = (uint16_t)(owner + 1);
}

/*
 * For a command that writes the key with @p hash: true if another lcore
 * owns it, the stream then being handed there (nothing done here).
 */
static inline bool to_owner(const struct wc_mc_ctx *c, struct wc_mc_session *ss, uint64_t hash)
{
	int owner = wc_mc_remote_owner(c, hash);

	if (likely(owner < 0))
		return false;
	handoff(ss, owner);
	return true;
}

/*
 * Copy a key's value and metadata out of partition @p owner (another lcore's)
 * into the scratch buffer, lock-free.
 * @return the value length; -ENOENT if absent; -EAGAIN if the owner must
 *         serve it (every try raced a writer), counted as a retry.
 */
static int read_remote(struct wc_mc_ctx *c, int owner, const uint8_t *key, size_t klen,
		       uint64_t hash, bool bump, struct wc_item_meta *meta)
{
	const struct wc_mc_server *srv = c->srv;
	int r;

	/* A partition that has not caught up with a flush holds only older items. */
	if (srv->flush_gen != NULL && __atomic_load_n(&srv->part_gen[owner], __ATOMIC_ACQUIRE) !=
					      __atomic_load_n(srv->flush_gen, __ATOMIC_ACQUIRE))
		return -ENOENT;
	r = wc_store_read(c->parts[owner], key, klen, hash, c->scratch, c->scratch_len, bump, meta);

	if (unlikely(r == -EAGAIN || r == -ENOSPC)) {
		c->st->xcore_remote_read_retries++;
		return -EAGAIN;
	}
	c->st->xcore_remote_reads++;
	return r < 0 ? -ENOENT : r;
}

int wc_mc_read_remote(struct wc_mc_ctx *c, unsigned int owner, const uint8_t *key, size_t klen,
		      uint64_t hash, bool bump, struct wc_item_meta *meta)
{
	return read_remote(c, (int)owner, key, klen, hash, bump, meta);
}

/* What mg and me show of an item: read in place, or copied from another partition. */
struct item_info {
	const uint8_t *val;
	uint32_t vlen;
	uint32_t flags;
	uint32_t exptime;
	uint32_t atime;
	uint64_t cas;
	uint8_t bits;
	bool fetched;
};

static void info_of_item(const struct wc_item *it, struct item_info *in)
{
	in->val = wc_item_value(it, &in->vlen);
	in->flags = wc_item_flags(it);
	in->exptime = wc_item_exptime(it);
	in->atime = wc_item_atime(it);
	in->cas = wc_item_cas(it);
	in->bits = wc_item_bits(it);
	in->fetched = wc_item_fetched(it);
}

static void info_of_meta(const struct wc_mc_ctx *c, const struct wc_item_meta *m,
			 struct item_info *in)
{
	in->val = c->scratch;
	in->vlen = m->vlen;
	in->flags = m->flags;
	in->exptime = m->exptime;
	in->atime = m->atime;
	in->cas = m->cas;
	in->bits = m->bits;
	in->fetched = m->fetched;
}

/* ---- time ---- */

/*
 * memcached's exptime rules as an absolute store time: 0 never expires, up to
 * 30 days is relative to now, larger is a unix time, negative is already
 * expired (1, a time long past; 0 would mean "never").
 */
static uint32_t abs_time(const struct wc_mc_ctx *c, int32_t e)
{
	if (e < 0)
		return 1;
	if (e == 0)
		return 0;
	if (e <= REALTIME_MAXDELTA)
		return wc_store_now(c->store) + (uint32_t)e;
	return (uint32_t)e;
}

/* Remaining TTL as memcached's meta 't' shows it: -1 for never. */
static void reply_ttl(struct wc_out *o, const struct wc_mc_ctx *c, uint32_t exptime)
{
	reply_put(o, " t", 2);
	if (exptime == 0)
		reply_put(o, "-1", 2);
	else
		reply_u64(o, (uint32_t)(exptime - wc_store_now(c->store)));
}

/* ---- text commands ---- */

typedef void (*exec_fn)(struct wc_mc_ctx *c, struct wc_mc_session *ss,
			const struct wc_mc_request *req, struct wc_out *o);

/*
 * A value's reply, composed in place when the sink's window holds it whole
 * (nearly always), else piecewise.
 */
static void reply_value(struct wc_out *o, const uint8_t *key, size_t klen,
			const struct wc_item_view *v, bool with_cas)
{
	uint8_t *p = wc_out_reserve(o, wc_mc_value_max(klen, v->vlen));

	if (likely(p != NULL)) {
		wc_out_advance(o, (size_t)(wc_mc_fmt_value(p, key, klen, v, with_cas) - p));
		return;
	}
	reply_put(o, "VALUE ", 6);
	reply_put(o, key, klen);
	reply_put(o, " ", 1);
	reply_u64(o, v->flags);
	reply_put(o, " ", 1);
	reply_u64(o, v->vlen);
	if (with_cas) {
		reply_put(o, " ", 1);
		reply_u64(o, v->cas);
	}
	reply_crlf(o);
	reply_put(o, v->val, v->vlen);
	reply_crlf(o);
}

/*
 * A get/gets/bget key owned by another lcore, from a lock-free copy.
 * @return -1 when served, else the owner that must serve it.
 */
static __rte_noinline int get_key_remote(struct wc_mc_ctx *c, int owner, const uint8_t *key,
					 size_t klen, uint64_t hash, bool with_cas,
					 struct wc_out *o)
{
	struct wc_item_meta meta;
	struct wc_item_view v;
	int r = read_remote(c, owner, key, klen, hash, true, &meta);

	if (r == -EAGAIN)
		return owner;
	c->st->mc_cmd_get++;
	if (r < 0) {
		c->st->mc_get_misses++;
		return -1;
	}
	c->st->mc_get_hits++;
	v.val = c->scratch;
	v.vlen = meta.vlen;
	v.flags = meta.flags;
	v.cas = meta.cas;
	reply_value(o, key, klen, &v, with_cas);
	return -1;
}

/*
 * One key of a get-family command.
 * @return -1 when done, else the partition that must run it (nothing done).
 */
static inline int get_key(struct wc_mc_ctx *c, const uint8_t *key, size_t klen, bool with_cas,
			  bool touch, uint32_t exptime, struct wc_out *o)
{
	struct wc_item_view v;
	uint64_t hash = wc_store_hash(key, klen);
	struct wc_item *it;

	if (unlikely(c->nparts > 1)) {
		int owner = wc_mc_remote_owner(c, hash);

		/* gat/gats write the expiry: the owner's to do. */
		if (owner >= 0)
			return touch ? owner
				     : get_key_remote(c, owner, key, klen, hash, with_cas, o);
	}
	c->st->mc_cmd_get++;
	if (likely(!touch && !with_cas)) {
		/* The plain get: looked up and marked accessed in one call. */
		if (wc_store_fetch(c->store, key, klen, hash, &v) == NULL) {
			c->st->mc_get_misses++;
			return -1;
		}
		c->st->mc_get_hits++;
		reply_value(o, key, klen, &v, false);
		return -1;
	}
	it = wc_store_get(c->store, key, klen, hash, &v);
	if (touch)
		c->st->mc_cmd_touch++;
	if (it == NULL) {
		if (touch)
			c->st->mc_touch_misses++;
		else
			c->st->mc_get_misses++;
		return -1;
	}
	if (touch) {
		/* May move the item: v stays readable until the next store call. */
		it = wc_item_set_exptime(c->store, it, exptime);
		c->st->mc_touch_hits++;
	} else {
		c->st->mc_get_hits++;
	}
	reply_value(o, key, klen, &v, with_cas);
	wc_store_bump(c->store, it);
	return -1;
}

static void exec_get(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct wc_mc_request *req,
		     struct wc_out *o)
{
	bool with_cas = req->cmd == WC_MC_CMD_GETS || req->cmd == WC_MC_CMD_GATS;
	bool touch = req->cmd == WC_MC_CMD_GAT || req->cmd == WC_MC_CMD_GATS;
	uint32_t exptime = touch ? abs_time(c, req->exptime) : 0;
	const uint8_t *key;
	size_t klen, pos, at;
	int owner;

	/* One key (the parser says which): no walk over the line. */
	if (req->key != NULL) {
		owner = get_key(c, req->key, req->klen, with_cas, touch, exptime, o);
		if (unlikely(owner >= 0)) {
			handoff(ss, owner);
			return;
		}
	} else {
		/* Handed over between keys: carry on from the key where it stopped. */
		pos = ss->key_pos;
		ss->key_pos = 0;
		for (at = pos; wc_mc_next_key(req, &pos, &key, &klen); at = pos) {
			owner = get_key(c, key, klen, with_cas, touch, exptime, o);
			if (owner >= 0) {
				ss->key_pos = (uint32_t)at;
				handoff(ss, owner);
				return;
			}
		}
	}
	reply_put(o, "END\r\n", 5);
}

static enum wc_store_mode text_mode(enum wc_mc_cmd cmd)
{
	switch (cmd) {
	case WC_MC_CMD_ADD:
		return WC_MODE_ADD;
	case WC_MC_CMD_REPLACE:
		return WC_MODE_REPLACE;
	case WC_MC_CMD_APPEND:
		return WC_MODE_APPEND;
	case WC_MC_CMD_PREPEND:
		return WC_MODE_PREPEND;
	case WC_MC_CMD_CAS:
		return WC_MODE_CAS;
	default:
		return WC_MODE_SET;
	}
}

/* A store refused for size or memory leaves no stale value behind for SET. */
static void drop_stale(struct wc_mc_ctx *c, const uint8_t *key, size_t klen, uint64_t hash)
{
	(void)wc_store_delete(c->store, key, klen, hash, 0);
}

static void exec_store(struct wc_mc_ctx *c, struct wc_mc_session *ss,
		       const struct wc_mc_request *req, struct wc_out *o)
{
	enum wc_store_mode mode = text_mode(req->cmd);
	uint64_t hash = wc_store_hash(req->key, req->klen);
	const char *res;
	int r;

	if (to_owner(c, ss, hash))
		return;
	c->st->mc_cmd_set++;
	r = wc_store_set(c->store, mode, req->key, req->klen, hash, req->data, req->vlen,
			 req->flags, abs_time(c, req->exptime), mode == WC_MODE_CAS ? req->cas : 0,
			 NULL);
	/* memcached answers an append/prepend it cannot make room for NOT_STORED. */
	if (r < 0 && (mode == WC_MODE_APPEND || mode == WC_MODE_PREPEND))
		r = WC_STORE_NOT_STORED;
	switch (r) {
	case WC_STORE_OK:
		res = "STORED";
		if (mode == WC_MODE_CAS)
			c->st->mc_cas_hits++;
		break;
	case WC_STORE_NOT_STORED:
		res = "NOT_STORED";
		break;
	case WC_STORE_EXISTS:
		res = "EXISTS";
		c->st->mc_cas_badval++;
		break;
	case WC_STORE_NOT_FOUND:
		res = "NOT_FOUND";
		c->st->mc_cas_misses++;
		break;
	case -E2BIG:
		res = "SERVER_ERROR object too large for cache";
		if (mode == WC_MODE_SET)
			drop_stale(c, req->key, req->klen, hash);
		break;
	default:
		res = "SERVER_ERROR out of memory storing object";
		if (mode == WC_MODE_SET)
			drop_stale(c, req->key, req->klen, hash);
		break;
	}
	if (!req->noreply) {
		if (r == WC_STORE_OK)
			reply_put(o, "STORED\r\n", 8);
		else
			reply_line(o, res);
	}
}

static void exec_delete(struct wc_mc_ctx *c, struct wc_mc_session *ss,
			const struct wc_mc_request *req, struct wc_out *o)
{
	uint64_t hash = wc_store_hash(req->key, req->klen);
	int r;

	if (to_owner(c, ss, hash))
		return;
	r = wc_store_delete(c->store, req->key, req->klen, hash, 0);
	if (r == WC_STORE_OK)
		c->st->mc_delete_hits++;
	else
		c->st->mc_delete_misses++;
	if (!req->noreply)
		reply_line(o, r == WC_STORE_OK ? "DELETED" : "NOT_FOUND");
}

static void exec_arith(struct wc_mc_ctx *c, struct wc_mc_session *ss,
		       const struct wc_mc_request *req, struct wc_out *o)
{
	bool incr = req->cmd == WC_MC_CMD_INCR;
	uint64_t result = 0, cas = 0, hash = wc_store_hash(req->key, req->klen);
	int r;

	if (to_owner(c, ss, hash))
		return;
	r = wc_store_arith(c->store, req->key, req->klen, hash, incr, req->delta, 0, &result, &cas);
	if (r == WC_STORE_OK) {
		if (incr)
			c->st->mc_incr_hits++;
		else
			c->st->mc_decr_hits++;
		if (!req->noreply) {
			reply_u64(o, result);
			reply_crlf(o);
		}
		return;
	}
	if (r == WC_STORE_NOT_FOUND) {
		if (incr)
			c->st->mc_incr_misses++;
		else
			c->st->mc_decr_misses++;
		if (!req->noreply)
			reply_line(o, "NOT_FOUND");
		return;
	}
	if (r == WC_STORE_NON_NUMERIC) {
		reply_error(c, req, o,
			    "CLIENT_ERROR cannot increment or decrement non-numeric value");
		return;
	}
	if (!req->noreply)
		reply_line(o, "SERVER_ERROR out of memory");
}

static void exec_touch(struct wc_mc_ctx *c, struct wc_mc_session *ss,
		       const struct wc_mc_request *req, struct wc_out *o)
{
	uint64_t hash = wc_store_hash(req->key, req->klen);
	struct wc_item *it;

	if (to_owner(c, ss, hash))
		return;
	it = wc_store_lookup(c->store, req->key, req->klen, hash);
	c->st->mc_cmd_touch++;
	if (it != NULL) {
		it = wc_item_set_exptime(c->store, it, abs_time(c, req->exptime));
		wc_store_bump(c->store, it);
		c->st->mc_touch_hits++;
	} else {
		c->st->mc_touch_misses++;
	}
	if (!req->noreply)
		reply_line(o, it != NULL ? "TOUCHED" : "NOT_FOUND");
}

static void exec_flush(struct wc_mc_ctx *c, struct wc_mc_session *ss,
		       const struct wc_mc_request *req, struct wc_out *o)
{
	uint32_t when = 0;

	(void)ss;
	c->st->mc_cmd_flush++;
	/* memcached: a delay of 0 or less flushes now. */
	if (req->has_delay && req->delay > 0)
		when = abs_time(c, req->delay);
	if (c->srv->flush != NULL)
		c->srv->flush(c->srv->flush_arg, when);
	else
		wc_store_flush(c->store, when);
	if (!req->noreply)
		reply_line(o, "OK");
}

static void exec_verbosity(struct wc_mc_ctx *c, struct wc_mc_session *ss,
			   const struct wc_mc_request *req, struct wc_out *o)
{
	(void)c;
	(void)ss;
	if (!req->noreply)
		reply_line(o, "OK");
}

static void exec_version(struct wc_mc_ctx *c, struct wc_mc_session *ss,
			 const struct wc_mc_request *req, struct wc_out *o)
{
	(void)ss;
	(void)req;
	reply_put(o, "VERSION ", 8);
	reply_line(o, c->srv->version != NULL ? c->srv->version : "");
}

static void exec_quit(struct wc_mc_ctx *c, struct wc_mc_session *ss,
		      const struct wc_mc_request *req, struct wc_out *o)
{
	(void)c;
	(void)req;
	(void)o;
	ss->close = true;
}

static bool detail_arg_ok(const struct wc_mc_request *req)
{
	const struct wc_mc_token *t = &req->tok[2];

	if (req->ntok < 3)
		return false;
	return (t->len == 2 && memcmp(t->p, "on", 2) == 0) ||
	       (t->len == 3 && memcmp(t->p, "off", 3) == 0) ||
	       (t->len == 4 && memcmp(t->p, "dump", 4) == 0);
}

static void exec_stats(struct wc_mc_ctx *c, struct wc_mc_session *ss,
		       const struct wc_mc_request *req, struct wc_out *o)
{
	char sub[64];
	size_t n = 0;
	int r = 0;

	(void)ss;
	if (req->ntok >= 2) {
		n = req->tok[1].len;
		if (n >= sizeof(sub)) {
			reply_error(c, req, o, "ERROR");
			return;
		}
		memcpy(sub, req->tok[1].p, n);
	}
	sub[n] = '\0';
	/* memcached checks the argument of "stats detail" itself. */
	if (n == 6 && memcmp(sub, "detail", 6) == 0 && !detail_arg_ok(req)) {
		reply_error(c, req, o, "CLIENT_ERROR usage: stats detail on|off|dump");
		return;
	}
	if (c->srv->stats != NULL)
		r = c->srv->stats(c->srv->stats_arg, n != 0 ? sub : NULL, n, o);
	else if (n != 0)
		r = -ENOENT;
	if (r != 0) {
		reply_error(c, req, o, "ERROR");
		return;
	}
	reply_line(o, n == 5 && memcmp(sub, "reset", 5) == 0 ? "RESET" : "END");
}

/* ---- meta commands ---- */

static struct wc_item *set_explicit_cas(struct wc_mc_ctx *c, const struct wc_mc_request *req,
					struct wc_item *it)
{
	if (it != NULL && wc_mc_has(req, 'E'))
		return wc_item_set_cas(c->store, it, req->m.cas_E);
	return it;
}

/* Flags with which mg only reads: a key owned elsewhere is served here. */
#define MG_READ_FLAGS                                                                    \
	(WC_MC_MF('b') | WC_MC_MF('c') | WC_MC_MF('f') | WC_MC_MF('h') | WC_MC_MF('k') | \
	 WC_MC_MF('l') | WC_MC_MF('O') | WC_MC_MF('q') | WC_MC_MF('s') | WC_MC_MF('t') | \
	 WC_MC_MF('u') | WC_MC_MF('v'))

/* A miss is a get's miss even with T: memcached 1.6.18 counts no touch then. */
static void mg_miss(struct wc_mc_ctx *c, const struct wc_mc_request *req, struct wc_out *o)
{
	c->st->mc_get_misses++;
	if (!req->noreply)
		reply_mstatus(o, "EN", req, 2);
}

/*
 * An mg hit. @p it is the item in this lcore's partition, or NULL for a copy
 * read from another partition (then no flag that writes is present and the
 * access was recorded by the read).
 */
static void mg_hit(struct wc_mc_ctx *c, const struct wc_mc_request *req, struct wc_out *o,
		   struct wc_item *it, const struct item_info *in, bool created)
{
	bool won = false, ttl_set = false, value = wc_mc_has(req, 'v');
	const uint8_t *val = in->val;
	uint32_t now = wc_store_now(c->store);
	uint32_t exptime = in->exptime, i;
	uint8_t bits = in->bits;

	if (wc_mc_has(req, 'C') && in->cas == req->m.cas_C)
		value = false;
	if (value) {
		reply_put(o, "VA ", 3);
		reply_u64(o, in->vlen);
	} else {
		reply_put(o, "HD", 2);
	}
	for (i = 2; i < req->ntok; i++) {
		const struct wc_mc_token *t = &req->tok[i];

		switch (t->p[0]) {
		case 'T':
			ttl_set = true;
			exptime = abs_time(c, req->m.ttl_T);
			if (it != NULL) {
				/* The item may move to take the expiry. */
				it = wc_item_set_exptime(c->store, it, exptime);
				val = wc_item_value(it, NULL);
			}
			break;
		case 'N':
			if (created)
				won = true;
			break;
		case 'R':
			if (!(bits & WC_ITEM_WON) && !created && exptime != 0 &&
			    exptime < abs_time(c, req->m.ttl_R))
				won = true;
			break;
		case 's':
			reply_mflag_u64(o, 's', in->vlen);
			break;
		case 't':
			reply_ttl(o, c, exptime);
			break;
		case 'c':
			reply_mflag_u64(o, 'c', in->cas);
			break;
		case 'f':
			reply_mflag_u64(o, 'f', in->flags);
			break;
		case 'l':
			reply_mflag_u64(o, 'l', (uint32_t)(now - in->atime));
			break;
		case 'h':
			reply_put(o, in->fetched ? " h1" : " h0", 3);
			break;
		case 'O':
			reply_opaque(o, t);
			break;
		case 'k':
			reply_mkey(o, req->key, req->klen, wc_mc_has(req, 'b'));
			break;
		default:
			break;
		}
	}
	/* Z before W, so a client never sees both. */
	if (bits & WC_ITEM_WON)
		reply_put(o, " Z", 2);
	if (bits & WC_ITEM_STALE) {
		reply_put(o, " X", 2);
		if (!(bits & WC_ITEM_WON))
			won = true;
	}
	if (won && it != NULL) {
		reply_put(o, " W", 2);
		wc_item_set_bits(c->store, it, bits | WC_ITEM_WON);
	}
	reply_crlf(o);
	if (value) {
		reply_put(o, val, in->vlen);
		reply_crlf(o);
	}
	if (ttl_set) {
		c->st->mc_cmd_touch++;
		c->st->mc_touch_hits++;
	} else {
		c->st->mc_get_hits++;
	}
	if (it != NULL && !wc_mc_has(req, 'u'))
		wc_store_bump(c->store, it);
}

/*
 * mg of a key partition @p owner holds, from a lock-free copy when it only
 * reads. @return false if the owner must run it (nothing done here): a flag
 * that writes, a stale item whose recache token this read would win, or a
 * read that kept racing a writer.
 */
static bool mg_remote(struct wc_mc_ctx *c, const struct wc_mc_request *req, struct wc_out *o,
		      int owner, uint64_t hash)
{
	struct wc_item_meta meta;
	struct item_info in;
	int r;

	if (req->m.seen & ~(uint64_t)MG_READ_FLAGS)
		return false;
	r = read_remote(c, owner, req->key, req->klen, hash, !wc_mc_has(req, 'u'), &meta);
	if (r == -EAGAIN)
		return false;
	if (r >= 0 && (meta.bits & WC_ITEM_STALE) && !(meta.bits & WC_ITEM_WON))
		return false;
	c->st->mc_cmd_meta++;
	c->st->mc_cmd_get++;
	if (r < 0) {
		mg_miss(c, req, o);
		return true;
	}
	info_of_meta(c, &meta, &in);
	mg_hit(c, req, o, NULL, &in, false);
	return true;
}

static void exec_mg(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct wc_mc_request *req,
		    struct wc_out *o)
{
	uint64_t hash = wc_store_hash(req->key, req->klen);
	int owner = wc_mc_remote_owner(c, hash);
	struct item_info in;
	struct wc_item *it;
	bool created = false;

	if (unlikely(owner >= 0)) {
		if (!mg_remote(c, req, o, owner, hash))
			handoff(ss, owner);
		return;
	}
	it = wc_store_lookup(c->store, req->key, req->klen, hash);
	c->st->mc_cmd_meta++;
	c->st->mc_cmd_get++;
	if (it == NULL && wc_mc_has(req, 'N')) {
		/* Vivify: an empty item whose creator wins the right to recache. */
		if (wc_store_set(c->store, WC_MODE_ADD, req->key, req->klen, hash, "", 0, 0,
				 abs_time(c, req->m.ttl_N), 0, NULL) == WC_STORE_OK) {
			it = wc_store_lookup(c->store, req->key, req->klen, hash);
			it = set_explicit_cas(c, req, it);
			created = it != NULL;
		}
	}
	if (it == NULL) {
		mg_miss(c, req, o);
		return;
	}
	info_of_item(it, &in);
	mg_hit(c, req, o, it, &in, created);
}

static enum wc_store_mode meta_mode(char m)
{
	switch (m) {
	case 'E':
		return WC_MODE_ADD;
	case 'A':
		return WC_MODE_APPEND;
	case 'P':
		return WC_MODE_PREPEND;
	case 'R':
		return WC_MODE_REPLACE;
	default:
		return WC_MODE_SET;
	}
}

/*
 * ms with I and a C older than the item's CAS: memcached stores the value
 * anyway, keeping the old TTL, and marks it stale (and keeps its win token).
 * @return true if that applied and the value was stored.
 */
static bool ms_stale(struct wc_mc_ctx *c, const struct wc_mc_request *req, uint64_t hash, int *r,
		     uint64_t *cas)
{
	struct wc_item *it = wc_store_lookup(c->store, req->key, req->klen, hash);
	uint32_t exptime;
	uint8_t bits;

	if (it == NULL || req->m.cas_C >= wc_item_cas(it))
		return false;
	exptime = wc_item_exptime(it);
	bits = wc_item_bits(it);
	*r = wc_store_set(c->store, WC_MODE_SET, req->key, req->klen, hash, req->data, req->vlen,
			  req->m.client_flags, exptime, 0, cas);
	if (*r == WC_STORE_OK) {
		it = wc_store_lookup(c->store, req->key, req->klen, hash);
		if (it != NULL)
			wc_item_set_bits(c->store, it, WC_ITEM_STALE | (bits & WC_ITEM_WON));
	}
	return true;
}

static void exec_ms(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct wc_mc_request *req,
		    struct wc_out *o)
{
	enum wc_store_mode mode = meta_mode(req->m.mode);
	uint64_t hash = wc_store_hash(req->key, req->klen);
	uint32_t exptime = abs_time(c, req->m.ttl_T);
	uint64_t cas_in = 0, cas = 0;
	uint32_t size = req->vlen, i;
	bool append = mode == WC_MODE_APPEND || mode == WC_MODE_PREPEND;
	const char *code;
	int r;

	if (to_owner(c, ss, hash))
		return;
	c->st->mc_cmd_meta++;
	c->st->mc_cmd_set++;
	if (wc_mc_has(req, 'C')) {
		/* memcached: C turns set/replace into cas; add ignores it. */
		if (mode == WC_MODE_SET || mode == WC_MODE_REPLACE)
			mode = WC_MODE_CAS;
		if (mode != WC_MODE_ADD)
			cas_in = req->m.cas_C;
	}
	if (!(mode == WC_MODE_CAS && wc_mc_has(req, 'I') && ms_stale(c, req, hash, &r, &cas))) {
		r = wc_store_set(c->store, mode, req->key, req->klen, hash, req->data, req->vlen,
				 req->m.client_flags, exptime, cas_in, &cas);
		/* Append/prepend with N create the item on a miss. */
		if (r == WC_STORE_NOT_STORED && append && wc_mc_has(req, 'N'))
			r = wc_store_set(c->store, WC_MODE_ADD, req->key, req->klen, hash,
					 req->data, req->vlen, req->m.client_flags,
					 abs_time(c, req->m.ttl_N), 0, &cas);
	}
	if (r < 0 && append)
		r = WC_STORE_NOT_STORED; /* as the text protocol's append */
	switch (r) {
	case WC_STORE_OK:
		code = "HD";
		if (mode == WC_MODE_CAS)
			c->st->mc_cas_hits++;
		break;
	case WC_STORE_NOT_STORED:
		code = "NS";
		break;
	case WC_STORE_EXISTS:
		code = "EX";
		if (mode == WC_MODE_CAS)
			c->st->mc_cas_badval++;
		break;
	case WC_STORE_NOT_FOUND:
		code = "NF";
		if (mode == WC_MODE_CAS)
			c->st->mc_cas_misses++;
		break;
	default:
		/* memcached drops the old value whatever the mode. */
		drop_stale(c, req->key, req->klen, hash);
		reply_error(c, req, o,
			    r == -E2BIG ? "SERVER_ERROR object too large for cache"
					: "SERVER_ERROR out of memory storing object");
		return;
	}
	if (r == WC_STORE_OK) {
		struct wc_item *it = NULL;

		if (wc_mc_has(req, 'E') || (append && wc_mc_has(req, 's')))
			it = wc_store_lookup(c->store, req->key, req->klen, hash);
		if (it != NULL && wc_mc_has(req, 'E')) {
			it = wc_item_set_cas(c->store, it, req->m.cas_E);
			cas = req->m.cas_E;
		}
		if (it != NULL)
			(void)wc_item_value(it, &size);
		if (req->noreply)
			return;
	} else {
		cas = 0;
	}
	reply_put(o, code, 2);
	for (i = 3; i < req->ntok; i++) {
		switch (req->tok[i].p[0]) {
		case 'O':
			reply_opaque(o, &req->tok[i]);
			break;
		case 'k':
			reply_mkey(o, req->key, req->klen, wc_mc_has(req, 'b'));
			break;
		case 'c':
			reply_mflag_u64(o, 'c', cas);
			break;
		case 's':
			reply_mflag_u64(o, 's', size);
			break;
		default:
			break;
		}
	}
	reply_crlf(o);
}

static void exec_md(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct wc_mc_request *req,
		    struct wc_out *o)
{
	uint64_t hash = wc_store_hash(req->key, req->klen);
	struct wc_item *it;
	const char *code = "HD";

	if (to_owner(c, ss, hash))
		return;
	it = wc_store_lookup(c->store, req->key, req->klen, hash);
	c->st->mc_cmd_meta++;
	if (it == NULL) {
		c->st->mc_delete_misses++;
		reply_mstatus(o, "NF", req, 2);
		return;
	}
	if (wc_mc_has(req, 'C') && wc_item_cas(it) != req->m.cas_C) {
		c->st->mc_delete_misses++;
		reply_mstatus(o, "EX", req, 2);
		return;
	}
	if (wc_mc_has(req, 'x')) {
		/* Keep the item, drop its value: a tombstone when combined with I. */
		uint64_t old_cas = wc_item_cas(it);
		int r = wc_store_set(c->store, WC_MODE_SET, req->key, req->klen, hash, "", 0,
				     req->m.client_flags, abs_time(c, req->m.ttl_T), 0, NULL);

		if (r != WC_STORE_OK) {
			reply_error(c, req, o, "SERVER_ERROR out of memory");
			return;
		}
		it = wc_store_lookup(c->store, req->key, req->klen, hash);
		if (it != NULL)
			it = wc_item_set_cas(c->store, it,
					     wc_mc_has(req, 'E') ? req->m.cas_E : old_cas);
	}
	if (wc_mc_has(req, 'I') && it != NULL) {
		if (wc_mc_has(req, 'T'))
			it = wc_item_set_exptime(c->store, it, abs_time(c, req->m.ttl_T));
		wc_item_set_bits(c->store, it,
				 (uint8_t)((wc_item_bits(it) | WC_ITEM_STALE) & ~WC_ITEM_WON));
		if (wc_mc_has(req, 'E'))
			it = wc_item_set_cas(c->store, it, req->m.cas_E);
		else
			it = wc_item_new_cas(c->store, it);
	} else {
		c->st->mc_delete_hits++;
		if (!wc_mc_has(req, 'x'))
			(void)wc_store_delete(c->store, req->key, req->klen, hash, 0);
	}
	if (!req->noreply)
		reply_mstatus(o, code, req, 2);
}

static void exec_ma(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct wc_mc_request *req,
		    struct wc_out *o)
{
	bool incr = req->m.mode != 'D' && req->m.mode != '-';
	uint64_t hash = wc_store_hash(req->key, req->klen);
	uint64_t result = 0, cas = 0;
	struct wc_item *it = NULL;
	bool created = false;
	char num[24];
	size_t nlen = 0;
	uint32_t exptime, i;
	int r;

	if (to_owner(c, ss, hash))
		return;
	c->st->mc_cmd_meta++;
	r = wc_store_arith(c->store, req->key, req->klen, hash, incr, req->m.delta_D,
			   wc_mc_has(req, 'C') ? req->m.cas_C : 0, &result, &cas);
	if (r == WC_STORE_NOT_FOUND && wc_mc_has(req, 'N')) {
		uint64_t v = req->m.initial_J;

		do {
			num[sizeof(num) - 1 - nlen++] = (char)('0' + v % 10);
			v /= 10;
		} while (v != 0);
		memmove(num, num + sizeof(num) - nlen, nlen);
		r = wc_store_set(c->store, WC_MODE_ADD, req->key, req->klen, hash, num,
				 (uint32_t)nlen, 0, abs_time(c, req->m.ttl_N), 0, &cas);
		if (r == WC_STORE_OK) {
			created = true;
			result = req->m.initial_J;
		} else if (r < 0) {
			reply_error(c, req, o, "SERVER_ERROR Out of memory allocating new item");
			return;
		} else {
			r = WC_STORE_NOT_STORED;
		}
	}
	switch (r) {
	case WC_STORE_OK:
		if (incr)
			c->st->mc_incr_hits++;
		else
			c->st->mc_decr_hits++;
		break;
	case WC_STORE_NOT_FOUND:
		if (incr)
			c->st->mc_incr_misses++;
		else
			c->st->mc_decr_misses++;
		reply_mstatus(o, "NF", req, 2);
		return;
	case WC_STORE_EXISTS:
		reply_mstatus(o, "EX", req, 2);
		return;
	case WC_STORE_NOT_STORED:
		reply_mstatus(o, "NS", req, 2);
		return;
	case WC_STORE_NON_NUMERIC:
		reply_error(c, req, o,
			    "CLIENT_ERROR cannot increment or decrement non-numeric value");
		return;
	default:
		reply_error(c, req, o, "SERVER_ERROR out of memory");
		return;
	}
	it = wc_store_lookup(c->store, req->key, req->klen, hash);
	if (it != NULL && wc_mc_has(req, 'E')) {
		it = wc_item_set_cas(c->store, it, req->m.cas_E);
		cas = req->m.cas_E;
	}
	exptime = it != NULL ? wc_item_exptime(it) : 0;
	/* memcached (1.6) answers a miss it vivified even under q. */
	if (req->noreply && !created) {
		/* q hides success, but T still applies. */
		if (it != NULL && wc_mc_has(req, 'T'))
			(void)wc_item_set_exptime(c->store, it, abs_time(c, req->m.ttl_T));
		return;
	}
	if (nlen == 0) {
		uint64_t v = result;

		do {
			num[sizeof(num) - 1 - nlen++] = (char)('0' + v % 10);
			v /= 10;
		} while (v != 0);
		memmove(num, num + sizeof(num) - nlen, nlen);
	}
	if (wc_mc_has(req, 'v')) {
		reply_put(o, "VA ", 3);
		reply_u64(o, nlen);
	} else {
		reply_put(o, "HD", 2);
	}
	for (i = 2; i < req->ntok; i++) {
		switch (req->tok[i].p[0]) {
		case 'c':
			reply_mflag_u64(o, 'c', cas);
			break;
		case 't':
			reply_ttl(o, c, exptime);
			break;
		case 'T':
			exptime = abs_time(c, req->m.ttl_T);
			if (it != NULL)
				it = wc_item_set_exptime(c->store, it, exptime);
			break;
		case 'O':
			reply_opaque(o, &req->tok[i]);
			break;
		case 'k':
			reply_mkey(o, req->key, req->klen, wc_mc_has(req, 'b'));
			break;
		default:
			break;
		}
	}
	if (wc_mc_has(req, 'v')) {
		reply_crlf(o);
		reply_put(o, num, nlen);
	}
	reply_crlf(o);
	(void)created;
}

static void exec_mn(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct wc_mc_request *req,
		    struct wc_out *o)
{
	(void)ss;
	(void)req;
	c->st->mc_cmd_meta++;
	reply_put(o, "MN\r\n", 4);
}

/* Meta debug: "ME key exp=.. la=.. cas=.. fetch=.. cls=.. size=..". */
static void exec_me(struct wc_mc_ctx *c, struct wc_mc_session *ss, const struct wc_mc_request *req,
		    struct wc_out *o)
{
	uint64_t hash = wc_store_hash(req->key, req->klen);
	int owner = wc_mc_remote_owner(c, hash);
	uint32_t now = wc_store_now(c->store);
	struct wc_item_meta meta;
	struct item_info in;
	struct wc_item *it;

	if (unlikely(owner >= 0)) {
		int r = read_remote(c, owner, req->key, req->klen, hash, false, &meta);

		if (r == -EAGAIN) {
			handoff(ss, owner);
			return;
		}
		c->st->mc_cmd_meta++;
		if (r < 0) {
			reply_put(o, "EN\r\n", 4);
			return;
		}
		info_of_meta(c, &meta, &in);
	} else {
		it = wc_store_lookup(c->store, req->key, req->klen, hash);
		c->st->mc_cmd_meta++;
		if (it == NULL) {
			reply_put(o, "EN\r\n", 4);
			return;
		}
		info_of_item(it, &in);
	}
	reply_put(o, "ME ", 3);
	if (wc_mc_has(req, 'b')) {
		uint8_t enc[4 * ((WC_MC_KEY_MAX + 2) / 3)];

		reply_put(o, enc, wc_mc_base64_encode(req->key, req->klen, enc));
	} else {
		reply_put(o, req->key, req->klen);
	}
	/* memcached prints exp as now - exptime: negative while the item lives. */
	reply_put(o, " exp=", 5);
	reply_i64(o, in.exptime == 0 ? -1 : (int64_t)(int32_t)(now - in.exptime));
	reply_put(o, " la=", 4);
	reply_u64(o, (uint32_t)(now - in.atime));
	reply_put(o, " cas=", 5);
	reply_u64(o, in.cas);
	reply_put(o, in.fetched ? " fetch=yes" : " fetch=no", in.fetched ? 10 : 9);
	/*
	 * size is what memcached would account for the item (its 48-byte
	 * header, CAS, key + NUL, value + CRLF, flags if non-zero), so tools
	 * reading it see familiar figures; cls is always 1, there are no slabs.
	 */
	reply_put(o, " cls=1 size=", 12);
	reply_u64(o, 48 + 8 + req->klen + 1 + in.vlen + 2 + (in.flags != 0 ? 4 : 0));
	reply_crlf(o);
}

static const exec_fn handlers[WC_MC_CMD_COUNT] = {
#define WC_MC_CMD_HANDLER(id, h, nm, mn, mx, fl) [WC_MC_CMD_##id] = exec_##h,
	WC_MC_COMMANDS(WC_MC_CMD_HANDLER)
#undef WC_MC_CMD_HANDLER
};

/* ---- the stream ---- */

/* Discard what is left of a refused value. @return bytes discarded. */
static size_t swallow(struct wc_mc_session *ss, size_t avail)
{
	size_t n = ss->swallow < avail ? (size_t)ss->swallow : avail;

	ss->swallow -= n;
	return n;
}

void wc_mc_flush_catch_up_slow(struct wc_mc_ctx *c, uint64_t gen)
{
	wc_store_flush(c->store, 0);
	__atomic_store_n(&c->srv->part_gen[c->self], gen, __ATOMIC_RELEASE);
}

size_t wc_mc_process(struct wc_mc_ctx *c, struct wc_mc_session *ss, const uint8_t *buf, size_t len,
		     struct wc_out *out)
{
	struct wc_mc_request req;
	size_t off = 0, written0 = out->written;

	wc_mc_flush_catch_up(c);

	while (off < len && !ss->close) {
		enum wc_mc_status st;

		if (ss->swallow > 0) {
			off += swallow(ss, len - off);
			continue;
		}
		st = wc_mc_parse(buf + off, len - off, c->srv->max_item_size, &req);
		if (st == WC_MC_NEED_MORE)
			break;
		off += req.consumed;
		ss->swallow = req.swallow;
		switch (st) {
		case WC_MC_OK:
			handlers[req.cmd](c, ss, &req, out);
			break;
		case WC_MC_TOO_BIG:
			if (req.cmd == WC_MC_CMD_SET || req.cmd == WC_MC_CMD_MS) {
				uint64_t hash = wc_store_hash(req.key, req.klen);

				if (to_owner(c, ss, hash))
					break;
				drop_stale(c, req.key, req.klen, hash);
			}
			/* fall through */
		case WC_MC_INVALID:
			if (req.err != NULL)
				reply_error(c, &req, out, req.err);
			else
				c->st->mc_protocol_errors++;
			/* memcached counts a set whose data block was bad. */
			if (req.err != NULL && strcmp(req.err, "CLIENT_ERROR bad data chunk") == 0)
				c->st->mc_cmd_set++;
			if (req.close) {
				ss->close = true;
				off = len;
			}
			break;
		default:
			break;
		}
		if (unlikely(ss->handoff != 0)) {
			/* Not run here: the owner parses it again from its start. */
			off -= req.consumed;
			ss->swallow = 0;
			break;
		}
	}
	c->st->mc_bytes_read += off;
	c->st->mc_bytes_written += out->written - written0;
	return off;
}
