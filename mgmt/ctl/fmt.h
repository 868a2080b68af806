/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * wirectl's human output: byte sizes, rates and durations in words a person
 * reads at a glance, aligned tables, and a scanner that finds one member of
 * a JSON object as the bytes the server sent (for --json).
 *
 * Thread safety: the functions touch only the buffers and tables they are
 * given.
 */
#ifndef WC_CTL_FMT_H
#define WC_CTL_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/**
 * A byte count with a binary unit: "512 B", "1.50 KiB", "64.0 MiB",
 * "512 MiB", "1.00 GiB" (three significant digits from KiB up).
 */
void wc_fmt_bytes(char *buf, size_t len, uint64_t bytes);

/**
 * A per-second rate with a decimal suffix: "0/s", "950/s", "1.23k/s",
 * "12.3k/s", "123k/s", "4.56M/s", "1.20G/s". Negative or NaN shows "-".
 */
void wc_fmt_rate(char *buf, size_t len, double per_sec);

/**
 * A duration in whole seconds: "45s", "3m 12s", "2h 0m 5s", "1d 2h 3m"
 * (seconds are left out from a day up).
 */
void wc_fmt_duration(char *buf, size_t len, uint64_t seconds);

/** @p num / @p den as a percentage with one decimal ("93.2%"); "-" when @p den is 0. */
void wc_fmt_percent(char *buf, size_t len, double num, double den);

/** Unix seconds as "2026-11-26 09:30:00 UTC". */
void wc_fmt_time(char *buf, size_t len, uint64_t unix_seconds);

/** Column alignment in a table. */
enum wc_align {
	WC_LEFT,
	WC_RIGHT,
};

struct wc_table;

/**
 * A table of @p ncols columns; @p headers[i] names column i and @p align[i]
 * aligns it (numbers right, text left).
 * @return the table, or NULL without memory.
 */
struct wc_table *wc_table_new(size_t ncols, const char *const *headers, const enum wc_align *align);

/**
 * Append one cell (printf-style) to the last row; the first cell of a table,
 * or the cell after a full row, starts a new row.
 * @return 0, or -ENOMEM.
 */
int wc_table_cell(struct wc_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Rows added so far (the header not counted). */
size_t wc_table_rows(const struct wc_table *t);

/**
 * Line @p row of the laid-out table into @p buf: row 0 is the header, row
 * i + 1 the i-th added row. Columns are separated by two spaces; trailing
 * blanks are dropped. @return the line's length (truncated to @p len - 1).
 */
size_t wc_table_line(const struct wc_table *t, size_t row, char *buf, size_t len);

/** Print the header and every row, each line prefixed with @p indent. */
void wc_table_print(const struct wc_table *t, FILE *f, const char *indent);

/** Free a table (NULL is fine). */
void wc_table_free(struct wc_table *t);

/**
 * Find member @p key of the JSON object in @p text and give its value's
 * bytes exactly as they are written there (nested objects whole).
 * @p text must be valid JSON (parse it first); keys are compared as written.
 * @return 0 with @p start and @p len set, or -ENOENT.
 */
int wc_json_member_raw(const char *text, const char *key, const char **start, size_t *len);

#endif /* WC_CTL_FMT_H */
