#!/usr/bin/env python3
"""The client's benchmarks: hbc's memory and CPU at a 10 s interval, and
the heartbeat jitter seen at the server while a plugin hangs.
"""
from hbb_util import *  # noqa: F401,F403 - the shared helpers
from hbb_hbd import perf_works


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
        stop_proc(p)
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
        stop_proc(p)
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

