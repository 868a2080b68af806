/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * wirecache-mgmt's log: one line per message, to stderr and the log file,
 *
 *     2026-11-26T09:30:00.123Z notice wirecached: text
 *
 * of its own messages and of the dataplane's (which arrive as events), with
 * the last WC_MLOG_KEEP lines kept in memory for `wirectl log`.
 *
 * Levels are the RTE_LOG_* numbers the options table uses (1 emerg .. 8
 * debug); a line above the current level is dropped everywhere.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef WC_MGMT_MLOG_H
#define WC_MGMT_MLOG_H

#include <stdint.h>

#include <jansson.h>

#define WC_MLOG_KEEP 1000 /**< lines kept for `log N` */

#define WC_MLOG_ERR	4
#define WC_MLOG_WARNING 5
#define WC_MLOG_NOTICE	6
#define WC_MLOG_INFO	7
#define WC_MLOG_DEBUG	8

/**
 * Start logging at @p level; open @p path for appending (creating its
 * directory) unless it is empty.
 * @return 0, or a negative errno with the reason in @p err.
 */
int wc_mlog_setup(const char *path, uint32_t level, char *err, size_t errlen);

/** Close the log file. */
void wc_mlog_teardown(void);

/** Reopen the log file (after a rotation); a failure is logged to stderr. */
void wc_mlog_reopen(void);

/** Change the level; lines already kept stay. */
void wc_mlog_set_level(uint32_t level);

/** The current level. */
uint32_t wc_mlog_level(void);

/** Log one of wirecache-mgmt's own lines. */
void wc_mlog(uint32_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Log a line from another program.
 * @param time_ns  CLOCK_REALTIME of the line, or 0 for now
 * @param source   the program, e.g. "wirecached"
 */
void wc_mlog_line(uint64_t time_ns, uint32_t level, const char *source, const char *text);

/** A level's name ("notice"); "level<N>" names none of the eight. */
const char *wc_mlog_level_name(uint32_t level);

/** The level called @p name (also "err", "warn"), or 0. */
uint32_t wc_mlog_level_parse(const char *name);

/**
 * The last @p n lines kept (oldest first) as the `log` document:
 * {"lines":[{"time":..,"level":..,"source":..,"text":..}]}.
 * @return a new reference, or NULL without memory.
 */
json_t *wc_mlog_tail(unsigned int n);

/** Format CLOCK_REALTIME nanoseconds as "2026-11-26T09:30:00.123Z". */
void wc_mlog_iso_time(uint64_t time_ns, char *buf, size_t len);

#endif /* WC_MGMT_MLOG_H */
