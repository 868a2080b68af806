/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * wirecache-mgmt's Prometheus endpoint: the text exposition (format 0.0.4)
 * rendered from the `stats` and `status` documents of the management
 * protocol, and a small HTTP server (libmicrohttpd) that serves it at
 * GET /metrics.
 *
 * The metric names and their help texts come from the counter tables of
 * mgmt/contract.h (WC_LCORE_STATS, WC_PART_STATS); docs/metrics.md lists
 * every metric.
 *
 * This module knows nothing of DPDK: it reads JSON and writes text.
 */
#ifndef WC_MGMT_METRICS_H
#define WC_MGMT_METRICS_H

#include <stddef.h>

#include <jansson.h>

/**
 * Render the Prometheus text exposition (format 0.0.4).
 *
 * Every metric family carries # HELP and # TYPE lines; label values are
 * escaped as the format asks. Members missing from the documents, or null,
 * are left out rather than reported as zero.
 *
 * Thread safety: reads only its arguments; safe from any thread.
 *
 * @param stats  the `data` object of a `stats` reply, or NULL while the
 *               dataplane is down: then only wirecache-mgmt's own metrics
 *               (wirecache_up 0, health, restarts, build info) are rendered
 * @param status the `data` object of a `status` reply (may be NULL: then the
 *               status-derived metrics are left out)
 * @return the text, NUL-terminated, allocated with malloc() (the caller
 *         frees it); NULL only when memory runs out.
 */
char *wc_metrics_render(const json_t *stats, const json_t *status);

/**
 * Produces the page body for one GET /metrics: a malloc()ed NUL-terminated
 * string that the HTTP server frees, or NULL for a 500 reply.
 */
typedef char *(*wc_httpd_cb_t)(void *arg);

/**
 * Start the HTTP endpoint on its own thread (libmicrohttpd's internal
 * polling thread).
 *
 * Serves GET (and HEAD) /metrics with `Content-Type: text/plain;
 * version=0.0.4; charset=utf-8`, a short page at /, 404 for other paths and
 * 405 for other methods. At most 16 connections at a time, each closed after
 * 10 s idle. One endpoint per process.
 *
 * Thread safety: @p cb runs on the HTTP thread, one call at a time; it must
 * not block for long (a scrape waits for it). Call start and stop from one
 * thread.
 *
 * @param listen_addr "A.B.C.D:PORT" (IPv4); port 0 binds an ephemeral port, see
 *               wc_httpd_port()
 * @param cb     renders the /metrics body
 * @param arg    passed to @p cb
 * @param err    receives a one-line reason on failure
 * @return 0; -EINVAL for a malformed @p listen_addr; -EALREADY if already
 *         running; another negative errno when the socket cannot be bound
 *         (e.g. -EADDRINUSE, -EADDRNOTAVAIL, -EACCES) or the server thread
 *         cannot start.
 */
int wc_httpd_start(const char *listen_addr, wc_httpd_cb_t cb, void *arg, char *err, size_t errlen);

/** The TCP port the endpoint is bound to, or 0 when it is not running. */
int wc_httpd_port(void);

/**
 * Stop the endpoint: close the listening socket and every connection, and
 * join the HTTP thread (no @p cb call is running when this returns). Does
 * nothing when it is not running.
 */
void wc_httpd_stop(void);

#endif /* WC_MGMT_METRICS_H */
