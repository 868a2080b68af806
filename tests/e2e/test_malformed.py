#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Malformed and unwelcome traffic against wirecached.

Raw frames built with scapy go out of the client namespace's veth through an
AF_PACKET socket; each case asserts either the exact reply or that exactly
one drop_* counter (from `stats`) moved -- the one the case names -- and no
reply came. Afterwards the keys stored at the start must be unchanged and
the server still running.

    test_malformed.py [--wirecached PATH] [--only CASE,...]
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcudp  # noqa: E402
import netns  # noqa: E402
import runner  # noqa: E402
from runner import eq, check  # noqa: E402

import logging  # noqa: E402
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.layers.inet import IP, UDP, ICMP, IPOption_RR, fragment  # noqa: E402
from scapy.layers.l2 import Ether, ARP  # noqa: E402
from scapy.packet import Raw  # noqa: E402

cases = runner.Cases()
case = cases.add

SPORT = 40404  # the raw frames' UDP source port; a kernel socket listens on it
KEYS = {b"keep1": b"one", b"keep2": b"x" * 1000, b"keep3": b"3"}
ALLOWED_NET = 98  # 10.200.98.0/24 is on the --udp-allow list
OUTSIDE = "10.200.99.5"


def hdr(req_id=1, seq=0, total=1, reserved=0):
    return mcudp.HDR.pack(req_id, seq, total, reserved)


class Frames:
    """Raw frames to a server and the drop counters they move."""

    def __init__(self, topo, raw, client):
        self.topo = topo
        self.raw = raw
        self.c = client
        self.cli_mac = topo.cli_mac()
        self.srv_mac = topo.srv_mac()
        with topo.in_cli():
            self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.rx.bind((topo.client_addr, SPORT))

    def eth(self, dst=None):
        return Ether(dst=dst or self.srv_mac, src=self.cli_mac)

    def ip(self, **kw):
        kw.setdefault("src", self.topo.client_addr)
        kw.setdefault("dst", self.topo.server_addr)
        return IP(**kw)

    def udp(self, payload, **kw):
        kw.setdefault("sport", SPORT)
        kw.setdefault("dport", 11211)
        return UDP(**kw) / Raw(payload)

    def send(self, frame):
        self.raw.send(bytes(frame))

    def replies(self, wait=0.3):
        """Datagrams that arrived on the raw frames' source port."""
        out = []
        self.rx.settimeout(wait)
        try:
            while True:
                out.append(self.rx.recv(65536))
                self.rx.settimeout(0.05)
        except socket.timeout:
            pass
        return out

    def drops(self):
        s = self.c.stats()
        return {k: int(v) for k, v in s.items() if k.startswith("drop_")}, s

    def expect_drop(self, frames, counter, n=None, what=""):
        """Send @p frames; exactly the drop counter(s) @p counter must grow,
        by @p n in total (default: one per frame), and nothing answer."""
        if not isinstance(frames, list):
            frames = [frames]
        allowed = {counter} if isinstance(counter, str) else set(counter)
        n = len(frames) if n is None else n
        before, _ = self.drops()
        check(all(c in before for c in allowed), "stats lacks %s" % sorted(allowed))
        for f in frames:
            self.send(f)
        got = self.replies(0.2)
        after, _ = self.drops()
        delta = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        eq(got, [], "%sno reply expected" % (what + ": " if what else ""))
        check(sum(delta.values()) == n and set(delta) <= allowed,
              "%sexpected +%d on %s, drop counters moved: %s" %
              (what + ": " if what else "", n, "|".join(sorted(allowed)), delta or "none"))

    def expect_reply(self, frame, want, what=""):
        before, _ = self.drops()
        self.send(frame)
        got = self.replies(0.5)
        after, _ = self.drops()
        delta = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        eq(got, want, what)
        eq(delta, {}, "%sdrop counters moved" % (what + ": " if what else ""))


class Ctx(Frames):
    def __init__(self):
        self.topo = netns.Topology(tag="m")
        t = self.topo
        self.srv = netns.start_wirecached(t, ("--udp-allow", "10.200.%d.0/24" % ALLOWED_NET))
        # Extra source addresses on the client link: one allowlisted, one not.
        t.run_cli(["ip", "addr", "add", "10.200.%d.5/32" % ALLOWED_NET, "dev", t.cli_if])
        t.run_cli(["ip", "addr", "add", OUTSIDE + "/32", "dev", t.cli_if])
        with t.in_cli():
            c = mcudp.Client(t.server_addr)
            raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            raw.bind((t.cli_if, 0))
        Frames.__init__(self, t, raw, c)
        for k, v in KEYS.items():
            eq(self.c.set(k, v), b"STORED\r\n", "preload %r" % k)

    def on_failure(self):
        if not self.srv.alive():
            print("  server died:\n  " + self.srv.output_tail().replace("\n", "\n  "))


def get_frame(x, key=b"keep1", **ipkw):
    return x.eth() / x.ip(**ipkw) / x.udp(hdr() + b"get " + key + b"\r\n")


# --- sanity: the raw path itself works ------------------------------------

@case
def raw_frame_answered(x):
    want = [hdr() + b"VALUE keep1 0 3\r\none\r\nEND\r\n"]
    x.expect_reply(get_frame(x), want, "a well-formed raw frame")
    f = x.eth() / x.ip() / UDP(sport=SPORT, dport=11211, chksum=0) / Raw(
        hdr() + b"get keep1\r\n")
    x.expect_reply(f, want, "UDP checksum 0 (none) is valid")


# --- truncation and bad headers -------------------------------------------

@case
def runt_frames(x):
    x.expect_drop(Ether(dst=x.srv_mac, src=x.cli_mac, type=0x0800) / Raw(b"\x45\x00\x00"),
                  ("drop_runt", "drop_ip_malformed"),
                  what="Ethernet + 3 bytes of IPv4")
    f = bytes(get_frame(x))
    x.expect_drop(Raw(f[:14 + 20 + 4]), ("drop_runt", "drop_ip_malformed", "drop_udp_malformed"),
                  what="half a UDP header")
    x.expect_drop(Raw(f[:-5]), ("drop_ip_malformed", "drop_runt"),
                  what="frame shorter than the IP total length")


@case
def bad_ip_header(x):
    x.expect_drop(get_frame(x, chksum=0x1234), "drop_ip_checksum", what="bad IP checksum")
    x.expect_drop(get_frame(x, version=6), "drop_ip_malformed", what="IP version 6 in IPv4")
    x.expect_drop(get_frame(x, ihl=4), ("drop_ip_malformed",), what="IHL 4")
    x.expect_drop(get_frame(x, options=[IPOption_RR()]), "drop_ip_options", what="IP options")
    x.expect_drop(get_frame(x, ttl=0), "drop_ip_ttl", what="TTL 0")
    x.expect_drop(x.eth() / x.ip(proto=99) / Raw(b"hello"), "drop_ip_proto", what="protocol 99")


@case
def bad_udp(x):
    f = get_frame(x)
    f[UDP].chksum = 0x1234
    x.expect_drop(f, "drop_udp_checksum", what="bad UDP checksum")
    f = x.eth() / x.ip() / UDP(sport=SPORT, dport=11211, len=200) / Raw(hdr() + b"get keep1\r\n")
    x.expect_drop(f, "drop_udp_malformed", what="UDP length past the IP packet")
    f = x.eth() / x.ip() / UDP(sport=SPORT, dport=11211, len=12) / Raw(hdr() + b"get keep1\r\n")
    x.expect_drop(f, "drop_udp_malformed", what="UDP length short of the IP packet")
    x.expect_drop(x.eth() / x.ip() / x.udp(b"hello", dport=9999), "drop_udp_port",
                  what="UDP port nobody serves")


@case
def ip_fragments(x):
    """On a tap port: an af_packet port never sees fragments (the kernel
    reassembles them for its fanout group), so this case brings up its own
    wirecached on net_tap and writes the frames into the tap."""
    topo = netns.TapTopology(tag="mf")
    srv = netns.start_wirecached(topo)
    try:
        with topo.in_cli():
            c = mcudp.Client(topo.server_addr)
            raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            raw.bind((topo.cli_if, 0))
        eq(c.set("keep", b"k"), b"STORED\r\n", "a request over the tap")
        y = Frames(topo, raw, c)
        big = hdr() + b"set frag 0 0 2000\r\n" + b"f" * 2000 + b"\r\n"
        frags = fragment(y.ip() / y.udp(big), fragsize=1400)
        check(len(frags) == 2, "test bug: %d fragments" % len(frags))
        y.expect_drop([y.eth() / p for p in frags], "drop_ip_fragment", what="a 2-fragment set")
        small = fragment(y.ip() / y.udp(hdr() + b"get keep\r\n" + b" " * 40), fragsize=24)
        y.expect_drop([y.eth() / p for p in small], "drop_ip_fragment",
                      what="a small get in %d fragments" % len(small))
        one = y.ip(flags="MF") / y.udp(hdr() + b"get keep\r\n")
        y.expect_drop(y.eth() / one, "drop_ip_fragment", what="first fragment alone (MF)")
        last = y.ip(frag=100) / Raw(b"tail of something")
        y.expect_drop(y.eth() / last, "drop_ip_fragment", what="last fragment alone")
        eq(c.get("frag"), None, "the fragmented set stored nothing")
        eq(c.get("keep"), b"k", "key unchanged")
        eq(srv.stop(), 0, "exit status of the tap instance")
    finally:
        srv.stop()
        topo.close()


@case
def not_for_us(x):
    x.expect_drop(get_frame(x, dst="10.200.%d.77" % x.topo.net), "drop_not_for_us",
                  what="another IP address")
    x.expect_drop(x.eth(dst="02:00:00:00:00:99") / x.ip() / x.udp(hdr() + b"get keep1\r\n"),
                  "drop_not_for_us", what="another unicast MAC")
    f = Ether(dst=x.srv_mac, src=x.cli_mac, type=0x88B5) / Raw(b"\x00" * 46)
    x.expect_drop(f, "drop_ethertype", what="unknown ethertype")


@case
def icmp_and_arp(x):
    f = x.eth() / x.ip() / ICMP(type=8, chksum=0x1111) / Raw(b"ping")
    x.expect_drop(f, "drop_icmp_malformed", what="echo request with a bad checksum")
    x.expect_drop(x.eth() / x.ip() / ICMP(type=13) / Raw(b"\x00" * 12), "drop_icmp_type",
                  what="ICMP timestamp request")
    arp = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=x.cli_mac) /
                ARP(op=1, hwsrc=x.cli_mac, psrc=x.topo.client_addr, pdst=x.topo.server_addr))
    x.expect_drop(Raw(arp[:14 + 10]), ("drop_arp_malformed", "drop_runt"), what="short ARP")


# --- memcached framing ------------------------------------------------------

@case
def mc_frame_header(x):
    x.expect_drop(x.eth() / x.ip() / x.udp(b"\x00\x01\x00"), "drop_mc_frame",
                  what="3 bytes: no frame header")
    x.expect_drop(x.eth() / x.ip() / x.udp(hdr(total=2) + b"get keep1\r\n"),
                  "drop_mc_multi_dgram", what="frame header total=2")
    x.expect_drop(x.eth() / x.ip() / x.udp(hdr(seq=1, total=2) + b"\r\n"),
                  "drop_mc_multi_dgram", what="second datagram of 2")
    x.expect_drop(x.eth() / x.ip() / x.udp(hdr(seq=1, total=1) + b"get keep1\r\n"),
                  ("drop_mc_frame", "drop_mc_multi_dgram"), what="seq 1 of total 1")
    x.expect_drop(x.eth() / x.ip() / x.udp(hdr(total=0) + b"get keep1\r\n"),
                  ("drop_mc_frame", "drop_mc_multi_dgram"), what="total=0")


@case
def mc_truncated(x):
    x.expect_drop(x.eth() / x.ip() / x.udp(hdr() + b"get keep1"), "drop_mc_truncated",
                  what="command without its newline")
    x.expect_drop(x.eth() / x.ip() / x.udp(hdr() + b"set keep1 0 0 10\r\nabc"),
                  "drop_mc_truncated", what="set with a short value")


@case
def mc_garbage(x):
    x.c.sentinel = False
    for cmd in (b"bogus\r\n", b"\x00\xff\xfe garbage\r\n", b"GET keep1\r\n", b"\r\n",
                b"get_keep1\r\n", b"s\r\n", b"\x7f\r\n"):
        eq(x.c.request(cmd), b"ERROR\r\n", "sent %r" % cmd)
    got = x.c.request(b"set chunky 0 0 3\r\nabcdef\r\n")
    check(got.startswith(b"CLIENT_ERROR bad data chunk\r\n"), "bad data chunk: %r" % got)
    got = x.c.request(b"x" * 1300 + b"\r\n")
    check(got in (b"ERROR\r\n", b"CLIENT_ERROR line too long\r\n"), "long line: %r" % got)


@case
def mc_oversize_value(x):
    # (memcached also unlinks an existing key when a set is refused so;
    # these keys are fresh.)
    for n in (1048577, 2000000, 100000000):
        got = x.c.request(b"set oversize 0 0 %d\r\n" % n)
        eq(got, b"SERVER_ERROR object too large for cache\r\n", "declared length %d" % n)
    for n in (b"2147483648", b"4294967295", b"99999999999999999999"):
        got = x.c.request(b"set oversize 0 0 %s\r\n" % n)
        eq(got, b"CLIENT_ERROR bad command line format\r\n", "declared length %s" % n)
    got = x.c.request(b"set oversize2 0 0 2000000\r\nabc\r\nget keep1\r\n")
    check(got.startswith(b"SERVER_ERROR object too large for cache\r\n"),
          "oversize set with data after it: %r" % got)


# --- sources ----------------------------------------------------------------

@case
def udp_source_outside_subnet(x):
    x.expect_drop(get_frame(x, src=OUTSIDE), "drop_udp_source", what="raw, from " + OUTSIDE)
    with x.topo.in_cli():
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        out.bind((OUTSIDE, 0))
        out.settimeout(0.5)
        alw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        alw.bind(("10.200.%d.5" % ALLOWED_NET, 0))
        alw.settimeout(1.0)
    try:
        before, _ = x.drops()
        out.sendto(hdr(7) + b"get keep1\r\n", (x.topo.server_addr, 11211))
        try:
            got = out.recv(65536)
        except socket.timeout:
            got = None
        after, _ = x.drops()
        eq(got, None, "a reply went to a source outside subnet and allowlist")
        eq(after["drop_udp_source"] - before["drop_udp_source"], 1, "drop_udp_source delta")
        alw.sendto(hdr(8) + b"get keep1\r\n", (x.topo.server_addr, 11211))
        try:
            got = alw.recv(65536)
        except socket.timeout:
            got = None
        eq(got, hdr(8) + b"VALUE keep1 0 3\r\none\r\nEND\r\n", "allowlisted source answered")
    finally:
        out.close()
        alw.close()


@case
def keys_unchanged(x):
    for k, v in KEYS.items():
        eq(x.c.get(k), v, "key %r after the malformed traffic" % k)
    check(x.srv.alive(), "server died")


@case
def udp_open_budget(x):
    """--udp-open on: an outside source is answered until its reply budget
    for the second is spent; then drop_udp_reply_cap counts."""
    topo = netns.Topology(tag="mo")
    srv = netns.start_wirecached(topo, ("--udp-open", "on", "--udp-open-budget", "4k"))
    try:
        topo.run_cli(["ip", "addr", "add", OUTSIDE + "/32", "dev", topo.cli_if])
        with topo.in_cli():
            c = mcudp.Client(topo.server_addr)
            out = mcudp.Client(topo.server_addr, timeout=0.3, retries=0)
            out.sock.close()
            out.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            out.sock.bind((OUTSIDE, 0))
            out.sock.connect((topo.server_addr, 11211))
        eq(c.set("v", b"y" * 1000), b"STORED\r\n")
        eq(out.request(b"get v\r\n")[:14], b"VALUE v 0 1000", "open source answered")
        answered = 1
        for _ in range(20):
            try:
                out.request(b"get v\r\n")
                answered += 1
            except mcudp.Timeout:
                break
        check(answered < 10, "%d KB answered within a 4 KB/s budget" % answered)
        st = c.stats()
        check(int(st.get("drop_udp_reply_cap", 0)) >= 1, "drop_udp_reply_cap did not move")
        time.sleep(1.2)
        eq(out.request(b"get v\r\n", retries=1)[:14], b"VALUE v 0 1000",
           "answered again after a second")
        eq(c.get("v"), b"y" * 1000, "in-subnet clients are not budgeted")
    finally:
        srv.stop()
        topo.close()


@case
def clean_stop(x):
    check(x.srv.alive(), "server died:\n" + x.srv.output_tail())
    eq(x.srv.stop(), 0, "exit status after SIGINT; output tail:\n" + x.srv.output_tail(15))


def main():
    netns.require()
    print("server: %s" % netns.wirecached_path())
    return cases.main(Ctx, netns.cleanup_all)


if __name__ == "__main__":
    sys.exit(main())
