/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A minimal user-space TCP, per lcore (passive open only).
 *
 * Each lcore has its own connection table; RSS (or a single queue) keeps a
 * flow on one lcore, so a connection is only ever touched by the lcore that
 * accepted it. What it does, and the choices made for a LAN appliance:
 *
 *  - Handshake: SYN cookies always, so a SYN creates no state at all and a
 *    SYN flood costs one SYN-ACK per SYN. The cookie (our ISN) carries a
 *    64-second time slot (4 bits), whether the peer offered SACK (1 bit),
 *    its MSS (3 bits, from a table) and window scale (4 bits), and 20 bits
 *    of SipHash-2-4 over the 4-tuple, the slot, those options and the
 *    peer's ISN under a per-lcore random key; it is valid for two slots.
 *    Timestamps are not used. The connection exists once an ACK (or the
 *    first data segment) returns a
 *    valid cookie; one that does not is answered with RST when it carries
 *    no data, and dropped when it does (a reordered data segment must not
 *    kill a connection whose handshake ACK is still on its way).
 *  - Options: MSS (ours: 1460), window scaling (ours: 7), and SACK (RFC
 *    2018) when the peer offers it: our ACKs carry up to four blocks of the
 *    out-of-order queue, and the peer's blocks feed a small scoreboard.
 *  - Receive: in-order data is handed to the application straight from the
 *    received mbuf; what it leaves unconsumed (a request cut by a segment
 *    boundary) is copied into the connection's receive buffer. Out-of-order
 *    segments wait in a bounded queue (WC_TCP_OOO_MAX segments, inside the
 *    advertised window). ACKs are delayed: every second full segment is
 *    acknowledged at once, others after WC_TCP_DELACK_MS, and a reply
 *    carries the ACK for free. Out-of-order data, a FIN or a hole filled is
 *    acknowledged at once.
 *  - Send: the application's bytes are written once into mbufs queued on
 *    the connection; segments reference them (indirect mbufs chained after
 *    a header mbuf) so values are never copied again, except that short
 *    payloads are copied into the header mbuf (cheaper than an attach).
 *  - Loss: RTO per RFC 6298 (SRTT/RTTVAR, Karn's rule, exponential backoff,
 *    minimum WC_TCP_RTO_MIN_MS = 200 ms, which a LAN's RTTs never reach,
 *    maximum 60 s, the connection reset after WC_TCP_RETRIES timeouts in a
 *    row); fast retransmit on three duplicate ACKs, or three segments'
 *    worth SACKed past the first hole (RFC 6675's loss rule; fewer with
 *    fewer than four segments out, RFC 5827), limited transmit (RFC 3042),
 *    and NewReno congestion control (RFC 5681/6582, initial window 10
 *    segments, RFC 6928), resending SACK holes first and skipping SACKed
 *    data after an RTO; zero window probes on a persist timer.
 *  - Close: FIN/RST/TIME_WAIT per RFC 9293, RST accepted only at rcv_nxt
 *    (a RST elsewhere in the window, or a SYN on a connection, draws a
 *    challenge ACK, RFC 5961). TIME_WAIT lasts WC_TCP_TIME_WAIT_MS by
 *    default (shorter than 2 MSL: a LAN has no segments that old, and a new
 *    SYN with a higher sequence number takes a TIME_WAIT tuple over).
 *  - Keepalive: probes after an idle time (limits.keepalive_ms), nine at
 *    75-second intervals, then RST.
 *  - Limits: connections per lcore; each connection's receive buffer; the
 *    application's send buffer (the application is not given more data
 *    while its queued replies exceed limits.snd_buf: a client that stops
 *    reading does not grow the server's memory); and all the memory one
 *    lcore's connections hold in buffers. Every refusal is counted.
 *  - Timers: one hashed timer wheel per lcore with 1 ms slots, run by
 *    wc_tcp_poll() from the poll loop.
 *
 * The application interface: wc_tcp_listen() a port with struct wc_tcp_ops;
 * on_accept() gives the connection's application state, on_data() gets
 * contiguous bytes and returns how many it consumed (the rest is given
 * again, with more, next time: requests may be cut at any byte), on_close()
 * says the connection is gone. Replies go out through wc_tcp_write() or a
 * struct wc_out sink (wc_tcp_out_begin()/wc_tcp_out_end()); wc_tcp_close()
 * ends the connection once every reply queued is sent.
 *
 * Thread safety: everything here runs on the lcore owning the wc_net.
 */
#ifndef WC_NET_TCP_H
#define WC_NET_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/proto/out.h"

struct wc_net;
struct wc_tcp;
struct wc_tcp_conn;

#define WC_TCP_LISTENERS    4	 /**< listening ports per lcore */
#define WC_TCP_MSS	    1460 /**< our MSS (Ethernet MTU 1500) */
#define WC_TCP_WSCALE	    7	 /**< our window scale */
#define WC_TCP_OOO_MAX	    1024 /**< out-of-order segments held per connection */
#define WC_TCP_DELACK_MS    40	 /**< delayed ACK timeout */
#define WC_TCP_RTO_MIN_MS   200	 /**< RTO floor */
#define WC_TCP_RTO_MAX_MS   60000
#define WC_TCP_RTO_INIT_MS  1000 /**< before any RTT sample (RFC 6298) */
#define WC_TCP_RETRIES	    12	 /**< RTOs in a row before the connection is reset */
#define WC_TCP_TIME_WAIT_MS 10000
#define WC_TCP_KEEPALIVE_MS 7200000
#define WC_TCP_KEEPINTVL_MS 75000
#define WC_TCP_KEEPCNT	    9
#define WC_TCP_APP_PRIV	    64 /**< bytes of application state in each connection */

/** Per-lcore limits (wc_tcp_create()); 0 fields take the defaults shown. */
struct wc_tcp_limits {
	uint32_t max_conns;    /**< connections (TIME_WAIT included); 4096 */
	uint32_t rcv_buf;      /**< receive buffer per connection; 1 MiB + 64 KiB */
	uint32_t snd_buf;      /**< application send buffer per connection; 256 KiB */
	uint64_t mem;	       /**< all buffers of the lcore's connections; 256 MiB */
	uint32_t keepalive_ms; /**< idle time before keepalive probes */
	uint32_t keepintvl_ms; /**< between probes */
	uint32_t time_wait_ms; /**< TIME_WAIT duration */
};

/** An application on a listening port. Callbacks run on the owning lcore. */
struct wc_tcp_ops {
	/**
	 * A connection was established. @p arg is wc_tcp_listen()'s.
	 * @return the connection's application state (passed to the other
	 *         callbacks; wc_tcp_priv() offers WC_TCP_APP_PRIV bytes for it),
	 *         or NULL to refuse the connection (it is reset).
	 */
	void *(*on_accept)(void *arg, struct wc_tcp_conn *c);
	/**
	 * In-order bytes: everything received and not consumed yet, contiguous
	 * and valid only during the call. Not called while the connection's
	 * queued output exceeds the send buffer limit (it is called again once
	 * the peer has acknowledged enough). The application may write replies
	 * and call wc_tcp_close() from here.
	 * @return bytes consumed (0..len); the rest comes again with more.
	 */
	size_t (*on_data)(void *app, struct wc_tcp_conn *c, const uint8_t *buf, size_t len);
	/**
	 * The connection is gone (closed, reset or timed out): release the
	 * application state. The connection may not be used after this.
	 */
	void (*on_close)(void *app, struct wc_tcp_conn *c);
};

/**
 * Create an lcore's TCP state and attach it to @p n (n->tcp).
 * Main thread or the owner lcore, before traffic.
 * @return 0, or -ENOMEM.
 */
int wc_tcp_create(struct wc_net *n, const struct wc_tcp_limits *lim);

/**
 * Free every connection (without telling peers; on_close is called for
 * each) and the TCP state of @p n. Once the lcore stopped.
 */
void wc_tcp_destroy(struct wc_net *n);

/**
 * Listen on @p port (host order) with @p ops; @p arg goes to on_accept.
 * @return 0; -EEXIST if the port is taken; -ENOSPC past WC_TCP_LISTENERS;
 *         -ENODEV if wc_tcp_create() was not called.
 */
int wc_tcp_listen(struct wc_net *n, uint16_t port, const struct wc_tcp_ops *ops, void *arg);

/**
 * A received IPv4 TCP segment (from the network stack's IPv4 input, which
 * checked the IP header; the frame is trimmed to the IP total length).
 * Consumes @p m. @p l3 is the IP header's offset in the frame; @p src the
 * frame's source MAC; @p vlan_tci the tag it came with (0 = none).
 */
void wc_tcp_input(struct wc_net *n, struct rte_mbuf *m, uint16_t l3, uint32_t src_ip,
		  uint32_t dst_ip, const struct rte_ether_addr *src, uint16_t vlan_tci);

/**
 * Send what connections have pending (replies, ACKs), and run the timers
 * when a millisecond has passed. Call once per loop iteration, after the
 * received burst: what the burst's segments and replies left to send goes
 * out then, one segment per connection where it can. Owner lcore only.
 * @return segments sent plus timers run (0 when there was nothing to do).
 */
unsigned int wc_tcp_poll(struct wc_net *n);

/**
 * Queue @p len bytes for the peer (copied into the connection's send
 * queue). Sent at the end of the burst.
 * @return 0; -ENOBUFS if no mbuf or the lcore's buffer memory is exhausted
 *         (nothing queued); -EPIPE if the connection is closing.
 */
int wc_tcp_write(struct wc_tcp_conn *c, const void *buf, size_t len);

/**
 * Open a reply sink over the connection's send queue: bytes written to @p o
 * go straight into queued mbufs. Close it with wc_tcp_out_end() before any
 * other call on the connection.
 */
void wc_tcp_out_begin(struct wc_tcp_conn *c, struct wc_out *o);

/**
 * Queue what was written to @p o. If @p o overflowed (no mbuf, or the
 * lcore's buffer memory is exhausted) the bytes written so far are queued
 * all the same; the caller decides (a partial reply is best followed by
 * wc_tcp_abort()).
 */
void wc_tcp_out_end(struct wc_tcp_conn *c, struct wc_out *o);

/** Bytes queued and not yet acknowledged by the peer. */
size_t wc_tcp_queued(const struct wc_tcp_conn *c);

/** Whether the connection's queued output is under its limit (on_data may be given more). */
bool wc_tcp_writable(const struct wc_tcp_conn *c);

/**
 * Close: a FIN goes after every byte queued; no more on_data. on_close is
 * called when the connection is gone. Idempotent.
 */
void wc_tcp_close(struct wc_tcp_conn *c);

/** Reset the connection now (RST to the peer); on_close follows at once. */
void wc_tcp_abort(struct wc_tcp_conn *c);

/** WC_TCP_APP_PRIV bytes of storage for the application, 16-byte aligned. */
void *wc_tcp_priv(struct wc_tcp_conn *c);

/**
 * Stop (@p hold true) or resume on_data for a connection: for an
 * application waiting on something else (work on another lcore) before it
 * may take more requests. Resuming redelivers what is buffered.
 */
void wc_tcp_hold(struct wc_tcp_conn *c, bool hold);

/**
 * Queue a list of mbufs (linked through m->next, each one segment of data,
 * not a chained packet) after what is queued: replies composed elsewhere,
 * such as on another lcore. Takes the mbufs over.
 * @return 0; -EPIPE if the connection is closing (the mbufs are freed).
 */
int wc_tcp_write_mbufs(struct wc_tcp_conn *c, struct rte_mbuf *list);

/**
 * Have @p fn(@p arg) called from every wc_tcp_poll() on this lcore (one
 * hook per lcore: the application's own work, such as replies coming back
 * from other lcores). @return the work it did, counted as poll work.
 */
void wc_tcp_set_poll_hook(struct wc_net *n, unsigned int (*fn)(void *arg), void *arg);

/** The argument given to wc_tcp_set_poll_hook() (NULL if none). */
void *wc_tcp_poll_hook_arg(const struct wc_net *n);

/** The peer's address and port (network order). */
void wc_tcp_peer(const struct wc_tcp_conn *c, uint32_t *ip, uint16_t *port);

/** The lcore's network state a connection belongs to. */
struct wc_net *wc_tcp_net(const struct wc_tcp_conn *c);

/** Live connections on the lcore (TIME_WAIT included). */
uint32_t wc_tcp_conns(const struct wc_net *n);

#endif /* WC_NET_TCP_H */
