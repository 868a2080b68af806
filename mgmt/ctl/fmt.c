/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mgmt/ctl/fmt.h"

/*
 * Three significant digits: 1.23, 12.3, 123. The thresholds are where
 * rounding would carry into one more digit ("9.996" must not print as
 * "10.00").
 */
static void fmt_scaled(char *buf, size_t len, double v, const char *unit)
{
	if (v < 9.995)
		snprintf(buf, len, "%.2f%s", v, unit);
	else if (v < 99.95)
		snprintf(buf, len, "%.1f%s", v, unit);
	else
		snprintf(buf, len, "%.0f%s", v, unit);
}

void wc_fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { " KiB", " MiB", " GiB", " TiB", " PiB", " EiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return;
	}
	v /= 1024;
	/* 1023.7 KiB rounds to "1024 KiB": say "1.00 MiB" instead. */
	while (v >= 1023.5 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	fmt_scaled(buf, len, v, units[u]);
}

void wc_fmt_rate(char *buf, size_t len, double per_sec)
{
	static const char *const units[] = { "k/s", "M/s", "G/s", "T/s" };
	double v = per_sec;
	size_t u = 0;

	if (!(v >= 0) || isinf(v)) {
		snprintf(buf, len, "-");
		return;
	}
	if (v < 999.5) {
		snprintf(buf, len, "%.0f/s", v);
		return;
	}
	v /= 1000;
	while (v >= 999.5 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000;
		u++;
	}
	fmt_scaled(buf, len, v, units[u]);
}

void wc_fmt_duration(char *buf, size_t len, uint64_t s)
{
	uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;

	if (d > 0)
		snprintf(buf, len, "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m", d, h, m);
	else if (h > 0)
		snprintf(buf, len, "%" PRIu64 "h %" PRIu64 "m %" PRIu64 "s", h, m, sec);
	else if (m > 0)
		snprintf(buf, len, "%" PRIu64 "m %" PRIu64 "s", m, sec);
	else
		snprintf(buf, len, "%" PRIu64 "s", sec);
}

void wc_fmt_percent(char *buf, size_t len, double num, double den)
{
	if (!(den > 0) || !(num >= 0)) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%.1f%%", 100.0 * num / den);
}

void wc_fmt_time(char *buf, size_t len, uint64_t unix_seconds)
{
	time_t t = (time_t)unix_seconds;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "%" PRIu64, unix_seconds);
}

struct wc_table {
	size_t ncols;
	enum wc_align *align;
	size_t *width;
	char **cells; /* (rows + 1) * ncols, row 0 = headers */
	size_t ncells;
	size_t cap;
};

static int table_push(struct wc_table *t, char *s)
{
	size_t col = t->ncells % t->ncols;
	size_t w = strlen(s);

	if (t->ncells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : t->ncols * 16;
		char **c = realloc(t->cells, cap * sizeof(*c));

		if (c == NULL) {
			free(s);
			return -ENOMEM;
		}
		t->cells = c;
		t->cap = cap;
	}
	t->cells[t->ncells++] = s;
	if (w > t->width[col])
		t->width[col] = w;
	return 0;
}

struct wc_table *wc_table_new(size_t ncols, const char *const *headers, const enum wc_align *align)
{
	struct wc_table *t = calloc(1, sizeof(*t));

	if (t == NULL || ncols == 0)
		goto fail;
	t->ncols = ncols;
	t->align = calloc(ncols, sizeof(*t->align));
	t->width = calloc(ncols, sizeof(*t->width));
	if (t->align == NULL || t->width == NULL)
		goto fail;
	memcpy(t->align, align, ncols * sizeof(*align));
	for (size_t i = 0; i < ncols; i++) {
		char *s = strdup(headers[i]);

		if (s == NULL || table_push(t, s) != 0)
			goto fail;
	}
	return t;
fail:
	wc_table_free(t);
	return NULL;
}

int wc_table_cell(struct wc_table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	return table_push(t, s);
}

size_t wc_table_rows(const struct wc_table *t)
{
	return (t->ncells + t->ncols - 1) / t->ncols - 1;
}

size_t wc_table_line(const struct wc_table *t, size_t row, char *buf, size_t len)
{
	size_t pos = 0, end = 0; /* end: length without trailing blanks */

	if (len == 0)
		return 0;
	buf[0] = '\0';
	for (size_t c = 0; c < t->ncols; c++) {
		size_t i = row * t->ncols + c;
		const char *s = i < t->ncells ? t->cells[i] : "";
		size_t w = strlen(s), pad = t->width[c] - w;
		int n;

		if (c > 0)
			pad += 2;
		if (t->align[c] == WC_LEFT)
			n = snprintf(buf + pos, len - pos, "%*s%s", (int)(c > 0 ? 2 : 0), "", s);
		else
			n = snprintf(buf + pos, len - pos, "%*s%s", (int)pad, "", s);
		if (n < 0)
			break;
		pos += (size_t)n;
		if (pos >= len) {
			pos = len - 1;
			end = pos;
			break;
		}
		if (w > 0)
			end = pos;
		if (t->align[c] == WC_LEFT && c + 1 < t->ncols) {
			n = snprintf(buf + pos, len - pos, "%*s", (int)(t->width[c] - w), "");
			pos += (size_t)n;
			if (pos >= len)
				pos = len - 1;
		}
	}
	buf[end] = '\0';
	return end;
}

void wc_table_print(const struct wc_table *t, FILE *f, const char *indent)
{
	size_t len = 1;
	char *line;

	for (size_t c = 0; c < t->ncols; c++)
		len += t->width[c] + 2;
	line = malloc(len);
	if (line == NULL)
		return;
	for (size_t r = 0; r <= wc_table_rows(t); r++) {
		wc_table_line(t, r, line, len);
		fprintf(f, "%s%s\n", indent, line);
	}
	free(line);
}

void wc_table_free(struct wc_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->align);
	free(t->width);
	free(t);
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* @p p at an opening quote; returns just past the closing one. */
static const char *skip_string(const char *p)
{
	for (p++; *p != '\0' && *p != '"'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
	}
	return *p == '"' ? p + 1 : p;
}

static const char *skip_value(const char *p)
{
	int depth = 0;

	if (*p == '"')
		return skip_string(p);
	if (*p != '{' && *p != '[') {
		while (*p != '\0' && strchr(",}] \t\r\n", *p) == NULL)
			p++;
		return p;
	}
	while (*p != '\0') {
		if (*p == '"') {
			p = skip_string(p);
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			depth--;
		p++;
		if (depth == 0)
			break;
	}
	return p;
}

int wc_json_member_raw(const char *text, const char *key, const char **start, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = skip_ws(text);

	if (*p != '{')
		return -ENOENT;
	p = skip_ws(p + 1);
	while (*p == '"') {
		const char *k = p + 1, *kend = skip_string(p), *v;
		bool match = (size_t)(kend - 1 - k) == klen && memcmp(k, key, klen) == 0;

		p = skip_ws(kend);
		if (*p != ':')
			return -ENOENT;
		v = skip_ws(p + 1);
		p = skip_value(v);
		if (match) {
			*start = v;
			*len = (size_t)(p - v);
			return 0;
		}
		p = skip_ws(p);
		if (*p != ',')
			break;
		p = skip_ws(p + 1);
	}
	return -ENOENT;
}
