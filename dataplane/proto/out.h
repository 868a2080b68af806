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
	void *priv;	/**< the sink's own state */
	size_t written; /**< bytes accepted so far */
	size_t limit;	/**< most bytes accepted in all; SIZE_MAX for none */
	bool overflow;	/**< a write was refused: the reply is incomplete */
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

/**
 * Room for @p n bytes to be written at the returned pointer in one piece:
 * the current window if it has the room, else a new one if the current is
 * full. NULL when that cannot be had at once (the window is part used, a
 * new one is smaller or cannot be opened) or when @p n bytes would pass the
 * limit or the sink has overflowed: the caller then appends piecewise with
 * wc_out_put(), which handles each case. Publish what was written with
 * wc_out_advance(), at most @p n bytes.
 */
static inline uint8_t *wc_out_reserve(struct wc_out *o, size_t n)
{
	if (o->overflow || n > o->limit - o->written)
		return NULL;
	if ((size_t)(o->end - o->p) < n &&
	    (o->p != o->end || o->more == NULL || o->more(o) != 0 || (size_t)(o->end - o->p) < n))
		return NULL;
	return o->p;
}

/** Publish @p n bytes written at wc_out_reserve()'s pointer. */
static inline void wc_out_advance(struct wc_out *o, size_t n)
{
	o->p += n;
	o->written += n;
}

/**
 * memcpy() for the short keys and values of the hot path without a library
 * call: two overlapping moves cover 4 to 32 bytes. Reads and writes only
 * [src, src + n) and [dst, dst + n).
 */
static inline void wc_out_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
	uint64_t a, b;
	uint32_t x, y;

	/* 16 to 32 first, the commonest (one comparison: n - 16 <= 16). */
	if (n >= 16 && n <= 32) {
		uint8_t h[16], t[16];

		memcpy(h, src, 16);
		memcpy(t, src + n - 16, 16);
		memcpy(dst, h, 16);
		memcpy(dst + n - 16, t, 16);
	} else if (n > 32) {
		memcpy(dst, src, n);
	} else if (n >= 8) {
		memcpy(&a, src, 8);
		memcpy(&b, src + n - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + n - 8, &b, 8);
	} else if (n >= 4) {
		memcpy(&x, src, 4);
		memcpy(&y, src + n - 4, 4);
		memcpy(dst, &x, 4);
		memcpy(dst + n - 4, &y, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i] = src[i];
	}
}

/** The two decimal digits of @p v < 100, "00" to "99", as they lie in memory. */
static inline uint16_t wc_out_pair(uint64_t v)
{
	static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
				       "25262728293031323334353637383940414243444546474849"
				       "50515253545556575859606162636465666768697071727374"
				       "75767778798081828384858687888990919293949596979899";
	uint16_t d;

	memcpy(&d, &pairs[2 * v], 2);
	return d;
}

/**
 * Write the decimal digits of @p v at @p dst (room for 20 bytes).
 * @return the number of digits.
 */
static inline size_t wc_out_fmt_u64(uint8_t *dst, uint64_t v)
{
	/* Two digits per division, as replies are mostly small numbers. */
	size_t n = 2, i;
	uint16_t d;

	if (v < 10) {
		dst[0] = (uint8_t)('0' + v);
		return 1;
	}
	for (uint64_t t = v; t >= 100; t /= 10)
		n++;
	i = n;
	while (v >= 100) {
		uint64_t q = v / 100;

		i -= 2;
		d = wc_out_pair(v - q * 100);
		memcpy(dst + i, &d, 2);
		v = q;
	}
	if (v >= 10) {
		d = wc_out_pair(v);
		memcpy(dst, &d, 2);
	} else {
		dst[0] = (uint8_t)('0' + v);
	}
	return n;
}

/**
 * wc_out_fmt_u64() for the numbers of a reply line, which are mostly short
 * (flags 0, lengths of a few digits): below 10000 in a few steps without a
 * loop. It may write up to 4 bytes at @p dst whatever the number's length,
 * within the 20 bytes of room it needs anyway.
 * @return the number of digits.
 */
static inline size_t wc_out_fmt_u32(uint8_t *dst, uint32_t v)
{
	uint32_t hi, d4;
	size_t n;

	if (v < 10) {
		dst[0] = (uint8_t)('0' + v);
		return 1;
	}
	if (v < 100) {
		uint16_t d = wc_out_pair(v);

		memcpy(dst, &d, 2);
		return 2;
	}
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	return wc_out_fmt_u64(dst, v);
#endif
	if (v >= 10000)
		return wc_out_fmt_u64(dst, v);
	/*
	 * Four digits, leading zero included ("0123"), in one little-endian
	 * word; shifting out the zero leaves the three-digit number's.
	 */
	hi = v / 100;
	d4 = (uint32_t)wc_out_pair(hi) | (uint32_t)wc_out_pair(v - hi * 100) << 16;
	n = v >= 1000 ? 4 : 3;
	d4 >>= 8 * (4 - n);
	memcpy(dst, &d4, 4);
	return n;
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
