#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""wc-impair, end to end: kernel sockets in two namespaces across the bridge.

Hosts A (10.200.61.1) and B (10.200.61.2) reach each other only through
wc-impair (impairnet.py). Neighbour entries are static and IPv6 is off, so
every frame wc-impair sees is one the test sent, and its counters can be
held against what the receiver saw, exactly.

  clean          no impairment: pings and 500 UDP datagrams all arrive, in
                 order; rx == forwarded on both sides.
  loss           --loss 30: 2000 datagrams lose 30% within 4.5 standard
                 deviations of the binomial; forwarded == received, and
                 dropped + forwarded == sent.
  loss_seeded    the same seed drops the same datagrams again; another
                 seed drops others.
  dup            --dup 10: the receiver's duplicates == the duplicated count,
                 nothing lost.
  delay          --delay 50 each way: the ping RTT grows by at least 90 ms.
  reorder        --reorder 25: the receiver sees sequence numbers go back;
                 the late ones number exactly `reordered`.
  corrupt        --corrupt 20: the kernel's checksums reject exactly the
                 corrupted datagrams.
  rate           --a2b-rate 800 (kbit/s): 100 KB take at least 0.9 s.
  tcp            2 MB over kernel TCP through loss 5%, reorder 25%, dup 1%
                 and 50 ms each way arrive intact (SHA-256).

    test_impair.py [--impair PATH | --wirecached PATH] [--only CASE,...]
"""

import hashlib
import os
import re
import select
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import impairnet  # noqa: E402
import netns  # noqa: E402
import runner  # noqa: E402
from runner import check  # noqa: E402

NET = 61
PORT = 9000
DGRAM = 64  # bytes of UDP payload: an 8-byte sequence number and padding
BURST = 50
SO_RCVBUFFORCE = 33

cases = runner.Cases()
case = cases.add


class Ctx:
    def __init__(self):
        netns.require()
        self.net = impairnet.ImpairNet(net=NET, start=False)
        with self.net.in_a():
            self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.tx.bind((self.net.a_addr, 0))
        with self.net.in_b():
            self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.rx.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
            self.rx.bind((self.net.b_addr, PORT))
        self.rx.setblocking(False)

    def on_failure(self):
        out = self.net.output()
        if out:
            print("  wc-impair output:\n    " + out.replace("\n", "\n    "))

    def close(self):
        self.tx.close()
        self.rx.close()
        self.net.close()


def drain(ctx, got, quiet=0.3):
    """Read datagrams into @p got until none came for @p quiet seconds."""
    while True:
        r, _, _ = select.select([ctx.rx], [], [], quiet)
        if not r:
            return
        while True:
            try:
                d = ctx.rx.recv(2048)
            except BlockingIOError:
                break
            got.append(struct.unpack_from("!Q", d)[0])


def flood(ctx, n, quiet=0.3):
    """Send @p n numbered datagrams A -> B in paced bursts; return the
    sequence numbers B received, in arrival order."""
    got = []
    pad = b"\0" * (DGRAM - 8)
    for i in range(n):
        ctx.tx.sendto(struct.pack("!Q", i) + pad, (ctx.net.b_addr, PORT))
        if i % BURST == BURST - 1:
            time.sleep(0.002)
            drain(ctx, got, quiet=0)
    drain(ctx, got, quiet)
    return got


def counters(ctx):
    """Stop wc-impair; its final counters, checked for frames it could not see."""
    c = ctx.net.stop()
    for d in ("a2b", "b2a"):
        k = c[d]
        check(k["kernel_drops"] == 0 and k["tx_errors"] == 0 and k["overflow"] == 0,
              "wc-impair lost frames of its own (%s): %s" % (d, k))
        check(k["forwarded"] == k["rx"] - k["dropped"] - k["oversize"] + k["duplicated"] -
              k["overflow"] - k["tx_errors"] - k["queued"],
              "%s counters do not add up: %s" % (d, k))
    return c


def ping_rtt_min(ctx, count=5):
    out = ctx.net.run_a(["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "2",
                         ctx.net.b_addr], check=False)
    m = re.search(r"(\d+) received", out)
    check(m and int(m.group(1)) == count, "ping lost replies:\n" + out)
    return float(re.search(r"= ([\d.]+)/", out).group(1))


def binomial_bound(n, p, sds=4.5):
    return sds * (n * p * (1 - p)) ** 0.5


@case
def clean(ctx):
    ctx.net.start(seed=1)
    ping_rtt_min(ctx, 3)
    got = flood(ctx, 500)
    c = counters(ctx)
    check(got == list(range(500)), "datagrams lost or out of order: %d of 500" % len(got))
    check(c["a2b"]["rx"] == 503 and c["a2b"]["forwarded"] == 503,
          "a2b counters, want 503 (3 pings and 500 datagrams): %s" % c["a2b"])
    check(c["b2a"]["rx"] == 3 and c["b2a"]["forwarded"] == 3,
          "b2a counters, want the 3 ping replies: %s" % c["b2a"])


LOSS_N = 2000


@case
def loss(ctx):
    ctx.net.start(seed=42, loss=30)
    got = flood(ctx, LOSS_N)
    c = counters(ctx)["a2b"]
    lost = LOSS_N - len(got)
    check(len(set(got)) == len(got), "duplicates without --dup")
    check(abs(lost - 0.3 * LOSS_N) <= binomial_bound(LOSS_N, 0.3),
          "lost %d of %d, want 30%% +- %.0f" % (lost, LOSS_N, binomial_bound(LOSS_N, 0.3)))
    check(c["rx"] == LOSS_N, "wc-impair read %d of %d" % (c["rx"], LOSS_N))
    check(c["forwarded"] == len(got),
          "forwarded %d, but B received %d" % (c["forwarded"], len(got)))
    check(c["dropped"] == lost, "dropped %d, but %d were lost" % (c["dropped"], lost))
    ctx.loss_got = got


@case
def loss_seeded(ctx):
    first = getattr(ctx, "loss_got", None)
    if first is None:
        ctx.net.start(seed=42, loss=30)
        first = flood(ctx, LOSS_N)
        counters(ctx)
    ctx.net.start(seed=42, loss=30)
    again = flood(ctx, LOSS_N)
    counters(ctx)
    check(again == first, "seed 42 dropped other datagrams the second time: %d vs %d arrived, "
          "first difference at %s" % (len(again), len(first),
                                      next((i for i, (x, y) in enumerate(zip(again, first))
                                            if x != y), None)))
    ctx.net.start(seed=43, loss=30)
    other = flood(ctx, LOSS_N)
    counters(ctx)
    check(other != first, "seeds 42 and 43 dropped the same datagrams")


@case
def dup(ctx):
    n = 1000
    ctx.net.start(seed=7, dup=10)
    got = flood(ctx, n)
    c = counters(ctx)["a2b"]
    dups = len(got) - len(set(got))
    check(set(got) == set(range(n)), "lost datagrams: %d of %d distinct" % (len(set(got)), n))
    check(dups > 0, "no duplicates at --dup 10")
    check(dups == c["duplicated"], "B saw %d duplicates, wc-impair counted %d" %
          (dups, c["duplicated"]))
    check(c["forwarded"] == len(got), "forwarded %d, B received %d" % (c["forwarded"], len(got)))


@case
def delay(ctx):
    ctx.net.start(seed=1)
    base = ping_rtt_min(ctx)
    ctx.net.start(seed=1, delay=50)
    delayed = ping_rtt_min(ctx)
    c = counters(ctx)
    check(delayed - base >= 90, "RTT %.3f ms with 50 ms each way, %.3f ms without" %
          (delayed, base))
    check(c["a2b"]["delayed"] == 5 and c["b2a"]["delayed"] == 5,
          "delayed counters, want 5 each: %d, %d" % (c["a2b"]["delayed"], c["b2a"]["delayed"]))


@case
def reorder(ctx):
    n = 1000
    ctx.net.start(seed=3, reorder=25)
    got = flood(ctx, n)
    c = counters(ctx)["a2b"]
    late, top = 0, -1
    for s in got:
        if s < top:
            late += 1
        top = max(top, s)
    check(sorted(got) == list(range(n)), "lost or duplicated datagrams: %d of %d" % (len(got), n))
    check(late > 0, "no datagram out of order at --reorder 25")
    check(late == c["reordered"], "B saw %d late datagrams, wc-impair reordered %d "
          "(and %d held to the end)" % (late, c["reordered"], c["reorder_expired"]))
    held = c["reordered"] + c["reorder_expired"]
    check(abs(held - 0.25 * n) <= binomial_bound(n, 0.25),
          "held back %d of %d, want 25%%" % (held, n))


def udp_in_errors(ctx):
    snmp = ctx.net.run_b(["cat", "/proc/net/snmp"]).splitlines()
    hdr, val = [ln.split() for ln in snmp if ln.startswith("Udp:")][:2]
    return int(val[hdr.index("InCsumErrors")])


@case
def corrupt(ctx):
    n = 1000
    ctx.net.start(seed=11, corrupt=20)
    csum0 = udp_in_errors(ctx)
    got = flood(ctx, n)
    c = counters(ctx)["a2b"]
    check(c["corrupted"] > 0, "nothing corrupted at --corrupt 20")
    # A flipped bit breaks the IP header's checksum or the UDP one: either
    # way the kernel drops the datagram, and nothing else is lost.
    check(len(got) == n - c["corrupted"], "B received %d of %d, wc-impair corrupted %d" %
          (len(got), n, c["corrupted"]))
    check(udp_in_errors(ctx) > csum0, "no UDP checksum errors counted in B")


@case
def rate(ctx):
    ctx.net.start(seed=1, a2b_rate=800)
    payload = b"r" * 1000
    got = 0
    t0 = time.monotonic()
    for i in range(100):
        ctx.tx.sendto(payload, (ctx.net.b_addr, PORT))
    while got < 100:
        r, _, _ = select.select([ctx.rx], [], [], 3)
        check(r, "only %d of 100 datagrams arrived" % got)
        ctx.rx.recv(2048)
        got += 1
    took = time.monotonic() - t0
    counters(ctx)
    # 100 frames of 1042 bytes at 800 kbit/s: 1.04 s on the wire.
    check(took >= 0.9, "100 KB at 800 kbit/s arrived in %.3f s" % took)


TCP_BYTES = 2 << 20


@case
def tcp(ctx):
    net = ctx.net
    net.start(seed=5, loss=5, reorder=25, dup=1, delay=50, lifetime=120)
    data = os.urandom(TCP_BYTES)
    result = {}
    with net.in_b():
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind((net.b_addr, PORT + 1))
        lsock.listen(1)
    lsock.settimeout(20)

    def serve():
        try:
            conn, _ = lsock.accept()
            conn.settimeout(30)
            h = hashlib.sha256()
            n = 0
            while True:
                b = conn.recv(65536)
                if not b:
                    break
                h.update(b)
                n += len(b)
            conn.close()
            result["n"], result["sha"] = n, h.hexdigest()
        except OSError as e:
            result["error"] = e

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    t0 = time.monotonic()
    with net.in_a():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.settimeout(30)
        s.connect((net.b_addr, PORT + 1))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)  # EOF once B has read everything and closed
    finally:
        s.close()
    th.join(40)
    lsock.close()
    took = time.monotonic() - t0
    c = counters(ctx)
    netns.log("tcp: %d bytes in %.1f s; a2b %s" % (result.get("n", 0), took, c["a2b"]))
    check("error" not in result, "receiver: %s" % result.get("error"))
    check(result.get("n") == TCP_BYTES, "received %s of %d bytes" % (result.get("n"), TCP_BYTES))
    check(result.get("sha") == hashlib.sha256(data).hexdigest(), "data differ (SHA-256)")
    a = c["a2b"]
    check(a["dropped"] > 0 and a["reordered"] > 0 and a["duplicated"] > 0,
          "the link was not impaired: %s" % a)


if __name__ == "__main__":
    ctx = None

    def make():
        global ctx
        ctx = Ctx()
        return ctx

    sys.exit(cases.main(make, cleanup=lambda: ctx and ctx.close()))
