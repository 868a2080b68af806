/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * In-process drivers of the item store for tools/bench-store. Keys, values
 * and the Zipf sampler are wireload's (tools/wireload/gen.c), so a key here
 * is byte for byte the key wireload sends to a peer server.
 *
 *   items_fill fill      [--items N] [--key-size K] [--value-size V] [--mem-limit BYTES]
 *   items_fill layout    [--key-size K] [--value-size V]
 *   items_fill hitratio  [--keys N] [--warmup N] [--requests N] [--mem-limit BYTES]
 *                        [--zipf S] [--seed N] [--batch N] [--memcached 127.0.0.1:PORT]
 *   items_fill callgrind get|miss|set|index|index-hash [--items N] [--ops N]
 *
 * fill: N items set through wc_store_set() exactly as the memcached executor
 * stores them, into one partition of --mem-limit bytes (default: twice what
 * 80-byte items need); what the items, the index and the whole partition
 * cost per item, and how much the process's RSS grew. One partition per run,
 * so the RSS figures are not blurred by memory an earlier one left behind.
 *
 * layout: where an item's bytes go: header, key, value, alignment, found by
 * growing the value one byte at a time until the item size steps.
 *
 * hitratio: cache-aside (get; on a miss, set) on Zipf-distributed keys, in
 * batches of --batch gets followed by the sets of that batch's misses. Every
 * batch goes to the store and, with --memcached, to memcached over loopback
 * TCP (pipelined, sets with noreply), so both see the same key sequence and
 * the same batching. Two partitions run side by side: one whose item memory
 * is --mem-limit (index outside, as memcached's hash table is outside its
 * -m), and one whose item memory plus index fit in --mem-limit.
 *
 * callgrind: the chosen operation N times through a noinline measured_*()
 * function, for `valgrind --tool=callgrind --toggle-collect='measured_*'`.
 *
 * Every mode prints one JSON object on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "store/store.h"
#include "wireload.h"

/*
 * Optional store functions: present once the store grows them. Weak, so
 * this driver links against a store without them and reports what it can.
 */
size_t wc_store_index_bytes(const struct wc_store *s) __attribute__((weak));
int wc_store_numa_node(const struct wc_store *s) __attribute__((weak));

#define MIB	   (1024ULL * 1024)
#define MAX_BATCH  1024
#define BYTES_HINT 64 /* rte_hash entries per byte of limit, as the store sizes it */

struct opts {
	uint64_t items;
	size_t key_size;
	size_t value_size;
	uint64_t keys;
	uint64_t warmup;
	uint64_t requests;
	uint64_t mem_limit;
	bool mem_limit_set;
	double zipf;
	uint64_t seed;
	unsigned batch;
	const char *memcached;
	uint64_t ops;
};

static struct opts o = {
	.items = 1000000,
	.key_size = 16,
	.value_size = 32,
	.keys = 5600000,
	.warmup = 10000000,
	.requests = 10000000,
	.mem_limit = 64 * MIB,
	.zipf = 0.99,
	.seed = 1,
	.batch = 32,
	.memcached = NULL,
	.ops = 100000,
};

static void die(const char *what)
{
	fprintf(stderr, "items_fill: %s\n", what);
	exit(1);
}

/* ---- process and heap accounting ---- */

static uint64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t kb = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %" SCNu64, &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* Bytes allocated from DPDK's heaps, all sockets: what the store reserved. */
static uint64_t heap_bytes(void)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < rte_socket_count(); i++) {
		struct rte_malloc_socket_stats st;

		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			sum += st.heap_allocsz_bytes;
	}
	return sum;
}

static void eal_init(const char *prog, uint64_t mem_mb)
{
	char mem[32], prefix[64];
	char *argv[] = { (char *)prog,	"--no-huge", "-m",
			 mem,		"--no-pci",  "--no-telemetry",
			 "-l",		"0",	     "--log-level=lib.eal:error",
			 "--no-shconf", prefix,	     NULL };

	snprintf(mem, sizeof(mem), "%" PRIu64, mem_mb);
	snprintf(prefix, sizeof(prefix), "--file-prefix=wcif_%d", (int)getpid());
	if (rte_eal_init((int)RTE_DIM(argv) - 1, argv) < 0)
		die("cannot start the EAL");
}

/* ---- keys and values ---- */

struct kv {
	struct wl_keyfmt kf;
	struct wl_valfmt vf;
	char val[WL_VALUE_MAX < 4096 ? WL_VALUE_MAX : 4096];
};

static void kv_init(struct kv *kv, uint64_t nkeys)
{
	if (wl_keyfmt_init(&kv->kf, o.key_size, nkeys) != 0)
		die("key size too small for the key count");
	if (o.value_size > sizeof(kv->val) ||
	    wl_valfmt_init(&kv->vf, o.value_size, o.value_size, nkeys, 0) != 0)
		die("bad value size");
}

static struct wc_store *store_new(const char *name, uint64_t limit)
{
	struct wc_store_config sc = {
		.name = name,
		.mem_limit = limit,
		.max_item_size = MIB, /* wirecached's default --max-item-size */
		.socket_id = SOCKET_ID_ANY,
		.max_items = 0, /* as wirecached: derived from the limit */
		.no_evict = false,
		.qsbr = NULL,
	};
	return wc_store_create(&sc);
}

/* Store key @p idx with value version @p ver, as `set` does. */
static int store_set(struct wc_store *s, struct kv *kv, uint64_t idx, uint32_t ver)
{
	char key[WL_KEY_MAX];

	wl_key_format(&kv->kf, idx, key);
	wl_value_fill(&kv->vf, idx, ver, kv->val, o.value_size);
	return wc_store_set(s, WC_MODE_SET, key, o.key_size, wc_store_hash(key, o.key_size),
			    kv->val, (uint32_t)o.value_size, 0, 0, 0, NULL);
}

/* A `get` as the executor does it: lookup, copy the value, mark accessed. */
static bool store_get(struct wc_store *s, const char *key, size_t klen, char *out)
{
	struct wc_item_view v;
	struct wc_item *it = wc_store_get(s, key, klen, wc_store_hash(key, klen), &v);

	if (it == NULL)
		return false;
	memcpy(out, v.val, v.vlen);
	wc_store_bump(s, it);
	return true;
}

/* ---- fill ---- */

struct fill_result {
	uint64_t limit;
	uint64_t items;
	uint64_t curr_items;
	uint64_t evictions;
	uint64_t mem_used;
	uint64_t stat_bytes;
	uint64_t heap;	     /* heap bytes the partition reserved */
	uint64_t rss_create; /* RSS growth creating the partition */
	uint64_t rss_fill;   /* RSS growth storing the items */
	int64_t index;	     /* wc_store_index_bytes(), or -1 */
	int numa;
	int bad_sets;
};

static void fill_once(uint64_t limit, uint64_t n, struct fill_result *r)
{
	struct kv kv;
	struct wc_store *s;
	uint64_t h0, r0, r1;

	kv_init(&kv, n);
	memset(r, 0, sizeof(*r));
	h0 = heap_bytes();
	r0 = rss_bytes();
	s = store_new("wcfill", limit);
	if (s == NULL)
		die("cannot create the partition (raise the EAL memory?)");
	r->heap = heap_bytes() - h0;
	r1 = rss_bytes();
	r->rss_create = r1 - r0;
	wc_store_tick(s, 1000);
	for (uint64_t i = 0; i < n; i++)
		if (store_set(s, &kv, i, 0) != WC_STORE_OK)
			r->bad_sets++;
	r->rss_fill = rss_bytes() - r1;
	r->limit = limit;
	r->items = n;
	r->curr_items = wc_store_stats(s)->curr_items;
	r->evictions = wc_store_stats(s)->evictions;
	r->stat_bytes = wc_store_stats(s)->bytes;
	r->mem_used = wc_store_mem_used(s);
	r->index = wc_store_index_bytes != NULL ? (int64_t)wc_store_index_bytes(s) : -1;
	r->numa = wc_store_numa_node != NULL ? wc_store_numa_node(s) : -1;
	wc_store_destroy(s);
}

/*
 * rte_hash 22.11's own allocations for E entries of 8-byte keys, single
 * writer, no extendable buckets (the store's index until it reports its
 * size itself): a key store of E+1 slots of 16 bytes (8-byte key, data
 * pointer), E rounded up to a power of two over 8-entry buckets of 64
 * bytes, and a ring of 4-byte free-slot indexes sized to the power of two
 * above E+1.
 */
static uint64_t rte_hash_bytes_estimate(uint64_t limit)
{
	uint64_t e = RTE_MAX(limit / BYTES_HINT, (uint64_t)64);

	e = RTE_MIN(e, (uint64_t)RTE_HASH_ENTRIES_MAX);
	return (e + 1) * 16 + rte_align64pow2(e) / 8 * 64 + rte_align64pow2(e + 1) * 4;
}

static void print_fill(const char *name, const struct fill_result *r, bool comma)
{
	double n = (double)r->items;
	uint64_t idx = r->index >= 0 ? (uint64_t)r->index : rte_hash_bytes_estimate(r->limit);

	printf("  \"%s\": {\"mem_limit\": %" PRIu64 ", \"items\": %" PRIu64
	       ", \"curr_items\": %" PRIu64 ", \"evictions\": %" PRIu64 ", \"bad_sets\": %d"
	       ", \"mem_used\": %" PRIu64 ", \"stat_bytes\": %" PRIu64 ", \"index_bytes\": %" PRIu64
	       ", \"index_bytes_source\": \"%s\""
	       ", \"heap_reserved\": %" PRIu64 ", \"rss_create\": %" PRIu64
	       ", \"rss_fill\": %" PRIu64 ", \"numa_node\": %d"
	       ", \"item_bytes_per_item\": %.2f, \"index_bytes_per_item\": %.2f"
	       ", \"used_plus_index_per_item\": %.2f, \"reserved_per_item\": %.2f"
	       ", \"rss_per_item\": %.2f}%s\n",
	       name, r->limit, r->items, r->curr_items, r->evictions, r->bad_sets, r->mem_used,
	       r->stat_bytes, idx, r->index >= 0 ? "wc_store_index_bytes" : "rte_hash_estimate",
	       r->heap, r->rss_create, r->rss_fill, r->numa, (double)r->mem_used / n,
	       (double)idx / n, (double)(r->mem_used + idx) / n, (double)r->heap / n,
	       (double)(r->rss_create + r->rss_fill) / n, comma ? "," : "");
}

static int cmd_fill(void)
{
	struct fill_result r;
	/* By default generous: twice what 80-byte items would take. */
	uint64_t limit = o.mem_limit_set ? o.mem_limit : RTE_ALIGN_CEIL(o.items * 160, MIB);

	fill_once(limit, o.items, &r);
	printf("{\"key_size\": %zu, \"value_size\": %zu,\n", o.key_size, o.value_size);
	print_fill("store", &r, false);
	printf("}\n");
	return 0;
}

/* ---- layout ---- */

static uint64_t item_size_at(size_t vlen, uint64_t n)
{
	struct kv kv;
	struct wc_store *s;
	uint64_t used;
	size_t keep = o.value_size;

	o.value_size = vlen;
	kv_init(&kv, n);
	s = store_new("wclayout", 16 * MIB);
	if (s == NULL)
		die("cannot create the partition");
	wc_store_tick(s, 1000);
	for (uint64_t i = 0; i < n; i++)
		if (store_set(s, &kv, i, 0) != WC_STORE_OK)
			die("layout: set failed");
	if (wc_store_stats(s)->evictions != 0)
		die("layout: evicted");
	used = wc_store_mem_used(s);
	wc_store_destroy(s);
	o.value_size = keep;
	/* Sealed segments count whole: their tails add well under a byte. */
	return used / n;
}

static int cmd_layout(void)
{
	const uint64_t n = 20000;
	uint64_t base = item_size_at(o.value_size, n), step = 0;
	size_t pad = 0;

	/* Grow the value until the item grows: the bytes added before it
	 * stepped were alignment padding. */
	for (size_t d = 1; d <= 64; d++) {
		uint64_t sz = item_size_at(o.value_size + d, n);

		if (sz > base) {
			pad = d - 1;
			step = sz - base;
			break;
		}
	}
	printf("{\"key_size\": %zu, \"value_size\": %zu, \"item_bytes\": %" PRIu64
	       ", \"header\": %" PRIu64 ", \"alignment_padding\": %zu, \"alignment\": %" PRIu64
	       "}\n",
	       o.key_size, o.value_size, base, base - o.key_size - o.value_size - pad, pad, step);
	return 0;
}

/* ---- hit ratio ---- */

/* memcached over one pipelined loopback TCP connection. */
struct mc_conn {
	int fd;
	char *in;
	size_t in_len;
	size_t in_cap;
	char *out;
	size_t out_len;
	size_t out_cap;
};

static void mc_connect(struct mc_conn *c, const char *hostport)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');
	struct sockaddr_in a = { .sin_family = AF_INET };
	int one = 1;

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
		die("--memcached wants 127.0.0.1:PORT");
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	/* Loopback only: the peer runs on this machine. */
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || (ntohl(a.sin_addr.s_addr) >> 24) != 127)
		die("--memcached must be a 127.0.0.0/8 address");
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("cannot connect to memcached");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->in_cap = 1 << 20;
	c->out_cap = 1 << 20;
	c->in = malloc(c->in_cap);
	c->out = malloc(c->out_cap);
	c->in_len = c->out_len = 0;
	if (c->in == NULL || c->out == NULL)
		die("out of memory");
}

static void mc_put(struct mc_conn *c, const char *p, size_t n)
{
	if (c->out_len + n > c->out_cap)
		die("memcached output buffer overflow");
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

static void mc_flush(struct mc_conn *c)
{
	size_t off = 0;

	while (off < c->out_len) {
		ssize_t w = send(c->fd, c->out + off, c->out_len - off, 0);

		if (w <= 0)
			die("memcached send failed");
		off += (size_t)w;
	}
	c->out_len = 0;
}

/* The next reply to @p op on @p key; returns its kind. */
static enum wl_kind mc_reply(struct mc_conn *c, enum wl_op op, const char *key, size_t klen)
{
	for (;;) {
		struct wl_reply r;
		int st = wl_reply_parse(WL_PROTO_MC_TEXT, op, key, klen, c->in, c->in_len, &r);

		if (st == WL_P_OK) {
			memmove(c->in, c->in + r.consumed, c->in_len - r.consumed);
			c->in_len -= r.consumed;
			return r.kind;
		}
		if (st != WL_P_NEED_MORE)
			die("memcached reply not understood");
		if (c->in_len == c->in_cap)
			die("memcached reply too large");
		ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);

		if (n <= 0)
			die("memcached closed the connection");
		c->in_len += (size_t)n;
	}
}

/* A `stats` value of memcached, or -1. */
static int64_t mc_stat(struct mc_conn *c, const char *name)
{
	char want[96];
	int64_t v = -1;

	mc_put(c, "stats\r\n", 7);
	mc_flush(c);
	snprintf(want, sizeof(want), "STAT %s ", name);
	for (;;) {
		char *end = memmem(c->in, c->in_len, "END\r\n", 5);

		if (end != NULL) {
			char *p = memmem(c->in, (size_t)(end - c->in), want, strlen(want));

			if (p != NULL)
				v = strtoll(p + strlen(want), NULL, 10);
			c->in_len = 0;
			return v;
		}
		ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);

		if (n <= 0)
			die("memcached closed the connection");
		c->in_len += (size_t)n;
	}
}

struct target {
	const char *name;
	struct wc_store *s; /* NULL: memcached */
	struct mc_conn *mc;
	uint64_t limit;
	uint64_t hits;
	uint64_t gets;
	bool miss[MAX_BATCH];
};

/* One batch of cache-aside requests: the gets, then the misses' sets. */
static void run_batch(struct target *t, struct kv *kv, const uint64_t *ranks, unsigned n,
		      bool count)
{
	char keys[MAX_BATCH][WL_KEY_MAX];
	char buf[4096];
	unsigned hits = 0;

	for (unsigned i = 0; i < n; i++)
		wl_key_format(&kv->kf, ranks[i], keys[i]);
	if (t->s != NULL) {
		for (unsigned i = 0; i < n; i++) {
			t->miss[i] = !store_get(t->s, keys[i], o.key_size, buf);
			hits += !t->miss[i];
		}
		for (unsigned i = 0; i < n; i++)
			if (t->miss[i] && store_set(t->s, kv, ranks[i], 0) < 0)
				die("store: set failed");
	} else {
		for (unsigned i = 0; i < n; i++) {
			size_t len = wl_req_build(WL_PROTO_MC_TEXT, WL_OP_GET, keys[i], o.key_size,
						  NULL, 0, buf, sizeof(buf));
			mc_put(t->mc, buf, len);
		}
		mc_flush(t->mc);
		for (unsigned i = 0; i < n; i++) {
			enum wl_kind k = mc_reply(t->mc, WL_OP_GET, keys[i], o.key_size);

			if (k != WL_R_HIT && k != WL_R_MISS)
				die("memcached: unexpected get reply");
			t->miss[i] = k == WL_R_MISS;
			hits += k == WL_R_HIT;
		}
		for (unsigned i = 0; i < n; i++) {
			if (!t->miss[i])
				continue;
			int len = snprintf(buf, sizeof(buf), "set %.*s 0 0 %zu noreply\r\n",
					   (int)o.key_size, keys[i], o.value_size);
			mc_put(t->mc, buf, (size_t)len);
			wl_value_fill(&kv->vf, ranks[i], 0, kv->val, o.value_size);
			mc_put(t->mc, kv->val, o.value_size);
			mc_put(t->mc, "\r\n", 2);
		}
		mc_flush(t->mc);
	}
	if (count) {
		t->hits += hits;
		t->gets += n;
	}
}

/* The largest whole-MiB item limit whose partition, index included, fits
 * in @p total bytes of heap. */
static uint64_t limit_index_inside(uint64_t total)
{
	for (uint64_t l = total; l >= 8 * MIB; l -= MIB) {
		uint64_t h0 = heap_bytes();
		struct wc_store *s = store_new("wcprobe", l);
		uint64_t used;

		if (s == NULL)
			die("cannot create the partition");
		used = heap_bytes() - h0;
		wc_store_destroy(s);
		if (used <= total)
			return l;
	}
	die("no limit fits");
	return 0;
}

static void print_target(const struct target *t, bool comma)
{
	int64_t items, evictions;

	if (t->s != NULL) {
		items = (int64_t)wc_store_stats(t->s)->curr_items;
		evictions = (int64_t)wc_store_stats(t->s)->evictions;
	} else {
		items = mc_stat(t->mc, "curr_items");
		evictions = mc_stat(t->mc, "evictions");
	}
	printf("  \"%s\": {\"item_limit\": %" PRIu64 ", \"gets\": %" PRIu64 ", \"hits\": %" PRIu64
	       ", \"hit_ratio\": %.4f, \"curr_items\": %" PRId64 ", \"evictions\": %" PRId64
	       "}%s\n",
	       t->name, t->limit, t->gets, t->hits, t->gets ? (double)t->hits / (double)t->gets : 0,
	       items, evictions, comma ? "," : "");
}

static int cmd_hitratio(void)
{
	struct kv kv;
	struct wl_zipf z;
	struct wl_rng rng;
	struct mc_conn mc;
	struct target t[3];
	unsigned nt = 0;
	uint64_t ranks[MAX_BATCH];
	uint64_t inside = limit_index_inside(o.mem_limit);

	if (o.batch == 0 || o.batch > MAX_BATCH)
		die("--batch must be 1..1024");
	kv_init(&kv, o.keys);
	if (wl_zipf_init(&z, o.keys, o.zipf) != 0)
		die("bad --zipf");
	wl_rng_seed(&rng, o.seed);
	memset(t, 0, sizeof(t));
	t[nt].name = "wirecache";
	t[nt].limit = o.mem_limit;
	t[nt++].s = store_new("wchr", o.mem_limit);
	t[nt].name = "wirecache_index_inside";
	t[nt].limit = inside;
	t[nt++].s = store_new("wchri", inside);
	if (t[0].s == NULL || t[1].s == NULL)
		die("cannot create the partitions");
	if (o.memcached != NULL) {
		mc_connect(&mc, o.memcached);
		t[nt].name = "memcached";
		t[nt].limit = (uint64_t)mc_stat(&mc, "limit_maxbytes");
		t[nt++].mc = &mc;
	}
	for (unsigned i = 0; i < nt; i++)
		if (t[i].s != NULL)
			wc_store_tick(t[i].s, 1000);

	for (uint64_t done = 0; done < o.warmup + o.requests; done += o.batch) {
		bool count = done >= o.warmup;

		for (unsigned i = 0; i < o.batch; i++)
			ranks[i] = wl_zipf_next(&z, &rng);
		for (unsigned i = 0; i < nt; i++)
			run_batch(&t[i], &kv, ranks, o.batch, count);
		/* A clock of 100k requests a second, for the stores' background work. */
		if (done % 4096 < o.batch)
			for (unsigned i = 0; i < nt; i++)
				if (t[i].s != NULL)
					wc_store_tick(t[i].s, 1000 + (uint32_t)(done / 100000));
	}
	printf("{\"keys\": %" PRIu64 ", \"zipf\": %.3f, \"seed\": %" PRIu64 ", \"warmup\": %" PRIu64
	       ", \"requests\": %" PRIu64 ", \"batch\": %u"
	       ", \"key_size\": %zu, \"value_size\": %zu"
	       ", \"index_inside_heap_limit\": %" PRIu64 ",\n",
	       o.keys, o.zipf, o.seed, o.warmup, o.requests, o.batch, o.key_size, o.value_size,
	       o.mem_limit);
	for (unsigned i = 0; i < nt; i++)
		print_target(&t[i], i + 1 < nt);
	printf("}\n");
	for (unsigned i = 0; i < nt; i++)
		wc_store_destroy(t[i].s);
	return 0;
}

/* ---- callgrind ---- */

struct cg {
	struct wc_store *s;
	struct rte_hash *bare;
	char (*keys)[32];
	uint64_t *hashes;
	uint64_t n;
	struct kv kv;
	char out[4096];
	uint64_t sink;
};

static struct cg cg;

/* Measured: a get hit or miss as the executor makes it. */
__attribute__((noinline)) bool measured_get(const char *key)
{
	return store_get(cg.s, key, o.key_size, cg.out);
}

/* Measured: overwrite a key with a value of the same size (made beforehand). */
__attribute__((noinline)) int measured_set(const char *key)
{
	return wc_store_set(cg.s, WC_MODE_SET, key, o.key_size, wc_store_hash(key, o.key_size),
			    cg.kv.val, (uint32_t)o.value_size, 0, 0, 0, NULL);
}

/* Measured: the index alone, a bare rte_hash lookup of the key's 64-bit hash. */
__attribute__((noinline)) int measured_index(const uint64_t *h)
{
	void *data;
	int r = rte_hash_lookup_data(cg.bare, h, &data);

	if (r >= 0)
		cg.sink += (uintptr_t)data;
	return r;
}

/* Measured: the key's hash, then the bare index lookup. */
__attribute__((noinline)) int measured_index_hash(const char *key)
{
	uint64_t h = wc_store_hash(key, o.key_size);

	return measured_index(&h);
}

static int cmd_callgrind(const char *op)
{
	struct rte_hash_parameters hp = { 0 };
	uint64_t n = o.items, ok = 0;

	kv_init(&cg.kv, 2 * n);
	cg.s = store_new("wccg", RTE_MAX(64 * MIB, RTE_ALIGN_CEIL(n * 160, MIB)));
	hp.name = "wccg_bare";
	hp.entries = (uint32_t)RTE_MAX(n, (uint64_t)64);
	hp.key_len = sizeof(uint64_t);
	hp.socket_id = SOCKET_ID_ANY;
	cg.bare = rte_hash_create(&hp);
	cg.keys = calloc(2 * n, sizeof(*cg.keys));
	cg.hashes = calloc(2 * n, sizeof(*cg.hashes));
	if (cg.s == NULL || cg.bare == NULL || cg.keys == NULL || cg.hashes == NULL)
		die("setup failed");
	wc_store_tick(cg.s, 1000);
	for (uint64_t i = 0; i < 2 * n; i++) {
		wl_key_format(&cg.kv.kf, i, cg.keys[i]);
		cg.hashes[i] = wc_store_hash(cg.keys[i], o.key_size);
	}
	/* Keys 0..n-1 present, n..2n-1 absent. */
	for (uint64_t i = 0; i < n; i++) {
		if (store_set(cg.s, &cg.kv, i, 0) != WC_STORE_OK)
			die("preload failed");
		if (rte_hash_add_key_data(cg.bare, &cg.hashes[i], cg.keys[i]) < 0)
			die("bare index add failed");
	}
	wl_value_fill(&cg.kv.vf, 0, 1, cg.kv.val, o.value_size);
	/* A stride through the keys so consecutive operations share no line. */
	for (uint64_t j = 0, i = 0; j < o.ops; j++, i = (i + 7919) % n) {
		if (strcmp(op, "get") == 0)
			ok += measured_get(cg.keys[i]);
		else if (strcmp(op, "miss") == 0)
			ok += !measured_get(cg.keys[n + i]);
		else if (strcmp(op, "set") == 0)
			ok += measured_set(cg.keys[i]) == WC_STORE_OK;
		else if (strcmp(op, "index") == 0)
			ok += measured_index(&cg.hashes[i]) >= 0;
		else if (strcmp(op, "index-hash") == 0)
			ok += measured_index_hash(cg.keys[i]) >= 0;
		else
			die("callgrind: op is get|miss|set|index|index-hash");
	}
	if (ok != o.ops)
		die("callgrind: an operation did not do what it should");
	printf("{\"op\": \"%s\", \"ops\": %" PRIu64 ", \"items\": %" PRIu64 "}\n", op, o.ops, n);
	rte_hash_free(cg.bare);
	wc_store_destroy(cg.s);
	free(cg.keys);
	free(cg.hashes);
	return 0;
}

/* ---- main ---- */

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	switch (*end) {
	case 'k':
	case 'K':
		return v << 10;
	case 'm':
	case 'M':
		return v << 20;
	case 'g':
	case 'G':
		return v << 30;
	default:
		return v;
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "items", required_argument, NULL, 'i' },
		{ "key-size", required_argument, NULL, 'K' },
		{ "value-size", required_argument, NULL, 'V' },
		{ "keys", required_argument, NULL, 'k' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "requests", required_argument, NULL, 'n' },
		{ "mem-limit", required_argument, NULL, 'm' },
		{ "zipf", required_argument, NULL, 'z' },
		{ "seed", required_argument, NULL, 'S' },
		{ "batch", required_argument, NULL, 'b' },
		{ "memcached", required_argument, NULL, 'M' },
		{ "ops", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd, *arg = NULL;
	uint64_t eal_mb;
	int c;

	if (argc < 2)
		die("usage: items_fill fill|layout|hitratio|callgrind [OP] [options]");
	cmd = argv[1];
	optind = 2;
	if (strcmp(cmd, "callgrind") == 0 && argc > 2 && argv[2][0] != '-') {
		arg = argv[2];
		optind = 3;
	}
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.items = strtoull(optarg, NULL, 10);
			break;
		case 'K':
			o.key_size = strtoul(optarg, NULL, 10);
			break;
		case 'V':
			o.value_size = strtoul(optarg, NULL, 10);
			break;
		case 'k':
			o.keys = strtoull(optarg, NULL, 10);
			break;
		case 'w':
			o.warmup = strtoull(optarg, NULL, 10);
			break;
		case 'n':
			o.requests = strtoull(optarg, NULL, 10);
			break;
		case 'm':
			o.mem_limit = parse_size(optarg);
			o.mem_limit_set = true;
			break;
		case 'z':
			o.zipf = strtod(optarg, NULL);
			break;
		case 'S':
			o.seed = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			o.batch = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'M':
			o.memcached = optarg;
			break;
		case 'o':
			o.ops = strtoull(optarg, NULL, 10);
			break;
		default:
			die("unknown option");
		}
	}
	if (o.items == 0 || o.key_size == 0 || o.key_size > 31)
		die("--items must be > 0 and --key-size 1..31");
	/* Room for two partitions of the largest limit used, index included. */
	eal_mb = (RTE_MAX(o.mem_limit, o.items * 160) * 3) / MIB + 256;
	eal_init(argv[0], eal_mb);
	if (strcmp(cmd, "fill") == 0)
		c = cmd_fill();
	else if (strcmp(cmd, "layout") == 0)
		c = cmd_layout();
	else if (strcmp(cmd, "hitratio") == 0)
		c = cmd_hitratio();
	else if (strcmp(cmd, "callgrind") == 0 && arg != NULL)
		c = cmd_callgrind(arg);
	else
		die("unknown mode");
	rte_eal_cleanup();
	return c;
}
