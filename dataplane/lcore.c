/* SPDX-License-Identifier: BSD-3-Clause */
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/lcore.h"
#include "dataplane/net/tcp.h"
#include "store/store.h"

#define RX_BURST 32

/* Idle backoff: spin, then pause, then sleep in growing steps up to a cap. */
#define IDLE_SPIN_POLLS	  64
#define IDLE_PAUSE_POLLS  1024
#define IDLE_SLEEP_MIN_US 10
#define IDLE_SLEEP_MAX_US 500

/* Timers (store clock, expiry slice, lifetime) run this often. */
#define TICK_US 1000

volatile sig_atomic_t wc_quit;

uint32_t wc_dataplane_now(const struct wc_dataplane *dp, uint64_t tsc)
{
	return dp->start_time + (uint32_t)((tsc - dp->start_tsc) / dp->tsc_hz);
}

struct wc_lcore *wc_lcore_self(struct wc_dataplane *dp)
{
	unsigned int id = rte_lcore_id();

	for (unsigned int i = 0; i < dp->n_workers; i++)
		if (dp->lcores[i].lcore_id == id)
			return &dp->lcores[i];
	return NULL;
}

static void idle(struct wc_lcore *lc, bool backoff)
{
	uint32_t n = ++lc->idle_polls;

	if (!backoff || n < IDLE_SPIN_POLLS)
		return;
	if (n < IDLE_PAUSE_POLLS) {
		rte_pause();
		return;
	}
	/* Double the sleep every 1024 further empty polls, up to the cap. */
	uint32_t shift = (n - IDLE_PAUSE_POLLS) / 1024;
	uint32_t us = IDLE_SLEEP_MIN_US << (shift > 6 ? 6 : shift);

	if (us > IDLE_SLEEP_MAX_US)
		us = IDLE_SLEEP_MAX_US;
	lc->st->idle_sleeps++;
	/* Asleep, this lcore reads nothing: memory reuse need not wait for it. */
	if (lc->qsbr != NULL)
		rte_rcu_qsbr_thread_offline(lc->qsbr, lc->index);
	usleep(us);
	if (lc->qsbr != NULL)
		rte_rcu_qsbr_thread_online(lc->qsbr, lc->index);
}

static void tick(struct wc_dataplane *dp, struct wc_lcore *lc, uint64_t now_tsc)
{
	lc->next_tick_tsc = now_tsc + dp->tsc_hz / (1000000 / TICK_US);
	wc_store_tick(lc->store, wc_dataplane_now(dp, now_tsc));
	/* An idle partition drops what another lcore's flush_all made stale. */
	wc_mc_flush_catch_up(&lc->mc);
	wc_ctl_lcore_tick(dp, lc, now_tsc);
	if (dp->stop_tsc != 0 && now_tsc >= dp->stop_tsc)
		wc_quit = 1;
}

int wc_lcore_main(void *arg)
{
	struct wc_dataplane *dp = arg;
	struct wc_lcore *lc = wc_lcore_self(dp);
	struct rte_mbuf *pkts[RX_BURST];
	bool multi;

	if (lc == NULL)
		return 0;
	multi = lc->xc.n > 1;
	/* The port is up: from here on this lcore reads its own copy of the policy. */
	lc->ifc = dp->ifc;
	lc->net.ifc = &lc->ifc;
	/*
	 * The idle backoff's short sleeps would otherwise be stretched by the
	 * default 50 us timer slack, adding that much latency to the first
	 * request after a quiet spell.
	 */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	lc->net.now_tsc = rte_rdtsc();
	tick(dp, lc, lc->net.now_tsc);
	/* Announce our address so neighbours need not ask. */
	if (lc->index == 0 && wc_net_garp(&lc->net) == 0)
		wc_net_tx_flush(&lc->net);
	/* Registered by setup; from now on this lcore may read other partitions. */
	if (lc->qsbr != NULL)
		rte_rcu_qsbr_thread_online(lc->qsbr, lc->index);
	__atomic_store_n(&lc->sh->state, WC_LCORE_RUNNING, __ATOMIC_RELEASE);

	while (!wc_quit) {
		uint64_t t0 = rte_rdtsc();
		unsigned int work;
		uint16_t n;

		lc->net.now_tsc = t0;
		n = rte_eth_rx_burst(dp->ifc.port_id, lc->net.queue, pkts, RX_BURST);
		if (n > 0)
			wc_net_input(&lc->net, pkts, n);
		work = n + wc_tcp_poll(&lc->net);
		if (multi) {
			/*
			 * Requests other lcores handed here, then what this
			 * iteration hands on; a message still staged (its ring
			 * was full) keeps the lcore from sleeping.
			 */
			work += wc_xcore_poll(lc);
			work += wc_xcore_push(lc);
			/* No item of another partition is held past this point. */
			rte_rcu_qsbr_quiescent(lc->qsbr, lc->index);
		}
		if (work > 0) {
			lc->idle_polls = 0;
			wc_net_tx_flush(&lc->net);
			lc->st->busy_cycles += rte_rdtsc() - t0;
		} else {
			idle(lc, lc->backoff);
		}
		if (t0 >= lc->next_tick_tsc)
			tick(dp, lc, t0);
	}
	wc_net_tx_flush(&lc->net);
	if (lc->qsbr != NULL)
		rte_rcu_qsbr_thread_offline(lc->qsbr, lc->index);
	__atomic_store_n(&lc->sh->state, WC_LCORE_STOPPED, __ATOMIC_RELEASE);
	return 0;
}
