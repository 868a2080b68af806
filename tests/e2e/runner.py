# SPDX-License-Identifier: BSD-3-Clause
"""A tiny test runner for the end-to-end scripts (no pytest on the machine).

    cases = runner.Cases()

    @cases.add
    def get_multi(ctx):
        runner.eq(ctx.c.request(b"get a b\\r\\n"), b"END\\r\\n")

    sys.exit(cases.run(ctx))

Each case runs even when an earlier one failed; a failure prints the case,
what was sent and both replies. The script ends with `N passed, N failed`
and exits non-zero when anything failed. `--only NAME[,NAME]` picks cases.
"""

import re
import sys
import time
import traceback


class Fail(AssertionError):
    pass


def show(b, limit=400):
    """repr of bytes, shortened in the middle when long."""
    if isinstance(b, (bytes, bytearray)) and len(b) > limit:
        return "%r ...(%d bytes)... %r" % (bytes(b[:limit // 2]), len(b), bytes(b[-limit // 4:]))
    return repr(b)


def eq(got, want, what=""):
    if got != want:
        raise Fail("%s\n    want: %s\n    got:  %s" % (what or "mismatch", show(want), show(got)))


def match(got, pattern, what=""):
    """@p got (bytes) must match regex @p pattern (bytes) entirely."""
    if re.fullmatch(pattern, got, re.S) is None:
        raise Fail("%s\n    want (regex): %s\n    got:  %s" % (what or "mismatch", show(pattern),
                                                               show(got)))


def check(cond, what):
    if not cond:
        raise Fail(what)


def recv_to_eof(s):
    """Everything socket @p s receives until the peer closes (its timeout
    still applies to each read)."""
    chunks = []
    while True:
        b = s.recv(1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def wait_for(what, fn, timeout=30, step=0.1):
    """Poll @p fn until it returns something true, and return that; a Fail
    naming @p what after @p timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Fail("timed out waiting for " + what)
        time.sleep(step)


class Cases:
    def __init__(self):
        self.cases = []

    def add(self, fn):
        self.cases.append(fn)
        return fn

    def main(self, make_ctx, cleanup=None):
        """A test script's main: build the context (a failure there is one
        failed check), run every case, then clean up whatever happened."""
        try:
            ctx = make_ctx()
        except Exception as e:
            print("setup failed: %s" % e)
            print("0 passed, 1 failed")
            return 1
        try:
            return self.run(ctx)
        finally:
            if cleanup:
                cleanup()

    def main_ctx(self, factory, cleanup_all=None):
        """main() for a script whose context has a cleanup(): build it with
        @p factory, run every case, then clean up the context (if it was
        made) and call @p cleanup_all (e.g. netns.cleanup_all)."""
        made = []

        def make():
            made.append(factory())
            return made[0]

        def cleanup():
            if made:
                made[0].cleanup()
            if cleanup_all:
                cleanup_all()
        return self.main(make, cleanup)

    def run(self, ctx, argv=None):
        argv = sys.argv if argv is None else argv
        only = None
        for i, a in enumerate(argv):
            if a == "--only" and i + 1 < len(argv):
                only = set(argv[i + 1].split(","))
        passed = failed = 0
        failures = []
        for fn in self.cases:
            if only and fn.__name__ not in only:
                continue
            t0 = time.monotonic()
            try:
                fn(ctx)
            except Exception as e:
                failed += 1
                detail = str(e) if isinstance(e, Fail) else traceback.format_exc()
                failures.append(fn.__name__)
                print("not ok - %s (%.1fs)\n  %s" % (fn.__name__, time.monotonic() - t0,
                                                      detail.replace("\n", "\n  ")), flush=True)
                hook = getattr(ctx, "on_failure", None)
                if hook:
                    hook()
            else:
                passed += 1
                print("ok - %s (%.1fs)" % (fn.__name__, time.monotonic() - t0), flush=True)
        if failures:
            print("failed: " + " ".join(failures))
        print("%d passed, %d failed" % (passed, failed), flush=True)
        return 1 if failed else 0
