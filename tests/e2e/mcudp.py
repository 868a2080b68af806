#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""memcached UDP client for wirecache's end-to-end tests.

Every datagram starts with memcached's 8-byte frame header:

     0       2       4       6       8
    +-------+-------+-------+-------+--------------------
    |req id | seq   | total | 0     | text/meta bytes ...
    +-------+-------+-------+-------+--------------------
     (all big-endian 16-bit)

A request is one datagram (seq 0, total 1). A reply may span `total`
datagrams that share the request id; they can arrive in any order, so they
are reassembled by sequence number. A lost datagram shows up as a timeout;
the request is then sent again under a fresh id (retries), so stale pieces of
the first attempt can never be mixed into the second.

Command line (used by tools/run's printed client command):
    mcudp.py HOST[:PORT] 'set k 0 0 1\\r\\nv\\r\\nget k\\r\\n'
"""

import os
import select
import socket
import struct
import sys
import time

HDR = struct.Struct("!HHHH")
MAX_DGRAM = 1400  # memcached's UDP_MAX_PAYLOAD_SIZE, header included


class Timeout(Exception):
    """No complete reply in time; .partial holds what did arrive."""

    def __init__(self, msg, partial=b""):
        super().__init__(msg)
        self.partial = partial


class Client:
    def __init__(self, host, port=11211, timeout=1.0, retries=2, rcvbuf=16 << 20,
                 sentinel=False):
        self.addr = (host, port)
        self.sentinel = sentinel
        self.timeout = timeout
        self.retries = retries
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # A 500 KB value comes back as ~375 datagrams in one burst; the
        # default 208 KB receive buffer would drop the tail.
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, 33, rcvbuf)  # SO_RCVBUFFORCE
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(self.addr)
        self.next_id = int.from_bytes(os.urandom(2), "big")
        # Observations over the client's life, for tests to assert on.
        self.max_dgram = 0       # largest datagram received, header included
        self.dgrams = 0          # datagrams received
        self.stray = 0           # datagrams for other (old) request ids
        self.bad_header = 0      # short datagrams or nonzero reserved field
        self.last_total = 0      # `total` of the last complete reply
        self.refused = 0         # ICMP port unreachable seen

    def close(self):
        self.sock.close()

    def _new_id(self):
        self.next_id = (self.next_id + 1) & 0xFFFF
        return self.next_id

    def drain(self):
        """Discard anything already queued (late replies of earlier requests)."""
        while select.select([self.sock], [], [], 0)[0]:
            try:
                self.sock.recv(65536)
            except ConnectionRefusedError:
                continue
            except OSError:
                break

    def send_frame(self, payload, req_id=None, seq=0, total=1, reserved=0):
        """Send one datagram with an explicit header; return its request id."""
        if req_id is None:
            req_id = self._new_id()
        self.sock.send(HDR.pack(req_id, seq, total, reserved) + payload)
        return req_id

    def recv_reply(self, req_id, timeout=None, until=None):
        """Collect the datagrams of reply @p req_id; return the joined bytes.

        Without @p until: the first complete message (seq 0..total-1, in any
        order). With @p until (a function of the bytes so far): keep
        collecting messages until it returns true -- memcached 1.6 answers a datagram that
        holds several commands, or a multi-key get, with several messages
        under the same request id, each numbered from 0; those arrive in
        order over one link.

        Raises Timeout when the reply is not complete in time.
        """
        timeout = self.timeout if timeout is None else timeout
        msgs = []
        parts = {}
        total = None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                got = b"".join(msgs) + b"".join(parts[k] for k in sorted(parts))
                raise Timeout("reply %d: %d messages, then %d of %s datagrams" %
                              (req_id, len(msgs), len(parts), total), got)
            try:
                d = self.sock.recv(65536)
            except ConnectionRefusedError:
                # ICMP port unreachable: nobody listens (yet); keep waiting.
                self.refused += 1
                continue
            self.dgrams += 1
            self.max_dgram = max(self.max_dgram, len(d))
            if len(d) < HDR.size:
                self.bad_header += 1
                continue
            rid, seq, tot, res = HDR.unpack_from(d)
            if rid != req_id:
                self.stray += 1
                continue
            if res != 0 or tot == 0 or seq >= tot or (total is not None and tot != total):
                self.bad_header += 1
                continue
            total = tot
            parts[seq] = d[HDR.size:]
            if len(parts) < total:
                continue
            self.last_total = total
            msgs.append(b"".join(parts[i] for i in range(total)))
            parts = {}
            total = None
            if until is None or until(b"".join(msgs)):
                return b"".join(msgs)

    def request(self, payload, retries=None, timeout=None):
        """Send @p payload as one request datagram and return the whole reply.

        With self.sentinel set, `mn` is appended to the request and the reply
        is read up to its `MN` (which is removed): the way to read replies
        that come as several messages (memcached) and to read "nothing" for
        noreply commands without waiting for a timeout.
        """
        if isinstance(payload, str):
            payload = payload.encode()
        retries = self.retries if retries is None else retries
        until = None
        if self.sentinel:
            # Our `mn` answers last; count the request's own `mn`s too.
            n_mn = 1 + sum(1 for ln in payload.split(b"\r\n") if ln.strip() == b"mn")
            payload += b"mn\r\n"

            def until(r):
                return r.endswith(b"MN\r\n") and (b"\r\n" + r).count(b"\r\nMN\r\n") >= n_mn
        for attempt in range(retries + 1):
            rid = self.send_frame(payload)
            try:
                r = self.recv_reply(rid, timeout, until)
                return r[:-4] if until else r
            except Timeout:
                if attempt == retries:
                    raise

    def collect(self, payload, idle=0.3, timeout=None):
        """Send @p payload; return every message that answers it, joined, once
        nothing more arrived for @p idle seconds (a reply of unknown shape)."""
        if isinstance(payload, str):
            payload = payload.encode()
        rid = self.send_frame(payload)
        out = b""
        first = True
        while True:
            try:
                out += self.recv_reply(rid, (timeout or self.timeout) if first else idle)
                first = False
            except Timeout as t:
                return out + t.partial

    def no_reply(self, payload, wait=0.3):
        """Send @p payload; return whatever arrives for it within @p wait
        (b'' when, as expected for noreply or a dropped request, nothing)."""
        if isinstance(payload, str):
            payload = payload.encode()
        rid = self.send_frame(payload)
        try:
            return self.recv_reply(rid, wait)
        except Timeout as t:
            return t.partial

    # Conveniences -------------------------------------------------------

    def stats(self, sub=""):
        """`stats [sub]` as a dict of name -> value string."""
        r = self.request(("stats %s" % sub).strip().encode() + b"\r\n")
        out = {}
        for line in r.split(b"\r\n"):
            f = line.split(b" ", 2)
            if len(f) == 3 and f[0] == b"STAT":
                out[f[1].decode()] = f[2].decode(errors="replace")
        return out

    def set(self, key, value, flags=0, exptime=0):
        if isinstance(key, str):
            key = key.encode()
        if isinstance(value, str):
            value = value.encode()
        return self.request(b"set %s %d %d %d\r\n%s\r\n" % (key, flags, exptime, len(value), value))

    def get(self, key):
        """The value of @p key, or None."""
        if isinstance(key, str):
            key = key.encode()
        r = self.request(b"get " + key + b"\r\n")
        if r == b"END\r\n":
            return None
        head, rest = r.split(b"\r\n", 1)
        n = int(head.split()[3])
        if rest[n:] != b"\r\nEND\r\n":
            raise ValueError("malformed get reply: %r" % r[:200])
        return rest[:n]


def _main():
    if len(sys.argv) < 3:
        print("usage: mcudp.py HOST[:PORT] 'COMMANDS (\\r\\n escapes allowed)' ...",
              file=sys.stderr)
        sys.exit(2)
    host, _, port = sys.argv[1].partition(":")
    c = Client(host, int(port or 11211))
    for arg in sys.argv[2:]:
        data = arg.encode().decode("unicode_escape").encode("latin-1")
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        r = c.collect(data)
        if not r:
            print("no reply", file=sys.stderr)
            sys.exit(1)
        sys.stdout.buffer.write(r)
    sys.stdout.flush()


if __name__ == "__main__":
    _main()
