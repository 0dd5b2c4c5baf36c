"""End-to-end test support: real hbd processes on 127.0.0.1 in temporary
directories, driven by the real tools, checked through the database and
the logs. Every wait is a poll with a deadline, never a bare sleep.

The build directory comes from HB_BUILD (set by ctest); tests are plain
unittest cases, one scenario each.
"""
import json
import os
import re
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

BUILD = os.environ.get("HB_BUILD", os.path.join(os.path.dirname(__file__),
                                                "..", "..", "build"))
HBD = os.path.join(BUILD, "hbd", "hbd")
KEYGEN = os.path.join(BUILD, "tools", "hb-keygen")
LOAD = os.path.join(BUILD, "tools", "hb-load")
WIRE = os.path.join(BUILD, "tools", "hb-wire")
HBC = os.path.join(BUILD, "hbc", "hbc")
PLUGIN_DIRS = (os.path.join(BUILD, "plugins"),
               os.path.join(BUILD, "tests", "plugins"))


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

    def __init__(self, root, extra="", security="sign", keys=True, port=0):
        self.dir = root
        self.conf_port = port  # 0: any free port (see free_port())
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
            f.write("listen: [127.0.0.1]\nport: %d\n"
                    % getattr(self, "conf_port", 0))
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


def free_port():
    """A UDP port of 127.0.0.1 free right now (for an Hbd(port=...) that
    must come back on the same port after a restart)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def plugin_path(name):
    """The built plugin `name`: os, load... or a fixture (fx_good...)."""
    for d in PLUGIN_DIRS:
        path = os.path.join(d, name + ".so")
        if os.path.exists(path):
            return os.path.abspath(path)
    raise AssertionError("no plugin %s.so in %s" % (name, PLUGIN_DIRS))


def yaml_value(v):
    """v in YAML flow style: dicts, lists, strings, numbers, booleans."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(yaml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join("%s: %s" % (k, yaml_value(x))
                               for k, x in v.items()) + "}"
    raise TypeError("no YAML for %r" % (v,))


def plugin_child_env():
    """The environment for hbc: in a sanitizer build, a crashing plugin
    process must die of its signal as in production, not be turned into
    an abort by AddressSanitizer's own SEGV handler."""
    env = dict(os.environ)
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        env[var] = (env.get(var, "") + ":handle_segv=0").lstrip(":")
    return env


class Hbc:
    """One hbc process with its own directory: hbc.yaml, a plugin
    directory of symlinks to the built plugins, a state directory.

    hbd: the Hbd it reports to (its port and key), or port/key given
    directly. plugins: names of built plugins to link (os, load,
    fx_good...). sections: {plugin: {key: value}}, the `plugins:` of
    hbc.yaml. settings: other top-level keys, {key: value}, which
    replace the defaults written here (interval 1s, hostname...).
    """

    def __init__(self, root, hbd=None, plugins=(), sections=None,
                 port=None, key=None, **settings):
        self.dir = root
        self.conf = os.path.join(root, "hbc.yaml")
        self.plugin_dir = os.path.join(root, "plugins")
        self.state_dir = os.path.join(root, "state")
        self.log_path = os.path.join(root, "hbc.log")
        self.hbd = hbd
        self.port = port
        self.key = key if key else hbd.key if hbd else None
        self.sections = dict(sections or {})
        self.settings = dict(settings)
        self.proc = None
        self.log_file = None
        self.start_offset = 0
        os.makedirs(self.plugin_dir, exist_ok=True)
        for name in plugins:
            self.add_plugin(name)
        self.write_conf()

    def server(self):
        port = self.port or (self.hbd.port if self.hbd else None) or \
            (self.hbd.conf_port if self.hbd else None)
        if not port:
            raise AssertionError("Hbc: start the Hbd first (or give port)")
        return "127.0.0.1:%d" % port

    def write_conf(self):
        conf = {
            "servers": [self.server()],
            "interval": "1s",
            "state_dir": self.state_dir,
            "hostname": "hbc-%s" % os.path.basename(self.dir),
            "security": "sign" if self.key else "none",
            "plugin_dir": self.plugin_dir,
            "log": {"level": "info"},
        }
        if self.key:
            conf["key_file"] = self.key
        conf.update(self.settings)
        with open(self.conf, "w") as f:
            for k, v in conf.items():
                if v is not None:
                    f.write("%s: %s\n" % (k, yaml_value(v)))
            if self.sections:
                f.write("plugins:\n")
                for name, sec in self.sections.items():
                    f.write("  %s: %s\n" % (name, yaml_value(sec or {})))

    def add_plugin(self, name, file=None):
        """Links the built plugin name into the plugin directory (as
        file, default NAME.so)."""
        dst = os.path.join(self.plugin_dir, file or name + ".so")
        if os.path.lexists(dst):
            os.unlink(dst)
        os.symlink(plugin_path(name), dst)

    def remove_plugin(self, file):
        os.unlink(os.path.join(self.plugin_dir, file))

    @property
    def hostname(self):
        return self.settings.get("hostname",
                                 "hbc-%s" % os.path.basename(self.dir))

    def start(self, wait=True):
        """Starts `hbc -f` (again); waits for its "started:" line."""
        self.log_file = open(self.log_path, "ab")
        self.start_offset = self.log_size()
        self.proc = subprocess.Popen([HBC, "-f", "-c", self.conf],
                                     stdout=self.log_file,
                                     stderr=subprocess.STDOUT,
                                     env=plugin_child_env())
        if wait:
            self.wait_started()
        return self

    def wait_started(self, timeout=10):
        wait_for("hbc to start", self._started, timeout)
        return self

    def _started(self):
        if self.proc.poll() is not None:
            raise AssertionError("hbc exited with %d:\n%s"
                                 % (self.proc.returncode, self.log()))
        return " started: host " in self.log()[self.start_offset:]

    def host_id(self):
        """The host UUID hbc keeps in its state directory."""
        with open(os.path.join(self.state_dir, "host-id")) as f:
            return f.read().strip()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def log_size(self):
        return len(self.log())

    def wait_log(self, text, since=0, timeout=10):
        return wait_for("%r in the hbc log" % text,
                        lambda: text in self.log()[since:], timeout)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        """SIGTERM; returns the exit status (the caller asserts 0)."""
        if not self.proc:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._close()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close()

    def _close(self):
        if self.log_file:
            self.log_file.close()
            self.log_file = None


def run_hbc(*args, timeout=30):
    """hbc with args: a CompletedProcess with text stdout and stderr."""
    return subprocess.run([HBC] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout)


class UdpTap:
    """A UDP relay in front of a server port: clients send to tap.port,
    the tap forwards to 127.0.0.1:target and relays the answers back,
    recording when each client datagram passed, as
    (time.monotonic(), header type: 1 HTB, 3 PLG, 4 BYE..., length).
    Only the header's type byte is read (the header is never encrypted).
    """

    def __init__(self, target):
        self.target = ("127.0.0.1", target)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.seen = []
        self._back = {}   # client address -> socket towards the server
        self._client = {}  # that socket -> client address
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            socks = [self.front] + list(self._client)
            ready, _, _ = select.select(socks, [], [], 0.1)
            for s in ready:
                if s is self.front:
                    data, addr = s.recvfrom(65536)
                    self.seen.append((time.monotonic(),
                                      data[3] if len(data) > 3 else 0,
                                      len(data)))
                    b = self._back.get(addr)
                    if b is None:
                        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        b.connect(self.target)
                        self._back[addr] = b
                        self._client[b] = addr
                    try:
                        b.send(data)
                    except OSError:
                        pass  # the server is away: a lost datagram
                else:
                    try:
                        data = s.recv(65536)
                    except OSError:
                        continue
                    self.front.sendto(data, self._client[s])

    def times(self, type_):
        """When datagrams of that type passed, in order."""
        return [t for t, ty, _ in list(self.seen) if ty == type_]

    def close(self):
        self._stop = True
        self._thread.join(5)
        for s in [self.front] + list(self._client):
            s.close()


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
        self.clients = []

    def tearDown(self):
        failed = self._failed()
        clients = getattr(self, "clients", [])
        for c in clients:
            c.kill()
        if failed:
            for c in clients[:3]:
                print("---- hbc log (%s) ----\n%s" % (c.dir, c.log()))
            for c in clients[3:]:
                tail = c.log().splitlines()[-5:]
                print("---- hbc log (%s), last lines ----\n%s"
                      % (c.dir, "\n".join(tail)))
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

    def hbc(self, hbd=None, plugins=(), **kw):
        """An Hbc (not started) reporting to hbd; killed in tearDown.
        See Hbc for the arguments."""
        sub = tempfile.mkdtemp(dir=self.tmp, prefix="c")
        c = Hbc(sub, hbd, plugins, **kw)
        self.clients.append(c)
        return c

    def assertNoErrors(self, d, allowed=()):
        """No unexpected error lines in the daemon's log."""
        for line in d.log().splitlines():
            if " error " in line and not any(a in line for a in allowed):
                self.fail("unexpected error in hbd log: " + line)
