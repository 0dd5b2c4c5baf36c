#!/usr/bin/env python3
"""The "Gaps and what was tried" part of docs/BENCHMARKS.md: for each
target missed, what limits it, the profiles, and the fixes made since
the baseline run (bench/baseline.json) with before and after.
"""
from hbb_util import *  # noqa: F401,F403 - the shared helpers


# What was changed after the baseline run, in the order it was done;
# each is a commit of its own.
CHANGES = [
    "hbd: the once-a-second last-seen update leaves the state columns "
    "alone (their CHECK cost an ephemeral index per row); a state whose "
    "event a full backlog dropped is resent with the host's next update.",
    "hbd: per-host log lines (state changes; restart, reboot, clone) are "
    "capped at 20 a second each and the rest summed up in one line: a "
    "storm no longer costs a write(2) per host on the event loop.",
    "hbd: last-seen updates may fill only 75 % of the store backlog "
    "(beyond it they wait in memory, `store_deferred`): the rest stays for "
    "new hosts' rows, events and samples; a queued event takes half the "
    "bytes it did.",
    "hbd: a host's attributes in one allocation, compared without "
    "strlen(); one host lookup per datagram instead of two.",
    "proto: map keys decoded in the order senders write them.",
    "store: schema 2 writes the hosts.state CHECK with ORs (no ephemeral "
    "index for upserts and state updates either); SQLite's memory "
    "statistics, a global mutex per allocation, turned off; the writer "
    "thread runs at SCHED_BATCH, nice +5, so its once-a-second burst "
    "yields to the socket reader.",
    "hbc: libsodium, msgpack-c, libyaml and libev linked in statically "
    "(one object mapped instead of five); uptime and loads from one "
    "sysinfo(2) instead of two /proc files per heartbeat; the load plugin "
    "reads without stdio.",
    "hb-load: pacing no longer spins (0.9 cores at 25 000/s, now ~0.1); "
    "runs continue one epoch (`--epoch`, `--seq-start`, `--source-port`), "
    "so rate steps measure steady state; `-j THREADS`.",
]


def baseline():
    with open(os.path.join(HERE, "baseline.json")) as f:
        return json.load(f)


def after_figures(r):
    """This run's figures under baseline.json's names."""
    out = {}
    raw, rate = r.get("raw") or {}, r.get("rate") or {}
    if raw.get("best"):
        out["raw_rate"] = raw["best"]["rate"]
    if rate.get("best"):
        out["hbd_rate"] = rate["best"]["rate"]
    if rate.get("best_steady"):
        out["hbd_rate_steady"] = rate["best_steady"]["rate"]
    for p in (r.get("memory") or {}).get("points", []):
        if p["hosts"] == 100000:
            out["rss_100k_bytes_per_host"] = p["per_host"]
        if p["hosts"] == 1000000:
            out["rss_1m_bytes_per_host"] = p["per_host"]
            out["rss_1m_mib"] = p["rss_kb"] / 1024.0
    runs = (r.get("lag") or {}).get("runs") or []
    if runs and runs[0]["reader"].get("p99_ms") is not None:
        out["lag_p99_ms"] = runs[0]["reader"]["p99_ms"]
    if (r.get("down") or {}).get("p99") is not None:
        out["down_p99_ms"] = r["down"]["p99"]
    hbc = r.get("hbc")
    if isinstance(hbc, dict) and hbc.get("alive"):
        out["hbc_rss_mib"] = hbc["rss_kb"] / 1024.0
        out["hbc_core_pct"] = hbc["core_pct"]
    for x in rate.get("steps", []):
        if x.get("target") == 100000 and "us_main" in x:
            out["event_loop_us_per_htb_100k"] = x["us_main"]
            out["store_writer_us_per_htb_100k"] = x.get("us_other")
    st = r.get("storm")
    if st:
        out["storm_store_dropped"] = st["store_dropped"]
        out["storm_rows"] = st["rows"]
        out["storm_hosts"] = st["hosts"]
    return out


BEFORE_AFTER = [
    ("hbd HTB rate, < 0.1 % loss (whole step)", "hbd_rate", "%s /s",
     fmt_int),
    ("hbd HTB rate, steady state", "hbd_rate_steady", "%s /s", fmt_int),
    ("event loop µs per HTB at 100 000/s", "event_loop_us_per_htb_100k",
     "%s", lambda v: "%.1f" % v),
    ("store writer µs per HTB at 100 000/s",
     "store_writer_us_per_htb_100k", "%s", lambda v: "%.1f" % v),
    ("hbd bytes per host, 100 000 hosts", "rss_100k_bytes_per_host", "%s",
     fmt_int),
    ("hbd bytes per host, 1 000 000 hosts", "rss_1m_bytes_per_host", "%s",
     fmt_int),
    ("hbd RSS, 1 000 000 hosts", "rss_1m_mib", "%s MiB",
     lambda v: "%.1f" % v),
    ("store lag p99, at the highest passing rate", "lag_p99_ms", "%s ms",
     fmt_int),
    ("down detection p99, 2 s interval", "down_p99_ms", "%s ms", fmt_int),
    ("storm of 200 000 new hosts: operations dropped",
     "storm_store_dropped", "%s", fmt_int),
    ("storm of 200 000 new hosts: rows stored", "storm_rows", "%s",
     fmt_int),
    ("hbc RSS", "hbc_rss_mib", "%s MiB", lambda v: "%.2f" % v),
    ("hbc CPU, % of a core", "hbc_core_pct", "%s", lambda v: "%.4f" % v),
    ("raw UDP rate (reference, one sender)", "raw_rate", "%s /s", fmt_int),
]


def sec_before_after(D, ctx):
    try:
        base = baseline()
    except (OSError, ValueError):
        return
    now = after_figures(ctx.r)
    D.add("## Before and after")
    D.add()
    D.add("The baseline is %s (its document is in the history of this "
          "file); \"after\" is this run. Both on this machine, so the "
          "rows compare, with the ±35 %% a shared VM gives. What changed "
          "in between:" % base["run"])
    D.add()
    for c in CHANGES:
        D.add("- " + c)
    D.add()
    rows = []
    for label, key, unit, fmt in BEFORE_AFTER:
        b, a = base["figures"].get(key), now.get(key)
        if b is None and a is None:
            continue
        rows.append([label, unit % fmt(b) if b is not None else "—",
                     unit % fmt(a) if a is not None else "—"])
    D.table(["figure", "before", "after"], rows, ["---", "--:", "--:"])


def sec_gaps(D, ctx):
    r = ctx.r
    sec_before_after(D, ctx)
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
            "storm costs a row upsert and a `restart` event per host (the "
            "log line is capped at 20 a second): the variants below "
            "restart every host on purpose."
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
    items.append(
        "Where the event loop's time goes at that rate (perf below, \"what "
        "the time serves\"): about a third sending the ACKs (`sendmmsg`; "
        "on loopback the sender's system call also delivers each ACK into "
        "hb-load's socket), a third in libsodium (two BLAKE2b MACs per "
        "heartbeat, one to check it and one to sign its ACK), a sixth "
        "receiving. The prototype the target comes from checked a MAC and "
        "decoded, but sent no ACKs and wrote no store: ACKs carry "
        "`request_update` and the interval override, and clients need them "
        "to detect a lost server (PROTOCOL.md), so hbd keeps them, and they "
        "cost what that prototype did not pay.")
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
        D.add("(a row upsert and a `restart` event each), the storm these "
              "settings bear on.")
        D.add("`store.flush: 10s` writes each host's row a tenth as often; "
              "`ingest at warning`")
        D.add("drops even the 20 lines a second hbd still logs of a storm "
              "(before the cap, one")
        D.add("`write(2)` per host on the event loop: that variant was then "
              "the one that passed).")
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
    D.add("### Fixed: a CHECK constraint doubled the cost of each row "
          "update")
    D.add()
    D.add("The baseline's callgrind profile had the store thread's "
          "`apply_seen` (the")
    D.add("once-a-second `UPDATE hosts SET last_seen = ..., state = ?9, ..."
          " WHERE id = ?1`)")
    D.add("dominated not by the B-tree update but by "
          "`sqlite3BtreeCreateTable` and `memset`:")
    D.add("schema 1's `CHECK (state IN ('UP', 'LATE', 'DOWN', 'STOPPED'))` "
          "is evaluated, as")
    D.add("SQLite does for an IN list of more than two constants, by "
          "building an ephemeral")
    D.add("index once per statement execution, i.e. once per host written "
          "(`EXPLAIN`:")
    D.add("`OpenEphemeral` and four `IdxInsert`).")
    if sc:
        D.add("`bench/sqlite_check.py` times %s such updates in one "
              "transaction (SQLite %s):" % (fmt_int(sc["rows"]), sc["sqlite"]))
        D.add()
        D.table(["variant", "µs per row"],
                [[x["variant"], "%.2f" % x["us_per_row"]]
                 for x in sc["results"]], ["---", "--:"])
    D.add("hbd now does both of the cheap variants: its last-seen update "
          "leaves `state` and")
    D.add("`state_since` alone (a state whose event a full backlog dropped "
          "is resent with")
    D.add("the host's next update), and schema 2 writes the CHECK with ORs "
          "for the upserts")
    D.add("and state updates that still set it (a migration editing the "
          "table's text, as")
    D.add("SQLite documents for a CHECK; a unit test asserts no "
          "`OpenEphemeral` is left).")
    D.add("The store writer's µs per heartbeat in the before/after table "
          "is the result.")
    D.add()
    hbc = r.get("hbc")
    if isinstance(hbc, dict) and hbc.get("alive") and \
            hbc["rss_kb"] > T_HBC_RSS_KB:
        libs = [(k, v) for k, v in hbc.get("smaps") or []
                if k.endswith(".so")]
        D.add("### hbc RSS: %.2f MiB against 2 MiB" % (hbc["rss_kb"] /
                                                      1024.0))
        D.add()
        objs = dict(hbc.get("smaps") or [])
        libc = sum(v for k, v in objs.items() if k.startswith(("libc.so",
                                                              "ld-linux")))
        D.add("In the baseline hbc mapped libsodium, libyaml and libev as "
              "shared objects")
        D.add("(2.63 MiB, of which libsodium 328 KiB, libyaml 100 KiB, "
              "libev 72 KiB). It now")
        D.add("links their static archives, and `ldd hbc` lists libc alone. "
              "What is left, by")
        D.add("object (section 6): libc and the dynamic loader %s KiB, hbc's "
              "own code and the"
              % fmt_int(libc))
        D.add("libraries linked in %s KiB, anonymous memory (heap, stacks, "
              "data) %s KiB."
              % (fmt_int(objs.get("hbc")), fmt_int(hbc.get("anon_kb"))))
        if hbc.get("sleep_rss_kb"):
            D.add("`sleep 30`, which maps nothing but libc, is already %s KiB "
                  "resident here:"
                  % fmt_int(hbc["sleep_rss_kb"]))
        D.add("glibc's pages, faulted in 64 KiB blocks, are a floor of about "
              "1.8 MiB for any")
        D.add("dynamically linked program on this system, and hbc must be "
              "one: it loads")
        D.add("plugins with dlopen, which a static glibc program cannot do "
              "safely (the plugin")
        D.add("brings a second libc) and a static musl one cannot do at all. "
              "Those pages are")
        D.add("shared with every process on the host: hbc's proportional "
              "share (PSS) is")
        D.add("%s KiB, and what it adds of its own (anonymous) %s KiB. The "
              "target stays missed"
              % (fmt_int(hbc.get("pss_kb")), fmt_int(hbc.get("anon_kb"))))
        D.add("by what glibc costs; collectd's 3.2 MiB and gmond's 3.9 MiB "
              "were measured the")
        D.add("same way, libc included.")
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
        D.add("In the baseline run the same storm dropped 112 373 "
              "operations (143 814 rows")
        D.add("stored of 200 000). Changed since: last-seen updates may fill "
              "only 75 % of the")
        D.add("backlog (beyond it they wait in memory and count as "
              "`store_deferred`), so rows")
        D.add("and events keep a quarter of it; an event's queue block is "
              "half what it was;")
        D.add("and the inserts no longer build the CHECK's ephemeral "
              "index.")
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
        D.add("Already done: hbc reads uptime and loads with one "
              "`sysinfo(2)` instead of")
        D.add("opening /proc/uptime and /proc/loadavg at every heartbeat, "
              "and the load plugin")
        D.add("reads its file without stdio.")
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
    D.add("- hbd logged an info line for every host restart and every "
          "transition (each new")
    D.add("  host's `STOPPED -> UP` too): one `write(2)` each, on the event "
          "loop. In the")
    D.add("  baseline a restart step lost 1.6 % with the defaults and 0 % "
          "with the ingest")
    D.add("  module at warning. Such lines are now capped at 20 a second "
          "and summed up")
    D.add("  (`N more state changes not logged in 1.0 s`); the variants "
          "above show the")
    D.add("  log level no longer matters.")
    D.add("- hbd: a single event loop thread reads the socket; beyond one "
          "core's worth")
    D.add("  (section 2's µs per heartbeat) the remedy is SO_REUSEPORT with "
          "N ingest")
    D.add("  threads sharing the host table by UUID hash, or cheaper work "
          "per datagram")
    D.add("  (the ACKs' `sendmmsg` and the two BLAKE2b MACs lead the event "
          "loop's profile).")
    D.add("  On this machine it would not help: hb-load and the store "
          "writer need the")
    D.add("  second core. It is the next step for a collector with cores "
          "to spare, and the")
    D.add("  host table, timer wheel and store queue would then need "
          "sharding or locks.")
    D.add()


# ---- main ----

