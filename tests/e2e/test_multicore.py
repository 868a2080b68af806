#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""wirecached with two worker lcores: one af_packet queue each (qpairs=2,
PACKET_FANOUT spreading flows over them), one partition each, CREW between
them.

Keys of both partitions (owner = the high 32 bits of XXH3-64(key) scaled to
the partition count, computed here with libxxhash) are set and read from many
source ports, so both queues see traffic; stats must show both lcores
received, forwarded writes and served remote reads. A client reads its own
write from a fresh source port at once; a datagram mixing keys of both
partitions (multi-key gets and gats across them, replies spanning datagrams)
answers in request order; incr, append and cas stay atomic per key when
hammered from many source ports; flush_all empties both partitions;
memcaslap -U -v 1 sees no errors. A port with fewer queues than lcores is
refused with a clear error.

    test_multicore.py [--wirecached PATH] [--time 10]
"""

import argparse
import ctypes
import os
import re
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcudp  # noqa: E402
import netns  # noqa: E402

NPARTS = 2

_xxh = ctypes.CDLL("libxxhash.so.0")
_xxh.XXH3_64bits.restype = ctypes.c_uint64
_xxh.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


def owner(key, n=NPARTS):
    """The partition of @p key, as wirecached's wc_store_owner()."""
    if isinstance(key, str):
        key = key.encode()
    return ((_xxh.XXH3_64bits(key, len(key)) >> 32) * n) >> 32


def keys_of(part, count, prefix="k"):
    """@p count keys owned by partition @p part."""
    out, i = [], 0
    while len(out) < count:
        k = "%s%d" % (prefix, i)
        if owner(k) == part:
            out.append(k)
        i += 1
    return out


class Checks:
    def __init__(self):
        self.results = []

    def __call__(self, name, ok, detail=""):
        self.results.append((name, bool(ok)))
        print("%s - %s%s" % ("ok" if ok else "not ok", name,
                             "" if ok or not detail else ": " + str(detail)[:600]), flush=True)
        return ok


def clients(topo, n, timeout=1.0, retries=0):
    with topo.in_cli():
        return [mcudp.Client(topo.server_addr, 11211, timeout=timeout, retries=retries)
                for _ in range(n)]


def run_threads(fn, args):
    errs = []

    def wrap(*a):
        try:
            fn(*a)
        except Exception as e:  # reported by the caller
            errs.append(repr(e))
    ts = [threading.Thread(target=wrap, args=a) for a in args]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return errs


def ival(stats, name):
    return int(stats.get(name, "0"))


def test_reachable(topo, check):
    """Keys of either partition, set and read back from many source ports."""
    keys = keys_of(0, 100) + keys_of(1, 100)
    cs = clients(topo, 32)
    per = [keys[i::len(cs)] for i in range(len(cs))]

    def setter(c, ks):
        for k in ks:
            r = c.set(k, "v-" + k)
            if r != b"STORED\r\n":
                raise AssertionError("set %s: %r" % (k, r))
    errs = run_threads(setter, list(zip(cs, per)))
    check("200 sets over 32 source ports", not errs, errs)
    bad = []

    def getter(c, ks):
        # Every client reads the keys another client set.
        for k in ks:
            v = c.get(k)
            if v != ("v-" + k).encode():
                bad.append((k, v))
    errs = run_threads(getter, [(cs[i], per[(i + 1) % len(cs)]) for i in range(len(cs))])
    check("every key read back from another source port", not errs and not bad,
          (errs, bad[:5]))
    # A multi-key get of keys of both partitions, from every client.
    line = ("get " + " ".join(keys[::20]) + "\r\n").encode()
    want = b"".join(b"VALUE %s 0 %d\r\nv-%s\r\n" % (k.encode(), len(k) + 2, k.encode())
                    for k in keys[::20]) + b"END\r\n"
    got = [c.request(line) for c in cs]
    check("multi-key get across partitions, from 32 ports", all(g == want for g in got),
          [g for g in got if g != want][:1])
    for c in cs:
        c.close()
    st = clients(topo, 1)[0].stats()
    check("STAT partitions 2", st.get("partitions") == "2", st.get("partitions"))
    check("STAT partition_hash high32_scaled", st.get("partition_hash") == "high32_scaled")
    check("partition 0 holds exactly its 100 keys (%s)" % st.get("partition:0:items"),
          ival(st, "partition:0:items") == 100)
    check("partition 1 holds exactly its 100 keys (%s)" % st.get("partition:1:items"),
          ival(st, "partition:1:items") == 100)
    for i in range(NPARTS):
        check("lcore %d received datagrams (%s)" % (i, st.get("lcore:%d:udp_datagrams" % i)),
              ival(st, "lcore:%d:udp_datagrams" % i) > 0)
    check("writes were forwarded (%s) and received (%s)" %
          (st.get("xcore_forwarded"), st.get("xcore_received")),
          ival(st, "xcore_forwarded") > 0 and ival(st, "xcore_received") > 0)
    check("remote reads happened (%s)" % st.get("xcore_remote_reads"),
          ival(st, "xcore_remote_reads") > 0)
    check("no ring-full drops", ival(st, "drop_xcore_ring_full") == 0,
          st.get("drop_xcore_ring_full"))
    for i in range(NPARTS):
        check("partition %d reports a NUMA node" % i, "partition:%d:numa_node" % i in st)


def test_read_your_writes(topo, check):
    """A write, then a read from a fresh source port, at once."""
    bad = []
    for i in range(60):
        k = "ryw%d" % i
        a, b = clients(topo, 2)
        v = "value-%d-%s" % (i, "x" * (i % 7))
        r = a.set(k, v)
        got = b.get(k)
        if r != b"STORED\r\n" or got != v.encode():
            bad.append((k, owner(k), r, got))
        # And an overwrite, read back by the writer's port and a third one.
        a.set(k, v + "2")
        c = clients(topo, 1)[0]
        if a.get(k) != (v + "2").encode() or c.get(k) != (v + "2").encode():
            bad.append((k, "overwrite"))
        for x in (a, b, c):
            x.close()
    check("read-your-writes from fresh source ports (60 keys, both partitions)", not bad,
          bad[:5])


def test_order(topo, check):
    """Datagrams mixing both partitions answer in request order."""
    a0, b0, c0 = keys_of(0, 3, "ord")
    a1, b1, c1 = keys_of(1, 3, "ord")
    req = (
        "set {a0} 1 0 2\r\nA0\r\n"
        "set {a1} 2 0 2\r\nA1\r\n"
        "get {a0} {a1}\r\n"
        "set {b1} 0 0 1\r\n5\r\n"
        "incr {b1} 10\r\n"
        "set {b0} 0 0 1\r\n7\r\n"
        "decr {b0} 2\r\n"
        "append {a1} 0 0 1\r\nz\r\n"
        "prepend {a0} 0 0 1\r\ny\r\n"
        "get {a1} {b0} {a0} {b1}\r\n"
        "gat 0 {a0} {a1} {b0} {b1}\r\n"
        "touch {c0} 0\r\n"
        "delete {a1}\r\n"
        "mg {a1} v\r\n"
        "mg {a0} v f\r\n"
        "ms {c1} 2 T0\r\nhi\r\n"
        "ma {b1} D5 v\r\n"
        "set {c0} 0 0 1 noreply\r\nq\r\n"
        "get {c0} {c1}\r\n"
        "mn\r\n").format(a0=a0, a1=a1, b0=b0, b1=b1, c0=c0, c1=c1)
    want = (
        "STORED\r\nSTORED\r\n"
        "VALUE {a0} 1 2\r\nA0\r\nVALUE {a1} 2 2\r\nA1\r\nEND\r\n"
        "STORED\r\n15\r\nSTORED\r\n5\r\n"
        "STORED\r\nSTORED\r\n"
        "VALUE {a1} 2 3\r\nA1z\r\nVALUE {b0} 0 1\r\n5\r\nVALUE {a0} 1 3\r\nyA0\r\n"
        "VALUE {b1} 0 2\r\n15\r\nEND\r\n"
        "VALUE {a0} 1 3\r\nyA0\r\nVALUE {a1} 2 3\r\nA1z\r\nVALUE {b0} 0 1\r\n5\r\n"
        "VALUE {b1} 0 2\r\n15\r\nEND\r\n"
        "NOT_FOUND\r\n"
        "DELETED\r\n"
        "EN\r\n"
        "VA 3 f1\r\nyA0\r\n"
        "HD\r\n"
        "VA 2\r\n20\r\n"
        "VALUE {c0} 0 1\r\nq\r\nVALUE {c1} 0 2\r\nhi\r\nEND\r\n"
        "MN\r\n").format(a0=a0, a1=a1, b0=b0, b1=b1, c0=c0, c1=c1)
    bad = []
    for i, c in enumerate(clients(topo, 16)):
        c.request(("delete %s\r\ndelete %s\r\ndelete %s\r\ndelete %s\r\ndelete %s\r\n"
                   "delete %s\r\n" % (a0, a1, b0, b1, c0, c1)).encode())
        got = c.request(req.encode())
        if got != want.encode():
            bad.append(got)
        c.close()
    check("16 mixed-partition datagrams answered in request order", not bad,
          bad[:1] and (bad[0], want))

    # A reply spanning several datagrams, composed on both lcores: gats over
    # 400-byte values of alternating partitions (each key written by its owner).
    ks = [k for pair in zip(keys_of(0, 6, "big"), keys_of(1, 6, "big")) for k in pair]
    c = clients(topo, 1)[0]
    for k in ks:
        c.set(k, k[-1] * 400)
    d0 = c.dgrams
    got = c.request(("gats 0 " + " ".join(ks) + "\r\n").encode())
    vals = re.findall(rb"VALUE (\S+) 0 400 \d+\r\n(.{400})\r\n", got, re.S)
    check("12-key gats across partitions, %d reply datagrams, in key order" % (c.dgrams - d0),
          [v[0].decode() for v in vals] == ks and got.endswith(b"END\r\n") and
          all(v[1] == v[0][-1:] * 400 for v in vals), got[:300])
    c.close()


def test_noreply(topo, check):
    """noreply writes handed to the other lcore: no reply at all, and they land."""
    bad = []
    ks = keys_of(0, 6, "nr") + keys_of(1, 6, "nr")
    cs = clients(topo, 6)
    for i, k in enumerate(ks):
        c = cs[i % len(cs)]
        r = c.no_reply(b"set %s 0 0 2 noreply\r\nnr\r\n" % k.encode(), wait=0.2)
        if r != b"":
            bad.append((k, r))
    for i, k in enumerate(ks):
        v = cs[(i + 1) % len(cs)].get(k)
        if v != b"nr":
            bad.append((k, v))
    check("noreply sets of both partitions: silent, then readable", not bad, bad[:4])
    for c in cs:
        c.close()


def test_atomic(topo, check, nclients=12, per=40):
    """incr, append and cas on one key each, from many source ports at once."""
    c = clients(topo, 1)[0]
    for k in ("ctr", "app", "casctr"):
        c.request(b"delete %s\r\n" % k.encode())
    c.set("ctr", "0")
    c.set("app", "")
    c.set("casctr", "0")
    cs = clients(topo, nclients, timeout=2.0)

    def incr(cl):
        for _ in range(per):
            r = cl.request(b"incr ctr 1\r\n")
            if not r.strip().isdigit():
                raise AssertionError("incr: %r" % r)
    errs = run_threads(incr, [(x,) for x in cs])
    v = c.get("ctr")
    check("%d clients x %d incr on one key (owner %d) = %s" % (nclients, per, owner("ctr"), v),
          not errs and v == str(nclients * per).encode(), errs)

    def append(cl):
        for _ in range(per):
            r = cl.request(b"append app 0 0 1\r\nx\r\n")
            if r != b"STORED\r\n":
                raise AssertionError("append: %r" % r)
    errs = run_threads(append, [(x,) for x in cs])
    v = c.get("app") or b""
    check("%d clients x %d append on one key = %d bytes" % (nclients, per, len(v)),
          not errs and v == b"x" * (nclients * per), errs)

    def cas(cl):
        done = 0
        while done < per // 4:
            r = cl.request(b"gets casctr\r\n")
            m = re.match(rb"VALUE casctr 0 \d+ (\d+)\r\n(\d+)\r\nEND\r\n", r)
            if not m:
                raise AssertionError("gets: %r" % r)
            n = str(int(m.group(2)) + 1).encode()
            r = cl.request(b"cas casctr 0 0 %d %s\r\n%s\r\n" % (len(n), m.group(1), n))
            if r == b"STORED\r\n":
                done += 1
            elif r != b"EXISTS\r\n":
                raise AssertionError("cas: %r" % r)
    errs = run_threads(cas, [(x,) for x in cs])
    v = c.get("casctr")
    check("%d clients x %d cas increments on one key = %s" % (nclients, per // 4, v),
          not errs and v == str(nclients * (per // 4)).encode(), errs)
    for x in cs + [c]:
        x.close()


def test_flush(topo, check):
    cs = clients(topo, 8)
    keys = keys_of(0, 10, "fl") + keys_of(1, 10, "fl")
    for k in keys:
        cs[0].set(k, "x")
    r = cs[1].request(b"flush_all\r\n")
    left = [k for c in cs for k in keys if c.get(k) is not None]
    check("flush_all answered OK and empties both partitions", r == b"OK\r\n" and not left,
          (r, left[:5]))
    for c in cs:
        c.close()


def test_memcaslap(topo, check, seconds):
    cmd = ["timeout", "-s", "INT", str(seconds + 60), "memcaslap", "-s",
           topo.server_addr + ":11211", "-U", "-v", "1", "-t", "%ds" % seconds, "-T", "2",
           "-c", "16"]
    p = subprocess.run(["ip", "netns", "exec", topo.cli] + cmd, capture_output=True,
                       text=True, errors="replace")
    print(p.stdout[-1500:], flush=True)
    st = {k: int(v) for k, v in re.findall(r"^\s*(\w+): (\d+)\s*$", p.stdout, re.M)}
    ops = st.get("cmd_get", 0) + st.get("cmd_set", 0)
    lost = st.get("packet_drop", 0) + st.get("udp_timeout", 0)
    check("memcaslap -U -v 1 exit 0", p.returncode == 0, p.stderr[-500:])
    check("memcaslap ran %d operations" % ops, ops > 1000)
    check("memcaslap verify_failed == 0 (%s)" % st.get("verify_failed"),
          st.get("verify_failed") == 0)
    check("memcaslap no error lines", not re.search(r"(?i)\berror\b|failed to", p.stderr),
          p.stderr[-500:])
    check("memcaslap loss %d <= 1%% of %d" % (lost, ops), lost * 100 <= ops)


def test_queue_mismatch(check):
    """Two lcores on a one-queue port: refused with a clear error."""
    topo = netns.Topology(tag="mq")
    try:
        netns.start_wirecached(topo, lcores="0,1", timeout=30)
        check("2 lcores on a 1-queue port refused", False, "it started")
    except RuntimeError as e:
        msg = str(e)
        check("2 lcores on a 1-queue port refused with a clear error",
              "qpairs" in msg and "queue" in msg, msg[-400:])
    topo.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wirecached")
    ap.add_argument("--time", type=int, default=10)
    a = ap.parse_args()
    netns.require(("ip", "ethtool", "memcaslap"))
    check = Checks()
    try:
        topo = netns.Topology(tag="mc")
        srv = netns.start_wirecached(topo, opts=("--memory-limit", "64m"), lcores="0,1",
                                     vdev_args="qpairs=%d" % NPARTS)
    except Exception as e:
        print("setup failed: %s" % e)
        print("0 passed, 1 failed")
        return 1
    check("ready with lcores=2", "lcores=2" in srv.output())
    for t in (test_reachable, test_read_your_writes, test_order, test_noreply, test_atomic,
              test_flush):
        try:
            t(topo, check)
        except Exception as e:
            check(t.__name__ + " ran", False, repr(e))
    test_memcaslap(topo, check, a.time)
    check("server still running", srv.alive())
    rc = srv.stop()
    check("clean exit after SIGINT (status %s)" % rc, rc == 0)
    failed = [n for n, ok in check.results if not ok]
    if failed:
        print("server output tail:\n" + srv.output_tail(30))
    topo.close()
    test_queue_mismatch(check)
    netns.cleanup_all()
    failed = [n for n, ok in check.results if not ok]
    print("%d passed, %d failed" % (len(check.results) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
