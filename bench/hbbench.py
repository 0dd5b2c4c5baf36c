#!/usr/bin/env python3
"""The load benchmarks behind docs/BENCHMARKS.md; bench/run.sh runs this
after building. Everything runs on 127.0.0.1, in a temporary directory,
each step bounded in count and time:

 1. raw UDP receive rate: udp-sink counting what hb-load sends;
 2. hbd's highest HTB rate at < 0.1 % loss (sign mode, SQLite, 100k
    hosts), with hbd's own counters saying where loss happens;
 3. hbd's resident memory with 100k and 1M hosts;
 4. store lag: heartbeat arrival to row visible to a reader;
 5. down detection: silence to DOWN, against 3 intervals + 1 s;
 6. hbc's memory, CPU and heartbeat jitter (when hbc is built);
 then profiles (perf, callgrind, a SQLite micro-benchmark) for the gaps.

It rewrites the file given with --out (docs/BENCHMARKS.md): the intro,
the protocol section from run-proto.sh's output (--proto), and one
section per figure. Progress goes to stderr.
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

def proc_status(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


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
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


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

def bench_raw(ctx):
    q = ctx.quick
    rates = [50000, 150000] if q else [50000, 100000, 150000, 200000,
                                        250000, 300000, 400000, 500000]
    dur = 2 if q else 5
    steps, fails, saturated = [], 0, 0
    for r in rates:
        for attempt in range(2):
            dist = []
            with Phase("raw step", dist):
                sink = Sink(ctx.tools, dur + 30)
                try:
                    res = run_load(ctx.tools, sink.port, ctx.key,
                                   ["-n", 100000, "-r", r, "-d", dur,
                                    "--drain", "0.2", "--seed", "raw"],
                                   timeout=dur + 60)
                    time.sleep(0.3)
                finally:
                    s = sink.stop()
            # A sender held back by other work: once more.
            if res["rate"] >= 0.9 * r or dist[0]["other_cores"] <= 0.25 \
                    or q:
                break
            log("raw %d/s: only %.0f/s sent with %.2f cores of other work:"
                " again" % (r, res["rate"], dist[0]["other_cores"]))
        sent = res["sent"]
        loss = 100.0 * (sent - s["received"]) / sent if sent else 0
        st = {"target": r, "rate": res["rate"], "sent": sent,
              "other_cores": dist[0]["other_cores"],
              "received": s["received"], "loss_pct": loss,
              "kernel_drops": s["kernel_drops"], "ok": loss < 0.1,
              "bytes": s["bytes"] / max(1, s["received"])}
        steps.append(st)
        log("raw %d/s: sent %d at %.0f/s, received %d, loss %.3f %%"
            % (r, sent, res["rate"], s["received"], loss))
        fails = 0 if st["ok"] else fails + 1
        saturated = saturated + 1 if res["rate"] < 0.9 * r else 0
        if fails >= 2 or saturated >= 2:
            break
    ok = [s for s in steps if s["ok"]]
    best = max(ok, key=lambda s: s["rate"]) if ok else None
    # Two senders at once: can the sink take more than one hb-load sends?
    sink = Sink(ctx.tools, dur + 30)
    try:
        ps = [start_load(ctx.tools, sink.port, ctx.key,
                         ["-n", 100000, "-r", 1000000, "-d", dur,
                          "--drain", "0.2", "--seed", "raw%d" % i])
              for i in range(2)]
        rs = [finish_load(p, dur + 60) for p in ps]
        time.sleep(0.3)
    finally:
        s = sink.stop()
    sent = sum(r["sent"] for r in rs)
    two = {"rate": sum(r["rate"] for r in rs), "sent": sent,
           "received": s["received"],
           "loss_pct": 100.0 * (sent - s["received"]) / sent if sent else 0}
    log("raw, 2 senders: %.0f/s, loss %.3f %%" % (two["rate"],
                                                   two["loss_pct"]))
    ctx.r["raw"] = {"steps": steps, "best": best, "two": two,
                    "duration": dur,
                    "sender_bound": bool(steps) and
                    steps[-1]["rate"] < 0.9 * steps[-1]["target"]}


# ---- 2. hbd rate ----

def rate_step(ctx, h, r, dur, n, mid_probe=True, restart=False):
    """One step at r/s. It continues the hosts' epoch (no restarts)
    unless restart: then it starts a new one, so every host restarts in
    its first round."""
    c0 = h.counters()
    cpu0 = h.threads()
    mid = {}
    first_round = n / float(r)

    def probe():
        time.sleep(first_round + 1.0)
        try:
            mid["c"] = h.counters()
            mid["cpu"] = h.threads()
        except Exception:  # noqa: BLE001 - a missing probe is reported
            pass

    disturb = []
    phase = Phase("step", disturb)
    phase.__enter__()
    th = None
    if mid_probe and first_round + 2.0 < dur:
        th = threading.Thread(target=probe, daemon=True)
        th.start()
    t0 = time.monotonic()
    k0 = os.times()
    args = ["-n", n, "-r", r, "-d", dur, "-i", 60, "--seed", "rate",
            "--drain", 1]
    if restart:
        h.chain = None
    res = run_chained(ctx, h, args, timeout=dur + 60)
    wall = time.monotonic() - t0
    k1 = os.times()
    load_cpu = (k1.children_user + k1.children_system - k0.children_user -
                k0.children_system)
    if th:
        th.join(15)
    c1 = h.counters()
    cpu1 = h.threads()
    phase.__exit__(None, None, None)
    # The last heartbeats were sent a drain (1 s) before hb-load ended.
    caught_up = h.wait_store(int(time.time() * 1000) - 2500)
    loss = 100.0 * res["lost"] / res["expected"] if res["expected"] else 0
    st = {"target": r, "rate": res["rate"], "sent": res["sent_htb"],
          "expected": res["expected"], "acked": res["acked"],
          "lost": res["lost"], "loss_pct": loss, "ok": loss < 0.1,
          "p50_us": res["p50_us"], "p99_us": res["p99_us"],
          "rx_htb": diff(c0, c1, "rx_htb"),
          "kernel_drops": diff(c0, c1, "kernel_drops"),
          "acks": diff(c0, c1, "acks"),
          "send_errors": diff(c0, c1, "send_errors"),
          "drops_other": sum(diff(c0, c1, k) for k in c1
                             if k.startswith("drop_")),
          "restarts": diff(c0, c1, "restarts"),
          "interval_override": res.get("interval_override", 0),
          "wall": wall, "other_cores": disturb[0]["other_cores"],
          "cpu_load": load_cpu / wall,
          "store_catch_up_s": caught_up}
    st["not_received"] = st["sent"] - st["rx_htb"]
    st["ack_path_lost"] = st["acks"] - st["acked"]
    if "c" in mid:
        kd = diff(mid["c"], c1, "kernel_drops")
        rx = diff(mid["c"], c1, "rx_htb")
        st["steady_drop_pct"] = 100.0 * kd / (kd + rx) if kd + rx else 0
        kd0 = diff(c0, mid["c"], "kernel_drops")
        st["first_drops"] = kd0
        # CPU per heartbeat in steady state: the event loop's, and the
        # other threads' (the store writer) over the same heartbeats.
        if rx > 0 and "cpu" in mid:
            m0 = mid["cpu"]
            st["us_main"] = (cpu1.get(h.pid, 0) - m0.get(h.pid, 0)) / rx * 1e6
            st["us_other"] = sum(v - m0.get(t, 0) for t, v in cpu1.items()
                                 if t != h.pid) / rx * 1e6
    busy = {}
    for tid, v in cpu1.items():
        busy[tid] = (v - cpu0.get(tid, 0.0)) / wall
    st["cpu_main"] = busy.get(h.pid, 0.0)
    st["cpu_other"] = sum(v for t, v in busy.items() if t != h.pid)
    st["threads"] = len(busy)
    return st


def checked_step(ctx, h, r, dur, n, steps, restart=False):
    """rate_step, appended to steps; a failing step during which other
    processes took more than 0.25 cores is kept, marked, and run again."""
    st = rate_step(ctx, h, r, dur, n, restart=restart)
    if not (st["ok"] and steady_ok(st)) and st["other_cores"] > 0.25 \
            and not ctx.quick:
        st["disturbed"] = True
        steps.append(st)
        log("rate %d/s: loss %.3f %% with %.2f cores of other work: again"
            % (r, st["loss_pct"], st["other_cores"]))
        time.sleep(2)
        st = rate_step(ctx, h, r, dur, n, restart=restart)
        st["retry"] = True
    steps.append(st)
    return st


def warm_up(ctx, h, n):
    """First contact of n hosts (seed "rate"), at a rate that loses few;
    a second pass creates any host the first lost. Waits for the rows.
    It starts h's chain: the steps after it continue its epoch."""
    h.chain = None
    warm = run_chained(ctx, h, ["-n", n, "-r", 25000, "-c", 1, "-i", 60,
                                "--seed", "rate"], timeout=120)
    if warm["lost"]:
        time.sleep(1)
        run_chained(ctx, h, ["-n", n, "-r", 25000, "-c", 1, "-i", 60,
                             "--seed", "rate"], timeout=120)
    hosts = h.counters().get("hosts", 0)
    settle = h.wait_rows(hosts, 120)
    log("%d hosts known (first pass lost %d), stored after %s s"
        % (hosts, warm["lost"], settle))
    time.sleep(2)
    warm["hosts"] = hosts
    return warm


def steady_ok(st):
    """< 0.1 % lost after the first round: hbd's kernel drops then, and
    whatever hbd ACKed that never reached hb-load."""
    return ("steady_drop_pct" in st and st["steady_drop_pct"] < 0.1 and
            st["ack_path_lost"] <= 0.001 * st["expected"])


def bench_rate(ctx):
    q = ctx.quick
    n = 20000 if q else 100000
    dur = 4 if q else 10
    rates = [50000, 100000] if q else [25000, 50000, 75000, 100000,
                                        125000, 150000, 200000, 250000,
                                        300000]
    h = Hbd(ctx.tools, ctx.work, "rate", ctx.key).start()
    ctx.hbds.append(h)
    rss0 = h.rss_kb()
    with Phase("hbd rate: first contact of %d hosts" % n, ctx.phases):
        warm = warm_up(ctx, h, n)
    steps, fails = [], 0
    with Phase("hbd rate steps", ctx.phases):
        for r in rates:
            st = checked_step(ctx, h, r, dur, n, steps)
            log("rate %d/s: %.0f/s sent, loss %.3f %% (hbd kernel drops %d,"
                " not acked after hbd ACKed %d), cpu main %.2f store %.2f"
                % (r, st["rate"], st["loss_pct"], st["kernel_drops"],
                   st["ack_path_lost"], st["cpu_main"], st["cpu_other"]))
            # Go on while either criterion passes: the whole step's loss
            # (the first round included), or the steady state's.
            fails = 0 if st["ok"] or steady_ok(st) else fails + 1
            time.sleep(2)
            if fails >= 2:
                break
        # One bisection between the best pass and the first fail above.
        ok = [s for s in steps if s["ok"] and not s.get("disturbed")]
        bad = [s for s in steps if not s["ok"] and not s.get("disturbed")]
        if ok and bad and not q:
            lo = max(s["target"] for s in ok)
            hi = min([s["target"] for s in bad if s["target"] > lo] or [0])
            if hi and hi - lo > 10000:
                r = (lo + hi) // 2
                st = rate_step(ctx, h, r, dur, n)
                st["bisect"] = True
                steps.append(st)
                log("rate %d/s (bisect): loss %.3f %%" % (r,
                                                          st["loss_pct"]))
                time.sleep(2)
    valid = [s for s in steps if not s.get("disturbed")]
    ok = [s for s in valid if s["ok"]]
    best = max(ok, key=lambda s: s["rate"]) if ok else None
    bad = sorted([s for s in valid if not s["ok"]],
                 key=lambda s: s["target"])
    sok = [s for s in valid if steady_ok(s)]
    sbad = sorted([s for s in valid if not steady_ok(s)],
                  key=lambda s: s["target"])
    ctx.r["rate"] = {"hosts": n, "duration": dur, "steps": steps,
                     "best": best, "warm": warm, "rss0": rss0,
                     "best_steady": max(sok, key=lambda s: s["rate"])
                     if sok else None,
                     "first_fail": bad[0] if bad else None,
                     "first_steady_fail": sbad[0] if sbad else None}
    ctx.rate_hbd = h


# ---- profiles ----

def perf_works():
    if not shutil.which("perf"):
        return False
    try:
        p = subprocess.run(["perf", "record", "-e", "cpu-clock", "-o",
                            "/dev/null", "true"], capture_output=True,
                           timeout=20)
        return p.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def bench_perf(ctx):
    """perf samples of hbd at the first rate failing in steady state (or
    the highest tried): where the event loop's time goes when saturated."""
    h = ctx.rate_hbd
    rr = ctx.r["rate"]
    pick = rr["first_steady_fail"] or max(rr["steps"],
                                          key=lambda s: s["target"])
    if not pick or not perf_works():
        ctx.r["perf"] = None
        return
    r = pick["target"]
    n = rr["hosts"]
    dur = 4 if ctx.quick else 9
    data = os.path.join(ctx.work, "perf.data")
    with Phase("perf profile", ctx.phases):
        lp = start_load(ctx.tools, h.port, ctx.key,
                        ["-n", n, "-r", r, "-d", dur, "-i", 60, "--seed",
                         "rate", "--drain", 1] + chain_args(h))
        # Skip the first round, as in the steps' steady state, then
        # sample.
        time.sleep(min(dur / 2.0, n / float(r) + 1.0))
        cpu0 = h.threads()
        t0 = time.monotonic()
        secs = 2 if ctx.quick else 4
        subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "999",
                        "-g", "-p", str(h.pid), "-o", data, "--", "sleep",
                        str(secs)], capture_output=True, timeout=60)
        cpu1 = h.threads()
        wall = time.monotonic() - t0
        res = finish_load(lp, dur + 60)
        chain_note(h, res)
        h.wait_store(int(time.time() * 1000) - 2500)
    txt = os.path.join(ctx.work, "perf.txt")
    with open(txt, "w") as f:
        subprocess.run(["perf", "script", "-i", data, "-F",
                        "tid,ip,sym,dso"], stdout=f,
                       stderr=subprocess.DEVNULL, timeout=300)
    names = {str(h.pid): "event loop"}
    others = [t for t in cpu1 if t != h.pid]
    for t in others:
        names[str(t)] = "store writer" if len(others) == 1 else "other"
    md = subprocess.run([sys.executable, os.path.join(HERE, "perf_top.py"),
                         txt, "hbd", "12", json.dumps(names)],
                        capture_output=True, text=True, timeout=300).stdout
    busy = {names.get(str(t), str(t)): (cpu1[t] - cpu0.get(t, 0)) / wall
            for t in cpu1}
    ctx.r["perf"] = {"rate": r, "md": md, "busy": busy, "load": res}


VARIANTS = [
    ("as in section 2 (defaults)", "", "{level: info}"),
    ("store.flush: 10s", "store:\n  flush: 10s\n", "{level: info}"),
    ("log module ingest at warning", "",
     "{level: info, modules: {ingest: warning}}"),
]


def bench_variants(ctx):
    """The first failing rate again, on fresh hbds configured otherwise:
    how much of the ceiling the store writer and the log account for."""
    rr = ctx.r["rate"]
    pick = rr["first_fail"] or rr["best"]
    if not pick:
        ctx.r["variants"] = None
        return
    r, n = pick["target"], rr["hosts"]
    dur = 4 if ctx.quick else 10
    out = []
    with Phase("hbd rate: configuration variants", ctx.phases):
        for i, (label, extra, level) in enumerate(VARIANTS):
            h = Hbd(ctx.tools, ctx.work, "variant%d" % i, ctx.key, extra,
                    level).start()
            ctx.hbds.append(h)
            warm_up(ctx, h, n)
            tried = []
            # Unlike section 2's steps, a new epoch: every host restarts
            # in the first round, the storm these settings are about.
            st = checked_step(ctx, h, r, dur, n, tried, restart=True)
            for x in tried:
                x["label"] = label + "".join(
                    " (%s)" % k for k in ("disturbed", "retry") if x.get(k))
            out.extend(tried)
            log("variant %s at %d/s: loss %.3f %%, steady drops %s"
                % (label, r, st["loss_pct"], st.get("steady_drop_pct")))
            h.stop()
    ctx.r["variants"] = {"rate": r, "steps": out, "duration": dur}


def bench_callgrind(ctx):
    if not shutil.which("valgrind"):
        ctx.r["callgrind"] = None
        return
    n, r, dur = (500, 1000, 4) if ctx.quick else (1000, 2000, 10)
    h = Hbd(ctx.tools, ctx.work, "callgrind", ctx.key)
    out = os.path.join(h.dir, "callgrind.out")
    with Phase("callgrind", ctx.phases):
        h.start(["valgrind", "--tool=callgrind", "--callgrind-out-file=" +
                 out], timeout=120)
        ctx.hbds.append(h)
        run_chained(ctx, h, ["-n", n, "-r", 1000, "-c", 1, "--seed", "cg"],
                    timeout=120)
        res = run_chained(ctx, h, ["-n", n, "-r", r, "-d", dur, "--seed",
                                   "cg"], timeout=dur + 120)
        h.stop(timeout=120)
    ann = {}
    for mode in ("no", "yes"):
        p = subprocess.run(["callgrind_annotate", "--inclusive=" + mode,
                            "--threshold=99", out], capture_output=True,
                           text=True, timeout=120)
        rows = []
        total = None
        for line in p.stdout.splitlines():
            m = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+(.*)$", line)
            if not m:
                continue
            ir = int(m.group(1).replace(",", ""))
            what = m.group(3)
            if "PROGRAM TOTALS" in what:
                total = ir
                continue
            fn = what.split(":", 1)[1] if ":" in what else what
            fn = fn.split(" [")[0]
            lib = what.rsplit("/", 1)[-1].rstrip("]") if "[" in what else ""
            rows.append((ir, float(m.group(2)), fn, lib))
        ann[mode] = (total, rows)
    # Calls, for per-datagram figures.
    p = subprocess.run(["callgrind_annotate", "--tree=calling",
                        "--inclusive=yes", "--threshold=100", out],
                       capture_output=True, text=True, timeout=120)
    calls = {}
    for line in p.stdout.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+>\s+\S*?:?(\w+) "
                     r"\(([\d,]+)x\)", line)
        if m and m.group(2) not in calls:
            calls[m.group(2)] = (int(m.group(1).replace(",", "")),
                                 int(m.group(3).replace(",", "")))
    ctx.r["callgrind"] = {"hosts": n, "rate": r, "dur": dur,
                          "datagrams": res["sent"], "self": ann["no"],
                          "incl": ann["yes"], "calls": calls}


def bench_sqlite_check(ctx):
    rows = 20000 if ctx.quick else 100000
    with Phase("SQLite CHECK micro-benchmark", ctx.phases):
        p = subprocess.run([sys.executable,
                            os.path.join(HERE, "sqlite_check.py"), ctx.work,
                            str(rows), "1" if ctx.quick else "3"],
                           capture_output=True, text=True, timeout=300)
    ctx.r["sqlite_check"] = json.loads(p.stdout) if p.returncode == 0 \
        else None


# ---- 4. store lag ----

def lag_run(ctx, h, n, r, dur, every):
    # The run continues the hosts' epoch and address: no restarts, so
    # nothing special in its first round; it is still reported apart, as
    # the "burst", to compare with runs that restarted every host.
    skip = n / float(r) + 3.0
    c0 = h.counters()
    reader = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "store_lag.py"), h.db,
         str(dur + 2), str(n), str(every), "20", str(skip)],
        stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    res = run_chained(ctx, h, ["-n", n, "-r", r, "-d", dur, "-i", 60,
                               "--seed", "rate", "--drain", 1],
                      timeout=dur + 60)
    c1 = h.counters()
    out, _ = reader.communicate(timeout=dur + 60)
    caught = h.wait_store(int(time.time() * 1000) - 2500)
    lag = json.loads(out)
    log("store lag at %d/s: p50 %s ms p99 %s ms (%d observations)"
        % (r, lag["p50_ms"], lag["p99_ms"], lag["observations"]))
    return {"rate": r, "achieved": res["rate"], "reader": lag,
            "loss_pct": 100.0 * res["lost"] / max(1, res["expected"]),
            "kernel_drops": diff(c0, c1, "kernel_drops"),
            "restarts": diff(c0, c1, "restarts"),
            "store_catch_up_s": caught}


def bench_lag(ctx):
    """At the highest passing rate of section 2, and at half of it."""
    h = ctx.rate_hbd
    rr = ctx.r["rate"]
    n = rr["hosts"]
    best = rr["best"]
    r = best["target"] if best else rr["steps"][0]["target"]
    dur = 8 if ctx.quick else 18
    every = 20 if ctx.quick else 100
    runs = []
    with Phase("store lag", ctx.phases):
        for rate in ([r] if ctx.quick else [r, r // 2]):
            runs.append(lag_run(ctx, h, n, rate, dur, every))
            time.sleep(1)
    ctx.r["lag"] = {"hosts": n, "dur": dur, "runs": runs}


# ---- 3. memory ----

def bench_memory(ctx):
    q = ctx.quick
    sizes = [10000, 100000] if q else [100000, 1000000]
    # First contact costs hbd's store a row insert and an event per host:
    # ~25k/s is what it sustains here without its backlog filling.
    rate = 25000
    h = Hbd(ctx.tools, ctx.work, "memory", ctx.key).start()
    ctx.hbds.append(h)
    time.sleep(1)
    rss0 = h.rss_kb()
    points, have = [], 0
    with Phase("memory", ctx.phases):
        for i, size in enumerate(sizes):
            add = size - have
            t0 = time.monotonic()
            cpu0 = h.threads()
            res = run_load(ctx.tools, h.port, ctx.key,
                           ["-n", add, "-r", rate, "-c", 1, "-i", 86400,
                            "--seed", "mem%d" % i, "--drain", 2],
                           timeout=add / rate + 120)
            c = h.counters()
            tracked = c.get("hosts", 0)
            stored = h.wait_rows(tracked, 120)
            cpu1 = h.threads()
            time.sleep(2)  # the last flush, then a quiet moment
            rss = h.rss_kb()
            new = tracked - have if tracked > have else 0
            points.append({
                "target": size, "hosts": tracked, "rss_kb": rss,
                "hwm_kb": h.hwm_kb(), "lost": res["lost"],
                "load_s": time.monotonic() - t0, "stored_s": stored,
                "store_dropped": c.get("store_dropped", 0),
                "us_main": (cpu1.get(h.pid, 0) - cpu0.get(h.pid, 0)) / new
                * 1e6 if new else None,
                "us_other": sum(v - cpu0.get(t, 0) for t, v in cpu1.items()
                                if t != h.pid) / new * 1e6 if new else None,
                "per_host": (rss - rss0) * 1024.0 / tracked
                if tracked else None})
            have = tracked
            log("memory: %d hosts, RSS %d KiB (%.0f bytes/host), HWM %d KiB"
                % (tracked, rss, points[-1]["per_host"] or 0,
                   points[-1]["hwm_kb"]))
    ctx.r["memory"] = {"rss0": rss0, "points": points, "rate": rate}
    h.stop()


def bench_storm(ctx):
    """First contact of many hosts at once with a small store backlog:
    what hbd does when its store cannot keep up."""
    n, rate, backlog = (50000, 50000, "4MiB") if ctx.quick else \
        (200000, 50000, "16MiB")
    h = Hbd(ctx.tools, ctx.work, "storm", ctx.key,
            "store:\n  backlog: %s\n" % backlog).start()
    ctx.hbds.append(h)
    with Phase("first-contact storm", ctx.phases):
        res = run_load(ctx.tools, h.port, ctx.key,
                       ["-n", n, "-r", rate, "-c", 1, "-i", 10, "--seed",
                        "storm", "--drain", 1], timeout=n / rate + 60)
        c = h.counters()
        # Until the row count stops growing (bounded).
        last, still, t = -1, 0, time.monotonic()
        while time.monotonic() - t < 40 and still < 4:
            rows = h.query("SELECT count(*) FROM hosts")[0][0]
            still = still + 1 if rows == last else 0
            last = rows
            time.sleep(0.5)
        events = h.query("SELECT count(*) FROM events WHERE kind = 'state'"
                         " AND to_state = 'UP'")[0][0]
        text = h.read_all()
        refused = sum(int(m.group(1)) for m in re.finditer(
            r"database refused (\d+) operations", text))
        full = "write backlog full" in text
    ctx.r["storm"] = {"hosts": n, "rate": rate, "backlog": backlog,
                      "tracked": c.get("hosts", 0), "rows": last,
                      "up_events": events, "lost": res["lost"],
                      "store_dropped": c.get("store_dropped", 0),
                      "refused": refused, "backlog_full": full}
    log("storm: %d hosts tracked, %d rows, %d UP events, %d store_dropped"
        % (c.get("hosts", 0), last, events, c.get("store_dropped", 0)))
    h.stop()


# ---- 5. down detection ----

def bench_down(ctx):
    q = ctx.quick
    n, interval, rounds = (2000, 2, 2) if q else (10000, 2, 3)
    rate = n / interval
    h = Hbd(ctx.tools, ctx.work, "down", ctx.key).start()
    ctx.hbds.append(h)
    with Phase("down detection", ctx.phases):
        res = run_load(ctx.tools, h.port, ctx.key,
                       ["-n", n, "-r", rate, "-c", rounds, "-i", interval,
                        "--seed", "down", "--drain", 0.5],
                       timeout=rounds * interval + 60)
        deadline = time.monotonic() + 3 * interval + 30
        downs = 0
        while time.monotonic() < deadline:
            downs = h.query("SELECT count(*) FROM events WHERE kind = "
                            "'state' AND to_state = 'DOWN'")[0][0]
            if downs >= n:
                break
            time.sleep(0.5)
        time.sleep(2.5)  # the flush that writes the DOWN state
    rows = h.query(
        "SELECT e.time - h.last_seen, e.to_state FROM events e JOIN hosts h"
        " ON h.id = e.host_id WHERE e.kind = 'state' AND e.to_state IN"
        " ('LATE', 'DOWN') AND e.from_state IN ('UP', 'LATE')")
    down = [r[0] for r in rows if r[1] == "DOWN"]
    late = [r[0] for r in rows if r[1] == "LATE"]
    ctx.r["down"] = {"hosts": n, "interval": interval, "rounds": rounds,
                     "lost": res["lost"], "downs": len(down),
                     "p50": pct(down, 0.5), "p99": pct(down, 0.99),
                     "max": max(down) if down else None,
                     "min": min(down) if down else None,
                     "late_p50": pct(late, 0.5), "late_p99": pct(late, 0.99),
                     "target_ms": (3 * interval + 1) * 1000}
    log("down: %d of %d DOWN, p50 %s ms p99 %s ms"
        % (len(down), n, ctx.r["down"]["p50"], ctx.r["down"]["p99"]))
    h.stop()


# ---- 6. hbc ----

class Relay(threading.Thread):
    """Forwards between one client and hbd, timing the client's datagrams
    as they reach the server's side (monotonic ms, header type and seq)."""

    def __init__(self, server_port):
        super().__init__(daemon=True)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.connect(("127.0.0.1", server_port))
        self.port = self.front.getsockname()[1]
        self.client = None
        self.arrivals = []
        self.stop = False

    def run(self):
        while not self.stop:
            r, _, _ = select.select([self.front, self.back], [], [], 0.1)
            for s in r:
                data, addr = s.recvfrom(65536)
                if s is self.front:
                    self.client = addr
                    if len(data) >= 44 and data[:2] == b"hb":
                        seq, tms = struct.unpack(">IQ", data[32:44])
                        self.arrivals.append((time.monotonic() * 1000,
                                              data[3], seq, tms))
                    self.back.send(data)
                elif self.client:
                    self.front.sendto(data, self.client)


def hbc_conf(path, relay_port, state, key, plugin_dir, interval, extra):
    with open(path, "w") as f:
        f.write('servers: ["127.0.0.1:%d"]\n' % relay_port)
        f.write("interval: %ds\n" % interval)
        f.write("state_dir: %s\n" % state)
        f.write("security: sign\nkey_file: %s\n" % key)
        f.write("plugin_dir: %s\n" % plugin_dir)
        f.write("hostname: bench-hbc\n")
        f.write("log: {level: info}\n")
        f.write(extra)


def ctx_switches(pid):
    """Voluntary + involuntary context switches of all threads."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0
    for t in tids:
        try:
            with open("/proc/%d/task/%s/status" % (pid, t)) as f:
                for line in f:
                    if "ctxt_switches:" in line:
                        total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
    return total


def thread_name(pid, tid):
    try:
        with open("/proc/%d/task/%d/comm" % (pid, tid)) as f:
            return f.read().strip()
    except OSError:
        return str(tid)


def proc_tree_cpu(pid):
    total = sum(task_cpu(pid).values())
    for k in children_of(pid):
        total += sum(task_cpu(k).values())
    return total


def hbc_available(tools):
    return all(os.path.exists(p) for p in (
        tools.hbc, os.path.join(tools.plugins, "os.so"),
        os.path.join(tools.plugins, "load.so")))


def bench_hbc(ctx):
    t = ctx.tools
    if ctx.skip_hbc:
        ctx.r["hbc"] = "build failed"
        log("hbc: its build failed, skipped")
        return
    if not hbc_available(t):
        ctx.r["hbc"] = None
        log("hbc: not built, skipped")
        return
    q = ctx.quick
    run_s = 15 if q else 60
    # For scale: the RSS of the smallest dynamically linked program.
    sl = subprocess.Popen(["sleep", "30"])
    time.sleep(0.3)
    base = proc_status(sl.pid, "VmRSS")
    sl.kill()
    sl.wait()
    h = Hbd(t, ctx.work, "hbc-server", ctx.key).start()
    ctx.hbds.append(h)
    out = {"run_s": run_s, "sleep_rss_kb": base}
    d = os.path.join(ctx.work, "hbc")
    os.makedirs(d)
    with Phase("hbc", ctx.phases):
        # (a) memory and CPU: 10 s interval, built-in plugins.
        relay = Relay(h.port)
        relay.start()
        conf = os.path.join(d, "hbc.yaml")
        hbc_conf(conf, relay.port, os.path.join(d, "state"), ctx.key,
                 t.plugins, 10, "")
        logf = open(os.path.join(d, "hbc.log"), "wb")
        p = subprocess.Popen([t.hbc, "-f", "-c", conf], stdout=logf,
                             stderr=subprocess.STDOUT)
        time.sleep(5)  # start-up: host id, plugins loaded, first beats
        alive = p.poll() is None
        if alive:
            c0, t0 = proc_tree_cpu(p.pid), time.monotonic()
            th0 = task_cpu(p.pid)
            sw0 = ctx_switches(p.pid)
            time.sleep(run_s)
            c1, t1 = proc_tree_cpu(p.pid), time.monotonic()
            th1 = task_cpu(p.pid)
            out["switches"] = ctx_switches(p.pid) - sw0
            out["per_thread_ms"] = {
                "%s" % thread_name(p.pid, t): (v - th0.get(t, 0)) * 1000
                for t, v in th1.items()}
            out["rss_kb"] = proc_status(p.pid, "VmRSS")
            out["hwm_kb"] = proc_status(p.pid, "VmHWM")
            out["anon_kb"] = proc_status(p.pid, "RssAnon")
            out["file_kb"] = proc_status(p.pid, "RssFile")
            out["smaps"] = smaps_by_object(p.pid)
            out["pss_kb"] = rollup(p.pid, "Pss")
            # Where the CPU goes: perf after the measurement (it adds its
            # own overhead), at a high frequency as there is little to see.
            if perf_works():
                data = os.path.join(d, "hbc.perf")
                subprocess.run(["perf", "record", "-e", "cpu-clock", "-F",
                                "20000", "-g", "-p", str(p.pid), "-o", data,
                                "--", "sleep", "10" if q else "30"],
                               capture_output=True, timeout=120)
                txt = os.path.join(d, "hbc.perf.txt")
                with open(txt, "w") as f:
                    subprocess.run(["perf", "script", "-i", data, "-F",
                                    "tid,ip,sym,dso"], stdout=f,
                                   stderr=subprocess.DEVNULL, timeout=120)
                names = {str(tid): thread_name(p.pid, tid)
                         for tid in task_cpu(p.pid)}
                out["perf_md"] = subprocess.run(
                    [sys.executable, os.path.join(HERE, "perf_top.py"), txt,
                     "hbc", "8", json.dumps(names)], capture_output=True,
                    text=True, timeout=120).stdout
            out["cpu_s"] = c1 - c0
            out["cpu_s_per_hour"] = (c1 - c0) * 3600.0 / (t1 - t0)
            out["core_pct"] = 100.0 * (c1 - c0) / (t1 - t0)
            out["threads"] = len(task_cpu(p.pid))
            out["beats"] = sum(1 for a in relay.arrivals if a[1] == 1)
            out["datagrams"] = len(relay.arrivals)
        out["alive"] = alive
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        logf.close()
        relay.stop = True
        out["log_tail"] = open(os.path.join(d, "hbc.log"),
                               errors="replace").read()[-1500:]
        # (b) jitter at the server while a plugin hangs: 1 s interval.
        out["jitter"] = hbc_jitter(ctx, h, d, 6 if q else 20)
        w = subprocess.run([t.wakeup, "100" if q else "300", "10"],
                           capture_output=True, text=True, timeout=60)
        out["wakeup_us"] = json.loads(w.stdout)["us_per_wakeup"] \
            if w.returncode == 0 else None
    ctx.r["hbc"] = out
    h.stop()


def hbc_jitter(ctx, h, d, secs):
    t = ctx.tools
    src = os.path.join(ROOT, "tests", "plugins", "fx_hang.c")
    pdir = os.path.join(d, "plugins-hang")
    os.makedirs(pdir)
    for so in ("os.so", "load.so"):
        os.symlink(os.path.join(os.path.abspath(t.plugins), so),
                   os.path.join(pdir, so))
    cc = os.environ.get("CC", "cc")
    b = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-I",
                        os.path.join(ROOT, "include"), src, "-o",
                        os.path.join(pdir, "fx_hang.so")],
                       capture_output=True, text=True, timeout=60)
    if b.returncode != 0:
        return {"error": "fx_hang.so did not build: " + b.stderr[-300:]}
    res = {}
    for name, extra, plugin_dir in (
            ("built-in plugins", "", t.plugins),
            ("built-in + fx_hang (collect sleeps 30 s, timeout 2 s)",
             "plugins:\n  fx_hang:\n    interval: 1s\n    timeout: 2s\n"
             "    seconds: 30\n", pdir)):
        relay = Relay(h.port)
        relay.start()
        conf = os.path.join(d, "jitter.yaml")
        state = os.path.join(d, "state-j")
        hbc_conf(conf, relay.port, state, ctx.key, plugin_dir, 1, extra)
        logf = open(os.path.join(d, "jitter.log"), "ab")
        p = subprocess.Popen([t.hbc, "-f", "-c", conf], stdout=logf,
                             stderr=subprocess.STDOUT)
        time.sleep(secs + 1)
        alive = p.poll() is None
        if alive:
            p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        logf.close()
        relay.stop = True
        beats = [a for a in relay.arrivals if a[1] == 1]
        # The first second is start-up.
        beats = beats[1:]
        gaps = [b[0] - a[0] for a, b in zip(beats, beats[1:])]
        dev = [abs(g - 1000.0) for g in gaps]
        res[name] = {"alive": alive, "beats": len(beats),
                     "gap_p50": pct(gaps, 0.5),
                     "gap_min": min(gaps) if gaps else None,
                     "gap_max": max(gaps) if gaps else None,
                     "dev_p99": pct(dev, 0.99),
                     "dev_max": max(dev) if dev else None}
    return res


# ---- the document ----

PROTO_PROSE = """\
The HTB is a realistic one (hostname, labels, four plugin statuses,
load, boot id, Info digest). Receiving includes copying the datagram, as
`recv()` would, because opening decrypts in place. The MAC was chosen
over HMAC-SHA256 for this table's reason: the keyed BLAKE2b costs less
than half as much, and the MAC dominates the receive path in mode sign.
"""


def proto_section(path):
    lines = open(path).read().splitlines() if path and os.path.exists(
        path) else []
    body = []
    for l in lines:
        if l.startswith("## "):
            continue
        body.append(l)
    while body and not body[0].strip():
        body.pop(0)
    out = ["## Protocol: encode, seal, open, decode", "",
           "Command: `bench/run-proto.sh` (Release build in `build-bench/`,"
           " then", "`bench-proto`; each figure is the median of 5 timed "
           "runs of ~0.3 s).", ""]
    out += body if body else ["(bench-proto output missing)"]
    out += ["", PROTO_PROSE.rstrip()]
    return "\n".join(out)


def verdict(ok):
    return "met" if ok else "**missed**"


class Doc:
    def __init__(self):
        self.parts = []

    def add(self, text=""):
        self.parts.append(text)

    def table(self, head, rows, align=None):
        self.add("| " + " | ".join(head) + " |")
        self.add("|" + "|".join(align or ["---"] * len(head)) + "|")
        for r in rows:
            self.add("| " + " | ".join(str(c) for c in r) + " |")
        self.add()

    def text(self):
        return "\n".join(self.parts).rstrip() + "\n"


def write_doc(ctx, out_path, proto_path):
    r, m = ctx.r, ctx.machine
    D = Doc()
    quick = ctx.quick
    D.add("# Benchmarks")
    D.add()
    D.add("Benchmarks report numbers; they are not tests and assert "
          "nothing. Each")
    D.add("section says the command that produced it, so anyone can run it"
          " again on")
    D.add("their own machine. Figures from a shared 2-core VM move by up to"
          " ~35 %")
    D.add("between runs: read them as orders of magnitude, and compare rows "
          "of one")
    D.add("run with each other rather than with another run.")
    D.add()
    if quick:
        D.add("> **QUICK RUN** (`bench/run.sh --quick`): every step was "
              "shortened to check the")
        D.add("> script. These figures are NOT representative; run "
              "`bench/run.sh` for real ones.")
        D.add()
    D.add("Every figure below comes from one run of `bench/run.sh%s` "
          "(%s, %.0f s), which"
          % (" --quick" if quick else "", ctx.started, ctx.elapsed))
    D.add("builds Release in `build-bench/`, runs `bench/run-proto.sh`, "
          "then `bench/hbbench.py`:")
    D.add("everything on 127.0.0.1, in a temporary directory, each step "
          "bounded in time.")
    D.add()

    # Machine
    D.add("## Machine")
    D.add()
    D.add("- system: %s (%s)" % (m["uname"], m["virt"]))
    D.add("- cpu: %s, %d cores online" % (m["cpu"], m["cores"]))
    D.add("- memory: %.1f GiB" % m["mem_gib"])
    D.add("- net.core.rmem_max: %d bytes (rmem_default %d); the benchmark "
          "runs as %s, so" % (m["rmem_max"], m["rmem_default"],
                              "root" if m["uid"] == 0 else "uid %d" %
                              m["uid"]))
    D.add("  SO_RCVBUFFORCE %s the 8 MiB receive buffers of hbd and "
          "udp-sink" % ("gives" if m["uid"] == 0 else "cannot give"))
    D.add("- SQLite %s (the system library hbd links)" % m["sqlite"])
    D.add("- load average at start: %.2f %.2f %.2f" % tuple(m["load_start"]))
    D.add()
    busy = [p for p in ctx.phases if p["other_cores"] > 0.15]
    D.add("The machine was shared with other work during the run. CPU used "
          "by processes")
    D.add("other than the benchmark's, per step (from /proc/stat minus our "
          "own processes;")
    D.add("approximate; 2.0 would be both cores):")
    D.add()
    D.table(["step", "seconds", "other processes, cores", "load1 after"],
            [[p["phase"], "%.0f" % p["seconds"], "%.2f" % p["other_cores"],
              "%.2f" % p["load1"]] for p in ctx.phases],
            ["---", "--:", "--:", "--:"])
    if busy:
        D.add("Steps with more than 0.15 cores of other work: %s. Their "
              "figures are"
              % ", ".join(p["phase"] for p in busy))
        D.add("pessimistic: on 2 cores, hb-load, hbd's event loop and hbd's "
              "store writer")
        D.add("already compete for the CPU before anything else runs.")
    else:
        D.add("Other work stayed below 0.15 cores in every step.")
    D.add()

    summary(D, ctx)
    D.add(proto_section(proto_path))
    D.add()
    sec_raw(D, ctx)
    sec_rate(D, ctx)
    sec_memory(D, ctx)
    sec_lag(D, ctx)
    sec_down(D, ctx)
    sec_hbc(D, ctx)
    sec_gaps(D, ctx)
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(D.text())
    os.replace(tmp, out_path)


def summary(D, ctx):
    r = ctx.r
    raw, rate = r["raw"], r["rate"]
    best = rate["best"]
    rows = []
    raw_best = raw["best"]["rate"] if raw["best"] else None
    hb = best["rate"] if best else 0
    share = hb / raw_best if raw_best else None
    rows.append(["raw UDP receive rate, < 0.1 % loss (one hb-load sender)",
                 "%s datagrams/s%s" % (fmt_int(raw_best), " (sender-bound)"
                                       if raw["sender_bound"] else ""),
                 "reference", ""])
    rows.append(["hbd HTB rate, < 0.1 %% loss, sign, SQLite, %s hosts"
                 % fmt_int(rate["hosts"]), "%s HTB/s" % fmt_int(hb),
                 "≥ 275 000 HTB/s (3× collectd)",
                 verdict(hb >= T_RATE)])
    rows.append(["hbd rate / raw rate", "%.0f %%" % (100 * share)
                 if share is not None else "n/a", "≥ 70 %",
                 verdict(share is not None and share >= T_RAW_SHARE)])
    bs = rate.get("best_steady")
    hs = bs["rate"] if bs else 0
    rows.append(["hbd HTB rate, steady state: < 0.1 % lost after the "
                 "step's first round",
                 "%s HTB/s (%s of raw)" % (fmt_int(hs), "%.0f %%" %
                                           (100.0 * hs / raw_best)
                                           if raw_best else "n/a"),
                 "≥ 275 000 HTB/s, ≥ 70 % of raw",
                 verdict(hs >= T_RATE and raw_best and
                         hs >= T_RAW_SHARE * raw_best)])
    mem = r.get("memory")
    if mem:
        for p in mem["points"]:
            rows.append(["hbd RSS with %s hosts" % fmt_int(p["hosts"]),
                         "%.1f MiB (%s bytes/host)" % (
                             p["rss_kb"] / 1024.0, fmt_int(p["per_host"])),
                         "(no target)", ""])
    lag = r.get("lag")
    for run in (lag["runs"] if lag else []):
        p99 = run["reader"]["p99_ms"]
        rows.append(["store lag p50 / p99 at %s HTB/s, %s hosts, steady "
                     "state" %
                     (fmt_int(run["rate"]), fmt_int(lag["hosts"])),
                     "%s / %s ms" % (fmt_int(run["reader"]["p50_ms"]),
                                     fmt_int(p99)),
                     "p99 ≤ 2 000 ms", verdict(p99 is not None and
                                               p99 <= T_LAG_P99_MS)])
    dn = r.get("down")
    if dn:
        rows.append(["down detection p50 / p99, %s hosts, interval %d s"
                     % (fmt_int(dn["hosts"]), dn["interval"]),
                     "%s / %s ms" % (fmt_int(dn["p50"]), fmt_int(dn["p99"])),
                     "p99 ≤ 3 intervals + 1 s = %s ms" %
                     fmt_int(dn["target_ms"]),
                     verdict(dn["p99"] is not None and dn["downs"] ==
                             dn["hosts"] and dn["p99"] <= dn["target_ms"])])
    hbc = r.get("hbc")
    if isinstance(hbc, dict) and hbc.get("alive"):
        rows.append(["hbc RSS, 10 s interval, built-in plugins",
                     "%.2f MiB (anonymous %.2f, PSS %.2f)"
                     % (hbc["rss_kb"] / 1024.0,
                        (hbc.get("anon_kb") or 0) / 1024.0,
                        (hbc.get("pss_kb") or 0) / 1024.0), "≤ 2 MiB",
                     verdict(hbc["rss_kb"] <= T_HBC_RSS_KB)])
        rows.append(["hbc CPU, 10 s interval", "%.4f %% of a core "
                     "(%.2f s/h)" % (hbc["core_pct"],
                                     hbc["cpu_s_per_hour"]),
                     "≤ 0.01 % of a core",
                     verdict(hbc["core_pct"] <= T_HBC_CORE_PCT)])
        jt = [v for k, v in (hbc.get("jitter") or {}).items()
              if "hang" in k and isinstance(v, dict)]
        if jt and jt[0].get("dev_max") is not None:
            rows.append(["hbc heartbeat jitter at the server while a plugin"
                         " hangs (1 s interval)", "largest deviation of a "
                         "gap from 1 s: %s ms"
                         % fmt_int(jt[0]["dev_max"]), "(no target)", ""])
    else:
        rows.append(["hbc RSS and CPU", "not measured yet: hbc not built"
                     if hbc is None else "not measured: hbc did not build"
                     if hbc == "build failed" else "hbc did not stay up",
                     "≤ 2 MiB, ≤ 0.01 % of a core", "—"])
    D.add("## Summary: figures against targets")
    D.add()
    D.table(["figure", "this run", "target", "verdict"], rows)


def sec_raw(D, ctx):
    raw = ctx.r["raw"]
    D.add("## 1. Raw UDP receive rate")
    D.add()
    D.add("Command: `bench/run.sh` (step `raw`): `bench/udp-sink` binds "
          "127.0.0.1 with an")
    D.add("8 MiB SO_RCVBUFFORCE buffer and counts datagrams with recvmmsg "
          "(64 per call),")
    D.add("doing nothing else; `hb-load -n 100000 -r RATE -d %d -m sign` "
          "sends to it. It gets" % raw["duration"])
    D.add("no ACKs, so loss is 1 − received/sent from the sink's count and "
          "hb-load's.")
    D.add()
    D.table(["target /s", "sent /s (achieved)", "sent", "received",
             "loss", "bytes/datagram", "other processes, cores", "< 0.1 %"],
            [[fmt_int(s["target"]), fmt_int(s["rate"]), fmt_int(s["sent"]),
              fmt_int(s["received"]), fmt_pct(s["loss_pct"]),
              "%.0f" % s["bytes"], "%.2f" % s.get("other_cores", 0),
              "yes" if s["ok"] else "no"]
             for s in raw["steps"]],
            ["--:"] * 7 + ["---"])
    D.add("A step whose sender fell short of its target while other "
          "processes used more")
    D.add("than 0.25 cores was run once more; the table shows the second "
          "run.")
    D.add()
    two = raw["two"]
    D.add("Two hb-load processes at once (each `-r 1000000`): %s datagrams/s"
          " sent in all," % fmt_int(two["rate"]))
    D.add("loss %s." % fmt_pct(two["loss_pct"]))
    D.add()
    b = raw["best"]
    if b:
        D.add("**Raw rate: %s datagrams/s with < 0.1 %% loss** (the highest "
              "achieved rate" % fmt_int(b["rate"]))
        D.add("of a passing step).")
    if raw["sender_bound"]:
        D.add("The sink never lost anything here: **the figure is bound by "
              "the sender**. One")
        D.add("hb-load saturates a core at about this rate (most of it in "
              "the kernel: on")
        D.add("loopback the sender's `sendmmsg` also does the receive-side "
              "delivery), so")
        D.add("the receiver's own ceiling is higher than this; the two-sender"
              " line shows the")
        D.add("sink taking more with no loss. This raw rate is therefore a "
              "lower bound, and")
        D.add("it is what a single load generator on this 2-core machine can "
              "offer anyone.")
    D.add()


def sec_rate(D, ctx):
    rr = ctx.r["rate"]
    D.add("## 2. hbd ingest rate: sign mode, SQLite store, %s hosts"
          % fmt_int(rr["hosts"]))
    D.add()
    D.add("Command: `bench/run.sh` (step `rate`). One hbd (defaults but "
          "127.0.0.1, port 0;")
    D.add("sign mode, 8 MiB buffer, SQLite in WAL mode, flush 1 s). First "
          "contact of all")
    D.add("hosts (`-c 1 -r 25000`), then per step `hb-load -n %d -r RATE "
          "-d %d -i 60 -m sign`"
          % (rr["hosts"], rr["duration"]))
    D.add("with the same host ids, each step continuing where the run "
          "before it left them")
    D.add("(`--epoch E --seq-start S` from that run's report, the same "
          "`--source-port`): to")
    D.add("hbd the hosts never restart, so the steps measure steady state."
          " Loss is hb-load's")
    D.add("lost/expected; hbd's counters (SIGUSR1 before and after) split "
          "it: `kernel drops`")
    D.add("overflowed hbd's socket")
    D.add("(SO_RXQ_OVFL), `ACKed, not received` were answered by hbd but "
          "never reached")
    D.add("hb-load. CPU is per thread, in cores, over the step.")
    D.add()
    D.table(["target /s", "sent /s", "loss", "kernel drops",
             "ACKed, not received", "drops after 1st round",
             "ACK p50 / p99", "< 0.1 %"],
            [rate_row(s) for s in rr["steps"]], ["--:"] * 7 + ["---"])
    D.add("CPU of hbd's threads over each step (cores), and per heartbeat "
          "in steady state")
    D.add("(after the first round: thread CPU time / heartbeats received):")
    D.add()
    D.table(["target /s", "event loop, cores", "store writer, cores",
             "hb-load, cores", "other processes, cores", "event loop µs/HTB",
             "store writer µs/HTB", "store caught up"],
            [cpu_row(s) for s in rr["steps"]], ["--:"] * 8)
    D.add("`store caught up`: after hb-load ended, how long until the "
          "newest heartbeat's")
    D.add("last_seen was in the database; the next step starts only then.")
    D.add()
    D.add("A failing step during which other processes used more than "
          "0.25 cores is marked")
    D.add("`disturbed`, run again (`retry`) and left out of the verdicts.")
    D.add()
    b = rr["best"]
    raw = ctx.r["raw"]["best"]
    if b:
        D.add("**Highest rate with < 0.1 %% loss: %s HTB/s**%s." % (
            fmt_int(b["rate"]), (", %.0f %% of the raw rate (%s/s)"
                                 % (100.0 * b["rate"] / raw["rate"],
                                    fmt_int(raw["rate"]))) if raw else ""))
    else:
        D.add("**No step had < 0.1 % loss.**")
    D.add()
    bs = rr.get("best_steady")
    if bs:
        D.add("**Steady state** (hbd's kernel drops and ACKs lost after "
              "the first round),")
        D.add("< 0.1 %% up to **%s HTB/s**%s." % (
            fmt_int(bs["rate"]),
            (" (%.0f %% of the raw rate)" % (100.0 * bs["rate"] /
                                               raw["rate"])) if raw else ""))
        D.add()
    D.add("Where loss happens: %s" % where_loss(rr))
    D.add()
    restarts = sum(s.get("restarts", 0) for s in rr["steps"])
    D.add("Every step continues the epoch and sequence numbers of the "
          "first contact, so")
    D.add("hbd records no `restart` event in them (%s);" % (
        "its `restarts` counter did not grow" if not restarts else
        "yet its `restarts` counter grew by %s: a bug to look into"
        % fmt_int(restarts)))
    D.add("what a restart of every host costs is measured apart, under "
          "\"Gaps\"")
    D.add("(configuration variants). `drops after 1st round` is hbd's "
          "kernel_drops /")
    D.add("(kernel_drops + rx_htb) from one second after the step's first "
          "round to its end,")
    D.add("comparable with runs whose first round restarted every host.")
    D.add()


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


def where_loss(rr):
    steps = [s for s in rr["steps"] if not s["ok"] and
             not s.get("disturbed")]
    if not steps:
        return "no step lost more than 0.1 %."
    kd = sum(s["kernel_drops"] for s in steps)
    lost = sum(s["lost"] for s in steps)
    ackp = sum(max(0, s["ack_path_lost"]) for s in steps)
    other = sum(s["drops_other"] for s in steps)
    se = sum(s["send_errors"] for s in steps)
    first = sum(s.get("first_drops", 0) for s in steps)
    tail = (" Of the kernel drops, %s (%.0f %%) fell in the steps' first "
            "round, up to one second after it." %
            (fmt_int(first), 100.0 * first / kd)) if kd else ""
    return ("in the failing steps %s of %s lost heartbeats (%.0f %%) were "
            "kernel drops at hbd's socket (hbd did not read fast enough), %s"
            " were ACKed by hbd but lost on the way back to hb-load, %s "
            "were dropped by hbd's checks, and hbd counted %s ACK send "
            "errors." % (fmt_int(kd), fmt_int(lost),
                         100.0 * kd / lost if lost else 0, fmt_int(ackp),
                         fmt_int(other), fmt_int(se))) + tail


def sec_memory(D, ctx):
    mem = ctx.r.get("memory")
    D.add("## 3. hbd resident memory per host")
    D.add()
    if not mem:
        D.add("(not measured)")
        D.add()
        return
    D.add("Command: `bench/run.sh` (step `memory`). A fresh hbd; hosts "
          "added with")
    D.add("`hb-load -c 1 -r %d -i 86400` (one heartbeat each; interval a "
          "day so none" % mem["rate"])
    D.add("goes LATE meanwhile), then, once every host's row is in the "
          "database and")
    D.add("2 s more, VmRSS from /proc/PID/status. Bytes per host = (RSS − "
          "RSS at start) /")
    D.add("hosts. RSS at start: %.1f MiB." % (mem["rss0"] / 1024.0))
    D.add()
    D.table(["hosts tracked", "VmRSS", "VmHWM (peak)", "bytes per host",
             "lost in loading", "rows stored after",
             "first contact µs/host: event loop / store"],
            [[fmt_int(p["hosts"]), "%.1f MiB" % (p["rss_kb"] / 1024.0),
              "%.1f MiB" % (p["hwm_kb"] / 1024.0), fmt_int(p["per_host"]),
              fmt_int(p["lost"]), "%.1f s" % p["stored_s"]
              if p["stored_s"] is not None else "timeout",
              "%.0f / %.0f" % (p["us_main"] or 0, p["us_other"] or 0)]
             for p in mem["points"]],
            ["--:"] * 7)
    D.add("`rows stored after`: from the end of loading until every host's "
          "row was in the")
    D.add("database. A host's first heartbeat costs hbd a row insert, a "
          "`STOPPED -> UP`")
    D.add("event and an info log line, hence the low loading rate and the "
          "µs per host.")
    D.add()
    D.add("Per host, hbd keeps a 200-odd-byte `struct host`, a slot of the "
          "UUID hash")
    D.add("table and its attributes (hostname, labels... as separate "
          "allocations); RSS")
    D.add("also holds SQLite's page cache and whatever malloc kept from the "
          "store's")
    D.add("backlog while the rows were written (VmHWM shows the peak).")
    D.add()


def sec_lag(D, ctx):
    lag = ctx.r.get("lag")
    D.add("## 4. Store lag: heartbeat arrival to row visible")
    D.add()
    if not lag:
        D.add("(not measured)")
        D.add()
        return
    rd0 = lag["runs"][0]["reader"]
    D.add("Command: `bench/run.sh` (step `lag`): while hb-load sends to the "
          "%s hosts of"
          % fmt_int(lag["hosts"]))
    D.add("section 2 for %d s (at its highest passing rate, then at half of"
          " it)," % lag["dur"])
    D.add("`bench/store_lag.py` polls `SELECT id, last_seen FROM hosts "
          "WHERE id IN (...)`")
    D.add("for every %d-th host, every %.0f ms, in a read-only connection "
          "(row id lookups:"
          % (rd0["sample_every"], rd0["poll_ms"]))
    D.add("a full scan with `WHERE last_seen > ?` takes ~30 ms of CPU per "
          "poll on 100k rows,")
    D.add("which on 2 cores is taken from hbd). For each sampled host")
    D.add("whose last_seen changed, lag = poll start − last_seen (both Unix"
          " ms, one clock;")
    D.add("last_seen is hbd's clock at the heartbeat's arrival); it "
          "includes up to one poll")
    D.add("period. The runs continue the hosts' epoch as section 2's steps "
          "do (no restarts);")
    D.add("the first round plus 3 s is still reported apart (\"first "
          "round\"), and the")
    D.add("percentiles are the steady state after it. hbd's own "
          "`store_lag_ms` counter (the")
    D.add("largest value it stored, every 10 s) is shown too.")
    D.add()
    rows = []
    for run in lag["runs"]:
        rd = run["reader"]
        rows.append([fmt_int(run["rate"]), fmt_int(rd["observations"]),
                     "%s ms" % fmt_int(rd["p50_ms"]),
                     "%s ms" % fmt_int(rd["p90_ms"]),
                     "%s ms" % fmt_int(rd["p99_ms"]),
                     "%s ms" % fmt_int(rd["max_ms"]),
                     "%s / %s ms" % (fmt_int(rd.get("burst_p99_ms")),
                                     fmt_int(rd.get("burst_max_ms"))),
                     "%s ms" % fmt_int(rd.get("hbd_lag_max_ms")),
                     "%.1f / %.1f ms" % (rd["poll_p50_ms"] or 0,
                                         rd["poll_max_ms"] or 0),
                     fmt_pct(run["loss_pct"])])
    D.table(["HTB/s", "observations", "p50", "p90", "p99", "max",
             "first round p99 / max", "hbd store_lag_ms",
             "poll takes (p50 / max)", "load loss"],
            rows, ["--:"] * 10)
    D.add("A last_seen waits for the next flush (`store.flush`, every 1 s: "
          "0 to 1 s), then")
    D.add("for the store's batch window (`store.batch`, 200 ms) and the "
          "transaction that")
    D.add("writes every host that beat since the last flush (a few hundred"
          " ms at these")
    D.add("rates): about 0.4 to 1.4 s when the writer keeps up, as "
          "measured. When it does")
    D.add("not (section 2's `store caught up`), its backlog adds to that; "
          "see \"Gaps\".")
    D.add()


def sec_down(D, ctx):
    dn = ctx.r.get("down")
    D.add("## 5. Down detection")
    D.add()
    if not dn:
        D.add("(not measured)")
        D.add()
        return
    D.add("Command: `bench/run.sh` (step `down`): `hb-load -n %d -i %d -c %d"
          " -r %d`, so each host" % (dn["hosts"], dn["interval"],
                                     dn["rounds"],
                                     dn["hosts"] / dn["interval"]))
    D.add("beats every %d s, then all stop. Per host: time of its LATE→DOWN"
          " event minus" % dn["interval"])
    D.add("its last_seen (both hbd's Unix ms). The rule is DOWN after "
          "down_factor (3)")
    D.add("intervals of silence; the target adds 1 s.")
    D.add()
    D.table(["hosts", "DOWN", "p50", "p99", "min / max", "LATE p50 / p99",
             "target"],
            [[fmt_int(dn["hosts"]), fmt_int(dn["downs"]),
              "%s ms" % fmt_int(dn["p50"]), "%s ms" % fmt_int(dn["p99"]),
              "%s / %s ms" % (fmt_int(dn["min"]), fmt_int(dn["max"])),
              "%s / %s ms" % (fmt_int(dn["late_p50"]),
                              fmt_int(dn["late_p99"])),
              "≤ %s ms" % fmt_int(dn["target_ms"])]], ["--:"] * 7)
    if dn["lost"]:
        D.add("hb-load lost %d ACKs while the hosts were beating." %
              dn["lost"])
        D.add()


def sec_hbc(D, ctx):
    hbc = ctx.r.get("hbc")
    D.add("## 6. hbc: memory, CPU, jitter while a plugin hangs")
    D.add()
    if hbc == "build failed":
        D.add("not measured: the build of hbc or its plugins failed in this "
              "run (hbc is being")
        D.add("written); the other sections were measured.")
        D.add()
        return
    if hbc is None:
        D.add("not measured yet: hbc not built (`build-bench/hbc/hbc`, "
              "`build-bench/plugins/os.so`")
        D.add("and `load.so` did not exist when this run started). "
              "`bench/run.sh` measures it")
        D.add("as soon as they do.")
        D.add()
        return
    if not hbc.get("alive"):
        D.add("hbc did not stay up. Its log ended with:")
        D.add()
        D.add("```")
        D.add(hbc.get("log_tail", "").rstrip())
        D.add("```")
        D.add()
        return
    D.add("Command: `bench/run.sh` (step `hbc`): hbc with `interval: 10s`, "
          "sign mode, the")
    D.add("built-in plugins (os.so, load.so with their defaults), talking to"
          " a local hbd")
    D.add("through a relay; after 5 s of start-up, %d s measured. CPU is the"
          " process's" % hbc["run_s"])
    D.add("threads' and children's run time (schedstat, ns) scaled to an "
          "hour.")
    D.add()
    D.table(["VmRSS", "VmHWM", "threads", "CPU in %d s" % hbc["run_s"],
             "CPU per hour", "% of a core", "HTBs / datagrams (whole run)"],
            [["%.2f MiB" % (hbc["rss_kb"] / 1024.0),
              "%.2f MiB" % (hbc["hwm_kb"] / 1024.0), hbc["threads"],
              "%.1f ms" % (hbc["cpu_s"] * 1000), "%.2f s" %
              hbc["cpu_s_per_hour"], "%.4f %%" % hbc["core_pct"],
              "%d / %d" % (hbc["beats"], hbc["datagrams"])]], ["--:"] * 7)
    D.add("The CPU figure rests on a few ms of CPU in one window: a "
          "little work from other")
    D.add("processes (cache, scheduler) moves it by a factor of two or "
          "more, across the")
    D.add("0.01 % target (3.6 ms per minute). Read it against the target "
          "with that margin.")
    D.add()
    if hbc.get("per_thread_ms"):
        D.add("CPU by thread over the %d s: %s; %s context switches in all "
              "(%.1f per 10 s"
              % (hbc["run_s"], ", ".join(
                  "%s %.1f ms" % (k, v) for k, v in
                  sorted(hbc["per_thread_ms"].items(), key=lambda x: -x[1])),
                 fmt_int(hbc.get("switches")),
                 10.0 * (hbc.get("switches") or 0) / hbc["run_s"]))
        D.add("interval). On this machine one sleep and wake-up of an idle "
              "process costs %s µs"
              % ("%.0f" % hbc["wakeup_us"] if hbc.get("wakeup_us") else "?"))
        D.add("of CPU (`bench/wakeup-cost`), so %s wake-ups account for ~%.1f"
              " ms of the %.1f ms:"
              % (fmt_int(hbc.get("switches")),
                 (hbc.get("switches") or 0) * (hbc.get("wakeup_us") or 0)
                 / 1000.0 / 2, hbc["cpu_s"] * 1000))
        D.add("a context switch is half a sleep/wake-up cycle. hbc's own "
              "instructions are few")
        D.add("(callgrind, run once by hand while writing this benchmark: "
              "~46 000 per 10 s")
        D.add("interval, i.e. tens of µs).")
        D.add()
    if hbc.get("perf_md"):
        D.add("Where hbc's CPU goes: `perf record -e cpu-clock -F 20000 -g`"
              " on it for %d s after" % (10 if ctx.quick else 30))
        D.add("the measurement (few samples: a rough picture; `bench/perf_top.py`):")
        D.add()
        D.add(hbc["perf_md"].rstrip())
        D.add()
    D.add("Of the RSS, %s KiB are anonymous (hbc's own heap, stacks, "
          "data) and %s KiB"
          % (fmt_int(hbc.get("anon_kb")), fmt_int(hbc.get("file_kb"))))
    D.add("file-backed pages of the executable and shared libraries, which "
          "every process")
    D.add("mapping them shares; PSS (RSS with shared pages divided among "
          "their users) is")
    D.add("%s KiB. For scale, `sleep 30` (libc only) has an RSS of %s KiB. "
          "RSS by object:"
          % (fmt_int(hbc.get("pss_kb")), fmt_int(hbc.get("sleep_rss_kb"))))
    D.add()
    D.table(["object", "RSS KiB"],
            [[k, fmt_int(v)] for k, v in (hbc.get("smaps") or [])[:8]],
            ["---", "--:"])
    j = hbc.get("jitter") or {}
    if "error" in j:
        D.add("Jitter not measured: %s" % j["error"])
        D.add()
        return
    D.add("Jitter: hbc at `interval: 1s`; the relay timestamps each HTB as "
          "it reaches the")
    D.add("server's side; gaps between consecutive HTBs:")
    D.add()
    D.table(["plugins", "HTBs", "gap p50", "gap min / max",
             "deviation from 1 s, p99", "deviation, max"],
            [[k, v["beats"], "%s ms" % fmt_int(v["gap_p50"]),
              "%s / %s ms" % (fmt_int(v["gap_min"]), fmt_int(v["gap_max"])),
              "%s ms" % fmt_int(v["dev_p99"]),
              "%s ms" % fmt_int(v["dev_max"])] for k, v in j.items()],
            ["---"] + ["--:"] * 5)


def sec_gaps(D, ctx):
    r = ctx.r
    D.add("## Gaps and what was tried")
    D.add()
    rr, raw = r["rate"], r["raw"]
    best = rr["best"]
    hb = best["rate"] if best else 0
    bs = rr.get("best_steady")
    D.add("### hbd ingest rate: %s HTB/s (whole step), %s HTB/s (steady "
          "state) against 275 000" % (fmt_int(hb),
                                      fmt_int(bs["rate"] if bs else 0)))
    D.add()
    fail = rr.get("first_steady_fail") or rr["first_fail"]
    D.add("What limits it on this machine, from the run's own counters "
          "and profiles:")
    D.add()
    items = []
    if rr["first_fail"]:
        f0 = rr["first_fail"]
        items.append(
            "The steps restart none of the %s hosts (they continue one "
            "epoch), so the whole-step figure (hb-load's loss over a step) "
            "and the steady state's differ only by the drops of the first "
            "round: at %s/s, %s of %s kernel drops fell in it. A restart "
            "storm costs an upsert, an event and an info log line per "
            "host: the variants below restart every host on purpose."
            % (fmt_int(rr["hosts"]), fmt_int(f0["target"]),
               fmt_int(f0.get("first_drops")), fmt_int(f0["kernel_drops"])))
    if fail:
        items.append(
            "Loss is kernel drops at hbd's socket: the event loop does not "
            "read fast enough. At %s/s hbd's event loop got %.2f cores, its "
            "store writer %.2f and hb-load %.2f: the three busy threads "
            "share 2 cores, and the event loop, runnable but not running, "
            "falls behind. hbd's capacity here is CPU shared three ways, "
            "not the socket buffer or hbd's code alone."
            % (fmt_int(fail["target"]), fail["cpu_main"],
               fail["cpu_other"], fail.get("cpu_load", 0)))
    us_all = [(x["us_main"], x["target"]) for x in rr["steps"]
              if "us_main" in x and not x.get("disturbed")]
    if us_all:
        lo, hi = min(us_all), max(us_all)
        items.append(
            "The event loop's CPU per heartbeat falls with the rate, from "
            "%.1f µs at %s/s to %.1f µs at %s/s (fuller recvmmsg batches, "
            "fewer wake-ups per datagram); about half of it is kernel time "
            "(perf below). At %.1f µs one core to itself would carry about "
            "%s HTB/s; 275 000 HTB/s needs ≤ 3.6 µs per heartbeat on one "
            "core, or more than one ingest thread."
            % (hi[0], fmt_int(hi[1]), lo[0], fmt_int(lo[1]), lo[0],
               fmt_int(1e6 / lo[0])))
    uo_all = [x["us_other"] for x in rr["steps"]
              if "us_other" in x and not x.get("disturbed")]
    ld_all = [x["cpu_load"] for x in rr["steps"] if "cpu_load" in x]
    if uo_all and ld_all:
        items.append(
            "The store writer costs %.1f to %.1f µs per heartbeat (one row "
            "update per host and flush: with %s hosts beating faster than "
            "the 1 s flush, every host is written every second) and runs on"
            " the other core, which hb-load also needs (%.2f to %.2f cores "
            "at every rate, section 2's CPU table)."
            % (min(uo_all), max(uo_all), fmt_int(rr["hosts"]),
               min(ld_all), max(ld_all)))
    top_raw = max((x["rate"] for x in raw["steps"]), default=0)
    items.append(
        "Offering 275 000 HTB/s is beyond this machine: one hb-load reached"
        " %s datagrams/s against the sink (section 1), which sends no ACKs "
        "back, using most of a core; against hbd it also takes in an ACK "
        "per heartbeat, and hbd's two busy threads need the same 2 cores. "
        "The target can only be tested where hb-load and hbd's two threads "
        "each get a core (≥ 4 cores; `hb-load -j THREADS` spreads the "
        "sending over more), or from a second machine (hb-load "
        "--allow-remote)." % fmt_int(top_raw))
    for it in items:
        D.add("- " + it)
    D.add()
    va = r.get("variants")
    if va:
        D.add("#### Tried: the failing rate (%s/s) on fresh hbds configured "
              "otherwise" % fmt_int(va["rate"]))
        D.add()
        D.add("Same procedure as section 2 (first contact, then one %d s "
              "step), one hbd per line," % va["duration"])
        D.add("except that the step starts a new epoch: every host restarts "
              "in its first round")
        D.add("(a row upsert, a `restart` event and an info log line each), "
              "the storm these")
        D.add("settings bear on.")
        D.add("`store.flush: 10s` writes each host's row a tenth as often; "
              "`ingest at warning`")
        D.add("drops the info line hbd logs per host restart (one "
              "`write(2)` each, on the")
        D.add("event loop).")
        D.add()
        D.table(["hbd configuration", "sent /s", "loss", "kernel drops",
                 "ACKed, not received", "drops after 1st round",
                 "ACK p50 / p99", "< 0.1 %"],
                [rate_row(x, x["label"]) for x in va["steps"]],
                ["---"] + ["--:"] * 6 + ["---"])
        D.table(["hbd configuration", "event loop, cores",
                 "store writer, cores", "hb-load, cores",
                 "other processes, cores", "event loop µs/HTB",
                 "store writer µs/HTB", "store caught up"],
                [cpu_row(x, x["label"]) for x in va["steps"]],
                ["---"] + ["--:"] * 7)
    pf = r.get("perf")
    if pf:
        D.add("#### perf: hbd at %s HTB/s (cpu-clock samples, call graphs)"
              % fmt_int(pf["rate"]))
        D.add()
        D.add("`perf record -e cpu-clock -g -p HBD` for a few seconds after "
              "the first round;")
        D.add("threads' CPU meanwhile: %s. Summary by `bench/perf_top.py`:"
              % ", ".join("%s %.2f cores" % (k, v)
                          for k, v in pf["busy"].items()))
        D.add()
        D.add(pf["md"].rstrip())
        D.add()
        D.add("`pvm_irq_enable` is this VM's paravirtual interrupt enable: "
              "cpu-clock samples")
        D.add("cannot fire while interrupts are off, so kernel time spent "
              "with them off (the")
        D.add("loopback delivery softirq that `sendmmsg` of the ACKs runs "
              "for hb-load's")
        D.add("socket, and the receive path) is charged to the point where "
              "they are enabled")
        D.add("again. Read it as \"kernel networking\". The libraries "
              "have no symbols for")
        D.add("their static functions: `[unknown] (libsodium...)` is "
              "BLAKE2b's compression")
        D.add("function (callgrind below names it by address).")
        D.add()
    else:
        D.add("(perf was not usable here; no sampling profile.)")
        D.add()
    cg = r.get("callgrind")
    if cg:
        total, rows = cg["incl"]
        D.add("#### callgrind: hbd under a fixed load")
        D.add()
        D.add("`valgrind --tool=callgrind hbd`, %d hosts (first contact), "
              "then `hb-load -n %d -r %d -d %d`" % (cg["hosts"],
                                                    cg["hosts"], cg["rate"],
                                                    cg["dur"]))
        D.add("continuing the first run's epoch (no restarts, as in "
              "section 2):")
        D.add("%s datagrams; %s instructions in all (both threads; "
              "user space only)." % (fmt_int(cg["datagrams"] + cg["hosts"]),
                                     fmt_int(total)))
        D.add()
        stotal, srows = cg["self"]
        D.add("Top functions by instructions executed in the function "
              "itself:")
        D.add()
        D.table(["Ir (self)", "%", "function", "object"],
                [[fmt_int(ir), "%.1f" % p, "`%s`" % fn, lib]
                 for ir, p, fn, lib in srows[:15]],
                ["--:", "--:", "---", "---"])
        want = ["writer_main", "apply_seen", "sqlite3_step",
                "sqlite3BtreeCreateTable", "ingest_datagram",
                "hb_htb_decode", "hb_frame_open", "hb_frame_seal",
                "hosts_info_digest", "state_heartbeat", "hb_ack_encode",
                "hosts_find", "crypto_generichash_blake2b"]
        by = {fn: (ir, p) for ir, p, fn, lib in rows}
        inc = [[("`%s`" % w), fmt_int(by[w][0]), "%.1f" % by[w][1],
                fmt_int(cg["calls"][w][1]) if w in cg["calls"] else ""]
               for w in want if w in by]
        D.add("Inclusive cost of the parts that matter:")
        D.add()
        D.table(["function", "Ir (inclusive)", "%", "calls"], inc,
                ["---", "--:", "--:", "--:"])
    sc = r.get("sqlite_check")
    D.add("### The store writer: a CHECK constraint doubles the cost of "
          "each seen update")
    D.add()
    D.add("In the callgrind profile the store thread's `apply_seen` (hbd's "
          "once-per-flush")
    D.add("`UPDATE hosts SET last_seen = ..., state = ?9, ... WHERE id = ?1`"
          ") is dominated")
    D.add("not by the B-tree update but by `sqlite3BtreeCreateTable` and "
          "`memset`: the")
    D.add("schema's `CHECK (state IN ('UP', 'LATE', 'DOWN', 'STOPPED'))` is "
          "evaluated, as")
    D.add("SQLite does for an IN list of more than two constants, by "
          "building an ephemeral")
    D.add("index, once per statement execution, which is once per host "
          "updated (see")
    D.add("`EXPLAIN` of the statement: `OpenEphemeral` + four `IdxInsert`)."
          " The store writer")
    D.add("competes with the event loop for the same 2 cores, so its cost "
          "is ingest rate lost.")
    if sc:
        D.add("`bench/sqlite_check.py` times %s such updates in one "
              "transaction (SQLite %s):" % (fmt_int(sc["rows"]), sc["sqlite"]))
        D.add()
        D.table(["variant", "µs per row"],
                [[x["variant"], "%.2f" % x["us_per_row"]]
                 for x in sc["results"]], ["---", "--:"])
    D.add("Fix (hbd's owners; not done here): write the CHECK as ORs, or "
          "store the state as")
    D.add("an INTEGER with a generated text column as `status_text` does, "
          "or leave `state`,")
    D.add("`state_since` out of ST_SEEN (transitions already write them "
          "through ST_STATE).")
    D.add("Since version 1 of the schema may already be in use, the change "
          "is a migration")
    D.add("step (SQLite cannot alter a CHECK: the table is rebuilt), or the "
          "ST_SEEN change,")
    D.add("which needs none.")
    D.add()
    hbc = r.get("hbc")
    if isinstance(hbc, dict) and hbc.get("alive") and \
            hbc["rss_kb"] > T_HBC_RSS_KB:
        libs = [(k, v) for k, v in hbc.get("smaps") or []
                if k.endswith(".so")]
        D.add("### hbc RSS: %.2f MiB against 2 MiB" % (hbc["rss_kb"] /
                                                      1024.0))
        D.add()
        D.add("Section 6's breakdown: %s KiB of the RSS are shared library "
              "pages (%s), and"
              % (fmt_int(sum(v for _, v in libs)),
                 ", ".join("%s %s KiB" % (k, fmt_int(v))
                           for k, v in libs[:3])))
        D.add("only %s KiB hbc's own anonymous memory. The target is missed"
              " on pages hbc"
              % fmt_int(hbc.get("anon_kb")))
        D.add("shares with every other process on the host (PSS %s KiB), "
              "mostly libc, which"
              % fmt_int(hbc.get("pss_kb")))
        D.add("the kernel maps in 64 KiB fault-around blocks. What would "
              "meet it: measure")
        D.add("the target as RssAnon or PSS (what hbc adds to a host); or "
              "link hbc statically")
        D.add("against a small libc (musl), which maps only the code it "
              "uses. Nothing in")
        D.add("hbc's own allocations needs fixing for it.")
        D.add()
    st = r.get("storm")
    if st:
        D.add("### First-contact storms: what a full store backlog loses")
        D.add()
        D.add("Step `storm`: a fresh hbd with `store.backlog: %s`, then "
              "%s new hosts at"
              % (st["backlog"], fmt_int(st["hosts"])))
        D.add("%s/s (`hb-load -c 1`, one heartbeat each). Each new host "
              "queues a row insert and" % fmt_int(st["rate"]))
        D.add("a `STOPPED -> UP` event; the store writer absorbs ~25k of "
              "them per second here")
        D.add("(section 3). Result: %s hosts tracked in memory, %s rows and "
              "%s UP events in"
              % (fmt_int(st["tracked"]), fmt_int(st["rows"]),
                 fmt_int(st["up_events"])))
        D.add("the database once writes stopped, `store_dropped` = %s%s%s."
              % (fmt_int(st["store_dropped"]),
                 ", the log says the backlog was full" if st["backlog_full"]
                 else "",
                 ", and the database refused %s later operations (events "
                 "of hosts whose row was dropped: FOREIGN KEY)"
                 % fmt_int(st["refused"]) if st["refused"] else ""))
        D.add()
        D.add("A dropped host row is written again at the host's next "
              "heartbeat (the host is")
        D.add("not marked stored), so rows come back within an interval; "
              "dropped events do")
        D.add("not. (Seen once while this benchmark was written: loading "
              "1M hosts at 50k/s")
        D.add("filled even the default 256 MiB backlog: store lag 10 s, 2.9M"
              " operations dropped.)")
        D.add("Changes for hbd: when the backlog is full, keep host rows "
              "(and the events")
        D.add("that refer to them) ahead of what can be rebuilt (seen "
              "updates), and count")
        D.add("dropped events apart; the CHECK fix above also speeds up "
              "the inserts.")
        D.add()
    if isinstance(hbc, dict) and hbc.get("alive") and \
            hbc["core_pct"] > T_HBC_CORE_PCT:
        D.add("### hbc CPU: %.4f %% of a core against 0.01 %%"
              % hbc["core_pct"])
        D.add()
        sw = hbc.get("switches") or 0
        D.add("hbc's code does little per interval; the CPU goes to waking "
              "up. In %d s it" % hbc["run_s"])
        D.add("switched context %s times (%.1f per interval: heartbeat "
              "timer, ACK, the load"
              % (fmt_int(sw), 10.0 * sw / hbc["run_s"]))
        D.add("plugin's thread and its sample, the PLG and its ACK), and an "
              "idle wake-up costs")
        D.add("%s µs of CPU in this VM (its paravirtual `pvm_*` kernel "
              "entry points make every"
              % ("%.0f" % hbc["wakeup_us"] if hbc.get("wakeup_us") else "?"))
        D.add("syscall and switch dear; bare metal is nearer 5 µs). What "
              "would meet the target")
        D.add("here: fewer wake-ups per interval. Send the Monitor samples "
              "due at a heartbeat in")
        D.add("the same wake-up as the HTB, let the plugin thread leave its "
              "result for the next")
        D.add("timer instead of waking the loop for it, and read ACKs in "
              "one batch. The figure")
        D.add("is specific to this VM: where a wake-up costs ~5 µs the same"
              " wake-ups cost a tenth.")
        D.add()
        D.add("The perf summary in section 6 shows the rest: per heartbeat "
              "the main thread")
        D.add("opens and reads /proc/uptime and /proc/loadavg "
              "(`identity_read_uptime`,")
        D.add("`identity_read_load`: path lookup, open, read, close each "
              "time), and the load")
        D.add("plugin does the same with stdio (`fopen`, `fscanf`, "
              "`strtod`) every interval;")
        D.add("with cold caches after 10 s asleep these dominate over "
              "hbc's own code. Cheaper:")
        D.add("one `sysinfo(2)` gives uptime and the three load averages "
              "without a file; or keep")
        D.add("the /proc files open and `pread(fd, buf, n, 0)` them; no "
              "stdio in the load plugin.")
        D.add()
    D.add("### Other findings and the changes they call for")
    D.add()
    lows = sorted([x for x in rr["steps"] if "cpu_load" in x and
                   not x.get("disturbed")], key=lambda x: x["target"])
    if lows:
        D.add("- hb-load itself used %.2f cores at %s/s and %.2f at %s/s "
              "(section 2's CPU"
              % (lows[0]["cpu_load"], fmt_int(lows[0]["target"]),
                 lows[-1]["cpu_load"], fmt_int(lows[-1]["target"])))
        D.add("  table): it sleeps until a batch of 64 heartbeats is due "
              "and reads ACKs when")
        D.add("  `ppoll` reports them. On 2 cores, what it uses hbd's "
              "threads lack; `-j THREADS`")
        D.add("  spreads its sending over threads and sockets where a "
              "machine has cores to spare.")
    va = r.get("variants")
    if va:
        by = {x["label"]: x for x in va["steps"] if not x.get("disturbed")}
        d = next((v for k, v in by.items() if k.startswith("as in")), None)
        w = next((v for k, v in by.items() if "warning" in k), None)
        if d and w:
            D.add("- hbd logs an info line for every host restart (and "
                  "every transition, e.g.")
            D.add("  each new host's `STOPPED -> UP`): one `write(2)` each, "
                  "on the event loop. At")
            D.add("  %s/s with %s hosts restarting, a step lost %s with "
                  "the defaults and %s"
                  % (fmt_int(va["rate"]), fmt_int(rr["hosts"]),
                     fmt_pct(d["loss_pct"]), fmt_pct(w["loss_pct"])))
            D.add("  with the ingest module at warning. A storm of restarts "
                  "or new hosts is")
            D.add("  where that matters: log such events rate-limited or "
                  "summarised (\"N hosts")
            D.add("  restarted in the last second\"), or buffer the log "
                  "writes.")
    D.add("- hbd: a single event loop thread reads the socket; beyond one "
          "core's worth")
    D.add("  (section 2's µs per heartbeat) the remedy is SO_REUSEPORT with "
          "N ingest")
    D.add("  threads sharing the host table by UUID hash, or cheaper work "
          "per datagram")
    D.add("  (the two BLAKE2b MACs and the HTB decode lead the event loop's "
          "profile).")
    D.add("- hbd: the store writer updates one row per host per flush "
          "(%s rows/s at %s" % (fmt_int(min(hb, rr["hosts"])), fmt_int(hb)))
    D.add("  HTB/s over %s hosts); with the CHECK fixed it halves, which "
          "is the cheapest" % fmt_int(rr["hosts"]))
    D.add("  gain available.")
    D.add()


# ---- main ----

class Ctx:
    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--proto", help="run-proto.sh output")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs",
                                                  "BENCHMARKS.md"))
    ap.add_argument("--skip-hbc", action="store_true",
                    help="hbc's build failed: do not measure a stale one")
    ap.add_argument("--only", help="comma-separated steps (for debugging;"
                    " the document is then not written)")
    a = ap.parse_args()
    ctx = Ctx()
    ctx.quick = a.quick
    ctx.skip_hbc = a.skip_hbc
    ctx.tools = Tools(a.build)
    ctx.r = {}
    ctx.phases = []
    ctx.hbds = []
    ctx.machine = machine()
    ctx.started = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    t_start = time.monotonic()
    ctx.work = tempfile.mkdtemp(prefix="hb-bench-")
    ctx.key = os.path.join(ctx.work, "hb.key")
    subprocess.run([ctx.tools.keygen, "-i", "1", "-o", ctx.key], check=True,
                   stderr=subprocess.DEVNULL, timeout=30)
    only = set(a.only.split(",")) if a.only else None
    steps = [("raw", bench_raw), ("rate", bench_rate), ("perf", bench_perf),
             ("lag", bench_lag), ("variants", bench_variants),
             ("memory", bench_memory), ("storm", bench_storm),
             ("down", bench_down), ("callgrind", bench_callgrind),
             ("sqlite", bench_sqlite_check), ("hbc", bench_hbc)]
    failed = None
    try:
        for name, fn in steps:
            if only and name not in only:
                continue
            log("step %s" % name)
            if name in ("raw",):
                with Phase("raw UDP rate", ctx.phases):
                    fn(ctx)
            else:
                fn(ctx)
            if name == "lag" and getattr(ctx, "rate_hbd", None):
                ctx.rate_hbd.stop()
    except BaseException as e:
        failed = e
        if not only:
            raise
    finally:
        for h in ctx.hbds:
            try:
                h.stop()
            except Exception:  # noqa: BLE001 - cleanup goes on
                pass
        if os.environ.get("HB_BENCH_KEEP"):
            log("work directory kept: %s" % ctx.work)
        else:
            shutil.rmtree(ctx.work, ignore_errors=True)
    ctx.elapsed = time.monotonic() - t_start
    if only:
        json.dump(ctx.r, sys.stdout, indent=1, default=str)
        if failed:
            raise failed
        return
    if os.environ.get("HB_BENCH_RESULTS"):
        with open(os.environ["HB_BENCH_RESULTS"], "w") as f:
            json.dump({"r": ctx.r, "machine": ctx.machine,
                       "phases": ctx.phases, "started": ctx.started,
                       "elapsed": ctx.elapsed, "quick": ctx.quick}, f,
                      default=str)
    write_doc(ctx, a.out, a.proto)
    log("wrote %s (%.0f s)" % (a.out, ctx.elapsed))


if __name__ == "__main__":
    main()
