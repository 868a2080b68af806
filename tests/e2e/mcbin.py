#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""memcached binary protocol client for wirecache's tests.

Every request and response starts with a 24-byte header (big-endian):

     0      1      2      4      5      6      8          12         16      24
    +------+------+------+------+------+------+----------+----------+-------+
    |magic |opcode|keylen|extlen|dtype |vbkt/ |  bodylen |  opaque  |  cas  |
    |      |      |      |      |      |status|          |          |       |
    +------+------+------+------+------+------+----------+----------+-------+
    then the body: extras (extlen), key (keylen), value (the rest).

magic is 0x80 for a request, 0x81 for a response. This module packs
requests (with every field overridable, so malformed ones can be sent),
splits a byte stream into responses, and drives a server over TCP.

Command line:
    mcbin.py HOST[:PORT] set KEY VALUE | get KEY | version | stat [KEY] ...
"""

import socket
import struct
import sys
import time

REQ_MAGIC = 0x80
RES_MAGIC = 0x81
HDR = struct.Struct("!BBHBBHIIQ")
HDR_LEN = HDR.size

# Opcodes (memcached's protocol_binary.h).
OP = {
    "get": 0x00, "set": 0x01, "add": 0x02, "replace": 0x03, "delete": 0x04,
    "incr": 0x05, "decr": 0x06, "quit": 0x07, "flush": 0x08, "getq": 0x09,
    "noop": 0x0a, "version": 0x0b, "getk": 0x0c, "getkq": 0x0d, "append": 0x0e,
    "prepend": 0x0f, "stat": 0x10, "setq": 0x11, "addq": 0x12, "replaceq": 0x13,
    "deleteq": 0x14, "incrq": 0x15, "decrq": 0x16, "quitq": 0x17, "flushq": 0x18,
    "appendq": 0x19, "prependq": 0x1a, "verbosity": 0x1b, "touch": 0x1c, "gat": 0x1d,
    "gatq": 0x1e, "sasl_list": 0x20, "sasl_auth": 0x21, "sasl_step": 0x22,
    "gatk": 0x23, "gatkq": 0x24,
}
OPNAME = {v: k for k, v in OP.items()}

# Response statuses.
OK = 0x0000
KEY_ENOENT = 0x0001
KEY_EEXISTS = 0x0002
E2BIG = 0x0003
EINVAL = 0x0004
NOT_STORED = 0x0005
DELTA_BADVAL = 0x0006
AUTH_ERROR = 0x0020
UNKNOWN_COMMAND = 0x0081
ENOMEM = 0x0082


def pack(opcode, key=b"", extras=b"", value=b"", opaque=0, cas=0, magic=REQ_MAGIC,
         datatype=0, vbucket=0, keylen=None, extlen=None, bodylen=None):
    """One request; keylen/extlen/bodylen override the true lengths."""
    if isinstance(opcode, str):
        opcode = OP[opcode]
    if isinstance(key, str):
        key = key.encode()
    if isinstance(value, str):
        value = value.encode()
    kl = len(key) if keylen is None else keylen
    el = len(extras) if extlen is None else extlen
    bl = len(extras) + len(key) + len(value) if bodylen is None else bodylen
    return HDR.pack(magic, opcode, kl, el, datatype, vbucket, bl, opaque, cas) + extras + key + value


def set_extras(flags=0, exptime=0):
    return struct.pack("!II", flags & 0xFFFFFFFF, exptime & 0xFFFFFFFF)


def incr_extras(delta=1, initial=0, exptime=0):
    return struct.pack("!QQI", delta & (2**64 - 1), initial & (2**64 - 1), exptime & 0xFFFFFFFF)


def exp_extras(exptime=0):
    """Extras of touch, gat*, flush and verbosity: one 32-bit number."""
    return struct.pack("!I", exptime & 0xFFFFFFFF)


# Shorthands for well-formed requests.
def get(key, op="get", **kw):
    return pack(op, key, **kw)


def store(op, key, value, flags=0, exptime=0, **kw):
    ex = b"" if op.startswith(("append", "prepend")) else set_extras(flags, exptime)
    return pack(op, key, ex, value, **kw)


def arith(op, key, delta=1, initial=0, exptime=0, **kw):
    return pack(op, key, incr_extras(delta, initial, exptime), **kw)


def touch(op, key, exptime, **kw):
    return pack(op, key, exp_extras(exptime), **kw)


class Response:
    __slots__ = ("magic", "opcode", "keylen", "extlen", "datatype", "status", "bodylen",
                 "opaque", "cas", "extras", "key", "value")

    def __init__(self, raw):
        (self.magic, self.opcode, self.keylen, self.extlen, self.datatype, self.status,
         self.bodylen, self.opaque, self.cas) = HDR.unpack_from(raw)
        body = raw[HDR_LEN:HDR_LEN + self.bodylen]
        self.extras = body[:self.extlen]
        self.key = body[self.extlen:self.extlen + self.keylen]
        self.value = body[self.extlen + self.keylen:]

    def tuple(self, mask_cas=False):
        return (self.magic, self.opcode, self.keylen, self.extlen, self.datatype, self.status,
                self.bodylen, self.opaque, "CAS" if mask_cas and self.cas else self.cas,
                self.extras, self.key, self.value)

    def flags(self):
        return struct.unpack("!I", self.extras)[0] if len(self.extras) == 4 else None

    def number(self):
        return struct.unpack("!Q", self.value)[0] if len(self.value) == 8 else None

    def __eq__(self, other):
        return isinstance(other, Response) and self.tuple() == other.tuple()

    def __repr__(self):
        name = OPNAME.get(self.opcode, hex(self.opcode))
        return ("<%s status=0x%04x opaque=%d cas=%d ext=%r key=%r val=%r>" %
                (name, self.status, self.opaque, self.cas, self.extras, self.key,
                 self.value[:64]))


def split(buf):
    """Split bytes into whole responses. @return (responses, leftover bytes)."""
    out = []
    off = 0
    while len(buf) - off >= HDR_LEN:
        bodylen = struct.unpack_from("!I", buf, off + 8)[0]
        if len(buf) - off < HDR_LEN + bodylen:
            break
        out.append(Response(buf[off:off + HDR_LEN + bodylen]))
        off += HDR_LEN + bodylen
    return out, buf[off:]


class Closed(Exception):
    """The server closed the connection; .responses holds what came first."""

    def __init__(self, responses):
        super().__init__("connection closed after %d responses" % len(responses))
        self.responses = responses


class Client:
    """A binary-protocol connection over TCP."""

    def __init__(self, host, port=11211, timeout=2.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.closed = False

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = self.sock.recv(1 << 20)
        except socket.timeout:
            return False
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self.buf += chunk
        return True

    def recv(self, n, timeout=None):
        """Exactly @p n responses; raises Closed or TimeoutError."""
        deadline = time.monotonic() + (timeout or self.timeout)
        got = []
        while True:
            rs, self.buf = split(self.buf)
            got += rs
            if len(got) >= n:
                extra = got[n:]
                if extra:
                    raise AssertionError("more responses than expected: %r" % extra)
                return got
            if self.closed:
                raise Closed(got)
            if not self._fill(deadline) and not self.closed:
                raise TimeoutError("%d of %d responses" % (len(got), n))

    def recv_until_noop(self, timeout=None, opaque=None):
        """Every response up to and including a No-op's (with @p opaque if given):
        a pipeline's fence."""
        deadline = time.monotonic() + (timeout or self.timeout)
        got = []
        while True:
            rs, self.buf = split(self.buf)
            for r in rs:
                got.append(r)
                if r.opcode == OP["noop"] and (opaque is None or r.opaque == opaque):
                    if split(self.buf)[0]:
                        raise AssertionError("responses after the No-op")
                    return got
            if self.closed:
                raise Closed(got)
            if not self._fill(deadline) and not self.closed:
                raise TimeoutError("no No-op reply; got %r" % got)

    def recv_all(self, timeout=0.3):
        """Whatever arrives within @p timeout, and whether the server closed."""
        deadline = time.monotonic() + timeout
        while not self.closed and self._fill(deadline):
            pass
        rs, self.buf = split(self.buf)
        return rs, self.closed

    def exchange(self, data, timeout=None):
        """Send @p data and a No-op; every response before the No-op's."""
        self.send(data + pack("noop", opaque=0xFEEDFACE))
        return self.recv_until_noop(timeout, opaque=0xFEEDFACE)[:-1]

    def request(self, data, timeout=None):
        """One request that answers with exactly one response."""
        self.send(data)
        return self.recv(1, timeout)[0]

    def stats(self, key=b""):
        """A Stat group as a dict, or the error response."""
        out = {}
        for r in self.exchange(pack("stat", key)):
            if r.status != OK:
                return r
            if r.key:
                out[r.key.decode()] = r.value.decode()
        return out


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    host, _, port = argv[1].partition(":")
    c = Client(host, int(port or 11211))
    cmd, args = argv[2], [a.encode() for a in argv[3:]]
    if cmd == "stat":
        st = c.stats(args[0] if args else b"")
        if isinstance(st, Response):
            print(st)
            return 1
        for k, v in sorted(st.items()):
            print(k, v)
        return 0
    if cmd in ("set", "add", "replace", "append", "prepend"):
        req = store(cmd, args[0], args[1])
    elif cmd in ("incr", "decr"):
        req = arith(cmd, args[0], int(args[1]) if len(args) > 1 else 1)
    elif cmd in ("touch", "gat", "gatk"):
        req = touch(cmd, args[0], int(args[1]))
    else:
        req = pack(cmd, args[0] if args else b"")
    print(c.request(req))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
