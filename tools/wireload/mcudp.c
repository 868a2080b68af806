/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached's UDP frame header and the reassembly of multi-datagram replies.
 *
 *   0       2       4       6       8
 *   +-------+-------+-------+-------+------------------
 *   |req id | seq # | total |  0    | reply bytes ...
 *   +-------+-------+-------+-------+------------------
 *   big-endian; a reply of n datagrams carries seq 0..n-1, total n in each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wireload.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void wl_mcudp_put_hdr(uint8_t *p, uint16_t id)
{
	put16(p, id);
	put16(p + 2, 0);
	put16(p + 4, 1);
	put16(p + 6, 0);
}

int wl_mcudp_parse_hdr(const uint8_t *p, size_t len, struct wl_mcudp_hdr *h)
{
	if (len < WL_MCUDP_HDR)
		return -EINVAL;
	h->id = get16(p);
	h->seq = get16(p + 2);
	h->total = get16(p + 4);
	h->reserved = get16(p + 6);
	if (h->total == 0 || h->seq >= h->total)
		return -EINVAL;
	return 0;
}

void wl_reasm_init(struct wl_reasm *r)
{
	memset(r, 0, sizeof(*r));
}

void wl_reasm_reset(struct wl_reasm *r)
{
	r->total = 0;
	r->got = 0;
	r->used = 0;
	r->out_len = 0;
}

void wl_reasm_free(struct wl_reasm *r)
{
	free(r->off);
	free(r->len);
	free(r->buf);
	free(r->out);
	wl_reasm_init(r);
}

static int grow(uint8_t **p, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 4096;
	uint8_t *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static int first(struct wl_reasm *r, uint16_t total)
{
	if (total > WL_MCUDP_MAX_DGRAMS)
		return -EMSGSIZE;
	if (total > r->tab_cap) {
		uint32_t *o = realloc(r->off, total * sizeof(*o));

		if (!o)
			return -ENOMEM;
		r->off = o;
		o = realloc(r->len, total * sizeof(*o));
		if (!o)
			return -ENOMEM;
		r->len = o;
		r->tab_cap = total;
	}
	for (unsigned i = 0; i < total; i++)
		r->len[i] = UINT32_MAX;
	r->total = total;
	return 0;
}

int wl_reasm_add(struct wl_reasm *r, uint16_t seq, uint16_t total, const uint8_t *p, size_t n)
{
	int rc;

	if (total == 0 || seq >= total)
		return -EPROTO;
	if (r->total == 0) {
		rc = first(r, total);
		if (rc < 0)
			return rc;
	} else if (r->total != total) {
		return -EPROTO;
	}
	if (r->len[seq] != UINT32_MAX)
		return -EALREADY;
	if (n > WL_MCUDP_MAX_BYTES - r->used)
		return -EMSGSIZE;
	rc = grow(&r->buf, &r->cap, r->used + n);
	if (rc < 0)
		return rc;
	if (n)
		memcpy(r->buf + r->used, p, n);
	r->off[seq] = (uint32_t)r->used;
	r->len[seq] = (uint32_t)n;
	r->used += n;
	if (++r->got < r->total)
		return 0;
	rc = grow(&r->out, &r->out_cap, r->used ? r->used : 1);
	if (rc < 0)
		return rc;
	r->out_len = 0;
	for (unsigned i = 0; i < r->total; i++) {
		if (r->len[i])
			memcpy(r->out + r->out_len, r->buf + r->off[i], r->len[i]);
		r->out_len += r->len[i];
	}
	return 1;
}

const uint8_t *wl_reasm_data(const struct wl_reasm *r, size_t *len)
{
	*len = r->out_len;
	return r->out;
}
