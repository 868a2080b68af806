/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The memcached text and meta protocols without the network: Google
 * Benchmark over the C parser and executor.
 *
 *   mc_bench [--benchmark_filter=...] [--benchmark_format=json] ...
 *
 * Keys are 16 bytes and values 32 bytes, as in tools/bench-callgrind.
 *
 *   parse/get             wc_mc_parse() of `get <key>\r\n`
 *   parse/get10           of a get of ten keys (the parser checks each)
 *   parse/set             of `set <key> 0 0 32\r\n<value>\r\n`
 *   parse/mg              of `mg <key> v f c t\r\n`
 *   parse/ms              of `ms <key> 32 T0\r\n<value>\r\n`
 *   process/get_hit       wc_mc_process() of `get <key>\r\n` over a store
 *                         partition holding the key, reply into a flat wc_out
 *   process/set           of `set <key> 0 0 32\r\n<value>\r\n`, overwriting
 *
 * The process benchmarks cycle through 1024 keys so one hot item does not
 * flatter the store. items_per_second is requests per second on one core.
 */
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_memory.h>

#include <benchmark/benchmark.h>

extern "C" {
#include "dataplane/proto/mc.h"
#include "dataplane/proto/mc_parse.h"
#include "store/store.h"
}

namespace
{

constexpr uint32_t kMaxValue = 1024 * 1024;
constexpr uint32_t kKeys = 1024; /* a power of two: the cycle is a mask */
constexpr uint32_t kNow = 1700000000;
const char kValue[] = "value-of-32-bytes-for-the-bench!";
static_assert(sizeof(kValue) - 1 == 32, "values are 32 bytes");

struct World {
	struct wc_store *store = nullptr;
	struct wc_lcore_stats st = {};
	struct wc_mc_server srv = {};
	struct wc_mc_ctx ctx = {};
	std::vector<std::string> get_req; /* one per key */
	std::vector<std::string> set_req;
	uint8_t out[4096];
};

World w;

void fail(const char *what)
{
	fprintf(stderr, "mc_bench: %s\n", what);
	exit(1);
}

std::string key(uint32_t i)
{
	char b[32];

	snprintf(b, sizeof(b), "key:%012" PRIu32, i);
	return b; /* 16 bytes */
}

std::string set_cmd(uint32_t i)
{
	return "set " + key(i) + " 0 0 32\r\n" + kValue + "\r\n";
}

/* One pass through the executor; @return the reply bytes, or 0 on a short read. */
size_t process(const std::string &req)
{
	struct wc_mc_session ss = {};
	struct wc_out o;
	size_t used;

	wc_out_init_flat(&o, w.out, sizeof(w.out));
	used = wc_mc_process(&w.ctx, &ss, (const uint8_t *)req.data(), req.size(), &o);
	if (used != req.size() || o.overflow)
		return 0;
	return o.written;
}

void setup_world()
{
	struct wc_store_config sc = {};

	sc.name = "wcmb";
	sc.mem_limit = 16u << 20;
	sc.max_item_size = kMaxValue + 1024;
	sc.socket_id = SOCKET_ID_ANY;
	w.store = wc_store_create(&sc);
	if (w.store == nullptr)
		fail("cannot create the store partition");
	wc_store_tick(w.store, kNow);
	w.srv.max_item_size = kMaxValue;
	w.srv.version = "bench";
	w.ctx.srv = &w.srv;
	w.ctx.store = w.store;
	w.ctx.st = &w.st;
	for (uint32_t i = 0; i < kKeys; i++) {
		w.get_req.push_back("get " + key(i) + "\r\n");
		w.set_req.push_back(set_cmd(i));
		if (process(w.set_req[i]) != strlen("STORED\r\n"))
			fail("preload: a set was not stored");
	}
}

void bm_parse(benchmark::State &st, std::string req, enum wc_mc_cmd want)
{
	struct wc_mc_request r;
	const uint8_t *p = (const uint8_t *)req.data();
	uint64_t bad = 0;

	for (auto _ : st) {
		enum wc_mc_status s = wc_mc_parse(p, req.size(), kMaxValue, &r);

		bad += s != WC_MC_OK || r.consumed != req.size();
		benchmark::DoNotOptimize(r);
	}
	if (bad != 0 || r.cmd != want)
		st.SkipWithError("the request did not parse whole");
	st.SetItemsProcessed(st.iterations());
	st.SetBytesProcessed(st.iterations() * (int64_t)req.size());
}

void bm_process(benchmark::State &st, bool get)
{
	const std::vector<std::string> &reqs = get ? w.get_req : w.set_req;
	const size_t want =
		get ? strlen("VALUE key:000000000000 0 32\r\n") + 32 + strlen("\r\nEND\r\n")
		    : strlen("STORED\r\n");
	uint64_t hits0 = w.st.mc_get_hits, bad = 0;
	uint32_t i = 0;

	for (auto _ : st) {
		bad += process(reqs[i]) != want;
		i = (i + 1) & (kKeys - 1);
	}
	if (bad != 0 || (get && w.st.mc_get_hits - hits0 != (uint64_t)st.iterations()))
		st.SkipWithError("a request was not answered as expected");
	st.SetItemsProcessed(st.iterations());
}

void register_all()
{
	std::string k = key(7), get10 = "get";

	for (uint32_t i = 0; i < 10; i++)
		get10 += " " + key(i);
	get10 += "\r\n";
	benchmark::RegisterBenchmark("parse/get", bm_parse, "get " + k + "\r\n", WC_MC_CMD_GET);
	benchmark::RegisterBenchmark("parse/get10", bm_parse, get10, WC_MC_CMD_GET);
	benchmark::RegisterBenchmark("parse/set", bm_parse, set_cmd(7), WC_MC_CMD_SET);
	benchmark::RegisterBenchmark("parse/mg", bm_parse, "mg " + k + " v f c t\r\n",
				     WC_MC_CMD_MG);
	benchmark::RegisterBenchmark("parse/ms", bm_parse,
				     "ms " + k + " 32 T0\r\n" + kValue + "\r\n", WC_MC_CMD_MS);
	benchmark::RegisterBenchmark("process/get_hit", bm_process, true);
	benchmark::RegisterBenchmark("process/set", bm_process, false);
}

} /* namespace */

int main(int argc, char **argv)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "--file-prefix=wcmb_%d", (int)getpid());
	const char *eal[] = { argv[0],
			      "--no-huge",
			      "-m",
			      "256",
			      "--no-pci",
			      "--no-telemetry",
			      "-l",
			      "0",
			      "--no-shconf",
			      prefix,
			      "--log-level=lib.eal:error" };
	if (rte_eal_init((int)RTE_DIM(eal), const_cast<char **>(eal)) < 0)
		fail("cannot start the EAL");
	setup_world();
	register_all();
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
