#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""wirectl, the operator CLI, against the real wirecache-mgmt attached to a
real wirecached (two lcores, one af_packet queue each, on 2 MB hugepages of
the test's own), as an operator would run it.

  usage            bad command lines: exit 2 and one line on stderr
  no_mgmt          no socket, a file that is not a socket, a stale socket, one
                   the user may not use: exit 3 naming the path and why
  list_options     --list-options (completion's fallback) is the options table
  dataplane_down   mgmt up, no wirecached yet: status says DOWN and exits 4,
                   stats exits 4 with mgmt's reason
  status           healthy, the dataplane's pid, both lcores and the port
  completion       bash completion: commands, config subcommands, option names
                   from mgmt and, with mgmt away, from --list-options
  stats            a known workload (25 sets, 100 gets, 40 hits) in the
                   totals and the lcore and partition rows; --json exactly
  ports            the port's link and packet counters
  partitions       items and memory per partition
  config_get       the options table with live values; one option; unknown
  config_set       a runtime change shows in config get; refused values,
                   start-only and mgmt-only options exit 1 with the reason
  config_rewrite   the live value lands in mgmt's config file
  flush            the cache is empty after it
  log              mgmt's own lines and the dataplane's, human and --json
  top_snapshot     not on a terminal: one plain snapshot of rates under load
  top_tmux         the ncurses screen in tmux: header, lcore rows whose
                   rates move under load, resize, q quits with status 0
  top_mgmt_gone    mgmt stops: top says so and retries; mgmt back: top too
  dataplane_gone   wirecached stops: top shows DOWN and since when and stays;
                   status, stats and a top snapshot exit 4

    test_wirectl.py [--wirecached PATH] [--only CASE,...]
    (wirectl and wirecache-mgmt are taken from wirecached's build tree, or
     $WIRECTL and $WIRECACHE_MGMT)
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcudp  # noqa: E402
import netns  # noqa: E402
import runner  # noqa: E402
import shmem  # noqa: E402
from runner import check, eq  # noqa: E402

NET = 63  # 10.200.63.0/24
PAGES = 128  # 32m of items, their indexes, 4095 mbufs, two queues and EAL's own
LIMIT = "32m"  # the store wants 12 MiB a partition at least
LIFETIME = 150
LCORES = ["0", "1"]

cases = runner.Cases()
case = cases.add


def build_path(env, rel):
    if os.environ.get(env):
        return os.environ[env]
    wc = netns.wirecached_path()
    if wc:
        return os.path.join(os.path.dirname(os.path.dirname(wc)), rel)
    return None


def config_names():
    """Option names of the WC_OPTIONS table in mgmt/config.h."""
    with open(os.path.join(netns.ROOT, "mgmt", "config.h")) as f:
        text = f.read()
    body = re.search(r"#define WC_OPTIONS\(X\)(.*?)\n\n", text, re.S).group(1)
    return re.findall(r"X\(\w+,\s*\"([^\"]+)\"", body)


class Load:
    """Memcached UDP traffic from the client namespace until stopped."""

    def __init__(self, topo):
        with topo.in_cli():
            # Several source ports: RSS spreads them over the queues.
            self.cs = [mcudp.Client(topo.server_addr, timeout=0.5, retries=0)
                       for _ in range(4)]
        self.stop_ev = threading.Event()
        self.n = 0
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        i = 0
        while not self.stop_ev.is_set():
            c = self.cs[i % len(self.cs)]
            try:
                # 32 keys set in turn, gets over 48: about two in three hit.
                if i % 4 == 0:
                    c.set("load:%d" % (i // 4 % 32), "x" * 32)
                else:
                    c.get("load:%d" % (i % 48))
                self.n += 1
            except (mcudp.Timeout, OSError):
                pass
            i += 1

    def stop(self):
        self.stop_ev.set()
        self.t.join(5)
        for c in self.cs:
            c.close()


class Ctx:
    def __init__(self):
        self.wirectl = build_path("WIRECTL", "mgmt/ctl/wirectl")
        self.mgmt_path = build_path("WIRECACHE_MGMT", "mgmt/daemon/wirecache-mgmt")
        for p in (self.wirectl, self.mgmt_path):
            if not p or not os.access(p, os.X_OK):
                raise RuntimeError("missing %s (build wirectl and wirecache-mgmt)" % p)
        self.tmp = tempfile.mkdtemp(prefix="wc-wirectl-")
        self.sock = os.path.join(self.tmp, "mgmt.sock")
        self.logfile = os.path.join(self.tmp, "wirecache.log")
        self.conf = os.path.join(self.tmp, "wirecache.conf")
        self.prefix = "wcctl%d" % os.getpid()
        with open(self.conf, "w") as f:
            f.write("# written by test_wirectl\n[wirecache]\nmemory-limit = %s\n" % LIMIT)
        self.tmux = "wirectl%d" % os.getpid()
        self.srv = None
        self.mgmt = None
        try:
            self.huge = netns.Hugepages(PAGES)
            if not self.huge.ok:
                raise RuntimeError("no 2 MB hugepages to be had: a DPDK secondary needs them")
            self.topo = netns.Topology(net=NET, tag="ctl")
            self.start_mgmt()
        except BaseException:
            self.cleanup()
            raise

    def start_mgmt(self):
        # In the server namespace: its metrics port clashes with no one's.
        argv = ["timeout", "-s", "INT", "-k", "10", str(LIFETIME + 30), self.mgmt_path,
                "--config", self.conf, "--file-prefix", self.prefix, "--mgmt-socket", self.sock,
                "--metrics-listen", "127.0.0.1:9712", "--log-file", self.logfile,
                "--lifetime", str(LIFETIME)]
        self.mgmt = netns.Server(self.topo, argv, "wirecache-mgmt")
        self.mgmt.wait_line(r"wirecache-mgmt: ready", timeout=20)

    def dataplane(self):
        """wirecached, started on first use, with mgmt attached to it."""
        if self.srv is None:
            self.srv = netns.start_wirecached(self.topo, opts=["--memory-limit", LIMIT,
                                                               "--mbufs", "4095"],
                                              lifetime=LIFETIME, huge=self.huge,
                                              prefix=self.prefix, lcores=",".join(LCORES),
                                              vdev_args="qpairs=%d" % len(LCORES))
            with self.topo.in_cli():
                self.c = mcudp.Client(self.topo.server_addr, timeout=2.0, retries=1)
            deadline = time.monotonic() + 20
            while True:
                p = self.run("--json", "status")
                if p.returncode == 0 and json.loads(p.stdout)["dataplane"]["attached"]:
                    break
                if time.monotonic() > deadline:
                    raise runner.Fail("mgmt did not attach: %s %s\n%s" %
                                      (p.stdout, p.stderr, self.mgmt.output_tail()))
                time.sleep(0.2)
        return self.srv

    def run(self, *args, sock=True, env=None, timeout=20):
        argv = [self.wirectl] + (["--socket", self.sock] if sock else []) + list(args)
        e = dict(os.environ)
        e.pop("WIRECACHE_SOCKET", None)
        e.update(env or {})
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=e)

    def ok(self, *args):
        p = self.run(*args)
        if p.returncode != 0:
            raise runner.Fail("wirectl %s: exit %d\n%s%s" % (" ".join(args), p.returncode,
                                                             p.stdout, p.stderr))
        eq(p.stderr, "", "wirectl %s: stderr" % " ".join(args))
        return p.stdout

    def json(self, *args):
        return json.loads(self.ok("--json", *args))

    def tmux_cmd(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.tmux] + list(args), capture_output=True,
                              text=True, timeout=10, check=check).stdout

    def on_failure(self):
        if self.srv is not None and not self.srv.alive():
            print("  wirecached died:\n  " + self.srv.output_tail().replace("\n", "\n  "))
        if self.mgmt is not None:
            print("  wirecache-mgmt:\n  " + self.mgmt.output_tail(15).replace("\n", "\n  "))

    def cleanup(self):
        subprocess.run(["tmux", "-L", self.tmux, "kill-server"], capture_output=True)
        netns.cleanup_all()
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def failed(p, status, stderr_re, what):
    """@p p exited @p status with one stderr line, matching @p stderr_re."""
    eq(p.returncode, status, "%s: exit status (stderr %r)" % (what, p.stderr))
    lines = p.stderr.splitlines()
    check(len(lines) == 1 and lines[0].startswith("wirectl: ") and
          re.search(stderr_re, lines[0]),
          "%s: stderr %r does not match %r" % (what, p.stderr, stderr_re))


def col(text, label, first):
    """The cell under right-aligned column @p label in the row starting with @p first."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.search(r"(^|  )%s(  |$)" % re.escape(label), line):
            end = line.index(label) + len(label)
            for r in lines[i + 1:]:
                if r.split()[:1] == [str(first)]:
                    return r[:end].split()[-1]
    raise runner.Fail("no column %r row %r in:\n%s" % (label, first, text))


def row(text, first):
    """The cells of the table row whose first cell is @p first."""
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] == str(first):
            return cells
    raise runner.Fail("no row %r in:\n%s" % (first, text))


@case
def usage(x):
    for args, pattern in [([], r"no command"),
                          (["frobnicate"], r"unknown command 'frobnicate'"),
                          (["--bogus", "status"], r"unknown option '--bogus'"),
                          (["config"], r"get, set or rewrite"),
                          (["config", "set", "evict"], r"config set takes NAME VALUE"),
                          (["config", "get", "a", "b"], r"at most one NAME"),
                          (["flush", "soon"], r"DELAY in whole seconds"),
                          (["log", "0"], r"line count"),
                          (["log", "1001"], r"line count"),
                          (["status", "extra"], r"takes no arguments"),
                          (["top", "--json"], r"no --json"),
                          (["stats", "--iterations", "2"], r"option of top"),
                          (["--socket"], r"needs a PATH")]:
        p = x.run(*args, sock=False)
        failed(p, 2, pattern, "wirectl %s" % " ".join(args))
    for args in (["help"], ["--help"], ["status", "-h"]):
        p = x.run(*args, sock=False)
        eq(p.returncode, 0, "wirectl %s" % " ".join(args))
        check("usage: wirectl" in p.stdout and "config set NAME VALUE" in p.stdout,
              "help text: %r" % p.stdout[:300])
    p = x.run("--version", sock=False)
    eq((p.returncode, p.stdout), (0, "wirectl %s\n" % shmem.WC_VERSION), "--version")


@case
def no_mgmt(x):
    missing = os.path.join(x.tmp, "nothing.sock")
    p = x.run("--socket", missing, "status", sock=False)
    failed(p, 3, r"no socket at %s: wirecache-mgmt is not running there" % re.escape(missing),
           "missing socket")
    # The environment names the socket when --socket does not; --socket wins.
    p = x.run("stats", sock=False, env={"WIRECACHE_SOCKET": missing})
    failed(p, 3, re.escape(missing), "WIRECACHE_SOCKET")
    p = x.run("--socket", missing, "--json", "stats", sock=False,
              env={"WIRECACHE_SOCKET": x.sock})
    failed(p, 3, re.escape(missing), "--socket over WIRECACHE_SOCKET")
    p = x.run("status", sock=False, env={"WIRECACHE_SOCKET": ""})
    failed(p, 3, r"/run/wirecache/mgmt\.sock", "the options table's default")

    regular = os.path.join(x.tmp, "regular")
    with open(regular, "w") as f:
        f.write("not a socket\n")
    p = x.run("status", "--socket", regular, sock=False)
    failed(p, 3, r"%s is not a socket" % re.escape(regular), "a regular file")

    stale = os.path.join(x.tmp, "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale)
    s.close()
    p = x.run("--socket=" + stale, "config", "get", sock=False)
    failed(p, 3, r"connection refused at %s: wirecache-mgmt is not running there" %
           re.escape(stale), "stale socket")
    eq(p.stdout, "", "nothing on stdout")

    # A socket only root may use, tried by nobody.
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if shutil.which("setpriv") and subprocess.run(nobody + [x.wirectl, "--version"],
                                                  capture_output=True).returncode == 0:
        d = tempfile.mkdtemp(prefix="wc-wirectl-perm-")
        os.chmod(d, 0o755)
        path = os.path.join(d, "mgmt.sock")
        s = socket.socket(socket.AF_UNIX)
        try:
            s.bind(path)
            s.listen(1)
            os.chmod(path, 0o600)
            p = subprocess.run(nobody + [x.wirectl, "--socket", path, "status"],
                               capture_output=True, text=True, timeout=20)
        finally:
            s.close()
            shutil.rmtree(d, ignore_errors=True)
        failed(p, 3, r"no permission to connect to %s .*group" % re.escape(path),
               "a socket nobody may not use")
    else:
        print("  (permission check left out: wirectl cannot run as nobody here)")


@case
def list_options(x):
    p = x.run("--list-options", sock=False)
    eq(p.returncode, 0, "exit status")
    eq(p.stdout.split(), config_names(), "--list-options")


@case
def dataplane_down(x):
    if x.srv is not None:
        raise runner.Fail("wirecached already runs (run this case before the others)")
    p = x.run("status")
    eq(p.returncode, 4, "status exit status: %s" % p.stderr)
    check(re.search(r"^health\s+DOWN", p.stdout, re.M), "health DOWN in:\n" + p.stdout)
    check(re.search(r"^dataplane\s+not attached", p.stdout, re.M), "not attached:\n" + p.stdout)
    p = x.run("--json", "status")
    eq(p.returncode, 4, "status --json exit status")
    d = json.loads(p.stdout)
    eq((d["health"], d["dataplane"]["attached"]), ("down", False), "status --json")
    for args in (["stats"], ["--json", "ports"], ["config", "set", "evict", "off"]):
        p = x.run(*args)
        failed(p, 4, r"\w", "wirectl %s" % " ".join(args))
        eq(p.stdout, "", "nothing on stdout")


@case
def status(x):
    x.dataplane()
    out = x.ok("status")
    check(re.search(r"^health\s+healthy$", out, re.M), "healthy in:\n" + out)
    check(re.search(r"^version\s+%s \(contract version %d\)$" %
                    (re.escape(shmem.WC_VERSION), shmem.CONTRACT), out, re.M), "version:\n" + out)
    check(re.search(r"^dataplane\s+attached: pid \d+, up (\d+s|\d+m \d+s)", out, re.M),
          "dataplane line:\n" + out)
    check(re.search(r"^\s+wirecached 0\.1\.0, running, 2 workers$", out, re.M),
          "wirecached line:\n" + out)
    check(re.search(r"file prefix %s" % x.prefix, out), "file prefix:\n" + out)
    eq(row(out, "LCORE"), ["LCORE", "ID", "SOCKET", "STATE", "HEARTBEAT"], "lcore header")
    for i in LCORES:
        eq(row(out, i)[:4], [i, i, "0", "running"], "lcore %s row" % i)
    p = row(out, "PORT")
    eq(p, ["PORT", "NAME", "LINK", "SPEED"], "port header")
    check(re.search(r"^\s*0\s+net_af_packet0\s+up\b", out, re.M), "port 0 row:\n" + out)
    d = x.json("status")
    eq((d["health"], d["reasons"]), ("ok", []), "status --json")
    eq(d["dataplane"]["file_prefix"], x.prefix, "file_prefix")
    eq(d["mgmt"]["socket"], x.sock, "mgmt.socket")


def complete(x, words):
    """What bash completion offers for @p words (the last one being completed)."""
    script = ("source %s\n"
              "COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _wirectl\n"
              "printf '%%s\\n' \"${COMPREPLY[@]}\"\n" %
              (os.path.join(netns.ROOT, "mgmt", "ctl", "wirectl.bash-completion"),
               " ".join("'%s'" % w for w in words)))
    env = dict(os.environ, PATH=os.path.dirname(x.wirectl) + ":" + os.environ["PATH"])
    env.pop("WIRECACHE_SOCKET", None)
    p = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True,
                       timeout=20, env=env)
    eq(p.returncode, 0, "bash: %s" % p.stderr)
    return p.stdout.split()


@case
def completion(x):
    x.dataplane()  # option names from mgmt need the dataplane
    eq(complete(x, ["wirectl", ""]), ["status", "stats", "top", "config", "ports",
                                       "partitions", "flush", "log", "help"], "commands")
    eq(complete(x, ["wirectl", "--json", "p"]), ["ports", "partitions"], "p...")
    eq(complete(x, ["wirectl", "config", ""]), ["get", "set", "rewrite"], "config ...")
    names = config_names()
    eq(complete(x, ["wirectl", "--socket", x.sock, "config", "get", ""]), names,
       "names from mgmt")
    eq(complete(x, ["wirectl", "--socket", "/nonexistent", "config", "set", ""]), names,
       "names without mgmt")
    eq(complete(x, ["wirectl", "--socket", x.sock, "config", "set", "udp-o"]),
       ["udp-open", "udp-open-budget"], "udp-o...")
    eq(complete(x, ["wirectl", "config", "set", "evict", ""]), ["on", "off"], "a boolean")


@case
def stats(x):
    x.dataplane()
    before = x.json("stats")["totals"]
    keys = ["ctl:%d" % i for i in range(25)]
    for k in keys:
        eq(x.c.set(k, "value-" + k), b"STORED\r\n", "set " + k)
    hits = 0
    for k in keys[:20] * 2 + ["ctl:miss:%d" % i for i in range(60)]:
        hits += x.c.get(k) is not None
    eq(hits, 40, "hits seen by the client")
    d = x.json("stats")
    t = d["totals"]
    for name, n in (("mc_cmd_get", 100), ("mc_get_hits", 40), ("mc_get_misses", 60),
                    ("mc_cmd_set", 25)):
        eq(t[name] - before[name], n, "totals." + name)
    eq(t["curr_items"], 25, "totals.curr_items")
    eq(d["dataplane"]["workers"], 2, "workers")

    out = x.ok("stats")
    check(re.search(r"^dataplane\s+pid %d, up " % d["dataplane"]["pid"], out, re.M),
          "dataplane line:\n" + out)
    for name, n in (("mc_cmd_get", t["mc_cmd_get"]), ("mc_get_hits", t["mc_get_hits"]),
                    ("curr_items", 25), ("mem_limit", "32.0 MiB")):
        check(re.search(r"\b%s\s+%s(\s|$)" % (name, n), out, re.M),
              "totals %s %s in:\n%s" % (name, n, out))
    eq(re.findall(r"^(?:totals|per \w+)$", out, re.M),
       ["totals", "per lcore", "per partition", "per port"], "sections")
    check(re.search(r"^\s+0\s+net_af_packet0\s+net_af_packet\s", out.split("per port")[1],
                    re.M), "port row:\n" + out)
    for i, lcore in enumerate(d["lcores"]):
        lc = row(out.split("per lcore")[1], i)
        c = lcore["counters"]
        # LCORE ID SOCKET STATE HEARTBEAT(2 cells) RX TX GETS HITS MISSES SETS FORWARDED DROPS
        eq(lc[3], "running", "lcore state")
        eq(lc[8:13], [str(c[n]) for n in ("mc_cmd_get", "mc_get_hits", "mc_get_misses",
                                          "mc_cmd_set", "xcore_forwarded")],
           "lcore %d gets hits misses sets forwarded" % i)
    items = [int(row(out.split("per partition")[1], i)[2]) for i in range(len(LCORES))]
    eq(items, [p["curr_items"] for p in d["partitions"]], "items per partition")
    eq(sum(items), 25, "items")

    # --json is the server's data member as sent: compare with a raw request.
    s = socket.socket(socket.AF_UNIX)
    s.connect(x.sock)
    s.sendall(b'{"cmd":"ports"}\n')
    raw = b""
    while not raw.endswith(b"\n"):
        raw += s.recv(65536)
    s.close()
    p = x.run("--json", "ports")
    want = json.loads(raw)["data"]
    got = json.loads(p.stdout)
    eq(got["ports"][0]["name"], want["ports"][0]["name"], "ports --json")
    check(p.stdout.rstrip("\n") in raw.decode(), "--json ports is not the server's bytes:\n%s"
          % p.stdout[:300])


@case
def ports(x):
    x.dataplane()
    out = x.ok("ports")
    d = x.json("ports")
    port = d["ports"][0]
    r = row(out, "0")
    eq(r[1:4], ["net_af_packet0", "net_af_packet", port["mac"]], "port 0 name, driver, MAC")
    eq(r[4:7], ["up,", "full", "duplex"], "link")
    eq(col(out, "TX PKTS", 0), str(port["stats"]["opackets"]), "TX PKTS")
    check(int(col(out, "RX PKTS", 0)) >= 125, "RX PKTS:\n" + out)
    check(port["stats"]["ipackets"] >= 125, "ipackets %s" % port["stats"]["ipackets"])
    check(re.search(r"^port 0 extended stats", out, re.M), "xstats section:\n" + out)


@case
def partitions(x):
    x.dataplane()
    d = x.json("partitions")
    eq(len(d["partitions"]), len(LCORES), "partitions")
    p = d["partitions"][0]
    out = x.ok("partitions")
    eq(row(out, "PART")[:3], ["PART", "NUMA", "ITEMS"], "header")
    r = row(out, "0")
    eq(r[2], str(p["curr_items"]), "items")
    check(sum(q["curr_items"] for q in d["partitions"]) >= 25, "curr_items %s" % d)
    # MEM LIMIT: 32m split over two partitions.
    check("16.0 MiB" in " ".join(r), "mem limit in %s" % r)


@case
def config_get(x):
    x.dataplane()
    d = x.json("config", "get")
    eq([o["name"] for o in d["options"]], config_names(), "every option")
    eq(d["file"], x.conf, "config file")
    out = x.ok("config", "get")
    check(out.startswith("config generation %d, file %s\n" % (d["generation"], x.conf)),
          "first line: " + out.splitlines()[0])
    eq(row(out, "memory-limit")[1:6], ["32m", "*", "64m", "size", "runtime"], "memory-limit row")
    eq(row(out, "udp-port")[1:5], ["11211", "11211", "number", "restart"], "udp-port row")
    eq(row(out, "mgmt-socket")[1], x.sock, "mgmt-socket: mgmt's own value")
    out = x.ok("config", "get", "udp-port")
    check(re.search(r"^value\s+11211$", out, re.M) and re.search(r"^range\s+1 \.\. 65535$",
                                                                  out, re.M),
          "udp-port:\n" + out)
    check(re.search(r"^changes\s+at the next start", out, re.M), "start-only:\n" + out)
    eq([o["value"] for o in x.json("config", "get", "evict")["options"]], ["on"], "evict")
    p = x.run("config", "get", "no-such-option")
    failed(p, 1, r"unknown option 'no-such-option'", "unknown option")


@case
def config_set(x):
    x.dataplane()
    gen = x.json("config", "get")["generation"]
    out = x.ok("config", "set", "memory-limit", "24576k")
    eq(out, "memory-limit = 24m (config generation %d)\n" % (gen + 1), "config set")
    eq(row(x.ok("config", "get"), "memory-limit")[1:3], ["24m", "*"], "changed value")
    d = x.json("config", "set", "idle-backoff", "on")
    eq((d["name"], d["value"], d["generation"]), ("idle-backoff", "on", gen + 2), "--json set")
    for args, pattern in [(["evict", "maybe"], r"evict"),
                          (["memory-limit", "1g"], r"\w"),
                          (["memory-limit", "8m"], r"memory-limit: at least \d+ bytes"),
                          (["udp-port", "11212"], r"cannot change at runtime"),
                          (["log-file", "/tmp/x"], r"wirecache-mgmt's own option"),
                          (["nope", "1"], r"unknown option 'nope'")]:
        p = x.run("config", "set", *args)
        failed(p, 1, pattern, "config set %s" % " ".join(args))
        eq(p.stdout, "", "nothing on stdout")
    eq(x.json("config", "get")["generation"], gen + 2, "refused sets changed nothing")


@case
def config_rewrite(x):
    x.dataplane()
    x.ok("config", "set", "memory-limit", "28m")
    out = x.ok("config", "rewrite")
    check(re.fullmatch(r"wrote %s \(config generation \d+\)\n" % re.escape(x.conf), out),
          "config rewrite: %r" % out)
    with open(x.conf) as f:
        text = f.read()
    check(re.search(r"^memory-limit\s*=\s*28m$", text, re.M), "the file:\n" + text)
    check(text.startswith("# written by test_wirectl\n"), "comments kept:\n" + text)


@case
def flush(x):
    x.dataplane()
    eq(x.c.set("ctl:flush", "here"), b"STORED\r\n", "set")
    eq(x.ok("flush"), "flushed: every item is gone\n", "flush")
    eq(x.c.get("ctl:flush"), None, "get after flush")
    eq(x.json("flush", "30"), {"flushed": True, "delay": 30}, "flush 30 --json")


@case
def log(x):
    x.dataplane()
    pid = x.json("status")["dataplane"]["pid"]
    x.ok("config", "set", "log-level", "info")  # both programs': mgmt logs it too
    deadline = time.monotonic() + 5
    while True:
        out = x.ok("log", "200")
        if "wirecached: " in out or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    x.ok("config", "set", "log-level", "notice")
    lines = out.splitlines()
    pat = (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
           r"(emerg|alert|crit|error|warning|notice|info|debug) ")
    check(all(re.match(pat + r"(wirecached|wirecache-mgmt): ", ln) for ln in lines),
          "log format:\n" + out)
    for want in (r"wirecache-mgmt: ready: socket %s" % re.escape(x.sock),
                 r"wirecache-mgmt: attached to the dataplane \(pid %d" % pid,
                 r"wirecache-mgmt: config set log-level info",
                 r"wirecached: "):
        check(re.search(want, out), "%r in:\n%s" % (want, out))
    d = x.json("log", "3")
    eq(len(d["lines"]), 3, "log 3 --json")
    eq(sorted(d["lines"][0]), ["level", "source", "text", "time"], "a line's members")


def lcore_rows(text):
    """Every lcore's row of a top screen or snapshot: cells by lcore index."""
    rows, seen = {}, False
    for line in text.splitlines():
        cells = line.split()
        if cells[:2] == ["LCORE", "RX"]:
            seen = True
        elif seen and cells and cells[0].isdigit():
            rows[cells[0]] = cells
    eq(sorted(rows), LCORES, "lcore rows in:\n" + text)
    return rows


def busiest(rows):
    """The row of the lcore receiving the most (the load's flows may hash to one)."""
    def rx(cells):
        m = re.fullmatch(r"([\d.]+)(k?)/s", cells[1])
        return float(m.group(1)) * (1000 if m.group(2) else 1) if m else -1
    return max(rows.values(), key=rx)


@case
def top_snapshot(x):
    x.dataplane()
    load = Load(x.topo)
    try:
        time.sleep(0.3)
        t0 = time.monotonic()
        out = x.ok("top")
        took = time.monotonic() - t0
    finally:
        load.stop()
    check(load.n > 0, "the load got answers")
    check(0.9 < took < 8, "one snapshot over about 1 s (took %.1f s)" % took)
    check(re.match(r"wirecache 0\.1\.0  healthy  up ", out), "header:\n" + out)
    check(re.search(r"^memory [\d.]+ \S+ of [\d.]+ MiB  items \d+  rx [\d.]+k?/s  tx [\d.]+k?/s"
                    r"  hit ratio [1-9][\d.]*% now, [1-9][\d.]*% since start$", out, re.M),
          "totals line:\n" + out)
    cells = busiest(lcore_rows(out))
    # LCORE RX TX GETS HITS MISSES SETS FORWARDED DROPS [BUSY] MEM(2 cells)
    check(len(cells) in (11, 12), "lcore row %s" % cells)
    check(re.fullmatch(r"[1-9][\d.]*k?/s", cells[1]), "rx rate %s" % cells[1])
    check(re.fullmatch(r"[1-9][\d.]*k?/s", cells[3]), "gets rate %s" % cells[3])
    check(re.fullmatch(r"[1-9][\d.]*k?/s", cells[4]), "hits rate %s" % cells[4])
    out = x.ok("top", "--iterations", "2")
    eq(len(re.findall(r"^wirecache 0\.1\.0", out, re.M)), 2, "two snapshots:\n" + out)


def tmux_top(x, cols=160, rows=40):
    x.tmux_cmd("kill-server", check=False)
    cmd = "%s --socket %s top; echo wirectl-exit=$?; sleep 60" % (x.wirectl, x.sock)
    x.tmux_cmd("new-session", "-d", "-s", "top", "-x", str(cols), "-y", str(rows), cmd)


def pane(x):
    return x.tmux_cmd("capture-pane", "-p", "-t", "top")


def wait_pane(x, pattern, timeout=8):
    deadline = time.monotonic() + timeout
    while True:
        text = pane(x)
        if re.search(pattern, text, re.M):
            return text
        if time.monotonic() > deadline:
            raise runner.Fail("no %r on the screen after %ds:\n%s" % (pattern, timeout, text))
        time.sleep(0.2)


@case
def top_tmux(x):
    x.dataplane()
    tmux_top(x)
    load = Load(x.topo)
    try:
        first = wait_pane(x, r"^\s+\d+\s+[1-9][\d.]*k?/s")
        time.sleep(1.6)
        second = pane(x)
    finally:
        load.stop()
    for text in (first, second):
        check(re.match(r"wirecache 0\.1\.0  healthy  up ", text), "header:\n" + text)
        check(re.search(r"^memory .* hit ratio ", text, re.M), "totals line:\n" + text)
        check(re.search(r"^LCORE\s+RX PPS\s+TX PPS\s+GETS/S\s+HITS/S\s+MISSES/S\s+SETS/S\s+"
                        r"FORWARDED/S\s+DROPS/S\s+(BUSY\s+)?MEM USED", text, re.M),
              "columns:\n" + text)
    r1, r2 = lcore_rows(first), lcore_rows(second)
    c2 = busiest(r2)
    check(re.fullmatch(r"[1-9][\d.]*k?/s", c2[1]), "rx rate %s" % c2[1])
    check(r1[c2[0]] != c2, "lcore %s's row did not change in 1.6 s: %s" % (c2[0], c2))
    check(re.search(r"\d\d:\d\d:\d\d UTC", first).group(0) !=
          re.search(r"\d\d:\d\d:\d\d UTC", second).group(0), "the clock did not move")

    # The key hint sits on the last line; after a resize, on the new last line.
    eq(second.splitlines()[-1:], ["q quits"], "hint on line 40:\n" + second)
    x.tmux_cmd("resize-window", "-t", "top", "-x", "70", "-y", "12")
    # (tmux keeps the bottom of a shrunk screen: the table shows once top redraws.)
    text = wait_pane(x, r"^LCORE\s+RX PPS")
    eq(text.splitlines()[11:12], ["q quits"], "hint on line 12 after the resize:\n" + text)
    check(re.match(r"wirecache 0\.1\.0  healthy", text), "header after the resize:\n" + text)

    x.tmux_cmd("send-keys", "-t", "top", "q")
    text = wait_pane(x, r"^wirectl-exit=\d+", timeout=5)
    check(re.search(r"^wirectl-exit=0$", text, re.M), "q: exit status 0:\n" + text)
    x.tmux_cmd("kill-server", check=False)


@case
def top_mgmt_gone(x):
    x.dataplane()
    tmux_top(x)
    wait_pane(x, r"^wirecache 0\.1\.0  healthy")
    x.mgmt.stop()
    text = wait_pane(x, r"wirecache-mgmt is not running there .*\(retrying every second\)")
    check(re.match(r"wirecache  mgmt unreachable  %s" % re.escape(x.sock), text),
          "header:\n" + text)
    x.start_mgmt()
    wait_pane(x, r"^wirecache 0\.1\.0  healthy", timeout=15)
    text = wait_pane(x, r"^\s+1\s+(-|\d)", timeout=5)
    lcore_rows(text)
    x.tmux_cmd("send-keys", "-t", "top", "q")
    text = wait_pane(x, r"^wirectl-exit=\d+", timeout=5)
    check(re.search(r"^wirectl-exit=0$", text, re.M), "q: exit status 0:\n" + text)
    x.tmux_cmd("kill-server", check=False)


@case
def dataplane_gone(x):
    x.dataplane()
    tmux_top(x)
    wait_pane(x, r"^wirecache 0\.1\.0  healthy")
    x.srv.stop()
    text = wait_pane(x, r"^wirecache 0\.1\.0  DOWN \(dataplane not running\)")
    check(not re.search(r"^LCORE", text, re.M), "no lcore table while down:\n" + text)
    check(re.search(r"^dataplane down since \d{4}-", text, re.M), "since when:\n" + text)
    p = x.run("status")
    eq(p.returncode, 4, "status exit status")
    check(re.search(r"^health\s+DOWN.*\n\s+- dataplane down since ", p.stdout, re.M),
          "status:\n" + p.stdout)
    for args in (["stats"], ["top"]):
        p = x.run(*args)
        failed(p, 4, r"\w", " ".join(args))
        eq(p.stdout, "", "%s: nothing on stdout" % " ".join(args))
    x.tmux_cmd("send-keys", "-t", "top", "q")
    text = wait_pane(x, r"^wirectl-exit=\d+", timeout=5)
    check(re.search(r"^wirectl-exit=0$", text, re.M), "q: exit status 0:\n" + text)
    x.tmux_cmd("kill-server", check=False)


def main():
    netns.require(tools=("ip", "ethtool", "tmux"))
    return cases.main_ctx(Ctx, netns.cleanup_all)


if __name__ == "__main__":
    sys.exit(main())
