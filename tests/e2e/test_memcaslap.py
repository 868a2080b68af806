#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""memcaslap (libmemcached-tools) over UDP against wirecached, verifying
every value it reads back.

memcaslap's UDP mode needs no TCP port (checked against memcached -p 0).
Its summary block has `verify_failed`, `packet_drop`, `udp_timeout` and
`packet_disorder` counters; a verification failure or an error line fails
the test, and so does loss above 1% of operations (some loss is UDP's right
on a loaded 2-core machine, a steady stream of it is a bug).

    test_memcaslap.py [--wirecached PATH] [--peer memcached] [--time 10]
"""

import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wirecached")
    ap.add_argument("--peer", default="wirecached")
    ap.add_argument("--time", type=int, default=10)
    a = ap.parse_args()
    netns.require(("ip", "ethtool", "memcaslap"))
    failed = []
    try:
        topo = netns.Topology(server_ip=(a.peer == "memcached"), tag="ms")
        srv = netns.start_server(a.peer, topo, opts=("--memory-limit", "64m"))
    except Exception as e:
        print("setup failed: %s" % e)
        print("0 passed, 1 failed")
        return 1
    cmd = ["timeout", "-s", "INT", str(a.time + 60), "memcaslap", "-s",
           topo.server_addr + ":11211", "-U", "-v", "1", "-t", "%ds" % a.time, "-T", "1",
           "-c", "8"]
    print("in %s: %s" % (topo.cli, " ".join(cmd)), flush=True)
    p = subprocess.run(["ip", "netns", "exec", topo.cli] + cmd, capture_output=True, text=True,
                       errors="replace")
    out = p.stdout + p.stderr
    print(out[-4000:])
    stats = {k: int(v) for k, v in re.findall(r"^\s*(\w+): (\d+)\s*$", p.stdout, re.M)}
    ops = stats.get("cmd_get", 0) + stats.get("cmd_set", 0)
    lost = stats.get("packet_drop", 0) + stats.get("udp_timeout", 0)
    checks = [
        ("memcaslap exit status 0", p.returncode == 0),
        ("summary printed", "cmd_get" in stats and "verify_failed" in stats),
        ("operations ran (%d)" % ops, ops > 1000),
        ("verify_failed == 0 (%s)" % stats.get("verify_failed"), stats.get("verify_failed") == 0),
        ("no error lines", not re.search(r"(?i)\berror\b|failed to", p.stderr)),
        ("loss %d <= 1%% of %d ops" % (lost, ops), lost * 100 <= ops),
        ("server still running", srv.alive()),
    ]
    if a.peer != "memcached":
        rc = srv.stop()
        checks.append(("clean exit after SIGINT (status %s)" % rc, rc == 0))
    for name, ok in checks:
        print("%s - %s" % ("ok" if ok else "not ok", name))
        if not ok:
            failed.append(name)
    if failed and srv.output_tail():
        print("server output tail:\n" + srv.output_tail(20))
    netns.cleanup_all()
    print("%d passed, %d failed" % (len(checks) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
