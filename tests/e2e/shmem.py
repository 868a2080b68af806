# SPDX-License-Identifier: BSD-3-Clause
"""wirecached's shared block (struct wc_shared, mgmt/contract.h) as a test
finds it in the files of its own hugetlbfs mount, to read or change it
behind the dataplane's back (e.g. a contract version mgmt must refuse)."""
import mmap
import os
import re

import netns

MAGIC = (0x31657269776377).to_bytes(8, "little")  # WC_SHARED_MAGIC, "wcwire1"
VERSION_OFF = 8  # uint32_t version, after the 8-byte magic


def _read(rel):
    with open(os.path.join(netns.ROOT, rel)) as f:
        return f.read()


CONTRACT = int(re.search(r"#define WC_CONTRACT_VERSION (\d+)", _read("mgmt/contract.h")).group(1))
WC_VERSION = re.search(r"version : '([^']+)'", _read("meson.build")).group(1)


def table(macro):
    """The names of X-macro table @p macro in mgmt/contract.h (e.g.
    WC_LCORE_STATS, the per-lcore counters)."""
    body = re.search(r"#define %s\(X\)(.*?)\n\n" % macro, _read("mgmt/contract.h"), re.S).group(1)
    return re.findall(r"X\((\w+),", body)


def find(huge):
    """(file, offset) of struct wc_shared in @p huge's mount: the magic, this
    contract version and wirecached's version string; (None, None) if absent."""
    want = CONTRACT.to_bytes(4, "little")
    for name in sorted(os.listdir(huge.dir)):
        path = os.path.join(huge.dir, name)
        with open(path, "rb") as f:
            data = f.read()
        for m in re.finditer(re.escape(MAGIC), data):
            o = m.start()
            if (data[o + VERSION_OFF:o + VERSION_OFF + 4] == want and
                    data[o + 16:o + 16 + len(WC_VERSION) + 1] == WC_VERSION.encode() + b"\0"):
                return path, o
    return None, None


def poke(path, off, data):
    """Write @p data at @p off of the (hugetlbfs) file @p path."""
    fd = os.open(path, os.O_RDWR)
    try:
        with mmap.mmap(fd, os.fstat(fd).st_size) as m:
            m[off:off + len(data)] = data
    finally:
        os.close(fd)


def set_version(path, off, version):
    """Make the block at @p off claim contract @p version."""
    poke(path, off + VERSION_OFF, version.to_bytes(4, "little"))
