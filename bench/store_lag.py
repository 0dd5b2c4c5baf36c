#!/usr/bin/env python3
"""Store lag as an operator's reader sees it: how long after a heartbeat
arrived its last_seen becomes visible in the database.

Polls `SELECT id, last_seen FROM hosts WHERE id IN (S, 2S, 3S, ...)`
(every S-th host, up to HOSTS) every POLL ms for SECONDS, in a read-only
connection (WAL: it never blocks hbd). Row id lookups keep each poll to a
millisecond or two, so the reader does not take the CPU hbd needs, as a
full scan (`WHERE last_seen > ?`) of 100k rows every 20 ms would. For
each sampled host whose last_seen changed, the lag is the poll's start
time minus the new last_seen (both Unix ms, one machine's clock), so it
includes up to one poll period. Observations in the first SKIP seconds
are reported apart ("burst"). Prints one JSON object: lags (ms) as
p50/p90/p99/max, the number of observations, the polls' own duration,
and the largest store_lag_ms hbd stored in its counters table.

usage: store_lag.py DB SECONDS HOSTS [SAMPLE_EVERY] [POLL_MS] [SKIP]
"""
import json
import sqlite3
import sys
import time

def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]


def main():
    db, seconds, hosts = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    every = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    poll = (int(sys.argv[5]) if len(sys.argv) > 5 else 20) / 1000.0
    skip = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    ids = ",".join(str(i) for i in range(every, hosts + 1, every))
    query = "SELECT id, last_seen FROM hosts WHERE id IN (%s)" % ids
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    start_ms = int(time.time() * 1000)
    seen, lags, burst, durs = {}, [], [], []
    polls = 0
    hbd_lag, next_ctr = None, 0.0
    t_start = time.monotonic()
    end = t_start + seconds
    nxt = time.monotonic()
    while time.monotonic() < end:
        t0 = time.time() * 1000
        m0 = time.monotonic()
        rows = con.execute(query).fetchall()
        durs.append((time.monotonic() - m0) * 1000)
        polls += 1
        if m0 >= next_ctr:  # hbd's own figure, stored every 10 s
            next_ctr = m0 + 1.0
            v = con.execute("SELECT value FROM counters WHERE name ="
                            " 'store_lag_ms'").fetchall()
            if v:
                hbd_lag = max(hbd_lag or 0, v[0][0])
        for rid, ls in rows:
            if ls <= seen.get(rid, 0):
                continue
            seen[rid] = ls
            if ls >= start_ms:  # only heartbeats of this run
                (burst if m0 - t_start < skip else lags).append(t0 - ls)
        nxt += poll
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            nxt = time.monotonic()
    con.close()
    print(json.dumps({
        "observations": len(lags), "hosts": len(seen), "polls": polls,
        "p50_ms": pct(lags, 0.5), "p90_ms": pct(lags, 0.9),
        "p99_ms": pct(lags, 0.99), "max_ms": max(lags) if lags else None,
        "poll_p50_ms": pct(durs, 0.5), "poll_max_ms":
        max(durs) if durs else None, "sample_every": every,
        "poll_ms": poll * 1000, "hbd_lag_max_ms": hbd_lag,
        "skip_s": skip, "burst_observations": len(burst),
        "burst_p99_ms": pct(burst, 0.99),
        "burst_max_ms": max(burst) if burst else None}))


if __name__ == "__main__":
    main()
