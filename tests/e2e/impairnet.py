#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""An impaired link for end-to-end tests: two hosts with wc-impair between them.

This kernel has no netem. ImpairNet builds three fresh namespaces and runs
tools/impair's wc-impair in the middle one, forwarding every frame between
two veths with seeded loss, duplication, corruption, delay, jitter,
reordering and rate limits:

    A namespace            bridge namespace (no IP, no Linux bridge)       B namespace
    +-----------------+    +----------------------------------------+    +-----------------+
    | ia0 10.200.N.1  |<-->| ba0    wc-impair --a ba0 --b bb0   bb0 |<-->| ib0 10.200.N.2  |
    +-----------------+    +----------------------------------------+    +-----------------+
          veth                       a2b: A -> B,  b2a: B -> A                  veth

A and B share one /24 and reach each other at layer 2 only through
wc-impair: with it stopped, nothing passes. Offloads are off on all four
veth ends (no partial checksums, no 64 KB GSO frames), IPv6 is off (no
neighbour discovery or MLD frames), and by default each host has a
permanent neighbour entry for the other, so no ARP crosses the link either:
what wc-impair sees is exactly what the test sends, and a seed gives the
same decisions run after run.

    import impairnet
    with impairnet.ImpairNet(loss=30, seed=42) as net:
        with net.in_a():
            tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with net.in_b():
            rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rx.bind((net.b_addr, 9000))
        ...
        counters = net.stop()          # {"a2b": {"rx": ..., "forwarded": ...}, "b2a": ...}
        net.start(delay=50, a2b_loss=5)  # new parameters, same hosts

Keyword parameters map to wc-impair's options: `loss=5` is --loss 5,
`a2b_reorder_hold=20` is --a2b-reorder-hold 20. Namespaces, the veths and
wc-impair are registered with netns.py's cleanup, so they go away at exit,
on a signal, or when the ImpairNet is closed; wc-impair also runs under
`timeout` and with --lifetime.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402
from netns import sh  # noqa: E402

DEFAULT_NET = 61  # 10.200.61.0/24
FINAL_RX = re.compile(r'^\{"final": true')
STATS_RX = re.compile(r'^\{"final": ')


def impair_path():
    """The wc-impair binary: --impair PATH, $WC_IMPAIR, next to the build's
    wirecached (--wirecached or $WIRECACHED), or a build directory."""
    for i, a in enumerate(sys.argv):
        if a == "--impair" and i + 1 < len(sys.argv):
            return os.path.abspath(sys.argv[i + 1])
        if a.startswith("--impair="):
            return os.path.abspath(a.split("=", 1)[1])
    if os.environ.get("WC_IMPAIR"):
        return os.environ["WC_IMPAIR"]
    wc = netns.wirecached_path()
    if wc:
        p = os.path.join(os.path.dirname(os.path.dirname(wc)), "tools", "impair", "wc-impair")
        if os.access(p, os.X_OK):
            return p
    for d in ("build-e2e", "build-ci", "build", "build-run"):
        p = os.path.join(netns.ROOT, d, "tools", "impair", "wc-impair")
        if os.access(p, os.X_OK):
            return p
    return None


def impair_argv(params):
    """wc-impair options for keyword @p params (a2b_loss=5 -> --a2b-loss 5)."""
    argv = []
    for k, v in params.items():
        if v is None or v is False:
            continue
        opt = "--" + k.replace("_", "-")
        argv += [opt] if v is True else [opt, str(v)]
    return argv


class ImpairNet:
    """Namespaces A and B joined through wc-impair in a bridge namespace."""

    def __init__(self, net=DEFAULT_NET, tag="i", static_neigh=True, path=None, start=True,
                 **params):
        """Create the hosts and, when @p start, run wc-impair with @p params.

        @p net: third octet of 10.200.net.0/24 (the test's own /24).
        @p static_neigh: permanent neighbour entries instead of ARP.
        @p path: wc-impair (default impair_path()).
        """
        netns._seq[0] += 1
        n = netns._seq[0]
        pid = os.getpid()
        self.a_ns = "impair-a-%s%d-%d" % (tag, pid, n)
        self.b_ns = "impair-b-%s%d-%d" % (tag, pid, n)
        self.br_ns = "impair-m-%s%d-%d" % (tag, pid, n)
        self.srv = self.br_ns  # where netns.Server runs its process
        self.a_if, self.b_if = "ia0", "ib0"
        self.br_a, self.br_b = "ba0", "bb0"
        self.net = net
        self.a_addr = "10.200.%d.1" % net
        self.b_addr = "10.200.%d.2" % net
        self.path = path or impair_path()
        self.server = None
        self.params = {}
        self.final = None
        self._namespaces = []
        netns._live.append(self)
        try:
            self._create(static_neigh)
            if start:
                self.start(**params)
        except BaseException:
            self.close()
            raise

    def _create(self, static_neigh):
        netns.guard_root_namespace()
        for ns in (self.br_ns, self.a_ns, self.b_ns):
            sh(["ip", "netns", "add", ns])
            self._namespaces.append(ns)
            # Before any veth exists, so none ever gets an IPv6 address.
            sh(["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"], ns=ns)
            sh(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"], ns=ns)
            sh(["ip", "link", "set", "lo", "up"], ns=ns)
        # Created from the bridge namespace, each peer straight in its host's.
        sh(["ip", "-n", self.br_ns, "link", "add", self.br_a, "type", "veth", "peer", "name",
            self.a_if, "netns", self.a_ns])
        sh(["ip", "-n", self.br_ns, "link", "add", self.br_b, "type", "veth", "peer", "name",
            self.b_if, "netns", self.b_ns])
        for ns, ifn in ((self.br_ns, self.br_a), (self.br_ns, self.br_b), (self.a_ns, self.a_if),
                        (self.b_ns, self.b_if)):
            sh(["ethtool", "-K", ifn, "tx", "off", "rx", "off", "tso", "off", "gso", "off",
                "gro", "off"], ns=ns)
            sh(["ip", "link", "set", ifn, "up"], ns=ns)
        sh(["ip", "addr", "add", self.a_addr + "/24", "dev", self.a_if], ns=self.a_ns)
        sh(["ip", "addr", "add", self.b_addr + "/24", "dev", self.b_if], ns=self.b_ns)
        if static_neigh:
            sh(["ip", "neigh", "replace", self.b_addr, "lladdr", self.b_mac(), "dev", self.a_if,
                "nud", "permanent"], ns=self.a_ns)
            sh(["ip", "neigh", "replace", self.a_addr, "lladdr", self.a_mac(), "dev", self.b_if,
                "nud", "permanent"], ns=self.b_ns)

    def a_mac(self):
        return netns._mac(self.a_ns, self.a_if)

    def b_mac(self):
        return netns._mac(self.b_ns, self.b_if)

    # --- wc-impair --------------------------------------------------------

    def start(self, seed=1, lifetime=120, **params):
        """(Re)start wc-impair with @p params; returns its netns.Server.

        Counters start from zero. @p lifetime bounds the process (seconds).
        """
        if self.server is not None:
            self.stop()
        if not self.path or not os.access(self.path, os.X_OK):
            raise RuntimeError("no wc-impair binary (set WC_IMPAIR or pass --impair)")
        self.params = dict(params, seed=seed)
        argv = ["timeout", "-s", "INT", "-k", "10", str(lifetime + 30), self.path, "--a",
                self.br_a, "--b", self.br_b, "--seed", str(seed), "--lifetime", str(lifetime),
                "--json"] + impair_argv(params)
        self.final = None
        self.server = netns.Server(self, argv, "wc-impair")
        self.server.wait_line(r"^wc-impair: ready", timeout=10)
        return self.server

    def _stats_lines(self):
        return [ln for ln in self.server.lines if STATS_RX.match(ln)]

    def _impair_pid(self):
        """wc-impair's own pid (the Server's process is `timeout`)."""
        pid = self.server.proc.pid
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                kids = f.read().split()
        except OSError:
            return None
        return int(kids[0]) if kids else None

    def stats(self, timeout=5):
        """Counters of the running wc-impair (SIGUSR1), as a dict."""
        if self.server is None:
            raise RuntimeError("wc-impair is not running")
        before = len(self._stats_lines())
        pid = self._impair_pid()
        if pid is None:
            raise RuntimeError("wc-impair has exited:\n" + self.server.output_tail())
        os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.server._cv:
                lines = self._stats_lines()
                if len(lines) > before:
                    return json.loads(lines[-1])
                self.server._cv.wait(0.1)
        raise RuntimeError("wc-impair printed no counters:\n" + self.server.output_tail())

    def stop(self):
        """Stop wc-impair (SIGINT); return its final counters as a dict."""
        if self.server is None:
            return self.final
        server, self.server = self.server, None
        status = server.stop()
        if server in netns._live:
            netns._live.remove(server)
        finals = [ln for ln in server.lines if FINAL_RX.match(ln)]
        if status != 0 or not finals:
            raise RuntimeError("wc-impair exit status %s:\n%s" % (status, server.output_tail()))
        self.final = json.loads(finals[-1])
        return self.final

    def output(self):
        return self.server.output() if self.server else ""

    # --- the hosts --------------------------------------------------------

    def in_a(self):
        """Context manager: this thread in namespace A (sockets made inside stay there)."""
        return netns.netns(self.a_ns)

    def in_b(self):
        return netns.netns(self.b_ns)

    def run_a(self, cmd, **kw):
        """Run a command in namespace A; returns its stdout."""
        return sh(cmd, ns=self.a_ns, **kw)

    def run_b(self, cmd, **kw):
        return sh(cmd, ns=self.b_ns, **kw)

    def popen_a(self, cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.a_ns] + list(cmd), **kw)

    def popen_b(self, cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.b_ns] + list(cmd), **kw)

    def close(self):
        """Stop wc-impair and remove the namespaces (idempotent)."""
        if self.server is not None:
            server, self.server = self.server, None
            server.close()
        while self._namespaces:
            subprocess.run(["ip", "netns", "del", self._namespaces.pop()], capture_output=True)
        if self in netns._live:
            netns._live.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextlib.contextmanager
def impaired(**kw):
    """`with impaired(loss=5, seed=1) as net:` -- an ImpairNet, closed after."""
    net = ImpairNet(**kw)
    try:
        yield net
    finally:
        net.close()


def _main():
    """Manual use: `impairnet.py shell [wc-impair options as key=value ...]`
    brings the link up and opens a shell in namespace A."""
    import argparse
    ap = argparse.ArgumentParser(description=_main.__doc__)
    ap.add_argument("what", choices=["shell"])
    ap.add_argument("--impair")
    ap.add_argument("--net", type=int, default=DEFAULT_NET)
    ap.add_argument("params", nargs="*", help="e.g. loss=5 delay=50 a2b_reorder=25")
    a = ap.parse_args()
    netns.require()
    params = dict(p.split("=", 1) for p in a.params)
    with ImpairNet(net=a.net, path=a.impair, **params) as net:
        netns.log("A %s (%s) <-> B %s (%s) through wc-impair in %s" %
                  (net.a_ns, net.a_addr, net.b_ns, net.b_addr, net.br_ns))
        subprocess.run(["ip", "netns", "exec", net.a_ns, os.environ.get("SHELL", "bash")])
        netns.log("counters: %s" % json.dumps(net.stop()))


if __name__ == "__main__":
    _main()
