/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * memcached text and meta protocol parser: bytes in, one request out.
 *
 * The parser is incremental and knows nothing of the store: it splits one
 * command line (and its data block for storage commands) into a
 * struct wc_mc_request whose keys and values point into the caller's buffer,
 * checks arity, numbers, key lengths and meta flags in memcached 1.6's order,
 * and says which error line memcached would answer. The executor (mc_exec.c)
 * then acts on a well-formed request.
 *
 * Thread safety: stateless; the command table is read-only.
 */
#ifndef WC_PROTO_MC_PARSE_H
#define WC_PROTO_MC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define WC_MC_KEY_MAX	      250	 /**< longest key, as memcached's KEY_MAX_LENGTH */
#define WC_MC_LINE_MAX	      2048	 /**< a line with no newline past this is refused */
#define WC_MC_MULTIGET_MAX    (1u << 18) /**< longest get/gets line waited for */
#define WC_MC_MAX_TOKENS      24	 /**< memcached's MAX_TOKENS (incl. the terminal one) */
#define WC_MC_META_MAX_TOKENS 20	 /**< memcached's MFLAG_MAX_OPT_LENGTH */
#define WC_MC_OPAQUE_MAX      32	 /**< longest O token, flag letter included */

/** Outcome of wc_mc_parse(). */
enum wc_mc_status {
	WC_MC_OK,	 /**< a well-formed request; req->consumed bytes used */
	WC_MC_NEED_MORE, /**< the command (line or data block) is not complete yet */
	WC_MC_INVALID,	 /**< answer req->err; skip req->consumed, then req->swallow */
	WC_MC_TOO_BIG,	 /**< line or value over a limit: req->err, req->swallow, req->close */
};

/* Command flags. */
#define WC_MC_F_KEYS	0x01 /**< get family: every argument after the first key is a key */
#define WC_MC_F_STORAGE 0x02 /**< a data block follows the line */
#define WC_MC_F_NOREPLY 0x04 /**< a trailing "noreply" token silences the reply */
#define WC_MC_F_META	0x08 /**< meta command: flags after the key, errors always sent */
#define WC_MC_F_ANYARGS 0x10 /**< no arity check */

/*
 * The command table: X(id, handler, name, min_args, max_args, flags).
 * @c handler names the family that parses (parse_<handler>, mc_parse.c) and
 * executes (exec_<handler>, mc_exec.c) the command.
 * Arguments exclude the command itself; the bounds are memcached's
 * WANT_TOKENS checks, outside of which it answers "ERROR".
 */
#define WC_MC_COMMANDS(X)                                                       \
	X(GET, get, "get", 1, 0, WC_MC_F_KEYS | WC_MC_F_ANYARGS)                \
	X(GETS, get, "gets", 1, 0, WC_MC_F_KEYS | WC_MC_F_ANYARGS)              \
	X(GAT, get, "gat", 1, 0, WC_MC_F_KEYS | WC_MC_F_ANYARGS)                \
	X(GATS, get, "gats", 1, 0, WC_MC_F_KEYS | WC_MC_F_ANYARGS)              \
	X(BGET, get, "bget", 1, 0, WC_MC_F_KEYS | WC_MC_F_ANYARGS)              \
	X(SET, store, "set", 4, 5, WC_MC_F_STORAGE | WC_MC_F_NOREPLY)           \
	X(ADD, store, "add", 4, 5, WC_MC_F_STORAGE | WC_MC_F_NOREPLY)           \
	X(REPLACE, store, "replace", 4, 5, WC_MC_F_STORAGE | WC_MC_F_NOREPLY)   \
	X(APPEND, store, "append", 4, 5, WC_MC_F_STORAGE | WC_MC_F_NOREPLY)     \
	X(PREPEND, store, "prepend", 4, 5, WC_MC_F_STORAGE | WC_MC_F_NOREPLY)   \
	X(CAS, store, "cas", 5, 6, WC_MC_F_STORAGE | WC_MC_F_NOREPLY)           \
	X(DELETE, delete, "delete", 1, 3, WC_MC_F_NOREPLY)                      \
	X(INCR, arith, "incr", 2, 3, WC_MC_F_NOREPLY)                           \
	X(DECR, arith, "decr", 2, 3, WC_MC_F_NOREPLY)                           \
	X(TOUCH, touch, "touch", 2, 3, WC_MC_F_NOREPLY)                         \
	X(FLUSH_ALL, flush, "flush_all", 0, 2, WC_MC_F_NOREPLY)                 \
	X(VERBOSITY, verbosity, "verbosity", 1, 2, WC_MC_F_NOREPLY)             \
	X(VERSION, version, "version", 0, 0, WC_MC_F_ANYARGS)                   \
	X(STATS, stats, "stats", 0, 0, WC_MC_F_ANYARGS)                         \
	X(QUIT, quit, "quit", 0, 0, WC_MC_F_ANYARGS)                            \
	X(MG, mg, "mg", 1, 0, WC_MC_F_META | WC_MC_F_ANYARGS)                   \
	X(MS, ms, "ms", 1, 0, WC_MC_F_META | WC_MC_F_STORAGE | WC_MC_F_ANYARGS) \
	X(MD, md, "md", 1, 0, WC_MC_F_META | WC_MC_F_ANYARGS)                   \
	X(MA, ma, "ma", 1, 0, WC_MC_F_META | WC_MC_F_ANYARGS)                   \
	X(MN, mn, "mn", 0, 0, WC_MC_F_META | WC_MC_F_ANYARGS)                   \
	X(ME, me, "me", 0, 0, WC_MC_F_META | WC_MC_F_ANYARGS)

/** Command ids, in table order; WC_MC_CMD_NONE for a line with no command. */
enum wc_mc_cmd {
#define WC_MC_CMD_ENUM(id, h, name, mn, mx, fl) WC_MC_CMD_##id,
	WC_MC_COMMANDS(WC_MC_CMD_ENUM)
#undef WC_MC_CMD_ENUM
		WC_MC_CMD_COUNT,
	WC_MC_CMD_NONE = WC_MC_CMD_COUNT,
};

/** One row of the command table. */
struct wc_mc_cmd_desc {
	const char *name;
	uint8_t name_len;
	uint8_t min_args;
	uint8_t max_args;
	uint8_t flags;
};

/** The command table, indexed by enum wc_mc_cmd. */
extern const struct wc_mc_cmd_desc wc_mc_cmd_table[WC_MC_CMD_COUNT];

/** A token: bytes of the request line (never NUL-terminated). */
struct wc_mc_token {
	const uint8_t *p;
	uint32_t len;
};

/* Meta flag bits (struct wc_mc_meta.seen), one per accepted flag letter. */
#define WC_MC_MF(c) (UINT64_C(1) << ((c) - 'A'))

/** The flags of a meta command, checked and converted. */
struct wc_mc_meta {
	uint64_t seen;	       /**< WC_MC_MF(letter) for every flag given */
	char mode;	       /**< M token (0 if none) */
	int32_t ttl_T;	       /**< T: new TTL, memcached exptime rules */
	int32_t ttl_N;	       /**< N: vivify TTL */
	int32_t ttl_R;	       /**< R: recache threshold */
	uint32_t client_flags; /**< F */
	uint64_t cas_C;	       /**< C: compare */
	uint64_t cas_E;	       /**< E: explicit new CAS */
	uint64_t initial_J;    /**< J: ma initial value (default 0) */
	uint64_t delta_D;      /**< D: ma delta (default 1) */
};

/** One parsed request. Pointers refer to the parsed buffer (or keybuf). */
struct wc_mc_request {
	enum wc_mc_cmd cmd;
	size_t consumed;  /**< bytes of line (and data block) this request used */
	uint64_t swallow; /**< data bytes after @c consumed to discard (refused values) */
	const char *err;  /**< INVALID / TOO_BIG: the reply line, without CRLF */
	bool noreply;	  /**< text "noreply" or meta q */
	bool close;	  /**< the stream must be closed after the reply */

	/* Tokens of the line, command first (at most WC_MC_MAX_TOKENS - 1). */
	struct wc_mc_token tok[WC_MC_MAX_TOKENS];
	uint32_t ntok;
	const uint8_t *rest; /**< get family: the bytes after the first key token */
	size_t rest_len;

	/* The main key: a token, or keybuf for a base64 ("b") key. */
	const uint8_t *key;
	size_t klen;
	uint8_t keybuf[WC_MC_KEY_MAX];

	/* Numbers, per command. */
	uint32_t flags;	 /**< storage: client flags */
	int32_t exptime; /**< storage, touch, gat: memcached exptime */
	uint64_t cas;	 /**< cas: unique */
	uint64_t delta;	 /**< incr/decr */
	int32_t delay;	 /**< flush_all */
	bool has_delay;

	/* Data block of a storage command. */
	const uint8_t *data;
	uint32_t vlen;

	struct wc_mc_meta m;
};

/**
 * Parse the request at the start of @p buf, reading no byte at or past
 * buf[len].
 * @param max_value  largest data block accepted (srv->max_item_size)
 * @return WC_MC_OK with @p req filled; WC_MC_NEED_MORE (req->consumed 0);
 *         WC_MC_INVALID or WC_MC_TOO_BIG with req->err, req->consumed,
 *         req->swallow and req->close saying how to answer and what to skip.
 */
enum wc_mc_status wc_mc_parse(const uint8_t *buf, size_t len, uint32_t max_value,
			      struct wc_mc_request *req);

/**
 * Next key of a get-family request: the token after *@p pos in req->rest.
 * @return true with @p key/@p klen set, false when no key remains.
 */
bool wc_mc_next_key(const struct wc_mc_request *req, size_t *pos, const uint8_t **key,
		    size_t *klen);

/** Whether meta flag @p c was given. */
static inline bool wc_mc_has(const struct wc_mc_request *req, char c)
{
	return (req->m.seen & WC_MC_MF(c)) != 0;
}

/**
 * Base64-encode @p n bytes into @p out (room for 4 * ((n + 2) / 3) bytes).
 * @return bytes written.
 */
size_t wc_mc_base64_encode(const uint8_t *src, size_t n, uint8_t *out);

/**
 * Index of the first byte at or below ' ' in p[0..n), or n: where a key
 * token of the common request shapes ends (at ' ', '\r', '\n'; any other
 * control byte or a NUL sends the line to the general parser). For the
 * parsers' fast paths.
 */
static inline size_t wc_mc_token_end(const uint8_t *p, size_t n)
{
	size_t i = 0;

#ifdef __SSE2__
	const __m128i sp = _mm_set1_epi8(' ');

	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		unsigned int low =
			(unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, sp), v));

		if (low != 0)
			return i + (size_t)__builtin_ctz(low);
	}
#endif
	while (i < n && p[i] > ' ')
		i++;
	return i;
}

/**
 * Whether every byte of the key p[0..n), 1 <= n, is above ' ' (all of it a
 * token to wc_mc_token_end()), for a fast path that knows where the key
 * ends. A key shorter than 16 bytes is checked in the one 16-byte load that
 * ends at its end, its lanes before the key masked off: so @p before, the
 * bytes known readable before @p p (the request line's start), must be at
 * least 16 - n for that; with fewer it reads byte by byte. It reads nothing
 * at or past p + n.
 */
static inline bool wc_mc_key_clean(const uint8_t *p, size_t n, size_t before)
{
#ifdef __SSE2__
	const __m128i sp = _mm_set1_epi8(' ');
	unsigned int low;
	__m128i v;

	if (n <= 16 && n + before >= 16) {
		/* Lane j holds p[n - 16 + j]: the key's lanes are j >= 16 - n. */
		v = _mm_loadu_si128((const __m128i *)(const void *)(p + n - 16));
		low = (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, sp), v));
		return (low >> (16 - n)) == 0;
	}
	if (n > 16) {
		/* 16 bytes at a time, the last 16 overlapping the ones before. */
		for (size_t i = 0;; i += 16) {
			if (i + 16 > n)
				i = n - 16;
			v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, sp), v)) != 0)
				return false;
			if (i + 16 == n)
				return true;
		}
	}
#else
	(void)before;
#endif
	for (size_t j = 0; j < n; j++)
		if (p[j] <= ' ')
			return false;
	return true;
}

#endif /* WC_PROTO_MC_PARSE_H */
