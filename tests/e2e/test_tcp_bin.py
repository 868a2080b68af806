#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Differential test: wirecached against Debian's memcached, binary protocol over TCP.

The same request groups -- hand-written edge cases, then seeded random
pipelines -- go to memcached (`-p 11211 -U 0`, on a veth in its own
namespace) and to wirecached, each group followed by a No-op whose answer
marks its end. Responses must be equal field for field once CAS values are
masked (a non-zero CAS shows as "CAS"; zero stays zero, as memcached's
errors send it), the version string too, and space padding of numbers
undone (see canon()). A request whose CAS field is cas_of(KEY) gets each
server's own last CAS for KEY. A group that ends the connection (quit, a
malformed header) must end it on both; both are then reconnected.

Then memccapable's binary suite (libmemcached-tools) runs against
wirecached. All of it twice: wirecached with one worker lcore, then with
two (one queue each), where half the keys belong to the other lcore's
partition and their writes cross over.

Stat groups are compared by shape only (found or not, the common
counters present): their values differ. Left out on purpose: short TTLs,
values near the size limit (memcached counts its own item header in it), unknown
opcodes with a body and Verbosity with extras (memcached 1.6 discards
extlen + keylen bytes too many after answering them, so the next request
is misread; wirecached discards exactly the body -- test_mc_bin.c checks
that), and a refused value whose body is still on its way (memcached holds
back every response until the body is discarded).

    test_tcp_bin.py [--wirecached PATH] [--seed N] [--count N] [--lcores N]
    test_tcp_bin.py --direct HOST:PORT HOST:PORT   (two servers already running)
"""

import argparse
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcbin  # noqa: E402
from mcbin import pack, store, arith, touch, get  # noqa: E402

MAX_MISMATCHES = 10
FENCE = 0xFE0CE0CE
BIG = 1536 * 1024  # over the 1 MB item limit of both servers

KEYS = ["k%d" % i for i in range(20)] + ["key:%d" % i for i in range(4)] + ["L" * 250]
ALNUM = b"abcdefghijklmnopqrstuvwxyz0123456789"


# A request's CAS field may name a key instead of a value: CAS_TAG | index
# into CAS_KEYS, replaced per server by its last CAS for that key.
CAS_TAG = 0xCA5E_0000_0000_0000
CAS_KEYS = []
NO_CAS = 99999999999


def cas_of(key):
    """A CAS field to be filled per server with its last CAS for @p key."""
    if key not in CAS_KEYS:
        CAS_KEYS.append(key)
    return CAS_TAG | CAS_KEYS.index(key)


# Hand-written request groups. Each entry: a list of (request, key the
# response's CAS belongs to or None), or raw bytes for a malformed group.
def edge_cases():
    E = []

    def g(*reqs):
        E.append(list(reqs))

    g((store("set", "e1", "hello", flags=7, opaque=1), "e1"),
      (get("e1", opaque=2), "e1"), (get("e1", "getk", opaque=3), "e1"),
      (get("e1", "getq", opaque=4), "e1"), (get("e1", "getkq", opaque=5), "e1"))
    g((get("nx", opaque=1), None), (get("nx", "getk", opaque=2), None),
      (get("nx", "getq", opaque=3), None), (get("nx", "getkq", opaque=4), None))
    g((store("add", "e1", "x", opaque=1), None), (store("add", "e2", "x", flags=3), "e2"),
      (store("replace", "e3", "x"), None), (store("replace", "e2", "yy", flags=9), "e2"),
      (store("append", "e2", "++"), "e2"), (store("prepend", "e2", "--"), "e2"),
      (store("append", "nx", "a"), None), (store("prepend", "nx", "a"), None),
      (get("e2"), "e2"))
    g((store("setq", "q1", "v"), "q1"), (store("addq", "q1", "v"), None),
      (store("addq", "q2", "v"), "q2"), (store("replaceq", "q3", "v"), None),
      (store("appendq", "q1", "w"), "q1"), (store("prependq", "q3", "w"), None),
      (get("q1", "getkq"), "q1"), (pack("deleteq", "q2"), None), (pack("deleteq", "q2"), None))
    # CAS rules: stale and right CAS on every storage opcode.
    g((store("set", "c1", "v"), "c1"))
    g((store("set", "c1", "w", cas=cas_of("c1")), "c1"))
    g((store("set", "c1", "x", cas=12345), None), (store("add", "c1", "x", cas=12345), None),
      (store("replace", "c1", "x", cas=12345), None), (store("append", "c1", "x", cas=12345),
                                                        None),
      (pack("delete", "c1", cas=12345), None), (arith("incr", "c1", cas=12345), None),
      (store("set", "nx", "x", cas=5), None), (store("add", "nx", "x", cas=5), None),
      (store("append", "nx", "x", cas=5), None))
    g((store("add", "c1", "a1", cas=cas_of("c1")), "c1"))
    g((store("append", "c1", "+", cas=cas_of("c1")), "c1"))
    g((store("replace", "c1", "r1", flags=4, cas=cas_of("c1")), "c1"), (get("c1"), "c1"))
    g((pack("delete", "c1", cas=cas_of("c1")), None), (get("c1"), None))
    # incr/decr: creation, no-create, wrap, floor, non-numeric, quiet, padding.
    g((arith("incr", "n1", 5, 10), "n1"), (arith("incr", "n1", 5, 10), "n1"),
      (arith("decr", "n1", 100), "n1"), (get("n1"), "n1"))
    g((arith("incr", "n2", 1, 0, 0xFFFFFFFF), None), (arith("decr", "n2", 1, 0, 0xFFFFFFFF),
                                                      None),
      (arith("incrq", "n2", 1, 0, 0xFFFFFFFF), None), (arith("decrq", "n3", 2, 50), "n3"),
      (arith("decrq", "n3", 2), "n3"), (get("n3"), "n3"))
    g((store("set", "n4", "18446744073709551615"), "n4"), (arith("incr", "n4", 2), "n4"),
      (get("n4"), "n4"), (arith("incr", "n5", 1, 2**64 - 1), "n5"),
      (arith("incr", "n5", 1), "n5"))
    g((store("set", "s1", "abc"), "s1"), (arith("incr", "s1"), None),
      (arith("decrq", "s1"), None), (store("set", "s2", ""), "s2"), (arith("incr", "s2"), None))
    g((arith("incr", "n6", 1, 7, 1000), "n6"), (touch("gat", "n6", 0), "n6"))
    # touch and gat: flags only for touch, keys for K, quiet misses.
    g((store("set", "t1", "val", flags=5, exptime=1000), "t1"),
      (touch("touch", "t1", 2000), "t1"), (touch("gat", "t1", 0), "t1"),
      (touch("gatk", "t1", 3000), "t1"), (touch("gatq", "t1", 1000), "t1"),
      (touch("gatkq", "t1", 1000), "t1"), (touch("touch", "nx", 1), None),
      (touch("gat", "nx", 1), None), (touch("gatk", "nx", 1), None),
      (touch("gatq", "nx", 1), None), (touch("gatkq", "nx", 1), None))
    # Expiry: absolute in the past (just over 30 days: 1970), far future.
    g((store("set", "x1", "v", exptime=2592001), "x1"), (get("x1"), None),
      (store("set", "x2", "v", exptime=0xFFFFFFFF), "x2"), (get("x2"), "x2"),
      (touch("touch", "x2", 2592001), "x2"), (get("x2"), None))
    g((store("set", "L" * 250, "long key"), "L" * 250), (get("L" * 250, "getk"), "L" * 250))
    g((store("set", "z1", "", flags=0xFFFFFFFF), "z1"), (get("z1", "getk"), "z1"))
    g((pack("noop", opaque=77), None), (pack("version", opaque=78), None))
    g((pack("sasl_list", opaque=1), None), (pack("sasl_auth", "PLAIN", value=b"\0u\0p"), None),
      (pack("sasl_step", "PLAIN", value=b"x"), None), (pack(0xFF, opaque=2), None),
      (pack(0x1B, opaque=3), None), (pack(0x30), None))
    # Too large, then the same key: SET drops the old value, ADD keeps it.
    g((store("set", "b1", "old"), "b1"), (store("set", "b1", b"x" * BIG), None),
      (get("b1"), None), (store("set", "b2", "old"), "b2"),
      (store("add", "b2", b"x" * BIG), None), (store("append", "b2", b"y" * BIG), None),
      (get("b2"), "b2"), (store("setq", "b2", b"z" * BIG), None), (get("b2"), None))
    g((pack("flush", opaque=1), None), (get("e2"), None), (store("set", "e2", "after"), "e2"),
      (pack("flushq", extras=mcbin.exp_extras(0)), None), (get("e2"), None))
    # Requests memcached answers and then closes on.
    E.append(pack("quit", opaque=9) + pack("noop"))
    E.append(pack("quitq", opaque=9) + pack("noop"))
    # (A connection's first byte decides its protocol: binary ones start well.)
    E.append(pack("noop", opaque=1) + pack("noop", magic=0x81))
    # memcached drops responses not yet written when it closes: a No-op
    # (which makes it write) goes first.
    E.append(store("set", "m1", "v") + pack("noop") + pack("noop", magic=0x00))
    E.append(pack("get", "abc", bodylen=2))
    E.append(pack("set", "abc", extras=mcbin.set_extras(), bodylen=5))
    E.append(pack("get", "k" * 251, opaque=2))
    E.append(pack(0x50, "k" * 251, opaque=2))
    E.append(pack("get", "abc", extras=b"1234"))
    E.append(pack("get"))
    E.append(pack("getk", "abc", value=b"v"))
    E.append(pack("set", "abc", extras=b"1234", value=b"v"))
    E.append(pack("set", "", extras=mcbin.set_extras(), value=b"v"))
    E.append(pack("add", "abc", value=b"v"))
    E.append(pack("delete", "abc", extras=mcbin.exp_extras(0)))
    E.append(pack("incr", "abc", extras=b"12345678"))
    E.append(pack("incr", "abc", extras=mcbin.incr_extras(), value=b"x"))
    E.append(pack("append", "abc", extras=b"12345678", value=b"x"))
    E.append(pack("version", "k"))
    E.append(pack("noop", value=b"x"))
    E.append(pack("quit", "k"))
    E.append(pack("flush", extras=b"12345678"))
    E.append(pack("flush", "k"))
    E.append(pack("stat", extras=b"1234"))
    E.append(pack("touch", "abc"))
    E.append(pack("gat", extras=mcbin.exp_extras(0)))
    E.append(pack("sasl_list", "k"))
    E.append(pack("sasl_auth"))
    return E


class Gen:
    """Seeded random request groups over a small key space."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        # Keys whose number memcached may have padded with spaces: no
        # append/prepend on them until a full overwrite (see canon()).
        self.padded = set()

    def key(self):
        return self.r.choice(KEYS)

    def value(self):
        r = self.r
        if r.random() < 0.3:
            return str(r.choice([0, 1, 9, 10, 99, 100, 1000, r.randrange(1 << 64),
                                 (1 << 64) - 1, r.randrange(100000)])).encode()
        n = r.choice([0, 1, 2, 5, 10, 50, 100, 500, 1000, 4000, r.randrange(1200)])
        return bytes(r.choice(ALNUM) for _ in range(n))

    def flags(self):
        return self.r.choice([0, 0, 0, 1, 42, 0xFFFFFFFF, self.r.randrange(1 << 32)])

    def exptime(self):
        return self.r.choice([0, 0, 0, 0, 1000, 86400, 0xFFFFFFFF, 2592001])

    def cas(self, k):
        p = self.r.random()
        if p < 0.75:
            return 0
        if p < 0.92:
            return cas_of(k)
        return self.r.choice([1, 99999999, (1 << 64) - 1])

    def one(self):
        r = self.r
        p = r.random()
        k = self.key()
        o = r.randrange(1 << 32)
        q = r.random() < 0.3
        if p < 0.25:
            op = r.choice(["get", "getk"]) + ("q" if q else "")
            return get(k, op, opaque=o), k
        if p < 0.50:
            op = r.choice(["set", "set", "set", "add", "replace", "append", "prepend"])
            if k in self.padded and op in ("append", "prepend"):
                op = "set"
            if op == "set":
                self.padded.discard(k)
            return store(op + ("q" if q else ""), k, self.value(), self.flags(), self.exptime(),
                         opaque=o, cas=self.cas(k)), k
        if p < 0.57:
            return pack("delete" + ("q" if q else ""), k, opaque=o, cas=self.cas(k)), None
        if p < 0.70:
            self.padded.add(k)
            d = r.choice([0, 1, 7, 1000, (1 << 64) - 1, r.randrange(1 << 64)])
            init = r.choice([0, 5, 100, (1 << 64) - 1])
            e = r.choice([0, 0, 1000, 0xFFFFFFFF])
            return arith(r.choice(["incr", "decr"]) + ("q" if q else ""), k, d, init, e,
                         opaque=o, cas=self.cas(k) if r.random() < 0.2 else 0), k
        if p < 0.82:
            op = r.choice(["touch", "gat", "gatk", "gatq", "gatkq"])
            return touch(op, k, self.exptime(), opaque=o), k
        if p < 0.88:
            return pack(r.choice(["noop", "version"]), opaque=o), None
        if p < 0.885:
            return pack("flush" + ("q" if q else ""), opaque=o), None
        if p < 0.89:
            return pack(r.choice([0x1B, 0x20, 0x40, 0xEE]), opaque=o), None
        return get(k, opaque=o), k

    def group(self):
        n = self.r.choice([1, 1, 1, 2, 3, 5])
        return [self.one() for _ in range(n)]


def canon(resps):
    """Undo memcached's space padding of numbers it rewrote in place.

    memcached keeps a number's length after incr/decr when it can rewrite
    the item in place ("0 " after decrementing "15"), which depends on
    references no client can see. Generated values never hold a space, so
    spaces in a value are padding: drop them (and fix the body length).
    """
    out = []
    for r in resps:
        t = list(r.tuple(mask_cas=True))
        val = t[11]
        if t[1] in (mcbin.OP["get"], mcbin.OP["getq"], mcbin.OP["getk"], mcbin.OP["getkq"],
                    mcbin.OP["gat"], mcbin.OP["gatq"], mcbin.OP["gatk"], mcbin.OP["gatkq"]) \
                and b" " in val and t[5] == 0:
            val = val.replace(b" ", b"")
            t[6] = t[3] + t[2] + len(val)
            t[11] = val
        if t[1] == mcbin.OP["version"] and t[5] == 0:
            t[6] = t[11] = "<version>"
        out.append(tuple(t))
    return out


class Side:
    """One server as the test drives it: a connection, and the CAS it reported per key."""

    def __init__(self, name, connect, server=None):
        self.name = name
        self.connect = connect
        self.server = server
        self.c = connect()
        self.cas = {}

    def prepare(self, group):
        """The group's bytes with CAS placeholders filled in, and opaque -> key."""
        if isinstance(group, bytes):
            return group, {}
        parts, keys = [], {}
        for req, k in group:
            cas = struct.unpack_from("!Q", req, 16)[0]
            if cas & ~0xFFFF == CAS_TAG:
                req = req[:16] + struct.pack("!Q", self.cas.get(CAS_KEYS[cas & 0xFFFF],
                                                                NO_CAS)) + req[24:]
            parts.append(req)
            if k is not None:
                keys[struct.unpack_from("!I", req, 12)[0]] = k
        return b"".join(parts), keys

    def send(self, group):
        """Send one group and its fence. @return (responses, closed)."""
        data, keys = self.prepare(group)
        try:
            self.c.send(data + pack("noop", opaque=FENCE))
            rs = self.c.recv_until_noop(timeout=5, opaque=FENCE)
            closed = False
        except mcbin.Closed as e:
            rs, closed = e.responses, True
        except (TimeoutError, OSError) as e:
            rs, closed = [], "error: %s" % e
        if rs and rs[-1].opcode == mcbin.OP["noop"] and rs[-1].opaque == FENCE:
            rs = rs[:-1]
        if closed:
            self.c.close()
            self.c = self.connect()
        for r in rs:
            k = keys.get(r.opaque)
            if k is not None and r.status == 0 and r.cas != 0:
                self.cas[k] = r.cas
        return rs, closed


def show(group, limit=300):
    if isinstance(group, bytes):
        b = group
    else:
        b = b"".join(req for req, _ in group)
    if len(b) > limit:
        return "%r ...(%d bytes)" % (b[:limit], len(b))
    return repr(b)


def differential(ref, dut, groups):
    """Every group to both servers. @return (same, different)."""
    same = diff = 0
    for i, (where, group) in enumerate(groups):
        r1, c1 = ref.send(group)
        r2, c2 = dut.send(group)
        if canon(r1) == canon(r2) and c1 == c2:
            same += 1
            continue
        diff += 1
        print("MISMATCH at %s:\n  sent: %s" % (where, show(group)), flush=True)
        n = max(len(r1), len(r2))
        for j in range(n):
            a = r1[j] if j < len(r1) else None
            b = r2[j] if j < len(r2) else None
            mark = "  " if a is not None and b is not None and canon([a]) == canon([b]) else "!!"
            print("  %s memcached: %r\n  %s %s: %r" % (mark, a, mark, dut.name, b))
        print("  closed: memcached %s, %s %s" % (c1, dut.name, c2))
        if dut.server is not None and not dut.server.alive():
            print("  %s died:\n  %s" % (dut.name, dut.server.output_tail().replace("\n", "\n  ")))
            break
        if diff >= MAX_MISMATCHES:
            print("stopping after %d mismatches" % diff)
            break
    return same, diff


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--count", type=int, default=1500)
    ap.add_argument("--wirecached")
    ap.add_argument("--net", type=int, default=None, help="third octet of 10.200.X.0/24")
    ap.add_argument("--lcores", type=int, default=0,
                    help="worker lcores (partitions) of wirecached; default: 1, then 2")
    ap.add_argument("--direct", nargs=2, metavar="HOST:PORT",
                    help="compare two servers already running (memcached first)")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int(os.environ.get("WC_DIFF_SEED", time.time_ns()
                                                                % 1000000007))
    print("seed %d (rerun with --seed %d)" % (seed, seed), flush=True)
    gen = Gen(seed)
    groups = [("edge case %d" % i, g) for i, g in enumerate(edge_cases())]
    groups += [("random group %d" % i, gen.group()) for i in range(a.count)]

    passed = failed = 0
    if a.direct:
        def endpoint(s):
            h, _, p = s.rpartition(":")
            return lambda: mcbin.Client(h, int(p), timeout=5)
        ref = Side("memcached", endpoint(a.direct[0]))
        dut = Side("server", endpoint(a.direct[1]))
        same, diff = differential(ref, dut, groups)
        print("%d of %d groups compared, seed %d" % (same + diff, len(groups), seed))
        print("%d passed, %d failed" % (same, diff), flush=True)
        return 0 if diff == 0 else 1

    import netns
    netns.require()
    for lcores in ([a.lcores] if a.lcores else [1, 2]):
        p, f = run_against_wirecached(netns, a.net, lcores, groups, seed)
        passed += p
        failed += f
    print("%d passed, %d failed" % (passed, failed), flush=True)
    netns.cleanup_all()
    return 0 if failed == 0 else 1


def run_against_wirecached(netns, net, lcores, groups, seed):
    """The differential run and memccapable against a fresh memcached and a
    wirecached of @p lcores worker lcores. @return (passed, failed)."""
    print("== wirecached with %d lcore%s" % (lcores, "s" if lcores > 1 else ""), flush=True)
    passed = failed = 0
    try:
        t1 = netns.Topology(net=net, server_ip=True, tag="bm")
        mc = netns.start_memcached(t1, lifetime=300, tcp=True)
        t2 = netns.Topology(net=net, tag="bw")
        if lcores > 1:
            # One queue per lcore: half the keys are another lcore's.
            wc = netns.start_wirecached(t2, lcores=",".join(str(i) for i in range(lcores)),
                                        vdev_args="qpairs=%d" % lcores)
        else:
            wc = netns.start_wirecached(t2)
        ref = Side("memcached", connector(t1), mc)
        dut = Side("wirecached", connector(t2), wc)
    except Exception as e:
        print("setup failed: %s" % e)
        return 0, 1
    same, diff = differential(ref, dut, groups)
    print("%d of %d groups compared, seed %d" % (same + diff, len(groups), seed))
    passed += same
    failed += diff
    p, f = compare_stats(ref, dut)
    passed += p
    failed += f
    if wc.alive():
        ok, out = memccapable(t2)
        if ok:
            passed += 1
        else:
            failed += 1
            print("memccapable -b against wirecached failed:\n" + out)
    if not wc.alive():
        print("wirecached is not running any more:\n" + wc.output_tail())
        failed += 1
    for c in (ref.c, dut.c):
        c.close()
    mc.close()
    wc.close()
    t1.close()
    t2.close()
    return passed, failed


def compare_stats(ref, dut):
    """Stat's shape (values differ): the same groups found or not, and the
    general group holding the counters both servers keep. @return (passed, failed)."""
    passed = failed = 0
    for key in (b"", b"settings", b"nosuch", b"detail", b"detail on", b"reset"):
        a, b = ref.c.stats(key), dut.c.stats(key)
        ok = isinstance(a, dict) == isinstance(b, dict)
        if ok and not isinstance(a, dict):
            ok = canon([a]) == canon([b])
        if ok and key == b"":
            common = ("pid", "uptime", "version", "curr_items", "total_items", "cmd_get",
                      "cmd_set", "get_hits", "get_misses", "bytes", "limit_maxbytes")
            ok = all(k in b for k in common if k in a)
        if ok:
            passed += 1
        else:
            failed += 1
            print("MISMATCH in stat %r:\n  memcached: %r\n  %s: %r" % (key, a, dut.name, b))
    return passed, failed


def connector(topo):
    """A function opening a binary-protocol connection from the client namespace."""
    def connect():
        with topo.in_cli():
            return mcbin.Client(topo.server_addr, 11211, timeout=5)
    return connect


def memccapable(topo):
    """libmemcached's binary protocol suite against the server. @return (ok, output)."""
    try:
        out = topo.run_cli(["memccapable", "-h", topo.server_addr, "-p", "11211", "-b"],
                           timeout=120)
    except RuntimeError as e:
        return False, str(e)
    print(out, flush=True)
    return "All tests passed" in out and "[FAIL]" not in out, out


if __name__ == "__main__":
    sys.exit(main())
