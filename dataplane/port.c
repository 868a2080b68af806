/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port set-up from the device's capabilities only: the same code drives a
 * PCI NIC, net_af_xdp, net_af_packet, net_tap, net_memif or net_ring.
 */
#include <errno.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "dataplane/lcore.h"

#define WC_TX_CKSUM (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM)
#define WC_RX_CKSUM (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)

int wc_port_setup(struct wc_dataplane *dp, struct rte_mempool *pool)
{
	const struct wc_config *cfg = dp->cfg;
	uint16_t port = (uint16_t)cfg->port;
	uint16_t nq = (uint16_t)dp->n_workers;
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf = { 0 };
	uint16_t nb_rxd = (uint16_t)cfg->rx_desc, nb_txd = (uint16_t)cfg->tx_desc;
	int rc;

	if (!rte_eth_dev_is_valid_port(port)) {
		RTE_LOG(ERR, USER1,
			"port %u does not exist (%u ports; give one with --vdev or a PCI "
			"device)\n",
			port, rte_eth_dev_count_avail());
		return -ENODEV;
	}
	rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0)
		return rc;
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		RTE_LOG(ERR, USER1, "port %u has %u RX / %u TX queues; %u workers need one each\n",
			port, info.max_rx_queues, info.max_tx_queues, nq);
		return -ERANGE;
	}
	/*
	 * A device that spreads frames over all its queues by itself (no RSS
	 * to steer, as net_af_packet's fanout over qpairs) loses what lands on
	 * queues no worker reads.
	 */
	if (info.max_rx_queues > nq && info.flow_type_rss_offloads == 0)
		RTE_LOG(WARNING, USER1,
			"port %u offers %u RX queues without RSS control and %u are read: if "
			"it spreads frames over all of them, give it %u queues or run %u "
			"lcores\n",
			port, info.max_rx_queues, nq, nq, info.max_rx_queues);
	if (nq > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP) &
			info.flow_type_rss_offloads;
	}
	/* Offload what the device can; net/ does the rest in software. */
	if ((info.tx_offload_capa & WC_TX_CKSUM) == WC_TX_CKSUM)
		conf.txmode.offloads |= WC_TX_CKSUM;
	if ((info.rx_offload_capa & WC_RX_CKSUM) == WC_RX_CKSUM)
		conf.rxmode.offloads |= WC_RX_CKSUM;
	/*
	 * TCP's on top; the stack reads ifc's flags per segment. Receive checks
	 * are safe everywhere; filling TCP checksums is the operator's choice
	 * (tcp-tx-checksum-offload): DPDK 22.11's net_tap computes it over the
	 * first segment of a chain only, and replies are chains.
	 */
	if (cfg->tcp_tx_cksum && (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM))
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	/* TCP sends a reply's headers and its data as a chain where it can. */
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	else
		RTE_LOG(INFO, USER1,
			"port %u sends no chained mbufs: TCP data is copied behind its headers\n",
			port);
	rc = rte_eth_dev_configure(port, nq, nq, &conf);
	if (rc != 0) {
		RTE_LOG(ERR, USER1, "port %u: configure failed: %s\n", port, rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (rc != 0)
		return rc;
	for (uint16_t q = 0; q < nq; q++) {
		int socket = (int)rte_lcore_to_socket_id(dp->lcores[q].lcore_id);
		struct rte_eth_rxconf rxq = info.default_rxconf;
		struct rte_eth_txconf txq = info.default_txconf;

		rxq.offloads = conf.rxmode.offloads;
		txq.offloads = conf.txmode.offloads;
		rc = rte_eth_rx_queue_setup(port, q, nb_rxd, socket, &rxq, pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port, q, nb_txd, socket, &txq);
		if (rc != 0) {
			RTE_LOG(ERR, USER1, "port %u queue %u: setup failed: %s\n", port, q,
				rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(port);
	if (rc != 0) {
		RTE_LOG(ERR, USER1, "port %u: start failed: %s\n", port, rte_strerror(-rc));
		return rc;
	}
	rte_eth_macaddr_get(port, &dp->ifc.mac);
	dp->ifc.port_id = port;
	dp->ifc.tx_offloads = conf.txmode.offloads;
	dp->ifc.rx_offloads = conf.rxmode.offloads;
	return 0;
}

void wc_port_teardown(struct wc_dataplane *dp)
{
	rte_eth_dev_stop(dp->ifc.port_id);
	rte_eth_dev_close(dp->ifc.port_id);
}
