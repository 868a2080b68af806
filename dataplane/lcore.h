/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Per-lcore context and the poll loop (STYLE: per-lcore context, passed
 * explicitly). One wc_lcore per worker lcore, cache-aligned, touched only by
 * its lcore except for the counters, which stats readers sum.
 */
#ifndef WC_LCORE_H
#define WC_LCORE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>

#include "mgmt/config.h"
#include "dataplane/net/net.h"
#include "dataplane/proto/mc.h"
#include "dataplane/xcore.h"
#include "mgmt/contract.h"

struct rte_mempool;
struct rte_rcu_qsbr;
struct rte_ring;
struct wc_store;

struct wc_lcore {
	struct wc_net net;	   /**< this lcore's network state and TX queue */
	struct wc_mc_ctx mc;	   /**< memcached executor context */
	struct wc_store *store;	   /**< the partition this lcore owns */
	struct wc_xcore xc;	   /**< rings to and from the other lcores */
	struct rte_rcu_qsbr *qsbr; /**< reported to once per iteration; NULL with one lcore */
	uint8_t *scratch;	   /**< values copied from other partitions (mc.scratch) */
	unsigned int lcore_id;
	unsigned int index;	    /**< 0..n_workers-1: queue, partition and RCU thread id */
	uint32_t idle_polls;	    /**< consecutive empty polls */
	uint64_t next_tick_tsc;	    /**< when to run timers next */
	struct wc_lcore_stats *st;  /**< this lcore's counters (in sh) */
	struct wc_lcore_shared *sh; /**< what mgmt sees of this lcore (mgmt/contract.h) */
	struct wc_iface ifc;	    /**< this lcore's copy of the interface and its policy */
	bool backoff;		    /**< idle-backoff, as last applied */
	uint64_t flush_seen;	    /**< the control thread's last flush this lcore did */
} __rte_cache_aligned;

/** The whole dataplane; built in main, read-only once the lcores run. */
struct wc_dataplane {
	const struct wc_config *cfg;
	struct wc_iface ifc;
	struct wc_mc_server mc;
	struct wc_lcore *lcores; /**< n_workers entries */
	unsigned int n_workers;
	struct wc_store **parts;   /**< parts[i] = lcores[i].store, owned by lcore i */
	struct rte_rcu_qsbr *qsbr; /**< every worker's quiescent states (n_workers > 1) */
	struct rte_ring **rings;   /**< n_workers^2 rings, [from * n + to] (xcore.c) */
	struct rte_mempool *xmsgs; /**< their message buffers */
	uint64_t tsc_hz;
	uint64_t start_tsc;
	uint32_t start_time; /**< unix seconds at start_tsc */
	uint64_t stop_tsc;   /**< --lifetime deadline, 0 = none */
	int pid;
	const char *config_file; /**< the --config file, "" if none */
	struct wc_shared *sh;	 /**< the memzone mgmt attaches to (mgmt/contract.h) */
	struct rte_ring *ctl_ring;
	struct rte_ring *event_ring;
	/** A flush the control thread asked every lcore for (wc_ctl.c). */
	uint64_t ctl_flush_seq;
	uint32_t ctl_flush_when;
	/** Immediate flush_all across partitions (wc_mc_server.flush_gen). */
	uint64_t flush_gen __rte_cache_aligned;
	uint64_t part_gen[RTE_MAX_LCORE]; /**< the generation partition i applied */
};

/** Set by SIGINT/SIGTERM (or --lifetime): every lcore leaves its loop. */
extern volatile sig_atomic_t wc_quit;

/**
 * The poll loop (an lcore_function_t): @p arg is the wc_dataplane. Runs until
 * wc_quit is set.
 * @return 0.
 */
int wc_lcore_main(void *arg);

/** The calling lcore's context, or NULL if it is not a worker. */
struct wc_lcore *wc_lcore_self(struct wc_dataplane *dp);

/** Unix time in seconds derived from the TSC (no system call). */
uint32_t wc_dataplane_now(const struct wc_dataplane *dp, uint64_t tsc);

/**
 * Assemble the dataplane from dp->cfg: clocks, memcached settings, interface
 * policy, and an lcore context with its partition for each of dp->n_workers
 * lcores (0 = every EAL lcore), each partition on its lcore's socket. With
 * several workers also the RCU variable every partition's memory reuse
 * waits on, the cross-core rings, and each lcore's view of all partitions.
 * The port is set up apart (wc_port_setup).
 * @return 0, or -ENOMEM (partially built state is freed by teardown).
 */
int wc_dataplane_setup(struct wc_dataplane *dp, struct rte_mempool *pool);

/** Free what wc_dataplane_setup() built. */
void wc_dataplane_teardown(struct wc_dataplane *dp);

/**
 * Start the control thread (a DPDK control thread, not a worker): it takes
 * mgmt's requests from the control ring (config set, flush, stats reset),
 * applies them and replies on the event ring, and sends the dataplane's log
 * lines there too. Call once the lcores' contexts exist.
 * @return 0 or a negative errno.
 */
int wc_ctl_start(struct wc_dataplane *dp);

/** Stop the control thread (after the lcores stopped) and detach logging. */
void wc_ctl_stop(struct wc_dataplane *dp);

/**
 * An lcore's share of the control work, run from its tick: publish the
 * heartbeat and the partition's figures, apply a new config generation's
 * runtime options and a requested flush.
 */
void wc_ctl_lcore_tick(struct wc_dataplane *dp, struct wc_lcore *lc, uint64_t now_tsc);

/**
 * `stats reset`: every lcore's baseline becomes its counters (memcached's
 * reply counts from there; the counters themselves run on).
 */
void wc_stats_reset(struct wc_dataplane *dp);

/** The memcached `stats` hook over every lcore and partition. */
int wc_stats_mc(void *arg, const char *sub, size_t sublen, struct wc_out *out);

/**
 * The memcached `flush_all` hook: every partition, the calling lcore's now
 * and the others' through their owners' rings.
 */
void wc_stats_flush(void *arg, uint32_t when);

/**
 * Configure and start the port: one RX/TX queue per worker (RSS spreading
 * flows over them when there are several), offloads the device can do
 * (IPv4/UDP checksums), promiscuous off.
 * @return 0 or a negative errno, with the reason logged (-ERANGE: the device
 *         has fewer queues than workers).
 */
int wc_port_setup(struct wc_dataplane *dp, struct rte_mempool *pool);

/** Stop and close the port. */
void wc_port_teardown(struct wc_dataplane *dp);

#endif /* WC_LCORE_H */
