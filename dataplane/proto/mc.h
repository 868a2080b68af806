/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * memcached's text and meta protocols: parse, execute against the store,
 * compose replies. Transport-neutral: UDP (mc_udp.c) and, later, TCP feed
 * bytes in and give a wc_out sink for the replies.
 *
 * Thread safety: a wc_mc_ctx belongs to one lcore; wc_mc_server is read-only
 * after start and shared.
 */
#ifndef WC_PROTO_MC_H
#define WC_PROTO_MC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mgmt/contract.h"
#include "dataplane/proto/mc_parse.h"
#include "dataplane/proto/out.h"
#include "store/store.h"

struct wc_store;
struct wc_item_meta;

/** Server-wide, read-only settings and hooks of the memcached protocol. */
struct wc_mc_server {
	uint32_t max_item_size; /**< largest value accepted, bytes */
	const char *version;	/**< the text after "VERSION " */
	/**
	 * Write the `STAT name value\r\n` lines of `stats [sub]` (not END).
	 * @return 0; -ENOENT for an unknown sub-command.
	 */
	int (*stats)(void *arg, const char *sub, size_t sublen, struct wc_out *out);
	void *stats_arg;
	/**
	 * Apply `flush_all` to every partition; @p when absolute, 0 = now.
	 * Called on the lcore executing the command; partitions owned by other
	 * lcores are flushed by their owners.
	 */
	void (*flush)(void *arg, uint32_t when);
	void *flush_arg;
	/**
	 * Immediate flushes across partitions (NULL with one partition): the
	 * flushing lcore bumps @c flush_gen before it answers; each partition's
	 * owner flushes itself before executing anything once its
	 * @c part_gen[i] lags, and a remote read of a lagging partition is a
	 * miss, since everything in it predates the flush. So a write sent
	 * after flush_all's OK survives, whichever lcore executes it.
	 */
	uint64_t *flush_gen;
	uint64_t *part_gen;
};

struct wc_mc_udp_xcore;

/**
 * One lcore's protocol context.
 *
 * With several partitions (CREW), a command is executed where it may be:
 * reads of a key owned elsewhere (get/gets/bget, mg and me without flags that
 * change the item) are served here with the lock-free wc_store_read() into
 * @c scratch; anything that writes a key owned elsewhere, and a read that
 * raced a writer on every try, stops the stream before that command and
 * names the owner in wc_mc_session.handoff, for the transport to carry the
 * rest of the stream there. The key's owner is wc_store_owner(hash, nparts).
 */
struct wc_mc_ctx {
	const struct wc_mc_server *srv;
	struct wc_store *store;	   /**< the partition this lcore executes on (= parts[self]) */
	struct wc_lcore_stats *st; /**< this lcore's counters */
	struct wc_store **parts;   /**< every partition, by index; NULL with one */
	unsigned int nparts;	   /**< 0 or 1: this lcore's store is the only one */
	unsigned int self;	   /**< index of @c store in @c parts */
	uint8_t *scratch;	   /**< a value read from another partition (nparts > 1) */
	size_t scratch_len;	   /**< max_item_size bytes */
	/** UDP continuation hooks (mc_udp.h), NULL with one partition. */
	const struct wc_mc_udp_xcore *udp_xcore;
};

/** State of one stream of requests (a TCP connection, or one UDP datagram). */
struct wc_mc_session {
	uint64_t swallow; /**< bytes of a refused value still to discard */
	bool close;	  /**< `quit` seen: the transport should close */
	/**
	 * Set by wc_mc_process() when it stopped before a command that must run
	 * on another partition: that partition's index + 1 (0 = none). The
	 * transport resumes the stream there with this session (handoff reset).
	 */
	uint16_t handoff;
	/**
	 * Inside a get-family command handed off between keys: where in its key
	 * list to resume (wc_mc_next_key() position); 0 = from the first key.
	 */
	uint32_t key_pos;
};

/** wc_mc_flush_catch_up()'s work, when there is some. */
void wc_mc_flush_catch_up_slow(struct wc_mc_ctx *c, uint64_t gen);

/**
 * Apply an immediate flush_all that another lcore announced, if any, to
 * this lcore's own partition. Inline, as it runs for every request batch:
 * with one partition one load, otherwise two.
 */
static inline void wc_mc_flush_catch_up(struct wc_mc_ctx *c)
{
	const struct wc_mc_server *srv = c->srv;
	uint64_t gen;

	if (srv->flush_gen == NULL)
		return;
	gen = __atomic_load_n(srv->flush_gen, __ATOMIC_ACQUIRE);
	if (__builtin_expect(srv->part_gen[c->self] != gen, 0))
		wc_mc_flush_catch_up_slow(c, gen);
}

/**
 * Execute every complete command at the start of @p buf, appending replies
 * to @p out, and stop before an incomplete one, or before one that must run
 * on another partition (ss->handoff then says which).
 * @return bytes consumed; buf[ret..len) is the start of an incomplete command
 *         (or, with ss->handoff set, of the command to resume with).
 */
size_t wc_mc_process(struct wc_mc_ctx *c, struct wc_mc_session *ss, const uint8_t *buf, size_t len,
		     struct wc_out *out);

/** The partition owning @p hash if another lcore owns it; -1 if this one does. */
static inline int wc_mc_remote_owner(const struct wc_mc_ctx *c, uint64_t hash)
{
	unsigned int owner;

	if (__builtin_expect(c->nparts <= 1, 1))
		return -1;
	owner = wc_store_owner(hash, c->nparts);
	return owner == c->self ? -1 : (int)owner;
}

/** Longest "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n" of a value. */
static inline size_t wc_mc_value_max(size_t klen, uint32_t vlen)
{
	return 6 + klen + 1 + 10 + 1 + 10 + 1 + 20 + 2 + (size_t)vlen + 2;
}

/**
 * The end of a value's line, " <flags> <bytes>[ <cas>]\r\n", at @p q, which
 * has the room wc_mc_value_max() counts past the key: the numbers' room at
 * their longest (10, 10 and 20 digits) lets it write in whole words past
 * what it keeps.
 * @return the end of the line.
 */
static inline uint8_t *wc_mc_fmt_value_nums(uint8_t *q, const struct wc_item_view *v, bool with_cas)
{
	if (v->flags == 0) {
		/* The commonest flags, spaces and all in one store. */
		memcpy(q, " 0 ", 4);
		q += 3;
	} else {
		*q = ' ';
		q += 1 + wc_out_fmt_u32(q + 1, v->flags);
		*q++ = ' ';
	}
	q += wc_out_fmt_u32(q, v->vlen);
	if (with_cas) {
		*q = ' ';
		q += 1 + wc_out_fmt_u64(q + 1, v->cas);
	}
	memcpy(q, "\r\n", 2);
	return q + 2;
}

/**
 * The line "VALUE <key> <flags> <bytes>[ <cas>]\r\n" of a value at @p q,
 * which has wc_mc_value_max() bytes. @p slack bytes before @p key may be
 * read and as many before @p q written (a caller's header, written after):
 * with 16 - klen of them a key of at most 16 bytes is copied as one 16-byte
 * load and store that end where it ends, "VALUE " then written over what
 * they put before it.
 * @return the end of the line.
 */
static inline uint8_t *wc_mc_fmt_value_line(uint8_t *q, const uint8_t *key, size_t klen,
					    const struct wc_item_view *v, bool with_cas,
					    size_t slack)
{
	if (klen <= 16 && klen + slack >= 16) {
		uint8_t w[16];

		memcpy(w, key + klen - 16, 16);
		memcpy(q + 6 + klen - 16, w, 16);
		memcpy(q, "VALUE ", 6);
	} else {
		/* Eight bytes: the key and the space after it cover the last two. */
		memcpy(q, "VALUE \0", 8);
		wc_out_copy(q + 6, key, klen);
	}
	return wc_mc_fmt_value_nums(q + 6 + klen, v, with_cas);
}

/**
 * That line and its data at @p q, which has wc_mc_value_max() bytes.
 * @return the end of what was written.
 */
static inline uint8_t *wc_mc_fmt_value(uint8_t *q, const uint8_t *key, size_t klen,
				       const struct wc_item_view *v, bool with_cas)
{
	q = wc_mc_fmt_value_line(q, key, klen, v, with_cas, 0);
	wc_out_copy(q, v->val, v->vlen);
	q += v->vlen;
	memcpy(q, "\r\n", 2);
	return q + 2;
}

/**
 * The rest of a single get's hit after its VALUE line at @p q: the data,
 * then its CRLF and "END\r\n" in one 8-byte store. The room of the reply
 * (wc_mc_value_max() + 5) counts 10 digits for the flags and the length
 * and 21 bytes for a CAS the line has not, so at least 21 bytes are spare
 * for the store's eighth byte.
 * @return the end of the reply.
 */
static inline uint8_t *wc_mc_fmt_get_hit_end(uint8_t *q, const struct wc_item_view *v)
{
	wc_out_copy(q, v->val, v->vlen);
	q += v->vlen;
	memcpy(q, "\r\nEND\r\n", 8);
	return q + 7;
}

/**
 * Count @p gets single-key gets, @p hits of them hits, of @p read request
 * bytes answered with @p written bytes, as the general path counts each.
 */
static inline void wc_mc_count_gets(struct wc_mc_ctx *c, uint64_t gets, uint64_t hits,
				    uint64_t read, uint64_t written)
{
	struct wc_lcore_stats *st = c->st;

	st->mc_cmd_get += gets;
	st->mc_get_hits += hits;
	st->mc_get_misses += gets - hits;
	st->mc_bytes_read += read;
	st->mc_bytes_written += written;
}

/**
 * Whether a plain get of the key of @p hash may be served here, for
 * protocols' fast paths: a pending flush is applied first, as before any
 * command; false if another lcore owns the key (the general path hands it
 * over). Then wc_store_fetch_burst() looks it up as the general path does
 * (a found item marked accessed, an expired one reclaimed),
 * wc_mc_fmt_get_reply() answers and wc_mc_count_gets() counts.
 */
static inline bool wc_mc_get_here(struct wc_mc_ctx *c, uint64_t hash)
{
	/* One partition: every key is here, and no flush to catch up with. */
	if (__builtin_expect(c->nparts <= 1, 1))
		return true;
	wc_mc_flush_catch_up(c);
	return wc_mc_remote_owner(c, hash) < 0;
}

/**
 * The reply to a plain get of one key at @p dst, not counted: "END\r\n"
 * alone for a miss (@p v NULL, 5 bytes of room), else the value first (room
 * for wc_mc_value_max() + 5 bytes). @p slack: as for wc_mc_fmt_value_line().
 * @return the reply's length.
 */
static inline size_t wc_mc_fmt_get_reply(const uint8_t *key, size_t klen,
					 const struct wc_item_view *v, uint8_t *dst, size_t slack)
{
	uint8_t *q;

	if (v != NULL) {
		q = wc_mc_fmt_value_line(dst, key, klen, v, false, slack);
		return (size_t)(wc_mc_fmt_get_hit_end(q, v) - dst);
	}
	memcpy(dst, "END\r\n", 5);
	return 5;
}

/**
 * Whether @p buf[0..len) starts with a whole single-key get line, the
 * commonest request ("get <key>\r\n", "\n" alone also ending it), exactly
 * as the parser's fast path reads one (single spaces, a key of 1 to 250
 * bytes above ' '), of this lcore's partition as wc_mc_get_here() says:
 * for protocols' fast paths, which answer it without the general parser
 * and executor (wc_store_fetch_burst(), wc_mc_fmt_get_reply()). For a stream,
 * where the line's end is to be found; it reads nothing at or past
 * buf[len].
 * @return the line's length, its key in @p k; 0 (for the general path) if
 *         it is anything else.
 */
static inline size_t wc_mc_single_get_line(struct wc_mc_ctx *c, const uint8_t *buf, size_t len,
					   struct wc_store_key *k)
{
	uint32_t cmd;
	size_t n, e, line;

	if (len < 6)
		return 0;
	memcpy(&cmd, buf, 4);
	if (memcmp(&cmd, "get ", 4) != 0)
		return 0;
	n = wc_mc_token_end(buf + 4, len - 4);
	e = 4 + n;
	if (n == 0 || n > WC_MC_KEY_MAX || e >= len)
		return 0;
	if (buf[e] == '\n')
		line = e + 1;
	else if (buf[e] == '\r' && e + 1 < len && buf[e + 1] == '\n')
		line = e + 2;
	else
		return 0;
	k->key = buf + 4;
	k->klen = (uint32_t)n;
	k->hash = wc_store_hash(buf + 4, n);
	return wc_mc_get_here(c, k->hash) ? line : 0;
}

/**
 * Copy a key's value and metadata out of partition @p owner (another
 * lcore's) into c->scratch, lock-free, as the text get does: a partition
 * that has not caught up with an immediate flush reads as empty. For the
 * binary protocol (mc_bin.c), which serves its gets the same way.
 * @return the value length; -ENOENT if absent; -EAGAIN if the owner must
 *         serve it (every try raced a writer), counted as a retry.
 */
int wc_mc_read_remote(struct wc_mc_ctx *c, unsigned int owner, const uint8_t *key, size_t klen,
		      uint64_t hash, bool bump, struct wc_item_meta *meta);

/** Compose one `STAT name value\r\n` line (for the stats hook). */
void wc_mc_stat_u64(struct wc_out *out, const char *name, uint64_t v);
void wc_mc_stat_str(struct wc_out *out, const char *name, const char *v);

#endif /* WC_PROTO_MC_H */
