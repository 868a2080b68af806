/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A reply sink: where protocol code appends the bytes of its replies.
 *
 * The sink is a window [p, end) of writable memory; when it fills, more()
 * opens the next window (a new datagram's mbuf for UDP, a flat buffer in
 * tests, segments of a connection for TCP). Protocol code never knows which.
 * Once more() fails or @c limit is passed, the sink is marked @c overflow and
 * later writes are discarded, so a caller can compose without checking each
 * append and look at @c overflow once at the end.
 *
 * Thread safety: a sink belongs to the lcore composing into it.
 */
#ifndef WC_PROTO_OUT_H
#define WC_PROTO_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wc_out {
	uint8_t *p;   /**< next byte to write */
	uint8_t *end; /**< end of the current window */
	/** Open the next window (set p and end). @return 0, or -ENOBUFS. */
	int (*more)(struct wc_out *o);
	void *priv;     /**< the sink's own state */
	size_t written; /**< bytes accepted so far */
	size_t limit;   /**< most bytes accepted in all; SIZE_MAX for none */
	bool overflow;  /**< a write was refused: the reply is incomplete */
};

/** Append @p n bytes to the sink, opening windows as needed. */
static inline void wc_out_put(struct wc_out *o, const void *src, size_t n)
{
	const uint8_t *s = (const uint8_t *)src;

	if (o->overflow)
		return;
	if (n > o->limit - o->written) {
		o->overflow = true;
		return;
	}
	while (n > 0) {
		size_t room = (size_t)(o->end - o->p);

		if (room == 0) {
			if (o->more == NULL || o->more(o) != 0) {
				o->overflow = true;
				return;
			}
			continue;
		}
		if (room > n)
			room = n;
		memcpy(o->p, s, room);
		o->p += room;
		s += room;
		n -= room;
		o->written += room;
	}
}

/** Append a NUL-terminated string. */
static inline void wc_out_str(struct wc_out *o, const char *s)
{
	wc_out_put(o, s, strlen(s));
}

/** Append an unsigned decimal number. */
static inline void wc_out_u64(struct wc_out *o, uint64_t v)
{
	char buf[20];
	int i = (int)sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	wc_out_put(o, buf + i, sizeof(buf) - (size_t)i);
}

/** Initialise a sink over one flat buffer (tests, fuzzers, small replies). */
static inline void wc_out_init_flat(struct wc_out *o, void *buf, size_t len)
{
	o->p = (uint8_t *)buf;
	o->end = o->p + len;
	o->more = NULL;
	o->priv = NULL;
	o->written = 0;
	o->limit = (size_t)-1;
	o->overflow = false;
}

#endif /* WC_PROTO_OUT_H */
