/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The attach supervisor: runs wirecache-mgmt-attach (the DPDK secondary
 * that reads the dataplane's shared memory) whenever a dataplane of our
 * file-prefix is up, talks to it one request at a time, brings its log
 * events into the log, and keeps the attach history status reports.
 *
 * wirecache-mgmt itself has no EAL: a dataplane that dies or restarts never
 * takes the daemon with it; only the child exits (status 4) and is started
 * again once a new dataplane holds the prefix's config file lock.
 *
 * Thread safety: every function may be called from any thread; requests to
 * the child are serialized (the child is single-threaded).
 */
#ifndef WC_MGMT_SUP_H
#define WC_MGMT_SUP_H

#include <stdbool.h>

#include <jansson.h>

#include "mgmt/config.h"

#define WC_SUP_TIMEOUT_MS 3000 /**< a request the child has not answered by then fails */

/** What the supervisor needs to start the child. */
struct wc_sup_params {
	const char *attach_path;     /**< the wirecache-mgmt-attach binary */
	const char *config_path;     /**< mgmt's --config, "" if none */
	const struct wc_config *cfg; /**< mgmt's options (file-prefix, log-level) */
};

/**
 * Start the supervisor thread.
 * @return 0, or a negative errno with the reason in @p err.
 */
int wc_sup_setup(const struct wc_sup_params *p, char *err, size_t errlen);

/** Stop the thread, then the child (EOF on its stdin, SIGTERM, SIGKILL). */
void wc_sup_teardown(void);

/** Whether a child is attached to a live dataplane now. */
bool wc_sup_attached(void);

/**
 * Send @p req to the child and wait for its answer.
 * @return a new reference to a response object ({"ok":true,"data":..} or
 *         {"ok":false,"code":..,"error":..}): the child's, or one with code
 *         "dataplane_down", "timeout" (the child is then restarted) or
 *         "internal". NULL only without memory.
 */
json_t *wc_sup_request(const json_t *req, int timeout_ms);

/**
 * The status document without its "mgmt" part: the child's health, lcores
 * and ports with the attach history merged into "dataplane", or, while the
 * dataplane is down, health "down" and why.
 * @return a new reference, or NULL without memory.
 */
json_t *wc_sup_status(void);

/** An error response {"ok":false,"code":@p code,"error":text}. */
json_t *wc_sup_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* WC_MGMT_SUP_H */
