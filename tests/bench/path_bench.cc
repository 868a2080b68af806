/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The whole per-burst packet path, received mbufs to transmitted ones, on
 * one lcore without a PMD: Google Benchmark over tests/support/fixture
 * (wc_net_input() as after rte_eth_rx_burst(), then the TX flush to a
 * net_null port, whose TX frees the replies).
 *
 *   path_bench [--keys=N] [--benchmark_filter=...] [--benchmark_format=json] ...
 *
 *   udp/get_hit    bursts of 32 memcached UDP `get <key>`, every key present
 *   udp/set        bursts of 32 `set <key> 0 0 32`, overwriting
 *   tcp/get_hit    segments of 32 pipelined `get <key>` on one connection,
 *                  each acknowledging every reply byte before it (as
 *                  tests/bench/tcp_path.c), every key present
 *
 * Keys are 16 bytes and values 32 bytes, cycling through 1024 keys, as in
 * tests/bench/udp_path.c (tools/bench-callgrind), or N: with millions, the
 * index and items are far larger than the CPU's caches, and each get's
 * bucket and item are memory reads, as in a real cache. Request mbufs are
 * built ahead, kStockBursts bursts at a time, with the clock stopped: that
 * copy stands in for the NIC's DMA. Every request's outcome is checked from
 * the lcore's counters, so a broken path cannot pass for a fast one.
 *
 * items_per_second is requests per second on one core; one iteration is one
 * burst, or one segment in and its replies out.
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <rte_mbuf.h>
#include <rte_tcp.h>

#include <benchmark/benchmark.h>

extern "C" {
#include "dataplane/net/tcp.h"
#include "tests/support/fixture.h"
}

namespace
{

constexpr unsigned kBurst = 32;
unsigned kKeys = 1024;		      /* --keys */
constexpr unsigned kStockBursts = 64; /* 2048 mbufs of the fixture's 8191 */
constexpr size_t kFrameMax = 256;

enum Op { GET, SET };

struct Frame {
	uint8_t b[kFrameMax];
	size_t len;
};

struct wc_fixture fx;
struct rte_mbuf *stock[kStockBursts][kBurst];
unsigned stock_next, stock_n;

void fail(const char *what)
{
	fprintf(stderr, "path_bench: %s\n", what);
	exit(1);
}

/* A memcached UDP request: the 8-byte frame header, then the command. */
size_t request(char *buf, size_t cap, Op op, unsigned k, uint16_t id)
{
	int n = snprintf(buf, cap, "%c%c%c%c%c%c%c%c", id >> 8, id & 255, 0, 0, 0, 1, 0, 0);

	if (op == GET)
		n += snprintf(buf + n, cap - (size_t)n, "get key:%012u\r\n", k);
	else
		n += snprintf(buf + n, cap - (size_t)n,
			      "set key:%012u 0 0 32\r\nvalue-of-%012u-padding-xx\r\n", k, k);
	return (size_t)n;
}

/* Build the next kStockBursts bursts of @p op, from key *pos on. */
void refill(Op op, unsigned *pos)
{
	char req[128];
	Frame f;

	for (unsigned b = 0; b < kStockBursts; b++)
		for (unsigned i = 0; i < kBurst; i++) {
			size_t len = request(req, sizeof(req), op, *pos, (uint16_t)*pos);

			f.len = wc_fixture_udp_frame(&fx, f.b, sizeof(f.b),
						     (uint16_t)(40000 + *pos % kBurst), req, len);
			if (f.len == 0)
				fail("a request frame does not fit");
			stock[b][i] = wc_fixture_mbuf(&fx, f.b, f.len);
			if (stock[b][i] == nullptr)
				fail("out of mbufs");
			*pos = (*pos + 1) % kKeys;
		}
	stock_next = 0;
	stock_n = kStockBursts;
}

/* Give back the bursts built and not sent. */
void drain()
{
	for (; stock_next < stock_n; stock_next++)
		rte_pktmbuf_free_bulk(stock[stock_next], kBurst);
}

void bm_udp(benchmark::State &st, Op op)
{
	const struct wc_lcore_stats *s = fx.lc->st;
	uint64_t hits0 = s->mc_get_hits, sets0 = s->mc_cmd_set, tx0 = s->tx_packets;
	unsigned pos = 0;

	stock_next = stock_n = 0;
	for (auto _ : st) {
		if (stock_next == stock_n) {
			st.PauseTiming();
			refill(op, &pos);
			st.ResumeTiming();
		}
		wc_fixture_input(&fx, stock[stock_next++], kBurst);
	}
	drain();

	uint64_t want = (uint64_t)st.iterations() * kBurst;
	uint64_t done = op == GET ? s->mc_get_hits - hits0 : s->mc_cmd_set - sets0;

	if (done != want || s->tx_packets - tx0 != want)
		st.SkipWithError("a request was not answered as expected");
	else if (wc_pool_check(fx.pool, &fx.pool_free, nullptr) != 0)
		st.SkipWithError("an mbuf leaked or was freed twice");
	st.SetItemsProcessed((int64_t)want);
	st.counters["bursts"] = benchmark::Counter((double)st.iterations());
}

/* The TCP client: its one connection's sequence numbers, as of the stock's next segment. */
constexpr uint16_t kTcpPort = 40000;
uint32_t tcp_seq, tcp_rcv;
uint32_t stock_seq[kStockBursts], stock_rcv[kStockBursts];

/*
 * Build the next kStockBursts segments of 32 gets from key *pos on. Each
 * acknowledges the replies to every segment before it, whose lengths are
 * known ahead: a VALUE line, the 32-byte value and END for each get.
 */
void refill_tcp(unsigned *pos)
{
	static uint8_t f[14 + 20 + 60 + 2048];
	char req[kBurst * 32];

	for (unsigned b = 0; b < kStockBursts; b++) {
		size_t len = 0, rlen = 0;

		for (unsigned i = 0; i < kBurst; i++) {
			len += (size_t)snprintf(req + len, sizeof(req) - len, "get key:%012u\r\n",
						*pos);
			rlen += (size_t)snprintf(nullptr, 0, "VALUE key:%012u 0 32\r\n", *pos) +
				32 + 7;
			*pos = (*pos + 1) % kKeys;
		}
		const struct wc_fixture_tcp_seg s = { kTcpPort,
						      (uint16_t)fx.cfg.tcp_port,
						      tcp_seq,
						      tcp_rcv,
						      RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
						      65535,
						      nullptr,
						      0 };
		size_t flen = wc_fixture_tcp_frame(&fx, f, sizeof(f), &s, req, len);

		if (flen == 0 || (stock[b][0] = wc_fixture_mbuf(&fx, f, flen)) == nullptr)
			fail("cannot build a segment");
		stock_seq[b] = tcp_seq;
		stock_rcv[b] = tcp_rcv;
		tcp_seq += (uint32_t)len;
		tcp_rcv += (uint32_t)rlen;
	}
	stock_next = 0;
	stock_n = kStockBursts;
}

void bm_tcp(benchmark::State &st)
{
	struct wc_net *n = &fx.lc->net;
	const struct wc_lcore_stats *s = fx.lc->st;
	uint64_t hits0 = s->mc_get_hits;
	unsigned pos = 0;

	stock_next = stock_n = 0;
	for (auto _ : st) {
		if (stock_next == stock_n) {
			st.PauseTiming();
			refill_tcp(&pos);
			st.ResumeTiming();
		}
		wc_net_input(n, &stock[stock_next++][0], 1);
		wc_tcp_poll(n);
		wc_net_tx_flush(n);
	}
	/* The segments not sent: the client's numbers go back to the first of them. */
	if (stock_next < stock_n) {
		tcp_seq = stock_seq[stock_next];
		tcp_rcv = stock_rcv[stock_next];
		for (; stock_next < stock_n; stock_next++)
			rte_pktmbuf_free(stock[stock_next][0]);
	}

	uint64_t want = (uint64_t)st.iterations() * kBurst;

	if (s->mc_get_hits - hits0 != want)
		st.SkipWithError("a get was not answered as expected");
	st.SetItemsProcessed((int64_t)want);
	st.counters["segments"] = benchmark::Counter((double)st.iterations());
}

/* Every key present before the gets, through the path itself. */
void preload()
{
	unsigned pos = 0;

	for (unsigned n = 0; n < kKeys / (kBurst * kStockBursts) + 1; n++) {
		refill(SET, &pos);
		while (stock_next < stock_n)
			wc_fixture_input(&fx, stock[stock_next++], kBurst);
	}
	if (fx.lc->st->mc_cmd_set < kKeys)
		fail("preload: the sets were not executed");
}

} /* namespace */

int main(int argc, char **argv)
{
	/* Our one flag, taken out before Google Benchmark sees the rest. */
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "--keys=", 7) == 0) {
			kKeys = (unsigned)strtoul(argv[i] + 7, nullptr, 10);
			if (kKeys < kBurst)
				fail("--keys: at least 32");
			for (int j = i; j < argc; j++)
				argv[j] = argv[j + 1];
			argc--;
			break;
		}
	/* Room for every key (about 64 bytes each) with plenty to spare. */
	if (wc_fixture_start_mem(&fx, "path_bench", kKeys > 100000 ? (uint64_t)kKeys * 160 : 0) !=
	    0)
		fail("cannot start the fixture");
	preload();
	if (wc_fixture_tcp_connect(&fx, kTcpPort, 0x1000, &tcp_seq, &tcp_rcv) != 0)
		fail("cannot open the TCP connection");
	benchmark::RegisterBenchmark("udp/get_hit", bm_udp, GET);
	benchmark::RegisterBenchmark("udp/set", bm_udp, SET);
	benchmark::RegisterBenchmark("tcp/get_hit", bm_tcp);
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
