/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * wireload's pure parts: the latency histogram, the random number and Zipf
 * samplers, key and value generation, request composition, reply parsing and
 * memcached UDP reassembly. Nothing here touches a socket or a clock, so
 * tests/unit/test_wireload.c can drive every function directly.
 *
 * wireload is a client of any memcached or Redis compatible server and links
 * nothing of the appliance; its symbols carry wl_ rather than wc_ so they are
 * never mistaken for the dataplane's.
 *
 * Thread safety: every object here belongs to one thread; nothing is shared.
 */
#ifndef WL_WIRELOAD_H
#define WL_WIRELOAD_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Histogram                                                                */
/* ------------------------------------------------------------------------ */

/*
 * Log-linear buckets in the manner of HdrHistogram: values below 2*SUB are
 * exact; above, each power of two is split into SUB linear sub-buckets, so a
 * value is known to within 1/SUB (0.8%: two significant digits).
 *
 *   index:  0 .. 255           | 256 .. 383        | 384 .. 511        | ...
 *   value:  0 .. 255 (width 1) | 256 .. 511 (w 2)  | 512 .. 1023 (w 4) | ...
 */
#define WL_HIST_SUB_BITS  7
#define WL_HIST_SUB	  (1u << WL_HIST_SUB_BITS)
#define WL_HIST_MAX_SHIFT 40 /**< values up to 2^48 (ns: 78 hours) */
#define WL_HIST_BUCKETS	  (2 * WL_HIST_SUB + WL_HIST_MAX_SHIFT * WL_HIST_SUB)

struct wl_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t b[WL_HIST_BUCKETS];
};

/** Empty @p h. */
void wl_hist_reset(struct wl_hist *h);

/** Count one value. */
void wl_hist_record(struct wl_hist *h, uint64_t v);

/** Add every count of @p src to @p dst. */
void wl_hist_merge(struct wl_hist *dst, const struct wl_hist *src);

/**
 * The value at percentile @p pct (0..100): the highest value equivalent to
 * the bucket holding that rank, never above the largest value recorded.
 * @return 0 for an empty histogram.
 */
uint64_t wl_hist_percentile(const struct wl_hist *h, double pct);

/** Bucket index of @p v (exposed for tests). */
unsigned wl_hist_bucket(uint64_t v);

/** Highest value that falls into bucket @p i (exposed for tests). */
uint64_t wl_hist_bucket_high(unsigned i);

/* ------------------------------------------------------------------------ */
/* Random numbers                                                           */
/* ------------------------------------------------------------------------ */

/** xoshiro256** state: fast, 256 bits, good enough for load generation. */
struct wl_rng {
	uint64_t s[4];
};

/** Seed @p r from one 64-bit value (expanded with splitmix64). */
void wl_rng_seed(struct wl_rng *r, uint64_t seed);

static inline uint64_t wl_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/** Next 64 random bits. */
static inline uint64_t wl_rng_next(struct wl_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = wl_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = wl_rotl(s[3], 45);
	return out;
}

/** Uniform double in [0, 1). */
static inline double wl_rng_double(struct wl_rng *r)
{
	return (double)(wl_rng_next(r) >> 11) * 0x1.0p-53;
}

/** Uniform integer in [0, n) (Lemire's multiply-shift; n > 0). */
static inline uint64_t wl_rng_below(struct wl_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)wl_rng_next(r) * n) >> 64);
}

/** Exponential inter-arrival gap in ns for a Poisson process of @p rate per second. */
uint64_t wl_rng_exp_ns(struct wl_rng *r, double rate);

/* ------------------------------------------------------------------------ */
/* Zipf sampler                                                             */
/* ------------------------------------------------------------------------ */

/**
 * Zipf(s) over ranks 1..n by rejection-inversion (Hörmann and Derflinger,
 * "Rejection-inversion to generate variates from monotone discrete
 * distributions", 1996): O(1) time and memory per sample for any n, with an
 * expected number of iterations close to 1.
 */
struct wl_zipf {
	uint64_t n;
	double s;
	double h_x1; /**< H(1.5) - 1 */
	double h_n;  /**< H(n + 0.5) */
	double thr;  /**< squeeze: accept at once when k - x <= thr */
};

/**
 * Prepare a sampler for @p n ranks and exponent @p s.
 * @return 0; -EINVAL if n is 0 or s is not positive and finite.
 */
int wl_zipf_init(struct wl_zipf *z, uint64_t n, double s);

/** A rank in [0, n), rank 0 the most popular. */
uint64_t wl_zipf_next(const struct wl_zipf *z, struct wl_rng *r);

/* ------------------------------------------------------------------------ */
/* Keys and values                                                          */
/* ------------------------------------------------------------------------ */

#define WL_KEY_MAX   250 /**< memcached's KEY_MAX_LENGTH */
#define WL_VALUE_MAX (64u << 20)

/** How key number i becomes exactly key_size bytes: "key:" + zero-padded decimal. */
struct wl_keyfmt {
	size_t size;
	size_t prefix; /**< 4 when "key:" fits before the digits, else 0 */
};

/**
 * Choose the layout for keys 0..nkeys-1 of @p size bytes.
 * @return 0; -EINVAL if nkeys-1 does not fit in size digits or size is 0 or
 *         above WL_KEY_MAX.
 */
int wl_keyfmt_init(struct wl_keyfmt *f, size_t size, uint64_t nkeys);

/** Write key @p idx into @p out (f->size bytes, no terminator). */
void wl_key_format(const struct wl_keyfmt *f, uint64_t idx, char *out);

/**
 * Values. With verify, a value is "<key number, hex, fixed width>:<version,
 * 8 hex>:" followed by a filler whose phase depends on key, version and length, so a
 * value of another key, a torn value or a shifted one is caught. Without
 * verify it is the filler alone.
 */
struct wl_valfmt {
	size_t min;
	size_t max;
	unsigned idx_width; /**< hex digits of the largest key number */
	int verify;
};

/**
 * Set up values of @p min..max bytes for keys 0..nkeys-1.
 * @return 0; -EINVAL if min > max, max > WL_VALUE_MAX, or verify is asked and
 *         min is below wl_value_hdr_len().
 */
int wl_valfmt_init(struct wl_valfmt *f, size_t min, size_t max, uint64_t nkeys, int verify);

/** Length of the verify header for this format. */
size_t wl_value_hdr_len(const struct wl_valfmt *f);

/** Write the @p len byte value of key @p idx, version @p ver into @p out. */
void wl_value_fill(const struct wl_valfmt *f, uint64_t idx, uint32_t ver, char *out, size_t len);

/**
 * Check a value returned for key @p idx: length within the format's range,
 * header naming this key, filler consistent with the header's version.
 * @return 0 if good; -EBADMSG otherwise.
 */
int wl_value_check(const struct wl_valfmt *f, uint64_t idx, const char *v, size_t len);

/* ------------------------------------------------------------------------ */
/* Requests and replies                                                     */
/* ------------------------------------------------------------------------ */

enum wl_proto {
	WL_PROTO_MC_TEXT, /**< get / set */
	WL_PROTO_MC_META, /**< mg <key> v / ms <key> <len> */
	WL_PROTO_RESP,	  /**< RESP2 GET / SET */
};

enum wl_op {
	WL_OP_GET,
	WL_OP_SET,
};

/**
 * Compose one request. @p val is ignored for a get.
 * @return its length; 0 if @p cap is too small.
 */
size_t wl_req_build(enum wl_proto p, enum wl_op op, const char *key, size_t klen, const char *val,
		    size_t vlen, char *out, size_t cap);

/** Largest request wl_req_build() makes for these sizes. */
size_t wl_req_max_len(enum wl_proto p, size_t klen, size_t vlen);

/** What a complete reply meant. */
enum wl_kind {
	WL_R_HIT,	   /**< a get found its value (val, vlen) */
	WL_R_MISS,	   /**< a get found nothing */
	WL_R_STORED,	   /**< a set was stored */
	WL_R_NOT_STORED,   /**< a set was refused without an error (NOT_STORED, NS, ...) */
	WL_R_SERVER_ERROR, /**< ERROR, CLIENT_ERROR, SERVER_ERROR, -ERR ... */
	WL_R_UNEXPECTED,   /**< well framed, but not an answer to this op (or wrong key) */
};

struct wl_reply {
	enum wl_kind kind;
	const char *val;
	size_t vlen;
	size_t consumed; /**< bytes of the buffer this reply took */
};

/** Reply parser status, in the manner of the dataplane's parsers. */
enum wl_pstatus {
	WL_P_OK = 0,
	WL_P_NEED_MORE = 1,
	WL_P_INVALID = -1, /**< garbage: the stream cannot be resynchronised */
};

/**
 * Parse the first reply in @p buf as the answer to @p op on @p key. Never
 * reads beyond @p len bytes. For a memcached text get, the key in the VALUE
 * line must be @p key (else WL_R_UNEXPECTED).
 * @return WL_P_OK with @p r filled; WL_P_NEED_MORE if the reply is incomplete;
 *         WL_P_INVALID if the bytes are not a reply of this protocol.
 */
int wl_reply_parse(enum wl_proto p, enum wl_op op, const char *key, size_t klen, const char *buf,
		   size_t len, struct wl_reply *r);

/* ------------------------------------------------------------------------ */
/* memcached UDP frame header and reassembly                                */
/* ------------------------------------------------------------------------ */

#define WL_MCUDP_HDR	    8
#define WL_MCUDP_MAX_DGRAMS 4096		  /**< a reply of more datagrams is refused */
#define WL_MCUDP_MAX_BYTES  (WL_VALUE_MAX + 4096) /**< and so is a bigger one */

struct wl_mcudp_hdr {
	uint16_t id;
	uint16_t seq;
	uint16_t total;
	uint16_t reserved;
};

/** Write a request's frame header: id, seq 0, total 1, reserved 0. */
void wl_mcudp_put_hdr(uint8_t *p, uint16_t id);

/**
 * Decode a reply datagram's frame header.
 * @return 0; -EINVAL if shorter than 8 bytes, total is 0 or seq >= total.
 */
int wl_mcudp_parse_hdr(const uint8_t *p, size_t len, struct wl_mcudp_hdr *h);

/**
 * One reply being put back together from datagrams that may arrive in any
 * order. Payloads are appended as they come; the order is restored once.
 */
struct wl_reasm {
	uint16_t total; /**< 0 until the first datagram */
	uint16_t got;
	uint32_t *off; /**< per sequence number: offset in buf */
	uint32_t *len; /**< per sequence number: length, UINT32_MAX if not yet here */
	uint32_t tab_cap;
	uint8_t *buf; /**< payloads in arrival order */
	size_t used;
	size_t cap;
	uint8_t *out; /**< payloads in sequence order, once complete */
	size_t out_len;
	size_t out_cap;
};

/** Zero a reassembly context (no memory yet). */
void wl_reasm_init(struct wl_reasm *r);

/** Forget the datagrams collected so far; keeps the memory. */
void wl_reasm_reset(struct wl_reasm *r);

/** Release the memory. */
void wl_reasm_free(struct wl_reasm *r);

/**
 * Add the payload (frame header stripped) of datagram @p seq of @p total.
 * @return 1 when the reply is complete (see wl_reasm_data()); 0 when more
 *         datagrams are needed; -EALREADY for a duplicate (ignored);
 *         -EPROTO if total disagrees with an earlier datagram or seq >= total;
 *         -EMSGSIZE beyond WL_MCUDP_MAX_DGRAMS or WL_MCUDP_MAX_BYTES;
 *         -ENOMEM.
 */
int wl_reasm_add(struct wl_reasm *r, uint16_t seq, uint16_t total, const uint8_t *p, size_t n);

/** The complete reply after wl_reasm_add() returned 1. */
const uint8_t *wl_reasm_data(const struct wl_reasm *r, size_t *len);

#endif /* WL_WIRELOAD_H */
