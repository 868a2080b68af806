/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wc-impair: a seeded network impairment bridge between two interfaces.
 *
 * The kernel here has no netem, so the end-to-end tests put this program in
 * a namespace of its own between two veths and let it forward every frame
 * from one to the other, impaired:
 *
 *   ns A            bridge namespace (no Linux bridge, no IP)          ns B
 *   +-------+       +-------------------------------------------+      +-------+
 *   | veth  |<----->| if A  --a2b: loss dup corrupt delay ...--> | if B |<----->| veth  |
 *   +-------+       |       <--b2a: loss dup corrupt delay ...-- |      +-------+
 *                   +-------------------------------------------+
 *
 * Each interface has one AF_PACKET socket (ETH_P_ALL, promiscuous, with
 * PACKET_IGNORE_OUTGOING so it does not read back what we send). A frame
 * read on A goes through the a2b direction and leaves on B, and the other
 * way round.
 *
 * Per frame, a direction draws the same number of random numbers whatever
 * it decides, from its own generator seeded by --seed and the direction:
 * the k-th frame of a direction meets the same fate (drop, duplicate,
 * hold back, which bit to flip, how much jitter) in every run with the same
 * seed and options, whatever the other direction or the clock does.
 *
 * The decisions, in order:
 *
 *   loss     drop the frame.
 *   dup      also send a copy, right after it (the copy is made before
 *            corruption, so it is clean).
 *   corrupt  flip one random bit past the Ethernet header.
 *   delay    send it at now + delay + uniform(-jitter, +jitter); frames
 *            leave in order of that time, so jitter may reorder.
 *   reorder  hold the frame back until the next frame of this direction
 *            is scheduled, then send it right after that one; if none comes
 *            within reorder-hold ms, send it anyway (counted apart).
 *   rate     serialize frames at this many kbit/s after their delay.
 *
 * Scheduled frames wait in a min-heap per direction ordered by (send time,
 * sequence), on CLOCK_MONOTONIC; ppoll() sleeps until the next frame is due
 * or a socket is readable. A direction holds at most --limit frames (heap and
 * held ones together); a frame over the limit is dropped and counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wireload.h"

#define NS_PER_S      1000000000ull
#define NS_PER_MS     1000000ull
#define RX_BUF	      65536 /**< largest frame read; longer ones are dropped */
#define RX_BURST      64    /**< frames read per socket before serving timers */
#define DEFAULT_LIMIT 1000  /**< frames queued per direction, like netem */
#define DEFAULT_HOLD  10.0  /**< ms a held-back frame waits for a successor */
#define DEFAULT_LIFE  600   /**< seconds */
#define SOCK_BUF      (4 << 20)

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* ------------------------------------------------------------------------ */
/* Options: one table for the parser and --help                             */
/* ------------------------------------------------------------------------ */

/*
 * Impairments a direction has. Each gives --NAME (both directions),
 * --a2b-NAME and --b2a-NAME. X(field, name, metavar, max, help)
 */
#define IMPAIRMENTS(X)                                                             \
	X(loss, "loss", "PCT", 100, "drop this percent of frames")                 \
	X(dup, "dup", "PCT", 100, "send this percent of frames twice")             \
	X(corrupt, "corrupt", "PCT", 100, "flip one bit past the Ethernet header") \
	X(delay, "delay", "MS", 3600e3, "hold every frame this long")              \
	X(jitter, "jitter", "MS", 3600e3, "plus uniform(-MS, +MS), never below 0") \
	X(reorder, "reorder", "PCT", 100,                                          \
	  "hold this percent back until a later frame is "                         \
	  "sent")                                                                  \
	X(reorder_hold, "reorder-hold", "MS", 3600e3,                              \
	  "longest a held-back frame waits for a successor (10)")                  \
	X(rate, "rate", "KBIT", 100e6, "serialize at this many kbit/s (0: unlimited)")

/* X(id, long name, takes an argument, metavar, help) */
#define GLOBAL_OPTIONS(X)                                                                 \
	X(A, "a", 1, "IF", "interface A (required)")                                      \
	X(B, "b", 1, "IF", "interface B (required)")                                      \
	X(SEED, "seed", 1, "N", "random seed (1)")                                        \
	X(LIMIT, "limit", 1, "N", "frames queued per direction; more are dropped (1000)") \
	X(LIFETIME, "lifetime", 1, "SECS", "exit after SECS seconds (600; 0: never)")     \
	X(STATS, "stats", 0, NULL, "print the counters at exit and on SIGUSR1")           \
	X(JSON, "json", 0, NULL, "print them as one JSON line instead")                   \
	X(HELP, "help", 0, NULL, "this help")

enum impairment_id {
#define X(f, name, meta, max, help) IMP_##f,
	IMPAIRMENTS(X)
#undef X
		IMP_COUNT
};

enum global_id {
	OPT_BASE = 256,
#define X(id, name, arg, meta, help) OPT_##id,
	GLOBAL_OPTIONS(X)
#undef X
		OPT_IMP /* then 3 per impairment: both, a2b, b2a */
};

struct impairments {
#define X(f, name, meta, max, help) double f;
	IMPAIRMENTS(X)
#undef X
};

static const char *const imp_names[] = {
#define X(f, name, meta, max, help) name,
	IMPAIRMENTS(X)
#undef X
};

static const double imp_max[] = {
#define X(f, name, meta, max, help) max,
	IMPAIRMENTS(X)
#undef X
};

static double *imp_field(struct impairments *im, int id)
{
	switch (id) {
#define X(f, name, meta, max, help) \
	case IMP_##f:               \
		return &im->f;
		IMPAIRMENTS(X)
#undef X
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Counters: one table for the struct, the text and the JSON                */
/* ------------------------------------------------------------------------ */

#define COUNTERS(X)                                                                    \
	X(rx, "frames read from the input interface")                                  \
	X(forwarded, "frames sent on the output interface, duplicates included")       \
	X(dropped, "frames dropped by --loss")                                         \
	X(duplicated, "extra copies sent by --dup")                                    \
	X(reordered, "held-back frames sent after a later one")                        \
	X(reorder_expired, "held-back frames sent when --reorder-hold ran out")        \
	X(corrupted, "frames with one bit flipped")                                    \
	X(delayed, "frames scheduled later than they came")                            \
	X(overflow, "frames dropped because --limit frames were queued, or no memory") \
	X(oversize, "frames longer than the read buffer, dropped")                     \
	X(tx_errors, "frames the output socket refused")                               \
	X(kernel_drops, "frames the kernel dropped before we read them")               \
	X(queued, "frames waiting at the time of the report")

struct counters {
#define X(name, help) uint64_t name;
	COUNTERS(X)
#undef X
};

/* ------------------------------------------------------------------------ */
/* Random numbers: wireload's xoshiro256**, one stream per direction         */
/* ------------------------------------------------------------------------ */

/* Direction @p stream's generator for @p seed. */
static void rng_seed(struct wl_rng *r, uint64_t seed, uint64_t stream)
{
	wl_rng_seed(r, seed ^ (stream * 0xd1342543de82ef95ull));
}

/* True with probability @p pct percent; always consumes one draw. */
static bool rng_chance(struct wl_rng *r, double pct)
{
	return wl_rng_double(r) * 100.0 < pct;
}

/* ------------------------------------------------------------------------ */
/* Frames and the per-direction queue                                        */
/* ------------------------------------------------------------------------ */

struct frame {
	uint32_t len;
	uint8_t data[];
};

struct slot {
	uint64_t when; /**< CLOCK_MONOTONIC ns at which to send */
	uint64_t seq;  /**< tie-break: frames due together leave in scheduling order */
	struct frame *f;
};

struct held {
	uint64_t when;	   /**< send time it would have had */
	uint64_t deadline; /**< when it goes anyway */
	struct frame *f;
};

struct direction {
	const char *name;
	struct impairments im;
	struct wl_rng rng;
	int in_fd, out_fd;
	struct sockaddr_ll out_addr;
	struct slot *heap; /**< min-heap on (when, seq) */
	unsigned int nheap;
	struct held *held; /**< FIFO ring of held-back frames */
	unsigned int held_head, nheld;
	unsigned int limit;
	uint64_t seq;
	uint64_t link_free; /**< --rate: when the output is free again */
	struct counters c;
};

static bool slot_before(const struct slot *x, const struct slot *y)
{
	return x->when < y->when || (x->when == y->when && x->seq < y->seq);
}

static void heap_push(struct direction *d, uint64_t when, struct frame *f)
{
	unsigned int i = d->nheap++;
	struct slot s = { .when = when, .seq = d->seq++, .f = f };

	while (i > 0) {
		unsigned int up = (i - 1) / 2;

		if (!slot_before(&s, &d->heap[up]))
			break;
		d->heap[i] = d->heap[up];
		i = up;
	}
	d->heap[i] = s;
}

static struct frame *heap_pop(struct direction *d)
{
	struct frame *f = d->heap[0].f;
	struct slot last = d->heap[--d->nheap];
	unsigned int i = 0, n = d->nheap;

	for (;;) {
		unsigned int c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && slot_before(&d->heap[c + 1], &d->heap[c]))
			c++;
		if (!slot_before(&d->heap[c], &last))
			break;
		d->heap[i] = d->heap[c];
		i = c;
	}
	if (n > 0)
		d->heap[i] = last;
	return f;
}

static unsigned int queued(const struct direction *d)
{
	return d->nheap + d->nheld;
}

static struct frame *frame_new(const uint8_t *data, uint32_t len)
{
	struct frame *f = malloc(sizeof(*f) + len);

	if (f == NULL)
		return NULL;
	f->len = len;
	memcpy(f->data, data, len);
	return f;
}

/* Queue @p f to leave at @p when; drops it (counted) when the queue is full. */
static void enqueue(struct direction *d, uint64_t when, struct frame *f)
{
	if (queued(d) >= d->limit) {
		d->c.overflow++;
		free(f);
		return;
	}
	heap_push(d, when, f);
}

/*
 * A frame was scheduled at @p when: every held-back frame now leaves right
 * after it (or at its own time if that is later), and counts as reordered.
 */
static void release_held(struct direction *d, uint64_t when)
{
	while (d->nheld > 0) {
		struct held *h = &d->held[d->held_head];

		heap_push(d, h->when > when ? h->when : when, h->f);
		d->c.reordered++;
		d->held_head = (d->held_head + 1) % d->limit;
		d->nheld--;
	}
}

/* Held-back frames whose hold ran out leave now, in the order they came. */
static void expire_held(struct direction *d, uint64_t now)
{
	while (d->nheld > 0 && d->held[d->held_head].deadline <= now) {
		struct held *h = &d->held[d->held_head];

		heap_push(d, h->when > now ? h->when : now, h->f);
		d->c.reorder_expired++;
		d->held_head = (d->held_head + 1) % d->limit;
		d->nheld--;
	}
}

static uint64_t ms_to_ns(double ms)
{
	return (uint64_t)(ms * (double)NS_PER_MS + 0.5);
}

/* Queue @p f for @p when, or hold it back (--reorder) when @p hold. */
static void place(struct direction *d, uint64_t when, struct frame *f, bool hold)
{
	struct held *h;

	if (!hold) {
		enqueue(d, when, f);
		release_held(d, when);
		return;
	}
	if (queued(d) >= d->limit) {
		d->c.overflow++;
		free(f);
		return;
	}
	h = &d->held[(d->held_head + d->nheld) % d->limit];
	h->when = when;
	h->deadline = when + ms_to_ns(d->im.reorder_hold);
	h->f = f;
	d->nheld++;
}

/* One frame read on @p d's input: decide its fate and queue it. */
static void impair_frame(struct direction *d, uint8_t *data, uint32_t len, uint64_t now)
{
	const struct impairments *im = &d->im;
	/* Every draw is taken whatever the outcome, in this fixed order. */
	bool lose = rng_chance(&d->rng, im->loss);
	bool dup = rng_chance(&d->rng, im->dup);
	bool corrupt = rng_chance(&d->rng, im->corrupt);
	bool hold = rng_chance(&d->rng, im->reorder);
	uint64_t bit_draw = wl_rng_next(&d->rng);
	uint64_t jitter_draw = wl_rng_next(&d->rng);
	uint64_t delay = ms_to_ns(im->delay);
	uint64_t jitter = ms_to_ns(im->jitter);
	struct frame *f, *copy = NULL;
	uint64_t when;

	if (lose) {
		d->c.dropped++;
		return;
	}
	if (jitter > 0) {
		uint64_t span = 2 * jitter + 1;
		int64_t off = (int64_t)(jitter_draw % span) - (int64_t)jitter;

		delay = (int64_t)delay + off < 0 ? 0 : (uint64_t)((int64_t)delay + off);
	}
	when = now + delay;
	if (delay > 0)
		d->c.delayed++;

	if (dup) {
		/* Counted even if it cannot be stored: then it is an overflow too. */
		d->c.duplicated++;
		copy = frame_new(data, len);
		if (copy == NULL)
			d->c.overflow++;
	}
	if (corrupt && len > ETH_HLEN) {
		uint64_t bit = bit_draw % ((uint64_t)(len - ETH_HLEN) * 8);

		data[ETH_HLEN + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		d->c.corrupted++;
	}
	f = frame_new(data, len);
	if (f == NULL) {
		d->c.overflow += copy != NULL ? 2 : 1;
		free(copy);
		return;
	}

	place(d, when, f, hold);
	if (copy != NULL) {
		/* Right behind its original, held back with it if it is. */
		place(d, when, copy, hold);
	}
}

/* Send every frame of @p d that is due at @p now (and the link allows). */
static void transmit_due(struct direction *d, uint64_t now)
{
	expire_held(d, now);
	while (d->nheap > 0 && d->heap[0].when <= now && d->link_free <= now) {
		uint64_t when = d->heap[0].when;
		struct frame *f = heap_pop(d);

		if (sendto(d->out_fd, f->data, f->len, 0, (struct sockaddr *)&d->out_addr,
			   sizeof(d->out_addr)) < 0)
			d->c.tx_errors++;
		else
			d->c.forwarded++;
		if (d->im.rate > 0) {
			uint64_t start = d->link_free > when ? d->link_free : when;

			d->link_free = start + (uint64_t)((double)f->len * 8.0 * 1e6 / d->im.rate);
		}
		free(f);
	}
}

/* The next time anything of @p d is due, or UINT64_MAX. */
static uint64_t next_due(const struct direction *d)
{
	uint64_t t = UINT64_MAX;

	if (d->nheap > 0)
		t = d->heap[0].when > d->link_free ? d->heap[0].when : d->link_free;
	if (d->nheld > 0 && d->held[d->held_head].deadline < t)
		t = d->held[d->held_head].deadline;
	return t;
}

/* Read up to RX_BURST frames from @p d's input. */
static int receive(struct direction *d, uint8_t *buf)
{
	struct timespec ts;

	for (int i = 0; i < RX_BURST; i++) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(d->in_fd, buf, RX_BUF, MSG_TRUNC | MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return 0;
			fprintf(stderr, "wc-impair: recvfrom (%s): %s\n", d->name, strerror(errno));
			return -errno;
		}
		/* Kernels without PACKET_IGNORE_OUTGOING show us our own sends. */
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		d->c.rx++;
		if (n > RX_BUF) {
			d->c.oversize++;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		impair_frame(d, buf, (uint32_t)n,
			     (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Sockets                                                                   */
/* ------------------------------------------------------------------------ */

/* An AF_PACKET socket on @p ifname; returns the fd or -1 (message printed). */
static int open_port(const char *ifname, struct sockaddr_ll *addr)
{
	int one = 1, buf = SOCK_BUF;
	struct packet_mreq mr;
	int fd, ifindex;

	ifindex = (int)if_nametoindex(ifname);
	if (ifindex == 0) {
		fprintf(stderr, "wc-impair: no interface %s: %s\n", ifname, strerror(errno));
		return -1;
	}
	/* Protocol 0: nothing is queued to it before bind() picks the interface. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "wc-impair: socket(AF_PACKET): %s\n", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0)
		fprintf(stderr, "wc-impair: %s: no PACKET_IGNORE_OUTGOING, filtering by type\n",
			ifname);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));

	memset(addr, 0, sizeof(*addr));
	addr->sll_family = AF_PACKET;
	addr->sll_protocol = htons(ETH_P_ALL);
	addr->sll_ifindex = ifindex;
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0) {
		fprintf(stderr, "wc-impair: bind(%s): %s\n", ifname, strerror(errno));
		goto fail;
	}
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		fprintf(stderr, "wc-impair: promiscuous %s: %s\n", ifname, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Add what the kernel dropped on @p d's input since the last call. */
static void read_kernel_drops(struct direction *d)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (getsockopt(d->in_fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
		d->c.kernel_drops += st.tp_drops;
}

/* ------------------------------------------------------------------------ */
/* Reports                                                                   */
/* ------------------------------------------------------------------------ */

static void report(struct direction *dirs, bool json, bool final, double uptime)
{
	for (int i = 0; i < 2; i++) {
		read_kernel_drops(&dirs[i]);
		dirs[i].c.queued = queued(&dirs[i]);
	}
	if (json) {
		printf("{\"final\": %s, \"uptime_s\": %.3f", final ? "true" : "false", uptime);
		for (int i = 0; i < 2; i++) {
			const struct counters *c = &dirs[i].c;
			const char *sep = "";

			printf(", \"%s\": {", dirs[i].name);
#define X(name, help)                                      \
	printf("%s\"" #name "\": %" PRIu64, sep, c->name); \
	sep = ", ";
			COUNTERS(X)
#undef X
			printf("}");
		}
		printf("}\n");
	} else {
		printf("wc-impair: %s counters after %.3f s\n", final ? "final" : "current",
		       uptime);
		printf("  %-16s %12s %12s\n", "", dirs[0].name, dirs[1].name);
#define X(name, help) \
	printf("  %-16s %12" PRIu64 " %12" PRIu64 "\n", #name, dirs[0].c.name, dirs[1].c.name);
		COUNTERS(X)
#undef X
	}
	fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* Main                                                                      */
/* ------------------------------------------------------------------------ */

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t dump_signal;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump_signal = 1;
	else
		stop_signal = sig;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: wc-impair --a IF --b IF [options]\n\n"
		     "Forwards every frame between interfaces A and B, impaired per direction.\n"
		     "Each impairment --NAME sets both directions; --a2b-NAME and --b2a-NAME\n"
		     "set one (A to B, B to A) and win over --NAME.\n\n");
#define X(id, name, arg, meta, help)                                         \
	{                                                                    \
		char left[64];                                               \
		snprintf(left, sizeof(left), "%s%s%s", name, arg ? " " : "", \
			 arg ? (const char *)meta : "");                     \
		fprintf(out, "  --%-30s %s\n", left, help);                  \
	}
	GLOBAL_OPTIONS(X)
#undef X
	fprintf(out, "\nImpairments (default 0):\n");
#define X(f, name, meta, max, help)                                           \
	{                                                                     \
		char left[64];                                                \
		snprintf(left, sizeof(left), "[a2b-|b2a-]%s %s", name, meta); \
		fprintf(out, "  --%-30s %s\n", left, help);                   \
	}
	IMPAIRMENTS(X)
#undef X
	fprintf(out, "\nCounters, per direction:\n");
#define X(name, help) fprintf(out, "  %-16s %s\n", #name, help);
	COUNTERS(X)
#undef X
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return (errno != 0 || end == s || *end != '\0' || s[0] == '-') ? -EINVAL : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct option opts[OPT_IMP - OPT_BASE + 3 * IMP_COUNT + 1];
	char names[3 * IMP_COUNT][48];
	/* per impairment: value for both, a2b, b2a; set[] says which were given */
	double val[IMP_COUNT][3];
	bool set[IMP_COUNT][3];
	const char *if_a = NULL, *if_b = NULL;
	uint64_t seed = 1, limit = DEFAULT_LIMIT, lifetime = DEFAULT_LIFE;
	bool stats = false, json = false;
	struct direction dirs[2];
	struct sockaddr_ll addr_a, addr_b;
	int fd_a = -1, fd_b = -1, n = 0, ret = 1;
	uint8_t *buf = NULL;
	uint64_t start = 0, end_at;
	bool running = false;
	sigset_t block, waitmask;
	struct sigaction sa;

	memset(val, 0, sizeof(val));
	memset(set, 0, sizeof(set));
	memset(dirs, 0, sizeof(dirs));
#define X(id, name, arg, meta, help) opts[n++] = (struct option){ name, arg, NULL, OPT_##id };
	GLOBAL_OPTIONS(X)
#undef X
	for (int i = 0; i < IMP_COUNT; i++) {
		static const char *const pre[3] = { "", "a2b-", "b2a-" };

		for (int k = 0; k < 3; k++) {
			snprintf(names[3 * i + k], sizeof(names[0]), "%s%s", pre[k], imp_names[i]);
			opts[n++] =
				(struct option){ names[3 * i + k], 1, NULL, OPT_IMP + 3 * i + k };
		}
	}
	opts[n] = (struct option){ NULL, 0, NULL, 0 };

	for (;;) {
		int idx = -1, o = getopt_long(argc, argv, "", opts, &idx);

		if (o == -1)
			break;
		switch (o) {
		case OPT_A:
			if_a = optarg;
			break;
		case OPT_B:
			if_b = optarg;
			break;
		case OPT_SEED:
			if (parse_u64(optarg, &seed) < 0)
				goto bad_value;
			break;
		case OPT_LIMIT:
			if (parse_u64(optarg, &limit) < 0 || limit < 1 || limit > 1000000)
				goto bad_value;
			break;
		case OPT_LIFETIME:
			if (parse_u64(optarg, &lifetime) < 0 || lifetime > 100 * 86400)
				goto bad_value;
			break;
		case OPT_STATS:
			stats = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			if (o >= OPT_IMP && o < OPT_IMP + 3 * IMP_COUNT) {
				int i = (o - OPT_IMP) / 3, k = (o - OPT_IMP) % 3;
				char *end;
				double v;

				errno = 0;
				v = strtod(optarg, &end);
				if (errno != 0 || end == optarg || *end != '\0' || !(v >= 0) ||
				    v > imp_max[i])
					goto bad_value;
				val[i][k] = v;
				set[i][k] = true;
				break;
			}
			usage(stderr);
			return 2;
		}
		continue;
	bad_value:
		fprintf(stderr, "wc-impair: bad value for --%s: %s\n",
			idx >= 0 ? opts[idx].name : "?", optarg);
		return 2;
	}
	if (optind < argc || if_a == NULL || if_b == NULL) {
		usage(stderr);
		return 2;
	}
	if (strcmp(if_a, if_b) == 0) {
		fprintf(stderr, "wc-impair: --a and --b name the same interface\n");
		return 2;
	}

	dirs[0].name = "a2b";
	dirs[1].name = "b2a";
	for (int k = 0; k < 2; k++) {
		struct direction *d = &dirs[k];

		d->im.reorder_hold = DEFAULT_HOLD;
		for (int i = 0; i < IMP_COUNT; i++) {
			if (set[i][1 + k])
				*imp_field(&d->im, i) = val[i][1 + k];
			else if (set[i][0])
				*imp_field(&d->im, i) = val[i][0];
		}
		rng_seed(&d->rng, seed, (uint64_t)k + 1);
		d->limit = (unsigned int)limit;
		d->heap = calloc(limit, sizeof(*d->heap));
		d->held = calloc(limit, sizeof(*d->held));
		if (d->heap == NULL || d->held == NULL) {
			fprintf(stderr, "wc-impair: out of memory\n");
			goto out;
		}
	}
	buf = malloc(RX_BUF + 1);
	if (buf == NULL)
		goto out;

	fd_a = open_port(if_a, &addr_a);
	if (fd_a < 0)
		goto out;
	fd_b = open_port(if_b, &addr_b);
	if (fd_b < 0)
		goto out;
	dirs[0].in_fd = fd_a;
	dirs[0].out_fd = fd_b;
	dirs[0].out_addr = addr_b;
	dirs[1].in_fd = fd_b;
	dirs[1].out_fd = fd_a;
	dirs[1].out_addr = addr_a;

	/* Signals only interrupt ppoll(): no race between a check and the sleep. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGHUP);
	sigdelset(&waitmask, SIGUSR1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	start = now_ns();
	end_at = lifetime > 0 ? start + lifetime * NS_PER_S : UINT64_MAX;
	printf("wc-impair: ready a=%s b=%s seed=%" PRIu64 "\n", if_a, if_b, seed);
	for (int k = 0; k < 2; k++) {
		const struct impairments *im = &dirs[k].im;

		printf("wc-impair: %s", dirs[k].name);
#define X(f, name, meta, max, help) printf(" " name "=%g", im->f);
		IMPAIRMENTS(X)
#undef X
		printf("\n");
	}
	fflush(stdout);

	running = true;
	while (!stop_signal) {
		struct pollfd pfd[2] = { { .fd = fd_a, .events = POLLIN },
					 { .fd = fd_b, .events = POLLIN } };
		uint64_t now = now_ns(), next = end_at;
		struct timespec tmo;

		if (now >= end_at)
			break;
		for (int k = 0; k < 2; k++) {
			uint64_t t = next_due(&dirs[k]);

			if (t < next)
				next = t;
		}
		next = next > now ? next - now : 0;
		tmo.tv_sec = (time_t)(next / NS_PER_S);
		tmo.tv_nsec = (long)(next % NS_PER_S);
		if (ppoll(pfd, 2, &tmo, &waitmask) < 0 && errno != EINTR) {
			fprintf(stderr, "wc-impair: ppoll: %s\n", strerror(errno));
			goto out;
		}
		if (dump_signal) {
			dump_signal = 0;
			if (stats || json)
				report(dirs, json, false, (double)(now_ns() - start) / 1e9);
		}
		for (int k = 0; k < 2; k++) {
			if ((pfd[k].revents & POLLIN) && receive(&dirs[k], buf) < 0)
				goto out;
			if (pfd[k].revents & (POLLERR | POLLNVAL)) {
				fprintf(stderr, "wc-impair: %s: socket error\n", k ? if_b : if_a);
				goto out;
			}
		}
		now = now_ns();
		for (int k = 0; k < 2; k++)
			transmit_due(&dirs[k], now);
	}
	ret = 0;
out:
	if (running && (stats || json))
		report(dirs, json, true, (double)(now_ns() - start) / 1e9);
	for (int k = 0; k < 2; k++) {
		struct direction *d = &dirs[k];

		while (d->nheap > 0)
			free(heap_pop(d));
		for (; d->nheld > 0; d->nheld--) {
			free(d->held[d->held_head].f);
			d->held_head = (d->held_head + 1) % d->limit;
		}
		free(d->heap);
		free(d->held);
	}
	free(buf);
	if (fd_a >= 0)
		close(fd_a);
	if (fd_b >= 0)
		close(fd_b);
	return ret;
}
