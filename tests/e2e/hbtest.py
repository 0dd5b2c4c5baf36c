"""End-to-end test support: real hbd processes on 127.0.0.1 in temporary
directories, driven by the real tools, checked through the database and
the logs. Every wait is a poll with a deadline, never a bare sleep.

The build directory comes from HB_BUILD (set by ctest); tests are plain
unittest cases, one scenario each.
"""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

BUILD = os.environ.get("HB_BUILD", os.path.join(os.path.dirname(__file__),
                                                "..", "..", "build"))
HBD = os.path.join(BUILD, "hbd", "hbd")
KEYGEN = os.path.join(BUILD, "tools", "hb-keygen")
LOAD = os.path.join(BUILD, "tools", "hb-load")
WIRE = os.path.join(BUILD, "tools", "hb-wire")


def wait_for(what, fn, timeout=10.0, every=0.05):
    """Polls fn() until it returns a true value; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(every)


class Hbd:
    """One hbd process with its own directory, key, config and database."""

    def __init__(self, root, extra="", security="sign", keys=True):
        self.dir = root
        self.db = os.path.join(root, "hb.db")
        self.key = os.path.join(root, "hb.key")
        self.conf = os.path.join(root, "hbd.yaml")
        self.log_path = os.path.join(root, "hbd.log")
        if keys and not os.path.exists(self.key):
            subprocess.run([KEYGEN, "-i", "1", "-o", self.key], check=True,
                           stderr=subprocess.DEVNULL)
        self.write_conf(extra, security)
        self.proc = None
        self.port = None

    def write_conf(self, extra="", security="sign"):
        with open(self.conf, "w") as f:
            f.write("listen: [127.0.0.1]\nport: 0\n")
            f.write("database: %s\n" % self.db)
            f.write("security: %s\n" % security)
            if os.path.exists(self.key):
                f.write("key_file: %s\n" % self.key)
            f.write("log: {level: info}\n")
            f.write(extra)

    def start(self):
        """Starts hbd (again: a restart reads only the new log lines)."""
        self.log_file = open(self.log_path, "ab")
        self.start_offset = self.log_size()
        self.proc = subprocess.Popen([HBD, "-f", "-c", self.conf],
                                     stdout=self.log_file,
                                     stderr=subprocess.STDOUT)
        m = wait_for("hbd to start", lambda: self._started(), 10)
        self.port = int(m.group(1))
        return self

    def _started(self):
        if self.proc.poll() is not None:
            raise AssertionError("hbd exited with %d:\n%s"
                                 % (self.proc.returncode, self.log()))
        log = self.log()[getattr(self, "start_offset", 0):]
        if "started:" not in log:
            return None
        return re.search(r"listening on \S+ port (\d+)", log)

    def log(self):
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        """SIGTERM; asserts a clean exit (status 0)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        self.log_file.close()
        return rc

    def kill(self):
        self.proc.kill()
        self.proc.wait(10)
        self.log_file.close()

    def query(self, sql, args=()):
        """Reads the database as an operator would, read-only."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True,
                              timeout=5)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def scalar(self, sql, args=()):
        rows = self.query(sql, args)
        return rows[0][0] if rows else None

    def counter(self, name):
        """A counter as hbd last stored it (every 10 s and at exit)."""
        return self.scalar("SELECT value FROM counters WHERE name = ?",
                           (name,)) or 0

    def log_size(self):
        """The log's length now: pass it to wait_log() as `since`."""
        return len(self.log())

    def wait_log(self, text, since=0, timeout=10):
        """Waits until text appears in the log after offset since."""
        return wait_for("%r in the hbd log" % text,
                        lambda: text in self.log()[since:], timeout)

    def live_counters(self, timeout=10):
        """SIGUSR1, then the counters hbd logs in answer, as a dict.

        The set may span several "counters:" lines; the last one starts
        with hosts=N. Counters that are 0 are not logged: use .get(k, 0).
        """
        since = self.log_size()
        self.signal(signal.SIGUSR1)
        text = wait_for("a counters line in the hbd log",
                        lambda: self._counters_after(since), timeout)
        out = {}
        for m in re.finditer(r"(\w+)=(\d+)", text):
            out[m.group(1)] = int(m.group(2))
        return out

    def _counters_after(self, since):
        lines = [l.split("counters:", 1)[1]
                 for l in self.log()[since:].splitlines()
                 if " info core: counters:" in l]
        for i, l in enumerate(lines):
            if l.lstrip().startswith("hosts="):
                return " ".join(lines[:i + 1])
        return None

    def stored_counters(self):
        """Every counter as hbd last stored it, as a dict."""
        return dict(self.query("SELECT name, value FROM counters"))


def load(hbd, *args, timeout=60):
    """Runs hb-load against hbd with the shared key; returns its JSON."""
    cmd = [LOAD, "-s", "127.0.0.1:%d" % hbd.port, "-k", hbd.key,
           "-m", "sign", "--json"] + [str(a) for a in args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         timeout=timeout)
    return json.loads(out.stdout)


def load_cmd(hbd, *args):
    """The hb-load command line load() runs."""
    return [LOAD, "-s", "127.0.0.1:%d" % hbd.port, "-k", hbd.key,
            "-m", "sign", "--json"] + [str(a) for a in args]


def finish_load(proc, timeout=60):
    """Waits for a start_load() run: (exit status, its JSON or None)."""
    out, err = proc.communicate(timeout=timeout)
    try:
        return proc.returncode, json.loads(out)
    except ValueError:
        return proc.returncode, None


def check_conf(path):
    """hbd -n -c path: a CompletedProcess with text stdout and stderr."""
    return subprocess.run([HBD, "-n", "-c", path], capture_output=True,
                          text=True, timeout=30)


class HbTestCase(unittest.TestCase):
    """Gives each test a temporary directory and stops its daemons."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hb-e2e-")
        self.daemons = []

    def tearDown(self):
        failed = self._failed()
        for p in getattr(self, "procs", []):
            if p.poll() is None:
                p.kill()
                p.wait(10)
        for d in self.daemons:
            if d.proc and d.proc.poll() is None:
                d.kill()
            if failed:
                print("---- hbd log (%s) ----\n%s" % (d.dir, d.log()))
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        errors = getattr(outcome, "errors", None)
        if errors is not None:  # Python < 3.11
            return any(e for _, e in errors if e)
        result = getattr(outcome, "result", None)
        if result is None:
            return False
        return any(t is self for t, _ in
                   getattr(result, "errors", []) +
                   getattr(result, "failures", []))

    def start_load(self, hbd, *args):
        """hb-load in the background (stopped in tearDown); see finish()."""
        p = subprocess.Popen(load_cmd(hbd, *args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        if not hasattr(self, "procs"):
            self.procs = []
        self.procs.append(p)
        return p

    def hbd(self, extra="", **kw):
        sub = tempfile.mkdtemp(dir=self.tmp)
        d = Hbd(sub, extra, **kw)
        self.daemons.append(d)
        return d

    def assertNoErrors(self, d, allowed=()):
        """No unexpected error lines in the daemon's log."""
        for line in d.log().splitlines():
            if " error " in line and not any(a in line for a in allowed):
                self.fail("unexpected error in hbd log: " + line)
