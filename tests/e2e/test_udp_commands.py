#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Every memcached command over UDP against wirecached, with exact replies.

The expected bytes are memcached 1.6's: `--peer memcached` runs the same
cases against Debian's memcached, which is how they were checked. Each case
uses its own keys; the flush cases run last because they empty the cache.

    test_udp_commands.py [--wirecached PATH] [--peer memcached] [--only CASE,...]
"""

import base64
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcudp  # noqa: E402
import netns  # noqa: E402
import runner  # noqa: E402
import shmem  # noqa: E402
from runner import eq, match, check  # noqa: E402

cases = runner.Cases()
case = cases.add


class Ctx:
    def __init__(self, kind):
        self.kind = kind
        self.topo = netns.Topology(server_ip=(kind == "memcached"), tag="u")
        self.srv = netns.start_server(kind, self.topo, lifetime=240)
        self.c = self.client()

    def client(self, **kw):
        with self.topo.in_cli():
            # memcached answers a multi-key get with one message per key
            # (each numbered from 0): read those up to an `mn` sentinel. From
            # wirecached every reply must be one message.
            return mcudp.Client(self.topo.server_addr, sentinel=(self.kind == "memcached"),
                                **kw)

    def r(self, cmd, want, what=None):
        """Send @p cmd; the reply must be exactly @p want."""
        got = self.c.request(cmd)
        eq(got, want, what or "sent %s" % runner.show(cmd, 200))
        return got

    def rx(self, cmd, pattern, what=None):
        got = self.c.request(cmd)
        match(got, pattern, what or "sent %s" % runner.show(cmd, 200))
        return got

    def silent(self, cmd):
        """@p cmd must get no reply at all."""
        got = self.c.no_reply(cmd)
        eq(got, b"", "expected no reply to %s" % runner.show(cmd, 200))

    def on_failure(self):
        if not self.srv.alive():
            print("  server died:\n  " + self.srv.output_tail().replace("\n", "\n  "))


# --- retrieval -----------------------------------------------------------

@case
def get_multi(x):
    x.r(b"set gm1 5 0 2\r\nv1\r\n", b"STORED\r\n")
    x.r(b"set gm2 0 0 0\r\n\r\n", b"STORED\r\n")
    x.r(b"get gm1\r\n", b"VALUE gm1 5 2\r\nv1\r\nEND\r\n")
    x.r(b"get gm1 gm2 gm3\r\n", b"VALUE gm1 5 2\r\nv1\r\nVALUE gm2 0 0\r\n\r\nEND\r\n")
    x.r(b"get gm3 gm4\r\n", b"END\r\n")
    x.r(b"get gm1 gm1\r\n", b"VALUE gm1 5 2\r\nv1\r\nVALUE gm1 5 2\r\nv1\r\nEND\r\n")
    x.r(b"get\r\n", b"ERROR\r\n")
    x.r(b"set gm5 4294967295 0 1\r\nx\r\n", b"STORED\r\n")
    x.r(b"get gm5\r\n", b"VALUE gm5 4294967295 1\r\nx\r\nEND\r\n")
    x.r(b"set gm6 0 0 4\r\na\r\nb\r\n", b"STORED\r\n")
    x.r(b"get gm6\r\n", b"VALUE gm6 0 4\r\na\r\nb\r\nEND\r\n", "value holding CRLF")


@case
def gets_multi(x):
    x.r(b"set gs1 1 0 1\r\na\r\n", b"STORED\r\n")
    x.r(b"set gs2 2 0 1\r\nb\r\n", b"STORED\r\n")
    r = x.rx(b"gets gs1 gs2 gs3\r\n",
             rb"VALUE gs1 1 1 (\d+)\r\na\r\nVALUE gs2 2 1 (\d+)\r\nb\r\nEND\r\n")
    c1, c2 = re.findall(rb"VALUE \S+ \d+ \d+ (\d+)", r)
    check(c1 != c2, "two items share CAS %s" % c1)
    x.r(b"gets gs1\r\n", b"VALUE gs1 1 1 %s\r\na\r\nEND\r\n" % c1, "CAS stable without writes")
    x.r(b"set gs1 1 0 1\r\nc\r\n", b"STORED\r\n")
    r = x.rx(b"gets gs1\r\n", rb"VALUE gs1 1 1 (\d+)\r\nc\r\nEND\r\n")
    check(r.split()[4] != c1, "CAS unchanged by set")
    x.r(b"gets\r\n", b"ERROR\r\n")


# --- storage -------------------------------------------------------------

@case
def set_forms(x):
    x.r(b"set sf 0 0 3\r\nabc\r\n", b"STORED\r\n")
    x.r(b"set sf 0 0 1 2\r\nx\r\n", b"STORED\r\n", "an unknown trailing token is ignored")
    x.r(b"set sf abc 0 1\r\nx\r\n", b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
    x.r(b"set sf -1 0 1\r\nx\r\n", b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
    x.r(b"get sf\r\n", b"VALUE sf 0 1\r\nx\r\nEND\r\n", "value after refused sets")


@case
def add_replace(x):
    x.r(b"add ar1 3 0 1\r\na\r\n", b"STORED\r\n")
    x.r(b"add ar1 4 0 1\r\nb\r\n", b"NOT_STORED\r\n")
    x.r(b"replace ar2 0 0 1\r\nc\r\n", b"NOT_STORED\r\n")
    x.r(b"replace ar1 7 0 1\r\nd\r\n", b"STORED\r\n")
    x.r(b"get ar1 ar2\r\n", b"VALUE ar1 7 1\r\nd\r\nEND\r\n")


@case
def append_prepend(x):
    x.r(b"append ap1 0 0 1\r\nx\r\n", b"NOT_STORED\r\n")
    x.r(b"prepend ap1 0 0 1\r\nx\r\n", b"NOT_STORED\r\n")
    x.r(b"set ap1 9 0 2\r\nmm\r\n", b"STORED\r\n")
    x.r(b"append ap1 1 0 3\r\nzzz\r\n", b"STORED\r\n")
    x.r(b"prepend ap1 2 0 2\r\naa\r\n", b"STORED\r\n")
    x.r(b"get ap1\r\n", b"VALUE ap1 9 7\r\naammzzz\r\nEND\r\n", "flags kept by append/prepend")
    x.r(b"append ap1 0 0 0\r\n\r\n", b"STORED\r\n")
    x.r(b"get ap1\r\n", b"VALUE ap1 9 7\r\naammzzz\r\nEND\r\n")


@case
def cas(x):
    x.r(b"cas cs1 0 0 1 1\r\nx\r\n", b"NOT_FOUND\r\n")
    x.r(b"set cs1 0 0 1\r\na\r\n", b"STORED\r\n")
    r = x.rx(b"gets cs1\r\n", rb"VALUE cs1 0 1 \d+\r\na\r\nEND\r\n")
    u = int(r.split()[4])
    x.r(b"cas cs1 3 0 1 %d\r\nb\r\n" % u, b"STORED\r\n")
    x.r(b"cas cs1 4 0 1 %d\r\nc\r\n" % u, b"EXISTS\r\n", "stale CAS")
    x.r(b"get cs1\r\n", b"VALUE cs1 3 1\r\nb\r\nEND\r\n")
    x.r(b"cas cs1 0 0 1\r\nx\r\n", b"ERROR\r\nERROR\r\n", "cas without unique")
    x.r(b"cas cs1 0 0 1 abc\r\nx\r\n", b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
    r = x.rx(b"gets cs1\r\n", rb"VALUE cs1 3 1 \d+\r\nb\r\nEND\r\n")
    check(int(r.split()[4]) != u, "CAS did not change on a successful cas")


@case
def delete(x):
    x.r(b"set dl1 0 0 1\r\na\r\n", b"STORED\r\n")
    x.r(b"delete dl1\r\n", b"DELETED\r\n")
    x.r(b"delete dl1\r\n", b"NOT_FOUND\r\n")
    x.r(b"get dl1\r\n", b"END\r\n")
    x.r(b"set dl1 0 0 1\r\na\r\n", b"STORED\r\n")
    x.r(b"delete dl1 0\r\n", b"DELETED\r\n", "legacy `delete KEY 0`")
    x.r(b"delete dl1 1\r\n",
        b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n")
    x.r(b"delete\r\n", b"ERROR\r\n")


# --- arithmetic ----------------------------------------------------------

@case
def incr_decr(x):
    x.r(b"incr id1 1\r\n", b"NOT_FOUND\r\n")
    x.r(b"decr id1 1\r\n", b"NOT_FOUND\r\n")
    x.r(b"set id1 3 0 2\r\n10\r\n", b"STORED\r\n")
    x.r(b"incr id1 5\r\n", b"15\r\n")
    x.r(b"incr id1 1000\r\n", b"1015\r\n")
    x.r(b"get id1\r\n", b"VALUE id1 3 4\r\n1015\r\nEND\r\n", "flags kept by incr")
    x.r(b"decr id1 15\r\n", b"1000\r\n")
    x.r(b"decr id1 5000\r\n", b"0\r\n", "decr stops at 0")
    x.r(b"decr id1 1\r\n", b"0\r\n")
    x.r(b"incr id1 18446744073709551615\r\n", b"18446744073709551615\r\n")
    x.r(b"incr id1 1\r\n", b"0\r\n", "incr wraps at 2^64")
    x.r(b"set id1 0 0 20\r\n18446744073709551615\r\n", b"STORED\r\n")
    x.r(b"incr id1 2\r\n", b"1\r\n", "incr wraps at 2^64")
    x.r(b"set id1 0 0 21\r\n184467440737095516150\r\n", b"STORED\r\n")
    x.r(b"incr id1 1\r\n",
        b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", "above 2^64-1")
    x.r(b"set id2 0 0 3\r\nabc\r\n", b"STORED\r\n")
    x.r(b"incr id2 1\r\n", b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
    x.r(b"decr id2 1\r\n", b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
    x.r(b"get id2\r\n", b"VALUE id2 0 3\r\nabc\r\nEND\r\n")
    x.r(b"incr id2 abc\r\n", b"CLIENT_ERROR invalid numeric delta argument\r\n")
    x.r(b"incr id2 -1\r\n", b"CLIENT_ERROR invalid numeric delta argument\r\n")
    x.r(b"incr id2\r\n", b"ERROR\r\n")
    x.r(b"set id3 0 0 2\r\n 5\r\n", b"STORED\r\n")
    x.r(b"incr id3 1\r\n", b"6\r\n", "leading space")


# --- ttl -----------------------------------------------------------------

@case
def touch_gat(x):
    x.r(b"touch tg0 10\r\n", b"NOT_FOUND\r\n")
    x.r(b"set tg1 2 0 1\r\na\r\n", b"STORED\r\n")
    x.r(b"set tg2 0 0 1\r\nb\r\n", b"STORED\r\n")
    x.r(b"touch tg1 100\r\n", b"TOUCHED\r\n")
    x.rx(b"mg tg1 t\r\n", rb"HD t(100|99)\r\n")
    x.r(b"touch tg1\r\n", b"ERROR\r\n")
    x.r(b"gat 200 tg1 tg2 tg0\r\n", b"VALUE tg1 2 1\r\na\r\nVALUE tg2 0 1\r\nb\r\nEND\r\n")
    x.rx(b"mg tg2 t\r\n", rb"HD t(200|199)\r\n")
    x.rx(b"gats 300 tg1\r\n", rb"VALUE tg1 2 1 \d+\r\na\r\nEND\r\n")
    x.rx(b"mg tg1 t\r\n", rb"HD t(300|299)\r\n")
    x.r(b"gat tg1\r\n", b"CLIENT_ERROR invalid exptime argument\r\n")
    x.r(b"gat\r\n", b"ERROR\r\n")
    x.r(b"touch tg2 -1\r\n", b"TOUCHED\r\n")
    x.r(b"get tg2\r\n", b"END\r\n", "touched into the past")


@case
def exptime(x):
    now = int(time.time())
    x.r(b"set ex_neg 0 -1 1\r\nx\r\n", b"STORED\r\n")
    x.r(b"get ex_neg\r\n", b"END\r\n", "negative exptime: expired at once")
    x.r(b"set ex_past 0 %d 1\r\nx\r\n" % (now - 100), b"STORED\r\n")
    x.r(b"get ex_past\r\n", b"END\r\n", "absolute exptime in the past")
    x.r(b"set ex_rel 0 2 1\r\nr\r\n", b"STORED\r\n")
    x.r(b"set ex_abs 0 %d 1\r\na\r\n" % (now + 2), b"STORED\r\n")
    x.r(b"set ex_long 0 100 1\r\nl\r\n", b"STORED\r\n")
    x.r(b"set ex_labs 0 %d 1\r\nm\r\n" % (now + 100), b"STORED\r\n")
    x.r(b"get ex_rel ex_abs\r\n", b"VALUE ex_rel 0 1\r\nr\r\nVALUE ex_abs 0 1\r\na\r\nEND\r\n")
    x.rx(b"mg ex_labs t\r\n", rb"HD t(100|99|98)\r\n", "absolute exptime seen as a TTL")
    time.sleep(3.2)
    x.r(b"get ex_rel ex_abs ex_long ex_labs\r\n",
        b"VALUE ex_long 0 1\r\nl\r\nVALUE ex_labs 0 1\r\nm\r\nEND\r\n", "after 3 s")


# --- keys and sizes ------------------------------------------------------

@case
def key_limits(x):
    k250 = b"k" * 250
    k251 = b"k" * 251
    x.r(b"set %s 0 0 1\r\nx\r\n" % k250, b"STORED\r\n")
    x.r(b"get %s\r\n" % k250, b"VALUE %s 0 1\r\nx\r\nEND\r\n" % k250)
    x.r(b"get %s\r\n" % k251, b"CLIENT_ERROR bad command line format\r\n")
    x.r(b"mg %s v\r\n" % k251, b"CLIENT_ERROR bad command line format\r\n")
    got = x.c.request(b"set %s 0 0 1\r\nx\r\n" % k251)
    check(got.startswith(b"CLIENT_ERROR bad command line format\r\n"),
          "251-byte key in set: %r" % got)
    x.r(b"get %s\r\n" % k250, b"VALUE %s 0 1\r\nx\r\nEND\r\n" % k250)
    # memcached takes any byte but space and newline into a text-protocol
    # key; a server may refuse control characters instead, but then must
    # say so and store nothing.
    for k in (b"kc\x01x", b"kc\x7fx", b"kc\tx", b"kc\x1bx"):
        got = x.c.request(b"set %s 0 0 1\r\nv\r\n" % k)
        if got == b"STORED\r\n":
            x.r(b"get %s\r\n" % k, b"VALUE %s 0 1\r\nv\r\nEND\r\n" % k)
        else:
            check(got.startswith(b"CLIENT_ERROR"), "key %r: %r" % (k, got))
            got = x.c.request(b"get %s\r\n" % k)
            check(got == b"END\r\n" or got.startswith(b"CLIENT_ERROR"), "key %r: %r" % (k, got))


@case
def big_value_by_append(x):
    """A 500 KB value built by ~1300-byte appends, read back in ~375
    datagrams; then grown to the 1 MB item limit."""
    rnd = os.urandom(260 * 1300 // 2).hex().encode()  # printable, not repetitive
    chunks = [rnd[i:i + 1300] for i in range(0, len(rnd), 1300)]
    want = b"".join(chunks[:385])
    x.r(b"set big1 77 0 %d\r\n%s\r\n" % (len(chunks[0]), chunks[0]), b"STORED\r\n")
    value = bytearray(chunks[0])
    for i in range(1, 385):
        ch = chunks[i % len(chunks)]
        x.r(b"append big1 0 0 %d\r\n%s\r\n" % (len(ch), ch), b"STORED\r\n", "append #%d" % i)
        value += ch
    want = bytes(value)
    check(len(want) == 500500, "test bug")
    big = x.client(timeout=5, retries=1)
    got = big.request(b"get big1\r\n")
    head = b"VALUE big1 77 %d\r\n" % len(want)
    check(got.startswith(head), "header: %r" % got[:60])
    check(got[len(head):len(head) + len(want)] == want,
          "value differs from what was appended (first difference at byte %s)" %
          next((i for i, (a, b) in enumerate(zip(got[len(head):], want)) if a != b), "end"))
    eq(got[len(head) + len(want):], b"\r\nEND\r\n", "trailer")
    if x.kind != "memcached":
        check(big.last_total >= (len(got) + 1391) // 1392,
              "reply of %d bytes in %d datagrams" % (len(got), big.last_total))
    check(big.max_dgram <= mcudp.MAX_DGRAM, "datagram of %d bytes" % big.max_dgram)
    check(big.bad_header == 0, "%d datagrams with bad headers" % big.bad_header)
    # Grow to just under the 1 MB limit, then past it.
    ch = chunks[1]
    while len(value) + 1300 <= 1040000:
        x.r(b"append big1 0 0 1300\r\n%s\r\n" % ch, b"STORED\r\n", "append at %d" % len(value))
        value += ch
    x.r(b"mg big1 s f\r\n", b"HD s%d f77\r\n" % len(value))
    tail = b"t" * 1300
    grown = len(value)
    while grown <= 1048576:
        got = x.c.request(b"append big1 0 0 1300\r\n%s\r\n" % tail)
        if got != b"STORED\r\n":
            break
        grown += 1300
    check(grown > 1040000, "refused at %d bytes" % grown)
    eq(got, b"NOT_STORED\r\n", "append past the item size limit (at %d bytes)" % grown)
    x.r(b"mg big1 s\r\n", b"HD s%d\r\n" % grown, "value unchanged by the refused append")
    big.close()


# --- misc ----------------------------------------------------------------

@case
def version_verbosity(x):
    x.rx(b"version\r\n", rb"VERSION [^\r\n ]+\r\n")
    x.r(b"verbosity 1\r\n", b"OK\r\n")
    x.r(b"verbosity 0\r\n", b"OK\r\n")
    x.r(b"verbosity\r\n", b"ERROR\r\n")
    x.silent(b"verbosity 1 noreply\r\n")


@case
def errors(x):
    x.r(b"bogus\r\n", b"ERROR\r\n")
    x.r(b"GET k\r\n", b"ERROR\r\n", "commands are case-sensitive")
    x.r(b"\r\n", b"ERROR\r\n")


@case
def stats(x):
    s1 = x.c.stats()
    need = ["pid", "uptime", "time", "version", "curr_items", "total_items", "bytes",
            "cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "get_hits", "get_misses",
            "get_expired", "get_flushed", "delete_hits", "delete_misses", "incr_hits",
            "incr_misses", "decr_hits", "decr_misses", "cas_hits", "cas_misses", "cas_badval",
            "touch_hits", "touch_misses", "evictions", "limit_maxbytes", "bytes_read",
            "bytes_written", "threads"]
    if x.kind != "memcached":
        need += shmem.table("WC_LCORE_STATS")
    missing = [n for n in need if n not in s1]
    check(not missing, "stats lacks: " + " ".join(missing))
    for n in need:
        if n != "version":
            check(re.fullmatch(r"[0-9]+(\.[0-9]+)?", s1[n]), "stat %s = %r" % (n, s1[n]))
    x.r(b"set st1 0 0 1\r\na\r\n", b"STORED\r\n")
    x.r(b"get st1 st2 st3\r\n", b"VALUE st1 0 1\r\na\r\nEND\r\n")
    x.r(b"delete st3\r\n", b"NOT_FOUND\r\n")
    s2 = x.c.stats()

    def d(n):
        return int(s2[n]) - int(s1[n])
    eq(d("cmd_set"), 1, "cmd_set delta")
    eq(d("get_hits"), 1, "get_hits delta")
    eq(d("get_misses"), 2, "get_misses delta")
    eq(d("delete_misses"), 1, "delete_misses delta")
    eq(d("total_items"), 1, "total_items delta")
    # memcached counts keys in cmd_get, so a 3-key get is 3.
    eq(d("cmd_get"), 3, "cmd_get delta")
    check(d("bytes_read") > 0 and d("bytes_written") > 0, "bytes_read/bytes_written still")
    check(int(s2["uptime"]) >= 0 and abs(int(s2["time"]) - time.time()) < 5, "stat time")
    if x.kind != "memcached":
        check(d("udp_datagrams") >= 4 and d("rx_packets") >= 4 and d("tx_packets") >= 4,
              "udp_datagrams/rx_packets/tx_packets did not move: %s" %
              {n: d(n) for n in ("udp_datagrams", "rx_packets", "tx_packets")})
        eq(d("mc_get_hits"), 1, "mc_get_hits delta")


@case
def noreply(x):
    x.silent(b"set nr1 0 0 1 noreply\r\n1\r\n")
    x.silent(b"add nr1 0 0 1 noreply\r\nz\r\n")
    x.silent(b"add nr2 0 0 1 noreply\r\n2\r\n")
    x.silent(b"replace nr2 5 0 1 noreply\r\n3\r\n")
    x.silent(b"append nr2 0 0 1 noreply\r\n4\r\n")
    x.silent(b"prepend nr2 0 0 1 noreply\r\n1\r\n")
    x.silent(b"incr nr2 2 noreply\r\n")
    x.silent(b"decr nr1 1 noreply\r\n")
    x.silent(b"incr nr1 abc noreply\r\n")
    x.silent(b"touch nr1 1000 noreply\r\n")
    x.silent(b"delete nr9 noreply\r\n")
    x.silent(b"cas nr1 0 0 1 1 noreply\r\nz\r\n")
    x.r(b"get nr1 nr2\r\n", b"VALUE nr1 0 1\r\n0\r\nVALUE nr2 5 3\r\n136\r\nEND\r\n")
    x.silent(b"delete nr1 noreply\r\n")
    x.r(b"get nr1\r\n", b"END\r\n")
    # A noreply command in a datagram with others: only theirs come back.
    x.r(b"set nr3 0 0 1 noreply\r\na\r\nget nr3\r\n", b"VALUE nr3 0 1\r\na\r\nEND\r\n")


# --- meta ----------------------------------------------------------------

@case
def meta_get(x):
    x.r(b"mg mg0 v\r\n", b"EN\r\n")
    x.r(b"mg mg0\r\n", b"EN\r\n")
    x.r(b"set mg1 9 100 2\r\nhi\r\n", b"STORED\r\n")
    x.r(b"mg mg1\r\n", b"HD\r\n")
    x.r(b"mg mg1 v\r\n", b"VA 2\r\nhi\r\n")
    r = x.rx(b"mg mg1 s f v c k O123 h l\r\n", rb"VA 2 s2 f9 c(\d+) kmg1 O123 h1 l0\r\nhi\r\n")
    cas = re.search(rb" c(\d+)", r).group(1)
    x.rx(b"gets mg1\r\n", rb"VALUE mg1 9 2 %s\r\nhi\r\nEND\r\n" % cas, "mg c == gets CAS")
    x.rx(b"mg mg1 t\r\n", rb"HD t(100|99)\r\n")
    x.r(b"mg mg1 q v\r\n", b"VA 2\r\nhi\r\n", "q does not hide a hit")
    x.silent(b"mg mg0 q v\r\n")
    x.silent(b"mg mg0 k q\r\n")
    x.r(b"mg mg1 T30 t\r\n", b"HD t30\r\n")
    x.r(b"mg mg1 t\r\n", b"HD t30\r\n")
    x.r(b"set mg2 0 0 1\r\nx\r\n", b"STORED\r\n")
    x.r(b"mg mg2 h\r\n", b"HD h0\r\n", "h: not fetched before")
    x.r(b"mg mg2 h\r\n", b"HD h1\r\n")
    x.r(b"mg mg2 t\r\n", b"HD t-1\r\n", "no exptime")
    x.r(b"mg\r\n", b"ERROR\r\n")
    x.r(b"mg mg1 v Z\r\n", b"CLIENT_ERROR invalid flag\r\n")


@case
def meta_get_base64(x):
    k = base64.b64encode(b"mgb key\x00bin")
    x.r(b"mg %s b v\r\n" % k, b"EN\r\n")
    x.r(b"ms %s 1 b\r\nx\r\n" % k, b"HD\r\n")
    x.r(b"mg %s b v k\r\n" % k, b"VA 1 k%s b\r\nx\r\n" % k)
    x.r(b"mg %s b s\r\n" % k, b"HD s1\r\n")
    x.r(b"md %s b\r\n" % k, b"HD\r\n")
    x.r(b"mg %s b v\r\n" % k, b"EN\r\n")
    # A plain key that happens to be the base64 text is another key.
    x.r(b"ms bWdiX3BsYWlu 1 b\r\ny\r\n", b"HD\r\n")
    x.r(b"get mgb_plain\r\n", b"VALUE mgb_plain 0 1\r\ny\r\nEND\r\n")


@case
def meta_get_vivify_recache(x):
    x.r(b"mg mv1 N30 s v t\r\n", b"VA 0 s0 t30 W\r\n\r\n", "N on a miss: created, W(in)")
    x.r(b"mg mv1 N30 s v t\r\n", b"VA 0 s0 t30 Z\r\n\r\n", "second: Z (win already sent)")
    x.r(b"mg mv1 v\r\n", b"VA 0 Z\r\n\r\n")
    x.r(b"ms mv2 2 T10\r\nhi\r\n", b"HD\r\n")
    x.r(b"mg mv2 R30 v t\r\n", b"VA 2 t10 W\r\nhi\r\n", "R: TTL below the limit wins recache")
    x.r(b"mg mv2 R30 v t\r\n", b"VA 2 t10 Z\r\nhi\r\n")
    x.r(b"ms mv2 2 T100\r\nho\r\n", b"HD\r\n")
    x.r(b"mg mv2 R30 v t\r\n", b"VA 2 t100\r\nho\r\n", "R: TTL above the limit")


@case
def meta_set(x):
    x.r(b"ms ms1 2\r\nhi\r\n", b"HD\r\n")
    r = x.rx(b"ms ms1 2 F7 T0 c\r\nhi\r\n", rb"HD c\d+\r\n")
    x.r(b"mg ms1 f v\r\n", b"VA 2 f7\r\nhi\r\n")
    x.rx(b"gets ms1\r\n", rb"VALUE ms1 7 2 %s\r\nhi\r\nEND\r\n" % r[4:-2], "ms c == gets CAS")
    x.r(b"ms ms1 2 MA\r\nyo\r\n", b"HD\r\n")
    x.r(b"ms ms1 2 MP\r\nyo\r\n", b"HD\r\n")
    x.r(b"mg ms1 v\r\n", b"VA 6\r\nyohiyo\r\n")
    x.r(b"ms ms1 2 ME\r\nzz\r\n", b"NS\r\n", "add mode on an existing key")
    x.r(b"ms ms2 2 MR\r\nzz\r\n", b"NS\r\n", "replace mode on a missing key")
    x.r(b"ms ms2 2 ME\r\nzz\r\n", b"HD\r\n")
    x.r(b"ms ms2 2 MR\r\nrr\r\n", b"HD\r\n")
    x.r(b"ms ms1 2 MS\r\nss\r\n", b"HD\r\n")
    x.r(b"mg ms1 v\r\n", b"VA 2\r\nss\r\n")
    x.r(b"ms ms3 2 MA\r\nhi\r\n", b"NS\r\n")
    x.r(b"ms ms3 2 MP\r\nhi\r\n", b"NS\r\n")
    x.r(b"ms ms1 2 C1\r\nhi\r\n", b"EX\r\n", "compare-CAS mismatch")
    x.r(b"ms ms3 2 C1\r\nhi\r\n", b"NF\r\n", "compare-CAS on a missing key")
    r = x.rx(b"mg ms1 c\r\n", rb"HD c\d+\r\n")
    x.r(b"ms ms1 2 C%s\r\nok\r\n" % r[4:-2], b"HD\r\n", "compare-CAS match")
    x.silent(b"ms ms1 2 q\r\nqq\r\n")
    x.r(b"mg ms1 v\r\n", b"VA 2\r\nqq\r\n")
    x.r(b"ms ms1 2 O9 k\r\nhi\r\n", b"HD O9 kms1\r\n")
    x.r(b"ms ms1 2 MX\r\nhi\r\n", b"CLIENT_ERROR invalid mode for ms M token\r\n")
    x.r(b"ms ms1 2 S2\r\nhi\r\n", b"CLIENT_ERROR invalid flag\r\n")
    x.r(b"ms ms1\r\nhi\r\n", b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
    x.r(b"ms ms1 abc\r\nhi\r\n", b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
    x.r(b"ms ms4 5 I\r\nhello\r\n", b"HD\r\n")
    x.r(b"ms ms5 2 T-1\r\nhi\r\n", b"HD\r\n")
    x.r(b"mg ms5 v\r\n", b"EN\r\n", "negative TTL")


@case
def meta_delete(x):
    x.r(b"ms md1 1\r\nx\r\n", b"HD\r\n")
    x.r(b"md md1\r\n", b"HD\r\n")
    x.r(b"md md1\r\n", b"NF\r\n")
    x.r(b"md md1 q\r\n", b"NF\r\n", "q does not hide NF")
    x.r(b"md md1 O5 k\r\n", b"NF O5 kmd1\r\n")
    x.r(b"ms md1 1\r\nx\r\n", b"HD\r\n")
    x.r(b"md md1 C1\r\n", b"EX\r\n")
    x.silent(b"md md1 q\r\n")
    x.r(b"mg md1 v\r\n", b"EN\r\n")


@case
def meta_arithmetic(x):
    x.r(b"ms ma1 2\r\n10\r\n", b"HD\r\n")
    x.r(b"ma ma1\r\n", b"HD\r\n")
    x.r(b"ma ma1 v\r\n", b"VA 2\r\n12\r\n")
    x.r(b"ma ma1 MD D5 v\r\n", b"VA 1\r\n7\r\n")
    x.r(b"ma ma1 MD D100 v\r\n", b"VA 1\r\n0\r\n", "decr floor 0")
    x.r(b"ma ma1 M+ D3 v\r\n", b"VA 1\r\n3\r\n")
    x.r(b"ma ma1 M- v\r\n", b"VA 1\r\n2\r\n")
    x.r(b"ma ma1 MI v\r\n", b"VA 1\r\n3\r\n")
    x.silent(b"ma ma1 q\r\n")
    x.rx(b"ma ma1 N0 v t c\r\n", rb"VA 1 t-1 c\d+\r\n5\r\n")
    x.r(b"ma ma1 D18446744073709551615 v\r\n", b"VA 1\r\n4\r\n", "wraps at 2^64")
    x.r(b"ma ma0\r\n", b"NF\r\n")
    x.r(b"ma ma0 q\r\n", b"NF\r\n", "q does not hide NF")
    x.r(b"ma ma0 N0 J10 v\r\n", b"VA 2\r\n10\r\n", "autovivify with J")
    x.r(b"ma ma0 v\r\n", b"VA 2\r\n11\r\n")
    x.r(b"ms ma2 3\r\nabc\r\n", b"HD\r\n")
    x.r(b"ma ma2 v\r\n", b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")


@case
def meta_noop_debug(x):
    if x.kind != "memcached":  # the sentinel itself for memcached
        x.r(b"mn\r\n", b"MN\r\n")
    x.r(b"ms me1 3 T0\r\nabc\r\n", b"HD\r\n")
    x.rx(b"me me1\r\n", rb"ME me1 exp=-1 la=\d+ cas=\d+ fetch=no cls=\d+ size=\d+\r\n")
    x.r(b"me me0\r\n", b"EN\r\n")
    x.r(b"me\r\n", b"CLIENT_ERROR bad command line format\r\n")
    x.r(b"mg me1 s\r\nmg me0 s\r\nmg me1 v\r\n", b"HD s3\r\nEN\r\nVA 3\r\nabc\r\n",
        "pipelined meta commands in one datagram")


# --- flush (empties everything: last) -------------------------------------

@case
def flush_all(x):
    x.r(b"set fa1 0 0 1\r\na\r\n", b"STORED\r\n")
    x.r(b"flush_all\r\n", b"OK\r\n")
    x.r(b"get fa1\r\n", b"END\r\n")
    x.r(b"set fa1 0 0 1\r\nb\r\n", b"STORED\r\n")
    x.r(b"get fa1\r\n", b"VALUE fa1 0 1\r\nb\r\nEND\r\n", "a set after flush_all is kept")
    x.r(b"flush_all 0\r\n", b"OK\r\n")
    x.r(b"get fa1\r\n", b"END\r\n")
    x.r(b"flush_all abc\r\n", b"CLIENT_ERROR invalid exptime argument\r\n")
    x.r(b"set fa2 0 0 1\r\nc\r\n", b"STORED\r\n")
    x.silent(b"flush_all noreply\r\n")
    x.r(b"get fa2\r\n", b"END\r\n")


@case
def flush_all_delay(x):
    x.r(b"set fd1 0 0 1\r\na\r\n", b"STORED\r\n")
    x.r(b"flush_all 2\r\n", b"OK\r\n")
    x.r(b"get fd1\r\n", b"VALUE fd1 0 1\r\na\r\nEND\r\n", "before the delay")
    time.sleep(3.2)
    x.r(b"get fd1\r\n", b"END\r\n", "after the delay")
    x.r(b"set fd2 0 0 1\r\nb\r\n", b"STORED\r\n")
    x.r(b"get fd2\r\n", b"VALUE fd2 0 1\r\nb\r\nEND\r\n", "set after a delayed flush")


@case
def clean_stop(x):
    """SIGINT stops the server with status 0 (it ran every case above)."""
    check(x.srv.alive(), "server died:\n" + x.srv.output_tail())
    rc = x.srv.stop()
    eq(rc, 0, "exit status after SIGINT; output tail:\n" + x.srv.output_tail(15))


def main():
    netns.require()
    kind = netns.server_kind()
    print("server: %s" % (kind if kind == "memcached" else netns.wirecached_path()))
    return cases.main(lambda: Ctx(kind), netns.cleanup_all)


if __name__ == "__main__":
    sys.exit(main())
