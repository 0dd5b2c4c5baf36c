#!/usr/bin/env python3
"""Writes docs/BENCHMARKS.md from one run's results: the introduction,
the protocol section, the summary against the targets and one section
per figure. The gaps and what was tried are in hbdoc_gaps.py.
"""
from hbb_util import *  # noqa: F401,F403 - the shared helpers
from hbdoc_gaps import sec_gaps


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
            big = p["hosts"] >= 1000000
            rows.append(["hbd RSS with %s hosts" % fmt_int(p["hosts"]),
                         "%.1f MiB (%s bytes/host)" % (
                             p["rss_kb"] / 1024.0, fmt_int(p["per_host"])),
                         "≤ %d bytes/host" % T_MEM_PER_HOST if big
                         else "(target at 1M hosts)",
                         verdict(p["per_host"] <= T_MEM_PER_HOST)
                         if big else ""])
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


