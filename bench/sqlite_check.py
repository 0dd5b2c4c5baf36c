#!/usr/bin/env python3
"""What the hosts table's `state IN (...)` CHECK costs hbd's seen
updates: SQLite 3.40 evaluates an IN list of more than two constants by
building an ephemeral index, once per statement execution, i.e. once per
row updated. Times 100k UPDATEs shaped like hbd's seen update (one
transaction, WAL, synchronous=NORMAL) against the same table with the
CHECK as IN, as ORs, without it, and with the IN CHECK but the update
not setting `state`. Prints a JSON list of {variant, us_per_row}: the
best of REPEAT runs, each run on a fresh database in DIR.

usage: sqlite_check.py DIR [ROWS] [REPEAT]
"""
import json
import os
import sqlite3
import sys
import time

STATES = "'UP', 'LATE', 'DOWN', 'STOPPED'"
VARIANTS = [
    ("CHECK (state IN (...)), as hbd's schema", "CHECK (state IN (%s))"
     % STATES, True),
    ("CHECK (state = 'UP' OR state = 'LATE' OR ...)",
     "CHECK (state = 'UP' OR state = 'LATE' OR state = 'DOWN'"
     " OR state = 'STOPPED')", True),
    ("no CHECK", "", True),
    ("CHECK (state IN (...)), update without state, state_since",
     "CHECK (state IN (%s))" % STATES, False),
]


def one(path, check, set_state, rows):
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute(
        "CREATE TABLE hosts (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL"
        " UNIQUE, last_seen INTEGER NOT NULL DEFAULT 0, epoch INTEGER NOT"
        " NULL DEFAULT 0, seq INTEGER NOT NULL DEFAULT 0, skew_ms INTEGER"
        " NOT NULL DEFAULT 0, status INTEGER NOT NULL DEFAULT 3, received"
        " INTEGER NOT NULL DEFAULT 0, lost INTEGER NOT NULL DEFAULT 0,"
        " state TEXT NOT NULL DEFAULT 'UP' %s, state_since INTEGER NOT NULL"
        " DEFAULT 0)" % check)
    con.execute("BEGIN")
    con.executemany("INSERT INTO hosts (id, uuid) VALUES (?, ?)",
                    ((i, "%036d" % i) for i in range(1, rows + 1)))
    con.execute("COMMIT")
    sql = ("UPDATE hosts SET last_seen = ?, epoch = ?, seq = ?, skew_ms = ?,"
           " status = ?, received = ?, lost = ?%s WHERE id = ?"
           % (", state = ?, state_since = ?" if set_state else ""))
    args = [(1, 2, 3, 0, 0, 5, 6) + (("UP", 7) if set_state else ()) + (i,)
            for i in range(1, rows + 1)]
    t = time.perf_counter()
    con.execute("BEGIN")
    con.executemany(sql, args)
    con.execute("COMMIT")
    dt = time.perf_counter() - t
    con.close()
    return dt / rows * 1e6


def main():
    d = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    path = os.path.join(d, "check.db")
    out = []
    for name, check, set_state in VARIANTS:
        best = min(one(path, check, set_state, rows) for _ in range(repeat))
        out.append({"variant": name, "us_per_row": round(best, 2)})
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
    print(json.dumps({"sqlite": sqlite3.sqlite_version, "rows": rows,
                      "results": out}))


if __name__ == "__main__":
    main()
