/* SPDX-License-Identifier: BSD-3-Clause */
/* Log-linear latency histogram; the layout is drawn in wireload.h. */
#include <string.h>

#include "wireload.h"

void wl_hist_reset(struct wl_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

unsigned wl_hist_bucket(uint64_t v)
{
	unsigned msb, shift;

	if (v < 2 * WL_HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - WL_HIST_SUB_BITS;
	if (shift > WL_HIST_MAX_SHIFT)
		return WL_HIST_BUCKETS - 1;
	return 2 * WL_HIST_SUB + (shift - 1) * WL_HIST_SUB + (unsigned)((v >> shift) - WL_HIST_SUB);
}

uint64_t wl_hist_bucket_high(unsigned i)
{
	unsigned j, shift;
	uint64_t m;

	if (i < 2 * WL_HIST_SUB)
		return i;
	if (i >= WL_HIST_BUCKETS)
		i = WL_HIST_BUCKETS - 1;
	j = i - 2 * WL_HIST_SUB;
	shift = j / WL_HIST_SUB + 1;
	m = j % WL_HIST_SUB + WL_HIST_SUB;
	return ((m + 1) << shift) - 1;
}

void wl_hist_record(struct wl_hist *h, uint64_t v)
{
	h->b[wl_hist_bucket(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void wl_hist_merge(struct wl_hist *dst, const struct wl_hist *src)
{
	for (unsigned i = 0; i < WL_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t wl_hist_percentile(const struct wl_hist *h, double pct)
{
	uint64_t rank, cum = 0;
	double want;

	if (h->count == 0)
		return 0;
	if (pct >= 100.0)
		return h->max;
	if (pct < 0.0)
		pct = 0.0;
	want = pct / 100.0 * (double)h->count;
	rank = (uint64_t)want;
	if ((double)rank < want)
		rank++; /* ceil: the smallest value with at least pct% at or below it */
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < WL_HIST_BUCKETS; i++) {
		cum += h->b[i];
		if (cum >= rank) {
			uint64_t hi = wl_hist_bucket_high(i);
			return hi < h->max ? hi : h->max;
		}
	}
	return h->max;
}
