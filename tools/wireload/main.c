/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wireload: a load generator for memcached (text and meta, TCP and UDP) and
 * RESP2 servers, on kernel sockets.
 *
 * Threads share nothing while they run: each owns its sockets, its epoll
 * set, its random state, its counters and its histograms; the main thread
 * only reads published totals for the progress line and merges everything
 * after the join.
 *
 *   main:    parse -> spawn workers ------- barrier -> progress ... stop -> join -> report
 *   worker:  connect -> [fill its key range] barrier -> run phase -> drain -> exit
 *
 * A run phase issues requests either closed loop (every connection keeps
 * --depth requests outstanding) or open loop (Poisson arrivals at --rate;
 * each request is stamped with its intended send time, and latency counts
 * from there, so a stalled server cannot hide its stall by slowing the
 * sender: no coordinated omission).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wireload.h"

#define NS_PER_S       1000000000ull
#define NS_PER_MS      1000000ull
#define UDP_BATCH      32
#define UDP_RX_BUF     65536
#define MAX_EVENTS     64
#define TCP_IN_INIT    65536
#define TCP_IN_MAX     (WL_VALUE_MAX + 8192)
#define MAX_WAIT_NS    (10 * NS_PER_MS)
#define RETRY_NS       (100 * NS_PER_MS)
#define UDP_RCVBUF     (4 << 20)
#define MAX_THREADS    256
#define MAX_DEPTH_UDP  1024
#define MAX_DEPTH_TCP  65536
#define COUNT_ONLY_CAP 3600.0 /**< seconds: the cap of a --requests run without --duration */

/* ------------------------------------------------------------------------ */
/* Options: one table for the parser and --help                             */
/* ------------------------------------------------------------------------ */

/* X(id, long name, short, takes an argument, metavar, help) */
#define WL_OPTIONS(X)                                                                           \
	X(SERVER, "server", 's', 1, "HOST:PORT", "server, IPv4 address or name (required)")     \
	X(PROTO, "proto", 'P', 1, "PROTO",                                                      \
	  "mc-udp | mc-tcp | mc-meta-udp | mc-meta-tcp | resp (default mc-tcp)")                \
	X(THREADS, "threads", 't', 1, "N",                                                      \
	  "worker threads, each with its own sockets and epoll (1)")                            \
	X(CONNS, "conns", 'c', 1, "N",                                                          \
	  "connections in all, spread over the threads; UDP: sockets (4)")                      \
	X(DEPTH, "depth", 'D', 1, "N",                                                          \
	  "requests outstanding per connection: pipeline depth, or UDP requests in flight (1)") \
	X(DURATION, "duration", 'd', 1, "SECS",                                                 \
	  "measure for SECS seconds (10; with --requests alone the cap is 3600)")               \
	X(REQUESTS, "requests", 'n', 1, "N",                                                    \
	  "stop after N requests in all (--duration still caps)")                               \
	X(RATE, "rate", 'r', 1, "RPS",                                                          \
	  "open loop: Poisson arrivals at RPS requests/s in all; latency counts from each "     \
	  "request's intended send time")                                                       \
	X(KEYS, "keys", 'k', 1, "N", "distinct keys (100000)")                                  \
	X(KEY_SIZE, "key-size", 'K', 1, "BYTES",                                                \
	  "key length, zero-padded like key:000000000042 (16)")                                 \
	X(VALUE_SIZE, "value-size", 'V', 1, "N|MIN-MAX", "value length, fixed or uniform (32)") \
	X(GET_RATIO, "get-ratio", 'g', 1, "F", "fraction of requests that are gets (0.9)")      \
	X(DIST, "dist", 'z', 1, "uniform|zipf[:S]", "key popularity (uniform; zipf's S 0.99)")  \
	X(FILL, "fill", 'f', 0, NULL, "set every key once before measuring")                    \
	X(VERIFY, "verify", 'v', 0, NULL,                                                       \
	  "values encode key and version; every value read is checked (exit 3 on any error)")   \
	X(TIMEOUT, "timeout", 'T', 1, "MS",                                                     \
	  "a reply later than this is a timeout; UDP: lost, TCP: connection reset (1000)")      \
	X(MAX_DGRAM, "max-dgram", 'M', 1, "BYTES",                                              \
	  "largest UDP request datagram, frame header included (1400)")                         \
	X(SEED, "seed", 'S', 1, "N", "random seed (1)")                                         \
	X(JSON, "json", 'j', 1, "FILE", "also write the results as JSON to FILE")               \
	X(QUIET, "quiet", 'q', 0, NULL, "no progress line on stderr")                           \
	X(HELP, "help", 'h', 0, NULL, "this help")

enum opt_id {
#define X(id, name, sh, arg, meta, help) OPT_##id = sh,
	WL_OPTIONS(X)
#undef X
};

static const struct option long_opts[] = {
#define X(id, name, sh, arg, meta, help) { name, arg, NULL, sh },
	WL_OPTIONS(X)
#undef X
		{ NULL, 0, NULL, 0 }
};

/* ------------------------------------------------------------------------ */
/* Counters: one table for the struct, the report and the JSON              */
/* ------------------------------------------------------------------------ */

#define WL_COUNTERS(X)                                                               \
	X(issued, "requests sent")                                                   \
	X(done, "replies parsed, of any kind")                                       \
	X(gets, "get replies")                                                       \
	X(sets, "set replies")                                                       \
	X(hits, "gets that found a value")                                           \
	X(misses, "gets that found nothing")                                         \
	X(stored, "sets stored")                                                     \
	X(not_stored, "sets refused without an error (NOT_STORED, NS, EXISTS, ...)") \
	X(err_server, "error replies: ERROR, CLIENT_ERROR, SERVER_ERROR, -ERR")      \
	X(err_proto, "garbage, unexpected or unmatched replies, bad frame headers")  \
	X(err_verify, "values that failed --verify")                                 \
	X(err_io, "socket errors, and requests lost with a connection")              \
	X(timeouts, "requests without a reply within --timeout")                     \
	X(stale, "UDP datagrams for no request in flight (late or duplicate)")       \
	X(multi_dgram, "UDP replies reassembled from more than one datagram")        \
	X(reconnects, "TCP connections re-opened")

struct counters {
#define X(name, desc) uint64_t name;
	WL_COUNTERS(X)
#undef X
};

static uint64_t errors_of(const struct counters *c)
{
	return c->not_stored + c->err_server + c->err_proto + c->err_verify + c->err_io;
}

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

static const struct {
	const char *name;
	enum wl_proto proto;
	int udp;
} protos[] = {
	{ "mc-udp", WL_PROTO_MC_TEXT, 1 },	{ "mc-tcp", WL_PROTO_MC_TEXT, 0 },
	{ "mc-meta-udp", WL_PROTO_MC_META, 1 }, { "mc-meta-tcp", WL_PROTO_MC_META, 0 },
	{ "resp", WL_PROTO_RESP, 0 },
};

struct cfg {
	const char *server;
	struct sockaddr_in addr;
	const char *proto_name;
	enum wl_proto proto;
	int udp;
	unsigned threads;
	unsigned conns;
	unsigned depth;
	double duration;
	int duration_set;
	uint64_t requests;
	double rate;
	uint64_t keys;
	size_t key_size;
	size_t vmin;
	size_t vmax;
	double get_ratio;
	const char *dist_name;
	int zipf;
	double zipf_s;
	int fill;
	int verify;
	uint64_t timeout_ns;
	size_t max_dgram;
	uint64_t seed;
	const char *json;
	int quiet;
	size_t req_max; /**< longest request, frame header excluded */
	struct wl_keyfmt kf;
	struct wl_valfmt vf;
};

/* ------------------------------------------------------------------------ */
/* Workers                                                                  */
/* ------------------------------------------------------------------------ */

struct req {
	uint64_t idx;
	uint64_t t0; /**< intended send time: latency counts from here */
	uint64_t ts; /**< actual send time: the timeout counts from here */
	uint16_t id;
	uint8_t op;
	uint8_t busy;
	struct wl_reasm ra;
};

struct conn {
	int fd;
	int udp;
	int pollout;
	uint64_t retry_at;
	struct req *rq; /**< TCP: FIFO ring at head; UDP: slots, free ones in freel */
	unsigned head;
	unsigned count;
	/* TCP */
	char *out;
	size_t out_off;
	size_t out_len;
	size_t out_cap;
	char *in;
	size_t in_len;
	size_t in_cap;
	/* UDP */
	unsigned *freel;
	unsigned nfree;
	uint16_t next_id;
	uint8_t *tx;
	struct mmsghdr *txm;
	struct iovec *txv;
	unsigned *txslot;
	unsigned ntx;
};

enum phase { PH_FILL, PH_RUN };

/* What the progress line reads while the worker runs (relaxed atomics). */
struct published {
	uint64_t done;
	uint64_t gets;
	uint64_t hits;
	uint64_t errors;
	uint64_t timeouts;
	int finished;
};

struct worker {
	unsigned id;
	pthread_t th;
	const struct cfg *cfg;
	int ep;
	struct conn *conns;
	unsigned nconns;
	unsigned rr;
	struct wl_rng rng;
	struct wl_zipf zipf;
	char *vbuf;
	char key[WL_KEY_MAX];
	enum phase phase;
	int issuing;
	int blocked; /**< open loop: a request is due but every connection is full */
	uint64_t drain_until;
	uint64_t fill_next;
	uint64_t fill_end;
	uint64_t quota;
	double rate;
	uint64_t next_ns;
	uint32_t ver;
	unsigned inflight;
	struct counters fill;
	struct counters run;
	struct counters *c;
	struct wl_hist *h[2]; /**< by op; the run phase only */
	uint64_t fill_ns;
	uint64_t t_start;
	uint64_t t_stop;
	uint64_t t_last;
	int fatal;
	struct mmsghdr rxm[UDP_BATCH];
	struct iovec rxv[UDP_BATCH];
	uint8_t *rxbuf;
	struct published pub;
};

static volatile sig_atomic_t g_abort;
static int g_stop;
static int g_fatal;
static pthread_barrier_t g_barrier;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static int stopping(void)
{
	return g_abort || __atomic_load_n(&g_stop, __ATOMIC_RELAXED);
}

static void set_events(struct worker *w, struct conn *c, int pollout)
{
	struct epoll_event ev = { .events = EPOLLIN | (pollout ? EPOLLOUT : 0), .data.ptr = c };

	if (c->pollout != pollout && epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->pollout = pollout;
}

static int conn_open(struct worker *w, struct conn *c)
{
	const struct cfg *cfg = w->cfg;
	struct timeval tv = { .tv_sec = (time_t)(cfg->timeout_ns / NS_PER_S),
			      .tv_usec = (suseconds_t)(cfg->timeout_ns % NS_PER_S / 1000) };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	int one = 1, buf = UDP_RCVBUF;
	int fd, rc;

	fd = socket(AF_INET, (c->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A blocking connect that cannot hang past the timeout. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (c->udp) {
		/* Replies of many datagrams arrive in bursts; do not drop them here. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	} else {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (connect(fd, (const struct sockaddr *)&cfg->addr, sizeof(cfg->addr)) < 0)
		goto fail;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		goto fail;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto fail;
	c->fd = fd;
	c->pollout = 0;
	return 0;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

/*
 * Drop a TCP connection and what was in flight on it, then reconnect (now,
 * or after RETRY_NS). The lost requests are counted by the caller's choice:
 * as timeouts when the server went silent, else as I/O errors.
 */
static void conn_reset(struct worker *w, struct conn *c, uint64_t now, int as_timeout)
{
	if (as_timeout)
		w->c->timeouts += c->count;
	else
		w->c->err_io += c->count;
	w->inflight -= c->count;
	c->count = 0;
	c->head = 0;
	c->in_len = 0;
	c->out_len = 0;
	c->out_off = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	w->c->reconnects++;
	if (conn_open(w, c) < 0) {
		w->c->err_io++;
		c->retry_at = now + RETRY_NS;
	}
}

static void udp_free_slot(struct worker *w, struct conn *c, unsigned slot)
{
	c->rq[slot].busy = 0;
	c->freel[c->nfree++] = slot;
	c->count--;
	w->inflight--;
}

static int can_issue(const struct worker *w, const struct conn *c)
{
	return c->fd >= 0 && c->count < w->cfg->depth;
}

static uint64_t pick_key(struct worker *w)
{
	if (w->cfg->zipf)
		return wl_zipf_next(&w->zipf, &w->rng);
	return wl_rng_below(&w->rng, w->cfg->keys);
}

/* Compose the next request of this phase on @p c; @p t0 is its intended send time. */
static void issue(struct worker *w, struct conn *c, uint64_t now, uint64_t t0)
{
	const struct cfg *cfg = w->cfg;
	enum wl_op op;
	uint64_t idx;
	size_t vlen = 0, n;
	struct req *r;

	if (w->phase == PH_FILL) {
		op = WL_OP_SET;
		idx = w->fill_next++;
	} else {
		op = cfg->get_ratio >= 1.0 || wl_rng_double(&w->rng) < cfg->get_ratio ? WL_OP_GET
										      : WL_OP_SET;
		idx = pick_key(w);
	}
	wl_key_format(&cfg->kf, idx, w->key);
	if (op == WL_OP_SET) {
		vlen = cfg->vmin;
		if (cfg->vmax > cfg->vmin)
			vlen += (size_t)wl_rng_below(&w->rng, cfg->vmax - cfg->vmin + 1);
		if (cfg->verify)
			wl_value_fill(&cfg->vf, idx, w->ver++, w->vbuf, vlen);
	}
	if (c->udp) {
		unsigned slot = c->freel[--c->nfree];
		uint8_t *d = c->tx + (size_t)c->ntx * cfg->max_dgram;

		r = &c->rq[slot];
		r->id = c->next_id++;
		wl_mcudp_put_hdr(d, r->id);
		n = wl_req_build(cfg->proto, op, w->key, cfg->key_size, w->vbuf, vlen,
				 (char *)d + WL_MCUDP_HDR, cfg->max_dgram - WL_MCUDP_HDR);
		c->txv[c->ntx].iov_base = d;
		c->txv[c->ntx].iov_len = n + WL_MCUDP_HDR;
		c->txslot[c->ntx++] = slot;
		wl_reasm_reset(&r->ra);
		r->busy = 1;
	} else {
		if (c->out_cap - c->out_len < cfg->req_max) {
			size_t cap = c->out_cap * 2 + cfg->req_max;
			char *p = realloc(c->out, cap);

			if (!p) {
				w->c->err_io++;
				return;
			}
			c->out = p;
			c->out_cap = cap;
		}
		n = wl_req_build(cfg->proto, op, w->key, cfg->key_size, w->vbuf, vlen,
				 c->out + c->out_len, c->out_cap - c->out_len);
		c->out_len += n;
		r = &c->rq[(c->head + c->count) % cfg->depth];
	}
	r->op = (uint8_t)op;
	r->idx = idx;
	r->t0 = t0;
	r->ts = now;
	c->count++;
	w->inflight++;
	w->c->issued++;
}

static void flush_tcp(struct worker *w, struct conn *c, uint64_t now)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n > 0) {
			c->out_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_events(w, c, 1);
			return;
		} else {
			conn_reset(w, c, now, 0);
			return;
		}
	}
	c->out_off = 0;
	c->out_len = 0;
	set_events(w, c, 0);
}

static void flush_udp(struct worker *w, struct conn *c)
{
	unsigned sent = 0;

	while (sent < c->ntx) {
		int n = sendmmsg(c->fd, c->txm + sent, c->ntx - sent, 0);

		if (n > 0) {
			sent += (unsigned)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			/* Not sent (a full buffer, or a refusal reported by ICMP): never answered. */
			for (; sent < c->ntx; sent++) {
				w->c->err_io++;
				udp_free_slot(w, c, c->txslot[sent]);
			}
		}
	}
	c->ntx = 0;
}

static void flush_all(struct worker *w, uint64_t now)
{
	for (unsigned i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if (c->fd < 0)
			continue;
		if (c->udp && c->ntx)
			flush_udp(w, c);
		else if (!c->udp && c->out_len > c->out_off && !c->pollout)
			flush_tcp(w, c, now);
	}
}

/* Account one parsed reply. */
static void complete(struct worker *w, const struct req *r, const struct wl_reply *rep,
		     uint64_t now)
{
	struct counters *c = w->c;

	c->done++;
	if (r->op == WL_OP_GET)
		c->gets++;
	else
		c->sets++;
	switch (rep->kind) {
	case WL_R_HIT:
		c->hits++;
		if (w->cfg->verify && wl_value_check(&w->cfg->vf, r->idx, rep->val, rep->vlen) < 0)
			c->err_verify++;
		break;
	case WL_R_MISS:
		c->misses++;
		break;
	case WL_R_STORED:
		c->stored++;
		break;
	case WL_R_NOT_STORED:
		c->not_stored++;
		break;
	case WL_R_SERVER_ERROR:
		c->err_server++;
		break;
	case WL_R_UNEXPECTED:
		c->err_proto++;
		break;
	}
	if (w->phase == PH_RUN) {
		wl_hist_record(w->h[r->op], now > r->t0 ? now - r->t0 : 0);
		w->t_last = now;
	}
}

static void parse_tcp(struct worker *w, struct conn *c, uint64_t now)
{
	const struct cfg *cfg = w->cfg;
	size_t pos = 0;

	while (c->count) {
		struct req *r = &c->rq[c->head];
		struct wl_reply rep;
		int st;

		wl_key_format(&cfg->kf, r->idx, w->key);
		st = wl_reply_parse(cfg->proto, (enum wl_op)r->op, w->key, cfg->key_size,
				    c->in + pos, c->in_len - pos, &rep);
		if (st == WL_P_NEED_MORE)
			break;
		if (st != WL_P_OK) {
			w->c->err_proto++;
			conn_reset(w, c, now, 0);
			return;
		}
		complete(w, r, &rep, now);
		pos += rep.consumed;
		c->head = (c->head + 1) % cfg->depth;
		c->count--;
		w->inflight--;
	}
	if (c->count == 0 && pos < c->in_len) {
		/* Bytes nobody asked for: the stream is out of step. */
		w->c->err_proto++;
		conn_reset(w, c, now, 0);
		return;
	}
	if (pos) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
}

static void rx_tcp(struct worker *w, struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_len == c->in_cap) {
			size_t cap = c->in_cap * 2;
			char *p;

			if (cap > TCP_IN_MAX || !(p = realloc(c->in, cap))) {
				w->c->err_proto++;
				conn_reset(w, c, now_ns(), 0);
				return;
			}
			c->in = p;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n > 0) {
			c->in_len += (size_t)n;
			parse_tcp(w, c, now_ns());
			if (c->fd < 0)
				return;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else {
			/* Closed by the server, or reset. */
			w->c->err_io++;
			conn_reset(w, c, now_ns(), 0);
			return;
		}
	}
}

static void udp_dgram(struct worker *w, struct conn *c, const uint8_t *p, size_t len, uint64_t now)
{
	const struct cfg *cfg = w->cfg;
	struct wl_mcudp_hdr h;
	struct wl_reply rep;
	const uint8_t *pl;
	size_t plen;
	struct req *r = NULL;
	unsigned slot;
	int rc;

	if (wl_mcudp_parse_hdr(p, len, &h) < 0) {
		w->c->err_proto++;
		return;
	}
	for (slot = 0; slot < cfg->depth; slot++) {
		if (c->rq[slot].busy && c->rq[slot].id == h.id) {
			r = &c->rq[slot];
			break;
		}
	}
	if (!r) {
		w->c->stale++;
		return;
	}
	pl = p + WL_MCUDP_HDR;
	plen = len - WL_MCUDP_HDR;
	if (h.total != 1 || r->ra.total) {
		rc = wl_reasm_add(&r->ra, h.seq, h.total, pl, plen);
		if (rc == 0)
			return;
		if (rc == -EALREADY) {
			w->c->stale++;
			return;
		}
		if (rc < 0) {
			w->c->err_proto++;
			udp_free_slot(w, c, slot);
			return;
		}
		pl = wl_reasm_data(&r->ra, &plen);
		if (h.total > 1)
			w->c->multi_dgram++;
	}
	wl_key_format(&cfg->kf, r->idx, w->key);
	rc = wl_reply_parse(cfg->proto, (enum wl_op)r->op, w->key, cfg->key_size, (const char *)pl,
			    plen, &rep);
	if (rc == WL_P_OK && rep.consumed == plen)
		complete(w, r, &rep, now);
	else
		w->c->err_proto++; /* garbage, truncated, or more than one reply */
	udp_free_slot(w, c, slot);
}

static void rx_udp(struct worker *w, struct conn *c)
{
	for (;;) {
		int n = recvmmsg(c->fd, w->rxm, UDP_BATCH, MSG_DONTWAIT, NULL);
		uint64_t now;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				w->c->err_io++; /* e.g. ECONNREFUSED: nobody listens */
			return;
		}
		now = now_ns();
		for (int i = 0; i < n; i++) {
			if (w->rxm[i].msg_hdr.msg_flags & MSG_TRUNC)
				w->c->err_proto++;
			else
				udp_dgram(w, c, w->rxbuf + (size_t)i * UDP_RX_BUF,
					  w->rxm[i].msg_len, now);
		}
		if (n < UDP_BATCH)
			return;
	}
}

static void scan_timeouts(struct worker *w, uint64_t now)
{
	uint64_t tmo = w->cfg->timeout_ns;

	for (unsigned i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if (c->udp) {
			for (unsigned s = 0; s < w->cfg->depth && c->count; s++) {
				if (c->rq[s].busy && now - c->rq[s].ts > tmo) {
					w->c->timeouts++;
					udp_free_slot(w, c, s);
				}
			}
		} else if (c->fd < 0) {
			if (now >= c->retry_at && conn_open(w, c) < 0) {
				w->c->err_io++;
				c->retry_at = now + RETRY_NS;
			}
		} else if (c->count && now - c->rq[c->head].ts > tmo) {
			conn_reset(w, c, now, 1);
		}
	}
}

static int quota_left(const struct worker *w)
{
	return !w->quota || w->c->issued < w->quota;
}

/* Issue what this phase allows now; clears w->issuing when it has nothing more to send. */
static void top_up(struct worker *w, uint64_t now)
{
	if (w->phase == PH_FILL) {
		for (unsigned i = 0; i < w->nconns && w->fill_next < w->fill_end; i++)
			while (can_issue(w, &w->conns[i]) && w->fill_next < w->fill_end)
				issue(w, &w->conns[i], now, now);
		if (w->fill_next >= w->fill_end)
			w->issuing = 0;
	} else if (w->rate <= 0) {
		for (unsigned i = 0; i < w->nconns && quota_left(w); i++)
			while (can_issue(w, &w->conns[i]) && quota_left(w))
				issue(w, &w->conns[i], now, now);
	} else {
		w->blocked = 0;
		while (w->next_ns <= now && quota_left(w)) {
			struct conn *c = NULL;

			for (unsigned k = 0; k < w->nconns; k++) {
				struct conn *t = &w->conns[(w->rr + k) % w->nconns];

				if (can_issue(w, t)) {
					c = t;
					w->rr = (w->rr + k + 1) % w->nconns;
					break;
				}
			}
			if (!c) {
				w->blocked = 1;
				break; /* all full: the backlog waits, its latency already counting */
			}
			issue(w, c, now, w->next_ns);
			w->next_ns += wl_rng_exp_ns(&w->rng, w->rate);
		}
	}
	/* -n bounds the measured run only; the fill always sets every key. */
	if (w->phase != PH_FILL && !quota_left(w))
		w->issuing = 0;
}

static void publish(struct worker *w)
{
	const struct counters *c = &w->run;

	__atomic_store_n(&w->pub.done, c->done, __ATOMIC_RELAXED);
	__atomic_store_n(&w->pub.gets, c->gets, __ATOMIC_RELAXED);
	__atomic_store_n(&w->pub.hits, c->hits, __ATOMIC_RELAXED);
	__atomic_store_n(&w->pub.errors, errors_of(c), __ATOMIC_RELAXED);
	__atomic_store_n(&w->pub.timeouts, c->timeouts, __ATOMIC_RELAXED);
}

/* Run one phase to its end: nothing more to send and nothing in flight, or the drain timed out. */
static void run_phase(struct worker *w)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t now = now_ns();
	uint64_t scan_every =
		w->cfg->timeout_ns / 10 < NS_PER_MS ? NS_PER_MS : w->cfg->timeout_ns / 10;
	uint64_t next_scan = now + scan_every;

	w->issuing = 1;
	for (;;) {
		uint64_t wait = MAX_WAIT_NS;
		struct timespec ts;
		int nev;

		now = now_ns();
		if (w->issuing && (g_abort || (w->phase == PH_RUN && stopping())))
			w->issuing = 0;
		if (w->issuing)
			top_up(w, now);
		if (!w->issuing && !w->drain_until) {
			w->t_stop = now;
			w->drain_until = now + w->cfg->timeout_ns + NS_PER_MS;
		}
		flush_all(w, now);
		if (w->phase == PH_RUN)
			publish(w);
		if (!w->issuing && (w->inflight == 0 || now >= w->drain_until || g_abort))
			break;
		if (now >= next_scan) {
			scan_timeouts(w, now);
			next_scan = now + scan_every;
		}
		if (w->issuing && w->rate > 0 && w->phase == PH_RUN && !w->blocked)
			wait = w->next_ns > now ? w->next_ns - now : 0;
		if (!w->issuing && w->drain_until - now < wait)
			wait = w->drain_until - now;
		if (next_scan > now && next_scan - now < wait)
			wait = next_scan - now;
		if (wait > MAX_WAIT_NS)
			wait = MAX_WAIT_NS;
		ts.tv_sec = (time_t)(wait / NS_PER_S);
		ts.tv_nsec = (long)(wait % NS_PER_S);
		nev = epoll_pwait2(w->ep, evs, MAX_EVENTS, &ts, NULL);
		for (int i = 0; i < nev; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->fd < 0)
				continue;
			if (c->udp) {
				rx_udp(w, c);
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				rx_tcp(w, c);
			if (c->fd >= 0 && (evs[i].events & EPOLLOUT))
				flush_tcp(w, c, now_ns());
		}
	}
	/* What is still in flight after the drain never got its reply. */
	w->c->timeouts += w->inflight;
	for (unsigned i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if (c->udp) {
			for (unsigned s = 0; s < w->cfg->depth; s++)
				if (c->rq[s].busy)
					udp_free_slot(w, c, s);
		} else if (c->count) {
			/* Late replies would be taken for the next phase's: start afresh. */
			w->c->timeouts -= c->count;
			conn_reset(w, c, now_ns(), 1);
			w->c->reconnects--;
		}
	}
	w->inflight = 0;
	w->drain_until = 0;
}

static void worker_free(struct worker *w)
{
	for (unsigned i = 0; w->conns && i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if (c->fd >= 0)
			close(c->fd);
		for (unsigned s = 0; c->rq && s < w->cfg->depth; s++)
			wl_reasm_free(&c->rq[s].ra);
		free(c->rq);
		free(c->out);
		free(c->in);
		free(c->freel);
		free(c->tx);
		free(c->txm);
		free(c->txv);
		free(c->txslot);
	}
	free(w->conns);
	free(w->vbuf);
	free(w->rxbuf);
	free(w->h[0]);
	free(w->h[1]);
	if (w->ep >= 0)
		close(w->ep);
}

static int worker_setup(struct worker *w)
{
	const struct cfg *cfg = w->cfg;
	unsigned depth = cfg->depth;
	int rc;

	w->ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->ep < 0)
		return -errno;
	w->conns = calloc(w->nconns, sizeof(*w->conns));
	w->vbuf = malloc(cfg->vmax + 1);
	w->h[0] = malloc(sizeof(struct wl_hist));
	w->h[1] = malloc(sizeof(struct wl_hist));
	if (!w->conns || !w->vbuf || !w->h[0] || !w->h[1])
		return -ENOMEM;
	wl_hist_reset(w->h[0]);
	wl_hist_reset(w->h[1]);
	/* Without --verify every value is the same filler: make it once. */
	wl_value_fill(&cfg->vf, 0, 0, w->vbuf, cfg->vmax);
	if (cfg->udp) {
		w->rxbuf = malloc((size_t)UDP_BATCH * UDP_RX_BUF);
		if (!w->rxbuf)
			return -ENOMEM;
		for (unsigned i = 0; i < UDP_BATCH; i++) {
			w->rxv[i].iov_base = w->rxbuf + (size_t)i * UDP_RX_BUF;
			w->rxv[i].iov_len = UDP_RX_BUF;
			w->rxm[i].msg_hdr.msg_iov = &w->rxv[i];
			w->rxm[i].msg_hdr.msg_iovlen = 1;
		}
	}
	for (unsigned i = 0; i < w->nconns; i++)
		w->conns[i].fd = -1;
	for (unsigned i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		c->udp = cfg->udp;
		c->rq = calloc(depth, sizeof(*c->rq));
		if (!c->rq)
			return -ENOMEM;
		if (c->udp) {
			c->freel = malloc(depth * sizeof(*c->freel));
			c->tx = malloc((size_t)depth * cfg->max_dgram);
			c->txm = calloc(depth, sizeof(*c->txm));
			c->txv = calloc(depth, sizeof(*c->txv));
			c->txslot = calloc(depth, sizeof(*c->txslot));
			if (!c->freel || !c->tx || !c->txm || !c->txv || !c->txslot)
				return -ENOMEM;
			for (unsigned s = 0; s < depth; s++) {
				c->freel[s] = depth - 1 - s;
				c->txm[s].msg_hdr.msg_iov = &c->txv[s];
				c->txm[s].msg_hdr.msg_iovlen = 1;
				wl_reasm_init(&c->rq[s].ra);
			}
			c->nfree = depth;
			c->next_id = (uint16_t)(w->id * 7919 + i * 131);
		} else {
			c->out_cap = (size_t)depth * cfg->req_max;
			c->out = malloc(c->out_cap);
			c->in_cap = TCP_IN_INIT;
			c->in = malloc(c->in_cap);
			if (!c->out || !c->in)
				return -ENOMEM;
		}
		rc = conn_open(w, c);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct cfg *cfg = w->cfg;
	int rc;

	/* Open-loop sends are timed by epoll waits of microseconds. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	rc = worker_setup(w);
	if (rc < 0) {
		w->fatal = rc;
		__atomic_store_n(&g_fatal, 1, __ATOMIC_RELAXED);
	} else if (cfg->fill) {
		uint64_t t = now_ns();

		w->phase = PH_FILL;
		w->c = &w->fill;
		w->fill_next = cfg->keys * w->id / cfg->threads;
		w->fill_end = cfg->keys * (w->id + 1) / cfg->threads;
		run_phase(w);
		w->fill_ns = now_ns() - t;
	}
	pthread_barrier_wait(&g_barrier);
	if (!__atomic_load_n(&g_fatal, __ATOMIC_RELAXED) && !g_abort) {
		w->phase = PH_RUN;
		w->c = &w->run;
		w->t_start = now_ns();
		w->next_ns = w->t_start;
		run_phase(w);
	}
	publish(w);
	__atomic_store_n(&w->pub.finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Command line                                                             */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: wireload --server HOST:PORT [options]\n\n"
		"Load generator for memcached (text and meta, TCP and UDP) and RESP2 servers.\n\n");
#define X(id, name, sh, arg, meta, help) \
	fprintf(f, "  -%c, --%-12s %-18s %s\n", sh, name, arg ? meta : "", help);
	WL_OPTIONS(X)
#undef X
	fprintf(f, "\nExit status: 0 done; 1 cannot run (bad server, no connection); 2 bad "
		   "usage;\n3 --verify was given and an error (not a timeout) was counted.\n");
}

static int parse_u64_arg(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static int parse_double_arg(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return errno || *end || end == s || !isfinite(*v) ? -EINVAL : 0;
}

static int parse_server(struct cfg *cfg)
{
	char host[256];
	const char *colon = strrchr(cfg->server, ':');
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	uint64_t port;
	size_t hl;

	if (!colon || parse_u64_arg(colon + 1, &port) < 0 || port == 0 || port > 65535)
		return -EINVAL;
	hl = (size_t)(colon - cfg->server);
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, cfg->server, hl);
	host[hl] = '\0';
	if (getaddrinfo(host, NULL, &hints, &ai) != 0)
		return -EINVAL;
	memcpy(&cfg->addr, ai->ai_addr, sizeof(cfg->addr));
	cfg->addr.sin_port = htons((uint16_t)port);
	freeaddrinfo(ai);
	return 0;
}

static int bad(const char *what, const char *arg)
{
	fprintf(stderr, "wireload: bad %s '%s' (see --help)\n", what, arg ? arg : "");
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct cfg *cfg)
{
	char shorts[128] = "";
	size_t sl = 0;
	uint64_t u;
	int o;

#define X(id, name, sh, arg, meta, help) \
	shorts[sl++] = sh;               \
	if (arg)                         \
		shorts[sl++] = ':';
	WL_OPTIONS(X)
#undef X
	shorts[sl] = '\0';

	*cfg = (struct cfg){ .proto_name = "mc-tcp",
			     .proto = WL_PROTO_MC_TEXT,
			     .threads = 1,
			     .conns = 4,
			     .depth = 1,
			     .duration = 10,
			     .keys = 100000,
			     .key_size = 16,
			     .vmin = 32,
			     .vmax = 32,
			     .get_ratio = 0.9,
			     .dist_name = "uniform",
			     .zipf_s = 0.99,
			     .timeout_ns = NS_PER_S,
			     .max_dgram = 1400,
			     .seed = 1 };
	while ((o = getopt_long(argc, argv, shorts, long_opts, NULL)) != -1) {
		switch (o) {
		case OPT_SERVER:
			cfg->server = optarg;
			break;
		case OPT_PROTO: {
			size_t i;

			for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
				if (strcmp(optarg, protos[i].name) == 0)
					break;
			if (i == sizeof(protos) / sizeof(protos[0]))
				return bad("--proto", optarg);
			cfg->proto_name = protos[i].name;
			cfg->proto = protos[i].proto;
			cfg->udp = protos[i].udp;
			break;
		}
		case OPT_THREADS:
			if (parse_u64_arg(optarg, &u) < 0 || u == 0 || u > MAX_THREADS)
				return bad("--threads", optarg);
			cfg->threads = (unsigned)u;
			break;
		case OPT_CONNS:
			if (parse_u64_arg(optarg, &u) < 0 || u == 0 || u > 65536)
				return bad("--conns", optarg);
			cfg->conns = (unsigned)u;
			break;
		case OPT_DEPTH:
			if (parse_u64_arg(optarg, &u) < 0 || u == 0 || u > MAX_DEPTH_TCP)
				return bad("--depth", optarg);
			cfg->depth = (unsigned)u;
			break;
		case OPT_DURATION:
			if (parse_double_arg(optarg, &cfg->duration) < 0 || cfg->duration <= 0 ||
			    cfg->duration > 1e7)
				return bad("--duration", optarg);
			cfg->duration_set = 1;
			break;
		case OPT_REQUESTS:
			if (parse_u64_arg(optarg, &cfg->requests) < 0 || cfg->requests == 0)
				return bad("--requests", optarg);
			break;
		case OPT_RATE:
			if (parse_double_arg(optarg, &cfg->rate) < 0 || cfg->rate <= 0)
				return bad("--rate", optarg);
			break;
		case OPT_KEYS:
			if (parse_u64_arg(optarg, &cfg->keys) < 0 || cfg->keys == 0)
				return bad("--keys", optarg);
			break;
		case OPT_KEY_SIZE:
			if (parse_u64_arg(optarg, &u) < 0 || u == 0 || u > WL_KEY_MAX)
				return bad("--key-size", optarg);
			cfg->key_size = (size_t)u;
			break;
		case OPT_VALUE_SIZE: {
			char *dash = strchr(optarg, '-');
			uint64_t lo, hi;

			if (dash) {
				char lo_s[32];
				size_t n = (size_t)(dash - optarg);

				if (n == 0 || n >= sizeof(lo_s))
					return bad("--value-size", optarg);
				memcpy(lo_s, optarg, n);
				lo_s[n] = '\0';
				if (parse_u64_arg(lo_s, &lo) < 0 ||
				    parse_u64_arg(dash + 1, &hi) < 0)
					return bad("--value-size", optarg);
			} else if (parse_u64_arg(optarg, &lo) < 0) {
				return bad("--value-size", optarg);
			} else {
				hi = lo;
			}
			if (lo > hi || hi > WL_VALUE_MAX)
				return bad("--value-size", optarg);
			cfg->vmin = (size_t)lo;
			cfg->vmax = (size_t)hi;
			break;
		}
		case OPT_GET_RATIO:
			if (parse_double_arg(optarg, &cfg->get_ratio) < 0 || cfg->get_ratio < 0 ||
			    cfg->get_ratio > 1)
				return bad("--get-ratio", optarg);
			break;
		case OPT_DIST:
			cfg->dist_name = optarg;
			if (strcmp(optarg, "uniform") == 0) {
				cfg->zipf = 0;
			} else if (strcmp(optarg, "zipf") == 0) {
				cfg->zipf = 1;
			} else if (strncmp(optarg, "zipf:", 5) == 0) {
				cfg->zipf = 1;
				if (parse_double_arg(optarg + 5, &cfg->zipf_s) < 0 ||
				    cfg->zipf_s <= 0 || cfg->zipf_s > 100)
					return bad("--dist", optarg);
			} else {
				return bad("--dist", optarg);
			}
			break;
		case OPT_FILL:
			cfg->fill = 1;
			break;
		case OPT_VERIFY:
			cfg->verify = 1;
			break;
		case OPT_TIMEOUT:
			if (parse_u64_arg(optarg, &u) < 0 || u == 0 || u > 3600000)
				return bad("--timeout", optarg);
			cfg->timeout_ns = u * NS_PER_MS;
			break;
		case OPT_MAX_DGRAM:
			if (parse_u64_arg(optarg, &u) < 0 || u < 64 || u > 65507)
				return bad("--max-dgram", optarg);
			cfg->max_dgram = (size_t)u;
			break;
		case OPT_SEED:
			if (parse_u64_arg(optarg, &cfg->seed) < 0)
				return bad("--seed", optarg);
			break;
		case OPT_JSON:
			cfg->json = optarg;
			break;
		case OPT_QUIET:
			cfg->quiet = 1;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return bad("argument", argv[optind]);
	if (!cfg->server)
		return bad("--server", "(missing)");
	if (parse_server(cfg) < 0)
		return bad("--server", cfg->server);
	if (cfg->conns < cfg->threads)
		return bad("--conns (fewer than --threads)", "");
	if (cfg->udp && cfg->depth > MAX_DEPTH_UDP)
		return bad("--depth (UDP: at most 1024)", "");
	if (cfg->requests && !cfg->duration_set)
		cfg->duration = COUNT_ONLY_CAP;
	if (wl_keyfmt_init(&cfg->kf, cfg->key_size, cfg->keys) < 0)
		return bad("--key-size (too short for --keys)", "");
	if (wl_valfmt_init(&cfg->vf, cfg->vmin, cfg->vmax, cfg->keys, cfg->verify) < 0) {
		struct wl_valfmt f = { .idx_width = cfg->vf.idx_width };

		fprintf(stderr, "wireload: --verify needs --value-size of at least %zu\n",
			wl_value_hdr_len(&f));
		return -EINVAL;
	}
	if (cfg->zipf && wl_zipf_init(&(struct wl_zipf){ 0 }, cfg->keys, cfg->zipf_s) < 0)
		return bad("--dist", cfg->dist_name);
	cfg->req_max = wl_req_max_len(cfg->proto, cfg->key_size, cfg->vmax);
	if (cfg->udp && (cfg->fill || cfg->get_ratio < 1.0)) {
		/* memcached takes a request in one datagram only. */
		char *tmp = malloc(cfg->req_max), *val = malloc(cfg->vmax + 1);
		char key[WL_KEY_MAX];
		size_t n = 0;

		if (tmp && val) {
			memset(val, 'x', cfg->vmax);
			wl_key_format(&cfg->kf, 0, key);
			n = wl_req_build(cfg->proto, WL_OP_SET, key, cfg->key_size, val, cfg->vmax,
					 tmp, cfg->req_max);
		}
		free(tmp);
		free(val);
		if (n == 0 || n + WL_MCUDP_HDR > cfg->max_dgram) {
			fprintf(stderr,
				"wireload: a set of %zu bytes does not fit a %zu byte datagram: "
				"set over TCP (e.g. --proto mc-tcp --fill), then --get-ratio 1 "
				"over "
				"UDP, or raise --max-dgram\n",
				cfg->vmax, cfg->max_dgram);
			return -EINVAL;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Report                                                                   */
/* ------------------------------------------------------------------------ */

struct result {
	struct counters fill;
	struct counters run;
	struct wl_hist *h[3]; /**< get, set, all */
	double fill_s;
	double elapsed_s;
	double send_s;
};

static const char *pct_names[] = { "p50", "p90", "p99", "p99_9" };
static const double pcts[] = { 50, 90, 99, 99.9 };

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static void print_lat_row(FILE *f, const char *name, const struct wl_hist *h)
{
	fprintf(f, "  %-5s %10" PRIu64, name, h->count);
	if (!h->count) {
		fprintf(f, "\n");
		return;
	}
	for (unsigned i = 0; i < 4; i++)
		fprintf(f, " %9.1f", us(wl_hist_percentile(h, pcts[i])));
	fprintf(f, " %9.1f %9.1f\n", us(h->max), us(h->sum) / (double)h->count);
}

static void print_report(const struct cfg *cfg, const struct result *res)
{
	const struct counters *c = &res->run;
	double tput = res->elapsed_s > 0 ? (double)c->done / res->elapsed_s : 0;

	printf("wireload %s %s: %s loop, %u thread%s, %u conns, depth %u", cfg->server,
	       cfg->proto_name, cfg->rate > 0 ? "open" : "closed", cfg->threads,
	       cfg->threads > 1 ? "s" : "", cfg->conns, cfg->depth);
	if (cfg->rate > 0)
		printf(", rate %.0f/s", cfg->rate);
	printf("\n  %" PRIu64 " keys of %zu B, values %zu", cfg->keys, cfg->key_size, cfg->vmin);
	if (cfg->vmax != cfg->vmin)
		printf("-%zu", cfg->vmax);
	printf(" B, get ratio %.3g, %s%s\n", cfg->get_ratio, cfg->dist_name,
	       cfg->verify ? ", verify" : "");
	if (cfg->fill)
		printf("fill:   %" PRIu64 " sets in %.3f s: %" PRIu64 " stored, %" PRIu64
		       " errors, %" PRIu64 " timeouts\n",
		       res->fill.sets, res->fill_s, res->fill.stored, errors_of(&res->fill),
		       res->fill.timeouts);
	printf("run:    %.3f s, %" PRIu64 " requests, %" PRIu64 " replies, %.0f replies/s",
	       res->elapsed_s, c->issued, c->done, tput);
	if (cfg->rate > 0 && res->send_s > 0)
		printf(" (sent %.0f/s of %.0f/s asked)", (double)c->issued / res->send_s,
		       cfg->rate);
	printf("\n  gets %" PRIu64 ": %" PRIu64 " hits, %" PRIu64 " misses (hit ratio %.2f%%); "
	       "sets %" PRIu64 ": %" PRIu64 " stored\n",
	       c->gets, c->hits, c->misses,
	       c->gets ? 100.0 * (double)c->hits / (double)(c->hits + c->misses) : 0.0, c->sets,
	       c->stored);
	printf("  errors %" PRIu64 " (not stored %" PRIu64 ", server %" PRIu64 ", protocol %" PRIu64
	       ", verify %" PRIu64 ", io %" PRIu64 "); timeouts %" PRIu64 "; reconnects %" PRIu64
	       "\n",
	       errors_of(c), c->not_stored, c->err_server, c->err_proto, c->err_verify, c->err_io,
	       c->timeouts, c->reconnects);
	if (cfg->udp)
		printf("  UDP: %" PRIu64 " replies of several datagrams, %" PRIu64
		       " stale datagrams\n",
		       c->multi_dgram, c->stale);
	printf("latency (us)  count       p50       p90       p99     p99.9       max      mean\n");
	print_lat_row(stdout, "all", res->h[2]);
	print_lat_row(stdout, "get", res->h[0]);
	print_lat_row(stdout, "set", res->h[1]);
}

static void json_counters(FILE *f, const struct counters *c)
{
	const char *sep = "";

	fprintf(f, "{");
#define X(name, desc)                                          \
	fprintf(f, "%s\"%s\": %" PRIu64, sep, #name, c->name); \
	sep = ", ";
	WL_COUNTERS(X)
#undef X
	fprintf(f, "}");
}

static void json_hist(FILE *f, const struct wl_hist *h)
{
	fprintf(f, "{\"count\": %" PRIu64, h->count);
	if (h->count) {
		fprintf(f, ", \"min\": %.3f, \"mean\": %.3f", us(h->min),
			us(h->sum) / (double)h->count);
		for (unsigned i = 0; i < 4; i++)
			fprintf(f, ", \"%s\": %.3f", pct_names[i],
				us(wl_hist_percentile(h, pcts[i])));
		fprintf(f, ", \"max\": %.3f", us(h->max));
	}
	fprintf(f, "}");
}

/* A string from the command line, escaped for JSON. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static int write_json(const struct cfg *cfg, const struct result *res)
{
	const struct counters *c = &res->run;
	FILE *f = fopen(cfg->json, "w");

	if (!f)
		return -errno;
	fprintf(f, "{\n  \"tool\": \"wireload\",\n  \"schema\": 1,\n  \"config\": {\"server\": ");
	json_str(f, cfg->server);
	fprintf(f,
		", \"proto\": \"%s\", \"transport\": \"%s\", \"mode\": \"%s\", "
		"\"threads\": %u, \"conns\": %u, \"depth\": %u, \"duration_s\": %.3f, "
		"\"requests\": %" PRIu64 ", \"rate\": %.3f, \"keys\": %" PRIu64
		", \"key_size\": %zu, \"value_size_min\": %zu, \"value_size_max\": %zu, "
		"\"get_ratio\": %.6g, \"dist\": \"%s\", \"zipf_s\": %.6g, \"fill\": %s, "
		"\"verify\": %s, \"timeout_ms\": %.3f, \"seed\": %" PRIu64 "},\n",
		cfg->proto_name, cfg->udp ? "udp" : "tcp", cfg->rate > 0 ? "open" : "closed",
		cfg->threads, cfg->conns, cfg->depth, cfg->duration, cfg->requests, cfg->rate,
		cfg->keys, cfg->key_size, cfg->vmin, cfg->vmax, cfg->get_ratio,
		cfg->zipf ? "zipf" : "uniform", cfg->zipf ? cfg->zipf_s : 0.0,
		cfg->fill ? "true" : "false", cfg->verify ? "true" : "false",
		(double)cfg->timeout_ns / 1e6, cfg->seed);
	if (cfg->fill) {
		fprintf(f,
			"  \"fill\": {\"seconds\": %.6f, \"errors\": %" PRIu64
			", \"timeouts\": %" PRIu64 ", \"counters\": ",
			res->fill_s, errors_of(&res->fill), res->fill.timeouts);
		json_counters(f, &res->fill);
		fprintf(f, "},\n");
	} else {
		fprintf(f, "  \"fill\": null,\n");
	}
	fprintf(f,
		"  \"elapsed_s\": %.6f,\n  \"requests\": %" PRIu64 ",\n  \"replies\": %" PRIu64
		",\n  \"throughput_rps\": %.3f,\n  \"send_rate_rps\": %.3f,\n  \"hits\": %" PRIu64
		",\n  \"misses\": %" PRIu64 ",\n  \"hit_ratio\": %.6f,\n  \"errors\": %" PRIu64
		",\n  \"timeouts\": %" PRIu64 ",\n  \"counters\": ",
		res->elapsed_s, c->issued, c->done,
		res->elapsed_s > 0 ? (double)c->done / res->elapsed_s : 0.0,
		res->send_s > 0 ? (double)c->issued / res->send_s : 0.0, c->hits, c->misses,
		c->hits + c->misses ? (double)c->hits / (double)(c->hits + c->misses) : 0.0,
		errors_of(c), c->timeouts);
	json_counters(f, c);
	fprintf(f, ",\n  \"latency_us\": {\"all\": ");
	json_hist(f, res->h[2]);
	fprintf(f, ", \"get\": ");
	json_hist(f, res->h[0]);
	fprintf(f, ", \"set\": ");
	json_hist(f, res->h[1]);
	fprintf(f, "}\n}\n");
	return fclose(f) == 0 ? 0 : -errno;
}

/* ------------------------------------------------------------------------ */
/* Main                                                                     */
/* ------------------------------------------------------------------------ */

static void on_signal(int sig)
{
	(void)sig;
	g_abort = 1;
}

static void add_counters(struct counters *d, const struct counters *s)
{
#define X(name, desc) d->name += s->name;
	WL_COUNTERS(X)
#undef X
}

static void progress(const struct worker *ws, unsigned n, double t, uint64_t *last_done)
{
	uint64_t done = 0, gets = 0, hits = 0, err = 0, tmo = 0;

	for (unsigned i = 0; i < n; i++) {
		done += __atomic_load_n(&ws[i].pub.done, __ATOMIC_RELAXED);
		gets += __atomic_load_n(&ws[i].pub.gets, __ATOMIC_RELAXED);
		hits += __atomic_load_n(&ws[i].pub.hits, __ATOMIC_RELAXED);
		err += __atomic_load_n(&ws[i].pub.errors, __ATOMIC_RELAXED);
		tmo += __atomic_load_n(&ws[i].pub.timeouts, __ATOMIC_RELAXED);
	}
	fprintf(stderr,
		"wireload: %5.1fs %9" PRIu64 " replies/s, %" PRIu64 " in all, hits %.1f%%, "
		"errors %" PRIu64 ", timeouts %" PRIu64 "\n",
		t, done - *last_done, done, gets ? 100.0 * (double)hits / (double)gets : 0.0, err,
		tmo);
	*last_done = done;
}

int main(int argc, char **argv)
{
	struct cfg cfg;
	struct worker *ws = NULL;
	struct result res = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t t0, t_end = 0, t_send_end = 0, last_done = 0;
	unsigned started = 0;
	int rc = 1, err;

	if (parse_args(argc, argv, &cfg) < 0)
		return 2;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ws = calloc(cfg.threads, sizeof(*ws));
	for (unsigned i = 0; i < 3; i++) {
		res.h[i] = malloc(sizeof(struct wl_hist));
		if (res.h[i])
			wl_hist_reset(res.h[i]);
	}
	if (!ws || !res.h[0] || !res.h[1] || !res.h[2]) {
		fprintf(stderr, "wireload: out of memory\n");
		goto fail;
	}
	pthread_barrier_init(&g_barrier, NULL, cfg.threads + 1);
	for (unsigned i = 0; i < cfg.threads; i++) {
		struct worker *w = &ws[i];

		w->id = i;
		w->cfg = &cfg;
		w->ep = -1;
		w->c = &w->run;
		w->nconns = cfg.conns / cfg.threads + (i < cfg.conns % cfg.threads);
		w->quota = cfg.requests / cfg.threads + (i < cfg.requests % cfg.threads);
		w->rate = cfg.rate / cfg.threads;
		w->ver = i << 24;
		wl_rng_seed(&w->rng, cfg.seed * 0x9e3779b97f4a7c15ull + i);
		if (cfg.zipf)
			wl_zipf_init(&w->zipf, cfg.keys, cfg.zipf_s);
		err = pthread_create(&w->th, NULL, worker_main, w);
		if (err) {
			/* The barrier counts on every thread: nothing to do but leave. */
			fprintf(stderr, "wireload: pthread_create: %s\n", strerror(err));
			exit(1);
		}
		started++;
	}
	pthread_barrier_wait(&g_barrier);
	t0 = now_ns();
	for (unsigned i = 0; i < cfg.threads; i++) {
		if (ws[i].fatal) {
			fprintf(stderr, "wireload: %s: %s\n", cfg.server, strerror(-ws[i].fatal));
			goto join;
		}
	}
	/* Progress once a second until the duration ends or every worker is done. */
	for (uint64_t tick = 1;; tick++) {
		uint64_t end = t0 + (uint64_t)(cfg.duration * 1e9);
		uint64_t next = t0 + tick * NS_PER_S;
		unsigned finished = 0;

		while (!g_abort && now_ns() < next && now_ns() < end) {
			struct timespec ts = { 0, 20 * (long)NS_PER_MS };

			for (finished = 0; finished < cfg.threads; finished++)
				if (!__atomic_load_n(&ws[finished].pub.finished, __ATOMIC_ACQUIRE))
					break;
			if (finished == cfg.threads)
				break;
			nanosleep(&ts, NULL);
		}
		if (g_abort || finished == cfg.threads || now_ns() >= end)
			break;
		if (!cfg.quiet)
			progress(ws, cfg.threads, (double)(now_ns() - t0) / 1e9, &last_done);
	}
	__atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
	rc = 0;
join:
	__atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < started; i++)
		pthread_join(ws[i].th, NULL);
	if (rc)
		goto fail;
	for (unsigned i = 0; i < cfg.threads; i++) {
		struct worker *w = &ws[i];

		add_counters(&res.fill, &w->fill);
		add_counters(&res.run, &w->run);
		wl_hist_merge(res.h[0], w->h[0]);
		wl_hist_merge(res.h[1], w->h[1]);
		if ((double)w->fill_ns / 1e9 > res.fill_s)
			res.fill_s = (double)w->fill_ns / 1e9;
		if (w->t_last > t_end)
			t_end = w->t_last;
		if (w->t_stop > t_end)
			t_end = w->t_stop;
		if (w->t_stop > t_send_end)
			t_send_end = w->t_stop;
	}
	wl_hist_merge(res.h[2], res.h[0]);
	wl_hist_merge(res.h[2], res.h[1]);
	res.elapsed_s = t_end > t0 ? (double)(t_end - t0) / 1e9 : 0;
	res.send_s = t_send_end > t0 ? (double)(t_send_end - t0) / 1e9 : 0;
	print_report(&cfg, &res);
	if (cfg.json) {
		err = write_json(&cfg, &res);
		if (err < 0) {
			fprintf(stderr, "wireload: %s: %s\n", cfg.json, strerror(-err));
			rc = 1;
		}
	}
	if (cfg.verify && (errors_of(&res.run) || errors_of(&res.fill)))
		rc = 3;
fail:
	for (unsigned i = 0; ws && i < started; i++)
		worker_free(&ws[i]);
	free(ws);
	for (unsigned i = 0; i < 3; i++)
		free(res.h[i]);
	return rc;
}
