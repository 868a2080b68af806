#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""memcached over wirecached's TCP, end to end, with kernel TCP clients.

wirecached serves 10.200.66.1 in one namespace (af_packet port); clients run
in the peer namespace:

  small          set/get of small values, text and meta
  big_value      a 900 KB random value set and read back intact
  pipeline       100k commands in one write (50k sets, 50k gets), every
                 reply in order
  byte_by_byte   requests split at every byte (one segment each)
  pymemcache     Debian's pymemcache: set, get, get_many, add, replace,
                 append, cas, incr, delete
  binary         the first byte 0x80 selects the binary protocol
  quit           `quit` answers what came before and closes
  memcaslap      memcaslap over TCP with -v 1: no verify failure, no error
  conns_1000     1000 connections held open at once, each served
  slow_reader    a client that sends 2000 gets of a 100 KB value and does
                 not read: the server stops at its send buffer limit
                 (tcp_snd_held), serves a bounded number of the gets, and
                 resumes when the client reads: all 2000 arrive
  syn_flood      SYNs from spoofed sources at full speed (raw socket) while
                 a client opens connections and is served; no state is
                 kept for them (SYN cookies)
  two_lcores     two workers: pipelines of sets and gets whose keys live on
                 either lcore's partition come back whole and in order
  af_xdp         wirecached on net_af_xdp, a port that takes no chained
                 mbufs: 900 KB values and 100k pipelined commands intact
  impaired       wirecached in namespace B behind wc-impair (5% loss, 25%
                 reorder, 1% duplicates, 50 ms each way): 900 KB values and
                 100k pipelined commands arrive intact both ways

    test_tcp.py [--wirecached PATH] [--impair PATH] [--only CASE,...]
"""

import hashlib
import os
import random
import re
import resource
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import impairnet  # noqa: E402
import netns  # noqa: E402
import runner  # noqa: E402
from runner import check, eq  # noqa: E402

NET = 66
PORT = 11211

cases = runner.Cases()
case = cases.add


class Ctx:
    def __init__(self):
        netns.require(("ip", "ethtool"))
        self.topo = netns.Topology(net=NET, tag="tcp")
        self.srv = netns.start_wirecached(self.topo, ("--memory-limit", "256m"), lifetime=600)
        self.addr = self.topo.server_addr

    def on_failure(self):
        print("  server output tail:\n    " + self.srv.output_tail(10).replace("\n", "\n    "))

    def connect(self, timeout=10):
        with self.topo.in_cli():
            s = socket.create_connection((self.addr, PORT), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def stats(self):
        s = self.connect()
        s.sendall(b"stats\r\n")
        buf = recv_until(s, b"END\r\n")
        s.close()
        return {k.decode(): v.decode() for k, v in re.findall(rb"STAT (\S+) (\S+)\r\n", buf)}


def recv_until(s, end, limit=1 << 30):
    buf = bytearray()
    while not buf.endswith(end):
        d = s.recv(1 << 20)
        if not d:
            raise runner.Fail("connection closed after %d bytes: %r" % (len(buf), bytes(buf[-80:])))
        buf += d
        check(len(buf) <= limit, "reply too long")
    return bytes(buf)


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        d = s.recv(min(1 << 20, n - len(buf)))
        if not d:
            raise runner.Fail("connection closed after %d of %d bytes" % (len(buf), n))
        buf += d
    return bytes(buf)


def stat(st, name):
    return int(st.get(name, "0"))


def sendall_bg(s, data):
    """sendall() in a thread (the peer may close its window until we read)."""
    err = []

    def run():
        try:
            s.sendall(data)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, err


# --- cases ---------------------------------------------------------------


@case
def small(ctx):
    s = ctx.connect()
    s.sendall(b"set a 0 0 5\r\nhello\r\nget a\r\nmg a v\r\nget nope\r\n")
    want = b"STORED\r\nVALUE a 0 5\r\nhello\r\nEND\r\nVA 5\r\nhello\r\nEND\r\n"
    eq(recv_exact(s, len(want)), want)
    s.close()


def big_roundtrip(ctx_connect, size, key=b"big"):
    value = os.urandom(size)
    s = ctx_connect()
    t, err = sendall_bg(s, b"set %s 7 0 %d\r\n" % (key, size) + value + b"\r\n")
    eq(recv_until(s, b"\r\n"), b"STORED\r\n", "set of %d bytes" % size)
    t.join(30)
    check(not err, "send failed: %s" % err)
    s.sendall(b"get %s\r\n" % key)
    head = b"VALUE %s 7 %d\r\n" % (key, size)
    got = recv_exact(s, len(head) + size + 7)
    eq(got[:len(head)], head)
    check(hashlib.sha256(got[len(head):len(head) + size]).digest() ==
          hashlib.sha256(value).digest(), "value of %d bytes differs" % size)
    eq(got[len(head) + size:], b"\r\nEND\r\n")
    s.close()


@case
def big_value(ctx):
    big_roundtrip(ctx.connect, 900 * 1024)


def pipeline_roundtrip(connect, n=100000, tag=b"p"):
    half = n // 2
    req = bytearray()
    want = bytearray()
    for i in range(half):
        v = b"v%07d" % i
        req += b"set %s%d 0 0 %d\r\n%s\r\n" % (tag, i, len(v), v)
        want += b"STORED\r\n"
    for i in range(half):
        v = b"v%07d" % i
        req += b"get %s%d\r\n" % (tag, i)
        want += b"VALUE %s%d 0 %d\r\n%s\r\nEND\r\n" % (tag, i, len(v), v)
    s = connect()
    t, err = sendall_bg(s, bytes(req))
    got = recv_exact(s, len(want))
    t.join(30)
    check(not err, "send failed: %s" % err)
    if got != bytes(want):
        at = next(i for i in range(len(want)) if got[i] != want[i])
        raise runner.Fail("replies differ at byte %d: want %r got %r" %
                          (at, bytes(want[at:at + 60]), got[at:at + 60]))
    s.close()


@case
def pipeline(ctx):
    pipeline_roundtrip(ctx.connect)


@case
def byte_by_byte(ctx):
    s = ctx.connect()
    req = b"set split 0 0 10\r\n0123456789\r\nget split\r\nms m2 2 T0\r\nab\r\nmg m2 v\r\n"
    for i in range(len(req)):
        s.send(req[i:i + 1])
        time.sleep(0.002)
    eq(recv_until(s, b"ab\r\n"),
       b"STORED\r\nVALUE split 0 10\r\n0123456789\r\nEND\r\nHD\r\nVA 2\r\nab\r\n")
    s.close()


@case
def pymemcache(ctx):
    from pymemcache.client.base import Client
    with ctx.topo.in_cli():
        c = Client((ctx.addr, PORT), connect_timeout=5, timeout=5, default_noreply=False)
        c.set("k1", b"one")
        eq(c.get("k1"), b"one")
        c.set_many({"k2": b"two", "k3": b"three"})
        eq(c.get_many(["k1", "k2", "k3", "nope"]), {"k1": b"one", "k2": b"two", "k3": b"three"})
        check(c.add("k1", b"x") is False, "add of an existing key")
        check(c.add("k4", b"four") is True, "add of a new key")
        check(c.replace("k4", b"FOUR") is True, "replace")
        c.append("k4", b"!")
        eq(c.get("k4"), b"FOUR!")
        v, cas = c.gets("k4")
        check(c.cas("k4", b"new", cas) is True, "cas with the current unique")
        check(c.cas("k4", b"newer", cas) is False, "cas with a stale unique")
        c.set("n", b"10")
        eq(c.incr("n", 5), 15)
        eq(c.decr("n", 3), 12)
        check(c.delete("n", noreply=False) is True, "delete")
        eq(c.get("n"), None)
        c.close()


@case
def binary(ctx):
    s = ctx.connect()
    # NOOP, then VERSION: 24-byte headers, responses with magic 0x81.
    hdr = struct.pack("!BBHBBHIIQ", 0x80, 0x0a, 0, 0, 0, 0, 0, 0x11223344, 0)
    ver = struct.pack("!BBHBBHIIQ", 0x80, 0x0b, 0, 0, 0, 0, 0, 0x55667788, 0)
    s.sendall(hdr + ver)
    r = recv_exact(s, 24)
    eq(r[0:2], b"\x81\x0a")
    eq(r[12:16], b"\x11\x22\x33\x44")
    r = recv_exact(s, 24)
    eq(r[0:2], b"\x81\x0b")
    body = struct.unpack("!I", r[8:12])[0]
    check(recv_exact(s, body).startswith(b"1."), "version body")
    s.close()


@case
def quit(ctx):
    s = ctx.connect()
    s.sendall(b"set q 0 0 1\r\nx\r\nget q\r\nquit\r\nget q\r\n")
    eq(runner.recv_to_eof(s), b"STORED\r\nVALUE q 0 1\r\nx\r\nEND\r\n")
    s.close()


@case
def memcaslap(ctx):
    cmd = ["timeout", "-s", "INT", "70", "memcaslap", "-s", ctx.addr + ":%d" % PORT, "-v", "1",
           "-t", "10s", "-T", "1", "-c", "16"]
    p = subprocess.run(["ip", "netns", "exec", ctx.topo.cli] + cmd, capture_output=True,
                       text=True, errors="replace")
    st = {k: int(v) for k, v in re.findall(r"^\s*(\w+): (\d+)\s*$", p.stdout, re.M)}
    ops = st.get("cmd_get", 0) + st.get("cmd_set", 0)
    check(p.returncode == 0, "memcaslap exit status %d:\n%s" % (p.returncode, p.stderr[-2000:]))
    check("verify_failed" in st, "no summary:\n" + p.stdout[-2000:])
    check(ops > 1000, "only %d operations" % ops)
    eq(st.get("verify_failed"), 0, "verify_failed")
    check(not re.search(r"(?i)\berror\b|failed to", p.stderr), "error lines:\n" + p.stderr[-2000:])


@case
def conns_1000(ctx):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    socks = []
    try:
        for i in range(1000):
            s = ctx.connect()
            s.sendall(b"set c%d 0 0 %d\r\n%d\r\n" % (i, len(str(i)), i))
            socks.append(s)
        for s in socks:
            eq(recv_exact(s, 8), b"STORED\r\n")
        # All held open; each reads its own key back.
        for i, s in enumerate(socks):
            s.sendall(b"get c%d\r\n" % i)
        for i, s in enumerate(socks):
            v = b"%d" % i
            eq(recv_exact(s, len(b"VALUE c%d 0 %d\r\n%s\r\nEND\r\n" % (i, len(v), v))),
               b"VALUE c%d 0 %d\r\n%s\r\nEND\r\n" % (i, len(v), v))
    finally:
        for s in socks:
            s.close()


@case
def slow_reader(ctx):
    size = 100 * 1024
    n = 2000
    s0 = ctx.connect()
    value = os.urandom(size)
    s0.sendall(b"set slow 0 0 %d\r\n" % size + value + b"\r\n")
    eq(recv_until(s0, b"\r\n"), b"STORED\r\n")
    s0.close()
    before = ctx.stats()
    with ctx.topo.in_cli():
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        s.settimeout(30)
        s.connect((ctx.addr, PORT))
    t, err = sendall_bg(s, b"get slow\r\n" * n)
    time.sleep(2)
    mid = ctx.stats()
    served = stat(mid, "cmd_get") - stat(before, "cmd_get")
    held = stat(mid, "tcp_snd_held") - stat(before, "tcp_snd_held")
    check(held >= 1, "tcp_snd_held did not move (%d)" % held)
    # The send buffer limit (256 KB) plus what the client's buffers took.
    check(served < 60, "%d of %d gets served to a client that does not read" % (served, n))
    one = len(b"VALUE slow 0 %d\r\n" % size) + size + 7
    digest = hashlib.sha256(b"VALUE slow 0 %d\r\n" % size + value + b"\r\nEND\r\n").digest()
    for i in range(n):
        r = recv_exact(s, one)
        if hashlib.sha256(r).digest() != digest:
            raise runner.Fail("reply %d differs" % i)
    t.join(10)
    check(not err, "send failed: %s" % err)
    s.close()


def checksum16(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff


def syn_frames(dst, count):
    """IPv4 SYN packets from random sources on the subnet, random ports."""
    d = socket.inet_aton(dst)
    out = []
    for i in range(count):
        src = socket.inet_aton("10.200.%d.%d" % (NET, random.randint(10, 250)))
        sport = random.randint(1024, 65535)
        seq = random.getrandbits(32)
        tcp = struct.pack("!HHIIBBHHH", sport, PORT, seq, 0, 5 << 4, 0x02, 65535, 0, 0)
        ph = src + d + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", checksum16(ph + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xffff, 0, 64, 6, 0, src, d)
        ip = ip[:10] + struct.pack("!H", checksum16(ip)) + ip[12:]
        out.append(ip + tcp)
    return out


@case
def syn_flood(ctx):
    frames = syn_frames(ctx.addr, 4096)
    stop = threading.Event()
    sent = [0]

    def flood():
        with ctx.topo.in_cli():
            r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        while not stop.is_set():
            for f in frames:
                try:
                    r.sendto(f, (ctx.addr, 0))
                    sent[0] += 1
                except OSError:
                    pass
        r.close()

    before = ctx.stats()
    th = threading.Thread(target=flood, daemon=True)
    th.start()
    try:
        time.sleep(0.5)
        ok = 0
        for i in range(50):
            s = ctx.connect(timeout=10)
            s.sendall(b"set f%d 0 0 2\r\nok\r\nget f%d\r\n" % (i, i))
            eq(recv_until(s, b"END\r\n"), b"STORED\r\nVALUE f%d 0 2\r\nok\r\nEND\r\n" % i)
            s.close()
            ok += 1
    finally:
        stop.set()
        th.join(5)
    after = ctx.stats()
    cookies = stat(after, "tcp_syn_cookies") - stat(before, "tcp_syn_cookies")
    check(sent[0] > 10000, "only %d SYNs sent" % sent[0])
    check(cookies > 5000, "only %d SYN-ACKs (%d SYNs sent)" % (cookies, sent[0]))
    eq(ok, 50, "legitimate connections served")


@case
def two_lcores(ctx):
    """Two workers: requests for the other lcore's partition cross and come
    back; replies stay in request order on every connection."""
    topo = netns.Topology(net=NET, tag="tcp2")
    srv = None
    try:
        srv = netns.start_wirecached(topo, ("--memory-limit", "128m"), lcores="0,1",
                                     vdev_args="qpairs=2", lifetime=240)

        def connect():
            with topo.in_cli():
                return socket.create_connection((topo.server_addr, PORT), timeout=30)

        for i in range(6):
            pipeline_roundtrip(connect, 4000, b"m%d_" % i)
        # Large requests and replies cross too (some of these keys live on lcore 1).
        for i in range(4):
            big_roundtrip(connect, 300 * 1024, b"mbig%d" % i)
        # A get of many keys crosses between partitions in the middle.
        s = connect()
        keys = [b"m0_%d" % i for i in range(200)]
        s.sendall(b"get " + b" ".join(keys) + b"\r\nquit\r\n")
        got = runner.recv_to_eof(s)
        want = b"".join(b"VALUE %s 0 8\r\nv%07d\r\n" % (k, i) for i, k in enumerate(keys))
        eq(got, want + b"END\r\n")
        s.close()
        s = connect()
        s.sendall(b"stats\r\n")
        st = {k.decode(): v.decode()
              for k, v in re.findall(rb"STAT (\S+) (\S+)\r\n", recv_until(s, b"END\r\n"))}
        s.close()
        check(stat(st, "xcore_forwarded") > 0, "nothing crossed lcores: %s" %
              {k: v for k, v in st.items() if "xcore" in k})
        rc = srv.stop()
        check(rc == 0, "exit status %s after SIGINT:\n%s" % (rc, srv.output_tail(30)))
    finally:
        if srv is not None:
            srv.stop()
        topo.close()


@case
def af_xdp(ctx):
    """DPDK 22.11's net_af_xdp sends no chains (it copies pkt_len bytes from
    the first segment): replies must leave as one mbuf each."""
    topo = netns.Topology(net=NET, tag="tcpx")
    srv = None
    try:
        srv = netns.start_wirecached(topo, ("--memory-limit", "64m"), pmd="net_af_xdp",
                                     lifetime=240)

        def connect():
            with topo.in_cli():
                return socket.create_connection((topo.server_addr, PORT), timeout=30)

        big_roundtrip(connect, 900 * 1024, b"xbig")
        pipeline_roundtrip(connect, 100000, b"x")
    finally:
        if srv is not None:
            srv.stop()
        topo.close()


@case
def impaired(ctx):
    """wirecached on the B side of an ImpairNet, a kernel client on A."""
    net = impairnet.ImpairNet(net=NET, tag="tcpi", start=False)
    try:
        # B's address is wirecached's: the kernel there must not answer for it.
        netns.sh(["ip", "addr", "flush", "dev", net.b_if], ns=net.b_ns)

        class Side:
            srv = net.b_ns

        path = netns.wirecached_path()
        argv = ["timeout", "-s", "INT", "-k", "10", "300", path, "-l", "0", "--no-huge", "-m",
                "512", "--no-shconf", "--no-pci", "--no-telemetry", "--file-prefix",
                "wctcpi%d" % os.getpid(), "--vdev=net_af_packet0,iface=%s" % net.b_if, "--",
                "--ip", net.b_addr + "/24", "--lifetime", "240"]
        srv = netns.Server(Side, argv, "wirecached")
        srv.wait_line(r"^wirecached: ready", timeout=60)
        net.start(seed=5, loss=5, reorder=25, dup=1, delay=50, lifetime=240)

        def connect():
            with net.in_a():
                s = socket.create_connection((net.b_addr, PORT), timeout=60)
            return s

        big_roundtrip(connect, 900 * 1024, b"ibig")
        pipeline_roundtrip(connect, 100000, b"ip")
        st = net.stats()
        check(st["a2b"].get("dropped", 1) > 0 and st["b2a"].get("dropped", 1) > 0,
              "wc-impair dropped nothing: %s" % st)
        srv.stop()
    finally:
        net.close()


if __name__ == "__main__":
    sys.exit(cases.main(Ctx, netns.cleanup_all))
