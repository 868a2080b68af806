/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Work crossing between worker lcores (CREW): only the owner of a partition
 * writes it, so a command that writes a key owned elsewhere travels to the
 * owner, with the rest of its datagram (struct wc_mc_udp_cont), over one
 * single-producer single-consumer rte_ring per (from, to) pair of lcores:
 *
 *            to 0        to 1        to 2
 *   from 0    -        ring 0>1    ring 0>2      a lcore enqueues only on
 *   from 1  ring 1>0      -        ring 1>2      its row and dequeues only
 *   from 2  ring 2>0   ring 2>1       -          from its column
 *
 * Messages are staged per destination while a burst is processed and
 * enqueued in bursts once per loop iteration (wc_xcore_push()); each lcore
 * drains its column, a bounded burst per ring, every iteration
 * (wc_xcore_poll()), applying messages in arrival order. Nothing blocks: a
 * message that finds its ring and stage full is dropped and counted
 * (drop_xcore_ring_full). A flush_all reaches other partitions the same way.
 *
 * Thread safety: a wc_xcore belongs to its lcore; setup and teardown run on
 * the main thread while no worker runs.
 */
#ifndef WC_XCORE_H
#define WC_XCORE_H

#include <stdint.h>

#include "dataplane/proto/mc_udp.h"

#define WC_XCORE_RING  1024 /**< slots of each (from, to) ring */
#define WC_XCORE_BURST 32   /**< messages dequeued per ring per iteration */
#define WC_XCORE_STAGE 64   /**< messages staged per destination */

struct rte_mempool;
struct rte_ring;
struct wc_dataplane;
struct wc_lcore;

/** Messages waiting for one destination's ring. */
struct wc_xcore_stage {
	uint32_t n;
	void *msg[WC_XCORE_STAGE];
};

/** One lcore's end of the rings. */
struct wc_xcore {
	unsigned int n;		      /**< worker lcores; 1 = nothing crosses */
	unsigned int self;	      /**< this lcore's index */
	unsigned int staged;	      /**< messages in all stages */
	struct rte_ring **in;	      /**< in[from], NULL for self */
	struct rte_ring **out;	      /**< out[to], NULL for self */
	struct wc_xcore_stage *stage; /**< stage[to] */
	struct rte_mempool *msgs;     /**< message buffers, shared */
	struct wc_mc_udp_xcore hooks; /**< how mc_udp hands a datagram on */
	struct wc_lcore_stats *st;    /**< this lcore's counters */
};

/**
 * Create the rings and message buffers for dp->n_workers lcores and wire
 * each lcore's wc_xcore and memcached context to them. Nothing is created
 * for one worker. Main thread, after the lcore contexts exist.
 * @return 0 or -ENOMEM (what was built is freed by wc_xcore_teardown()).
 */
int wc_xcore_setup(struct wc_dataplane *dp);

/**
 * Release every message still staged or in a ring (their mbufs too), then
 * the rings and buffers. Main thread, once the workers stopped.
 */
void wc_xcore_teardown(struct wc_dataplane *dp);

/**
 * Apply what other lcores sent this one: at most WC_XCORE_BURST messages
 * from each ring, in arrival order. Owner lcore only.
 * @return the number of messages handled.
 */
unsigned int wc_xcore_poll(struct wc_lcore *lc);

/**
 * Enqueue staged messages on their rings, in bursts; what a full ring does
 * not take stays staged for the next iteration. Owner lcore only.
 * @return messages still staged.
 */
unsigned int wc_xcore_push(struct wc_lcore *lc);

/**
 * flush_all from lcore @p lc: its own partition now, every other through
 * its owner's ring (a lost message is counted in drop_xcore_ring_full).
 * Owner lcore only.
 */
void wc_xcore_flush_all(struct wc_lcore *lc, uint32_t when);

#endif /* WC_XCORE_H */
