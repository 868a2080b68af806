/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-lcore network stack: Ethernet (one 802.1Q tag), ARP, IPv4, ICMP
 * echo and UDP. Everything here runs on the lcore that owns the wc_net, in
 * the receive burst, without system calls or allocation other than reply
 * mbufs.
 *
 * Frames may be segmented (jumbo frames on a port with scatter RX). Headers
 * are read with frame_get(), which returns a pointer into the mbuf when the
 * bytes lie in one segment (always, in practice) and otherwise copies them
 * out; a header modified in place is written back with frame_put(), which
 * only copies when frame_get() did. Checksums walk the segments with
 * cksum_chain(). So no byte outside the frame is ever read, whatever
 * its length and however it is cut into segments.
 *
 * Ethernet and ARP headers are handled as bytes at fixed offsets rather than
 * through DPDK's structs: those are declared 2-byte aligned, and a header in
 * a later segment may start at any address.
 *
 * Drop accounting: each frame that is neither answered nor delivered
 * increments exactly one drop_* counter. The checks run in this order, so a
 * frame with several faults is counted under the first one:
 *
 *   Ethernet  drop_runt (< 14, or < 18 with a tag), drop_not_for_us (MAC),
 *             drop_ethertype (not ARP/IPv4, or a second tag)
 *   ARP       drop_runt (< 28 bytes), drop_arp_malformed, drop_not_for_us
 *   IPv4      drop_runt (< 20 bytes), drop_ip_malformed (version, IHL < 5),
 *             drop_ip_options (IHL > 5), drop_ip_malformed (total length),
 *             drop_ip_checksum, drop_ip_ttl, drop_ip_fragment,
 *             drop_not_for_us (destination), drop_ip_malformed (a source no
 *             host can have: 0/8, 127/8, 224/3, our own address, our
 *             subnet's network or broadcast address), drop_ip_proto
 *   ICMP      drop_icmp_malformed (short or bad checksum), drop_icmp_type
 *   UDP       drop_udp_malformed, drop_udp_checksum, drop_udp_port,
 *             drop_udp_source
 *   TCP       (tcp.c) drop_tcp_*, or drop_ip_proto without TCP state
 *
 * The one frame consumed without either is an ARP reply from a neighbour: it
 * did its work by refreshing the cache (arp_learned).
 */
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include "dataplane/net/net.h"
#include "dataplane/net/tcp.h"

#define ETH_LEN	 RTE_ETHER_HDR_LEN /* 14 */
#define VLAN_LEN 4
#define IP_LEN	 20
#define UDP_LEN	 8
#define ICMP_LEN 8
#define ARP_LEN	 28
/* Shortest Ethernet frame without its FCS; ARP frames we build are padded to it. */
#define ETH_MIN_FRAME (RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN)

/* Offsets in an Ethernet header and in an Ethernet/IPv4 ARP packet. */
#define ETH_DST	  0
#define ETH_SRC	  6
#define ETH_TYPE  12
#define ARP_HTYPE 0
#define ARP_PTYPE 2
#define ARP_HLEN  4
#define ARP_PLEN  5
#define ARP_OP	  6
#define ARP_SHA	  8
#define ARP_SPA	  14
#define ARP_THA	  18
#define ARP_TPA	  24

#define TTL_OUT 64
/* tx_burst calls that may send nothing before a flush gives up on the rest. */
#define TX_STALLS 4

/* One received frame, as the layers above Ethernet see it. */
struct frame {
	struct rte_mbuf *m;
	uint16_t l2_len;	   /* 14, or 18 with a tag in the frame */
	uint16_t vlan_tci;	   /* host order; valid if tagged */
	bool tagged;		   /* a tag in the frame or stripped by the NIC */
	bool stripped;		   /* the NIC removed the tag (RX VLAN strip) */
	struct rte_ether_addr src; /* the frame's source MAC */
};

/* Mixes an address into the index of a power-of-two table (Fibonacci hashing). */
#define SLOT(ip, slots) \
	((uint32_t)(rte_be_to_cpu_32(ip) * 2654435761u) >> (32 - __builtin_ctz(slots)))

_Static_assert((WC_ARP_SLOTS & (WC_ARP_SLOTS - 1)) == 0, "WC_ARP_SLOTS: a power of two");
_Static_assert((WC_BUDGET_SLOTS & (WC_BUDGET_SLOTS - 1)) == 0, "WC_BUDGET_SLOTS: a power of two");

static inline void drop(struct rte_mbuf *m, uint64_t *counter)
{
	(*counter)++;
	rte_pktmbuf_free(m);
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * One's complement sums for contiguous bytes, eight at a time with the carry
 * added back (end-around), which gives the same 16-bit sum as summing 16-bit
 * words: the sum is kept in the host's byte order, as rte_raw_cksum() keeps
 * it, and folded at the end. A trailing odd byte counts as the first byte of
 * a word padded with zero.
 */
static inline uint64_t csum_add(uint64_t sum, uint64_t v)
{
	sum += v;
	return sum + (sum < v);
}

#ifdef __x86_64__
/* sum += the 8-byte words at p[0..8k), with carries, for k of 1, 2 or 4. */
#define CSUM_ADC(sum, p, k)                                                                  \
	__asm__("addq 0(%[q]), %[s]\n\t"                                                     \
		".if " #k " > 1\n\tadcq 8(%[q]), %[s]\n\t.endif\n\t"                         \
		".if " #k " > 2\n\tadcq 16(%[q]), %[s]\n\tadcq 24(%[q]), %[s]\n\t.endif\n\t" \
		"adcq $0, %[s]"                                                              \
		: [s] "+r"(sum)                                                              \
		: [q] "r"(p), "m"(*(const uint8_t(*)[8 * (k)])(p))                           \
		: "cc")
#endif

/* The last @p len bytes of a word loaded from memory, moved to its first (len 1..7). */
static inline uint64_t csum_tail(uint64_t w, uint32_t len)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return w >> (64 - 8 * len);
#else
	return w << (64 - 8 * len);
#endif
}

static inline uint64_t csum_bytes(const void *buf, uint32_t len, uint64_t sum)
{
	const uint8_t *p = buf;
	uint64_t a;
	uint32_t w;
	uint16_t h;

	if (unlikely(len < 8)) {
		if (len >= 4) {
			memcpy(&w, p, 4);
			sum = csum_add(sum, w);
			p += 4;
			len -= 4;
		}
		if (len >= 2) {
			memcpy(&h, p, 2);
			sum = csum_add(sum, h);
			p += 2;
			len -= 2;
		}
		if (len != 0)
			sum = csum_add(sum, rte_cpu_to_le_16(*p));
		return sum;
	}
#ifdef __x86_64__
	/*
	 * One add-with-carry per word: a third of the C below's instructions.
	 * The loop runs to an end pointer: a count of blocks would cost more
	 * to set up than a short buffer's one or two blocks.
	 */
	for (const uint8_t *end = p + (len & ~31u); p != end; p += 32)
		CSUM_ADC(sum, p, 4);
	if (len & 16) {
		CSUM_ADC(sum, p, 2);
		p += 16;
	}
	if (len & 8) {
		CSUM_ADC(sum, p, 1);
		p += 8;
	}
	len &= 7;
#else
	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&a, p, 8);
		sum = csum_add(sum, a);
	}
#endif
	/*
	 * The last 1..7 bytes, from the 8 that end the buffer (it has 8 at
	 * least): the word a copy padded with zeros would give.
	 */
	if (len != 0) {
		memcpy(&a, p + len - 8, 8);
		sum = csum_add(sum, csum_tail(a, len));
	}
	return sum;
}

/*
 * Fold a 64-bit one's complement sum to 16 bits (not complemented): the two
 * halves added with the carry brought back, then the 32-bit sum added to
 * itself rotated by 16, whose top half is then the folded sum (a carry out
 * of the low half lands in it, as end-around carry wants).
 */
static inline uint16_t csum_fold(uint64_t sum)
{
	uint32_t lo = (uint32_t)sum, hi = (uint32_t)(sum >> 32);

	lo += hi;
	lo += lo < hi;
	lo += (lo >> 16) | (lo << 16);
	return (uint16_t)(lo >> 16);
}

/* The IPv4 pseudo-header's share of a UDP checksum (RFC 768). */
static inline uint64_t csum_udp_phdr(uint32_t src, uint32_t dst, uint16_t udp_len_be)
{
	return (uint64_t)src + dst + rte_cpu_to_be_16(IPPROTO_UDP) + udp_len_be;
}

/*
 * Bytes [off, off + len) of the frame, contiguous: in the mbuf when they lie
 * in one segment, else copied into buf. NULL if the frame is shorter.
 */
static inline void *frame_get(const struct rte_mbuf *m, uint32_t off, uint32_t len, void *buf)
{
	return (void *)(uintptr_t)rte_pktmbuf_read(m, off, len, buf);
}

/*
 * The one's complement sum (not complemented) of len bytes at off, across
 * segments. rte_raw_cksum_mbuf() in DPDK 22.11 truncates a segment's partial
 * sum to 16 bits before swapping it when the segment starts at an odd
 * offset, which gives wrong sums for chains with odd-length segments; this
 * reduces first. Returns false if the frame is shorter than off + len.
 */
static bool cksum_chain(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint16_t *out)
{
	uint32_t sum = 0, done = 0;

	if (likely(off + len <= m->data_len)) {
		*out = csum_fold(
			csum_bytes(rte_pktmbuf_mtod_offset(m, const uint8_t *, off), len, 0));
		return true;
	}
	if (off + len > m->pkt_len)
		return false;
	for (const struct rte_mbuf *seg = m; seg != NULL && done < len; seg = seg->next) {
		uint32_t k;
		uint16_t part;

		if (off >= seg->data_len) {
			off -= seg->data_len;
			continue;
		}
		k = RTE_MIN(len - done, (uint32_t)seg->data_len - off);
		part = csum_fold(
			csum_bytes(rte_pktmbuf_mtod_offset(seg, const uint8_t *, off), k, 0));
		/* A piece starting at an odd byte of the message sums swapped words. */
		sum += done & 1 ? rte_bswap16(part) : part;
		done += k;
		off = 0;
	}
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	*out = (uint16_t)sum;
	return done == len;
}

bool wc_net_cksum(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint16_t *out)
{
	return cksum_chain(m, off, len, out);
}

/* Copy len bytes into the frame at off, across segments. */
static void chain_write(struct rte_mbuf *m, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *s = src;

	for (struct rte_mbuf *seg = m; seg != NULL && len > 0; seg = seg->next) {
		uint32_t k;

		if (off >= seg->data_len) {
			off -= seg->data_len;
			continue;
		}
		k = RTE_MIN(len, (uint32_t)seg->data_len - off);
		memcpy(rte_pktmbuf_mtod_offset(seg, uint8_t *, off), s, k);
		s += k;
		len -= k;
		off = 0;
	}
}

/* Write back a header that frame_get() had to copy out of the frame. */
static inline void frame_put(struct rte_mbuf *m, uint32_t off, const void *p, uint32_t len,
			     const void *buf)
{
	if (unlikely(p == buf))
		chain_write(m, off, p, len);
}

/* Cut the frame to len bytes (len <= pkt_len), freeing segments past the end. */
static void frame_trim(struct rte_mbuf *m, uint32_t len)
{
	struct rte_mbuf *seg = m;
	uint32_t left = len;
	uint16_t nseg = 1;

	if (likely(m->pkt_len == len))
		return;
	while (left > seg->data_len && seg->next != NULL) {
		left -= seg->data_len;
		seg = seg->next;
		nseg++;
	}
	seg->data_len = (uint16_t)left;
	if (seg->next != NULL) {
		rte_pktmbuf_free(seg->next);
		seg->next = NULL;
	}
	m->nb_segs = nseg;
	m->pkt_len = len;
}

/* Set the destination and source MACs of the frame in place. */
static void frame_set_macs(struct rte_mbuf *m, const struct rte_ether_addr *dst,
			   const struct rte_ether_addr *src)
{
	uint8_t buf[2 * RTE_ETHER_ADDR_LEN];
	uint8_t *p = frame_get(m, 0, sizeof(buf), buf);

	/* The caller has read the Ethernet header already: never taken. */
	if (unlikely(p == NULL))
		return;
	memcpy(p + ETH_DST, dst, RTE_ETHER_ADDR_LEN);
	memcpy(p + ETH_SRC, src, RTE_ETHER_ADDR_LEN);
	frame_put(m, 0, p, sizeof(buf), buf);
}

static inline bool on_subnet(const struct wc_iface *ifc, uint32_t ip)
{
	return ((ip ^ ifc->ip) & ifc->netmask) == 0;
}

/*
 * A source address no host can have, or ours: answering it would send a
 * reply to a broadcast or multicast address, or to ourselves.
 */
static inline bool martian(const struct wc_iface *ifc, uint32_t ip)
{
	uint32_t first = rte_be_to_cpu_32(ip) >> 24;
	uint32_t host = ip & ~ifc->netmask;

	if (first == 0 || first == 127 || first >= 224 || ip == ifc->ip)
		return true;
	/* /31 and /32 have no network or broadcast address (RFC 3021). */
	if (rte_be_to_cpu_32(ifc->netmask) >= 0xfffffffeu || !on_subnet(ifc, ip))
		return false;
	return host == 0 || host == ~ifc->netmask;
}

static bool allowed(const struct wc_iface *ifc, uint32_t ip)
{
	for (unsigned int i = 0; i < ifc->n_allow && i < WC_ALLOW_MAX; i++)
		if (((ip ^ ifc->allow[i].addr) & ifc->allow[i].mask) == 0)
			return true;
	return false;
}

/* ---- transmit ---------------------------------------------------------- */

uint16_t wc_net_tx_flush(struct wc_net *n)
{
	uint16_t count = n->ntx, sent = 0, i;
	unsigned int stalls = 0;
	uint64_t bytes = 0;

	if (count == 0)
		return 0;
	/*
	 * Sum before sending: once the port has an mbuf it may free it (a
	 * ring port's peer may even be reading it on another thread).
	 */
	for (i = 0; i + 4 <= count; i += 4) /* unrolled: up to 64 of them */
		bytes += (uint64_t)n->tx[i]->pkt_len + n->tx[i + 1]->pkt_len +
			 n->tx[i + 2]->pkt_len + n->tx[i + 3]->pkt_len;
	for (; i < count; i++)
		bytes += n->tx[i]->pkt_len;
	while (sent < count) {
		uint16_t k = rte_eth_tx_burst(n->ifc->port_id, n->queue, n->tx + sent,
					      (uint16_t)(count - sent));

		sent = (uint16_t)(sent + k);
		if (k == 0 && ++stalls == TX_STALLS)
			break;
	}
	if (sent < count) {
		for (i = sent; i < count; i++)
			bytes -= n->tx[i]->pkt_len;
		rte_pktmbuf_free_bulk(n->tx + sent, (unsigned int)(count - sent));
		n->st->tx_dropped += (uint64_t)(count - sent);
	}
	n->st->tx_packets += sent;
	n->st->tx_bytes += bytes;
	n->ntx = 0;
	return sent;
}

/* wc_net_tx(), inlined where a reply is queued per request. */
static __rte_always_inline void tx_queue(struct wc_net *n, struct rte_mbuf *m)
{
	n->tx[n->ntx++] = m;
	if (unlikely(n->ntx >= WC_TX_MAX))
		wc_net_tx_flush(n);
}

void wc_net_tx(struct wc_net *n, struct rte_mbuf *m)
{
	tx_queue(n, m);
}

/*
 * Put an 802.1Q tag back into a frame whose tag the NIC stripped. Unlike
 * rte_vlan_insert() this copes with a first segment shorter than the MACs.
 */
static int frame_insert_tag(struct rte_mbuf *m, uint16_t tci)
{
	uint8_t buf[2 * RTE_ETHER_ADDR_LEN], macs[2 * RTE_ETHER_ADDR_LEN], tag[VLAN_LEN];
	const uint8_t *p;

	if (rte_pktmbuf_prepend(m, VLAN_LEN) == NULL)
		return -ENOSPC;
	p = frame_get(m, VLAN_LEN, sizeof(macs), buf);
	if (p == NULL)
		return -EINVAL;
	memcpy(macs, p, sizeof(macs));
	chain_write(m, 0, macs, sizeof(macs));
	put_be16(tag, RTE_ETHER_TYPE_VLAN);
	put_be16(tag + 2, tci);
	chain_write(m, sizeof(macs), tag, sizeof(tag));
	m->l2_len += VLAN_LEN;
	return 0;
}

/*
 * Queue a reply built in place in a received frame: TX offload flags and
 * lengths set, and a tag the NIC stripped on receive put back (by the NIC if
 * it can, else in the frame).
 */
static void tx_reply(struct wc_net *n, const struct frame *f, uint64_t ol_flags, uint16_t l3_len)
{
	struct rte_mbuf *m = f->m;

	m->ol_flags = 0;
	m->l2_len = f->l2_len;
	m->l3_len = l3_len;
	if (unlikely(f->stripped)) {
		m->vlan_tci = f->vlan_tci;
		if (n->ifc->tx_offloads & RTE_ETH_TX_OFFLOAD_VLAN_INSERT) {
			ol_flags |= RTE_MBUF_F_TX_VLAN;
		} else if (frame_insert_tag(m, f->vlan_tci) != 0) {
			drop(m, &n->st->tx_dropped);
			return;
		}
	}
	m->ol_flags = ol_flags;
	wc_net_tx(n, m);
}

/* ---- ARP --------------------------------------------------------------- */

/* A new or changed neighbour (arp_learn()'s slow half). */
static __rte_noinline void arp_learn_slow(struct wc_net *n, struct wc_arp_entry *e, uint32_t ip,
					  const struct rte_ether_addr *mac, bool by_arp)
{
	/* Only neighbours we could answer, and only unicast addresses. */
	if (!on_subnet(n->ifc, ip) || martian(n->ifc, ip) || !rte_is_valid_assigned_ether_addr(mac))
		return;
	/* A colliding address simply takes the slot over: the cache is a hint. */
	if (e->ip != ip || !rte_is_same_ether_addr(&e->mac, mac)) {
		e->ip = ip;
		e->mac = *mac;
		n->st->arp_learned++;
	} else if (by_arp) {
		n->st->arp_learned++;
	}
}

static inline void arp_learn(struct wc_net *n, uint32_t ip, const struct rte_ether_addr *mac,
			     bool by_arp)
{
	struct wc_arp_entry *e = &n->arp[SLOT(ip, WC_ARP_SLOTS)];

	/*
	 * The common case, a neighbour we already know at the same address:
	 * only compares. The entry passed arp_learn_slow()'s checks when it
	 * was filled.
	 */
	if (likely(e->ip == ip && ip != 0 && rte_is_same_ether_addr(&e->mac, mac))) {
		if (by_arp)
			n->st->arp_learned++;
		return;
	}
	arp_learn_slow(n, e, ip, mac, by_arp);
}

bool wc_arp_lookup(const struct wc_net *n, uint32_t ip, struct rte_ether_addr *mac)
{
	const struct wc_arp_entry *e = &n->arp[SLOT(ip, WC_ARP_SLOTS)];

	if (ip == 0 || e->ip != ip)
		return false;
	*mac = e->mac;
	return true;
}

/* Pad a frame we built or shortened to the Ethernet minimum, with zeros. */
static void pad_min(struct rte_mbuf *m)
{
	uint32_t len = m->pkt_len;
	char *p;

	if (len >= ETH_MIN_FRAME)
		return;
	p = rte_pktmbuf_append(m, (uint16_t)(ETH_MIN_FRAME - len));
	/* No tailroom: send it short; most NICs pad on their own. */
	if (p != NULL)
		memset(p, 0, ETH_MIN_FRAME - len);
}

static void arp_input(struct wc_net *n, const struct frame *f)
{
	const struct wc_iface *ifc = n->ifc;
	struct rte_mbuf *m = f->m;
	struct rte_ether_addr sha;
	uint8_t buf[ARP_LEN];
	uint32_t sip, tip;
	uint16_t op;
	uint8_t *a;

	a = frame_get(m, f->l2_len, ARP_LEN, buf);
	if (unlikely(a == NULL)) {
		drop(m, &n->st->drop_runt);
		return;
	}
	op = get_be16(a + ARP_OP);
	memcpy(&sha, a + ARP_SHA, sizeof(sha));
	if (get_be16(a + ARP_HTYPE) != RTE_ARP_HRD_ETHER ||
	    get_be16(a + ARP_PTYPE) != RTE_ETHER_TYPE_IPV4 || a[ARP_HLEN] != RTE_ETHER_ADDR_LEN ||
	    a[ARP_PLEN] != 4 || (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) ||
	    !rte_is_valid_assigned_ether_addr(&sha)) {
		drop(m, &n->st->drop_arp_malformed);
		return;
	}
	memcpy(&sip, a + ARP_SPA, 4);
	memcpy(&tip, a + ARP_TPA, 4);
	/* Our own announcement, looped back by a switch or a bridge. */
	if (rte_is_same_ether_addr(&sha, &ifc->mac)) {
		drop(m, &n->st->drop_not_for_us);
		return;
	}
	/* Requests teach us too: the asker will talk to us next (RFC 826). */
	arp_learn(n, sip, &sha, true);
	if (op != RTE_ARP_OP_REQUEST || tip != ifc->ip) {
		/* A reply has done its work once learned; count only what taught nothing. */
		if (op == RTE_ARP_OP_REPLY && on_subnet(ifc, sip) && !martian(ifc, sip)) {
			rte_pktmbuf_free(m);
			return;
		}
		drop(m, &n->st->drop_not_for_us);
		return;
	}

	/* The request becomes the reply (RFC 826), answered to its sender. */
	put_be16(a + ARP_OP, RTE_ARP_OP_REPLY);
	memcpy(a + ARP_THA, &sha, RTE_ETHER_ADDR_LEN);
	memcpy(a + ARP_TPA, &sip, 4);
	memcpy(a + ARP_SHA, &ifc->mac, RTE_ETHER_ADDR_LEN);
	memcpy(a + ARP_SPA, &ifc->ip, 4);
	frame_put(m, f->l2_len, a, ARP_LEN, buf);
	frame_set_macs(m, &sha, &ifc->mac);
	frame_trim(m, (uint32_t)f->l2_len + ARP_LEN);
	pad_min(m);
	n->st->arp_requests_answered++;
	tx_reply(n, f, 0, 0);
}

int wc_net_garp(struct wc_net *n)
{
	const struct wc_iface *ifc = n->ifc;
	struct rte_mbuf *m = rte_pktmbuf_alloc(n->pool);
	uint8_t *p, *a;

	if (m == NULL)
		return -ENOMEM;
	p = (uint8_t *)rte_pktmbuf_append(m, ETH_MIN_FRAME);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return -ENOMEM;
	}
	memset(p, 0, ETH_MIN_FRAME);
	memset(p + ETH_DST, 0xff, RTE_ETHER_ADDR_LEN);
	memcpy(p + ETH_SRC, &ifc->mac, RTE_ETHER_ADDR_LEN);
	put_be16(p + ETH_TYPE, RTE_ETHER_TYPE_ARP);
	/* Request form, sender = target = our address (RFC 5227 announcement). */
	a = p + ETH_LEN;
	put_be16(a + ARP_HTYPE, RTE_ARP_HRD_ETHER);
	put_be16(a + ARP_PTYPE, RTE_ETHER_TYPE_IPV4);
	a[ARP_HLEN] = RTE_ETHER_ADDR_LEN;
	a[ARP_PLEN] = 4;
	put_be16(a + ARP_OP, RTE_ARP_OP_REQUEST);
	memcpy(a + ARP_SHA, &ifc->mac, RTE_ETHER_ADDR_LEN);
	memcpy(a + ARP_SPA, &ifc->ip, 4);
	memcpy(a + ARP_TPA, &ifc->ip, 4);
	m->ol_flags = 0;
	m->l2_len = ETH_LEN;
	wc_net_tx(n, m);
	return 0;
}

/* ---- ICMP -------------------------------------------------------------- */

static void icmp_input(struct wc_net *n, const struct frame *f, struct rte_ipv4_hdr *ip,
		       void *ipbuf)
{
	const struct wc_iface *ifc = n->ifc;
	struct rte_mbuf *m = f->m;
	uint32_t off = (uint32_t)f->l2_len + IP_LEN;
	uint32_t len = rte_be_to_cpu_16(ip->total_length) - IP_LEN;
	uint64_t ol = 0;
	uint8_t buf[4];
	uint8_t *ic;
	uint16_t sum;
	uint32_t addr;

	if (len < ICMP_LEN || !cksum_chain(m, off, len, &sum) || sum != 0xffff) {
		drop(m, &n->st->drop_icmp_malformed);
		return;
	}
	ic = frame_get(m, off, sizeof(buf), buf);
	if (ic == NULL || ic[0] != RTE_IP_ICMP_ECHO_REQUEST || ic[1] != 0) {
		drop(m, &n->st->drop_icmp_type);
		return;
	}

	/* Echo reply in place: same identifier, sequence and data (RFC 792). */
	ic[0] = RTE_IP_ICMP_ECHO_REPLY;
	ic[2] = 0;
	ic[3] = 0;
	frame_put(m, off, ic, sizeof(buf), buf);
	cksum_chain(m, off, len, &sum);
	sum = (uint16_t)~sum;
	memcpy(ic + 2, &sum, 2);
	frame_put(m, off, ic, sizeof(buf), buf);

	addr = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = addr;
	ip->time_to_live = TTL_OUT;
	ip->hdr_checksum = 0;
	if (ifc->tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
		ol = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	else
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	frame_put(m, f->l2_len, ip, IP_LEN, ipbuf);
	frame_set_macs(m, &f->src, &ifc->mac);
	n->st->icmp_echo_replies++;
	tx_reply(n, f, ol, IP_LEN);
}

/* ---- UDP --------------------------------------------------------------- */

/* Deliver a payload that spans segments from a contiguous copy. */
static __rte_noinline void udp_deliver_copy(struct wc_net *n, unsigned int app,
					    const struct wc_udp_peer *peer,
					    const struct rte_mbuf *m, uint32_t off, uint16_t len)
{
	uint8_t copy[UINT16_MAX];
	const uint8_t *p = rte_pktmbuf_read(m, off, len, copy);

	n->ifc->apps[app].input(n->app_arg[app], n, peer, p, len);
}

/*
 * Deliver a payload that lies in the first segment, then free the frame
 * unless the application took it for its reply (wc_udp_alloc_reply()).
 */
static inline void udp_deliver(struct wc_net *n, unsigned int app, const struct wc_udp_peer *peer,
			       struct rte_mbuf *m, uint32_t off, uint16_t plen)
{
	bool reusable =
		RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 && m->pkt_len == m->data_len;

	n->rx_reuse = reusable ? m : NULL;
	n->ifc->apps[app].input(n->app_arg[app], n, peer,
				rte_pktmbuf_mtod_offset(m, const uint8_t *, off), plen);
	if (!reusable || n->rx_reuse != NULL)
		rte_pktmbuf_free(m);
	n->rx_reuse = NULL;
}

static void udp_input(struct wc_net *n, const struct frame *f, const struct rte_ipv4_hdr *ip)
{
	static const uint8_t empty[1];
	const struct wc_iface *ifc = n->ifc;
	struct rte_mbuf *m = f->m;
	uint32_t off = (uint32_t)f->l2_len + IP_LEN;
	uint32_t len = rte_be_to_cpu_16(ip->total_length) - IP_LEN;
	struct wc_udp_peer peer;
	const struct rte_udp_hdr *uh;
	struct rte_udp_hdr buf;
	unsigned int app;
	uint16_t plen;

	uh = len >= UDP_LEN ? frame_get(m, off, UDP_LEN, &buf) : NULL;
	/* Strict: a UDP length shorter than the IP payload is as suspect as a longer one. */
	if (uh == NULL || rte_be_to_cpu_16(uh->dgram_len) != len) {
		drop(m, &n->st->drop_udp_malformed);
		return;
	}
	if (uh->dgram_cksum != 0) {
		uint64_t rx = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
		bool bad;

		/* NONE: the NIC or host verified the data; the field may be partial. */
		if (rx == RTE_MBUF_F_RX_L4_CKSUM_GOOD || rx == RTE_MBUF_F_RX_L4_CKSUM_NONE) {
			bad = false;
		} else if (rx == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
			bad = true;
		} else {
			uint16_t raw;
			uint32_t sum;

			cksum_chain(m, off, len, &raw);
			sum = (uint32_t)raw + rte_ipv4_phdr_cksum(ip, 0);
			sum = (sum & 0xffff) + (sum >> 16);
			bad = sum != 0xffff;
		}
		if (bad) {
			drop(m, &n->st->drop_udp_checksum);
			return;
		}
	}
	for (app = 0; app < ifc->n_apps && app < WC_UDP_APPS; app++)
		if (ifc->apps[app].port == uh->dst_port)
			break;
	if (app == ifc->n_apps || app == WC_UDP_APPS) {
		drop(m, &n->st->drop_udp_port);
		return;
	}

	peer.mac = f->src;
	peer.ip = ip->src_addr;
	peer.port = uh->src_port;
	peer.vlan_tci = f->tagged ? f->vlan_tci : 0;
	peer.local_port = uh->dst_port;
	peer.open = false;
	if (!on_subnet(ifc, peer.ip) && !allowed(ifc, peer.ip)) {
		if (!ifc->udp_open) {
			drop(m, &n->st->drop_udp_source);
			return;
		}
		/* Served, but its replies are charged to wc_udp_budget_take(). */
		peer.open = true;
	}

	n->st->udp_datagrams++;
	off += UDP_LEN;
	plen = (uint16_t)(len - UDP_LEN);
	if (plen == 0) {
		ifc->apps[app].input(n->app_arg[app], n, &peer, empty, 0);
		rte_pktmbuf_free(m);
	} else if (likely(off + plen <= m->data_len)) {
		udp_deliver(n, app, &peer, m, off, plen);
	} else {
		udp_deliver_copy(n, app, &peer, m, off, plen);
		rte_pktmbuf_free(m);
	}
}

void wc_mbuf_list_free(struct rte_mbuf *m)
{
	while (m != NULL) {
		struct rte_mbuf *next = m->next;

		m->next = NULL;
		m->nb_segs = 1;
		rte_pktmbuf_free(m);
		m = next;
	}
}

struct rte_mbuf *wc_udp_alloc(struct wc_net *n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(n->pool);

	if (m != NULL && unlikely(rte_pktmbuf_headroom(m) < WC_UDP_HDR_ROOM)) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	return m;
}

/*
 * The reply goes in the received frame's own buffer, past the request, so
 * the request stays readable while the reply is composed; the headers
 * wc_udp_send() prepends then land on the request, whose bytes are dead by
 * then. Saves an allocation and a free per request (an ICMP echo or ARP
 * reply is built in its frame for the same reason).
 *
 *   buf: | headroom | request frame | pad | reply payload ...        |
 *                                         ^ data_off, 8-byte aligned
 */
struct rte_mbuf *wc_udp_alloc_reply(struct wc_net *n, uint16_t room)
{
	struct rte_mbuf *m = n->rx_reuse;

	if (m != NULL) {
		uint32_t start = RTE_ALIGN_CEIL((uint32_t)m->data_off + m->data_len, 8);

		if (start < WC_UDP_HDR_ROOM)
			start = WC_UDP_HDR_ROOM;
		if (likely(start + room <= m->buf_len)) {
			n->rx_reuse = NULL;
			m->data_off = (uint16_t)start;
			m->data_len = 0;
			m->pkt_len = 0;
			m->ol_flags = 0;
			m->packet_type = 0;
			m->vlan_tci = 0;
			m->vlan_tci_outer = 0;
			m->tx_offload = 0;
			return m;
		}
	}
	return wc_udp_alloc(n);
}

/*
 * Header words at any alignment, in the frame's byte order: a word loaded
 * with ld32() compares with one bytes4() builds from the bytes it must
 * hold, on a host of either byte order (memcpy of a constant size is one
 * load or store).
 */
static inline uint64_t ld64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t ld32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint16_t ld16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void st64(void *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void st32(void *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* rte_cpu_to_be_16() and back, as plain C the compiler can combine. */
static inline uint16_t bswap16_to_be(uint16_t v)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return __builtin_bswap16(v);
#else
	return v;
#endif
}

static inline uint32_t bytes4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	const uint8_t x[4] = { a, b, c, d };

	return ld32(x);
}

/* The word whose bytes in memory are those of @p lo, then those of @p hi. */
static inline uint32_t pair16(uint16_t lo, uint16_t hi)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return (uint32_t)hi << 16 | lo;
#else
	return (uint32_t)lo << 16 | hi;
#endif
}

static inline uint64_t pair32(uint32_t lo, uint32_t hi)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return (uint64_t)hi << 32 | lo;
#else
	return (uint64_t)lo << 32 | hi;
#endif
}

/* The next IPv4 id, in network order: a sequence per lcore, each started
 * apart from the others' (see the dataplane's setup). */
static inline uint16_t ip_id_next(struct wc_net *n)
{
	return bswap16_to_be(n->ip_id++);
}

/* The constant words of a UDP reply's IPv4 header (version and IHL, TTL and
 * protocol), summed for its checksum. */
#define IP_UDP_CONST_SUM                                     \
	((uint64_t)rte_cpu_to_be_16(RTE_IPV4_VHL_DEF << 8) + \
	 rte_cpu_to_be_16(TTL_OUT << 8 | IPPROTO_UDP))

/*
 * Store a UDP reply's IPv4 header (no options, TOS 0, no fragment bits,
 * TTL_OUT) and UDP header at @p ip, in four word stores: lengths, id,
 * checksums, addresses in network order, @p ports the source port's bytes
 * then the destination's.
 */
static __rte_always_inline void ip_udp_store(uint8_t *ip, uint16_t tot_be, uint16_t id_be,
					     uint16_t ip_ck, uint32_t src, uint32_t dst,
					     uint32_t ports, uint16_t ulen_be, uint16_t udp_ck)
{
	/* 45 00 length id 00 00 (DF clear: a router may fragment a large reply) */
	st64(ip, pair32(pair16(rte_cpu_to_be_16(RTE_IPV4_VHL_DEF << 8), tot_be), pair16(id_be, 0)));
	/* TTL, protocol, checksum, source address */
	st64(ip + 8, pair32(pair16(rte_cpu_to_be_16(TTL_OUT << 8 | IPPROTO_UDP), ip_ck), src));
	/* destination address, ports */
	st64(ip + 16, pair32(dst, ports));
	st32(ip + 24, pair16(ulen_be, udp_ck));
}

/*
 * The IPv4 and UDP headers of a UDP reply of @p plen payload bytes at @p ip,
 * from our address and @p sport to @p dst and @p dport (ports in network
 * order): no options, TOS 0, no fragment bits, TTL_OUT. The IPv4 checksum
 * is summed from the fields, or left to the port; the UDP checksum is left
 * to the port (its pseudo-header share filled in), or to the caller, which
 * adds the header and payload to *phdr and stores it (the checksum field
 * is 0 meanwhile).
 * @return the mbuf's TX offload flags.
 */
static __rte_always_inline uint64_t udp_hdrs(struct wc_net *n, struct rte_ipv4_hdr *ip,
					     uint32_t dst, uint16_t sport, uint16_t dport,
					     uint32_t plen, uint64_t *phdr)
{
	const struct wc_iface *ifc = n->ifc;
	uint16_t tot_be = bswap16_to_be((uint16_t)(IP_LEN + UDP_LEN + plen));
	uint16_t ulen_be = bswap16_to_be((uint16_t)(UDP_LEN + plen));
	uint16_t id_be = ip_id_next(n), ip_ck = 0, udp_ck = 0;
	uint64_t ol = 0;

	/* Both checksums from the fields: the pseudo-header's share serves both. */
	*phdr = csum_udp_phdr(ifc->ip, dst, ulen_be);
	if (ifc->tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
		ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	else
		ip_ck = (uint16_t)~csum_fold(IP_UDP_CONST_SUM + tot_be + id_be + ifc->ip + dst);
	if (ifc->tx_offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
		ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
		udp_ck = csum_fold(*phdr);
	}
	ip_udp_store((uint8_t *)ip, tot_be, id_be, ip_ck, ifc->ip, dst, pair16(sport, dport),
		     ulen_be, udp_ck);
	return ol;
}

/* A UDP checksum's final form from its whole sum: 0 is sent as 0xffff (RFC 768). */
static inline uint16_t udp_cksum_final(uint64_t sum)
{
	uint16_t ck = (uint16_t)~csum_fold(sum);

	return ck == 0 ? 0xffff : ck;
}

/* wc_udp_send() with the Ethernet header's length @p l2 known: 14, or 18 tagged. */
static __rte_always_inline void udp_send(struct wc_net *n, const struct wc_udp_peer *peer,
					 struct rte_mbuf *m, const uint16_t l2)
{
	const struct wc_iface *ifc = n->ifc;
	uint32_t plen = m->pkt_len;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *uh;
	uint64_t ol, phdr;
	uint8_t *p;

	/*
	 * An oversized payload or a missing headroom is the application's bug,
	 * not a client's: count the frame where it was lost, as not sent.
	 */
	p = plen <= UINT16_MAX - IP_LEN - UDP_LEN
		    ? (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)(l2 + IP_LEN + UDP_LEN))
		    : NULL;
	if (unlikely(p == NULL)) {
		drop(m, &n->st->tx_dropped);
		return;
	}
	memcpy(p + ETH_DST, &peer->mac, RTE_ETHER_ADDR_LEN);
	memcpy(p + ETH_SRC, &ifc->mac, RTE_ETHER_ADDR_LEN);
	if (l2 != ETH_LEN) {
		put_be16(p + ETH_TYPE, RTE_ETHER_TYPE_VLAN);
		put_be16(p + ETH_LEN, peer->vlan_tci);
		put_be16(p + ETH_LEN + 2, RTE_ETHER_TYPE_IPV4);
	} else {
		put_be16(p + ETH_TYPE, RTE_ETHER_TYPE_IPV4);
	}

	ip = (struct rte_ipv4_hdr *)(p + l2);
	uh = (struct rte_udp_hdr *)(ip + 1);
	ol = udp_hdrs(n, ip, peer->ip, peer->local_port, peer->port, plen, &phdr);
	m->l2_len = l2;
	m->l3_len = IP_LEN;
	if (!(ol & RTE_MBUF_F_TX_UDP_CKSUM)) {
		uint64_t sum = phdr;

		if (likely(m->nb_segs == 1)) {
			sum = csum_bytes(uh, UDP_LEN + plen, sum);
		} else {
			uint16_t raw;

			/* rte_raw_cksum_mbuf() gets odd-length segments wrong in 22.11. */
			cksum_chain(m, (uint32_t)l2 + IP_LEN, UDP_LEN + plen, &raw);
			sum += raw;
		}
		uh->dgram_cksum = udp_cksum_final(sum);
	}
	m->ol_flags = ol;
	wc_net_tx(n, m);
}

static __rte_noinline void udp_send_tagged(struct wc_net *n, const struct wc_udp_peer *peer,
					   struct rte_mbuf *m)
{
	udp_send(n, peer, m, ETH_LEN + VLAN_LEN);
}

void wc_udp_send(struct wc_net *n, const struct wc_udp_peer *peer, struct rte_mbuf *m)
{
	if (likely(peer->vlan_tci == 0))
		udp_send(n, peer, m, ETH_LEN);
	else
		udp_send_tagged(n, peer, m);
}

/*
 * A token bucket per source, in a direct-mapped table. A source whose slot
 * another source holds takes the slot over together with its remaining
 * tokens: forgetting them would let an attacker who alternates two colliding
 * spoofed sources reset the victim's budget at will, while sharing only
 * makes two unlucky legitimate sources split one budget.
 */
bool wc_udp_budget_take(struct wc_net *n, const struct wc_udp_peer *peer, uint32_t bytes)
{
	struct wc_budget *b;
	uint64_t cap, hz, now;

	if (!peer->open)
		return true;
	b = &n->budget[SLOT(peer->ip, WC_BUDGET_SLOTS)];
	cap = n->ifc->udp_open_budget;
	hz = n->tsc_hz != 0 ? n->tsc_hz : rte_get_tsc_hz();
	now = n->now_tsc;
	if (b->ip == 0 && b->refill_tsc == 0) {
		/* Never used: a full second's burst. */
		b->tokens = (uint32_t)cap;
		b->refill_tsc = now;
	} else if (now > b->refill_tsc) {
		uint64_t elapsed = now - b->refill_tsc;
		uint64_t add =
			elapsed >= hz ? cap : (uint64_t)((unsigned __int128)elapsed * cap / hz);

		if (add > 0 && b->tokens + add >= cap) {
			b->tokens = (uint32_t)cap;
			b->refill_tsc = now;
		} else if (add > 0) {
			/* Advance by the time those tokens took, keeping the remainder. */
			b->tokens += (uint32_t)add;
			b->refill_tsc += (uint64_t)((unsigned __int128)add * hz / cap);
		}
	}
	b->ip = peer->ip;
	if (b->tokens < bytes)
		return false;
	b->tokens -= bytes;
	return true;
}

/* ---- IPv4 -------------------------------------------------------------- */

static void ipv4_input(struct wc_net *n, const struct frame *f)
{
	const struct wc_iface *ifc = n->ifc;
	struct rte_mbuf *m = f->m;
	struct rte_ipv4_hdr buf, *ip;
	uint64_t rx;
	uint16_t tot;

	ip = frame_get(m, f->l2_len, IP_LEN, &buf);
	if (unlikely(ip == NULL)) {
		drop(m, &n->st->drop_runt);
		return;
	}
	if (unlikely((ip->version_ihl & 0xf0) != 0x40 ||
		     (ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) < RTE_IPV4_MIN_IHL)) {
		drop(m, &n->st->drop_ip_malformed);
		return;
	}
	if (unlikely((ip->version_ihl & RTE_IPV4_HDR_IHL_MASK) != RTE_IPV4_MIN_IHL)) {
		drop(m, &n->st->drop_ip_options);
		return;
	}
	tot = rte_be_to_cpu_16(ip->total_length);
	if (unlikely(tot < IP_LEN || tot > m->pkt_len - f->l2_len)) {
		drop(m, &n->st->drop_ip_malformed);
		return;
	}
	rx = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	if (unlikely(rx == RTE_MBUF_F_RX_IP_CKSUM_BAD || (rx == RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN &&
							  rte_raw_cksum(ip, IP_LEN) != 0xffff))) {
		drop(m, &n->st->drop_ip_checksum);
		return;
	}
	if (unlikely(ip->time_to_live == 0)) {
		drop(m, &n->st->drop_ip_ttl);
		return;
	}
	if (unlikely(ip->fragment_offset &
		     rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))) {
		drop(m, &n->st->drop_ip_fragment);
		return;
	}
	if (ip->dst_addr != ifc->ip) {
		drop(m, &n->st->drop_not_for_us);
		return;
	}
	if (unlikely(martian(ifc, ip->src_addr))) {
		drop(m, &n->st->drop_ip_malformed);
		return;
	}
	arp_learn(n, ip->src_addr, &f->src, false);
	/* Ethernet pads short frames; the padding is not ours to echo. */
	frame_trim(m, (uint32_t)f->l2_len + tot);

	switch (ip->next_proto_id) {
	case IPPROTO_UDP:
		udp_input(n, f, ip);
		break;
	case IPPROTO_ICMP:
		icmp_input(n, f, ip, &buf);
		break;
	case IPPROTO_TCP:
		if (n->tcp == NULL) {
			drop(m, &n->st->drop_ip_proto);
			break;
		}
		wc_tcp_input(n, m, f->l2_len, ip->src_addr, ip->dst_addr, &f->src,
			     f->tagged ? f->vlan_tci : 0);
		break;
	default:
		drop(m, &n->st->drop_ip_proto);
		break;
	}
}

/* ---- Ethernet ---------------------------------------------------------- */

/* Out of line: the fast path's loop keeps its registers. */
static __rte_noinline void eth_input(struct wc_net *n, struct rte_mbuf *m)
{
	static const uint8_t bcast[RTE_ETHER_ADDR_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t buf[ETH_LEN], vbuf[VLAN_LEN];
	const uint8_t *eh, *vh;
	struct frame f;
	uint16_t type;

	eh = frame_get(m, 0, ETH_LEN, buf);
	if (unlikely(eh == NULL)) {
		drop(m, &n->st->drop_runt);
		return;
	}
	if (unlikely(memcmp(eh + ETH_DST, &n->ifc->mac, RTE_ETHER_ADDR_LEN) != 0) &&
	    memcmp(eh + ETH_DST, bcast, RTE_ETHER_ADDR_LEN) != 0) {
		drop(m, &n->st->drop_not_for_us);
		return;
	}
	f.m = m;
	f.l2_len = ETH_LEN;
	f.vlan_tci = 0;
	f.tagged = false;
	f.stripped = false;
	memcpy(&f.src, eh + ETH_SRC, RTE_ETHER_ADDR_LEN);
	type = get_be16(eh + ETH_TYPE);
	if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) {
		f.tagged = true;
		f.stripped = true;
		f.vlan_tci = m->vlan_tci;
	}
	if (type == RTE_ETHER_TYPE_VLAN) {
		vh = frame_get(m, ETH_LEN, VLAN_LEN, vbuf);
		if (unlikely(vh == NULL)) {
			drop(m, &n->st->drop_runt);
			return;
		}
		/* One tag: the NIC's stripped one counts, and QinQ is not served. */
		if (unlikely(f.stripped)) {
			drop(m, &n->st->drop_ethertype);
			return;
		}
		f.tagged = true;
		f.vlan_tci = get_be16(vh);
		f.l2_len = ETH_LEN + VLAN_LEN;
		type = get_be16(vh + 2);
	}
	switch (type) {
	case RTE_ETHER_TYPE_IPV4:
		ipv4_input(n, &f);
		break;
	case RTE_ETHER_TYPE_ARP:
		arp_input(n, &f);
		break;
	default:
		drop(m, &n->st->drop_ethertype);
		break;
	}
}

/* ---- the fast path ----------------------------------------------------- */

/* Offsets in the untagged Ethernet/IPv4/UDP frame the fast path handles. */
#define F_IP   ETH_LEN			    /* version, IHL, TOS: 45 xx */
#define F_TOT  (F_IP + 2)		    /* total length */
#define F_FRAG (F_IP + 6)		    /* flags and offset, TTL, protocol */
#define F_SRC  (F_IP + 12)		    /* source address */
#define F_DST  (F_IP + 16)		    /* destination address */
#define F_UDP  (F_IP + IP_LEN)		    /* source port, destination port */
#define F_ULEN (F_UDP + 4)		    /* UDP length */
#define F_UCK  (F_UDP + 6)		    /* UDP checksum */
#define F_HDRS (ETH_LEN + IP_LEN + UDP_LEN) /* 42 */

_Static_assert(offsetof(struct rte_mbuf, pkt_len) == offsetof(struct rte_mbuf, packet_type) + 4 &&
		       offsetof(struct rte_mbuf, vlan_tci) ==
			       offsetof(struct rte_mbuf, data_len) + 2,
	       "udp_in_place() writes these mbuf fields in pairs");

/*
 * What udp_fast() compares the frames of a burst with, and the constant
 * parts of the replies it writes, derived from the interface at the start
 * of each burst: a few dozen instructions shared by the burst's frames,
 * and no copy that could go stale (the interface does not change while a
 * burst runs).
 */
struct fast_ref {
	uint64_t mac_mask; /* the first 6 bytes of an 8-byte load */
	uint64_t mac;	   /* our MAC as such a load, masked */
	uint64_t eth_src;  /* a reply's bytes 6..13: our MAC and ethertype IPv4 */
	uint64_t ip_sum;   /* the constant words of a reply's IPv4 header, summed */
	uint64_t phdr;	   /* the constant part of its UDP pseudo-header sum */
	uint64_t ol;	   /* a reply's TX offload flags */
	uint32_t ip;	   /* our address, network order */
	/*
	 * Sources s (host order) with s - host_lo < span are hosts of our
	 * subnet other than its network and broadcast addresses, none of
	 * which martian() refuses but our own address; span is 0 where
	 * that cannot be said of a whole range (see fast_ref_init()).
	 */
	uint32_t host_lo;
	uint32_t span;
	uint32_t port0; /* app 0's port, network order; UINT32_MAX: no app */
	bool fast0;	/* app 0 answers in place */
	bool ip_ck;	/* the port fills the IPv4 checksum */
	bool udp_ck;
};

static void fast_ref_init(struct fast_ref *r, const struct wc_net *n)
{
	static const uint8_t mask6[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0 };
	const struct wc_iface *ifc = n->ifc;
	uint32_t mask = rte_be_to_cpu_32(ifc->netmask), host = ~mask;
	uint32_t net = rte_be_to_cpu_32(ifc->ip) & mask, first = net >> 24;
	uint8_t b[8] = { 0 };

	r->mac_mask = ld64(mask6);
	memcpy(b, &ifc->mac, RTE_ETHER_ADDR_LEN);
	r->mac = ld64(b);
	put_be16(b + RTE_ETHER_ADDR_LEN, RTE_ETHER_TYPE_IPV4);
	r->eth_src = ld64(b);
	r->ip = ifc->ip;
	r->ip_sum = IP_UDP_CONST_SUM + ifc->ip;
	r->phdr = (uint64_t)ifc->ip + rte_cpu_to_be_16(IPPROTO_UDP);
	/*
	 * With a contiguous mask of /8 to /30, every address of the subnet
	 * shares the first octet of ours, and if that is not one martian()
	 * refuses (0, 127, 224 and up), the only martians among them are
	 * the network and broadcast addresses and ours: host_lo and span
	 * leave the first two out, udp_fast() compares with the third.
	 */
	r->host_lo = 0;
	r->span = 0;
	if ((host & (host + 1)) == 0 && mask >= 0xff000000u && host >= 3 && first != 0 &&
	    first != 127 && first < 224) {
		r->host_lo = net + 1;
		r->span = host - 1;
	}
	r->port0 = ifc->n_apps > 0 ? ifc->apps[0].port : UINT32_MAX;
	r->fast0 = ifc->n_apps > 0 && ifc->apps[0].fast != NULL;
	r->ip_ck = (ifc->tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
	r->udp_ck = (ifc->tx_offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
	r->ol = 0;
	if (r->ip_ck)
		r->ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	if (r->udp_ck)
		r->ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
}

_Static_assert(sizeof(struct wc_arp_entry) >= offsetof(struct wc_arp_entry, mac) + 8,
	       "arp_refresh() reads 8 bytes from an entry's MAC on");

/*
 * arp_learn(), not by ARP, of the sender of a frame udp_fast() accepted,
 * whose address is not martian, so not 0. The entry's MAC is compared as
 * 8 bytes with its 2 bytes of padding masked off.
 */
static __rte_always_inline void arp_refresh(struct wc_net *n, const struct fast_ref *ref,
					    uint32_t ip, const uint8_t *mac)
{
	struct wc_arp_entry *e = &n->arp[SLOT(ip, WC_ARP_SLOTS)];
	struct rte_ether_addr a;

	if (likely(e->ip == ip && ((ld64(&e->mac) ^ ld64(mac)) & ref->mac_mask) == 0))
		return;
	memcpy(&a, mac, sizeof(a));
	arp_learn_slow(n, e, ip, &a, false);
}

/*
 * The checksum verdicts other than "both good": the software checks
 * ipv4_input() and udp_input() make, for a frame udp_fast() is looking at.
 */
static __rte_always_inline bool fast_cksums_ok(const uint8_t *p, uint64_t rx, uint16_t tot)
{
	switch (rx & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
	case RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN:
		if (csum_fold(csum_bytes(p + F_IP, IP_LEN, 0)) != 0xffff)
			return false;
		break;
	case RTE_MBUF_F_RX_IP_CKSUM_BAD:
		return false;
	default:
		break;
	}
	if (ld16(p + F_UCK) == 0)
		return true;
	switch (rx & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
	case RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN: {
		uint64_t sum = csum_udp_phdr(ld32(p + F_SRC), ld32(p + F_DST), ld16(p + F_ULEN));

		return csum_fold(csum_bytes(p + F_UDP, tot - IP_LEN, sum)) == 0xffff;
	}
	case RTE_MBUF_F_RX_L4_CKSUM_BAD:
		return false;
	default:
		return true;
	}
}

/*
 * The run of a burst's frames held for an application's answer in place
 * (wc_udp_fast_t), in arrival order, all for application app: each frame's
 * mbuf and what the application is offered.
 * Any other frame's handling first sends the run to the application
 * (fast_flush()), so frames take effect in the order they came.
 */
struct fast_run {
	unsigned int n;
	unsigned int app;
	uint64_t answered; /* datagrams answered in place, for udp_datagrams */
	struct rte_mbuf *m[WC_UDP_FAST_MAX];
	struct wc_udp_fast_req req[WC_UDP_FAST_MAX];
};

/*
 * Hold frame @p m, a datagram udp_fast() accepted for application @p app
 * (which answers in place) whose IPv4 datagram is @p tot bytes, in @p run,
 * for its reply in the frame's own buffer past the request.
 * @return false if the buffer is not this lcore's alone to write or has no
 *         room: nothing done.
 */
static __rte_always_inline bool fast_hold(struct fast_run *run, struct rte_mbuf *m,
					  unsigned int app, uint16_t tot)
{
	uint32_t start = RTE_ALIGN_CEIL((uint32_t)m->data_off + ETH_LEN + tot, 8);
	struct wc_udp_fast_req *q = &run->req[run->n];

	if (unlikely(!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1 ||
		     start + 64 > m->buf_len))
		return false;
	q->payload = rte_pktmbuf_mtod_offset(m, const uint8_t *, F_HDRS);
	q->reply = (uint8_t *)m->buf_addr + start;
	q->len = (uint16_t)(tot - IP_LEN - UDP_LEN);
	/*
	 * At least 64, and at most 65,535 - 42 (start is past a frame's
	 * headers): a reply of that size still fits IPv4's total length.
	 */
	q->room = (uint16_t)(m->buf_len - start);
	run->m[run->n] = m;
	if (run->n++ == 0)
		run->app = app;
	return true;
}

/*
 * Send the reply of @p rlen bytes the application wrote in place, at @p r,
 * to the request in frame @p m: the headers go in front of it,
 * over the request's tail, from fields read beforehand. They are
 * udp_hdrs()'s, stored as it stores them (ip_udp_store()), with the
 * Ethernet header in two more stores: the bytes from the frame (the peer's
 * MAC, address and ports) and per-reply values (lengths, id, checksums)
 * merged into the constant ones of @p ref.
 */
static __rte_always_inline void fast_send(struct wc_net *n, const struct fast_ref *ref,
					  struct rte_mbuf *m, uint8_t *r, uint16_t rlen)
{
	const uint8_t *req = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t tot_be, ulen_be, id_be, ip_ck;
	uint32_t dst, ports;
	uint64_t peer_mac, phdr;
	uint8_t *f;

	/* What the reply needs of the request, before its headers overwrite it. */
	peer_mac = ld64(req + ETH_SRC); /* and the ethertype */
	dst = ld32(req + F_SRC);
	ports = ld32(req + F_UDP);
	/* The reply's ports are the request's, swapped: a rotation by 16. */
	ports = ports << 16 | ports >> 16;

	/* (DPDK's byte swap is an asm statement the compiler cannot combine.) */
	tot_be = bswap16_to_be((uint16_t)(IP_LEN + UDP_LEN + rlen));
	ulen_be = bswap16_to_be((uint16_t)(UDP_LEN + rlen));
	id_be = ip_id_next(n);
	/* The sums udp_hdrs() makes, their constant words added up per burst. */
	ip_ck = ref->ip_ck ? 0 : (uint16_t)~csum_fold(ref->ip_sum + tot_be + id_be + dst);
	phdr = ref->phdr + dst + ulen_be;

	f = r - F_HDRS;
	st64(f, peer_mac); /* its last 2 bytes are rewritten by the next store */
	st64(f + ETH_SRC, ref->eth_src);
	/* The UDP checksum, if ours, summed with its field 0 (RFC 768), then stored. */
	ip_udp_store(f + F_IP, tot_be, id_be, ip_ck, ref->ip, dst, ports, ulen_be,
		     ref->udp_ck ? csum_fold(phdr) : 0);
	if (!ref->udp_ck)
		st32(f + F_ULEN,
		     pair16(ulen_be, udp_cksum_final(csum_bytes(f + F_UDP, UDP_LEN + rlen, phdr))));

	m->data_off = (uint16_t)(f - (uint8_t *)m->buf_addr);
	/* packet_type and pkt_len, then data_len and vlan_tci, in one store each. */
	st64((uint8_t *)m + offsetof(struct rte_mbuf, packet_type), pair32(0, F_HDRS + rlen));
	st32((uint8_t *)m + offsetof(struct rte_mbuf, data_len),
	     pair16((uint16_t)(F_HDRS + rlen), 0));
	m->vlan_tci_outer = 0;
	m->tx_offload = rte_mbuf_tx_offload(ETH_LEN, IP_LEN, 0, 0, 0, 0, 0);
	m->ol_flags = ref->ol;
	tx_queue(n, m);
}

/*
 * A datagram udp_fast() accepted for application @p app that is not
 * answered in place: what ipv4_input() and udp_input() would do with it
 * from here on.
 */
static void udp_accept_general(struct wc_net *n, struct rte_mbuf *m, unsigned int app, uint16_t tot)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	struct wc_udp_peer peer;

	memcpy(&peer.mac, p + ETH_SRC, RTE_ETHER_ADDR_LEN);
	peer.ip = ld32(p + F_SRC);
	peer.port = ld16(p + F_UDP);
	peer.vlan_tci = 0;
	peer.local_port = ld16(p + F_UDP + 2);
	peer.open = false;
	if (m->data_len != ETH_LEN + tot) {
		/* Ethernet padding is not part of the datagram. */
		m->data_len = (uint16_t)(ETH_LEN + tot);
		m->pkt_len = ETH_LEN + tot;
	}
	n->st->udp_datagrams++;
	udp_deliver(n, app, &peer, m, F_HDRS, (uint16_t)(tot - IP_LEN - UDP_LEN));
}

/*
 * Offer the held run to its application, send what it answers, and hand
 * the datagrams it passes on to the general path; then offer it the rest,
 * until the run is done.
 */
static __rte_noinline void fast_flush(struct wc_net *n, const struct fast_ref *ref,
				      struct fast_run *run)
{
	wc_udp_fast_t fast = n->ifc->apps[run->app].fast;
	void *arg = n->app_arg[run->app];
	unsigned int i = 0, count = run->n;

	run->n = 0;
	while (i < count) {
		unsigned int pass = 1, end;
		unsigned int done = fast(arg, n, run->req + i, count - i, &pass);

		for (end = i + done; i < end; i++)
			fast_send(n, ref, run->m[i], run->req[i].reply, run->req[i].rlen);
		run->answered += done;
		for (end = i + RTE_MIN(RTE_MAX(pass, 1u), count - i); i < end; i++)
			udp_accept_general(n, run->m[i], run->app,
					   (uint16_t)(IP_LEN + UDP_LEN + run->req[i].len));
	}
}

/* Let the held run take effect before anything else does. */
static __rte_always_inline void fast_drain(struct wc_net *n, const struct fast_ref *ref,
					   struct fast_run *run)
{
	if (run->n > 0)
		fast_flush(n, ref, run);
}

/*
 * A datagram udp_fast() accepted for application @p app: what ipv4_input()
 * and udp_input() would do with it from here on, held in @p run for the
 * answer in place first if the application has one.
 */
static __rte_always_inline void udp_accept(struct wc_net *n, const struct fast_ref *ref,
					   struct rte_mbuf *m, unsigned int app, uint16_t tot,
					   struct fast_run *run)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	bool fast = app == 0 ? ref->fast0 : n->ifc->apps[app].fast != NULL;

	arp_refresh(n, ref, ld32(p + F_SRC), p + ETH_SRC);
	if (fast) {
		if (unlikely(run->n > 0 && run->app != app))
			fast_flush(n, ref, run);
		if (likely(fast_hold(run, m, app, tot))) {
			if (unlikely(run->n == WC_UDP_FAST_MAX))
				fast_flush(n, ref, run);
			return;
		}
	}
	fast_drain(n, ref, run);
	udp_accept_general(n, m, app, tot);
}

/* The rest of udp_fast() for a datagram not to the first application's port. */
static __rte_noinline bool udp_fast_other(struct wc_net *n, const struct fast_ref *ref,
					  struct rte_mbuf *m, uint16_t tot, struct fast_run *run)
{
	const struct wc_iface *ifc = n->ifc;
	uint16_t port = ld16(rte_pktmbuf_mtod_offset(m, const uint8_t *, F_UDP + 2));
	unsigned int app;

	for (app = 1; app < ifc->n_apps && app < WC_UDP_APPS; app++)
		if (ifc->apps[app].port == port)
			break;
	if (app >= ifc->n_apps || app == WC_UDP_APPS)
		return false;
	udp_accept(n, ref, m, app, tot, run);
	return true;
}

/*
 * The common frame, handled in one pass: untagged IPv4 without options to
 * our MAC and address, a UDP datagram to one of our applications from a
 * source on the subnet or in the allowlist, all in one segment, every
 * checksum good. It accepts only frames the layered path above would
 * deliver in the same way, and has no effect on the ones it declines
 * (returns false), which that path then handles and counts. A datagram
 * for an application that answers in place is held in @p run (see
 * fast_run), the others delivered at once.
 *
 * The layered path's field tests are grouped into masked compares of
 * header words with @p ref, each saying which fields it covers.
 */
static __rte_always_inline bool udp_fast(struct wc_net *n, const struct fast_ref *ref,
					 struct rte_mbuf *m, struct fast_run *run)
{
	const struct wc_iface *ifc = n->ifc;
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint64_t cks = RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK;
	uint64_t rx = m->ol_flags;
	uint16_t dlen = m->data_len, tot;
	uint32_t src, w;

	/* One segment, at least the headers. */
	if (unlikely(dlen != m->pkt_len || dlen < F_HDRS))
		return false;
	/*
	 * Destination our MAC (broadcast is the layered path's), ethertype
	 * IPv4 (so no tag in the frame), version 4 and IHL 5 (no options).
	 */
	if (unlikely((ld64(p) & ref->mac_mask) != ref->mac ||
		     (ld32(p + ETH_TYPE) & bytes4(0xff, 0xff, 0xff, 0)) !=
			     bytes4(0x08, 0x00, RTE_IPV4_VHL_DEF, 0)))
		return false;
	/*
	 * Neither more fragments nor an offset (DF may be set), protocol UDP;
	 * then TTL not 0, destination our address.
	 */
	w = ld32(p + F_FRAG);
	if (unlikely((w & bytes4(0x3f, 0xff, 0, 0xff)) != bytes4(0, 0, 0, IPPROTO_UDP) ||
		     (w & bytes4(0, 0, 0xff, 0)) == 0 || ld32(p + F_DST) != ref->ip))
		return false;
	/*
	 * The UDP length is the IPv4 payload's (udp_input() is that strict),
	 * the total length at least 28 (so the UDP length at least a header),
	 * and the datagram lies in the frame.
	 */
	tot = bswap16_to_be(ld16(p + F_TOT));
	if (unlikely(ld16(p + F_ULEN) != bswap16_to_be((uint16_t)(tot - IP_LEN)) ||
		     tot < IP_LEN + UDP_LEN || (uint32_t)ETH_LEN + tot > dlen))
		return false;
	/*
	 * No tag stripped by the NIC, and checksums both verified by the NIC
	 * (one test for the three), or checked as ipv4_input() and
	 * udp_input() check them.
	 */
	if (unlikely((rx & (cks | RTE_MBUF_F_RX_VLAN_STRIPPED)) !=
		     (RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD)) &&
	    ((rx & RTE_MBUF_F_RX_VLAN_STRIPPED) || !fast_cksums_ok(p, rx, tot)))
		return false;
	/*
	 * The source: one range compare and one equality for a host of our
	 * subnet (not martian, not open), else martian() and the policy of
	 * udp_input() in full.
	 */
	src = ld32(p + F_SRC);
	if (unlikely(rte_be_to_cpu_32(src) - ref->host_lo >= ref->span || src == ref->ip) &&
	    (martian(ifc, src) || (!on_subnet(ifc, src) && !allowed(ifc, src))))
		return false;
	if (unlikely(ld16(p + F_UDP + 2) != ref->port0))
		return udp_fast_other(n, ref, m, tot, run);
	udp_accept(n, ref, m, 0, tot, run);
	return true;
}

void wc_net_input(struct wc_net *n, struct rte_mbuf **pkts, uint16_t count)
{
	struct fast_ref ref;
	struct fast_run run;
	uint64_t bytes = 0;

	fast_ref_init(&ref, n);
	run.n = 0;
	run.answered = 0;
	for (uint16_t i = 0; i < count; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + 1 < count)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		bytes += m->pkt_len;
		if (!udp_fast(n, &ref, m, &run)) {
			fast_drain(n, &ref, &run);
			eth_input(n, m);
		}
	}
	fast_drain(n, &ref, &run);
	/* Per burst: nothing that runs inside the burst reads them. */
	n->st->rx_packets += count;
	n->st->rx_bytes += bytes;
	n->st->udp_datagrams += run.answered;
}
