#!/usr/bin/env python3
"""The collector's benchmarks: raw UDP rate, hbd's ingest rate, profiles,
store lag, configuration variants, memory, first-contact storm, down
detection, callgrind and the SQLite CHECK micro-benchmark.
"""
from hbb_util import *  # noqa: F401,F403 - the shared helpers


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

