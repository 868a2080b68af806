/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * memcached's binary protocol, as memcached 1.6 answers it: parse requests,
 * execute them against the store with the text protocol's paths (and its
 * cross-core hand-off), compose responses into a struct wc_out.
 *
 * Every request and response has a 24-byte header, then a body of extras,
 * key and value (all numbers big-endian):
 *
 *    0      1      2      4      5      6      8        12       16      24
 *   +------+------+------+------+------+------+--------+--------+-------+
 *   |magic |opcode|keylen|extlen|dtype |vbkt/ |bodylen |opaque  | cas   |
 *   |80/81 |      |      |      |      |status|        |        |       |
 *   +------+------+------+------+------+------+--------+--------+-------+
 *   body: extras (extlen) | key (keylen) | value (bodylen - extlen - keylen)
 *
 * A transport hands a stream to wc_mc_bin_process() when its first byte is
 * WC_MC_BIN_REQ_MAGIC.
 *
 * Thread safety: as wc_mc_process() (mc.h): a wc_mc_ctx belongs to one
 * lcore; the opcode table is read-only.
 */
#ifndef WC_PROTO_MC_BIN_H
#define WC_PROTO_MC_BIN_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/proto/mc.h"
#include "dataplane/proto/out.h"

#define WC_MC_BIN_HDR	    24	 /**< header bytes, requests and responses */
#define WC_MC_BIN_REQ_MAGIC 0x80 /**< first byte of every request */
#define WC_MC_BIN_RES_MAGIC 0x81 /**< first byte of every response */
#define WC_MC_BIN_EXT_MAX   20	 /**< longest extras of a known opcode (incr/decr) */

/**
 * The opcodes memcached 1.6 answers: X(name, code, base, handler, ext, key,
 * body, flags). @c base is the opcode whose semantics a quiet variant has;
 * @c ext, @c key and @c body are the shape memcached requires (BIN_EXT_*,
 * BIN_KEY_*, BIN_BODY_* in mc_bin.c), outside of which it answers Invalid
 * arguments and closes. VERBOSITY (0x1b) is not here: memcached 1.6 answers
 * it Unknown command like any other opcode missing from this table.
 */
#define WC_MC_BIN_OPS(X)                                                   \
	X(GET, 0x00, GET, get, 0, REQ, EXACT, 0)                           \
	X(SET, 0x01, SET, store, 8, REQ, VALUE, 0)                         \
	X(ADD, 0x02, ADD, store, 8, REQ, VALUE, 0)                         \
	X(REPLACE, 0x03, REPLACE, store, 8, REQ, VALUE, 0)                 \
	X(DELETE, 0x04, DELETE, delete, 0, REQ, EXACT, 0)                  \
	X(INCREMENT, 0x05, INCREMENT, arith, 20, REQ, EXACT, 0)            \
	X(DECREMENT, 0x06, DECREMENT, arith, 20, REQ, EXACT, 0)            \
	X(QUIT, 0x07, QUIT, quit, 0, NONE, EXACT, 0)                       \
	X(FLUSH, 0x08, FLUSH, flush, FLUSH, NONE, EXACT, 0)                \
	X(GETQ, 0x09, GET, get, 0, REQ, EXACT, Q)                          \
	X(NOOP, 0x0a, NOOP, noop, 0, NONE, EXACT, 0)                       \
	X(VERSION, 0x0b, VERSION, version, 0, NONE, EXACT, 0)              \
	X(GETK, 0x0c, GET, get, 0, REQ, EXACT, K)                          \
	X(GETKQ, 0x0d, GET, get, 0, REQ, EXACT, K | Q)                     \
	X(APPEND, 0x0e, APPEND, store, 0, REQ, VALUE, 0)                   \
	X(PREPEND, 0x0f, PREPEND, store, 0, REQ, VALUE, 0)                 \
	X(STAT, 0x10, STAT, stat, 0, ANY, IGNORE, 0)                       \
	X(SETQ, 0x11, SET, store, 8, REQ, VALUE, Q)                        \
	X(ADDQ, 0x12, ADD, store, 8, REQ, VALUE, Q)                        \
	X(REPLACEQ, 0x13, REPLACE, store, 8, REQ, VALUE, Q)                \
	X(DELETEQ, 0x14, DELETE, delete, 0, REQ, EXACT, Q)                 \
	X(INCREMENTQ, 0x15, INCREMENT, arith, 20, REQ, EXACT, Q)           \
	X(DECREMENTQ, 0x16, DECREMENT, arith, 20, REQ, EXACT, Q)           \
	X(QUITQ, 0x17, QUIT, quit, 0, NONE, EXACT, Q)                      \
	X(FLUSHQ, 0x18, FLUSH, flush, FLUSH, NONE, EXACT, Q)               \
	X(APPENDQ, 0x19, APPEND, store, 0, REQ, VALUE, Q)                  \
	X(PREPENDQ, 0x1a, PREPEND, store, 0, REQ, VALUE, Q)                \
	X(TOUCH, 0x1c, TOUCH, get, 4, REQ, IGNORE, 0)                      \
	X(GAT, 0x1d, GAT, get, 4, REQ, IGNORE, 0)                          \
	X(GATQ, 0x1e, GAT, get, 4, REQ, IGNORE, Q)                         \
	X(SASL_LIST_MECHS, 0x20, SASL_LIST_MECHS, sasl, 0, NONE, EXACT, 0) \
	X(SASL_AUTH, 0x21, SASL_AUTH, sasl, 0, REQ, VALUE, 0)              \
	X(SASL_STEP, 0x22, SASL_STEP, sasl, 0, REQ, VALUE, 0)              \
	X(GATK, 0x23, GAT, get, 4, REQ, IGNORE, K)                         \
	X(GATKQ, 0x24, GAT, get, 4, REQ, IGNORE, K | Q)

/** Opcodes. */
enum wc_mc_bin_op {
#define WC_MC_BIN_OP_ENUM(nm, code, base, h, e, k, b, f) WC_MC_BIN_OP_##nm = code,
	WC_MC_BIN_OPS(WC_MC_BIN_OP_ENUM)
#undef WC_MC_BIN_OP_ENUM
		WC_MC_BIN_OP_VERBOSITY = 0x1b, /**< defined by the protocol, unknown to 1.6 */
};

/** Response statuses memcached sends, with the text of its error bodies. */
#define WC_MC_BIN_STATUSES(X)                                                     \
	X(OK, 0x0000, "")                                                         \
	X(KEY_ENOENT, 0x0001, "Not found")                                        \
	X(KEY_EEXISTS, 0x0002, "Data exists for key.")                            \
	X(E2BIG, 0x0003, "Too large.")                                            \
	X(EINVAL, 0x0004, "Invalid arguments")                                    \
	X(NOT_STORED, 0x0005, "Not stored.")                                      \
	X(DELTA_BADVAL, 0x0006, "Non-numeric server-side value for incr or decr") \
	X(AUTH_ERROR, 0x0020, "Auth failure.")                                    \
	X(UNKNOWN_COMMAND, 0x0081, "Unknown command")                             \
	X(ENOMEM, 0x0082, "Out of memory")

enum wc_mc_bin_status {
#define WC_MC_BIN_ST_ENUM(nm, code, text) WC_MC_BIN_##nm = code,
	WC_MC_BIN_STATUSES(WC_MC_BIN_ST_ENUM)
#undef WC_MC_BIN_ST_ENUM
};

/**
 * Execute every complete request at the start of @p buf, appending the
 * responses to @p out, as wc_mc_process() does for the text protocol.
 *
 * A request is complete when its header, extras, key and (for the storage
 * opcodes) value are all in @p buf; a value over srv->max_item_size is
 * refused once its header, extras and key are in, and its bytes are
 * discarded as they come (ss->swallow), as memcached does. Requests are
 * pipelined: any number per call, a partial one left for the next.
 * Requests that write a key another lcore owns (and reads that kept racing
 * its writer) stop the stream before them with ss->handoff set, exactly as
 * wc_mc_process(): the transport resumes the rest there with this function.
 * A request memcached answers by closing (a bad magic byte; a malformed
 * header, after its error response; quit) sets ss->close and consumes all.
 *
 * @return bytes consumed: buf[ret..len) is an incomplete request (or, with
 *         ss->handoff set, the request to resume with).
 */
size_t wc_mc_bin_process(struct wc_mc_ctx *c, struct wc_mc_session *ss, const uint8_t *buf,
			 size_t len, struct wc_out *out);

/**
 * How many bytes at @p buf wc_mc_bin_process() needs to run the request
 * that starts there: WC_MC_BIN_HDR while the header is incomplete, then
 * header + extras + key, then the whole request for one whose value it
 * keeps (at most WC_MC_BIN_HDR + 8 + 250 + @p max_value bytes): a transport
 * sizes its receive buffer by it. Stateless.
 * @return bytes needed; never less than 1 when @p len is 0.
 */
size_t wc_mc_bin_need(const uint8_t *buf, size_t len, uint32_t max_value);

#endif /* WC_PROTO_MC_BIN_H */
