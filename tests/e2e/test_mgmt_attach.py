#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""wirecache-mgmt-attach, the DPDK secondary wirecache-mgmt spawns, run
directly against a real wirecached (one lcore, af_packet port, on 2 MB
hugepages of the test's own: a secondary needs them) and spoken to as
wirecache-mgmt does: one JSON request per line on its stdin, one response
per line on its stdout.

  status          health ok, the primary's pid and instance, lcore and port
  stats_exact     a known workload (25 sets, 100 gets of which 40 hit) shows
                  in the totals exactly, per lcore and per partition
  stats_names     every counter of mgmt/contract.h is in the totals
  ports           the af_packet port: driver, MAC, link up, counters, xstats
  config_get      every option with value, default, type, scope, runtime
  config_set      runtime options (udp-allow, memory-limit) change the live
                  config and the partitions
  config_refused  a bad value, a start-only option, a mgmt option, an
                  unknown one and a limit above the start's are refused and
                  nothing changes (same generation, same values)
  config_dump     every option's canonical value and the generation
  events          the dataplane's "config: ..." log line of the change
  flush           the cache is empty after it (a get misses)
  usage           unknown commands, bad arguments and bad JSON: "usage"
  stdin_closed    EOF on stdin: exit 0; a new child attaches again
  contract_mismatch  the shared block's version lowered by one (in the
                  hugepage file): a new child says so in one line, exits 3
  primary_dies    SIGKILL wirecached: the child exits 4 at once
  no_dataplane    no primary with that prefix: exit 2 with one clear line

    test_mgmt_attach.py [--wirecached PATH] [--attach PATH] [--only CASE,...]
"""

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcudp  # noqa: E402
import netns  # noqa: E402
import runner  # noqa: E402
import shmem  # noqa: E402
from runner import check, eq, wait_for  # noqa: E402

NET = 65  # 10.200.65.0/24
PAGES = 80  # 16m of items, its index, 4095 mbufs and EAL's own, with room
LIMIT = "16m"
CONTRACT = shmem.CONTRACT
WC_VERSION = shmem.WC_VERSION

cases = runner.Cases()
case = cases.add


def attach_path():
    """--attach PATH, $WIRECACHE_MGMT_ATTACH, or next to wirecached's build."""
    for i, a in enumerate(sys.argv):
        if a == "--attach" and i + 1 < len(sys.argv):
            return os.path.abspath(sys.argv[i + 1])
    if os.environ.get("WIRECACHE_MGMT_ATTACH"):
        return os.environ["WIRECACHE_MGMT_ATTACH"]
    wc = netns.wirecached_path()
    if wc:
        build = os.path.dirname(os.path.dirname(wc))
        return os.path.join(build, "mgmt", "attach", "wirecache-mgmt-attach")
    return None


class Child:
    """wirecache-mgmt-attach with pipes for stdin and stdout."""

    def __init__(self, path, prefix, extra=()):
        self.proc = subprocess.Popen([path, "--", "--file-prefix", prefix] + list(extra),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.buf = b""

    def request(self, obj, timeout=10):
        """Send one request (a dict, or raw bytes); return the response dict."""
        line = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise runner.Fail("no response to %r in %ds" % (line, timeout))
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise runner.Fail("the child exited (%s) answering %r: %s" %
                                  (self.proc.wait(5), line, self.stderr()))
            self.buf += chunk
        resp, self.buf = self.buf.split(b"\n", 1)
        return json.loads(resp)

    def ok(self, obj):
        r = self.request(obj)
        check(r.get("ok") is True and "data" in r, "%s answered %s" % (obj, r))
        return r["data"]

    def stderr(self):
        if self.proc.poll() is None:
            return "(running)"
        return self.proc.stderr.read().decode(errors="replace").strip()

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def child_pid(pid):
    """wirecached itself: the child of `timeout`."""
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        kids = f.read().split()
    return int(kids[0]) if kids else pid


class Ctx:
    def __init__(self):
        self.path = attach_path()
        if not self.path or not os.access(self.path, os.X_OK):
            raise RuntimeError("no wirecache-mgmt-attach (pass --attach PATH)")
        self.huge = netns.Hugepages(PAGES)
        if not self.huge.ok:
            raise RuntimeError("no 2 MB hugepages to be had: a DPDK secondary needs them")
        self.topo = netns.Topology(net=NET, tag="a")
        self.prefix = "wcat%d" % os.getpid()
        self.srv = netns.start_wirecached(self.topo, opts=["--memory-limit", LIMIT,
                                                           "--mbufs", "4095"],
                                          lifetime=120, huge=self.huge, prefix=self.prefix)
        self.pid = child_pid(self.srv.proc.pid)
        with self.topo.in_cli():
            self.c = mcudp.Client(self.topo.server_addr, timeout=2.0, retries=0)
        self.child = Child(self.path, self.prefix)

    def on_failure(self):
        if not self.srv.alive():
            print("  wirecached died:\n  " + self.srv.output_tail().replace("\n", "\n  "))
        if self.child.proc.poll() is not None:
            print("  the child exited %s: %s" % (self.child.proc.returncode,
                                                  self.child.stderr()))

    def cleanup(self):
        self.child.close()
        netns.cleanup_all()
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)


def option(data, name):
    for o in data["options"]:
        if o["name"] == name:
            return o
    raise runner.Fail("option %s missing from %s" % (name, data))


@case
def status(x):
    d = x.child.ok({"cmd": "status"})
    eq(d["health"], "ok", "health (reasons %s)" % d.get("reasons"))
    eq(d["reasons"], [], "reasons")
    eq(d["contract_version"], CONTRACT, "contract_version")
    eq(d["version"], WC_VERSION, "version")
    dp = d["dataplane"]
    eq(dp["attached"], True, "attached")
    eq(dp["pid"], x.pid, "the primary's pid")
    check(re.fullmatch(r"[0-9a-f]{16}", dp["instance"]), "instance %r" % dp["instance"])
    check(abs(dp["start_time"] - time.time()) < 600, "start_time %s" % dp["start_time"])
    eq(len(d["lcores"]), 1, "one lcore")
    lc = d["lcores"][0]
    eq((lc["index"], lc["lcore_id"], lc["state"]), (0, 0, "running"), "lcore 0")
    check(0 <= lc["heartbeat_age_ms"] < 1000, "heartbeat age %s ms" % lc["heartbeat_age_ms"])
    eq([(p["port_id"], p["name"], p["link_up"]) for p in d["ports"]],
       [(0, "net_af_packet0", True)], "ports")


@case
def stats_exact(x):
    keys = ["att:%d" % i for i in range(25)]
    for k in keys:
        eq(x.c.set(k, "v" + k), b"STORED\r\n", "set " + k)
    hits = 0
    for k in keys[:20] * 2 + ["att:miss:%d" % i for i in range(60)]:
        hits += x.c.get(k) is not None
    eq(hits, 40, "hits seen by the client")
    d = x.child.ok({"cmd": "stats"})
    t = d["totals"]
    want = {"mc_cmd_get": 100, "mc_get_hits": 40, "mc_get_misses": 60, "mc_cmd_set": 25,
            "udp_datagrams": 125, "curr_items": 25, "total_items": 25, "drop_udp_source": 0}
    eq({k: t[k] for k in want}, want, "totals")
    check(t["rx_packets"] >= 125 and t["tx_packets"] >= 125,
          "rx_packets %d, tx_packets %d" % (t["rx_packets"], t["tx_packets"]))
    check(t["mc_bytes_read"] > 0 and t["mc_bytes_written"] > 0, "mc bytes")
    eq(d["dataplane"]["pid"], x.pid, "pid")
    eq(d["dataplane"]["workers"], 1, "workers")
    eq(len(d["lcores"]), 1, "one lcore")
    lc = d["lcores"][0]["counters"]
    eq({k: lc[k] for k in want if k in lc}, {k: want[k] for k in want if k in lc},
       "lcore 0's counters")
    eq(len(d["partitions"]), 1, "one partition")
    p = d["partitions"][0]
    eq((p["curr_items"], p["mem_limit"]), (25, 16 << 20), "partition 0")
    eq(d["ports"][0]["driver"], "net_af_packet", "port driver")
    check(d["control"]["ctl_requests"] == 0, "no control requests yet: %s" % d["control"])
    parts = x.child.ok({"cmd": "partitions"})["partitions"]
    eq(parts[0]["curr_items"], 25, "partitions: curr_items")


@case
def stats_names(x):
    t = x.child.ok({"cmd": "stats"})["totals"]
    names = shmem.table("WC_LCORE_STATS") + shmem.table("WC_PART_STATS")
    check(len(names) > 60, "names parsed from contract.h: %d" % len(names))
    eq(sorted(set(names) - set(t)), [], "counters missing from the totals")
    eq(sorted(set(t) - set(names)), [], "totals that are no counter")
    check(all(isinstance(v, int) and v >= 0 for v in t.values()), "unsigned integers")


@case
def ports(x):
    d = x.child.ok({"cmd": "ports"})
    eq(len(d["ports"]), 1, "one port")
    p = d["ports"][0]
    eq((p["port_id"], p["name"], p["driver"]), (0, "net_af_packet0", "net_af_packet"), "port")
    eq(p["mac"], x.topo.srv_mac(), "the port's MAC (the veth's)")
    eq(p["link"]["up"], True, "link up")
    check(p["link"]["speed_mbps"] > 0, "link speed %s" % p["link"])
    s = p["stats"]
    check(s["ipackets"] >= 125 and s["opackets"] >= 125 and s["ibytes"] > s["ipackets"] * 40,
          "port counters %s" % s)
    eq(p["xstats"].get("rx_good_packets"), s["ipackets"], "xstats rx_good_packets")
    eq(p["xstats"].get("tx_good_packets"), s["opackets"], "xstats tx_good_packets")


@case
def config_get(x):
    d = x.child.ok({"cmd": "config", "args": ["get"]})
    check(d["generation"] >= 0, "generation")
    ml = option(d, "memory-limit")
    eq((ml["value"], ml["default"], ml["type"], ml["runtime"], ml["scope"]),
       (LIMIT, "64m", "size", True, "dataplane"), "memory-limit")
    check(ml["min"] == 4 << 20 and ml["max"] == 1 << 40, "memory-limit range %s" % ml)
    eq(option(d, "ip")["value"], x.topo.server_addr + "/24", "ip, the dataplane's")
    eq((option(d, "mgmt-socket")["scope"], option(d, "file-prefix")["scope"]),
       ("mgmt", "both"), "scopes")
    eq(option(d, "file-prefix")["value"], x.prefix, "file-prefix")
    one = x.child.ok({"cmd": "config", "args": ["get", "udp-port"]})
    eq([o["name"] for o in one["options"]], ["udp-port"], "get NAME: one option")
    eq(one["options"][0]["value"], "11211", "udp-port")


def config_values(x):
    d = x.child.ok({"cmd": "config", "args": ["dump"]})
    return d["generation"], d["values"]


@case
def config_set(x):
    gen0, _ = config_values(x)
    r = x.child.ok({"cmd": "config", "args": ["set", "udp-allow", "10.200.66.0/24"]})
    eq((r["name"], r["value"], r["generation"]), ("udp-allow", "10.200.66.0/24", gen0 + 1),
       "set udp-allow")
    got = x.child.ok({"cmd": "config", "args": ["get", "udp-allow"]})
    eq((got["options"][0]["value"], got["generation"]), ("10.200.66.0/24", gen0 + 1),
       "udp-allow read back")
    r = x.child.ok({"cmd": "config", "args": ["set", "memory-limit", "8192k"]})
    eq((r["value"], r["generation"]), ("8m", gen0 + 2), "memory-limit, canonical")
    eq(option(x.child.ok({"cmd": "config", "args": ["get"]}), "memory-limit")["value"], "8m",
       "memory-limit read back")
    # The partition publishes its new limit on its next tick.
    deadline = time.monotonic() + 2
    while True:
        p = x.child.ok({"cmd": "partitions"})["partitions"][0]
        if p["mem_limit"] == 8 << 20 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    eq(p["mem_limit"], 8 << 20, "partition 0's mem_limit")
    st = x.child.ok({"cmd": "stats"})
    eq(st["dataplane"]["config_generation"], gen0 + 2, "stats: config_generation")
    eq(st["control"]["ctl_requests"], 2, "control requests taken")
    # Still serving, with the new options.
    eq(x.c.set("att:after", "x"), b"STORED\r\n", "a set after the changes")


@case
def config_refused(x):
    gen0, vals0 = config_values(x)
    for args, pattern in (
            (["set", "memory-limit", "lots"], r"memory-limit"),
            (["set", "memory-limit", "1m"], r"memory-limit"),
            (["set", "memory-limit", "32m"], r"at most 16m"),  # above the start's
            (["set", "udp-allow", "10.200.66.0/33"], r"udp-allow"),
            (["set", "udp-port", "11212"], r"restart wirecached"),
            (["set", "mgmt-socket", "/tmp/x.sock"], r"restart wirecache-mgmt"),
            (["set", "no-such-option", "1"], r"unknown option no-such-option"),
            (["get", "no-such-option"], r"unknown option no-such-option")):
        r = x.child.request({"cmd": "config", "args": args})
        check(r.get("ok") is False and r.get("code") == "refused" and
              re.search(pattern, r.get("error", "")) and "\n" not in r["error"],
              "config %s answered %s" % (" ".join(args), r))
    gen1, vals1 = config_values(x)
    eq(gen1, gen0, "generation after refusals")
    eq(vals1, vals0, "values after refusals")


@case
def config_dump(x):
    gen, vals = config_values(x)
    d = x.child.ok({"cmd": "config", "args": ["get"]})
    eq(gen, d["generation"], "generation")
    eq(vals, {o["name"]: o["value"] for o in d["options"]}, "dump = get's values")
    eq((vals["memory-limit"], vals["udp-allow"], vals["udp-port"]),
       ("8m", "10.200.66.0/24", "11211"), "live values")


@case
def events(x):
    evs = x.child.ok({"cmd": "events"})["events"]
    logs = [e for e in evs if e["type"] == "log"]
    texts = [e["text"] for e in logs]
    lines = [e for e in logs if re.search(r"config: udp-allow = 10\.200\.66\.0/24", e["text"])]
    check(len(lines) == 1, "one udp-allow log line in %s" % texts)
    e = lines[0]
    eq(e["level"], "notice", "its level")
    check(abs(e["time_ns"] / 1e9 - time.time()) < 600, "its time %s" % e["time_ns"])
    check(any(re.search(r"config: memory-limit = 8m", t) for t in texts),
          "the memory-limit line in %s" % texts)
    eq(x.child.ok({"cmd": "events"})["events"], [], "events are drained")


@case
def flush(x):
    eq(x.c.set("att:flush", "here"), b"STORED\r\n", "set")
    eq(x.c.get("att:flush"), b"here", "get before the flush")
    eq(x.child.ok({"cmd": "flush"}), {"flushed": True, "delay": 0}, "flush")
    eq(x.c.get("att:flush"), None, "get after the flush")
    eq(x.c.get("att:0"), None, "the workload's keys are gone too")
    eq(x.child.ok({"cmd": "stats"})["totals"]["curr_items"], 0, "curr_items")
    eq(x.c.set("att:flush", "again"), b"STORED\r\n", "a set after the flush")
    eq(x.c.get("att:flush"), b"again", "and its get")
    r = x.child.request({"cmd": "flush", "args": ["soon"]})
    eq((r["ok"], r["code"]), (False, "usage"), "flush soon")


@case
def usage(x):
    for req in ({"cmd": "frobnicate"}, {"cmd": "config"}, {"cmd": "config", "args": ["set"]},
                {"cmd": "stats", "args": ["x"]}, {"cmd": "log"}, {"args": []},
                {"cmd": "config", "args": [1]}, b"not json", b"[1,2]"):
        r = x.child.request(req)
        check(r.get("ok") is False and r.get("code") == "usage" and r.get("error"),
              "%r answered %s" % (req, r))
    eq(x.child.ok({"cmd": "status"})["health"], "ok", "still serving")


@case
def tap_link(x):
    """A net_tap port whose kernel side goes down: status names the port. The
    tap PMD reads the link through a descriptor only wirecached has, so this
    is the dataplane's published link (mgmt/contract.h), not mgmt's own read."""
    huge = netns.Hugepages(PAGES)
    check(huge.ok, "hugepages for a second dataplane")
    topo = netns.TapTopology(net=NET + 100, tag="at")
    prefix = "wcat%dt" % os.getpid()
    child = None
    try:
        netns.start_wirecached(topo, opts=["--memory-limit", LIMIT, "--mbufs", "4095"],
                               lifetime=60, huge=huge, prefix=prefix)
        child = Child(x.path, prefix)

        def health(want, word):
            def seen():
                d = child.ok({"cmd": "status"})
                ok = d["health"] == want and (word is None or
                                              any(word in r for r in d["reasons"]))
                return d if ok else None
            return wait_for("health %s" % want, seen)

        d = health("ok", None)
        eq([p["link_up"] for p in d["ports"]], [True], "the tap's link up")
        netns.sh(["ip", "link", "set", topo.cli_if, "down"], ns=topo.cli)
        d = health("unhealthy", "port 0 link down")
        eq([p["link_up"] for p in d["ports"]], [False], "ports[].link_up")
        eq(child.ok({"cmd": "ports"})["ports"][0]["link"]["up"], False, "ports: link.up")
        netns.sh(["ip", "link", "set", topo.cli_if, "up"], ns=topo.cli)
        health("ok", None)
    finally:
        if child is not None:
            child.close()
        topo.close()
        huge.close()
        shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)


@case
def stdin_closed(x):
    """wirecache-mgmt closing the pipe ends the child cleanly (status 0)."""
    x.child.proc.stdin.close()
    eq(x.child.proc.wait(10), 0, "exit status after EOF (stderr: %s)" % x.child.stderr())
    # A fresh child attaches to the same dataplane and sees the same state.
    x.child = Child(x.path, x.prefix)
    eq(x.child.ok({"cmd": "status"})["dataplane"]["pid"], x.pid, "attached again")
    eq(x.child.ok({"cmd": "config", "args": ["get", "memory-limit"]})["options"][0]["value"],
       "8m", "the live config")


@case
def contract_mismatch(x):
    """A dataplane of another contract version: one line, exit 3."""
    path, off = shmem.find(x.huge)
    check(path is not None, "wirecached's shared block found in %s" % x.huge.dir)
    shmem.set_version(path, off, CONTRACT - 1)
    try:
        p = subprocess.run([x.path, "--", "--file-prefix", x.prefix], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
    finally:
        shmem.set_version(path, off, CONTRACT)
    last = p.stderr.strip().splitlines()[-1:]
    eq(p.returncode, 3, "exit status (%s)" % p.stderr.strip())
    eq(last, ["wirecache-mgmt-attach: contract version %d, this mgmt speaks %d" %
              (CONTRACT - 1, CONTRACT)], "its line")
    eq(p.stdout, "", "nothing on stdout")
    eq(x.child.ok({"cmd": "status"})["health"], "ok", "the attached child still serves")


@case
def primary_dies(x):
    check(x.child.proc.poll() is None, "the child is running")
    os.kill(x.pid, signal.SIGKILL)
    t0 = time.monotonic()
    try:
        rc = x.child.proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - t0
    err = x.child.stderr()
    eq(rc, 4, "exit status when wirecached dies (stderr: %s)" % err)
    # The daemon counts on ~100 ms; a loaded test machine gets slack.
    check(took < 1.0, "exited %.3f s after wirecached died" % took)
    check(re.search(r"wirecached \(pid %d\) exited" % x.pid, err), "stderr: %r" % err)
    netns.log("the child exited 4, %.0f ms after wirecached" % (took * 1000))


@case
def no_dataplane(x):
    for prefix in (x.prefix, "wcat-none%d" % os.getpid()):  # died; never was
        p = subprocess.run([x.path, "--", "--file-prefix", prefix], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        err = p.stderr.strip()
        eq(p.returncode, 2, "exit status with no wirecached of prefix %s (%s)" % (prefix, err))
        check(re.fullmatch(r"wirecache-mgmt-attach: no wirecached is running with "
                           r"file-prefix %s \(.*\)" % re.escape(prefix), err),
              "one clear line: %r" % err)
        eq(p.stdout, "", "nothing on stdout")


def main():
    netns.require()
    return cases.main_ctx(Ctx, netns.cleanup_all)


if __name__ == "__main__":
    sys.exit(main())
