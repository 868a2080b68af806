/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * wirecache-mgmt-attach: the DPDK secondary process wirecache-mgmt runs to
 * see into wirecached (mgmt/contract.h). Internal to the program: attach.c
 * is the process (attach, liveness, the request loop), report.c builds the
 * JSON documents of the line protocol from shared memory and ethdev.
 *
 * Thread safety: the program has one thread of its own; everything here is
 * called from it.
 */
#ifndef WC_MGMT_ATTACH_H
#define WC_MGMT_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "mgmt/config.h"
#include "mgmt/contract.h"

struct rte_ring;

/** What the attach child holds of the dataplane it serves. */
struct wc_attach {
	struct wc_shared *sh; /**< the memzone WC_MZ_SHARED */
	struct rte_ring *ctl; /**< WC_RING_CTL: requests we enqueue */
	struct rte_ring *ev;  /**< WC_RING_EVENT: events we dequeue */
	uint64_t instance;    /**< sh->instance when we attached */
	pid_t pid;	      /**< wirecached's pid */
	int lock_fd;	      /**< EAL's config file, whose lock the primary holds */
	struct wc_config own; /**< this process's options (wirecache-mgmt's) */
	char config_file[WC_PATH_MAX];
	uint64_t next_seq; /**< control request numbers */
};

/** Reply codes of the line protocol. */
#define WC_CODE_USAGE	 "usage"
#define WC_CODE_REFUSED	 "refused"
#define WC_CODE_TIMEOUT	 "timeout"
#define WC_CODE_INTERNAL "internal"

/** A JSON string of @p s; bytes that are not UTF-8 become '?'. */
json_t *wc_attach_text(const char *s);

/** {"ok":true,"data":@p data} (steals @p data). */
json_t *wc_attach_ok(json_t *data);

/** {"ok":false,"code":@p code,"error":"..."}. */
json_t *wc_attach_err(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** The "stats" document (see docs/wirectl.md). */
json_t *wc_report_stats(const struct wc_attach *a);

/** The "ports" document: {"ports":[...]}. */
json_t *wc_report_ports(const struct wc_attach *a);

/** The "partitions" document: {"partitions":[...]}. */
json_t *wc_report_partitions(const struct wc_attach *a);

/** The attach child's part of "status": health, dataplane, lcores, ports. */
json_t *wc_report_status(const struct wc_attach *a);

/**
 * The "config get" document: every option (@p name NULL) or one.
 * @return NULL if @p name is not an option.
 */
json_t *wc_report_config(const struct wc_attach *a, const char *name);

/** {"generation":N,"values":{name: canonical value}} of every option. */
json_t *wc_report_config_dump(const struct wc_attach *a);

/** A log level's name ("error", "notice", ...) from an RTE_LOG_* number. */
const char *wc_report_level_name(uint32_t level);

#endif /* WC_MGMT_ATTACH_H */
