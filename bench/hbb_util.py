#!/usr/bin/env python3
"""Shared helpers of the load benchmarks (bench/hbbench.py): formatting,
CPU and memory readings from /proc, the tools, hb-load runs and one hbd
in its own directory.
"""
import argparse
import datetime
import json
import os
import re
import select
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TICK = os.sysconf("SC_CLK_TCK")

# Targets (docs/BENCHMARKS.md, "Summary").
T_RAW_SHARE = 0.70
T_RATE = 275000
T_LAG_P99_MS = 2000
T_HBC_RSS_KB = 2048
T_HBC_CORE_PCT = 0.01
T_MEM_PER_HOST = 512  # bytes of hbd RSS per host at 1M hosts


def log(msg):
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(p * len(v)))]


def fmt_int(v):
    return "n/a" if v is None else "{:,}".format(int(round(v))).replace(
        ",", "\u202f")


def fmt_pct(v, digits=3):
    return "n/a" if v is None else ("%." + str(digits) + "f %%") % v


# ---- machine and interference ----

def cpu_busy_jiffies():
    """Jiffies of all CPUs: (busy, total). Busy includes irq and softirq:
    with tick-based accounting (this kernel) a tick in a softirq is
    charged to the interrupted process too, so our processes' times
    include it."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, irq, softirq = v[0], v[1], v[2], v[5], v[6]
    steal = v[7] if len(v) > 7 else 0
    return user + nice + system + irq + softirq, sum(v[:8]) - steal


class Phase:
    """CPU used on the machine during a step by processes not ours."""

    def __init__(self, name, report):
        self.name, self.report = name, report

    def __enter__(self):
        self.t = time.monotonic()
        self.busy0, _ = cpu_busy_jiffies()
        self.ours0 = self._ours()
        self.load0 = os.getloadavg()[0]
        return self

    @staticmethod
    def _ours():
        t = os.times()
        return (t.user + t.system + t.children_user + t.children_system)

    def __exit__(self, *exc):
        secs = time.monotonic() - self.t
        busy1, _ = cpu_busy_jiffies()
        busy = (busy1 - self.busy0) / TICK
        ours = self._ours() - self.ours0 + self.extra()
        other = max(0.0, busy - ours)
        self.report.append({"phase": self.name, "seconds": secs,
                            "other_cores": other / secs if secs else 0,
                            "load1": os.getloadavg()[0]})
        return False

    extra_fns = []

    def extra(self):
        # CPU of our long-lived children not yet reaped (hbd), measured
        # by the step itself and registered here.
        return sum(fn() for fn in Phase.extra_fns)


def machine():
    def first(path, key):
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        return "unknown"

    def read(path):
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            return "unknown"

    mem_kb = int(first("/proc/meminfo", "MemTotal").split()[0])
    u = os.uname()
    sqlite_v = sqlite3.sqlite_version
    return {
        "uname": "%s %s %s" % (u.sysname, u.release, u.machine),
        "cpu": first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "mem_gib": mem_kb / 1048576.0,
        "rmem_max": int(read("/proc/sys/net/core/rmem_max")),
        "rmem_default": int(read("/proc/sys/net/core/rmem_default")),
        "virt": "virtual machine" if " hypervisor" in read(
            "/proc/cpuinfo") else "no hypervisor flag",
        "sqlite": sqlite_v,
        "uid": os.geteuid(),
        "load_start": os.getloadavg(),
    }


# ---- processes ----

def proc_field(pid, name, key):
    """The number after "key:" in /proc/PID/name (kB for memory); None."""
    try:
        with open("/proc/%d/%s" % (pid, name)) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_status(pid, key):
    return proc_field(pid, "status", key)


def task_cpu(pid):
    """{tid: seconds on CPU} for every thread (schedstat, ns resolution)."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for t in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                out[int(t)] = int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            pass
    return out


def rollup(pid, key):
    return proc_field(pid, "smaps_rollup", key)


def smaps_by_object(pid):
    """[(object, rss KiB)] from /proc/PID/smaps, largest first: libraries
    by file name, [heap], [stack], and "anonymous" (thread stacks,
    mmap'd arenas)."""
    out = {}
    name = None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                parts = line.split()
                if not parts:
                    continue
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    name = parts[5] if len(parts) > 5 else "anonymous"
                    name = name.rsplit("/", 1)[-1]
                    if ".so" in name:
                        name = name.split(".so")[0] + ".so"
                elif parts[0] == "Rss:" and name:
                    out[name] = out.get(name, 0) + int(parts[1])
    except OSError:
        pass
    return sorted(out.items(), key=lambda x: -x[1])


def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
            if int(s.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return kids


class Tools:
    def __init__(self, build):
        self.build = build
        self.hbd = os.path.join(build, "hbd", "hbd")
        self.load = os.path.join(build, "tools", "hb-load")
        self.keygen = os.path.join(build, "tools", "hb-keygen")
        self.sink = os.path.join(build, "bench", "udp-sink")
        self.wakeup = os.path.join(build, "bench", "wakeup-cost")
        self.hbc = os.path.join(build, "hbc", "hbc")
        self.plugins = os.path.join(build, "plugins")


def run_load(tools, port, key, args, timeout):
    cmd = [tools.load, "-s", "127.0.0.1:%d" % port, "-k", key, "-m", "sign",
           "--json"] + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("hb-load failed (%d): %s" % (p.returncode,
                                                        p.stderr.strip()))
    return json.loads(p.stdout)


def start_load(tools, port, key, args):
    cmd = [tools.load, "-s", "127.0.0.1:%d" % port, "-k", key, "-m", "sign",
           "--json"] + [str(a) for a in args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish_load(p, timeout):
    out, err = p.communicate(timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("hb-load failed (%d): %s" % (p.returncode,
                                                        err.strip()))
    return json.loads(out)


class Sink:
    def __init__(self, tools, seconds):
        self.p = subprocess.Popen([tools.sink, "-d", str(seconds)],
                                  stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        m = re.match(r"port (\d+)", line)
        if not m:
            self.p.kill()
            raise RuntimeError("udp-sink did not start: %r" % line)
        self.port = int(m.group(1))

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        out, _ = self.p.communicate(timeout=10)
        return json.loads(out.strip().splitlines()[-1])


class Hbd:
    """One hbd in its own directory: port 0, sign mode, SQLite store."""

    def __init__(self, tools, work, name, key, extra="",
                 log_conf="{level: info}"):
        self.tools = tools
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.db = os.path.join(self.dir, "hb.db")
        self.conf = os.path.join(self.dir, "hbd.yaml")
        self.log_path = os.path.join(self.dir, "hbd.log")
        with open(self.conf, "w") as f:
            f.write("listen: [127.0.0.1]\nport: 0\n")
            f.write("database: %s\n" % self.db)
            f.write("security: sign\nkey_file: %s\n" % key)
            f.write("pid_file: %s\n" % os.path.join(self.dir, "hbd.pid"))
            f.write("log: %s\n" % log_conf)
            f.write(extra)
        self.proc = None
        self.port = None
        self.off = 0
        self.lock = threading.Lock()
        self.cpu_done = 0.0
        # Where hb-load left the hosts it simulated here (epoch, next
        # seq), and the port they send from: see run_chained().
        self.chain = None
        self.src_port = free_udp_port()

    def start(self, cmd_prefix=(), timeout=30):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(list(cmd_prefix) + [
            self.tools.hbd, "-f", "-c", self.conf], stdout=self.logf,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("hbd exited: %s" % self.tail())
            text = self.read_all()
            m = re.search(r"listening on \S+ port (\d+)", text)
            if m and "started:" in text:
                self.port = int(m.group(1))
                self.off = len(text.encode())
                self.pid = self.proc.pid
                Phase.extra_fns.append(self.cpu_total)
                return self
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait(10)
        raise RuntimeError("hbd did not start: %s" % self.tail())

    def cpu_total(self):
        if self.proc and self.proc.poll() is None:
            return sum(task_cpu(self.pid).values())
        return 0.0

    def read_all(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def tail(self, n=2000):
        return self.read_all()[-n:]

    def counters(self, timeout=15):
        """SIGUSR1, then the counters hbd logs, as a dict."""
        with self.lock:
            with open(self.log_path, "rb") as f:
                f.seek(0, 2)
                start = f.tell()
            self.proc.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + timeout
            buf = b""
            while time.monotonic() < deadline:
                with open(self.log_path, "rb") as f:
                    f.seek(start)
                    buf = f.read()
                lines = [l.split("counters:", 1)[1] for l in
                         buf.decode(errors="replace").splitlines()
                         if " info core: counters:" in l]
                for i, l in enumerate(lines):
                    if l.lstrip().startswith("hosts="):
                        out = {}
                        for m in re.finditer(r"(\w+)=(\d+)",
                                             " ".join(lines[:i + 1])):
                            out[m.group(1)] = int(m.group(2))
                        return out
                time.sleep(0.05)
            raise RuntimeError("no counters line from hbd")

    def rss_kb(self):
        return proc_status(self.pid, "VmRSS")

    def hwm_kb(self):
        return proc_status(self.pid, "VmHWM")

    def threads(self):
        return task_cpu(self.pid)

    def query(self, sql, args=()):
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True,
                              timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def wait_store(self, since_ms, timeout=90):
        """Waits until the store has written every heartbeat up to since_ms
        (the newest last_seen in the database reaches it): the writer has
        caught up. Returns seconds waited, None on timeout."""
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            try:
                v = self.query("SELECT max(last_seen) FROM hosts")[0][0]
                if v is not None and v >= since_ms:
                    return time.monotonic() - t
            except sqlite3.Error:
                pass
            time.sleep(0.25)
        return None

    def wait_rows(self, n, timeout):
        """Waits until the hosts table has n rows; returns seconds."""
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            try:
                if self.query("SELECT count(*) FROM hosts")[0][0] >= n:
                    return time.monotonic() - t
            except sqlite3.Error:
                pass
            time.sleep(0.25)
        return None

    def stop(self, timeout=60):
        if not self.proc or self.proc.poll() is not None:
            return
        if self.cpu_total in Phase.extra_fns:
            Phase.extra_fns.remove(self.cpu_total)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.logf.close()


def diff(a, b, k):
    return b.get(k, 0) - a.get(k, 0)


def free_udp_port(lo=20000, hi=32000):
    """A UDP port free now, below Linux's ephemeral range (32768 up), so
    that no other socket is given it meanwhile; None if there is none."""
    for port in range(lo, hi):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    return None


def chain_args(h):
    """hb-load options that continue the hosts of h's last chained run:
    the same epoch, seqs above every one used (PROTOCOL.md section 5), so
    hbd sees the same client runs go on instead of restarting them; and
    the same source port, or hbd would store every host's row anew for
    its new address."""
    args = ["--source-port", h.src_port] if h.src_port else []
    if h.chain:
        args += ["--epoch", h.chain["epoch"],
                 "--seq-start", h.chain["next_seq"]]
    return args


def chain_note(h, res):
    h.chain = {"epoch": res["epoch"], "next_seq": res["next_seq"]}


def run_chained(ctx, h, args, timeout):
    """run_load against h, continuing its chain (the first run starts
    it). Every run of one seed against one hbd must go through here: a
    run with a new epoch would make the chain's older one a replay."""
    try:
        res = run_load(ctx.tools, h.port, ctx.key,
                       list(args) + chain_args(h), timeout)
    except RuntimeError as e:
        if "cannot send from port" not in str(e):
            raise
        # Taken meanwhile: another port (one new address for the hosts).
        h.src_port = free_udp_port()
        res = run_load(ctx.tools, h.port, ctx.key,
                       list(args) + chain_args(h), timeout)
    chain_note(h, res)
    return res


# ---- 1. raw UDP receive rate ----


# Table rows of rate steps, shared by sections 2 and "Gaps".
def step_label(s):
    return fmt_int(s["target"]) + "".join(
        " (%s)" % k for k in ("bisect", "disturbed", "retry") if s.get(k))


def rate_row(s, label=None):
    return [label or step_label(s),
            fmt_int(s["rate"]), fmt_pct(s["loss_pct"]),
            fmt_int(s["kernel_drops"]), fmt_int(s["ack_path_lost"]),
            fmt_pct(s.get("steady_drop_pct")) if "steady_drop_pct" in s
            else "—",
            "%.0f / %.0f ms" % (s["p50_us"] / 1000.0, s["p99_us"] / 1000.0),
            "yes" if s["ok"] else "no"]


def cpu_row(s, label=None):
    return [label or step_label(s),
            "%.2f" % s["cpu_main"], "%.2f" % s["cpu_other"],
            "%.2f" % s.get("cpu_load", 0), "%.2f" % s.get("other_cores", 0),
            "%.1f" % s["us_main"] if "us_main" in s else "—",
            "%.1f" % s["us_other"] if "us_other" in s else "—",
            "%.1f s" % s["store_catch_up_s"]
            if s.get("store_catch_up_s") is not None else "> 90 s"]


def stop_proc(p, timeout=15):
    """SIGTERM, then SIGKILL if it outlives timeout seconds."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
