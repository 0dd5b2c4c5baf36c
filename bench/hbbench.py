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
from hbb_util import *  # noqa: F401,F403 - the shared helpers
from hbb_hbc import bench_hbc
from hbb_hbd import (bench_callgrind, bench_down, bench_lag, bench_memory,
                     bench_perf, bench_rate, bench_raw, bench_sqlite_check,
                     bench_storm, bench_variants)
from hbdoc import write_doc


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
    ap.add_argument("--from-results", metavar="FILE",
                    help="write the document from a run's results, saved "
                    "with HB_BENCH_RESULTS=FILE, without measuring")
    a = ap.parse_args()
    ctx = Ctx()
    if a.from_results:
        with open(a.from_results) as f:
            saved = json.load(f)
        for k, v in saved.items():
            setattr(ctx, k, v)
        write_doc(ctx, a.out, a.proto)
        log("wrote %s from %s" % (a.out, a.from_results))
        return
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

