#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Network-namespace harness for wirecache's end-to-end tests.

A Topology is two fresh namespaces joined by a veth pair:

    srv namespace                         cli namespace
    +--------------------------+          +----------------------------+
    | wcs0 (no IP, IPv6 off)   |<-------->| wcc0 10.200.X.2/24         |
    |  wirecached on           |   veth   |  clients, tcpdump, scapy   |
    |  net_af_packet0          |          |                            |
    +--------------------------+          +----------------------------+

The appliance answers at 10.200.X.1. With a memcached peer instead, wcs0
carries 10.200.X.1/24 itself and memcached binds to it.

Everything the harness creates (namespaces, servers) is registered and
removed at exit, on SIGINT/SIGTERM/SIGHUP and when a Topology is closed, so
a failing test never leaves hosts behind. Servers run under `timeout` and
with --lifetime, so even a SIGKILLed harness leaves nothing running for
long. Names carry the harness's pid, so several test runs can share the
machine.

Traffic rule: addresses come from 10.200.0.0/16 only, and the root namespace
gets `unreachable 10.200.0.0/16`, so a client started outside the test's
namespaces by mistake fails at once instead of leaving the machine.
"""

import atexit
import contextlib
import glob
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLONE_NEWNET = 0x40000000
SKIP = 77  # meson's exit status for a skipped test

_libc = ctypes.CDLL(None, use_errno=True)
_live = []  # objects with a close() method, closed in reverse order at exit
_seq = [0]


def log(*args):
    print("[e2e]", *args, flush=True)


def sh(cmd, ns=None, check=True, timeout=60, capture=True, input=None):
    """Run @p cmd (list or str for bash -c), inside namespace @p ns if given.

    Returns stdout as text. Raises RuntimeError with stderr when @p check and
    the command fails.
    """
    if isinstance(cmd, str):
        cmd = ["bash", "-c", cmd]
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    p = subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s%s" %
                           (p.returncode, " ".join(cmd), p.stdout or "", p.stderr or ""))
    return p.stdout if capture else ""


def require(tools=("ip", "ethtool")):
    """Exit with meson's skip status unless we are root and @p tools exist."""
    if os.geteuid() != 0:
        log("SKIP: end-to-end tests need root (network namespaces)")
        sys.exit(SKIP)
    for t in tools:
        if not shutil.which(t):
            log("SKIP: %s is not installed" % t)
            sys.exit(SKIP)


def guard_root_namespace():
    """Make 10.200.0.0/16 unreachable from the root namespace (idempotent)."""
    p = subprocess.run(["ip", "route", "add", "unreachable", "10.200.0.0/16"],
                       capture_output=True, text=True)
    if p.returncode != 0 and "exists" not in p.stderr:
        raise RuntimeError("cannot add the unreachable route: " + p.stderr)


def cleanup_all():
    while _live:
        obj = _live.pop()
        try:
            obj.close()
        except Exception as e:  # keep cleaning the rest
            log("cleanup:", e)


def _on_signal(signum, frame):
    # Become a normal exit so `finally` blocks and atexit run.
    raise SystemExit(128 + signum)


atexit.register(cleanup_all)
for _s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_s, _on_signal)


@contextlib.contextmanager
def netns(name):
    """Run the body with this thread in namespace @p name.

    Sockets created inside keep that namespace after the body ends, so a
    test process can talk from the client namespace without re-executing
    itself there.
    """
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns(%s): %s" % (name, os.strerror(e)))
        try:
            yield
        finally:
            if _libc.setns(home, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, "setns(back): " + os.strerror(e))
    finally:
        os.close(target)
        os.close(home)


def _mac(ns, ifname):
    out = sh(["ip", "-o", "link", "show", "dev", ifname], ns=ns)
    m = re.search(r"link/ether ([0-9a-f:]{17})", out)
    return m.group(1)


class Topology:
    """A server namespace and a client namespace joined by one veth pair."""

    def __init__(self, net=None, server_ip=False, tag="t"):
        """@p net: third octet of 10.200.net.0/24 (default from the pid).

        @p server_ip: give the srv end 10.200.net.1/24 (for a kernel-stack
        peer such as memcached); wirecached wants it unaddressed.
        """
        _seq[0] += 1
        n = _seq[0]
        pid = os.getpid()
        self.srv = "wcs-%s%d-%d" % (tag, pid, n)
        self.cli = "wcc-%s%d-%d" % (tag, pid, n)
        self.srv_if = "wcs0"
        self.cli_if = "wcc0"
        self.net = net if net is not None else 1 + (pid + n) % 250
        self.server_addr = "10.200.%d.1" % self.net
        self.client_addr = "10.200.%d.2" % self.net
        self.prefix = "10.200.%d.0/24" % self.net
        self._up = False
        _live.append(self)
        try:
            self._create(server_ip)
        except BaseException:
            self.close()
            raise

    def _create(self, server_ip):
        guard_root_namespace()
        sh(["ip", "netns", "add", self.srv])
        self._up = True
        sh(["ip", "netns", "add", self.cli])
        # Created inside the namespaces: no name clash in the root namespace.
        sh(["ip", "-n", self.srv, "link", "add", self.srv_if, "type", "veth", "peer", "name",
            self.cli_if, "netns", self.cli])
        for ns, ifn in ((self.srv, self.srv_if), (self.cli, self.cli_if)):
            sh(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % ifn], ns=ns)
            sh(["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"], ns=ns)
            # An AF_PACKET port would otherwise see partial checksums and
            # 64 KB GSO frames from the kernel peer.
            sh(["ethtool", "-K", ifn, "tx", "off", "rx", "off", "tso", "off", "gso", "off",
                "gro", "off"], ns=ns)
            sh(["ip", "link", "set", "lo", "up"], ns=ns)
        if server_ip:
            sh(["ip", "addr", "add", self.server_addr + "/24", "dev", self.srv_if], ns=self.srv)
        sh(["ip", "link", "set", self.srv_if, "up"], ns=self.srv)
        sh(["ip", "addr", "add", self.client_addr + "/24", "dev", self.cli_if], ns=self.cli)
        sh(["ip", "link", "set", self.cli_if, "up"], ns=self.cli)

    def srv_mac(self):
        return _mac(self.srv, self.srv_if)

    def cli_mac(self):
        return _mac(self.cli, self.cli_if)

    def in_cli(self):
        """Context manager: this thread in the client namespace."""
        return netns(self.cli)

    def run_cli(self, cmd, **kw):
        """Run a command in the client namespace; returns its stdout."""
        return sh(cmd, ns=self.cli, **kw)

    def popen_cli(self, cmd, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.cli] + list(cmd), **kw)

    def close(self):
        if not self._up:
            return
        self._up = False
        for ns in (self.cli, self.srv):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        if self in _live:
            _live.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TapTopology:
    """One namespace holding wirecached on a net_tap port and the clients.

    The tap's kernel side (wct0, 10.200.X.2/24) lives in the namespace the
    process runs in; frames written to it with an AF_PACKET socket reach
    the port untouched. (An af_packet port cannot be shown IP fragments: the
    PMD joins a PACKET_FANOUT group with the defrag flag, so the kernel
    reassembles them first.) This is also the layout tools/run uses.
    """

    def __init__(self, net=None, tag="tap"):
        _seq[0] += 1
        n = _seq[0]
        pid = os.getpid()
        self.srv = self.cli = "wct-%s%d-%d" % (tag, pid, n)
        self.srv_if = None
        self.cli_if = "wct0"
        self.net = net if net is not None else 1 + (pid + n) % 250
        self.server_addr = "10.200.%d.1" % self.net
        self.client_addr = "10.200.%d.2" % self.net
        self._up = False
        _live.append(self)
        guard_root_namespace()
        sh(["ip", "netns", "add", self.srv])
        self._up = True
        sh(["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"], ns=self.srv)
        sh(["ip", "link", "set", "lo", "up"], ns=self.srv)

    def vdev(self):
        return "--vdev=net_tap0,iface=%s" % self.cli_if

    def configure(self):
        """Address the tap's kernel side once the port created it."""
        for _ in range(100):
            if subprocess.run(["ip", "-n", self.cli, "link", "show", self.cli_if],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        sh(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % self.cli_if], ns=self.cli)
        # DPDK's tap PMD gives the kernel side the port's own MAC; the
        # appliance rightly ignores ARP from "itself" (a looped-back
        # announcement), so the kernel side needs a MAC of its own.
        sh(["ip", "link", "set", self.cli_if, "address", "02:00:0a:c8:%02x:02" % self.net],
           ns=self.cli)
        sh(["ip", "addr", "add", self.client_addr + "/24", "dev", self.cli_if], ns=self.cli)
        sh(["ip", "link", "set", self.cli_if, "up"], ns=self.cli)

    def cli_mac(self):
        return _mac(self.cli, self.cli_if)

    def srv_mac(self):
        """The port's MAC, as ARP resolved it (after some traffic)."""
        out = sh(["ip", "neigh", "show", self.server_addr], ns=self.cli)
        m = re.search(r"lladdr ([0-9a-f:]{17})", out)
        return m.group(1) if m else None

    def in_cli(self):
        return netns(self.cli)

    def run_cli(self, cmd, **kw):
        return sh(cmd, ns=self.cli, **kw)

    def close(self):
        if not self._up:
            return
        self._up = False
        subprocess.run(["ip", "netns", "del", self.srv], capture_output=True)
        if self in _live:
            _live.remove(self)


class Server:
    """A server process inside a Topology's srv namespace.

    Its output (stdout and stderr) is collected by a thread; ready() waits
    for a line or a probe.
    """

    def __init__(self, topo, argv, name):
        self.topo = topo
        self.name = name
        self.lines = []
        self._cv = threading.Condition()
        self.proc = subprocess.Popen(["ip", "netns", "exec", topo.srv] + argv,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, errors="replace",
                                     start_new_session=True)
        _live.append(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        log("%s started (pid %d): %s" % (name, self.proc.pid, " ".join(argv)))

    def _read(self):
        for line in self.proc.stdout:
            with self._cv:
                self.lines.append(line.rstrip("\n"))
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def output(self):
        with self._cv:
            return "\n".join(self.lines)

    def wait_line(self, pattern, timeout=60):
        """Wait for an output line matching regex @p pattern; return it."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for line in self.lines:
                    if rx.search(line):
                        return line
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise RuntimeError("%s exited (status %s) before ready:\n%s" %
                                       (self.name, self.proc.returncode, self.output_tail()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("%s not ready after %ds:\n%s" %
                                       (self.name, timeout, self.output_tail()))
                self._cv.wait(min(left, 0.2))

    def output_tail(self, n=40):
        with self._cv:
            return "\n".join(self.lines[-n:])

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=20):
        """SIGINT the server; return its exit status (None if it had to be killed)."""
        if self.proc.poll() is None:
            # The process group: `ip netns exec` execs, `timeout` forwards.
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
                self._reader.join(2)
                return None
        self._reader.join(5)
        return self.proc.returncode

    def close(self):
        if self in _live:
            _live.remove(self)
        self.stop()


def wirecached_path():
    """The wirecached binary: $WIRECACHED, --wirecached PATH, or build dirs."""
    for i, a in enumerate(sys.argv):
        if a == "--wirecached" and i + 1 < len(sys.argv):
            return os.path.abspath(sys.argv[i + 1])
        if a.startswith("--wirecached="):
            return os.path.abspath(a.split("=", 1)[1])
    if os.environ.get("WIRECACHED"):
        return os.environ["WIRECACHED"]
    for d in ("build-e2e", "build-ci", "build", "build-run"):
        p = os.path.join(ROOT, d, "dataplane", "wirecached")
        if os.access(p, os.X_OK):
            return p
    return None


class Hugepages:
    """Reserve @p pages 2 MB pages and mount a private hugetlbfs.

    The mount reserves its pages (hugetlbfs min_size): a dataplane that is
    stopped and started again finds them still ours, not taken by another
    DPDK program in between.
    """

    def __init__(self, pages):
        self.added = 0
        self.dir = None
        self.mounted = False
        _live.append(self)
        try:
            with open("/proc/sys/vm/nr_hugepages") as f:
                old = int(f.read())
            free = self._free()
            if free < pages:
                with open("/proc/sys/vm/nr_hugepages", "w") as f:
                    f.write(str(old + pages - free))
                with open("/proc/sys/vm/nr_hugepages") as f:
                    self.added = int(f.read()) - old
            self.dir = tempfile.mkdtemp(prefix="wc-huge-")
            subprocess.run(["mount", "-t", "hugetlbfs", "-o",
                            "pagesize=2M,min_size=%dM" % (2 * pages), "nodev", self.dir],
                           check=True, capture_output=True)
            self.mounted = True
        except (OSError, subprocess.CalledProcessError) as e:
            log("hugepages unavailable:", e)
        self.ok = self.mounted

    @staticmethod
    def _free():
        """Free pages nobody reserved (HugePages_Free counts reserved ones)."""
        with open("/proc/meminfo") as f:
            text = f.read()
        return (int(re.search(r"HugePages_Free:\s+(\d+)", text).group(1)) -
                int(re.search(r"HugePages_Rsvd:\s+(\d+)", text).group(1)))

    def used(self):
        """Bytes of hugepages held by files in our mount: the process's."""
        total = 0
        for p in glob.glob(os.path.join(self.dir, "*")):
            try:
                total += os.stat(p).st_blocks * 512
            except FileNotFoundError:
                pass
        return total

    def close(self):
        if self in _live:
            _live.remove(self)
        if self.mounted:
            subprocess.run(["umount", self.dir], capture_output=True)
            self.mounted = False
        if self.dir:
            try:
                os.rmdir(self.dir)
            except OSError:
                pass
            self.dir = None
        if self.added:
            with open("/proc/sys/vm/nr_hugepages") as f:
                cur = int(f.read())
            with open("/proc/sys/vm/nr_hugepages", "w") as f:
                f.write(str(max(0, cur - self.added)))
            self.added = 0


def start_wirecached(topo, opts=(), lifetime=240, path=None, timeout=60, eal=(), lcores="0",
                     vdev_args="", huge=None, prefix=None, pmd="net_af_packet"):
    """Start wirecached on the srv end of @p topo and wait until it serves.

    @p lcores: EAL's -l list (each lcore a worker with its own queue, e.g.
    "0,1"); @p vdev_args: more ",key=value" arguments of the port's vdev
    (e.g. "qpairs=2" for two af_packet queues, one per worker); @p huge: a
    Hugepages whose mount EAL's memory comes from, with shared memory on, so
    wirecache-mgmt can attach (DPDK secondaries need hugepages) under
    @p prefix (EAL's --file-prefix; default unique per process and topology).
    @p pmd: the driver on the veth end, "net_af_packet" or "net_af_xdp" (one
    queue; the kernel's generic XDP on a veth).
    """
    path = path or wirecached_path()
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("no wirecached binary (set WIRECACHED or pass --wirecached)")
    prefix = prefix or "wc%d%s" % (os.getpid(), topo.srv.rsplit("-", 1)[1])
    if huge is not None:
        mem = ["--huge-dir", huge.dir]
    else:
        mem = ["--no-huge", "-m", "512", "--no-shconf"]
    argv = ["timeout", "-s", "INT", "-k", "10", str(lifetime + 60), path,
            "-l", lcores] + mem + ["--no-pci", "--no-telemetry", "--file-prefix", prefix]
    if isinstance(topo, TapTopology):
        vdev = topo.vdev()
    elif pmd == "net_af_xdp":
        vdev = "--vdev=net_af_xdp0,iface=%s,start_queue=0,queue_count=1" % topo.srv_if
    else:
        vdev = "--vdev=net_af_packet0,iface=%s" % topo.srv_if
    if vdev_args:
        vdev += "," + vdev_args
    argv.append(vdev)
    argv += list(eal)
    argv += ["--", "--ip", topo.server_addr + "/24", "--lifetime", str(lifetime)]
    argv += list(opts)
    s = Server(topo, argv, "wirecached")
    s.wait_line(r"^wirecached: ready", timeout=timeout)
    if isinstance(topo, TapTopology):
        topo.configure()
    return s


def _tcp_version(topo, port):
    """True when a server answers `version` over TCP at topo's server."""
    try:
        with topo.in_cli():
            c = socket.create_connection((topo.server_addr, port), timeout=0.5)
        with c:
            c.sendall(b"version\r\n")
            return c.recv(64).startswith(b"VERSION")
    except OSError:
        return False


def start_memcached(topo, opts=(), lifetime=240, timeout=20, port=11211, tcp=False):
    """Start Debian's memcached on the srv end of @p topo (which must have
    been made with server_ip=True), UDP only or with @p tcp TCP only, and
    wait until it answers."""
    ports = ["-p", str(port), "-U", "0"] if tcp else ["-U", str(port), "-p", "0"]
    argv = ["timeout", "-s", "INT", "-k", "10", str(lifetime), "memcached"] + ports + [
        "-l", topo.server_addr, "-u", "root"] + list(opts)
    s = Server(topo, argv, "memcached")
    if tcp:
        deadline = time.monotonic() + timeout
        while not _tcp_version(topo, port):
            if not s.alive():
                raise RuntimeError("memcached exited:\n" + s.output_tail())
            if time.monotonic() > deadline:
                raise RuntimeError("memcached not answering:\n" + s.output_tail())
            time.sleep(0.1)
        return s
    import mcudp  # local import: netns.py is usable without it
    deadline = time.monotonic() + timeout
    with topo.in_cli():
        c = mcudp.Client(topo.server_addr, port, timeout=0.2, retries=0)
    try:
        while True:
            if not s.alive():
                raise RuntimeError("memcached exited:\n" + s.output_tail())
            try:
                if c.request(b"version\r\n").startswith(b"VERSION"):
                    return s
            except mcudp.Timeout:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("memcached not answering:\n" + s.output_tail())
    finally:
        c.close()


def start_server(kind, topo, opts=(), lifetime=240):
    if kind == "memcached":
        return start_memcached(topo, lifetime=lifetime)
    return start_wirecached(topo, opts, lifetime=lifetime)


def server_kind():
    """--peer memcached runs a test against memcached to check expectations."""
    for i, a in enumerate(sys.argv):
        if a == "--peer" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if a.startswith("--peer="):
            return a.split("=", 1)[1]
    return os.environ.get("WC_E2E_PEER", "wirecached")


def _main():
    """Manual use: `netns.py shell [memcached|wirecached]` brings up a topology
    and a server, then opens a shell in the client namespace."""
    import argparse
    ap = argparse.ArgumentParser(description=_main.__doc__)
    ap.add_argument("what", choices=["shell"])
    ap.add_argument("kind", nargs="?", default="wirecached")
    ap.add_argument("--wirecached")
    ap.add_argument("opts", nargs="*")
    a = ap.parse_args()
    require()
    topo = Topology(server_ip=(a.kind == "memcached"))
    srv = start_server(a.kind, topo, a.opts)
    log("server at %s:11211 in %s; client namespace %s" % (topo.server_addr, topo.srv, topo.cli))
    subprocess.run(["ip", "netns", "exec", topo.cli, os.environ.get("SHELL", "bash")])
    log("%s exit status %s" % (srv.name, srv.stop()))


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    _main()
