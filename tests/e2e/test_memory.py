#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The memory limit and active expiry, end to end over UDP.

wirecached runs with --memory-limit 8m on 2 MB hugepages of its own: the
test reserves pages (vm.nr_hugepages, given back at exit) and mounts a
private hugetlbfs for --huge-dir, so every file in it is this process's
memory. Where no hugepages can be had it falls back to --no-huge and counts
the process's RSS instead, and says so.

  expiry          keys set with exptime 2 and never read are gone 4 s later:
                  curr_items and bytes fall back, `reclaimed` grows by as
                  many, and get_expired stays 0 (nothing was found lazily).
  memory_limit    5x more 16-byte-key/32-byte-value sets than fit: every one
                  answers STORED, `bytes` never exceeds limit_maxbytes,
                  evictions > 0, and the hugepage (or RSS) footprint stays
                  within the limit plus a fixed overhead (below).

Fixed overhead, besides the item memory (which the store reserves whole at
start, so filling adds nothing): the packet pool (--mbufs 4095, about 2.3
KB each), the index (sized from the limit: a slot of 8 bytes for each 54
bytes of limit and 15% more, about 0.17 bytes per byte of limit; see
store/store.c) and EAL/ethdev structures, bounded
here by 32 MiB. The test also checks that filling grows the footprint by no
more than 2 pages.

    test_memory.py [--wirecached PATH] [--only CASE,...]
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcudp  # noqa: E402
import netns  # noqa: E402
import runner  # noqa: E402
from runner import check  # noqa: E402

MIB = 1 << 20
LIMIT = 8 * MIB
MBUFS = 4095
MBUF_BYTES = 2432  # 2048 data + 128 headroom + 128 mbuf header + mempool header, rounded
PAGE = 2 * MIB
EAL_FIXED = 32 * MIB
PER_DGRAM = 20  # sets per UDP datagram (each reply carries as many STORED)

cases = runner.Cases()
case = cases.add


def index_bytes(limit):
    """The index for as many 54-byte items (16-byte key, 32-byte value) as
    the limit holds, at most: 64-byte buckets of 8 slots, 85% of them used."""
    e = max(limit // 54, 64)
    return -(-e * 100 // (8 * 85)) * 64


def start(topo, huge, lifetime=240):
    """wirecached as netns.start_wirecached() starts it, but on hugepages."""
    path = netns.wirecached_path()
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("no wirecached binary (set WIRECACHED or pass --wirecached)")
    prefix = "wcmem%d" % os.getpid()
    mem = ["--huge-dir", huge.dir] if huge.ok else ["--no-huge", "-m", "512"]
    argv = ["timeout", "-s", "INT", "-k", "10", str(lifetime + 60), path, "-l", "0"] + mem + [
        "--no-pci", "--no-telemetry", "--no-shconf", "--file-prefix", prefix,
        "--vdev=net_af_packet0,iface=%s" % topo.srv_if, "--", "--ip",
        topo.server_addr + "/24", "--lifetime", str(lifetime), "--memory-limit",
        str(LIMIT), "--mbufs", str(MBUFS)]
    s = netns.Server(topo, argv, "wirecached")
    s.wait_line(r"^wirecached: ready", timeout=60)
    return s


def child_pid(pid):
    """wirecached itself: the child of `timeout`."""
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        kids = f.read().split()
    return int(kids[0]) if kids else pid


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024


class Ctx:
    def __init__(self):
        # The limit, the index, the packet pool and EAL's own, with room.
        need = (LIMIT + index_bytes(LIMIT) + MBUFS * MBUF_BYTES + EAL_FIXED) // PAGE + 16
        self.huge = netns.Hugepages(need)
        if not self.huge.ok:
            netns.log("NOTE: no hugepages to be had; running with --no-huge and checking RSS")
        self.topo = netns.Topology(tag="m")
        self.srv = start(self.topo, self.huge)
        self.pid = child_pid(self.srv.proc.pid)
        with self.topo.in_cli():
            self.c = mcudp.Client(self.topo.server_addr, timeout=1.0, retries=3)
        self.foot0 = self.footprint()
        netns.log("footprint at start: %.1f MiB (%s)" % (self.foot0 / MIB, self.kind()))

    def kind(self):
        return "hugepages in %s" % self.huge.dir if self.huge.ok else "RSS, --no-huge"

    def footprint(self):
        return self.huge.used() if self.huge.ok else rss(self.pid)

    def stats(self):
        return {k: int(v) for k, v in self.c.stats().items() if v.isdigit()}

    def set_many(self, keys, value, exptime=0):
        """Set @p keys, PER_DGRAM to a datagram; every one must answer STORED."""
        for i in range(0, len(keys), PER_DGRAM):
            chunk = keys[i:i + PER_DGRAM]
            req = b"".join(b"set %s 0 %d %d\r\n%s\r\n" % (k, exptime, len(value), value)
                           for k in chunk)
            got = self.c.request(req)
            if got != b"STORED\r\n" * len(chunk):
                raise runner.Fail("set of %d keys from %r answered %s" %
                                  (len(chunk), chunk[0], runner.show(got)))

    def on_failure(self):
        if not self.srv.alive():
            print("  server died:\n  " + self.srv.output_tail().replace("\n", "\n  "))


@case
def expiry(x):
    n = 20000
    before = x.stats()
    x.set_many([b"exp:%012d" % i for i in range(n)], b"e" * 32, exptime=2)
    full = x.stats()
    check(full["curr_items"] >= before["curr_items"] + n,
          "curr_items %d after %d sets (was %d)" % (full["curr_items"], n, before["curr_items"]))
    time.sleep(4)
    # The background walk reclaims in bounded slices; give it a little more.
    deadline = time.monotonic() + 10
    while True:
        after = x.stats()
        if after["curr_items"] <= before["curr_items"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    netns.log("expiry: curr_items %d -> %d -> %d, reclaimed %d -> %d, bytes %d -> %d -> %d" % (
        before["curr_items"], full["curr_items"], after["curr_items"], before["reclaimed"],
        after["reclaimed"], before["bytes"], full["bytes"], after["bytes"]))
    check(after["curr_items"] <= before["curr_items"],
          "curr_items still %d (expected <= %d)" % (after["curr_items"], before["curr_items"]))
    check(after["reclaimed"] - before["reclaimed"] >= n,
          "reclaimed grew by %d, expected >= %d" % (after["reclaimed"] - before["reclaimed"], n))
    check(after["bytes"] <= before["bytes"],
          "bytes %d, expected back to <= %d" % (after["bytes"], before["bytes"]))
    check(after.get("get_expired", 0) == before.get("get_expired", 0),
          "items were found expired by a read; none was read")
    check(x.c.request(b"get exp:%012d\r\n" % 7) == b"END\r\n", "an expired key still answers")


@case
def memory_limit(x):
    st = x.stats()
    limit = st["limit_maxbytes"]
    check(limit == LIMIT, "limit_maxbytes %d, expected %d" % (limit, LIMIT))
    per_item = 16 + 32 + 32  # key, value, header: an upper bound on what fits
    total = 5 * LIMIT // per_item
    value = b"m" * 32
    batch = []
    peak = 0
    for i in range(total):
        batch.append(b"key:%012d" % i)
        if len(batch) == PER_DGRAM * 50 or i == total - 1:
            x.set_many(batch, value)
            batch = []
            st = x.stats()
            peak = max(peak, st["bytes"])
            check(st["bytes"] <= limit, "bytes %d above the limit %d after %d sets" %
                  (st["bytes"], limit, i + 1))
    foot = x.footprint()
    st = x.stats()
    overhead = index_bytes(LIMIT) + MBUFS * MBUF_BYTES + EAL_FIXED
    netns.log("limit: %d sets, curr_items %d, evictions %d, peak bytes %d of %d; footprint "
              "%.1f MiB at start, %.1f MiB filled (%s); allowed %.1f MiB = limit %.1f + index "
              "%.1f + mbufs %.1f + EAL %.1f" % (
                  total, st["curr_items"], st["evictions"], peak, limit, x.foot0 / MIB,
                  foot / MIB, x.kind(), (LIMIT + overhead) / MIB, LIMIT / MIB,
                  index_bytes(LIMIT) / MIB, MBUFS * MBUF_BYTES / MIB, EAL_FIXED / MIB))
    check(st["evictions"] > 0, "no evictions after %d sets into %d bytes" % (total, limit))
    check(st["curr_items"] < total, "all %d items kept under an %d-byte limit" % (total, limit))
    check(st.get("store_oom", 0) == 0, "store_oom %d: a set found no memory" % st["store_oom"])
    # The newest key is there.
    got = x.c.request(b"get key:%012d\r\n" % (total - 1))
    check(got.startswith(b"VALUE key:%012d 0 32\r\n" % (total - 1)), "newest key missing")
    if x.huge.ok:
        check(foot <= x.foot0 + 2 * PAGE, "hugepages grew from %d to %d while filling" %
              (x.foot0, foot))
        check(foot <= LIMIT + overhead, "hugepages %d above limit + overhead %d" %
              (foot, LIMIT + overhead))
    else:
        # Without hugepages the EAL maps -m 512 lazily: only what is touched counts.
        check(foot - x.foot0 <= LIMIT + index_bytes(LIMIT) + 2 * PAGE,
              "RSS grew by %d while filling an %d-byte limit" % (foot - x.foot0, LIMIT))


def main():
    netns.require()
    ctx = None
    try:
        ctx = Ctx()
        rc = cases.run(ctx)
        status = ctx.srv.stop()
        if status not in (0, None) and not ctx.srv.alive():
            print("wirecached exit status %s:\n%s" % (status, ctx.srv.output_tail()))
            rc = 1
    finally:
        netns.cleanup_all()
    return rc


if __name__ == "__main__":
    sys.exit(main())
