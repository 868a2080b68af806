#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""wirecache-mgmt end to end: the daemon, its attach child and wirectl
against a real wirecached (one lcore, af_packet port, 2 MB hugepages of the
test's own, so the child can attach as a DPDK secondary).

Both programs read one config file the test writes; wirecache-mgmt runs in
the dataplane's namespace (its /metrics on 127.0.0.1 there) and is asked
with `wirectl --json`, the documented interface (docs/wirectl.md).

  attach_status      status: health ok, attached, instance, no restarts
  counters_exact     1000 gets (400 hits), 250 sets, 10 malformed datagrams:
                     wirectl stats, memcached `stats` and /metrics (summed
                     over lcores) all say exactly that
  metrics_promtool   `promtool check metrics` passes on the /metrics body
  socket_protocol    many connections at once, requests pipelined on each:
                     answered in order; malformed requests get "usage"
  config_refused     a bad value, a start-only option, a mgmt option and an
                     unknown one are refused: values and generation unchanged
  config_memory      lowering memory-limit (16m to 8m) makes the cache evict
  config_evict_off   evict off: stores into a full cache get SERVER_ERROR
                     out of memory; on again: STORED
  config_udp_allow   a source outside the port's subnet is answered only
                     while udp-allow admits it
  config_idle        idle-backoff off: idle_sleeps stands still; on: grows
  config_log_level   log-level debug shows debug lines in `wirectl log`, and
                     the dataplane's own log line of the change arrives
  contract_mismatch  a dataplane of another contract version (its shared block
                     poked in the hugepage file): status down with the attach
                     child's reason; the right version again: re-attached
  second_daemon      a second daemon for the same prefix is refused; one
                     without --config refuses config rewrite
  no_mgmt            wirectl with no daemon behind the socket: exit 3
  mgmt_sigkill       SIGKILL wirecache-mgmt and start it again while a UDP
                     client keeps asking: the client sees no error
  dataplane_restart  stop wirecached: status says down; start it again:
                     re-attached, restarts_seen 1, last_gap_seconds > 0
  rewrite_restart    config rewrite, then both programs restarted with the
                     same --config run with the values set at runtime

    test_mgmt.py [--wirecached PATH] [--only CASE,...]

The daemon and wirectl are found next to wirecached in its build tree
(mgmt/daemon/wirecache-mgmt, mgmt/ctl/wirectl) or from $WIRECACHE_MGMT and
$WIRECTL.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcudp  # noqa: E402
import netns  # noqa: E402
import runner  # noqa: E402
import shmem  # noqa: E402
from runner import check, eq, wait_for  # noqa: E402

NET = 62  # 10.200.62.0/24
PAGES = 80  # 16m of items, its index, 4095 mbufs and EAL's own, with room
# The port's subnet is the lower half of the /24, so a second client address
# in the upper half (OUTSIDER) is outside it without leaving our /24.
SERVER_CIDR = "10.200.62.1/25"
OUTSIDER = "10.200.62.200"
METRICS = ("127.0.0.1", 9712)
LIFETIME = 200
CONTRACT = shmem.CONTRACT

cases = runner.Cases()
case = cases.add


def build_path(env, *rel):
    if os.environ.get(env):
        return os.environ[env]
    wc = netns.wirecached_path()
    return os.path.join(os.path.dirname(os.path.dirname(wc)), *rel) if wc else None


def child_pid(pid):
    """The first child of @p pid (of any of its threads), or None."""
    kids = []
    try:
        for task in sorted(os.listdir("/proc/%d/task" % pid), key=int):
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                kids += f.read().split()
    except FileNotFoundError:
        return None
    return int(kids[0]) if kids else None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited too.
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


class Ctx:
    def __init__(self):
        self.mgmt_bin = build_path("WIRECACHE_MGMT", "mgmt", "daemon", "wirecache-mgmt")
        self.wirectl_bin = build_path("WIRECTL", "mgmt", "ctl", "wirectl")
        for p in (self.mgmt_bin, self.wirectl_bin):
            if not p or not os.access(p, os.X_OK):
                raise RuntimeError("%s is not built" % p)
        if not shutil.which("promtool"):
            raise RuntimeError("promtool is not installed (Debian: prometheus)")
        self.huge = netns.Hugepages(PAGES)
        if not self.huge.ok:
            raise RuntimeError("no 2 MB hugepages to be had: a DPDK secondary needs them")
        self.topo = netns.Topology(net=NET, tag="m")
        self.dir = "/tmp/wc-mgmt-%d" % os.getpid()
        self.prefix = "wcmg%d" % os.getpid()
        self.sock = os.path.join(self.dir, "run", "mgmt.sock")
        self.log_file = os.path.join(self.dir, "log", "wirecache.log")
        self.conf = os.path.join(self.dir, "wirecache.conf")
        os.makedirs(self.dir)
        with open(self.conf, "w") as f:
            f.write("# wirecache for test_mgmt.py\n[wirecache]\nmemory-limit = 16m\n"
                    "file-prefix = %s\n\n[mgmt]\n# the control socket\nmgmt-socket = %s\n"
                    "metrics-listen = %s:%d\nlog-file = %s\n" %
                    (self.prefix, self.sock, METRICS[0], METRICS[1], self.log_file))
        self.dp = self.mgmt = None
        self.start_dp()
        self.start_mgmt()
        with self.topo.in_cli():
            self.c = mcudp.Client(self.topo.server_addr, timeout=2.0, retries=0)
        self.wait_attached()

    # -- processes --------------------------------------------------------

    def start_dp(self):
        self.dp = netns.start_wirecached(
            self.topo, opts=["--config", self.conf, "--ip", SERVER_CIDR, "--mbufs", "4095"],
            lifetime=LIFETIME, huge=self.huge, prefix=self.prefix)

    def start_mgmt(self):
        argv = ["timeout", "-s", "INT", "-k", "10", str(LIFETIME + 60), self.mgmt_bin,
                "--config", self.conf, "--lifetime", str(LIFETIME)] + (["--log-level", os.environ["WC_MGMT_LOG"]] if os.environ.get("WC_MGMT_LOG") else [])
        self.mgmt = netns.Server(self.topo, argv, "wirecache-mgmt")
        self.mgmt.wait_line(r"wirecache-mgmt: ready", timeout=30)

    def mgmt_pid(self):
        return child_pid(self.mgmt.proc.pid)

    def wait_attached(self, timeout=30):
        def attached():
            rc, d, _ = self.ctl("status")
            return d if rc == 0 and d["dataplane"]["attached"] else None
        return wait_for("wirecache-mgmt to attach", attached, timeout, 0.2)

    def on_failure(self):
        for s in (self.dp, self.mgmt):
            if s is not None:
                print("  %s (%s):\n    %s" % (s.name, "running" if s.alive() else "exited",
                                              s.output_tail(15).replace("\n", "\n    ")))

    def cleanup(self):
        netns.cleanup_all()
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)
        for p in (self.prefix, self.prefix + "b"):  # the daemons' prefix locks
            try:
                os.unlink("/var/run/wirecache/mgmt-%s.lock" % p)
            except FileNotFoundError:
                pass

    # -- asking -----------------------------------------------------------

    def ctl(self, *args, sock=None):
        """wirectl --json ARGS: (exit status, the data or None, stderr)."""
        p = subprocess.run([self.wirectl_bin, "--socket", sock or self.sock, "--json"] +
                           list(args), capture_output=True, text=True, timeout=30)
        data = None
        if p.returncode == 0:
            data = json.loads(p.stdout)
        return p.returncode, data, p.stderr.strip()

    def ok(self, *args):
        rc, d, err = self.ctl(*args)
        check(rc == 0, "wirectl %s: exit %d: %s" % (" ".join(args), rc, err))
        return d

    def option(self, name):
        return self.ok("config", "get", name)["options"][0]["value"]

    def totals(self):
        return self.ok("stats")["totals"]

    def metrics(self):
        """GET /metrics from inside the dataplane's namespace: (status, body)."""
        with netns.netns(self.topo.srv):
            s = socket.create_connection(METRICS, timeout=10)
        with s:
            s.sendall(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            buf = runner.recv_to_eof(s)
        head, body = buf.split(b"\r\n\r\n", 1)
        return int(head.split()[1]), body.decode()


def total_becomes(x, name, pred, what):
    """Wait (2 s at most) for totals[@p name] to satisfy @p pred: partition
    figures are copied to shared memory at the owner lcore's next tick."""
    last = []

    def ok():
        last[:] = [x.totals()[name]]
        return pred(last[0])
    try:
        wait_for(what, ok, 2, 0.02)
    except runner.Fail:
        raise runner.Fail("%s (%s = %s)" % (what, name, last[0] if last else "?"))


def metric_sums(body):
    """name -> value summed over every label set."""
    out = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)", line)
        check(m, "malformed sample line %r" % line)
        out[m.group(1)] = out.get(m.group(1), 0) + float(m.group(3))
    return out


def fill(c, prefix, n, size, want=None):
    """@p n sets of @p size-byte values; return the replies seen (a set)."""
    seen = set()
    value = b"x" * size
    for i in range(n):
        r = c.set("%s:%d" % (prefix, i), value)
        seen.add(r)
        if want is not None and r == want:
            break
    return seen


@case
def attach_status(x):
    d = x.ok("status")
    eq(d["health"], "ok", "health (reasons %s)" % d["reasons"])
    eq(d["contract_version"], CONTRACT, "contract_version")
    dp = d["dataplane"]
    eq((dp["attached"], dp["restarts_seen"], dp["last_gap_seconds"], dp["down_since"]),
       (True, 0, None, None), "attached, no restart seen")
    eq(dp["pid"], child_pid(x.dp.proc.pid), "the dataplane's pid")
    check(re.fullmatch(r"[0-9a-f]{16}", dp["instance"]), "instance %r" % dp["instance"])
    eq(dp["file_prefix"], x.prefix, "file_prefix")
    eq((d["mgmt"]["pid"], d["mgmt"]["config_file"], d["mgmt"]["socket"]),
       (x.mgmt_pid(), x.conf, x.sock), "mgmt")
    eq(oct(os.stat(x.sock).st_mode & 0o777), "0o660", "socket mode")


@case
def counters_exact(x):
    keys = ["k:%d" % i for i in range(250)]
    for k in keys:
        eq(x.c.set(k, "v" + k), b"STORED\r\n", "set " + k)
    hits = sum(x.c.get(k) is not None for k in keys[:200] * 2 + ["miss:%d" % i
                                                                  for i in range(600)])
    eq(hits, 400, "hits the client saw")
    with x.topo.in_cli():
        raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with raw:
        for _ in range(10):  # shorter than memcached's 8-byte frame header
            raw.sendto(b"\x00\x01\x00", (x.topo.server_addr, 11211))
    want = {"mc_cmd_get": 1000, "mc_get_hits": 400, "mc_get_misses": 600, "mc_cmd_set": 250,
            "drop_mc_frame": 10}
    t = wait_for("the malformed datagrams counted",
                 lambda: (lambda t: t if t["drop_mc_frame"] >= 10 else None)(x.totals()), 5)
    eq({k: t[k] for k in want}, want, "wirectl stats totals")
    total_becomes(x, "curr_items", lambda v: v == 250, "curr_items 250")
    s = x.c.stats()
    eq({k: s[k] for k in ("cmd_get", "get_hits", "get_misses", "cmd_set", "curr_items")},
       {"cmd_get": "1000", "get_hits": "400", "get_misses": "600", "cmd_set": "250",
        "curr_items": "250"}, "memcached stats over UDP")
    status, body = x.metrics()
    eq(status, 200, "GET /metrics")
    m = metric_sums(body)
    eq({k: m.get("wirecache_%s_total" % k) for k in want}, {k: float(v) for k, v in want.items()},
       "/metrics summed over lcores")
    eq(m.get("wirecache_up"), 1.0, "wirecache_up")


@case
def metrics_promtool(x):
    status, body = x.metrics()
    eq(status, 200, "GET /metrics")
    p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                       text=True, timeout=30)
    eq((p.returncode, (p.stdout + p.stderr).strip()), (0, ""), "promtool check metrics")


@case
def socket_protocol(x):
    """Many connections at once, each with requests pipelined in one write:
    every answer comes, in order; bad requests get "usage"."""
    reqs = [b'{"cmd":"log","args":["1"]}', b'{"cmd":"status"}', b"not json",
            b'{"cmd":"events"}', b'{"cmd":"config","args":["get","udp-port"]}',
            b'{"cmd":"log","args":["x"]}', b'{"args":[]}', b'{"cmd":"stats","args":[1]}']
    conns = []
    for _ in range(8):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(x.sock)
        conns.append(s)
    for s in conns:
        s.sendall(b"\n".join(reqs) + b"\n")
    for s in conns:
        buf = b""
        while buf.count(b"\n") < len(reqs):
            b = s.recv(1 << 20)
            check(b, "connection closed after %d answers" % buf.count(b"\n"))
            buf += b
        s.close()
        r = [json.loads(ln) for ln in buf.split(b"\n")[:len(reqs)]]
        check("lines" in r[0]["data"] and "health" in r[1]["data"], "answers in order: %s" % r[:2])
        eq(r[4]["data"]["options"][0]["name"], "udp-port", "config get, fifth")
        eq([(a["ok"], a.get("code")) for i, a in enumerate(r) if i in (2, 3, 5, 6, 7)],
           [(False, "usage")] * 5, "bad requests")


@case
def config_refused(x):
    before = x.ok("config", "get")
    vals = {o["name"]: o["value"] for o in before["options"]}
    for args, why in ((("memory-limit", "banana"), "a bad size"),
                      (("memory-limit", "1k"), "below the minimum"),
                      (("evict", "maybe"), "a bad boolean"),
                      (("udp-port", "1234"), "a start-only option"),
                      (("mgmt-socket", "/tmp/elsewhere.sock"), "a mgmt option"),
                      (("no-such-option", "1"), "an unknown option")):
        rc, _, err = x.ctl("config", "set", *args)
        eq(rc, 1, "config set %s (%s) exit status; stderr %r" % (" ".join(args), why, err))
    after = x.ok("config", "get")
    eq(after["generation"], before["generation"], "generation")
    eq({o["name"]: o["value"] for o in after["options"]}, vals, "values")
    eq(x.ok("stats")["dataplane"]["config_generation"], before["generation"],
       "the dataplane's generation")


@case
def config_memory(x):
    e0 = x.totals()["evictions"]
    eq(fill(x.c, "m", 4000, 1000), {b"STORED\r\n"}, "4 MB of sets at 16m")
    time.sleep(0.1)  # a few lcore ticks: the partition figures are current
    eq(x.totals()["evictions"], e0, "no evictions at 16m")
    gen = x.ok("config", "get")["generation"]
    d = x.ok("config", "set", "memory-limit", "8m")
    eq((d["name"], d["value"], d["generation"]), ("memory-limit", "8m", gen + 1), "set reply")
    eq(x.option("memory-limit"), "8m", "config get")
    total_becomes(x, "mem_limit", lambda v: v == 8 << 20, "the partitions' limit")
    eq(fill(x.c, "m2", 6000, 1000), {b"STORED\r\n"}, "6 MB more sets at 8m")
    total_becomes(x, "evictions", lambda v: v > e0, "evictions at 8m")
    x.ok("config", "set", "memory-limit", "16m")


@case
def config_evict_off(x):
    x.ok("config", "set", "memory-limit", "8m")
    x.ok("config", "set", "evict", "off")
    try:
        eq(x.option("evict"), "off", "config get evict")
        oom = b"SERVER_ERROR out of memory storing object\r\n"
        seen = fill(x.c, "e", 12000, 1000, want=oom)
        check(oom in seen, "no SERVER_ERROR out of memory with evict off (saw %s)" % seen)
        total_becomes(x, "oom", lambda v: v > 0, "oom counted")
    finally:
        x.ok("config", "set", "evict", "on")
    eq(x.c.set("e:after", "v"), b"STORED\r\n", "a set with evict on again")
    x.ok("config", "set", "memory-limit", "16m")


def outsider_client(x):
    """A UDP client from OUTSIDER, outside the appliance's /25."""
    have = x.topo.run_cli(["ip", "-4", "-o", "addr", "show", "dev", x.topo.cli_if])
    if OUTSIDER + "/" not in have:
        x.topo.run_cli(["ip", "addr", "add", OUTSIDER + "/24", "dev", x.topo.cli_if])
    with x.topo.in_cli():
        out = mcudp.Client(x.topo.server_addr, timeout=1.0, retries=0)
        out.sock.close()
        out.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        out.sock.bind((OUTSIDER, 0))
        out.sock.connect((x.topo.server_addr, 11211))
    return out


@case
def config_udp_allow(x):
    out = outsider_client(x)
    try:
        d0 = x.totals()["drop_udp_source"]
        eq(out.no_reply(b"version\r\n", 0.5), b"", "outside the subnet: no answer")
        check(x.totals()["drop_udp_source"] > d0, "drop_udp_source counted")
        x.ok("config", "set", "udp-allow", OUTSIDER + "/32")
        check(out.request(b"version\r\n", retries=2).startswith(b"VERSION"), "allowed: answered")
        x.ok("config", "set", "udp-allow", "")
        eq(x.option("udp-allow"), "", "udp-allow emptied")
        eq(out.no_reply(b"version\r\n", 0.5), b"", "no longer allowed: no answer")
    finally:
        out.close()


@case
def config_udp_open(x):
    """udp-open serves any source; udp-open-budget caps what each may get."""
    out = outsider_client(x)
    value = "o" * 1000
    eq(x.c.set("open:big", value), b"STORED\r\n", "a 1000-byte value")
    try:
        eq(out.no_reply(b"version\r\n", 0.5), b"", "udp-open off: no answer")
        x.ok("config", "set", "udp-open", "on")
        check(out.request(b"version\r\n", retries=2).startswith(b"VERSION"),
              "udp-open on: answered")
        x.ok("config", "set", "udp-open-budget", "1400")
        eq(x.option("udp-open-budget"), "1400", "the budget as set")
        capped0 = x.totals()["drop_udp_reply_cap"]
        answered = 0
        for _ in range(20):
            if out.no_reply(b"get open:big\r\n", 0.05):
                answered += 1
        check(answered < 20, "a 1400-byte budget a second cannot answer 20 1-KB gets at once")
        check(x.totals()["drop_udp_reply_cap"] > capped0, "drop_udp_reply_cap counted")
        x.ok("config", "set", "udp-open-budget", "1m")
        time.sleep(1.1)
        answered = sum(1 for _ in range(20) if out.no_reply(b"get open:big\r\n", 0.2))
        eq(answered, 20, "a 1 MB budget answers all 20")
        x.ok("config", "set", "udp-open", "off")
        eq(out.no_reply(b"version\r\n", 0.5), b"", "udp-open off again: no answer")
    finally:
        x.ok("config", "set", "udp-open", "off")
        x.ok("config", "set", "udp-open-budget", "16k")
        out.close()


@case
def config_idle(x):
    x.ok("config", "set", "idle-backoff", "off")
    try:
        s1 = x.totals()["idle_sleeps"]
        time.sleep(1)
        eq(x.totals()["idle_sleeps"], s1, "idle_sleeps with idle-backoff off")
    finally:
        x.ok("config", "set", "idle-backoff", "on")
    s2 = x.totals()["idle_sleeps"]
    time.sleep(1)
    check(x.totals()["idle_sleeps"] > s2, "idle_sleeps grows with idle-backoff on")


@case
def config_log_level(x):
    def debug_lines():
        return [ln for ln in x.ok("log", "1000")["lines"] if ln["level"] == "debug"]

    x.ok("status")
    eq(debug_lines(), [], "no debug lines at notice")
    x.ok("config", "set", "log-level", "debug")
    try:
        x.ok("status")
        check(debug_lines(), "debug lines at debug")
        # The dataplane's own line about the change comes as an event.
        wait_for("wirecached's log line of the change", lambda: [
            ln for ln in x.ok("log", "200")["lines"]
            if ln["source"] == "wirecached" and "log-level" in ln["text"]], 5)
    finally:
        x.ok("config", "set", "log-level", "notice")
    n = len(debug_lines())
    x.ok("status")
    eq(len(debug_lines()), n, "no new debug lines at notice again")
    with open(x.log_file) as f:
        text = f.read()
    check(re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z notice wirecache-mgmt: ready", text,
                    re.M), "the log file has the daemon's lines")
    check(re.search(r"^\S+ \w+ wirecached: ", text, re.M), "and the dataplane's")


@case
def health_reasons(x):
    """A stuck lcore makes status unhealthy, with the reason, until it ticks again."""
    def health(want, word):
        def seen():
            d = x.ctl("status")[1]
            if d is None or d["health"] != want:
                return None
            return d if word is None or any(word in r for r in d["reasons"]) else None
        return wait_for("health %s%s" % (want, " (%s)" % word if word else ""), seen, 10, 0.2)

    eq(x.ok("status")["health"], "ok", "healthy to begin with")
    dp = child_pid(x.dp.proc.pid)
    os.kill(dp, signal.SIGSTOP)  # every lcore stops ticking
    try:
        d = health("unhealthy", "tick")
        check(any(r.startswith("lcore 0") for r in d["reasons"]), "which lcore: %s" % d["reasons"])
        eq(x.ctl("status")[0], 0, "unhealthy is still exit 0 (only down is 4)")
    finally:
        os.kill(dp, signal.SIGCONT)
    health("ok", None)
    # A down link: test_mgmt_attach's tap_link (net_af_packet reports no carrier).
    eq(x.c.request(b"version\r\n")[:8], b"VERSION ", "served again")


@case
def contract_mismatch(x):
    before = x.ok("status")["dataplane"]
    path, off = shmem.find(x.huge)
    check(path is not None, "wirecached's shared block found in " + x.huge.dir)
    shmem.set_version(path, off, CONTRACT - 1)
    try:
        # The attached child goes; the next one finds the other version.
        os.kill(child_pid(x.mgmt_pid()), signal.SIGKILL)
        reason = "contract version %d, this mgmt speaks %d" % (CONTRACT - 1, CONTRACT)

        def refused():
            p = subprocess.run([x.wirectl_bin, "--socket", x.sock, "--json", "status"],
                               capture_output=True, text=True)
            d = json.loads(p.stdout) if p.returncode == 4 else None
            return d if d and any(reason in r for r in d["reasons"]) else None

        d = wait_for("status to give the contract mismatch", refused, 15)
        eq((d["health"], d["dataplane"]["attached"]), ("down", False), "status")
        check(any(reason in ln["text"] for ln in x.ok("log", "50")["lines"]),
              "the mismatch in the log")
    finally:
        shmem.set_version(path, off, CONTRACT)
    d = x.wait_attached()
    eq((d["health"], d["dataplane"]["instance"], d["dataplane"]["restarts_seen"]),
       ("ok", before["instance"], before["restarts_seen"]), "attached again, the same dataplane")


@case
def second_daemon(x):
    """A second daemon for the same file-prefix is refused (two attach children
    would share the dataplane's single-consumer event ring); one for another
    prefix, started without --config, runs (its dataplane down) and refuses
    config rewrite for want of a file."""
    sock = os.path.join(x.dir, "second.sock")

    def argv(prefix):
        return ["timeout", "-s", "INT", "-k", "10", "60", x.mgmt_bin, "--file-prefix", prefix,
                "--mgmt-socket", sock, "--metrics-listen", "", "--log-file", "",
                "--lifetime", "50"]

    p = subprocess.run(argv(x.prefix), capture_output=True, text=True, timeout=30)
    eq(p.returncode, 1, "exit status of a second daemon for %s" % x.prefix)
    check(re.search(r"another wirecache-mgmt \(pid %d\) serves file-prefix %s" %
                    (x.mgmt_pid(), x.prefix), p.stderr), "its reason: %r" % p.stderr)
    check(not os.path.exists(sock), "no socket made")
    eq(x.ok("status")["health"], "ok", "the first daemon still serves")

    second = netns.Server(x.topo, argv(x.prefix + "b"), "second wirecache-mgmt")
    try:
        second.wait_line(r"wirecache-mgmt: ready", timeout=30)
        rc, _, err = x.ctl("config", "rewrite", sock=sock)
        eq(rc, 1, "config rewrite exit status (stderr %r)" % err)
        check("without --config" in err, "the reason: %r" % err)
        eq(x.ctl("stats", sock=sock)[0], 4, "stats: dataplane down")
    finally:
        eq(second.stop(), 0, "the second daemon's exit status")
    check(not os.path.exists(sock), "its socket removed")


@case
def no_mgmt(x):
    rc, _, err = x.ctl("status", sock=os.path.join(x.dir, "nobody.sock"))
    eq(rc, 3, "no socket: exit status (stderr %r)" % err)
    check("nobody.sock" in err, "the error names the socket: %r" % err)
    rc, _, err = x.ctl("stats", sock=x.conf)
    eq(rc, 3, "not a socket: exit status (stderr %r)" % err)


@case
def mgmt_sigkill(x):
    stop = threading.Event()
    counts = {"ok": 0, "errors": []}

    def client():
        with x.topo.in_cli():
            c = mcudp.Client(x.topo.server_addr, timeout=1.0, retries=0)
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if c.set("s:%d" % (i % 100), "v%d" % i) != b"STORED\r\n":
                    counts["errors"].append("set %d" % i)
                elif c.get("s:%d" % (i % 100)) != b"v%d" % i:
                    counts["errors"].append("get %d" % i)
                else:
                    counts["ok"] += 1
            except mcudp.Timeout:
                counts["errors"].append("timeout %d" % i)
        c.close()

    t = threading.Thread(target=client, daemon=True)
    t.start()
    try:
        time.sleep(0.5)
        pid = x.mgmt_pid()
        attach = child_pid(pid)
        check(attach is not None and alive(attach), "the attach child runs")
        os.kill(pid, signal.SIGKILL)
        wait_for("the attach child to leave with its daemon", lambda: not alive(attach), 5)
        x.mgmt.stop()
        time.sleep(0.5)
        x.start_mgmt()  # over the stale socket file
        d = x.wait_attached()
        eq(d["dataplane"]["restarts_seen"], 0, "the same dataplane")
        time.sleep(0.5)
    finally:
        stop.set()
        t.join(5)
    eq(counts["errors"], [], "the client's errors")
    check(counts["ok"] > 50, "requests during the test: %d" % counts["ok"])


@case
def dataplane_restart(x):
    inst = x.ok("status")["dataplane"]["instance"]
    eq(x.dp.stop(), 0, "wirecached's exit status")

    def down():
        rc, _, _ = x.ctl("status")
        return rc == 4

    wait_for("status to say down", down, 5)
    p = subprocess.run([x.wirectl_bin, "--socket", x.sock, "--json", "status"],
                       capture_output=True, text=True)
    eq(p.returncode, 4, "wirectl status exit status while down")
    d = json.loads(p.stdout)
    eq((d["health"], d["dataplane"]["attached"]), ("down", False), "status while down")
    check(d["reasons"] and d["reasons"][0].startswith("dataplane down since "),
          "reason %s" % d["reasons"])
    check(abs(d["dataplane"]["down_since"] - time.time()) < 10, "down_since")
    eq(x.ctl("stats")[0], 4, "stats while down: exit status")
    status, body = x.metrics()
    m = metric_sums(body)
    eq((status, m.get("wirecache_up"), m.get("wirecache_mc_cmd_get_total")), (200, 0.0, None),
       "/metrics while down: wirecache_up 0, no dataplane counters")
    eq(x.ok("log", "5")["lines"] != [], True, "log works while down")
    time.sleep(1)
    x.start_dp()
    d = x.wait_attached()
    dp = d["dataplane"]
    check(dp["instance"] != inst, "a new instance")
    eq(dp["restarts_seen"], 1, "restarts_seen")
    check(dp["last_gap_seconds"] is not None and dp["last_gap_seconds"] > 1,
          "last_gap_seconds %s" % dp["last_gap_seconds"])
    eq(d["health"], "ok", "health after the restart (reasons %s)" % d["reasons"])


@case
def rewrite_restart(x):
    x.ok("config", "set", "memory-limit", "12m")
    x.ok("config", "set", "udp-allow", "10.200.62.128/26")
    x.ok("config", "set", "log-level", "info")
    x.ok("config", "set", "evict", "off")
    x.ok("config", "set", "udp-open", "on")
    x.ok("config", "set", "udp-open-budget", "32k")
    gen = x.ok("config", "get")["generation"]
    d = x.ok("config", "rewrite")
    eq((d["file"], d["generation"]), (x.conf, gen), "rewrite reply")
    with open(x.conf) as f:
        text = f.read()
    for rx in (r"^memory-limit\s*=\s*12m$", r"^udp-allow\s*=\s*10\.200\.62\.128/26$",
               r"^log-level\s*=\s*info$", r"^# the control socket$"):
        check(re.search(rx, text, re.M), "%s in the rewritten file:\n%s" % (rx, text))
    check(not re.search(r"^lifetime", text, re.M), "no lifetime in the file:\n" + text)
    eq(x.mgmt.stop(), 0, "wirecache-mgmt's exit status")
    check(not os.path.exists(x.sock), "the socket removed at exit")
    eq(x.dp.stop(), 0, "wirecached's exit status")
    x.start_dp()
    x.start_mgmt()
    x.wait_attached()
    for name, want in (("memory-limit", "12m"), ("udp-allow", "10.200.62.128/26"),
                       ("log-level", "info"), ("evict", "off"), ("udp-open", "on"),
                       ("udp-open-budget", "32k")):
        eq(x.option(name), want, "%s after the restart" % name)
    total_becomes(x, "mem_limit", lambda v: v == 12 << 20, "the partitions' limit")


def main():
    netns.require()
    return cases.main_ctx(Ctx, netns.cleanup_all)


if __name__ == "__main__":
    sys.exit(main())
