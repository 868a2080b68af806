/* SPDX-License-Identifier: BSD-3-Clause */
/* Random numbers, the Zipf sampler, keys and values. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "wireload.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void wl_rng_seed(struct wl_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t wl_rng_exp_ns(struct wl_rng *r, double rate)
{
	/* 1 - u lies in (0, 1], so the log is finite. */
	double u = 1.0 - wl_rng_double(r);

	return (uint64_t)(-log(u) / rate * 1e9 + 0.5);
}

/*
 * Rejection-inversion. With h(x) = x^-s and H its antiderivative, arranged
 * so that s = 1 needs no special case:
 *   H(x)    = ((x^(1-s) - 1) / (1-s))  = helper2((1-s) ln x) * ln x
 *   H^-1(y) = (1 + y(1-s))^(1/(1-s))  = exp(helper1(y(1-s)) * y)
 * A uniform draw between H(n + 1/2) and H(3/2) - 1 is inverted to x, rounded
 * to the rank k, and accepted when it falls under h(k); the squeeze thr
 * accepts most draws without evaluating H again.
 */
static double helper1(double x)
{
	if (fabs(x) > 1e-8)
		return log1p(x) / x;
	return 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

static double helper2(double x)
{
	if (fabs(x) > 1e-8)
		return expm1(x) / x;
	return 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
}

static double zipf_H(const struct wl_zipf *z, double x)
{
	double lx = log(x);

	return helper2((1.0 - z->s) * lx) * lx;
}

static double zipf_h(const struct wl_zipf *z, double x)
{
	return exp(-z->s * log(x));
}

static double zipf_Hinv(const struct wl_zipf *z, double y)
{
	double t = y * (1.0 - z->s);

	if (t < -1.0)
		t = -1.0; /* rounding at the far end of the range */
	return exp(helper1(t) * y);
}

int wl_zipf_init(struct wl_zipf *z, uint64_t n, double s)
{
	if (n == 0 || !(s > 0.0) || !isfinite(s))
		return -EINVAL;
	z->n = n;
	z->s = s;
	z->h_x1 = zipf_H(z, 1.5) - 1.0;
	z->h_n = zipf_H(z, (double)n + 0.5);
	z->thr = 2.0 - zipf_Hinv(z, zipf_H(z, 2.5) - zipf_h(z, 2.0));
	return 0;
}

uint64_t wl_zipf_next(const struct wl_zipf *z, struct wl_rng *r)
{
	for (;;) {
		double u = z->h_n + wl_rng_double(r) * (z->h_x1 - z->h_n);
		double x = zipf_Hinv(z, u);
		uint64_t k;

		if (!(x + 0.5 < (double)z->n))
			k = z->n;
		else if (x < 0.5)
			k = 1;
		else
			k = (uint64_t)(x + 0.5);
		if ((double)k - x <= z->thr ||
		    u >= zipf_H(z, (double)k + 0.5) - zipf_h(z, (double)k))
			return k - 1;
	}
}

static unsigned dec_digits(uint64_t v)
{
	unsigned d = 1;

	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

int wl_keyfmt_init(struct wl_keyfmt *f, size_t size, uint64_t nkeys)
{
	unsigned need = dec_digits(nkeys ? nkeys - 1 : 0);

	if (size == 0 || size > WL_KEY_MAX || size < need)
		return -EINVAL;
	f->size = size;
	f->prefix = size >= 4 + need ? 4 : 0;
	return 0;
}

void wl_key_format(const struct wl_keyfmt *f, uint64_t idx, char *out)
{
	size_t i = f->size;

	if (f->prefix)
		memcpy(out, "key:", 4);
	while (i > f->prefix) {
		out[--i] = (char)('0' + idx % 10);
		idx /= 10;
	}
}

static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
#define ALPHA 62u

static const char hexdig[] = "0123456789abcdef";

/* The filler's phase mixes key, version and length, so a truncated value fails too. */
static unsigned filler_phase(uint64_t idx, uint32_t ver, size_t len)
{
	uint64_t x = idx * 0x9e3779b97f4a7c15ull ^ ((uint64_t)ver << 32 | ver) ^
		     (uint64_t)len * 0xd6e8feb86659fd93ull;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return (unsigned)(x % ALPHA);
}

int wl_valfmt_init(struct wl_valfmt *f, size_t min, size_t max, uint64_t nkeys, int verify)
{
	uint64_t last = nkeys ? nkeys - 1 : 0;

	f->min = min;
	f->max = max;
	f->verify = verify;
	f->idx_width = 1;
	while (last >>= 4)
		f->idx_width++;
	if (min > max || max > WL_VALUE_MAX)
		return -EINVAL;
	if (verify && min < wl_value_hdr_len(f))
		return -EINVAL;
	return 0;
}

size_t wl_value_hdr_len(const struct wl_valfmt *f)
{
	return f->idx_width + 1 + 8 + 1;
}

/* Filler from absolute position @p from to @p len, phase @p ph: byte i is alphabet[(ph+i) % 62]. */
static void filler(char *out, size_t from, size_t len, unsigned ph)
{
	size_t i = from;

	while (i < len) {
		size_t n = len - i;
		unsigned at = (unsigned)((ph + i) % ALPHA);

		if (n > ALPHA)
			n = ALPHA;
		memcpy(out + i, alphabet + at, n);
		i += n;
	}
}

static int filler_ok(const char *v, size_t from, size_t len, unsigned ph)
{
	size_t i = from;

	while (i < len) {
		size_t n = len - i;
		unsigned at = (unsigned)((ph + i) % ALPHA);

		if (n > ALPHA)
			n = ALPHA;
		if (memcmp(v + i, alphabet + at, n) != 0)
			return 0;
		i += n;
	}
	return 1;
}

void wl_value_fill(const struct wl_valfmt *f, uint64_t idx, uint32_t ver, char *out, size_t len)
{
	size_t hdr = wl_value_hdr_len(f);
	size_t p = 0;

	if (!f->verify || len < hdr) {
		filler(out, 0, len, 0);
		return;
	}
	for (unsigned i = f->idx_width; i > 0; i--)
		out[p++] = hexdig[(idx >> (4 * (i - 1))) & 15];
	out[p++] = ':';
	for (unsigned i = 8; i > 0; i--)
		out[p++] = hexdig[(ver >> (4 * (i - 1))) & 15];
	out[p++] = ':';
	filler(out, p, len, filler_phase(idx, ver, len));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int wl_value_check(const struct wl_valfmt *f, uint64_t idx, const char *v, size_t len)
{
	size_t hdr = wl_value_hdr_len(f);
	uint64_t got = 0;
	uint32_t ver = 0;
	size_t p = 0;

	if (len < f->min || len > f->max)
		return -EBADMSG;
	if (!f->verify)
		return 0;
	if (len < hdr)
		return -EBADMSG;
	for (unsigned i = 0; i < f->idx_width; i++) {
		int d = hexval(v[p++]);

		if (d < 0)
			return -EBADMSG;
		got = got << 4 | (uint64_t)d;
	}
	if (got != idx || v[p++] != ':')
		return -EBADMSG;
	for (unsigned i = 0; i < 8; i++) {
		int d = hexval(v[p++]);

		if (d < 0)
			return -EBADMSG;
		ver = ver << 4 | (uint32_t)d;
	}
	if (v[p++] != ':')
		return -EBADMSG;
	return filler_ok(v, p, len, filler_phase(idx, ver, len)) ? 0 : -EBADMSG;
}
