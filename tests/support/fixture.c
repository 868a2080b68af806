/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_log.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/net/tcp.h"

#include "fixture.h"

int wc_fixture_start_mem(struct wc_fixture *f, const char *name, uint64_t memory_limit)
{
	char prefix[96], mem[24];
	int rc;

	memset(f, 0, sizeof(*f));
	snprintf(prefix, sizeof(prefix), "--file-prefix=wcf_%s_%d", name, (int)getpid());
	/* EAL memory: the items, and 512 MiB for the rest (TCP buffers, mbufs). */
	snprintf(mem, sizeof(mem), "%" PRIu64, (uint64_t)(512 + memory_limit / WC_MIB * 5 / 4));
	char *argv[] = { (char *)name,		"--no-huge",   "-m", mem, "--no-pci",
			 "--no-telemetry",	"--no-shconf", "-l", "0", "--vdev=net_null0",
			 "--log-level=*:error", prefix,	       NULL };
	rc = rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv);
	if (rc < 0)
		return -rte_errno;
	wc_config_defaults(&f->cfg);
	if (memory_limit != 0)
		f->cfg.memory_limit = memory_limit;
	f->cfg.mbufs = 8191;
	f->cfg.log_level = RTE_LOG_ERR;
	/* A per-lcore cache as wirecached's own pool has (avail counts include it). */
	f->pool = rte_pktmbuf_pool_create("wcf_mbufs", f->cfg.mbufs, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (f->pool == NULL)
		return -ENOMEM;
	f->dp.cfg = &f->cfg;
	f->dp.n_workers = 1;
	rc = wc_dataplane_setup(&f->dp, f->pool);
	if (rc != 0)
		return rc;
	rc = wc_port_setup(&f->dp, f->pool);
	if (rc != 0)
		return rc;
	f->lc = &f->dp.lcores[0];
	f->pool_free = wc_pool_free_set(f->pool);
	return 0;
}

int wc_fixture_mbufs_back(struct wc_fixture *f, const char *who)
{
	unsigned int nfree;
	int rc = wc_pool_check(f->pool, &f->pool_free, &nfree);

	if (rc != 0)
		fprintf(stderr, "%s: %s: %u mbufs free, %u at start\n", who,
			rc == -1 ? "mbuf leak" : "mbuf freed twice", nfree, f->pool_free.n);
	return rc;
}

int wc_fixture_start(struct wc_fixture *f, const char *name)
{
	return wc_fixture_start_mem(f, name, 0);
}

/* Ethernet and IPv4 headers from the client for @p l4len bytes of @p proto. */
static struct rte_ipv4_hdr *client_hdrs(const struct wc_fixture *f, uint8_t *buf, uint8_t proto,
					size_t l4len)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)buf;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_ether_addr client = { { 0x02, 0, 0, 0, 0, 0x02 } };

	eth->dst_addr = f->dp.ifc.mac;
	eth->src_addr = client;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4len));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(WC_FIXTURE_CLIENT_IP);
	ip->dst_addr = f->dp.ifc.ip;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return ip;
}

size_t wc_fixture_udp_frame(const struct wc_fixture *f, uint8_t *buf, size_t cap, uint16_t sport,
			    const void *payload, size_t len)
{
	const size_t hl = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +
			  sizeof(struct rte_udp_hdr);
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;

	if (cap < hl + len || len > 65507)
		return 0;
	ip = client_hdrs(f, buf, IPPROTO_UDP, sizeof(*udp) + len);
	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16((uint16_t)f->cfg.udp_port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + len));
	udp->dgram_cksum = 0;
	memcpy(udp + 1, payload, len);
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	return hl + len;
}

size_t wc_fixture_tcp_frame(const struct wc_fixture *f, uint8_t *buf, size_t cap,
			    const struct wc_fixture_tcp_seg *s, const void *payload, size_t len)
{
	const size_t thl = sizeof(struct rte_tcp_hdr) + s->optlen;
	const size_t hl = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + thl;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	if (cap < hl + len || s->optlen > 40 || s->optlen % 4 != 0 || len > 65495 - thl)
		return 0;
	ip = client_hdrs(f, buf, IPPROTO_TCP, thl + len);
	th = (struct rte_tcp_hdr *)(ip + 1);
	memset(th, 0, sizeof(*th));
	th->src_port = rte_cpu_to_be_16(s->sport);
	th->dst_port = rte_cpu_to_be_16(s->dport);
	th->sent_seq = rte_cpu_to_be_32(s->seq);
	th->recv_ack = rte_cpu_to_be_32(s->ack);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = s->flags;
	th->rx_win = rte_cpu_to_be_16(s->win);
	if (s->optlen > 0)
		memcpy(th + 1, s->opts, s->optlen);
	if (len > 0)
		memcpy((uint8_t *)th + thl, payload, len);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return hl + len;
}

struct rte_mbuf *wc_fixture_mbuf(struct wc_fixture *f, const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(f->pool);
	char *p;

	if (m == NULL)
		return NULL;
	p = rte_pktmbuf_append(m, (uint16_t)len);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(p, frame, len);
	return m;
}

/* One client segment of the handshake in, TCP's work done; what it sent stays queued. */
static int handshake_step(struct wc_fixture *f, const struct wc_fixture_tcp_seg *s)
{
	uint8_t buf[128];
	size_t len = wc_fixture_tcp_frame(f, buf, sizeof(buf), s, NULL, 0);
	struct rte_mbuf *m = len > 0 ? wc_fixture_mbuf(f, buf, len) : NULL;

	if (m == NULL)
		return -1;
	wc_net_input(&f->lc->net, &m, 1);
	wc_tcp_poll(&f->lc->net);
	return 0;
}

int wc_fixture_tcp_connect(struct wc_fixture *f, uint16_t sport, uint32_t iss, uint32_t *seq,
			   uint32_t *rcv)
{
	/* MSS 1460, window scale 7 */
	static const uint8_t syn_opts[8] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	struct wc_net *n = &f->lc->net;
	struct wc_fixture_tcp_seg s = { sport,	  (uint16_t)f->cfg.tcp_port, iss,
					0,	  RTE_TCP_SYN_FLAG,	     65535,
					syn_opts, sizeof(syn_opts) };
	uint32_t conns = wc_tcp_conns(n);
	bool synack = false;

	if (handshake_step(f, &s) != 0)
		return -1;
	/* The SYN-ACK: its sequence number, the cookie, is the server's ISS. */
	for (uint16_t i = 0; i < n->ntx; i++) {
		struct rte_mbuf *m = n->tx[i];
		uint8_t hdr[20];
		const uint8_t *t = rte_pktmbuf_read(m, m->l2_len + m->l3_len, 20, hdr);

		if (t != NULL && (t[13] & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) ==
					 (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) {
			*rcv = ((uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 |
				t[7]) +
			       1;
			synack = true;
		}
	}
	wc_net_tx_flush(n);
	if (!synack)
		return -1;
	*seq = iss + 1;
	s.seq = *seq;
	s.ack = *rcv;
	s.flags = RTE_TCP_ACK_FLAG;
	s.opts = NULL;
	s.optlen = 0;
	if (handshake_step(f, &s) != 0)
		return -1;
	wc_net_tx_flush(n);
	return wc_tcp_conns(n) == conns + 1 ? 0 : -1;
}

void wc_fixture_input(struct wc_fixture *f, struct rte_mbuf **pkts, uint16_t n)
{
	wc_net_input(&f->lc->net, pkts, n);
	wc_net_tx_flush(&f->lc->net);
}
