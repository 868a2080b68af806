#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Differential test over TCP: wirecached against Debian's memcached, text
and meta commands on one connection each.

The requests are test_udp_diff's (the same hand-written edge cases and
seeded random commands, from its generator) and so is the comparison:
replies equal byte for byte once CAS values and the version string are
masked. Over TCP a request's reply has no frame to end it, so each request
is followed by `mn`, and the reply is read up to the MN that answers it.
A request that leaves a server waiting for more bytes (it swallowed the
mn) shows as a timeout on both, and both connections are made afresh.

Then libmemcached's own tools against wirecached: memccapable's ASCII
suite, and a 900 KB file stored with memccp and read back with memccat.

    test_tcp_diff.py [--wirecached PATH] [--seed N] [--count N]
"""

import argparse
import hashlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402
import test_udp_diff as udp  # noqa: E402

READ_TIMEOUT = 2.0


class TcpSide:
    """One server, driven over one TCP connection (remade after a timeout)."""

    def __init__(self, name, topo, srv):
        self.name = name
        self.topo = topo
        self.srv = srv
        self.cas = {}
        self.s = None
        self.connect()

    def connect(self):
        if self.s is not None:
            self.s.close()
        with self.topo.in_cli():
            self.s = socket.create_connection((self.topo.server_addr, 11211), timeout=5)
        self.s.settimeout(READ_TIMEOUT)

    def send(self, template):
        req = re.sub(rb"\{cas:([^}]+)\}", lambda m: self.cas.get(m.group(1), udp.NO_CAS),
                     template)
        # The reply ends with the MN of our mn, after those of any mn in req.
        want = 1 + sum(1 for ln in req.split(b"\r\n") if ln == b"mn")
        self.s.sendall(req + b"mn\r\n")
        rep = b""
        try:
            while rep.count(b"MN\r\n") < want or not rep.endswith(b"MN\r\n"):
                chunk = self.s.recv(65536)
                if not chunk:
                    rep += b"<connection closed>"
                    self.connect()
                    break
                rep += chunk
            else:
                rep = rep[:-len(b"MN\r\n")]
        except socket.timeout:
            rep += b"<no complete reply within %.0f s>" % READ_TIMEOUT
            self.connect()
        udp.Side.learn(self, req, rep)
        return rep

    def close(self):
        if self.s is not None:
            self.s.close()


def differential(ref, dut, reqs, seed):
    same = diff = 0
    uncertain = set()
    for i, (edge, req) in enumerate(reqs):
        r1 = ref.send(req)
        r2 = dut.send(req)
        r1, r2 = udp.mask_h(req, r1, r2, uncertain)
        if udp.mask(r1) == udp.mask(r2):
            same += 1
            continue
        diff += 1
        where = "edge case %d" % i if edge else "random request %d" % (i - len(udp.EDGE))
        print("MISMATCH at %s (seed %d):\n  sent:      %s\n  memcached: %s\n  wirecached: %s" %
              (where, seed, udp.show(req), udp.show(r1), udp.show(r2)), flush=True)
        if not dut.srv.alive() or diff >= udp.MAX_MISMATCHES:
            break
    print("differential: %d of %d requests equal" % (same, len(reqs)), flush=True)
    return same, diff


def tcp_stats(topo):
    """memcached `stats` over a fresh TCP connection, as a dict."""
    with topo.in_cli():
        s = socket.create_connection((topo.server_addr, 11211), timeout=5)
    with s:
        s.sendall(b"stats\r\n")
        buf = b""
        while not buf.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return dict(ln.split(" ", 2)[1:] for ln in buf.decode().splitlines()
                if ln.startswith("STAT ") and ln.count(" ") >= 2)


def get_counts(ref_topo, dut_topo):
    """After the same requests, both servers count the same gets, hits and
    misses. @return (ok, what)."""
    names = ("cmd_get", "get_hits", "get_misses")
    ref, dut = tcp_stats(ref_topo), tcp_stats(dut_topo)
    a = tuple(int(ref[k]) for k in names)
    b = tuple(int(dut[k]) for k in names)
    return a == b, "memcached %s, wirecached %s (%s)" % (a, b, ", ".join(names))


def connection_counts(topo):
    """curr_connections and total_connections follow clients coming and going.
    A closed connection leaves the count once its FIN has arrived, so each
    reading waits (bounded) for the count to settle; every reading is a
    connection of its own, counted in the expected totals.
    @return (ok, what)."""
    readings = [0]

    def settled(want):
        deadline = time.monotonic() + 5
        while True:
            st = tcp_stats(topo)  # this one's own connection is counted too
            readings[0] += 1
            c, t = int(st["curr_connections"]), int(st["total_connections"])
            if c == want or time.monotonic() > deadline:
                return c, t, readings[0]
            time.sleep(0.05)

    c0, t0, r0 = settled(1)  # the differential's connection has gone
    held = []
    for _ in range(3):
        with topo.in_cli():
            held.append(socket.create_connection((topo.server_addr, 11211), timeout=5))
    for h in held:  # each one served, so surely established
        h.sendall(b"version\r\n")
        h.recv(100)
    c1, t1, r1 = settled(c0 + 3)
    for h in held:
        h.close()
    c2, t2, r2 = settled(1)
    ok = (c0 == 1 and c1 == 4 and c2 == 1 and t1 - t0 == 3 + (r1 - r0)
          and t2 - t1 == r2 - r1)
    return ok, "curr_connections %d -> %d -> %d, total_connections %d -> %d -> %d" % (
        c0, c1, c2, t0, t1, t2)


def memccapable_ascii(topo):
    """libmemcached's ASCII protocol suite. @return (ok, output)."""
    p = subprocess.run(["ip", "netns", "exec", topo.cli, "memccapable", "-h", topo.server_addr,
                        "-p", "11211", "-a"], capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    ok = p.returncode == 0 and "[FAIL]" not in out and re.search(r"\[pass\]", out)
    return bool(ok), out


def memccp_roundtrip(topo, size=900 * 1024):
    """Store a file of @p size random bytes with memccp, read it back with
    memccat. @return (ok, what)."""
    servers = "--servers=%s:11211" % topo.server_addr
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "wc-900k.bin")
        data = os.urandom(size)
        with open(path, "wb") as f:
            f.write(data)
        cp = subprocess.run(["ip", "netns", "exec", topo.cli, "memccp", servers, path],
                            capture_output=True, timeout=60)
        if cp.returncode != 0:
            return False, "memccp exit %d: %s" % (cp.returncode, cp.stderr.decode(errors="replace"))
        cat = subprocess.run(["ip", "netns", "exec", topo.cli, "memccat", servers,
                              os.path.basename(path)], capture_output=True, timeout=60)
        # memccat prints the value and a newline.
        value = cat.stdout[:-1] if cat.stdout.endswith(b"\n") else cat.stdout
        got = hashlib.sha256(value).hexdigest()
        want = hashlib.sha256(data).hexdigest()
        if cat.returncode != 0 or got != want:
            return False, "memccat exit %d, %d bytes, sha256 %s (want %s)" % (
                cat.returncode, len(value), got[:16], want[:16])
    return True, "%d bytes" % size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--wirecached")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int(os.environ.get("WC_DIFF_SEED", time.time_ns()
                                                                % 1000000007))
    print("seed %d (rerun with --seed %d)" % (seed, seed), flush=True)
    netns.require(("ip", "ethtool", "memccapable", "memccp", "memccat"))
    try:
        t1 = netns.Topology(server_ip=True, tag="tm")
        ref = TcpSide("memcached", t1, netns.start_memcached(t1, lifetime=300, tcp=True))
        t2 = netns.Topology(tag="tw")
        dut = TcpSide("wirecached", t2, netns.start_wirecached(t2, opts=("--max-item-size",
                                                                        "1m")))
    except Exception as e:
        print("setup failed: %s" % e)
        print("0 passed, 1 failed")
        netns.cleanup_all()
        return 1

    gen = udp.Gen(seed)
    reqs = [(True, e) for e in udp.EDGE] + [(False, gen.request()) for _ in range(a.count)]
    same, diff = differential(ref, dut, reqs, seed)
    ref.close()
    dut.close()
    passed, failed = same, diff

    ok, what = get_counts(t1, t2)
    print("%s - get counters: %s" % ("ok" if ok else "not ok", what))
    passed, failed = passed + ok, failed + (not ok)

    ok, what = connection_counts(t2)
    print("%s - connection counts: %s" % ("ok" if ok else "not ok", what))
    passed, failed = passed + ok, failed + (not ok)

    ok, out = memccapable_ascii(t2)
    print("%s - memccapable -a" % ("ok" if ok else "not ok"))
    if not ok:
        print(out[-3000:])
    passed, failed = passed + ok, failed + (not ok)

    ok, what = memccp_roundtrip(t2)
    print("%s - memccp/memccat round trip of a 900 KB file: %s" % ("ok" if ok else "not ok",
                                                                   what))
    passed, failed = passed + ok, failed + (not ok)

    alive = dut.srv.alive()
    if not alive:
        print("wirecached is not running any more:\n" + dut.srv.output_tail())
    print("%d passed, %d failed" % (passed, failed + (not alive)), flush=True)
    netns.cleanup_all()
    return 0 if failed == 0 and alive else 1


if __name__ == "__main__":
    sys.exit(main())
